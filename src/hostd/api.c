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
#include "log.h"
#include "model.h"
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

/* ---- asking the DPUs: fan-outs ---- */

static bool list_has(json_t *list, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

struct fanout;

/* Builds a fan-out's answer from what the DPUs said: 0 and '*ret', or <0 after fanout_error(). */
typedef int fanout_finish_fn(struct fanout *f, json_t **ret);

/*
 * One call of an API method to several DPUs at once (dpu_mgr_call(): none
 * waits for another, nor the loop for any).  When the last one is in,
 * 'finish' builds the answer, sent as the method's deferred answer (or
 * returned at once when no call went out).
 */
struct fanout {
	struct hostd *h;
	struct dse_rpc_deferred *d; /* NULL until the method returned */
	fanout_finish_fn *finish;
	json_t *targets;            /* the DPUs' names, in order */
	json_t *dpus;               /* {name, state, error} of each, the same order */
	json_t *results;            /* name -> what it answered, for those that did */
	json_t *ctx;                /* the method's own (its params, what it listed...) */
	size_t limit;
	unsigned left;              /* calls not answered yet */
	unsigned reached, refused;  /* answered; of those, refused the params */
	char first[600];            /* the first refusal */
	int err_code;
	char err_msg[600];
	bool abandoned;             /* the answer could not be deferred: nobody waits */
};

/* One DPU's call of a fan-out. */
struct fanout_slot {
	struct fanout *f;
	size_t idx;
};

/* The entry of one DPU in the answer of a fan-out: {name, state, error (null if none)}. */
static json_t *dpu_entry(struct hostd *h, const char *name, const char *error)
{
	return json_pack("{s:s, s:s, s:s?}", "name", name, "state", dpu_mgr_state(h->dpus, name),
			 "error", error);
}

static int fanout_error(struct fanout *f, int code, const char *msg)
{
	f->err_code = code;
	snprintf(f->err_msg, sizeof(f->err_msg), "%s", msg);
	return -EINVAL;
}

static void fanout_free(struct fanout *f)
{
	json_decref(f->targets);
	json_decref(f->dpus);
	json_decref(f->results);
	json_decref(f->ctx);
	free(f);
}

/* Builds the answer: the refusal every DPU reached agreed on, or finish(). */
static int fanout_result(struct fanout *f, json_t **ret)
{
	if (f->reached > 0 && f->refused == f->reached)
		return fanout_error(f, DSE_RPC_INVALID_PARAMS, f->first);
	return f->finish(f, ret);
}

/* The last call is in: answers the deferred call and frees the fan-out. */
static void fanout_complete(struct fanout *f)
{
	json_t *res = NULL;

	if (fanout_result(f, &res) < 0)
		dse_rpc_deferred_error(f->d, f->err_code, "%s", f->err_msg);
	else
		dse_rpc_deferred_reply(f->d, res);
	fanout_free(f);
}

static void fanout_done(void *arg, int status, json_t *result, json_t *error, const char *err)
{
	struct fanout_slot *slot = arg;
	struct fanout *f = slot->f;
	json_t *entry = json_array_get(f->dpus, slot->idx);
	const char *name = json_string_value(json_array_get(f->targets, slot->idx));

	free(slot);
	if (status == 0 || status == -EREMOTEIO)
		f->reached++;
	if (status == -EREMOTEIO &&
	    json_integer_value(json_object_get(error, "code")) == DSE_RPC_INVALID_PARAMS) {
		f->refused++;
		if (!f->first[0])
			snprintf(f->first, sizeof(f->first), "%s", err);
	}
	if (status == 0) {
		json_object_set(f->results, name, result ? result : json_null());
	} else {
		json_object_set_new(entry, "error", json_string(err));
		/* What became of the DPU meanwhile (found unreachable, say). */
		json_object_set_new(entry, "state", json_string(dpu_mgr_state(f->h->dpus, name)));
	}
	if (--f->left > 0)
		return;
	if (f->d != NULL)
		fanout_complete(f);
	else if (f->abandoned)
		fanout_free(f);
}

/*
 * Calls 'method' with 'params' (NULL: none) on each DPU of 'targets' (a
 * list of names, stolen; duplicates are asked once) and answers the call
 * with 'finish' once all answered or timed out ('ctx' and 'limit' are
 * kept for it; 'ctx' stolen).  A DPU not connected is an entry with why.
 * Returns what the method returns: 0 with '*ret' when nothing had to be
 * waited for, DSE_RPC_DEFERRED, or an error.
 */
static int fanout_run(struct dse_rpc_call *call, const char *method, json_t *params,
		      json_t *targets, fanout_finish_fn *finish, json_t *ctx_obj, size_t limit,
		      json_t **ret)
{
	struct hostd *h = ctx(call);
	struct fanout *f = calloc(1, sizeof(*f));
	json_t *d;
	size_t i;
	int r;

	if (f == NULL) {
		json_decref(targets);
		json_decref(ctx_obj);
		return -ENOMEM;
	}
	f->h = h;
	f->finish = finish;
	f->targets = json_array();
	f->dpus = json_array();
	f->results = json_object();
	f->ctx = ctx_obj ? ctx_obj : json_object();
	f->limit = limit;
	json_array_foreach(targets, i, d)
		if (json_is_string(d) && !list_has(f->targets, json_string_value(d)))
			json_array_append(f->targets, d);
	json_decref(targets);
	if (h->dpus && json_array_size(f->targets) > 0 && !call->deferrable) {
		fanout_free(f);
		return dse_rpc_error(call, DSE_RPC_INVALID_REQUEST,
				     "%s asks the DPUs and answers when they have: it can not be "
				     "an entry of a batch, call it on its own",
				     call->api ? call->api->name : method);
	}
	json_array_foreach(f->targets, i, d) {
		const char *name = json_string_value(d);
		struct fanout_slot *slot = malloc(sizeof(*slot));
		char err[600];

		json_array_append_new(f->dpus, dpu_entry(h, name, NULL));
		if (slot == NULL) {
			json_object_set_new(json_array_get(f->dpus, i), "error",
					    json_string("out of memory"));
			continue;
		}
		*slot = (struct fanout_slot){.f = f, .idx = i};
		r = h->dpus ? dpu_mgr_call(h->dpus, name, method, params, fanout_done, slot, err,
					   sizeof(err))
			    : -ENOTCONN;
		if (r < 0) {
			free(slot);
			json_object_set_new(json_array_get(f->dpus, i), "error",
					    json_string(h->dpus ? err : "no DPU manager"));
			continue;
		}
		f->left++;
	}
	if (f->left == 0) {
		r = fanout_result(f, ret);
		if (r < 0)
			dse_rpc_error(call, f->err_code, "%s", f->err_msg);
		fanout_free(f);
		return r;
	}
	f->d = dse_rpc_defer(call);
	if (f->d == NULL) {
		/* Only without memory: the calls complete into the void (f->d stays NULL). */
		DSE_LOG_WARN("hostd", "%s: cannot defer the answer: %s", method, strerror(errno));
		f->abandoned = true;
		return dse_rpc_error(call, DSE_RPC_INTERNAL_ERROR, "out of memory");
	}
	return DSE_RPC_DEFERRED;
}

static int port_live(struct dse_rpc_call *call, json_t *doc, json_t *ports, json_t **ret);

/* Calls 'merge(result, dpu, entry, arg)' for each DPU that answered, in the targets' order. */
static void fanout_merge(struct fanout *f,
			 void (*merge)(json_t *res, const char *dpu, json_t *entry, void *arg),
			 void *arg)
{
	json_t *d;
	size_t i;

	json_array_foreach(f->targets, i, d) {
		json_t *res = json_object_get(f->results, json_string_value(d));

		if (res)
			merge(res, json_string_value(d), json_array_get(f->dpus, i), arg);
	}
}


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
			return port_live(call, doc, out, ret);
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
/* The answer of port.list, once the DPUs of the ports' switches answered theirs. */
static int port_live_finish(struct fanout *f, json_t **ret)
{
	struct hostd *h = f->h;
	json_t *doc = json_object_get(f->ctx, "doc"), *ports = json_object_get(f->ctx, "ports");
	json_t *inv = NULL, *d;
	size_t i;

	if (store_dpus(h->store, &inv) < 0) {
		*ret = json_incref(ports);
		return 0;
	}
	json_array_foreach(f->targets, i, d) {
		const char *name = json_string_value(d);
		json_t *want = reconcile_desired(doc, inv, name), *x;
		json_t *live = json_object_get(f->results, name);
		const char *err = json_string_value(json_object_get(json_array_get(f->dpus, i),
								    "error"));
		size_t n;

		json_array_foreach(json_object_get(want, "ports"), n, x) {
			const char *pname = json_string_value(json_object_get(x, "name"));
			json_t *mine = model_find(ports, pname);
			json_t *got = live ? model_find(live, pname) : NULL;
			char why[800];

			if (mine == NULL)
				continue; /* an uplink */
			/* A pair's standby holds the port too: the port is the active DPU's. */
			if (strcmp(json_string_value(json_object_get(want, "role")), "standby") == 0 &&
			    json_is_string(json_object_get(mine, "dpu")))
				continue;
			json_object_set_new(mine, "dpu", json_string(name));
			if (got) {
				json_object_set(mine, "state", json_object_get(got, "link"));
				json_object_set_new(mine, "error", json_null());
				json_object_set(mine, "stats", json_object_get(got, "stats"));
				continue;
			}
			if (live) {
				const char *cfg = dpu_mgr_config_error(h->dpus, name);

				snprintf(why, sizeof(why), "DPU %s does not have it%s%s", name,
					 cfg && cfg[0] ? ": " : " (yet: it is syncing)",
					 cfg && cfg[0] ? cfg : "");
				json_object_set_new(mine, "state", json_string("missing"));
			} else {
				snprintf(why, sizeof(why), "%s", err ? err : "the DPU did not answer");
			}
			json_object_set_new(mine, "error", json_string(why));
		}
		json_decref(want);
	}
	json_decref(inv);
	*ret = json_incref(ports);
	return 0;
}

/*
 * Adds to each VM port of 'ports' (stolen, as 'doc') where it is and how
 * it is there, from the DPUs themselves (port.list of each): 'dpu' (the
 * DPU that should hold it, null when none does: its switch's DPU is
 * refused or unknown), 'state' (up or down: its link on the DPU; missing:
 * the DPU does not have it; unknown: the DPU is not connected), 'error'
 * (why, for a person, or null) and 'stats' (the DPU's counters of the
 * port, or null).  A port the host wants but the DPU could not open (a VM
 * without a representor) so shows as missing, with the DPU's reason, not
 * as fine.
 */
static int port_live(struct dse_rpc_call *call, json_t *doc, json_t *ports, json_t **ret)
{
	struct hostd *h = ctx(call);
	json_t *inv = NULL, *sw, *d, *p, *targets = json_array();
	size_t i, k;

	json_array_foreach(ports, i, p) {
		json_object_set_new(p, "dpu", json_null());
		json_object_set_new(p, "state", json_string("unknown"));
		json_object_set_new(p, "error", json_string("no DPU of its switch is configured by "
							    "this host (dsectl dpu list says why)"));
		json_object_set_new(p, "stats", json_null());
	}
	if (json_array_size(ports) > 0 && store_dpus(h->store, &inv) == 0) {
		json_array_foreach(json_object_get(doc, "switches"), i, sw)
			json_array_foreach(json_object_get(sw, "dpus"), k, d) {
				json_t *want = reconcile_desired(doc, inv, json_string_value(d));

				if (json_is_null(json_object_get(want, "refused")))
					json_array_append(targets, d);
				json_decref(want);
			}
		json_decref(inv);
	}
	return fanout_run(call, "port.list", NULL, targets, port_live_finish,
			  json_pack("{s:o, s:o}", "doc", doc, "ports", ports), 0, ret);
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

/* Adds each DPU's hit counts of fw.rule.list to the host's rules (ctx "by_id"). */
static void hits_merge(json_t *res, const char *dpu, json_t *entry, void *arg)
{
	json_t *by_id = arg, *x;
	size_t k;

	(void)entry;
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
				    json_integer(json_integer_value(json_object_get(mine, "hits")) +
						 hits));
		json_object_set_new(json_object_get(mine, "dpus"), dpu, json_integer(hits));
	}
}

static int fw_rule_list_finish(struct fanout *f, json_t **ret)
{
	json_t *rules = json_object_get(f->ctx, "rules");
	size_t i, n = json_array_size(rules);
	json_t **v;

	/* The counters are the DPUs': each counts what it judged. */
	fanout_merge(f, hits_merge, json_object_get(f->ctx, "by_id"));
	/* In evaluation order, as dse-dpud lists them. */
	v = calloc(n ? n : 1, sizeof(*v));
	for (i = 0; v && i < n; i++)
		v[i] = json_incref(json_array_get(rules, i));
	if (v) {
		qsort(v, n, sizeof(*v), cmp_eval_order);
		json_array_clear(rules);
		for (i = 0; i < n; i++)
			json_array_append_new(rules, v[i]);
		free(v);
	}
	*ret = json_pack("{s:O, s:O}", "rules", rules, "dpus", f->dpus);
	return 0;
}

static int fw_rule_list(struct dse_rpc_call *call, json_t **ret)
{
	struct hostd *h = ctx(call);
	json_t *fw, *rules, *targets = NULL, *r, *by_id;
	size_t i;

	if (config_fw_list(h->store, &fw) < 0)
		return store_error(call);
	rules = json_deep_copy(json_object_get(fw, "rules"));
	json_decref(fw);
	if (h->dpus && fw_dpus(h, NULL, &targets) < 0) {
		json_decref(rules);
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
	return fanout_run(call, "fw.rule.list", NULL, targets ? targets : json_array(),
			  fw_rule_list_finish,
			  json_pack("{s:o, s:o}", "rules", rules, "by_id", by_id), 0, ret);
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
 * the host configures without one), and answers with 'finish'.  A DPU that
 * is not reached or refuses is an entry with its error in the answer's
 * 'dpus'.  When every DPU reached refused the params, the call fails with
 * the first refusal.  The firewall's connection calls and the views of the
 * DPUs' FDB, TEPs and drops all go through it.
 */
static int dpu_fanout(struct dse_rpc_call *call, const char *method, const char *seg,
		      fanout_finish_fn *finish, size_t limit, json_t **ret)
{
	struct hostd *h = ctx(call);
	json_t *targets = NULL, *d, *doc;

	if (seg) {
		if (store_load(h->store, &doc) < 0)
			return store_error(call);
		d = model_find(json_object_get(doc, "segments"), seg);
		json_decref(doc);
		if (d == NULL)
			return dse_rpc_error(call, DSE_RPC_APP_ERROR,
					     "no segment '%s' (dsectl segment list shows them)",
					     seg);
	}
	if (h->dpus && fw_dpus(h, seg, &targets) < 0)
		return store_error(call);
	return fanout_run(call, method, call->params, targets ? targets : json_array(), finish,
			  NULL, limit, ret);
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

static int fw_conn_list_finish(struct fanout *f, json_t **ret)
{
	struct conn_list_acc acc = {.conns = json_array(), .limit = f->limit};

	fanout_merge(f, conn_list_merge, &acc);
	*ret = json_pack("{s:o, s:I, s:O}", "conns", acc.conns, "total", acc.total, "dpus",
			 f->dpus);
	return 0;
}

static int fw_conn_list(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_fw_conn_list *a = call->args;

	return dpu_fanout(call, "fw.conn.list", a->has_segment ? a->segment : NULL,
			  fw_conn_list_finish, (size_t)a->limit, ret);
}

static void conn_flush_merge(json_t *res, const char *dpu, json_t *entry, void *arg)
{
	(void)dpu;
	*(json_int_t *)arg += json_integer_value(json_object_get(res, "removed"));
	json_object_set(entry, "removed", json_object_get(res, "removed"));
}

static int fw_conn_flush_finish(struct fanout *f, json_t **ret)
{
	json_int_t removed = 0;

	fanout_merge(f, conn_flush_merge, &removed);
	*ret = json_pack("{s:I, s:O}", "removed", removed, "dpus", f->dpus);
	return 0;
}

static int fw_conn_flush(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_fw_conn_flush *a = call->args;

	return dpu_fanout(call, "fw.conn.flush", a->has_segment ? a->segment : NULL,
			  fw_conn_flush_finish, 0, ret);
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

static int fdb_list_finish(struct fanout *f, json_t **ret)
{
	json_t *all = json_array();

	fanout_merge(f, list_merge, all);
	*ret = json_pack("{s:o, s:O}", "entries", all, "dpus", f->dpus);
	return 0;
}

static int fdb_list(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_fdb_list *a = call->args;

	return dpu_fanout(call, "fdb.list", a->has_segment ? a->segment : NULL, fdb_list_finish, 0,
			  ret);
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

static int tep_list_finish(struct fanout *f, json_t **ret)
{
	json_t *all = json_array();

	fanout_merge(f, tep_merge, all);
	*ret = json_pack("{s:o, s:O}", "teps", all, "dpus", f->dpus);
	return 0;
}

static int tep_list(struct dse_rpc_call *call, json_t **ret)
{
	return dpu_fanout(call, "tep.show", NULL, tep_list_finish, 0, ret);
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

static int drop_list_finish(struct fanout *f, json_t **ret)
{
	json_t *all = json_array();

	fanout_merge(f, drop_merge, all);
	*ret = json_pack("{s:o, s:O}", "drops", all, "dpus", f->dpus);
	return 0;
}

static int drop_list(struct dse_rpc_call *call, json_t **ret)
{
	return dpu_fanout(call, "stats.show", NULL, drop_list_finish, 0, ret);
}

/* ---- high availability ---- */

static int ha_show(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_ha_show *a = call->args;
	char err[600];
	int r;

	if (ctx(call)->dpus == NULL)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "no DPU manager");
	r = dpu_mgr_ha_show(ctx(call)->dpus, a->has_switch ? a->switch_ : NULL, ret, err,
			    sizeof(err));
	return r < 0 ? dse_rpc_error(call, DSE_RPC_APP_ERROR, "%s", err) : 0;
}

static int ha_event_list(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_ha_event_list *a = call->args;

	if (store_ha_events(ctx(call)->store, a->has_switch ? a->switch_ : NULL,
			    (unsigned)a->limit, ret) < 0)
		return store_error(call);
	return 0;
}

static int ha_failover(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_hostd_ha_failover *a = call->args;
	char err[600];
	int r;

	if (ctx(call)->dpus == NULL)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "no DPU manager");
	r = dpu_mgr_ha_failover(ctx(call)->dpus, a->switch_, a->has_to ? a->to : NULL, a->force,
				ret, err, sizeof(err));
	return r < 0 ? dse_rpc_error(call, DSE_RPC_APP_ERROR, "%s", err) : 0;
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
	{"ha.show", ha_show},
	{"ha.event.list", ha_event_list},
	{"ha.failover", ha_failover},
	{NULL, NULL},
};
