/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The VLAN edit a frame needs to leave through a port, shared by the flow
 * cache (which replays it) and the nodes that decide it.
 */
#ifndef DSE_EGRESS_H
#define DSE_EGRESS_H

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "dp.h"
#include "flow.h"

/*
 * Returns the VLAN operation for a frame of segment 'seg' that arrived with
 * 'n_vlans' tags and leaves through port 'out'; sets '*tci' for a push.
 */
static inline uint8_t dse_egress_vlan_op(const struct dse_port *out, uint16_t seg,
					 uint8_t n_vlans, uint16_t *tci)
{
	if (out->mode == DSE_PORT_TRUNK) {
		if (n_vlans)
			return DSE_VLAN_KEEP;
		*tci = dp.segments[seg].vlan;
		return DSE_VLAN_PUSH;
	}
	return n_vlans ? DSE_VLAN_POP : DSE_VLAN_KEEP;
}

/*
 * Applies 'op' to 'm'.  Returns 0, or -1 when there is no headroom for a
 * tag (the caller drops the frame).
 */
static inline int dse_egress_vlan_apply(struct rte_mbuf *m, uint8_t op, uint16_t tci)
{
	uint8_t *p;

	if (likely(op == DSE_VLAN_KEEP))
		return 0;
	if (op == DSE_VLAN_POP) {
		p = rte_pktmbuf_mtod(m, uint8_t *);
		memmove(p + 4, p, 12);
		rte_pktmbuf_adj(m, 4);
		return 0;
	}
	p = (uint8_t *)rte_pktmbuf_prepend(m, 4);
	if (unlikely(p == NULL))
		return -1;
	memmove(p, p + 4, 12);
	p[12] = 0x81;
	p[13] = 0x00;
	p[14] = (uint8_t)(tci >> 8);
	p[15] = (uint8_t)tci;
	return 0;
}

/*
 * The VLAN part of a packet's key: its tag, or for a frame out of a tunnel
 * its segment (one peer may carry several VNIs with the same MACs).
 */
static inline uint16_t dse_flow_vlan_key(uint16_t in_port, const struct dse_meta *meta)
{
	if (meta->pi.n_vlans)
		return (uint16_t)(0x1000 | (meta->pi.vlan_tci & 0xfff));
	return unlikely(in_port >= DSE_MAX_PORTS) ? (uint16_t)(0x2000 | meta->segment) : 0;
}

/*
 * A layer 2 flow cache hit: looks the key of 'm' (received and parsed,
 * 'meta' filled) up in 'fc' in generation 'gen'.  A valid entry whose VLAN
 * edit can be made is replayed (the edit, the egress port in m->port, the
 * segment in 'meta') and refreshes the source MAC's entry of 'fdb' at
 * 'now_s'; returns true.  On a miss returns false with 'm' unchanged.
 */
static inline bool dse_flow_hit(const struct dse_flow_cache *fc, const struct dse_fdb *fdb,
				struct rte_mbuf *m, struct dse_meta *meta, uint32_t gen,
				uint32_t now_s)
{
	struct dse_flow_entry *f;
	uint64_t k0, k1;

	dse_flow_key(rte_pktmbuf_mtod(m, const uint8_t *), m->port,
		     dse_flow_vlan_key(m->port, meta), &k0, &k1);
	f = dse_flow_lookup(fc, k0, k1, gen);
	/* A decision whose FDB entries changed (moved, aged, removed) is a miss. */
	if (unlikely(f == NULL || !dse_flow_ref_ok(fdb, &f->ref) ||
		     dse_egress_vlan_apply(m, f->vlan_op, f->vlan_tci) != 0))
		return false;
	dse_fdb_touch(fdb, f->ref.src_idx, now_s);
	m->port = f->out_port;
	meta->segment = f->segment;
	return true;
}

#endif
