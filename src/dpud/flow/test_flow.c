/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the flow cache: key building, lookup and insert, validity by
 * generation, and the replacement order of a full bucket.  Plain C, no EAL.
 * To fill one bucket on purpose, the tests search keys whose hash lands in
 * the same bucket, using the cache's own hash and bucket functions, so they
 * hold whichever hash the build selects (CRC32-C or the portable one).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "flow.h"

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
		assert_int_equal(dse_flow_count(fc, GEN1), 0);
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
	f = dse_flow_insert(fc, k0, k1, GEN1);
	assert_non_null(f);
	assert_true(f->k0 == k0 && f->k1 == k1);
	assert_int_equal(f->gen, GEN1);
	f->out_port = 7;
	f->fdb_src = 42;
	f->vlan_op = DSE_VLAN_PUSH;
	f->vlan_tci = 10;

	assert_ptr_equal(dse_flow_lookup(fc, k0, k1, GEN1), f);
	assert_int_equal(f->out_port, 7);
	assert_int_equal(f->fdb_src, 42);
	assert_null(dse_flow_lookup(fc, o0, o1, GEN1));
	assert_int_equal(dse_flow_count(fc, GEN1), 1);
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
	f = dse_flow_insert(fc, k0, k1, GEN1);
	assert_ptr_equal(dse_flow_lookup(fc, k0, k1, GEN1), f);
	assert_null(dse_flow_lookup(fc, k0, k1, GEN2));
	assert_int_equal(dse_flow_count(fc, GEN2), 0);
	assert_ptr_equal(dse_flow_insert(fc, k0, k1, GEN2), f);
	assert_ptr_equal(dse_flow_lookup(fc, k0, k1, GEN2), f);
	assert_null(dse_flow_lookup(fc, k0, k1, GEN1));
	assert_int_equal(dse_flow_count(fc, GEN1), 0);
	assert_int_equal(dse_flow_count(fc, GEN2), 1);
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
		assert_ptr_equal(dse_flow_insert(fc, k0[i], k1[i], GEN1), &b[i]);
		holder[i] = i;
	}
	assert_int_equal(fc->evictions, 0);
	for (int i = 0; i < DSE_FLOW_WAYS; i++)
		assert_ptr_equal(dse_flow_lookup(fc, k0[i], k1[i], GEN1), &b[i]);

	for (int i = DSE_FLOW_WAYS; i < 9; i++) {
		int way = (i - DSE_FLOW_WAYS) % DSE_FLOW_WAYS;
		int old = holder[way];

		assert_ptr_equal(dse_flow_insert(fc, k0[i], k1[i], GEN1), &b[way]);
		holder[way] = i;
		assert_int_equal(fc->evictions, (uint64_t)(i - DSE_FLOW_WAYS + 1));
		assert_null(dse_flow_lookup(fc, k0[old], k1[old], GEN1));
		for (int w = 0; w < DSE_FLOW_WAYS; w++)
			assert_ptr_equal(dse_flow_lookup(fc, k0[holder[w]], k1[holder[w]], GEN1),
					 &b[w]);
	}
	assert_int_equal(dse_flow_count(fc, GEN1), DSE_FLOW_WAYS);
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
		dse_flow_insert(fc, k0[i], k1[i], GEN1);
	assert_ptr_equal(dse_flow_insert(fc, k0[4], k1[4], GEN2), &fc->entries[0]);
	assert_int_equal(fc->evictions, 0);
	assert_int_equal(dse_flow_count(fc, GEN1), 3);
	assert_int_equal(dse_flow_count(fc, GEN2), 1);
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
		dse_flow_insert(fc, k0[i], k1[i], GEN1);
	f = &fc->entries[2];
	f->out_port = 9;
	assert_ptr_equal(dse_flow_insert(fc, k0[2], k1[2], GEN1), f);
	assert_int_equal(f->out_port, 0);
	assert_int_equal(fc->evictions, 0);
	assert_int_equal(dse_flow_count(fc, GEN1), 4);
	for (int i = 0; i < 4; i++)
		assert_non_null(dse_flow_lookup(fc, k0[i], k1[i], GEN1));

	assert_ptr_equal(dse_flow_insert(fc, k0[2], k1[2], GEN2), f);
	assert_int_equal(dse_flow_count(fc, GEN2), 1);
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
		dse_flow_insert(fc, k0, k1, i < 10 ? GEN1 : GEN2);
	}
	assert_int_equal(fc->evictions, 0);
	assert_int_equal(dse_flow_count(fc, GEN1), 10);
	assert_int_equal(dse_flow_count(fc, GEN2), 3);
	assert_int_equal(dse_flow_count(fc, 3), 0);
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
		dse_flow_insert(fc, k0, k1, GEN1);
	}
	assert_true(dse_flow_count(fc, GEN1) > 0);
	dse_flow_clear(fc);
	assert_int_equal(dse_flow_count(fc, GEN1), 0);
	for (uint32_t i = 0; i < 100; i++) {
		key_n(i, &k0, &k1);
		assert_null(dse_flow_lookup(fc, k0, k1, GEN1));
	}
	key_n(0, &k0, &k1);
	f = dse_flow_insert(fc, k0, k1, GEN1);
	assert_ptr_equal(dse_flow_lookup(fc, k0, k1, GEN1), f);
	assert_int_equal(dse_flow_count(fc, GEN1), 1);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
