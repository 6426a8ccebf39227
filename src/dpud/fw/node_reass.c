/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_reass": fragments of IP datagrams in segments with the
 * firewall on (the FDB node sends them here).  Each fragment's IPv4 header
 * checksum and geometry are checked, then it joins its datagram in the
 * worker's reassembly table (frag.h); a fragment that completes its
 * datagram sends the whole datagram on to "dse_fw", which tracks and
 * judges it as one packet.  Fragments that rte_ip_frag gives up on (an
 * overlap, a repeat, too many, a full table) go to their drop node, and so
 * do those of datagrams that time out ("dse_frag_timer").
 *
 * Node "dse_frag_timer": a source node that, every 100 ms, drops the
 * fragments of datagrams not completed within the timeout.
 */
#include <rte_cycles.h>
#include <rte_mbuf.h>

#include "cksum.h"
#include "dp.h"
#include "frag.h"
#include "module.h"
#include "node.h"

enum {
	REASS_NEXT_FW,
	REASS_NEXT_CKSUM_IP4,
	REASS_NEXT_BAD,
	REASS_NEXT_EXT,
	REASS_NEXT_INVALID,
	REASS_NEXT_N
};

/* Death row entries are free: room for the fragments one call may give up, twice. */
#define REASS_DR_ROOM (2 * (RTE_LIBRTE_IP_FRAG_MAX_FRAG + 1))

/* Hands what rte_ip_frag gave up to the drop edge 'edge'. */
static inline void reass_drop_dr(struct rte_graph *graph, struct rte_node *node,
				 struct dse_frag *f, rte_edge_t edge)
{
	if (f->dr.cnt == 0)
		return;
	rte_node_enqueue(graph, node, edge, (void **)f->dr.row, (uint16_t)f->dr.cnt);
	f->dr.cnt = 0;
}

/*
 * Reassembles fragment 'objs[i]'.  Returns the edge of the packet now at
 * 'objs[i]' (the whole datagram), or REASS_NEXT_N when the fragment was
 * taken (kept, or dropped through the death row).
 */
static uint16_t reass_one(struct rte_graph *graph, struct rte_node *node, struct dse_frag *f,
			  void **objs, uint16_t i, uint64_t now)
{
	struct rte_mbuf *m = objs[i], *d;
	const struct dse_meta cur = *dse_meta(m);
	struct dse_meta *dm;
	uint32_t id;

	if (dse_cksum_check(m, &cur.pi) != DSE_CKSUM_OK)
		return REASS_NEXT_CKSUM_IP4;
	switch (dse_frag_check(m, &cur.pi)) {
	case DSE_FRAG_OK:
		break;
	case DSE_FRAG_EXT:
		return REASS_NEXT_EXT;
	case DSE_FRAG_OVERLAP_TCP:
		return REASS_NEXT_INVALID;
	default:
		return REASS_NEXT_BAD;
	}
	/* rte_ip_frag does not check the room on the death row: make it. */
	if (f->dr.cnt > RTE_IP_FRAG_DEATH_ROW_MBUF_LEN - REASS_DR_ROOM)
		reass_drop_dr(graph, node, f, REASS_NEXT_INVALID);
	d = dse_frag_add(f, m, &cur.pi, cur.segment, cur.in_port, now, &id);
	reass_drop_dr(graph, node, f, REASS_NEXT_INVALID);
	if (d == NULL)
		return REASS_NEXT_N;
	/*
	 * The first fragment's parse and the decisions made for the last one
	 * (all came in by the same port: it is part of the key).
	 */
	dm = dse_meta(d);
	dm->in_port = cur.in_port;
	dm->segment = cur.segment;
	dm->out_port = cur.out_port;
	d->hash.usr = m->hash.usr; /* the source MAC's FDB entry (node_fdb.c) */
	*dse_meta_frag_id(d) = id;
	objs[i] = d;
	if (dse_frag_datagram(d, &dm->pi, &dm->frag_size) < 0)
		return REASS_NEXT_BAD;
	return REASS_NEXT_FW;
}

static uint16_t reass_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			      uint16_t n)
{
	struct dse_worker *w = dp_worker();
	struct dse_enq q;

	dse_enq_start(&q, graph, node, objs, n, REASS_NEXT_FW);
	for (uint16_t i = 0; i < n; i++) {
		uint16_t next = reass_one(graph, node, w->frag, objs, i, w->now_ns);

		if (next == REASS_NEXT_N)
			dse_enq_skip(&q);
		else
			dse_enq(&q, next);
	}
	return dse_enq_end(&q);
}

/* How often the timer node looks for datagrams that ran out of time. */
#define FRAG_TIMER_NS 100000000ull

static uint16_t frag_timer_process(struct rte_graph *graph, struct rte_node *node, void **objs,
				   uint16_t cnt)
{
	struct dse_worker *w = dp_worker();
	uint16_t n;

	RTE_SET_USED(objs);
	RTE_SET_USED(cnt);
	if (likely(w->now_ns < w->next_frag_ns) || w->frag == NULL)
		return 0;
	w->next_frag_ns = w->now_ns + FRAG_TIMER_NS;
	dse_frag_expire(w->frag, w->now_ns);
	n = (uint16_t)w->frag->dr.cnt;
	if (n)
		rte_node_enqueue(graph, node, 0, (void **)w->frag->dr.row, n);
	w->frag->dr.cnt = 0;
	return n;
}

static int node_reass_register(void)
{
	static const char *const next[] = {"dse_fw"};
	static const char *const drops[] = {"cksum_ip4", "frag_bad", "frag_ext", "frag_invalid"};
	static const char *const timer_drops[] = {"frag_timeout"};

	RTE_BUILD_BUG_ON(REASS_NEXT_N != RTE_DIM(next) + RTE_DIM(drops));
	if (dse_node_register("dse_reass", 0, reass_process, NULL, next, RTE_DIM(next), drops,
			      RTE_DIM(drops)) == RTE_NODE_ID_INVALID)
		return -EINVAL;
	return dse_node_register("dse_frag_timer", RTE_NODE_SOURCE_F, frag_timer_process, NULL,
				 NULL, 0, timer_drops, RTE_DIM(timer_drops)) == RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
DSE_NODE_REGISTER(node_reass_register)
