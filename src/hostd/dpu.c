/* SPDX-License-Identifier: BSD-3-Clause */
/* Discovery, connection and reconcile scheduling of the host's DPUs (dpu.h). */
#include "dpu.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "model.h"
#include "reconcile.h"
#include "rpc_client.h"
#include "rtt.h"

#define MAX_LINKS        16
#define MS               1000000ull
#define SCAN_EVERY       (2000 * MS)
#define HEARTBEAT_EVERY  (2000 * MS)
#define RESYNC_EVERY     (30000 * MS)
#define RETRY_FAILED     (10000 * MS)
#define BACKOFF_MIN_MS   250
#define BACKOFF_MAX_MS   5000
#define MISMATCH_RETRY   (5000 * MS)
#define SEEN_EVERY       (30000 * MS)

enum link_state {
	LINK_CONNECTING,
	LINK_CONNECTED,
	LINK_UNREACHABLE,
	LINK_MISMATCH,
};

static const char *const state_names[] = {"connecting", "connected", "unreachable",
					  "identity-mismatch"};

/* One internal link and the DPU at its far end. */
struct dpu_link {
	char ifname[IFNAMSIZ];
	char local[INET_ADDRSTRLEN];
	char peer[INET_ADDRSTRLEN];
	bool seen;                    /* found by the last scan */
	enum link_state state;
	struct dse_rpc_client *client; /* set while connected */
	char name[64];                /* the DPU's name, "" until known */
	json_t *identity;             /* the last dp.identity answer */
	char version[64];             /* dse-dpud's version (dp.show) */
	char error[512];              /* the last connection problem, for a person */
	unsigned backoff_ms;
	uint64_t next_connect_ns;
	uint64_t next_heartbeat_ns;
	uint64_t next_resync_ns;
	uint64_t next_seen_ns;        /* when to refresh last_seen in the store */
	int64_t boot_id;              /* the DPU's start, -1 unknown */
	int64_t generation;           /* the DPU's config generation, -1 unknown */
	bool synced;                  /* the DPU holds store revision 'synced_revision' */
	uint64_t synced_revision;
	bool dirty;                   /* reconcile at the next turn */
	const char *config;           /* in-sync, syncing, error, refused, unmanaged, unknown */
	struct dse_rtt heartbeats;    /* round trips and misses of its heartbeats */
	unsigned sync_done;           /* syncing: calls run since the sync began */
	unsigned sync_left;           /* syncing: calls of the plan still to run */
	char config_error[512];
	int64_t pushed_boot_id;       /* what the store records, to write only changes */
	int64_t pushed_generation;
	uint64_t pushed_revision;
	int pushed_managed;
};

struct dpu_mgr {
	struct dpu_mgr_conf conf;
	struct dpu_link links[MAX_LINKS];
	unsigned n_links;
	uint64_t next_scan_ns;
};

int dpu_mgr_new(const struct dpu_mgr_conf *conf, struct dpu_mgr **ret)
{
	struct dpu_mgr *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -ENOMEM;
	m->conf = *conf;
	*ret = m;
	return 0;
}

static void link_close(struct dpu_link *l)
{
	dse_rpc_client_free(l->client);
	l->client = NULL;
}

void dpu_mgr_free(struct dpu_mgr *m)
{
	if (m == NULL)
		return;
	for (unsigned i = 0; i < m->n_links; i++) {
		link_close(&m->links[i]);
		json_decref(m->links[i].identity);
	}
	free(m);
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* ---- discovery ---- */

static struct dpu_link *link_find(struct dpu_mgr *m, const char *ifname)
{
	for (unsigned i = 0; i < m->n_links; i++)
		if (strcmp(m->links[i].ifname, ifname) == 0)
			return &m->links[i];
	return NULL;
}

static void scan(struct dpu_mgr *m)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) < 0) {
		DSE_LOG_WARN("dpu", "cannot list interfaces: %s", strerror(errno));
		return;
	}
	for (unsigned k = 0; k < m->n_links; k++)
		m->links[k].seen = false;
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
			l = &m->links[m->n_links++];
			memset(l, 0, sizeof(*l));
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
				link_close(l);
				l->state = LINK_CONNECTING;
				l->next_connect_ns = 0;
			}
		}
		inet_ntop(AF_INET, &peer, l->peer, sizeof(l->peer));
	}
	freeifaddrs(ifa);
	for (unsigned k = 0; k < m->n_links;) {
		struct dpu_link *l = &m->links[k];

		if (l->seen) {
			k++;
			continue;
		}
		DSE_LOG_NOTICE("dpu", "internal link %s is gone%s%s", l->ifname,
			       l->name[0] ? ": DPU " : "", l->name);
		link_close(l);
		json_decref(l->identity);
		m->links[k] = m->links[--m->n_links];
	}
}

/* ---- connections ---- */

static void set_error(struct dpu_link *l, const char *msg)
{
	if (strcmp(l->error, msg) != 0)
		DSE_LOG_WARN("dpu", "%s%s%s: %s", l->ifname, l->name[0] ? " " : "", l->name, msg);
	snprintf(l->error, sizeof(l->error), "%s", msg);
}

/* Drops the connection and schedules the next attempt after the backoff. */
static void link_fail(struct dpu_link *l, enum link_state state, const char *msg)
{
	uint64_t now = dse_clock_ns();

	link_close(l);
	set_error(l, msg);
	if (l->state == LINK_CONNECTED) {
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
	l->state = state;
	l->synced = false;
}

/*
 * Calls 'method' on the link's DPU, waiting at most the heartbeat timeout
 * (these are the short calls: identity, info); writes "why" to 'msg' on
 * failure.
 */
static int link_call(struct dpu_mgr *m, struct dpu_link *l, const char *method, json_t **ret,
		     char *msg, size_t len)
{
	json_t *error = NULL;
	int r = dse_rpc_client_call(l->client, method, NULL, m->conf.heartbeat_timeout_ms, ret,
				    &error);

	if (r == -EREMOTEIO) {
		snprintf(msg, len, "dse-dpud answered %s with an error: %s", method,
			 str(error, "message"));
		json_decref(error);
	} else if (r < 0) {
		const char *why = dse_rpc_client_last_error(l->client);

		snprintf(msg, len,
			 "lost the connection to %s:%u (%s failed: %s%s%s): the host reconnects "
			 "by itself; if it stays so, check dse-dpud on the DPU (dse-lab status)",
			 l->peer, m->conf.port, method, strerror(-r), why[0] ? ", " : "", why);
	}
	return r;
}

/* Returns the integer member 'key' of 'o', or -1. */
static int64_t int_member(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* Reads the DPU's start and config generation into the link (dp.identity). */
static int read_generation(struct dpu_mgr *m, struct dpu_link *l, char *msg, size_t len)
{
	json_t *res = NULL;
	int r = link_call(m, l, "dp.identity.show", &res, msg, len);

	if (r == 0) {
		json_decref(l->identity);
		l->identity = json_incref(res);
		l->generation = int_member(res, "generation");
		l->boot_id = int_member(res, "boot_id");
	}
	json_decref(res);
	return r;
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
		struct dpu_link *o = &m->links[i];

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

static void link_connect(struct dpu_mgr *m, struct dpu_link *l)
{
	char err[512], msg[768];
	json_t *id = NULL, *info = NULL, *inv = NULL, *rec, *seen;
	const char *cn;
	int r;

	r = dse_rpc_client_tls(l->peer, m->conf.port, m->conf.tls, NULL,
			       m->conf.connect_timeout_ms, &l->client, err, sizeof(err));
	if (r == -EPERM) {
		/* A certificate of our CA that is not a DPU's: not a DPU the host configures. */
		snprintf(msg, sizeof(msg),
			 "the DPU at %s:%u is refused: %s: issue it a DPU certificate "
			 "(dse-hostd cert issue)",
			 l->peer, m->conf.port, err);
		link_fail(l, LINK_MISMATCH, msg);
		return;
	}
	if (r < 0) {
		snprintf(msg, sizeof(msg),
			 "cannot connect to the DPU at %s:%u: %s: %s", l->peer, m->conf.port, err,
			 r == -EACCES ? "the DPU needs a certificate from this host's CA "
					"(dse-hostd cert issue)"
				      : "is dse-dpud running on the DPU? (dse-lab status)");
		link_fail(l, LINK_UNREACHABLE, msg);
		return;
	}
	cn = dse_rpc_client_peer_cn(l->client);
	r = link_call(m, l, "dp.identity.show", &id, err, sizeof(err));
	if (r < 0 || !json_is_object(id)) {
		json_decref(id);
		link_fail(l, LINK_UNREACHABLE, r < 0 ? err : "dp.identity did not return an object");
		return;
	}
	json_decref(l->identity);
	l->identity = id;
	if (link_call(m, l, "dp.show", &info, err, sizeof(err)) < 0) {
		json_decref(info);
		link_fail(l, LINK_UNREACHABLE, err);
		return;
	}
	snprintf(l->version, sizeof(l->version), "%s", str(info, "version"));
	l->generation = int_member(id, "generation");
	l->boot_id = int_member(id, "boot_id");
	json_decref(info);
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
	l->next_heartbeat_ns = dse_clock_ns() + HEARTBEAT_EVERY;
	l->next_seen_ns = dse_clock_ns() + SEEN_EVERY;
	l->next_resync_ns = dse_clock_ns() + RESYNC_EVERY;
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
}

static void link_heartbeat(struct dpu_mgr *m, struct dpu_link *l)
{
	int64_t gen = l->generation, boot = l->boot_id;
	uint64_t t0 = dse_clock_ns();
	char err[512];

	if (read_generation(m, l, err, sizeof(err)) < 0) {
		dse_rtt_miss(&l->heartbeats);
		link_fail(l, LINK_UNREACHABLE, err);
		return;
	}
	dse_rtt_add(&l->heartbeats, dse_clock_ns() - t0);
	if (l->boot_id != boot) {
		DSE_LOG_NOTICE("dpu", "DPU %s restarted: reconciling", l->name);
		l->dirty = true;
	} else if (l->generation != gen) {
		DSE_LOG_INFO("dpu", "DPU %s: config generation %lld (host knew %lld): reconciling",
			     l->name, (long long)l->generation, (long long)gen);
		l->dirty = true;
	}
	l->next_heartbeat_ns = dse_clock_ns() + HEARTBEAT_EVERY;
	if (dse_clock_ns() >= l->next_seen_ns) {
		json_t *seen = json_pack("{s:s}", "name", l->name);

		store_dpu_seen(m->conf.store, seen);
		json_decref(seen);
		l->next_seen_ns = dse_clock_ns() + SEEN_EVERY;
	}
}

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

static void link_reconcile(struct dpu_mgr *m, struct dpu_link *l, uint64_t rev)
{
	json_t *doc = NULL, *inv = NULL, *desired, *rec;
	uint64_t now = dse_clock_ns();
	enum reconcile_result res;
	unsigned calls = 0, left = 0;
	char err[512];
	bool managed;

	if (store_load(m->conf.store, &doc) < 0 || store_dpus(m->conf.store, &inv) < 0) {
		json_decref(doc);
		json_decref(inv);
		return;
	}
	desired = reconcile_desired(doc, inv, l->name);
	rec = find_record(inv, l->name);
	managed = json_is_string(json_object_get(desired, "switch"));
	l->next_resync_ns = now + RESYNC_EVERY;
	if (!managed && !(rec && json_integer_value(json_object_get(rec, "managed")))) {
		/* Serves no switch and holds nothing of the host's: not the host's to touch. */
		l->config = "unmanaged";
		l->config_error[0] = '\0';
		goto synced;
	}
	if (json_is_string(json_object_get(desired, "refused"))) {
		if (strcmp(l->config, "refused") != 0)
			DSE_LOG_WARN("dpu", "DPU %s not configured: %s", l->name,
				     str(desired, "refused"));
		l->config = "refused";
		snprintf(l->config_error, sizeof(l->config_error), "%s", str(desired, "refused"));
		goto synced;
	}
	res = reconcile_step(l->client, desired, m->conf.call_timeout_ms,
			     now + (uint64_t)m->conf.reconcile_budget_ms * MS, &calls, &left, err,
			     sizeof(err));
	/* The progress of a sync that takes more than one step, for dpu.list. */
	l->sync_done = strcmp(l->config, "syncing") == 0 ? l->sync_done + calls : calls;
	l->sync_left = left;
	switch (res) {
	case RECONCILE_DONE:
		if (calls > 0 && read_generation(m, l, err, sizeof(err)) < 0) {
			link_fail(l, LINK_UNREACHABLE, err);
			goto out;
		}
		if (calls > 0 || strcmp(l->config, "in-sync") != 0)
			DSE_LOG_NOTICE("dpu", "DPU %s holds store revision %llu (%u calls, config "
					      "generation %lld)",
				       l->name, (unsigned long long)rev, calls,
				       (long long)l->generation);
		/* A DPU that left its switch is empty now, and no longer the host's. */
		l->config = managed ? "in-sync" : "unmanaged";
		l->config_error[0] = '\0';
		record_pushed(m, l, rev, managed);
		goto synced;
	case RECONCILE_MORE:
		l->config = "syncing";
		l->dirty = true;
		break;
	case RECONCILE_FAILED:
		if (strcmp(l->config_error, err) != 0)
			DSE_LOG_WARN("dpu", "DPU %s: reconcile failed: %s", l->name, err);
		l->config = "error";
		snprintf(l->config_error, sizeof(l->config_error), "%s", err);
		/* Read what the DPU holds now, so the generation check does not fire again. */
		if (read_generation(m, l, err, sizeof(err)) < 0) {
			link_fail(l, LINK_UNREACHABLE, err);
			goto out;
		}
		l->next_resync_ns = now + RETRY_FAILED;
		l->synced = true;
		l->synced_revision = rev;
		l->dirty = false;
		break;
	case RECONCILE_LOST:
		link_fail(l, LINK_UNREACHABLE, err);
		break;
	}
	goto out;
synced:
	l->synced = true;
	l->synced_revision = rev;
	l->dirty = false;
out:
	json_decref(desired);
	json_decref(doc);
	json_decref(inv);
}

int dpu_mgr_run(struct dpu_mgr *m)
{
	uint64_t now = dse_clock_ns(), next;
	uint64_t rev = store_revision(m->conf.store);

	if (now >= m->next_scan_ns) {
		scan(m);
		m->next_scan_ns = now + SCAN_EVERY;
	}
	next = m->next_scan_ns;
	for (unsigned i = 0; i < m->n_links; i++) {
		struct dpu_link *l = &m->links[i];

		if (l->state != LINK_CONNECTED) {
			if (dse_clock_ns() >= l->next_connect_ns)
				link_connect(m, l);
		} else if (dse_clock_ns() >= l->next_heartbeat_ns) {
			link_heartbeat(m, l);
		}
		if (l->state == LINK_CONNECTED &&
		    (l->dirty || !l->synced || l->synced_revision != rev ||
		     dse_clock_ns() >= l->next_resync_ns))
			link_reconcile(m, l, rev);
		if (l->state == LINK_CONNECTED) {
			if (l->dirty)
				next = 0;
			if (l->next_heartbeat_ns < next)
				next = l->next_heartbeat_ns;
		} else if (l->next_connect_ns < next) {
			next = l->next_connect_ns;
		}
	}
	now = dse_clock_ns();
	if (next <= now)
		return 0;
	return next - now > 1000 * MS ? 1000 : (int)((next - now) / MS);
}

/* ---- reporting ---- */

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
	json_object_set_new(o, "config",
			    json_string(l && l->state == LINK_CONNECTED ? l->config : "unknown"));
	json_object_set_new(o, "sync",
			    l && l->state == LINK_CONNECTED && strcmp(l->config, "syncing") == 0
				? json_pack("{s:i, s:i}", "calls_done", (int)l->sync_done,
					    "calls_left", (int)l->sync_left)
				: json_null());
	json_object_set_new(o, "heartbeat",
			    l ? json_pack("{s:i, s:i, s:o}", "interval_ms",
					  (int)(HEARTBEAT_EVERY / MS), "timeout_ms",
					  m->conf.heartbeat_timeout_ms, "rtt", dse_rtt_json(&l->heartbeats))
			      : json_null());
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
		struct dpu_link *l = &m->links[j];

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
		struct dpu_link *l = &m->links[i];

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
		struct dpu_link *l = &m->links[i];

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
		if (strcmp(m->links[i].name, name) == 0 &&
		    (found == NULL || m->links[i].state == LINK_CONNECTED))
			found = &m->links[i];
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

int dpu_mgr_call(struct dpu_mgr *m, const char *name, const char *method, json_t *params,
		 json_t **ret_result, json_t **ret_error, char *err, size_t err_len)
{
	struct dpu_link *l = link_by_name(m, name);
	json_t *error = NULL;
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
	r = dse_rpc_client_call(l->client, method, params, m->conf.call_timeout_ms, ret_result,
				&error);
	if (r == -EREMOTEIO) {
		snprintf(err, err_len, "dse-dpud of %s refused %s: %s", name, method,
			 str(error, "message"));
		if (ret_error)
			*ret_error = error;
		else
			json_decref(error);
	} else if (r < 0) {
		const char *why = dse_rpc_client_last_error(l->client);
		char msg[512];

		snprintf(msg, sizeof(msg),
			 "lost the connection to %s:%u (%s failed: %s%s%s): the host reconnects "
			 "by itself; if it stays so, check dse-dpud on the DPU (dse-lab status)",
			 l->peer, m->conf.port, method, strerror(-r), why[0] ? ", " : "", why);
		snprintf(err, err_len, "DPU %s is unreachable: %s", name, msg);
		link_fail(l, LINK_UNREACHABLE, msg);
	}
	return r;
}

void dpu_mgr_counts(struct dpu_mgr *m, unsigned *ret_links, unsigned *ret_connected)
{
	unsigned c = 0;

	for (unsigned i = 0; i < m->n_links; i++)
		c += m->links[i].state == LINK_CONNECTED;
	*ret_links = m->n_links;
	*ret_connected = c;
}
