/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame parser: validates an Ethernet frame header by header and records
 * where each layer starts.  It reads only the bytes it is given and never
 * trusts a length field in the packet: a header that claims more bytes than
 * the frame holds is rejected with its own reason.
 *
 * The parser is pure C over a byte buffer so that it can be unit tested
 * without DPDK; the graph node "parse" calls it for every received frame.
 */
#ifndef DSE_PARSE_H
#define DSE_PARSE_H

#include <stdint.h>

/*
 * Every reason the parser rejects a frame.  One X-macro list expands into the
 * enum, the reason strings and the names of the drop nodes, so a new reason
 * is one line here.  X(name, "description").
 */
#define DSE_PARSE_ERRORS(X)                                                    \
	X(RUNT, "frame shorter than an Ethernet header")                       \
	X(VLAN_TRUNC, "802.1Q tag truncated")                                  \
	X(VLAN_DEPTH, "more than two stacked VLAN tags")                      \
	X(ARP_TRUNC, "ARP packet truncated")                                   \
	X(ARP_BAD, "ARP with a hardware or protocol type other than Ethernet/IPv4") \
	X(IP4_TRUNC, "IPv4 header truncated")                                  \
	X(IP4_VERSION, "IPv4 version field is not 4")                          \
	X(IP4_IHL, "IPv4 header length below 20 bytes or beyond the frame")   \
	X(IP4_LEN, "IPv4 total length below the header or beyond the frame")  \
	X(IP6_TRUNC, "IPv6 header truncated")                                  \
	X(IP6_VERSION, "IPv6 version field is not 6")                          \
	X(IP6_LEN, "IPv6 payload length beyond the frame")                     \
	X(IP6_EXT, "IPv6 extension header truncated, chain too long, or a second fragment header") \
	X(L4_TRUNC, "TCP, UDP or ICMP header truncated")                       \
	X(TCP_OFF, "TCP data offset below 20 bytes or beyond the packet")      \
	X(UDP_LEN, "UDP length field disagrees with the IP payload")           \
	X(FRAG_TINY, "first fragment too short to hold its layer 4 header (RFC 1858)")

/* Result codes of dse_parse_frame(); 0 is success. */
enum dse_parse_result {
	DSE_PARSE_OK = 0,
#define DSE_PARSE_ENUM(n, s) DSE_PARSE_ERR_##n,
	DSE_PARSE_ERRORS(DSE_PARSE_ENUM)
#undef DSE_PARSE_ENUM
	DSE_PARSE__MAX
};

/* Layer 3 kinds found by the parser. */
enum dse_l3 {
	DSE_L3_NONE = 0, /* an ethertype the parser does not look into */
	DSE_L3_ARP,
	DSE_L3_IPV4,
	DSE_L3_IPV6,
};

/*
 * What the parser learned about one frame.  Offsets are from the start of
 * the frame.  Fields of layers that are absent are 0.
 */
struct dse_pkt_info {
	uint16_t l3_off;    /* start of the layer 3 header (after VLAN tags) */
	uint16_t l4_off;    /* start of the layer 4 header, 0 if none */
	uint16_t l3_len;    /* IPv4 header length / IPv6 header + extensions / 28 for ARP */
	uint16_t l4_len;    /* TCP header incl. options, 8 for UDP, 4 for ICMP */
	uint16_t ip_end;    /* frame offset one past the IP packet (may be < frame length: padding) */
	uint16_t ethertype; /* ethertype after the VLAN tags, host byte order */
	uint16_t vlan_tci;  /* TCI of the outer 802.1Q tag, host byte order */
	uint8_t n_vlans;    /* 0, 1 or 2 tags (0x8100 / 0x88a8) */
	uint8_t l3;         /* enum dse_l3 */
	uint8_t l4_proto;   /* IPPROTO_TCP/UDP/ICMP/ICMPV6 when l4_off != 0, else the last next-header seen */
	uint8_t ip_frag;    /* 1 when the packet is a non-first IP fragment (no L4 header parsed) */
	uint8_t ip_mf;      /* 1 when the fragment's "more fragments" flag is set (first or middle) */
	uint8_t frag6_fixed; /* 1 when an IPv6 fragment header comes right after the fixed header */
};

/* Returns nonzero when the parsed packet is a fragment of an IP datagram (any of them). */
static inline int dse_pkt_is_fragment(const struct dse_pkt_info *info)
{
	return info->ip_frag | info->ip_mf;
}

/*
 * Parses 'len' bytes at 'data' as an Ethernet frame.  Fills 'info' and
 * returns DSE_PARSE_OK, or returns the first reason the frame is malformed
 * ('info' is then partially filled and must not be used).
 *
 * Accepted: Ethernet II with up to two 802.1Q/802.1ad tags; ARP (Ethernet,
 * IPv4); IPv4 with options; IPv6 with hop-by-hop, routing, fragment,
 * destination-options and AH extension headers (at most 8); TCP with
 * options, UDP, ICMP and ICMPv6.  Non-first fragments carry no L4 header.
 * Other ethertypes and IP protocols are accepted without looking further;
 * so are ICMP inside IPv6 and ICMPv6 inside IPv4 (l4_off stays 0).
 *
 * The UDP length of a first fragment (offset 0, more-fragments set) covers
 * the whole datagram, so it is only checked to be at least 8.  Bytes beyond
 * 65535 are treated as absent, because the offsets are 16 bits wide.
 */
int dse_parse_frame(const uint8_t *data, uint32_t len, struct dse_pkt_info *info);

/* Returns the one-line description of 'result', "ok", or "unknown" if out of range. */
const char *dse_parse_strerror(int result);

/*
 * Returns the short name of 'result' in lower case ("ip4_ihl"), "ok", or
 * "unknown" if out of range.  Thread-safe; the table is built on first use.
 */
const char *dse_parse_name(int result);

#endif
