/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reconciling one DPU: what its dse-dpud should hold, computed from the
 * desired state, and the dse-dpud calls that get it there from what it
 * reports.  The DPU holds
 *
 *   - every segment of its switch, under the segment's name: a VLAN segment
 *     with its VLAN, an overlay segment with its VNI and peer TEPs;
 *   - every VM port of those segments as an access port on the VM's
 *     representor: port name = the port's name, devargs
 *     net_af_packet<k>,iface=rep-<vm>; plus a static FDB entry for the
 *     port's MAC (the host knows it, so nothing has to learn it);
 *   - each uplink vmnicK of the switch that sits on this DPU as a trunk port
 *     carrying every VLAN segment of the switch (overlay segments travel in
 *     Geneve, not on trunks);
 *   - the switch's TEP, on the first of those uplinks (tep.set), once the
 *     port is there.
 *
 *   - the firewall: the policy of each of those segments that has one, and
 *     the rules that apply there: a rule scoped to a segment goes to the
 *     DPUs holding the segment, one scoped to a VM port to the DPU holding
 *     the port (the port's name is its name on the DPU), one without scope
 *     to every DPU of a switch.
 *
 * In mode active-standby both DPUs hold all of it, the TEP too; the
 * standby's datapath holds (it forwards nothing, ha.role.set) and keeps the
 * state the active syncs to it, so a promotion is one call.  Only the
 * active DPU gets the VM attachments.  A DPU that serves no switch is left alone, except
 * that what the host pushed to it before is taken away; dse-dpud has no
 * call to take a TEP away, so a TEP no longer wanted stays, with its port,
 * and the reconcile says so.
 */
#ifndef DSE_HOSTD_RECONCILE_H
#define DSE_HOSTD_RECONCILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Returns the desired config of DPU 'dpu' (new reference):
 *   {"switch": name or null, "role": "single" | "active" | "standby" |
 *    "independent" | "none", "refused": null or why the host will not
 *    configure it, "notes": [strings], "segments": [{name, vlan}],
 *    "ports": [{name, iface, mode, segment | segments, uplink}],
 *    "fdb": [{segment, mac, port}], "tep": null or {ip, uplink},
 *    "policies": [{segment, default}],
 *    "rules": [the params of fw.rule.add, with "family" always set],
 *    "ha": the params of ha.role.set: {role: "active" | "standby", epoch,
 *    iface} for a DPU of an active-standby switch, else {role: "single",
 *    epoch}; absent for a DPU of no switch}.
 * 'doc' is the normalized desired state, 'inventory' the known DPUs (for the
 * DPU's link, hence its uplinks, and the dual-DPU identity check).
 */
json_t *reconcile_desired(json_t *doc, json_t *inventory, const char *dpu);

/* The interface of the sync link between the two DPUs of a host (docs/host-side.md). */
#define RECONCILE_SYNC_IFACE "sync0"

/*
 * Returns the list of calls ({method, params}) that turn the DPU state
 * reported by segment.list ('segs'), port.list ('ports'), fdb.list ('fdb')
 * and tep.show ('tep'; NULL: no TEP known) into
 * 'desired', in an order dse-dpud accepts: first what goes away (ports,
 * trunk memberships, FDB entries, segments), then what comes (segments and
 * new peers, ports, memberships, the TEP, FDB entries).  The port that
 * carries the DPU's TEP is deleted only after the TEP moved to another
 * (tep.set), and never when no TEP is wanted.  Empty when in sync.
 */
json_t *reconcile_plan(json_t *desired, json_t *segs, json_t *ports, json_t *fdb, json_t *tep);

/*
 * Returns the whole plan for a DPU: the calls of reconcile_plan() with the
 * firewall's two change sets (fw.rule.apply, each one call that dse-dpud
 * compiles once) around them.  Before: the rules and policies that are not
 * wanted or that name a segment or port the plan removes (dse-dpud refuses
 * to remove a segment or port the firewall names).  After: the rules that
 * are missing or differ (a rule that differs is replaced in place) and the
 * policies that come, together (so a new deny policy finds its allow rules
 * in place).  'rules' is what fw.rule.list reports (hits are ignored),
 * 'policies' what fw.policy.list reports ([{segment, default}]).
 */
json_t *reconcile_plan_fw(json_t *desired, json_t *segs, json_t *ports, json_t *fdb,
			  json_t *tep, json_t *rules, json_t *policies);

/*
 * Returns true if the rule 'a' (fw.rule.add params) and 'b' (as fw.rule.list
 * reports it) match the same packets with the same action: every spelling
 * of "any" is the same, the hit counter and unknown members do not count.
 */
bool reconcile_fw_rule_equal(json_t *a, json_t *b);

/*
 * The calls that read what a DPU holds, in the order reconcile_plan_reads()
 * takes their answers: segment.list, port.list, fdb.list, tep.show,
 * fw.rule.list, fw.policy.list.  dse-hostd sends them at once.
 */
#define RECONCILE_READS 6
extern const char *const reconcile_reads[RECONCILE_READS];

/* reconcile_plan_fw() of the answers of reconcile_reads, in that order. */
json_t *reconcile_plan_reads(json_t *desired, json_t *const reads[RECONCILE_READS]);

/*
 * The time the plan's call 'v' ({method, params}) may take: 'timeout_ms',
 * and for a firewall change set half a millisecond more per rule it
 * carries and per rule the DPU holds ('held_rules'): dse-dpud parses and
 * checks the set and compiles the whole rule set again (about 0.05 ms a
 * rule on a quiet core, 0.13 ms in the lab).
 */
int reconcile_call_timeout(json_t *v, int timeout_ms, size_t held_rules);

/*
 * After a plan ran: true, with why in 'err', when the DPU holds a TEP
 * ('tep', what tep.show answered) the host does not want: dse-dpud has no
 * call to take a TEP away, so the reconcile fails saying so.
 */
bool reconcile_tep_left(json_t *desired, json_t *tep, char *err, size_t err_len);

#endif
