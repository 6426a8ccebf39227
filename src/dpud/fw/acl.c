/* SPDX-License-Identifier: BSD-3-Clause */
#include "acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <rte_acl.h>
#include <rte_common.h>
#include <rte_errno.h>

/*
 * Fields of the rte_acl rules, in the order of the tries.  The first five and
 * the pad are the same for both families; then come the address words (one
 * per family-4 address, four per family-6 address) and the two ports.
 */
enum {
	FW_F_PROTO = 0,
	FW_F_DIR,
	FW_F_ICMP,
	FW_F_SEGMENT,
	FW_F_PORT,
	FW_F_PAD,
	FW_F_ADDR, /* first address word: src words, then dst words */
};

/* Fields of a family: 1 or 4 words per address. */
#define FW_N_FIELDS(words) (FW_F_ADDR + 2 * (words) + 2)
#define FW_MAX_FIELDS	   FW_N_FIELDS(4)

RTE_ACL_RULE_DEF(fw_acl_rule, FW_MAX_FIELDS);

/* Classification batch on the stack when a burst mixes families. */
#define FW_CHUNK 256

/* rte_acl context names are global in the process: a counter makes them unique. */
static atomic_uint fw_ctx_seq;
/* Generations of the rule sets compiled (struct dse_fw_ruleset gen). */
static atomic_uint fw_gen_seq;

static const char *const fw_action_names[DSE_FW_ACTION__MAX] = {
    [DSE_FW_ALLOW] = "allow",
    [DSE_FW_DROP] = "drop",
    [DSE_FW_REJECT] = "reject",
};

static const char *const fw_dir_names[DSE_FW_DIR__MAX] = {
    [DSE_FW_DIR_ANY] = "any",
    [DSE_FW_DIR_IN] = "in",
    [DSE_FW_DIR_OUT] = "out",
};

const char *dse_fw_action_name(unsigned action)
{
	return action < DSE_FW_ACTION__MAX ? fw_action_names[action] : "?";
}

const char *dse_fw_dir_name(unsigned dir)
{
	return dir < DSE_FW_DIR__MAX ? fw_dir_names[dir] : "?";
}

void dse_fw_rule_init(struct dse_fw_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->sport.hi = 65535;
	r->dport.hi = 65535;
	r->icmp_type = DSE_FW_ICMP_ANY;
	r->segment = DSE_FW_ANY;
	r->port = DSE_FW_ANY;
	r->action = DSE_FW_ALLOW;
	r->direction = DSE_FW_DIR_ANY;
}

/* Writes "rule <id>: <message>" into 'err' and returns -EINVAL. */
static int __attribute__((format(printf, 4, 5)))
fw_bad(char *err, size_t err_len, uint32_t id, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || err_len == 0)
		return -EINVAL;
	n = snprintf(err, err_len, "rule %u: ", id);
	if (n >= 0 && (size_t)n < err_len) {
		va_start(ap, fmt);
		vsnprintf(err + n, err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool fw_ports_any(const struct dse_fw_ports *p)
{
	return p->lo == 0 && p->hi == 65535;
}

static const char *fw_proto_name(uint8_t proto)
{
	switch (proto) {
	case 0:
		return "any";
	case 1:
		return "ICMP";
	case 6:
		return "TCP";
	case 17:
		return "UDP";
	case 58:
		return "ICMPv6";
	default:
		return "?";
	}
}

/* Checks a prefix against the family; 'which' is "source" or "destination". */
static int fw_check_prefix(const struct dse_fw_rule *r, const struct dse_fw_prefix *p,
			   const char *which, char *err, size_t err_len)
{
	if (r->family == 0 && p->plen != 0)
		return fw_bad(err, err_len, r->id,
			      "a rule for both IPv4 and IPv6 (family 0) can not have a %s prefix "
			      "(/%u): set family to 4 or 6",
			      which, p->plen);
	if (r->family == 4 && p->plen > 32)
		return fw_bad(err, err_len, r->id,
			      "%s prefix length /%u is longer than an IPv4 address (32 bits)",
			      which, p->plen);
	if (r->family == 6 && p->plen > 128)
		return fw_bad(err, err_len, r->id,
			      "%s prefix length /%u is longer than an IPv6 address (128 bits)",
			      which, p->plen);
	return 0;
}

/* Checks a port range; 'which' is "source" or "destination". */
static int fw_check_ports(const struct dse_fw_rule *r, const struct dse_fw_ports *p,
			  const char *which, char *err, size_t err_len)
{
	if (p->lo > p->hi)
		return fw_bad(err, err_len, r->id,
			      "%s port range %u-%u is reversed: the low end is above the high end",
			      which, p->lo, p->hi);
	if (!fw_ports_any(p) && r->proto != 6 && r->proto != 17)
		return fw_bad(err, err_len, r->id,
			      "%s ports %u-%u need protocol TCP (6) or UDP (17), not %s (%u)",
			      which, p->lo, p->hi, fw_proto_name(r->proto), r->proto);
	return 0;
}

int dse_fw_rule_validate(const struct dse_fw_rule *r, char *err, size_t err_len)
{
	int rc;

	if (r->id == 0)
		return fw_bad(err, err_len, r->id, "the id must not be 0");
	if (r->family != 0 && r->family != 4 && r->family != 6)
		return fw_bad(err, err_len, r->id,
			      "family must be 4 (IPv4), 6 (IPv6) or 0 (both), not %u", r->family);
	if (r->action >= DSE_FW_ACTION__MAX)
		return fw_bad(err, err_len, r->id,
			      "action %u is not one of 0 (allow), 1 (drop), 2 (reject)", r->action);
	if (r->direction >= DSE_FW_DIR__MAX)
		return fw_bad(err, err_len, r->id,
			      "direction %u is not one of 0 (any), 1 (in), 2 (out)", r->direction);
	switch (r->proto) {
	case 0:
	case 6:
	case 17:
		break;
	case 1:
		if (r->family != 4)
			return fw_bad(err, err_len, r->id,
				      "protocol ICMP (1) is IPv4 only: set family to 4, or use "
				      "ICMPv6 (58) with family 6");
		break;
	case 58:
		if (r->family != 6)
			return fw_bad(err, err_len, r->id,
				      "protocol ICMPv6 (58) is IPv6 only: set family to 6, or use "
				      "ICMP (1) with family 4");
		break;
	default:
		return fw_bad(err, err_len, r->id,
			      "protocol %u is not supported: use 0 (any), 1 (ICMP), 6 (TCP), "
			      "17 (UDP) or 58 (ICMPv6)",
			      r->proto);
	}
	rc = fw_check_prefix(r, &r->src, "source", err, err_len);
	if (rc == 0)
		rc = fw_check_prefix(r, &r->dst, "destination", err, err_len);
	if (rc == 0)
		rc = fw_check_ports(r, &r->sport, "source", err, err_len);
	if (rc == 0)
		rc = fw_check_ports(r, &r->dport, "destination", err, err_len);
	if (rc != 0)
		return rc;
	if (r->icmp_type < DSE_FW_ICMP_ANY || r->icmp_type > 255)
		return fw_bad(err, err_len, r->id,
			      "ICMP type %d is out of range: 0-255, or -1 for any", r->icmp_type);
	if (r->icmp_type != DSE_FW_ICMP_ANY && r->proto != 1 && r->proto != 58)
		return fw_bad(
		    err, err_len, r->id,
		    "an ICMP type (%d) needs protocol ICMP (1) or ICMPv6 (58), not %s (%u)",
		    r->icmp_type, fw_proto_name(r->proto), r->proto);
	return 0;
}

/* Fills the rte_acl form of rule 'r' for the trie of 'family' (4 or 6). */
static void fw_acl_rule_fill(struct fw_acl_rule *ar, const struct dse_fw_rule *r, int family,
			     int32_t priority, uint32_t userdata)
{
	unsigned words = family == 4 ? 1 : 4;
	struct rte_acl_field *f = ar->field;

	memset(ar, 0, sizeof(*ar));
	ar->data.category_mask = 1;
	ar->data.priority = priority;
	ar->data.userdata = userdata;

	/* A bitmask field with mask 0 matches anything. */
	f[FW_F_PROTO].value.u8 = r->proto;
	f[FW_F_PROTO].mask_range.u8 = r->proto != 0 ? 0xff : 0;
	f[FW_F_DIR].value.u8 = r->direction;
	f[FW_F_DIR].mask_range.u8 = r->direction != DSE_FW_DIR_ANY ? 0xff : 0;
	if (r->icmp_type != DSE_FW_ICMP_ANY) {
		f[FW_F_ICMP].value.u8 = (uint8_t)r->icmp_type;
		f[FW_F_ICMP].mask_range.u8 = 0xff;
	}
	if (r->segment != DSE_FW_ANY) {
		f[FW_F_SEGMENT].value.u16 = r->segment;
		f[FW_F_SEGMENT].mask_range.u16 = 0xffff;
	}
	if (r->port != DSE_FW_ANY) {
		f[FW_F_PORT].value.u16 = r->port;
		f[FW_F_PORT].mask_range.u16 = 0xffff;
	}
	/* FW_F_PAD stays 0/0: always matches. */

	/* Addresses: 32-bit words in host order, each with its share of the prefix. */
	for (unsigned w = 0; w < words; w++) {
		const struct dse_fw_prefix *pfx[2] = {&r->src, &r->dst};

		for (unsigned s = 0; s < 2; s++) {
			struct rte_acl_field *af = &f[FW_F_ADDR + s * words + w];
			const uint8_t *a = pfx[s]->addr + 4 * w;
			int bits = (int)pfx[s]->plen - 32 * (int)w;
			uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
				     (uint32_t)a[2] << 8 | a[3];

			bits = bits < 0 ? 0 : bits > 32 ? 32 : bits;
			af->value.u32 = bits == 0 ? 0 : v & (UINT32_MAX << (32 - bits));
			af->mask_range.u32 = (uint32_t)bits;
		}
	}
	f[FW_F_ADDR + 2 * words].value.u16 = r->sport.lo;
	f[FW_F_ADDR + 2 * words].mask_range.u16 = r->sport.hi;
	f[FW_F_ADDR + 2 * words + 1].value.u16 = r->dport.lo;
	f[FW_F_ADDR + 2 * words + 1].mask_range.u16 = r->dport.hi;
}

/* Appends the definition of rule field 'field' read from 'offset' of the key. */
static void fw_def(struct rte_acl_config *cfg, uint8_t type, uint8_t size, unsigned field,
		   unsigned input, size_t offset)
{
	cfg->defs[cfg->num_fields] = (struct rte_acl_field_def){
	    .type = type,
	    .size = size,
	    .field_index = (uint8_t)field,
	    .input_index = (uint8_t)input,
	    .offset = (uint32_t)offset,
	};
	cfg->num_fields++;
}

/*
 * The layout of struct dse_fw_key for the trie of 'family', as rte_acl reads
 * it: the first field alone, then groups of exactly 4 bytes (see acl.h).
 * The trie tests the fields in the order they are defined here: the
 * destination and the ports, which tell rules apart most, come right after
 * the protocol, and the fields most rules leave open (direction, ICMP type,
 * segment, port) last.
 */
static void fw_acl_config(struct rte_acl_config *cfg, int family)
{
	unsigned words = family == 4 ? 1 : 4;
	unsigned input = 1;

	memset(cfg, 0, sizeof(*cfg));
	cfg->num_categories = 1;
	fw_def(cfg, RTE_ACL_FIELD_TYPE_BITMASK, 1, FW_F_PROTO, 0,
	       offsetof(struct dse_fw_key, proto));
	for (unsigned w = 0; w < words; w++)
		fw_def(cfg, RTE_ACL_FIELD_TYPE_MASK, 4, FW_F_ADDR + words + w, input++,
		       offsetof(struct dse_fw_key, dst) + 4 * w);
	fw_def(cfg, RTE_ACL_FIELD_TYPE_RANGE, 2, FW_F_ADDR + 2 * words, input,
	       offsetof(struct dse_fw_key, sport));
	fw_def(cfg, RTE_ACL_FIELD_TYPE_RANGE, 2, FW_F_ADDR + 2 * words + 1, input++,
	       offsetof(struct dse_fw_key, dport));
	for (unsigned w = 0; w < words; w++)
		fw_def(cfg, RTE_ACL_FIELD_TYPE_MASK, 4, FW_F_ADDR + w, input++,
		       offsetof(struct dse_fw_key, src) + 4 * w);
	fw_def(cfg, RTE_ACL_FIELD_TYPE_BITMASK, 1, FW_F_DIR, input,
	       offsetof(struct dse_fw_key, dir));
	fw_def(cfg, RTE_ACL_FIELD_TYPE_BITMASK, 1, FW_F_ICMP, input,
	       offsetof(struct dse_fw_key, icmp_type));
	fw_def(cfg, RTE_ACL_FIELD_TYPE_BITMASK, 2, FW_F_SEGMENT, input++,
	       offsetof(struct dse_fw_key, segment));
	fw_def(cfg, RTE_ACL_FIELD_TYPE_BITMASK, 2, FW_F_PORT, input,
	       offsetof(struct dse_fw_key, port));
	fw_def(cfg, RTE_ACL_FIELD_TYPE_BITMASK, 2, FW_F_PAD, input,
	       offsetof(struct dse_fw_key, pad1));
}

/*
 * Creates and builds the trie of 'family' from the rules that belong to it.
 * 'acl_prio' holds each rule's rte_acl priority.  Returns the context, or
 * NULL with rte_errno set and a message in 'err'.
 */
static struct rte_acl_ctx *fw_acl_build(const struct dse_fw_rule *rules, unsigned n,
					const int32_t *acl_prio, unsigned n_family, int family,
					char *err, size_t err_len)
{
	unsigned words = family == 4 ? 1 : 4;
	char name[RTE_ACL_NAMESIZE];
	struct rte_acl_param param = {
	    .name = name,
	    .socket_id = SOCKET_ID_ANY,
	    .rule_size = RTE_ACL_RULE_SZ(FW_N_FIELDS(words)),
	    .max_rule_num = n_family,
	};
	struct rte_acl_config cfg;
	struct rte_acl_ctx *ctx;
	struct fw_acl_rule ar;
	int rc;

	snprintf(name, sizeof(name), "dse_fw%d_%u", family, atomic_fetch_add(&fw_ctx_seq, 1));
	ctx = rte_acl_create(&param);
	if (ctx == NULL) {
		rc = -rte_errno;
		goto fail;
	}
	for (unsigned i = 0; i < n; i++) {
		if (rules[i].family != family && rules[i].family != 0)
			continue;
		fw_acl_rule_fill(&ar, &rules[i], family, acl_prio[i], i + 1);
		/* The context copies 'rule_size' bytes: the fields of this family. */
		rc = rte_acl_add_rules(ctx, (const struct rte_acl_rule *)&ar, 1);
		if (rc != 0)
			goto fail;
	}
	fw_acl_config(&cfg, family);
	rc = rte_acl_build(ctx, &cfg);
	if (rc != 0)
		goto fail;
	return ctx;
fail:
	if (err != NULL)
		snprintf(err, err_len, "building the IPv%d classifier failed: %s", family,
			 rte_strerror(-rc));
	rte_acl_free(ctx);
	rte_errno = -rc;
	return NULL;
}

static int fw_cmp_id(const void *a, const void *b)
{
	const struct dse_fw_id_index *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* A rule's place in the priority order. */
struct fw_rank_ent {
	int32_t priority;
	uint32_t id;
	uint32_t index;
};

static int fw_cmp_rank(const void *a, const void *b)
{
	const struct fw_rank_ent *x = a, *y = b;

	/* Best first: higher priority, then lower id (ids are unique). */
	if (x->priority != y->priority)
		return x->priority > y->priority ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Gives each rule a distinct rte_acl priority that orders the rules as the
 * API promises (rte_acl leaves equal priorities undefined): the best rule
 * gets n, the worst 1.
 */
static int fw_rank(const struct dse_fw_rule *rules, unsigned n, int32_t *acl_prio)
{
	struct fw_rank_ent *order = malloc(sizeof(*order) * (n ? n : 1));

	if (order == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		order[i] = (struct fw_rank_ent){rules[i].priority, rules[i].id, i};
	qsort(order, n, sizeof(*order), fw_cmp_rank);
	for (unsigned rank = 0; rank < n; rank++)
		acl_prio[order[rank].index] = (int32_t)(n - rank);
	free(order);
	return 0;
}

struct dse_fw_ruleset *dse_fw_compile(const struct dse_fw_rule *rules, unsigned n, char *err,
				      size_t err_len)
{
	struct dse_fw_ruleset *rs = NULL;
	int32_t *acl_prio = NULL;
	unsigned n4 = 0, n6 = 0;
	int rc;

	if (err != NULL && err_len > 0)
		err[0] = '\0';
	if (n > DSE_FW_MAX_RULES) {
		if (err != NULL)
			snprintf(err, err_len, "%u rules are too many: a rule set holds at most %u",
				 n, DSE_FW_MAX_RULES);
		rte_errno = EINVAL;
		return NULL;
	}
	if (n > 0 && rules == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		if (dse_fw_rule_validate(&rules[i], err, err_len) != 0) {
			rte_errno = EINVAL;
			return NULL;
		}
		n4 += rules[i].family != 6;
		n6 += rules[i].family != 4;
	}

	rs = calloc(1, sizeof(*rs));
	if (rs == NULL)
		goto nomem;
	rs->n_rules = n;
	/* One element at least, so that an empty set has valid arrays too. */
	rs->rules = malloc(sizeof(*rs->rules) * (n ? n : 1));
	rs->hits = calloc(n ? n : 1, sizeof(*rs->hits));
	rs->carried = calloc(n ? n : 1, sizeof(*rs->carried));
	rs->by_id = malloc(sizeof(*rs->by_id) * (n ? n : 1));
	acl_prio = malloc(sizeof(*acl_prio) * (n ? n : 1));
	if (rs->rules == NULL || rs->hits == NULL || rs->carried == NULL || rs->by_id == NULL ||
	    acl_prio == NULL)
		goto nomem;
	if (n > 0)
		memcpy(rs->rules, rules, sizeof(*rules) * n);

	for (unsigned i = 0; i < n; i++)
		rs->by_id[i] = (struct dse_fw_id_index){.id = rules[i].id, .index = i};
	qsort(rs->by_id, n, sizeof(*rs->by_id), fw_cmp_id);
	for (unsigned i = 1; i < n; i++) {
		if (rs->by_id[i].id == rs->by_id[i - 1].id) {
			if (err != NULL)
				snprintf(err, err_len,
					 "rule id %u is used twice (rules %u and %u of the list): "
					 "ids must be unique",
					 rs->by_id[i].id, rs->by_id[i - 1].index + 1,
					 rs->by_id[i].index + 1);
			rc = EINVAL;
			goto fail;
		}
	}

	if (fw_rank(rules, n, acl_prio) != 0)
		goto nomem;
	if (n4 > 0) {
		rs->acl4 = fw_acl_build(rules, n, acl_prio, n4, 4, err, err_len);
		if (rs->acl4 == NULL) {
			rc = rte_errno;
			goto fail;
		}
	}
	if (n6 > 0) {
		rs->acl6 = fw_acl_build(rules, n, acl_prio, n6, 6, err, err_len);
		if (rs->acl6 == NULL) {
			rc = rte_errno;
			goto fail;
		}
	}
	free(acl_prio);
	/* Generation 0 stands for "no set": skip it on the wrap. */
	rs->gen = atomic_fetch_add(&fw_gen_seq, 1) + 1;
	if (rs->gen == 0)
		rs->gen = atomic_fetch_add(&fw_gen_seq, 1) + 1;
	return rs;

nomem:
	if (err != NULL)
		snprintf(err, err_len, "out of memory compiling %u rules", n);
	rc = ENOMEM;
fail:
	free(acl_prio);
	dse_fw_ruleset_free(rs);
	rte_errno = rc;
	return NULL;
}

void dse_fw_ruleset_free(struct dse_fw_ruleset *rs)
{
	if (rs == NULL)
		return;
	rte_acl_free(rs->acl4);
	rte_acl_free(rs->acl6);
	free(rs->rules);
	free(rs->hits);
	free(rs->carried);
	free(rs->by_id);
	free(rs);
}

/* Classifies keys all of one family with that family's trie. */
static int fw_classify_one(const struct rte_acl_ctx *ctx, const struct dse_fw_key **keys,
			   unsigned n, uint32_t *results)
{
	if (ctx == NULL) {
		memset(results, 0, sizeof(*results) * n);
		return 0;
	}
	return rte_acl_classify(ctx, (const uint8_t **)keys, results, n, 1);
}

int dse_fw_classify(const struct dse_fw_ruleset *rs, const struct dse_fw_key *keys[], unsigned n,
		    uint32_t *results)
{
	const struct dse_fw_key *k4[FW_CHUNK], *k6[FW_CHUNK];
	uint32_t r4[FW_CHUNK], r6[FW_CHUNK];
	uint16_t i4[FW_CHUNK], i6[FW_CHUNK];
	unsigned n4 = 0, n6 = 0;
	int rc;

	if (n == 0)
		return 0;
	if (rs == NULL) {
		memset(results, 0, sizeof(*results) * n);
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		n4 += keys[i]->family == 4;
		n6 += keys[i]->family == 6;
	}
	/* The usual burst is of one family: classify it in place. */
	if (n4 == n)
		return fw_classify_one(rs->acl4, keys, n, results);
	if (n6 == n)
		return fw_classify_one(rs->acl6, keys, n, results);

	/* A mix: gather each family, classify, scatter back, a chunk at a time. */
	for (unsigned base = 0; base < n; base += FW_CHUNK) {
		unsigned len = RTE_MIN(n - base, (unsigned)FW_CHUNK);

		n4 = n6 = 0;
		for (unsigned i = 0; i < len; i++) {
			const struct dse_fw_key *k = keys[base + i];

			results[base + i] = 0;
			if (k->family == 4) {
				i4[n4] = (uint16_t)i;
				k4[n4++] = k;
			} else if (k->family == 6) {
				i6[n6] = (uint16_t)i;
				k6[n6++] = k;
			}
		}
		if (n4 > 0) {
			rc = fw_classify_one(rs->acl4, k4, n4, r4);
			if (rc != 0)
				return rc;
			for (unsigned i = 0; i < n4; i++)
				results[base + i4[i]] = r4[i];
		}
		if (n6 > 0) {
			rc = fw_classify_one(rs->acl6, k6, n6, r6);
			if (rc != 0)
				return rc;
			for (unsigned i = 0; i < n6; i++)
				results[base + i6[i]] = r6[i];
		}
	}
	return 0;
}

int dse_fw_find(const struct dse_fw_ruleset *rs, uint32_t id)
{
	struct dse_fw_id_index key = {.id = id};
	const struct dse_fw_id_index *e;

	e = bsearch(&key, rs->by_id, rs->n_rules, sizeof(*rs->by_id), fw_cmp_id);
	return e == NULL ? -ENOENT : (int)e->index;
}

void dse_fw_counters_carry(struct dse_fw_ruleset *next, const struct dse_fw_ruleset *prev)
{
	uint32_t i = 0, j = 0;

	if (prev == NULL)
		return;
	/* Both id lists are sorted: one merge pass pairs the rules that stay. */
	while (i < prev->n_rules && j < next->n_rules) {
		uint32_t a = prev->by_id[i].id, b = next->by_id[j].id;

		if (a < b) {
			i++;
		} else if (a > b) {
			j++;
		} else {
			uint64_t *h = &next->carried[next->by_id[j].index];

			__atomic_store_n(h,
					 __atomic_load_n(h, __ATOMIC_RELAXED) +
					     dse_fw_hits(prev, prev->by_id[i].index),
					 __ATOMIC_RELAXED);
			i++;
			j++;
		}
	}
}

int dse_fw_default_set(struct dse_fw_ruleset *rs, uint16_t segment, enum dse_fw_action action)
{
	if (action != DSE_FW_ALLOW && action != DSE_FW_DROP)
		return -EINVAL;
	if (segment == DSE_FW_ANY) {
		memset(rs->deny_default, action == DSE_FW_DROP ? 0xff : 0,
		       sizeof(rs->deny_default));
		return 0;
	}
	if (action == DSE_FW_DROP)
		rs->deny_default[segment / 64] |= 1ull << (segment % 64);
	else
		rs->deny_default[segment / 64] &= ~(1ull << (segment % 64));
	return 0;
}

void dse_fw_default_copy(struct dse_fw_ruleset *to, const struct dse_fw_ruleset *from)
{
	if (from == NULL)
		memset(to->deny_default, 0, sizeof(to->deny_default));
	else
		memcpy(to->deny_default, from->deny_default, sizeof(to->deny_default));
}

/* Writes "<addr>" or "[<addr>]" (IPv6 with a port) of 'a' into 'buf'. */
static void fw_addr_format(const struct dse_fw_key *key, const uint8_t *a, bool bracket, char *buf,
			   size_t len)
{
	char s[INET6_ADDRSTRLEN];

	if (inet_ntop(key->family == 4 ? AF_INET : AF_INET6, a, s, sizeof(s)) == NULL)
		snprintf(s, sizeof(s), "?");
	snprintf(buf, len, bracket && key->family == 6 ? "[%s]" : "%s", s);
}

int dse_fw_key_format(const struct dse_fw_key *key, char *buf, size_t len)
{
	return dse_fw_key_format_named(key, NULL, NULL, buf, len);
}

int dse_fw_key_format_named(const struct dse_fw_key *key, const char *segment, const char *pname,
			    char *buf, size_t len)
{
	bool ports = key->proto == 6 || key->proto == 17;
	char src[INET6_ADDRSTRLEN + 2], dst[INET6_ADDRSTRLEN + 2];
	char proto[16], sp[8] = "", dp[8] = "", icmp[16] = "", port[40], seg[40];
	uint16_t p = rte_be_to_cpu_16(key->port);

	if (key->family != 4 && key->family != 6)
		return snprintf(buf, len, "not IP");
	fw_addr_format(key, key->src, ports, src, sizeof(src));
	fw_addr_format(key, key->dst, ports, dst, sizeof(dst));
	switch (key->proto) {
	case 1:
	case 6:
	case 17:
	case 58:
		snprintf(proto, sizeof(proto), "%s", fw_proto_name(key->proto));
		for (char *c = proto; *c; c++)
			*c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
		break;
	default:
		snprintf(proto, sizeof(proto), "proto %u", key->proto);
		break;
	}
	if (ports) {
		snprintf(sp, sizeof(sp), ":%u", rte_be_to_cpu_16(key->sport));
		snprintf(dp, sizeof(dp), ":%u", rte_be_to_cpu_16(key->dport));
	}
	if (key->proto == 1 || key->proto == 58)
		snprintf(icmp, sizeof(icmp), " type %u", key->icmp_type);
	if (p == DSE_FW_ANY)
		snprintf(port, sizeof(port), "any");
	else if (pname && pname[0])
		snprintf(port, sizeof(port), "%s", pname);
	else
		snprintf(port, sizeof(port), "%u", p);
	if (segment && segment[0])
		snprintf(seg, sizeof(seg), "%s", segment);
	else
		snprintf(seg, sizeof(seg), "%u", rte_be_to_cpu_16(key->segment));
	return snprintf(buf, len, "%s %s%s -> %s%s%s %s segment %s port %s", proto, src, sp, dst,
			dp, icmp, dse_fw_dir_name(key->dir), seg, port);
}

void dse_fw_denylog_init(struct dse_fw_denylog *dl, uint32_t per_sec, uint32_t burst)
{
	memset(dl, 0, sizeof(*dl));
	dl->rl.per_sec = per_sec;
	dl->rl.burst = burst;
}

bool dse_fw_denylog_write(struct dse_fw_denylog *dl, uint32_t rule_id, enum dse_fw_action action,
			  uint64_t unseen, const struct dse_fw_key *key, const char *segment,
			  const char *port)
{
	char pkt[200], by[80], more[64] = "";
	uint64_t not_logged;

	dl->unseen += unseen;
	if (!dse_ratelimit_ok(&dl->rl)) {
		dl->suppressed++;
		return false;
	}
	dse_fw_key_format_named(key, segment, port, pkt, sizeof(pkt));
	if (rule_id != 0)
		snprintf(by, sizeof(by), "rule %u (%s)", rule_id, dse_fw_action_name(action));
	else if (segment && segment[0])
		snprintf(by, sizeof(by), "the default policy of segment %.40s", segment);
	else
		snprintf(by, sizeof(by), "the default policy of segment %u",
			 rte_be_to_cpu_16(key->segment));
	/* The bucket counted what it refused since the last line: say so once. */
	not_logged = dl->rl.suppressed + dl->unseen;
	if (not_logged > 0) {
		snprintf(more, sizeof(more), " (%" PRIu64 " more denials not logged)", not_logged);
		dl->rl.suppressed = 0;
		dl->unseen = 0;
	}
	dse_log(DSE_LOG_NOTICE, "fw", "denied by %s: %s%s", by, pkt, more);
	dl->logged++;
	return true;
}
