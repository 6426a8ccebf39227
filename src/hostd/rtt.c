/* SPDX-License-Identifier: BSD-3-Clause */
/* Heartbeat round-trip times (rtt.h). */
#include "rtt.h"

#include <stdlib.h>
#include <string.h>

void dse_rtt_add(struct dse_rtt *r, uint64_t ns)
{
	uint64_t us = ns / 1000;
	uint32_t v = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;

	r->us[r->next] = v;
	r->next = (r->next + 1) % DSE_RTT_WINDOW;
	if (r->n < DSE_RTT_WINDOW)
		r->n++;
	r->count++;
	if (v > r->max_us)
		r->max_us = v;
}

void dse_rtt_miss(struct dse_rtt *r)
{
	r->misses++;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

uint32_t dse_rtt_percentile(const struct dse_rtt *r, unsigned pct)
{
	uint32_t sorted[DSE_RTT_WINDOW];
	unsigned rank;

	if (r->n == 0)
		return 0;
	if (pct > 100)
		pct = 100;
	memcpy(sorted, r->us, r->n * sizeof(sorted[0]));
	qsort(sorted, r->n, sizeof(sorted[0]), cmp_u32);
	/* Nearest rank: ceil(pct / 100 * n), at least the first. */
	rank = (pct * r->n + 99) / 100;
	return sorted[rank ? rank - 1 : 0];
}

json_t *dse_rtt_json(const struct dse_rtt *r)
{
	json_t *o = json_pack("{s:I, s:I, s:i}", "count", (json_int_t)r->count, "misses",
			      (json_int_t)r->misses, "window", (int)r->n);
	static const struct {
		const char *key;
		unsigned pct;
	} pcts[] = {{"p50_us", 50}, {"p90_us", 90}, {"p99_us", 99}};

	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		json_object_set_new(o, pcts[i].key,
				    r->n ? json_integer(dse_rtt_percentile(r, pcts[i].pct))
					 : json_null());
	json_object_set_new(o, "max_us", r->count ? json_integer(r->max_us) : json_null());
	return o;
}
