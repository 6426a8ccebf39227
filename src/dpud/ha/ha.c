/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The HA module: this DPU's role in an active/standby pair and the state
 * sync with its peer (docs/ha.md, api/dpud/ha.md).
 *
 * The role is the host's to set (ha.role.set).  A standby holds the
 * datapath (dp.hold: receive and drop, age nothing) and applies what the
 * active streams; an active forwards and streams.  Everything here runs on
 * the control thread: the sender subscribes to the datapath's event
 * records (core/events.h), keeps a mirror of the connections and learned
 * MACs they describe (the source of every bulk sync, so a bulk never
 * walks the workers' tables), and sends records in datagrams of
 * sync_proto.h over a UDP socket on the sync link; the receiver decodes
 * them in order and puts them into the tables with one dp_call() per turn
 * of the control loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_hash.h>

#include "clock.h"
#include "conntrack.h"
#include "dp.h"
#include "events.h"
#include "fdb.h"
#include "ha.h"
#include "log.h"
#include "module.h"
#include "rpc.h"
#include "sync_proto.h"

#define HA_PORT_DEFAULT	 7310
#define HA_RTO_NS	 30000000ull   /* a datagram not acknowledged in 30 ms is sent again */
#define HA_IDLE_NS	 100000000ull  /* keepalive / hello when nothing else went for 100 ms */
#define HA_OUTAGE_NS	 1000000000ull /* the peer silent this long: the link is down */
#define HA_PENDING_MAX	 (1u << 18)    /* records queued beyond the window before a resync */
#define HA_RX_BUDGET	 1024	       /* datagrams read per turn */
#define HA_APPLY_MAX	 (HA_RX_BUDGET * DSE_SYNC_RECS_MAX + HA_RX_BUDGET)
#define HA_RESEND_BUDGET 128

enum ha_role { HA_SINGLE = 0, HA_ACTIVE = 1, HA_STANDBY = 2 };

static const char *const role_names[] = {"single", "active", "standby"};

/* ---- a map of 64-bit keys to records (the sender's mirror) ------------- */

struct rmap {
	uint64_t *keys;
	struct dse_sync_rec *vals;
	uint8_t *st; /* 0 free, 1 used, 2 deleted */
	uint32_t cap, n, dead;
	uint32_t gen; /* bumped by each rehash: a bulk's cursor starts over */
};

static uint32_t rmap_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (uint32_t)k;
}

static void rmap_free(struct rmap *m)
{
	free(m->keys);
	free(m->vals);
	free(m->st);
	memset(m, 0, sizeof(*m));
}

static int rmap_put(struct rmap *m, uint64_t k, const struct dse_sync_rec *v);

static int rmap_grow(struct rmap *m, uint32_t cap)
{
	struct rmap old = *m;

	m->keys = calloc(cap, sizeof(*m->keys));
	m->vals = calloc(cap, sizeof(*m->vals));
	m->st = calloc(cap, 1);
	if (!m->keys || !m->vals || !m->st) {
		free(m->keys);
		free(m->vals);
		free(m->st);
		*m = old;
		return -ENOMEM;
	}
	m->cap = cap;
	m->n = m->dead = 0;
	m->gen = old.gen + 1;
	for (uint32_t i = 0; i < old.cap; i++)
		if (old.st[i] == 1)
			rmap_put(m, old.keys[i], &old.vals[i]);
	free(old.keys);
	free(old.vals);
	free(old.st);
	return 0;
}

static int64_t rmap_find(const struct rmap *m, uint64_t k)
{
	if (m->cap == 0)
		return -1;
	for (uint32_t i = rmap_hash(k) & (m->cap - 1), n = 0; n < m->cap;
	     i = (i + 1) & (m->cap - 1), n++) {
		if (m->st[i] == 0)
			return -1;
		if (m->st[i] == 1 && m->keys[i] == k)
			return i;
	}
	return -1;
}

static int rmap_put(struct rmap *m, uint64_t k, const struct dse_sync_rec *v)
{
	int64_t at = rmap_find(m, k);
	uint32_t i;

	if (at >= 0) {
		m->vals[at] = *v;
		return 0;
	}
	if ((uint64_t)(m->n + m->dead + 1) * 10 > (uint64_t)m->cap * 7 &&
	    rmap_grow(m, m->cap == 0 ? 1024 : (m->n * 10 > m->cap * 3 ? m->cap * 2 : m->cap)) < 0)
		return -ENOMEM;
	for (i = rmap_hash(k) & (m->cap - 1); m->st[i] == 1; i = (i + 1) & (m->cap - 1))
		;
	if (m->st[i] == 2)
		m->dead--;
	m->st[i] = 1;
	m->keys[i] = k;
	m->vals[i] = *v;
	m->n++;
	return 0;
}

static void rmap_del(struct rmap *m, uint64_t k)
{
	int64_t at = rmap_find(m, k);

	if (at < 0)
		return;
	m->st[at] = 2;
	m->n--;
	m->dead++;
}

static void rmap_clear(struct rmap *m)
{
	if (m->cap)
		memset(m->st, 0, m->cap);
	m->n = m->dead = 0;
	m->gen++;
}

/* ---- state ------------------------------------------------------------- */

static struct {
	enum ha_role role;
	uint64_t epoch;
	uint32_t stall_ms;
	bool faults_allowed;
	/* the sync link: off while fd < 0 */
	int fd;
	uint32_t local, peer; /* network order */
	uint16_t port;
	uint64_t last_rx_ns; /* anything valid heard from the peer */
	uint64_t last_tx_ns; /* anything sent */
	uint64_t bad;	     /* datagrams dropped as malformed, of another epoch or source */
	uint64_t received;
	uint64_t sent;
	/* the sender */
	struct dse_sync_tx tx;
	bool tx_on;
	int sub;			    /* event subscription, or -1 */
	uint32_t snap_seq[DSE_MAX_WORKERS]; /* a worker's records before these predate the mirror */
	struct rmap conns, fdb;		    /* the mirror */
	uint32_t peer_session;		    /* the receiver's, as last heard (0: none) */
	bool bulk_wanted;		    /* start a bulk sync once the receiver is heard */
	bool bulk_running;
	uint32_t bulk_gen[2], bulk_pos[2];
	uint64_t bulk_start_ns, bulk_recs;
	struct dse_sync_rec *pending; /* records waiting for room in the window (a ring) */
	uint32_t pend_head, pend_n;
	bool down; /* the receiver was silent too long: resync once heard */
	/* the receiver */
	struct dse_sync_rx rx;
	bool rx_on;
	bool bulk_done;		    /* ... the bulk sync part of it */
	uint32_t rx_next_announced; /* the sender's next seq, from its keepalives */
	uint64_t first_missing_ns;  /* when the receiver first lagged, or 0 */
	uint64_t apply_failed;
	uint64_t synced_conns, synced_fdb; /* records put */
	uint64_t resync_at_ns; /* records could not be put: ask for a bulk sync from then */
	uint64_t apply_failed_seen;
	/* both */
	uint64_t bulks;
	uint64_t last_bulk_recs, last_bulk_ms;
	bool has_last_bulk;
	/* faults (--ha-faults) */
	unsigned loss, reorder;
	bool cut;
	uint8_t held_buf[DSE_SYNC_DGRAM_MAX];
	uint16_t held_len;
} ha = {.fd = -1, .sub = -1};

void dse_ha_allow_faults(void)
{
	ha.faults_allowed = true;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t random_session(void)
{
	uint32_t s = 0;

	while (s == 0)
		if (getrandom(&s, sizeof(s), 0) != sizeof(s))
			s = (uint32_t)mono_ns() | 1;
	return s;
}

static unsigned random_permille(void)
{
	static uint64_t x;

	if (x == 0)
		x = mono_ns() | 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (unsigned)(x % 1000);
}

/* ---- segments and ports, as the two DPUs both name them ------------------ */

static uint32_t seg_key(uint16_t seg)
{
	const struct dse_segment *s = &dp.segments[seg];

	return s->vlan ? s->vlan : (DSE_SYNC_SEG_VNI | s->vni);
}

static uint16_t seg_of_key(uint32_t key)
{
	uint16_t seg;

	if (key & DSE_SYNC_SEG_VNI)
		return dp_vni_segment(key & ~DSE_SYNC_SEG_VNI);
	if (key == 0 || key > 4094)
		return DSE_NO_SEGMENT;
	seg = dp.vlan_seg[key];
	return seg != DSE_NO_SEGMENT && dp.segments[seg].used && dp.segments[seg].vni == 0
		   ? seg
		   : DSE_NO_SEGMENT;
}

/* An uplink's rank among this DPU's uplinks, by name: the first uplink of each DPU is rank 0. */
static unsigned uplink_rank(uint16_t port)
{
	unsigned rank = 0;

	for (uint16_t p = 0; p < DSE_MAX_PORTS; p++)
		if (dp.ports[p].used && dp.ports[p].uplink && !dp.ports[p].tunnel &&
		    strcmp(dp.ports[p].name, dp.ports[port].name) < 0)
			rank++;
	return rank;
}

static uint16_t uplink_of_rank(unsigned rank)
{
	for (uint16_t p = 0; p < DSE_MAX_PORTS; p++)
		if (dp.ports[p].used && dp.ports[p].uplink && !dp.ports[p].tunnel &&
		    uplink_rank(p) == rank)
			return p;
	return DSE_NO_PORT;
}

/* The port of a synced FDB record: its name here, else the uplink of its rank. */
static uint16_t port_of_rec(const struct dse_sync_rec *r)
{
	uint16_t p = dp_port_find(r->port);

	if (p != DSE_NO_PORT)
		return p;
	for (uint16_t v = DSE_MAX_PORTS; v < DSE_MAX_VPORTS; v++)
		if (dp.ports[v].used && strcmp(dp.ports[v].name, r->port) == 0)
			return v;
	return r->uplink ? uplink_of_rank(r->uplink - 1u) : DSE_NO_PORT;
}

static void fdb_rec(struct dse_sync_rec *r, uint16_t seg, const uint8_t mac[6], uint16_t port)
{
	memset(r, 0, sizeof(*r));
	r->type = DSE_SYNC_REC_FDB;
	r->seg = seg_key(seg);
	memcpy(r->mac, mac, 6);
	if (port < DSE_MAX_VPORTS && dp.ports[port].used) {
		snprintf(r->port, sizeof(r->port), "%s", dp.ports[port].name);
		if (port < DSE_MAX_PORTS && dp.ports[port].uplink && !dp.ports[port].tunnel)
			r->uplink = (uint8_t)(1 + uplink_rank(port));
	}
}

static uint64_t fdb_mkey(uint16_t seg, const uint8_t mac[6])
{
	uint64_t k = (uint64_t)seg << 48;

	for (unsigned i = 0; i < 6; i++)
		k |= (uint64_t)mac[i] << (40 - 8 * i);
	return k;
}

static uint64_t conn_mkey(unsigned worker, uint32_t id)
{
	return (uint64_t)worker << 32 | id;
}

/* ---- the socket and the fault hook -------------------------------------- */

static void sock_close(void)
{
	if (ha.fd >= 0)
		close(ha.fd);
	ha.fd = -1;
}

static int sock_open(char *err, size_t len)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(ha.port)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), buf = 4 << 20;

	if (fd < 0) {
		snprintf(err, len, "socket: %s", strerror(errno));
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	a.sin_addr.s_addr = ha.local;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &ha.local, ip, sizeof(ip));
		snprintf(err, len, "cannot bind the sync socket to %s:%u: %s", ip, ha.port,
			 strerror(e));
		close(fd);
		return -e;
	}
	a.sin_addr.s_addr = ha.peer;
	/* Connected: the kernel drops what comes from any other address. */
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;

		snprintf(err, len, "cannot connect the sync socket: %s", strerror(e));
		close(fd);
		return -e;
	}
	ha.fd = fd;
	return 0;
}

static void raw_send(const uint8_t *buf, size_t len)
{
	if (send(ha.fd, buf, len, MSG_DONTWAIT) >= 0)
		ha.sent++;
}

/* Sends a datagram through the fault hook. */
static void dgram_send(const uint8_t *buf, size_t len, uint64_t now)
{
	ha.last_tx_ns = now;
	if (ha.fd < 0 || ha.cut || (ha.loss && random_permille() < ha.loss))
		return;
	if (ha.reorder && ha.held_len == 0 && random_permille() < ha.reorder) {
		memcpy(ha.held_buf, buf, len);
		ha.held_len = (uint16_t)len;
		return;
	}
	raw_send(buf, len);
	if (ha.held_len) {
		raw_send(ha.held_buf, ha.held_len);
		ha.held_len = 0;
	}
}

static void ctl_send(uint8_t type, uint64_t now)
{
	struct dse_sync_hdr h = {0};
	uint8_t buf[DSE_SYNC_HDR_LEN];

	if (type == DSE_SYNC_KEEPALIVE) {
		h.type = type;
		h.seq = ha.tx.next_seq;
		h.epoch = ha.epoch;
		h.session = ha.tx.session;
	} else {
		dse_sync_rx_ack(&ha.rx, &h);
		h.type = type;
	}
	dse_sync_hdr_encode(buf, &h);
	dgram_send(buf, sizeof(buf), now);
}

/* ---- the sender ---------------------------------------------------------- */

static void pending_clear(void)
{
	ha.pend_head = ha.pend_n = 0;
}

static void pending_push(const struct dse_sync_rec *r)
{
	if (ha.pend_n == HA_PENDING_MAX) {
		/* More change than the link takes: start over with a bulk. */
		DSE_LOG_WARN("ha", "sync: %u records wait for the link; resyncing with a bulk",
			     HA_PENDING_MAX);
		pending_clear();
		ha.bulk_wanted = true;
		ha.bulk_running = false;
		return;
	}
	ha.pending[(ha.pend_head + ha.pend_n) % HA_PENDING_MAX] = *r;
	ha.pend_n++;
}

static void conn_rec_from_event(struct dse_sync_rec *r, const struct dse_event *ev)
{
	memset(r, 0, sizeof(*r));
	r->type = DSE_SYNC_REC_CONN;
	r->seg = seg_key(ev->u.conn.zone);
	r->proto = ev->u.conn.proto;
	r->family = ev->u.conn.family;
	r->mark = ev->u.conn.rule;
	r->sport = ev->u.conn.sport;
	r->dport = ev->u.conn.dport;
	memcpy(r->src, ev->u.conn.src, 16);
	memcpy(r->dst, ev->u.conn.dst, 16);
	r->state = ev->u.conn.proto == IPPROTO_TCP ? DSE_CT_S_SYN_SENT : DSE_CT_S_UNREPLIED;
}

/* The event subscriber of the sender: keeps the mirror and queues records. */
static void sender_event(void *arg, const struct dse_event *ev)
{
	struct dse_sync_rec r;
	int64_t at;

	RTE_SET_USED(arg);
	if (ev->worker < DSE_MAX_WORKERS && dse_sync_before(ev->seq, ha.snap_seq[ev->worker]))
		return; /* made before the snapshot, which already holds its effect */
	switch (ev->kind) {
	case DSE_EV_CONN_CREATED:
		conn_rec_from_event(&r, ev);
		rmap_put(&ha.conns, conn_mkey(ev->worker, ev->u.conn.id), &r);
		break;
	case DSE_EV_CONN_STATE:
		at = rmap_find(&ha.conns, conn_mkey(ev->worker, ev->u.conn_state.id));
		if (at < 0)
			return;
		ha.conns.vals[at].state = ev->u.conn_state.state;
		ha.conns.vals[at].wscale[0] = ev->u.conn_state.wscale[0];
		ha.conns.vals[at].wscale[1] = ev->u.conn_state.wscale[1];
		if (ev->u.conn_state.state == DSE_CT_S_REPLIED ||
		    (ev->u.conn_state.state >= DSE_CT_S_SYN_RECV &&
		     ev->u.conn_state.state <= DSE_CT_S_CLOSE))
			ha.conns.vals[at].cflags |= DSE_CT_EF_SEEN_REPLY;
		r = ha.conns.vals[at];
		break;
	case DSE_EV_CONN_CLOSED:
		at = rmap_find(&ha.conns, conn_mkey(ev->worker, ev->u.conn_closed.id));
		if (at < 0)
			return;
		r = ha.conns.vals[at];
		r.type = DSE_SYNC_REC_CONN_DEL;
		rmap_del(&ha.conns, conn_mkey(ev->worker, ev->u.conn_closed.id));
		break;
	case DSE_EV_FDB_LEARNED:
	case DSE_EV_FDB_MOVED:
		fdb_rec(&r, ev->u.fdb.segment, ev->u.fdb.mac, ev->u.fdb.port);
		rmap_put(&ha.fdb, fdb_mkey(ev->u.fdb.segment, ev->u.fdb.mac), &r);
		break;
	case DSE_EV_FDB_AGED:
	case DSE_EV_FDB_DELETED:
		if (ev->u.fdb.is_static)
			return;
		fdb_rec(&r, ev->u.fdb.segment, ev->u.fdb.mac, ev->u.fdb.port);
		r.type = DSE_SYNC_REC_FDB_DEL;
		rmap_del(&ha.fdb, fdb_mkey(ev->u.fdb.segment, ev->u.fdb.mac));
		break;
	default:
		return;
	}
	if (!ha.bulk_wanted)
		pending_push(&r);
}

/* dp_call(): the mirror from the tables as they are, and each worker's next record number. */
static int snapshot_fn(void *arg)
{
	uint64_t now = dse_clock_ns();
	uint32_t cap = (uint32_t)rte_hash_max_key_id(dp.fdb->hash);

	RTE_SET_USED(arg);
	rmap_clear(&ha.conns);
	rmap_clear(&ha.fdb);
	for (unsigned w = 0; w < dp.n_workers; w++) {
		const struct dse_ct *ct = dp.workers[w].ct;
		uint32_t pos = 0;
		int idx;

		ha.snap_seq[w] = dp.workers[w].events.seq;
		while (ct && (idx = dse_ct_next(ct, &pos, NULL)) >= 0) {
			struct dse_ct_conn c;
			struct dse_sync_rec r = {.type = DSE_SYNC_REC_CONN};

			if (dse_ct_get(ct, (uint32_t)idx, now, &c) < 0)
				continue;
			r.seg = seg_key(c.zone);
			r.state = c.state;
			r.proto = c.proto;
			r.family = c.family;
			r.mark = c.mark;
			r.sport = c.sport;
			r.dport = c.dport;
			r.cflags = c.flags & DSE_CT_EF_SEEN_REPLY;
			r.wscale[0] = ct->entries[idx].tcp[0].wscale;
			r.wscale[1] = ct->entries[idx].tcp[1].wscale;
			memcpy(r.src, c.src, 16);
			memcpy(r.dst, c.dst, 16);
			rmap_put(&ha.conns, conn_mkey(w, c.id), &r);
		}
	}
	for (uint32_t i = 0; i <= cap; i++) {
		const struct dse_fdb_entry *e = &dp.fdb->entries[i];
		struct dse_sync_rec r;

		if (!dse_fdb_entry_used(e) || dse_fdb_entry_static(e))
			continue;
		fdb_rec(&r, e->segment, e->mac, dse_fdb_entry_port(e));
		rmap_put(&ha.fdb, fdb_mkey(e->segment, e->mac), &r);
	}
	return 0;
}

static void sender_stop(void)
{
	if (ha.sub >= 0)
		dse_events_unsubscribe(ha.sub);
	ha.sub = -1;
	if (ha.tx_on)
		dse_sync_tx_fini(&ha.tx);
	ha.tx_on = false;
	rmap_free(&ha.conns);
	rmap_free(&ha.fdb);
	free(ha.pending);
	ha.pending = NULL;
	pending_clear();
	ha.bulk_running = ha.bulk_wanted = false;
}

static int sender_start(void)
{
	const struct dse_event_sub s = {
	    .mask = DSE_EV_BIT(DSE_EV_CONN_CREATED) | DSE_EV_BIT(DSE_EV_CONN_STATE) |
		    DSE_EV_BIT(DSE_EV_CONN_CLOSED) | DSE_EV_BIT(DSE_EV_FDB_LEARNED) |
		    DSE_EV_BIT(DSE_EV_FDB_MOVED) | DSE_EV_BIT(DSE_EV_FDB_AGED) |
		    DSE_EV_BIT(DSE_EV_FDB_DELETED),
	    .fn = sender_event,
	};
	int r;

	ha.pending = calloc(HA_PENDING_MAX, sizeof(*ha.pending));
	if (ha.pending == NULL || dse_sync_tx_init(&ha.tx, random_session(), ha.epoch) < 0) {
		free(ha.pending);
		ha.pending = NULL;
		return -ENOMEM;
	}
	ha.tx_on = true;
	/* Subscribe first, then snapshot: no change falls between the two. */
	r = dse_events_subscribe(&s);
	if (r < 0) {
		sender_stop();
		return r;
	}
	ha.sub = r;
	dp_call(snapshot_fn, NULL);
	ha.peer_session = 0;
	ha.bulk_wanted = true;
	ha.down = false;
	return 0;
}

static void sender_new_session(uint64_t now)
{
	dse_sync_tx_reset(&ha.tx, random_session(), ha.epoch);
	pending_clear();
	ha.bulk_wanted = false;
	ha.bulk_running = true;
	ha.bulk_gen[0] = ha.conns.gen;
	ha.bulk_gen[1] = ha.fdb.gen;
	ha.bulk_pos[0] = ha.bulk_pos[1] = 0;
	ha.bulk_start_ns = now;
	ha.bulk_recs = 0;
	ha.down = false;
}

/* Up to 'max' records of the bulk's next part into 'out'; sets '*last' at its end. */
static unsigned bulk_take(struct dse_sync_rec *out, unsigned max, bool *last)
{
	struct rmap *maps[2] = {&ha.conns, &ha.fdb};
	unsigned n = 0;

	*last = false;
	for (unsigned k = 0; k < 2 && n < max; k++) {
		struct rmap *m = maps[k];

		if (ha.bulk_gen[k] != m->gen) { /* rehashed: start this part over */
			ha.bulk_gen[k] = m->gen;
			ha.bulk_pos[k] = 0;
		}
		while (ha.bulk_pos[k] < m->cap && n < max) {
			uint32_t i = ha.bulk_pos[k]++;

			if (m->st[i] == 1)
				out[n++] = m->vals[i];
		}
	}
	*last = ha.bulk_pos[0] >= ha.conns.cap && ha.bulk_pos[1] >= ha.fdb.cap;
	return n;
}

static bool sender_pump(uint64_t now)
{
	struct dse_sync_rec recs[DSE_SYNC_RECS_MAX];
	uint32_t pos = 0;
	const struct dse_sync_tx_slot *s;
	unsigned sent = 0;

	while (dse_sync_tx_inflight(&ha.tx) < DSE_SYNC_TX_SLOTS && sent < 256) {
		uint16_t flags = 0;
		unsigned n;

		if (ha.bulk_running) {
			bool last;

			if (ha.bulk_recs == 0 && ha.tx.next_seq == 1)
				flags |= DSE_SYNC_F_BULK_BEGIN;
			n = bulk_take(recs, DSE_SYNC_RECS_MAX, &last);
			if (last) {
				flags |= DSE_SYNC_F_BULK_END;
				ha.bulk_running = false;
				ha.bulks++;
				ha.has_last_bulk = true;
				ha.last_bulk_recs = ha.bulk_recs + n;
				ha.last_bulk_ms = (now - ha.bulk_start_ns) / 1000000ull;
			}
			ha.bulk_recs += n;
		} else {
			for (n = 0; n < DSE_SYNC_RECS_MAX && ha.pend_n; n++) {
				recs[n] = ha.pending[ha.pend_head];
				ha.pend_head = (ha.pend_head + 1) % HA_PENDING_MAX;
				ha.pend_n--;
			}
			if (n == 0)
				break;
		}
		s = dse_sync_tx_data(&ha.tx, recs, n, flags, now);
		if (s == NULL)
			break;
		dgram_send(s->buf, s->len, now);
		sent++;
	}
	for (unsigned i = 0; i < HA_RESEND_BUDGET; i++) {
		s = dse_sync_tx_due(&ha.tx, now, HA_RTO_NS, &pos);
		if (s == NULL)
			break;
		dgram_send(s->buf, s->len, now);
	}
	if (now - ha.last_tx_ns >= HA_IDLE_NS)
		ctl_send(DSE_SYNC_KEEPALIVE, now);
	return sent == 256 || (ha.bulk_running && dse_sync_tx_inflight(&ha.tx) < DSE_SYNC_TX_SLOTS);
}

static void sender_input(const struct dse_sync_hdr *h, uint64_t now)
{
	if (h->type != DSE_SYNC_ACK && h->type != DSE_SYNC_HELLO)
		return;
	ha.last_rx_ns = now;
	if (h->session != ha.peer_session || ha.down) {
		/* A receiver we have not synced (new, restarted, or back from an outage). */
		ha.peer_session = h->session;
		sender_new_session(now);
		return;
	}
	if (h->type == DSE_SYNC_ACK)
		dse_sync_tx_ack(&ha.tx, h);
}

/* ---- the receiver -------------------------------------------------------- */

/* What one turn applies, in order (the tables change in one dp_call()). */
static struct {
	struct dse_sync_rec *recs; /* type 0: forget everything synced (a bulk begins) */
	unsigned n;
	bool bulk_end;
	uint64_t put_conn, put_fdb, failed;
} apply;

static void rx_deliver(void *arg, const struct dse_sync_hdr *h, const uint8_t *recs)
{
	RTE_SET_USED(arg);
	if (h->flags & DSE_SYNC_F_BULK_BEGIN) {
		memset(&apply.recs[apply.n++], 0, sizeof(apply.recs[0]));
		ha.bulk_done = false;
	}
	for (unsigned i = 0; i < h->count && apply.n < HA_APPLY_MAX; i++)
		if (dse_sync_rec_decode(recs + i * DSE_SYNC_REC_LEN, &apply.recs[apply.n]) == 0)
			apply.n++;
		else
			ha.bad++;
	if (h->flags & DSE_SYNC_F_BULK_END)
		apply.bulk_end = true;
}

static int conn_tuple(const struct dse_sync_rec *r, struct dse_ct_tuple *t, struct dse_ct **ct)
{
	uint16_t seg = seg_of_key(r->seg);
	unsigned owner;

	if (seg == DSE_NO_SEGMENT ||
	    dse_ct_tuple_set(t, seg, r->family, r->proto, r->src, r->dst, r->sport, r->dport) < 0)
		return -ENOENT;
	owner = r->family == 4
		    ? dp_conn_owner(dp_addr_fold(r->src + 12, 4), dp_addr_fold(r->dst + 12, 4))
		    : dp_conn_owner(dp_addr_fold(r->src, 16), dp_addr_fold(r->dst, 16));
	*ct = dp.workers[owner].ct;
	return *ct ? 0 : -ENOENT;
}

/* dp_call(): puts the turn's records into the tables. */
static int apply_fn(void *arg)
{
	uint64_t now = dse_clock_ns();
	uint32_t now_s = (uint32_t)(now / 1000000000ull);

	RTE_SET_USED(arg);
	for (unsigned i = 0; i < apply.n; i++) {
		const struct dse_sync_rec *r = &apply.recs[i];
		struct dse_ct_tuple t;
		struct dse_ct *ct;
		uint8_t dir;
		uint16_t seg, port;
		uint32_t st;
		bool moved;
		int idx;

		switch (r->type) {
		case 0:
			for (unsigned w = 0; w < dp.n_workers; w++)
				if (dp.workers[w].ct)
					dse_ct_flush(dp.workers[w].ct, NULL);
			dse_fdb_flush(dp.fdb, DSE_FDB_ALL, DSE_FDB_ALL, false);
			ha.synced_conns = ha.synced_fdb = 0;
			break;
		case DSE_SYNC_REC_CONN:
			if (conn_tuple(r, &t, &ct) < 0 ||
			    dse_ct_sync_put(ct, &t, r->state, r->mark, r->cflags, r->wscale, now) <
				0)
				apply.failed++;
			else
				apply.put_conn++;
			break;
		case DSE_SYNC_REC_CONN_DEL:
			if (conn_tuple(r, &t, &ct) == 0 && (idx = dse_ct_lookup(ct, &t, &dir)) >= 0)
				dse_ct_delete(ct, (uint32_t)idx);
			break;
		case DSE_SYNC_REC_FDB:
			seg = seg_of_key(r->seg);
			port = port_of_rec(r);
			if (seg == DSE_NO_SEGMENT || port == DSE_NO_PORT ||
			    dse_fdb_learn(dp.fdb, seg, r->mac, port, now_s, &moved) < 0)
				apply.failed++;
			else
				apply.put_fdb++;
			break;
		case DSE_SYNC_REC_FDB_DEL:
			seg = seg_of_key(r->seg);
			if (seg != DSE_NO_SEGMENT && dse_fdb_get(dp.fdb, seg, r->mac, &st) >= 0 &&
			    !dse_fdb_state_static(st))
				dse_fdb_del(dp.fdb, seg, r->mac);
			break;
		default:
			break;
		}
	}
	return 0;
}

static void receiver_stop(void)
{
	if (ha.rx_on)
		dse_sync_rx_fini(&ha.rx);
	ha.rx_on = false;
	free(apply.recs);
	apply.recs = NULL;
	ha.bulk_done = false;
}

static int receiver_start(void)
{
	apply.recs = calloc(HA_APPLY_MAX, sizeof(*apply.recs));
	if (apply.recs == NULL || dse_sync_rx_init(&ha.rx, random_session(), ha.epoch) < 0) {
		free(apply.recs);
		apply.recs = NULL;
		return -ENOMEM;
	}
	ha.rx_on = true;
	ha.bulk_done = false;
	ha.first_missing_ns = 0;
	ha.resync_at_ns = 0;
	ha.apply_failed_seen = ha.apply_failed;
	return 0;
}

static void receiver_input(const struct dse_sync_hdr *h, const uint8_t *buf, size_t len,
			   uint64_t now, bool *acks)
{
	if (h->type == DSE_SYNC_KEEPALIVE) {
		if (h->epoch != ha.epoch)
			return;
		ha.last_rx_ns = now;
		if (h->session == ha.rx.peer_session)
			ha.rx_next_announced = h->seq;
		return;
	}
	if (h->type != DSE_SYNC_DATA || h->epoch != ha.epoch)
		return;
	ha.last_rx_ns = now;
	/* The apply batch has room for one turn's worth; the rest waits for a resend. */
	if (apply.n + DSE_SYNC_RECS_MAX + 1 > HA_APPLY_MAX)
		return;
	dse_sync_rx_data(&ha.rx, h, buf, len, rx_deliver, NULL);
	if (dse_sync_before(ha.rx_next_announced, h->seq + 1))
		ha.rx_next_announced = h->seq + 1;
	*acks = true;
}

static void receiver_turn(uint64_t now)
{
	if (apply.n) {
		dp_call(apply_fn, NULL);
		ha.synced_conns += apply.put_conn;
		ha.synced_fdb += apply.put_fdb;
		ha.apply_failed += apply.failed;
		apply.n = 0;
		apply.put_conn = apply.put_fdb = apply.failed = 0;
		/*
		 * A record this DPU could not put (its segment or port not made
		 * yet: the host configures a restarted standby after it told it
		 * its role; its table full): what it holds is not the active's.
		 * Not ready, and in a second a bulk sync again.
		 */
		if (ha.apply_failed != ha.apply_failed_seen) {
			ha.apply_failed_seen = ha.apply_failed;
			if (ha.resync_at_ns == 0)
				ha.resync_at_ns = now + HA_OUTAGE_NS;
			ha.bulk_done = false;
		}
	}
	if (apply.bulk_end) {
		apply.bulk_end = false;
		ha.bulk_done = ha.resync_at_ns == 0;
		ha.bulks++;
	}
	if (ha.resync_at_ns && now >= ha.resync_at_ns) {
		DSE_LOG_NOTICE("ha",
			       "sync: %llu records could not be put so far; asking the active "
			       "for a bulk sync",
			       (unsigned long long)ha.apply_failed);
		ha.resync_at_ns = 0;
		ha.bulk_done = false;
		dse_sync_rx_reset(&ha.rx, random_session(), ha.epoch);
	}
	if (ha.last_rx_ns != 0 && now - ha.last_rx_ns > HA_OUTAGE_NS && ha.bulk_done) {
		/*
		 * The active fell silent: what we hold may miss changes.  A new
		 * session of ours makes the active start over with a bulk once
		 * it hears us again.
		 */
		DSE_LOG_WARN("ha",
			     "sync: nothing from the active for %llu ms; not ready until "
			     "a bulk sync",
			     (unsigned long long)((now - ha.last_rx_ns) / 1000000ull));
		ha.bulk_done = false;
		dse_sync_rx_reset(&ha.rx, random_session(), ha.epoch);
	}
	if (dse_sync_before(ha.rx.next, ha.rx_next_announced)) {
		if (ha.first_missing_ns == 0)
			ha.first_missing_ns = now;
	} else {
		ha.first_missing_ns = 0;
	}
}

/* ---- the turn ------------------------------------------------------------ */

static bool ha_tick(void)
{
	uint8_t buf[DSE_SYNC_DGRAM_MAX + 1];
	uint64_t now;
	bool acks = false, busy = false;

	if (ha.fd < 0)
		return false;
	now = mono_ns();
	for (unsigned i = 0; i < HA_RX_BUDGET; i++) {
		struct dse_sync_hdr h;
		ssize_t len = recv(ha.fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (len < 0)
			break;
		if (ha.cut)
			continue;
		ha.received++;
		if (dse_sync_hdr_decode(buf, (size_t)len, &h) < 0 || h.epoch != ha.epoch) {
			ha.bad++;
			continue;
		}
		if (ha.tx_on)
			sender_input(&h, now);
		else if (ha.rx_on)
			receiver_input(&h, buf, (size_t)len, now, &acks);
		if (i == HA_RX_BUDGET - 1)
			busy = true;
	}
	if (ha.tx_on) {
		if (ha.last_rx_ns != 0 && now - ha.last_rx_ns > HA_OUTAGE_NS && !ha.down) {
			DSE_LOG_WARN("ha", "sync: the standby is silent; a bulk sync follows once "
					   "it is heard");
			ha.down = true;
			pending_clear();
			dse_sync_tx_reset(&ha.tx, random_session(), ha.epoch);
		}
		if (!ha.down && ha.peer_session != 0)
			busy |= sender_pump(now);
		else if (now - ha.last_tx_ns >= HA_IDLE_NS)
			ctl_send(DSE_SYNC_KEEPALIVE, now);
	} else if (ha.rx_on) {
		receiver_turn(now);
		if (acks)
			ctl_send(DSE_SYNC_ACK, now);
		else if (now - ha.last_tx_ns >= HA_IDLE_NS)
			ctl_send(DSE_SYNC_HELLO, now);
	}
	return busy;
}

static int ha_poll_fd(void)
{
	return ha.fd;
}

/* ---- roles --------------------------------------------------------------- */

static void sync_stop(void)
{
	sender_stop();
	receiver_stop();
	sock_close();
	ha.last_rx_ns = ha.last_tx_ns = 0;
	ha.held_len = 0;
}

/* dp_call(): a standby becomes active: what it holds was alive on the active a moment ago. */
static int promote_fn(void *arg)
{
	uint64_t now = dse_clock_ns();
	uint32_t now_s = (uint32_t)(now / 1000000000ull);
	uint32_t cap = (uint32_t)rte_hash_max_key_id(dp.fdb->hash);

	RTE_SET_USED(arg);
	for (unsigned w = 0; w < dp.n_workers; w++)
		if (dp.workers[w].ct)
			dse_ct_sync_refresh(dp.workers[w].ct, now);
	for (uint32_t i = 0; i <= cap; i++)
		if (dse_fdb_entry_used(&dp.fdb->entries[i]))
			dse_fdb_touch(dp.fdb, i, now_s);
	/* Peer TEPs were not asked while holding: at once now. */
	dp.tep.next_arp_ns = 0;
	atomic_store_explicit(&dp.hold, 0, memory_order_release);
	return 0;
}

/*
 * The addresses of a sync link on interface 'ifname': its IPv4 address, and
 * the other address of its /30 or /31.  Returns 0, or -ENOENT.
 */
static int iface_addrs(const char *ifname, uint32_t *local, uint32_t *peer)
{
	struct ifaddrs *ifa, *i;
	int r = -ENOENT;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		uint32_t a, mask;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_netmask ||
		    strcmp(i->ifa_name, ifname) != 0)
			continue;
		a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
		mask = ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
		if (mask == 0xfffffffeu) {
			*peer = htonl(a ^ 1);
		} else if (mask == 0xfffffffcu && (a & 3) != 0 && (a & 3) != 3) {
			*peer = htonl((a & ~3u) | (3 - (a & 3)));
		} else {
			continue;
		}
		*local = htonl(a);
		r = 0;
		break;
	}
	freeifaddrs(ifa);
	return r;
}

static int ha_role_set(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_ha_role_set *a = call->args;
	enum ha_role role = (enum ha_role)a->role;
	uint32_t local = a->has_local ? a->local : 0, peer = a->has_peer ? a->peer : 0;
	uint16_t port = a->has_port ? (uint16_t)a->port : HA_PORT_DEFAULT;
	bool same, was_holding = atomic_load(&dp.hold) != 0;
	char err[256];

	if (a->has_iface && role != HA_SINGLE) {
		uint32_t il = 0, ip = 0;

		if (iface_addrs(a->iface, &il, &ip) < 0)
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "interface '%s' has no IPv4 address in a /30 or /31: "
					     "no sync link there (give 'local' and 'peer')",
					     a->iface);
		if (!local)
			local = il;
		if (!peer)
			peer = ip;
	}
	if ((uint64_t)a->epoch < ha.epoch)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "epoch %lld is older than this DPU's %llu: a decision "
				     "overtaken by a later one",
				     a->epoch, (unsigned long long)ha.epoch);
	if ((local == 0) != (peer == 0) || (local != 0 && local == peer))
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "the sync link needs both 'local' and 'peer', two addresses");
	if (role == HA_SINGLE)
		local = peer = 0;
	same = role == ha.role && (uint64_t)a->epoch == ha.epoch && local == ha.local &&
	       peer == ha.peer && port == ha.port;
	ha.stall_ms = a->has_stall_ms ? (uint32_t)a->stall_ms : 0;
	atomic_store(&dp.stall_cycles, ha.stall_ms ? rte_get_tsc_hz() / 1000 * ha.stall_ms : 0);
	if (!same) {
		if (role == HA_STANDBY)
			atomic_store_explicit(&dp.hold, DP_HOLD_STANDBY, memory_order_release);
		sync_stop();
		ha.role = role;
		ha.epoch = (uint64_t)a->epoch;
		ha.local = local;
		ha.peer = peer;
		ha.port = port;
	}
	/* Forwarding first: the sync's start (a snapshot of the tables) can follow. */
	if (role != HA_STANDBY && was_holding) {
		if (atomic_load(&dp.hold) == DP_HOLD_STANDBY)
			dp_call(promote_fn, NULL);
		else
			atomic_store_explicit(&dp.hold, 0, memory_order_release);
	}
	if (!same && peer != 0 && role != HA_SINGLE) {
		int r;

		err[0] = '\0';
		r = sock_open(err, sizeof(err));
		if (r == 0)
			r = role == HA_ACTIVE ? sender_start() : receiver_start();
		if (r < 0) {
			sync_stop();
			if (err[0] == '\0')
				snprintf(err, sizeof(err), "cannot start the sync: %s",
					 strerror(-r));
			/* The role stands (a standby still holds); the sync does not run. */
			return dse_rpc_error(call, DSE_RPC_APP_ERROR, "%s", err);
		}
	}
	DSE_LOG_NOTICE("ha", "role %s, epoch %llu%s", role_names[role],
		       (unsigned long long)ha.epoch, same ? " (again)" : "");
	*ret = NULL;
	return 0;
}

static const char *hold_name(uint8_t h)
{
	return h == DP_HOLD_STANDBY ? "standby" : h == DP_HOLD_STALL ? "stalled" : "none";
}

static uint64_t held_total(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < dp.n_workers; i++)
		n += dp.workers[i].held;
	return n;
}

/* Connections in the workers' tables (read as they are). */
static uint64_t table_conns(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < dp.n_workers; i++)
		if (dp.workers[i].ct)
			n += dp.workers[i].ct->n_entries;
	return n;
}

/* Learned MACs in the FDB (read as they are). */
static uint64_t table_learned(void)
{
	uint32_t cap = (uint32_t)rte_hash_max_key_id(dp.fdb->hash);
	uint64_t n = 0;

	for (uint32_t i = 0; i <= cap; i++)
		if (dse_fdb_entry_used(&dp.fdb->entries[i]) &&
		    !dse_fdb_entry_static(&dp.fdb->entries[i]))
			n++;
	return n;
}

/* A receiver holds the active's state: a bulk sync completed and the active is heard. */
static bool rx_ready(uint64_t now)
{
	return ha.rx_on && ha.bulk_done && ha.last_rx_ns != 0 &&
	       now - ha.last_rx_ns <= HA_OUTAGE_NS;
}

static json_t *sync_json(uint64_t now)
{
	char l[INET_ADDRSTRLEN], p[INET_ADDRSTRLEN];
	const char *state;
	uint64_t lag_msgs = 0, lag_ms = 0;
	json_t *o;

	if (ha.fd < 0)
		return json_null();
	inet_ntop(AF_INET, &ha.local, l, sizeof(l));
	inet_ntop(AF_INET, &ha.peer, p, sizeof(p));
	if (ha.tx_on) {
		uint64_t oldest = dse_sync_tx_oldest_ns(&ha.tx);

		lag_msgs = dse_sync_tx_inflight(&ha.tx) +
			   (ha.pend_n + DSE_SYNC_RECS_MAX - 1) / DSE_SYNC_RECS_MAX;
		lag_ms = oldest ? (now - oldest) / 1000000ull : 0;
		state = ha.down				    ? "down"
			: ha.peer_session == 0		    ? "waiting"
			: ha.bulk_running || ha.bulk_wanted ? "bulk"
							    : "streaming";
	} else {
		if (dse_sync_before(ha.rx.next, ha.rx_next_announced))
			lag_msgs = ha.rx_next_announced - ha.rx.next;
		lag_ms = ha.first_missing_ns ? (now - ha.first_missing_ns) / 1000000ull : 0;
		state = ha.last_rx_ns == 0		     ? "waiting"
			: now - ha.last_rx_ns > HA_OUTAGE_NS ? "down"
			: !ha.bulk_done			     ? "bulk"
							     : "streaming";
	}
	o = json_pack(
	    "{s:s, s:s, s:i, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "local", l, "peer",
	    p, "port", ha.port, "side", ha.tx_on ? "sender" : "receiver", "state", state, "ready",
	    rx_ready(now), "session", (json_int_t)(ha.tx_on ? ha.tx.session : ha.rx.session),
	    "peer_session", (json_int_t)(ha.tx_on ? ha.peer_session : ha.rx.peer_session), "conns",
	    (json_int_t)(ha.tx_on ? ha.conns.n : table_conns()), "fdb",
	    (json_int_t)(ha.tx_on ? ha.fdb.n : table_learned()), "lag_msgs", (json_int_t)lag_msgs,
	    "lag_ms", (json_int_t)lag_ms, "bulks", (json_int_t)ha.bulks);
	json_object_set_new(o, "last_bulk",
			    ha.has_last_bulk
				? json_pack("{s:I, s:I}", "records", (json_int_t)ha.last_bulk_recs,
					    "ms", (json_int_t)ha.last_bulk_ms)
				: json_null());
	json_object_set_new(o, "sent", json_integer((json_int_t)ha.sent));
	json_object_set_new(o, "resent", json_integer((json_int_t)(ha.tx_on ? ha.tx.resent : 0)));
	json_object_set_new(o, "acked", json_integer((json_int_t)(ha.tx_on ? ha.tx.acked : 0)));
	json_object_set_new(o, "inflight",
			    json_integer(ha.tx_on ? (json_int_t)dse_sync_tx_inflight(&ha.tx) : 0));
	json_object_set_new(o, "queued", json_integer((json_int_t)ha.pend_n));
	json_object_set_new(o, "received", json_integer((json_int_t)ha.received));
	json_object_set_new(o, "applied", json_integer((json_int_t)(ha.rx_on ? ha.rx.applied : 0)));
	json_object_set_new(o, "dup", json_integer((json_int_t)(ha.rx_on ? ha.rx.dup : 0)));
	json_object_set_new(o, "early", json_integer((json_int_t)(ha.rx_on ? ha.rx.early : 0)));
	json_object_set_new(o, "stale", json_integer((json_int_t)(ha.rx_on ? ha.rx.stale : 0)));
	json_object_set_new(o, "beyond", json_integer((json_int_t)(ha.rx_on ? ha.rx.beyond : 0)));
	json_object_set_new(o, "bad", json_integer((json_int_t)ha.bad));
	json_object_set_new(o, "apply_failed", json_integer((json_int_t)ha.apply_failed));
	json_object_set_new(o, "put",
			    json_pack("{s:I, s:I}", "conns", (json_int_t)ha.synced_conns, "fdb",
				      (json_int_t)ha.synced_fdb));
	json_object_set_new(
	    o, "faults",
	    json_pack("{s:i, s:i, s:b}", "loss", ha.loss, "reorder", ha.reorder, "cut", ha.cut));
	return o;
}

static int ha_show(struct dse_rpc_call *call, json_t **ret)
{
	uint8_t h = atomic_load(&dp.hold);

	RTE_SET_USED(call);
	*ret = json_pack("{s:s, s:I, s:b, s:s, s:i, s:i, s:I, s:o}", "role", role_names[ha.role],
			 "epoch", (json_int_t)ha.epoch, "forwarding", h == 0, "hold", hold_name(h),
			 "stall_ms", (int)ha.stall_ms, "stalls", (int)atomic_load(&dp.stalls),
			 "held", (json_int_t)held_total(), "sync", sync_json(mono_ns()));
	return 0;
}

static int ha_fault_set(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_ha_fault_set *a = call->args;

	if (!ha.faults_allowed)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "sync faults are off: start dse-dpud with --ha-faults (the "
				     "lab and the tests only)");
	if (a->has_loss)
		ha.loss = (unsigned)a->loss;
	if (a->has_reorder)
		ha.reorder = (unsigned)a->reorder;
	if (a->has_cut)
		ha.cut = a->cut;
	*ret = json_pack("{s:i, s:i, s:b}", "loss", ha.loss, "reorder", ha.reorder, "cut", ha.cut);
	return 0;
}

static const struct dse_rpc_method ha_methods[] = {
    {"ha.role.set", ha_role_set},
    {"ha.show", ha_show},
    {"ha.fault.set", ha_fault_set},
    {NULL, NULL},
};

static const struct dse_drop_reason ha_drops[] = {
    {"held", "received while the datapath holds: a standby, or fenced after a stall", held_total},
    {NULL, NULL, NULL},
};

static struct dse_module ha_module = {
    .name = "ha",
    .order = 50,
    .methods = ha_methods,
    .drops = ha_drops,
    .tick = ha_tick,
    .poll_fd = ha_poll_fd,
};
DSE_MODULE_REGISTER(ha_module)
