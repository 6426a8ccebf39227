/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the frame parser.  Frames are built by hand, byte by byte, so
 * that every test states exactly which layout it feeds the parser.  Each
 * frame is copied into a heap block of exactly its length before parsing, so
 * that a build with AddressSanitizer turns any read past the end into a
 * failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

/* A frame under construction, plus where its length fields live. */
struct frame {
	uint8_t b[2048];
	uint32_t len;
	uint32_t ip_off;  /* offset of the IP header, 0 if none */
	int ip_ver;	  /* 4 or 6 */
	uint32_t udp_off; /* offset of the UDP header, 0 if none */
};

static void put8(struct frame *f, uint8_t v)
{
	assert_true(f->len < sizeof(f->b));
	f->b[f->len++] = v;
}

static void put16(struct frame *f, uint16_t v)
{
	put8(f, (uint8_t)(v >> 8));
	put8(f, (uint8_t)v);
}

static void put32(struct frame *f, uint32_t v)
{
	put16(f, (uint16_t)(v >> 16));
	put16(f, (uint16_t)v);
}

static void put_fill(struct frame *f, uint32_t n, uint8_t v)
{
	while (n--)
		put8(f, v);
}

static void set16(struct frame *f, uint32_t off, uint16_t v)
{
	f->b[off] = (uint8_t)(v >> 8);
	f->b[off + 1] = (uint8_t)v;
}

static void frame_init(struct frame *f)
{
	memset(f, 0, sizeof(*f));
}

/* Destination and source MAC, then 'type' (a TPID if tags follow). */
static void put_eth(struct frame *f, uint16_t type)
{
	static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};

	frame_init(f);
	memcpy(f->b, macs, sizeof(macs));
	f->len = sizeof(macs);
	put16(f, type);
}

/* The rest of an 802.1Q tag whose TPID was the previous ethertype. */
static void put_vlan(struct frame *f, uint16_t tci, uint16_t type)
{
	put16(f, tci);
	put16(f, type);
}

/* An IPv4 header of 'ihl' words; lengths are set by frame_finish(). */
static void put_ipv4(struct frame *f, uint8_t proto, unsigned ihl, uint16_t frag)
{
	unsigned i;

	f->ip_off = f->len;
	f->ip_ver = 4;
	put8(f, (uint8_t)(0x40 | ihl));
	put8(f, 0);
	put16(f, 0); /* total length */
	put16(f, 0x1234);
	put16(f, frag);
	put8(f, 64);
	put8(f, proto);
	put16(f, 0);
	put32(f, 0x0a000001);
	put32(f, 0x0a000002);
	/* Options: no-ops up to the last byte, which ends the list. */
	for (i = 20; i < ihl * 4u; i++)
		put8(f, i + 1 == ihl * 4u ? 0 : 1);
}

static void put_ipv6(struct frame *f, uint8_t nh)
{
	f->ip_off = f->len;
	f->ip_ver = 6;
	put32(f, 0x60000000);
	put16(f, 0); /* payload length */
	put8(f, nh);
	put8(f, 64);
	put32(f, 0x20010db8);
	put32(f, 0);
	put32(f, 0);
	put32(f, 1);
	put32(f, 0x20010db8);
	put32(f, 0);
	put32(f, 0);
	put32(f, 2);
}

/* A generic extension header of 'total' bytes, its length byte in 'lenbyte'. */
static void put_ext_raw(struct frame *f, uint8_t nh, uint8_t lenbyte, uint32_t total)
{
	put8(f, nh);
	put8(f, lenbyte);
	put_fill(f, total - 2, 0x01);
}

/* Hop-by-hop, routing or destination options of (len + 1) * 8 bytes. */
static void put_ext(struct frame *f, uint8_t nh, uint8_t len8)
{
	put_ext_raw(f, nh, len8, ((uint32_t)len8 + 1) * 8);
}

/* Authentication header of (len + 2) * 4 bytes. */
static void put_ah(struct frame *f, uint8_t nh, uint8_t len4)
{
	put_ext_raw(f, nh, len4, ((uint32_t)len4 + 2) * 4);
}

/* IPv6 fragment header; 'offset' in 8-byte units. */
static void put_frag6(struct frame *f, uint8_t nh, uint16_t offset, int more)
{
	put8(f, nh);
	put8(f, 0);
	put16(f, (uint16_t)(offset << 3 | (more ? 1 : 0)));
	put32(f, 0xabcdef01);
}

/* A TCP header of 'doff' words, options padded with no-ops. */
static void put_tcp(struct frame *f, unsigned doff)
{
	unsigned i;

	put16(f, 1234);
	put16(f, 80);
	put32(f, 1);
	put32(f, 0);
	put8(f, (uint8_t)(doff << 4));
	put8(f, 0x02); /* SYN */
	put16(f, 65535);
	put16(f, 0);
	put16(f, 0);
	for (i = 20; i < doff * 4u; i++)
		put8(f, 1);
}

static void put_udp(struct frame *f)
{
	f->udp_off = f->len;
	put16(f, 1234);
	put16(f, 53);
	put16(f, 0); /* length */
	put16(f, 0);
}

static void put_icmp(struct frame *f, uint8_t type)
{
	put8(f, type);
	put8(f, 0);
	put16(f, 0);
	put16(f, 0x4242); /* identifier */
	put16(f, 1);	  /* sequence */
}

/* Sets the IP and UDP length fields so they cover the frame to its end. */
static void frame_finish(struct frame *f)
{
	if (f->ip_ver == 4)
		set16(f, f->ip_off + 2, (uint16_t)(f->len - f->ip_off));
	else if (f->ip_ver == 6)
		set16(f, f->ip_off + 4, (uint16_t)(f->len - f->ip_off - 40));
	if (f->udp_off)
		set16(f, f->udp_off + 4, (uint16_t)(f->len - f->udp_off));
}

/* Parses the first 'len' bytes of 'bytes' from a heap copy of exactly that size. */
static int parse_bytes(const uint8_t *bytes, uint32_t len, struct dse_pkt_info *info)
{
	uint8_t *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	if (len)
		memcpy(copy, bytes, len);
	rc = dse_parse_frame(copy, len, info);
	free(copy);
	return rc;
}

static int parse(const struct frame *f, struct dse_pkt_info *info)
{
	return parse_bytes(f->b, f->len, info);
}

static int parse_len(const struct frame *f, uint32_t len)
{
	struct dse_pkt_info info;

	return parse_bytes(f->b, len, &info);
}

/*
 * Properties every successful parse must have, whatever the frame: every
 * recorded region lies inside the frame and inside the IP packet.
 */
static void check_ok_invariants(const struct dse_pkt_info *i, uint32_t len)
{
	uint32_t cap = len > UINT16_MAX ? UINT16_MAX : len;

	assert_true(i->l3_off == 14 + 4u * i->n_vlans);
	assert_true(i->n_vlans <= 2);
	assert_true(i->l3_off <= cap);
	assert_true(i->l3 <= DSE_L3_IPV6);
	if (i->l3 == DSE_L3_IPV4 || i->l3 == DSE_L3_IPV6) {
		assert_true(i->ip_end <= cap);
		assert_true(i->l3_off + i->l3_len <= i->ip_end);
	} else {
		assert_int_equal(i->ip_end, 0);
		assert_int_equal(i->l4_off, 0);
	}
	if (i->l3 == DSE_L3_ARP)
		assert_true(i->l3_off + 28u <= cap);
	if (i->l4_off) {
		assert_int_equal(i->ip_frag, 0);
		assert_int_equal(i->l4_off, i->l3_off + i->l3_len);
		assert_true(i->l4_off + i->l4_len <= i->ip_end);
		assert_true(i->l4_proto == IPPROTO_TCP || i->l4_proto == IPPROTO_UDP ||
			    i->l4_proto == IPPROTO_ICMP || i->l4_proto == IPPROTO_ICMPV6);
	} else {
		assert_int_equal(i->l4_len, 0);
	}
}

static int parse_ok(const struct frame *f, struct dse_pkt_info *info)
{
	int rc = parse(f, info);

	assert_int_equal(rc, DSE_PARSE_OK);
	check_ok_invariants(info, f->len);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Valid frames                                                        */
/* ------------------------------------------------------------------ */

static void put_arp(struct frame *f)
{
	put16(f, 1);
	put16(f, 0x0800);
	put8(f, 6);
	put8(f, 4);
	put16(f, 1);
	put_fill(f, 6, 0x02);
	put32(f, 0x0a000001);
	put_fill(f, 6, 0);
	put32(f, 0x0a000002);
}

static void test_arp_request_is_accepted(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0806);
	put_arp(&f);
	put_fill(&f, 18, 0); /* padded to 60 bytes */
	parse_ok(&f, &i);
	assert_int_equal(i.l3, DSE_L3_ARP);
	assert_int_equal(i.ethertype, 0x0806);
	assert_int_equal(i.l3_off, 14);
	assert_int_equal(i.l3_len, 28);
	assert_int_equal(i.l4_off, 0);
	assert_int_equal(i.ip_end, 0);
}

static void test_ipv4_udp_records_every_offset(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 5, 0);
	put_udp(&f);
	put_fill(&f, 100, 0xaa);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l3, DSE_L3_IPV4);
	assert_int_equal(i.ethertype, 0x0800);
	assert_int_equal(i.n_vlans, 0);
	assert_int_equal(i.vlan_tci, 0);
	assert_int_equal(i.l3_off, 14);
	assert_int_equal(i.l3_len, 20);
	assert_int_equal(i.l4_off, 34);
	assert_int_equal(i.l4_len, 8);
	assert_int_equal(i.l4_proto, IPPROTO_UDP);
	assert_int_equal(i.ip_end, f.len);
	assert_int_equal(i.ip_frag, 0);
}

static void test_ipv4_udp_length_shorter_than_payload_is_accepted(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 5, 0);
	put_udp(&f);
	put_fill(&f, 20, 0xaa);
	frame_finish(&f);
	set16(&f, f.udp_off + 4, 8);
	parse_ok(&f, &i);
	assert_int_equal(i.l4_off, 34);
}

static void test_ipv4_tcp_records_data_offset(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_TCP, 5, 0);
	put_tcp(&f, 5);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l4_proto, IPPROTO_TCP);
	assert_int_equal(i.l4_off, 34);
	assert_int_equal(i.l4_len, 20);
	assert_int_equal(i.ip_end, 54);
}

static void test_ipv4_tcp_with_max_options_covers_60_bytes(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_TCP, 5, 0);
	put_tcp(&f, 15);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l4_len, 60);
	assert_int_equal(i.ip_end, 34 + 60);
}

static void test_ipv4_options_move_l4_offset(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 15, 0);
	put_udp(&f);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l3_len, 60);
	assert_int_equal(i.l4_off, 14 + 60);
	assert_int_equal(i.l4_len, 8);
	assert_int_equal(i.ip_end, 14 + 60 + 8);
}

static void test_ipv4_icmp_echo_is_parsed(void **state)
{
	static const uint8_t types[] = {8, 0};
	struct frame f;
	struct dse_pkt_info i;
	size_t t;

	(void)state;
	for (t = 0; t < sizeof(types); t++) {
		put_eth(&f, 0x0800);
		put_ipv4(&f, IPPROTO_ICMP, 5, 0);
		put_icmp(&f, types[t]);
		frame_finish(&f);
		parse_ok(&f, &i);
		assert_int_equal(i.l4_proto, IPPROTO_ICMP);
		assert_int_equal(i.l4_off, 34);
		assert_int_equal(i.l4_len, 4);
	}
}

static void test_ipv4_icmp_non_echo_needs_only_4_bytes(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_ICMP, 5, 0);
	put8(&f, 3); /* destination unreachable */
	put8(&f, 1);
	put16(&f, 0);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l4_off, 34);
	assert_int_equal(i.l4_len, 4);
}

static void test_ipv4_unknown_protocol_has_no_l4(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_GRE, 5, 0);
	put_fill(&f, 3, 0); /* shorter than any L4 header we know */
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l3, DSE_L3_IPV4);
	assert_int_equal(i.l4_off, 0);
	assert_int_equal(i.l4_len, 0);
	assert_int_equal(i.l4_proto, IPPROTO_GRE);
	assert_int_equal(i.ip_end, 14 + 20 + 3);
}

static void test_ipv4_carrying_icmpv6_is_an_unknown_protocol(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_ICMPV6, 5, 0);
	put8(&f, 128); /* would be a truncated echo request if it were parsed */
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l4_off, 0);
	assert_int_equal(i.l4_proto, IPPROTO_ICMPV6);
}

static void test_ipv4_non_first_fragment_has_no_l4(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 5, 185); /* offset 1480, last fragment */
	put_fill(&f, 5, 0xee);		   /* not even a UDP header's worth */
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.ip_frag, 1);
	assert_int_equal(i.l4_off, 0);
	assert_int_equal(i.l4_len, 0);
	assert_int_equal(i.l4_proto, IPPROTO_UDP);
	assert_int_equal(i.ip_end, 14 + 20 + 5);
}

static void test_ipv4_first_fragment_parses_l4(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_TCP, 5, 0x2000); /* MF, offset 0 */
	put_tcp(&f, 5);
	put_fill(&f, 8, 0);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.ip_frag, 0);
	assert_int_equal(i.l4_off, 34);
}

static void test_ipv4_first_fragment_udp_length_may_exceed_fragment(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 5, 0x2000); /* MF, offset 0 */
	put_udp(&f);
	put_fill(&f, 64, 0);
	frame_finish(&f);
	set16(&f, f.udp_off + 4, 3000); /* the whole datagram */
	parse_ok(&f, &i);
	assert_int_equal(i.l4_off, 34);
	assert_int_equal(i.l4_len, 8);

	/* A complete packet with the same UDP length is lying. */
	set16(&f, f.ip_off + 6, 0x4000); /* DF only */
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_UDP_LEN);
}

static void test_ipv4_padded_short_packet_in_60_byte_frame(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 5, 0);
	put_udp(&f);
	put_fill(&f, 4, 0x55);
	frame_finish(&f);
	put_fill(&f, 60 - f.len, 0); /* Ethernet padding, not part of IP */
	assert_int_equal(f.len, 60);
	parse_ok(&f, &i);
	assert_int_equal(i.ip_end, 14 + 20 + 8 + 4);
	assert_int_equal(i.l4_off, 34);
}

static void test_ipv6_udp_records_every_offset(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_UDP);
	put_udp(&f);
	put_fill(&f, 10, 0);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l3, DSE_L3_IPV6);
	assert_int_equal(i.ethertype, 0x86dd);
	assert_int_equal(i.l3_off, 14);
	assert_int_equal(i.l3_len, 40);
	assert_int_equal(i.l4_off, 54);
	assert_int_equal(i.l4_len, 8);
	assert_int_equal(i.l4_proto, IPPROTO_UDP);
	assert_int_equal(i.ip_end, f.len);
}

static void test_ipv6_tcp_is_parsed(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_TCP);
	put_tcp(&f, 8);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l4_off, 54);
	assert_int_equal(i.l4_len, 32);
	assert_int_equal(i.l4_proto, IPPROTO_TCP);
}

static void test_ipv6_icmpv6_echo_and_non_echo_are_parsed(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_ICMPV6);
	put_icmp(&f, 128);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l4_proto, IPPROTO_ICMPV6);
	assert_int_equal(i.l4_off, 54);
	assert_int_equal(i.l4_len, 4);

	/* A router solicitation's fixed part: type, code, checksum. */
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_ICMPV6);
	put8(&f, 133);
	put8(&f, 0);
	put16(&f, 0);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l4_off, 54);
	assert_int_equal(i.l4_len, 4);
}

static void test_ipv6_carrying_icmpv4_is_an_unknown_protocol(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_ICMP);
	put8(&f, 8);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l4_off, 0);
	assert_int_equal(i.l4_proto, IPPROTO_ICMP);
}

static void test_ipv6_no_next_header_is_accepted(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_NONE);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.ip_end, 54);
	assert_int_equal(i.l4_off, 0);
	assert_int_equal(i.l4_proto, IPPROTO_NONE);
}

/* One IPv6 extension header of type 'ext' and 'bytes' bytes, then UDP. */
static void check_ipv6_one_ext(uint8_t ext, uint32_t bytes)
{
	struct frame f;
	struct dse_pkt_info i;

	put_eth(&f, 0x86dd);
	put_ipv6(&f, ext);
	if (ext == IPPROTO_AH)
		put_ah(&f, IPPROTO_UDP, (uint8_t)(bytes / 4 - 2));
	else if (ext == IPPROTO_FRAGMENT)
		put_frag6(&f, IPPROTO_UDP, 0, 0);
	else
		put_ext(&f, IPPROTO_UDP, (uint8_t)(bytes / 8 - 1));
	put_udp(&f);
	put_fill(&f, 8, 0);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l3_len, 40 + bytes);
	assert_int_equal(i.l4_off, 54 + bytes);
	assert_int_equal(i.l4_proto, IPPROTO_UDP);
	assert_int_equal(i.ip_frag, 0);
}

static void test_ipv6_hop_by_hop_is_skipped(void **state)
{
	(void)state;
	check_ipv6_one_ext(IPPROTO_HOPOPTS, 8);
	check_ipv6_one_ext(IPPROTO_HOPOPTS, 16);
}

static void test_ipv6_routing_header_is_skipped(void **state)
{
	(void)state;
	check_ipv6_one_ext(IPPROTO_ROUTING, 24);
}

static void test_ipv6_destination_options_are_skipped(void **state)
{
	(void)state;
	check_ipv6_one_ext(IPPROTO_DSTOPTS, 8);
	check_ipv6_one_ext(IPPROTO_DSTOPTS, 2048 - 256); /* length byte 223 */
}

static void test_ipv6_ah_length_counts_4_byte_units(void **state)
{
	(void)state;
	check_ipv6_one_ext(IPPROTO_AH, 24); /* length byte 4, as with HMAC-SHA-96 */
	check_ipv6_one_ext(IPPROTO_AH, 12); /* length byte 1 */
}

static void test_ipv6_atomic_fragment_parses_l4(void **state)
{
	(void)state;
	check_ipv6_one_ext(IPPROTO_FRAGMENT, 8);
}

static void test_ipv6_chain_of_every_extension_type(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x86dd);
	/* Each header is written with the number of the one after it. */
	put_ipv6(&f, IPPROTO_HOPOPTS);
	put_ext(&f, IPPROTO_DSTOPTS, 0);  /* hop-by-hop, 8 bytes */
	put_ext(&f, IPPROTO_ROUTING, 1);  /* destination options, 16 */
	put_ext(&f, IPPROTO_FRAGMENT, 2); /* routing, 24 */
	put_frag6(&f, IPPROTO_AH, 0, 1);  /* fragment, 8, first fragment */
	put_ah(&f, IPPROTO_DSTOPTS, 4);	  /* authentication, 24 */
	put_ext(&f, IPPROTO_TCP, 0);	  /* destination options, 8 */
	put_tcp(&f, 6);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l3_len, 40 + 8 + 16 + 24 + 8 + 24 + 8);
	assert_int_equal(i.l4_off, 14 + 40 + 88);
	assert_int_equal(i.l4_len, 24);
	assert_int_equal(i.l4_proto, IPPROTO_TCP);
	assert_int_equal(i.ip_frag, 0);
}

static void test_ipv6_eight_extension_headers_are_accepted(void **state)
{
	struct frame f;
	struct dse_pkt_info i;
	int n;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_DSTOPTS);
	for (n = 0; n < 8; n++)
		put_ext(&f, n == 7 ? IPPROTO_UDP : IPPROTO_DSTOPTS, 0);
	put_udp(&f);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.l3_len, 40 + 64);
	assert_int_equal(i.l4_proto, IPPROTO_UDP);
}

static void test_ipv6_first_fragment_udp_length_may_exceed_fragment(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_FRAGMENT);
	put_frag6(&f, IPPROTO_UDP, 0, 1);
	put_udp(&f);
	put_fill(&f, 16, 0);
	frame_finish(&f);
	set16(&f, f.udp_off + 4, 4000);
	parse_ok(&f, &i);
	assert_int_equal(i.l4_off, 14 + 48);

	/* Without "more fragments" the same length is a lie. */
	f.b[f.ip_off + 40 + 3] = 0;
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_UDP_LEN);
}

static void test_ipv6_non_first_fragment_has_no_l4(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_HOPOPTS);
	put_ext(&f, IPPROTO_FRAGMENT, 0);
	put_frag6(&f, IPPROTO_TCP, 100, 1);
	put_fill(&f, 3, 0xee); /* would be a truncated TCP header */
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.ip_frag, 1);
	assert_int_equal(i.l4_off, 0);
	assert_int_equal(i.l4_len, 0);
	assert_int_equal(i.l4_proto, IPPROTO_TCP);
	assert_int_equal(i.l3_len, 40 + 8 + 8);
	assert_int_equal(i.ip_end, f.len);
}

static void test_single_vlan_records_tci_and_inner_ethertype(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x8100);
	put_vlan(&f, 0xa123, 0x0800); /* PCP 5, DEI 0, VID 0x123 */
	put_ipv4(&f, IPPROTO_UDP, 5, 0);
	put_udp(&f);
	frame_finish(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.n_vlans, 1);
	assert_int_equal(i.vlan_tci, 0xa123);
	assert_int_equal(i.ethertype, 0x0800);
	assert_int_equal(i.l3_off, 18);
	assert_int_equal(i.l4_off, 38);
}

static void test_double_vlan_records_outer_tci(void **state)
{
	static const uint16_t tpids[][2] = {{0x88a8, 0x8100}, {0x8100, 0x8100}, {0x88a8, 0x88a8}};
	struct frame f;
	struct dse_pkt_info i;
	size_t t;

	(void)state;
	for (t = 0; t < sizeof(tpids) / sizeof(tpids[0]); t++) {
		put_eth(&f, tpids[t][0]);
		put_vlan(&f, 0x0064, tpids[t][1]);
		put_vlan(&f, 0x00c8, 0x86dd);
		put_ipv6(&f, IPPROTO_TCP);
		put_tcp(&f, 5);
		frame_finish(&f);
		parse_ok(&f, &i);
		assert_int_equal(i.n_vlans, 2);
		assert_int_equal(i.vlan_tci, 100);
		assert_int_equal(i.ethertype, 0x86dd);
		assert_int_equal(i.l3_off, 22);
		assert_int_equal(i.l4_off, 62);
	}
}

static void test_unknown_ethertype_is_accepted_without_l3(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x88cc); /* LLDP */
	put_fill(&f, 46, 0x77);
	parse_ok(&f, &i);
	assert_int_equal(i.l3, DSE_L3_NONE);
	assert_int_equal(i.ethertype, 0x88cc);
	assert_int_equal(i.l3_off, 14);
	assert_int_equal(i.l3_len, 0);
	assert_int_equal(i.l4_off, 0);
	assert_int_equal(i.ip_end, 0);

	/* A bare header with nothing after it is still a frame. */
	put_eth(&f, 0x88cc);
	parse_ok(&f, &i);
	assert_int_equal(i.l3_off, 14);

	/* Behind a tag too. */
	put_eth(&f, 0x8100);
	put_vlan(&f, 7, 0x8906); /* FCoE */
	parse_ok(&f, &i);
	assert_int_equal(i.l3, DSE_L3_NONE);
	assert_int_equal(i.ethertype, 0x8906);
	assert_int_equal(i.l3_off, 18);
	assert_int_equal(i.vlan_tci, 7);
}

static void test_result_of_previous_frame_does_not_leak(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x8100);
	put_vlan(&f, 5, 0x0800);
	put_ipv4(&f, IPPROTO_TCP, 6, 0);
	put_tcp(&f, 5);
	frame_finish(&f);
	parse_ok(&f, &i);

	put_eth(&f, 0x0806);
	put_arp(&f);
	parse_ok(&f, &i);
	assert_int_equal(i.n_vlans, 0);
	assert_int_equal(i.vlan_tci, 0);
	assert_int_equal(i.l4_off, 0);
	assert_int_equal(i.l4_proto, 0);
	assert_int_equal(i.l4_len, 0);
}

static void test_frame_beyond_64k_is_parsed_within_first_64k(void **state)
{
	const uint32_t big = 70000;
	uint8_t *buf = calloc(big, 1);
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	assert_non_null(buf);
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 5, 0);
	put_udp(&f);
	frame_finish(&f);
	memcpy(buf, f.b, f.len);
	assert_int_equal(dse_parse_frame(buf, big, &i), DSE_PARSE_OK);
	assert_int_equal(i.ip_end, f.len);
	check_ok_invariants(&i, big);

	/* A total length reaching past 64 KiB cannot be represented. */
	buf[16] = 0xff;
	buf[17] = 0xff;
	assert_int_equal(dse_parse_frame(buf, big, &i), DSE_PARSE_ERR_IP4_LEN);
	free(buf);
}

/* ------------------------------------------------------------------ */
/* Rejected frames                                                     */
/* ------------------------------------------------------------------ */

static void test_runt_below_14_bytes(void **state)
{
	struct frame f;
	struct dse_pkt_info i;
	uint32_t n;

	(void)state;
	put_eth(&f, 0x0800);
	for (n = 0; n < 14; n++)
		assert_int_equal(parse_len(&f, n), DSE_PARSE_ERR_RUNT);
	assert_int_equal(dse_parse_frame(NULL, 0, &i), DSE_PARSE_ERR_RUNT);
}

static void test_vlan_tag_truncated_at_either_depth(void **state)
{
	struct frame f;
	uint32_t n;

	(void)state;
	put_eth(&f, 0x88a8);
	put_vlan(&f, 1, 0x8100);
	put_vlan(&f, 2, 0x88cc);
	for (n = 14; n < 22; n++)
		assert_int_equal(parse_len(&f, n), DSE_PARSE_ERR_VLAN_TRUNC);
	assert_int_equal(parse_len(&f, 22), DSE_PARSE_OK);
}

static void test_third_vlan_tag_is_too_deep(void **state)
{
	static const uint16_t tpids[] = {0x8100, 0x88a8};
	struct frame f;
	struct dse_pkt_info i;
	size_t t;

	(void)state;
	for (t = 0; t < 2; t++) {
		put_eth(&f, 0x8100);
		put_vlan(&f, 1, 0x8100);
		put_vlan(&f, 2, tpids[t]);
		put_vlan(&f, 3, 0x0800);
		put_ipv4(&f, IPPROTO_UDP, 5, 0);
		put_udp(&f);
		frame_finish(&f);
		assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_VLAN_DEPTH);
		/* Even when the third tag itself is cut off. */
		assert_int_equal(parse_len(&f, 22), DSE_PARSE_ERR_VLAN_DEPTH);
	}
}

static void test_arp_truncated_below_28_bytes(void **state)
{
	struct frame f;
	uint32_t n;

	(void)state;
	put_eth(&f, 0x0806);
	put_arp(&f);
	for (n = 14; n < 14 + 28; n++)
		assert_int_equal(parse_len(&f, n), DSE_PARSE_ERR_ARP_TRUNC);
	assert_int_equal(parse_len(&f, 14 + 28), DSE_PARSE_OK);
}

static void test_arp_with_wrong_types_or_lengths_is_bad(void **state)
{
	/* Byte offset within the ARP header and the wrong value put there. */
	static const struct {
		uint32_t off;
		uint8_t val;
	} bad[] = {
	    {1, 6},    /* htype 6 (IEEE 802) */
	    {0, 1},    /* htype 257 */
	    {2, 0x86}, /* ptype 0x8600 */
	    {3, 0xdd}, /* ptype 0x08dd */
	    {4, 8},    /* hlen 8 */
	    {5, 16},   /* plen 16 */
	};
	struct frame f;
	struct dse_pkt_info i;
	size_t t;

	(void)state;
	for (t = 0; t < sizeof(bad) / sizeof(bad[0]); t++) {
		put_eth(&f, 0x0806);
		put_arp(&f);
		f.b[14 + bad[t].off] = bad[t].val;
		assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_ARP_BAD);
	}
}

static void test_ipv4_header_truncated_below_20_bytes(void **state)
{
	struct frame f;
	uint32_t n;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 5, 0);
	set16(&f, f.ip_off + 2, 20);
	for (n = 14; n < 34; n++)
		assert_int_equal(parse_len(&f, n), DSE_PARSE_ERR_IP4_TRUNC);
	assert_int_equal(parse_len(&f, 34), DSE_PARSE_ERR_L4_TRUNC);
}

static void test_ipv4_version_other_than_4(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 5, 0);
	put_udp(&f);
	frame_finish(&f);
	f.b[14] = 0x65;
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP4_VERSION);
	f.b[14] = 0x05;
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP4_VERSION);
}

static void test_ipv4_ihl_below_5_words(void **state)
{
	struct frame f;
	struct dse_pkt_info i;
	uint8_t ihl;

	(void)state;
	for (ihl = 0; ihl < 5; ihl++) {
		put_eth(&f, 0x0800);
		put_ipv4(&f, IPPROTO_UDP, 5, 0);
		put_udp(&f);
		frame_finish(&f);
		f.b[14] = (uint8_t)(0x40 | ihl);
		assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP4_IHL);
	}
}

static void test_ipv4_ihl_beyond_frame(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 5, 0);
	put_udp(&f);
	frame_finish(&f);
	f.b[14] = 0x4f; /* 60 bytes claimed, 28 present */
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP4_IHL);

	/* Options cut off by the end of the frame. */
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 8, 0);
	set16(&f, f.ip_off + 2, 32);
	assert_int_equal(parse_len(&f, f.len - 1), DSE_PARSE_ERR_IP4_IHL);
}

static void test_ipv4_total_length_beyond_frame(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 5, 0);
	put_udp(&f);
	frame_finish(&f);
	set16(&f, f.ip_off + 2, (uint16_t)(f.len - 14 + 1));
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP4_LEN);
	set16(&f, f.ip_off + 2, 0xffff);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP4_LEN);
}

static void test_ipv4_total_length_below_header(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 6, 0);
	put_udp(&f);
	frame_finish(&f);
	set16(&f, f.ip_off + 2, 23);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP4_LEN);
	set16(&f, f.ip_off + 2, 0);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP4_LEN);
	/* Exactly the header passes the IPv4 checks and fails only at UDP. */
	set16(&f, f.ip_off + 2, 24);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_L4_TRUNC);
}

static void test_ipv6_header_truncated_below_40_bytes(void **state)
{
	struct frame f;
	uint32_t n;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_NONE);
	for (n = 14; n < 54; n++)
		assert_int_equal(parse_len(&f, n), DSE_PARSE_ERR_IP6_TRUNC);
	assert_int_equal(parse_len(&f, 54), DSE_PARSE_OK);
}

static void test_ipv6_version_other_than_6(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_UDP);
	put_udp(&f);
	frame_finish(&f);
	f.b[14] = 0x45;
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP6_VERSION);
}

static void test_ipv6_payload_length_beyond_frame(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_UDP);
	put_udp(&f);
	frame_finish(&f);
	set16(&f, f.ip_off + 4, 9);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP6_LEN);
	set16(&f, f.ip_off + 4, 0xffff);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP6_LEN);
}

static void test_ipv6_ext_header_truncated_by_frame(void **state)
{
	static const uint8_t exts[] = {IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT,
				       IPPROTO_DSTOPTS, IPPROTO_AH};
	struct frame f;
	struct dse_pkt_info i;
	size_t t;
	uint32_t n;

	(void)state;
	for (t = 0; t < sizeof(exts); t++) {
		/* Fewer than 8 bytes after the fixed header. */
		for (n = 0; n < 8; n++) {
			put_eth(&f, 0x86dd);
			put_ipv6(&f, exts[t]);
			put_fill(&f, n, 0);
			frame_finish(&f);
			assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP6_EXT);
		}
	}
}

static void test_ipv6_ext_length_beyond_packet(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	/* Routing header claiming 2048 bytes in a frame with 16. */
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_ROUTING);
	put_ext(&f, IPPROTO_UDP, 1);
	frame_finish(&f);
	f.b[f.ip_off + 41] = 255;
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP6_EXT);

	/* AH claiming 28 bytes where 24 are present. */
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_AH);
	put_ah(&f, IPPROTO_NONE, 4);
	frame_finish(&f);
	f.b[f.ip_off + 41] = 5;
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP6_EXT);
}

static void test_ipv6_ext_beyond_payload_length_but_within_frame(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	/*
	 * The header fits in the frame but not in the IPv6 packet: the bytes
	 * after the payload are padding and must not be parsed as headers.
	 */
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_DSTOPTS);
	put_ext(&f, IPPROTO_UDP, 1);
	put_udp(&f);
	frame_finish(&f);
	set16(&f, f.ip_off + 4, 8);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP6_EXT);
	set16(&f, f.ip_off + 4, 0);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP6_EXT);
}

/*
 * Steps: an IPv6 packet with a fragment header (offset 0, more fragments),
 * then a second, atomic one (offset 0, no more), then UDP.
 * Verify: refused (ip6_ext): a second fragment header would make the packet
 * look whole to the tracking while the receiver waits for the rest.
 */
static void test_ipv6_second_fragment_header_is_refused(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_FRAGMENT);
	put_frag6(&f, IPPROTO_FRAGMENT, 0, 1);
	put_frag6(&f, IPPROTO_UDP, 0, 0);
	put_udp(&f);
	frame_finish(&f);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP6_EXT);
}

static void test_ipv6_nine_extension_headers_are_too_many(void **state)
{
	struct frame f;
	struct dse_pkt_info i;
	int n;

	(void)state;
	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_HOPOPTS);
	for (n = 0; n < 9; n++)
		put_ext(&f, n == 8 ? IPPROTO_UDP : IPPROTO_DSTOPTS, 0);
	put_udp(&f);
	frame_finish(&f);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_IP6_EXT);
}

static void test_tcp_header_truncated(void **state)
{
	struct frame f;
	struct dse_pkt_info i;
	uint32_t n;

	(void)state;
	for (n = 0; n < 20; n++) {
		put_eth(&f, 0x0800);
		put_ipv4(&f, IPPROTO_TCP, 5, 0);
		put_tcp(&f, 5);
		f.len -= 20 - n;
		frame_finish(&f);
		assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_L4_TRUNC);
	}

	/* Frame bytes past the IP packet do not count as TCP header. */
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_TCP, 5, 0);
	put_tcp(&f, 5);
	set16(&f, f.ip_off + 2, 20 + 12);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_L4_TRUNC);
}

static void test_udp_header_truncated(void **state)
{
	struct frame f;
	struct dse_pkt_info i;
	uint32_t n;

	(void)state;
	for (n = 0; n < 8; n++) {
		put_eth(&f, 0x86dd);
		put_ipv6(&f, IPPROTO_UDP);
		put_fill(&f, n, 0);
		frame_finish(&f);
		assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_L4_TRUNC);
	}
}

static void test_icmp_truncated_below_4_bytes(void **state)
{
	struct frame f;
	struct dse_pkt_info i;
	uint32_t n;

	(void)state;
	for (n = 0; n < 4; n++) {
		put_eth(&f, 0x0800);
		put_ipv4(&f, IPPROTO_ICMP, 5, 0);
		put_fill(&f, n, 3);
		frame_finish(&f);
		assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_L4_TRUNC);

		put_eth(&f, 0x86dd);
		put_ipv6(&f, IPPROTO_ICMPV6);
		put_fill(&f, n, 1);
		frame_finish(&f);
		assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_L4_TRUNC);
	}
}

static void test_icmp_echo_truncated_below_8_bytes(void **state)
{
	static const struct {
		uint16_t ethertype;
		uint8_t proto;
		uint8_t type;
	} echo[] = {
	    {0x0800, IPPROTO_ICMP, 8},
	    {0x0800, IPPROTO_ICMP, 0},
	    {0x86dd, IPPROTO_ICMPV6, 128},
	    {0x86dd, IPPROTO_ICMPV6, 129},
	};
	struct frame f;
	struct dse_pkt_info i;
	size_t t;
	uint32_t n;

	(void)state;
	for (t = 0; t < sizeof(echo) / sizeof(echo[0]); t++) {
		for (n = 4; n < 8; n++) {
			put_eth(&f, echo[t].ethertype);
			if (echo[t].ethertype == 0x0800)
				put_ipv4(&f, echo[t].proto, 5, 0);
			else
				put_ipv6(&f, echo[t].proto);
			put_icmp(&f, echo[t].type);
			f.len -= 8 - n;
			frame_finish(&f);
			assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_L4_TRUNC);
		}
	}
}

static void test_tcp_data_offset_below_5_words(void **state)
{
	struct frame f;
	struct dse_pkt_info i;
	uint8_t doff;

	(void)state;
	for (doff = 0; doff < 5; doff++) {
		put_eth(&f, 0x0800);
		put_ipv4(&f, IPPROTO_TCP, 5, 0);
		put_tcp(&f, 5);
		frame_finish(&f);
		f.b[34 + 12] = (uint8_t)(doff << 4);
		assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_TCP_OFF);
	}
}

static void test_tcp_data_offset_beyond_packet(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_TCP, 5, 0);
	put_tcp(&f, 5);
	put_fill(&f, 16, 0);
	frame_finish(&f);
	f.b[34 + 12] = 0xf0; /* 60 bytes claimed, 36 present */
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_TCP_OFF);

	/* Options running into Ethernet padding rather than off the frame. */
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_TCP, 5, 0);
	put_tcp(&f, 8);
	frame_finish(&f);
	set16(&f, f.ip_off + 2, 20 + 28);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_TCP_OFF);
}

static void test_udp_length_beyond_packet(void **state)
{
	struct frame f;
	struct dse_pkt_info i;

	(void)state;
	put_eth(&f, 0x0800);
	put_ipv4(&f, IPPROTO_UDP, 5, 0);
	put_udp(&f);
	put_fill(&f, 10, 0);
	frame_finish(&f);
	set16(&f, f.udp_off + 4, 19);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_UDP_LEN);

	put_eth(&f, 0x86dd);
	put_ipv6(&f, IPPROTO_UDP);
	put_udp(&f);
	frame_finish(&f);
	set16(&f, f.udp_off + 4, 0xffff);
	assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_UDP_LEN);
}

static void test_udp_length_below_8(void **state)
{
	struct frame f;
	struct dse_pkt_info i;
	uint16_t ulen;

	(void)state;
	for (ulen = 0; ulen < 8; ulen++) {
		put_eth(&f, 0x0800);
		put_ipv4(&f, IPPROTO_UDP, 5, 0x2000); /* even in a first fragment */
		put_udp(&f);
		frame_finish(&f);
		set16(&f, f.udp_off + 4, ulen);
		assert_int_equal(parse(&f, &i), DSE_PARSE_ERR_UDP_LEN);
	}
}

/* ------------------------------------------------------------------ */
/* Truncation sweeps and random frames                                 */
/* ------------------------------------------------------------------ */

/*
 * TCP over QinQ over IPv6 with hop-by-hop, fragment (first) and destination
 * options headers.  Offsets: tags end at 22, IPv6 at 62, extensions at 86,
 * TCP (with 12 bytes of options) at 118, then 10 bytes of payload to 128.
 */
static void build_qinq_ipv6_ext_tcp(struct frame *f)
{
	put_eth(f, 0x88a8);
	put_vlan(f, 0x0123, 0x8100);
	put_vlan(f, 0x0456, 0x86dd);
	put_ipv6(f, IPPROTO_HOPOPTS);
	put_ext(f, IPPROTO_FRAGMENT, 0);
	put_frag6(f, IPPROTO_DSTOPTS, 0, 1);
	put_ext(f, IPPROTO_TCP, 0);
	put_tcp(f, 8);
	put_fill(f, 10, 0x5a);
	frame_finish(f);
}

static void test_every_prefix_of_qinq_ipv6_ext_tcp_is_rejected_by_layer(void **state)
{
	struct frame f;
	struct dse_pkt_info i;
	uint32_t n;
	int rc, want;

	(void)state;
	build_qinq_ipv6_ext_tcp(&f);
	assert_int_equal(f.len, 128);
	for (n = 0; n <= f.len; n++) {
		if (n < 14)
			want = DSE_PARSE_ERR_RUNT;
		else if (n < 22)
			want = DSE_PARSE_ERR_VLAN_TRUNC;
		else if (n < 62)
			want = DSE_PARSE_ERR_IP6_TRUNC;
		else if (n < f.len)
			want = DSE_PARSE_ERR_IP6_LEN; /* the payload length no longer fits */
		else
			want = DSE_PARSE_OK;
		rc = parse_bytes(f.b, n, &i);
		assert_int_equal(rc, want);
	}
	check_ok_invariants(&i, f.len);
	assert_int_equal(i.n_vlans, 2);
	assert_int_equal(i.vlan_tci, 0x0123);
	assert_int_equal(i.l3_len, 40 + 24);
	assert_int_equal(i.l4_off, 86);
	assert_int_equal(i.l4_len, 32);
}

static void test_every_prefix_with_matching_payload_length_is_rejected_by_layer(void **state)
{
	struct frame f;
	struct dse_pkt_info i;
	uint32_t n;
	int rc, want;

	(void)state;
	/*
	 * Here the IPv6 payload length is rewritten to agree with each prefix,
	 * so the parser gets past the IPv6 header and must catch the cut in
	 * the extension headers or TCP instead.
	 */
	build_qinq_ipv6_ext_tcp(&f);
	for (n = 62; n <= f.len; n++) {
		set16(&f, 22 + 4, (uint16_t)(n - 62));
		/* The packet is a first fragment: a cut TCP header is a tiny fragment. */
		if (n < 86)
			want = DSE_PARSE_ERR_IP6_EXT;
		else if (n < 86 + 32)
			want = DSE_PARSE_ERR_FRAG_TINY;
		else
			want = DSE_PARSE_OK;
		rc = parse_bytes(f.b, n, &i);
		assert_int_equal(rc, want);
		if (rc == DSE_PARSE_OK) {
			check_ok_invariants(&i, n);
			assert_int_equal(i.ip_end, n);
		}
	}
}

static uint8_t rand_byte(unsigned *seed)
{
	return (uint8_t)(rand_r(seed) >> 7);
}

/* A valid frame of one of several kinds, to mutate from. */
static void build_template(struct frame *f, unsigned kind)
{
	switch (kind % 8) {
	case 0:
		put_eth(f, 0x0800);
		put_ipv4(f, IPPROTO_UDP, 5, 0);
		put_udp(f);
		put_fill(f, 18, 0);
		break;
	case 1:
		put_eth(f, 0x8100);
		put_vlan(f, 9, 0x0800);
		put_ipv4(f, IPPROTO_TCP, 7, 0);
		put_tcp(f, 10);
		break;
	case 2:
		put_eth(f, 0x0800);
		put_ipv4(f, IPPROTO_ICMP, 5, 0);
		put_icmp(f, 8);
		break;
	case 3:
		put_eth(f, 0x0806);
		put_arp(f);
		break;
	case 4:
		build_qinq_ipv6_ext_tcp(f);
		break;
	case 5:
		put_eth(f, 0x86dd);
		put_ipv6(f, IPPROTO_AH);
		put_ah(f, IPPROTO_ROUTING, 4);
		put_ext(f, IPPROTO_ICMPV6, 1);
		put_icmp(f, 129);
		break;
	case 6:
		put_eth(f, 0x86dd);
		put_ipv6(f, IPPROTO_FRAGMENT);
		put_frag6(f, IPPROTO_UDP, 0, 1);
		put_udp(f);
		put_fill(f, 30, 0);
		break;
	default:
		put_eth(f, 0x88a8);
		put_vlan(f, 1, 0x8100);
		put_vlan(f, 2, 0x0800);
		put_ipv4(f, IPPROTO_UDP, 5, 0x2000);
		put_udp(f);
		break;
	}
	frame_finish(f);
}

static void test_random_frames_never_read_out_of_bounds(void **state)
{
	unsigned seed = 0x5eed;
	struct frame f;
	struct dse_pkt_info i;
	uint32_t len, k, nmut;
	uint8_t *buf;
	int n, rc, ok = 0;

	(void)state;
	for (n = 0; n < 100000; n++) {
		unsigned mode = (unsigned)rand_r(&seed) % 4;

		if (mode == 0) {
			/* Pure noise, with the ethertype sometimes made plausible. */
			frame_init(&f);
			f.len = (uint32_t)rand_r(&seed) % 200;
			for (k = 0; k < f.len; k++)
				f.b[k] = rand_byte(&seed);
			if (f.len >= 14 && (rand_r(&seed) & 1)) {
				static const uint16_t types[] = {0x0800, 0x86dd, 0x0806, 0x8100,
								 0x88a8};

				set16(&f, 12, types[(unsigned)rand_r(&seed) % 5]);
			}
		} else {
			/* A valid frame with a few bytes changed, maybe cut short. */
			build_template(&f, (unsigned)rand_r(&seed));
			nmut = (unsigned)rand_r(&seed) % 4;
			for (k = 0; k < nmut && f.len; k++)
				f.b[(unsigned)rand_r(&seed) % f.len] = rand_byte(&seed);
			if (mode == 1)
				f.len = (uint32_t)rand_r(&seed) % (f.len + 1);
		}

		len = f.len;
		buf = malloc(len ? len : 1);
		assert_non_null(buf);
		memcpy(buf, f.b, len);
		rc = dse_parse_frame(buf, len, &i);
		assert_true(rc >= DSE_PARSE_OK && rc < DSE_PARSE__MAX);
		if (rc == DSE_PARSE_OK) {
			check_ok_invariants(&i, len);
			ok++;
		}
		free(buf);
	}
	/* The mix must exercise both outcomes to mean anything. */
	assert_true(ok > 10000);
	assert_true(ok < 90000);
}

/* ------------------------------------------------------------------ */
/* Names and descriptions                                              */
/* ------------------------------------------------------------------ */

static void test_names_are_lower_case_x_macro_names(void **state)
{
	int r, s;
	const char *p;

	(void)state;
	assert_string_equal(dse_parse_name(DSE_PARSE_OK), "ok");
	assert_string_equal(dse_parse_name(DSE_PARSE_ERR_RUNT), "runt");
	assert_string_equal(dse_parse_name(DSE_PARSE_ERR_IP4_IHL), "ip4_ihl");
	assert_string_equal(dse_parse_name(DSE_PARSE_ERR_UDP_LEN), "udp_len");
	for (r = 0; r < DSE_PARSE__MAX; r++) {
		p = dse_parse_name(r);
		assert_non_null(p);
		assert_true(*p != '\0');
		for (; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
				    *p == '_');
		for (s = 0; s < r; s++)
			assert_string_not_equal(dse_parse_name(r), dse_parse_name(s));
	}
	assert_string_equal(dse_parse_name(-1), "unknown");
	assert_string_equal(dse_parse_name(DSE_PARSE__MAX), "unknown");
}

static void test_every_result_has_a_description(void **state)
{
	int r, s;

	(void)state;
	assert_string_equal(dse_parse_strerror(DSE_PARSE_OK), "ok");
	assert_string_equal(dse_parse_strerror(DSE_PARSE_ERR_RUNT),
			    "frame shorter than an Ethernet header");
	for (r = 1; r < DSE_PARSE__MAX; r++) {
		assert_non_null(dse_parse_strerror(r));
		assert_true(strlen(dse_parse_strerror(r)) > 10);
		for (s = 0; s < r; s++)
			assert_string_not_equal(dse_parse_strerror(r), dse_parse_strerror(s));
	}
	assert_string_equal(dse_parse_strerror(-1), "unknown");
	assert_string_equal(dse_parse_strerror(DSE_PARSE__MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_arp_request_is_accepted),
	    cmocka_unit_test(test_ipv4_udp_records_every_offset),
	    cmocka_unit_test(test_ipv4_udp_length_shorter_than_payload_is_accepted),
	    cmocka_unit_test(test_ipv4_tcp_records_data_offset),
	    cmocka_unit_test(test_ipv4_tcp_with_max_options_covers_60_bytes),
	    cmocka_unit_test(test_ipv4_options_move_l4_offset),
	    cmocka_unit_test(test_ipv4_icmp_echo_is_parsed),
	    cmocka_unit_test(test_ipv4_icmp_non_echo_needs_only_4_bytes),
	    cmocka_unit_test(test_ipv4_unknown_protocol_has_no_l4),
	    cmocka_unit_test(test_ipv4_carrying_icmpv6_is_an_unknown_protocol),
	    cmocka_unit_test(test_ipv4_non_first_fragment_has_no_l4),
	    cmocka_unit_test(test_ipv4_first_fragment_parses_l4),
	    cmocka_unit_test(test_ipv4_first_fragment_udp_length_may_exceed_fragment),
	    cmocka_unit_test(test_ipv4_padded_short_packet_in_60_byte_frame),
	    cmocka_unit_test(test_ipv6_udp_records_every_offset),
	    cmocka_unit_test(test_ipv6_tcp_is_parsed),
	    cmocka_unit_test(test_ipv6_icmpv6_echo_and_non_echo_are_parsed),
	    cmocka_unit_test(test_ipv6_carrying_icmpv4_is_an_unknown_protocol),
	    cmocka_unit_test(test_ipv6_no_next_header_is_accepted),
	    cmocka_unit_test(test_ipv6_hop_by_hop_is_skipped),
	    cmocka_unit_test(test_ipv6_routing_header_is_skipped),
	    cmocka_unit_test(test_ipv6_destination_options_are_skipped),
	    cmocka_unit_test(test_ipv6_ah_length_counts_4_byte_units),
	    cmocka_unit_test(test_ipv6_atomic_fragment_parses_l4),
	    cmocka_unit_test(test_ipv6_chain_of_every_extension_type),
	    cmocka_unit_test(test_ipv6_eight_extension_headers_are_accepted),
	    cmocka_unit_test(test_ipv6_first_fragment_udp_length_may_exceed_fragment),
	    cmocka_unit_test(test_ipv6_non_first_fragment_has_no_l4),
	    cmocka_unit_test(test_single_vlan_records_tci_and_inner_ethertype),
	    cmocka_unit_test(test_double_vlan_records_outer_tci),
	    cmocka_unit_test(test_unknown_ethertype_is_accepted_without_l3),
	    cmocka_unit_test(test_result_of_previous_frame_does_not_leak),
	    cmocka_unit_test(test_frame_beyond_64k_is_parsed_within_first_64k),
	    cmocka_unit_test(test_runt_below_14_bytes),
	    cmocka_unit_test(test_vlan_tag_truncated_at_either_depth),
	    cmocka_unit_test(test_third_vlan_tag_is_too_deep),
	    cmocka_unit_test(test_arp_truncated_below_28_bytes),
	    cmocka_unit_test(test_arp_with_wrong_types_or_lengths_is_bad),
	    cmocka_unit_test(test_ipv4_header_truncated_below_20_bytes),
	    cmocka_unit_test(test_ipv4_version_other_than_4),
	    cmocka_unit_test(test_ipv4_ihl_below_5_words),
	    cmocka_unit_test(test_ipv4_ihl_beyond_frame),
	    cmocka_unit_test(test_ipv4_total_length_beyond_frame),
	    cmocka_unit_test(test_ipv4_total_length_below_header),
	    cmocka_unit_test(test_ipv6_header_truncated_below_40_bytes),
	    cmocka_unit_test(test_ipv6_version_other_than_6),
	    cmocka_unit_test(test_ipv6_payload_length_beyond_frame),
	    cmocka_unit_test(test_ipv6_ext_header_truncated_by_frame),
	    cmocka_unit_test(test_ipv6_ext_length_beyond_packet),
	    cmocka_unit_test(test_ipv6_ext_beyond_payload_length_but_within_frame),
	    cmocka_unit_test(test_ipv6_nine_extension_headers_are_too_many),
	    cmocka_unit_test(test_ipv6_second_fragment_header_is_refused),
	    cmocka_unit_test(test_tcp_header_truncated),
	    cmocka_unit_test(test_udp_header_truncated),
	    cmocka_unit_test(test_icmp_truncated_below_4_bytes),
	    cmocka_unit_test(test_icmp_echo_truncated_below_8_bytes),
	    cmocka_unit_test(test_tcp_data_offset_below_5_words),
	    cmocka_unit_test(test_tcp_data_offset_beyond_packet),
	    cmocka_unit_test(test_udp_length_beyond_packet),
	    cmocka_unit_test(test_udp_length_below_8),
	    cmocka_unit_test(test_every_prefix_of_qinq_ipv6_ext_tcp_is_rejected_by_layer),
	    cmocka_unit_test(test_every_prefix_with_matching_payload_length_is_rejected_by_layer),
	    cmocka_unit_test(test_random_frames_never_read_out_of_bounds),
	    cmocka_unit_test(test_names_are_lower_case_x_macro_names),
	    cmocka_unit_test(test_every_result_has_a_description),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
