/* SPDX-License-Identifier: BSD-3-Clause */
/* The FDB's event records (fdb_events.h). */
#include "fdb_events.h"

#include <string.h>

#include <rte_hash.h>

#include "dp.h"
#include "events.h"

void dse_l2_fdb_event(unsigned kind, const struct dse_fdb_entry *e, uint16_t old_port)
{
	struct dse_worker *w = dp_worker();
	struct dse_event ev;

	if (!dse_events_wanted(kind))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.kind = (uint8_t)kind;
	memcpy(ev.u.fdb.mac, e->mac, 6);
	ev.u.fdb.segment = e->segment;
	ev.u.fdb.port = e->port;
	ev.u.fdb.old_port = old_port;
	ev.u.fdb.is_static = e->is_static;
	dse_event_emit(&w->events, &ev, w->now_ns);
}

void dse_l2_fdb_flush_events(uint16_t segment, uint16_t port, bool with_static)
{
	uint32_t cap = rte_hash_max_key_id(dp.fdb->hash);

	if (!dse_events_wanted(DSE_EV_FDB_DELETED))
		return;
	/* The same test as dse_fdb_flush()'s. */
	for (uint32_t i = 0; i <= cap; i++) {
		const struct dse_fdb_entry *e = &dp.fdb->entries[i];

		if (!e->used || (e->is_static && !with_static))
			continue;
		if (segment != DSE_FDB_ALL && e->segment != segment)
			continue;
		if (port != DSE_FDB_ALL && e->port != port)
			continue;
		dse_l2_fdb_event(DSE_EV_FDB_DELETED, e, e->port);
	}
}

void dse_l2_fdb_age_events(uint32_t now_s)
{
	uint32_t cap = rte_hash_max_key_id(dp.fdb->hash);

	if (dp.fdb->ageing_s == 0 || !dse_events_wanted(DSE_EV_FDB_AGED))
		return;
	/* The same test as dse_fdb_age()'s. */
	for (uint32_t i = 0; i <= cap; i++) {
		const struct dse_fdb_entry *e = &dp.fdb->entries[i];

		if (e->used && !e->is_static &&
		    (uint32_t)(now_s - e->last_seen_s) > dp.fdb->ageing_s)
			dse_l2_fdb_event(DSE_EV_FDB_AGED, e, e->port);
	}
}
