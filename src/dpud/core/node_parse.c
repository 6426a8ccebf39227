/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_parse": validates every frame (see parse.h), drops malformed ones
 * to the drop node of their reason, drops frames above the ingress port's
 * MTU; the parser writes what it found straight into the packet's metadata.
 * A frame of a port without a firewalled segment that hits the layer 2
 * flow cache goes from here to "dse_tx": the flow node's own pass over the
 * burst (reading each mbuf, its metadata and its frame again) is saved.
 */
#include <rte_mbuf.h>

#include "dp.h"
#include "egress.h"
#include "module.h"
#include "node.h"
#include "geneve.h"
#include "parse.h"

/* Edge 0 goes on; edge 'r' (1..) is parse reason 'r'; then oversize. */
enum {
	PARSE_NEXT_FLOW = 0,
	PARSE_NEXT_OVERSIZE = DSE_PARSE__MAX,
	PARSE_NEXT_DECAP,
	PARSE_NEXT_TEP_ARP,
	PARSE_NEXT_TX, /* a layer 2 flow cache hit */
	PARSE_NEXT_N,
};

/*
 * On the TEP's uplink: Geneve for our TEP address goes to "dse_decap", ARP
 * for it and gratuitous ARP (sender = target: an address announcing its
 * MAC) to "dse_tep_arp"; anything else is switched as usual.
 */
/* Whether 'ip' is one of our peer TEPs (ARP only: rare enough for a walk). */
static bool peer_tep(uint32_t ip)
{
	for (uint16_t p = DSE_MAX_PORTS; p < DSE_MAX_VPORTS; p++)
		if (dp.ports[p].used && dp.ports[p].tep_ip == ip)
			return true;
	return false;
}

static inline uint16_t parse_tep(const uint8_t *frame, const struct dse_pkt_info *info)
{
	const uint8_t *l3 = frame + info->l3_off;
	uint32_t ip;

	if (info->l3 == DSE_L3_IPV4 && info->l4_proto == 17 && info->l4_off != 0) {
		const uint8_t *l4 = frame + info->l4_off;

		memcpy(&ip, l3 + 16, 4);
		if (ip == dp.tep.ip && l4[2] == (DSE_GENEVE_UDP_PORT >> 8) &&
		    l4[3] == (DSE_GENEVE_UDP_PORT & 0xff))
			return PARSE_NEXT_DECAP;
	} else if (info->l3 == DSE_L3_ARP) {
		uint32_t sip;

		memcpy(&ip, l3 + 24, 4); /* target protocol address */
		memcpy(&sip, l3 + 14, 4);
		/*
		 * For our TEP, or the gratuitous ARP of a peer TEP on the underlay
		 * (untagged: it moved to another DPU); any other gratuitous ARP is
		 * switched as usual.
		 */
		if (ip == dp.tep.ip || (sip == ip && info->n_vlans == 0 && peer_tep(sip)))
			return PARSE_NEXT_TEP_ARP;
	}
	return PARSE_NEXT_FLOW;
}

static uint16_t parse_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			      uint16_t n)
{
	struct dse_worker *w = dp_worker();
	struct dse_flow_cache *fc = w->flows;
	const struct dse_fdb *fdb = dp.fdb;
	const uint32_t gen = dp.flow_gen, now_s = w->now_s;
	uint32_t hits = 0;
	struct dse_enq q;

	/* The edge most packets took last time (the flow or the tx node) is the one speculated on. */
	dse_enq_start(&q, graph, node, objs, n, w->parse_spec);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = objs[i];
		struct dse_meta *meta = dse_meta(m);
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
		r = dse_parse_frame(rte_pktmbuf_mtod(m, const uint8_t *), len, &meta->pi);
		if (unlikely(r != DSE_PARSE_OK)) {
			dse_enq(&q, (uint16_t)r);
			continue;
		}
		/* The MTU counts the L3 packet: the Ethernet header and tags come on top. */
		if (unlikely(len > (uint32_t)dp.ports[m->port].mtu + 14 + 4u * meta->pi.n_vlans ||
			     m->nb_segs != 1)) {
			dse_enq(&q, PARSE_NEXT_OVERSIZE);
			continue;
		}
		meta->in_port = m->port;
		meta->frag_size = 0;
		/* meta->segment is left as is: decapsulation sets it for the inner frame. */
		if (unlikely(dp.ports[m->port].tep_uplink)) {
			dse_enq(&q, parse_tep(rte_pktmbuf_mtod(m, const uint8_t *), &meta->pi));
			continue;
		}
		/* A miss goes on to the flow node, which looks again and counts it. */
		if (likely(!dp.ports[m->port].fw_any) &&
		    dse_flow_hit(fc, fdb, m, meta, gen, now_s)) {
			hits++;
			dse_enq(&q, PARSE_NEXT_TX);
			continue;
		}
		dse_enq(&q, PARSE_NEXT_FLOW);
	}
	fc->hits += hits;
	w->parse_spec = hits > n / 2 ? PARSE_NEXT_TX : PARSE_NEXT_FLOW;
	return dse_enq_end(&q);
}

static int node_parse_register(void)
{
	static const char *const next[] = {"dse_flow"};
	static const char *const tep_next[] = {"dse_decap", "dse_tep_arp", "dse_tx"};
	const char *drops[DSE_PARSE__MAX];
	rte_node_t id;

	/* Edge r (r >= 1) is parse error r: the parse reasons lead the drop list. */
	for (int r = 1; r < DSE_PARSE__MAX; r++)
		drops[r - 1] = dse_parse_name(r);
	drops[DSE_PARSE__MAX - 1] = "oversize";
	id = dse_node_register("dse_parse", 0, parse_process, NULL, next, 1, drops,
			       DSE_PARSE__MAX);
	if (id == RTE_NODE_ID_INVALID)
		return -EINVAL;
	/* The TEP's edges and the cache hits' come after the drops. */
	if (rte_node_edge_update(id, RTE_EDGE_ID_INVALID, (const char **)tep_next,
				 RTE_DIM(tep_next)) == 0 ||
	    rte_node_edge_count(id) != PARSE_NEXT_N)
		return -EINVAL;
	return 0;
}
DSE_NODE_REGISTER(node_parse_register)
