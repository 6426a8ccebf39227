/* SPDX-License-Identifier: BSD-3-Clause */
/* Changes of the desired state, each one whole-state check and one transaction (config.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sections[] = {"switches", "segments", "ports"};
static const char *const kinds[] = {"switch", "segment", "port"};

const char *config_kind_name(enum config_kind kind)
{
	return kinds[kind];
}

/* Passes the store's own message on (store.c logged it). */
static int store_failed(struct store *s, struct model_err *e, int r)
{
	model_error(e, "", "%s", store_last_error(s));
	return r;
}

/* Checks 'want' against the store and writes the difference unless 'dry_run'. */
/*
 * Refuses 'changes' that delete objects: names them (the first few) and
 * says how to delete them, or keep them.  Returns 0 when nothing is deleted.
 */
static int refuse_deletes(json_t *changes, struct model_err *e)
{
	char names[300] = "";
	size_t i, n = 0, len = 0;
	json_t *c;

	json_array_foreach(changes, i, c) {
		if (strcmp(json_string_value(json_object_get(c, "action")), "delete") != 0)
			continue;
		if (n++ < 5 && len < sizeof(names))
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s %s",
						len ? ", " : "",
						json_string_value(json_object_get(c, "kind")),
						json_string_value(json_object_get(c, "name")));
	}
	if (n == 0)
		return 0;
	model_error(e, "",
		    "the profile leaves out %zu object%s this host has (%s%s): apply it with "
		    "--prune to delete them (--dry-run shows every change), or add them to "
		    "the profile (dsectl config export writes what the host has)",
		    n, n == 1 ? "" : "s", names, n > 5 ? ", ..." : "");
	return -ENOTEMPTY;
}

static int change(struct store *s, json_t *cur, json_t *want_doc, bool dry_run, bool keep,
		  json_t **ret_changes, struct model_err *e)
{
	json_t *inv = NULL, *want = NULL, *changes = NULL;
	char err[512];
	int r;

	if ((r = store_dpus(s, &inv)) < 0)
		return store_failed(s, e, r);
	r = model_normalize(want_doc, inv, cur, &want, e);
	json_decref(inv);
	if (r < 0)
		return r;
	changes = model_diff(cur, want);
	/* 'keep': deleting is asked for (prune), never implied; a dry run shows it. */
	if (keep && !dry_run && (r = refuse_deletes(changes, e)) < 0)
		goto out;
	if (!dry_run) {
		r = store_commit(s, want, changes, err, sizeof(err));
		if (r < 0) {
			model_error(e, "", "%s", err);
			goto out;
		}
	}
	*ret_changes = json_incref(changes);
out:
	json_decref(changes);
	json_decref(want);
	return r;
}

int config_apply(struct store *s, json_t *doc, unsigned flags, json_t **ret_changes,
		 struct model_err *e)
{
	json_t *cur;
	int r = store_load(s, &cur);

	if (r < 0)
		return store_failed(s, e, r);
	r = change(s, cur, doc, flags & CONFIG_DRY_RUN, !(flags & CONFIG_PRUNE), ret_changes, e);
	json_decref(cur);
	return r;
}

int config_add(struct store *s, enum config_kind kind, json_t *obj, json_t **ret_changes,
	       struct model_err *e)
{
	json_t *cur, *want;
	const char *name = json_string_value(json_object_get(obj, "name"));
	int r = store_load(s, &cur);

	if (r < 0)
		return store_failed(s, e, r);
	if (name && model_find(json_object_get(cur, sections[kind]), name)) {
		r = model_error(e, "",
				"%s '%s' already exists: choose another name, or delete it first "
				"(dsectl %s del %s)",
				kinds[kind], name, kinds[kind], name);
		r = -EEXIST;
		goto out;
	}
	want = json_deep_copy(cur);
	json_array_append(json_object_get(want, sections[kind]), obj);
	r = change(s, cur, want, false, false, ret_changes, e);
	/* The path points into a profile nobody wrote: a command's error has none. */
	e->path[0] = '\0';
	json_decref(want);
out:
	json_decref(cur);
	return r;
}

/*
 * Lists, for a message, the objects of 'list' whose 'key' is 'value' by
 * their member 'label' (a name, or a firewall rule's id).
 */
static int users(json_t *list, const char *key, const char *value, const char *label, char *buf,
		 size_t len)
{
	json_t *o;
	size_t i, off = 0;
	int n = 0;

	buf[0] = '\0';
	json_array_foreach(list, i, o) {
		const char *v = json_string_value(json_object_get(o, key));
		json_t *l = json_object_get(o, label);

		if (v == NULL || strcmp(v, value) != 0)
			continue;
		if (n < 5 && off < len)
			off += json_is_integer(l)
				       ? (size_t)snprintf(buf + off, len - off, "%s%lld", n ? ", " : "",
							  (long long)json_integer_value(l))
				       : (size_t)snprintf(buf + off, len - off, "%s%s", n ? ", " : "",
							  json_string_value(l));
		n++;
	}
	if (n > 5 && off < len)
		snprintf(buf + off, len - off, " and %d more", n - 5);
	return n;
}

int config_del(struct store *s, enum config_kind kind, const char *name, json_t **ret_changes,
	       struct model_err *e)
{
	json_t *cur, *want, *list;
	char names[256];
	int n, r = store_load(s, &cur);

	if (r < 0)
		return store_failed(s, e, r);
	list = json_object_get(cur, sections[kind]);
	if (model_find(list, name) == NULL) {
		model_error(e, "", "no %s '%s' (dsectl %s list shows them)", kinds[kind], name,
			    kinds[kind]);
		r = -ENOENT;
		goto out;
	}
	if (kind == CONFIG_SWITCH &&
	    (n = users(json_object_get(cur, "segments"), "switch", name, "name", names, sizeof(names)))) {
		model_error(e, "",
			    "switch '%s' still has %d segment%s (%s): delete them first (dsectl "
			    "segment del NAME)",
			    name, n, n == 1 ? "" : "s", names);
		r = -EBUSY;
		goto out;
	}
	if (kind == CONFIG_SEGMENT &&
	    (n = users(json_object_get(cur, "ports"), "segment", name, "name", names, sizeof(names)))) {
		model_error(e, "",
			    "segment '%s' still has %d port%s (%s): delete them first (dsectl "
			    "port del NAME)",
			    name, n, n == 1 ? "" : "s", names);
		r = -EBUSY;
		goto out;
	}
	if (kind == CONFIG_SEGMENT && model_fw_policy_find(model_fw_policies(cur), name)) {
		model_error(e, "",
			    "segment '%s' has a firewall policy: remove it first (dsectl fw policy "
			    "set %s off)",
			    name, name);
		r = -EBUSY;
		goto out;
	}
	if (kind != CONFIG_SWITCH &&
	    (n = users(model_fw_rules(cur), kind == CONFIG_SEGMENT ? "segment" : "port", name, "id",
			    names, sizeof(names)))) {
		model_error(e, "",
			    "%s '%s' is the scope of %d firewall rule%s (%s): delete them first "
			    "(dsectl fw rule del ID)",
			    kinds[kind], name, n, n == 1 ? "" : "s", names);
		r = -EBUSY;
		goto out;
	}
	want = json_deep_copy(cur);
	list = json_object_get(want, sections[kind]);
	for (size_t i = 0; i < json_array_size(list); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(list, i), "name")),
			   name) == 0) {
			json_array_remove(list, i);
			break;
		}
	r = change(s, cur, want, false, false, ret_changes, e);
	e->path[0] = '\0';
	json_decref(want);
out:
	json_decref(cur);
	return r;
}

int config_set(struct store *s, enum config_kind kind, const char *name, json_t *fields,
	       json_t **ret_changes, struct model_err *e)
{
	json_t *cur, *want, *obj, *v;
	const char *key;
	int r = store_load(s, &cur);

	if (r < 0)
		return store_failed(s, e, r);
	if (model_find(json_object_get(cur, sections[kind]), name) == NULL) {
		model_error(e, "", "no %s '%s' (dsectl %s list shows them)", kinds[kind], name,
			    kinds[kind]);
		r = -ENOENT;
		goto out;
	}
	want = json_deep_copy(cur);
	obj = model_find(json_object_get(want, sections[kind]), name);
	json_object_foreach(fields, key, v) {
		if (strcmp(key, "name") == 0)
			continue;
		if (json_is_null(v))
			json_object_del(obj, key);
		else
			json_object_set(obj, key, v);
	}
	r = change(s, cur, want, false, false, ret_changes, e);
	/* The path points into a profile nobody wrote: a command's error has none. */
	e->path[0] = '\0';
	json_decref(want);
out:
	json_decref(cur);
	return r;
}

int config_list(struct store *s, enum config_kind kind, json_t **ret)
{
	json_t *cur;
	int r = store_load(s, &cur);

	if (r < 0)
		return r;
	*ret = json_incref(json_object_get(cur, sections[kind]));
	json_decref(cur);
	return 0;
}

int config_export(struct store *s, json_t **ret)
{
	json_t *cur, *inv;
	int r = store_load(s, &cur);

	if (r < 0)
		return r;
	r = store_dpus(s, &inv);
	if (r < 0) {
		json_decref(cur);
		return r;
	}
	*ret = model_export(cur, inv);
	json_decref(cur);
	json_decref(inv);
	return *ret ? 0 : -ENOMEM;
}

/* ---- the firewall ---- */

int config_fw_policy_set(struct store *s, const char *segment, const char *deflt,
			 json_t **ret_changes, struct model_err *e)
{
	json_t *cur, *want, *pols;
	int r = store_load(s, &cur);

	if (r < 0)
		return store_failed(s, e, r);
	if (model_find(json_object_get(cur, "segments"), segment) == NULL) {
		model_error(e, "", "no segment '%s' (dsectl segment list shows them)", segment);
		r = -ENOENT;
		goto out;
	}
	want = json_deep_copy(cur);
	pols = model_fw_policies(want);
	for (size_t i = 0; i < json_array_size(pols); i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(pols, i), "segment")),
			   segment) == 0) {
			json_array_remove(pols, i);
			break;
		}
	if (strcmp(deflt, "off") != 0)
		json_array_append_new(pols, json_pack("{s:s, s:s}", "segment", segment, "default",
						      deflt));
	r = change(s, cur, want, false, false, ret_changes, e);
	/* The path points into a profile nobody wrote: a command's error has none. */
	e->path[0] = '\0';
	json_decref(want);
out:
	json_decref(cur);
	return r;
}

int config_fw_rule_add(struct store *s, json_t *rule, json_t **ret_changes,
		       struct model_err *e)
{
	json_t *cur, *want, *id = json_object_get(rule, "id");
	int r = store_load(s, &cur);

	if (r < 0)
		return store_failed(s, e, r);
	if (json_is_integer(id) &&
	    model_fw_rule_find(model_fw_rules(cur), json_integer_value(id))) {
		model_error(e, "",
			    "rule %lld already exists: choose another id, or delete it first "
			    "(dsectl fw rule del %lld)",
			    (long long)json_integer_value(id), (long long)json_integer_value(id));
		r = -EEXIST;
		goto out;
	}
	want = json_deep_copy(cur);
	json_array_append(model_fw_rules(want), rule);
	r = change(s, cur, want, false, false, ret_changes, e);
	e->path[0] = '\0';
	json_decref(want);
out:
	json_decref(cur);
	return r;
}

int config_fw_rule_del(struct store *s, long long id, json_t **ret_changes,
		       struct model_err *e)
{
	json_t *cur, *want, *rules;
	int r = store_load(s, &cur);

	if (r < 0)
		return store_failed(s, e, r);
	if (model_fw_rule_find(model_fw_rules(cur), id) == NULL) {
		model_error(e, "", "no firewall rule %lld (dsectl fw rule list shows them)", id);
		r = -ENOENT;
		goto out;
	}
	want = json_deep_copy(cur);
	rules = model_fw_rules(want);
	for (size_t i = 0; i < json_array_size(rules); i++)
		if (json_integer_value(json_object_get(json_array_get(rules, i), "id")) == id) {
			json_array_remove(rules, i);
			break;
		}
	r = change(s, cur, want, false, false, ret_changes, e);
	e->path[0] = '\0';
	json_decref(want);
out:
	json_decref(cur);
	return r;
}

int config_fw_list(struct store *s, json_t **ret)
{
	json_t *cur;
	int r = store_load(s, &cur);

	if (r < 0)
		return r;
	*ret = json_incref(json_object_get(cur, "firewall"));
	json_decref(cur);
	return 0;
}
