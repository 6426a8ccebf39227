/* SPDX-License-Identifier: BSD-3-Clause */
#include "jsonrpc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

#define MAX_CLIENTS 64
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
};

struct dse_rpc_server {
	const struct dse_rpc_method *methods;
	void *ctx;
	int listen_fd;
	char *path;
	struct rpc_client clients[MAX_CLIENTS];
	unsigned n_clients;
};

struct dse_rpc_server *dse_rpc_server_new(const struct dse_rpc_method *methods, void *ctx)
{
	struct dse_rpc_server *srv = calloc(1, sizeof(*srv));

	if (srv == NULL)
		return NULL;
	srv->methods = methods;
	srv->ctx = ctx;
	srv->listen_fd = -1;
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
	struct dse_rpc_call call = {.ctx = srv->ctx};
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

	close(c->fd);
	free(c->in);
	free(c->out);
	srv->clients[i] = srv->clients[--srv->n_clients];
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

	client_queue(c, resp);
	json_decref(resp);
	/* Flush the error best effort, then drop the client. */
	if (write(c->fd, c->out, c->out_len) < 0)
		return -errno;
	return -E2BIG;
}

/* Reads what the client sent and answers every whole line.  Returns <0 to close it. */
static int client_read(struct dse_rpc_server *srv, struct rpc_client *c)
{
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
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n == 0) {
			/* The client closed its side: answer what it sent, then close. */
			c->eof = true;
			n = 0;
		}
		if (n < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
		c->in_len += (size_t)n;

		while ((nl = memchr(c->in, '\n', c->in_len)) != NULL) {
			size_t line = (size_t)(nl - c->in);
			json_t *resp = NULL;

			if (line > DSE_RPC_MAX_LINE)
				return client_refuse_long(c);

			if (line > 0 && !(line == 1 && c->in[0] == '\r'))
				resp = dse_rpc_dispatch_text(srv, c->in, line);
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
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0)
			return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

int dse_rpc_poll(struct dse_rpc_server *srv, int timeout_ms)
{
	struct pollfd pfd[MAX_CLIENTS + 1];
	unsigned n = 0, i;
	int r;

	if (srv->listen_fd >= 0 && srv->n_clients < MAX_CLIENTS)
		pfd[n++] = (struct pollfd){.fd = srv->listen_fd, .events = POLLIN};
	for (i = 0; i < srv->n_clients; i++)
		pfd[n++] = (struct pollfd){
			.fd = srv->clients[i].fd,
			.events = POLLIN | (srv->clients[i].out_len ? POLLOUT : 0)};
	r = poll(pfd, n, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return 0;

	/* Walk the clients backwards: closing one moves the last into its place. */
	for (i = srv->n_clients; i-- > 0;) {
		struct pollfd *p = NULL;
		struct rpc_client *c = &srv->clients[i];

		for (unsigned k = 0; k < n; k++)
			if (pfd[k].fd == c->fd)
				p = &pfd[k];
		if (p == NULL || p->revents == 0)
			continue;
		if ((p->revents & POLLIN) && client_read(srv, c) < 0) {
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
	if (srv->listen_fd >= 0 && pfd[0].fd == srv->listen_fd && (pfd[0].revents & POLLIN)) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			if (srv->n_clients < MAX_CLIENTS)
				srv->clients[srv->n_clients++] = (struct rpc_client){.fd = fd};
			else
				close(fd);
		}
	}
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
	if (srv->path) {
		unlink(srv->path);
		free(srv->path);
	}
	free(srv);
}
