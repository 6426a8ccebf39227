/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the non-blocking JSON-RPC client (rpc_async.c) and of the
 * JSON-RPC server on the event loop (jsonrpc_loop.c).  Everything runs in
 * one thread, on one loop: the client, and either the project's own
 * server (jsonrpc.c, attached to the loop, over the Unix socket or TLS)
 * or a scripted server (a Unix socket the test reads requests from and
 * writes chosen bytes to) for what a correct server never does: answers
 * out of order or never, notifications between answers, garbage, lines
 * over the limit, a close in the middle of calls.
 *
 * The group setup makes the certificates of test_pki.h (the host CA's
 * "h1-d1" and host identity, a foreign CA's host identity and "h1-d1").
 * Every wait is a run of the loop until a condition holds or a deadline
 * passes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "evloop.h"
#include "jsonrpc.h"
#include "rpc_async.h"
#include "test_pki.h"
#include "tls.h"

/* How late a timeout may come on a busy machine under the sanitizers. */
#define SLACK_MS 50
/* How long a test waits for something that should happen at once. */
#define SOON_MS 3000
/* Calls one fixture can record. */
#define MAX_RECS 256
/* Requests the scripted server keeps. */
#define MAX_REQS 512

/* ---- the certificates ---- */

/*
 * The certificates (test_pki.h), and the foreign CA's host identity
 * trusting both CAs: our client takes it, so only the server can refuse
 * it.
 */
static struct test_pki pki;
static char bundle[160]; /* both CAs in one file */
static struct dse_tls_conf foreign_cli_conf;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Writes the CA certificates of 'a' and 'b' into one file 'out'. */
static int concat(const char *a, const char *b, const char *out)
{
	char buf[8192];
	FILE *o = fopen(out, "w");
	int r = o ? 0 : -1;

	for (const char *const *in = (const char *const[]){a, b, NULL}; r == 0 && *in; in++) {
		FILE *f = fopen(*in, "r");
		size_t n;

		if (f == NULL) {
			r = -1;
			break;
		}
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, o);
		fclose(f);
	}
	if (o)
		fclose(o);
	return r;
}

static int group_setup(void **state)
{
	char ca1[200], ca2[200];

	(void)state;
	if (test_pki_make(&pki, "test-rpc-async") < 0)
		return -1;
	snprintf(ca1, sizeof(ca1), "%s/ca.pem", pki.ca);
	snprintf(ca2, sizeof(ca2), "%s/ca.pem", pki.ca2);
	snprintf(bundle, sizeof(bundle), "%s/bundle.pem", pki.dir);
	if (concat(ca1, ca2, bundle) < 0)
		return -1;
	foreign_cli_conf = pki.rogue_cli_conf;
	foreign_cli_conf.ca_file = bundle;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	nftw(pki.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* ---- the fixture ---- */

struct fx;

/* What to do when a call completes, besides recording it. */
enum rec_action {
	ACT_NONE,
	ACT_CLOSE,      /* close the connection */
	ACT_CALL_AGAIN, /* make the next call of a chain */
};

/* How one call completed. */
struct rec {
	struct fx *fx;
	unsigned done;     /* times its callback ran: must end at exactly 1 */
	int status;
	json_t *result;    /* references of our own */
	json_t *error;
	char msg[320];
	uint64_t id;
	unsigned seq;      /* when it completed, in the fixture's sequence of events */
	double at_ms;      /* when it completed, from the fixture's t0 */
	enum rec_action act;
};

/*
 * A scripted server: one listening Unix socket and its latest connection,
 * both watched by the loop; it keeps every request it reads and writes
 * only what the test tells it.
 */
struct script {
	struct dse_loop *loop;
	int lfd;
	int fd;
	char in[1 << 16];
	size_t in_len;
	unsigned n_reqs;
	json_int_t req_id[MAX_REQS];
	char req_method[MAX_REQS][32];
	bool eof;          /* the client closed its side */
	char *stream;      /* bytes it writes as the socket takes them (script_stream()) */
	size_t stream_len, stream_off;
	bool stream_broken; /* the client closed while it wrote */
};

struct fx {
	struct dse_loop *loop;
	char dir[64];
	char path[96];
	struct dse_rpc_server *srv; /* the real server, on the loop (start_server()) */
	struct dse_rpc_server_loop *sl;
	uint16_t tls_port;
	struct script sc;
	struct dse_rpc_async *conn;
	uint64_t t0_ns;
	unsigned seq;               /* completions, notifications and statuses, numbered */
	unsigned n_status;
	int status[4];
	char status_msg[320];
	unsigned status_seq[4];
	bool close_on_status;       /* on_status closes the connection */
	unsigned n_notes;
	json_t *note_params[64];
	unsigned note_seq[64];
	bool close_on_note;
	unsigned answered;          /* completions with status 0 */
	unsigned chain_left;        /* calls an ACT_CALL_AGAIN chain still makes */
	struct rec rec[MAX_RECS];
	unsigned n_recs;
	/* The real server's subscriber (m_subscribe) and what is sent to it. */
	uint64_t sub_conn;
	unsigned notify_left;
	unsigned notified;
	uint64_t notify_timer;
};

static double since_ms(const struct fx *fx)
{
	return (double)(dse_loop_now_ns() - fx->t0_ns) / 1e6;
}

/* Runs the loop until '*count' reaches 'want' or 'ms' pass.  Returns whether it did. */
static bool wait_count(struct fx *fx, const unsigned *count, unsigned want, unsigned ms)
{
	uint64_t end = dse_loop_now_ns() + (uint64_t)ms * 1000000;

	while (*count < want) {
		uint64_t now = dse_loop_now_ns();

		if (now >= end)
			return false;
		assert_true(dse_loop_run_once(fx->loop, (int)((end - now) / 1000000) + 1) >= 0);
	}
	return true;
}

/* Runs the loop for 'ms' milliseconds, to see that nothing more happens. */
static void run_for(struct fx *fx, unsigned ms)
{
	uint64_t end = dse_loop_now_ns() + (uint64_t)ms * 1000000;

	for (uint64_t now; (now = dse_loop_now_ns()) < end;)
		assert_true(dse_loop_run_once(fx->loop, (int)((end - now) / 1000000) + 1) >= 0);
}

static int fixture_setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->loop = dse_loop_new();
	if (fx->loop == NULL)
		return -1;
	fx->sc.loop = fx->loop;
	fx->sc.lfd = fx->sc.fd = -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test-rpc-async-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/rpc.sock", fx->dir);
	fx->t0_ns = dse_loop_now_ns();
	*state = fx;
	return 0;
}

static void script_close(struct script *sc);

static int fixture_teardown(void **state)
{
	struct fx *fx = *state;

	dse_rpc_async_close(fx->conn);
	dse_loop_timer_cancel(fx->loop, fx->notify_timer);
	dse_rpc_server_loop_detach(fx->sl);
	dse_rpc_server_free(fx->srv);
	script_close(&fx->sc);
	if (fx->sc.lfd >= 0) {
		dse_loop_fd_remove(fx->loop, fx->sc.lfd);
		close(fx->sc.lfd);
	}
	free(fx->sc.stream);
	for (unsigned i = 0; i < fx->n_recs; i++) {
		json_decref(fx->rec[i].result);
		json_decref(fx->rec[i].error);
	}
	for (unsigned i = 0; i < fx->n_notes; i++)
		json_decref(fx->note_params[i]);
	/* Nothing of the client or the server may be left in the loop. */
	assert_int_equal(dse_loop_timer_count(fx->loop), 0);
	dse_loop_free(fx->loop);
	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* ---- the client's callbacks ---- */

static void on_status(struct dse_rpc_async *conn, int status, const char *msg, void *arg)
{
	struct fx *fx = arg;

	assert_ptr_equal(conn, fx->conn);
	assert_true(fx->n_status < 4);
	fx->status[fx->n_status] = status;
	fx->status_seq[fx->n_status] = ++fx->seq;
	fx->n_status++;
	snprintf(fx->status_msg, sizeof(fx->status_msg), "%s", msg);
	if (fx->close_on_status) {
		dse_rpc_async_close(conn);
		fx->conn = NULL;
	}
}

static void on_note(struct dse_rpc_async *conn, const char *method, json_t *params, void *arg)
{
	struct fx *fx = arg;

	assert_string_equal(method, "events");
	assert_true(fx->n_notes < 64);
	fx->note_params[fx->n_notes] = json_incref(params);
	fx->note_seq[fx->n_notes] = ++fx->seq;
	fx->n_notes++;
	if (fx->close_on_note) {
		dse_rpc_async_close(conn);
		fx->conn = NULL;
	}
}

static int call_rec(struct fx *fx, const char *method, json_t *params, int timeout_ms,
		    enum rec_action act);

static void on_reply(struct dse_rpc_async *conn, const struct dse_rpc_async_reply *reply,
		     void *arg)
{
	struct rec *r = arg;
	struct fx *fx = r->fx;

	r->done++;
	r->status = reply->status;
	r->result = json_incref(reply->result);
	r->error = json_incref(reply->error);
	snprintf(r->msg, sizeof(r->msg), "%s", reply->message);
	r->id = reply->id;
	r->seq = ++fx->seq;
	r->at_ms = since_ms(fx);
	if (reply->status == 0)
		fx->answered++;
	if (r->act == ACT_CLOSE) {
		dse_rpc_async_close(conn);
		fx->conn = NULL;
	} else if (r->act == ACT_CALL_AGAIN && fx->chain_left > 0) {
		fx->chain_left--;
		assert_int_equal(call_rec(fx, "echo", json_pack("{s:i}", "i", (int)fx->n_recs),
					  SOON_MS, ACT_CALL_AGAIN),
				 0);
	}
}

static struct dse_rpc_async_opts client_opts(struct fx *fx)
{
	return (struct dse_rpc_async_opts){.on_status = on_status, .on_note = on_note, .arg = fx};
}

/*
 * Calls 'method' on the fixture's connection with 'params' (stolen),
 * recording the completion in the next rec.  Returns what
 * dse_rpc_async_call() returned.
 */
static int call_rec(struct fx *fx, const char *method, json_t *params, int timeout_ms,
		    enum rec_action act)
{
	struct rec *r;
	int ret;

	assert_true(fx->n_recs < MAX_RECS);
	r = &fx->rec[fx->n_recs];
	*r = (struct rec){.fx = fx, .act = act};
	ret = dse_rpc_async_call(fx->conn, method, params, timeout_ms, on_reply, r, NULL);
	json_decref(params);
	if (ret == 0)
		fx->n_recs++;
	return ret;
}

/* Forgets the calls recorded so far (after they completed). */
static void recs_reset(struct fx *fx)
{
	for (unsigned i = 0; i < fx->n_recs; i++) {
		json_decref(fx->rec[i].result);
		json_decref(fx->rec[i].error);
	}
	fx->n_recs = 0;
}

/* The number of recs whose call completed. */
static unsigned completed(const struct fx *fx)
{
	unsigned n = 0;

	for (unsigned i = 0; i < fx->n_recs; i++)
		n += fx->rec[i].done;
	return n;
}

/* Runs the loop until every recorded call completed (within 'ms'). */
static void wait_all_done(struct fx *fx, unsigned ms)
{
	uint64_t end = dse_loop_now_ns() + (uint64_t)ms * 1000000;

	while (completed(fx) < fx->n_recs && dse_loop_now_ns() < end)
		assert_true(dse_loop_run_once(fx->loop, 10) >= 0);
	assert_int_equal(completed(fx), fx->n_recs);
}

/* Connects the fixture's client to its Unix socket and waits for it to be up. */
static void connect_unix(struct fx *fx, const struct dse_rpc_async_opts *opts)
{
	struct dse_rpc_async_opts o = opts ? *opts : client_opts(fx);

	assert_int_equal(dse_rpc_async_unix(fx->loop, fx->path, &o, &fx->conn), 0);
	assert_true(wait_count(fx, &fx->n_status, 1, SOON_MS));
	assert_int_equal(fx->status[0], 0);
	assert_true(dse_rpc_async_connected(fx->conn));
}

/* ---- the real server ---- */

static int m_echo(struct dse_rpc_call *call, json_t **ret_result)
{
	*ret_result = json_incref(call->params);
	return 0;
}

static int m_fail(struct dse_rpc_call *call, json_t **ret_result)
{
	(void)ret_result;
	return dse_rpc_error(call, -32010, "disk %s is full", "sda");
}

static int m_nothing(struct dse_rpc_call *call, json_t **ret_result)
{
	(void)call;
	(void)ret_result;
	return 0;
}

static int m_remote(struct dse_rpc_call *call, json_t **ret_result)
{
	*ret_result = json_boolean(call->remote);
	return 0;
}

/*
 * As dse-dpud's events.subscribe (src/dpud/core/rpc_events.c): remembers
 * the caller's connection, marks it streaming and answers; the records
 * then go to it as notifications "events" (notify_tick()).
 */
static int m_subscribe(struct dse_rpc_call *call, json_t **ret_result)
{
	struct fx *fx = call->ctx;

	fx->sub_conn = call->conn;
	assert_int_equal(dse_rpc_conn_set_streaming(call->srv, call->conn), 0);
	*ret_result = json_pack("{s:i, s:[s], s:i}", "subscription", 0, "kinds", "fdb_learned",
				"max_queued_bytes", 1 << 20);
	return 0;
}

static const struct dse_rpc_method methods[] = {
	{"echo", m_echo, "returns params"},
	{"fail", m_fail, "fails with a message"},
	{"nothing", m_nothing, "returns null"},
	{"remote", m_remote, "true for a call over TLS"},
	{"events.subscribe", m_subscribe, "streams events to this connection"},
	{NULL, NULL, NULL},
};

/* Starts the real server on the fixture's socket (and on TLS with 'tls'), served by the loop. */
static void start_server(struct fx *fx, const struct dse_tls_conf *tls,
			 const struct dse_rpc_limits *limits)
{
	char err[512] = "";

	fx->srv = dse_rpc_server_new(methods, fx);
	assert_non_null(fx->srv);
	if (limits)
		assert_int_equal(dse_rpc_server_set_limits(fx->srv, limits), 0);
	assert_int_equal(dse_rpc_listen(fx->srv, fx->path, 0600), 0);
	if (tls) {
		int port;

		if (dse_rpc_listen_tls(fx->srv, "127.0.0.1", 0, tls, err, sizeof(err)) < 0)
			fail_msg("listen_tls: %s", err);
		port = dse_rpc_tls_port(fx->srv);
		assert_true(port > 0);
		fx->tls_port = (uint16_t)port;
	}
	assert_int_equal(dse_rpc_server_loop_attach(fx->srv, fx->loop, &fx->sl), 0);
}

/*
 * One record a turn of the loop, as rpc_events.c sends them, until
 * 'notify_left' are sent.
 */
static void notify_tick(struct dse_loop *loop, void *arg)
{
	struct fx *fx = arg;
	json_t *params;

	fx->notify_timer = 0;
	if (fx->notify_left == 0)
		return;
	params = json_pack("{s:[{s:s, s:i, s:i, s:I, s:s}], s:i}", "events", "kind",
			   "fdb_learned", "worker", 0, "seq", (int)fx->notified + 1, "ts_ns",
			   (json_int_t)dse_loop_now_ns(), "mac", "02:00:00:00:00:01", "lost", 0);
	assert_int_equal(dse_rpc_notify(fx->srv, fx->sub_conn, "events", params, 1 << 20), 0);
	fx->notified++;
	fx->notify_left--;
	fx->notify_timer = dse_loop_timer_add(loop, 0, notify_tick, fx);
}

/* ---- the scripted server ---- */

/* Keeps the requests of the lines in the scripted server's input. */
static void script_lines(struct script *sc)
{
	char *nl;

	while ((nl = memchr(sc->in, '\n', sc->in_len)) != NULL) {
		size_t len = (size_t)(nl - sc->in);
		json_t *req = json_loadb(sc->in, len, 0, NULL);

		assert_non_null(req);
		assert_true(sc->n_reqs < MAX_REQS);
		sc->req_id[sc->n_reqs] = json_integer_value(json_object_get(req, "id"));
		snprintf(sc->req_method[sc->n_reqs], sizeof(sc->req_method[0]), "%s",
			 json_string_value(json_object_get(req, "method")));
		sc->n_reqs++;
		json_decref(req);
		memmove(sc->in, nl + 1, sc->in_len - len - 1);
		sc->in_len -= len + 1;
	}
}

/* Writes what is left of the stream, as far as the socket takes it. */
static void script_stream_more(struct script *sc)
{
	while (sc->stream_off < sc->stream_len) {
		ssize_t n = send(sc->fd, sc->stream + sc->stream_off, sc->stream_len - sc->stream_off,
				 MSG_NOSIGNAL);

		if (n < 0) {
			if (errno != EAGAIN)
				sc->stream_broken = true;
			break;
		}
		sc->stream_off += (size_t)n;
	}
	if ((sc->stream_off == sc->stream_len || sc->stream_broken) && !sc->eof)
		dse_loop_fd_modify(sc->loop, sc->fd, DSE_LOOP_READ);
}

static void on_script_fd(struct dse_loop *loop, int fd, unsigned events, void *arg)
{
	struct script *sc = arg;
	ssize_t n;

	(void)loop;
	if (events & DSE_LOOP_WRITE)
		script_stream_more(sc);
	if (!(events & (DSE_LOOP_READ | DSE_LOOP_ERROR)) || sc->eof)
		return;
	n = read(fd, sc->in + sc->in_len, sizeof(sc->in) - sc->in_len);
	if (n <= 0) {
		if (n == 0 || errno != EAGAIN) {
			/* A hung-up fd stays ready (level triggered): stop watching it. */
			sc->eof = true;
			dse_loop_fd_remove(sc->loop, fd);
		}
		return;
	}
	sc->in_len += (size_t)n;
	script_lines(sc);
}

/* Accepts the client; a new one replaces the last. */
static void on_script_accept(struct dse_loop *loop, int lfd, unsigned events, void *arg)
{
	struct script *sc = arg;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	(void)events;
	if (fd < 0)
		return;
	script_close(sc);
	sc->fd = fd;
	sc->in_len = sc->n_reqs = 0;
	sc->eof = sc->stream_broken = false;
	assert_int_equal(dse_loop_fd_add(loop, fd, DSE_LOOP_READ, on_script_fd, sc), 0);
}

/* Starts the scripted server on the fixture's socket. */
static void script_listen(struct fx *fx)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct script *sc = &fx->sc;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fx->path);
	sc->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(sc->lfd >= 0);
	assert_int_equal(bind(sc->lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(sc->lfd, 8), 0);
	assert_int_equal(dse_loop_fd_add(fx->loop, sc->lfd, DSE_LOOP_READ, on_script_accept, sc),
			 0);
}

/* Writes 'text' to the scripted server's client (small: the socket takes it whole). */
static void script_send(struct script *sc, const char *text)
{
	assert_true(sc->fd >= 0);
	assert_int_equal(send(sc->fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

/* Writes 'len' bytes of 'buf' to the client as its socket drains (from the loop). */
static void script_stream(struct script *sc, const char *buf, size_t len)
{
	free(sc->stream);
	sc->stream = malloc(len);
	assert_non_null(sc->stream);
	memcpy(sc->stream, buf, len);
	sc->stream_len = len;
	sc->stream_off = 0;
	assert_int_equal(dse_loop_fd_modify(sc->loop, sc->fd, DSE_LOOP_READ | DSE_LOOP_WRITE), 0);
}

/* Closes the scripted server's client connection. */
static void script_close(struct script *sc)
{
	if (sc->fd < 0)
		return;
	dse_loop_fd_remove(sc->loop, sc->fd);
	close(sc->fd);
	sc->fd = -1;
}

/* The answer {"i": i} to request 'k' of the scripted server, appended to 'buf'. */
static void answer_i(struct script *sc, unsigned k, int i, char *buf, size_t len)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "{\"jsonrpc\":\"2.0\",\"id\":%lld,\"result\":{\"i\":%d}}\n",
		 (long long)sc->req_id[k], i);
}

/* An "events" notification as dse-dpud sends it (rpc_events.c), record seq 'seq'. */
static void note_line(unsigned seq, char *buf, size_t len)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used,
		 "{\"jsonrpc\":\"2.0\",\"method\":\"events\",\"params\":{\"events\":[{\"kind\":"
		 "\"fdb_learned\",\"worker\":0,\"seq\":%u,\"ts_ns\":5,\"mac\":\"02:00:00:00:00:01\","
		 "\"segment\":\"s1\",\"segment_id\":1,\"port\":\"p1\",\"port_id\":3,\"static\":false}"
		 "],\"lost\":0}}\n",
		 seq);
}

/* The "seq" of the first record of notification 'k'. */
static long long note_record_seq(const struct fx *fx, unsigned k)
{
	json_t *ev = json_array_get(json_object_get(fx->note_params[k], "events"), 0);

	return json_integer_value(json_object_get(ev, "seq"));
}

/* ---- calls to the real server ---- */

/*
 * A call gets its result, an error its error object, on a Unix socket to
 * the project's server run by the same loop.
 * Steps: the server on the loop; connect; call echo, fail, nothing and an
 * unknown method at once; run until all complete.
 * Verify: the connect reports 0 once; echo's result is its params; fail is
 * -EREMOTEIO with code -32010 and the server's message; nothing is JSON
 * null; the unknown method is -EREMOTEIO -32601; ids are 1..4; the
 * counters say 4 sent, 4 answered, bytes both ways, none pending; no
 * timer is left.
 */
static void test_calls_to_the_real_server_on_the_same_loop(void **state)
{
	struct fx *fx = *state;
	struct dse_rpc_async_stats st;

	start_server(fx, NULL, NULL);
	connect_unix(fx, NULL);
	assert_null(dse_rpc_async_peer_cn(fx->conn));
	assert_int_equal(call_rec(fx, "echo", json_pack("{s:i}", "n", 7), SOON_MS, ACT_NONE), 0);
	assert_int_equal(call_rec(fx, "fail", NULL, SOON_MS, ACT_NONE), 0);
	assert_int_equal(call_rec(fx, "nothing", NULL, SOON_MS, ACT_NONE), 0);
	assert_int_equal(call_rec(fx, "no.such", NULL, SOON_MS, ACT_NONE), 0);
	wait_all_done(fx, SOON_MS);
	assert_int_equal(fx->rec[0].status, 0);
	assert_int_equal(json_integer_value(json_object_get(fx->rec[0].result, "n")), 7);
	assert_int_equal(fx->rec[1].status, -EREMOTEIO);
	assert_int_equal(json_integer_value(json_object_get(fx->rec[1].error, "code")), -32010);
	assert_string_equal(fx->rec[1].msg, "disk sda is full");
	assert_null(fx->rec[1].result);
	assert_int_equal(fx->rec[2].status, 0);
	assert_true(json_is_null(fx->rec[2].result));
	assert_int_equal(fx->rec[3].status, -EREMOTEIO);
	assert_int_equal(json_integer_value(json_object_get(fx->rec[3].error, "code")),
			 DSE_RPC_METHOD_NOT_FOUND);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(fx->rec[i].done, 1);
		assert_int_equal(fx->rec[i].id, i + 1);
	}
	dse_rpc_async_stats(fx->conn, &st);
	assert_int_equal(st.calls_sent, 4);
	assert_int_equal(st.calls_answered, 4);
	assert_int_equal(st.pending, 0);
	assert_int_equal(st.out_queued, 0);
	assert_true(st.bytes_in > 0 && st.bytes_out > 0);
	assert_int_equal(fx->n_status, 1);
	assert_int_equal(dse_loop_timer_count(fx->loop), 0);
}

/* ---- the scripted server ---- */

/*
 * Many calls are in flight on one connection and the answers come in any
 * order: each goes to its own call, once.
 * Steps: the scripted server; 200 calls with params {i}; run until it has
 * read all 200 requests; it answers them in reverse order, all in one
 * write, each with {i} of its request.
 * Verify: the requests have the ids 1..200; every call completed once
 * with its own i; they completed in the order of the answers (last call
 * first); 200 answered.
 */
static void test_many_calls_in_flight_answered_out_of_order(void **state)
{
	struct fx *fx = *state;
	struct dse_rpc_async_stats st;
	static char answers[200 * 64];

	script_listen(fx);
	connect_unix(fx, NULL);
	for (int i = 0; i < 200; i++)
		assert_int_equal(call_rec(fx, "echo", json_pack("{s:i}", "i", i), SOON_MS, ACT_NONE),
				 0);
	assert_true(wait_count(fx, &fx->sc.n_reqs, 200, SOON_MS));
	answers[0] = '\0';
	for (int k = 199; k >= 0; k--) {
		assert_int_equal(fx->sc.req_id[k], k + 1);
		answer_i(&fx->sc, (unsigned)k, k, answers, sizeof(answers));
	}
	script_send(&fx->sc, answers);
	wait_all_done(fx, SOON_MS);
	for (unsigned i = 0; i < 200; i++) {
		assert_int_equal(fx->rec[i].done, 1);
		assert_int_equal(fx->rec[i].status, 0);
		assert_int_equal(json_integer_value(json_object_get(fx->rec[i].result, "i")), i);
		if (i > 0)
			assert_true(fx->rec[i].seq < fx->rec[i - 1].seq);
	}
	dse_rpc_async_stats(fx->conn, &st);
	assert_int_equal(st.calls_answered, 200);
	assert_int_equal(st.pending, 0);
}

/*
 * Each call has its own timeout: one the server never answers times out
 * while the others are answered, and its late answer is dropped.
 * Steps: the scripted server; calls A (hold, 100 ms), B (echo, 3 s), C
 * (hold, 300 ms); once the server has the three it answers B only; run
 * until all complete; then it sends A's answer late; then call D, which
 * it answers.
 * Verify: B completed at once with its result; A with -ETIMEDOUT at
 * 100..100+SLACK_MS ms, "no answer to hold within 100 ms"; C likewise at
 * 300 ms; the late answer runs no callback and counts one late answer;
 * the connection is still up and D gets its answer; 2 timed out.
 */
static void test_each_call_has_its_own_timeout(void **state)
{
	struct fx *fx = *state;
	struct dse_rpc_async_stats st;
	char text[256] = "";

	script_listen(fx);
	connect_unix(fx, NULL);
	fx->t0_ns = dse_loop_now_ns();
	assert_int_equal(call_rec(fx, "hold", NULL, 100, ACT_NONE), 0);
	assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
	assert_int_equal(call_rec(fx, "hold", NULL, 300, ACT_NONE), 0);
	assert_true(wait_count(fx, &fx->sc.n_reqs, 3, SOON_MS));
	answer_i(&fx->sc, 1, 42, text, sizeof(text));
	script_send(&fx->sc, text);
	wait_all_done(fx, SOON_MS);
	assert_int_equal(fx->rec[1].status, 0);
	assert_true(fx->rec[1].at_ms < 100);
	assert_int_equal(fx->rec[0].status, -ETIMEDOUT);
	assert_string_equal(fx->rec[0].msg, "no answer to hold within 100 ms");
	if (fx->rec[0].at_ms < 100 || fx->rec[0].at_ms > 100 + SLACK_MS)
		fail_msg("the 100 ms call timed out at %.1f ms", fx->rec[0].at_ms);
	assert_int_equal(fx->rec[2].status, -ETIMEDOUT);
	if (fx->rec[2].at_ms < 300 || fx->rec[2].at_ms > 300 + SLACK_MS)
		fail_msg("the 300 ms call timed out at %.1f ms", fx->rec[2].at_ms);

	text[0] = '\0';
	answer_i(&fx->sc, 0, 1, text, sizeof(text));
	script_send(&fx->sc, text);
	for (unsigned i = 0; i < 100; i++) {
		dse_rpc_async_stats(fx->conn, &st);
		if (st.late_answers == 1)
			break;
		assert_true(dse_loop_run_once(fx->loop, 10) >= 0);
	}
	assert_int_equal(st.late_answers, 1);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(fx->rec[i].done, 1);
	assert_true(dse_rpc_async_connected(fx->conn));
	assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
	assert_true(wait_count(fx, &fx->sc.n_reqs, 4, SOON_MS));
	text[0] = '\0';
	answer_i(&fx->sc, 3, 4, text, sizeof(text));
	script_send(&fx->sc, text);
	wait_all_done(fx, SOON_MS);
	assert_int_equal(fx->rec[3].status, 0);
	dse_rpc_async_stats(fx->conn, &st);
	assert_int_equal(st.calls_timed_out, 2);
	assert_int_equal(st.calls_answered, 2);
}

/*
 * When the server closes the connection, every pending call completes
 * once, in the order they were made, then the status says why.
 * Steps: the scripted server; ten calls (five without a timeout, five
 * with 3 s); it answers the third, then closes.
 * Verify: the third has its result; the nine others -ECONNRESET with a
 * message that the server closed the connection, in id order; on_status
 * heard -ECONNRESET once, after them; a new call is -ENOTCONN; the
 * counters say 9 failed, none pending; closing afterwards runs no more
 * callbacks.
 */
static void test_disconnection_completes_every_pending_call_once_in_order(void **state)
{
	struct fx *fx = *state;
	struct dse_rpc_async_stats st;
	char text[128] = "";
	unsigned last_seq = 0;

	script_listen(fx);
	connect_unix(fx, NULL);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(call_rec(fx, "echo", NULL, i < 5 ? -1 : SOON_MS, ACT_NONE), 0);
	assert_true(wait_count(fx, &fx->sc.n_reqs, 10, SOON_MS));
	answer_i(&fx->sc, 2, 3, text, sizeof(text));
	script_send(&fx->sc, text);
	script_close(&fx->sc);
	wait_all_done(fx, SOON_MS);
	assert_true(wait_count(fx, &fx->n_status, 2, SOON_MS));
	assert_int_equal(fx->rec[2].status, 0);
	for (unsigned i = 0; i < 10; i++) {
		assert_int_equal(fx->rec[i].done, 1);
		if (i == 2)
			continue;
		assert_int_equal(fx->rec[i].status, -ECONNRESET);
		assert_non_null(strstr(fx->rec[i].msg, "closed the connection"));
		assert_true(fx->rec[i].seq > last_seq);
		last_seq = fx->rec[i].seq;
	}
	assert_int_equal(fx->status[1], -ECONNRESET);
	assert_true(fx->status_seq[1] > last_seq);
	assert_false(dse_rpc_async_connected(fx->conn));
	assert_non_null(strstr(dse_rpc_async_last_error(fx->conn), fx->path));
	assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), -ENOTCONN);
	dse_rpc_async_stats(fx->conn, &st);
	assert_int_equal(st.calls_failed, 9);
	assert_int_equal(st.pending, 0);
	dse_rpc_async_close(fx->conn);
	fx->conn = NULL;
	assert_int_equal(completed(fx), 10);
	assert_int_equal(fx->n_status, 2);
}

/*
 * Notifications between answers reach on_note in the order they came,
 * and the answers still reach their calls (events.subscribe's stream).
 * Steps: the scripted server; calls 1..3; it sends in one write: note 1,
 * answer 2, note 2, note 3, answer 1, answer 3, note 4, each note in the
 * exact format of rpc_events.c.
 * Verify: the events seen are, in order, note 1, call 2, note 2, note 3,
 * call 1, call 3, note 4; each note's first record has its seq; the
 * counters say 4 notifications, 3 answered.
 */
static void test_notifications_interleave_with_answers(void **state)
{
	struct fx *fx = *state;
	struct dse_rpc_async_stats st;
	char text[4096] = "";

	script_listen(fx);
	connect_unix(fx, NULL);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
	assert_true(wait_count(fx, &fx->sc.n_reqs, 3, SOON_MS));
	note_line(1, text, sizeof(text));
	answer_i(&fx->sc, 1, 2, text, sizeof(text));
	note_line(2, text, sizeof(text));
	note_line(3, text, sizeof(text));
	answer_i(&fx->sc, 0, 1, text, sizeof(text));
	answer_i(&fx->sc, 2, 3, text, sizeof(text));
	note_line(4, text, sizeof(text));
	script_send(&fx->sc, text);
	assert_true(wait_count(fx, &fx->n_notes, 4, SOON_MS));
	wait_all_done(fx, SOON_MS);
	/* fx->seq 1 was the connect's status. */
	assert_int_equal(fx->note_seq[0], 2);
	assert_int_equal(fx->rec[1].seq, 3);
	assert_int_equal(fx->note_seq[1], 4);
	assert_int_equal(fx->note_seq[2], 5);
	assert_int_equal(fx->rec[0].seq, 6);
	assert_int_equal(fx->rec[2].seq, 7);
	assert_int_equal(fx->note_seq[3], 8);
	for (unsigned k = 0; k < 4; k++)
		assert_int_equal(note_record_seq(fx, k), k + 1);
	assert_int_equal(json_integer_value(json_object_get(fx->note_params[0], "lost")), 0);
	dse_rpc_async_stats(fx->conn, &st);
	assert_int_equal(st.notifications, 4);
	assert_int_equal(st.calls_answered, 3);
}

/*
 * The event stream of a subscription and other calls share one
 * connection to the real server, and notifications queued from a timer of
 * the loop go out without any request to wake the server.
 * Steps: the server on the loop; connect; call events.subscribe; then a
 * timer queues 20 notifications, one each turn of the loop
 * (dse_rpc_notify()), while a chain of 100 echo calls runs (each answer
 * makes the next call); then, with no call at all, 3 more notifications.
 * Verify: the subscription is answered; all 20 notifications arrive with
 * their records in order; all 100 calls are answered; at least one
 * notification came between the chain's first and last answer; the 3
 * last arrive too (nothing but the loop's prepare hook tells the server
 * it has output).
 */
static void test_events_stream_shares_the_connection_with_calls(void **state)
{
	struct fx *fx = *state;
	bool interleaved = false;

	start_server(fx, NULL, NULL);
	connect_unix(fx, NULL);
	assert_int_equal(call_rec(fx, "events.subscribe", NULL, SOON_MS, ACT_NONE), 0);
	wait_all_done(fx, SOON_MS);
	assert_int_equal(fx->rec[0].status, 0);
	assert_true(fx->sub_conn != 0);
	fx->notify_left = 20;
	fx->notify_timer = dse_loop_timer_add(fx->loop, 0, notify_tick, fx);
	fx->chain_left = 99;
	assert_int_equal(call_rec(fx, "echo", json_pack("{s:i}", "i", 1), SOON_MS, ACT_CALL_AGAIN),
			 0);
	assert_true(wait_count(fx, &fx->n_notes, 20, SOON_MS));
	assert_true(wait_count(fx, &fx->answered, 101, SOON_MS));
	assert_int_equal(fx->n_recs, 101);
	for (unsigned k = 0; k < 20; k++) {
		assert_int_equal(note_record_seq(fx, k), k + 1);
		if (fx->note_seq[k] > fx->rec[1].seq && fx->note_seq[k] < fx->rec[100].seq)
			interleaved = true;
	}
	assert_true(interleaved);
	fx->notify_left = 3;
	fx->notify_timer = dse_loop_timer_add(fx->loop, 5, notify_tick, fx);
	assert_true(wait_count(fx, &fx->n_notes, 23, SOON_MS));
	assert_int_equal(note_record_seq(fx, 22), 23);
	assert_int_equal(fx->n_recs, 101);
}

/* One line a hostile server sends, and what the client must make of it. */
struct hostile {
	const char *line;
	const char *msg_part; /* part of the connection's message */
};

/*
 * Lines that are not what a JSON-RPC server sends fail the connection
 * with a message, each: not JSON, not JSON-RPC 2.0, an answer to an id
 * never sent, an error without an id, a request to the client, a message
 * without id or method.
 * Steps: for each line: the scripted server; connect; one pending call;
 * the server sends the line.
 * Verify: the call completes once with -EPROTO and the message; on_status
 * hears -EPROTO with the same message.
 */
static void test_hostile_lines_fail_the_connection_with_a_message(void **state)
{
	struct fx *fx = *state;
	const struct hostile cases[] = {
		{"this is not json\n", "not a JSON object"},
		{"[1,2,3]\n", "not a JSON object"},
		{"{\"id\":1,\"result\":1}\n", "not JSON-RPC 2.0"},
		{"{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":1}\n", "never sent"},
		{"{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":1}\n", "never sent"},
		{"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":"
		 "\"parse error at line 1\"}}\n",
		 "could not read a request: parse error at line 1"},
		{"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}\n", "this client serves none"},
		{"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{}}\n", "not a JSON-RPC answer"},
		{"{\"jsonrpc\":\"2.0\"}\n", "without an id"},
	};

	script_listen(fx);
	for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		fx->n_status = 0;
		recs_reset(fx);
		fx->sc.n_reqs = 0;
		connect_unix(fx, NULL);
		assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
		assert_true(wait_count(fx, &fx->sc.n_reqs, 1, SOON_MS));
		script_send(&fx->sc, cases[k].line);
		wait_all_done(fx, SOON_MS);
		assert_true(wait_count(fx, &fx->n_status, 2, SOON_MS));
		assert_int_equal(fx->rec[0].done, 1);
		assert_int_equal(fx->rec[0].status, -EPROTO);
		if (strstr(fx->rec[0].msg, cases[k].msg_part) == NULL)
			fail_msg("line %u: '%s' does not say '%s'", k, fx->rec[0].msg,
				 cases[k].msg_part);
		assert_int_equal(fx->status[1], -EPROTO);
		assert_string_equal(fx->status_msg, fx->rec[0].msg);
		dse_rpc_async_close(fx->conn);
		fx->conn = NULL;
	}
}

/*
 * A line longer than the connection's limit fails it before the client
 * holds much more than the limit: a whole long line, and half a line
 * that never ends.
 * Steps: max_line 64 KiB; the scripted server sends a 70 KiB line with
 * its newline; then, on a new connection, 4 MiB without a newline, as
 * fast as the client reads.
 * Verify: both times the pending call and the status get -EMSGSIZE, "a
 * line longer than 65536 bytes"; the second time the client read at most
 * the limit and three reads more before it gave up.
 */
static void test_oversized_lines_are_refused_within_the_limit(void **state)
{
	struct fx *fx = *state;
	struct dse_rpc_async_opts o = client_opts(fx);
	struct dse_rpc_async_stats st;
	size_t big = 4u << 20;
	char *buf = malloc(big);

	assert_non_null(buf);
	memset(buf, 'x', big);
	o.max_line = 64 << 10;
	script_listen(fx);
	for (unsigned round = 0; round < 2; round++) {
		fx->n_status = 0;
		recs_reset(fx);
		connect_unix(fx, &o);
		assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
		assert_true(wait_count(fx, &fx->sc.n_reqs, 1, SOON_MS));
		if (round == 0) {
			buf[70 << 10] = '\n';
			script_stream(&fx->sc, buf, (70 << 10) + 1);
			buf[70 << 10] = 'x';
		} else {
			script_stream(&fx->sc, buf, big);
		}
		wait_all_done(fx, SOON_MS);
		assert_true(wait_count(fx, &fx->n_status, 2, SOON_MS));
		assert_int_equal(fx->rec[0].status, -EMSGSIZE);
		assert_non_null(strstr(fx->rec[0].msg, "a line longer than 65536 bytes"));
		assert_int_equal(fx->status[1], -EMSGSIZE);
		dse_rpc_async_stats(fx->conn, &st);
		if (round == 1 && st.bytes_in > (64 << 10) + 3 * (16 << 10))
			fail_msg("read %llu bytes of an endless line", (unsigned long long)st.bytes_in);
		dse_rpc_async_close(fx->conn);
		fx->conn = NULL;
	}
	free(buf);
}

/*
 * Closing the connection from inside a call's callback is safe: the other
 * pending calls complete then, once, with -ECANCELED, and the lines
 * already received are not looked at any more.
 * Steps: the scripted server; five calls, the first closes the connection
 * when it completes; the server answers all five in one write.
 * Verify: the first has its result; the four others -ECANCELED in order,
 * once each; on_status heard only the connect; the loop runs on without
 * any more callback; ASan sees no use after free.
 */
static void test_closing_from_a_call_callback_is_safe(void **state)
{
	struct fx *fx = *state;
	char text[1024] = "";

	script_listen(fx);
	connect_unix(fx, NULL);
	assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_CLOSE), 0);
	for (unsigned i = 1; i < 5; i++)
		assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
	assert_true(wait_count(fx, &fx->sc.n_reqs, 5, SOON_MS));
	for (unsigned k = 0; k < 5; k++)
		answer_i(&fx->sc, k, (int)k, text, sizeof(text));
	script_send(&fx->sc, text);
	wait_all_done(fx, SOON_MS);
	assert_null(fx->conn);
	assert_int_equal(fx->rec[0].status, 0);
	for (unsigned i = 1; i < 5; i++) {
		assert_int_equal(fx->rec[i].status, -ECANCELED);
		assert_true(fx->rec[i].seq > fx->rec[i - 1].seq);
	}
	run_for(fx, 30);
	assert_int_equal(completed(fx), 5);
	assert_int_equal(fx->n_status, 1);
}

/*
 * Closing from inside on_note, on_status or a timeout's callback is safe
 * too.
 * Steps: (1) the scripted server sends two notifications and an answer
 * in one write to a connection whose on_note closes it, with one call
 * pending; (2) a connection whose on_status closes it when it is up, with
 * two calls queued before; (3) a call of 50 ms whose callback closes the
 * connection, and another of 3 s.
 * Verify: (1) one notification (nothing after the close is looked at), the
 * call -ECANCELED; (2) both calls
 * -ECANCELED; (3) the first -ETIMEDOUT, the second -ECANCELED; each call
 * once; no callback after.
 */
static void test_closing_from_note_status_and_timeout_callbacks_is_safe(void **state)
{
	struct fx *fx = *state;
	struct dse_rpc_async_opts o = client_opts(fx);
	char text[1024] = "";

	script_listen(fx);
	connect_unix(fx, NULL);
	fx->close_on_note = true;
	assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
	assert_true(wait_count(fx, &fx->sc.n_reqs, 1, SOON_MS));
	note_line(1, text, sizeof(text));
	note_line(2, text, sizeof(text));
	answer_i(&fx->sc, 0, 0, text, sizeof(text));
	script_send(&fx->sc, text);
	wait_all_done(fx, SOON_MS);
	assert_null(fx->conn);
	run_for(fx, 20);
	assert_int_equal(fx->n_notes, 1);
	assert_int_equal(fx->rec[0].status, -ECANCELED);
	fx->close_on_note = false;

	fx->close_on_status = true;
	fx->n_status = 0;
	assert_int_equal(dse_rpc_async_unix(fx->loop, fx->path, &o, &fx->conn), 0);
	assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
	assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
	wait_all_done(fx, SOON_MS);
	assert_int_equal(fx->n_status, 1);
	assert_int_equal(fx->status[0], 0);
	assert_int_equal(fx->rec[1].status, -ECANCELED);
	assert_int_equal(fx->rec[2].status, -ECANCELED);
	fx->close_on_status = false;

	fx->n_status = 0;
	connect_unix(fx, NULL);
	assert_int_equal(call_rec(fx, "hold", NULL, 50, ACT_CLOSE), 0);
	assert_int_equal(call_rec(fx, "hold", NULL, SOON_MS, ACT_NONE), 0);
	wait_all_done(fx, SOON_MS);
	assert_int_equal(fx->rec[3].status, -ETIMEDOUT);
	assert_int_equal(fx->rec[4].status, -ECANCELED);
	run_for(fx, 30);
	for (unsigned i = 0; i < fx->n_recs; i++)
		assert_int_equal(fx->rec[i].done, 1);
	assert_int_equal(fx->n_status, 1);
}

/*
 * What the caller queues is bounded and refused at once, without a
 * callback: bad params, a request longer than a server accepts, more
 * bytes than max_out, more calls than max_pending.
 * Steps: a connection to the scripted server with max_out 2000 and
 * max_pending 8 that is not run meanwhile (nothing is sent); call with
 * params that are not an object; with a 4 MiB + 1 string; then calls of
 * about 300 bytes until one is refused; then close.
 * Verify: -EINVAL; -E2BIG with the queue unchanged; -ENOBUFS once about
 * 2000 bytes are queued, before max_pending; with small calls, the ninth
 * is -EBUSY; refused calls never complete, accepted ones complete once
 * (-ECANCELED at the close).
 */
static void test_what_the_caller_queues_is_bounded(void **state)
{
	struct fx *fx = *state;
	struct dse_rpc_async_opts o = client_opts(fx);
	struct dse_rpc_async_stats st;
	char *pad = malloc(DSE_RPC_MAX_LINE + 2);
	int r = 0;
	unsigned n;

	assert_non_null(pad);
	memset(pad, 'p', DSE_RPC_MAX_LINE + 1);
	pad[DSE_RPC_MAX_LINE + 1] = '\0';
	o.max_out = 2000;
	o.max_pending = 8;
	script_listen(fx);
	assert_int_equal(dse_rpc_async_unix(fx->loop, fx->path, &o, &fx->conn), 0);
	assert_int_equal(call_rec(fx, "echo", json_pack("[i]", 1), SOON_MS, ACT_NONE), -EINVAL);
	assert_int_equal(call_rec(fx, "echo", json_pack("{s:s}", "p", pad), SOON_MS, ACT_NONE),
			 -E2BIG);
	dse_rpc_async_stats(fx->conn, &st);
	assert_int_equal(st.out_queued, 0);
	pad[300] = '\0';
	for (n = 0; n < 8 && (r = call_rec(fx, "echo", json_pack("{s:s}", "p", pad), SOON_MS,
					     ACT_NONE)) == 0;
	     n++)
		;
	assert_int_equal(r, -ENOBUFS);
	assert_true(n >= 5 && n <= 6);
	dse_rpc_async_stats(fx->conn, &st);
	assert_true(st.out_queued <= 2000 && st.out_queued > 2000 - 400);
	dse_rpc_async_close(fx->conn);
	fx->conn = NULL;
	assert_int_equal(completed(fx), n);

	recs_reset(fx);
	assert_int_equal(dse_rpc_async_unix(fx->loop, fx->path, &o, &fx->conn), 0);
	for (n = 0; n < 8; n++)
		assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
	assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), -EBUSY);
	dse_rpc_async_close(fx->conn);
	fx->conn = NULL;
	assert_int_equal(completed(fx), 8);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(fx->rec[i].status, -ECANCELED);
	free(pad);
}

/* ---- connecting ---- */

/*
 * A connect that fails is reported from the loop, never from inside the
 * constructor, and the calls queued meanwhile complete with its error.
 * Steps: connect to a path where no socket is, with a call queued; then
 * to a socket file nobody listens on.
 * Verify: the constructor returns 0 and nothing has run yet; then the
 * call completes with -ENOENT, then on_status with -ENOENT and a message
 * naming the path; the second time -ECONNREFUSED.
 */
static void test_connect_failures_come_from_the_loop(void **state)
{
	struct fx *fx = *state;
	struct dse_rpc_async_opts o = client_opts(fx);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd;

	assert_int_equal(dse_rpc_async_unix(fx->loop, fx->path, &o, &fx->conn), 0);
	assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
	assert_int_equal(fx->n_status, 0);
	assert_int_equal(completed(fx), 0);
	assert_true(wait_count(fx, &fx->n_status, 1, SOON_MS));
	assert_int_equal(fx->status[0], -ENOENT);
	assert_non_null(strstr(fx->status_msg, fx->path));
	assert_int_equal(fx->rec[0].done, 1);
	assert_int_equal(fx->rec[0].status, -ENOENT);
	assert_true(fx->rec[0].seq < fx->status_seq[0]);
	dse_rpc_async_close(fx->conn);
	fx->conn = NULL;

	/* Bound and closed without listening: the file stays, nobody answers. */
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fx->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	fx->n_status = 0;
	assert_int_equal(dse_rpc_async_unix(fx->loop, fx->path, &o, &fx->conn), 0);
	assert_true(wait_count(fx, &fx->n_status, 1, SOON_MS));
	assert_int_equal(fx->status[0], -ECONNREFUSED);
}

/* A TCP port on 127.0.0.1 that is bound; it listens when 'listening'. */
static int tcp_port(bool listening, uint16_t *ret_port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	*ret_port = ntohs(a.sin_port);
	return fd;
}

/*
 * TLS connects fail with a plain errno and a message: a refused port, a
 * peer that never answers the handshake (within the connect timeout),
 * what can be refused at once (a name, bad credentials).
 * Steps: connect to a bound port that does not listen; to one that
 * listens and never speaks, with a 150 ms timeout; with "localhost"; with
 * a certificate file that does not exist.
 * Verify: -ECONNREFUSED through on_status; -ETIMEDOUT at 150..150+SLACK_MS
 * ms, "no TLS handshake within 150 ms"; -EINVAL and -ENOENT from the
 * constructor with messages, no connection.
 */
static void test_tls_connect_failures(void **state)
{
	struct fx *fx = *state;
	struct dse_rpc_async_opts o = client_opts(fx);
	struct dse_tls_conf bad = pki.cli_conf;
	char err[512];
	uint16_t port;
	int fd;

	fd = tcp_port(false, &port);
	assert_int_equal(dse_rpc_async_tls(fx->loop, "127.0.0.1", port, &pki.cli_conf, "h1-d1", &o,
					   &fx->conn, err, sizeof(err)),
			 0);
	assert_true(wait_count(fx, &fx->n_status, 1, SOON_MS));
	assert_int_equal(fx->status[0], -ECONNREFUSED);
	assert_non_null(strstr(fx->status_msg, "127.0.0.1 port"));
	dse_rpc_async_close(fx->conn);
	fx->conn = NULL;
	close(fd);

	fd = tcp_port(true, &port);
	o.connect_timeout_ms = 150;
	fx->n_status = 0;
	fx->t0_ns = dse_loop_now_ns();
	assert_int_equal(dse_rpc_async_tls(fx->loop, "127.0.0.1", port, &pki.cli_conf, "h1-d1", &o,
					   &fx->conn, err, sizeof(err)),
			 0);
	assert_true(wait_count(fx, &fx->n_status, 1, SOON_MS));
	assert_int_equal(fx->status[0], -ETIMEDOUT);
	assert_non_null(strstr(fx->status_msg, "no TLS handshake within 150 ms"));
	if (since_ms(fx) < 150 || since_ms(fx) > 150 + SLACK_MS)
		fail_msg("the 150 ms connect timed out at %.1f ms", since_ms(fx));
	dse_rpc_async_close(fx->conn);
	fx->conn = NULL;
	close(fd);

	assert_int_equal(dse_rpc_async_tls(fx->loop, "localhost", port, &pki.cli_conf, NULL, &o,
					   &fx->conn, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not an IP address"));
	bad.cert_file = "/nonexistent/cert.pem";
	assert_int_equal(dse_rpc_async_tls(fx->loop, "127.0.0.1", port, &bad, NULL, &o, &fx->conn,
					   err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/cert.pem"));
	assert_null(fx->conn);
}

/*
 * Over mutual TLS to the real server on the same loop, many calls are in
 * flight at once and a notification stream shares the connection.
 * Steps: the server with TLS on 127.0.0.1; connect expecting "h1-d1";
 * subscribe; 50 calls of "remote" at once while 5 notifications are
 * queued.
 * Verify: up, the peer's name is h1-d1; every call answered true (the
 * server saw TLS); 5 notifications in order.
 */
static void test_tls_calls_and_notifications_to_the_real_server(void **state)
{
	struct fx *fx = *state;
	struct dse_rpc_limits lim = {.tls_rate = 10000, .tls_burst = 10000};
	struct dse_rpc_async_opts o = client_opts(fx);
	char err[512];

	start_server(fx, &pki.srv_conf, &lim);
	if (dse_rpc_async_tls(fx->loop, "127.0.0.1", fx->tls_port, &pki.cli_conf, "h1-d1", &o,
			      &fx->conn, err, sizeof(err)) < 0)
		fail_msg("tls: %s", err);
	assert_true(wait_count(fx, &fx->n_status, 1, SOON_MS));
	if (fx->status[0] != 0)
		fail_msg("TLS connect: %s", fx->status_msg);
	assert_string_equal(dse_rpc_async_peer_cn(fx->conn), "h1-d1");
	assert_int_equal(call_rec(fx, "events.subscribe", NULL, SOON_MS, ACT_NONE), 0);
	wait_all_done(fx, SOON_MS);
	fx->notify_left = 5;
	fx->notify_timer = dse_loop_timer_add(fx->loop, 0, notify_tick, fx);
	for (unsigned i = 0; i < 50; i++)
		assert_int_equal(call_rec(fx, "remote", NULL, SOON_MS, ACT_NONE), 0);
	wait_all_done(fx, SOON_MS);
	assert_true(wait_count(fx, &fx->n_notes, 5, SOON_MS));
	for (unsigned i = 1; i <= 50; i++) {
		assert_int_equal(fx->rec[i].status, 0);
		assert_true(json_is_true(fx->rec[i].result));
	}
	for (unsigned k = 0; k < 5; k++)
		assert_int_equal(note_record_seq(fx, k), k + 1);
}

/* Connects over TLS with 'conf' expecting 'cn' and runs until the status comes. */
static void tls_verdict(struct fx *fx, const struct dse_tls_conf *conf, const char *cn)
{
	struct dse_rpc_async_opts o = client_opts(fx);
	char err[512];

	fx->n_status = 0;
	recs_reset(fx);
	if (dse_rpc_async_tls(fx->loop, "127.0.0.1", fx->tls_port, conf, cn, &o, &fx->conn, err,
			      sizeof(err)) < 0)
		fail_msg("tls: %s", err);
	assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
	assert_true(wait_count(fx, &fx->n_status, 1, SOON_MS));
	assert_int_equal(fx->rec[0].done, 1);
	assert_int_equal(fx->rec[0].status, fx->status[0]);
}

/*
 * The peer checks of the blocking client hold here too: a server with
 * another name, a server of another CA, and a server that refuses our
 * certificate (the verdict after our side of the handshake).
 * Steps: the server ("h1-d1", host CA): connect expecting "h1-d2"; connect
 * with the foreign CA's host identity trusting both CAs; then a server of
 * the foreign CA: connect with the host's identity.
 * Verify: each is -EACCES through on_status with the queued call failing
 * the same: the message names 'h1-d1' and 'h1-d2'; then says the server
 * refused our certificate; then that the peer's certificate was refused.
 */
static void test_tls_refused_certificates(void **state)
{
	struct fx *fx = *state;
	struct dse_rpc_limits lim = {.tls_rate = 10000, .tls_burst = 10000};

	start_server(fx, &pki.srv_conf, &lim);
	tls_verdict(fx, &pki.cli_conf, "h1-d2");
	assert_int_equal(fx->status[0], -EACCES);
	if (strstr(fx->status_msg, "'h1-d1'") == NULL || strstr(fx->status_msg, "'h1-d2'") == NULL)
		fail_msg("the message names both: %s", fx->status_msg);
	dse_rpc_async_close(fx->conn);
	fx->conn = NULL;

	tls_verdict(fx, &foreign_cli_conf, "h1-d1");
	assert_int_equal(fx->status[0], -EACCES);
	if (strstr(fx->status_msg, "refused our certificate") == NULL)
		fail_msg("the server's refusal: %s", fx->status_msg);
	dse_rpc_async_close(fx->conn);
	fx->conn = NULL;

	dse_rpc_server_loop_detach(fx->sl);
	dse_rpc_server_free(fx->srv);
	fx->sl = NULL;
	fx->srv = NULL;
	start_server(fx, &pki.rogue_srv_conf, &lim);
	tls_verdict(fx, &pki.cli_conf, "h1-d1");
	assert_int_equal(fx->status[0], -EACCES);
	assert_non_null(strstr(fx->status_msg, "certificate"));
}

/* ---- the server on the loop ---- */

/*
 * The server's own deadlines run on the loop with no fd activity: an idle
 * client is closed by the idle limit, and the client hears it.
 * Steps: the server with idle_timeout_ms 150; connect, one call, then
 * nothing; run until the status changes.
 * Verify: the call is answered; the connection fails with -ECONNRESET
 * 150..150+SLACK_MS ms after the answer.
 */
static void test_server_deadlines_run_on_the_loop(void **state)
{
	struct fx *fx = *state;
	struct dse_rpc_limits lim = {.idle_timeout_ms = 150};
	double answered_at;

	start_server(fx, NULL, &lim);
	connect_unix(fx, NULL);
	fx->t0_ns = dse_loop_now_ns();
	assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
	wait_all_done(fx, SOON_MS);
	answered_at = fx->rec[0].at_ms;
	assert_true(wait_count(fx, &fx->n_status, 2, SOON_MS));
	assert_int_equal(fx->status[1], -ECONNRESET);
	if (since_ms(fx) - answered_at < 150 - 1 || since_ms(fx) - answered_at > 150 + SLACK_MS)
		fail_msg("closed %.1f ms after the answer", since_ms(fx) - answered_at);
}

/* The server's connection id of the poll entry on fd 'fd', or 0. */
static uint64_t server_conn_on(struct dse_rpc_server *srv, int fd)
{
	const struct pollfd *fds;
	const uint64_t *ids;
	unsigned n;
	int wait;

	assert_int_equal(dse_rpc_poll_prepare(srv, &fds, &ids, &n, &wait), 0);
	for (unsigned i = 0; i < n; i++)
		if (fds[i].fd == fd)
			return ids[i];
	return 0;
}

/*
 * A client closed and a new one accepted on the same fd number in one
 * turn of the server are told apart: the new one is served.
 * Steps: the server on the loop; client A connects and is answered; note
 * the server's fd of A (the one fd of a client in its set); close A and
 * connect B in the same breath, so that one turn of the server sees A's
 * end and accepts B; B calls echo (1 s).
 * Verify: the server now has B on A's old fd number with another
 * connection id; B's call is answered.
 */
static void test_server_mirror_follows_a_reused_fd_number(void **state)
{
	struct fx *fx = *state;
	const struct pollfd *fds;
	const uint64_t *ids;
	unsigned n;
	int wait, a_fd = -1;
	uint64_t a_id = 0, b_id;

	start_server(fx, NULL, NULL);
	connect_unix(fx, NULL);
	assert_int_equal(call_rec(fx, "echo", NULL, SOON_MS, ACT_NONE), 0);
	wait_all_done(fx, SOON_MS);
	assert_int_equal(dse_rpc_poll_prepare(fx->srv, &fds, &ids, &n, &wait), 0);
	for (unsigned i = 0; i < n; i++) {
		if (ids[i] != 0) {
			assert_int_equal(a_fd, -1);
			a_fd = fds[i].fd;
			a_id = ids[i];
		}
	}
	assert_true(a_fd >= 0);
	dse_rpc_async_close(fx->conn);
	fx->n_status = 0;
	connect_unix(fx, NULL);
	assert_int_equal(call_rec(fx, "echo", json_pack("{s:s}", "who", "B"), 1000, ACT_NONE), 0);
	wait_all_done(fx, SOON_MS);
	assert_int_equal(fx->rec[1].status, 0);
	assert_string_equal(json_string_value(json_object_get(fx->rec[1].result, "who")), "B");
	b_id = server_conn_on(fx->srv, a_fd);
	assert_true(b_id != 0 && b_id != a_id);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_calls_to_the_real_server_on_the_same_loop),
		T(test_many_calls_in_flight_answered_out_of_order),
		T(test_each_call_has_its_own_timeout),
		T(test_disconnection_completes_every_pending_call_once_in_order),
		T(test_notifications_interleave_with_answers),
		T(test_events_stream_shares_the_connection_with_calls),
		T(test_hostile_lines_fail_the_connection_with_a_message),
		T(test_oversized_lines_are_refused_within_the_limit),
		T(test_closing_from_a_call_callback_is_safe),
		T(test_closing_from_note_status_and_timeout_callbacks_is_safe),
		T(test_what_the_caller_queues_is_bounded),
		T(test_connect_failures_come_from_the_loop),
		T(test_tls_connect_failures),
		T(test_tls_calls_and_notifications_to_the_real_server),
		T(test_tls_refused_certificates),
		T(test_server_deadlines_run_on_the_loop),
		T(test_server_mirror_follows_a_reused_fd_number),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
