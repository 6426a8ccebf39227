/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A fresh FDB for a unit test (rte_hash names are process-wide, so each
 * gets a name of its own).  Include after cmocka.h and test_eal.h.
 */
#ifndef DSE_TEST_FDB_NEW_H
#define DSE_TEST_FDB_NEW_H

#include <stdio.h>

#include "fdb.h"

/* Creates an empty FDB of 'max_entries' named 'prefix' and a sequence number; asserts success. */
static inline struct dse_fdb *test_fdb_new(const char *prefix, uint32_t max_entries)
{
	static unsigned seq;
	char name[32];
	struct dse_fdb *fdb;

	snprintf(name, sizeof(name), "%s_%u", prefix, seq++);
	fdb = dse_fdb_create(name, max_entries, NULL);
	assert_non_null(fdb);
	assert_int_equal(fdb->n_entries, 0);
	return fdb;
}

#endif
