/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Tables for people: a header row and aligned columns, cells taken from the
 * members of JSON objects.
 */
#ifndef DSE_CTL_TABLE_H
#define DSE_CTL_TABLE_H

#include <jansson.h>
#include <stdio.h>

/* One column: its header and the member of each row object it shows. */
struct table_col {
	const char *header;
	const char *key;
};

/*
 * Prints the objects of 'rows' under the 'n' columns 'cols' to 'f'.  A
 * string is shown as it is, an integer in decimal, a real with one decimal,
 * a list as its items joined by ',', null or a missing member as '-'.
 */
void table_print(FILE *f, json_t *rows, const struct table_col *cols, size_t n);

/* Writes the cell text of 'v' (as table_print() shows it) to 'buf'. */
void table_cell(json_t *v, char *buf, size_t len);

#endif
