/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A JSON-RPC 2.0 client that never blocks: one connection on an event
 * loop (evloop.h), to a Unix socket or over mutual TLS 1.3 on TCP (the
 * same credentials and peer checks as the blocking client of
 * rpc_client.h), one JSON text per line in each direction.
 *
 * Any number of calls may be in flight on one connection; the server may
 * answer them in any order, they are matched by id.  Every call that
 * dse_rpc_async_call() accepted completes exactly once, through its
 * callback from the loop: with its result, with the server's error
 * object, with -ETIMEDOUT after its own timeout (a late answer is then
 * dropped and counted), or with the connection's error when the
 * connection fails or is closed (all the calls pending then complete, in
 * the order they were made).  Lines from the server without an id are
 * notifications (dse-dpud's events.subscribe streams its records so) and
 * go to the notification callback, between the answers, in the order
 * they came.
 *
 * What the server sends is bounded: a line longer than the connection's
 * limit, a line that is not JSON or not a JSON-RPC message, an answer to
 * an id this connection never sent, an error answer without an id (the
 * server could not read one of the requests, and which one is unknown
 * with several in flight) each fail the connection with a message for a
 * person.  What the caller queues is bounded too (the bytes not yet sent,
 * the calls in flight).
 *
 * Callbacks may call, and close the connection (from any of its own
 * callbacks too); a connection must be closed before its loop is freed.
 * Not thread-safe: use it from the loop's thread.
 */
#ifndef DSE_RPC_ASYNC_H
#define DSE_RPC_ASYNC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"
#include "tls.h"

/* Default of struct dse_rpc_async_opts's max_out: the bytes of calls queued and not sent yet. */
#define DSE_RPC_ASYNC_MAX_OUT (16u << 20)
/* Default of max_pending: calls in flight on one connection. */
#define DSE_RPC_ASYNC_MAX_PENDING 4096
/* Default of connect_timeout_ms. */
#define DSE_RPC_ASYNC_CONNECT_TIMEOUT_MS 5000

struct dse_rpc_async;

/* How a call completed, handed to its callback. */
struct dse_rpc_async_reply {
	/*
	 * 0: answered with a result; -EREMOTEIO: answered with an error;
	 * -ETIMEDOUT: no answer within the call's timeout; else the
	 * connection's error (-ECONNRESET, -EPROTO, -EMSGSIZE, -ECONNREFUSED,
	 * -EACCES..., -ECANCELED when the caller closed it).
	 */
	int status;
	json_t *result;      /* status 0: the result (borrowed; JSON null for none); else NULL */
	json_t *error;       /* -EREMOTEIO: the error object {code, message} (borrowed) */
	const char *message; /* for a person: the server's message, what went wrong, or "" */
	uint64_t id;         /* the call's id, as dse_rpc_async_call() gave it */
	uint64_t rtt_us;     /* microseconds from the call to its completion */
};

/* A call's callback; 'reply' and what it points to live until the callback returns. */
typedef void dse_rpc_async_call_fn(struct dse_rpc_async *conn,
				   const struct dse_rpc_async_reply *reply, void *arg);

/*
 * The connection's status: once with 0 when it is connected (for TLS:
 * after the server accepted our certificate), then once with a negative
 * errno when it failed (during the connect, or later: the server closed
 * it, a protocol error...), after the pending calls completed; 'msg' says
 * why for a person.  Not called for dse_rpc_async_close().  After a
 * failure the connection only holds its error: close it (and connect
 * again if you want).
 */
typedef void dse_rpc_async_status_fn(struct dse_rpc_async *conn, int status, const char *msg,
				     void *arg);

/* A notification: 'method' and 'params' (borrowed; NULL when absent) last until it returns. */
typedef void dse_rpc_async_note_fn(struct dse_rpc_async *conn, const char *method,
				   json_t *params, void *arg);

/* The options of a connection; zero fields take their defaults. */
struct dse_rpc_async_opts {
	dse_rpc_async_status_fn *on_status; /* may be NULL */
	dse_rpc_async_note_fn *on_note;     /* NULL: notifications are counted and dropped */
	void *arg;                          /* handed to 'on_status' and 'on_note' */
	/* Milliseconds for the connect and the TLS handshake; negative: no limit. */
	int connect_timeout_ms;
	/* The longest line accepted from the server (default DSE_RPC_CLIENT_MAX_LINE). */
	size_t max_line;
	/* Bytes of requests queued and not yet sent (default DSE_RPC_ASYNC_MAX_OUT). */
	size_t max_out;
	/* Calls in flight (default DSE_RPC_ASYNC_MAX_PENDING). */
	unsigned max_pending;
};

/* Counters of a connection. */
struct dse_rpc_async_stats {
	uint64_t calls_sent;      /* calls accepted by dse_rpc_async_call() */
	uint64_t calls_answered;  /* completed with a result or an error object */
	uint64_t calls_timed_out; /* completed with -ETIMEDOUT */
	uint64_t calls_failed;    /* completed with the connection's error */
	uint64_t late_answers;    /* answers to calls that had timed out, dropped */
	uint64_t notifications;   /* notifications received */
	uint64_t bytes_in;        /* bytes received (TLS: decrypted) */
	uint64_t bytes_out;       /* bytes sent (TLS: before encryption) */
	uint64_t pending;         /* calls in flight now */
	uint64_t out_queued;      /* bytes queued and not sent now */
	uint64_t last_rtt_us;     /* the round trip of the last call answered */
};

/*
 * Starts connecting to the JSON-RPC server on the Unix socket 'path', on
 * 'loop', with 'opts' (NULL: the defaults).  Returns 0 and sets '*ret', or
 * a negative errno for what fails before anything is sent (-EINVAL,
 * -ENAMETOOLONG, -ENOMEM, -EMFILE); every later failure, even one the
 * kernel knows at once (-ENOENT, -ECONNREFUSED), comes through on_status
 * from the loop, never from inside this call.  Calls may be made at once:
 * they go out when the connection is up.
 */
int dse_rpc_async_unix(struct dse_loop *loop, const char *path,
		       const struct dse_rpc_async_opts *opts, struct dse_rpc_async **ret);

/*
 * Starts connecting to the IPv4 or IPv6 address 'addr' (a literal: no
 * name is resolved, that would block) on TCP 'port' and a TLS 1.3
 * handshake with our certificate from 'tls', as dse_rpc_client_tls()
 * does: the server must present a DPU certificate of 'tls'->ca_file whose
 * common name is 'expect_cn' (NULL: any name, see
 * dse_rpc_async_peer_cn()), and must accept ours.  Returns as
 * dse_rpc_async_unix(), plus the errors of dse_tls_client_ctx_new() for
 * bad 'tls' files, with a message in 'err' (at most 'err_len' bytes; 'err'
 * may be NULL when 'err_len' is 0); a
 * refused certificate (-EACCES, -EPERM), -ECONNREFUSED, -ETIMEDOUT come
 * through on_status.
 */
int dse_rpc_async_tls(struct dse_loop *loop, const char *addr, uint16_t port,
		      const struct dse_tls_conf *tls, const char *expect_cn,
		      const struct dse_rpc_async_opts *opts, struct dse_rpc_async **ret, char *err,
		      size_t err_len);

/*
 * Calls 'method' with 'params' (borrowed; NULL or an object) and a fresh
 * id: the request is queued and sent from the loop.  'cb(conn, reply,
 * arg)' runs exactly once, from the loop, when the call completes; after
 * 'timeout_ms' milliseconds without an answer (negative: no limit) it
 * completes with -ETIMEDOUT.  Returns 0 and sets '*ret_id' (may be NULL),
 * or a negative errno and then 'cb' never runs: -EINVAL (bad arguments),
 * -ENOTCONN (the connection failed or is closing), -E2BIG (the request is
 * longer than a server accepts, DSE_RPC_MAX_LINE), -ENOBUFS (max_out bytes
 * are queued already), -EBUSY (max_pending calls are in flight), -ENOMEM.
 */
int dse_rpc_async_call(struct dse_rpc_async *conn, const char *method, json_t *params,
		       int timeout_ms, dse_rpc_async_call_fn *cb, void *arg, uint64_t *ret_id);

/*
 * Closes the connection and frees 'conn': the calls still pending
 * complete first, in order, with -ECANCELED (or the connection's error if
 * it had failed); no callback of 'conn' runs after.  Safe from inside any
 * callback of 'conn' (it is then freed when the callback returns).  NULL
 * is fine.
 */
void dse_rpc_async_close(struct dse_rpc_async *conn);

/* Returns true once the connection is up, until it fails or closes. */
bool dse_rpc_async_connected(const struct dse_rpc_async *conn);

/* Returns the description for a person of the connection's failure, or "" when none. */
const char *dse_rpc_async_last_error(const struct dse_rpc_async *conn);

/* Returns the common name of the server's certificate once TLS is up, else NULL. */
const char *dse_rpc_async_peer_cn(const struct dse_rpc_async *conn);

/* Copies the connection's counters to '*ret'. */
void dse_rpc_async_stats(const struct dse_rpc_async *conn, struct dse_rpc_async_stats *ret);

#endif
