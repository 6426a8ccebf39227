/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * TLS 1.3 with mutual authentication for the internal network (docs/design.md
 * §3, docs/host-side.md "The DPU's control channel"): both ends present a
 * certificate issued by the host CA and verify the other's against it.
 * Coming from the CA is not enough: each end also checks that the other's
 * certificate has the role of its side (docs/host-side.md "Certificate
 * profile").  The server is a DPU's control port and serves only the host's
 * control identity; the client is the host and talks only to DPU server
 * certificates.  Sockets are non-blocking; every I/O step says what it
 * waits for, so a poll loop can drive handshakes and records of many peers
 * at once.
 */
#ifndef DSE_TLS_H
#define DSE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

/*
 * The common name of the host's control identity, the one client a DPU's
 * control port serves.  The ':' is in no DPU name (certs.h), so no DPU
 * certificate can ever carry it.
 */
#define DSE_TLS_HOST_CN "dse:host-control"

/* The roles of the certificates of the internal network. */
enum dse_tls_role {
	/*
	 * The host's control identity: extended key usage clientAuth and not
	 * serverAuth, CN DSE_TLS_HOST_CN.
	 */
	DSE_TLS_ROLE_HOST = 1,
	/*
	 * A DPU's control port: extended key usage serverAuth and not
	 * clientAuth, CN the DPU's name (never DSE_TLS_HOST_CN).
	 */
	DSE_TLS_ROLE_DPU,
};

/*
 * Checks the fields of 'cert' that make it a certificate of 'role' (not
 * its chain: the TLS verification checks that): not a CA, an extended key
 * usage of exactly that role's purpose (no anyExtendedKeyUsage), one common
 * name, and that name.  Returns 0, or -EPERM after writing why not for a
 * person to 'why' (at most 'len' bytes, NUL-terminated; 'why' may be NULL),
 * e.g. "certificate 'h1-d2' is not the host's control identity: it is a
 * DPU server certificate (extended key usage serverAuth)".
 */
int dse_x509_check_role(X509 *cert, enum dse_tls_role role, char *why, size_t len);

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
 * Creates a server context (a DPU's control port) from 'conf': TLS 1.3
 * only, our certificate and key (checked to match, to be signed by the CA
 * and to be a DPU server certificate, DSE_TLS_ROLE_DPU), clients must
 * present a certificate that verifies against the CA (SSL_VERIFY_PEER |
 * SSL_VERIFY_FAIL_IF_NO_PEER_CERT) and is the host's control identity
 * (DSE_TLS_ROLE_HOST), no session resumption.  Returns 0 and sets '*ret'
 * (free with SSL_CTX_free()), or a negative errno after writing a message
 * for a person to 'err' (NUL-terminated, at most 'err_len' bytes): -EINVAL
 * for credentials that do not load, match or verify or our certificate
 * without the DPU role.
 */
int dse_tls_server_ctx_new(const struct dse_tls_conf *conf, SSL_CTX **ret, char *err,
			   size_t err_len);

/*
 * Creates a client context (the host) from 'conf': TLS 1.3 only, our
 * certificate and key (the host's control identity, DSE_TLS_ROLE_HOST),
 * the server's certificate must verify against the CA and be a DPU server
 * certificate (DSE_TLS_ROLE_DPU).  The expected server name is set per
 * connection (dse_tls_client_new()).  Returns as dse_tls_server_ctx_new()
 * (-EINVAL also when our certificate is not the host's control identity).
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
 * certificate did not verify, or the peer refused ours; -EPERM: the peer's
 * certificate is of the CA but not of the role this end serves, see
 * dse_x509_check_role(); -EPROTONOSUPPORT: the peer does not speak TLS
 * 1.3; -EPROTO: anything else), after writing the reason for a person to
 * 'err'.
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
