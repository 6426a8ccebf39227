/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding database: per segment, which port a MAC address is behind.
 * Entries are learned from source addresses or added as static entries;
 * learned ones age out after 'ageing_s' seconds without traffic.  The table
 * has a fixed size: when it is full, new addresses are not learned (their
 * traffic is flooded) and the miss is counted.
 *
 * Single writer: only one thread at a time calls the functions that change
 * it (worker 0, see dp.h).  Other lcores read it at the same time, through
 * dse_fdb_state() and dse_fdb_read(); created with readers, lookups are
 * lock-free while it changes, and a removed entry's slot is reused only
 * after each of those readers reported a quiescent state.  Cached
 * forwarding decisions (the flow caches) record the index and state word of
 * the entries they used and compare the word on every hit, so a change
 * retires only the decisions that used the changed entry.
 */
#ifndef DSE_FDB_H
#define DSE_FDB_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>

#define DSE_FDB_ALL 0xffff /* wildcard for dse_fdb_flush() */

#define DSE_FDB_NO_PORT 0xffff /* "no port": the old port of a change that had none */

/*
 * An entry's state word: what a reader uses together, published with one
 * atomic store so that a reader on another lcore sees a port and a version
 * that belong together.  Bits 0-9: the port; bit 10: in use; bit 11:
 * static; bits 12-31: the version, bumped by every change of the entry
 * (learned, moved, made static, removed), so a slot that is removed and
 * reused for another address never shows a word it showed before (until the
 * 20-bit version wraps, see docs/datapath.md).
 */
#define DSE_FDB_PORT_MASK     0x3ffu
#define DSE_FDB_MAX_PORT      DSE_FDB_PORT_MASK /* largest port id an entry can hold */
#define DSE_FDB_USED          (1u << 10)
#define DSE_FDB_STATIC        (1u << 11) /* never aged, never moved by learning */
#define DSE_FDB_VERSION_SHIFT 12

/*
 * One address.  'mac' and 'segment' are the key; they change only while
 * 'state' says the slot is free (see dse_fdb_read()).  16 bytes, four to a
 * cache line.
 */
struct dse_fdb_entry {
	uint8_t mac[6];
	uint16_t segment;
	uint32_t state;       /* port, flags and version; read with dse_fdb_state() */
	uint32_t last_seen_s; /* clock seconds of the last frame from it */
};

/* Returns the port of state word 's'. */
static inline uint16_t dse_fdb_state_port(uint32_t s)
{
	return (uint16_t)(s & DSE_FDB_PORT_MASK);
}

/* Returns true if state word 's' is that of an entry in use. */
static inline bool dse_fdb_state_used(uint32_t s)
{
	return (s & DSE_FDB_USED) != 0;
}

/* Returns true if state word 's' is that of a static entry. */
static inline bool dse_fdb_state_static(uint32_t s)
{
	return (s & DSE_FDB_STATIC) != 0;
}

/* Returns the port of entry 'e' (the writer's view; readers use dse_fdb_state()). */
static inline uint16_t dse_fdb_entry_port(const struct dse_fdb_entry *e)
{
	return dse_fdb_state_port(e->state);
}

/* Returns true if entry 'e' is in use. */
static inline bool dse_fdb_entry_used(const struct dse_fdb_entry *e)
{
	return dse_fdb_state_used(e->state);
}

/* Returns true if entry 'e' is static. */
static inline bool dse_fdb_entry_static(const struct dse_fdb_entry *e)
{
	return dse_fdb_state_static(e->state);
}

/* FDB counters since creation. */
struct dse_fdb_stats {
	uint64_t learned; /* new entries learned */
	uint64_t moved;   /* learned entries that changed port */
	uint64_t aged;    /* entries removed by ageing */
	uint64_t full;    /* addresses not learned because the table was full */
};

/* What happened to an entry, as told to the change hook. */
enum dse_fdb_change {
	DSE_FDB_LEARNED = 0, /* a new address learned from a frame */
	DSE_FDB_ADDED,       /* a static entry added, or an entry made static or re-pointed */
	DSE_FDB_MOVED,       /* a learned address seen behind another port */
	DSE_FDB_AGED,        /* removed by ageing */
	DSE_FDB_DELETED,     /* removed by dse_fdb_del() */
	DSE_FDB_FLUSHED,     /* removed by dse_fdb_flush() */
};

struct dse_fdb;

/*
 * The change hook: called by the FDB's writer, from the function that makes
 * the change, once per entry changed.  'e' is the entry at 'index': after
 * the change for LEARNED, ADDED and MOVED, just before its removal (still
 * holding its address and port) for AGED, DELETED and FLUSHED.  'old_port'
 * is the port before the change for MOVED and for an ADDED that replaced an
 * entry, else DSE_FDB_NO_PORT.  It runs on the packet path when learning:
 * it must not block, allocate or log, and must not change the FDB.
 */
typedef void dse_fdb_change_fn(void *arg, const struct dse_fdb *fdb, uint32_t index,
			       const struct dse_fdb_entry *e, enum dse_fdb_change what,
			       uint16_t old_port);

struct dse_fdb {
	struct rte_hash *hash;          /* (segment, MAC) -> index of 'entries' */
	struct dse_fdb_entry *entries;  /* indexed by the hash's key position */
	uint32_t max_entries;
	uint32_t n_entries;
	uint32_t ageing_s;              /* 0 disables ageing */
	uint32_t age_next;              /* the slot the next ageing slice starts at */
	struct dse_fdb_stats stats;
	dse_fdb_change_fn *change_fn;   /* the change hook; NULL (the default): none */
	void *change_arg;               /* its first argument */
};

struct rte_rcu_qsbr;

/*
 * Returns the state word of entry 'index', as one atomic load (acquire: the
 * key written before an entry was published is visible after it).  Any
 * lcore may call it.
 */
static inline uint32_t dse_fdb_state(const struct dse_fdb *fdb, uint32_t index)
{
	return __atomic_load_n(&fdb->entries[index].state, __ATOMIC_ACQUIRE);
}

/*
 * Keeps entry 'index' alive at 'now_s' from any lcore (a frame came from
 * its address): one relaxed store, and only when the second changed, so the
 * entry's line stays clean on the packet path.
 */
static inline void dse_fdb_touch(const struct dse_fdb *fdb, uint32_t index, uint32_t now_s)
{
	struct dse_fdb_entry *e = &fdb->entries[index];

	if (unlikely(e->last_seen_s != now_s))
		__atomic_store_n(&e->last_seen_s, now_s, __ATOMIC_RELAXED);
}

/*
 * Reads entry 'index' for ('segment', 'mac') from any lcore: returns true
 * and sets '*ret_state' if the slot is in use by that address, with a state
 * word read before and after the key so that the two agree (the writer
 * changes the key only of a free slot, and every change bumps the version).
 */
static inline bool dse_fdb_read(const struct dse_fdb *fdb, uint32_t index, uint16_t segment,
				const uint8_t mac[6], uint32_t *ret_state)
{
	const struct dse_fdb_entry *e = &fdb->entries[index];
	uint32_t s = dse_fdb_state(fdb, index);

	if (!dse_fdb_state_used(s) || e->segment != segment || memcmp(e->mac, mac, 6) != 0)
		return false;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&e->state, __ATOMIC_RELAXED) != s)
		return false;
	*ret_state = s;
	return true;
}

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
 * Looks up ('segment', 'mac') and reads its entry (dse_fdb_read()).  Returns
 * the index and sets '*ret_state', or returns -ENOENT.
 */
int dse_fdb_get(const struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6],
		uint32_t *ret_state);

/*
 * Learns that 'mac' in 'segment' is behind 'port' at time 'now_s'.  Returns
 * the entry's index, -ENOSPC when the table is full, or -EINVAL for a port
 * above DSE_FDB_MAX_PORT.  Sets '*ret_moved' when an existing learned entry
 * changed port (its version is bumped, which retires the cached decisions
 * that used it).  A static entry is refreshed but never moved.
 */
int dse_fdb_learn(struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6], uint16_t port,
		  uint32_t now_s, bool *ret_moved);

/*
 * Adds or replaces a static entry.  Returns its index, -ENOSPC when full,
 * -EINVAL for a port above DSE_FDB_MAX_PORT.
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

/*
 * One slice of ageing: examines at most 'budget' slots from where the last
 * slice stopped and removes the learned entries among them idle for more
 * than the ageing time.  Sets '*ret_pass_done' when the slice reached the
 * end of the table (the next slice starts a new pass at slot 0).  Returns
 * how many entries it removed.
 */
unsigned dse_fdb_age_slice(struct dse_fdb *fdb, uint32_t now_s, uint32_t budget,
			   bool *ret_pass_done);

/*
 * A whole pass of ageing from slot 0, in slices, at once (for the test
 * clock and the tests).  Returns how many entries it removed.
 */
unsigned dse_fdb_age(struct dse_fdb *fdb, uint32_t now_s);

#endif
