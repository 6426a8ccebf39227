/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the flow cache: key building, lookup and insert, validity by
 * generation and by the FDB entries a decision used, and the replacement
 * order of a full bucket.  The FDB sits on rte_hash, so the group starts a
 * minimal EAL (test_eal.h); the tests that do not care about the FDB use
 * one empty FDB, 'g_fdb', against which a zeroed reference holds.
 * To fill one bucket on purpose, the tests search keys whose hash lands in
 * the same bucket, using the cache's own hash and bucket functions, so they
 * hold whichever hash the build selects (CRC32-C or the portable one).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_eal.h"

#include <stdio.h>
#include <string.h>

#include "flow.h"
#include "test_fdb_new.h"

/* An empty FDB for the tests of the cache alone. */
static struct dse_fdb *g_fdb;

/* Destination then source MAC, then an ethertype the key must ignore. */
static const uint8_t base_frame[14] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00};

/* Generation numbers used by the tests; 0 marks empty entries. */
#define GEN1 1u
#define GEN2 2u

/* The key of 'base_frame' with 'byte' of the addresses set to 'v', on 'in_port'/'vlan_key'. */
static void key_of(int byte, uint8_t v, uint16_t in_port, uint16_t vlan_key, uint64_t *k0,
		   uint64_t *k1)
{
	uint8_t f[sizeof(base_frame)];

	memcpy(f, base_frame, sizeof(f));
	if (byte >= 0)
		f[byte] = v;
	dse_flow_key(f, in_port, vlan_key, k0, k1);
}

/* A key whose only difference is 'n' in the source MAC and the ingress port. */
static void key_n(uint32_t n, uint64_t *k0, uint64_t *k1)
{
	uint8_t f[12];

	memcpy(f, base_frame, sizeof(f));
	f[9] = (uint8_t)(n >> 16);
	f[10] = (uint8_t)(n >> 8);
	f[11] = (uint8_t)n;
	dse_flow_key(f, (uint16_t)(n >> 24), 0, k0, k1);
}

/* Finds the first 'n' keys (in key_n order) that hash to bucket 'bucket' of 'fc'. */
static void keys_in_bucket(const struct dse_flow_cache *fc, uint32_t bucket, unsigned n,
			   uint64_t *k0, uint64_t *k1)
{
	unsigned found = 0;

	for (uint32_t i = 0; found < n && i < (1u << 24); i++) {
		key_n(i, &k0[found], &k1[found]);
		if ((dse_flow_hash(k0[found], k1[found]) & fc->bucket_mask) == bucket)
			found++;
	}
	assert_int_equal(found, n);
}

/* The bucket index of ('k0', 'k1') in 'fc'. */
static uint32_t bucket_of(const struct dse_flow_cache *fc, uint64_t k0, uint64_t k1)
{
	return dse_flow_hash(k0, k1) & fc->bucket_mask;
}

/*
 * Steps: create caches of 0, 1, 4, 5, 1000 and 2^26 + 1 entries.
 * Verify: 0 and 2^26 + 1 are refused; the others are rounded up to a power
 * of two of 4-way buckets at least as large as asked, and start empty.
 */
static void test_flow_cache_create_rounds_up_to_power_of_two_buckets(void **state)
{
	static const struct {
		uint32_t asked, buckets;
	} cases[] = {{1, 1}, {4, 1}, {5, 2}, {9, 4}, {1000, 256}, {1024, 256}};
	struct dse_flow_cache *fc;

	(void)state;
	assert_null(dse_flow_cache_create(0));
	assert_null(dse_flow_cache_create((1u << 26) + 1));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fc = dse_flow_cache_create(cases[i].asked);
		assert_non_null(fc);
		assert_int_equal(fc->bucket_mask + 1, cases[i].buckets);
		assert_int_equal(dse_flow_count(fc, g_fdb, GEN1), 0);
		assert_int_equal(fc->hits + fc->misses + fc->inserts + fc->evictions, 0);
		dse_flow_cache_free(fc);
	}
	dse_flow_cache_free(NULL);
}

/*
 * Steps: build the key of a frame, then of the same frame with each of the
 * 12 address bytes changed, on another ingress port, with a VLAN, with
 * another VLAN, and with a different ethertype.
 * Verify: the same input gives the same key; every address byte, the port
 * and the VLAN change the key; bytes after the addresses do not.
 */
static void test_flow_key_covers_port_vlan_and_both_macs(void **state)
{
	uint64_t b0, b1, k0, k1;

	(void)state;
	key_of(-1, 0, 1, 0, &b0, &b1);
	key_of(-1, 0, 1, 0, &k0, &k1);
	assert_true(k0 == b0 && k1 == b1);

	for (int byte = 0; byte < 12; byte++) {
		key_of(byte, (uint8_t)(base_frame[byte] ^ 0x80), 1, 0, &k0, &k1);
		assert_false(k0 == b0 && k1 == b1);
	}
	key_of(-1, 0, 2, 0, &k0, &k1);
	assert_false(k0 == b0 && k1 == b1);
	key_of(-1, 0, 0xffff, 0, &k0, &k1);
	assert_false(k0 == b0 && k1 == b1);
	key_of(-1, 0, 1, 0x1000 | 10, &k0, &k1);
	assert_false(k0 == b0 && k1 == b1);
	/* Tagged with VLAN 0 differs from untagged; VLAN 10 differs from 11. */
	key_of(-1, 0, 1, 0x1000, &b0, &b1);
	assert_false(k0 == b0 && k1 == b1);
	key_of(-1, 0, 1, 0x1000 | 11, &b0, &b1);
	assert_false(k0 == b0 && k1 == b1);

	key_of(-1, 0, 1, 0, &b0, &b1);
	key_of(12, 0x86, 1, 0, &k0, &k1);
	assert_true(k0 == b0 && k1 == b1);
}

/*
 * Steps: insert a key in generation 1, fill in the decision, look it up,
 * then look up a key that differs only by ingress port.
 * Verify: the lookup returns the very slot with the decision; the other
 * key misses; one insert is counted and no eviction.
 */
static void test_flow_insert_then_lookup_hits(void **state)
{
	struct dse_flow_cache *fc = dse_flow_cache_create(64);
	struct dse_flow_entry *f;
	uint64_t k0, k1, o0, o1;

	(void)state;
	key_of(-1, 0, 1, 0, &k0, &k1);
	key_of(-1, 0, 2, 0, &o0, &o1);
	assert_null(dse_flow_lookup(fc, k0, k1, GEN1));
	f = dse_flow_insert(fc, g_fdb, k0, k1, GEN1);
	assert_non_null(f);
	assert_true(f->k0 == k0 && f->k1 == k1);
	assert_int_equal(f->gen, GEN1);
	f->out_port = 7;
	f->ref.src_idx = 42;
	f->vlan_op = DSE_VLAN_PUSH;
	f->vlan_tci = 10;

	assert_ptr_equal(dse_flow_lookup(fc, k0, k1, GEN1), f);
	assert_int_equal(f->out_port, 7);
	assert_int_equal(f->ref.src_idx, 42);
	assert_null(dse_flow_lookup(fc, o0, o1, GEN1));
	assert_int_equal(dse_flow_count(fc, g_fdb, GEN1), 1);
	assert_int_equal(fc->inserts, 1);
	assert_int_equal(fc->evictions, 0);
	dse_flow_cache_free(fc);
}

/*
 * Steps: insert a key in generation 1, look it up in generation 2, insert
 * it in generation 2.
 * Verify: the bumped generation misses and counts nothing valid; the insert
 * in generation 2 takes the same slot, so the key is cached only once.
 */
static void test_flow_bumped_generation_makes_lookup_miss(void **state)
{
	struct dse_flow_cache *fc = dse_flow_cache_create(64);
	struct dse_flow_entry *f;
	uint64_t k0, k1;

	(void)state;
	key_of(-1, 0, 1, 0, &k0, &k1);
	f = dse_flow_insert(fc, g_fdb, k0, k1, GEN1);
	assert_ptr_equal(dse_flow_lookup(fc, k0, k1, GEN1), f);
	assert_null(dse_flow_lookup(fc, k0, k1, GEN2));
	assert_int_equal(dse_flow_count(fc, g_fdb, GEN2), 0);
	assert_ptr_equal(dse_flow_insert(fc, g_fdb, k0, k1, GEN2), f);
	assert_ptr_equal(dse_flow_lookup(fc, k0, k1, GEN2), f);
	assert_null(dse_flow_lookup(fc, k0, k1, GEN1));
	assert_int_equal(dse_flow_count(fc, g_fdb, GEN1), 0);
	assert_int_equal(dse_flow_count(fc, g_fdb, GEN2), 1);
	dse_flow_cache_free(fc);
}

/*
 * Steps: in a cache of 16 buckets, find 9 keys of bucket 5; insert the
 * first 4, then the other 5 one by one.
 * Verify: the first 4 take ways 0..3 without eviction; each further insert
 * replaces ways 0, 1, 2, 3, 0 in turn, so the replaced key misses and every
 * other key of the bucket still hits; other buckets stay empty.
 */
static void test_flow_full_bucket_replaces_ways_in_turn(void **state)
{
	struct dse_flow_cache *fc = dse_flow_cache_create(64);
	uint64_t k0[9], k1[9];
	struct dse_flow_entry *b;
	/* Which key each way holds, to check which ones must still hit. */
	int holder[DSE_FLOW_WAYS];

	(void)state;
	assert_int_equal(fc->bucket_mask, 15);
	keys_in_bucket(fc, 5, 9, k0, k1);
	b = &fc->entries[5 * DSE_FLOW_WAYS];
	for (int i = 0; i < DSE_FLOW_WAYS; i++) {
		assert_ptr_equal(dse_flow_insert(fc, g_fdb, k0[i], k1[i], GEN1), &b[i]);
		holder[i] = i;
	}
	assert_int_equal(fc->evictions, 0);
	for (int i = 0; i < DSE_FLOW_WAYS; i++)
		assert_ptr_equal(dse_flow_lookup(fc, k0[i], k1[i], GEN1), &b[i]);

	for (int i = DSE_FLOW_WAYS; i < 9; i++) {
		int way = (i - DSE_FLOW_WAYS) % DSE_FLOW_WAYS;
		int old = holder[way];

		assert_ptr_equal(dse_flow_insert(fc, g_fdb, k0[i], k1[i], GEN1), &b[way]);
		holder[way] = i;
		assert_int_equal(fc->evictions, (uint64_t)(i - DSE_FLOW_WAYS + 1));
		assert_null(dse_flow_lookup(fc, k0[old], k1[old], GEN1));
		for (int w = 0; w < DSE_FLOW_WAYS; w++)
			assert_ptr_equal(dse_flow_lookup(fc, k0[holder[w]], k1[holder[w]], GEN1),
					 &b[w]);
	}
	assert_int_equal(dse_flow_count(fc, g_fdb, GEN1), DSE_FLOW_WAYS);
	assert_int_equal(fc->inserts, 9);
	dse_flow_cache_free(fc);
}

/*
 * Steps: fill bucket 0 of a one-bucket cache in generation 1, then insert
 * a new key of the same bucket in generation 2.
 * Verify: the stale way 0 is reused without counting an eviction.
 */
static void test_flow_insert_takes_a_stale_way_before_evicting(void **state)
{
	struct dse_flow_cache *fc = dse_flow_cache_create(4);
	uint64_t k0[5], k1[5];

	(void)state;
	assert_int_equal(fc->bucket_mask, 0);
	keys_in_bucket(fc, 0, 5, k0, k1);
	for (int i = 0; i < 4; i++)
		dse_flow_insert(fc, g_fdb, k0[i], k1[i], GEN1);
	assert_ptr_equal(dse_flow_insert(fc, g_fdb, k0[4], k1[4], GEN2), &fc->entries[0]);
	assert_int_equal(fc->evictions, 0);
	assert_int_equal(dse_flow_count(fc, g_fdb, GEN1), 3);
	assert_int_equal(dse_flow_count(fc, g_fdb, GEN2), 1);
	dse_flow_cache_free(fc);
}

/*
 * Steps: fill a one-bucket cache, set a decision on way 2, insert way 2's
 * key again; then, after a generation bump, insert way 2's key once more.
 * Verify: each re-insert returns way 2 itself with the decision cleared and
 * evicts nothing; after the bump it is not put in the stale way 0 (which
 * would leave the key twice in the bucket).
 */
static void test_flow_reinsert_of_same_key_reuses_its_slot(void **state)
{
	struct dse_flow_cache *fc = dse_flow_cache_create(4);
	uint64_t k0[4], k1[4];
	struct dse_flow_entry *f;

	(void)state;
	keys_in_bucket(fc, 0, 4, k0, k1);
	for (int i = 0; i < 4; i++)
		dse_flow_insert(fc, g_fdb, k0[i], k1[i], GEN1);
	f = &fc->entries[2];
	f->out_port = 9;
	assert_ptr_equal(dse_flow_insert(fc, g_fdb, k0[2], k1[2], GEN1), f);
	assert_int_equal(f->out_port, 0);
	assert_int_equal(fc->evictions, 0);
	assert_int_equal(dse_flow_count(fc, g_fdb, GEN1), 4);
	for (int i = 0; i < 4; i++)
		assert_non_null(dse_flow_lookup(fc, k0[i], k1[i], GEN1));

	assert_ptr_equal(dse_flow_insert(fc, g_fdb, k0[2], k1[2], GEN2), f);
	assert_int_equal(dse_flow_count(fc, g_fdb, GEN2), 1);
	assert_int_equal(fc->evictions, 0);
	dse_flow_cache_free(fc);
}

/*
 * Steps: insert 10 keys in generation 1 and 3 in generation 2 (all in
 * different buckets of a large cache).
 * Verify: count reports 10 and 3, and 0 for a generation never used.
 */
static void test_flow_count_counts_only_the_given_generation(void **state)
{
	struct dse_flow_cache *fc = dse_flow_cache_create(1 << 16);
	uint64_t k0, k1;

	(void)state;
	for (uint32_t i = 0; i < 13; i++) {
		key_n(i, &k0, &k1);
		dse_flow_insert(fc, g_fdb, k0, k1, i < 10 ? GEN1 : GEN2);
	}
	assert_int_equal(fc->evictions, 0);
	assert_int_equal(dse_flow_count(fc, g_fdb, GEN1), 10);
	assert_int_equal(dse_flow_count(fc, g_fdb, GEN2), 3);
	assert_int_equal(dse_flow_count(fc, g_fdb, 3), 0);
	dse_flow_cache_free(fc);
}

/*
 * Steps: insert 100 keys, clear the cache, look them up and insert one.
 * Verify: after clear nothing is valid and nothing hits; the cache works
 * again afterwards.
 */
static void test_flow_clear_empties_every_entry(void **state)
{
	struct dse_flow_cache *fc = dse_flow_cache_create(256);
	struct dse_flow_entry *f;
	uint64_t k0, k1;

	(void)state;
	for (uint32_t i = 0; i < 100; i++) {
		key_n(i, &k0, &k1);
		dse_flow_insert(fc, g_fdb, k0, k1, GEN1);
	}
	assert_true(dse_flow_count(fc, g_fdb, GEN1) > 0);
	dse_flow_clear(fc);
	assert_int_equal(dse_flow_count(fc, g_fdb, GEN1), 0);
	for (uint32_t i = 0; i < 100; i++) {
		key_n(i, &k0, &k1);
		assert_null(dse_flow_lookup(fc, k0, k1, GEN1));
	}
	key_n(0, &k0, &k1);
	f = dse_flow_insert(fc, g_fdb, k0, k1, GEN1);
	assert_ptr_equal(dse_flow_lookup(fc, k0, k1, GEN1), f);
	assert_int_equal(dse_flow_count(fc, g_fdb, GEN1), 1);
	dse_flow_cache_free(fc);
}

/*
 * Steps: count how the first 4096 keys of key_n spread over 256 buckets.
 * Verify: every bucket is used and none holds more than 4 times the mean,
 * so keys that differ in a few low bits (one station, many peers) do not
 * pile into a few buckets.
 */
static void test_flow_hash_spreads_close_keys_over_buckets(void **state)
{
	struct dse_flow_cache *fc = dse_flow_cache_create(1024);
	unsigned per[256] = {0};
	uint64_t k0, k1;

	(void)state;
	assert_int_equal(fc->bucket_mask, 255);
	for (uint32_t i = 0; i < 4096; i++) {
		key_n(i, &k0, &k1);
		per[bucket_of(fc, k0, k1)]++;
	}
	for (int b = 0; b < 256; b++) {
		assert_true(per[b] > 0);
		assert_true(per[b] <= 4 * 16);
	}
	dse_flow_cache_free(fc);
}

/* Creates an FDB under a name no other test uses. */
static struct dse_fdb *fdb_new(uint32_t max_entries)
{
	return test_fdb_new("test_flow_fdb", max_entries);
}

/* Station 'i' of the FDB tests: MAC 02:00:00:00:01:i, behind port 1 + i % 4. */
#define N_STATIONS 8
static void station_mac(unsigned i, uint8_t mac[6])
{
	const uint8_t m[6] = {0x02, 0, 0, 0, 0x01, (uint8_t)i};

	memcpy(mac, m, 6);
}

static uint16_t station_port(unsigned i)
{
	return (uint16_t)(1 + i % 4);
}

/* Learns every station in segment 1 at 'now_s'; fills 'idx' with their entries. */
static void learn_stations(struct dse_fdb *fdb, uint32_t now_s, int idx[N_STATIONS])
{
	for (unsigned i = 0; i < N_STATIONS; i++) {
		uint8_t mac[6];
		bool moved;

		station_mac(i, mac);
		idx[i] = dse_fdb_learn(fdb, 1, mac, station_port(i), now_s, &moved);
		assert_true(idx[i] >= 0);
	}
}

/* The layer 2 key of a frame from station 's' to station 'd', received on the port of 's'. */
static void station_key(unsigned s, unsigned d, uint64_t *k0, uint64_t *k1)
{
	uint8_t f[12];

	station_mac(d, f);
	station_mac(s, f + 6);
	dse_flow_key(f, station_port(s), 0, k0, k1);
}

/*
 * Caches the decision of the node "dse_fdb" for every pair of different
 * stations (56 decisions), each referring to both stations' entries as
 * they are now.
 */
static void cache_all_pairs(struct dse_flow_cache *fc, struct dse_fdb *fdb,
			    const int idx[N_STATIONS])
{
	for (unsigned s = 0; s < N_STATIONS; s++) {
		for (unsigned d = 0; d < N_STATIONS; d++) {
			struct dse_flow_fdb_ref ref;
			struct dse_flow_entry *f;
			uint64_t k0, k1;

			if (s == d)
				continue;
			assert_true(dse_flow_ref_make(&ref, station_port(s), (uint32_t)idx[s],
						      dse_fdb_state(fdb, (uint32_t)idx[s]),
						      (uint32_t)idx[d],
						      dse_fdb_state(fdb, (uint32_t)idx[d])));
			station_key(s, d, &k0, &k1);
			f = dse_flow_insert(fc, fdb, k0, k1, GEN1);
			f->ref = ref;
			f->out_port = station_port(d);
		}
	}
}

/* Returns true if the decision from 's' to 'd' is cached and still holds. */
static bool pair_hits(const struct dse_flow_cache *fc, const struct dse_fdb *fdb, unsigned s,
		      unsigned d)
{
	const struct dse_flow_entry *f;
	uint64_t k0, k1;

	station_key(s, d, &k0, &k1);
	f = dse_flow_lookup(fc, k0, k1, GEN1);
	return f != NULL && dse_flow_ref_ok(fdb, &f->ref);
}

/*
 * Asserts that exactly the decisions from or to a station of 'gone' (a bit
 * per station) miss, and every other one still hits.
 */
static void assert_only_pairs_of(const struct dse_flow_cache *fc, const struct dse_fdb *fdb,
				 unsigned gone)
{
	uint32_t valid = 0;

	for (unsigned s = 0; s < N_STATIONS; s++) {
		for (unsigned d = 0; d < N_STATIONS; d++) {
			bool hit, expect;

			if (s == d)
				continue;
			hit = pair_hits(fc, fdb, s, d);
			expect = !((gone >> s) & 1) && !((gone >> d) & 1);
			if (hit != expect)
				fail_msg("decision %u -> %u: hit %d, expected %d", s, d, hit, expect);
			valid += expect;
		}
	}
	assert_int_equal(dse_flow_count(fc, fdb, GEN1), valid);
}

/*
 * Steps: learn 8 stations; cache the decisions of all 56 pairs; station 3
 * moves to another port (learned there).
 * Verify: before, all 56 hit; after, exactly the 14 decisions from or to
 * station 3 miss and the other 42 still hit, in the same generation (no
 * global invalidation); the moved entry's word has the new port and a
 * higher version.
 */
static void test_flow_move_retires_exactly_the_decisions_using_that_mac(void **state)
{
	struct dse_flow_cache *fc = dse_flow_cache_create(1024);
	struct dse_fdb *fdb = fdb_new(64);
	int idx[N_STATIONS];
	uint32_t before;
	uint8_t mac[6];
	bool moved;

	(void)state;
	learn_stations(fdb, 100, idx);
	cache_all_pairs(fc, fdb, idx);
	assert_only_pairs_of(fc, fdb, 0);
	assert_int_equal(dse_flow_count(fc, fdb, GEN1), 56);

	before = dse_fdb_state(fdb, (uint32_t)idx[3]);
	station_mac(3, mac);
	assert_int_equal(dse_fdb_learn(fdb, 1, mac, 9, 101, &moved), idx[3]);
	assert_true(moved);
	assert_int_equal(dse_fdb_state_port(dse_fdb_state(fdb, (uint32_t)idx[3])), 9);
	assert_true(dse_fdb_state(fdb, (uint32_t)idx[3]) >> DSE_FDB_VERSION_SHIFT >
		    before >> DSE_FDB_VERSION_SHIFT);
	assert_only_pairs_of(fc, fdb, 1u << 3);
	assert_int_equal(dse_flow_count(fc, fdb, GEN1), 42);

	/* Learning again on the same port, or refreshing, changes nothing. */
	assert_int_equal(dse_fdb_learn(fdb, 1, mac, 9, 102, &moved), idx[3]);
	assert_false(moved);
	assert_int_equal(dse_flow_count(fc, fdb, GEN1), 42);
	dse_flow_cache_free(fc);
	dse_fdb_free(fdb);
}

/*
 * Steps: learn 8 stations and cache all pairs; age out station 5 (the
 * others seen again in time); delete station 6; flush port 1 (stations 0
 * and 4); then learn a new address, which may take a freed slot.
 * Verify: after each step exactly the decisions of the removed stations
 * miss; the new address does not revive any decision of the removed ones
 * (a reused slot shows a new version); a static entry re-pointed by
 * fdb.add retires its decisions too.
 */
static void test_flow_ageing_delete_and_flush_retire_only_their_decisions(void **state)
{
	struct dse_flow_cache *fc = dse_flow_cache_create(1024);
	struct dse_fdb *fdb = fdb_new(64);
	const uint8_t newcomer[6] = {0x02, 0, 0, 0, 0x02, 0x01};
	int idx[N_STATIONS];
	uint8_t mac[6];
	bool moved;

	(void)state;
	fdb->ageing_s = 300;
	learn_stations(fdb, 100, idx);
	cache_all_pairs(fc, fdb, idx);
	for (unsigned i = 0; i < N_STATIONS; i++) {
		station_mac(i, mac);
		if (i != 5)
			dse_fdb_learn(fdb, 1, mac, station_port(i), 300, &moved);
	}
	assert_int_equal(dse_fdb_age(fdb, 401), 1);
	assert_only_pairs_of(fc, fdb, 1u << 5);

	station_mac(6, mac);
	assert_int_equal(dse_fdb_del(fdb, 1, mac), 0);
	assert_only_pairs_of(fc, fdb, 1u << 5 | 1u << 6);

	assert_int_equal(dse_fdb_flush(fdb, 1, 1, false), 2);
	assert_only_pairs_of(fc, fdb, 1u << 0 | 1u << 4 | 1u << 5 | 1u << 6);

	for (unsigned i = 0; i < 4; i++) {
		uint8_t m[6];

		memcpy(m, newcomer, 6);
		m[5] = (uint8_t)(1 + i);
		assert_true(dse_fdb_learn(fdb, 1, m, 1, 402, &moved) >= 0);
	}
	assert_only_pairs_of(fc, fdb, 1u << 0 | 1u << 4 | 1u << 5 | 1u << 6);

	station_mac(7, mac);
	assert_int_equal(dse_fdb_add_static(fdb, 1, mac, 2), idx[7]);
	assert_only_pairs_of(fc, fdb, 1u << 0 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 7);
	dse_flow_cache_free(fc);
	dse_fdb_free(fdb);
}

/*
 * Steps: make references for a frame from station 0 received on its own
 * port, on another port, and from a static entry on another port.
 * Verify: the first and the static one are made; a source whose entry is
 * behind another port than the frame came in by (moved meanwhile) is not
 * cached, since a hit would skip the learning that moves it back; free
 * entries are never referenced.
 */
static void test_flow_ref_make_refuses_a_source_behind_another_port(void **state)
{
	struct dse_fdb *fdb = fdb_new(64);
	struct dse_flow_fdb_ref ref;
	int idx[N_STATIONS];
	uint32_t s0, s1;
	uint8_t mac[6];

	(void)state;
	learn_stations(fdb, 100, idx);
	s0 = dse_fdb_state(fdb, (uint32_t)idx[0]);
	s1 = dse_fdb_state(fdb, (uint32_t)idx[1]);
	assert_true(dse_flow_ref_make(&ref, station_port(0), (uint32_t)idx[0], s0,
				      (uint32_t)idx[1], s1));
	assert_int_equal(ref.src_state, s0);
	assert_int_equal(ref.dst_idx, idx[1]);
	assert_false(dse_flow_ref_make(&ref, station_port(2), (uint32_t)idx[0], s0,
				       (uint32_t)idx[1], s1));
	assert_false(dse_flow_ref_make(&ref, station_port(0), (uint32_t)idx[0], s0,
				       (uint32_t)idx[1], s1 & ~DSE_FDB_USED));
	station_mac(0, mac);
	assert_int_equal(dse_fdb_add_static(fdb, 1, mac, station_port(0)), idx[0]);
	s0 = dse_fdb_state(fdb, (uint32_t)idx[0]);
	assert_true(dse_flow_ref_make(&ref, station_port(2), (uint32_t)idx[0], s0,
				      (uint32_t)idx[1], s1));
	dse_fdb_free(fdb);
}

/*
 * Steps: in a 16-bucket cache, fill bucket 3 with 4 decisions of station
 * pairs' entries; station 2 moves, which retires the decision in way 2;
 * insert a fifth key of that bucket.
 * Verify: the insert takes way 2 (the retired one) and evicts nothing; the
 * other three still hit.
 */
static void test_flow_insert_takes_a_way_whose_fdb_entry_changed(void **state)
{
	struct dse_flow_cache *fc = dse_flow_cache_create(64);
	struct dse_fdb *fdb = fdb_new(64);
	uint64_t k0[5], k1[5];
	int idx[N_STATIONS];
	uint8_t mac[6];
	bool moved;

	(void)state;
	learn_stations(fdb, 100, idx);
	keys_in_bucket(fc, 3, 5, k0, k1);
	for (unsigned w = 0; w < 4; w++) {
		struct dse_flow_entry *f = dse_flow_insert(fc, fdb, k0[w], k1[w], GEN1);

		assert_ptr_equal(f, &fc->entries[3 * DSE_FLOW_WAYS + w]);
		assert_true(dse_flow_ref_make(&f->ref, station_port(w), (uint32_t)idx[w],
					      dse_fdb_state(fdb, (uint32_t)idx[w]),
					      (uint32_t)idx[7], dse_fdb_state(fdb, (uint32_t)idx[7])));
	}
	station_mac(2, mac);
	dse_fdb_learn(fdb, 1, mac, 12, 101, &moved);
	assert_true(moved);
	assert_ptr_equal(dse_flow_insert(fc, fdb, k0[4], k1[4], GEN1),
			 &fc->entries[3 * DSE_FLOW_WAYS + 2]);
	assert_int_equal(fc->evictions, 0);
	for (unsigned w = 0; w < 4; w++) {
		const struct dse_flow_entry *f = dse_flow_lookup(fc, k0[w], k1[w], GEN1);

		if (w == 2) {
			assert_null(f);
			continue;
		}
		assert_non_null(f);
		assert_true(dse_flow_ref_ok(fdb, &f->ref));
	}
	dse_flow_cache_free(fc);
	dse_fdb_free(fdb);
}

/*
 * Steps: cache a layer 4 decision for two connections' directions, one
 * between stations 0 and 1, one between stations 2 and 3; station 1 moves.
 * Verify: the first decision misses (its reference fails) and the second
 * still holds; the L4 count drops by one.
 */
static void test_flow4_move_retires_only_the_decisions_using_that_mac(void **state)
{
	struct dse_flow4_cache *fc = dse_flow4_cache_create(64);
	struct dse_fdb *fdb = fdb_new(64);
	uint64_t k[2][DSE_FLOW4_KEY_WORDS];
	struct dse_flow4_entry *f[2];
	int idx[N_STATIONS];
	uint8_t mac[6];
	bool moved;

	(void)state;
	learn_stations(fdb, 100, idx);
	for (unsigned c = 0; c < 2; c++) {
		unsigned s = 2 * c, d = 2 * c + 1;
		uint64_t k0, k1;

		memset(k[c], 0, sizeof(k[c]));
		station_key(s, d, &k0, &k1);
		k[c][0] = k0;
		k[c][1] = k1;
		k[c][2] = 6 | (80ull << 48);
		f[c] = dse_flow4_insert(fc, k[c], GEN1);
		assert_true(dse_flow_ref_make(&f[c]->ref, station_port(s), (uint32_t)idx[s],
					      dse_fdb_state(fdb, (uint32_t)idx[s]), (uint32_t)idx[d],
					      dse_fdb_state(fdb, (uint32_t)idx[d])));
	}
	assert_int_equal(dse_flow4_count(fc, fdb, GEN1), 2);
	station_mac(1, mac);
	dse_fdb_learn(fdb, 1, mac, 11, 101, &moved);
	assert_true(moved);
	for (unsigned c = 0; c < 2; c++) {
		struct dse_flow4_entry *b = dse_flow4_bucket(fc, dse_flow4_hash(k[c]));

		assert_ptr_equal(dse_flow4_find(b, k[c], GEN1), f[c]);
		assert_int_equal(dse_flow_ref_ok(fdb, &f[c]->ref), c == 1);
	}
	assert_int_equal(dse_flow4_count(fc, fdb, GEN1), 1);
	dse_flow4_cache_free(fc);
	dse_fdb_free(fdb);
}

static int group_setup(void **state)
{
	(void)state;
	if (test_eal_init("test-flow", "64") < 0)
		return -1;
	g_fdb = dse_fdb_create("test_flow_empty", 64, NULL);
	return g_fdb == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	dse_fdb_free(g_fdb);
	return test_eal_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_flow_cache_create_rounds_up_to_power_of_two_buckets),
	    cmocka_unit_test(test_flow_key_covers_port_vlan_and_both_macs),
	    cmocka_unit_test(test_flow_insert_then_lookup_hits),
	    cmocka_unit_test(test_flow_bumped_generation_makes_lookup_miss),
	    cmocka_unit_test(test_flow_full_bucket_replaces_ways_in_turn),
	    cmocka_unit_test(test_flow_insert_takes_a_stale_way_before_evicting),
	    cmocka_unit_test(test_flow_reinsert_of_same_key_reuses_its_slot),
	    cmocka_unit_test(test_flow_count_counts_only_the_given_generation),
	    cmocka_unit_test(test_flow_clear_empties_every_entry),
	    cmocka_unit_test(test_flow_hash_spreads_close_keys_over_buckets),
	    cmocka_unit_test(test_flow_move_retires_exactly_the_decisions_using_that_mac),
	    cmocka_unit_test(test_flow_ageing_delete_and_flush_retire_only_their_decisions),
	    cmocka_unit_test(test_flow_ref_make_refuses_a_source_behind_another_port),
	    cmocka_unit_test(test_flow_insert_takes_a_way_whose_fdb_entry_changed),
	    cmocka_unit_test(test_flow4_move_retires_only_the_decisions_using_that_mac),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
