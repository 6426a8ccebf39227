/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests of the heartbeat round-trip times (src/hostd/rtt.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "rtt.h"

/* No samples: no percentiles, and the JSON says so with nulls. */
static void test_rtt_empty(void **state)
{
	struct dse_rtt r;
	json_t *j;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(dse_rtt_percentile(&r, 50), 0);
	j = dse_rtt_json(&r);
	assert_true(json_is_null(json_object_get(j, "p50_us")));
	assert_true(json_is_null(json_object_get(j, "max_us")));
	assert_int_equal(json_integer_value(json_object_get(j, "count")), 0);
	json_decref(j);
}

/* 1..100 ms, in a shuffled order: nearest-rank percentiles and the max. */
static void test_rtt_percentiles(void **state)
{
	struct dse_rtt r;
	json_t *j;

	(void)state;
	memset(&r, 0, sizeof(r));
	for (unsigned i = 0; i < 100; i++)
		dse_rtt_add(&r, (uint64_t)((i * 37) % 100 + 1) * 1000000);
	assert_int_equal(dse_rtt_percentile(&r, 50), 50000);
	assert_int_equal(dse_rtt_percentile(&r, 90), 90000);
	assert_int_equal(dse_rtt_percentile(&r, 99), 99000);
	assert_int_equal(dse_rtt_percentile(&r, 100), 100000);
	assert_int_equal(dse_rtt_percentile(&r, 0), 1000);
	dse_rtt_miss(&r);
	j = dse_rtt_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "p90_us")), 90000);
	assert_int_equal(json_integer_value(json_object_get(j, "max_us")), 100000);
	assert_int_equal(json_integer_value(json_object_get(j, "misses")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "window")), 100);
	json_decref(j);
}

/*
 * The window keeps the last samples only: after 256 slow ones and 256 fast
 * ones the percentiles are the fast ones', while the max remembers.
 */
static void test_rtt_window_forgets(void **state)
{
	struct dse_rtt r;

	(void)state;
	memset(&r, 0, sizeof(r));
	for (unsigned i = 0; i < DSE_RTT_WINDOW; i++)
		dse_rtt_add(&r, 500000000); /* 500 ms */
	for (unsigned i = 0; i < DSE_RTT_WINDOW; i++)
		dse_rtt_add(&r, 200000); /* 200 us */
	assert_int_equal(r.n, DSE_RTT_WINDOW);
	assert_int_equal(r.count, 2 * DSE_RTT_WINDOW);
	assert_int_equal(dse_rtt_percentile(&r, 99), 200);
	assert_int_equal(r.max_us, 500000);
	/* A sample beyond 32 bits of microseconds is clamped, not wrapped. */
	dse_rtt_add(&r, UINT64_MAX);
	assert_int_equal(r.max_us, UINT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rtt_empty),
		cmocka_unit_test(test_rtt_percentiles),
		cmocka_unit_test(test_rtt_window_forgets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
