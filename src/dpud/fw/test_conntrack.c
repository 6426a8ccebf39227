/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of connection tracking.  The table sits on rte_hash, so the
 * group setup starts a minimal EAL (no hugepages, no PCI, no shared config,
 * one lcore, a file prefix of its own).  Every test creates its own table
 * under a fresh name and frees it, and drives time only through the 'now'
 * arguments, so timeouts are deterministic.
 *
 * TCP segments are built as bare TCP headers; the conversation helpers send
 * them through dse_ct_process() as the packet path does, from the client
 * (10.0.0.1:40000, the opener) or the server (10.0.0.2:80).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_eal.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "conntrack.h"
#include "dse_api.h"
#include "parse.h"

#define SEC 1000000000ull
#define T0  (1000 * SEC) /* the clock when a test starts */

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

static int eal_setup(void **state)
{
	(void)state;
	if (test_eal_init("test-conntrack", "256") < 0)
		return -1;
	return 0;
}

static int eal_teardown(void **state)
{
	(void)state;
	return test_eal_cleanup();
}

/* Creates a table of 'max_entries' under a name no other test uses. */
static struct dse_ct *ct_new(uint32_t max_entries, const struct dse_ct_timeouts *t)
{
	static unsigned seq;
	char name[32];
	struct dse_ct *ct;

	snprintf(name, sizeof(name), "test_ct_%u", seq++);
	ct = dse_ct_create(name, max_entries, t);
	assert_non_null(ct);
	assert_int_equal(ct->n_entries, 0);
	return ct;
}

/* ---- packets ----------------------------------------------------------- */

/* A bare TCP, UDP or ICMP header and the segment description pointing at it. */
struct seg {
	uint8_t hdr[60];
	struct dse_ct_seg s;
};

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

/* A TCP header; 'wscale' >= 0 adds the window scale option (SYNs). */
static void tcp_hdr(struct seg *g, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
		    uint32_t ack, uint16_t win, uint32_t len, int wscale)
{
	uint16_t hlen = wscale >= 0 ? 24 : 20;

	memset(g, 0, sizeof(*g));
	wr16(g->hdr, sport);
	wr16(g->hdr + 2, dport);
	wr32(g->hdr + 4, seq);
	wr32(g->hdr + 8, ack);
	g->hdr[12] = (uint8_t)((hlen / 4) << 4);
	g->hdr[13] = flags;
	wr16(g->hdr + 14, win);
	if (wscale >= 0) {
		g->hdr[20] = 1; /* NOP */
		g->hdr[21] = 3; /* window scale */
		g->hdr[22] = 3;
		g->hdr[23] = (uint8_t)wscale;
	}
	g->s.l4 = g->hdr;
	g->s.l4_len = hlen;
	g->s.payload_len = len;
	g->s.ip_len = (uint16_t)(20 + hlen + len);
}

/* A UDP header with 'len' bytes of payload. */
static void udp_hdr(struct seg *g, uint32_t len)
{
	memset(g, 0, sizeof(*g));
	g->s.l4 = g->hdr;
	g->s.l4_len = 8;
	g->s.payload_len = len;
	g->s.ip_len = (uint16_t)(28 + len);
}

static const uint8_t v4_client[4] = {10, 0, 0, 1};
static const uint8_t v4_server[4] = {10, 0, 0, 2};

static void tuple_v4(struct dse_ct_tuple *t, uint16_t zone, uint8_t proto, const uint8_t src[4],
		     const uint8_t dst[4], uint16_t sport, uint16_t dport)
{
	uint8_t s[16], d[16];

	dse_ct_addr_from_ipv4(s, src);
	dse_ct_addr_from_ipv4(d, dst);
	assert_int_equal(dse_ct_tuple_set(t, zone, 4, proto, s, d, sport, dport), 0);
}

/* ---- a TCP conversation ------------------------------------------------ */

struct conv {
	struct dse_ct *ct;
	struct dse_ct_tuple c2s, s2c;
	uint16_t cport, sport;
	uint32_t cseq, sseq; /* next sequence number of the client / the server */
	uint64_t now;
	int32_t idx; /* of the last packet's connection, -1 if none */
	uint8_t dir; /* of the last packet */
};

static void conv_init_addrs(struct conv *c, struct dse_ct *ct, const uint8_t cl[4],
			    const uint8_t sv[4], uint16_t cport, uint16_t sport)
{
	memset(c, 0, sizeof(*c));
	c->ct = ct;
	c->cport = cport;
	c->sport = sport;
	tuple_v4(&c->c2s, 1, IPPROTO_TCP, cl, sv, cport, sport);
	tuple_v4(&c->s2c, 1, IPPROTO_TCP, sv, cl, sport, cport);
	c->cseq = 1000;
	c->sseq = 5000;
	c->now = T0;
	c->idx = -1;
}

static void conv_init(struct conv *c, struct dse_ct *ct)
{
	conv_init_addrs(c, ct, v4_client, v4_server, 40000, 80);
}

/* Sends one segment through dse_ct_process(); creates the connection on NEW for a SYN. */
static enum dse_ct_verdict send_raw(struct conv *c, bool from_client, uint8_t flags, uint32_t seq,
				    uint32_t ack, uint16_t win, uint32_t len, int wscale)
{
	struct seg g;
	enum dse_ct_verdict v;

	if (from_client)
		tcp_hdr(&g, c->cport, c->sport, flags, seq, ack, win, len, wscale);
	else
		tcp_hdr(&g, c->sport, c->cport, flags, seq, ack, win, len, wscale);
	v = dse_ct_process(c->ct, from_client ? &c->c2s : &c->s2c, &g.s, c->now, &c->idx, &c->dir);
	if (v == DSE_CT_NEW) {
		int idx =
		    dse_ct_create_conn(c->ct, from_client ? &c->c2s : &c->s2c, &g.s, c->now, 7);

		assert_true(idx >= 0);
		c->idx = idx;
		c->dir = DSE_CT_DIR_ORIG;
	}
	return v;
}

/* Sends from the client / the server with its current sequence numbers and advances them. */
static enum dse_ct_verdict client(struct conv *c, uint8_t flags, uint32_t len)
{
	enum dse_ct_verdict v = send_raw(c, true, flags, c->cseq, c->sseq, 65535, len, -1);

	if (v != DSE_CT_INVALID)
		c->cseq += len + !!(flags & F_SYN) + !!(flags & F_FIN);
	return v;
}

static enum dse_ct_verdict server(struct conv *c, uint8_t flags, uint32_t len)
{
	enum dse_ct_verdict v = send_raw(c, false, flags, c->sseq, c->cseq, 65535, len, -1);

	if (v != DSE_CT_INVALID)
		c->sseq += len + !!(flags & F_SYN) + !!(flags & F_FIN);
	return v;
}

static uint8_t conv_state(const struct conv *c)
{
	uint8_t dir;
	int idx = dse_ct_lookup(c->ct, &c->c2s, &dir);

	return idx < 0 ? DSE_CT_S_NONE : c->ct->entries[idx].state;
}

/* SYN, SYN+ACK, ACK; asserts each verdict and ends ESTABLISHED. */
static void handshake(struct conv *c)
{
	assert_int_equal(client(c, F_SYN, 0), DSE_CT_NEW);
	assert_int_equal(conv_state(c), DSE_CT_S_SYN_SENT);
	assert_int_equal(server(c, F_SYN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(c->dir, DSE_CT_DIR_REPLY);
	assert_int_equal(conv_state(c), DSE_CT_S_SYN_RECV);
	assert_int_equal(client(c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(c->dir, DSE_CT_DIR_ORIG);
	assert_int_equal(conv_state(c), DSE_CT_S_ESTABLISHED);
}

/* ---- tests ------------------------------------------------------------- */

/*
 * Steps: create tables of size 0, above the maximum, with a zero and a
 * too-long timeout, and twice under one name.
 * Verify: each is refused with EINVAL / EEXIST; a valid one is empty.
 */
static void test_ct_create_rejects_bad_sizes_timeouts_and_duplicate_names(void **state)
{
	struct dse_ct_timeouts t;
	struct dse_ct *ct;

	(void)state;
	assert_null(dse_ct_create("ct_bad0", 0, NULL));
	assert_int_equal(rte_errno, EINVAL);
	assert_null(dse_ct_create("ct_bad1", DSE_CT_MAX_ENTRIES + 1, NULL));
	assert_int_equal(rte_errno, EINVAL);
	dse_ct_timeouts_default(&t);
	t.udp_replied = 0;
	assert_null(dse_ct_create("ct_bad2", 16, &t));
	assert_int_equal(rte_errno, EINVAL);
	dse_ct_timeouts_default(&t);
	t.tcp_established = 31 * 86400;
	assert_null(dse_ct_create("ct_bad3", 16, &t));
	assert_int_equal(rte_errno, EINVAL);

	ct = dse_ct_create("ct_dup", 16, NULL);
	assert_non_null(ct);
	assert_null(dse_ct_create("ct_dup", 16, NULL));
	assert_int_equal(rte_errno, EEXIST);
	assert_int_equal(dse_ct_set_timeouts(ct, &t), -EINVAL);
	assert_int_equal(ct->timeouts.tcp_established, 86400);
	dse_ct_free(ct);
	dse_ct_free(NULL);
}

/*
 * Steps: SYN from the client, SYN+ACK from the server, ACK, then data both ways.
 * Verify: NEW, then state changes SYN_SENT -> SYN_RECV -> ESTABLISHED, data
 * is VALID without a state change, the counters count each direction.
 */
static void test_ct_tcp_handshake_reaches_established(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct dse_ct_entry *e;
	struct conv c;

	(void)state;
	conv_init(&c, ct);
	handshake(&c);
	assert_int_equal(client(&c, F_ACK | F_PSH, 100), DSE_CT_VALID);
	assert_int_equal(server(&c, F_ACK | F_PSH, 1400), DSE_CT_VALID);
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID);
	e = &ct->entries[c.idx];
	assert_int_equal(e->packets[DSE_CT_DIR_ORIG], 4);
	assert_int_equal(e->packets[DSE_CT_DIR_REPLY], 2);
	assert_int_equal(e->bytes[DSE_CT_DIR_ORIG], 4 * 40 + 100);
	assert_int_equal(e->bytes[DSE_CT_DIR_REPLY], 2 * 40 + 1400);
	assert_int_equal(e->mark, 7);
	assert_true(e->flags & DSE_CT_EF_SEEN_REPLY);
	assert_int_equal(ct->n_entries, 1);
	assert_int_equal(ct->stats.created, 1);
	assert_int_equal(ct->stats.invalid, 0);
	dse_ct_free(ct);
}

/*
 * Steps: open one connection from the lower address and one from the
 * higher, and one between two ports of the same address.
 * Verify: each direction finds the same single entry; the opener's packets
 * are ORIG and the other side's REPLY, whatever the address order.
 */
static void test_ct_reply_direction_is_found_whichever_side_has_the_lower_address(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv lo, hi, same;
	uint8_t dir;
	int a, b;

	(void)state;
	conv_init_addrs(&lo, ct, v4_client, v4_server, 40000, 80); /* opener is lower */
	conv_init_addrs(&hi, ct, v4_server, v4_client, 40001, 80); /* opener is higher */
	conv_init_addrs(&same, ct, v4_client, v4_client, 50000, 22);
	assert_false(lo.c2s.swapped);
	assert_true(hi.c2s.swapped);
	handshake(&lo);
	handshake(&hi);
	handshake(&same);
	assert_int_equal(ct->n_entries, 3);
	for (struct conv *c = &lo; c; c = c == &lo ? &hi : c == &hi ? &same : NULL) {
		a = dse_ct_lookup(ct, &c->c2s, &dir);
		assert_true(a >= 0);
		assert_int_equal(dir, DSE_CT_DIR_ORIG);
		b = dse_ct_lookup(ct, &c->s2c, &dir);
		assert_int_equal(a, b);
		assert_int_equal(dir, DSE_CT_DIR_REPLY);
		assert_int_equal(memcmp(&c->c2s.key, &c->s2c.key, sizeof(c->c2s.key)), 0);
		assert_int_equal(c->c2s.hash, c->s2c.hash);
	}
	dse_ct_free(ct);
}

/*
 * Steps: send an ACK, a SYN+ACK, a FIN+ACK, a RST and a SYN+FIN with no
 * connection; try dse_ct_create_conn() with an ACK.
 * Verify: each is INVALID with its reason counted, no entry is made, and
 * create refuses with -EINVAL.
 */
/*
 * State sync: a connection put by dse_ct_sync_put() (the standby's copy of
 * the active's) in ESTABLISHED, window scale 7 both ways.
 * Steps: mid-stream segments of both sides with sequence numbers the
 * table never saw, then in-window data, then data far beyond the window.
 * Verify: the put creates one connection flagged synced with its state,
 * mark and scales, counted; a second put updates it (no second entry);
 * the first segment of each side is valid (it seeds that side's window,
 * scaled), later ones are tracked as always (in-window valid, beyond the
 * window invalid); dse_ct_sync_refresh() touches the synced entry.
 */
static void test_ct_sync_put_picks_up_mid_stream(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	const uint8_t ws[2] = {7, 7};
	struct conv c;
	int idx;

	(void)state;
	conv_init(&c, ct);
	idx = dse_ct_sync_put(ct, &c.c2s, DSE_CT_S_ESTABLISHED, 9, DSE_CT_EF_SEEN_REPLY, ws, T0);
	assert_true(idx >= 0);
	assert_int_equal(dse_ct_sync_put(ct, &c.c2s, DSE_CT_S_ESTABLISHED, 9, 0, ws, T0), idx);
	assert_int_equal(ct->n_entries, 1);
	assert_true(ct->entries[idx].flags & DSE_CT_EF_SYNCED);
	assert_int_equal(ct->entries[idx].state, DSE_CT_S_ESTABLISHED);
	assert_int_equal(ct->entries[idx].mark, 9);
	assert_int_equal(ct->entries[idx].tcp[0].wscale, 7);
	/* Sequence numbers from nowhere: the first segment of each side seeds its window. */
	assert_int_equal(send_raw(&c, true, F_ACK | F_PSH, 700000, 900000, 500, 100, -1),
			 DSE_CT_VALID);
	assert_int_equal(send_raw(&c, false, F_ACK | F_PSH, 900000, 700100, 500, 100, -1),
			 DSE_CT_VALID);
	/* Tracked as always from now on: 500 << 7 = 64000 bytes of window. */
	assert_int_equal(send_raw(&c, true, F_ACK | F_PSH, 700100, 900100, 500, 30000, -1),
			 DSE_CT_VALID);
	assert_int_equal(send_raw(&c, true, F_ACK | F_PSH, 700100 + 200000, 900100, 500, 100, -1),
			 DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_SEQ_WINDOW);
	assert_int_equal(ct->entries[idx].state, DSE_CT_S_ESTABLISHED);
	assert_int_equal(dse_ct_sync_refresh(ct, T0 + 5), 1);
	assert_int_equal(ct->entries[idx].last_seen, T0 + 5);
	dse_ct_free(ct);
}

static void test_ct_tcp_first_segment_without_syn_is_invalid_and_creates_nothing(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct seg g;
	struct conv c;

	(void)state;
	conv_init(&c, ct);
	assert_int_equal(send_raw(&c, true, F_ACK, 1, 1, 1000, 10, -1), DSE_CT_INVALID);
	assert_int_equal(c.idx, -1);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_NOT_SYN);
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, 1, 1, 1000, 0, -1), DSE_CT_INVALID);
	assert_int_equal(send_raw(&c, true, F_FIN | F_ACK, 1, 1, 1000, 0, -1), DSE_CT_INVALID);
	assert_int_equal(send_raw(&c, true, F_RST, 1, 0, 0, 0, -1), DSE_CT_INVALID);
	assert_int_equal(ct->stats.invalid_reason[DSE_CT_INV_NOT_SYN], 4);
	assert_int_equal(send_raw(&c, true, F_SYN | F_FIN, 1, 0, 1000, 0, -1), DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_TCP_FLAGS);
	assert_int_equal(ct->stats.invalid, 5);
	assert_int_equal(ct->n_entries, 0);

	tcp_hdr(&g, 40000, 80, F_ACK, 1, 1, 1000, 0, -1);
	assert_int_equal(dse_ct_create_conn(ct, &c.c2s, &g.s, T0, 0), -EINVAL);
	assert_int_equal(ct->n_entries, 0);
	assert_int_equal(ct->stats.created, 0);
	assert_int_equal(ct->stats.invalid, 6);
	assert_string_equal(dse_ct_invalid_name(DSE_CT_INV_NOT_SYN), "not_syn");
	dse_ct_free(ct);
}

/*
 * Steps: after the handshake, send data beyond the server's window, data
 * older than a window, an ACK of data the server never sent, and a
 * too-old ACK; then in-window data.
 * Verify: the four are INVALID (seq_window / ack_window), change nothing,
 * and the connection still accepts in-window data.
 */
static void test_ct_tcp_data_outside_the_window_is_invalid(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct dse_ct_entry *e, before;
	struct conv c;

	(void)state;
	conv_init(&c, ct);
	handshake(&c);
	e = &ct->entries[c.idx];
	before = *e;
	/* The server offered 65535 bytes: data starting 100000 ahead is beyond. */
	assert_int_equal(send_raw(&c, true, F_ACK, c.cseq + 100000, c.sseq, 65535, 100, -1),
			 DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_SEQ_WINDOW);
	/* Data that ends more than a window before what was already sent. */
	assert_int_equal(send_raw(&c, true, F_ACK, c.cseq - 200000, c.sseq, 65535, 100, -1),
			 DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_SEQ_WINDOW);
	/* Acknowledging 10 bytes the server never sent. */
	assert_int_equal(send_raw(&c, true, F_ACK, c.cseq, c.sseq + 10, 65535, 0, -1),
			 DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_ACK_WINDOW);
	assert_int_equal(send_raw(&c, true, F_ACK, c.cseq, c.sseq - 100000, 65535, 0, -1),
			 DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_ACK_WINDOW);
	assert_int_equal(ct->stats.invalid, 4);
	assert_memory_equal(&before, e, sizeof(before));

	/* The edge of the window is still fine: 1 byte at the last allowed seq. */
	assert_int_equal(send_raw(&c, true, F_ACK, c.cseq + 65535 - 1, c.sseq, 65535, 1, -1),
			 DSE_CT_VALID);
	assert_int_equal(client(&c, F_ACK, 500), DSE_CT_VALID);
	assert_int_equal(server(&c, F_ACK, 0), DSE_CT_VALID);
	assert_int_equal(e->state, DSE_CT_S_ESTABLISHED);
	dse_ct_free(ct);
}

/*
 * RFC 5961 section 3 (Linux nf_conntrack and OpenBSD pf agree).
 * Steps: after the handshake and some data, send from the server a RST far
 * outside the window, one just below what the client acknowledged, one in
 * the window but not at the expected number, then the client's challenge
 * ACK, then a RST at the exact number; then data, an ACK and a RST again.
 * Verify: the first two are INVALID (rst_window) and change nothing; the
 * inexact one is VALID (it reaches the endpoint) but the connection stays
 * ESTABLISHED, untouched, counted in rst_challenged; the exact one moves it
 * to CLOSE; after it data is INVALID (closed), a bare ACK and a RST in the
 * window pass (an endpoint that did not get everything may still answer
 * with a challenge ACK), one far outside is INVALID.
 */
static void test_ct_tcp_only_an_exact_rst_closes_rfc5961(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct dse_ct_entry before, *e;
	struct conv c;

	(void)state;
	conv_init(&c, ct);
	handshake(&c);
	assert_int_equal(server(&c, F_ACK | F_PSH, 500), DSE_CT_VALID);
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID);
	e = &ct->entries[c.idx];
	memcpy(&before, e, sizeof(before));
	c.now += SEC;
	assert_int_equal(send_raw(&c, false, F_RST, c.sseq + 1000000, 0, 0, 0, -1), DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_RST_WINDOW);
	assert_int_equal(send_raw(&c, false, F_RST, c.sseq - 100, 0, 0, 0, -1), DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_RST_WINDOW);
	assert_int_equal(ct->stats.invalid_reason[DSE_CT_INV_RST_WINDOW], 2);
	assert_int_equal(send_raw(&c, false, F_RST, c.sseq + 1000, 0, 0, 0, -1), DSE_CT_VALID);
	assert_int_equal(ct->stats.rst_challenged, 1);
	assert_int_equal(conv_state(&c), DSE_CT_S_ESTABLISHED);
	assert_memory_equal(&before, e, sizeof(before));
	/* The endpoint's challenge ACK, then the RST it asked for. */
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID);
	assert_int_equal(send_raw(&c, false, F_RST | F_ACK, c.sseq, c.cseq, 0, 0, -1),
			 DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_CLOSE);
	assert_int_equal(client(&c, F_ACK | F_PSH, 10), DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_CLOSED);
	/* A bare ACK and a RST in the window still pass (a late challenge ACK and its RST). */
	assert_int_equal(server(&c, F_ACK, 0), DSE_CT_VALID);
	assert_int_equal(client(&c, F_RST, 0), DSE_CT_VALID);
	assert_int_equal(send_raw(&c, true, F_RST, c.cseq + 1000000, 0, 0, 0, -1), DSE_CT_INVALID);
	assert_int_equal(ct->stats.invalid_reason[DSE_CT_INV_CLOSED], 2);
	assert_int_equal(conv_state(&c), DSE_CT_S_CLOSE);

	/* A reset from the peer before the SYN+ACK closes too, if it acks the SYN. */
	conv_init_addrs(&c, ct, v4_client, v4_server, 40001, 81);
	assert_int_equal(client(&c, F_SYN, 0), DSE_CT_NEW);
	assert_int_equal(send_raw(&c, false, F_RST | F_ACK, 0, c.cseq + 5, 0, 0, -1),
			 DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_ACK_WINDOW);
	assert_int_equal(send_raw(&c, false, F_RST | F_ACK, 0, c.cseq, 0, 0, -1),
			 DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_CLOSE);
	dse_ct_free(ct);
}

/*
 * The end of a stream as iperf3 makes it: the server closes with data
 * unread, and its kernel, without a socket now, answers each segment still
 * in flight with a RST at that segment's acknowledgement.
 * Steps: after the handshake and data from the client, the server sends
 * FIN+ACK and the client acknowledges it (with more data); then from the
 * server a RST at the FIN's own number, one a byte below it, and one at
 * the number after the FIN.
 * Verify: the first is INVALID as rst_after_fin, the second as rst_window,
 * neither changes the connection; the third closes it.
 */
static void test_ct_tcp_rst_at_an_acknowledged_fin_is_counted_apart(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct dse_ct_entry before, *e;
	struct conv c;
	uint32_t fin;

	(void)state;
	conv_init(&c, ct);
	handshake(&c);
	assert_int_equal(client(&c, F_ACK | F_PSH, 1000), DSE_CT_VALID);
	fin = c.sseq;
	assert_int_equal(server(&c, F_FIN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(client(&c, F_ACK | F_PSH, 1000), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_CLOSE_WAIT);
	e = &ct->entries[c.idx];
	memcpy(&before, e, sizeof(before));
	assert_int_equal(send_raw(&c, false, F_RST, fin, 0, 0, 0, -1), DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_RST_AFTER_FIN);
	assert_int_equal(send_raw(&c, false, F_RST, fin - 1, 0, 0, 0, -1), DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_RST_WINDOW);
	assert_int_equal(ct->stats.invalid_reason[DSE_CT_INV_RST_AFTER_FIN], 1);
	assert_int_equal(ct->stats.invalid_reason[DSE_CT_INV_RST_WINDOW], 1);
	assert_memory_equal(&before, e, sizeof(before));
	assert_int_equal(send_raw(&c, false, F_RST, fin + 1, 0, 0, 0, -1),
			 DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_CLOSE);
	dse_ct_free(ct);
}

/*
 * Steps: close a connection: client FIN, server ACK, server FIN, client
 * ACK; then let the clock run.
 * Verify: FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT in turn; a retransmitted
 * FIN in TIME_WAIT is valid; the entry is still there just before the
 * TIME_WAIT timeout (120 s) and expired by the wheel after it.
 */
static void test_ct_tcp_fin_sequence_reaches_time_wait_and_expires(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv c;
	uint64_t t_last;

	(void)state;
	conv_init(&c, ct);
	handshake(&c);
	assert_int_equal(client(&c, F_ACK | F_PSH, 10), DSE_CT_VALID);
	assert_int_equal(client(&c, F_FIN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_FIN_WAIT);
	assert_int_equal(server(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_CLOSE_WAIT);
	assert_int_equal(server(&c, F_ACK | F_PSH, 20), DSE_CT_VALID); /* half-closed: data on */
	assert_int_equal(server(&c, F_FIN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_LAST_ACK);
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_TIME_WAIT);
	/* The server's FIN again (our ACK was lost beyond the firewall). */
	assert_int_equal(send_raw(&c, false, F_FIN | F_ACK, c.sseq - 1, c.cseq, 65535, 0, -1),
			 DSE_CT_VALID);
	t_last = c.now;

	assert_int_equal(dse_ct_expire(ct, t_last + 119 * SEC, UINT32_MAX), 0);
	assert_int_equal(ct->n_entries, 1);
	assert_int_equal(dse_ct_expire(ct, t_last + 121 * SEC, UINT32_MAX), 1);
	assert_int_equal(ct->n_entries, 0);
	assert_int_equal(ct->stats.expired, 1);
	assert_int_equal(conv_state(&c), DSE_CT_S_NONE);
	dse_ct_free(ct);
}

static int syn_from(struct dse_ct *ct, uint16_t zone, const uint8_t src[4], uint16_t sport);

/* What the event hook was told, in order. */
struct hook_log {
	unsigned n;
	struct {
		unsigned ev, detail;
		uint32_t id;
		uint8_t state;
		uint64_t packets[2], bytes[2];
		uint16_t zone;
	} e[32];
};

static void hook_fn(void *arg, const struct dse_ct *ct, uint32_t index, unsigned ev,
		    unsigned detail)
{
	struct hook_log *l = arg;
	const struct dse_ct_entry *e = &ct->entries[index];

	assert_true(l->n < 32);
	l->e[l->n].ev = ev;
	l->e[l->n].detail = detail;
	l->e[l->n].id = e->id;
	l->e[l->n].state = e->state;
	memcpy(l->e[l->n].packets, e->packets, sizeof(e->packets));
	memcpy(l->e[l->n].bytes, e->bytes, sizeof(e->bytes));
	l->e[l->n].zone = dse_ct_zone(ct, index);
	l->n++;
}

/* Has the event hook of 'ct' write to 'l'. */
static void hook_attach(struct dse_ct *ct, struct hook_log *l)
{
	ct->event_fn = hook_fn;
	ct->event_arg = l;
}

/*
 * Steps: with an event hook set, a TCP connection opens, carries data,
 * closes with FINs and expires.
 * Verify: the hook hears CREATED (SYN_SENT), one STATE per state change
 * with the old state (SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT,
 * CLOSE_WAIT, LAST_ACK), and CLOSED (expired) last while the entry still
 * holds its final counters and its zone; packets that change no state
 * tell it nothing.
 */
static void test_ct_event_hook_hears_created_state_changes_and_closed(void **state)
{
	static const uint8_t olds[] = {DSE_CT_S_SYN_SENT, DSE_CT_S_SYN_RECV, DSE_CT_S_ESTABLISHED,
				       DSE_CT_S_FIN_WAIT, DSE_CT_S_CLOSE_WAIT, DSE_CT_S_LAST_ACK};
	struct dse_ct *ct = ct_new(64, NULL);
	struct hook_log log = {0};
	struct dse_ct_conn conn;
	struct conv c;
	uint32_t id;

	(void)state;
	hook_attach(ct, &log);
	conv_init(&c, ct);
	handshake(&c);
	assert_int_equal(client(&c, F_ACK | F_PSH, 10), DSE_CT_VALID);
	assert_int_equal(server(&c, F_ACK | F_PSH, 20), DSE_CT_VALID);
	assert_int_equal(client(&c, F_FIN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(server(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(server(&c, F_FIN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(dse_ct_get(ct, (uint32_t)c.idx, c.now, &conn), 0);
	id = conn.id;
	assert_int_equal(dse_ct_expire(ct, c.now + 121 * SEC, UINT32_MAX), 1);
	assert_int_equal(log.n, 1 + RTE_DIM(olds) + 1);
	assert_int_equal(log.e[0].ev, DSE_CT_EVENT_CREATED);
	assert_int_equal(log.e[0].state, DSE_CT_S_SYN_SENT);
	for (unsigned i = 0; i < RTE_DIM(olds); i++) {
		assert_int_equal(log.e[1 + i].ev, DSE_CT_EVENT_STATE);
		assert_int_equal(log.e[1 + i].detail, olds[i]);
		assert_int_equal(log.e[1 + i].id, id);
	}
	assert_int_equal(log.e[6].state, DSE_CT_S_TIME_WAIT);
	assert_int_equal(log.e[7].ev, DSE_CT_EVENT_CLOSED);
	assert_int_equal(log.e[7].detail, DSE_CT_CLOSE_EXPIRED);
	assert_int_equal(log.e[7].id, id);
	assert_int_equal(log.e[7].zone, 1);
	assert_memory_equal(log.e[7].packets, conn.packets, sizeof(conn.packets));
	assert_memory_equal(log.e[7].bytes, conn.bytes, sizeof(conn.bytes));
	assert_int_equal(conn.packets[DSE_CT_DIR_ORIG], 5);
	assert_int_equal(conn.packets[DSE_CT_DIR_REPLY], 4);
	dse_ct_free(ct);
}

/*
 * Steps: with the hook set, connections are deleted, flushed, evicted by a
 * full table, reopened by a SYN after a RST, and replaced by a new
 * handshake.
 * Verify: each removal is heard once with its reason, before the entry is
 * freed (its id still set); a replacement is CLOSED (replaced) of the old
 * id, then CREATED of the new one.
 */
static void test_ct_event_hook_says_why_a_connection_went(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct hook_log log = {0};
	struct conv c;
	uint32_t old_id;

	(void)state;
	hook_attach(ct, &log);
	conv_init(&c, ct);
	handshake(&c);
	assert_int_equal(dse_ct_delete(ct, (uint32_t)c.idx), 0);
	assert_int_equal(log.e[log.n - 1].ev, DSE_CT_EVENT_CLOSED);
	assert_int_equal(log.e[log.n - 1].detail, DSE_CT_CLOSE_DELETED);
	assert_int_not_equal(log.e[log.n - 1].id, 0);
	conv_init(&c, ct);
	handshake(&c);
	assert_int_equal(dse_ct_flush(ct, NULL), 1);
	assert_int_equal(log.e[log.n - 1].detail, DSE_CT_CLOSE_DELETED);
	/* RST, then a SYN on the same ports reopens it. */
	conv_init(&c, ct);
	handshake(&c);
	assert_int_equal(client(&c, F_RST | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	log.n = 0;
	c.cseq += 100000;
	assert_int_equal(client(&c, F_SYN, 0), DSE_CT_NEW);
	assert_int_equal(log.n, 2);
	assert_int_equal(log.e[0].ev, DSE_CT_EVENT_CLOSED);
	assert_int_equal(log.e[0].detail, DSE_CT_CLOSE_REOPENED);
	assert_int_equal(log.e[1].ev, DSE_CT_EVENT_CREATED);
	/* A new handshake on the open connection replaces it. */
	assert_int_equal(server(&c, F_SYN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	old_id = ct->entries[c.idx].id;
	log.n = 0;
	assert_int_equal(send_raw(&c, true, F_SYN, 700000, 0, 64240, 0, -1), DSE_CT_VALID);
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, 300000, 700001, 65160, 0, -1),
			 DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(log.n, 3);
	assert_int_equal(log.e[0].ev, DSE_CT_EVENT_CLOSED);
	assert_int_equal(log.e[0].detail, DSE_CT_CLOSE_REPLACED);
	assert_int_equal(log.e[0].id, old_id);
	assert_int_equal(log.e[1].ev, DSE_CT_EVENT_CREATED);
	assert_int_not_equal(log.e[1].id, old_id);
	assert_int_equal(log.e[2].ev, DSE_CT_EVENT_STATE);
	assert_int_equal(log.e[2].detail, DSE_CT_S_SYN_SENT);
	assert_int_equal(log.e[2].state, DSE_CT_S_SYN_RECV);
	dse_ct_free(ct);
	/* A full table of half-open connections evicts one for a new one. */
	ct = ct_new(4, NULL);
	memset(&log, 0, sizeof(log));
	hook_attach(ct, &log);
	for (uint16_t p = 0; p < 5; p++)
		assert_true(syn_from(ct, 1, v4_client, (uint16_t)(1000 + p)) >= 0);
	assert_true(ct->stats.evicted >= 1);
	assert_int_equal(log.e[log.n - 2].ev, DSE_CT_EVENT_CLOSED);
	assert_int_equal(log.e[log.n - 2].detail, DSE_CT_CLOSE_EVICTED);
	assert_int_equal(log.e[log.n - 1].ev, DSE_CT_EVENT_CREATED);
	dse_ct_free(ct);
}

/*
 * Steps: both sides send FIN before seeing the other's (simultaneous close).
 * Verify: LAST_ACK after both FINs, TIME_WAIT once both are acknowledged.
 */
static void test_ct_tcp_simultaneous_close_reaches_time_wait(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv c;
	uint32_t cfin, sfin;

	(void)state;
	conv_init(&c, ct);
	handshake(&c);
	cfin = c.cseq;
	sfin = c.sseq;
	assert_int_equal(send_raw(&c, true, F_FIN | F_ACK, cfin, sfin, 65535, 0, -1),
			 DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(send_raw(&c, false, F_FIN | F_ACK, sfin, cfin, 65535, 0, -1),
			 DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_LAST_ACK);
	assert_int_equal(send_raw(&c, true, F_ACK, cfin + 1, sfin + 1, 65535, 0, -1), DSE_CT_VALID);
	assert_int_equal(conv_state(&c), DSE_CT_S_LAST_ACK);
	assert_int_equal(send_raw(&c, false, F_ACK, sfin + 1, cfin + 1, 65535, 0, -1),
			 DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_TIME_WAIT);
	dse_ct_free(ct);
}

/*
 * RFC 5961 section 3: with data in flight the receiver's next expected
 * number is what it acknowledged last (Linux nf_conntrack accepts a RST
 * there too).
 * Steps: the server sends 1000 bytes the client never acknowledges; the
 * server then resets at the sequence number the client acknowledged last.
 * Verify: the RST is exact and closes the connection.
 */
static void test_ct_rst_at_what_the_receiver_acknowledged_closes_with_data_in_flight(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv c;
	uint32_t acked;

	(void)state;
	conv_init(&c, ct);
	handshake(&c);
	acked = c.sseq;
	assert_int_equal(server(&c, F_ACK | F_PSH, 1000), DSE_CT_VALID);
	assert_int_equal(send_raw(&c, false, F_RST, acked, 0, 0, 0, -1),
			 DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_CLOSE);
	assert_int_equal(ct->stats.rst_challenged, 0);
	dse_ct_free(ct);
}

/*
 * RFC 5961 section 4, a client that restarted (Linux nf_conntrack lets the
 * SYN through the same way).
 * Steps: after the handshake the client sends a SYN with a new ISN; the
 * server answers with its challenge ACK; the client, which has no state,
 * answers that with a RST at the acknowledged number; then its SYN again.
 * Verify: the SYN is VALID (it reaches the server) and the connection stays
 * ESTABLISHED with its counters untouched (syn_on_open counts it); the
 * challenge ACK is VALID; the RST closes; the repeated SYN starts a new
 * connection (NEW, reopened).
 */
static void test_ct_syn_on_an_open_connection_passes_and_keeps_it(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct dse_ct_entry before, *e;
	struct conv c;

	(void)state;
	conv_init(&c, ct);
	handshake(&c);
	e = &ct->entries[c.idx];
	memcpy(&before, e, sizeof(before));
	c.now += SEC;
	assert_int_equal(send_raw(&c, true, F_SYN, 900000, 0, 64240, 0, 7), DSE_CT_VALID);
	assert_int_equal(ct->stats.syn_on_open, 1);
	assert_int_equal(conv_state(&c), DSE_CT_S_ESTABLISHED);
	assert_int_equal(e->packets[0], before.packets[0]);
	assert_int_equal(e->last_seen, before.last_seen);
	assert_int_equal(server(&c, F_ACK, 0), DSE_CT_VALID);
	assert_int_equal(send_raw(&c, true, F_RST, c.cseq, 0, 0, 0, -1),
			 DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_CLOSE);
	assert_int_equal(send_raw(&c, true, F_SYN, 900000, 0, 64240, 0, 7), DSE_CT_NEW);
	assert_int_equal(ct->stats.reopened, 1);
	assert_int_equal(ct->stats.created, 2);
	assert_int_equal(conv_state(&c), DSE_CT_S_SYN_SENT);
	dse_ct_free(ct);
}

/*
 * Steps: after the handshake and data the client sends a SYN with a new
 * ISN and window scale; the server answers it with a SYN+ACK of its own
 * new ISN; the client ACKs, and data flows at the new numbers.
 * Verify: the SYN+ACK is VALID_STATE_CHANGED and the connection is a new
 * one (SYN_RECV, a new id, counters from the new SYN, replaced counted);
 * the ACK makes it ESTABLISHED and the new data is VALID; the old numbers
 * are out of the window now.
 */
static void test_ct_syn_on_an_open_connection_answered_by_synack_replaces_it(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct dse_ct_entry *e;
	struct conv c;
	uint32_t old_id, old_cseq;

	(void)state;
	conv_init(&c, ct);
	handshake(&c);
	assert_int_equal(client(&c, F_ACK | F_PSH, 300), DSE_CT_VALID);
	e = &ct->entries[c.idx];
	old_id = e->id;
	old_cseq = c.cseq;
	assert_int_equal(send_raw(&c, true, F_SYN, 700000, 0, 64240, 0, -1), DSE_CT_VALID);
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, 300000, 700001, 65160, 0, -1),
			 DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(e->state, DSE_CT_S_SYN_RECV);
	assert_int_not_equal(e->id, old_id);
	assert_int_equal(e->packets[DSE_CT_DIR_ORIG], 1);
	assert_int_equal(e->packets[DSE_CT_DIR_REPLY], 1);
	assert_int_equal(ct->stats.replaced, 1);
	assert_int_equal(ct->n_entries, 1);
	c.cseq = 700001;
	c.sseq = 300001;
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(e->state, DSE_CT_S_ESTABLISHED);
	assert_int_equal(client(&c, F_ACK | F_PSH, 100), DSE_CT_VALID);
	assert_int_equal(server(&c, F_ACK, 0), DSE_CT_VALID);
	assert_int_equal(send_raw(&c, true, F_ACK | F_PSH, old_cseq, c.sseq, 65535, 10, -1),
			 DSE_CT_INVALID);
	dse_ct_free(ct);
}

/*
 * Steps: after the handshake (each side's packets on its port, 0) a SYN of
 * the opener comes in by port 7 and is answered by a SYN+ACK; another SYN
 * by port 0 is answered by a SYN+ACK that comes in by port 7; a third by
 * port 0 is answered first by the server's (challenge) ACK, then by a
 * SYN+ACK from port 0.
 * Verify: none replaces the connection (a third party on another port can
 * not, and a SYN the server answered otherwise is forgotten): each SYN+ACK
 * is INVALID (syn_state) and the connection stays ESTABLISHED.
 */
static void test_ct_only_the_endpoints_ports_may_replace_a_connection(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv c;
	struct seg g;
	int32_t idx;
	uint8_t dir;

	(void)state;
	conv_init(&c, ct);
	handshake(&c);
	tcp_hdr(&g, c.cport, c.sport, F_SYN, 700000, 0, 64240, 0, -1);
	g.s.in_port = 7;
	assert_int_equal(dse_ct_process(ct, &c.c2s, &g.s, c.now, &idx, &dir), DSE_CT_VALID);
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, 300000, 700001, 65160, 0, -1),
			 DSE_CT_INVALID);
	assert_int_equal(send_raw(&c, true, F_SYN, 800000, 0, 64240, 0, -1), DSE_CT_VALID);
	tcp_hdr(&g, c.sport, c.cport, F_SYN | F_ACK, 300000, 800001, 65160, 0, -1);
	g.s.in_port = 7;
	assert_int_equal(dse_ct_process(ct, &c.s2c, &g.s, c.now, &idx, &dir), DSE_CT_INVALID);
	assert_int_equal(send_raw(&c, true, F_SYN, 900000, 0, 64240, 0, -1), DSE_CT_VALID);
	assert_int_equal(server(&c, F_ACK, 0), DSE_CT_VALID);
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, 300000, 900001, 65160, 0, -1),
			 DSE_CT_INVALID);
	assert_int_equal(ct->stats.invalid_reason[DSE_CT_INV_SYN_STATE], 3);
	assert_int_equal(ct->stats.replaced, 0);
	assert_int_equal(conv_state(&c), DSE_CT_S_ESTABLISHED);
	dse_ct_free(ct);
}

/*
 * A stricter choice than Linux (which may re-open from either side): a
 * connection is only replaced by its own opener, so the rules that allowed
 * it still fit it.
 * Steps: after the handshake the server sends a SYN; the client answers it
 * with a SYN+ACK.
 * Verify: the SYN passes (VALID, counted) and changes nothing; the SYN+ACK
 * is INVALID (syn_state) and the connection stays ESTABLISHED.
 */
static void test_ct_syn_of_the_reply_side_on_an_open_connection_never_replaces_it(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv c;

	(void)state;
	conv_init(&c, ct);
	handshake(&c);
	assert_int_equal(send_raw(&c, false, F_SYN, 400000, 0, 64240, 0, -1), DSE_CT_VALID);
	assert_int_equal(ct->stats.syn_on_open, 1);
	assert_int_equal(send_raw(&c, true, F_SYN | F_ACK, 123456, 400001, 64240, 0, -1),
			 DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_SYN_STATE);
	assert_int_equal(conv_state(&c), DSE_CT_S_ESTABLISHED);
	assert_int_equal(ct->stats.replaced, 0);
	dse_ct_free(ct);
}

/*
 * RFC 7413 section 3 (TCP Fast Open) and its fallback.
 * Steps: a client SYN carries 100 bytes.  In one connection the server's
 * SYN+ACK acknowledges the SYN only; the client ACKs and sends the 100
 * bytes again; the server acknowledges them.  In another, the SYN+ACK
 * acknowledges the data too.  Then SYN+ACKs acknowledging the ISN itself
 * and one byte beyond the data.
 * Verify: both SYN+ACKs that acknowledge the SYN (with or without the data)
 * are valid and the connections reach ESTABLISHED with the data passing;
 * acknowledging the ISN, or more than was sent, is INVALID (synack_ack).
 */
static void test_ct_syn_with_data_accepts_a_synack_of_the_syn_alone(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv c;
	uint32_t isn;

	(void)state;
	conv_init(&c, ct);
	isn = c.cseq;
	assert_int_equal(send_raw(&c, true, F_SYN, isn, 0, 64240, 100, -1), DSE_CT_NEW);
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, c.sseq, isn, 65535, 0, -1),
			 DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_SYNACK_ACK);
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, c.sseq, isn + 102, 65535, 0, -1),
			 DSE_CT_INVALID);
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, c.sseq, isn + 1, 65535, 0, -1),
			 DSE_CT_VALID_STATE_CHANGED);
	c.sseq++;
	c.cseq = isn + 1;
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_ESTABLISHED);
	assert_int_equal(client(&c, F_ACK | F_PSH, 100), DSE_CT_VALID);
	assert_int_equal(server(&c, F_ACK, 0), DSE_CT_VALID);

	conv_init_addrs(&c, ct, v4_client, v4_server, 40002, 80);
	isn = c.cseq;
	assert_int_equal(send_raw(&c, true, F_SYN, isn, 0, 64240, 100, -1), DSE_CT_NEW);
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, c.sseq, isn + 101, 65535, 0, -1),
			 DSE_CT_VALID_STATE_CHANGED);
	c.sseq++;
	c.cseq = isn + 101;
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_ESTABLISHED);
	assert_int_equal(ct->stats.invalid, 2);
	dse_ct_free(ct);
}

/* ---- ICMP errors ------------------------------------------------------- */

/*
 * Builds an ICMPv4 error 'type'/'code' in 'buf' quoting an IPv4 packet
 * 'src' -> 'dst' of protocol 'proto' whose first 8 layer 4 bytes are
 * 'l4'; 'frag_off' is the quoted header's fragment offset field.  Returns
 * the length.
 */
static uint32_t icmp4_error(uint8_t *buf, uint8_t type, uint8_t code, const uint8_t src[4],
			    const uint8_t dst[4], uint8_t proto, const uint8_t l4[8],
			    uint16_t frag_off)
{
	memset(buf, 0, 36);
	buf[0] = type;
	buf[1] = code;
	buf[8] = 0x45;
	wr16(buf + 8 + 2, 1500);
	wr16(buf + 8 + 6, frag_off);
	buf[8 + 8] = 64;
	buf[8 + 9] = proto;
	memcpy(buf + 8 + 12, src, 4);
	memcpy(buf + 8 + 16, dst, 4);
	memcpy(buf + 28, l4, 8);
	return 36;
}

/* The first 8 bytes of a TCP header 'sport' -> 'dport' with 'seq'. */
static void tcp8(uint8_t out[8], uint16_t sport, uint16_t dport, uint32_t seq)
{
	wr16(out, sport);
	wr16(out + 2, dport);
	wr32(out + 4, seq);
}

/*
 * RFC 5927 for the sequence check; Linux nf_conntrack relates errors the
 * same way (without that check).
 * Steps: a TCP connection carries data; errors quote the client's segment:
 * fragmentation needed back to the client, port unreachable and time
 * exceeded; a parameter problem quoting the server's segment goes to the
 * server; then errors that must not relate: one quoting a sequence number
 * far from the window, one sent to the wrong host, one quoting a tuple
 * nobody tracks, one quoting a non-first fragment, an ICMP echo, and one in
 * another zone; finally one after the connection timed out.
 * Verify: the first four are related, with their kinds counted; the rest
 * return -ERANGE, -EPROTO, -ENOENT, -EPROTO, -EINVAL, -ENOENT and -ENOENT,
 * counted as unrelated; the connection does not change.
 */
static void test_ct_icmp_errors_relate_to_their_connection_only(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	const uint8_t router[4] = {10, 0, 0, 254};
	uint8_t buf[64], l4[8], cl[16], sv[16], kind = 0xff;
	struct dse_ct_entry before;
	struct conv c;
	uint32_t len;

	(void)state;
	(void)router;
	dse_ct_addr_from_ipv4(cl, v4_client);
	dse_ct_addr_from_ipv4(sv, v4_server);
	conv_init(&c, ct);
	handshake(&c);
	assert_int_equal(client(&c, F_ACK | F_PSH, 1400), DSE_CT_VALID);
	memcpy(&before, &ct->entries[c.idx], sizeof(before));

	tcp8(l4, c.cport, c.sport, c.cseq - 1400);
	len = icmp4_error(buf, 3, 4, v4_client, v4_server, IPPROTO_TCP, l4, 0);
	assert_int_equal(dse_ct_related(ct, 1, 4, cl, buf, len, c.now, &kind), c.idx);
	assert_int_equal(kind, DSE_CT_REL_TOO_BIG);
	len = icmp4_error(buf, 3, 3, v4_client, v4_server, IPPROTO_TCP, l4, 0);
	assert_int_equal(dse_ct_related(ct, 1, 4, cl, buf, len, c.now, &kind), c.idx);
	assert_int_equal(kind, DSE_CT_REL_UNREACH);
	len = icmp4_error(buf, 11, 0, v4_client, v4_server, IPPROTO_TCP, l4, 0);
	assert_int_equal(dse_ct_related(ct, 1, 4, cl, buf, len, c.now, &kind), c.idx);
	tcp8(l4, c.sport, c.cport, c.sseq);
	len = icmp4_error(buf, 12, 0, v4_server, v4_client, IPPROTO_TCP, l4, 0);
	assert_int_equal(dse_ct_related(ct, 1, 4, sv, buf, len, c.now, &kind), c.idx);
	assert_int_equal(kind, DSE_CT_REL_PARAM);

	tcp8(l4, c.cport, c.sport, c.cseq + 2000000);
	len = icmp4_error(buf, 3, 4, v4_client, v4_server, IPPROTO_TCP, l4, 0);
	assert_int_equal(dse_ct_related(ct, 1, 4, cl, buf, len, c.now, &kind), -ERANGE);
	assert_int_equal(ct->stats.related_bad_seq, 1);
	tcp8(l4, c.cport, c.sport, c.cseq);
	len = icmp4_error(buf, 3, 4, v4_client, v4_server, IPPROTO_TCP, l4, 0);
	assert_int_equal(dse_ct_related(ct, 1, 4, sv, buf, len, c.now, &kind), -EPROTO);
	tcp8(l4, c.cport, 81, c.cseq);
	len = icmp4_error(buf, 3, 4, v4_client, v4_server, IPPROTO_TCP, l4, 0);
	assert_int_equal(dse_ct_related(ct, 1, 4, cl, buf, len, c.now, &kind), -ENOENT);
	tcp8(l4, c.cport, c.sport, c.cseq);
	len = icmp4_error(buf, 3, 4, v4_client, v4_server, IPPROTO_TCP, l4, 185);
	assert_int_equal(dse_ct_related(ct, 1, 4, cl, buf, len, c.now, &kind), -EPROTO);
	len = icmp4_error(buf, 8, 0, v4_client, v4_server, IPPROTO_TCP, l4, 0);
	assert_int_equal(dse_ct_related(ct, 1, 4, cl, buf, len, c.now, &kind), -EINVAL);
	len = icmp4_error(buf, 3, 4, v4_client, v4_server, IPPROTO_TCP, l4, 0);
	assert_int_equal(dse_ct_related(ct, 2, 4, cl, buf, len, c.now, &kind), -ENOENT);
	assert_int_equal(dse_ct_related(ct, 1, 4, cl, buf, 30, c.now, &kind), -EPROTO);
	assert_int_equal(dse_ct_related(ct, 1, 4, cl, buf, len, c.now + 86401 * SEC, &kind),
			 -ENOENT);

	assert_int_equal(ct->stats.related[DSE_CT_REL_TOO_BIG], 1);
	assert_int_equal(ct->stats.related[DSE_CT_REL_UNREACH], 1);
	assert_int_equal(ct->stats.related[DSE_CT_REL_TIME], 1);
	assert_int_equal(ct->stats.related[DSE_CT_REL_PARAM], 1);
	assert_int_equal(ct->stats.unrelated[DSE_CT_REL_TOO_BIG], 7);
	assert_memory_equal(&before, &ct->entries[c.idx], sizeof(before));
	dse_ct_free(ct);
}

/*
 * Steps: a UDP flow between two IPv6 hosts; an ICMPv6 packet too big
 * quoting a datagram of it, back to its sender; one quoting an echo
 * request of a tracked ping; one whose quote is cut short.
 * Verify: the first two are related (too big, and an unreachable); the
 * cut one is -EPROTO.
 */
static void test_ct_icmpv6_errors_relate_to_their_connection(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}, b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
	uint8_t buf[96], kind = 0xff;
	struct dse_ct_tuple t;
	struct seg g;
	int idx, pidx;

	(void)state;
	udp_hdr(&g, 100);
	assert_int_equal(dse_ct_tuple_set(&t, 3, 6, IPPROTO_UDP, a, b, 5000, 53), 0);
	idx = dse_ct_create_conn(ct, &t, &g.s, T0, 0);
	assert_true(idx >= 0);
	memset(&g, 0, sizeof(g));
	g.hdr[0] = 128;
	wr16(g.hdr + 4, 0x77);
	g.s.l4 = g.hdr;
	g.s.l4_len = 8;
	g.s.ip_len = 48;
	assert_int_equal(dse_ct_tuple_set(&t, 3, 6, IPPROTO_ICMPV6, a, b, 0x77, 128), 0);
	pidx = dse_ct_create_conn(ct, &t, &g.s, T0, 0);
	assert_true(pidx >= 0);

	memset(buf, 0, sizeof(buf));
	buf[0] = 2; /* packet too big */
	buf[8] = 0x60;
	wr16(buf + 8 + 4, 108);
	buf[8 + 6] = IPPROTO_UDP;
	buf[8 + 7] = 64;
	memcpy(buf + 8 + 8, a, 16);
	memcpy(buf + 8 + 24, b, 16);
	wr16(buf + 48, 5000);
	wr16(buf + 50, 53);
	assert_int_equal(dse_ct_related(ct, 3, 6, a, buf, 56, T0, &kind), idx);
	assert_int_equal(kind, DSE_CT_REL_TOO_BIG);
	buf[0] = 1; /* destination unreachable */
	buf[8 + 6] = IPPROTO_ICMPV6;
	buf[48] = 128;
	buf[49] = 0;
	wr16(buf + 52, 0x77);
	assert_int_equal(dse_ct_related(ct, 3, 6, a, buf, 56, T0, &kind), pidx);
	assert_int_equal(kind, DSE_CT_REL_UNREACH);
	assert_int_equal(dse_ct_related(ct, 3, 6, a, buf, 50, T0, &kind), -EPROTO);
	dse_ct_free(ct);
}

/* ---- half-open connections --------------------------------------------- */

/* Opens TCP connection 'sport' -> server:80 from 'src' in 'zone' with a SYN. */
static int syn_from(struct dse_ct *ct, uint16_t zone, const uint8_t src[4], uint16_t sport)
{
	struct dse_ct_tuple t;
	struct seg g;

	tcp_hdr(&g, sport, 80, F_SYN, 1, 0, 1000, 0, -1);
	tuple_v4(&t, zone, IPPROTO_TCP, src, v4_server, sport, 80);
	return dse_ct_create_conn(ct, &t, &g.s, T0, 0);
}

/*
 * Steps: limits of 3 half-open per source and 5 per zone; source A opens 4
 * connections (SYNs); source B opens 3; B opens one in another zone; one
 * of A's completes its handshake and B opens one more.
 * Verify: A's fourth takes the place of A's oldest half-open connection
 * (evicted, not refused: a spoofer sharing A's address can never lock A
 * out); B's third fills the zone past its limit, so it evicts the zone's
 * oldest half-open connection; in the other zone B opens without evicting
 * anything; after the handshake the zone has room again.
 */
static void test_ct_half_open_limits_per_source_and_zone(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	const uint8_t src_b[4] = {10, 0, 0, 3};
	struct conv c;

	(void)state;
	dse_ct_set_embryonic_limits(ct, 3, 5);
	for (uint16_t i = 0; i < 3; i++)
		assert_true(syn_from(ct, 1, v4_client, (uint16_t)(1000 + i)) >= 0);
	assert_true(syn_from(ct, 1, v4_client, 1003) >= 0);
	assert_int_equal(ct->stats.evicted, 1);
	assert_int_equal(ct->stats.src_limit, 0);
	conv_init_addrs(&c, ct, v4_client, v4_server, 1000, 80);
	assert_int_equal(conv_state(&c), DSE_CT_S_NONE);
	assert_true(syn_from(ct, 1, src_b, 2000) >= 0);
	assert_true(syn_from(ct, 1, src_b, 2001) >= 0);
	assert_int_equal(ct->stats.evicted, 1);
	assert_true(syn_from(ct, 1, src_b, 2002) >= 0);
	assert_int_equal(ct->stats.evicted, 2);
	assert_int_equal(ct->n_entries, 5);
	conv_init_addrs(&c, ct, v4_client, v4_server, 1001, 80);
	assert_int_equal(conv_state(&c), DSE_CT_S_NONE);
	assert_true(syn_from(ct, 2, src_b, 2002) >= 0);
	assert_int_equal(ct->stats.evicted, 2);

	/* A's 1002 completes its handshake: it is no longer half-open, the zone has room. */
	conv_init_addrs(&c, ct, v4_client, v4_server, 1002, 80);
	c.cseq = 2;
	assert_int_equal(server(&c, F_SYN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_ESTABLISHED);
	assert_true(syn_from(ct, 1, src_b, 2010) >= 0);
	assert_int_equal(ct->stats.evicted, 3); /* B had 3: its own oldest went */
	assert_int_equal(ct->stats.zone_limit + ct->stats.src_limit, 0);
	dse_ct_free(ct);
}

/*
 * Steps: a table of 64; 32 established connections, then half-open ones
 * (SYNs from many sources, as a flood) until the table is full, then
 * further SYNs; then with only established connections in a full table,
 * one more.
 * Verify: new connections keep being created once the table is full, each
 * evicting a half-open one (evicted counts them); every established
 * connection survives; with nothing half-open to evict the table refuses
 * (-ENOSPC, full).
 */
static void test_ct_full_table_evicts_half_open_not_established(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	uint8_t a[16] = {0}, b[16] = {0};
	struct dse_ct_tuple t;
	struct seg g;
	struct conv c;

	(void)state;
	dse_ct_set_embryonic_limits(ct, 1000, 1000);
	for (uint16_t i = 0; i < 32; i++) {
		conv_init_addrs(&c, ct, v4_client, v4_server, (uint16_t)(3000 + i), 80);
		handshake(&c);
	}
	b[10] = b[11] = 0xff, b[12] = 11;
	for (uint32_t i = 0; i < 200; i++) {
		a[10] = a[11] = 0xff, a[12] = 10, a[13] = (uint8_t)(i >> 8), a[14] = (uint8_t)i;
		tcp_hdr(&g, (uint16_t)i, 80, F_SYN, i, 0, 1000, 0, -1);
		assert_int_equal(dse_ct_tuple_set(&t, 1, 4, IPPROTO_TCP, a, b, (uint16_t)i, 80), 0);
		assert_true(dse_ct_create_conn(ct, &t, &g.s, T0 + i, 0) >= 0);
	}
	assert_int_equal(ct->stats.evicted, 200 - 32);
	assert_int_equal(ct->stats.full, 0);
	for (uint16_t i = 0; i < 32; i++) {
		conv_init_addrs(&c, ct, v4_client, v4_server, (uint16_t)(3000 + i), 80);
		assert_int_equal(conv_state(&c), DSE_CT_S_ESTABLISHED);
	}
	dse_ct_free(ct);

	ct = ct_new(16, NULL);
	for (uint16_t i = 0; i < 16; i++) {
		conv_init_addrs(&c, ct, v4_client, v4_server, (uint16_t)(3000 + i), 80);
		handshake(&c);
	}
	tcp_hdr(&g, 9, 80, F_SYN, 1, 0, 1000, 0, -1);
	tuple_v4(&t, 1, IPPROTO_TCP, v4_client, v4_server, 9, 80);
	assert_int_equal(dse_ct_create_conn(ct, &t, &g.s, T0, 0), -ENOSPC);
	assert_int_equal(ct->stats.full, 1);
	assert_int_equal(ct->stats.evicted, 0);
	dse_ct_free(ct);
}

/*
 * Steps: with the default timeouts, a SYN nobody answers; time goes by 4 s,
 * then 6 s.
 * Verify: the half-open connection is there at 4 s and gone at 6 s (its
 * lifetime is seconds, not minutes).
 */
static void test_ct_half_open_timeout_is_seconds(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv c;

	(void)state;
	conv_init(&c, ct);
	assert_int_equal(client(&c, F_SYN, 0), DSE_CT_NEW);
	assert_int_equal(ct->timeouts.tcp_syn_sent, 5);
	assert_int_equal(dse_ct_expire(ct, T0 + 4 * SEC, UINT32_MAX), 0);
	assert_int_equal(ct->n_entries, 1);
	assert_int_equal(dse_ct_expire(ct, T0 + 6 * SEC, UINT32_MAX), 1);
	assert_int_equal(ct->n_entries, 0);
	dse_ct_free(ct);
}

/*
 * Steps: send data before the SYN+ACK, a SYN+ACK that acks the wrong
 * sequence, a SYN+ACK from the opener, then after the handshake a SYN+ACK
 * carrying new sequence numbers (SYNs on the open connection: see below).
 * Verify: each is INVALID with its reason and the state does not move; a
 * retransmitted SYN before the answer and a retransmitted SYN+ACK are valid.
 */
static void test_ct_tcp_syn_in_the_wrong_state_and_bad_synack_are_invalid(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv c;

	(void)state;
	conv_init(&c, ct);
	assert_int_equal(client(&c, F_SYN, 0), DSE_CT_NEW);
	assert_int_equal(send_raw(&c, true, F_SYN, c.cseq - 1, 0, 65535, 0, -1), DSE_CT_VALID);
	assert_int_equal(client(&c, F_ACK, 10), DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_UNEXPECTED);
	assert_int_equal(server(&c, F_ACK, 0), DSE_CT_INVALID);
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, c.sseq, c.cseq + 1, 65535, 0, -1),
			 DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_SYNACK_ACK);
	assert_int_equal(send_raw(&c, true, F_SYN | F_ACK, c.cseq, c.sseq, 65535, 0, -1),
			 DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_SYN_STATE);
	assert_int_equal(conv_state(&c), DSE_CT_S_SYN_SENT);

	assert_int_equal(server(&c, F_SYN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, c.sseq - 1, c.cseq, 65535, 0, -1),
			 DSE_CT_VALID);
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_ESTABLISHED);

	/* A SYN+ACK that answers no SYN seen on the open connection. */
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, 999, c.cseq, 65535, 0, -1),
			 DSE_CT_INVALID);
	assert_int_equal(ct->stats.invalid_reason[DSE_CT_INV_SYN_STATE], 2);
	assert_int_equal(conv_state(&c), DSE_CT_S_ESTABLISHED);
	dse_ct_free(ct);
}

/*
 * Steps: both sides send SYN (simultaneous open), then SYN+ACKs and an ACK.
 * Verify: the crossing SYN moves SYN_SENT to SYN_RECV and the connection
 * reaches ESTABLISHED.
 */
static void test_ct_tcp_simultaneous_open_reaches_established(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv c;

	(void)state;
	conv_init(&c, ct);
	assert_int_equal(client(&c, F_SYN, 0), DSE_CT_NEW);
	assert_int_equal(server(&c, F_SYN, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_SYN_RECV);
	assert_int_equal(send_raw(&c, true, F_SYN | F_ACK, c.cseq - 1, c.sseq, 65535, 0, -1),
			 DSE_CT_VALID);
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, c.sseq - 1, c.cseq, 65535, 0, -1),
			 DSE_CT_VALID);
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_ESTABLISHED);
	dse_ct_free(ct);
}

/*
 * Steps: close a connection to TIME_WAIT, then the client sends a new SYN on
 * the same ports; a second connection is reset, and the server then opens
 * one on the same tuple in the other direction.
 * Verify: the SYN is NEW, the old entry is replaced (reopened counted), the
 * new connection has a new id; the reverse opener becomes ORIG.
 */
static void test_ct_tcp_syn_reopens_a_closed_connection(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv c;
	uint32_t old_id;
	int32_t old_idx;

	(void)state;
	conv_init(&c, ct);
	handshake(&c);
	old_idx = c.idx;
	old_id = ct->entries[c.idx].id;
	assert_int_equal(client(&c, F_FIN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(server(&c, F_FIN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_TIME_WAIT);

	c.cseq += 100000;
	assert_int_equal(client(&c, F_SYN, 0), DSE_CT_NEW);
	assert_int_equal(ct->stats.reopened, 1);
	assert_int_equal(ct->n_entries, 1);
	assert_int_equal(conv_state(&c), DSE_CT_S_SYN_SENT);
	assert_false(dse_ct_ref_ok(ct, (uint32_t)old_idx, old_id));
	assert_true(dse_ct_ref_ok(ct, (uint32_t)c.idx, ct->entries[c.idx].id));

	/* Reset, then the server opens on the same tuple. */
	assert_int_equal(server(&c, F_SYN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(client(&c, F_RST, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_CLOSE);
	assert_int_equal(server(&c, F_SYN, 0), DSE_CT_NEW);
	assert_int_equal(ct->stats.reopened, 2);
	assert_int_equal(client(&c, F_SYN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(c.dir, DSE_CT_DIR_REPLY);
	dse_ct_free(ct);
}

/*
 * Steps: handshake with window scale 7 on both SYNs, send data far into the
 * scaled window; then a handshake where only the client asks for scaling.
 * Verify: with both, data 1 MB ahead is valid (a window of 65535 << 7);
 * with one, scaling is off and the same data is INVALID.
 */
static void test_ct_tcp_window_scaling_counts_only_when_both_syns_ask(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv c;

	(void)state;
	conv_init(&c, ct);
	assert_int_equal(send_raw(&c, true, F_SYN, c.cseq, 0, 65535, 0, 7), DSE_CT_NEW);
	c.cseq++;
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, c.sseq, c.cseq, 65535, 0, 7),
			 DSE_CT_VALID_STATE_CHANGED);
	c.sseq++;
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(server(&c, F_ACK, 0), DSE_CT_VALID); /* the server's scaled window */
	assert_int_equal(ct->entries[c.idx].tcp[DSE_CT_DIR_REPLY].wscale, 7);
	assert_int_equal(send_raw(&c, true, F_ACK, c.cseq + 1000000, c.sseq, 65535, 1000, -1),
			 DSE_CT_VALID);

	conv_init_addrs(&c, ct, v4_client, v4_server, 40001, 80);
	assert_int_equal(send_raw(&c, true, F_SYN, c.cseq, 0, 65535, 0, 7), DSE_CT_NEW);
	c.cseq++;
	assert_int_equal(send_raw(&c, false, F_SYN | F_ACK, c.sseq, c.cseq, 65535, 0, -1),
			 DSE_CT_VALID_STATE_CHANGED);
	c.sseq++;
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(server(&c, F_ACK, 0), DSE_CT_VALID);
	assert_int_equal(ct->entries[c.idx].tcp[DSE_CT_DIR_ORIG].wscale, 0);
	assert_int_equal(send_raw(&c, true, F_ACK, c.cseq + 1000000, c.sseq, 65535, 1000, -1),
			 DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_SEQ_WINDOW);
	dse_ct_free(ct);
}

/*
 * Steps: a connection whose sequence numbers wrap past 2^32 during the
 * transfer.
 * Verify: every segment across the wrap is valid and the close completes.
 */
static void test_ct_tcp_sequence_numbers_wrap(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv c;

	(void)state;
	conv_init(&c, ct);
	c.cseq = 0xffffff00u;
	c.sseq = 0xfffffff0u;
	handshake(&c);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(client(&c, F_ACK | F_PSH, 100), DSE_CT_VALID);
		assert_int_equal(server(&c, F_ACK | F_PSH, 10), DSE_CT_VALID);
	}
	assert_true(c.cseq < 0x1000);
	assert_int_equal(client(&c, F_FIN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(server(&c, F_FIN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(client(&c, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_TIME_WAIT);
	assert_int_equal(ct->stats.invalid, 0);
	dse_ct_free(ct);
}

/*
 * Steps: a UDP datagram, the reply, more traffic; a second flow never
 * answered; run the clock.
 * Verify: NEW, UNREPLIED; the reply is REPLY and changes the state to
 * REPLIED; the unanswered flow expires after 30 s, the answered one lives
 * until 180 s after its last packet.
 */
static void test_ct_udp_pseudo_connection_unreplied_then_replied(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct dse_ct_tuple out, back, lone;
	struct seg g;
	int32_t idx, idx2;
	uint8_t dir;

	(void)state;
	udp_hdr(&g, 50);
	tuple_v4(&out, 3, IPPROTO_UDP, v4_client, v4_server, 5353, 53);
	tuple_v4(&back, 3, IPPROTO_UDP, v4_server, v4_client, 53, 5353);
	tuple_v4(&lone, 3, IPPROTO_UDP, v4_client, v4_server, 5354, 53);
	assert_int_equal(dse_ct_process(ct, &out, &g.s, T0, &idx, &dir), DSE_CT_NEW);
	idx = dse_ct_create_conn(ct, &out, &g.s, T0, 0);
	assert_true(idx >= 0);
	assert_int_equal(ct->entries[idx].state, DSE_CT_S_UNREPLIED);
	assert_int_equal(dse_ct_create_conn(ct, &out, &g.s, T0, 0), -EEXIST);
	assert_true(dse_ct_create_conn(ct, &lone, &g.s, T0, 0) >= 0);

	assert_int_equal(dse_ct_process(ct, &out, &g.s, T0 + SEC, &idx2, &dir), DSE_CT_VALID);
	assert_int_equal(dse_ct_process(ct, &back, &g.s, T0 + 2 * SEC, &idx2, &dir),
			 DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(idx2, idx);
	assert_int_equal(dir, DSE_CT_DIR_REPLY);
	assert_int_equal(ct->entries[idx].state, DSE_CT_S_REPLIED);
	assert_int_equal(dse_ct_process(ct, &back, &g.s, T0 + 3 * SEC, &idx2, &dir), DSE_CT_VALID);

	assert_int_equal(dse_ct_expire(ct, T0 + 29 * SEC, UINT32_MAX), 0);
	assert_int_equal(dse_ct_expire(ct, T0 + 31 * SEC, UINT32_MAX), 1);
	assert_int_equal(dse_ct_lookup(ct, &lone, &dir), -ENOENT);
	assert_int_equal(dse_ct_expire(ct, T0 + 182 * SEC, UINT32_MAX), 0);
	assert_int_equal(dse_ct_lookup(ct, &out, &dir), idx);
	assert_int_equal(dse_ct_expire(ct, T0 + 184 * SEC, UINT32_MAX), 1);
	assert_int_equal(ct->n_entries, 0);
	dse_ct_free(ct);
}

/*
 * Steps: an ICMP echo request (id 0x1234), its reply, a reply with another
 * id, a request from the other host with the same id, and an ICMPv6
 * echo; then a reply without request as the first packet.
 * Verify: the reply matches the request by id (REPLY, state REPLIED); the
 * other id is INVALID (echo_reply); the opposite request is a connection of
 * its own; ICMPv6 works alike; other ICMP types are not tracked.
 */
static void test_ct_icmp_echo_reply_matches_the_request_by_id(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct dse_ct_tuple req, rep, rep_other, req_back, t;
	uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1},
		b6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
	struct dse_ct_seg s = {.l4 = (const uint8_t *)"\x08\x00\x00\x00\x12\x34\x00\x01",
			       .l4_len = 4,
			       .ip_len = 84,
			       .payload_len = 60};
	int32_t idx, idx2;
	uint8_t dir;

	(void)state;
	tuple_v4(&req, 1, IPPROTO_ICMP, v4_client, v4_server, 0x1234, 8);
	tuple_v4(&rep, 1, IPPROTO_ICMP, v4_server, v4_client, 0x1234, 0);
	tuple_v4(&rep_other, 1, IPPROTO_ICMP, v4_server, v4_client, 0x1235, 0);
	tuple_v4(&req_back, 1, IPPROTO_ICMP, v4_server, v4_client, 0x1234, 8);
	assert_int_equal(memcmp(&req.key, &rep.key, sizeof(req.key)), 0);
	assert_int_not_equal(memcmp(&req.key, &req_back.key, sizeof(req.key)), 0);

	assert_int_equal(dse_ct_process(ct, &rep, &s, T0, &idx, &dir), DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_ECHO_REPLY);
	assert_int_equal(dse_ct_create_conn(ct, &rep, &s, T0, 0), -EINVAL);
	assert_int_equal(dse_ct_process(ct, &req, &s, T0, &idx, &dir), DSE_CT_NEW);
	idx = dse_ct_create_conn(ct, &req, &s, T0, 0);
	assert_true(idx >= 0);
	assert_int_equal(dse_ct_process(ct, &rep, &s, T0 + 1000, &idx2, &dir),
			 DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(idx2, idx);
	assert_int_equal(dir, DSE_CT_DIR_REPLY);
	assert_int_equal(ct->entries[idx].state, DSE_CT_S_REPLIED);
	assert_int_equal(dse_ct_process(ct, &req, &s, T0 + SEC, &idx2, &dir), DSE_CT_VALID);
	assert_int_equal(dse_ct_process(ct, &rep_other, &s, T0 + SEC, &idx2, &dir), DSE_CT_INVALID);
	assert_int_equal(dse_ct_process(ct, &req_back, &s, T0 + SEC, &idx2, &dir), DSE_CT_NEW);
	assert_true(dse_ct_create_conn(ct, &req_back, &s, T0 + SEC, 0) >= 0);
	assert_int_equal(ct->n_entries, 2);

	/* ICMPv6 echo, and types that are not tracked. */
	assert_int_equal(dse_ct_tuple_set(&t, 1, 6, IPPROTO_ICMPV6, a6, b6, 7, 128), 0);
	assert_int_equal(dse_ct_create_conn(ct, &t, &s, T0, 0) >= 0, 1);
	assert_int_equal(dse_ct_tuple_set(&t, 1, 6, IPPROTO_ICMPV6, b6, a6, 7, 129), 0);
	assert_int_equal(dse_ct_lookup(ct, &t, &dir) >= 0, 1);
	assert_int_equal(dir, DSE_CT_DIR_REPLY);
	assert_int_equal(dse_ct_tuple_set(&t, 1, 6, IPPROTO_ICMPV6, b6, a6, 7, 1), -ENOTSUP);
	assert_int_equal(dse_ct_tuple_set(&t, 1, 4, IPPROTO_ICMP, a6, b6, 7, 3), -ENOTSUP);
	assert_int_equal(dse_ct_tuple_set(&t, 1, 4, IPPROTO_ICMPV6, a6, b6, 7, 128), -EINVAL);

	/* Echo pseudo-connections last 30 s. */
	assert_int_equal(dse_ct_expire(ct, T0 + 30 * SEC + SEC / 2, UINT32_MAX), 1);
	assert_int_equal(dse_ct_expire(ct, T0 + 32 * SEC, UINT32_MAX), 2);
	dse_ct_free(ct);
}

/*
 * Steps: a TCP handshake and close between two IPv6 hosts, and a UDP flow
 * between the same hosts in another zone.
 * Verify: the IPv6 tuples normalise like IPv4 (one entry, REPLY found), the
 * zone separates otherwise identical tuples.
 */
static void test_ct_ipv6_tuples_and_zones(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 9},
		b6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
	struct conv c;
	struct dse_ct_tuple u1, u2;
	struct seg g;
	uint8_t dir;

	(void)state;
	conv_init(&c, ct);
	assert_int_equal(dse_ct_tuple_set(&c.c2s, 1, 6, IPPROTO_TCP, a6, b6, 40000, 443), 0);
	assert_int_equal(dse_ct_tuple_set(&c.s2c, 1, 6, IPPROTO_TCP, b6, a6, 443, 40000), 0);
	c.sport = 443;
	assert_true(c.c2s.swapped); /* a6 > b6 */
	handshake(&c);
	assert_int_equal(client(&c, F_ACK, 1000), DSE_CT_VALID);
	assert_int_equal(ct->n_entries, 1);

	udp_hdr(&g, 10);
	assert_int_equal(dse_ct_tuple_set(&u1, 1, 6, IPPROTO_UDP, a6, b6, 1000, 2000), 0);
	assert_int_equal(dse_ct_tuple_set(&u2, 2, 6, IPPROTO_UDP, a6, b6, 1000, 2000), 0);
	assert_true(dse_ct_create_conn(ct, &u1, &g.s, T0, 0) >= 0);
	assert_int_equal(dse_ct_lookup(ct, &u2, &dir), -ENOENT);
	assert_true(dse_ct_create_conn(ct, &u2, &g.s, T0, 0) >= 0);
	assert_int_equal(ct->n_entries, 3);
	assert_int_equal(dse_ct_tuple_set(&u1, 1, 5, IPPROTO_UDP, a6, b6, 1, 2), -EINVAL);
	dse_ct_free(ct);
}

/*
 * Steps: with short custom timeouts, leave connections in SYN_SENT,
 * ESTABLISHED and CLOSE; advance the clock past each timeout in turn.
 * Verify: each expires after its own state's timeout and not before; an
 * ESTABLISHED connection with the default timeout lives 24 h.
 */
static void test_ct_timeouts_follow_the_state_and_the_clock(void **state)
{
	struct dse_ct_timeouts t;
	struct dse_ct *ct, *ct2;
	struct conv syn, est, cl, day;

	(void)state;
	dse_ct_timeouts_default(&t);
	t.tcp_syn_sent = 5;
	t.tcp_established = 300;
	t.tcp_close = 2;
	ct = ct_new(64, &t);
	conv_init_addrs(&syn, ct, v4_client, v4_server, 1, 80);
	conv_init_addrs(&est, ct, v4_client, v4_server, 2, 80);
	conv_init_addrs(&cl, ct, v4_client, v4_server, 3, 80);
	assert_int_equal(client(&syn, F_SYN, 0), DSE_CT_NEW);
	handshake(&est);
	handshake(&cl);
	assert_int_equal(client(&cl, F_RST, 0), DSE_CT_VALID_STATE_CHANGED);

	assert_int_equal(dse_ct_expire(ct, T0 + SEC, UINT32_MAX), 0);
	assert_int_equal(dse_ct_expire(ct, T0 + 2 * SEC + SEC / 4, UINT32_MAX), 1); /* CLOSE */
	assert_int_equal(conv_state(&cl), DSE_CT_S_NONE);
	assert_int_equal(dse_ct_expire(ct, T0 + 4 * SEC, UINT32_MAX), 0);
	assert_int_equal(dse_ct_expire(ct, T0 + 5 * SEC + SEC / 4, UINT32_MAX), 1); /* SYN_SENT */
	assert_int_equal(conv_state(&syn), DSE_CT_S_NONE);
	assert_int_equal(dse_ct_expire(ct, T0 + 299 * SEC, UINT32_MAX), 0);
	assert_int_equal(conv_state(&est), DSE_CT_S_ESTABLISHED);
	assert_int_equal(dse_ct_expire(ct, T0 + 301 * SEC, UINT32_MAX), 1);
	assert_int_equal(ct->n_entries, 0);
	assert_int_equal(ct->stats.expired, 3);

	ct2 = ct_new(64, NULL);
	conv_init(&day, ct2);
	handshake(&day);
	assert_int_equal(dse_ct_expire(ct2, T0 + 3600 * SEC, UINT32_MAX), 0);
	assert_int_equal(dse_ct_expire(ct2, T0 + 86399 * SEC, UINT32_MAX), 0);
	assert_int_equal(conv_state(&day), DSE_CT_S_ESTABLISHED);
	assert_int_equal(dse_ct_expire(ct2, T0 + 86401 * SEC, UINT32_MAX), 1);
	dse_ct_free(ct);
	dse_ct_free(ct2);
}

/*
 * Steps: a UDP flow with a packet every 20 s for 10 minutes (its timeout is
 * 30 s), the wheel run every second; then silence.
 * Verify: it is never expired while traffic flows (the wheel re-files the
 * refreshed entry instead of expiring it) and expires 30 s after the last
 * packet.
 */
static void test_ct_refreshed_connection_outlives_its_first_timeout(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct dse_ct_tuple t;
	struct seg g;
	uint64_t now = T0, last = T0;
	int32_t idx;
	uint8_t dir;

	(void)state;
	udp_hdr(&g, 10);
	tuple_v4(&t, 1, IPPROTO_UDP, v4_client, v4_server, 1, 2);
	assert_true(dse_ct_create_conn(ct, &t, &g.s, now, 0) >= 0);
	for (int s = 1; s <= 600; s++) {
		now = T0 + (uint64_t)s * SEC;
		if (s % 20 == 0) {
			assert_int_equal(dse_ct_process(ct, &t, &g.s, now, &idx, &dir),
					 DSE_CT_VALID);
			last = now;
		}
		assert_int_equal(dse_ct_expire(ct, now, UINT32_MAX), 0);
	}
	assert_int_equal(dse_ct_expire(ct, last + 29 * SEC, UINT32_MAX), 0);
	assert_int_equal(dse_ct_expire(ct, last + 31 * SEC, UINT32_MAX), 1);
	dse_ct_free(ct);
}

/*
 * Steps: let a UDP flow pass its timeout without running the wheel, then
 * send a packet; do the same for an ESTABLISHED TCP connection with an ACK.
 * Verify: the UDP packet is NEW (the stale entry is removed and counted as
 * expired), the TCP ACK is INVALID (not a SYN): expiry is exact even before
 * the wheel reaps.
 */
static void test_ct_connection_past_its_timeout_is_gone_before_the_wheel_runs(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct dse_ct_tuple t;
	struct conv c;
	struct seg g;
	int32_t idx;
	uint8_t dir;

	(void)state;
	udp_hdr(&g, 10);
	tuple_v4(&t, 1, IPPROTO_UDP, v4_client, v4_server, 1, 2);
	assert_true(dse_ct_create_conn(ct, &t, &g.s, T0, 0) >= 0);
	assert_int_equal(dse_ct_process(ct, &t, &g.s, T0 + 30 * SEC, &idx, &dir), DSE_CT_NEW);
	assert_int_equal(idx, -1);
	assert_int_equal(ct->n_entries, 0);
	assert_int_equal(ct->stats.expired, 1);

	conv_init(&c, ct);
	handshake(&c);
	c.now += 86400 * SEC;
	assert_int_equal(client(&c, F_ACK, 10), DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_NOT_SYN);
	assert_int_equal(ct->n_entries, 0);
	assert_int_equal(ct->stats.expired, 2);
	/* Nothing left for the wheel. */
	assert_int_equal(dse_ct_expire(ct, c.now + 86400 * SEC, UINT32_MAX), 0);
	dse_ct_free(ct);
}

/*
 * Steps: 1000 UDP flows created at once; run the wheel after their timeout
 * with a budget of 300, four times.
 * Verify: 300, 300, 300, 100 expire: the budget bounds each call and the
 * next call goes on where the last stopped.
 */
static void test_ct_expire_budget_bounds_the_work_and_resumes(void **state)
{
	struct dse_ct *ct = ct_new(2000, NULL);
	struct dse_ct_tuple t;
	struct seg g;
	uint64_t now = T0 + 60 * SEC;

	(void)state;
	dse_ct_set_embryonic_limits(ct, 1000, 1000);
	udp_hdr(&g, 10);
	for (uint16_t i = 0; i < 1000; i++) {
		tuple_v4(&t, 1, IPPROTO_UDP, v4_client, v4_server, (uint16_t)(1000 + i), 53);
		assert_true(dse_ct_create_conn(ct, &t, &g.s, T0, 0) >= 0);
	}
	assert_int_equal(dse_ct_expire(ct, now, 300), 300);
	assert_int_equal(dse_ct_expire(ct, now, 300), 300);
	assert_int_equal(dse_ct_expire(ct, now, 300), 300);
	assert_int_equal(dse_ct_expire(ct, now, 300), 100);
	assert_int_equal(dse_ct_expire(ct, now, 300), 0);
	assert_int_equal(ct->n_entries, 0);
	assert_int_equal(ct->stats.expired, 1000);
	dse_ct_free(ct);
}

/* Creates the UDP flow client:'sport' -> server:53 and answers it (so it is not half-open). */
static int32_t udp_answered(struct dse_ct *ct, uint16_t sport)
{
	struct dse_ct_tuple t, r;
	struct seg g;
	int32_t idx, ridx;
	uint8_t dir;

	udp_hdr(&g, 10);
	tuple_v4(&t, 1, IPPROTO_UDP, v4_client, v4_server, sport, 53);
	tuple_v4(&r, 1, IPPROTO_UDP, v4_server, v4_client, 53, sport);
	idx = dse_ct_create_conn(ct, &t, &g.s, T0, 0);
	if (idx < 0)
		return idx;
	assert_int_equal(dse_ct_process(ct, &r, &g.s, T0, &ridx, &dir), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(ridx, idx);
	return idx;
}

/*
 * Steps: fill a table of 100 entries with answered flows, create one more,
 * delete one, create again.
 * Verify: the 101st is refused with -ENOSPC and counted in stats.full
 * (nothing half-open to evict); after the delete there is room for exactly
 * one.
 */
static void test_ct_full_table_refuses_new_connections_and_counts_them(void **state)
{
	struct dse_ct *ct = ct_new(100, NULL);
	struct dse_ct_tuple t;
	struct seg g;
	int32_t idx;
	uint8_t dir;
	int first = -1;

	(void)state;
	udp_hdr(&g, 10);
	for (uint16_t i = 0; i < 100; i++) {
		idx = udp_answered(ct, (uint16_t)(1000 + i));
		assert_true(idx >= 0);
		if (first < 0)
			first = idx;
	}
	tuple_v4(&t, 1, IPPROTO_UDP, v4_client, v4_server, 9999, 53);
	assert_int_equal(dse_ct_process(ct, &t, &g.s, T0, &idx, &dir), DSE_CT_NEW);
	assert_int_equal(dse_ct_create_conn(ct, &t, &g.s, T0, 0), -ENOSPC);
	assert_int_equal(dse_ct_create_conn(ct, &t, &g.s, T0, 0), -ENOSPC);
	assert_int_equal(ct->stats.full, 2);
	assert_int_equal(ct->n_entries, 100);
	assert_int_equal(dse_ct_delete(ct, (uint32_t)first), 0);
	assert_int_equal(dse_ct_delete(ct, (uint32_t)first), -ENOENT);
	assert_true(udp_answered(ct, 9999) >= 0);
	tuple_v4(&t, 1, IPPROTO_UDP, v4_client, v4_server, 9998, 53);
	assert_int_equal(dse_ct_create_conn(ct, &t, &g.s, T0, 0), -ENOSPC);
	assert_int_equal(ct->stats.removed, 1);
	dse_ct_free(ct);
}

/* Fills 'ct' with UDP flows: 4 in zone 1 (10.0.0.1 -> 10.0.1.x:53), 3 in zone 2, 2 TCP SYNs. */
static void fill_mixed(struct dse_ct *ct)
{
	struct dse_ct_tuple t;
	struct seg g;
	uint8_t dst[4] = {10, 0, 1, 0};

	udp_hdr(&g, 10);
	for (uint8_t i = 0; i < 4; i++) {
		dst[3] = i;
		tuple_v4(&t, 1, IPPROTO_UDP, v4_client, dst, 1000, 53);
		assert_true(dse_ct_create_conn(ct, &t, &g.s, T0, 100 + i) >= 0);
	}
	for (uint8_t i = 0; i < 3; i++) {
		dst[3] = i;
		tuple_v4(&t, 2, IPPROTO_UDP, v4_server, dst, 1000, 5353);
		assert_true(dse_ct_create_conn(ct, &t, &g.s, T0, 200) >= 0);
	}
	for (uint16_t i = 0; i < 2; i++) {
		tcp_hdr(&g, (uint16_t)(3000 + i), 443, F_SYN, 1, 0, 1000, 0, -1);
		tuple_v4(&t, 1, IPPROTO_TCP, v4_client, v4_server, (uint16_t)(3000 + i), 443);
		assert_true(dse_ct_create_conn(ct, &t, &g.s, T0, 300) >= 0);
	}
	assert_int_equal(ct->n_entries, 9);
}

/*
 * Steps: fill with flows of two zones, protocols, addresses, ports and
 * marks; flush by each filter in turn, refilling in between.
 * Verify: each flush removes exactly the matching connections.
 */
static void test_ct_flush_removes_only_what_the_filter_matches(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct dse_ct_filter f;
	uint8_t net[4] = {10, 0, 1, 0};

	(void)state;
	fill_mixed(ct);
	f = (struct dse_ct_filter){.match = DSE_CT_MATCH_ZONE, .zone = 2};
	assert_int_equal(dse_ct_flush(ct, &f), 3);
	assert_int_equal(dse_ct_flush(ct, &f), 0);
	f = (struct dse_ct_filter){.match = DSE_CT_MATCH_PROTO, .proto = IPPROTO_TCP};
	assert_int_equal(dse_ct_flush(ct, &f), 2);
	assert_int_equal(dse_ct_flush(ct, NULL), 4);
	assert_int_equal(ct->n_entries, 0);

	fill_mixed(ct);
	/* 10.0.1.0/31: the flows to .0 and .1 in both zones. */
	f = (struct dse_ct_filter){.match = DSE_CT_MATCH_ADDR, .plen = 96 + 31};
	dse_ct_addr_from_ipv4(f.addr, net);
	assert_int_equal(dse_ct_flush(ct, &f), 4);
	f = (struct dse_ct_filter){
	    .match = DSE_CT_MATCH_PORT | DSE_CT_MATCH_ZONE, .port = 53, .zone = 1};
	assert_int_equal(dse_ct_flush(ct, &f), 2);
	f = (struct dse_ct_filter){.match = DSE_CT_MATCH_MARK, .mark = 300};
	assert_int_equal(dse_ct_flush(ct, &f), 2);
	f = (struct dse_ct_filter){.match = DSE_CT_MATCH_STATE | DSE_CT_MATCH_FAMILY,
				   .state = DSE_CT_S_UNREPLIED,
				   .family = 4};
	assert_int_equal(dse_ct_flush(ct, &f), 1);
	assert_int_equal(ct->n_entries, 0);
	assert_int_equal(ct->stats.removed, 18);
	/* The wheel lost every flushed entry: nothing left to expire. */
	assert_int_equal(dse_ct_expire(ct, T0 + 1000 * SEC, UINT32_MAX), 0);
	fill_mixed(ct);
	dse_ct_free(ct);
}

/*
 * Steps: open a TCP connection from the higher address, send data; list
 * with dse_ct_next() and a filter, read it with dse_ct_get().
 * Verify: the listing shows the opener as the source (not the key order),
 * the state, counters, mark, and times; the filter skips the others; the
 * iteration ends with -ENOENT.
 */
static void test_ct_listing_shows_the_original_direction_and_counters(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct dse_ct_filter f = {.match = DSE_CT_MATCH_PROTO, .proto = IPPROTO_TCP};
	struct dse_ct_conn info;
	uint8_t srv[16], cli[16];
	struct conv c;
	uint32_t pos = 0;
	int idx, n = 0;

	(void)state;
	fill_mixed(ct);
	conv_init_addrs(&c, ct, v4_server, v4_client, 40000, 22); /* opener 10.0.0.2 */
	handshake(&c);
	c.now += 5 * SEC;
	assert_int_equal(client(&c, F_ACK, 100), DSE_CT_VALID);
	dse_ct_addr_from_ipv4(srv, v4_server);
	dse_ct_addr_from_ipv4(cli, v4_client);

	while ((idx = dse_ct_next(ct, &pos, &f)) >= 0) {
		n++;
		assert_int_equal(dse_ct_get(ct, (uint32_t)idx, c.now + SEC, &info), 0);
		if (idx != c.idx)
			continue;
		assert_memory_equal(info.src, srv, 16);
		assert_memory_equal(info.dst, cli, 16);
		assert_int_equal(info.sport, 40000);
		assert_int_equal(info.dport, 22);
		assert_int_equal(info.proto, IPPROTO_TCP);
		assert_int_equal(info.family, 4);
		assert_int_equal(info.zone, 1);
		assert_int_equal(info.state, DSE_CT_S_ESTABLISHED);
		assert_string_equal(dse_ct_state_name(info.state), "ESTABLISHED");
		assert_int_equal(info.mark, 7);
		assert_int_equal(info.packets[0], 3);
		assert_int_equal(info.packets[1], 1);
		assert_int_equal(info.age_ns, 6 * SEC);
		assert_int_equal(info.idle_ns, SEC);
		assert_int_equal(info.expires_ns, 86400 * SEC - SEC);
	}
	assert_int_equal(n, 3);
	assert_int_equal(dse_ct_next(ct, &pos, &f), -ENOENT);
	assert_int_equal(dse_ct_get(ct, ct->capacity, T0, &info), -ENOENT);
	dse_ct_free(ct);
}

/* Builds Ethernet + IPv4 + an L4 header of 'l4len' bytes and 'pay' bytes; returns the length. */
static uint32_t frame_v4(uint8_t *f, uint8_t proto, const uint8_t *l4, uint16_t l4len, uint16_t pay,
			 uint16_t frag)
{
	uint16_t tot = (uint16_t)(20 + l4len + pay);

	memset(f, 0, 14 + tot);
	f[12] = 0x08;
	f[14] = 0x45;
	wr16(f + 16, tot);
	wr16(f + 20, frag);
	f[22] = 64;
	f[23] = proto;
	memcpy(f + 26, v4_client, 4);
	memcpy(f + 30, v4_server, 4);
	memcpy(f + 34, l4, l4len);
	return 14u + tot;
}

/*
 * Steps: parse real frames (IPv4 TCP with data, IPv4 ICMP echo and
 * unreachable, an IPv4 non-first fragment, IPv6 UDP, ARP) and build tuples
 * and segments from them.
 * Verify: the tuples equal those built by hand; the segment lengths are
 * the packet's; untracked packets give -ENOTSUP.
 */
static void test_ct_tuple_and_segment_from_parsed_frames(void **state)
{
	uint8_t f[256], l4[20];
	struct dse_pkt_info info;
	struct dse_ct_tuple t, want;
	struct dse_ct_seg s;
	struct seg g;
	uint32_t len;

	(void)state;
	tcp_hdr(&g, 40000, 80, F_ACK, 1, 2, 1000, 0, -1);
	len = frame_v4(f, IPPROTO_TCP, g.hdr, 20, 30, 0);
	assert_int_equal(dse_parse_frame(f, len, &info), DSE_PARSE_OK);
	assert_int_equal(dse_ct_tuple_from_pkt(&t, f, &info, 5), 0);
	tuple_v4(&want, 5, IPPROTO_TCP, v4_client, v4_server, 40000, 80);
	assert_memory_equal(&t.key, &want.key, sizeof(t.key));
	assert_int_equal(t.hash, want.hash);
	assert_int_equal(t.swapped, want.swapped);
	dse_ct_seg_from_pkt(&s, f, &info);
	assert_ptr_equal(s.l4, f + 34);
	assert_int_equal(s.l4_len, 20);
	assert_int_equal(s.payload_len, 30);
	assert_int_equal(s.ip_len, 70);

	memcpy(l4, "\x00\x00\x00\x00\xbe\xef\x00\x01", 8); /* echo reply, id 0xbeef */
	len = frame_v4(f, IPPROTO_ICMP, l4, 8, 56, 0);
	assert_int_equal(dse_parse_frame(f, len, &info), DSE_PARSE_OK);
	assert_int_equal(dse_ct_tuple_from_pkt(&t, f, &info, 5), 0);
	tuple_v4(&want, 5, IPPROTO_ICMP, v4_client, v4_server, 0xbeef, 0);
	assert_memory_equal(&t.key, &want.key, sizeof(t.key));
	assert_true(t.swapped);

	l4[0] = 3; /* destination unreachable */
	len = frame_v4(f, IPPROTO_ICMP, l4, 8, 28, 0);
	assert_int_equal(dse_parse_frame(f, len, &info), DSE_PARSE_OK);
	assert_int_equal(dse_ct_tuple_from_pkt(&t, f, &info, 5), -ENOTSUP);

	len = frame_v4(f, IPPROTO_UDP, g.hdr, 20, 8, 100); /* fragment offset 800 */
	assert_int_equal(dse_parse_frame(f, len, &info), DSE_PARSE_OK);
	assert_int_equal(dse_ct_tuple_from_pkt(&t, f, &info, 5), -ENOTSUP);

	/* IPv6 UDP. */
	memset(f, 0, sizeof(f));
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	wr16(f + 18, 8 + 12);
	f[20] = IPPROTO_UDP;
	f[21] = 64;
	f[22] = 0x20, f[23] = 0x01, f[37] = 1;
	f[38] = 0x20, f[39] = 0x01, f[53] = 2;
	wr16(f + 54, 5000);
	wr16(f + 56, 53);
	wr16(f + 58, 20);
	assert_int_equal(dse_parse_frame(f, 14 + 40 + 20, &info), DSE_PARSE_OK);
	assert_int_equal(dse_ct_tuple_from_pkt(&t, f, &info, 9), 0);
	assert_int_equal(t.key.family, 6);
	assert_int_equal(t.key.proto, IPPROTO_UDP);
	assert_memory_equal(t.key.addr[0], f + 22, 16);
	assert_int_equal(t.key.port[0], 5000);
	assert_int_equal(t.key.port[1], 53);
	dse_ct_seg_from_pkt(&s, f, &info);
	assert_int_equal(s.ip_len, 60);
	assert_int_equal(s.payload_len, 12);

	/* ARP is not IP. */
	memset(f, 0, 60);
	f[12] = 0x08;
	f[13] = 0x06;
	memcpy(f + 14, "\x00\x01\x08\x00\x06\x04\x00\x01", 8);
	assert_int_equal(dse_parse_frame(f, 60, &info), DSE_PARSE_OK);
	assert_int_equal(dse_ct_tuple_from_pkt(&t, f, &info, 9), -ENOTSUP);
}

/*
 * Steps: look up a burst of 40 tuples, half of them with connections, in
 * either direction.
 * Verify: the hits, indexes and directions equal those of single lookups.
 */
static void test_ct_bulk_lookup_agrees_with_single_lookups(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct dse_ct_tuple t[40];
	const struct dse_ct_tuple *tp[40];
	int32_t idx[40];
	uint8_t dir[40], d;
	struct seg g;

	(void)state;
	udp_hdr(&g, 10);
	for (uint16_t i = 0; i < 40; i++) {
		if (i % 2)
			tuple_v4(&t[i], 1, IPPROTO_UDP, v4_server, v4_client, 53,
				 (uint16_t)(100 + i));
		else
			tuple_v4(&t[i], 1, IPPROTO_UDP, v4_client, v4_server, (uint16_t)(100 + i),
				 53);
		if (i % 4 < 2)
			assert_true(dse_ct_create_conn(ct, &t[i], &g.s, T0, 0) >= 0);
		tp[i] = &t[i];
	}
	/* Look the first 20 up from the other side. */
	for (uint16_t i = 0; i < 20; i++) {
		if (i % 2)
			tuple_v4(&t[i], 1, IPPROTO_UDP, v4_client, v4_server, (uint16_t)(100 + i),
				 53);
		else
			tuple_v4(&t[i], 1, IPPROTO_UDP, v4_server, v4_client, 53,
				 (uint16_t)(100 + i));
	}
	assert_int_equal(dse_ct_lookup_bulk(ct, tp, 40, idx, dir), 20);
	for (unsigned i = 0; i < 40; i++) {
		int one = dse_ct_lookup(ct, &t[i], &d);

		assert_int_equal(idx[i], one);
		if (one >= 0) {
			assert_int_equal(dir[i], d);
			assert_int_equal(d, i < 20 ? DSE_CT_DIR_REPLY : DSE_CT_DIR_ORIG);
		}
	}
	dse_ct_free(ct);
}

/* Sends a segment of conversation 'c' by index, as a flow-cache hit does. */
static enum dse_ct_verdict track_by_index(struct conv *c, bool from_client, uint8_t flags,
					  uint32_t len)
{
	struct seg g;
	enum dse_ct_verdict v;

	if (from_client)
		tcp_hdr(&g, c->cport, c->sport, flags, c->cseq, c->sseq, 65535, len, -1);
	else
		tcp_hdr(&g, c->sport, c->cport, flags, c->sseq, c->cseq, 65535, len, -1);
	v = dse_ct_track(c->ct, (uint32_t)c->idx, from_client ? DSE_CT_DIR_ORIG : DSE_CT_DIR_REPLY,
			 &g.s, c->now);
	if (v != DSE_CT_INVALID) {
		if (from_client)
			c->cseq += len + !!(flags & F_FIN);
		else
			c->sseq += len + !!(flags & F_FIN);
	}
	return v;
}

/*
 * Steps: open a connection and move 1 MB each way with every segment
 * tracked by index (the flow-cache hit path), then close it.  On a second
 * connection move the same data without tracking it (only the timestamp
 * refreshed, as a fast path that skipped dse_ct_track() would), then send
 * the FIN.
 * Verify: tracked, the handshake's last ACK reaches ESTABLISHED and the FIN
 * is valid; untracked, the FIN lies beyond every window conntrack knows and
 * is INVALID: every packet of a connection must be tracked.
 */
static void test_ct_every_packet_must_be_tracked_to_keep_the_window(void **state)
{
	struct dse_ct *ct = ct_new(64, NULL);
	struct conv c;

	(void)state;
	conv_init(&c, ct);
	assert_int_equal(client(&c, F_SYN, 0), DSE_CT_NEW);
	assert_int_equal(server(&c, F_SYN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(track_by_index(&c, true, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_ESTABLISHED);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(track_by_index(&c, true, F_ACK, 1000), DSE_CT_VALID);
		assert_int_equal(track_by_index(&c, false, F_ACK, 1000), DSE_CT_VALID);
	}
	assert_int_equal(client(&c, F_FIN | F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(track_by_index(&c, false, F_ACK, 0), DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(conv_state(&c), DSE_CT_S_CLOSE_WAIT);

	conv_init_addrs(&c, ct, v4_client, v4_server, 40001, 80);
	handshake(&c);
	c.cseq += 1000000; /* a megabyte conntrack never saw */
	c.sseq += 1000000;
	ct->entries[c.idx].last_seen = c.now;
	assert_int_equal(client(&c, F_FIN | F_ACK, 0), DSE_CT_INVALID);
	assert_int_equal(ct->last_invalid, DSE_CT_INV_SEQ_WINDOW);

	/* A stale index (the connection is gone) sends the packet to the full pipeline. */
	assert_int_equal(dse_ct_delete(ct, (uint32_t)c.idx), 0);
	assert_int_equal(track_by_index(&c, true, F_ACK, 0), DSE_CT_NEW);
	assert_int_equal(ct->n_entries, 1);
	dse_ct_free(ct);
}

/* Prepares table state for the burst test: a TCP connection 40000 ESTABLISHED, a UDP flow. */
static void burst_prepare(struct dse_ct *ct, struct conv *c, struct dse_ct_tuple *udp)
{
	struct seg g;

	conv_init(c, ct);
	handshake(c);
	udp_hdr(&g, 10);
	tuple_v4(udp, 1, IPPROTO_UDP, v4_client, v4_server, 7, 7);
	assert_true(dse_ct_create_conn(ct, udp, &g.s, T0 - 40 * SEC, 0) >= 0);
}

/*
 * Steps: on two tables in the same state, send one burst of packets through
 * dse_ct_process_bulk() and the same packets one by one through
 * dse_ct_process(): data and a FIN of an open connection, a timed-out UDP
 * flow twice, two SYNs of one new connection, an ACK of nothing.  Then
 * create the new connections as a caller does.
 * Verify: verdicts, directions and hits agree packet by packet, including
 * the second packet of the expired flow (its entry removed by the first);
 * the second SYN's create returns -EEXIST and dse_ct_process() then tracks it.
 */
static void test_ct_bulk_process_agrees_with_packet_by_packet(void **state)
{
	struct dse_ct *a = ct_new(64, NULL), *b = ct_new(64, NULL);
	struct conv ca, cb;
	struct dse_ct_tuple udp, syn_t, ack_t;
	struct seg g[8];
	const struct dse_ct_tuple *tp[8];
	const struct dse_ct_seg *sp[8];
	uint8_t vb[8], db[8], da;
	int32_t ib[8], ia;
	unsigned n = 0, n_new;

	(void)state;
	burst_prepare(a, &ca, &udp);
	burst_prepare(b, &cb, &udp);
	tuple_v4(&syn_t, 1, IPPROTO_TCP, v4_client, v4_server, 41000, 80);
	tuple_v4(&ack_t, 1, IPPROTO_TCP, v4_client, v4_server, 42000, 80);

	tcp_hdr(&g[n], 40000, 80, F_ACK | F_PSH, ca.cseq, ca.sseq, 65535, 100, -1);
	tp[n++] = &ca.c2s;
	tcp_hdr(&g[n], 80, 40000, F_FIN | F_ACK, ca.sseq, ca.cseq + 100, 65535, 0, -1);
	tp[n++] = &ca.s2c;
	udp_hdr(&g[n], 10);
	tp[n++] = &udp;
	udp_hdr(&g[n], 10);
	tp[n++] = &udp;
	tcp_hdr(&g[n], 41000, 80, F_SYN, 77, 0, 65535, 0, -1);
	tp[n++] = &syn_t;
	tcp_hdr(&g[n], 41000, 80, F_SYN, 77, 0, 65535, 0, -1);
	tp[n++] = &syn_t;
	tcp_hdr(&g[n], 42000, 80, F_ACK, 1, 1, 65535, 0, -1);
	tp[n++] = &ack_t;
	for (unsigned i = 0; i < n; i++)
		sp[i] = &g[i].s;

	n_new = dse_ct_process_bulk(b, tp, sp, n, T0, vb, ib, db);
	assert_int_equal(n_new, 4);
	for (unsigned i = 0; i < n; i++) {
		enum dse_ct_verdict va = dse_ct_process(a, tp[i], sp[i], T0, &ia, &da);

		assert_int_equal(vb[i], va);
		assert_int_equal(ib[i] >= 0, ia >= 0);
		if (ia >= 0)
			assert_int_equal(db[i], da);
	}
	assert_int_equal(vb[0], DSE_CT_VALID);
	assert_int_equal(vb[1], DSE_CT_VALID_STATE_CHANGED);
	assert_int_equal(db[1], DSE_CT_DIR_REPLY);
	assert_int_equal(vb[2], DSE_CT_NEW); /* timed out: removed */
	assert_int_equal(vb[3], DSE_CT_NEW); /* its entry went with the packet before */
	assert_int_equal(vb[4], DSE_CT_NEW);
	assert_int_equal(vb[5], DSE_CT_NEW);
	assert_int_equal(vb[6], DSE_CT_INVALID);
	assert_int_equal(a->stats.expired, 1);
	assert_int_equal(b->stats.expired, 1);
	assert_int_equal(b->stats.invalid, a->stats.invalid);

	/* The caller creates in order; the second SYN finds the first's connection. */
	assert_true(dse_ct_create_conn(b, tp[4], sp[4], T0, 0) >= 0);
	assert_int_equal(dse_ct_create_conn(b, tp[5], sp[5], T0, 0), -EEXIST);
	assert_int_equal(dse_ct_process(b, tp[5], sp[5], T0, &ib[5], &db[5]), DSE_CT_VALID);
	assert_int_equal(b->entries[ib[5]].packets[DSE_CT_DIR_ORIG], 2);
	dse_ct_free(a);
	dse_ct_free(b);
}

/* Bytes allocated from every socket's DPDK heap. */
static size_t heap_allocated(void)
{
	struct rte_malloc_socket_stats st;
	size_t total = 0;

	for (unsigned i = 0; i < rte_socket_count(); i++)
		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0)
			total += st.heap_allocsz_bytes;
	return total;
}

/*
 * Steps: measure the DPDK heap, create a table of 100k connections and fill
 * it with TCP SYNs, measure again.
 * Verify: everything the table allocated (rte_hash buckets, extension
 * buckets, key store and free-slot ring; entries; wheel; the half-open
 * counters) divided by the connections is under 256 bytes.  (At 100k, the hash's buckets are
 * rounded up to 131072 entries; at 1M the share is smaller.)
 */
static void test_ct_memory_per_connection_is_under_256_bytes(void **state)
{
	const uint32_t n = 100000;
	struct dse_ct *ct;
	struct dse_ct_tuple t;
	struct seg g;
	uint8_t a[16] = {0}, b[16] = {0};
	size_t before, after;
	double per;

	(void)state;
	before = heap_allocated();
	ct = ct_new(n, NULL);
	dse_ct_set_embryonic_limits(ct, n, n);
	for (uint32_t i = 0; i < n; i++) {
		/* Each from a /64 of its own: a /64 is one source for the half-open limit. */
		a[5] = (uint8_t)(i >> 16), a[6] = (uint8_t)(i >> 8), a[7] = (uint8_t)i;
		b[12] = 11;
		tcp_hdr(&g, (uint16_t)i, 80, F_SYN, i, 0, 1000, 0, -1);
		assert_int_equal(dse_ct_tuple_set(&t, 1, 6, IPPROTO_TCP, a, b, (uint16_t)i, 80), 0);
		assert_true(dse_ct_create_conn(ct, &t, &g.s, T0, 0) >= 0);
	}
	assert_int_equal(ct->n_entries, n);
	after = heap_allocated();
	per = (double)(after - before) / n;
	print_message("conntrack memory: %.1f bytes per connection at %u connections\n", per, n);
	assert_true(per < 256.0);
	assert_true(per >= sizeof(struct dse_ct_entry)); /* the measurement saw the entries */
	dse_ct_free(ct);
	assert_true(heap_allocated() <= before);
}

/*
 * fw.conn.list and fw.conn.flush take a state by the schema's names
 * (api/dpud/fw.json), and rpc_fw.c uses a decoded state as its enum
 * dse_ct_state: the schema lists every state, in the tracker's order, by
 * its name in lower case.
 */
static void test_ct_schema_states_are_the_trackers_in_order(void **state)
{
	static const char *const methods[] = {"fw.conn.list", "fw.conn.flush"};

	(void)state;
	for (unsigned k = 0; k < 2; k++) {
		const struct dse_api_method *m = dse_api_find(&dse_api_dpud, methods[k]);
		const struct dse_api_type *t = NULL;

		assert_non_null(m);
		for (unsigned i = 0; i < m->n_params; i++)
			if (strcmp(m->params[i].name, "state") == 0)
				t = m->params[i].type;
		assert_non_null(t);
		assert_int_equal(t->n_values, DSE_CT_S__MAX);
		for (unsigned i = 0; i < DSE_CT_S__MAX; i++) {
			assert_int_equal(t->values[i].value, (int)i);
			assert_int_equal(strcasecmp(t->values[i].name, dse_ct_state_name(i)), 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ct_create_rejects_bad_sizes_timeouts_and_duplicate_names),
	    cmocka_unit_test(test_ct_tcp_handshake_reaches_established),
	    cmocka_unit_test(test_ct_reply_direction_is_found_whichever_side_has_the_lower_address),
	    cmocka_unit_test(test_ct_tcp_first_segment_without_syn_is_invalid_and_creates_nothing),
	    cmocka_unit_test(test_ct_sync_put_picks_up_mid_stream),
	    cmocka_unit_test(test_ct_tcp_data_outside_the_window_is_invalid),
	    cmocka_unit_test(test_ct_tcp_only_an_exact_rst_closes_rfc5961),
	    cmocka_unit_test(test_ct_tcp_rst_at_an_acknowledged_fin_is_counted_apart),
	    cmocka_unit_test(test_ct_rst_at_what_the_receiver_acknowledged_closes_with_data_in_flight),
	    cmocka_unit_test(test_ct_syn_on_an_open_connection_passes_and_keeps_it),
	    cmocka_unit_test(test_ct_syn_on_an_open_connection_answered_by_synack_replaces_it),
	    cmocka_unit_test(test_ct_syn_of_the_reply_side_on_an_open_connection_never_replaces_it),
	    cmocka_unit_test(test_ct_only_the_endpoints_ports_may_replace_a_connection),
	    cmocka_unit_test(test_ct_syn_with_data_accepts_a_synack_of_the_syn_alone),
	    cmocka_unit_test(test_ct_icmp_errors_relate_to_their_connection_only),
	    cmocka_unit_test(test_ct_icmpv6_errors_relate_to_their_connection),
	    cmocka_unit_test(test_ct_half_open_limits_per_source_and_zone),
	    cmocka_unit_test(test_ct_full_table_evicts_half_open_not_established),
	    cmocka_unit_test(test_ct_half_open_timeout_is_seconds),
	    cmocka_unit_test(test_ct_tcp_fin_sequence_reaches_time_wait_and_expires),
	    cmocka_unit_test(test_ct_event_hook_hears_created_state_changes_and_closed),
	    cmocka_unit_test(test_ct_event_hook_says_why_a_connection_went),
	    cmocka_unit_test(test_ct_tcp_simultaneous_close_reaches_time_wait),
	    cmocka_unit_test(test_ct_tcp_syn_in_the_wrong_state_and_bad_synack_are_invalid),
	    cmocka_unit_test(test_ct_tcp_simultaneous_open_reaches_established),
	    cmocka_unit_test(test_ct_tcp_syn_reopens_a_closed_connection),
	    cmocka_unit_test(test_ct_tcp_window_scaling_counts_only_when_both_syns_ask),
	    cmocka_unit_test(test_ct_tcp_sequence_numbers_wrap),
	    cmocka_unit_test(test_ct_every_packet_must_be_tracked_to_keep_the_window),
	    cmocka_unit_test(test_ct_udp_pseudo_connection_unreplied_then_replied),
	    cmocka_unit_test(test_ct_icmp_echo_reply_matches_the_request_by_id),
	    cmocka_unit_test(test_ct_ipv6_tuples_and_zones),
	    cmocka_unit_test(test_ct_timeouts_follow_the_state_and_the_clock),
	    cmocka_unit_test(test_ct_refreshed_connection_outlives_its_first_timeout),
	    cmocka_unit_test(test_ct_connection_past_its_timeout_is_gone_before_the_wheel_runs),
	    cmocka_unit_test(test_ct_expire_budget_bounds_the_work_and_resumes),
	    cmocka_unit_test(test_ct_full_table_refuses_new_connections_and_counts_them),
	    cmocka_unit_test(test_ct_flush_removes_only_what_the_filter_matches),
	    cmocka_unit_test(test_ct_listing_shows_the_original_direction_and_counters),
	    cmocka_unit_test(test_ct_tuple_and_segment_from_parsed_frames),
	    cmocka_unit_test(test_ct_bulk_lookup_agrees_with_single_lookups),
	    cmocka_unit_test(test_ct_bulk_process_agrees_with_packet_by_packet),
	    cmocka_unit_test(test_ct_memory_per_connection_is_under_256_bytes),
	    cmocka_unit_test(test_ct_schema_states_are_the_trackers_in_order),
	};

	return cmocka_run_group_tests(tests, eal_setup, eal_teardown);
}
