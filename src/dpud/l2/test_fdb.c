/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the forwarding database.  The FDB sits on rte_hash, so the
 * group setup starts a minimal EAL: no hugepages, no PCI, no shared config,
 * one lcore, a file prefix of its own so that parallel runs never meet.
 * Every test creates its own FDB under a fresh name and frees it, and drives
 * time only through the 'now_s' arguments, so ageing is deterministic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_eal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>

#include "fdb.h"
#include "test_fdb_new.h"

static const uint8_t mac_a[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};
static const uint8_t mac_c[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0c};

static int eal_setup(void **state)
{
	(void)state;
	if (test_eal_init("test-fdb", "64") < 0)
		return -1;
	return 0;
}

static int eal_teardown(void **state)
{
	(void)state;
	return test_eal_cleanup();
}

/* Creates an FDB of 'max_entries' under a name no other test uses. */
static struct dse_fdb *fdb_new(uint32_t max_entries)
{
	return test_fdb_new("test_fdb", max_entries);
}

/* Learns and asserts success; returns the index. */
static int learn_ok(struct dse_fdb *fdb, uint16_t seg, const uint8_t mac[6], uint16_t port,
		    uint32_t now_s, bool expect_moved)
{
	bool moved = !expect_moved;
	int idx = dse_fdb_learn(fdb, seg, mac, port, now_s, &moved);

	assert_true(idx >= 0);
	assert_int_equal(moved, expect_moved);
	return idx;
}

/* The MAC 02:00:00:00:hi:lo, for filling tables. */
static void mac_of(uint16_t i, uint8_t mac[6])
{
	const uint8_t m[6] = {0x02, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};

	memcpy(mac, m, 6);
}

/*
 * Steps: create with 0 and with 1M + 1 entries, then with 1 and 1M.
 * Verify: the out-of-range sizes give NULL with rte_errno EINVAL; the limits
 * themselves are accepted, and the defaults (ageing 300 s) are set.
 */
static void test_fdb_create_rejects_sizes_outside_1_to_1m(void **state)
{
	struct dse_fdb *fdb;

	(void)state;
	rte_errno = 0;
	assert_null(dse_fdb_create("test_fdb_zero", 0, NULL));
	assert_int_equal(rte_errno, EINVAL);
	rte_errno = 0;
	assert_null(dse_fdb_create("test_fdb_huge", (1u << 20) + 1, NULL));
	assert_int_equal(rte_errno, EINVAL);

	fdb = fdb_new(1);
	assert_int_equal(fdb->max_entries, 1);
	assert_int_equal(fdb->ageing_s, 300);
	dse_fdb_free(fdb);
	fdb = fdb_new(1u << 20);
	assert_int_equal(fdb->max_entries, 1u << 20);
	dse_fdb_free(fdb);
	dse_fdb_free(NULL);
}

/*
 * Steps: learn A in segment 1 behind port 3 at time 100, look A and B up.
 * Verify: the lookup returns the learned index, whose entry holds the MAC,
 * segment, port and time; B is -ENOENT; one entry learned and counted.
 */
static void test_fdb_learn_then_lookup_returns_the_entry(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);
	const struct dse_fdb_entry *e;
	int idx;

	(void)state;
	idx = learn_ok(fdb, 1, mac_a, 3, 100, false);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_a), idx);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_b), -ENOENT);
	e = &fdb->entries[idx];
	assert_memory_equal(e->mac, mac_a, 6);
	assert_int_equal(e->segment, 1);
	assert_int_equal(dse_fdb_entry_port(e), 3);
	assert_int_equal(dse_fdb_entry_used(e), 1);
	assert_int_equal(dse_fdb_entry_static(e), 0);
	assert_int_equal(e->last_seen_s, 100);
	assert_int_equal(fdb->n_entries, 1);
	assert_int_equal(fdb->stats.learned, 1);
	assert_int_equal(fdb->stats.moved, 0);
	dse_fdb_free(fdb);
}

/*
 * Steps: learn A at 100, learn it again on the same port at 250, then age.
 * Verify: same index, no move, no new entry; the timestamp is 250, so A
 * survives ageing at 400 (it would be gone if it still said 100) and goes
 * at 551 (idle 301 s > 300 s).
 */
static void test_fdb_learning_again_refreshes_the_timestamp(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);
	int idx;

	(void)state;
	idx = learn_ok(fdb, 1, mac_a, 3, 100, false);
	assert_int_equal(learn_ok(fdb, 1, mac_a, 3, 250, false), idx);
	assert_int_equal(fdb->entries[idx].last_seen_s, 250);
	assert_int_equal(fdb->n_entries, 1);
	assert_int_equal(fdb->stats.learned, 1);

	assert_int_equal(dse_fdb_age(fdb, 400), 0);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_a), idx);
	assert_int_equal(dse_fdb_age(fdb, 550), 0);
	assert_int_equal(dse_fdb_age(fdb, 551), 1);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_a), -ENOENT);
	dse_fdb_free(fdb);
}

/*
 * Steps: learn A behind port 1, then behind port 2, then port 2 again.
 * Verify: the second learn sets 'ret_moved', keeps the index, changes the
 * port and counts one move; the third is no move.
 */
static void test_fdb_learning_on_another_port_moves_the_entry(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);
	int idx;

	(void)state;
	idx = learn_ok(fdb, 7, mac_a, 1, 10, false);
	assert_int_equal(learn_ok(fdb, 7, mac_a, 2, 11, true), idx);
	assert_int_equal(dse_fdb_entry_port(&fdb->entries[idx]), 2);
	assert_int_equal(fdb->entries[idx].last_seen_s, 11);
	assert_int_equal(fdb->stats.moved, 1);
	assert_int_equal(learn_ok(fdb, 7, mac_a, 2, 12, false), idx);
	assert_int_equal(fdb->stats.moved, 1);
	assert_int_equal(fdb->stats.learned, 1);
	assert_int_equal(fdb->n_entries, 1);
	dse_fdb_free(fdb);
}

/*
 * Steps: add A as static behind port 1, then learn A behind port 2.
 * Verify: no move is reported or counted, A stays static on port 1.
 */
static void test_fdb_static_entry_is_never_moved_by_learning(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);
	int idx;

	(void)state;
	idx = dse_fdb_add_static(fdb, 1, mac_a, 1);
	assert_true(idx >= 0);
	assert_int_equal(dse_fdb_entry_static(&fdb->entries[idx]), 1);
	assert_int_equal(learn_ok(fdb, 1, mac_a, 2, 50, false), idx);
	assert_int_equal(dse_fdb_entry_port(&fdb->entries[idx]), 1);
	assert_int_equal(dse_fdb_entry_static(&fdb->entries[idx]), 1);
	assert_int_equal(fdb->stats.moved, 0);
	assert_int_equal(fdb->stats.learned, 0);
	assert_int_equal(fdb->n_entries, 1);
	dse_fdb_free(fdb);
}

/*
 * Steps: add static A, learn B at 0, age at times far beyond the ageing time.
 * Verify: B is aged and counted, A stays every time.
 */
static void test_fdb_static_entry_never_ages(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);
	int idx;

	(void)state;
	idx = dse_fdb_add_static(fdb, 1, mac_a, 1);
	assert_true(idx >= 0);
	learn_ok(fdb, 1, mac_b, 2, 0, false);
	assert_int_equal(dse_fdb_age(fdb, 100000), 1);
	assert_int_equal(dse_fdb_age(fdb, UINT32_MAX), 0);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_a), idx);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_b), -ENOENT);
	assert_int_equal(fdb->stats.aged, 1);
	assert_int_equal(fdb->n_entries, 1);
	dse_fdb_free(fdb);
}

/*
 * Steps: learn A behind port 1, then add A as static behind port 4.
 * Verify: the same entry becomes static on port 4 and no longer ages.
 */
static void test_fdb_add_static_turns_a_learned_entry_static(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);
	int idx;

	(void)state;
	idx = learn_ok(fdb, 1, mac_a, 1, 0, false);
	assert_int_equal(dse_fdb_add_static(fdb, 1, mac_a, 4), idx);
	assert_int_equal(dse_fdb_entry_port(&fdb->entries[idx]), 4);
	assert_int_equal(dse_fdb_entry_static(&fdb->entries[idx]), 1);
	assert_int_equal(fdb->n_entries, 1);
	assert_int_equal(dse_fdb_age(fdb, 100000), 0);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_a), idx);
	dse_fdb_free(fdb);
}

/*
 * Steps: ageing 300 s; learn A at 1000 and B at 1200; age at 1300, 1301,
 * 1500 and 1501.
 * Verify: an entry idle exactly 300 s stays, one idle 301 s goes; each
 * call removes only the entries past their time and stats.aged adds up.
 */
static void test_fdb_ages_entries_idle_longer_than_ageing_time(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);

	(void)state;
	assert_int_equal(fdb->ageing_s, 300);
	learn_ok(fdb, 1, mac_a, 1, 1000, false);
	learn_ok(fdb, 1, mac_b, 1, 1200, false);
	assert_int_equal(dse_fdb_age(fdb, 1300), 0);
	assert_int_equal(dse_fdb_age(fdb, 1301), 1);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_a), -ENOENT);
	assert_true(dse_fdb_lookup(fdb, 1, mac_b) >= 0);
	assert_int_equal(dse_fdb_age(fdb, 1500), 0);
	assert_int_equal(dse_fdb_age(fdb, 1501), 1);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_b), -ENOENT);
	assert_int_equal(fdb->stats.aged, 2);
	assert_int_equal(fdb->n_entries, 0);
	dse_fdb_free(fdb);
}

/*
 * Steps: learn A 256 s before the 32-bit seconds counter wraps, age just
 * after the wrap (idle 272 s), then at idle 301 s.
 * Verify: A survives the wrap (a signed or naive comparison would see a
 * huge or negative idle time) and ages once really idle for too long.
 */
static void test_fdb_ageing_is_correct_across_the_seconds_wrap(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);
	const uint32_t t0 = UINT32_MAX - 255; /* 0xffffff00 */

	(void)state;
	learn_ok(fdb, 1, mac_a, 1, t0, false);
	assert_int_equal(dse_fdb_age(fdb, t0 + 200), 0);
	assert_int_equal(dse_fdb_age(fdb, 0x10), 0); /* wrapped; idle 272 s */
	assert_true(dse_fdb_lookup(fdb, 1, mac_a) >= 0);
	assert_int_equal(dse_fdb_age(fdb, 0x2c), 0); /* idle 300 s */
	assert_int_equal(dse_fdb_age(fdb, 0x2d), 1); /* idle 301 s */
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_a), -ENOENT);
	dse_fdb_free(fdb);
}

/*
 * Steps: set ageing_s to 0, learn A at 0, age at ever later times.
 * Verify: nothing is ever aged nor counted.
 */
static void test_fdb_ageing_time_zero_disables_ageing(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);
	int idx;

	(void)state;
	fdb->ageing_s = 0;
	idx = learn_ok(fdb, 1, mac_a, 1, 0, false);
	assert_int_equal(dse_fdb_age(fdb, 1), 0);
	assert_int_equal(dse_fdb_age(fdb, 1000000), 0);
	assert_int_equal(dse_fdb_age(fdb, UINT32_MAX), 0);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_a), idx);
	assert_int_equal(fdb->stats.aged, 0);
	dse_fdb_free(fdb);
}

/*
 * Steps: an FDB of 5 (the hash underneath rounds up to 8); learn 5
 * addresses, then 2 more, refresh a known one, add a static one, delete one
 * and learn again.
 * Verify: the 6th and 7th get -ENOSPC, are not found and count in
 * stats.full; known addresses still learn; a static add is refused too;
 * after a delete there is room again.
 */
static void test_fdb_full_table_refuses_new_addresses_and_counts_them(void **state)
{
	struct dse_fdb *fdb = fdb_new(5);
	uint8_t mac[6];
	bool moved = true;

	(void)state;
	for (uint16_t i = 0; i < 5; i++) {
		mac_of(i, mac);
		learn_ok(fdb, 1, mac, 1, 0, false);
	}
	assert_int_equal(fdb->n_entries, 5);
	mac_of(5, mac);
	assert_int_equal(dse_fdb_learn(fdb, 1, mac, 1, 0, &moved), -ENOSPC);
	assert_false(moved);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac), -ENOENT);
	mac_of(6, mac);
	assert_int_equal(dse_fdb_learn(fdb, 1, mac, 1, 0, &moved), -ENOSPC);
	assert_int_equal(fdb->stats.full, 2);
	assert_int_equal(fdb->stats.learned, 5);
	assert_int_equal(fdb->n_entries, 5);

	/* A known address is still refreshed and moved while the table is full. */
	mac_of(0, mac);
	learn_ok(fdb, 1, mac, 2, 9, true);
	assert_int_equal(fdb->stats.full, 2);
	assert_int_equal(dse_fdb_add_static(fdb, 1, mac_c, 1), -ENOSPC);

	mac_of(1, mac);
	assert_int_equal(dse_fdb_del(fdb, 1, mac), 0);
	mac_of(5, mac);
	learn_ok(fdb, 1, mac, 1, 0, false);
	assert_int_equal(fdb->n_entries, 5);
	dse_fdb_free(fdb);
}

/*
 * Steps: an FDB of 1; learn A, then B.
 * Verify: the smallest table holds exactly one address.
 */
static void test_fdb_of_one_entry_holds_exactly_one_address(void **state)
{
	struct dse_fdb *fdb = fdb_new(1);
	bool moved;

	(void)state;
	learn_ok(fdb, 1, mac_a, 1, 0, false);
	assert_int_equal(dse_fdb_learn(fdb, 1, mac_b, 1, 0, &moved), -ENOSPC);
	assert_int_equal(fdb->stats.full, 1);
	dse_fdb_free(fdb);
}

/*
 * Steps: learn A in segment 1 behind port 1 and in segment 2 behind port 2;
 * learn MACs that differ only in their first byte; delete A from segment 1.
 * Verify: distinct indexes and ports, no move; the key keeps every MAC byte;
 * deleting in one segment leaves the other.
 */
static void test_fdb_same_mac_in_two_segments_is_two_entries(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);
	const uint8_t m1[6] = {0x02, 1, 2, 3, 4, 5}, m2[6] = {0x06, 1, 2, 3, 4, 5};
	int i1, i2;

	(void)state;
	i1 = learn_ok(fdb, 1, mac_a, 1, 0, false);
	i2 = learn_ok(fdb, 2, mac_a, 2, 0, false);
	assert_int_not_equal(i1, i2);
	assert_int_equal(dse_fdb_entry_port(&fdb->entries[i1]), 1);
	assert_int_equal(dse_fdb_entry_port(&fdb->entries[i2]), 2);
	assert_int_equal(fdb->stats.moved, 0);
	assert_int_equal(dse_fdb_lookup(fdb, 3, mac_a), -ENOENT);

	assert_int_not_equal(learn_ok(fdb, 1, m1, 1, 0, false), learn_ok(fdb, 1, m2, 1, 0, false));
	assert_int_equal(fdb->n_entries, 4);

	assert_int_equal(dse_fdb_del(fdb, 1, mac_a), 0);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_a), -ENOENT);
	assert_int_equal(dse_fdb_lookup(fdb, 2, mac_a), i2);
	dse_fdb_free(fdb);
}

/*
 * Steps: learn A and B, delete A twice, learn A again.
 * Verify: the first delete returns 0 and clears A's slot, the second
 * -ENOENT; B is untouched; A can be learned again.
 */
static void test_fdb_del_removes_only_that_entry(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);
	int ia, ib;

	(void)state;
	ia = learn_ok(fdb, 1, mac_a, 1, 0, false);
	ib = learn_ok(fdb, 1, mac_b, 1, 0, false);
	assert_int_equal(dse_fdb_del(fdb, 1, mac_a), 0);
	assert_int_equal(dse_fdb_entry_used(&fdb->entries[ia]), 0);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_a), -ENOENT);
	assert_int_equal(dse_fdb_del(fdb, 1, mac_a), -ENOENT);
	assert_int_equal(dse_fdb_del(fdb, 2, mac_b), -ENOENT);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_b), ib);
	assert_int_equal(fdb->n_entries, 1);
	learn_ok(fdb, 1, mac_a, 1, 0, false);
	assert_int_equal(fdb->n_entries, 2);
	dse_fdb_free(fdb);
}

/* Fills 'fdb' with A, B (learned) and C (static) in segments 1 and 2, ports 1, 2, 1. */
static void fill_two_segments(struct dse_fdb *fdb)
{
	for (uint16_t seg = 1; seg <= 2; seg++) {
		learn_ok(fdb, seg, mac_a, 1, 0, false);
		learn_ok(fdb, seg, mac_b, 2, 0, false);
		assert_true(dse_fdb_add_static(fdb, seg, mac_c, 1) >= 0);
	}
	assert_int_equal(fdb->n_entries, 6);
}

/*
 * Steps: fill two segments, flush segment 1 without static entries.
 * Verify: A and B of segment 1 go; its static C and all of segment 2 stay.
 */
static void test_fdb_flush_by_segment_keeps_other_segments_and_static(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);

	(void)state;
	fill_two_segments(fdb);
	assert_int_equal(dse_fdb_flush(fdb, 1, DSE_FDB_ALL, false), 2);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_a), -ENOENT);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_b), -ENOENT);
	assert_true(dse_fdb_lookup(fdb, 1, mac_c) >= 0);
	assert_true(dse_fdb_lookup(fdb, 2, mac_a) >= 0);
	assert_true(dse_fdb_lookup(fdb, 2, mac_b) >= 0);
	assert_int_equal(fdb->n_entries, 4);
	assert_int_equal(dse_fdb_flush(fdb, 1, DSE_FDB_ALL, false), 0);
	dse_fdb_free(fdb);
}

/*
 * Steps: fill two segments, flush port 1 in every segment without static.
 * Verify: A (port 1) goes from both segments; B (port 2) and static C stay.
 */
static void test_fdb_flush_by_port_keeps_other_ports_and_static(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);

	(void)state;
	fill_two_segments(fdb);
	assert_int_equal(dse_fdb_flush(fdb, DSE_FDB_ALL, 1, false), 2);
	for (uint16_t seg = 1; seg <= 2; seg++) {
		assert_int_equal(dse_fdb_lookup(fdb, seg, mac_a), -ENOENT);
		assert_true(dse_fdb_lookup(fdb, seg, mac_b) >= 0);
		assert_true(dse_fdb_lookup(fdb, seg, mac_c) >= 0);
	}
	assert_int_equal(fdb->n_entries, 4);
	dse_fdb_free(fdb);
}

/*
 * Steps: fill two segments; flush segment 2 port 1 with static entries,
 * then everything with static entries.
 * Verify: the first removes A and static C of segment 2 only; the second
 * empties the table and its slots can be learned again.
 */
static void test_fdb_flush_with_static_removes_static_entries(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);

	(void)state;
	fill_two_segments(fdb);
	assert_int_equal(dse_fdb_flush(fdb, 2, 1, true), 2);
	assert_int_equal(dse_fdb_lookup(fdb, 2, mac_a), -ENOENT);
	assert_int_equal(dse_fdb_lookup(fdb, 2, mac_c), -ENOENT);
	assert_true(dse_fdb_lookup(fdb, 2, mac_b) >= 0);
	assert_true(dse_fdb_lookup(fdb, 1, mac_c) >= 0);
	assert_int_equal(dse_fdb_flush(fdb, DSE_FDB_ALL, DSE_FDB_ALL, true), 4);
	assert_int_equal(fdb->n_entries, 0);
	assert_int_equal(dse_fdb_lookup(fdb, 1, mac_c), -ENOENT);
	fill_two_segments(fdb);
	dse_fdb_free(fdb);
}

/* What the change hook saw: one record per call. */
struct seen_change {
	uint32_t index;
	enum dse_fdb_change what;
	uint16_t old_port;
	uint16_t port;  /* the entry's port at the call */
	bool used;      /* the entry was in use at the call */
	uint8_t mac[6]; /* its address at the call */
};

struct hook_log {
	const struct dse_fdb *fdb;
	unsigned n;
	struct seen_change c[64];
};

static void record_change(void *arg, const struct dse_fdb *fdb, uint32_t index,
			  const struct dse_fdb_entry *e, enum dse_fdb_change what,
			  uint16_t old_port)
{
	struct hook_log *log = arg;
	struct seen_change *c;

	assert_ptr_equal(fdb, log->fdb);
	assert_ptr_equal(e, &fdb->entries[index]);
	assert_true(log->n < 64);
	c = &log->c[log->n++];
	c->index = index;
	c->what = what;
	c->old_port = old_port;
	c->port = dse_fdb_entry_port(e);
	c->used = dse_fdb_entry_used(e);
	memcpy(c->mac, e->mac, 6);
}

/* Asserts record 'i' of 'log'. */
static void assert_change(const struct hook_log *log, unsigned i, int index,
			  enum dse_fdb_change what, const uint8_t mac[6], uint16_t port,
			  uint16_t old_port)
{
	assert_true(i < log->n);
	assert_int_equal(log->c[i].index, index);
	assert_int_equal(log->c[i].what, what);
	assert_memory_equal(log->c[i].mac, mac, 6);
	assert_int_equal(log->c[i].port, port);
	assert_int_equal(log->c[i].old_port, old_port);
	assert_true(log->c[i].used);
}

/*
 * Steps: with the hook set, learn A (port 1), learn it again, move it to
 * port 2, add B static on 3, re-point B to 4, learn C on 5, delete B, age
 * C, flush A; then clear the hook and learn B.
 * Verify: the hook saw exactly LEARNED A, MOVED A (old 1), ADDED B, ADDED B
 * (old 3), LEARNED C, DELETED B, AGED C, FLUSHED A, in that order, each with
 * the entry's index and its address and port (a removed entry still intact
 * at the call); a refresh is no change; without a hook nothing is called.
 */
static void test_fdb_change_hook_sees_every_change(void **state)
{
	struct dse_fdb *fdb = fdb_new(16);
	struct hook_log log = {.fdb = fdb};
	int ia, ib, ic;

	(void)state;
	assert_null(fdb->change_fn);
	fdb->change_fn = record_change;
	fdb->change_arg = &log;
	fdb->ageing_s = 10;
	ia = learn_ok(fdb, 1, mac_a, 1, 100, false);
	learn_ok(fdb, 1, mac_a, 1, 101, false);
	assert_int_equal(log.n, 1);
	learn_ok(fdb, 1, mac_a, 2, 102, true);
	ib = dse_fdb_add_static(fdb, 1, mac_b, 3);
	assert_int_equal(dse_fdb_add_static(fdb, 1, mac_b, 4), ib);
	ic = learn_ok(fdb, 1, mac_c, 5, 90, false);
	assert_int_equal(dse_fdb_del(fdb, 1, mac_b), 0);
	assert_int_equal(dse_fdb_age(fdb, 105), 1);
	assert_int_equal(dse_fdb_flush(fdb, DSE_FDB_ALL, DSE_FDB_ALL, true), 1);

	assert_int_equal(log.n, 8);
	assert_change(&log, 0, ia, DSE_FDB_LEARNED, mac_a, 1, DSE_FDB_NO_PORT);
	assert_change(&log, 1, ia, DSE_FDB_MOVED, mac_a, 2, 1);
	assert_change(&log, 2, ib, DSE_FDB_ADDED, mac_b, 3, DSE_FDB_NO_PORT);
	assert_change(&log, 3, ib, DSE_FDB_ADDED, mac_b, 4, 3);
	assert_change(&log, 4, ic, DSE_FDB_LEARNED, mac_c, 5, DSE_FDB_NO_PORT);
	assert_change(&log, 5, ib, DSE_FDB_DELETED, mac_b, 4, DSE_FDB_NO_PORT);
	assert_change(&log, 6, ic, DSE_FDB_AGED, mac_c, 5, DSE_FDB_NO_PORT);
	assert_change(&log, 7, ia, DSE_FDB_FLUSHED, mac_a, 2, DSE_FDB_NO_PORT);

	fdb->change_fn = NULL;
	learn_ok(fdb, 1, mac_b, 1, 110, false);
	assert_int_equal(log.n, 8);
	dse_fdb_free(fdb);
}

/*
 * Steps: learn 3000 addresses at t=0 in a table of 4096; at t=1000 (ageing
 * 300 s) run slices of 100 slots until one says the pass is done; then learn
 * one address and run one more slice.
 * Verify: no slice removes more than 100 entries or examines past its
 * budget (the cursor moves by at most 100); the pass ends after exactly
 * ceil(slots / 100) slices, every address is then gone and 'aged' counts
 * 3000; the next slice starts again at slot 0.
 */
static void test_fdb_ageing_slices_are_bounded_and_cover_the_table(void **state)
{
	struct dse_fdb *fdb = fdb_new(4096);
	uint32_t slots = (uint32_t)rte_hash_max_key_id(fdb->hash) + 1;
	unsigned slices = 0, removed = 0;
	bool done = false;

	(void)state;
	for (uint16_t i = 0; i < 3000; i++) {
		uint8_t mac[6];

		mac_of(i, mac);
		learn_ok(fdb, 1, mac, 1, 0, false);
	}
	while (!done) {
		uint32_t from = fdb->age_next;
		unsigned n = dse_fdb_age_slice(fdb, 1000, 100, &done);

		assert_true(n <= 100);
		if (!done)
			assert_int_equal(fdb->age_next, from + 100);
		removed += n;
		slices++;
		assert_true(slices <= slots / 100 + 1);
	}
	assert_int_equal(slices, (slots + 99) / 100);
	assert_int_equal(removed, 3000);
	assert_int_equal(fdb->n_entries, 0);
	assert_int_equal(fdb->stats.aged, 3000);
	assert_int_equal(fdb->age_next, 0);
	learn_ok(fdb, 1, mac_a, 1, 1000, false);
	assert_int_equal(dse_fdb_age_slice(fdb, 1000, 100, &done), 0);
	assert_false(done);
	assert_int_equal(fdb->age_next, 100);
	dse_fdb_free(fdb);
}

/*
 * Steps: learn A on 1; note its word; learn it on 2 (a move); make it static
 * on 2; delete it; learn and delete B until it takes A's slot.
 * Verify: every change gives a word with a higher version; the word holds
 * the port and the flags (in use, static) of the moment; after the delete
 * the slot's word is free, and the address reusing the slot has a word the
 * slot never had before; dse_fdb_read() finds an address only in its own
 * slot and dse_fdb_get() returns the same word.
 */
static void test_fdb_every_change_bumps_the_version_of_the_word(void **state)
{
	struct dse_fdb *fdb = fdb_new(1);
	uint32_t w[5], s;
	int ia, ib;
	bool moved;

	(void)state;
	ia = learn_ok(fdb, 1, mac_a, 1, 10, false);
	w[0] = dse_fdb_state(fdb, (uint32_t)ia);
	assert_int_equal(dse_fdb_state_port(w[0]), 1);
	assert_true(dse_fdb_state_used(w[0]) && !dse_fdb_state_static(w[0]));
	assert_int_equal(dse_fdb_get(fdb, 1, mac_a, &s), ia);
	assert_int_equal(s, w[0]);
	assert_true(dse_fdb_read(fdb, (uint32_t)ia, 1, mac_a, &s));
	assert_false(dse_fdb_read(fdb, (uint32_t)ia, 1, mac_b, &s));
	assert_false(dse_fdb_read(fdb, (uint32_t)ia, 2, mac_a, &s));

	learn_ok(fdb, 1, mac_a, 2, 11, true);
	w[1] = dse_fdb_state(fdb, (uint32_t)ia);
	assert_int_equal(dse_fdb_state_port(w[1]), 2);
	assert_int_equal(dse_fdb_add_static(fdb, 1, mac_a, 2), ia);
	w[2] = dse_fdb_state(fdb, (uint32_t)ia);
	assert_true(dse_fdb_state_static(w[2]));
	assert_int_equal(dse_fdb_del(fdb, 1, mac_a), 0);
	w[3] = dse_fdb_state(fdb, (uint32_t)ia);
	assert_false(dse_fdb_state_used(w[3]));
	assert_false(dse_fdb_read(fdb, (uint32_t)ia, 1, mac_a, &s));
	assert_int_equal(dse_fdb_get(fdb, 1, mac_a, &s), -ENOENT);
	/* Other addresses come and go until one takes A's slot. */
	for (int tries = 0; tries < 64; tries++) {
		ib = learn_ok(fdb, 1, mac_b, 1, 12, false);
		if (ib == ia)
			break;
		assert_int_equal(dse_fdb_del(fdb, 1, mac_b), 0);
	}
	assert_int_equal(ib, ia);
	w[4] = dse_fdb_state(fdb, (uint32_t)ib);
	for (int i = 1; i < 4; i++)
		assert_true(w[i] >> DSE_FDB_VERSION_SHIFT ==
			    (w[i - 1] >> DSE_FDB_VERSION_SHIFT) + 1);
	assert_true(w[4] >> DSE_FDB_VERSION_SHIFT > w[3] >> DSE_FDB_VERSION_SHIFT);
	assert_true(w[4] != w[0]);
	assert_false(dse_fdb_read(fdb, (uint32_t)ib, 1, mac_a, &s));
	assert_true(dse_fdb_read(fdb, (uint32_t)ib, 1, mac_b, &s));
	assert_int_equal(dse_fdb_learn(fdb, 1, mac_c, DSE_FDB_MAX_PORT + 1, 1, &moved), -EINVAL);
	assert_int_equal(dse_fdb_add_static(fdb, 1, mac_c, DSE_FDB_MAX_PORT + 1), -EINVAL);
	dse_fdb_free(fdb);
}

/*
 * Readers on other threads while one writer changes the FDB: 16 addresses,
 * address i only ever behind ports 100 + 2i or 100 + 2i + 1; the writer
 * moves them, deletes them and learns others into the freed slots.
 */
#define RACE_MACS 16
struct race {
	struct dse_fdb *fdb;
	uint32_t slots;
	bool stop;            /* set by the writer when done (atomic) */
	uint64_t reads_ok[2]; /* per reader: reads that found an address (atomic) */
	uint64_t wrong[2];    /* per reader: reads that gave another address's port */
};

struct race_reader {
	struct race *r;
	int id;
};

static void *race_read(void *arg)
{
	struct race_reader *rr = arg;
	struct race *r = rr->r;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		for (uint32_t j = 0; j < r->slots; j++) {
			for (uint16_t i = 0; i < RACE_MACS; i++) {
				uint8_t mac[6];
				uint32_t s;
				uint16_t p;

				mac_of(i, mac);
				if (!dse_fdb_read(r->fdb, j, 1, mac, &s))
					continue;
				p = dse_fdb_state_port(s);
				__atomic_fetch_add(&r->reads_ok[rr->id], 1, __ATOMIC_RELAXED);
				if (p != 100 + 2 * i && p != 101 + 2 * i)
					r->wrong[rr->id]++;
			}
		}
	}
	return NULL;
}

/*
 * Steps: two reader threads read every slot for every address with
 * dse_fdb_read() while this thread, the writer, moves, deletes and
 * relearns the 16 addresses in a table of 8 (so slots are reused by other
 * addresses all the time), for at least 20000 rounds and until the readers
 * found addresses 100000 times (at most 10 million rounds).
 * Verify: the readers found addresses (the test raced), and never once read
 * a port that is not one of that address's own: a reader never pairs an
 * address with the word of another one that took its slot.
 */
static void test_fdb_readers_on_other_threads_never_see_another_address_port(void **state)
{
	struct race r = {.fdb = fdb_new(8)};
	struct race_reader rr[2] = {{&r, 0}, {&r, 1}};
	pthread_t th[2];

	(void)state;
	r.slots = (uint32_t)rte_hash_max_key_id(r.fdb->hash) + 1;
	for (int t = 0; t < 2; t++)
		assert_int_equal(pthread_create(&th[t], NULL, race_read, &rr[t]), 0);
	for (uint32_t round = 0; round < 10000000; round++) {
		uint16_t i = (uint16_t)(round % RACE_MACS);
		uint64_t reads = __atomic_load_n(&r.reads_ok[0], __ATOMIC_RELAXED) +
				 __atomic_load_n(&r.reads_ok[1], __ATOMIC_RELAXED);
		uint8_t mac[6];
		bool moved;

		if (round >= 20000 && reads >= 100000)
			break;
		mac_of(i, mac);
		dse_fdb_learn(r.fdb, 1, mac, (uint16_t)(100 + 2 * i + (round / RACE_MACS) % 2),
			      round, &moved);
		if (round % 3 == 0) {
			uint8_t other[6];

			mac_of((uint16_t)((i + 5) % RACE_MACS), other);
			dse_fdb_del(r.fdb, 1, other);
		}
	}
	__atomic_store_n(&r.stop, true, __ATOMIC_RELAXED);
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	assert_true(r.reads_ok[0] + r.reads_ok[1] >= 100000);
	assert_int_equal(r.wrong[0] + r.wrong[1], 0);
	dse_fdb_free(r.fdb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fdb_create_rejects_sizes_outside_1_to_1m),
	    cmocka_unit_test(test_fdb_learn_then_lookup_returns_the_entry),
	    cmocka_unit_test(test_fdb_learning_again_refreshes_the_timestamp),
	    cmocka_unit_test(test_fdb_learning_on_another_port_moves_the_entry),
	    cmocka_unit_test(test_fdb_static_entry_is_never_moved_by_learning),
	    cmocka_unit_test(test_fdb_static_entry_never_ages),
	    cmocka_unit_test(test_fdb_add_static_turns_a_learned_entry_static),
	    cmocka_unit_test(test_fdb_ages_entries_idle_longer_than_ageing_time),
	    cmocka_unit_test(test_fdb_ageing_is_correct_across_the_seconds_wrap),
	    cmocka_unit_test(test_fdb_ageing_time_zero_disables_ageing),
	    cmocka_unit_test(test_fdb_full_table_refuses_new_addresses_and_counts_them),
	    cmocka_unit_test(test_fdb_of_one_entry_holds_exactly_one_address),
	    cmocka_unit_test(test_fdb_same_mac_in_two_segments_is_two_entries),
	    cmocka_unit_test(test_fdb_del_removes_only_that_entry),
	    cmocka_unit_test(test_fdb_flush_by_segment_keeps_other_segments_and_static),
	    cmocka_unit_test(test_fdb_flush_by_port_keeps_other_ports_and_static),
	    cmocka_unit_test(test_fdb_flush_with_static_removes_static_entries),
	    cmocka_unit_test(test_fdb_change_hook_sees_every_change),
	    cmocka_unit_test(test_fdb_ageing_slices_are_bounded_and_cover_the_table),
	    cmocka_unit_test(test_fdb_every_change_bumps_the_version_of_the_word),
	    cmocka_unit_test(test_fdb_readers_on_other_threads_never_see_another_address_port),
	};

	return cmocka_run_group_tests(tests, eal_setup, eal_teardown);
}
