/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the firewall rule sets (acl.c): validation,
 * compilation into rte_acl tries, classification, default policy, hit
 * counters across a rule change, the per-packet key and the denial log.
 *
 * rte_acl allocates from DPDK memory, so the group setup starts a minimal
 * EAL as test_fdb.c does (no hugepages, no PCI, a file prefix of its own).
 * Besides the hand-made cases, a reference matcher written the obvious way
 * (a linear scan over the rules) checks the tries on random rule sets and
 * random keys, and on a set of 10000 rules.  The tests print the compile time
 * of 10000 rules and the classification rate; they assert nothing on speed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_eal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_acl.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <pthread.h>
#include <stdatomic.h>

#include "acl.h"
#include "dse_api.h"
#include "parse.h"

static int eal_setup(void **state)
{
	(void)state;
	if (test_eal_init("test-acl", "1024") < 0)
		return -1;
	return 0;
}

static int eal_teardown(void **state)
{
	(void)state;
	return test_eal_cleanup();
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of this thread: a compile time a busy machine does not stretch. */
static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A deterministic generator (xorshift64*), so failures can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* ---- building rules and keys ---- */

/* A rule that matches everything, with 'id' and 'prio'. */
static struct dse_fw_rule rule_new(uint32_t id, int32_t prio, uint8_t family, uint8_t action)
{
	struct dse_fw_rule r;

	dse_fw_rule_init(&r);
	r.id = id;
	r.priority = prio;
	r.family = family;
	r.action = action;
	return r;
}

/* Sets prefix 'p' from text such as "10.0.0.0" or "2001:db8::". */
static void pfx(struct dse_fw_prefix *p, const char *addr, uint8_t plen)
{
	memset(p->addr, 0, sizeof(p->addr));
	if (strchr(addr, ':') != NULL)
		assert_int_equal(inet_pton(AF_INET6, addr, p->addr), 1);
	else
		assert_int_equal(inet_pton(AF_INET, addr, p->addr), 1);
	p->plen = plen;
}

/* A key of 'family' between two addresses given as text; no ports, dir out. */
static struct dse_fw_key key_new(uint8_t proto, const char *src, const char *dst)
{
	struct dse_fw_key k;
	int af = strchr(src, ':') != NULL ? AF_INET6 : AF_INET;

	memset(&k, 0, sizeof(k));
	k.proto = proto;
	k.family = af == AF_INET ? 4 : 6;
	k.dir = DSE_FW_DIR_OUT;
	k.segment = rte_cpu_to_be_16(1);
	k.port = rte_cpu_to_be_16(1);
	assert_int_equal(inet_pton(af, src, k.src), 1);
	assert_int_equal(inet_pton(af, dst, k.dst), 1);
	return k;
}

static void key_ports(struct dse_fw_key *k, uint16_t sport, uint16_t dport)
{
	k->sport = rte_cpu_to_be_16(sport);
	k->dport = rte_cpu_to_be_16(dport);
}

static void key_scope(struct dse_fw_key *k, uint8_t dir, uint16_t seg, uint16_t port)
{
	k->dir = dir;
	k->segment = rte_cpu_to_be_16(seg);
	k->port = rte_cpu_to_be_16(port);
}

static struct dse_fw_ruleset *compile_ok(const struct dse_fw_rule *rules, unsigned n)
{
	char err[DSE_FW_ERR_LEN];
	struct dse_fw_ruleset *rs = dse_fw_compile(rules, n, err, sizeof(err));

	if (rs == NULL)
		fail_msg("compile failed: %s", err);
	assert_int_equal(rs->n_rules, n);
	return rs;
}

static uint32_t classify1(const struct dse_fw_ruleset *rs, const struct dse_fw_key *k)
{
	const struct dse_fw_key *keys[1] = {k};
	uint32_t res = 0xdeadbeef;

	assert_int_equal(dse_fw_classify(rs, keys, 1, &res), 0);
	return res;
}

/* The id of the rule that wins for 'k', or 0 for none. */
static uint32_t winner(const struct dse_fw_ruleset *rs, const struct dse_fw_key *k)
{
	const struct dse_fw_rule *r = dse_fw_rule_of(rs, classify1(rs, k));

	return r == NULL ? 0 : r->id;
}

/* ---- the reference matcher: the definition of a match, written plainly ---- */

static bool ref_prefix(const struct dse_fw_prefix *p, const uint8_t *addr)
{
	for (unsigned bit = 0; bit < p->plen; bit++) {
		unsigned byte = bit / 8, mask = 0x80u >> (bit % 8);

		if ((p->addr[byte] & mask) != (addr[byte] & mask))
			return false;
	}
	return true;
}

static bool ref_rule_matches(const struct dse_fw_rule *r, const struct dse_fw_key *k)
{
	uint16_t sport = rte_be_to_cpu_16(k->sport), dport = rte_be_to_cpu_16(k->dport);

	if (k->family != 4 && k->family != 6)
		return false;
	if (r->family != 0 && r->family != k->family)
		return false;
	if (r->proto != 0 && r->proto != k->proto)
		return false;
	if (r->direction != DSE_FW_DIR_ANY && r->direction != k->dir)
		return false;
	if (r->icmp_type != DSE_FW_ICMP_ANY && r->icmp_type != k->icmp_type)
		return false;
	if (r->segment != DSE_FW_ANY && r->segment != rte_be_to_cpu_16(k->segment))
		return false;
	if (r->port != DSE_FW_ANY && r->port != rte_be_to_cpu_16(k->port))
		return false;
	if (!ref_prefix(&r->src, k->src) || !ref_prefix(&r->dst, k->dst))
		return false;
	return sport >= r->sport.lo && sport <= r->sport.hi && dport >= r->dport.lo &&
	       dport <= r->dport.hi;
}

/* Returns the result dse_fw_classify() must give: best index + 1, or 0. */
static uint32_t ref_classify(const struct dse_fw_rule *rules, unsigned n,
			     const struct dse_fw_key *k)
{
	int best = -1;

	for (unsigned i = 0; i < n; i++) {
		const struct dse_fw_rule *r = &rules[i];

		if (!ref_rule_matches(r, k))
			continue;
		if (best < 0 || r->priority > rules[best].priority ||
		    (r->priority == rules[best].priority && r->id < rules[best].id))
			best = (int)i;
	}
	return (uint32_t)(best + 1);
}

/* ---- random rules and keys for the differential tests ---- */

static const uint8_t rand_protos[] = {0, 6, 17, 1, 58};

/* A random valid rule; 'segs' bounds the segment ids. */
static struct dse_fw_rule rand_rule(uint32_t id, unsigned segs)
{
	struct dse_fw_rule r = rule_new(id, (int32_t)(rnd() % 64) - 32, 0, rnd() % 3);
	unsigned maxlen;

	r.family = (rnd() % 8 == 0) ? 0 : (rnd() % 3 == 0 ? 6 : 4);
	r.proto = rand_protos[rnd() % 5];
	if ((r.proto == 1 && r.family != 4) || (r.proto == 58 && r.family != 6))
		r.proto = 6;
	maxlen = r.family == 4 ? 32 : 128;
	if (r.family != 0) {
		/* Addresses from a small pool so that prefixes overlap. */
		for (unsigned s = 0; s < 2; s++) {
			struct dse_fw_prefix *p = s ? &r.dst : &r.src;

			p->addr[0] = r.family == 4 ? 198 : 0x20;
			p->addr[1] = r.family == 4 ? 18 : 0x01;
			for (unsigned b = 2; b < maxlen / 8; b++)
				p->addr[b] = (uint8_t)(rnd() % 4);
			p->plen = (uint8_t)(rnd() % 4 == 0 ? 0 : rnd() % (maxlen + 1));
		}
	}
	if (r.proto == 6 || r.proto == 17) {
		if (rnd() % 2) {
			r.dport.lo = (uint16_t)(rnd() % 1100);
			r.dport.hi = (uint16_t)(r.dport.lo + rnd() % 50);
		}
		if (rnd() % 4 == 0) {
			r.sport.lo = (uint16_t)(1000 + rnd() % 200);
			r.sport.hi = (uint16_t)(r.sport.lo + rnd() % 2000);
		}
	}
	if ((r.proto == 1 || r.proto == 58) && rnd() % 2)
		r.icmp_type = (int16_t)(rnd() % 4);
	if (rnd() % 3 == 0)
		r.direction = (uint8_t)(1 + rnd() % 2);
	if (rnd() % 2)
		r.segment = (uint16_t)(rnd() % segs);
	if (rnd() % 4 == 0)
		r.port = (uint16_t)(rnd() % 8);
	return r;
}

/* A port inside 'p' most of the time, else just below or above it. */
static uint16_t near_range(const struct dse_fw_ports *p)
{
	switch (rnd() % 8) {
	case 0:
		return (uint16_t)(p->lo - 1);
	case 1:
		return (uint16_t)(p->hi + 1);
	default:
		return (uint16_t)(p->lo + rnd() % (p->hi - p->lo + 1u));
	}
}

/* A random key, near rule 'r' (inside it most of the time) when given. */
static struct dse_fw_key rand_key(const struct dse_fw_rule *r, unsigned segs)
{
	struct dse_fw_key k;
	uint8_t family = r != NULL && r->family != 0 ? r->family : (rnd() % 3 == 0 ? 6 : 4);
	unsigned len = family == 4 ? 4 : 16;

	memset(&k, 0, sizeof(k));
	k.family = family;
	k.proto = r != NULL && r->proto != 0 ? r->proto : rand_protos[rnd() % 5];
	k.dir = (uint8_t)(1 + rnd() % 2);
	k.segment = rte_cpu_to_be_16((uint16_t)(rnd() % segs));
	k.port = rte_cpu_to_be_16((uint16_t)(rnd() % 8));
	for (unsigned s = 0; s < 2; s++) {
		uint8_t *a = s ? k.dst : k.src;
		const struct dse_fw_prefix *p = r == NULL ? NULL : s ? &r->dst : &r->src;

		a[0] = family == 4 ? 198 : 0x20;
		a[1] = family == 4 ? 18 : 0x01;
		for (unsigned b = 2; b < len; b++)
			a[b] = (uint8_t)(rnd() % 4);
		/* Copy the rule's prefix bits, sometimes flipping the last one. */
		if (p != NULL && r->family == family && p->plen > 0) {
			for (unsigned bit = 0; bit < p->plen; bit++) {
				uint8_t m = (uint8_t)(0x80u >> (bit % 8));

				a[bit / 8] = (uint8_t)((a[bit / 8] & ~m) | (p->addr[bit / 8] & m));
			}
			if (rnd() % 8 == 0)
				a[(p->plen - 1) / 8] ^= (uint8_t)(0x80u >> ((p->plen - 1) % 8));
		}
	}
	if (k.proto == 6 || k.proto == 17) {
		uint16_t sp = (uint16_t)(rnd() % 3300), dp = (uint16_t)(rnd() % 1200);

		if (r != NULL && rnd() % 4) {
			dp = near_range(&r->dport);
			sp = near_range(&r->sport);
		}
		key_ports(&k, sp, dp);
	}
	if (k.proto == 1 || k.proto == 58)
		k.icmp_type = (uint8_t)(rnd() % 5);
	if (r != NULL && rnd() % 8) {
		if (r->segment != DSE_FW_ANY)
			k.segment = rte_cpu_to_be_16(r->segment);
		if (r->port != DSE_FW_ANY)
			k.port = rte_cpu_to_be_16(r->port);
		if (r->direction != DSE_FW_DIR_ANY)
			k.dir = r->direction;
		if (r->icmp_type != DSE_FW_ICMP_ANY)
			k.icmp_type = (uint8_t)r->icmp_type;
	}
	return k;
}

/*
 * Classifies 'n' keys in bursts of 'burst' and checks every result against
 * the reference.  Returns how many keys matched some rule.
 */
static unsigned check_against_ref(const struct dse_fw_ruleset *rs, const struct dse_fw_rule *rules,
				  unsigned n_rules, const struct dse_fw_key *keys, unsigned n,
				  unsigned burst)
{
	const struct dse_fw_key **ptrs = malloc(sizeof(*ptrs) * burst);
	uint32_t *res = malloc(sizeof(*res) * burst);
	unsigned matched = 0;

	assert_non_null(ptrs);
	assert_non_null(res);
	for (unsigned base = 0; base < n; base += burst) {
		unsigned len = n - base < burst ? n - base : burst;

		for (unsigned i = 0; i < len; i++)
			ptrs[i] = &keys[base + i];
		assert_int_equal(dse_fw_classify(rs, ptrs, len, res), 0);
		for (unsigned i = 0; i < len; i++) {
			uint32_t want = ref_classify(rules, n_rules, &keys[base + i]);

			if (res[i] != want) {
				char buf[200];

				dse_fw_key_format(&keys[base + i], buf, sizeof(buf));
				fail_msg("key %u (%s): got result %u (id %u), want %u (id %u)",
					 base + i, buf, res[i], res[i] ? rules[res[i] - 1].id : 0,
					 want, want ? rules[want - 1].id : 0);
			}
			matched += want != 0;
		}
	}
	free(ptrs);
	free(res);
	return matched;
}

/* ---- tests ---- */

/*
 * Priority: the higher priority wins whatever the order of the list; equal
 * priorities go to the lower id; negative priorities rank below zero.
 * Steps: rules that all match one key, in shuffled orders.
 * Verify: the winner each time.
 */
static void test_priority_order(void **state)
{
	struct dse_fw_rule rules[4];
	struct dse_fw_key k = key_new(6, "198.18.0.1", "198.18.0.2");
	struct dse_fw_ruleset *rs;

	(void)state;
	rules[0] = rule_new(10, 5, 4, DSE_FW_DROP);
	rules[1] = rule_new(20, 100, 4, DSE_FW_ALLOW);
	rules[2] = rule_new(30, -7, 4, DSE_FW_REJECT);
	rules[3] = rule_new(40, 100, 4, DSE_FW_DROP);
	rs = compile_ok(rules, 4);
	/* 20 and 40 tie at 100: the lower id wins. */
	assert_int_equal(winner(rs, &k), 20);
	assert_int_equal(classify1(rs, &k), 2);
	assert_int_equal(dse_fw_verdict(rs, classify1(rs, &k), 1), DSE_FW_ALLOW);
	dse_fw_ruleset_free(rs);

	/* Reversed list: same winner, now at another index. */
	{
		struct dse_fw_rule rev[4] = {rules[3], rules[2], rules[1], rules[0]};

		rs = compile_ok(rev, 4);
		assert_int_equal(winner(rs, &k), 20);
		assert_int_equal(classify1(rs, &k), 3);
		dse_fw_ruleset_free(rs);
	}

	/* Without the 100s, 5 beats -7. */
	rs = compile_ok(rules + 2, 1);
	assert_int_equal(winner(rs, &k), 30);
	dse_fw_ruleset_free(rs);
	{
		struct dse_fw_rule two[2] = {rules[2], rules[0]};

		rs = compile_ok(two, 2);
		assert_int_equal(winner(rs, &k), 10);
		dse_fw_ruleset_free(rs);
	}

	/* Extreme priorities are ranked too. */
	{
		struct dse_fw_rule ext[3] = {rule_new(1, INT32_MIN, 4, DSE_FW_DROP),
					     rule_new(2, INT32_MAX, 4, DSE_FW_DROP),
					     rule_new(3, INT32_MAX - 1, 4, DSE_FW_DROP)};

		rs = compile_ok(ext, 3);
		assert_int_equal(winner(rs, &k), 2);
		dse_fw_ruleset_free(rs);
	}
}

/*
 * IPv4 prefixes: /0, /32, /24 and /13 (a length that ends inside a byte),
 * on source and destination.
 * Steps: one rule per prefix, each with a priority that makes the longest
 * prefix win.  Verify: addresses just inside and just outside each prefix.
 */
static void test_prefix_v4(void **state)
{
	struct dse_fw_rule rules[5];
	struct dse_fw_ruleset *rs;

	(void)state;
	rules[0] = rule_new(1, 0, 4, DSE_FW_DROP); /* 0.0.0.0/0 -> anything */
	rules[1] = rule_new(2, 32, 4, DSE_FW_ALLOW);
	pfx(&rules[1].dst, "198.18.7.9", 32);
	rules[2] = rule_new(3, 24, 4, DSE_FW_ALLOW);
	pfx(&rules[2].dst, "198.18.7.0", 24);
	rules[3] = rule_new(4, 13, 4, DSE_FW_ALLOW);
	pfx(&rules[3].dst, "198.16.0.0", 13); /* 198.16.0.0 - 198.23.255.255 */
	rules[4] = rule_new(5, 50, 4, DSE_FW_REJECT);
	/* Host bits beyond the prefix are ignored: this is 10.1.0.0/16. */
	pfx(&rules[4].src, "10.1.2.3", 16);
	rs = compile_ok(rules, 5);

	struct {
		const char *src, *dst;
		uint32_t id;
	} cases[] = {
	    {"1.1.1.1", "198.18.7.9", 2},  {"1.1.1.1", "198.18.7.8", 3},
	    {"1.1.1.1", "198.18.7.10", 3}, {"1.1.1.1", "198.18.7.255", 3},
	    {"1.1.1.1", "198.18.8.0", 4},  {"1.1.1.1", "198.18.6.255", 4},
	    {"1.1.1.1", "198.16.0.0", 4},  {"1.1.1.1", "198.23.255.255", 4},
	    {"1.1.1.1", "198.24.0.0", 1},  {"1.1.1.1", "198.15.255.255", 1},
	    {"1.1.1.1", "0.0.0.0", 1},	   {"1.1.1.1", "255.255.255.255", 1},
	    {"10.1.0.0", "198.18.7.9", 5}, {"10.1.255.255", "198.18.7.9", 5},
	    {"10.2.0.0", "198.18.7.9", 2}, {"10.0.255.255", "198.18.7.9", 2},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dse_fw_key k = key_new(17, cases[i].src, cases[i].dst);

		if (winner(rs, &k) != cases[i].id)
			fail_msg("%s -> %s: got rule %u, want %u", cases[i].src, cases[i].dst,
				 winner(rs, &k), cases[i].id);
	}
	/* A v4 rule set says nothing about IPv6 packets. */
	{
		struct dse_fw_key k6 = key_new(17, "2001:db8::1", "2001:db8::2");

		assert_int_equal(classify1(rs, &k6), 0);
	}
	dse_fw_ruleset_free(rs);
}

/*
 * IPv6 prefixes: /0, /128, /64, /61 (inside a byte) and /33 (one bit into
 * the second 32-bit word of the trie).  Verify: just inside / just outside.
 */
static void test_prefix_v6(void **state)
{
	struct dse_fw_rule rules[5];
	struct dse_fw_ruleset *rs;

	(void)state;
	rules[0] = rule_new(1, 0, 6, DSE_FW_DROP);
	rules[1] = rule_new(2, 128, 6, DSE_FW_ALLOW);
	pfx(&rules[1].src, "2001:db8:1:2::5", 128);
	rules[2] = rule_new(3, 64, 6, DSE_FW_ALLOW);
	pfx(&rules[2].src, "2001:db8:1:2::", 64);
	rules[3] = rule_new(4, 61, 6, DSE_FW_ALLOW);
	pfx(&rules[3].src, "2001:db8:1:8::", 61); /* 2001:db8:1:8:: - 2001:db8:1:f:ffff:... */
	rules[4] = rule_new(5, 33, 6, DSE_FW_ALLOW);
	pfx(&rules[4].src, "2001:db8:8000::", 33); /* 2001:db8:8000:: - 2001:db8:ffff:... */
	rs = compile_ok(rules, 5);

	struct {
		const char *src;
		uint32_t id;
	} cases[] = {
	    {"2001:db8:1:2::5", 2},
	    {"2001:db8:1:2::4", 3},
	    {"2001:db8:1:2::6", 3},
	    {"2001:db8:1:2:ffff:ffff:ffff:ffff", 3},
	    {"2001:db8:1:3::", 1},
	    {"2001:db8:1:8::", 4},
	    {"2001:db8:1:f:ffff:ffff:ffff:ffff", 4},
	    {"2001:db8:1:7:ffff:ffff:ffff:ffff", 1},
	    {"2001:db8:1:10::", 1},
	    {"2001:db8:8000::", 5},
	    {"2001:db8:ffff:ffff::1", 5},
	    {"2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", 1},
	    {"2001:db9::", 1},
	    {"::", 1},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dse_fw_key k = key_new(6, cases[i].src, "2001:db8::99");

		if (winner(rs, &k) != cases[i].id)
			fail_msg("%s: got rule %u, want %u", cases[i].src, winner(rs, &k),
				 cases[i].id);
	}
	/* A v6 rule set says nothing about IPv4 packets. */
	{
		struct dse_fw_key k4 = key_new(6, "198.18.0.1", "198.18.0.2");

		assert_int_equal(classify1(rs, &k4), 0);
	}
	dse_fw_ruleset_free(rs);
}

/*
 * Protocol: 0 matches every protocol, a number only its own; family 0 makes
 * one rule for both families.
 */
static void test_proto_and_family_any(void **state)
{
	struct dse_fw_rule rules[3];
	struct dse_fw_ruleset *rs;
	struct dse_fw_key k;

	(void)state;
	rules[0] = rule_new(1, 1, 4, DSE_FW_DROP); /* any protocol */
	rules[1] = rule_new(2, 2, 4, DSE_FW_ALLOW);
	rules[1].proto = 17;
	rules[2] = rule_new(3, 3, 0, DSE_FW_REJECT); /* TCP of both families */
	rules[2].proto = 6;
	rs = compile_ok(rules, 3);

	k = key_new(17, "198.18.0.1", "198.18.0.2");
	assert_int_equal(winner(rs, &k), 2);
	k = key_new(6, "198.18.0.1", "198.18.0.2");
	assert_int_equal(winner(rs, &k), 3);
	k = key_new(1, "198.18.0.1", "198.18.0.2");
	assert_int_equal(winner(rs, &k), 1);
	k = key_new(47, "198.18.0.1", "198.18.0.2"); /* GRE */
	assert_int_equal(winner(rs, &k), 1);
	k = key_new(6, "2001:db8::1", "2001:db8::2");
	assert_int_equal(winner(rs, &k), 3);
	k = key_new(17, "2001:db8::1", "2001:db8::2");
	assert_int_equal(winner(rs, &k), 0);
	dse_fw_ruleset_free(rs);
}

/*
 * Port ranges, inclusive at both ends, on source and destination, and the
 * full range as any.  Verify: lo-1, lo, hi, hi+1, 0 and 65535.
 */
static void test_port_ranges(void **state)
{
	struct dse_fw_rule rules[3];
	struct dse_fw_ruleset *rs;

	(void)state;
	rules[0] = rule_new(1, 10, 4, DSE_FW_ALLOW);
	rules[0].proto = 6;
	rules[0].dport = (struct dse_fw_ports){1000, 2000};
	rules[1] = rule_new(2, 20, 4, DSE_FW_DROP);
	rules[1].proto = 6;
	rules[1].dport = (struct dse_fw_ports){1500, 1500};
	rules[1].sport = (struct dse_fw_ports){40000, 65535};
	rules[2] = rule_new(3, 5, 4, DSE_FW_ALLOW);
	rules[2].proto = 17;
	rules[2].dport = (struct dse_fw_ports){0, 0};
	rs = compile_ok(rules, 3);

	struct {
		uint8_t proto;
		uint16_t sport, dport;
		uint32_t id;
	} cases[] = {
	    {6, 1, 999, 0},	 {6, 1, 1000, 1},     {6, 1, 2000, 1},	   {6, 1, 2001, 0},
	    {6, 1, 65535, 0},	 {6, 1, 0, 0},	      {6, 39999, 1500, 1}, {6, 40000, 1500, 2},
	    {6, 65535, 1500, 2}, {6, 65535, 1499, 1}, {6, 65535, 1501, 1}, {17, 5, 0, 3},
	    {17, 5, 1, 0},	 {17, 5, 1500, 0},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dse_fw_key k = key_new(cases[i].proto, "198.18.0.1", "198.18.0.2");

		key_ports(&k, cases[i].sport, cases[i].dport);
		if (winner(rs, &k) != cases[i].id)
			fail_msg("case %u proto %u %u -> %u: got rule %u, want %u", i,
				 cases[i].proto, cases[i].sport, cases[i].dport, winner(rs, &k),
				 cases[i].id);
	}
	dse_fw_ruleset_free(rs);
}

/* ICMP and ICMPv6 types: a type matches only itself, -1 any type. */
static void test_icmp_type(void **state)
{
	struct dse_fw_rule rules[4];
	struct dse_fw_ruleset *rs;
	struct dse_fw_key k;

	(void)state;
	rules[0] = rule_new(1, 10, 4, DSE_FW_ALLOW);
	rules[0].proto = 1;
	rules[0].icmp_type = 8; /* echo request */
	rules[1] = rule_new(2, 1, 4, DSE_FW_DROP);
	rules[1].proto = 1; /* any type */
	rules[2] = rule_new(3, 10, 6, DSE_FW_ALLOW);
	rules[2].proto = 58;
	rules[2].icmp_type = 128;
	rules[3] = rule_new(4, 10, 6, DSE_FW_REJECT);
	rules[3].proto = 58;
	rules[3].icmp_type = 0;
	rs = compile_ok(rules, 4);

	k = key_new(1, "198.18.0.1", "198.18.0.2");
	k.icmp_type = 8;
	assert_int_equal(winner(rs, &k), 1);
	k.icmp_type = 0;
	assert_int_equal(winner(rs, &k), 2);
	k.icmp_type = 255;
	assert_int_equal(winner(rs, &k), 2);
	k = key_new(58, "2001:db8::1", "2001:db8::2");
	k.icmp_type = 128;
	assert_int_equal(winner(rs, &k), 3);
	k.icmp_type = 129;
	assert_int_equal(winner(rs, &k), 0);
	k.icmp_type = 0;
	assert_int_equal(winner(rs, &k), 4);
	/* The type field of a TCP key is 0: an ICMP type rule never sees it. */
	k = key_new(6, "2001:db8::1", "2001:db8::2");
	assert_int_equal(winner(rs, &k), 0);
	dse_fw_ruleset_free(rs);
}

/*
 * Direction and scope: a rule for IN never matches OUT; a rule of segment 3
 * or port 7 only that segment or port; DSE_FW_ANY everything.
 */
static void test_direction_and_scope(void **state)
{
	struct dse_fw_rule rules[5];
	struct dse_fw_ruleset *rs;
	struct dse_fw_key k = key_new(6, "198.18.0.1", "198.18.0.2");

	(void)state;
	rules[0] = rule_new(1, 1, 4, DSE_FW_ALLOW); /* any direction, segment, port */
	rules[1] = rule_new(2, 10, 4, DSE_FW_DROP);
	rules[1].direction = DSE_FW_DIR_IN;
	rules[1].segment = 3;
	rules[2] = rule_new(3, 20, 4, DSE_FW_REJECT);
	rules[2].direction = DSE_FW_DIR_OUT;
	rules[2].port = 7;
	rules[3] = rule_new(4, 30, 4, DSE_FW_DROP);
	rules[3].segment = 4;
	rules[3].port = 8;
	rules[4] = rule_new(5, 5, 4, DSE_FW_DROP);
	rules[4].segment = 0; /* segment 0 is a segment, not a wildcard */
	rs = compile_ok(rules, 5);

	struct {
		uint8_t dir;
		uint16_t seg, port;
		uint32_t id;
	} cases[] = {
	    {DSE_FW_DIR_IN, 3, 1, 2},	       {DSE_FW_DIR_OUT, 3, 1, 1},
	    {DSE_FW_DIR_IN, 2, 1, 1},	       {DSE_FW_DIR_OUT, 2, 7, 3},
	    {DSE_FW_DIR_IN, 2, 7, 1},	       {DSE_FW_DIR_IN, 3, 7, 2},
	    {DSE_FW_DIR_OUT, 3, 7, 3},	       {DSE_FW_DIR_IN, 4, 8, 4},
	    {DSE_FW_DIR_OUT, 4, 8, 4},	       {DSE_FW_DIR_OUT, 4, 9, 1},
	    {DSE_FW_DIR_OUT, 5, 8, 1},	       {DSE_FW_DIR_OUT, 0, 1, 5},
	    {DSE_FW_DIR_IN, 1, DSE_FW_ANY, 1}, {DSE_FW_DIR_OUT, 0x100, 1, 1},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		key_scope(&k, cases[i].dir, cases[i].seg, cases[i].port);
		if (winner(rs, &k) != cases[i].id)
			fail_msg("case %u (%s seg %u port %u): got rule %u, want %u", i,
				 dse_fw_dir_name(cases[i].dir), cases[i].seg, cases[i].port,
				 winner(rs, &k), cases[i].id);
	}
	dse_fw_ruleset_free(rs);
}

/*
 * Default policy: allow everywhere at first; deny per segment; DSE_FW_ANY
 * sets all; a rule's verdict overrides it; it is copied to a new rule set.
 */
static void test_default_policy(void **state)
{
	struct dse_fw_rule r = rule_new(1, 1, 4, DSE_FW_ALLOW);
	struct dse_fw_ruleset *rs, *rs2;
	struct dse_fw_key k = key_new(6, "198.18.0.1", "198.18.0.2");
	uint32_t res;

	(void)state;
	r.proto = 17;
	rs = compile_ok(&r, 1);
	res = classify1(rs, &k);
	assert_int_equal(res, 0);
	assert_int_equal(dse_fw_verdict(rs, res, 3), DSE_FW_ALLOW);
	assert_int_equal(dse_fw_default_set(rs, 3, DSE_FW_DROP), 0);
	assert_int_equal(dse_fw_verdict(rs, res, 3), DSE_FW_DROP);
	assert_int_equal(dse_fw_verdict(rs, res, 2), DSE_FW_ALLOW);
	assert_int_equal(dse_fw_verdict(rs, res, 4), DSE_FW_ALLOW);
	assert_int_equal(dse_fw_verdict(rs, res, 65534), DSE_FW_ALLOW);
	/* A matching allow rule wins over the segment's deny. */
	k.proto = 17;
	res = classify1(rs, &k);
	assert_int_equal(res, 1);
	assert_int_equal(dse_fw_verdict(rs, res, 3), DSE_FW_ALLOW);
	/* Reject is not a default policy. */
	assert_int_equal(dse_fw_default_set(rs, 3, DSE_FW_REJECT), -EINVAL);
	/* Deny everywhere, then allow one segment back. */
	assert_int_equal(dse_fw_default_set(rs, DSE_FW_ANY, DSE_FW_DROP), 0);
	assert_int_equal(dse_fw_default_set(rs, 200, DSE_FW_ALLOW), 0);
	assert_int_equal(dse_fw_verdict(rs, 0, 0), DSE_FW_DROP);
	assert_int_equal(dse_fw_verdict(rs, 0, 199), DSE_FW_DROP);
	assert_int_equal(dse_fw_verdict(rs, 0, 200), DSE_FW_ALLOW);
	assert_int_equal(dse_fw_verdict(rs, 0, 201), DSE_FW_DROP);
	/* Carried to the next rule set; a fresh one allows everything. */
	rs2 = compile_ok(&r, 1);
	assert_int_equal(dse_fw_verdict(rs2, 0, 0), DSE_FW_ALLOW);
	dse_fw_default_copy(rs2, rs);
	assert_int_equal(dse_fw_verdict(rs2, 0, 0), DSE_FW_DROP);
	assert_int_equal(dse_fw_verdict(rs2, 0, 200), DSE_FW_ALLOW);
	dse_fw_default_copy(rs2, NULL);
	assert_int_equal(dse_fw_verdict(rs2, 0, 0), DSE_FW_ALLOW);
	/* No rule set at all: allow. */
	assert_int_equal(dse_fw_verdict(NULL, 0, 0), DSE_FW_ALLOW);
	dse_fw_ruleset_free(rs);
	dse_fw_ruleset_free(rs2);
}

/* Expects 'r' to be refused with a message that contains every word of 'words'. */
static void expect_invalid(const struct dse_fw_rule *r, const char *const *words)
{
	char err[DSE_FW_ERR_LEN] = "";
	struct dse_fw_ruleset *rs;

	assert_int_equal(dse_fw_rule_validate(r, err, sizeof(err)), -EINVAL);
	for (unsigned i = 0; words[i] != NULL; i++)
		if (strstr(err, words[i]) == NULL)
			fail_msg("message \"%s\" lacks \"%s\"", err, words[i]);
	/* compile gives the same message and no rule set. */
	err[0] = '\0';
	rs = dse_fw_compile(r, 1, err, sizeof(err));
	assert_null(rs);
	assert_int_equal(rte_errno, EINVAL);
	assert_non_null(strstr(err, words[0]));
	/* No buffer for the message is fine. */
	assert_int_equal(dse_fw_rule_validate(r, NULL, 0), -EINVAL);
}

#define INVALID(...) ((const char *const[]){__VA_ARGS__, NULL})

/*
 * Validation: every bad field is refused with a message that names the rule
 * and the field.
 */
static void test_validation_errors(void **state)
{
	struct dse_fw_rule r;

	(void)state;
	r = rule_new(7, 1, 4, DSE_FW_ALLOW);
	assert_int_equal(dse_fw_rule_validate(&r, NULL, 0), 0);

	r = rule_new(0, 1, 4, DSE_FW_ALLOW);
	expect_invalid(&r, INVALID("rule 0:", "id"));
	r = rule_new(7, 1, 5, DSE_FW_ALLOW);
	expect_invalid(&r, INVALID("rule 7:", "family", "5"));
	r = rule_new(7, 1, 4, 3);
	expect_invalid(&r, INVALID("rule 7:", "action 3"));
	r = rule_new(7, 1, 4, DSE_FW_ALLOW);
	r.direction = 3;
	expect_invalid(&r, INVALID("rule 7:", "direction 3"));
	r = rule_new(7, 1, 4, DSE_FW_ALLOW);
	r.proto = 47;
	expect_invalid(&r, INVALID("rule 7:", "protocol 47"));
	r = rule_new(7, 1, 6, DSE_FW_ALLOW);
	r.proto = 1;
	expect_invalid(&r, INVALID("rule 7:", "ICMP (1)", "IPv4 only"));
	r = rule_new(7, 1, 4, DSE_FW_ALLOW);
	r.proto = 58;
	expect_invalid(&r, INVALID("rule 7:", "ICMPv6 (58)", "IPv6 only"));
	r = rule_new(7, 1, 0, DSE_FW_ALLOW);
	r.proto = 1;
	expect_invalid(&r, INVALID("rule 7:", "ICMP"));

	/* Prefix length against the family. */
	r = rule_new(7, 1, 4, DSE_FW_ALLOW);
	r.src.plen = 33;
	expect_invalid(&r, INVALID("rule 7:", "source prefix", "/33", "IPv4"));
	r = rule_new(7, 1, 4, DSE_FW_ALLOW);
	r.dst.plen = 64;
	expect_invalid(&r, INVALID("rule 7:", "destination prefix", "/64", "IPv4"));
	r = rule_new(7, 1, 6, DSE_FW_ALLOW);
	r.dst.plen = 129;
	expect_invalid(&r, INVALID("rule 7:", "destination prefix", "/129", "IPv6"));
	r = rule_new(7, 1, 6, DSE_FW_ALLOW);
	r.dst.plen = 128;
	assert_int_equal(dse_fw_rule_validate(&r, NULL, 0), 0);
	r = rule_new(7, 1, 0, DSE_FW_ALLOW);
	r.src.plen = 8;
	expect_invalid(&r, INVALID("rule 7:", "both IPv4 and IPv6", "source prefix"));

	/* Ports: reversed ranges, and ports without TCP or UDP. */
	r = rule_new(7, 1, 4, DSE_FW_ALLOW);
	r.proto = 6;
	r.dport = (struct dse_fw_ports){90, 80};
	expect_invalid(&r, INVALID("rule 7:", "destination port range 90-80", "reversed"));
	r.dport = (struct dse_fw_ports){80, 80};
	r.sport = (struct dse_fw_ports){2, 1};
	expect_invalid(&r, INVALID("rule 7:", "source port range 2-1", "reversed"));
	r = rule_new(7, 1, 4, DSE_FW_ALLOW);
	r.dport = (struct dse_fw_ports){22, 22};
	expect_invalid(&r, INVALID("rule 7:", "destination ports 22-22", "TCP", "UDP", "any"));
	r = rule_new(7, 1, 4, DSE_FW_ALLOW);
	r.proto = 1;
	r.sport = (struct dse_fw_ports){0, 100};
	expect_invalid(&r, INVALID("rule 7:", "source ports 0-100", "ICMP"));

	/* ICMP type: range, and only with ICMP. */
	r = rule_new(7, 1, 4, DSE_FW_ALLOW);
	r.proto = 6;
	r.icmp_type = 8;
	expect_invalid(&r, INVALID("rule 7:", "ICMP type (8)", "TCP"));
	r = rule_new(7, 1, 4, DSE_FW_ALLOW);
	r.icmp_type = 3;
	expect_invalid(&r, INVALID("rule 7:", "ICMP type (3)", "any"));
	r = rule_new(7, 1, 4, DSE_FW_ALLOW);
	r.proto = 1;
	r.icmp_type = 256;
	expect_invalid(&r, INVALID("rule 7:", "ICMP type 256", "out of range"));
	r.icmp_type = -2;
	expect_invalid(&r, INVALID("rule 7:", "ICMP type -2", "out of range"));

	/* Duplicate ids and too many rules are refused by compile. */
	{
		struct dse_fw_rule two[3] = {rule_new(5, 1, 4, 0), rule_new(6, 1, 4, 0),
					     rule_new(5, 2, 6, 0)};
		char err[DSE_FW_ERR_LEN];

		assert_null(dse_fw_compile(two, 3, err, sizeof(err)));
		assert_int_equal(rte_errno, EINVAL);
		assert_non_null(strstr(err, "rule id 5 is used twice"));
		assert_non_null(strstr(err, "rules 1 and 3"));
		assert_null(dse_fw_compile(two, DSE_FW_MAX_RULES + 1, err, sizeof(err)));
		assert_int_equal(rte_errno, EINVAL);
		assert_non_null(strstr(err, "too many"));
	}
	/* A short buffer gets a truncated, terminated message. */
	{
		char small[12];

		r = rule_new(7, 1, 9, DSE_FW_ALLOW);
		assert_int_equal(dse_fw_rule_validate(&r, small, sizeof(small)), -EINVAL);
		assert_int_equal(strlen(small), sizeof(small) - 1);
	}
}

/*
 * Hit counters: counted per rule index; a new rule set takes over the
 * counts of the rules that keep their id (wherever they now sit), new rules
 * start at 0, removed rules take their counts along.
 */
static void test_counters_carried_by_id(void **state)
{
	struct dse_fw_rule a[3] = {rule_new(10, 1, 4, 0), rule_new(20, 2, 4, 0),
				   rule_new(30, 3, 4, 0)};
	struct dse_fw_rule b[3] = {rule_new(40, 1, 4, 0), rule_new(30, 3, 4, 1),
				   rule_new(10, 9, 6, 0)};
	struct dse_fw_ruleset *ra, *rb;

	(void)state;
	ra = compile_ok(a, 3);
	for (int i = 0; i < 5; i++)
		dse_fw_count(ra, 1);
	for (int i = 0; i < 7; i++)
		dse_fw_count(ra, 2);
	dse_fw_count(ra, 3);
	dse_fw_count(ra, 0); /* no rule: nothing */
	assert_int_equal(dse_fw_hits(ra, 0), 5);
	assert_int_equal(dse_fw_hits(ra, 1), 7);
	assert_int_equal(dse_fw_hits(ra, 2), 1);

	rb = compile_ok(b, 3);
	dse_fw_count(rb, 2); /* a hit on the new set before the carry is kept */
	dse_fw_counters_carry(rb, ra);
	assert_int_equal(dse_fw_find(rb, 40), 0);
	assert_int_equal(dse_fw_hits(rb, 0), 0); /* id 40: new */
	assert_int_equal(dse_fw_hits(rb, 1), 2); /* id 30: 1 + 1 */
	assert_int_equal(dse_fw_hits(rb, 2), 5); /* id 10: changed, same id */
	assert_int_equal(dse_fw_find(rb, 20), -ENOENT);
	assert_int_equal(dse_fw_find(ra, 20), 1);
	dse_fw_counters_carry(rb, NULL);
	assert_int_equal(dse_fw_hits(rb, 2), 5);
	dse_fw_ruleset_free(ra);
	dse_fw_ruleset_free(rb);
}

/* Empty and missing rule sets classify everything as 0. */
static void test_empty_ruleset(void **state)
{
	struct dse_fw_ruleset *rs = compile_ok(NULL, 0);
	struct dse_fw_key k4 = key_new(6, "198.18.0.1", "198.18.0.2");
	struct dse_fw_key k6 = key_new(6, "2001:db8::1", "2001:db8::2");
	const struct dse_fw_key *keys[2] = {&k4, &k6};
	uint32_t res[2] = {7, 7};

	(void)state;
	assert_null(rs->acl4);
	assert_null(rs->acl6);
	assert_int_equal(dse_fw_classify(rs, keys, 2, res), 0);
	assert_int_equal(res[0], 0);
	assert_int_equal(res[1], 0);
	res[0] = res[1] = 7;
	assert_int_equal(dse_fw_classify(NULL, keys, 2, res), 0);
	assert_int_equal(res[0] + res[1], 0);
	assert_int_equal(dse_fw_classify(rs, keys, 0, res), 0);
	assert_int_equal(dse_fw_find(rs, 1), -ENOENT);
	dse_fw_counters_carry(rs, rs);
	dse_fw_ruleset_free(rs);
	dse_fw_ruleset_free(NULL);
}

/* ---- frames for dse_fw_key_fill() ---- */

struct frame {
	uint8_t b[256];
	unsigned len;
};

static void put(struct frame *f, const void *p, unsigned n)
{
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

static void put16(struct frame *f, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	put(f, x, 2);
}

/* Ethernet, optional VLAN tag, then an IPv4 or IPv6 header for 'l4len' bytes of 'proto'. */
static void frame_ip(struct frame *f, bool v6, bool vlan, uint8_t proto, const char *src,
		     const char *dst, unsigned l4len)
{
	static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
	uint8_t a[16];

	f->len = 0;
	put(f, macs, 12);
	if (vlan) {
		put16(f, 0x8100);
		put16(f, 10);
	}
	put16(f, v6 ? 0x86dd : 0x0800);
	if (!v6) {
		uint8_t h[12] = {0x45,
				 0,
				 (uint8_t)((20 + l4len) >> 8),
				 (uint8_t)(20 + l4len),
				 0,
				 1,
				 0,
				 0,
				 64,
				 proto,
				 0,
				 0};

		put(f, h, 12);
		assert_int_equal(inet_pton(AF_INET, src, a), 1);
		put(f, a, 4);
		assert_int_equal(inet_pton(AF_INET, dst, a), 1);
		put(f, a, 4);
	} else {
		uint8_t h[8] = {0x60, 0, 0, 0, (uint8_t)(l4len >> 8), (uint8_t)l4len, proto, 64};

		put(f, h, 8);
		assert_int_equal(inet_pton(AF_INET6, src, a), 1);
		put(f, a, 16);
		assert_int_equal(inet_pton(AF_INET6, dst, a), 1);
		put(f, a, 16);
	}
}

static void frame_tcp(struct frame *f, uint16_t sport, uint16_t dport)
{
	uint8_t rest[16] = {0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff};

	put16(f, sport);
	put16(f, dport);
	put(f, rest, 16);
}

static void frame_udp(struct frame *f, uint16_t sport, uint16_t dport, unsigned payload)
{
	uint8_t zero[64] = {0};

	put16(f, sport);
	put16(f, dport);
	put16(f, (uint16_t)(8 + payload));
	put16(f, 0);
	put(f, zero, payload);
}

static void frame_icmp(struct frame *f, uint8_t type)
{
	uint8_t h[8] = {type, 0, 0, 0, 0, 1, 0, 1};

	put(f, h, 8);
}

/* Parses 'f' and fills a key; returns the family dse_fw_key_fill() gave. */
static int fill(const struct frame *f, struct dse_fw_key *k, uint8_t dir, uint16_t seg,
		uint16_t port)
{
	struct dse_pkt_info pi;

	assert_int_equal(dse_parse_frame(f->b, f->len, &pi), DSE_PARSE_OK);
	memset(k, 0xa5, sizeof(*k)); /* every byte must be written */
	return dse_fw_key_fill(k, f->b, &pi, dir, seg, port);
}

/*
 * The per-packet key from real frame bytes: IPv4 TCP behind a VLAN tag, IPv6
 * UDP, ICMP, ICMPv6, ARP; and each key classifies as its rule expects.
 */
static void test_key_fill_from_frames(void **state)
{
	struct dse_fw_rule rules[4];
	struct dse_fw_ruleset *rs;
	struct dse_fw_key k, ref;
	struct frame f;
	char buf[200];

	(void)state;
	rules[0] = rule_new(1, 1, 4, DSE_FW_DROP);
	rules[0].proto = 6;
	rules[0].dport = (struct dse_fw_ports){22, 22};
	rules[0].direction = DSE_FW_DIR_IN;
	rules[0].segment = 3;
	pfx(&rules[0].src, "198.18.0.0", 16);
	rules[1] = rule_new(2, 1, 6, DSE_FW_ALLOW);
	rules[1].proto = 17;
	rules[1].sport = (struct dse_fw_ports){5353, 5353};
	rules[1].port = 4;
	pfx(&rules[1].dst, "ff02::fb", 128);
	rules[2] = rule_new(3, 1, 4, DSE_FW_REJECT);
	rules[2].proto = 1;
	rules[2].icmp_type = 8;
	rules[3] = rule_new(4, 1, 6, DSE_FW_REJECT);
	rules[3].proto = 58;
	rules[3].icmp_type = 135;
	rs = compile_ok(rules, 4);

	/* IPv4 TCP, tagged. */
	frame_ip(&f, false, true, 6, "198.18.1.2", "198.18.3.4", 20);
	frame_tcp(&f, 40000, 22);
	assert_int_equal(fill(&f, &k, DSE_FW_DIR_IN, 3, 9), 4);
	ref = key_new(6, "198.18.1.2", "198.18.3.4");
	key_ports(&ref, 40000, 22);
	key_scope(&ref, DSE_FW_DIR_IN, 3, 9);
	assert_memory_equal(&k, &ref, sizeof(k));
	assert_int_equal(winner(rs, &k), 1);
	dse_fw_key_format(&k, buf, sizeof(buf));
	assert_string_equal(buf, "tcp 198.18.1.2:40000 -> 198.18.3.4:22 in segment 3 port 9");
	/* The deny log names them where it knows the names; an unknown one is its index. */
	dse_fw_key_format_named(&k, "web", "vm1-eth0", buf, sizeof(buf));
	assert_string_equal(buf,
			    "tcp 198.18.1.2:40000 -> 198.18.3.4:22 in segment web port vm1-eth0");
	dse_fw_key_format_named(&k, "web", NULL, buf, sizeof(buf));
	assert_string_equal(buf, "tcp 198.18.1.2:40000 -> 198.18.3.4:22 in segment web port 9");
	assert_int_equal(fill(&f, &k, DSE_FW_DIR_OUT, 3, 9), 4);
	assert_int_equal(winner(rs, &k), 0);

	/* IPv6 UDP. */
	frame_ip(&f, true, false, 17, "fe80::1", "ff02::fb", 8 + 10);
	frame_udp(&f, 5353, 5353, 10);
	assert_int_equal(fill(&f, &k, DSE_FW_DIR_OUT, 1, 4), 6);
	ref = key_new(17, "fe80::1", "ff02::fb");
	key_ports(&ref, 5353, 5353);
	key_scope(&ref, DSE_FW_DIR_OUT, 1, 4);
	assert_memory_equal(&k, &ref, sizeof(k));
	assert_int_equal(winner(rs, &k), 2);
	dse_fw_key_format(&k, buf, sizeof(buf));
	assert_string_equal(buf, "udp [fe80::1]:5353 -> [ff02::fb]:5353 out segment 1 port 4");
	assert_int_equal(fill(&f, &k, DSE_FW_DIR_OUT, 1, DSE_FW_ANY), 6);
	assert_int_equal(winner(rs, &k), 0);

	/* ICMP echo request. */
	frame_ip(&f, false, false, 1, "198.18.0.1", "198.18.0.2", 8);
	frame_icmp(&f, 8);
	assert_int_equal(fill(&f, &k, DSE_FW_DIR_OUT, 1, 1), 4);
	assert_int_equal(k.icmp_type, 8);
	assert_int_equal(k.sport, 0);
	assert_int_equal(k.dport, 0);
	assert_int_equal(winner(rs, &k), 3);
	dse_fw_key_format(&k, buf, sizeof(buf));
	assert_string_equal(buf, "icmp 198.18.0.1 -> 198.18.0.2 type 8 out segment 1 port 1");

	/* ICMPv6 neighbour solicitation. */
	frame_ip(&f, true, false, 58, "fe80::1", "ff02::1:ff00:2", 8);
	frame_icmp(&f, 135);
	assert_int_equal(fill(&f, &k, DSE_FW_DIR_IN, 1, 1), 6);
	assert_int_equal(k.icmp_type, 135);
	assert_int_equal(winner(rs, &k), 4);

	/* ARP is not IP: no key. */
	{
		static const uint8_t arp[42] = {
		    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0,	 1,  0x08, 0x06,
		    0,	  1,	8,    0,    6,	  4,	0, 1, 2, 0, 0,	 0,  0,	   1,
		    198,  18,	0,    1,    0,	  0,	0, 0, 0, 0, 198, 18, 0,	   2};
		struct dse_pkt_info pi;

		assert_int_equal(dse_parse_frame(arp, sizeof(arp), &pi), DSE_PARSE_OK);
		assert_int_equal(dse_fw_key_fill(&k, arp, &pi, DSE_FW_DIR_OUT, 1, 1), 0);
		assert_int_equal(k.family, 0);
		assert_int_equal(classify1(rs, &k), 0);
		dse_fw_key_format(&k, buf, sizeof(buf));
		assert_string_equal(buf, "not IP");
	}
	dse_fw_ruleset_free(rs);
}

/*
 * Bursts mixing IPv4, IPv6 and non-IP keys, longer than the internal chunk
 * (256), give each key the result it gets alone.
 */
static void test_mixed_family_burst(void **state)
{
	enum { N_RULES = 60, N_KEYS = 700 };
	struct dse_fw_rule rules[N_RULES];
	struct dse_fw_key *keys = calloc(N_KEYS, sizeof(*keys));
	struct dse_fw_ruleset *rs;
	unsigned matched;

	(void)state;
	assert_non_null(keys);
	rng_state = 42;
	for (unsigned i = 0; i < N_RULES; i++)
		rules[i] = rand_rule(i + 1, 4);
	rs = compile_ok(rules, N_RULES);
	for (unsigned i = 0; i < N_KEYS; i++) {
		keys[i] = rand_key(rnd() % 4 ? &rules[rnd() % N_RULES] : NULL, 4);
		if (i % 50 == 0)
			keys[i].family = 0; /* a key of a non-IP frame */
	}
	matched = check_against_ref(rs, rules, N_RULES, keys, N_KEYS, N_KEYS);
	assert_true(matched > N_KEYS / 4);
	check_against_ref(rs, rules, N_RULES, keys, N_KEYS, 1);
	check_against_ref(rs, rules, N_RULES, keys, N_KEYS, 33);
	dse_fw_ruleset_free(rs);
	free(keys);
}

/*
 * Random rule sets against the reference matcher: every field random (both
 * families and family 0, prefixes of every length, ranges, ICMP types,
 * direction, scope, priorities with many ties).
 * Verify: the same result for every key.
 */
static void test_random_against_reference(void **state)
{
	enum { ROUNDS = 6, N_RULES = 300, N_KEYS = 5000 };
	struct dse_fw_rule *rules = calloc(N_RULES, sizeof(*rules));
	struct dse_fw_key *keys = calloc(N_KEYS, sizeof(*keys));

	(void)state;
	assert_non_null(rules);
	assert_non_null(keys);
	for (unsigned round = 0; round < ROUNDS; round++) {
		struct dse_fw_ruleset *rs;
		unsigned n = round == 0 ? 1 : N_RULES / ROUNDS * round, matched;

		rng_state = 1000 + round;
		for (unsigned i = 0; i < n; i++)
			rules[i] = rand_rule(rnd() % 2 ? i + 1 : 100000 - i, 8);
		rs = compile_ok(rules, n);
		for (unsigned i = 0; i < N_KEYS; i++)
			keys[i] = rand_key(rnd() % 8 ? &rules[rnd() % n] : NULL, 8);
		matched = check_against_ref(rs, rules, n, keys, N_KEYS, 64);
		assert_true(matched > 0);
		dse_fw_ruleset_free(rs);
	}
	free(rules);
	free(keys);
}

/*
 * A set of 10000 rules (IPv4 and IPv6, as a segment-scoped DFW policy
 * looks: host and subnet destinations, service ports, a few ranges) compiles
 * and classifies as the reference says.  Prints the compile time and the
 * time to carry counters over to a rebuilt set.
 */
static void test_10000_rules(void **state)
{
	enum { N_RULES = 10000, N_KEYS = 4000 };
	static const uint16_t services[] = {22, 53, 80, 443, 3306, 5432, 6379, 8080, 9090};
	struct dse_fw_rule *rules = calloc(N_RULES, sizeof(*rules));
	struct dse_fw_key *keys = calloc(N_KEYS, sizeof(*keys));
	struct dse_fw_ruleset *rs, *rs2;
	double t0, c0, t_compile, c_compile, t_carry, t_classify, rate = 0;
	struct rte_malloc_socket_stats heap0, heap1;
	unsigned matched, n4 = 0;

	(void)state;
	assert_non_null(rules);
	assert_non_null(keys);
	rng_state = 10000;
	for (unsigned i = 0; i < N_RULES; i++) {
		struct dse_fw_rule *r = &rules[i];
		bool v6 = i % 5 == 4;

		*r = rule_new(i + 1, (int32_t)(rnd() % 1000), v6 ? 6 : 4, rnd() % 3);
		r->proto = rnd() % 2 ? 6 : 17;
		r->segment = (uint16_t)(rnd() % 64);
		r->direction = (uint8_t)(rnd() % 3);
		if (!v6) {
			n4++;
			r->dst.addr[0] = 198;
			r->dst.addr[1] = (uint8_t)(18 + rnd() % 2);
			r->dst.addr[2] = (uint8_t)(rnd() % 256);
			r->dst.addr[3] = (uint8_t)(rnd() % 256);
			r->dst.plen = rnd() % 4 ? 32 : 24;
			if (rnd() % 3 == 0) {
				r->src.addr[0] = 198;
				r->src.addr[1] = 18;
				r->src.addr[2] = (uint8_t)(rnd() % 256);
				r->src.plen = 24;
			}
		} else {
			static const uint8_t base[6] = {0x20, 0x01, 0x0d, 0xb8, 0, 0};

			memcpy(r->dst.addr, base, 6);
			r->dst.addr[6] = (uint8_t)(rnd() % 64);
			r->dst.addr[15] = (uint8_t)(rnd() % 256);
			r->dst.plen = rnd() % 4 ? 128 : 64;
		}
		if (rnd() % 10 == 0) {
			r->dport.lo = (uint16_t)(1024 + rnd() % 30000);
			r->dport.hi = (uint16_t)(r->dport.lo + rnd() % 1000);
		} else {
			r->dport.lo = r->dport.hi = services[rnd() % 9];
		}
	}
	rte_malloc_get_socket_stats(0, &heap0);
	t0 = now_s();
	c0 = cpu_s();
	rs = compile_ok(rules, N_RULES);
	c_compile = cpu_s() - c0;
	t_compile = now_s() - t0;
	rte_malloc_get_socket_stats(0, &heap1);
	assert_non_null(rs->acl4);
	assert_non_null(rs->acl6);
	for (unsigned i = 0; i < N_KEYS; i++)
		keys[i] = rand_key(rnd() % 8 ? &rules[rnd() % N_RULES] : NULL, 64);
	matched = check_against_ref(rs, rules, N_RULES, keys, N_KEYS, 256);
	assert_true(matched > N_KEYS / 4);

	/* Classification rate against this set, bursts of 256, best of 3 runs. */
	for (unsigned run = 0; run < 3; run++) {
		const struct dse_fw_key *ptrs[256];
		uint32_t res[256];

		t0 = now_s();
		for (unsigned base = 0; base + 256 <= N_KEYS; base += 256) {
			for (unsigned i = 0; i < 256; i++)
				ptrs[i] = &keys[base + i];
			assert_int_equal(dse_fw_classify(rs, ptrs, 256, res), 0);
		}
		t_classify = now_s() - t0;
		if (run == 0 || N_KEYS / 256 * 256 / t_classify > rate)
			rate = N_KEYS / 256 * 256 / t_classify;
	}

	/* Spot checks by hand: a key made from one rule hits a rule that covers it. */
	for (unsigned i = 0; i < 20; i++) {
		const struct dse_fw_rule *r = &rules[rnd() % N_RULES];
		struct dse_fw_key k;
		uint32_t res;

		memset(&k, 0, sizeof(k));
		k.family = r->family;
		k.proto = r->proto;
		k.dir = r->direction ? r->direction : DSE_FW_DIR_IN;
		k.segment = rte_cpu_to_be_16(r->segment);
		memcpy(k.src, r->src.addr, 16);
		memcpy(k.dst, r->dst.addr, 16);
		key_ports(&k, 1, r->dport.lo);
		res = classify1(rs, &k);
		assert_int_not_equal(res, 0);
		assert_true(rs->rules[res - 1].priority >= r->priority);
		assert_true(ref_rule_matches(&rs->rules[res - 1], &k));
	}

	/* Rebuild the same rules, count hits, carry them over. */
	for (unsigned i = 0; i < N_RULES; i++)
		dse_fw_count(rs, i + 1);
	rs2 = compile_ok(rules, N_RULES);
	t0 = now_s();
	dse_fw_counters_carry(rs2, rs);
	t_carry = now_s() - t0;
	for (unsigned i = 0; i < N_RULES; i++)
		assert_int_equal(dse_fw_hits(rs2, i), 1);
	print_message("acl: %u rules (%u IPv4, %u IPv6) compiled in %.1f ms (%.1f ms of CPU); "
		      "classify %.1f M "
		      "keys/s (mixed families); counters carried in %.1f us; %u of %u keys "
		      "matched a rule; tries take %.1f MB of DPDK memory\n",
		      N_RULES, n4, N_RULES - n4, t_compile * 1e3, c_compile * 1e3, rate / 1e6,
		      t_carry * 1e6,
		      matched, N_KEYS,
		      (double)(heap1.heap_allocsz_bytes - heap0.heap_allocsz_bytes) / 1e6);
	dse_fw_ruleset_free(rs);
	dse_fw_ruleset_free(rs2);
	free(rules);
	free(keys);
}

/* What the reader of test_rcu_swap_under_a_concurrent_reader shares with the writer. */
struct rcu_test {
	struct rte_rcu_qsbr *qs;
	struct dse_fw_ruleset *_Atomic cur;
	atomic_bool stop;
	uint64_t counted;    /* packets the reader counted on rule 1 */
	uint64_t mismatches; /* classifications inconsistent with the set they used */
	uint64_t walks;
};

/*
 * The reader: a worker's loop.  Each "walk" loads the set once, classifies a
 * key with it, checks the winner in the same set's rules (rule 1 of every
 * set matches the key), counts the hit and reports a quiescent state.
 */
static void *rcu_reader(void *arg)
{
	struct rcu_test *t = arg;
	struct dse_fw_key k = key_new(6, "198.18.0.1", "198.18.0.2");
	const struct dse_fw_key *kp = &k;

	key_ports(&k, 1000, 80);
	rte_rcu_qsbr_thread_register(t->qs, 0);
	rte_rcu_qsbr_thread_online(t->qs, 0);
	while (!atomic_load(&t->stop)) {
		struct dse_fw_ruleset *rs = atomic_load_explicit(&t->cur, memory_order_acquire);
		uint32_t res = 0;

		if (dse_fw_classify(rs, &kp, 1, &res) != 0 || res == 0 ||
		    rs->rules[res - 1].id != 1 || dse_fw_find(rs, 1) != (int)(res - 1))
			t->mismatches++;
		else
			dse_fw_count(rs, res);
		t->counted += res != 0;
		t->walks++;
		rte_rcu_qsbr_quiescent(t->qs, 0);
	}
	rte_rcu_qsbr_thread_offline(t->qs, 0);
	rte_rcu_qsbr_thread_unregister(t->qs, 0);
	return NULL;
}

/* A set of rule 1 (it matches the reader's key) and 'n' fillers that do not. */
static struct dse_fw_ruleset *rcu_set(unsigned n)
{
	struct dse_fw_rule *rules = calloc(n + 1, sizeof(*rules));
	struct dse_fw_ruleset *rs;

	assert_non_null(rules);
	rules[0] = rule_new(1, 0, 4, DSE_FW_ALLOW);
	rules[0].proto = 6;
	for (unsigned i = 0; i < n; i++) {
		rules[i + 1] = rule_new(10 + i, 1, 4, DSE_FW_DROP);
		rules[i + 1].proto = 17;
		rules[i + 1].dport.lo = rules[i + 1].dport.hi = (uint16_t)(i + 1);
	}
	rs = dse_fw_compile(rules, n + 1, NULL, 0);
	assert_non_null(rs);
	free(rules);
	return rs;
}

/*
 * RCU swaps under a concurrent reader: a writer publishes 200 rule sets one
 * after the other with one pointer store each, waits for the grace period
 * (rte_rcu_qsbr_synchronize), carries the counters over and frees the old
 * set, while a reader thread classifies with whatever set is current.
 * The reader never uses a set that was freed (ASan would say so: the set's
 * arrays are read and written on every walk), always finds rule 1 as its
 * winner, and no hit is lost to a swap: the final set's counter of rule 1
 * equals what the reader counted over all 201 sets.
 */
static void test_rcu_swap_under_a_concurrent_reader(void **state)
{
	struct rcu_test t = {0};
	pthread_t th;
	struct dse_fw_ruleset *old;
	uint64_t walks0;

	(void)state;
	t.qs = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), RTE_CACHE_LINE_SIZE);
	assert_non_null(t.qs);
	assert_int_equal(rte_rcu_qsbr_init(t.qs, 1), 0);
	atomic_store(&t.cur, rcu_set(8));
	assert_int_equal(pthread_create(&th, NULL, rcu_reader, &t), 0);
	for (unsigned i = 0; i < 200; i++) {
		struct dse_fw_ruleset *next = rcu_set(8 + i % 16);

		old = atomic_load(&t.cur);
		atomic_store_explicit(&t.cur, next, memory_order_release);
		rte_rcu_qsbr_synchronize(t.qs, RTE_QSBR_THRID_INVALID);
		dse_fw_counters_carry(next, old);
		dse_fw_ruleset_free(old);
	}
	/* Let the reader walk a few more times on the last set, then stop it. */
	walks0 = t.walks;
	while (__atomic_load_n(&t.walks, __ATOMIC_RELAXED) < walks0 + 100)
		sched_yield();
	atomic_store(&t.stop, true);
	pthread_join(th, NULL);
	old = atomic_load(&t.cur);
	assert_int_equal(t.mismatches, 0);
	assert_true(t.counted > 0);
	assert_int_equal(dse_fw_hits(old, (uint32_t)dse_fw_find(old, 1)), t.counted);
	print_message("rcu: 200 swaps under a reader that walked %llu times\n",
		      (unsigned long long)t.walks);
	dse_fw_ruleset_free(old);
	rte_free(t.qs);
}

/*
 * Speed: keys classified per second in bursts of 256 against 100 rules, and
 * the cost of filling a key from a frame.  Printed, not asserted.
 */
static void test_classify_speed(void **state)
{
	enum { N_RULES = 100, BURST = 256, ROUNDS = 2000 };
	struct dse_fw_rule rules[N_RULES];
	struct dse_fw_key *keys = calloc(BURST, sizeof(*keys));
	const struct dse_fw_key *ptrs[BURST];
	uint32_t res[BURST];
	struct dse_fw_ruleset *rs;
	struct dse_pkt_info *infos;
	struct frame *frames;
	double t0, dt, rate4 = 0, rate6 = 0;
	uint64_t sum = 0;

	(void)state;
	assert_non_null(keys);
	rng_state = 7;
	for (unsigned i = 0; i < N_RULES; i++) {
		rules[i] = rand_rule(i + 1, 8);
		if (rules[i].family == 0)
			rules[i].family = 4;
	}
	rs = compile_ok(rules, N_RULES);
	for (int fam = 4; fam <= 6; fam += 2) {
		double best = 0;

		for (unsigned i = 0; i < BURST; i++) {
			const struct dse_fw_rule *r;

			do
				r = &rules[rnd() % N_RULES];
			while (r->family != fam);
			keys[i] = rand_key(r, 8);
			ptrs[i] = &keys[i];
		}
		/* The machine may be shared: the best of a few runs. */
		for (unsigned run = 0; run < 5; run++) {
			t0 = now_s();
			for (unsigned round = 0; round < ROUNDS; round++) {
				assert_int_equal(dse_fw_classify(rs, ptrs, BURST, res), 0);
				sum += res[round % BURST];
			}
			dt = now_s() - t0;
			if ((double)BURST * ROUNDS / dt > best)
				best = (double)BURST * ROUNDS / dt;
		}
		if (fam == 4)
			rate4 = best;
		else
			rate6 = best;
		if (getenv("DSE_ACL_ALGS") != NULL) {
			/* Which rte_acl implementation pays off here (not asserted). */
			static const char *const names[] = {"default",	 "scalar",   "sse",
							    "avx2",	 "neon",     "altivec",
							    "avx512x16", "avx512x32"};
			const struct rte_acl_ctx *ctx = fam == 4 ? rs->acl4 : rs->acl6;

			/* 0 is not the context's choice here but always the scalar code. */
			for (unsigned alg = 1; alg < 8; alg++) {
				best = 0;
				for (unsigned run = 0; run < 5; run++) {
					t0 = now_s();
					for (unsigned round = 0; round < ROUNDS; round++)
						if (rte_acl_classify_alg(ctx,
									 (const uint8_t **)ptrs,
									 res, BURST, 1, alg) != 0)
							break;
					dt = now_s() - t0;
					if ((double)BURST * ROUNDS / dt > best)
						best = (double)BURST * ROUNDS / dt;
				}
				if (rte_acl_classify_alg(ctx, (const uint8_t **)ptrs, res, BURST, 1,
							 alg) == 0)
					print_message("acl: IPv%d %s: %.1f M keys/s\n", fam,
						      names[alg], best / 1e6);
			}
		}
	}

	/*
	 * Filling keys from parsed frames: a burst of different frames, half
	 * IPv4 TCP and half IPv6 UDP, as the datapath would see them.
	 */
	frames = calloc(BURST, sizeof(*frames));
	infos = calloc(BURST, sizeof(*infos));
	assert_non_null(frames);
	assert_non_null(infos);
	for (unsigned i = 0; i < BURST; i++) {
		char a[64];

		if (i % 2) {
			snprintf(a, sizeof(a), "2001:db8::%x", i);
			frame_ip(&frames[i], true, false, 17, a, "2001:db8::1", 8 + 4);
			frame_udp(&frames[i], (uint16_t)(1000 + i), 53, 4);
		} else {
			snprintf(a, sizeof(a), "198.18.%u.%u", i / 256, i % 256);
			frame_ip(&frames[i], false, false, 6, a, "198.18.3.4", 20);
			frame_tcp(&frames[i], (uint16_t)(40000 + i), 22);
		}
		assert_int_equal(dse_parse_frame(frames[i].b, frames[i].len, &infos[i]),
				 DSE_PARSE_OK);
	}
	t0 = now_s();
	for (unsigned round = 0; round < ROUNDS; round++)
		for (unsigned i = 0; i < BURST; i++)
			sum += (uint64_t)dse_fw_key_fill(&keys[i], frames[i].b, &infos[i],
							 DSE_FW_DIR_OUT, (uint16_t)round, 1);
	dt = now_s() - t0;
	print_message("acl: classify %u rules, bursts of %u: %.1f M IPv4 keys/s, %.1f M IPv6 "
		      "keys/s; key fill %.1f ns (%s)\n",
		      N_RULES, BURST, rate4 / 1e6, rate6 / 1e6, dt * 1e9 / (ROUNDS * BURST),
		      sum != 0 ? "ok" : "-");
	dse_fw_ruleset_free(rs);
	free(keys);
	free(frames);
	free(infos);
}

/*
 * The denial log is rate limited: a burst of lines, then nothing until the
 * bucket refills, and the next line says how many were not logged.
 */
static void test_denylog_rate_limited(void **state)
{
	struct dse_fw_rule r = rule_new(9, 1, 4, DSE_FW_DROP);
	struct dse_fw_key k = key_new(6, "198.18.0.1", "198.18.0.2");
	struct dse_fw_denylog dl;
	unsigned written = 0;

	(void)state;
	dse_fw_denylog_init(&dl, 1, 3);
	for (int i = 0; i < 10; i++)
		written += dse_fw_denylog_write(&dl, i % 2 ? r.id : 0, r.action, 0, &k, "web",
						"vm1-eth0");
	assert_int_equal(written, 3);
	assert_int_equal(dl.logged, 3);
	assert_int_equal(dl.suppressed, 7);
	/* After a refill (one line a second: 1.1 s), one more line, which says 7 were not logged.
	 */
	dl.rl.last_ns -= 1100000000ull;
	assert_true(dse_fw_denylog_write(&dl, r.id, r.action, 5, &k, NULL, NULL));
	assert_int_equal(dl.rl.suppressed, 0);
	/* The 5 the workers did not pass on were said in that line too. */
	assert_int_equal(dl.unseen, 0);
	assert_false(dse_fw_denylog_write(&dl, 0, DSE_FW_DROP, 2, &k, NULL, NULL));
	assert_int_equal(dl.unseen, 2);
}

/*
 * Names of actions and directions are the schema's (api/types.json), whose
 * decoder parses them: every value has its name there, and no other.
 */
static void test_names(void **state)
{
	(void)state;
	assert_int_equal(dse_api_t_fw_action.n_values, DSE_FW_ACTION__MAX);
	for (unsigned a = 0; a < DSE_FW_ACTION__MAX; a++)
		assert_string_equal(dse_fw_action_name(a),
				    dse_api_enum_name(&dse_api_t_fw_action, (int)a));
	assert_int_equal(dse_api_t_fw_direction.n_values, DSE_FW_DIR__MAX);
	for (unsigned d = 0; d < DSE_FW_DIR__MAX; d++)
		assert_string_equal(dse_fw_dir_name(d),
				    dse_api_enum_name(&dse_api_t_fw_direction, (int)d));
	assert_string_equal(dse_fw_action_name(9), "?");
	assert_string_equal(dse_fw_dir_name(9), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_priority_order),
	    cmocka_unit_test(test_prefix_v4),
	    cmocka_unit_test(test_prefix_v6),
	    cmocka_unit_test(test_proto_and_family_any),
	    cmocka_unit_test(test_port_ranges),
	    cmocka_unit_test(test_icmp_type),
	    cmocka_unit_test(test_direction_and_scope),
	    cmocka_unit_test(test_default_policy),
	    cmocka_unit_test(test_validation_errors),
	    cmocka_unit_test(test_counters_carried_by_id),
	    cmocka_unit_test(test_empty_ruleset),
	    cmocka_unit_test(test_key_fill_from_frames),
	    cmocka_unit_test(test_mixed_family_burst),
	    cmocka_unit_test(test_random_against_reference),
	    cmocka_unit_test(test_10000_rules),
	    cmocka_unit_test(test_rcu_swap_under_a_concurrent_reader),
	    cmocka_unit_test(test_classify_speed),
	    cmocka_unit_test(test_denylog_rate_limited),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, eal_setup, eal_teardown);
}
