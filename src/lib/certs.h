/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The host CA and the certificates it issues (docs/host-side.md
 * "Certificate profile"): to DPUs ("install" in the lab) and to the host
 * itself.  Keys are ECDSA P-256, signatures SHA-256.  The CA is valid 10
 * years.  Its certificates have a random serial, 5 years of validity
 * (never beyond the CA's), key usage digitalSignature and one role
 * (tls.h): a DPU certificate has CN = the DPU's name and extended key
 * usage serverAuth only (it serves its control port and is no client);
 * the host's control identity has CN DSE_TLS_HOST_CN and clientAuth only.
 *
 * Private keys are written with mode 0600, certificates 0644; every file
 * is written to a temporary name and renamed, so a crash never leaves half
 * a file.  Errors are a negative errno plus a message for a person in
 * 'err' (NUL-terminated, at most 'err_len' bytes; 'err' may be NULL).
 */
#ifndef DSE_CERTS_H
#define DSE_CERTS_H

#include <stddef.h>

#include "tls.h"

/* Longest certificate name (CN) accepted. */
#define DSE_CERT_NAME_MAX 63

/*
 * Makes sure 'dir' holds a CA: creates 'dir' (mode 0700, parents too) and
 * 'dir'/ca.pem + 'dir'/ca.key (0600) when both are missing; when both
 * exist, checks that they load and belong together.  Safe against
 * concurrent callers (a lock file 'dir'/ca.lock).  Returns 0, or -EEXIST
 * when only one of the two files exists (a damaged CA is never replaced:
 * certificates it issued would stop working), -EINVAL when they do not
 * load or do not match, another negative errno of the file system.
 */
int dse_ca_ensure(const char *dir, char *err, size_t err_len);

/*
 * Issues a DPU certificate (DSE_TLS_ROLE_DPU) for 'name' (1..63 letters,
 * digits, '-' and '.', starting with a letter or digit; becomes the CN)
 * from the CA in 'ca_dir' (created first if missing, as dse_ca_ensure())
 * with a new key, and writes 'out_dir'/cert.pem, 'out_dir'/key.pem (0600)
 * and a copy of the CA certificate 'out_dir'/ca.pem, creating 'out_dir'
 * (0700) if needed.  Issuing again replaces the three files (new key, new
 * serial).  Returns 0 or a negative errno (-EINVAL for a bad name).
 */
int dse_cert_issue(const char *ca_dir, const char *name, const char *out_dir, char *err,
		   size_t err_len);

/*
 * Issues the host's control identity (DSE_TLS_ROLE_HOST: CN
 * DSE_TLS_HOST_CN, clientAuth only) from the CA in 'ca_dir' into
 * 'out_dir', as dse_cert_issue() does.
 */
int dse_cert_issue_host(const char *ca_dir, const char *out_dir, char *err, size_t err_len);

/*
 * Checks that the certificate in the PEM file 'path' has 'role' (see
 * dse_x509_check_role(); its chain is not checked).  Returns 0, -EPERM
 * with the reason in 'err', or -ENOENT / -EINVAL (not a certificate) as
 * dse_cert_read_cn().
 */
int dse_cert_check_file(const char *path, enum dse_tls_role role, char *err, size_t err_len);

/*
 * Reads the common name of the certificate in the PEM file 'path' into
 * 'buf' (at most 'len' bytes with the NUL).  Returns 0, -ENOENT, -EINVAL
 * (not a certificate, no CN) or -ENAMETOOLONG, with a message in 'err'.
 */
int dse_cert_read_cn(const char *path, char *buf, size_t len, char *err, size_t err_len);

#endif
