/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The l2 module: segments, ports and the FDB, their JSON-RPC methods
 * (docs/api.md), their part of config.save and stats.show, and the drop
 * reasons of the segment, FDB and flood nodes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_hash.h>

#include "clock.h"
#include "devargs.h"
#include "dp.h"
#include "egress.h"
#include "geneve.h"
#include "module.h"
#include "port.h"
#include "rpc.h"
#include "rpc_overlay.h"
#include "tep.h"

#define FDB_DEFAULT_AGEING 300

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
	const struct dse_api_dpud_segment_add *a = call->args;
	struct seg_change c = {0};
	const char *name = a->name;
	long long vlan = a->has_vlan ? a->vlan : 0, vni = a->has_vni ? a->vni : 0;
	uint16_t free_idx = DSE_NO_SEGMENT;
	json_t *peers = a->has_peers ? a->peers : NULL;

	if ((vlan == 0) == (vni == 0))
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "give a segment either 'vlan' (1-4094) or 'vni' "
				     "(1-16777215, an overlay segment)");
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
	dse_dpud_config_changed();
	*ret = NULL;
	return 0;
}

static int segment_del(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_segment_del *a = call->args;
	struct seg_change c = {.del = true};
	char why[128];

	if (dse_dpud_find_segment(call, a->name, &c.idx) < 0)
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
	if (dse_modules_segment_in_use(c.idx, why, sizeof(why)))
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "segment '%s' is in use: %s",
				     dp.segments[c.idx].name, why);
	dse_modules_segment_removed(c.idx);
	dp_call(seg_apply, &c);
	dse_dpud_config_changed();
	*ret = NULL;
	return 0;
}

static int segment_list(struct dse_rpc_call *call, json_t **ret)
{
	json_t *a = json_array();

	RTE_SET_USED(call);
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

/* The params port.add and port.set share, as the schema decoded them. */
struct port_conf_args {
	bool has_mode, has_segment, has_segments, has_mtu, has_uplink;
	int mode;
	const char *segment;
	json_t *segments;
	long long mtu;
	bool uplink;
};

#define PORT_CONF_ARGS(a)                                                                          \
	((struct port_conf_args){(a)->has_mode, (a)->has_segment, (a)->has_segments, (a)->has_mtu, \
				 (a)->has_uplink, (a)->mode, (a)->segment, (a)->segments,          \
				 (a)->mtu, (a)->uplink})

/* Sets mode / segment / segments / mtu / uplink of 'conf' (starting from its current values). */
static int port_conf_params(struct dse_rpc_call *call, const struct port_conf_args *in,
			    struct dse_port_conf *conf)
{
	size_t i;
	json_t *v;

	if (in->has_mode)
		conf->mode = in->mode == DSE_API_PORT_MODE_TRUNK ? DSE_PORT_TRUNK : DSE_PORT_ACCESS;
	if (in->has_uplink)
		conf->uplink = in->uplink;
	if (in->has_mtu)
		conf->mtu = (uint16_t)in->mtu;

	if (conf->mode == DSE_PORT_ACCESS) {
		if (in->has_segments)
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "an access port takes 'segment', not 'segments'");
		if (in->has_segment && dse_dpud_find_segment(call, in->segment, &conf->segment) < 0)
			return -EINVAL;
		memset(conf->trunk_segs, 0, sizeof(conf->trunk_segs));
		return 0;
	}
	if (in->has_segment)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "a trunk port takes 'segments' (a list), not 'segment'");
	conf->segment = DSE_NO_SEGMENT;
	if (!in->has_segments)
		return 0;
	memset(conf->trunk_segs, 0, sizeof(conf->trunk_segs));
	json_array_foreach (in->segments, i, v) {
		const char *name = json_string_value(v);
		uint16_t seg;

		if (dse_dpud_find_segment(call, name, &seg) < 0)
			return -EINVAL;
		if (dp.segments[seg].vni)
			return dse_rpc_error(call, DSE_RPC_APP_ERROR,
					     "segment '%s' is an overlay segment: it travels in "
					     "Geneve, not on VLAN trunks",
					     name);
		conf->trunk_segs[seg / 64] |= 1ull << (seg % 64);
	}
	return 0;
}

static int port_add(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_port_add *a = call->args;
	struct dse_port_conf conf = {.mtu = 1500, .mode = DSE_PORT_ACCESS,
				     .segment = DSE_NO_SEGMENT, .name = a->name,
				     .devargs = a->devargs};
	struct dse_devargs da;
	uint16_t other;
	char err[512];
	int r;

	if (port_conf_params(call, &PORT_CONF_ARGS(a), &conf) < 0)
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
	conf.fanout_cpu = da.fanout_cpu;
	r = dse_port_add(&conf, err, sizeof(err));
	if (r < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "%s", err);
	dse_dpud_config_changed();
	*ret = json_pack("{s:s, s:i}", "name", conf.name, "port_id", r);
	return 0;
}

static int port_set(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_port_set *a = call->args;
	struct dse_port_conf conf = {0};
	const struct dse_port *p;
	uint16_t id;

	if (dse_dpud_find_port(call, a->name, &id) < 0)
		return -EINVAL;
	p = &dp.ports[id];
	conf.mode = p->mode;
	conf.mtu = p->mtu;
	conf.segment = p->segment;
	conf.uplink = p->uplink;
	memcpy(conf.trunk_segs, p->trunk_segs, sizeof(conf.trunk_segs));
	if (port_conf_params(call, &PORT_CONF_ARGS(a), &conf) < 0)
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
	dse_dpud_config_changed();
	*ret = NULL;
	return 0;
}

static int port_del(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_port_del *a = call->args;
	uint16_t id;
	char why[128];

	if (dse_dpud_find_port(call, a->name, &id) < 0)
		return -EINVAL;
	if (dp.tep.ip != 0 && dp.tep.uplink == id)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "port '%s' carries our TEP: move the TEP (tep.set) first",
				     dp.ports[id].name);
	if (dse_modules_port_in_use(id, why, sizeof(why)))
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "port '%s' is in use: %s",
				     dp.ports[id].name, why);
	dse_port_del(id);
	dse_dpud_config_changed();
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

	RTE_SET_USED(call);
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
	/* Replacing an entry bumps its version: the decisions that used it miss. */
	op->result = dse_fdb_add_static(dp.fdb, op->segment, op->mac.addr_bytes, op->port);
	return 0;
}

static int fdb_apply_del(void *arg)
{
	struct fdb_op *op = arg;
	/* As every removal, retires only the cached decisions that used the entry. */
	op->result = dse_fdb_del(dp.fdb, op->segment, op->mac.addr_bytes);
	return 0;
}

static int fdb_apply_flush(void *arg)
{
	struct fdb_op *op = arg;

	op->result = (int)dse_fdb_flush(dp.fdb, op->segment, op->port, op->with_static);
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
		if (dse_fdb_entry_used(&dp.fdb->entries[i]))
			op->copy[op->n_copy++] = dp.fdb->entries[i];
	op->now_s = dp.workers[0].now_s ? dp.workers[0].now_s
					 : (uint32_t)(dse_clock_ns() / 1000000000ull);
	return 0;
}

static int fdb_add(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_fdb_add *a = call->args;
	struct fdb_op op = {0};

	memcpy(op.mac.addr_bytes, a->mac, sizeof(a->mac));
	if (dse_dpud_find_segment(call, a->segment, &op.segment) < 0 ||
	    dse_dpud_find_port(call, a->port, &op.port) < 0)
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
				     "the FDB is full (%u entries): raise fdb.config.set max_entries "
				     "or flush",
				     dp.fdb->max_entries);
	dse_dpud_config_changed();
	*ret = NULL;
	return 0;
}

static int fdb_del(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_fdb_del *a = call->args;
	struct fdb_op op = {0};

	memcpy(op.mac.addr_bytes, a->mac, sizeof(a->mac));
	if (dse_dpud_find_segment(call, a->segment, &op.segment) < 0)
		return -EINVAL;
	dp_call(fdb_apply_del, &op);
	if (op.result < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "no FDB entry for %s in segment '%s'",
				     json_string_value(json_object_get(call->params, "mac")),
				     dp.segments[op.segment].name);
	dse_dpud_config_changed();
	*ret = NULL;
	return 0;
}

static int fdb_flush(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_fdb_flush *a = call->args;
	struct fdb_op op = {.segment = DSE_FDB_ALL, .port = DSE_FDB_ALL, .with_static = a->static_};

	if ((a->has_segment && dse_dpud_find_segment(call, a->segment, &op.segment) < 0) ||
	    (a->has_port && dse_dpud_find_port(call, a->port, &op.port) < 0))
		return -EINVAL;
	dp_call(fdb_apply_flush, &op);
	dse_dpud_config_changed();
	*ret = json_pack("{s:i}", "removed", op.result);
	return 0;
}

/* fdb.announce, on worker 0 (the FDB's writer, and its own transmit queues). */
struct announce_op {
	uint16_t segment; /* DSE_FDB_ALL: every segment */
	unsigned macs;
	unsigned frames;
	unsigned lost;
};

/* The first uplink of VLAN segment 'seg', or -1. */
static int segment_uplink(uint16_t seg)
{
	for (uint16_t p = 0; p < DSE_MAX_PORTS; p++)
		if (dp.ports[p].used && dp.ports[p].uplink && dp.ports[p].mode == DSE_PORT_TRUNK &&
		    dp_port_in_segment(&dp.ports[p], seg))
			return p;
	return -1;
}

/* Sends 'm' on 'port' from worker 0's queue, or counts it lost. */
static void announce_tx(struct announce_op *op, uint16_t port, struct rte_mbuf *m)
{
	if (m != NULL && rte_eth_tx_burst(port, 0, &m, 1) == 1) {
		op->frames++;
		return;
	}
	rte_pktmbuf_free(m);
	op->lost++;
	dp.workers[0].announce_lost++;
}

/* A broadcast RARP request from 'mac' (what a host that moved sends), tagged 'vlan'. */
static struct rte_mbuf *rarp_frame(const uint8_t *mac, uint16_t vlan)
{
	struct rte_mbuf *m;
	struct rte_arp_hdr *arp = dp_frame_bcast((const struct rte_ether_addr *)mac,
						 RTE_ETHER_TYPE_RARP, sizeof(*arp), &m);

	if (arp == NULL)
		return NULL;
	dp_arp_init(arp, 3); /* a reverse request */
	memcpy(&arp->arp_data.arp_sha, mac, RTE_ETHER_ADDR_LEN);
	memcpy(&arp->arp_data.arp_tha, mac, RTE_ETHER_ADDR_LEN);
	if (dse_egress_vlan_apply(m, DSE_VLAN_PUSH, vlan) < 0) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	return m;
}

static int fdb_apply_announce(void *arg)
{
	struct announce_op *op = arg;
	uint32_t cap = rte_hash_max_key_id(dp.fdb->hash);

	for (uint32_t i = 0; i <= cap; i++) {
		const struct dse_fdb_entry *e = &dp.fdb->entries[i];
		uint16_t port;
		int up;

		if (!dse_fdb_entry_used(e) || !dse_fdb_entry_static(e) ||
		    (op->segment != DSE_FDB_ALL && e->segment != op->segment))
			continue;
		port = dse_fdb_entry_port(e);
		/* The VMs' MACs: static entries on local ports, not behind an uplink or a TEP. */
		if (port >= DSE_MAX_PORTS || dp.ports[port].uplink ||
		    dp.segments[e->segment].vlan == 0 || (up = segment_uplink(e->segment)) < 0)
			continue;
		op->macs++;
		announce_tx(op, (uint16_t)up, rarp_frame(e->mac, dp.segments[e->segment].vlan));
	}
	/* The TEP moved with the switch: a gratuitous ARP (a request for itself). */
	if (dp.tep.ip != 0 && op->segment == DSE_FDB_ALL)
		announce_tx(op, dp.tep.uplink, dse_tep_arp_request(dp.tep.ip));
	return 0;
}

static int fdb_announce(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_fdb_announce *a = call->args;
	struct announce_op op = {.segment = DSE_FDB_ALL};

	if (a->has_segment && dse_dpud_find_segment(call, a->segment, &op.segment) < 0)
		return -EINVAL;
	if (atomic_load(&dp.hold) != 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "the datapath holds (a standby, or fenced after a stall): "
				     "it announces nothing (ha.show)");
	dp_call(fdb_apply_announce, &op);
	*ret = json_pack("{s:i, s:i, s:i}", "macs", op.macs, "frames", op.frames, "lost", op.lost);
	return 0;
}

static int fdb_show(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_fdb_list *args = call->args;
	struct fdb_op op = {.segment = DSE_FDB_ALL, .port = DSE_FDB_ALL};
	json_t *a;

	if ((args->has_segment && dse_dpud_find_segment(call, args->segment, &op.segment) < 0) ||
	    (args->has_port && dse_dpud_find_port(call, args->port, &op.port) < 0))
		return -EINVAL;
	if (dp_call(fdb_apply_copy, &op) < 0)
		return -ENOMEM;
	a = json_array();
	for (uint32_t i = 0; i < op.n_copy; i++) {
		const struct dse_fdb_entry *e = &op.copy[i];

		if ((op.segment != DSE_FDB_ALL && e->segment != op.segment) ||
		    (op.port != DSE_FDB_ALL && dse_fdb_entry_port(e) != op.port))
			continue;
		json_array_append_new(
			a, json_pack("{s:s, s:o, s:s, s:b, s:i}", "segment",
				     dp.segments[e->segment].name, "mac", dse_dpud_mac_json(e->mac), "port",
				     dp.ports[dse_fdb_entry_port(e)].name, "static",
				     dse_fdb_entry_static(e), "age", dse_fdb_entry_static(e) ? 0 : (int)(op.now_s - e->last_seen_s)));
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

static json_t *fdb_config_json(void)
{
	uint32_t cap = rte_hash_max_key_id(dp.fdb->hash);

	return json_pack("{s:i, s:i, s:i, s:i}", "max_entries", (int)dp.fdb->max_entries,
			 "capacity", (int)cap, "ageing_time", (int)dp.fdb->ageing_s, "entries",
			 (int)dp.fdb->n_entries);
}

static int fdb_config_show(struct dse_rpc_call *call, json_t **ret)
{
	RTE_SET_USED(call);
	*ret = fdb_config_json();
	return 0;
}

static int fdb_config_set(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_fdb_config_set *a = call->args;
	struct fdb_conf_op c = {a->has_max_entries ? a->max_entries : -1,
				a->has_ageing_time ? a->ageing_time : -1};
	uint32_t cap = rte_hash_max_key_id(dp.fdb->hash);

	/* The capacity is known only at run time (--fdb-size, the workers). */
	if (c.max_entries > (long long)cap)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "parameter 'max_entries' must be at most the capacity, %u "
				     "(--fdb-size)",
				     cap);
	dp_call(fdb_apply_config, &c);
	/* Only a call that sets something is a change; without values it shows. */
	if (c.max_entries >= 0 || c.ageing >= 0)
		dse_dpud_config_changed();
	*ret = fdb_config_json();
	return 0;
}

/* ---- config.save and stats.show ---- */

/* Orders FDB entries by segment (as config.save writes segments) and MAC. */
static int fdb_entry_cmp(const void *a, const void *b)
{
	const struct dse_fdb_entry *x = a, *y = b;

	if (x->segment != y->segment)
		return x->segment < y->segment ? -1 : 1;
	return memcmp(x->mac, y->mac, sizeof(x->mac));
}

/* Segments, ports, static FDB entries and the FDB's settings, in that order. */
static int l2_config_save(json_t *a)
{
	struct fdb_op op = {0};

	for (int s = 0; s < DSE_MAX_SEGMENTS; s++) {
		const struct dse_segment *seg = &dp.segments[s];

		if (!seg->used)
			continue;
		if (seg->vni)
			json_array_append_new(
				a, dse_dpud_call_json("segment.add",
						      json_pack("{s:s, s:i, s:o}", "name", seg->name,
								"vni", (int)seg->vni, "peers",
								dse_overlay_peers_json(seg))));
		else
			json_array_append_new(
				a, dse_dpud_call_json("segment.add",
						      json_pack("{s:s, s:i}", "name", seg->name,
								"vlan", seg->vlan)));
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
		json_array_append_new(a, dse_dpud_call_json("port.add", params));
	}
	/* A config without the static entries would replay into another one: fail instead. */
	if (dp_call(fdb_apply_copy, &op) < 0)
		return -ENOMEM;
	/* In one order whatever the table's history: a replay saves the same calls. */
	qsort(op.copy, op.n_copy, sizeof(*op.copy), fdb_entry_cmp);
	for (uint32_t i = 0; i < op.n_copy; i++) {
		const struct dse_fdb_entry *e = &op.copy[i];

		if (!dse_fdb_entry_static(e))
			continue;
		json_array_append_new(
			a, dse_dpud_call_json("fdb.add", json_pack("{s:s, s:o, s:s}", "segment",
								   dp.segments[e->segment].name,
								   "mac", dse_dpud_mac_json(e->mac),
								   "port", dp.ports[dse_fdb_entry_port(e)].name)));
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
		json_array_append_new(a, dse_dpud_call_json("fdb.config.set", p));
	}
	return 0;
}

/* The ports with their counters, and the FDB's. */
static void l2_stats(json_t *stats)
{
	json_t *ports = json_array();

	for (int i = 0; i < DSE_MAX_PORTS; i++)
		if (dp.ports[i].used)
			json_array_append_new(ports, port_json(&dp.ports[i]));
	json_object_set_new(stats, "ports", ports);
	json_object_set_new(stats, "fdb",
			    json_pack("{s:i, s:i, s:I, s:I, s:I, s:I}", "entries",
				      (int)dp.fdb->n_entries, "max_entries",
				      (int)dp.fdb->max_entries, "learned",
				      (json_int_t)dp.fdb->stats.learned, "moved",
				      (json_int_t)dp.fdb->stats.moved, "aged",
				      (json_int_t)dp.fdb->stats.aged, "full",
				      (json_int_t)dp.fdb->stats.full));
}

/* ---- the l2 module ---- */

static const struct dse_rpc_method l2_methods[] = {
	{"segment.add", segment_add},
	{"segment.del", segment_del},
	{"segment.list", segment_list},
	{"port.add", port_add},
	{"port.set", port_set},
	{"port.del", port_del},
	{"port.list", port_list},
	{"fdb.list", fdb_show},
	{"fdb.add", fdb_add},
	{"fdb.del", fdb_del},
	{"fdb.flush", fdb_flush},
	{"fdb.announce", fdb_announce},
	{"fdb.config.show", fdb_config_show},
	{"fdb.config.set", fdb_config_set},
	{NULL, NULL},
};

/* fdb.announce frames not sent. */
static uint64_t announce_lost(void)
{
	return dp.workers[0].announce_lost;
}

/* Flood copies not made for want of an mbuf, over the workers. */
static uint64_t flood_copy_failed(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < dp.n_workers; i++)
		n += dp.workers[i].flood_copy_failed;
	return n;
}

static const struct dse_drop_reason l2_drops[] = {
	{"no_segment", "ingress port is in no segment"},
	{"access_tagged", "VLAN-tagged frame on an access port"},
	{"trunk_untagged", "untagged frame on a trunk port"},
	{"vlan_unknown", "VLAN not carried by the ingress trunk"},
	{"src_multicast", "multicast or zero source MAC address"},
	{"same_port", "destination MAC is behind the ingress port"},
	{"flood_empty", "no other port in the segment to flood to"},
	{"flood_copy_no_mbuf", "no packet buffer for one copy of a flooded frame", flood_copy_failed},
	{"uplink_loop", "frame from an uplink with the source MAC of a local port"},
	{"uplink_to_uplink", "frame from one uplink to another (uplinks are a team)"},
	{"announce_lost", "a frame of fdb.announce not sent: no packet buffer or the uplink's queue "
			  "full", announce_lost},
	{NULL, NULL},
};

static struct dse_module l2_module = {
	.name = "l2",
	.order = 10,
	.methods = l2_methods,
	.drops = l2_drops,
	.config_save = l2_config_save,
	.stats = l2_stats,
};
DSE_MODULE_REGISTER(l2_module)
