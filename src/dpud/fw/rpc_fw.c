/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON-RPC methods of the firewall and connection tracking (docs/api.md).
 *
 * The control thread keeps the rules as given and the policy of each
 * segment.  Every change compiles a complete new rule set here, off the
 * packet path, and swaps it in with one dp_call(): the worker judges every
 * packet by either the old or the new set, never by a mix, and forwarding
 * never pauses for the compilation.  Connections judged by an older set are
 * judged again on their next packet (node_fw.c).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <rte_malloc.h>

#include "clock.h"
#include "dp.h"
#include "fw_events.h"
#include "rpc.h"
#include "module.h"
#include "rpc_fw.h"

/* Policy of a segment: its firewall off, or on with a default. */
enum { POLICY_OFF = 0, POLICY_ALLOW, POLICY_DENY };

static struct dse_fw_rule *rules; /* as the operator gave them, in order of addition */
static unsigned n_rules;
static uint8_t policy[DSE_MAX_SEGMENTS];

static const char *const policy_names[] = {"off", "allow", "deny"};

/* ---- publishing a rule set ---- */

struct fw_swap {
	struct dse_fw_ruleset *rs;
	struct dse_fw_ruleset *old;
};

static int fw_swap_apply(void *arg)
{
	struct fw_swap *sw = arg;

	dse_fw_counters_carry(sw->rs, dp.fw);
	sw->old = dp.fw;
	dp.fw = sw->rs;
	dp.fw_gen++;
	for (int s = 0; s < DSE_MAX_SEGMENTS; s++)
		dp.segments[s].fw = dp.segments[s].used && policy[s] != POLICY_OFF;
	/* Recomputes which ports carry firewalled segments and drops cached decisions. */
	dp_segments_rebuild();
	return 0;
}

/* Compiles the rules and policies and puts them in force.  Returns 0 or -EINVAL (error set). */
static int fw_publish(struct dse_rpc_call *call)
{
	struct fw_swap sw = {0};
	char err[DSE_FW_ERR_LEN];

	sw.rs = dse_fw_compile(rules, n_rules, err, sizeof(err));
	if (sw.rs == NULL)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "%s", err);
	for (int s = 0; s < DSE_MAX_SEGMENTS; s++)
		if (policy[s] == POLICY_DENY)
			dse_fw_default_set(sw.rs, (uint16_t)s, DSE_FW_DROP);
	dp_call(fw_swap_apply, &sw);
	dse_fw_ruleset_free(sw.old);
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
		snprintf(why, len, "its firewall policy is %s (fw.policy default off first)",
			 policy_names[policy[seg]]);
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

/* ---- decoding ---- */

/* Parses "ADDR[/PLEN]" into 'p'; returns the family (4 or 6) or 0. */
static int parse_prefix(const char *s, struct dse_fw_prefix *p)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	int family, max;
	char *end;
	long plen;

	if (n == 0 || n >= sizeof(addr))
		return 0;
	memcpy(addr, s, n);
	addr[n] = '\0';
	memset(p->addr, 0, sizeof(p->addr));
	if (inet_pton(AF_INET, addr, p->addr) == 1)
		family = 4, max = 32;
	else if (inet_pton(AF_INET6, addr, p->addr) == 1)
		family = 6, max = 128;
	else
		return 0;
	plen = max;
	if (slash) {
		errno = 0;
		plen = strtol(slash + 1, &end, 10);
		if (errno || *end || end == slash + 1 || plen < 0 || plen > max)
			return 0;
	}
	p->plen = (uint8_t)plen;
	return family;
}

static int param_prefix(struct dse_rpc_call *call, const char *key, struct dse_fw_prefix *p,
			int *family)
{
	const char *s;
	int r = dse_rpc_param_str(call, key, false, &s), f;

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (strcasecmp(s, "any") == 0)
		return 0;
	f = parse_prefix(s, p);
	if (f == 0)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "'%s' is \"%s\": give an address or a prefix such as "
				     "198.18.0.0/15 or 2001:db8::/32",
				     key, s);
	if (*family != 0 && *family != f)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "'src' and 'dst' must be of one address family");
	*family = f;
	return 0;
}

static int param_ports(struct dse_rpc_call *call, const char *key, struct dse_fw_ports *p)
{
	json_t *v = json_object_get(call->params, key);
	long lo, hi;
	char *end;

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		lo = hi = (long)json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);

		errno = 0;
		lo = strtol(s, &end, 10);
		hi = lo;
		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		if (errno || *end || end == s)
			lo = -1;
	} else {
		lo = -1, hi = -1;
	}
	if (lo < 0 || hi > 65535 || lo > hi)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "'%s' must be a port (80) or a range (\"1000-2000\") within "
				     "0..65535",
				     key);
	p->lo = (uint16_t)lo;
	p->hi = (uint16_t)hi;
	return 0;
}

static int parse_proto(const char *s)
{
	static const struct {
		const char *name;
		int proto;
	} names[] = {{"any", 0}, {"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}};
	char *end;
	long v;

	for (unsigned i = 0; i < RTE_DIM(names); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].proto;
	v = strtol(s, &end, 10);
	return (*end || end == s || v < 0 || v > 255) ? -1 : (int)v;
}

static int param_proto(struct dse_rpc_call *call, const char *key, uint8_t *ret)
{
	json_t *v = json_object_get(call->params, key);
	int p = -1;

	if (v == NULL || json_is_null(v))
		return -ENOENT;
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 255)
		p = (int)json_integer_value(v);
	else if (json_is_string(v))
		p = parse_proto(json_string_value(v));
	if (p < 0)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "'%s' must be any, tcp, udp, icmp, icmpv6 or a protocol "
				     "number 0..255",
				     key);
	*ret = (uint8_t)p;
	return 0;
}

static const char *proto_name(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case 0:
		return "any";
	case 1:
		return "icmp";
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 58:
		return "icmpv6";
	default:
		snprintf(buf, len, "%u", p);
		return buf;
	}
}

/* ---- fw.policy ---- */

static int fw_policy(struct dse_rpc_call *call, json_t **ret)
{
	const char *def, *name;
	uint16_t seg;
	uint8_t old;
	int p = -1;

	if (dse_rpc_params_only(call, "segment", "default", NULL) < 0 ||
	    dse_rpc_param_str(call, "segment", true, &name) < 0 ||
	    dse_rpc_param_str(call, "default", true, &def) < 0)
		return -EINVAL;
	seg = dp_segment_find(name);
	if (seg == DSE_NO_SEGMENT)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "no segment '%s' (segment.list shows them)", name);
	for (int i = 0; i < (int)RTE_DIM(policy_names); i++)
		if (strcmp(def, policy_names[i]) == 0)
			p = i;
	if (p < 0)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "'default' must be allow, deny or off");
	old = policy[seg];
	policy[seg] = (uint8_t)p;
	if (fw_publish(call) < 0) {
		policy[seg] = old;
		return -EINVAL;
	}
	*ret = NULL;
	return 0;
}

/* ---- rules ---- */

static int rule_by_id(uint32_t id)
{
	for (unsigned i = 0; i < n_rules; i++)
		if (rules[i].id == id)
			return (int)i;
	return -1;
}

static int fw_rule_add(struct dse_rpc_call *call, json_t **ret)
{
	struct dse_fw_rule r;
	long long id, prio = 0, fam = -1, icmp = -1;
	const char *s;
	char err[DSE_FW_ERR_LEN];
	int family = 0, a;
	struct dse_fw_rule *grown;

	dse_fw_rule_init(&r);
	if (dse_rpc_params_only(call, "id", "priority", "family", "src", "dst", "proto", "sport",
				"dport", "icmp_type", "action", "direction", "segment", "port",
				NULL) < 0 ||
	    dse_rpc_param_int(call, "id", true, 1, INT32_MAX, &id) < 0 ||
	    dse_rpc_param_int(call, "priority", false, INT32_MIN, INT32_MAX, &prio) == -EINVAL ||
	    dse_rpc_param_int(call, "family", false, 0, 6, &fam) == -EINVAL ||
	    dse_rpc_param_int(call, "icmp_type", false, 0, 255, &icmp) == -EINVAL ||
	    param_prefix(call, "src", &r.src, &family) < 0 ||
	    param_prefix(call, "dst", &r.dst, &family) < 0 ||
	    param_proto(call, "proto", &r.proto) == -EINVAL ||
	    param_ports(call, "sport", &r.sport) < 0 || param_ports(call, "dport", &r.dport) < 0 ||
	    dse_rpc_param_str(call, "action", true, &s) < 0)
		return -EINVAL;
	a = dse_fw_action_parse(s);
	if (a < 0)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
				     "'action' must be allow, drop or reject");
	r.action = (uint8_t)a;
	if (dse_rpc_param_str(call, "direction", false, &s) == 0) {
		a = dse_fw_dir_parse(s);
		if (a < 0)
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "'direction' must be in, out or any");
		r.direction = (uint8_t)a;
	}
	if (dse_rpc_param_str(call, "segment", false, &s) == 0) {
		r.segment = dp_segment_find(s);
		if (r.segment == DSE_NO_SEGMENT)
			return dse_rpc_error(call, DSE_RPC_APP_ERROR,
					     "no segment '%s' (segment.list shows them)", s);
	}
	if (dse_rpc_param_str(call, "port", false, &s) == 0) {
		r.port = dp_port_find(s);
		if (r.port == DSE_NO_PORT)
			return dse_rpc_error(call, DSE_RPC_APP_ERROR,
					     "no port '%s' (port.list shows them)", s);
	}
	r.id = (uint32_t)id;
	r.priority = (int32_t)prio;
	if (icmp >= 0)
		r.icmp_type = (int16_t)icmp;
	/* The family: as given, else that of the prefixes or the ICMP flavour, else both. */
	if (fam >= 0)
		r.family = (uint8_t)fam;
	else if (family)
		r.family = (uint8_t)family;
	else if (r.proto == 1)
		r.family = 4;
	else if (r.proto == 58)
		r.family = 6;
	else
		r.family = 0;
	if (dse_fw_rule_validate(&r, err, sizeof(err)) < 0)
		return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS, "%s", err);
	if (rule_by_id(r.id) >= 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "rule %u exists: fw.rule.del it first to replace it", r.id);
	if (n_rules >= DSE_FW_MAX_RULES)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR, "too many rules (at most %u)",
				     DSE_FW_MAX_RULES);
	grown = realloc(rules, sizeof(*rules) * (n_rules + 1));
	if (grown == NULL)
		return -ENOMEM;
	rules = grown;
	rules[n_rules++] = r;
	if (fw_publish(call) < 0) {
		n_rules--;
		return -EINVAL;
	}
	*ret = json_pack("{s:I}", "id", (json_int_t)r.id);
	return 0;
}

static int fw_rule_del(struct dse_rpc_call *call, json_t **ret)
{
	struct dse_fw_rule saved;
	long long id;
	int i;

	if (dse_rpc_params_only(call, "id", NULL) < 0 ||
	    dse_rpc_param_int(call, "id", true, 1, INT32_MAX, &id) < 0)
		return -EINVAL;
	i = rule_by_id((uint32_t)id);
	if (i < 0)
		return dse_rpc_error(call, DSE_RPC_APP_ERROR,
				     "no rule %lld (fw.rule.list shows them)", id);
	saved = rules[i];
	memmove(&rules[i], &rules[i + 1], sizeof(*rules) * (n_rules - (unsigned)i - 1));
	n_rules--;
	if (fw_publish(call) < 0) {
		memmove(&rules[i + 1], &rules[i], sizeof(*rules) * (n_rules - (unsigned)i));
		rules[i] = saved;
		n_rules++;
		return -EINVAL;
	}
	*ret = NULL;
	return 0;
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

/* The call that re-creates rule 'r' (also the rule's description in fw.rule.list). */
static json_t *rule_params(const struct dse_fw_rule *r)
{
	char pbuf[8];
	json_t *o = json_pack("{s:I, s:i, s:i, s:o, s:o, s:s, s:s, s:s}", "id", (json_int_t)r->id,
			      "priority", r->priority, "family", r->family, "src",
			      prefix_json(&r->src, r->family), "dst",
			      prefix_json(&r->dst, r->family), "proto",
			      proto_name(r->proto, pbuf, sizeof(pbuf)), "action",
			      dse_fw_action_name(r->action), "direction",
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

	if (dse_rpc_params_only(call, NULL) < 0)
		return -EINVAL;
	sorted = malloc(sizeof(*sorted) * (n_rules + 1));
	if (sorted == NULL)
		return -ENOMEM;
	memcpy(sorted, rules, sizeof(*sorted) * n_rules);
	qsort(sorted, n_rules, sizeof(*sorted), cmp_eval_order);
	a = json_array();
	for (unsigned i = 0; i < n_rules; i++) {
		json_t *o = rule_params(&sorted[i]);
		int idx = dp.fw ? dse_fw_find(dp.fw, sorted[i].id) : -1;

		json_object_set_new(o, "hits",
				    json_integer(idx >= 0 ? (json_int_t)dse_fw_hits(dp.fw, (uint32_t)idx)
							  : 0));
		json_array_append_new(a, o);
	}
	free(sorted);
	*ret = a;
	return 0;
}

/* ---- connections ---- */

/* Reads the connection filters of fw.conn.list and fw.conn.flush. */
static int conn_filter(struct dse_rpc_call *call, struct dse_ct_filter *f)
{
	const char *s;
	long long port;
	uint8_t proto;
	int r;

	memset(f, 0, sizeof(*f));
	if (dse_rpc_param_str(call, "segment", false, &s) == 0) {
		f->zone = dp_segment_find(s);
		if (f->zone == DSE_NO_SEGMENT)
			return dse_rpc_error(call, DSE_RPC_APP_ERROR,
					     "no segment '%s' (segment.list shows them)", s);
		f->match |= DSE_CT_MATCH_ZONE;
	} else if (json_object_get(call->params, "segment")) {
		return -EINVAL;
	}
	r = param_proto(call, "proto", &proto);
	if (r == -EINVAL)
		return r;
	if (r == 0 && proto != 0) {
		f->proto = proto;
		f->match |= DSE_CT_MATCH_PROTO;
	}
	if (dse_rpc_param_str(call, "addr", false, &s) == 0) {
		struct dse_fw_prefix p;
		int fam = parse_prefix(s, &p);

		if (fam == 0)
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "'addr' must be an address or a prefix, not \"%s\"",
					     s);
		if (fam == 4) {
			dse_ct_addr_from_ipv4(f->addr, p.addr);
			f->plen = (uint8_t)(96 + p.plen);
		} else {
			memcpy(f->addr, p.addr, 16);
			f->plen = p.plen;
		}
		f->match |= DSE_CT_MATCH_ADDR;
	} else if (json_object_get(call->params, "addr")) {
		return -EINVAL;
	}
	r = dse_rpc_param_int(call, "port", false, 0, 65535, &port);
	if (r == -EINVAL)
		return r;
	if (r == 0) {
		f->port = (uint16_t)port;
		f->match |= DSE_CT_MATCH_PORT;
	}
	if (dse_rpc_param_str(call, "state", false, &s) == 0) {
		int st = -1;

		for (unsigned i = 0; i < DSE_CT_S__MAX; i++)
			if (strcasecmp(s, dse_ct_state_name(i)) == 0)
				st = (int)i;
		if (st < 0)
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "unknown connection state '%s' (for example "
					     "ESTABLISHED, SYN_SENT, TIME_WAIT, UNREPLIED)",
					     s);
		f->state = (uint8_t)st;
		f->match |= DSE_CT_MATCH_STATE;
	} else if (json_object_get(call->params, "state")) {
		return -EINVAL;
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
	struct conn_list_op op = {.limit = 1000};
	long long limit;
	json_t *a;
	char pbuf[8];

	if (dse_rpc_params_only(call, "segment", "proto", "addr", "port", "state", "limit",
				NULL) < 0 ||
	    conn_filter(call, &op.f) < 0 ||
	    dse_rpc_param_int(call, "limit", false, 1, 1000000, &limit) == -EINVAL)
		return -EINVAL;
	if (json_object_get(call->params, "limit"))
		op.limit = (unsigned)limit;
	op.conns = calloc(op.limit, sizeof(*op.conns));
	if (op.conns == NULL)
		return -ENOMEM;
	dp_call(conn_list_apply, &op);
	a = json_array();
	for (unsigned i = 0; i < op.n; i++) {
		const struct dse_ct_conn *c = &op.conns[i];

		json_array_append_new(
			a, json_pack("{s:I, s:s, s:s, s:o, s:o, s:i, s:i, s:s, s:f, s:f, s:f, s:[I,I], "
				     "s:[I,I], s:I}",
				     "id", (json_int_t)c->id, "segment", dp.segments[c->zone].used ? dp.segments[c->zone].name : "?",
				     "proto", proto_name(c->proto, pbuf, sizeof(pbuf)), "src",
				     addr_json(c->src, c->family), "dst", addr_json(c->dst, c->family),
				     "sport", c->sport, "dport", c->dport, "state",
				     dse_ct_state_name(c->state), "age", c->age_ns / 1e9, "idle",
				     c->idle_ns / 1e9, "timeout", c->expires_ns / 1e9, "packets",
				     (json_int_t)c->packets[0], (json_int_t)c->packets[1], "bytes",
				     (json_int_t)c->bytes[0], (json_int_t)c->bytes[1], "rule",
				     (json_int_t)c->mark));
	}
	free(op.conns);
	*ret = json_pack("{s:o, s:i}", "conns", a, "total", (int)op.total);
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

	if (dse_rpc_params_only(call, "segment", "proto", "addr", "port", "state", NULL) < 0 ||
	    conn_filter(call, &op.f) < 0)
		return -EINVAL;
	op.removed = 0;
	dp_call(conn_flush_apply, &op);
	*ret = json_pack("{s:i}", "removed", (int)op.removed);
	return 0;
}

/* ---- configuration and statistics ---- */

/* fw.config's timeout names and the fields they set. */
static const struct {
	const char *name;
	size_t off;
} timeout_params[] = {
	{"tcp_syn", offsetof(struct dse_ct_timeouts, tcp_syn_sent)},
	{"tcp_syn_recv", offsetof(struct dse_ct_timeouts, tcp_syn_recv)},
	{"tcp_established", offsetof(struct dse_ct_timeouts, tcp_established)},
	{"tcp_close", offsetof(struct dse_ct_timeouts, tcp_close)},
	{"tcp_time_wait", offsetof(struct dse_ct_timeouts, tcp_time_wait)},
	{"udp", offsetof(struct dse_ct_timeouts, udp_unreplied)},
	{"udp_replied", offsetof(struct dse_ct_timeouts, udp_replied)},
	{"icmp", offsetof(struct dse_ct_timeouts, icmp)},
	{"other", offsetof(struct dse_ct_timeouts, other_unreplied)},
};

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

static int fw_config(struct dse_rpc_call *call, json_t **ret)
{
	struct fw_config_op op = {.max_conns = -1, .per_src = -1, .per_seg = -1,
				  .t = CT0->timeouts};
	const char *key;
	json_t *v;
	bool changed = false;

	json_object_foreach(call->params, key, v) {
		bool known = strcmp(key, "max_conns") == 0 ||
			     strcmp(key, "max_half_open_per_source") == 0 ||
			     strcmp(key, "max_half_open_per_segment") == 0;

		for (unsigned i = 0; i < RTE_DIM(timeout_params); i++)
			known |= strcmp(key, timeout_params[i].name) == 0;
		if (!known)
			return dse_rpc_error(call, DSE_RPC_INVALID_PARAMS,
					     "unknown parameter '%s'", key);
	}
	if (dse_rpc_param_int(call, "max_conns", false, 1, ct_capacity_total(), &op.max_conns) ==
	    -EINVAL)
		return -EINVAL;
	if (dse_rpc_param_int(call, "max_half_open_per_source", false, 1, UINT16_MAX,
			      &op.per_src) == -EINVAL ||
	    dse_rpc_param_int(call, "max_half_open_per_segment", false, 0, DSE_CT_MAX_ENTRIES,
			      &op.per_seg) == -EINVAL)
		return -EINVAL;
	changed = op.max_conns > 0 || op.per_src >= 0 || op.per_seg >= 0;
	for (unsigned i = 0; i < RTE_DIM(timeout_params); i++) {
		long long s;
		int r = dse_rpc_param_int(call, timeout_params[i].name, false, 1, 30 * 86400, &s);

		if (r == -EINVAL)
			return r;
		if (r == 0) {
			TIMEOUT(&op.t, i) = (uint32_t)s;
			/* One value covers both states of the pseudo-connections. */
			if (timeout_params[i].off == offsetof(struct dse_ct_timeouts, other_unreplied))
				op.t.other_replied = (uint32_t)s;
			changed = true;
		}
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

static int fw_stats(struct dse_rpc_call *call, json_t **ret)
{
	struct dse_ct_stats sum, *st = &sum;
	json_t *reasons = json_object();
	uint32_t n_conns;

	if (dse_rpc_params_only(call, NULL) < 0) {
		json_decref(reasons);
		return -EINVAL;
	}
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
		json_array_append_new(calls, json_pack("{s:s, s:o}", "method", "fw.config",
						       "params", p));
	for (int s = 0; s < DSE_MAX_SEGMENTS; s++)
		if (dp.segments[s].used && policy[s] != POLICY_OFF)
			json_array_append_new(
				calls, json_pack("{s:s, s:{s:s, s:s}}", "method", "fw.policy",
						 "params", "segment", dp.segments[s].name,
						 "default", policy_names[policy[s]]));
	for (unsigned i = 0; i < n_rules; i++)
		json_array_append_new(calls, json_pack("{s:s, s:o}", "method", "fw.rule.add",
						       "params", rule_params(&rules[i])));
	return 0;
}

const struct dse_rpc_method dse_fw_methods[] = {
	{"fw.policy", fw_policy, "a segment's firewall: segment, default (allow|deny|off)"},
	{"fw.rule.add", fw_rule_add,
	 "adds a rule: id, priority, src, dst, proto, sport, dport, icmp_type, action, "
	 "direction, segment, port"},
	{"fw.rule.del", fw_rule_del, "removes a rule: id"},
	{"fw.rule.list", fw_rule_list, "the rules in evaluation order with their hits"},
	{"fw.conn.list", fw_conn_list,
	 "tracked connections: [segment], [proto], [addr], [port], [state], [limit]"},
	{"fw.conn.flush", fw_conn_flush, "removes tracked connections: the same filters"},
	{"fw.config", fw_config,
	 "shows or sets max_conns, max_half_open_per_source, max_half_open_per_segment and the "
	 "timeouts (seconds)"},
	{"fw.stats", fw_stats, "connection tracking and firewall counters"},
	{NULL, NULL, NULL},
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
