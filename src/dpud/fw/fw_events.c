/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The firewall's event records (core/events.h): connections created,
 * changed state and closed, made by the connection table's event hook on
 * the worker; and denied connections, made by the fw node on the worker
 * and logged on the control thread by the subscriber here, with the deny
 * log's rate limit (the worker never formats or writes a line).
 */
#include "fw_events.h"

#include <string.h>

#include <rte_byteorder.h>

#include "clock.h"
#include "dp.h"
#include "log.h"

/* The connection table's event hook: runs on the worker, inside conntrack.c. */
static void fw_ct_event(void *arg, const struct dse_ct *ct, uint32_t index, unsigned what,
			unsigned detail)
{
	static const uint8_t kinds[] = {
	    [DSE_CT_EVENT_CREATED] = DSE_EV_CONN_CREATED,
	    [DSE_CT_EVENT_STATE] = DSE_EV_CONN_STATE,
	    [DSE_CT_EVENT_CLOSED] = DSE_EV_CONN_CLOSED,
	};
	struct dse_worker *w = dp_worker();
	const struct dse_ct_entry *e = &ct->entries[index];
	struct dse_event ev;
	struct dse_ct_conn c;

	RTE_SET_USED(arg);
	if (what >= RTE_DIM(kinds) || !dse_events_wanted(kinds[what]))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = kinds[what];
	switch (what) {
	case DSE_CT_EVENT_CREATED:
		if (dse_ct_get(ct, index, w->now_ns, &c) < 0)
			return;
		ev.u.conn.id = c.id;
		ev.u.conn.rule = c.mark;
		ev.u.conn.zone = c.zone;
		ev.u.conn.proto = c.proto;
		ev.u.conn.family = c.family;
		ev.u.conn.sport = c.sport;
		ev.u.conn.dport = c.dport;
		memcpy(ev.u.conn.src, c.src, 16);
		memcpy(ev.u.conn.dst, c.dst, 16);
		break;
	case DSE_CT_EVENT_STATE:
		ev.u.conn_state.id = e->id;
		ev.u.conn_state.zone = dse_ct_zone(ct, index);
		ev.u.conn_state.old_state = (uint8_t)detail;
		ev.u.conn_state.state = e->state;
		ev.u.conn_state.wscale[0] = e->tcp[0].wscale;
		ev.u.conn_state.wscale[1] = e->tcp[1].wscale;
		break;
	default:
		ev.u.conn_closed.id = e->id;
		ev.u.conn_closed.rule = e->mark;
		ev.u.conn_closed.zone = dse_ct_zone(ct, index);
		ev.u.conn_closed.state = e->state;
		ev.u.conn_closed.reason = (uint8_t)detail;
		memcpy(ev.u.conn_closed.packets, e->packets, sizeof(e->packets));
		memcpy(ev.u.conn_closed.bytes, e->bytes, sizeof(e->bytes));
		break;
	}
	dse_event_emit(&w->events, &ev, w->now_ns);
}

_Static_assert((int)DSE_CT_CLOSE_EXPIRED == (int)DSE_EV_CLOSE_EXPIRED &&
		   (int)DSE_CT_CLOSE_DELETED == (int)DSE_EV_CLOSE_DELETED &&
		   (int)DSE_CT_CLOSE_EVICTED == (int)DSE_EV_CLOSE_EVICTED &&
		   (int)DSE_CT_CLOSE_REOPENED == (int)DSE_EV_CLOSE_REOPENED &&
		   (int)DSE_CT_CLOSE_REPLACED == (int)DSE_EV_CLOSE_REPLACED,
	       "conntrack's close reasons are the events' ones");

void dse_fw_events_attach(struct dse_ct *ct)
{
	ct->event_fn = fw_ct_event;
	ct->event_arg = NULL;
}

void dse_fw_deny_event(struct dse_worker *w, uint32_t rule_id, uint8_t action,
		       const struct dse_fw_key *key)
{
	struct dse_event ev;

	/* The bucket: DSE_DENY_EVENTS_PER_S a second, refilled whole each second. */
	if (w->now_ns - w->deny_refill_ns >= 1000000000ull) {
		w->deny_refill_ns = w->now_ns;
		w->deny_tokens = DSE_DENY_EVENTS_PER_S;
	}
	if (w->deny_tokens == 0) {
		w->deny_suppressed++;
		return;
	}
	w->deny_tokens--;
	memset(&ev, 0, sizeof(ev));
	ev.kind = DSE_EV_DENY;
	ev.aux = action;
	ev.u.deny.rule = rule_id;
	ev.u.deny.proto = key->proto;
	ev.u.deny.family = key->family;
	ev.u.deny.dir = key->dir;
	ev.u.deny.icmp_type = key->icmp_type;
	ev.u.deny.segment = rte_be_to_cpu_16(key->segment);
	ev.u.deny.port = rte_be_to_cpu_16(key->port);
	/* The rules keep an IPv4 address in the first 4 bytes; records IPv4-mapped. */
	if (key->family == 4) {
		dse_ct_addr_from_ipv4(ev.u.deny.src, key->src);
		dse_ct_addr_from_ipv4(ev.u.deny.dst, key->dst);
	} else {
		memcpy(ev.u.deny.src, key->src, 16);
		memcpy(ev.u.deny.dst, key->dst, 16);
	}
	ev.u.deny.sport = rte_be_to_cpu_16(key->sport);
	ev.u.deny.dport = rte_be_to_cpu_16(key->dport);
	dse_event_emit(&w->events, &ev, w->now_ns);
}

void dse_fw_deny_key(const struct dse_event *ev, struct dse_fw_key *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->proto = ev->u.deny.proto;
	ret->family = ev->u.deny.family;
	ret->dir = ev->u.deny.dir;
	ret->icmp_type = ev->u.deny.icmp_type;
	ret->segment = rte_cpu_to_be_16(ev->u.deny.segment);
	ret->port = rte_cpu_to_be_16(ev->u.deny.port);
	if (ret->family == 4) {
		memcpy(ret->src, ev->u.deny.src + 12, 4);
		memcpy(ret->dst, ev->u.deny.dst + 12, 4);
	} else {
		memcpy(ret->src, ev->u.deny.src, 16);
		memcpy(ret->dst, ev->u.deny.dst, 16);
	}
	ret->sport = rte_cpu_to_be_16(ev->u.deny.sport);
	ret->dport = rte_cpu_to_be_16(ev->u.deny.dport);
}

/* The workers' suppressed denials already said in the log. */
static uint64_t deny_suppressed_seen;

/* The deny log: a subscriber to deny records, on the control thread. */
static void fw_deny_log(void *arg, const struct dse_event *ev)
{
	uint64_t now = 0;
	struct dse_fw_key key;
	uint16_t seg, port;

	RTE_SET_USED(arg);
	for (unsigned i = 0; i < dp.n_workers; i++)
		now += dp.workers[i].deny_suppressed;
	dse_fw_deny_key(ev, &key);
	/*
	 * The names as they are now (this thread owns the tables): a segment
	 * or port removed since the denial is written by its index.
	 */
	seg = rte_be_to_cpu_16(key.segment);
	port = rte_be_to_cpu_16(key.port);
	dse_fw_denylog_write(&dp.denylog, ev->u.deny.rule, (enum dse_fw_action)ev->aux,
			     now - deny_suppressed_seen, &key,
			     seg < DSE_MAX_SEGMENTS && dp.segments[seg].used ? dp.segments[seg].name
									     : NULL,
			     port < DSE_MAX_PORTS && dp.ports[port].used ? dp.ports[port].name : NULL);
	deny_suppressed_seen = now;
}

int dse_fw_events_init(void)
{
	const struct dse_event_sub s = {.mask = DSE_EV_BIT(DSE_EV_DENY), .fn = fw_deny_log};
	int r = dse_events_subscribe(&s);

	return r < 0 ? r : 0;
}
