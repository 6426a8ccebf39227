/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_tx": transmits each packet on the port in its mbuf's 'port'
 * field (a peer TEP's virtual port: through "dse_encap" first), on the
 * worker's own queue of that port.
 * Consecutive packets for one port go in one burst; what the port does not
 * take is dropped and counted.
 */
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "dp.h"
#include "module.h"
#include "node.h"

enum { TX_NEXT_ENCAP, TX_NEXT_FULL, TX_NEXT_N };

static uint16_t tx_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			   uint16_t n)
{
	struct rte_mbuf **pkts = (struct rte_mbuf **)objs;
	const uint16_t queue = (uint16_t)dp_worker()->id;
	uint16_t i = 0;

	while (i < n) {
		uint16_t port = pkts[i]->port, run = 1, sent;

		while (i + run < n && pkts[i + run]->port == port)
			run++;
		if (unlikely(port >= DSE_MAX_PORTS)) {
			/* A peer TEP's virtual port: encapsulate first. */
			rte_node_enqueue(graph, node, TX_NEXT_ENCAP, objs + i, run);
			i += run;
			continue;
		}
		sent = rte_eth_tx_burst(port, queue, pkts + i, run);
		if (unlikely(sent < run))
			rte_node_enqueue(graph, node, TX_NEXT_FULL, objs + i + sent,
					 (uint16_t)(run - sent));
		i += run;
	}
	return n;
}

static int node_tx_register(void)
{
	static const char *const next[] = {"dse_encap"};
	static const char *const drops[] = {"tx_full"};

	return dse_node_register("dse_tx", 0, tx_process, NULL, next, 1, drops, RTE_DIM(drops)) ==
			       RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
DSE_NODE_REGISTER(node_tx_register)
