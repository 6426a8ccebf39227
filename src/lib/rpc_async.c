/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The client of rpc_async.h.  How it keeps its promises:
 *
 * - Exactly once.  A call is in the pending table from the moment it is
 *   accepted; whatever completes it (its answer, its timer, the
 *   connection's end) first takes it out of the table and cancels its
 *   timer, and only then runs its callback.  What finds it gone does
 *   nothing: an answer after the timeout is a late answer.
 * - Safe callbacks.  User callbacks run only from the loop's callbacks
 *   of this connection, or from dse_rpc_async_close().  Each of those
 *   counts itself in 'depth'; a close from inside a callback tears the
 *   transport down at once (no watcher, no timer of it is left in the
 *   loop), completes the pending calls, and leaves freeing to the
 *   outermost of them.  After each user callback the code looks at
 *   'closing' and the state before it touches anything more.
 *   dse_rpc_async_call() itself never does I/O, so it never runs a
 *   callback: the loop sends what it queued.
 * - In order.  The pending table is an array in id order (ids only grow),
 *   searched by bisection; completed entries become holes, dropped from
 *   the front at once and compacted when the array is full, so it is
 *   bounded by twice the calls in flight.
 * - Bounded.  The input holds at most one line under the limit and one
 *   read more; the output at most max_out bytes; the table max_pending
 *   calls; a turn reads at most READ_TURN bytes, so a flood from one
 *   server can not hold the loop.
 */
#include "rpc_async.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "jsonrpc.h"
#include "rpc_client.h"

/* Free room made in the input buffer before a read. */
#define READ_CHUNK (16u << 10)
/* Most bytes read from the server in one turn of the loop. */
#define READ_TURN (256u << 10)
/* How soon a Unix connect is tried again while the server's backlog is full. */
#define UNIX_RETRY_MS 2
/* The longest method name a timeout message quotes. */
#define METHOD_QUOTE 64

enum conn_state {
	ST_CONNECTING, /* the socket's connect is under way */
	ST_HANDSHAKE,  /* TLS: our handshake */
	ST_CONFIRM,    /* TLS: waiting for the server's verdict on our certificate */
	ST_UP,
	ST_FAILED, /* the transport is gone after an error; only closing is left */
};

/* One call in flight. */
struct call {
	struct dse_rpc_async *conn; /* for its timer's callback */
	uint64_t id;
	dse_rpc_async_call_fn *cb;
	void *arg;
	uint64_t timer; /* its timeout in the loop; 0: none */
	int timeout_ms;
	uint64_t start_ns;
	char method[METHOD_QUOTE]; /* for the message of its timeout */
};

/* An entry of the pending table; 'call' NULL once completed (a hole). */
struct pending {
	uint64_t id;
	struct call *call;
};

struct dse_rpc_async {
	struct dse_loop *loop;
	struct dse_rpc_async_opts opts; /* defaults filled in */
	enum conn_state state;
	int fd;
	bool watched;                   /* 'fd' is a watcher of the loop */
	struct sockaddr_un unix_addr;   /* a Unix connect is retried with it */
	bool is_unix;
	SSL_CTX *ctx;                   /* TLS only */
	SSL *ssl;                       /* TLS only */
	short tls_rd;                   /* what a TLS read waits for (0: POLLIN) */
	short tls_wr;                   /* what a TLS write waits for (0: POLLOUT) */
	char peer[128];                 /* the server, for messages */
	char peer_cn[256];              /* the common name of its certificate (TLS) */
	uint64_t connect_timer;         /* the connect's deadline; 0: none */
	uint64_t soon_timer;            /* on_soon() is due; 0: not scheduled */
	int deferred;                   /* a connect failure to report from the loop */
	struct dse_buf in;              /* received, not handled yet */
	size_t scanned;                 /* of 'in': searched, and no '\n' in it */
	struct dse_buf out;             /* requests still to be sent */
	/* The pending table: entries [pend_head, pend_len) in id order. */
	struct pending *pend;
	size_t pend_head, pend_len, pend_cap;
	uint64_t next_id;
	struct dse_rpc_async_stats st; /* 'pending' and 'out_queued' are filled in when read */
	int error;                     /* the connection's error once it failed or closes */
	char last_error[320];
	unsigned depth; /* our callbacks on the stack */
	bool closing;   /* dse_rpc_async_close() was called: freed when 'depth' drops to 0 */
};

/* ---- the pending table ---- */

/* Drops the holes at the front; an empty table starts over at 0. */
static void pending_trim(struct dse_rpc_async *c)
{
	while (c->pend_head < c->pend_len && c->pend[c->pend_head].call == NULL)
		c->pend_head++;
	if (c->pend_head == c->pend_len)
		c->pend_head = c->pend_len = 0;
}

/* Makes room for one more entry: first by dropping holes, then by growing. */
static int pending_reserve(struct dse_rpc_async *c)
{
	size_t n = 0, cap;
	struct pending *p;

	if (c->pend_len < c->pend_cap)
		return 0;
	for (size_t i = c->pend_head; i < c->pend_len; i++)
		if (c->pend[i].call != NULL)
			c->pend[n++] = c->pend[i];
	c->pend_head = 0;
	c->pend_len = n;
	/* Grow when the table is more than half full, so compacting stays rare. */
	if (n < c->pend_cap / 2)
		return 0;
	cap = c->pend_cap ? c->pend_cap * 2 : 16;
	p = realloc(c->pend, cap * sizeof(*p));
	if (p == NULL)
		return c->pend_len < c->pend_cap ? 0 : -ENOMEM;
	c->pend = p;
	c->pend_cap = cap;
	return 0;
}

/* Takes call 'id' out of the table.  Returns it, or NULL when it is not pending. */
static struct call *pending_take(struct dse_rpc_async *c, uint64_t id)
{
	size_t lo = c->pend_head, hi = c->pend_len;
	struct call *call;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->pend[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == c->pend_len || c->pend[lo].id != id || c->pend[lo].call == NULL)
		return NULL;
	call = c->pend[lo].call;
	c->pend[lo].call = NULL;
	c->st.pending--;
	pending_trim(c);
	return call;
}

/* Takes the oldest pending call out of the table, or returns NULL. */
static struct call *pending_take_first(struct dse_rpc_async *c)
{
	pending_trim(c);
	if (c->pend_head == c->pend_len)
		return NULL;
	return pending_take(c, c->pend[c->pend_head].id);
}

/* ---- completing calls ---- */

/* Hands 'reply' to the callback of 'call' (already out of the table) and frees it. */
static void call_complete(struct dse_rpc_async *c, struct call *call,
			  struct dse_rpc_async_reply *reply)
{
	dse_rpc_async_call_fn *cb = call->cb;
	void *arg = call->arg;

	dse_loop_timer_cancel(c->loop, call->timer);
	reply->id = call->id;
	reply->rtt_us = (dse_loop_now_ns() - call->start_ns) / 1000;
	if (reply->status == 0 || reply->status == -EREMOTEIO)
		c->st.last_rtt_us = reply->rtt_us;
	free(call);
	cb(c, reply, arg);
}

/* Completes every pending call, oldest first, with the connection's error. */
static void calls_fail_all(struct dse_rpc_async *c)
{
	struct call *call;

	while ((call = pending_take_first(c)) != NULL) {
		struct dse_rpc_async_reply reply = {.status = c->error, .message = c->last_error};

		c->st.calls_failed++;
		call_complete(c, call, &reply);
	}
}

/* A call's timeout passed. */
static void on_call_timeout(struct dse_loop *loop, void *arg);

/* ---- the transport ---- */

static void conn_free(struct dse_rpc_async *c)
{
	dse_buf_release(&c->in);
	dse_buf_release(&c->out);
	free(c->pend);
	free(c);
}

/* Counts a callback of ours on the stack. */
static void conn_enter(struct dse_rpc_async *c)
{
	c->depth++;
}

/* The end of conn_enter(): frees a closed connection once nothing of it is on the stack. */
static void conn_leave(struct dse_rpc_async *c)
{
	if (--c->depth == 0 && c->closing)
		conn_free(c);
}

/* Whether the connection still does anything (not failed, not closing). */
static bool conn_live(const struct dse_rpc_async *c)
{
	return !c->closing && c->state != ST_FAILED;
}

/*
 * Takes the transport down: out of the loop, timers cancelled, the socket
 * closed ('clean': after a close_notify, for a connection that is fine).
 */
static void transport_close(struct dse_rpc_async *c, bool clean)
{
	if (c->watched)
		dse_loop_fd_remove(c->loop, c->fd);
	c->watched = false;
	dse_loop_timer_cancel(c->loop, c->connect_timer);
	dse_loop_timer_cancel(c->loop, c->soon_timer);
	c->connect_timer = c->soon_timer = 0;
	if (c->ssl) {
		if (clean && c->state == ST_UP)
			dse_tls_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	SSL_CTX_free(c->ctx);
	c->ctx = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void conn_fail(struct dse_rpc_async *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Fails the connection with 'err' and a message: the transport goes, the
 * pending calls complete with the error, then on_status hears it (unless
 * a callback closed the connection meanwhile).  Call with the connection
 * entered (conn_enter()).
 */
static void conn_fail(struct dse_rpc_async *c, int err, const char *fmt, ...)
{
	va_list ap;

	if (!conn_live(c))
		return;
	c->error = err;
	va_start(ap, fmt);
	vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
	va_end(ap);
	transport_close(c, false);
	c->state = ST_FAILED;
	calls_fail_all(c);
	if (!c->closing && c->opts.on_status)
		c->opts.on_status(c, err, c->last_error, c->opts.arg);
}

static void on_soon(struct dse_loop *loop, void *arg);

/* Runs on_soon() after 'delay_ms', unless it is scheduled already. */
static void kick(struct dse_rpc_async *c, uint64_t delay_ms)
{
	if (c->soon_timer == 0)
		c->soon_timer = dse_loop_timer_add(c->loop, delay_ms, on_soon, c);
	if (c->soon_timer == 0)
		conn_fail(c, -ENOMEM, "out of memory for a timer");
}

static size_t out_pending(const struct dse_rpc_async *c)
{
	return dse_buf_used(&c->out);
}

/* Watches the socket for what the connection waits for now. */
static void watch_update(struct dse_rpc_async *c)
{
	unsigned ev;

	if (c->state == ST_CONNECTING) {
		ev = DSE_LOOP_WRITE;
	} else if (c->state == ST_UP) {
		/* Always reading: answers and notifications may come at any time. */
		ev = c->tls_rd == POLLOUT ? DSE_LOOP_WRITE : DSE_LOOP_READ;
		if (out_pending(c))
			ev |= c->tls_wr == POLLIN ? DSE_LOOP_READ : DSE_LOOP_WRITE;
	} else {
		ev = c->tls_rd == POLLOUT ? DSE_LOOP_WRITE : DSE_LOOP_READ;
	}
	if (c->watched)
		dse_loop_fd_modify(c->loop, c->fd, ev);
}

/* Reads into 'buf': the count, -EAGAIN, -ECONNRESET (closed) or another negative errno. */
static ssize_t conn_read(struct dse_rpc_async *c, void *buf, size_t len, char *msg, size_t mlen)
{
	ssize_t n;

	if (c->ssl) {
		c->tls_rd = 0;
		return dse_tls_read(c->ssl, buf, len, &c->tls_rd, msg, mlen);
	}
	n = recv(c->fd, buf, len, 0);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? -EAGAIN : -errno;
	return n;
}

/* Writes from 'buf': the count, -EAGAIN or a negative errno (-ECONNRESET: closed).  No SIGPIPE. */
static ssize_t conn_write(struct dse_rpc_async *c, const void *buf, size_t len, char *msg,
			  size_t mlen)
{
	ssize_t n;

	if (c->ssl) {
		c->tls_wr = 0;
		return dse_tls_write(c->ssl, buf, len, &c->tls_wr, msg, mlen);
	}
	n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n < 0)
		n = (errno == EAGAIN || errno == EINTR) ? -EAGAIN : -errno;
	return n == -EPIPE ? -ECONNRESET : n;
}

/* Fails the connection for the I/O error 'r' ('msg': what TLS said, may be empty). */
static void io_fail(struct dse_rpc_async *c, int r, const char *msg)
{
	if (r == -ECONNRESET)
		conn_fail(c, r, "the server at %s closed the connection", c->peer);
	else if (msg[0])
		conn_fail(c, r, "the connection to %s failed: %s", c->peer, msg);
	else
		conn_fail(c, r, "the connection to %s failed: %s", c->peer, strerror(-r));
}

/* Sends what the output holds, as far as the socket takes it.  Returns 0 or -1 (failed). */
static int out_flush(struct dse_rpc_async *c)
{
	char msg[200] = "";

	while (out_pending(c) > 0) {
		ssize_t n = conn_write(c, c->out.data + c->out.off, out_pending(c), msg, sizeof(msg));

		if (n == -EAGAIN)
			return 0;
		if (n < 0) {
			io_fail(c, (int)n, msg);
			return -1;
		}
		c->out.off += (size_t)n;
		c->st.bytes_out += (uint64_t)n;
	}
	c->out.off = c->out.len = 0;
	return 0;
}

/* ---- what the server sends ---- */

/* Hands a notification to on_note. */
static void take_note(struct dse_rpc_async *c, json_t *msg, json_t *method)
{
	json_t *params = json_object_get(msg, "params");

	if (!json_is_string(method)) {
		conn_fail(c, -EPROTO, "%s sent a notification whose method is not a string",
			  c->peer);
		return;
	}
	c->st.notifications++;
	if (c->opts.on_note)
		c->opts.on_note(c, json_string_value(method), params, c->opts.arg);
}

/* The message of a JSON-RPC error object, "" without one. */
static const char *error_message(const json_t *error)
{
	const char *m = json_string_value(json_object_get(error, "message"));

	return m ? m : "";
}

/* Completes the call that answer 'msg' (with id 'id') is for. */
static void take_answer(struct dse_rpc_async *c, json_t *msg, json_t *id)
{
	json_t *result = json_object_get(msg, "result"), *error = json_object_get(msg, "error");
	struct dse_rpc_async_reply reply = {.message = ""};
	json_int_t v = json_is_integer(id) ? json_integer_value(id) : 0;
	struct call *call;

	if (!result == !error || (error && !json_is_object(error))) {
		conn_fail(c, -EPROTO, "%s sent something that is not a JSON-RPC answer", c->peer);
		return;
	}
	if (json_is_null(id) && error) {
		/* Which request it could not read is unknown with several in flight. */
		conn_fail(c, -EPROTO, "%s could not read a request: %s", c->peer,
			  error_message(error));
		return;
	}
	if (v < 1 || (uint64_t)v >= c->next_id) {
		conn_fail(c, -EPROTO, "%s answered an id this connection never sent", c->peer);
		return;
	}
	call = pending_take(c, (uint64_t)v);
	if (call == NULL) {
		/* Its call timed out: the answer comes too late for anyone. */
		c->st.late_answers++;
		return;
	}
	c->st.calls_answered++;
	if (error) {
		reply.status = -EREMOTEIO;
		reply.error = error;
		reply.message = error_message(error);
	} else {
		reply.result = result;
	}
	call_complete(c, call, &reply);
}

/* Handles one line from the server ('len' bytes, no newline). */
static void take_line(struct dse_rpc_async *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *id, *method;
	const char *ver;

	if (msg == NULL || !json_is_object(msg)) {
		conn_fail(c, -EPROTO, "%s sent a line that is not a JSON object%s%s", c->peer,
			  msg ? "" : ": ", msg ? "" : jerr.text);
		json_decref(msg);
		return;
	}
	ver = json_string_value(json_object_get(msg, "jsonrpc"));
	id = json_object_get(msg, "id");
	method = json_object_get(msg, "method");
	if (ver == NULL || strcmp(ver, "2.0") != 0)
		conn_fail(c, -EPROTO, "%s sent a line that is not JSON-RPC 2.0", c->peer);
	else if (method && id)
		conn_fail(c, -EPROTO, "%s sent a request; this client serves none", c->peer);
	else if (method)
		take_note(c, msg, method);
	else if (id)
		take_answer(c, msg, id);
	else
		conn_fail(c, -EPROTO, "%s sent an answer without an id", c->peer);
	json_decref(msg);
}

/* Fails the connection for a line over the limit.  Returns -1. */
static int line_too_long(struct dse_rpc_async *c)
{
	conn_fail(c, -EMSGSIZE, "%s sent a line longer than %zu bytes", c->peer, c->opts.max_line);
	return -1;
}

/*
 * Handles the whole lines in the input.  Returns 0, or -1 when the
 * connection failed or closed meanwhile (stop touching it).
 */
static int lines_run(struct dse_rpc_async *c)
{
	for (;;) {
		const char *line = c->in.data + c->in.off;
		size_t used = dse_buf_used(&c->in), len;
		const char *nl = memchr(line + c->scanned, '\n', used - c->scanned);

		if (nl == NULL) {
			c->scanned = used;
			break;
		}
		len = (size_t)(nl - line);
		c->in.off += len + 1;
		c->scanned = 0;
		if (len > c->opts.max_line)
			return line_too_long(c);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > 0)
			take_line(c, line, len);
		if (!conn_live(c))
			return -1;
	}
	/* Half a line already over the limit can only get longer. */
	if (dse_buf_used(&c->in) > c->opts.max_line)
		return line_too_long(c);
	return 0;
}

/* Reads and handles what the server sent, at most READ_TURN bytes.  Returns 0 or -1 (gone). */
static int in_read(struct dse_rpc_async *c)
{
	size_t got = 0;
	char msg[200] = "";

	while (got < READ_TURN) {
		ssize_t n;

		/*
		 * Room for the longest line, its newline and one read more:
		 * lines_run() fails anything longer, so this never runs out.
		 */
		if (dse_buf_reserve(&c->in, READ_CHUNK, c->opts.max_line + 2 * READ_CHUNK) < 0) {
			conn_fail(c, -ENOMEM, "out of memory for what %s sent", c->peer);
			return -1;
		}
		n = conn_read(c, c->in.data + c->in.len, c->in.cap - c->in.len, msg, sizeof(msg));
		if (n == -EAGAIN)
			return 0;
		if (n < 0) {
			io_fail(c, (int)n, msg);
			return -1;
		}
		c->in.len += (size_t)n;
		c->st.bytes_in += (uint64_t)n;
		got += (size_t)n;
		if (lines_run(c) < 0)
			return -1;
	}
	/* Bytes TLS has decrypted already do not wake the loop: come back for them. */
	if (c->ssl && SSL_pending(c->ssl) > 0)
		kick(c, 0);
	return conn_live(c) ? 0 : -1;
}

/* Sends and receives what can go now, on a connection that is up. */
static void conn_io(struct dse_rpc_async *c)
{
	if (out_pending(c) && out_flush(c) < 0)
		return;
	if (in_read(c) < 0)
		return;
	/* The callbacks of the answers may have queued more. */
	if (out_pending(c) && out_flush(c) < 0)
		return;
	watch_update(c);
}

/* ---- connecting ---- */

/* The connection is up: says so, then sends what was queued meanwhile. */
static void conn_up(struct dse_rpc_async *c)
{
	dse_loop_timer_cancel(c->loop, c->connect_timer);
	c->connect_timer = 0;
	c->state = ST_UP;
	if (c->opts.on_status)
		c->opts.on_status(c, 0, "", c->opts.arg);
	if (conn_live(c))
		conn_io(c);
}

/* Steps the TLS handshake and then waits for the server's verdict on our certificate. */
static void tls_step(struct dse_rpc_async *c)
{
	char msg[256] = "";
	int r;

	for (;;) {
		short ev = POLLIN;

		if (c->state == ST_HANDSHAKE) {
			r = dse_tls_handshake(c->ssl, &ev, msg, sizeof(msg));
			if (r == 0) {
				c->state = ST_CONFIRM;
				continue;
			}
		} else {
			r = dse_tls_client_confirm(c->ssl, &ev, msg, sizeof(msg));
			if (r == 0)
				break;
		}
		if (r != -EAGAIN) {
			conn_fail(c, r, "TLS with %s failed: %s", c->peer, msg);
			return;
		}
		c->tls_rd = ev;
		watch_update(c);
		return;
	}
	c->tls_rd = 0;
	if (dse_tls_peer_cn(c->ssl, c->peer_cn, sizeof(c->peer_cn)) < 0) {
		/* Unreachable with a verified certificate of our CA, but never trust blindly. */
		conn_fail(c, -EACCES, "the server at %s has a certificate without a name", c->peer);
		return;
	}
	conn_up(c);
}

/* The socket's connect finished (it is writable): the TLS handshake or up. */
static void connect_done(struct dse_rpc_async *c)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr) {
		conn_fail(c, -soerr, "cannot connect to %s: %s", c->peer, strerror(soerr));
		return;
	}
	if (c->ssl == NULL) {
		conn_up(c);
		return;
	}
	c->state = ST_HANDSHAKE;
	tls_step(c);
}

static void on_fd(struct dse_loop *loop, int fd, unsigned events, void *arg)
{
	struct dse_rpc_async *c = arg;

	(void)loop;
	(void)fd;
	(void)events;
	conn_enter(c);
	if (c->state == ST_CONNECTING)
		connect_done(c);
	else if (c->state == ST_HANDSHAKE || c->state == ST_CONFIRM)
		tls_step(c);
	else if (c->state == ST_UP)
		conn_io(c);
	conn_leave(c);
}

/* Adds the socket to the loop, waiting for its connect.  Returns 0 or a negative errno. */
static int watch_start(struct dse_rpc_async *c)
{
	int r = dse_loop_fd_add(c->loop, c->fd, DSE_LOOP_WRITE, on_fd, c);

	c->watched = r == 0;
	return r;
}

/*
 * Tries the Unix connect.  A non-blocking connect to a Unix socket either
 * completes or fails at once; it fails with EAGAIN while the server's
 * backlog is full, and is then tried again soon, until the deadline.
 */
static void unix_try(struct dse_rpc_async *c)
{
	int r = 0;

	if (connect(c->fd, (struct sockaddr *)&c->unix_addr, sizeof(c->unix_addr)) < 0)
		r = -errno;
	if (r == -EAGAIN || r == -EINTR) {
		kick(c, UNIX_RETRY_MS);
		return;
	}
	if (r < 0) {
		conn_fail(c, r, "cannot connect to %s: %s", c->peer, strerror(-r));
		return;
	}
	/* Connected: the watcher (writable at once) says so from the loop. */
	r = watch_start(c);
	if (r < 0)
		conn_fail(c, r, "cannot watch the socket to %s: %s", c->peer, strerror(-r));
}

/*
 * Work that waits for the next turn (or a short delay): a connect failure
 * known at once, a Unix connect to try again, decrypted bytes to read.
 */
static void on_soon(struct dse_loop *loop, void *arg)
{
	struct dse_rpc_async *c = arg;

	(void)loop;
	c->soon_timer = 0;
	conn_enter(c);
	if (c->deferred)
		conn_fail(c, c->deferred, "cannot connect to %s: %s", c->peer,
			  strerror(-c->deferred));
	else if (c->state == ST_CONNECTING && c->is_unix)
		unix_try(c);
	else if (c->state == ST_UP)
		conn_io(c);
	conn_leave(c);
}

static void on_connect_timeout(struct dse_loop *loop, void *arg)
{
	struct dse_rpc_async *c = arg;

	(void)loop;
	c->connect_timer = 0;
	conn_enter(c);
	if (c->state == ST_CONNECTING)
		conn_fail(c, -ETIMEDOUT, "no connection to %s within %d ms", c->peer,
			  c->opts.connect_timeout_ms);
	else
		conn_fail(c, -ETIMEDOUT, "TLS with %s failed: no TLS handshake within %d ms",
			  c->peer, c->opts.connect_timeout_ms);
	conn_leave(c);
}

/* A new connection object on 'loop' with 'opts', defaults filled in; NULL on ENOMEM. */
static struct dse_rpc_async *conn_new(struct dse_loop *loop, const struct dse_rpc_async_opts *opts)
{
	struct dse_rpc_async *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->loop = loop;
	c->fd = -1;
	c->next_id = 1;
	c->state = ST_CONNECTING;
	if (opts)
		c->opts = *opts;
	if (c->opts.connect_timeout_ms == 0)
		c->opts.connect_timeout_ms = DSE_RPC_ASYNC_CONNECT_TIMEOUT_MS;
	if (c->opts.max_line == 0)
		c->opts.max_line = DSE_RPC_CLIENT_MAX_LINE;
	/* The input's bound adds to it: keep the sum from wrapping. */
	if (c->opts.max_line > SIZE_MAX / 4)
		c->opts.max_line = SIZE_MAX / 4;
	if (c->opts.max_out == 0)
		c->opts.max_out = DSE_RPC_ASYNC_MAX_OUT;
	if (c->opts.max_pending == 0)
		c->opts.max_pending = DSE_RPC_ASYNC_MAX_PENDING;
	return c;
}

/*
 * Arms the connect's deadline and makes sure the loop hears of the
 * connect: a watcher when it is under way, a soon timer when it is known
 * to have failed (reported from the loop, never from the constructor).
 * Returns 0 or a negative errno.
 */
static int connect_arm(struct dse_rpc_async *c, int r)
{
	if (c->opts.connect_timeout_ms > 0) {
		c->connect_timer = dse_loop_timer_add(c->loop, (uint64_t)c->opts.connect_timeout_ms,
						      on_connect_timeout, c);
		if (c->connect_timer == 0)
			return -ENOMEM;
	}
	if (r == 0 || r == -EINPROGRESS)
		return watch_start(c);
	if (r == -EAGAIN && c->is_unix) {
		c->soon_timer = dse_loop_timer_add(c->loop, UNIX_RETRY_MS, on_soon, c);
	} else {
		c->deferred = r;
		c->soon_timer = dse_loop_timer_add(c->loop, 0, on_soon, c);
	}
	return c->soon_timer ? 0 : -ENOMEM;
}

/* Frees a connection that never reached the loop's callbacks. */
static void conn_abort(struct dse_rpc_async *c)
{
	transport_close(c, false);
	conn_free(c);
}

int dse_rpc_async_unix(struct dse_loop *loop, const char *path,
		       const struct dse_rpc_async_opts *opts, struct dse_rpc_async **ret)
{
	struct dse_rpc_async *c;
	int r = 0;

	if (loop == NULL || path == NULL || ret == NULL)
		return -EINVAL;
	if (strlen(path) >= sizeof(c->unix_addr.sun_path))
		return -ENAMETOOLONG;
	c = conn_new(loop, opts);
	if (c == NULL)
		return -ENOMEM;
	c->is_unix = true;
	c->unix_addr.sun_family = AF_UNIX;
	memcpy(c->unix_addr.sun_path, path, strlen(path) + 1);
	snprintf(c->peer, sizeof(c->peer), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0) {
		r = -errno;
		conn_abort(c);
		return r;
	}
	if (connect(c->fd, (struct sockaddr *)&c->unix_addr, sizeof(c->unix_addr)) < 0)
		r = -errno;
	r = connect_arm(c, r == -EINTR ? -EAGAIN : r);
	if (r < 0) {
		conn_abort(c);
		return r;
	}
	*ret = c;
	return 0;
}

/* Parses the literal address 'addr' and 'port'.  Returns the address length or -EINVAL. */
static int tcp_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		return sizeof(*in4);
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		return sizeof(*in6);
	}
	return -EINVAL;
}

/* Creates the TCP socket of 'c', starts its connect and wraps it in TLS.  Returns 0 or <0. */
static int tls_start(struct dse_rpc_async *c, const struct sockaddr_storage *ss, int len,
		     const char *expect_cn)
{
	int r = 0;

	c->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -errno;
	c->ssl = dse_tls_client_new(c->ctx, c->fd, expect_cn);
	if (c->ssl == NULL)
		return -ENOMEM;
	if (connect(c->fd, (const struct sockaddr *)ss, (socklen_t)len) < 0)
		r = -errno;
	return connect_arm(c, r);
}

int dse_rpc_async_tls(struct dse_loop *loop, const char *addr, uint16_t port,
		      const struct dse_tls_conf *tls, const char *expect_cn,
		      const struct dse_rpc_async_opts *opts, struct dse_rpc_async **ret, char *err,
		      size_t err_len)
{
	struct sockaddr_storage ss;
	struct dse_rpc_async *c;
	int len, r;

	if (err_len > 0)
		err[0] = '\0';
	if (loop == NULL || addr == NULL || tls == NULL || ret == NULL || port == 0) {
		snprintf(err, err_len, "bad arguments");
		return -EINVAL;
	}
	len = tcp_addr(addr, port, &ss);
	if (len < 0) {
		snprintf(err, err_len, "'%s' is not an IP address (names are not resolved here)",
			addr);
		return -EINVAL;
	}
	c = conn_new(loop, opts);
	if (c == NULL) {
		snprintf(err, err_len, "out of memory");
		return -ENOMEM;
	}
	snprintf(c->peer, sizeof(c->peer), "%s port %u", addr, port);
	r = dse_tls_client_ctx_new(tls, &c->ctx, err, err_len);
	if (r == 0) {
		r = tls_start(c, &ss, len, expect_cn);
		if (r < 0)
			snprintf(err, err_len, "cannot connect to %s: %s", c->peer, strerror(-r));
	}
	if (r < 0) {
		conn_abort(c);
		return r;
	}
	*ret = c;
	return 0;
}

/* ---- calls ---- */

/*
 * Appends request 'req' and its newline to the output, written straight
 * into it.  Returns 0, or -E2BIG / -ENOBUFS / -ENOMEM with the output as
 * it was (never half a line).
 */
static int out_request(struct dse_rpc_async *c, const json_t *req)
{
	size_t before = out_pending(c);
	/* The newline is not part of the line's length (DSE_RPC_MAX_LINE). */
	long n = dse_buf_append_json(&c->out, req, DSE_RPC_MAX_LINE, c->opts.max_out);
	int r = n < 0 ? (int)n : dse_buf_append(&c->out, "\n", 1, c->opts.max_out);

	/* A compaction may have moved the queue: what was queued before is at 'off'. */
	if (r < 0)
		c->out.len = c->out.off + before;
	return r;
}

/* A new call record for 'method', its timer armed; NULL on ENOMEM. */
static struct call *call_new(struct dse_rpc_async *c, const char *method, int timeout_ms,
			     dse_rpc_async_call_fn *cb, void *arg)
{
	struct call *call = calloc(1, sizeof(*call));

	if (call == NULL)
		return NULL;
	*call = (struct call){.conn = c, .id = c->next_id, .cb = cb, .arg = arg,
			      .timeout_ms = timeout_ms, .start_ns = dse_loop_now_ns()};
	snprintf(call->method, sizeof(call->method), "%s", method);
	if (timeout_ms >= 0) {
		call->timer =
		    dse_loop_timer_add(c->loop, (uint64_t)timeout_ms, on_call_timeout, call);
		if (call->timer == 0) {
			free(call);
			return NULL;
		}
	}
	return call;
}

int dse_rpc_async_call(struct dse_rpc_async *c, const char *method, json_t *params,
		       int timeout_ms, dse_rpc_async_call_fn *cb, void *arg, uint64_t *ret_id)
{
	struct call *call;
	json_t *req;
	int r;

	if (c == NULL || method == NULL || cb == NULL || (params && !json_is_object(params)))
		return -EINVAL;
	if (!conn_live(c))
		return -ENOTCONN;
	if (c->st.pending >= c->opts.max_pending)
		return -EBUSY;
	req = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", (json_int_t)c->next_id,
			"method", method);
	if (req == NULL || (params && json_object_set(req, "params", params) < 0)) {
		json_decref(req);
		return -ENOMEM;
	}
	r = pending_reserve(c);
	call = r == 0 ? call_new(c, method, timeout_ms, cb, arg) : NULL;
	r = call ? out_request(c, req) : -ENOMEM;
	json_decref(req);
	if (r < 0) {
		if (call)
			dse_loop_timer_cancel(c->loop, call->timer);
		free(call);
		return r;
	}
	c->pend[c->pend_len++] = (struct pending){.id = call->id, .call = call};
	c->st.pending++;
	c->st.calls_sent++;
	c->next_id++;
	if (c->state == ST_UP)
		watch_update(c);
	if (ret_id)
		*ret_id = call->id;
	return 0;
}

static void on_call_timeout(struct dse_loop *loop, void *arg)
{
	struct call *call = arg;
	struct dse_rpc_async *c = call->conn;
	struct dse_rpc_async_reply reply = {.status = -ETIMEDOUT};
	char msg[METHOD_QUOTE + 64];

	(void)loop;
	/* The timer is gone: call_complete() must not cancel it (its id may be reused). */
	call->timer = 0;
	if (pending_take(c, call->id) != call)
		return; /* unreachable: a completed call's timer is cancelled */
	conn_enter(c);
	snprintf(msg, sizeof(msg), "no answer to %s within %d ms", call->method, call->timeout_ms);
	reply.message = msg;
	c->st.calls_timed_out++;
	call_complete(c, call, &reply);
	conn_leave(c);
}

/* ---- the rest of the API ---- */

void dse_rpc_async_close(struct dse_rpc_async *c)
{
	if (c == NULL || c->closing)
		return;
	conn_enter(c);
	c->closing = true;
	if (c->state != ST_FAILED) {
		c->error = -ECANCELED;
		snprintf(c->last_error, sizeof(c->last_error), "the connection to %s was closed",
			 c->peer);
	}
	transport_close(c, true);
	calls_fail_all(c);
	conn_leave(c);
}

bool dse_rpc_async_connected(const struct dse_rpc_async *c)
{
	return c->state == ST_UP && !c->closing;
}

const char *dse_rpc_async_last_error(const struct dse_rpc_async *c)
{
	return c->last_error;
}

const char *dse_rpc_async_peer_cn(const struct dse_rpc_async *c)
{
	return c->peer_cn[0] && dse_rpc_async_connected(c) ? c->peer_cn : NULL;
}

void dse_rpc_async_stats(const struct dse_rpc_async *c, struct dse_rpc_async_stats *ret)
{
	*ret = c->st;
	ret->out_queued = out_pending(c);
}
