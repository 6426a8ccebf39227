/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON-RPC methods of dse-dpud.  Each method is the one action function
 * for its operation: the socket, the startup config and the tests all call
 * it.  Handlers validate everything before changing anything, so a refused
 * call leaves the datapath as it was.
 */
#include "rpc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_graph.h>
#include <rte_graph_worker.h>
#include <rte_hash.h>
#include <rte_random.h>

#include "clock.h"
#include "dp.h"
#include "module.h"
#include "parse.h"
#include "log.h"
#include "version.h"

/* ---- identity and config generation ---- */

static const char *const identity_fields[] = {DSE_IDENTITY_FIELDS, NULL};

static json_t *identity;         /* the --identity object, NULL without one */
static char identity_name[256];  /* the certificate's CN; empty: use the serial */
static uint64_t config_gen;      /* see dse_dpud_config_generation() */
/*
 * Random per process start: a generation is only comparable within one
 * boot id, so a restarted datapath whose counter happens to match what the
 * host recorded is still recognised as new.
 */
static uint64_t boot_id;

static uint64_t get_boot_id(void)
{
	while (boot_id == 0)
		boot_id = rte_rand() & ((1ull << 53) - 1); /* exact in JSON numbers */
	return boot_id;
}

/*
 * Counts a successful configuration change.  The datapath's flow
 * generation is not this: it moves for FDB learning and flushes too.
 */
static void config_changed(void)
{
	config_gen++;
}

void dse_dpud_config_changed(void)
{
	config_changed();
}

uint64_t dse_dpud_config_generation(void)
{
	return config_gen;
}

int dse_dpud_identity_set_name(const char *name)
{
	if (name == NULL) {
		identity_name[0] = '\0';
		return 0;
	}
	if (strlen(name) >= sizeof(identity_name))
		return -ENAMETOOLONG;
	snprintf(identity_name, sizeof(identity_name), "%s", name);
	return 0;
}

void dse_dpud_identity_free(void)
{
	json_decref(identity);
	identity = NULL;
}

int dse_dpud_identity_load(const char *path, char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *v;
	const char *key;

	if (o == NULL) {
		snprintf(err, err_len, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(o)) {
		snprintf(err, err_len, "%s: must be a JSON object with the strings vendor, model, "
				       "hw_version, fw_version, serial and pci",
			 path);
		json_decref(o);
		return -EINVAL;
	}
	json_object_foreach(o, key, v) {
		bool known = false;

		for (const char *const *f = identity_fields; *f; f++)
			known |= strcmp(*f, key) == 0;
		if (!known) {
			snprintf(err, err_len, "%s: unknown field '%.64s' (the fields are vendor, "
					       "model, hw_version, fw_version, serial and pci)",
				 path, key);
			json_decref(o);
			return -EINVAL;
		}
	}
	for (const char *const *f = identity_fields; *f; f++) {
		const char *val;
		size_t len;

		v = json_object_get(o, *f);
		if (v == NULL) {
			snprintf(err, err_len, "%s: field '%s' is missing", path, *f);
			json_decref(o);
			return -EINVAL;
		}
		val = json_string_value(v);
		len = val ? strlen(val) : 0;
		if (val == NULL || len == 0 || len > DSE_IDENTITY_MAX ||
		    len != json_string_length(v)) {
			snprintf(err, err_len,
				 "%s: field '%s' must be a string of 1 to %d characters", path, *f,
				 DSE_IDENTITY_MAX);
			json_decref(o);
			return -EINVAL;
		}
		for (size_t i = 0; i < len; i++) {
			if (!isprint((unsigned char)val[i])) {
				snprintf(err, err_len,
					 "%s: field '%s' may hold only printable ASCII characters",
					 path, *f);
				json_decref(o);
				return -EINVAL;
			}
		}
	}
	json_decref(identity);
	identity = o;
	return 0;
}

/* ---- parameters shared by the modules' methods ---- */

int dse_dpud_find_segment(struct dse_rpc_call *call, const char *name, uint16_t *ret)
{
	*ret = dp_segment_find(name);
	if (*ret == DSE_NO_SEGMENT)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "no segment '%s' (segment.list shows them)", name);
	return 0;
}

int dse_dpud_find_port(struct dse_rpc_call *call, const char *name, uint16_t *ret)
{
	*ret = dp_port_find(name);
	if (*ret == DSE_NO_PORT)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "no port '%s' (port.list shows them)",
				     name);
	return 0;
}

json_t *dse_dpud_mac_json(const uint8_t *mac)
{
	char buf[RTE_ETHER_ADDR_FMT_SIZE];

	/* Lower case, as the API takes and the docs write addresses. */
	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	return json_string(buf);
}

/* ---- rpc ---- */

static int rpc_list(struct dse_rpc_call *call, json_t **ret)
{
	*ret = dse_rpc_list_json(call->srv, call->remote);
	return 0;
}

/* The TLS control channel's port and counters; null when it is off. */
static json_t *mgmt_json(const struct dse_rpc_server *srv)
{
	struct dse_rpc_tls_stats st;
	int port = srv ? dse_rpc_tls_port(srv) : -ENOTCONN;

	if (port < 0)
		return json_null();
	dse_rpc_server_tls_stats(srv, &st);
	return json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "port", port, "accepted", (json_int_t)st.accepted, "established",
			 (json_int_t)st.established, "active", (json_int_t)st.active,
			 "handshaking", (json_int_t)st.handshaking, "refused",
			 (json_int_t)st.refused, "refused_not_tls", (json_int_t)st.refused_not_tls,
			 "refused_cert", (json_int_t)st.refused_cert, "refused_role",
			 (json_int_t)st.refused_role, "refused_timeout",
			 (json_int_t)st.refused_timeout, "refused_closed",
			 (json_int_t)st.refused_closed, "refused_rate", (json_int_t)st.refused_rate,
			 "refused_evicted", (json_int_t)st.refused_evicted, "refused_full",
			 (json_int_t)st.refused_full, "refused_other",
			 (json_int_t)st.refused_other);
}

static int dp_info(struct dse_rpc_call *call, json_t **ret)
{
	unsigned n_ports = 0, n_segs = 0;

	for (int i = 0; i < DSE_MAX_PORTS; i++)
		n_ports += dp.ports[i].used;
	for (int i = 0; i < DSE_MAX_SEGMENTS; i++)
		n_segs += dp.segments[i].used;
	*ret = json_pack("{s:s, s:i, s:i, s:b, s:i, s:i, s:i, s:I, s:i, s:i}", "version",
			 DSE_VERSION, "worker_lcore", (int)dp.workers[0].lcore, "workers",
			 (int)dp.n_workers, "idle_sleep", dp.idle_sleep,
			 "idle_sleep_max_us", (int)dp.idle_sleep_max_us, "ports", n_ports,
			 "segments", n_segs, "flow_generation", (json_int_t)dp.flow_gen,
			 "mbufs_free", (int)rte_mempool_avail_count(dp.pool), "mbufs_total",
			 (int)dp.pool->size);
	json_object_set_new(*ret, "config_generation", json_integer((json_int_t)config_gen));
	json_object_set_new(*ret, "boot_id", json_integer((json_int_t)get_boot_id()));
	json_object_set_new(*ret, "mgmt", mgmt_json(call->srv));
	if (call->srv)
		json_object_set_new(*ret, "rpc", dse_rpc_server_stats_json(call->srv));
	return 0;
}

static int dp_identity(struct dse_rpc_call *call, json_t **ret)
{
	json_t *o;

	if (identity == NULL)
		return dse_rpc_error(
			call, DSE_RPC_APP_ERROR,
			"this dse-dpud has no identity: start it with --identity FILE");
	o = json_deep_copy(identity);
	json_object_set_new(o, "name",
			    json_string(identity_name[0] ? identity_name
							 : json_string_value(json_object_get(
								   identity, "serial"))));
	json_object_set_new(o, "generation", json_integer((json_int_t)config_gen));
	json_object_set_new(o, "boot_id", json_integer((json_int_t)get_boot_id()));
	*ret = o;
	return 0;
}

/* ---- statistics ---- */

/* The core's part of stats.show: every node's counters and every drop reason's. */
/* Each worker: its lcore, the ports it polls, what it handed over and learned through others. */
static json_t *workers_json(void)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < dp.n_workers; i++) {
		const struct dse_worker *w = &dp.workers[i];

		json_array_append_new(
		    a, json_pack("{s:i, s:i, s:i, s:I, s:I, s:I, s:I}", "id", (int)w->id, "lcore",
				 (int)w->lcore, "rx_ports", (int)w->n_rx, "handoff_in",
				 (json_int_t)w->handoff_in, "handoff_out", (json_int_t)w->handoff_out,
				 "learn_sent", (json_int_t)w->learn_sent, "learn_lost",
				 (json_int_t)w->learn_lost));
	}
	return a;
}

static void core_stats(json_t *stats)
{
	const struct dse_drop_reason *const *drops;
	unsigned n_drops = dse_drops(&drops), n_nodes;
	json_t *nodes = json_array(), *by_reason = json_object();
	const char *const *names;
	uint64_t total = 0;

	n_nodes = dse_node_names(&names);
	for (unsigned i = 0; i < n_nodes; i++) {
		struct dp_node_stats ns;

		if (dp_node_stats(names[i], &ns) < 0)
			continue;
		json_array_append_new(nodes, json_pack("{s:s, s:I, s:I, s:I}", "name", names[i],
						       "packets", (json_int_t)ns.objs, "calls",
						       (json_int_t)ns.calls, "cycles",
						       (json_int_t)ns.cycles));
	}
	for (unsigned d = 0; d < n_drops; d++) {
		uint64_t c = 0;

		if (drops[d]->count) {
			c = drops[d]->count();
		} else {
			char node[RTE_NODE_NAMESIZE];
			struct dp_node_stats ns;

			snprintf(node, sizeof(node), "dse_drop_%s", drops[d]->name);
			if (dp_node_stats(node, &ns) == 0)
				c = ns.objs;
		}
		json_object_set_new(by_reason, drops[d]->name, json_integer((json_int_t)c));
		total += c;
	}
	json_object_set_new(stats, "nodes", nodes);
	json_object_set_new(stats, "drops", by_reason);
	json_object_set_new(stats, "drops_total", json_integer((json_int_t)total));
	json_object_set_new(stats, "workers", workers_json());
}

static int stats_get(struct dse_rpc_call *call, json_t **ret)
{
	RTE_SET_USED(call);
	*ret = json_object();
	dse_modules_stats(*ret);
	return 0;
}

static int drops_list(struct dse_rpc_call *call, json_t **ret)
{
	RTE_SET_USED(call);
	const struct dse_drop_reason *const *drops;
	unsigned n = dse_drops(&drops);
	json_t *a;

	a = json_array();
	for (unsigned d = 0; d < n; d++) {
		char node[RTE_NODE_NAMESIZE];

		snprintf(node, sizeof(node), "dse_drop_%s", drops[d]->name);
		json_array_append_new(a, json_pack("{s:s, s:s?, s:s}", "name", drops[d]->name,
						   "node", drops[d]->count ? NULL : node,
						   "description", drops[d]->desc));
	}
	*ret = a;
	return 0;
}

/* ---- log level and the test clock ---- */

static int log_show(struct dse_rpc_call *call, json_t **ret)
{
	RTE_SET_USED(call);
	*ret = json_pack("{s:s}", "level", dse_log_level_name(dse_log_get_level()));
	return 0;
}

static int log_set(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_log_set *a = call->args;

	/* The schema's values are syslog's, as enum dse_log_level's. */
	if (a->has_level)
		dse_log_set_level((enum dse_log_level)a->level);
	return log_show(call, ret);
}

static json_t *clock_json(void)
{
	return json_pack("{s:I, s:b}", "now_ns", (json_int_t)dse_clock_ns(), "frozen",
			 dse_clock_frozen());
}

static int clock_get(struct dse_rpc_call *call, json_t **ret)
{
	RTE_SET_USED(call);
	*ret = clock_json();
	return 0;
}

static int clock_freeze(struct dse_rpc_call *call, json_t **ret)
{
	RTE_SET_USED(call);
	dse_clock_freeze();
	*ret = clock_json();
	return 0;
}

static int clock_release(struct dse_rpc_call *call, json_t **ret)
{
	RTE_SET_USED(call);
	dse_clock_release();
	*ret = clock_json();
	return 0;
}

/* Runs the timers due at the new time at once, so a test sees their effect on return. */
static int clock_tick(void *arg)
{
	RTE_SET_USED(arg);
	for (unsigned i = 0; i < dp.n_workers; i++) {
		dp.workers[i].now_ns = dse_clock_ns();
		dp.workers[i].now_s = (uint32_t)(dp.workers[i].now_ns / 1000000000ull);
	}
	/* A whole ageing pass at once; each aged entry retires its own decisions. */
	dse_fdb_age(dp.fdb, dp.workers[0].now_s);
	return 0;
}

static int clock_advance(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_clock_advance *a = call->args;

	dse_clock_advance((uint64_t)(a->seconds * 1e9));
	dp_call(clock_tick, NULL);
	*ret = clock_json();
	return 0;
}

/* ---- config ---- */

json_t *dse_dpud_call_json(const char *method, json_t *params)
{
	return json_pack("{s:s, s:o}", "method", method, "params", params);
}

/* The core's part of config.save: the log level, when it is not the default. */
static int core_config_save(json_t *calls)
{
	if (dse_log_get_level() != DSE_LOG_NOTICE)
		json_array_append_new(calls, dse_dpud_call_json(
						     "log.set",
						     json_pack("{s:s}", "level",
							       dse_log_level_name(dse_log_get_level()))));
	return 0;
}

static int config_save(struct dse_rpc_call *call, json_t **ret)
{
	RTE_SET_USED(call);
	json_t *a;
	int r;

	a = json_array();
	r = dse_modules_config_save(a);
	if (r < 0) {
		json_decref(a);
		return r;
	}
	*ret = a;
	return 0;
}

int dse_config_replay(struct dse_rpc_server *srv, const char *path)
{
	json_error_t jerr;
	json_t *calls = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *c;
	size_t i;

	if (calls == NULL) {
		DSE_LOG_ERR("config", "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_array(calls)) {
		DSE_LOG_ERR("config", "%s: must be a JSON array of {\"method\", \"params\"} calls",
			    path);
		json_decref(calls);
		return -EINVAL;
	}
	json_array_foreach(calls, i, c) {
		json_t *req, *resp, *err;
		const char *method = json_string_value(json_object_get(c, "method"));

		if (!json_is_object(c) || method == NULL) {
			DSE_LOG_ERR("config", "%s: call %zu has no \"method\" string", path, i + 1);
			json_decref(calls);
			return -EINVAL;
		}
		req = json_deep_copy(c);
		json_object_set_new(req, "jsonrpc", json_string("2.0"));
		json_object_set_new(req, "id", json_integer((json_int_t)i + 1));
		resp = dse_rpc_dispatch(srv, req);
		json_decref(req);
		err = resp ? json_object_get(resp, "error") : NULL;
		if (err) {
			DSE_LOG_ERR("config", "%s: call %zu (%s) failed: %s", path, i + 1, method,
				    json_string_value(json_object_get(err, "message")));
			json_decref(resp);
			json_decref(calls);
			return -EINVAL;
		}
		json_decref(resp);
	}
	json_decref(calls);
	return 0;
}

/* ---- the core module ---- */

static const struct dse_rpc_method core_methods[] = {
	{"rpc.list", rpc_list},
	{"dp.show", dp_info},
	{"dp.identity.show", dp_identity},
	{"stats.show", stats_get},
	{"drops.list", drops_list},
	{"log.show", log_show},
	{"log.set", log_set},
	{"config.save", config_save},
	{NULL, NULL},
};

/* Only with --test-clock, and only over the Unix socket. */
static const struct dse_rpc_method core_test_methods[] = {
	{"clock.show", clock_get},
	{"clock.freeze", clock_freeze},
	{"clock.release", clock_release},
	{"clock.advance", clock_advance},
	{NULL, NULL},
};

/* The parser's drop reasons, then the core nodes' own (made by core_init()). */
static struct dse_drop_reason core_drops[DSE_PARSE__MAX - 1 + 4 + 1];

static int core_init(void)
{
	unsigned n = 0;

	for (int r = 1; r < DSE_PARSE__MAX; r++)
		core_drops[n++] = (struct dse_drop_reason){dse_parse_name(r), dse_parse_strerror(r)};
	core_drops[n++] = (struct dse_drop_reason){"oversize",
						   "frame longer than the ingress port's MTU"};
	core_drops[n++] = (struct dse_drop_reason){"no_mbuf",
						   "no packet buffer for a flood copy or a tag"};
	core_drops[n++] = (struct dse_drop_reason){"tx_full", "egress port queue full"};
	core_drops[n++] = (struct dse_drop_reason){
	    "handoff_full", "the worker that owns the packet's connection had no room for it"};
	return 0;
}

static struct dse_module core_module = {
	.name = "core",
	.order = 0,
	.init = core_init,
	.methods = core_methods,
	.test_methods = core_test_methods,
	.drops = core_drops,
	.config_save = core_config_save,
	.stats = core_stats,
};
DSE_MODULE_REGISTER(core_module)
