/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control side of the event records (events.h): the control thread's
 * tick that drains the workers' rings and watches the ports' links, and
 * the first consumer, the method events.subscribe, which streams the
 * records to the caller's connection as JSON-RPC notifications "events"
 * (docs/api.md).
 *
 * A subscriber that does not read never holds the control thread up: the
 * notifications queued for it are bounded (EV_MAX_QUEUED bytes); while its
 * queue is full its records are not even turned into JSON, only counted,
 * and the count goes out with its next notification ("lost") and in
 * stats.show.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_ethdev.h>
#include <rte_ether.h>

#include "clock.h"
#include "dp.h"
#include "dse_api.h"
#include "events.h"
#include "module.h"
#include "port.h"
#include "rpc_events.h"

/* Connections that may subscribe at once. */
#define EV_MAX_CLIENTS 16
/* Notification bytes queued for one subscriber beyond which its records are lost. */
#define EV_MAX_QUEUED (1u << 20)
/* Records in one notification. */
#define EV_NOTE_MAX 256
/* Records taken from the rings in one tick: a bounded pause of the control thread. */
#define EV_TICK_BUDGET 8192
/* How often the ports' links are looked at. */
#define EV_LINK_EVERY_NS 500000000ull

/* One subscribing connection. */
struct ev_client {
	bool used;
	uint64_t conn;	    /* its connection (jsonrpc.h) */
	int handle;	    /* its subscription in the registry */
	json_t *pending;    /* records for its next notification */
	bool full;	    /* its queue was full when this notification began */
	uint64_t delivered; /* records queued for it */
	uint64_t lost;	    /* records it did not get: its queue was full */
};

static struct ev_client clients[EV_MAX_CLIENTS];
/* The server the subscribers' connections belong to. */
static struct dse_rpc_server *ev_srv;

/* The last link state seen of each port: -1 unknown, 0 down, 1 up. */
static int8_t link_up[DSE_MAX_PORTS];
static char link_name[DSE_MAX_PORTS][DSE_NAME_MAX];
static uint64_t link_next_ns;
/* Times the links were looked at. */
static uint64_t link_polls;

/* Writes address 'a' (16 bytes, IPv4-mapped for family 4) as text to 'buf'. */
static const char *addr_str(uint8_t family, const uint8_t a[16], char *buf, size_t len)
{
	if (family == 4)
		return inet_ntop(AF_INET, a + 12, buf, (socklen_t)len);
	return inet_ntop(AF_INET6, a, buf, (socklen_t)len);
}

/* Sets "segment" (its name, null when gone) and "segment_id" of 'o'. */
static void set_segment(json_t *o, uint16_t seg)
{
	bool known = seg < DSE_MAX_SEGMENTS && dp.segments[seg].used;

	json_object_set_new(o, "segment", known ? json_string(dp.segments[seg].name) : json_null());
	json_object_set_new(o, "segment_id", json_integer(seg));
}

/* Sets member 'key' to the name of port 'port' (null when gone) and 'key'_id. */
static void set_port(json_t *o, const char *key, uint16_t port)
{
	bool known = port < DSE_MAX_VPORTS && dp.ports[port].used;
	char id[48];

	json_object_set_new(o, key, known ? json_string(dp.ports[port].name) : json_null());
	snprintf(id, sizeof(id), "%s_id", key);
	json_object_set_new(o, id, json_integer(port));
}

/* Sets the family, protocol, addresses and ports of a connection or a packet in 'o'. */
static void set_tuple(json_t *o, uint8_t family, uint8_t proto, const uint8_t src[16],
		      const uint8_t dst[16], uint16_t sport, uint16_t dport)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];

	json_object_set_new(o, "family", json_integer(family));
	json_object_set_new(o, "proto", json_integer(proto));
	json_object_set_new(o, "src", json_string(addr_str(family, src, a, sizeof(a))));
	json_object_set_new(o, "dst", json_string(addr_str(family, dst, b, sizeof(b))));
	json_object_set_new(o, "sport", json_integer(sport));
	json_object_set_new(o, "dport", json_integer(dport));
}

json_t *dse_event_json(const struct dse_event *ev)
{
	json_t *o = json_object();
	const char *kind = dse_event_kind_name(ev->kind);

	if (o == NULL || kind == NULL) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "kind", json_string(kind));
	json_object_set_new(
	    o, "worker",
	    json_integer(ev->worker == DSE_EVENT_WORKER_CONTROL ? -1 : (json_int_t)ev->worker));
	json_object_set_new(o, "seq", json_integer(ev->seq));
	json_object_set_new(o, "ts_ns", json_integer((json_int_t)ev->ts_ns));
	switch (ev->kind) {
	case DSE_EV_FDB_LEARNED:
	case DSE_EV_FDB_MOVED:
	case DSE_EV_FDB_AGED:
	case DSE_EV_FDB_DELETED: {
		const uint8_t *m = ev->u.fdb.mac;
		char mac[18];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
		json_object_set_new(o, "mac", json_string(mac));
		set_segment(o, ev->u.fdb.segment);
		set_port(o, "port", ev->u.fdb.port);
		if (ev->kind == DSE_EV_FDB_MOVED)
			set_port(o, "old_port", ev->u.fdb.old_port);
		json_object_set_new(o, "static", json_boolean(ev->u.fdb.is_static));
		break;
	}
	case DSE_EV_CONN_CREATED:
		json_object_set_new(o, "id", json_integer(ev->u.conn.id));
		json_object_set_new(o, "rule", json_integer(ev->u.conn.rule));
		set_segment(o, ev->u.conn.zone);
		set_tuple(o, ev->u.conn.family, ev->u.conn.proto, ev->u.conn.src, ev->u.conn.dst,
			  ev->u.conn.sport, ev->u.conn.dport);
		break;
	case DSE_EV_CONN_STATE:
		json_object_set_new(o, "id", json_integer(ev->u.conn_state.id));
		set_segment(o, ev->u.conn_state.zone);
		json_object_set_new(o, "old_state",
				    json_string(dse_ct_state_name(ev->u.conn_state.old_state)));
		json_object_set_new(o, "state",
				    json_string(dse_ct_state_name(ev->u.conn_state.state)));
		break;
	case DSE_EV_CONN_CLOSED:
		json_object_set_new(o, "id", json_integer(ev->u.conn_closed.id));
		json_object_set_new(o, "rule", json_integer(ev->u.conn_closed.rule));
		set_segment(o, ev->u.conn_closed.zone);
		json_object_set_new(o, "state",
				    json_string(dse_ct_state_name(ev->u.conn_closed.state)));
		json_object_set_new(
		    o, "reason",
		    json_string(dse_event_close_reason_name(ev->u.conn_closed.reason)));
		json_object_set_new(o, "packets_orig",
				    json_integer((json_int_t)ev->u.conn_closed.packets[0]));
		json_object_set_new(o, "packets_reply",
				    json_integer((json_int_t)ev->u.conn_closed.packets[1]));
		json_object_set_new(o, "bytes_orig",
				    json_integer((json_int_t)ev->u.conn_closed.bytes[0]));
		json_object_set_new(o, "bytes_reply",
				    json_integer((json_int_t)ev->u.conn_closed.bytes[1]));
		break;
	case DSE_EV_PORT_LINK: {
		char name[sizeof(ev->u.link.name) + 1];

		memcpy(name, ev->u.link.name, sizeof(ev->u.link.name));
		name[sizeof(ev->u.link.name)] = '\0';
		json_object_set_new(o, "port", json_string(name));
		json_object_set_new(o, "port_id", json_integer(ev->u.link.port));
		json_object_set_new(o, "up", json_boolean(ev->u.link.up));
		json_object_set_new(o, "speed_mbps", json_integer(ev->u.link.speed_mbps));
		break;
	}
	case DSE_EV_DENY:
		json_object_set_new(o, "rule", json_integer(ev->u.deny.rule));
		json_object_set_new(o, "action", json_string(dse_fw_action_name(ev->aux)));
		set_segment(o, ev->u.deny.segment);
		if (ev->u.deny.port == DSE_NO_PORT)
			json_object_set_new(o, "port", json_null());
		else
			set_port(o, "port", ev->u.deny.port);
		json_object_set_new(o, "direction", json_string(dse_fw_dir_name(ev->u.deny.dir)));
		set_tuple(o, ev->u.deny.family, ev->u.deny.proto, ev->u.deny.src, ev->u.deny.dst,
			  ev->u.deny.sport, ev->u.deny.dport);
		if (ev->u.deny.proto == 1 || ev->u.deny.proto == 58)
			json_object_set_new(o, "icmp_type", json_integer(ev->u.deny.icmp_type));
		break;
	default:
		break;
	}
	return o;
}

/* Forgets subscriber 'c'. */
static void client_free(struct ev_client *c)
{
	dse_events_unsubscribe(c->handle);
	json_decref(c->pending);
	memset(c, 0, sizeof(*c));
}

/* Sends the records pending for 'c' as one notification (or counts them lost). */
static void client_send(struct ev_client *c)
{
	size_t n = json_array_size(c->pending);
	json_t *params;
	int r;

	if (n == 0 && !c->full)
		return;
	if (n > 0) {
		params = json_pack("{s:O, s:I}", "events", c->pending, "lost", (json_int_t)c->lost);
		r = params ? dse_rpc_notify(ev_srv, c->conn, "events", params, EV_MAX_QUEUED)
			   : -ENOMEM;
		if (r == -ENOENT) {
			client_free(c);
			return;
		}
		if (r == 0)
			c->delivered += n;
		else
			c->lost += n;
		json_array_clear(c->pending);
	}
	c->full = false;
}

/* A record for subscriber 'arg'. */
static void client_event(void *arg, const struct dse_event *ev)
{
	struct ev_client *c = arg;
	json_t *o;

	if (json_array_size(c->pending) == 0 && !c->full) {
		long q = dse_rpc_conn_queued(ev_srv, c->conn);

		if (q < 0) {
			client_free(c);
			return;
		}
		/* Its queue is full: this notification's records are only counted. */
		c->full = (size_t)q >= EV_MAX_QUEUED;
	}
	if (c->full) {
		c->lost++;
		return;
	}
	o = dse_event_json(ev);
	if (o == NULL || json_array_append_new(c->pending, o) < 0) {
		c->lost++;
		return;
	}
	if (json_array_size(c->pending) >= EV_NOTE_MAX)
		client_send(c);
}

/* The end of a drain for subscriber 'arg'. */
static void client_flush(void *arg)
{
	struct ev_client *c = arg;

	if (c->used)
		client_send(c);
}

/* A connection closed: its subscription ends. */
static void conn_closed(void *arg, uint64_t conn)
{
	RTE_SET_USED(arg);
	for (unsigned i = 0; i < EV_MAX_CLIENTS; i++)
		if (clients[i].used && clients[i].conn == conn)
			client_free(&clients[i]);
}

/*
 * The kinds of the "kinds" param as a mask (absent: every kind).  The
 * schema's names are the kinds' wire names in the order of enum
 * dse_event_kind, so an item's value is its kind (test_events checks it).
 */
static uint32_t kinds_mask(const struct dse_api_dpud_events_subscribe *a)
{
	uint32_t mask = 0;
	size_t i;
	json_t *k;

	if (!a->has_kinds)
		return DSE_EV_ALL;
	json_array_foreach (a->kinds, i, k) {
		int kind = dse_event_kind_find(json_string_value(k));

		if (kind >= 0)
			mask |= DSE_EV_BIT(kind);
	}
	return mask;
}

/* The kinds of 'mask' as an array of names. */
static json_t *kinds_json(uint32_t mask)
{
	json_t *a = json_array();

	for (unsigned k = 0; k < DSE_EV__MAX; k++)
		if (mask & DSE_EV_BIT(k))
			json_array_append_new(a, json_string(dse_event_kind_name(k)));
	return a;
}

static int events_subscribe(struct dse_rpc_call *call, json_t **ret)
{
	struct ev_client *c = NULL;
	uint32_t mask = kinds_mask(call->args);
	int h;

	if (call->conn == 0 || call->srv == NULL)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "events.subscribe streams to a connection: call it on one");
	ev_srv = call->srv;
	dse_rpc_server_set_close_hook(ev_srv, conn_closed, NULL);
	for (unsigned i = 0; i < EV_MAX_CLIENTS; i++) {
		if (clients[i].used && clients[i].conn == call->conn) {
			/* Subscribing again changes the kinds. */
			c = &clients[i];
			dse_events_set_mask(c->handle, mask);
			goto out;
		}
	}
	for (unsigned i = 0; i < EV_MAX_CLIENTS && c == NULL; i++)
		if (!clients[i].used)
			c = &clients[i];
	if (c == NULL)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "%d connections subscribe already, the most at once",
				     EV_MAX_CLIENTS);
	c->pending = json_array();
	if (c->pending == NULL)
		return -ENOMEM;
	h = dse_events_subscribe(&(struct dse_event_sub){
	    .mask = mask, .fn = client_event, .flush = client_flush, .arg = c});
	if (h < 0) {
		json_decref(c->pending);
		c->pending = NULL;
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "no subscription: %s", strerror(-h));
	}
	c->used = true;
	c->conn = call->conn;
	c->handle = h;
out:
	dse_rpc_conn_set_streaming(ev_srv, call->conn);
	*ret = json_pack("{s:i, s:o, s:i}", "subscription", (int)(c - clients), "kinds",
			 kinds_json(mask), "max_queued_bytes", (int)EV_MAX_QUEUED);
	return 0;
}

/* Looks at the ports' links and publishes every change (control thread). */
static void links_poll(uint64_t now)
{
	for (uint16_t p = 0; p < DSE_MAX_PORTS; p++) {
		const struct dse_port *port = &dp.ports[p];
		struct rte_eth_link link;
		struct dse_event ev;

		if (!port->used) {
			link_up[p] = -1;
			continue;
		}
		if (strcmp(link_name[p], port->name) != 0) {
			/* A new port in this slot: its first state is no change. */
			snprintf(link_name[p], sizeof(link_name[p]), "%s", port->name);
			link_up[p] = -1;
		}
		if (dse_port_link(p, &link) != 0)
			continue;
		if (link_up[p] == (int8_t)link.link_status)
			continue;
		if (link_up[p] >= 0 && dse_events_wanted(DSE_EV_PORT_LINK)) {
			memset(&ev, 0, sizeof(ev));
			ev.kind = DSE_EV_PORT_LINK;
			ev.u.link.port = p;
			ev.u.link.up = link.link_status ? 1 : 0;
			ev.u.link.speed_mbps =
			    link.link_status && link.link_speed != RTE_ETH_SPEED_NUM_UNKNOWN
				? link.link_speed
				: 0;
			memcpy(ev.u.link.name, port->name,
			       RTE_MIN(strlen(port->name), sizeof(ev.u.link.name)));
			dse_events_publish(&ev, now);
		}
		link_up[p] = (int8_t)link.link_status;
	}
}

bool dse_events_tick(void)
{
	struct dse_event_producer *p[DSE_MAX_WORKERS];
	struct timespec ts;
	uint64_t mono;
	unsigned n;

	/* The schedule follows the real clock (a test may freeze the datapath's). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	mono = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (mono >= link_next_ns) {
		links_poll(dse_clock_ns());
		link_polls++;
		link_next_ns = mono + EV_LINK_EVERY_NS;
	}
	for (unsigned i = 0; i < dp.n_workers; i++)
		p[i] = &dp.workers[i].events;
	n = dse_events_drain(p, dp.n_workers, EV_TICK_BUDGET);
	return n == EV_TICK_BUDGET;
}

/* Records lost at the workers' full rings, over the workers. */
static uint64_t events_lost_total(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < dp.n_workers; i++)
		n += dp.workers[i].events.lost;
	return n;
}

static void events_stats(json_t *stats)
{
	json_t *workers = json_array(), *subs = json_array();

	for (unsigned i = 0; i < dp.n_workers; i++) {
		const struct dse_event_producer *ep = &dp.workers[i].events;

		json_array_append_new(
		    workers,
		    json_pack("{s:i, s:I, s:I, s:I, s:I}", "worker", (int)i, "sent",
			      (json_int_t)ep->sent, "lost", (json_int_t)ep->lost, "queued",
			      (json_int_t)(ep->ring ? rte_ring_count(ep->ring) : 0),
			      "deny_suppressed", (json_int_t)dp.workers[i].deny_suppressed));
	}
	for (unsigned i = 0; i < EV_MAX_CLIENTS; i++) {
		const struct ev_client *c = &clients[i];
		long q;

		if (!c->used)
			continue;
		q = ev_srv ? dse_rpc_conn_queued(ev_srv, c->conn) : 0;
		json_array_append_new(subs, json_pack("{s:i, s:I, s:I, s:I}", "subscription",
						      (int)i, "delivered", (json_int_t)c->delivered,
						      "lost", (json_int_t)c->lost, "queued_bytes",
						      (json_int_t)(q > 0 ? q : 0)));
	}
	json_object_set_new(stats, "events_lost", json_integer((json_int_t)events_lost_total()));
	json_object_set_new(stats, "events",
			    json_pack("{s:I, s:o, s:o, s:I}", "lost", (json_int_t)events_lost_total(),
				      "workers", workers, "subscribers", subs, "link_polls",
				      (json_int_t)link_polls));
}

static const struct dse_rpc_method events_methods[] = {
    {"events.subscribe", events_subscribe},
    {NULL, NULL},
};

static struct dse_module events_module = {
    .name = "events",
    .order = 5,
    .methods = events_methods,
    .stats = events_stats,
};
DSE_MODULE_REGISTER(events_module)
