/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding database: per segment, which port a MAC address is behind.
 * Entries are learned from source addresses or added as static entries;
 * learned ones age out after 'ageing_s' seconds without traffic.  The table
 * has a fixed size: when it is full, new addresses are not learned (their
 * traffic is flooded) and the miss is counted.
 *
 * Single writer: only one thread at a time calls the functions that change
 * it (worker 0, see dp.h).  Created with readers, lookups are lock-free on
 * other lcores while it changes, and a removed entry's slot is reused only
 * after each of those readers reported a quiescent state.
 */
#ifndef DSE_FDB_H
#define DSE_FDB_H

#include <stdbool.h>
#include <stdint.h>

#define DSE_FDB_ALL 0xffff /* wildcard for dse_fdb_flush() */

/* One address; 'used' is false for a free slot. */
struct dse_fdb_entry {
	uint8_t mac[6];
	uint16_t segment;
	uint16_t port;        /* DPDK port id */
	uint8_t used;
	uint8_t is_static;    /* never aged, never moved by learning */
	uint32_t last_seen_s; /* clock seconds of the last frame from it */
};

/* FDB counters since creation. */
struct dse_fdb_stats {
	uint64_t learned; /* new entries learned */
	uint64_t moved;   /* learned entries that changed port */
	uint64_t aged;    /* entries removed by ageing */
	uint64_t full;    /* addresses not learned because the table was full */
};

struct dse_fdb {
	struct rte_hash *hash;          /* (segment, MAC) -> index of 'entries' */
	struct dse_fdb_entry *entries;  /* indexed by the hash's key position */
	uint32_t max_entries;
	uint32_t n_entries;
	uint32_t ageing_s;              /* 0 disables ageing */
	struct dse_fdb_stats stats;
};

struct rte_rcu_qsbr;

/*
 * Creates an FDB of at most 'max_entries' (1..1M) named 'name' (unique in
 * the process).  'readers', if not NULL, are the threads that look entries
 * up while the writer changes them (see the top).  Returns NULL and sets
 * rte_errno on failure.
 */
struct dse_fdb *dse_fdb_create(const char *name, uint32_t max_entries,
			       struct rte_rcu_qsbr *readers);

/* Frees 'fdb'; NULL is fine. */
void dse_fdb_free(struct dse_fdb *fdb);

/* Returns the index of ('segment', 'mac') or -ENOENT. */
int dse_fdb_lookup(const struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6]);

/*
 * Learns that 'mac' in 'segment' is behind 'port' at time 'now_s'.  Returns
 * the entry's index, or -ENOSPC when the table is full.  Sets '*ret_moved'
 * when an existing learned entry changed port (the caller must invalidate
 * cached decisions).  A static entry is refreshed but never moved.
 */
int dse_fdb_learn(struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6], uint16_t port,
		  uint32_t now_s, bool *ret_moved);

/*
 * Adds or replaces a static entry.  Returns its index, -ENOSPC when full.
 */
int dse_fdb_add_static(struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6],
		       uint16_t port);

/* Removes ('segment', 'mac').  Returns 0 or -ENOENT. */
int dse_fdb_del(struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6]);

/*
 * Removes the entries of 'segment' and 'port' (DSE_FDB_ALL matches any);
 * static entries only if 'with_static'.  Returns how many were removed.
 */
unsigned dse_fdb_flush(struct dse_fdb *fdb, uint16_t segment, uint16_t port, bool with_static);

/* Removes learned entries idle for more than the ageing time.  Returns how many. */
unsigned dse_fdb_age(struct dse_fdb *fdb, uint32_t now_s);

#endif
