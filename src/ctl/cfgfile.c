/* SPDX-License-Identifier: BSD-3-Clause */
/* YAML and JSON host profile files with element positions (cfgfile.h). */
#include "cfgfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define MAX_DEPTH 64
#define PATH_LEN  256

/* ---- positions ---- */

/* snprintf() into a path buffer: a longer path is cut. */
static void path_fmt(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void path_fmt(char *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, PATH_LEN, fmt, ap);
	va_end(ap);
}

static void add_pos(struct cfg_doc *doc, const char *path, const yaml_mark_t *mark)
{
	/* The first position recorded for a path wins: for a mapping member that is its key. */
	if (doc->pos_index == NULL)
		doc->pos_index = json_object();
	if (doc->pos_index == NULL || json_object_get(doc->pos_index, path) != NULL)
		return;
	if (doc->n_pos == doc->cap_pos) {
		size_t cap = doc->cap_pos ? doc->cap_pos * 2 : 64;
		struct cfg_pos *p = realloc(doc->pos, cap * sizeof(*p));

		if (p == NULL)
			return;
		doc->pos = p;
		doc->cap_pos = cap;
	}
	doc->pos[doc->n_pos].path = strdup(path);
	if (doc->pos[doc->n_pos].path == NULL)
		return;
	doc->pos[doc->n_pos].line = (int)mark->line + 1;
	doc->pos[doc->n_pos].col = (int)mark->column + 1;
	if (json_object_set_new(doc->pos_index, path, json_integer((json_int_t)doc->n_pos)) < 0) {
		free(doc->pos[doc->n_pos].path);
		return;
	}
	doc->n_pos++;
}

bool cfg_position(const struct cfg_doc *doc, const char *path, int *line, int *col)
{
	char p[PATH_LEN];

	snprintf(p, sizeof(p), "%s", path);
	for (;;) {
		char *cut;

		json_t *at = json_object_get(doc->pos_index, p);

		if (at != NULL) {
			*line = doc->pos[json_integer_value(at)].line;
			*col = doc->pos[json_integer_value(at)].col;
			return true;
		}
		if (p[0] == '\0')
			return false;
		/* Up one level: "a[1].b" -> "a[1]" -> "a" -> "". */
		cut = strrchr(p, '.');
		if (strrchr(p, '[') > cut)
			cut = strrchr(p, '[');
		if (cut)
			*cut = '\0';
		else
			p[0] = '\0';
	}
}

void cfg_free(struct cfg_doc *doc)
{
	for (size_t i = 0; i < doc->n_pos; i++)
		free(doc->pos[i].path);
	free(doc->pos);
	json_decref(doc->pos_index);
	json_decref(doc->root);
	memset(doc, 0, sizeof(*doc));
}

/* ---- YAML ---- */

struct yparse {
	yaml_parser_t parser;
	struct cfg_doc *doc;
	const char *name;
	char *err;
	size_t err_len;
};

static int yerr(struct yparse *y, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int yerr(struct yparse *y, const yaml_mark_t *m, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m)
		snprintf(y->err, y->err_len, "%s:%zu:%zu: %s", y->name, m->line + 1,
			 m->column + 1, msg);
	else
		snprintf(y->err, y->err_len, "%s: %s", y->name, msg);
	return -EINVAL;
}

static int next_event(struct yparse *y, yaml_event_t *ev)
{
	if (yaml_parser_parse(&y->parser, ev))
		return 0;
	if (y->parser.context)
		return yerr(y, &y->parser.problem_mark, "%s %s that starts at line %zu column %zu",
			    y->parser.problem, y->parser.context, y->parser.context_mark.line + 1,
			    y->parser.context_mark.column + 1);
	return yerr(y, &y->parser.problem_mark, "%s", y->parser.problem);
}

static bool all_match(const char *s, const char *chars)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!strchr(chars, *s))
			return false;
	return true;
}

/* Types a plain scalar by the YAML 1.2 core schema. */
static json_t *resolve_plain(const char *s)
{
	const char *d = s + (*s == '-' || *s == '+');
	char *end;

	if (!strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	if (all_match(d, "0123456789")) {
		errno = 0;
		long long v = strtoll(s, &end, 10);

		if (errno == 0 && *end == '\0')
			return json_integer(v);
	}
	if ((!strncmp(s, "0x", 2) && all_match(s + 2, "0123456789abcdefABCDEF")) ||
	    (!strncmp(s, "0o", 2) && all_match(s + 2, "01234567"))) {
		errno = 0;
		long long v = strtoll(s + 2, &end, s[1] == 'x' ? 16 : 8);

		if (errno == 0 && *end == '\0')
			return json_integer(v);
	}
	if ((isdigit((unsigned char)*d) || (*d == '.' && isdigit((unsigned char)d[1]))) &&
	    all_match(d, "0123456789.eE+-")) {
		double v = strtod(s, &end);

		if (*end == '\0')
			return json_real(v);
	}
	return json_string(s);
}

static json_t *scalar_json(struct yparse *y, yaml_event_t *ev, int *r)
{
	const char *v = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	json_t *j;

	if (strlen(v) != ev->data.scalar.length) {
		*r = yerr(y, &ev->start_mark, "a NUL character in a value");
		return NULL;
	}
	if (tag && strcmp(tag, "!") != 0) {
		if (!strcmp(tag, "tag:yaml.org,2002:str"))
			return json_string(v);
		if (!strcmp(tag, "tag:yaml.org,2002:int") || !strcmp(tag, "tag:yaml.org,2002:bool")) {
			j = resolve_plain(v);
			if ((tag[18] == 'i' && json_is_integer(j)) ||
			    (tag[18] == 'b' && json_is_boolean(j)))
				return j;
			json_decref(j);
			*r = yerr(y, &ev->start_mark, "'%.60s' is not of type %s", v, tag + 18);
			return NULL;
		}
		*r = yerr(y, &ev->start_mark, "the tag %.60s is not supported: remove it", tag);
		return NULL;
	}
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || tag)
		return json_string(v);
	j = resolve_plain(v);
	if (j == NULL)
		*r = -ENOMEM;
	return j;
}

/* Builds the value that starts with event 'ev' (consumed), recording positions under 'path'. */
static json_t *parse_node(struct yparse *y, yaml_event_t *ev, const char *path, int depth, int *r)
{
	json_t *out = NULL;
	yaml_event_t e;
	char sub[PATH_LEN];

	if (depth > MAX_DEPTH) {
		*r = yerr(y, &ev->start_mark, "nested deeper than %d levels", MAX_DEPTH);
		return NULL;
	}
	add_pos(y->doc, path, &ev->start_mark);
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return scalar_json(y, ev, r);
	case YAML_ALIAS_EVENT:
		*r = yerr(y, &ev->start_mark,
			  "aliases (*%.40s) are not supported: write the value out",
			  (const char *)ev->data.alias.anchor);
		return NULL;
	case YAML_SEQUENCE_START_EVENT:
		if (ev->data.sequence_start.anchor) {
			*r = yerr(y, &ev->start_mark, "anchors (&) are not supported: remove it");
			return NULL;
		}
		out = json_array();
		for (size_t i = 0;; i++) {
			json_t *v;

			if ((*r = next_event(y, &e)) < 0)
				goto fail;
			if (e.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&e);
				return out;
			}
			path_fmt(sub, "%s[%zu]", path, i);
			v = parse_node(y, &e, sub, depth + 1, r);
			yaml_event_delete(&e);
			if (v == NULL)
				goto fail;
			json_array_append_new(out, v);
		}
	case YAML_MAPPING_START_EVENT:
		if (ev->data.mapping_start.anchor) {
			*r = yerr(y, &ev->start_mark, "anchors (&) are not supported: remove it");
			return NULL;
		}
		out = json_object();
		for (;;) {
			json_t *v;
			char key[PATH_LEN];

			if ((*r = next_event(y, &e)) < 0)
				goto fail;
			if (e.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&e);
				return out;
			}
			if (e.type != YAML_SCALAR_EVENT) {
				*r = yerr(y, &e.start_mark, "a key must be a plain string");
				yaml_event_delete(&e);
				goto fail;
			}
			snprintf(key, sizeof(key), "%s", (const char *)e.data.scalar.value);
			if (json_object_get(out, key)) {
				*r = yerr(y, &e.start_mark,
					  "the key '%.60s' appears twice in this mapping: keep one",
					  key);
				yaml_event_delete(&e);
				goto fail;
			}
			path_fmt(sub, "%s%s%s", path, path[0] ? "." : "", key);
			add_pos(y->doc, sub, &e.start_mark);
			yaml_event_delete(&e);
			if ((*r = next_event(y, &e)) < 0)
				goto fail;
			v = parse_node(y, &e, sub, depth + 1, r);
			yaml_event_delete(&e);
			if (v == NULL)
				goto fail;
			json_object_set_new(out, key, v);
		}
	default:
		*r = yerr(y, &ev->start_mark, "unexpected YAML event");
		return NULL;
	}
fail:
	json_decref(out);
	return NULL;
}

/* Reads one YAML document into 'doc': its value and the positions of its elements. */
static int parse_yaml(const char *name, const char *text, size_t len, struct cfg_doc *doc,
		      char *err, size_t err_len)
{
	struct yparse y = {.doc = doc, .name = name, .err = err, .err_len = err_len};
	yaml_event_t ev;
	json_t *root = NULL;
	int r = 0;

	if (!yaml_parser_initialize(&y.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, len);
	yaml_parser_set_encoding(&y.parser, YAML_UTF8_ENCODING);
	for (;;) {
		if ((r = next_event(&y, &ev)) < 0)
			break;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT && root) {
			r = yerr(&y, &ev.start_mark,
				 "more than one YAML document: a file holds one host profile");
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_ALIAS_EVENT) {
			root = parse_node(&y, &ev, "", 0, &r);
			yaml_event_delete(&ev);
			if (root == NULL)
				break;
			continue;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&y.parser);
	if (r < 0) {
		json_decref(root);
		return r;
	}
	if (root == NULL) {
		snprintf(err, err_len,
			 "%s: the file holds no host profile (dsectl config export shows the "
			 "format)",
			 name);
		return -EINVAL;
	}
	doc->root = root;
	return 0;
}

int cfg_parse(const char *name, const char *text, size_t len, bool json, struct cfg_doc *doc,
	      char *err, size_t err_len)
{
	json_error_t jerr;
	char yerr_buf[16];
	int r;

	memset(doc, 0, sizeof(*doc));
	doc->is_json = json;
	if (!json) {
		r = parse_yaml(name, text, len, doc, err, err_len);
		if (r < 0)
			cfg_free(doc);
		return r;
	}
	doc->root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (doc->root == NULL) {
		snprintf(err, err_len, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	/* JSON is YAML: read it again only to learn where each element is. */
	{
		struct cfg_doc pos = {0};

		r = parse_yaml(name, text, len, &pos, yerr_buf, sizeof(yerr_buf));
		doc->pos = pos.pos;
		doc->n_pos = pos.n_pos;
		doc->cap_pos = pos.cap_pos;
		doc->pos_index = pos.pos_index;
		json_decref(pos.root);
		(void)r;
	}
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int cfg_load(const char *file, struct cfg_doc *doc, char *err, size_t err_len)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
	const char *name = strcmp(file, "-") == 0 ? "<stdin>" : file;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	bool json;
	int r;

	memset(doc, 0, sizeof(*doc));
	if (f == NULL) {
		snprintf(err, err_len, "%s: cannot open it: %s", name, strerror(errno));
		return -errno;
	}
	for (;;) {
		size_t n;

		if (cap - len < 65536) {
			char *p;

			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap + 1);
			if (p == NULL) {
				r = -ENOMEM;
				snprintf(err, err_len, "%s: out of memory", name);
				goto out;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len > CFG_MAX_SIZE) {
			snprintf(err, err_len, "%s: larger than %u MiB: a host profile is smaller",
				 name, CFG_MAX_SIZE >> 20);
			r = -EFBIG;
			goto out;
		}
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, err_len, "%s: cannot read it: %s", name, strerror(errno));
		r = -EIO;
		goto out;
	}
	buf[len] = '\0';
	if (ends_with(file, ".json")) {
		json = true;
	} else if (ends_with(file, ".yaml") || ends_with(file, ".yml")) {
		json = false;
	} else {
		size_t i = 0;

		while (i < len && isspace((unsigned char)buf[i]))
			i++;
		json = i < len && (buf[i] == '{' || buf[i] == '[');
	}
	r = cfg_parse(name, buf, len, json, doc, err, err_len);
out:
	free(buf);
	if (f != stdin)
		fclose(f);
	return r;
}

/* ---- writing YAML ---- */

static int emit(yaml_emitter_t *em, yaml_event_t *ev)
{
	return yaml_emitter_emit(em, ev) ? 0 : -EIO;
}

static int emit_scalar(yaml_emitter_t *em, const char *s, bool is_string)
{
	yaml_event_t ev;
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

	if (is_string) {
		json_t *as = resolve_plain(s);

		/*
		 * A string that would read back as a number, a boolean or null is
		 * quoted; so is one with ':' (a MAC address), which YAML 1.1
		 * readers may take for a base-60 number.
		 */
		if (!json_is_string(as) || strchr(s, ':'))
			style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
		json_decref(as);
	}
	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
				     style);
	return emit(em, &ev);
}

static int emit_value(yaml_emitter_t *em, json_t *v)
{
	yaml_event_t ev;
	char buf[64];
	const char *key;
	json_t *x;
	size_t i;
	int r = 0;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		if ((r = emit(em, &ev)) < 0)
			return r;
		json_object_foreach(v, key, x)
			if ((r = emit_scalar(em, key, true)) < 0 || (r = emit_value(em, x)) < 0)
				return r;
		yaml_mapping_end_event_initialize(&ev);
		return emit(em, &ev);
	case JSON_ARRAY:
		/* Short lists of scalars (a switch's DPUs) read best on one line. */
		yaml_sequence_start_event_initialize(
			&ev, NULL, NULL, 1,
			json_array_size(v) == 0 || !json_is_object(json_array_get(v, 0))
				? YAML_FLOW_SEQUENCE_STYLE
				: YAML_BLOCK_SEQUENCE_STYLE);
		if ((r = emit(em, &ev)) < 0)
			return r;
		json_array_foreach(v, i, x)
			if ((r = emit_value(em, x)) < 0)
				return r;
		yaml_sequence_end_event_initialize(&ev);
		return emit(em, &ev);
	case JSON_STRING:
		return emit_scalar(em, json_string_value(v), true);
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return emit_scalar(em, buf, false);
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		return emit_scalar(em, buf, false);
	case JSON_TRUE:
		return emit_scalar(em, "true", false);
	case JSON_FALSE:
		return emit_scalar(em, "false", false);
	default:
		return emit_scalar(em, "null", false);
	}
}

int cfg_write_yaml(FILE *f, json_t *value)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	int r;

	if (!yaml_emitter_initialize(&em))
		return -ENOMEM;
	yaml_emitter_set_output_file(&em, f);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, 100);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	r = emit(&em, &ev);
	if (r == 0) {
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
		r = emit(&em, &ev);
	}
	if (r == 0)
		r = emit_value(&em, value);
	if (r == 0) {
		yaml_document_end_event_initialize(&ev, 1);
		r = emit(&em, &ev);
	}
	if (r == 0) {
		yaml_stream_end_event_initialize(&ev);
		r = emit(&em, &ev);
	}
	if (r == 0 && !yaml_emitter_flush(&em))
		r = -EIO;
	yaml_emitter_delete(&em);
	return r;
}
