/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Round-trip times of one DPU's heartbeats, for dsectl dpu show: the last
 * DSE_RTT_WINDOW samples (a ring), their percentiles, the largest seen and
 * the misses (heartbeats that got no answer in time).  Plain data: the
 * daemon's one thread owns it.
 */
#ifndef DSE_HOSTD_RTT_H
#define DSE_HOSTD_RTT_H

#include <jansson.h>
#include <stdint.h>

#define DSE_RTT_WINDOW 256 /* samples the percentiles are taken over */

struct dse_rtt {
	uint32_t us[DSE_RTT_WINDOW]; /* the last samples, microseconds */
	unsigned n;                  /* samples held, up to DSE_RTT_WINDOW */
	unsigned next;               /* where the next one goes */
	uint64_t count;              /* samples ever taken */
	uint64_t misses;             /* heartbeats without an answer in time */
	uint32_t max_us;             /* the largest sample ever */
};

/* Takes one round trip of 'ns' nanoseconds (clamped to about 71 minutes). */
void dse_rtt_add(struct dse_rtt *r, uint64_t ns);

/* Counts a heartbeat that got no answer in time. */
void dse_rtt_miss(struct dse_rtt *r);

/*
 * Returns the 'pct' percentile (0..100) of the samples held, in
 * microseconds: the smallest sample that at least pct % of them do not
 * exceed (nearest rank).  0 when there is none.
 */
uint32_t dse_rtt_percentile(const struct dse_rtt *r, unsigned pct);

/* {count, misses, window, p50_us, p90_us, p99_us, max_us} (percentiles null without samples). */
json_t *dse_rtt_json(const struct dse_rtt *r);

#endif
