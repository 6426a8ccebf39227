/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The state sync protocol between the two DPUs of an active/standby pair
 * (docs/ha.md): the active streams its FDB and connection changes to the
 * standby over the sync link in UDP datagrams.  This file is the protocol
 * alone (framing, the sender's window, the receiver's reordering), with no
 * sockets and no DPDK, so it is tested on its own (test_sync.c).
 *
 * A datagram is a 48-byte header and, for DATA, up to DSE_SYNC_RECS_MAX
 * records of 56 bytes, every field little-endian.  DATA datagrams carry a
 * sequence number (1, 2, ... within the sender's session); the receiver
 * applies them in sequence order, buffering what comes early (up to
 * DSE_SYNC_RX_SLOTS ahead), dropping what it has seen, and answers with an
 * ACK: the next sequence number it expects and a bitmap of the 64 after
 * it that it holds.  The sender keeps every datagram until it is
 * acknowledged and sends it again when no ACK came within the
 * retransmission timeout.
 *
 * Sessions: each side picks a random nonzero session number when it
 * starts a role.  The sender's is in its DATA and KEEPALIVE; the
 * receiver's is in its ACK and HELLO.  A receiver that sees a new sender
 * session starts over at sequence 1; a sender that sees a new receiver
 * session (a standby that restarted) starts a new session of its own,
 * which begins with a bulk sync.  Every datagram names the pair's epoch;
 * one of another epoch is dropped, so an old active that comes back can
 * not feed the new standby.
 */
#ifndef DSE_SYNC_PROTO_H
#define DSE_SYNC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DSE_SYNC_MAGIC	   0x31455344u /* "DSE1" read as a little-endian word */
#define DSE_SYNC_VERSION   1
#define DSE_SYNC_HDR_LEN   48
#define DSE_SYNC_REC_LEN   56
#define DSE_SYNC_RECS_MAX  24 /* 48 + 24 * 56 = 1392 bytes: fits a 1500-byte link */
#define DSE_SYNC_DGRAM_MAX (DSE_SYNC_HDR_LEN + DSE_SYNC_RECS_MAX * DSE_SYNC_REC_LEN)

#define DSE_SYNC_TX_SLOTS 1024 /* most datagrams in flight (sent, not acknowledged) */
#define DSE_SYNC_RX_SLOTS 256  /* most datagrams the receiver holds ahead of the next */

enum dse_sync_type {
	DSE_SYNC_DATA = 1,	/* records, sequenced */
	DSE_SYNC_ACK = 2,	/* receiver -> sender: next expected and the 64 after it */
	DSE_SYNC_HELLO = 3,	/* receiver -> sender, while nothing arrives: "here I am" */
	DSE_SYNC_KEEPALIVE = 4, /* sender -> receiver, while idle: its next sequence number */
};

/* DATA flags. */
#define DSE_SYNC_F_BULK_BEGIN 0x01 /* the first datagram of a bulk sync: forget what you hold */
#define DSE_SYNC_F_BULK_END   0x02 /* the last: the receiver now holds all of the state */

struct dse_sync_hdr {
	uint8_t type;	       /* enum dse_sync_type */
	uint16_t count;	       /* DATA: records after the header */
	uint16_t flags;	       /* DATA: DSE_SYNC_F_* */
	uint32_t seq;	       /* DATA: its number; KEEPALIVE: the next to come */
	uint32_t ack;	       /* ACK, HELLO: the next number expected (0: nothing yet) */
	uint64_t sack;	       /* ACK: bit i set when ack + 1 + i is held */
	uint64_t epoch;	       /* the pair's epoch */
	uint32_t session;      /* the session of the side that sends this */
	uint32_t peer_session; /* ACK: the sender session it acknowledges */
};

/* Record types. */
enum dse_sync_rec_type {
	DSE_SYNC_REC_CONN = 1,	   /* a connection, created or changed: put it */
	DSE_SYNC_REC_CONN_DEL = 2, /* a connection closed: remove it */
	DSE_SYNC_REC_FDB = 3,	   /* a learned MAC, new or moved: put it */
	DSE_SYNC_REC_FDB_DEL = 4,  /* a learned MAC aged or deleted: remove it */
};

#define DSE_SYNC_SEG_VNI  0x80000000u /* a segment key with this bit is a VNI, else a VLAN */
#define DSE_SYNC_PORT_LEN 32

/* One record, decoded.  A segment is named by its VLAN or VNI, the same on both DPUs. */
struct dse_sync_rec {
	uint8_t type; /* enum dse_sync_rec_type */
	uint32_t seg; /* VLAN id, or DSE_SYNC_SEG_VNI | VNI */
	/* CONN, CONN_DEL: the original direction */
	uint8_t state;	   /* enum dse_ct_state (CONN) */
	uint8_t proto;	   /* IP protocol */
	uint8_t family;	   /* 4 or 6 */
	uint8_t cflags;	   /* DSE_CT_EF_SEEN_REPLY */
	uint8_t wscale[2]; /* TCP: each direction's window scale (0 .. 14) */
	uint32_t mark;	   /* the rule that allowed it */
	uint16_t sport, dport;
	uint8_t src[16], dst[16]; /* IPv4-mapped for IPv4 */
	/* FDB, FDB_DEL */
	uint8_t mac[6];
	uint8_t uplink;		      /* 1 + the port's rank among the uplinks; 0: not one */
	char port[DSE_SYNC_PORT_LEN]; /* the port's name, NUL-terminated */
};

/* Writes header 'h' to 'out' (DSE_SYNC_HDR_LEN bytes). */
void dse_sync_hdr_encode(uint8_t *out, const struct dse_sync_hdr *h);

/*
 * Reads the header of datagram 'buf' of 'len' bytes.  Returns 0, or
 * -EBADMSG when it is short, of another magic or version, of an unknown
 * type, or its count does not match its length.
 */
int dse_sync_hdr_decode(const uint8_t *buf, size_t len, struct dse_sync_hdr *h);

/* Writes record 'r' to 'out' (DSE_SYNC_REC_LEN bytes). */
void dse_sync_rec_encode(uint8_t *out, const struct dse_sync_rec *r);

/*
 * Reads record 'in'.  Returns 0 or -EBADMSG (unknown type, a family that
 * is not 4 or 6, a port name without its NUL, a state out of range).
 */
int dse_sync_rec_decode(const uint8_t *in, struct dse_sync_rec *r);

/* True when sequence number 'a' comes before 'b' (wrapping). */
static inline bool dse_sync_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* ---- sender ---------------------------------------------------------- */

struct dse_sync_tx_slot {
	uint32_t seq;	  /* 0: free */
	uint16_t len;	  /* bytes in 'buf' */
	uint8_t sacked;	  /* the receiver holds it (selective ack) */
	uint8_t sends;	  /* times sent */
	uint64_t sent_ns; /* last sent */
	uint8_t buf[DSE_SYNC_DGRAM_MAX];
};

struct dse_sync_tx {
	uint32_t session;  /* ours */
	uint32_t next_seq; /* of the next DATA */
	uint32_t una;	   /* the first not acknowledged (== next_seq: none in flight) */
	uint64_t epoch;
	uint64_t acked;			/* datagrams acknowledged */
	uint64_t resent;		/* datagrams sent again */
	struct dse_sync_tx_slot *slots; /* DSE_SYNC_TX_SLOTS, indexed by seq % slots */
};

/* Starts 'tx' (its slots allocated) in session 'session' of 'epoch'.  Returns 0 or -ENOMEM. */
int dse_sync_tx_init(struct dse_sync_tx *tx, uint32_t session, uint64_t epoch);

/* Frees the slots of 'tx'. */
void dse_sync_tx_fini(struct dse_sync_tx *tx);

/* Starts a new session: forgets every datagram in flight; the next DATA is seq 1. */
void dse_sync_tx_reset(struct dse_sync_tx *tx, uint32_t session, uint64_t epoch);

/* Datagrams in flight. */
static inline uint32_t dse_sync_tx_inflight(const struct dse_sync_tx *tx)
{
	return tx->next_seq - tx->una;
}

/*
 * Makes the next DATA datagram of 'n' (1 .. DSE_SYNC_RECS_MAX, or 0 for
 * a bulk's empty end) records 'recs' with 'flags', sent at 'now_ns', and
 * keeps it for resending.  Returns its slot (buf, len: what to send), or
 * NULL when DSE_SYNC_TX_SLOTS are in flight.
 */
const struct dse_sync_tx_slot *dse_sync_tx_data(struct dse_sync_tx *tx,
						const struct dse_sync_rec *recs, unsigned n,
						uint16_t flags, uint64_t now_ns);

/*
 * Takes an ACK: frees what it acknowledges and marks what it holds.
 * Returns how many datagrams it newly acknowledged, or -ESTALE when 'h'
 * acknowledges another session or more than was sent (ignored).
 */
int dse_sync_tx_ack(struct dse_sync_tx *tx, const struct dse_sync_hdr *h);

/*
 * The next datagram to send again at 'now_ns': the oldest in flight, not
 * held by the receiver, sent more than 'rto_ns' ago.  Marks it sent now.
 * Returns NULL when none is due.  '*pos' starts at 0 and keeps the place
 * between calls of one round.
 */
const struct dse_sync_tx_slot *dse_sync_tx_due(struct dse_sync_tx *tx, uint64_t now_ns,
					       uint64_t rto_ns, uint32_t *pos);

/* Send time of the oldest datagram in flight, or 0 with none. */
uint64_t dse_sync_tx_oldest_ns(const struct dse_sync_tx *tx);

/* ---- receiver -------------------------------------------------------- */

struct dse_sync_rx {
	uint32_t session;      /* ours */
	uint32_t peer_session; /* the sender's we follow (0: none yet) */
	uint32_t next;	       /* the next sequence number to apply */
	uint64_t epoch;
	uint64_t applied; /* datagrams applied */
	uint64_t dup;	  /* datagrams seen before (dropped) */
	uint64_t early;	  /* datagrams held until the gap before them filled */
	uint64_t beyond;  /* datagrams too far ahead to hold (dropped; sent again later) */
	uint64_t stale;	  /* datagrams of a session not followed (an old sender's) */
	uint16_t len[DSE_SYNC_RX_SLOTS];
	uint8_t (*buf)[DSE_SYNC_DGRAM_MAX]; /* DSE_SYNC_RX_SLOTS, indexed by seq % slots */
};

int dse_sync_rx_init(struct dse_sync_rx *rx, uint32_t session, uint64_t epoch);
void dse_sync_rx_fini(struct dse_sync_rx *rx);

/* Forgets the sender's session: the next DATA of any session starts it over. */
void dse_sync_rx_reset(struct dse_sync_rx *rx, uint32_t session, uint64_t epoch);

/*
 * Called with each DATA datagram, in sequence order: its header, its
 * records' bytes ('h->count' records) .
 */
typedef void dse_sync_deliver_fn(void *arg, const struct dse_sync_hdr *h, const uint8_t *recs);

/*
 * Takes DATA datagram 'buf' ('len' bytes, header 'h' already decoded):
 * delivers it, and then each held one that follows, when it is the next;
 * holds it when it is ahead; drops it when seen.  The first datagram of a
 * sender session (seq 1, DSE_SYNC_F_BULK_BEGIN) starts following that
 * session; any other datagram of a session not followed is dropped.
 * Returns how many datagrams were delivered.
 */
unsigned dse_sync_rx_data(struct dse_sync_rx *rx, const struct dse_sync_hdr *h, const uint8_t *buf,
			  size_t len, dse_sync_deliver_fn *fn, void *arg);

/* Fills ACK header 'h' for what 'rx' holds. */
void dse_sync_rx_ack(const struct dse_sync_rx *rx, struct dse_sync_hdr *h);

#endif
