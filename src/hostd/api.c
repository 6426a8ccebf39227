/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON-RPC methods of dse-hostd, served on its Unix socket to dsectl.
 * Each is a thin edge over one action function (config.c, dpu.c): the
 * server decodes and checks the params by the schema (api/hostd/) before the
 * handler runs, so a handler reads call->args, calls the action and turns a
 * failure into an error whose message says what to do.  Changes answer
 * {"changes": [...]}, the list of what they changed (model_diff()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "dse_api.h"
#include "config.h"
#include "hostd.h"
#include "reconcile.h"
#include "version.h"

static struct hostd *ctx(struct dse_rpc_call *call)
{
	return call->ctx;
}

/*
 * Turns a failed action into the call's error: the request was well formed
 * (the schema's decoder checked it, a profile's shape too) but the desired
 * state it asks for is refused, and 'e' says why.
 */
static int fail(struct dse_rpc_call *call, const struct model_err *e, bool with_path)
{
	char msg[600];

	model_err_format(e, with_path, msg, sizeof(msg));
	return dse_rpc_error(call, DSE_RPC_APP_ERROR, "%s", msg);
}

static json_t *changes_json(json_t *changes)
{
	return json_pack("{s:o}", "changes", changes);
}

/* ---- rpc, host ---- */

static int rpc_list(struct dse_rpc_call *call, json_t **ret)
{
	*ret = dse_rpc_list_json(call->srv, false);
	return 0;
}

/* Answers a call that the store failed, with the store's own message (store.c logged it). */
static int store_error(struct dse_rpc_call *call)
{
	return dse_rpc_error(call, DSE_RPC_APP_ERROR, "%s", store_last_error(ctx(call)->store));
}

static int host_show(struct dse_rpc_call *call, json_t **ret)
{
	struct hostd *h = ctx(call);
	unsigned links = 0, connected = 0;
	json_t *doc;

	if (store_load(h->store, &doc) < 0)
		return store_error(call);
	if (h->dpus)
		dpu_mgr_counts(h->dpus, &links, &connected);
	*ret = json_pack("{s:s, s:i, s:s, s:s, s:I, s:{s:s, s:i, s:I}, s:{s:i, s:i}, s:i, s:i, "
			 "s:i, s:{s:i, s:i}}",
			 "version", DSE_VERSION, "pid", (int)getpid(), "state_dir", h->state_dir,
			 "socket", h->socket_path, "uptime_s",
			 (json_int_t)((dse_clock_ns() - h->start_ns) / 1000000000ull), "store",
			 "path", h->db_path, "schema_version", store_schema_version(h->store),
			 "revision", (json_int_t)store_revision(h->store), "dpus", "links",
			 (int)links, "connected", (int)connected, "switches",
			 (int)json_array_size(json_object_get(doc, "switches")), "segments",
			 (int)json_array_size(json_object_get(doc, "segments")), "ports",
			 (int)json_array_size(json_object_get(doc, "ports")), "firewall",
			 "policies", (int)json_array_size(model_fw_policies(doc)), "rules",
			 (int)json_array_size(model_fw_rules(doc)));
	json_decref(doc);
	if (*ret && call->srv)
		json_object_set_new(*ret, "api", dse_rpc_server_stats_json(call->srv));
	return 0;
}

/* ---- DPUs ---- */

static int dpu_list(struct dse_rpc_call *call, json_t **ret)
{
	struct hostd *h = ctx(call);

	if (h->dpus == NULL) {
		*ret = json_array();
		return 0;
	}
	if (dpu_mgr_list(h->dpus, ret) < 0)
		return store_error(call);
	return 0;
}

static int dpu_show(struct dse_rpc_call *call, json_t **ret)
{
	struct hostd *h = ctx(call);
	const char *name = ((const struct dse_api_hostd_dpu_show *)call->args)->name;
	int r;

	r = h->dpus ? dpu_mgr_show(h->dpus, name, ret) : -ENOENT;
	if (r == -ENOENT)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "no DPU '%s' (dsectl dpu list shows them, by name or link)",
				     name);
	if (r < 0)
		return store_error(call);
	return 0;
}

static int dpu_forget(struct dse_rpc_call *call, json_t **ret)
{
	struct hostd *h = ctx(call);
	const char *name = ((const struct dse_api_hostd_dpu_forget *)call->args)->name;
	char err[512];

	if (h->dpus == NULL)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "no DPU '%s'", name);
	if (dpu_mgr_forget(h->dpus, name, err, sizeof(err)) < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "%s", err);
	*ret = NULL;
	return 0;
}

/* ---- switches, segments, ports ---- */

/*
 * Copies the params into the object a profile would hold: the model
 * (model.c) checks how the objects fit together; the schema has checked
 * each value.
 */
static json_t *object_of(struct dse_rpc_call *call)
{
	return call->params ? json_deep_copy(call->params) : json_object();
}

/*
 * The warnings of a change that names DPUs: one for each DPU a switch of
 * 'switches' names that this host has never seen.  Taken, since a profile
 * is often written before its DPUs are cabled; said, since a typo in a
 * name would otherwise wait for a DPU that never comes.
 */
static json_t *unseen_dpus(struct hostd *h, json_t *switches)
{
	json_t *inv = NULL, *out = json_array(), *sw, *d;
	size_t i, k;

	if (store_dpus(h->store, &inv) < 0)
		return out;
	json_array_foreach(switches, i, sw)
		json_array_foreach(json_object_get(sw, "dpus"), k, d) {
			json_t *rec;
			size_t n;
			bool seen = false;

			json_array_foreach(inv, n, rec)
				seen |= json_equal(json_object_get(rec, "name"), d);
			if (!seen && json_is_string(d))
				json_array_append_new(
				    out, json_sprintf("switch '%s' names DPU '%s', which this host "
						      "has never seen: it is configured once it "
						      "connects (dsectl dpu list shows the DPUs seen)",
						      json_string_value(json_object_get(sw, "name")),
						      json_string_value(d)));
		}
	json_decref(inv);
	return out;
}

static int add(struct dse_rpc_call *call, enum config_kind kind, json_t **ret)
{
	struct model_err e = {0};
	json_t *obj = object_of(call), *changes, *one;
	int r = config_add(ctx(call)->store, kind, obj, &changes, &e);

	if (r < 0) {
		json_decref(obj);
		return fail(call, &e, false);
	}
	*ret = changes_json(changes);
	if (kind == CONFIG_SWITCH && *ret) {
		one = json_pack("[O]", obj);
		json_object_set_new(*ret, "warnings", unseen_dpus(ctx(call), one));
		json_decref(one);
	}
	json_decref(obj);
	return 0;
}

/* switch.del, segment.del and port.del all take just a name. */
static int del(struct dse_rpc_call *call, enum config_kind kind, const char *name, json_t **ret)
{
	struct model_err e = {0};
	json_t *changes;
	int r;

	r = config_del(ctx(call)->store, kind, name, &changes, &e);
	if (r < 0)
		return fail(call, &e, false);
	*ret = changes_json(changes);
	return 0;
}

/* Adds to each object of 'list' how many objects of 'users' name it under 'key'. */
static void count_users(json_t *list, json_t *users, const char *key, const char *count_key)
{
	size_t i, k;
	json_t *o, *u;

	json_array_foreach(list, i, o) {
		int n = 0;

		json_array_foreach(users, k, u)
			n += json_equal(json_object_get(u, key), json_object_get(o, "name"));
		json_object_set_new(o, count_key, json_integer(n));
	}
}

static void port_live(struct hostd *h, json_t *doc, json_t *ports);

static int list(struct dse_rpc_call *call, enum config_kind kind, json_t **ret)
{
	struct hostd *h = ctx(call);
	json_t *doc, *out;

	if (store_load(h->store, &doc) < 0)
		return store_error(call);
	switch (kind) {
	case CONFIG_SWITCH:
		out = json_deep_copy(json_object_get(doc, "switches"));
		count_users(out, json_object_get(doc, "segments"), "switch", "segments");
		break;
	case CONFIG_SEGMENT:
		out = json_deep_copy(json_object_get(doc, "segments"));
		count_users(out, json_object_get(doc, "ports"), "segment", "ports");
		break;
	default:
		out = json_deep_copy(json_object_get(doc, "ports"));
		if (h->dpus)
			port_live(h, doc, out);
		break;
	}
	json_decref(doc);
	*ret = out;
	return 0;
}

static int switch_add(struct dse_rpc_call *call, json_t **ret)
{
	return add(call, CONFIG_SWITCH, ret);
}

static int segment_add(struct dse_rpc_call *call, json_t **ret)
{
	return add(call, CONFIG_SEGMENT, ret);
}

static int port_add(struct dse_rpc_call *call, json_t **ret)
{
	return add(call, CONFIG_PORT, ret);
}

static int segment_set(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_segment_set *a = call->args;
	struct model_err e = {0};
	json_t *changes;
	int r;

	r = config_set(ctx(call)->store, CONFIG_SEGMENT, a->name, call->params, &changes, &e);
	if (r < 0)
		return fail(call, &e, false);
	*ret = changes_json(changes);
	return 0;
}

/* switch.set and port.set: the object changed in place, as config_set() does it. */
static int set(struct dse_rpc_call *call, enum config_kind kind, const char *name,
	       json_t *fields, json_t **ret)
{
	struct model_err e = {0};
	json_t *changes;
	int r = config_set(ctx(call)->store, kind, name, fields, &changes, &e);

	if (r < 0)
		return fail(call, &e, false);
	*ret = changes_json(changes);
	return 0;
}

static int switch_set(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_switch_set *a = call->args;
	json_t *fields = json_object();
	int r;

	if (a->has_tep && a->no_tep) {
		json_decref(fields);
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "give 'tep' (a new TEP) or 'no_tep' (none), not both");
	}
	if (a->has_uplinks)
		json_object_set(fields, "uplinks", a->uplinks);
	if (a->has_tep)
		json_object_set(fields, "tep", a->tep);
	if (a->no_tep)
		json_object_set_new(fields, "tep", json_null());
	r = set(call, CONFIG_SWITCH, a->name, fields, ret);
	json_decref(fields);
	return r;
}

static int port_set(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_port_set *a = call->args;
	json_t *fields = json_object();
	int r;

	if (a->has_segment)
		json_object_set_new(fields, "segment", json_string(a->segment));
	if (a->has_mac)
		json_object_set(fields, "mac", json_object_get(call->params, "mac"));
	r = set(call, CONFIG_PORT, a->name, fields, ret);
	json_decref(fields);
	return r;
}

static int switch_del(struct dse_rpc_call *call, json_t **ret)
{
	return del(call, CONFIG_SWITCH, ((const struct dse_api_hostd_switch_del *)call->args)->name,
		   ret);
}

static int segment_del(struct dse_rpc_call *call, json_t **ret)
{
	return del(call, CONFIG_SEGMENT,
		   ((const struct dse_api_hostd_segment_del *)call->args)->name, ret);
}

static int port_del(struct dse_rpc_call *call, json_t **ret)
{
	return del(call, CONFIG_PORT, ((const struct dse_api_hostd_port_del *)call->args)->name,
		   ret);
}

static int switch_list(struct dse_rpc_call *call, json_t **ret)
{
	return list(call, CONFIG_SWITCH, ret);
}

static int segment_list(struct dse_rpc_call *call, json_t **ret)
{
	return list(call, CONFIG_SEGMENT, ret);
}

static int port_list(struct dse_rpc_call *call, json_t **ret)
{
	return list(call, CONFIG_PORT, ret);
}

/* ---- profiles ---- */

static int config_apply_m(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_config_apply *a = call->args;
	struct model_err e = {0};
	json_t *changes;
	int r;

	r = config_apply(ctx(call)->store, a->config,
			 (a->dry_run ? CONFIG_DRY_RUN : 0) | (a->prune ? CONFIG_PRUNE : 0), &changes,
			 &e);
	if (r < 0)
		return fail(call, &e, true);
	*ret = json_pack("{s:o, s:o, s:b, s:I}", "changes", changes, "warnings",
			 unseen_dpus(ctx(call), json_object_get(a->config, "switches")), "dry_run",
			 a->dry_run, "revision",
			 (json_int_t)store_revision(ctx(call)->store));
	return 0;
}

static int config_export_m(struct dse_rpc_call *call, json_t **ret)
{
	if (config_export(ctx(call)->store, ret) < 0)
		return store_error(call);
	return 0;
}

/* ---- the firewall ---- */

/*
 * Returns the names of the DPUs that hold the host's firewall: every DPU of
 * a switch whose config the host does not refuse; with 'segment', only
 * those that hold it.  Sorted by name.
 */
static int fw_dpus(struct hostd *h, const char *segment, json_t **ret)
{
	json_t *doc, *inv, *out = json_array(), *sw, *d;
	size_t i, k;

	if (store_load(h->store, &doc) < 0) {
		json_decref(out);
		return -EIO;
	}
	if (store_dpus(h->store, &inv) < 0) {
		json_decref(doc);
		json_decref(out);
		return -EIO;
	}
	json_array_foreach(json_object_get(doc, "switches"), i, sw)
		json_array_foreach(json_object_get(sw, "dpus"), k, d) {
			json_t *want = reconcile_desired(doc, inv, json_string_value(d));

			if (json_is_null(json_object_get(want, "refused")) &&
			    (segment == NULL ||
			     model_find(json_object_get(want, "segments"), segment)))
				json_array_append(out, d);
			json_decref(want);
		}
	json_decref(doc);
	json_decref(inv);
	*ret = out;
	return 0;
}

/*
 * Adds to each VM port of 'ports' where it is and how it is there, from
 * the DPUs themselves: 'dpu' (the DPU that should hold it, null when none
 * does: its switch's DPU is refused or unknown), 'state' (up or down: its
 * link on the DPU; missing: the DPU does not have it; unknown: the DPU is
 * not connected), 'error' (why, for a person, or null) and 'stats' (the
 * DPU's counters of the port, or null).  A port the host wants but the
 * DPU could not open (a VM without a representor) so shows as missing,
 * with the DPU's reason, not as fine.
 */
static void port_live(struct hostd *h, json_t *doc, json_t *ports)
{
	json_t *inv = NULL, *sw, *d, *p;
	size_t i, k;

	json_array_foreach(ports, i, p) {
		json_object_set_new(p, "dpu", json_null());
		json_object_set_new(p, "state", json_string("unknown"));
		json_object_set_new(p, "error", json_string("no DPU of its switch is configured by "
							    "this host (dsectl dpu list says why)"));
		json_object_set_new(p, "stats", json_null());
	}
	if (json_array_size(ports) == 0 || store_dpus(h->store, &inv) < 0)
		return;
	json_array_foreach(json_object_get(doc, "switches"), i, sw)
		json_array_foreach(json_object_get(sw, "dpus"), k, d) {
			const char *name = json_string_value(d);
			json_t *want = reconcile_desired(doc, inv, name), *live = NULL, *x;
			const char *state = dpu_mgr_state(h->dpus, name);
			char err[600] = "";
			size_t n;
			int r = -ENOTCONN;

			if (!json_is_null(json_object_get(want, "refused"))) {
				json_decref(want);
				continue;
			}
			if (strcmp(state, "connected") == 0)
				r = dpu_mgr_call(h->dpus, name, "port.list", NULL, &live, NULL, err,
						 sizeof(err));
			json_array_foreach(json_object_get(want, "ports"), n, x) {
				json_t *mine = model_find(ports, json_string_value(
								     json_object_get(x, "name")));
				json_t *got = r == 0 ? model_find(live, json_string_value(json_object_get(
									    x, "name")))
						     : NULL;
				char why[800];

				if (mine == NULL)
					continue; /* an uplink */
				json_object_set_new(mine, "dpu", json_string(name));
				if (got) {
					json_object_set(mine, "state", json_object_get(got, "link"));
					json_object_set_new(mine, "error", json_null());
					json_object_set(mine, "stats", json_object_get(got, "stats"));
					continue;
				}
				if (r == 0) {
					const char *cfg = dpu_mgr_config_error(h->dpus, name);

					snprintf(why, sizeof(why),
						 "DPU %s does not have it%s%s", name,
						 cfg && cfg[0] ? ": " : " (yet: it is syncing)",
						 cfg && cfg[0] ? cfg : "");
					json_object_set_new(mine, "state", json_string("missing"));
				} else {
					snprintf(why, sizeof(why), "DPU %s is %s%s%s", name,
						 strcmp(state, "connected") == 0 ? "not answering"
										: state,
						 err[0] ? ": " : "", err);
				}
				json_object_set_new(mine, "error", json_string(why));
			}
			json_decref(live);
			json_decref(want);
		}
	json_decref(inv);
}

/* The entry of one DPU in the answer of a fan-out: {name, state, error (null if none)}. */
static json_t *dpu_entry(struct hostd *h, const char *name, const char *error)
{
	return json_pack("{s:s, s:s, s:s?}", "name", name, "state", dpu_mgr_state(h->dpus, name),
			 "error", error);
}

static int cmp_eval_order(const void *a, const void *b)
{
	json_int_t pa = json_integer_value(json_object_get(*(json_t *const *)a, "priority"));
	json_int_t pb = json_integer_value(json_object_get(*(json_t *const *)b, "priority"));
	json_int_t ia = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
	json_int_t ib = json_integer_value(json_object_get(*(json_t *const *)b, "id"));

	if (pa != pb)
		return pa > pb ? -1 : 1;
	return (ia > ib) - (ia < ib);
}

static int fw_rule_add(struct dse_rpc_call *call, json_t **ret)
{
	struct model_err e = {0};
	json_t *obj, *changes;
	int r;

	obj = object_of(call);
	r = config_fw_rule_add(ctx(call)->store, obj, &changes, &e);
	json_decref(obj);
	if (r < 0)
		return fail(call, &e, false);
	*ret = changes_json(changes);
	return 0;
}

static int fw_rule_del(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_fw_rule_del *a = call->args;
	struct model_err e = {0};
	json_t *changes;

	if (config_fw_rule_del(ctx(call)->store, a->id, &changes, &e) < 0)
		return fail(call, &e, false);
	*ret = changes_json(changes);
	return 0;
}

static int fw_rule_list(struct dse_rpc_call *call, json_t **ret)
{
	struct hostd *h = ctx(call);
	json_t *fw, *rules, *targets = NULL, *dpus = json_array(), *d, *r, *by_id;
	size_t i, k;

	if (config_fw_list(h->store, &fw) < 0) {
		json_decref(dpus);
		return store_error(call);
	}
	rules = json_deep_copy(json_object_get(fw, "rules"));
	json_decref(fw);
	if (h->dpus && fw_dpus(h, NULL, &targets) < 0) {
		json_decref(rules);
		json_decref(dpus);
		return store_error(call);
	}
	/* By id, so each DPU's list is matched in one pass (hosts hold thousands of rules). */
	by_id = json_object();
	json_array_foreach(rules, i, r) {
		char key[32];

		json_object_set_new(r, "hits", json_integer(0));
		json_object_set_new(r, "dpus", json_object());
		snprintf(key, sizeof(key), "%lld",
			 (long long)json_integer_value(json_object_get(r, "id")));
		json_object_set(by_id, key, r);
	}
	/* The counters are the DPUs': each counts what it judged. */
	json_array_foreach(targets, i, d) {
		const char *name = json_string_value(d);
		json_t *res = NULL, *x;
		char err[600];

		if (dpu_mgr_call(h->dpus, name, "fw.rule.list", NULL, &res, NULL, err,
				 sizeof(err)) < 0) {
			json_array_append_new(dpus, dpu_entry(h, name, err));
			continue;
		}
		json_array_append_new(dpus, dpu_entry(h, name, NULL));
		json_array_foreach(res, k, x) {
			char key[32];
			json_t *mine;
			json_int_t hits = json_integer_value(json_object_get(x, "hits"));

			snprintf(key, sizeof(key), "%lld",
				 (long long)json_integer_value(json_object_get(x, "id")));
			mine = json_object_get(by_id, key);
			if (mine == NULL)
				continue;
			json_object_set_new(mine, "hits",
					    json_integer(json_integer_value(
								 json_object_get(mine, "hits")) +
							 hits));
			json_object_set_new(json_object_get(mine, "dpus"), name,
					    json_integer(hits));
		}
		json_decref(res);
	}
	json_decref(targets);
	json_decref(by_id);
	/* In evaluation order, as dse-dpud lists them. */
	{
		size_t n = json_array_size(rules);
		json_t **v = calloc(n ? n : 1, sizeof(*v));

		for (i = 0; v && i < n; i++)
			v[i] = json_incref(json_array_get(rules, i));
		if (v) {
			qsort(v, n, sizeof(*v), cmp_eval_order);
			json_array_clear(rules);
			for (i = 0; i < n; i++)
				json_array_append_new(rules, v[i]);
			free(v);
		}
	}
	*ret = json_pack("{s:o, s:o}", "rules", rules, "dpus", dpus);
	return 0;
}

static int fw_policy_set(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_obj_hostd_fw_policy *a = call->args;
	const char *def = dse_api_enum_name(&dse_api_t_fw_default, a->default_);
	struct model_err e = {0};
	json_t *changes;

	if (config_fw_policy_set(ctx(call)->store, a->segment, def, &changes, &e) < 0)
		return fail(call, &e, false);
	*ret = changes_json(changes);
	return 0;
}

static int fw_policy_list(struct dse_rpc_call *call, json_t **ret)
{
	json_t *fw;

	if (config_fw_list(ctx(call)->store, &fw) < 0)
		return store_error(call);
	*ret = json_incref(json_object_get(fw, "policies"));
	json_decref(fw);
	return 0;
}

/*
 * Runs 'method' with the call's params (the filters, which the DPUs apply
 * as they are) on every DPU that holds the segment filter 'seg' (every DPU
 * the host configures without one).  Calls 'merge' with each answer; a DPU
 * that is not reached or refuses is an entry with its error in
 * '*ret_dpus'.  When every DPU reached refused the params, the call fails
 * with the first refusal.  The firewall's connection calls and the views
 * of the DPUs' FDB, TEPs and drops all go through it.
 */
static int dpu_fanout(struct dse_rpc_call *call, const char *method, const char *seg,
		       void (*merge)(json_t *res, const char *dpu, json_t *entry, void *arg),
		       void *arg, json_t **ret_dpus)
{
	struct hostd *h = ctx(call);
	json_t *targets = NULL, *dpus = json_array(), *d, *doc;
	char first[600] = "";
	unsigned reached = 0, refused = 0;
	size_t i;

	if (seg) {
		if (store_load(h->store, &doc) < 0) {
			json_decref(dpus);
			return store_error(call);
		}
		d = model_find(json_object_get(doc, "segments"), seg);
		json_decref(doc);
		if (d == NULL) {
			json_decref(dpus);
			return dse_rpc_error(call, DSE_RPC_APP_ERROR,
					     "no segment '%s' (dsectl segment list shows them)",
					     seg);
		}
	}
	if (h->dpus && fw_dpus(h, seg, &targets) < 0) {
		json_decref(dpus);
		return store_error(call);
	}
	json_array_foreach(targets, i, d) {
		const char *name = json_string_value(d);
		json_t *res = NULL, *error = NULL, *entry;
		char err[600];
		int r = dpu_mgr_call(h->dpus, name, method, call->params, &res, &error, err,
				     sizeof(err));

		if (r == 0 || r == -EREMOTEIO)
			reached++;
		if (r == -EREMOTEIO &&
		    json_integer_value(json_object_get(error, "code")) == DSE_RPC_INVALID_PARAMS) {
			refused++;
			if (!first[0])
				snprintf(first, sizeof(first), "%s", err);
		}
		json_decref(error);
		entry = dpu_entry(h, name, r < 0 ? err : NULL);
		if (r == 0)
			merge(res, name, entry, arg);
		json_array_append_new(dpus, entry);
		json_decref(res);
	}
	json_decref(targets);
	if (reached > 0 && refused == reached) {
		json_decref(dpus);
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS, "%s", first);
	}
	*ret_dpus = dpus;
	return 0;
}

struct conn_list_acc {
	json_t *conns;
	json_int_t total;
	size_t limit;
};

static void conn_list_merge(json_t *res, const char *dpu, json_t *entry, void *arg)
{
	struct conn_list_acc *acc = arg;
	json_t *c;
	size_t i;

	acc->total += json_integer_value(json_object_get(res, "total"));
	json_object_set(entry, "total", json_object_get(res, "total"));
	json_array_foreach(json_object_get(res, "conns"), i, c) {
		json_t *o;

		if (json_array_size(acc->conns) >= acc->limit)
			break;
		o = json_pack("{s:s}", "dpu", dpu);
		json_object_update(o, c);
		json_array_append_new(acc->conns, o);
	}
}

static int fw_conn_list(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_fw_conn_list *a = call->args;
	struct conn_list_acc acc = {.conns = json_array(), .limit = (size_t)a->limit};
	json_t *dpus;

	if (dpu_fanout(call, "fw.conn.list", a->has_segment ? a->segment : NULL, conn_list_merge,
			&acc, &dpus) < 0) {
		json_decref(acc.conns);
		return -EINVAL;
	}
	*ret = json_pack("{s:o, s:I, s:o}", "conns", acc.conns, "total", acc.total, "dpus", dpus);
	return 0;
}

static void conn_flush_merge(json_t *res, const char *dpu, json_t *entry, void *arg)
{
	(void)dpu;
	*(json_int_t *)arg += json_integer_value(json_object_get(res, "removed"));
	json_object_set(entry, "removed", json_object_get(res, "removed"));
}

static int fw_conn_flush(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_fw_conn_flush *a = call->args;
	json_int_t removed = 0;
	json_t *dpus;

	if (dpu_fanout(call, "fw.conn.flush", a->has_segment ? a->segment : NULL, conn_flush_merge,
			&removed, &dpus) < 0)
		return -EINVAL;
	*ret = json_pack("{s:I, s:o}", "removed", removed, "dpus", dpus);
	return 0;
}

/* The help, params and aliases of each are in api/hostd/. */
/* ---- what the DPUs hold: FDB, TEPs, drops ---- */

/* Appends each item of the list 'res' to 'arg' (a list), with its DPU. */
static void list_merge(json_t *res, const char *dpu, json_t *entry, void *arg)
{
	json_t *x;
	size_t i;

	json_object_set_new(entry, "count", json_integer((json_int_t)json_array_size(res)));
	json_array_foreach(res, i, x) {
		json_t *o = json_pack("{s:s}", "dpu", dpu);

		json_object_update(o, x);
		json_array_append_new(arg, o);
	}
}

static int fdb_list(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_fdb_list *a = call->args;
	json_t *all = json_array(), *dpus;

	if (dpu_fanout(call, "fdb.list", a->has_segment ? a->segment : NULL, list_merge, all,
		       &dpus) < 0) {
		json_decref(all);
		return -EINVAL;
	}
	*ret = json_pack("{s:o, s:o}", "entries", all, "dpus", dpus);
	return 0;
}

/* tep.show of each DPU: its TEP and peers, one entry per DPU that has a TEP. */
static void tep_merge(json_t *res, const char *dpu, json_t *entry, void *arg)
{
	json_t *o;

	(void)entry;
	if (!json_is_string(json_object_get(res, "ip")) &&
	    json_array_size(json_object_get(res, "peers")) == 0)
		return;
	o = json_pack("{s:s}", "dpu", dpu);
	json_object_update(o, res);
	json_array_append_new(arg, o);
}

static int tep_list(struct dse_rpc_call *call, json_t **ret)
{
	json_t *all = json_array(), *dpus;

	if (dpu_fanout(call, "tep.show", NULL, tep_merge, all, &dpus) < 0) {
		json_decref(all);
		return -EINVAL;
	}
	*ret = json_pack("{s:o, s:o}", "teps", all, "dpus", dpus);
	return 0;
}

/* The drops of stats.show: every reason a DPU counted, with its count. */
static void drop_merge(json_t *res, const char *dpu, json_t *entry, void *arg)
{
	const char *reason;
	json_t *n;

	json_object_set(entry, "drops_total", json_object_get(res, "drops_total"));
	json_object_foreach(json_object_get(res, "drops"), reason, n)
		if (json_integer_value(n) > 0)
			json_array_append_new(arg, json_pack("{s:s, s:s, s:O}", "dpu", dpu,
							     "reason", reason, "count", n));
}

static int drop_list(struct dse_rpc_call *call, json_t **ret)
{
	json_t *all = json_array(), *dpus;

	if (dpu_fanout(call, "stats.show", NULL, drop_merge, all, &dpus) < 0) {
		json_decref(all);
		return -EINVAL;
	}
	*ret = json_pack("{s:o, s:o}", "drops", all, "dpus", dpus);
	return 0;
}

const struct dse_rpc_method hostd_methods[] = {
	{"rpc.list", rpc_list},
	{"host.show", host_show},
	{"dpu.list", dpu_list},
	{"dpu.show", dpu_show},
	{"dpu.forget", dpu_forget},
	{"switch.add", switch_add},
	{"switch.set", switch_set},
	{"switch.del", switch_del},
	{"switch.list", switch_list},
	{"segment.add", segment_add},
	{"segment.set", segment_set},
	{"segment.del", segment_del},
	{"segment.list", segment_list},
	{"port.add", port_add},
	{"port.set", port_set},
	{"port.del", port_del},
	{"port.list", port_list},
	{"config.apply", config_apply_m},
	{"config.export", config_export_m},
	{"fw.rule.add", fw_rule_add},
	{"fw.rule.del", fw_rule_del},
	{"fw.rule.list", fw_rule_list},
	{"fw.policy.set", fw_policy_set},
	{"fw.policy.list", fw_policy_list},
	{"fw.conn.list", fw_conn_list},
	{"fw.conn.flush", fw_conn_flush},
	{"fdb.list", fdb_list},
	{"tep.list", tep_list},
	{"drop.list", drop_list},
	{NULL, NULL},
};
