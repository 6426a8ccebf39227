/* SPDX-License-Identifier: BSD-3-Clause */
#include "tep.h"

#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ether.h>

#include "dp.h"

struct rte_mbuf *dse_tep_arp_request(uint32_t target_ip)
{
	struct rte_mbuf *m;
	struct rte_arp_hdr *arp = dp_frame_bcast(&dp.tep.mac, RTE_ETHER_TYPE_ARP, sizeof(*arp), &m);

	if (arp == NULL)
		return NULL;
	dp_arp_init(arp, RTE_ARP_OP_REQUEST);
	arp->arp_data.arp_sha = dp.tep.mac;
	arp->arp_data.arp_sip = dp.tep.ip;
	arp->arp_data.arp_tip = target_ip;
	m->port = dp.tep.uplink;
	return m;
}

void dse_tep_learn(uint32_t ip, const struct rte_ether_addr *mac)
{
	for (uint16_t p = DSE_MAX_PORTS; p < DSE_MAX_VPORTS; p++) {
		struct dse_port *v = &dp.ports[p];
		struct rte_ether_addr known;

		if (!v->used || v->tep_ip != ip)
			continue;
		if (!dp_tep_mac(v, &known) || !rte_is_same_ether_addr(&known, mac))
			dp_tep_mac_set(v, mac);
	}
}
