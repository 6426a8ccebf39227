/* SPDX-License-Identifier: BSD-3-Clause */
#include "jsonrpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tls.h"

#define MAX_CLIENTS 64
/*
 * TLS clients may hold at most this many of the client slots, so a flood
 * of TCP connections can never lock the local Unix socket out.
 */
#define MAX_TLS_CLIENTS 32
/* Most answer bytes queued for one client before it is dropped. */
#define DSE_RPC_MAX_OUT (64u << 20)

/* A connected client: its socket, what it sent so far and what is left to send. */
struct rpc_client {
	int fd;
	char *in;       /* bytes received, not yet a whole line */
	size_t in_len;
	size_t in_cap;
	char *out;      /* response bytes not yet written */
	size_t out_len;
	size_t out_off;
	bool eof;       /* the client shut its sending side */
	SSL *ssl;       /* TLS clients only */
	bool handshaking;  /* TLS handshake not complete yet */
	short tls_events;  /* what the TLS layer waits for (POLLIN / POLLOUT) */
	int64_t hs_deadline_ms; /* when an unfinished handshake is refused */
	char peer[64];     /* "address:port" of a TCP client, for the log */
};

struct dse_rpc_server {
	const struct dse_rpc_method *methods;
	void *ctx;
	int listen_fd;
	char *path;
	struct rpc_client clients[MAX_CLIENTS];
	unsigned n_clients;
	/* The TLS listener (dse_rpc_listen_tls()). */
	int tls_fd;
	SSL_CTX *tls_ctx;
	struct dse_rpc_tls_stats tls_stats;
	struct dse_ratelimit refuse_rl; /* refusals logged */
	int hs_timeout_ms;
	bool remote; /* the request being dispatched came from a TLS client */
};

/* Milliseconds of the monotonic clock (not dse_clock_ns(): tests freeze that one). */
static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct dse_rpc_server *dse_rpc_server_new(const struct dse_rpc_method *methods, void *ctx)
{
	struct dse_rpc_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL)
		return NULL;
	srv->methods = methods;
	srv->ctx = ctx;
	srv->listen_fd = -1;
	srv->tls_fd = -1;
	srv->refuse_rl = (struct dse_ratelimit){.per_sec = 1, .burst = 10};
	srv->hs_timeout_ms = DSE_RPC_HANDSHAKE_TIMEOUT_MS;
	return srv;
}

const struct dse_rpc_method *dse_rpc_methods(const struct dse_rpc_server *srv)
{
	return srv->methods;
}

int dse_rpc_listen(struct dse_rpc_server *srv, const char *path, mode_t mode)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, r;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/*
	 * A socket file left by a crashed daemon would make bind() fail; a
	 * live daemon on it would answer connect(), so only then refuse.
	 */
	if (lstat(path, &st) == 0) {
		/* Never delete what is not a socket: the path may be mistyped. */
		if (!S_ISSOCK(st.st_mode)) {
			close(fd);
			return -EEXIST;
		}
		/* Only a refused connection proves the socket stale; a full backlog
		 * (EAGAIN) is a live, busy server. */
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 ||
		    (errno != ECONNREFUSED && errno != ENOENT)) {
			close(fd);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || chmod(path, mode) < 0 ||
	    listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	srv->listen_fd = fd;
	srv->path = strdup(path);
	return srv->path ? 0 : -ENOMEM;
}

int dse_rpc_error(struct dse_rpc_call *call, int code, const char *fmt, ...)
{
	va_list ap;

	call->err_code = code;
	va_start(ap, fmt);
	vsnprintf(call->err_msg, sizeof(call->err_msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* Looks up 'key'; returns NULL (with -ENOENT or the error set in *r) when absent. */
static json_t *param_get(struct dse_rpc_call *call, const char *key, bool required, int *r)
{
	json_t *v = json_object_get(call->params, key);

	if (v == NULL || json_is_null(v)) {
		if (required)
			*r = dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					   "missing required parameter '%s'", key);
		else
			*r = -ENOENT;
		return NULL;
	}
	return v;
}

int dse_rpc_param_str(struct dse_rpc_call *call, const char *key, bool required,
		      const char **ret)
{
	int r;
	json_t *v = param_get(call, key, required, &r);

	if (v == NULL)
		return r;
	if (!json_is_string(v))
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "parameter '%s' must be a string, not %s", key,
				     json_type_name(v));
	*ret = json_string_value(v);
	return 0;
}

int dse_rpc_param_int(struct dse_rpc_call *call, const char *key, bool required, long long min,
		      long long max, long long *ret)
{
	int r;
	json_t *v = param_get(call, key, required, &r);
	long long x;

	if (v == NULL)
		return r;
	if (!json_is_integer(v))
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "parameter '%s' must be an integer, not %s", key,
				     json_type_name(v));
	x = json_integer_value(v);
	if (x < min || x > max)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "parameter '%s' is %lld, outside %lld..%lld", key, x, min, max);
	*ret = x;
	return 0;
}

int dse_rpc_param_num(struct dse_rpc_call *call, const char *key, bool required, double min,
		      double max, double *ret)
{
	int r;
	json_t *v = param_get(call, key, required, &r);
	double x;

	if (v == NULL)
		return r;
	if (!json_is_number(v))
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "parameter '%s' must be a number, not %s", key,
				     json_type_name(v));
	x = json_number_value(v);
	if (!(x >= min && x <= max))
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "parameter '%s' is %g, outside %g..%g", key, x, min, max);
	*ret = x;
	return 0;
}

int dse_rpc_param_bool(struct dse_rpc_call *call, const char *key, bool required, bool *ret)
{
	int r;
	json_t *v = param_get(call, key, required, &r);

	if (v == NULL)
		return r;
	if (!json_is_boolean(v))
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "parameter '%s' must be true or false, not %s", key,
				     json_type_name(v));
	*ret = json_is_true(v);
	return 0;
}

int dse_rpc_params_only(struct dse_rpc_call *call, ...)
{
	const char *key;
	json_t *v;

	json_object_foreach(call->params, key, v) {
		va_list ap;
		const char *ok;
		bool found = false;

		va_start(ap, call);
		while ((ok = va_arg(ap, const char *)) != NULL) {
			if (strcmp(ok, key) == 0) {
				found = true;
				break;
			}
		}
		va_end(ap);
		if (!found)
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS, "unknown parameter '%s'",
					     key);
	}
	return 0;
}

static json_t *make_error(json_t *id, int code, const char *msg)
{
	return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
			 "error", "code", code, "message", msg);
}

static const struct dse_rpc_method *find_method(struct dse_rpc_server *srv, const char *name)
{
	for (const struct dse_rpc_method *m = srv->methods; m->name; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

/* Answers one request object; NULL for a notification. */
static json_t *dispatch_one(struct dse_rpc_server *srv, json_t *req)
{
	struct dse_rpc_call call = {.ctx = srv->ctx, .srv = srv, .remote = srv->remote};
	const struct dse_rpc_method *m;
	json_t *id, *params, *result = NULL, *resp;
	const char *ver, *method;
	int r;

	if (!json_is_object(req))
		return make_error(NULL, DSE_RPC_INVALID_REQUEST, "a request must be a JSON object");
	id = json_object_get(req, "id");
	if (id != NULL && !json_is_string(id) && !json_is_integer(id) && !json_is_null(id))
		return make_error(NULL, DSE_RPC_INVALID_REQUEST,
				  "'id' must be a string, an integer or null");
	ver = json_string_value(json_object_get(req, "jsonrpc"));
	if (ver == NULL || strcmp(ver, "2.0") != 0)
		return make_error(id, DSE_RPC_INVALID_REQUEST, "'jsonrpc' must be \"2.0\"");
	method = json_string_value(json_object_get(req, "method"));
	if (method == NULL)
		return make_error(id, DSE_RPC_INVALID_REQUEST, "'method' must be a string");
	params = json_object_get(req, "params");
	if (params != NULL && !json_is_object(params) && !json_is_null(params))
		return make_error(id, DSE_RPC_INVALID_PARAMS,
				  "'params' must be an object of named parameters");

	m = find_method(srv, method);
	if (m == NULL) {
		char msg[300];

		snprintf(msg, sizeof(msg), "unknown method '%.200s' (rpc.list shows the methods)",
			 method);
		resp = make_error(id, DSE_RPC_METHOD_NOT_FOUND, msg);
		goto out;
	}
	call.params = (params && json_is_object(params)) ? json_incref(params) : json_object();
	r = m->fn(&call, &result);
	json_decref(call.params);
	if (r < 0) {
		if (call.err_code == 0)
			call.err_code = DSE_RPC_APP_ERROR;
		if (call.err_msg[0] == '\0')
			snprintf(call.err_msg, sizeof(call.err_msg), "%s failed: %s", m->name,
				 strerror(-r));
		json_decref(result);
		resp = make_error(id, call.err_code, call.err_msg);
	} else {
		resp = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(),
				 "result", result ? result : json_null());
	}
out:
	/* A request without an id is a notification: it gets no answer. */
	if (id == NULL) {
		json_decref(resp);
		return NULL;
	}
	return resp;
}

json_t *dse_rpc_dispatch(struct dse_rpc_server *srv, json_t *req)
{
	json_t *out, *v;
	size_t i;

	if (!json_is_array(req))
		return dispatch_one(srv, req);
	if (json_array_size(req) == 0)
		return make_error(NULL, DSE_RPC_INVALID_REQUEST, "empty batch");
	out = json_array();
	json_array_foreach(req, i, v) {
		json_t *resp = dispatch_one(srv, v);

		if (resp)
			json_array_append_new(out, resp);
	}
	if (json_array_size(out) == 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

json_t *dse_rpc_dispatch_text(struct dse_rpc_server *srv, const char *buf, size_t len)
{
	json_error_t jerr;
	json_t *req, *resp;
	char msg[300];

	req = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (req == NULL) {
		snprintf(msg, sizeof(msg), "parse error at line %d column %d: %s", jerr.line,
			 jerr.column, jerr.text);
		return make_error(NULL, DSE_RPC_PARSE_ERROR, msg);
	}
	resp = dse_rpc_dispatch(srv, req);
	json_decref(req);
	return resp;
}

static void client_close(struct dse_rpc_server *srv, unsigned i)
{
	struct rpc_client *c = &srv->clients[i];

	if (c->ssl) {
		if (!c->handshaking)
			dse_tls_shutdown(c->ssl);
		SSL_free(c->ssl);
		srv->tls_stats.active--;
	}
	close(c->fd);
	free(c->in);
	free(c->out);
	srv->clients[i] = srv->clients[--srv->n_clients];
}

/* Reads into 'buf': returns the count, 0 at the end of the stream, -EAGAIN or a negative errno. */
static ssize_t conn_read(struct rpc_client *c, void *buf, size_t len)
{
	ssize_t n;

	if (c->ssl) {
		char msg[160];

		c->tls_events = 0;
		n = dse_tls_read(c->ssl, buf, len, &c->tls_events, msg, sizeof(msg));
		/* A close_notify or a TCP close both end what the client sends. */
		if (n == -ECONNRESET)
			return 0;
		if (n < 0 && n != -EAGAIN)
			DSE_LOG_INFO("rpc", "TLS client %s: %s", c->peer, msg);
		return n;
	}
	n = read(c->fd, buf, len);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? -EAGAIN : -errno;
	return n;
}

/* Writes from 'buf': returns the count, -EAGAIN or a negative errno.  No SIGPIPE. */
static ssize_t conn_write(struct rpc_client *c, const void *buf, size_t len)
{
	ssize_t n;

	if (c->ssl) {
		c->tls_events = 0;
		return dse_tls_write(c->ssl, buf, len, &c->tls_events, NULL, 0);
	}
	n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? -EAGAIN : -errno;
	return n;
}

static int client_queue(struct rpc_client *c, json_t *resp)
{
	char *text = json_dumps(resp, JSON_COMPACT);
	size_t len;
	char *n;

	if (text == NULL)
		return -ENOMEM;
	len = strlen(text);
	/* A client that sends but never reads must not grow our memory without end. */
	if (c->out_len + len + 1 > DSE_RPC_MAX_OUT) {
		free(text);
		return -ENOBUFS;
	}
	n = realloc(c->out, c->out_len + len + 1);
	if (n == NULL) {
		free(text);
		return -ENOMEM;
	}
	c->out = n;
	memcpy(c->out + c->out_len, text, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	free(text);
	return 0;
}

/* Answers a line over the limit with an error and asks for the client to be closed. */
static int client_refuse_long(struct rpc_client *c)
{
	json_t *resp = make_error(NULL, DSE_RPC_INVALID_REQUEST, "request line longer than 4 MiB");
	ssize_t n;

	client_queue(c, resp);
	json_decref(resp);
	/* Flush the error best effort, then drop the client. */
	n = conn_write(c, c->out + c->out_off, c->out_len - c->out_off);
	if (n < 0 && n != -EAGAIN)
		return (int)n;
	return -E2BIG;
}

/* Reads what the client sent and answers every whole line.  Returns <0 to close it. */
static int client_read(struct dse_rpc_server *srv, struct rpc_client *c)
{
	/* After the end of its stream a client has nothing more to say (TLS would fail). */
	if (c->eof)
		return 0;
	for (;;) {
		ssize_t n;
		char *nl;

		if (c->in_cap - c->in_len < 4096) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
			char *p;

			if (cap > DSE_RPC_MAX_LINE + 8192)
				cap = DSE_RPC_MAX_LINE + 8192;
			if (cap <= c->in_len + 1)
				return -E2BIG;
			p = realloc(c->in, cap);
			if (p == NULL)
				return -ENOMEM;
			c->in = p;
			c->in_cap = cap;
		}
		n = conn_read(c, c->in + c->in_len, c->in_cap - c->in_len);
		if (n == 0) {
			/* The client closed its side: answer what it sent, then close. */
			c->eof = true;
		}
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return (int)n;
		c->in_len += (size_t)n;

		while ((nl = memchr(c->in, '\n', c->in_len)) != NULL) {
			size_t line = (size_t)(nl - c->in);
			json_t *resp = NULL;

			if (line > DSE_RPC_MAX_LINE)
				return client_refuse_long(c);

			if (line > 0 && !(line == 1 && c->in[0] == '\r')) {
				srv->remote = c->ssl != NULL;
				resp = dse_rpc_dispatch_text(srv, c->in, line);
				srv->remote = false;
			}
			if (resp) {
				int r = client_queue(c, resp);

				json_decref(resp);
				if (r < 0)
					return r;
			}
			memmove(c->in, nl + 1, c->in_len - line - 1);
			c->in_len -= line + 1;
		}
		if (c->in_len > DSE_RPC_MAX_LINE)
			return client_refuse_long(c);
		if (c->eof)
			return 0;
	}
}

static int client_write(struct rpc_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = conn_write(c, c->out + c->out_off, c->out_len - c->out_off);

		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return (int)n;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

/* ---- TLS listener ---- */

int dse_rpc_listen_tls(struct dse_rpc_server *srv, const char *addr, uint16_t port,
		       const struct dse_tls_conf *tls, char *err, size_t err_len)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} sa = {0};
	socklen_t salen;
	SSL_CTX *ctx = NULL;
	int fd, r, one = 1;

	if (err && err_len)
		err[0] = '\0';
	if (srv->tls_fd >= 0) {
		snprintf(err, err_len, "the server already listens on TCP");
		return -EALREADY;
	}
	if (addr == NULL || inet_pton(AF_INET, addr, &sa.in4.sin_addr) == 1) {
		sa.in4.sin_family = AF_INET;
		sa.in4.sin_port = htons(port);
		salen = sizeof(sa.in4);
	} else if (inet_pton(AF_INET6, addr, &sa.in6.sin6_addr) == 1) {
		sa.in6.sin6_family = AF_INET6;
		sa.in6.sin6_port = htons(port);
		salen = sizeof(sa.in6);
	} else {
		snprintf(err, err_len, "'%s' is not an IP address", addr);
		return -EINVAL;
	}
	r = dse_tls_server_ctx_new(tls, &ctx, err, err_len);
	if (r < 0)
		return r;
	fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	/* A restarted daemon must get its port back while old connections linger in TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &sa.sa, salen) < 0 || listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		goto fail;
	}
	srv->tls_fd = fd;
	srv->tls_ctx = ctx;
	return 0;
fail:
	snprintf(err, err_len, "cannot listen on %s port %u: %s", addr ? addr : "0.0.0.0", port,
		 strerror(-r));
	SSL_CTX_free(ctx);
	return r;
}

void dse_rpc_tls_set_handshake_timeout(struct dse_rpc_server *srv, int timeout_ms)
{
	srv->hs_timeout_ms = timeout_ms < 1 ? 1 : timeout_ms;
}

int dse_rpc_tls_port(const struct dse_rpc_server *srv)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} sa;
	socklen_t len = sizeof(sa);

	if (srv->tls_fd < 0)
		return -ENOTCONN;
	if (getsockname(srv->tls_fd, &sa.sa, &len) < 0)
		return -errno;
	return ntohs(sa.sa.sa_family == AF_INET6 ? sa.in6.sin6_port : sa.in4.sin_port);
}

void dse_rpc_server_tls_stats(const struct dse_rpc_server *srv, struct dse_rpc_tls_stats *ret)
{
	*ret = srv->tls_stats;
}

static void format_peer(int fd, char *buf, size_t len)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} sa;
	socklen_t sl = sizeof(sa);
	char ip[INET6_ADDRSTRLEN] = "?";

	if (getpeername(fd, &sa.sa, &sl) < 0) {
		snprintf(buf, len, "?");
		return;
	}
	if (sa.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &sa.in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(sa.in6.sin6_port));
	} else {
		inet_ntop(AF_INET, &sa.in4.sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(sa.in4.sin_port));
	}
}

static void tls_accept(struct dse_rpc_server *srv)
{
	int fd = accept4(srv->tls_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct rpc_client *c;
	SSL *ssl;

	if (fd < 0)
		return;
	srv->tls_stats.accepted++;
	ssl = dse_tls_server_new(srv->tls_ctx, fd);
	if (ssl == NULL || srv->n_clients >= MAX_CLIENTS) {
		SSL_free(ssl);
		close(fd);
		srv->tls_stats.refused++;
		srv->tls_stats.refused_other++;
		return;
	}
	c = &srv->clients[srv->n_clients++];
	*c = (struct rpc_client){.fd = fd,
				 .ssl = ssl,
				 .handshaking = true,
				 .tls_events = POLLIN,
				 .hs_deadline_ms = mono_ms() + srv->hs_timeout_ms};
	format_peer(fd, c->peer, sizeof(c->peer));
	srv->tls_stats.active++;
}

/* Counts and logs (rate limited) the refusal of client 'i', then closes it. */
static void tls_refuse(struct dse_rpc_server *srv, unsigned i, int r, const char *why)
{
	struct dse_rpc_tls_stats *st = &srv->tls_stats;

	st->refused++;
	switch (r) {
	case -EPROTONOSUPPORT:
		st->refused_not_tls++;
		break;
	case -EACCES:
		st->refused_cert++;
		break;
	case -EPERM:
		st->refused_role++;
		break;
	case -ETIMEDOUT:
		st->refused_timeout++;
		break;
	case -ECONNRESET:
		st->refused_closed++;
		break;
	default:
		st->refused_other++;
		break;
	}
	if (dse_ratelimit_ok(&srv->refuse_rl)) {
		uint64_t suppressed = srv->refuse_rl.suppressed;

		srv->refuse_rl.suppressed = 0;
		if (suppressed)
			DSE_LOG_WARN("rpc",
				     "refused TLS client %s: %s (%" PRIu64
				     " more refusals not logged)",
				     srv->clients[i].peer, why, suppressed);
		else
			DSE_LOG_WARN("rpc", "refused TLS client %s: %s", srv->clients[i].peer,
				     why);
	}
	client_close(srv, i);
}

/*
 * Steps the handshake of client 'i'.  Returns 0 while it goes on or when
 * it completed, or -1 when the client was refused (and closed).
 */
static int tls_step(struct dse_rpc_server *srv, unsigned i)
{
	struct rpc_client *c = &srv->clients[i];
	char why[256], cn[128];
	int r = dse_tls_handshake(c->ssl, &c->tls_events, why, sizeof(why));

	if (r == -EAGAIN)
		return 0;
	if (r < 0) {
		tls_refuse(srv, i, r, why);
		return -1;
	}
	c->handshaking = false;
	c->tls_events = POLLIN;
	srv->tls_stats.established++;
	if (dse_tls_peer_cn(c->ssl, cn, sizeof(cn)) < 0)
		snprintf(cn, sizeof(cn), "?");
	DSE_LOG_INFO("rpc", "TLS client %s connected (certificate '%s')", c->peer, cn);
	return 0;
}

/* ---- the loop ---- */

int dse_rpc_poll(struct dse_rpc_server *srv, int timeout_ms)
{
	struct pollfd pfd[MAX_CLIENTS + 2];
	int unix_idx = -1, tls_idx = -1;
	unsigned n = 0, i, base;
	int64_t now, first_deadline = -1;
	int r;

	if (srv->listen_fd >= 0 && srv->n_clients < MAX_CLIENTS) {
		unix_idx = (int)n;
		pfd[n++] = (struct pollfd){.fd = srv->listen_fd, .events = POLLIN};
	}
	if (srv->tls_fd >= 0 && srv->n_clients < MAX_CLIENTS &&
	    srv->tls_stats.active < MAX_TLS_CLIENTS) {
		tls_idx = (int)n;
		pfd[n++] = (struct pollfd){.fd = srv->tls_fd, .events = POLLIN};
	}
	base = n;
	for (i = 0; i < srv->n_clients; i++) {
		const struct rpc_client *c = &srv->clients[i];
		short ev;

		if (c->handshaking) {
			ev = c->tls_events;
			if (first_deadline < 0 || c->hs_deadline_ms < first_deadline)
				first_deadline = c->hs_deadline_ms;
		} else {
			/* Past its end of stream, a client only waits for its answers. */
			ev = (c->eof ? 0 : POLLIN) | (c->out_len ? POLLOUT : 0);
			/* A TLS read or write may have to wait for the other direction. */
			if (c->ssl)
				ev |= c->tls_events;
		}
		pfd[n++] = (struct pollfd){.fd = c->fd, .events = ev};
	}
	if (first_deadline >= 0) {
		int64_t left = first_deadline - mono_ms();

		if (left < 0)
			left = 0;
		if (timeout_ms < 0 || left < timeout_ms)
			timeout_ms = (int)left;
	}
	r = poll(pfd, n, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	now = mono_ms();

	/*
	 * Walk the clients backwards: closing one moves the last into its
	 * place, which was already served, so pfd[base + i] stays client i's.
	 */
	for (i = srv->n_clients; i-- > 0;) {
		struct rpc_client *c = &srv->clients[i];
		struct pollfd *p = &pfd[base + i];

		if (c->handshaking) {
			if (p->revents && tls_step(srv, i) < 0)
				continue;
			/* A client that trickles bytes is held to the deadline too. */
			if (c->handshaking) {
				if (now >= c->hs_deadline_ms)
					tls_refuse(srv, i, -ETIMEDOUT,
						   "no TLS handshake within the time limit");
				continue;
			}
			/* The first request may have come with the handshake's last flight. */
			p->revents |= POLLIN;
		}
		if (p->revents == 0)
			continue;
		if ((p->revents & POLLIN || (c->ssl && (p->revents & POLLOUT))) &&
		    client_read(srv, c) < 0) {
			client_close(srv, i);
			continue;
		}
		if ((p->revents & (POLLERR | POLLHUP)) && !(p->revents & POLLIN)) {
			client_close(srv, i);
			continue;
		}
		if (c->out_len && client_write(c) < 0) {
			client_close(srv, i);
			continue;
		}
		/* A client that shut its side is closed once its answers are out. */
		if (c->eof && c->out_len == 0)
			client_close(srv, i);
	}
	if (unix_idx >= 0 && (pfd[unix_idx].revents & POLLIN)) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			if (srv->n_clients < MAX_CLIENTS)
				srv->clients[srv->n_clients++] = (struct rpc_client){.fd = fd};
			else
				close(fd);
		}
	}
	if (tls_idx >= 0 && (pfd[tls_idx].revents & POLLIN))
		tls_accept(srv);
	return 0;
}

void dse_rpc_server_free(struct dse_rpc_server *srv)
{
	if (srv == NULL)
		return;
	while (srv->n_clients)
		client_close(srv, srv->n_clients - 1);
	if (srv->listen_fd >= 0)
		close(srv->listen_fd);
	if (srv->tls_fd >= 0)
		close(srv->tls_fd);
	SSL_CTX_free(srv->tls_ctx);
	if (srv->path) {
		unlink(srv->path);
		free(srv->path);
	}
	free(srv);
}
