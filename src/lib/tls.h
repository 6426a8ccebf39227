/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TLS 1.3 with mutual authentication for the internal network (DESIGN.md
 * §3, docs/host-side.md "The DPU's control channel"): both ends present a
 * certificate issued by the host CA and verify the other's against it.
 * Sockets are non-blocking; every I/O step says what it waits for, so a
 * poll loop can drive handshakes and records of many peers at once.
 */
#ifndef DSE_TLS_H
#define DSE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

/* Where one end's credentials are: three PEM files. */
struct dse_tls_conf {
	const char *ca_file;   /* the host CA certificate that peers must be signed by */
	const char *cert_file; /* our certificate (signed by the same CA) */
	const char *key_file;  /* our private key */
};

/* Longest path dse_tls_conf_dir() builds. */
#define DSE_TLS_PATH_MAX 4096

/* Storage for the paths of a conf filled from a directory. */
struct dse_tls_paths {
	char ca[DSE_TLS_PATH_MAX];
	char cert[DSE_TLS_PATH_MAX];
	char key[DSE_TLS_PATH_MAX];
};

/*
 * Points 'conf' at 'dir'/ca.pem, 'dir'/cert.pem and 'dir'/key.pem, with the
 * strings kept in 'paths'.  Returns 0, or -ENAMETOOLONG.
 */
int dse_tls_conf_dir(const char *dir, struct dse_tls_paths *paths, struct dse_tls_conf *conf);

/*
 * Creates a server context from 'conf': TLS 1.3 only, our certificate and
 * key (checked to match and to be signed by the CA), clients must present a
 * certificate that verifies against the CA (SSL_VERIFY_PEER |
 * SSL_VERIFY_FAIL_IF_NO_PEER_CERT), no session resumption.  Returns 0 and
 * sets '*ret' (free with SSL_CTX_free()), or a negative errno after writing
 * a message for a person to 'err' (NUL-terminated, at most 'err_len' bytes).
 */
int dse_tls_server_ctx_new(const struct dse_tls_conf *conf, SSL_CTX **ret, char *err,
			   size_t err_len);

/*
 * Creates a client context from 'conf': TLS 1.3 only, our certificate and
 * key, the server's certificate must verify against the CA.  The expected
 * server name is set per connection (dse_tls_client_new()).  Returns as
 * dse_tls_server_ctx_new().
 */
int dse_tls_client_ctx_new(const struct dse_tls_conf *conf, SSL_CTX **ret, char *err,
			   size_t err_len);

/*
 * Wraps the connected socket 'fd' (not owned) in a server-side SSL object.
 * Returns NULL on ENOMEM.
 */
SSL *dse_tls_server_new(SSL_CTX *ctx, int fd);

/*
 * Wraps the connected socket 'fd' (not owned) in a client-side SSL object
 * that accepts only a server certificate whose common name is 'expect_cn'
 * (no wildcards); NULL 'expect_cn' accepts any certificate the CA signed
 * (read the name with dse_tls_peer_cn() afterwards).  The SSL object's
 * app data (SSL_get_app_data()) is ours: dse_tls_client_confirm() uses it.
 * Returns NULL on ENOMEM.
 */
SSL *dse_tls_client_new(SSL_CTX *ctx, int fd, const char *expect_cn);

/*
 * One step of the handshake of 'ssl'.  Returns 0 when it is complete,
 * -EAGAIN when it must wait ('*ret_events' is POLLIN or POLLOUT), or a
 * negative errno when it failed (-ECONNRESET: the peer closed; -EACCES: a
 * certificate did not verify; -EPROTO: anything else), after writing the
 * reason for a person to 'err'.
 */
int dse_tls_handshake(SSL *ssl, short *ret_events, char *err, size_t err_len);

/*
 * On the client, after dse_tls_handshake(): waits for the server to accept
 * our certificate.  In TLS 1.3 the client's handshake ends before the
 * server has checked the client's certificate; a server made by
 * dse_tls_server_ctx_new() then sends one session ticket (never used to
 * resume) when it accepted it, or an alert when it did not.  Returns 0 when
 * the ticket (or data) arrived, -EAGAIN with '*ret_events', or a failure as
 * dse_tls_handshake() (-EACCES: the server refused our certificate).
 */
int dse_tls_client_confirm(SSL *ssl, short *ret_events, char *err, size_t err_len);

/*
 * Reads up to 'len' bytes into 'buf'.  Returns the count (> 0), -EAGAIN
 * with '*ret_events' set, -ECONNRESET when the peer closed the connection
 * (cleanly or not), or -EPROTO after writing the reason to 'err'.
 */
ssize_t dse_tls_read(SSL *ssl, void *buf, size_t len, short *ret_events, char *err,
		     size_t err_len);

/*
 * Writes up to 'len' bytes of 'buf' (partial writes allowed: the context
 * enables them, and the buffer may move between retries).  Returns the
 * count (> 0), -EAGAIN with '*ret_events' set, or -ECONNRESET / -EPROTO as
 * dse_tls_read().  Never raises SIGPIPE.
 */
ssize_t dse_tls_write(SSL *ssl, const void *buf, size_t len, short *ret_events, char *err,
		      size_t err_len);

/*
 * Sends close_notify if the handshake of 'ssl' is done, without waiting
 * and without SIGPIPE; for a clean close before SSL_free().  NULL is fine.
 */
void dse_tls_shutdown(SSL *ssl);

/*
 * Copies the common name of the peer's certificate to 'buf' (at most
 * 'len' bytes with the NUL).  Returns 0, -ENOENT without a certificate or
 * a common name, or -ENAMETOOLONG.
 */
int dse_tls_peer_cn(const SSL *ssl, char *buf, size_t len);

/*
 * Copies the common name of the subject of 'cert' to 'buf'.  Returns as
 * dse_tls_peer_cn().
 */
int dse_x509_cn(const X509 *cert, char *buf, size_t len);

#endif
