/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_segment": puts each frame in its segment.  An access port's
 * frames are in the port's segment and must be untagged; a trunk's frames
 * must carry the VLAN of a segment the trunk carries.
 */
#include <rte_mbuf.h>

#include "dp.h"
#include "module.h"
#include "node.h"

enum {
	SEG_NEXT_FDB,
	SEG_NEXT_NO_SEGMENT,
	SEG_NEXT_ACCESS_TAGGED,
	SEG_NEXT_TRUNK_UNTAGGED,
	SEG_NEXT_VLAN_UNKNOWN,
	SEG_NEXT_N
};

static inline uint16_t classify(struct rte_mbuf *m)
{
	struct dse_meta *meta = dse_meta(m);
	const struct dse_port *port = &dp.ports[meta->in_port];
	uint16_t seg;

	/* Decapsulation put the inner frame in its VNI's segment. */
	if (port->tunnel)
		return meta->segment == DSE_NO_SEGMENT ? SEG_NEXT_NO_SEGMENT : SEG_NEXT_FDB;
	if (port->mode == DSE_PORT_ACCESS) {
		if (meta->pi.n_vlans)
			return SEG_NEXT_ACCESS_TAGGED;
		if (port->segment == DSE_NO_SEGMENT)
			return SEG_NEXT_NO_SEGMENT;
		meta->segment = port->segment;
		return SEG_NEXT_FDB;
	}
	if (meta->pi.n_vlans == 0)
		return SEG_NEXT_TRUNK_UNTAGGED;
	seg = dp.vlan_seg[meta->pi.vlan_tci & 0xfff];
	if (seg == DSE_NO_SEGMENT || !(port->trunk_segs[seg / 64] & (1ull << (seg % 64))))
		return SEG_NEXT_VLAN_UNKNOWN;
	meta->segment = seg;
	return SEG_NEXT_FDB;
}

static uint16_t segment_process(struct rte_graph *graph, struct rte_node *node, void **objs,
				uint16_t n)
{
	struct dse_enq q;

	dse_enq_start(&q, graph, node, objs, n, SEG_NEXT_FDB);
	for (uint16_t i = 0; i < n; i++)
		dse_enq(&q, classify(objs[i]));
	return dse_enq_end(&q);
}

static int node_segment_register(void)
{
	static const char *const next[] = {"dse_fdb"};
	static const char *const drops[] = {"no_segment", "access_tagged", "trunk_untagged",
					    "vlan_unknown"};

	return dse_node_register("dse_segment", 0, segment_process, NULL, next, 1, drops,
				 RTE_DIM(drops)) == RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
DSE_NODE_REGISTER(node_segment_register)
