/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node "dse_fw": the stateful distributed firewall, for IP packets of
 * segments with the firewall on (the FDB node sends them here with the
 * egress port it found, or none for a flood).
 *
 * Every packet is tracked.  A packet that fits an existing connection
 * passes (return traffic included) unless the rules changed since the
 * connection was judged: then the connection is judged again, from its
 * original direction, and removed if the new rules deny it.  The first
 * packet of a connection is judged by the rules at the VM end(s): at the
 * sending VM's port (direction out) and at the receiving VM's port
 * (direction in); an uplink end is not judged.  An allowed first packet
 * creates the connection and installs the layer 4 flow; a denied one is
 * dropped or rejected (a TCP RST or an ICMP unreachable goes back to the
 * sender).
 *
 * Before any of it, a packet's checksums must be right (cksum.h): a packet
 * with a wrong one never creates, changes or closes a connection, and is
 * dropped with its reason.  Fragments come here reassembled ("dse_reass"),
 * so a datagram is tracked whole; one that passes leaves through
 * "dse_refrag", fragmented again.  ICMP and ICMPv6 errors about a tracked
 * connection pass as related, in either direction; other packets that are
 * not tracked (other ICMP, unrelated errors) are judged packet by packet.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_tcp.h>
#include <rte_mbuf.h>

#include "cksum.h"
#include "dp.h"
#include "egress.h"
#include "fw_events.h"
#include "module.h"
#include "node.h"
#include "parse.h"

enum {
	FW_NEXT_TX,
	FW_NEXT_FLOOD,
	FW_NEXT_REFRAG,
	FW_NEXT_DENY,
	FW_NEXT_REJECT,
	FW_NEXT_INVALID,
	FW_NEXT_FULL,
	FW_NEXT_NO_MBUF,
	FW_NEXT_LIMIT,
	FW_NEXT_CKSUM_IP4, /* the four checksum reasons, in the order of enum dse_cksum_result */
	FW_NEXT_CKSUM_TCP,
	FW_NEXT_CKSUM_UDP,
	FW_NEXT_CKSUM_ICMP,
	FW_NEXT_N
};

/* The outcome of judging a packet by the rules. */
struct fw_judgement {
	enum dse_fw_action action;
	uint32_t result;        /* classification result that decided (0: default policy) */
	struct dse_fw_key key;  /* the key that was denied, for the log */
};

/* Turns a key of a reply into the key of the same end in the original direction. */
static void key_reverse(struct dse_fw_key *k)
{
	uint8_t a[16];
	rte_be16_t p = k->sport;

	memcpy(a, k->src, 16);
	memcpy(k->src, k->dst, 16);
	memcpy(k->dst, a, 16);
	k->sport = k->dport;
	k->dport = p;
	k->dir = k->dir == DSE_FW_DIR_IN ? DSE_FW_DIR_OUT : DSE_FW_DIR_IN;
	/* An echo reply belongs to the echo request that opened the connection. */
	if (k->proto == 1 && k->icmp_type == 0)
		k->icmp_type = 8;
	else if (k->proto == 58 && k->icmp_type == 129)
		k->icmp_type = 128;
}

/*
 * The rule set of this walk: loaded once per walk by the worker loop, so
 * every packet of a walk is judged by one set, and kept alive by RCU until
 * the walk ends.
 */
static inline struct dse_fw_ruleset *fw_rules(void)
{
	return dp_worker()->fw;
}

/* The generation of the rules in force (0: none); a connection keeps the one it was judged by. */
static inline uint32_t fw_gen(void)
{
	return fw_rules() ? fw_rules()->gen : 0;
}

/*
 * The keys a packet is judged by: at the sending VM's port (out) and the
 * receiving VM's port (in); an uplink end is not judged.  With 'reverse',
 * the packet is a reply and the keys are those of its connection's
 * original direction.  Returns how many (0..2).
 */
static unsigned fw_keys(const uint8_t *frame, const struct dse_pkt_info *pi, uint16_t seg,
			uint16_t in, uint16_t out, bool reverse, struct dse_fw_key keys[2])
{
	unsigned n = 0;

	if (!dp.ports[in].uplink)
		dse_fw_key_fill(&keys[n++], frame, pi, DSE_FW_DIR_OUT, seg, in);
	if (out == DSE_NO_PORT)
		dse_fw_key_fill(&keys[n++], frame, pi, DSE_FW_DIR_IN, seg, DSE_FW_ANY);
	else if (!dp.ports[out].uplink)
		dse_fw_key_fill(&keys[n++], frame, pi, DSE_FW_DIR_IN, seg, out);
	if (reverse)
		for (unsigned i = 0; i < n; i++)
			key_reverse(&keys[i]);
	return n;
}

/* The verdict of 'n' classified keys: the first that does not allow, else allow. */
static void fw_verdict(const struct dse_fw_key *keys, const uint32_t *res, unsigned n,
		       uint16_t seg, struct fw_judgement *j)
{
	j->action = DSE_FW_ALLOW;
	j->result = 0;
	for (unsigned i = 0; i < n; i++) {
		enum dse_fw_action a = dse_fw_verdict(fw_rules(), res[i], seg);

		if (fw_rules())
			dse_fw_count(fw_rules(), res[i]);
		if (a != DSE_FW_ALLOW && j->action == DSE_FW_ALLOW) {
			j->action = a;
			j->result = res[i];
			j->key = keys[i];
		} else if (j->action == DSE_FW_ALLOW && res[i] != 0) {
			j->result = res[i];
		}
	}
}

/* Judges a packet by the rules in force (see fw_keys()). */
static void fw_judge(const uint8_t *frame, const struct dse_pkt_info *pi, uint16_t seg,
		     uint16_t in, uint16_t out, bool reverse, struct fw_judgement *j)
{
	struct dse_fw_key keys[2];
	const struct dse_fw_key *kp[2] = {&keys[0], &keys[1]};
	uint32_t res[2] = {0, 0};
	unsigned n = fw_keys(frame, pi, seg, in, out, reverse, keys);

	dse_fw_classify(fw_rules(), kp, n, res);
	fw_verdict(keys, res, n, seg, j);
}

static uint32_t rule_id(uint32_t result)
{
	const struct dse_fw_rule *r = fw_rules() ? dse_fw_rule_of(fw_rules(), result) : NULL;

	return r ? r->id : 0;
}

/* Internet checksum of 'len' bytes folded into 'sum'. */
static uint16_t cksum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Builds the answer to a rejected packet in a new mbuf: a TCP RST for TCP,
 * else an ICMP (ICMPv6) destination unreachable, administratively
 * prohibited, from the packet's destination to its source, with the
 * packet's own layer 2 header (tags too) turned around.  Returns NULL when
 * no mbuf is left.
 */
static struct rte_mbuf *fw_reject_reply(const uint8_t *frame, uint32_t len,
					const struct dse_pkt_info *pi)
{
	const uint8_t *l3 = frame + pi->l3_off;
	const bool v6 = pi->l3 == DSE_L3_IPV6;
	const bool tcp = pi->l4_proto == 6 && pi->l4_off != 0;
	const uint16_t ip_hl = v6 ? 40 : 20;
	uint16_t l4_len, quote = 0;
	struct rte_mbuf *r = rte_pktmbuf_alloc(dp.pool);
	uint8_t *p, *ip, *l4;

	if (r == NULL)
		return NULL;
	if (tcp) {
		l4_len = 20;
	} else {
		/* ICMP quotes the offending packet: IPv4 its header + 8 bytes, IPv6 up to 128. */
		quote = (uint16_t)RTE_MIN(len - pi->l3_off,
					  v6 ? 128u : (uint32_t)pi->l3_len + 8u);
		l4_len = (uint16_t)(8 + quote);
	}
	p = (uint8_t *)rte_pktmbuf_append(r, (uint16_t)(pi->l3_off + ip_hl + l4_len));
	if (p == NULL) {
		rte_pktmbuf_free(r);
		return NULL;
	}
	memset(p, 0, (size_t)pi->l3_off + ip_hl + l4_len);
	memcpy(p, frame + 6, 6); /* back to the sender */
	memcpy(p + 6, frame, 6);
	memcpy(p + 12, frame + 12, pi->l3_off - 12u); /* tags and ethertype as received */
	ip = p + pi->l3_off;
	l4 = ip + ip_hl;

	if (tcp) {
		const uint8_t *th = frame + pi->l4_off;
		uint32_t seq, ack;
		uint8_t flags = th[13];

		memcpy(l4, th + 2, 2); /* ports turned around */
		memcpy(l4 + 2, th, 2);
		if (flags & 0x10) { /* ACK: the RST takes the sequence number acknowledged */
			memcpy(l4 + 4, th + 8, 4);
			l4[13] = 0x04;
		} else {
			uint32_t payload = (uint32_t)(pi->ip_end - pi->l4_off - pi->l4_len);

			memcpy(&seq, th + 4, 4);
			ack = rte_be_to_cpu_32(seq) + payload + ((flags & 0x02) ? 1 : 0) +
			      ((flags & 0x01) ? 1 : 0);
			ack = rte_cpu_to_be_32(ack);
			memcpy(l4 + 8, &ack, 4);
			l4[13] = 0x14; /* RST | ACK */
		}
		l4[12] = 5 << 4;
	} else if (v6) {
		l4[0] = 1; /* destination unreachable */
		l4[1] = 1; /* administratively prohibited */
		memcpy(l4 + 8, l3, quote);
	} else {
		l4[0] = 3;  /* destination unreachable */
		l4[1] = 13; /* communication administratively prohibited */
		memcpy(l4 + 8, l3, quote);
	}

	if (v6) {
		struct rte_ipv6_hdr *h = (struct rte_ipv6_hdr *)ip;

		h->vtc_flow = rte_cpu_to_be_32(6u << 28);
		h->payload_len = rte_cpu_to_be_16(l4_len);
		h->proto = tcp ? 6 : 58;
		h->hop_limits = 64;
		memcpy(h->src_addr, l3 + 24, 16);
		memcpy(h->dst_addr, l3 + 8, 16);
		if (tcp)
			((struct rte_tcp_hdr *)l4)->cksum = rte_ipv6_udptcp_cksum(h, l4);
		else
			((struct rte_icmp_hdr *)l4)->icmp_cksum = rte_ipv6_udptcp_cksum(h, l4);
	} else {
		struct rte_ipv4_hdr *h = (struct rte_ipv4_hdr *)ip;

		h->version_ihl = 0x45;
		h->total_length = rte_cpu_to_be_16((uint16_t)(20 + l4_len));
		h->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		h->time_to_live = 64;
		h->next_proto_id = tcp ? 6 : 1;
		memcpy(&h->src_addr, l3 + 16, 4);
		memcpy(&h->dst_addr, l3 + 12, 4);
		h->hdr_checksum = rte_ipv4_cksum(h);
		if (tcp)
			((struct rte_tcp_hdr *)l4)->cksum = rte_ipv4_udptcp_cksum(h, l4);
		else
			((struct rte_icmp_hdr *)l4)->icmp_cksum =
				cksum_fold(rte_raw_cksum(l4, l4_len));
	}
	return r;
}

/*
 * Installs the layer 4 flow of an allowed unicast packet of connection
 * 'index', if the FDB entries it was forwarded by are still as the FDB node
 * found them: the node left the source's index in hash.usr and the
 * destination's in hash.fdir.hi (a datagram of fragments carries its
 * fragment id there, so its destination is looked up again).
 */
static void fw_install(struct rte_mbuf *m, const struct dse_meta *meta, uint16_t out, uint8_t op,
		       uint16_t tci, uint32_t index, uint8_t dir)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t vlan_key = dse_flow_vlan_key(meta->in_port, meta);
	int src = (int)m->hash.usr, dst;
	uint64_t k0, k1, k[DSE_FLOW4_KEY_WORDS];
	uint32_t src_state, dst_state;
	struct dse_flow_fdb_ref ref;
	struct dse_flow4_entry *f;

	if (src < 0 || !dse_fdb_read(dp.fdb, (uint32_t)src, meta->segment, frame + 6, &src_state))
		return;
	if (meta->frag_size == 0) {
		dst = (int)m->hash.fdir.hi;
		if (!dse_fdb_read(dp.fdb, (uint32_t)dst, meta->segment, frame, &dst_state))
			return;
	} else {
		dst = dse_fdb_get(dp.fdb, meta->segment, frame, &dst_state);
		if (dst < 0)
			return;
	}
	/* The packet went by the port of the destination's word: else it changed meanwhile. */
	if (dse_fdb_state_port(dst_state) != out ||
	    !dse_flow_ref_make(&ref, meta->in_port, (uint32_t)src, src_state, (uint32_t)dst,
			       dst_state))
		return;
	dse_flow_key(frame, meta->in_port, vlan_key, &k0, &k1);
	dse_flow4_key(k, k0, k1, frame + meta->pi.l3_off, meta->pi.l3 == DSE_L3_IPV6, meta->pi.l4_proto,
		      meta->pi.l4_off ? frame + meta->pi.l4_off : NULL);
	f = dse_flow4_insert(dp_worker()->flows4, k, dp.flow_gen);
	f->ref = ref;
	f->ct_index = index;
	f->ct_id = dp_worker()->ct->entries[index].id;
	f->ct_dir = dir;
	f->out_port = out;
	f->vlan_op = op;
	f->vlan_tci = tci;
	f->segment = meta->segment;
}

/*
 * Sends an allowed packet on: to its port, or to the flood; a reassembled
 * datagram to be fragmented again first.
 */
static uint16_t fw_pass(struct rte_mbuf *m, struct dse_meta *meta, int32_t index, uint8_t dir)
{
	uint16_t out = meta->out_port, tci = 0;
	uint8_t op;

	if (out == DSE_NO_PORT)
		return meta->frag_size ? FW_NEXT_REFRAG : FW_NEXT_FLOOD;
	op = dse_egress_vlan_op(&dp.ports[out], meta->segment, meta->pi.n_vlans, &tci);
	if (index >= 0)
		fw_install(m, meta, out, op, tci, (uint32_t)index, dir);
	if (meta->frag_size)
		return FW_NEXT_REFRAG; /* the egress edit is made there, fragment by fragment */
	if (dse_egress_vlan_apply(m, op, tci) != 0)
		return FW_NEXT_NO_MBUF;
	m->port = out;
	return FW_NEXT_TX;
}

/*
 * Answers to rejected packets made during one burst; they go to "dse_tx"
 * after the burst, not in the middle of its speculative enqueue.
 */
struct fw_replies {
	uint16_t n;
	struct rte_mbuf *m[DSE_BURST];
};

/*
 * Drops or rejects a denied packet, and makes its deny record (the control
 * thread logs it, rate limited).
 */
static uint16_t fw_refuse(struct fw_replies *rep, struct rte_mbuf *m,
			  const struct dse_pkt_info *pi, const struct fw_judgement *j)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	struct rte_mbuf *r;

	dse_fw_deny_event(dp_worker(), rule_id(j->result), (uint8_t)j->action, &j->key);
	if (j->action != DSE_FW_REJECT)
		return FW_NEXT_DENY;
	r = rep->n < DSE_BURST ? fw_reject_reply(frame, rte_pktmbuf_data_len(m), pi) : NULL;
	if (r != NULL) {
		r->port = dse_meta(m)->in_port;
		rep->m[rep->n++] = r;
	} else {
		/* No node sees a reply that was never made: count it here. */
		dp_worker()->reject_no_mbuf++;
	}
	return FW_NEXT_REJECT;
}

/*
 * What the first pass over a burst found of each packet: its connection
 * tuple.  The first pass also looks every tuple up once, in
 * bulk, so that the per-packet pass finds the connection table in the
 * cache: connection setup misses in it on nearly every packet.
 */
struct fw_burst {
	struct dse_ct_tuple t[DSE_BURST];
	bool tracked[DSE_BURST]; /* false: not a packet connection tracking follows */
	uint8_t cksum[DSE_BURST]; /* enum dse_cksum_result: a packet with a wrong one goes no further */
	/*
	 * Packets whose connection the bulk lookup did not find are likely to
	 * open one: their keys are classified together, in one call, before
	 * the per-packet pass (rte_acl costs much less per key in a batch).
	 */
	uint8_t n_keys[DSE_BURST]; /* keys classified for the packet, 0: none */
	struct dse_fw_key keys[DSE_BURST][2];
	uint32_t res[DSE_BURST][2];
};

/*
 * Looks up the 'k' tuples 'tp' of packets 'at' in bulk; the keys of those
 * not found are added to 'kp' for classification.  Returns the new count.
 */
static unsigned fw_prepare_lookup(struct fw_burst *b, void **objs,
				  const struct dse_ct_tuple *const *tp, const uint16_t *at,
				  unsigned k, const struct dse_fw_key **kp, unsigned nk)
{
	int32_t index[64];
	uint8_t dir[64];

	dse_ct_lookup_bulk(dp_worker()->ct, tp, k, index, dir);
	for (unsigned x = 0; x < k; x++) {
		uint16_t p = at[x];
		const struct dse_meta *meta;

		if (index[x] >= 0) {
			dse_ct_prefetch(dp_worker()->ct, (uint32_t)index[x]);
			continue;
		}
		meta = dse_meta(objs[p]);
		b->n_keys[p] =
		    (uint8_t)fw_keys(rte_pktmbuf_mtod((struct rte_mbuf *)objs[p], const uint8_t *),
				     &meta->pi, meta->segment, meta->in_port, meta->out_port, false,
				     b->keys[p]);
		for (unsigned y = 0; y < b->n_keys[p]; y++)
			kp[nk++] = &b->keys[p][y];
	}
	return nk;
}

static void fw_prepare(struct fw_burst *b, void **objs, uint16_t n)
{
	const struct dse_ct_tuple *tp[64];
	const struct dse_fw_key *kp[2 * DSE_BURST];
	uint32_t res[2 * DSE_BURST];
	uint16_t at[64];
	unsigned k = 0, nk = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = objs[i];
		const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);

		b->n_keys[i] = 0;
		b->cksum[i] = (uint8_t)dse_cksum_check(m, &dse_meta(m)->pi);
		b->tracked[i] = b->cksum[i] == DSE_CKSUM_OK &&
				dse_ct_tuple_from_pkt(&b->t[i], frame, &dse_meta(m)->pi,
						      dse_meta(m)->segment) == 0;
		if (!b->tracked[i])
			continue;
		at[k] = i;
		tp[k++] = &b->t[i];
		if (k == RTE_DIM(tp)) {
			nk = fw_prepare_lookup(b, objs, tp, at, k, kp, nk);
			k = 0;
		}
	}
	if (k)
		nk = fw_prepare_lookup(b, objs, tp, at, k, kp, nk);
	if (nk == 0)
		return;
	dse_fw_classify(fw_rules(), kp, nk, res);
	nk = 0;
	for (uint16_t i = 0; i < n; i++)
		for (unsigned y = 0; y < b->n_keys[i]; y++)
			b->res[i][y] = res[nk++];
}

/*
 * True when 'm' is an ICMP or ICMPv6 error about a live connection of its
 * segment (dse_ct_related()): it passes whatever the rules say.
 */
static bool fw_related(struct rte_mbuf *m, const struct dse_meta *meta, uint64_t now)
{
	const struct dse_pkt_info *pi = &meta->pi;
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *l3 = frame + pi->l3_off, *icmp;
	const bool v6 = pi->l3 == DSE_L3_IPV6;
	uint8_t buf[512], dst[16], kind;
	uint32_t len;

	if (pi->l4_off == 0 || pi->l4_proto != (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP) ||
	    dse_ct_icmp_error_kind(v6 ? 6 : 4, frame[pi->l4_off], frame[pi->l4_off + 1]) < 0)
		return false;
	/* The header and quote: enough of it for the quoted headers, wherever it lies. */
	len = RTE_MIN((uint32_t)pi->ip_end - pi->l4_off, (uint32_t)sizeof(buf));
	icmp = rte_pktmbuf_read(m, pi->l4_off, len, buf);
	if (icmp == NULL)
		return false;
	if (v6)
		memcpy(dst, l3 + 24, 16);
	else
		dse_ct_addr_from_ipv4(dst, l3 + 16);
	return dse_ct_related(dp_worker()->ct, meta->segment, v6 ? 6 : 4, dst, icmp, len, now, &kind) >= 0;
}

static uint16_t fw_one(struct fw_replies *rep, struct fw_burst *b, uint16_t i,
		       struct rte_mbuf *m, uint64_t now)
{
	struct dse_meta *meta = dse_meta(m);
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct dse_pkt_info *pi = &meta->pi;
	const struct dse_ct_tuple *tuple = &b->t[i];
	struct fw_judgement j;
	struct dse_ct_seg cs;
	enum dse_ct_verdict v;
	struct dse_ct_entry *e;
	int32_t index;
	uint8_t dir;
	int r;

	if (unlikely(b->cksum[i] != DSE_CKSUM_OK))
		return (uint16_t)(FW_NEXT_CKSUM_IP4 + b->cksum[i] - DSE_CKSUM_BAD_IP4);
	if (!b->tracked[i]) {
		if (fw_related(m, meta, now))
			return fw_pass(m, meta, -1, 0);
		/* Not tracked: the rules decide every packet. */
		fw_judge(frame, pi, meta->segment, meta->in_port, meta->out_port, false, &j);
		return j.action == DSE_FW_ALLOW ? fw_pass(m, meta, -1, 0)
						: fw_refuse(rep, m, pi, &j);
	}
	dse_ct_seg_from_pkt(&cs, frame, pi);
	cs.in_port = meta->in_port;
	v = dse_ct_process(dp_worker()->ct, tuple, &cs, now, &index, &dir);
	switch (v) {
	case DSE_CT_INVALID:
		return FW_NEXT_INVALID;
	case DSE_CT_NEW:
		if (b->n_keys[i])
			fw_verdict(b->keys[i], b->res[i], b->n_keys[i], meta->segment, &j);
		else
			fw_judge(frame, pi, meta->segment, meta->in_port, meta->out_port, false,
				 &j);
		if (j.action != DSE_FW_ALLOW)
			return fw_refuse(rep, m, pi, &j);
		r = dse_ct_create_conn(dp_worker()->ct, tuple, &cs, now, rule_id(j.result));
		if (r == -ENOSPC)
			return FW_NEXT_FULL;
		if (r == -EDQUOT)
			return FW_NEXT_LIMIT;
		if (r < 0)
			return FW_NEXT_INVALID;
		dp_worker()->ct->entries[r].fw_gen = fw_gen();
		return fw_pass(m, meta, r, DSE_CT_DIR_ORIG);
	default:
		e = &dp_worker()->ct->entries[index];
		if (unlikely(e->fw_gen != fw_gen())) {
			/* The rules changed since this connection was judged: judge it again. */
			fw_judge(frame, pi, meta->segment, meta->in_port, meta->out_port,
				 dir == DSE_CT_DIR_REPLY, &j);
			if (j.action != DSE_FW_ALLOW) {
				dse_ct_delete(dp_worker()->ct, (uint32_t)index);
				return fw_refuse(rep, m, pi, &j);
			}
			e->fw_gen = fw_gen();
			e->mark = rule_id(j.result);
		}
		return fw_pass(m, meta, index, dir);
	}
}

static uint16_t fw_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			   uint16_t n)
{
	struct dse_worker *w = dp_worker();
	const uint64_t now = w->now_ns;
	struct fw_burst *b = dse_node_scratch(node); /* too large for the stack */
	struct fw_replies rep;
	struct dse_enq q;

	rep.n = 0;
	fw_prepare(b, objs, n);
	dse_enq_start(&q, graph, node, objs, n, FW_NEXT_TX);
	for (uint16_t i = 0; i < n; i++)
		dse_enq(&q, fw_one(&rep, b, i, objs[i], now));
	dse_enq_end(&q);
	if (rep.n)
		rte_node_enqueue(graph, node, FW_NEXT_TX, (void **)rep.m, rep.n);
	return n;
}

static int fw_init(const struct rte_graph *graph, struct rte_node *node)
{
	RTE_SET_USED(graph);
	return dse_node_scratch_alloc(node, sizeof(struct fw_burst));
}

static int node_fw_register(void)
{
	static const char *const next[] = {"dse_tx", "dse_flood", "dse_refrag"};
	static const char *const drops[] = {"fw_deny",	 "fw_reject", "ct_invalid", "ct_full",
					    "no_mbuf",	 "ct_limit",  "cksum_ip4",  "cksum_tcp",
					    "cksum_udp", "cksum_icmp"};

	RTE_BUILD_BUG_ON(FW_NEXT_N != RTE_DIM(next) + RTE_DIM(drops));
	return dse_node_register("dse_fw", 0, fw_process, fw_init, next, RTE_DIM(next), drops,
				 RTE_DIM(drops)) == RTE_NODE_ID_INVALID
		       ? -EINVAL
		       : 0;
}
DSE_NODE_REGISTER(node_fw_register)
