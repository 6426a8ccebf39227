/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The FDB's event records (core/events.h): fdb_learned, fdb_moved,
 * fdb_aged and fdb_deleted, on the ring of the worker that changes the FDB
 * (the fdb node, the ageing of the housekeeping, and the fdb, port and
 * segment calls, which run on the worker through dp_call()).
 *
 * Every record is made by dse_l2_fdb_event(); the other functions are
 * called just before the FDB function that removes entries, and make the
 * records of the entries it is about to remove (the FDB tells nobody what
 * it removes yet: when it calls a hook per change, that hook calls
 * dse_l2_fdb_event() and these go).
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

/* Makes the fdb_deleted records of what dse_fdb_flush() with the same arguments removes. */
void dse_l2_fdb_flush_events(uint16_t segment, uint16_t port, bool with_static);

/* Makes the fdb_aged records of what dse_fdb_age() at 'now_s' removes. */
void dse_l2_fdb_age_events(uint32_t now_s);

/*
 * Learns 'mac' of 'seg' behind 'port' as dse_fdb_learn() does, making the
 * fdb_learned or fdb_moved record while someone subscribes to them.  The
 * FDB's writer only (worker 0: its own frames and its learn ring).
 */
int dse_l2_fdb_learn(uint16_t seg, const uint8_t *mac, uint16_t port, uint32_t now_s,
		     bool *moved);

#endif
