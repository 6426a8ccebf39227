/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control side of the event records: the control thread's tick and
 * the JSON form of a record that events.subscribe sends (rpc_events.c).
 */
#ifndef DSE_RPC_EVENTS_H
#define DSE_RPC_EVENTS_H

#include <jansson.h>
#include <stdbool.h>

#include "events.h"

/*
 * The control thread's share of the events: drains the workers' rings (at
 * most a few thousand records, a bounded pause) into the subscribers, and
 * twice a second publishes the ports whose link went up or down.  Returns
 * true when records were left in the rings (call again soon).
 */
bool dse_events_tick(void);

/* Returns record 'ev' as a JSON object (docs/api.md, events.subscribe), NULL on ENOMEM. */
json_t *dse_event_json(const struct dse_event *ev);

#endif
