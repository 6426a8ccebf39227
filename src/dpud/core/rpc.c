/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON-RPC methods of dse-dpud.  Each method is the one action function
 * for its operation: the socket, the startup config and the tests all call
 * it.  Handlers validate everything before changing anything, so a refused
 * call leaves the datapath as it was.
 */
#include "rpc.h"
#include "rpc_fw.h"
#include "rpc_overlay.h"

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
#include "devargs.h"
#include "dp.h"
#include "drop.h"
#include "log.h"
#include "port.h"
#include "version.h"

#define FDB_DEFAULT_AGEING 300

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

/* Names of ports and segments: 1..31 characters of [A-Za-z0-9_.-]. */
static int check_name(struct dse_rpc_call *call, const char *what, const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= DSE_NAME_MAX)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "%s name must be 1 to %d characters", what, DSE_NAME_MAX - 1);
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "%s name '%s' may hold only letters, digits, '_', "
					     "'.' and '-'",
					     what, name);
	return 0;
}

/*
 * Port names: those of check_name(), less the prefix DSE_TEP_PORT_PREFIX in
 * any case.  It is the namespace of the virtual ports of peer TEPs
 * (tep-<address>), so fdb.show, tep.show and the firewall never name two
 * ports alike.
 */
static int check_port_name(struct dse_rpc_call *call, const char *name)
{
	int r = check_name(call, "port", name);

	if (r < 0)
		return r;
	if (strncasecmp(name, DSE_TEP_PORT_PREFIX, strlen(DSE_TEP_PORT_PREFIX)) == 0)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "port name '%s': names that begin with '" DSE_TEP_PORT_PREFIX
				     "' are reserved for the ports of peer TEPs; choose another",
				     name);
	return 0;
}

static int get_segment(struct dse_rpc_call *call, const char *key, bool required,
		       uint16_t *ret)
{
	const char *name;
	int r = dse_rpc_param_str(call, key, required, &name);

	if (r < 0)
		return r;
	*ret = dp_segment_find(name);
	if (*ret == DSE_NO_SEGMENT)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "no segment '%s' (segment.list shows them)", name);
	return 0;
}

static int get_port(struct dse_rpc_call *call, const char *key, bool required, uint16_t *ret)
{
	const char *name;
	int r = dse_rpc_param_str(call, key, required, &name);

	if (r < 0)
		return r;
	*ret = dp_port_find(name);
	if (*ret == DSE_NO_PORT)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "no port '%s' (port.list shows them)",
				     name);
	return 0;
}

static int get_mac(struct dse_rpc_call *call, const char *key, struct rte_ether_addr *mac)
{
	const char *s;
	int r = dse_rpc_param_str(call, key, true, &s);

	if (r < 0)
		return r;
	if (rte_ether_unformat_addr(s, mac) < 0 || strlen(s) != 17)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "'%s' is not a MAC address like 02:00:00:00:00:01", s);
	if (!rte_is_unicast_ether_addr(mac) || rte_is_zero_ether_addr(mac))
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "'%s' is not a unicast MAC address", s);
	return 0;
}

static json_t *mac_json(const uint8_t *mac)
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
	json_t *a = json_array();

	if (dse_rpc_params_only(call, NULL) < 0)
		return -EINVAL;
	for (const struct dse_rpc_method *m = dse_rpc_methods(call->srv); m->name; m++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "name", m->name, "help", m->help));
	*ret = a;
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

	if (dse_rpc_params_only(call, NULL) < 0)
		return -EINVAL;
	for (int i = 0; i < DSE_MAX_PORTS; i++)
		n_ports += dp.ports[i].used;
	for (int i = 0; i < DSE_MAX_SEGMENTS; i++)
		n_segs += dp.segments[i].used;
	*ret = json_pack("{s:s, s:i, s:b, s:i, s:i, s:i, s:I, s:i, s:i}", "version", DSE_VERSION,
			 "worker_lcore", (int)dp.worker.lcore, "idle_sleep", dp.idle_sleep,
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

	if (dse_rpc_params_only(call, NULL) < 0)
		return -EINVAL;
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

/* ---- segments ---- */

struct seg_change {
	uint16_t idx;
	struct dse_segment seg;
	bool del;
};

static int seg_apply(void *arg)
{
	struct seg_change *c = arg;

	if (c->del) {
		dse_fdb_flush(dp.fdb, c->idx, DSE_FDB_ALL, true);
		memset(&dp.segments[c->idx], 0, sizeof(dp.segments[c->idx]));
	} else {
		dp.segments[c->idx] = c->seg;
	}
	dp_segments_rebuild();
	return 0;
}

static int segment_add(struct dse_rpc_call *call, json_t **ret)
{
	struct seg_change c = {0};
	const char *name;
	long long vlan = 0, vni = 0;
	uint16_t free_idx = DSE_NO_SEGMENT;
	json_t *peers;

	if (dse_rpc_params_only(call, "name", "vlan", "vni", "peers", NULL) < 0 ||
	    dse_rpc_param_str(call, "name", true, &name) < 0 ||
	    check_name(call, "segment", name) < 0 ||
	    dse_rpc_param_int(call, "vlan", false, 1, 4094, &vlan) == -EINVAL ||
	    dse_rpc_param_int(call, "vni", false, 1, DSE_GENEVE_VNI_MAX, &vni) == -EINVAL)
		return -EINVAL;
	if ((vlan == 0) == (vni == 0))
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "give a segment either 'vlan' (1-4094) or 'vni' "
				     "(1-16777215, an overlay segment)");
	peers = json_object_get(call->params, "peers");
	if (peers && vni == 0)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "only overlay (vni) segments have peers");
	if (dp_segment_find(name) != DSE_NO_SEGMENT)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "segment '%s' already exists", name);
	if (vlan && dp.vlan_seg[vlan] != DSE_NO_SEGMENT)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "VLAN %lld already backs segment '%s'", vlan,
				     dp.segments[dp.vlan_seg[vlan]].name);
	if (vni && dp_vni_segment((uint32_t)vni) != DSE_NO_SEGMENT)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "VNI %lld already backs segment '%s'",
				     vni, dp.segments[dp_vni_segment((uint32_t)vni)].name);
	for (uint16_t i = 0; i < DSE_MAX_SEGMENTS && free_idx == DSE_NO_SEGMENT; i++)
		if (!dp.segments[i].used)
			free_idx = i;
	if (free_idx == DSE_NO_SEGMENT)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "too many segments (at most %d)",
				     DSE_MAX_SEGMENTS);
	c.idx = free_idx;
	c.seg.used = true;
	snprintf(c.seg.name, sizeof(c.seg.name), "%s", name);
	c.seg.vlan = (uint16_t)vlan;
	c.seg.vni = (uint32_t)vni;
	dp_call(seg_apply, &c);
	if (peers && dse_overlay_set_peers(call, c.idx, peers) < 0) {
		c.del = true;
		dp_call(seg_apply, &c);
		return -EINVAL;
	}
	config_changed();
	*ret = NULL;
	return 0;
}

static int segment_del(struct dse_rpc_call *call, json_t **ret)
{
	struct seg_change c = {.del = true};
	char why[128];

	if (dse_rpc_params_only(call, "name", NULL) < 0 ||
	    get_segment(call, "name", true, &c.idx) < 0)
		return -EINVAL;
	for (int p = 0; p < DSE_MAX_PORTS; p++) {
		const struct dse_port *port = &dp.ports[p];

		if (port->used && ((port->mode == DSE_PORT_ACCESS && port->segment == c.idx) ||
				   (port->mode == DSE_PORT_TRUNK &&
				    (port->trunk_segs[c.idx / 64] & (1ull << (c.idx % 64))))))
			return dse_rpc_error(call, DSE_RPC_APP_ERROR,
					     "segment '%s' is in use by port '%s': move or "
					     "remove the port first",
					     dp.segments[c.idx].name, port->name);
	}
	if (dse_fw_segment_in_use(c.idx, why, sizeof(why)))
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "segment '%s' is in use: %s",
				     dp.segments[c.idx].name, why);
	dse_overlay_forget_segment(c.idx);
	dp_call(seg_apply, &c);
	config_changed();
	*ret = NULL;
	return 0;
}

static int segment_list(struct dse_rpc_call *call, json_t **ret)
{
	json_t *a = json_array();

	if (dse_rpc_params_only(call, NULL) < 0) {
		json_decref(a);
		return -EINVAL;
	}
	for (int s = 0; s < DSE_MAX_SEGMENTS; s++) {
		const struct dse_segment *seg = &dp.segments[s];
		json_t *ports = json_array();

		if (!seg->used) {
			json_decref(ports);
			continue;
		}
		for (int p = 0; p < DSE_MAX_PORTS; p++)
			if (dp_port_in_segment(&dp.ports[p], (uint16_t)s))
				json_array_append_new(ports, json_string(dp.ports[p].name));
		if (seg->vni)
			json_array_append_new(a, json_pack("{s:s, s:i, s:o, s:o}", "name", seg->name,
							   "vni", (int)seg->vni, "peers",
							   dse_overlay_peers_json(seg), "ports",
							   ports));
		else
			json_array_append_new(a, json_pack("{s:s, s:i, s:o}", "name", seg->name,
							   "vlan", seg->vlan, "ports", ports));
	}
	*ret = a;
	return 0;
}

/* ---- ports ---- */

/* Reads mode / segment / segments / mtu into 'conf' (starting from its current values). */
static int port_conf_params(struct dse_rpc_call *call, struct dse_port_conf *conf)
{
	const char *mode = NULL;
	long long mtu;
	json_t *segs;
	int r;

	r = dse_rpc_param_str(call, "mode", false, &mode);
	if (r == -EINVAL)
		return r;
	if (mode) {
		if (strcmp(mode, "access") == 0)
			conf->mode = DSE_PORT_ACCESS;
		else if (strcmp(mode, "trunk") == 0)
			conf->mode = DSE_PORT_TRUNK;
		else
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "mode must be \"access\" or \"trunk\", not \"%s\"",
					     mode);
	}
	r = dse_rpc_param_bool(call, "uplink", false, &conf->uplink);
	if (r == -EINVAL)
		return r;
	r = dse_rpc_param_int(call, "mtu", false, 68, 9000, &mtu);
	if (r == -EINVAL)
		return r;
	if (r == 0)
		conf->mtu = (uint16_t)mtu;

	if (conf->mode == DSE_PORT_ACCESS) {
		if (json_object_get(call->params, "segments"))
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "an access port takes 'segment', not 'segments'");
		r = get_segment(call, "segment", false, &conf->segment);
		if (r == -EINVAL)
			return r;
		memset(conf->trunk_segs, 0, sizeof(conf->trunk_segs));
		return 0;
	}
	if (json_object_get(call->params, "segment"))
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "a trunk port takes 'segments' (a list), not 'segment'");
	conf->segment = DSE_NO_SEGMENT;
	segs = json_object_get(call->params, "segments");
	if (segs == NULL)
		return 0;
	if (!json_is_array(segs))
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "'segments' must be a list of segment names");
	memset(conf->trunk_segs, 0, sizeof(conf->trunk_segs));
	for (size_t i = 0; i < json_array_size(segs); i++) {
		const char *name = json_string_value(json_array_get(segs, i));
		uint16_t s;

		if (name == NULL)
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "'segments' must be a list of segment names");
		s = dp_segment_find(name);
		if (s == DSE_NO_SEGMENT)
			return dse_rpc_error(call, DSE_RPC_APP_ERROR,
					     "no segment '%s' (segment.list shows them)", name);
		if (dp.segments[s].vni)
			return dse_rpc_error(call, DSE_RPC_APP_ERROR,
					     "segment '%s' is an overlay segment: it travels in "
					     "Geneve, not on VLAN trunks",
					     name);
		conf->trunk_segs[s / 64] |= 1ull << (s % 64);
	}
	return 0;
}

static int port_add(struct dse_rpc_call *call, json_t **ret)
{
	struct dse_port_conf conf = {.mtu = 1500, .mode = DSE_PORT_ACCESS,
				     .segment = DSE_NO_SEGMENT};
	struct dse_devargs da;
	uint16_t other;
	char err[512];
	int r;

	if (dse_rpc_params_only(call, "name", "devargs", "mode", "segment", "segments", "mtu",
				"uplink", NULL) < 0 ||
	    dse_rpc_param_str(call, "name", true, &conf.name) < 0 ||
	    check_port_name(call, conf.name) < 0 ||
	    dse_rpc_param_str(call, "devargs", true, &conf.devargs) < 0 ||
	    port_conf_params(call, &conf) < 0)
		return -EINVAL;
	if (dp_port_find(conf.name) != DSE_NO_PORT)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "port '%s' already exists",
				     conf.name);
	/* What the devargs may open is bounded before any driver sees them (devargs.h). */
	if (dse_devargs_check(conf.devargs, call->remote, &da, err, sizeof(err)) < 0)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS, "%s", err);
	if (da.driver == DSE_DRV_AF_PACKET) {
		/* Two ports on one interface would share its fanout group and split its traffic. */
		other = dse_port_find_iface(da.iface);
		if (other != DSE_NO_PORT)
			return dse_rpc_error(call, DSE_RPC_APP_ERROR,
					     "interface '%s' is already port '%s'", da.iface,
					     dp.ports[other].name);
		conf.iface = da.iface;
		conf.ring_frames = da.framecnt;
	}
	conf.effective = da.effective;
	r = dse_port_add(&conf, err, sizeof(err));
	if (r < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "%s", err);
	config_changed();
	*ret = json_pack("{s:s, s:i}", "name", conf.name, "port_id", r);
	return 0;
}

static int port_set(struct dse_rpc_call *call, json_t **ret)
{
	struct dse_port_conf conf = {0};
	const struct dse_port *p;
	uint16_t id;

	if (dse_rpc_params_only(call, "name", "mode", "segment", "segments", "mtu", "uplink",
				NULL) < 0 ||
	    get_port(call, "name", true, &id) < 0)
		return -EINVAL;
	p = &dp.ports[id];
	conf.mode = p->mode;
	conf.mtu = p->mtu;
	conf.segment = p->segment;
	conf.uplink = p->uplink;
	memcpy(conf.trunk_segs, p->trunk_segs, sizeof(conf.trunk_segs));
	if (port_conf_params(call, &conf) < 0)
		return -EINVAL;
	/* tep.set takes only an uplink: a replay of config.save would fail on it. */
	if (!conf.uplink && dp.tep.ip != 0 && dp.tep.uplink == id)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "port '%s' carries our TEP and must stay an uplink: move the "
				     "TEP to another uplink (tep.set) first",
				     p->name);
	if (conf.mtu > dse_port_max_mtu(p->max_frame))
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "mtu %u is more than port '%s' receives whole: at most %u with "
				     "its devargs",
				     conf.mtu, p->name, dse_port_max_mtu(p->max_frame));
	dse_port_update(id, &conf);
	config_changed();
	*ret = NULL;
	return 0;
}

static int port_del(struct dse_rpc_call *call, json_t **ret)
{
	uint16_t id;
	char why[128];

	if (dse_rpc_params_only(call, "name", NULL) < 0 || get_port(call, "name", true, &id) < 0)
		return -EINVAL;
	if (dp.tep.ip != 0 && dp.tep.uplink == id)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "port '%s' carries our TEP: move the TEP (tep.set) first",
				     dp.ports[id].name);
	if (dse_fw_port_in_use(id, why, sizeof(why)))
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "port '%s' is in use: %s",
				     dp.ports[id].name, why);
	dse_port_del(id);
	config_changed();
	*ret = NULL;
	return 0;
}

static json_t *port_segments_json(const struct dse_port *p)
{
	json_t *a = json_array();

	for (int s = 0; s < DSE_MAX_SEGMENTS; s++)
		if (p->trunk_segs[s / 64] & (1ull << (s % 64)))
			json_array_append_new(a, json_string(dp.segments[s].name));
	return a;
}

static json_t *port_json(const struct dse_port *p)
{
	struct dse_port_kstats ks;
	struct rte_eth_stats st = {0};
	struct rte_eth_link link = {0};
	json_t *o;

	rte_eth_stats_get(p->port_id, &st);
	rte_eth_link_get_nowait(p->port_id, &link);
	o = json_pack("{s:s, s:i, s:s, s:s, s:i, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
		      "name", p->name, "port_id", p->port_id, "devargs", p->devargs, "mode",
		      p->mode == DSE_PORT_TRUNK ? "trunk" : "access", "mtu", p->mtu, "link",
		      link.link_status ? "up" : "down", "stats", "rx_packets",
		      (json_int_t)st.ipackets, "rx_bytes", (json_int_t)st.ibytes, "tx_packets",
		      (json_int_t)st.opackets, "tx_bytes", (json_int_t)st.obytes, "rx_missed",
		      (json_int_t)st.imissed, "rx_errors", (json_int_t)st.ierrors, "tx_errors",
		      (json_int_t)st.oerrors);
	if (dse_port_kernel_stats(p->port_id, &ks) == 0) {
		json_t *stats = json_object_get(o, "stats");

		/* A frame the kernel could not put in the ring is a frame the port missed. */
		json_object_set_new(stats, "rx_missed",
				    json_integer((json_int_t)(st.imissed + ks.dropped)));
		json_object_set_new(stats, "rx_kernel_packets",
				    json_integer((json_int_t)ks.packets));
		json_object_set_new(stats, "rx_kernel_dropped",
				    json_integer((json_int_t)ks.dropped));
		json_object_set_new(o, "ring_frames", json_integer(ks.ring_frames));
	}
	json_object_set_new(o, "max_mtu", json_integer(dse_port_max_mtu(p->max_frame)));
	json_object_set_new(o, "uplink", json_boolean(p->uplink));
	if (p->mode == DSE_PORT_ACCESS)
		json_object_set_new(o, "segment",
				    p->segment == DSE_NO_SEGMENT
					    ? json_null()
					    : json_string(dp.segments[p->segment].name));
	else
		json_object_set_new(o, "segments", port_segments_json(p));
	return o;
}

static int port_list(struct dse_rpc_call *call, json_t **ret)
{
	json_t *a = json_array();

	if (dse_rpc_params_only(call, NULL) < 0) {
		json_decref(a);
		return -EINVAL;
	}
	for (int i = 0; i < DSE_MAX_PORTS; i++)
		if (dp.ports[i].used)
			json_array_append_new(a, port_json(&dp.ports[i]));
	*ret = a;
	return 0;
}

/* ---- FDB ---- */

struct fdb_op {
	uint16_t segment;
	uint16_t port;
	struct rte_ether_addr mac;
	bool with_static;
	int result;
	/* fdb.show: a copy of the table taken on the worker */
	struct dse_fdb_entry *copy;
	uint32_t n_copy;
	uint32_t now_s;
};

static int fdb_apply_add(void *arg)
{
	struct fdb_op *op = arg;
	int pos = dse_fdb_lookup(dp.fdb, op->segment, op->mac.addr_bytes);

	op->result = dse_fdb_add_static(dp.fdb, op->segment, op->mac.addr_bytes, op->port);
	/* Replacing an entry can send its traffic elsewhere: drop cached decisions. */
	if (pos >= 0)
		dp_flows_invalidate();
	return 0;
}

static int fdb_apply_del(void *arg)
{
	struct fdb_op *op = arg;

	op->result = dse_fdb_del(dp.fdb, op->segment, op->mac.addr_bytes);
	dp_flows_invalidate();
	return 0;
}

static int fdb_apply_flush(void *arg)
{
	struct fdb_op *op = arg;

	op->result = (int)dse_fdb_flush(dp.fdb, op->segment, op->port, op->with_static);
	dp_flows_invalidate();
	return 0;
}

static int fdb_apply_copy(void *arg)
{
	struct fdb_op *op = arg;
	uint32_t cap = rte_hash_max_key_id(dp.fdb->hash);

	op->copy = malloc(sizeof(*op->copy) * (dp.fdb->n_entries + 1));
	if (op->copy == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i <= cap && op->n_copy < dp.fdb->n_entries; i++)
		if (dp.fdb->entries[i].used)
			op->copy[op->n_copy++] = dp.fdb->entries[i];
	op->now_s = dp.worker.now_s ? dp.worker.now_s : (uint32_t)(dse_clock_ns() / 1000000000ull);
	return 0;
}

static int fdb_add(struct dse_rpc_call *call, json_t **ret)
{
	struct fdb_op op = {0};

	if (dse_rpc_params_only(call, "segment", "mac", "port", NULL) < 0 ||
	    get_segment(call, "segment", true, &op.segment) < 0 || get_mac(call, "mac", &op.mac) < 0 ||
	    get_port(call, "port", true, &op.port) < 0)
		return -EINVAL;
	/* An entry toward a port outside the segment would leak frames across segments. */
	if (!dp_port_in_segment(&dp.ports[op.port], op.segment))
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "port '%s' is not in segment '%s': add the segment to the "
				     "port first",
				     dp.ports[op.port].name, dp.segments[op.segment].name);
	dp_call(fdb_apply_add, &op);
	if (op.result < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "the FDB is full (%u entries): raise fdb.config max_entries "
				     "or flush",
				     dp.fdb->max_entries);
	config_changed();
	*ret = NULL;
	return 0;
}

static int fdb_del(struct dse_rpc_call *call, json_t **ret)
{
	struct fdb_op op = {0};

	if (dse_rpc_params_only(call, "segment", "mac", NULL) < 0 ||
	    get_segment(call, "segment", true, &op.segment) < 0 || get_mac(call, "mac", &op.mac) < 0)
		return -EINVAL;
	dp_call(fdb_apply_del, &op);
	if (op.result < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "no FDB entry for %s in segment '%s'",
				     json_string_value(json_object_get(call->params, "mac")),
				     dp.segments[op.segment].name);
	config_changed();
	*ret = NULL;
	return 0;
}

static int fdb_flush(struct dse_rpc_call *call, json_t **ret)
{
	struct fdb_op op = {.segment = DSE_FDB_ALL, .port = DSE_FDB_ALL};

	if (dse_rpc_params_only(call, "segment", "port", "static", NULL) < 0 ||
	    get_segment(call, "segment", false, &op.segment) == -EINVAL ||
	    get_port(call, "port", false, &op.port) == -EINVAL ||
	    dse_rpc_param_bool(call, "static", false, &op.with_static) == -EINVAL)
		return -EINVAL;
	dp_call(fdb_apply_flush, &op);
	config_changed();
	*ret = json_pack("{s:i}", "removed", op.result);
	return 0;
}

static int fdb_show(struct dse_rpc_call *call, json_t **ret)
{
	struct fdb_op op = {.segment = DSE_FDB_ALL, .port = DSE_FDB_ALL};
	json_t *a;

	if (dse_rpc_params_only(call, "segment", "port", NULL) < 0 ||
	    get_segment(call, "segment", false, &op.segment) == -EINVAL ||
	    get_port(call, "port", false, &op.port) == -EINVAL)
		return -EINVAL;
	if (dp_call(fdb_apply_copy, &op) < 0)
		return -ENOMEM;
	a = json_array();
	for (uint32_t i = 0; i < op.n_copy; i++) {
		const struct dse_fdb_entry *e = &op.copy[i];

		if ((op.segment != DSE_FDB_ALL && e->segment != op.segment) ||
		    (op.port != DSE_FDB_ALL && e->port != op.port))
			continue;
		json_array_append_new(
			a, json_pack("{s:s, s:o, s:s, s:b, s:i}", "segment",
				     dp.segments[e->segment].name, "mac", mac_json(e->mac), "port",
				     dp.ports[e->port].name, "static", e->is_static, "age",
				     e->is_static ? 0 : (int)(op.now_s - e->last_seen_s)));
	}
	free(op.copy);
	*ret = a;
	return 0;
}

struct fdb_conf_op {
	long long max_entries;
	long long ageing;
};

static int fdb_apply_config(void *arg)
{
	struct fdb_conf_op *c = arg;

	if (c->max_entries >= 0)
		dp.fdb->max_entries = (uint32_t)c->max_entries;
	if (c->ageing >= 0)
		dp.fdb->ageing_s = (uint32_t)c->ageing;
	return 0;
}

static int fdb_config(struct dse_rpc_call *call, json_t **ret)
{
	struct fdb_conf_op c = {-1, -1};
	uint32_t cap = rte_hash_max_key_id(dp.fdb->hash);

	if (dse_rpc_params_only(call, "max_entries", "ageing_time", NULL) < 0 ||
	    dse_rpc_param_int(call, "max_entries", false, 1, cap, &c.max_entries) == -EINVAL ||
	    dse_rpc_param_int(call, "ageing_time", false, 0, 1000000, &c.ageing) == -EINVAL)
		return -EINVAL;
	dp_call(fdb_apply_config, &c);
	/* Only a call that sets something is a change; without values it shows. */
	if (c.max_entries >= 0 || c.ageing >= 0)
		config_changed();
	*ret = json_pack("{s:i, s:i, s:i, s:i}", "max_entries", (int)dp.fdb->max_entries,
			 "capacity", (int)cap, "ageing_time", (int)dp.fdb->ageing_s, "entries",
			 (int)dp.fdb->n_entries);
	return 0;
}

/* ---- flow cache ---- */

static int flow_count_op(void *arg)
{
	*(uint32_t *)arg = dse_flow_count(dp.worker.flows, dp.flow_gen);
	return 0;
}

static int flow_flush_op(void *arg)
{
	RTE_SET_USED(arg);
	dp_flows_invalidate();
	return 0;
}

static int flow4_count_op(void *arg)
{
	*(uint32_t *)arg = dse_flow4_count(dp.worker.flows4, dp.flow_gen);
	return 0;
}

static json_t *flow_json(void)
{
	const struct dse_flow_cache *fc = dp.worker.flows;
	const struct dse_flow4_cache *f4 = dp.worker.flows4;
	uint32_t n = 0, n4 = 0;

	dp_call(flow_count_op, &n);
	dp_call(flow4_count_op, &n4);
	return json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:{s:i, s:i, s:I, s:I, s:I, s:I}}",
			 "entries", (int)n, "capacity",
			 (int)((fc->bucket_mask + 1) * DSE_FLOW_WAYS), "generation",
			 (json_int_t)dp.flow_gen, "hits", (json_int_t)fc->hits, "misses",
			 (json_int_t)fc->misses, "inserts", (json_int_t)fc->inserts, "evictions",
			 (json_int_t)fc->evictions, "l4", "entries", (int)n4, "capacity",
			 (int)((f4->bucket_mask + 1) * DSE_FLOW_WAYS), "hits", (json_int_t)f4->hits,
			 "misses", (json_int_t)f4->misses, "inserts", (json_int_t)f4->inserts,
			 "evictions", (json_int_t)f4->evictions);
}

static int flow_show(struct dse_rpc_call *call, json_t **ret)
{
	if (dse_rpc_params_only(call, NULL) < 0)
		return -EINVAL;
	*ret = flow_json();
	return 0;
}

static int flow_flush(struct dse_rpc_call *call, json_t **ret)
{
	if (dse_rpc_params_only(call, NULL) < 0)
		return -EINVAL;
	dp_call(flow_flush_op, NULL);
	*ret = NULL;
	return 0;
}

/* ---- statistics ---- */

static const char *const pipeline_nodes[] = {
	"dse_rx",  "dse_parse", "dse_flow",  "dse_segment", "dse_fdb",     "dse_fw",
	"dse_flood", "dse_tx",  "dse_decap", "dse_encap",   "dse_tep_arp", "dse_reass",
	"dse_refrag",
};

static int stats_get(struct dse_rpc_call *call, json_t **ret)
{
	json_t *ports = json_array(), *nodes = json_array(), *drops = json_object();
	uint64_t total_drops = 0;
	const struct rte_node *n;

	if (dse_rpc_params_only(call, NULL) < 0) {
		json_decref(ports);
		json_decref(nodes);
		json_decref(drops);
		return -EINVAL;
	}
	for (int i = 0; i < DSE_MAX_PORTS; i++)
		if (dp.ports[i].used)
			json_array_append_new(ports, port_json(&dp.ports[i]));
	for (unsigned i = 0; i < RTE_DIM(pipeline_nodes); i++) {
		n = dp.worker.graph ? rte_graph_node_get_by_name("dse_worker0", pipeline_nodes[i])
				    : NULL;
		if (n == NULL)
			continue;
		json_array_append_new(
			nodes, json_pack("{s:s, s:I, s:I, s:I}", "name", pipeline_nodes[i],
					 "packets", (json_int_t)n->total_objs, "calls",
					 (json_int_t)n->total_calls, "cycles",
					 (json_int_t)n->total_cycles));
	}
	for (int d = 0; d < DSE_DROP__MAX; d++) {
		uint64_t c = 0;

		n = dp.worker.graph ? rte_graph_node_get_by_name(
					      "dse_worker0", dse_drop_node_name((enum dse_drop)d))
				    : NULL;
		if (n)
			c = n->total_objs;
		if (d == DSE_DROP_NO_MBUF)
			c += dp.worker.flood_copy_failed;
		json_object_set_new(drops, dse_drop_name((enum dse_drop)d), json_integer((json_int_t)c));
		total_drops += c;
	}
	*ret = json_pack("{s:o, s:o, s:o, s:I, s:o, s:{s:i, s:i, s:I, s:I, s:I, s:I}}", "ports",
			 ports, "nodes", nodes, "drops", drops, "drops_total",
			 (json_int_t)total_drops, "flow_cache", flow_json(), "fdb", "entries",
			 (int)dp.fdb->n_entries, "max_entries", (int)dp.fdb->max_entries,
			 "learned", (json_int_t)dp.fdb->stats.learned, "moved",
			 (json_int_t)dp.fdb->stats.moved, "aged", (json_int_t)dp.fdb->stats.aged,
			 "full", (json_int_t)dp.fdb->stats.full);
	return 0;
}

static int drops_list(struct dse_rpc_call *call, json_t **ret)
{
	json_t *a = json_array();

	if (dse_rpc_params_only(call, NULL) < 0) {
		json_decref(a);
		return -EINVAL;
	}
	for (int d = 0; d < DSE_DROP__MAX; d++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name",
						   dse_drop_name((enum dse_drop)d), "node",
						   dse_drop_node_name((enum dse_drop)d), "description",
						   dse_drop_desc((enum dse_drop)d)));
	*ret = a;
	return 0;
}

/* ---- log level and the test clock ---- */

static int log_level(struct dse_rpc_call *call, json_t **ret)
{
	const char *name;
	enum dse_log_level level;
	int r;

	if (dse_rpc_params_only(call, "level", NULL) < 0)
		return -EINVAL;
	r = dse_rpc_param_str(call, "level", false, &name);
	if (r == -EINVAL)
		return r;
	if (r == 0) {
		if (dse_log_level_parse(name, &level) < 0)
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "level must be err, warn, notice, info or debug");
		dse_log_set_level(level);
	}
	*ret = json_pack("{s:s}", "level", dse_log_level_name(dse_log_get_level()));
	return 0;
}

static json_t *clock_json(void)
{
	return json_pack("{s:I, s:b}", "now_ns", (json_int_t)dse_clock_ns(), "frozen",
			 dse_clock_frozen());
}

static int clock_get(struct dse_rpc_call *call, json_t **ret)
{
	if (dse_rpc_params_only(call, NULL) < 0)
		return -EINVAL;
	*ret = clock_json();
	return 0;
}

static int clock_freeze(struct dse_rpc_call *call, json_t **ret)
{
	if (dse_rpc_params_only(call, NULL) < 0)
		return -EINVAL;
	dse_clock_freeze();
	*ret = clock_json();
	return 0;
}

static int clock_release(struct dse_rpc_call *call, json_t **ret)
{
	if (dse_rpc_params_only(call, NULL) < 0)
		return -EINVAL;
	dse_clock_release();
	*ret = clock_json();
	return 0;
}

/* Runs the timers due at the new time at once, so a test sees their effect on return. */
static int clock_tick(void *arg)
{
	RTE_SET_USED(arg);
	dp.worker.now_ns = dse_clock_ns();
	dp.worker.now_s = (uint32_t)(dp.worker.now_ns / 1000000000ull);
	if (dse_fdb_age(dp.fdb, dp.worker.now_s) > 0)
		dp_flows_invalidate();
	return 0;
}

static int clock_advance(struct dse_rpc_call *call, json_t **ret)
{
	double s;

	if (dse_rpc_params_only(call, "seconds", NULL) < 0 ||
	    dse_rpc_param_num(call, "seconds", true, 0, 86400.0 * 365, &s) < 0)
		return -EINVAL;
	dse_clock_advance((uint64_t)(s * 1e9));
	dp_call(clock_tick, NULL);
	*ret = clock_json();
	return 0;
}

/* ---- config ---- */

static json_t *call_json(const char *method, json_t *params)
{
	return json_pack("{s:s, s:o}", "method", method, "params", params);
}

/* Orders FDB entries by segment (as config.save writes segments) and MAC. */
static int fdb_entry_cmp(const void *a, const void *b)
{
	const struct dse_fdb_entry *x = a, *y = b;

	if (x->segment != y->segment)
		return x->segment < y->segment ? -1 : 1;
	return memcmp(x->mac, y->mac, sizeof(x->mac));
}

static int config_save(struct dse_rpc_call *call, json_t **ret)
{
	struct fdb_op op = {0};
	json_t *a = json_array(), *tep;

	if (dse_rpc_params_only(call, NULL) < 0) {
		json_decref(a);
		return -EINVAL;
	}
	if (dse_log_get_level() != DSE_LOG_NOTICE)
		json_array_append_new(a, call_json("log.level",
						   json_pack("{s:s}", "level",
							     dse_log_level_name(
								     dse_log_get_level()))));
	for (int s = 0; s < DSE_MAX_SEGMENTS; s++) {
		const struct dse_segment *seg = &dp.segments[s];

		if (!seg->used)
			continue;
		if (seg->vni)
			json_array_append_new(
				a, call_json("segment.add",
					     json_pack("{s:s, s:i, s:o}", "name", seg->name, "vni",
						       (int)seg->vni, "peers",
						       dse_overlay_peers_json(seg))));
		else
			json_array_append_new(
				a, call_json("segment.add", json_pack("{s:s, s:i}", "name",
								      seg->name, "vlan",
								      seg->vlan)));
	}
	for (int i = 0; i < DSE_MAX_PORTS; i++) {
		const struct dse_port *p = &dp.ports[i];
		json_t *params;

		if (!p->used)
			continue;
		params = json_pack("{s:s, s:s, s:s, s:i}", "name", p->name, "devargs", p->devargs,
				   "mode", p->mode == DSE_PORT_TRUNK ? "trunk" : "access", "mtu",
				   p->mtu);
		if (p->uplink)
			json_object_set_new(params, "uplink", json_true());
		if (p->mode == DSE_PORT_TRUNK)
			json_object_set_new(params, "segments", port_segments_json(p));
		else if (p->segment != DSE_NO_SEGMENT)
			json_object_set_new(params, "segment",
					    json_string(dp.segments[p->segment].name));
		json_array_append_new(a, call_json("port.add", params));
	}
	/* A config without the static entries would replay into another one: fail instead. */
	if (dp_call(fdb_apply_copy, &op) < 0) {
		json_decref(a);
		return -ENOMEM;
	}
	/* In one order whatever the table's history: a replay saves the same calls. */
	qsort(op.copy, op.n_copy, sizeof(*op.copy), fdb_entry_cmp);
	for (uint32_t i = 0; i < op.n_copy; i++) {
		const struct dse_fdb_entry *e = &op.copy[i];

		if (!e->is_static)
			continue;
		json_array_append_new(a, call_json("fdb.add",
						   json_pack("{s:s, s:o, s:s}", "segment",
							     dp.segments[e->segment].name, "mac",
							     mac_json(e->mac), "port",
							     dp.ports[e->port].name)));
	}
	free(op.copy);
	/* After the static entries: a limit below their number must not refuse them. */
	if (dp.fdb->ageing_s != FDB_DEFAULT_AGEING ||
	    dp.fdb->max_entries != (uint32_t)rte_hash_max_key_id(dp.fdb->hash)) {
		json_t *p = json_object();

		if (dp.fdb->ageing_s != FDB_DEFAULT_AGEING)
			json_object_set_new(p, "ageing_time", json_integer(dp.fdb->ageing_s));
		if (dp.fdb->max_entries != (uint32_t)rte_hash_max_key_id(dp.fdb->hash))
			json_object_set_new(p, "max_entries", json_integer(dp.fdb->max_entries));
		json_array_append_new(a, call_json("fdb.config", p));
	}
	tep = dse_overlay_tep_call();
	if (tep)
		json_array_append_new(a, tep);
	dse_fw_config_calls(a);
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

const struct dse_rpc_method dse_dpud_methods[] = {
	{"rpc.list", rpc_list, "lists the methods with a line of help each"},
	{"dp.info", dp_info,
	 "version, worker lcore, idle sleep, buffers, config generation, control channel counters"},
	{"dp.identity", dp_identity,
	 "vendor, model, hw_version, fw_version, serial, pci, name and config generation"},
	{"segment.add", segment_add, "adds a segment: name, vlan (1-4094)"},
	{"segment.del", segment_del, "removes an unused segment: name"},
	{"segment.list", segment_list, "lists segments and their ports"},
	{"port.add", port_add,
	 "adds a port: name, devargs, mode (access|trunk), segment | segments, mtu, uplink"},
	{"port.set", port_set, "changes a port: name, mode, segment | segments, mtu, uplink"},
	{"port.del", port_del, "removes a port: name"},
	{"port.list", port_list, "lists ports with link and counters"},
	{"fdb.show", fdb_show, "lists FDB entries: [segment], [port]"},
	{"fdb.add", fdb_add, "adds a static entry: segment, mac, port"},
	{"fdb.del", fdb_del, "removes an entry: segment, mac"},
	{"fdb.flush", fdb_flush, "removes learned entries: [segment], [port], [static]"},
	{"fdb.config", fdb_config, "shows or sets max_entries and ageing_time (seconds)"},
	{"flow.show", flow_show, "flow cache size, entries and hit counters"},
	{"flow.flush", flow_flush, "invalidates every flow cache entry"},
	{"stats.get", stats_get, "port, node and drop-reason counters"},
	{"drops.list", drops_list, "every drop reason with its node and description"},
	{"log.level", log_level, "shows or sets the log level: [level]"},
	{"clock.get", clock_get, "the datapath clock"},
	{"clock.freeze", clock_freeze, "stops the datapath clock (tests)"},
	{"clock.release", clock_release, "lets a frozen clock run again"},
	{"clock.advance", clock_advance, "moves the clock forward and runs due timers: seconds"},
	{"config.save", config_save, "the running config as a list of replayable calls"},
	{NULL, NULL, NULL},
};
