/* SPDX-License-Identifier: BSD-3-Clause */
/* Aligned tables of JSON rows (table.h). */
#include "table.h"

#include <stdlib.h>
#include <string.h>

#define CELL_MAX 256

void table_cell(json_t *v, char *buf, size_t len)
{
	size_t i, off = 0;
	json_t *x;

	buf[0] = '\0';
	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		snprintf(buf, len, "%s", json_string_value(v));
		break;
	case JSON_INTEGER:
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		/* Seconds (a connection's age, idle time, timeout): a tenth is enough. */
		snprintf(buf, len, "%.1f", json_real_value(v));
		break;
	case JSON_TRUE:
		snprintf(buf, len, "yes");
		break;
	case JSON_FALSE:
		snprintf(buf, len, "no");
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, x) {
			char item[CELL_MAX];

			table_cell(x, item, sizeof(item));
			if (off < len)
				off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "," : "",
							item);
		}
		if (json_array_size(v) == 0)
			snprintf(buf, len, "-");
		break;
	default:
		snprintf(buf, len, "-");
		break;
	}
}

void table_print(FILE *f, json_t *rows, const struct table_col *cols, size_t n)
{
	size_t nrows = json_array_size(rows), *width = calloc(n, sizeof(*width));
	char cell[CELL_MAX];

	if (width == NULL)
		return;
	for (size_t c = 0; c < n; c++)
		width[c] = strlen(cols[c].header);
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < n; c++) {
			table_cell(json_object_get(json_array_get(rows, r), cols[c].key), cell,
				   sizeof(cell));
			if (strlen(cell) > width[c])
				width[c] = strlen(cell);
		}
	for (size_t c = 0; c < n; c++)
		fprintf(f, "%-*s%s", c + 1 < n ? (int)width[c] : 0, cols[c].header,
			c + 1 < n ? "  " : "\n");
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < n; c++) {
			table_cell(json_object_get(json_array_get(rows, r), cols[c].key), cell,
				   sizeof(cell));
			fprintf(f, "%-*s%s", c + 1 < n ? (int)width[c] : 0, cell,
				c + 1 < n ? "  " : "\n");
		}
	free(width);
}
