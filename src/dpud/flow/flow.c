/* SPDX-License-Identifier: BSD-3-Clause */
#include "flow.h"

#include <stdlib.h>
#include <sys/mman.h>

/* Tables of this size or more are asked to live in transparent huge pages. */
#define TABLE_HUGE (2u << 20)

/*
 * The two caches share their layout: 'n_buckets' buckets of DSE_FLOW_WAYS
 * entries of 'entry_size' bytes, and one victim counter per bucket.  These
 * allocate and empty that layout for both.
 */
static int table_alloc(uint32_t n_entries, size_t entry_size, void **ret_entries,
		       uint8_t **ret_victims, uint32_t *ret_mask)
{
	uint32_t buckets = 1;
	size_t size;

	if (n_entries == 0 || n_entries > (1u << 24))
		return -1;
	while (buckets * DSE_FLOW_WAYS < n_entries)
		buckets <<= 1;
	size = entry_size * DSE_FLOW_WAYS * buckets;
	/*
	 * Lookups land anywhere in the table: on 4 KiB pages every one of a
	 * large table's lookups would also miss the TLB.  Where the kernel
	 * lets a process ask (transparent huge pages, "madvise"), a large
	 * table is aligned and sized to 2 MiB pages and asks for them.
	 */
	if (size >= TABLE_HUGE) {
		size = (size + TABLE_HUGE - 1) & ~(size_t)(TABLE_HUGE - 1);
		*ret_entries = aligned_alloc(TABLE_HUGE, size);
		if (*ret_entries != NULL)
			(void)madvise(*ret_entries, size, MADV_HUGEPAGE);
	} else {
		*ret_entries = aligned_alloc(64, size);
	}
	*ret_victims = calloc(buckets, 1);
	if (*ret_entries == NULL || *ret_victims == NULL) {
		free(*ret_entries);
		free(*ret_victims);
		return -1;
	}
	*ret_mask = buckets - 1;
	memset(*ret_entries, 0, size);
	return 0;
}

/* Returns the way of bucket 'b' to replace next, and moves the bucket's turn on. */
static unsigned table_victim(uint8_t *victims, uint32_t b)
{
	unsigned v = victims[b];

	victims[b] = (uint8_t)((v + 1) % DSE_FLOW_WAYS);
	return v;
}

struct dse_flow_cache *dse_flow_cache_create(uint32_t n_entries)
{
	struct dse_flow_cache *fc = calloc(1, sizeof(*fc));
	void *entries;

	if (fc == NULL || table_alloc(n_entries, sizeof(struct dse_flow_entry), &entries,
				      &fc->next_victim, &fc->bucket_mask) < 0) {
		free(fc);
		return NULL;
	}
	fc->entries = entries;
	return fc;
}

void dse_flow_cache_free(struct dse_flow_cache *fc)
{
	if (fc == NULL)
		return;
	free(fc->entries);
	free(fc->next_victim);
	free(fc);
}

void dse_flow_clear(struct dse_flow_cache *fc)
{
	memset(fc->entries, 0,
	       sizeof(struct dse_flow_entry) * DSE_FLOW_WAYS * (fc->bucket_mask + 1));
}

struct dse_flow_entry *dse_flow_insert(struct dse_flow_cache *fc, const struct dse_fdb *fdb,
				       uint64_t k0, uint64_t k1, uint32_t gen)
{
	uint32_t h = dse_flow_hash(k0, k1);
	struct dse_flow_entry *b = dse_flow_bucket(fc, h);
	struct dse_flow_entry *slot = NULL;

	for (int w = 0; w < DSE_FLOW_WAYS; w++) {
		if (b[w].k0 == k0 && b[w].k1 == k1) {
			slot = &b[w];
			break;
		}
		if (slot == NULL && (b[w].gen != gen || !dse_flow_ref_ok(fdb, &b[w].ref)))
			slot = &b[w];
	}
	if (slot == NULL) {
		slot = &b[table_victim(fc->next_victim, h & fc->bucket_mask)];
		fc->evictions++;
	}
	memset(slot, 0, sizeof(*slot));
	slot->k0 = k0;
	slot->k1 = k1;
	slot->gen = gen;
	fc->inserts++;
	return slot;
}

uint32_t dse_flow_count(const struct dse_flow_cache *fc, const struct dse_fdb *fdb, uint32_t gen)
{
	uint32_t n = 0, total = (fc->bucket_mask + 1) * DSE_FLOW_WAYS;

	for (uint32_t i = 0; i < total; i++)
		n += fc->entries[i].gen == gen && dse_flow_ref_ok(fdb, &fc->entries[i].ref);
	return n;
}

struct dse_flow4_cache *dse_flow4_cache_create(uint32_t n_entries)
{
	struct dse_flow4_cache *fc = calloc(1, sizeof(*fc));
	void *entries;

	if (fc == NULL || table_alloc(n_entries, sizeof(struct dse_flow4_entry), &entries,
				      &fc->next_victim, &fc->bucket_mask) < 0) {
		free(fc);
		return NULL;
	}
	fc->entries = entries;
	return fc;
}

void dse_flow4_cache_free(struct dse_flow4_cache *fc)
{
	if (fc == NULL)
		return;
	free(fc->entries);
	free(fc->next_victim);
	free(fc);
}

void dse_flow4_clear(struct dse_flow4_cache *fc)
{
	memset(fc->entries, 0,
	       sizeof(struct dse_flow4_entry) * DSE_FLOW_WAYS * (fc->bucket_mask + 1));
}

struct dse_flow4_entry *dse_flow4_insert(struct dse_flow4_cache *fc,
					 const uint64_t k[DSE_FLOW4_KEY_WORDS], uint32_t gen)
{
	uint32_t h = dse_flow4_hash(k);
	struct dse_flow4_entry *b = &fc->entries[(h & fc->bucket_mask) * DSE_FLOW_WAYS];
	struct dse_flow4_entry *slot = NULL;

	for (int w = 0; w < DSE_FLOW_WAYS; w++) {
		if (dse_flow4_key_eq(b[w].k, k)) {
			slot = &b[w];
			break;
		}
		/*
		 * Only the generation: a way's FDB reference is in its second
		 * cache line, and reading that line of every way costs the
		 * insert more (conn_setup: about 4% of the rate) than replacing
		 * a retired way in turn loses.
		 */
		if (slot == NULL && b[w].gen != gen)
			slot = &b[w];
	}
	if (slot == NULL) {
		slot = &b[table_victim(fc->next_victim, h & fc->bucket_mask)];
		fc->evictions++;
	}
	memset(slot, 0, sizeof(*slot));
	memcpy(slot->k, k, sizeof(slot->k));
	slot->gen = gen;
	fc->inserts++;
	return slot;
}

uint32_t dse_flow4_count(const struct dse_flow4_cache *fc, const struct dse_fdb *fdb,
			 uint32_t gen)
{
	uint32_t n = 0, total = (fc->bucket_mask + 1) * DSE_FLOW_WAYS;

	for (uint32_t i = 0; i < total; i++)
		n += fc->entries[i].gen == gen && dse_flow_ref_ok(fdb, &fc->entries[i].ref);
	return n;
}

_Static_assert(sizeof(struct dse_flow_entry) == 64, "one cache line per L2 flow entry");
_Static_assert(sizeof(struct dse_flow4_entry) == 128, "two cache lines per L4 flow entry");
