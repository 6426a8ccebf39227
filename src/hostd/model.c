/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checks, normalization and comparison of host profiles (see model.h).
 * Every message names the element it is about and says what to do, because
 * it reaches the operator as it is: through dsectl, for a command or a file.
 */
#include "model.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PATH_MAX_LEN 128

/* Modes of a switch and how many DPUs each takes. */
static const struct {
	const char *name;
	size_t n_dpus;
} modes[] = {
	{"single", 1},
	{"active-standby", 2},
	{"independent", 1},
};

int model_error(struct model_err *e, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -EINVAL;
	snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void model_err_format(const struct model_err *e, bool with_path, char *buf, size_t len)
{
	if (with_path && e->path[0])
		snprintf(buf, len, "%s: %s", e->path, e->msg);
	else
		snprintf(buf, len, "%s", e->msg);
}

bool model_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > MODEL_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

/* VM names become interface names ("rep-<vm>") and devargs: no '.' or ','. */
static bool vm_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > MODEL_VM_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_-", name[i]))
			return false;
	return true;
}

int model_mac_normalize(const char *s, char out[18])
{
	unsigned b[6];
	int n = -1;

	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return -EINVAL;
	}
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &n) !=
		    6 ||
	    n != 17)
		return -EINVAL;
	if (b[0] & 1)
		return -EINVAL; /* multicast or broadcast */
	if ((b[0] | b[1] | b[2] | b[3] | b[4] | b[5]) == 0)
		return -EINVAL;
	return snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b[0] & 0xff, b[1] & 0xff,
			b[2] & 0xff, b[3] & 0xff, b[4] & 0xff, b[5] & 0xff) == 17
		       ? 0
		       : -EINVAL;
}

int model_tep_addr(const char *s, char out[16])
{
	struct in_addr a;
	uint32_t h;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	h = ntohl(a.s_addr);
	if ((h >> 24) == 0 || (h >> 24) == 127 || (h >> 29) == 7)
		return -EINVAL;
	return inet_ntop(AF_INET, &a, out, 16) ? 0 : -EINVAL;
}

int model_link_slot(const char *link)
{
	char *end;
	long n;

	if (link == NULL || strncmp(link, "int-d", 5) != 0 || !isdigit((unsigned char)link[5]))
		return -1;
	n = strtol(link + 5, &end, 10);
	if (*end != '\0' || n < 1 || n > 64)
		return -1;
	return (int)n;
}

int model_uplink_index(const char *uplink)
{
	char *end;
	long k;

	if (strncmp(uplink, "vmnic", 5) != 0 || !isdigit((unsigned char)uplink[5]))
		return -1;
	if (uplink[5] == '0' && uplink[6] != '\0')
		return -1; /* one spelling per uplink: vmnic1, not vmnic01 */
	k = strtol(uplink + 5, &end, 10);
	if (*end != '\0' || k < 0 || k > MODEL_MAX_UPLINK_K)
		return -1;
	return (int)k;
}

bool model_uplink_on_slot(int k, int slot)
{
	return k / 2 + 1 == slot;
}

json_t *model_find(json_t *list, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(list, i, o) {
		const char *n = json_string_value(json_object_get(o, "name"));

		if (n && strcmp(n, name) == 0)
			return o;
	}
	return NULL;
}

/* ---- reading typed members with a path for each error ---- */

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a mapping";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* Writes a short rendering of 'v' for a message: a string as it is, else its type. */
static const char *value_text(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "'%.40s'", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, len, "%s", type_name(v));
	return buf;
}

/* snprintf() into a path buffer: a path longer than the buffer is cut. */
static void path_fmt(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void path_fmt(char *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, PATH_MAX_LEN, fmt, ap);
	va_end(ap);
}

static void join(char *out, const char *path, const char *key)
{
	path_fmt(out, "%s%s%s", path, path[0] ? "." : "", key);
}

static void join_index(char *out, const char *path, size_t i)
{
	path_fmt(out, "%s[%zu]", path, i);
}

/*
 * Refuses a member of 'o' that is not in 'keys' (NULL-terminated).  'what'
 * names the object for the message ("a switch").
 */
static int only_keys(json_t *o, const char *path, const char *what, const char *const *keys,
		     struct model_err *e)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		bool ok = false;
		char allowed[256] = "", p[PATH_MAX_LEN];

		for (const char *const *k = keys; *k; k++)
			if (strcmp(*k, key) == 0)
				ok = true;
		if (ok)
			continue;
		for (const char *const *k = keys; *k; k++) {
			size_t n = strlen(allowed);

			snprintf(allowed + n, sizeof(allowed) - n, "%s%s", n ? ", " : "", *k);
		}
		join(p, path, key);
		return model_error(e, p, "unknown key '%.60s': %s has %s", key, what, allowed);
	}
	return 0;
}

/* Reads string member 'key'; -ENOENT when absent and not required. */
static int get_str(json_t *o, const char *path, const char *key, bool required, const char **ret,
		   struct model_err *e)
{
	json_t *v = json_object_get(o, key);
	char p[PATH_MAX_LEN];

	join(p, path, key);
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return -ENOENT;
		return model_error(e, path, "'%s' is missing", key);
	}
	if (!json_is_string(v))
		return model_error(e, p, "'%s' must be a string, not %s", key, type_name(v));
	*ret = json_string_value(v);
	return 0;
}

static int get_int(json_t *o, const char *path, const char *key, bool required, long long min,
		   long long max, long long *ret, struct model_err *e)
{
	json_t *v = json_object_get(o, key);
	char p[PATH_MAX_LEN];

	join(p, path, key);
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return -ENOENT;
		return model_error(e, path, "'%s' is missing", key);
	}
	if (!json_is_integer(v))
		return model_error(e, p, "'%s' must be an integer, not %s", key, type_name(v));
	if (json_integer_value(v) < min || json_integer_value(v) > max)
		return model_error(e, p, "'%s' is %lld, outside %lld..%lld", key,
				   (long long)json_integer_value(v), min, max);
	*ret = json_integer_value(v);
	return 0;
}

/* Reads a list member; an absent optional list is an empty list (a new reference). */
static int get_list(json_t *o, const char *path, const char *key, bool required, json_t **ret,
		    struct model_err *e)
{
	json_t *v = json_object_get(o, key);
	char p[PATH_MAX_LEN];

	join(p, path, key);
	if (v == NULL || json_is_null(v)) {
		if (required)
			return model_error(e, path, "'%s' is missing", key);
		*ret = json_array();
		return 0;
	}
	if (!json_is_array(v))
		return model_error(e, p, "'%s' must be a list, not %s", key, type_name(v));
	*ret = json_incref(v);
	return 0;
}

static int check_name(const char *path, const char *key, const char *what, const char *name,
		      struct model_err *e)
{
	char p[PATH_MAX_LEN];

	join(p, path, key);
	if (!model_name_ok(name))
		return model_error(e, p,
				   "%s name '%.60s' must be 1 to %d letters, digits, '_', '.' or '-'",
				   what, name, MODEL_NAME_MAX);
	return 0;
}

/* ---- sorting ---- */

static int cmp_name(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "name"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "name"));

	return strcmp(x, y);
}

/* Sorts 'list' in place with 'cmp' (a qsort() comparator of json_t pointers). */
static void sort_with(json_t *list, int (*cmp)(const void *, const void *))
{
	size_t n = json_array_size(list);
	json_t **v;

	if (n < 2)
		return;
	v = calloc(n, sizeof(*v));
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(list, i));
	qsort(v, n, sizeof(*v), cmp);
	json_array_clear(list);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, v[i]);
	free(v);
}

/* Sorts a list of named objects by name, in place. */
static void sort_by_name(json_t *list)
{
	sort_with(list, cmp_name);
}

static int cmp_segment(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "segment")),
		      json_string_value(json_object_get(*(json_t *const *)b, "segment")));
}

static int cmp_id(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));

	return (x > y) - (x < y);
}

static int cmp_uplink(const void *a, const void *b)
{
	int x = model_uplink_index(json_string_value(*(json_t *const *)a));
	int y = model_uplink_index(json_string_value(*(json_t *const *)b));

	return x - y;
}

static void sort_uplinks(json_t *list)
{
	size_t n = json_array_size(list);
	json_t *v[MODEL_MAX_UPLINKS];

	if (n < 2 || n > MODEL_MAX_UPLINKS)
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(list, i));
	qsort(v, n, sizeof(*v), cmp_uplink);
	json_array_clear(list);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, v[i]);
}

/* ---- the profile's "dpus" section ---- */

static const char *const ident_keys[] = {"vendor", "model", "hw_version", "fw_version"};

static const char *inv_str(json_t *rec, const char *key)
{
	const char *s = json_string_value(json_object_get(rec, key));

	return s ? s : "";
}

static json_t *inventory_by_link(json_t *inventory, const char *link)
{
	size_t i;
	json_t *rec;

	json_array_foreach(inventory, i, rec) {
		const char *l = json_string_value(json_object_get(rec, "link"));

		if (l && strcmp(l, link) == 0)
			return rec;
	}
	return NULL;
}

/*
 * Maps each entry of the profile's "dpus" to a DPU of this host and returns
 * the map {profile name: local name} in '*ret_map'.
 */
static int resolve_dpus(json_t *doc, json_t *inventory, json_t **ret_map, struct model_err *e)
{
	static const char *const keys[] = {"name", "link", "vendor", "model", "hw_version",
					   "fw_version", NULL};
	json_t *list, *map = json_object(), *used = json_object(), *d;
	size_t i;
	int r;

	r = get_list(doc, "", "dpus", false, &list, e);
	if (r < 0)
		goto out;
	json_array_foreach(list, i, d) {
		char p[PATH_MAX_LEN];
		const char *name, *link = NULL, *want[4] = {NULL};
		json_t *local;
		bool any_ident = false;

		join_index(p, "dpus", i);
		if (!json_is_object(d)) {
			r = model_error(e, p, "each DPU must be a mapping, not %s", type_name(d));
			break;
		}
		if ((r = only_keys(d, p, "a DPU", keys, e)) < 0 ||
		    (r = get_str(d, p, "name", true, &name, e)) < 0 ||
		    (r = check_name(p, "name", "DPU", name, e)) < 0)
			break;
		r = get_str(d, p, "link", false, &link, e);
		if (r == -EINVAL)
			break;
		for (int k = 0; k < 4; k++) {
			r = get_str(d, p, ident_keys[k], false, &want[k], e);
			if (r == -EINVAL)
				goto out_list;
			any_ident |= r == 0;
		}
		r = 0;
		if (json_object_get(map, name)) {
			r = model_error(e, p, "DPU '%s' is listed twice: list each DPU once", name);
			break;
		}
		if (link == NULL && !any_ident) {
			/* Only a name: the profile asks nothing of the host. */
			json_object_set_new(map, name, json_string(name));
			continue;
		}
		local = link ? inventory_by_link(inventory, link) : model_find(inventory, name);
		if (local == NULL) {
			if (link)
				r = model_error(e, p,
						"the profile needs a DPU on internal link %s (for "
						"its DPU '%s'), but this host has seen none there: "
						"check that the DPU is up (dsectl dpu list) or "
						"apply the profile on a host that has it",
						link, name);
			else
				r = model_error(e, p,
						"the profile needs DPU '%s', which this host has "
						"not seen: check that it is up (dsectl dpu list)",
						name);
			break;
		}
		for (int k = 0; k < 2; k++) {
			if (want[k] && strcmp(want[k], inv_str(local, ident_keys[k])) != 0) {
				r = model_error(e, p,
						"this host's DPU '%s'%s%s is %s %s, but the profile "
						"needs %s %s: apply it on a host with such a DPU, "
						"or edit the profile's dpus section",
						inv_str(local, "name"), link ? " on " : "",
						link ? link : "", inv_str(local, "vendor"),
						inv_str(local, "model"),
						want[0] ? want[0] : inv_str(local, "vendor"),
						want[1] ? want[1] : inv_str(local, "model"));
				goto out_list;
			}
		}
		if (json_object_get(used, inv_str(local, "name"))) {
			r = model_error(e, p, "two DPUs of the profile map to this host's DPU '%s'",
					inv_str(local, "name"));
			break;
		}
		json_object_set_new(used, inv_str(local, "name"), json_true());
		json_object_set_new(map, name, json_string(inv_str(local, "name")));
	}
out_list:
	json_decref(list);
out:
	json_decref(used);
	if (r < 0) {
		json_decref(map);
		return r;
	}
	*ret_map = map;
	return 0;
}

/* ---- switches ---- */

/* Says how two DPU records differ, for the dual-DPU message. */
static const char *ident_diff(json_t *a, json_t *b)
{
	static const char *const what[] = {"vendor", "model", "hardware version",
					   "firmware version"};

	for (int k = 0; k < 4; k++)
		if (strcmp(inv_str(a, ident_keys[k]), inv_str(b, ident_keys[k])) != 0)
			return what[k];
	return NULL;
}

static bool has_identity(json_t *rec)
{
	return rec && inv_str(rec, "vendor")[0] != '\0';
}

/* The checks that need to know the DPUs: identical pairs, uplinks on the right DPU. */
static int check_switch_dpus(json_t *sw, json_t *inventory, const char *path, struct model_err *e)
{
	json_t *dpus = json_object_get(sw, "dpus"), *uplinks = json_object_get(sw, "uplinks");
	const char *name = json_string_value(json_object_get(sw, "name"));
	json_t *rec[2] = {NULL, NULL}, *u;
	char p[PATH_MAX_LEN];
	int slots[2] = {-1, -1};
	size_t n = json_array_size(dpus), i;
	bool all_known = true;

	for (i = 0; i < n && i < 2; i++) {
		rec[i] = model_find(inventory, json_string_value(json_array_get(dpus, i)));
		slots[i] = rec[i] ? model_link_slot(json_string_value(json_object_get(rec[i], "link")))
				  : -1;
	}
	if (n == 2 && has_identity(rec[0]) && has_identity(rec[1])) {
		const char *d = ident_diff(rec[0], rec[1]);

		join(p, path, "dpus");
		if (d)
			return model_error(
				e, p,
				"switch '%s' runs on two DPUs, which must be identical, but their "
				"%s differs: %s is %s %s hw %s fw %s, %s is %s %s hw %s fw %s; "
				"bring both to the same firmware, or give each DPU its own switch "
				"(mode independent)",
				name, d, inv_str(rec[0], "name"), inv_str(rec[0], "vendor"),
				inv_str(rec[0], "model"), inv_str(rec[0], "hw_version"),
				inv_str(rec[0], "fw_version"), inv_str(rec[1], "name"),
				inv_str(rec[1], "vendor"), inv_str(rec[1], "model"),
				inv_str(rec[1], "hw_version"), inv_str(rec[1], "fw_version"));
	}
	/* Uplink placement is known only when every DPU of the switch sits on a known link. */
	for (i = 0; i < n; i++)
		all_known &= slots[i] > 0;
	json_array_foreach(uplinks, i, u) {
		int k = model_uplink_index(json_string_value(u));
		bool ok = false;

		if (!all_known)
			break;

		for (size_t d = 0; d < n; d++)
			ok |= model_uplink_on_slot(k, slots[d]);
		if (!ok) {
			join(p, path, "uplinks");
			return model_error(e, p,
					   "uplink vmnic%d is on the DPU of link int-d%d, which does "
					   "not serve switch '%s' (%s on int-d%d has vmnic%d and "
					   "vmnic%d): choose uplinks of the switch's DPUs",
					   k, k / 2 + 1, name, inv_str(rec[0], "name"), slots[0],
					   2 * slots[0] - 2, 2 * slots[0] - 1);
		}
	}
	/* The TEP needs an uplink on the (active) DPU: known once that DPU's link is. */
	if (json_object_get(sw, "tep") && slots[0] > 0) {
		bool on_active = false;

		json_array_foreach(uplinks, i, u)
			on_active |= model_uplink_on_slot(model_uplink_index(json_string_value(u)),
							  slots[0]);
		join(p, path, "uplinks");
		if (!on_active)
			return model_error(e, p,
					   "switch '%s' has a TEP, which sends on an uplink of its "
					   "%sDPU %s, but none of its uplinks is there (%s on "
					   "int-d%d has vmnic%d and vmnic%d): give the switch one",
					   name, n == 2 ? "active " : "", inv_str(rec[0], "name"),
					   inv_str(rec[0], "name"),
					   slots[0], 2 * slots[0] - 2, 2 * slots[0] - 1);
	}
	return 0;
}

/*
 * Normalizes the "tep" member 'v' of switch 'name' (at 'path') into
 * '*ret' ({"ip"}); an address serves one switch of the host.
 */
static int norm_tep(json_t *v, const char *path, const char *name, json_t *seen, json_t **ret,
		    struct model_err *e)
{
	static const char *const keys[] = {"ip", NULL};
	char p[PATH_MAX_LEN], pi[PATH_MAX_LEN], key[64], ip[16];
	const char *s;
	int r;

	join(p, path, "tep");
	if (!json_is_object(v))
		return model_error(e, p,
				   "switch '%s': tep must be a mapping like {ip: 198.19.1.1}, not "
				   "%s",
				   name, type_name(v));
	if ((r = only_keys(v, p, "a tep", keys, e)) < 0 ||
	    (r = get_str(v, p, "ip", true, &s, e)) < 0)
		return r;
	join(pi, p, "ip");
	if (model_tep_addr(s, ip) < 0)
		return model_error(e, pi,
				   "switch '%s': TEP address '%.40s' must be an IPv4 unicast "
				   "address written like 198.19.1.1 (the DPU's address on the "
				   "underlay)",
				   name, s);
	snprintf(key, sizeof(key), "tep/%s", ip);
	if (json_object_get(seen, key))
		return model_error(e, pi,
				   "%s is already the TEP of switch '%s': each switch needs its "
				   "own address",
				   ip, json_string_value(json_object_get(seen, key)));
	json_object_set_new(seen, key, json_string(name));
	*ret = json_pack("{s:s}", "ip", ip);
	return 0;
}

static int norm_switch(json_t *s, size_t idx, json_t *dpu_map, json_t *seen, json_t **ret,
		       struct model_err *e)
{
	static const char *const keys[] = {"name", "mode", "dpus", "uplinks", "tep", NULL};
	json_t *dpus = NULL, *uplinks = NULL, *out_dpus = json_array(), *out_up = json_array(), *v;
	json_t *tep = NULL;
	char p[PATH_MAX_LEN], pp[PATH_MAX_LEN], pi[PATH_MAX_LEN];
	const char *name, *mode;
	size_t n_dpus = 0, i;
	int r;

	join_index(p, "switches", idx);
	if (!json_is_object(s)) {
		r = model_error(e, p, "each switch must be a mapping, not %s", type_name(s));
		goto fail;
	}
	if ((r = only_keys(s, p, "a switch", keys, e)) < 0 ||
	    (r = get_str(s, p, "name", true, &name, e)) < 0 ||
	    (r = check_name(p, "name", "switch", name, e)) < 0 ||
	    (r = get_str(s, p, "mode", true, &mode, e)) < 0)
		goto fail;
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i].name) == 0)
			n_dpus = modes[i].n_dpus;
	join(pp, p, "mode");
	if (n_dpus == 0) {
		r = model_error(e, pp,
				"switch '%s': mode must be single, active-standby or independent, "
				"not '%.40s'",
				name, mode);
		goto fail;
	}
	if ((r = get_list(s, p, "dpus", true, &dpus, e)) < 0 ||
	    (r = get_list(s, p, "uplinks", false, &uplinks, e)) < 0)
		goto fail;
	join(pp, p, "dpus");
	if (json_array_size(dpus) != n_dpus) {
		r = model_error(e, pp,
				"switch '%s' in mode %s needs %zu DPU%s, not %zu%s", name, mode,
				n_dpus, n_dpus == 1 ? "" : "s", json_array_size(dpus),
				n_dpus == 1 ? " (two DPUs serve one switch only in mode "
					      "active-standby)"
					    : " (one for each DPU of the pair)");
		goto fail;
	}
	json_array_foreach(dpus, i, v) {
		const char *d = json_string_value(v), *mapped;
		size_t k;
		json_t *prev;

		join_index(pi, pp, i);
		if (d == NULL) {
			r = model_error(e, pi, "a DPU is named by a string, not %s", type_name(v));
			goto fail;
		}
		if (!model_name_ok(d)) {
			r = model_error(e, pi,
					"DPU name '%.60s' must be 1 to %d letters, digits, '_', '.' "
					"or '-' (dsectl dpu list shows the names)",
					d, MODEL_NAME_MAX);
			goto fail;
		}
		mapped = json_string_value(json_object_get(dpu_map, d));
		if (mapped)
			d = mapped;
		json_array_foreach(out_dpus, k, prev) {
			if (strcmp(json_string_value(prev), d) == 0) {
				r = model_error(e, pi,
						"switch '%s' names DPU '%s' twice: a pair is two "
						"different DPUs",
						name, d);
				goto fail;
			}
		}
		json_array_append_new(out_dpus, json_string(d));
	}
	join(pp, p, "uplinks");
	if (json_array_size(uplinks) > MODEL_MAX_UPLINKS) {
		r = model_error(e, pp, "switch '%s' has %zu uplinks; at most %d", name,
				json_array_size(uplinks), MODEL_MAX_UPLINKS);
		goto fail;
	}
	json_array_foreach(uplinks, i, v) {
		const char *u = json_string_value(v);
		char key[64];

		join_index(pi, pp, i);
		if (u == NULL) {
			r = model_error(e, pi, "an uplink is named by a string, not %s",
					type_name(v));
			goto fail;
		}
		if (model_uplink_index(u) < 0) {
			r = model_error(e, pi,
					"uplink '%.40s' must be vmnic0 .. vmnic%d (the DPU's physical "
					"ports: dsectl dpu show NAME lists them)",
					u, MODEL_MAX_UPLINK_K);
			goto fail;
		}
		snprintf(key, sizeof(key), "uplink/%s", u);
		if (json_object_get(seen, key)) {
			r = model_error(e, pi,
					"uplink %s already belongs to switch '%s': an uplink serves "
					"one switch",
					u, json_string_value(json_object_get(seen, key)));
			goto fail;
		}
		json_object_set_new(seen, key, json_string(name));
		json_array_append_new(out_up, json_string(u));
	}
	json_array_foreach(out_dpus, i, v) {
		char key[64];

		snprintf(key, sizeof(key), "dpu/%s", json_string_value(v));
		if (json_object_get(seen, key)) {
			path_fmt(pi, "%s.dpus[%zu]", p, i);
			r = model_error(e, pi,
					"DPU '%s' already serves switch '%s': a DPU serves one switch "
					"(remove it there first)",
					json_string_value(v), json_string_value(json_object_get(seen, key)));
			goto fail;
		}
		json_object_set_new(seen, key, json_string(name));
	}
	v = json_object_get(s, "tep");
	if (v && !json_is_null(v)) {
		if ((r = norm_tep(v, p, name, seen, &tep, e)) < 0)
			goto fail;
		join(pp, p, "tep");
		if (json_array_size(out_up) == 0) {
			json_decref(tep);
			r = model_error(e, pp,
					"switch '%s' has a TEP but no uplink: the TEP sends and "
					"receives on the switch's first uplink, so give it one",
					name);
			goto fail;
		}
	}
	sort_uplinks(out_up);
	*ret = json_pack("{s:s, s:s, s:o, s:o}", "name", name, "mode", mode, "dpus", out_dpus,
			 "uplinks", out_up);
	if (tep)
		json_object_set_new(*ret, "tep", tep);
	json_decref(dpus);
	json_decref(uplinks);
	return 0;
fail:
	json_decref(out_dpus);
	json_decref(out_up);
	json_decref(dpus);
	json_decref(uplinks);
	return r;
}

/* ---- segments and ports ---- */

static int cmp_addr(const void *a, const void *b)
{
	struct in_addr x, y;

	inet_pton(AF_INET, json_string_value(*(json_t *const *)a), &x);
	inet_pton(AF_INET, json_string_value(*(json_t *const *)b), &y);
	return (ntohl(x.s_addr) > ntohl(y.s_addr)) - (ntohl(x.s_addr) < ntohl(y.s_addr));
}

/*
 * Normalizes the peers of overlay segment 'name' on switch 'sw' (the
 * normalized switch) into '*ret': IPv4 unicast addresses, each once, not the
 * switch's own TEP, in numeric order.
 */
static int norm_peers(json_t *seg, const char *path, const char *name, json_t *sw, json_t **ret,
		      struct model_err *e)
{
	const char *own = json_string_value(json_object_get(json_object_get(sw, "tep"), "ip"));
	json_t *list = NULL, *out = json_array(), *v;
	char p[PATH_MAX_LEN];
	size_t i;
	int r = get_list(seg, path, "peers", false, &list, e);

	if (r < 0)
		goto fail;
	join(p, path, "peers");
	if (json_array_size(list) > MODEL_MAX_PEERS) {
		r = model_error(e, p, "segment '%s' has %zu peers; at most %d", name,
				json_array_size(list), MODEL_MAX_PEERS);
		goto fail;
	}
	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);
		char ip[16];
		size_t k;
		json_t *prev;

		path_fmt(p, "%s.peers[%zu]", path, i);
		if (s == NULL || model_tep_addr(s, ip) < 0) {
			char text[64];

			r = model_error(e, p,
					"segment '%s': peer %s must be the IPv4 unicast address "
					"of a remote TEP, written like 198.19.2.1",
					name, value_text(v, text, sizeof(text)));
			goto fail;
		}
		if (own && strcmp(own, ip) == 0) {
			r = model_error(e, p,
					"segment '%s': %s is the TEP of its own switch '%s', not a "
					"peer: list the other hosts' TEPs",
					name, ip, json_string_value(json_object_get(sw, "name")));
			goto fail;
		}
		json_array_foreach(out, k, prev)
			if (strcmp(json_string_value(prev), ip) == 0) {
				r = model_error(e, p, "segment '%s' lists peer %s twice", name, ip);
				goto fail;
			}
		json_array_append_new(out, json_string(ip));
	}
	sort_with(out, cmp_addr);
	json_decref(list);
	*ret = out;
	return 0;
fail:
	json_decref(list);
	json_decref(out);
	return r;
}

static int norm_segment(json_t *s, size_t idx, json_t *switches, json_t *seen, json_t **ret,
			struct model_err *e)
{
	static const char *const keys[] = {"name", "switch", "vlan", "vni", "peers", NULL};
	char p[PATH_MAX_LEN], pp[PATH_MAX_LEN], key[96];
	const char *name, *sw;
	long long vlan = 0, vni = 0;
	json_t *peers = NULL;
	int rv, rn, r;

	join_index(p, "segments", idx);
	if (!json_is_object(s))
		return model_error(e, p, "each segment must be a mapping, not %s", type_name(s));
	if ((r = only_keys(s, p, "a segment", keys, e)) < 0 ||
	    (r = get_str(s, p, "name", true, &name, e)) < 0 ||
	    (r = check_name(p, "name", "segment", name, e)) < 0 ||
	    (r = get_str(s, p, "switch", true, &sw, e)) < 0)
		return r;
	rv = get_int(s, p, "vlan", false, 1, 4094, &vlan, e);
	if (rv == -EINVAL)
		return rv;
	rn = get_int(s, p, "vni", false, 1, MODEL_VNI_MAX, &vni, e);
	if (rn == -EINVAL)
		return rn;
	if ((rv == 0) == (rn == 0))
		return model_error(e, p,
				   "segment '%s' needs either 'vlan' (1-4094, a VLAN-backed segment) "
				   "or 'vni' (1-%d, an overlay segment)%s",
				   name, MODEL_VNI_MAX, rv == 0 ? ", not both" : "");
	join(pp, p, "switch");
	if (model_find(switches, sw) == NULL)
		return model_error(e, pp,
				   "segment '%s' is on switch '%.40s', which does not exist: add the "
				   "switch first (dsectl switch list shows them)",
				   name, sw);
	if (rv == 0) {
		json_t *pv = json_object_get(s, "peers");

		join(pp, p, "peers");
		if (pv && !json_is_null(pv))
			return model_error(e, pp,
					   "segment '%s' is backed by VLAN %lld: only overlay "
					   "(vni) segments have peers",
					   name, vlan);
		snprintf(key, sizeof(key), "vlan/%s/%lld", sw, vlan);
		join(pp, p, "vlan");
		if (json_object_get(seen, key))
			return model_error(e, pp,
					   "VLAN %lld already backs segment '%s' on switch '%s': "
					   "choose another VLAN",
					   vlan, json_string_value(json_object_get(seen, key)), sw);
		json_object_set_new(seen, key, json_string(name));
		*ret = json_pack("{s:s, s:s, s:I}", "name", name, "switch", sw, "vlan",
				 (json_int_t)vlan);
	} else {
		snprintf(key, sizeof(key), "vni/%lld", vni);
		join(pp, p, "vni");
		if (json_object_get(seen, key))
			return model_error(e, pp,
					   "VNI %lld already backs segment '%s': choose another VNI",
					   vni, json_string_value(json_object_get(seen, key)));
		json_object_set_new(seen, key, json_string(name));
		if ((r = norm_peers(s, p, name, model_find(switches, sw), &peers, e)) < 0)
			return r;
		*ret = json_pack("{s:s, s:s, s:I, s:o}", "name", name, "switch", sw, "vni",
				 (json_int_t)vni, "peers", peers);
	}
	return 0;
}

static int norm_port(json_t *s, size_t idx, json_t *segments, json_t *seen, json_t **ret,
		     struct model_err *e)
{
	static const char *const keys[] = {"name", "mac", "segment", "vm", NULL};
	char p[PATH_MAX_LEN], pp[PATH_MAX_LEN], key[96], mac[18];
	const char *name, *m, *seg, *vm;
	int r;

	join_index(p, "ports", idx);
	if (!json_is_object(s))
		return model_error(e, p, "each port must be a mapping, not %s", type_name(s));
	if ((r = only_keys(s, p, "a port", keys, e)) < 0 ||
	    (r = get_str(s, p, "name", true, &name, e)) < 0 ||
	    (r = check_name(p, "name", "port", name, e)) < 0 ||
	    (r = get_str(s, p, "mac", true, &m, e)) < 0 ||
	    (r = get_str(s, p, "segment", true, &seg, e)) < 0 ||
	    (r = get_str(s, p, "vm", true, &vm, e)) < 0)
		return r;
	join(pp, p, "name");
	if (model_uplink_index(name) >= 0)
		return model_error(e, pp,
				   "port name '%s' is kept for the uplink of that name: choose "
				   "another name",
				   name);
	/* dse-dpud names the virtual port of each peer TEP tep-<address> and refuses the prefix. */
	if (strncasecmp(name, "tep-", 4) == 0)
		return model_error(e, pp,
				   "port name '%s': names that begin with 'tep-' are reserved for "
				   "the ports of peer TEPs: choose another name",
				   name);
	join(pp, p, "mac");
	if (model_mac_normalize(m, mac) < 0)
		return model_error(e, pp,
				   "port '%s': '%.40s' is not a unicast MAC address written like "
				   "02:00:00:00:00:01",
				   name, m);
	join(pp, p, "segment");
	if (model_find(segments, seg) == NULL)
		return model_error(e, pp,
				   "port '%s' is on segment '%.40s', which does not exist: add the "
				   "segment first (dsectl segment list shows them)",
				   name, seg);
	join(pp, p, "vm");
	if (!vm_name_ok(vm))
		return model_error(e, pp,
				   "port '%s': VM name '%.40s' must be 1 to %d letters, digits, '_' "
				   "or '-' (the DPU names its representor rep-<vm>)",
				   name, vm, MODEL_VM_MAX);
	snprintf(key, sizeof(key), "vm/%s", vm);
	if (json_object_get(seen, key))
		return model_error(e, pp,
				   "VM '%s' already has port '%s' (one port per VM): delete that "
				   "port first",
				   vm, json_string_value(json_object_get(seen, key)));
	json_object_set_new(seen, key, json_string(name));
	snprintf(key, sizeof(key), "mac/%s", mac);
	join(pp, p, "mac");
	if (json_object_get(seen, key))
		return model_error(e, pp,
				   "MAC %s is already the address of port '%s': each port needs its "
				   "own MAC",
				   mac, json_string_value(json_object_get(seen, key)));
	json_object_set_new(seen, key, json_string(name));
	*ret = json_pack("{s:s, s:s, s:s, s:s}", "name", name, "mac", mac, "segment", seg, "vm",
			 vm);
	return 0;
}

/* ---- the firewall ---- */

static const struct {
	const char *name;
	int num;
} fw_protos[] = {
	{"any", 0}, {"icmp", 1}, {"tcp", 6}, {"udp", 17}, {"icmpv6", 58},
};

#define N_FW_PROTOS (sizeof(fw_protos) / sizeof(fw_protos[0]))

json_t *model_fw_policies(json_t *doc)
{
	return json_object_get(json_object_get(doc, "firewall"), "policies");
}

json_t *model_fw_rules(json_t *doc)
{
	return json_object_get(json_object_get(doc, "firewall"), "rules");
}

json_t *model_fw_rule_find(json_t *rules, long long id)
{
	size_t i;
	json_t *r;

	json_array_foreach(rules, i, r)
		if (json_integer_value(json_object_get(r, "id")) == id)
			return r;
	return NULL;
}

json_t *model_fw_policy_find(json_t *policies, const char *segment)
{
	size_t i;
	json_t *p;

	json_array_foreach(policies, i, p) {
		const char *s = json_string_value(json_object_get(p, "segment"));

		if (s && strcmp(s, segment) == 0)
			return p;
	}
	return NULL;
}

int model_fw_proto(json_t *v)
{
	long long n = -1;

	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t len = strlen(s);

		for (size_t i = 0; i < N_FW_PROTOS; i++)
			if (strcasecmp(s, fw_protos[i].name) == 0)
				return fw_protos[i].num;
		if (len > 0 && len <= 3 && strspn(s, "0123456789") == len)
			n = atoi(s);
	}
	for (size_t i = 0; i < N_FW_PROTOS; i++)
		if (fw_protos[i].num == n)
			return (int)n;
	return -EINVAL;
}

const char *model_fw_proto_name(int proto)
{
	for (size_t i = 0; i < N_FW_PROTOS; i++)
		if (fw_protos[i].num == proto)
			return fw_protos[i].name;
	return NULL;
}

/* Reads 1 to 5 digits at '*p' as a port (0..65535) and moves '*p' past them. */
static int read_port(const char **p, int *ret)
{
	size_t n = strspn(*p, "0123456789");
	long v;

	if (n == 0 || n > 5)
		return -EINVAL;
	v = strtol(*p, NULL, 10);
	if (v > 65535)
		return -EINVAL;
	*p += n;
	*ret = (int)v;
	return 0;
}

int model_fw_ports(json_t *v, int *lo, int *hi)
{
	const char *s;
	int a, b;

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 || json_integer_value(v) > 65535)
			return -EINVAL;
		*lo = *hi = (int)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -EINVAL;
	s = json_string_value(v);
	if (read_port(&s, &a) < 0)
		return -EINVAL;
	b = a;
	if (*s == '-') {
		s++;
		if (read_port(&s, &b) < 0)
			return -EINVAL;
	}
	if (*s != '\0')
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}

int model_fw_prefix(const char *s, int *family, unsigned char addr[16], int *plen)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	char buf[INET6_ADDRSTRLEN];
	int fam, max, len;
	bool extra = false;

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1)
		fam = 4;
	else if (inet_pton(AF_INET6, buf, addr) == 1)
		fam = 6;
	else
		return -EINVAL;
	max = fam == 4 ? 32 : 128;
	len = max;
	if (slash) {
		const char *p = slash + 1;
		size_t d = strspn(p, "0123456789");

		if (d == 0 || d > 3 || p[d] != '\0')
			return -EINVAL;
		len = atoi(p);
		if (len > max)
			return -EINVAL;
	}
	for (int bit = len; bit < max; bit++)
		if (addr[bit / 8] & (0x80 >> (bit % 8))) {
			extra = true;
			addr[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
		}
	*family = fam;
	*plen = len;
	return extra ? -EDOM : 0;
}

int model_fw_prefix_canon(const char *s, char *out, size_t len)
{
	unsigned char addr[16];
	char text[INET6_ADDRSTRLEN];
	int fam, plen, r = model_fw_prefix(s, &fam, addr, &plen);

	if (r < 0 && r != -EDOM)
		return r;
	if (inet_ntop(fam == 4 ? AF_INET : AF_INET6, addr, text, sizeof(text)) == NULL)
		return -EINVAL;
	return snprintf(out, len, "%s/%d", text, plen) < (int)len ? 0 : -EINVAL;
}

static int norm_policy(json_t *s, size_t idx, json_t *segments, json_t **ret,
		       struct model_err *e)
{
	static const char *const keys[] = {"segment", "default", NULL};
	char p[PATH_MAX_LEN], pp[PATH_MAX_LEN];
	const char *seg, *def;
	int r;

	join_index(p, "firewall.policies", idx);
	if (!json_is_object(s))
		return model_error(e, p, "each policy must be a mapping {segment, default}, not %s",
				   type_name(s));
	if ((r = only_keys(s, p, "a policy", keys, e)) < 0 ||
	    (r = get_str(s, p, "segment", true, &seg, e)) < 0 ||
	    (r = get_str(s, p, "default", true, &def, e)) < 0)
		return r;
	join(pp, p, "segment");
	if (model_find(segments, seg) == NULL)
		return model_error(e, pp,
				   "a policy for segment '%.40s', which does not exist: add the "
				   "segment first, or remove the policy (dsectl segment list shows "
				   "them)",
				   seg);
	join(pp, p, "default");
	if (strcasecmp(def, "allow") != 0 && strcasecmp(def, "deny") != 0)
		return model_error(
		    e, pp,
		    "segment '%s': default must be allow or deny, not '%.40s' (for no "
		    "firewall on the segment, leave its policy out)",
		    seg, def);
	*ret = json_pack("{s:s, s:s}", "segment", seg, "default",
			 strcasecmp(def, "allow") == 0 ? "allow" : "deny");
	return 0;
}

/* Reads the prefix member 'key' of rule 'r' into its canonical text 'out' ("" if absent). */
static int rule_prefix(json_t *r, const char *path, const char *key, long long id, char *out,
		       size_t len, int *family, struct model_err *e)
{
	unsigned char addr[16];
	char p[PATH_MAX_LEN];
	const char *s = "";
	int plen, rc = get_str(r, path, key, false, &s, e);

	out[0] = '\0';
	*family = 0;
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	join(p, path, key);
	rc = model_fw_prefix(s, family, addr, &plen);
	if (rc == -EINVAL)
		return model_error(e, p,
				   "rule %lld: '%.60s' is not an address prefix: write it like "
				   "198.18.0.0/16, 2001:db8::/32 or an address alone",
				   id, s);
	model_fw_prefix_canon(s, out, len);
	if (rc == -EDOM)
		return model_error(e, p,
				   "rule %lld: %.60s has bits set beyond its prefix length: write "
				   "%s",
				   id, s, out);
	return 0;
}

/* Reads the port member 'key' of rule 'r' ('*lo' .. '*hi'; 0-65535 when absent). */
static int rule_ports(json_t *r, const char *path, const char *key, long long id, int proto,
		      int *lo, int *hi, struct model_err *e)
{
	json_t *v = json_object_get(r, key);
	char p[PATH_MAX_LEN], text[64];

	*lo = 0;
	*hi = 65535;
	if (v == NULL || json_is_null(v))
		return 0;
	join(p, path, key);
	if (model_fw_ports(v, lo, hi) < 0)
		return model_error(e, p,
				   "rule %lld: %s must be a port 0-65535 or a range like "
				   "\"1000-2000\", not %s",
				   id, key, value_text(v, text, sizeof(text)));
	if (*lo > *hi)
		return model_error(e, p, "rule %lld: %s range %d-%d is reversed: write %d-%d", id,
				   key, *lo, *hi, *hi, *lo);
	if (proto != 6 && proto != 17 && !(*lo == 0 && *hi == 65535))
		return model_error(e, p, "rule %lld: %s needs proto tcp or udp, not %s", id, key,
				   model_fw_proto_name(proto));
	return 0;
}

/* Adds the port range 'lo'..'hi' to 'o' as 'key' in its normalized form. */
static void set_ports(json_t *o, const char *key, int lo, int hi)
{
	char buf[16];

	if (lo == 0 && hi == 65535)
		return;
	if (lo == hi) {
		json_object_set_new(o, key, json_integer(lo));
		return;
	}
	snprintf(buf, sizeof(buf), "%d-%d", lo, hi);
	json_object_set_new(o, key, json_string(buf));
}

static int norm_rule(json_t *r, size_t idx, json_t *segments, json_t *ports, json_t **ret,
		     struct model_err *e)
{
	static const char *const keys[] = {"id",    "priority",  "src",    "dst",
					   "proto", "sport",     "dport",  "icmp_type",
					   "action", "direction", "segment", "port",
					   NULL};
	static const char *const actions[] = {"allow", "drop", "reject", NULL};
	static const char *const dirs[] = {"in", "out", "any", NULL};
	char p[PATH_MAX_LEN], pp[PATH_MAX_LEN], src[64], dst[64], text[64];
	const char *action, *dir = "any", *seg = NULL, *port = NULL;
	long long id, prio = 0, icmp = -1;
	int sfam, dfam, proto = 0, slo, shi, dlo, dhi, rc;
	json_t *v, *out;

	join_index(p, "firewall.rules", idx);
	if (!json_is_object(r))
		return model_error(e, p, "each rule must be a mapping, not %s", type_name(r));
	if ((rc = only_keys(r, p, "a rule", keys, e)) < 0 ||
	    (rc = get_int(r, p, "id", true, 1, MODEL_RULE_ID_MAX, &id, e)) < 0)
		return rc;
	if ((rc = get_int(r, p, "priority", false, INT32_MIN, INT32_MAX, &prio, e)) == -EINVAL ||
	    (rc = get_str(r, p, "action", true, &action, e)) < 0 ||
	    (rc = get_str(r, p, "direction", false, &dir, e)) == -EINVAL ||
	    (rc = get_str(r, p, "segment", false, &seg, e)) == -EINVAL ||
	    (rc = get_str(r, p, "port", false, &port, e)) == -EINVAL)
		return rc;
	for (const char *const *a = actions; *a; a++)
		if (strcasecmp(action, *a) == 0)
			action = *a;
	join(pp, p, "action");
	if (action != actions[0] && action != actions[1] && action != actions[2])
		return model_error(e, pp, "rule %lld: action must be allow, drop or reject, not "
					  "'%.40s'",
				   id, action);
	for (const char *const *d = dirs; *d; d++)
		if (strcasecmp(dir, *d) == 0)
			dir = *d;
	join(pp, p, "direction");
	if (dir != dirs[0] && dir != dirs[1] && dir != dirs[2])
		return model_error(e, pp,
				   "rule %lld: direction must be in (to the VM), out (from the VM) "
				   "or any, not '%.40s'",
				   id, dir);
	join(pp, p, "segment");
	if (seg && model_find(segments, seg) == NULL)
		return model_error(e, pp,
				   "rule %lld is on segment '%.40s', which does not exist: add the "
				   "segment first (dsectl segment list shows them)",
				   id, seg);
	join(pp, p, "port");
	if (port) {
		json_t *vp = model_find(ports, port);
		const char *vseg = vp ? json_string_value(json_object_get(vp, "segment")) : NULL;

		if (vp == NULL)
			return model_error(
			    e, pp,
			    "rule %lld is on port '%.40s', which is not a VM port of "
			    "this host: add the port first (dsectl port list shows "
			    "them)",
			    id, port);
		if (seg && strcmp(vseg, seg) != 0)
			return model_error(
			    e, pp,
			    "rule %lld: port '%s' is on segment '%s', not '%s': name "
			    "a port of the segment, or leave 'segment' out",
			    id, port, vseg, seg);
	}
	if ((rc = rule_prefix(r, p, "src", id, src, sizeof(src), &sfam, e)) < 0 ||
	    (rc = rule_prefix(r, p, "dst", id, dst, sizeof(dst), &dfam, e)) < 0)
		return rc;
	if (sfam && dfam && sfam != dfam) {
		join(pp, p, "dst");
		return model_error(e, pp,
				   "rule %lld: src is IPv%d and dst IPv%d: a rule matches one "
				   "address family, write two rules",
				   id, sfam, dfam);
	}
	v = json_object_get(r, "proto");
	join(pp, p, "proto");
	if (v && !json_is_null(v)) {
		proto = model_fw_proto(v);
		if (proto < 0)
			return model_error(
			    e, pp,
			    "rule %lld: proto must be any, tcp, udp, icmp or icmpv6 "
			    "(or 0, 6, 17, 1, 58), not %s: dse-dpud filters no other "
			    "protocol",
			    id, value_text(v, text, sizeof(text)));
	}
	if ((proto == 1 && (sfam == 6 || dfam == 6)) || (proto == 58 && (sfam == 4 || dfam == 4)))
		return model_error(e, pp,
				   "rule %lld: %s goes with IPv%d, but the rule's prefixes are "
				   "IPv%d: use %s",
				   id, model_fw_proto_name(proto), proto == 1 ? 4 : 6,
				   proto == 1 ? 6 : 4, proto == 1 ? "icmpv6" : "icmp");
	if ((rc = rule_ports(r, p, "sport", id, proto, &slo, &shi, e)) < 0 ||
	    (rc = rule_ports(r, p, "dport", id, proto, &dlo, &dhi, e)) < 0)
		return rc;
	rc = get_int(r, p, "icmp_type", false, 0, 255, &icmp, e);
	if (rc == -EINVAL)
		return rc;
	join(pp, p, "icmp_type");
	if (rc == 0 && proto != 1 && proto != 58)
		return model_error(e, pp, "rule %lld: icmp_type needs proto icmp or icmpv6, not %s",
				   id, model_fw_proto_name(proto));

	out = json_pack("{s:I, s:I}", "id", (json_int_t)id, "priority", (json_int_t)prio);
	if (seg)
		json_object_set_new(out, "segment", json_string(seg));
	if (port)
		json_object_set_new(out, "port", json_string(port));
	json_object_set_new(out, "direction", json_string(dir));
	if (src[0])
		json_object_set_new(out, "src", json_string(src));
	if (dst[0])
		json_object_set_new(out, "dst", json_string(dst));
	if (proto)
		json_object_set_new(out, "proto", json_string(model_fw_proto_name(proto)));
	set_ports(out, "sport", slo, shi);
	set_ports(out, "dport", dlo, dhi);
	if (icmp >= 0)
		json_object_set_new(out, "icmp_type", json_integer(icmp));
	json_object_set_new(out, "action", json_string(action));
	*ret = out;
	return 0;
}

/* Normalizes the profile's "firewall" section into '*ret' ({policies, rules}). */
static int norm_firewall(json_t *doc, json_t *segments, json_t *ports, json_t **ret,
			 struct model_err *e)
{
	static const char *const keys[] = {"policies", "rules", NULL};
	json_t *fw = json_object_get(doc, "firewall"), *pol_in = NULL, *rules_in = NULL;
	json_t *pol = json_array(), *rules = json_array(), *seen = json_object(), *v;
	size_t i;
	int r = 0;

	if (fw == NULL || json_is_null(fw))
		goto done;
	if (!json_is_object(fw)) {
		r = model_error(e, "firewall",
				"'firewall' must be a mapping with policies and rules, not %s",
				type_name(fw));
		goto out;
	}
	if ((r = only_keys(fw, "firewall", "the firewall section", keys, e)) < 0 ||
	    (r = get_list(fw, "firewall", "policies", false, &pol_in, e)) < 0 ||
	    (r = get_list(fw, "firewall", "rules", false, &rules_in, e)) < 0)
		goto out;
	if (json_array_size(rules_in) > MODEL_MAX_RULES) {
		r = model_error(e, "firewall.rules", "%zu rules; a host holds at most %d",
				json_array_size(rules_in), MODEL_MAX_RULES);
		goto out;
	}
	json_array_foreach(pol_in, i, v) {
		json_t *n = NULL;
		const char *seg;
		char p[PATH_MAX_LEN], key[64];

		if ((r = norm_policy(v, i, segments, &n, e)) < 0)
			goto out;
		seg = json_string_value(json_object_get(n, "segment"));
		snprintf(key, sizeof(key), "p/%s", seg);
		if (json_object_get(seen, key)) {
			path_fmt(p, "firewall.policies[%zu].segment", i);
			r = model_error(e, p,
					"segment '%s' has two policies (also firewall.policies"
					"[%lld]): give it one",
					seg,
					(long long)json_integer_value(json_object_get(seen, key)));
			json_decref(n);
			goto out;
		}
		json_object_set_new(seen, key, json_integer((json_int_t)i));
		json_array_append_new(pol, n);
	}
	json_array_foreach(rules_in, i, v) {
		json_t *n = NULL;
		char p[PATH_MAX_LEN], key[64];

		if ((r = norm_rule(v, i, segments, ports, &n, e)) < 0)
			goto out;
		snprintf(key, sizeof(key), "r/%lld",
			 (long long)json_integer_value(json_object_get(n, "id")));
		if (json_object_get(seen, key)) {
			path_fmt(p, "firewall.rules[%zu].id", i);
			r = model_error(
			    e, p,
			    "rule %s is defined twice (also firewall.rules[%lld]): give "
			    "each rule its own id",
			    key + 2, (long long)json_integer_value(json_object_get(seen, key)));
			json_decref(n);
			goto out;
		}
		json_object_set_new(seen, key, json_integer((json_int_t)i));
		json_array_append_new(rules, n);
	}
	sort_with(pol, cmp_segment);
	sort_with(rules, cmp_id);
done:
	*ret = json_pack("{s:O, s:O}", "policies", pol, "rules", rules);
	r = *ret ? 0 : -ENOMEM;
out:
	json_decref(pol_in);
	json_decref(rules_in);
	json_decref(pol);
	json_decref(rules);
	json_decref(seen);
	return r;
}

/* ---- the whole profile ---- */

typedef int (*norm_fn)(json_t *s, size_t idx, json_t *ctx, json_t *seen, json_t **ret,
		       struct model_err *e);

/*
 * Normalizes the list 'key' of 'doc' item by item into '*ret' (sorted),
 * refusing duplicate names and more than 'max' items.
 */
static int norm_list(json_t *doc, const char *key, const char *what, size_t max, norm_fn fn,
		     json_t *ctx, json_t *seen, json_t **ret, struct model_err *e)
{
	json_t *list, *out = json_array(), *names = json_object(), *v;
	size_t i;
	int r;

	r = get_list(doc, "", key, false, &list, e);
	if (r < 0)
		goto out;
	if (json_array_size(list) > max) {
		r = model_error(e, key, "%zu %ss; a host holds at most %zu", json_array_size(list),
				what, max);
		goto out_list;
	}
	json_array_foreach(list, i, v) {
		json_t *n = NULL;
		const char *name;
		char p[PATH_MAX_LEN];

		r = fn(v, i, ctx, seen, &n, e);
		if (r < 0)
			break;
		name = json_string_value(json_object_get(n, "name"));
		if (json_object_get(names, name)) {
			path_fmt(p, "%s[%zu].name", key, i);
			r = model_error(e, p, "%s '%s' is defined twice (also %s[%lld]): give each "
					      "%s its own name",
					what, name, key,
					(long long)json_integer_value(json_object_get(names, name)),
					what);
			json_decref(n);
			break;
		}
		json_object_set_new(names, name, json_integer((json_int_t)i));
		json_array_append_new(out, n);
	}
out_list:
	json_decref(list);
out:
	json_decref(names);
	if (r < 0) {
		json_decref(out);
		return r;
	}
	sort_by_name(out);
	*ret = out;
	return 0;
}

/* Returns the index at which list 'key' of the profile 'doc' wrote the object 'name'. */
static size_t written_index(json_t *doc, const char *key, const char *name)
{
	json_t *o;
	size_t i;

	json_array_foreach(json_object_get(doc, key), i, o)
		if (json_is_object(o) && json_is_string(json_object_get(o, "name")) &&
		    strcmp(json_string_value(json_object_get(o, "name")), name) == 0)
			return i;
	return 0;
}

/*
 * The checks of the overlay that need every switch and segment: an overlay
 * segment needs its switch's TEP (unless both are as in 'cur'), and the
 * DPU of a switch holds at most MODEL_MAX_PEERS peer TEPs.
 */
static int check_overlay(json_t *doc, json_t *sw, json_t *seg, json_t *cur, struct model_err *e)
{
	json_t *v, *peers = json_object();
	char p[PATH_MAX_LEN];
	size_t i;
	int r = 0;

	json_array_foreach(seg, i, v) {
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *swname = json_string_value(json_object_get(v, "switch"));
		json_t *o = model_find(sw, swname), *pv, *set;
		size_t k;

		if (!json_object_get(v, "vni"))
			continue;
		path_fmt(p, "segments[%zu].vni", written_index(doc, "segments", name));
		if (!json_object_get(o, "tep")) {
			json_t *old_sw = model_find(json_object_get(cur, "switches"), swname);
			json_t *old_seg = model_find(json_object_get(cur, "segments"), name);

			if (old_sw && old_seg && json_equal(old_sw, o) && json_equal(old_seg, v))
				continue;
			r = model_error(e, p,
					"overlay segment '%s' needs a tunnel endpoint on switch "
					"'%s': give the switch tep: {ip: ADDRESS} (its DPU's IPv4 "
					"address on the underlay, like 198.19.1.1)",
					name, swname);
			break;
		}
		set = json_object_get(peers, swname);
		if (set == NULL) {
			set = json_object();
			json_object_set_new(peers, swname, set);
		}
		json_array_foreach(json_object_get(v, "peers"), k, pv)
			json_object_set(set, json_string_value(pv), json_true());
		if (json_object_size(set) > MODEL_MAX_PEERS) {
			r = model_error(e, p,
					"the overlay segments of switch '%s' name %zu peer TEPs; "
					"its DPU holds at most %d",
					swname, json_object_size(set), MODEL_MAX_PEERS);
			break;
		}
	}
	json_decref(peers);
	return r;
}

/*
 * What one DPU holds (api/types.json "limits"): each DPU of a switch holds
 * all of the switch's segments, and its VM ports and uplinks are its
 * ports.  A profile that asks more is refused here, naming the limit,
 * rather than failing on the DPU at reconcile.
 */
static int check_dpu_limits(json_t *doc, json_t *sw, json_t *seg, struct model_err *e)
{
	/* Per switch: its segments, and its ports (its uplinks to start with). */
	json_t *nseg = json_object(), *nport = json_object(), *seg_sw = json_object(), *o;
	char p[PATH_MAX_LEN];
	size_t i;
	int r = 0;

	json_array_foreach(sw, i, o)
		json_object_set_new(nport, json_string_value(json_object_get(o, "name")),
				    json_integer((json_int_t)json_array_size(
					json_object_get(o, "uplinks"))));
	json_array_foreach(seg, i, o)
		json_object_set(seg_sw, json_string_value(json_object_get(o, "name")),
				json_object_get(o, "switch"));
	/* In the order the profile writes them: the first beyond the limit is named. */
	json_array_foreach(json_object_get(doc, "segments"), i, o) {
		const char *name = json_string_value(json_object_get(o, "switch"));
		json_int_t n = json_integer_value(json_object_get(nseg, name)) + 1;

		json_object_set_new(nseg, name, json_integer(n));
		if (n > MODEL_DPU_SEGMENTS) {
			join_index(p, "segments", i);
			r = model_error(e, p,
					"switch '%s' would have more than %d segments: a DPU holds "
					"at most %d (limit dpu_segments)",
					name, MODEL_DPU_SEGMENTS, MODEL_DPU_SEGMENTS);
			goto out;
		}
	}
	json_array_foreach(json_object_get(doc, "ports"), i, o) {
		const char *name = json_string_value(json_object_get(
		    seg_sw, json_string_value(json_object_get(o, "segment"))));
		json_int_t n;

		if (name == NULL)
			continue;
		n = json_integer_value(json_object_get(nport, name)) + 1;
		json_object_set_new(nport, name, json_integer(n));
		if (n > MODEL_DPU_PORTS) {
			join_index(p, "ports", i);
			r = model_error(e, p,
					"switch '%s' would have more than %d ports (VM ports and "
					"uplinks): a DPU holds at most %d (limit dpu_ports)",
					name, MODEL_DPU_PORTS, MODEL_DPU_PORTS);
			goto out;
		}
	}
out:
	json_decref(nseg);
	json_decref(nport);
	json_decref(seg_sw);
	return r;
}

int model_normalize(json_t *doc, json_t *inventory, json_t *cur, json_t **ret_doc,
		    struct model_err *e)
{
	static const char *const keys[] = {"version", "dpus",  "switches", "segments",
					   "ports",   "firewall", NULL};
	json_t *map = NULL, *seen = json_object(), *sw = NULL, *seg = NULL, *ports = NULL, *v;
	json_t *fw = NULL;
	json_t *empty = json_array();
	long long version;
	size_t i;
	int r;

	if (inventory == NULL)
		inventory = empty;
	if (!json_is_object(doc)) {
		r = model_error(e, "", "a host profile is a mapping with switches, segments and "
				       "ports, not %s",
				type_name(doc));
		goto out;
	}
	if ((r = only_keys(doc, "", "a host profile", keys, e)) < 0)
		goto out;
	r = get_int(doc, "", "version", false, 0, 1000000, &version, e);
	if (r == -EINVAL)
		goto out;
	if (r == 0 && version != MODEL_VERSION) {
		r = model_error(e, "version",
				"this dse-hostd reads host profiles of version %d, not %lld: use a "
				"dse-hostd of that version",
				MODEL_VERSION, version);
		goto out;
	}
	if ((r = resolve_dpus(doc, inventory, &map, e)) < 0 ||
	    (r = norm_list(doc, "switches", "switch", MODEL_MAX_SWITCHES, norm_switch, map,
			   seen, &sw, e)) < 0 ||
	    (r = norm_list(doc, "segments", "segment", MODEL_MAX_SEGMENTS, norm_segment, sw, seen,
			   &seg, e)) < 0 ||
	    (r = norm_list(doc, "ports", "port", MODEL_MAX_PORTS, norm_port, seg, seen, &ports,
			   e)) < 0 ||
	    (r = norm_firewall(doc, seg, ports, &fw, e)) < 0 ||
	    (r = check_overlay(doc, sw, seg, cur, e)) < 0 ||
	    (r = check_dpu_limits(doc, sw, seg, e)) < 0)
		goto out;
	/* Checks against the DPUs this host knows, once every switch is well formed. */
	json_array_foreach(sw, i, v) {
		json_t *list = json_object_get(doc, "switches"), *o;
		size_t k;
		char p[PATH_MAX_LEN] = "switches";
		json_t *old = cur ? model_find(json_object_get(cur, "switches"),
					       json_string_value(json_object_get(v, "name")))
				  : NULL;

		if (old && json_equal(old, v))
			continue;
		/* Report the position of the switch as the profile wrote it. */
		json_array_foreach(list, k, o)
			if (strcmp(json_string_value(json_object_get(o, "name")),
				   json_string_value(json_object_get(v, "name"))) == 0)
				join_index(p, "switches", k);
		r = check_switch_dpus(v, inventory, p, e);
		if (r < 0)
			goto out;
	}
	*ret_doc = json_pack("{s:O, s:O, s:O, s:O}", "switches", sw, "segments", seg, "ports",
			     ports, "firewall", fw);
	r = *ret_doc ? 0 : -ENOMEM;
out:
	json_decref(fw);
	json_decref(map);
	json_decref(seen);
	json_decref(sw);
	json_decref(seg);
	json_decref(ports);
	json_decref(empty);
	return r;
}

/* ---- comparing and exporting ---- */

/* Compares two objects by their member 'key' (an integer or a string). */
static int cmp_key(json_t *a, json_t *b, const char *key)
{
	json_t *x = json_object_get(a, key), *y = json_object_get(b, key);

	if (json_is_integer(x) && json_is_integer(y))
		return (json_integer_value(x) > json_integer_value(y)) -
		       (json_integer_value(x) < json_integer_value(y));
	return strcmp(json_string_value(x), json_string_value(y));
}

/* Returns what a change calls the object 'o': its member 'key', as a string. */
static json_t *change_name(json_t *o, const char *key)
{
	json_t *x = json_object_get(o, key);
	char buf[32];

	if (!json_is_integer(x))
		return json_incref(x);
	snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(x));
	return json_string(buf);
}

/* Appends the changes of one kind; 'cur' and 'want' are sorted by 'key'. */
static void diff_kind(json_t *changes, const char *kind, const char *key, json_t *cur,
		      json_t *want)
{
	size_t i = 0, j = 0, nc = json_array_size(cur), nw = json_array_size(want);

	/* Both lists are sorted: walk them side by side. */
	while (i < nc || j < nw) {
		json_t *c = i < nc ? json_array_get(cur, i) : NULL;
		json_t *w = j < nw ? json_array_get(want, j) : NULL;
		int cmp = !c ? 1 : !w ? -1 : cmp_key(c, w, key);

		if (cmp < 0) {
			json_array_append_new(changes, json_pack("{s:s, s:s, s:o}", "action",
								 "delete", "kind", kind, "name",
								 change_name(c, key)));
			i++;
		} else if (cmp > 0) {
			json_array_append_new(changes, json_pack("{s:s, s:s, s:o}", "action", "add",
								 "kind", kind, "name",
								 change_name(w, key)));
			j++;
		} else {
			json_t *fields = json_array(), *v;
			const char *k;

			json_object_foreach(w, k, v)
				if (!json_equal(v, json_object_get(c, k)))
					json_array_append_new(fields, json_string(k));
			json_object_foreach(c, k, v)
				if (json_object_get(w, k) == NULL)
					json_array_append_new(fields, json_string(k));
			if (json_array_size(fields))
				json_array_append_new(changes,
						      json_pack("{s:s, s:s, s:o, s:o}", "action",
								"change", "kind", kind, "name",
								change_name(w, key), "fields",
								fields));
			else
				json_decref(fields);
			i++;
			j++;
		}
	}
}

json_t *model_diff(json_t *cur, json_t *want)
{
	static const char *const kinds[][2] = {
		{"switches", "switch"}, {"segments", "segment"}, {"ports", "port"}};
	json_t *changes = json_array();

	for (int k = 0; k < 3; k++)
		diff_kind(changes, kinds[k][1], "name", json_object_get(cur, kinds[k][0]),
			  json_object_get(want, kinds[k][0]));
	diff_kind(changes, "policy", "segment", model_fw_policies(cur), model_fw_policies(want));
	diff_kind(changes, "rule", "id", model_fw_rules(cur), model_fw_rules(want));
	return changes;
}

json_t *model_export(json_t *cur, json_t *inventory)
{
	json_t *dpus = json_array(), *sw, *out;
	size_t i, k;

	json_array_foreach(json_object_get(cur, "switches"), i, sw) {
		json_t *d;

		json_array_foreach(json_object_get(sw, "dpus"), k, d) {
			const char *name = json_string_value(d);
			json_t *rec = model_find(inventory, name);
			json_t *out = json_pack("{s:s}", "name", name);
			const char *link = rec ? json_string_value(json_object_get(rec, "link")) : NULL;

			if (model_find(dpus, name)) {
				json_decref(out);
				continue;
			}
			if (link)
				json_object_set_new(out, "link", json_string(link));
			if (has_identity(rec))
				for (int f = 0; f < 4; f++)
					json_object_set_new(out, ident_keys[f],
							    json_string(inv_str(rec, ident_keys[f])));
			json_array_append_new(dpus, out);
		}
	}
	out = json_pack("{s:i, s:o, s:O, s:O, s:O}", "version", MODEL_VERSION, "dpus", dpus,
			"switches", json_object_get(cur, "switches"), "segments",
			json_object_get(cur, "segments"), "ports", json_object_get(cur, "ports"));
	/* A host without a firewall exports the profile it always did. */
	if (out &&
	    (json_array_size(model_fw_policies(cur)) || json_array_size(model_fw_rules(cur))))
		json_object_set(out, "firewall", json_object_get(cur, "firewall"));
	return out;
}
