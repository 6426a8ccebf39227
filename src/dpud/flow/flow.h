/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The flow cache: one per worker lcore, an exact-match table from a packet's
 * key (ingress port, VLAN, destination and source MAC) to the whole
 * forwarding decision.  The first packet of a flow walks the pipeline and
 * installs the decision; later packets take one lookup.
 *
 * Validity, two ways.  Every entry records the FDB entries it used (the
 * source's and the destination's index and state word, struct
 * dse_flow_fdb_ref); an FDB change (a move, ageing, a delete or flush, a
 * static entry re-pointed) bumps that entry's version, so a hit whose
 * words differ is a miss, and only the decisions that used the changed
 * entry are retired.  Every entry also records the datapath generation it
 * was made in; the rare changes of configuration that can alter any
 * decision (segments, ports, firewall policy) bump the generation, and an
 * entry of another generation is a miss.  Only decisions for known unicast
 * destinations are cached: a flooded packet is not, so learning its
 * destination later needs no invalidation.
 *
 * Layout: 4-way set associative buckets of 64-byte entries (one cache line
 * each); a full bucket replaces its entries in turn.
 */
#ifndef DSE_FLOW_H
#define DSE_FLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fdb.h"

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

/*
 * The FDB entries a cached decision used, each as its index and the state
 * word it had (struct dse_fdb_entry): the decision holds while both words
 * are unchanged.  The source's entry is refreshed on every hit.
 */
struct dse_flow_fdb_ref {
	uint32_t src_idx;
	uint32_t src_state;
	uint32_t dst_idx;
	uint32_t dst_state;
};

/* Returns true while the FDB entries of 'r' are as they were: two loads and compares. */
static inline bool dse_flow_ref_ok(const struct dse_fdb *fdb, const struct dse_flow_fdb_ref *r)
{
	return dse_fdb_state(fdb, r->src_idx) == r->src_state &&
	       dse_fdb_state(fdb, r->dst_idx) == r->dst_state;
}

/*
 * Makes the reference of a decision for a frame received on 'in_port' from
 * source entry 'src' (read as 'src_state') to destination entry 'dst' (read
 * as 'dst_state').  Returns false when the decision must not be cached: a
 * source entry behind another port than 'in_port' (moved meanwhile) would
 * let a hit skip the learning that moves it back; a static one never moves,
 * so it is fine.
 */
static inline bool dse_flow_ref_make(struct dse_flow_fdb_ref *r, uint16_t in_port, uint32_t src,
				     uint32_t src_state, uint32_t dst, uint32_t dst_state)
{
	if (!dse_fdb_state_used(src_state) || !dse_fdb_state_used(dst_state) ||
	    (dse_fdb_state_port(src_state) != in_port && !dse_fdb_state_static(src_state)))
		return false;
	r->src_idx = src;
	r->src_state = src_state;
	r->dst_idx = dst;
	r->dst_state = dst_state;
	return true;
}

/* One cached decision: one cache line. */
struct dse_flow_entry {
	uint64_t k0, k1;   /* the key; see dse_flow_key() */
	uint32_t gen;      /* datapath generation it was made in; 0 = empty */
	struct dse_flow_fdb_ref ref; /* the FDB entries it used */
	uint16_t out_port; /* egress DPDK port id */
	uint8_t vlan_op;   /* enum dse_vlan_op */
	uint8_t pad;
	uint16_t vlan_tci; /* tag to push */
	uint16_t segment;  /* the segment (an encapsulation needs its VNI) */
	uint8_t pad2[20];
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

/*
 * Returns the entry of ('k0', 'k1') in generation 'gen', or NULL.  The
 * caller checks its FDB reference (dse_flow_ref_ok()).
 */
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
 * generation set: the key's own slot, an empty or stale one (of another
 * generation, or whose FDB entries in 'fdb' changed), or the bucket's next
 * victim.  The caller fills in the decision.
 */
struct dse_flow_entry *dse_flow_insert(struct dse_flow_cache *fc, const struct dse_fdb *fdb,
				       uint64_t k0, uint64_t k1, uint32_t gen);

/* Returns how many entries are valid in generation 'gen' and against 'fdb'. */
uint32_t dse_flow_count(const struct dse_flow_cache *fc, const struct dse_fdb *fdb, uint32_t gen);

/* Empties the cache (all entries invalid in every generation). */
void dse_flow_clear(struct dse_flow_cache *fc);

/*
 * The layer 4 flow cache, for segments with the firewall on.  The key adds
 * to the layer 2 key the IP protocol, the addresses and the ports (ICMP: the
 * echo identifier and the type), so each direction of each connection has
 * its own entry; the entry points at the connection (index and id), which
 * every hit refreshes.  Same layout and validity rules as the L2 cache.
 */
#define DSE_FLOW4_KEY_WORDS 7

/*
 * One cached decision of a tracked connection's direction: two cache lines,
 * the first holding all that a lookup compares (key and generation).
 */
struct dse_flow4_entry {
	uint64_t k[DSE_FLOW4_KEY_WORDS]; /* see dse_flow4_key() */
	uint32_t gen;      /* datapath generation it was made in; 0 = empty */
	uint32_t ct_id;    /* the connection while it is this one (dse_ct_ref_ok) ... */
	uint32_t ct_index; /* ... at this index */
	struct dse_flow_fdb_ref ref; /* the FDB entries it used */
	uint16_t out_port;
	uint8_t vlan_op;
	uint8_t ct_dir;    /* the packet's direction in the connection */
	uint16_t vlan_tci;
	uint16_t segment;
	uint8_t pad[36];
};

struct dse_flow4_cache {
	struct dse_flow4_entry *entries; /* n_buckets * DSE_FLOW_WAYS */
	uint32_t bucket_mask;
	uint8_t *next_victim;
	uint64_t hits;
	uint64_t misses;
	uint64_t inserts;
	uint64_t evictions;
};

/*
 * Builds the layer 4 key of an IPv4 or IPv6 frame: the L2 key words 'k0',
 * 'k1' (dse_flow_key()), then protocol and ports, then the addresses, from
 * the L3 header at 'l3' (IPv4 when 'ipv6' is false) and the L4 header at 'l4'
 * (NULL when there is none: a fragment, or a protocol without ports).
 */
static inline void dse_flow4_key(uint64_t k[DSE_FLOW4_KEY_WORDS], uint64_t k0, uint64_t k1,
				 const uint8_t *l3, bool ipv6, uint8_t proto, const uint8_t *l4)
{
	uint32_t ports = 0;

	k[0] = k0;
	k[1] = k1;
	if (l4 != NULL) {
		if (proto == 6 || proto == 17)
			memcpy(&ports, l4, 4);
		else if (proto == 1 || proto == 58) /* type, code and the echo identifier */
			ports = (uint32_t)l4[0] | ((uint32_t)l4[1] << 8) | ((uint32_t)l4[4] << 16) |
				((uint32_t)l4[5] << 24);
	}
	k[2] = (uint64_t)proto | ((uint64_t)ipv6 << 8) | ((uint64_t)ports << 32);
	if (ipv6) {
		memcpy(&k[3], l3 + 8, 32);
	} else {
		memcpy(&k[3], l3 + 12, 8);
		k[4] = k[5] = k[6] = 0;
	}
}

static inline uint32_t dse_flow4_hash(const uint64_t k[DSE_FLOW4_KEY_WORDS])
{
#if defined(__SSE4_2__)
	uint64_t h = 0x9e3779b9;

	for (int i = 0; i < DSE_FLOW4_KEY_WORDS; i++)
		h = _mm_crc32_u64(h, k[i]);
	return (uint32_t)h;
#else
	uint64_t h = 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < DSE_FLOW4_KEY_WORDS; i++)
		h = (h ^ k[i]) * 0xff51afd7ed558ccdull;
	return (uint32_t)(h ^ (h >> 29));
#endif
}

static inline bool dse_flow4_key_eq(const uint64_t a[DSE_FLOW4_KEY_WORDS],
				    const uint64_t b[DSE_FLOW4_KEY_WORDS])
{
	uint64_t d = 0;

	for (int i = 0; i < DSE_FLOW4_KEY_WORDS; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

/* Returns the bucket of key hash 'h'. */
static inline struct dse_flow4_entry *dse_flow4_bucket(const struct dse_flow4_cache *fc,
						       uint32_t h)
{
	return &fc->entries[(h & fc->bucket_mask) * DSE_FLOW_WAYS];
}

/* Fetches into the cache the lines a lookup in bucket 'b' compares. */
static inline void dse_flow4_prefetch(const struct dse_flow4_entry *b)
{
	for (int w = 0; w < DSE_FLOW_WAYS; w++)
		__builtin_prefetch(&b[w]);
}

/*
 * Returns the entry of key 'k' in bucket 'b' and generation 'gen', or NULL.
 * The caller checks its FDB reference (dse_flow_ref_ok()).
 */
static inline struct dse_flow4_entry *dse_flow4_find(struct dse_flow4_entry *b,
						     const uint64_t k[DSE_FLOW4_KEY_WORDS],
						     uint32_t gen)
{
	for (int w = 0; w < DSE_FLOW_WAYS; w++)
		if (b[w].gen == gen && dse_flow4_key_eq(b[w].k, k))
			return &b[w];
	return NULL;
}

/*
 * As dse_flow_cache_create(), dse_flow_cache_free(), dse_flow_insert(),
 * dse_flow_clear(), dse_flow_count(); but dse_flow4_insert() takes as stale
 * only ways of another generation (a way whose FDB entries changed is
 * replaced in turn: its reference lies in its second cache line, and
 * reading that line of every way would slow connection setup).
 */
struct dse_flow4_cache *dse_flow4_cache_create(uint32_t n_entries);
void dse_flow4_cache_free(struct dse_flow4_cache *fc);
struct dse_flow4_entry *dse_flow4_insert(struct dse_flow4_cache *fc,
					 const uint64_t k[DSE_FLOW4_KEY_WORDS], uint32_t gen);
void dse_flow4_clear(struct dse_flow4_cache *fc);
uint32_t dse_flow4_count(const struct dse_flow4_cache *fc, const struct dse_fdb *fdb,
			 uint32_t gen);

#endif
