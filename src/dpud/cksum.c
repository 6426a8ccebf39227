/* SPDX-License-Identifier: BSD-3-Clause */
#include "cksum.h"

#include <netinet/in.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

/*
 * The one's complement sum is the same whatever the width of the words
 * added, as long as the carries come back in (RFC 1071), and the same in
 * either byte order but for a swap of its two bytes, which a check against
 * 0xffff does not see.  So bytes are added here as native 64-bit words with
 * the carry added back at once, and folded at the end: a few additions for
 * a header, where a loop over 16-bit words (or a vectorised one, whose
 * setup costs more than the 20 to 60 bytes it adds) takes dozens of cycles.
 */
static inline uint64_t add_carry(uint64_t acc, uint64_t v)
{
	acc += v;
	return acc + (acc < v);
}

static inline uint64_t sum_words(const uint8_t *p, uint32_t len, uint64_t acc)
{
	uint64_t v;
	uint32_t w;
	uint16_t h;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&v, p, 8);
		acc = add_carry(acc, v);
	}
	if (len >= 4) {
		memcpy(&w, p, 4);
		acc = add_carry(acc, w);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		acc = add_carry(acc, h);
		p += 2;
		len -= 2;
	}
	if (len) {
		h = 0;
		memcpy(&h, p, 1); /* the last byte, as the first of a word padded with zero */
		acc = add_carry(acc, h);
	}
	return acc;
}

/* Folds a 64-bit one's complement sum to 16 bits. */
static inline uint16_t fold(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The sum of the pseudo header of a layer 4 message of 'len' bytes and protocol 'proto'. */
static inline uint64_t pseudo_sum(const uint8_t *l3, bool v6, uint8_t proto, uint32_t len)
{
	uint64_t sum = v6 ? sum_words(l3 + 8, 32, 0) : sum_words(l3 + 12, 8, 0);

	/* Both families: the length and the protocol as 16-bit words (IPv6 zero-extends). */
	return add_carry(sum, (uint64_t)rte_cpu_to_be_16((uint16_t)len) + rte_cpu_to_be_16(proto));
}

/*
 * Checks the layer 4 checksum; with 'dev_bad' the device found it wrong
 * already, and only the reason is worked out.
 */
static enum dse_cksum_result l4_check(struct rte_mbuf *m, const struct dse_pkt_info *pi,
				      const uint8_t *l3, bool v6, bool dev_bad)
{
	const uint32_t len = (uint32_t)pi->ip_end - pi->l4_off;
	const uint8_t *l4 = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->l4_off);
	enum dse_cksum_result bad;
	uint64_t sum = 0;
	uint16_t raw;

	switch (pi->l4_proto) {
	case IPPROTO_TCP:
		bad = DSE_CKSUM_BAD_TCP;
		sum = pseudo_sum(l3, v6, IPPROTO_TCP, len);
		break;
	case IPPROTO_UDP:
		bad = DSE_CKSUM_BAD_UDP;
		/* Zero means "not computed": allowed over IPv4 only (RFC 768, RFC 8200). */
		if (l4[6] == 0 && l4[7] == 0)
			return v6 ? bad : DSE_CKSUM_OK;
		sum = pseudo_sum(l3, v6, IPPROTO_UDP, len);
		break;
	case IPPROTO_ICMP:
		if (v6)
			return DSE_CKSUM_OK; /* not a protocol of IPv6: the parser left it alone */
		bad = DSE_CKSUM_BAD_ICMP;
		break;
	case IPPROTO_ICMPV6:
		if (!v6)
			return DSE_CKSUM_OK;
		bad = DSE_CKSUM_BAD_ICMP;
		sum = pseudo_sum(l3, v6, IPPROTO_ICMPV6, len);
		break;
	default:
		return DSE_CKSUM_OK;
	}
	if (dev_bad)
		return bad;
	/* Contiguous (nearly always): sum in place; a chain (a datagram) segment by segment. */
	if (likely((uint32_t)pi->l4_off + len <= rte_pktmbuf_data_len(m)))
		return fold(sum_words(l4, len, sum)) == 0xffff ? DSE_CKSUM_OK : bad;
	if (rte_raw_cksum_mbuf(m, pi->l4_off, len, &raw) != 0)
		return bad;
	return fold(add_carry(sum, raw)) == 0xffff ? DSE_CKSUM_OK : bad;
}

enum dse_cksum_result dse_cksum_check(struct rte_mbuf *m, const struct dse_pkt_info *pi)
{
	const uint64_t ip_flags = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	const uint64_t l4_flags = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->l3_off);
	const bool v6 = pi->l3 == DSE_L3_IPV6;
	const bool whole = pi->l4_off != 0 && !dse_pkt_is_fragment(pi);
	enum dse_cksum_result r;

	if (!v6 && ip_flags != RTE_MBUF_F_RX_IP_CKSUM_GOOD) {
		if (ip_flags == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
		    fold(sum_words(l3, pi->l3_len, 0)) != 0xffff)
			return DSE_CKSUM_BAD_IP4;
	}
	m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_IP_CKSUM_MASK) | RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	if (!whole || l4_flags == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		return DSE_CKSUM_OK;
	r = l4_check(m, pi, l3, v6, l4_flags == RTE_MBUF_F_RX_L4_CKSUM_BAD);
	if (r == DSE_CKSUM_OK)
		m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_L4_CKSUM_MASK) |
			      RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	return r;
}
