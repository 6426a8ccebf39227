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
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "fdb.h"

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
	static unsigned seq;
	char name[32];
	struct dse_fdb *fdb;

	snprintf(name, sizeof(name), "test_fdb_%u", seq++);
	fdb = dse_fdb_create(name, max_entries, NULL);
	assert_non_null(fdb);
	assert_int_equal(fdb->n_entries, 0);
	return fdb;
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
	assert_int_equal(e->port, 3);
	assert_int_equal(e->used, 1);
	assert_int_equal(e->is_static, 0);
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
	assert_int_equal(fdb->entries[idx].port, 2);
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
	assert_int_equal(fdb->entries[idx].is_static, 1);
	assert_int_equal(learn_ok(fdb, 1, mac_a, 2, 50, false), idx);
	assert_int_equal(fdb->entries[idx].port, 1);
	assert_int_equal(fdb->entries[idx].is_static, 1);
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
	assert_int_equal(fdb->entries[idx].port, 4);
	assert_int_equal(fdb->entries[idx].is_static, 1);
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
	assert_int_equal(fdb->entries[i1].port, 1);
	assert_int_equal(fdb->entries[i2].port, 2);
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
	assert_int_equal(fdb->entries[ia].used, 0);
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
	};

	return cmocka_run_group_tests(tests, eal_setup, eal_teardown);
}
