/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_rx": the graph's source.  Polls the worker's queue of every port
 * it reads, fairly (each walk starts one port further), until the burst is
 * full.
 */
#include <rte_ethdev.h>

#include "dp.h"
#include "module.h"
#include "node.h"

enum { RX_NEXT_PARSE, RX_NEXT_N };

#define RX_CHUNK 64

static uint16_t rx_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			   uint16_t cnt)
{
	struct dse_worker *w = dp_worker();
	uint16_t n_rx = w->n_rx, total = 0;
	/*
	 * At most one burst per walk, whatever the stream's size: streams grow
	 * when a node fans out (flooding), and filling a grown stream would
	 * make the next one grow again.
	 */
	const uint16_t max = RTE_MIN(node->size, (uint16_t)DSE_BURST);
	/* The first port polled rotates so that a busy port cannot starve the others. */
	uint16_t first = w->rx_first;

	RTE_SET_USED(objs);
	RTE_SET_USED(cnt);
	if (unlikely(n_rx == 0))
		return 0;
	if (++first >= n_rx)
		first = 0;
	w->rx_first = first;
	if (unlikely(w->hold)) {
		/* Holding (a standby, or fenced): take what arrived and drop it. */
		for (uint16_t i = 0; i < n_rx; i++) {
			uint16_t got = rte_eth_rx_burst(w->rx_ports[i], (uint16_t)w->id,
							(struct rte_mbuf **)node->objs, max);

			rte_pktmbuf_free_bulk((struct rte_mbuf **)node->objs, got);
			w->held += got;
			total += got;
		}
		w->rx_last = total;
		return 0;
	}
	for (uint16_t i = 0, p = first; i < n_rx && total < max; i++) {
		/*
		 * Receive in chunks of RX_CHUNK: a PMD that allocates mbufs
		 * per call then takes them from the lcore's mempool cache,
		 * which a request as large as the cache would bypass.
		 */
		for (;;) {
			uint16_t want = RTE_MIN((uint16_t)RX_CHUNK, (uint16_t)(max - total));
			uint16_t got = rte_eth_rx_burst(w->rx_ports[p], (uint16_t)w->id,
							(struct rte_mbuf **)node->objs + total,
							want);

			total += got;
			if (got < want || total >= max)
				break;
		}
		if (++p == n_rx)
			p = 0;
	}
	w->rx_last = total;
	if (total == 0)
		return 0;
	node->idx = total;
	rte_node_next_stream_move(graph, node, RX_NEXT_PARSE);
	return total;
}

static int node_rx_register(void)
{
	static const char *const next[RX_NEXT_N] = {[RX_NEXT_PARSE] = "dse_parse"};

	return dse_node_register("dse_rx", RTE_NODE_SOURCE_F, rx_process, NULL, next, RX_NEXT_N,
				 NULL, 0) == RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
DSE_NODE_REGISTER(node_rx_register)
