/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the host's desired state: the SQLite store (store.c), the
 * checks of host profiles (model.c) and the action functions on top
 * (config.c).  Each test opens a store in a fresh temporary directory, so
 * the tests also prove that what was written survives closing and
 * reopening the database.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#define _XOPEN_SOURCE_EXTENDED 1
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "model.h"
#include "reconcile.h"
#include "store.h"

struct fixture {
	char dir[64];
	char db[128];
	struct store *s;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A store in a new temporary directory. */
static struct fixture *fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/dse-test-hostd-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/hostd.db", f->dir);
	assert_int_equal(store_open(f->db, true, &f->s, err, sizeof(err)), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	store_close(f->s);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
}

static int setup(void **state)
{
	*state = fixture_new();
	return 0;
}

static int teardown(void **state)
{
	fixture_free(*state);
	return 0;
}

/* Closes and reopens the store, as a restart of the daemon does. */
static void reopen(struct fixture *f)
{
	char err[512];

	store_close(f->s);
	if (store_open(f->db, false, &f->s, err, sizeof(err)) < 0)
		fail_msg("reopen: %s", err);
}

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (v == NULL)
		fail_msg("bad test JSON at %d: %s", e.column, e.text);
	return v;
}

/* Runs config_add() with the object 'text'; returns its result, 'e' holds the message. */
static int add(struct fixture *f, enum config_kind kind, const char *text, struct model_err *e)
{
	json_t *obj = parse(text), *changes = NULL;
	int r;

	memset(e, 0, sizeof(*e));
	r = config_add(f->s, kind, obj, &changes, e);
	json_decref(obj);
	json_decref(changes);
	return r;
}

static void add_ok(struct fixture *f, enum config_kind kind, const char *text)
{
	struct model_err e;
	int r = add(f, kind, text, &e);

	if (r != 0)
		fail_msg("adding %s failed: %s: %s", text, e.path, e.msg);
}

/* Expects config_add() to fail with 'err' and a message containing 'needle'. */
static void add_fails(struct fixture *f, enum config_kind kind, const char *text, int err,
		      const char *needle)
{
	struct model_err e;
	int r = add(f, kind, text, &e);

	if (r != err || strstr(e.msg, needle) == NULL)
		fail_msg("adding %s: got %d '%s', wanted %d and '%s'", text, r, e.msg, err, needle);
}

static int apply(struct fixture *f, const char *text, bool dry_run, json_t **ret_changes,
		 struct model_err *e)
{
	json_t *doc = parse(text);
	int r;

	memset(e, 0, sizeof(*e));
	*ret_changes = NULL;
	r = config_apply(f->s, doc, (dry_run ? CONFIG_DRY_RUN : 0) | CONFIG_PRUNE, ret_changes, e);
	json_decref(doc);
	return r;
}

static size_t count(struct fixture *f, enum config_kind kind)
{
	json_t *list;
	size_t n;

	assert_int_equal(config_list(f->s, kind, &list), 0);
	n = json_array_size(list);
	json_decref(list);
	return n;
}

/* Records a DPU as discovery does. */
static void seen(struct fixture *f, const char *text)
{
	json_t *rec = parse(text);

	assert_int_equal(store_dpu_seen(f->s, rec), 0);
	json_decref(rec);
}

static const char base_profile[] =
	"{\"switches\": [{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"h1-d1\"],"
	"                 \"uplinks\": [\"vmnic1\", \"vmnic0\"], \"tep\": {\"ip\": "
	"\"198.19.1.1\"}}],"
	" \"segments\": [{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100},"
	"                {\"name\": \"db\", \"switch\": \"sw1\", \"vlan\": 200},"
	"                {\"name\": \"ov\", \"switch\": \"sw1\", \"vni\": 5001, \"peers\": "
	"[\"198.19.2.1\"]}],"
	" \"ports\": [{\"name\": \"vm1-eth0\", \"mac\": \"02:00:00:00:01:0A\", \"segment\": "
	"\"web\", \"vm\": \"vm1\"},"
	"             {\"name\": \"vm2-eth0\", \"mac\": \"02:00:00:00:01:02\", \"segment\": "
	"\"db\", \"vm\": \"vm2\"}]}";

/*
 * A new store has the current schema and revision 0; after changes and a
 * reopen, the objects and the revision are still there.
 * Steps: add a switch, a segment, a port; reopen.  Verify: schema version,
 * revision 3, one of each.
 */
static void test_store_persists_objects_and_revision(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_schema_version(f->s), STORE_SCHEMA_VERSION);
	assert_int_equal(store_revision(f->s), 0);
	add_ok(f, CONFIG_SWITCH, "{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"h1-d1\"]}");
	add_ok(f, CONFIG_SEGMENT, "{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100}");
	add_ok(f, CONFIG_PORT, "{\"name\": \"p1\", \"mac\": \"02:00:00:00:00:01\", \"segment\": "
			       "\"web\", \"vm\": \"vm1\"}");
	reopen(f);
	assert_int_equal(store_revision(f->s), 3);
	assert_int_equal(count(f, CONFIG_SWITCH), 1);
	assert_int_equal(count(f, CONFIG_SEGMENT), 1);
	assert_int_equal(count(f, CONFIG_PORT), 1);
}

/*
 * Every imperative add is checked before anything is written, and the
 * message says what to do.
 * Verify: each bad object is refused with its message and the revision
 * did not move.
 */
static void test_store_add_validates_before_writing(void **state)
{
	struct fixture *f = *state;
	uint64_t rev;

	add_ok(f, CONFIG_SWITCH, "{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"h1-d1\"], "
				 "\"uplinks\": [\"vmnic0\"], \"tep\": {\"ip\": \"198.19.1.1\"}}");
	add_ok(f, CONFIG_SWITCH, "{\"name\": \"sw2\", \"mode\": \"independent\", \"dpus\": "
				 "[\"h1-d2\"]}");
	add_ok(f, CONFIG_SEGMENT, "{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100}");
	add_ok(f, CONFIG_SEGMENT, "{\"name\": \"ov\", \"switch\": \"sw1\", \"vni\": 7}");
	add_ok(f, CONFIG_PORT, "{\"name\": \"p1\", \"mac\": \"02:00:00:00:00:01\", \"segment\": "
			       "\"web\", \"vm\": \"vm1\"}");
	rev = store_revision(f->s);

	add_fails(f, CONFIG_SWITCH, "{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"x\"]}",
		  -EEXIST, "already exists");
	add_fails(f, CONFIG_SWITCH, "{\"name\": \"sw3\", \"mode\": \"ha\", \"dpus\": [\"x\"]}",
		  -EINVAL, "mode must be single, active-standby or independent");
	add_fails(f, CONFIG_SWITCH, "{\"name\": \"sw3\", \"mode\": \"single\", \"dpus\": [\"a\", "
				    "\"b\"]}",
		  -EINVAL, "needs 1 DPU, not 2");
	add_fails(f, CONFIG_SWITCH,
		  "{\"name\": \"sw3\", \"mode\": \"active-standby\", \"dpus\": [\"a\"]}", -EINVAL,
		  "needs 2 DPUs");
	add_fails(f, CONFIG_SWITCH,
		  "{\"name\": \"sw3\", \"mode\": \"active-standby\", \"dpus\": [\"a\", \"a\"]}",
		  -EINVAL, "twice");
	add_fails(f, CONFIG_SWITCH, "{\"name\": \"sw3\", \"mode\": \"single\", \"dpus\": "
				    "[\"h1-d1\"]}",
		  -EINVAL, "already serves switch 'sw1'");
	add_fails(f, CONFIG_SWITCH, "{\"name\": \"sw3\", \"mode\": \"single\", \"dpus\": [\"d9\"], "
				    "\"uplinks\": [\"vmnic0\"]}",
		  -EINVAL, "already belongs to switch 'sw1'");
	add_fails(f, CONFIG_SWITCH, "{\"name\": \"sw3\", \"mode\": \"single\", \"dpus\": [\"d9\"], "
				    "\"uplinks\": [\"eth0\"]}",
		  -EINVAL, "must be vmnic0");
	add_fails(f, CONFIG_SWITCH, "{\"name\": \"bad name\", \"mode\": \"single\", \"dpus\": "
				    "[\"d9\"]}",
		  -EINVAL, "letters, digits");
	add_fails(f, CONFIG_SEGMENT, "{\"name\": \"web2\", \"switch\": \"sw1\", \"vlan\": 100}",
		  -EINVAL, "VLAN 100 already backs segment 'web'");
	add_fails(f, CONFIG_SEGMENT, "{\"name\": \"ov2\", \"switch\": \"sw2\", \"vni\": 7}",
		  -EINVAL, "VNI 7 already backs segment 'ov'");
	add_fails(f, CONFIG_SEGMENT, "{\"name\": \"s\", \"switch\": \"sw1\", \"vlan\": 4095}",
		  -EINVAL, "outside 1..4094");
	add_fails(f, CONFIG_SEGMENT, "{\"name\": \"s\", \"switch\": \"sw1\"}", -EINVAL,
		  "either 'vlan'");
	add_fails(f, CONFIG_SEGMENT, "{\"name\": \"s\", \"switch\": \"sw1\", \"vlan\": 5, "
				     "\"vni\": 5}",
		  -EINVAL, "not both");
	add_fails(f, CONFIG_SEGMENT, "{\"name\": \"s\", \"switch\": \"nope\", \"vlan\": 5}",
		  -EINVAL, "switch 'nope', which does not exist");
	add_fails(f, CONFIG_PORT, "{\"name\": \"p2\", \"mac\": \"02:00:00:00:00:01\", "
				  "\"segment\": \"web\", \"vm\": \"vm2\"}",
		  -EINVAL, "already the address of port 'p1'");
	add_fails(f, CONFIG_PORT, "{\"name\": \"p2\", \"mac\": \"02:00:00:00:00:02\", "
				  "\"segment\": \"web\", \"vm\": \"vm1\"}",
		  -EINVAL, "VM 'vm1' already has port 'p1'");
	add_fails(f, CONFIG_PORT, "{\"name\": \"p2\", \"mac\": \"01:00:00:00:00:02\", "
				  "\"segment\": \"web\", \"vm\": \"vm2\"}",
		  -EINVAL, "not a unicast MAC");
	add_fails(f, CONFIG_PORT, "{\"name\": \"p2\", \"mac\": \"02:00:00:00:00:2\", "
				  "\"segment\": \"web\", \"vm\": \"vm2\"}",
		  -EINVAL, "not a unicast MAC");
	add_fails(f, CONFIG_PORT, "{\"name\": \"p2\", \"mac\": \"02:00:00:00:00:02\", "
				  "\"segment\": \"nope\", \"vm\": \"vm2\"}",
		  -EINVAL, "segment 'nope', which does not exist");
	add_fails(f, CONFIG_PORT, "{\"name\": \"vmnic0\", \"mac\": \"02:00:00:00:00:02\", "
				  "\"segment\": \"web\", \"vm\": \"vm2\"}",
		  -EINVAL, "kept for the uplink");
	add_fails(f, CONFIG_PORT, "{\"name\": \"Tep-198.19.0.2\", \"mac\": \"02:00:00:00:00:02\", "
				  "\"segment\": \"web\", \"vm\": \"vm2\"}",
		  -EINVAL, "reserved for the ports of peer TEPs");
	add_fails(f, CONFIG_PORT, "{\"name\": \"p2\", \"mac\": \"02:00:00:00:00:02\", "
				  "\"segment\": \"web\", \"vm\": \"a-very-long-vm\"}",
		  -EINVAL, "rep-<vm>");
	assert_int_equal(store_revision(f->s), rev);

	/* A VLAN is unique per switch only. */
	add_ok(f, CONFIG_SEGMENT, "{\"name\": \"web-b\", \"switch\": \"sw2\", \"vlan\": 100}");
}

/*
 * Deleting refuses objects still in use and unknown names, with the names
 * of the users, and deletes the rest.
 */
static void test_store_delete_refuses_objects_in_use(void **state)
{
	struct fixture *f = *state;
	struct model_err e = {0};
	json_t *changes = NULL;

	add_ok(f, CONFIG_SWITCH, "{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"d1\"]}");
	add_ok(f, CONFIG_SEGMENT, "{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100}");
	add_ok(f, CONFIG_PORT, "{\"name\": \"p1\", \"mac\": \"02:00:00:00:00:01\", \"segment\": "
			       "\"web\", \"vm\": \"vm1\"}");
	assert_int_equal(config_del(f->s, CONFIG_SWITCH, "sw1", &changes, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "still has 1 segment (web)"));
	assert_int_equal(config_del(f->s, CONFIG_SEGMENT, "web", &changes, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "still has 1 port (p1)"));
	assert_int_equal(config_del(f->s, CONFIG_PORT, "nope", &changes, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "dsectl port list"));

	assert_int_equal(config_del(f->s, CONFIG_PORT, "p1", &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 1);
	json_decref(changes);
	assert_int_equal(config_del(f->s, CONFIG_SEGMENT, "web", &changes, &e), 0);
	json_decref(changes);
	assert_int_equal(config_del(f->s, CONFIG_SWITCH, "sw1", &changes, &e), 0);
	json_decref(changes);
	reopen(f);
	assert_int_equal(count(f, CONFIG_SWITCH) + count(f, CONFIG_SEGMENT) + count(f, CONFIG_PORT),
			 0);
}

/*
 * Applying a profile twice changes nothing the second time.
 * Verify: first apply reports 6 adds; the second none, and the revision
 * moves only once.
 */
static void test_store_apply_twice_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct model_err e;
	json_t *changes;

	assert_int_equal(apply(f, base_profile, false, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 6);
	json_decref(changes);
	assert_int_equal(store_revision(f->s), 1);
	reopen(f);
	assert_int_equal(apply(f, base_profile, false, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 0);
	json_decref(changes);
	assert_int_equal(store_revision(f->s), 1);
}

/*
 * A dry run reports the changes and writes nothing.
 */
static void test_store_apply_dry_run_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct model_err e;
	json_t *changes;

	assert_int_equal(apply(f, base_profile, true, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 6);
	json_decref(changes);
	assert_int_equal(store_revision(f->s), 0);
	assert_int_equal(count(f, CONFIG_PORT), 0);
}

/*
 * A profile with one bad element is refused whole: nothing of it is
 * written, and the error names the element's path.
 */
static void test_store_apply_is_all_or_nothing(void **state)
{
	struct fixture *f = *state;
	struct model_err e;
	json_t *changes;
	const char *bad =
		"{\"switches\": [{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"d1\"]}],"
		" \"segments\": [{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100}],"
		" \"ports\": [{\"name\": \"p1\", \"mac\": \"02:00:00:00:00:01\", \"segment\": "
		"\"web\", \"vm\": \"vm1\"},"
		"             {\"name\": \"p2\", \"mac\": \"02:00:00:00:00:02\", \"segment\": "
		"\"web\", \"vm\": \"vm2\", \"colour\": \"red\"}]}";

	assert_int_equal(apply(f, bad, false, &changes, &e), -EINVAL);
	assert_string_equal(e.path, "ports[1].colour");
	assert_non_null(strstr(e.msg, "unknown key 'colour'"));
	assert_int_equal(store_revision(f->s), 0);
	assert_int_equal(count(f, CONFIG_SWITCH), 0);

	assert_int_equal(apply(f, "{\"segments\": {\"name\": \"x\"}}", false, &changes, &e),
			 -EINVAL);
	assert_string_equal(e.path, "segments");
	assert_non_null(strstr(e.msg, "must be a list, not a mapping"));
	assert_int_equal(apply(f, "{\"switches\": [{\"name\": 5}]}", false, &changes, &e),
			 -EINVAL);
	assert_string_equal(e.path, "switches[0].name");
	assert_int_equal(apply(f, "{\"version\": 2}", false, &changes, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "version 1, not 2"));
	assert_int_equal(apply(f, "[1]", false, &changes, &e), -EINVAL);
}

/*
 * Apply makes the store equal to the profile: what it omits is deleted,
 * what differs is changed, in one transaction, even when values that must
 * be unique move between objects (two segments swap their VLANs).
 */
static void test_store_apply_replaces_and_swaps(void **state)
{
	struct fixture *f = *state;
	struct model_err e;
	json_t *changes, *segs;
	const char *swapped =
		"{\"switches\": [{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"h1-d1\"],"
		"                 \"uplinks\": [\"vmnic0\", \"vmnic1\"], \"tep\": {\"ip\": "
		"\"198.19.1.1\"}}],"
		" \"segments\": [{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 200},"
		"                {\"name\": \"db\", \"switch\": \"sw1\", \"vlan\": 100}],"
		" \"ports\": [{\"name\": \"vm1-eth0\", \"mac\": \"02:00:00:00:01:0a\", "
		"\"segment\": \"web\", \"vm\": \"vm1\"}]}";

	assert_int_equal(apply(f, base_profile, false, &changes, &e), 0);
	json_decref(changes);
	if (apply(f, swapped, false, &changes, &e) != 0)
		fail_msg("%s: %s", e.path, e.msg);
	/* db and web change, ov and vm2-eth0 go; the switch is the same (uplink order, MAC case). */
	assert_int_equal(json_array_size(changes), 4);
	json_decref(changes);
	assert_int_equal(config_list(f->s, CONFIG_SEGMENT, &segs), 0);
	assert_int_equal(json_array_size(segs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(segs, 0), "name")),
			    "db");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(segs, 0), "vlan")),
			 100);
	json_decref(segs);
	assert_int_equal(count(f, CONFIG_PORT), 1);

	/* A switch that changes under its segments (one uplink less, another DPU). */
	if (apply(f,
		  "{\"switches\": [{\"name\": \"sw1\", \"mode\": \"independent\", \"dpus\": "
		  "[\"h1-d2\"], \"uplinks\": [\"vmnic3\"]}],"
		  " \"segments\": [{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 200},"
		  "                {\"name\": \"db\", \"switch\": \"sw1\", \"vlan\": 100}],"
		  " \"ports\": [{\"name\": \"vm1-eth0\", \"mac\": \"02:00:00:00:01:0a\", "
		  "\"segment\": \"web\", \"vm\": \"vm1\"}]}",
		  false, &changes, &e) != 0)
		fail_msg("%s: %s", e.path, e.msg);
	assert_int_equal(json_array_size(changes), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(changes, 0), "action")),
			    "change");
	json_decref(changes);
	reopen(f);
	assert_int_equal(count(f, CONFIG_SEGMENT), 2);
}

/*
 * A dual-DPU switch needs identical DPUs when the host knows them; a DPU
 * the host has not seen may be named.
 */
static void test_store_dual_dpu_needs_identical_dpus(void **state)
{
	struct fixture *f = *state;

	seen(f, "{\"name\": \"h1-d1\", \"link\": \"int-d1\", \"vendor\": \"NVIDIA\", \"model\": "
		"\"BlueField-3\", \"hw_version\": \"1\", \"fw_version\": \"32.1\"}");
	seen(f, "{\"name\": \"h1-d2\", \"link\": \"int-d2\", \"vendor\": \"NVIDIA\", \"model\": "
		"\"BlueField-3\", \"hw_version\": \"1\", \"fw_version\": \"32.2\"}");
	add_fails(f, CONFIG_SWITCH,
		  "{\"name\": \"sw\", \"mode\": \"active-standby\", \"dpus\": [\"h1-d1\", "
		  "\"h1-d2\"]}",
		  -EINVAL, "firmware version differs");
	add_ok(f, CONFIG_SWITCH, "{\"name\": \"sw\", \"mode\": \"active-standby\", \"dpus\": "
				 "[\"h1-d1\", \"h1-d9\"]}");
	/* Same firmware now: the pair is accepted, with uplinks of both DPUs. */
	seen(f, "{\"name\": \"h1-d2\", \"fw_version\": \"32.1\"}");
	add_ok(f, CONFIG_SWITCH, "{\"name\": \"sw2\", \"mode\": \"active-standby\", \"dpus\": "
				 "[\"h1-d2\", \"h1-d3\"]}");
}

/*
 * With the DPUs' links known, an uplink must sit on one of the switch's
 * DPUs (DPU N has vmnic2N-2 and vmnic2N-1).
 */
static void test_store_uplinks_must_be_on_the_switch_dpus(void **state)
{
	struct fixture *f = *state;

	seen(f, "{\"name\": \"h1-d1\", \"link\": \"int-d1\"}");
	seen(f, "{\"name\": \"h1-d2\", \"link\": \"int-d2\"}");
	add_fails(f, CONFIG_SWITCH, "{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": "
				    "[\"h1-d1\"], \"uplinks\": [\"vmnic2\"]}",
		  -EINVAL, "uplink vmnic2 is on the DPU of link int-d2");
	add_ok(f, CONFIG_SWITCH, "{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"h1-d1\"], "
				 "\"uplinks\": [\"vmnic0\", \"vmnic1\"]}");
	add_ok(f, CONFIG_SWITCH, "{\"name\": \"sw2\", \"mode\": \"independent\", \"dpus\": "
				 "[\"h1-d2\"], \"uplinks\": [\"vmnic3\"]}");
}

/*
 * Export on one host and apply on another reproduces the state: DPUs map
 * by internal link, so h1-d1 becomes h2-d1.  A host whose DPU on that link
 * is of another model, or that has no DPU there, refuses the profile.
 */
static void test_store_export_apply_round_trip(void **state)
{
	struct fixture *f = *state, *g, *h;
	struct model_err e;
	json_t *profile, *changes, *a, *b, *sw;

	seen(f, "{\"name\": \"h1-d1\", \"link\": \"int-d1\", \"vendor\": \"NVIDIA\", \"model\": "
		"\"BlueField-3\", \"hw_version\": \"1\", \"fw_version\": \"32.1\"}");
	assert_int_equal(apply(f, base_profile, false, &changes, &e), 0);
	json_decref(changes);
	assert_int_equal(config_export(f->s, &profile), 0);
	assert_int_equal(json_integer_value(json_object_get(profile, "version")), MODEL_VERSION);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(profile, "dpus"), 0), "link")),
			    "int-d1");

	/* Host 2: its DPU on int-d1 is h2-d1, same model. */
	g = fixture_new();
	seen(g, "{\"name\": \"h2-d1\", \"link\": \"int-d1\", \"vendor\": \"NVIDIA\", \"model\": "
		"\"BlueField-3\", \"hw_version\": \"1\", \"fw_version\": \"32.1\"}");
	assert_int_equal(config_apply(g->s, profile, CONFIG_PRUNE, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 6);
	json_decref(changes);
	assert_int_equal(store_load(f->s, &a), 0);
	assert_int_equal(store_load(g->s, &b), 0);
	sw = json_array_get(json_object_get(b, "switches"), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(sw, "dpus"), 0)),
			    "h2-d1");
	json_array_set_new(json_object_get(sw, "dpus"), 0, json_string("h1-d1"));
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	/* Applying it again there changes nothing. */
	assert_int_equal(config_apply(g->s, profile, CONFIG_PRUNE, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 0);
	json_decref(changes);
	fixture_free(g);

	/* Host 3: no DPU on int-d1, then one of another model. */
	h = fixture_new();
	assert_int_equal(config_apply(h->s, profile, CONFIG_PRUNE, &changes, &e), -EINVAL);
	assert_string_equal(e.path, "dpus[0]");
	assert_non_null(strstr(e.msg, "internal link int-d1"));
	seen(h, "{\"name\": \"h3-d1\", \"link\": \"int-d1\", \"vendor\": \"AMD\", \"model\": "
		"\"Pensando\", \"hw_version\": \"1\", \"fw_version\": \"1\"}");
	assert_int_equal(config_apply(h->s, profile, CONFIG_PRUNE, &changes, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "is AMD Pensando, but the profile needs NVIDIA BlueField-3"));
	assert_int_equal(store_revision(h->s), 0);
	fixture_free(h);
	json_decref(profile);
}

/*
 * The DPU records: first and last seen, what was pushed, forgetting.
 */
static void test_store_dpu_records(void **state)
{
	struct fixture *f = *state;
	json_t *inv, *rec;

	seen(f, "{\"name\": \"h1-d1\", \"link\": \"int-d1\", \"serial\": \"S1\"}");
	seen(f, "{\"name\": \"h1-d1\", \"address\": \"169.254.1.6\"}");
	assert_int_equal(store_dpu_pushed(f->s, "h1-d1", 99, 42, 7, 1), 0);
	reopen(f);
	assert_int_equal(store_dpus(f->s, &inv), 0);
	assert_int_equal(json_array_size(inv), 1);
	rec = json_array_get(inv, 0);
	/* Fields not reported again keep their value. */
	assert_string_equal(json_string_value(json_object_get(rec, "link")), "int-d1");
	assert_string_equal(json_string_value(json_object_get(rec, "serial")), "S1");
	assert_string_equal(json_string_value(json_object_get(rec, "address")), "169.254.1.6");
	assert_int_equal(json_integer_value(json_object_get(rec, "boot_id")), 99);
	assert_int_equal(json_integer_value(json_object_get(rec, "generation")), 42);
	assert_int_equal(json_integer_value(json_object_get(rec, "pushed_revision")), 7);
	assert_true(json_integer_value(json_object_get(rec, "last_seen")) > 0);
	json_decref(inv);
	assert_int_equal(store_dpu_forget(f->s, "h1-d1"), 0);
	assert_int_equal(store_dpu_forget(f->s, "h1-d1"), -ENOENT);
}

/*
 * A store written by a newer dse-hostd (a higher schema version) is refused
 * with a message, never modified.
 */
static void test_store_refuses_newer_schema(void **state)
{
	struct fixture *f = *state;
	struct store *s2 = NULL;
	sqlite3 *db;
	char err[512];

	store_close(f->s);
	f->s = NULL;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->db, false, &s2, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, "schema version 99"));
	assert_null(s2);
}

/* ---- a store that is lost or damaged ---- */

/* Writes 'len' bytes of 'byte' at 'off' of the file 'path'. */
static void overwrite(const char *path, long off, int byte, size_t len)
{
	FILE *fp = fopen(path, "r+b");
	char buf[4096];

	assert_non_null(fp);
	assert_true(len <= sizeof(buf));
	memset(buf, byte, len);
	assert_int_equal(fseek(fp, off, SEEK_SET), 0);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	fclose(fp);
}

/* Reads the whole file 'path' (at most 1 MiB) into a new buffer; its size in '*len'. */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = malloc(1 << 20);

	assert_non_null(fp);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, fp);
	fclose(fp);
	return buf;
}

/* Opens 'f''s store without init and expects 'want' with 'needle' and the path in the message. */
static void open_fails(struct fixture *f, bool init, int want, const char *needle)
{
	struct store *s2 = NULL;
	char err[1024] = "";
	int r = store_open(f->db, init, &s2, err, sizeof(err));

	if (r != want || strstr(err, needle) == NULL || strstr(err, f->db) == NULL)
		fail_msg("open (init %d): got %d '%s', wanted %d and '%s' with the path", init, r,
			 err, want, needle);
	assert_null(s2);
}

/*
 * A store that is missing or empty is opened only when told to
 * initialise: dse-hostd must not start a host with an empty desired state
 * by accident.
 * Steps: open a missing file, then a file of 0 bytes, without init; open
 * the 0-byte file with init, add a switch; reopen without init.
 * Verify: -ENOENT ("missing", the path) and no file made; -ENODATA ("empty
 * (0 bytes)") and the file still 0 bytes; with init the current schema,
 * revision 0; the reopened store has the switch.
 */
static void test_store_open_refuses_missing_and_empty_unless_init(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	char err[1024];

	store_close(f->s);
	f->s = NULL;
	assert_int_equal(unlink(f->db), 0);
	open_fails(f, false, -ENOENT, "is missing");
	assert_int_equal(stat(f->db, &st), -1);
	fclose(fopen(f->db, "w"));
	open_fails(f, false, -ENODATA, "is empty (0 bytes)");
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(st.st_size, 0);
	if (store_open(f->db, true, &f->s, err, sizeof(err)) < 0)
		fail_msg("init: %s", err);
	assert_int_equal(store_schema_version(f->s), STORE_SCHEMA_VERSION);
	assert_int_equal(store_revision(f->s), 0);
	add_ok(f, CONFIG_SWITCH,
	       "{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"h1-d1\"]}");
	reopen(f);
	assert_int_equal(count(f, CONFIG_SWITCH), 1);
}

/*
 * A file that is not a dse store, or a damaged one, is refused with its
 * path and what to do, also with init, and never written.
 * Steps: a store with objects, closed; (1) its first 100 bytes (the SQLite
 * header) zeroed; (2) only the header's fields after its first 24 bytes
 * zeroed (the schema version reads 0 while the tables are there); (3) a
 * text file; (4) a good store whose table of ports has its root page's
 * type byte broken.  Open each without and with init.
 * Verify: -EBADMSG each time, the message names the file and says it is
 * not a dse store or is damaged (case 4: the quick check's finding); the
 * file's bytes are the same afterwards.
 */
static void test_store_open_refuses_damaged_files(void **state)
{
	struct fixture *f = *state;
	struct model_err e;
	json_t *changes;
	sqlite3 *db;
	sqlite3_stmt *st;
	char *before, *after;
	size_t nb, na;
	int root, page;

	assert_int_equal(apply(f, base_profile, false, &changes, &e), 0);
	json_decref(changes);
	store_close(f->s);
	f->s = NULL;
	before = slurp(f->db, &nb);

	overwrite(f->db, 0, 0, 100);
	open_fails(f, false, -EBADMSG, "is not a dse store or is damaged (file is not a database)");
	open_fails(f, true, -EBADMSG, "is not a dse store or is damaged");

	/* The header back, but its fields from byte 24 on zeroed. */
	{
		FILE *fp = fopen(f->db, "r+b");

		assert_non_null(fp);
		assert_int_equal(fwrite(before, 1, 100, fp), 100);
		fclose(fp);
	}
	overwrite(f->db, 24, 0, 76);
	open_fails(f, false, -EBADMSG, "is not a dse store or is damaged (schema version 0");
	open_fails(f, true, -EBADMSG, "is not a dse store or is damaged");

	{
		FILE *fp = fopen(f->db, "w");

		assert_non_null(fp);
		fputs("switches: []\n", fp);
		fclose(fp);
	}
	open_fails(f, false, -EBADMSG, "is not a dse store or is damaged");

	/* A good store again, then one page broken. */
	{
		FILE *fp = fopen(f->db, "wb");

		assert_non_null(fp);
		assert_int_equal(fwrite(before, 1, nb, fp), nb);
		fclose(fp);
	}
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT rootpage, (SELECT page_size FROM "
					    "pragma_page_size) FROM sqlite_master WHERE name = "
					    "'ports'",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	root = sqlite3_column_int(st, 0);
	page = sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_true(root > 1 && page >= 512);
	overwrite(f->db, (long)(root - 1) * page, 0x42, 1);
	free(before);
	before = slurp(f->db, &nb);
	open_fails(f, false, -EBADMSG, "is damaged (quick_check: ");
	open_fails(f, true, -EBADMSG, "quick_check");
	after = slurp(f->db, &na);
	assert_int_equal(na, nb);
	assert_memory_equal(before, after, nb);
	free(before);
	free(after);
}

/* ---- the firewall ---- */

static const char fw_profile[] =
	"{\"switches\": [{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"h1-d1\"]}],"
	" \"segments\": [{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100},"
	"                {\"name\": \"db\", \"switch\": \"sw1\", \"vlan\": 200}],"
	" \"ports\": [{\"name\": \"vm1-eth0\", \"mac\": \"02:00:00:00:01:01\", \"segment\": "
	"\"web\", \"vm\": \"vm1\"}],"
	" \"firewall\": {"
	"   \"policies\": [{\"segment\": \"web\", \"default\": \"deny\"},"
	"                  {\"segment\": \"db\", \"default\": \"allow\"}],"
	"   \"rules\": [{\"id\": 20, \"proto\": \"tcp\", \"dport\": 22, \"src\": \"10.0.0.0/8\", "
	"\"action\": \"allow\"},"
	"             {\"id\": 10, \"priority\": 100, \"segment\": \"web\", \"proto\": \"icmp\", "
	"\"icmp_type\": 8, \"action\": \"allow\", \"direction\": \"in\"},"
	"             {\"id\": 30, \"port\": \"vm1-eth0\", \"proto\": \"udp\", \"sport\": "
	"\"1000-2000\", \"action\": \"reject\", \"direction\": \"out\"}]}}";

/* The same profile as fw_profile, spelled otherwise: it normalizes to the same state. */
static const char fw_profile_respelled[] =
	"{\"switches\": [{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"h1-d1\"]}],"
	" \"segments\": [{\"name\": \"db\", \"switch\": \"sw1\", \"vlan\": 200},"
	"                {\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100}],"
	" \"ports\": [{\"name\": \"vm1-eth0\", \"mac\": \"02:00:00:00:01:01\", \"segment\": "
	"\"web\", \"vm\": \"vm1\"}],"
	" \"firewall\": {"
	"   \"policies\": [{\"segment\": \"db\", \"default\": \"ALLOW\"},"
	"                  {\"segment\": \"web\", \"default\": \"deny\"}],"
	"   \"rules\": [{\"id\": 30, \"priority\": 0, \"port\": \"vm1-eth0\", \"proto\": 17, "
	"\"sport\": \"1000-2000\", \"dport\": \"0-65535\", \"action\": \"Reject\", "
	"\"direction\": \"out\"},"
	"             {\"id\": 10, \"priority\": 100, \"segment\": \"web\", \"proto\": \"1\", "
	"\"icmp_type\": 8, \"action\": \"allow\", \"direction\": \"IN\"},"
	"             {\"id\": 20, \"proto\": \"TCP\", \"dport\": \"22\", \"src\": \"10.0.0.0/8\", "
	"\"action\": \"allow\", \"direction\": \"any\"}]}}";

/* Applies 'bad' (fw_profile with 'from' replaced by 'to') and expects it refused at 'path'. */
static void fw_refused(struct fixture *f, const char *from, const char *to, const char *path,
		       const char *needle)
{
	char text[4096];
	const char *at = strstr(fw_profile, from);
	struct model_err e;
	json_t *changes;
	int r;

	if (at == NULL)
		fail_msg("test bug: '%s' is not in the profile", from);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - fw_profile), fw_profile, to,
		 at + strlen(from));
	r = apply(f, text, false, &changes, &e);
	if (r != -EINVAL || strcmp(e.path, path) != 0 || strstr(e.msg, needle) == NULL)
		fail_msg("replacing '%s' by '%s': got %d '%s: %s', wanted '%s: ...%s...'", from, to,
			 r, e.path, e.msg, path, needle);
}

/*
 * Every bad element of the firewall section is refused with its path and
 * what to do, and nothing is written.
 * Verify: for each edit of a good profile, -EINVAL, the element's path, a
 * message with the problem; the revision did not move.
 */
static void test_store_firewall_validation(void **state)
{
	struct fixture *f = *state;
	struct model_err e;
	json_t *changes;

	assert_int_equal(apply(f, fw_profile, false, &changes, &e), 0);
	json_decref(changes);
	assert_int_equal(store_revision(f->s), 1);

	fw_refused(f, "\"firewall\": {", "\"firewall\": {\"zones\": [], ", "firewall.zones",
		   "unknown key 'zones': the firewall section has policies, rules");
	fw_refused(f, "\"default\": \"deny\"", "\"default\": \"off\"",
		   "firewall.policies[0].default", "leave its policy out");
	fw_refused(f, "{\"segment\": \"db\", \"default\": \"allow\"}",
		   "{\"segment\": \"web\", \"default\": \"allow\"}", "firewall.policies[1].segment",
		   "segment 'web' has two policies (also firewall.policies[0])");
	fw_refused(f, "{\"segment\": \"db\", \"default\": \"allow\"}",
		   "{\"segment\": \"nope\", \"default\": \"allow\"}", "firewall.policies[1].segment",
		   "segment 'nope', which does not exist");
	fw_refused(f, "\"id\": 20,", "\"id\": 10,", "firewall.rules[1].id",
		   "rule 10 is defined twice (also firewall.rules[0])");
	fw_refused(f, "\"id\": 20,", "\"id\": 0,", "firewall.rules[0].id", "outside 1..2147483647");
	fw_refused(f, "\"id\": 20,", "", "firewall.rules[0]", "'id' is missing");
	fw_refused(f, "\"action\": \"reject\"", "\"action\": \"deny\"", "firewall.rules[2].action",
		   "action must be allow, drop or reject");
	fw_refused(f, "\"direction\": \"in\"", "\"direction\": \"inbound\"",
		   "firewall.rules[1].direction", "in (to the VM), out (from the VM) or any");
	fw_refused(f, "\"src\": \"10.0.0.0/8\"", "\"src\": \"10.1.2.3/8\"", "firewall.rules[0].src",
		   "bits set beyond its prefix length: write 10.0.0.0/8");
	fw_refused(f, "\"src\": \"10.0.0.0/8\"", "\"src\": \"10.0.0.0/33\"", "firewall.rules[0].src",
		   "not an address prefix");
	fw_refused(f, "\"src\": \"10.0.0.0/8\"", "\"src\": \"10.0.0.0/8\", \"dst\": \"2001:db8::/32\"",
		   "firewall.rules[0].dst", "one address family");
	fw_refused(f, "\"proto\": \"tcp\"", "\"proto\": \"gre\"", "firewall.rules[0].proto",
		   "dse-dpud filters no other protocol");
	fw_refused(f, "\"proto\": \"tcp\"", "\"proto\": 47", "firewall.rules[0].proto",
		   "not 47");
	fw_refused(f, "\"proto\": \"tcp\"", "\"proto\": \"icmpv6\", \"x\": 1", "firewall.rules[0].x",
		   "unknown key 'x'");
	fw_refused(f, "\"proto\": \"tcp\", \"dport\": 22", "\"proto\": \"icmpv6\"",
		   "firewall.rules[0].proto", "icmpv6 goes with IPv6");
	fw_refused(f, "\"dport\": 22", "\"dport\": 70000", "firewall.rules[0].dport",
		   "a port 0-65535 or a range");
	fw_refused(f, "\"dport\": 22", "\"dport\": \"30-20\"", "firewall.rules[0].dport",
		   "reversed: write 20-30");
	fw_refused(f, "\"proto\": \"tcp\", \"dport\": 22", "\"dport\": 22",
		   "firewall.rules[0].dport", "needs proto tcp or udp, not any");
	fw_refused(f, "\"icmp_type\": 8", "\"icmp_type\": 256", "firewall.rules[1].icmp_type",
		   "outside 0..255");
	fw_refused(f, "\"proto\": \"icmp\", \"icmp_type\": 8", "\"icmp_type\": 8",
		   "firewall.rules[1].icmp_type", "needs proto icmp or icmpv6");
	fw_refused(f, "\"segment\": \"web\", \"proto\": \"icmp\"",
		   "\"segment\": \"dmz\", \"proto\": \"icmp\"", "firewall.rules[1].segment",
		   "segment 'dmz', which does not exist");
	fw_refused(f, "\"port\": \"vm1-eth0\"", "\"port\": \"vm9-eth0\"", "firewall.rules[2].port",
		   "not a VM port of this host");
	fw_refused(f, "\"port\": \"vm1-eth0\"", "\"port\": \"vm1-eth0\", \"segment\": \"db\"",
		   "firewall.rules[2].port", "port 'vm1-eth0' is on segment 'web', not 'db'");
	fw_refused(f, "\"priority\": 100", "\"priority\": \"high\"", "firewall.rules[1].priority",
		   "must be an integer");
	assert_int_equal(store_revision(f->s), 1);

	/* A profile that drops a segment but keeps its rule is refused at the rule. */
	assert_int_equal(apply(f, "{\"firewall\": {\"rules\": [{\"id\": 1, \"segment\": \"web\", "
				  "\"action\": \"drop\"}]}}",
			       false, &changes, &e),
			 -EINVAL);
	assert_string_equal(e.path, "firewall.rules[0].segment");
	assert_int_equal(apply(f, "{\"firewall\": []}", false, &changes, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "must be a mapping with policies and rules"));
	assert_int_equal(store_revision(f->s), 1);
}

/*
 * A profile with a firewall applies once: a second apply, a reopen, another
 * spelling of the same profile and its export change nothing; an export
 * applied on another host gives the same state.
 * Verify: 10 changes first (2 segments, switch, port, 2 policies, 3 rules...),
 * then none; the export has the firewall section and the rules in one
 * spelling; a changed rule is one "change" with the field that changed.
 */
static void test_store_firewall_apply_export_round_trip(void **state)
{
	struct fixture *f = *state, *g;
	struct model_err e;
	json_t *changes, *profile, *a, *b, *rule;
	char *text;

	assert_int_equal(apply(f, fw_profile, false, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 9);
	json_decref(changes);
	reopen(f);
	assert_int_equal(apply(f, fw_profile, false, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 0);
	json_decref(changes);
	if (apply(f, fw_profile_respelled, false, &changes, &e) != 0)
		fail_msg("%s: %s", e.path, e.msg);
	assert_int_equal(json_array_size(changes), 0);
	json_decref(changes);
	assert_int_equal(store_revision(f->s), 1);

	assert_int_equal(config_export(f->s, &profile), 0);
	rule = json_array_get(json_object_get(json_object_get(profile, "firewall"), "rules"), 2);
	text = json_dumps(rule, JSON_COMPACT);
	assert_string_equal(text, "{\"id\":30,\"priority\":0,\"port\":\"vm1-eth0\",\"direction\":"
				  "\"out\",\"proto\":\"udp\",\"sport\":\"1000-2000\",\"action\":"
				  "\"reject\"}");
	free(text);
	assert_int_equal(config_apply(f->s, profile, CONFIG_PRUNE, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 0);
	json_decref(changes);

	g = fixture_new();
	assert_int_equal(config_apply(g->s, profile, CONFIG_PRUNE, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 9);
	json_decref(changes);
	assert_int_equal(store_load(f->s, &a), 0);
	assert_int_equal(store_load(g->s, &b), 0);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	fixture_free(g);

	/* One field of one rule changes: one change naming it; the firewall goes: 5 deletes. */
	json_object_set_new(rule, "priority", json_integer(7));
	assert_int_equal(config_apply(f->s, profile, CONFIG_PRUNE, &changes, &e), 0);
	text = json_dumps(changes, JSON_COMPACT);
	assert_string_equal(text, "[{\"action\":\"change\",\"kind\":\"rule\",\"name\":\"30\","
				  "\"fields\":[\"priority\"]}]");
	free(text);
	json_decref(changes);
	json_object_del(profile, "firewall");
	assert_int_equal(config_apply(f->s, profile, CONFIG_PRUNE, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 5);
	json_decref(changes);
	json_decref(profile);
	/* A host without a firewall exports no firewall section. */
	assert_int_equal(config_export(f->s, &profile), 0);
	assert_null(json_object_get(profile, "firewall"));
	json_decref(profile);
}

/*
 * The imperative firewall changes: policy set and off, rule add and del; a
 * segment or port the firewall names can not be deleted.
 */
static void test_store_firewall_commands(void **state)
{
	struct fixture *f = *state;
	struct model_err e = {0};
	json_t *changes, *fw, *rule;
	char *text;

	add_ok(f, CONFIG_SWITCH, "{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"d1\"]}");
	add_ok(f, CONFIG_SEGMENT, "{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100}");
	add_ok(f, CONFIG_PORT, "{\"name\": \"p1\", \"mac\": \"02:00:00:00:00:01\", \"segment\": "
			       "\"web\", \"vm\": \"vm1\"}");

	assert_int_equal(config_fw_policy_set(f->s, "web", "deny", &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 1);
	json_decref(changes);
	assert_int_equal(config_fw_policy_set(f->s, "web", "deny", &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 0);
	json_decref(changes);
	assert_int_equal(config_fw_policy_set(f->s, "nope", "deny", &changes, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no segment 'nope'"));

	rule = parse("{\"id\": 5, \"action\": \"drop\", \"port\": \"p1\", \"proto\": \"tcp\", "
		     "\"dport\": \"80\"}");
	assert_int_equal(config_fw_rule_add(f->s, rule, &changes, &e), 0);
	json_decref(changes);
	assert_int_equal(config_fw_rule_add(f->s, rule, &changes, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "dsectl fw rule del 5"));
	json_decref(rule);
	rule = parse("{\"id\": 6, \"action\": \"drop\", \"dport\": 80}");
	assert_int_equal(config_fw_rule_add(f->s, rule, &changes, &e), -EINVAL);
	assert_string_equal(e.path, "");
	assert_non_null(strstr(e.msg, "needs proto tcp or udp"));
	json_decref(rule);

	assert_int_equal(config_del(f->s, CONFIG_PORT, "p1", &changes, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "scope of 1 firewall rule (5)"));
	assert_int_equal(config_del(f->s, CONFIG_SEGMENT, "web", &changes, &e), -EBUSY);
	assert_int_equal(config_fw_rule_del(f->s, 5, &changes, &e), 0);
	json_decref(changes);
	assert_int_equal(config_fw_rule_del(f->s, 5, &changes, &e), -ENOENT);
	assert_int_equal(config_del(f->s, CONFIG_PORT, "p1", &changes, &e), 0);
	json_decref(changes);
	assert_int_equal(config_del(f->s, CONFIG_SEGMENT, "web", &changes, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "dsectl fw policy set web off"));

	reopen(f);
	assert_int_equal(config_fw_list(f->s, &fw), 0);
	text = json_dumps(fw, JSON_COMPACT);
	assert_string_equal(text, "{\"policies\":[{\"segment\":\"web\",\"default\":\"deny\"}],"
				  "\"rules\":[]}");
	free(text);
	json_decref(fw);
	assert_int_equal(config_fw_policy_set(f->s, "web", "off", &changes, &e), 0);
	text = json_dumps(changes, JSON_COMPACT);
	assert_string_equal(text, "[{\"action\":\"delete\",\"kind\":\"policy\",\"name\":\"web\"}]");
	free(text);
	json_decref(changes);
	assert_int_equal(config_del(f->s, CONFIG_SEGMENT, "web", &changes, &e), 0);
	json_decref(changes);
}

/*
 * A store of schema version 1 (before the firewall) is upgraded in place
 * when opened: its objects stay and the firewall tables appear.
 * Steps: write objects, turn the database back into version 1 (no firewall
 * tables, no TEP column, no peers table, user_version 1), reopen.  Verify:
 * the current schema version, the objects and the revision are there, a
 * firewall rule can be added (the overlay segment that lost its TEP does
 * not block it), the profile applies again.
 */
static void test_store_migrates_from_version_1(void **state)
{
	struct fixture *f = *state;
	struct model_err e;
	json_t *changes, *rule;
	sqlite3 *db;

	assert_int_equal(apply(f, base_profile, false, &changes, &e), 0);
	json_decref(changes);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "DROP TABLE ha; DROP TABLE ha_events; DROP TABLE fw_rules; DROP TABLE fw_policies; "
				      "DROP TABLE segment_peers; DROP INDEX switches_tep_ip; "
				      "ALTER TABLE switches DROP COLUMN tep_ip; "
				      "PRAGMA user_version = 1",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	reopen(f);
	assert_int_equal(store_schema_version(f->s), STORE_SCHEMA_VERSION);
	assert_int_equal(store_revision(f->s), 1);
	assert_int_equal(count(f, CONFIG_PORT), 2);
	rule = parse("{\"id\": 1, \"segment\": \"web\", \"action\": \"allow\"}");
	assert_int_equal(config_fw_rule_add(f->s, rule, &changes, &e), 0);
	json_decref(changes);
	json_decref(rule);
	assert_int_equal(apply(f, base_profile, false, &changes, &e), 0);
	/* The rule goes; the switch gets its TEP and ov its peers again. */
	assert_int_equal(json_array_size(changes), 3);
	json_decref(changes);
}

/* ---- the overlay ---- */

static const char ov_profile[] =
	"{\"switches\": [{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"h1-d1\"],"
	"                 \"uplinks\": [\"vmnic0\"], \"tep\": {\"ip\": \"198.19.1.1\"}},"
	"                {\"name\": \"sw2\", \"mode\": \"single\", \"dpus\": [\"h1-d2\"],"
	"                 \"uplinks\": [\"vmnic2\"], \"tep\": {\"ip\": \"198.19.1.2\"}}],"
	" \"segments\": [{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100},"
	"                {\"name\": \"app\", \"switch\": \"sw1\", \"vni\": 5001, \"peers\": "
	"[\"198.19.10.1\", \"198.19.2.1\"]},"
	"                {\"name\": \"db\", \"switch\": \"sw2\", \"vni\": 5002}],"
	" \"ports\": [{\"name\": \"vm1-eth0\", \"mac\": \"02:00:00:00:01:01\", \"segment\": "
	"\"app\", \"vm\": \"vm1\"}]}";

/* Applies ov_profile with 'from' replaced by 'to' and expects it refused at 'path'. */
static void ov_refused(struct fixture *f, const char *from, const char *to, const char *path,
		       const char *needle)
{
	char text[8192];
	const char *at = strstr(ov_profile, from);
	struct model_err e;
	json_t *changes;
	int r;

	if (at == NULL)
		fail_msg("test bug: '%s' is not in the profile", from);
	snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - ov_profile), ov_profile, to,
		 at + strlen(from));
	r = apply(f, text, false, &changes, &e);
	if (r != -EINVAL || strcmp(e.path, path) != 0 || strstr(e.msg, needle) == NULL)
		fail_msg("replacing '%s' by '%s': got %d '%s: %s', wanted '%s: ...%s...'", from, to,
			 r, e.path, e.msg, path, needle);
}

/*
 * Every bad TEP and peer list is refused with its path and what to do, and
 * nothing is written.
 * Verify: for each edit of a good profile, -EINVAL, the element's path, a
 * message with the problem; the revision did not move.
 */
static void test_store_overlay_validation(void **state)
{
	struct fixture *f = *state;
	struct model_err e;
	json_t *changes;
	char many[2048] = "\"peers\": [";

	assert_int_equal(apply(f, ov_profile, false, &changes, &e), 0);
	json_decref(changes);
	assert_int_equal(store_revision(f->s), 1);

	ov_refused(f, "\"tep\": {\"ip\": \"198.19.1.1\"}", "\"tep\": \"198.19.1.1\"",
		   "switches[0].tep", "must be a mapping like {ip: 198.19.1.1}");
	ov_refused(f, "\"198.19.1.1\"}", "\"198.19.1\"}", "switches[0].tep.ip",
		   "'198.19.1' must be an IPv4 unicast address");
	ov_refused(f, "\"198.19.1.1\"}", "\"224.0.0.5\"}", "switches[0].tep.ip",
		   "IPv4 unicast");
	ov_refused(f, "\"198.19.1.1\"}", "\"127.0.0.1\"}", "switches[0].tep.ip",
		   "IPv4 unicast");
	ov_refused(f, "\"198.19.1.1\"}", "\"198.19.1.1\", \"vlan\": 4}", "switches[0].tep.vlan",
		   "unknown key 'vlan': a tep has ip");
	ov_refused(f, "{\"ip\": \"198.19.1.1\"}", "{}", "switches[0].tep", "'ip' is missing");
	ov_refused(f, "\"198.19.1.2\"}", "\"198.19.1.1\"}", "switches[1].tep.ip",
		   "198.19.1.1 is already the TEP of switch 'sw1'");
	ov_refused(f, "\"uplinks\": [\"vmnic0\"], ", "", "switches[0].tep",
		   "has a TEP but no uplink");
	ov_refused(f, ", \"tep\": {\"ip\": \"198.19.1.2\"}", "", "segments[2].vni",
		   "overlay segment 'db' needs a tunnel endpoint on switch 'sw2': give the switch "
		   "tep: {ip: ADDRESS}");
	ov_refused(f, "\"vlan\": 100}", "\"vlan\": 100, \"peers\": []}", "segments[0].peers",
		   "only overlay (vni) segments have peers");
	ov_refused(f, "[\"198.19.10.1\", ", "[\"2001:db8::1\", ", "segments[1].peers[0]",
		   "peer '2001:db8::1' must be the IPv4 unicast address of a remote TEP");
	ov_refused(f, "[\"198.19.10.1\", ", "[7, ", "segments[1].peers[0]", "peer 7 must be");
	ov_refused(f, "[\"198.19.10.1\", ", "[\"198.19.2.1\", ", "segments[1].peers[1]",
		   "lists peer 198.19.2.1 twice");
	ov_refused(f, "[\"198.19.10.1\", ", "[\"198.19.1.1\", ", "segments[1].peers[0]",
		   "198.19.1.1 is the TEP of its own switch 'sw1'");
	ov_refused(f, "\"peers\": [\"198.19.10.1\", \"198.19.2.1\"]", "\"peers\": \"198.19.2.1\"",
		   "segments[1].peers", "'peers' must be a list, not a string");
	for (int i = 0; i <= MODEL_MAX_PEERS; i++) {
		size_t n = strlen(many);

		snprintf(many + n, sizeof(many) - n, "%s\"10.0.%d.%d\"", i ? ", " : "", i / 200,
			 i % 200 + 1);
	}
	strcat(many, "]");
	ov_refused(f, "\"peers\": [\"198.19.10.1\", \"198.19.2.1\"]", many, "segments[1].peers",
		   "at most 64");
	assert_int_equal(store_revision(f->s), 1);

	/* With the DPUs' links known, the TEP needs an uplink on the switch's (active) DPU. */
	seen(f, "{\"name\": \"h1-d1\", \"link\": \"int-d1\"}");
	seen(f, "{\"name\": \"h1-d2\", \"link\": \"int-d2\"}");
	seen(f, "{\"name\": \"h1-d3\", \"link\": \"int-d3\"}");
	add_fails(f, CONFIG_SWITCH,
		  "{\"name\": \"sw3\", \"mode\": \"active-standby\", \"dpus\": [\"h1-d3\", "
		  "\"h1-d4\"], \"uplinks\": [\"vmnic6\"], \"tep\": {\"ip\": \"198.19.1.3\"}}",
		  -EINVAL, "sends on an uplink of its active DPU h1-d3, but none of its uplinks");
	add_ok(f, CONFIG_SWITCH,
	       "{\"name\": \"sw3\", \"mode\": \"active-standby\", \"dpus\": [\"h1-d3\", "
	       "\"h1-d4\"], \"uplinks\": [\"vmnic4\"], \"tep\": {\"ip\": \"198.19.1.3\"}}");
}

/*
 * An overlay profile applies once: its TEP and peers are stored, peers in
 * numeric order and one spelling, so the same profile written otherwise
 * changes nothing; export gives it back; a change of the peers or of the
 * TEP is one change naming the field; a VLAN-only host exports neither.
 */
static void test_store_overlay_apply_export_round_trip(void **state)
{
	struct fixture *f = *state, *g;
	struct model_err e;
	json_t *changes, *profile, *a, *b, *segs;
	char *text;
	const char *respelled =
		"{\"switches\": [{\"name\": \"sw2\", \"mode\": \"single\", \"dpus\": [\"h1-d2\"],"
		"                 \"uplinks\": [\"vmnic2\"], \"tep\": {\"ip\": \"198.19.1.2\"}},"
		"                {\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"h1-d1\"],"
		"                 \"uplinks\": [\"vmnic0\"], \"tep\": {\"ip\": \"198.19.1.1\"}}],"
		" \"segments\": [{\"name\": \"db\", \"switch\": \"sw2\", \"vni\": 5002,"
		"                 \"peers\": []},"
		"                {\"name\": \"app\", \"switch\": \"sw1\", \"vni\": 5001,"
		"                 \"peers\": [\"198.19.2.1\", \"198.19.10.1\"]},"
		"                {\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100,"
		"                 \"peers\": null}],"
		" \"ports\": [{\"name\": \"vm1-eth0\", \"mac\": \"02:00:00:00:01:01\","
		"             \"segment\": \"app\", \"vm\": \"vm1\"}]}";

	assert_int_equal(apply(f, ov_profile, false, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 6);
	json_decref(changes);
	reopen(f);
	if (apply(f, respelled, false, &changes, &e) != 0)
		fail_msg("%s: %s", e.path, e.msg);
	assert_int_equal(json_array_size(changes), 0);
	json_decref(changes);

	assert_int_equal(config_list(f->s, CONFIG_SEGMENT, &segs), 0);
	text = json_dumps(segs, JSON_COMPACT);
	assert_string_equal(text, "[{\"name\":\"app\",\"switch\":\"sw1\",\"vni\":5001,\"peers\":"
				  "[\"198.19.2.1\",\"198.19.10.1\"]},{\"name\":\"db\",\"switch\":"
				  "\"sw2\",\"vni\":5002,\"peers\":[]},{\"name\":\"web\",\"switch\":"
				  "\"sw1\",\"vlan\":100}]");
	free(text);
	json_decref(segs);
	assert_int_equal(config_export(f->s, &profile), 0);
	text = json_dumps(json_array_get(json_object_get(profile, "switches"), 0), JSON_COMPACT);
	assert_string_equal(text, "{\"name\":\"sw1\",\"mode\":\"single\",\"dpus\":[\"h1-d1\"],"
				  "\"uplinks\":[\"vmnic0\"],\"tep\":{\"ip\":\"198.19.1.1\"}}");
	free(text);
	assert_int_equal(config_apply(f->s, profile, CONFIG_PRUNE, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 0);
	json_decref(changes);
	g = fixture_new();
	assert_int_equal(config_apply(g->s, profile, CONFIG_PRUNE, &changes, &e), 0);
	json_decref(changes);
	assert_int_equal(store_load(f->s, &a), 0);
	assert_int_equal(store_load(g->s, &b), 0);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	fixture_free(g);

	/* Another peer: one change of app's peers.  Another TEP: one change of sw1's tep. */
	json_array_append_new(
	    json_object_get(json_array_get(json_object_get(profile, "segments"), 0), "peers"),
	    json_string("198.19.3.1"));
	assert_int_equal(config_apply(f->s, profile, CONFIG_PRUNE, &changes, &e), 0);
	text = json_dumps(changes, JSON_COMPACT);
	assert_string_equal(text, "[{\"action\":\"change\",\"kind\":\"segment\",\"name\":\"app\","
				  "\"fields\":[\"peers\"]}]");
	free(text);
	json_decref(changes);
	json_object_set_new(json_array_get(json_object_get(profile, "switches"), 0), "tep",
			    json_pack("{s:s}", "ip", "198.19.1.7"));
	assert_int_equal(config_apply(f->s, profile, CONFIG_PRUNE, &changes, &e), 0);
	text = json_dumps(changes, JSON_COMPACT);
	assert_string_equal(text, "[{\"action\":\"change\",\"kind\":\"switch\",\"name\":\"sw1\","
				  "\"fields\":[\"tep\"]}]");
	free(text);
	json_decref(changes);
	json_decref(profile);
	reopen(f);
	assert_int_equal(config_export(f->s, &profile), 0);
	text = json_dumps(json_object_get(json_array_get(json_object_get(profile, "segments"), 0),
					  "peers"),
			  JSON_COMPACT);
	assert_string_equal(text, "[\"198.19.2.1\",\"198.19.3.1\",\"198.19.10.1\"]");
	free(text);
	json_decref(profile);

	/* Two switches may swap their TEPs in one change. */
	if (apply(f,
		  "{\"switches\": [{\"name\": \"sw1\", \"mode\": \"single\", \"dpus\": [\"h1-d1\"],"
		  " \"uplinks\": [\"vmnic0\"], \"tep\": {\"ip\": \"198.19.1.2\"}},"
		  " {\"name\": \"sw2\", \"mode\": \"single\", \"dpus\": [\"h1-d2\"],"
		  " \"uplinks\": [\"vmnic2\"], \"tep\": {\"ip\": \"198.19.1.7\"}}]}",
		  false, &changes, &e) != 0)
		fail_msg("%s: %s", e.path, e.msg);
	json_decref(changes);

	/* A host of VLAN segments only exports neither a tep nor peers. */
	g = fixture_new();
	assert_int_equal(apply(g, fw_profile, false, &changes, &e), 0);
	json_decref(changes);
	assert_int_equal(config_export(g->s, &profile), 0);
	text = json_dumps(profile, JSON_COMPACT);
	assert_null(strstr(text, "tep"));
	assert_null(strstr(text, "peers"));
	free(text);
	json_decref(profile);
	fixture_free(g);
}

/* Runs config_set() on a segment with 'fields' (JSON); returns its result, '*n' the changes. */
static int segment_set(struct fixture *f, const char *name, const char *fields, size_t *n,
		       struct model_err *e)
{
	json_t *obj = parse(fields), *changes = NULL;
	int r;

	memset(e, 0, sizeof(*e));
	r = config_set(f->s, CONFIG_SEGMENT, name, obj, &changes, e);
	*n = json_array_size(changes);
	json_decref(obj);
	json_decref(changes);
	return r;
}

/*
 * 'segment set' changes an overlay segment's peers and nothing else, and
 * refuses what a profile would refuse.
 * Verify: new peers are one change; the same peers (in another order)
 * none; peers on a VLAN segment, the switch's own TEP or a segment that
 * does not exist are refused with what to do, and the revision did not
 * move.
 */
static void test_store_segment_set_peers(void **state)
{
	struct fixture *f = *state;
	struct model_err e;
	json_t *changes, *segs;
	uint64_t rev;
	size_t n;

	assert_int_equal(apply(f, ov_profile, false, &changes, &e), 0);
	json_decref(changes);
	assert_int_equal(segment_set(f, "app", "{\"peers\": [\"198.19.3.1\"]}", &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(config_list(f->s, CONFIG_SEGMENT, &segs), 0);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_array_get(segs, 0), "peers"), 0)),
			    "198.19.3.1");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(segs, 0), "vni")), 5001);
	json_decref(segs);
	assert_int_equal(segment_set(f, "db", "{\"peers\": [\"198.19.9.9\", \"198.19.8.8\"]}", &n,
				     &e),
			 0);
	assert_int_equal(segment_set(f, "db", "{\"peers\": [\"198.19.8.8\", \"198.19.9.9\"]}", &n,
				     &e),
			 0);
	assert_int_equal(n, 0);
	rev = store_revision(f->s);
	assert_int_equal(segment_set(f, "web", "{\"peers\": [\"198.19.3.1\"]}", &n, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "only overlay (vni) segments have peers"));
	assert_string_equal(e.path, "");
	assert_int_equal(segment_set(f, "db", "{\"peers\": [\"198.19.1.2\"]}", &n, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "TEP of its own switch 'sw2'"));
	assert_int_equal(segment_set(f, "nope", "{\"peers\": []}", &n, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "dsectl segment list"));
	assert_int_equal(store_revision(f->s), rev);
}

/*
 * A store of schema version 2 (before the overlay) is upgraded in place:
 * its overlay segment has no peers and its switch no TEP, and that stands
 * until one of them changes.
 * Steps: write a VLAN and an overlay segment with a schema 2 store's
 * tables; reopen; add a port; change the overlay segment without a TEP;
 * give the switch a TEP.  Verify: the current schema version; the segment
 * loads with no peers; the port is added (nothing else is checked again);
 * the change of the segment is refused for the missing TEP; with the TEP it
 * is accepted.
 */
/*
 * Builds a profile of one switch (uplink vmnic0) with 'nseg' VLAN segments
 * and 'nport' VM ports on the first, as JSON.  The caller frees it.
 */
static json_t *sized_profile(int nseg, int nport)
{
	json_t *doc = parse("{\"switches\": [{\"name\": \"sw1\", \"mode\": \"single\", "
			    "\"dpus\": [\"h1-d1\"], \"uplinks\": [\"vmnic0\"]}], "
			    "\"segments\": [], \"ports\": []}");

	for (int i = 0; i < nseg; i++) {
		char name[16];

		snprintf(name, sizeof(name), "s%d", i);
		json_array_append_new(json_object_get(doc, "segments"),
				      json_pack("{s:s, s:s, s:i}", "name", name, "switch", "sw1",
						"vlan", i + 1));
	}
	for (int i = 0; i < nport; i++) {
		char name[16], mac[24], vm[16];

		snprintf(name, sizeof(name), "p%d", i);
		snprintf(mac, sizeof(mac), "02:00:00:00:%02x:%02x", i >> 8, i & 0xff);
		snprintf(vm, sizeof(vm), "vm%d", i);
		json_array_append_new(json_object_get(doc, "ports"),
				      json_pack("{s:s, s:s, s:s, s:s}", "name", name, "mac", mac,
						"segment", "s0", "vm", vm));
	}
	return doc;
}

static int apply_doc(struct fixture *f, json_t *doc, struct model_err *e)
{
	json_t *changes = NULL;
	int r;

	memset(e, 0, sizeof(*e));
	r = config_apply(f->s, doc, CONFIG_DRY_RUN, &changes, e);
	json_decref(changes);
	json_decref(doc);
	return r;
}

/*
 * What one DPU holds is refused at apply, naming the limit: a switch's DPU
 * holds 256 segments, and 64 ports counting its uplinks; exactly the limit
 * is taken.
 */
static void test_store_refuses_what_a_dpu_cannot_hold(void **state)
{
	struct fixture *f = *state;
	struct model_err e;

	assert_int_equal(apply_doc(f, sized_profile(MODEL_DPU_SEGMENTS, 0), &e), 0);
	assert_int_equal(apply_doc(f, sized_profile(MODEL_DPU_SEGMENTS + 1, 0), &e), -EINVAL);
	assert_string_equal(e.path, "segments[256]");
	assert_non_null(strstr(e.msg, "at most 256 (limit dpu_segments)"));
	/* 63 VM ports and one uplink: 64 ports. */
	assert_int_equal(apply_doc(f, sized_profile(1, MODEL_DPU_PORTS - 1), &e), 0);
	assert_int_equal(apply_doc(f, sized_profile(1, MODEL_DPU_PORTS), &e), -EINVAL);
	assert_string_equal(e.path, "ports[63]");
	assert_non_null(strstr(e.msg, "VM ports and uplinks"));
	assert_non_null(strstr(e.msg, "(limit dpu_ports)"));
	assert_int_equal(store_revision(f->s), 0);
}

/*
 * Deleting is asked for, never implied: a profile that leaves out objects
 * the host has is refused without CONFIG_PRUNE, naming them, and nothing is
 * written; a dry run shows the deletes; with CONFIG_PRUNE they go.
 */
static void test_store_apply_deletes_only_with_prune(void **state)
{
	struct fixture *f = *state;
	struct model_err e = {0};
	json_t *doc, *changes = NULL;

	doc = sized_profile(3, 2);
	assert_int_equal(config_apply(f->s, doc, 0, &changes, &e), 0);
	json_decref(doc);
	json_decref(changes);
	assert_int_equal(store_revision(f->s), 1);
	/* The same less one segment (s2) and one port (p1). */
	doc = sized_profile(2, 1);
	assert_int_equal(config_apply(f->s, doc, 0, &changes, &e), -ENOTEMPTY);
	assert_non_null(strstr(e.msg, "leaves out 2 objects this host has (segment s2, port p1)"));
	assert_non_null(strstr(e.msg, "--prune"));
	assert_int_equal(store_revision(f->s), 1);
	assert_int_equal(config_apply(f->s, doc, CONFIG_DRY_RUN, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 2);
	json_decref(changes);
	assert_int_equal(config_apply(f->s, doc, CONFIG_PRUNE, &changes, &e), 0);
	assert_int_equal(json_array_size(changes), 2);
	json_decref(changes);
	json_decref(doc);
	assert_int_equal(store_revision(f->s), 2);
}

static void test_store_migrates_from_version_2(void **state)
{
	struct fixture *f = *state;
	struct model_err e;
	json_t *changes, *segs;
	sqlite3 *db;
	int r;

	store_close(f->s);
	f->s = NULL;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "DROP TABLE ha; DROP TABLE ha_events; DROP TABLE segment_peers; DROP INDEX switches_tep_ip; "
				      "ALTER TABLE switches DROP COLUMN tep_ip; "
				      "PRAGMA user_version = 2; "
				      "INSERT INTO switches VALUES ('sw1', 'single');"
				      "INSERT INTO switch_dpus VALUES ('sw1', 0, 'h1-d1');"
				      "INSERT INTO switch_uplinks VALUES ('sw1', 'vmnic0');"
				      "INSERT INTO segments VALUES ('web', 'sw1', 100, NULL);"
				      "INSERT INTO segments VALUES ('ov', 'sw1', NULL, 5001);"
				      "UPDATE meta SET value = 2 WHERE key = 'revision';",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	reopen(f);
	assert_int_equal(store_schema_version(f->s), STORE_SCHEMA_VERSION);
	assert_int_equal(store_revision(f->s), 2);
	assert_int_equal(config_list(f->s, CONFIG_SEGMENT, &segs), 0);
	assert_int_equal(json_array_size(json_object_get(json_array_get(segs, 0), "peers")), 0);
	json_decref(segs);
	add_ok(f, CONFIG_PORT, "{\"name\": \"p1\", \"mac\": \"02:00:00:00:00:01\", \"segment\": "
			       "\"ov\", \"vm\": \"vm1\"}");
	r = apply(f,
		  "{\"switches\": [{\"name\": \"sw1\", \"mode\": \"single\","
		  " \"dpus\": [\"h1-d1\"], \"uplinks\": [\"vmnic0\"]}],"
		  " \"segments\": [{\"name\": \"ov\", \"switch\": \"sw1\", \"vni\": 5001,"
		  " \"peers\": [\"198.19.2.1\"]}]}",
		  false, &changes, &e);
	assert_int_equal(r, -EINVAL);
	assert_string_equal(e.path, "segments[0].vni");
	assert_non_null(strstr(e.msg, "needs a tunnel endpoint"));
	if (apply(f,
		  "{\"switches\": [{\"name\": \"sw1\", \"mode\": \"single\","
		  " \"dpus\": [\"h1-d1\"], \"uplinks\": [\"vmnic0\"],"
		  " \"tep\": {\"ip\": \"198.19.1.1\"}}],"
		  " \"segments\": [{\"name\": \"ov\", \"switch\": \"sw1\", \"vni\": 5001, "
		  "\"peers\": [\"198.19.2.1\"]}]}",
		  false, &changes, &e) != 0)
		fail_msg("%s: %s", e.path, e.msg);
	/* sw1 and ov change, web and p1 go. */
	assert_int_equal(json_array_size(changes), 4);
	json_decref(changes);
	reopen(f);
	assert_int_equal(config_list(f->s, CONFIG_SEGMENT, &segs), 0);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(json_array_get(segs, 0), "peers"), 0)),
			    "198.19.2.1");
	json_decref(segs);
}

/*
 * The arbiter's decisions are kept: a failover makes the other DPU of an
 * active-standby switch active, with an event, and a new revision.
 * Steps: two identical DPUs seen, an active-standby switch on them; the
 * desired config of each; store_ha_failover() from h1-d1 to h1-d2; reopen.
 * Verify: first h1-d1 active and h1-d2 standby (the first is active when
 * the arbiter decided nothing); after the failover the revision moved,
 * h1-d2's record says it is sw1's active, the roles are swapped (also after
 * a reopen, as after a kill -9 of dse-hostd) and the event has its kind,
 * DPUs and detection time; a change of the switch keeps the decision, its
 * deletion drops it (the switch made again starts with its first DPU).
 */
static void test_store_ha_failover_is_kept(void **state)
{
	struct fixture *f = *state;
	json_t *doc, *inv, *want, *ev;
	uint64_t rev;

	seen(f, "{\"name\": \"h1-d1\", \"link\": \"int-d1\", \"vendor\": \"NVIDIA\", "
		"\"model\": \"BlueField-2\", \"hw_version\": \"B0\", \"fw_version\": \"24\"}");
	seen(f, "{\"name\": \"h1-d2\", \"link\": \"int-d2\", \"vendor\": \"NVIDIA\", "
		"\"model\": \"BlueField-2\", \"hw_version\": \"B0\", \"fw_version\": \"24\"}");
	add_ok(f, CONFIG_SWITCH,
	       "{\"name\": \"sw1\", \"mode\": \"active-standby\", \"dpus\": [\"h1-d1\", "
	       "\"h1-d2\"], \"uplinks\": [\"vmnic0\", \"vmnic2\"]}");
	for (int pass = 0; pass < 3; pass++) {
		const char *d1 = pass == 0 ? "active" : "standby";
		const char *d2 = pass == 0 ? "standby" : "active";

		if (pass == 1) {
			rev = store_revision(f->s);
			assert_int_equal(store_ha_failover(f->s, "sw1", "h1-d1", "h1-d2", "crash",
							   42, "no heartbeat"),
					 0);
			assert_int_equal(store_revision(f->s), rev + 1);
		}
		if (pass == 2) {
			reopen(f);
			add_ok(f, CONFIG_SEGMENT,
			       "{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100}");
		}
		assert_int_equal(store_load(f->s, &doc), 0);
		assert_int_equal(store_dpus(f->s, &inv), 0);
		want = reconcile_desired(doc, inv, "h1-d1");
		assert_string_equal(json_string_value(json_object_get(want, "role")), d1);
		json_decref(want);
		want = reconcile_desired(doc, inv, "h1-d2");
		assert_string_equal(json_string_value(json_object_get(want, "role")), d2);
		json_decref(want);
		json_decref(doc);
		json_decref(inv);
	}
	assert_int_equal(store_ha_events(f->s, NULL, 10, &ev), 0);
	assert_int_equal(json_array_size(ev), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "kind")),
			    "crash");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "from")),
			    "h1-d1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "to")),
			    "h1-d2");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ev, 0), "detect_ms")),
			 42);
	json_decref(ev);
	assert_int_equal(store_ha_events(f->s, "other", 10, &ev), 0);
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);

	/* A switch deleted takes the decision with it: made again, its first DPU is active. */
	{
		struct model_err e = {0};
		json_t *changes = NULL;

		assert_int_equal(config_del(f->s, CONFIG_SEGMENT, "web", &changes, &e), 0);
		json_decref(changes);
		assert_int_equal(config_del(f->s, CONFIG_SWITCH, "sw1", &changes, &e), 0);
		json_decref(changes);
	}
	add_ok(f, CONFIG_SWITCH,
	       "{\"name\": \"sw1\", \"mode\": \"active-standby\", \"dpus\": [\"h1-d1\", "
	       "\"h1-d2\"], \"uplinks\": [\"vmnic0\", \"vmnic2\"]}");
	assert_int_equal(store_load(f->s, &doc), 0);
	assert_int_equal(store_dpus(f->s, &inv), 0);
	want = reconcile_desired(doc, inv, "h1-d1");
	assert_string_equal(json_string_value(json_object_get(want, "role")), "active");
	json_decref(want);
	json_decref(doc);
	json_decref(inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_persists_objects_and_revision, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_add_validates_before_writing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_delete_refuses_objects_in_use, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_apply_twice_changes_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_apply_dry_run_writes_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_apply_is_all_or_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_apply_replaces_and_swaps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_dual_dpu_needs_identical_dpus, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_uplinks_must_be_on_the_switch_dpus,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_export_apply_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_dpu_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_refuses_newer_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_open_refuses_missing_and_empty_unless_init,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_open_refuses_damaged_files, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_firewall_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_firewall_apply_export_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_firewall_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_overlay_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_overlay_apply_export_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_segment_set_peers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_refuses_what_a_dpu_cannot_hold, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_apply_deletes_only_with_prune, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_migrates_from_version_2, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_ha_failover_is_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_migrates_from_version_1, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
