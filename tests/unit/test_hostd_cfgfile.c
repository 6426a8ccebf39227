/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of dsectl's host profile files (src/ctl/cfgfile.c): YAML and
 * JSON read into the same value, positions of elements, clear errors for
 * what is refused, and YAML written back that reads as the same value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"

static json_t *load(const char *text, bool json, struct cfg_doc *doc)
{
	char err[512];

	if (cfg_parse("t", text, strlen(text), json, doc, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return doc->root;
}

/* Expects 'text' to be refused with a message that contains 'needle'. */
static void refused(const char *text, bool json, const char *needle)
{
	struct cfg_doc doc;
	char err[512] = "";

	if (cfg_parse("t", text, strlen(text), json, &doc, err, sizeof(err)) == 0) {
		cfg_free(&doc);
		fail_msg("'%s' was accepted", text);
	}
	if (strstr(err, needle) == NULL)
		fail_msg("'%s': got '%s', wanted '%s'", text, err, needle);
}

/*
 * The same profile in YAML and in JSON gives the same value; unquoted
 * scalars are typed by the YAML 1.2 core schema and quoted ones are strings.
 */
static void test_cfgfile_yaml_and_json_read_the_same(void **state)
{
	struct cfg_doc y, j;
	const char *yaml = "segments:\n"
			   "  - name: web\n"
			   "    vlan: 100\n"
			   "    switch: \"100\"\n"
			   "ports:\n"
			   "  - {name: p1, mac: 02:00:00:00:01:0a, vm: ~, on: yes, x: true}\n";
	const char *json = "{\"segments\": [{\"name\": \"web\", \"vlan\": 100, \"switch\": "
			   "\"100\"}], \"ports\": [{\"name\": \"p1\", \"mac\": "
			   "\"02:00:00:00:01:0a\", \"vm\": null, \"on\": \"yes\", \"x\": true}]}";

	(void)state;
	load(yaml, false, &y);
	load(json, true, &j);
	assert_true(json_equal(y.root, j.root));
	cfg_free(&y);
	cfg_free(&j);
}

/* Elements are found at their line and column, and a missing one at its parent's. */
static void test_cfgfile_positions(void **state)
{
	struct cfg_doc y, j;
	int line = 0, col = 0;

	(void)state;
	load("switches:\n  - name: sw1\n    mode: single\n", false, &y);
	assert_true(cfg_position(&y, "switches[0].mode", &line, &col));
	assert_int_equal(line, 3);
	assert_int_equal(col, 5);
	assert_true(cfg_position(&y, "switches[0].dpus", &line, &col));
	assert_int_equal(line, 2);
	assert_int_equal(col, 5);
	cfg_free(&y);

	load("{\n \"switches\": [\n  {\"name\": \"sw1\",\n   \"mode\": 5}]}", true, &j);
	assert_true(cfg_position(&j, "switches[0].mode", &line, &col));
	assert_int_equal(line, 4);
	assert_int_equal(col, 4);
	cfg_free(&j);
}

/* What the reader refuses, it refuses with the position and what to do. */
static void test_cfgfile_refusals(void **state)
{
	(void)state;
	refused("a: 1\na: 2\n", false, "t:2:1: the key 'a' appears twice");
	refused("a: &x 1\nb: *x\n", false, "aliases");
	refused("a: !!float 1\n", false, "tag");
	refused("a: !!int x\n", false, "not of type int");
	refused("? [1]\n: 2\n", false, "a key must be a plain string");
	refused("a: 1\n---\nb: 2\n", false, "more than one YAML document");
	refused("", false, "holds no host profile");
	refused("a:\n - b\n c\n", false, "that starts at line 3 column 2");
	refused("{\"a\": 1,}", true, "t:1:");
	refused("{\"a\": 1, \"a\": 2}", true, "duplicate");
}

/* YAML written from a value reads back as the same value, strings that look like numbers too. */
static void test_cfgfile_yaml_round_trip(void **state)
{
	json_t *v = json_loads("{\"version\": 1, \"dpus\": [], \"s\": [{\"name\": \"100\", "
			       "\"mac\": \"12:34:56:00:00:01\", \"t\": \"true\", \"n\": \"null\", "
			       "\"e\": \"\", \"list\": [\"a\", \"b\"], \"vlan\": 7, \"b\": false}]}",
			       0, NULL);
	struct cfg_doc doc;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(cfg_write_yaml(f, v), 0);
	fclose(f);
	load(buf, false, &doc);
	assert_true(json_equal(v, doc.root));
	cfg_free(&doc);
	free(buf);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfgfile_yaml_and_json_read_the_same),
		cmocka_unit_test(test_cfgfile_positions),
		cmocka_unit_test(test_cfgfile_refusals),
		cmocka_unit_test(test_cfgfile_yaml_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
