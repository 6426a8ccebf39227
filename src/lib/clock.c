/* SPDX-License-Identifier: BSD-3-Clause */
#include "clock.h"

#include <stdatomic.h>
#include <time.h>

/*
 * 'offset' is added to the monotonic clock; 'frozen_at' is the time shown
 * while frozen (0 when running).  Both are atomics: the datapath reads them
 * while the control thread changes them.
 */
static _Atomic uint64_t offset;
static _Atomic uint64_t frozen_at;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t dse_clock_ns(void)
{
	uint64_t f = atomic_load_explicit(&frozen_at, memory_order_acquire);

	if (f != 0)
		return f;
	return mono_ns() + atomic_load_explicit(&offset, memory_order_relaxed);
}

void dse_clock_freeze(void)
{
	if (atomic_load(&frozen_at) == 0)
		atomic_store(&frozen_at, dse_clock_ns());
}

void dse_clock_release(void)
{
	uint64_t f = atomic_load(&frozen_at);

	if (f == 0)
		return;
	/* Continue from the frozen time, so time never goes backwards. */
	atomic_store(&offset, f - mono_ns());
	atomic_store(&frozen_at, 0);
}

void dse_clock_advance(uint64_t ns)
{
	if (atomic_load(&frozen_at) != 0)
		atomic_fetch_add(&frozen_at, ns);
	else
		atomic_fetch_add(&offset, ns);
}

bool dse_clock_frozen(void)
{
	return atomic_load(&frozen_at) != 0;
}
