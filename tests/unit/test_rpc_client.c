/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the JSON-RPC client on a Unix socket: against the real
 * server of jsonrpc.c served by a thread, and against a scripted server
 * (a raw socket the test writes answers to) for the cases a correct
 * server never produces: answers out of order, garbage, a closed socket.
 * The TLS transport is tested in test_tls.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "jsonrpc.h"
#include "rpc_client.h"

/* What every test starts with; torn down whatever the test left. */
struct fixture {
	struct dse_rpc_server *srv; /* served by 'thread' while 'running' */
	pthread_t thread;
	atomic_bool stop;
	bool running;
	struct dse_rpc_client *client;
	json_t *result;
	json_t *error;
	int raw_listen; /* a scripted server's listening socket, or -1 */
	int raw_conn;   /* its accepted connection, or -1 */
	char dir[64];
	char path[96];
};

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

/* Fails with its own code and message. */
static int m_fail(struct dse_rpc_call *call, json_t **ret_result)
{
	(void)ret_result;
	return dse_rpc_error(call, -32010, "disk %s is full", "sda");
}

/* Answers after "ms" milliseconds (the server thread stalls meanwhile). */
static int m_sleep(struct dse_rpc_call *call, json_t **ret_result)
{
	long long ms;
	struct timespec ts;

	if (dse_rpc_param_int(call, "ms", true, 0, 5000, &ms) < 0)
		return -EINVAL;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
	nanosleep(&ts, NULL);
	*ret_result = json_pack("{s:I}", "slept", (json_int_t)ms);
	return 0;
}

static const struct dse_rpc_method methods[] = {
	{"echo", m_echo, "returns params"},
	{"nothing", m_nothing, "returns null"},
	{"fail", m_fail, "fails with a message"},
	{"sleep", m_sleep, "answers after ms milliseconds"},
	{NULL, NULL, NULL},
};

static void *serve(void *arg)
{
	struct fixture *fx = arg;

	while (!atomic_load(&fx->stop))
		dse_rpc_poll(fx->srv, 10);
	return NULL;
}

static int fixture_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->raw_listen = fx->raw_conn = -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test-rpc-client-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/rpc.sock", fx->dir);
	*state = fx;
	return 0;
}

/* Starts the real server on the fixture's socket, served by a thread. */
static void start_server(struct fixture *fx)
{
	fx->srv = dse_rpc_server_new(methods, NULL);
	assert_non_null(fx->srv);
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	atomic_store(&fx->stop, false);
	assert_int_equal(pthread_create(&fx->thread, NULL, serve, fx), 0);
	fx->running = true;
}

/* Stops the server thread and frees the server (closing every client). */
static void stop_server(struct fixture *fx)
{
	if (fx->running) {
		atomic_store(&fx->stop, true);
		pthread_join(fx->thread, NULL);
		fx->running = false;
	}
	dse_rpc_server_free(fx->srv);
	fx->srv = NULL;
}

static int fixture_teardown(void **state)
{
	struct fixture *fx = *state;

	stop_server(fx);
	dse_rpc_client_free(fx->client);
	json_decref(fx->result);
	json_decref(fx->error);
	if (fx->raw_conn >= 0)
		close(fx->raw_conn);
	if (fx->raw_listen >= 0)
		close(fx->raw_listen);
	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Calls 'method' on the fixture's client; the result and error are kept in the fixture. */
static int call(struct fixture *fx, const char *method, json_t *params, int timeout_ms)
{
	int r;

	json_decref(fx->result);
	json_decref(fx->error);
	fx->result = fx->error = NULL;
	r = dse_rpc_client_call(fx->client, method, params, timeout_ms, &fx->result, &fx->error);
	json_decref(params);
	return r;
}

/* Listens on the fixture's path with a raw socket (a scripted server). */
static void raw_listen(struct fixture *fx)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fx->path);
	fx->raw_listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fx->raw_listen >= 0);
	assert_int_equal(bind(fx->raw_listen, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fx->raw_listen, 4), 0);
}

/* Connects the client to the scripted server and accepts it there. */
static void raw_connect(struct fixture *fx)
{
	assert_int_equal(dse_rpc_client_unix(fx->path, 1000, &fx->client), 0);
	fx->raw_conn = accept(fx->raw_listen, NULL, NULL);
	assert_true(fx->raw_conn >= 0);
}

static void raw_send(struct fixture *fx, const char *text)
{
	assert_int_equal(write(fx->raw_conn, text, strlen(text)), (ssize_t)strlen(text));
}

/*
 * A call's params reach the method and its result comes back.
 * Steps: call echo with an object, then without params.
 * Verify: the result is the object, then an empty object.
 */
static void test_client_unix_round_trip(void **state)
{
	struct fixture *fx = *state;

	start_server(fx);
	assert_int_equal(dse_rpc_client_unix(fx->path, 1000, &fx->client), 0);
	assert_null(dse_rpc_client_peer_cn(fx->client));
	assert_int_equal(
		call(fx, "echo", json_pack("{s:s, s:i}", "name", "seg1", "vlan", 10), 1000), 0);
	assert_string_equal(json_string_value(json_object_get(fx->result, "name")), "seg1");
	assert_int_equal(json_integer_value(json_object_get(fx->result, "vlan")), 10);
	assert_null(fx->error);

	assert_int_equal(call(fx, "echo", NULL, 1000), 0);
	assert_true(json_is_object(fx->result));
	assert_int_equal(json_object_size(fx->result), 0);
}

/*
 * A method that returns nothing gives JSON null, not a missing result.
 * Steps: call "nothing".  Verify: 0 and a json null result.
 */
static void test_client_null_result_is_json_null(void **state)
{
	struct fixture *fx = *state;

	start_server(fx);
	assert_int_equal(dse_rpc_client_unix(fx->path, 1000, &fx->client), 0);
	assert_int_equal(call(fx, "nothing", NULL, 1000), 0);
	assert_non_null(fx->result);
	assert_true(json_is_null(fx->result));
}

/*
 * A server's error answer is handed out with -EREMOTEIO.
 * Steps: call "fail", then an unknown method, then echo again.
 * Verify: -EREMOTEIO with the code and message; -32601 for the unknown
 * method; the connection still works afterwards.
 */
static void test_client_error_answer_is_eremoteio(void **state)
{
	struct fixture *fx = *state;

	start_server(fx);
	assert_int_equal(dse_rpc_client_unix(fx->path, 1000, &fx->client), 0);
	assert_int_equal(call(fx, "fail", NULL, 1000), -EREMOTEIO);
	assert_null(fx->result);
	assert_non_null(fx->error);
	assert_int_equal(json_integer_value(json_object_get(fx->error, "code")), -32010);
	assert_string_equal(json_string_value(json_object_get(fx->error, "message")),
			    "disk sda is full");

	assert_int_equal(call(fx, "no.such.method", NULL, 1000), -EREMOTEIO);
	assert_int_equal(json_integer_value(json_object_get(fx->error, "code")),
			 DSE_RPC_METHOD_NOT_FOUND);

	assert_int_equal(call(fx, "echo", json_pack("{s:b}", "ok", 1), 1000), 0);
	assert_true(json_is_true(json_object_get(fx->result, "ok")));
}

/*
 * The caller may pass NULL for the result and error it does not want.
 * Steps: call echo and fail with both pointers NULL.
 * Verify: 0 and -EREMOTEIO, and nothing leaks (ASan).
 */
static void test_client_result_pointers_may_be_null(void **state)
{
	struct fixture *fx = *state;

	start_server(fx);
	assert_int_equal(dse_rpc_client_unix(fx->path, 1000, &fx->client), 0);
	assert_int_equal(dse_rpc_client_call(fx->client, "echo", NULL, 1000, NULL, NULL), 0);
	assert_int_equal(dse_rpc_client_call(fx->client, "fail", NULL, 1000, NULL, NULL),
			 -EREMOTEIO);
}

/*
 * A call that times out returns -ETIMEDOUT and its late answer is not
 * taken for the next call's.
 * Steps: call sleep 300 ms with a 50 ms timeout; then echo with a marker.
 * Verify: -ETIMEDOUT; the echo call returns its own marker, not {"slept"}.
 */
static void test_client_timeout_then_late_answer_is_dropped(void **state)
{
	struct fixture *fx = *state;

	start_server(fx);
	assert_int_equal(dse_rpc_client_unix(fx->path, 1000, &fx->client), 0);
	assert_int_equal(call(fx, "sleep", json_pack("{s:i}", "ms", 300), 50), -ETIMEDOUT);
	assert_null(fx->result);
	assert_int_equal(call(fx, "echo", json_pack("{s:s}", "marker", "second"), 2000), 0);
	assert_string_equal(json_string_value(json_object_get(fx->result, "marker")), "second");
	assert_null(json_object_get(fx->result, "slept"));
}

/*
 * A server that goes away shows as -ECONNRESET, then -ENOTCONN.
 * Steps: connect, stop and free the server, call twice.
 * Verify: -ECONNRESET, a message in last_error, then -ENOTCONN.
 */
static void test_client_closed_connection_is_econnreset(void **state)
{
	struct fixture *fx = *state;

	start_server(fx);
	assert_int_equal(dse_rpc_client_unix(fx->path, 1000, &fx->client), 0);
	assert_int_equal(call(fx, "echo", NULL, 1000), 0);
	stop_server(fx);
	assert_int_equal(call(fx, "echo", NULL, 1000), -ECONNRESET);
	assert_true(strlen(dse_rpc_client_last_error(fx->client)) > 0);
	assert_int_equal(call(fx, "echo", NULL, 1000), -ENOTCONN);
}

/*
 * Connecting fails with a plain errno.
 * Steps: connect to a missing path, to a socket file nobody serves, to
 * a path too long.  Verify: -ENOENT, -ECONNREFUSED, -ENAMETOOLONG.
 */
static void test_client_unix_connect_errors(void **state)
{
	struct fixture *fx = *state;
	struct dse_rpc_client *c = NULL;
	char longpath[200];

	assert_int_equal(dse_rpc_client_unix(fx->path, 100, &c), -ENOENT);
	raw_listen(fx);
	close(fx->raw_listen); /* the file stays, nobody listens */
	fx->raw_listen = -1;
	assert_int_equal(dse_rpc_client_unix(fx->path, 100, &c), -ECONNREFUSED);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(dse_rpc_client_unix(longpath, 100, &c), -ENAMETOOLONG);
	assert_null(c);
}

/*
 * Bad arguments are refused before anything is sent.
 * Steps: call with params that are not an object, with a NULL method.
 * Verify: -EINVAL both times, and the connection still works.
 */
static void test_client_bad_arguments(void **state)
{
	struct fixture *fx = *state;

	start_server(fx);
	assert_int_equal(dse_rpc_client_unix(fx->path, 1000, &fx->client), 0);
	assert_int_equal(call(fx, "echo", json_integer(3), 1000), -EINVAL);
	assert_int_equal(dse_rpc_client_call(fx->client, NULL, NULL, 1000, NULL, NULL), -EINVAL);
	assert_int_equal(call(fx, "echo", NULL, 1000), 0);
	dse_rpc_client_free(NULL);
}

/*
 * A request over the server's line limit is refused by the client.
 * Steps: echo a string of DSE_RPC_MAX_LINE bytes.  Verify: -E2BIG, and
 * the connection still works.
 */
static void test_client_request_over_limit_is_e2big(void **state)
{
	struct fixture *fx = *state;
	char *big = malloc(DSE_RPC_MAX_LINE + 1);

	assert_non_null(big);
	memset(big, 'x', DSE_RPC_MAX_LINE);
	big[DSE_RPC_MAX_LINE] = '\0';
	start_server(fx);
	assert_int_equal(dse_rpc_client_unix(fx->path, 1000, &fx->client), 0);
	assert_int_equal(call(fx, "echo", json_pack("{s:s}", "s", big), 1000), -E2BIG);
	free(big);
	assert_int_equal(call(fx, "echo", NULL, 1000), 0);
}

/*
 * A large answer arrives whole (many reads).
 * Steps: echo a 3 MiB string.  Verify: the same string comes back.
 */
static void test_client_large_answer(void **state)
{
	struct fixture *fx = *state;
	size_t len = 3u << 20;
	char *big = malloc(len + 1);

	assert_non_null(big);
	for (size_t i = 0; i < len; i++)
		big[i] = (char)('a' + i % 26);
	big[len] = '\0';
	start_server(fx);
	assert_int_equal(dse_rpc_client_unix(fx->path, 1000, &fx->client), 0);
	assert_int_equal(call(fx, "echo", json_pack("{s:s}", "s", big), 5000), 0);
	assert_string_equal(json_string_value(json_object_get(fx->result, "s")), big);
	free(big);
}

/*
 * Answers are matched by id: an answer to another id is skipped.
 * Steps: a scripted server sends an answer for id 99, a blank line, then
 * one for id 1, before the client calls.  Verify: the call returns the
 * id 1 result.
 */
static void test_client_matches_answers_by_id(void **state)
{
	struct fixture *fx = *state;

	raw_listen(fx);
	raw_connect(fx);
	raw_send(fx, "{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":\"stale\"}\n\r\n"
		     "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"mine\"}\n");
	assert_int_equal(call(fx, "anything", NULL, 1000), 0);
	assert_string_equal(json_string_value(fx->result), "mine");
}

/*
 * An error with a null id (the server could not read the request) answers
 * the outstanding call.
 * Steps: a scripted server sends a parse error with id null.
 * Verify: -EREMOTEIO with code -32700.
 */
static void test_client_null_id_error_answers_the_call(void **state)
{
	struct fixture *fx = *state;

	raw_listen(fx);
	raw_connect(fx);
	raw_send(fx, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,"
		     "\"message\":\"parse error\"}}\n");
	assert_int_equal(call(fx, "anything", NULL, 1000), -EREMOTEIO);
	assert_int_equal(json_integer_value(json_object_get(fx->error, "code")), -32700);
}

/*
 * A server that sends something else than JSON-RPC answers is a protocol
 * error, and the client will not use the stream again.
 * Steps: a scripted server sends "hello"; then call again.
 * Verify: -EPROTO, then -ENOTCONN.
 */
static void test_client_garbage_is_eproto(void **state)
{
	struct fixture *fx = *state;

	raw_listen(fx);
	raw_connect(fx);
	raw_send(fx, "hello\n");
	assert_int_equal(call(fx, "anything", NULL, 1000), -EPROTO);
	assert_int_equal(call(fx, "anything", NULL, 1000), -ENOTCONN);
}

/*
 * An answer with both result and error, or a wrong version, is refused.
 * Steps: a scripted server sends {"jsonrpc":"1.0",...}.  Verify: -EPROTO.
 */
static void test_client_bad_envelope_is_eproto(void **state)
{
	struct fixture *fx = *state;

	raw_listen(fx);
	raw_connect(fx);
	raw_send(fx, "{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":1}\n");
	assert_int_equal(call(fx, "anything", NULL, 1000), -EPROTO);
	dse_rpc_client_free(fx->client);
	fx->client = NULL;
	close(fx->raw_conn);
	raw_connect(fx);
	raw_send(fx, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{}}\n");
	assert_int_equal(call(fx, "anything", NULL, 1000), -EPROTO);
}

/*
 * A server that never answers makes the call time out within its limit.
 * Steps: a scripted server reads nothing and answers nothing; call with
 * 100 ms.  Verify: -ETIMEDOUT after 100 ms or a little more, not long after.
 */
static void test_client_silent_server_times_out(void **state)
{
	struct fixture *fx = *state;
	struct timespec a, b;
	long ms;

	raw_listen(fx);
	raw_connect(fx);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(call(fx, "anything", NULL, 100), -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_true(ms >= 95);
	assert_true(ms < 1000);
}

/*
 * The client never dies of SIGPIPE when the server is gone, even when the
 * process did not ignore the signal.
 * Steps: the scripted server closes; the client calls twice (the second
 * write would raise SIGPIPE).  Verify: -ECONNRESET and the process lives.
 */
static void test_client_no_sigpipe(void **state)
{
	struct fixture *fx = *state;

	signal(SIGPIPE, SIG_DFL);
	raw_listen(fx);
	raw_connect(fx);
	close(fx->raw_conn);
	fx->raw_conn = -1;
	assert_int_equal(call(fx, "anything", NULL, 1000), -ECONNRESET);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_client_unix_round_trip),
		T(test_client_null_result_is_json_null),
		T(test_client_error_answer_is_eremoteio),
		T(test_client_result_pointers_may_be_null),
		T(test_client_timeout_then_late_answer_is_dropped),
		T(test_client_closed_connection_is_econnreset),
		T(test_client_unix_connect_errors),
		T(test_client_bad_arguments),
		T(test_client_request_over_limit_is_e2big),
		T(test_client_large_answer),
		T(test_client_matches_answers_by_id),
		T(test_client_null_id_error_answers_the_call),
		T(test_client_garbage_is_eproto),
		T(test_client_bad_envelope_is_eproto),
		T(test_client_silent_server_times_out),
		T(test_client_no_sigpipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
