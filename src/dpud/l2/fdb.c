/* SPDX-License-Identifier: BSD-3-Clause */
#include "fdb.h"

#include <errno.h>
#include <string.h>

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
	memcpy(e->mac, mac, 6);
	e->segment = segment;
	e->port = port;
	e->is_static = is_static;
	e->last_seen_s = now_s;
	e->used = 1;
	fdb->n_entries++;
	return pos;
}

int dse_fdb_learn(struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6], uint16_t port,
		  uint32_t now_s, bool *ret_moved)
{
	int pos = dse_fdb_lookup(fdb, segment, mac);
	struct dse_fdb_entry *e;

	*ret_moved = false;
	if (pos >= 0) {
		e = &fdb->entries[pos];
		e->last_seen_s = now_s;
		if (e->port != port && !e->is_static) {
			e->port = port;
			fdb->stats.moved++;
			*ret_moved = true;
		}
		return pos;
	}
	pos = fdb_insert(fdb, segment, mac, port, false, now_s);
	if (pos < 0)
		fdb->stats.full++;
	else
		fdb->stats.learned++;
	return pos;
}

int dse_fdb_add_static(struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6],
		       uint16_t port)
{
	int pos = dse_fdb_lookup(fdb, segment, mac);

	if (pos >= 0) {
		fdb->entries[pos].port = port;
		fdb->entries[pos].is_static = 1;
		return pos;
	}
	return fdb_insert(fdb, segment, mac, port, true, 0);
}

static void fdb_remove(struct dse_fdb *fdb, int pos)
{
	struct dse_fdb_entry *e = &fdb->entries[pos];
	uint64_t key = fdb_key(e->segment, e->mac);

	rte_hash_del_key(fdb->hash, &key);
	memset(e, 0, sizeof(*e));
	fdb->n_entries--;
}

int dse_fdb_del(struct dse_fdb *fdb, uint16_t segment, const uint8_t mac[6])
{
	int pos = dse_fdb_lookup(fdb, segment, mac);

	if (pos < 0)
		return -ENOENT;
	fdb_remove(fdb, pos);
	return 0;
}

unsigned dse_fdb_flush(struct dse_fdb *fdb, uint16_t segment, uint16_t port, bool with_static)
{
	uint32_t cap = rte_hash_max_key_id(fdb->hash);
	unsigned n = 0;

	for (uint32_t i = 0; i <= cap; i++) {
		struct dse_fdb_entry *e = &fdb->entries[i];

		if (!e->used || (e->is_static && !with_static))
			continue;
		if (segment != DSE_FDB_ALL && e->segment != segment)
			continue;
		if (port != DSE_FDB_ALL && e->port != port)
			continue;
		fdb_remove(fdb, (int)i);
		n++;
	}
	return n;
}

unsigned dse_fdb_age(struct dse_fdb *fdb, uint32_t now_s)
{
	uint32_t cap = rte_hash_max_key_id(fdb->hash);
	unsigned n = 0;

	if (fdb->ageing_s == 0)
		return 0;
	for (uint32_t i = 0; i <= cap; i++) {
		struct dse_fdb_entry *e = &fdb->entries[i];

		if (!e->used || e->is_static)
			continue;
		/* Unsigned difference: correct across the wrap of the seconds counter. */
		if ((uint32_t)(now_s - e->last_seen_s) > fdb->ageing_s) {
			fdb_remove(fdb, (int)i);
			n++;
		}
	}
	fdb->stats.aged += n;
	return n;
}
