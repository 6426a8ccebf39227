/* SPDX-License-Identifier: BSD-3-Clause */
/* The flow module: the flow caches' JSON-RPC methods and their part of stats.show. */
#include <errno.h>

#include "dp.h"
#include "module.h"
#include "rpc.h"

/* Entries of the flow caches of every worker: [0] layer 2, [1] layer 4. */
static int flow_count_op(void *arg)
{
	uint32_t *n = arg;

	for (unsigned i = 0; i < dp.n_workers; i++) {
		n[0] += dse_flow_count(dp.workers[i].flows, dp.fdb, dp.flow_gen);
		n[1] += dse_flow4_count(dp.workers[i].flows4, dp.fdb, dp.flow_gen);
	}
	return 0;
}

static int flow_flush_op(void *arg)
{
	RTE_SET_USED(arg);
	dp_flows_invalidate();
	return 0;
}

/* The flow caches' counters, summed over the workers. */
struct flow_sums {
	uint64_t capacity, hits, misses, inserts, evictions;
};

static json_t *flow_json(void)
{
	struct flow_sums l2 = {0}, l4 = {0};
	uint32_t n[2] = {0, 0};

	for (unsigned i = 0; i < dp.n_workers; i++) {
		const struct dse_flow_cache *fc = dp.workers[i].flows;
		const struct dse_flow4_cache *f4 = dp.workers[i].flows4;

		l2.capacity += (fc->bucket_mask + 1) * DSE_FLOW_WAYS;
		l2.hits += fc->hits;
		l2.misses += fc->misses;
		l2.inserts += fc->inserts;
		l2.evictions += fc->evictions;
		l4.capacity += (f4->bucket_mask + 1) * DSE_FLOW_WAYS;
		l4.hits += f4->hits;
		l4.misses += f4->misses;
		l4.inserts += f4->inserts;
		l4.evictions += f4->evictions;
	}
	dp_call(flow_count_op, n);
	return json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:i, s:I, s:I, s:I, s:I, s:I}}",
			 "entries", (int)n[0], "capacity", (json_int_t)l2.capacity, "generation",
			 (json_int_t)dp.flow_gen, "hits", (json_int_t)l2.hits, "misses",
			 (json_int_t)l2.misses, "inserts", (json_int_t)l2.inserts, "evictions",
			 (json_int_t)l2.evictions, "l4", "entries", (int)n[1], "capacity",
			 (json_int_t)l4.capacity, "hits", (json_int_t)l4.hits, "misses",
			 (json_int_t)l4.misses, "inserts", (json_int_t)l4.inserts, "evictions",
			 (json_int_t)l4.evictions);
}

static int flow_show(struct dse_rpc_call *call, json_t **ret)
{
	RTE_SET_USED(call);
	*ret = flow_json();
	return 0;
}

static int flow_flush(struct dse_rpc_call *call, json_t **ret)
{
	RTE_SET_USED(call);
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
	{"flow.show", flow_show},
	{"flow.flush", flow_flush},
	{NULL, NULL, NULL},
};

static struct dse_module flow_module = {
	.name = "flow",
	.order = 20,
	.methods = flow_methods,
	.stats = flow_stats,
};
DSE_MODULE_REGISTER(flow_module)
