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

#include <stdint.h>

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
 * Verifies the checksums of the IP packet in 'm', parsed as 'pi' (offsets
 * from the start of the frame, which may span several segments).  The
 * IPv4 header is always checked; the layer 4 checksum when the packet holds
 * the whole datagram (not a fragment) and the protocol is TCP, UDP, ICMP
 * (IPv4) or ICMPv6 (IPv6).  Other protocols pass.  Returns DSE_CKSUM_OK or
 * the first wrong checksum; on success the mbuf's receive checksum flags
 * say good for what was verified.
 */
enum dse_cksum_result dse_cksum_check(struct rte_mbuf *m, const struct dse_pkt_info *pi);

#endif
