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

/*
 * Returns the outer headers toward 'peer' for our TEP 'tx->local', made
 * again when the peer's address or MAC or our TEP changed since.  (This
 * node's 'tx' has no outer tag and DSCP 0 for every peer, so those are not
 * compared.)
 */
static inline const struct dse_geneve_tpl *encap_tpl(struct dse_worker *w, uint16_t vport,
						     const struct dse_port *peer,
						     struct dse_geneve_tx *tx)
{
	struct dse_geneve_peer_tpl *t = &w->encap_tpl[vport - DSE_MAX_PORTS];

	/* 'tx->nh_mac' holds the peer's MAC as the caller read it (dp_tep_mac()). */
	if (unlikely(!t->valid || t->remote_ip != peer->tep_ip || t->local_ip != tx->local.ip ||
		     !rte_is_same_ether_addr(&t->nh_mac, &tx->nh_mac) ||
		     !rte_is_same_ether_addr(&t->local_mac, &tx->local.mac))) {
		tx->remote_ip = peer->tep_ip;
		dse_geneve_tpl_build(&t->tpl, tx);
		t->remote_ip = peer->tep_ip;
		t->local_ip = tx->local.ip;
		t->nh_mac = tx->nh_mac;
		t->local_mac = tx->local.mac;
		t->valid = 1;
	}
	return &t->tpl;
}

static inline uint16_t encap_one(struct dse_worker *w, struct rte_mbuf *m,
				 struct dse_geneve_tx *tx)
{
	const struct dse_meta *meta = dse_meta(m);
	const struct dse_port *peer = &dp.ports[m->port];
	int r;

	if (unlikely(!dp_tep_mac(peer, &tx->nh_mac) || dp.tep.ip == 0))
		return ENCAP_NEXT_UNRESOLVED;
	r = dse_geneve_encap_tpl(m, encap_tpl(w, m->port, peer, tx), tx->mtu,
				 dp.segments[meta->segment].vni,
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
	struct dse_worker *w = dp_worker();
	struct dse_enq q;

	dse_enq_start(&q, graph, node, objs, n, ENCAP_NEXT_TX);
	for (uint16_t i = 0; i < n; i++)
		dse_enq(&q, encap_one(w, objs[i], &tx));
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
