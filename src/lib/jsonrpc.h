/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON-RPC 2.0 over a Unix stream socket, one JSON text per line in each
 * direction.  A server owns a table of methods; each method is one action
 * function that the socket, the startup config replay and the unit tests
 * all call through dse_rpc_dispatch().
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

/* Largest request line accepted; a longer one is answered with an error. */
#define DSE_RPC_MAX_LINE (4u << 20)

/* One call being served: its params and, on failure, the error to return. */
struct dse_rpc_call {
	json_t *params;   /* always an object (an absent params is an empty object) */
	int err_code;     /* JSON-RPC error code when the handler fails */
	char err_msg[512]; /* message for a person; set by dse_rpc_error() */
	void *ctx;        /* the server's context pointer */
	struct dse_rpc_server *srv; /* the server dispatching the call */
	bool remote;      /* it came over the network (TLS), not the Unix socket or a replay */
};

/*
 * A method: 'fn' returns 0 and sets '*ret_result' (a new reference; NULL
 * means JSON null), or returns a negative errno after dse_rpc_error() (a
 * missing message is filled in from the errno).
 */
struct dse_rpc_method {
	const char *name;
	int (*fn)(struct dse_rpc_call *call, json_t **ret_result);
	const char *help; /* one line: what it does and its params */
};

struct dse_rpc_server;

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

struct dse_tls_conf;

/* A TLS client gets this long to complete its handshake before it is refused. */
#define DSE_RPC_HANDSHAKE_TIMEOUT_MS 5000

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
 * milliseconds (at least 1; the default is DSE_RPC_HANDSHAKE_TIMEOUT_MS).
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
	uint64_t refused_timeout; /* no handshake within DSE_RPC_HANDSHAKE_TIMEOUT_MS */
	uint64_t refused_closed;  /* the client closed the connection during the handshake */
	uint64_t refused_other;   /* any other TLS failure */
	uint64_t active;          /* TLS clients connected now (handshaking or established) */
};

/* Copies the TLS listener's counters to '*ret'. */
void dse_rpc_server_tls_stats(const struct dse_rpc_server *srv, struct dse_rpc_tls_stats *ret);

/*
 * Serves the sockets (Unix and TLS): accepts clients, steps TLS handshakes,
 * reads requests and answers them.  Waits up to 'timeout_ms' for activity
 * (less when a handshake times out sooner).  Returns 0 or a negative errno of
 * poll(); errors of one client only close that client.
 */
int dse_rpc_poll(struct dse_rpc_server *srv, int timeout_ms);

/*
 * Answers one parsed request (object or batch array).  Returns the response
 * (new reference), or NULL when nothing is to be sent (notifications).
 */
json_t *dse_rpc_dispatch(struct dse_rpc_server *srv, json_t *req);

/* Answers one request line 'buf' of 'len' bytes; same return as dispatch. */
json_t *dse_rpc_dispatch_text(struct dse_rpc_server *srv, const char *buf, size_t len);

/*
 * Closes every client and the listening sockets, removes the socket file,
 * frees.  NULL is fine.
 */
void dse_rpc_server_free(struct dse_rpc_server *srv);

/* Returns the method table. */
const struct dse_rpc_method *dse_rpc_methods(const struct dse_rpc_server *srv);

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
