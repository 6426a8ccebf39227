/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The certificates of the TLS tests (test_tls.c, test_rpc_async.c), made
 * once per test binary in a temporary directory: the host CA issues the
 * DPU certificates "h1-d1" and "h1-d2" and the host's control identity; a
 * second, foreign CA issues a host identity and an "h1-d1" of its own.
 */
#ifndef DSE_TEST_PKI_H
#define DSE_TEST_PKI_H

#include <stdio.h>
#include <stdlib.h>

#include "certs.h"
#include "tls.h"

struct test_pki {
	char dir[64];
	char ca[128];        /* host CA directory */
	char ca2[128];       /* foreign CA directory */
	char srv[128];       /* "h1-d1" from the host CA */
	char sib[128];       /* "h1-d2" from the host CA: the sibling DPU */
	char cli[128];       /* the host's control identity from the host CA */
	char rogue_cli[128]; /* a host control identity from the foreign CA */
	char rogue_srv[128]; /* "h1-d1" from the foreign CA */
	struct dse_tls_paths srv_paths, sib_paths, cli_paths, rogue_cli_paths, rogue_srv_paths;
	struct dse_tls_conf srv_conf, sib_conf, cli_conf, rogue_cli_conf, rogue_srv_conf;
};

/*
 * Makes the certificates of 'p' in a new directory /tmp/'name'-XXXXXX.
 * Returns 0, or -1 after saying why on stderr.
 */
static inline int test_pki_make(struct test_pki *p, const char *name)
{
	char err[512];

	snprintf(p->dir, sizeof(p->dir), "/tmp/%s-XXXXXX", name);
	if (mkdtemp(p->dir) == NULL)
		return -1;
	snprintf(p->ca, sizeof(p->ca), "%s/ca", p->dir);
	snprintf(p->ca2, sizeof(p->ca2), "%s/ca2", p->dir);
	snprintf(p->srv, sizeof(p->srv), "%s/srv", p->dir);
	snprintf(p->sib, sizeof(p->sib), "%s/sib", p->dir);
	snprintf(p->cli, sizeof(p->cli), "%s/cli", p->dir);
	snprintf(p->rogue_cli, sizeof(p->rogue_cli), "%s/rogue-cli", p->dir);
	snprintf(p->rogue_srv, sizeof(p->rogue_srv), "%s/rogue-srv", p->dir);
	if (dse_cert_issue(p->ca, "h1-d1", p->srv, err, sizeof(err)) < 0 ||
	    dse_cert_issue(p->ca, "h1-d2", p->sib, err, sizeof(err)) < 0 ||
	    dse_cert_issue_host(p->ca, p->cli, err, sizeof(err)) < 0 ||
	    dse_cert_issue_host(p->ca2, p->rogue_cli, err, sizeof(err)) < 0 ||
	    dse_cert_issue(p->ca2, "h1-d1", p->rogue_srv, err, sizeof(err)) < 0) {
		fprintf(stderr, "test certificates: %s\n", err);
		return -1;
	}
	if (dse_tls_conf_dir(p->srv, &p->srv_paths, &p->srv_conf) < 0 ||
	    dse_tls_conf_dir(p->sib, &p->sib_paths, &p->sib_conf) < 0 ||
	    dse_tls_conf_dir(p->cli, &p->cli_paths, &p->cli_conf) < 0 ||
	    dse_tls_conf_dir(p->rogue_cli, &p->rogue_cli_paths, &p->rogue_cli_conf) < 0 ||
	    dse_tls_conf_dir(p->rogue_srv, &p->rogue_srv_paths, &p->rogue_srv_conf) < 0)
		return -1;
	return 0;
}

#endif
