/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON-RPC server of jsonrpc.h.  How the limits work, in the order a
 * request meets them (docs/api.md "Limits" says it for users):
 *
 * - Connections.  Each client takes a slot of one pool: the Unix socket's,
 *   the TLS handshakes' (not authenticated yet) or the authenticated TLS
 *   clients'.  A full Unix or authenticated pool makes room by closing the
 *   client that has gone longest without progress (a request taken, or
 *   answer bytes read by it) among those the server has no work for now: a
 *   stalled half line, an idle session, a client that does not read its
 *   answers.  Only when every client has work under way is the new one
 *   refused.  A full handshake pool gives the slot of its oldest handshake
 *   to the newcomer; before that, a source address over its rate is
 *   refused at accept(), before any TLS work.  Unauthenticated peers thus
 *   never take an authenticated slot, and a flood on one transport never
 *   takes the slots of the other.
 * - Reading.  A client is read only while no whole request of it waits and
 *   its queued answers are below out_high, at most READ_TURN bytes a turn.
 *   Its input buffer thus holds at most one line (up to DSE_RPC_MAX_LINE)
 *   and its output about out_high plus one answer: a client that does not
 *   read gets backpressure, not an ever longer queue.
 * - Running.  Each turn a client runs at most turn_calls calls and turn_us
 *   microseconds, and each turn starts with another client (round-robin).
 *   A batch is answered entry by entry across turns, each answer written
 *   into the output as soon as it is made, so no tree of all the answers is
 *   ever built; once the answers reach max_reply the entries left are not
 *   run.  The entries are counted in the text before it is parsed, so a
 *   batch over max_batch costs one scan, not a parse.
 * - Memory.  Buffers above BUF_KEEP are freed when they empty; after large
 *   requests, answers or frees the heap is trimmed (malloc_trim), at most
 *   every TRIM_EVERY_MS, so that the daemon's RSS comes back after a burst.
 */
#include "api.h"
#include "jsonrpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
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

#include "buf.h"
#include "log.h"
#include "tls.h"

/* Most bytes read from one client in one turn. */
#define READ_TURN (256u << 10)
/* Free room made in a client's input buffer before a read. */
#define READ_CHUNK (16u << 10)
/* A buffer larger than this is freed when it empties: few clients need it again. */
#define BUF_KEEP (64u << 10)
/*
 * Most answer bytes queued for one client, a safety net behind out_high:
 * only a single answer larger than this reaches it, and its client is
 * dropped.
 */
#define MAX_OUT (64u << 20)
/* New connections taken from one listener in one turn. */
#define ACCEPT_TURN 64
/* The listeners' backlog: connections waiting for the next turn. */
#define BACKLOG 128
/* Bytes of large requests, answers and freed buffers that make the heap worth trimming. */
#define TRIM_MIN (1u << 20)
/* The heap is trimmed at most this often (milliseconds). */
#define TRIM_EVERY_MS 100
/* About what a TLS connection holds in OpenSSL (its record buffers and state), for trimming. */
#define TLS_CLIENT_BYTES (64u << 10)
/* Source addresses whose rate of new TLS connections is tracked (the least recent is reused). */
#define RATE_SLOTS 64
/* Largest value of a connection limit. */
#define MAX_CLIENTS_LIMIT 4096

/* The slots a client takes (struct dse_rpc_limits). */
enum rpc_pool {
	POOL_UNIX,      /* the Unix socket */
	POOL_HANDSHAKE, /* TLS, handshake not complete: not authenticated */
	POOL_TLS,       /* TLS, authenticated */
	POOL_COUNT,
};

/*
 * A connected client: its socket, what it sent and what is left to send,
 * the batch it is being answered, and the times its limits are measured
 * from.  Where a call comes from (its transport: 'pool' and 'ssl') is
 * reachable from dispatch_one(), for methods that only local clients may
 * call.
 */
struct rpc_client {
	int fd;
	enum rpc_pool pool;
	bool closed; /* closed this turn; freed when the turn ends */
	/* Input: in[in_off, in_len) is unread by the dispatcher; no '\n' before scan_off. */
	char *in;
	size_t in_off;
	size_t in_len;
	size_t in_cap;
	size_t scan_off;
	int64_t line_start_ms; /* when the unfinished line in 'in' began; 0: none */
	struct dse_buf out; /* the answers still to be sent */
	/* The batch being answered, entry 'batch_next' next; NULL: none. */
	json_t *batch;
	size_t batch_next;
	size_t batch_bytes; /* answer bytes of the batch so far */
	bool batch_open;    /* its '[' is written */
	/* Last time a request was taken from it or it read answer bytes (or it came). */
	int64_t progress_ms;
	bool eof;      /* the client shut its sending side */
	bool held;     /* its requests are held back: its queued answers reached out_high */
	int pfd;       /* index in this turn's poll set */
	SSL *ssl;      /* TLS clients only */
	bool handshaking;        /* TLS handshake not complete yet */
	short tls_read_events;   /* what a TLS read or the handshake waits for (0: POLLIN) */
	short tls_write_events;  /* what a TLS write waits for (0: POLLOUT) */
	int64_t hs_deadline_ms;  /* when an unfinished handshake is refused */
	uint8_t rate_key[8];     /* the source's key in the rate table (rate_key()) */
	uint8_t rate_key_len;
	char peer[64];           /* "address:port" of a TCP client, "pid N" of a local one */
	uint64_t conn_id;        /* unique for the server's life (struct dse_rpc_call's conn) */
	bool streaming;          /* waits for notifications: no idle limit while none is queued */
	/* A call of it answered later (dse_rpc_defer()): its next requests wait for it. */
	struct dse_rpc_deferred *deferred;
};

/* A call whose answer comes later (dse_rpc_defer()). */
struct dse_rpc_deferred {
	struct dse_rpc_server *srv;
	uint64_t conn; /* the connection it came on */
	json_t *id;    /* its id; NULL for a notification (no answer is sent) */
	char method[64];
	struct dse_rpc_deferred *prev, *next; /* the server's list of them */
};

/* The token bucket of one source address of TLS connections. */
struct rate_slot {
	uint8_t key[8];   /* the IPv4 address, or the /64 of an IPv6 one */
	uint8_t key_len;  /* 4 or 8; 0: a free slot */
	int64_t tokens;   /* thousandths of a connection */
	int64_t last_ms;  /* last refill */
};

struct dse_rpc_server {
	const struct dse_rpc_method *methods;
	/* With a schema (dse_rpc_server_set_api()): the entry of each of 'methods', by index. */
	const struct dse_api_program *api;
	const struct dse_api_method **api_of;
	unsigned n_methods;
	void *ctx;
	struct dse_rpc_limits lim;
	int listen_fd;
	char *path;
	struct rpc_client **clients; /* every client, in no particular order */
	unsigned n_clients;
	unsigned cap_clients;
	unsigned in_pool[POOL_COUNT]; /* open clients of each pool */
	struct pollfd *pfd;           /* the poll set, sized for the clients and listeners */
	uint64_t *pfd_id;             /* the connection of each entry (0: a listener) */
	unsigned cap_pfd;
	unsigned n_pfd;               /* entries of 'pfd' this turn (poll_prepare()) */
	int pfd_unix;                 /* the index of each listener in 'pfd', or -1 */
	int pfd_tls;
	unsigned rr; /* rotates the client each turn starts with */
	/* The TLS listener (dse_rpc_listen_tls()). */
	int tls_fd;
	SSL_CTX *tls_ctx;
	struct dse_rpc_tls_stats tls_stats;
	struct dse_rpc_server_stats stats;
	struct dse_ratelimit refuse_rl; /* TLS refusals logged */
	struct dse_ratelimit close_rl;  /* evictions and timeouts logged */
	struct rate_slot rate[RATE_SLOTS];
	size_t trim_bytes; /* large allocations since the last trim */
	int64_t last_trim_ms;
	uint64_t next_conn_id; /* the last connection id given */
	void (*close_fn)(void *arg, uint64_t conn); /* dse_rpc_server_set_close_hook() */
	void *close_arg;
	/* The client whose single request is being dispatched: only its call may be deferred. */
	const struct rpc_client *defer_from;
	struct dse_rpc_deferred *deferred; /* the calls not answered yet */
	unsigned n_deferred;
};

/* Microseconds of the monotonic clock (not dse_clock_ns(): tests freeze that one). */
static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_ms(void)
{
	return mono_us() / 1000;
}

/* Fills the zero fields of 'l' with the defaults. */
static void limits_fill(struct dse_rpc_limits *l)
{
#define DEFAULT(field, value)                                                                      \
	do {                                                                                       \
		if (l->field == 0)                                                                 \
			l->field = (value);                                                        \
	} while (0)
	DEFAULT(max_batch, DSE_RPC_MAX_BATCH);
	DEFAULT(max_reply, DSE_RPC_MAX_REPLY);
	DEFAULT(out_high, DSE_RPC_OUT_HIGH);
	DEFAULT(turn_calls, DSE_RPC_TURN_CALLS);
	DEFAULT(turn_us, DSE_RPC_TURN_US);
	DEFAULT(max_unix_clients, DSE_RPC_MAX_UNIX_CLIENTS);
	DEFAULT(max_tls_clients, DSE_RPC_MAX_TLS_CLIENTS);
	DEFAULT(max_tls_handshakes, DSE_RPC_MAX_TLS_HANDSHAKES);
	DEFAULT(handshake_timeout_ms, DSE_RPC_HANDSHAKE_TIMEOUT_MS);
	DEFAULT(tls_rate, DSE_RPC_TLS_RATE);
	DEFAULT(tls_burst, DSE_RPC_TLS_BURST);
	DEFAULT(line_timeout_ms, DSE_RPC_LINE_TIMEOUT_MS);
	DEFAULT(idle_timeout_ms, DSE_RPC_IDLE_TIMEOUT_MS);
#undef DEFAULT
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
	srv->close_rl = (struct dse_ratelimit){.per_sec = 1, .burst = 10};
	limits_fill(&srv->lim);
	return srv;
}

int dse_rpc_server_set_limits(struct dse_rpc_server *srv, const struct dse_rpc_limits *limits)
{
	struct dse_rpc_limits l = *limits;

	if (l.handshake_timeout_ms < 0 || l.line_timeout_ms < 0 || l.idle_timeout_ms < 0 ||
	    l.turn_us > 1000000 || l.max_reply > MAX_OUT / 2 || l.out_high > MAX_OUT / 2 ||
	    l.max_unix_clients > MAX_CLIENTS_LIMIT || l.max_tls_clients > MAX_CLIENTS_LIMIT ||
	    l.max_tls_handshakes > MAX_CLIENTS_LIMIT)
		return -EINVAL;
	limits_fill(&l);
	srv->lim = l;
	return 0;
}

void dse_rpc_server_limits(const struct dse_rpc_server *srv, struct dse_rpc_limits *ret)
{
	*ret = srv->lim;
}

const struct dse_rpc_method *dse_rpc_methods(const struct dse_rpc_server *srv)
{
	return srv->methods;
}

int dse_rpc_server_set_api(struct dse_rpc_server *srv, const struct dse_api_program *prog,
			   bool test_clock, char *err, size_t len)
{
	const struct dse_api_method **of;
	unsigned n = 0;

	while (srv->methods[n].name)
		n++;
	of = calloc(n ? n : 1, sizeof(*of));
	if (of == NULL) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		of[i] = dse_api_find(prog, srv->methods[i].name);
		if (of[i] == NULL || strcmp(of[i]->name, srv->methods[i].name) != 0) {
			snprintf(err, len, "%s serves method %s, which is not in its schema (api/)",
				 prog->name, srv->methods[i].name);
			free(of);
			return -ENOENT;
		}
	}
	for (unsigned k = 0; k < prog->n_methods; k++) {
		const struct dse_api_method *m = &prog->methods[k];
		unsigned i;

		if ((m->flags & DSE_API_TEST_CLOCK) && !test_clock)
			continue;
		for (i = 0; i < n && of[i] != m; i++)
			;
		if (i == n) {
			snprintf(err, len, "%s does not serve method %s of its schema (api/)",
				 prog->name, m->name);
			free(of);
			return -ENOENT;
		}
	}
	free(srv->api_of);
	srv->api_of = of;
	srv->api = prog;
	srv->n_methods = n;
	return 0;
}

/* Whether method 'i' of 'srv' is for local clients only. */
static bool method_local(const struct dse_rpc_server *srv, unsigned i)
{
	return (srv->methods[i].flags & DSE_RPC_LOCAL) ||
	       (srv->api_of && (srv->api_of[i]->flags & DSE_API_LOCAL));
}

json_t *dse_rpc_list_json(const struct dse_rpc_server *srv, bool remote)
{
	json_t *a = json_array();

	if (srv->api) {
		/* In the schema's order, which groups them by module. */
		for (unsigned k = 0; k < srv->api->n_methods; k++) {
			const struct dse_api_method *m = &srv->api->methods[k];
			json_t *aliases = json_array();
			unsigned i;

			for (i = 0; i < srv->n_methods && srv->api_of[i] != m; i++)
				;
			if (i == srv->n_methods || (remote && method_local(srv, i))) {
				json_decref(aliases);
				continue;
			}
			for (const char *const *al = m->aliases; al && *al; al++)
				json_array_append_new(aliases, json_string(*al));
			json_array_append_new(a, json_pack("{s:s, s:s, s:o}", "name", m->name, "help",
							   m->help, "aliases", aliases));
		}
		return a;
	}
	for (unsigned i = 0; srv->methods[i].name; i++)
		if (!(remote && (srv->methods[i].flags & DSE_RPC_LOCAL)))
			json_array_append_new(a, json_pack("{s:s, s:s?}", "name",
							   srv->methods[i].name, "help",
							   srv->methods[i].help));
	return a;
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
	    listen(fd, BACKLOG) < 0) {
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

/* The method 'name' (or, with a schema, one of its old names) and its schema entry. */
static const struct dse_rpc_method *find_method(struct dse_rpc_server *srv, const char *name,
						const struct dse_api_method **api)
{
	*api = NULL;
	if (srv->api) {
		const struct dse_api_method *m = dse_api_find(srv->api, name);

		for (unsigned i = 0; m && i < srv->n_methods; i++)
			if (srv->api_of[i] == m) {
				*api = m;
				return &srv->methods[i];
			}
		return NULL;
	}
	for (const struct dse_rpc_method *m = srv->methods; m->name; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

/*
 * Answers one request object from 'from' (NULL: not from a socket, e.g.
 * the startup config; else its transport is from->pool, for methods only
 * local clients may call); NULL for a notification.
 */
static json_t *dispatch_one(struct dse_rpc_server *srv, const struct rpc_client *from,
			    json_t *req)
{
	struct dse_rpc_call call = {.ctx = srv->ctx,
				    .srv = srv,
				    .remote = from != NULL && from->ssl != NULL,
				    .conn = from != NULL ? from->conn_id : 0,
				    .deferrable = from != NULL && from == srv->defer_from};
	const struct dse_rpc_method *m;
	const struct dse_api_method *api;
	/* Room for the args of every method of today; a larger one is allocated. */
	union {
		max_align_t align;
		char bytes[1024];
	} args_buf_u;
	void *args_buf = &args_buf_u, *args = args_buf;
	json_t *id, *params, *result = NULL, *resp;
	const char *ver, *method;
	int r;

	(void)from;
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

	m = find_method(srv, method, &api);
	/* Local methods do not exist for a client on the network. */
	if (m != NULL && call.remote &&
	    ((m->flags & DSE_RPC_LOCAL) || (api && (api->flags & DSE_API_LOCAL))))
		m = NULL;
	if (m == NULL) {
		char msg[300];

		snprintf(msg, sizeof(msg), "unknown method '%.200s' (rpc.list shows the methods)",
			 method);
		resp = make_error(id, DSE_RPC_METHOD_NOT_FOUND, msg);
		goto out;
	}
	call.params = (params && json_is_object(params)) ? json_incref(params) : json_object();
	if (api) {
		/* The one decoder: the handler gets typed, checked values. */
		if (api->args_size <= sizeof(args_buf_u)) {
			args = args_buf;
		} else {
			args = malloc(api->args_size);
			if (args == NULL) {
				json_decref(call.params);
				resp = make_error(id, DSE_RPC_INTERNAL_ERROR, "out of memory");
				goto out;
			}
		}
		if (dse_api_decode(api, call.params, args, call.err_msg, sizeof(call.err_msg)) < 0) {
			char msg[sizeof(call.err_msg) + 64];

			snprintf(msg, sizeof(msg), "%s: %s", api->name, call.err_msg);
			json_decref(call.params);
			if (args != args_buf)
				free(args);
			resp = make_error(id, DSE_RPC_INVALID_PARAMS, msg);
			goto out;
		}
		call.args = args;
		call.api = api;
	}
	call.id = id;
	r = m->fn(&call, &result);
	json_decref(call.params);
	if (args != args_buf)
		free(args);
	if (r == DSE_RPC_DEFERRED) {
		/* dse_rpc_deferred_reply() answers it; the client waits for that. */
		json_decref(result);
		return NULL;
	}
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

/* The answer to a batch of more than max_batch entries (none of them runs). */
static json_t *batch_too_long(struct dse_rpc_server *srv)
{
	char msg[200];

	srv->stats.batches_refused++;
	snprintf(msg, sizeof(msg),
		 "batch of more than %u entries refused, none was run (the limit is %u entries "
		 "a batch: split it)",
		 srv->lim.max_batch, srv->lim.max_batch);
	return make_error(NULL, DSE_RPC_INVALID_REQUEST, msg);
}

/*
 * Answers batch entry 'entry' from 'from' when the batch's answers so far,
 * 'reply_bytes', leave room; otherwise does not run it and returns the
 * limit error (NULL for a notification, which gets no answer either way).
 */
static json_t *batch_entry(struct dse_rpc_server *srv, const struct rpc_client *from,
			   json_t *entry, size_t reply_bytes)
{
	json_t *id;
	char msg[200];

	/* What is not a request object runs nothing: its error costs no more than skipping. */
	if (reply_bytes < srv->lim.max_reply || !json_is_object(entry))
		return dispatch_one(srv, from, entry);
	srv->stats.entries_skipped++;
	id = json_object_get(entry, "id");
	if (id == NULL)
		return NULL;
	if (!json_is_string(id) && !json_is_integer(id))
		id = NULL;
	snprintf(msg, sizeof(msg),
		 "not run: the answers of this batch reached the limit of %zu bytes (send the "
		 "calls not run again, in another batch)",
		 srv->lim.max_reply);
	return make_error(id, DSE_RPC_LIMIT_ERROR, msg);
}

/* Answers 'req' (an object or a batch) from 'from' in one go. */
static json_t *dispatch(struct dse_rpc_server *srv, const struct rpc_client *from, json_t *req)
{
	size_t i, bytes = 0;
	json_t *out, *v;

	if (!json_is_array(req))
		return dispatch_one(srv, from, req);
	if (json_array_size(req) == 0)
		return make_error(NULL, DSE_RPC_INVALID_REQUEST, "empty batch");
	if (json_array_size(req) > srv->lim.max_batch)
		return batch_too_long(srv);
	out = json_array();
	json_array_foreach(req, i, v) {
		json_t *resp = batch_entry(srv, from, v, bytes);

		if (resp) {
			/* The size the answer will have on the wire, with its comma. */
			bytes += json_dumpb(resp, NULL, 0, JSON_COMPACT) + 1;
			json_array_append_new(out, resp);
		}
	}
	if (json_array_size(out) == 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

json_t *dse_rpc_dispatch(struct dse_rpc_server *srv, json_t *req)
{
	return dispatch(srv, NULL, req);
}

/*
 * Counts the entries of the batch in 'text' ('len' bytes) without parsing
 * it, stopping at 'limit' + 1; 0 when 'text' is not an array.  Exact for
 * valid JSON; for invalid JSON it may be off, and the parser reports the
 * error unless the count is over the limit.
 */
static size_t batch_entries(const char *text, size_t len, size_t limit)
{
	size_t i = 0, commas = 0;
	unsigned depth = 0;
	bool in_str = false, esc = false, value = false;

	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
		i++;
	if (i == len || text[i] != '[')
		return 0;
	for (; i < len; i++) {
		char ch = text[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		switch (ch) {
		case '"':
			in_str = true;
			value |= depth == 1;
			break;
		case '[':
		case '{':
			value |= depth == 1;
			depth++;
			break;
		case ']':
		case '}':
			if (--depth == 0)
				return commas + value;
			break;
		case ',':
			if (depth == 1 && ++commas + 1 > limit)
				return commas + 1;
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			break;
		default:
			value |= depth == 1;
			break;
		}
	}
	return commas + value;
}

/* The answer to a line that is not JSON. */
static json_t *parse_error(const json_error_t *jerr)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "parse error at line %d column %d: %s", jerr->line,
		 jerr->column, jerr->text);
	return make_error(NULL, DSE_RPC_PARSE_ERROR, msg);
}

/*
 * Parses request line 'buf' of 'len' bytes, unless it is a batch over
 * max_batch: returns the request (new reference) with *ret_resp NULL, or
 * NULL with the error answer in *ret_resp.
 */
static json_t *parse_request(struct dse_rpc_server *srv, const char *buf, size_t len,
			     json_t **ret_resp)
{
	json_error_t jerr;
	json_t *req;

	*ret_resp = NULL;
	if (batch_entries(buf, len, srv->lim.max_batch) > srv->lim.max_batch) {
		*ret_resp = batch_too_long(srv);
		return NULL;
	}
	req = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (req == NULL)
		*ret_resp = parse_error(&jerr);
	return req;
}

json_t *dse_rpc_dispatch_text(struct dse_rpc_server *srv, const char *buf, size_t len)
{
	json_t *req, *resp;

	req = parse_request(srv, buf, len, &resp);
	if (req == NULL)
		return resp;
	resp = dispatch(srv, NULL, req);
	json_decref(req);
	return resp;
}

/* ---- clients ---- */

/* The connection limit of 'pool'. */
static unsigned pool_limit(const struct dse_rpc_server *srv, enum rpc_pool pool)
{
	switch (pool) {
	case POOL_UNIX:
		return srv->lim.max_unix_clients;
	case POOL_HANDSHAKE:
		return srv->lim.max_tls_handshakes;
	default:
		return srv->lim.max_tls_clients;
	}
}

/* The counters of the clients of 'pool' (NULL for handshakes). */
static struct dse_rpc_conn_stats *pool_stats(struct dse_rpc_server *srv, enum rpc_pool pool)
{
	return pool == POOL_UNIX ? &srv->stats.unix_clients
	       : pool == POOL_TLS ? &srv->stats.tls_clients
				  : NULL;
}

/* Notes that a buffer of 'cap' bytes was freed, so the heap may be worth trimming. */
static void note_free(struct dse_rpc_server *srv, size_t cap)
{
	if (cap > BUF_KEEP)
		srv->trim_bytes += cap;
}

/* Adds a client on 'fd' (owned) to 'pool'.  Returns NULL (fd closed) on ENOMEM. */
static struct rpc_client *client_add(struct dse_rpc_server *srv, int fd, enum rpc_pool pool,
				     int64_t now)
{
	struct rpc_client *c;

	if (srv->n_clients == srv->cap_clients) {
		unsigned cap = srv->cap_clients ? srv->cap_clients * 2 : 32;
		struct rpc_client **p = realloc(srv->clients, cap * sizeof(*p));

		if (p == NULL) {
			close(fd);
			return NULL;
		}
		srv->clients = p;
		srv->cap_clients = cap;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->fd = fd;
	c->pool = pool;
	c->progress_ms = now;
	c->pfd = -1;
	c->conn_id = ++srv->next_conn_id;
	srv->clients[srv->n_clients++] = c;
	srv->in_pool[pool]++;
	return c;
}

/* Closes client 'c' and frees what it holds; the struct goes at the end of the turn. */
static void client_close(struct dse_rpc_server *srv, struct rpc_client *c)
{
	if (c->closed)
		return;
	c->closed = true;
	if (srv->close_fn != NULL)
		srv->close_fn(srv->close_arg, c->conn_id);
	if (c->ssl) {
		if (!c->handshaking)
			dse_tls_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
		srv->trim_bytes += TLS_CLIENT_BYTES;
	}
	close(c->fd);
	c->fd = -1;
	note_free(srv, c->in_cap);
	note_free(srv, c->out.cap);
	free(c->in);
	c->in = NULL;
	c->in_cap = 0;
	dse_buf_release(&c->out);
	json_decref(c->batch);
	c->batch = NULL;
	/* Its deferred call still completes; the answer then goes nowhere. */
	c->deferred = NULL;
	srv->in_pool[c->pool]--;
}

/* Frees the clients closed during the turn. */
static void clients_compact(struct dse_rpc_server *srv)
{
	unsigned n = 0;

	for (unsigned i = 0; i < srv->n_clients; i++) {
		if (srv->clients[i]->closed)
			free(srv->clients[i]);
		else
			srv->clients[n++] = srv->clients[i];
	}
	srv->n_clients = n;
}

/* Closes 'c' for 'why', logged (rate limited) with the transport. */
static void client_drop(struct dse_rpc_server *srv, struct rpc_client *c, const char *why)
{
	if (dse_ratelimit_ok(&srv->close_rl)) {
		uint64_t suppressed = srv->close_rl.suppressed;

		srv->close_rl.suppressed = 0;
		if (suppressed)
			DSE_LOG_INFO("rpc", "closed %s client %s: %s (%" PRIu64 " more not logged)",
				     c->ssl ? "TLS" : "local", c->peer, why, suppressed);
		else
			DSE_LOG_INFO("rpc", "closed %s client %s: %s", c->ssl ? "TLS" : "local",
				     c->peer, why);
	}
	client_close(srv, c);
}

/* Answer bytes queued for 'c' and not sent yet. */
static size_t out_pending(const struct rpc_client *c)
{
	return dse_buf_used(&c->out);
}

/*
 * Whether a whole request line of 'c' waits in its input.  Searches only
 * bytes not searched before, and leaves scan_off at the newline found.
 */
static bool line_ready(struct rpc_client *c)
{
	char *nl;

	if (c->scan_off < c->in_off)
		c->scan_off = c->in_off;
	if (c->scan_off >= c->in_len)
		return false;
	nl = memchr(c->in + c->scan_off, '\n', c->in_len - c->scan_off);
	if (nl == NULL) {
		c->scan_off = c->in_len;
		return false;
	}
	c->scan_off = (size_t)(nl - c->in);
	return true;
}

/* Whether the server may read more requests of 'c' now. */
static bool wants_read(const struct dse_rpc_server *srv, struct rpc_client *c)
{
	return !c->closed && !c->handshaking && !c->eof && c->batch == NULL &&
	       c->deferred == NULL && !line_ready(c) && out_pending(c) < srv->lim.out_high;
}

/* Whether the server has work it can do for 'c' without waiting for its socket. */
static bool has_work(const struct dse_rpc_server *srv, struct rpc_client *c)
{
	if (c->closed || c->handshaking || c->deferred || out_pending(c) >= srv->lim.out_high)
		return false;
	if (c->batch || line_ready(c))
		return true;
	/*
	 * A TLS record read earlier may hold more than the last read took
	 * (decrypted bytes only: a partial record waits in the socket, which
	 * poll() sees).
	 */
	return c->ssl && wants_read(srv, c) && SSL_pending(c->ssl) > 0;
}

/* Reads into 'buf': returns the count, 0 at the end of the stream, -EAGAIN or a negative errno. */
static ssize_t conn_read(struct rpc_client *c, void *buf, size_t len)
{
	ssize_t n;

	if (c->ssl) {
		char msg[160];

		c->tls_read_events = 0;
		n = dse_tls_read(c->ssl, buf, len, &c->tls_read_events, msg, sizeof(msg));
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
		c->tls_write_events = 0;
		return dse_tls_write(c->ssl, buf, len, &c->tls_write_events, NULL, 0);
	}
	n = send(c->fd, buf, len, MSG_NOSIGNAL);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? -EAGAIN : -errno;
	return n;
}

/* Appends 'len' bytes of 'buf' to the output of 'c'.  Returns 0 or a negative errno. */
static int out_append(struct rpc_client *c, const char *buf, size_t len)
{
	return dse_buf_append(&c->out, buf, len, MAX_OUT);
}

/*
 * Writes 'v' as compact JSON to the output of 'c', without building the
 * text first.  Returns the bytes written or a negative errno.
 */
static long out_json(struct rpc_client *c, const json_t *v)
{
	return dse_buf_append_json(&c->out, v, SIZE_MAX, MAX_OUT);
}

/* Queues the answer 'resp' (owned; NULL: none) as a line.  Returns 0 or a negative errno. */
static int client_queue(struct dse_rpc_server *srv, struct rpc_client *c, json_t *resp)
{
	long n;

	if (resp == NULL)
		return 0;
	n = out_json(c, resp);
	json_decref(resp);
	if (n < 0)
		return (int)n;
	if ((size_t)n > BUF_KEEP)
		srv->trim_bytes += (size_t)n;
	return out_append(c, "\n", 1);
}

/* Sends what the output of 'c' holds, as far as its socket takes it.  Returns 0 or <0 to close. */
static int client_write(struct dse_rpc_server *srv, struct rpc_client *c, int64_t now)
{
	while (out_pending(c) > 0) {
		ssize_t n = conn_write(c, c->out.data + c->out.off, out_pending(c));

		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return (int)n;
		c->out.off += (size_t)n;
		c->progress_ms = now;
	}
	c->out.off = c->out.len = 0;
	if (c->out.cap > BUF_KEEP) {
		note_free(srv, c->out.cap);
		dse_buf_release(&c->out);
	}
	return 0;
}

/* Queues an error for 'c' and sends what can go at once, before the client is closed. */
static void client_last_words(struct dse_rpc_server *srv, struct rpc_client *c, int code,
			      const char *msg)
{
	if (client_queue(srv, c, make_error(NULL, code, msg)) == 0)
		conn_write(c, c->out.data + c->out.off, out_pending(c));
}

/* Answers a line over the limit with an error and asks for the client to be closed. */
static int client_refuse_long(struct dse_rpc_server *srv, struct rpc_client *c)
{
	client_last_words(srv, c, DSE_RPC_INVALID_REQUEST, "request line longer than 4 MiB");
	return -E2BIG;
}

/*
 * Reads what client 'c' sent, at most READ_TURN bytes and only until a
 * whole line is in.  Returns 0, or <0 to close the client.
 */
static int client_read(struct dse_rpc_server *srv, struct rpc_client *c, int64_t now)
{
	size_t got = 0;

	while (got < READ_TURN) {
		ssize_t n;

		if (c->in_off == c->in_len)
			c->in_off = c->in_len = c->scan_off = 0;
		if (c->in_cap - c->in_len < READ_CHUNK && c->in_off > 0) {
			memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
			c->in_len -= c->in_off;
			c->scan_off -= c->in_off;
			c->in_off = 0;
		}
		if (c->in_cap - c->in_len < READ_CHUNK) {
			/* Room for the longest line, its newline and one more read. */
			size_t cap = c->in_cap ? c->in_cap * 2 : 2 * READ_CHUNK;
			char *p;

			if (cap > DSE_RPC_MAX_LINE + 2 * READ_CHUNK)
				cap = DSE_RPC_MAX_LINE + 2 * READ_CHUNK;
			p = realloc(c->in, cap);
			if (p == NULL)
				return -ENOMEM;
			c->in = p;
			c->in_cap = cap;
		}
		n = conn_read(c, c->in + c->in_len, c->in_cap - c->in_len);
		if (n == -EAGAIN)
			break;
		if (n == 0) {
			/* The client closed its side: answer what it sent, then close. */
			c->eof = true;
			break;
		}
		if (n < 0)
			return (int)n;
		c->in_len += (size_t)n;
		got += (size_t)n;
		if (line_ready(c))
			break;
		if (c->in_len - c->in_off > DSE_RPC_MAX_LINE)
			return client_refuse_long(srv, c);
	}
	if (c->in_len > c->in_off && c->line_start_ms == 0 && !line_ready(c))
		c->line_start_ms = now;
	return 0;
}

/* Starts answering request line 'text' of 'len' bytes of 'c'.  Returns 0 or <0 to close. */
static int client_request(struct dse_rpc_server *srv, struct rpc_client *c, const char *text,
			  size_t len)
{
	json_t *req, *resp;

	/* A large request leaves a large parse tree behind. */
	if (len > BUF_KEEP)
		srv->trim_bytes += len;
	req = parse_request(srv, text, len, &resp);
	if (req == NULL)
		return client_queue(srv, c, resp);
	if (json_is_array(req) && json_array_size(req) > 0 &&
	    json_array_size(req) <= srv->lim.max_batch) {
		c->batch = req;
		c->batch_next = 0;
		c->batch_bytes = 0;
		c->batch_open = false;
		return 0;
	}
	srv->defer_from = c;
	resp = dispatch(srv, c, req);
	srv->defer_from = NULL;
	json_decref(req);
	return client_queue(srv, c, resp);
}

/* Answers the next entry of the batch of 'c'.  Returns 0 or <0 to close. */
static int batch_step(struct dse_rpc_server *srv, struct rpc_client *c)
{
	json_t *resp = batch_entry(srv, c, json_array_get(c->batch, c->batch_next), c->batch_bytes);
	int r = 0;

	c->batch_next++;
	if (resp) {
		long n;

		r = out_append(c, c->batch_open ? "," : "[", 1);
		n = r < 0 ? r : out_json(c, resp);
		json_decref(resp);
		if (n < 0)
			return (int)n;
		c->batch_bytes += (size_t)n + 1;
		c->batch_open = true;
	}
	if (c->batch_next == json_array_size(c->batch)) {
		if (c->batch_open)
			r = out_append(c, "]\n", 2);
		if (c->batch_bytes > BUF_KEEP)
			srv->trim_bytes += c->batch_bytes;
		json_decref(c->batch);
		c->batch = NULL;
	}
	return r;
}

/*
 * Runs what 'c' asked for, within its turn: at most turn_calls calls (a
 * request, a batch entry or a blank line each) and turn_us microseconds
 * (the call under way finishes), and only while its queued answers are
 * below out_high.  Returns 0 or <0 to close.
 */
static int client_run(struct dse_rpc_server *srv, struct rpc_client *c, int64_t now)
{
	int64_t start = mono_us();
	unsigned calls = 0;
	int r;

	for (;;) {
		const char *line;
		size_t len;

		if (out_pending(c) >= srv->lim.out_high || c->deferred)
			break;
		if (calls > 0 &&
		    (calls >= srv->lim.turn_calls || mono_us() - start >= srv->lim.turn_us))
			break;
		if (c->batch) {
			r = batch_step(srv, c);
			if (r < 0)
				return r;
			calls++;
			continue;
		}
		if (!line_ready(c))
			break;
		line = c->in + c->in_off;
		len = c->scan_off - c->in_off;
		c->in_off = c->scan_off + 1;
		c->scan_off = c->in_off;
		c->line_start_ms = 0;
		c->progress_ms = now;
		if (len > DSE_RPC_MAX_LINE)
			return client_refuse_long(srv, c);
		if (len > 0 && line[len - 1] == '\r')
			len--;
		/* A blank line asks for nothing, but counts: a flood of them is bounded too. */
		r = len ? client_request(srv, c, line, len) : 0;
		if (r < 0)
			return r;
		calls++;
	}
	if (c->in_off == c->in_len) {
		c->in_off = c->in_len = c->scan_off = 0;
		if (c->in_cap > BUF_KEEP) {
			note_free(srv, c->in_cap);
			free(c->in);
			c->in = NULL;
			c->in_cap = 0;
		}
	} else if (c->line_start_ms == 0 && !line_ready(c)) {
		c->line_start_ms = now;
	}
	return 0;
}

/* ---- making room ---- */

/*
 * The client of 'pool' to close to make room: the oldest handshake, or the
 * client gone longest without progress among those the server has no work
 * for (stalled, idle, or not reading its answers).  NULL when every client
 * has work under way.
 */
static struct rpc_client *pool_victim(const struct dse_rpc_server *srv, enum rpc_pool pool)
{
	struct rpc_client *best = NULL;

	for (unsigned i = 0; i < srv->n_clients; i++) {
		struct rpc_client *c = srv->clients[i];

		if (c->closed || c->pool != pool)
			continue;
		if (pool == POOL_HANDSHAKE) {
			if (best == NULL || c->hs_deadline_ms < best->hs_deadline_ms)
				best = c;
			continue;
		}
		/* A client waiting for its deferred answer has work under way, the server's. */
		if (has_work(srv, c) || c->deferred)
			continue;
		if (best == NULL || c->progress_ms < best->progress_ms)
			best = c;
	}
	return best;
}

static void tls_refuse(struct dse_rpc_server *srv, struct rpc_client *c, int r, const char *why);

/* Refusal reasons of TLS clients, for their counters. */
#define REFUSED_EVICTED (-EBUSY)
#define REFUSED_FULL    (-EUSERS)

/*
 * Makes room for one more client in 'pool', closing others as
 * pool_victim() picks them.  Returns false when no room can be made.
 */
static bool pool_make_room(struct dse_rpc_server *srv, enum rpc_pool pool)
{
	while (srv->in_pool[pool] >= pool_limit(srv, pool)) {
		struct rpc_client *v = pool_victim(srv, pool);

		if (v == NULL)
			return false;
		if (pool == POOL_HANDSHAKE) {
			tls_refuse(srv, v, REFUSED_EVICTED,
				   "still in its handshake when a newer one needed the slot");
		} else {
			pool_stats(srv, pool)->evicted++;
			client_drop(srv, v,
				    "evicted: it was the longest stalled or idle when a new "
				    "client needed its slot");
		}
	}
	return true;
}

/*
 * Closes client 'c' when one of its deadlines passed: the handshake, the
 * line it started, or its idle time.
 */
static void client_expire(struct dse_rpc_server *srv, struct rpc_client *c, int64_t now)
{
	char msg[160];

	if (c->closed)
		return;
	if (c->handshaking) {
		if (now >= c->hs_deadline_ms)
			tls_refuse(srv, c, -ETIMEDOUT, "no TLS handshake within the time limit");
		return;
	}
	if (c->line_start_ms && now - c->line_start_ms >= srv->lim.line_timeout_ms) {
		snprintf(msg, sizeof(msg), "request line not finished within %d ms",
			 srv->lim.line_timeout_ms);
		client_last_words(srv, c, DSE_RPC_INVALID_REQUEST, msg);
		pool_stats(srv, c->pool)->closed_line_timeout++;
		client_drop(srv, c, msg);
		return;
	}
	if (!has_work(srv, c) && !(c->streaming && out_pending(c) == 0) && c->deferred == NULL &&
	    now - c->progress_ms >= srv->lim.idle_timeout_ms) {
		pool_stats(srv, c->pool)->closed_idle++;
		client_drop(srv, c, "idle: no request and no answer read for the idle time limit");
	}
}

/* The next deadline of 'c' (ms of mono_ms()), or -1. */
static int64_t client_deadline(const struct dse_rpc_server *srv, struct rpc_client *c)
{
	int64_t d;

	if (c->handshaking)
		return c->hs_deadline_ms;
	if (has_work(srv, c) || (c->streaming && out_pending(c) == 0) || c->deferred)
		return -1;
	d = c->progress_ms + srv->lim.idle_timeout_ms;
	if (c->line_start_ms && c->line_start_ms + srv->lim.line_timeout_ms < d)
		d = c->line_start_ms + srv->lim.line_timeout_ms;
	return d;
}

/* ---- notifications ---- */

/* The open client of connection 'conn', or NULL. */
static struct rpc_client *conn_find(const struct dse_rpc_server *srv, uint64_t conn)
{
	for (unsigned i = 0; i < srv->n_clients; i++) {
		struct rpc_client *c = srv->clients[i];

		if (c->conn_id == conn && !c->closed)
			return c->handshaking ? NULL : c;
	}
	return NULL;
}

/* ---- deferred answers ---- */

struct dse_rpc_deferred *dse_rpc_defer(struct dse_rpc_call *call)
{
	struct dse_rpc_server *srv = call->srv;
	struct rpc_client *c;
	struct dse_rpc_deferred *d;

	if (!call->deferrable || srv == NULL || (c = conn_find(srv, call->conn)) == NULL ||
	    c->deferred != NULL) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->srv = srv;
	d->conn = call->conn;
	d->id = call->id ? json_incref(call->id) : NULL;
	snprintf(d->method, sizeof(d->method), "%s", call->api ? call->api->name : "call");
	d->next = srv->deferred;
	if (d->next)
		d->next->prev = d;
	srv->deferred = d;
	srv->n_deferred++;
	c->deferred = d;
	return d;
}

/* Sends 'resp' (owned) for 'd' if its client is still there, and frees 'd'. */
static void deferred_finish(struct dse_rpc_deferred *d, json_t *resp)
{
	struct dse_rpc_server *srv = d->srv;

	if (srv != NULL) {
		struct rpc_client *c = conn_find(srv, d->conn);

		if (d->prev)
			d->prev->next = d->next;
		else
			srv->deferred = d->next;
		if (d->next)
			d->next->prev = d->prev;
		srv->n_deferred--;
		if (c != NULL && c->deferred == d) {
			c->deferred = NULL;
			/* The wait was the server's: the client's idle time starts now. */
			c->progress_ms = mono_ms();
			if (d->id != NULL) {
				if (client_queue(srv, c, resp) < 0)
					client_drop(srv, c, "out of memory for an answer");
				resp = NULL;
			}
		}
	}
	json_decref(resp);
	json_decref(d->id);
	free(d);
}

void dse_rpc_deferred_reply(struct dse_rpc_deferred *d, json_t *result)
{
	if (d == NULL) {
		json_decref(result);
		return;
	}
	deferred_finish(d, json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id",
				     d->id ? d->id : json_null(), "result",
				     result ? result : json_null()));
}

void dse_rpc_deferred_error(struct dse_rpc_deferred *d, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (d == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	deferred_finish(d, make_error(d->id, code, msg));
}

unsigned dse_rpc_deferred_count(const struct dse_rpc_server *srv)
{
	return srv->n_deferred;
}

int dse_rpc_notify(struct dse_rpc_server *srv, uint64_t conn, const char *method, json_t *params,
		   size_t max_queued)
{
	struct rpc_client *c = conn != 0 ? conn_find(srv, conn) : NULL;
	json_t *note;
	size_t before;
	int r;

	if (c == NULL) {
		json_decref(params);
		return -ENOENT;
	}
	if (out_pending(c) >= max_queued) {
		json_decref(params);
		return -ENOBUFS;
	}
	note = params != NULL ? json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method", method,
					  "params", params)
			      : json_pack("{s:s, s:s}", "jsonrpc", "2.0", "method", method);
	if (note == NULL)
		return -ENOMEM;
	/* Inside a batch's answer the line is not ours to cut: the notification waits. */
	if (c->batch_open) {
		json_decref(note);
		return -EAGAIN;
	}
	before = out_pending(c);
	/*
	 * A stream waiting for notifications was not idle: its idle time
	 * counts from the first one it is sent.
	 */
	if (c->streaming && before == 0)
		c->progress_ms = mono_ms();
	r = client_queue(srv, c, note);
	if (r < 0) {
		/* Never leave half a line: the client could not parse what follows. */
		c->out.len = c->out.off + before;
		return r == -ENOBUFS ? -ENOMEM : r;
	}
	return 0;
}

long dse_rpc_conn_queued(const struct dse_rpc_server *srv, uint64_t conn)
{
	const struct rpc_client *c = conn_find(srv, conn);

	return c != NULL ? (long)out_pending(c) : -ENOENT;
}

int dse_rpc_conn_set_streaming(struct dse_rpc_server *srv, uint64_t conn)
{
	struct rpc_client *c = conn_find(srv, conn);

	if (c == NULL)
		return -ENOENT;
	c->streaming = true;
	return 0;
}

void dse_rpc_server_set_close_hook(struct dse_rpc_server *srv, void (*fn)(void *arg, uint64_t conn),
				   void *arg)
{
	srv->close_fn = fn;
	srv->close_arg = arg;
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
	if (bind(fd, &sa.sa, salen) < 0 || listen(fd, BACKLOG) < 0) {
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
	srv->lim.handshake_timeout_ms = timeout_ms < 1 ? 1 : timeout_ms;
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
	ret->handshaking = srv->in_pool[POOL_HANDSHAKE];
	ret->active = srv->in_pool[POOL_HANDSHAKE] + srv->in_pool[POOL_TLS];
}

void dse_rpc_server_stats(const struct dse_rpc_server *srv, struct dse_rpc_server_stats *ret)
{
	*ret = srv->stats;
	ret->unix_clients.active = srv->in_pool[POOL_UNIX];
	ret->tls_clients.active = srv->in_pool[POOL_TLS];
	ret->out_queued = ret->in_buffered = 0;
	for (unsigned i = 0; i < srv->n_clients; i++) {
		const struct rpc_client *c = srv->clients[i];

		ret->out_queued += out_pending(c);
		ret->in_buffered += c->in_len - c->in_off;
	}
}

static json_t *conn_stats_json(const struct dse_rpc_conn_stats *st)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "active", (json_int_t)st->active,
			 "accepted", (json_int_t)st->accepted, "evicted", (json_int_t)st->evicted,
			 "refused_full", (json_int_t)st->refused_full, "closed_line_timeout",
			 (json_int_t)st->closed_line_timeout, "closed_idle",
			 (json_int_t)st->closed_idle);
}

json_t *dse_rpc_server_stats_json(const struct dse_rpc_server *srv)
{
	struct dse_rpc_server_stats st;

	dse_rpc_server_stats(srv, &st);
	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:I}", "unix",
			 conn_stats_json(&st.unix_clients), "tls", conn_stats_json(&st.tls_clients),
			 "batches_refused", (json_int_t)st.batches_refused, "entries_skipped",
			 (json_int_t)st.entries_skipped, "backpressured",
			 (json_int_t)st.backpressured, "out_queued", (json_int_t)st.out_queued,
			 "in_buffered", (json_int_t)st.in_buffered);
}

/* A TCP peer's address as the address of the socket: IPv4 or IPv6. */
union peer_addr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

static void format_peer(const union peer_addr *pa, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (pa->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &pa->in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(pa->in6.sin6_port));
	} else {
		inet_ntop(AF_INET, &pa->in4.sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(pa->in4.sin_port));
	}
}

/*
 * The key of the source address 'pa' for its rate: an IPv4 address (also
 * one mapped into IPv6) whole, an IPv6 address by its /64, the block one
 * site gets.  Returns the key's length, 0 for another family.
 */
static size_t rate_key(const union peer_addr *pa, uint8_t key[8])
{
	if (pa->sa.sa_family == AF_INET) {
		memcpy(key, &pa->in4.sin_addr, 4);
		return 4;
	}
	if (pa->sa.sa_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&pa->in6.sin6_addr)) {
		memcpy(key, pa->in6.sin6_addr.s6_addr + 12, 4);
		return 4;
	}
	memcpy(key, pa->in6.sin6_addr.s6_addr, 8);
	return 8;
}

/* The slot of source 'key' ('len' bytes) in the rate table, or NULL. */
static struct rate_slot *rate_find(struct dse_rpc_server *srv, const uint8_t *key, size_t len)
{
	for (unsigned i = 0; i < RATE_SLOTS; i++)
		if (srv->rate[i].key_len == len && memcmp(srv->rate[i].key, key, len) == 0)
			return &srv->rate[i];
	return NULL;
}

/*
 * Takes a token of the bucket of the source 'key' ('len' bytes; tls_rate
 * a second, up to tls_burst).  Returns false when it has none left.  An
 * address not in the table takes the least recently used slot with a full
 * bucket.
 */
static bool rate_take(struct dse_rpc_server *srv, const uint8_t *key, size_t len, int64_t now)
{
	const int64_t full = (int64_t)srv->lim.tls_burst * 1000;
	struct rate_slot *s = NULL, *lru = &srv->rate[0];

	if (len == 0)
		return true;
	s = rate_find(srv, key, len);
	for (unsigned i = 0; s == NULL && i < RATE_SLOTS; i++) {
		struct rate_slot *e = &srv->rate[i];

		if (e->key_len == 0 || (lru->key_len != 0 && e->last_ms < lru->last_ms))
			lru = e;
	}
	if (s == NULL) {
		s = lru;
		memcpy(s->key, key, len);
		s->key_len = (uint8_t)len;
		s->tokens = full;
		s->last_ms = now;
	}
	/* tls_rate tokens a second are tls_rate thousandths a millisecond. */
	s->tokens += (now - s->last_ms) * (int64_t)srv->lim.tls_rate;
	if (s->tokens > full)
		s->tokens = full;
	s->last_ms = now;
	if (s->tokens < 1000)
		return false;
	s->tokens -= 1000;
	return true;
}

/*
 * Gives back the token that client 'c' took: the rate is one of
 * unauthenticated connections, and 'c' authenticated.
 */
static void rate_refund(struct dse_rpc_server *srv, const struct rpc_client *c)
{
	struct rate_slot *s = rate_find(srv, c->rate_key, c->rate_key_len);

	if (c->rate_key_len == 0 || s == NULL)
		return;
	s->tokens += 1000;
	if (s->tokens > (int64_t)srv->lim.tls_burst * 1000)
		s->tokens = (int64_t)srv->lim.tls_burst * 1000;
}

/* Counts a TLS refusal 'r' (a negative errno) and logs it, rate limited. */
static void tls_count_refusal(struct dse_rpc_server *srv, const char *peer, int r, const char *why)
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
	case -EAGAIN:
		st->refused_rate++;
		break;
	case REFUSED_EVICTED:
		st->refused_evicted++;
		break;
	case REFUSED_FULL:
		st->refused_full++;
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
				     peer, why, suppressed);
		else
			DSE_LOG_WARN("rpc", "refused TLS client %s: %s", peer, why);
	}
}

/* Counts and logs the refusal of client 'c', then closes it. */
static void tls_refuse(struct dse_rpc_server *srv, struct rpc_client *c, int r, const char *why)
{
	tls_count_refusal(srv, c->peer, r, why);
	client_close(srv, c);
}

/* Takes the connections waiting on the TLS listener, as far as the limits let them in. */
static void tls_accept(struct dse_rpc_server *srv, int64_t now)
{
	for (unsigned k = 0; k < ACCEPT_TURN; k++) {
		union peer_addr pa = {0};
		socklen_t sl = sizeof(pa);
		int fd = accept4(srv->tls_fd, &pa.sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct rpc_client *c;
		uint8_t key[8];
		size_t key_len;
		char peer[64];
		SSL *ssl;

		if (fd < 0)
			return;
		srv->tls_stats.accepted++;
		format_peer(&pa, peer, sizeof(peer));
		key_len = rate_key(&pa, key);
		/* Before any TLS work: a handshake costs the server more than the client. */
		if (!rate_take(srv, key, key_len, now)) {
			close(fd);
			tls_count_refusal(srv, peer, -EAGAIN,
					  "its address opened more connections than the limit");
			continue;
		}
		pool_make_room(srv, POOL_HANDSHAKE);
		ssl = dse_tls_server_new(srv->tls_ctx, fd);
		c = ssl ? client_add(srv, fd, POOL_HANDSHAKE, now) : NULL;
		if (c == NULL) {
			SSL_free(ssl);
			if (ssl == NULL)
				close(fd);
			tls_count_refusal(srv, peer, -ENOMEM, "out of memory");
			continue;
		}
		c->ssl = ssl;
		c->handshaking = true;
		c->hs_deadline_ms = now + srv->lim.handshake_timeout_ms;
		memcpy(c->rate_key, key, key_len);
		c->rate_key_len = (uint8_t)key_len;
		snprintf(c->peer, sizeof(c->peer), "%s", peer);
	}
}

/*
 * Steps the handshake of client 'c'; once it completes, the client takes
 * an authenticated slot (making room if needed).  Returns 0 while it goes
 * on or when it completed, or -1 when the client was refused (and closed).
 */
static int tls_step(struct dse_rpc_server *srv, struct rpc_client *c, int64_t now)
{
	char why[256], cn[128];
	int r = dse_tls_handshake(c->ssl, &c->tls_read_events, why, sizeof(why));

	if (r == -EAGAIN)
		return 0;
	if (r < 0) {
		tls_refuse(srv, c, r, why);
		return -1;
	}
	if (!pool_make_room(srv, POOL_TLS)) {
		tls_refuse(srv, c, REFUSED_FULL, "every authenticated slot is busy");
		return -1;
	}
	srv->in_pool[POOL_HANDSHAKE]--;
	srv->in_pool[POOL_TLS]++;
	c->pool = POOL_TLS;
	c->handshaking = false;
	c->tls_read_events = 0;
	c->progress_ms = now;
	srv->tls_stats.established++;
	srv->stats.tls_clients.accepted++;
	rate_refund(srv, c);
	if (dse_tls_peer_cn(c->ssl, cn, sizeof(cn)) < 0)
		snprintf(cn, sizeof(cn), "?");
	DSE_LOG_INFO("rpc", "TLS client %s connected (certificate '%s')", c->peer, cn);
	return 0;
}

/* Takes the connections waiting on the Unix socket, as far as the limits let them in. */
static void unix_accept(struct dse_rpc_server *srv, int64_t now)
{
	for (unsigned k = 0; k < ACCEPT_TURN; k++) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct rpc_client *c;
		struct ucred cred;
		socklen_t len = sizeof(cred);

		if (fd < 0)
			return;
		if (!pool_make_room(srv, POOL_UNIX)) {
			close(fd);
			srv->stats.unix_clients.refused_full++;
			continue;
		}
		c = client_add(srv, fd, POOL_UNIX, now);
		if (c == NULL)
			continue;
		srv->stats.unix_clients.accepted++;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
			snprintf(c->peer, sizeof(c->peer), "pid %d", (int)cred.pid);
		else
			snprintf(c->peer, sizeof(c->peer), "?");
	}
}

/* ---- the loop ---- */

/* The events to poll 'c' for this turn. */
static short client_events(const struct dse_rpc_server *srv, struct rpc_client *c)
{
	short ev = 0;

	if (c->handshaking)
		return c->tls_read_events ? c->tls_read_events : POLLIN;
	if (wants_read(srv, c))
		ev |= c->tls_read_events ? c->tls_read_events : POLLIN;
	if (out_pending(c))
		ev |= c->tls_write_events ? c->tls_write_events : POLLOUT;
	return ev;
}

/* Serves client 'c' for one turn, 'revents' being what poll() saw on it. */
static void client_serve(struct dse_rpc_server *srv, struct rpc_client *c, short revents,
			 int64_t now)
{
	if (c->handshaking) {
		if (revents == 0 || tls_step(srv, c, now) < 0 || c->handshaking)
			return;
		/* The first request may have come with the handshake's last flight. */
		revents |= POLLIN;
	}
	if (revents & POLLNVAL)
		goto close;
	/* Sending first makes room for the answers of this turn. */
	if (out_pending(c) && client_write(srv, c, now) < 0)
		goto close;
	if (wants_read(srv, c) && (revents || (c->ssl && SSL_pending(c->ssl) > 0)) &&
	    client_read(srv, c, now) < 0)
		goto close;
	if (client_run(srv, c, now) < 0)
		goto close;
	if (out_pending(c) && client_write(srv, c, now) < 0)
		goto close;
	if (!c->held && out_pending(c) >= srv->lim.out_high)
		srv->stats.backpressured++;
	c->held = out_pending(c) >= srv->lim.out_high;
	/* A peer gone for good, with nothing left to run, or done after its end of stream. */
	if ((revents & (POLLERR | POLLHUP)) && !(revents & POLLIN) && !has_work(srv, c))
		goto close;
	if (c->eof && !has_work(srv, c) && out_pending(c) == 0 && c->deferred == NULL)
		goto close;
	return;
close:
	client_close(srv, c);
}

/* Trims the heap after large frees, at most every TRIM_EVERY_MS. */
static void heap_trim(struct dse_rpc_server *srv, int64_t now)
{
	if (srv->trim_bytes < TRIM_MIN || now - srv->last_trim_ms < TRIM_EVERY_MS)
		return;
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	srv->trim_bytes = 0;
	srv->last_trim_ms = now;
}

/* Makes room for 'cap' entries in the poll set.  Returns 0 or -ENOMEM. */
static int pfd_grow(struct dse_rpc_server *srv, unsigned cap)
{
	struct pollfd *p = realloc(srv->pfd, cap * sizeof(*p));
	uint64_t *id;

	if (p == NULL)
		return -ENOMEM;
	srv->pfd = p;
	id = realloc(srv->pfd_id, cap * sizeof(*id));
	if (id == NULL)
		return -ENOMEM;
	srv->pfd_id = id;
	srv->cap_pfd = cap;
	return 0;
}

/*
 * The first half of a turn: closes the clients past their deadlines and
 * builds the poll set in srv->pfd.  Sets '*ret_wait' to how long the turn
 * may wait, at most 'timeout_ms' (less when a deadline comes sooner, 0
 * when a client has work left).  Returns 0 or -ENOMEM.
 */
static int poll_prepare(struct dse_rpc_server *srv, int timeout_ms, int *ret_wait)
{
	int64_t now = mono_ms(), next = -1;
	bool work = false;
	unsigned n = 0;

	for (unsigned i = 0; i < srv->n_clients; i++)
		client_expire(srv, srv->clients[i], now);
	clients_compact(srv);
	if (srv->cap_pfd < srv->n_clients + 2 && pfd_grow(srv, srv->n_clients + 2 + 32) < 0)
		return -ENOMEM;
	/* The listeners are always polled: a full pool makes room or refuses, never stalls. */
	srv->pfd_unix = srv->pfd_tls = -1;
	if (srv->listen_fd >= 0) {
		srv->pfd_unix = (int)n;
		srv->pfd_id[n] = 0;
		srv->pfd[n++] = (struct pollfd){.fd = srv->listen_fd, .events = POLLIN};
	}
	if (srv->tls_fd >= 0) {
		srv->pfd_tls = (int)n;
		srv->pfd_id[n] = 0;
		srv->pfd[n++] = (struct pollfd){.fd = srv->tls_fd, .events = POLLIN};
	}
	for (unsigned i = 0; i < srv->n_clients; i++) {
		struct rpc_client *c = srv->clients[i];
		int64_t d = client_deadline(srv, c);

		if (has_work(srv, c))
			work = true;
		if (d >= 0 && (next < 0 || d < next))
			next = d;
		c->pfd = (int)n;
		srv->pfd_id[n] = c->conn_id;
		srv->pfd[n++] = (struct pollfd){.fd = c->fd, .events = client_events(srv, c)};
	}
	srv->n_pfd = n;
	if (srv->trim_bytes >= TRIM_MIN &&
	    (next < 0 || srv->last_trim_ms + TRIM_EVERY_MS < next))
		next = srv->last_trim_ms + TRIM_EVERY_MS;
	if (work) {
		timeout_ms = 0;
	} else if (next >= 0) {
		int64_t left = next - now;

		if (left < 0)
			left = 0;
		if (timeout_ms < 0 || left < timeout_ms)
			timeout_ms = (int)left;
	}
	*ret_wait = timeout_ms;
	return 0;
}

/*
 * The second half of a turn, once poll() filled the revents of srv->pfd:
 * serves the clients round-robin and accepts new ones.
 */
static void poll_serve(struct dse_rpc_server *srv)
{
	int64_t now = mono_ms();
	unsigned nc = srv->n_clients, start;

	/* Round-robin: each turn starts with the next client. */
	start = nc ? srv->rr++ % nc : 0;
	for (unsigned k = 0; k < nc; k++) {
		struct rpc_client *c = srv->clients[(start + k) % nc];
		short revents = srv->pfd[c->pfd].revents;

		if (!c->closed && (revents || has_work(srv, c)))
			client_serve(srv, c, revents, now);
	}
	if (srv->pfd_unix >= 0 && (srv->pfd[srv->pfd_unix].revents & POLLIN))
		unix_accept(srv, now);
	if (srv->pfd_tls >= 0 && (srv->pfd[srv->pfd_tls].revents & POLLIN))
		tls_accept(srv, now);
	clients_compact(srv);
	heap_trim(srv, now);
}

int dse_rpc_poll(struct dse_rpc_server *srv, int timeout_ms)
{
	int wait, r = poll_prepare(srv, timeout_ms, &wait);

	if (r < 0)
		return r;
	r = poll(srv->pfd, srv->n_pfd, wait);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	poll_serve(srv);
	return 0;
}

int dse_rpc_poll_prepare(struct dse_rpc_server *srv, const struct pollfd **ret_fds,
			 const uint64_t **ret_ids, unsigned *ret_n, int *ret_timeout_ms)
{
	int r = poll_prepare(srv, -1, ret_timeout_ms);

	if (r < 0)
		return r;
	*ret_fds = srv->pfd;
	*ret_ids = srv->pfd_id;
	*ret_n = srv->n_pfd;
	return 0;
}

void dse_rpc_server_free(struct dse_rpc_server *srv)
{
	if (srv == NULL)
		return;
	/* Calls still deferred answer into nothing from now on. */
	for (struct dse_rpc_deferred *d = srv->deferred; d; d = d->next)
		d->srv = NULL;
	for (unsigned i = 0; i < srv->n_clients; i++)
		client_close(srv, srv->clients[i]);
	clients_compact(srv);
	free(srv->clients);
	free(srv->pfd);
	free(srv->pfd_id);
	free(srv->api_of);
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
