/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The firewall's event records (core/events.h): the connection table's
 * hook that makes conn_created, conn_state and conn_closed records, the
 * deny records of the fw node, and the deny log that reads them on the
 * control thread.
 */
#ifndef DSE_FW_EVENTS_H
#define DSE_FW_EVENTS_H

#include <stdint.h>

#include "acl.h"
#include "conntrack.h"
#include "events.h"

struct dse_worker;

/* Sets the event hook of 'ct': its changes become records on the calling worker's ring. */
void dse_fw_events_attach(struct dse_ct *ct);

/*
 * Makes the deny record of the packet 'key' refused by rule 'rule_id' (0:
 * the default policy) with 'action', on worker 'w' at its walk's time,
 * within the worker's limit of DSE_DENY_EVENTS_PER_S (beyond it the
 * denial is only counted in 'w->deny_suppressed').  Worker only.
 */
void dse_fw_deny_event(struct dse_worker *w, uint32_t rule_id, uint8_t action,
		       const struct dse_fw_key *key);

/* Rebuilds the rules' key of the packet of deny record 'ev' in 'ret'. */
void dse_fw_deny_key(const struct dse_event *ev, struct dse_fw_key *ret);

/* Subscribes the deny log to deny records.  Returns 0 or a negative errno. */
int dse_fw_events_init(void);

#endif
