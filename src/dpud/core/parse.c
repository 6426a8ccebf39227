/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame parser.  It runs once for every received frame, so the common case
 * (Ethernet, IPv4, TCP or UDP, no options) is a straight run of bounds checks
 * with the rare layouts (VLAN tags, IPv6 extension headers, fragments) behind
 * branches that are marked unlikely.
 *
 * Every read is preceded by a check against the number of bytes the caller
 * gave us, never against a length taken from the packet: a length field is
 * only used after it has itself been checked against what is really there.
 * Multi-byte fields are assembled from single bytes, which is both safe on
 * unaligned addresses and yields host byte order directly.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"

#if defined(__GNUC__) || defined(__clang__)
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#else
#define likely(x)   (x)
#define unlikely(x) (x)
#endif

#define ETH_HDR_LEN   14
#define VLAN_TAG_LEN  4
#define ARP_LEN	      28 /* Ethernet/IPv4 ARP: 8 fixed bytes, two MACs, two addresses */
#define IP4_MIN_HLEN  20
#define IP6_HLEN      40
#define IP6_EXT_MIN   8 /* every extension header is at least 8 bytes long */
#define IP6_MAX_EXT   8 /* a longer chain is rejected rather than walked */
#define TCP_MIN_HLEN  20
#define UDP_HLEN      8
#define ICMP_MIN_LEN  4 /* type, code, checksum */
#define ICMP_ECHO_LEN 8 /* ... plus the identifier and sequence number */

#define ETYPE_IPV4 0x0800
#define ETYPE_ARP  0x0806
#define ETYPE_VLAN 0x8100
#define ETYPE_QINQ 0x88a8
#define ETYPE_IPV6 0x86dd

#define IP4_MF	    0x2000 /* "more fragments" flag in the flags/offset word */
#define IP4_OFFMASK 0x1fff
#define IP6_MF	    0x0001 /* "more fragments" flag in the fragment header */
#define IP6_OFFMASK 0xfff8

#define ICMP_ECHOREPLY	   0
#define ICMP_ECHO	   8
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY   129

/* Reads a big-endian 16-bit field; byte loads cannot fault on alignment. */
static inline uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static inline int is_vlan_tpid(uint32_t type)
{
	return type == ETYPE_VLAN || type == ETYPE_QINQ;
}

/*
 * The IPv6 extension headers we walk all have numbers below 64, so one mask
 * test replaces a chain of comparisons on the path where there are none.
 */
#define IP6_EXT_MASK                                                                               \
	((UINT64_C(1) << IPPROTO_HOPOPTS) | (UINT64_C(1) << IPPROTO_ROUTING) |                     \
	 (UINT64_C(1) << IPPROTO_FRAGMENT) | (UINT64_C(1) << IPPROTO_DSTOPTS) |                    \
	 (UINT64_C(1) << IPPROTO_AH))

static inline int is_ip6_ext(uint32_t nh)
{
	return nh < 64 && ((IP6_EXT_MASK >> nh) & 1);
}

/*
 * Checks the layer 4 header at 'off', which must end by 'end' (the end of the
 * IP packet, already known to lie within the frame).  'first_frag' is set for
 * the first fragment of a fragmented packet: its UDP length field describes
 * the whole datagram and so may exceed what this fragment carries.
 */
static inline int parse_l4(const uint8_t *data, uint32_t off, uint32_t end, uint32_t proto, int v6,
			   int first_frag, struct dse_pkt_info *info)
{
	const uint8_t *l4 = data + off;
	uint32_t avail = end - off;
	uint32_t hlen;
	int echo;

	/* A first fragment must hold the whole layer 4 header (RFC 1858, RFC 8200). */
	const int trunc = first_frag ? DSE_PARSE_ERR_FRAG_TINY : DSE_PARSE_ERR_L4_TRUNC;

	info->l4_proto = (uint8_t)proto;
	switch (proto) {
	case IPPROTO_UDP:
		if (unlikely(avail < UDP_HLEN))
			return trunc;
		hlen = rd16(l4 + 4);
		if (unlikely(hlen < UDP_HLEN || (hlen > avail && !first_frag)))
			return DSE_PARSE_ERR_UDP_LEN;
		hlen = UDP_HLEN;
		break;
	case IPPROTO_TCP:
		if (unlikely(avail < TCP_MIN_HLEN))
			return trunc;
		hlen = (uint32_t)(l4[12] >> 4) * 4;
		if (unlikely(hlen < TCP_MIN_HLEN))
			return DSE_PARSE_ERR_TCP_OFF;
		if (unlikely(hlen > avail))
			return first_frag ? DSE_PARSE_ERR_FRAG_TINY : DSE_PARSE_ERR_TCP_OFF;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/*
		 * ICMP inside IPv6 or ICMPv6 inside IPv4 is not a protocol
		 * anyone speaks; it is passed on as an unknown protocol so
		 * that no later stage applies the wrong ICMP rules to it.
		 */
		if (unlikely(v6 != (proto == IPPROTO_ICMPV6)))
			return DSE_PARSE_OK;
		if (unlikely(avail < ICMP_MIN_LEN))
			return trunc;
		/* Echo messages are matched on their identifier, bytes 4-5. */
		if (v6)
			echo = l4[0] == ICMP6_ECHO_REQUEST || l4[0] == ICMP6_ECHO_REPLY;
		else
			echo = l4[0] == ICMP_ECHO || l4[0] == ICMP_ECHOREPLY;
		if (unlikely(avail < (echo || first_frag ? ICMP_ECHO_LEN : ICMP_MIN_LEN)))
			return trunc;
		hlen = ICMP_MIN_LEN;
		break;
	default:
		return DSE_PARSE_OK;
	}
	info->l4_off = (uint16_t)off;
	info->l4_len = (uint16_t)hlen;
	return DSE_PARSE_OK;
}

static inline int parse_ipv4(const uint8_t *data, uint32_t len, uint32_t off,
			     struct dse_pkt_info *info)
{
	const uint8_t *ip = data + off;
	uint32_t avail = len - off;
	uint32_t hlen, tot, frag;

	if (unlikely(avail < IP4_MIN_HLEN))
		return DSE_PARSE_ERR_IP4_TRUNC;
	if (unlikely((ip[0] >> 4) != 4))
		return DSE_PARSE_ERR_IP4_VERSION;
	hlen = (uint32_t)(ip[0] & 0x0f) * 4;
	if (unlikely(hlen < IP4_MIN_HLEN || hlen > avail))
		return DSE_PARSE_ERR_IP4_IHL;
	/* A shorter total length is normal: Ethernet pads small frames. */
	tot = rd16(ip + 2);
	if (unlikely(tot < hlen || tot > avail))
		return DSE_PARSE_ERR_IP4_LEN;

	info->l3 = DSE_L3_IPV4;
	info->l3_len = (uint16_t)hlen;
	info->ip_end = (uint16_t)(off + tot);

	/* Only the first fragment carries the layer 4 header. */
	frag = rd16(ip + 6);
	if (unlikely(frag & (IP4_OFFMASK | IP4_MF))) {
		info->ip_mf = (frag & IP4_MF) != 0;
		if (frag & IP4_OFFMASK) {
			info->ip_frag = 1;
			info->l4_proto = ip[9];
			return DSE_PARSE_OK;
		}
	}
	return parse_l4(data, off + hlen, off + tot, ip[9], 0, (frag & IP4_MF) != 0, info);
}

static inline int parse_ipv6(const uint8_t *data, uint32_t len, uint32_t off,
			     struct dse_pkt_info *info)
{
	const uint8_t *ip = data + off;
	uint32_t avail = len - off;
	uint32_t end, hoff, nh, hlen, fo, n;
	int first_frag = 0, seen_frag = 0;

	if (unlikely(avail < IP6_HLEN))
		return DSE_PARSE_ERR_IP6_TRUNC;
	if (unlikely((ip[0] >> 4) != 6))
		return DSE_PARSE_ERR_IP6_VERSION;
	if (unlikely(rd16(ip + 4) > avail - IP6_HLEN))
		return DSE_PARSE_ERR_IP6_LEN;

	end = off + IP6_HLEN + rd16(ip + 4);
	info->l3 = DSE_L3_IPV6;
	info->ip_end = (uint16_t)end;

	/*
	 * The chain is bounded both by IP6_MAX_EXT and by 'end', and each
	 * header is checked to fit before its successor's number is read.
	 */
	hoff = off + IP6_HLEN;
	nh = ip[6];
	for (n = 0; unlikely(is_ip6_ext(nh)); n++) {
		const uint8_t *h = data + hoff;

		if (unlikely(n == IP6_MAX_EXT || end - hoff < IP6_EXT_MIN))
			return DSE_PARSE_ERR_IP6_EXT;
		if (nh == IPPROTO_FRAGMENT) {
			/*
			 * One fragment header at most (RFC 8200): a second would
			 * hide the first's offset and flag from the tracking.
			 */
			if (unlikely(seen_frag))
				return DSE_PARSE_ERR_IP6_EXT;
			seen_frag = 1;
			/* Its length byte is reserved: the header is always 8 bytes. */
			hlen = IP6_EXT_MIN;
			fo = rd16(h + 2);
			info->frag6_fixed = hoff == off + IP6_HLEN;
			info->ip_mf = (fo & IP6_MF) != 0;
			if (fo & IP6_OFFMASK) {
				info->l3_len = (uint16_t)(hoff + hlen - off);
				info->l4_proto = h[0];
				info->ip_frag = 1;
				return DSE_PARSE_OK;
			}
			first_frag = info->ip_mf;
		} else if (nh == IPPROTO_AH) {
			hlen = ((uint32_t)h[1] + 2) * 4;
		} else {
			hlen = ((uint32_t)h[1] + 1) * 8;
		}
		if (unlikely(hlen > end - hoff))
			return DSE_PARSE_ERR_IP6_EXT;
		nh = h[0];
		hoff += hlen;
	}

	info->l3_len = (uint16_t)(hoff - off);
	return parse_l4(data, hoff, end, nh, 1, first_frag, info);
}

static inline int parse_arp(const uint8_t *data, uint32_t len, uint32_t off,
			    struct dse_pkt_info *info)
{
	const uint8_t *arp = data + off;

	if (unlikely(len - off < ARP_LEN))
		return DSE_PARSE_ERR_ARP_TRUNC;
	if (unlikely(rd16(arp) != 1 || rd16(arp + 2) != ETYPE_IPV4 || arp[4] != 6 || arp[5] != 4))
		return DSE_PARSE_ERR_ARP_BAD;
	info->l3 = DSE_L3_ARP;
	info->l3_len = ARP_LEN;
	return DSE_PARSE_OK;
}

int dse_parse_frame(const uint8_t *data, uint32_t len, struct dse_pkt_info *info)
{
	uint32_t off = ETH_HDR_LEN;
	uint32_t type;

	memset(info, 0, sizeof(*info));

	/*
	 * Offsets are 16 bits wide, so bytes past 64 KiB are treated as absent;
	 * an IP packet that claims to reach into them is rejected as too long.
	 */
	if (unlikely(len > UINT16_MAX))
		len = UINT16_MAX;
	if (unlikely(len < ETH_HDR_LEN))
		return DSE_PARSE_ERR_RUNT;

	type = rd16(data + 12);
	if (unlikely(is_vlan_tpid(type))) {
		if (unlikely(len < ETH_HDR_LEN + VLAN_TAG_LEN))
			return DSE_PARSE_ERR_VLAN_TRUNC;
		info->vlan_tci = (uint16_t)rd16(data + 14);
		info->n_vlans = 1;
		type = rd16(data + 16);
		off += VLAN_TAG_LEN;
		if (is_vlan_tpid(type)) {
			if (unlikely(len < ETH_HDR_LEN + 2 * VLAN_TAG_LEN))
				return DSE_PARSE_ERR_VLAN_TRUNC;
			info->n_vlans = 2;
			type = rd16(data + 20);
			off += VLAN_TAG_LEN;
			if (unlikely(is_vlan_tpid(type)))
				return DSE_PARSE_ERR_VLAN_DEPTH;
		}
	}
	info->ethertype = (uint16_t)type;
	info->l3_off = (uint16_t)off;

	if (likely(type == ETYPE_IPV4))
		return parse_ipv4(data, len, off, info);
	if (type == ETYPE_IPV6)
		return parse_ipv6(data, len, off, info);
	if (type == ETYPE_ARP)
		return parse_arp(data, len, off, info);
	return DSE_PARSE_OK;
}

/*
 * The tables below are excluded from clang-format, which would fold each
 * X-macro expansion onto the line of the first initializer.
 */
/* clang-format off */
static const char *const parse_reasons[DSE_PARSE__MAX] = {
	[DSE_PARSE_OK] = "ok",
#define DSE_PARSE_REASON(n, s) [DSE_PARSE_ERR_##n] = s,
	DSE_PARSE_ERRORS(DSE_PARSE_REASON)
#undef DSE_PARSE_REASON
};
/* clang-format on */

const char *dse_parse_strerror(int result)
{
	if (result < 0 || result >= DSE_PARSE__MAX)
		return "unknown";
	return parse_reasons[result];
}

/*
 * The preprocessor can stringify the X-macro names but not change their case,
 * so the lower-case names are derived from the upper-case ones once, on first
 * use, into this table.
 */
#define PARSE_NAME_MAX 24

#define DSE_PARSE_NAME_FITS(n, s)                                                                  \
	_Static_assert(sizeof(#n) <= PARSE_NAME_MAX, "parse reason name too long: " #n);
DSE_PARSE_ERRORS(DSE_PARSE_NAME_FITS)
#undef DSE_PARSE_NAME_FITS

/* clang-format off */
static const char *const parse_upper_names[DSE_PARSE__MAX] = {
	[DSE_PARSE_OK] = "OK",
#define DSE_PARSE_UPPER(n, s) [DSE_PARSE_ERR_##n] = #n,
	DSE_PARSE_ERRORS(DSE_PARSE_UPPER)
#undef DSE_PARSE_UPPER
};
/* clang-format on */

static char parse_names[DSE_PARSE__MAX][PARSE_NAME_MAX];
static pthread_once_t parse_names_once = PTHREAD_ONCE_INIT;

static void parse_names_init(void)
{
	int i, j;

	for (i = 0; i < DSE_PARSE__MAX; i++) {
		const char *u = parse_upper_names[i];

		for (j = 0; u[j] != '\0'; j++)
			parse_names[i][j] =
			    (u[j] >= 'A' && u[j] <= 'Z') ? (char)(u[j] - 'A' + 'a') : u[j];
		parse_names[i][j] = '\0';
	}
}

const char *dse_parse_name(int result)
{
	if (result < 0 || result >= DSE_PARSE__MAX)
		return "unknown";
	pthread_once(&parse_names_once, parse_names_init);
	return parse_names[result];
}
