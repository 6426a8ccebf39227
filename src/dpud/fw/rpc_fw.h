/* SPDX-License-Identifier: BSD-3-Clause */
/* The firewall's JSON-RPC methods (the fw module, registered in rpc_fw.c). */
#ifndef DSE_DPUD_RPC_FW_H
#define DSE_DPUD_RPC_FW_H

#include "jsonrpc.h"

/* The fw.* methods, terminated by a NULL name. */
extern const struct dse_rpc_method dse_fw_methods[];

#endif
