/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_flood": sends broadcast, multicast and unknown unicast frames to
 * every other local port of their segment, never back out of the ingress
 * port, and, when they come from a local port, out of the segment's one
 * flood uplink.
 * Each egress port gets its own copy (its VLAN edit differs); the last one
 * gets the original.
 */
#include <rte_mbuf.h>

#include "dp.h"
#include "egress.h"
#include "module.h"
#include "node.h"

enum { FLOOD_NEXT_TX, FLOOD_NEXT_EMPTY, FLOOD_NEXT_NO_MBUF, FLOOD_NEXT_N };

static void flood_one(struct rte_graph *graph, struct rte_node *node, struct rte_mbuf *m)
{
	const struct dse_meta *meta = dse_meta(m);
	const struct dse_segment *seg = &dp.segments[meta->segment];
	uint16_t outs[DSE_MAX_VPORTS], n_out = 0;

	for (uint16_t i = 0; i < seg->n_members; i++)
		if (seg->members[i] != meta->in_port)
			outs[n_out++] = seg->members[i];
	/*
	 * One uplink carries the flood out, and never one that brought it in;
	 * an overlay segment replicates it to every peer TEP instead.
	 */
	if (!dp.ports[meta->in_port].uplink) {
		if (seg->flood_uplink != DSE_NO_PORT)
			outs[n_out++] = seg->flood_uplink;
		for (uint16_t i = 0; i < seg->n_peers; i++)
			outs[n_out++] = seg->peers[i];
	}
	if (n_out == 0) {
		rte_node_enqueue_x1(graph, node, FLOOD_NEXT_EMPTY, m);
		return;
	}
	for (uint16_t i = 0; i < n_out; i++) {
		struct rte_mbuf *c = m;
		uint16_t tci = 0;
		uint8_t op = dse_egress_vlan_op(&dp.ports[outs[i]], meta->segment, meta->pi.n_vlans,
						&tci);

		if (i + 1 < n_out) {
			c = rte_pktmbuf_copy(m, dp.pool, 0, UINT32_MAX);
			if (c == NULL) {
				/* No mbuf to count on a drop edge: count the lost copy here. */
				dp_worker()->flood_copy_failed++;
				continue;
			}
		}
		if (dse_egress_vlan_apply(c, op, tci) != 0) {
			rte_node_enqueue_x1(graph, node, FLOOD_NEXT_NO_MBUF, c);
			continue;
		}
		c->port = outs[i];
		rte_node_enqueue_x1(graph, node, FLOOD_NEXT_TX, c);
	}
}

static uint16_t flood_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			      uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		flood_one(graph, node, objs[i]);
	return n;
}

static int node_flood_register(void)
{
	static const char *const next[] = {"dse_tx"};
	static const char *const drops[] = {"flood_empty", "no_mbuf"};

	return dse_node_register("dse_flood", 0, flood_process, NULL, next, 1, drops,
				 RTE_DIM(drops)) == RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
DSE_NODE_REGISTER(node_flood_register)
