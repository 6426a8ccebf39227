/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The host's desired state as data: a host profile is one JSON object
 *
 *   {"version": 1,
 *    "dpus":     [{name, link, vendor, model, hw_version, fw_version}],
 *    "switches": [{name, mode, dpus: [...], uplinks: [...], tep: {ip}}],
 *    "segments": [{name, switch, vlan | vni, peers: [...]}],
 *    "ports":    [{name, mac, segment, vm}],
 *    "firewall": {"policies": [{segment, default}],
 *                 "rules": [{id, priority, src, dst, proto, sport, dport,
 *                            icmp_type, action, direction, segment, port}]}}
 *
 * (its shape is the API schema's type host_profile, api/types.json, which the
 * server's decoder checks before any of this runs; the checks of member
 * types and keys here stay as the guard of callers that do not come
 * through the API: the store's own loads and the unit tests)
 * and every change of the store, imperative or declarative, is "make the
 * store equal to this object": the object is checked and normalized here,
 * compared with the store's, and the difference is written in one
 * transaction (store.c).  This file holds no state and touches no database,
 * so the unit tests drive it with plain JSON.
 *
 * "dpus" is optional.  It is what a profile needs from the host that applies
 * it: each entry names a DPU as the switches of the profile call it, and
 * says which internal link it sits on and what it must be.  Applying maps
 * each entry to this host's DPU on that link, refuses the profile when that
 * DPU is missing or of another vendor or model, and renames the switches'
 * DPUs accordingly.  It is not stored; config export writes it again.
 */
#ifndef DSE_HOSTD_MODEL_H
#define DSE_HOSTD_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "dse_api.h"

/* The version of the profile format that this code writes and reads. */
#define MODEL_VERSION 1

/* Limits on what one host holds: every user-controllable resource has one. */
#define MODEL_NAME_MAX     DSE_API_LIMIT_NAME_MAX /* names of switches, segments, ports, DPUs */
#define MODEL_VM_MAX       11   /* so that "rep-<vm>" fits an interface name */
#define MODEL_MAX_SWITCHES 64
#define MODEL_MAX_SEGMENTS 4096 /* of the host; a switch's DPU holds MODEL_DPU_SEGMENTS */
#define MODEL_MAX_PORTS    4096 /* of the host; a switch's DPU holds MODEL_DPU_PORTS */
#define MODEL_MAX_UPLINKS  8    /* per switch */
#define MODEL_MAX_UPLINK_K 63   /* vmnic0 .. vmnic63 */
#define MODEL_VNI_MAX      DSE_API_LIMIT_VNI_MAX
/* What one DPU holds: the limits of api/types.json, the one place they are written. */
#define MODEL_DPU_SEGMENTS DSE_API_LIMIT_DPU_SEGMENTS
#define MODEL_DPU_PORTS    DSE_API_LIMIT_DPU_PORTS /* VM ports and uplinks */
#define MODEL_MAX_PEERS    DSE_API_LIMIT_DPU_PEERS /* peer TEPs of one switch's DPU */
#define MODEL_MAX_RULES    DSE_API_LIMIT_DPU_RULES /* firewall rules of one rule set */
#define MODEL_RULE_ID_MAX  ((long long)DSE_API_LIMIT_RULE_ID_MAX) /* 1 .. 2^31 - 1 */

/*
 * What went wrong, for a person.  'path' says where in the profile
 * ("segments[2].vlan"; empty when the error is not tied to one element) so
 * that dsectl can turn it into a file position; 'msg' says what is wrong and
 * what to do.
 */
struct model_err {
	char path[128];
	char msg[448];
};

/* Sets 'e' (when not NULL) and returns -EINVAL. */
int model_error(struct model_err *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Writes 'e' into 'buf' as "path: msg", or just "msg" when 'with_path' is
 * false or the path is empty.
 */
void model_err_format(const struct model_err *e, bool with_path, char *buf, size_t len);

/*
 * Checks the profile 'doc' and returns its normalized form in '*ret_doc' (a
 * new object with exactly the keys "switches", "segments" and "ports", each
 * a list sorted by name, and "firewall": {"policies" sorted by segment,
 * "rules" sorted by id}; MACs in lower case; uplinks in numeric order; a
 * switch's "tep" ({"ip"}) only when it has one; "peers" on every overlay
 * (VNI) segment, in numeric order, and on no VLAN segment; IPv4 addresses as
 * inet_ntop() writes them;
 * prefixes, protocols and port ranges in one spelling (see model_fw_rule
 * below); no "dpus" and no "version").  'inventory' is the list of DPUs this host knows
 * ({name, link, vendor, model, hw_version, fw_version}, may be NULL): it
 * resolves the profile's "dpus" section, and it is what the dual-DPU and
 * uplink checks compare with.  DPUs the inventory does not know may be named
 * (they are checked when they appear).  A switch equal to its entry in
 * 'cur' (the normalized state it replaces, may be NULL) is not checked
 * against the inventory again, so a DPU discovered later never blocks changes
 * of other objects; likewise an overlay segment and its switch that are both
 * as in 'cur' are not refused for a missing TEP (a store of before the
 * overlay holds such segments).  Returns 0, or -EINVAL with 'e' set.
 */
int model_normalize(json_t *doc, json_t *inventory, json_t *cur, json_t **ret_doc,
		    struct model_err *e);

/*
 * Returns the changes that turn the normalized 'cur' into the normalized
 * 'want': a list of {"action": "add"|"change"|"delete", "kind":
 * "switch"|"segment"|"port"|"policy"|"rule", "name", and for a change
 * "fields": [the keys that differ]}, switches first, then segments, ports,
 * firewall policies (named by their segment) and firewall rules (named by
 * their id, in decimal), each by name or id.  An empty list means the two
 * are equal.
 */
json_t *model_diff(json_t *cur, json_t *want);

/*
 * Returns the profile of 'cur' (normalized) for config export: "version",
 * a "dpus" section for the DPUs its switches use (from 'inventory'), then
 * the switches, segments and ports, and the "firewall" section when it holds
 * anything.
 */
json_t *model_export(json_t *cur, json_t *inventory);

/* Returns the object named 'name' in the list 'list' of objects, or NULL. */
json_t *model_find(json_t *list, const char *name);

/* Returns N for an internal link named "int-dN" (N >= 1), else -1. */
int model_link_slot(const char *link);

/* Returns K for an uplink named "vmnicK" (K in 0..MODEL_MAX_UPLINK_K), else -1. */
int model_uplink_index(const char *uplink);

/*
 * Returns true if the uplink vmnicK sits on the DPU of slot 'slot': DPU N
 * owns vmnic(2N-2) and vmnic(2N-1) (docs/design.md, high availability).
 */
bool model_uplink_on_slot(int k, int slot);

/*
 * Writes the IPv4 address 's' as inet_ntop() writes it into 'out' (16
 * bytes) if it can be a tunnel endpoint: a unicast address, not in
 * 0.0.0.0/8, 127.0.0.0/8 or 224.0.0.0/3 (multicast, reserved, broadcast).
 * Returns 0 or -EINVAL.
 */
int model_tep_addr(const char *s, char out[16]);

/* Returns true if 'name' is 1..MODEL_NAME_MAX characters of [A-Za-z0-9_.-]. */
bool model_name_ok(const char *name);

/*
 * Writes the MAC address 's' in lower case into 'out' (18 bytes) if it is a
 * unicast, non-zero address written like 02:00:00:00:00:01.  Returns 0 or
 * -EINVAL.
 */
int model_mac_normalize(const char *s, char out[18]);

/* ---- the firewall ---- */

/*
 * A firewall rule in its normalized form has "id", "priority" (default 0),
 * "direction" ("in", "out" or "any", the default) and "action" ("allow",
 * "drop" or "reject"), and only those of these that restrict it: "segment",
 * "port" (a VM port of this host), "src" and "dst" (CIDR with no bits set
 * beyond the prefix length, written as inet_ntop() writes the address),
 * "proto" ("tcp", "udp", "icmp" or "icmpv6"; any is left out), "sport" and
 * "dport" (an integer, or "LO-HI" for a range; 0-65535 is left out) and
 * "icmp_type".  A policy is {"segment", "default": "allow" | "deny"}.
 */

/*
 * Return the lists of firewall policies and rules of the normalized 'doc'
 * (borrowed; NULL when 'doc' has none, which jansson reads as an empty list).
 */
json_t *model_fw_policies(json_t *doc);
json_t *model_fw_rules(json_t *doc);

/* Returns the rule 'id' of the list 'rules', or NULL. */
json_t *model_fw_rule_find(json_t *rules, long long id);

/* Returns the policy of segment 'segment' in the list 'policies', or NULL. */
json_t *model_fw_policy_find(json_t *policies, const char *segment);

/*
 * Reads the protocol 'v' (a name, in any case, or a number, as an integer or
 * a string of digits) into its number: 0 (any), 1 (icmp), 6 (tcp), 17
 * (udp), 58 (icmpv6).  Returns the number, or -EINVAL for anything else
 * (dse-dpud filters no other protocol).
 */
int model_fw_proto(json_t *v);

/* Returns the name of protocol number 'proto' ("any", "tcp", ...), or NULL. */
const char *model_fw_proto_name(int proto);

/*
 * Reads a port or a port range 'v' (an integer, "80" or "1000-2000") into
 * '*lo' and '*hi'.  Returns 0 or -EINVAL.
 */
int model_fw_ports(json_t *v, int *lo, int *hi);

/*
 * Reads the prefix 's' ("198.18.0.0/16", "2001:db8::/32", or an address
 * alone: all its bits) into '*family' (4 or 6), the address bytes 'addr'
 * (16 bytes; IPv4 in the first 4) and '*plen'.  Returns 0, -EINVAL for
 * something that is not a prefix, or -EDOM when bits are set beyond the
 * prefix length (the prefix is still read).
 */
int model_fw_prefix(const char *s, int *family, unsigned char addr[16], int *plen);

/*
 * Writes the canonical spelling of the prefix 's' into 'out' (at least 64
 * bytes): the address as inet_ntop() writes it with its bits beyond the
 * prefix length cleared, "/" and the length.  Returns 0 or -EINVAL.
 */
int model_fw_prefix_canon(const char *s, char *out, size_t len);

#endif
