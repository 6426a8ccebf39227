/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The distributed firewall's rules: validation, compilation into DPDK
 * rte_acl tries, bulk classification, per-rule hit counters, the default
 * policy of each segment and a rate-limited log of denials.
 *
 * A rule set is immutable once compiled (only its hit counters move), so the
 * datapath never sees a half-made change.  Replacing the rules of a running
 * datapath takes three steps, all on the control thread:
 *
 *   1. next = dse_fw_compile(rules, n, err, sizeof(err));
 *      dse_fw_default_copy(next, cur) or dse_fw_default_set(next, ...);
 *      all of the expensive work (validation, sorting, rte_acl_build) is here,
 *      while the workers keep classifying with 'cur'.
 *   2. publish 'next' with one atomic store (release) of the pointer the
 *      workers load at the start of each graph walk.  Forwarding does not
 *      pause at all.
 *   3. dp_rcu_synchronize(): every worker has finished the walk that may
 *      have used 'cur', so its counters are final and nothing reads it;
 *      dse_fw_counters_carry(next, cur); dse_fw_ruleset_free(cur).
 *
 * Every packet is classified by exactly one rule set, old or new, so a rule
 * change never lets through a packet that both sets deny.
 *
 * Classification input is struct dse_fw_key, filled per packet by
 * dse_fw_key_fill().  The result of a key is the index of the winning rule
 * plus one (0: no rule matched, the segment's default policy applies).  The
 * winner is the matching rule of highest 'priority'; between equal
 * priorities, the lower 'id'.
 *
 * Threads: dse_fw_compile(), dse_fw_ruleset_free(), dse_fw_counters_carry()
 * and the dse_fw_default_* setters belong to the control thread;
 * dse_fw_classify() and dse_fw_count() to the workers; dse_fw_hits() may be
 * read from any thread.
 */
#ifndef DSE_ACL_H
#define DSE_ACL_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>

#include "log.h"
#include "parse.h"

#define DSE_FW_ANY	0xffff /* segment or port of a rule: any */
#define DSE_FW_ICMP_ANY (-1)   /* icmp_type of a rule: any */
#define DSE_FW_ERR_LEN	256    /* a comfortable size for error messages */

/*
 * Rules in one rule set.  Compiling costs grow faster than the count: 10000
 * rules take about 0.36 s of CPU and 13 MB of DPDK memory (test_acl.c prints
 * it), nearly all of a fw.rule.apply call's time.
 */
#define DSE_FW_MAX_RULES 32768u

/* What a rule does with the packets it matches. */
enum dse_fw_action {
	DSE_FW_ALLOW = 0,
	DSE_FW_DROP, /* silently */
	/*
	 * Drop and answer: a TCP RST for TCP, an ICMP (ICMPv6) destination
	 * unreachable, administratively prohibited, for anything else.  The
	 * datapath builds the answer; the rule set only says so.
	 */
	DSE_FW_REJECT,
	DSE_FW_ACTION__MAX
};

/*
 * Direction of a packet as seen from the VM.  A key carries IN or OUT; a
 * rule may say ANY.
 */
enum dse_fw_dir {
	DSE_FW_DIR_ANY = 0, /* rules only */
	DSE_FW_DIR_IN = 1,  /* toward the VM (from an uplink or another VM) */
	DSE_FW_DIR_OUT = 2, /* sent by the VM */
	DSE_FW_DIR__MAX
};

/* A prefix: 'addr' in network byte order, the first 4 bytes for IPv4. */
struct dse_fw_prefix {
	uint8_t addr[16];
	uint8_t plen; /* 0..32 (IPv4), 0..128 (IPv6); bits beyond it are ignored */
};

/* An inclusive range of TCP/UDP ports; {0, 65535} is any. */
struct dse_fw_ports {
	uint16_t lo;
	uint16_t hi;
};

/*
 * One firewall rule, as the operator gave it.  dse_fw_rule_init() sets every
 * match field to "any"; then fill what the rule restricts.
 */
struct dse_fw_rule {
	uint32_t id;	  /* user-visible, unique in a rule set, not 0 */
	int32_t priority; /* higher wins; between equal priorities the lower id */
	/*
	 * 4 (IPv4) or 6 (IPv6).  0 makes one rule for both families: its
	 * prefixes must then be /0 and its protocol not ICMP/ICMPv6.
	 */
	uint8_t family;
	uint8_t proto;	   /* 0 (any), 1 (ICMP), 6 (TCP), 17 (UDP), 58 (ICMPv6) */
	uint8_t action;	   /* enum dse_fw_action */
	uint8_t direction; /* enum dse_fw_dir */
	struct dse_fw_prefix src;
	struct dse_fw_prefix dst;
	struct dse_fw_ports sport; /* only with TCP or UDP */
	struct dse_fw_ports dport; /* only with TCP or UDP */
	int16_t icmp_type;	   /* -1 (any) or 0..255, only with ICMP or ICMPv6 */
	uint16_t segment;	   /* segment index the rule applies to, DSE_FW_ANY */
	uint16_t port;		   /* VM port (DPDK id) it applies to, DSE_FW_ANY */
};

/*
 * The classification input of one packet.  The layout is what the rte_acl
 * tries read, so it is fixed; multi-byte fields are in network byte order,
 * as rte_acl wants (dse_fw_key_fill() does it right):
 *
 *   off size field       ACL input
 *     0   1  proto       the first byte (rte_acl reads it alone)
 *     1   1  family      not matched: which trie, 4 or 6
 *     2   2  pad0        not matched, 0
 *     4   1  dir         4-byte group: dir, icmp_type, segment
 *     5   1  icmp_type   (the ICMP/ICMPv6 type, 0 for other protocols)
 *     6   2  segment
 *     8   2  port        4-byte group: port, pad1 (matched as any)
 *    10   2  pad1
 *    12  16  src         IPv4: one group (bytes 12..15, rest 0); IPv6: four
 *    28  16  dst         the same
 *    44   2  sport       4-byte group: sport, dport (0 when there are none)
 *    46   2  dport
 */
struct dse_fw_key {
	uint8_t proto;
	uint8_t family;
	uint16_t pad0;
	uint8_t dir;
	uint8_t icmp_type;
	rte_be16_t segment;
	rte_be16_t port;
	uint16_t pad1;
	uint8_t src[16];
	uint8_t dst[16];
	rte_be16_t sport;
	rte_be16_t dport;
} __attribute__((aligned(4)));

static_assert(sizeof(struct dse_fw_key) == 48, "struct dse_fw_key is read by rte_acl");
static_assert(offsetof(struct dse_fw_key, src) == 12, "struct dse_fw_key is read by rte_acl");
static_assert(offsetof(struct dse_fw_key, sport) == 44, "struct dse_fw_key is read by rte_acl");

/*
 * A compiled rule set.  Read-only after dse_fw_compile() except 'hits' and
 * the default policy (set before publication).
 */
struct dse_fw_ruleset {
	struct rte_acl_ctx *acl4; /* IPv4 rules, NULL if none */
	struct rte_acl_ctx *acl6; /* IPv6 rules, NULL if none */
	uint32_t n_rules;
	struct dse_fw_rule *rules; /* as given to dse_fw_compile(), in that order */
	uint64_t *hits;		   /* per rule index; written by the worker only */
	/*
	 * Per rule index: the hits of the sets this one replaced, added by the
	 * control thread (dse_fw_counters_carry()) while a worker may count in
	 * 'hits', which is why they are apart.
	 */
	uint64_t *carried;
	/*
	 * This set's generation: distinct for every set compiled (never 0), so
	 * a connection judged by another set is judged again.
	 */
	uint32_t gen;
	/* (id, index) sorted by id: lookups by id and counter carry-over */
	struct dse_fw_id_index {
		uint32_t id;
		uint32_t index;
	} * by_id;
	/* Default policy: one bit per segment, set = deny (all allow at first). */
	uint64_t deny_default[65536 / 64];
};

/* Sets every match field of 'r' to any, the action to allow; zeroes the rest. */
void dse_fw_rule_init(struct dse_fw_rule *r);

/*
 * Checks one rule on its own (not id uniqueness: that is the set's).
 * Returns 0, or -EINVAL with a message for a person in 'err' (which may be
 * NULL), naming the rule id and the field.
 */
int dse_fw_rule_validate(const struct dse_fw_rule *r, char *err, size_t err_len);

/*
 * Validates 'rules[0..n)' (each rule, unique ids, n <= DSE_FW_MAX_RULES) and
 * compiles them.  n = 0 is fine: nothing matches.  Returns a new rule set
 * with zero hit counters and an all-allow default policy, or NULL with
 * rte_errno set (EINVAL: a bad rule, explained in 'err'; ENOMEM; or the
 * error of rte_acl) and a message in 'err' (NULL is fine).  Control thread;
 * may take a while for large sets (see test_acl.c for numbers).
 */
struct dse_fw_ruleset *dse_fw_compile(const struct dse_fw_rule *rules, unsigned n, char *err,
				      size_t err_len);

/* Frees 'rs' and its rte_acl contexts; NULL is fine. */
void dse_fw_ruleset_free(struct dse_fw_ruleset *rs);

/*
 * Classifies 'n' keys (a burst, any mix of families): 'results[i]' becomes
 * the index of the winning rule of 'keys[i]' plus one, or 0.  A key of
 * another family than 4 or 6 gets 0.  'rs' NULL classifies everything as 0.
 * Returns 0 or the negative errno of rte_acl_classify().  Worker.
 */
int dse_fw_classify(const struct dse_fw_ruleset *rs, const struct dse_fw_key *keys[], unsigned n,
		    uint32_t *results);

/* Returns the rule of classification result 'result', or NULL for 0. */
static inline const struct dse_fw_rule *dse_fw_rule_of(const struct dse_fw_ruleset *rs,
						       uint32_t result)
{
	return result == 0 ? NULL : &rs->rules[result - 1];
}

/* Returns true if 'segment' denies what no rule matches. */
static inline bool dse_fw_default_denies(const struct dse_fw_ruleset *rs, uint16_t segment)
{
	return (rs->deny_default[segment / 64] >> (segment % 64)) & 1;
}

/*
 * Returns what to do with a packet of 'segment' whose classification gave
 * 'result': the rule's action, or the segment's default policy (ALLOW or
 * DROP) when no rule matched.  'rs' NULL allows everything.
 */
static inline enum dse_fw_action dse_fw_verdict(const struct dse_fw_ruleset *rs, uint32_t result,
						uint16_t segment)
{
	if (rs == NULL)
		return DSE_FW_ALLOW;
	if (result != 0)
		return (enum dse_fw_action)rs->rules[result - 1].action;
	return dse_fw_default_denies(rs, segment) ? DSE_FW_DROP : DSE_FW_ALLOW;
}

/* Counts one packet on the rule of 'result' (nothing for 0).  Any worker. */
static inline void dse_fw_count(struct dse_fw_ruleset *rs, uint32_t result)
{
	if (result == 0)
		return;
	/* Several workers count on one rule set: an atomic add, never a lock. */
	__atomic_fetch_add(&rs->hits[result - 1], 1, __ATOMIC_RELAXED);
}

/* Returns the hit counter of rule index 'index' (with what was carried over).  Any thread. */
static inline uint64_t dse_fw_hits(const struct dse_fw_ruleset *rs, uint32_t index)
{
	return __atomic_load_n(&rs->hits[index], __ATOMIC_RELAXED) +
	       __atomic_load_n(&rs->carried[index], __ATOMIC_RELAXED);
}

/* Returns the index of the rule with 'id', or -ENOENT. */
int dse_fw_find(const struct dse_fw_ruleset *rs, uint32_t id);

/*
 * Adds the hit counters of 'prev' to the rules of 'next' with the same id,
 * so counters survive a rule change (a rule that is gone takes its count
 * along; a new rule starts at 0).  O(rules of both), no allocation.  Control
 * thread, once no worker counts in 'prev' any more (after the grace period
 * that follows the publication of 'next'), so no hit is lost; workers may
 * count in 'next' meanwhile.  'prev' NULL is fine.
 */
void dse_fw_counters_carry(struct dse_fw_ruleset *next, const struct dse_fw_ruleset *prev);

/*
 * Sets the default policy of 'segment' (DSE_FW_ANY: of every segment) to
 * 'action': DSE_FW_ALLOW, or DSE_FW_DROP (deny).  Returns 0 or -EINVAL.
 * Control thread, before 'rs' is published.
 */
int dse_fw_default_set(struct dse_fw_ruleset *rs, uint16_t segment, enum dse_fw_action action);

/* Copies the default policy of 'from' into 'to' ('from' NULL: all allow). */
void dse_fw_default_copy(struct dse_fw_ruleset *to, const struct dse_fw_ruleset *from);

/*
 * Fills 'key' for the frame at 'frame' that the parser described in 'pi',
 * seen in direction 'dir' (DSE_FW_DIR_IN or OUT) on 'segment' and VM port
 * 'port' (the port the VM sent it from, or the VM port it goes to; DSE_FW_ANY
 * when not known: then only rules for any port match).  Returns 4 or 6, or 0
 * for a frame that is not IP (the key is then not usable).
 *
 * Ports are those of TCP and UDP, the ICMP type that of ICMP over IPv4 and
 * ICMPv6 over IPv6.  A non-first fragment has no layer 4 header: its ports
 * and type are 0, so only rules without port or type match it.
 */
static inline int dse_fw_key_fill(struct dse_fw_key *key, const uint8_t *frame,
				  const struct dse_pkt_info *pi, uint8_t dir, uint16_t segment,
				  uint16_t port)
{
	const uint8_t *l3 = frame + pi->l3_off;
	const uint8_t *l4 = frame + pi->l4_off;
	int family;

	if (pi->l3 == DSE_L3_IPV4) {
		family = 4;
		memcpy(key->src, l3 + 12, 4);
		memcpy(key->dst, l3 + 16, 4);
		memset(key->src + 4, 0, 12);
		memset(key->dst + 4, 0, 12);
	} else if (pi->l3 == DSE_L3_IPV6) {
		family = 6;
		memcpy(key->src, l3 + 8, 16);
		memcpy(key->dst, l3 + 24, 16);
	} else {
		key->family = 0;
		return 0;
	}
	key->proto = pi->l4_proto;
	key->family = (uint8_t)family;
	key->pad0 = 0;
	key->dir = dir;
	key->icmp_type = 0;
	key->segment = rte_cpu_to_be_16(segment);
	key->port = rte_cpu_to_be_16(port);
	key->pad1 = 0;
	key->sport = 0;
	key->dport = 0;
	if (pi->l4_off != 0) {
		switch (pi->l4_proto) {
		case 6:	 /* TCP */
		case 17: /* UDP */
			memcpy(&key->sport, l4, 2);
			memcpy(&key->dport, l4 + 2, 2);
			break;
		case 1:	 /* ICMP: the parser sets l4_off only inside IPv4 */
		case 58: /* ICMPv6: only inside IPv6 */
			key->icmp_type = l4[0];
			break;
		default:
			break;
		}
	}
	return family;
}

/*
 * Writes 'key' for a person into 'buf' ("tcp 198.18.0.1:40000 ->
 * 198.18.0.2:22 in segment 3 port 1").  Returns what snprintf() returns.
 */
int dse_fw_key_format(const struct dse_fw_key *key, char *buf, size_t len);

/*
 * The same with the names of its segment and port where they are known
 * ("... in segment web port vm1-eth0"); a NULL or empty name is written
 * as the index.
 */
int dse_fw_key_format_named(const struct dse_fw_key *key, const char *segment, const char *port,
			    char *buf, size_t len);

/*
 * Names of actions and directions ("allow", "in", ...); "?" when out of
 * range.  They are those of the schema's fw_action and fw_direction
 * (api/types.json), whose decoder is the one parser of them (test_acl.c
 * checks that the two agree).
 */
const char *dse_fw_action_name(unsigned action);
const char *dse_fw_dir_name(unsigned dir);

/*
 * The rate-limited log of denials: at most 'burst' lines, refilled at
 * 'per_sec' lines a second; the lines not written are counted and the next
 * line written says how many.  One per worker (it is not thread-safe).
 */
struct dse_fw_denylog {
	struct dse_ratelimit rl;
	uint64_t logged;     /* lines written */
	uint64_t suppressed; /* denials not logged, since creation */
	uint64_t unseen;     /* denials the workers did not pass on, not yet said in a line */
};

/* Initialises 'dl' for at most 'per_sec' lines a second, bursts of 'burst'. */
void dse_fw_denylog_init(struct dse_fw_denylog *dl, uint32_t per_sec, uint32_t burst);

/*
 * Logs (notice level, module "fw") that the packet of 'key' was denied by
 * rule 'rule_id' with action 'action', or by the default policy of its
 * segment for rule 0, unless the rate limit says no.  'unseen' counts
 * denials that never reached the log (the workers' own limit): they are
 * said in the next line as not logged.  'segment' and 'port' are the names
 * of the key's segment and port (NULL: written as indexes).  Control thread
 * (the deny records' consumer).  Returns true if a line was written.
 */
bool dse_fw_denylog_write(struct dse_fw_denylog *dl, uint32_t rule_id, enum dse_fw_action action,
			  uint64_t unseen, const struct dse_fw_key *key, const char *segment,
			  const char *port);

#endif
