/* SPDX-License-Identifier: BSD-3-Clause */
#include "dp.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_cycles.h>
#include <rte_graph_worker.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>
#include <rte_rcu_qsbr.h>

#include "clock.h"
#include "fdb_events.h"
#include "fw_events.h"
#include "log.h"
#include "tep.h"

struct dse_dp dp;
RTE_DEFINE_PER_LCORE(struct dse_worker *, dp_self);

/* FDB slots one ageing slice examines: a few microseconds of the walk. */
#define DP_FDB_AGE_SLICE 1024

/*
 * A function for worker 0 to run while the other workers wait, and its
 * result.  The others count themselves in 'parked' when they stop, wait for
 * 'released', and count themselves in 'left' when they go: the caller's
 * stack holds this, so it returns only when every worker is done with it.
 */
struct dp_cmd {
	int (*fn)(void *arg);
	void *arg;
	int ret;
	atomic_uint parked;
	atomic_uint left;
	atomic_bool released;
	atomic_bool done;
};

/* Creates worker 'i''s caches, connection table and rings. */
static int worker_init(unsigned i, unsigned flow_cache_size, unsigned conn_table,
		       const struct dse_ct_timeouts *t)
{
	struct dse_worker *w = &dp.workers[i];
	char name[RTE_RING_NAMESIZE];

	w->id = i;
	snprintf(w->graph_name, sizeof(w->graph_name), "dse_worker%u", i);
	w->flows = dse_flow_cache_create(flow_cache_size);
	w->flows4 = dse_flow4_cache_create(flow_cache_size);
	if (w->flows == NULL || w->flows4 == NULL)
		return -ENOMEM;
	w->flows_gen = 1;
	snprintf(name, sizeof(name), "dse_ct%u", i);
	w->ct = dse_ct_create(name, conn_table, t);
	if (w->ct == NULL)
		return rte_errno ? -rte_errno : -ENOMEM;
	if (dp.n_workers == 1)
		return 0;
	if (i == 0) {
		w->learn = rte_ring_create_elem("dse_learn", sizeof(struct dp_learn), DSE_LEARN_RING,
						rte_socket_id(), RING_F_SC_DEQ);
		if (w->learn == NULL)
			return -rte_errno;
	}
	snprintf(name, sizeof(name), "dse_handoff%u", i);
	w->handoff = rte_ring_create(name, DSE_HANDOFF_RING, rte_socket_id(), RING_F_SC_DEQ);
	return w->handoff ? 0 : -rte_errno;
}

int dp_init(unsigned n_workers, unsigned n_mbufs, unsigned fdb_size, unsigned flow_cache_size,
	    unsigned conn_table)
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
	if (n_workers == 0 || n_workers > DSE_MAX_WORKERS)
		return -EINVAL;
	dp.n_workers = n_workers;
	dp.flow_gen = 1;
	dp.mbuf_dyn_offset = rte_mbuf_dynfield_register(&meta_desc);
	if (dp.mbuf_dyn_offset < 0)
		return -rte_errno;
	dp.pool = rte_pktmbuf_pool_create("dse_pool", n_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  rte_socket_id());
	if (dp.pool == NULL)
		return -rte_errno;
	dp.rcu = rte_zmalloc("dse_rcu", rte_rcu_qsbr_get_memsize(n_workers), RTE_CACHE_LINE_SIZE);
	if (dp.rcu == NULL || rte_rcu_qsbr_init(dp.rcu, n_workers) != 0)
		return -ENOMEM;
	for (unsigned i = 0; i < n_workers; i++)
		rte_rcu_qsbr_thread_register(dp.rcu, i);
	dp.fdb = dse_fdb_create("dse_fdb", fdb_size, n_workers > 1 ? dp.rcu : NULL);
	if (dp.fdb == NULL)
		return -rte_errno;
	dse_l2_fdb_events_attach(dp.fdb);
	dse_ct_timeouts_default(&t);
	/* Each worker holds its share of the connections (rounded up). */
	conn_table = (conn_table + n_workers - 1) / n_workers;
	rte_malloc_get_socket_stats(rte_socket_id(), &before);
	for (unsigned i = 0; i < n_workers; i++) {
		int r = worker_init(i, flow_cache_size, conn_table, &t);

		if (r < 0)
			return r;
	}
	rte_malloc_get_socket_stats(rte_socket_id(), &after);
	if (n_workers > 1) {
		/* One limit for all the tables: each may fill while the others are empty. */
		dp.ct_budget.max = 0;
		dp.ct_budget.tables = n_workers;
		for (unsigned i = 0; i < n_workers; i++) {
			dp.workers[i].ct->budget = &dp.ct_budget;
			dp.ct_budget.max += dp.workers[i].ct->capacity;
		}
	}
	dp.ct_mem_bytes = after.heap_allocsz_bytes - before.heap_allocsz_bytes;
	dse_fw_denylog_init(&dp.denylog, 10, 20);
	for (unsigned i = 0; i < n_workers; i++) {
		int r = dse_event_producer_init(&dp.workers[i].events, (uint8_t)i,
						DSE_EVENT_RING_SIZE, (int)rte_socket_id());

		if (r < 0)
			return r;
		dse_fw_events_attach(dp.workers[i].ct);
	}
	return 0;
}

int dp_frag_init(unsigned max_datagrams, unsigned timeout_s)
{
	dp.frag_max = max_datagrams;
	dp.frag_timeout_s = timeout_s;

	for (unsigned i = 0; i < dp.n_workers; i++) {
		struct dse_worker *w = &dp.workers[i];
		int r;

		w->frag = rte_zmalloc("dse_frag", sizeof(*w->frag), RTE_CACHE_LINE_SIZE);
		if (w->frag == NULL)
			return -ENOMEM;
		r = dse_frag_init(w->frag, max_datagrams, (uint64_t)timeout_s * 1000000000ull,
				  (int)rte_socket_id());
		if (r < 0) {
			rte_free(w->frag);
			w->frag = NULL;
			return r;
		}
	}
	return 0;
}

int dp_node_stats(const char *name, struct dp_node_stats *ret)
{
	int found = -ENOENT;

	memset(ret, 0, sizeof(*ret));
	for (unsigned i = 0; i < dp.n_workers; i++) {
		const struct rte_node *n =
			dp.workers[i].graph
				? rte_graph_node_get_by_name(dp.workers[i].graph_name, name)
				: NULL;

		if (n == NULL)
			continue;
		ret->objs += n->total_objs;
		ret->calls += n->total_calls;
		ret->cycles += n->total_cycles;
		found = 0;
	}
	return found;
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

void dp_rcu_synchronize(void)
{
	if (atomic_load(&dp.running))
		rte_rcu_qsbr_synchronize(dp.rcu, RTE_QSBR_THRID_INVALID);
}

int dp_call(int (*fn)(void *arg), void *arg)
{
	struct dp_cmd cmd = {.fn = fn, .arg = arg};
	struct timespec ts = {0, 20000};

	if (!atomic_load(&dp.running))
		return fn(arg);
	/* The others first: worker 0 waits for them to stop before it runs the function. */
	for (unsigned i = dp.n_workers; i-- > 0;)
		atomic_store(&dp.workers[i].mailbox, &cmd);
	/* Each worker takes it between two walks; it sleeps at most idle_sleep_max_us. */
	while (!atomic_load_explicit(&cmd.done, memory_order_acquire))
		nanosleep(&ts, NULL);
	return cmd.ret;
}

/*
 * Takes the rule set in force for the walk that starts: a new set makes
 * the cached decisions of the old one stale.
 */
static inline void worker_fw_load(struct dse_worker *w)
{
	struct dse_fw_ruleset *rs = atomic_load_explicit(&dp.fw, memory_order_acquire);
	uint32_t gen = rs != NULL ? rs->gen : 0;

	w->fw = rs;
	if (unlikely(gen != w->fw_gen)) {
		w->fw_gen = gen;
		dp_flows_invalidate();
	}
}

/* Runs a pending dp_call() command, if any. */
static inline void worker_mailbox(struct dse_worker *w)
{
	struct dp_cmd *cmd = atomic_load_explicit(&w->mailbox, memory_order_acquire);
	unsigned others = dp.n_workers - 1;

	if (likely(cmd == NULL))
		return;
	atomic_store(&w->mailbox, NULL);
	if (w->id != 0) {
		/* Parked, it holds nothing: the function may wait for a grace period. */
		rte_rcu_qsbr_thread_offline(dp.rcu, w->id);
		atomic_fetch_add(&cmd->parked, 1);
		while (!atomic_load_explicit(&cmd->released, memory_order_acquire))
			rte_pause();
		atomic_fetch_add_explicit(&cmd->left, 1, memory_order_release);
		rte_rcu_qsbr_thread_online(dp.rcu, w->id);
		return;
	}
	while (atomic_load_explicit(&cmd->parked, memory_order_acquire) < others)
		rte_pause();
	cmd->ret = cmd->fn(cmd->arg);
	atomic_store_explicit(&cmd->released, true, memory_order_release);
	while (atomic_load_explicit(&cmd->left, memory_order_acquire) < others)
		rte_pause();
	atomic_store_explicit(&cmd->done, true, memory_order_release);
}

/* Worker 0 learns what the other workers saw (dp.h's top: it is the FDB's only writer). */
static void worker_learn(struct dse_worker *w)
{
	struct dp_learn batch[32];
	unsigned n;

	if (w->learn == NULL)
		return;
	while ((n = rte_ring_dequeue_burst_elem(w->learn, batch, sizeof(batch[0]),
						RTE_DIM(batch), NULL)) > 0) {
		/* A move bumps the entry's version: only its own decisions miss. */
		for (unsigned i = 0; i < n; i++) {
			bool moved = false;

			dse_fdb_learn(dp.fdb, batch[i].segment, batch[i].mac, batch[i].port,
				      batch[i].now_s, &moved);
		}
		if (n < RTE_DIM(batch))
			break;
	}
}

/* Empties this worker's flow caches when the generation wrapped since it last looked. */
static inline void worker_flows_check(struct dse_worker *w)
{
	uint32_t g = atomic_load_explicit(&dp.flow_gen, memory_order_acquire);

	if (unlikely(g < w->flows_gen)) {
		dse_flow_clear(w->flows);
		dse_flow4_clear(w->flows4);
	}
	w->flows_gen = g;
}

/* Asks the underlay for the MAC of each peer TEP not resolved yet, once a second. */
static void tep_arp_requests(struct dse_worker *w)
{
	if (w->id != 0 || dp.tep.ip == 0 || w->hold || w->now_ns < dp.tep.next_arp_ns)
		return;
	dp.tep.next_arp_ns = w->now_ns + 1000000000ull;
	for (uint16_t p = DSE_MAX_PORTS; p < DSE_MAX_VPORTS; p++) {
		struct rte_mbuf *m;

		if (!dp.ports[p].used || (dp.ports[p].tep_mac_word & DP_TEP_MAC_KNOWN))
			continue;
		m = dse_tep_arp_request(dp.ports[p].tep_ip);
		if (m == NULL) {
			w->tep_arp_lost++;
		} else if (rte_eth_tx_burst(dp.tep.uplink, (uint16_t)w->id, &m, 1) == 0) {
			rte_pktmbuf_free(m);
			w->tep_arp_lost++;
		}
	}
}

static void worker_housekeeping(struct dse_worker *w)
{
	tep_arp_requests(w);
	/* A standby keeps what the active synced: nothing ages until it forwards. */
	if (w->hold)
		return;
	/* The connection timer wheel, in small steps so a walk never waits long. */
	if (w->now_ns >= w->next_ct_ns) {
		dse_ct_expire(w->ct, w->now_ns, 4096);
		w->next_ct_ns = w->now_ns + 1000000ull;
	}
	if (w->id != 0)
		return;
	worker_learn(w);
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

/*
 * The stall fence: walks far apart mean the process was stopped (a hung
 * DPU the host has failed over from), so the datapath holds before it
 * receives again; the host lifts it (ha.role.set) if it still wants this
 * DPU active.  The real clock: a test's frozen datapath clock must not
 * look like a stall.
 */
static inline void worker_stall_check(struct dse_worker *w)
{
	uint64_t tsc = rte_rdtsc(), limit;

	limit = atomic_load_explicit(&dp.stall_cycles, memory_order_relaxed);
	if (unlikely(limit != 0 && w->last_walk_tsc != 0 && tsc - w->last_walk_tsc > limit)) {
		uint8_t fwd = 0;

		if (atomic_compare_exchange_strong(&dp.hold, &fwd, DP_HOLD_STALL))
			atomic_fetch_add_explicit(&dp.stalls, 1, memory_order_relaxed);
	}
	w->last_walk_tsc = tsc;
	w->hold = atomic_load_explicit(&dp.hold, memory_order_acquire);
}

static int worker_main(void *arg)
{
	struct dse_worker *w = arg;
	unsigned idle_us = 0, idle_walks = 0;

	RTE_PER_LCORE(dp_self) = w;
	rte_rcu_qsbr_thread_online(dp.rcu, w->id);
	DSE_LOG_INFO("dp", "worker %u running on lcore %u", w->id, w->lcore);
	while (!atomic_load_explicit(&dp.quit, memory_order_relaxed)) {
		w->now_ns = dse_clock_ns();
		w->now_s = (uint32_t)(w->now_ns / 1000000000ull);
		worker_stall_check(w);
		worker_mailbox(w);
		worker_fw_load(w);
		worker_flows_check(w);
		w->rx_last = 0;
		rte_graph_walk(w->graph);
		worker_housekeeping(w);
		rte_rcu_qsbr_quiescent(dp.rcu, w->id);

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

		rte_rcu_qsbr_thread_offline(dp.rcu, w->id);
		nanosleep(&ts, NULL);
		rte_rcu_qsbr_thread_online(dp.rcu, w->id);
	}
	rte_rcu_qsbr_thread_offline(dp.rcu, w->id);
	/* No command is in flight: the control thread, dp_call()'s only caller, stops us. */
	return 0;
}

int dp_start(const unsigned *lcores)
{
	static const char *patterns[] = {"dse_*"};
	int r;

	atomic_store(&dp.quit, false);
	for (unsigned i = 0; i < dp.n_workers; i++) {
		struct dse_worker *w = &dp.workers[i];
		struct rte_graph_param gp = {
			.socket_id = (int)rte_lcore_to_socket_id(lcores[i]),
			.nb_node_patterns = 1,
			.node_patterns = patterns,
		};

		w->lcore = lcores[i];
		w->graph_id = rte_graph_create(w->graph_name, &gp);
		if (w->graph_id == RTE_GRAPH_ID_INVALID)
			return rte_errno ? -rte_errno : -EINVAL;
		w->graph = rte_graph_lookup(w->graph_name);
		if (w->graph == NULL)
			return -ENOENT;
	}
	atomic_store(&dp.running, true);
	for (unsigned i = 0; i < dp.n_workers; i++) {
		r = rte_eal_remote_launch(worker_main, &dp.workers[i], lcores[i]);
		if (r < 0) {
			atomic_store(&dp.quit, true);
			for (unsigned k = 0; k < i; k++)
				rte_eal_wait_lcore(lcores[k]);
			atomic_store(&dp.running, false);
			return r;
		}
	}
	return 0;
}

void dp_stop(void)
{
	/* The control thread is the only caller of dp_call(): none is in flight now. */
	if (atomic_load(&dp.running)) {
		atomic_store(&dp.quit, true);
		for (unsigned i = 0; i < dp.n_workers; i++)
			rte_eal_wait_lcore(dp.workers[i].lcore);
		atomic_store(&dp.running, false);
	}
	for (unsigned i = 0; i < dp.n_workers; i++) {
		struct dse_worker *w = &dp.workers[i];

		/* Fragments still waiting for their datagram go with the table. */
		if (w->frag != NULL) {
			rte_ip_frag_free_death_row(&w->frag->dr, 0);
			dse_frag_fini(w->frag);
			rte_free(w->frag);
			w->frag = NULL;
		}
		/* Records still in the ring go with it: every subscriber's connection closes next. */
		dse_event_producer_fini(&w->events);
	}
}
