/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Nodes "dse_handoff" and "dse_handoff_rx": how a packet reaches the worker
 * that owns its connection (dp.h, dp_conn_owner()).  "dse_handoff" puts each
 * packet on the ring of the owner the flow node found and left in the
 * mbuf's hash.usr (what the ring cannot take is dropped as handoff_full);
 * "dse_handoff_rx", a source node, takes what the other workers handed to
 * this one and sends it to "dse_flow", where it goes on as if this worker
 * had received it.  The packets of one direction of a
 * connection come in by one queue, so they keep their order through the
 * ring.  With one worker neither node ever has work.
 */
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dp.h"
#include "module.h"
#include "node.h"

enum { HANDOFF_NEXT_FULL, HANDOFF_NEXT_N };

static uint16_t handoff_process(struct rte_graph *graph, struct rte_node *node, void **objs,
				uint16_t n)
{
	struct dse_worker *w = dp_worker();
	uint16_t i = 0;

	while (i < n) {
		unsigned owner = ((struct rte_mbuf *)objs[i])->hash.usr, sent;
		uint16_t run = 1;

		while (i + run < n && ((struct rte_mbuf *)objs[i + run])->hash.usr == owner)
			run++;
		sent = rte_ring_mp_enqueue_burst(dp.workers[owner].handoff, objs + i, run, NULL);
		w->handoff_out += sent;
		if (unlikely(sent < run))
			rte_node_enqueue(graph, node, HANDOFF_NEXT_FULL, objs + i + sent,
					 (uint16_t)(run - sent));
		i += run;
	}
	return n;
}

static uint16_t handoff_rx_process(struct rte_graph *graph, struct rte_node *node, void **objs,
				   uint16_t cnt)
{
	struct dse_worker *w = dp_worker();
	unsigned got;

	RTE_SET_USED(objs);
	RTE_SET_USED(cnt);
	if (w->handoff == NULL)
		return 0;
	got = rte_ring_sc_dequeue_burst(w->handoff, node->objs,
					RTE_MIN(node->size, (uint16_t)DSE_BURST), NULL);
	if (got == 0)
		return 0;
	w->handoff_in += got;
	w->rx_last += got;
	node->idx = (uint16_t)got;
	rte_node_next_stream_move(graph, node, 0);
	return (uint16_t)got;
}

static int node_handoff_register(void)
{
	static const char *const drops[] = {"handoff_full"};
	static const char *const rx_next[] = {"dse_flow"};

	if (dse_node_register("dse_handoff", 0, handoff_process, NULL, NULL, 0, drops,
			      RTE_DIM(drops)) == RTE_NODE_ID_INVALID)
		return -EINVAL;
	return dse_node_register("dse_handoff_rx", RTE_NODE_SOURCE_F, handoff_rx_process, NULL,
				 rx_next, 1, NULL, 0) == RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
DSE_NODE_REGISTER(node_handoff_register)
