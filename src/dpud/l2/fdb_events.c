/* SPDX-License-Identifier: BSD-3-Clause */
/* The FDB's event records (fdb_events.h). */
#include "fdb_events.h"

#include <string.h>

#include <rte_common.h>

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
	ev.u.fdb.port = dse_fdb_entry_port(e);
	ev.u.fdb.old_port = old_port;
	ev.u.fdb.is_static = dse_fdb_entry_static(e);
	dse_event_emit(&w->events, &ev, w->now_ns);
}

/* The FDB's change hook: one record per changed entry, of the kind it maps to. */
static void fdb_change(void *arg, const struct dse_fdb *fdb, uint32_t index,
		       const struct dse_fdb_entry *e, enum dse_fdb_change what, uint16_t old_port)
{
	static const unsigned kind[] = {
		[DSE_FDB_LEARNED] = DSE_EV_FDB_LEARNED, [DSE_FDB_MOVED] = DSE_EV_FDB_MOVED,
		[DSE_FDB_AGED] = DSE_EV_FDB_AGED,	[DSE_FDB_DELETED] = DSE_EV_FDB_DELETED,
		[DSE_FDB_FLUSHED] = DSE_EV_FDB_DELETED,
	};

	(void)arg;
	(void)fdb;
	(void)index;
	/* A static entry added or re-pointed by fdb.add has no record kind. */
	if (what == DSE_FDB_ADDED || what >= RTE_DIM(kind))
		return;
	dse_l2_fdb_event(kind[what], e, what == DSE_FDB_MOVED ? old_port : dse_fdb_entry_port(e));
}

void dse_l2_fdb_events_attach(struct dse_fdb *fdb)
{
	fdb->change_fn = fdb_change;
	fdb->change_arg = NULL;
}
