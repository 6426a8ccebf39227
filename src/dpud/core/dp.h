/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The datapath's state: ports, segments, the FDB, the flow caches and the
 * worker lcores that run the graph (docs/datapath.md, "Workers").
 *
 * Concurrency: the configuration here (ports, segments, TEPs, rules) is
 * changed only through dp_call(), which stops every worker between two of
 * its graph walks, runs a function on worker 0 while the others wait, and
 * lets them all go on (when no worker runs yet, the function runs at once on
 * the caller).  So the packet path takes no lock and never sees a half-made
 * change, and a change costs each worker the time of the function and of
 * the other workers' walks in progress.  What the workers change themselves
 * has one writer each: the FDB is written by worker 0 alone (the others send
 * what they learn through its learn ring), a worker's flow caches,
 * connection table and fragment table are its own, and a firewalled packet
 * is handed to the worker that owns its connection (dp_conn_owner()).  The
 * control thread may read the configuration while it waits for nothing,
 * because it is the only thread that asks for changes; counters, FDB
 * entries and connections it reads through dp_call().
 */
#ifndef DSE_DP_H
#define DSE_DP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <netinet/in.h>

#include <rte_ether.h>
#include <rte_graph.h>
#include <rte_arp.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_per_lcore.h>
#include <rte_ring.h>
#include <rte_rcu_qsbr.h>

#include "acl.h"
#include "dse_api.h"
#include "conntrack.h"
#include "events.h"
#include "fdb.h"
#include "flow.h"
#include "frag.h"
#include "geneve.h"
#include "parse.h"

struct dp_cmd;

#define DSE_VNI_SLOTS 1024 /* twice the largest number of segments, a power of two */

/* What one DPU holds is the API schema's limits (api/types.json), so dse-hostd refuses the same. */
#define DSE_MAX_PORTS    DSE_API_LIMIT_DPU_PORTS /* ports of one datapath (DPDK ethdevs) */
#define DSE_MAX_TEPS     DSE_API_LIMIT_DPU_PEERS /* peer TEPs, each a virtual port after the ports */
#define DSE_MAX_VPORTS   (DSE_MAX_PORTS + DSE_MAX_TEPS)
#define DSE_MAX_SEGMENTS DSE_API_LIMIT_DPU_SEGMENTS
#define DSE_NAME_MAX     (DSE_API_LIMIT_NAME_MAX + 1) /* with its NUL */
/* Virtual ports of peer TEPs are named this and the address; port.add refuses it. */
#define DSE_TEP_PORT_PREFIX "tep-"
#define DSE_NO_SEGMENT   0xffff
#define DSE_NO_PORT      0xffff
#define DSE_BURST        RTE_GRAPH_BURST_SIZE
#define DSE_MAX_WORKERS  16 /* forwarding lcores (--workers) */
#define DSE_LEARN_RING   1024 /* MACs another worker learned, waiting for worker 0 */
#define DSE_HANDOFF_RING 2048 /* packets handed to a worker by the others */

_Static_assert(DSE_MAX_VPORTS - 1 <= DSE_FDB_MAX_PORT, "an FDB entry must hold every port id");

/* How a port handles VLAN tags. */
enum dse_port_mode {
	DSE_PORT_ACCESS = 0, /* untagged, in one segment (a VM's port) */
	DSE_PORT_TRUNK,      /* tagged with the segment's VLAN (an uplink) */
};

/* One switch port: a DPDK ethdev. */
struct dse_port {
	bool used;
	char name[DSE_NAME_MAX];
	char devargs[256];
	uint16_t port_id;  /* DPDK port id; index of dp.ports */
	uint16_t mtu;      /* largest L3 payload accepted (frames above are dropped) */
	uint16_t max_frame; /* largest frame the device delivers whole (see port.c) */
	uint16_t n_rxq;    /* receive queues: workers 0 .. n_rxq - 1 poll one each */
	uint8_t mode;      /* enum dse_port_mode */
	uint16_t segment;  /* access: its segment, else DSE_NO_SEGMENT */
	/*
	 * An uplink to the physical network.  A switch's uplinks are a team:
	 * frames never pass from one uplink to another, a flood leaves
	 * through one uplink only, and a frame coming back in on an uplink
	 * with the source address of a local port is a reflection (dropped).
	 */
	bool uplink;
	bool fw_any;        /* carries a segment with the firewall on (set by dp_segments_rebuild) */
	bool tep_uplink;    /* our TEP sends and receives on this port */
	/*
	 * A virtual port (id DSE_MAX_PORTS and up) stands for a peer TEP: what
	 * the FDB learns behind it is reached by Geneve encapsulation.
	 */
	bool tunnel;
	uint32_t tep_ip;               /* tunnel: the peer's address, network order */
	/*
	 * tunnel: its MAC (by ARP or from its packets) in the low 48 bits and
	 * bit 63 set once known; 0 while not.  One word, so that a worker
	 * reads it whole while another learns it (dp_tep_mac()).
	 */
	uint64_t tep_mac_word;
	uint16_t tep_refs;             /* tunnel: segments that have this peer */
	/* trunk: segments it carries, one bit per segment index */
	uint64_t trunk_segs[DSE_MAX_SEGMENTS / 64];
};

/* A layer 2 segment (broadcast domain), backed by a VLAN on trunks. */
struct dse_segment {
	bool used;
	char name[DSE_NAME_MAX];
	uint16_t vlan;      /* 802.1Q VLAN id on trunk ports, 1..4094; 0 for an overlay segment */
	uint32_t vni;       /* Geneve VNI of an overlay segment, else 0 */
	uint16_t n_peers;   /* overlay: peer TEPs that floods are replicated to */
	uint16_t peers[DSE_MAX_TEPS]; /* ... as their virtual port ids */
	bool fw;            /* the firewall filters and tracks this segment's IP traffic */
	uint16_t n_members; /* ports in 'members' */
	uint16_t members[DSE_MAX_PORTS]; /* local (non-uplink) ports of the segment */
	uint16_t flood_uplink; /* the uplink that carries this segment's floods, or DSE_NO_PORT */
};

/* A MAC a worker other than worker 0 saw, for worker 0 to learn (see dp.h's top). */
struct dp_learn {
	uint8_t mac[6];
	uint16_t segment;
	uint16_t port;
	uint16_t pad;
	uint32_t now_s;
};

/*
 * One worker lcore: polls queue 'id' of every port and walks its own graph
 * ("dse_worker<id>").  Everything here is written only by that lcore, but
 * for the mailbox and the rings, which are how the others reach it.
 */
struct dse_worker {
	unsigned id;       /* index in dp.workers; the RX and TX queue it uses on every port */
	unsigned lcore;
	char graph_name[RTE_GRAPH_NAMESIZE];
	struct rte_graph *graph;
	rte_graph_t graph_id;
	struct dse_flow_cache *flows; /* this lcore's flow cache (layer 2 keys) */
	struct dse_flow4_cache *flows4; /* ... and for firewalled segments (layer 4 keys) */
	uint32_t flows_gen;           /* dp.flow_gen when the caches were last checked for a wrap */
	/* The connections this worker owns (dp_conn_owner()), and its share of the limits. */
	struct dse_ct *ct;
	uint64_t next_ct_ns;          /* when the connection timer wheel runs next */
	uint16_t n_rx;                 /* ports polled by this worker */
	uint16_t rx_ports[DSE_MAX_PORTS];
	uint16_t rx_first;             /* the port polled first in the next walk (fairness) */
	uint64_t now_ns;   /* dse_clock_ns() at the start of this walk */
	uint32_t now_s;    /* the same in seconds, for FDB timestamps */
	uint32_t rx_last;  /* packets the rx node received in the last walk */
	uint64_t next_age_ns; /* when the FDB is scanned for aged entries next (worker 0) */
	uint64_t next_frag_ns; /* when the fragment table is checked for timeouts next */
	uint64_t flood_copy_failed; /* flood copies not made for want of an mbuf */
	uint64_t announce_lost;     /* fdb.announce frames not sent (worker 0) */
	uint64_t reject_no_mbuf;    /* reject replies not made for want of an mbuf */
	uint64_t held;              /* packets received and dropped while the datapath holds */
	uint64_t last_walk_tsc;     /* TSC at the start of the last walk (the stall fence) */
	uint8_t hold;               /* dp.hold as loaded at the start of this walk */
	uint64_t tep_arp_lost;      /* ARP requests for peer TEPs not sent */
	uint64_t learn_sent;        /* MACs passed to worker 0 to learn */
	uint64_t learn_lost;        /* MACs not passed to worker 0: its learn ring was full */
	uint64_t handoff_in;        /* packets other workers handed to this one */
	uint64_t handoff_out;       /* packets handed to their connection's worker */
	/* Fragments of firewalled segments being reassembled (allocated: 18 KB of it). */
	struct dse_frag *frag;
	struct rte_ring *learn;   /* worker 0 only: struct dp_learn from the other workers */
	struct rte_ring *handoff; /* mbufs of connections this worker owns, from the others */
	/* This worker's ring of event records to the control side (events.h). */
	struct dse_event_producer events;
	/*
	 * Deny records are limited per worker (a token bucket of
	 * DSE_DENY_EVENTS_PER_S), so a flood of denied packets can not fill
	 * the ring that the FDB and connection records need.
	 */
	uint64_t deny_refill_ns;  /* when the bucket was last refilled */
	uint32_t deny_tokens;	  /* records it may still make */
	uint64_t deny_suppressed; /* denials without a record (read by the control thread) */
	/*
	 * The rule set this walk judges by: dp.fw as loaded at the start of
	 * the walk, so that one walk never mixes two sets (see dp_worker_fw()).
	 */
	struct dse_fw_ruleset *fw;
	/*
	 * The generation of 'fw' (0: none): a new set may reuse the address of
	 * a freed one, so the generation, not the pointer, says it is new.
	 */
	uint32_t fw_gen;
	uint16_t parse_spec; /* the parse node's edge most packets of the last burst took */
	/* Outer headers toward each peer TEP (index: virtual port - DSE_MAX_PORTS). */
	struct dse_geneve_peer_tpl encap_tpl[DSE_MAX_TEPS];
	_Atomic(struct dp_cmd *) mailbox; /* a dp_call() waiting to run */
};

/* Why the datapath holds (struct dse_dp 'hold'). */
#define DP_HOLD_STANDBY 1 /* the standby of a pair: it keeps the synced state, forwards nothing */
#define DP_HOLD_STALL	2 /* its walks stopped for longer than the stall limit: fenced */

/* The whole datapath. */
struct dse_dp {
	struct rte_mempool *pool;
	struct dse_port ports[DSE_MAX_VPORTS];      /* indexed by DPDK port id, then peer TEPs */
	struct dse_segment segments[DSE_MAX_SEGMENTS];
	uint16_t vlan_seg[4096];                    /* VLAN id -> segment, or DSE_NO_SEGMENT */
	/* Our tunnel endpoint; ip 0 while there is none. */
	struct {
		uint32_t ip;               /* network order */
		struct rte_ether_addr mac; /* the uplink's */
		uint16_t uplink;           /* the port it uses */
		uint64_t next_arp_ns;      /* when unresolved peers are asked for next */
	} tep;
	/* VNI -> segment, open addressing on the low bits (DSE_VNI_SLOTS slots). */
	struct {
		uint32_t vni; /* 0: empty */
		uint16_t seg;
	} vni_map[DSE_VNI_SLOTS];
	struct dse_fdb *fdb;
	/*
	 * The rules in force (NULL: none), published by the control thread
	 * with one atomic store; a worker loads it once per walk.  An old set
	 * is freed after dp_rcu_synchronize().
	 */
	struct dse_fw_ruleset *_Atomic fw;
	uint64_t ct_mem_bytes;          /* DPDK memory the connection tables took */
	/* Several workers: the connections allowed over all their tables (max_conns). */
	struct dse_ct_budget ct_budget;
	bool fw_on;                     /* some segment has the firewall on (dp_segments_rebuild) */
	struct dse_fw_denylog denylog;  /* rate-limited log of denials */
	unsigned n_workers;             /* workers in use (--workers) */
	/* The workers as readers of shared tables: each reports a quiescent state per walk. */
	struct rte_rcu_qsbr *rcu;
	struct dse_worker workers[DSE_MAX_WORKERS];
	atomic_bool running;            /* the workers run (dp_start() to dp_stop()) */
	atomic_bool quit;               /* asks the workers to stop */
	/* Bumped by every configuration change that can alter any decision (dp_flows_invalidate()). */
	_Atomic uint32_t flow_gen;
	/*
	 * HA (ha/ha.c): 0 while the datapath forwards, else why it holds
	 * (DP_HOLD_*): a standby, or a DPU that fenced itself after a stall.
	 * Each worker loads it once per walk; while it holds, what arrives is
	 * received and dropped (counted in the worker's 'held'), nothing is
	 * sent, and neither connections nor learned MACs age.
	 */
	_Atomic uint8_t hold;
	/*
	 * When nonzero: a worker whose walks were this far apart (in TSC
	 * cycles: the process was stopped, not merely slow) sets 'hold' to
	 * DP_HOLD_STALL, so an active the host gave up on does not forward
	 * when it comes back.  Set with the role (ha.role.set stall_ms).
	 */
	_Atomic uint64_t stall_cycles;
	_Atomic uint32_t stalls;        /* times a worker fenced the datapath so */
	bool idle_sleep;       /* sleep adaptively when no packets arrive (the lab) */
	unsigned idle_sleep_max_us;
	int mbuf_dyn_offset;   /* offset of struct dse_meta in an mbuf */
	unsigned frag_max;       /* --frag-table: datagrams reassembled at once */
	unsigned frag_timeout_s; /* --frag-timeout */
};

extern struct dse_dp dp;

/* Records each worker's event ring holds (4 MiB of 64-byte records). */
#define DSE_EVENT_RING_SIZE 65536

/* Deny records a worker makes a second at most, and in one burst. */
#define DSE_DENY_EVENTS_PER_S 1000

/* The worker of the calling lcore; NULL on the control thread. */
RTE_DECLARE_PER_LCORE(struct dse_worker *, dp_self);

/*
 * The worker of the calling lcore.  On the control thread (a dp_call()
 * function run there when no worker runs, the RPC handlers) it is worker 0,
 * whose place dp_call() takes.
 */
static inline struct dse_worker *dp_worker(void)
{
	struct dse_worker *w = RTE_PER_LCORE(dp_self);

	return likely(w != NULL) ? w : &dp.workers[0];
}

/* The workers' connection tables: for (each ct) ... */
#define DP_FOREACH_CT(ct_)                                                                    \
	for (unsigned dp_i_ = 0; dp_i_ < dp.n_workers && ((ct_) = dp.workers[dp_i_].ct, 1); \
	     dp_i_++)

/*
 * Which worker owns the connection of an IP packet from 'a' to 'b' (or
 * from 'b' to 'a': the same), given as the addresses folded to 32 bits.
 * Only the addresses count, so that every fragment of a datagram and both
 * directions reach the same worker whatever queue they came in on.
 * scripts/dse_owner.py computes the same for the benchmark and the tests.
 */
static inline unsigned dp_conn_owner(uint32_t a, uint32_t b)
{
	/* Ordered, not XORed: pairs that differ by the same bits must still spread. */
	uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
	uint32_t h = lo * 0x9e3779b1u + hi;

	h ^= h >> 15;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return (unsigned)(((uint64_t)h * dp.n_workers) >> 32);
}

/* Per-packet metadata kept in an mbuf dynamic field. */
struct dse_meta {
	/*
	 * What the parse node found, written there by the parser itself: the
	 * later nodes (the firewall, connection tracking) read it instead of
	 * parsing again.  It describes the frame as received.
	 */
	struct dse_pkt_info pi;
	uint16_t in_port;   /* ingress DPDK port id */
	uint16_t segment;   /* segment index, once classified */
	uint16_t out_port;  /* egress port decided by the FDB; DSE_NO_PORT: flood */
	/*
	 * A datagram reassembled from fragments (frag.h): the largest fragment
	 * payload it came in, so it leaves in fragments of that size; 0 for
	 * any other packet.  (An IPv6 datagram's fragment identification
	 * travels in the mbuf's hash.fdir.hi, beside hash.usr: see
	 * dse_meta_frag_id.)
	 */
	uint16_t frag_size;
};

/*
 * The metadata lives in the mbuf's dynamic field area, 36 bytes that the
 * drivers share (net_pcap, for one, registers an 8-byte timestamp there):
 * it must leave an aligned 8 bytes free.
 */
_Static_assert(sizeof(struct dse_meta) <= 28, "struct dse_meta must leave room for drivers");

/* The IPv6 fragment identification of a reassembled datagram (see struct dse_meta). */
static inline uint32_t *dse_meta_frag_id(struct rte_mbuf *m)
{
	return &m->hash.fdir.hi;
}

static inline struct dse_meta *dse_meta(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, dp.mbuf_dyn_offset, struct dse_meta *);
}

/* Folds an address of 'len' bytes (4 or 16) to 32 bits, for dp_conn_owner(). */
static inline uint32_t dp_addr_fold(const uint8_t *a, unsigned len)
{
	uint32_t x = 0, w;

	for (unsigned i = 0; i < len; i += 4) {
		memcpy(&w, a + i, 4);
		x ^= w;
	}
	return x;
}

/*
 * The worker that owns the connection of IP packet 'frame' (of which 'len'
 * bytes are contiguous): dp_conn_owner() of its addresses, or for an ICMP
 * or ICMPv6 error of the addresses of the packet it quotes, since that is
 * the connection it may be related to.
 */
static inline unsigned dp_pkt_owner(const uint8_t *frame, uint32_t len, const struct dse_meta *meta)
{
	const struct dse_pkt_info *pi = &meta->pi;
	const bool v6 = pi->l3 == DSE_L3_IPV6;
	const uint8_t *ip = frame + pi->l3_off;

	if (unlikely(pi->l4_off != 0 && pi->l4_proto == (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP))) {
		uint8_t type = frame[pi->l4_off];
		uint32_t quote = pi->l4_off + 8u, need = v6 ? 40 : 20;

		if ((v6 ? type >= 1 && type <= 4 : type == 3 || type == 11 || type == 12) &&
		    quote + need <= len && quote + need <= pi->ip_end)
			ip = frame + quote;
	}
	if (!v6)
		return dp_conn_owner(dp_addr_fold(ip + 12, 4), dp_addr_fold(ip + 16, 4));
	return dp_conn_owner(dp_addr_fold(ip + 8, 16), dp_addr_fold(ip + 24, 16));
}

/*
 * Creates the datapath for 'n_workers' workers: packet pool of 'n_mbufs',
 * FDB, and per worker its flow caches, its part of the 'conn_table'
 * connections and its rings.  Must run after rte_eal_init().  Returns 0 or
 * a negative errno.
 */
int dp_init(unsigned n_workers, unsigned n_mbufs, unsigned fdb_size, unsigned flow_cache_size,
	    unsigned conn_table);

/*
 * Creates each worker's fragment reassembly table: at most 'max_datagrams'
 * incomplete datagrams, each given 'timeout_s' seconds.  Returns 0 or -errno.
 */
int dp_frag_init(unsigned max_datagrams, unsigned timeout_s);

/*
 * Creates the graphs and launches worker i on lcore 'lcores[i]', for each
 * of the dp_init() workers.  Returns 0 or -errno.
 */
int dp_start(const unsigned *lcores);

/* Stops the workers and waits for them; then frees the fragment tables. */
void dp_stop(void);

/*
 * Runs 'fn(arg)' on worker 0 between two graph walks while every other
 * worker waits between two of its own (or here if no worker runs), and
 * returns what it returned.
 */
int dp_call(int (*fn)(void *arg), void *arg);

/*
 * Waits until every worker passed a quiescent state (ended the graph walk it
 * was in, or was offline: asleep, or parked in a dp_call()), so that nothing
 * unpublished before the call is still in use.  From the control thread
 * only, never from a dp_call() function.  Returns at once when no worker runs.
 */
void dp_rcu_synchronize(void);

/*
 * Marks every flow cache entry of every worker stale.  Any thread.  For the
 * rare changes that can alter any decision (segments, ports, the
 * firewall's policy); an FDB change retires only its own decisions (flow.h).
 */
static inline void dp_flows_invalidate(void)
{
	/* Generation 0 marks empty entries; each worker empties its caches on the wrap. */
	if (atomic_fetch_add_explicit(&dp.flow_gen, 1, memory_order_acq_rel) + 1 == 0)
		atomic_fetch_add_explicit(&dp.flow_gen, 1, memory_order_acq_rel);
}

/* Recomputes every segment's member list and the VLAN map.  Worker context only. */
void dp_segments_rebuild(void);

/*
 * A new frame of 'len' bytes from the packet pool, for the control paths
 * that make one (ARP, announcements): returns where its bytes go and sets
 * '*ret', or NULL when the pool is empty.
 */
static inline void *dp_frame_new(size_t len, struct rte_mbuf **ret)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(dp.pool);
	void *p = m ? rte_pktmbuf_append(m, (uint16_t)len) : NULL;

	if (p == NULL) {
		rte_pktmbuf_free(m);
		return NULL;
	}
	*ret = m;
	return p;
}

/*
 * A new broadcast frame from 'src' of EtherType 'type' (host order) with
 * room for 'payload' bytes after its Ethernet header: returns where the
 * payload goes and sets '*ret', or NULL when the pool is empty.
 */
static inline void *dp_frame_bcast(const struct rte_ether_addr *src, uint16_t type,
				   size_t payload, struct rte_mbuf **ret)
{
	struct rte_ether_hdr *eth = dp_frame_new(sizeof(*eth) + payload, ret);

	if (eth == NULL)
		return NULL;
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	eth->src_addr = *src;
	eth->ether_type = rte_cpu_to_be_16(type);
	return eth + 1;
}

/*
 * Fills the fixed part of an Ethernet/IPv4 ARP (or RARP) header 'arp' with
 * 'op' (host order).
 */
static inline void dp_arp_init(struct rte_arp_hdr *arp, uint16_t op)
{
	memset(arp, 0, sizeof(*arp));
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
}

/* Returns true if port 'p' (DPDK id) carries segment 'seg'. */
static inline bool dp_port_in_segment(const struct dse_port *p, uint16_t seg)
{
	if (!p->used)
		return false;
	if (p->mode == DSE_PORT_ACCESS)
		return p->segment == seg;
	return (p->trunk_segs[seg / 64] & (1ull << (seg % 64))) != 0;
}

/* Returns the segment of overlay 'vni', or DSE_NO_SEGMENT. */
static inline uint16_t dp_vni_segment(uint32_t vni)
{
	for (uint32_t i = vni, n = 0; n < DSE_VNI_SLOTS; i++, n++) {
		uint32_t slot = i & (DSE_VNI_SLOTS - 1);

		if (dp.vni_map[slot].vni == vni)
			return dp.vni_map[slot].seg;
		if (dp.vni_map[slot].vni == 0)
			break;
	}
	return DSE_NO_SEGMENT;
}

#define DP_TEP_MAC_KNOWN (1ull << 63)

/* The MAC of peer TEP port 'p' into 'mac'; returns false while it is not known. */
static inline bool dp_tep_mac(const struct dse_port *p, struct rte_ether_addr *mac)
{
	uint64_t w = __atomic_load_n(&p->tep_mac_word, __ATOMIC_RELAXED);

	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		mac->addr_bytes[i] = (uint8_t)(w >> (8 * (5 - i)));
	return (w & DP_TEP_MAC_KNOWN) != 0;
}

/* Publishes the MAC of peer TEP port 'p' (any worker may). */
static inline void dp_tep_mac_set(struct dse_port *p, const struct rte_ether_addr *mac)
{
	uint64_t w = DP_TEP_MAC_KNOWN;

	for (int i = 0; i < RTE_ETHER_ADDR_LEN; i++)
		w |= (uint64_t)mac->addr_bytes[i] << (8 * (5 - i));
	__atomic_store_n(&p->tep_mac_word, w, __ATOMIC_RELAXED);
}

/* Frame bytes beyond the MTU: Ethernet header and up to two VLAN tags. */
#define DSE_L2_OVERHEAD (14 + 8)

/* A graph node's counters, summed over the workers. */
struct dp_node_stats {
	uint64_t objs;   /* packets it handled */
	uint64_t calls;  /* times it ran */
	uint64_t cycles; /* TSC cycles it took */
};

/* Reads the counters of node 'name', summed over the workers.  Returns 0, or -ENOENT when no worker runs it. */
int dp_node_stats(const char *name, struct dp_node_stats *ret);

/* Looks up a port by name; returns its DPDK id or DSE_NO_PORT. */
uint16_t dp_port_find(const char *name);

/* Looks up a segment by name; returns its index or DSE_NO_SEGMENT. */
uint16_t dp_segment_find(const char *name);

#endif
