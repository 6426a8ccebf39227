/* SPDX-License-Identifier: BSD-3-Clause */
/* The JSON-RPC methods of dse-dpud (documented in docs/api.md). */
#ifndef DSE_DPUD_RPC_H
#define DSE_DPUD_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "jsonrpc.h"

/* The method table, terminated by a NULL name. */
extern const struct dse_rpc_method dse_dpud_methods[];

/*
 * Replays the calls in the JSON file 'path' (an array of {"method", "params"}
 * objects) through 'srv'.  Stops at the first failing call and returns
 * -EINVAL after printing which call failed and why; returns 0 on success.
 */
int dse_config_replay(struct dse_rpc_server *srv, const char *path);

/* The identity fields of --identity, all required strings, in the order reported. */
#define DSE_IDENTITY_FIELDS "vendor", "model", "hw_version", "fw_version", "serial", "pci"

/* Longest identity field value accepted. */
#define DSE_IDENTITY_MAX 128

/*
 * Reads the DPU identity from the JSON file 'path': an object with exactly
 * the string fields DSE_IDENTITY_FIELDS, each 1..128 printable characters,
 * which dp.identity then reports.  Returns 0, or -EINVAL / -errno after
 * writing a message for a person naming the bad field to 'err'.
 */
int dse_dpud_identity_load(const char *path, char *err, size_t err_len);

/*
 * Sets the name dp.identity reports: the common name of the DPU's
 * certificate.  Without one the name is the identity's serial.  Returns 0
 * or -ENAMETOOLONG.
 */
int dse_dpud_identity_set_name(const char *name);

/* Frees what dse_dpud_identity_load() kept. */
void dse_dpud_identity_free(void);

/*
 * Returns the config generation: bumped by every successful call that
 * changes the configuration (segment, port and FDB add/set/del/flush,
 * fdb.config with a value).  The host compares it with what it pushed.
 */
uint64_t dse_dpud_config_generation(void);

/* Counts a successful configuration change (for methods outside rpc.c). */
void dse_dpud_config_changed(void);

#endif
