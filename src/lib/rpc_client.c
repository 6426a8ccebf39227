/* SPDX-License-Identifier: BSD-3-Clause */
#include "rpc_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "jsonrpc.h"

struct dse_rpc_client {
	int fd;
	SSL_CTX *ctx;    /* TLS only */
	SSL *ssl;        /* TLS only */
	bool broken;     /* a failure left the stream in an unknown state */
	json_int_t next_id;
	char *in;        /* bytes received, not yet a whole line */
	size_t in_len;
	size_t in_cap;
	char peer_cn[256];
	char last_error[256];
};

/* Milliseconds of the monotonic clock (not dse_clock_ns(): tests freeze that one). */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deadline for 'timeout_ms' from now; -1 means none. */
static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Milliseconds left until 'deadline' for poll(): -1 without one, 0 when passed. */
static int left_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

/* Waits for 'events' on 'fd' until 'deadline'.  Returns 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int r = poll(&p, 1, left_ms(deadline));

		if (r > 0)
			return 0;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static struct dse_rpc_client *client_alloc(int fd)
{
	struct dse_rpc_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->next_id = 1;
	return c;
}

void dse_rpc_client_free(struct dse_rpc_client *c)
{
	if (c == NULL)
		return;
	if (c->ssl) {
		/* Best effort close_notify; the socket is non-blocking, so this never waits. */
		if (!c->broken)
			dse_tls_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	free(c->in);
	free(c);
}

const char *dse_rpc_client_last_error(const struct dse_rpc_client *c)
{
	return c->last_error;
}

const char *dse_rpc_client_peer_cn(const struct dse_rpc_client *c)
{
	return c->ssl ? c->peer_cn : NULL;
}

int dse_rpc_client_unix(const char *path, int timeout_ms, struct dse_rpc_client **ret)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int64_t deadline = deadline_of(timeout_ms);
	struct dse_rpc_client *c;
	int fd, r;

	if (path == NULL || ret == NULL)
		return -EINVAL;
	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/*
	 * A non-blocking connect to a Unix socket fails with EAGAIN while the
	 * server's backlog is full (it does not go "in progress"): retry
	 * until the deadline.
	 */
	while (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = -errno;
		if (r == -EINTR)
			continue;
		if (r != -EAGAIN || left_ms(deadline) == 0) {
			close(fd);
			return r == -EAGAIN ? -ETIMEDOUT : r;
		}
		usleep(1000);
	}
	c = client_alloc(fd);
	if (c == NULL) {
		close(fd);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

static void set_err(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

/* Non-blocking TCP connect to one address, finished before 'deadline'. */
static int tcp_connect(const struct addrinfo *ai, int64_t deadline)
{
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int r, soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	r = wait_fd(fd, POLLOUT, deadline);
	if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		r = -errno;
	if (r == 0 && soerr)
		r = -soerr;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int dse_rpc_client_tls(const char *host, uint16_t port, const struct dse_tls_conf *tls,
		       const char *expect_cn, int timeout_ms, struct dse_rpc_client **ret,
		       char *err, size_t err_len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	int64_t deadline = deadline_of(timeout_ms);
	struct addrinfo *res = NULL, *ai;
	struct dse_rpc_client *c = NULL;
	SSL_CTX *ctx = NULL;
	char portstr[8], msg[256];
	int fd = -1, r;

	set_err(err, err_len, "%s", "");
	if (host == NULL || tls == NULL || ret == NULL || port == 0) {
		set_err(err, err_len, "bad arguments");
		return -EINVAL;
	}
	r = dse_tls_client_ctx_new(tls, &ctx, err, err_len);
	if (r < 0)
		return r;
	snprintf(portstr, sizeof(portstr), "%u", port);
	r = getaddrinfo(host, portstr, &hints, &res);
	if (r != 0) {
		set_err(err, err_len, "cannot resolve '%s': %s", host, gai_strerror(r));
		SSL_CTX_free(ctx);
		return r == EAI_MEMORY ? -ENOMEM : -EHOSTUNREACH;
	}
	r = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = tcp_connect(ai, deadline);
		if (fd >= 0)
			break;
		r = fd;
		if (r == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		set_err(err, err_len, "cannot connect to %s port %u: %s", host, port, strerror(-r));
		SSL_CTX_free(ctx);
		return r;
	}
	c = client_alloc(fd);
	if (c == NULL) {
		close(fd);
		SSL_CTX_free(ctx);
		set_err(err, err_len, "out of memory");
		return -ENOMEM;
	}
	c->ctx = ctx;
	c->ssl = dse_tls_client_new(ctx, fd, expect_cn);
	if (c->ssl == NULL) {
		dse_rpc_client_free(c);
		set_err(err, err_len, "out of memory");
		return -ENOMEM;
	}
	for (bool shaken = false;;) {
		short ev;

		/* Our handshake, then the server's verdict on our certificate. */
		if (!shaken) {
			r = dse_tls_handshake(c->ssl, &ev, msg, sizeof(msg));
			shaken = r == 0;
			if (shaken)
				continue;
		} else {
			r = dse_tls_client_confirm(c->ssl, &ev, msg, sizeof(msg));
			if (r == 0)
				break;
		}
		if (r == -EAGAIN)
			r = wait_fd(fd, ev, deadline);
		if (r < 0) {
			if (r == -ETIMEDOUT)
				snprintf(msg, sizeof(msg), "no TLS handshake within %d ms",
					 timeout_ms);
			set_err(err, err_len, "TLS with %s port %u failed: %s", host, port, msg);
			c->broken = true;
			dse_rpc_client_free(c);
			return r;
		}
	}
	if (dse_tls_peer_cn(c->ssl, c->peer_cn, sizeof(c->peer_cn)) < 0) {
		/* Unreachable with a verified certificate of our CA, but never trust blindly. */
		set_err(err, err_len, "the server at %s port %u has a certificate without a name",
			host, port);
		c->broken = true;
		dse_rpc_client_free(c);
		return -EACCES;
	}
	*ret = c;
	return 0;
}

/* Remembers a transport failure: the stream can not be trusted any more. */
static int fail(struct dse_rpc_client *c, int r, const char *what)
{
	c->broken = true;
	if (what && what[0])
		snprintf(c->last_error, sizeof(c->last_error), "%s", what);
	else
		snprintf(c->last_error, sizeof(c->last_error), "%s", strerror(-r));
	return r;
}

/* Writes all of 'buf' before 'deadline'. */
static int send_all(struct dse_rpc_client *c, const char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;
	char msg[200] = "";

	while (off < len) {
		short ev = POLLOUT;
		ssize_t n;
		int r;

		if (c->ssl) {
			n = dse_tls_write(c->ssl, buf + off, len - off, &ev, msg, sizeof(msg));
		} else {
			n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
			if (n < 0)
				n = (errno == EAGAIN || errno == EINTR) ? -EAGAIN : -errno;
		}
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n != -EAGAIN) {
			/* A reset or a closed pipe is a closed connection for the caller. */
			if (n == -EPIPE || n == -ECONNRESET)
				return fail(c, -ECONNRESET,
					    msg[0] ? msg : "the server closed the connection");
			return fail(c, (int)n, msg);
		}
		r = wait_fd(c->fd, ev, deadline);
		if (r < 0)
			return fail(c, r, r == -ETIMEDOUT ? "timed out sending a request" : NULL);
	}
	return 0;
}

/*
 * Reads more bytes into the input buffer before 'deadline'.  Returns 0 when
 * something arrived, or a negative errno (the connection is then broken,
 * except for -ETIMEDOUT: a late answer can still come and is matched by id).
 */
static int recv_some(struct dse_rpc_client *c, int64_t deadline)
{
	char msg[200] = "";

	if (c->in_cap - c->in_len < 4096) {
		size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
		char *p;

		if (c->in_len >= DSE_RPC_CLIENT_MAX_LINE)
			return fail(c, -EMSGSIZE, "answer longer than the client accepts");
		p = realloc(c->in, cap);
		if (p == NULL)
			return fail(c, -ENOMEM, NULL);
		c->in = p;
		c->in_cap = cap;
	}
	for (;;) {
		short ev = POLLIN;
		ssize_t n;
		int r;

		/* Bytes OpenSSL already decrypted do not show in poll(). */
		if (c->ssl) {
			n = dse_tls_read(c->ssl, c->in + c->in_len, c->in_cap - c->in_len, &ev, msg,
					 sizeof(msg));
		} else {
			n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
			if (n == 0)
				n = -ECONNRESET;
			else if (n < 0)
				n = (errno == EAGAIN || errno == EINTR) ? -EAGAIN : -errno;
		}
		if (n > 0) {
			c->in_len += (size_t)n;
			return 0;
		}
		if (n != -EAGAIN) {
			if (n == -ECONNRESET || n == -EPIPE)
				return fail(c, -ECONNRESET,
					    msg[0] ? msg : "the server closed the connection");
			return fail(c, (int)n, msg);
		}
		r = wait_fd(c->fd, ev, deadline);
		if (r == -ETIMEDOUT)
			return r;
		if (r < 0)
			return fail(c, r, NULL);
	}
}

/*
 * Checks one answer line.  Returns 1 when it answers 'id' (the result or
 * error is handed out), 0 when it belongs to another call (dropped), or a
 * negative errno.
 */
static int take_answer(struct dse_rpc_client *c, const char *line, size_t len, json_int_t id,
		       json_t **ret_result, json_t **ret_error)
{
	json_t *resp = json_loadb(line, len, 0, NULL), *rid, *result, *error;
	const char *ver;
	int r;

	if (resp == NULL || !json_is_object(resp)) {
		json_decref(resp);
		return fail(c, -EPROTO, "the server sent something that is not a JSON object");
	}
	ver = json_string_value(json_object_get(resp, "jsonrpc"));
	rid = json_object_get(resp, "id");
	result = json_object_get(resp, "result");
	error = json_object_get(resp, "error");
	if (ver == NULL || strcmp(ver, "2.0") != 0 || rid == NULL || (!result == !error) ||
	    (error && !json_is_object(error))) {
		json_decref(resp);
		return fail(c, -EPROTO, "the server sent something that is not a JSON-RPC answer");
	}
	/*
	 * An error with a null id answers a request the server could not read
	 * at all; only one call is outstanding, so it is this one.
	 */
	if (!(json_is_integer(rid) && json_integer_value(rid) == id) &&
	    !(json_is_null(rid) && error)) {
		json_decref(resp);
		return 0;
	}
	if (error) {
		if (ret_error)
			*ret_error = json_incref(error);
		r = -EREMOTEIO;
	} else {
		if (ret_result)
			*ret_result = json_incref(result);
		r = 1;
	}
	json_decref(resp);
	return r;
}

int dse_rpc_client_call(struct dse_rpc_client *c, const char *method, json_t *params,
			int timeout_ms, json_t **ret_result, json_t **ret_error)
{
	int64_t deadline = deadline_of(timeout_ms);
	json_int_t id;
	json_t *req;
	char *text;
	size_t len, scanned = 0;
	int r;

	if (c == NULL || method == NULL || (params && !json_is_object(params)))
		return -EINVAL;
	if (c->broken)
		return -ENOTCONN;
	id = c->next_id++;
	req = json_pack("{s:s, s:I, s:s}", "jsonrpc", "2.0", "id", id, "method", method);
	if (req == NULL)
		return -ENOMEM;
	if (params && json_object_set(req, "params", params) < 0) {
		json_decref(req);
		return -ENOMEM;
	}
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (text == NULL)
		return -ENOMEM;
	len = strlen(text);
	if (len > DSE_RPC_MAX_LINE) {
		free(text);
		return -E2BIG;
	}
	text[len] = '\n'; /* replaces the NUL: the line goes out in one piece */
	r = send_all(c, text, len + 1, deadline);
	free(text);
	if (r < 0)
		return r;

	for (;;) {
		char *nl = c->in_len > scanned ? memchr(c->in + scanned, '\n', c->in_len - scanned)
					       : NULL;

		if (nl == NULL) {
			scanned = c->in_len;
			r = recv_some(c, deadline);
			if (r < 0)
				return r;
			continue;
		}
		len = (size_t)(nl - c->in);
		r = 0;
		if (len > 0 && !(len == 1 && c->in[0] == '\r'))
			r = take_answer(c, c->in, len, id, ret_result, ret_error);
		if (r < 0 && c->broken)
			return r;
		memmove(c->in, nl + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
		scanned = 0;
		if (r != 0)
			return r > 0 ? 0 : r;
	}
}
