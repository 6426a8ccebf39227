/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The FDB's event records (core/events.h): fdb_learned, fdb_moved,
 * fdb_aged and fdb_deleted (also for flushed entries), on the ring of the
 * worker that changes the FDB (worker 0, its writer: the fdb node, its
 * learn ring, the ageing of the housekeeping, and the fdb, port and segment
 * calls, which run on it through dp_call()).  The FDB calls its change hook
 * once per changed entry, from the function that changes it; the hook set
 * by dse_l2_fdb_events_attach() makes the record.
 */
#ifndef DSE_FDB_EVENTS_H
#define DSE_FDB_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "fdb.h"

/*
 * Makes a record of 'kind' (DSE_EV_FDB_*) for entry 'e', whose port was
 * 'old_port' before a move (else the same as e->port), on the calling
 * worker's ring, if anyone wants the kind.  Worker context.
 */
void dse_l2_fdb_event(unsigned kind, const struct dse_fdb_entry *e, uint16_t old_port);

/* Sets 'fdb''s change hook to make the records (dp_init(), once). */
void dse_l2_fdb_events_attach(struct dse_fdb *fdb);

#endif
