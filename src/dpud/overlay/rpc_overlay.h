/* SPDX-License-Identifier: BSD-3-Clause */
/* The overlay's JSON-RPC methods (the overlay module) and what segment.add uses of them. */
#ifndef DSE_DPUD_RPC_OVERLAY_H
#define DSE_DPUD_RPC_OVERLAY_H

#include <stdint.h>

#include "dp.h"
#include "jsonrpc.h"

/* segment.set, tep.set, tep.show; terminated by a NULL name. */
extern const struct dse_rpc_method dse_overlay_methods[];

/*
 * Sets the peer TEPs of overlay segment 'seg' to the list 'peers' of IPv4
 * addresses, a param the schema checked (at most DSE_MAX_TEPS addresses).
 * Returns 0 or -EINVAL with the error of 'call' set.
 */
int dse_overlay_set_peers(struct dse_rpc_call *call, uint16_t seg, json_t *peers);

/* The peers of 'seg' as a JSON list of addresses. */
json_t *dse_overlay_peers_json(const struct dse_segment *seg);

#endif
