/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EAL for the unit tests that need DPDK (rte_hash, rte_acl, mbufs): started
 * once per test binary without hugepages, PCI or shared files, and cleaned
 * up with the runtime directory EAL leaves behind.
 */
#ifndef DSE_TEST_EAL_H
#define DSE_TEST_EAL_H

#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

static char test_eal_runtime_dir[PATH_MAX];

/* Starts EAL for test binary 'name' with 'mem_mb' megabytes.  Returns 0 or -1. */
static inline int test_eal_init(const char *name, const char *mem_mb)
{
	char prefix[96];
	char *argv[] = {(char *)name,	    "--no-huge", "-m", (char *)mem_mb, "--no-pci",
			"--no-shconf",	    "--no-telemetry", "-l", "0",	  prefix,
			"--log-level=error", NULL};

	snprintf(prefix, sizeof(prefix), "--file-prefix=%s-%d", name, (int)getpid());
	if (rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	snprintf(test_eal_runtime_dir, sizeof(test_eal_runtime_dir), "%s",
		 rte_eal_get_runtime_dir());
	return 0;
}

/* Stops EAL and removes its (empty, with --no-shconf) runtime directory. */
static inline int test_eal_cleanup(void)
{
	if (rte_eal_cleanup() < 0)
		return -1;
	if (test_eal_runtime_dir[0])
		rmdir(test_eal_runtime_dir);
	return 0;
}

#endif
