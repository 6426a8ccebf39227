/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dse-ct-bench: micro-benchmark of connection tracking on one core.  Not a
 * test: it is built with the tree and run by hand.
 *
 *   dse-ct-bench [-n CONNECTIONS] [-- EAL options]
 *
 * The default EAL options run without hugepages: DPDK's memory is then on
 * 4 KiB pages and a random access into a table of 1M connections usually
 * pays a TLB miss too (on a virtual machine a costly one).  Pass real
 * hugepage options after "--" to measure what a DPU sees.
 *
 * Phases, each timed on its own:
 *   handshake   every connection a full handshake as the firewall sees it:
 *               SYN (tuple, process -> NEW, create), SYN+ACK (tuple,
 *               process), ACK (tuple, process).  The three packets of a
 *               connection are interleaved with those of the 64 before it,
 *               as replies arrive later than requests.
 *   memory      DPDK heap bytes of the table with all connections in it.
 *   established data segments of random connections: tuple + process,
 *               the same with a 32-tuple bulk lookup, and track alone (the
 *               flow-cache hit, which knows the connection's index).
 *   expire      the wheel removing every connection after its timeout.
 *   churn       the steady state: connections opened, used, closed
 *               (7 packets: handshake, data, FIN, ACK, FIN, ACK) and
 *               reaped from TIME_WAIT (1 s here), with a simulated clock
 *               of one new connection every 2 microseconds.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "conntrack.h"

#define SEC 1000000000ull
#define LAG 64 /* connections between a SYN and its SYN+ACK, and again to the ACK */

#define F_FIN 0x01
#define F_SYN 0x02
#define F_ACK 0x10
#define F_PSH 0x08

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static size_t heap_allocated(void)
{
	struct rte_malloc_socket_stats st;
	size_t total = 0;

	for (unsigned i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			total += st.heap_allocsz_bytes;
	return total;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

/* A TCP header and its segment description. */
struct seg {
	uint8_t hdr[20];
	struct dse_ct_seg s;
};

static void tcp_hdr(struct seg *g, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
		    uint32_t ack, uint32_t len)
{
	wr16(g->hdr, sport);
	wr16(g->hdr + 2, dport);
	wr32(g->hdr + 4, seq);
	wr32(g->hdr + 8, ack);
	g->hdr[12] = 5 << 4;
	g->hdr[13] = flags;
	wr16(g->hdr + 14, 65535);
	wr32(g->hdr + 16, 0);
	g->s.l4 = g->hdr;
	g->s.l4_len = 20;
	g->s.payload_len = len;
	g->s.ip_len = (uint16_t)(40 + len);
}

/* Connection i: client 10.a.b.c:(1024 + i % 50000) -> server 198.18.(i % 4).1:80. */
static void conn_addrs(uint32_t i, uint8_t cli[16], uint8_t srv[16], uint16_t *cport)
{
	uint8_t c4[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
	uint8_t s4[4] = {198, 18, (uint8_t)(i % 4), 1};

	dse_ct_addr_from_ipv4(cli, c4);
	dse_ct_addr_from_ipv4(srv, s4);
	*cport = (uint16_t)(1024 + i % 50000);
}

/* Client ISN 1000 + i, server ISN 500000 + i: the sequence numbers of connection i. */
#define CISN(i) (1000u + (i))
#define SISN(i) (500000u + (i))

/* One packet of a workload and the verdict it must get. */
struct pkt {
	uint32_t conn;
	bool from_client;
	uint8_t flags;
	uint32_t seq, ack, len;
	uint8_t expect; /* enum dse_ct_verdict */
};

/* Builds the tuple and the TCP header of 'p'. */
static void pkt_build(const struct pkt *p, struct dse_ct_tuple *t, struct seg *g)
{
	uint8_t cli[16], srv[16];
	uint16_t cport;

	conn_addrs(p->conn, cli, srv, &cport);
	if (p->from_client) {
		dse_ct_tuple_set(t, 1, 4, IPPROTO_TCP, cli, srv, cport, 80);
		tcp_hdr(g, cport, 80, p->flags, p->seq, p->ack, p->len);
	} else {
		dse_ct_tuple_set(t, 1, 4, IPPROTO_TCP, srv, cli, 80, cport);
		tcp_hdr(g, 80, cport, p->flags, p->seq, p->ack, p->len);
	}
}

static struct pkt mk(uint32_t c, bool from_client, uint8_t flags, uint32_t seq, uint32_t ack,
		     uint32_t len, enum dse_ct_verdict expect)
{
	return (struct pkt){c, from_client, flags, seq, ack, len, (uint8_t)expect};
}

/*
 * Step k of the handshake workload: the SYN of connection k, the SYN+ACK of
 * k - LAG, the ACK of k - 2 LAG (replies come later than requests).
 * With 'close', the third packet carries data and the connection is then
 * closed: server FIN, client ACK, client FIN, server ACK.  Returns the count.
 */
static unsigned gen_step(uint32_t n, uint32_t k, bool close, struct pkt *out)
{
	const enum dse_ct_verdict chg = DSE_CT_VALID_STATE_CHANGED;
	unsigned m = 0;

	if (k < n)
		out[m++] = mk(k, true, F_SYN, CISN(k), 0, 0, DSE_CT_NEW);
	if (k >= LAG && k - LAG < n) {
		uint32_t j = k - LAG;

		out[m++] = mk(j, false, F_SYN | F_ACK, SISN(j), CISN(j) + 1, 0, chg);
	}
	if (k >= 2 * LAG && k - 2 * LAG < n) {
		uint32_t j = k - 2 * LAG, cs = CISN(j) + 1, ss = SISN(j) + 1;

		if (!close) {
			out[m++] = mk(j, true, F_ACK, cs, ss, 0, chg);
		} else {
			out[m++] = mk(j, true, F_ACK | F_PSH, cs, ss, 100, chg);
			cs += 100;
			out[m++] = mk(j, false, F_ACK | F_FIN, ss, cs, 0, chg);
			ss++;
			out[m++] = mk(j, true, F_ACK, cs, ss, 0, chg);
			out[m++] = mk(j, true, F_ACK | F_FIN, cs, ss, 0, chg);
			cs++;
			out[m++] = mk(j, false, F_ACK, ss, cs, 0, chg);
		}
	}
	return m;
}

/* Runs 'm' packets one by one through dse_ct_process(); returns the wrong verdicts. */
static unsigned run_single(struct dse_ct *ct, const struct pkt *p, unsigned m, uint64_t now)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < m; i++) {
		struct dse_ct_tuple t;
		struct seg g;
		enum dse_ct_verdict v;
		int32_t idx;
		uint8_t dir;

		pkt_build(&p[i], &t, &g);
		v = dse_ct_process(ct, &t, &g.s, now, &idx, &dir);
		if (v == DSE_CT_NEW && dse_ct_create_conn(ct, &t, &g.s, now, 1) < 0)
			bad++;
		bad += v != p[i].expect;
	}
	return bad;
}

#define BURST 32

/* Runs a burst of 'm' (at most 2 BURST) packets through dse_ct_process_bulk(). */
static unsigned run_burst(struct dse_ct *ct, const struct pkt *p, unsigned m, uint64_t now)
{
	struct dse_ct_tuple t[2 * BURST];
	struct seg g[2 * BURST];
	const struct dse_ct_tuple *tp[2 * BURST] = {NULL};
	const struct dse_ct_seg *sp[2 * BURST] = {NULL};
	uint8_t v[2 * BURST], dir[2 * BURST];
	int32_t idx[2 * BURST];
	unsigned bad = 0;

	for (unsigned i = 0; i < m; i++) {
		pkt_build(&p[i], &t[i], &g[i]);
		tp[i] = &t[i];
		sp[i] = &g[i].s;
	}
	dse_ct_process_bulk(ct, tp, sp, m, now, v, idx, dir);
	for (unsigned i = 0; i < m; i++) {
		if (v[i] == DSE_CT_NEW) {
			int r = dse_ct_create_conn(ct, tp[i], sp[i], now, 1);

			if (r == -EEXIST)
				v[i] = (uint8_t)dse_ct_process(ct, tp[i], sp[i], now, &idx[i],
							       &dir[i]);
			else if (r < 0)
				bad++;
		}
		bad += v[i] != p[i].expect;
	}
	return bad;
}

/*
 * Runs the handshake workload over 'n' connections (with 'close': the full
 * life of each, reaped from TIME_WAIT by the wheel every 64 steps, the
 * simulated clock moving 'step_ns' per connection).  In bursts of BURST or
 * packet by packet.  Returns the wrong verdicts.
 */
static unsigned run_workload(struct dse_ct *ct, uint32_t n, bool close, bool burst, uint64_t *now,
			     uint64_t step_ns, uint64_t *expired)
{
	struct pkt buf[2 * BURST];
	unsigned m = 0, bad = 0;

	for (uint32_t k = 0; k < n + 2 * LAG; k++) {
		*now += step_ns;
		m += gen_step(n, k, close, buf + m);
		if (!burst || m >= BURST) {
			bad += burst ? run_burst(ct, buf, m, *now) : run_single(ct, buf, m, *now);
			m = 0;
		}
		if (close && (k & 63) == 0)
			*expired += dse_ct_expire(ct, *now, 256);
	}
	if (m)
		bad += run_burst(ct, buf, m, *now);
	return bad;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-n CONNECTIONS] [-- EAL options]\n", argv0);
	exit(2);
}

/* Creates a table or exits. */
static struct dse_ct *table(const char *name, uint32_t n, const struct dse_ct_timeouts *t)
{
	struct dse_ct *ct = dse_ct_create(name, n, t);

	if (ct == NULL) {
		fprintf(stderr, "dse_ct_create: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	return ct;
}

static void check(const char *what, unsigned bad)
{
	if (bad) {
		fprintf(stderr, "%s: %u unexpected verdicts\n", what, bad);
		exit(1);
	}
}

/* Fills 'tb', 'g' with data segments of 'm' random connections of 'n'. */
static void random_data(uint32_t n, uint64_t *rng, unsigned m, struct dse_ct_tuple *tb,
			struct seg *g)
{
	for (unsigned j = 0; j < m; j++) {
		uint32_t i = (uint32_t)(xorshift(rng) % n);
		struct pkt p = mk(i, true, F_ACK, CISN(i) + 1, SISN(i) + 1, 0, DSE_CT_VALID);

		pkt_build(&p, &tb[j], &g[j]);
	}
}

int main(int argc, char **argv)
{
	char prefix[64];
	char *eal_argv[32] = {"dse-ct-bench",	  "--no-huge",	    "-m", "4096", "--no-pci",
			      "--no-shconf",	  "--no-telemetry", "-l", "0",	  prefix,
			      "--log-level=error"};
	int eal_argc = 11, opt;
	uint32_t n = 1000000;
	const uint32_t n_data = 4000000;
	struct dse_ct_timeouts tmo;
	struct dse_ct *ct;
	size_t heap0, heap1;
	uint64_t t0, t1, now, expired, rng = 88172645463325252ull;
	unsigned bad = 0;

	while ((opt = getopt(argc, argv, "n:h")) != -1) {
		switch (opt) {
		case 'n':
			n = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (n < 1000 || n > DSE_CT_MAX_ENTRIES / 4)
		usage(argv[0]);
	/* Anything after "--" replaces the default EAL options. */
	if (optind < argc) {
		eal_argc = 1;
		for (int i = optind; i < argc && eal_argc < 31; i++)
			eal_argv[eal_argc++] = argv[i];
	}
	snprintf(prefix, sizeof(prefix), "--file-prefix=ct-bench-%d", (int)getpid());
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	printf("conntrack micro-benchmark: %u connections, one core (lcore %u), entry %zu "
	       "bytes, key %zu bytes\n",
	       n, rte_lcore_id(), sizeof(struct dse_ct_entry), sizeof(struct dse_ct_key));

	/* ---- handshakes, packet by packet, and memory ---- */
	heap0 = heap_allocated();
	ct = table("bench", n, NULL);
	now = 1000 * SEC;
	t0 = now_ns();
	check("handshake", run_workload(ct, n, false, false, &now, 0, &expired));
	t1 = now_ns();
	heap1 = heap_allocated();
	if (ct->n_entries != n)
		check("handshake entries", 1);
	printf("handshake  %6.2f M conn/s  %6.1f ns/conn  %5.1f ns/pkt  SYN, SYN+ACK, ACK: "
	       "tuple + process (+ create), packet by packet\n",
	       n * 1e3 / (double)(t1 - t0), (double)(t1 - t0) / n, (double)(t1 - t0) / (3.0 * n));
	printf("memory     %6.1f bytes/connection at %u connections: entries %.1f, rte_hash "
	       "and wheel %.1f\n",
	       (double)(heap1 - heap0) / n, n,
	       (double)(sizeof(struct dse_ct_entry) * ct->capacity) / n,
	       (double)(heap1 - heap0 - sizeof(struct dse_ct_entry) * ct->capacity) / n);

	/* ---- established traffic on random connections of the full table ---- */
	t0 = now_ns();
	for (uint32_t k = 0; k < n_data; k++) {
		struct dse_ct_tuple tb;
		struct seg g;
		int32_t idx;
		uint8_t dir;

		random_data(n, &rng, 1, &tb, &g);
		bad += dse_ct_process(ct, &tb, &g.s, now, &idx, &dir) != DSE_CT_VALID;
	}
	t1 = now_ns();
	check("established", bad);
	printf("data       %6.2f M pkt/s   %6.1f ns/pkt   tuple + process, random connection, "
	       "packet by packet\n",
	       n_data * 1e3 / (double)(t1 - t0), (double)(t1 - t0) / n_data);

	{
		struct dse_ct_tuple tb[BURST];
		const struct dse_ct_tuple *tp[BURST];
		const struct dse_ct_seg *sp[BURST];
		struct seg g[BURST];
		uint8_t v[BURST], dir[BURST];
		int32_t idx[BURST];

		for (int j = 0; j < BURST; j++) {
			tp[j] = &tb[j];
			sp[j] = &g[j].s;
		}
		t0 = now_ns();
		for (uint32_t k = 0; k < n_data; k += BURST) {
			random_data(n, &rng, BURST, tb, g);
			dse_ct_process_bulk(ct, tp, sp, BURST, now, v, idx, dir);
			for (int j = 0; j < BURST; j++)
				bad += v[j] != DSE_CT_VALID;
		}
		t1 = now_ns();
		check("established bulk", bad);
		printf("data       %6.2f M pkt/s   %6.1f ns/pkt   tuple + process_bulk, random "
		       "connections, bursts of %d\n",
		       n_data * 1e3 / (double)(t1 - t0), (double)(t1 - t0) / n_data, BURST);
	}

	{
		/* The flow-cache hit: the index is known, only the tracking runs. */
		enum { N_IDS = 1 << 18 };
		uint32_t *ids = malloc(sizeof(*ids) * N_IDS);
		struct seg g[BURST];

		for (uint32_t k = 0; k < N_IDS; k++) {
			struct dse_ct_tuple t;
			struct seg s1;
			uint8_t dir;

			random_data(n, &rng, 1, &t, &s1);
			ids[k] = (uint32_t)dse_ct_lookup(ct, &t, &dir);
		}
		for (int pass = 0; pass < 2; pass++) {
			t0 = now_ns();
			for (uint32_t k = 0; k < n_data; k += BURST) {
				if (pass == 1)
					for (uint32_t j = 0; j < BURST; j++)
						dse_ct_prefetch(ct, ids[(k + j) & (N_IDS - 1)]);
				for (uint32_t j = 0; j < BURST; j++) {
					uint32_t idx = ids[(k + j) & (N_IDS - 1)];
					const struct dse_ct_entry *e = &ct->entries[idx];

					/* The segment a cache hit would carry: in window. */
					tcp_hdr(&g[j], 1, 80, F_ACK, e->tcp[0].end, e->tcp[1].end,
						0);
					bad += dse_ct_track(ct, idx, DSE_CT_DIR_ORIG, &g[j].s,
							    now) != DSE_CT_VALID;
				}
			}
			t1 = now_ns();
			check("track", bad);
			printf("track      %6.2f M pkt/s   %6.1f ns/pkt   by index (flow-cache "
			       "hit), random connection%s\n",
			       n_data * 1e3 / (double)(t1 - t0), (double)(t1 - t0) / n_data,
			       pass ? ", bursts of 32 prefetched" : ", packet by packet");
		}
		free(ids);
	}

	/* ---- expire ---- */
	{
		unsigned got;

		t0 = now_ns();
		got = dse_ct_expire(ct, now + 86401 * SEC, UINT32_MAX);
		t1 = now_ns();
		printf("expire     %6.2f M conn/s  %6.1f ns/conn  the wheel reaps the full table\n",
		       got * 1e3 / (double)(t1 - t0), (double)(t1 - t0) / got);
		if (got != n || ct->n_entries != 0)
			check("expire", 1);
	}

	/* ---- handshakes in bursts, into the now empty table ---- */
	now += 86402 * SEC;
	t0 = now_ns();
	check("handshake bulk", run_workload(ct, n, false, true, &now, 0, &expired));
	t1 = now_ns();
	printf("handshake  %6.2f M conn/s  %6.1f ns/conn  %5.1f ns/pkt  SYN, SYN+ACK, ACK: "
	       "tuple + process_bulk (+ create), bursts of %d\n",
	       n * 1e3 / (double)(t1 - t0), (double)(t1 - t0) / n, (double)(t1 - t0) / (3.0 * n),
	       BURST);
	dse_ct_free(ct);

	/* ---- churn: open, use, close, reap ---- */
	dse_ct_timeouts_default(&tmo);
	tmo.tcp_time_wait = 1;
	for (int burst = 0; burst < 2; burst++) {
		const uint32_t total = 4 * n;

		ct = table(burst ? "bench_churn_b" : "bench_churn", n, &tmo);
		now = 1000 * SEC;
		expired = 0;
		t0 = now_ns();
		/* 2 us of simulated time per connection: with TIME_WAIT at 1 s
		 * about n/2 connections are live. */
		check("churn", run_workload(ct, total, true, burst, &now, 2000, &expired));
		t1 = now_ns();
		printf("churn      %6.2f M conn/s  %6.1f ns/conn  7 packets + reap, %s (%llu "
		       "reaped, %u live, %llu full)\n",
		       total * 1e3 / (double)(t1 - t0), (double)(t1 - t0) / total,
		       burst ? "bursts of 32" : "packet by packet", (unsigned long long)expired,
		       ct->n_entries, (unsigned long long)ct->stats.full);
		dse_ct_free(ct);
	}
	{
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
		rte_eal_cleanup();
		rmdir(dir);
	}
	return 0;
}
