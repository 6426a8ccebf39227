/* SPDX-License-Identifier: BSD-3-Clause */
/* Desired config of a DPU and the calls that bring dse-dpud there (reconcile.h). */
#include "reconcile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "model.h"
#include "version.h"

/* Highest net_af_packet<k> index the planner hands out. */
#define MAX_VDEV_INDEX 4096

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static bool contains_str(json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

/* ---- desired config ---- */

/*
 * The position in 'sw''s DPUs of its active DPU: the one the arbiter made
 * active (its inventory record's 'ha_active' names the switch,
 * store_ha_failover()), else the first.
 */
static size_t active_pos(json_t *sw, json_t *inventory)
{
	json_t *d, *rec;
	size_t k;

	json_array_foreach(json_object_get(sw, "dpus"), k, d) {
		rec = model_find(inventory, json_string_value(d));
		if (rec && strcmp(str(rec, "ha_active"), str(sw, "name")) == 0)
			return k;
	}
	return 0;
}

static const char *role_of(json_t *sw, json_t *inventory, size_t pos)
{
	const char *mode = str(sw, "mode");

	if (strcmp(mode, "active-standby") == 0)
		return pos == active_pos(sw, inventory) ? "active" : "standby";
	return mode;
}

/* Why an active-standby pair can not be configured, or NULL. */
static char *pair_problem(json_t *sw, json_t *inventory)
{
	static const char *const keys[] = {"vendor", "model", "hw_version", "fw_version"};
	json_t *dpus = json_object_get(sw, "dpus");
	json_t *a, *b;
	char *msg = NULL;

	if (json_array_size(dpus) != 2)
		return NULL;
	a = model_find(inventory, json_string_value(json_array_get(dpus, 0)));
	b = model_find(inventory, json_string_value(json_array_get(dpus, 1)));
	if (!a || !b || !str(a, "vendor")[0] || !str(b, "vendor")[0])
		return NULL;
	for (int k = 0; k < 4; k++)
		if (strcmp(str(a, keys[k]), str(b, keys[k])) != 0) {
			if (asprintf(&msg,
				     "switch '%s' needs two identical DPUs, but %s has %s %s and "
				     "%s has %s: bring both to the same firmware, or give each DPU "
				     "its own switch (mode independent)",
				     str(sw, "name"), str(a, "name"), keys[k], str(a, keys[k]),
				     str(b, "name"), str(b, keys[k])) < 0)
				msg = NULL;
			return msg;
		}
	/* One software on both, the host's: a DPU that joins a pair needs a fresh install. */
	for (json_t *const *d = (json_t *const[]){a, b, NULL}; *d; d++)
		if (str(*d, "version")[0] && strcmp(str(*d, "version"), DSE_VERSION) != 0) {
			if (asprintf(&msg,
				     "switch '%s' pairs DPUs that run the host's software, but %s "
				     "runs dse-dpud %s and the host %s: install the host's image on "
				     "it (a DPU that joins a pair needs a fresh install)",
				     str(sw, "name"), str(*d, "name"), str(*d, "version"),
				     DSE_VERSION) < 0)
				msg = NULL;
			return msg;
		}
	return NULL;
}

/* Returns the address family of a rule: its prefixes', else its ICMP flavour's, else 0 (both). */
static int rule_family(json_t *r)
{
	static const char *const keys[] = {"src", "dst"};
	unsigned char addr[16];
	int fam, plen, proto;

	for (int k = 0; k < 2; k++) {
		const char *p = json_string_value(json_object_get(r, keys[k]));
		int rc = p ? model_fw_prefix(p, &fam, addr, &plen) : -EINVAL;

		if (rc == 0 || rc == -EDOM)
			return fam;
	}
	proto = json_object_get(r, "proto") ? model_fw_proto(json_object_get(r, "proto")) : 0;
	return proto == 1 ? 4 : proto == 58 ? 6 : 0;
}

/* The fw.rule.add params of the normalized rule 'r'. */
static json_t *rule_params(json_t *r)
{
	json_t *p = json_deep_copy(r);

	json_object_set_new(p, "family", json_integer(rule_family(r)));
	return p;
}

/*
 * Adds to 'out' the firewall policies and rules of the segments 'seg_names'
 * (those the DPU holds) and of the VM ports 'out' holds.
 */
static void desired_fw(json_t *out, json_t *doc, json_t *seg_names)
{
	json_t *v;
	size_t i;

	json_array_foreach(model_fw_policies(doc), i, v)
		if (contains_str(seg_names, str(v, "segment")))
			json_array_append(json_object_get(out, "policies"), v);
	json_array_foreach(model_fw_rules(doc), i, v) {
		const char *seg = str(v, "segment"), *port = str(v, "port");

		/* A port's segment is the rule's (the model checks it). */
		if (port[0] ? !model_find(json_object_get(out, "ports"), port)
			    : seg[0] && !contains_str(seg_names, seg))
			continue;
		json_array_append_new(json_object_get(out, "rules"), rule_params(v));
	}
}

static void note(json_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Adds a note (a sentence for the operator) to the desired config 'out'. */
static void note(json_t *out, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(json_object_get(out, "notes"), json_string(buf));
}

/*
 * Sets the "tep" of the desired config 'out' of a DPU of switch 'sw' in role
 * 'role': the switch's TEP address on the first of the uplinks 'out'
 * holds, on every DPU but the standby of a pair.
 */
static void desired_tep(json_t *out, json_t *sw, bool overlay)
{
	json_t *tep = json_object_get(sw, "tep"), *p;
	size_t i;

	if (tep == NULL) {
		if (overlay)
			note(out,
			     "switch '%s' has overlay segments but no TEP: their frames stay on "
			     "this DPU until the switch gets one (tep: {ip: ADDRESS})",
			     str(sw, "name"));
		return;
	}
	json_array_foreach(json_object_get(out, "ports"), i, p)
		if (json_is_true(json_object_get(p, "uplink"))) {
			json_object_set_new(out, "tep",
					    json_pack("{s:O, s:O}", "ip", json_object_get(tep, "ip"),
						      "uplink", json_object_get(p, "name")));
			return;
		}
	note(out, "switch '%s' has TEP %s, but none of its uplinks is on this DPU",
	     str(sw, "name"), str(tep, "ip"));
}

/*
 * Sets the "ha" of the desired config 'out' of DPU 'dpu':
 * the ha.role.set params.  The epoch counts every failover the host
 * decided, so it only grows and both DPUs of a pair hear the same.
 */
static void desired_ha(json_t *out, json_t *inventory, const char *dpu)
{
	const char *role = str(out, "role");
	json_t *rec = model_find(inventory, dpu);
	json_int_t epoch = rec ? json_integer_value(json_object_get(rec, "ha_epoch")) : 0;

	if (strcmp(role, "active") == 0 || strcmp(role, "standby") == 0)
		json_object_set_new(out, "ha",
				    json_pack("{s:s, s:I, s:s}", "role", role, "epoch", epoch,
					      "iface", RECONCILE_SYNC_IFACE));
	else
		json_object_set_new(out, "ha", json_pack("{s:s, s:I}", "role", "single", "epoch",
							 epoch));
}

json_t *reconcile_desired(json_t *doc, json_t *inventory, const char *dpu)
{
	json_t *out = json_pack("{s:n, s:s, s:n, s:[], s:[], s:[], s:[], s:n, s:[], s:[]}",
				"switch", "role", "none", "refused", "notes", "segments", "ports",
				"fdb", "tep", "policies", "rules");
	json_t *sw = NULL, *v, *seg_names = json_array(), *vlan_names = json_array(), *rec;
	bool overlay = false;
	size_t i, pos = 0;
	int slot;
	char *problem;

	json_array_foreach(json_object_get(doc, "switches"), i, v) {
		size_t k;
		json_t *d;

		json_array_foreach(json_object_get(v, "dpus"), k, d)
			if (strcmp(json_string_value(d), dpu) == 0) {
				sw = v;
				pos = k;
			}
	}
	if (sw == NULL)
		goto out;
	json_object_set_new(out, "switch", json_string(str(sw, "name")));
	json_object_set_new(out, "role", json_string(role_of(sw, inventory, pos)));
	desired_ha(out, inventory, dpu);
	problem = pair_problem(sw, inventory);
	if (problem) {
		json_object_set_new(out, "refused", json_string(problem));
		free(problem);
		goto out;
	}

	/* Trunks (the uplinks) carry the VLAN segments; overlay segments travel in Geneve. */
	json_array_foreach(json_object_get(doc, "segments"), i, v) {
		if (strcmp(str(v, "switch"), str(sw, "name")) != 0)
			continue;
		if (json_object_get(v, "vlan")) {
			json_array_append_new(json_object_get(out, "segments"),
					      json_pack("{s:s, s:O}", "name", str(v, "name"),
							"vlan", json_object_get(v, "vlan")));
			json_array_append_new(vlan_names, json_string(str(v, "name")));
		} else {
			json_array_append_new(json_object_get(out, "segments"),
					      json_pack("{s:s, s:O, s:O}", "name", str(v, "name"),
							"vni", json_object_get(v, "vni"), "peers",
							json_object_get(v, "peers")));
			overlay = true;
		}
		json_array_append_new(seg_names, json_string(str(v, "name")));
	}

	rec = model_find(inventory, dpu);
	slot = rec ? model_link_slot(str(rec, "link")) : -1;
	json_array_foreach(json_object_get(sw, "uplinks"), i, v) {
		const char *u = json_string_value(v);

		/* An uplink sits on the DPU of its slot; with no known slot, try them all. */
		if (slot > 0 && !model_uplink_on_slot(model_uplink_index(u), slot))
			continue;
		json_array_append_new(json_object_get(out, "ports"),
				      json_pack("{s:s, s:s, s:s, s:O, s:b}", "name", u, "iface", u,
						"mode", "trunk", "segments", vlan_names, "uplink",
						1));
	}
	desired_tep(out, sw, overlay);

	/* The standby holds it all too (its datapath holds: it forwards nothing). */
	json_array_foreach(json_object_get(doc, "ports"), i, v) {
		char iface[32];

		if (!contains_str(seg_names, str(v, "segment")))
			continue;
		snprintf(iface, sizeof(iface), "rep-%s", str(v, "vm"));
		json_array_append_new(json_object_get(out, "ports"),
				      json_pack("{s:s, s:s, s:s, s:s}", "name",
						str(v, "name"), "iface", iface, "mode",
						"access", "segment", str(v, "segment")));
		json_array_append_new(json_object_get(out, "fdb"),
				      json_pack("{s:s, s:s, s:s}", "segment",
						str(v, "segment"), "mac", str(v, "mac"),
						"port", str(v, "name")));
	}
	desired_fw(out, doc, seg_names);
out:
	json_decref(seg_names);
	json_decref(vlan_names);
	return out;
}

/* ---- plan ---- */

/* Copies the value of "iface=" in 'devargs' into 'out'. */
static void devargs_iface(const char *devargs, char *out, size_t len)
{
	const char *p = strstr(devargs, "iface=");
	size_t n;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += 6;
	n = strcspn(p, ",");
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Returns k of a "net_af_packet<k>,..." devargs, or -1. */
static int devargs_index(const char *devargs)
{
	char *end;
	long k;

	if (strncmp(devargs, "net_af_packet", 13) != 0)
		return -1;
	k = strtol(devargs + 13, &end, 10);
	if (end == devargs + 13 || (*end != ',' && *end != '\0') || k < 0 || k > MAX_VDEV_INDEX)
		return -1;
	return (int)k;
}

static void add_call(json_t *calls, const char *method, json_t *params)
{
	json_array_append_new(calls, json_pack("{s:s, s:o}", "method", method, "params", params));
}

/* Returns the segments of a port as dse-dpud reports them, as a list. */
static json_t *port_segments(json_t *p)
{
	json_t *segs = json_object_get(p, "segments");

	if (json_is_array(segs))
		return json_incref(segs);
	if (json_is_string(json_object_get(p, "segment")))
		return json_pack("[O]", json_object_get(p, "segment"));
	return json_array();
}

static bool same_set(json_t *a, json_t *b)
{
	size_t i;
	json_t *v;

	if (json_array_size(a) != json_array_size(b))
		return false;
	json_array_foreach(a, i, v)
		if (!contains_str(b, json_string_value(v)))
			return false;
	return true;
}

static bool fdb_wanted(json_t *want_fdb, json_t *e)
{
	size_t i;
	json_t *w;

	json_array_foreach(want_fdb, i, w)
		if (strcmp(str(w, "segment"), str(e, "segment")) == 0 &&
		    strcasecmp(str(w, "mac"), str(e, "mac")) == 0 &&
		    strcmp(str(w, "port"), str(e, "port")) == 0)
			return true;
	return false;
}

/*
 * Finds what the plan takes away: the DPU's segments that go, or go and
 * come back with another VLAN, into 'bad'; its ports that go, or are added
 * again, into 'gone' (both objects used as sets of names).
 */
static void removed_objects(json_t *desired, json_t *segs, json_t *ports, json_t *bad,
			    json_t *gone)
{
	json_t *want_segs = json_object_get(desired, "segments");
	json_t *want_ports = json_object_get(desired, "ports"), *v;
	size_t i;

	json_array_foreach(segs, i, v) {
		json_t *w = model_find(want_segs, str(v, "name"));

		/* A segment backed otherwise is another segment: it goes and comes back. */
		if (!w ||
		    json_integer_value(json_object_get(w, "vlan")) !=
			    json_integer_value(json_object_get(v, "vlan")) ||
		    json_integer_value(json_object_get(w, "vni")) !=
			    json_integer_value(json_object_get(v, "vni")))
			json_object_set_new(bad, str(v, "name"), json_true());
	}
	json_array_foreach(ports, i, v) {
		json_t *w = model_find(want_ports, str(v, "name"));
		char iface[64];

		devargs_iface(str(v, "devargs"), iface, sizeof(iface));
		if (!w || strcmp(iface, str(w, "iface")) != 0 ||
		    strcmp(str(v, "mode"), str(w, "mode")) != 0 ||
		    (strcmp(str(w, "mode"), "access") == 0 &&
		     json_object_get(bad, str(v, "segment"))))
			json_object_set_new(gone, str(v, "name"), json_true());
	}
}

/* Returns the name of the port that carries the TEP tep.show reported as 'tep', or "". */
static const char *tep_port_of(json_t *tep)
{
	return json_is_string(json_object_get(tep, "ip")) ? str(tep, "uplink") : "";
}

json_t *reconcile_plan(json_t *desired, json_t *segs, json_t *ports, json_t *fdb, json_t *tep)
{
	json_t *calls = json_array(), *want_segs = json_object_get(desired, "segments");
	json_t *want_ports = json_object_get(desired, "ports"), *want_fdb = json_object_get(desired, "fdb");
	json_t *bad = json_object();   /* segments of the DPU that go away */
	json_t *gone = json_object();  /* ports of the DPU that go away (or are re-added) */
	json_t *kept = json_object();  /* port name -> its segments after phase 1 */
	json_t *want_tep = json_object_get(desired, "tep"), *v;
	const char *tep_port = tep_port_of(tep); /* the port that carries the DPU's TEP, or "" */
	bool tep_moves = json_is_object(want_tep) &&
			 (strcmp(str(want_tep, "ip"), str(tep, "ip")) != 0 ||
			  strcmp(str(want_tep, "uplink"), tep_port) != 0);
	bool tep_port_stays = false; /* dse-dpud deletes no port under its TEP: after tep.set */
	bool *used = calloc(MAX_VDEV_INDEX + 1, sizeof(*used));
	size_t i;
	int next = 0;

	if (used == NULL) {
		json_decref(calls);
		calls = NULL;
		goto out;
	}
	removed_objects(desired, segs, ports, bad, gone);

	/* Phase 1: take away what is not wanted. */
	json_array_foreach(ports, i, v) {
		const char *name = str(v, "name");
		json_t *w = model_find(want_ports, name), *cur, *keep, *s;
		size_t k;
		int idx = devargs_index(str(v, "devargs"));

		if (idx >= 0)
			used[idx] = true;
		if (json_object_get(gone, name) && !w && strcmp(name, tep_port) == 0) {
			/*
			 * The TEP's port goes, but only once the TEP has moved (or never,
			 * when no TEP is wanted: dse-dpud can not take one away).  It
			 * leaves its segments now, so they can go.
			 */
			json_t *cur = port_segments(v);

			if (json_array_size(cur))
				add_call(calls, "port.set",
					 json_pack("{s:s, s:[]}", "name", name, "segments"));
			json_decref(cur);
			tep_port_stays = true;
			continue;
		}
		if (json_object_get(gone, name)) {
			add_call(calls, "port.del", json_pack("{s:s}", "name", name));
			continue;
		}
		cur = port_segments(v);
		keep = json_array();
		json_array_foreach(cur, k, s)
			if (!json_object_get(bad, json_string_value(s)))
				json_array_append(keep, s);
		if (strcmp(str(w, "mode"), "trunk") == 0 && json_array_size(keep) != json_array_size(cur))
			add_call(calls, "port.set", json_pack("{s:s, s:O}", "name", name, "segments", keep));
		json_object_set_new(kept, name, keep);
		json_decref(cur);
	}
	json_array_foreach(fdb, i, v) {
		if (!json_is_true(json_object_get(v, "static")) || fdb_wanted(want_fdb, v) ||
		    json_object_get(bad, str(v, "segment")) || json_object_get(gone, str(v, "port")))
			continue;
		add_call(calls, "fdb.del",
			 json_pack("{s:s, s:s}", "segment", str(v, "segment"), "mac", str(v, "mac")));
	}
	json_array_foreach(segs, i, v)
		if (json_object_get(bad, str(v, "name")))
			add_call(calls, "segment.del", json_pack("{s:s}", "name", str(v, "name")));

	/* Phase 2: add what is missing. */
	json_array_foreach(want_segs, i, v) {
		json_t *cur = model_find(segs, str(v, "name"));
		json_t *peers = json_object_get(v, "peers");

		if (!cur || json_object_get(bad, str(v, "name")))
			add_call(calls, "segment.add", json_deep_copy(v));
		else if (peers && !same_set(peers, json_object_get(cur, "peers")))
			add_call(calls, "segment.set",
				 json_pack("{s:s, s:O}", "name", str(v, "name"), "peers", peers));
	}
	json_array_foreach(want_ports, i, v) {
		const char *name = str(v, "name");
		json_t *keep = json_object_get(kept, name);
		bool trunk = strcmp(str(v, "mode"), "trunk") == 0;

		if (keep == NULL) {
			char devargs[128];
			json_t *params;

			while (next <= MAX_VDEV_INDEX && used[next])
				next++;
			if (next > MAX_VDEV_INDEX)
				break;
			used[next] = true;
			snprintf(devargs, sizeof(devargs), "net_af_packet%d,iface=%s", next,
				 str(v, "iface"));
			params = json_pack("{s:s, s:s, s:s}", "name", name, "devargs", devargs,
					   "mode", str(v, "mode"));
			if (trunk)
				json_object_set(params, "segments", json_object_get(v, "segments"));
			else
				json_object_set(params, "segment", json_object_get(v, "segment"));
			/* Uplinks are a team in the datapath: never a path between them. */
			if (json_is_true(json_object_get(v, "uplink")))
				json_object_set_new(params, "uplink", json_true());
			add_call(calls, "port.add", params);
		} else if (json_is_true(json_object_get(v, "uplink")) !=
			   json_is_true(json_object_get(model_find(ports, name), "uplink"))) {
			add_call(calls, "port.set",
				 json_pack("{s:s, s:b}", "name", name, "uplink",
					   json_is_true(json_object_get(v, "uplink"))));
		} else if (trunk && !same_set(keep, json_object_get(v, "segments"))) {
			add_call(calls, "port.set",
				 json_pack("{s:s, s:O}", "name", name, "segments",
					   json_object_get(v, "segments")));
		} else if (!trunk) {
			json_t *one = json_pack("[O]", json_object_get(v, "segment"));

			if (!same_set(keep, one))
				add_call(calls, "port.set",
					 json_pack("{s:s, s:O}", "name", name, "segment",
						   json_object_get(v, "segment")));
			json_decref(one);
		}
	}
	/* The TEP goes on its uplink once the port is there; then its old port can go. */
	if (tep_moves)
		add_call(calls, "tep.set",
			 json_pack("{s:O, s:O}", "ip", json_object_get(want_tep, "ip"), "uplink",
				   json_object_get(want_tep, "uplink")));
	if (tep_port_stays && tep_moves)
		add_call(calls, "port.del", json_pack("{s:s}", "name", tep_port));
	json_array_foreach(want_fdb, i, v) {
		bool present = false;
		size_t k;
		json_t *e;

		json_array_foreach(fdb, k, e)
			if (json_is_true(json_object_get(e, "static")) &&
			    strcmp(str(e, "segment"), str(v, "segment")) == 0 &&
			    strcasecmp(str(e, "mac"), str(v, "mac")) == 0 &&
			    strcmp(str(e, "port"), str(v, "port")) == 0)
				present = true;
		if (!present || json_object_get(gone, str(v, "port")) ||
		    json_object_get(bad, str(v, "segment")))
			add_call(calls, "fdb.add", json_deep_copy(v));
	}
out:
	free(used);
	json_decref(bad);
	json_decref(gone);
	json_decref(kept);
	return calls;
}

/* ---- the firewall's plan ---- */

/* Reads a prefix as any spelling of dse-dpud or the model gives it: NULL is any. */
static json_t *canon_prefix(json_t *v)
{
	const char *s = json_string_value(v);
	unsigned char addr[16];
	char buf[64];
	int fam, plen, rc;

	if (s == NULL || strcasecmp(s, "any") == 0)
		return NULL;
	rc = model_fw_prefix(s, &fam, addr, &plen);
	if (rc < 0 && rc != -EDOM)
		return json_string(s); /* not a prefix: equal only to the same text */
	if (plen == 0)
		return NULL; /* 0.0.0.0/0 and ::/0 are any; the family says which */
	model_fw_prefix_canon(s, buf, sizeof(buf));
	return json_string(buf);
}

/* Reads a protocol, by name or number; 0 for any. */
static int canon_proto(json_t *v)
{
	const char *s = json_string_value(v);

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v))
		return (int)json_integer_value(v);
	for (int p = 0; p < 256; p++) {
		const char *name = model_fw_proto_name(p);

		if (name && strcasecmp(s, name) == 0)
			return p;
	}
	return s && s[0] && strspn(s, "0123456789") == strlen(s) ? atoi(s) : -1;
}

/*
 * Returns the canonical form of a rule (fw.rule.add params or a fw.rule.list
 * entry): every member, "any" spelled one way (left out), ports as [lo, hi].
 */
static json_t *canon_rule(json_t *r)
{
	static const char *const prefixes[] = {"src", "dst"};
	static const char *const ranges[] = {"sport", "dport"};
	static const char *const scopes[] = {"segment", "port"};
	const char *action = str(r, "action"), *dir = str(r, "direction");
	json_t *o = json_object(), *fam = json_object_get(r, "family"), *v;
	int proto = canon_proto(json_object_get(r, "proto"));

	json_object_set(o, "id", json_object_get(r, "id"));
	json_object_set_new(o, "priority",
			    json_integer(json_integer_value(json_object_get(r, "priority"))));
	json_object_set_new(o, "family",
			    json_integer(json_is_integer(fam) ? json_integer_value(fam)
							      : rule_family(r)));
	for (int k = 0; k < 2; k++) {
		v = canon_prefix(json_object_get(r, prefixes[k]));
		if (v)
			json_object_set_new(o, prefixes[k], v);
	}
	if (proto)
		json_object_set_new(o, "proto", json_integer(proto));
	for (int k = 0; k < 2; k++) {
		int lo, hi;

		v = json_object_get(r, ranges[k]);
		if (v && !json_is_null(v) && model_fw_ports(v, &lo, &hi) == 0 &&
		    !(lo == 0 && hi == 65535))
			json_object_set_new(o, ranges[k], json_pack("[i, i]", lo, hi));
	}
	v = json_object_get(r, "icmp_type");
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		json_object_set(o, "icmp_type", v);
	json_object_set_new(o, "action",
			    json_string(strcasecmp(action, "deny") == 0 ? "drop" : action));
	json_object_set_new(o, "direction", json_string(dir[0] ? dir : "any"));
	for (int k = 0; k < 2; k++) {
		const char *s = json_string_value(json_object_get(r, scopes[k]));

		if (s && strcasecmp(s, "any") != 0)
			json_object_set_new(o, scopes[k], json_string(s));
	}
	return o;
}

bool reconcile_fw_rule_equal(json_t *a, json_t *b)
{
	json_t *x = canon_rule(a), *y = canon_rule(b);
	bool eq = json_equal(x, y);

	json_decref(x);
	json_decref(y);
	return eq;
}

/* Returns the key of a rule's id in the objects used as maps by id ("42"). */
static const char *id_key(json_t *r, char *buf, size_t len)
{
	snprintf(buf, len, "%lld", (long long)json_integer_value(json_object_get(r, "id")));
	return buf;
}

/* Returns the rules of 'list' in an object by id (borrowed references). */
static json_t *rules_by_id(json_t *list)
{
	json_t *map = json_object(), *r;
	char key[32];
	size_t i;

	json_array_foreach(list, i, r)
		json_object_set(map, id_key(r, key, sizeof(key)), r);
	return map;
}

/* Appends the fw.rule.apply call of one change set to 'calls', if it changes anything. */
static void add_change_set(json_t *calls, json_t *rules, json_t *del, json_t *pols)
{
	json_t *p = json_object();

	if (json_array_size(rules))
		json_object_set(p, "rules", rules);
	if (json_array_size(del))
		json_object_set(p, "delete", del);
	if (json_array_size(pols))
		json_object_set(p, "policies", pols);
	if (json_object_size(p))
		add_call(calls, "fw.rule.apply", p);
	else
		json_decref(p);
}

json_t *reconcile_plan_fw(json_t *desired, json_t *segs, json_t *ports, json_t *fdb,
			  json_t *tep, json_t *rules, json_t *policies)
{
	json_t *l2 = reconcile_plan(desired, segs, ports, fdb, tep), *calls, *v;
	json_t *want_rules = json_object_get(desired, "rules");
	json_t *want_pols = json_object_get(desired, "policies");
	json_t *bad, *gone, *dropped, *off, *want_by_id, *cur_by_id;
	json_t *del = json_array(), *pols_before = json_array();
	json_t *add = json_array(), *pols_after = json_array();
	size_t i;

	if (l2 == NULL)
		goto out;
	calls = json_array();
	bad = json_object();     /* segments the plan removes */
	gone = json_object();    /* ports the plan removes */
	dropped = json_object(); /* ids of the rules taken away before the layer 2 calls */
	off = json_object();     /* segments whose policy is turned off */
	want_by_id = rules_by_id(want_rules);
	cur_by_id = rules_by_id(rules);
	removed_objects(desired, segs, ports, bad, gone);

	/*
	 * Two change sets, each one call compiled once by dse-dpud.  Before the
	 * layer 2 calls: the rules not wanted, and those that name a segment or
	 * port the plan removes (dse-dpud refuses to remove what a rule names),
	 * with the policies that go.  After them: the rules missing or
	 * different (replaced in place, so the rule is never absent), with the
	 * policies that come, in one set so a new deny policy finds its allow
	 * rules in place.
	 */
	json_array_foreach(rules, i, v) {
		char key[32];
		json_t *w = json_object_get(want_by_id, id_key(v, key, sizeof(key)));
		const char *seg = json_string_value(json_object_get(v, "segment"));
		const char *port = json_string_value(json_object_get(v, "port"));
		bool refs_removed = (seg && json_object_get(bad, seg)) ||
				    (port && json_object_get(gone, port));

		if (w && !refs_removed)
			continue; /* in sync, or replaced after the layer 2 calls */
		json_array_append(del, json_object_get(v, "id"));
		json_object_set_new(dropped, key, json_true());
	}
	json_array_foreach(want_rules, i, v) {
		char key[32];
		json_t *cur = json_object_get(cur_by_id, id_key(v, key, sizeof(key)));

		if (!cur || json_object_get(dropped, key) || !reconcile_fw_rule_equal(v, cur))
			json_array_append_new(add, json_deep_copy(v));
	}
	json_array_foreach(policies, i, v) {
		const char *seg = str(v, "segment");

		if (strcmp(str(v, "default"), "off") == 0)
			continue;
		if (!model_fw_policy_find(want_pols, seg) || json_object_get(bad, seg)) {
			json_array_append_new(pols_before,
					      json_pack("{s:s, s:s}", "segment", seg, "default", "off"));
			json_object_set_new(off, seg, json_true());
		}
	}
	json_array_foreach(want_pols, i, v) {
		json_t *cur = model_fw_policy_find(policies, str(v, "segment"));

		if (!cur || json_object_get(off, str(v, "segment")) ||
		    strcmp(str(cur, "default"), str(v, "default")) != 0)
			json_array_append_new(pols_after,
					      json_pack("{s:s, s:s}", "segment", str(v, "segment"),
							"default", str(v, "default")));
	}

	add_change_set(calls, NULL, del, pols_before);
	json_array_extend(calls, l2);
	add_change_set(calls, add, NULL, pols_after);
	json_decref(l2);
	json_decref(bad);
	json_decref(gone);
	json_decref(dropped);
	json_decref(off);
	json_decref(want_by_id);
	json_decref(cur_by_id);
	l2 = calls;
out:
	json_decref(del);
	json_decref(pols_before);
	json_decref(add);
	json_decref(pols_after);
	return l2;
}

/* ---- running it ---- */

const char *const reconcile_reads[RECONCILE_READS] = {
	"segment.list", "port.list", "fdb.list", "tep.show", "fw.rule.list", "fw.policy.list",
};

json_t *reconcile_plan_reads(json_t *desired, json_t *const reads[RECONCILE_READS])
{
	return reconcile_plan_fw(desired, reads[0], reads[1], reads[2], reads[3], reads[4],
				 reads[5]);
}

int reconcile_call_timeout(json_t *v, int timeout_ms, size_t held_rules)
{
	json_t *p = json_object_get(v, "params");

	if (strcmp(str(v, "method"), "fw.rule.apply") != 0)
		return timeout_ms;
	return timeout_ms + (int)((json_array_size(json_object_get(p, "rules")) +
				   json_array_size(json_object_get(p, "delete")) + held_rules) /
				  2);
}

bool reconcile_tep_left(json_t *desired, json_t *tep, char *err, size_t err_len)
{
	if (!json_is_string(json_object_get(tep, "ip")) ||
	    !json_is_null(json_object_get(desired, "tep")))
		return false;
	snprintf(err, err_len,
		 "the DPU still has TEP %s on %s, which the host no longer wants, and "
		 "dse-dpud has no call to take a TEP away: it answers for that address "
		 "until dse-dpud restarts",
		 str(tep, "ip"), str(tep, "uplink"));
	return true;
}
