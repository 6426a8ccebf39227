/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Checksum verification for the packets the firewall tracks.  A packet must
 * not create, change or close a connection unless its IPv4 header checksum
 * and its TCP, UDP, ICMP or ICMPv6 checksum are right: one forged or
 * corrupted frame could otherwise reset or move any connection.
 *
 * The device's receive checksum flags are used where it reports them
 * (good: nothing to compute; bad: refused at once); otherwise the sums are
 * computed in software, over a chain of segments too (a reassembled
 * datagram).  A packet found good is marked so in its flags, so that a
 * later stage that checks again (the slow path after a fast path miss)
 * costs nothing.
 */
#ifndef DSE_CKSUM_H
#define DSE_CKSUM_H

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "parse.h"

/* What dse_cksum_check() found. */
enum dse_cksum_result {
	DSE_CKSUM_OK = 0,
	DSE_CKSUM_BAD_IP4,  /* IPv4 header checksum wrong */
	DSE_CKSUM_BAD_TCP,  /* TCP checksum wrong */
	DSE_CKSUM_BAD_UDP,  /* UDP checksum wrong (or zero over IPv6) */
	DSE_CKSUM_BAD_ICMP, /* ICMP or ICMPv6 checksum wrong */
};

/*
 * The one's complement sum is the same whatever the width of the words
 * added, as long as the carries come back in (RFC 1071), and the same in
 * either byte order but for a swap of its two bytes, which a check against
 * 0xffff does not see.  So bytes are added here as native 64-bit words with
 * the carry added back at once, and folded at the end: a few additions for
 * a header, where a loop over 16-bit words (or a vectorised one, whose
 * setup costs more than the 20 to 60 bytes it adds) takes dozens of cycles.
 */
static inline uint64_t dse_cksum_add(uint64_t acc, uint64_t v)
{
	acc += v;
	return acc + (acc < v);
}

static inline uint64_t dse_cksum_words(const uint8_t *p, uint32_t len, uint64_t acc)
{
	uint64_t v;
	uint32_t w;
	uint16_t h;

	for (; len >= 8; p += 8, len -= 8) {
		memcpy(&v, p, 8);
		acc = dse_cksum_add(acc, v);
	}
	if (len >= 4) {
		memcpy(&w, p, 4);
		acc = dse_cksum_add(acc, w);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		acc = dse_cksum_add(acc, h);
		p += 2;
		len -= 2;
	}
	if (len) {
		h = 0;
		memcpy(&h, p, 1); /* the last byte, as the first of a word padded with zero */
		acc = dse_cksum_add(acc, h);
	}
	return acc;
}

/* Folds a 64-bit one's complement sum to 16 bits. */
static inline uint16_t dse_cksum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The general case of dse_cksum_check() (cksum.c). */
enum dse_cksum_result dse_cksum_verify(struct rte_mbuf *m, const struct dse_pkt_info *pi);

/*
 * Verifies the checksums of the IP packet in 'm', parsed as 'pi' (offsets
 * from the start of the frame, which may span several segments).  The
 * IPv4 header is always checked; the layer 4 checksum when the packet holds
 * the whole datagram (not a fragment) and the protocol is TCP, UDP, ICMP
 * (IPv4) or ICMPv6 (IPv6).  Other protocols pass.  Returns DSE_CKSUM_OK or
 * the first wrong checksum; on success the mbuf's receive checksum flags
 * say good for what was verified.
 *
 * The case of nearly every packet, TCP or UDP (with a checksum and no
 * surplus after its length) in IPv4 without options in one segment, the
 * device having checked nothing, is done here in line, the header read
 * once for both sums.
 */
static inline enum dse_cksum_result dse_cksum_check(struct rte_mbuf *m,
						    const struct dse_pkt_info *pi)
{
	const uint64_t masks = RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK;
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *ip = frame + pi->l3_off, *l4 = frame + pi->l4_off;
	uint32_t len = (uint32_t)pi->ip_end - pi->l4_off;
	uint64_t a, b, hdr, sum;
	uint32_t c, src;

	if ((m->ol_flags & masks) == (RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD))
		return DSE_CKSUM_OK;
	if (!((m->ol_flags & masks) == 0 && pi->l3 == DSE_L3_IPV4 && pi->l3_len == 20 &&
	      pi->l4_off != 0 && !dse_pkt_is_fragment(pi) &&
	      (uint32_t)pi->ip_end <= rte_pktmbuf_data_len(m) &&
	      (pi->l4_proto == IPPROTO_TCP ||
	       (pi->l4_proto == IPPROTO_UDP && (l4[6] | l4[7]) != 0 &&
		(uint32_t)((l4[4] << 8) | l4[5]) == len))))
		return dse_cksum_verify(m, pi);
	memcpy(&a, ip, 8);
	memcpy(&b, ip + 8, 8);
	memcpy(&c, ip + 16, 4);
	memcpy(&src, ip + 12, 4);
	hdr = dse_cksum_add(dse_cksum_add(a, b), c);
	/* The pseudo header: the addresses (bytes 12-19, the destination 'c'), length, protocol. */
	sum = (uint64_t)src + c + rte_cpu_to_be_16((uint16_t)len) + rte_cpu_to_be_16(pi->l4_proto);
	sum = dse_cksum_words(l4, len, sum);
	if (dse_cksum_fold(hdr) != 0xffff)
		return DSE_CKSUM_BAD_IP4;
	if (dse_cksum_fold(sum) != 0xffff)
		return pi->l4_proto == IPPROTO_TCP ? DSE_CKSUM_BAD_TCP : DSE_CKSUM_BAD_UDP;
	m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	return DSE_CKSUM_OK;
}

#endif
