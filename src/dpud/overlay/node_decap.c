/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_decap": Geneve packets for our TEP (the parse node sends them
 * here from the TEP's uplink).  Validates and strips the outer headers
 * (geneve.c), finds the segment of the VNI and the peer that sent it, and
 * sends the inner frame back to "dse_parse" as if it had been received on
 * the peer's virtual port, in the VNI's segment.  The peer's MAC is learned
 * from the outer header on the way.
 */
#include <rte_mbuf.h>

#include "dp.h"
#include "geneve.h"
#include "module.h"
#include "node.h"
#include "tep.h"

/* Edge 0 goes on; edge 'r' (1..) is Geneve error 'r'; then the unknown-TEP drop. */
enum {
	DECAP_NEXT_PARSE = 0,
	DECAP_NEXT_UNKNOWN = DSE_GENEVE__MAX,
	DECAP_NEXT_N,
};

static inline uint16_t decap_one(struct rte_mbuf *m)
{
	struct dse_meta *meta = dse_meta(m);
	struct dse_geneve_rx rx;
	struct rte_ether_addr known;
	const struct dse_segment *seg;
	uint16_t s, vport = DSE_NO_PORT;
	int r = dse_geneve_decap(m, &rx);

	if (r != DSE_GENEVE_OK)
		return (uint16_t)r;
	s = dp_vni_segment(rx.vni);
	if (s == DSE_NO_SEGMENT)
		return DECAP_NEXT_UNKNOWN;
	seg = &dp.segments[s];
	/* Only the segment's own peers may put frames into it. */
	for (uint16_t i = 0; i < seg->n_peers; i++)
		if (dp.ports[seg->peers[i]].tep_ip == rx.remote_ip)
			vport = seg->peers[i];
	if (vport == DSE_NO_PORT)
		return DECAP_NEXT_UNKNOWN;
	if (unlikely(!dp_tep_mac(&dp.ports[vport], &known) ||
		     !rte_is_same_ether_addr(&known, &rx.remote_mac)))
		dse_tep_learn(rx.remote_ip, &rx.remote_mac);
	m->port = vport;
	meta->segment = s;
	/* What the device checked was the outer packet: the inner one is checked anew. */
	m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	return DECAP_NEXT_PARSE;
}

static uint16_t decap_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			      uint16_t n)
{
	struct dse_enq q;

	dse_enq_start(&q, graph, node, objs, n, DECAP_NEXT_PARSE);
	for (uint16_t i = 0; i < n; i++)
		dse_enq(&q, decap_one(objs[i]));
	return dse_enq_end(&q);
}

static int node_decap_register(void)
{
	static const char *const next[] = {"dse_parse"};
	const char *drops[DSE_GENEVE__MAX];

	for (int r = 1; r < DSE_GENEVE__MAX; r++)
		drops[r - 1] = dse_geneve_name(r);
	drops[DSE_GENEVE__MAX - 1] = "tep_unknown";
	return dse_node_register("dse_decap", 0, decap_process, NULL, next, 1, drops,
				 DSE_GENEVE__MAX) == RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
DSE_NODE_REGISTER(node_decap_register)
