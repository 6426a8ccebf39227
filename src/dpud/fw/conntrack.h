/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Connection tracking: which connections exist, in which state, and whether
 * a packet fits the connection it belongs to.  The firewall allows the first
 * packet of a connection by its rules and creates the connection; from then
 * on the return traffic passes because the connection exists, and a TCP
 * segment that does not fit the connection's state (no SYN seen, outside the
 * peer's window, after a reset) is invalid and counted.
 *
 * One table entry per connection.  The hash key is the connection's tuple
 * normalised so that both directions make the same key (struct dse_ct_tuple
 * says which direction a packet is), so a packet in either direction finds
 * the connection with one lookup and a connection costs one rte_hash key.
 * The key lives only in rte_hash's key store; the entry array beside it is
 * indexed by the key's position, as in the FDB.
 *
 * TCP is followed by a state machine (SYN_SENT .. TIME_WAIT, CLOSE) and by
 * per-direction sequence window tracking in the manner of Linux and Open
 * vSwitch: each side's highest sequence sent, the right edge of what the
 * peer allows it to send and its largest window, with the window scale of
 * the SYNs.  UDP, ICMP echo (matched on the identifier) and other IP
 * protocols are pseudo-connections that are unreplied until the first reply.
 *
 * Resets follow RFC 5961: only a RST at the exact sequence number the
 * receiver expects next closes the connection; one elsewhere in the window
 * passes to the endpoint (which answers with a challenge ACK) without
 * changing anything, and one outside the window is invalid.  A SYN on an
 * open connection (a client that restarted) also passes without changing
 * it; it is remembered, and the connection is replaced by a new one only
 * when the other side answers it with a SYN+ACK.
 *
 * ICMP and ICMPv6 errors are related to the connection their quoted packet
 * belongs to (dse_ct_related()), and only when the quoted TCP sequence
 * number is one the sender could have sent (RFC 5927).
 *
 * Half-open connections (a TCP handshake not completed, a datagram not yet
 * answered: "embryonic") are what a flood creates, so they are bounded:
 * a short default lifetime, a limit per source address (beyond it a new
 * connection of the source evicts the source's oldest half-open one), a
 * limit per zone (the same within the zone), and when the table is full a
 * new connection evicts a half-open (or closing) one, the oldest found,
 * instead of being refused.
 *
 * Timeouts depend on the protocol and the state.  Every entry sits in one
 * slot of a hashed timer wheel; a packet only writes its time of arrival,
 * and the wheel, when the slot comes round, either expires the entry or
 * moves it to the slot of its real expiry (a state change that shortens the
 * timeout moves it at once).  A lookup treats an entry past its timeout as
 * gone even before the wheel has reaped it, so expiry is exact.
 *
 * Threads: single writer.  Only the worker lcore calls the functions that
 * take a non-const 'ct'; the control thread reaches the table through
 * dp_call() (docs/datapath.md), so the lookups take no lock.
 *
 * Times are nanoseconds of dse_clock_ns(), passed in by the caller.
 */
#ifndef DSE_CONNTRACK_H
#define DSE_CONNTRACK_H

#include <stdalign.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>

struct dse_ct;
struct dse_pkt_info;
struct rte_hash;

#define DSE_CT_MAX_ENTRIES (1u << 24) /* largest table dse_ct_create() accepts */

#define DSE_CT_SRC_SLOTS (1u << 16) /* slots of the per-source half-open counters */
#define DSE_CT_ZONES	 256	    /* zones counted apart: a segment index is below it */
#define DSE_CT_SRC_EMBRYONIC_DEFAULT 512 /* half-open connections per source, by default */

#define DSE_CT_DIR_ORIG	 0 /* the direction of the packet that created the connection */
#define DSE_CT_DIR_REPLY 1 /* the other direction */

/* What dse_ct_process() and dse_ct_track() say about a packet. */
enum dse_ct_verdict {
	/*
	 * No connection holds the packet but it may start one: a lookup miss,
	 * a connection that has timed out, or a SYN that reopens the ports of
	 * a closed connection (the old entry is removed).  The caller runs the
	 * rules and calls dse_ct_create_conn() if they allow it.
	 */
	DSE_CT_NEW = 0,
	DSE_CT_VALID,		    /* fits the connection; its state did not change */
	DSE_CT_VALID_STATE_CHANGED, /* fits and moved the connection to another state */
	DSE_CT_INVALID,		    /* fits no connection and can not start one: drop */
};

/*
 * Connection states.  TCP uses the first nine; the pseudo-connections of
 * UDP, ICMP and other protocols are UNREPLIED until a packet of the reply
 * direction is seen, REPLIED after.  X(name, "text for people").
 */
#define DSE_CT_STATES(X)                                                                           \
	X(NONE, "NONE")                                                                            \
	X(SYN_SENT, "SYN_SENT")	      /* SYN seen */                                               \
	X(SYN_RECV, "SYN_RECV")	      /* SYN+ACK seen */                                           \
	X(ESTABLISHED, "ESTABLISHED") /* handshake completed */                                    \
	X(FIN_WAIT, "FIN_WAIT")	      /* one side sent FIN, not yet acknowledged */                \
	X(CLOSE_WAIT, "CLOSE_WAIT")   /* one side's FIN acknowledged, the other still open */      \
	X(LAST_ACK, "LAST_ACK")	      /* both sides sent FIN, not both acknowledged */             \
	X(TIME_WAIT, "TIME_WAIT")     /* both FINs acknowledged */                                 \
	X(CLOSE, "CLOSE")	      /* reset */                                                  \
	X(UNREPLIED, "UNREPLIED")                                                                  \
	X(REPLIED, "REPLIED")

/* clang-format off */
enum dse_ct_state {
#define DSE_CT_STATE_ENUM(n, s) DSE_CT_S_##n,
	DSE_CT_STATES(DSE_CT_STATE_ENUM)
#undef DSE_CT_STATE_ENUM
	DSE_CT_S__MAX
};
/* clang-format on */

/*
 * Why a packet was invalid; each reason has its own counter in
 * struct dse_ct_stats.  X(name, "description").
 */
#define DSE_CT_INVALID_REASONS(X)                                                                  \
	X(NOT_SYN, "first TCP segment of a connection is not a SYN")                               \
	X(ECHO_REPLY, "ICMP echo reply without a request")                                         \
	X(TCP_TRUNC, "TCP header shorter than 20 bytes")                                           \
	X(TCP_FLAGS, "TCP flags never valid together, or no ACK after the handshake")              \
	X(SYN_STATE, "SYN in a state that does not accept one")                                    \
	X(SYNACK_ACK, "SYN+ACK that does not acknowledge the SYN")                                 \
	X(UNEXPECTED, "segment before the SYN+ACK")                                                \
	X(SEQ_WINDOW, "sequence number outside the window the receiver offered")                   \
	X(ACK_WINDOW, "acknowledges data never sent, or is too old")                               \
	X(CLOSED, "segment after the connection was reset")                                        \
	X(RST_WINDOW, "RST outside the receive window (RFC 5961)")                                 \
	X(RST_AFTER_FIN, "RST at its sender's FIN after the FIN was acknowledged")

/* clang-format off */
enum dse_ct_invalid {
	DSE_CT_INV_NONE = 0,
#define DSE_CT_INV_ENUM(n, s) DSE_CT_INV_##n,
	DSE_CT_INVALID_REASONS(DSE_CT_INV_ENUM)
#undef DSE_CT_INV_ENUM
	DSE_CT_INV__MAX
};
/* clang-format on */

/* Timeout classes; an entry's class and state select its timeout. */
enum dse_ct_pclass {
	DSE_CT_PC_TCP = 0,
	DSE_CT_PC_UDP,
	DSE_CT_PC_ICMP, /* ICMP and ICMPv6 echo */
	DSE_CT_PC_OTHER,
	DSE_CT_PC__MAX
};

/*
 * Idle timeouts in seconds (1 s .. 30 days each).  A connection expires when
 * no valid packet was seen for the timeout of its current state.
 */
struct dse_ct_timeouts {
	uint32_t tcp_syn_sent;	  /* default 5: half-open entries must not outlive a flood */
	uint32_t tcp_syn_recv;	  /* default 5 */
	uint32_t tcp_established; /* default 86400 (24 h) */
	uint32_t tcp_fin_wait;	  /* default 120 */
	uint32_t tcp_close_wait;  /* default 60 */
	uint32_t tcp_last_ack;	  /* default 30 */
	uint32_t tcp_time_wait;	  /* default 120 */
	uint32_t tcp_close;	  /* default 10 */
	uint32_t udp_unreplied;	  /* default 30 */
	uint32_t udp_replied;	  /* default 180 */
	uint32_t icmp;		  /* default 30, both states */
	uint32_t other_unreplied; /* default 30 */
	uint32_t other_replied;	  /* default 600 */
};

/*
 * The hash key: a connection's addresses and ports in a fixed order, so
 * that both directions make the same key.  TCP, UDP and other protocols
 * order the endpoints by address, then port; ICMP echo puts the requester
 * first, with the identifier in port[0] and the request type in port[1].
 * IPv4 addresses are IPv4-mapped IPv6 (::ffff:a.b.c.d).  No padding: the
 * key is hashed and compared as bytes.
 */
struct dse_ct_key {
	uint8_t addr[2][16];
	uint16_t port[2]; /* host byte order; 0 for protocols without ports */
	uint16_t zone;	  /* the segment (VLAN or overlay) the packet belongs to */
	uint8_t proto;	  /* IP protocol number */
	uint8_t family;	  /* 4 or 6 */
};

/* A packet's view of its connection, made by dse_ct_tuple_set() or _from_pkt(). */
struct dse_ct_tuple {
	struct dse_ct_key key; /* normalised: the same for both directions */
	uint32_t hash;	       /* hash of 'key', computed once for lookup and insert */
	uint8_t swapped;       /* 1 when the packet goes from key endpoint 1 to endpoint 0 */
};

/* The layer-4 facts of one packet that tracking reads. */
struct dse_ct_seg {
	const uint8_t *l4;    /* the TCP, UDP or ICMP header; NULL for other protocols */
	uint16_t l4_len;      /* header bytes at 'l4' (TCP: with options) */
	uint16_t ip_len;      /* IP packet length, added to the byte counters */
	uint32_t payload_len; /* layer-4 payload bytes (TCP: the segment's data) */
	uint16_t in_port;     /* where the packet came in (any number; tests: 0) */
};

/* TCP window tracking of one direction (the sender's side). */
struct dse_ct_tcp_dir {
	uint32_t end;	 /* highest sequence number sent, plus one (SYN and FIN count one) */
	uint32_t maxend; /* right edge of the window the peer offered: highest seq allowed */
	uint32_t maxwin; /* largest window this side advertised, scaled; 0 = nothing seen yet */
	uint8_t wscale;	 /* window scale of this side's SYN (0 unless both SYNs had one) */
	uint8_t flags;	 /* DSE_CT_TCPF_* */
	/*
	 * The port this side's packets come in by (the first one's), or
	 * DSE_CT_PORT_UNKNOWN: only there may a SYN or SYN+ACK replace the
	 * connection, so no third party on another port can.
	 */
	uint16_t port;
};

#define DSE_CT_PORT_UNKNOWN 0xffff

#define DSE_CT_TCPF_WSCALE    0x01 /* this side's SYN carried the window scale option */
#define DSE_CT_TCPF_FIN	      0x02 /* this side sent FIN */
#define DSE_CT_TCPF_FIN_ACKED 0x04 /* ... and the peer acknowledged it */
#define DSE_CT_TCPF_ACKED     0x08 /* this side sent an ACK: the entry's maxack[] is valid */
#define DSE_CT_TCPF_PICKUP    0x10 /* synced from the peer DPU: this side's window not seen yet */

#define DSE_CT_EF_SWAPPED    0x01 /* the original direction goes from key endpoint 1 to 0 */
#define DSE_CT_EF_SEEN_REPLY 0x02 /* a packet of the reply direction was seen */
#define DSE_CT_EF_EMBRYONIC  0x04 /* half-open: counted in the per-source and per-zone limits */
#define DSE_CT_EF_SYNCED     0x08 /* put by dse_ct_sync_put() (state sync), not by a packet */

#define DSE_CT_SYN_WSCALE   0x0f /* syn_opts: the SYN's window scale (0..14) */
#define DSE_CT_SYNF_WSCALE  0x10 /* syn_opts: ... the SYN carried the window scale option */
#define DSE_CT_SYNF_PENDING 0x20 /* syn_opts: a SYN was seen on the open connection */

/*
 * One connection: 128 bytes, the first cache line holding what every packet
 * reads and writes (times, state, TCP windows), the second the counters.
 */
struct dse_ct_entry {
	alignas(64) uint64_t last_seen; /* clock ns of the last valid packet */
	uint32_t id;	/* nonzero while in use, new for every connection (see dse_ct_ref_ok) */
	uint32_t mark;	/* the firewall's verdict (for example the rule that allowed it) */
	uint8_t state;	/* enum dse_ct_state */
	uint8_t pclass; /* enum dse_ct_pclass */
	uint8_t flags;	/* DSE_CT_EF_* */
	uint8_t pad;	/* zero */
	uint32_t timer_tick;		 /* wheel tick the entry is scheduled in */
	uint32_t timer_next;		 /* entries of the same wheel slot, UINT32_MAX ends */
	uint32_t timer_prev;		 /* ... and the previous one */
	struct dse_ct_tcp_dir tcp[2];	 /* indexed by direction */
	alignas(64) uint64_t packets[2]; /* valid packets, by direction */
	uint64_t bytes[2];		 /* their IP bytes, by direction */
	uint64_t created;		 /* clock ns of the first packet */
	/* The firewall's ruleset generation that decided 'mark'; 0 at creation,
	 * never read by conntrack. */
	uint32_t fw_gen;
	uint32_t maxack[2]; /* TCP, by direction: highest ACK sent (DSE_CT_TCPF_ACKED) */
	/*
	 * A SYN's facts: in SYN_SENT and SYN_RECV the opener's (its ISN and
	 * the data it carried, so that a SYN+ACK may acknowledge the SYN
	 * alone); on an open connection those of a SYN seen on it, of the
	 * original direction (DSE_CT_SYNF_PENDING), which a SYN+ACK may turn
	 * into a new connection.
	 */
	uint32_t syn_seq;    /* its sequence number (the ISN) */
	uint16_t syn_len;    /* the data it carried (at most 65535) */
	uint16_t syn_win;    /* its window */
	uint8_t syn_opts;    /* its window scale and flags: DSE_CT_SYN_WSCALE, DSE_CT_SYNF_* */
	uint8_t zone_slot;   /* the zone's slot in the per-zone counters (embryonic) */
	uint16_t src_bucket; /* the opener's slot in the per-source counters (embryonic) */
};

/* Kinds of ICMP and ICMPv6 errors.  X(name, "text"). */
#define DSE_CT_REL_KINDS(X)                                                                        \
	X(UNREACH, "unreachable")                                                                  \
	X(TOO_BIG, "frag_needed")                                                                  \
	X(TIME, "time_exceeded")                                                                   \
	X(PARAM, "param_problem")

/* clang-format off */
enum dse_ct_rel_kind {
#define DSE_CT_REL_ENUM(n, s) DSE_CT_REL_##n,
	DSE_CT_REL_KINDS(DSE_CT_REL_ENUM)
#undef DSE_CT_REL_ENUM
	DSE_CT_REL__MAX
};
/* clang-format on */

/* Counters since creation. */
struct dse_ct_stats {
	uint64_t created;  /* connections created */
	uint64_t expired;  /* removed by their timeout */
	uint64_t removed;  /* removed by dse_ct_delete() or dse_ct_flush() */
	uint64_t reopened; /* closed TCP connections replaced by a new SYN on the same ports */
	uint64_t replaced; /* open connections replaced by a new handshake (SYN, then SYN+ACK) */
	uint64_t full;	   /* new connections refused because the table was full */
	uint64_t evicted;  /* half-open or closing connections evicted for a new one */
	uint64_t src_limit;  /* new connections refused: their source has too many half-open and
				none of them could be evicted */
	uint64_t zone_limit; /* ... their zone has too many half-open, none found to evict */
	uint64_t rst_challenged; /* RSTs in the window but not exact: passed, the connection kept */
	uint64_t syn_on_open;	 /* SYNs on an open connection: passed, the connection kept */
	uint64_t related[DSE_CT_REL__MAX];   /* ICMP errors passed as related, by kind */
	uint64_t unrelated[DSE_CT_REL__MAX]; /* ICMP errors related to no connection, by kind */
	uint64_t related_bad_seq; /* ICMP errors quoting a TCP sequence number the sender never had */
	uint64_t invalid;  /* packets found invalid (the sum of 'invalid_reason') */
	uint64_t invalid_reason[DSE_CT_INV__MAX]; /* by enum dse_ct_invalid */
};

/* One slot of the timer wheel: a list of entries linked through their timer_* fields. */
struct dse_ct_slot {
	uint32_t head; /* first entry, UINT32_MAX when empty */
	uint32_t tail; /* last entry, where new ones are appended */
};

/* What dse_ct's event hook is told. */
enum dse_ct_event {
	DSE_CT_EVENT_CREATED = 0, /* a connection was created ('detail' 0) */
	DSE_CT_EVENT_STATE,	  /* it changed state; 'detail' is the old state */
	DSE_CT_EVENT_CLOSED,	  /* it is about to be removed; 'detail' is enum dse_ct_close */
};

/* Why a connection is removed (the 'detail' of DSE_CT_EVENT_CLOSED). */
enum dse_ct_close {
	DSE_CT_CLOSE_EXPIRED = 0, /* idle past its timeout */
	DSE_CT_CLOSE_DELETED,	  /* dse_ct_delete() or dse_ct_flush() */
	DSE_CT_CLOSE_EVICTED,	  /* made room for a new connection */
	DSE_CT_CLOSE_REOPENED,	  /* a closed TCP connection reopened by a SYN */
	DSE_CT_CLOSE_REPLACED,	  /* an open connection replaced by a new handshake */
};

/*
 * Called for connection 'index' of 'ct' with what happened ('ev', enum
 * dse_ct_event) and its 'detail'.  For a removal it runs while the entry
 * and its key are still readable (dse_ct_get()); it must not change the
 * table.
 */
typedef void (*dse_ct_event_fn)(void *arg, const struct dse_ct *ct, uint32_t index, unsigned ev,
				unsigned detail);

/* A connection table. */
struct dse_ct {
	struct rte_hash *hash;	      /* struct dse_ct_key -> index of 'entries' */
	struct dse_ct_entry *entries; /* indexed by the hash's key position */
	uint32_t max_entries;	      /* connections allowed; creating more is -ENOSPC */
	uint32_t src_embryonic_max;   /* half-open connections allowed per source (<= 65535) */
	uint32_t zone_embryonic_max;  /* ... and per zone (0: max_entries / 2) */
	uint16_t *src_embryonic;      /* half-open connections per source slot (hashed) */
	uint32_t *zone_embryonic;     /* ... per zone (indexed by zone & (DSE_CT_ZONES - 1)) */
	uint64_t rnd;		      /* state of the sampling of victims (xorshift) */
	uint64_t evict_retry_ns;      /* a full table tries to evict again from this time */
	uint32_t src_seed;	      /* secret of the per-source slots' hash */
	uint32_t n_entries;	      /* connections in the table */
	uint32_t capacity;	      /* length of 'entries': the hash's key positions */
	uint32_t next_id;	      /* id of the next connection created */
	uint8_t last_invalid;	      /* enum dse_ct_invalid of the last INVALID verdict */
	uint8_t wheel_started;	      /* 'wheel_tick' is set (by the first connection) */
	uint64_t wheel_tick;	      /* last tick the wheel has run */
	struct dse_ct_slot *slots;    /* the wheel's slots */
	uint64_t timeout_ns[DSE_CT_PC__MAX]
			   [DSE_CT_S__MAX]; /* from 'timeouts', by class and state */
	struct dse_ct_timeouts timeouts;    /* as configured */
	struct dse_ct_stats stats;
	struct dse_ct_budget *budget;       /* shared with other tables, or NULL (see there) */
	dse_ct_event_fn event_fn; /* told of every creation, state change and removal; NULL: none */
	void *event_arg;	  /* its first argument */
};

/*
 * Connections allowed over several tables (one per worker): each table
 * counts its own in 'n' too, with atomic adds (never a lock).  While 'n' is
 * at 'max' a table makes room by evicting one of its own connections; one
 * that finds nothing to evict but holds less than its share (max / tables)
 * still creates, so a worker with little load is never starved by the
 * others (the tables then hold up to max plus that share each).
 */
struct dse_ct_budget {
	_Atomic uint32_t n; /* connections in all the tables */
	uint32_t max;       /* connections allowed in all of them */
	uint32_t tables;    /* tables that share it */
};

/* Filter of dse_ct_flush() and dse_ct_next(): the fields named in 'match' must match. */
#define DSE_CT_MATCH_ZONE   0x01
#define DSE_CT_MATCH_FAMILY 0x02
#define DSE_CT_MATCH_PROTO  0x04
#define DSE_CT_MATCH_ADDR   0x08 /* either endpoint within addr/plen */
#define DSE_CT_MATCH_PORT   0x10 /* either port (ICMP: the echo identifier) */
#define DSE_CT_MATCH_MARK   0x20
#define DSE_CT_MATCH_STATE  0x40

struct dse_ct_filter {
	uint32_t match;	  /* DSE_CT_MATCH_* ; 0 matches every connection */
	uint16_t zone;	  /* DSE_CT_MATCH_ZONE */
	uint8_t family;	  /* DSE_CT_MATCH_FAMILY: 4 or 6 */
	uint8_t proto;	  /* DSE_CT_MATCH_PROTO: IP protocol number */
	uint8_t addr[16]; /* DSE_CT_MATCH_ADDR; IPv4-mapped for IPv4 (dse_ct_addr_from_ipv4) */
	uint8_t plen;	  /* prefix length over the 16 bytes: an IPv4 /24 is 96 + 24 */
	uint8_t state;	  /* DSE_CT_MATCH_STATE: enum dse_ct_state */
	uint16_t port;	  /* DSE_CT_MATCH_PORT, host order */
	uint32_t mark;	  /* DSE_CT_MATCH_MARK */
};

/* A connection as people see it: the original direction's tuple and the entry's facts. */
struct dse_ct_conn {
	uint32_t index;	     /* in the table (dse_ct_delete() takes it) */
	uint32_t id;	     /* the connection's id */
	uint16_t zone;	     /* its segment */
	uint8_t family;	     /* 4 or 6 */
	uint8_t proto;	     /* IP protocol number */
	uint8_t src[16];     /* original direction: the side that opened the connection */
	uint8_t dst[16];     /* ... and the side it opened it to */
	uint16_t sport;	     /* host order; ICMP: the echo identifier */
	uint16_t dport;	     /* host order; ICMP: the echo request type */
	uint8_t state;	     /* enum dse_ct_state */
	uint8_t flags;	     /* DSE_CT_EF_* */
	uint32_t mark;	     /* the firewall's verdict */
	uint64_t packets[2]; /* by direction (DSE_CT_DIR_*) */
	uint64_t bytes[2];   /* IP bytes, by direction */
	uint64_t age_ns;     /* since the first packet */
	uint64_t idle_ns;    /* since the last valid packet */
	uint64_t expires_ns; /* until the timeout, 0 if due */
};

/* Fills 't' with the defaults of each timeout (the comments of struct dse_ct_timeouts). */
void dse_ct_timeouts_default(struct dse_ct_timeouts *t);

/*
 * Creates a table of at most 'max_entries' (1 .. DSE_CT_MAX_ENTRIES)
 * connections named 'name' (unique in the process), with timeouts 't' (NULL
 * for the defaults).  Returns NULL and sets rte_errno on failure (EINVAL for
 * a bad size or timeout, EEXIST for a name in use, ENOMEM).
 */
struct dse_ct *dse_ct_create(const char *name, uint32_t max_entries,
			     const struct dse_ct_timeouts *t);

/* Frees 'ct'; NULL is fine. */
void dse_ct_free(struct dse_ct *ct);

/*
 * Replaces the timeouts.  Existing connections use the new values at once
 * for their expiry checks; a connection the wheel had scheduled later than
 * a shortened timeout is reaped when its slot comes round (at most ~18 min),
 * but a packet or a listing sees it expired right away.  Returns 0, or
 * -EINVAL (nothing changed) when a value is outside 1 s .. 30 days.
 */
int dse_ct_set_timeouts(struct dse_ct *ct, const struct dse_ct_timeouts *t);

/* Writes the IPv4-mapped IPv6 form of 'v4' (4 bytes, network order) to 'out'. */
void dse_ct_addr_from_ipv4(uint8_t out[16], const uint8_t v4[4]);

/*
 * Builds the tuple of a packet of zone 'zone', family 'family' (4 or 6) and
 * IP protocol 'proto' from 'src' to 'dst' (16 bytes each, IPv4-mapped for
 * IPv4) with ports 'sport' and 'dport' (host order).  For ICMP (IPv4) and
 * ICMPv6 'sport' is the echo identifier and 'dport' the ICMP type: an echo
 * reply makes the same key as its request.  Protocols other than TCP, UDP
 * and ICMP have no ports (the arguments are ignored).  Returns 0, -EINVAL
 * for a bad family or ICMP of the wrong family, -ENOTSUP for an ICMP type
 * other than echo request or reply ('t' is then unusable).
 */
int dse_ct_tuple_set(struct dse_ct_tuple *t, uint16_t zone, uint8_t family, uint8_t proto,
		     const uint8_t src[16], const uint8_t dst[16], uint16_t sport, uint16_t dport);

/*
 * Builds the tuple of a parsed frame: 'frame' is the frame dse_parse_frame()
 * accepted with result 'info', 'zone' its segment.  Returns 0, or -ENOTSUP
 * when the packet is not tracked: not IP, a non-first fragment, or ICMP
 * other than echo (the firewall decides those by its rules alone).
 */
int dse_ct_tuple_from_pkt(struct dse_ct_tuple *t, const uint8_t *frame,
			  const struct dse_pkt_info *info, uint16_t zone);

/* Fills 'seg' from a parsed frame (in_port 0: the caller sets it); no check beyond the parser's. */
void dse_ct_seg_from_pkt(struct dse_ct_seg *seg, const uint8_t *frame,
			 const struct dse_pkt_info *info);

/*
 * Returns the index of the connection of 't' and sets '*ret_dir' to the
 * packet's direction (DSE_CT_DIR_*), or returns -ENOENT.  It does not look
 * at timeouts: dse_ct_process() is the lookup of the packet path.
 */
int dse_ct_lookup(const struct dse_ct *ct, const struct dse_ct_tuple *t, uint8_t *ret_dir);

/*
 * Looks up 'n' tuples at once (at most 64; the rest are not looked at).
 * Sets 'ret_index[i]' to the index of 't[i]' or -ENOENT, and 'ret_dir[i]'
 * on a hit.  Returns the number of hits.
 */
unsigned dse_ct_lookup_bulk(const struct dse_ct *ct, const struct dse_ct_tuple *const *t,
			    unsigned n, int32_t *ret_index, uint8_t *ret_dir);

/*
 * The packet path: looks up the connection of the packet 't' / 'seg' seen
 * at 'now' and tracks the packet in it (dse_ct_track()).  On a miss returns
 * DSE_CT_NEW when the packet may start a connection (a TCP SYN, a UDP or
 * other datagram, an ICMP echo request), else DSE_CT_INVALID (counted).
 * Sets '*ret_index' to the index of the packet's connection, also when the
 * packet is invalid in it (out of window), or to -1 when no connection holds
 * the tuple (always for NEW); and '*ret_dir' to the packet's direction.
 * Each packet must be tracked once: a packet already given to
 * dse_ct_track() on a fast path is looked up with dse_ct_lookup() instead.
 */
enum dse_ct_verdict dse_ct_process(struct dse_ct *ct, const struct dse_ct_tuple *t,
				   const struct dse_ct_seg *seg, uint64_t now, int32_t *ret_index,
				   uint8_t *ret_dir);

/*
 * The packet path for a burst of 'n' packets 't[i]' / 'seg[i]' seen at
 * 'now': the same verdicts, indexes and directions as dse_ct_process() on
 * each packet in order ('ret_verdict[i]' holds an enum dse_ct_verdict), but
 * the lookups are done together and the entries prefetched, so the memory
 * latency of the packets overlaps.  Returns how many verdicts are
 * DSE_CT_NEW.
 *
 * Connections are only created afterwards, by the caller, so a later packet
 * of the same new connection in the burst is NEW too: its
 * dse_ct_create_conn() returns -EEXIST, and the caller then passes that
 * packet to dse_ct_process() (which tracks it in the connection just made).
 */
unsigned dse_ct_process_bulk(struct dse_ct *ct, const struct dse_ct_tuple *const *t,
			     const struct dse_ct_seg *const *seg, unsigned n, uint64_t now,
			     uint8_t *ret_verdict, int32_t *ret_index, uint8_t *ret_dir);

/*
 * Creates the connection of the packet 't' / 'seg' seen at 'now' (which
 * becomes the original direction), with the firewall's 'mark'.  Returns its
 * index, -EINVAL if the packet can not start a connection (counted invalid,
 * as dse_ct_process() would), -EEXIST if the connection exists, -EDQUOT
 * when its source or its zone already has as many half-open connections as
 * allowed and none of them could be evicted (stats.src_limit, zone_limit),
 * or -ENOSPC when the table is full and no half-open or closing connection
 * was found to evict (stats.full).
 */
int dse_ct_create_conn(struct dse_ct *ct, const struct dse_ct_tuple *t,
		       const struct dse_ct_seg *seg, uint64_t now, uint32_t mark);

/*
 * Tracks the packet 'seg' seen at 'now' in direction 'dir' of the connection
 * at 'index' (which the caller found by a lookup, or kept with its id: see
 * dse_ct_ref_ok()).  A valid packet refreshes the connection, counts in its
 * counters and may change its state.  A connection past its timeout is
 * removed first, as is a closed TCP connection that a SYN reopens: the
 * verdict is then DSE_CT_NEW (or INVALID when the packet can not start
 * one).  An 'index' that holds no connection gives DSE_CT_NEW: the packet
 * must take the full pipeline.  An invalid packet changes nothing but the
 * invalid counters and 'ct->last_invalid'.  Each packet must be tracked
 * once.
 */
enum dse_ct_verdict dse_ct_track(struct dse_ct *ct, uint32_t index, uint8_t dir,
				 const struct dse_ct_seg *seg, uint64_t now);

/*
 * Relates an ICMP or ICMPv6 error to a connection.  'icmp' is the ICMP
 * message ('len' bytes: its 8-byte header, then the quoted packet) of a
 * packet of zone 'zone' and family 'family' (4 or 6) sent to 'dst' (16
 * bytes, IPv4-mapped for IPv4) at 'now'.  The quoted packet must have been
 * sent by 'dst' (the error goes back to its sender), be a TCP, UDP or ICMP
 * echo packet (not a non-first fragment) of a live connection, and for TCP
 * carry a sequence number the sender could have sent (RFC 5927).
 *
 * Returns the index of the connection and sets '*ret_kind' (enum
 * dse_ct_rel_kind), counting it in stats.related; or returns -EINVAL when
 * the message is no error of those kinds, -EPROTO when its quote is
 * malformed, -ENOENT when no live connection holds the quoted packet, or
 * -ERANGE when the sequence number is implausible (counted in
 * stats.related_bad_seq), each counted in stats.unrelated when the kind is
 * known.  Nothing about the connection changes.
 */
int dse_ct_related(struct dse_ct *ct, uint16_t zone, uint8_t family, const uint8_t dst[16],
		   const uint8_t *icmp, uint32_t len, uint64_t now, uint8_t *ret_kind);

/* Returns the kind (enum dse_ct_rel_kind) of ICMP 'type'/'code' of 'family', or -1 if no error. */
int dse_ct_icmp_error_kind(uint8_t family, uint8_t type, uint8_t code);

/* Returns the name of kind 'kind' ("frag_needed"), or "unknown". */
const char *dse_ct_rel_name(unsigned kind);

/*
 * Sets the limits on half-open connections: per source address ('per_src',
 * 1 .. 65535; an IPv6 source is its /64) and per zone ('per_zone', 0: half
 * of max_entries).
 */
void dse_ct_set_embryonic_limits(struct dse_ct *ct, uint32_t per_src, uint32_t per_zone);

/*
 * State sync (ha/): puts the connection of 't' (built from its original
 * direction) in state 'state' with mark 'mark' and entry flags 'eflags'
 * (DSE_CT_EF_SEEN_REPLY) at 'now', creating it or updating the one there.
 * 'wscale' holds each direction's window scale.  A TCP connection put
 * here does not know the sequence numbers of its sides: the first segment
 * of each side after the put seeds that side's window, as a connection
 * picked up mid-stream (DSE_CT_TCPF_PICKUP), and later segments are
 * tracked as always.  No half-open limit applies (the peer admitted it).
 * Returns the index, or -ENOSPC when the table is full.
 */
int dse_ct_sync_put(struct dse_ct *ct, const struct dse_ct_tuple *t, uint8_t state,
		    uint32_t mark, uint8_t eflags, const uint8_t wscale[2], uint64_t now);

/*
 * Sets the last packet time of every connection put by dse_ct_sync_put()
 * to 'now' (a standby promoted: what it holds was alive on the peer).
 * Returns how many.
 */
unsigned dse_ct_sync_refresh(struct dse_ct *ct, uint64_t now);

/* Sets the firewall's mark of the connection at 'index'. */
void dse_ct_set_mark(struct dse_ct *ct, uint32_t index, uint32_t mark);

/* Removes the connection at 'index'.  Returns 0, or -ENOENT if the slot is free. */
int dse_ct_delete(struct dse_ct *ct, uint32_t index);

/*
 * Runs the timer wheel up to 'now': removes connections idle longer than
 * their timeout, at most 'max' of them (UINT32_MAX for all) so that the
 * caller bounds its pause; the next call goes on where this one stopped.
 * Returns how many were removed.
 */
unsigned dse_ct_expire(struct dse_ct *ct, uint64_t now, unsigned max);

/* Returns true when the connection at 'index' matches 'f' (NULL matches all). */
bool dse_ct_match(const struct dse_ct *ct, uint32_t index, const struct dse_ct_filter *f);

/* Removes every connection matching 'f' (NULL: all).  Returns how many. */
unsigned dse_ct_flush(struct dse_ct *ct, const struct dse_ct_filter *f);

/*
 * Iterates: returns the index of the first connection at or after '*pos'
 * that matches 'f' (NULL: all) and sets '*pos' past it, or returns -ENOENT
 * at the end.  Start with '*pos' = 0; the position survives between calls,
 * so a listing can be served in pages.
 */
int dse_ct_next(const struct dse_ct *ct, uint32_t *pos, const struct dse_ct_filter *f);

/*
 * Describes the connection at 'index' at time 'now' in 'ret'.  Returns 0 or
 * -ENOENT if the slot is free.
 */
int dse_ct_get(const struct dse_ct *ct, uint32_t index, uint64_t now, struct dse_ct_conn *ret);

/* Returns the zone (segment) of the connection at 'index' (which must hold one). */
uint16_t dse_ct_zone(const struct dse_ct *ct, uint32_t index);

/* Returns the name of 'state' ("ESTABLISHED"), or "unknown". */
const char *dse_ct_state_name(unsigned state);

/* Returns the short lower-case name of 'reason' ("seq_window"), or "unknown". */
const char *dse_ct_invalid_name(unsigned reason);

/* Returns the description of 'reason', or "unknown". */
const char *dse_ct_invalid_str(unsigned reason);

/*
 * Returns true when 'index' still holds the connection whose id was 'id'.
 * A cached decision (the flow cache) keeps both: the index alone may be
 * reused by another connection after this one ends.
 */
static inline bool dse_ct_ref_ok(const struct dse_ct *ct, uint32_t index, uint32_t id)
{
	return index < ct->capacity && id != 0 && ct->entries[index].id == id;
}

/*
 * Prefetches the entry at 'index' (both cache lines): a burst of cached
 * decisions prefetches every entry before tracking the first packet.
 */
static inline void dse_ct_prefetch(const struct dse_ct *ct, uint32_t index)
{
	const char *p = (const char *)&ct->entries[index];

	__builtin_prefetch(p, 1);
	__builtin_prefetch(p + 64, 1);
}

#endif
