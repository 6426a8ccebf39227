/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPU inventory and connections.  Every interface named int-* with an IPv4
 * address is an internal link; the DPU is at the far end (the local address
 * + 1) on TCP 7300.  The host connects with JSON-RPC over mutual TLS (its own
 * control identity from the host CA, tls.h; the DPU must present a DPU server
 * certificate of the same CA, whose CN is taken as the DPU's name), asks
 * dp.identity, records the DPU in the store and keeps it configured
 * (reconcile.h).
 *
 * States of a link's DPU:
 *   connecting         not tried yet
 *   connected          identity checked, config reconciled or being reconciled
 *   unreachable        the connection or a call failed; retried with backoff
 *                      (250 ms doubling to 5 s)
 *   identity-mismatch  the DPU's certificate and identity disagree, its
 *                      certificate is not a DPU server certificate, or it is
 *                      not the DPU the host knew under that name (another
 *                      serial): the host does not configure it
 * and, for a DPU the store knows (or a switch names) that no link has now:
 *   missing
 *
 * Everything runs in the daemon's one thread, from its event loop between
 * two turns of the API server, with short timeouts, so a slow DPU delays
 * the API by at most about a second.  A DPU keeps forwarding with its last config while the host is
 * away; on reconnect the host compares the DPU's config generation and the
 * store revision with what it last pushed, and reconciles if either moved.
 */
#ifndef DSE_HOSTD_DPU_H
#define DSE_HOSTD_DPU_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "tls.h"

/* The DPU's control port (docs/host-side.md). */
#define DPU_PORT 7300

/* How the manager reaches DPUs. */
struct dpu_mgr_conf {
	struct store *store;             /* the desired state and the DPU records */
	const struct dse_tls_conf *tls;  /* the host's client credentials (kept by reference) */
	uint16_t port;                   /* the DPUs' control port */
	int connect_timeout_ms;          /* connect + TLS handshake */
	int call_timeout_ms;             /* one JSON-RPC call of a reconcile */
	int heartbeat_timeout_ms;        /* one heartbeat (dp.identity): what a hung DPU costs */
	int reconcile_budget_ms;         /* calls of one reconcile step before the API's turn */
};

struct dpu_mgr;

/* Creates a manager (no I/O yet).  Returns 0 or -ENOMEM. */
int dpu_mgr_new(const struct dpu_mgr_conf *conf, struct dpu_mgr **ret);

/* Closes every connection and frees 'm'.  NULL is fine. */
void dpu_mgr_free(struct dpu_mgr *m);

/*
 * Does the work that is due: rescans the links (every 2 s), connects,
 * sends heartbeats (dp.identity every 2 s), reconciles (after a store change,
 * a reconnect, a config generation the host did not make, and every 30 s).
 * Returns the number of milliseconds until more work is due (at most 1000).
 */
int dpu_mgr_run(struct dpu_mgr *m);

/*
 * Returns every DPU (a list of {name, link, address, state, role, switch,
 * config, vendor, model, hw_version, fw_version, serial, pci, version,
 * generation, last_seen, error}) in '*ret'.
 */
int dpu_mgr_list(struct dpu_mgr *m, json_t **ret);

/*
 * Returns one DPU, named by its name or its link, with what the host wants
 * it to hold ("desired": segments, ports, uplinks, notes) in '*ret'.
 * Returns -ENOENT when there is no such DPU.
 */
int dpu_mgr_show(struct dpu_mgr *m, const char *name, json_t **ret);

/*
 * Forgets the record of DPU 'name' (after a DPU was replaced: its identity
 * no longer matches).  Refuses a connected DPU (-EBUSY) and an unknown one
 * (-ENOENT), with a message in 'err'.
 */
int dpu_mgr_forget(struct dpu_mgr *m, const char *name, char *err, size_t err_len);

/*
 * Calls 'method' with 'params' (borrowed, may be NULL) on the connected DPU
 * 'name', waiting at most the call timeout (what the API's fan-out of
 * fw.rule.list and fw.conn.* costs per DPU).  Returns 0 with '*ret_result',
 * -EREMOTEIO with '*ret_error' (dse-dpud's error object), or -ENOTCONN when
 * the DPU is not connected, or the errno of a failed connection (the DPU is
 * then marked unreachable and reconnected as after a failed heartbeat).
 * 'err' always says what went wrong, for a person.
 */
int dpu_mgr_call(struct dpu_mgr *m, const char *name, const char *method, json_t *params,
		 json_t **ret_result, json_t **ret_error, char *err, size_t err_len);

/*
 * Returns the state of DPU 'name' as dpu_mgr_list() shows it ("connected",
 * "unreachable", ...; "missing" for a DPU on no link).
 */
const char *dpu_mgr_state(struct dpu_mgr *m, const char *name);

/*
 * Returns why the last reconcile of DPU 'name' failed ("" when it did not,
 * NULL for no such DPU): what dsectl dpu list shows as its error.
 */
const char *dpu_mgr_config_error(struct dpu_mgr *m, const char *name);

/* Counts the DPUs the host knows and those connected, for status. */
void dpu_mgr_counts(struct dpu_mgr *m, unsigned *ret_links, unsigned *ret_connected);

#endif
