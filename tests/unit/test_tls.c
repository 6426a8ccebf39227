/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the host CA (certs.c), the TLS contexts (tls.c), the TLS
 * listener of the JSON-RPC server and the TLS transport of the client.
 *
 * The group setup makes two CAs in a temporary directory: the host CA
 * issues the DPU certificates "h1-d1" and "h1-d2" and the host's control
 * identity; a second, foreign CA issues a host identity and an "h1-d1" of
 * its own.  Certificates outside the profile (both key usages, none, the
 * wrong name) are made by hand with the host CA's key (make_leaf()).  Each TLS test
 * starts a server on 127.0.0.1 with a port the kernel picks, served by a
 * thread, and talks to it with dse_rpc_client_tls() or with raw sockets.
 * Counters are read through the server's own "tls.stats" method, so the
 * server thread is the only one that touches them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certs.h"
#include "jsonrpc.h"
#include "rpc_client.h"
#include "test_pki.h"
#include "tls.h"

/* The certificates every test uses, made once by the group setup. */
static struct test_pki pki;

/* What a TLS test starts with; torn down whatever the test left. */
struct fixture {
	struct dse_rpc_server *srv;
	pthread_t thread;
	atomic_bool stop;
	bool running;
	uint16_t port;
	char sock[160]; /* the same server's Unix socket */
	struct dse_rpc_client *client;
	json_t *result;
	json_t *error;
	int fd; /* a raw client socket, or -1 */
	char err[512];
	struct dse_rpc_limits limits; /* the server's, when has_limits */
	bool has_limits;
};

/* ---- helpers ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	assert_non_null(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

/* Reads a whole small file into 'buf'; returns its length. */
static size_t slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void path_in(char *buf, size_t len, const char *dir, const char *file)
{
	assert_true((size_t)snprintf(buf, len, "%s/%s", dir, file) < len);
}

/*
 * Verifies 'cert_path' against the CA certificate 'ca_path' for 'purpose'.
 * Returns the X509_V_* result.
 */
static int verify_with(const char *ca_path, const char *cert_path, int purpose)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *cert = read_cert(cert_path);
	int r;

	assert_int_equal(X509_STORE_load_file(store, ca_path), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, cert, NULL), 1);
	X509_STORE_CTX_set_purpose(ctx, purpose);
	r = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(cert);
	return r;
}

/*
 * Makes a certificate outside the profile by hand: CN 'cn', extended key
 * usage 'eku' (NULL: none), a CA if 'ca', signed by the key in 'signer_dir'/
 * 'signer_key' as issued by the certificate 'signer_dir'/'signer_cert'.
 * Writes 'out'/cert.pem (with 'chain_extra', a PEM file appended, when
 * not NULL), 'out'/key.pem and a copy of the host CA as 'out'/ca.pem.
 */
static void make_leaf(const char *out, const char *cn, const char *eku, bool ca,
		      const char *signer_cert, const char *signer_key, const char *chain_extra)
{
	X509 *issuer = read_cert(signer_cert), *x = X509_new();
	EVP_PKEY *ikey = read_key(signer_key), *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX v3;
	char path[200], ca_src[200], buf[8192];
	FILE *f;
	size_t n;

	assert_non_null(x);
	assert_non_null(key);
	assert_true(mkdir(out, 0700) == 0);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), (long)random() + 1), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						    (const unsigned char *)cn, -1, -1, 0),
			 1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x, X509_get_subject_name(issuer)), 1);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	{
		const char *exts[][2] = {
		    {"basicConstraints", ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
		    {"keyUsage",
		     ca ? "critical,keyCertSign,digitalSignature" : "critical,digitalSignature"},
		    {"extendedKeyUsage", eku},
		    {"authorityKeyIdentifier", "keyid:always"},
		};

		for (unsigned i = 0; i < 4; i++) {
			X509_EXTENSION *e;

			if (exts[i][1] == NULL)
				continue;
			e = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
			assert_non_null(e);
			assert_int_equal(X509_add_ext(x, e, -1), 1);
			X509_EXTENSION_free(e);
		}
	}
	assert_true(X509_sign(x, ikey, EVP_sha256()) > 0);
	path_in(path, sizeof(path), out, "cert.pem");
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	if (chain_extra) {
		n = slurp(chain_extra, buf, sizeof(buf));
		assert_int_equal(fwrite(buf, 1, n, f), n);
	}
	fclose(f);
	path_in(path, sizeof(path), out, "key.pem");
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	path_in(ca_src, sizeof(ca_src), pki.ca, "ca.pem");
	n = slurp(ca_src, buf, sizeof(buf));
	path_in(path, sizeof(path), out, "ca.pem");
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ikey);
	X509_free(x);
	X509_free(issuer);
}

/* make_leaf() signed by the host CA into 'pki.dir'/'sub'; fills 'paths' and 'conf'. */
static void make_ca_leaf(const char *sub, const char *cn, const char *eku, bool ca,
			 struct dse_tls_paths *paths, struct dse_tls_conf *conf)
{
	char out[160], ca_cert[200], ca_key[200];

	path_in(out, sizeof(out), pki.dir, sub);
	path_in(ca_cert, sizeof(ca_cert), pki.ca, "ca.pem");
	path_in(ca_key, sizeof(ca_key), pki.ca, "ca.key");
	make_leaf(out, cn, eku, ca, ca_cert, ca_key, NULL);
	assert_int_equal(dse_tls_conf_dir(out, paths, conf), 0);
}

/* Checks the role of the certificate file 'path'; returns the result and the reason in 'why'. */
static int role_of(const char *path, enum dse_tls_role role, char *why, size_t len)
{
	why[0] = '\0';
	return dse_cert_check_file(path, role, why, len);
}

/* ---- the server ---- */

/* Returns its params. */
static int m_echo(struct dse_rpc_call *call, json_t **ret_result)
{
	*ret_result = json_incref(call->params);
	return 0;
}

/* Returns the TLS listener's counters. */
static int m_stats(struct dse_rpc_call *call, json_t **ret_result)
{
	struct dse_rpc_tls_stats st;

	dse_rpc_server_tls_stats(call->srv, &st);
	*ret_result = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "accepted",
				(json_int_t)st.accepted, "established", (json_int_t)st.established,
				"refused", (json_int_t)st.refused, "not_tls",
				(json_int_t)st.refused_not_tls, "cert", (json_int_t)st.refused_cert,
				"role", (json_int_t)st.refused_role,
				"timeout", (json_int_t)st.refused_timeout, "closed",
				(json_int_t)st.refused_closed, "other",
				(json_int_t)st.refused_other,
				"active", (json_int_t)st.active);
	return 0;
}

/* Says whether the call came over the network (what port.add's policy asks). */
static int m_remote(struct dse_rpc_call *call, json_t **ret_result)
{
	*ret_result = json_boolean(call->remote);
	return 0;
}
static int m_rpc_stats(struct dse_rpc_call *call, json_t **ret_result);

static const struct dse_rpc_method methods[] = {
	{"echo", m_echo, "returns params"},
	{"tls.stats", m_stats, "the TLS counters"},
	{"remote", m_remote, "true for a call over TLS"},
	{"rpc.stats", m_rpc_stats, "the counters of the limits"},
	{NULL, NULL, NULL},
};

static void *serve(void *arg)
{
	struct fixture *fx = arg;

	while (!atomic_load(&fx->stop))
		dse_rpc_poll(fx->srv, 10);
	return NULL;
}

/* Starts a server with 'conf' on 127.0.0.1 (ephemeral port) and a Unix socket. */
static void start_server(struct fixture *fx, const struct dse_tls_conf *conf)
{
	char err[512] = "";
	int r, port;

	fx->srv = dse_rpc_server_new(methods, NULL);
	assert_non_null(fx->srv);
	/* The tests connect from 127.0.0.1 many times a second; the rate has tests of its own. */
	if (!fx->has_limits)
		fx->limits = (struct dse_rpc_limits){.tls_rate = 10000, .tls_burst = 10000};
	assert_int_equal(dse_rpc_server_set_limits(fx->srv, &fx->limits), 0);
	r = dse_rpc_listen_tls(fx->srv, "127.0.0.1", 0, conf, err, sizeof(err));
	if (r < 0)
		fail_msg("listen_tls: %s", err);
	port = dse_rpc_tls_port(fx->srv);
	assert_true(port > 0);
	fx->port = (uint16_t)port;
	path_in(fx->sock, sizeof(fx->sock), pki.dir, "rpc.sock");
	assert_int_equal(dse_rpc_listen(fx->srv, fx->sock, 0600), 0);
	atomic_store(&fx->stop, false);
	assert_int_equal(pthread_create(&fx->thread, NULL, serve, fx), 0);
	fx->running = true;
}

static void stop_server(struct fixture *fx)
{
	if (fx->running) {
		atomic_store(&fx->stop, true);
		pthread_join(fx->thread, NULL);
		fx->running = false;
	}
	dse_rpc_server_free(fx->srv);
	fx->srv = NULL;
}

static int fixture_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	fx->fd = -1;
	*state = fx;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *fx = *state;

	stop_server(fx);
	dse_rpc_client_free(fx->client);
	json_decref(fx->result);
	json_decref(fx->error);
	if (fx->fd >= 0)
		close(fx->fd);
	free(fx);
	return 0;
}

/* Connects the fixture's client with 'conf' expecting 'cn'; returns the result. */
static int connect_tls(struct fixture *fx, const struct dse_tls_conf *conf, const char *cn)
{
	fx->err[0] = '\0';
	return dse_rpc_client_tls("127.0.0.1", fx->port, conf, cn, 2000, &fx->client, fx->err,
				  sizeof(fx->err));
}

static int call(struct fixture *fx, struct dse_rpc_client *c, const char *method, json_t *params)
{
	int r;

	json_decref(fx->result);
	json_decref(fx->error);
	fx->result = fx->error = NULL;
	r = dse_rpc_client_call(c, method, params, 5000, &fx->result, &fx->error);
	json_decref(params);
	return r;
}

/* Reads the server's counter 'name' through a fresh, good TLS client. */
static long long stat_of(struct fixture *fx, const char *name)
{
	struct dse_rpc_client *c = NULL;
	char err[512];
	long long v;

	if (dse_rpc_client_tls("127.0.0.1", fx->port, &pki.cli_conf, "h1-d1", 2000, &c, err,
			       sizeof(err)) < 0)
		fail_msg("stats client: %s", err);
	assert_int_equal(call(fx, c, "tls.stats", NULL), 0);
	v = json_integer_value(json_object_get(fx->result, name));
	dse_rpc_client_free(c);
	return v;
}

/* A plain TCP connection to the server. */
static int tcp_connect(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 3};

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	/* A blocking TLS test whose verdict never comes fails instead of hanging. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/*
 * Reads from 'fd' until the peer closes it or 'timeout_ms' pass.  Returns
 * the bytes read before the close (>= 0), or -ETIMEDOUT.
 */
static long read_until_closed(int fd, int timeout_ms)
{
	long total = 0;
	char buf[4096];

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return total; /* EOF or a reset: closed */
		total += n;
	}
}

/*
 * Connects a hand-made TLS client (not ours: it checks nothing of its own
 * certificate) that trusts the host CA and presents the chain in
 * 'cert_file' with 'key_file'; returns the server's verdict as
 * dse_tls_client_confirm() gives it (0: accepted), with the reason in 'err'.
 */
static int raw_client_verdict(struct fixture *fx, const char *cert_file, const char *key_file,
			      char *err, size_t len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl;
	int fd, r;

	assert_non_null(ctx);
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	assert_int_equal(SSL_CTX_load_verify_file(ctx, pki.cli_conf.ca_file), 1);
	assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, cert_file), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	fd = tcp_connect(fx->port);
	ssl = dse_tls_client_new(ctx, fd, "h1-d1");
	assert_non_null(ssl);
	/* The socket is blocking: each step finishes or fails. */
	r = dse_tls_handshake(ssl, &(short){0}, err, len);
	if (r == 0)
		r = dse_tls_client_confirm(ssl, &(short){0}, err, len);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return r;
}

/*
 * Runs the handshake of our client context (the host) against a
 * hand-made server presenting 'srv_dir'/cert.pem, over a socket pair in
 * this thread.  Returns our client's result, with its reason in 'err'.
 */
static int client_vs_handmade_server(const char *srv_dir, const char *expect_cn, char *err,
				     size_t len)
{
	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method()), *cctx = NULL;
	char cert[200], key[200];
	SSL *srv, *cli;
	int sv[2], r = -EAGAIN;

	assert_non_null(sctx);
	path_in(cert, sizeof(cert), srv_dir, "cert.pem");
	path_in(key, sizeof(key), srv_dir, "key.pem");
	SSL_CTX_set_min_proto_version(sctx, TLS1_3_VERSION);
	assert_int_equal(SSL_CTX_use_certificate_file(sctx, cert, SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(sctx, key, SSL_FILETYPE_PEM), 1);
	if (dse_tls_client_ctx_new(&pki.cli_conf, &cctx, err, len) < 0)
		fail_msg("client ctx: %s", err);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	srv = SSL_new(sctx);
	assert_non_null(srv);
	SSL_set_fd(srv, sv[0]);
	SSL_set_accept_state(srv);
	cli = dse_tls_client_new(cctx, sv[1], expect_cn);
	assert_non_null(cli);
	for (unsigned i = 0; i < 100 && r == -EAGAIN; i++) {
		SSL_do_handshake(srv);
		ERR_clear_error();
		r = dse_tls_handshake(cli, &(short){0}, err, len);
	}
	SSL_free(cli);
	SSL_free(srv);
	close(sv[0]);
	close(sv[1]);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	return r;
}

/* Sends stderr (where the server thread logs) to 'path' until capture_end(). */
static int capture_begin(const char *path)
{
	int saved, fd;

	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	return saved;
}

/* Puts stderr back ('saved': what capture_begin() returned). */
static void capture_stop(int saved)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
}

/* Puts stderr back and reads what was captured into 'buf'. */
static void capture_end(int saved, const char *path, char *buf, size_t len)
{
	capture_stop(saved);
	slurp(path, buf, len);
}

/* ---- group setup: the PKI ---- */

static int group_setup(void **state)
{
	(void)state;
	return test_pki_make(&pki, "test-tls");
}

static int group_teardown(void **state)
{
	(void)state;
	rm_rf(pki.dir);
	return 0;
}

/* ---- certs ---- */

/*
 * dse_ca_ensure() makes a CA once and then leaves it alone.
 * Steps: ensure a new directory twice.
 * Verify: ca.pem and ca.key exist, the key is 0600, the second call
 * changes neither file, and the certificate is a CA valid ~10 years.
 */
static void test_ca_ensure_creates_once_and_is_idempotent(void **state)
{
	char dir[160], cert[200], key[200], a_cert[8192], a_key[8192], b[8192], err[512];
	int days, secs;
	X509 *x;

	(void)state;
	path_in(dir, sizeof(dir), pki.dir, "ca-idem/sub");
	path_in(cert, sizeof(cert), dir, "ca.pem");
	path_in(key, sizeof(key), dir, "ca.key");
	assert_int_equal(dse_ca_ensure(dir, err, sizeof(err)), 0);
	assert_int_equal(file_mode(key), 0600);
	assert_int_equal(file_mode(dir), 0700);
	slurp(cert, a_cert, sizeof(a_cert));
	slurp(key, a_key, sizeof(a_key));

	assert_int_equal(dse_ca_ensure(dir, err, sizeof(err)), 0);
	slurp(cert, b, sizeof(b));
	assert_string_equal(a_cert, b);
	slurp(key, b, sizeof(b));
	assert_string_equal(a_key, b);

	x = read_cert(cert);
	assert_int_equal(X509_check_ca(x), 1);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)), 1);
	assert_true(days >= 3650 && days <= 3654);
	X509_free(x);
}

/*
 * Half a CA is an error, never silently replaced.
 * Steps: make a CA, delete ca.key, ensure again; same with only ca.key.
 * Verify: -EEXIST with a message naming the missing file; the remaining
 * file is untouched.
 */
static void test_ca_ensure_refuses_half_a_ca(void **state)
{
	char dir[160], cert[200], key[200], before[8192], after[8192], err[512];

	(void)state;
	path_in(dir, sizeof(dir), pki.dir, "ca-half");
	path_in(cert, sizeof(cert), dir, "ca.pem");
	path_in(key, sizeof(key), dir, "ca.key");
	assert_int_equal(dse_ca_ensure(dir, err, sizeof(err)), 0);
	slurp(cert, before, sizeof(before));
	assert_int_equal(unlink(key), 0);
	assert_int_equal(dse_ca_ensure(dir, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "ca.key"));
	slurp(cert, after, sizeof(after));
	assert_string_equal(before, after);

	assert_int_equal(unlink(cert), 0);
	assert_int_equal(dse_ca_ensure(dir, err, sizeof(err)), 0); /* a fresh one */
	assert_int_equal(unlink(cert), 0);
	assert_int_equal(dse_ca_ensure(dir, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "ca.pem"));
}

/*
 * A CA whose key belongs to another certificate is refused.
 * Steps: copy the foreign CA's key over a CA's key.  Verify: -EINVAL.
 */
static void test_ca_ensure_refuses_mismatched_key(void **state)
{
	char dir[160], key[200], other[200], buf[8192], err[512];
	FILE *f;
	size_t n;

	(void)state;
	path_in(dir, sizeof(dir), pki.dir, "ca-mismatch");
	path_in(key, sizeof(key), dir, "ca.key");
	path_in(other, sizeof(other), pki.ca2, "ca.key");
	assert_int_equal(dse_ca_ensure(dir, err, sizeof(err)), 0);
	n = slurp(other, buf, sizeof(buf));
	f = fopen(key, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
	assert_int_equal(dse_ca_ensure(dir, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does not belong"));
}

/*
 * Parallel issuers make one CA (dse-lab installs DPUs in parallel).
 * Steps: 6 processes ensure the same new directory at once.
 * Verify: all succeed and the key on disk belongs to the certificate.
 */
static void test_ca_ensure_concurrent_callers_make_one_ca(void **state)
{
	char dir[160], cert[200], key[200];
	pid_t pids[6];
	X509 *x;
	EVP_PKEY *k;

	(void)state;
	path_in(dir, sizeof(dir), pki.dir, "ca-race");
	path_in(cert, sizeof(cert), dir, "ca.pem");
	path_in(key, sizeof(key), dir, "ca.key");
	for (unsigned i = 0; i < 6; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(dse_ca_ensure(dir, NULL, 0) == 0 ? 0 : 1);
	}
	for (unsigned i = 0; i < 6; i++) {
		int status;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	x = read_cert(cert);
	k = read_key(key);
	assert_int_equal(X509_check_private_key(x, k), 1);
	X509_free(x);
	EVP_PKEY_free(k);
}

/*
 * An issued certificate is what the control channel needs.
 * Steps: read the group's "h1-d1" certificate and key.
 * Verify: it verifies against the host CA as a TLS server but not as a
 * TLS client, CN = h1-d1, key usage digitalSignature, extended key usage
 * serverAuth only, not a CA, ~5 years of validity, key.pem 0600 and
 * matching, ca.pem a copy of the CA's certificate.
 */
static void test_cert_issue_verifies_and_has_the_right_fields(void **state)
{
	char ca_pem[200], cert[200], key[200], copy[200], a[8192], b[8192], cn[64], err[512];
	int days, secs;
	X509 *x;
	EVP_PKEY *k;

	(void)state;
	path_in(ca_pem, sizeof(ca_pem), pki.ca, "ca.pem");
	path_in(cert, sizeof(cert), pki.srv, "cert.pem");
	path_in(key, sizeof(key), pki.srv, "key.pem");
	path_in(copy, sizeof(copy), pki.srv, "ca.pem");

	assert_int_equal(verify_with(ca_pem, cert, X509_PURPOSE_SSL_SERVER), X509_V_OK);
	assert_int_equal(verify_with(ca_pem, cert, X509_PURPOSE_SSL_CLIENT),
			 X509_V_ERR_INVALID_PURPOSE);
	assert_int_equal(dse_cert_read_cn(cert, cn, sizeof(cn), err, sizeof(err)), 0);
	assert_string_equal(cn, "h1-d1");

	x = read_cert(cert);
	assert_int_equal(X509_check_ca(x), 0);
	assert_true(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
	assert_false(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x)), 1);
	assert_true(days >= 1825 && days <= 1828);
	k = read_key(key);
	assert_int_equal(X509_check_private_key(x, k), 1);
	EVP_PKEY_free(k);
	X509_free(x);

	assert_int_equal(file_mode(key), 0600);
	assert_int_equal(file_mode(cert), 0644);
	slurp(ca_pem, a, sizeof(a));
	slurp(copy, b, sizeof(b));
	assert_string_equal(a, b);
}

/*
 * The host's control identity is a client certificate and nothing else.
 * Steps: read the group's host certificate.
 * Verify: CN DSE_TLS_HOST_CN; extended key usage clientAuth only; it
 * verifies against the host CA as a TLS client, not as a server; it has
 * the host role and not the DPU role (the reason says it is a client
 * certificate).
 */
static void test_cert_host_identity_is_client_only(void **state)
{
	char ca_pem[200], cn[64], why[512];
	X509 *x;

	(void)state;
	path_in(ca_pem, sizeof(ca_pem), pki.ca, "ca.pem");
	assert_int_equal(dse_cert_read_cn(pki.cli_conf.cert_file, cn, sizeof(cn), why, sizeof(why)),
			 0);
	assert_string_equal(cn, DSE_TLS_HOST_CN);
	x = read_cert(pki.cli_conf.cert_file);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	assert_int_equal(X509_check_ca(x), 0);
	X509_free(x);
	assert_int_equal(verify_with(ca_pem, pki.cli_conf.cert_file, X509_PURPOSE_SSL_CLIENT),
			 X509_V_OK);
	assert_int_equal(verify_with(ca_pem, pki.cli_conf.cert_file, X509_PURPOSE_SSL_SERVER),
			 X509_V_ERR_INVALID_PURPOSE);
	assert_int_equal(role_of(pki.cli_conf.cert_file, DSE_TLS_ROLE_HOST, why, sizeof(why)), 0);
	assert_int_equal(role_of(pki.cli_conf.cert_file, DSE_TLS_ROLE_DPU, why, sizeof(why)),
			 -EPERM);
	assert_string_equal(why, "certificate '" DSE_TLS_HOST_CN "' is not a DPU server "
				 "certificate: it is a client certificate (extended key usage "
				 "clientAuth)");
	assert_int_equal(role_of(pki.srv_conf.cert_file, DSE_TLS_ROLE_DPU, why, sizeof(why)), 0);
}

/*
 * Only the profile has a role: every other certificate of the host CA is
 * refused for each role, with the reason.
 * Steps: check the roles of the DPU certificates h1-d1 and h1-d2 and of
 * hand-made certificates of the host CA: both key usages (the older DPU
 * profile) as h1-d3 and under the host's name; clientAuth under a DPU's
 * name; no extended key usage, anyExtendedKeyUsage and a CA certificate
 * under the host's name; serverAuth under the host's name.  Issue a DPU
 * certificate for the host's name.
 * Verify: each refusal is -EPERM and its reason names the certificate
 * and what is wrong; the issue is refused (-EINVAL).
 */
static void test_cert_roles_refuse_what_is_not_the_profile(void **state)
{
	static const struct {
		const char *sub, *cn, *eku;
		bool ca;
		enum dse_tls_role role;
		const char *why;
	} cases[] = {
	    {"r-both", "h1-d3", "serverAuth,clientAuth", false, DSE_TLS_ROLE_HOST,
	     "certificate 'h1-d3' is not the host's control identity: it is a server "
	     "certificate too"},
	    {NULL, "h1-d3", NULL, false, DSE_TLS_ROLE_DPU,
	     "certificate 'h1-d3' is not a DPU server certificate: it is a client certificate "
	     "too (extended key usage serverAuth and clientAuth: a certificate of an older "
	     "profile, issue it again)"},
	    {"r-both-host", DSE_TLS_HOST_CN, "clientAuth,serverAuth", false, DSE_TLS_ROLE_HOST,
	     "it is a server certificate too"},
	    {"r-name", "h1-d9", "clientAuth", false, DSE_TLS_ROLE_HOST,
	     "certificate 'h1-d9' is not the host's control identity: its name is not "
	     "'" DSE_TLS_HOST_CN "'"},
	    {"r-noeku", DSE_TLS_HOST_CN, NULL, false, DSE_TLS_ROLE_HOST,
	     "it has no extended key usage"},
	    {"r-any", DSE_TLS_HOST_CN, "anyExtendedKeyUsage,clientAuth", false, DSE_TLS_ROLE_HOST,
	     "it allows any extended key usage"},
	    {"r-ca", DSE_TLS_HOST_CN, "clientAuth", true, DSE_TLS_ROLE_HOST,
	     "it is a CA certificate"},
	    {"r-srvhost", DSE_TLS_HOST_CN, "serverAuth", false, DSE_TLS_ROLE_DPU,
	     "it carries the host's name"},
	};
	struct dse_tls_paths paths;
	struct dse_tls_conf conf;
	char why[512], out[160], err[512];

	(void)state;
	assert_int_equal(role_of(pki.srv_conf.cert_file, DSE_TLS_ROLE_HOST, why, sizeof(why)),
			 -EPERM);
	assert_string_equal(why, "certificate 'h1-d1' is not the host's control identity: it is "
				 "a DPU server certificate (extended key usage serverAuth)");
	assert_int_equal(role_of(pki.sib_conf.cert_file, DSE_TLS_ROLE_HOST, why, sizeof(why)),
			 -EPERM);
	assert_non_null(strstr(why, "'h1-d2' is not the host's control identity"));
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].sub)
			make_ca_leaf(cases[i].sub, cases[i].cn, cases[i].eku, cases[i].ca, &paths,
				     &conf);
		assert_int_equal(role_of(conf.cert_file, cases[i].role, why, sizeof(why)), -EPERM);
		if (strstr(why, cases[i].why) == NULL)
			fail_msg("case %u: '%s' does not say '%s'", i, why, cases[i].why);
	}
	path_in(out, sizeof(out), pki.dir, "hostname-as-dpu");
	assert_int_equal(dse_cert_issue(pki.ca, DSE_TLS_HOST_CN, out, err, sizeof(err)), -EINVAL);
}

/*
 * Certificates of another CA do not verify against ours, and serials are random.
 * Steps: verify the foreign "hostd" against the host CA; issue the same
 * name twice.  Verify: a verification error; two different serials.
 */
static void test_cert_other_ca_fails_and_serials_differ(void **state)
{
	char ca_pem[200], cert[200], out[160], err[512];
	ASN1_INTEGER *s1;
	X509 *x;

	(void)state;
	path_in(ca_pem, sizeof(ca_pem), pki.ca, "ca.pem");
	path_in(cert, sizeof(cert), pki.rogue_cli, "cert.pem");
	assert_int_not_equal(verify_with(ca_pem, cert, X509_PURPOSE_SSL_CLIENT), X509_V_OK);

	path_in(out, sizeof(out), pki.dir, "twice");
	path_in(cert, sizeof(cert), out, "cert.pem");
	assert_int_equal(dse_cert_issue(pki.ca, "h9-d9", out, err, sizeof(err)), 0);
	x = read_cert(cert);
	s1 = ASN1_INTEGER_dup(X509_get0_serialNumber(x));
	X509_free(x);
	assert_int_equal(dse_cert_issue(pki.ca, "h9-d9", out, err, sizeof(err)), 0);
	x = read_cert(cert);
	assert_int_not_equal(ASN1_INTEGER_cmp(s1, X509_get0_serialNumber(x)), 0);
	assert_true(ASN1_INTEGER_get(s1) != 0);
	ASN1_INTEGER_free(s1);
	X509_free(x);
}

/*
 * Names that are not DPU names are refused before anything is written.
 * Steps: issue "", "-x", "a b", "a/b", "a_b" and 64 characters.
 * Verify: -EINVAL with a message each time; the output directory is
 * never created.
 */
static void test_cert_issue_refuses_bad_names(void **state)
{
	static const char *const bad[] = {"", "-x", ".x", "a b", "a/b", "a_b", "é"};
	char out[160], longname[80], err[512];
	struct stat st;

	(void)state;
	path_in(out, sizeof(out), pki.dir, "badname");
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(dse_cert_issue(pki.ca, bad[i], out, err, sizeof(err)), -EINVAL);
		assert_true(strlen(err) > 0);
	}
	memset(longname, 'a', 64);
	longname[64] = '\0';
	assert_int_equal(dse_cert_issue(pki.ca, longname, out, err, sizeof(err)), -EINVAL);
	longname[63] = '\0';
	assert_int_equal(stat(out, &st), -1);
	assert_int_equal(dse_cert_issue(pki.ca, longname, out, err, sizeof(err)), 0);
}

/*
 * Reading the CN of something that is not a certificate is a clear error.
 * Steps: read the CN of key.pem and of a missing file.
 * Verify: -EINVAL and -ENOENT, each with a message naming the file.
 */
static void test_cert_read_cn_errors(void **state)
{
	char key[200], missing[200], cn[64], err[512];

	(void)state;
	path_in(key, sizeof(key), pki.srv, "key.pem");
	path_in(missing, sizeof(missing), pki.srv, "nope.pem");
	assert_int_equal(dse_cert_read_cn(key, cn, sizeof(cn), err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "key.pem"));
	assert_int_equal(dse_cert_read_cn(missing, cn, sizeof(cn), err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "nope.pem"));
	assert_int_equal(dse_cert_read_cn(pki.srv_conf.cert_file, cn, 3, err, sizeof(err)),
			 -ENAMETOOLONG);
}

/* ---- TLS contexts ---- */

/*
 * A server context refuses credentials that could never work.
 * Steps: a missing key; a key of another certificate; a certificate from
 * another CA than ca.pem.  Verify: -ENOENT, -EINVAL, -EINVAL with messages.
 */
static void test_tls_ctx_refuses_bad_credentials(void **state)
{
	struct dse_tls_conf conf = pki.srv_conf;
	char missing[200], err[512];
	SSL_CTX *ctx = NULL;

	(void)state;
	path_in(missing, sizeof(missing), pki.srv, "missing.pem");
	conf.key_file = missing;
	assert_int_equal(dse_tls_server_ctx_new(&conf, &ctx, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "missing.pem"));

	conf = pki.srv_conf;
	conf.key_file = pki.cli_conf.key_file;
	assert_int_equal(dse_tls_server_ctx_new(&conf, &ctx, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does not belong"));

	conf = pki.srv_conf;
	conf.cert_file = pki.rogue_srv_conf.cert_file;
	conf.key_file = pki.rogue_srv_conf.key_file;
	assert_int_equal(dse_tls_client_ctx_new(&conf, &ctx, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does not verify"));
	assert_null(ctx);

	assert_int_equal(dse_tls_server_ctx_new(&pki.srv_conf, &ctx, err, sizeof(err)), 0);
	SSL_CTX_free(ctx);
}

/*
 * A context refuses our own certificate when it has not the role of its side.
 * Steps: a server context with the host's identity; a client context with
 * a DPU certificate; a server context with a DPU certificate of the older
 * profile (serverAuth and clientAuth).
 * Verify: -EINVAL each time, the message names the file and the reason.
 */
static void test_tls_ctx_refuses_own_certificate_of_the_wrong_role(void **state)
{
	struct dse_tls_paths paths;
	struct dse_tls_conf conf;
	char err[1024];
	SSL_CTX *ctx = NULL;

	(void)state;
	assert_int_equal(dse_tls_server_ctx_new(&pki.cli_conf, &ctx, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, pki.cli_conf.cert_file));
	assert_non_null(strstr(err, "is not a DPU server certificate"));
	assert_int_equal(dse_tls_client_ctx_new(&pki.srv_conf, &ctx, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'h1-d1' is not the host's control identity"));
	make_ca_leaf("ctx-old", "h1-d1", "serverAuth,clientAuth", false, &paths, &conf);
	assert_int_equal(dse_tls_server_ctx_new(&conf, &ctx, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "older profile"));
	assert_null(ctx);
}

/* ---- the control channel ---- */

/*
 * A client with a certificate of the host CA is served, next to a Unix
 * client of the same poll loop.
 * Steps: connect over TLS expecting "h1-d1"; echo a small and a 2 MiB
 * object; echo over the Unix socket too.
 * Verify: both answers; the peer name; the established counter.
 */
static void test_tls_round_trip_next_to_unix(void **state)
{
	struct fixture *fx = *state;
	struct dse_rpc_client *ux = NULL;
	size_t len = 2u << 20;
	char *big = malloc(len + 1);

	assert_non_null(big);
	for (size_t i = 0; i < len; i++)
		big[i] = (char)('a' + i % 26);
	big[len] = '\0';
	start_server(fx, &pki.srv_conf);
	if (connect_tls(fx, &pki.cli_conf, "h1-d1") < 0)
		fail_msg("connect: %s", fx->err);
	assert_string_equal(dse_rpc_client_peer_cn(fx->client), "h1-d1");
	assert_int_equal(call(fx, fx->client, "echo", json_pack("{s:s}", "hello", "dpu")), 0);
	assert_string_equal(json_string_value(json_object_get(fx->result, "hello")), "dpu");
	assert_int_equal(call(fx, fx->client, "echo", json_pack("{s:s}", "big", big)), 0);
	assert_string_equal(json_string_value(json_object_get(fx->result, "big")), big);
	free(big);

	assert_int_equal(dse_rpc_client_unix(fx->sock, 1000, &ux), 0);
	assert_int_equal(call(fx, ux, "echo", json_pack("{s:i}", "unix", 1)), 0);
	assert_int_equal(json_integer_value(json_object_get(fx->result, "unix")), 1);
	dse_rpc_client_free(ux);

	assert_int_equal(call(fx, fx->client, "tls.stats", NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(fx->result, "established")), 1);
	assert_int_equal(json_integer_value(json_object_get(fx->result, "refused")), 0);
	assert_int_equal(json_integer_value(json_object_get(fx->result, "active")), 1);
}

/*
 * Without an expected name, any certificate of the CA is accepted and the
 * client learns the server's name (discovery).
 * Steps: connect with expect_cn NULL.  Verify: 0 and peer name "h1-d1".
 */
static void test_tls_client_without_expected_name_learns_it(void **state)
{
	struct fixture *fx = *state;

	start_server(fx, &pki.srv_conf);
	if (connect_tls(fx, &pki.cli_conf, NULL) < 0)
		fail_msg("connect: %s", fx->err);
	assert_string_equal(dse_rpc_client_peer_cn(fx->client), "h1-d1");
	assert_int_equal(call(fx, fx->client, "echo", NULL), 0);
}

/*
 * A plain TCP client is refused: closed without an answer, and counted.
 * Steps: connect with TCP, send a JSON-RPC request line.
 * Verify: the server closes the connection without sending a byte of
 * JSON; refused and refused_not_tls are 1.
 */
static void test_tls_plain_tcp_client_is_refused(void **state)
{
	struct fixture *fx = *state;
	static const char req[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\"}\n";
	long n;

	start_server(fx, &pki.srv_conf);
	fx->fd = tcp_connect(fx->port);
	assert_int_equal(write(fx->fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	n = read_until_closed(fx->fd, 3000);
	assert_true(n >= 0); /* closed, not left hanging */
	assert_int_equal(stat_of(fx, "not_tls"), 1);
	assert_int_equal(stat_of(fx, "refused"), 1);
}

/*
 * A TCP client that never starts a handshake is refused at the deadline.
 * Steps: handshake timeout 200 ms; connect with TCP and send nothing.
 * Verify: closed within 3 s; refused_timeout is 1.
 */
static void test_tls_silent_client_times_out(void **state)
{
	struct fixture *fx = *state;

	start_server(fx, &pki.srv_conf);
	dse_rpc_tls_set_handshake_timeout(fx->srv, 200);
	fx->fd = tcp_connect(fx->port);
	assert_int_equal(read_until_closed(fx->fd, 3000), 0);
	assert_int_equal(stat_of(fx, "timeout"), 1);
}

/*
 * A client of another host (its certificate and its trust from another
 * CA) is refused, and refuses our server too.
 * Steps: connect with the foreign CA's "hostd" and the foreign ca.pem.
 * Verify: -EACCES at connect with a message about the certificate, no
 * client; the server counts one certificate refusal and established only
 * its two stats clients.
 */
static void test_tls_client_of_other_ca_is_refused(void **state)
{
	struct fixture *fx = *state;

	start_server(fx, &pki.srv_conf);
	assert_int_equal(connect_tls(fx, &pki.rogue_cli_conf, "h1-d1"), -EACCES);
	assert_null(fx->client);
	assert_non_null(strstr(fx->err, "certificate"));
	assert_int_equal(stat_of(fx, "cert"), 1);
	assert_int_equal(stat_of(fx, "established"), 2); /* the two stats clients */
}

/*
 * A TLS client from another CA that trusts our server CA is refused by
 * the server itself (not by its own checks).
 * Steps: a hand-made client context with the foreign "hostd" certificate
 * and the host CA as trust anchor; handshake, then wait for the verdict.
 * Verify: the handshake passes on the client side, the verdict is -EACCES
 * (the server's alert), and refused_cert is 1.
 */
static void test_tls_server_refuses_certificate_of_other_ca(void **state)
{
	struct fixture *fx = *state;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char err[256];
	SSL *ssl;
	int r;

	start_server(fx, &pki.srv_conf);
	assert_non_null(ctx);
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	assert_int_equal(SSL_CTX_load_verify_file(ctx, pki.cli_conf.ca_file), 1);
	assert_int_equal(SSL_CTX_use_certificate_file(ctx, pki.rogue_cli_conf.cert_file,
						      SSL_FILETYPE_PEM), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, pki.rogue_cli_conf.key_file,
						     SSL_FILETYPE_PEM), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	fx->fd = tcp_connect(fx->port);
	ssl = dse_tls_client_new(ctx, fx->fd, "h1-d1");
	assert_non_null(ssl);
	/* The socket is blocking: each step finishes or fails. */
	r = dse_tls_handshake(ssl, &(short){0}, err, sizeof(err));
	assert_int_equal(r, 0);
	/* No ticket callback here: the verdict is the alert (or a read timeout if none came). */
	r = dse_tls_client_confirm(ssl, &(short){0}, err, sizeof(err));
	assert_int_equal(r, -EACCES);
	assert_non_null(strstr(err, "refused our certificate"));
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	assert_int_equal(stat_of(fx, "cert"), 1);
}

/*
 * Coming from the host CA is not enough: the control port serves only the
 * host's control identity (issue 8: one DPU must not control another).
 * Steps: stderr captured; hand-made clients present, each with its key,
 * the sibling DPU's certificate (h1-d2), the server's own (h1-d1), a
 * client-only certificate of the host CA named h1-d9, and one under the
 * host's name with both key usages; then our host client connects.
 * Verify: each is refused (the client gets the alert: -EACCES); the server
 * counts 4 role refusals and no other; the log says for each which
 * certificate and why; the host's client is served.
 */
static void test_tls_server_refuses_clients_without_the_host_role(void **state)
{
	struct fixture *fx = *state;
	struct dse_tls_paths p1, p2;
	struct dse_tls_conf name_conf, both_conf;
	char logpath[160], log[16384], err[512];
	int saved;

	make_ca_leaf("cli-name", "h1-d9", "clientAuth", false, &p1, &name_conf);
	make_ca_leaf("cli-both", DSE_TLS_HOST_CN, "serverAuth,clientAuth", false, &p2, &both_conf);
	path_in(logpath, sizeof(logpath), pki.dir, "role.log");
	start_server(fx, &pki.srv_conf);
	saved = capture_begin(logpath);
	assert_int_equal(
	    raw_client_verdict(fx, pki.sib_conf.cert_file, pki.sib_conf.key_file, err, sizeof(err)),
	    -EACCES);
	assert_int_equal(
	    raw_client_verdict(fx, pki.srv_conf.cert_file, pki.srv_conf.key_file, err, sizeof(err)),
	    -EACCES);
	assert_non_null(strstr(err, "refused our certificate"));
	assert_int_equal(
	    raw_client_verdict(fx, name_conf.cert_file, name_conf.key_file, err, sizeof(err)),
	    -EACCES);
	assert_int_equal(
	    raw_client_verdict(fx, both_conf.cert_file, both_conf.key_file, err, sizeof(err)),
	    -EACCES);
	assert_int_equal(stat_of(fx, "role"), 4);
	capture_end(saved, logpath, log, sizeof(log));
	assert_int_equal(stat_of(fx, "refused"), 4);
	assert_int_equal(stat_of(fx, "cert"), 0);
	assert_int_equal(stat_of(fx, "established"), 4); /* only the stats clients */
	if (strstr(log, "certificate 'h1-d2' is not the host's control identity: it is a DPU "
			"server certificate (extended key usage serverAuth)") == NULL ||
	    strstr(log, "certificate 'h1-d1' is not the host's control identity: it is a DPU "
			"server certificate") == NULL ||
	    strstr(log, "certificate 'h1-d9' is not the host's control identity: its name is "
			"not") == NULL ||
	    strstr(log, "certificate '" DSE_TLS_HOST_CN "' is not the host's control identity: "
			"it is a server certificate too") == NULL)
		fail_msg("the log names each refusal and its reason:\n%s", log);
	if (connect_tls(fx, &pki.cli_conf, "h1-d1") < 0)
		fail_msg("connect: %s", fx->err);
	assert_int_equal(call(fx, fx->client, "echo", json_pack("{s:i}", "host", 1)), 0);
}

/*
 * A DPU can not make itself the host by signing a certificate with its own key.
 * Steps: with the sibling DPU's key, sign a clientAuth certificate under
 * the host's name and present it with the DPU's certificate as its chain.
 * Verify: refused (-EACCES), counted as a certificate refusal (the chain
 * does not verify: a DPU certificate is no CA), not as a role refusal.
 */
static void test_tls_server_refuses_a_host_identity_signed_by_a_dpu(void **state)
{
	struct fixture *fx = *state;
	char out[160], cert[200], key[200], err[512];

	path_in(out, sizeof(out), pki.dir, "forged");
	make_leaf(out, DSE_TLS_HOST_CN, "clientAuth", false, pki.sib_conf.cert_file,
		  pki.sib_conf.key_file, pki.sib_conf.cert_file);
	path_in(cert, sizeof(cert), out, "cert.pem");
	path_in(key, sizeof(key), out, "key.pem");
	start_server(fx, &pki.srv_conf);
	assert_int_equal(raw_client_verdict(fx, cert, key, err, sizeof(err)), -EACCES);
	assert_int_equal(stat_of(fx, "cert"), 1);
	assert_int_equal(stat_of(fx, "role"), 0);
}

/*
 * The host talks only to DPU server certificates.
 * Steps: our client context (the host's identity) against hand-made servers
 * presenting a DPU certificate of the older profile (serverAuth and
 * clientAuth, "h1-d1"), expecting h1-d1 and expecting no name; and
 * presenting the host's own identity.  Then against a server with the
 * DPU certificate h1-d1.
 * Verify: -EPERM with the reason naming the certificate; the last one
 * completes (0).
 */
static void test_tls_client_refuses_servers_without_the_dpu_role(void **state)
{
	struct dse_tls_paths paths;
	struct dse_tls_conf conf;
	char old_dir[160], err[512];

	(void)state;
	make_ca_leaf("srv-old", "h1-d1", "serverAuth,clientAuth", false, &paths, &conf);
	path_in(old_dir, sizeof(old_dir), pki.dir, "srv-old");
	assert_int_equal(client_vs_handmade_server(old_dir, "h1-d1", err, sizeof(err)), -EPERM);
	assert_string_equal(err, "certificate 'h1-d1' is not a DPU server certificate: it is a "
				 "client certificate too (extended key usage serverAuth and "
				 "clientAuth: a certificate of an older profile, issue it again)");
	assert_int_equal(client_vs_handmade_server(old_dir, NULL, err, sizeof(err)), -EPERM);
	assert_int_equal(client_vs_handmade_server(pki.cli, NULL, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "'" DSE_TLS_HOST_CN "' is not a DPU server certificate"));
	assert_int_equal(client_vs_handmade_server(pki.srv, "h1-d1", err, sizeof(err)), 0);
}

/*
 * A TLS client without any certificate is refused.
 * Steps: a hand-made client context that trusts the host CA but has no
 * certificate; handshake, then read.  Verify: -EACCES (the server's
 * "certificate required" alert) and refused_cert is 1.
 */
static void test_tls_client_without_certificate_is_refused(void **state)
{
	struct fixture *fx = *state;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char err[256], b;
	SSL *ssl;
	int r;

	start_server(fx, &pki.srv_conf);
	assert_non_null(ctx);
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	assert_int_equal(SSL_CTX_load_verify_file(ctx, pki.cli_conf.ca_file), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	fx->fd = tcp_connect(fx->port);
	ssl = dse_tls_client_new(ctx, fx->fd, "h1-d1");
	assert_non_null(ssl);
	assert_int_equal(dse_tls_handshake(ssl, &(short){0}, err, sizeof(err)), 0);
	r = (int)dse_tls_read(ssl, &b, 1, &(short){0}, err, sizeof(err));
	assert_int_equal(r, -EACCES);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	assert_int_equal(stat_of(fx, "cert"), 1);
}

/*
 * The client refuses a server whose name is not the expected one.
 * Steps: connect to the "h1-d1" server expecting "h1-d2".
 * Verify: -EACCES, a message with both names, no client; the server
 * counts the aborted handshake as a certificate refusal.
 */
static void test_tls_client_refuses_wrong_server_name(void **state)
{
	struct fixture *fx = *state;

	start_server(fx, &pki.srv_conf);
	assert_int_equal(connect_tls(fx, &pki.cli_conf, "h1-d2"), -EACCES);
	assert_null(fx->client);
	if (strstr(fx->err, "'h1-d1'") == NULL || strstr(fx->err, "'h1-d2'") == NULL)
		fail_msg("the message names both: %s", fx->err);
	assert_int_equal(stat_of(fx, "cert"), 1);
}

/*
 * The client refuses a server whose certificate another CA issued, even
 * with the right name.
 * Steps: a server with the foreign "h1-d1" (and the foreign CA), a client
 * of the host CA expecting "h1-d1".  Verify: -EACCES and a message.
 */
static void test_tls_client_refuses_server_of_other_ca(void **state)
{
	struct fixture *fx = *state;

	start_server(fx, &pki.rogue_srv_conf);
	assert_int_equal(connect_tls(fx, &pki.cli_conf, "h1-d1"), -EACCES);
	assert_null(fx->client);
	assert_non_null(strstr(fx->err, "certificate"));
}

/*
 * Connecting where nobody listens, or to a server that never answers,
 * fails with a plain errno within the time limit.
 * Steps: connect to a closed port; connect to a listening socket that
 * never accepts nor answers, with 200 ms.
 * Verify: -ECONNREFUSED; -ETIMEDOUT in well under a second.
 */
static void test_tls_connect_refused_and_timeout(void **state)
{
	struct fixture *fx = *state;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	struct timespec t0, t1;
	int lfd;
	long ms;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &al), 0);
	fx->port = ntohs(a.sin_port);
	/* Bound but not listening: the port refuses. */
	assert_int_equal(connect_tls(fx, &pki.cli_conf, "h1-d1"), -ECONNREFUSED);
	assert_non_null(strstr(fx->err, "127.0.0.1"));

	assert_int_equal(listen(lfd, 4), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(dse_rpc_client_tls("127.0.0.1", fx->port, &pki.cli_conf, "h1-d1", 200,
					    &fx->client, fx->err, sizeof(fx->err)),
			 -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(ms >= 190 && ms < 1000);
	close(lfd);
}

/*
 * The TLS listener refuses what it can not do.
 * Steps: listen on a name that is not an address; listen twice; listen
 * on a port another server holds.
 * Verify: -EINVAL, -EALREADY, -EADDRINUSE, each with a message.
 */
static void test_tls_listen_errors(void **state)
{
	struct fixture *fx = *state;
	struct dse_rpc_server *other = dse_rpc_server_new(methods, NULL);
	char err[512];

	assert_non_null(other);
	start_server(fx, &pki.srv_conf);
	assert_int_equal(dse_rpc_listen_tls(other, "dpu.example", 7300, &pki.srv_conf, err,
					    sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "dpu.example"));
	assert_int_equal(dse_rpc_listen_tls(other, "127.0.0.1", fx->port, &pki.srv_conf, err,
					    sizeof(err)),
			 -EADDRINUSE);
	assert_non_null(strstr(err, "127.0.0.1"));
	assert_int_equal(dse_rpc_tls_port(other), -ENOTCONN);
	assert_int_equal(dse_rpc_listen_tls(other, "127.0.0.1", 0, &pki.srv_conf, err, sizeof(err)),
			 0);
	assert_int_equal(dse_rpc_listen_tls(other, "127.0.0.1", 0, &pki.srv_conf, err, sizeof(err)),
			 -EALREADY);
	dse_rpc_server_free(other);
}

/*
 * A refused client does not disturb the others.
 * Steps: connect a good client; refuse a plain TCP client and a foreign
 * one; call with the good client again.
 * Verify: the good client's call works; refused is 2.
 */
static void test_tls_refusals_do_not_disturb_good_clients(void **state)
{
	struct fixture *fx = *state;
	struct dse_rpc_client *rogue = NULL;
	char err[512];

	start_server(fx, &pki.srv_conf);
	if (connect_tls(fx, &pki.cli_conf, "h1-d1") < 0)
		fail_msg("connect: %s", fx->err);
	fx->fd = tcp_connect(fx->port);
	assert_int_equal(write(fx->fd, "GET / HTTP/1.0\r\n\r\n", 18), 18);
	assert_true(read_until_closed(fx->fd, 3000) >= 0);
	assert_int_equal(dse_rpc_client_tls("127.0.0.1", fx->port, &pki.rogue_cli_conf, "h1-d1",
					    2000, &rogue, err, sizeof(err)),
			 -EACCES);
	assert_int_equal(call(fx, fx->client, "echo", json_pack("{s:i}", "still", 1)), 0);
	assert_int_equal(json_integer_value(json_object_get(fx->result, "still")), 1);
	assert_int_equal(call(fx, fx->client, "tls.stats", NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(fx->result, "refused")), 2);
}

/*
 * Refusals are logged, but rate limited: a flood does not flood the log.
 * Steps: stderr to a file; 20 plain TCP clients refused in a row; after
 * 1.2 s one more.
 * Verify: 21 refusals counted; fewer than 16 of them logged; the last
 * line says how many were not logged.
 */
static void test_tls_refusals_are_logged_rate_limited(void **state)
{
	struct fixture *fx = *state;
	char logpath[160], line[512], last[512] = "";
	unsigned logged = 0;
	int saved;
	FILE *f;

	path_in(logpath, sizeof(logpath), pki.dir, "refusals.log");
	start_server(fx, &pki.srv_conf);
	saved = capture_begin(logpath);
	for (unsigned i = 0; i < 21; i++) {
		int fd;

		if (i == 20)
			usleep(1200 * 1000);
		fd = tcp_connect(fx->port);
		if (write(fd, "hello\n", 6) != 6 || read_until_closed(fd, 3000) < 0) {
			close(fd);
			break;
		}
		close(fd);
	}
	/* The last refusal is logged before the server closes its connection. */
	capture_stop(saved);
	assert_int_equal(stat_of(fx, "not_tls"), 21);

	f = fopen(logpath, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "refused TLS client") == NULL)
			continue;
		logged++;
		snprintf(last, sizeof(last), "%s", line);
	}
	fclose(f);
	assert_true(logged >= 10);
	assert_true(logged < 16);
	if (strstr(last, "more refusals not logged") == NULL)
		fail_msg("last line: %s", last);
}

/*
 * A method learns whether its call came over the network: dse-dpud refuses
 * some things (test devices) to TLS callers only.
 * Steps: call "remote" over TLS, over the Unix socket, over TLS again (the
 * flag must not stick) and through dse_rpc_dispatch() as a startup replay.
 * Verify: true, false, true, false.
 */
static void test_tls_calls_are_marked_remote(void **state)
{
	struct fixture *fx = *state;
	struct dse_rpc_client *ux = NULL;
	json_t *req, *resp;

	start_server(fx, &pki.srv_conf);
	if (connect_tls(fx, &pki.cli_conf, "h1-d1") < 0)
		fail_msg("connect: %s", fx->err);
	assert_int_equal(call(fx, fx->client, "remote", NULL), 0);
	assert_true(json_is_true(fx->result));
	assert_int_equal(dse_rpc_client_unix(fx->sock, 1000, &ux), 0);
	assert_int_equal(call(fx, ux, "remote", NULL), 0);
	assert_true(json_is_false(fx->result));
	dse_rpc_client_free(ux);
	assert_int_equal(call(fx, fx->client, "remote", NULL), 0);
	assert_true(json_is_true(fx->result));
	stop_server(fx);

	fx->srv = dse_rpc_server_new(methods, NULL);
	assert_non_null(fx->srv);
	req = json_pack("{s:s, s:i, s:s}", "jsonrpc", "2.0", "id", 1, "method", "remote");
	resp = dse_rpc_dispatch(fx->srv, req);
	assert_true(json_is_false(json_object_get(resp, "result")));
	json_decref(resp);
	json_decref(req);
}

/* ---- limits of the TLS listener ---- */

/* The server's counters as JSON: {"server": dse_rpc_server_stats_json(), "tls": {...}}. */
static int m_rpc_stats(struct dse_rpc_call *call, json_t **ret_result)
{
	struct dse_rpc_tls_stats st;

	dse_rpc_server_tls_stats(call->srv, &st);
	*ret_result = json_pack("{s:o, s:{s:I, s:I, s:I, s:I}}", "server",
				dse_rpc_server_stats_json(call->srv), "tls", "rate",
				(json_int_t)st.refused_rate, "evicted",
				(json_int_t)st.refused_evicted, "full", (json_int_t)st.refused_full,
				"handshaking", (json_int_t)st.handshaking);
	return 0;
}

/*
 * Reads counter 'name' of 'group' (and 'sub' of it, unless NULL) of
 * rpc.stats, over the server's Unix socket, which no TLS limit touches.
 */
static long long limit_stat(struct fixture *fx, const char *group, const char *sub,
			    const char *name)
{
	struct dse_rpc_client *c = NULL;
	json_t *o;
	long long v;

	assert_int_equal(dse_rpc_client_unix(fx->sock, 2000, &c), 0);
	assert_int_equal(call(fx, c, "rpc.stats", NULL), 0);
	o = json_object_get(fx->result, group);
	if (sub)
		o = json_object_get(o, sub);
	assert_non_null(json_object_get(o, name));
	v = json_integer_value(json_object_get(o, name));
	dse_rpc_client_free(c);
	return v;
}

/* A plain TCP connection to the server from 'src' (an IPv4 address of lo). */
static int tcp_connect_from(uint16_t port, const char *src)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct sockaddr_in s = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, src, &s.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&s, sizeof(s)), 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Whether the server closed 'fd' within 'ms' milliseconds (without sending data). */
static bool closed_within(int fd, int ms)
{
	return read_until_closed(fd, ms) >= 0;
}

/*
 * Starts a server with 'conf' and the limits 'l' (the rate generous
 * unless 'l' sets it, as start_server()).
 */
static void start_server_limits(struct fixture *fx, const struct dse_tls_conf *conf,
				struct dse_rpc_limits l)
{
	if (l.tls_rate == 0)
		l.tls_rate = l.tls_burst = 10000;
	fx->limits = l;
	fx->has_limits = true;
	start_server(fx, conf);
}

/*
 * Unauthenticated peers have a pool of their own and can never take the
 * slots of authenticated clients; a full pool gives its oldest handshake's
 * slot to a newcomer.
 * Steps: max_tls_handshakes 2, max_tls_clients 2; open three TCP
 * connections that never start a handshake; then a client with the host
 * CA's certificate connects and calls.
 * Verify: the first silent connection is closed long before the handshake
 * deadline (its slot went to the third); the good client is served; the
 * handshake pool never holds more than 2 and two handshakes were evicted.
 */
static void test_tls_handshakes_have_their_own_pool(void **state)
{
	struct fixture *fx = *state;
	int fds[3];

	start_server_limits(fx, &pki.srv_conf,
			    (struct dse_rpc_limits){.max_tls_handshakes = 2, .max_tls_clients = 2});
	for (unsigned i = 0; i < 3; i++) {
		fds[i] = tcp_connect(fx->port);
		usleep(20 * 1000);
	}
	assert_true(closed_within(fds[0], 1000));
	if (connect_tls(fx, &pki.cli_conf, "h1-d1") < 0)
		fail_msg("connect: %s", fx->err);
	assert_int_equal(call(fx, fx->client, "echo", json_pack("{s:i}", "ok", 1)), 0);
	assert_int_equal(limit_stat(fx, "tls", NULL, "evicted"), 2);
	assert_true(limit_stat(fx, "tls", NULL, "handshaking") <= 2);
	assert_true(closed_within(fds[1], 1000));
	for (unsigned i = 0; i < 3; i++)
		close(fds[i]);
}

/*
 * New TLS connections are limited per source address, before any TLS
 * work; a connection that authenticates gives its token back.
 * Steps: tls_rate 1/s, tls_burst 3; five good clients from 127.0.0.1 one
 * after the other (connect, call, close); then four silent TCP connections
 * from 127.0.0.1 at once, and one from 127.0.0.2.
 * Verify: the five good clients are all served (their tokens came back);
 * of the silent ones from 127.0.0.1 the fourth is closed at once and the
 * first three are not; the one from 127.0.0.2 is not either; refused_rate
 * is 1.
 */
static void test_tls_rate_limits_unauthenticated_connections_per_source(void **state)
{
	struct fixture *fx = *state;
	int fds[5];

	start_server_limits(fx, &pki.srv_conf,
			    (struct dse_rpc_limits){.tls_rate = 1, .tls_burst = 3});
	for (unsigned i = 0; i < 5; i++) {
		if (connect_tls(fx, &pki.cli_conf, "h1-d1") < 0)
			fail_msg("good client %u: %s", i, fx->err);
		assert_int_equal(call(fx, fx->client, "echo", NULL), 0);
		dse_rpc_client_free(fx->client);
		fx->client = NULL;
	}
	for (unsigned i = 0; i < 4; i++)
		fds[i] = tcp_connect_from(fx->port, "127.0.0.1");
	fds[4] = tcp_connect_from(fx->port, "127.0.0.2");
	assert_true(closed_within(fds[3], 500));
	for (unsigned i = 0; i < 3; i++)
		assert_false(closed_within(fds[i], 50));
	assert_false(closed_within(fds[4], 50));
	assert_int_equal(limit_stat(fx, "tls", NULL, "rate"), 1);
	for (unsigned i = 0; i < 5; i++)
		close(fds[i]);
}

/*
 * A full pool of authenticated sessions makes room by closing the longest
 * idle one: idle sessions never lock the host out.
 * Steps: max_tls_clients 2; clients A then B connect and call; then C.
 * Verify: C is served; A (the longest idle) was closed, B still works;
 * evicted 1, refused_full 0.
 */
static void test_tls_full_sessions_evict_the_longest_idle(void **state)
{
	struct fixture *fx = *state;
	struct dse_rpc_client *a = NULL, *b = NULL;
	char err[512];

	start_server_limits(fx, &pki.srv_conf, (struct dse_rpc_limits){.max_tls_clients = 2});
	assert_int_equal(dse_rpc_client_tls("127.0.0.1", fx->port, &pki.cli_conf, "h1-d1", 2000,
					    &a, err, sizeof(err)),
			 0);
	assert_int_equal(call(fx, a, "echo", NULL), 0);
	usleep(20 * 1000);
	assert_int_equal(dse_rpc_client_tls("127.0.0.1", fx->port, &pki.cli_conf, "h1-d1", 2000,
					    &b, err, sizeof(err)),
			 0);
	assert_int_equal(call(fx, b, "echo", NULL), 0);
	if (connect_tls(fx, &pki.cli_conf, "h1-d1") < 0)
		fail_msg("connect: %s", fx->err);
	assert_int_equal(call(fx, fx->client, "echo", NULL), 0);
	assert_true(call(fx, a, "echo", NULL) < 0);
	assert_int_equal(call(fx, b, "echo", NULL), 0);
	assert_int_equal(limit_stat(fx, "server", "tls", "evicted"), 1);
	assert_int_equal(limit_stat(fx, "server", "tls", "refused_full"), 0);
	dse_rpc_client_free(a);
	dse_rpc_client_free(b);
}

#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ca_ensure_creates_once_and_is_idempotent),
		T(test_ca_ensure_refuses_half_a_ca),
		T(test_ca_ensure_refuses_mismatched_key),
		T(test_ca_ensure_concurrent_callers_make_one_ca),
		T(test_cert_issue_verifies_and_has_the_right_fields),
		T(test_cert_host_identity_is_client_only),
		T(test_cert_roles_refuse_what_is_not_the_profile),
		T(test_cert_other_ca_fails_and_serials_differ),
		T(test_cert_issue_refuses_bad_names),
		T(test_cert_read_cn_errors),
		T(test_tls_ctx_refuses_bad_credentials),
		T(test_tls_ctx_refuses_own_certificate_of_the_wrong_role),
		T(test_tls_round_trip_next_to_unix),
		T(test_tls_client_without_expected_name_learns_it),
		T(test_tls_plain_tcp_client_is_refused),
		T(test_tls_silent_client_times_out),
		T(test_tls_client_of_other_ca_is_refused),
		T(test_tls_server_refuses_certificate_of_other_ca),
		T(test_tls_server_refuses_clients_without_the_host_role),
		T(test_tls_server_refuses_a_host_identity_signed_by_a_dpu),
		T(test_tls_client_refuses_servers_without_the_dpu_role),
		T(test_tls_client_without_certificate_is_refused),
		T(test_tls_client_refuses_wrong_server_name),
		T(test_tls_client_refuses_server_of_other_ca),
		T(test_tls_connect_refused_and_timeout),
		T(test_tls_listen_errors),
		T(test_tls_refusals_do_not_disturb_good_clients),
		T(test_tls_refusals_are_logged_rate_limited),
		T(test_tls_calls_are_marked_remote),
		T(test_tls_handshakes_have_their_own_pool),
		T(test_tls_rate_limits_unauthenticated_connections_per_source),
		T(test_tls_full_sessions_evict_the_longest_idle),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
