/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON-RPC methods of dse-hostd, served on its Unix socket to dsectl.
 * Each is a thin edge over one action function (config.c, dpu.c): it reads
 * the params, calls the action and turns a failure into an error whose
 * message says what to do.  Changes answer {"changes": [...]}, the list of
 * what they changed (model_diff()).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "hostd.h"
#include "version.h"

static struct hostd *ctx(struct dse_rpc_call *call)
{
	return call->ctx;
}

/*
 * Turns a failed action into the call's error: the request was well formed
 * but the desired state it asks for is refused, and 'e' says why.
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

static int no_params(struct dse_rpc_call *call)
{
	return dse_rpc_params_only(call, NULL);
}

/* ---- rpc, status ---- */

static int rpc_list(struct dse_rpc_call *call, json_t **ret)
{
	json_t *a = json_array();

	if (no_params(call) < 0) {
		json_decref(a);
		return -EINVAL;
	}
	for (const struct dse_rpc_method *m = hostd_methods; m->name; m++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "name", m->name, "help", m->help));
	*ret = a;
	return 0;
}

static int status(struct dse_rpc_call *call, json_t **ret)
{
	struct hostd *h = ctx(call);
	unsigned links = 0, connected = 0;
	json_t *doc;

	if (no_params(call) < 0)
		return -EINVAL;
	if (store_load(h->store, &doc) < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "cannot read the store %s: check the disk and the log of "
				     "dse-hostd",
				     h->db_path);
	if (h->dpus)
		dpu_mgr_counts(h->dpus, &links, &connected);
	*ret = json_pack("{s:s, s:i, s:s, s:s, s:I, s:{s:s, s:i, s:I}, s:{s:i, s:i}, s:i, s:i, "
			 "s:i}",
			 "version", DSE_VERSION, "pid", (int)getpid(), "state_dir", h->state_dir,
			 "socket", h->socket_path, "uptime_s",
			 (json_int_t)((dse_clock_ns() - h->start_ns) / 1000000000ull), "store",
			 "path", h->db_path, "schema_version", store_schema_version(h->store),
			 "revision", (json_int_t)store_revision(h->store), "dpus", "links",
			 (int)links, "connected", (int)connected, "switches",
			 (int)json_array_size(json_object_get(doc, "switches")), "segments",
			 (int)json_array_size(json_object_get(doc, "segments")), "ports",
			 (int)json_array_size(json_object_get(doc, "ports")));
	json_decref(doc);
	return 0;
}

/* ---- DPUs ---- */

static int dpu_list(struct dse_rpc_call *call, json_t **ret)
{
	struct hostd *h = ctx(call);

	if (no_params(call) < 0)
		return -EINVAL;
	if (h->dpus == NULL) {
		*ret = json_array();
		return 0;
	}
	if (dpu_mgr_list(h->dpus, ret) < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "cannot read the store: check the disk and the log of dse-hostd");
	return 0;
}

static int dpu_show(struct dse_rpc_call *call, json_t **ret)
{
	struct hostd *h = ctx(call);
	const char *name;
	int r;

	if (dse_rpc_params_only(call, "name", NULL) < 0 ||
	    dse_rpc_param_str(call, "name", true, &name) < 0)
		return -EINVAL;
	r = h->dpus ? dpu_mgr_show(h->dpus, name, ret) : -ENOENT;
	if (r == -ENOENT)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "no DPU '%s' (dsectl dpu list shows them, by name or link)",
				     name);
	if (r < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "cannot read the store: check the disk and the log of dse-hostd");
	return 0;
}

static int dpu_forget(struct dse_rpc_call *call, json_t **ret)
{
	struct hostd *h = ctx(call);
	const char *name;
	char err[512];

	if (dse_rpc_params_only(call, "name", NULL) < 0 ||
	    dse_rpc_param_str(call, "name", true, &name) < 0)
		return -EINVAL;
	if (h->dpus == NULL)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "no DPU '%s'", name);
	if (dpu_mgr_forget(h->dpus, name, err, sizeof(err)) < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "%s", err);
	*ret = NULL;
	return 0;
}

/* ---- switches, segments, ports ---- */

/* Copies the params into the object a profile would hold. */
static json_t *object_of(struct dse_rpc_call *call)
{
	return json_deep_copy(call->params);
}

static int add(struct dse_rpc_call *call, enum config_kind kind, json_t **ret)
{
	struct model_err e = {0};
	json_t *obj = object_of(call), *changes;
	int r = config_add(ctx(call)->store, kind, obj, &changes, &e);

	json_decref(obj);
	if (r < 0)
		return fail(call, &e, false);
	*ret = changes_json(changes);
	return 0;
}

static int del(struct dse_rpc_call *call, enum config_kind kind, json_t **ret)
{
	struct model_err e = {0};
	const char *name;
	json_t *changes;
	int r;

	if (dse_rpc_params_only(call, "name", NULL) < 0 ||
	    dse_rpc_param_str(call, "name", true, &name) < 0)
		return -EINVAL;
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

static int list(struct dse_rpc_call *call, enum config_kind kind, json_t **ret)
{
	struct hostd *h = ctx(call);
	json_t *doc, *out;

	if (no_params(call) < 0)
		return -EINVAL;
	if (store_load(h->store, &doc) < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "cannot read the store: check the disk and the log of dse-hostd");
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
		break;
	}
	json_decref(doc);
	*ret = out;
	return 0;
}

static int switch_add(struct dse_rpc_call *call, json_t **ret)
{
	const char *s;

	if (dse_rpc_params_only(call, "name", "mode", "dpus", "uplinks", NULL) < 0 ||
	    dse_rpc_param_str(call, "name", true, &s) < 0 ||
	    dse_rpc_param_str(call, "mode", true, &s) < 0)
		return -EINVAL;
	if (!json_is_array(json_object_get(call->params, "dpus")))
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "parameter 'dpus' must be a list of DPU names");
	return add(call, CONFIG_SWITCH, ret);
}

static int segment_add(struct dse_rpc_call *call, json_t **ret)
{
	const char *s;

	if (dse_rpc_params_only(call, "name", "switch", "vlan", "vni", NULL) < 0 ||
	    dse_rpc_param_str(call, "name", true, &s) < 0 ||
	    dse_rpc_param_str(call, "switch", true, &s) < 0)
		return -EINVAL;
	return add(call, CONFIG_SEGMENT, ret);
}

static int port_add(struct dse_rpc_call *call, json_t **ret)
{
	const char *s;

	if (dse_rpc_params_only(call, "name", "mac", "segment", "vm", NULL) < 0 ||
	    dse_rpc_param_str(call, "name", true, &s) < 0 ||
	    dse_rpc_param_str(call, "mac", true, &s) < 0 ||
	    dse_rpc_param_str(call, "segment", true, &s) < 0 ||
	    dse_rpc_param_str(call, "vm", true, &s) < 0)
		return -EINVAL;
	return add(call, CONFIG_PORT, ret);
}

static int switch_del(struct dse_rpc_call *call, json_t **ret)
{
	return del(call, CONFIG_SWITCH, ret);
}

static int segment_del(struct dse_rpc_call *call, json_t **ret)
{
	return del(call, CONFIG_SEGMENT, ret);
}

static int port_del(struct dse_rpc_call *call, json_t **ret)
{
	return del(call, CONFIG_PORT, ret);
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

static int apply(struct dse_rpc_call *call, json_t **ret)
{
	struct model_err e = {0};
	bool dry_run = false;
	json_t *doc, *changes;
	int r;

	if (dse_rpc_params_only(call, "config", "dry_run", NULL) < 0 ||
	    dse_rpc_param_bool(call, "dry_run", false, &dry_run) == -EINVAL)
		return -EINVAL;
	doc = json_object_get(call->params, "config");
	if (doc == NULL)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "missing required parameter 'config' (the host profile)");
	r = config_apply(ctx(call)->store, doc, dry_run, &changes, &e);
	if (r < 0)
		return fail(call, &e, true);
	*ret = json_pack("{s:o, s:b, s:I}", "changes", changes, "dry_run", dry_run, "revision",
			 (json_int_t)store_revision(ctx(call)->store));
	return 0;
}

static int config_export_m(struct dse_rpc_call *call, json_t **ret)
{
	if (no_params(call) < 0)
		return -EINVAL;
	if (config_export(ctx(call)->store, ret) < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "cannot read the store: check the disk and the log of dse-hostd");
	return 0;
}

const struct dse_rpc_method hostd_methods[] = {
	{"rpc.list", rpc_list, "lists the methods with a line of help each"},
	{"status", status, "version, uptime, store revision, counts of DPUs and objects"},
	{"dpu.list", dpu_list, "lists the DPUs with identity, state, role and version"},
	{"dpu.show", dpu_show, "one DPU and what the host wants it to hold: name (or link)"},
	{"dpu.forget", dpu_forget, "forgets a DPU that is gone or was replaced: name"},
	{"switch.add", switch_add,
	 "adds a switch: name, mode (single|active-standby|independent), dpus, [uplinks]"},
	{"switch.del", switch_del, "removes a switch without segments: name"},
	{"switch.list", switch_list, "lists the switches"},
	{"segment.add", segment_add, "adds a segment: name, switch, vlan (1-4094) | vni"},
	{"segment.del", segment_del, "removes a segment without ports: name"},
	{"segment.list", segment_list, "lists the segments"},
	{"port.add", port_add, "adds a VM port: name, mac, segment, vm"},
	{"port.del", port_del, "removes a VM port: name"},
	{"port.list", port_list, "lists the VM ports"},
	{"apply", apply,
	 "makes the desired state equal to a host profile in one transaction: config, "
	 "[dry_run]"},
	{"config.export", config_export_m, "the host profile: dpus, switches, segments, ports"},
	{NULL, NULL, NULL},
};
