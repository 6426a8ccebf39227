/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_tep_arp": ARP on the TEP's uplink for the TEP's address.  A
 * request is answered in place (the frame goes back out as the reply); a
 * reply, or a gratuitous ARP of a peer TEP (it moved to another DPU: the
 * pair of that host failed over), teaches us the peer's MAC and is
 * consumed.
 */
#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dp.h"
#include "module.h"
#include "node.h"
#include "tep.h"

enum { ARP_NEXT_TX, ARP_NEXT_N };

static uint16_t tep_arp_process(struct rte_graph *graph, struct rte_node *node, void **objs,
				uint16_t n)
{
	struct rte_mbuf *done[DSE_BURST];
	uint16_t n_done = 0;
	struct dse_enq q;

	dse_enq_start(&q, graph, node, objs, n, ARP_NEXT_TX);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = objs[i];
		struct dse_meta *meta = dse_meta(m);
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		struct rte_arp_hdr *arp =
			rte_pktmbuf_mtod_offset(m, struct rte_arp_hdr *, meta->pi.l3_off);

		if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) &&
		    arp->arp_data.arp_tip == dp.tep.ip) {
			/* Who has our TEP address: tell the asker, from the same frame. */
			eth->dst_addr = arp->arp_data.arp_sha;
			eth->src_addr = dp.tep.mac;
			arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
			arp->arp_data.arp_tha = arp->arp_data.arp_sha;
			arp->arp_data.arp_tip = arp->arp_data.arp_sip;
			arp->arp_data.arp_sha = dp.tep.mac;
			arp->arp_data.arp_sip = dp.tep.ip;
			m->port = meta->in_port;
			dse_enq(&q, ARP_NEXT_TX);
			continue;
		}
		dse_tep_learn(arp->arp_data.arp_sip, &arp->arp_data.arp_sha);
		/* Consumed, not dropped: it goes back to the pool after the burst. */
		done[n_done++] = m;
		dse_enq_skip(&q);
	}
	dse_enq_end(&q);
	rte_pktmbuf_free_bulk(done, n_done);
	return n;
}

static int node_tep_arp_register(void)
{
	static const char *const next[] = {"dse_tx"};

	return dse_node_register("dse_tep_arp", 0, tep_arp_process, NULL, next, 1, NULL, 0) ==
			       RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
DSE_NODE_REGISTER(node_tep_arp_register)
