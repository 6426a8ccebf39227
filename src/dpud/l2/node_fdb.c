/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_fdb": learns each frame's source MAC on its ingress port, then
 * looks up the destination.  A known unicast destination gets its VLAN edit
 * and egress port, and the decision is installed in the flow cache; anything
 * else is flooded in the segment.
 *
 * Learning runs packet by packet in burst order, so a reply later in the
 * same burst already finds the address learned from an earlier packet.
 */
#include <string.h>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dp.h"
#include "egress.h"
#include "module.h"
#include "node.h"

enum {
	FDB_NEXT_TX,
	FDB_NEXT_FLOOD,
	FDB_NEXT_FW,
	FDB_NEXT_REASS,
	FDB_NEXT_SRC_MULTICAST, /* the drops follow in the order of the drop list */
	FDB_NEXT_SAME_PORT,
	FDB_NEXT_NO_MBUF,
	FDB_NEXT_UPLINK_LOOP,
	FDB_NEXT_UPLINK_TO_UPLINK,
	FDB_NEXT_N
};

/* The firewall's way in: fragments are reassembled first. */
static inline uint16_t fdb_fw_next(const struct dse_meta *meta)
{
	return unlikely(dse_pkt_is_fragment(&meta->pi)) ? FDB_NEXT_REASS : FDB_NEXT_FW;
}

/*
 * Learns 'src' on 'in_port' as dse_fdb_learn() does.  Worker 0, the FDB's
 * only writer, learns at once; another worker refreshes an entry that is
 * right and sends anything new or moved to worker 0 through its learn ring
 * (returning -EAGAIN: nothing is cached for the packet meanwhile).
 */
static inline int fdb_learn_src(struct dse_worker *w, uint16_t seg, const uint8_t *src,
				uint16_t in_port, bool *moved)
{
	struct dp_learn l;
	uint32_t s;
	int idx;

	if (likely(w->id == 0))
		return dse_fdb_learn(dp.fdb, seg, src, in_port, w->now_s, moved);
	*moved = false;
	idx = dse_fdb_get(dp.fdb, seg, src, &s);
	if (idx >= 0 && (dse_fdb_state_port(s) == in_port || dse_fdb_state_static(s))) {
		dse_fdb_touch(dp.fdb, (uint32_t)idx, w->now_s);
		return idx;
	}
	memcpy(l.mac, src, 6);
	l.segment = seg;
	l.port = in_port;
	l.pad = 0;
	l.now_s = w->now_s;
	if (rte_ring_mp_enqueue_elem(dp.workers[0].learn, &l, sizeof(l)) != 0)
		w->learn_lost++;
	else
		w->learn_sent++;
	return -EAGAIN;
}

static inline uint16_t fdb_one(struct dse_worker *w, struct rte_mbuf *m)
{
	struct dse_meta *meta = dse_meta(m);
	const uint8_t *eth = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *dst = eth, *src = eth + 6;
	struct dse_flow_fdb_ref ref;
	struct dse_flow_entry *f;
	uint16_t seg = meta->segment, out, tci = 0;
	uint32_t src_state = 0, dst_state;
	bool moved, fw;
	uint8_t op;
	int src_idx, dst_idx;

	/* A group or all-zero source address is never a station: never learn it. */
	if (unlikely((src[0] & 1) || (src[0] | src[1] | src[2] | src[3] | src[4] | src[5]) == 0))
		return FDB_NEXT_SRC_MULTICAST;
	if (dp.ports[meta->in_port].uplink) {
		uint32_t s;
		int known = dse_fdb_get(dp.fdb, seg, src, &s);

		/* Our own frame reflected by the fabric: learning it would steal a local MAC. */
		if (known >= 0 && !dp.ports[dse_fdb_state_port(s)].uplink)
			return FDB_NEXT_UPLINK_LOOP;
	}
	/*
	 * A move bumps the entry's version: the cached decisions that used it
	 * (as source or destination) miss from now on, and no others.
	 */
	src_idx = fdb_learn_src(w, seg, src, meta->in_port, &moved);
	if (src_idx >= 0)
		src_state = dse_fdb_state(dp.fdb, (uint32_t)src_idx);
	/* The firewall installs the flow of this packet: it needs this index too. */
	m->hash.usr = (uint32_t)src_idx;
	fw = dp.segments[seg].fw && (meta->pi.l3 == DSE_L3_IPV4 || meta->pi.l3 == DSE_L3_IPV6);
	meta->out_port = DSE_NO_PORT;
	dst_idx = (dst[0] & 1) ? -1 : dse_fdb_get(dp.fdb, seg, dst, &dst_state);
	if (dst_idx < 0)
		return fw ? fdb_fw_next(meta) : FDB_NEXT_FLOOD;
	/* The port is the one of the word the decision records. */
	out = dse_fdb_state_port(dst_state);
	if (unlikely(out == meta->in_port))
		return FDB_NEXT_SAME_PORT;
	if (unlikely(dp.ports[out].uplink && dp.ports[meta->in_port].uplink))
		return FDB_NEXT_UPLINK_TO_UPLINK;
	/* The firewall decides, and installs the layer 4 flow, for IP of its segments. */
	if (fw) {
		meta->out_port = out;
		/* ... and the destination's entry (the datagram of fragments looks it up again). */
		m->hash.fdir.hi = (uint32_t)dst_idx;
		return fdb_fw_next(meta);
	}
	op = dse_egress_vlan_op(&dp.ports[out], seg, meta->pi.n_vlans, &tci);

	if (src_idx >= 0 && dse_flow_ref_make(&ref, meta->in_port, (uint32_t)src_idx, src_state,
					      (uint32_t)dst_idx, dst_state)) {
		uint16_t vlan_key = dse_flow_vlan_key(meta->in_port, meta);
		uint64_t k0, k1;

		dse_flow_key(eth, meta->in_port, vlan_key, &k0, &k1);
		f = dse_flow_insert(w->flows, dp.fdb, k0, k1, dp.flow_gen);
		f->ref = ref;
		f->out_port = out;
		f->vlan_op = op;
		f->vlan_tci = tci;
		f->segment = seg;
	}
	if (unlikely(dse_egress_vlan_apply(m, op, tci) != 0))
		return FDB_NEXT_NO_MBUF;
	m->port = out;
	return FDB_NEXT_TX;
}

static uint16_t fdb_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			    uint16_t n)
{
	struct dse_worker *w = dp_worker();
	struct dse_enq q;

	dse_enq_start(&q, graph, node, objs, n, FDB_NEXT_TX);
	for (uint16_t i = 0; i < n; i++)
		dse_enq(&q, fdb_one(w, objs[i]));
	return dse_enq_end(&q);
}

static int node_fdb_register(void)
{
	static const char *const next[] = {"dse_tx", "dse_flood", "dse_fw", "dse_reass"};
	static const char *const drops[] = {"src_multicast", "same_port", "no_mbuf", "uplink_loop",
					    "uplink_to_uplink"};

	RTE_BUILD_BUG_ON(FDB_NEXT_N != RTE_DIM(next) + RTE_DIM(drops));
	return dse_node_register("dse_fdb", 0, fdb_process, NULL, next, RTE_DIM(next), drops,
				 RTE_DIM(drops)) == RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
DSE_NODE_REGISTER(node_fdb_register)
