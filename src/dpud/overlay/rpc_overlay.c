/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON-RPC methods of the Geneve overlay: our tunnel endpoint (tep.set,
 * tep.show) and the peers of overlay segments (segment.set).  Each peer TEP
 * is a virtual port (dp.h) shared by the segments that name it; the FDB
 * learns remote MACs behind it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>

#include "dp.h"
#include "geneve.h"
#include "module.h"
#include "rpc.h"
#include "rpc_overlay.h"

/* Frees virtual port 'p' and what the FDB learned behind it.  Worker context. */
static void vport_free(uint16_t p)
{
	dse_fdb_flush(dp.fdb, DSE_FDB_ALL, p, true);
	memset(&dp.ports[p], 0, sizeof(dp.ports[p]));
}

/* Returns the virtual port of peer 'ip', making one if needed, or DSE_NO_PORT when full. */
static uint16_t vport_get(uint32_t ip)
{
	uint16_t free_p = DSE_NO_PORT;

	for (uint16_t p = DSE_MAX_PORTS; p < DSE_MAX_VPORTS; p++) {
		if (dp.ports[p].used && dp.ports[p].tep_ip == ip)
			return p;
		if (!dp.ports[p].used && free_p == DSE_NO_PORT)
			free_p = p;
	}
	if (free_p != DSE_NO_PORT) {
		struct dse_port *v = &dp.ports[free_p];
		char a[INET_ADDRSTRLEN];

		memset(v, 0, sizeof(*v));
		inet_ntop(AF_INET, &ip, a, sizeof(a));
		snprintf(v->name, sizeof(v->name), DSE_TEP_PORT_PREFIX "%s", a);
		v->used = true;
		v->tunnel = true;
		v->uplink = true; /* a tunnel is toward the physical network: part of the team */
		v->port_id = free_p;
		v->mtu = 9000;    /* inner frames: the underlay MTU limits them at encapsulation */
		v->mode = DSE_PORT_ACCESS;
		v->segment = DSE_NO_SEGMENT;
		v->tep_ip = ip;
	}
	return free_p;
}

struct peers_op {
	uint16_t seg;
	uint16_t n;
	uint32_t ips[DSE_MAX_TEPS];
	int r;
};

static int peers_apply(void *arg)
{
	struct peers_op *op = arg;
	struct dse_segment *seg = &dp.segments[op->seg];
	uint16_t next[DSE_MAX_TEPS];

	for (uint16_t i = 0; i < op->n; i++) {
		next[i] = vport_get(op->ips[i]);
		if (next[i] == DSE_NO_PORT) {
			op->r = -ENOSPC;
			/* Undo the ports made for this call and not yet referenced. */
			for (uint16_t k = 0; k < i; k++)
				if (dp.ports[next[k]].tep_refs == 0)
					vport_free(next[k]);
			return 0;
		}
	}
	for (uint16_t i = 0; i < op->n; i++)
		dp.ports[next[i]].tep_refs++;
	for (uint16_t i = 0; i < seg->n_peers; i++) {
		struct dse_port *v = &dp.ports[seg->peers[i]];

		/* What was learned behind the peer in this segment goes with it. */
		dse_fdb_flush(dp.fdb, op->seg, seg->peers[i], true);
		if (--v->tep_refs == 0)
			vport_free(seg->peers[i]);
	}
	memcpy(seg->peers, next, sizeof(next[0]) * op->n);
	seg->n_peers = op->n;
	dp.tep.next_arp_ns = 0; /* ask for the new peers' MACs at once */
	dp_segments_rebuild();
	return 0;
}

int dse_overlay_set_peers(struct dse_rpc_call *call, uint16_t seg, json_t *peers)
{
	struct peers_op op = {.seg = seg};
	size_t i;
	json_t *v;

	/* The schema checked the list: at most dpu_peers (DSE_MAX_TEPS) IPv4 addresses. */
	json_array_foreach(peers, i, v) {
		uint32_t ip = 0;

		inet_pton(AF_INET, json_string_value(v), &ip);
		if (ip == 0)
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "peers[%zu] is 0.0.0.0, not a peer's address", i);
		if (ip == dp.tep.ip)
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "peers[%zu] is our own TEP address", i);
		for (uint16_t k = 0; k < op.n; k++)
			if (op.ips[k] == ip)
				return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
						     "peers[%zu] is listed twice", i);
		op.ips[op.n++] = ip;
	}
	dp_call(peers_apply, &op);
	if (op.r < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "too many peer TEPs (at most %d)",
				     DSE_MAX_TEPS);
	return 0;
}

/* Drops the peers of segment 'seg' (before it is removed). */
static void overlay_segment_removed(uint16_t seg)
{
	struct peers_op op = {.seg = seg};

	dp_call(peers_apply, &op);
}

json_t *dse_overlay_peers_json(const struct dse_segment *seg)
{
	json_t *a = json_array();

	for (uint16_t i = 0; i < seg->n_peers; i++) {
		char buf[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &dp.ports[seg->peers[i]].tep_ip, buf, sizeof(buf));
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

static int segment_set(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_segment_set *a = call->args;
	const char *name = a->name;
	uint16_t seg;

	if (dse_dpud_find_segment(call, name, &seg) < 0)
		return -EINVAL;
	if (dp.segments[seg].vni == 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "segment '%s' is a VLAN segment: only overlay (vni) segments "
				     "have peers",
				     name);
	if (a->has_peers && dse_overlay_set_peers(call, seg, a->peers) < 0)
		return -EINVAL;
	dse_dpud_config_changed();
	*ret = NULL;
	return 0;
}

struct tep_op {
	uint32_t ip;
	uint16_t uplink;
	struct rte_ether_addr mac;
};

static int tep_apply(void *arg)
{
	struct tep_op *op = arg;

	dp.tep.ip = op->ip;
	dp.tep.uplink = op->uplink;
	dp.tep.mac = op->mac;
	dp.tep.next_arp_ns = 0;
	dp_segments_rebuild();
	return 0;
}

/* The name of a segment that has virtual port 'p' among its peers. */
static const char *peer_segment_name(uint16_t p)
{
	for (uint16_t s = 0; s < DSE_MAX_SEGMENTS; s++)
		for (uint16_t i = 0; dp.segments[s].used && i < dp.segments[s].n_peers; i++)
			if (dp.segments[s].peers[i] == p)
				return dp.segments[s].name;
	return "?";
}

static int tep_set(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_tep_set *a = call->args;
	struct tep_op op = {.ip = a->ip};
	const char *ip = json_string_value(json_object_get(call->params, "ip")), *uplink = a->uplink;

	if (op.ip == 0)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "'ip' must be the TEP's IPv4 address, not \"%s\"", ip);
	op.uplink = dp_port_find(uplink);
	if (op.uplink == DSE_NO_PORT)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "no port '%s' (port.list shows them)",
				     uplink);
	if (!dp.ports[op.uplink].uplink)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "port '%s' is not an uplink (port.set uplink true first)",
				     uplink);
	for (uint16_t p = DSE_MAX_PORTS; p < DSE_MAX_VPORTS; p++)
		if (dp.ports[p].used && dp.ports[p].tep_ip == op.ip)
			return dse_rpc_error(call, DSE_RPC_APP_ERROR,
					     "%s is the address of a peer TEP of segment '%s': "
					     "take it out of the segment's peers (segment.set) first",
					     ip, peer_segment_name(p));
	rte_eth_macaddr_get(op.uplink, &op.mac);
	dp_call(tep_apply, &op);
	dse_dpud_config_changed();
	*ret = NULL;
	return 0;
}

/* The tep.set call that re-creates our TEP, or NULL without one. */
static json_t *overlay_tep_call(void)
{
	char buf[INET_ADDRSTRLEN];

	if (dp.tep.ip == 0)
		return NULL;
	inet_ntop(AF_INET, &dp.tep.ip, buf, sizeof(buf));
	return json_pack("{s:s, s:{s:s, s:s}}", "method", "tep.set", "params", "ip", buf,
			 "uplink", dp.ports[dp.tep.uplink].name);
}

static int tep_show(struct dse_rpc_call *call, json_t **ret)
{
	char buf[INET_ADDRSTRLEN], mac[RTE_ETHER_ADDR_FMT_SIZE];
	json_t *peers = json_array();

	RTE_SET_USED(call);
	for (uint16_t p = DSE_MAX_PORTS; p < DSE_MAX_VPORTS; p++) {
		const struct dse_port *v = &dp.ports[p];
		struct rte_ether_addr ea;
		bool known;

		if (!v->used)
			continue;
		inet_ntop(AF_INET, &v->tep_ip, buf, sizeof(buf));
		known = dp_tep_mac(v, &ea);
		rte_ether_format_addr(mac, sizeof(mac), &ea);
		json_array_append_new(peers, json_pack("{s:s, s:s, s:o, s:i}", "ip", buf, "port",
						       v->name, "mac",
						       known ? json_string(mac) : json_null(),
						       "segments", v->tep_refs));
	}
	if (dp.tep.ip == 0) {
		*ret = json_pack("{s:n, s:o}", "ip", "peers", peers);
		return 0;
	}
	inet_ntop(AF_INET, &dp.tep.ip, buf, sizeof(buf));
	rte_ether_format_addr(mac, sizeof(mac), &dp.tep.mac);
	*ret = json_pack("{s:s, s:s, s:s, s:i, s:o}", "ip", buf, "mac", mac, "uplink",
			 dp.ports[dp.tep.uplink].name, "mtu", dp.ports[dp.tep.uplink].mtu, "peers",
			 peers);
	return 0;
}

const struct dse_rpc_method dse_overlay_methods[] = {
	{"segment.set", segment_set},
	{"tep.set", tep_set},
	{"tep.show", tep_show},
	{NULL, NULL},
};

/* ---- the overlay module ---- */

/* Our TEP, after the segments and ports it needs. */
static int overlay_config_save(json_t *calls)
{
	json_t *tep = overlay_tep_call();

	if (tep)
		json_array_append_new(calls, tep);
	return 0;
}

/* ARP requests for peer TEPs not sent (no mbuf, or the uplink's queue full). */
static uint64_t tep_arp_lost(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < dp.n_workers; i++)
		n += dp.workers[i].tep_arp_lost;
	return n;
}

/* The decapsulation reasons of geneve.h, then the overlay nodes' own (overlay_init()). */
static struct dse_drop_reason overlay_drops[DSE_GENEVE__MAX - 1 + 4 + 1];

static int overlay_init(void)
{
	unsigned n = 0;

	for (int r = 1; r < DSE_GENEVE__MAX; r++)
		overlay_drops[n++] =
			(struct dse_drop_reason){dse_geneve_name(r), dse_geneve_strerror(r)};
	overlay_drops[n++] = (struct dse_drop_reason){
		"tep_unknown", "Geneve packet of an unknown VNI or from a TEP that is not its peer"};
	overlay_drops[n++] = (struct dse_drop_reason){
		"tep_unresolved", "the peer TEP's MAC address is not known yet (ARP pending)"};
	overlay_drops[n++] = (struct dse_drop_reason){
		"overlay_oversize", "frame too large for the underlay MTU once encapsulated"};
	overlay_drops[n++] = (struct dse_drop_reason){
		"tep_arp_lost", "an ARP request for a peer TEP not sent: no packet buffer or the "
				"uplink's queue full",
		tep_arp_lost};
	return 0;
}

static struct dse_module overlay_module = {
	.name = "overlay",
	.order = 30,
	.init = overlay_init,
	.methods = dse_overlay_methods,
	.drops = overlay_drops,
	.config_save = overlay_config_save,
	.segment_removed = overlay_segment_removed,
};
DSE_MODULE_REGISTER(overlay_module)
