/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Geneve (RFC 8926) encapsulation and decapsulation between tunnel endpoints
 * (TEPs), over an IPv4 underlay.
 *
 * Encapsulation prepends, in the mbuf's headroom:
 *
 *   outer Ethernet  src = our TEP MAC, dst = the next hop, [802.1Q tag]
 *   IPv4            IHL 5, DSCP from the caller, ECN 0, ID 0, DF, TTL 64,
 *                   protocol UDP, header checksum computed
 *   UDP             source port 49152..65535 from the inner flow's hash,
 *                   destination 6081, checksum 0 (see below)
 *   Geneve          version 0, no options, O = C = 0,
 *                   protocol 0x6558 (Ethernet), the segment's VNI
 *
 * The UDP checksum is sent as zero, which RFC 8926 allows over IPv4: the
 * inner frame carries its own end-to-end checksums, the outer IPv4 header
 * has its own, and a software TEP would otherwise sum every byte of every
 * packet twice (once to send, once to check).  A non-zero checksum
 * received from another implementation is verified (RFC 768 / RFC 1122).
 * An IPv6 underlay must compute it (RFC 6935/6936 conditions do not hold for
 * us); it will be a separate encapsulation function with its own 'tx' struct,
 * and decapsulation will report the outer address family in dse_geneve_rx.
 *
 * MTU: 'mtu' is the uplink's IP MTU (like dse_port.mtu: the Ethernet header
 * and VLAN tags come on top).  The outer IPv4 packet is the inner frame plus
 * DSE_GENEVE_IP4_ENCAP_LEN (36) bytes, so the largest inner frame is
 * mtu - 36, and a VM whose frames are untagged needs an MTU of at most
 * mtu - DSE_GENEVE_IP4_OVERHEAD (50; 1450 on a 1500-byte fabric).  An outer
 * 802.1Q tag is Ethernet framing, not IP payload: it does not lower the limit
 * (every 802.3 device and the Linux bridge accept a tagged frame of MTU + 18
 * bytes).  A frame that does not fit is refused whole, never truncated.
 *
 * Decapsulation validates every outer layer again (it does not trust an
 * earlier parse), walks the Geneve options, and strips the outer headers so
 * the mbuf holds exactly the inner frame.  Each reason a packet is refused
 * has a name (DSE_GENEVE_ERRORS) so the datapath can count it as a drop node.
 *
 * Nothing here keeps state or allocates; the
 * functions are safe on any lcore.
 */
#ifndef DSE_GENEVE_H
#define DSE_GENEVE_H

#include <stdint.h>

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#define DSE_GENEVE_UDP_PORT  6081
#define DSE_GENEVE_PROTO_ETH 0x6558 /* Transparent Ethernet Bridging */
#define DSE_GENEVE_HDR_LEN   8	    /* fixed header, without options */
#define DSE_GENEVE_VNI_MAX   0xffffff
#define DSE_GENEVE_SPORT_MIN 49152 /* RFC 8926: source ports from the dynamic range */

/* Bytes the IPv4 underlay adds inside the IP MTU: IPv4 20 + UDP 8 + Geneve 8. */
#define DSE_GENEVE_IP4_ENCAP_LEN 36
/* ... plus the outer Ethernet header: what an untagged VM's MTU must give up (50). */
#define DSE_GENEVE_IP4_OVERHEAD (DSE_GENEVE_IP4_ENCAP_LEN + 14)
/* Headroom encapsulation needs at most: Ethernet, one 802.1Q tag, IPv4, UDP, Geneve. */
#define DSE_GENEVE_IP4_HEADROOM (DSE_GENEVE_IP4_OVERHEAD + 4)

/* Largest inner frame (Ethernet header included) an uplink of IP MTU 'mtu' carries. */
static inline uint32_t dse_geneve_max_inner(uint16_t mtu)
{
	return mtu > DSE_GENEVE_IP4_ENCAP_LEN ? (uint32_t)mtu - DSE_GENEVE_IP4_ENCAP_LEN : 0;
}

/* A tunnel endpoint: the underlay address of one DPU and the MAC it sends from. */
struct dse_tep {
	uint32_t ip;		   /* IPv4 address, network byte order */
	struct rte_ether_addr mac; /* source MAC of its outer frames */
};

/*
 * How to send to one peer TEP: everything encapsulation needs except the
 * packet.  Made once per (segment, peer) by the control path; read-only on
 * the packet path.
 */
struct dse_geneve_tx {
	struct dse_tep local;	      /* our TEP: outer source IPv4 address and MAC */
	uint32_t remote_ip;	      /* the peer TEP, network byte order */
	struct rte_ether_addr nh_mac; /* outer destination MAC: the next hop to 'remote_ip' */
	uint32_t vni;		      /* the segment's VNI, 0..DSE_GENEVE_VNI_MAX */
	uint16_t mtu;		      /* IP MTU of the uplink (see the top of this file) */
	uint16_t vlan_tci;	      /* 802.1Q TCI of a VLAN underlay, host order, if 'vlan' */
	uint8_t vlan;		      /* 1: tag the outer frame with 'vlan_tci' */
	uint8_t dscp;		      /* DSCP of the outer IPv4 header (0..63), usually 0 */
};

/*
 * The outer headers toward one peer TEP, made once (dse_geneve_tpl_build())
 * and copied in front of each packet by dse_geneve_encap_tpl(), which then
 * writes what differs per packet: the IPv4 total length and checksum (the
 * template keeps the sum of the rest, RFC 1624), the UDP source port and
 * length, and the VNI (one peer may carry several segments).
 */
struct dse_geneve_tpl {
	uint8_t hdr[DSE_GENEVE_IP4_HEADROOM]; /* Ethernet [802.1Q], IPv4, UDP, Geneve */
	uint8_t len;     /* bytes of 'hdr' used: 50, or 54 with a tag */
	uint8_t l2_len;  /* where the IPv4 header starts */
	uint16_t ip_sum; /* one's complement sum of the IPv4 header without its length */
};

/*
 * A template toward one peer and what it was made from: its user makes it
 * again when any of these differs from the peer's and our TEP's of the
 * moment ('valid' 0: never made).
 */
struct dse_geneve_peer_tpl {
	struct dse_geneve_tpl tpl;
	uint32_t remote_ip, local_ip;
	struct rte_ether_addr nh_mac, local_mac;
	uint8_t valid;
};

/*
 * Every reason decapsulation refuses a packet.  One X-macro list expands into
 * the enum and the strings, as in parse.h.  Names carry no prefix here; the
 * drop names are "geneve_" + the lower-case name (dse_geneve_name()), so the
 * datapath can list them next to the parser's without a clash (the parser
 * has its own UDP_LEN).  X(name, "description").
 */
#define DSE_GENEVE_ERRORS(X)                                                                       \
	X(TRUNC, "outer header or Geneve header truncated")                                        \
	X(OUTER_L3, "outer frame is not IPv4 after at most two VLAN tags")                         \
	X(IP4_HDR, "outer IPv4 version, header length or total length invalid")                    \
	X(IP4_CKSUM, "outer IPv4 header checksum wrong")                                           \
	X(IP4_FRAG, "outer IPv4 packet is a fragment (tunnel endpoints do not reassemble)")        \
	X(OUTER_SRC, "outer source MAC or IPv4 address can not be a TEP's")                        \
	X(NOT_GENEVE, "outer IPv4 packet is not UDP to port 6081")                                 \
	X(UDP_LEN, "UDP length disagrees with the IPv4 payload length")                            \
	X(UDP_CKSUM, "non-zero UDP checksum wrong")                                                \
	X(VERSION, "Geneve version is not 0")                                                      \
	X(OPTLEN, "Geneve option length runs beyond the packet")                                   \
	X(OPT_TLV, "Geneve option runs beyond the option area")                                    \
	X(CRITICAL, "Geneve packet with a critical option (none is known to us)")                  \
	X(OAM, "Geneve control (O bit) packet: never forwarded, no control plane takes them yet")  \
	X(PROTO, "Geneve protocol type is not Ethernet (0x6558)")                                  \
	X(INNER_RUNT, "inner frame shorter than an Ethernet header")

/* Result codes of dse_geneve_parse() and dse_geneve_decap(); 0 is success. */
/* clang-format off */
enum dse_geneve_result {
	DSE_GENEVE_OK = 0,
#define DSE_GENEVE_ENUM(n, s) DSE_GENEVE_ERR_##n,
	DSE_GENEVE_ERRORS(DSE_GENEVE_ENUM)
#undef DSE_GENEVE_ENUM
	DSE_GENEVE__MAX
};
/* clang-format on */

/* What decapsulation learned about one packet. */
struct dse_geneve_rx {
	uint32_t vni;			  /* the segment's VNI */
	uint32_t remote_ip;		  /* outer source: the sending TEP, network order */
	uint32_t local_ip;		  /* outer destination, network order */
	struct rte_ether_addr remote_mac; /* outer source MAC (the sender's next hop to us) */
	uint16_t outer_vlan_tci;	  /* TCI of the outer 802.1Q tag, host order, 0 if none */
	uint8_t outer_n_vlans;		  /* 0..2 outer tags */
	uint8_t opt_len;		  /* bytes of Geneve options skipped (0..252) */
	uint16_t src_port;		  /* outer UDP source port (the sender's entropy) */
	uint16_t inner_off;		  /* offset of the inner frame in the outer frame */
	uint16_t inner_len;		  /* length of the inner frame */
};

/*
 * Encapsulates the inner Ethernet frame held by 'm' for the peer described
 * by 'tx'; 'flow_hash' is the inner flow's hash (dse_geneve_flow_hash() or
 * the NIC's RSS hash), from which the UDP source port is made.
 *
 * Returns 0 (the mbuf then holds the outer frame), or, leaving 'm' unchanged:
 * -EINVAL when the inner frame is shorter than 14 bytes or 'tx->vni' is above
 * 24 bits; -EMSGSIZE when the outer IPv4 packet would exceed 'tx->mtu' (the
 * caller drops and counts 'overlay_oversize'); -ENOBUFS when the first
 * segment lacks the headroom, or 'm' shares its buffer (a clone, or a
 * reference count above 1: the headroom is not ours to write); the caller
 * drops and counts 'no_mbuf'.  'm' may be chained: lengths are taken from
 * its pkt_len.
 */
int dse_geneve_encap(struct rte_mbuf *m, const struct dse_geneve_tx *tx, uint32_t flow_hash);

/*
 * Fills 't' with the outer headers dse_geneve_encap() writes for 'tx'
 * (everything but the VNI, the lengths, the checksum and the source port);
 * 'tx->vni' and 'tx->mtu' are not used.
 */
void dse_geneve_tpl_build(struct dse_geneve_tpl *t, const struct dse_geneve_tx *tx);

/*
 * Encapsulates 'm' as dse_geneve_encap() does for the 'tx' that 't' was
 * built from, with that 'tx' struct's 'mtu' and 'vni' given here; same
 * results and errors, byte for byte the same frame.
 */
int dse_geneve_encap_tpl(struct rte_mbuf *m, const struct dse_geneve_tpl *t, uint16_t mtu,
			 uint32_t vni, uint32_t flow_hash);

/*
 * Validates the outer frame at 'data' ('len' bytes): Ethernet, up to two
 * VLAN tags, IPv4 (options allowed, header checksum checked, no fragments,
 * a source that can be a TEP: not zero, loopback, multicast or broadcast),
 * UDP to port 6081 whose length equals the IPv4 payload (a non-zero
 * checksum is verified), the Geneve header and each option TLV, and an
 * inner frame of at least 14 bytes.  Trailing bytes after the IPv4 packet
 * (Ethernet padding) are ignored.
 *
 * Geneve rules: version 0; options must fit in the packet and every option
 * in the option area; unknown non-critical options are skipped; the C bit or
 * any option of a critical type is refused (we know no option, so every
 * critical option is unknown, and RFC 8926 says to drop those); a control
 * packet (O bit) is refused as DSE_GENEVE_ERR_OAM: its payload must never
 * reach a VM and nothing consumes it yet (a control-plane consumer can take
 * that reason's packets later); the protocol type must be 0x6558.
 *
 * Fills 'ret' and returns DSE_GENEVE_OK, or returns the first reason the
 * packet is refused ('ret' is then partially filled and must not be used).
 * Pure C over the bytes: no mbuf needed.
 */
int dse_geneve_parse(const uint8_t *data, uint32_t len, struct dse_geneve_rx *ret);

/*
 * dse_geneve_parse() over the first segment of 'm', then strips the outer
 * headers (and any trailing padding) so that 'm' holds exactly the inner
 * frame, and resets the receive checksum and VLAN-strip flags, which
 * described the outer packet.  'm' must be a single segment (the parse node
 * drops chained mbufs before this): a chained one is refused as
 * DSE_GENEVE_ERR_TRUNC.  Returns DSE_GENEVE_OK or a reason; on a refusal
 * 'm' is unchanged.
 */
int dse_geneve_decap(struct rte_mbuf *m, struct dse_geneve_rx *ret);

/*
 * Returns a hash of the inner frame's flow for the UDP source port: the two
 * MAC addresses and the ethertype, and for IPv4/IPv6 (after up to two VLAN
 * tags) the addresses and protocol, and the ports of TCP, UDP and SCTP
 * (not of fragments).  Reads only within 'len'; any frame is accepted.
 */
uint32_t dse_geneve_flow_hash(const uint8_t *frame, uint32_t len);

/* Maps a flow hash to a UDP source port in 49152..65535 (the dynamic range RFC 8926 recommends). */
static inline uint16_t dse_geneve_src_port(uint32_t hash)
{
	hash ^= hash >> 16;
	return (uint16_t)(DSE_GENEVE_SPORT_MIN | (hash & 0x3fff));
}

/* Returns the one-line description of 'result', "ok", or "unknown" if out of range. */
const char *dse_geneve_strerror(int result);

/*
 * Returns the drop name of 'result' ("geneve_version"), "ok", or "unknown"
 * if out of range.  Thread-safe; the table is built on first use.
 */
const char *dse_geneve_name(int result);

#endif
