/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The state of the dse-hostd process that its JSON-RPC methods see.
 */
#ifndef DSE_HOSTD_H
#define DSE_HOSTD_H

#include <limits.h>
#include <stdint.h>

#include "dpu.h"
#include "jsonrpc.h"
#include "store.h"

struct hostd {
	const char *state_dir;   /* DIR of --state */
	const char *socket_path; /* the API socket */
	char db_path[PATH_MAX];  /* DIR/hostd.db */
	struct store *store;     /* the desired state */
	struct dpu_mgr *dpus;    /* the DPUs; NULL in unit tests */
	uint64_t start_ns;       /* dse_clock_ns() at start, for the uptime */
};

/* The methods of the API socket (terminated by a NULL name); ctx is a struct hostd. */
extern const struct dse_rpc_method hostd_methods[];

#endif
