/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_flow": the fast path.  Looks every packet up in the worker's
 * flow cache; a hit replays the cached decision (VLAN edit, egress port),
 * keeps the source MAC's FDB entry alive and goes straight to "dse_tx"; a
 * miss walks the pipeline from "dse_segment".
 *
 * IP packets of a segment with the firewall on use the layer 4 cache: a hit
 * there is tracked in its connection like any packet (state, TCP windows,
 * counters), so the fast path never bypasses the connection's state; a
 * packet that does not fit it is dropped as invalid, and one whose
 * connection has gone (timed out, or a SYN reopening closed ports) takes the
 * full pipeline.
 *
 * With several workers, a firewalled IP packet whose connection another
 * worker owns (dp_conn_owner()) goes to "dse_handoff" instead, which passes
 * it to that worker: each worker tracks only its own connections.
 */
#include <string.h>

#include <rte_mbuf.h>

#include "cksum.h"
#include "dp.h"
#include "egress.h"
#include "module.h"
#include "node.h"

enum {
	FLOW_NEXT_TX,
	FLOW_NEXT_SEGMENT,
	FLOW_NEXT_HANDOFF,
	FLOW_NEXT_CT_INVALID,
	FLOW_NEXT_CKSUM_IP4, /* the four checksum reasons, in the order of enum dse_cksum_result */
	FLOW_NEXT_CKSUM_TCP,
	FLOW_NEXT_CKSUM_UDP,
	FLOW_NEXT_CKSUM_ICMP,
	FLOW_NEXT_N
};

/* Returns the segment of a packet on a port with a firewalled segment, or DSE_NO_SEGMENT. */
static inline uint16_t flow_segment(const struct dse_port *port, const struct dse_meta *meta)
{
	uint16_t seg;

	if (port->tunnel)
		return meta->segment;
	if (port->mode == DSE_PORT_ACCESS)
		return meta->pi.n_vlans ? DSE_NO_SEGMENT : port->segment;
	if (meta->pi.n_vlans == 0)
		return DSE_NO_SEGMENT;
	seg = dp.vlan_seg[meta->pi.vlan_tci & 0xfff];
	return seg != DSE_NO_SEGMENT && dp_port_in_segment(port, seg) ? seg : DSE_NO_SEGMENT;
}

/*
 * The layer 4 path of a burst runs in passes so that its memory accesses
 * overlap: keys are made and their buckets fetched for every packet first,
 * then looked up and the second line of each hit fetched, then the hits'
 * FDB words checked and their connections fetched, and only then tracked.
 * A connection setup workload misses in the caches on all of them.
 */
struct flow4_burst {
	uint64_t k[DSE_BURST][DSE_FLOW4_KEY_WORDS];
	struct dse_flow4_entry *bucket[DSE_BURST];
	struct dse_flow4_entry *f[DSE_BURST];
	uint8_t l4[DSE_BURST]; /* enum flow4_path */
};

/* Which way a packet takes through the flow node. */
enum flow4_path {
	FLOW4_NONE = 0, /* not IP of a firewalled segment: the layer 2 cache */
	FLOW4_CACHE,	/* IP of a firewalled segment: the layer 4 cache */
	FLOW4_SLOW,	/* a fragment of a firewalled segment: the full pipeline, no cache */
	FLOW4_HANDOFF,	/* IP of a firewalled segment whose connection another worker owns */
};


/*
 * Pass 1: which path does the packet take (enum flow4_path)?  For the
 * layer 4 cache, its key, and fetch its bucket.
 */
static inline uint8_t flow4_prepare(const struct dse_worker *w, struct flow4_burst *b,
				    uint16_t i, struct rte_mbuf *m, const struct dse_meta *meta)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t seg;
	uint64_t k0, k1;

	if (likely(!dp.ports[m->port].fw_any))
		return FLOW4_NONE;
	seg = flow_segment(&dp.ports[m->port], meta);
	if (seg == DSE_NO_SEGMENT || !dp.segments[seg].fw ||
	    (meta->pi.l3 != DSE_L3_IPV4 && meta->pi.l3 != DSE_L3_IPV6))
		return FLOW4_NONE;
	if (unlikely(dp.n_workers > 1)) {
		unsigned owner = dp_pkt_owner(frame, rte_pktmbuf_data_len(m), meta);

		if (owner != w->id) {
			/* For "dse_handoff"; the owner's FDB node reuses the field. */
			m->hash.usr = owner;
			return FLOW4_HANDOFF;
		}
	}
	/*
	 * A fragment is judged and tracked only as part of its datagram, on
	 * the full pipeline; never by a layer 2 decision cached for the same
	 * addresses (a non-IP frame of the segment may have made one).
	 */
	if (unlikely(dse_pkt_is_fragment(&meta->pi)))
		return FLOW4_SLOW;
	dse_flow_key(frame, m->port, dse_flow_vlan_key(m->port, meta), &k0, &k1);
	dse_flow4_key(b->k[i], k0, k1, frame + meta->pi.l3_off, meta->pi.l3 == DSE_L3_IPV6,
		      meta->pi.l4_proto, meta->pi.l4_off ? frame + meta->pi.l4_off : NULL);
	b->bucket[i] = dse_flow4_bucket(w->flows4, dse_flow4_hash(b->k[i]));
	dse_flow4_prefetch(b->bucket[i]);
	return FLOW4_CACHE;
}

/*
 * Pass 2: the lookup (the first line of each way, fetched in pass 1), and
 * fetch the second line of a hit, which holds what it refers to.
 */
static inline void flow4_find(struct flow4_burst *b, uint16_t i, uint32_t gen)
{
	struct dse_flow4_entry *f = dse_flow4_find(b->bucket[i], b->k[i], gen);

	if (f != NULL)
		__builtin_prefetch((const char *)f + RTE_CACHE_LINE_SIZE);
	b->f[i] = f;
}

/*
 * Pass 3: a hit whose FDB entries are as they were fetches its connection;
 * its id is compared in pass 4, when the entry has arrived.
 */
static inline void flow4_check(const struct dse_worker *w, struct flow4_burst *b, uint16_t i)
{
	struct dse_flow4_entry *f = b->f[i];

	if (f == NULL)
		return;
	if (dse_flow_ref_ok(dp.fdb, &f->ref) && f->ct_index < w->ct->capacity)
		dse_ct_prefetch(w->ct, f->ct_index);
	else
		b->f[i] = NULL;
}

/*
 * Pass 4: track a hit in its connection, if it still is the one the entry
 * was made for.  Returns the edge: "dse_tx" with the egress set when the
 * packet fits, the invalid drop when it does not, else the full pipeline.
 */
static inline uint16_t flow4_finish(const struct dse_worker *w, struct dse_flow4_entry *f,
				    struct rte_mbuf *m, struct dse_meta *meta, uint64_t now,
				    uint32_t now_s)
{
	struct dse_ct_seg cs;
	enum dse_ct_verdict v;
	enum dse_cksum_result c;

	if (f == NULL || !dse_ct_ref_ok(w->ct, f->ct_index, f->ct_id))
		return FLOW_NEXT_SEGMENT;
	/* A packet with a wrong checksum must not move its connection. */
	c = dse_cksum_check(m, &meta->pi);
	if (unlikely(c != DSE_CKSUM_OK))
		return (uint16_t)(FLOW_NEXT_CKSUM_IP4 + c - DSE_CKSUM_BAD_IP4);
	dse_ct_seg_from_pkt(&cs, rte_pktmbuf_mtod(m, const uint8_t *), &meta->pi);
	cs.in_port = meta->in_port;
	v = dse_ct_track(w->ct, f->ct_index, f->ct_dir, &cs, now);
	if (v == DSE_CT_INVALID)
		return FLOW_NEXT_CT_INVALID;
	if (v == DSE_CT_NEW || dse_egress_vlan_apply(m, f->vlan_op, f->vlan_tci) != 0)
		return FLOW_NEXT_SEGMENT;
	dse_fdb_touch(dp.fdb, f->ref.src_idx, now_s);
	m->port = f->out_port;
	meta->segment = f->segment;
	return FLOW_NEXT_TX;
}

static uint16_t flow_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			     uint16_t n)
{
	struct dse_worker *w = dp_worker();
	struct dse_flow_cache *fc = w->flows;
	const struct dse_fdb *fdb = dp.fdb;
	const uint32_t gen = dp.flow_gen, now_s = w->now_s;
	uint32_t hits = 0, hits4 = 0, tries4 = 0, slow = 0;
	struct flow4_burst *b4 = dse_node_scratch(node); /* too large for the stack */
	struct dse_enq q;

	/* Without a firewalled segment the layer 4 passes are skipped altogether. */
	const bool fw_on = dp.fw_on;

	for (uint16_t i = 0; fw_on && i < n; i++) {
		b4->l4[i] = flow4_prepare(w, b4, i, objs[i], dse_meta(objs[i]));
		tries4 += b4->l4[i] == FLOW4_CACHE;
		slow += b4->l4[i] != FLOW4_CACHE && b4->l4[i] != FLOW4_NONE;
	}
	if (tries4) {
		for (uint16_t i = 0; i < n; i++)
			if (b4->l4[i] == FLOW4_CACHE)
				flow4_find(b4, i, gen);
		for (uint16_t i = 0; i < n; i++)
			if (b4->l4[i] == FLOW4_CACHE)
				flow4_check(w, b4, i);
	}

	dse_enq_start(&q, graph, node, objs, n, FLOW_NEXT_TX);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = objs[i];
		struct dse_meta *meta = dse_meta(m);

		if (unlikely(fw_on && b4->l4[i] != FLOW4_NONE)) {
			uint16_t next = b4->l4[i] == FLOW4_SLOW	     ? FLOW_NEXT_SEGMENT
					: b4->l4[i] == FLOW4_HANDOFF ? FLOW_NEXT_HANDOFF
								     : flow4_finish(w, b4->f[i], m, meta,
										    w->now_ns, now_s);

			hits4 += next == FLOW_NEXT_TX;
			dse_enq(&q, next);
			continue;
		}
		if (unlikely(!dse_flow_hit(fc, fdb, m, meta, gen, now_s))) {
			dse_enq(&q, FLOW_NEXT_SEGMENT);
			continue;
		}
		hits++;
		dse_enq(&q, FLOW_NEXT_TX);
	}
	fc->hits += hits;
	fc->misses += n - tries4 - slow - hits;
	w->flows4->hits += hits4;
	w->flows4->misses += tries4 - hits4;
	return dse_enq_end(&q);
}

static int flow_init(const struct rte_graph *graph, struct rte_node *node)
{
	RTE_SET_USED(graph);
	return dse_node_scratch_alloc(node, sizeof(struct flow4_burst));
}

static int node_flow_register(void)
{
	static const char *const next[] = {
		[FLOW_NEXT_TX] = "dse_tx",
		[FLOW_NEXT_SEGMENT] = "dse_segment",
		[FLOW_NEXT_HANDOFF] = "dse_handoff",
	};

	static const char *const drops[] = {"ct_invalid", "cksum_ip4", "cksum_tcp", "cksum_udp",
					    "cksum_icmp"};

	return dse_node_register("dse_flow", 0, flow_process, flow_init, next, RTE_DIM(next), drops,
				 RTE_DIM(drops)) == RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
DSE_NODE_REGISTER(node_flow_register)
