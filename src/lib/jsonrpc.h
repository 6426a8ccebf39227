/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON-RPC 2.0 over a Unix stream socket and over TLS, one JSON text per
 * line in each direction.  A server owns a table of methods; each method is
 * one action function that the sockets, the startup config replay and the
 * unit tests all call through dse_rpc_dispatch().
 *
 * Every resource a client can make the server spend is bounded (struct
 * dse_rpc_limits, docs/api.md "Limits"): the length of a request line, the
 * entries of a batch and the bytes of its answer, the answers queued for a
 * client that does not read them (backpressure: its requests are not read
 * until it reads), the time a partial line or an idle connection may hold
 * a slot, the connections of each transport (a full transport makes room
 * by closing its longest-stalled or idle client), the TLS handshakes in
 * progress, their deadline and their rate per source address.  Clients are
 * served round-robin, a bounded number of calls and microseconds each per
 * turn of dse_rpc_poll(), so no client starves another and a turn of the
 * caller's loop stays short.
 */
#ifndef DSE_JSONRPC_H
#define DSE_JSONRPC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* JSON-RPC 2.0 error codes. */
#define DSE_RPC_PARSE_ERROR      -32700
#define DSE_RPC_INVALID_REQUEST  -32600
#define DSE_RPC_METHOD_NOT_FOUND -32601
#define DSE_RPC_INVALID_PARAMS   -32602
#define DSE_RPC_INTERNAL_ERROR   -32603
#define DSE_RPC_APP_ERROR        -32000
/*
 * A limit of the server refused this call before running it (a batch whose
 * answers reached DSE_RPC_MAX_REPLY): nothing of it was done, so it may be
 * sent again.  The message names the limit.
 */
#define DSE_RPC_LIMIT_ERROR      -32001

/* Largest request line accepted; a longer one is answered with an error. */
#define DSE_RPC_MAX_LINE (4u << 20)

/*
 * The default limits (struct dse_rpc_limits says what each one bounds).
 * They are sized for the daemons' clients: dsectl (one call per
 * connection), dse-hostd's session to each DPU (one connection, a
 * reconcile's calls pipelined up to 64 at once, a heartbeat every 500 ms
 * by default), scripts and tests.
 */
#define DSE_RPC_MAX_BATCH            1000
#define DSE_RPC_MAX_REPLY            (8u << 20)
#define DSE_RPC_OUT_HIGH             (64u << 10)
#define DSE_RPC_TURN_CALLS           4
#define DSE_RPC_TURN_US              200
#define DSE_RPC_MAX_UNIX_CLIENTS     64
#define DSE_RPC_MAX_TLS_CLIENTS      32
#define DSE_RPC_MAX_TLS_HANDSHAKES   16
#define DSE_RPC_HANDSHAKE_TIMEOUT_MS 2000
#define DSE_RPC_TLS_RATE             5
#define DSE_RPC_TLS_BURST            10
#define DSE_RPC_LINE_TIMEOUT_MS      5000
#define DSE_RPC_IDLE_TIMEOUT_MS      120000

/* One call being served: its params and, on failure, the error to return. */
struct dse_rpc_call {
	json_t *params;   /* always an object (an absent params is an empty object) */
	int err_code;     /* JSON-RPC error code when the handler fails */
	char err_msg[512]; /* message for a person; set by dse_rpc_error() */
	void *ctx;        /* the server's context pointer */
	struct dse_rpc_server *srv; /* the server dispatching the call */
	bool remote;      /* it came over the network (TLS), not the Unix socket or a replay */
	/*
	 * The connection it came on (dse_rpc_notify() sends to it), unique
	 * for the server's life; 0 when it came on none (the startup config).
	 */
	uint64_t conn;
	/*
	 * The params decoded by the method's schema (api.h): its args struct,
	 * struct dse_api_<program>_<method>; NULL on a server without one.
	 */
	const void *args;
	/* The method's schema entry, NULL on a server without one. */
	const struct dse_api_method *api;
	/* The request's id (borrowed; NULL for a notification). */
	json_t *id;
	/* The call may be answered later (dse_rpc_defer()). */
	bool deferrable;
};

/*
 * What a method returns after dse_rpc_defer(): the answer comes later, from
 * dse_rpc_deferred_reply() or dse_rpc_deferred_error().
 */
#define DSE_RPC_DEFERRED 1

/*
 * A method: 'fn' returns 0 and sets '*ret_result' (a new reference; NULL
 * means JSON null), or returns a negative errno after dse_rpc_error() (a
 * missing message is filled in from the errno).
 */
struct dse_rpc_method {
	const char *name;
	int (*fn)(struct dse_rpc_call *call, json_t **ret_result);
	/* One line: what it does and its params.  NULL on a server with a schema: it has the help. */
	const char *help;
	unsigned flags; /* DSE_RPC_LOCAL (a schema's 'local' sets it too) */
};

/*
 * A method only local clients may call (the Unix socket, the startup
 * config): over TLS it does not exist (unknown method), and rpc.list there
 * does not show it.
 */
#define DSE_RPC_LOCAL 0x1

struct dse_rpc_server;

/*
 * What the server lets one client, and all of them together, spend.  A
 * field of 0 means its default (DSE_RPC_*, above).
 */
struct dse_rpc_limits {
	/* Entries of one batch; a longer batch is refused whole before any runs. */
	unsigned max_batch;
	/*
	 * Bytes of the answers of one batch: once they are spent, the entries
	 * left are not run and each gets a DSE_RPC_LIMIT_ERROR answer.
	 */
	size_t max_reply;
	/*
	 * Answer bytes queued for one client above which its requests are no
	 * longer read or run, until it reads (backpressure).
	 */
	size_t out_high;
	/* Calls run for one client in one turn, at least one (a batch entry, a blank line: one). */
	unsigned turn_calls;
	/* Microseconds one client may take of a turn; the call under way finishes. */
	unsigned turn_us;
	/* Clients of the Unix socket at once. */
	unsigned max_unix_clients;
	/* Authenticated (handshake complete) TLS clients at once. */
	unsigned max_tls_clients;
	/* TLS clients in their handshake at once: unauthenticated, a pool of their own. */
	unsigned max_tls_handshakes;
	/* Milliseconds a TLS client has to complete its handshake. */
	int handshake_timeout_ms;
	/*
	 * New TLS connections a second from one source address (IPv6: one /64)
	 * that do not authenticate (one that does gives its token back) ...
	 */
	unsigned tls_rate;
	/* ... with bursts of up to this many. */
	unsigned tls_burst;
	/* Milliseconds a client may take to finish a request line it started. */
	int line_timeout_ms;
	/* Milliseconds a client may stay without a request or reading an answer. */
	int idle_timeout_ms;
};

/*
 * Creates a server with 'methods' (terminated by an entry with a NULL name,
 * kept by reference) and 'ctx' handed to each call.  Returns NULL on ENOMEM.
 */
struct dse_rpc_server *dse_rpc_server_new(const struct dse_rpc_method *methods, void *ctx);

/*
 * Listens on the Unix socket 'path' (replacing a stale socket file), with
 * file mode 'mode'.  Returns 0 or a negative errno.
 */
int dse_rpc_listen(struct dse_rpc_server *srv, const char *path, mode_t mode);

/*
 * Sets the limits of 'srv' to 'limits' (zero fields: the defaults).  Clients
 * already connected beyond a lowered connection limit stay until they
 * leave or are evicted.  Returns 0, or -EINVAL when a value is out of range
 * (a negative time, turn_us over a second, a connection limit over 4096,
 * max_reply or out_high over 32 MiB); the limits are then unchanged.
 */
int dse_rpc_server_set_limits(struct dse_rpc_server *srv, const struct dse_rpc_limits *limits);

/* Copies the limits in force (defaults filled in) to '*ret'. */
void dse_rpc_server_limits(const struct dse_rpc_server *srv, struct dse_rpc_limits *ret);

struct dse_tls_conf;

/*
 * Also listens on TCP 'addr' (an IPv4 or IPv6 address; NULL: every IPv4
 * address) port 'port' (0: the kernel picks one, see dse_rpc_tls_port())
 * for JSON-RPC over TLS 1.3 with mutual authentication ('tls': our
 * certificate and key, and the CA every client certificate must be signed
 * by).  The same dse_rpc_poll() serves both kinds of clients; handshakes
 * do not block it.  A client that does not complete a handshake with a
 * certificate of the CA that is the host's control identity
 * (dse_tls_server_ctx_new()) is refused (closed), counted by reason and
 * logged with the reason (rate limited).  Returns 0, or a negative errno
 * after writing a message for a person to 'err' (at most 'err_len' bytes):
 * -EALREADY when the server already listens on TCP, -EINVAL / -ENOENT for
 * bad TLS files, -EADDRINUSE...
 */
int dse_rpc_listen_tls(struct dse_rpc_server *srv, const char *addr, uint16_t port,
		       const struct dse_tls_conf *tls, char *err, size_t err_len);

/*
 * Sets how long a TLS client may take to complete its handshake, in
 * milliseconds (at least 1; the default is DSE_RPC_HANDSHAKE_TIMEOUT_MS):
 * the limit handshake_timeout_ms.
 */
void dse_rpc_tls_set_handshake_timeout(struct dse_rpc_server *srv, int timeout_ms);

/* Returns the TCP port of the TLS listener, or -ENOTCONN without one. */
int dse_rpc_tls_port(const struct dse_rpc_server *srv);

/* Counters of the TLS listener (all zero without one). */
struct dse_rpc_tls_stats {
	uint64_t accepted;        /* TCP connections accepted */
	uint64_t established;     /* handshakes completed with a verified client certificate */
	uint64_t refused;         /* connections refused: the sum of the refused_* below */
	uint64_t refused_not_tls; /* the client does not speak TLS 1.3 (a plain TCP client) */
	uint64_t refused_cert;    /* no client certificate, one the CA did not sign, or
				     a client that refused our certificate */
	uint64_t refused_role;    /* a certificate of the CA without the host's role (a
				     DPU's, or another name or key usage: tls.h) */
	uint64_t refused_timeout; /* no handshake within the limit handshake_timeout_ms */
	uint64_t refused_closed;  /* the client closed the connection during the handshake */
	uint64_t refused_rate;    /* its source address opened more than tls_rate a second */
	uint64_t refused_evicted; /* still in its handshake when the handshake slots were
				     full and a newer connection took its slot */
	uint64_t refused_full;    /* handshake done, but every authenticated slot was busy */
	uint64_t refused_other;   /* any other TLS failure */
	uint64_t active;          /* TLS clients connected now (handshaking or established) */
	uint64_t handshaking;     /* of those, in their handshake now */
};

/* Copies the TLS listener's counters to '*ret'. */
void dse_rpc_server_tls_stats(const struct dse_rpc_server *srv, struct dse_rpc_tls_stats *ret);

/* Counters of the connections of one transport (Unix, or authenticated TLS). */
struct dse_rpc_conn_stats {
	uint64_t active;       /* clients connected now */
	uint64_t accepted;     /* clients admitted (TLS: handshakes completed) */
	uint64_t evicted;      /* closed, longest stalled or idle, to make room for a new one */
	uint64_t refused_full; /* new clients refused: every slot busy, none to evict */
	uint64_t closed_line_timeout; /* closed: a started line not finished in line_timeout_ms */
	uint64_t closed_idle;  /* closed: no request and no answer read for idle_timeout_ms */
};

/* Counters of the whole server. */
struct dse_rpc_server_stats {
	struct dse_rpc_conn_stats unix_clients; /* the Unix socket */
	struct dse_rpc_conn_stats tls_clients;  /* authenticated TLS clients */
	uint64_t batches_refused;  /* batches of more than max_batch entries */
	uint64_t entries_skipped;  /* batch entries not run: their batch's max_reply was spent */
	uint64_t backpressured;    /* times a client's requests were held back: the answers
				      queued for it reached out_high */
	uint64_t out_queued;       /* answer bytes queued now, all clients */
	uint64_t in_buffered;      /* request bytes received and not yet run now, all clients */
};

/* Copies the server's counters to '*ret'. */
void dse_rpc_server_stats(const struct dse_rpc_server *srv, struct dse_rpc_server_stats *ret);

/*
 * The server's counters as JSON (new reference): {"unix": {...}, "tls":
 * {...}} with the fields of struct dse_rpc_conn_stats each, and the other
 * fields of struct dse_rpc_server_stats.  NULL on ENOMEM.
 */
json_t *dse_rpc_server_stats_json(const struct dse_rpc_server *srv);

/*
 * One turn of the server: waits up to 'timeout_ms' for activity (less when
 * a deadline comes sooner, not at all when a client has work left from the
 * last turn), then serves every client that is ready, each for at most
 * turn_calls calls and turn_us microseconds, starting with a different
 * client each turn; closes clients past their deadlines; accepts new
 * clients (making room as struct dse_rpc_limits says) and steps TLS
 * handshakes.  Returns 0 or a negative errno of poll(); errors of one client
 * only close that client.
 */
int dse_rpc_poll(struct dse_rpc_server *srv, int timeout_ms);

struct pollfd;

/*
 * The first half of dse_rpc_poll(), for a caller that waits in a loop of
 * its own: closes the clients past their deadlines, then sets '*ret_fds'
 * to the '*ret_n' fds and events dse_rpc_poll() would wait for, '*ret_ids'
 * to the connection of each (struct dse_rpc_call's conn; 0 for a
 * listener: an fd number that comes back with another id is another
 * socket) and '*ret_timeout_ms' to how long it would wait at most (-1: no
 * deadline, 0: it has work now).  The arrays are the server's, valid
 * until the next call into it.  Once an fd is ready or the time has
 * passed, dse_rpc_poll(srv, 0) serves them.  Returns 0 or -ENOMEM.
 */
int dse_rpc_poll_prepare(struct dse_rpc_server *srv, const struct pollfd **ret_fds,
			 const uint64_t **ret_ids, unsigned *ret_n, int *ret_timeout_ms);

struct dse_loop;
struct dse_rpc_server_loop;

/*
 * Serves 'srv' from the event loop 'loop' (evloop.h) instead of calls to
 * dse_rpc_poll(): before each wait of the loop, a prepare hook mirrors
 * the server's poll set into one epoll fd that the loop watches and
 * limits the wait to the server's next deadline; when that fd is ready or
 * the deadline has passed, one turn of the server runs (dse_rpc_poll(srv,
 * 0)), with every limit of struct dse_rpc_limits as before.  Answers and
 * notifications queued between turns (dse_rpc_notify() from a timer of
 * the loop) go out on the next turn.  Returns 0 and sets '*ret', or
 * -ENOMEM, -EMFILE...
 */
int dse_rpc_server_loop_attach(struct dse_rpc_server *srv, struct dse_loop *loop,
			       struct dse_rpc_server_loop **ret);

/*
 * Stops serving from the loop and frees 'sl'; call it before freeing the
 * server or the loop, and not from inside a method of that server (the
 * turn that runs it is on the stack).  NULL is fine.
 */
void dse_rpc_server_loop_detach(struct dse_rpc_server_loop *sl);

/*
 * Answers one parsed request (object or batch array) under the limits
 * max_batch and max_reply.  Returns the response (new reference), or NULL
 * when nothing is to be sent (notifications).
 */
json_t *dse_rpc_dispatch(struct dse_rpc_server *srv, json_t *req);

/* Answers one request line 'buf' of 'len' bytes; same return as dispatch. */
json_t *dse_rpc_dispatch_text(struct dse_rpc_server *srv, const char *buf, size_t len);

/*
 * Queues the JSON-RPC notification 'method' with 'params' (an object or
 * array; stolen, NULL for none) for connection 'conn' (struct
 * dse_rpc_call's conn), after what is queued for it already; the next
 * dse_rpc_poll() sends it.  Nothing is queued when the answers and
 * notifications waiting for it already take 'max_queued' bytes or more, so
 * a client that does not read costs the server at most that much.
 * Returns 0, -ENOENT when the connection is closed, -ENOBUFS when it is
 * full (nothing queued), -EAGAIN while the answer of a batch is being
 * written to it (a line may not be cut; nothing queued) or -ENOMEM.
 */
int dse_rpc_notify(struct dse_rpc_server *srv, uint64_t conn, const char *method, json_t *params,
		   size_t max_queued);

/* Returns the bytes queued for connection 'conn' and not sent yet, or -ENOENT. */
long dse_rpc_conn_queued(const struct dse_rpc_server *srv, uint64_t conn);

/*
 * Marks connection 'conn' as a stream of notifications: while nothing is
 * queued for it, the idle time limit does not close it (it waits for
 * notifications, not for answers); once something is, the client has the
 * idle time limit to read it.  Returns 0 or -ENOENT.
 */
int dse_rpc_conn_set_streaming(struct dse_rpc_server *srv, uint64_t conn);

/*
 * Has 'fn(arg, conn)' called whenever a connection closes (NULL: never),
 * so that what was kept for it can go.  'fn' must not call back into the
 * server other than to read it.
 */
void dse_rpc_server_set_close_hook(struct dse_rpc_server *srv, void (*fn)(void *arg, uint64_t conn),
				   void *arg);

/*
 * Closes every client and the listening sockets, removes the socket file,
 * frees.  NULL is fine.
 */
void dse_rpc_server_free(struct dse_rpc_server *srv);

/* Returns the method table. */
const struct dse_rpc_method *dse_rpc_methods(const struct dse_rpc_server *srv);

struct dse_api_program;

/*
 * Binds the methods of 'srv' to the schema 'prog' (api.h): from then on
 * every call's params are decoded by it before the handler runs (call->args),
 * old names listed as aliases reach their method, and rpc.list and the help
 * come from it.  Every served method must be in the schema and every method
 * of the schema served (those flagged test_clock only when 'test_clock'):
 * otherwise returns -ENOENT after writing which method to 'err'.
 */
int dse_rpc_server_set_api(struct dse_rpc_server *srv, const struct dse_api_program *prog,
			   bool test_clock, char *err, size_t len);

/*
 * The answer of rpc.list: [{name, help, aliases}] of the methods a client
 * may call (over TLS, not the local ones), in the schema's order when the
 * server has one.
 */
json_t *dse_rpc_list_json(const struct dse_rpc_server *srv, bool remote);

struct dse_rpc_deferred;

/*
 * From a method: its answer will come later, so the method can start work
 * that completes on the event loop (calls to other daemons) and return
 * DSE_RPC_DEFERRED at once; the server goes on serving every other client
 * meanwhile.  The client's own next requests wait until the answer is sent,
 * so its answers stay in order.  Only a single request that came on a
 * socket may be deferred, not a batch entry nor a call of
 * dse_rpc_dispatch(): then returns NULL with errno EOPNOTSUPP (or ENOMEM),
 * and the method answers at once.  The handle lives until it is answered;
 * answer every one (a client that left meanwhile gets nothing).  Answering
 * after dse_rpc_server_free() is allowed and sends nothing.
 */
struct dse_rpc_deferred *dse_rpc_defer(struct dse_rpc_call *call);

/* Answers deferred call 'd' with 'result' (stolen; NULL: JSON null) and frees 'd'. */
void dse_rpc_deferred_reply(struct dse_rpc_deferred *d, json_t *result);

/* Answers deferred call 'd' with error 'code' and a printf-style message, and frees 'd'. */
void dse_rpc_deferred_error(struct dse_rpc_deferred *d, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Returns the deferred calls of 'srv' not answered yet. */
unsigned dse_rpc_deferred_count(const struct dse_rpc_server *srv);

/*
 * Sets the error of 'call' to 'code' with a printf-style message and
 * returns -EINVAL, so handlers can write 'return dse_rpc_error(...)'.
 */
int dse_rpc_error(struct dse_rpc_call *call, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Parameter decoding.  Each returns 0 and sets '*ret' when the parameter is
 * present with the right type, -ENOENT when it is absent and not 'required'
 * ('*ret' untouched), or -EINVAL after setting an invalid-params error that
 * names the parameter and the expected type.
 */
int dse_rpc_param_str(struct dse_rpc_call *call, const char *key, bool required,
		      const char **ret);
int dse_rpc_param_int(struct dse_rpc_call *call, const char *key, bool required, long long min,
		      long long max, long long *ret);
int dse_rpc_param_bool(struct dse_rpc_call *call, const char *key, bool required, bool *ret);
int dse_rpc_param_num(struct dse_rpc_call *call, const char *key, bool required, double min,
		      double max, double *ret);

/*
 * Rejects parameters not in the NULL-terminated list of names that follows
 * 'call', so a typo is an error instead of being ignored.  Returns 0 or
 * -EINVAL with the error set.
 */
int dse_rpc_params_only(struct dse_rpc_call *call, ...) __attribute__((sentinel));

#endif
