/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of what the workers share (core/dp.h): the owner of a
 * connection, the FDB read lock-free by other threads while its one writer
 * changes it (RCU), and the connection budget of the workers' tables.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_eal.h"

#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <rte_hash.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "conntrack.h"
#include "dp.h"
#include "fdb.h"

static int eal_setup(void **state)
{
	(void)state;
	return test_eal_init("test-shared", "128") < 0 ? -1 : 0;
}

static int eal_teardown(void **state)
{
	(void)state;
	return test_eal_cleanup();
}

static uint32_t rnd32(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

/*
 * Both directions of a connection have one owner, and owners spread.
 * Verify: for 4 workers and 40,000 random address pairs, owner(a, b) ==
 * owner(b, a) and is below 4; each worker owns 20 to 30% of the pairs, and
 * so of 1024 pairs that differ by the same bits (10.0.x.y with 10.1.x.y, a
 * benchmark's clients and servers), which an XOR of the two would put on
 * one worker; with one worker everything is worker 0's.
 */
static void test_conn_owner_is_symmetric_and_spreads(void **state)
{
	unsigned count[4] = {0};
	uint64_t s = 88172645463325252ull;

	(void)state;
	dp.n_workers = 4;
	for (unsigned i = 0; i < 40000; i++) {
		uint32_t a = rnd32(&s), b = rnd32(&s);
		unsigned o = dp_conn_owner(a, b);

		assert_true(o < 4);
		assert_int_equal(o, dp_conn_owner(b, a));
		count[o]++;
	}
	for (unsigned w = 0; w < 4; w++) {
		assert_true(count[w] > 8000);
		assert_true(count[w] < 12000);
		count[w] = 0;
	}
	for (uint32_t x = 0; x < 1024; x++) {
		uint32_t a = 0x0a000000u | x, b = 0x0a010000u | x;

		count[dp_conn_owner(a, b)]++;
	}
	for (unsigned w = 0; w < 4; w++)
		assert_true(count[w] > 200 && count[w] < 320);
	dp.n_workers = 1;
	assert_int_equal(dp_conn_owner(0x0a000001, 0x0a000002), 0);
}

/*
 * An ICMP error belongs to the connection it quotes.
 * Verify: for 1000 address pairs and 4 workers, an ICMP "fragmentation
 * needed" from a router quoting a packet of (a, b) has the owner of (a, b),
 * as the packet itself has; a truncated quote (or an echo request) is owned
 * by its own addresses.
 */
static void test_an_icmp_error_goes_to_the_quoted_connection(void **state)
{
	uint64_t s = 12345;

	(void)state;
	dp.n_workers = 4;
	for (unsigned i = 0; i < 1000; i++) {
		uint8_t f[14 + 20 + 8 + 20 + 8] = {0};
		struct dse_meta meta = {0};
		uint32_t a = rnd32(&s), b = rnd32(&s), r = rnd32(&s);
		uint8_t *ip = f + 14, *icmp = ip + 20, *q = icmp + 8;

		ip[0] = 0x45;
		ip[9] = IPPROTO_ICMP;
		memcpy(ip + 12, &r, 4);
		memcpy(ip + 16, &a, 4);
		icmp[0] = 3;
		icmp[1] = 4;
		q[0] = 0x45;
		q[9] = IPPROTO_TCP;
		memcpy(q + 12, &a, 4);
		memcpy(q + 16, &b, 4);
		meta.pi.l3 = DSE_L3_IPV4;
		meta.pi.l3_off = 14;
		meta.pi.l4_off = 34;
		meta.pi.l4_proto = IPPROTO_ICMP;
		meta.pi.ip_end = sizeof(f);
		assert_int_equal(dp_pkt_owner(f, sizeof(f), &meta), dp_conn_owner(a, b));
		assert_int_equal(dp_pkt_owner(f, 14 + 20 + 8 + 19, &meta), dp_conn_owner(r, a));
		icmp[0] = 8;
		assert_int_equal(dp_pkt_owner(f, sizeof(f), &meta), dp_conn_owner(r, a));
	}
	dp.n_workers = 1;
}

/* ---- the FDB under concurrent readers ---- */

#define N_MACS 512

struct reader {
	struct dse_fdb *fdb;
	struct rte_rcu_qsbr *v;
	atomic_bool stop;
	uint64_t lookups, found, reused;
};

static void mac_of(unsigned i, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0;
	mac[2] = 0;
	mac[3] = (uint8_t)(i >> 16);
	mac[4] = (uint8_t)(i >> 8);
	mac[5] = (uint8_t)i;
}

/*
 * Looks MACs up as a worker other than the writer does: an index found
 * must keep its MAC until the reader reports a quiescent state (after each
 * lookup here; after each graph walk in dse-dpud).
 */
static void *reader_main(void *arg)
{
	struct reader *r = arg;
	uint64_t s = 0x9e3779b97f4a7c15ull;
	cpu_set_t all;

	/* EAL pinned the writer to CPU 0; the reader runs wherever it can, as a worker would. */
	CPU_ZERO(&all);
	for (int c = 0; c < CPU_SETSIZE && c < 64; c++)
		CPU_SET(c, &all);
	pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	rte_rcu_qsbr_thread_register(r->v, 0);
	rte_rcu_qsbr_thread_online(r->v, 0);
	while (!atomic_load(&r->stop)) {
		uint8_t mac[6];
		int idx;
		uint32_t st;

		mac_of(rnd32(&s) % N_MACS, mac);
		/* As a worker reads an entry: the state word around the key (fdb.h). */
		idx = dse_fdb_get(r->fdb, 7, mac, &st);
		r->lookups++;
		if (idx >= 0) {
			const void *k;
			uint8_t seen[6];
			uint64_t want = ((uint64_t)7 << 48) | ((uint64_t)mac[0] << 40) |
					((uint64_t)mac[1] << 32) | ((uint64_t)mac[2] << 24) |
					((uint64_t)mac[3] << 16) | ((uint64_t)mac[4] << 8) | mac[5];

			r->found++;
			/*
			 * Until this reader's next quiescent state the position
			 * must still hold this key (removed is fine: the key stays
			 * in its slot until the slot is reclaimed), never another;
			 * and while the entry's state word is unchanged its MAC is
			 * this one (fdb.h: dse_fdb_read()).
			 */
			if (rte_hash_get_key_with_position(r->fdb->hash, idx, (void **)&k) == 0 &&
			    memcmp(k, &want, sizeof(want)) != 0)
				r->reused++;
			memcpy(seen, (const void *)r->fdb->entries[idx].mac, 6);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			if (dse_fdb_state(r->fdb, (uint32_t)idx) == st && memcmp(seen, mac, 6) != 0)
				r->reused++;
		}
		rte_rcu_qsbr_quiescent(r->v, 0);
	}
	rte_rcu_qsbr_thread_offline(r->v, 0);
	rte_rcu_qsbr_thread_unregister(r->v, 0);
	return NULL;
}

/*
 * Steps: an FDB of 128 entries shared with one reader thread (the writer,
 * this thread, is no reader of its own: worker 0 in dse-dpud); the writer
 * keeps removing old MACs and learning new ones for 300 ms, 64 every 50
 * us (far more than ageing or moves ever change in dse-dpud), so key slots
 * are freed and taken again all the time, while the reader looks MACs up.
 * Verify: the reader found entries (it really ran against the writer) and
 * never saw the position it had found hold another key before its next
 * quiescent state, nor the entry another MAC under the state word it found
 * it with; slots came back after their grace periods while the reader
 * ran (the writer learned more than ten times the table's 128 slots, which
 * only reclaimed slots allow; how many learns found none meanwhile depends
 * on when the reader gets a CPU, and is only printed); once the reader is
 * gone every slot comes back: four times over, a flush and 128 new MACs
 * (512 learns, twice the hash's key slots) all find a slot.
 */
static void test_fdb_readers_never_see_a_reused_slot(void **state)
{
	struct reader r = {0};
	struct timespec t0, t;
	pthread_t th;
	unsigned next = 0, learned = 0, no_slot = 0;
	size_t sz = rte_rcu_qsbr_get_memsize(1);

	(void)state;
	r.v = rte_zmalloc("test_qsbr", sz, RTE_CACHE_LINE_SIZE);
	assert_non_null(r.v);
	assert_int_equal(rte_rcu_qsbr_init(r.v, 1), 0);
	r.fdb = dse_fdb_create("test_shared_fdb", 128, r.v);
	assert_non_null(r.fdb);
	assert_int_equal(pthread_create(&th, NULL, reader_main, &r), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		/* A walk's worth of changes (64), then the time of a walk (50 us). */
		nanosleep(&(struct timespec){0, 50000}, NULL);
		for (unsigned k = 0; k < 64; k++, next++) {
			uint8_t mac[6];
			bool moved;

			if (next >= 100) {
				mac_of((next - 100) % N_MACS, mac);
				dse_fdb_del(r.fdb, 7, mac);
			}
			mac_of(next % N_MACS, mac);
			if (dse_fdb_learn(r.fdb, 7, mac, (uint16_t)(next & 3), 1, &moved) >= 0)
				learned++;
			else
				no_slot++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000ll + (t.tv_nsec - t0.tv_nsec) < 300000000ll);
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	print_message("writer learned %u MACs (%u found no slot); reader: %llu lookups, %llu "
		      "found\n",
		      learned, no_slot, (unsigned long long)r.lookups, (unsigned long long)r.found);
	assert_true(r.found > 1000);
	assert_int_equal(r.reused, 0);
	assert_true(learned > 10 * 128);
	/* Four rounds of 128: more than the hash's 256 key slots without reclaiming. */
	for (unsigned round = 0; round < 4; round++) {
		dse_fdb_flush(r.fdb, DSE_FDB_ALL, DSE_FDB_ALL, true);
		for (unsigned k = 0; k < 128; k++) {
			uint8_t mac[6];
			bool moved;

			mac_of(N_MACS + round * 128 + k, mac);
			assert_true(dse_fdb_learn(r.fdb, 7, mac, 0, 1, &moved) >= 0);
		}
	}
	dse_fdb_free(r.fdb);
	rte_free(r.v);
}

/* ---- the connection budget of several tables ---- */

#define T0 1000000000ull

static void udp_tuple(struct dse_ct_tuple *t, uint16_t sport)
{
	uint8_t s[16], d[16];
	static const uint8_t a[4] = {198, 18, 0, 1}, b[4] = {198, 18, 0, 2};

	dse_ct_addr_from_ipv4(s, a);
	dse_ct_addr_from_ipv4(d, b);
	assert_int_equal(dse_ct_tuple_set(t, 1, 4, IPPROTO_UDP, s, d, sport, 53), 0);
}

static int udp_conn(struct dse_ct *ct, uint16_t sport, uint64_t now)
{
	uint8_t hdr[8] = {0};
	struct dse_ct_seg seg = {.l4 = hdr, .l4_len = 8, .ip_len = 28};
	struct dse_ct_tuple t;

	udp_tuple(&t, sport);
	hdr[0] = (uint8_t)(sport >> 8);
	hdr[1] = (uint8_t)sport;
	hdr[3] = 53;
	return dse_ct_create_conn(ct, &t, &seg, now, 0);
}

/*
 * Steps: two tables of 64 connections share a budget of 4 (a share of 2
 * each; half-open limits out of the way); table A opens 4 UDP flows, then
 * table B opens 3.
 * Verify: the budget always counts what the tables hold; B, below its
 * share, still opens 2 although A spent the budget (A's connections are
 * not B's to evict), and its third, at its share and within the back-off
 * of its fruitless search for a victim, is refused (full); removing
 * everything brings the budget to 0.  (Whether a table at the budget finds
 * a victim of its own is the eviction's business, tested in
 * test_conntrack.c.)
 */
static void test_tables_share_one_budget(void **state)
{
	struct dse_ct_timeouts to;
	struct dse_ct_budget b = {.max = 4, .tables = 2};
	struct dse_ct *ta, *tb;
	struct dse_ct_filter all = {0};

	(void)state;
	dse_ct_timeouts_default(&to);
	ta = dse_ct_create("test_budget_a", 64, &to);
	tb = dse_ct_create("test_budget_b", 64, &to);
	assert_non_null(ta);
	assert_non_null(tb);
	ta->budget = tb->budget = &b;
	dse_ct_set_embryonic_limits(ta, 64, 64);
	dse_ct_set_embryonic_limits(tb, 64, 64);
	for (uint16_t i = 0; i < 4; i++) {
		assert_true(udp_conn(ta, (uint16_t)(1000 + i), T0) >= 0);
		assert_int_equal(atomic_load(&b.n), ta->n_entries + tb->n_entries);
	}
	assert_int_equal(ta->n_entries, 4);
	assert_true(udp_conn(tb, 2000, T0) >= 0);
	assert_true(udp_conn(tb, 2001, T0) >= 0);
	assert_int_equal(tb->n_entries, 2);
	assert_int_equal(tb->stats.evicted, 0);
	assert_int_equal(atomic_load(&b.n), 6);
	/* At its share, within the back-off of its search that found nothing to evict. */
	assert_int_equal(udp_conn(tb, 2002, T0), -ENOSPC);
	assert_int_equal(tb->n_entries, 2);
	assert_int_equal(tb->stats.full, 1);
	assert_int_equal(ta->n_entries, 4);
	dse_ct_flush(ta, &all);
	dse_ct_flush(tb, &all);
	assert_int_equal(atomic_load(&b.n), 0);
	dse_ct_free(ta);
	dse_ct_free(tb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conn_owner_is_symmetric_and_spreads),
	    cmocka_unit_test(test_an_icmp_error_goes_to_the_quoted_connection),
	    cmocka_unit_test(test_fdb_readers_never_see_a_reused_slot),
	    cmocka_unit_test(test_tables_share_one_budget),
	};

	return cmocka_run_group_tests(tests, eal_setup, eal_teardown);
}
