/* SPDX-License-Identifier: BSD-3-Clause */
/* The one decoder of params (api.h): checks a JSON value against a type of the schema. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"

/* Where in the params a value is, for messages: "vlan", "rules[3].proto". */
struct where {
	char path[160];
};

static int fail(char *err, size_t len, const struct where *w, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t len, const struct where *w, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, len, "parameter '%s' %s", w->path, msg);
	return -EINVAL;
}

const struct dse_api_method *dse_api_find(const struct dse_api_program *prog, const char *name)
{
	for (unsigned i = 0; i < prog->n_methods; i++) {
		const struct dse_api_method *m = &prog->methods[i];

		if (strcmp(m->name, name) == 0)
			return m;
		for (const char *const *a = m->aliases; a && *a; a++)
			if (strcmp(*a, name) == 0)
				return m;
	}
	return NULL;
}

/* Whether 'c' is in the charset 'set' ("A-Za-z0-9_.-": ranges and single characters). */
static bool in_charset(const char *set, unsigned char c)
{
	for (const char *p = set; *p; p++) {
		if (p[1] == '-' && p[2] != '\0') {
			if (c >= (unsigned char)p[0] && c <= (unsigned char)p[2])
				return true;
			p += 2;
		} else if (c == (unsigned char)*p) {
			return true;
		}
	}
	return false;
}

/* What a value of 't' must be, for a message: "an integer from 1 to 4094". */
static const char *what(const struct dse_api_type *t, char *buf, size_t len)
{
	if (t->help) {
		snprintf(buf, len, "%s", t->help);
		return buf;
	}
	switch (t->kind) {
	case DSE_API_STRING:
		snprintf(buf, len, "a string of %lld to %lld characters", t->min, t->max);
		break;
	case DSE_API_INTEGER:
		snprintf(buf, len, "an integer from %lld to %lld", t->min, t->max);
		break;
	case DSE_API_NUMBER:
		snprintf(buf, len, "a number from %g to %g", t->num_min, t->num_max);
		break;
	case DSE_API_BOOLEAN:
		snprintf(buf, len, "true or false");
		break;
	case DSE_API_ENUM: {
		size_t n = 0;

		buf[0] = '\0';
		for (unsigned i = 0; i < t->n_values && n < len; i++)
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
					      i == 0		     ? "one of "
					      : i + 1 == t->n_values ? " or "
								     : ", ",
					      t->values[i].name);
		if (t->enum_integer && n < len)
			snprintf(buf + n, len - n, " or a number from %lld to %lld", t->min,
				 t->max);
		break;
	}
	case DSE_API_MAC:
		snprintf(buf, len, "a MAC address like 02:00:00:00:00:01");
		break;
	case DSE_API_IPV4:
		snprintf(buf, len, "an IPv4 address");
		break;
	case DSE_API_IP:
		snprintf(buf, len, "an IPv4 or IPv6 address");
		break;
	case DSE_API_PREFIX:
		snprintf(buf, len, "an IPv4 or IPv6 prefix like 198.18.0.0/15, or \"any\"");
		break;
	case DSE_API_PORT_RANGE:
		snprintf(buf, len, "a port (0-65535) or a range \"LO-HI\"");
		break;
	case DSE_API_ARRAY:
		snprintf(buf, len, "a list of %lld to %lld items", t->min, t->max);
		break;
	case DSE_API_OBJECT:
		snprintf(buf, len, "an object");
		break;
	case DSE_API_ANY:
		snprintf(buf, len, "a JSON value");
		break;
	}
	return buf;
}

int dse_api_enum_parse(const struct dse_api_type *t, json_t *v, int *ret)
{
	if (json_is_string(v)) {
		const char *s = json_string_value(v);

		for (unsigned i = 0; i < t->n_values; i++)
			if (strcasecmp(s, t->values[i].name) == 0) {
				*ret = t->values[i].value;
				return 0;
			}
		return -EINVAL;
	}
	if (t->enum_integer && json_is_integer(v) && json_integer_value(v) >= t->min &&
	    json_integer_value(v) <= t->max) {
		*ret = (int)json_integer_value(v);
		return 0;
	}
	return -EINVAL;
}

const char *dse_api_enum_name(const struct dse_api_type *t, int value)
{
	for (unsigned i = 0; i < t->n_values; i++)
		if (t->values[i].value == value)
			return t->values[i].name;
	return NULL;
}

static int parse_prefix(const char *s, struct dse_api_prefix *p)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;
	long len;
	char *end;

	/* "any": every address of either family (family AF_UNSPEC, length 0). */
	if (strcasecmp(s, "any") == 0) {
		memset(p, 0, sizeof(*p));
		return 0;
	}
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, buf, p->addr) == 1) {
		p->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		p->family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	len = max;
	if (slash) {
		if (!isdigit((unsigned char)slash[1]))
			return -EINVAL;
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (errno || *end != '\0' || len < 0 || len > (long)max)
			return -EINVAL;
	}
	p->len = (uint8_t)len;
	/*
	 * Host bits set are refused: 198.18.0.1/15 is a typo for an address or
	 * a prefix.  'p' is left holding the prefix with them cleared, for the
	 * message.
	 */
	int r = 0;

	for (unsigned b = (unsigned)len; b < max; b++)
		if (p->addr[b / 8] & (0x80 >> (b % 8))) {
			p->addr[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
			r = -ERANGE;
		}
	return r;
}

static int parse_port_range(json_t *v, struct dse_api_port_range *r)
{
	long lo, hi;
	char *end;
	const char *s;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 || json_integer_value(v) > 65535)
			return -EINVAL;
		r->lo = r->hi = (uint16_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EINVAL;
	s = json_string_value(v);
	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	lo = strtol(s, &end, 10);
	hi = lo;
	if (*end == '-') {
		if (!isdigit((unsigned char)end[1]))
			return -EINVAL;
		hi = strtol(end + 1, &end, 10);
	}
	if (errno || *end != '\0' || lo < 0 || hi > 65535 || lo > hi)
		return -EINVAL;
	r->lo = (uint16_t)lo;
	r->hi = (uint16_t)hi;
	return 0;
}

static int decode_fields(const struct dse_api_param *fields, unsigned n, json_t *obj, void *out,
			 struct where *w, char *err, size_t len);

/* The value 'v' as the caller wrote it, cut to a few dozen characters, for a message. */
static const char *given(json_t *v, char *buf, size_t len)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (text == NULL) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (strlen(text) > 48)
		snprintf(buf, len, "%.45s...", text);
	else
		snprintf(buf, len, "%s", text);
	free(text);
	return buf;
}

/* Checks 'v' against 't' and, when 'out' is not NULL, stores it there. */
static int decode_value(const struct dse_api_type *t, json_t *v, void *out, struct where *w,
			char *err, size_t len)
{
	char buf[200], got[64];

	switch (t->kind) {
	case DSE_API_STRING: {
		const char *s = json_string_value(v);
		size_t n;

		if (s == NULL)
			return fail(err, len, w, "must be %s, not %s", what(t, buf, sizeof(buf)),
				    given(v, got, sizeof(got)));
		n = strlen(s);
		if (n != json_string_length(v))
			return fail(err, len, w, "holds a NUL character");
		if ((long long)n < t->min || (long long)n > t->max)
			return fail(err, len, w, "must be %s (it has %zu characters)",
				    what(t, buf, sizeof(buf)), n);
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];

			if (t->charset ? !in_charset(t->charset, c) : (c < 0x20 || c == 0x7f))
				return fail(err, len, w, "'%.64s' must be %s", s,
					    what(t, buf, sizeof(buf)));
		}
		if (t->reserved_prefix &&
		    strncasecmp(s, t->reserved_prefix, strlen(t->reserved_prefix)) == 0)
			return fail(
			    err, len, w,
			    "'%.64s': names that begin with '%s' are reserved; choose another", s,
			    t->reserved_prefix);
		if (out)
			*(const char **)out = s;
		return 0;
	}
	case DSE_API_INTEGER:
		if (!json_is_integer(v) || json_integer_value(v) < t->min ||
		    json_integer_value(v) > t->max)
			return fail(err, len, w, "must be %s, not %s", what(t, buf, sizeof(buf)),
				    given(v, got, sizeof(got)));
		if (out)
			*(long long *)out = json_integer_value(v);
		return 0;
	case DSE_API_NUMBER: {
		double d;

		if (!json_is_number(v))
			return fail(err, len, w, "must be %s, not %s", what(t, buf, sizeof(buf)),
				    given(v, got, sizeof(got)));
		d = json_number_value(v);
		if (!isfinite(d) || d < t->num_min || d > t->num_max)
			return fail(err, len, w, "must be %s, not %s", what(t, buf, sizeof(buf)),
				    given(v, got, sizeof(got)));
		if (out)
			*(double *)out = d;
		return 0;
	}
	case DSE_API_BOOLEAN:
		if (!json_is_boolean(v))
			return fail(err, len, w, "must be true or false");
		if (out)
			*(bool *)out = json_is_true(v);
		return 0;
	case DSE_API_ENUM: {
		int e;

		if (dse_api_enum_parse(t, v, &e) < 0)
			return fail(err, len, w, "must be %s, not %s", what(t, buf, sizeof(buf)),
				    given(v, got, sizeof(got)));
		if (out)
			*(int *)out = e;
		return 0;
	}
	case DSE_API_MAC: {
		const char *s = json_string_value(v);
		unsigned b[6];
		char tail;
		uint8_t mac[6];

		if (s == NULL || strlen(s) != 17 ||
		    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
			   &tail) != 6)
			return fail(err, len, w, "must be %s, not %s", what(t, buf, sizeof(buf)),
				    given(v, got, sizeof(got)));
		for (int i = 0; i < 6; i++) {
			if (!isxdigit((unsigned char)s[3 * i]) ||
			    !isxdigit((unsigned char)s[3 * i + 1]))
				return fail(err, len, w, "must be %s, not %s",
					    what(t, buf, sizeof(buf)), given(v, got, sizeof(got)));
			mac[i] = (uint8_t)b[i];
		}
		if (t->unicast &&
		    ((mac[0] & 1) || (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0))
			return fail(err, len, w, "'%s' is not a unicast MAC address", s);
		if (out)
			memcpy(out, mac, 6);
		return 0;
	}
	case DSE_API_IPV4: {
		const char *s = json_string_value(v);
		struct in_addr a;

		if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
			return fail(err, len, w, "must be %s, not %s", what(t, buf, sizeof(buf)),
				    given(v, got, sizeof(got)));
		if (out)
			memcpy(out, &a.s_addr, 4);
		return 0;
	}
	case DSE_API_IP: {
		const char *s = json_string_value(v);
		struct dse_api_ip ip = {0};

		if (s != NULL && inet_pton(AF_INET, s, ip.addr) == 1)
			ip.family = AF_INET;
		else if (s != NULL && inet_pton(AF_INET6, s, ip.addr) == 1)
			ip.family = AF_INET6;
		else
			return fail(err, len, w, "must be %s, not %s", what(t, buf, sizeof(buf)),
				    given(v, got, sizeof(got)));
		if (out)
			memcpy(out, &ip, sizeof(ip));
		return 0;
	}
	case DSE_API_PREFIX: {
		const char *s = json_string_value(v);
		struct dse_api_prefix p;
		int r = s ? parse_prefix(s, &p) : -EINVAL;

		if (r == -ERANGE) {
			char net[INET6_ADDRSTRLEN];

			inet_ntop(p.family, p.addr, net, sizeof(net));
			return fail(err, len, w,
				    "'%.64s' has bits set beyond its prefix length (write %s/%u for "
				    "the prefix, or the address alone)",
				    s, net, p.len);
		}
		if (r < 0)
			return fail(err, len, w, "must be %s, not %s", what(t, buf, sizeof(buf)),
				    given(v, got, sizeof(got)));
		if (out)
			memcpy(out, &p, sizeof(p));
		return 0;
	}
	case DSE_API_PORT_RANGE: {
		struct dse_api_port_range r;

		if (parse_port_range(v, &r) < 0)
			return fail(err, len, w, "must be %s, not %s", what(t, buf, sizeof(buf)),
				    given(v, got, sizeof(got)));
		if (out)
			memcpy(out, &r, sizeof(r));
		return 0;
	}
	case DSE_API_ARRAY: {
		size_t n = json_array_size(v), plen = strlen(w->path);
		json_t *item;
		size_t i;

		if (!json_is_array(v) || (long long)n < t->min || (long long)n > t->max)
			return fail(err, len, w, "must be %s, not %s", what(t, buf, sizeof(buf)),
				    given(v, got, sizeof(got)));
		json_array_foreach (v, i, item) {
			int r;

			snprintf(w->path + plen, sizeof(w->path) - plen, "[%zu]", i);
			r = decode_value(t->items, item, NULL, w, err, len);
			if (r < 0)
				return r;
		}
		w->path[plen] = '\0';
		if (out)
			*(json_t **)out = v;
		return 0;
	}
	case DSE_API_OBJECT:
		if (!json_is_object(v))
			return fail(err, len, w, "must be %s, not %s", what(t, buf, sizeof(buf)),
				    given(v, got, sizeof(got)));
		if (t->fields) {
			int r = decode_fields(t->fields, t->n_fields, v, NULL, w, err, len);

			if (r < 0)
				return r;
		}
		if (out)
			*(json_t **)out = v;
		return 0;
	case DSE_API_ANY:
		if (out)
			*(json_t **)out = v;
		return 0;
	}
	return fail(err, len, w, "has a type the schema does not know");
}

/* Decodes the members of 'obj' as 'fields' into 'out' (NULL: only checks). */
static int decode_fields(const struct dse_api_param *fields, unsigned n, json_t *obj, void *out,
			 struct where *w, char *err, size_t len)
{
	size_t plen = strlen(w->path);
	const char *key;
	json_t *v;

	/* Unknown members first: a typo is named as such, not as a missing param. */
	json_object_foreach (obj, key, v) {
		unsigned i;

		for (i = 0; i < n && strcmp(fields[i].name, key) != 0; i++)
			;
		if (i == n) {
			char names[200];
			size_t k = 0;

			names[0] = '\0';
			for (unsigned j = 0; j < n && k < sizeof(names); j++)
				k += (size_t)snprintf(names + k, sizeof(names) - k, "%s%s",
						      j ? ", " : "", fields[j].name);
			if (plen)
				snprintf(err, len, "unknown parameter '%s.%.64s' (%s takes %s)",
					 w->path, key, w->path, n ? names : "none");
			else
				snprintf(err, len, "unknown parameter '%.64s' (it takes %s)", key,
					 n ? names : "none");
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		const struct dse_api_param *f = &fields[i];
		char *slot = out ? (char *)out + f->offset : NULL;
		int r;

		snprintf(w->path + plen, sizeof(w->path) - plen, "%s%s", plen ? "." : "", f->name);
		v = json_object_get(obj, f->name);
		/* A null is an absent optional param, as JSON-RPC clients often write them. */
		if (v == NULL || (json_is_null(v) && f->type->kind != DSE_API_ANY)) {
			char buf[200];

			if (f->required)
				return fail(err, len, w, "is missing: give %s",
					    what(f->type, buf, sizeof(buf)));
			if (slot && f->has_default) {
				switch (f->type->kind) {
				case DSE_API_INTEGER:
					*(long long *)slot = f->def_int;
					break;
				case DSE_API_BOOLEAN:
					*(bool *)slot = f->def_int != 0;
					break;
				case DSE_API_ENUM:
					*(int *)slot = (int)f->def_int;
					break;
				case DSE_API_NUMBER:
					*(double *)slot = f->def_num;
					break;
				case DSE_API_STRING:
					*(const char **)slot = f->def_str;
					break;
				default:
					break;
				}
			}
			continue;
		}
		r = decode_value(f->type, v, slot, w, err, len);
		if (r < 0)
			return r;
		if (out)
			*(bool *)((char *)out + f->has_offset) = true;
	}
	w->path[plen] = '\0';
	return 0;
}

int dse_api_decode(const struct dse_api_method *m, json_t *params, void *args, char *err,
		   size_t len)
{
	struct where w = {.path = ""};

	if (args)
		memset(args, 0, m->args_size);
	if (params == NULL || json_is_null(params)) {
		json_t *empty = json_object();
		int r = decode_fields(m->params, m->n_params, empty, args, &w, err, len);

		json_decref(empty);
		return r;
	}
	if (!json_is_object(params)) {
		snprintf(err, len, "params must be an object of named parameters");
		return -EINVAL;
	}
	return decode_fields(m->params, m->n_params, params, args, &w, err, len);
}

int dse_api_decode_object(const struct dse_api_type *t, json_t *v, void *out, const char *where,
			  char *err, size_t len)
{
	struct where w;

	snprintf(w.path, sizeof(w.path), "%s", where);
	if (out)
		memset(out, 0, t->size);
	if (t->kind != DSE_API_OBJECT || t->fields == NULL || !json_is_object(v))
		return fail(err, len, &w, "must be an object");
	return decode_fields(t->fields, t->n_fields, v, out, &w, err, len);
}
