/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * JSON-RPC 2.0 client, one JSON text per line in each direction: the other
 * end of jsonrpc.h.  It talks to a Unix socket (dsectl -> dse-hostd, tools
 * -> dse-dpud) or over mutual TLS on TCP (dse-hostd -> dse-dpud's control
 * port).  One call at a time per client; calls and answers are matched by
 * id, so a late answer to a call that timed out is recognised and dropped.
 *
 * Timeouts are in milliseconds; a negative timeout waits without limit.
 * A client is not thread-safe: use one per thread or lock around it.
 */
#ifndef DSE_RPC_CLIENT_H
#define DSE_RPC_CLIENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tls.h"

/* Largest answer accepted; a longer one fails the call with -EMSGSIZE. */
#define DSE_RPC_CLIENT_MAX_LINE (256u << 20)

struct dse_rpc_client;

/*
 * Connects to the JSON-RPC server on the Unix socket 'path', waiting up to
 * 'timeout_ms'.  Returns 0 and sets '*ret', or a negative errno (-ENOENT:
 * no socket file, -ECONNREFUSED: nobody serves it, -ETIMEDOUT,
 * -ENAMETOOLONG).
 */
int dse_rpc_client_unix(const char *path, int timeout_ms, struct dse_rpc_client **ret);

/*
 * Connects to 'host' (an IPv4/IPv6 address or a name) on TCP 'port' and
 * runs a TLS 1.3 handshake with our certificate from 'tls'; the server
 * must present a certificate signed by 'tls'->ca_file whose common name is
 * 'expect_cn' (NULL: any name; dse_rpc_client_peer_cn() tells which).  The
 * whole connect and handshake take at most 'timeout_ms'.  Returns 0 and
 * sets '*ret', or a negative errno after writing the reason for a person
 * to 'err' (at most 'err_len' bytes): -EACCES when a certificate did not
 * verify (the server's, or ours refused by the server), -ECONNREFUSED,
 * -ETIMEDOUT, -EPROTO / -EPROTONOSUPPORT (not TLS, bad TLS), -ECONNRESET
 * (closed during the handshake), -EINVAL / -ENOENT (bad 'tls' files).
 *
 * In TLS 1.3 the server checks our certificate after our side of the
 * handshake is done; this waits for its verdict (dse_tls_client_confirm()),
 * so a refusal shows here and not on the first call.  The server must be a
 * dse JSON-RPC server (dse_rpc_listen_tls()).
 */
int dse_rpc_client_tls(const char *host, uint16_t port, const struct dse_tls_conf *tls,
		       const char *expect_cn, int timeout_ms, struct dse_rpc_client **ret,
		       char *err, size_t err_len);

/*
 * Calls 'method' with 'params' (borrowed; NULL or an object) and waits up
 * to 'timeout_ms' for the answer.  Returns 0 and sets '*ret_result' (a new
 * reference; JSON null when the method returned nothing), or -EREMOTEIO
 * when the server answered with an error, then '*ret_error' is set (a new
 * reference to the error object {"code", "message"}).  Either pointer may
 * be NULL when the caller does not want it.  Other errors: -ETIMEDOUT (the
 * call may still run on the server; its late answer is dropped),
 * -ECONNRESET (the connection closed), -EPROTO (the server sent something
 * that is not a JSON-RPC answer), -E2BIG (the request is longer than the
 * server accepts), -EMSGSIZE, -ENOMEM, -EINVAL (bad arguments), -ENOTCONN
 * (an earlier failure left the connection unusable: connect again).
 */
int dse_rpc_client_call(struct dse_rpc_client *c, const char *method, json_t *params,
			int timeout_ms, json_t **ret_result, json_t **ret_error);

/*
 * Returns a description for a person of the last transport failure of 'c'
 * (for example "TLS alert: unknown ca"), or "" when there was none.
 */
const char *dse_rpc_client_last_error(const struct dse_rpc_client *c);

/* Returns the common name of the server's certificate, or NULL on a Unix socket. */
const char *dse_rpc_client_peer_cn(const struct dse_rpc_client *c);

/* Closes the connection and frees 'c'.  NULL is fine. */
void dse_rpc_client_free(struct dse_rpc_client *c);

#endif
