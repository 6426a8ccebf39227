/* SPDX-License-Identifier: BSD-3-Clause */
#include "conntrack.h"

#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_random.h>

#include "parse.h"

/*
 * The timer wheel: 8192 slots of 2^27 ns (134 ms), one turn in about 18
 * minutes.  An entry sits in the slot of the tick at or after its expiry
 * time as computed when it was (re)scheduled; longer timeouts simply wait
 * for more turns.
 */
#define CT_TICK_SHIFT 27
#define CT_SLOTS      8192u
#define CT_NIL	      UINT32_MAX

#define CT_NS_PER_S	 1000000000ull
#define CT_MAX_TIMEOUT_S (30u * 86400u)

/*
 * A receiver may acknowledge up to its peer's largest window less than the
 * peer has sent, and never less than this (the ack check of the window
 * tracking; Linux and OVS use the same floor).
 */
#define CT_MAXACKWIN_MIN 66000u

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

#define ICMP_ECHOREPLY	   0
#define ICMP_ECHO	   8
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY   129

/* tcp_track() results that are neither valid (0) nor an invalid reason (> 0). */
#define CT_REOPEN   (-1) /* a SYN on a closed connection: it may start a new one */
#define CT_PASS_RST (-2) /* a RST in the window, not exact: passes, nothing changes */
#define CT_PASS_SYN (-3) /* a SYN on an open connection: passes, nothing changes */
#define CT_REPLACE  (-4) /* a SYN+ACK answering the SYN seen on an open connection */
#define CT_PASS_CLOSED (-5) /* a RST or a bare ACK in the window of a reset connection */

/* Looking for a connection to evict: wheel slots and entries looked at, at most. */
#define CT_EVICT_SLOTS	 64
#define CT_EVICT_SAMPLES 64

_Static_assert(sizeof(struct dse_ct_key) == 40, "the key is hashed as bytes: no padding");
_Static_assert(sizeof(struct dse_ct_entry) == 128, "a connection is two cache lines");
_Static_assert(sizeof(struct dse_ct_timeouts) % sizeof(uint32_t) == 0, "timeouts are u32");

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Sequence number comparisons, modulo 2^32. */
static inline bool seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static inline uint8_t pclass_of(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return DSE_CT_PC_TCP;
	case IPPROTO_UDP:
		return DSE_CT_PC_UDP;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return DSE_CT_PC_ICMP;
	default:
		return DSE_CT_PC_OTHER;
	}
}

/* ---- timeouts ---------------------------------------------------------- */

void dse_ct_timeouts_default(struct dse_ct_timeouts *t)
{
	*t = (struct dse_ct_timeouts){
	    .tcp_syn_sent = 5,
	    .tcp_syn_recv = 5,
	    .tcp_established = 86400,
	    .tcp_fin_wait = 120,
	    .tcp_close_wait = 60,
	    .tcp_last_ack = 30,
	    .tcp_time_wait = 120,
	    .tcp_close = 10,
	    .udp_unreplied = 30,
	    .udp_replied = 180,
	    .icmp = 30,
	    .other_unreplied = 30,
	    .other_replied = 600,
	};
}

static bool timeouts_ok(const struct dse_ct_timeouts *t)
{
	uint32_t v[sizeof(*t) / sizeof(uint32_t)];

	memcpy(v, t, sizeof(v));
	for (size_t i = 0; i < RTE_DIM(v); i++)
		if (v[i] == 0 || v[i] > CT_MAX_TIMEOUT_S)
			return false;
	return true;
}

/* Fills the (class, state) -> nanoseconds table the packet path reads. */
static void timeouts_apply(struct dse_ct *ct, const struct dse_ct_timeouts *t)
{
	uint64_t(*ns)[DSE_CT_S__MAX] = ct->timeout_ns;

	ct->timeouts = *t;
	/* States a class never takes get a short timeout, in case. */
	for (unsigned pc = 0; pc < DSE_CT_PC__MAX; pc++)
		for (unsigned s = 0; s < DSE_CT_S__MAX; s++)
			ns[pc][s] = (uint64_t)t->tcp_close * CT_NS_PER_S;
	ns[DSE_CT_PC_TCP][DSE_CT_S_SYN_SENT] = (uint64_t)t->tcp_syn_sent * CT_NS_PER_S;
	ns[DSE_CT_PC_TCP][DSE_CT_S_SYN_RECV] = (uint64_t)t->tcp_syn_recv * CT_NS_PER_S;
	ns[DSE_CT_PC_TCP][DSE_CT_S_ESTABLISHED] = (uint64_t)t->tcp_established * CT_NS_PER_S;
	ns[DSE_CT_PC_TCP][DSE_CT_S_FIN_WAIT] = (uint64_t)t->tcp_fin_wait * CT_NS_PER_S;
	ns[DSE_CT_PC_TCP][DSE_CT_S_CLOSE_WAIT] = (uint64_t)t->tcp_close_wait * CT_NS_PER_S;
	ns[DSE_CT_PC_TCP][DSE_CT_S_LAST_ACK] = (uint64_t)t->tcp_last_ack * CT_NS_PER_S;
	ns[DSE_CT_PC_TCP][DSE_CT_S_TIME_WAIT] = (uint64_t)t->tcp_time_wait * CT_NS_PER_S;
	ns[DSE_CT_PC_TCP][DSE_CT_S_CLOSE] = (uint64_t)t->tcp_close * CT_NS_PER_S;
	ns[DSE_CT_PC_UDP][DSE_CT_S_UNREPLIED] = (uint64_t)t->udp_unreplied * CT_NS_PER_S;
	ns[DSE_CT_PC_UDP][DSE_CT_S_REPLIED] = (uint64_t)t->udp_replied * CT_NS_PER_S;
	ns[DSE_CT_PC_ICMP][DSE_CT_S_UNREPLIED] = (uint64_t)t->icmp * CT_NS_PER_S;
	ns[DSE_CT_PC_ICMP][DSE_CT_S_REPLIED] = (uint64_t)t->icmp * CT_NS_PER_S;
	ns[DSE_CT_PC_OTHER][DSE_CT_S_UNREPLIED] = (uint64_t)t->other_unreplied * CT_NS_PER_S;
	ns[DSE_CT_PC_OTHER][DSE_CT_S_REPLIED] = (uint64_t)t->other_replied * CT_NS_PER_S;
}

int dse_ct_set_timeouts(struct dse_ct *ct, const struct dse_ct_timeouts *t)
{
	if (!timeouts_ok(t))
		return -EINVAL;
	timeouts_apply(ct, t);
	return 0;
}

static inline uint64_t ct_timeout(const struct dse_ct *ct, const struct dse_ct_entry *e)
{
	return ct->timeout_ns[e->pclass][e->state];
}

/* True when 'e' has been idle for its timeout at 'now' (a clock behind 'last_seen' is not). */
static inline bool ct_expired(const struct dse_ct *ct, const struct dse_ct_entry *e, uint64_t now)
{
	return (int64_t)(now - e->last_seen) >= (int64_t)ct_timeout(ct, e);
}

/* ---- table ------------------------------------------------------------- */

struct dse_ct *dse_ct_create(const char *name, uint32_t max_entries,
			     const struct dse_ct_timeouts *t)
{
	struct rte_hash_parameters hp = {
	    .name = name,
	    /* rte_hash needs at least 8 entries. */
	    .entries = max_entries < 8 ? 8 : max_entries,
	    .key_len = sizeof(struct dse_ct_key),
	    .hash_func = rte_hash_crc,
	    .hash_func_init_val = 0, /* dse_ct_tuple_set() hashes with the same function */
	    .socket_id = SOCKET_ID_ANY,
	    /* Overflowing buckets chain into an extension table, so the table
	     * fills to max_entries whatever the tuples hash to. */
	    .extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct dse_ct_timeouts def;
	struct dse_ct *ct;
	int err;

	if (max_entries == 0 || max_entries > DSE_CT_MAX_ENTRIES || name == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	if (t == NULL) {
		dse_ct_timeouts_default(&def);
		t = &def;
	}
	if (!timeouts_ok(t)) {
		rte_errno = EINVAL;
		return NULL;
	}
	/* Checked here: rte_hash would fail on its ring's name and log an error. */
	if (rte_hash_find_existing(name) != NULL) {
		rte_errno = EEXIST;
		return NULL;
	}
	ct = rte_zmalloc("conntrack", sizeof(*ct), RTE_CACHE_LINE_SIZE);
	if (ct == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	ct->hash = rte_hash_create(&hp);
	if (ct->hash == NULL) {
		err = rte_errno == EEXIST ? EEXIST : ENOMEM;
		goto fail;
	}
	/* Key positions run up to the hash's own capacity, which may exceed ours. */
	ct->capacity = (uint32_t)rte_hash_max_key_id(ct->hash) + 1;
	ct->entries = rte_zmalloc("conntrack_entries", sizeof(*ct->entries) * ct->capacity,
				  RTE_CACHE_LINE_SIZE);
	ct->slots =
	    rte_malloc("conntrack_wheel", sizeof(*ct->slots) * CT_SLOTS, RTE_CACHE_LINE_SIZE);
	ct->src_embryonic = rte_zmalloc("conntrack_src", sizeof(*ct->src_embryonic) * DSE_CT_SRC_SLOTS,
					RTE_CACHE_LINE_SIZE);
	ct->zone_embryonic = rte_zmalloc("conntrack_zone", sizeof(*ct->zone_embryonic) * DSE_CT_ZONES,
					 RTE_CACHE_LINE_SIZE);
	if (ct->entries == NULL || ct->slots == NULL || ct->src_embryonic == NULL ||
	    ct->zone_embryonic == NULL) {
		err = ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < CT_SLOTS; i++)
		ct->slots[i] = (struct dse_ct_slot){CT_NIL, CT_NIL};
	ct->max_entries = max_entries;
	ct->src_embryonic_max = DSE_CT_SRC_EMBRYONIC_DEFAULT;
	ct->next_id = 1;
	ct->rnd = rte_rand() | 1; /* xorshift needs a state other than 0 */
	ct->src_seed = (uint32_t)rte_rand();
	timeouts_apply(ct, t);
	return ct;
fail:
	dse_ct_free(ct);
	rte_errno = err;
	return NULL;
}

void dse_ct_free(struct dse_ct *ct)
{
	if (ct == NULL)
		return;
	rte_hash_free(ct->hash);
	rte_free(ct->entries);
	rte_free(ct->slots);
	rte_free(ct->src_embryonic);
	rte_free(ct->zone_embryonic);
	rte_free(ct);
}

/* ---- timer wheel ------------------------------------------------------- */

static inline struct dse_ct_slot *slot_of(struct dse_ct *ct, uint64_t tick)
{
	return &ct->slots[tick & (CT_SLOTS - 1)];
}

/* Appends entry 'idx' to the slot of 'tick'. */
static void wheel_add(struct dse_ct *ct, uint32_t idx, uint64_t tick)
{
	struct dse_ct_entry *e = &ct->entries[idx];
	struct dse_ct_slot *s = slot_of(ct, tick);

	e->timer_tick = (uint32_t)tick;
	e->timer_next = CT_NIL;
	e->timer_prev = s->tail;
	if (s->tail == CT_NIL)
		s->head = idx;
	else
		ct->entries[s->tail].timer_next = idx;
	s->tail = idx;
}

static void wheel_unlink(struct dse_ct *ct, uint32_t idx)
{
	struct dse_ct_entry *e = &ct->entries[idx];
	struct dse_ct_slot *s = slot_of(ct, e->timer_tick);

	if (e->timer_prev == CT_NIL)
		s->head = e->timer_next;
	else
		ct->entries[e->timer_prev].timer_next = e->timer_next;
	if (e->timer_next == CT_NIL)
		s->tail = e->timer_prev;
	else
		ct->entries[e->timer_next].timer_prev = e->timer_prev;
}

/* The tick whose slot handles expiry time 'due': the first tick at or after it, in the future. */
static inline uint64_t due_tick(const struct dse_ct *ct, uint64_t due)
{
	uint64_t tick = (due + (1ull << CT_TICK_SHIFT) - 1) >> CT_TICK_SHIFT;

	return tick > ct->wheel_tick ? tick : ct->wheel_tick + 1;
}

/* After a state change: moves entry 'idx' earlier if its new timeout ends before its slot. */
static void wheel_reschedule(struct dse_ct *ct, uint32_t idx, uint64_t now)
{
	struct dse_ct_entry *e = &ct->entries[idx];
	uint64_t tick = due_tick(ct, now + ct_timeout(ct, e));

	if ((int32_t)((uint32_t)tick - e->timer_tick) < 0) {
		wheel_unlink(ct, idx);
		wheel_add(ct, idx, tick);
	}
}

/* ---- entries ----------------------------------------------------------- */

/* ---- half-open (embryonic) connections -------------------------------- */

static inline uint32_t zone_slot(uint16_t zone)
{
	return zone & (DSE_CT_ZONES - 1);
}

/*
 * The per-source slot of the connection opener's address, endpoint 'o' of
 * 'k': its IPv4 address, or the /64 of an IPv6 one (a host has a /64 to
 * pick addresses from), hashed with the zone and a secret (a spoofer can
 * not aim at another source's slot).
 */
static inline uint16_t src_slot(const struct dse_ct *ct, const struct dse_ct_key *k, unsigned o)
{
	return (uint16_t)rte_hash_crc(k->addr[o], k->family == 6 ? 8 : 16,
				      ct->src_seed ^ k->zone);
}

/* Counts entry 'idx' of zone 'zone' half-open, its opener in per-source slot 'src'. */
static void embryonic_begin(struct dse_ct *ct, uint32_t idx, uint16_t zone, uint16_t src)
{
	struct dse_ct_entry *e = &ct->entries[idx];

	e->flags |= DSE_CT_EF_EMBRYONIC;
	e->src_bucket = src;
	e->zone_slot = (uint8_t)zone_slot(zone);
	ct->src_embryonic[src]++;
	ct->zone_embryonic[e->zone_slot]++;
}

/* Ends the half-open count of entry 'idx' (the entry knows its slots: no key to read). */
static void embryonic_end(struct dse_ct *ct, uint32_t idx)
{
	struct dse_ct_entry *e = &ct->entries[idx];

	if (!(e->flags & DSE_CT_EF_EMBRYONIC))
		return;
	e->flags &= ~DSE_CT_EF_EMBRYONIC;
	ct->src_embryonic[e->src_bucket]--;
	ct->zone_embryonic[e->zone_slot]--;
}

/* True for the states of a connection that is open for real (not half-open, not closed). */
static inline bool state_open(uint8_t state)
{
	return (state >= DSE_CT_S_ESTABLISHED && state <= DSE_CT_S_TIME_WAIT) ||
	       state == DSE_CT_S_REPLIED;
}

void dse_ct_set_embryonic_limits(struct dse_ct *ct, uint32_t per_src, uint32_t per_zone)
{
	ct->src_embryonic_max = RTE_MAX(RTE_MIN(per_src, (uint32_t)UINT16_MAX), 1u);
	ct->zone_embryonic_max = per_zone;
}

/* Tells the event hook, if any, that 'ev' happened to connection 'idx'. */
static inline void ct_event(struct dse_ct *ct, uint32_t idx, unsigned ev, unsigned detail)
{
	if (unlikely(ct->event_fn != NULL))
		ct->event_fn(ct->event_arg, ct, idx, ev, detail);
}

/*
 * Removes entry 'idx' (for 'why', enum dse_ct_close) from the hash and
 * frees it; from its wheel slot if 'unlink'.
 */
static void ct_remove(struct dse_ct *ct, uint32_t idx, bool unlink, unsigned why)
{
	struct dse_ct_entry *e = &ct->entries[idx];
	struct dse_ct_key key;
	void *k;

	ct_event(ct, idx, DSE_CT_EVENT_CLOSED, why);
	embryonic_end(ct, idx);
	/* A copy: the key passed to rte_hash_del_key() must not be its own slot. */
	if (rte_hash_get_key_with_position(ct->hash, (int32_t)idx, &k) == 0) {
		memcpy(&key, k, sizeof(key));
		rte_hash_del_key(ct->hash, &key);
	}
	if (unlink)
		wheel_unlink(ct, idx);
	e->id = 0;
	e->state = DSE_CT_S_NONE;
	ct->n_entries--;
	if (ct->budget)
		atomic_fetch_sub_explicit(&ct->budget->n, 1, memory_order_relaxed);
}

static enum dse_ct_verdict ct_invalid(struct dse_ct *ct, int reason)
{
	ct->stats.invalid++;
	ct->stats.invalid_reason[reason]++;
	ct->last_invalid = (uint8_t)reason;
	return DSE_CT_INVALID;
}

/*
 * Returns 0 when a packet of class 'pc' may start a connection, else the
 * invalid reason: TCP needs a SYN alone (ECN bits and PSH aside), ICMP an
 * echo request ('icmp_reply' says the packet is a reply).
 */
static int ct_start_reason(uint8_t pc, bool icmp_reply, const struct dse_ct_seg *seg)
{
	uint8_t f;

	switch (pc) {
	case DSE_CT_PC_TCP:
		if (seg->l4 == NULL || seg->l4_len < 20)
			return DSE_CT_INV_TCP_TRUNC;
		f = seg->l4[13] & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN);
		if (f == TCP_SYN)
			return 0;
		if ((f & TCP_SYN) && (f & (TCP_RST | TCP_FIN)))
			return DSE_CT_INV_TCP_FLAGS;
		return DSE_CT_INV_NOT_SYN;
	case DSE_CT_PC_ICMP:
		return icmp_reply ? DSE_CT_INV_ECHO_REPLY : 0;
	default:
		return 0;
	}
}

static enum dse_ct_verdict ct_start_verdict(struct dse_ct *ct, uint8_t pc, bool icmp_reply,
					    const struct dse_ct_seg *seg)
{
	int reason = ct_start_reason(pc, icmp_reply, seg);

	return reason ? ct_invalid(ct, reason) : DSE_CT_NEW;
}

/* ---- TCP --------------------------------------------------------------- */

/* Returns the window scale option of the SYN 'h' ('hlen' header bytes), or -1. */
static int tcp_wscale(const uint8_t *h, uint32_t hlen)
{
	uint32_t i = 20;

	while (i < hlen) {
		uint8_t kind = h[i], len;

		if (kind == 0) /* end of options */
			break;
		if (kind == 1) { /* no-operation */
			i++;
			continue;
		}
		if (i + 1 >= hlen)
			break;
		len = h[i + 1];
		if (len < 2 || i + len > hlen)
			break;
		if (kind == 3 && len == 3)
			return h[i + 2] > 14 ? 14 : h[i + 2]; /* RFC 7323: at most 14 */
		i += len;
	}
	return -1;
}

/*
 * Starts the window tracking of the side that sent the SYN 'h' ending at
 * 'end'; returns the SYN's window scale option, or -1.
 */
static int tcp_dir_init(struct dse_ct_tcp_dir *d, const uint8_t *h, uint32_t hlen, uint32_t end,
			uint32_t win)
{
	int ws = tcp_wscale(h, hlen);

	d->end = end;
	d->maxend = end;
	d->maxwin = win ? win : 1;
	d->wscale = ws >= 0 ? (uint8_t)ws : 0;
	d->flags = ws >= 0 ? DSE_CT_TCPF_WSCALE : 0;
	return ws;
}

/* The state of an open connection after its handshake, from what the FINs did. */
static uint8_t tcp_closing_state(const struct dse_ct_entry *e)
{
	unsigned fins =
	    !!(e->tcp[0].flags & DSE_CT_TCPF_FIN) + !!(e->tcp[1].flags & DSE_CT_TCPF_FIN);
	unsigned acked = !!(e->tcp[0].flags & DSE_CT_TCPF_FIN_ACKED) +
			 !!(e->tcp[1].flags & DSE_CT_TCPF_FIN_ACKED);

	if (fins == 0)
		return DSE_CT_S_ESTABLISHED;
	if (fins == 1)
		return acked ? DSE_CT_S_CLOSE_WAIT : DSE_CT_S_FIN_WAIT;
	return acked == 2 ? DSE_CT_S_TIME_WAIT : DSE_CT_S_LAST_ACK;
}

/* Notes the highest acknowledgement side 'dir' of 'e' has sent. */
static inline void tcp_note_ack(struct dse_ct_entry *e, uint8_t dir, uint32_t ack)
{
	struct dse_ct_tcp_dir *d = &e->tcp[dir];

	if (!(d->flags & DSE_CT_TCPF_ACKED) || seq_after(ack, e->maxack[dir])) {
		e->maxack[dir] = ack;
		d->flags |= DSE_CT_TCPF_ACKED;
	}
}

/*
 * Remembers a SYN of the original direction (the opener's, or one on an
 * open connection, 'pending'): 'seq', 'payload' bytes, window 'win' and
 * window scale 'ws' (-1: none).
 */
static void tcp_note_syn(struct dse_ct_entry *e, uint32_t seq, uint32_t payload, uint16_t win,
			 int ws, bool pending)
{
	e->syn_seq = seq;
	e->syn_len = (uint16_t)RTE_MIN(payload, (uint32_t)UINT16_MAX);
	e->syn_win = win;
	e->syn_opts = (uint8_t)((ws >= 0 ? (ws & DSE_CT_SYN_WSCALE) | DSE_CT_SYNF_WSCALE : 0) |
				(pending ? DSE_CT_SYNF_PENDING : 0));
}

/*
 * True when the SYN+ACK acknowledgement 'ack' fits the opener's SYN: it
 * acknowledges the SYN and at most the data the SYN carried (a server may
 * take TCP Fast Open's data, RFC 7413, or only the SYN, and the client then
 * sends the data again).  Acknowledging the ISN itself is refused.
 */
static inline bool tcp_synack_ok(const struct dse_ct_entry *e, uint32_t ack)
{
	return seq_after(ack, e->syn_seq) && !seq_after(ack, e->syn_seq + 1 + e->syn_len);
}

/*
 * A RST of a connection past its handshake (RFC 5961 section 3): it closes
 * the connection only at the sequence number the receiver expects next,
 * which is what it acknowledged last, or everything the sender sent when
 * all of it arrived.  A RST elsewhere in the receiver's window is passed on
 * without closing, so that the endpoint's challenge ACK can go back and a
 * RST at the right number follow; one outside the window is invalid.
 */
static int tcp_rst(struct dse_ct_entry *e, uint8_t dir, uint32_t seq)
{
	const struct dse_ct_tcp_dir *s = &e->tcp[dir], *r = &e->tcp[dir ^ 1];
	const bool acked = r->flags & DSE_CT_TCPF_ACKED;
	const uint32_t rcv_nxt = acked ? e->maxack[dir ^ 1] : s->end;

	if (seq == s->end || seq == rcv_nxt) {
		e->state = DSE_CT_S_CLOSE;
		return 0;
	}
	if (!seq_before(seq, rcv_nxt) && !seq_after(seq, s->maxend))
		return CT_PASS_RST;
	/*
	 * A side that closed (its FIN went out and was acknowledged) answers
	 * the segments that crossed its FIN from a socket it no longer has:
	 * with their acknowledgement, the FIN's own number.  The receiver is
	 * past it and would discard it; it is dropped too, but counted apart
	 * from a RST nobody could have sent at that number.
	 */
	if ((s->flags & DSE_CT_TCPF_FIN) && seq == s->end - 1)
		return DSE_CT_INV_RST_AFTER_FIN;
	return DSE_CT_INV_RST_WINDOW;
}

/*
 * The first segment of side 's' of a connection put by state sync
 * (dse_ct_sync_put()), which knows the connection's state but not its
 * sequence numbers: as a connection picked up mid-stream, the segment
 * seeds the side's window instead of being checked against it.  Until the
 * other side has sent too, what 's' may send is left open.  A RST closes
 * the connection.
 */
static int tcp_pickup(struct dse_ct_entry *e, uint8_t dir, const struct dse_ct_seg *seg,
		      uint32_t seq, uint32_t ack, uint32_t win, uint32_t end, uint8_t flags)
{
	struct dse_ct_tcp_dir *s = &e->tcp[dir], *r = &e->tcp[dir ^ 1];

	RTE_SET_USED(seq);
	if (flags & TCP_RST) {
		e->state = DSE_CT_S_CLOSE;
		return 0;
	}
	win <<= s->wscale;
	s->flags &= (uint8_t)~DSE_CT_TCPF_PICKUP;
	s->port = seg->in_port;
	s->end = end;
	s->maxwin = win ? win : 1;
	if (r->flags & DSE_CT_TCPF_PICKUP) {
		/* The other side has sent at least what this one acknowledges. */
		r->end = ack;
		s->maxend = end + (1u << 30);
	}
	if (flags & TCP_ACK) {
		tcp_note_ack(e, dir, ack);
		r->maxend = ack + (win ? win : 1);
	}
	if (flags & TCP_FIN)
		s->flags |= DSE_CT_TCPF_FIN;
	e->state = tcp_closing_state(e);
	return 0;
}

/*
 * Tracks the TCP segment 'seg' of direction 'dir' in 'e'.  Returns 0 when it
 * is valid ('e' updated, its state possibly changed); CT_REOPEN for a SYN on
 * a closed connection; CT_PASS_RST or CT_PASS_SYN for a RST or SYN that
 * passes without changing the connection (RFC 5961), CT_PASS_CLOSED for a
 * RST or bare ACK in the window of a reset connection; CT_REPLACE for a
 * SYN+ACK that answers a SYN seen on the open connection (the caller makes
 * a new connection of it); or an invalid reason ('e' unchanged).
 *
 * The window check, per direction s (sender) and r (receiver):
 *   seq <= s.maxend                 not beyond what the receiver offered
 *   end >= s.end - r.maxwin         not older than one receiver window
 *   ack <= r.end                    acknowledges nothing never sent
 *   ack >= r.end - max(s.maxwin, 66000)
 */
static int tcp_track(struct dse_ct_entry *e, uint8_t dir, const struct dse_ct_seg *seg)
{
	const uint8_t *h = seg->l4;
	struct dse_ct_tcp_dir *s = &e->tcp[dir], *r = &e->tcp[dir ^ 1];
	uint32_t seq, ack, end, win, ackv, edge, maxack, hlen;
	int ws;
	bool syn, ackf, fin, rst;
	uint8_t flags;

	if (h == NULL || seg->l4_len < 20)
		return DSE_CT_INV_TCP_TRUNC;
	hlen = RTE_MIN((uint32_t)seg->l4_len, (uint32_t)(h[12] >> 4) * 4);
	flags = h[13];
	syn = flags & TCP_SYN;
	ackf = flags & TCP_ACK;
	fin = flags & TCP_FIN;
	rst = flags & TCP_RST;
	/* SYN with FIN or RST, and anything but a SYN or a RST without ACK. */
	if ((syn && (fin || rst)) || (!syn && !ackf && !rst))
		return DSE_CT_INV_TCP_FLAGS;
	seq = rd32(h + 4);
	ack = rd32(h + 8);
	win = rd16(h + 14);
	end = seq + seg->payload_len + syn + fin;
	if (unlikely(s->flags & DSE_CT_TCPF_PICKUP) && !syn && state_open(e->state))
		return tcp_pickup(e, dir, seg, seq, ack, win, end, flags);

	if (syn && !ackf) {
		switch (e->state) {
		case DSE_CT_S_TIME_WAIT:
		case DSE_CT_S_CLOSE:
			return CT_REOPEN;
		case DSE_CT_S_SYN_SENT:
			/* Ours again (retransmitted, or a new ISN), or the peer's
			 * crossing it: a simultaneous open. */
			ws = tcp_dir_init(s, h, hlen, end, win);
			if (dir == DSE_CT_DIR_ORIG)
				tcp_note_syn(e, seq, seg->payload_len, (uint16_t)win, ws, false);
			else
				e->state = DSE_CT_S_SYN_RECV;
			return 0;
		case DSE_CT_S_SYN_RECV:
			/* A retransmission of this side's SYN. */
			if (s->maxwin != 0 && end == s->end)
				return 0;
			return DSE_CT_INV_SYN_STATE;
		default:
			/*
			 * An open connection (RFC 5961 section 4): the endpoint
			 * answers with a challenge ACK and keeps it.  A SYN of
			 * the opener's side is remembered: if the other side
			 * answers it with a SYN+ACK, a new connection starts.
			 */
			if (dir == DSE_CT_DIR_ORIG && seg->in_port == s->port)
				tcp_note_syn(e, seq, seg->payload_len, (uint16_t)win,
					     tcp_wscale(h, hlen), true);
			return CT_PASS_SYN;
		}
	}
	if (syn) { /* SYN+ACK */
		if ((e->state == DSE_CT_S_SYN_SENT && dir == DSE_CT_DIR_REPLY) ||
		    e->state == DSE_CT_S_SYN_RECV) {
			/* The opener's SYN may have carried data; a simultaneous open's may not. */
			if (dir == DSE_CT_DIR_REPLY ? !tcp_synack_ok(e, ack) : ack != r->end)
				return DSE_CT_INV_SYNACK_ACK;
			if (e->state == DSE_CT_S_SYN_SENT) {
				tcp_dir_init(s, h, hlen, end, win);
				/* Window scaling holds only if both SYNs asked for it. */
				if (!(s->flags & r->flags & DSE_CT_TCPF_WSCALE))
					s->wscale = r->wscale = 0;
				e->state = DSE_CT_S_SYN_RECV;
			} else if (s->maxwin == 0 || end != s->end) {
				return DSE_CT_INV_SYN_STATE; /* not a retransmission */
			}
			tcp_note_ack(e, dir, ack);
			/* The window of a SYN is never scaled. */
			edge = ack + (win ? win : 1);
			if (seq_after(edge, r->maxend))
				r->maxend = edge;
			return 0;
		}
		/* Only from where the connection's replies come: no third party replaces it. */
		if (dir == DSE_CT_DIR_REPLY && state_open(e->state) && seg->in_port == s->port &&
		    (e->syn_opts & DSE_CT_SYNF_PENDING) && tcp_synack_ok(e, ack))
			return CT_REPLACE;
		/* The SYN+ACK again after the final ACK went by (and was lost beyond us). */
		if (e->state == DSE_CT_S_ESTABLISHED && dir == DSE_CT_DIR_REPLY && end == s->end)
			return 0;
		return DSE_CT_INV_SYN_STATE;
	}

	switch (e->state) {
	case DSE_CT_S_SYN_SENT:
		/* Before the SYN+ACK only a reset is valid: from the peer it must
		 * acknowledge the SYN, from the opener carry the next sequence. */
		if (!rst)
			return DSE_CT_INV_UNEXPECTED;
		if (dir == DSE_CT_DIR_REPLY) {
			if (!ackf || !tcp_synack_ok(e, ack))
				return DSE_CT_INV_ACK_WINDOW;
		} else if (seq != s->end && seq != e->syn_seq + 1) {
			return DSE_CT_INV_SEQ_WINDOW;
		}
		e->state = DSE_CT_S_CLOSE;
		return 0;
	case DSE_CT_S_CLOSE:
		/*
		 * After a RST the endpoint that never got the data before it may
		 * still answer with a challenge ACK, and a RST at the number it
		 * asks for follows (RFC 5961): those pass, in the window, and
		 * change nothing; data is invalid.
		 */
		if (!rst && (!ackf || fin || seg->payload_len != 0))
			return DSE_CT_INV_CLOSED;
		break;
	default:
		break;
	}

	win <<= s->wscale;
	ackv = ackf ? ack : r->end; /* a RST without ACK acknowledges nothing */
	maxack = RTE_MAX(s->maxwin, CT_MAXACKWIN_MIN);
	if (!rst && (seq_after(seq, s->maxend) || seq_before(end, s->end - r->maxwin)))
		return e->state == DSE_CT_S_CLOSE ? DSE_CT_INV_CLOSED : DSE_CT_INV_SEQ_WINDOW;
	if (seq_after(ackv, r->end) || seq_before(ackv, r->end - maxack))
		return e->state == DSE_CT_S_CLOSE ? DSE_CT_INV_CLOSED : DSE_CT_INV_ACK_WINDOW;
	if (e->state == DSE_CT_S_CLOSE)
		return rst && (seq_after(seq, s->maxend) || seq_before(seq, s->end - r->maxwin))
			       ? DSE_CT_INV_CLOSED
			       : CT_PASS_CLOSED;
	if (rst)
		return tcp_rst(e, dir, seq);

	/* The other side answered the SYN seen on the open connection with something else. */
	if (dir == DSE_CT_DIR_REPLY)
		e->syn_opts &= (uint8_t)~DSE_CT_SYNF_PENDING;
	if (s->maxwin < win)
		s->maxwin = win;
	if (seq_after(end, s->end))
		s->end = end;
	if (ackf) {
		tcp_note_ack(e, dir, ack);
		edge = ack + (win ? win : 1);
		if (seq_after(edge, r->maxend))
			r->maxend = edge;
	}
	if (fin)
		s->flags |= DSE_CT_TCPF_FIN;
	/* r.end counts r's FIN: an ack reaching it acknowledges the FIN. */
	if (ackf && (r->flags & DSE_CT_TCPF_FIN) && !seq_before(ack, r->end))
		r->flags |= DSE_CT_TCPF_FIN_ACKED;
	/* Here every segment has ACK: in SYN_RECV it completes the handshake. */
	e->state = tcp_closing_state(e);
	return 0;
}


/* ---- tuples ------------------------------------------------------------ */

void dse_ct_addr_from_ipv4(uint8_t out[16], const uint8_t v4[4])
{
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, v4, 4);
}

int dse_ct_tuple_set(struct dse_ct_tuple *t, uint16_t zone, uint8_t family, uint8_t proto,
		     const uint8_t src[16], const uint8_t dst[16], uint16_t sport, uint16_t dport)
{
	struct dse_ct_key *k = &t->key;
	bool swap;
	int c;

	if (family != 4 && family != 6)
		return -EINVAL;
	switch (proto) {
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		uint8_t req = family == 4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
		uint8_t rep = family == 4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;

		if ((proto == IPPROTO_ICMPV6) != (family == 6))
			return -EINVAL;
		if (dport == req)
			swap = false;
		else if (dport == rep)
			swap = true;
		else
			return -ENOTSUP;
		/* The requester first, whichever way the packet goes. */
		k->port[0] = sport;
		k->port[1] = req;
		break;
	}
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		c = memcmp(src, dst, 16);
		swap = c > 0 || (c == 0 && sport > dport);
		k->port[0] = swap ? dport : sport;
		k->port[1] = swap ? sport : dport;
		break;
	default:
		swap = memcmp(src, dst, 16) > 0;
		k->port[0] = 0;
		k->port[1] = 0;
		break;
	}
	memcpy(k->addr[0], swap ? dst : src, 16);
	memcpy(k->addr[1], swap ? src : dst, 16);
	k->zone = zone;
	k->proto = proto;
	k->family = family;
	t->swapped = swap;
	t->hash = rte_hash_crc(k, sizeof(*k), 0);
	return 0;
}

int dse_ct_tuple_from_pkt(struct dse_ct_tuple *t, const uint8_t *frame,
			  const struct dse_pkt_info *info, uint16_t zone)
{
	const uint8_t *l3 = frame + info->l3_off;
	const uint8_t *l4 = frame + info->l4_off;
	uint8_t src[16], dst[16], family;
	uint16_t sport = 0, dport = 0;

	if (info->l3 == DSE_L3_IPV4) {
		family = 4;
		dse_ct_addr_from_ipv4(src, l3 + 12);
		dse_ct_addr_from_ipv4(dst, l3 + 16);
	} else if (info->l3 == DSE_L3_IPV6) {
		family = 6;
		memcpy(src, l3 + 8, 16);
		memcpy(dst, l3 + 24, 16);
	} else {
		return -ENOTSUP;
	}
	if (info->ip_frag)
		return -ENOTSUP;
	switch (info->l4_proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		if (info->l4_off == 0)
			return -ENOTSUP;
		sport = rd16(l4);
		dport = rd16(l4 + 2);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (info->l4_off == 0)
			return -ENOTSUP;
		/* dse_ct_tuple_set() refuses other types before the id is used;
		 * the parser checked that an echo message holds its id. */
		dport = l4[0];
		if (dport != ICMP_ECHO && dport != ICMP_ECHOREPLY && dport != ICMP6_ECHO_REQUEST &&
		    dport != ICMP6_ECHO_REPLY)
			return -ENOTSUP;
		sport = rd16(l4 + 4);
		break;
	default:
		break;
	}
	return dse_ct_tuple_set(t, zone, family, info->l4_proto, src, dst, sport, dport);
}

void dse_ct_seg_from_pkt(struct dse_ct_seg *seg, const uint8_t *frame,
			 const struct dse_pkt_info *info)
{
	seg->ip_len = (uint16_t)(info->ip_end - info->l3_off);
	seg->in_port = 0;
	if (info->l4_off == 0) {
		seg->l4 = NULL;
		seg->l4_len = 0;
		seg->payload_len = 0;
		return;
	}
	seg->l4 = frame + info->l4_off;
	seg->l4_len = info->l4_len;
	seg->payload_len = (uint32_t)(info->ip_end - info->l4_off - info->l4_len);
}

/* ---- ICMP errors ------------------------------------------------------- */

int dse_ct_icmp_error_kind(uint8_t family, uint8_t type, uint8_t code)
{
	if (family == 4) {
		switch (type) {
		case 3:
			return code == 4 ? DSE_CT_REL_TOO_BIG : DSE_CT_REL_UNREACH;
		case 11:
			return DSE_CT_REL_TIME;
		case 12:
			return DSE_CT_REL_PARAM;
		default:
			return -1;
		}
	}
	switch (type) {
	case 1:
		return DSE_CT_REL_UNREACH;
	case 2:
		return DSE_CT_REL_TOO_BIG;
	case 3:
		return DSE_CT_REL_TIME;
	case 4:
		return DSE_CT_REL_PARAM;
	default:
		return -1;
	}
}

/*
 * The quoted packet of an ICMP error: its addresses, protocol and the first
 * bytes of its layer 4 header.
 */
struct ct_quote {
	uint8_t src[16], dst[16];
	uint8_t proto;
	const uint8_t *l4; /* at least 8 bytes */
};

/* Reads the quoted packet 'q' ('len' bytes) of family 'family'.  Returns 0 or -EPROTO. */
static int ct_quote_parse(struct ct_quote *cq, uint8_t family, const uint8_t *q, uint32_t len)
{
	uint32_t off, nh;

	if (family == 4) {
		uint32_t hl;

		if (len < 20 || (q[0] >> 4) != 4)
			return -EPROTO;
		hl = (uint32_t)(q[0] & 0x0f) * 4;
		/* A non-first fragment quotes no ports. */
		if (hl < 20 || len < hl + 8 || (rd16(q + 6) & 0x1fff) != 0)
			return -EPROTO;
		dse_ct_addr_from_ipv4(cq->src, q + 12);
		dse_ct_addr_from_ipv4(cq->dst, q + 16);
		cq->proto = q[9];
		cq->l4 = q + hl;
		return 0;
	}
	if (len < 40 || (q[0] >> 4) != 6)
		return -EPROTO;
	memcpy(cq->src, q + 8, 16);
	memcpy(cq->dst, q + 24, 16);
	nh = q[6];
	off = 40;
	/* The extension headers the parser knows, as many as it walks. */
	for (unsigned n = 0; n < 8; n++) {
		uint32_t hl;

		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_ROUTING && nh != IPPROTO_DSTOPTS &&
		    nh != IPPROTO_FRAGMENT && nh != IPPROTO_AH)
			break;
		if (len < off + 8)
			return -EPROTO;
		if (nh == IPPROTO_FRAGMENT) {
			if (rd16(q + off + 2) & 0xfff8)
				return -EPROTO;
			hl = 8;
		} else if (nh == IPPROTO_AH) {
			hl = ((uint32_t)q[off + 1] + 2) * 4;
		} else {
			hl = ((uint32_t)q[off + 1] + 1) * 8;
		}
		nh = q[off];
		off += hl;
	}
	if (len < off + 8)
		return -EPROTO;
	cq->proto = (uint8_t)nh;
	cq->l4 = q + off;
	return 0;
}

int dse_ct_related(struct dse_ct *ct, uint16_t zone, uint8_t family, const uint8_t dst[16],
		   const uint8_t *icmp, uint32_t len, uint64_t now, uint8_t *ret_kind)
{
	const struct dse_ct_entry *e;
	struct dse_ct_tuple t;
	struct ct_quote q;
	uint16_t sport, dport;
	uint8_t dir;
	int kind, pos;

	if (len < 8 || (family != 4 && family != 6))
		return -EINVAL;
	kind = dse_ct_icmp_error_kind(family, icmp[0], icmp[1]);
	if (kind < 0)
		return -EINVAL;
	pos = ct_quote_parse(&q, family, icmp + 8, len - 8);
	/* The error goes back to whoever sent the quoted packet. */
	if (pos == 0 && memcmp(q.src, dst, 16) != 0)
		pos = -EPROTO;
	if (pos == 0) {
		switch (q.proto) {
		case IPPROTO_TCP:
		case IPPROTO_UDP:
			sport = rd16(q.l4);
			dport = rd16(q.l4 + 2);
			break;
		case IPPROTO_ICMP:
		case IPPROTO_ICMPV6:
			/* Only echo is tracked; dse_ct_tuple_set() refuses other types. */
			sport = rd16(q.l4 + 4);
			dport = q.l4[0];
			break;
		default:
			pos = -EPROTO;
			break;
		}
	}
	if (pos == 0 && dse_ct_tuple_set(&t, zone, family, q.proto, q.src, q.dst, sport, dport) != 0)
		pos = -EPROTO;
	if (pos == 0) {
		pos = dse_ct_lookup(ct, &t, &dir);
		if (pos >= 0 && (ct->entries[pos].id == 0 || ct_expired(ct, &ct->entries[pos], now)))
			pos = -ENOENT;
	}
	if (pos >= 0 && ct->entries[pos].pclass == DSE_CT_PC_TCP) {
		/*
		 * RFC 5927: the quoted segment's sequence number must be one
		 * its sender may still have in flight, within one window of
		 * what it sent.
		 */
		const struct dse_ct_tcp_dir *s, *r;
		uint32_t seq = rd32(q.l4 + 4), win;

		e = &ct->entries[pos];
		s = &e->tcp[dir];
		r = &e->tcp[dir ^ 1];
		win = RTE_MAX(r->maxwin, CT_MAXACKWIN_MIN);
		if (seq_after(seq, s->end) || seq_before(seq, s->end - win)) {
			ct->stats.related_bad_seq++;
			pos = -ERANGE;
		}
	}
	if (pos < 0) {
		ct->stats.unrelated[kind]++;
		return pos;
	}
	ct->stats.related[kind]++;
	*ret_kind = (uint8_t)kind;
	return pos;
}

/* ---- packet path ------------------------------------------------------- */

static inline uint8_t dir_of(const struct dse_ct *ct, uint32_t idx, const struct dse_ct_tuple *t)
{
	return t->swapped ^ (ct->entries[idx].flags & DSE_CT_EF_SWAPPED);
}

int dse_ct_lookup(const struct dse_ct *ct, const struct dse_ct_tuple *t, uint8_t *ret_dir)
{
	int pos = rte_hash_lookup_with_hash(ct->hash, &t->key, t->hash);

	if (pos < 0)
		return -ENOENT;
	*ret_dir = dir_of(ct, (uint32_t)pos, t);
	return pos;
}

unsigned dse_ct_lookup_bulk(const struct dse_ct *ct, const struct dse_ct_tuple *const *t,
			    unsigned n, int32_t *ret_index, uint8_t *ret_dir)
{
	const void *keys[RTE_HASH_LOOKUP_BULK_MAX];
	hash_sig_t sigs[RTE_HASH_LOOKUP_BULK_MAX];
	int32_t pos[RTE_HASH_LOOKUP_BULK_MAX];
	unsigned hits = 0;

	if (n > RTE_HASH_LOOKUP_BULK_MAX)
		n = RTE_HASH_LOOKUP_BULK_MAX;
	if (n == 0)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		keys[i] = &t[i]->key;
		sigs[i] = t[i]->hash;
	}
	if (rte_hash_lookup_with_hash_bulk(ct->hash, keys, sigs, n, pos) < 0)
		for (unsigned i = 0; i < n; i++)
			pos[i] = -ENOENT;
	for (unsigned i = 0; i < n; i++) {
		if (pos[i] < 0) {
			ret_index[i] = -ENOENT;
			continue;
		}
		ret_index[i] = pos[i];
		ret_dir[i] = dir_of(ct, (uint32_t)pos[i], t[i]);
		hits++;
	}
	return hits;
}

/* Gives entry 'e' a new id (cached references to the old connection then miss). */
static inline void ct_new_id(struct dse_ct *ct, struct dse_ct_entry *e)
{
	e->id = ct->next_id++;
	if (ct->next_id == 0)
		ct->next_id = 1;
}

/*
 * Turns the open connection at 'index' into the new one opened by the SYN
 * remembered in it and answered by the SYN+ACK 'seg' (of the reply
 * direction), as the endpoints did.  Returns 0, or an invalid reason.
 */
static int ct_replace(struct dse_ct *ct, uint32_t index, const struct dse_ct_seg *seg,
		      uint64_t now)
{
	struct dse_ct_entry *e = &ct->entries[index];
	struct dse_ct_tcp_dir *o = &e->tcp[DSE_CT_DIR_ORIG];
	const uint16_t ports[2] = {e->tcp[0].port, e->tcp[1].port};
	void *kp;
	int r;

	ct_event(ct, index, DSE_CT_EVENT_CLOSED, DSE_CT_CLOSE_REPLACED);
	memset(e->tcp, 0, sizeof(e->tcp));
	e->tcp[0].port = ports[0];
	e->tcp[1].port = ports[1];
	o->end = e->syn_seq + e->syn_len + 1;
	o->maxend = o->end;
	o->maxwin = e->syn_win ? e->syn_win : 1;
	if (e->syn_opts & DSE_CT_SYNF_WSCALE) {
		o->wscale = e->syn_opts & DSE_CT_SYN_WSCALE;
		o->flags = DSE_CT_TCPF_WSCALE;
	}
	e->syn_opts = 0;
	e->state = DSE_CT_S_SYN_SENT;
	e->flags &= ~DSE_CT_EF_SEEN_REPLY;
	ct_new_id(ct, e);
	memset(e->packets, 0, sizeof(e->packets));
	memset(e->bytes, 0, sizeof(e->bytes));
	e->packets[DSE_CT_DIR_ORIG] = 1; /* the SYN */
	e->created = now;
	if (!(e->flags & DSE_CT_EF_EMBRYONIC) &&
	    rte_hash_get_key_with_position(ct->hash, (int32_t)index, &kp) == 0) {
		const struct dse_ct_key *k = kp;

		embryonic_begin(ct, index, k->zone,
				src_slot(ct, k, (e->flags & DSE_CT_EF_SWAPPED) ? 1 : 0));
	}
	ct->stats.replaced++;
	r = tcp_track(e, DSE_CT_DIR_REPLY, seg);
	if (r == 0)
		ct_event(ct, index, DSE_CT_EVENT_CREATED, 0);
	return r;
}

enum dse_ct_verdict dse_ct_track(struct dse_ct *ct, uint32_t index, uint8_t dir,
				 const struct dse_ct_seg *seg, uint64_t now)
{
	struct dse_ct_entry *e;
	uint8_t old;
	int r;

	/* A stale reference: whatever held the index is gone. */
	if (index >= ct->capacity || ct->entries[index].id == 0)
		return DSE_CT_NEW;
	e = &ct->entries[index];
	old = e->state;
	if (ct_expired(ct, e, now)) {
		uint8_t pc = e->pclass;

		ct_remove(ct, index, true, DSE_CT_CLOSE_EXPIRED);
		ct->stats.expired++;
		/* In an ICMP entry the reply direction is the echo reply. */
		return ct_start_verdict(ct, pc, dir == DSE_CT_DIR_REPLY, seg);
	}
	if (e->pclass == DSE_CT_PC_TCP) {
		r = tcp_track(e, dir, seg);
		switch (r) {
		case 0:
			break;
		case CT_REOPEN:
			ct_remove(ct, index, true, DSE_CT_CLOSE_REOPENED);
			ct->stats.reopened++;
			return DSE_CT_NEW;
		case CT_PASS_RST:
			/* The packet goes on; the connection neither changes nor lives longer. */
			ct->stats.rst_challenged++;
			return DSE_CT_VALID;
		case CT_PASS_SYN:
			ct->stats.syn_on_open++;
			return DSE_CT_VALID;
		case CT_PASS_CLOSED:
			return DSE_CT_VALID;
		case CT_REPLACE:
			r = ct_replace(ct, index, seg, now);
			if (r > 0)
				return ct_invalid(ct, r);
			/* A new connection: its state changes from the SYN's. */
			old = DSE_CT_S_SYN_SENT;
			break;
		default:
			return ct_invalid(ct, r);
		}
		if (unlikely(e->tcp[dir].port == DSE_CT_PORT_UNKNOWN))
			e->tcp[dir].port = seg->in_port;
	} else if (dir == DSE_CT_DIR_REPLY && old == DSE_CT_S_UNREPLIED) {
		e->state = DSE_CT_S_REPLIED;
	}
	if (dir == DSE_CT_DIR_REPLY)
		e->flags |= DSE_CT_EF_SEEN_REPLY;
	e->last_seen = now;
	e->packets[dir]++;
	e->bytes[dir] += seg->ip_len;
	if (e->state == old)
		return DSE_CT_VALID;
	if ((e->flags & DSE_CT_EF_EMBRYONIC) && state_open(e->state))
		embryonic_end(ct, index);
	wheel_reschedule(ct, index, now);
	ct_event(ct, index, DSE_CT_EVENT_STATE, old);
	return DSE_CT_VALID_STATE_CHANGED;
}

enum dse_ct_verdict dse_ct_process(struct dse_ct *ct, const struct dse_ct_tuple *t,
				   const struct dse_ct_seg *seg, uint64_t now, int32_t *ret_index,
				   uint8_t *ret_dir)
{
	int pos = rte_hash_lookup_with_hash(ct->hash, &t->key, t->hash);
	enum dse_ct_verdict v;
	uint8_t dir;

	*ret_index = -1;
	if (pos < 0) {
		*ret_dir = DSE_CT_DIR_ORIG;
		return ct_start_verdict(ct, pclass_of(t->key.proto), t->swapped, seg);
	}
	dir = dir_of(ct, (uint32_t)pos, t);
	*ret_dir = dir;
	v = dse_ct_track(ct, (uint32_t)pos, dir, seg, now);
	if (v != DSE_CT_NEW && ct->entries[pos].id != 0)
		*ret_index = pos;
	return v;
}

unsigned dse_ct_process_bulk(struct dse_ct *ct, const struct dse_ct_tuple *const *t,
			     const struct dse_ct_seg *const *seg, unsigned n, uint64_t now,
			     uint8_t *ret_verdict, int32_t *ret_index, uint8_t *ret_dir)
{
	const void *keys[RTE_HASH_LOOKUP_BULK_MAX];
	hash_sig_t sigs[RTE_HASH_LOOKUP_BULK_MAX];
	int32_t pos[RTE_HASH_LOOKUP_BULK_MAX];
	unsigned n_new = 0;

	for (unsigned base = 0; base < n; base += RTE_HASH_LOOKUP_BULK_MAX) {
		unsigned m = RTE_MIN(n - base, (unsigned)RTE_HASH_LOOKUP_BULK_MAX);

		for (unsigned i = 0; i < m; i++) {
			keys[i] = &t[base + i]->key;
			sigs[i] = t[base + i]->hash;
		}
		if (rte_hash_lookup_with_hash_bulk(ct->hash, keys, sigs, m, pos) < 0)
			for (unsigned i = 0; i < m; i++)
				pos[i] = -ENOENT;
		for (unsigned i = 0; i < m; i++)
			if (pos[i] >= 0)
				dse_ct_prefetch(ct, (uint32_t)pos[i]);
		for (unsigned i = 0; i < m; i++) {
			unsigned k = base + i;
			enum dse_ct_verdict v;

			if (pos[i] >= 0 && ct->entries[pos[i]].id != 0) {
				uint8_t dir = dir_of(ct, (uint32_t)pos[i], t[k]);

				ret_dir[k] = dir;
				v = dse_ct_track(ct, (uint32_t)pos[i], dir, seg[k], now);
				ret_index[k] =
				    v != DSE_CT_NEW && ct->entries[pos[i]].id != 0 ? pos[i] : -1;
			} else if (pos[i] >= 0) {
				/* An earlier packet of the burst removed the entry. */
				v = dse_ct_process(ct, t[k], seg[k], now, &ret_index[k],
						   &ret_dir[k]);
			} else {
				ret_index[k] = -1;
				ret_dir[k] = DSE_CT_DIR_ORIG;
				v = ct_start_verdict(ct, pclass_of(t[k]->key.proto), t[k]->swapped,
						     seg[k]);
			}
			ret_verdict[k] = (uint8_t)v;
			n_new += v == DSE_CT_NEW;
		}
	}
	return n_new;
}

/* What a victim must be (ct_find_victim()). */
struct ct_victim_filter {
	bool half_open_only; /* only half-open entries (else closing ones too) */
	int zone_slot;	     /* only half-open ones of this zone slot; -1: any */
	int src_slot;	     /* only half-open ones of this source slot; -1: any */
};

/* True when entry 'e' may be evicted under 'f'. */
static inline bool ct_victim_ok(const struct dse_ct_entry *e, const struct ct_victim_filter *f)
{
	if (e->id == 0)
		return false;
	if (!(e->flags & DSE_CT_EF_EMBRYONIC))
		return !f->half_open_only &&
		       (e->state == DSE_CT_S_CLOSE || e->state == DSE_CT_S_TIME_WAIT);
	return (f->zone_slot < 0 || e->zone_slot == f->zone_slot) &&
	       (f->src_slot < 0 || e->src_bucket == f->src_slot);
}

/*
 * Finds a connection to evict for a new one: a half-open or closing one
 * that 'f' allows.  Half-open connections have the shortest timeouts, so
 * the wheel's next slots hold the oldest of them: those are looked at
 * first, a bounded number of entries.  Under a flood with many established
 * connections in those slots too, random samples of the table follow,
 * where nearly every entry is a half-open one.  Returns the index or
 * CT_NIL.  Costs a bounded number of cache misses (the entries carry their
 * slots: no key is read), no memory.
 */
static uint32_t ct_find_victim(struct dse_ct *ct, const struct ct_victim_filter *f)
{
	unsigned seen = 0;

	for (uint64_t k = 1; k <= CT_EVICT_SLOTS && seen < CT_EVICT_SAMPLES; k++) {
		const struct dse_ct_slot *sl = slot_of(ct, ct->wheel_tick + k);

		for (uint32_t i = sl->head; i != CT_NIL && seen < CT_EVICT_SAMPLES;
		     i = ct->entries[i].timer_next, seen++)
			if (ct_victim_ok(&ct->entries[i], f))
				return i;
	}
	for (unsigned k = 0; k < CT_EVICT_SAMPLES; k++) {
		uint32_t i;

		ct->rnd ^= ct->rnd << 13;
		ct->rnd ^= ct->rnd >> 7;
		ct->rnd ^= ct->rnd << 17;
		i = (uint32_t)((ct->rnd >> 16) % ct->capacity);
		if (ct_victim_ok(&ct->entries[i], f))
			return i;
	}
	return CT_NIL;
}

/* Evicts a connection that 'f' allows for a new one.  Returns true if one went. */
static bool ct_evict_one(struct dse_ct *ct, const struct ct_victim_filter *f)
{
	uint32_t i = ct_find_victim(ct, f);

	if (i == CT_NIL)
		return false;
	ct_remove(ct, i, true, DSE_CT_CLOSE_EVICTED);
	ct->stats.evicted++;
	return true;
}

/* After a search of a full table that found nothing to evict, none is tried for this long. */
#define CT_EVICT_BACKOFF_NS 10000000ull

/* The table has room and holds less than its share of the budget it shares (see there). */
static inline bool ct_below_share(const struct dse_ct *ct)
{
	return ct->budget && ct->n_entries < ct->max_entries &&
	       ct->n_entries < ct->budget->max / ct->budget->tables;
}

/* The table, or the budget it shares with the other workers' tables, is full. */
static inline bool ct_full(const struct dse_ct *ct)
{
	return ct->n_entries >= ct->max_entries ||
	       (ct->budget &&
		atomic_load_explicit(&ct->budget->n, memory_order_relaxed) >= ct->budget->max);
}

/*
 * May the connection of 't', whose opener has per-source slot 'src', be
 * created at 'now'?  A source at its limit of half-open connections makes
 * room among its own (so that a spoofer sharing its address or slot can
 * never lock it out), as does a zone at its limit among the zone's; a full
 * table evicts a half-open or closing connection.  Returns 0, -EDQUOT or
 * -ENOSPC (counted).
 */
static int ct_admit(struct dse_ct *ct, const struct dse_ct_tuple *t, uint16_t src, uint64_t now)
{
	/* By default half the table, or half of its share of the budget it shares. */
	const uint32_t zmax =
	    ct->zone_embryonic_max ? ct->zone_embryonic_max
	    : ct->budget	   ? RTE_MAX(ct->budget->max / ct->budget->tables / 2, 1u)
				   : RTE_MAX(ct->max_entries / 2, 1u);
	const uint32_t zs = zone_slot(t->key.zone);

	if (ct->src_embryonic[src] >= ct->src_embryonic_max &&
	    !ct_evict_one(ct, &(struct ct_victim_filter){true, -1, src})) {
		ct->stats.src_limit++;
		return -EDQUOT;
	}
	/* A flood in one zone never takes more than its share of the table. */
	if (ct->zone_embryonic[zs] >= zmax &&
	    !ct_evict_one(ct, &(struct ct_victim_filter){true, (int)zs, -1})) {
		ct->stats.zone_limit++;
		return -EDQUOT;
	}
	if (ct_full(ct) && (int64_t)(now - ct->evict_retry_ns) >= 0 &&
	    !ct_evict_one(ct, &(struct ct_victim_filter){false, -1, -1}))
		/* Nothing to evict: a flood of new connections must not make each search. */
		ct->evict_retry_ns = now + CT_EVICT_BACKOFF_NS;
	if (ct_full(ct) && !ct_below_share(ct)) {
		ct->stats.full++;
		return -ENOSPC;
	}
	return 0;
}

/* Counts the new entry at 'pos' (filled in) and schedules its expiry from 'now'. */
static void ct_insert(struct dse_ct *ct, uint32_t pos, uint64_t now)
{
	if (!ct->wheel_started) {
		ct->wheel_tick = now >> CT_TICK_SHIFT;
		ct->wheel_started = 1;
	}
	wheel_add(ct, pos, due_tick(ct, now + ct_timeout(ct, &ct->entries[pos])));
	ct->n_entries++;
	if (ct->budget)
		atomic_fetch_add_explicit(&ct->budget->n, 1, memory_order_relaxed);
	ct->stats.created++;
}

int dse_ct_create_conn(struct dse_ct *ct, const struct dse_ct_tuple *t,
		       const struct dse_ct_seg *seg, uint64_t now, uint32_t mark)
{
	uint8_t pc = pclass_of(t->key.proto);
	int reason = ct_start_reason(pc, t->swapped, seg);
	struct dse_ct_entry *e;
	uint16_t src;
	int pos, r;

	if (reason) {
		ct_invalid(ct, reason);
		return -EINVAL;
	}
	src = src_slot(ct, &t->key, t->swapped);
	r = ct_admit(ct, t, src, now);
	if (r < 0)
		return r;
	pos = rte_hash_add_key_with_hash(ct->hash, &t->key, t->hash);
	if (pos < 0) {
		ct->stats.full++;
		return -ENOSPC;
	}
	e = &ct->entries[pos];
	/* Adding a key that exists returns its position. */
	if (e->id != 0)
		return -EEXIST;
	memset(e, 0, sizeof(*e));
	ct_new_id(ct, e);
	e->mark = mark;
	e->pclass = pc;
	e->flags = t->swapped ? DSE_CT_EF_SWAPPED : 0;
	e->last_seen = now;
	e->created = now;
	e->packets[DSE_CT_DIR_ORIG] = 1;
	e->bytes[DSE_CT_DIR_ORIG] = seg->ip_len;
	if (pc == DSE_CT_PC_TCP) {
		const uint8_t *h = seg->l4;
		uint32_t hlen = RTE_MIN((uint32_t)seg->l4_len, (uint32_t)(h[12] >> 4) * 4);

		int ws = tcp_dir_init(&e->tcp[DSE_CT_DIR_ORIG], h, hlen,
				      rd32(h + 4) + seg->payload_len + 1, rd16(h + 14));

		tcp_note_syn(e, rd32(h + 4), seg->payload_len, rd16(h + 14), ws, false);
		e->tcp[DSE_CT_DIR_ORIG].port = seg->in_port;
		e->tcp[DSE_CT_DIR_REPLY].port = DSE_CT_PORT_UNKNOWN;
		e->state = DSE_CT_S_SYN_SENT;
	} else {
		e->state = DSE_CT_S_UNREPLIED;
	}
	embryonic_begin(ct, (uint32_t)pos, t->key.zone, src);
	ct_insert(ct, (uint32_t)pos, now);
	ct_event(ct, (uint32_t)pos, DSE_CT_EVENT_CREATED, 0);
	return pos;
}

int dse_ct_sync_put(struct dse_ct *ct, const struct dse_ct_tuple *t, uint8_t state,
		    uint32_t mark, uint8_t eflags, const uint8_t wscale[2], uint64_t now)
{
	uint8_t pc = pclass_of(t->key.proto);
	struct dse_ct_entry *e;
	int pos;

	pos = rte_hash_add_key_with_hash(ct->hash, &t->key, t->hash);
	if (pos < 0) {
		ct->stats.full++;
		return -ENOSPC;
	}
	e = &ct->entries[pos];
	if (e->id != 0) {
		/* An update: the state and the verdict; the windows stay as tracked. */
		if (e->state != state) {
			embryonic_end(ct, (uint32_t)pos);
			e->state = state;
		}
		e->mark = mark;
		e->flags |= eflags & DSE_CT_EF_SEEN_REPLY;
		e->last_seen = now;
		/* The window scales are known once both SYNs were seen (a later record). */
		for (unsigned d = 0; d < 2 && wscale; d++)
			if (e->tcp[d].flags & DSE_CT_TCPF_PICKUP)
				e->tcp[d].wscale = (uint8_t)RTE_MIN(wscale[d], 14);
		wheel_reschedule(ct, (uint32_t)pos, now);
		return pos;
	}
	memset(e, 0, sizeof(*e));
	ct_new_id(ct, e);
	e->mark = mark;
	e->pclass = pc;
	e->state = state;
	e->flags = (uint8_t)((t->swapped ? DSE_CT_EF_SWAPPED : 0) |
			     (eflags & DSE_CT_EF_SEEN_REPLY) | DSE_CT_EF_SYNCED);
	e->last_seen = now;
	e->created = now;
	for (unsigned d = 0; d < 2; d++) {
		e->tcp[d].port = DSE_CT_PORT_UNKNOWN;
		e->tcp[d].wscale = wscale ? (uint8_t)RTE_MIN(wscale[d], 14) : 0;
		if (pc == DSE_CT_PC_TCP)
			e->tcp[d].flags = DSE_CT_TCPF_PICKUP;
	}
	ct_insert(ct, (uint32_t)pos, now);
	return pos;
}

unsigned dse_ct_sync_refresh(struct dse_ct *ct, uint64_t now)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < ct->capacity; i++) {
		struct dse_ct_entry *e = &ct->entries[i];

		if (e->id == 0 || !(e->flags & DSE_CT_EF_SYNCED))
			continue;
		e->last_seen = now;
		n++;
	}
	return n;
}

void dse_ct_set_mark(struct dse_ct *ct, uint32_t index, uint32_t mark)
{
	ct->entries[index].mark = mark;
}

int dse_ct_delete(struct dse_ct *ct, uint32_t index)
{
	if (index >= ct->capacity || ct->entries[index].id == 0)
		return -ENOENT;
	ct_remove(ct, index, true, DSE_CT_CLOSE_DELETED);
	ct->stats.removed++;
	return 0;
}

/*
 * Runs one wheel slot at time 'now': expires its due entries and moves the
 * others to the slot of their real expiry.  Stops when '*n' reaches 'max',
 * putting the entries not looked at back; returns false then.
 */
static bool wheel_run_slot(struct dse_ct *ct, struct dse_ct_slot *s, uint64_t now, unsigned max,
			   unsigned *n)
{
	uint32_t i = s->head, last = s->tail;

	/* Detached, so entries put back into this same slot wait a turn. */
	s->head = CT_NIL;
	s->tail = CT_NIL;
	while (i != CT_NIL) {
		struct dse_ct_entry *e = &ct->entries[i];
		uint32_t next = e->timer_next;

		/* The list is a chain of random entries: fetch the next one
		 * while this one is removed from the hash. */
		if (next != CT_NIL)
			__builtin_prefetch(&ct->entries[next], 1);
		if (*n >= max) {
			/* Put the rest (i .. last) back in front. */
			e->timer_prev = CT_NIL;
			if (s->head == CT_NIL) {
				s->tail = last;
			} else {
				ct->entries[last].timer_next = s->head;
				ct->entries[s->head].timer_prev = last;
			}
			s->head = i;
			return false;
		}
		if (ct_expired(ct, e, now)) {
			ct_remove(ct, i, false, DSE_CT_CLOSE_EXPIRED);
			ct->stats.expired++;
			(*n)++;
		} else {
			wheel_add(ct, i, due_tick(ct, e->last_seen + ct_timeout(ct, e)));
		}
		i = next;
	}
	return true;
}

unsigned dse_ct_expire(struct dse_ct *ct, uint64_t now, unsigned max)
{
	uint64_t target = now >> CT_TICK_SHIFT;
	unsigned n = 0;

	if (!ct->wheel_started)
		return 0;
	/* After a long pause, one turn visits every slot. */
	if (target > ct->wheel_tick + CT_SLOTS)
		ct->wheel_tick = target - CT_SLOTS;
	while (ct->wheel_tick < target) {
		if (!wheel_run_slot(ct, slot_of(ct, ct->wheel_tick + 1), now, max, &n))
			break;
		ct->wheel_tick++;
	}
	return n;
}

/* ---- listing and flushing ---------------------------------------------- */

static bool prefix_match(const uint8_t *a, const uint8_t *p, unsigned plen)
{
	unsigned bytes, rem;

	if (plen > 128)
		plen = 128;
	bytes = plen / 8;
	rem = plen % 8;
	if (memcmp(a, p, bytes) != 0)
		return false;
	if (rem) {
		uint8_t m = (uint8_t)(0xff << (8 - rem));

		return (a[bytes] & m) == (p[bytes] & m);
	}
	return true;
}

bool dse_ct_match(const struct dse_ct *ct, uint32_t index, const struct dse_ct_filter *f)
{
	const struct dse_ct_entry *e;
	const struct dse_ct_key *k;
	void *kp;

	if (index >= ct->capacity || ct->entries[index].id == 0)
		return false;
	if (f == NULL || f->match == 0)
		return true;
	e = &ct->entries[index];
	if ((f->match & DSE_CT_MATCH_MARK) && e->mark != f->mark)
		return false;
	if ((f->match & DSE_CT_MATCH_STATE) && e->state != f->state)
		return false;
	if (!(f->match & (DSE_CT_MATCH_ZONE | DSE_CT_MATCH_FAMILY | DSE_CT_MATCH_PROTO |
			  DSE_CT_MATCH_ADDR | DSE_CT_MATCH_PORT)))
		return true;
	if (rte_hash_get_key_with_position(ct->hash, (int32_t)index, &kp) != 0)
		return false;
	k = kp;
	if ((f->match & DSE_CT_MATCH_ZONE) && k->zone != f->zone)
		return false;
	if ((f->match & DSE_CT_MATCH_FAMILY) && k->family != f->family)
		return false;
	if ((f->match & DSE_CT_MATCH_PROTO) && k->proto != f->proto)
		return false;
	if ((f->match & DSE_CT_MATCH_ADDR) && !prefix_match(k->addr[0], f->addr, f->plen) &&
	    !prefix_match(k->addr[1], f->addr, f->plen))
		return false;
	if (f->match & DSE_CT_MATCH_PORT) {
		/* ICMP keeps the echo id in port[0] and a type in port[1]. */
		bool icmp = pclass_of(k->proto) == DSE_CT_PC_ICMP;

		if (k->port[0] != f->port && (icmp || k->port[1] != f->port))
			return false;
	}
	return true;
}

unsigned dse_ct_flush(struct dse_ct *ct, const struct dse_ct_filter *f)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < ct->capacity && ct->n_entries > 0; i++) {
		if (!dse_ct_match(ct, i, f))
			continue;
		ct_remove(ct, i, true, DSE_CT_CLOSE_DELETED);
		n++;
	}
	ct->stats.removed += n;
	return n;
}

int dse_ct_next(const struct dse_ct *ct, uint32_t *pos, const struct dse_ct_filter *f)
{
	for (uint32_t i = *pos; i < ct->capacity; i++) {
		if (dse_ct_match(ct, i, f)) {
			*pos = i + 1;
			return (int)i;
		}
	}
	*pos = ct->capacity;
	return -ENOENT;
}

int dse_ct_get(const struct dse_ct *ct, uint32_t index, uint64_t now, struct dse_ct_conn *ret)
{
	const struct dse_ct_entry *e;
	const struct dse_ct_key *k;
	uint64_t due;
	void *kp;
	unsigned o;

	if (index >= ct->capacity || ct->entries[index].id == 0)
		return -ENOENT;
	if (rte_hash_get_key_with_position(ct->hash, (int32_t)index, &kp) != 0)
		return -ENOENT;
	e = &ct->entries[index];
	k = kp;
	o = (e->flags & DSE_CT_EF_SWAPPED) ? 1 : 0;
	memset(ret, 0, sizeof(*ret));
	ret->index = index;
	ret->id = e->id;
	ret->zone = k->zone;
	ret->family = k->family;
	ret->proto = k->proto;
	memcpy(ret->src, k->addr[o], 16);
	memcpy(ret->dst, k->addr[o ^ 1], 16);
	ret->sport = k->port[o];
	ret->dport = k->port[o ^ 1];
	ret->state = e->state;
	ret->flags = e->flags;
	ret->mark = e->mark;
	memcpy(ret->packets, e->packets, sizeof(ret->packets));
	memcpy(ret->bytes, e->bytes, sizeof(ret->bytes));
	ret->age_ns = now > e->created ? now - e->created : 0;
	ret->idle_ns = now > e->last_seen ? now - e->last_seen : 0;
	due = e->last_seen + ct_timeout(ct, e);
	ret->expires_ns = due > now ? due - now : 0;
	return 0;
}

uint16_t dse_ct_zone(const struct dse_ct *ct, uint32_t index)
{
	void *kp;

	if (rte_hash_get_key_with_position(ct->hash, (int32_t)index, &kp) != 0)
		return 0;
	return ((const struct dse_ct_key *)kp)->zone;
}

/* ---- names ------------------------------------------------------------- */

/* clang-format off */
static const char *const state_names[DSE_CT_S__MAX] = {
#define DSE_CT_STATE_STR(n, s) s,
	DSE_CT_STATES(DSE_CT_STATE_STR)
#undef DSE_CT_STATE_STR
};

static const char *const invalid_strs[DSE_CT_INV__MAX] = {
	"valid",
#define DSE_CT_INV_STR(n, s) s,
	DSE_CT_INVALID_REASONS(DSE_CT_INV_STR)
#undef DSE_CT_INV_STR
};

static const char *const invalid_upper[DSE_CT_INV__MAX] = {
	"NONE",
#define DSE_CT_INV_NAME(n, s) #n,
	DSE_CT_INVALID_REASONS(DSE_CT_INV_NAME)
#undef DSE_CT_INV_NAME
};
/* clang-format on */

static char invalid_names[DSE_CT_INV__MAX][24];
static pthread_once_t invalid_names_once = PTHREAD_ONCE_INIT;

static void invalid_names_init(void)
{
	for (unsigned i = 0; i < DSE_CT_INV__MAX; i++) {
		size_t j;

		for (j = 0; invalid_upper[i][j] && j + 1 < sizeof(invalid_names[i]); j++)
			invalid_names[i][j] = (char)tolower((unsigned char)invalid_upper[i][j]);
		invalid_names[i][j] = '\0';
	}
}

static const char *const rel_names[DSE_CT_REL__MAX] = {
#define DSE_CT_REL_STR(n, s) s,
	DSE_CT_REL_KINDS(DSE_CT_REL_STR)
#undef DSE_CT_REL_STR
};

const char *dse_ct_rel_name(unsigned kind)
{
	return kind < DSE_CT_REL__MAX ? rel_names[kind] : "unknown";
}

const char *dse_ct_state_name(unsigned state)
{
	return state < DSE_CT_S__MAX ? state_names[state] : "unknown";
}

const char *dse_ct_invalid_name(unsigned reason)
{
	if (reason >= DSE_CT_INV__MAX)
		return "unknown";
	pthread_once(&invalid_names_once, invalid_names_init);
	return invalid_names[reason];
}

const char *dse_ct_invalid_str(unsigned reason)
{
	return reason < DSE_CT_INV__MAX ? invalid_strs[reason] : "unknown";
}
