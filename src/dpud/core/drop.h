/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Drop reasons of the datapath beyond those of the parser.  Every reason is
 * a graph node of its own ("dse_drop_<name>"), so each drop is counted by the
 * graph's node statistics with no code on the packet path.  X(name, "why").
 */
#ifndef DSE_DROP_H
#define DSE_DROP_H

#include "geneve.h"
#include "parse.h"

#define DSE_DP_DROPS(X)                                                        \
	X(OVERSIZE, "frame longer than the ingress port's MTU")                \
	X(NO_SEGMENT, "ingress port is in no segment")                          \
	X(ACCESS_TAGGED, "VLAN-tagged frame on an access port")                 \
	X(TRUNK_UNTAGGED, "untagged frame on a trunk port")                     \
	X(VLAN_UNKNOWN, "VLAN not carried by the ingress trunk")                \
	X(SRC_MULTICAST, "multicast or zero source MAC address")                \
	X(SAME_PORT, "destination MAC is behind the ingress port")              \
	X(FLOOD_EMPTY, "no other port in the segment to flood to")              \
	X(NO_MBUF, "no packet buffer for a flood copy or a tag")                \
	X(TX_FULL, "egress port queue full")                                   \
	X(UPLINK_LOOP, "frame from an uplink with the source MAC of a local port") \
	X(UPLINK_TO_UPLINK, "frame from one uplink to another (uplinks are a team)") \
	X(FW_DENY, "denied by a firewall rule or the segment's default policy")   \
	X(FW_REJECT, "rejected by a firewall rule (a TCP RST or ICMP unreachable was sent)") \
	X(CT_INVALID, "does not fit the state of its connection")                 \
	X(CT_FULL, "connection table full")                                      \
	X(CT_LIMIT, "its source or segment has as many half-open connections as allowed") \
	X(TEP_UNKNOWN, "Geneve packet of an unknown VNI or from a TEP that is not its peer") \
	X(TEP_UNRESOLVED, "the peer TEP's MAC address is not known yet (ARP pending)") \
	X(OVERLAY_OVERSIZE, "frame too large for the underlay MTU once encapsulated") \
	X(CKSUM_IP4, "IPv4 header checksum wrong (firewalled segment)")          \
	X(CKSUM_TCP, "TCP checksum wrong (firewalled segment)")                 \
	X(CKSUM_UDP, "UDP checksum wrong, or zero over IPv6 (firewalled segment)") \
	X(CKSUM_ICMP, "ICMP or ICMPv6 checksum wrong (firewalled segment)")      \
	X(FRAG_BAD, "fragment not a multiple of 8 bytes, or reaching past 64 KiB") \
	X(FRAG_EXT, "IPv6 fragment header behind other extension headers (not reassembled)") \
	X(FRAG_INVALID, "fragment overlaps or repeats another (RFC 5722, RFC 1858), more than 8 fragments, or the reassembly table is full") \
	X(FRAG_TIMEOUT, "fragment of a datagram not completed in time (orphan or incomplete)")

/*
 * Datapath drop reasons; parser reasons come first, numbered as in parse.h,
 * and Geneve decapsulation reasons last, in the order of geneve.h.
 */
enum dse_drop {
#define DSE_DROP_PARSE_ENUM(n, s) DSE_DROP_PARSE_##n,
	DSE_PARSE_ERRORS(DSE_DROP_PARSE_ENUM)
#undef DSE_DROP_PARSE_ENUM
#define DSE_DROP_ENUM(n, s) DSE_DROP_##n,
	DSE_DP_DROPS(DSE_DROP_ENUM)
#undef DSE_DROP_ENUM
#define DSE_DROP_GENEVE_ENUM(n, s) DSE_DROP_GENEVE_##n,
	DSE_GENEVE_ERRORS(DSE_DROP_GENEVE_ENUM)
#undef DSE_DROP_GENEVE_ENUM
	DSE_DROP__MAX
};

/* Returns the node name of drop reason 'd' ("dse_drop_ip4_ihl"). */
const char *dse_drop_node_name(enum dse_drop d);

/* Returns the reason name of 'd' without the prefix ("ip4_ihl"). */
const char *dse_drop_name(enum dse_drop d);

/* Returns the description of 'd'. */
const char *dse_drop_desc(enum dse_drop d);

#endif
