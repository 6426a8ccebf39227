/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_refrag": a reassembled datagram the firewall let through
 * leaves fragmented again (frag.h): in fragments as large as the largest
 * it came in, and no larger than the egress port (or, for a tunnel, the
 * underlay less the Geneve overhead) carries.  Each fragment gets the
 * VLAN edit of its egress port and goes to "dse_tx", or, for a datagram
 * that is flooded, to "dse_flood".
 */
#include <rte_mbuf.h>

#include "dp.h"
#include "egress.h"
#include "frag.h"
#include "geneve.h"
#include "module.h"
#include "node.h"

enum { REFRAG_NEXT_TX, REFRAG_NEXT_FLOOD, REFRAG_NEXT_NO_MBUF, REFRAG_NEXT_N };

/* Most fragments of one datagram: 64 KiB in fragments of at least 512 bytes. */
#define REFRAG_MAX_OUT	   128
#define REFRAG_MIN_PAYLOAD 512

/* The largest IP packet that may leave through port 'p'. */
static inline uint32_t refrag_mtu(uint16_t p)
{
	if (p >= DSE_MAX_PORTS) {
		uint32_t mtu = dp.ports[dp.tep.uplink].mtu;

		return mtu > DSE_GENEVE_IP4_OVERHEAD ? mtu - DSE_GENEVE_IP4_OVERHEAD : 0;
	}
	return dp.ports[p].mtu;
}

static void refrag_one(struct rte_graph *graph, struct rte_node *node, struct rte_mbuf *m)
{
	const struct dse_meta meta = *dse_meta(m);
	const bool v6 = meta.pi.l3 == DSE_L3_IPV6;
	const uint32_t hl = v6 ? 48 : meta.pi.l3_len;
	struct rte_mbuf *out[REFRAG_MAX_OUT];
	uint32_t mtu = refrag_mtu(meta.out_port == DSE_NO_PORT ? meta.in_port : meta.out_port);
	const uint32_t room = rte_pktmbuf_data_room_size(dp.pool) - RTE_PKTMBUF_HEADROOM;
	uint32_t payload = meta.frag_size;
	int n;

	if (mtu > hl && mtu - hl < payload)
		payload = mtu - hl;
	/* A fragment is one mbuf, with its layer 2 header and room for a tag. */
	if (room > meta.pi.l3_off + hl + 4u && room - meta.pi.l3_off - hl - 4 < payload)
		payload = room - meta.pi.l3_off - hl - 4;
	/* Ports with MTUs this small do not occur; REFRAG_MAX_OUT then always suffices. */
	payload = RTE_MAX(payload, (uint32_t)REFRAG_MIN_PAYLOAD);
	n = dse_frag_split(m, &meta.pi, (uint16_t)payload, *dse_meta_frag_id(m), dp.pool, out,
			   REFRAG_MAX_OUT);
	if (n < 0) {
		rte_node_enqueue_x1(graph, node, REFRAG_NEXT_NO_MBUF, m);
		return;
	}
	rte_pktmbuf_free(m);
	dp_worker()->frag->fragmented++;
	for (int i = 0; i < n; i++) {
		struct rte_mbuf *f = out[i];
		struct dse_meta *fm = dse_meta(f);
		uint16_t tci = 0;
		uint8_t op;

		*fm = meta;
		fm->frag_size = 0;
		fm->pi.ip_end = (uint16_t)rte_pktmbuf_data_len(f);
		fm->pi.ip_mf = i + 1 < n;
		fm->pi.ip_frag = i > 0;
		f->port = meta.in_port;
		if (meta.out_port == DSE_NO_PORT) {
			rte_node_enqueue_x1(graph, node, REFRAG_NEXT_FLOOD, f);
			continue;
		}
		op = dse_egress_vlan_op(&dp.ports[meta.out_port], meta.segment, meta.pi.n_vlans,
					&tci);
		if (dse_egress_vlan_apply(f, op, tci) != 0) {
			rte_node_enqueue_x1(graph, node, REFRAG_NEXT_NO_MBUF, f);
			continue;
		}
		f->port = meta.out_port;
		rte_node_enqueue_x1(graph, node, REFRAG_NEXT_TX, f);
	}
}

static uint16_t refrag_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			       uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		refrag_one(graph, node, objs[i]);
	return n;
}

static int node_refrag_register(void)
{
	static const char *const next[] = {"dse_tx", "dse_flood"};
	static const char *const drops[] = {"no_mbuf"};

	RTE_BUILD_BUG_ON(REFRAG_NEXT_N != RTE_DIM(next) + RTE_DIM(drops));
	return dse_node_register("dse_refrag", 0, refrag_process, NULL, next, RTE_DIM(next),
				 drops, RTE_DIM(drops)) == RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
DSE_NODE_REGISTER(node_refrag_register)
