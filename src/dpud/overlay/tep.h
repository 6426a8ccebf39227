/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The tunnel endpoint of the DPU: its ARP on the underlay (it answers for
 * its own address and asks for its peers'), shared by the TEP nodes and the
 * worker's housekeeping.  Configuration lives in dp.tep and the virtual
 * ports of the peers (dp.h).
 */
#ifndef DSE_TEP_H
#define DSE_TEP_H

#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

/*
 * Builds a broadcast ARP request from our TEP for 'target_ip' (network
 * order).  Returns the mbuf, or NULL when no mbuf is left.
 */
struct rte_mbuf *dse_tep_arp_request(uint32_t target_ip);

/*
 * Records that peer TEP 'ip' is at 'mac' (learned from its ARP or its
 * Geneve packets).  Worker only.
 */
void dse_tep_learn(uint32_t ip, const struct rte_ether_addr *mac);

#endif
