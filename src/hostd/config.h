/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The action functions that change or read the desired state: one per
 * operation, shared by the JSON-RPC methods and the unit tests.  Each change
 * reads the store, builds the whole desired state it asks for, checks it
 * (model.c) and writes the difference in one transaction (store.c).  The
 * changes are returned as model_diff() lists them.
 */
#ifndef DSE_HOSTD_CONFIG_H
#define DSE_HOSTD_CONFIG_H

#include <jansson.h>
#include <stdbool.h>

#include "model.h"
#include "store.h"

/* The kinds of objects, as the API and model_diff() name them. */
enum config_kind {
	CONFIG_SWITCH,
	CONFIG_SEGMENT,
	CONFIG_PORT,
};

/* Returns "switch", "segment" or "port". */
const char *config_kind_name(enum config_kind kind);

/* How config_apply() goes about it. */
enum config_apply_flags {
	CONFIG_DRY_RUN = 0x1, /* only compute the changes */
	CONFIG_PRUNE = 0x2,   /* delete what the profile leaves out (else refuse to) */
};

/*
 * Makes the desired state equal to the host profile 'doc' (see model.h) in
 * one transaction, or only computes the changes with CONFIG_DRY_RUN.
 * Without CONFIG_PRUNE a profile that leaves out objects the host has is
 * refused (-ENOTEMPTY), with a message naming them, unless it is a dry run:
 * deleting is asked for, never implied.  Returns 0 and the changes in
 * '*ret_changes' (empty when the store already holds 'doc'), or a negative
 * errno with 'e' set (its path points into 'doc').
 */
int config_apply(struct store *s, json_t *doc, unsigned flags, json_t **ret_changes,
		 struct model_err *e);

/*
 * Adds the object 'obj' of 'kind' (the members a profile gives it).  Refuses
 * a name that exists.  Returns 0 and the changes, or a negative errno with
 * 'e' set.
 */
int config_add(struct store *s, enum config_kind kind, json_t *obj, json_t **ret_changes,
	       struct model_err *e);

/*
 * Deletes the object 'name' of 'kind'.  Refuses a switch that still has
 * segments, a segment that still has ports or firewall policy or rules, and
 * a port that firewall rules are scoped to (the message lists them).
 * Returns 0 and the changes, or -ENOENT / -EBUSY with 'e' set.
 */
int config_del(struct store *s, enum config_kind kind, const char *name, json_t **ret_changes,
	       struct model_err *e);

/*
 * Changes the object 'name' of 'kind' in place: each member of 'fields'
 * but "name" replaces the object's own, and a member that is JSON null
 * removes it (a switch's "tep").  The whole desired state is then checked
 * as a profile would be (a segment's "peers", a switch's "uplinks" and
 * "tep", a port's "segment" and "mac" may change; the API's schema says
 * which a command takes).  Returns 0 and the changes (none when it already
 * has those values), or a negative errno with 'e' set (-ENOENT: no such
 * object).
 */
int config_set(struct store *s, enum config_kind kind, const char *name, json_t *fields,
	       json_t **ret_changes, struct model_err *e);

/* Returns the list of objects of 'kind' in '*ret' (sorted by name). */
int config_list(struct store *s, enum config_kind kind, json_t **ret);

/* Returns the host profile (model_export()) in '*ret'. */
int config_export(struct store *s, json_t **ret);

/*
 * Sets the firewall's default policy of 'segment' to 'deflt': "allow",
 * "deny", or "off" (no policy: no firewall on the segment).  Returns 0 and
 * the changes (none when the segment already has that policy), or a
 * negative errno with 'e' set.
 */
int config_fw_policy_set(struct store *s, const char *segment, const char *deflt,
			 json_t **ret_changes, struct model_err *e);

/*
 * Adds the firewall rule 'rule' (the members a profile gives it, see
 * model.h).  Refuses an id that exists (-EEXIST).  Returns 0 and the
 * changes, or a negative errno with 'e' set.
 */
int config_fw_rule_add(struct store *s, json_t *rule, json_t **ret_changes,
		       struct model_err *e);

/* Deletes firewall rule 'id'.  Returns 0 and the changes, or -ENOENT with 'e' set. */
int config_fw_rule_del(struct store *s, long long id, json_t **ret_changes,
		       struct model_err *e);

/* Returns the firewall section of the desired state ({policies, rules}) in '*ret'. */
int config_fw_list(struct store *s, json_t **ret);

#endif
