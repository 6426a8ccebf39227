/* SPDX-License-Identifier: BSD-3-Clause */
/* The JSON-RPC methods of dse-dpud (documented in docs/api.md). */
#ifndef DSE_DPUD_RPC_H
#define DSE_DPUD_RPC_H

#include "jsonrpc.h"

/* The method table, terminated by a NULL name. */
extern const struct dse_rpc_method dse_dpud_methods[];

/*
 * Replays the calls in the JSON file 'path' (an array of {"method", "params"}
 * objects) through 'srv'.  Stops at the first failing call and returns
 * -EINVAL after printing which call failed and why; returns 0 on success.
 */
int dse_config_replay(struct dse_rpc_server *srv, const char *path);

#endif
