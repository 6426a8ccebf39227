/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the JSON-RPC 2.0 server: the dispatcher fed request text
 * directly, the parameter helpers on hand-made calls, and the Unix socket
 * driven from plain client sockets in the same thread (the test pumps the
 * server with dse_rpc_poll() while it waits for answers, so no thread and
 * no sleep decides the outcome).  Every test gets a fresh server and a fresh
 * temporary directory for its socket from the fixture, whose teardown frees
 * everything even when an assertion fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "jsonrpc.h"

#define MAX_FDS 200

/* Bytes received by a client, and whether the server closed it. */
struct inbuf {
	char *b;
	size_t len;
	size_t cap;
	bool closed;
};

/* What every test starts with; torn down whatever the test left. */
struct fixture {
	struct dse_rpc_server *srv;  /* serves 'methods' with 'ctx_text' as context */
	struct dse_rpc_server *srv2; /* a second server, for the listen tests */
	json_t *resp;		     /* the last response of call() */
	json_t *params;		     /* params of a hand-made call */
	char dir[64];		     /* temporary directory */
	char path[96];		     /* socket path inside 'dir' */
	int fds[MAX_FDS];	     /* client sockets */
	unsigned n_fds;
	char *big;	  /* a large request */
	struct inbuf in;  /* what the test's client received */
	struct inbuf in2; /* what assert_serves()'s client received */
};

static const char ctx_text[] = "the server context";
static json_t *cur_line;   /* the last line parsed by line_json(), freed by the next or teardown */
static unsigned n_counted; /* calls of the "count" method */

/* params: "a" (0..100, required) and "b" (0..100, optional); returns a + b. */
static int m_sum(struct dse_rpc_call *call, json_t **ret_result)
{
	long long a, b = 0;
	int r;

	if ((r = dse_rpc_params_only(call, "a", "b", NULL)) < 0 ||
	    (r = dse_rpc_param_int(call, "a", true, 0, 100, &a)) < 0)
		return r;
	r = dse_rpc_param_int(call, "b", false, 0, 100, &b);
	if (r < 0 && r != -ENOENT)
		return r;
	*ret_result = json_integer(a + b);
	return 0;
}

/* Returns its params. */
static int m_echo(struct dse_rpc_call *call, json_t **ret_result)
{
	*ret_result = json_incref(call->params);
	return 0;
}

/* Succeeds without a result. */
static int m_nothing(struct dse_rpc_call *call, json_t **ret_result)
{
	(void)call;
	(void)ret_result;
	return 0;
}

/* Counts its calls; returns the count. */
static int m_count(struct dse_rpc_call *call, json_t **ret_result)
{
	(void)call;
	*ret_result = json_integer(++n_counted);
	return 0;
}

/* Returns the server context as a string. */
static int m_ctx(struct dse_rpc_call *call, json_t **ret_result)
{
	*ret_result = json_string(call->ctx);
	return 0;
}

/* Fails with an errno and no message. */
static int m_fail_errno(struct dse_rpc_call *call, json_t **ret_result)
{
	(void)call;
	(void)ret_result;
	return -ENOENT;
}

/* Fails with its own code and message. */
static int m_fail_msg(struct dse_rpc_call *call, json_t **ret_result)
{
	(void)ret_result;
	return dse_rpc_error(call, -32010, "disk %s is full", "sda");
}

/* Sets a result and then fails: the result must be dropped (ASan checks the leak). */
static int m_fail_after_result(struct dse_rpc_call *call, json_t **ret_result)
{
	(void)call;
	*ret_result = json_string("half done");
	return -EIO;
}

/* The connection of the last "conn" call. */
static uint64_t last_conn;

static int m_conn(struct dse_rpc_call *call, json_t **ret_result)
{
	last_conn = call->conn;
	*ret_result = json_integer((json_int_t)call->conn);
	return 0;
}

/*
 * The calls "later" deferred, in the order they ran, for the test to answer
 * between turns of the server; a slot is NULL once answered.  The teardown
 * answers what a failed test left, so ASan sees no leak.
 */
#define MAX_HELD 8
static struct dse_rpc_deferred *held[MAX_HELD];
static unsigned n_held;
static unsigned n_later; /* calls of the "later" method */
static int defer_errno;	 /* errno of the last dse_rpc_defer() that returned NULL */

/*
 * Defers its answer into held[]; where the server refuses (no socket, a
 * batch entry), answers "now" at once, as a real handler would.
 */
static int m_later(struct dse_rpc_call *call, json_t **ret_result)
{
	struct dse_rpc_deferred *d;

	n_later++;
	errno = 0;
	d = dse_rpc_defer(call);
	if (d == NULL) {
		defer_errno = errno;
		*ret_result = json_string("now");
		return 0;
	}
	assert_true(n_held < MAX_HELD);
	held[n_held++] = d;
	return DSE_RPC_DEFERRED;
}

static const struct dse_rpc_method methods[] = {
    {"conn", m_conn, "returns the caller's connection"},
    {"later", m_later, "answers later (dse_rpc_defer())"},
    {"sum", m_sum, "a + b"},
    {"echo", m_echo, "returns params"},
    {"nothing", m_nothing, "returns null"},
    {"count", m_count, "counts calls"},
    {"ctx", m_ctx, "returns the context"},
    {"fail_errno", m_fail_errno, "fails with ENOENT"},
    {"fail_msg", m_fail_msg, "fails with a message"},
    {"fail_after_result", m_fail_after_result, "fails with EIO after a result"},
    {NULL, NULL, NULL},
};

static int fixture_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	for (unsigned i = 0; i < MAX_FDS; i++)
		fx->fds[i] = -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test-jsonrpc-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/rpc.sock", fx->dir);
	fx->srv = dse_rpc_server_new(methods, (void *)ctx_text);
	if (fx->srv == NULL)
		return -1;
	n_counted = 0;
	n_held = 0;
	n_later = 0;
	defer_errno = 0;
	*state = fx;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *fx = *state;

	for (unsigned i = 0; i < fx->n_fds; i++)
		if (fx->fds[i] >= 0)
			close(fx->fds[i]);
	json_decref(fx->resp);
	json_decref(fx->params);
	json_decref(cur_line);
	cur_line = NULL;
	dse_rpc_server_free(fx->srv2);
	dse_rpc_server_free(fx->srv);
	/* After the free: answering then is allowed and sends nothing. */
	for (unsigned i = 0; i < n_held; i++)
		if (held[i] != NULL)
			dse_rpc_deferred_reply(held[i], NULL);
	memset(held, 0, sizeof(held));
	n_held = 0;
	free(fx->big);
	free(fx->in.b);
	free(fx->in2.b);
	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Dispatches 'text'; the response is kept in the fixture (freed by the next call). */
static json_t *call(struct fixture *fx, const char *text)
{
	json_decref(fx->resp);
	fx->resp = dse_rpc_dispatch_text(fx->srv, text, strlen(text));
	return fx->resp;
}

/* Asserts that 'resp' has exactly the members jsonrpc, id and 'kind'. */
static void assert_envelope(const json_t *resp, const char *id_json, const char *kind)
{
	json_t *id = json_loads(id_json, JSON_DECODE_ANY, NULL);
	bool same_id;

	assert_non_null(resp);
	if (json_object_get(resp, kind) == NULL) {
		char *got = json_dumps(resp, JSON_COMPACT | JSON_ENCODE_ANY);

		print_error("want a response with '%s', got %.300s\n", kind, got);
		free(got);
	}
	assert_true(json_is_object(resp));
	assert_int_equal(json_object_size(resp), 3);
	assert_string_equal(json_string_value(json_object_get(resp, "jsonrpc")), "2.0");
	assert_non_null(json_object_get(resp, kind));
	assert_non_null(id);
	same_id = json_equal(json_object_get(resp, "id"), id);
	json_decref(id);
	assert_true(same_id);
}

/* Asserts a success response of id 'id_json' whose result equals 'result_json'. */
static void assert_result(const json_t *resp, const char *id_json, const char *result_json)
{
	json_t *want = json_loads(result_json, JSON_DECODE_ANY, NULL);
	bool same;

	assert_envelope(resp, id_json, "result");
	assert_non_null(want);
	same = json_equal(json_object_get(resp, "result"), want);
	json_decref(want);
	if (!same) {
		char *got = json_dumps(resp, JSON_COMPACT | JSON_ENCODE_ANY);

		print_error("got %s, want result %s\n", got, result_json);
		free(got);
	}
	assert_true(same);
}

/* Asserts an error response of id 'id_json', 'code', and a message containing 'part'. */
static void assert_error(const json_t *resp, const char *id_json, int code, const char *part)
{
	const json_t *err;
	const char *msg;

	assert_envelope(resp, id_json, "error");
	err = json_object_get(resp, "error");
	assert_int_equal(json_object_size(err), 2);
	assert_int_equal(json_integer_value(json_object_get(err, "code")), code);
	msg = json_string_value(json_object_get(err, "message"));
	assert_non_null(msg);
	if (strstr(msg, part) == NULL)
		print_error("message '%s' lacks '%s'\n", msg, part);
	assert_non_null(strstr(msg, part));
}

/* ---- Dispatch ---- */

/*
 * Steps: call "sum" with an integer id, then with a string id.
 * Verify: exactly {jsonrpc, id, result} with the sum, the id echoed as sent.
 */
static void test_rpc_valid_call_returns_result_with_same_id(void **state)
{
	struct fixture *fx = *state;

	assert_result(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sum\","
			       "\"params\":{\"a\":2,\"b\":3}}"),
		      "1", "5");
	assert_result(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":\"req-7\",\"method\":\"sum\","
			       "\"params\":{\"a\":40}}"),
		      "\"req-7\"", "40");
}

/*
 * Steps: call "echo" without params, with null params, with {}.
 * Verify: the handler always gets an empty object.
 */
static void test_rpc_absent_params_reach_the_handler_as_empty_object(void **state)
{
	struct fixture *fx = *state;

	assert_result(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"}"), "1", "{}");
	assert_result(
	    call(fx, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"echo\",\"params\":null}"), "2",
	    "{}");
	assert_result(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"echo\",\"params\":{}}"),
		      "3", "{}");
}

/*
 * Steps: call a method that sets no result, and one that reads the context.
 * Verify: the result is JSON null; the handler sees the server's context.
 */
static void test_rpc_handler_sees_context_and_may_return_null(void **state)
{
	struct fixture *fx = *state;

	assert_result(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nothing\"}"), "1",
		      "null");
	assert_result(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ctx\"}"), "2",
		      "\"the server context\"");
}

/*
 * Steps: send "count" without id, an unknown method without id, a failing
 * method without id, then "count" with id null.
 * Verify: no response for the three notifications, yet "count" ran; id null
 * is a request (not a notification) and is answered with id null.
 */
static void test_rpc_notification_runs_and_gets_no_response(void **state)
{
	struct fixture *fx = *state;

	assert_null(call(fx, "{\"jsonrpc\":\"2.0\",\"method\":\"count\"}"));
	assert_int_equal(n_counted, 1);
	assert_null(call(fx, "{\"jsonrpc\":\"2.0\",\"method\":\"no_such_method\"}"));
	assert_null(call(fx, "{\"jsonrpc\":\"2.0\",\"method\":\"fail_errno\"}"));
	assert_result(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"count\"}"), "null",
		      "2");
}

/*
 * Steps: a batch of a valid call, a notification, a non-object, an unknown
 * method and a call with bad params.
 * Verify: an array of four answers in request order, none for the
 * notification (which still ran).
 */
static void test_rpc_batch_answers_each_request_in_order(void **state)
{
	struct fixture *fx = *state;
	json_t *r;

	r = call(fx, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sum\",\"params\":{\"a\":1}},"
		     "{\"jsonrpc\":\"2.0\",\"method\":\"count\"},"
		     "42,"
		     "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"},"
		     "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"sum\",\"params\":{\"a\":-1}}]");
	assert_true(json_is_array(r));
	assert_int_equal(json_array_size(r), 4);
	assert_result(json_array_get(r, 0), "1", "1");
	assert_error(json_array_get(r, 1), "null", DSE_RPC_INVALID_REQUEST, "JSON object");
	assert_error(json_array_get(r, 2), "3", DSE_RPC_METHOD_NOT_FOUND, "nope");
	assert_error(json_array_get(r, 3), "4", DSE_RPC_INVALID_PARAMS, "'a'");
	assert_int_equal(n_counted, 1);
}

/*
 * Steps: a batch of notifications only.
 * Verify: no response at all (not an empty array), and each one ran.
 */
static void test_rpc_batch_of_notifications_gets_no_response(void **state)
{
	struct fixture *fx = *state;

	assert_null(call(fx, "[{\"jsonrpc\":\"2.0\",\"method\":\"count\"},"
			     "{\"jsonrpc\":\"2.0\",\"method\":\"count\"},"
			     "{\"jsonrpc\":\"2.0\",\"method\":\"unknown\"}]"));
	assert_int_equal(n_counted, 2);
}

/*
 * Steps: send an empty batch.
 * Verify: one error object (not an array), invalid request, id null.
 */
static void test_rpc_empty_batch_is_invalid_request(void **state)
{
	struct fixture *fx = *state;

	assert_error(call(fx, "[]"), "null", DSE_RPC_INVALID_REQUEST, "empty batch");
}

/*
 * Steps: send truncated JSON, a batch cut short, and text after the object.
 * Verify: parse error with id null and a message locating the problem.
 */
static void test_rpc_invalid_json_is_parse_error(void **state)
{
	struct fixture *fx = *state;

	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\""), "null",
		     DSE_RPC_PARSE_ERROR, "line 1");
	assert_error(call(fx, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sum\"},"), "null",
		     DSE_RPC_PARSE_ERROR, "parse error");
	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"} trailing"),
		     "null", DSE_RPC_PARSE_ERROR, "parse error");
}

/*
 * Steps: send a batch of non-objects: a number, a string, null, an array.
 * Verify: each is answered with invalid request and id null.
 */
static void test_rpc_non_object_in_batch_is_invalid_request(void **state)
{
	struct fixture *fx = *state;
	json_t *r = call(fx, "[1, \"x\", null, []]");

	assert_true(json_is_array(r));
	assert_int_equal(json_array_size(r), 4);
	for (size_t i = 0; i < 4; i++)
		assert_error(json_array_get(r, i), "null", DSE_RPC_INVALID_REQUEST, "JSON object");
}

/*
 * Steps: send a number, a string and null as the whole request.
 * Verify: each is valid JSON that is not a request object, so the answer is
 * invalid request (-32600), as JSON-RPC 2.0 requires, not parse error.
 */
static void test_rpc_scalar_request_is_invalid_request_not_parse_error(void **state)
{
	struct fixture *fx = *state;

	assert_error(call(fx, "1"), "null", DSE_RPC_INVALID_REQUEST, "JSON object");
	assert_error(call(fx, "\"sum\""), "null", DSE_RPC_INVALID_REQUEST, "JSON object");
	assert_error(call(fx, "null"), "null", DSE_RPC_INVALID_REQUEST, "JSON object");
}

/*
 * Steps: send jsonrpc "1.0", the number 2, and no jsonrpc member.
 * Verify: invalid request that keeps the id; the handler never ran.
 */
static void test_rpc_wrong_jsonrpc_version_is_invalid_request(void **state)
{
	struct fixture *fx = *state;

	assert_error(call(fx, "{\"jsonrpc\":\"1.0\",\"id\":5,\"method\":\"count\"}"), "5",
		     DSE_RPC_INVALID_REQUEST, "jsonrpc");
	assert_error(call(fx, "{\"jsonrpc\":2,\"id\":6,\"method\":\"count\"}"), "6",
		     DSE_RPC_INVALID_REQUEST, "jsonrpc");
	assert_error(call(fx, "{\"id\":7,\"method\":\"count\"}"), "7", DSE_RPC_INVALID_REQUEST,
		     "jsonrpc");
	assert_int_equal(n_counted, 0);
}

/*
 * Steps: send method as a number, as null, and no method.
 * Verify: invalid request that keeps the id.
 */
static void test_rpc_method_not_a_string_is_invalid_request(void **state)
{
	struct fixture *fx = *state;

	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":1,\"params\":\"bar\"}"),
		     "1", DSE_RPC_INVALID_REQUEST, "'method'");
	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":null}"), "2",
		     DSE_RPC_INVALID_REQUEST, "'method'");
	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":3}"), "3", DSE_RPC_INVALID_REQUEST,
		     "'method'");
}

/*
 * Steps: send an id that is an object, an array and a real number.
 * Verify: invalid request with id null (the id itself is unusable).
 */
static void test_rpc_id_of_wrong_type_is_invalid_request(void **state)
{
	struct fixture *fx = *state;

	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"count\"}"), "null",
		     DSE_RPC_INVALID_REQUEST, "'id'");
	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"count\"}"), "null",
		     DSE_RPC_INVALID_REQUEST, "'id'");
	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"count\"}"), "null",
		     DSE_RPC_INVALID_REQUEST, "'id'");
	assert_int_equal(n_counted, 0);
}

/*
 * Steps: call a method that does not exist.
 * Verify: method not found, the id kept, the message names the method.
 */
static void test_rpc_unknown_method_is_method_not_found(void **state)
{
	struct fixture *fx = *state;

	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"port.frobnicate\"}"), "9",
		     DSE_RPC_METHOD_NOT_FOUND, "'port.frobnicate'");
}

/*
 * Steps: call "count" with params as an array, a string and a number.
 * Verify: invalid params, the id kept, the handler never ran.
 */
static void test_rpc_params_not_an_object_is_invalid_params(void **state)
{
	struct fixture *fx = *state;

	assert_error(
	    call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"count\",\"params\":[1,2]}"), "1",
	    DSE_RPC_INVALID_PARAMS, "object");
	assert_error(
	    call(fx, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"count\",\"params\":\"a\"}"), "2",
	    DSE_RPC_INVALID_PARAMS, "object");
	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"count\",\"params\":3}"),
		     "3", DSE_RPC_INVALID_PARAMS, "object");
	assert_int_equal(n_counted, 0);
}

/*
 * Steps: send a request with "id" twice, and one with a duplicate key in params.
 * Verify: both are parse errors (a duplicate would otherwise be silently
 * resolved one way or the other); the handler never ran.
 */
static void test_rpc_duplicate_keys_are_rejected(void **state)
{
	struct fixture *fx = *state;

	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"count\"}"),
		     "null", DSE_RPC_PARSE_ERROR, "duplicate");
	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sum\","
			      "\"params\":{\"a\":1,\"a\":2}}"),
		     "null", DSE_RPC_PARSE_ERROR, "duplicate");
	assert_int_equal(n_counted, 0);
}

/*
 * Steps: call a handler that fails with -ENOENT and no message, one that
 * sets a result and fails with -EIO, and one with its own code and message.
 * Verify: the first two get the application error code and a message made
 * from the method name and strerror; the third keeps its code and message.
 */
static void test_rpc_handler_error_without_message_is_filled_from_errno(void **state)
{
	struct fixture *fx = *state;

	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"fail_errno\"}"), "1",
		     DSE_RPC_APP_ERROR, "fail_errno failed: No such file or directory");
	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"fail_after_result\"}"),
		     "2", DSE_RPC_APP_ERROR, "fail_after_result failed: Input/output error");
	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"fail_msg\"}"), "3",
		     -32010, "disk sda is full");
}

/*
 * Steps: call "sum" with an unknown parameter next to valid ones.
 * Verify: invalid params naming the unknown key; the listed ones pass.
 */
static void test_rpc_params_only_rejects_an_unknown_key(void **state)
{
	struct fixture *fx = *state;

	assert_error(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sum\","
			      "\"params\":{\"a\":1,\"b\":2,\"c\":3}}"),
		     "1", DSE_RPC_INVALID_PARAMS, "unknown parameter 'c'");
	assert_result(call(fx, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"sum\","
			       "\"params\":{\"b\":2,\"a\":1}}"),
		      "2", "3");
}

/* ---- Parameter helpers on hand-made calls ---- */

/* Makes a call whose params are 'json' (kept in the fixture). */
static struct dse_rpc_call make_call(struct fixture *fx, const char *json)
{
	struct dse_rpc_call c = {.ctx = NULL};

	json_decref(fx->params);
	fx->params = json_loads(json, 0, NULL);
	assert_non_null(fx->params);
	c.params = fx->params;
	return c;
}

/* Asserts that 'r' is an invalid-params failure of 'c' whose message contains 'part'. */
static void assert_param_error(int r, const struct dse_rpc_call *c, const char *part)
{
	assert_int_equal(r, -EINVAL);
	assert_int_equal(c->err_code, DSE_RPC_INVALID_PARAMS);
	if (strstr(c->err_msg, part) == NULL)
		print_error("message '%s' lacks '%s'\n", c->err_msg, part);
	assert_non_null(strstr(c->err_msg, part));
}

/*
 * Steps: read a string, a missing required one, a missing optional one, a
 * null one, and a number as a string.
 * Verify: 0 with the value; missing required names the key; optional absent
 * (or null) is -ENOENT with '*ret' untouched; wrong type names both types.
 */
static void test_rpc_param_str_decodes_and_reports(void **state)
{
	struct fixture *fx = *state;
	struct dse_rpc_call c = make_call(fx, "{\"name\":\"eth0\",\"n\":3,\"z\":null}");
	const char *s = "untouched";

	assert_int_equal(dse_rpc_param_str(&c, "name", true, &s), 0);
	assert_string_equal(s, "eth0");
	s = "untouched";
	assert_int_equal(dse_rpc_param_str(&c, "other", false, &s), -ENOENT);
	assert_int_equal(dse_rpc_param_str(&c, "z", false, &s), -ENOENT);
	assert_string_equal(s, "untouched");
	assert_int_equal(c.err_code, 0);
	assert_param_error(dse_rpc_param_str(&c, "other", true, &s), &c,
			   "missing required parameter 'other'");
	c = make_call(fx, "{\"n\":3}");
	assert_param_error(dse_rpc_param_str(&c, "n", true, &s), &c,
			   "'n' must be a string, not an integer");
	assert_string_equal(s, "untouched");
}

/*
 * Steps: read integers at, inside and outside the bounds, a real, a
 * string, a missing required and a missing optional one.
 * Verify: bounds are inclusive; outside says the value and range; a real
 * or a string is the wrong type; absent optional is -ENOENT, '*ret' kept.
 */
static void test_rpc_param_int_checks_type_and_range(void **state)
{
	struct fixture *fx = *state;
	struct dse_rpc_call c =
	    make_call(fx, "{\"lo\":-5,\"hi\":4094,\"big\":4095,\"neg\":-6,\"r\":1.0,\"s\":\"1\"}");
	long long x = 77;

	assert_int_equal(dse_rpc_param_int(&c, "lo", true, -5, 4094, &x), 0);
	assert_int_equal(x, -5);
	assert_int_equal(dse_rpc_param_int(&c, "hi", true, -5, 4094, &x), 0);
	assert_int_equal(x, 4094);
	x = 77;
	assert_param_error(dse_rpc_param_int(&c, "big", true, -5, 4094, &x), &c,
			   "'big' is 4095, outside -5..4094");
	assert_param_error(dse_rpc_param_int(&c, "neg", true, -5, 4094, &x), &c,
			   "'neg' is -6, outside -5..4094");
	assert_param_error(dse_rpc_param_int(&c, "r", true, 0, 10, &x), &c,
			   "'r' must be an integer, not a number");
	assert_param_error(dse_rpc_param_int(&c, "s", true, 0, 10, &x), &c,
			   "'s' must be an integer, not a string");
	assert_param_error(dse_rpc_param_int(&c, "none", true, 0, 10, &x), &c,
			   "missing required parameter 'none'");
	assert_int_equal(dse_rpc_param_int(&c, "none", false, 0, 10, &x), -ENOENT);
	assert_int_equal(x, 77);
}

/*
 * Steps: read true, false, the integer 1, a string, absent optional and
 * absent required.
 * Verify: booleans decode; 1 and "true" are the wrong type; absent optional
 * is -ENOENT with '*ret' kept; absent required names the key.
 */
static void test_rpc_param_bool_accepts_only_booleans(void **state)
{
	struct fixture *fx = *state;
	struct dse_rpc_call c = make_call(fx, "{\"t\":true,\"f\":false,\"one\":1,\"s\":\"true\"}");
	bool b = false;

	assert_int_equal(dse_rpc_param_bool(&c, "t", true, &b), 0);
	assert_true(b);
	assert_int_equal(dse_rpc_param_bool(&c, "f", true, &b), 0);
	assert_false(b);
	b = true;
	assert_param_error(dse_rpc_param_bool(&c, "one", true, &b), &c,
			   "'one' must be true or false, not an integer");
	assert_param_error(dse_rpc_param_bool(&c, "s", false, &b), &c, "not a string");
	assert_int_equal(dse_rpc_param_bool(&c, "none", false, &b), -ENOENT);
	assert_true(b);
	assert_param_error(dse_rpc_param_bool(&c, "none", true, &b), &c,
			   "missing required parameter 'none'");
}

/*
 * Steps: read a real, an integer, values at and beyond the bounds, a
 * boolean, absent optional and absent required.
 * Verify: integers count as numbers; bounds are inclusive; outside and the
 * wrong type are invalid params; absent optional is -ENOENT, '*ret' kept.
 */
static void test_rpc_param_num_checks_type_and_range(void **state)
{
	struct fixture *fx = *state;
	struct dse_rpc_call c = make_call(
	    fx, "{\"r\":0.25,\"i\":3,\"max\":1.5,\"over\":1.5000001,\"under\":-0.1,\"b\":true}");
	double d = 9.0;

	assert_int_equal(dse_rpc_param_num(&c, "r", true, 0.0, 1.5, &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(dse_rpc_param_num(&c, "i", true, 0.0, 10.0, &d), 0);
	assert_true(d == 3.0);
	assert_int_equal(dse_rpc_param_num(&c, "max", true, 0.0, 1.5, &d), 0);
	assert_true(d == 1.5);
	d = 9.0;
	assert_param_error(dse_rpc_param_num(&c, "over", true, 0.0, 1.5, &d), &c, "'over' is");
	assert_param_error(dse_rpc_param_num(&c, "under", true, 0.0, 1.5, &d), &c,
			   "outside 0..1.5");
	assert_param_error(dse_rpc_param_num(&c, "b", true, 0.0, 1.5, &d), &c,
			   "'b' must be a number, not a boolean");
	assert_int_equal(dse_rpc_param_num(&c, "none", false, 0.0, 1.5, &d), -ENOENT);
	assert_true(d == 9.0);
	assert_param_error(dse_rpc_param_num(&c, "none", true, 0.0, 1.5, &d), &c,
			   "missing required parameter 'none'");
}

/*
 * Steps: check params against an allowed list: all listed, empty params,
 * and one extra key.
 * Verify: 0, 0, then invalid params naming the extra key.
 */
static void test_rpc_params_only_accepts_listed_keys(void **state)
{
	struct fixture *fx = *state;
	struct dse_rpc_call c = make_call(fx, "{\"port\":\"p0\",\"vlan\":10}");

	assert_int_equal(dse_rpc_params_only(&c, "vlan", "port", "mtu", NULL), 0);
	c = make_call(fx, "{}");
	assert_int_equal(dse_rpc_params_only(&c, NULL), 0);
	c = make_call(fx, "{\"port\":\"p0\",\"valn\":10}");
	assert_param_error(dse_rpc_params_only(&c, "port", "vlan", NULL), &c,
			   "unknown parameter 'valn'");
}

/* ---- Socket ---- */

/* Milliseconds on the monotonic clock. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects a non-blocking client to 'path'; the fixture closes it. */
static int client_connect(struct fixture *fx, const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(fx->n_fds < MAX_FDS);
	fx->fds[fx->n_fds++] = fd;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

/* Reads what is there for 'fd' into 'in'. */
static void client_drain(int fd, struct inbuf *in)
{
	for (;;) {
		ssize_t n;

		if (in->cap - in->len < 4096) {
			in->cap = in->cap ? in->cap * 2 : 8192;
			in->b = realloc(in->b, in->cap);
			assert_non_null(in->b);
		}
		n = recv(fd, in->b + in->len, in->cap - in->len - 1, MSG_DONTWAIT);
		if (n > 0) {
			in->len += (size_t)n;
			in->b[in->len] = '\0';
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			in->closed = true; /* EOF, or ECONNRESET after the data */
		return;
	}
}

/* The number of whole lines in 'in'. */
static unsigned lines_of(const struct inbuf *in)
{
	unsigned n = 0;

	for (size_t i = 0; i < in->len; i++)
		n += in->b[i] == '\n';
	return n;
}

/*
 * Serves 'srv' and reads 'fd' until 'in' holds 'want' lines, the server
 * closed the client, or 'max_ms' passed.
 */
static void pump(struct dse_rpc_server *srv, int fd, struct inbuf *in, unsigned want, int max_ms)
{
	long long end = now_ms() + max_ms;

	while (!in->closed && lines_of(in) < want && now_ms() < end) {
		assert_int_equal(dse_rpc_poll(srv, 5), 0);
		client_drain(fd, in);
	}
}

/* Sends all of 'buf' while serving 'srv'; returns how much went before the server closed. */
static size_t send_all(struct dse_rpc_server *srv, int fd, const char *buf, size_t len)
{
	long long end = now_ms() + 20000;
	size_t off = 0;

	while (off < len && now_ms() < end) {
		ssize_t n = send(fd, buf + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			break;
		assert_true(n < 0 && (errno == EAGAIN || errno == EINTR));
		assert_int_equal(dse_rpc_poll(srv, 5), 0);
	}
	return off;
}

/* Returns line 'i' of 'in' parsed (valid until the next call), failing the test if it is not JSON.
 */
static json_t *line_json(const struct inbuf *in, unsigned i)
{
	const char *p = in->b;
	const char *nl;
	json_t *j;

	while (i-- > 0) {
		p = memchr(p, '\n', in->len - (size_t)(p - in->b));
		assert_non_null(p);
		p++;
	}
	nl = memchr(p, '\n', in->len - (size_t)(p - in->b));
	assert_non_null(nl);
	j = json_loadb(p, (size_t)(nl - p), 0, NULL);
	assert_non_null(j);
	json_decref(cur_line);
	cur_line = j;
	return j;
}

/* Asserts that line 'i' of 'in' is a result of id 'id_json' equal to 'result_json'. */
static void assert_line_result(const struct inbuf *in, unsigned i, const char *id_json,
			       const char *result_json)
{
	assert_result(line_json(in, i), id_json, result_json);
}

#define REQ_SUM(id, a, b)                                                                          \
	"{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"sum\",\"params\":{\"a\":" #a             \
	",\"b\":" #b "}}\n"

/*
 * Steps: listen; send two requests in one write; then one request in two
 * writes, the server running between them.
 * Verify: both of the first write are answered in order; nothing is
 * answered for the half request; the whole one is answered once complete.
 */
static void test_rpc_socket_answers_batched_and_split_writes(void **state)
{
	struct fixture *fx = *state;
	const char two[] = REQ_SUM(1, 1, 2) REQ_SUM(2, 10, 20);
	const char third[] = REQ_SUM(3, 7, 8);
	const size_t half = sizeof(third) / 2;
	int fd;

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	assert_int_equal(send_all(fx->srv, fd, two, strlen(two)), strlen(two));
	pump(fx->srv, fd, &fx->in, 2, 5000);
	assert_int_equal(lines_of(&fx->in), 2);
	assert_line_result(&fx->in, 0, "1", "3");
	assert_line_result(&fx->in, 1, "2", "30");

	assert_int_equal(send_all(fx->srv, fd, third, half), half);
	pump(fx->srv, fd, &fx->in, 3, 200);
	assert_int_equal(lines_of(&fx->in), 2);
	assert_int_equal(send_all(fx->srv, fd, third + half, strlen(third) - half),
			 strlen(third) - half);
	pump(fx->srv, fd, &fx->in, 3, 5000);
	assert_int_equal(lines_of(&fx->in), 3);
	assert_line_result(&fx->in, 2, "3", "15");
	assert_false(fx->in.closed);
}

/*
 * Steps: send empty lines, a CRLF-terminated request, a notification and a
 * request in one write.
 * Verify: exactly two answers (the CRLF request and the last one): blank
 * lines and notifications produce no output; the notification ran.
 */
static void test_rpc_socket_skips_blank_lines_and_notifications(void **state)
{
	struct fixture *fx = *state;
	const char text[] = "\n\r\n" REQ_SUM(
	    1, 1, 1) "\r\n"
		     "{\"jsonrpc\":\"2.0\",\"method\":\"count\"}\n" REQ_SUM(2, 2, 2);
	int fd;

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	assert_int_equal(send_all(fx->srv, fd, text, strlen(text)), strlen(text));
	pump(fx->srv, fd, &fx->in, 3, 500);
	assert_int_equal(lines_of(&fx->in), 2);
	assert_line_result(&fx->in, 0, "1", "2");
	assert_line_result(&fx->in, 1, "2", "4");
	assert_int_equal(n_counted, 1);
}

/*
 * Steps: send a request and shut down the sending side before the server
 * runs (what `socat`, `nc -N` or a script doing one call does).
 * Verify: the request is still answered before the server closes.
 */
static void test_rpc_socket_answers_request_sent_before_half_close(void **state)
{
	struct fixture *fx = *state;
	const char req[] = REQ_SUM(1, 20, 22);
	int fd;

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	pump(fx->srv, fd, &fx->in, 1, 2000);
	if (lines_of(&fx->in) == 0)
		print_error("no answer; server closed the client: %s\n",
			    fx->in.closed ? "yes" : "no");
	assert_int_equal(lines_of(&fx->in), 1);
	assert_line_result(&fx->in, 0, "1", "42");
}

/*
 * Steps: send DSE_RPC_MAX_LINE + 1 bytes without a newline.
 * Verify: one invalid-request answer with id null, then the server closes
 * the connection.
 */
static void test_rpc_socket_line_longer_than_max_gets_error_and_close(void **state)
{
	struct fixture *fx = *state;
	const size_t len = DSE_RPC_MAX_LINE + 1;
	json_t *j;
	int fd;

	fx->big = malloc(len);
	assert_non_null(fx->big);
	memset(fx->big, 'x', len);
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	send_all(fx->srv, fd, fx->big, len);
	pump(fx->srv, fd, &fx->in, UINT32_MAX, 10000);
	assert_true(fx->in.closed);
	assert_int_equal(lines_of(&fx->in), 1);
	j = line_json(&fx->in, 0);
	assert_error(j, "null", DSE_RPC_INVALID_REQUEST, "longer than");
}

/* Fills fx->big with an "echo" request of exactly 'len' bytes plus a newline. */
static void make_big_echo(struct fixture *fx, size_t len)
{
	static const char head[] =
	    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"echo\",\"params\":{\"p\":\"";
	static const char tail[] = "\"}}";

	fx->big = malloc(len + 1);
	assert_non_null(fx->big);
	memcpy(fx->big, head, strlen(head));
	memset(fx->big + strlen(head), 'x', len - strlen(head) - strlen(tail));
	memcpy(fx->big + len - strlen(tail), tail, strlen(tail));
	fx->big[len] = '\n';
}

/*
 * Steps: send an "echo" request line of exactly DSE_RPC_MAX_LINE bytes,
 * then a small request.
 * Verify: the limit itself is accepted: both are answered, the connection
 * stays open.
 */
static void test_rpc_socket_accepts_a_line_of_exactly_max_line(void **state)
{
	struct fixture *fx = *state;
	const char small[] = REQ_SUM(8, 1, 0);
	json_t *j;
	int fd;

	make_big_echo(fx, DSE_RPC_MAX_LINE);
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	assert_int_equal(send_all(fx->srv, fd, fx->big, DSE_RPC_MAX_LINE + 1),
			 DSE_RPC_MAX_LINE + 1);
	pump(fx->srv, fd, &fx->in, 1, 10000);
	assert_int_equal(lines_of(&fx->in), 1);
	j = line_json(&fx->in, 0);
	assert_envelope(j, "7", "result");
	assert_int_equal(send_all(fx->srv, fd, small, strlen(small)), strlen(small));
	pump(fx->srv, fd, &fx->in, 2, 5000);
	assert_int_equal(lines_of(&fx->in), 2);
	assert_line_result(&fx->in, 1, "8", "1");
	assert_false(fx->in.closed);
}

/*
 * Steps: send the first DSE_RPC_MAX_LINE bytes of a valid request line of
 * DSE_RPC_MAX_LINE + 50 bytes, run the server until it has read them all
 * (SIOCOUTQ of the client is 0), then send the last 50 bytes and the
 * newline.
 * Verify: the over-long line is refused like any other (invalid request,
 * connection closed), not executed because its end arrived in one read.
 */
static void test_rpc_socket_line_over_max_is_refused_whatever_the_read_split(void **state)
{
	struct fixture *fx = *state;
	const size_t len = DSE_RPC_MAX_LINE + 50;
	long long end;
	json_t *j;
	int fd, outq = -1;

	make_big_echo(fx, len);
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	assert_int_equal(send_all(fx->srv, fd, fx->big, DSE_RPC_MAX_LINE), DSE_RPC_MAX_LINE);
	end = now_ms() + 5000;
	while (now_ms() < end) {
		assert_int_equal(dse_rpc_poll(fx->srv, 5), 0);
		assert_int_equal(ioctl(fd, SIOCOUTQ, &outq), 0);
		if (outq == 0)
			break;
	}
	assert_int_equal(outq, 0);
	assert_int_equal(send_all(fx->srv, fd, fx->big + DSE_RPC_MAX_LINE, 51), 51);
	pump(fx->srv, fd, &fx->in, UINT32_MAX, 5000);
	assert_int_equal(lines_of(&fx->in), 1);
	j = line_json(&fx->in, 0);
	assert_error(j, "null", DSE_RPC_INVALID_REQUEST, "longer than");
	assert_true(fx->in.closed);
}

/* Asks 'srv' for 41 + 1 over a new connection to 'path' and asserts the answer 42. */
static void assert_serves(struct fixture *fx, struct dse_rpc_server *srv, const char *path)
{
	const char req[] = REQ_SUM(1, 41, 1);
	int fd = client_connect(fx, path);

	free(fx->in2.b);
	memset(&fx->in2, 0, sizeof(fx->in2));

	assert_int_equal(send_all(srv, fd, req, strlen(req)), strlen(req));
	pump(srv, fd, &fx->in2, 1, 5000);
	assert_int_equal(lines_of(&fx->in2), 1);
	assert_line_result(&fx->in2, 0, "1", "42");
}

/* Listens on the fixture's path and checks that the server answers there. */
static void assert_serves_after_listen(struct fixture *fx)
{
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	assert_serves(fx, fx->srv, fx->path);
}

/*
 * Steps: listen with the first server, then try the same path with a
 * second one.
 * Verify: -EADDRINUSE; the socket file stays and the first server still
 * answers on it.
 */
static void test_rpc_listen_refuses_path_of_a_live_server(void **state)
{
	struct fixture *fx = *state;
	struct stat st;

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fx->srv2 = dse_rpc_server_new(methods, NULL);
	assert_non_null(fx->srv2);
	assert_int_equal(dse_rpc_listen(fx->srv2, fx->path, 0600), -EADDRINUSE);
	dse_rpc_server_free(fx->srv2);
	fx->srv2 = NULL;
	assert_int_equal(stat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_serves(fx, fx->srv, fx->path);
}

/*
 * Steps: listen with the first server; open client connections without
 * letting it accept until one connect() fails with EAGAIN (backlog full,
 * as when the daemon is busy); then listen on the same path with a second
 * server.
 * Verify: the busy server is live, so the second is refused (-EADDRINUSE)
 * and the first keeps its socket file.
 */
static void test_rpc_listen_refuses_path_of_a_live_server_with_full_backlog(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	bool full = false;
	int r;

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fx->path);
	while (!full && fx->n_fds < MAX_FDS) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		assert_true(fd >= 0);
		fx->fds[fx->n_fds++] = fd;
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			assert_int_equal(errno, EAGAIN);
			full = true;
		}
	}
	assert_true(full);
	fx->srv2 = dse_rpc_server_new(methods, NULL);
	assert_non_null(fx->srv2);
	r = dse_rpc_listen(fx->srv2, fx->path, 0600);
	if (r == 0)
		print_error("the second server took over the path of a live one\n");
	assert_int_equal(r, -EADDRINUSE);
}

/*
 * Steps: leave a socket file with nobody listening (bind, close), then
 * listen on it with mode 0640; stop the server.
 * Verify: listen takes the path over with the mode asked, answers on it,
 * and the file is removed when the server is freed.
 */
static void test_rpc_listen_takes_over_a_stale_socket_file(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fx->path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0640), 0);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_serves(fx, fx->srv, fx->path);

	dse_rpc_server_free(fx->srv);
	fx->srv = NULL;
	assert_int_equal(stat(fx->path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/*
 * Steps: put a regular file with content at the socket path (a wrong
 * --socket option, say), then listen on it.
 * Verify: listen fails and the file is still there with its content: only
 * a stale socket may be replaced.
 */
static void test_rpc_listen_never_deletes_a_file_that_is_not_a_socket(void **state)
{
	struct fixture *fx = *state;
	char buf[16] = {0};
	int fd, r;

	fd = open(fx->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep me", 7), 7);
	close(fd);

	r = dse_rpc_listen(fx->srv, fx->path, 0600);
	if (r == 0)
		print_error("listen replaced a regular file\n");
	assert_true(r < 0);
	fd = open(fx->path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 7);
	close(fd);
	assert_string_equal(buf, "keep me");
}

/*
 * Steps: listen on a path longer than sun_path holds, then on a valid one.
 * Verify: -ENAMETOOLONG, and the server still listens and answers after.
 */
static void test_rpc_listen_refuses_a_path_too_long(void **state)
{
	struct fixture *fx = *state;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 16];
	size_t n = strlen(fx->dir);

	memcpy(path, fx->dir, n);
	path[n] = '/';
	memset(path + n + 1, 'a', sizeof(path) - n - 2);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(dse_rpc_listen(fx->srv, path, 0600), -ENAMETOOLONG);
	/* The server is left as it was: it can still listen on a valid path. */
	assert_serves_after_listen(fx);
}

/* ---- Limits ---- */

/* Sets the limits 'l' (zero fields: defaults) on the fixture's server. */
static void set_limits(struct fixture *fx, struct dse_rpc_limits l)
{
	assert_int_equal(dse_rpc_server_set_limits(fx->srv, &l), 0);
}

/* The server's counters. */
static struct dse_rpc_server_stats stats_of(struct fixture *fx)
{
	struct dse_rpc_server_stats st;

	dse_rpc_server_stats(fx->srv, &st);
	return st;
}

/* A batch of 'n' "count" calls with ids 1..n (a notification when 'notify'); caller frees. */
static char *count_batch(unsigned n, bool notify)
{
	size_t cap = 64 + (size_t)n * 64, len = 0;
	char *b = malloc(cap);

	assert_non_null(b);
	b[len++] = '[';
	for (unsigned i = 1; i <= n; i++) {
		if (notify)
			len += (size_t)snprintf(b + len, cap - len,
						"%s{\"jsonrpc\":\"2.0\",\"method\":\"count\"}",
						i > 1 ? "," : "");
		else
			len += (size_t)snprintf(b + len, cap - len,
						"%s{\"jsonrpc\":\"2.0\",\"id\":%u,"
						"\"method\":\"count\"}",
						i > 1 ? "," : "", i);
	}
	snprintf(b + len, cap - len, "]");
	return b;
}

/*
 * Steps: max_batch 5; dispatch text batches of 6 calls and of 6
 * notifications, and the parsed batch of 6; then a batch of exactly 5.
 * Verify: the batches of 6 get one invalid-request error naming the limit
 * and run none of their entries (the counter stays 0), counted in
 * batches_refused; the batch of 5 runs all 5 and answers them in order.
 */
static void test_rpc_batch_over_max_batch_is_refused_before_any_entry_runs(void **state)
{
	struct fixture *fx = *state;
	char *six = count_batch(6, false), *six_n = count_batch(6, true);
	char *five = count_batch(5, false);
	json_t *req = json_loads(six, 0, NULL), *resp;

	set_limits(fx, (struct dse_rpc_limits){.max_batch = 5});
	assert_error(call(fx, six), "null", DSE_RPC_INVALID_REQUEST, "more than 5 entries");
	assert_error(call(fx, six_n), "null", DSE_RPC_INVALID_REQUEST, "more than 5 entries");
	resp = dse_rpc_dispatch(fx->srv, req);
	assert_error(resp, "null", DSE_RPC_INVALID_REQUEST, "more than 5 entries");
	json_decref(resp);
	json_decref(req);
	assert_int_equal(n_counted, 0);
	assert_int_equal(stats_of(fx).batches_refused, 3);
	call(fx, five);
	assert_true(json_is_array(fx->resp));
	assert_int_equal(json_array_size(fx->resp), 5);
	for (unsigned i = 0; i < 5; i++) {
		const char *n = (const char *[]){"1", "2", "3", "4", "5"}[i];

		assert_result(json_array_get(fx->resp, i), n, n);
	}
	free(six);
	free(six_n);
	free(five);
}

/*
 * Steps: max_batch 3; batches of 3 whose entries hide commas, brackets,
 * braces and escaped quotes in strings, nested arrays and objects; and a
 * batch of 4 plain numbers.
 * Verify: the entries are counted as JSON has them: the batches of 3 are
 * answered (3 answers each), the batch of 4 is refused.
 */
static void test_rpc_batch_entries_are_counted_as_json_has_them(void **state)
{
	struct fixture *fx = *state;
	const char tricky[] =
	    "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\","
	    "\"params\":{\"p\":\"a,b],[{\\\",\"}},"
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"echo\",\"params\":{\"p\":[1,[2,3],{\"x\":"
	    "[4,5]}]}},"
	    " {\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"echo\",\"params\":{\"p\":\"\\\\\",\"q\":"
	    "\",,,\"}} ]";

	set_limits(fx, (struct dse_rpc_limits){.max_batch = 3});
	call(fx, tricky);
	assert_true(json_is_array(fx->resp));
	assert_int_equal(json_array_size(fx->resp), 3);
	assert_result(json_array_get(fx->resp, 0), "1", "{\"p\":\"a,b],[{\\\",\"}");
	assert_result(json_array_get(fx->resp, 2), "3", "{\"p\":\"\\\\\",\"q\":\",,,\"}");
	call(fx, "[1, 2, true]");
	assert_int_equal(json_array_size(fx->resp), 3);
	assert_error(call(fx, "[1, 2, 3, 4]"), "null", DSE_RPC_INVALID_REQUEST, "more than 3");
}

/*
 * Steps: max_reply 400; dispatch a batch of 10 "count" calls, each with a
 * 100-byte echo-sized id string, the last a notification.
 * Verify: the first calls run until their answers reach 400 bytes; every
 * later entry gets a limit error (-32001) with its own id that names the
 * limit, and does not run (the counter stops); the notification gets
 * nothing; entries_skipped counts the entries not run.
 */
static void test_rpc_batch_stops_running_at_the_reply_budget(void **state)
{
	struct fixture *fx = *state;
	char text[4096], pad[101];
	size_t len = 0, bytes = 0;
	unsigned ran;

	memset(pad, 'i', 100);
	pad[100] = '\0';
	len += (size_t)snprintf(text + len, sizeof(text) - len, "[");
	for (unsigned i = 0; i < 9; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"{\"jsonrpc\":\"2.0\",\"id\":\"%s%u\","
					"\"method\":\"count\"},",
					pad, i);
	snprintf(text + len, sizeof(text) - len, "{\"jsonrpc\":\"2.0\",\"method\":\"count\"}]");
	set_limits(fx, (struct dse_rpc_limits){.max_reply = 400});
	call(fx, text);
	assert_true(json_is_array(fx->resp));
	assert_int_equal(json_array_size(fx->resp), 9);
	ran = n_counted;
	assert_true(ran >= 2 && ran < 9);
	for (unsigned i = 0; i < 9; i++) {
		json_t *r = json_array_get(fx->resp, i);
		char id[120];

		snprintf(id, sizeof(id), "\"%s%u\"", pad, i);
		if (i < ran) {
			char want[8];

			snprintf(want, sizeof(want), "%u", i + 1);
			assert_result(r, id, want);
			bytes += json_dumpb(r, NULL, 0, JSON_COMPACT) + 1;
		} else {
			assert_error(r, id, DSE_RPC_LIMIT_ERROR, "limit of 400 bytes");
		}
	}
	/* It stopped as soon as the budget was spent, not before. */
	assert_true(bytes >= 400);
	assert_int_equal(stats_of(fx).entries_skipped, 10 - ran);
}

/* Sends what it can of 'buf' without blocking; returns the bytes sent. */
static size_t send_some(int fd, const char *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	return n > 0 ? (size_t)n : 0;
}

/* Runs the server for 'ms' milliseconds. */
static void serve_for(struct dse_rpc_server *srv, int ms)
{
	long long end = now_ms() + ms;

	while (now_ms() < end)
		assert_int_equal(dse_rpc_poll(srv, 5), 0);
}

/*
 * Steps: turn_calls 2; a client sends a batch of 10 "count" calls; run one
 * turn at a time.
 * Verify: no turn runs more than 2 calls (the batch goes on in later
 * turns); the answer is one array of the 10 in order.
 */
static void test_rpc_socket_batch_is_answered_across_turns(void **state)
{
	struct fixture *fx = *state;
	char *batch = count_batch(10, false);
	unsigned before, turns = 0;
	json_t *j;
	int fd;

	set_limits(fx, (struct dse_rpc_limits){.turn_calls = 2});
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	assert_int_equal(dse_rpc_poll(fx->srv, 100), 0); /* accepts */
	assert_true(send(fd, batch, strlen(batch), MSG_NOSIGNAL) == (ssize_t)strlen(batch));
	assert_true(send(fd, "\n", 1, MSG_NOSIGNAL) == 1);
	while (n_counted < 10 && turns++ < 100) {
		before = n_counted;
		assert_int_equal(dse_rpc_poll(fx->srv, 100), 0);
		assert_true(n_counted - before <= 2);
	}
	assert_int_equal(n_counted, 10);
	assert_true(turns >= 5);
	pump(fx->srv, fd, &fx->in, 1, 2000);
	assert_int_equal(lines_of(&fx->in), 1);
	j = line_json(&fx->in, 0);
	assert_true(json_is_array(j));
	assert_int_equal(json_array_size(j), 10);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(json_integer_value(json_object_get(json_array_get(j, i), "id")),
				 i + 1);
	free(batch);
}

/*
 * Steps: client A sends a batch of 500 "count" calls and 500 single
 * "count" requests; then client B sends one "sum" request.
 * Verify: B is answered while A has run only a small part of its 1000
 * calls (at most 4 turns' worth): round-robin, a bounded number of calls
 * per client per turn.
 */
static void test_rpc_socket_a_busy_client_does_not_starve_another(void **state)
{
	struct fixture *fx = *state;
	const char one[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"count\"}\n";
	const char req[] = REQ_SUM(7, 3, 4);
	char *batch = count_batch(500, false), *lines;
	size_t len = strlen(batch), off = 0;
	int a, b;

	lines = malloc(len + 1 + 500 * strlen(one));
	assert_non_null(lines);
	memcpy(lines, batch, len);
	lines[len++] = '\n';
	for (unsigned i = 0; i < 500; i++, len += strlen(one))
		memcpy(lines + len, one, strlen(one));
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	a = client_connect(fx, fx->path);
	b = client_connect(fx, fx->path);
	assert_int_equal(dse_rpc_poll(fx->srv, 100), 0); /* accepts both */
	/* A's requests are all in the server's socket before B asks. */
	while (off < len) {
		off += send_some(a, lines + off, len - off);
		assert_int_equal(dse_rpc_poll(fx->srv, 0), 0);
		client_drain(a, &fx->in);
	}
	assert_true(n_counted < 1000);
	assert_int_equal(send(b, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	{
		unsigned at_start = n_counted;

		while (lines_of(&fx->in2) < 1) {
			assert_int_equal(dse_rpc_poll(fx->srv, 100), 0);
			client_drain(a, &fx->in);
			client_drain(b, &fx->in2);
		}
		assert_true(n_counted - at_start <= 4 * DSE_RPC_TURN_CALLS);
	}
	assert_line_result(&fx->in2, 0, "7", "7");
	free(batch);
	free(lines);
}

/*
 * Steps: out_high 8 KiB; client A sends "echo" requests with 2 KiB
 * params as fast as the server reads them, for 300 ms, and never reads;
 * client B then sends a request.
 * Verify: the server stopped reading A (backpressured > 0) with at most
 * out_high plus one answer queued for it; B is answered at once; when A
 * reads, it gets exactly one answer for each request it sent, in order.
 */
static void test_rpc_socket_client_that_does_not_read_gets_backpressure(void **state)
{
	struct fixture *fx = *state;
	const char req[] = REQ_SUM(9, 4, 5);
	char one[2200];
	size_t len, off = 0;
	unsigned sent = 0;
	struct dse_rpc_server_stats st;
	long long end;
	int a, b;

	len = (size_t)snprintf(one, sizeof(one),
			       "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\","
			       "\"params\":{\"p\":\"%2048d\"}}\n",
			       0);
	set_limits(fx, (struct dse_rpc_limits){.out_high = 8192});
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	a = client_connect(fx, fx->path);
	b = client_connect(fx, fx->path);
	assert_int_equal(dse_rpc_poll(fx->srv, 100), 0);
	end = now_ms() + 300;
	while (now_ms() < end) {
		size_t n = send_some(a, one + off, len - off);

		off += n;
		if (off == len) {
			off = 0;
			sent++;
		}
		assert_int_equal(dse_rpc_poll(fx->srv, n ? 0 : 5), 0);
	}
	/* Finish the request under way, so that every request sent is whole. */
	while (off > 0 && off < len) {
		off += send_some(a, one + off, len - off);
		serve_for(fx->srv, 1);
	}
	sent += off == len;
	st = stats_of(fx);
	assert_true(st.backpressured > 0);
	assert_true(st.out_queued <= 8192 + len + 64);
	assert_true(sent > 20);
	assert_int_equal(send(b, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	pump(fx->srv, b, &fx->in2, 1, 200);
	assert_line_result(&fx->in2, 0, "9", "9");
	pump(fx->srv, a, &fx->in, sent, 10000);
	assert_int_equal(lines_of(&fx->in), sent);
	serve_for(fx->srv, 20);
	client_drain(a, &fx->in);
	assert_int_equal(lines_of(&fx->in), sent);
}

/*
 * Steps: line_timeout 100 ms; client A sends half a request and stalls;
 * client B sends a whole request every 30 ms.
 * Verify: A gets an invalid-request error saying its line was not
 * finished within 100 ms and is closed, after 100 ms and well before 1 s;
 * B is answered every time and stays open; closed_line_timeout is 1.
 */
static void test_rpc_socket_half_line_times_out(void **state)
{
	struct fixture *fx = *state;
	const char half[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"meth";
	const char req[] = REQ_SUM(2, 1, 1);
	long long start, end;
	unsigned asked = 0;
	int a, b;

	set_limits(fx, (struct dse_rpc_limits){.line_timeout_ms = 100});
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	a = client_connect(fx, fx->path);
	b = client_connect(fx, fx->path);
	assert_int_equal(send(a, half, strlen(half), MSG_NOSIGNAL), (ssize_t)strlen(half));
	start = now_ms();
	end = start + 1000;
	while (!fx->in.closed && now_ms() < end) {
		if (now_ms() - start >= 30 * (long long)asked) {
			assert_int_equal(send(b, req, strlen(req), MSG_NOSIGNAL),
					 (ssize_t)strlen(req));
			asked++;
		}
		assert_int_equal(dse_rpc_poll(fx->srv, 5), 0);
		client_drain(a, &fx->in);
		client_drain(b, &fx->in2);
	}
	assert_true(fx->in.closed);
	assert_true(now_ms() - start >= 100);
	assert_int_equal(lines_of(&fx->in), 1);
	assert_error(line_json(&fx->in, 0), "null", DSE_RPC_INVALID_REQUEST,
		     "not finished within 100 ms");
	pump(fx->srv, b, &fx->in2, asked, 500);
	assert_int_equal(lines_of(&fx->in2), asked);
	assert_false(fx->in2.closed);
	assert_int_equal(stats_of(fx).unix_clients.closed_line_timeout, 1);
}

/*
 * Steps: idle_timeout 150 ms; a client makes one call, then waits.
 * Verify: it is closed after 150 ms of idleness and before 1 s;
 * closed_idle is 1; a new client is served.
 */
static void test_rpc_socket_idle_client_times_out(void **state)
{
	struct fixture *fx = *state;
	const char req[] = REQ_SUM(3, 1, 2);
	long long answered;
	int fd;

	set_limits(fx, (struct dse_rpc_limits){.idle_timeout_ms = 150});
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	pump(fx->srv, fd, &fx->in, 1, 1000);
	assert_line_result(&fx->in, 0, "3", "3");
	answered = now_ms();
	pump(fx->srv, fd, &fx->in, 2, 1000);
	assert_true(fx->in.closed);
	assert_true(now_ms() - answered >= 140 && now_ms() - answered < 1000);
	assert_int_equal(stats_of(fx).unix_clients.closed_idle, 1);
	assert_serves(fx, fx->srv, fx->path);
}

#define REQ_CONN(id) "{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"conn\"}\n"

/* Has client 'fd' call "conn" (answer read into 'in'); returns its connection. */
static uint64_t conn_of(struct fixture *fx, int fd, struct inbuf *in)
{
	assert_int_equal(send(fd, REQ_CONN(1), strlen(REQ_CONN(1)), MSG_NOSIGNAL),
			 (ssize_t)strlen(REQ_CONN(1)));
	pump(fx->srv, fd, in, lines_of(in) + 1, 2000);
	return last_conn;
}

/* The connections the close hook was told of. */
static uint64_t closed_conns[8];
static unsigned n_closed;

static void on_close(void *arg, uint64_t conn)
{
	(void)arg;
	if (n_closed < 8)
		closed_conns[n_closed] = conn;
	n_closed++;
}

/*
 * Steps: two clients each call "conn"; the server queues a notification for
 * the first; then for no connection and for one that does not exist.
 * Verify: the connections differ and are not 0; the first gets its answer,
 * then the notification (no id, the method and params given); the second
 * gets only its answer; the other two are -ENOENT; a call without a
 * socket (dispatch) has connection 0.
 */
static void test_rpc_notify_reaches_its_connection_only(void **state)
{
	struct fixture *fx = *state;
	struct inbuf in2 = {0};
	uint64_t c1, c2;
	json_t *note;
	int fd1, fd2;

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd1 = client_connect(fx, fx->path);
	fd2 = client_connect(fx, fx->path);
	c1 = conn_of(fx, fd1, &fx->in);
	c2 = conn_of(fx, fd2, &in2);
	assert_true(c1 != 0 && c2 != 0 && c1 != c2);
	assert_int_equal(dse_rpc_notify(fx->srv, c1, "tick", json_pack("{s:i}", "n", 7), 1 << 20),
			 0);
	assert_int_equal(dse_rpc_notify(fx->srv, 0, "tick", NULL, 1 << 20), -ENOENT);
	assert_int_equal(dse_rpc_notify(fx->srv, c2 + 100, "tick", NULL, 1 << 20), -ENOENT);
	pump(fx->srv, fd1, &fx->in, 2, 2000);
	note = line_json(&fx->in, 1);
	assert_null(json_object_get(note, "id"));
	assert_string_equal(json_string_value(json_object_get(note, "method")), "tick");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(note, "params"), "n")),
			 7);
	pump(fx->srv, fd2, &in2, 2, 200);
	assert_int_equal(lines_of(&in2), 1);
	call(fx, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"conn\"}");
	assert_int_equal(last_conn, 0);
	free(in2.b);
}

/*
 * Steps: a client that never reads gets notifications of 1 KB until the
 * server refuses one; then it closes.
 * Verify: the refusal is -ENOBUFS once the queue reached the bound given
 * (the queue never holds more than the bound and one notification, beyond
 * what the socket took); the close hook hears the client's connection;
 * after that a notification is -ENOENT.
 */
static void test_rpc_notify_is_bounded_and_the_close_hook_hears_the_end(void **state)
{
	struct fixture *fx = *state;
	char pad[1001];
	unsigned sent = 0;
	long q;
	int fd, r;

	memset(pad, 'x', 1000);
	pad[1000] = '\0';
	n_closed = 0;
	dse_rpc_server_set_close_hook(fx->srv, on_close, NULL);
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	conn_of(fx, fd, &fx->in);
	assert_int_equal(dse_rpc_conn_set_streaming(fx->srv, last_conn), 0);
	for (;;) {
		r = dse_rpc_notify(fx->srv, last_conn, "pad", json_pack("{s:s}", "p", pad),
				   64 << 10);
		if (r != 0)
			break;
		sent++;
		/* The server sends what the socket takes. */
		assert_int_equal(dse_rpc_poll(fx->srv, 0), 0);
		assert_true(sent < 100000);
	}
	assert_int_equal(r, -ENOBUFS);
	q = dse_rpc_conn_queued(fx->srv, last_conn);
	assert_true(q >= 64 << 10 && q < (64 << 10) + 1100);
	assert_int_equal(n_closed, 0);
	close(fd);
	fx->fds[fx->n_fds - 1] = -1;
	for (int i = 0; i < 100 && n_closed == 0; i++)
		assert_int_equal(dse_rpc_poll(fx->srv, 5), 0);
	assert_int_equal(n_closed, 1);
	assert_true(closed_conns[0] == last_conn);
	assert_int_equal(dse_rpc_notify(fx->srv, last_conn, "pad", NULL, 64 << 10), -ENOENT);
	assert_int_equal(dse_rpc_conn_queued(fx->srv, last_conn), -ENOENT);
}

/*
 * Steps: idle limit 150 ms; two clients call "conn"; the first is marked
 * streaming; both then stay silent for 500 ms.
 * Verify: the second is closed as idle, the streaming one is not (it waits
 * for notifications) and still gets one.
 */
static void test_rpc_streaming_connection_is_not_closed_as_idle(void **state)
{
	struct fixture *fx = *state;
	struct inbuf in2 = {0};
	uint64_t c1;
	int fd1, fd2;
	long long end;

	set_limits(fx, (struct dse_rpc_limits){.idle_timeout_ms = 150});
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd1 = client_connect(fx, fx->path);
	fd2 = client_connect(fx, fx->path);
	c1 = conn_of(fx, fd1, &fx->in);
	assert_int_equal(dse_rpc_conn_set_streaming(fx->srv, c1), 0);
	conn_of(fx, fd2, &in2);
	end = now_ms() + 500;
	while (now_ms() < end) {
		assert_int_equal(dse_rpc_poll(fx->srv, 5), 0);
		client_drain(fd1, &fx->in);
		client_drain(fd2, &in2);
	}
	assert_true(in2.closed);
	assert_false(fx->in.closed);
	assert_int_equal(stats_of(fx).unix_clients.closed_idle, 1);
	assert_int_equal(dse_rpc_notify(fx->srv, c1, "tick", NULL, 1 << 20), 0);
	pump(fx->srv, fd1, &fx->in, 2, 2000);
	assert_string_equal(json_string_value(json_object_get(line_json(&fx->in, 1), "method")),
			    "tick");
	free(in2.b);
}

/*
 * Steps: max_unix_clients 4; four clients connect, 5 ms apart: the first
 * sends half a line, the others nothing; then a fifth connects and asks.
 * Verify: the fifth is answered; the first (the longest stalled) was
 * closed to make room, the others stay; evicted 1, refused_full 0.
 */
static void test_rpc_socket_full_socket_evicts_the_longest_stalled_client(void **state)
{
	struct fixture *fx = *state;
	const char half[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"meth";
	struct inbuf in[4] = {0};
	struct dse_rpc_server_stats st;
	int fds[4];

	set_limits(fx, (struct dse_rpc_limits){.max_unix_clients = 4});
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	for (unsigned i = 0; i < 4; i++) {
		fds[i] = client_connect(fx, fx->path);
		if (i == 0)
			assert_int_equal(send(fds[0], half, strlen(half), MSG_NOSIGNAL),
					 (ssize_t)strlen(half));
		serve_for(fx->srv, 5);
	}
	assert_int_equal(stats_of(fx).unix_clients.active, 4);
	assert_serves(fx, fx->srv, fx->path);
	serve_for(fx->srv, 20);
	for (unsigned i = 0; i < 4; i++)
		client_drain(fds[i], &in[i]);
	assert_true(in[0].closed);
	for (unsigned i = 1; i < 4; i++)
		assert_false(in[i].closed);
	st = stats_of(fx);
	assert_int_equal(st.unix_clients.evicted, 1);
	assert_int_equal(st.unix_clients.refused_full, 0);
	for (unsigned i = 0; i < 4; i++)
		free(in[i].b);
}

/*
 * Steps: set limits with a negative time, turn_us over a second, a
 * connection limit over 4096; then all zero.
 * Verify: -EINVAL for each bad one (the limits stay); all zero gives the
 * defaults of jsonrpc.h.
 */
static void test_rpc_limits_are_checked_and_default(void **state)
{
	struct fixture *fx = *state;
	struct dse_rpc_limits l;

	assert_int_equal(dse_rpc_server_set_limits(fx->srv, &(struct dse_rpc_limits){
								.line_timeout_ms = -1}),
			 -EINVAL);
	assert_int_equal(dse_rpc_server_set_limits(fx->srv,
						   &(struct dse_rpc_limits){.turn_us = 2000000}),
			 -EINVAL);
	assert_int_equal(dse_rpc_server_set_limits(
			     fx->srv, &(struct dse_rpc_limits){.max_unix_clients = 5000}),
			 -EINVAL);
	set_limits(fx, (struct dse_rpc_limits){0});
	dse_rpc_server_limits(fx->srv, &l);
	assert_int_equal(l.max_batch, DSE_RPC_MAX_BATCH);
	assert_int_equal(l.max_reply, DSE_RPC_MAX_REPLY);
	assert_int_equal(l.out_high, DSE_RPC_OUT_HIGH);
	assert_int_equal(l.turn_calls, DSE_RPC_TURN_CALLS);
	assert_int_equal(l.max_unix_clients, DSE_RPC_MAX_UNIX_CLIENTS);
	assert_int_equal(l.max_tls_clients, DSE_RPC_MAX_TLS_CLIENTS);
	assert_int_equal(l.max_tls_handshakes, DSE_RPC_MAX_TLS_HANDSHAKES);
	assert_int_equal(l.handshake_timeout_ms, DSE_RPC_HANDSHAKE_TIMEOUT_MS);
	assert_int_equal(l.line_timeout_ms, DSE_RPC_LINE_TIMEOUT_MS);
	assert_int_equal(l.idle_timeout_ms, DSE_RPC_IDLE_TIMEOUT_MS);
}

/* ---- Deferred answers ---- */

#define REQ_LATER(id) "{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"later\"}"
#define REQ_COUNT(id) "{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"count\"}"

/* Sends all of 'text' from client 'fd' in one write. */
static void send_text(int fd, const char *text)
{
	assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/*
 * Serves 'srv' until 'n' calls in all were deferred into held[], at most
 * 2 s, and asserts that they were.
 */
static void wait_held(struct dse_rpc_server *srv, unsigned n)
{
	long long end = now_ms() + 2000;

	while (n_held < n && now_ms() < end)
		assert_int_equal(dse_rpc_poll(srv, 5), 0);
	assert_int_equal(n_held, n);
}

/* Takes deferred call 'i' out of held[] to answer it. */
static struct dse_rpc_deferred *take(unsigned i)
{
	struct dse_rpc_deferred *d;

	assert_true(i < n_held);
	d = held[i];
	assert_non_null(d);
	held[i] = NULL;
	return d;
}

/*
 * Steps: a client calls "later", which defers; the server runs turns for
 * 100 ms; then the test answers the call with {"n": 5}; then the client
 * calls "sum".
 * Verify: while the call waits the server counts it as deferred and sends
 * nothing; after the reply the client gets exactly one answer, with the
 * result given and the call's own id, and the count is 0; the connection
 * stays open and serves the next call.
 */
static void test_rpc_deferred_call_is_answered_only_when_replied(void **state)
{
	struct fixture *fx = *state;
	int fd;

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	send_text(fd, "{\"jsonrpc\":\"2.0\",\"id\":\"op-1\",\"method\":\"later\"}\n");
	wait_held(fx->srv, 1);
	assert_int_equal(dse_rpc_deferred_count(fx->srv), 1);
	pump(fx->srv, fd, &fx->in, 1, 100);
	assert_int_equal(fx->in.len, 0);
	assert_false(fx->in.closed);

	dse_rpc_deferred_reply(take(0), json_pack("{s:i}", "n", 5));
	assert_int_equal(dse_rpc_deferred_count(fx->srv), 0);
	pump(fx->srv, fd, &fx->in, 1, 2000);
	assert_int_equal(lines_of(&fx->in), 1);
	assert_line_result(&fx->in, 0, "\"op-1\"", "{\"n\":5}");
	/* Exactly one answer: a second does not come. */
	pump(fx->srv, fd, &fx->in, 2, 100);
	assert_int_equal(lines_of(&fx->in), 1);

	send_text(fd, REQ_SUM(2, 1, 1));
	pump(fx->srv, fd, &fx->in, 2, 2000);
	assert_int_equal(lines_of(&fx->in), 2);
	assert_line_result(&fx->in, 1, "2", "2");
	assert_false(fx->in.closed);
	assert_int_equal(n_later, 1);
}

/*
 * Steps: one write of three requests on one connection: "later" (id 1),
 * "later" (id 2), "count" (id 3); answer the first, then the second.
 * Verify: while the first waits, neither the second "later" nor "count"
 * has run (their counters) and nothing is sent; once the first is
 * answered, its answer arrives and the second runs and defers in turn,
 * "count" still not run; after the second is answered, "count" runs and
 * the three answers are in request order with their ids.
 */
static void test_rpc_deferred_call_holds_back_the_next_requests_of_its_client(void **state)
{
	struct fixture *fx = *state;
	int fd;

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	send_text(fd, REQ_LATER(1) "\n" REQ_LATER(2) "\n" REQ_COUNT(3) "\n");
	wait_held(fx->srv, 1);
	pump(fx->srv, fd, &fx->in, 1, 100);
	assert_int_equal(n_later, 1);
	assert_int_equal(n_counted, 0);
	assert_int_equal(fx->in.len, 0);

	dse_rpc_deferred_reply(take(0), json_string("first"));
	pump(fx->srv, fd, &fx->in, 1, 2000);
	assert_int_equal(lines_of(&fx->in), 1);
	assert_line_result(&fx->in, 0, "1", "\"first\"");
	wait_held(fx->srv, 2);
	pump(fx->srv, fd, &fx->in, 2, 100);
	assert_int_equal(lines_of(&fx->in), 1);
	assert_int_equal(n_later, 2);
	assert_int_equal(n_counted, 0);

	dse_rpc_deferred_reply(take(1), json_string("second"));
	pump(fx->srv, fd, &fx->in, 3, 2000);
	assert_int_equal(lines_of(&fx->in), 3);
	assert_line_result(&fx->in, 1, "2", "\"second\"");
	assert_line_result(&fx->in, 2, "3", "1");
	assert_int_equal(n_counted, 1);
	assert_int_equal(dse_rpc_deferred_count(fx->srv), 0);
}

/*
 * Steps: a client sends "later" as a notification (no id) and "count"
 * (id 2) in one write; the deferred notification is answered.
 * Verify: "count" waits for that answer like any next request (its
 * counter stays 0); the answer of a notification sends nothing, so the
 * only line the client gets is the answer of "count".
 */
static void test_rpc_deferred_notification_holds_back_and_sends_nothing(void **state)
{
	struct fixture *fx = *state;
	int fd;

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	send_text(fd, "{\"jsonrpc\":\"2.0\",\"method\":\"later\"}\n" REQ_COUNT(2) "\n");
	wait_held(fx->srv, 1);
	pump(fx->srv, fd, &fx->in, 1, 100);
	assert_int_equal(n_counted, 0);
	assert_int_equal(fx->in.len, 0);

	dse_rpc_deferred_reply(take(0), json_string("unseen"));
	pump(fx->srv, fd, &fx->in, 1, 2000);
	pump(fx->srv, fd, &fx->in, 2, 100);
	assert_int_equal(lines_of(&fx->in), 1);
	assert_line_result(&fx->in, 0, "2", "1");
	assert_int_equal(dse_rpc_deferred_count(fx->srv), 0);
}

/*
 * Steps: client A calls "later" and waits; client B sends three "sum"
 * requests in one write; then A's call is answered.
 * Verify: B gets its three answers in order while A's call is still
 * deferred and A has received nothing; A then gets its own answer.
 */
static void test_rpc_deferred_call_does_not_hold_back_other_clients(void **state)
{
	struct fixture *fx = *state;
	struct inbuf in_b = {0};
	int fd_a, fd_b;

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd_a = client_connect(fx, fx->path);
	fd_b = client_connect(fx, fx->path);
	send_text(fd_a, REQ_LATER(1) "\n");
	wait_held(fx->srv, 1);

	send_text(fd_b, REQ_SUM(1, 1, 2) REQ_SUM(2, 3, 4) REQ_SUM(3, 5, 6));
	pump(fx->srv, fd_b, &in_b, 3, 2000);
	assert_int_equal(lines_of(&in_b), 3);
	assert_line_result(&in_b, 0, "1", "3");
	assert_line_result(&in_b, 1, "2", "7");
	assert_line_result(&in_b, 2, "3", "11");
	assert_int_equal(dse_rpc_deferred_count(fx->srv), 1);
	client_drain(fd_a, &fx->in);
	assert_int_equal(fx->in.len, 0);

	dse_rpc_deferred_reply(take(0), json_string("a's"));
	pump(fx->srv, fd_a, &fx->in, 1, 2000);
	assert_int_equal(lines_of(&fx->in), 1);
	assert_line_result(&fx->in, 0, "1", "\"a's\"");
	free(in_b.b);
}

/*
 * Steps: a client calls "later" with id 7; the test answers it with
 * dse_rpc_deferred_error(), code -32010 and a formatted message; then
 * the client calls "sum".
 * Verify: one JSON-RPC error of id 7 with exactly that code and message
 * (and no result); the next call is served as usual.
 */
static void test_rpc_deferred_error_is_a_json_rpc_error(void **state)
{
	struct fixture *fx = *state;
	const json_t *err;
	int fd;

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	send_text(fd, REQ_LATER(7) "\n");
	wait_held(fx->srv, 1);
	dse_rpc_deferred_error(take(0), -32010, "peer %s did not answer in %d ms", "dpu0", 500);
	assert_int_equal(dse_rpc_deferred_count(fx->srv), 0);
	pump(fx->srv, fd, &fx->in, 1, 2000);
	assert_int_equal(lines_of(&fx->in), 1);
	assert_error(line_json(&fx->in, 0), "7", -32010, "peer dpu0");
	err = json_object_get(cur_line, "error");
	assert_string_equal(json_string_value(json_object_get(err, "message")),
			    "peer dpu0 did not answer in 500 ms");

	send_text(fd, REQ_SUM(8, 2, 3));
	pump(fx->srv, fd, &fx->in, 2, 2000);
	assert_int_equal(lines_of(&fx->in), 2);
	assert_line_result(&fx->in, 1, "8", "5");
}

/*
 * Steps: call "later" through dse_rpc_dispatch() (a parsed request), a
 * batch through dse_rpc_dispatch_text(), and over the socket a batch of
 * two "later" entries; then over the socket a single "later".
 * Verify: without a socket and for a batch entry dse_rpc_defer() returns
 * NULL with errno EOPNOTSUPP, and the handler's immediate answer "now" is
 * what the caller gets (each entry of the socket's batch in one array);
 * nothing is deferred; the single request after the batch is deferred.
 */
static void test_rpc_defer_is_refused_without_a_socket_and_in_a_batch(void **state)
{
	struct fixture *fx = *state;
	json_t *req = json_loads(REQ_LATER(1), 0, NULL), *batch;
	int fd;

	assert_non_null(req);
	fx->resp = dse_rpc_dispatch(fx->srv, req);
	json_decref(req);
	assert_result(fx->resp, "1", "\"now\"");
	assert_int_equal(defer_errno, EOPNOTSUPP);

	defer_errno = 0;
	batch = call(fx, "[" REQ_LATER(2) "]");
	assert_true(json_is_array(batch));
	assert_int_equal(json_array_size(batch), 1);
	assert_result(json_array_get(batch, 0), "2", "\"now\"");
	assert_int_equal(defer_errno, EOPNOTSUPP);
	assert_int_equal(n_held, 0);
	assert_int_equal(dse_rpc_deferred_count(fx->srv), 0);

	defer_errno = 0;
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	send_text(fd, "[" REQ_LATER(3) "," REQ_LATER(4) "]\n");
	pump(fx->srv, fd, &fx->in, 1, 2000);
	assert_int_equal(lines_of(&fx->in), 1);
	batch = line_json(&fx->in, 0);
	assert_true(json_is_array(batch));
	assert_int_equal(json_array_size(batch), 2);
	assert_result(json_array_get(batch, 0), "3", "\"now\"");
	assert_result(json_array_get(batch, 1), "4", "\"now\"");
	assert_int_equal(defer_errno, EOPNOTSUPP);
	assert_int_equal(n_later, 4);
	assert_int_equal(n_held, 0);
	assert_int_equal(dse_rpc_deferred_count(fx->srv), 0);

	send_text(fd, REQ_LATER(5) "\n");
	wait_held(fx->srv, 1);
	dse_rpc_deferred_reply(take(0), NULL);
	pump(fx->srv, fd, &fx->in, 2, 2000);
	assert_int_equal(lines_of(&fx->in), 2);
	assert_line_result(&fx->in, 1, "5", "null");
}

/*
 * Steps: close hook set; clients A and B call "later", then close their
 * sockets before the answers; the server runs until it hears both
 * closes; then A's call is answered with a result and B's with an error.
 * Verify: the closes are seen while the calls are deferred (count 2); the
 * answers after them send nothing and bring the count back to 0 (ASan:
 * nothing freed is touched); the server serves a new client after.
 */
static void test_rpc_deferred_answer_after_the_client_closed_is_harmless(void **state)
{
	struct fixture *fx = *state;
	int fd_a, fd_b;

	n_closed = 0;
	dse_rpc_server_set_close_hook(fx->srv, on_close, NULL);
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd_a = client_connect(fx, fx->path);
	fd_b = client_connect(fx, fx->path);
	send_text(fd_a, REQ_LATER(1) "\n");
	send_text(fd_b, REQ_LATER(2) "\n");
	wait_held(fx->srv, 2);
	close(fd_a);
	close(fd_b);
	fx->fds[0] = fx->fds[1] = -1;
	for (int i = 0; i < 400 && n_closed < 2; i++)
		assert_int_equal(dse_rpc_poll(fx->srv, 5), 0);
	assert_int_equal(n_closed, 2);
	assert_int_equal(stats_of(fx).unix_clients.active, 0);
	assert_int_equal(dse_rpc_deferred_count(fx->srv), 2);

	dse_rpc_deferred_reply(take(0), json_string("too late"));
	dse_rpc_deferred_error(take(1), DSE_RPC_APP_ERROR, "too late as well");
	assert_int_equal(dse_rpc_deferred_count(fx->srv), 0);
	assert_serves(fx, fx->srv, fx->path);
}

/*
 * Steps: a client sends "later" and shuts down its sending side at once
 * (a script making one call); the server runs turns for 100 ms; then the
 * call is answered.
 * Verify: the server keeps the half-closed client while its call is
 * deferred (not closed, nothing sent); after the reply the client gets
 * the answer, and then the server closes the connection.
 */
static void test_rpc_deferred_call_of_a_half_closed_client_is_answered(void **state)
{
	struct fixture *fx = *state;
	int fd;

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	send_text(fd, REQ_LATER(1) "\n");
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	wait_held(fx->srv, 1);
	pump(fx->srv, fd, &fx->in, 1, 100);
	assert_false(fx->in.closed);
	assert_int_equal(fx->in.len, 0);
	assert_int_equal(stats_of(fx).unix_clients.active, 1);

	dse_rpc_deferred_reply(take(0), json_string("done"));
	pump(fx->srv, fd, &fx->in, 1, 2000);
	if (lines_of(&fx->in) == 0)
		print_error("no answer; server closed the client: %s\n",
			    fx->in.closed ? "yes" : "no");
	assert_int_equal(lines_of(&fx->in), 1);
	assert_line_result(&fx->in, 0, "1", "\"done\"");
	pump(fx->srv, fd, &fx->in, 2, 2000);
	assert_true(fx->in.closed);
	assert_int_equal(lines_of(&fx->in), 1);
}

/*
 * Steps: idle_timeout 150 ms; a client calls "later"; the server runs for
 * 400 ms; then the call is answered.
 * Verify: waiting for its own answer is not idleness: the client is not
 * closed (closed_idle 0) and gets the answer.
 */
static void test_rpc_deferred_call_is_not_closed_as_idle(void **state)
{
	struct fixture *fx = *state;
	int fd;

	set_limits(fx, (struct dse_rpc_limits){.idle_timeout_ms = 150});
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	fd = client_connect(fx, fx->path);
	send_text(fd, REQ_LATER(1) "\n");
	wait_held(fx->srv, 1);
	pump(fx->srv, fd, &fx->in, 1, 400);
	assert_false(fx->in.closed);
	assert_int_equal(stats_of(fx).unix_clients.closed_idle, 0);

	dse_rpc_deferred_reply(take(0), json_true());
	pump(fx->srv, fd, &fx->in, 1, 2000);
	if (lines_of(&fx->in) == 0)
		print_error("no answer; closed: %s, closed_idle %llu\n",
			    fx->in.closed ? "yes" : "no",
			    (unsigned long long)stats_of(fx).unix_clients.closed_idle);
	assert_int_equal(lines_of(&fx->in), 1);
	assert_line_result(&fx->in, 0, "1", "true");
	assert_int_equal(stats_of(fx).unix_clients.closed_idle, 0);
}

/*
 * Steps: three clients each call "later"; the second's call is answered
 * (out of the middle of the server's list); then the server is freed with
 * the other two deferred, and they are answered after, one with a
 * result, one with an error.
 * Verify: the second client gets its answer and the count drops to 2; the
 * free closes the other clients (they read the end of the stream); the
 * answers after the free send nothing and do not crash (under ASan: no
 * use after free, no leak).
 */
static void test_rpc_deferred_answer_after_server_free_is_harmless(void **state)
{
	struct fixture *fx = *state;
	struct inbuf in[3] = {0};
	int fds[3];

	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	for (unsigned i = 0; i < 3; i++) {
		fds[i] = client_connect(fx, fx->path);
		send_text(fds[i], REQ_LATER(1) "\n");
		wait_held(fx->srv, i + 1);
	}
	dse_rpc_deferred_reply(take(1), json_string("in time"));
	assert_int_equal(dse_rpc_deferred_count(fx->srv), 2);
	pump(fx->srv, fds[1], &in[1], 1, 2000);
	assert_int_equal(lines_of(&in[1]), 1);
	assert_line_result(&in[1], 0, "1", "\"in time\"");

	dse_rpc_server_free(fx->srv);
	fx->srv = NULL;
	dse_rpc_deferred_reply(take(0), json_string("after the free"));
	dse_rpc_deferred_error(take(2), DSE_RPC_APP_ERROR, "after the free too");
	for (unsigned i = 0; i < 3; i += 2) {
		client_drain(fds[i], &in[i]);
		assert_true(in[i].closed);
		assert_int_equal(in[i].len, 0);
	}
	for (unsigned i = 0; i < 3; i++)
		free(in[i].b);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_rpc_valid_call_returns_result_with_same_id),
	    T(test_rpc_absent_params_reach_the_handler_as_empty_object),
	    T(test_rpc_handler_sees_context_and_may_return_null),
	    T(test_rpc_notification_runs_and_gets_no_response),
	    T(test_rpc_batch_answers_each_request_in_order),
	    T(test_rpc_batch_of_notifications_gets_no_response),
	    T(test_rpc_empty_batch_is_invalid_request),
	    T(test_rpc_invalid_json_is_parse_error),
	    T(test_rpc_non_object_in_batch_is_invalid_request),
	    T(test_rpc_scalar_request_is_invalid_request_not_parse_error),
	    T(test_rpc_wrong_jsonrpc_version_is_invalid_request),
	    T(test_rpc_method_not_a_string_is_invalid_request),
	    T(test_rpc_id_of_wrong_type_is_invalid_request),
	    T(test_rpc_unknown_method_is_method_not_found),
	    T(test_rpc_params_not_an_object_is_invalid_params),
	    T(test_rpc_duplicate_keys_are_rejected),
	    T(test_rpc_handler_error_without_message_is_filled_from_errno),
	    T(test_rpc_params_only_rejects_an_unknown_key),
	    T(test_rpc_param_str_decodes_and_reports),
	    T(test_rpc_param_int_checks_type_and_range),
	    T(test_rpc_param_bool_accepts_only_booleans),
	    T(test_rpc_param_num_checks_type_and_range),
	    T(test_rpc_params_only_accepts_listed_keys),
	    T(test_rpc_socket_answers_batched_and_split_writes),
	    T(test_rpc_socket_skips_blank_lines_and_notifications),
	    T(test_rpc_socket_answers_request_sent_before_half_close),
	    T(test_rpc_socket_line_longer_than_max_gets_error_and_close),
	    T(test_rpc_socket_accepts_a_line_of_exactly_max_line),
	    T(test_rpc_socket_line_over_max_is_refused_whatever_the_read_split),
	    T(test_rpc_listen_refuses_path_of_a_live_server),
	    T(test_rpc_listen_refuses_path_of_a_live_server_with_full_backlog),
	    T(test_rpc_listen_takes_over_a_stale_socket_file),
	    T(test_rpc_listen_never_deletes_a_file_that_is_not_a_socket),
	    T(test_rpc_listen_refuses_a_path_too_long),
	    T(test_rpc_batch_over_max_batch_is_refused_before_any_entry_runs),
	    T(test_rpc_batch_entries_are_counted_as_json_has_them),
	    T(test_rpc_batch_stops_running_at_the_reply_budget),
	    T(test_rpc_socket_batch_is_answered_across_turns),
	    T(test_rpc_socket_a_busy_client_does_not_starve_another),
	    T(test_rpc_socket_client_that_does_not_read_gets_backpressure),
	    T(test_rpc_socket_half_line_times_out),
	    T(test_rpc_socket_idle_client_times_out),
	    T(test_rpc_notify_reaches_its_connection_only),
	    T(test_rpc_notify_is_bounded_and_the_close_hook_hears_the_end),
	    T(test_rpc_streaming_connection_is_not_closed_as_idle),
	    T(test_rpc_socket_full_socket_evicts_the_longest_stalled_client),
	    T(test_rpc_limits_are_checked_and_default),
	    T(test_rpc_deferred_call_is_answered_only_when_replied),
	    T(test_rpc_deferred_call_holds_back_the_next_requests_of_its_client),
	    T(test_rpc_deferred_notification_holds_back_and_sends_nothing),
	    T(test_rpc_deferred_call_does_not_hold_back_other_clients),
	    T(test_rpc_deferred_error_is_a_json_rpc_error),
	    T(test_rpc_defer_is_refused_without_a_socket_and_in_a_batch),
	    T(test_rpc_deferred_answer_after_the_client_closed_is_harmless),
	    T(test_rpc_deferred_call_of_a_half_closed_client_is_answered),
	    T(test_rpc_deferred_call_is_not_closed_as_idle),
	    T(test_rpc_deferred_answer_after_server_free_is_harmless),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
