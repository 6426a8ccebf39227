/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the module registry (module.c): the order modules are kept
 * in whatever order they register, the one method table made from all of
 * them (test methods only when asked for, and local; a method named twice
 * refused), the drop reasons (bad names and duplicates refused), and the
 * loops of config.save, stats.show and the in-use checks.  This binary holds
 * only the modules it registers itself: the real ones are not linked in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module.h"

static int m_ok(struct dse_rpc_call *call, json_t **ret)
{
	(void)call;
	*ret = NULL;
	return 0;
}

static const struct dse_rpc_method a_methods[] = {
	{"a.one", m_ok, "first of a"},
	{"a.two", m_ok, "second of a"},
	{NULL, NULL, NULL},
};
static const struct dse_rpc_method a_test_methods[] = {
	{"a.clock", m_ok, "a test method"},
	{NULL, NULL, NULL},
};
static const struct dse_rpc_method b_methods[] = {
	{"b.one", m_ok, "first of b"},
	{NULL, NULL, NULL},
};
static const struct dse_rpc_method dup_methods[] = {
	{"a.two", m_ok, "a again"},
	{NULL, NULL, NULL},
};

static uint64_t count_seven(void)
{
	return 7;
}

static const struct dse_drop_reason a_drops[] = {
	{"a_bad", "a's packet was bad"},
	{"a_lost", "a lost a copy", count_seven},
	{NULL, NULL},
};
static const struct dse_drop_reason b_drops[] = {
	{"b_bad", "b's packet was bad"},
	{NULL, NULL},
};

/* Which module did what, in order: "a", "b"... */
static char trace[64];

static int a_save(json_t *calls)
{
	strcat(trace, "a");
	json_array_append_new(calls, json_string("a-call"));
	return 0;
}

static int b_save(json_t *calls)
{
	strcat(trace, "b");
	json_array_append_new(calls, json_string("b-call"));
	return 0;
}

static int fail_save(json_t *calls)
{
	(void)calls;
	strcat(trace, "f");
	return -ENOMEM;
}

static void a_stats(json_t *stats)
{
	json_object_set_new(stats, "a", json_integer(1));
}

static void b_stats(json_t *stats)
{
	json_object_set_new(stats, "b", json_integer(2));
}

static int init_calls;

static int a_init(void)
{
	init_calls++;
	strcat(trace, "i");
	return 0;
}

static bool b_segment_in_use(uint16_t seg, char *why, size_t len)
{
	if (seg != 3)
		return false;
	snprintf(why, len, "b holds segment %u", seg);
	return true;
}

static uint16_t removed_seg = 0xffff;

static void b_segment_removed(uint16_t seg)
{
	removed_seg = seg;
}

static struct dse_module mod_a = {
	.name = "a",
	.order = 10,
	.init = a_init,
	.methods = a_methods,
	.test_methods = a_test_methods,
	.drops = a_drops,
	.config_save = a_save,
	.stats = a_stats,
};
static struct dse_module mod_b = {
	.name = "b",
	.order = 20,
	.methods = b_methods,
	.drops = b_drops,
	.config_save = b_save,
	.stats = b_stats,
	.segment_in_use = b_segment_in_use,
	.segment_removed = b_segment_removed,
};

static int setup(void **state)
{
	(void)state;
	trace[0] = '\0';
	init_calls = 0;
	/* Registered in the wrong order on purpose: the registry sorts. */
	dse_module_register(&mod_b);
	dse_module_register(&mod_a);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dse_module_unregister(&mod_a);
	dse_module_unregister(&mod_b);
	assert_null(dse_modules());
	return 0;
}

static void test_modules_are_kept_in_order(void **state)
{
	const struct dse_module *m = dse_modules();

	(void)state;
	assert_string_equal(m->name, "a");
	assert_string_equal(m->next->name, "b");
	assert_null(m->next->next);
}

static void test_one_method_table_test_methods_only_on_request(void **state)
{
	struct dse_rpc_method *all = dse_modules_methods(false);
	size_t n = 0;

	(void)state;
	assert_non_null(all);
	while (all[n].name)
		n++;
	assert_int_equal(n, 3);
	assert_string_equal(all[0].name, "a.one");
	assert_string_equal(all[1].name, "a.two");
	assert_string_equal(all[2].name, "b.one");
	for (size_t i = 0; i < n; i++)
		assert_int_equal(all[i].flags & DSE_RPC_LOCAL, 0);
	free(all);

	all = dse_modules_methods(true);
	assert_non_null(all);
	n = 0;
	while (all[n].name)
		n++;
	assert_int_equal(n, 4);
	assert_string_equal(all[2].name, "a.clock");
	/* A test method is never served to the network. */
	assert_true(all[2].flags & DSE_RPC_LOCAL);
	free(all);
}

static void test_a_method_registered_twice_is_refused(void **state)
{
	struct dse_module dup = {.name = "dup", .order = 30, .methods = dup_methods};

	(void)state;
	dse_module_register(&dup);
	assert_null(dse_modules_methods(false));
	dse_module_unregister(&dup);
	assert_non_null(dse_modules());
}

static void test_drops_in_module_order_with_counters(void **state)
{
	const struct dse_drop_reason *const *drops;
	unsigned n;

	(void)state;
	assert_int_equal(dse_modules_init(), 0);
	assert_int_equal(init_calls, 1);
	n = dse_drops(&drops);
	assert_int_equal(n, 3);
	assert_string_equal(drops[0]->name, "a_bad");
	assert_null(drops[0]->count);
	assert_string_equal(drops[1]->name, "a_lost");
	assert_int_equal(drops[1]->count(), 7);
	assert_string_equal(drops[2]->name, "b_bad");
	assert_int_equal(dse_drop_find("b_bad"), 2);
	assert_int_equal(dse_drop_find("nothing"), -ENOENT);
	/* Running init again rebuilds the same list, not a longer one. */
	assert_int_equal(dse_modules_init(), 0);
	assert_int_equal(dse_drops(&drops), 3);
}

static void check_bad_drop(const char *name)
{
	const struct dse_drop_reason bad[] = {{name, "bad"}, {NULL, NULL}};
	struct dse_module m = {.name = "bad", .order = 5, .drops = bad};

	dse_module_register(&m);
	assert_int_equal(dse_modules_init(), -EINVAL);
	dse_module_unregister(&m);
	assert_int_equal(dse_modules_init(), 0);
}

static void test_bad_or_duplicate_drop_names_are_refused(void **state)
{
	char long_name[DSE_DROP_NAME_MAX + 2];

	(void)state;
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	check_bad_drop("b_bad");        /* b's already */
	check_bad_drop("");             /* empty */
	check_bad_drop("Upper");        /* not lower case */
	check_bad_drop("a/b");          /* not a node name */
	check_bad_drop(long_name);      /* too long for a node name */
	long_name[DSE_DROP_NAME_MAX] = '\0';
	{
		const struct dse_drop_reason ok[] = {{long_name, "longest"}, {NULL, NULL}};
		struct dse_module m = {.name = "long", .order = 5, .drops = ok};

		dse_module_register(&m);
		assert_int_equal(dse_modules_init(), 0);
		dse_module_unregister(&m);
	}
}

static void test_too_many_drops_are_refused(void **state)
{
	static struct dse_drop_reason many[DSE_DROPS_MAX + 1];
	static char names[DSE_DROPS_MAX][16];
	struct dse_module m = {.name = "many", .order = 5, .drops = many};

	(void)state;
	for (int i = 0; i < DSE_DROPS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "many_%d", i);
		many[i] = (struct dse_drop_reason){names[i], "one of many"};
	}
	dse_module_register(&m);
	/* With a's and b's three that is more than the registry holds. */
	assert_int_equal(dse_modules_init(), -EINVAL);
	dse_module_unregister(&m);
}

static void test_config_save_runs_in_order_and_stops_at_an_error(void **state)
{
	struct dse_module f = {.name = "f", .order = 15, .config_save = fail_save};
	json_t *calls = json_array();

	(void)state;
	assert_int_equal(dse_modules_config_save(calls), 0);
	assert_string_equal(trace, "ab");
	assert_int_equal(json_array_size(calls), 2);
	assert_string_equal(json_string_value(json_array_get(calls, 0)), "a-call");
	json_decref(calls);

	trace[0] = '\0';
	dse_module_register(&f);
	calls = json_array();
	assert_int_equal(dse_modules_config_save(calls), -ENOMEM);
	/* b comes after the failing module and is not asked. */
	assert_string_equal(trace, "af");
	json_decref(calls);
	dse_module_unregister(&f);
}

static void test_stats_and_in_use_hooks(void **state)
{
	json_t *stats = json_object();
	char why[64] = "";

	(void)state;
	dse_modules_stats(stats);
	assert_int_equal(json_integer_value(json_object_get(stats, "a")), 1);
	assert_int_equal(json_integer_value(json_object_get(stats, "b")), 2);
	json_decref(stats);

	assert_false(dse_modules_segment_in_use(2, why, sizeof(why)));
	assert_true(dse_modules_segment_in_use(3, why, sizeof(why)));
	assert_string_equal(why, "b holds segment 3");
	assert_false(dse_modules_port_in_use(3, why, sizeof(why)));
	dse_modules_segment_removed(9);
	assert_int_equal(removed_seg, 9);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_modules_are_kept_in_order),
		T(test_one_method_table_test_methods_only_on_request),
		T(test_a_method_registered_twice_is_refused),
		T(test_drops_in_module_order_with_counters),
		T(test_bad_or_duplicate_drop_names_are_refused),
		T(test_too_many_drops_are_refused),
		T(test_config_save_runs_in_order_and_stops_at_an_error),
		T(test_stats_and_in_use_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
