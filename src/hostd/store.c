/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The SQLite store of dse-hostd (see store.h).  Rows are written only by
 * store_commit(), from a list of changes that model.c computed and checked,
 * so the constraints of the schema are a second line of defence: a failing
 * constraint rolls the whole change back.
 *
 * Every SQLite failure goes through store_fail(): it keeps the result of
 * the call that failed, turns it into an errno and a message that says
 * what happened to which file and what to do, and logs it.
 */
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "model.h"

struct store {
	sqlite3 *db;
	unsigned row_delay_us;
	char path[PATH_MAX];
	int rc;			     /* SQLite result of the last call that failed */
	char rc_msg[256];	     /* SQLite's message for it */
	char last_error[1024];	     /* store_last_error() */
	struct dse_ratelimit log_rl; /* store failures logged */
	/*
	 * The revision, read at open and counted by store_commit() after each
	 * COMMIT: one daemon holds a store (hostd.lock), so nothing else moves
	 * it, and the event loop asks for it every turn.
	 */
	uint64_t revision;
};

/*
 * Version 1.  Segments and ports refer to their parents with deferred
 * foreign keys: a change deletes the old row and inserts the new one in one
 * transaction, and the references only have to hold at its end.  A switch's
 * DPUs and uplinks go with it (ON DELETE CASCADE).
 */
static const char schema_v1[] =
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL);"
	"INSERT INTO meta VALUES ('revision', 0);"
	"CREATE TABLE switches ("
	"  name TEXT PRIMARY KEY,"
	"  mode TEXT NOT NULL CHECK (mode IN ('single', 'active-standby', 'independent')));"
	"CREATE TABLE switch_dpus ("
	"  switch TEXT NOT NULL REFERENCES switches(name) ON DELETE CASCADE,"
	"  pos INTEGER NOT NULL,"
	"  dpu TEXT NOT NULL UNIQUE,"
	"  PRIMARY KEY (switch, pos));"
	"CREATE TABLE switch_uplinks ("
	"  switch TEXT NOT NULL REFERENCES switches(name) ON DELETE CASCADE,"
	"  uplink TEXT NOT NULL UNIQUE,"
	"  PRIMARY KEY (switch, uplink));"
	"CREATE TABLE segments ("
	"  name TEXT PRIMARY KEY,"
	"  switch TEXT NOT NULL REFERENCES switches(name) DEFERRABLE INITIALLY DEFERRED,"
	"  vlan INTEGER CHECK (vlan BETWEEN 1 AND 4094),"
	"  vni INTEGER UNIQUE CHECK (vni BETWEEN 1 AND 16777215),"
	"  CHECK ((vlan IS NULL) <> (vni IS NULL)),"
	"  UNIQUE (switch, vlan));"
	"CREATE TABLE ports ("
	"  name TEXT PRIMARY KEY,"
	"  mac TEXT NOT NULL UNIQUE,"
	"  segment TEXT NOT NULL REFERENCES segments(name) DEFERRABLE INITIALLY DEFERRED,"
	"  vm TEXT NOT NULL UNIQUE);"
	"CREATE TABLE dpus ("
	"  name TEXT PRIMARY KEY,"
	"  link TEXT, address TEXT,"
	"  vendor TEXT, model TEXT, hw_version TEXT, fw_version TEXT, serial TEXT, pci TEXT,"
	"  version TEXT,"
	"  first_seen INTEGER, last_seen INTEGER,"
	"  boot_id INTEGER, generation INTEGER, pushed_revision INTEGER,"
	"  managed INTEGER NOT NULL DEFAULT 0);";

/*
 * Version 2: the firewall.  A policy belongs to a segment; a rule may be
 * scoped to a segment and to a VM port.  Port ranges are kept as written in
 * the normalized profile, an integer or "LO-HI" text, so those two columns
 * have no type (no affinity: SQLite stores each value as it comes).
 */
static const char schema_v2[] =
	"CREATE TABLE fw_policies ("
	"  segment TEXT PRIMARY KEY"
	"    REFERENCES segments(name) DEFERRABLE INITIALLY DEFERRED,"
	"  default_action TEXT NOT NULL CHECK (default_action IN ('allow', 'deny')));"
	"CREATE TABLE fw_rules ("
	"  id INTEGER PRIMARY KEY CHECK (id BETWEEN 1 AND 2147483647),"
	"  priority INTEGER NOT NULL DEFAULT 0,"
	"  segment TEXT REFERENCES segments(name) DEFERRABLE INITIALLY DEFERRED,"
	"  port TEXT REFERENCES ports(name) DEFERRABLE INITIALLY DEFERRED,"
	"  direction TEXT NOT NULL CHECK (direction IN ('in', 'out', 'any')),"
	"  src TEXT, dst TEXT,"
	"  proto TEXT CHECK (proto IN ('tcp', 'udp', 'icmp', 'icmpv6')),"
	"  sport CHECK (typeof(sport) IN ('integer', 'text', 'null')),"
	"  dport CHECK (typeof(dport) IN ('integer', 'text', 'null')),"
	"  icmp_type INTEGER CHECK (icmp_type BETWEEN 0 AND 255),"
	"  action TEXT NOT NULL CHECK (action IN ('allow', 'drop', 'reject')));";

/*
 * Version 3: the overlay.  A switch may have a TEP address (unique on the
 * host; NULLs do not collide), an overlay segment its peer TEPs in the
 * normalized order.  A version 2 store gets no TEP: model.c lets its
 * overlay segments stand until they or their switch change.
 */
static const char schema_v3[] =
	"ALTER TABLE switches ADD COLUMN tep_ip TEXT;"
	"CREATE UNIQUE INDEX switches_tep_ip ON switches (tep_ip);"
	"CREATE TABLE segment_peers ("
	"  segment TEXT NOT NULL REFERENCES segments(name) ON DELETE CASCADE,"
	"  pos INTEGER NOT NULL,"
	"  peer TEXT NOT NULL,"
	"  PRIMARY KEY (segment, pos),"
	"  UNIQUE (segment, peer));";

/*
 * Version 4: high availability.  The active DPU the arbiter decided for
 * each active-standby switch (no reference to switches: a change of a
 * switch deletes and inserts its row, and the decision must outlive that;
 * a row naming a DPU no longer of its switch is ignored), and the history
 * of failovers.
 */
static const char schema_v4[] =
	"CREATE TABLE ha ("
	"  switch TEXT PRIMARY KEY,"
	"  active TEXT NOT NULL,"
	"  since INTEGER NOT NULL);"
	"CREATE TABLE ha_events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  at INTEGER NOT NULL,"
	"  switch TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('crash', 'linkDown', 'userInitiated')),"
	"  from_dpu TEXT, to_dpu TEXT,"
	"  detect_ms INTEGER,"
	"  note TEXT);";

/* Keeps the result of the failed SQLite call 'rc' (and SQLite's message) for store_fail(). */
static int sql_failed(struct store *s, int rc)
{
	s->rc = rc;
	snprintf(s->rc_msg, sizeof(s->rc_msg), "%s",
		 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	return -EIO;
}

/* Writes the message of a failure to 'last_error' (a long path is cut, never overflows). */
static void set_last(struct store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_last(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
	va_end(ap);
}

/* Logs the failure in 'last_error' (rate limited: a full disk fails every write). */
static void store_log(struct store *s)
{
	uint64_t suppressed;

	if (!dse_ratelimit_ok(&s->log_rl))
		return;
	suppressed = s->log_rl.suppressed;
	s->log_rl.suppressed = 0;
	if (suppressed)
		DSE_LOG_ERR("store", "%s (%llu more store failures not logged)", s->last_error,
			    (unsigned long long)suppressed);
	else
		DSE_LOG_ERR("store", "%s", s->last_error);
}

/*
 * What each SQLite result means for the store's file, as "'before' PATH
 * 'after'", and what to do about it.  The first entry that matches the
 * primary result code is taken; the last one matches everything.
 */
static const struct store_failure {
	int code;	    /* SQLite primary result code, -1 for any */
	int err;	    /* the negative errno it maps to */
	const char *before; /* the message before the path */
	const char *after;  /* the message after the path */
	const char *todo;   /* what a person does about it */
} store_failures[] = {
    {SQLITE_FULL, -ENOSPC, "the disk that holds the store ", " is full",
     "nothing was written; free space on it and try again"},
    {SQLITE_CORRUPT, -EBADMSG, "", " is not a dse store or is damaged",
     "restore it from a backup, or move it away and start dse-hostd with --init"},
    {SQLITE_NOTADB, -EBADMSG, "", " is not a dse store or is damaged",
     "restore it from a backup, or move it away and start dse-hostd with --init"},
    {SQLITE_IOERR, -EIO, "I/O error on the store ", "", "check the disk and the kernel log"},
    {SQLITE_READONLY, -EROFS, "the store ", " can not be written",
     "check the file, its directory, their permissions and the file system"},
    {SQLITE_PERM, -EACCES, "the store ", " can not be opened or written",
     "check the file, its directory, their permissions and the file system"},
    {SQLITE_CANTOPEN, -EACCES, "the store ", " can not be opened",
     "check the file, its directory, their permissions and the file system"},
    {SQLITE_BUSY, -EBUSY, "the store ", " is locked by another process", "stop what else holds it"},
    {SQLITE_LOCKED, -EBUSY, "the store ", " is locked", "stop what else holds it"},
    {SQLITE_NOMEM, -ENOMEM, "out of memory with the store ", "", "free memory"},
    {SQLITE_CONSTRAINT, -EINVAL, "the store ", " refused the change",
     "nothing was written: this is a bug of dse-hostd, please report it with the command "
     "you ran"},
    {-1, -EIO, "the store ", " failed", "check the disk and the log of dse-hostd"},
};

/*
 * Turns the failure kept by sql_failed() into an errno and a message:
 * "'doing': what happened to the store's file (SQLite's words): what to
 * do".  The message goes to 'err' (may be NULL), to store_last_error()
 * and to the log.  Returns the errno.
 */
static int store_fail(struct store *s, const char *doing, char *err, size_t err_len)
{
	const struct store_failure *f = store_failures;

	while (f->code != -1 && f->code != (s->rc & 0xff))
		f++;
	set_last(s, "%s: %s%s%s (%s): %s", doing, f->before, s->path, f->after,
		 s->rc_msg[0] ? s->rc_msg : sqlite3_errstr(s->rc), f->todo);
	if (err && err_len)
		snprintf(err, err_len, "%s", s->last_error);
	store_log(s);
	return f->err;
}

/* Keeps and logs a failure of the store that is not SQLite's, as store_fail() does. */
static int store_fail_msg(struct store *s, int r, char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int store_fail_msg(struct store *s, int r, char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
	va_end(ap);
	if (err && err_len)
		snprintf(err, err_len, "%s", s->last_error);
	store_log(s);
	return r;
}

static int exec(struct store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sql_failed(s, rc);
}

/* Reads the integer that 'sql' (a PRAGMA or a SELECT of one value) returns into '*ret'. */
static int query_int(struct store *s, const char *sql, int64_t *ret)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return sql_failed(s, rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		*ret = 0;
	else
		sql_failed(s, rc);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static int user_version(struct store *s, int *ret)
{
	int64_t v = 0;
	int r = query_int(s, "PRAGMA user_version", &v);

	*ret = (int)v;
	return r;
}

/* Brings the schema from 'from' to the current version in one transaction. */
static int migrate(struct store *s, int from, char *err, size_t err_len)
{
	const char *doing =
	    from ? "cannot upgrade the store's tables" : "cannot create the store's tables";
	char sql[64];
	int r;

	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return store_fail(s, doing, err, err_len);
	/* Each step upgrades one version; a new version adds a step here. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
	if ((from < 1 && exec(s, schema_v1) < 0) || (from < 2 && exec(s, schema_v2) < 0) ||
	    (from < 3 && exec(s, schema_v3) < 0) || (from < 4 && exec(s, schema_v4) < 0) ||
	    exec(s, sql) < 0 || exec(s, "COMMIT") < 0) {
		r = store_fail(s, doing, err, err_len);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return r;
	}
	return 0;
}

/*
 * Runs SQLite's quick check (the structure of every page and b-tree, in
 * time linear in the size of the store) and returns -EBADMSG with its
 * first finding when it does not say "ok".
 */
static int check_integrity(struct store *s, char *err, size_t err_len)
{
	sqlite3_stmt *st;
	char finding[256] = "";
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);

	if (rc != SQLITE_OK) {
		sql_failed(s, rc);
		return store_fail(s, "cannot check the store", err, err_len);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(finding, sizeof(finding), "%s", (const char *)sqlite3_column_text(st, 0));
	else
		sql_failed(s, rc);
	/* One line in the log: SQLite puts its findings on several. */
	for (char *p = finding; *p; p++)
		if (*p == '\n')
			*p = ' ';
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return store_fail(s, "cannot check the store", err, err_len);
	if (strcmp(finding, "ok") == 0)
		return 0;
	return store_fail_msg(s, -EBADMSG, err, err_len,
			      "the store %s is damaged (quick_check: %s): restore it from a "
			      "backup, or move it away and start dse-hostd with --init",
			      s->path, finding);
}

int store_open(const char *path, bool init, struct store **ret, char *err, size_t err_len)
{
	struct store *s = calloc(1, sizeof(*s));
	int64_t tables = 0, has_meta = 0;
	struct stat st;
	int v, r, rc;

	if (s == NULL)
		return -ENOMEM;
	s->log_rl = (struct dse_ratelimit){.per_sec = 1, .burst = 10};
	if (snprintf(s->path, sizeof(s->path), "%s", path) >= (int)sizeof(s->path)) {
		free(s);
		return -ENAMETOOLONG;
	}
	/*
	 * A missing or empty store is the caller's to judge and say: not
	 * logged here, and not touched (opening it would write a header).
	 */
	if (!init && stat(path, &st) < 0 && errno == ENOENT) {
		snprintf(err, err_len, "the store %s is missing", path);
		r = -ENOENT;
		goto fail;
	}
	if (!init && stat(path, &st) == 0 && st.st_size == 0) {
		snprintf(err, err_len, "the store %s is empty (0 bytes)", path);
		r = -ENODATA;
		goto fail;
	}
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | (init ? SQLITE_OPEN_CREATE : 0),
			     NULL);
	if (rc != SQLITE_OK) {
		sql_failed(s, rc);
		r = store_fail(s, "cannot open the store", err, err_len);
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	/* Checked before anything is written to it. */
	if ((r = check_integrity(s, err, err_len)) < 0)
		goto fail;
	if (user_version(s, &v) < 0 ||
	    query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table'", &tables) < 0 ||
	    query_int(s,
		      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
		      &has_meta) < 0) {
		r = store_fail(s, "cannot read the store's schema", err, err_len);
		goto fail;
	}
	/* Tables without a schema version, or a version without its tables: not ours. */
	if ((v == 0 && tables > 0) || (v > 0 && !has_meta)) {
		r = store_fail_msg(s, -EBADMSG, err, err_len,
				   "%s is not a dse store or is damaged (schema version %d, %lld "
				   "tables%s): restore it from a backup, or move it away and start "
				   "dse-hostd with --init",
				   path, v, (long long)tables, has_meta ? "" : ", no table meta");
		goto fail;
	}
	if (v == 0 && !init) {
		snprintf(err, err_len, "the store %s is empty (no tables)", path);
		r = -ENODATA;
		goto fail;
	}
	if (v > STORE_SCHEMA_VERSION) {
		r = store_fail_msg(s, -EPROTO, err, err_len,
				   "the store %s has schema version %d, newer than this "
				   "dse-hostd's %d: run the dse-hostd that wrote it",
				   path, v, STORE_SCHEMA_VERSION);
		goto fail;
	}
	/*
	 * WAL: a commit is one append to the log.  synchronous=FULL: a commit
	 * that returned survives a power cut, not only a crash of the daemon.
	 */
	if (exec(s, "PRAGMA journal_mode = WAL") < 0 || exec(s, "PRAGMA synchronous = FULL") < 0 ||
	    exec(s, "PRAGMA foreign_keys = ON") < 0) {
		r = store_fail(s, "cannot set up the store", err, err_len);
		goto fail;
	}
	if (v < STORE_SCHEMA_VERSION && (r = migrate(s, v, err, err_len)) < 0)
		goto fail;
	{
		int64_t rev = 0;

		if (query_int(s, "SELECT value FROM meta WHERE key = 'revision'", &rev) < 0) {
			r = store_fail(s, "cannot read the store's revision", err, err_len);
			goto fail;
		}
		s->revision = (uint64_t)rev;
	}
	*ret = s;
	return 0;
fail:
	store_close(s);
	return r;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	sqlite3_close(s->db);
	free(s);
}

void store_set_row_delay(struct store *s, unsigned us)
{
	s->row_delay_us = us;
}

const char *store_last_error(struct store *s)
{
	return s->last_error[0] ? s->last_error : "no store failure";
}

int store_schema_version(struct store *s)
{
	int v;

	if (user_version(s, &v) < 0)
		return store_fail(s, "cannot read the store's schema version", NULL, 0);
	return v;
}

uint64_t store_revision(struct store *s)
{
	return s->revision;
}

/* ---- reading ---- */

static json_t *col_json(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_TEXT:
		return json_string((const char *)sqlite3_column_text(st, i));
	default:
		return json_null();
	}
}

/* Binds 'args' (strings, integers; anything else is NULL) to ?1 .. ?n of 'st'. */
static void bind_args(sqlite3_stmt *st, int n, json_t **args)
{
	for (int i = 0; i < n; i++) {
		json_t *a = args[i];

		if (json_is_string(a))
			sqlite3_bind_text(st, i + 1, json_string_value(a), -1, SQLITE_TRANSIENT);
		else if (json_is_integer(a))
			sqlite3_bind_int64(st, i + 1, json_integer_value(a));
		else
			sqlite3_bind_null(st, i + 1);
	}
}

/*
 * Runs 'sql' with 'args' bound to ?1 .. ?n and returns its rows as objects
 * keyed by column name, skipping NULLs.
 */
static int query_args(struct store *s, const char *sql, int n, json_t **args, json_t **ret)
{
	sqlite3_stmt *st;
	json_t *rows = json_array();
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK) {
		json_decref(rows);
		return sql_failed(s, rc);
	}
	bind_args(st, n, args);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();

		for (int i = 0; i < sqlite3_column_count(st); i++)
			if (sqlite3_column_type(st, i) != SQLITE_NULL)
				json_object_set_new(o, sqlite3_column_name(st, i), col_json(st, i));
		json_array_append_new(rows, o);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(rows);
		return sql_failed(s, rc);
	}
	*ret = rows;
	return 0;
}

static int query(struct store *s, const char *sql, json_t **ret)
{
	return query_args(s, sql, 0, NULL, ret);
}

/*
 * Returns the values of column 0 of 'sql' with '?1' bound to 'arg', as a
 * list; sets '*failed' (and keeps the failure for store_fail()) when the
 * list is not whole.
 */
static json_t *column_list(struct store *s, const char *sql, const char *arg, bool *failed)
{
	sqlite3_stmt *st;
	json_t *a = json_array();
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK) {
		sql_failed(s, rc);
		*failed = true;
		return a;
	}
	sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(a, col_json(st, 0));
	if (rc != SQLITE_DONE) {
		sql_failed(s, rc);
		*failed = true;
	}
	sqlite3_finalize(st);
	return a;
}

static int cmp_uplink_json(const void *a, const void *b)
{
	return model_uplink_index(json_string_value(*(json_t *const *)a)) -
	       model_uplink_index(json_string_value(*(json_t *const *)b));
}

int store_load(struct store *s, json_t **ret_doc)
{
	json_t *sw = NULL, *seg = NULL, *ports = NULL, *pol = NULL, *rules = NULL, *o;
	bool failed = false;
	size_t i;
	int r;

	/* Columns in the order of the normalized profile (model.c), so export reads well. */
	if ((r = query(s, "SELECT name, mode, tep_ip FROM switches ORDER BY name", &sw)) < 0 ||
	    (r = query(s, "SELECT name, switch, vlan, vni FROM segments ORDER BY name", &seg)) < 0 ||
	    (r = query(s, "SELECT name, mac, segment, vm FROM ports ORDER BY name", &ports)) < 0 ||
	    (r = query(s,
		       "SELECT segment, default_action AS \"default\" FROM fw_policies "
		       "ORDER BY segment",
		       &pol)) < 0 ||
	    (r = query(s,
		       "SELECT id, priority, segment, port, direction, src, dst, proto, sport, "
		       "dport, icmp_type, action FROM fw_rules ORDER BY id",
		       &rules)) < 0)
		goto out;
	json_array_foreach(sw, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		json_t *up = column_list(s, "SELECT uplink FROM switch_uplinks WHERE switch = ?1",
					 name, &failed);
		size_t n = json_array_size(up);
		json_t **v = calloc(n ? n : 1, sizeof(*v)), *sorted = json_array();

		/* The normalized order of uplinks is numeric (vmnic2 before vmnic10). */
		for (size_t k = 0; v && k < n; k++)
			v[k] = json_array_get(up, k);
		if (v)
			qsort(v, n, sizeof(*v), cmp_uplink_json);
		for (size_t k = 0; v && k < n; k++)
			json_array_append(sorted, v[k]);
		free(v);
		json_decref(up);
		json_object_set_new(o, "dpus",
				    column_list(s,
						"SELECT dpu FROM switch_dpus WHERE switch = ?1 "
						"ORDER BY pos",
						name, &failed));
		json_object_set_new(o, "uplinks", sorted);
		/* The TEP comes last, as model.c writes it. */
		if (json_object_get(o, "tep_ip")) {
			json_object_set_new(o, "tep",
					    json_pack("{s:O}", "ip", json_object_get(o, "tep_ip")));
			json_object_del(o, "tep_ip");
		}
	}
	/* Every overlay segment has its peers, in the order they were written. */
	json_array_foreach(seg, i, o)
		if (json_object_get(o, "vni"))
			json_object_set_new(
			    o, "peers",
			    column_list(s,
					"SELECT peer FROM segment_peers WHERE segment = ?1 "
					"ORDER BY pos",
					json_string_value(json_object_get(o, "name")), &failed));
	if (failed) {
		r = -EIO;
		goto out;
	}
	*ret_doc = json_pack("{s:O, s:O, s:O, s:{s:O, s:O}}", "switches", sw, "segments", seg,
			     "ports", ports, "firewall", "policies", pol, "rules", rules);
	r = *ret_doc ? 0 : -ENOMEM;
out:
	if (r == -EIO)
		r = store_fail(s, "cannot read the desired state", NULL, 0);
	json_decref(sw);
	json_decref(seg);
	json_decref(ports);
	json_decref(pol);
	json_decref(rules);
	return r;
}

/* ---- writing ---- */

/* Runs one statement with text/integer/NULL parameters taken from JSON values. */
static int run(struct store *s, const char *sql, int n, json_t **args)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return sql_failed(s, rc);
	bind_args(st, n, args);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (s->row_delay_us)
		usleep(s->row_delay_us);
	return rc == SQLITE_DONE ? 0 : sql_failed(s, rc);
}

static int delete_row(struct store *s, const char *kind, json_t *name)
{
	json_t *id;
	int r;

	if (strcmp(kind, "switch") == 0)
		return run(s, "DELETE FROM switches WHERE name = ?1", 1, &name);
	if (strcmp(kind, "segment") == 0)
		return run(s, "DELETE FROM segments WHERE name = ?1", 1, &name);
	if (strcmp(kind, "port") == 0)
		return run(s, "DELETE FROM ports WHERE name = ?1", 1, &name);
	if (strcmp(kind, "policy") == 0)
		return run(s, "DELETE FROM fw_policies WHERE segment = ?1", 1, &name);
	/* A rule's name is its id in decimal. */
	id = json_integer(strtoll(json_string_value(name), NULL, 10));
	r = run(s, "DELETE FROM fw_rules WHERE id = ?1", 1, &id);
	json_decref(id);
	return r;
}

/* Column order of fw_rules as insert_row() binds them. */
static const char *const rule_cols[] = {"id",	 "priority", "segment", "port",
					"direction", "src",	"dst",	   "proto",
					"sport",	 "dport",    "icmp_type", "action"};

static int insert_row(struct store *s, const char *kind, json_t *o)
{
	json_t *a[4], *v;
	size_t i;
	int r;

	if (strcmp(kind, "switch") == 0) {
		a[0] = json_object_get(o, "name");
		a[1] = json_object_get(o, "mode");
		a[2] = json_object_get(json_object_get(o, "tep"), "ip");
		r = run(s, "INSERT INTO switches (name, mode, tep_ip) VALUES (?1, ?2, ?3)", 3, a);
		json_array_foreach(json_object_get(o, "dpus"), i, v) {
			json_t *pos = json_integer((json_int_t)i);

			a[1] = pos;
			a[2] = v;
			if (r == 0)
				r = run(s,
					"INSERT INTO switch_dpus (switch, pos, dpu) "
					"VALUES (?1, ?2, ?3)",
					3, a);
			json_decref(pos);
		}
		json_array_foreach(json_object_get(o, "uplinks"), i, v) {
			a[1] = v;
			if (r == 0)
				r = run(s, "INSERT INTO switch_uplinks (switch, uplink) VALUES (?1, ?2)",
					2, a);
		}
		return r;
	}
	if (strcmp(kind, "segment") == 0) {
		a[0] = json_object_get(o, "name");
		a[1] = json_object_get(o, "switch");
		a[2] = json_object_get(o, "vlan");
		a[3] = json_object_get(o, "vni");
		r = run(s, "INSERT INTO segments (name, switch, vlan, vni) VALUES (?1, ?2, ?3, ?4)",
			4, a);
		json_array_foreach(json_object_get(o, "peers"), i, v) {
			json_t *pos = json_integer((json_int_t)i);

			a[1] = pos;
			a[2] = v;
			if (r == 0)
				r = run(s,
					"INSERT INTO segment_peers (segment, pos, peer) "
					"VALUES (?1, ?2, ?3)",
					3, a);
			json_decref(pos);
		}
		return r;
	}
	if (strcmp(kind, "port") == 0) {
		a[0] = json_object_get(o, "name");
		a[1] = json_object_get(o, "mac");
		a[2] = json_object_get(o, "segment");
		a[3] = json_object_get(o, "vm");
		return run(s, "INSERT INTO ports (name, mac, segment, vm) VALUES (?1, ?2, ?3, ?4)",
			   4, a);
	}
	if (strcmp(kind, "policy") == 0) {
		a[0] = json_object_get(o, "segment");
		a[1] = json_object_get(o, "default");
		return run(s, "INSERT INTO fw_policies (segment, default_action) VALUES (?1, ?2)",
			   2, a);
	} else {
		json_t *ra[12];

		for (int i = 0; i < 12; i++)
			ra[i] = json_object_get(o, rule_cols[i]);
		return run(
		    s,
		    "INSERT INTO fw_rules (id, priority, segment, port, direction, src, dst, "
		    "proto, sport, dport, icmp_type, action) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
		    12, ra);
	}
}

/*
 * Returns the object of 'kind' that change 'c' names in 'want', or NULL.
 * 'rules' maps the ids of the rules of 'want' to them (a host holds
 * thousands: a search per change would be quadratic).
 */
static json_t *wanted(json_t *want, json_t *rules, const char *kind, json_t *c)
{
	const char *name = json_string_value(json_object_get(c, "name"));

	if (strcmp(kind, "switch") == 0)
		return model_find(json_object_get(want, "switches"), name);
	if (strcmp(kind, "segment") == 0)
		return model_find(json_object_get(want, "segments"), name);
	if (strcmp(kind, "port") == 0)
		return model_find(json_object_get(want, "ports"), name);
	if (strcmp(kind, "policy") == 0)
		return model_fw_policy_find(model_fw_policies(want), name);
	return json_object_get(rules, name);
}

/* Counts a new revision and commits the transaction under way.  Returns 0 or -EIO. */
static int commit_revision(struct store *s)
{
	if (exec(s, "UPDATE meta SET value = value + 1 WHERE key = 'revision'") < 0 ||
	    exec(s, "COMMIT") < 0)
		return -EIO;
	s->revision++;
	return 0;
}

int store_commit(struct store *s, json_t *want, json_t *changes, char *err, size_t err_len)
{
	static const char *const del_order[] = {"rule", "policy", "port", "segment", "switch"};
	static const char *const add_order[] = {"switch", "segment", "port", "policy", "rule"};
	json_t *c, *rules; /* id -> rule of 'want' */
	size_t i;
	int r = 0;

	if (json_array_size(changes) == 0)
		return 0;
	rules = json_object();
	json_array_foreach(model_fw_rules(want), i, c) {
		char id[32];

		snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(c, "id")));
		json_object_set(rules, id, c);
	}
	if (exec(s, "BEGIN IMMEDIATE") < 0) {
		json_decref(rules);
		return store_fail(s, "cannot write the change", err, err_len);
	}
	/*
	 * Old rows go first, children before parents; then new rows, parents
	 * before children.  A change is a delete and an insert, so values that
	 * must be unique can move between objects in one change.
	 */
	for (int k = 0; k < 5 && r == 0; k++)
		json_array_foreach(changes, i, c) {
			const char *kind = json_string_value(json_object_get(c, "kind"));
			const char *act = json_string_value(json_object_get(c, "action"));

			if (strcmp(kind, del_order[k]) == 0 && strcmp(act, "add") != 0 &&
			    (r = delete_row(s, kind, json_object_get(c, "name"))) < 0)
				break;
			/* A switch deleted takes the arbiter's decision with it (not a changed one). */
			if (strcmp(kind, "switch") == 0 && strcmp(act, "delete") == 0 &&
			    (r = run(s, "DELETE FROM ha WHERE switch = ?1", 1,
				     (json_t *[]){json_object_get(c, "name")})) < 0)
				break;
		}
	for (int k = 0; k < 5 && r == 0; k++)
		json_array_foreach(changes, i, c) {
			const char *kind = json_string_value(json_object_get(c, "kind"));
			const char *act = json_string_value(json_object_get(c, "action"));
			json_t *o;

			if (strcmp(kind, add_order[k]) != 0 || strcmp(act, "delete") == 0)
				continue;
			o = wanted(want, rules, kind, c);
			if (o == NULL) {
				/* model_diff() named an object that is not in 'want': a bug. */
				exec(s, "ROLLBACK");
				json_decref(rules);
				return store_fail_msg(
				    s, -EINVAL, err, err_len,
				    "the change names %s '%s' that is not in the "
				    "desired state, nothing was written: this is a "
				    "bug of dse-hostd, please report it",
				    kind, json_string_value(json_object_get(c, "name")));
			}
			if ((r = insert_row(s, kind, o)) < 0)
				break;
		}
	if (r == 0)
		r = commit_revision(s);
	if (r < 0) {
		/* The failure first: the rollback is another call. */
		r = store_fail(s, "cannot write the change", err, err_len);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	json_decref(rules);
	return r;
}

/* ---- DPUs ---- */

int store_dpus(struct store *s, json_t **ret)
{
	if (query(s,
		  "SELECT name, link, address, vendor, model, hw_version, fw_version, serial, "
		  "pci, version, first_seen, last_seen, boot_id, generation, pushed_revision, "
		  "managed, (SELECT switch FROM ha WHERE ha.active = dpus.name) AS ha_active, "
		  "(SELECT COUNT(*) FROM ha_events) AS ha_epoch "
		  "FROM dpus ORDER BY name",
		  ret) < 0)
		return store_fail(s, "cannot read the DPUs", NULL, 0);
	return 0;
}

/* store_fail() for a write about DPU 'name'. */
static int dpu_fail(struct store *s, const char *what, const char *name)
{
	char doing[160];

	snprintf(doing, sizeof(doing), "cannot %s DPU %s", what, name ? name : "?");
	return store_fail(s, doing, NULL, 0);
}

int store_dpu_seen(struct store *s, json_t *rec)
{
	static const char *const cols[] = {"link",	 "address",    "vendor", "model",
					   "hw_version", "fw_version", "serial", "pci",
					   "version"};
	json_t *a[11];
	json_t *now = json_integer((json_int_t)time(NULL));
	int r;

	a[0] = json_object_get(rec, "name");
	if (!json_is_string(a[0])) {
		json_decref(now);
		return -EINVAL;
	}
	for (int i = 0; i < 9; i++)
		a[i + 1] = json_object_get(rec, cols[i]);
	a[10] = now;
	/* A field the DPU did not report keeps what was known (COALESCE). */
	r = run(s,
		"INSERT INTO dpus (name, link, address, vendor, model, hw_version, fw_version, "
		"serial, pci, version, first_seen, last_seen) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11) "
		"ON CONFLICT (name) DO UPDATE SET "
		"link = coalesce(?2, link), address = coalesce(?3, address), "
		"vendor = coalesce(?4, vendor), model = coalesce(?5, model), "
		"hw_version = coalesce(?6, hw_version), fw_version = coalesce(?7, fw_version), "
		"serial = coalesce(?8, serial), pci = coalesce(?9, pci), "
		"version = coalesce(?10, version), last_seen = ?11",
		11, a);
	json_decref(now);
	return r < 0 ? dpu_fail(s, "record", json_string_value(a[0])) : 0;
}

int store_dpu_pushed(struct store *s, const char *name, int64_t boot_id, int64_t generation,
		     uint64_t revision, int managed)
{
	json_t *a[5] = {json_string(name), json_integer(boot_id), json_integer(generation),
			json_integer((json_int_t)revision), json_integer(managed)};
	int r = run(s,
		    "UPDATE dpus SET boot_id = ?2, generation = ?3, pushed_revision = ?4, "
		    "managed = ?5 WHERE name = ?1",
		    5, a);

	for (int i = 0; i < 5; i++)
		json_decref(a[i]);
	return r < 0 ? dpu_fail(s, "record the config of", name) : 0;
}

int store_dpu_forget(struct store *s, const char *name)
{
	json_t *a = json_string(name);
	int r = run(s, "DELETE FROM dpus WHERE name = ?1", 1, &a);

	json_decref(a);
	if (r < 0)
		return dpu_fail(s, "forget", name);
	return sqlite3_changes(s->db) == 0 ? -ENOENT : 0;
}

/* ---- high availability ---- */

int store_ha_failover(struct store *s, const char *sw, const char *from, const char *to,
		      const char *kind, int64_t detect_ms, const char *note)
{
	json_t *now = json_integer((json_int_t)time(NULL));
	json_t *a[7] = {json_string(sw), json_string(to), now, json_string(kind),
			from ? json_string(from) : json_null(),
			detect_ms >= 0 ? json_integer(detect_ms) : json_null(),
			note ? json_string(note) : json_null()};
	int r = exec(s, "BEGIN IMMEDIATE");

	/* The new roles and their reason together, and a revision: the DPUs are reconciled. */
	/* A DPU is the active one of one switch at most. */
	if (r == 0)
		r = run(s, "DELETE FROM ha WHERE active = ?2 AND switch <> ?1", 2, a);
	if (r == 0)
		r = run(s, "INSERT INTO ha (switch, active, since) VALUES (?1, ?2, ?3) "
			   "ON CONFLICT (switch) DO UPDATE SET active = ?2, since = ?3",
			3, a);
	if (r == 0)
		r = run(s, "INSERT INTO ha_events (at, switch, kind, from_dpu, to_dpu, detect_ms, "
			   "note) VALUES (?3, ?1, ?4, ?5, ?2, ?6, ?7)",
			7, a);
	if (r == 0)
		r = commit_revision(s);
	for (int i = 0; i < 7; i++)
		json_decref(a[i]);
	if (r < 0) {
		r = store_fail(s, "cannot record the failover", NULL, 0);
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return r;
}

int64_t store_ha_epoch(struct store *s)
{
	int64_t n = 0;

	if (query_int(s, "SELECT COUNT(*) FROM ha_events", &n) < 0)
		n = 0;
	return n;
}

int store_ha_events(struct store *s, const char *sw, unsigned limit, json_t **ret)
{
	json_t *a[2] = {sw ? json_string(sw) : json_null(), json_integer(limit)};
	int r = query_args(s,
			   "SELECT * FROM (SELECT id, at, switch, kind, from_dpu AS \"from\", "
			   "to_dpu AS \"to\", detect_ms, note FROM ha_events "
			   "WHERE ?1 IS NULL OR switch = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
			   2, a, ret);

	json_decref(a[0]);
	json_decref(a[1]);
	return r < 0 ? store_fail(s, "cannot read the failovers", NULL, 0) : 0;
}
