/* SPDX-License-Identifier: BSD-3-Clause */
#include "dp.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_graph_worker.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>

#include "clock.h"
#include "log.h"
#include "tep.h"

struct dse_dp dp;

/* FDB slots one ageing slice examines: a few microseconds of the walk. */
#define DP_FDB_AGE_SLICE 1024

/* A function for the worker to run, and its result. */
struct dp_cmd {
	int (*fn)(void *arg);
	void *arg;
	int ret;
	atomic_bool done;
};

int dp_init(unsigned n_mbufs, unsigned fdb_size, unsigned flow_cache_size, unsigned conn_table)
{
	struct rte_malloc_socket_stats before, after;
	struct dse_ct_timeouts t;
	static const struct rte_mbuf_dynfield meta_desc = {
		.name = "dse_meta",
		.size = sizeof(struct dse_meta),
		.align = __alignof__(struct dse_meta),
	};

	for (unsigned i = 0; i < RTE_DIM(dp.vlan_seg); i++)
		dp.vlan_seg[i] = DSE_NO_SEGMENT;
	dp.flow_gen = 1;
	dp.mbuf_dyn_offset = rte_mbuf_dynfield_register(&meta_desc);
	if (dp.mbuf_dyn_offset < 0)
		return -rte_errno;
	dp.pool = rte_pktmbuf_pool_create("dse_pool", n_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  rte_socket_id());
	if (dp.pool == NULL)
		return -rte_errno;
	dp.fdb = dse_fdb_create("dse_fdb", fdb_size);
	if (dp.fdb == NULL)
		return -rte_errno;
	dp.worker.flows = dse_flow_cache_create(flow_cache_size);
	dp.worker.flows4 = dse_flow4_cache_create(flow_cache_size);
	if (dp.worker.flows == NULL || dp.worker.flows4 == NULL)
		return -ENOMEM;
	dse_ct_timeouts_default(&t);
	rte_malloc_get_socket_stats(rte_socket_id(), &before);
	dp.ct = dse_ct_create("dse_ct", conn_table, &t);
	if (dp.ct == NULL)
		return rte_errno ? -rte_errno : -ENOMEM;
	rte_malloc_get_socket_stats(rte_socket_id(), &after);
	dp.ct_mem_bytes = after.heap_allocsz_bytes - before.heap_allocsz_bytes;
	dse_fw_denylog_init(&dp.denylog, 10, 20);
	return 0;
}

int dp_frag_init(unsigned max_datagrams, unsigned timeout_s)
{
	dp.frag_max = max_datagrams;
	dp.frag_timeout_s = timeout_s;
	int r;

	dp.worker.frag = rte_zmalloc("dse_frag", sizeof(*dp.worker.frag), RTE_CACHE_LINE_SIZE);
	if (dp.worker.frag == NULL)
		return -ENOMEM;
	r = dse_frag_init(dp.worker.frag, max_datagrams, (uint64_t)timeout_s * 1000000000ull,
			  (int)rte_socket_id());
	if (r < 0) {
		rte_free(dp.worker.frag);
		dp.worker.frag = NULL;
	}
	return r;
}

int dp_node_stats(const char *name, struct dp_node_stats *ret)
{
	const struct rte_node *n;

	memset(ret, 0, sizeof(*ret));
	n = dp.worker.graph ? rte_graph_node_get_by_name("dse_worker0", name) : NULL;
	if (n == NULL)
		return -ENOENT;
	ret->objs = n->total_objs;
	ret->calls = n->total_calls;
	ret->cycles = n->total_cycles;
	return 0;
}

uint16_t dp_port_find(const char *name)
{
	for (uint16_t i = 0; i < DSE_MAX_PORTS; i++)
		if (dp.ports[i].used && strcmp(dp.ports[i].name, name) == 0)
			return i;
	return DSE_NO_PORT;
}

uint16_t dp_segment_find(const char *name)
{
	for (uint16_t i = 0; i < DSE_MAX_SEGMENTS; i++)
		if (dp.segments[i].used && strcmp(dp.segments[i].name, name) == 0)
			return i;
	return DSE_NO_SEGMENT;
}

void dp_segments_rebuild(void)
{
	for (unsigned i = 0; i < RTE_DIM(dp.vlan_seg); i++)
		dp.vlan_seg[i] = DSE_NO_SEGMENT;
	memset(dp.vni_map, 0, sizeof(dp.vni_map));
	dp.fw_on = false;
	for (uint16_t p = 0; p < DSE_MAX_VPORTS; p++) {
		dp.ports[p].fw_any = false;
		dp.ports[p].tep_uplink = dp.tep.ip != 0 && p == dp.tep.uplink;
	}
	for (uint16_t s = 0; s < DSE_MAX_SEGMENTS; s++) {
		struct dse_segment *seg = &dp.segments[s];

		seg->n_members = 0;
		seg->flood_uplink = DSE_NO_PORT;
		if (!seg->used)
			continue;
		if (seg->vni != 0) {
			uint32_t i = seg->vni;

			while (dp.vni_map[i & (DSE_VNI_SLOTS - 1)].vni != 0)
				i++;
			dp.vni_map[i & (DSE_VNI_SLOTS - 1)].vni = seg->vni;
			dp.vni_map[i & (DSE_VNI_SLOTS - 1)].seg = s;
			for (uint16_t k = 0; k < seg->n_peers; k++)
				dp.ports[seg->peers[k]].fw_any |= seg->fw;
			dp.fw_on |= seg->fw;
		} else {
			dp.vlan_seg[seg->vlan] = s;
		}
		for (uint16_t p = 0; p < DSE_MAX_PORTS; p++) {
			if (!dp_port_in_segment(&dp.ports[p], s))
				continue;
			if (seg->fw)
				dp.ports[p].fw_any = dp.fw_on = true;
			if (!dp.ports[p].uplink)
				seg->members[seg->n_members++] = p;
			else if (seg->flood_uplink == DSE_NO_PORT && seg->vni == 0)
				seg->flood_uplink = p;
		}
	}
	dp_flows_invalidate();
}

int dp_call(int (*fn)(void *arg), void *arg)
{
	struct dp_cmd cmd = {.fn = fn, .arg = arg};
	struct dse_worker *w = &dp.worker;
	struct timespec ts = {0, 20000};

	if (!atomic_load(&w->running))
		return fn(arg);
	atomic_store(&w->mailbox, &cmd);
	/* The worker runs the command between two walks; it sleeps at most idle_sleep_max_us. */
	while (!atomic_load_explicit(&cmd.done, memory_order_acquire)) {
		if (!atomic_load(&w->running)) {
			/* The worker ended before taking it: run it here. */
			struct dp_cmd *expected = &cmd;

			if (atomic_compare_exchange_strong(&w->mailbox, &expected, NULL))
				return fn(arg);
		}
		nanosleep(&ts, NULL);
	}
	return cmd.ret;
}

/* Runs a pending dp_call() command, if any. */
static inline void worker_mailbox(struct dse_worker *w)
{
	struct dp_cmd *cmd = atomic_load_explicit(&w->mailbox, memory_order_acquire);

	if (likely(cmd == NULL))
		return;
	cmd->ret = cmd->fn(cmd->arg);
	atomic_store(&w->mailbox, NULL);
	atomic_store_explicit(&cmd->done, true, memory_order_release);
}

/* Asks the underlay for the MAC of each peer TEP not resolved yet, once a second. */
static void tep_arp_requests(struct dse_worker *w)
{
	if (dp.tep.ip == 0 || w->now_ns < dp.tep.next_arp_ns)
		return;
	dp.tep.next_arp_ns = w->now_ns + 1000000000ull;
	for (uint16_t p = DSE_MAX_PORTS; p < DSE_MAX_VPORTS; p++) {
		struct rte_mbuf *m;

		if (!dp.ports[p].used || dp.ports[p].tep_resolved)
			continue;
		m = dse_tep_arp_request(dp.ports[p].tep_ip);
		if (m == NULL) {
			w->tep_arp_lost++;
		} else if (rte_eth_tx_burst(dp.tep.uplink, 0, &m, 1) == 0) {
			rte_pktmbuf_free(m);
			w->tep_arp_lost++;
		}
	}
}

static void worker_housekeeping(struct dse_worker *w)
{
	tep_arp_requests(w);
	/* The connection timer wheel, in small steps so a walk never waits long. */
	if (w->now_ns >= w->next_ct_ns) {
		dse_ct_expire(dp.ct, w->now_ns, 4096);
		w->next_ct_ns = w->now_ns + 1000000ull;
	}
	/*
	 * FDB ageing: a pass over the table once a second, in slices of
	 * DP_FDB_AGE_SLICE slots a millisecond apart, so a walk never waits
	 * for a whole large table.  An aged entry retires only the cached
	 * decisions that used it (its version is bumped).
	 */
	if (w->now_ns >= w->next_age_ns) {
		bool pass_done;

		dse_fdb_age_slice(dp.fdb, w->now_s, DP_FDB_AGE_SLICE, &pass_done);
		w->next_age_ns = w->now_ns + (pass_done ? 1000000000ull : 1000000ull);
	}
}

static int worker_main(void *arg)
{
	struct dse_worker *w = arg;
	unsigned idle_us = 0, idle_walks = 0;

	DSE_LOG_INFO("dp", "worker running on lcore %u", w->lcore);
	while (!atomic_load_explicit(&w->quit, memory_order_relaxed)) {
		w->now_ns = dse_clock_ns();
		w->now_s = (uint32_t)(w->now_ns / 1000000000ull);
		worker_mailbox(w);
		w->rx_last = 0;
		rte_graph_walk(w->graph);
		worker_housekeeping(w);

		if (w->rx_last != 0 || !dp.idle_sleep) {
			idle_us = 0;
			idle_walks = 0;
			continue;
		}
		/*
		 * Adaptive idle sleep: after a few empty walks, sleep, doubling
		 * the sleep up to the maximum while nothing arrives.  A packet
		 * then waits at most idle_sleep_max_us.
		 */
		if (++idle_walks < 64)
			continue;
		idle_us = idle_us ? RTE_MIN(idle_us * 2, dp.idle_sleep_max_us) : 1;
		struct timespec ts = {0, (long)idle_us * 1000};

		nanosleep(&ts, NULL);
	}
	/* Answer a command that raced with the quit request. */
	worker_mailbox(w);
	return 0;
}

int dp_start(unsigned lcore)
{
	static const char *patterns[] = {"dse_*"};
	struct rte_graph_param gp = {
		.socket_id = (int)rte_lcore_to_socket_id(lcore),
		.nb_node_patterns = 1,
		.node_patterns = patterns,
	};
	struct dse_worker *w = &dp.worker;
	int r;

	w->lcore = lcore;
	w->graph_id = rte_graph_create("dse_worker0", &gp);
	if (w->graph_id == RTE_GRAPH_ID_INVALID)
		return rte_errno ? -rte_errno : -EINVAL;
	w->graph = rte_graph_lookup("dse_worker0");
	if (w->graph == NULL)
		return -ENOENT;
	atomic_store(&w->quit, false);
	atomic_store(&w->running, true);
	r = rte_eal_remote_launch(worker_main, w, lcore);
	if (r < 0) {
		atomic_store(&w->running, false);
		return r;
	}
	return 0;
}

void dp_stop(void)
{
	struct dse_worker *w = &dp.worker;

	if (atomic_load(&w->running)) {
		atomic_store(&w->quit, true);
		rte_eal_wait_lcore(w->lcore);
		atomic_store(&w->running, false);
	}
	/* Fragments still waiting for their datagram go with the table. */
	if (w->frag != NULL) {
		rte_ip_frag_free_death_row(&w->frag->dr, 0);
		dse_frag_fini(w->frag);
		rte_free(w->frag);
		w->frag = NULL;
	}
}
