/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Events out of the datapath: fixed-size change records (an FDB entry
 * learned, moved, aged or deleted; a connection created, changed state or
 * closed; a port's link going up or down; a denied connection) that the
 * workers hand to the control side.
 *
 * Each worker owns one ring (rte_ring, element API, single producer and
 * single consumer) in its struct dse_worker.  The packet path only
 * enqueues a record it filled on its stack: it never formats, logs,
 * allocates or waits.  A full ring is counted ('lost' of the producer,
 * events_lost in stats.show) and the record is dropped; its sequence number
 * is spent all the same, so a consumer sees the gap.  A kind nobody
 * subscribed to is not even filled in: the workers read one mask of the
 * kinds wanted (dse_events_wanted()).
 *
 * The control thread drains the rings (dse_events_drain(), a bounded
 * number of records per call) and hands each record, in ring order, to the
 * subscribers registered for its kind.  A ring has one writer, its worker,
 * and every table a record speaks of (the FDB, the connections) has one
 * writer per worker, so the records of one MAC or one connection are
 * enqueued in the order the changes were made and reach every subscriber
 * in that order.
 *
 * Records made on the control thread itself (a port's link, which the
 * control thread polls) skip the rings: dse_events_publish() hands them to
 * the subscribers at once, with worker DSE_EVENT_WORKER_CONTROL.
 */
#ifndef DSE_EVENTS_H
#define DSE_EVENTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

/* Kinds of records.  X(name, "wire name"); the enum value is the bit of a kind mask. */
#define DSE_EVENT_KINDS(X)                                                                         \
	X(FDB_LEARNED, "fdb_learned")	/* a MAC learned in a segment */                           \
	X(FDB_MOVED, "fdb_moved")	/* a learned MAC seen on another port */                   \
	X(FDB_AGED, "fdb_aged")		/* a learned MAC removed by ageing */                      \
	X(FDB_DELETED, "fdb_deleted")	/* an entry deleted or flushed (by a call, a port or       \
					   segment removed) */                                     \
	X(CONN_CREATED, "conn_created") /* a connection created (allowed by a rule) */             \
	X(CONN_STATE, "conn_state")	/* a connection changed state */                           \
	X(CONN_CLOSED, "conn_closed")	/* a connection removed, with its counters */              \
	X(PORT_LINK, "port_link")	/* a port's link went up or down */                        \
	X(DENY, "deny")			/* a connection denied by the firewall */

/* clang-format off */
enum dse_event_kind {
#define DSE_EVENT_KIND_ENUM(n, s) DSE_EV_##n,
	DSE_EVENT_KINDS(DSE_EVENT_KIND_ENUM)
#undef DSE_EVENT_KIND_ENUM
	DSE_EV__MAX
};
/* clang-format on */

/* The bit of kind 'k' in a kind mask. */
#define DSE_EV_BIT(k) (1u << (k))
/* Every kind. */
#define DSE_EV_ALL (DSE_EV_BIT(DSE_EV__MAX) - 1)

/* Why a connection was closed (conn_closed's 'reason'). X(name, "wire name"). */
#define DSE_EVENT_CLOSE_REASONS(X)                                                                 \
	X(EXPIRED, "expired")	/* idle past its timeout */                                        \
	X(DELETED, "deleted")	/* removed by a call (fw.conn.flush, a rule or policy change) */   \
	X(EVICTED, "evicted")	/* a half-open or closing connection made room for a new one */    \
	X(REOPENED, "reopened") /* a closed TCP connection reopened by a new SYN on its ports */   \
	X(REPLACED, "replaced") /* an open connection replaced by a new handshake */

/* clang-format off */
enum dse_event_close_reason {
#define DSE_EVENT_CLOSE_ENUM(n, s) DSE_EV_CLOSE_##n,
	DSE_EVENT_CLOSE_REASONS(DSE_EVENT_CLOSE_ENUM)
#undef DSE_EVENT_CLOSE_ENUM
	DSE_EV_CLOSE__MAX
};
/* clang-format on */

/* The worker of records made on the control thread. */
#define DSE_EVENT_WORKER_CONTROL 0xff

/*
 * One record: 64 bytes, a 16-byte header and one member of the union per
 * kind.  Addresses are 16 bytes, IPv4 ones IPv4-mapped (::ffff:a.b.c.d);
 * ports are in host order.  A connection is named by its id in the records
 * after conn_created (which alone carries its addresses and ports).
 */
struct dse_event {
	uint8_t kind;	/* enum dse_event_kind */
	uint8_t worker; /* the worker that made it, or DSE_EVENT_WORKER_CONTROL */
	uint16_t aux;	/* deny: the rule's action (enum dse_fw_action); else 0 */
	uint32_t seq;	/* the worker's sequence number: +1 for every record, lost ones too */
	uint64_t ts_ns; /* dse_clock_ns() of the change */
	union {
		/* FDB_*: the entry (for a move, the new port and the old). */
		struct {
			uint8_t mac[6];
			uint16_t segment;  /* segment index */
			uint16_t port;	   /* DPDK port id (ids after the ports: peer TEPs) */
			uint16_t old_port; /* FDB_MOVED: where it was; else the same as port */
			uint8_t is_static; /* FDB_DELETED of a static entry */
		} fdb;
		/* CONN_CREATED: the original direction (the side that opened it first). */
		struct {
			uint32_t id;	/* the connection's id (conntrack.h) */
			uint32_t rule;	/* id of the rule that allowed it; 0: the default policy */
			uint16_t zone;	/* its segment */
			uint8_t proto;	/* IP protocol */
			uint8_t family; /* 4 or 6 */
			uint16_t sport; /* ICMP: the echo identifier */
			uint16_t dport; /* ICMP: the echo request type */
			uint8_t src[16];
			uint8_t dst[16];
		} conn;
		/* CONN_STATE. */
		struct {
			uint32_t id;
			uint16_t zone;
			uint8_t old_state; /* enum dse_ct_state */
			uint8_t state;
			uint8_t wscale[2]; /* TCP: each direction's window scale, as tracked */
		} conn_state;
		/* CONN_CLOSED: what the connection carried, by direction (0: original). */
		struct {
			uint32_t id;
			uint32_t rule;
			uint16_t zone;
			uint8_t state;	/* its last state */
			uint8_t reason; /* enum dse_event_close_reason */
			uint32_t pad;
			uint64_t packets[2];
			uint64_t bytes[2]; /* IP bytes */
		} conn_closed;
		/* PORT_LINK. */
		struct {
			uint16_t port; /* DPDK port id */
			uint8_t up;
			uint8_t pad;
			uint32_t speed_mbps; /* 0 when unknown or down */
			char name[32];	     /* the port's name */
		} link;
		/* DENY: the packet that was refused, as the firewall's rules saw it. */
		struct {
			uint32_t
			    rule; /* the rule that denied it; 0: the segment's default policy */
			uint8_t proto;
			uint8_t family;
			uint8_t dir; /* enum dse_fw_dir: into or out of the VM */
			uint8_t icmp_type;
			uint16_t segment;
			uint16_t port; /* the VM's port, or 0xffff for any */
			uint8_t src[16];
			uint8_t dst[16];
			uint16_t sport;
			uint16_t dport;
		} deny;
	} u;
};

_Static_assert(sizeof(struct dse_event) == 64, "an event record is one cache line");

/* A worker's side of its ring: it alone writes these fields. */
struct dse_event_producer {
	struct rte_ring *ring; /* NULL: no ring (every record is lost) */
	uint32_t seq;	       /* the next record's sequence number */
	uint8_t worker;	       /* the worker's number, written into each record */
	uint64_t sent;	       /* records enqueued */
	uint64_t lost;	       /* records dropped because the ring was full */
};

/*
 * The kinds some subscriber wants, one bit each (written by the control
 * thread, read by the workers): a kind not in it is not made.
 */
extern _Atomic uint32_t dse_events_mask;

/* Whether some subscriber wants records of kind 'kind'.  Any thread. */
static inline bool dse_events_wanted(unsigned kind)
{
	return (atomic_load_explicit(&dse_events_mask, memory_order_relaxed) & DSE_EV_BIT(kind)) !=
	       0;
}

/*
 * Enqueues record 'ev' (its kind and union filled in) made at 'now_ns':
 * sets its worker, sequence number and time.  Never waits: a full ring
 * counts the record in 'p->lost'.  Returns 0 or -ENOBUFS.  Only the
 * producer's worker calls it.
 */
static inline int dse_event_emit(struct dse_event_producer *p, struct dse_event *ev,
				 uint64_t now_ns)
{
	ev->worker = p->worker;
	ev->seq = p->seq++;
	ev->ts_ns = now_ns;
	if (p->ring == NULL || rte_ring_sp_enqueue_elem(p->ring, ev, sizeof(*ev)) != 0) {
		p->lost++;
		return -ENOBUFS;
	}
	p->sent++;
	return 0;
}

/*
 * Creates the ring of 'p' for worker 'worker': 'size' records (a power of
 * two, 64 .. 1M; one fewer fit), named after the worker, on NUMA socket
 * 'socket'.  Needs the EAL.  Returns 0 or a negative errno.
 */
int dse_event_producer_init(struct dse_event_producer *p, uint8_t worker, unsigned size,
			    int socket);

/* Frees the ring of 'p'. */
void dse_event_producer_fini(struct dse_event_producer *p);

/* A subscriber: gets every record of the kinds in its mask, in ring order. */
struct dse_event_sub {
	uint32_t mask; /* DSE_EV_BIT()s of the kinds it wants */
	/* Called with one record (valid only during the call). */
	void (*fn)(void *arg, const struct dse_event *ev);
	/* Called after each dse_events_drain() that gave it records (NULL: none). */
	void (*flush)(void *arg);
	void *arg;
};

/* Most subscribers at once. */
#define DSE_EVENTS_MAX_SUBS 64

/*
 * Adds subscriber 's' (copied).  Control thread only, as are the other
 * functions below.  Returns its handle (>= 0), -EINVAL for an empty mask
 * or a NULL fn, or -ENOSPC when DSE_EVENTS_MAX_SUBS are registered.
 */
int dse_events_subscribe(const struct dse_event_sub *s);

/* Removes the subscriber of 'handle'.  Returns 0 or -ENOENT. */
int dse_events_unsubscribe(int handle);

/* Changes the kinds of the subscriber of 'handle'.  Returns 0, -EINVAL or -ENOENT. */
int dse_events_set_mask(int handle, uint32_t mask);

/*
 * Takes at most 'budget' records out of the rings of the 'n' producers
 * 'p' (in turn, a burst from each, so one busy worker does not starve
 * another) and hands them to the subscribers; then calls the flush of
 * each subscriber that got some.  Returns the records taken; when that is
 * 'budget', more may wait.
 */
unsigned dse_events_drain(struct dse_event_producer *const *p, unsigned n, unsigned budget);

/*
 * Hands record 'ev' (kind and union filled in) made on the control thread
 * at 'now_ns' to the subscribers at once, with worker
 * DSE_EVENT_WORKER_CONTROL and the control thread's own sequence number.
 */
void dse_events_publish(struct dse_event *ev, uint64_t now_ns);

/* Returns the wire name of kind 'kind' ("fdb_learned"), or NULL. */
const char *dse_event_kind_name(unsigned kind);

/* Returns the kind named 'name', or -ENOENT. */
int dse_event_kind_find(const char *name);

/* Returns the wire name of close reason 'reason' ("expired"), or "unknown". */
const char *dse_event_close_reason_name(unsigned reason);

#endif
