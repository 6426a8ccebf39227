/* SPDX-License-Identifier: BSD-3-Clause */
#include "fdb.h"

#include <errno.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

/* The hash key: segment in the top 16 bits, the MAC in the low 48. */
static inline uint64_t fdb_key(uint16_t segment, const uint8_t mac[6])
{
	return ((uint64_t)segment << 48) | ((uint64_t)mac[0] << 40) | ((uint64_t)mac[1] << 32) |
	       ((uint64_t)mac[2] << 24) | ((uint64_t)mac[3] << 16) | ((uint64_t)mac[4] << 8) |
	       (uint64_t)mac[5];
}

struct dse_fdb *dse_fdb_create(const char *name, uint32_t max_entries, struct rte_rcu_qsbr *readers)
{
	struct rte_hash_parameters hp = {
		.name = name,
		/*
		 * rte_hash needs at least 8 entries and rounds up internally.
		 * Shared with readers, a removed entry's slot waits for their
		 * grace period: twice the room keeps learning going meanwhile.
		 */
		.entries = (max_entries < 8 ? 8 : max_entries) * (readers ? 2 : 1),
		.key_len = sizeof(uint64_t),
		.hash_func = rte_hash_crc,
		.socket_id = SOCKET_ID_ANY,
		/* Buckets that overflow chain into an extension table, so the FDB
		 * fills to max_entries whatever the addresses hash to. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE |
			      (readers ? RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF : 0),
	};
	/* A deleted key's slot is reused only when no reader can still hold it. */
	struct rte_hash_rcu_config rcu = {.v = readers, .mode = RTE_HASH_QSBR_MODE_DQ};
	struct dse_fdb *fdb;

	if (max_entries == 0 || max_entries > (1u << 20)) {
		rte_errno = EINVAL;
		return NULL;
	}
	fdb = rte_zmalloc("fdb", sizeof(*fdb), 0);
	if (fdb == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	fdb->hash = rte_hash_create(&hp);
	/* Key positions run up to the hash's own capacity, which may exceed ours. */
	fdb->entries = rte_zmalloc("fdb_entries", sizeof(*fdb->entries) * (hp.entries + 1),
				   RTE_CACHE_LINE_SIZE);
	if (fdb->hash == NULL || fdb->entries == NULL ||
	    (readers && rte_hash_rcu_qsbr_add(fdb->hash, &rcu) != 0)) {
		dse_fdb_free(fdb);
		rte_errno = ENOMEM;
		return NULL;
	}
	fdb->max_entries = max_entries;
	fdb->ageing_s = 300;
	return fdb;
}

void dse_fdb_free(struct dse_fdb *fdb)
{
	if (fdb == NULL)
		return;
	rte_hash_free(fdb->hash);
	rte_free(fdb->entries);
	rte_free(fdb);
}

int dse_fdb_lookup(const struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6])
{
	uint64_t key = fdb_key(segment, mac);
	int pos = rte_hash_lookup(fdb->hash, &key);

	return pos < 0 ? -ENOENT : pos;
}

int dse_fdb_get(const struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6],
		uint32_t *ret_state)
{
	int pos = dse_fdb_lookup(fdb, segment, mac);

	if (pos < 0 || !dse_fdb_read(fdb, (uint32_t)pos, segment, mac, ret_state))
		return -ENOENT;
	return pos;
}

/* Tells the change hook, if there is one. */
static inline void fdb_tell(const struct dse_fdb *fdb, uint32_t pos, enum dse_fdb_change what,
			    uint16_t old_port)
{
	if (fdb->change_fn != NULL)
		fdb->change_fn(fdb->change_arg, fdb, pos, &fdb->entries[pos], what, old_port);
}

/*
 * Publishes entry 'e' with port and flags 'port_flags' and the next
 * version, in one atomic store (release: what was written before, the key
 * of a new entry, is visible to whoever reads the new word).
 */
static inline void fdb_publish(struct dse_fdb_entry *e, uint32_t port_flags)
{
	uint32_t v = (e->state >> DSE_FDB_VERSION_SHIFT) + 1;

	__atomic_store_n(&e->state, (v << DSE_FDB_VERSION_SHIFT) | port_flags, __ATOMIC_RELEASE);
}

/* Inserts a new entry; returns its index or -ENOSPC. */
static int fdb_insert(struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6], uint16_t port,
		      bool is_static, uint32_t now_s)
{
	uint64_t key = fdb_key(segment, mac);
	struct dse_fdb_entry *e;
	int pos;

	if (fdb->n_entries >= fdb->max_entries)
		return -ENOSPC;
	pos = rte_hash_add_key(fdb->hash, &key);
	if (pos < 0)
		return -ENOSPC;
	e = &fdb->entries[pos];
	/* The slot is free (its word says so) while its key changes. */
	memcpy(e->mac, mac, 6);
	e->segment = segment;
	e->last_seen_s = now_s;
	fdb_publish(e, port | DSE_FDB_USED | (is_static ? DSE_FDB_STATIC : 0));
	fdb->n_entries++;
	return pos;
}

int dse_fdb_learn(struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6], uint16_t port,
		  uint32_t now_s, bool *ret_moved)
{
	int pos = dse_fdb_lookup(fdb, segment, mac);
	struct dse_fdb_entry *e;

	*ret_moved = false;
	if (unlikely(port > DSE_FDB_MAX_PORT))
		return -EINVAL;
	if (pos >= 0) {
		uint16_t old;

		e = &fdb->entries[pos];
		e->last_seen_s = now_s;
		old = dse_fdb_entry_port(e);
		if (old != port && !dse_fdb_entry_static(e)) {
			fdb_publish(e, port | DSE_FDB_USED);
			fdb->stats.moved++;
			*ret_moved = true;
			fdb_tell(fdb, (uint32_t)pos, DSE_FDB_MOVED, old);
		}
		return pos;
	}
	pos = fdb_insert(fdb, segment, mac, port, false, now_s);
	if (pos < 0) {
		fdb->stats.full++;
		return pos;
	}
	fdb->stats.learned++;
	fdb_tell(fdb, (uint32_t)pos, DSE_FDB_LEARNED, DSE_FDB_NO_PORT);
	return pos;
}

int dse_fdb_add_static(struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6],
		       uint16_t port)
{
	int pos = dse_fdb_lookup(fdb, segment, mac);

	if (port > DSE_FDB_MAX_PORT)
		return -EINVAL;
	if (pos >= 0) {
		struct dse_fdb_entry *e = &fdb->entries[pos];
		uint16_t old = dse_fdb_entry_port(e);

		fdb_publish(e, port | DSE_FDB_USED | DSE_FDB_STATIC);
		fdb_tell(fdb, (uint32_t)pos, DSE_FDB_ADDED, old);
		return pos;
	}
	pos = fdb_insert(fdb, segment, mac, port, true, 0);
	if (pos >= 0)
		fdb_tell(fdb, (uint32_t)pos, DSE_FDB_ADDED, DSE_FDB_NO_PORT);
	return pos;
}

/* Removes entry 'pos', telling the hook first why. */
static void fdb_remove(struct dse_fdb *fdb, int pos, enum dse_fdb_change why)
{
	struct dse_fdb_entry *e = &fdb->entries[pos];
	uint64_t key = fdb_key(e->segment, e->mac);

	fdb_tell(fdb, (uint32_t)pos, why, DSE_FDB_NO_PORT);
	rte_hash_del_key(fdb->hash, &key);
	/*
	 * The word says "free" with a new version before anything else of the
	 * slot changes: a reader that still holds the index sees the change,
	 * and the key written by a later reuse is ordered after it.
	 */
	fdb_publish(e, 0);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	fdb->n_entries--;
}

int dse_fdb_del(struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6])
{
	int pos = dse_fdb_lookup(fdb, segment, mac);

	if (pos < 0)
		return -ENOENT;
	fdb_remove(fdb, pos, DSE_FDB_DELETED);
	return 0;
}

unsigned dse_fdb_flush(struct dse_fdb *fdb, uint16_t segment, uint16_t port, bool with_static)
{
	uint32_t cap = rte_hash_max_key_id(fdb->hash);
	unsigned n = 0;

	for (uint32_t i = 0; i <= cap; i++) {
		struct dse_fdb_entry *e = &fdb->entries[i];

		if (!dse_fdb_entry_used(e) || (dse_fdb_entry_static(e) && !with_static))
			continue;
		if (segment != DSE_FDB_ALL && e->segment != segment)
			continue;
		if (port != DSE_FDB_ALL && dse_fdb_entry_port(e) != port)
			continue;
		fdb_remove(fdb, (int)i, DSE_FDB_FLUSHED);
		n++;
	}
	return n;
}

unsigned dse_fdb_age_slice(struct dse_fdb *fdb, uint32_t now_s, uint32_t budget,
			   bool *ret_pass_done)
{
	uint32_t end = (uint32_t)rte_hash_max_key_id(fdb->hash) + 1;
	uint32_t i = fdb->age_next, stop;
	unsigned n = 0;

	if (fdb->ageing_s == 0) {
		fdb->age_next = 0;
		*ret_pass_done = true;
		return 0;
	}
	if (i >= end)
		i = 0;
	stop = end - i > budget ? i + budget : end;
	for (; i < stop; i++) {
		struct dse_fdb_entry *e = &fdb->entries[i];

		if (!dse_fdb_entry_used(e) || dse_fdb_entry_static(e))
			continue;
		/* Unsigned difference: correct across the wrap of the seconds counter. */
		if ((uint32_t)(now_s - e->last_seen_s) > fdb->ageing_s) {
			fdb_remove(fdb, (int)i, DSE_FDB_AGED);
			n++;
		}
	}
	*ret_pass_done = stop == end;
	fdb->age_next = stop == end ? 0 : stop;
	fdb->stats.aged += n;
	return n;
}

unsigned dse_fdb_age(struct dse_fdb *fdb, uint32_t now_s)
{
	bool done = false;
	unsigned n = 0;

	fdb->age_next = 0;
	while (!done)
		n += dse_fdb_age_slice(fdb, now_s, 4096, &done);
	return n;
}
