/* SPDX-License-Identifier: BSD-3-Clause */
#include "tls.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

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

/* The reason of the newest OpenSSL error, for a person ("unknown ca"); clears the queue. */
static const char *ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *s = e ? ERR_reason_error_string(e) : NULL;

	if (s)
		snprintf(buf, len, "%s", s);
	else if (e)
		snprintf(buf, len, "OpenSSL error %lx", e);
	else
		snprintf(buf, len, "unknown TLS error");
	ERR_clear_error();
	return buf;
}

int dse_tls_conf_dir(const char *dir, struct dse_tls_paths *paths, struct dse_tls_conf *conf)
{
	if ((size_t)snprintf(paths->ca, sizeof(paths->ca), "%s/ca.pem", dir) >= sizeof(paths->ca) ||
	    (size_t)snprintf(paths->cert, sizeof(paths->cert), "%s/cert.pem", dir) >=
		    sizeof(paths->cert) ||
	    (size_t)snprintf(paths->key, sizeof(paths->key), "%s/key.pem", dir) >=
		    sizeof(paths->key))
		return -ENAMETOOLONG;
	conf->ca_file = paths->ca;
	conf->cert_file = paths->cert;
	conf->key_file = paths->key;
	return 0;
}

/* ---- certificate roles ---- */

/* Copies the CN of 'cert' for a message: printable characters only, "?" without one. */
static void cn_for_message(const X509 *cert, char *buf, size_t len)
{
	if (dse_x509_cn(cert, buf, len) < 0) {
		snprintf(buf, len, "?");
		return;
	}
	for (char *p = buf; *p; p++)
		if (!isprint((unsigned char)*p))
			*p = '?';
}

int dse_x509_check_role(X509 *cert, enum dse_tls_role role, char *why, size_t len)
{
	const bool host = role == DSE_TLS_ROLE_HOST;
	const char *want = host ? "the host's control identity" : "a DPU server certificate";
	uint32_t flags = X509_get_extension_flags(cert);
	uint32_t xku = X509_get_extended_key_usage(cert);
	bool server = (xku & XKU_SSL_SERVER) != 0, client = (xku & XKU_SSL_CLIENT) != 0;
	const char *fault = NULL;
	char name[128], cn[128];
	int r;

	cn_for_message(cert, name, sizeof(name));
	r = dse_x509_cn(cert, cn, sizeof(cn));
	if (flags & EXFLAG_INVALID)
		fault = "its extensions do not decode";
	else if (X509_check_ca(cert) != 0)
		fault = "it is a CA certificate";
	else if (!(flags & EXFLAG_XKUSAGE))
		fault = host ? "it has no extended key usage (the host's is clientAuth only)"
			     : "it has no extended key usage (a DPU's is serverAuth only)";
	else if (xku & XKU_ANYEKU)
		fault = "it allows any extended key usage (anyExtendedKeyUsage)";
	else if (host && server && !client)
		fault = "it is a DPU server certificate (extended key usage serverAuth)";
	else if (host && server)
		fault = "it is a server certificate too (extended key usage serverAuth and "
			"clientAuth, as DPU certificates of an older profile)";
	else if (host && !client)
		fault = "it has no extended key usage clientAuth";
	else if (!host && client && !server)
		fault = "it is a client certificate (extended key usage clientAuth)";
	else if (!host && client)
		fault = "it is a client certificate too (extended key usage serverAuth and "
			"clientAuth: a certificate of an older profile, issue it again)";
	else if (!host && !server)
		fault = "it has no extended key usage serverAuth";
	else if (r < 0)
		fault = "it has no single common name";
	else if (host && strcmp(cn, DSE_TLS_HOST_CN) != 0)
		fault = "its name is not '" DSE_TLS_HOST_CN "'";
	else if (!host && strcmp(cn, DSE_TLS_HOST_CN) == 0)
		fault = "it carries the host's name";
	if (fault == NULL)
		return 0;
	set_err(why, len, "certificate '%s' is not %s: %s", name, want, fault);
	return -EPERM;
}

/*
 * Why the peer's certificate lacks the role we serve, kept with its SSL
 * object (ex data) from the verification to the message of the failure.
 */
static int role_idx = -1;
static pthread_once_t role_once = PTHREAD_ONCE_INIT;

static void role_why_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
			  void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

static void role_idx_init(void)
{
	role_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, role_why_free);
}

/*
 * Verifies the peer's chain, then its role ('arg': the enum dse_tls_role
 * it must have).  The chain goes first and for any purpose, so that a
 * certificate the CA did not sign is refused as such whatever it claims;
 * only a certificate of the CA is judged by its role.  A refusal for the
 * role is X509_V_ERR_INVALID_PURPOSE (the alert "unsupported
 * certificate") with the reason kept for tls_failure().
 */
static int verify_peer(X509_STORE_CTX *sc, void *arg)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sc, SSL_get_ex_data_X509_STORE_CTX_idx());
	char why[384], *copy;

	X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(sc), X509_PURPOSE_ANY);
	if (X509_verify_cert(sc) != 1)
		return 0;
	if (dse_x509_check_role(X509_STORE_CTX_get0_cert(sc), (enum dse_tls_role)(intptr_t)arg, why,
				sizeof(why)) == 0)
		return 1;
	X509_STORE_CTX_set_error(sc, X509_V_ERR_INVALID_PURPOSE);
	copy = strdup(why);
	if (ssl && copy) {
		free(SSL_get_ex_data(ssl, role_idx));
		if (SSL_set_ex_data(ssl, role_idx, copy) != 1)
			free(copy);
	} else {
		free(copy);
	}
	return 0;
}

/* Checks that 'path' can be read, so a missing file gets a plain message. */
static int check_file(const char *what, const char *path, char *err, size_t err_len)
{
	if (path == NULL || path[0] == '\0') {
		set_err(err, err_len, "no %s file given", what);
		return -EINVAL;
	}
	if (access(path, R_OK) < 0) {
		int r = -errno;

		set_err(err, err_len, "%s %s: %s", what, path, strerror(-r));
		return r;
	}
	return 0;
}

/*
 * What both ends share: TLS 1.3, our credentials (of role 'own_role'), the
 * CA, the check of the peer's role 'peer_role', no resumption.
 */
static int ctx_common(SSL_CTX *ctx, const struct dse_tls_conf *conf, enum dse_tls_role own_role,
		      enum dse_tls_role peer_role, char *err, size_t err_len)
{
	char why[384];
	X509_STORE_CTX *sc;
	X509 *own;
	int r;

	if ((r = check_file("CA certificate", conf->ca_file, err, err_len)) < 0 ||
	    (r = check_file("certificate", conf->cert_file, err, err_len)) < 0 ||
	    (r = check_file("private key", conf->key_file, err, err_len)) < 0)
		return r;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		set_err(err, err_len, "TLS 1.3 is not available: %s",
			ossl_reason(why, sizeof(why)));
		return -EPROTONOSUPPORT;
	}
	if (SSL_CTX_load_verify_file(ctx, conf->ca_file) != 1) {
		set_err(err, err_len, "CA certificate %s does not load: %s", conf->ca_file,
			ossl_reason(why, sizeof(why)));
		return -EINVAL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, conf->cert_file) != 1) {
		set_err(err, err_len, "certificate %s does not load: %s", conf->cert_file,
			ossl_reason(why, sizeof(why)));
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, conf->key_file, SSL_FILETYPE_PEM) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
			set_err(err, err_len, "private key %s does not belong to certificate %s",
				conf->key_file, conf->cert_file);
			ERR_clear_error();
			return -EINVAL;
		}
		set_err(err, err_len, "private key %s does not load: %s", conf->key_file,
			ossl_reason(why, sizeof(why)));
		return -EINVAL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		set_err(err, err_len, "private key %s does not belong to certificate %s",
			conf->key_file, conf->cert_file);
		ERR_clear_error();
		return -EINVAL;
	}
	/*
	 * Our own certificate must verify against the CA too: a certificate
	 * from another CA would be refused by every peer, so say it here.
	 */
	own = SSL_CTX_get0_certificate(ctx);
	sc = X509_STORE_CTX_new();
	if (sc == NULL)
		return -ENOMEM;
	if (X509_STORE_CTX_init(sc, SSL_CTX_get_cert_store(ctx), own, NULL) != 1 ||
	    X509_verify_cert(sc) != 1) {
		set_err(err, err_len, "certificate %s does not verify against CA %s: %s",
			conf->cert_file, conf->ca_file,
			X509_verify_cert_error_string(X509_STORE_CTX_get_error(sc)));
		X509_STORE_CTX_free(sc);
		ERR_clear_error();
		return -EINVAL;
	}
	X509_STORE_CTX_free(sc);
	/*
	 * A certificate without our role would be refused by every peer: say
	 * it here too.  -EINVAL as for any credentials that can not work:
	 * -EPERM is the peer's certificate refused for its role.
	 */
	if (dse_x509_check_role(own, own_role, why, sizeof(why)) < 0) {
		set_err(err, err_len, "%s: %s", conf->cert_file, why);
		return -EINVAL;
	}
	pthread_once(&role_once, role_idx_init);
	if (role_idx < 0) {
		set_err(err, err_len, "out of memory");
		return -ENOMEM;
	}
	SSL_CTX_set_cert_verify_callback(ctx, verify_peer, (void *)(intptr_t)peer_role);
	SSL_CTX_set_verify_depth(ctx, 4);
	/*
	 * No tickets and no session cache: every connection shows and checks
	 * a certificate, and the server sends nothing after the handshake.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return 0;
}

int dse_tls_server_ctx_new(const struct dse_tls_conf *conf, SSL_CTX **ret, char *err,
			   size_t err_len)
{
	STACK_OF(X509_NAME) *cas;
	SSL_CTX *ctx;
	int r;

	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		set_err(err, err_len, "out of memory");
		return -ENOMEM;
	}
	/* A DPU's control port: it serves the host's control identity only. */
	r = ctx_common(ctx, conf, DSE_TLS_ROLE_DPU, DSE_TLS_ROLE_HOST, err, err_len);
	if (r < 0) {
		SSL_CTX_free(ctx);
		return r;
	}
	/*
	 * One session ticket, sent only after the client's certificate passed:
	 * it tells the client it was accepted (dse_tls_client_confirm()).  With
	 * SSL_OP_NO_TICKET it is a stateful ticket, and with no session cache
	 * nothing can ever resume from it.
	 */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	/* Tell clients which CA we accept (their certificate must come from it). */
	cas = SSL_load_client_CA_file(conf->ca_file);
	if (cas)
		SSL_CTX_set_client_CA_list(ctx, cas);
	ERR_clear_error();
	*ret = ctx;
	return 0;
}

/* The server's ticket arrived: mark the connection confirmed (the app data of our SSL objects). */
static int on_ticket(SSL *ssl, SSL_SESSION *sess)
{
	(void)sess;
	SSL_set_app_data(ssl, (void *)1);
	return 0; /* we keep no reference: the session is freed */
}

int dse_tls_client_ctx_new(const struct dse_tls_conf *conf, SSL_CTX **ret, char *err,
			   size_t err_len)
{
	SSL_CTX *ctx;
	int r;

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		set_err(err, err_len, "out of memory");
		return -ENOMEM;
	}
	/* The host: it talks to DPU server certificates only. */
	r = ctx_common(ctx, conf, DSE_TLS_ROLE_HOST, DSE_TLS_ROLE_DPU, err, err_len);
	if (r < 0) {
		SSL_CTX_free(ctx);
		return r;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* Learn of the server's ticket (its "accepted"), never store it. */
	SSL_CTX_set_session_cache_mode(ctx,
				       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, on_ticket);
	*ret = ctx;
	return 0;
}

SSL *dse_tls_server_new(SSL_CTX *ctx, int fd)
{
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

SSL *dse_tls_client_new(SSL_CTX *ctx, int fd, const char *expect_cn)
{
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1 || (expect_cn && SSL_set1_host(ssl, expect_cn) != 1)) {
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	/* The name is a DPU's name, never a pattern. */
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_WILDCARDS);
	SSL_set_connect_state(ssl);
	return ssl;
}

int dse_x509_cn(const X509 *cert, char *buf, size_t len)
{
	const X509_NAME *name = X509_get_subject_name(cert);
	int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	unsigned char *utf8 = NULL;
	int n;

	if (idx < 0)
		return -ENOENT;
	/* Two names would make "who is this" ambiguous. */
	if (X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		return -EINVAL;
	n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx)));
	if (n < 0)
		return -EINVAL;
	if ((size_t)n != strlen((char *)utf8)) {
		OPENSSL_free(utf8);
		return -EINVAL;
	}
	if ((size_t)n >= len) {
		OPENSSL_free(utf8);
		return -ENAMETOOLONG;
	}
	memcpy(buf, utf8, (size_t)n + 1);
	OPENSSL_free(utf8);
	return 0;
}

int dse_tls_peer_cn(const SSL *ssl, char *buf, size_t len)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);

	if (cert == NULL)
		return -ENOENT;
	return dse_x509_cn(cert, buf, len);
}

/*
 * Blocks SIGPIPE in this thread around an OpenSSL call that may write to a
 * socket whose peer is gone, and swallows the signal it raised, so neither
 * a daemon nor a tool that did not ignore SIGPIPE dies of a closed peer.
 */
struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe, &g->old);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
	sigset_t pipe, pending;
	int saved = errno;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1) {
		const struct timespec zero = {0, 0};

		while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
	errno = saved;
}

/* True for an alert the peer sent because it did not accept our certificate. */
static bool cert_alert(int reason)
{
	switch (reason) {
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
	case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
		return true;
	default:
		return false;
	}
}

/* True for a first record that shows the peer does not speak TLS 1.3. */
static bool not_tls(int reason)
{
	switch (reason) {
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_UNKNOWN_PROTOCOL:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_RECORD_LENGTH_MISMATCH:
	case SSL_R_UNEXPECTED_MESSAGE:
	case SSL_R_UNEXPECTED_RECORD:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
		return true;
	default:
		return false;
	}
}

/*
 * Turns the failure 'e' of an SSL call into a negative errno and a message.
 * Call right after the failing call: it reads and clears the error queue.
 */
static int tls_failure(SSL *ssl, int e, char *err, size_t err_len)
{
	int sys_errno = errno; /* of the socket call that failed, before anything else runs */
	unsigned long code = ERR_peek_last_error();
	int reason = ERR_GET_REASON(code);
	long verify = SSL_get_verify_result(ssl);
	char why[160], cn[128];

	if (e == SSL_ERROR_ZERO_RETURN ||
	    (e == SSL_ERROR_SYSCALL && code == 0) ||
	    (e == SSL_ERROR_SSL && reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		int why_errno = (e == SSL_ERROR_SYSCALL) ? sys_errno : 0;

		set_err(err, err_len, "the peer closed the connection%s%s", why_errno ? ": " : "",
			why_errno ? strerror(why_errno) : "");
		ERR_clear_error();
		return -ECONNRESET;
	}
	if (e == SSL_ERROR_SSL && verify != X509_V_OK && SSL_get_ex_data(ssl, role_idx)) {
		/* A certificate of the CA without the role we serve (verify_peer()). */
		set_err(err, err_len, "%s", (const char *)SSL_get_ex_data(ssl, role_idx));
		ERR_clear_error();
		return -EPERM;
	}
	if (e == SSL_ERROR_SSL && verify != X509_V_OK) {
		X509 *peer = SSL_get0_peer_certificate(ssl);
		STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);

		/*
		 * A certificate that failed verification is not the peer's yet,
		 * but a client still holds the chain it received, leaf first.
		 */
		if (peer == NULL && chain && !SSL_is_server(ssl) && sk_X509_num(chain) > 0)
			peer = sk_X509_value(chain, 0);
		if (verify == X509_V_ERR_HOSTNAME_MISMATCH && peer &&
		    dse_x509_cn(peer, cn, sizeof(cn)) == 0) {
			const char *want = X509_VERIFY_PARAM_get0_host(SSL_get0_param(ssl), 0);

			set_err(err, err_len, "the peer's certificate is for '%s', not '%s'", cn,
				want ? want : "?");
		} else {
			set_err(err, err_len, "the peer's certificate was refused: %s",
				X509_verify_cert_error_string(verify));
		}
		ERR_clear_error();
		return -EACCES;
	}
	if (e == SSL_ERROR_SSL && reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
		set_err(err, err_len, "the peer presented no certificate");
		ERR_clear_error();
		return -EACCES;
	}
	if (e == SSL_ERROR_SSL && cert_alert(reason)) {
		set_err(err, err_len, "the peer refused our certificate (TLS alert: %s)",
			ossl_reason(why, sizeof(why)));
		return -EACCES;
	}
	if (e == SSL_ERROR_SSL && not_tls(reason)) {
		set_err(err, err_len, "the peer does not speak TLS 1.3 (%s)",
			ossl_reason(why, sizeof(why)));
		return -EPROTONOSUPPORT;
	}
	if (e == SSL_ERROR_SYSCALL) {
		set_err(err, err_len, "socket error: %s", sys_errno ? strerror(sys_errno) : "unknown");
		ERR_clear_error();
		return sys_errno == ECONNRESET || sys_errno == EPIPE ? -ECONNRESET : -EPROTO;
	}
	set_err(err, err_len, "TLS error: %s", ossl_reason(why, sizeof(why)));
	return -EPROTO;
}

/* Maps SSL_get_error() of a call that returned 'ret' to -EAGAIN + events, or a failure. */
static int tls_result(SSL *ssl, int ret, short *ret_events, char *err, size_t err_len)
{
	int e = SSL_get_error(ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		*ret_events = POLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		*ret_events = POLLOUT;
		return -EAGAIN;
	default:
		return tls_failure(ssl, e, err, err_len);
	}
}

int dse_tls_handshake(SSL *ssl, short *ret_events, char *err, size_t err_len)
{
	struct sigpipe_guard g;
	int ret;

	ERR_clear_error();
	errno = 0;
	sigpipe_block(&g);
	ret = SSL_do_handshake(ssl);
	sigpipe_restore(&g);
	if (ret == 1)
		return 0;
	return tls_result(ssl, ret, ret_events, err, err_len);
}

ssize_t dse_tls_read(SSL *ssl, void *buf, size_t len, short *ret_events, char *err,
		     size_t err_len)
{
	struct sigpipe_guard g;
	size_t n = 0;
	int ret;

	ERR_clear_error();
	errno = 0;
	sigpipe_block(&g);
	ret = SSL_read_ex(ssl, buf, len, &n);
	sigpipe_restore(&g);
	if (ret == 1)
		return (ssize_t)n;
	return tls_result(ssl, ret, ret_events, err, err_len);
}

ssize_t dse_tls_write(SSL *ssl, const void *buf, size_t len, short *ret_events, char *err,
		      size_t err_len)
{
	struct sigpipe_guard g;
	size_t n = 0;
	int ret;

	if (len == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	sigpipe_block(&g);
	ret = SSL_write_ex(ssl, buf, len, &n);
	sigpipe_restore(&g);
	if (ret == 1)
		return (ssize_t)n;
	return tls_result(ssl, ret, ret_events, err, err_len);
}

void dse_tls_shutdown(SSL *ssl)
{
	struct sigpipe_guard g;

	if (ssl == NULL || !SSL_is_init_finished(ssl))
		return;
	sigpipe_block(&g);
	SSL_shutdown(ssl);
	sigpipe_restore(&g);
	ERR_clear_error();
}

int dse_tls_client_confirm(SSL *ssl, short *ret_events, char *err, size_t err_len)
{
	struct sigpipe_guard g;
	char byte;
	size_t n = 0;
	int ret;

	if (SSL_get_app_data(ssl) != NULL)
		return 0;
	ERR_clear_error();
	errno = 0;
	sigpipe_block(&g);
	/* Peek: processes the ticket (or the alert) and leaves any data to the reader. */
	ret = SSL_peek_ex(ssl, &byte, 1, &n);
	sigpipe_restore(&g);
	if (ret == 1 || SSL_get_app_data(ssl) != NULL)
		return 0;
	return tls_result(ssl, ret, ret_events, err, err_len);
}
