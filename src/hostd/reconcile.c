/* SPDX-License-Identifier: BSD-3-Clause */
/* Desired config of a DPU and the calls that bring dse-dpud there (reconcile.h). */
#include "reconcile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "model.h"
#include "rpc_client.h"

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

static const char *role_of(const char *mode, size_t pos)
{
	if (strcmp(mode, "active-standby") == 0)
		return pos == 0 ? "active" : "standby";
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
	return NULL;
}

json_t *reconcile_desired(json_t *doc, json_t *inventory, const char *dpu)
{
	json_t *out = json_pack("{s:n, s:s, s:n, s:[], s:[], s:[], s:[]}", "switch", "role",
				"none", "refused", "notes", "segments", "ports", "fdb");
	json_t *sw = NULL, *v, *seg_names = json_array(), *rec;
	const char *mode;
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
	mode = str(sw, "mode");
	json_object_set_new(out, "switch", json_string(str(sw, "name")));
	json_object_set_new(out, "role", json_string(role_of(mode, pos)));
	problem = pair_problem(sw, inventory);
	if (problem) {
		json_object_set_new(out, "refused", json_string(problem));
		free(problem);
		goto out;
	}

	json_array_foreach(json_object_get(doc, "segments"), i, v) {
		if (strcmp(str(v, "switch"), str(sw, "name")) != 0)
			continue;
		if (json_object_get(v, "vlan")) {
			json_array_append_new(json_object_get(out, "segments"),
					      json_pack("{s:s, s:O}", "name", str(v, "name"),
							"vlan", json_object_get(v, "vlan")));
			json_array_append_new(seg_names, json_string(str(v, "name")));
		} else {
			char note[256];

			snprintf(note, sizeof(note),
				 "overlay segment '%s' (VNI %lld) and its ports are not served: "
				 "this dse-dpud serves VLAN segments only",
				 str(v, "name"), (long long)json_integer_value(json_object_get(v, "vni")));
			json_array_append_new(json_object_get(out, "notes"), json_string(note));
		}
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
						"mode", "trunk", "segments", seg_names, "uplink", 1));
	}

	if (strcmp(str(out, "role"), "standby") != 0) {
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
	}
out:
	json_decref(seg_names);
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

json_t *reconcile_plan(json_t *desired, json_t *segs, json_t *ports, json_t *fdb)
{
	json_t *calls = json_array(), *want_segs = json_object_get(desired, "segments");
	json_t *want_ports = json_object_get(desired, "ports"), *want_fdb = json_object_get(desired, "fdb");
	json_t *bad = json_object();   /* segments of the DPU that go away */
	json_t *gone = json_object();  /* ports of the DPU that go away (or are re-added) */
	json_t *kept = json_object();  /* port name -> its segments after phase 1 */
	json_t *v;
	bool *used = calloc(MAX_VDEV_INDEX + 1, sizeof(*used));
	size_t i;
	int next = 0;

	if (used == NULL) {
		json_decref(calls);
		calls = NULL;
		goto out;
	}
	json_array_foreach(segs, i, v) {
		json_t *w = model_find(want_segs, str(v, "name"));

		if (!w || !json_equal(json_object_get(w, "vlan"), json_object_get(v, "vlan")))
			json_object_set_new(bad, str(v, "name"), json_true());
	}

	/* Phase 1: take away what is not wanted. */
	json_array_foreach(ports, i, v) {
		const char *name = str(v, "name");
		json_t *w = model_find(want_ports, name), *cur = port_segments(v), *keep, *s;
		char iface[64];
		size_t k;
		int idx = devargs_index(str(v, "devargs"));

		if (idx >= 0)
			used[idx] = true;
		devargs_iface(str(v, "devargs"), iface, sizeof(iface));
		if (!w || strcmp(iface, str(w, "iface")) != 0 ||
		    strcmp(str(v, "mode"), str(w, "mode")) != 0 ||
		    (strcmp(str(w, "mode"), "access") == 0 &&
		     json_object_get(bad, str(v, "segment")))) {
			add_call(calls, "port.del", json_pack("{s:s}", "name", name));
			json_object_set_new(gone, name, json_true());
			json_decref(cur);
			continue;
		}
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

		if (!cur || json_object_get(bad, str(v, "name")))
			add_call(calls, "segment.add", json_deep_copy(v));
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

/* ---- running it ---- */

/* Calls 'method'; on failure writes "method: why" to 'err' and returns the errno. */
static int call(struct dse_rpc_client *c, const char *method, json_t *params, int timeout_ms,
		json_t **ret, char *err, size_t err_len)
{
	json_t *error = NULL;
	int r = dse_rpc_client_call(c, method, params, timeout_ms, ret, &error);

	if (r == -EREMOTEIO) {
		snprintf(err, err_len, "dse-dpud refused %s: %s", method,
			 str(error, "message"));
		json_decref(error);
	} else if (r < 0) {
		const char *why = dse_rpc_client_last_error(c);

		snprintf(err, err_len, "%s failed: %s%s%s", method, strerror(-r),
			 why[0] ? ": " : "", why);
	}
	return r;
}

enum reconcile_result reconcile_step(struct dse_rpc_client *c, json_t *desired, int timeout_ms,
				     uint64_t deadline_ns, unsigned *ret_calls, char *err,
				     size_t err_len)
{
	json_t *segs = NULL, *ports = NULL, *fdb = NULL, *plan = NULL, *v;
	enum reconcile_result res = RECONCILE_DONE;
	unsigned ran = 0;
	size_t i;
	int r;

	err[0] = '\0';
	if ((r = call(c, "segment.list", NULL, timeout_ms, &segs, err, err_len)) < 0 ||
	    (r = call(c, "port.list", NULL, timeout_ms, &ports, err, err_len)) < 0 ||
	    (r = call(c, "fdb.show", NULL, timeout_ms, &fdb, err, err_len)) < 0) {
		res = r == -EREMOTEIO ? RECONCILE_FAILED : RECONCILE_LOST;
		goto out;
	}
	plan = reconcile_plan(desired, segs, ports, fdb);
	if (plan == NULL) {
		snprintf(err, err_len, "out of memory");
		res = RECONCILE_FAILED;
		goto out;
	}
	json_array_foreach(plan, i, v) {
		char msg[512];

		if (ran > 0 && dse_clock_ns() > deadline_ns) {
			res = res == RECONCILE_FAILED ? res : RECONCILE_MORE;
			break;
		}
		ran++;
		r = call(c, str(v, "method"), json_object_get(v, "params"), timeout_ms, NULL, msg,
			 sizeof(msg));
		if (r == -EREMOTEIO) {
			if (res != RECONCILE_FAILED)
				snprintf(err, err_len, "%s", msg);
			res = RECONCILE_FAILED;
		} else if (r < 0) {
			snprintf(err, err_len, "%s", msg);
			res = RECONCILE_LOST;
			break;
		}
	}
out:
	if (ret_calls)
		*ret_calls = ran;
	json_decref(segs);
	json_decref(ports);
	json_decref(fdb);
	json_decref(plan);
	return res;
}
