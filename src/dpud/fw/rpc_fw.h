/* SPDX-License-Identifier: BSD-3-Clause */
/* The firewall's JSON-RPC methods and what the other methods ask of it. */
#ifndef DSE_DPUD_RPC_FW_H
#define DSE_DPUD_RPC_FW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonrpc.h"

/* The fw.* methods, terminated by a NULL name. */
extern const struct dse_rpc_method dse_fw_methods[];

/*
 * Returns true, with the reason in 'why', when segment 'seg' (an index) or
 * port 'port' (a DPDK id) has a firewall policy or rules that name it: it
 * must not be removed under them.
 */
bool dse_fw_segment_in_use(uint16_t seg, char *why, size_t len);
bool dse_fw_port_in_use(uint16_t port, char *why, size_t len);

/* Appends the calls that re-create the firewall configuration to 'calls'. */
void dse_fw_config_calls(json_t *calls);

#endif
