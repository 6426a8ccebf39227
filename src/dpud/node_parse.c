/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_parse": validates every frame (see parse.h), drops malformed ones
 * to the drop node of their reason, drops frames above the ingress port's
 * MTU, and records the layer offsets in the packet's metadata.
 */
#include <rte_mbuf.h>

#include "dp.h"
#include "node.h"
#include "parse.h"

/* Edge 0 goes on; edge 'r' (1..) is parse reason 'r'; then oversize. */
enum {
	PARSE_NEXT_FLOW = 0,
	PARSE_NEXT_OVERSIZE = DSE_PARSE__MAX,
	PARSE_NEXT_N,
};

static uint16_t parse_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			      uint16_t n)
{
	struct dse_enq q;

	dse_enq_start(&q, graph, node, objs, n, PARSE_NEXT_FLOW);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = objs[i];
		struct dse_meta *meta = dse_meta(m);
		struct dse_pkt_info info;
		uint32_t len = rte_pktmbuf_data_len(m);
		int r;

		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod((struct rte_mbuf *)objs[i + 1], void *));
		/*
		 * Length first: a frame above the MTU may have been cut by the
		 * port, and its headers would then lie about its length.
		 */
		if (unlikely(len > (uint32_t)dp.ports[m->port].mtu + DSE_L2_OVERHEAD)) {
			dse_enq(&q, PARSE_NEXT_OVERSIZE);
			continue;
		}
		r = dse_parse_frame(rte_pktmbuf_mtod(m, const uint8_t *), len, &info);
		if (unlikely(r != DSE_PARSE_OK)) {
			dse_enq(&q, (uint16_t)r);
			continue;
		}
		/* The MTU counts the L3 packet: the Ethernet header and tags come on top. */
		if (unlikely(len > (uint32_t)dp.ports[m->port].mtu + 14 + 4u * info.n_vlans ||
			     m->nb_segs != 1)) {
			dse_enq(&q, PARSE_NEXT_OVERSIZE);
			continue;
		}
		meta->in_port = m->port;
		meta->segment = DSE_NO_SEGMENT;
		meta->l3_off = info.l3_off;
		meta->vlan_tci = info.vlan_tci;
		meta->n_vlans = info.n_vlans;
		meta->l3 = info.l3;
		meta->l4_proto = info.l4_proto;
		meta->l4_off = info.l4_off;
		dse_enq(&q, PARSE_NEXT_FLOW);
	}
	return dse_enq_end(&q);
}

int dse_node_parse_register(void)
{
	static const char *const next[] = {"dse_flow"};
	enum dse_drop drops[DSE_PARSE__MAX];

	/* Edge r (r >= 1) is parse error r: the parse reasons lead the drop list. */
	for (int r = 1; r < DSE_PARSE__MAX; r++)
		drops[r - 1] = (enum dse_drop)(r - 1);
	drops[DSE_PARSE__MAX - 1] = DSE_DROP_OVERSIZE;
	return dse_node_register("dse_parse", 0, parse_process, NULL, next, 1, drops,
				 DSE_PARSE__MAX) == RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
