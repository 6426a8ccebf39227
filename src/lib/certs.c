/* SPDX-License-Identifier: BSD-3-Clause */
#include "certs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"

#define CA_DAYS   3653 /* 10 years with their leap days */
#define LEAF_DAYS 1827 /* 5 years */
/* Certificates start an hour in the past, so a peer whose clock is a little behind accepts them. */
#define BACKDATE_S 3600

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

static const char *ossl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *s = e ? ERR_reason_error_string(e) : NULL;

	snprintf(buf, len, "%s", s ? s : "OpenSSL error");
	ERR_clear_error();
	return buf;
}

/* Creates 'path' and its missing parents with 'mode'. */
static int mkdir_p(const char *path, mode_t mode, char *err, size_t err_len)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
		set_err(err, err_len, "bad directory name '%s'", path);
		return len ? -ENAMETOOLONG : -EINVAL;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST) {
			int r = -errno;

			set_err(err, err_len, "cannot create directory %s: %s", buf, strerror(-r));
			return r;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

static int join(char *buf, size_t len, const char *dir, const char *file, char *err,
		size_t err_len)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, file) >= len) {
		set_err(err, err_len, "path too long: %s/%s", dir, file);
		return -ENAMETOOLONG;
	}
	return 0;
}

/*
 * Writes 'key' (when not NULL) or 'cert' as PEM to 'path' with 'mode':
 * into a temporary file in the same directory, synced, then renamed.
 */
static int write_pem(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert, char *err,
		     size_t err_len)
{
	char tmp[PATH_MAX + 16];
	FILE *f;
	int fd, r = 0, ok;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp)) {
		set_err(err, err_len, "path too long: %s", path);
		return -ENAMETOOLONG;
	}
	fd = mkstemp(tmp); /* created 0600: a key is never readable by others, even briefly */
	if (fd < 0) {
		r = -errno;
		set_err(err, err_len, "cannot create %s: %s", path, strerror(-r));
		return r;
	}
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		close(fd);
		goto fail;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		r = -errno;
		close(fd);
		goto fail;
	}
	if (key)
		ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_X509(f, cert);
	ERR_clear_error();
	if (!ok || fflush(f) != 0 || fsync(fileno(f)) < 0)
		r = errno ? -errno : -EIO;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r == 0)
		return 0;
fail:
	set_err(err, err_len, "cannot write %s: %s", path, strerror(-r));
	unlink(tmp);
	return r;
}

static int load_cert(const char *path, X509 **ret, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	char why[128];

	if (f == NULL) {
		int r = -errno;

		set_err(err, err_len, "%s: %s", path, strerror(-r));
		return r;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		set_err(err, err_len, "%s is not a PEM certificate: %s", path,
			ossl_reason(why, sizeof(why)));
		return -EINVAL;
	}
	*ret = x;
	return 0;
}

static int load_key(const char *path, EVP_PKEY **ret, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;
	char why[128];

	if (f == NULL) {
		int r = -errno;

		set_err(err, err_len, "%s: %s", path, strerror(-r));
		return r;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL) {
		set_err(err, err_len, "%s is not a PEM private key: %s", path,
			ossl_reason(why, sizeof(why)));
		return -EINVAL;
	}
	*ret = k;
	return 0;
}

static EVP_PKEY *new_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* A random positive 127-bit serial: unique without a counter to keep. */
static bool set_random_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	bool ok;

	if (bn == NULL)
		return false;
	do {
		ok = BN_rand(bn, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1;
	} while (ok && BN_is_zero(bn));
	ok = ok && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

static bool add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	bool ok;

	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return false;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

/*
 * Builds a certificate for 'key' named 'subject' and signs it with
 * 'issuer_key' ('issuer' NULL: self-signed CA; else a leaf with the
 * extended key usage 'eku').
 */
static X509 *make_cert(EVP_PKEY *key, X509_NAME *subject, X509 *issuer, EVP_PKEY *issuer_key,
		       long days, const char *eku)
{
	X509 *x = X509_new();
	bool ca = issuer == NULL, ok;

	if (x == NULL)
		return NULL;
	ok = X509_set_version(x, X509_VERSION_3) == 1 && set_random_serial(x) &&
	     X509_set_subject_name(x, subject) == 1 &&
	     X509_set_issuer_name(x, ca ? subject : X509_get_subject_name(issuer)) == 1 &&
	     X509_set_pubkey(x, key) == 1 &&
	     X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_S) != NULL &&
	     X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) != NULL;
	/* A certificate never outlives the CA that vouches for it. */
	if (ok && !ca && ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(issuer)) > 0)
		ok = X509_set1_notAfter(x, X509_get0_notAfter(issuer)) == 1;
	if (ok && ca)
		ok = add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
		     add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
		     add_ext(x, x, NID_subject_key_identifier, "hash") &&
		     add_ext(x, x, NID_authority_key_identifier, "keyid:always");
	else if (ok)
		ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") &&
		     add_ext(x, issuer, NID_key_usage, "critical,digitalSignature") &&
		     add_ext(x, issuer, NID_ext_key_usage, eku) &&
		     add_ext(x, issuer, NID_subject_key_identifier, "hash") &&
		     add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	ok = ok && X509_sign(x, issuer_key, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int create_ca(const char *cert_path, const char *key_path, char *err, size_t err_len)
{
	unsigned char rnd[4];
	char cn[64], why[128];
	X509_NAME *name = X509_NAME_new();
	EVP_PKEY *key = new_key();
	X509 *cert = NULL;
	int r;

	if (name == NULL || key == NULL || RAND_bytes(rnd, sizeof(rnd)) != 1) {
		r = -ENOMEM;
		set_err(err, err_len, "cannot create the CA key: %s",
			ossl_reason(why, sizeof(why)));
		goto out;
	}
	/* A random part in the name tells the CAs of two hosts apart in every message. */
	snprintf(cn, sizeof(cn), "dse host CA %02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"dse", -1,
				       -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
				       -1, 0) != 1 ||
	    (cert = make_cert(key, name, NULL, key, CA_DAYS, NULL)) == NULL) {
		r = -ENOMEM;
		set_err(err, err_len, "cannot create the CA certificate: %s",
			ossl_reason(why, sizeof(why)));
		goto out;
	}
	/* The key first: a certificate without its key would be a damaged CA. */
	r = write_pem(key_path, 0600, key, NULL, err, err_len);
	if (r == 0)
		r = write_pem(cert_path, 0644, NULL, cert, err, err_len);
	if (r < 0)
		unlink(key_path);
out:
	X509_free(cert);
	EVP_PKEY_free(key);
	X509_NAME_free(name);
	return r;
}

/* Loads the CA of 'dir' and checks that its key and certificate belong together. */
static int load_ca(const char *cert_path, const char *key_path, X509 **ret_cert,
		   EVP_PKEY **ret_key, char *err, size_t err_len)
{
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	int r;

	r = load_cert(cert_path, &cert, err, err_len);
	if (r == 0)
		r = load_key(key_path, &key, err, err_len);
	if (r == 0 && X509_check_private_key(cert, key) != 1) {
		set_err(err, err_len, "CA key %s does not belong to CA certificate %s", key_path,
			cert_path);
		r = -EINVAL;
	}
	if (r == 0 && X509_check_ca(cert) == 0) {
		set_err(err, err_len, "%s is not a CA certificate", cert_path);
		r = -EINVAL;
	}
	ERR_clear_error();
	if (r < 0 || ret_cert == NULL)
		X509_free(cert);
	else
		*ret_cert = cert;
	if (r < 0 || ret_key == NULL)
		EVP_PKEY_free(key);
	else
		*ret_key = key;
	return r;
}

int dse_ca_ensure(const char *dir, char *err, size_t err_len)
{
	char cert_path[PATH_MAX], key_path[PATH_MAX], lock_path[PATH_MAX];
	bool has_cert, has_key;
	int r, lock;

	if (dir == NULL || dir[0] == '\0') {
		set_err(err, err_len, "no CA directory given");
		return -EINVAL;
	}
	if ((r = mkdir_p(dir, 0700, err, err_len)) < 0 ||
	    (r = join(cert_path, sizeof(cert_path), dir, "ca.pem", err, err_len)) < 0 ||
	    (r = join(key_path, sizeof(key_path), dir, "ca.key", err, err_len)) < 0 ||
	    (r = join(lock_path, sizeof(lock_path), dir, "ca.lock", err, err_len)) < 0)
		return r;
	/* Two issuers starting at once (dse-lab installs DPUs in parallel) must make one CA. */
	lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0) {
		r = -errno;
		set_err(err, err_len, "cannot open %s: %s", lock_path, strerror(-r));
		return r;
	}
	while (flock(lock, LOCK_EX) < 0) {
		if (errno != EINTR) {
			r = -errno;
			set_err(err, err_len, "cannot lock %s: %s", lock_path, strerror(-r));
			close(lock);
			return r;
		}
	}
	has_cert = access(cert_path, F_OK) == 0;
	has_key = access(key_path, F_OK) == 0;
	if (has_cert && has_key) {
		r = load_ca(cert_path, key_path, NULL, NULL, err, err_len);
	} else if (has_cert || has_key) {
		set_err(err, err_len,
			"the CA in %s is damaged: %s exists but %s does not; restore it from a "
			"backup (a new CA would invalidate every certificate issued)",
			dir, has_cert ? cert_path : key_path, has_cert ? key_path : cert_path);
		r = -EEXIST;
	} else {
		r = create_ca(cert_path, key_path, err, err_len);
	}
	close(lock); /* releases the lock */
	return r;
}

/* DPU names: 1..63 of [A-Za-z0-9.-], starting with a letter or digit. */
static int check_name(const char *name, char *err, size_t err_len)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0 || len > DSE_CERT_NAME_MAX) {
		set_err(err, err_len, "a certificate name must be 1 to %d characters",
			DSE_CERT_NAME_MAX);
		return -EINVAL;
	}
	if (!isalnum((unsigned char)name[0])) {
		set_err(err, err_len, "certificate name '%s' must start with a letter or digit",
			name);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' && name[i] != '.') {
			set_err(err, err_len,
				"certificate name '%s' may hold only letters, digits, '-' and '.'",
				name);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Issues a certificate with CN 'cn' and extended key usage 'eku' from the
 * CA in 'ca_dir' into 'out_dir' (see dse_cert_issue()).
 */
static int issue(const char *ca_dir, const char *cn, const char *eku, const char *out_dir,
		 char *err, size_t err_len)
{
	char ca_cert_path[PATH_MAX], ca_key_path[PATH_MAX], path[PATH_MAX], why[128];
	X509 *ca_cert = NULL, *cert = NULL;
	EVP_PKEY *ca_key = NULL, *key = NULL;
	X509_NAME *subject = NULL;
	int r;

	if (ca_dir == NULL || out_dir == NULL || out_dir[0] == '\0') {
		set_err(err, err_len, "no CA or output directory given");
		return -EINVAL;
	}
	if ((r = dse_ca_ensure(ca_dir, err, err_len)) < 0 ||
	    (r = join(ca_cert_path, sizeof(ca_cert_path), ca_dir, "ca.pem", err, err_len)) < 0 ||
	    (r = join(ca_key_path, sizeof(ca_key_path), ca_dir, "ca.key", err, err_len)) < 0 ||
	    (r = load_ca(ca_cert_path, ca_key_path, &ca_cert, &ca_key, err, err_len)) < 0)
		return r;

	subject = X509_NAME_new();
	key = new_key();
	if (subject == NULL || key == NULL ||
	    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
				       -1, 0) != 1 ||
	    (cert = make_cert(key, subject, ca_cert, ca_key, LEAF_DAYS, eku)) == NULL) {
		set_err(err, err_len, "cannot create the certificate for '%s': %s", cn,
			ossl_reason(why, sizeof(why)));
		r = -ENOMEM;
		goto out;
	}
	if ((r = mkdir_p(out_dir, 0700, err, err_len)) < 0)
		goto out;
	if ((r = join(path, sizeof(path), out_dir, "key.pem", err, err_len)) < 0 ||
	    (r = write_pem(path, 0600, key, NULL, err, err_len)) < 0 ||
	    (r = join(path, sizeof(path), out_dir, "cert.pem", err, err_len)) < 0 ||
	    (r = write_pem(path, 0644, NULL, cert, err, err_len)) < 0 ||
	    (r = join(path, sizeof(path), out_dir, "ca.pem", err, err_len)) < 0 ||
	    (r = write_pem(path, 0644, NULL, ca_cert, err, err_len)) < 0)
		goto out;
out:
	X509_free(cert);
	X509_free(ca_cert);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
	X509_NAME_free(subject);
	ERR_clear_error();
	return r;
}

int dse_cert_issue(const char *ca_dir, const char *name, const char *out_dir, char *err,
		   size_t err_len)
{
	int r = check_name(name, err, err_len);

	/* A DPU serves its control port and is never a client of another DPU's. */
	return r < 0 ? r : issue(ca_dir, name, "serverAuth", out_dir, err, err_len);
}

int dse_cert_issue_host(const char *ca_dir, const char *out_dir, char *err, size_t err_len)
{
	return issue(ca_dir, DSE_TLS_HOST_CN, "clientAuth", out_dir, err, err_len);
}

int dse_cert_check_file(const char *path, enum dse_tls_role role, char *err, size_t err_len)
{
	X509 *cert = NULL;
	int r;

	r = load_cert(path, &cert, err, err_len);
	if (r < 0)
		return r;
	r = dse_x509_check_role(cert, role, err, err_len);
	X509_free(cert);
	ERR_clear_error();
	return r;
}

int dse_cert_read_cn(const char *path, char *buf, size_t len, char *err, size_t err_len)
{
	X509 *cert = NULL;
	int r;

	r = load_cert(path, &cert, err, err_len);
	if (r < 0)
		return r;
	r = dse_x509_cn(cert, buf, len);
	if (r == -ENAMETOOLONG)
		set_err(err, err_len, "the common name of %s is too long", path);
	else if (r < 0)
		set_err(err, err_len, "certificate %s has no single common name (CN)", path);
	if (r == -ENOENT)
		r = -EINVAL;
	X509_free(cert);
	ERR_clear_error();
	return r;
}
