/* SPDX-License-Identifier: BSD-3-Clause */
/* Discovery, connections, heartbeats and reconciles of the host's DPUs, on the event loop (dpu.h). */
#include "dpu.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdarg.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evloop.h"
#include "log.h"
#include "model.h"
#include "reconcile.h"
#include "rpc_async.h"
#include "rtt.h"

#define MAX_LINKS        16
#define MS               1000000ull
#define SCAN_EVERY       (2000 * MS)
#define RESYNC_EVERY     (30000 * MS)
#define RETRY_FAILED     (10000 * MS)
#define BACKOFF_MIN_MS   250
#define BACKOFF_MAX_MS   5000
#define MISMATCH_RETRY   (5000 * MS)
#define SEEN_EVERY       (30000 * MS)
/* Attach hooks that run without a pidfd, reaped by the prepare hook. */
#define ORPHANS_MAX      64
/* How often the arbiter looks at every pair (a failover missed at its moment). */
#define ARBITER_EVERY    (500 * MS)
/* Calls of a reconcile's plan in flight at once. */
#define PLAN_WINDOW      64

enum link_state {
	LINK_CONNECTING,
	LINK_CONNECTED,
	LINK_UNREACHABLE,
	LINK_MISMATCH,
};

static const char *const state_names[] = {"connecting", "connected", "unreachable",
					  "identity-mismatch"};

/* A reconcile under way: its reads, then its plan's calls. */
struct recon {
	json_t *desired;
	uint64_t rev;
	bool managed;
	json_t *reads[RECONCILE_READS];
	unsigned reads_left;
	json_t *plan;        /* NULL while reading */
	size_t next;         /* the plan's next call to send */
	unsigned inflight;   /* the plan's calls sent and not answered */
	unsigned done;       /* the plan's calls answered */
	bool failed;         /* a call was refused: 'err' says the first */
	bool reading_gen;    /* the last step: dp.identity.show after the changes */
	/*
	 * The timeouts of the plan's calls in flight: dse-dpud runs them in
	 * order, so each call's own timeout starts after those ahead of it.
	 */
	uint64_t ahead_ms;
	char err[512];
};

/*
 * What the host knows of the DPU's datapath without asking it: from its
 * events.subscribe stream, on a connection of its own, on top of one
 * snapshot taken when the stream starts (and again when it lost records).
 */
struct dpu_live {
	struct dse_rpc_async *conn; /* the stream's connection, NULL: none */
	/* Each part of the snapshot that is in: its records are applied from then on. */
	bool ports_in, fdb_in, conns_in;
	unsigned snap_left;         /* snapshot calls not answered yet */
	json_t *links;              /* port -> {up, speed_mbps} */
	int64_t macs_learned;
	int64_t macs_static;
	int64_t conns;
	uint64_t events;            /* records received */
	uint64_t lost;              /* records the DPU could not send to this subscription */
	uint64_t next_try_ns;
	char error[512];            /* why there is no stream, for a person */
};

/* Whether the whole snapshot is in: the stream is up. */
static inline bool live_ready(const struct dpu_live *v)
{
	return v->ports_in && v->fdb_in && v->conns_in;
}

/* One internal link and the DPU at its far end. */
struct dpu_link {
	struct dpu_mgr *m;
	char ifname[IFNAMSIZ];
	char local[INET_ADDRSTRLEN];
	char peer[INET_ADDRSTRLEN];
	bool seen;                    /* found by the last scan */
	enum link_state state;
	struct dse_rpc_async *conn;   /* set from the connect on, until it fails */
	unsigned hello_left;          /* connecting: dp.identity.show and dp.show not answered */
	json_t *hello_info;           /* connecting: the dp.show answer */
	char name[64];                /* the DPU's name, "" until known */
	json_t *identity;             /* the last dp.identity answer */
	char version[64];             /* dse-dpud's version (dp.show) */
	char error[512];              /* the last connection problem, for a person */
	unsigned backoff_ms;
	uint64_t next_connect_ns;
	uint64_t next_resync_ns;
	uint64_t next_seen_ns;        /* when to refresh last_seen in the store */
	uint64_t tick;                /* the heartbeat timer */
	uint64_t tick_at_ns;          /* when it is due */
	uint64_t next_beat_ns;        /* when the next heartbeat goes */
	uint64_t last_answer_ns;      /* the DPU's last answer (or the connect) */
	unsigned beats_inflight;
	uint64_t bytes_in;            /* of its connection, at its last answer */
	unsigned slow_inflight;       /* firewall change sets in flight: they hold dse-dpud */
	uint64_t busy_until_ns;       /* ... until their timeouts at the latest */
	int64_t boot_id;              /* the DPU's start, -1 unknown */
	int64_t generation;           /* the DPU's config generation, -1 unknown */
	bool synced;                  /* the DPU holds store revision 'synced_revision' */
	uint64_t synced_revision;
	bool dirty;                   /* reconcile at the next turn */
	struct recon *rc;             /* the reconcile under way */
	struct dpu_live live;         /* its events */
	const char *config;           /* in-sync, syncing, error, refused, unmanaged, unknown */
	struct dse_rtt heartbeats;    /* round trips and misses of its heartbeats */
	json_t *ha_want;              /* the ha.role.set params last sent (its role), or NULL */
	json_t *ha_state;             /* its last ha.show answer, NULL: not known */
	unsigned sync_done;           /* syncing: calls answered since the sync began */
	unsigned sync_left;           /* syncing: calls of the plan still to run */
	char config_error[512];
	int64_t pushed_boot_id;       /* what the store records, to write only changes */
	int64_t pushed_generation;
	uint64_t pushed_revision;
	int pushed_managed;
};

struct dpu_mgr {
	struct dpu_mgr_conf conf;
	struct dpu_link *links[MAX_LINKS];
	unsigned n_links;
	uint64_t next_scan_ns;
	bool kick;          /* a callback made work: look at the links on the next turn */
	/* The last failover, until its new active holds its revision (the takeover's time). */
	uint64_t failover_ns;
	uint64_t failover_rev;
	bool linkdown_check; /* arbiter_lost() for linkDown: the standby needs an uplink up */
	uint64_t next_arbiter_ns; /* when the arbiter looks at every pair again */
	char no_failover[600];    /* the last "no failover" said, to say it once */
	pid_t orphans[ORPHANS_MAX]; /* attach hooks that run unwatched, to reap */
	unsigned n_orphans;
	char failover_to[64];
	/* A planned failover: the old active is demoted once the VMs moved and the new announced. */
	char demote[64];
	char failover_sw[64];    /* the switch of the last failover */
	unsigned attach_pending; /* attach hooks of the last failover still running */
	int64_t epoch;           /* the pairs' epoch after the last failover */
	bool announced;          /* the new active's fdb.announce answered */
	int prepare_id;
};

/* A call of the manager in flight: the link it was made for, on which connection. */
struct link_call {
	struct dpu_link *l;
	struct dse_rpc_async *conn;
	void (*done)(struct dpu_link *l, const struct dse_rpc_async_reply *reply, void *arg);
	void *arg;
};

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static uint64_t now_ns(void)
{
	return dse_loop_now_ns();
}

static int beat_ms(const struct dpu_mgr *m)
{
	return m->conf.heartbeat_ms;
}

/* ---- calls ---- */

static void link_call_cb(struct dse_rpc_async *conn, const struct dse_rpc_async_reply *reply,
			 void *arg)
{
	struct link_call *c = arg;
	struct dpu_link *l = c->l;

	/* A call of a connection the link has dropped: only its own cleanup runs. */
	if (l != NULL && l->conn != conn)
		l = NULL;
	if (l != NULL && (reply->status == 0 || reply->status == -EREMOTEIO)) {
		struct dse_rpc_async_stats st;

		l->last_answer_ns = now_ns();
		dse_rpc_async_stats(conn, &st);
		l->bytes_in = st.bytes_in;
	}
	c->done(l, reply, c->arg);
	free(c);
}

/* Sends 'method' on the link's connection; 'done' runs exactly once unless this fails. */
static int link_send(struct dpu_link *l, const char *method, json_t *params, int timeout_ms,
		     void (*done)(struct dpu_link *, const struct dse_rpc_async_reply *, void *),
		     void *arg)
{
	struct link_call *c = malloc(sizeof(*c));
	int r;

	if (c == NULL)
		return -ENOMEM;
	*c = (struct link_call){.l = l, .conn = l->conn, .done = done, .arg = arg};
	r = dse_rpc_async_call(l->conn, method, params, timeout_ms, link_call_cb, c, NULL);
	if (r < 0)
		free(c);
	return r;
}

/* "lost the connection ..." for a failed call or connection, for a person. */
static void lost_msg(struct dpu_link *l, const char *what, int status, const char *why,
		     char *msg, size_t len)
{
	snprintf(msg, len,
		 "lost the connection to %s:%u (%s: %s%s%s): the host reconnects by itself; if "
		 "it stays so, check dse-dpud on the DPU (dse-lab status)",
		 l->peer, l->m->conf.port, what, strerror(-status), why && why[0] ? ", " : "",
		 why ? why : "");
}

/* ---- discovery ---- */

static void link_close(struct dpu_link *l);

static struct dpu_link *link_find(struct dpu_mgr *m, const char *ifname)
{
	for (unsigned i = 0; i < m->n_links; i++)
		if (strcmp(m->links[i]->ifname, ifname) == 0)
			return m->links[i];
	return NULL;
}

static void link_free(struct dpu_link *l)
{
	link_close(l);
	json_decref(l->live.links);
	json_decref(l->identity);
	free(l);
}

static void scan(struct dpu_mgr *m)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) < 0) {
		DSE_LOG_WARN("dpu", "cannot list interfaces: %s", strerror(errno));
		return;
	}
	for (unsigned k = 0; k < m->n_links; k++)
		m->links[k]->seen = false;
	for (i = ifa; i; i = i->ifa_next) {
		struct in_addr local, peer;
		struct dpu_link *l;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    strncmp(i->ifa_name, "int-", 4) != 0 || strlen(i->ifa_name) >= IFNAMSIZ)
			continue;
		local = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
		peer.s_addr = htonl(ntohl(local.s_addr) + 1);
		l = link_find(m, i->ifa_name);
		if (l == NULL) {
			if (m->n_links == MAX_LINKS) {
				DSE_LOG_WARN("dpu", "more than %d internal links: %s ignored",
					     MAX_LINKS, i->ifa_name);
				continue;
			}
			l = calloc(1, sizeof(*l));
			if (l == NULL)
				continue;
			m->links[m->n_links++] = l;
			l->m = m;
			snprintf(l->ifname, sizeof(l->ifname), "%s", i->ifa_name);
			l->state = LINK_CONNECTING;
			l->generation = -1;
			l->boot_id = -1;
			l->pushed_generation = -2;
			l->config = "unknown";
			l->backoff_ms = BACKOFF_MIN_MS;
			DSE_LOG_NOTICE("dpu", "internal link %s found", l->ifname);
		}
		l->seen = true;
		inet_ntop(AF_INET, &local, l->local, sizeof(l->local));
		if (strcmp(l->peer, "") != 0) {
			char p[INET_ADDRSTRLEN];

			inet_ntop(AF_INET, &peer, p, sizeof(p));
			if (strcmp(p, l->peer) != 0) {
				/* The link was renumbered: start over. */
				l->state = LINK_CONNECTING;
				link_close(l);
				l->next_connect_ns = 0;
			}
		}
		inet_ntop(AF_INET, &peer, l->peer, sizeof(l->peer));
	}
	freeifaddrs(ifa);
	for (unsigned k = 0; k < m->n_links;) {
		struct dpu_link *l = m->links[k];

		if (l->seen) {
			k++;
			continue;
		}
		DSE_LOG_NOTICE("dpu", "internal link %s is gone%s%s", l->ifname,
			       l->name[0] ? ": DPU " : "", l->name);
		m->links[k] = m->links[--m->n_links];
		link_free(l);
	}
}

/* ---- connections ---- */

static void recon_free(struct recon *rc)
{
	if (rc == NULL)
		return;
	json_decref(rc->desired);
	for (unsigned i = 0; i < RECONCILE_READS; i++)
		json_decref(rc->reads[i]);
	json_decref(rc->plan);
	free(rc);
}

/* Ends the event stream (the next one starts from a new snapshot). */
static void live_close(struct dpu_link *l)
{
	struct dse_rpc_async *conn = l->live.conn;

	l->live.conn = NULL;
	l->live.ports_in = l->live.fdb_in = l->live.conns_in = false;
	l->live.snap_left = 0;
	dse_rpc_async_close(conn);
}

/* Closes the link's connection: its calls in flight complete (cancelled) and are ignored. */
static void link_close(struct dpu_link *l)
{
	struct dse_rpc_async *conn = l->conn;

	l->conn = NULL;
	dse_rpc_async_close(conn);
	live_close(l);
	l->live.next_try_ns = 0;
	if (l->tick)
		dse_loop_timer_cancel(l->m->conf.loop, l->tick);
	l->tick = 0;
	l->beats_inflight = 0;
	l->slow_inflight = 0;
	l->hello_left = 0;
	json_decref(l->hello_info);
	l->hello_info = NULL;
	recon_free(l->rc);
	l->rc = NULL;
	/* A new connection may reach a new dse-dpud: the role is sent again, its state read. */
	json_decref(l->ha_want);
	l->ha_want = NULL;
	json_decref(l->ha_state);
	l->ha_state = NULL;
}

static void set_error(struct dpu_link *l, const char *msg)
{
	if (strcmp(l->error, msg) != 0)
		DSE_LOG_WARN("dpu", "%s%s%s: %s", l->ifname, l->name[0] ? " " : "", l->name, msg);
	snprintf(l->error, sizeof(l->error), "%s", msg);
}

static void arbiter_lost(struct dpu_mgr *m, struct dpu_link *l, const char *kind,
			 int64_t detect_ms, const char *why);

/* Drops the connection and schedules the next attempt after the backoff. */
static void link_fail(struct dpu_link *l, enum link_state state, const char *msg)
{
	uint64_t now = now_ns();
	bool was_up = l->state == LINK_CONNECTED;

	/* The state first: the calls the close cancels report it. */
	l->state = state;
	set_error(l, msg);
	link_close(l);
	if (was_up) {
		/* A DPU that was up: try again at once, it may only have restarted. */
		l->backoff_ms = BACKOFF_MIN_MS;
		l->next_connect_ns = now;
	} else {
		l->next_connect_ns = now + (uint64_t)l->backoff_ms * MS;
		l->backoff_ms = l->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
								 : l->backoff_ms * 2;
	}
	if (state == LINK_MISMATCH)
		l->next_connect_ns = now + MISMATCH_RETRY;
	l->synced = false;
	if (was_up && state == LINK_UNREACHABLE)
		arbiter_lost(l->m, l, "crash", (int64_t)((now - l->last_answer_ns) / MS), msg);
	if (strcmp(l->config, "syncing") == 0)
		l->config = "unknown";
	l->m->kick = true;
}

/* Returns the integer member 'key' of 'o', or -1. */
static int64_t int_member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* Takes a dp.identity answer: the DPU's start and config generation. */
static void take_identity(struct dpu_link *l, json_t *id)
{
	json_decref(l->identity);
	l->identity = json_incref(id);
	l->generation = int_member(id, "generation");
	l->boot_id = int_member(id, "boot_id");
}

static json_t *find_record(json_t *inv, const char *name)
{
	return model_find(inv, name);
}

/* Checks that the DPU is who it says and who the host knew; writes why not. */
static bool identity_ok(struct dpu_mgr *m, struct dpu_link *l, const char *cn, json_t *inv,
			char *msg, size_t len)
{
	json_t *rec = find_record(inv, l->name);
	const char *serial = str(l->identity, "serial");

	if (cn && strcmp(str(l->identity, "name"), "") != 0 &&
	    strcmp(cn, str(l->identity, "name")) != 0) {
		snprintf(msg, len,
			 "the DPU on %s presents the certificate of '%s' but calls itself '%s': "
			 "issue it a certificate under its own name (dse-hostd cert issue --name "
			 "%s) or fix its identity file",
			 l->ifname, cn, str(l->identity, "name"), str(l->identity, "name"));
		return false;
	}
	if (rec && serial[0] && str(rec, "serial")[0] && strcmp(serial, str(rec, "serial")) != 0) {
		snprintf(msg, len,
			 "DPU '%s' on %s has serial %s, but the host knew '%s' as serial %s: if "
			 "the DPU was replaced, accept the new one with 'dsectl dpu forget %s'",
			 l->name, l->ifname, serial, l->name, str(rec, "serial"), l->name);
		return false;
	}
	for (unsigned i = 0; i < m->n_links; i++) {
		struct dpu_link *o = m->links[i];

		if (o != l && o->state == LINK_CONNECTED && strcmp(o->name, l->name) == 0) {
			snprintf(msg, len,
				 "the DPUs on %s and %s both call themselves '%s': give each DPU "
				 "its own name and certificate",
				 o->ifname, l->ifname, l->name);
			return false;
		}
	}
	return true;
}

static void heartbeat_arm(struct dpu_link *l);
static void ha_send(struct dpu_link *l, json_t *params);

/* Tells the DPU of 'l' the role the store gives it (ha.role.set), if it serves a switch. */
static void ha_from_store(struct dpu_link *l)
{
	json_t *doc = NULL, *inv = NULL, *want;

	if (store_load(l->m->conf.store, &doc) < 0 || store_dpus(l->m->conf.store, &inv) < 0) {
		json_decref(doc);
		return;
	}
	want = reconcile_desired(doc, inv, l->name);
	if (json_is_string(json_object_get(want, "switch")) &&
	    !json_is_string(json_object_get(want, "refused")))
		ha_send(l, json_object_get(want, "ha"));
	json_decref(want);
	json_decref(doc);
	json_decref(inv);
}

/* Both answers of the connect are in: checks the DPU and takes it on. */
static void link_established(struct dpu_mgr *m, struct dpu_link *l)
{
	json_t *id = l->identity, *inv = NULL, *rec, *seen;
	const char *cn = dse_rpc_async_peer_cn(l->conn);
	char msg[768];
	uint64_t now = now_ns();

	snprintf(l->version, sizeof(l->version), "%s", str(l->hello_info, "version"));
	json_decref(l->hello_info);
	l->hello_info = NULL;
	snprintf(l->name, sizeof(l->name), "%s",
		 str(id, "name")[0] ? str(id, "name") : (cn ? cn : ""));
	if (!model_name_ok(l->name)) {
		snprintf(msg, sizeof(msg),
			 "the DPU on %s gives no usable name ('%s'): issue it a certificate with "
			 "its name (dse-hostd cert issue)",
			 l->ifname, l->name);
		l->name[0] = '\0';
		link_fail(l, LINK_MISMATCH, msg);
		return;
	}
	if (store_dpus(m->conf.store, &inv) < 0)
		inv = json_array();
	if (!identity_ok(m, l, cn, inv, msg, sizeof(msg))) {
		json_decref(inv);
		link_fail(l, LINK_MISMATCH, msg);
		return;
	}
	seen = json_pack("{s:s, s:s, s:s}", "name", l->name, "link", l->ifname, "address",
			 l->peer);
	for (const char *const *k = (const char *const[]){"vendor", "model", "hw_version",
							   "fw_version", "serial", "pci", NULL};
	     *k; k++)
		if (json_is_string(json_object_get(id, *k)))
			json_object_set(seen, *k, json_object_get(id, *k));
	if (l->version[0])
		json_object_set_new(seen, "version", json_string(l->version));
	/* A failure is logged by the store; the DPU is served all the same. */
	store_dpu_seen(m->conf.store, seen);
	json_decref(seen);

	l->state = LINK_CONNECTED;
	l->error[0] = '\0';
	l->backoff_ms = BACKOFF_MIN_MS;
	l->next_seen_ns = now + SEEN_EVERY;
	l->next_resync_ns = now + RESYNC_EVERY;
	rec = find_record(inv, l->name);
	l->pushed_boot_id = rec ? int_member(rec, "boot_id") : -2;
	l->pushed_generation = rec ? int_member(rec, "generation") : -2;
	l->pushed_revision = rec ? (uint64_t)int_member(rec, "pushed_revision") : 0;
	l->pushed_managed = rec ? (int)int_member(rec, "managed") : 0;
	/*
	 * Reconcile by generation: a DPU still in the start and at the config
	 * generation the host left it, for the revision the store still has,
	 * needs nothing.
	 */
	if (rec && l->generation >= 0 && l->boot_id >= 0 && l->boot_id == l->pushed_boot_id &&
	    l->generation == l->pushed_generation && int_member(rec, "pushed_revision") >= 0 &&
	    l->pushed_revision == store_revision(m->conf.store)) {
		l->synced = true;
		l->synced_revision = l->pushed_revision;
		l->dirty = false;
		l->config = l->pushed_managed ? "in-sync" : "unmanaged";
	} else {
		l->synced = false;
		l->dirty = true;
		l->config = "unknown";
	}
	DSE_LOG_NOTICE("dpu", "DPU %s connected on %s (%s %s, hw %s, fw %s, dse-dpud %s)%s",
		       l->name, l->ifname, str(id, "vendor"), str(id, "model"),
		       str(id, "hw_version"), str(id, "fw_version"),
		       l->version[0] ? l->version : "?",
		       l->synced ? ": config generation unchanged" : "");
	json_decref(inv);
	/* No reconcile to come: the role (which a new connection must tell again) now. */
	if (l->synced)
		ha_from_store(l);
	/* The first heartbeat at once: the silence is counted from the connect's answers. */
	l->last_answer_ns = now;
	l->next_beat_ns = now;
	heartbeat_arm(l);
	m->kick = true;
}

/* An answer of the connect's dp.identity.show (arg 0) or dp.show (arg 1). */
static void hello_done(struct dpu_link *l, const struct dse_rpc_async_reply *reply, void *arg)
{
	const char *method = arg ? "dp.show" : "dp.identity.show";
	char msg[768];

	if (l == NULL || l->hello_left == 0)
		return;
	if (reply->status == -EREMOTEIO || (reply->status == 0 && !json_is_object(reply->result))) {
		snprintf(msg, sizeof(msg), "dse-dpud answered %s %s%s", method,
			 reply->status ? "with an error: " : "without an object",
			 reply->status ? reply->message : "");
		link_fail(l, LINK_UNREACHABLE, msg);
		return;
	}
	if (reply->status == -ETIMEDOUT && !dse_rpc_async_connected(l->conn))
		return; /* the connect itself timed out: conn_status() says so */
	if (reply->status == -ETIMEDOUT) {
		snprintf(msg, sizeof(msg),
			 "the DPU at %s:%u accepted the connection but did not answer %s within "
			 "%d ms: is dse-dpud stuck? (dse-lab status)",
			 l->peer, l->m->conf.port, method, l->m->conf.connect_timeout_ms);
		link_fail(l, LINK_UNREACHABLE, msg);
		return;
	}
	if (reply->status < 0)
		return; /* the connection failed: conn_status() says how */
	if (arg)
		l->hello_info = json_incref(reply->result);
	else
		take_identity(l, reply->result);
	if (--l->hello_left == 0)
		link_established(l->m, l);
}

/* The connection's status: up (nothing to do: the hello calls are queued) or failed. */
static void conn_status(struct dse_rpc_async *conn, int status, const char *why, void *arg)
{
	struct dpu_link *l = arg;
	struct dpu_mgr *m = l->m;
	char msg[768];

	if (status == 0 || conn != l->conn)
		return;
	if (l->state == LINK_CONNECTED) {
		lost_msg(l, "the connection failed", status, why, msg, sizeof(msg));
		link_fail(l, LINK_UNREACHABLE, msg);
	} else if (status == -EPERM) {
		/* A certificate of our CA that is not a DPU's: not a DPU the host configures. */
		snprintf(msg, sizeof(msg),
			 "the DPU at %s:%u is refused: %s: issue it a DPU certificate "
			 "(dse-hostd cert issue)",
			 l->peer, m->conf.port, why);
		link_fail(l, LINK_MISMATCH, msg);
	} else {
		snprintf(msg, sizeof(msg), "cannot connect to the DPU at %s:%u: %s: %s", l->peer,
			 m->conf.port, why[0] ? why : strerror(-status),
			 status == -EACCES ? "the DPU needs a certificate from this host's CA "
					     "(dse-hostd cert issue)"
					   : "is dse-dpud running on the DPU? (dse-lab status)");
		link_fail(l, LINK_UNREACHABLE, msg);
	}
}

/* Starts connecting: TLS, then dp.identity.show and dp.show, all without waiting. */
static void link_connect(struct dpu_mgr *m, struct dpu_link *l)
{
	struct dse_rpc_async_opts opts = {.on_status = conn_status,
					  .arg = l,
					  .connect_timeout_ms = m->conf.connect_timeout_ms};
	char err[512], msg[768];
	int r;

	r = dse_rpc_async_tls(m->conf.loop, l->peer, m->conf.port, m->conf.tls, NULL, &opts,
			      &l->conn, err, sizeof(err));
	if (r < 0) {
		l->conn = NULL;
		snprintf(msg, sizeof(msg), "cannot connect to the DPU at %s:%u: %s", l->peer,
			 m->conf.port, err[0] ? err : strerror(-r));
		link_fail(l, LINK_UNREACHABLE, msg);
		return;
	}
	l->hello_left = 2;
	l->last_answer_ns = now_ns();
	if (link_send(l, "dp.identity.show", NULL, 2 * m->conf.connect_timeout_ms, hello_done,
		      NULL) < 0 ||
	    link_send(l, "dp.show", NULL, 2 * m->conf.connect_timeout_ms, hello_done,
		      (void *)1) < 0)
		link_fail(l, LINK_UNREACHABLE, "out of memory for the connect's calls");
}

/* ---- heartbeats ---- */

static void heartbeat_tick(struct dse_loop *loop, void *arg);

/*
 * When the DPU's silence makes it unreachable: 'heartbeat_misses'
 * intervals after its last answer, or later while a firewall change set
 * it is compiling is within its own timeout (dse-dpud's control thread
 * answers nothing meanwhile, on any connection).
 */
static uint64_t silence_deadline(const struct dpu_link *l)
{
	const struct dpu_mgr *m = l->m;
	uint64_t dead = l->last_answer_ns + (uint64_t)m->conf.heartbeat_misses * beat_ms(m) * MS;

	return l->slow_inflight && l->busy_until_ns > dead ? l->busy_until_ns : dead;
}

/* Sets the link's timer for its next heartbeat or the end of its silence, whichever is first. */
static void heartbeat_arm(struct dpu_link *l)
{
	struct dpu_mgr *m = l->m;
	uint64_t now = now_ns();
	uint64_t dead = silence_deadline(l);
	uint64_t at = l->next_beat_ns < dead ? l->next_beat_ns : dead;

	if (l->tick)
		dse_loop_timer_cancel(m->conf.loop, l->tick);
	l->tick = dse_loop_timer_add(m->conf.loop, at > now ? (at - now + MS - 1) / MS : 0,
				     heartbeat_tick, l);
	l->tick_at_ns = at > now ? at : now;
	if (l->tick == 0)
		DSE_LOG_ERR("dpu", "DPU %s: no memory for its heartbeat timer", l->name);
}

static void heartbeat_done(struct dpu_link *l, const struct dse_rpc_async_reply *reply, void *arg)
{
	int64_t gen, boot;
	char msg[768];

	(void)arg;
	if (l == NULL)
		return;
	l->beats_inflight--;
	if (reply->status == -ETIMEDOUT) {
		dse_rtt_miss(&l->heartbeats);
		return;
	}
	if (reply->status == -EREMOTEIO || (reply->status == 0 && !json_is_object(reply->result))) {
		snprintf(msg, sizeof(msg), "dse-dpud answered its heartbeat (dp.identity.show) %s%s",
			 reply->status ? "with an error: " : "without an object",
			 reply->status ? reply->message : "");
		link_fail(l, LINK_UNREACHABLE, msg);
		return;
	}
	if (reply->status < 0)
		return;
	dse_rtt_add(&l->heartbeats, reply->rtt_us * 1000);
	gen = l->generation;
	boot = l->boot_id;
	take_identity(l, reply->result);
	if (l->boot_id != boot) {
		DSE_LOG_NOTICE("dpu", "DPU %s restarted: reconciling", l->name);
		l->dirty = true;
		l->m->kick = true;
	} else if (l->generation != gen && l->rc == NULL) {
		/* A reconcile under way moves the generation itself, and reads it at its end. */
		DSE_LOG_INFO("dpu", "DPU %s: config generation %lld (host knew %lld): reconciling",
			     l->name, (long long)l->generation, (long long)gen);
		l->dirty = true;
		l->m->kick = true;
	}
	if (now_ns() >= l->next_seen_ns) {
		json_t *seen = json_pack("{s:s}", "name", l->name);

		store_dpu_seen(l->m->conf.store, seen);
		json_decref(seen);
		l->next_seen_ns = now_ns() + SEEN_EVERY;
	}
}

static void ha_set_done(struct dpu_link *l, const struct dse_rpc_async_reply *reply, void *arg)
{
	(void)arg;
	if (l == NULL || reply->status == 0)
		return;
	DSE_LOG_WARN("ha", "DPU %s: ha.role.set %s failed: %s", l->name,
		     l->ha_want ? str(l->ha_want, "role") : "?",
		     reply->message ? reply->message : strerror(-reply->status));
}

/* Tells the DPU of 'l' its role ('params': ha.role.set's) and keeps it as what is wanted. */
static void ha_send(struct dpu_link *l, json_t *params)
{
	if (l == NULL || l->state != LINK_CONNECTED || params == NULL)
		return;
	if (l->ha_want != params) {
		json_decref(l->ha_want);
		l->ha_want = json_deep_copy(params);
	}
	json_object_set_new(l->ha_want, "stall_ms",
			    json_integer(strcmp(str(params, "role"), "active") == 0
					     ? (json_int_t)beat_ms(l->m) *
						   l->m->conf.heartbeat_misses / 2
					     : 0));
	if (link_send(l, "ha.role.set", json_incref(l->ha_want), l->m->conf.call_timeout_ms,
		      ha_set_done, NULL) < 0)
		DSE_LOG_WARN("ha", "DPU %s: ha.role.set could not be sent", l->name);
}

/*
 * The DPU's ha.show, each heartbeat: kept for the arbiter; a DPU not in the
 * role the host wants (a stall fence it raised itself, a role lost in a
 * restart) is told again.
 */
static void ha_show_done(struct dpu_link *l, const struct dse_rpc_async_reply *reply, void *arg)
{
	const char *want;

	(void)arg;
	if (l == NULL || reply->status != 0 || !json_is_object(reply->result))
		return;
	json_decref(l->ha_state);
	l->ha_state = json_incref(reply->result);
	if (l->ha_want == NULL)
		return;
	want = str(l->ha_want, "role");
	if (strcmp(str(reply->result, "role"), want) != 0 ||
	    json_integer_value(json_object_get(reply->result, "epoch")) !=
		json_integer_value(json_object_get(l->ha_want, "epoch")) ||
	    (strcmp(want, "active") == 0 && strcmp(str(reply->result, "hold"), "none") != 0)) {
		DSE_LOG_NOTICE("ha", "DPU %s is %s (epoch %lld, hold %s), the host wants %s "
				     "(epoch %lld): telling it again",
			       l->name, str(reply->result, "role"),
			       (long long)json_integer_value(json_object_get(reply->result, "epoch")),
			       str(reply->result, "hold"), want,
			       (long long)json_integer_value(json_object_get(l->ha_want, "epoch")));
		ha_send(l, l->ha_want);
	}
}

static void heartbeat_tick(struct dse_loop *loop, void *arg)
{
	struct dpu_link *l = arg;
	struct dpu_mgr *m = l->m;
	uint64_t now = now_ns(), silence = now - l->last_answer_ns;
	char msg[768];

	(void)loop;
	l->tick = 0;
	if (l->state != LINK_CONNECTED)
		return;
	if (now > l->tick_at_ns + (uint64_t)beat_ms(m) * MS) {
		/*
		 * The loop itself was held (a large store transaction): no
		 * heartbeat went out meanwhile, so that time is not the DPU's
		 * silence.  Send one now and count from here.
		 */
		uint64_t late = now - l->tick_at_ns;

		l->last_answer_ns = l->last_answer_ns + late < now ? l->last_answer_ns + late : now;
		l->next_beat_ns = now;
	}
	if (now >= silence_deadline(l)) {
		struct dse_rpc_async_stats st;

		/*
		 * Bytes came after the last answer (a late one, dropped after its
		 * call timed out): the DPU is slow, not silent.
		 */
		dse_rpc_async_stats(l->conn, &st);
		if (st.bytes_in != l->bytes_in) {
			l->bytes_in = st.bytes_in;
			l->last_answer_ns = now;
		}
	}
	if (now >= silence_deadline(l)) {
		snprintf(msg, sizeof(msg),
			 "the DPU at %s:%u did not answer for %llu ms (%d heartbeats of %d ms "
			 "missed): the host reconnects by itself; if it stays so, check dse-dpud "
			 "on the DPU (dse-lab status)",
			 l->peer, m->conf.port, (unsigned long long)(silence / MS),
			 m->conf.heartbeat_misses, beat_ms(m));
		link_fail(l, LINK_UNREACHABLE, msg);
		return;
	}
	if (now >= l->next_beat_ns) {
		/* Never more in flight than can miss before the DPU counts as unreachable. */
		if (l->beats_inflight < (unsigned)m->conf.heartbeat_misses &&
		    link_send(l, "dp.identity.show", NULL, beat_ms(m), heartbeat_done, NULL) == 0)
			l->beats_inflight++;
		/* A DPU of a pair: its role, hold and state sync, for the arbiter and ha.show. */
		if (l->ha_want && strcmp(str(l->ha_want, "role"), "single") != 0)
			link_send(l, "ha.show", NULL, beat_ms(m), ha_show_done, NULL);
		l->next_beat_ns += (uint64_t)beat_ms(m) * MS;
		if (l->next_beat_ns <= now)
			l->next_beat_ns = now + (uint64_t)beat_ms(m) * MS;
	}
	heartbeat_arm(l);
}

/* ---- reconciles ---- */

/* Records in the store what the DPU holds, when that changed. */
static void record_pushed(struct dpu_mgr *m, struct dpu_link *l, uint64_t rev, int managed)
{
	if (l->pushed_boot_id == l->boot_id && l->pushed_generation == l->generation &&
	    l->pushed_revision == rev && l->pushed_managed == managed)
		return;
	if (store_dpu_pushed(m->conf.store, l->name, l->boot_id, l->generation, rev, managed) ==
	    0) {
		l->pushed_boot_id = l->boot_id;
		l->pushed_generation = l->generation;
		l->pushed_revision = rev;
		l->pushed_managed = managed;
	}
}

static void mark_synced(struct dpu_link *l, uint64_t rev)
{
	l->synced = true;
	l->synced_revision = rev;
	l->dirty = false;
}

static void live_ports_changed(struct dpu_link *l);
static void attach_vm(struct dpu_mgr *m, const char *vm, const char *dpu, bool failover);

/* Attaches the VM of every VM port of 'desired' (iface rep-VM) to the link's DPU. */
static void attach_desired(struct dpu_link *l, json_t *desired)
{
	json_t *p;
	size_t i;

	/* A standby holds the ports too, but the VMs are the active's. */
	if (strcmp(str(desired, "role"), "standby") == 0)
		return;
	json_array_foreach(json_object_get(desired, "ports"), i, p)
		if (strncmp(str(p, "iface"), "rep-", 4) == 0)
			attach_vm(l->m, str(p, "iface") + 4, l->name, false);
}

/* The reconcile is over (its calls all answered): what the DPU holds now. */
static void recon_end(struct dpu_link *l)
{
	struct recon *rc = l->rc;
	uint64_t now = now_ns();

	l->rc = NULL;
	if (rc->failed) {
		if (strcmp(l->config_error, rc->err) != 0)
			DSE_LOG_WARN("dpu", "DPU %s: reconcile failed: %s", l->name, rc->err);
		l->config = "error";
		snprintf(l->config_error, sizeof(l->config_error), "%s", rc->err);
		l->next_resync_ns = now + RETRY_FAILED;
	} else {
		if (rc->done > 0 || strcmp(l->config, "in-sync") != 0)
			DSE_LOG_NOTICE("dpu", "DPU %s holds store revision %llu (%u calls, config "
					      "generation %lld)",
				       l->name, (unsigned long long)rc->rev, rc->done,
				       (long long)l->generation);
		/* A DPU that left its switch is empty now, and no longer the host's. */
		l->config = rc->managed ? "in-sync" : "unmanaged";
		l->config_error[0] = '\0';
		record_pushed(l->m, l, rc->rev, rc->managed);
	}
	if (rc->done > 0)
		live_ports_changed(l);
	/*
	 * The VMs of the ports it now holds are attached to it (the first
	 * DPU's by default): a VM of an independent switch on the second DPU,
	 * or one whose switch moved, reaches its DPU.
	 */
	if (rc->done > 0 && !rc->failed && rc->rev == store_revision(l->m->conf.store))
		attach_desired(l, rc->desired);
	if (l->m->failover_ns && !rc->failed && rc->rev >= l->m->failover_rev &&
	    strcmp(l->name, l->m->failover_to) == 0) {
		DSE_LOG_NOTICE("ha", "DPU %s took over: it holds its active config %llu ms after "
				     "the failover",
			       l->name,
			       (unsigned long long)((now_ns() - l->m->failover_ns) / MS));
		l->m->failover_ns = 0;
	}
	l->sync_left = 0;
	mark_synced(l, rc->rev);
	recon_free(rc);
	l->m->kick = true;
}

static void recon_gen_done(struct dpu_link *l, const struct dse_rpc_async_reply *reply, void *arg)
{
	char msg[768];

	(void)arg;
	if (l == NULL || l->rc == NULL)
		return;
	if (reply->status == 0 && json_is_object(reply->result)) {
		take_identity(l, reply->result);
		recon_end(l);
		return;
	}
	if (reply->status != 0 && reply->status != -EREMOTEIO && reply->status != -ETIMEDOUT)
		return;
	lost_msg(l, "dp.identity.show after a reconcile", reply->status ? reply->status : -EPROTO,
		 reply->message, msg, sizeof(msg));
	link_fail(l, LINK_UNREACHABLE, msg);
}

static void recon_pump(struct dpu_link *l);

/* The time the plan's call 'v' may take once dse-dpud is on it. */
static int plan_call_timeout(const struct dpu_link *l, json_t *v)
{
	return reconcile_call_timeout(v, l->m->conf.call_timeout_ms,
				      json_array_size(l->rc->reads[4]));
}

/*
 * A call of the reconcile failed: refused (the others go on, the next
 * reconcile plans again), or not answered (the DPU is lost).  Returns
 * false when the link was failed and nothing may touch the reconcile.
 */
static bool recon_call_failed(struct dpu_link *l, const char *method,
			      const struct dse_rpc_async_reply *reply)
{
	struct recon *rc = l->rc;
	char msg[768];

	if (reply->status == -EREMOTEIO) {
		if (!rc->failed)
			snprintf(rc->err, sizeof(rc->err), "dse-dpud refused %s: %s", method,
				 reply->message);
		rc->failed = true;
		return true;
	}
	snprintf(msg, sizeof(msg), "%s failed: %s%s%s", method, strerror(-reply->status),
		 reply->message[0] ? ": " : "", reply->message);
	if (reply->status == -ETIMEDOUT)
		link_fail(l, LINK_UNREACHABLE, msg);
	/* Another failure is the connection's: conn_status() fails the link. */
	return false;
}

static void recon_read_done(struct dpu_link *l, const struct dse_rpc_async_reply *reply,
			    void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	struct recon *rc;

	if (l == NULL || (rc = l->rc) == NULL)
		return;
	if (reply->status == 0)
		rc->reads[i] = json_incref(reply->result);
	else if (!recon_call_failed(l, reconcile_reads[i], reply))
		return;
	if (--rc->reads_left > 0)
		return;
	if (rc->failed) {
		recon_end(l);
		return;
	}
	rc->plan = reconcile_plan_reads(rc->desired, rc->reads);
	if (rc->plan == NULL) {
		rc->failed = true;
		snprintf(rc->err, sizeof(rc->err), "out of memory");
		recon_end(l);
		return;
	}
	if (json_array_size(rc->plan) > 0) {
		if (strcmp(l->config, "syncing") != 0)
			l->sync_done = 0;
		l->config = "syncing";
	}
	l->sync_left = (unsigned)json_array_size(rc->plan);
	recon_pump(l);
}

static void recon_call_done(struct dpu_link *l, const struct dse_rpc_async_reply *reply,
			    void *arg)
{
	struct recon *rc;
	json_t *v;
	int own;

	if (l == NULL || (rc = l->rc) == NULL)
		return;
	v = json_array_get(rc->plan, (size_t)(uintptr_t)arg);
	own = plan_call_timeout(l, v);
	rc->ahead_ms = rc->ahead_ms > (uint64_t)own ? rc->ahead_ms - (uint64_t)own : 0;
	if (own > l->m->conf.call_timeout_ms && l->slow_inflight > 0)
		l->slow_inflight--;
	rc->inflight--;
	rc->done++;
	l->sync_done++;
	if (l->sync_left > 0)
		l->sync_left--;
	if (reply->status != 0 && !recon_call_failed(l, str(v, "method"), reply))
		return;
	recon_pump(l);
}

/* Sends the plan's next calls, in order, up to PLAN_WINDOW in flight; ends it when all answered. */
static void recon_pump(struct dpu_link *l)
{
	struct recon *rc = l->rc;
	size_t n = json_array_size(rc->plan);

	while (rc->next < n && rc->inflight < PLAN_WINDOW) {
		json_t *v = json_array_get(rc->plan, rc->next);
		int own = plan_call_timeout(l, v);
		uint64_t wait_ms = rc->ahead_ms + (uint64_t)own;
		int timeout_ms = wait_ms > INT32_MAX ? INT32_MAX : (int)wait_ms;
		int r = link_send(l, str(v, "method"), json_object_get(v, "params"), timeout_ms,
				  recon_call_done, (void *)(uintptr_t)rc->next);

		if (r < 0) {
			char msg[768];

			lost_msg(l, str(v, "method"), r, "the call could not be queued", msg,
				 sizeof(msg));
			link_fail(l, LINK_UNREACHABLE, msg);
			return;
		}
		rc->ahead_ms += (uint64_t)own;
		if (own > l->m->conf.call_timeout_ms) {
			uint64_t until = now_ns() + (uint64_t)timeout_ms * MS;

			if (l->slow_inflight++ == 0 || until > l->busy_until_ns)
				l->busy_until_ns = until;
		}
		rc->next++;
		rc->inflight++;
	}
	if (rc->next < n || rc->inflight > 0 || rc->reading_gen)
		return;
	if (!rc->failed && reconcile_tep_left(rc->desired, rc->reads[3], rc->err, sizeof(rc->err)))
		rc->failed = true;
	if (rc->done == 0 && !rc->failed) {
		recon_end(l);
		return;
	}
	/* Read what the DPU holds now, so the generation check does not fire again. */
	rc->reading_gen = true;
	if (link_send(l, "dp.identity.show", NULL, l->m->conf.call_timeout_ms, recon_gen_done,
		      NULL) < 0)
		link_fail(l, LINK_UNREACHABLE, "out of memory for a call");
}

/* Starts reconciling the link's DPU to store revision 'rev'. */
static void recon_start(struct dpu_mgr *m, struct dpu_link *l, uint64_t rev)
{
	json_t *doc = NULL, *inv = NULL, *desired, *rec;
	struct recon *rc;
	bool managed;

	l->next_resync_ns = now_ns() + RESYNC_EVERY;
	if (store_load(m->conf.store, &doc) < 0 || store_dpus(m->conf.store, &inv) < 0) {
		/* store.c logged why; tried again in RETRY_FAILED or at the next change. */
		json_decref(doc);
		json_decref(inv);
		l->next_resync_ns = now_ns() + RETRY_FAILED;
		l->synced = true;
		l->synced_revision = rev;
		l->dirty = false;
		return;
	}
	desired = reconcile_desired(doc, inv, l->name);
	rec = find_record(inv, l->name);
	managed = json_is_string(json_object_get(desired, "switch"));
	if (!managed && !(rec && json_integer_value(json_object_get(rec, "managed")))) {
		/* Serves no switch and holds nothing of the host's: not the host's to touch. */
		l->config = "unmanaged";
		l->config_error[0] = '\0';
		mark_synced(l, rev);
		goto out;
	}
	if (json_is_string(json_object_get(desired, "refused"))) {
		if (strcmp(l->config, "refused") != 0)
			DSE_LOG_WARN("dpu", "DPU %s not configured: %s", l->name,
				     str(desired, "refused"));
		l->config = "refused";
		snprintf(l->config_error, sizeof(l->config_error), "%s", str(desired, "refused"));
		mark_synced(l, rev);
		goto out;
	}
	rc = calloc(1, sizeof(*rc));
	if (rc == NULL)
		goto out;
	rc->desired = json_incref(desired);
	rc->rev = rev;
	rc->managed = managed;
	rc->reads_left = RECONCILE_READS;
	l->rc = rc;
	l->dirty = false;
	/* The role first: a restarted standby holds before it gets a port to forward on. */
	if (managed && json_object_get(desired, "ha") && strcmp(m->demote, l->name) != 0)
		ha_send(l, json_object_get(desired, "ha"));
	for (unsigned i = 0; i < RECONCILE_READS; i++)
		if (link_send(l, reconcile_reads[i], NULL, m->conf.call_timeout_ms, recon_read_done,
			      (void *)(uintptr_t)i) < 0) {
			link_fail(l, LINK_UNREACHABLE, "out of memory for a reconcile's calls");
			break;
		}
out:
	json_decref(desired);
	json_decref(doc);
	json_decref(inv);
}

/* ---- events ---- */

#define LIVE_RETRY        (5000 * MS)
#define LIVE_RETRY_REFUSED (60000 * MS)

/* The kinds of records the host keeps state from. */
static const char *const live_kinds[] = {"fdb_learned", "fdb_aged", "fdb_deleted",
					 "conn_created", "conn_closed", "port_link", NULL};

/* The stream failed or was refused: says why, and tries again after 'retry_ns'. */
static void live_fail(struct dpu_link *l, uint64_t retry_ns, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void live_fail(struct dpu_link *l, uint64_t retry_ns, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(msg, l->live.error) != 0)
		DSE_LOG_INFO("dpu", "DPU %s: no event stream: %s", l->name, msg);
	snprintf(l->live.error, sizeof(l->live.error), "%s", msg);
	live_close(l);
	l->live.next_try_ns = now_ns() + retry_ns;
	l->m->kick = true;
}

/* The link of a call on the stream's connection, or NULL when the stream is gone. */
struct live_call {
	struct dpu_link *l;
	struct dse_rpc_async *conn;
	unsigned what;
};

static int live_send(struct dpu_link *l, const char *method, json_t *params,
		     dse_rpc_async_call_fn *cb, unsigned what)
{
	struct live_call *c = malloc(sizeof(*c));
	int r;

	if (c == NULL)
		return -ENOMEM;
	*c = (struct live_call){.l = l, .conn = l->live.conn, .what = what};
	r = dse_rpc_async_call(l->live.conn, method, params, l->m->conf.call_timeout_ms, cb, c,
			       NULL);
	if (r < 0)
		free(c);
	return r;
}

static void live_snap_done(struct dse_rpc_async *conn, const struct dse_rpc_async_reply *reply,
			   void *arg);

/* Takes the ports of a port.list answer: their links, with the speed a record gave. */
static void live_take_ports(struct dpu_link *l, json_t *ports)
{
	json_t *links = json_object(), *v, *old;
	size_t i;

	json_array_foreach(ports, i, v) {
		old = json_object_get(l->live.links, str(v, "name"));
		json_object_set_new(links, str(v, "name"),
				    json_pack("{s:b, s:o}", "up", strcmp(str(v, "link"), "up") == 0,
					      "speed_mbps",
					      old ? json_incref(json_object_get(old, "speed_mbps"))
						  : json_integer(0)));
	}
	json_decref(l->live.links);
	l->live.links = links;
}

/* Takes the MAC counts of an fdb.list answer. */
static void live_take_fdb(struct dpu_link *l, json_t *fdb)
{
	json_t *v;
	size_t i;

	l->live.macs_learned = l->live.macs_static = 0;
	json_array_foreach(fdb, i, v) {
		if (json_is_true(json_object_get(v, "static")))
			l->live.macs_static++;
		else
			l->live.macs_learned++;
	}
}

/*
 * After the host changed the DPU: reads its ports and FDB again on the
 * stream's connection (sent after the snapshot's calls, if those are still
 * out, so answered after them).
 */
static void live_ports_changed(struct dpu_link *l)
{
	if (l->live.conn != NULL && (live_send(l, "port.list", NULL, live_snap_done, 3) < 0 ||
				     live_send(l, "fdb.list", NULL, live_snap_done, 4) < 0))
		DSE_LOG_WARN("dpu", "DPU %s: out of memory for a call", l->name);
}

/* Reads what the stream's records change from: the ports' links, the FDB, the connections. */
static void live_snapshot(struct dpu_link *l)
{
	l->live.ports_in = l->live.fdb_in = l->live.conns_in = false;
	l->live.snap_left = 3;
	if (live_send(l, "port.list", NULL, live_snap_done, 0) < 0 ||
	    live_send(l, "fdb.list", NULL, live_snap_done, 1) < 0 ||
	    live_send(l, "fw.stats.show", NULL, live_snap_done, 2) < 0)
		live_fail(l, LIVE_RETRY, "out of memory for the snapshot");
}

static void live_snap_done(struct dse_rpc_async *conn, const struct dse_rpc_async_reply *reply,
			   void *arg)
{
	struct live_call *c = arg;
	struct dpu_link *l = c->l;
	unsigned what = c->what;

	free(c);
	if (l->live.conn != conn || (l->live.snap_left == 0 && what < 3))
		return;
	if (what >= 3) {
		/*
		 * The ports and the FDB after a reconcile changed them: the records
		 * tell of link changes and of what the datapath learns, ages or
		 * deletes, not of what the host's own calls add.
		 */
		if (reply->status == 0 && what == 3)
			live_take_ports(l, reply->result);
		else if (reply->status == 0)
			live_take_fdb(l, reply->result);
		return;
	}
	if (reply->status != 0) {
		if (reply->status != -ECANCELED)
			live_fail(l, reply->status == -EREMOTEIO ? LIVE_RETRY_REFUSED : LIVE_RETRY,
				  "%s of the snapshot failed: %s", what == 0 ? "port.list"
								   : what == 1 ? "fdb.list"
									       : "fw.stats.show",
				  reply->message);
		return;
	}
	if (what == 0) {
		live_take_ports(l, reply->result);
		l->live.ports_in = true;
	} else if (what == 1) {
		l->live.fdb_in = true;
		live_take_fdb(l, reply->result);
	} else {
		l->live.conns = int_member(reply->result, "conns");
		if (l->live.conns < 0)
			l->live.conns = 0;
		l->live.conns_in = true;
	}
	if (--l->live.snap_left == 0)
		l->live.error[0] = '\0';
}

/* Applies one record of the stream. */
static void live_apply(struct dpu_link *l, json_t *e)
{
	const char *kind = str(e, "kind");
	bool is_static = json_is_true(json_object_get(e, "static"));
	int64_t *macs = is_static ? &l->live.macs_static : &l->live.macs_learned;

	/* Before its part of the snapshot is in, a record is in that part already. */
	if (strcmp(kind, "fdb_learned") == 0 && l->live.fdb_in) {
		++*macs;
	} else if ((strcmp(kind, "fdb_aged") == 0 || strcmp(kind, "fdb_deleted") == 0) &&
		   l->live.fdb_in) {
		if (*macs > 0)
			--*macs;
	} else if (strcmp(kind, "conn_created") == 0 && l->live.conns_in) {
		l->live.conns++;
	} else if (strcmp(kind, "conn_closed") == 0 && l->live.conns_in) {
		if (l->live.conns > 0)
			l->live.conns--;
	} else if (strcmp(kind, "port_link") == 0 && l->live.ports_in &&
		   json_is_string(json_object_get(e, "port"))) {
		json_object_set_new(l->live.links, str(e, "port"),
				    json_pack("{s:b, s:I}", "up",
					      json_is_true(json_object_get(e, "up")), "speed_mbps",
					      (json_int_t)(int_member(e, "speed_mbps") < 0
								   ? 0
								   : int_member(e, "speed_mbps"))));
	}
}

static void arbiter_links(struct dpu_mgr *m, struct dpu_link *l);

/* A notification of the stream: {"events": [records], "lost": n}. */
static void live_note(struct dse_rpc_async *conn, const char *method, json_t *params, void *arg)
{
	struct dpu_link *l = arg;
	json_t *events = json_object_get(params, "events"), *e;
	int64_t lost = int_member(params, "lost");
	bool link_down_seen = false;
	size_t i;

	if (l->live.conn != conn || method == NULL || strcmp(method, "events") != 0 ||
	    !json_is_array(events))
		return;
	l->live.events += json_array_size(events);
	if (lost > 0 && (uint64_t)lost > l->live.lost) {
		/* Records went missing: the counts are only right again after a new snapshot. */
		DSE_LOG_INFO("dpu", "DPU %s: %lld event records lost: reading its state again",
			     l->name, (long long)((uint64_t)lost - l->live.lost));
		l->live.lost = (uint64_t)lost;
		if (l->live.snap_left == 0)
			live_snapshot(l);
		return;
	}
	json_array_foreach(events, i, e) {
		live_apply(l, e);
		if (strcmp(str(e, "kind"), "port_link") == 0 &&
		    strncmp(str(e, "port"), "vmnic", 5) == 0 && !json_is_true(json_object_get(e, "up")))
			link_down_seen = true;
	}
	/* An uplink went down: if it was the active's last one, the standby takes over. */
	if (link_down_seen)
		arbiter_links(l->m, l);
}

static void live_status(struct dse_rpc_async *conn, int status, const char *why, void *arg)
{
	struct dpu_link *l = arg;

	if (status == 0 || l->live.conn != conn)
		return;
	live_fail(l, LIVE_RETRY, "the stream's connection failed: %s", why);
}

static void live_sub_done(struct dse_rpc_async *conn, const struct dse_rpc_async_reply *reply,
			  void *arg)
{
	struct live_call *c = arg;
	struct dpu_link *l = c->l;

	free(c);
	if (l->live.conn != conn)
		return;
	if (reply->status != 0) {
		if (reply->status != -ECANCELED)
			live_fail(l, reply->status == -EREMOTEIO ? LIVE_RETRY_REFUSED : LIVE_RETRY,
				  "dse-dpud %s events.subscribe: %s",
				  reply->status == -EREMOTEIO ? "refused" : "did not answer",
				  reply->message);
		return;
	}
	l->live.lost = 0;
	live_snapshot(l);
}

/* Opens the stream of a connected DPU: a connection of its own, events.subscribe, a snapshot. */
static void live_start(struct dpu_mgr *m, struct dpu_link *l)
{
	struct dse_rpc_async_opts opts = {.on_status = live_status,
					  .on_note = live_note,
					  .arg = l,
					  .connect_timeout_ms = m->conf.connect_timeout_ms};
	json_t *kinds = json_array(), *params;
	char err[512];
	int r;

	r = dse_rpc_async_tls(m->conf.loop, l->peer, m->conf.port, m->conf.tls, l->name, &opts,
			      &l->live.conn, err, sizeof(err));
	if (r < 0) {
		l->live.conn = NULL;
		json_decref(kinds);
		live_fail(l, LIVE_RETRY, "cannot connect: %s", err[0] ? err : strerror(-r));
		return;
	}
	for (const char *const *k = live_kinds; *k; k++)
		json_array_append_new(kinds, json_string(*k));
	params = json_pack("{s:o}", "kinds", kinds);
	r = live_send(l, "events.subscribe", params, live_sub_done, 0);
	json_decref(params);
	if (r < 0)
		live_fail(l, LIVE_RETRY, "events.subscribe could not be sent: %s", strerror(-r));
}

/* The stream's part of dpu.list: null without a stream. */
static json_t *live_json(const struct dpu_link *l)
{
	const struct dpu_live *v = &l->live;
	json_t *links = json_array(), *x;
	const char *port;

	if (l->state != LINK_CONNECTED) {
		json_decref(links);
		return json_null();
	}
	json_object_foreach(v->links, port, x)
		json_array_append_new(links, json_pack("{s:s, s:O, s:O}", "port", port, "up",
						       json_object_get(x, "up"), "speed_mbps",
						       json_object_get(x, "speed_mbps")));
	return json_pack("{s:s, s:s?, s:o, s:{s:I, s:I}, s:I, s:I, s:I}", "stream",
			 live_ready(v) ? "up" : v->conn ? "starting" : "down", "error",
			 v->error[0] ? v->error : NULL, "links", links, "macs", "learned",
			 (json_int_t)v->macs_learned, "static", (json_int_t)v->macs_static, "conns",
			 (json_int_t)v->conns, "events", (json_int_t)v->events, "lost",
			 (json_int_t)v->lost);
}

/* ---- the failover arbiter ---- */

static struct dpu_link *link_by_name(struct dpu_mgr *m, const char *name);
static const char *config_name(const struct dpu_mgr *m, const struct dpu_link *l);
static void uplinks_up(const struct dpu_link *l, unsigned *ret_n, unsigned *ret_up);

/* An attach hook that runs: its pidfd on the loop until it exits. */
struct attach_run {
	struct dpu_mgr *m;
	bool failover; /* one of the moves of the last failover (m->attach_pending) */
	pid_t pid;
	char what[160];
};

static void ha_demote_check(struct dpu_mgr *m);

static void attach_exited(struct dse_loop *loop, int fd, unsigned events, void *arg)
{
	struct attach_run *a = arg;
	int status = 0;
	pid_t r;

	(void)events;
	r = waitpid(a->pid, &status, WNOHANG);
	if (r == 0)
		return;
	if (r < 0)
		DSE_LOG_ERR("ha", "attaching %s: cannot learn how the hook ended: %s", a->what,
			    strerror(errno));
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		DSE_LOG_INFO("ha", "attached %s", a->what);
	else
		DSE_LOG_ERR("ha", "the attach hook failed to attach %s (%s %d): the VM may be cut "
				  "off; see the hook's output in this log",
			    a->what, WIFEXITED(status) ? "exit" : "signal",
			    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	dse_loop_fd_remove(loop, fd);
	close(fd);
	if (a->failover && a->m->attach_pending > 0) {
		a->m->attach_pending--;
		ha_demote_check(a->m);
	}
	free(a);
}

/*
 * Moves VM 'vm''s attachment to DPU 'dpu' with the attach hook (dse-hostd
 * --attach-hook CMD: CMD VM DPU, run by /bin/sh), without waiting for it;
 * a move of a failover ('failover') is counted in m->attach_pending.
 */
static void attach_vm(struct dpu_mgr *m, const char *vm, const char *dpu, bool failover)
{
	extern char **environ;
	char script[1024];
	const char *argv[] = {"/bin/sh", "-c", script, "dse-hostd-attach", vm, dpu, NULL};
	struct attach_run *a;
	int r, pidfd;

	/* A name is one argument of the hook, never an option of it. */
	if (m->conf.attach_hook == NULL || !model_name_ok(vm) || !model_name_ok(dpu) ||
	    vm[0] == '-' || dpu[0] == '-')
		return;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return;
	snprintf(script, sizeof(script), "exec %s \"$1\" \"$2\"", m->conf.attach_hook);
	snprintf(a->what, sizeof(a->what), "VM %s to DPU %s", vm, dpu);
	a->m = m;
	r = posix_spawn(&a->pid, "/bin/sh", NULL, NULL, (char *const *)argv, environ);
	if (r != 0) {
		DSE_LOG_ERR("ha", "cannot run the attach hook for %s: %s", a->what, strerror(r));
		free(a);
		return;
	}
	pidfd = (int)syscall(SYS_pidfd_open, a->pid, 0);
	if (pidfd < 0 || dse_loop_fd_add(m->conf.loop, pidfd, DSE_LOOP_READ, attach_exited, a) < 0) {
		/* No way to watch it: the prepare hook reaps it (blocking is not an option). */
		if (pidfd >= 0)
			close(pidfd);
		DSE_LOG_WARN("ha", "attaching %s: cannot watch the hook's end", a->what);
		if (m->n_orphans < ORPHANS_MAX)
			m->orphans[m->n_orphans++] = a->pid;
		free(a);
	} else if (failover) {
		a->failover = true;
		m->attach_pending++;
	}
}

/* Moves every VM of switch 'sw' (in 'doc') to DPU 'dpu' (a failover's). */
static void attach_switch(struct dpu_mgr *m, json_t *doc, const char *sw, const char *dpu)
{
	json_t *p, *seg;
	size_t i;

	json_array_foreach(json_object_get(doc, "ports"), i, p) {
		seg = model_find(json_object_get(doc, "segments"), str(p, "segment"));
		if (seg && strcmp(str(seg, "switch"), sw) == 0)
			attach_vm(m, str(p, "vm"), dpu, true);
	}
}

/*
 * A planned failover's last step: once the VMs reach the new active and it
 * announced them, the old active holds.  Until then both forward, so
 * nothing in flight is lost (a frame may arrive twice).
 */
static void ha_demote_check(struct dpu_mgr *m)
{
	struct dpu_link *old;
	json_t *p;

	if (!m->demote[0] || m->attach_pending > 0 || !m->announced)
		return;
	old = link_by_name(m, m->demote);
	m->demote[0] = '\0';
	if (old == NULL || old->ha_want == NULL)
		return;
	p = json_deep_copy(old->ha_want);
	json_object_set_new(p, "role", json_string("standby"));
	json_object_set_new(p, "epoch", json_integer(m->epoch));
	DSE_LOG_NOTICE("ha", "DPU %s holds now: its VMs are on the new active", old->name);
	ha_send(old, p);
	json_decref(p);
}

/* The answer of the new active's fdb.announce after a failover. */
static void announce_done(struct dpu_link *l, const struct dse_rpc_async_reply *reply, void *arg)
{
	(void)arg;
	if (l == NULL)
		return;
	if (reply->status == 0)
		DSE_LOG_NOTICE("ha", "DPU %s announced %lld MACs in %lld frames (%lld lost)",
			       l->name, (long long)json_integer_value(json_object_get(reply->result, "macs")),
			       (long long)json_integer_value(json_object_get(reply->result, "frames")),
			       (long long)json_integer_value(json_object_get(reply->result, "lost")));
	else
		DSE_LOG_WARN("ha", "DPU %s: fdb.announce failed: %s", l->name, reply->message);
	l->m->announced = true;
	ha_demote_check(l->m);
}

/*
 * The new active answered after its ha.role.set (dse-dpud runs the calls
 * of a connection in order): it forwards, so the switch's VMs move to it,
 * and it announces them and the TEP.  'l' NULL or 'reply' NULL: it could
 * not be asked; the VMs move all the same (the arbiter gave it the role).
 */
static void promote_done(struct dpu_link *l, const struct dse_rpc_async_reply *reply, void *arg)
{
	struct dpu_mgr *m;
	json_t *doc = NULL;

	(void)arg;
	(void)reply;
	if (l == NULL)
		return;
	m = l->m;
	if (store_load(m->conf.store, &doc) == 0)
		attach_switch(m, doc, m->failover_sw, l->name);
	json_decref(doc);
	/* The fabric learns at once where the VMs (and the TEP) are now. */
	if (l->state == LINK_CONNECTED &&
	    link_send(l, "fdb.announce", NULL, m->conf.call_timeout_ms, announce_done, NULL) < 0)
		DSE_LOG_WARN("ha", "DPU %s: fdb.announce could not be sent", l->name);
}

/*
 * Makes 'to' the active DPU of active-standby switch 'sw' instead of
 * 'from': records it (the roles survive a restart), promotes 'to' at once
 * (ha.role.set: its datapath already holds every port, rule and the state
 * the sync gave it), moves the switch's VM attachments, has 'to' announce
 * the VMs' MACs and the TEP, and makes 'from' hold: at once when it failed,
 * after the move for a planned failover.  The reconciles the new revision
 * starts then confirm both.  Returns 0, or -EIO when the store failed
 * (nothing changed).
 */
static int ha_promote(struct dpu_mgr *m, json_t *doc, const char *sw, const char *from,
		      const char *to, const char *kind, int64_t detect_ms, const char *why)
{
	struct dpu_link *tl = link_by_name(m, to), *fl = from ? link_by_name(m, from) : NULL;
	bool planned = strcmp(kind, "userInitiated") == 0;
	json_t *p;

	if (store_ha_failover(m->conf.store, sw, from, to, kind, detect_ms, why) < 0)
		return -EIO;
	m->epoch = store_ha_epoch(m->conf.store);
	DSE_LOG_NOTICE("ha", "switch %s: failover (%s) from %s to %s%s%s (epoch %lld)", sw, kind,
		       from ? from : "-", to, why && why[0] ? ": " : "", why ? why : "",
		       (long long)m->epoch);
	p = json_pack("{s:s, s:I, s:s}", "role", "active", "epoch", (json_int_t)m->epoch, "iface",
		      RECONCILE_SYNC_IFACE);
	ha_send(tl, p);
	json_decref(p);
	/* The VMs move once 'to' forwards: its answer to ha.role.set (promote_done()). */
	snprintf(m->failover_sw, sizeof(m->failover_sw), "%s", sw);
	if (tl == NULL)
		attach_switch(m, doc, sw, to);
	else if (tl->state != LINK_CONNECTED ||
		 link_send(tl, "dp.identity.show", NULL, m->conf.call_timeout_ms, promote_done,
			   NULL) < 0)
		promote_done(tl, NULL, NULL);
	m->demote[0] = '\0';
	m->announced = false;
	m->attach_pending = 0;
	if (fl && !planned) {
		/* Failed, maybe only stopped: it holds as soon as it reads this. */
		p = json_pack("{s:s, s:I, s:s}", "role", "standby", "epoch", (json_int_t)m->epoch,
			      "iface", RECONCILE_SYNC_IFACE);
		ha_send(fl, p);
		json_decref(p);
	} else if (fl) {
		snprintf(m->demote, sizeof(m->demote), "%s", from);
	}
	m->failover_ns = now_ns();
	snprintf(m->failover_to, sizeof(m->failover_to), "%s", to);
	m->failover_rev = store_revision(m->conf.store);
	m->kick = true;
	return 0;
}

/*
 * Whether DPU 'name' can take over now: connected and holding its standby
 * config, and with 'need_sync' holding the active's state too (its state
 * sync is ready: a bulk sync completed and the active is heard).
 */
static bool standby_ready(struct dpu_mgr *m, const char *name, bool need_sync, char *why,
			  size_t len)
{
	struct dpu_link *p = link_by_name(m, name);

	if (p == NULL || p->state != LINK_CONNECTED) {
		snprintf(why, len, "standby %s is %s", name,
			 p ? state_names[p->state] : "missing");
		return false;
	}
	if (strcmp(config_name(m, p), "in-sync") != 0) {
		snprintf(why, len, "standby %s is not in sync (config %s)", name,
			 config_name(m, p));
		return false;
	}
	if (need_sync) {
		json_t *sync = p->ha_state ? json_object_get(p->ha_state, "sync") : NULL;

		if (p->ha_state == NULL) {
			snprintf(why, len, "standby %s has not told its state sync yet", name);
			return false;
		}
		if (!json_is_object(sync)) {
			snprintf(why, len, "standby %s runs no state sync", name);
			return false;
		}
		if (!json_is_true(json_object_get(sync, "ready"))) {
			const char *st = str(sync, "state");

			snprintf(why, len, "standby %s is not ready: its state sync is %s (%s)", name,
				 st,
				 strcmp(st, "bulk") == 0 ? "a bulk sync runs"
				 : strcmp(st, "down") == 0
				     ? "nothing from the active for a second: is the sync link up?"
				     : "nothing from the active yet");
			return false;
		}
	}
	return true;
}

/*
 * DPU 'l' failed ('kind': crash, linkDown): if it is the active DPU of an
 * active-standby switch, the standby takes over when it is ready.
 */
static void arbiter_lost(struct dpu_mgr *m, struct dpu_link *l, const char *kind,
			 int64_t detect_ms, const char *why)
{
	json_t *doc = NULL, *inv = NULL, *want, *sw, *d;
	const char *swname, *peer = NULL;
	char busy[300];
	size_t i;

	if (!l->name[0] || store_load(m->conf.store, &doc) < 0 ||
	    store_dpus(m->conf.store, &inv) < 0) {
		json_decref(doc);
		return;
	}
	want = reconcile_desired(doc, inv, l->name);
	swname = json_string_value(json_object_get(want, "switch"));
	sw = swname ? model_find(json_object_get(doc, "switches"), swname) : NULL;
	if (sw == NULL || strcmp(str(sw, "mode"), "active-standby") != 0 ||
	    strcmp(str(want, "role"), "active") != 0)
		goto out;
	json_array_foreach(json_object_get(sw, "dpus"), i, d)
		if (strcmp(json_string_value(d), l->name) != 0)
			peer = json_string_value(d);
	if (peer == NULL)
		goto out;
	if (!standby_ready(m, peer, false, busy, sizeof(busy))) {
		char msg[sizeof(busy) + 200];

		/* Said once: the arbiter looks again every ARBITER_EVERY. */
		snprintf(msg, sizeof(msg), "switch %s: active %s failed (%s), but %s: no failover "
					   "until it is ready",
			 swname, l->name, kind, busy);
		if (strcmp(msg, m->no_failover) != 0)
			DSE_LOG_ERR("ha", "%s", msg);
		snprintf(m->no_failover, sizeof(m->no_failover), "%s", msg);
		goto out;
	}
	/* The active is gone: a standby without all of its state is better than none. */
	if (!standby_ready(m, peer, true, busy, sizeof(busy)))
		DSE_LOG_WARN("ha", "switch %s: failing over all the same, but %s: connections "
				   "it does not know are lost",
			     swname, busy);
	if (m->linkdown_check) {
		struct dpu_link *p = link_by_name(m, peer);
		unsigned n, up;

		uplinks_up(p, &n, &up);
		if (live_ready(&p->live) && n > 0 && up == 0) {
			DSE_LOG_ERR("ha", "switch %s: every uplink of %s is down, and every uplink "
					  "of its standby %s too: no failover",
				    swname, l->name, peer);
			goto out;
		}
	}
	ha_promote(m, doc, swname, l->name, peer, kind, detect_ms, why);
out:
	json_decref(want);
	json_decref(doc);
	json_decref(inv);
}

/*
 * The uplinks of 'l' as its event stream tells them: the number it holds,
 * and of those up (its ports named vmnicK).
 */
static void uplinks_up(const struct dpu_link *l, unsigned *ret_n, unsigned *ret_up)
{
	const char *port;
	json_t *x;

	*ret_n = *ret_up = 0;
	json_object_foreach(l->live.links, port, x)
		if (strncmp(port, "vmnic", 5) == 0) {
			(*ret_n)++;
			*ret_up += json_is_true(json_object_get(x, "up"));
		}
}

/*
 * An uplink of 'l' went down: when every uplink of an active DPU is down
 * and its standby has one up (or says nothing of its links yet), the
 * standby takes over (linkDown).
 */
static void arbiter_links(struct dpu_mgr *m, struct dpu_link *l)
{
	unsigned n, up;

	uplinks_up(l, &n, &up);
	if (n == 0 || up > 0)
		return;
	/* arbiter_lost() checks the role, the standby's readiness, and then its uplinks. */
	m->linkdown_check = true;
	arbiter_lost(m, l, "linkDown", -1, "every uplink of the active DPU is down");
	m->linkdown_check = false;
}

/*
 * Looks at every active-standby switch again: an active DPU that is
 * unreachable or on no link, or whose uplinks are all down, with a standby
 * that is ready now, fails over.  Catches what a decision at the moment of
 * the failure could not do (the standby was syncing then, the active was
 * down when dse-hostd started, a link record lost).
 */
static void arbiter_recheck(struct dpu_mgr *m)
{
	json_t *doc = NULL, *inv = NULL, *sw, *d, *want;
	bool suspect = false;
	size_t i, k;

	/* The store is read only when a DPU looks failed: it may hold many rules. */
	for (unsigned j = 0; j < m->n_links && !suspect; j++) {
		struct dpu_link *l = m->links[j];
		unsigned n, up;

		uplinks_up(l, &n, &up);
		suspect = l->state == LINK_UNREACHABLE ||
			  (l->state == LINK_CONNECTED && live_ready(&l->live) && n > 0 && up == 0);
	}
	if (!suspect)
		return;
	if (store_load(m->conf.store, &doc) < 0 || store_dpus(m->conf.store, &inv) < 0) {
		json_decref(doc);
		return;
	}
	json_array_foreach(json_object_get(doc, "switches"), i, sw) {
		if (strcmp(str(sw, "mode"), "active-standby") != 0)
			continue;
		json_array_foreach(json_object_get(sw, "dpus"), k, d) {
			const char *name = json_string_value(d);
			struct dpu_link *l = link_by_name(m, name);
			unsigned n, up;

			want = reconcile_desired(doc, inv, name);
			if (strcmp(str(want, "role"), "active") != 0 || l == NULL) {
				json_decref(want);
				continue;
			}
			json_decref(want);
			if (l->state == LINK_UNREACHABLE) {
				arbiter_lost(m, l, "crash", -1, l->error);
			} else if (l->state == LINK_CONNECTED && live_ready(&l->live)) {
				uplinks_up(l, &n, &up);
				if (n > 0 && up == 0)
					arbiter_links(m, l);
			}
			break;
		}
	}
	json_decref(doc);
	json_decref(inv);
}

/* ---- scheduling ---- */

/*
 * The loop's prepare hook: rescans, connects and starts reconciles when
 * due, a callback asked (kick) or the store changed; returns how long the
 * loop may wait for the next of those.
 */
static int mgr_prepare(struct dse_loop *loop, void *arg)
{
	struct dpu_mgr *m = arg;
	uint64_t now = now_ns(), next;
	uint64_t rev = store_revision(m->conf.store);

	(void)loop;
	m->kick = false;
	if (now >= m->next_scan_ns) {
		scan(m);
		m->next_scan_ns = now + SCAN_EVERY;
	}
	for (unsigned i = 0; i < m->n_orphans;) {
		if (waitpid(m->orphans[i], NULL, WNOHANG) != 0)
			m->orphans[i] = m->orphans[--m->n_orphans];
		else
			i++;
	}
	next = m->next_scan_ns;
	if (now >= m->next_arbiter_ns) {
		arbiter_recheck(m);
		m->next_arbiter_ns = now + ARBITER_EVERY;
	}
	if (m->next_arbiter_ns < next)
		next = m->next_arbiter_ns;
	for (unsigned i = 0; i < m->n_links; i++) {
		struct dpu_link *l = m->links[i];

		if (l->state != LINK_CONNECTED && l->conn == NULL && now >= l->next_connect_ns)
			link_connect(m, l);
		if (l->state == LINK_CONNECTED && l->rc == NULL &&
		    (l->dirty || !l->synced || l->synced_revision != rev || now >= l->next_resync_ns))
			recon_start(m, l, rev);
		if (l->state == LINK_CONNECTED && l->live.conn == NULL) {
			if (now >= l->live.next_try_ns)
				live_start(m, l);
			else if (l->live.next_try_ns < next)
				next = l->live.next_try_ns;
		}
		if (l->state == LINK_CONNECTED) {
			if (l->rc == NULL && l->next_resync_ns < next)
				next = l->next_resync_ns;
		} else if (l->conn == NULL && l->next_connect_ns < next) {
			next = l->next_connect_ns;
		}
	}
	if (m->kick)
		return 0;
	now = now_ns();
	if (next <= now)
		return 0;
	return next - now > 1000 * MS ? 1000 : (int)((next - now + MS - 1) / MS);
}

int dpu_mgr_new(const struct dpu_mgr_conf *conf, struct dpu_mgr **ret)
{
	struct dpu_mgr *m;

	if (conf->loop == NULL || conf->heartbeat_ms < 0 || conf->heartbeat_misses < 0 ||
	    (conf->heartbeat_ms &&
	     (conf->heartbeat_ms < DPU_HEARTBEAT_MS_MIN || conf->heartbeat_ms > DPU_HEARTBEAT_MS_MAX)) ||
	    conf->heartbeat_misses > DPU_HEARTBEAT_MISSES_MAX)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->conf = *conf;
	if (m->conf.heartbeat_ms == 0)
		m->conf.heartbeat_ms = DPU_HEARTBEAT_MS_DEFAULT;
	if (m->conf.heartbeat_misses == 0)
		m->conf.heartbeat_misses = DPU_HEARTBEAT_MISSES_DEFAULT;
	m->prepare_id = dse_loop_prepare_add(conf->loop, mgr_prepare, m);
	if (m->prepare_id < 0) {
		free(m);
		return -ENOMEM;
	}
	*ret = m;
	return 0;
}

void dpu_mgr_free(struct dpu_mgr *m)
{
	if (m == NULL)
		return;
	dse_loop_prepare_remove(m->conf.loop, m->prepare_id);
	/*
	 * Out of the table before it is freed: the API calls its close cancels
	 * look the DPUs up by name.
	 */
	while (m->n_links > 0)
		link_free(m->links[--m->n_links]);
	free(m);
}

/* ---- reporting ---- */

/*
 * The DPU's config as the API shows it: a DPU that held the store's
 * revision but has a reconcile due or under way is "syncing" from the
 * change on, not "in-sync" until the reconcile notices.
 */
static const char *config_name(const struct dpu_mgr *m, const struct dpu_link *l)
{
	if (l == NULL || l->state != LINK_CONNECTED)
		return "unknown";
	if (strcmp(l->config, "in-sync") == 0 &&
	    (l->rc != NULL || l->dirty || !l->synced ||
	     l->synced_revision != store_revision(m->conf.store)))
		return "syncing";
	return l->config;
}

static json_t *entry_json(const struct dpu_mgr *m, struct dpu_link *l, json_t *rec, json_t *doc,
			  json_t *inv, const char *name)
{
	static const char *const fields[] = {"vendor", "model", "hw_version", "fw_version",
					     "serial", "pci", NULL};
	json_t *o = json_object(), *desired = reconcile_desired(doc, inv, name);

	json_object_set_new(o, "name", name[0] ? json_string(name) : json_null());
	json_object_set_new(o, "link", l ? json_string(l->ifname)
					 : rec && json_object_get(rec, "link")
						   ? json_incref(json_object_get(rec, "link"))
						   : json_null());
	json_object_set_new(o, "address", l ? json_string(l->peer) : json_null());
	json_object_set_new(o, "state", json_string(l ? state_names[l->state] : "missing"));
	json_object_set(o, "role", json_object_get(desired, "role"));
	json_object_set(o, "switch", json_object_get(desired, "switch"));
	json_object_set_new(o, "config", json_string(config_name(m, l)));
	json_object_set_new(o, "sync",
			    strcmp(config_name(m, l), "syncing") == 0
				? json_pack("{s:i, s:i}", "calls_done",
					    l->rc && l->rc->plan ? (int)l->sync_done : 0,
					    "calls_left", (int)l->sync_left)
				: json_null());
	json_object_set_new(o, "heartbeat",
			    l ? json_pack("{s:i, s:i, s:i, s:o}", "interval_ms", beat_ms(m),
					  "timeout_ms", beat_ms(m), "misses_allowed",
					  m->conf.heartbeat_misses, "rtt",
					  dse_rtt_json(&l->heartbeats))
			      : json_null());
	json_object_set_new(o, "live", l ? live_json(l) : json_null());
	json_object_set_new(o, "synced_revision",
			    l && l->state == LINK_CONNECTED && l->synced && !l->dirty
				? json_integer((json_int_t)l->synced_revision)
				: json_null());
	for (const char *const *f = fields; *f; f++) {
		json_t *v = l && l->identity ? json_object_get(l->identity, *f) : NULL;

		if (!json_is_string(v))
			v = json_object_get(rec, *f);
		json_object_set_new(o, *f, json_is_string(v) ? json_incref(v) : json_null());
	}
	json_object_set_new(o, "version",
			    l && l->version[0] ? json_string(l->version)
			    : json_is_string(json_object_get(rec, "version"))
				    ? json_incref(json_object_get(rec, "version"))
				    : json_null());
	json_object_set_new(o, "generation",
			    l && l->generation >= 0 ? json_integer(l->generation) : json_null());
	json_object_set_new(o, "last_seen",
			    json_is_integer(json_object_get(rec, "last_seen"))
				    ? json_incref(json_object_get(rec, "last_seen"))
				    : json_null());
	if (l && l->state == LINK_CONNECTED && l->config_error[0])
		json_object_set_new(o, "error", json_string(l->config_error));
	else if (l && l->state != LINK_CONNECTED && l->error[0])
		json_object_set_new(o, "error", json_string(l->error));
	else if (!l)
		json_object_set_new(o, "error",
				    json_string(rec ? "no internal link has this DPU now: check "
						      "that it is powered and cabled (dse-lab status)"
						    : "a switch names this DPU, but the host has "
						      "never seen it: check the name (dsectl dpu "
						      "list) and that the DPU is up"));
	else
		json_object_set_new(o, "error", json_null());
	json_decref(desired);
	return o;
}

static int cmp_entry(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *nx = json_is_string(json_object_get(x, "name")) ? str(x, "name") : str(x, "link");
	const char *ny = json_is_string(json_object_get(y, "name")) ? str(y, "name") : str(y, "link");

	return strcmp(nx, ny);
}

static json_t *collect(struct dpu_mgr *m, json_t *doc, json_t *inv)
{
	json_t *list = json_array(), *rec, *sw, *d, **v;
	size_t i, k, n;

	for (unsigned j = 0; j < m->n_links; j++) {
		struct dpu_link *l = m->links[j];

		json_array_append_new(list, entry_json(m, l, l->name[0] ? find_record(inv, l->name)
								     : NULL,
						       doc, inv, l->name));
	}
	json_array_foreach(inv, i, rec)
		if (model_find(list, str(rec, "name")) == NULL)
			json_array_append_new(list, entry_json(m, NULL, rec, doc, inv,
							       str(rec, "name")));
	json_array_foreach(json_object_get(doc, "switches"), i, sw)
		json_array_foreach(json_object_get(sw, "dpus"), k, d)
			if (model_find(list, json_string_value(d)) == NULL)
				json_array_append_new(list, entry_json(m, NULL, NULL, doc, inv,
								       json_string_value(d)));
	n = json_array_size(list);
	v = calloc(n ? n : 1, sizeof(*v));
	if (v == NULL)
		return list;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(list, i));
	qsort(v, n, sizeof(*v), cmp_entry);
	json_array_clear(list);
	for (i = 0; i < n; i++)
		json_array_append_new(list, v[i]);
	free(v);
	return list;
}

int dpu_mgr_list(struct dpu_mgr *m, json_t **ret)
{
	json_t *doc, *inv;
	int r = store_load(m->conf.store, &doc);

	if (r < 0)
		return r;
	r = store_dpus(m->conf.store, &inv);
	if (r < 0) {
		json_decref(doc);
		return r;
	}
	*ret = collect(m, doc, inv);
	json_decref(doc);
	json_decref(inv);
	return 0;
}

int dpu_mgr_show(struct dpu_mgr *m, const char *name, json_t **ret)
{
	json_t *doc, *inv, *list, *e, *found = NULL, *desired;
	size_t i;
	int r = store_load(m->conf.store, &doc);

	if (r < 0)
		return r;
	r = store_dpus(m->conf.store, &inv);
	if (r < 0) {
		json_decref(doc);
		return r;
	}
	list = collect(m, doc, inv);
	json_array_foreach(list, i, e)
		if (strcmp(str(e, "name"), name) == 0 || strcmp(str(e, "link"), name) == 0)
			found = e;
	if (found == NULL) {
		r = -ENOENT;
		goto out;
	}
	desired = reconcile_desired(doc, inv, str(found, "name"));
	json_object_del(desired, "switch");
	json_object_del(desired, "role");
	json_object_set_new(found, "desired", desired);
	json_object_set_new(found, "store_revision",
			    json_integer((json_int_t)store_revision(m->conf.store)));
	*ret = json_incref(found);
out:
	json_decref(list);
	json_decref(doc);
	json_decref(inv);
	return r;
}

int dpu_mgr_forget(struct dpu_mgr *m, const char *name, char *err, size_t err_len)
{
	int r;

	for (unsigned i = 0; i < m->n_links; i++) {
		struct dpu_link *l = m->links[i];

		if (strcmp(l->name, name) == 0 && l->state == LINK_CONNECTED) {
			snprintf(err, err_len,
				 "DPU '%s' is connected on %s: the host forgets only a DPU that is "
				 "gone or whose identity no longer matches",
				 name, l->ifname);
			return -EBUSY;
		}
	}
	r = store_dpu_forget(m->conf.store, name);
	if (r == -ENOENT) {
		snprintf(err, err_len, "the host has no record of DPU '%s' (dsectl dpu list "
				       "shows them)",
			 name);
		return r;
	}
	if (r < 0) {
		snprintf(err, err_len, "%s", store_last_error(m->conf.store));
		return r;
	}
	for (unsigned i = 0; i < m->n_links; i++) {
		struct dpu_link *l = m->links[i];

		/* A DPU refused for its identity is welcome again at once. */
		if (strcmp(l->name, name) == 0 && l->state == LINK_MISMATCH) {
			l->next_connect_ns = 0;
			l->pushed_generation = -2;
		}
	}
	DSE_LOG_NOTICE("dpu", "forgot DPU %s", name);
	return 0;
}

static struct dpu_link *link_by_name(struct dpu_mgr *m, const char *name)
{
	struct dpu_link *found = NULL;

	/* A connected link wins over one that failed under the same name. */
	for (unsigned i = 0; i < m->n_links; i++)
		if (strcmp(m->links[i]->name, name) == 0 &&
		    (found == NULL || m->links[i]->state == LINK_CONNECTED))
			found = m->links[i];
	return found;
}

const char *dpu_mgr_config_error(struct dpu_mgr *m, const char *name)
{
	struct dpu_link *l = link_by_name(m, name);

	if (l == NULL)
		return NULL;
	return l->state == LINK_CONNECTED && strcmp(l->config, "error") == 0 ? l->config_error
									       : "";
}

const char *dpu_mgr_state(struct dpu_mgr *m, const char *name)
{
	struct dpu_link *l = link_by_name(m, name);

	return l ? state_names[l->state] : "missing";
}

/* A call of the API on a DPU. */
struct api_call {
	struct dpu_mgr *m;
	dpu_mgr_call_fn *cb;
	void *arg;
	char name[64];
	char method[64];
	int timeout_ms;
};

static void api_call_done(struct dpu_link *l, const struct dse_rpc_async_reply *reply, void *arg)
{
	struct api_call *a = arg;
	struct dpu_link *now = link_by_name(a->m, a->name);
	char err[1024] = "";

	(void)l;
	if (reply->status == -EREMOTEIO)
		snprintf(err, sizeof(err), "dse-dpud of %s refused %s: %s", a->name, a->method,
			 reply->message);
	else if (reply->status == -ETIMEDOUT)
		snprintf(err, sizeof(err),
			 "DPU %s did not answer %s within %d ms: it may be overloaded or hung "
			 "(dsectl dpu show %s)",
			 a->name, a->method, a->timeout_ms, a->name);
	else if (reply->status < 0 && now && now->state != LINK_CONNECTED && now->error[0])
		/* The host found it gone (heartbeats, another call) and closed the connection. */
		snprintf(err, sizeof(err), "DPU %s is %s: %s", a->name, state_names[now->state],
			 now->error);
	else if (reply->status < 0)
		snprintf(err, sizeof(err), "DPU %s is unreachable: %s failed: %s%s%s", a->name,
			 a->method, strerror(-reply->status), reply->message[0] ? ": " : "",
			 reply->message);
	a->cb(a->arg, reply->status, reply->result, reply->error, err);
	free(a);
}

int dpu_mgr_call(struct dpu_mgr *m, const char *name, const char *method, json_t *params,
		 dpu_mgr_call_fn *cb, void *arg, char *err, size_t err_len)
{
	struct dpu_link *l = link_by_name(m, name);
	struct api_call *a;
	int r;

	if (l == NULL) {
		snprintf(err, err_len,
			 "DPU %s is missing: no internal link has it now (dsectl dpu list)", name);
		return -ENOTCONN;
	}
	if (l->state != LINK_CONNECTED) {
		snprintf(err, err_len, "DPU %s is %s%s%s", name, state_names[l->state],
			 l->error[0] ? ": " : "", l->error);
		return -ENOTCONN;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	a->m = m;
	a->cb = cb;
	a->arg = arg;
	a->timeout_ms = m->conf.call_timeout_ms;
	snprintf(a->name, sizeof(a->name), "%s", name);
	snprintf(a->method, sizeof(a->method), "%s", method);
	r = link_send(l, method, params, m->conf.call_timeout_ms, api_call_done, a);
	if (r < 0) {
		snprintf(err, err_len, "DPU %s: %s could not be sent: %s", name, method,
			 strerror(-r));
		free(a);
	}
	return r;
}

void dpu_mgr_counts(struct dpu_mgr *m, unsigned *ret_links, unsigned *ret_connected)
{
	unsigned c = 0;

	for (unsigned i = 0; i < m->n_links; i++)
		c += m->links[i]->state == LINK_CONNECTED;
	*ret_links = m->n_links;
	*ret_connected = c;
}

/* ---- high availability: the API ---- */

/* The active-standby switch 'name' of 'doc', or NULL with why in 'err'. */
static json_t *ha_switch(json_t *doc, const char *name, char *err, size_t len)
{
	json_t *sw = model_find(json_object_get(doc, "switches"), name);

	if (sw == NULL)
		snprintf(err, len, "no switch '%s' (dsectl switch list shows them)", name);
	else if (strcmp(str(sw, "mode"), "active-standby") != 0)
		snprintf(err, len, "switch '%s' is in mode %s: only an active-standby switch has "
				   "a standby to fail over to",
			 name, str(sw, "mode"));
	else
		return sw;
	return NULL;
}

/* The entry of ha.show of switch 'sw'. */
/* What each DPU of 'sw' says of its role and state sync (its last ha.show). */
static json_t *ha_dpus(struct dpu_mgr *m, json_t *sw)
{
	json_t *out = json_array(), *d;
	size_t i;

	json_array_foreach(json_object_get(sw, "dpus"), i, d) {
		struct dpu_link *l = link_by_name(m, json_string_value(d));
		json_t *h = l ? l->ha_state : NULL, *sync = h ? json_object_get(h, "sync") : NULL;
		json_t *o = json_pack("{s:O, s:s}", "name", d, "link",
				      l ? state_names[l->state] : "missing");

		if (h) {
			json_object_set(o, "role", json_object_get(h, "role"));
			json_object_set(o, "hold", json_object_get(h, "hold"));
			json_object_set(o, "epoch", json_object_get(h, "epoch"));
		}
		if (json_is_object(sync)) {
			static const char *const keys[] = {"side",     "state", "ready",   "lag_msgs",
							   "lag_ms",   "conns", "fdb",	   "bulks",
							   "last_bulk", "resent", "dup", NULL};

			json_t *so = json_object();

			for (const char *const *k = keys; *k; k++)
				json_object_set(so, *k, json_object_get(sync, *k));
			json_object_set_new(o, "sync", so);
		} else {
			json_object_set_new(o, "sync", json_null());
		}
		json_array_append_new(out, o);
	}
	return out;
}

static json_t *ha_entry(struct dpu_mgr *m, json_t *doc, json_t *inv, json_t *sw)
{
	const char *active = NULL, *standby = NULL;
	json_t *d, *want, *ev = NULL, *out;
	char why[300] = "";
	size_t i;

	json_array_foreach(json_object_get(sw, "dpus"), i, d) {
		want = reconcile_desired(doc, inv, json_string_value(d));
		if (strcmp(str(want, "role"), "active") == 0)
			active = json_string_value(d);
		else
			standby = json_string_value(d);
		json_decref(want);
	}
	if (standby == NULL)
		snprintf(why, sizeof(why), "the switch has no second DPU");
	else
		standby_ready(m, standby, true, why, sizeof(why));
	if (store_ha_events(m->conf.store, str(sw, "name"), 1, &ev) < 0)
		ev = NULL;
	out = json_pack("{s:s, s:s, s:s?, s:s?, s:b, s:s?, s:o}", "switch", str(sw, "name"),
			"mode", str(sw, "mode"), "active", active, "standby", standby, "ready",
			why[0] == '\0', "problem", why[0] ? why : NULL, "last",
			json_array_size(ev) ? json_incref(json_array_get(ev, 0)) : json_null());
	json_decref(ev);
	json_object_set_new(out, "dpus", ha_dpus(m, sw));
	return out;
}

int dpu_mgr_ha_show(struct dpu_mgr *m, const char *name, json_t **ret, char *err, size_t len)
{
	json_t *doc = NULL, *inv = NULL, *out, *sw;
	size_t i;

	if (store_load(m->conf.store, &doc) < 0 || store_dpus(m->conf.store, &inv) < 0) {
		json_decref(doc);
		snprintf(err, len, "%s", store_last_error(m->conf.store));
		return -EIO;
	}
	out = json_array();
	if (name) {
		sw = ha_switch(doc, name, err, len);
		if (sw == NULL) {
			json_decref(out);
			json_decref(doc);
			json_decref(inv);
			return -ENOENT;
		}
		json_array_append_new(out, ha_entry(m, doc, inv, sw));
	} else {
		json_array_foreach(json_object_get(doc, "switches"), i, sw)
			if (strcmp(str(sw, "mode"), "active-standby") == 0)
				json_array_append_new(out, ha_entry(m, doc, inv, sw));
	}
	json_decref(doc);
	json_decref(inv);
	*ret = out;
	return 0;
}

int dpu_mgr_ha_failover(struct dpu_mgr *m, const char *name, const char *to, bool force,
			json_t **ret, char *err, size_t len)
{
	json_t *doc = NULL, *inv = NULL, *sw, *e = NULL;
	const char *from, *standby;
	char why[300];
	int r = -EINVAL;

	if (store_load(m->conf.store, &doc) < 0 || store_dpus(m->conf.store, &inv) < 0) {
		json_decref(doc);
		snprintf(err, len, "%s", store_last_error(m->conf.store));
		return -EIO;
	}
	sw = ha_switch(doc, name, err, len);
	if (sw == NULL) {
		r = -ENOENT;
		goto out;
	}
	e = ha_entry(m, doc, inv, sw);
	from = str(e, "active");
	standby = str(e, "standby");
	if (!standby[0]) {
		snprintf(err, len, "switch '%s' has no second DPU to fail over to", name);
		goto out;
	}
	if (to && strcmp(to, standby) != 0) {
		snprintf(err, len, "%s is not the standby of switch '%s'%s%s", to, name,
			 strcmp(to, from) == 0 ? ": it is its active DPU already" : ": its standby is ",
			 strcmp(to, from) == 0 ? "" : standby);
		goto out;
	}
	if (!standby_ready(m, standby, true, why, sizeof(why)) && !force) {
		snprintf(err, len, "no failover of switch '%s': %s (--force fails over all the same)",
			 name, why);
		r = -EAGAIN;
		goto out;
	}
	if (ha_promote(m, doc, name, from, standby, "userInitiated", -1, "dsectl ha failover") < 0) {
		snprintf(err, len, "%s", store_last_error(m->conf.store));
		r = -EIO;
		goto out;
	}
	*ret = json_pack("{s:s, s:s, s:s}", "switch", name, "from", from, "to", standby);
	r = 0;
out:
	json_decref(e);
	json_decref(doc);
	json_decref(inv);
	return r;
}
