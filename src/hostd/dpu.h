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
 * Everything runs on the daemon's one event loop (evloop.h) and nothing
 * waits: each DPU has one connection of the non-blocking client
 * (rpc_async.h) that carries its connect and identity check, its
 * heartbeats, its reconciles and the API's calls to it, many in flight at
 * once, each with its own timeout.  A heartbeat (dp.identity.show) goes
 * out every heartbeat interval; one not answered within the interval is a
 * miss; a DPU from which no answer came for 'heartbeat_misses' intervals
 * is unreachable (its connection is closed, pending calls fail, and the
 * host reconnects).  A reconcile reads the DPU's state with six calls at
 * once, plans, and sends the plan's calls in order, up to 64 in flight
 * (dse-dpud runs one connection's calls in order).  So a stopped or slow
 * DPU costs nothing to the API or to the other DPUs.
 *
 * A DPU keeps forwarding with its last config while the host is away; on
 * reconnect the host compares the DPU's config generation and the store
 * revision with what it last pushed, and reconciles if either moved.
 */
#ifndef DSE_HOSTD_DPU_H
#define DSE_HOSTD_DPU_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "tls.h"

/* The DPU's control port (docs/host-side.md). */
#define DPU_PORT 7300

/* How the manager reaches DPUs. */
/* Defaults and bounds of the heartbeat (dse-hostd --heartbeat-ms, --heartbeat-misses). */
#define DPU_HEARTBEAT_MS_DEFAULT     500
#define DPU_HEARTBEAT_MS_MIN         10
#define DPU_HEARTBEAT_MS_MAX         60000
#define DPU_HEARTBEAT_MISSES_DEFAULT 2
#define DPU_HEARTBEAT_MISSES_MAX     100

/* How the manager reaches DPUs. */
struct dpu_mgr_conf {
	struct store *store;             /* the desired state and the DPU records */
	struct dse_loop *loop;           /* the daemon's event loop */
	const struct dse_tls_conf *tls;  /* the host's client credentials (kept by reference) */
	uint16_t port;                   /* the DPUs' control port */
	int connect_timeout_ms;          /* connect + TLS handshake + identity */
	int call_timeout_ms;             /* one call of a reconcile or of the API */
	int heartbeat_ms;                /* the heartbeat interval; 0: the default */
	int heartbeat_misses;            /* intervals without an answer before unreachable; 0: default */
	/*
	 * Moves a VM's attachment at a failover: run by /bin/sh as 'CMD VM
	 * DPU' (NULL: the host can not move attachments, dse-lab gives it one).
	 */
	const char *attach_hook;
};

struct dpu_mgr;

/*
 * Creates a manager on conf->loop: from then on the loop discovers the
 * links (every 2 s), connects, sends heartbeats and reconciles (after a
 * store change, a reconnect, a config generation the host did not make,
 * and every 30 s).  Returns 0, -EINVAL (a heartbeat out of its bounds) or
 * -ENOMEM.
 */
int dpu_mgr_new(const struct dpu_mgr_conf *conf, struct dpu_mgr **ret);

/*
 * Closes every connection (the API's calls in flight complete with
 * -ECANCELED first) and frees 'm'; call it before freeing the loop.  NULL
 * is fine.
 */
void dpu_mgr_free(struct dpu_mgr *m);

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
 * How a call of dpu_mgr_call() completed: 'status' 0 with 'result', or
 * -EREMOTEIO with 'error' (dse-dpud's error object), -ETIMEDOUT (no
 * answer within the call timeout), or the errno of the connection's end
 * (-ECANCELED when the host closed it); 'err' says what went wrong for a
 * person ("" on success).  Everything is borrowed for the callback's time.
 */
typedef void dpu_mgr_call_fn(void *arg, int status, json_t *result, json_t *error,
			     const char *err);

/*
 * Calls 'method' with 'params' (borrowed, may be NULL) on the connected DPU
 * 'name', without waiting: 'cb(arg, ...)' runs exactly once from the loop,
 * after the answer or the call timeout (what the API's fan-outs cost per
 * DPU at most).  Returns 0, or -ENOTCONN (the DPU is not connected),
 * -ENOMEM... with a message in 'err' and then 'cb' never runs.
 */
int dpu_mgr_call(struct dpu_mgr *m, const char *name, const char *method, json_t *params,
		 dpu_mgr_call_fn *cb, void *arg, char *err, size_t err_len);

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

/*
 * The active-standby switches (only 'name' when not NULL) with their roles,
 * the standby's readiness and the last failover (ha.show).  Returns 0,
 * -ENOENT (no such active-standby switch) or -EIO, with why in 'err'.
 */
int dpu_mgr_ha_show(struct dpu_mgr *m, const char *name, json_t **ret, char *err, size_t len);

/*
 * A planned failover of switch 'name' to its standby ('to': NULL or the
 * standby's name): refused unless the standby is ready or 'force'.
 * Returns 0 with {switch, from, to}, -ENOENT, -EINVAL ('to' is not the
 * standby), -EAGAIN (not ready) or -EIO, with why in 'err'.
 */
int dpu_mgr_ha_failover(struct dpu_mgr *m, const char *name, const char *to, bool force,
			json_t **ret, char *err, size_t len);

#endif
