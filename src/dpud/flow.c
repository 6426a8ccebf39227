/* SPDX-License-Identifier: BSD-3-Clause */
#include "flow.h"

#include <stdlib.h>

struct dse_flow_cache *dse_flow_cache_create(uint32_t n_entries)
{
	struct dse_flow_cache *fc;
	uint32_t buckets = 1;

	if (n_entries == 0 || n_entries > (1u << 26))
		return NULL;
	while (buckets * DSE_FLOW_WAYS < n_entries)
		buckets <<= 1;
	fc = calloc(1, sizeof(*fc));
	if (fc == NULL)
		return NULL;
	fc->entries = aligned_alloc(64, sizeof(struct dse_flow_entry) * DSE_FLOW_WAYS * buckets);
	fc->next_victim = calloc(buckets, 1);
	if (fc->entries == NULL || fc->next_victim == NULL) {
		dse_flow_cache_free(fc);
		return NULL;
	}
	fc->bucket_mask = buckets - 1;
	dse_flow_clear(fc);
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

struct dse_flow_entry *dse_flow_insert(struct dse_flow_cache *fc, uint64_t k0, uint64_t k1,
				       uint32_t gen)
{
	uint32_t h = dse_flow_hash(k0, k1);
	struct dse_flow_entry *b = dse_flow_bucket(fc, h);
	struct dse_flow_entry *slot = NULL;

	for (int w = 0; w < DSE_FLOW_WAYS; w++) {
		if (b[w].k0 == k0 && b[w].k1 == k1) {
			slot = &b[w];
			break;
		}
		if (slot == NULL && b[w].gen != gen)
			slot = &b[w];
	}
	if (slot == NULL) {
		uint8_t *v = &fc->next_victim[h & fc->bucket_mask];

		slot = &b[*v];
		*v = (uint8_t)((*v + 1) % DSE_FLOW_WAYS);
		fc->evictions++;
	}
	memset(slot, 0, sizeof(*slot));
	slot->k0 = k0;
	slot->k1 = k1;
	slot->gen = gen;
	fc->inserts++;
	return slot;
}

uint32_t dse_flow_count(const struct dse_flow_cache *fc, uint32_t gen)
{
	uint32_t n = 0, total = (fc->bucket_mask + 1) * DSE_FLOW_WAYS;

	for (uint32_t i = 0; i < total; i++)
		n += fc->entries[i].gen == gen;
	return n;
}

struct dse_flow4_cache *dse_flow4_cache_create(uint32_t n_entries)
{
	struct dse_flow4_cache *fc;
	uint32_t buckets = 1;

	if (n_entries == 0 || n_entries > (1u << 24))
		return NULL;
	while (buckets * DSE_FLOW_WAYS < n_entries)
		buckets <<= 1;
	fc = calloc(1, sizeof(*fc));
	if (fc == NULL)
		return NULL;
	fc->entries = aligned_alloc(64, sizeof(struct dse_flow4_entry) * DSE_FLOW_WAYS * buckets);
	fc->next_victim = calloc(buckets, 1);
	if (fc->entries == NULL || fc->next_victim == NULL) {
		dse_flow4_cache_free(fc);
		return NULL;
	}
	fc->bucket_mask = buckets - 1;
	dse_flow4_clear(fc);
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
		if (slot == NULL && b[w].gen != gen)
			slot = &b[w];
	}
	if (slot == NULL) {
		uint8_t *v = &fc->next_victim[h & fc->bucket_mask];

		slot = &b[*v];
		*v = (uint8_t)((*v + 1) % DSE_FLOW_WAYS);
		fc->evictions++;
	}
	memset(slot, 0, sizeof(*slot));
	memcpy(slot->k, k, sizeof(slot->k));
	slot->gen = gen;
	fc->inserts++;
	return slot;
}

uint32_t dse_flow4_count(const struct dse_flow4_cache *fc, uint32_t gen)
{
	uint32_t n = 0, total = (fc->bucket_mask + 1) * DSE_FLOW_WAYS;

	for (uint32_t i = 0; i < total; i++)
		n += fc->entries[i].gen == gen;
	return n;
}

_Static_assert(sizeof(struct dse_flow4_entry) == 128, "two cache lines per L4 flow entry");
