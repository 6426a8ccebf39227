/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The host's desired state in SQLite (DIR/hostd.db): switches with their
 * DPUs, uplinks and TEP, segments with their peer TEPs, VM ports, the
 * firewall's policies and rules, and the DPUs the host has seen.
 *
 * The database runs in WAL mode with synchronous=FULL and foreign keys on;
 * every change is one transaction, so a kill -9 at any moment leaves either
 * the whole change or none of it.  The schema carries a version
 * (PRAGMA user_version) and is upgraded in place when it is older.
 *
 * Functions return 0 or a negative errno.  A failure of the store itself
 * (the disk, the file, SQLite) is logged here, once, with what happened to
 * which file and what to do, and that message is store_last_error() (and
 * in 'err' where there is one): -ENOSPC the disk is full, -EBADMSG the
 * file is not a dse store or is damaged, -EIO an I/O error, -EROFS or
 * -EACCES it can not be written, -EBUSY it is locked, -EINVAL a change
 * the schema refused (a bug).  Callers pass the message on, they do not
 * log it again.
 */
#ifndef DSE_HOSTD_STORE_H
#define DSE_HOSTD_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The schema version this code writes.  1: switches, segments, ports, DPUs;
 * 2: + the firewall (fw_policies, fw_rules); 3: + the overlay (a switch's
 * TEP address, segment_peers).
 */
#define STORE_SCHEMA_VERSION 4

struct store;

/*
 * Opens the database at 'path', runs SQLite's quick check on it and brings
 * its schema to the current version.  With 'init', a missing database is
 * created and an empty one (no tables: a file of 0 bytes) gets the schema;
 * without, they are refused: -ENOENT (missing) and -ENODATA (empty), so
 * that a lost store is never silently replaced by an empty desired state.
 * Refuses a file that is not a dse store or fails the check (-EBADMSG)
 * and a database of a newer schema (-EPROTO).  'err' says what and what
 * to do.
 */
int store_open(const char *path, bool init, struct store **ret, char *err, size_t err_len);

/* Closes the database.  NULL is fine. */
void store_close(struct store *s);

/* Returns the message of the store's last failure (see above). */
const char *store_last_error(struct store *s);

/*
 * Returns the revision: the number of changes ever committed to the
 * desired state (read at open, counted by store_commit(); no query).
 */
uint64_t store_revision(struct store *s);

/* Returns the schema version of the open database, or a negative errno. */
int store_schema_version(struct store *s);

/*
 * Test hook: sleep 'us' microseconds after each row a commit writes, so a
 * test can kill the daemon in the middle of a transaction.
 */
void store_set_row_delay(struct store *s, unsigned us);

/*
 * Reads the desired state as a normalized profile (see model.h) into
 * '*ret_doc' (a new reference).
 */
int store_load(struct store *s, json_t **ret_doc);

/*
 * Writes 'changes' (from model_diff('cur', 'want')) in one transaction, so
 * that the store then holds 'want', and bumps the revision.  Nothing is
 * written when 'changes' is empty.
 */
int store_commit(struct store *s, json_t *want, json_t *changes, char *err, size_t err_len);

/*
 * Reads every DPU the host has seen into '*ret' (a list sorted by name of
 * {name, link, address, vendor, model, hw_version, fw_version, serial, pci,
 * version, first_seen, last_seen, boot_id, generation, pushed_revision,
 * managed}).
 */
int store_dpus(struct store *s, json_t **ret);

/*
 * Records a DPU seen on a link: 'rec' holds name and any of link, address,
 * vendor, model, hw_version, fw_version, serial, pci, version.  first_seen is
 * set on the first call, last_seen on every call (seconds since the epoch).
 */
int store_dpu_seen(struct store *s, json_t *rec);

/*
 * Records that DPU 'name' holds the desired state of store revision
 * 'revision' at its config generation 'generation' of its start 'boot_id'
 * (a generation is comparable only within one start), and whether the host
 * manages its config ('managed': it serves a switch, or still holds what
 * the host pushed).
 */
int store_dpu_pushed(struct store *s, const char *name, int64_t boot_id, int64_t generation,
		     uint64_t revision, int managed);

/* Forgets DPU 'name'.  Returns -ENOENT when it is not known. */
int store_dpu_forget(struct store *s, const char *name);

/*
 * Records a failover of active-standby switch 'sw' of kind 'kind' (crash,
 * linkDown, userInitiated) from DPU 'from' (may be NULL) to 'to', found
 * 'detect_ms' after the old active's last answer (negative: not measured),
 * with a note for a person (may be NULL): the new active and the event in
 * one transaction, and a new revision, so that the DPUs are reconciled to
 * their new roles.  The roles survive a restart of dse-hostd: store_dpus()
 * gives the active DPU of a switch 'ha_active' (the switch's name).
 * Returns 0 or -EIO (store_last_error()).
 */
int store_ha_failover(struct store *s, const char *sw, const char *from, const char *to,
		      const char *kind, int64_t detect_ms, const char *note);

/*
 * Returns the last 'limit' failovers (of switch 'sw', NULL: of every
 * switch), oldest first: [{id, at, switch, kind, from, to, detect_ms, note}].
 */
int store_ha_events(struct store *s, const char *sw, unsigned limit, json_t **ret);

/*
 * The pairs' epoch: how many failovers the store records (each one is one
 * more), as dse-dpud's ha.role.set takes it; 0 when it can not tell.
 */
int64_t store_ha_epoch(struct store *s);

#endif
