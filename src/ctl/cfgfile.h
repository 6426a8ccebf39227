/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Host profile files for dsectl: YAML or JSON, read into one JSON value,
 * plus where in the file each element of it was written, so that an error
 * about "segments[2].vlan" (dse-hostd names elements that way) is shown at
 * its line and column.  And the other way: a JSON value written as YAML.
 *
 * YAML is read with libyaml and typed as the YAML 1.2 core schema: an
 * unquoted 100 is an integer, true a boolean, ~ or null nothing, anything
 * quoted a string.  Anchors and aliases, tags other than !!str, !!int and
 * !!bool, non-scalar keys, duplicate keys and more than one document are
 * refused.  JSON is read with jansson (duplicate keys refused).
 */
#ifndef DSE_CTL_CFGFILE_H
#define DSE_CTL_CFGFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Largest file read. */
#define CFG_MAX_SIZE (16u << 20)

/* Where one element starts in the file (1-based). */
struct cfg_pos {
	char *path; /* "switches[0].mode"; "" is the whole document */
	int line;
	int col;
};

/* A file that was read: its value and the positions of its elements. */
struct cfg_doc {
	json_t *root;
	struct cfg_pos *pos;
	size_t n_pos;
	size_t cap_pos;
	/* path -> index in 'pos' (a profile has tens of thousands of paths: no scans). */
	json_t *pos_index;
	bool is_json;
};

/*
 * Reads 'file' ("-" for stdin) into 'doc'.  The format is JSON for a name
 * ending in .json, YAML for .yaml or .yml, else JSON when the first
 * character that is not white space is '{' or '['.  Returns 0, or a
 * negative errno with "FILE:LINE:COL: what is wrong" (or "FILE: ...") in
 * 'err'.
 */
int cfg_load(const char *file, struct cfg_doc *doc, char *err, size_t err_len);

/*
 * Reads 'len' bytes of 'text' as YAML (or JSON when 'json'), as cfg_load();
 * 'name' is used in messages.
 */
int cfg_parse(const char *name, const char *text, size_t len, bool json, struct cfg_doc *doc,
	      char *err, size_t err_len);

/*
 * Finds where 'path', or the nearest element that contains it, was written.
 * Returns true and sets '*line' and '*col', or false when the file gave no
 * position.
 */
bool cfg_position(const struct cfg_doc *doc, const char *path, int *line, int *col);

/* Frees what 'doc' holds.  A zeroed doc is fine. */
void cfg_free(struct cfg_doc *doc);

/*
 * Writes 'value' to 'f' as a YAML document (block style; strings quoted
 * when they would otherwise read back as another type).  Returns 0 or -EIO.
 */
int cfg_write_yaml(FILE *f, json_t *value);

#endif
