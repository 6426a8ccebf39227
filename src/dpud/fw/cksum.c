/* SPDX-License-Identifier: BSD-3-Clause */
#include "cksum.h"

#include <netinet/in.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

/* The sum of the pseudo header of a layer 4 message of 'len' bytes and protocol 'proto'. */
static inline uint64_t pseudo_sum(const uint8_t *l3, bool v6, uint8_t proto, uint32_t len)
{
	uint64_t sum = v6 ? dse_cksum_words(l3 + 8, 32, 0) : dse_cksum_words(l3 + 12, 8, 0);

	/* Both families: the length and the protocol as 16-bit words (IPv6 zero-extends). */
	return dse_cksum_add(sum, (uint64_t)rte_cpu_to_be_16((uint16_t)len) + rte_cpu_to_be_16(proto));
}

/*
 * The sum of 'len' bytes at offset 'off' of the chain 'm' into '*ret'.
 * Segment by segment; a segment that starts at an odd byte of the range
 * adds its sum byte-swapped (RFC 1071).  Returns 0, or -1 when the chain
 * is shorter.
 */
static int chain_sum(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint64_t *ret)
{
	uint64_t sum = 0;
	uint32_t done = 0;

	while (m != NULL && off >= m->data_len) {
		off -= m->data_len;
		m = m->next;
	}
	for (; m != NULL && done < len; m = m->next, off = 0) {
		uint32_t n = RTE_MIN((uint32_t)m->data_len - off, len - done);
		uint16_t s16 =
		    dse_cksum_fold(dse_cksum_words(rte_pktmbuf_mtod_offset(m, const uint8_t *, off),
						   n, 0));

		if (done & 1)
			s16 = (uint16_t)((s16 << 8) | (s16 >> 8));
		sum += s16;
		done += n;
	}
	if (done < len)
		return -1;
	*ret = sum;
	return 0;
}

/* Reads the 16-bit field at byte 'off' of the chain 'm' (the fields of a header). */
static inline int chain_rd16(const struct rte_mbuf *m, uint32_t off, uint16_t *ret)
{
	uint8_t b[2];
	const uint8_t *p = rte_pktmbuf_read(m, off, 2, b);

	if (p == NULL)
		return -1;
	*ret = (uint16_t)((p[0] << 8) | p[1]);
	return 0;
}

/*
 * Checks the layer 4 checksum; with 'dev_bad' the device found it wrong
 * already, and only the reason is worked out.  UDP's sum covers its own
 * length (checked to lie within the IP payload), not the IP payload.
 */
static enum dse_cksum_result l4_check(struct rte_mbuf *m, const struct dse_pkt_info *pi,
				      const uint8_t *l3, bool v6, bool dev_bad)
{
	uint32_t len = (uint32_t)pi->ip_end - pi->l4_off;
	enum dse_cksum_result bad;
	uint64_t sum = 0, body;
	uint16_t ulen, usum;

	switch (pi->l4_proto) {
	case IPPROTO_TCP:
		bad = DSE_CKSUM_BAD_TCP;
		sum = pseudo_sum(l3, v6, IPPROTO_TCP, len);
		break;
	case IPPROTO_UDP:
		bad = DSE_CKSUM_BAD_UDP;
		if (chain_rd16(m, pi->l4_off + 4u, &ulen) < 0 ||
		    chain_rd16(m, pi->l4_off + 6u, &usum) < 0 || ulen < 8 || ulen > len)
			return bad;
		/* Zero means "not computed": allowed over IPv4 only (RFC 768, RFC 8200). */
		if (usum == 0)
			return v6 ? bad : DSE_CKSUM_OK;
		len = ulen;
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
		return dse_cksum_fold(dse_cksum_words(
			   rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->l4_off), len, sum)) ==
			       0xffff
			   ? DSE_CKSUM_OK
			   : bad;
	if (chain_sum(m, pi->l4_off, len, &body) < 0)
		return bad;
	return dse_cksum_fold(dse_cksum_add(sum, body)) == 0xffff ? DSE_CKSUM_OK : bad;
}

enum dse_cksum_result dse_cksum_verify(struct rte_mbuf *m, const struct dse_pkt_info *pi)
{
	const uint64_t ip_flags = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	const uint64_t l4_flags = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->l3_off);
	const bool v6 = pi->l3 == DSE_L3_IPV6;
	const bool whole = pi->l4_off != 0 && !dse_pkt_is_fragment(pi);
	enum dse_cksum_result r;

	/*
	 * NONE: the checksum field is not right but the device verified the
	 * data (a virtual device's packet whose sum was never filled in): as
	 * good as GOOD.
	 */
	if (!v6 && ip_flags != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
	    ip_flags != RTE_MBUF_F_RX_IP_CKSUM_NONE) {
		if (ip_flags == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
		    dse_cksum_fold(dse_cksum_words(l3, pi->l3_len, 0)) != 0xffff)
			return DSE_CKSUM_BAD_IP4;
	}
	m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_IP_CKSUM_MASK) | RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	if (!whole || l4_flags == RTE_MBUF_F_RX_L4_CKSUM_GOOD ||
	    l4_flags == RTE_MBUF_F_RX_L4_CKSUM_NONE)
		return DSE_CKSUM_OK;
	r = l4_check(m, pi, l3, v6, l4_flags == RTE_MBUF_F_RX_L4_CKSUM_BAD);
	if (r == DSE_CKSUM_OK)
		m->ol_flags = (m->ol_flags & ~RTE_MBUF_F_RX_L4_CKSUM_MASK) |
			      RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	return r;
}
