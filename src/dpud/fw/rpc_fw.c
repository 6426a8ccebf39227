/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON-RPC methods of the firewall and connection tracking (api/dpud/fw.json).
 *
 * The params of every call were decoded and checked by the schema before
 * the handler runs (call->args); a handler checks only what the schema can
 * not say (a rule's fields against each other, names that must exist, the
 * capacity known at run time).
 *
 * The control thread keeps the rules as given and the policy of each
 * segment.  A change set (fw.rule.apply, or the one-rule fw.rule.add and
 * fw.rule.del, or fw.policy.set) is validated whole before anything
 * changes, compiled once into a complete new rule set here, off the packet
 * path, and put in force with one atomic pointer store that the workers
 * load at the start of each graph walk: a worker judges every packet by
 * either the old or the new set, never by a mix, and forwarding never
 * pauses for the compilation.  The old set is freed after every worker
 * passed a quiescent state (dp_rcu_synchronize()).  Connections judged by
 * an older set are judged again on their next packet (node_fw.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "clock.h"
#include "dp.h"
#include "fw_events.h"
#include "rpc.h"
#include "module.h"
#include "rpc_fw.h"

/* Policy of a segment: its firewall off, or on with a default. */
enum { POLICY_OFF = 0, POLICY_ALLOW, POLICY_DENY };

/*
 * The schema's enums are these numbers, so a decoded value is used as it
 * is: a change on either side must break the build, not the meaning.
 */
#define SAME(a, b) ((int)(a) == (int)(b)) /* two enums' values, without -Wenum-compare */
_Static_assert(SAME(DSE_API_FW_DEFAULT_OFF, POLICY_OFF) &&
		       SAME(DSE_API_FW_DEFAULT_ALLOW, POLICY_ALLOW) &&
		       SAME(DSE_API_FW_DEFAULT_DENY, POLICY_DENY),
	       "fw_default (api/types.json) must be the POLICY_* numbers");
_Static_assert(SAME(DSE_API_FW_ACTION_ALLOW, DSE_FW_ALLOW) &&
		       SAME(DSE_API_FW_ACTION_DROP, DSE_FW_DROP) &&
		       SAME(DSE_API_FW_ACTION_REJECT, DSE_FW_REJECT) &&
		       SAME(DSE_API_FW_ACTION_REJECT + 1, DSE_FW_ACTION__MAX),
	       "fw_action (api/types.json) must be enum dse_fw_action");
_Static_assert(SAME(DSE_API_FW_DIRECTION_ANY, DSE_FW_DIR_ANY) &&
		       SAME(DSE_API_FW_DIRECTION_IN, DSE_FW_DIR_IN) &&
		       SAME(DSE_API_FW_DIRECTION_OUT, DSE_FW_DIR_OUT) &&
		       SAME(DSE_API_FW_DIRECTION_OUT + 1, DSE_FW_DIR__MAX),
	       "fw_direction (api/types.json) must be enum dse_fw_dir");
#undef SAME
/* The schema bounds fw.rule.apply's lists by the limits: those of the tables here. */
_Static_assert(DSE_API_LIMIT_DPU_RULES == DSE_FW_MAX_RULES, "dpu_rules is a rule set's size");
_Static_assert(DSE_API_LIMIT_RULE_ID_MAX <= UINT32_MAX, "a rule id is a uint32_t");

static struct dse_fw_rule *rules; /* as the operator gave them, in order of addition */
static unsigned n_rules;
static uint8_t policy[DSE_MAX_SEGMENTS];

/* The name of policy 'p' ("allow", "deny", "off"), as the schema spells it. */
static const char *policy_name(uint8_t p)
{
	return dse_api_enum_name(&dse_api_t_fw_default, p);
}

/* The name of protocol 'p' as the schema spells it, else its number. */
static json_t *proto_json(uint8_t p)
{
	const char *name = dse_api_enum_name(&dse_api_t_proto, p);

	return name ? json_string(name) : json_integer(p);
}

/* ---- publishing a rule set ---- */

/* The rule set in force; the control thread is its only writer. */
static struct dse_fw_ruleset *fw_current(void)
{
	return atomic_load_explicit(&dp.fw, memory_order_relaxed);
}

/* Sets which segments the firewall filters, from the policies 'arg'.  Worker. */
static int fw_flags_apply(void *arg)
{
	const uint8_t *pol = arg;

	for (int s = 0; s < DSE_MAX_SEGMENTS; s++)
		dp.segments[s].fw = dp.segments[s].used && pol[s] != POLICY_OFF;
	/* Recomputes which ports carry firewalled segments and drops cached decisions. */
	dp_segments_rebuild();
	return 0;
}

/*
 * Compiles the 'n' rules 'set' with the policies 'pol' and puts them in
 * force: on success they become the rules and policies of the control
 * thread (which takes 'set', a malloc()ed array) and '*compile_ns' (may be
 * NULL) says how long the compilation took.  Returns 0, or -EINVAL with
 * the error set and nothing changed ('set' is still the caller's).
 */
static int fw_publish(struct dse_rpc_call *call, struct dse_fw_rule *set, unsigned n,
		      const uint8_t *pol, uint64_t *compile_ns)
{
	struct dse_fw_ruleset *rs, *old = fw_current();
	char err[DSE_FW_ERR_LEN];
	uint64_t t0 = dse_clock_ns();
	bool flags = false;

	rs = dse_fw_compile(set, n, err, sizeof(err));
	if (rs == NULL)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "%s", err);
	if (compile_ns)
		*compile_ns = dse_clock_ns() - t0;
	for (int s = 0; s < DSE_MAX_SEGMENTS; s++) {
		if (pol[s] == POLICY_DENY)
			dse_fw_default_set(rs, (uint16_t)s, DSE_FW_DROP);
		flags |= dp.segments[s].fw != (dp.segments[s].used && pol[s] != POLICY_OFF);
	}
	/* One store puts the whole set in force; each worker takes it at its next walk. */
	atomic_store_explicit(&dp.fw, rs, memory_order_release);
	if (flags)
		dp_call(fw_flags_apply, (void *)pol);
	/* Once every worker passed a quiescent state, none counts in or reads 'old'. */
	dp_rcu_synchronize();
	dse_fw_counters_carry(rs, old);
	dse_fw_ruleset_free(old);
	if (set != rules) {
		free(rules);
		rules = set;
	}
	n_rules = n;
	if (pol != policy)
		memcpy(policy, pol, sizeof(policy));
	dse_dpud_config_changed();
	return 0;
}

/*
 * Returns true, with the reason in 'why', when segment 'seg' (an index) or
 * port 'port' (a DPDK id) has a firewall policy or rules that name it: it
 * must not be removed under them.
 */
static bool fw_segment_in_use(uint16_t seg, char *why, size_t len)
{
	if (policy[seg] != POLICY_OFF) {
		snprintf(why, len, "its firewall policy is %s (fw.policy.set default off first)",
			 policy_name(policy[seg]));
		return true;
	}
	for (unsigned i = 0; i < n_rules; i++) {
		if (rules[i].segment == seg) {
			snprintf(why, len, "firewall rule %u applies to it", rules[i].id);
			return true;
		}
	}
	return false;
}

static bool fw_port_in_use(uint16_t port, char *why, size_t len)
{
	for (unsigned i = 0; i < n_rules; i++) {
		if (rules[i].port == port) {
			snprintf(why, len, "firewall rule %u applies to it", rules[i].id);
			return true;
		}
	}
	return false;
}

/* ---- fw.policy.set, fw.policy.list ---- */

static int fw_policy_set(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_fw_policy_set *a = call->args;
	uint8_t pol[DSE_MAX_SEGMENTS];
	uint16_t seg;

	if (dse_dpud_find_segment(call, a->segment, &seg) < 0)
		return -EINVAL;
	memcpy(pol, policy, sizeof(pol));
	pol[seg] = (uint8_t)a->default_;
	if (fw_publish(call, rules, n_rules, pol, NULL) < 0)
		return -EINVAL;
	*ret = NULL;
	return 0;
}

static int fw_policy_list(struct dse_rpc_call *call, json_t **ret)
{
	json_t *a = json_array();

	RTE_SET_USED(call);
	for (int s = 0; s < DSE_MAX_SEGMENTS; s++)
		if (dp.segments[s].used && policy[s] != POLICY_OFF)
			json_array_append_new(a, json_pack("{s:s, s:s}", "segment",
							   dp.segments[s].name, "default",
							   policy_name(policy[s])));
	*ret = a;
	return 0;
}

/* ---- rules ---- */

/*
 * Copies prefix 'p' of the schema into the rule's 'to'; "any" (AF_UNSPEC)
 * is no prefix.  Returns its family: 4, 6, or 0 for none.
 */
static int rule_prefix(const struct dse_api_prefix *p, bool given, struct dse_fw_prefix *to)
{
	if (!given || p->family == AF_UNSPEC)
		return 0;
	memcpy(to->addr, p->addr, sizeof(to->addr));
	to->plen = p->len;
	return p->family == AF_INET6 ? 6 : 4;
}

/*
 * Turns one decoded rule (fw.rule.add's params, or an entry of
 * fw.rule.apply's "rules") into 'r'.  The schema checked each field alone;
 * here come the checks of the fields together (dse_fw_rule_validate()) and
 * of the names, which must exist.  Returns 0 or -EINVAL with the error set.
 */
static int rule_from_api(struct dse_rpc_call *call, const struct dse_api_obj_fw_rule *a,
			 struct dse_fw_rule *r)
{
	char err[DSE_FW_ERR_LEN];
	int sf, df, family;

	dse_fw_rule_init(r);
	r->id = (uint32_t)a->id;
	r->priority = (int32_t)a->priority;
	r->proto = (uint8_t)a->proto;
	r->action = (uint8_t)a->action;
	r->direction = (uint8_t)a->direction;
	sf = rule_prefix(&a->src, a->has_src, &r->src);
	df = rule_prefix(&a->dst, a->has_dst, &r->dst);
	if (sf && df && sf != df)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "rule %u: 'src' and 'dst' must be of one address family",
				     r->id);
	family = sf ? sf : df;
	/* Of the other family, a prefix would be read as an address of this one. */
	if (a->has_family && family && (a->family == 4 || a->family == 6) && a->family != family)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "rule %u: '%s' is an IPv%d prefix, but family is %lld", r->id,
				     sf ? "src" : "dst", family, a->family);
	if (a->has_sport)
		r->sport = (struct dse_fw_ports){a->sport.lo, a->sport.hi};
	if (a->has_dport)
		r->dport = (struct dse_fw_ports){a->dport.lo, a->dport.hi};
	if (a->has_icmp_type)
		r->icmp_type = (int16_t)a->icmp_type;
	if (a->has_segment && dse_dpud_find_segment(call, a->segment, &r->segment) < 0)
		return -EINVAL;
	if (a->has_port && dse_dpud_find_port(call, a->port, &r->port) < 0)
		return -EINVAL;
	/* The family: as given, else that of the prefixes or the ICMP flavour, else both. */
	if (a->has_family)
		r->family = (uint8_t)a->family;
	else if (family)
		r->family = (uint8_t)family;
	else if (r->proto == DSE_API_PROTO_ICMP)
		r->family = 4;
	else if (r->proto == DSE_API_PROTO_ICMPV6)
		r->family = 6;
	else
		r->family = 0;
	/* The family 0, 4 or 6 and its prefixes, ports only with TCP and UDP, the protocols. */
	if (dse_fw_rule_validate(r, err, sizeof(err)) < 0)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS, "%s", err);
	return 0;
}

/* An id and where it is: the sorted index of a change set. */
struct id_pos {
	uint32_t id;
	uint32_t pos;
};

static int cmp_id_pos(const void *a, const void *b)
{
	const struct id_pos *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Returns the index of rule 'id' in the sorted 'idx' of 'n' rules, or -1. */
static int id_find(const struct id_pos *idx, unsigned n, uint32_t id)
{
	struct id_pos key = {.id = id};
	const struct id_pos *e = bsearch(&key, idx, n, sizeof(*idx), cmp_id_pos);

	return e ? (int)e->pos : -1;
}

/* Returns the index of the rule with 'id' among the rules in force, or -1. */
static int rule_by_id(uint32_t id)
{
	struct dse_fw_ruleset *rs = fw_current();
	int i = rs ? dse_fw_find(rs, id) : -ENOENT;

	return i < 0 ? -1 : i;
}

/* What a change set did. */
struct fw_change_stats {
	unsigned added, replaced, deleted;
	uint64_t compile_ns;
};

/*
 * Applies one change set: the 'n_add' rules 'add' are added, or replace the
 * rule of their id in place; the 'n_del' ids 'del' are removed; with
 * 'replace', 'add' becomes the whole set instead.  'pol' is the policy of
 * every segment afterwards.  All of it is checked first (ids unique in the
 * change set, every id deleted present, the size of the result); then it is
 * compiled once and published.  Returns 0 with 'st' filled, or -EINVAL
 * (error set, nothing changed) or -ENOMEM.
 */
static int fw_change(struct dse_rpc_call *call, const struct dse_fw_rule *add, unsigned n_add,
		     const uint32_t *del, unsigned n_del, bool replace, const uint8_t *pol,
		     struct fw_change_stats *st)
{
	struct id_pos *ai = malloc(sizeof(*ai) * (n_add + 1));
	uint32_t *place = NULL; /* per rule in force: where it goes, or UINT32_MAX (deleted) */
	struct dse_fw_rule *set = NULL;
	unsigned base = replace ? 0 : n_rules, n = 0;
	int r = -EINVAL;

	memset(st, 0, sizeof(*st));
	if (ai == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < n_add; i++)
		ai[i] = (struct id_pos){add[i].id, i};
	qsort(ai, n_add, sizeof(*ai), cmp_id_pos);
	for (unsigned i = 1; i < n_add; i++)
		if (ai[i].id == ai[i - 1].id) {
			dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				      "rules[%u] and rules[%u] both have id %u: ids must be unique",
				      ai[i - 1].pos, ai[i].pos, ai[i].id);
			goto out;
		}
	place = malloc(sizeof(*place) * (base + 1));
	set = malloc(sizeof(*set) * (base + n_add + 1));
	if (place == NULL || set == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < base; i++)
		place[i] = 0;
	for (unsigned i = 0; i < n_del; i++) {
		int at = rule_by_id(del[i]);

		if (id_find(ai, n_add, del[i]) >= 0) {
			dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				      "rule %u is both in 'rules' and in 'delete': give it once", del[i]);
			goto out;
		}
		if (at < 0) {
			dse_rpc_error(call, DSE_RPC_APP_ERROR,
				      "delete[%u]: no rule %u (fw.rule.list shows them)", i, del[i]);
			goto out;
		}
		if (place[at] == UINT32_MAX) {
			dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				      "delete[%u]: rule %u is given twice", i, del[i]);
			goto out;
		}
		place[at] = UINT32_MAX;
		st->deleted++;
	}
	/* The rules that stay keep their order; a replaced rule keeps its place. */
	for (unsigned i = 0; i < base; i++) {
		int j;

		if (place[i] == UINT32_MAX)
			continue;
		j = id_find(ai, n_add, rules[i].id);
		set[n++] = j >= 0 ? add[j] : rules[i];
		st->replaced += j >= 0;
	}
	for (unsigned i = 0; i < n_add; i++) {
		if (!replace && rule_by_id(add[i].id) >= 0)
			continue;
		set[n++] = add[i];
		st->added++;
	}
	if (n > DSE_FW_MAX_RULES) {
		dse_rpc_error(call, DSE_RPC_APP_ERROR,
			      "the change leaves %u rules, more than a rule set holds (%u)", n,
			      DSE_FW_MAX_RULES);
		goto out;
	}
	r = fw_publish(call, set, n, pol, &st->compile_ns);
	if (r == 0)
		set = NULL; /* the rules in force now */
out:
	free(ai);
	free(place);
	free(set);
	return r;
}

static int fw_rule_add(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_obj_fw_rule *a = call->args;
	struct fw_change_stats st;
	struct dse_fw_rule r;

	if (rule_from_api(call, a, &r) < 0)
		return -EINVAL;
	if (rule_by_id(r.id) >= 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "rule %u exists: fw.rule.del it first to replace it", r.id);
	if (fw_change(call, &r, 1, NULL, 0, false, policy, &st) < 0)
		return -EINVAL;
	*ret = json_pack("{s:I}", "id", (json_int_t)r.id);
	return 0;
}

static int fw_rule_del(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_fw_rule_del *a = call->args;
	struct fw_change_stats st;
	uint32_t del = (uint32_t)a->id;

	if (rule_by_id(del) < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "no rule %u (fw.rule.list shows them)", del);
	if (fw_change(call, NULL, 0, &del, 1, false, policy, &st) < 0)
		return -EINVAL;
	*ret = NULL;
	return 0;
}

/*
 * Sets the error of 'call' from that of 'sub', the call that read one
 * entry of a list param, naming the entry: "rules[17] (id 42): ...".  'id'
 * is the entry's rule id, 0 for none.
 */
static int entry_error(struct dse_rpc_call *call, const struct dse_rpc_call *sub, const char *list,
		       size_t i, uint32_t id)
{
	char idbuf[32] = "";

	if (id)
		snprintf(idbuf, sizeof(idbuf), " (id %u)", id);
	return dse_rpc_error(call, sub->err_code ? sub->err_code : DSE_RPC_INVALID_PARAMS,
			     "%s[%zu]%s: %s", list, i, idbuf,
			     sub->err_msg[0] ? sub->err_msg : "not a valid entry");
}

/*
 * fw.rule.apply: one change set.  The schema bounded the lists and checked
 * every entry on its own (each of "rules" a fw_rule, each of "delete" a
 * rule id, each of "policies" a segment name and a default); what is left
 * is what needs the state: names that exist, ids unique and present.
 */
static int fw_rule_apply(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_fw_rule_apply *a = call->args;
	size_t n_add = json_array_size(a->rules), n_del = json_array_size(a->delete), i;
	struct dse_fw_rule *add = NULL;
	uint32_t *del = NULL;
	uint8_t pol[DSE_MAX_SEGMENTS];
	struct fw_change_stats st;
	int r = -EINVAL;
	json_t *v;

	if (a->replace && a->has_delete)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "'delete' goes with changes, not with 'replace': true (which "
				     "removes every rule not in 'rules')");
	memcpy(pol, policy, sizeof(pol));
	json_array_foreach(a->policies, i, v) {
		struct dse_rpc_call sub = {.params = v, .ctx = call->ctx, .srv = call->srv,
					   .remote = call->remote};
		const char *seg = json_string_value(json_object_get(v, "segment"));
		json_t *jdef = json_object_get(v, "default");
		int def;
		uint16_t s;

		/* The decoder checked both: a name, and one of the defaults. */
		if (dse_api_enum_parse(&dse_api_t_fw_default, jdef, &def) < 0 ||
		    dse_dpud_find_segment(&sub, seg, &s) < 0)
			return entry_error(call, &sub, "policies", i, 0);
		pol[s] = (uint8_t)def;
	}
	add = malloc(sizeof(*add) * (n_add + 1));
	del = malloc(sizeof(*del) * (n_del + 1));
	if (add == NULL || del == NULL) {
		r = -ENOMEM;
		goto out;
	}
	json_array_foreach(a->rules, i, v) {
		struct dse_rpc_call sub = {.params = v, .ctx = call->ctx, .srv = call->srv,
					   .remote = call->remote};
		struct dse_api_obj_fw_rule ar;
		char where[32];

		snprintf(where, sizeof(where), "rules[%zu]", i);
		/* It was checked with the call: this fails only on a bug. */
		if (dse_api_decode_object(&dse_api_t_fw_rule, v, &ar, where, sub.err_msg,
					  sizeof(sub.err_msg)) < 0) {
			dse_rpc_error(call, DSE_RPC_INVALID_PARAMS, "%s: %s", call->api->name,
				      sub.err_msg);
			goto out;
		}
		if (rule_from_api(&sub, &ar, &add[i]) < 0) {
			entry_error(call, &sub, "rules", i, (uint32_t)ar.id);
			goto out;
		}
	}
	json_array_foreach(a->delete, i, v)
		del[i] = (uint32_t)json_integer_value(v);
	r = fw_change(call, add, (unsigned)n_add, del, (unsigned)n_del, a->replace, pol, &st);
	if (r == 0)
		*ret = json_pack("{s:i, s:i, s:i, s:i, s:f}", "rules", (int)n_rules, "added",
				 (int)st.added, "replaced", (int)st.replaced, "deleted",
				 (int)st.deleted, "compile_ms", st.compile_ns / 1e6);
out:
	free(add);
	free(del);
	return r;
}

static json_t *prefix_json(const struct dse_fw_prefix *p, uint8_t family)
{
	char buf[INET6_ADDRSTRLEN + 8];

	if (p->plen == 0)
		return json_string("any");
	inet_ntop(family == 6 ? AF_INET6 : AF_INET, p->addr, buf, sizeof(buf));
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%u", p->plen);
	return json_string(buf);
}

static json_t *ports_json(const struct dse_fw_ports *p)
{
	char buf[16];

	if (p->lo == 0 && p->hi == 65535)
		return json_null();
	if (p->lo == p->hi)
		return json_integer(p->lo);
	snprintf(buf, sizeof(buf), "%u-%u", p->lo, p->hi);
	return json_string(buf);
}

/* The params that re-create rule 'r' (also the rule's description in fw.rule.list). */
static json_t *rule_params(const struct dse_fw_rule *r)
{
	json_t *o = json_pack("{s:I, s:i, s:i, s:o, s:o, s:o, s:s, s:s}", "id", (json_int_t)r->id,
			      "priority", r->priority, "family", r->family, "src",
			      prefix_json(&r->src, r->family), "dst",
			      prefix_json(&r->dst, r->family), "proto", proto_json(r->proto),
			      "action", dse_fw_action_name(r->action), "direction",
			      dse_fw_dir_name(r->direction));

	if (r->proto == 6 || r->proto == 17) {
		json_object_set_new(o, "sport", ports_json(&r->sport));
		json_object_set_new(o, "dport", ports_json(&r->dport));
	}
	if (r->icmp_type >= 0)
		json_object_set_new(o, "icmp_type", json_integer(r->icmp_type));
	if (r->segment != DSE_FW_ANY)
		json_object_set_new(o, "segment", json_string(dp.segments[r->segment].name));
	if (r->port != DSE_FW_ANY)
		json_object_set_new(o, "port", json_string(dp.ports[r->port].name));
	return o;
}

static int cmp_eval_order(const void *a, const void *b)
{
	const struct dse_fw_rule *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int fw_rule_list(struct dse_rpc_call *call, json_t **ret)
{
	struct dse_fw_rule *sorted;
	json_t *a;

	RTE_SET_USED(call);
	sorted = malloc(sizeof(*sorted) * (n_rules + 1));
	if (sorted == NULL)
		return -ENOMEM;
	memcpy(sorted, rules, sizeof(*sorted) * n_rules);
	qsort(sorted, n_rules, sizeof(*sorted), cmp_eval_order);
	a = json_array();
	for (unsigned i = 0; i < n_rules; i++) {
		json_t *o = rule_params(&sorted[i]);
		struct dse_fw_ruleset *rs = fw_current();
		int idx = rs ? dse_fw_find(rs, sorted[i].id) : -1;

		json_object_set_new(o, "hits",
				    json_integer(idx >= 0 ? (json_int_t)dse_fw_hits(rs, (uint32_t)idx)
							  : 0));
		json_array_append_new(a, o);
	}
	free(sorted);
	*ret = a;
	return 0;
}

/* ---- connections ---- */

/*
 * The schema lists the states of fw.conn.list and fw.conn.flush in the
 * order of DSE_CT_STATES (test_conntrack.c checks it), so a decoded state
 * is its enum dse_ct_state.
 */
_Static_assert(DSE_CT_S__MAX == 11, "api/dpud/fw.json lists the connection states");

/*
 * Reads the connection filters of fw.conn.flush, which fw.conn.list shares
 * (fw_conn_list() copies its own into this struct).
 */
static int conn_filter(struct dse_rpc_call *call, const struct dse_api_dpud_fw_conn_flush *a,
		       struct dse_ct_filter *f)
{
	memset(f, 0, sizeof(*f));
	if (a->has_segment) {
		if (dse_dpud_find_segment(call, a->segment, &f->zone) < 0)
			return -EINVAL;
		f->match |= DSE_CT_MATCH_ZONE;
	}
	/* "any" is every protocol. */
	if (a->has_proto && a->proto != DSE_API_PROTO_ANY) {
		f->proto = (uint8_t)a->proto;
		f->match |= DSE_CT_MATCH_PROTO;
	}
	/* "any" (AF_UNSPEC) is every address. */
	if (a->has_addr && a->addr.family == AF_INET) {
		dse_ct_addr_from_ipv4(f->addr, a->addr.addr);
		f->plen = (uint8_t)(96 + a->addr.len);
		f->match |= DSE_CT_MATCH_ADDR;
	} else if (a->has_addr && a->addr.family == AF_INET6) {
		memcpy(f->addr, a->addr.addr, 16);
		f->plen = a->addr.len;
		f->match |= DSE_CT_MATCH_ADDR;
	}
	if (a->has_port) {
		f->port = (uint16_t)a->port;
		f->match |= DSE_CT_MATCH_PORT;
	}
	if (a->has_state) {
		f->state = (uint8_t)a->state;
		f->match |= DSE_CT_MATCH_STATE;
	}
	return 0;
}

struct conn_list_op {
	struct dse_ct_filter f;
	unsigned limit;
	unsigned n;      /* connections copied */
	unsigned total;  /* connections matching */
	struct dse_ct_conn *conns;
	uint64_t now;
};

static int conn_list_apply(void *arg)
{
	struct conn_list_op *op = arg;
	struct dse_ct *ct;
	uint32_t pos;
	int idx;

	op->now = dse_clock_ns();
	DP_FOREACH_CT(ct) {
		pos = 0;
		while ((idx = dse_ct_next(ct, &pos, &op->f)) >= 0) {
			if (op->n < op->limit &&
			    dse_ct_get(ct, (uint32_t)idx, op->now, &op->conns[op->n]) == 0)
				op->n++;
			op->total++;
		}
	}
	return 0;
}

static json_t *addr_json(const uint8_t a[16], uint8_t family)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(family == 6 ? AF_INET6 : AF_INET, family == 6 ? a : a + 12, buf, sizeof(buf));
	return json_string(buf);
}

static int fw_conn_list(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_fw_conn_list *a = call->args;
	const struct dse_api_dpud_fw_conn_flush filters = {
		.segment = a->segment, .proto = a->proto, .addr = a->addr, .port = a->port,
		.state = a->state, .has_segment = a->has_segment, .has_proto = a->has_proto,
		.has_addr = a->has_addr, .has_port = a->has_port, .has_state = a->has_state};
	struct conn_list_op op = {.limit = (unsigned)a->limit};
	json_t *list;

	if (conn_filter(call, &filters, &op.f) < 0)
		return -EINVAL;
	op.conns = calloc(op.limit, sizeof(*op.conns));
	if (op.conns == NULL)
		return -ENOMEM;
	dp_call(conn_list_apply, &op);
	list = json_array();
	for (unsigned i = 0; i < op.n; i++) {
		const struct dse_ct_conn *c = &op.conns[i];
		const char *seg = dp.segments[c->zone].used ? dp.segments[c->zone].name : "?";

		json_array_append_new(
			list, json_pack("{s:I, s:s, s:o, s:o, s:o, s:i, s:i, s:s, s:f, s:f, s:f, "
					"s:[I,I], s:[I,I], s:I}",
					"id", (json_int_t)c->id, "segment", seg, "proto",
					proto_json(c->proto), "src", addr_json(c->src, c->family),
					"dst", addr_json(c->dst, c->family), "sport", c->sport,
					"dport", c->dport, "state", dse_ct_state_name(c->state),
					"age", c->age_ns / 1e9, "idle", c->idle_ns / 1e9, "timeout",
					c->expires_ns / 1e9, "packets", (json_int_t)c->packets[0],
					(json_int_t)c->packets[1], "bytes", (json_int_t)c->bytes[0],
					(json_int_t)c->bytes[1], "rule", (json_int_t)c->mark));
	}
	free(op.conns);
	*ret = json_pack("{s:o, s:i}", "conns", list, "total", (int)op.total);
	return 0;
}

struct conn_flush_op {
	struct dse_ct_filter f;
	unsigned removed;
};

static int conn_flush_apply(void *arg)
{
	struct conn_flush_op *op = arg;
	struct dse_ct *ct;

	DP_FOREACH_CT(ct) {
		op->removed += dse_ct_flush(ct, &op->f);
	}
	return 0;
}

static int fw_conn_flush(struct dse_rpc_call *call, json_t **ret)
{
	struct conn_flush_op op;

	if (conn_filter(call, call->args, &op.f) < 0)
		return -EINVAL;
	op.removed = 0;
	dp_call(conn_flush_apply, &op);
	*ret = json_pack("{s:i}", "removed", (int)op.removed);
	return 0;
}

/* ---- configuration and statistics ---- */

/* fw.config.set's timeouts: their names, the fields they set and where the schema puts them. */
#define TIMEOUT_PARAM(name, field)                                                                 \
	{                                                                                          \
		#name, offsetof(struct dse_ct_timeouts, field),                                    \
		    offsetof(struct dse_api_dpud_fw_config_set, name),                             \
		    offsetof(struct dse_api_dpud_fw_config_set, has_##name)                        \
	}
static const struct {
	const char *name;
	size_t off;	 /* in struct dse_ct_timeouts */
	size_t arg;	 /* of its long long in struct dse_api_dpud_fw_config_set */
	size_t has_arg;	 /* of its bool has_<name> there */
} timeout_params[] = {
	TIMEOUT_PARAM(tcp_syn, tcp_syn_sent),
	TIMEOUT_PARAM(tcp_syn_recv, tcp_syn_recv),
	TIMEOUT_PARAM(tcp_established, tcp_established),
	TIMEOUT_PARAM(tcp_close, tcp_close),
	TIMEOUT_PARAM(tcp_time_wait, tcp_time_wait),
	TIMEOUT_PARAM(udp, udp_unreplied),
	TIMEOUT_PARAM(udp_replied, udp_replied),
	TIMEOUT_PARAM(icmp, icmp),
	TIMEOUT_PARAM(other, other_unreplied),
};
#undef TIMEOUT_PARAM

#define TIMEOUT(t, i) (*(uint32_t *)((char *)(t) + timeout_params[i].off))

struct fw_config_op {
	long long max_conns;
	long long per_src; /* half-open connections per source; -1: unchanged */
	long long per_seg; /* ... per segment (0: half the table); -1: unchanged */
	struct dse_ct_timeouts t;
	int r;
};

/*
 * Every worker's connection table has the same timeouts and half-open
 * limits (the limits count per table: docs/datapath.md, "Workers"); worker
 * 0's stand for all.
 */
#define CT0 (dp.workers[0].ct)

/* Connections allowed, and the tables' room, over the workers. */
static uint32_t ct_max_total(void)
{
	return CT0->budget ? CT0->budget->max : CT0->max_entries;
}

static uint32_t ct_capacity_total(void)
{
	struct dse_ct *ct;
	uint32_t n = 0;

	DP_FOREACH_CT(ct) {
		n += ct->capacity;
	}
	return n;
}

static int fw_config_apply(void *arg)
{
	struct fw_config_op *op = arg;
	struct dse_ct *ct;
	uint32_t src_max = CT0->src_embryonic_max, zone_max = CT0->zone_embryonic_max;

	/* Several workers share one budget; each table alone is bounded by its room. */
	if (op->max_conns > 0 && CT0->budget)
		CT0->budget->max = (uint32_t)op->max_conns;
	else if (op->max_conns > 0)
		CT0->max_entries = (uint32_t)op->max_conns;
	DP_FOREACH_CT(ct) {
		dse_ct_set_embryonic_limits(ct, op->per_src >= 0 ? (uint32_t)op->per_src : src_max,
					    op->per_seg >= 0 ? (uint32_t)op->per_seg : zone_max);
		op->r = dse_ct_set_timeouts(ct, &op->t);
	}
	return 0;
}

static json_t *fw_config_json(void)
{
	json_t *o = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "max_conns",
			      (int)ct_max_total(), "capacity", (int)ct_capacity_total(),
			      "max_half_open_per_source", (int)CT0->src_embryonic_max,
			      "max_half_open_per_segment", (int)CT0->zone_embryonic_max,
			      "frag_table", (int)dp.frag_max, "frag_timeout",
			      (int)dp.frag_timeout_s);

	for (unsigned i = 0; i < RTE_DIM(timeout_params); i++)
		json_object_set_new(o, timeout_params[i].name,
				    json_integer(TIMEOUT(&CT0->timeouts, i)));
	return o;
}

static int fw_config_show(struct dse_rpc_call *call, json_t **ret)
{
	RTE_SET_USED(call);
	*ret = fw_config_json();
	return 0;
}

/* Sets what is given (the schema checked each value's range); without anything, shows. */
static int fw_config_set(struct dse_rpc_call *call, json_t **ret)
{
	const struct dse_api_dpud_fw_config_set *a = call->args;
	struct fw_config_op op = {
		.max_conns = a->has_max_conns ? a->max_conns : -1,
		.per_src = a->has_max_half_open_per_source ? a->max_half_open_per_source : -1,
		.per_seg = a->has_max_half_open_per_segment ? a->max_half_open_per_segment : -1,
		.t = CT0->timeouts};
	uint32_t cap = ct_capacity_total();
	bool changed = op.max_conns > 0 || op.per_src >= 0 || op.per_seg >= 0;

	/* The capacity is known only at run time (--conn-table, the workers). */
	if (op.max_conns > (long long)cap)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "parameter 'max_conns' must be at most the capacity, %u "
				     "(--conn-table)",
				     cap);
	for (unsigned i = 0; i < RTE_DIM(timeout_params); i++) {
		const char *args = (const char *)a;
		long long s = *(const long long *)(args + timeout_params[i].arg);

		if (!*(const bool *)(args + timeout_params[i].has_arg))
			continue;
		TIMEOUT(&op.t, i) = (uint32_t)s;
		/* One value covers both states of the pseudo-connections. */
		if (timeout_params[i].off == offsetof(struct dse_ct_timeouts, other_unreplied))
			op.t.other_replied = (uint32_t)s;
		changed = true;
	}
	if (changed) {
		dp_call(fw_config_apply, &op);
		if (op.r < 0)
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "the connection tracker refused these timeouts");
		dse_dpud_config_changed();
	}
	*ret = fw_config_json();
	return 0;
}

/* ICMP error counters by kind, as an object. */
static json_t *fw_kinds_json(const uint64_t *by_kind)
{
	json_t *o = json_object();

	for (unsigned k = 0; k < DSE_CT_REL__MAX; k++)
		json_object_set_new(o, dse_ct_rel_name(k), json_integer((json_int_t)by_kind[k]));
	return o;
}

static int half_open_count(void *arg)
{
	uint64_t *n = arg;
	struct dse_ct *ct;

	*n = 0;
	DP_FOREACH_CT(ct) {
		for (unsigned z = 0; z < DSE_CT_ZONES; z++)
			*n += ct->zone_embryonic[z];
	}
	return 0;
}

/* Half-open connections in the table now (counted on the worker). */
static uint64_t fw_half_open(void)
{
	uint64_t n;

	dp_call(half_open_count, &n);
	return n;
}

static json_t *fw_frag_json(void)
{
	uint64_t reassembled = 0, fragmented = 0;

	for (unsigned i = 0; i < dp.n_workers; i++) {
		const struct dse_frag *f = dp.workers[i].frag;

		reassembled += f->reassembled;
		fragmented += f->fragmented;
	}
	return json_pack("{s:I, s:I}", "reassembled", (json_int_t)reassembled, "fragmented",
			 (json_int_t)fragmented);
}

/* The connection tables' counters, summed over the workers (all fields are uint64_t). */
static void ct_stats_sum(struct dse_ct_stats *sum, uint32_t *n_entries)
{
	const unsigned n = sizeof(*sum) / sizeof(uint64_t);
	uint64_t *to = (uint64_t *)sum;
	struct dse_ct *ct;

	RTE_BUILD_BUG_ON(sizeof(*sum) % sizeof(uint64_t) != 0);
	memset(sum, 0, sizeof(*sum));
	*n_entries = 0;
	DP_FOREACH_CT(ct) {
		const uint64_t *from = (const uint64_t *)&ct->stats;

		for (unsigned i = 0; i < n; i++)
			to[i] += from[i];
		*n_entries += ct->n_entries;
	}
}

static int fw_stats_show(struct dse_rpc_call *call, json_t **ret)
{
	struct dse_ct_stats sum, *st = &sum;
	json_t *reasons = json_object();
	uint32_t n_conns;

	RTE_SET_USED(call);
	ct_stats_sum(&sum, &n_conns);
	for (unsigned i = 0; i < DSE_CT_INV__MAX; i++)
		json_object_set_new(reasons, dse_ct_invalid_name(i),
				    json_integer((json_int_t)st->invalid_reason[i]));
	*ret = json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:i}", "conns",
			 (int)n_conns, "max_conns", (int)ct_max_total(), "created",
			 (json_int_t)st->created, "expired", (json_int_t)st->expired, "removed",
			 (json_int_t)st->removed, "invalid", (json_int_t)st->invalid, "full",
			 (json_int_t)st->full, "reopened", (json_int_t)st->reopened,
			 "invalid_reasons", reasons, "memory_bytes", (json_int_t)dp.ct_mem_bytes,
			 "denials_logged", (json_int_t)dp.denylog.logged, "rules", (int)n_rules);
	json_object_update_new(
	    *ret, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:I, s:o}", "replaced",
			    (json_int_t)st->replaced, "evicted", (json_int_t)st->evicted,
			    "half_open_refused_source", (json_int_t)st->src_limit,
			    "half_open_refused_segment", (json_int_t)st->zone_limit,
			    "rst_challenged", (json_int_t)st->rst_challenged, "syn_on_open",
			    (json_int_t)st->syn_on_open, "half_open", (json_int_t)fw_half_open(),
			    "related", fw_kinds_json(st->related), "unrelated",
			    fw_kinds_json(st->unrelated), "related_bad_seq",
			    (json_int_t)st->related_bad_seq, "fragments", fw_frag_json()));
	return 0;
}

/* ---- config.save ---- */

/* Appends the calls that re-create the firewall configuration to 'calls'. */
static int fw_config_save(json_t *calls)
{
	struct dse_ct_timeouts def;
	json_t *p = NULL;

	dse_ct_timeouts_default(&def);
	for (unsigned i = 0; i < RTE_DIM(timeout_params); i++) {
		if (TIMEOUT(&CT0->timeouts, i) == TIMEOUT(&def, i))
			continue;
		if (p == NULL)
			p = json_object();
		json_object_set_new(p, timeout_params[i].name,
				    json_integer(TIMEOUT(&CT0->timeouts, i)));
	}
	if (ct_max_total() != ct_capacity_total()) {
		if (p == NULL)
			p = json_object();
		json_object_set_new(p, "max_conns", json_integer(ct_max_total()));
	}
	if (CT0->src_embryonic_max != DSE_CT_SRC_EMBRYONIC_DEFAULT) {
		if (p == NULL)
			p = json_object();
		json_object_set_new(p, "max_half_open_per_source",
				    json_integer(CT0->src_embryonic_max));
	}
	if (CT0->zone_embryonic_max != 0) {
		if (p == NULL)
			p = json_object();
		json_object_set_new(p, "max_half_open_per_segment",
				    json_integer(CT0->zone_embryonic_max));
	}
	if (p)
		json_array_append_new(calls, dse_dpud_call_json("fw.config.set", p));
	for (int s = 0; s < DSE_MAX_SEGMENTS; s++)
		if (dp.segments[s].used && policy[s] != POLICY_OFF)
			json_array_append_new(
				calls, dse_dpud_call_json("fw.policy.set",
							  json_pack("{s:s, s:s}", "segment",
								    dp.segments[s].name, "default",
								    policy_name(policy[s]))));
	/* The rules in one change set, so a replay compiles them once. */
	if (n_rules > 0) {
		json_t *list = json_array();

		for (unsigned i = 0; i < n_rules; i++)
			json_array_append_new(list, rule_params(&rules[i]));
		json_array_append_new(calls, dse_dpud_call_json("fw.rule.apply",
								json_pack("{s:b, s:o}", "replace",
									  1, "rules", list)));
	}
	return 0;
}

/* The methods of api/dpud/fw.json, by their names there (the old ones are its aliases). */
const struct dse_rpc_method dse_fw_methods[] = {
	{"fw.policy.set", fw_policy_set},
	{"fw.policy.list", fw_policy_list},
	{"fw.rule.add", fw_rule_add},
	{"fw.rule.del", fw_rule_del},
	{"fw.rule.apply", fw_rule_apply},
	{"fw.rule.list", fw_rule_list},
	{"fw.conn.list", fw_conn_list},
	{"fw.conn.flush", fw_conn_flush},
	{"fw.config.show", fw_config_show},
	{"fw.config.set", fw_config_set},
	{"fw.stats.show", fw_stats_show},
	{NULL, NULL},
};

/* ---- the fw module ---- */

/* Reject replies not sent for want of an mbuf, over the workers. */
static uint64_t reject_lost(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < dp.n_workers; i++)
		n += dp.workers[i].reject_no_mbuf;
	return n;
}

static const struct dse_drop_reason fw_drops[] = {
	{"fw_deny", "denied by a firewall rule or the segment's default policy"},
	{"fw_reject", "rejected by a firewall rule (a TCP RST or ICMP unreachable was sent)"},
	{"fw_reject_no_mbuf", "no packet buffer for the TCP RST or ICMP unreachable of a reject",
	 reject_lost},
	{"ct_invalid", "does not fit the state of its connection"},
	{"ct_full", "connection table full"},
	{"ct_limit", "its source or segment has as many half-open connections as allowed"},
	{"cksum_ip4", "IPv4 header checksum wrong (firewalled segment)"},
	{"cksum_tcp", "TCP checksum wrong (firewalled segment)"},
	{"cksum_udp", "UDP checksum wrong, or zero over IPv6 (firewalled segment)"},
	{"cksum_icmp", "ICMP or ICMPv6 checksum wrong (firewalled segment)"},
	{"frag_bad", "fragment not a multiple of 8 bytes, or reaching past 64 KiB"},
	{"frag_ext", "IPv6 fragment header behind other extension headers (not reassembled)"},
	{"frag_invalid", "fragment overlaps or repeats another (RFC 5722, RFC 1858), more than 8 "
			 "fragments, or the reassembly table is full"},
	{"frag_timeout", "fragment of a datagram not completed in time (orphan or incomplete)"},
	{NULL, NULL},
};

static struct dse_module fw_module = {
	.name = "fw",
	.order = 40,
	.init = dse_fw_events_init,
	.methods = dse_fw_methods,
	.drops = fw_drops,
	.config_save = fw_config_save,
	.segment_in_use = fw_segment_in_use,
	.port_in_use = fw_port_in_use,
};
DSE_MODULE_REGISTER(fw_module)
