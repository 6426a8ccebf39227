/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_encap": frames whose egress is a peer TEP's virtual port (the
 * tx node sends them here) are encapsulated in Geneve with their segment's
 * VNI and sent out of the TEP's uplink.  The outer UDP source port carries
 * a hash of the inner flow, so the underlay can spread the flows.
 */
#include <rte_mbuf.h>

#include "dp.h"
#include "geneve.h"
#include "module.h"
#include "node.h"

enum {
	ENCAP_NEXT_TX,
	ENCAP_NEXT_UNRESOLVED,
	ENCAP_NEXT_OVERSIZE,
	ENCAP_NEXT_NO_MBUF,
	ENCAP_NEXT_N
};

static inline uint16_t encap_one(struct rte_mbuf *m, struct dse_geneve_tx *tx)
{
	const struct dse_meta *meta = dse_meta(m);
	const struct dse_port *peer = &dp.ports[m->port];
	int r;

	if (unlikely(!dp_tep_mac(peer, &tx->nh_mac) || dp.tep.ip == 0))
		return ENCAP_NEXT_UNRESOLVED;
	tx->remote_ip = peer->tep_ip;
	tx->vni = dp.segments[meta->segment].vni;
	r = dse_geneve_encap(m, tx,
			     dse_geneve_flow_hash(rte_pktmbuf_mtod(m, const uint8_t *),
						  rte_pktmbuf_data_len(m)));
	if (unlikely(r != 0))
		return r == -EMSGSIZE ? ENCAP_NEXT_OVERSIZE : ENCAP_NEXT_NO_MBUF;
	m->port = dp.tep.uplink;
	return ENCAP_NEXT_TX;
}

static uint16_t encap_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			      uint16_t n)
{
	struct dse_geneve_tx tx = {
		.local = {.ip = dp.tep.ip, .mac = dp.tep.mac},
		.mtu = dp.ports[dp.tep.uplink].mtu,
	};
	struct dse_enq q;

	dse_enq_start(&q, graph, node, objs, n, ENCAP_NEXT_TX);
	for (uint16_t i = 0; i < n; i++)
		dse_enq(&q, encap_one(objs[i], &tx));
	return dse_enq_end(&q);
}

static int node_encap_register(void)
{
	static const char *const next[] = {"dse_tx"};
	static const char *const drops[] = {"tep_unresolved", "overlay_oversize", "no_mbuf"};

	RTE_BUILD_BUG_ON(ENCAP_NEXT_N != 1 + RTE_DIM(drops));
	return dse_node_register("dse_encap", 0, encap_process, NULL, next, 1, drops,
				 RTE_DIM(drops)) == RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
DSE_NODE_REGISTER(node_encap_register)
