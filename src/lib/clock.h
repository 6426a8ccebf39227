/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The time every timeout and ageing decision of dse reads.  It is the
 * monotonic clock unless a test has frozen it: then it stands still and moves
 * only when the test advances it, so ageing and timeouts are checked
 * deterministically.
 */
#ifndef DSE_CLOCK_H
#define DSE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Returns the current time in nanoseconds (monotonic, or the frozen time). */
uint64_t dse_clock_ns(void);

/* Stops the clock at the current time. */
void dse_clock_freeze(void);

/* Lets a frozen clock run again, from the time it shows now. */
void dse_clock_release(void);

/* Moves the clock forward by 'ns' nanoseconds (frozen or not). */
void dse_clock_advance(uint64_t ns);

/* Returns true while the clock is frozen. */
bool dse_clock_frozen(void);

#endif
