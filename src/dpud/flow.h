/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The flow cache: one per worker lcore, an exact-match table from a packet's
 * key (ingress port, VLAN, destination and source MAC) to the whole
 * forwarding decision.  The first packet of a flow walks the pipeline and
 * installs the decision; later packets take one lookup.
 *
 * Validity: every entry records the datapath generation it was made in; any
 * change that can alter a decision (config, an FDB entry moved, removed or
 * aged) bumps the generation, and an entry of another generation is a miss.
 * Only decisions for known unicast destinations are cached: a flooded
 * packet is not, so learning its destination later needs no invalidation.
 *
 * Layout: 4-way set associative buckets of 32-byte entries; a full bucket
 * replaces its entries in turn.
 */
#ifndef DSE_FLOW_H
#define DSE_FLOW_H

#include <stdint.h>
#include <string.h>

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

#define DSE_FLOW_WAYS 4

/* What a cache hit does to the VLAN tag before transmitting. */
enum dse_vlan_op {
	DSE_VLAN_KEEP = 0, /* leave the frame as it is */
	DSE_VLAN_PUSH,     /* insert a tag with 'vlan_tci' */
	DSE_VLAN_POP,      /* remove the outer tag */
};

/* One cached decision. */
struct dse_flow_entry {
	uint64_t k0, k1;   /* the key; see dse_flow_key() */
	uint32_t gen;      /* datapath generation it was made in; 0 = empty */
	uint32_t fdb_src;  /* FDB index of the source MAC, refreshed on every hit */
	uint16_t out_port; /* egress DPDK port id */
	uint8_t vlan_op;   /* enum dse_vlan_op */
	uint8_t pad;
	uint16_t vlan_tci; /* tag to push */
	uint16_t pad2;
};

/* A flow cache and its counters. */
struct dse_flow_cache {
	struct dse_flow_entry *entries; /* n_buckets * DSE_FLOW_WAYS */
	uint32_t bucket_mask;           /* n_buckets - 1 */
	uint8_t *next_victim;           /* per bucket: the way to replace next */
	uint64_t hits;
	uint64_t misses;
	uint64_t inserts;
	uint64_t evictions; /* valid entries replaced by an insert */
};

/*
 * Builds the key of a frame received on 'in_port': the 12 address bytes at
 * 'frame' and 'vlan_key' (the VLAN id | 0x1000 if tagged, else 0).
 */
static inline void dse_flow_key(const uint8_t *frame, uint16_t in_port, uint16_t vlan_key,
				uint64_t *k0, uint64_t *k1)
{
	uint32_t tail;

	memcpy(k0, frame, 8);
	memcpy(&tail, frame + 8, 4);
	*k1 = (uint64_t)tail | ((uint64_t)in_port << 32) | ((uint64_t)vlan_key << 48);
}

static inline uint32_t dse_flow_hash(uint64_t k0, uint64_t k1)
{
#if defined(__SSE4_2__)
	return (uint32_t)_mm_crc32_u64(_mm_crc32_u64(0x9e3779b9, k0), k1);
#else
	uint64_t h = (k0 ^ (k1 * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;

	return (uint32_t)(h ^ (h >> 29));
#endif
}

/* Returns the bucket that holds the key of hash 'h'. */
static inline struct dse_flow_entry *dse_flow_bucket(const struct dse_flow_cache *fc, uint32_t h)
{
	return &fc->entries[(h & fc->bucket_mask) * DSE_FLOW_WAYS];
}

/* Returns the valid entry of ('k0', 'k1') in generation 'gen', or NULL. */
static inline struct dse_flow_entry *dse_flow_lookup(const struct dse_flow_cache *fc, uint64_t k0,
						     uint64_t k1, uint32_t gen)
{
	struct dse_flow_entry *b = dse_flow_bucket(fc, dse_flow_hash(k0, k1));

	for (int w = 0; w < DSE_FLOW_WAYS; w++)
		if (b[w].k0 == k0 && b[w].k1 == k1 && b[w].gen == gen)
			return &b[w];
	return NULL;
}

/*
 * Creates a cache of at least 'n_entries' (rounded up to a power of two).
 * Returns NULL on ENOMEM or a size of 0.
 */
struct dse_flow_cache *dse_flow_cache_create(uint32_t n_entries);

/* Frees 'fc'; NULL is fine. */
void dse_flow_cache_free(struct dse_flow_cache *fc);

/*
 * Returns the slot for ('k0', 'k1') in generation 'gen' with its key and
 * generation set: the key's own slot, an empty or stale one, or the bucket's
 * next victim.  The caller fills in the decision.
 */
struct dse_flow_entry *dse_flow_insert(struct dse_flow_cache *fc, uint64_t k0, uint64_t k1,
				       uint32_t gen);

/* Returns how many entries are valid in generation 'gen'. */
uint32_t dse_flow_count(const struct dse_flow_cache *fc, uint32_t gen);

/* Empties the cache (all entries invalid in every generation). */
void dse_flow_clear(struct dse_flow_cache *fc);

#endif
