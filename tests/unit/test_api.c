/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the params decoder (src/lib/api.c) on the generated schema
 * tables (the real types of api/types.json, the real methods of both
 * programs) and on a small hand-made program, and of the JSON-RPC server's
 * binding to a schema: every param checked and named when it is wrong, typed
 * values in call->args, aliases, rpc.list from the schema, and the refusal
 * of a server whose methods and schema differ.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dse_api.h"
#include "jsonrpc.h"

/* The params of the last decode(): decoded strings point into them. */
static json_t *last_params;

/* Decodes the params text 'text' of 'm' into 'args'; returns the result, 'err' the message. */
static int decode(const struct dse_api_method *m, const char *text, void *args, char *err,
		  size_t len)
{
	json_error_t je;
	json_t *p = json_loads(text, JSON_ALLOW_NUL, &je);

	assert_non_null(p);
	json_decref(last_params);
	last_params = p;
	err[0] = '\0';
	return dse_api_decode(m, p, args, err, len);
}

static const struct dse_api_method *dpud(const char *name)
{
	const struct dse_api_method *m = dse_api_find(&dse_api_dpud, name);

	assert_non_null(m);
	return m;
}

static void test_typed_values(void **state)
{
	struct dse_api_dpud_clock_advance ca;
	struct dse_api_dpud_log_set ls;
	char err[512];

	(void)state;
	assert_int_equal(decode(dpud("clock.advance"), "{\"seconds\": 1.5}", &ca, err, sizeof(err)),
			 0);
	assert_true(ca.has_seconds);
	assert_true(ca.seconds == 1.5);
	/* An integer is a number too. */
	assert_int_equal(decode(dpud("clock.advance"), "{\"seconds\": 2}", &ca, err, sizeof(err)),
			 0);
	assert_true(ca.seconds == 2.0);
	/* Enums land as their value: syslog's numbers for log levels, in any case. */
	assert_int_equal(decode(dpud("log.set"), "{\"level\": \"DEBUG\"}", &ls, err, sizeof(err)),
			 0);
	assert_true(ls.has_level);
	assert_int_equal(ls.level, DSE_API_LOG_LEVEL_DEBUG);
	assert_int_equal(DSE_API_LOG_LEVEL_DEBUG, 7);
	assert_int_equal(decode(dpud("log.set"), "{}", &ls, err, sizeof(err)), 0);
	assert_false(ls.has_level);
	/* A null is an absent param. */
	assert_int_equal(decode(dpud("log.set"), "{\"level\": null}", &ls, err, sizeof(err)), 0);
	assert_false(ls.has_level);
}

static void test_refusals_name_the_param(void **state)
{
	struct dse_api_dpud_clock_advance ca;
	struct dse_api_dpud_events_subscribe es;
	char err[512];

	(void)state;
	assert_int_equal(decode(dpud("clock.advance"), "{}", &ca, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'seconds'"));
	assert_non_null(strstr(err, "missing"));
	assert_int_equal(decode(dpud("clock.advance"), "{\"seconds\": -1}", &ca, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "'seconds'"));
	assert_int_equal(
	    decode(dpud("clock.advance"), "{\"seconds\": \"1\"}", &ca, err, sizeof(err)), -EINVAL);
	assert_int_equal(
	    decode(dpud("clock.advance"), "{\"seconds\": 1, \"secs\": 1}", &ca, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "unknown parameter 'secs'"));
	assert_non_null(strstr(err, "seconds")); /* it says what it takes */
	/* An item of an array is named by its index. */
	assert_int_equal(decode(dpud("events.subscribe"), "{\"kinds\": [\"deny\", \"nope\"]}", &es,
				err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "'kinds[1]'"));
	assert_int_equal(decode(dpud("events.subscribe"), "{\"kinds\": []}", &es, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(decode(dpud("events.subscribe"), "{\"kinds\": [\"deny\", \"fdb_aged\"]}",
				&es, err, sizeof(err)),
			 0);
	assert_int_equal(json_array_size(es.kinds), 2);
	/* Params are an object. */
	assert_int_equal(decode(dpud("rpc.list"), "[1]", &es, err, sizeof(err)), -EINVAL);
}

/* One value of type 't' as JSON text: 0 when it is taken, and what it became. */
static int value(const struct dse_api_type *t, const char *text, void *out)
{
	struct dse_api_param p = {.name = "v", .type = t, .required = true, .offset = 0};
	struct {
		union {
			char bytes[64];
			long long ll;
		} v;
		bool has_v;
	} args;
	struct dse_api_method m = {
	    .name = "t.set", .params = &p, .n_params = 1, .args_size = sizeof(args)};
	char text2[256], err[512];
	int r;

	p.has_offset = offsetof(__typeof__(args), has_v);
	snprintf(text2, sizeof(text2), "{\"v\": %s}", text);
	r = decode(&m, text2, &args, err, sizeof(err));
	if (r == 0 && out)
		memcpy(out, &args.v, sizeof(args.v));
	if (r < 0)
		assert_non_null(strstr(err, "'v'"));
	return r;
}

static void test_types(void **state)
{
	union {
		char bytes[64];
		const char *s;
		uint8_t mac[6];
		uint32_t ip4;
		struct dse_api_prefix pfx;
		struct dse_api_port_range pr;
		int e;
	} o;

	(void)state;
	/* Names: 1..31 of [A-Za-z0-9_.-]. */
	assert_int_equal(value(&dse_api_t_name, "\"web-1.a_b\"", &o), 0);
	assert_string_equal(o.s, "web-1.a_b");
	assert_int_equal(value(&dse_api_t_name, "\"\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_name, "\"a b\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_name, "\"a/b\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_name, "\"0123456789012345678901234567890\"", NULL), 0);
	assert_int_equal(value(&dse_api_t_name, "\"01234567890123456789012345678901\"", NULL),
			 -EINVAL);
	assert_int_equal(value(&dse_api_t_name, "\"a\\u0000b\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_name, "7", NULL), -EINVAL);
	/* Port names may not take the prefix of the TEP ports, in any case. */
	assert_int_equal(value(&dse_api_t_port_name, "\"vm1\"", NULL), 0);
	assert_int_equal(value(&dse_api_t_port_name, "\"TEP-1\"", NULL), -EINVAL);
	/* Integers: in range, and not a float or a bool. */
	assert_int_equal(value(&dse_api_t_vlan, "4094", NULL), 0);
	assert_int_equal(value(&dse_api_t_vlan, "4095", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_vlan, "0", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_vlan, "10.0", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_vlan, "true", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_vni, "16777215", NULL), 0);
	assert_int_equal(value(&dse_api_t_vni, "16777216", NULL), -EINVAL);
	/* MACs: exactly six pairs; unicast ones not multicast or zero. */
	assert_int_equal(value(&dse_api_t_unicast_mac, "\"02:00:00:00:00:0A\"", &o), 0);
	assert_int_equal(o.mac[0], 2);
	assert_int_equal(o.mac[5], 10);
	assert_int_equal(value(&dse_api_t_unicast_mac, "\"01:00:5e:00:00:01\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_unicast_mac, "\"00:00:00:00:00:00\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_mac, "\"01:00:5e:00:00:01\"", NULL), 0);
	assert_int_equal(value(&dse_api_t_mac, "\"2:0:0:0:0:1\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_mac, "\"02:00:00:00:00:01:02\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_mac, "\"02-00-00-00-00-01\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_mac, "\"0x:00:00:00:00:01\"", NULL), -EINVAL);
	/* Addresses. */
	assert_int_equal(value(&dse_api_t_ipv4, "\"198.18.0.1\"", &o), 0);
	assert_int_equal(o.ip4, htonl(0xc6120001));
	assert_int_equal(value(&dse_api_t_ipv4, "\"198.18.0\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_ipv4, "\"::1\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_ip, "\"2001:db8::1\"", NULL), 0);
	/* Prefixes: host bits must be zero; a bare address is a host prefix. */
	assert_int_equal(value(&dse_api_t_prefix, "\"198.18.0.0/15\"", &o), 0);
	assert_int_equal(o.pfx.len, 15);
	assert_int_equal(o.pfx.family, AF_INET);
	assert_int_equal(value(&dse_api_t_prefix, "\"198.18.0.1/15\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_prefix, "\"198.18.0.1\"", &o), 0);
	assert_int_equal(o.pfx.len, 32);
	assert_int_equal(value(&dse_api_t_prefix, "\"198.18.0.0/33\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_prefix, "\"198.18.0.0/\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_prefix, "\"fd00::/8\"", &o), 0);
	assert_int_equal(o.pfx.family, AF_INET6);
	/* Port ranges: a number or "LO-HI" with LO <= HI. */
	assert_int_equal(value(&dse_api_t_port_range, "80", &o), 0);
	assert_int_equal(o.pr.lo, 80);
	assert_int_equal(o.pr.hi, 80);
	assert_int_equal(value(&dse_api_t_port_range, "\"1000-2000\"", &o), 0);
	assert_int_equal(o.pr.hi, 2000);
	assert_int_equal(value(&dse_api_t_port_range, "\"2000-1000\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_port_range, "\"-5\"", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_port_range, "65536", NULL), -EINVAL);
	/* An enum with numbers: the one parser of protocol names. */
	assert_int_equal(value(&dse_api_t_proto, "\"TCP\"", &o), 0);
	assert_int_equal(o.e, 6);
	assert_int_equal(DSE_API_PROTO_ICMPV6, 58);
	assert_int_equal(value(&dse_api_t_proto, "132", &o), 0);
	assert_int_equal(o.e, 132);
	assert_int_equal(value(&dse_api_t_proto, "256", NULL), -EINVAL);
	assert_int_equal(value(&dse_api_t_proto, "\"sctp\"", NULL), -EINVAL);
	assert_string_equal(dse_api_enum_name(&dse_api_t_proto, 17), "udp");
	assert_null(dse_api_enum_name(&dse_api_t_proto, 132));
}

/* Every method of both programs decodes its own empty params without a crash,
 * and refuses an unknown param by name. */
static void test_every_method(void **state)
{
	const struct dse_api_program *progs[] = {&dse_api_dpud, &dse_api_hostd};
	char err[512];

	(void)state;
	for (unsigned p = 0; p < 2; p++)
		for (unsigned i = 0; i < progs[p]->n_methods; i++) {
			const struct dse_api_method *m = &progs[p]->methods[i];
			void *args = malloc(m->args_size);
			bool needs = false;
			int r;

			assert_non_null(args);
			for (unsigned k = 0; k < m->n_params; k++)
				needs |= m->params[k].required;
			r = decode(m, "{}", args, err, sizeof(err));
			assert_int_equal(r, needs ? -EINVAL : 0);
			assert_int_equal(
			    decode(m, "{\"no_such_param\": 1}", args, err, sizeof(err)), -EINVAL);
			assert_non_null(strstr(err, "no_such_param"));
			assert_non_null(m->help);
			assert_true(strchr(m->name, '.') != NULL);
			free(args);
		}
}

/* ---- the server bound to a schema ---- */

struct t_add_args {
	const char *name;
	long long count;
	bool has_name;
	bool has_count;
};

static const struct dse_api_param t_add_params[] = {
    {.name = "name",
     .type = &dse_api_t_name,
     .required = true,
     .offset = offsetof(struct t_add_args, name),
     .has_offset = offsetof(struct t_add_args, has_name)},
    {.name = "count",
     .type = &dse_api_t_vlan,
     .has_default = true,
     .def_int = 7,
     .offset = offsetof(struct t_add_args, count),
     .has_offset = offsetof(struct t_add_args, has_count)},
};

static const char *const t_add_aliases[] = {"thing.create", NULL};

static const struct dse_api_method t_methods[] = {
    {.name = "thing.add",
     .help = "adds a thing",
     .params = t_add_params,
     .n_params = 2,
     .args_size = sizeof(struct t_add_args),
     .aliases = t_add_aliases},
    {.name = "thing.list", .help = "lists things", .args_size = 1},
    {.name = "clock.freeze", .help = "test only", .args_size = 1, .flags = DSE_API_TEST_CLOCK},
};

static const struct dse_api_program t_prog = {"dse-test", t_methods, 3};

static int thing_add(struct dse_rpc_call *call, json_t **ret)
{
	const struct t_add_args *a = call->args;

	*ret = json_pack("{s:s, s:I, s:b}", "name", a->name, "count", (json_int_t)a->count, "given",
			 a->has_count);
	return 0;
}

static int thing_list(struct dse_rpc_call *call, json_t **ret)
{
	*ret = dse_rpc_list_json(call->srv, call->remote);
	return 0;
}

static json_t *dispatch(struct dse_rpc_server *srv, const char *text)
{
	json_error_t je;
	json_t *req = json_loads(text, 0, &je), *resp;

	assert_non_null(req);
	resp = dse_rpc_dispatch(srv, req);
	json_decref(req);
	assert_non_null(resp);
	return resp;
}

static void test_server_binding(void **state)
{
	static const struct dse_rpc_method served[] = {
	    {"thing.add", thing_add}, {"thing.list", thing_list}, {NULL, NULL}};
	static const struct dse_rpc_method too_few[] = {{"thing.add", thing_add}, {NULL, NULL}};
	static const struct dse_rpc_method too_many[] = {{"thing.add", thing_add},
							 {"thing.list", thing_list},
							 {"thing.del", thing_list},
							 {NULL, NULL}};
	static const struct dse_rpc_method by_alias[] = {
	    {"thing.create", thing_add}, {"thing.list", thing_list}, {NULL, NULL}};
	struct dse_rpc_server *srv;
	char err[256];
	json_t *r;

	(void)state;
	/* A server that lacks a method of the schema, or serves one it lacks, is refused. */
	srv = dse_rpc_server_new(too_few, NULL);
	assert_int_equal(dse_rpc_server_set_api(srv, &t_prog, false, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "thing.list"));
	dse_rpc_server_free(srv);
	srv = dse_rpc_server_new(too_many, NULL);
	assert_int_equal(dse_rpc_server_set_api(srv, &t_prog, false, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "thing.del"));
	dse_rpc_server_free(srv);
	srv = dse_rpc_server_new(by_alias, NULL);
	assert_int_equal(dse_rpc_server_set_api(srv, &t_prog, false, err, sizeof(err)), -ENOENT);
	dse_rpc_server_free(srv);
	/* The test clock's methods must be served when the server runs with it. */
	srv = dse_rpc_server_new(served, NULL);
	assert_int_equal(dse_rpc_server_set_api(srv, &t_prog, true, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "clock.freeze"));
	assert_int_equal(dse_rpc_server_set_api(srv, &t_prog, false, err, sizeof(err)), 0);

	/* Typed values and defaults reach the handler. */
	r = dispatch(srv, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"thing.add\","
			  "\"params\":{\"name\":\"x\"}}");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(r, "result"), "name")), "x");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "result"), "count")),
			 7);
	assert_true(json_is_false(json_object_get(json_object_get(r, "result"), "given")));
	json_decref(r);
	/* The old name reaches the method. */
	r = dispatch(srv, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"thing.create\","
			  "\"params\":{\"name\":\"y\",\"count\":9}}");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "result"), "count")),
			 9);
	json_decref(r);
	/* A bad param: invalid params, naming the method and the param; the handler never runs. */
	r = dispatch(srv, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"thing.add\","
			  "\"params\":{\"name\":\"y\",\"count\":5000}}");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")),
			 DSE_RPC_INVALID_PARAMS);
	assert_non_null(
	    strstr(json_string_value(json_object_get(json_object_get(r, "error"), "message")),
		   "thing.add: parameter 'count'"));
	json_decref(r);
	r = dispatch(srv, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"thing.add\","
			  "\"params\":{\"nam\":\"y\"}}");
	assert_non_null(
	    strstr(json_string_value(json_object_get(json_object_get(r, "error"), "message")),
		   "unknown parameter 'nam'"));
	json_decref(r);
	/* rpc.list comes from the schema: help and aliases. */
	r = dispatch(srv, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"thing.list\"}");
	{
		json_t *a = json_object_get(r, "result");

		assert_int_equal(json_array_size(a), 2);
		assert_string_equal(
		    json_string_value(json_object_get(json_array_get(a, 0), "help")),
		    "adds a thing");
		assert_string_equal(json_string_value(json_array_get(
					json_object_get(json_array_get(a, 0), "aliases"), 0)),
				    "thing.create");
	}
	json_decref(r);
	dse_rpc_server_free(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_typed_values),   cmocka_unit_test(test_refusals_name_the_param),
	    cmocka_unit_test(test_types),	   cmocka_unit_test(test_every_method),
	    cmocka_unit_test(test_server_binding),
	};

	int r = cmocka_run_group_tests(tests, NULL, NULL);

	json_decref(last_params);
	return r;
}
