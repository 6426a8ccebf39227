/* SPDX-License-Identifier: BSD-3-Clause */
/* The flow module: the flow caches' JSON-RPC methods and their part of stats.get. */
#include <errno.h>

#include "dp.h"
#include "module.h"
#include "rpc.h"

static int flow_count_op(void *arg)
{
	*(uint32_t *)arg = dse_flow_count(dp.worker.flows, dp.fdb, dp.flow_gen);
	return 0;
}

static int flow_flush_op(void *arg)
{
	RTE_SET_USED(arg);
	dp_flows_invalidate();
	return 0;
}

static int flow4_count_op(void *arg)
{
	*(uint32_t *)arg = dse_flow4_count(dp.worker.flows4, dp.fdb, dp.flow_gen);
	return 0;
}

static json_t *flow_json(void)
{
	const struct dse_flow_cache *fc = dp.worker.flows;
	const struct dse_flow4_cache *f4 = dp.worker.flows4;
	uint32_t n = 0, n4 = 0;

	dp_call(flow_count_op, &n);
	dp_call(flow4_count_op, &n4);
	return json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:{s:i, s:i, s:I, s:I, s:I, s:I}}",
			 "entries", (int)n, "capacity",
			 (int)((fc->bucket_mask + 1) * DSE_FLOW_WAYS), "generation",
			 (json_int_t)dp.flow_gen, "hits", (json_int_t)fc->hits, "misses",
			 (json_int_t)fc->misses, "inserts", (json_int_t)fc->inserts, "evictions",
			 (json_int_t)fc->evictions, "l4", "entries", (int)n4, "capacity",
			 (int)((f4->bucket_mask + 1) * DSE_FLOW_WAYS), "hits", (json_int_t)f4->hits,
			 "misses", (json_int_t)f4->misses, "inserts", (json_int_t)f4->inserts,
			 "evictions", (json_int_t)f4->evictions);
}

static int flow_show(struct dse_rpc_call *call, json_t **ret)
{
	if (dse_rpc_params_only(call, NULL) < 0)
		return -EINVAL;
	*ret = flow_json();
	return 0;
}

static int flow_flush(struct dse_rpc_call *call, json_t **ret)
{
	if (dse_rpc_params_only(call, NULL) < 0)
		return -EINVAL;
	dp_call(flow_flush_op, NULL);
	*ret = NULL;
	return 0;
}

/* The layer 2 and layer 4 caches' counters. */
static void flow_stats(json_t *stats)
{
	json_object_set_new(stats, "flow_cache", flow_json());
}

static const struct dse_rpc_method flow_methods[] = {
	{"flow.show", flow_show, "flow cache size, entries and hit counters"},
	{"flow.flush", flow_flush, "invalidates every flow cache entry"},
	{NULL, NULL, NULL},
};

static struct dse_module flow_module = {
	.name = "flow",
	.order = 20,
	.methods = flow_methods,
	.stats = flow_stats,
};
DSE_MODULE_REGISTER(flow_module)
