/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of reconciling a DPU (reconcile.c): what a DPU should hold,
 * computed from the desired state, and the dse-dpud calls planned from
 * what the DPU reports.  The DPU's answers are written by hand in the
 * shapes of dse-dpud's segment.list, port.list and fdb.list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "reconcile.h"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);

	if (v == NULL)
		fail_msg("bad test JSON at %d: %s", e.column, e.text);
	return v;
}

/* The normalized form of a profile. */
static json_t *state_of(const char *profile, json_t *inventory)
{
	struct model_err e;
	json_t *doc = parse(profile), *out = NULL;

	if (model_normalize(doc, inventory, NULL, &out, &e) < 0)
		fail_msg("%s: %s", e.path, e.msg);
	json_decref(doc);
	return out;
}

static const char profile[] =
	"{\"switches\": [{\"name\": \"sw1\", \"mode\": \"active-standby\", \"dpus\": [\"h1-d1\", "
	"\"h1-d2\"], \"uplinks\": [\"vmnic0\", \"vmnic2\"]}],"
	" \"segments\": [{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100},"
	"                {\"name\": \"db\", \"switch\": \"sw1\", \"vlan\": 200}],"
	" \"ports\": [{\"name\": \"vm1-eth0\", \"mac\": \"02:00:00:00:01:01\", \"segment\": "
	"\"web\", \"vm\": \"vm1\"}]}";

static const char inventory[] =
	"[{\"name\": \"h1-d1\", \"link\": \"int-d1\", \"vendor\": \"V\", \"model\": \"M\", "
	"\"hw_version\": \"1\", \"fw_version\": \"1\"},"
	" {\"name\": \"h1-d2\", \"link\": \"int-d2\", \"vendor\": \"V\", \"model\": \"M\", "
	"\"hw_version\": \"1\", \"fw_version\": \"1\"}]";

/* Returns the method names of 'calls', joined by spaces. */
static char *methods(json_t *calls)
{
	static char buf[2048];
	size_t i, off = 0;
	json_t *c;

	buf[0] = '\0';
	json_array_foreach(calls, i, c)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? " " : "",
					json_string_value(json_object_get(c, "method")));
	return buf;
}

/*
 * The active DPU of a pair gets the VLAN segments, its own uplink as a
 * trunk of every VLAN segment, the VM port on rep-<vm> and a static FDB
 * entry; a switch without a TEP gives it none.
 */
static void test_reconcile_desired_of_active_dpu(void **state)
{
	json_t *inv = parse(inventory), *doc = state_of(profile, inv);
	json_t *d = reconcile_desired(doc, inv, "h1-d1"), *ports;
	char *text;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(d, "role")), "active");
	assert_string_equal(json_string_value(json_object_get(d, "switch")), "sw1");
	assert_true(json_is_null(json_object_get(d, "refused")));
	assert_int_equal(json_array_size(json_object_get(d, "segments")), 2);
	ports = json_object_get(d, "ports");
	text = json_dumps(ports, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text,
			    "[{\"iface\":\"vmnic0\",\"mode\":\"trunk\",\"name\":\"vmnic0\","
			    "\"segments\":[\"db\",\"web\"],\"uplink\":true},"
			    "{\"iface\":\"rep-vm1\",\"mode\":\"access\",\"name\":\"vm1-eth0\","
			    "\"segment\":\"web\"}]");
	free(text);
	assert_int_equal(json_array_size(json_object_get(d, "fdb")), 1);
	assert_int_equal(json_array_size(json_object_get(d, "notes")), 0);
	assert_true(json_is_null(json_object_get(d, "tep")));
	json_decref(d);
	json_decref(doc);
	json_decref(inv);
}

/*
 * The standby holds segments, its uplink and the VM ports too (its datapath
 * holds), and its role and the sync link in "ha"; a DPU of no switch has
 * role none; a pair that turned out different is refused.
 */
static void test_reconcile_desired_of_standby_and_others(void **state)
{
	json_t *inv = parse(inventory), *doc = state_of(profile, inv), *d;

	(void)state;
	d = reconcile_desired(doc, inv, "h1-d2");
	assert_string_equal(json_string_value(json_object_get(d, "role")), "standby");
	assert_int_equal(json_array_size(json_object_get(d, "ports")), 2);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(d, "ports"), 0), "name")),
			    "vmnic2");
	assert_int_equal(json_array_size(json_object_get(d, "fdb")), 1);
	{
		char *ha = json_dumps(json_object_get(d, "ha"), JSON_COMPACT | JSON_SORT_KEYS);

		assert_string_equal(ha, "{\"epoch\":0,\"iface\":\"sync0\",\"role\":\"standby\"}");
		free(ha);
	}
	json_decref(d);
	d = reconcile_desired(doc, inv, "h1-d1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "ha"), "role")),
			    "active");
	json_decref(d);

	d = reconcile_desired(doc, inv, "h1-d7");
	assert_string_equal(json_string_value(json_object_get(d, "role")), "none");
	assert_true(json_is_null(json_object_get(d, "switch")));
	json_decref(d);

	json_object_set_new(json_array_get(inv, 1), "fw_version", json_string("2"));
	d = reconcile_desired(doc, inv, "h1-d1");
	assert_non_null(strstr(json_string_value(json_object_get(d, "refused")), "fw_version"));
	assert_int_equal(json_array_size(json_object_get(d, "ports")), 0);
	json_decref(d);
	json_decref(doc);
	json_decref(inv);
}

/*
 * An empty DPU gets segments first, then ports (each with its own
 * net_af_packet index, skipping those in use), then FDB entries; a DPU that
 * holds exactly the desired config gets nothing.
 */
static void test_reconcile_plan_from_empty_and_in_sync(void **state)
{
	json_t *inv = parse(inventory), *doc = state_of(profile, inv);
	json_t *d = reconcile_desired(doc, inv, "h1-d1");
	json_t *none = json_array(), *calls, *other;
	json_t *segs, *ports, *fdb;

	(void)state;
	/* A port the host does not know, using index 0: it goes, and 0 is not reused. */
	other = parse("[{\"name\": \"x\", \"devargs\": \"net_af_packet0,iface=x\", \"mode\": "
		      "\"access\", \"segment\": null}]");
	calls = reconcile_plan(d, none, other, none, NULL);
	assert_string_equal(methods(calls), "port.del segment.add segment.add port.add port.add "
					    "fdb.add");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_array_get(calls, 3), "params"), "devargs")),
			    "net_af_packet1,iface=vmnic0");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_array_get(calls, 4), "params"), "devargs")),
			    "net_af_packet2,iface=rep-vm1");
	json_decref(calls);
	json_decref(other);

	segs = parse("[{\"name\": \"db\", \"vlan\": 200, \"ports\": []},"
		     " {\"name\": \"web\", \"vlan\": 100, \"ports\": []}]");
	ports = parse("[{\"name\": \"vm1-eth0\", \"devargs\": \"net_af_packet3,iface=rep-vm1\", "
		      "\"mode\": \"access\", \"segment\": \"web\"},"
		      " {\"name\": \"vmnic0\", \"devargs\": \"net_af_packet0,iface=vmnic0\", "
		      "\"mode\": \"trunk\", \"segments\": [\"web\", \"db\"], \"uplink\": true}]");
	fdb = parse("[{\"segment\": \"web\", \"mac\": \"02:00:00:00:01:01\", \"port\": "
		    "\"vm1-eth0\", \"static\": true},"
		    " {\"segment\": \"web\", \"mac\": \"02:00:00:00:09:09\", \"port\": \"vmnic0\", "
		    "\"static\": false}]");
	calls = reconcile_plan(d, segs, ports, fdb, NULL);
	assert_int_equal(json_array_size(calls), 0);
	json_decref(calls);

	json_decref(segs);
	json_decref(ports);
	json_decref(fdb);
	json_decref(none);
	json_decref(d);
	json_decref(doc);
	json_decref(inv);
}

/*
 * A segment whose VLAN changed is removed and added again: its access ports
 * go first and come back, trunks drop it and take it again, its static
 * entries are re-added; a stray static entry is removed.
 */
static void test_reconcile_plan_changed_vlan(void **state)
{
	json_t *inv = parse(inventory), *doc = state_of(profile, inv);
	json_t *d = reconcile_desired(doc, inv, "h1-d1"), *calls, *segs, *ports, *fdb;

	(void)state;
	segs = parse("[{\"name\": \"db\", \"vlan\": 200, \"ports\": []},"
		     " {\"name\": \"web\", \"vlan\": 101, \"ports\": []}]");
	ports = parse("[{\"name\": \"vm1-eth0\", \"devargs\": \"net_af_packet3,iface=rep-vm1\", "
		      "\"mode\": \"access\", \"segment\": \"web\"},"
		      " {\"name\": \"vmnic0\", \"devargs\": \"net_af_packet0,iface=vmnic0\", "
		      "\"mode\": \"trunk\", \"segments\": [\"web\", \"db\"]}]");
	fdb = parse("[{\"segment\": \"web\", \"mac\": \"02:00:00:00:01:01\", \"port\": "
		    "\"vm1-eth0\", \"static\": true},"
		    " {\"segment\": \"db\", \"mac\": \"02:00:00:00:07:07\", \"port\": \"vmnic0\", "
		    "\"static\": true}]");
	calls = reconcile_plan(d, segs, ports, fdb, NULL);
	/* Desired ports in order: the uplink (a trunk: set), then the VM port (re-added). */
	assert_string_equal(methods(calls), "port.del port.set fdb.del segment.del segment.add "
					    "port.set port.add fdb.add");
	json_decref(calls);
	json_decref(segs);
	json_decref(ports);
	json_decref(fdb);
	json_decref(d);
	json_decref(doc);
	json_decref(inv);
}

/* The profile above with a firewall: a policy of web, rules of each scope. */
static const char fw_profile[] =
	"{\"switches\": [{\"name\": \"sw1\", \"mode\": \"active-standby\", \"dpus\": [\"h1-d1\", "
	"\"h1-d2\"], \"uplinks\": [\"vmnic0\", \"vmnic2\"]}],"
	" \"segments\": [{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100},"
	"                {\"name\": \"db\", \"switch\": \"sw1\", \"vlan\": 200}],"
	" \"ports\": [{\"name\": \"vm1-eth0\", \"mac\": \"02:00:00:00:01:01\", \"segment\": "
	"\"web\", \"vm\": \"vm1\"}],"
	" \"firewall\": {\"policies\": [{\"segment\": \"web\", \"default\": \"deny\"}],"
	"   \"rules\": [{\"id\": 1, \"proto\": \"icmp\", \"action\": \"allow\"},"
	"             {\"id\": 2, \"segment\": \"web\", \"proto\": \"tcp\", \"dport\": 22, "
	"\"src\": \"10.0.0.0/8\", \"action\": \"allow\"},"
	"             {\"id\": 3, \"port\": \"vm1-eth0\", \"proto\": \"udp\", \"sport\": "
	"\"1000-2000\", \"direction\": \"out\", \"action\": \"reject\"},"
	"             {\"id\": 5, \"segment\": \"db\", \"priority\": -3, \"action\": \"drop\"}]}}";

/* Returns the "id"s of the fw.rule.add calls of 'calls' or the rules 'list', joined. */
static char *ids(json_t *list)
{
	static char buf[256];
	size_t i, off = 0;
	json_t *c;

	buf[0] = '\0';
	json_array_foreach(list, i, c) {
		if (off >= sizeof(buf))
			break;
		json_t *p = json_object_get(c, "params") ? json_object_get(c, "params") : c;

		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%lld", off ? " " : "",
					(long long)json_integer_value(json_object_get(p, "id")));
	}
	return buf;
}

/*
 * The firewall of a DPU: the policies of its segments, the rules of its
 * segments, of its VM ports and those without scope, with the address
 * family dse-dpud needs; the standby has no rule of a VM port.
 */
static void test_reconcile_desired_firewall(void **state)
{
	json_t *inv = parse(inventory), *doc = state_of(fw_profile, inv), *d, *r;
	char *text;

	(void)state;
	d = reconcile_desired(doc, inv, "h1-d1");
	text = json_dumps(json_object_get(d, "policies"), JSON_COMPACT);
	assert_string_equal(text, "[{\"segment\":\"web\",\"default\":\"deny\"}]");
	free(text);
	assert_string_equal(ids(json_object_get(d, "rules")), "1 2 3 5");
	r = json_array_get(json_object_get(d, "rules"), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "family")), 4);
	r = json_array_get(json_object_get(d, "rules"), 2);
	text = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"action\":\"reject\",\"direction\":\"out\",\"family\":0,"
				  "\"id\":3,\"port\":\"vm1-eth0\",\"priority\":0,\"proto\":\"udp\","
				  "\"sport\":\"1000-2000\"}");
	free(text);
	json_decref(d);

	d = reconcile_desired(doc, inv, "h1-d2");
	assert_string_equal(ids(json_object_get(d, "rules")), "1 2 3 5");
	assert_int_equal(json_array_size(json_object_get(d, "policies")), 1);
	json_decref(d);

	d = reconcile_desired(doc, inv, "h1-d9");
	assert_int_equal(json_array_size(json_object_get(d, "rules")), 0);
	assert_int_equal(json_array_size(json_object_get(d, "policies")), 0);
	json_decref(d);
	json_decref(doc);
	json_decref(inv);
}

/*
 * A rule the host wants and the same rule as dse-dpud lists it are equal
 * whatever the spelling of "any"; any real difference is seen.
 */
static void test_reconcile_fw_rule_equal(void **state)
{
	json_t *want = parse("{\"id\": 2, \"priority\": 0, \"segment\": \"web\", \"direction\": "
			     "\"any\", \"src\": \"10.0.0.0/8\", \"proto\": \"tcp\", \"dport\": 22, "
			     "\"action\": \"allow\", \"family\": 4}");
	json_t *dpu = parse("{\"id\": 2, \"priority\": 0, \"family\": 4, \"src\": \"10.0.0.0/8\", "
			    "\"dst\": \"any\", \"proto\": \"tcp\", \"action\": \"allow\", "
			    "\"direction\": \"any\", \"sport\": null, \"dport\": 22, \"segment\": "
			    "\"web\", \"hits\": 1234}");
	static const char *const changed[][2] = {
		{"priority", "1"},	   {"family", "0"},	     {"src", "\"10.0.0.0/9\""},
		{"dst", "\"10.0.0.1\""},   {"proto", "\"udp\""},     {"dport", "\"22-23\""},
		{"sport", "7"},		   {"action", "\"drop\""},   {"direction", "\"in\""},
		{"segment", "\"db\""},	   {"port", "\"vm1-eth0\""}, {"icmp_type", "3"},
	};

	(void)state;
	assert_true(reconcile_fw_rule_equal(want, dpu));
	for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
		json_t *x = json_deep_copy(dpu);

		json_object_set_new(x, changed[i][0], json_loads(changed[i][1], JSON_DECODE_ANY, NULL));
		if (reconcile_fw_rule_equal(want, x))
			fail_msg("a rule with another %s is taken for the same", changed[i][0]);
		json_decref(x);
	}
	/* The spellings of any. */
	json_object_set_new(dpu, "sport", json_string("0-65535"));
	json_object_set_new(dpu, "dst", json_string("0.0.0.0/0"));
	assert_true(reconcile_fw_rule_equal(want, dpu));
	json_decref(want);
	json_decref(dpu);
}

/*
 * Describes the fw.rule.apply call 'c' as "rules=2,3 delete=9 policies=web:deny"
 * (the parts it has), or its method for another call.
 */
static char *change_set(json_t *c)
{
	static char buf[512];
	json_t *p = json_object_get(c, "params"), *v;
	size_t off = 0, i;

	buf[0] = '\0';
	if (strcmp(json_string_value(json_object_get(c, "method")), "fw.rule.apply") != 0)
		return (char *)json_string_value(json_object_get(c, "method"));
	if (json_object_get(p, "rules"))
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "rules=%s ",
					ids(json_object_get(p, "rules")));
	if (json_object_get(p, "delete")) {
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "delete=");
		json_array_foreach(json_object_get(p, "delete"), i, v)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%lld",
						i ? "," : "", (long long)json_integer_value(v));
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, " ");
	}
	if (json_object_get(p, "policies")) {
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "policies=");
		json_array_foreach(json_object_get(p, "policies"), i, v)
			off += (size_t)snprintf(
			    buf + off, sizeof(buf) - off, "%s%s:%s", i ? "," : "",
			    json_string_value(json_object_get(v, "segment")),
			    json_string_value(json_object_get(v, "default")));
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, " ");
	}
	if (off > 0)
		buf[off - 1] = '\0';
	return buf;
}

/*
 * The firewall's calls, two change sets at most: from an empty DPU, one
 * fw.rule.apply with every rule and the policy after the segments and
 * ports they name; from a DPU in sync, none; a rule that changed is
 * replaced in the set after the layer 2 calls (never absent), a rule that is
 * not the host's goes in the set before; a segment that comes back with
 * another VLAN first loses its policy and rules (dse-dpud would refuse to
 * remove it), then gets them again.
 */
static void test_reconcile_plan_firewall(void **state)
{
	json_t *inv = parse(inventory), *doc = state_of(fw_profile, inv);
	json_t *d = reconcile_desired(doc, inv, "h1-d1"), *none = json_array(), *calls;
	json_t *segs, *ports, *fdb, *rules, *pols;

	(void)state;
	calls = reconcile_plan_fw(d, none, none, none, NULL, none, none);
	assert_string_equal(methods(calls), "segment.add segment.add port.add port.add fdb.add "
					    "fw.rule.apply");
	assert_string_equal(change_set(json_array_get(calls, 5)),
			    "rules=1 2 3 5 policies=web:deny");
	json_decref(calls);

	segs = parse("[{\"name\": \"db\", \"vlan\": 200, \"ports\": []},"
		     " {\"name\": \"web\", \"vlan\": 100, \"ports\": []}]");
	ports = parse("[{\"name\": \"vm1-eth0\", \"devargs\": \"net_af_packet3,iface=rep-vm1\", "
		      "\"mode\": \"access\", \"segment\": \"web\"},"
		      " {\"name\": \"vmnic0\", \"devargs\": \"net_af_packet0,iface=vmnic0\", "
		      "\"mode\": \"trunk\", \"segments\": [\"web\", \"db\"], \"uplink\": true}]");
	fdb = parse("[{\"segment\": \"web\", \"mac\": \"02:00:00:00:01:01\", \"port\": "
		    "\"vm1-eth0\", \"static\": true}]");
	/* As dse-dpud lists them: in evaluation order, every field, with hits. */
	rules = parse("[{\"id\": 2, \"priority\": 0, \"family\": 4, \"src\": \"10.0.0.0/8\", "
		      "\"dst\": \"any\", \"proto\": \"tcp\", \"action\": \"allow\", \"direction\": "
		      "\"any\", \"sport\": null, \"dport\": 22, \"segment\": \"web\", \"hits\": 9},"
		      " {\"id\": 1, \"priority\": 0, \"family\": 4, \"src\": \"any\", \"dst\": "
		      "\"any\", \"proto\": \"icmp\", \"action\": \"allow\", \"direction\": \"any\", "
		      "\"hits\": 0},"
		      " {\"id\": 3, \"priority\": 0, \"family\": 0, \"src\": \"any\", \"dst\": "
		      "\"any\", \"proto\": \"udp\", \"action\": \"reject\", \"direction\": \"out\", "
		      "\"sport\": \"1000-2000\", \"dport\": null, \"port\": \"vm1-eth0\", \"hits\": 1},"
		      " {\"id\": 5, \"priority\": -3, \"family\": 0, \"src\": \"any\", \"dst\": "
		      "\"any\", \"proto\": \"any\", \"action\": \"drop\", \"direction\": \"any\", "
		      "\"segment\": \"db\", \"hits\": 0}]");
	pols = parse("[{\"segment\": \"web\", \"default\": \"deny\"}]");
	calls = reconcile_plan_fw(d, segs, ports, fdb, NULL, rules, pols);
	assert_int_equal(json_array_size(calls), 0);
	json_decref(calls);

	/* Rule 2 changed on the DPU, rule 9 is not the host's, web's policy is allow. */
	json_object_set_new(json_array_get(rules, 0), "dport", json_integer(23));
	json_array_append_new(rules, parse("{\"id\": 9, \"action\": \"drop\", \"hits\": 0}"));
	json_object_set_new(json_array_get(pols, 0), "default", json_string("allow"));
	calls = reconcile_plan_fw(d, segs, ports, fdb, NULL, rules, pols);
	assert_string_equal(methods(calls), "fw.rule.apply fw.rule.apply");
	assert_string_equal(change_set(json_array_get(calls, 0)), "delete=9");
	assert_string_equal(change_set(json_array_get(calls, 1)), "rules=2 policies=web:deny");
	json_decref(calls);

	/* web comes back with another VLAN: its policy and rules 2 and 3 go first, come back last. */
	json_object_set_new(json_array_get(segs, 1), "vlan", json_integer(101));
	json_object_set_new(json_array_get(pols, 0), "default", json_string("deny"));
	json_array_remove(rules, 4);
	json_object_set_new(json_array_get(rules, 0), "dport", json_integer(22));
	calls = reconcile_plan_fw(d, segs, ports, fdb, NULL, rules, pols);
	assert_string_equal(methods(calls), "fw.rule.apply port.del port.set segment.del "
					    "segment.add port.set port.add fdb.add fw.rule.apply");
	assert_string_equal(change_set(json_array_get(calls, 0)), "delete=2,3 policies=web:off");
	assert_string_equal(change_set(json_array_get(calls, 8)), "rules=2 3 policies=web:deny");
	json_decref(calls);

	/* A DPU that left its switch loses its whole firewall before its segments. */
	json_decref(d);
	d = reconcile_desired(doc, inv, "h1-d9");
	calls = reconcile_plan_fw(d, segs, ports, fdb, NULL, rules, pols);
	assert_string_equal(methods(calls),
			    "fw.rule.apply port.del port.del segment.del segment.del");
	assert_string_equal(change_set(json_array_get(calls, 0)),
			    "delete=2,1,3,5 policies=web:off");
	json_decref(calls);

	/* 10,000 rules in sync plan nothing; 10,000 new ones are one call. */
	json_decref(rules);
	rules = json_array();
	for (int i = 1; i <= 10000; i++)
		json_array_append_new(rules, json_pack("{s:i, s:s, s:s, s:i}", "id", i, "action",
						       "drop", "proto", "tcp", "dport", i));
	json_object_set_new(d, "rules", json_deep_copy(rules));
	calls = reconcile_plan_fw(d, none, none, none, NULL, rules, none);
	assert_int_equal(json_array_size(calls), 0);
	json_decref(calls);
	calls = reconcile_plan_fw(d, none, none, none, NULL, none, none);
	assert_string_equal(methods(calls), "fw.rule.apply");
	assert_int_equal(json_array_size(json_object_get(
			     json_object_get(json_array_get(calls, 0), "params"), "rules")),
			 10000);
	json_decref(calls);

	json_decref(segs);
	json_decref(ports);
	json_decref(fdb);
	json_decref(rules);
	json_decref(pols);
	json_decref(none);
	json_decref(d);
	json_decref(doc);
	json_decref(inv);
}

/* ---- the overlay ---- */

/* A pair with a TEP, a VLAN segment and an overlay segment with two peers. */
static const char ov_profile[] =
	"{\"switches\": [{\"name\": \"sw1\", \"mode\": \"active-standby\", \"dpus\": [\"h1-d1\", "
	"\"h1-d2\"], \"uplinks\": [\"vmnic2\", \"vmnic1\", \"vmnic0\"], \"tep\": {\"ip\": "
	"\"198.19.1.1\"}}],"
	" \"segments\": [{\"name\": \"web\", \"switch\": \"sw1\", \"vlan\": 100},"
	"                {\"name\": \"ov\", \"switch\": \"sw1\", \"vni\": 5001, \"peers\": "
	"[\"198.19.3.1\", \"198.19.2.1\"]}],"
	" \"ports\": [{\"name\": \"vm1-eth0\", \"mac\": \"02:00:00:00:01:01\", \"segment\": "
	"\"web\", \"vm\": \"vm1\"},"
	"             {\"name\": \"vm3-eth0\", \"mac\": \"02:00:00:00:01:03\", \"segment\": "
	"\"ov\", \"vm\": \"vm3\"}],"
	" \"firewall\": {\"policies\": [{\"segment\": \"ov\", \"default\": \"deny\"}],"
	"   \"rules\": [{\"id\": 4, \"segment\": \"ov\", \"proto\": \"icmp\", \"action\": "
	"\"allow\"}]}}";

/* What a DPU holding ov_profile's config for h1-d1 reports, with its TEP on 'tep_port'. */
static void ov_dpu_state(const char *tep_port, json_t **segs, json_t **ports, json_t **fdb,
			 json_t **tep)
{
	char text[256];

	*segs = parse("[{\"name\": \"ov\", \"vni\": 5001, \"peers\": [\"198.19.3.1\", "
		      "\"198.19.2.1\"], \"ports\": [\"vm3-eth0\"]},"
		      " {\"name\": \"web\", \"vlan\": 100, \"ports\": [\"vmnic0\", \"vmnic1\", "
		      "\"vm1-eth0\"]}]");
	*ports = parse("[{\"name\": \"vmnic0\", \"devargs\": \"net_af_packet0,iface=vmnic0\", "
		       "\"mode\": \"trunk\", \"segments\": [\"web\"], \"uplink\": true},"
		       " {\"name\": \"vmnic1\", \"devargs\": \"net_af_packet1,iface=vmnic1\", "
		       "\"mode\": \"trunk\", \"segments\": [\"web\"], \"uplink\": true},"
		       " {\"name\": \"vm1-eth0\", \"devargs\": \"net_af_packet2,iface=rep-vm1\", "
		       "\"mode\": \"access\", \"segment\": \"web\"},"
		       " {\"name\": \"vm3-eth0\", \"devargs\": \"net_af_packet3,iface=rep-vm3\", "
		       "\"mode\": \"access\", \"segment\": \"ov\"}]");
	*fdb = parse("[{\"segment\": \"web\", \"mac\": \"02:00:00:00:01:01\", \"port\": "
		     "\"vm1-eth0\", \"static\": true},"
		     " {\"segment\": \"ov\", \"mac\": \"02:00:00:00:01:03\", \"port\": "
		     "\"vm3-eth0\", \"static\": true},"
		     " {\"segment\": \"ov\", \"mac\": \"02:00:00:00:02:01\", \"port\": "
		     "\"tep-198.19.2.1\", \"static\": false}]");
	snprintf(text, sizeof(text),
		 "{\"ip\": \"198.19.1.1\", \"mac\": \"02:aa:00:00:00:01\", \"uplink\": \"%s\", "
		 "\"mtu\": 1500, \"peers\": []}",
		 tep_port);
	*tep = parse(text);
}

static void decref_all(json_t *a, json_t *b, json_t *c, json_t *d)
{
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
}

/*
 * The active DPU gets the overlay segment with its VNI and peers (in
 * numeric order), the VM port on it, its FDB entry, its firewall, and the
 * switch's TEP on the DPU's first uplink; the trunks carry the VLAN segment
 * only.  The standby gets the segments and its uplink but no TEP.
 */
static void test_reconcile_desired_overlay(void **state)
{
	json_t *inv = parse(inventory), *doc = state_of(ov_profile, inv), *d;
	char *text;

	(void)state;
	d = reconcile_desired(doc, inv, "h1-d1");
	text = json_dumps(json_object_get(d, "segments"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "[{\"name\":\"ov\",\"peers\":[\"198.19.2.1\",\"198.19.3.1\"],"
				  "\"vni\":5001},{\"name\":\"web\",\"vlan\":100}]");
	free(text);
	text = json_dumps(json_object_get(d, "ports"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text,
			    "[{\"iface\":\"vmnic0\",\"mode\":\"trunk\",\"name\":\"vmnic0\","
			    "\"segments\":[\"web\"],\"uplink\":true},"
			    "{\"iface\":\"vmnic1\",\"mode\":\"trunk\",\"name\":\"vmnic1\","
			    "\"segments\":[\"web\"],\"uplink\":true},"
			    "{\"iface\":\"rep-vm1\",\"mode\":\"access\",\"name\":\"vm1-eth0\","
			    "\"segment\":\"web\"},"
			    "{\"iface\":\"rep-vm3\",\"mode\":\"access\",\"name\":\"vm3-eth0\","
			    "\"segment\":\"ov\"}]");
	free(text);
	text = json_dumps(json_object_get(d, "tep"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"ip\":\"198.19.1.1\",\"uplink\":\"vmnic0\"}");
	free(text);
	assert_int_equal(json_array_size(json_object_get(d, "fdb")), 2);
	assert_int_equal(json_array_size(json_object_get(d, "policies")), 1);
	assert_string_equal(ids(json_object_get(d, "rules")), "4");
	assert_int_equal(json_array_size(json_object_get(d, "notes")), 0);
	json_decref(d);

	d = reconcile_desired(doc, inv, "h1-d2");
	assert_int_equal(json_array_size(json_object_get(d, "segments")), 2);
	text = json_dumps(json_object_get(d, "ports"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(text, "\"name\":\"vmnic2\""));
	assert_non_null(strstr(text, "\"name\":\"vm3-eth0\""));
	free(text);
	/* The standby holds the TEP too, on its own uplink: held, it answers no ARP. */
	text = json_dumps(json_object_get(d, "tep"), JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"ip\":\"198.19.1.1\",\"uplink\":\"vmnic2\"}");
	free(text);
	json_decref(d);
	json_decref(doc);
	json_decref(inv);
}

/*
 * The overlay's calls: from an empty DPU, the overlay segment is added with
 * its VNI and peers and the TEP is set after the uplink exists; a DPU in
 * sync (peers in another order) gets nothing; other peers are one
 * segment.set, another TEP address or uplink one tep.set; another VNI
 * makes the segment go and come back with its port.
 */
static void test_reconcile_plan_overlay(void **state)
{
	json_t *inv = parse(inventory), *doc = state_of(ov_profile, inv);
	json_t *d = reconcile_desired(doc, inv, "h1-d1"), *none = json_array(), *calls, *c;
	json_t *segs, *ports, *fdb, *tep = parse("{\"ip\": null, \"peers\": []}");
	char *text;

	(void)state;
	calls = reconcile_plan(d, none, none, none, tep);
	assert_string_equal(methods(calls), "segment.add segment.add port.add port.add port.add "
					    "port.add tep.set fdb.add fdb.add");
	text = json_dumps(json_object_get(json_array_get(calls, 0), "params"),
			  JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"name\":\"ov\",\"peers\":[\"198.19.2.1\",\"198.19.3.1\"],"
				  "\"vni\":5001}");
	free(text);
	c = json_object_get(json_array_get(calls, 2), "params");
	assert_string_equal(json_string_value(json_object_get(c, "name")), "vmnic0");
	assert_true(json_is_true(json_object_get(c, "uplink")));
	text = json_dumps(json_object_get(json_array_get(calls, 6), "params"),
			  JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"ip\":\"198.19.1.1\",\"uplink\":\"vmnic0\"}");
	free(text);
	json_decref(calls);
	json_decref(tep);

	ov_dpu_state("vmnic0", &segs, &ports, &fdb, &tep);
	calls = reconcile_plan(d, segs, ports, fdb, tep);
	assert_int_equal(json_array_size(calls), 0);
	json_decref(calls);

	json_object_set_new(json_array_get(segs, 0), "peers", parse("[\"198.19.2.1\"]"));
	calls = reconcile_plan(d, segs, ports, fdb, tep);
	assert_string_equal(methods(calls), "segment.set");
	text = json_dumps(json_object_get(json_array_get(calls, 0), "params"),
			  JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"name\":\"ov\",\"peers\":[\"198.19.2.1\",\"198.19.3.1\"]}");
	free(text);
	json_decref(calls);
	decref_all(segs, ports, fdb, tep);

	ov_dpu_state("vmnic1", &segs, &ports, &fdb, &tep);
	calls = reconcile_plan(d, segs, ports, fdb, tep);
	assert_string_equal(methods(calls), "tep.set");
	json_object_set_new(tep, "uplink", json_string("vmnic0"));
	json_object_set_new(tep, "ip", json_string("198.19.1.9"));
	json_decref(calls);
	calls = reconcile_plan(d, segs, ports, fdb, tep);
	assert_string_equal(methods(calls), "tep.set");
	json_decref(calls);

	json_object_set_new(tep, "ip", json_string("198.19.1.1"));
	json_object_set_new(json_array_get(segs, 0), "vni", json_integer(5002));
	calls = reconcile_plan(d, segs, ports, fdb, tep);
	assert_string_equal(methods(calls), "port.del segment.del segment.add port.add fdb.add");
	json_decref(calls);
	decref_all(segs, ports, fdb, tep);
	json_decref(none);
	json_decref(d);
	json_decref(doc);
	json_decref(inv);
}

/*
 * dse-dpud deletes no port that carries its TEP, and takes no TEP away.
 * Steps: the switch drops uplink vmnic1, which carries the DPU's TEP; then
 * the DPU leaves the switch.  Verify: vmnic1 first leaves its segments,
 * the TEP moves to vmnic0 and only then vmnic1 goes; a DPU that leaves its
 * switch loses everything but the TEP's port (it leaves its segments) and
 * no tep.set is planned.
 */
static void test_reconcile_plan_tep_port(void **state)
{
	json_t *inv = parse(inventory), *doc = state_of(ov_profile, inv), *d, *calls;
	json_t *segs, *ports, *fdb, *tep;

	(void)state;
	json_array_remove(json_object_get(json_array_get(json_object_get(doc, "switches"), 0),
					  "uplinks"),
			  1);
	d = reconcile_desired(doc, inv, "h1-d1");
	ov_dpu_state("vmnic1", &segs, &ports, &fdb, &tep);
	calls = reconcile_plan(d, segs, ports, fdb, tep);
	assert_string_equal(methods(calls), "port.set tep.set port.del");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_array_get(calls, 2), "params"), "name")),
			    "vmnic1");
	json_decref(calls);
	json_decref(d);
	decref_all(segs, ports, fdb, tep);

	d = reconcile_desired(doc, inv, "h1-d9");
	ov_dpu_state("vmnic0", &segs, &ports, &fdb, &tep);
	calls = reconcile_plan(d, segs, ports, fdb, tep);
	assert_string_equal(methods(calls), "port.set port.del port.del port.del segment.del "
					    "segment.del");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_array_get(calls, 0), "params"), "name")),
			    "vmnic0");
	json_decref(calls);
	json_decref(d);
	decref_all(segs, ports, fdb, tep);
	json_decref(doc);
	json_decref(inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reconcile_desired_of_active_dpu),
		cmocka_unit_test(test_reconcile_desired_of_standby_and_others),
		cmocka_unit_test(test_reconcile_plan_from_empty_and_in_sync),
		cmocka_unit_test(test_reconcile_plan_changed_vlan),
		cmocka_unit_test(test_reconcile_desired_firewall),
		cmocka_unit_test(test_reconcile_fw_rule_equal),
		cmocka_unit_test(test_reconcile_plan_firewall),
		cmocka_unit_test(test_reconcile_desired_overlay),
		cmocka_unit_test(test_reconcile_plan_overlay),
		cmocka_unit_test(test_reconcile_plan_tep_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
