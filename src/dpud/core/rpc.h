/* SPDX-License-Identifier: BSD-3-Clause */
/* The JSON-RPC methods of dse-dpud (documented in docs/api.md). */
#ifndef DSE_DPUD_RPC_H
#define DSE_DPUD_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>

#include "dse_api.h"
#include "jsonrpc.h"

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
 * fdb.config.set with a value).  The host compares it with what it pushed.
 */
uint64_t dse_dpud_config_generation(void);

/* Counts a successful configuration change (for the modules' methods). */
void dse_dpud_config_changed(void);

/*
 * Helpers of the modules' methods.  Their params come checked by the API
 * schema (call->args); what is left to a handler is whether the objects
 * they name exist.
 */

/*
 * Looks up the segment (port) named 'name' (a param the schema checked):
 * returns 0 and sets '*ret', or -EINVAL after setting an error that says
 * there is none and where to look.
 */
int dse_dpud_find_segment(struct dse_rpc_call *call, const char *name, uint16_t *ret);
int dse_dpud_find_port(struct dse_rpc_call *call, const char *name, uint16_t *ret);

/* A MAC address as the API writes it (lower case, colons). */
json_t *dse_dpud_mac_json(const uint8_t *mac);

/* One config.save call: {"method": 'method', "params": 'params' (stolen)}. */
json_t *dse_dpud_call_json(const char *method, json_t *params);

#endif
