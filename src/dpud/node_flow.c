/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_flow": the fast path.  Looks every packet up in the worker's
 * flow cache; a hit replays the cached decision (VLAN edit, egress port),
 * keeps the source MAC's FDB entry alive and goes straight to "dse_tx"; a
 * miss walks the pipeline from "dse_segment".
 */
#include <rte_mbuf.h>

#include "dp.h"
#include "egress.h"
#include "node.h"

enum { FLOW_NEXT_TX, FLOW_NEXT_SEGMENT, FLOW_NEXT_N };

static uint16_t flow_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			     uint16_t n)
{
	struct dse_worker *w = &dp.worker;
	struct dse_flow_cache *fc = w->flows;
	struct dse_fdb_entry *fdb = dp.fdb->entries;
	const uint32_t gen = dp.flow_gen, now_s = w->now_s;
	uint32_t hits = 0;
	struct dse_enq q;

	dse_enq_start(&q, graph, node, objs, n, FLOW_NEXT_TX);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = objs[i];
		const struct dse_meta *meta = dse_meta(m);
		uint16_t vlan_key = meta->n_vlans ? (uint16_t)(0x1000 | (meta->vlan_tci & 0xfff)) : 0;
		struct dse_flow_entry *f;
		uint64_t k0, k1;

		dse_flow_key(rte_pktmbuf_mtod(m, const uint8_t *), m->port, vlan_key, &k0, &k1);
		f = dse_flow_lookup(fc, k0, k1, gen);
		if (unlikely(f == NULL ||
			     dse_egress_vlan_apply(m, f->vlan_op, f->vlan_tci) != 0)) {
			dse_enq(&q, FLOW_NEXT_SEGMENT);
			continue;
		}
		/* Only write the timestamp when it changes: keeps the line clean. */
		if (unlikely(fdb[f->fdb_src].last_seen_s != now_s))
			fdb[f->fdb_src].last_seen_s = now_s;
		m->port = f->out_port;
		hits++;
		dse_enq(&q, FLOW_NEXT_TX);
	}
	fc->hits += hits;
	fc->misses += n - hits;
	return dse_enq_end(&q);
}

int dse_node_flow_register(void)
{
	static const char *const next[FLOW_NEXT_N] = {
		[FLOW_NEXT_TX] = "dse_tx",
		[FLOW_NEXT_SEGMENT] = "dse_segment",
	};

	return dse_node_register("dse_flow", 0, flow_process, NULL, next, FLOW_NEXT_N, NULL, 0) ==
			       RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
