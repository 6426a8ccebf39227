/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of Geneve encapsulation and decapsulation.  The group setup
 * starts a minimal EAL (no hugepages, no PCI, no shared config, one lcore,
 * a file prefix of its own) and one small mbuf pool without a cache, so the
 * pool's free count is exact and every test checks that it leaked nothing.
 *
 * Outer packets are built here byte by byte (build()), independently of the
 * code under test, with their own checksum routine; encapsulation is
 * compared with those bytes and with a literal header, and decapsulation is
 * fed every malformation the builder can make.  Refused packets are parsed
 * from a heap copy of exactly their length, so ASan catches any read past
 * the end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_eal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "geneve.h"

#define POOL_SIZE 64

static struct rte_mempool *pool;
static int eal_setup(void **state)
{
	(void)state;
	if (test_eal_init("test-geneve", "64") < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("test_geneve", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "pool: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

static int eal_teardown(void **state)
{
	(void)state;
	rte_mempool_free(pool);
	return test_eal_cleanup();
}

/*
 * Every test must give back every mbuf it took.  The count is compared with
 * the one at the test's start, so a test that fails half way (and so leaks)
 * does not fail the ones after it.
 */
static unsigned avail_at_start;

static int count_mbufs(void **state)
{
	(void)state;
	avail_at_start = rte_mempool_avail_count(pool);
	return 0;
}

static int check_no_leak(void **state)
{
	(void)state;
	return rte_mempool_avail_count(pool) == avail_at_start ? 0 : -1;
}

/* 198.19.H.N in network byte order, as the lab numbers TEPs. */
static uint32_t tep_ip(uint8_t h, uint8_t n)
{
	uint32_t a;
	const uint8_t b[4] = {198, 19, h, n};

	memcpy(&a, b, 4);
	return a;
}

static const uint8_t mac_local[6] = {0x02, 0x00, 0xc6, 0x13, 0x01, 0x01};
static const uint8_t mac_nh[6] = {0x02, 0x00, 0xc6, 0x13, 0x02, 0x01};

/* The sender h1-d1 (198.19.1.1) towards h2-d1 (198.19.2.1), VNI 0x123456, MTU 1500. */
static struct dse_geneve_tx tx_default(void)
{
	struct dse_geneve_tx tx = {
	    .remote_ip = tep_ip(2, 1),
	    .vni = 0x123456,
	    .mtu = 1500,
	};

	tx.local.ip = tep_ip(1, 1);
	memcpy(tx.local.mac.addr_bytes, mac_local, 6);
	memcpy(tx.nh_mac.addr_bytes, mac_nh, 6);
	return tx;
}

/*
 * An inner frame of 'len' bytes: VM MACs 02:00:00:00:01:01 -> 02:00:00:00:02:01,
 * IPv4 (when it fits) and a byte pattern seeded by 'seed'.
 */
static void make_inner(uint8_t *f, uint32_t len, uint8_t seed)
{
	static const uint8_t hdr[14] = {0x02, 0, 0, 0,	  0x02, 0x01, 0x02,
					0,    0, 0, 0x01, 0x01, 0x08, 0x00};

	for (uint32_t i = 0; i < len; i++)
		f[i] = (uint8_t)(seed + i * 7);
	memcpy(f, hdr, len < 14 ? len : 14);
}

/* An mbuf holding a copy of 'len' bytes, with 'headroom' bytes before them. */
static struct rte_mbuf *mbuf_of(const uint8_t *data, uint32_t len, uint16_t headroom)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *p;

	assert_non_null(m);
	m->data_off = headroom;
	p = rte_pktmbuf_append(m, (uint16_t)len);
	assert_non_null(p);
	memcpy(p, data, len);
	return m;
}

/* The 16-bit one's complement sum of RFC 1071, written out for the tests. */
static uint32_t sum16(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * What build() makes.  spec_default() is a well-formed packet from
 * 198.19.2.1 to 198.19.1.1 carrying a 100-byte inner frame; each test
 * changes the one thing it is about.
 */
struct spec {
	int n_vlans;	    /* outer 802.1Q tags, 0..3 */
	uint16_t ethertype; /* after the tags */
	uint8_t src_mac0;   /* first byte of the outer source MAC */
	uint8_t ip_ver;	    /* IPv4 version nibble */
	uint8_t ihl;	    /* IPv4 header words (options are zero bytes) */
	int ip_tot_delta;   /* added to the right IPv4 total length */
	int bad_ip_cksum;   /* 1: the header checksum is off by one */
	uint16_t frag;	    /* IPv4 flags and fragment offset */
	uint8_t proto;	    /* IPv4 protocol */
	uint32_t src_ip;    /* network order */
	uint16_t dport;	    /* UDP destination port */
	int udp_len_delta;  /* added to the right UDP length */
	int udp_cksum;	    /* 0: zero, 1: correct, 2: wrong */
	uint8_t ver;	    /* Geneve version */
	uint8_t flags;	    /* Geneve byte 1: O, C, reserved */
	int optlen_field;   /* Geneve option length field; -1: opts_len / 4 */
	uint16_t gproto;    /* Geneve protocol type */
	uint32_t vni;
	const uint8_t *opts; /* option bytes */
	uint32_t opts_len;
	uint32_t inner_len; /* the inner frame, made by make_inner(seed 0x40) */
	uint32_t pad;	    /* zero bytes after the IPv4 packet */
	uint32_t cut;	    /* if non-zero, the frame is cut to this many bytes */
};

static struct spec spec_default(void)
{
	struct spec s = {
	    .ethertype = 0x0800,
	    .src_mac0 = 0x02,
	    .ip_ver = 4,
	    .ihl = 5,
	    .frag = 0x4000,
	    .proto = 17,
	    .src_ip = tep_ip(2, 1),
	    .dport = 6081,
	    .optlen_field = -1,
	    .gproto = 0x6558,
	    .vni = 0xabcdef,
	    .inner_len = 100,
	};

	return s;
}

/* Builds the outer frame 's' describes into 'f'; returns its length. */
static uint32_t build(const struct spec *s, uint8_t *f)
{
	uint32_t off = 12, ip_off, hlen = (uint32_t)s->ihl * 4, udp_off, g_off, tot, ulen, len;

	/* Ethernet: destination = our TEP MAC, source = the peer's. */
	memcpy(f, mac_local, 6);
	memcpy(f + 6, mac_nh, 6);
	f[6] = s->src_mac0;
	for (int i = 0; i < s->n_vlans; i++) {
		put16(f + off, 0x8100);
		put16(f + off + 2, (uint32_t)(100 + i));
		off += 4;
	}
	put16(f + off, s->ethertype);
	ip_off = off + 2;

	udp_off = ip_off + hlen;
	g_off = udp_off + 8;
	ulen = 8 + 8 + s->opts_len + s->inner_len;
	tot = hlen + ulen;

	/* IPv4 */
	memset(f + ip_off, 0, hlen);
	f[ip_off] = (uint8_t)(s->ip_ver << 4 | (s->ihl & 0x0f));
	put16(f + ip_off + 2, (uint32_t)((int)tot + s->ip_tot_delta));
	put16(f + ip_off + 6, s->frag);
	f[ip_off + 8] = 64;
	f[ip_off + 9] = s->proto;
	memcpy(f + ip_off + 12, &s->src_ip, 4);
	memcpy(f + ip_off + 16, &(uint32_t){tep_ip(1, 1)}, 4);
	put16(f + ip_off + 10,
	      (uint16_t)~fold(sum16(f + ip_off, hlen, 0)) + (s->bad_ip_cksum ? 1 : 0));

	/* UDP */
	put16(f + udp_off, 0xc001);
	put16(f + udp_off + 2, s->dport);
	put16(f + udp_off + 4, (uint32_t)((int)ulen + s->udp_len_delta));
	put16(f + udp_off + 6, 0);

	/* Geneve, options, inner frame */
	f[g_off] = (uint8_t)(s->ver << 6 |
			     (s->optlen_field >= 0 ? (uint32_t)s->optlen_field : s->opts_len / 4));
	f[g_off + 1] = s->flags;
	put16(f + g_off + 2, s->gproto);
	f[g_off + 4] = (uint8_t)(s->vni >> 16);
	f[g_off + 5] = (uint8_t)(s->vni >> 8);
	f[g_off + 6] = (uint8_t)s->vni;
	f[g_off + 7] = 0;
	if (s->opts_len)
		memcpy(f + g_off + 8, s->opts, s->opts_len);
	make_inner(f + g_off + 8 + s->opts_len, s->inner_len, 0x40);

	if (s->udp_cksum) {
		/* Pseudo-header: addresses, protocol, UDP length; then the datagram. */
		uint32_t sum = sum16(f + ip_off + 12, 8, 0) + 17 + ulen;
		uint16_t c;

		sum = sum16(f + udp_off, ulen, sum);
		c = (uint16_t)~fold(sum);
		if (c == 0)
			c = 0xffff;
		put16(f + udp_off + 6, s->udp_cksum == 1 ? c : (uint16_t)(c ^ 0x0100));
	}
	len = ip_off + tot;
	memset(f + len, 0, s->pad);
	len += s->pad;
	return s->cut ? s->cut : len;
}

/* Parses 'f' from a heap copy of exactly 'len' bytes, so ASan sees any overread. */
static int parse_exact(const uint8_t *f, uint32_t len, struct dse_geneve_rx *rx)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, f, len);
	r = dse_geneve_parse(copy, len, rx);
	free(copy);
	return r;
}

/*
 * Asserts that the frame 's' describes is refused with 'reason' by both the
 * byte parser and mbuf decapsulation, and that the mbuf is left unchanged.
 */
static void expect_refused(const struct spec *s, int reason)
{
	static uint8_t f[4096];
	struct dse_geneve_rx rx;
	struct rte_mbuf *m;
	uint32_t len = build(s, f);
	uint16_t off;

	assert_int_equal(parse_exact(f, len, &rx), reason);
	m = mbuf_of(f, len, RTE_PKTMBUF_HEADROOM);
	off = m->data_off;
	assert_int_equal(dse_geneve_decap(m, &rx), reason);
	assert_int_equal(m->data_off, off);
	assert_int_equal(rte_pktmbuf_pkt_len(m), len);
	assert_memory_equal(rte_pktmbuf_mtod(m, uint8_t *), f, len);
	rte_pktmbuf_free(m);
}

/*
 * Asserts that 's' is accepted: decapsulation leaves exactly the inner frame
 * in the mbuf.  Returns what it learned in '*rx'.
 */
static void expect_accepted(const struct spec *s, struct dse_geneve_rx *rx)
{
	static uint8_t f[4096];
	uint8_t inner[2048];
	struct rte_mbuf *m;
	uint32_t len = build(s, f);

	assert_int_equal(parse_exact(f, len, rx), DSE_GENEVE_OK);
	m = mbuf_of(f, len, RTE_PKTMBUF_HEADROOM);
	assert_int_equal(dse_geneve_decap(m, rx), DSE_GENEVE_OK);
	make_inner(inner, s->inner_len, 0x40);
	assert_int_equal(rte_pktmbuf_pkt_len(m), s->inner_len);
	assert_int_equal(rte_pktmbuf_data_len(m), s->inner_len);
	assert_memory_equal(rte_pktmbuf_mtod(m, uint8_t *), inner, s->inner_len);
	assert_int_equal(rx->inner_len, s->inner_len);
	rte_pktmbuf_free(m);
}

/* The outer headers of the 100-byte frame of tx_default() with hash 0x12345678. */
static const uint8_t golden_outer[50] = {
    0x02, 0x00, 0xc6, 0x13, 0x02, 0x01, /* next hop MAC */
    0x02, 0x00, 0xc6, 0x13, 0x01, 0x01, /* our TEP MAC */
    0x08, 0x00,				/* IPv4 */
    0x45, 0x00, 0x00, 0x88,		/* v4, IHL 5, DSCP 0, total 136 */
    0x00, 0x00, 0x40, 0x00,		/* ID 0, DF */
    0x40, 0x11, 0xab, 0x3c,		/* TTL 64, UDP, checksum */
    0xc6, 0x13, 0x01, 0x01,		/* 198.19.1.1 */
    0xc6, 0x13, 0x02, 0x01,		/* 198.19.2.1 */
    0xc4, 0x4c, 0x17, 0xc1,		/* source port 50252, destination 6081 */
    0x00, 0x74, 0x00, 0x00,		/* UDP length 116, checksum 0 */
    0x00, 0x00, 0x65, 0x58,		/* version 0, no options, O = C = 0, Ethernet */
    0x12, 0x34, 0x56, 0x00,		/* VNI 0x123456, reserved */
};

/*
 * Steps: encapsulate a 100-byte inner frame for tx_default() with flow hash
 * 0x12345678.
 * Verify: the mbuf grew by 50 bytes; the outer headers equal a literal
 * written by hand field by field (MACs, ethertype, IPv4 version/IHL, DSCP,
 * total length, ID 0, DF, TTL 64, UDP, header checksum, addresses, source
 * port 0xc000 | fold(hash), port 6081, UDP length, checksum 0, Geneve
 * version/flags/protocol/VNI); the inner frame follows untouched.
 */
static void test_geneve_encap_writes_exactly_the_expected_header(void **state)
{
	struct dse_geneve_tx tx = tx_default();
	uint8_t inner[100];
	struct rte_mbuf *m;
	const uint8_t *p;

	(void)state;
	make_inner(inner, sizeof(inner), 1);
	m = mbuf_of(inner, sizeof(inner), RTE_PKTMBUF_HEADROOM);
	assert_int_equal(dse_geneve_encap(m, &tx, 0x12345678), 0);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 150);
	assert_int_equal(m->data_off, RTE_PKTMBUF_HEADROOM - 50);
	p = rte_pktmbuf_mtod(m, const uint8_t *);
	assert_memory_equal(p, golden_outer, sizeof(golden_outer));
	assert_memory_equal(p + 50, inner, sizeof(inner));
	/* The checksum of the literal itself is right (so the literal is). */
	assert_int_equal(fold(sum16(p + 14, 20, 0)), 0xffff);
	assert_int_equal(dse_geneve_src_port(0x12345678), 0xc44c);
	rte_pktmbuf_free(m);
}

/*
 * Steps: encapsulate with DSCP 46 (EF) and VNI 0 and VNI 0xffffff.
 * Verify: the TOS byte is 46 << 2 (ECN 0) and the checksum still sums to
 * 0xffff; both extreme VNIs are written as 24 bits.
 */
static void test_geneve_encap_dscp_and_extreme_vnis(void **state)
{
	struct dse_geneve_tx tx = tx_default();
	const uint32_t vnis[] = {0, 0xffffff};
	uint8_t inner[64];

	(void)state;
	make_inner(inner, sizeof(inner), 2);
	tx.dscp = 46;
	for (unsigned i = 0; i < 2; i++) {
		struct rte_mbuf *m = mbuf_of(inner, sizeof(inner), RTE_PKTMBUF_HEADROOM);
		const uint8_t *p;

		tx.vni = vnis[i];
		assert_int_equal(dse_geneve_encap(m, &tx, 7), 0);
		p = rte_pktmbuf_mtod(m, const uint8_t *);
		assert_int_equal(p[15], 46 << 2);
		assert_int_equal(fold(sum16(p + 14, 20, 0)), 0xffff);
		assert_int_equal(p[46], (uint8_t)(vnis[i] >> 16));
		assert_int_equal(p[47], (uint8_t)(vnis[i] >> 8));
		assert_int_equal(p[48], (uint8_t)vnis[i]);
		assert_int_equal(p[49], 0);
		rte_pktmbuf_free(m);
	}
}

/*
 * Steps: encapsulate a frame, then decapsulate the result.
 * Verify: the mbuf holds the original inner frame again (same bytes and
 * length); the VNI, the remote TEP (the sender's address and MAC), our
 * address, the source port and "no options, no tags" are reported.
 */
static void test_geneve_decap_of_encap_yields_the_inner_frame_vni_and_tep(void **state)
{
	struct dse_geneve_tx tx = tx_default();
	struct dse_geneve_rx rx;
	uint8_t inner[200];
	struct rte_mbuf *m;

	(void)state;
	make_inner(inner, sizeof(inner), 3);
	m = mbuf_of(inner, sizeof(inner), RTE_PKTMBUF_HEADROOM);
	assert_int_equal(dse_geneve_encap(m, &tx, 0xdeadbeef), 0);
	memset(&rx, 0xa5, sizeof(rx));
	assert_int_equal(dse_geneve_decap(m, &rx), DSE_GENEVE_OK);
	assert_int_equal(rte_pktmbuf_pkt_len(m), sizeof(inner));
	assert_int_equal(m->data_off, RTE_PKTMBUF_HEADROOM);
	assert_memory_equal(rte_pktmbuf_mtod(m, uint8_t *), inner, sizeof(inner));
	assert_int_equal(rx.vni, 0x123456);
	assert_int_equal(rx.remote_ip, tep_ip(1, 1));
	assert_int_equal(rx.local_ip, tep_ip(2, 1));
	assert_memory_equal(rx.remote_mac.addr_bytes, mac_local, 6);
	assert_int_equal(rx.src_port, dse_geneve_src_port(0xdeadbeef));
	assert_int_equal(rx.outer_n_vlans, 0);
	assert_int_equal(rx.outer_vlan_tci, 0);
	assert_int_equal(rx.opt_len, 0);
	assert_int_equal(rx.inner_off, 50);
	assert_int_equal(rx.inner_len, sizeof(inner));
	rte_pktmbuf_free(m);
}

/*
 * Steps: for inner sizes from the 14-byte minimum to the 1464-byte maximum
 * of a 1500-byte underlay, untagged and VLAN-tagged, encapsulate, compare
 * with the frame build() makes by hand, and decapsulate.
 * Verify: each outer frame is byte for byte the hand-built one (up to the
 * UDP source port, which build() does not know); each round trip gives back
 * the inner frame, the VNI and the outer tag.
 */
static void test_geneve_round_trip_for_many_sizes_with_and_without_vlan(void **state)
{
	static const uint32_t sizes[] = {14, 15, 60, 64, 65, 127, 128, 513, 1000, 1463, 1464};
	static uint8_t ref[2048];
	uint8_t inner[1464];

	(void)state;
	for (int vlan = 0; vlan < 2; vlan++) {
		for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct dse_geneve_tx tx = tx_default();
			struct spec s = spec_default();
			uint32_t n = sizes[i], l2 = vlan ? 18 : 14;
			struct dse_geneve_rx rx;
			struct rte_mbuf *m;
			uint8_t *p;

			tx.vlan = (uint8_t)vlan;
			tx.vlan_tci = 100;
			/* build() is the other direction: swap the roles. */
			tx.local.ip = tep_ip(2, 1);
			tx.remote_ip = tep_ip(1, 1);
			memcpy(tx.local.mac.addr_bytes, mac_nh, 6);
			memcpy(tx.nh_mac.addr_bytes, mac_local, 6);
			tx.vni = 0xabcdef;
			s.n_vlans = vlan;
			s.inner_len = n;
			assert_int_equal(build(&s, ref), l2 + 36 + n);

			make_inner(inner, n, 0x40);
			m = mbuf_of(inner, n, RTE_PKTMBUF_HEADROOM);
			assert_int_equal(dse_geneve_encap(m, &tx, i), 0);
			assert_int_equal(rte_pktmbuf_pkt_len(m), l2 + 36 + n);
			p = rte_pktmbuf_mtod(m, uint8_t *);
			assert_int_equal(p[l2 + 20] << 8 | p[l2 + 21], dse_geneve_src_port(i));
			/* build() uses source port 0xc001 and TTL 64, like encap. */
			p[l2 + 20] = 0xc0;
			p[l2 + 21] = 0x01;
			assert_memory_equal(p, ref, l2 + 36 + n);

			assert_int_equal(dse_geneve_decap(m, &rx), DSE_GENEVE_OK);
			assert_int_equal(rte_pktmbuf_pkt_len(m), n);
			assert_memory_equal(rte_pktmbuf_mtod(m, uint8_t *), inner, n);
			assert_int_equal(rx.vni, 0xabcdef);
			assert_int_equal(rx.outer_n_vlans, vlan);
			assert_int_equal(rx.outer_vlan_tci, vlan ? 100 : 0);
			rte_pktmbuf_free(m);
		}
	}
}

/*
 * Steps: encapsulate with a VLAN underlay (TCI 0x2064: priority 1, VLAN 100).
 * Verify: the outer frame is the literal header with the tag 81 00 20 64
 * inserted after the MACs, 54 bytes in all; the IPv4 header is unchanged.
 */
static void test_geneve_encap_vlan_underlay_inserts_the_tag(void **state)
{
	struct dse_geneve_tx tx = tx_default();
	static const uint8_t tag[6] = {0x81, 0x00, 0x20, 0x64, 0x08, 0x00};
	uint8_t inner[100];
	struct rte_mbuf *m;
	const uint8_t *p;

	(void)state;
	tx.vlan = 1;
	tx.vlan_tci = 0x2064;
	make_inner(inner, sizeof(inner), 1);
	m = mbuf_of(inner, sizeof(inner), RTE_PKTMBUF_HEADROOM);
	assert_int_equal(dse_geneve_encap(m, &tx, 0x12345678), 0);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 154);
	p = rte_pktmbuf_mtod(m, const uint8_t *);
	assert_memory_equal(p, golden_outer, 12);
	assert_memory_equal(p + 12, tag, sizeof(tag));
	assert_memory_equal(p + 18, golden_outer + 14, sizeof(golden_outer) - 14);
	assert_memory_equal(p + 54, inner, sizeof(inner));
	rte_pktmbuf_free(m);
}

/*
 * Steps: on underlays of IP MTU 1500, 1280 and 576, untagged and tagged,
 * encapsulate an inner frame of exactly mtu - 36 bytes, and one of one byte
 * more; on an MTU below the overhead, encapsulate the smallest frame.
 * Verify: the maximum is accepted and its outer IPv4 total length is the
 * MTU exactly (the VLAN tag does not count against it); one byte more is
 * -EMSGSIZE with the mbuf untouched; dse_geneve_max_inner() agrees; an MTU
 * of 49 refuses even a 14-byte frame.
 */
static void test_geneve_encap_refuses_one_byte_over_the_mtu(void **state)
{
	static const uint16_t mtus[] = {1500, 1280, 576};
	static uint8_t inner[1500];

	(void)state;
	make_inner(inner, sizeof(inner), 5);
	for (int vlan = 0; vlan < 2; vlan++) {
		for (unsigned i = 0; i < 3; i++) {
			struct dse_geneve_tx tx = tx_default();
			uint32_t max = (uint32_t)mtus[i] - 36, l2 = vlan ? 18 : 14;
			struct rte_mbuf *m;
			const uint8_t *p;

			tx.mtu = mtus[i];
			tx.vlan = (uint8_t)vlan;
			assert_int_equal(dse_geneve_max_inner(tx.mtu), max);
			m = mbuf_of(inner, max, RTE_PKTMBUF_HEADROOM);
			assert_int_equal(dse_geneve_encap(m, &tx, 1), 0);
			p = rte_pktmbuf_mtod(m, const uint8_t *);
			assert_int_equal(p[l2 + 2] << 8 | p[l2 + 3], mtus[i]);
			assert_int_equal(rte_pktmbuf_pkt_len(m), l2 + mtus[i]);
			rte_pktmbuf_free(m);

			m = mbuf_of(inner, max + 1, RTE_PKTMBUF_HEADROOM);
			assert_int_equal(dse_geneve_encap(m, &tx, 1), -EMSGSIZE);
			assert_int_equal(rte_pktmbuf_pkt_len(m), max + 1);
			assert_int_equal(m->data_off, RTE_PKTMBUF_HEADROOM);
			assert_memory_equal(rte_pktmbuf_mtod(m, uint8_t *), inner, max + 1);
			rte_pktmbuf_free(m);
		}
	}
	{
		struct dse_geneve_tx tx = tx_default();
		struct rte_mbuf *m = mbuf_of(inner, 14, RTE_PKTMBUF_HEADROOM);

		tx.mtu = 49;
		assert_int_equal(dse_geneve_max_inner(tx.mtu), 13);
		assert_int_equal(dse_geneve_max_inner(20), 0);
		assert_int_equal(dse_geneve_encap(m, &tx, 1), -EMSGSIZE);
		rte_pktmbuf_free(m);
	}
	assert_int_equal(DSE_GENEVE_IP4_OVERHEAD, 50);
	assert_int_equal(DSE_GENEVE_IP4_HEADROOM, 54);
}

/*
 * Steps: encapsulate into mbufs whose headroom is one byte short of what is
 * needed (49 untagged, 53 tagged), then exactly enough (50, 54); then into a
 * clone and into an mbuf whose reference count is 2.
 * Verify: short headroom and shared buffers give -ENOBUFS and leave the mbuf
 * untouched; exact headroom succeeds and leaves 0 bytes of headroom.
 */
static void test_geneve_encap_without_headroom_or_on_a_shared_buffer_is_enobufs(void **state)
{
	uint8_t inner[80];

	(void)state;
	make_inner(inner, sizeof(inner), 6);
	for (int vlan = 0; vlan < 2; vlan++) {
		struct dse_geneve_tx tx = tx_default();
		uint16_t need = vlan ? 54 : 50;
		struct rte_mbuf *m;

		tx.vlan = (uint8_t)vlan;
		m = mbuf_of(inner, sizeof(inner), need - 1);
		assert_int_equal(dse_geneve_encap(m, &tx, 1), -ENOBUFS);
		assert_int_equal(m->data_off, need - 1);
		assert_int_equal(rte_pktmbuf_pkt_len(m), sizeof(inner));
		assert_memory_equal(rte_pktmbuf_mtod(m, uint8_t *), inner, sizeof(inner));
		rte_pktmbuf_free(m);

		m = mbuf_of(inner, sizeof(inner), need);
		assert_int_equal(dse_geneve_encap(m, &tx, 1), 0);
		assert_int_equal(rte_pktmbuf_headroom(m), 0);
		rte_pktmbuf_free(m);
	}
	{
		struct dse_geneve_tx tx = tx_default();
		struct rte_mbuf *m = mbuf_of(inner, sizeof(inner), RTE_PKTMBUF_HEADROOM);
		struct rte_mbuf *c = rte_pktmbuf_clone(m, pool);

		assert_non_null(c);
		assert_int_equal(dse_geneve_encap(c, &tx, 1), -ENOBUFS);
		assert_int_equal(dse_geneve_encap(m, &tx, 1), -ENOBUFS);
		assert_int_equal(rte_pktmbuf_pkt_len(m), sizeof(inner));
		rte_pktmbuf_free(c);
		assert_int_equal(dse_geneve_encap(m, &tx, 1), 0);
		rte_pktmbuf_free(m);
	}
}

/*
 * Steps: encapsulate a 13-byte frame, and a frame with a VNI of 2^24.
 * Verify: both are -EINVAL and the mbuf is untouched.
 */
static void test_geneve_encap_refuses_runt_frames_and_wide_vnis(void **state)
{
	struct dse_geneve_tx tx = tx_default();
	uint8_t inner[64];
	struct rte_mbuf *m;

	(void)state;
	make_inner(inner, sizeof(inner), 7);
	m = mbuf_of(inner, 13, RTE_PKTMBUF_HEADROOM);
	assert_int_equal(dse_geneve_encap(m, &tx, 1), -EINVAL);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 13);
	rte_pktmbuf_free(m);
	m = mbuf_of(inner, sizeof(inner), RTE_PKTMBUF_HEADROOM);
	tx.vni = 0x1000000;
	assert_int_equal(dse_geneve_encap(m, &tx, 1), -EINVAL);
	assert_int_equal(rte_pktmbuf_pkt_len(m), sizeof(inner));
	assert_int_equal(m->data_off, RTE_PKTMBUF_HEADROOM);
	rte_pktmbuf_free(m);
}

/*
 * Steps: decapsulate the default packet built by hand, then with a VLAN
 * underlay, two tags, IPv4 options, Ethernet padding, and a correct
 * non-zero UDP checksum.
 * Verify: all are accepted; the inner frame is exact (padding is not part
 * of it); the outer tags are reported.
 */
static void test_geneve_decap_accepts_tags_ip_options_padding_and_checksums(void **state)
{
	struct dse_geneve_rx rx;
	struct spec s;

	(void)state;
	s = spec_default();
	expect_accepted(&s, &rx);
	assert_int_equal(rx.vni, 0xabcdef);
	assert_int_equal(rx.remote_ip, tep_ip(2, 1));
	assert_int_equal(rx.local_ip, tep_ip(1, 1));
	assert_memory_equal(rx.remote_mac.addr_bytes, mac_nh, 6);
	assert_int_equal(rx.src_port, 0xc001);

	s = spec_default();
	s.n_vlans = 2;
	expect_accepted(&s, &rx);
	assert_int_equal(rx.outer_n_vlans, 2);
	assert_int_equal(rx.outer_vlan_tci, 100);

	s = spec_default();
	s.ihl = 7;
	expect_accepted(&s, &rx);
	assert_int_equal(rx.inner_off, 14 + 28 + 16);

	s = spec_default();
	s.pad = 10;
	expect_accepted(&s, &rx);

	s = spec_default();
	s.inner_len = 14;
	s.pad = 20;
	expect_accepted(&s, &rx);

	s = spec_default();
	s.udp_cksum = 1;
	expect_accepted(&s, &rx);
	s.inner_len = 101; /* odd length: the last byte is summed padded */
	expect_accepted(&s, &rx);
}

/*
 * Steps: decapsulate packets whose Geneve version is 1, 2 and 3.
 * Verify: each is refused as DSE_GENEVE_ERR_VERSION.
 */
static void test_geneve_decap_refuses_other_versions(void **state)
{
	(void)state;
	for (uint8_t v = 1; v < 4; v++) {
		struct spec s = spec_default();

		s.ver = v;
		expect_refused(&s, DSE_GENEVE_ERR_VERSION);
	}
}

/*
 * Steps: set the option length to more words than follow the header (63
 * words with a 100-byte inner frame; 26 words, one more than there are);
 * then to exactly the 25 words there are, zeroed so they read as 25 empty
 * non-critical options.
 * Verify: beyond the packet is OPTLEN; options that use up the whole
 * packet leave no inner frame, which is INNER_RUNT.
 */
static void test_geneve_decap_refuses_option_length_beyond_the_packet(void **state)
{
	static uint8_t f[512];
	struct dse_geneve_rx rx;
	struct spec s;
	uint32_t len;

	(void)state;
	s = spec_default();
	s.optlen_field = 63;
	expect_refused(&s, DSE_GENEVE_ERR_OPTLEN);

	s.optlen_field = 26;
	expect_refused(&s, DSE_GENEVE_ERR_OPTLEN);

	s.optlen_field = 25;
	len = build(&s, f);
	memset(f + 50, 0, 100);
	assert_int_equal(parse_exact(f, len, &rx), DSE_GENEVE_ERR_INNER_RUNT);
}

/*
 * Steps: an 8-byte option area holding an option whose length field says
 * 8 data bytes (12 in all); then a first option that fits followed by a
 * second that overruns; then an option header claiming 31 words.
 * Verify: each is refused as OPT_TLV.
 */
static void test_geneve_decap_refuses_an_option_overrunning_the_area(void **state)
{
	static const uint8_t over[8] = {0x01, 0x02, 0x03, 0x02, 0, 0, 0, 0};
	static const uint8_t second[12] = {0x01, 0x02, 0x03, 0x01, 0,	 0,
					   0,	 0,    0x01, 0x02, 0x04, 0x01};
	static const uint8_t huge[4] = {0xff, 0xff, 0x01, 0x1f};
	struct spec s;

	(void)state;
	s = spec_default();
	s.opts = over;
	s.opts_len = sizeof(over);
	expect_refused(&s, DSE_GENEVE_ERR_OPT_TLV);

	s.opts = second;
	s.opts_len = sizeof(second);
	expect_refused(&s, DSE_GENEVE_ERR_OPT_TLV);

	s.opts = huge;
	s.opts_len = sizeof(huge);
	expect_refused(&s, DSE_GENEVE_ERR_OPT_TLV);
}

/*
 * Steps: a packet with one option of type 0x80 (critical) and the C bit
 * clear; one whose critical option comes after a non-critical one; one with
 * the C bit set and no options.
 * Verify: each is refused as CRITICAL.
 */
static void test_geneve_decap_refuses_unknown_critical_options(void **state)
{
	static const uint8_t crit[8] = {0x01, 0x02, 0x80, 0x01, 1, 2, 3, 4};
	static const uint8_t later[8] = {0x01, 0x02, 0x01, 0x00, 0x01, 0x02, 0xfe, 0x00};
	struct spec s;

	(void)state;
	s = spec_default();
	s.opts = crit;
	s.opts_len = sizeof(crit);
	expect_refused(&s, DSE_GENEVE_ERR_CRITICAL);

	s.opts = later;
	s.opts_len = sizeof(later);
	expect_refused(&s, DSE_GENEVE_ERR_CRITICAL);

	s = spec_default();
	s.flags = 0x40;
	expect_refused(&s, DSE_GENEVE_ERR_CRITICAL);
}

/*
 * Steps: a packet with three unknown non-critical options (4 data bytes,
 * none, 8 data bytes: 24 bytes in all), and one with the maximum option
 * area of 252 bytes (one option of 31 data words and two empty ones); the
 * reserved bits of the header are set too, which receivers must ignore.
 * Verify: both are accepted, the option bytes are reported and skipped, and
 * the mbuf holds exactly the inner frame.
 */
static void test_geneve_decap_skips_unknown_non_critical_options(void **state)
{
	static const uint8_t opts[24] = {0x01, 0x02, 0x03, 0x01, 0xaa, 0xbb, 0xcc, 0xdd,
					 0xff, 0xff, 0x7f, 0x00, 0x01, 0x03, 0x05, 0xe2,
					 1,    2,    3,	   4,	 5,    6,    7,	   8};
	static uint8_t big[252];
	struct dse_geneve_rx rx;
	struct spec s;

	(void)state;
	s = spec_default();
	s.opts = opts;
	s.opts_len = sizeof(opts);
	s.flags = 0x3f;
	expect_accepted(&s, &rx);
	assert_int_equal(rx.opt_len, 24);
	assert_int_equal(rx.inner_off, 50 + 24);

	memset(big, 0x11, sizeof(big));
	big[2] = 0x01;
	big[3] = 0x1f; /* 4 + 124 bytes */
	memset(big + 128, 0, 8);
	big[128 + 2] = 0x02; /* two empty options */
	big[132 + 2] = 0x03;
	big[136 + 2] = 0x04;
	big[136 + 3] = 0x1c; /* 4 + 112 bytes: ends at 252 */
	s.opts = big;
	s.opts_len = sizeof(big);
	s.flags = 0;
	expect_accepted(&s, &rx);
	assert_int_equal(rx.opt_len, 252);
}

/*
 * Steps: a packet with the O bit set (a control message), well formed.
 * Verify: refused as OAM: its payload must never reach a VM.
 */
static void test_geneve_decap_refuses_control_packets(void **state)
{
	struct spec s = spec_default();

	(void)state;
	s.flags = 0x80;
	expect_refused(&s, DSE_GENEVE_ERR_OAM);
}

/*
 * Steps: protocol types 0x0800 (IPv4), 0x86dd and 0x0000.
 * Verify: each is refused as PROTO.
 */
static void test_geneve_decap_refuses_protocols_other_than_ethernet(void **state)
{
	static const uint16_t protos[] = {0x0800, 0x86dd, 0x0000, 0x6559};

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		struct spec s = spec_default();

		s.gproto = protos[i];
		expect_refused(&s, DSE_GENEVE_ERR_PROTO);
	}
}

/*
 * Steps: cut the well-formed frame (untagged and tagged, with options) to
 * every length from 0 to one byte short, parsing a heap copy of exactly that
 * length.  Then make packets whose lengths are consistent but stop inside a
 * header: an IPv4 packet holding 4 bytes of UDP, a UDP datagram holding 4
 * bytes of Geneve, and inner frames of 0 and 13 bytes.
 * Verify: no cut is ever accepted or read beyond its end; a cut inside the
 * Ethernet header, the tag or the IPv4 header is TRUNC, a cut after it is
 * IP4_HDR (the total length claims more); the consistent ones are TRUNC,
 * TRUNC, INNER_RUNT and INNER_RUNT.
 */
static void test_geneve_decap_refuses_truncation_at_every_header(void **state)
{
	static const uint8_t opts[8] = {0x01, 0x02, 0x03, 0x01, 1, 2, 3, 4};
	static uint8_t f[512];
	struct dse_geneve_rx rx;
	struct spec s;

	(void)state;
	for (int vlan = 0; vlan < 2; vlan++) {
		uint32_t len, ip_off = vlan ? 18 : 14;

		s = spec_default();
		s.n_vlans = vlan;
		s.opts = opts;
		s.opts_len = sizeof(opts);
		len = build(&s, f);
		assert_int_equal(parse_exact(f, len, &rx), DSE_GENEVE_OK);
		for (uint32_t cut = 0; cut < len; cut++) {
			int r = parse_exact(f, cut, &rx);

			if (cut < ip_off + 20)
				assert_int_equal(r, DSE_GENEVE_ERR_TRUNC);
			else
				assert_int_equal(r, DSE_GENEVE_ERR_IP4_HDR);
		}
	}

	/* Consistent lengths that stop inside the UDP header. */
	s = spec_default();
	s.inner_len = 0;
	s.ip_tot_delta = -12;
	s.udp_len_delta = 0;
	s.cut = 14 + 24;
	assert_int_equal(parse_exact(f, build(&s, f), &rx), DSE_GENEVE_ERR_TRUNC);

	/* Consistent lengths that stop inside the Geneve header. */
	s = spec_default();
	s.inner_len = 0;
	s.ip_tot_delta = -4;
	s.udp_len_delta = -4;
	s.cut = 14 + 32;
	assert_int_equal(parse_exact(f, build(&s, f), &rx), DSE_GENEVE_ERR_TRUNC);

	s = spec_default();
	s.inner_len = 0;
	expect_refused(&s, DSE_GENEVE_ERR_INNER_RUNT);
	s.inner_len = 13;
	expect_refused(&s, DSE_GENEVE_ERR_INNER_RUNT);
	s.inner_len = 14;
	expect_accepted(&s, &rx);
}

/*
 * Steps: UDP lengths one more and one less than the IPv4 payload, 7 (below
 * the header), 0 and 0xffff.
 * Verify: each is refused as UDP_LEN; none cuts the inner frame short.
 */
static void test_geneve_decap_refuses_a_lying_udp_length(void **state)
{
	static const int deltas[] = {1, -1, -(8 + 8 + 100) + 7, -(8 + 8 + 100),
				     0xffff - (8 + 8 + 100)};

	(void)state;
	for (unsigned i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		struct spec s = spec_default();

		s.udp_len_delta = deltas[i];
		expect_refused(&s, DSE_GENEVE_ERR_UDP_LEN);
	}
}

/*
 * Steps: a wrong non-zero UDP checksum; then the same packet in mbufs whose
 * receive flags say the NIC found the checksum good, and bad; then a packet
 * with no checksum (zero) whose flags say bad.
 * Verify: the wrong checksum is UDP_CKSUM; with the NIC's "good" it is
 * trusted and accepted; "bad" is UDP_CKSUM; a zero checksum is never
 * checked.  After decapsulation the receive checksum flags are cleared.
 */
static void test_geneve_decap_checks_a_non_zero_udp_checksum(void **state)
{
	static uint8_t f[512];
	struct dse_geneve_rx rx;
	struct rte_mbuf *m;
	struct spec s = spec_default();
	uint32_t len;

	(void)state;
	s.udp_cksum = 2;
	expect_refused(&s, DSE_GENEVE_ERR_UDP_CKSUM);

	len = build(&s, f);
	m = mbuf_of(f, len, RTE_PKTMBUF_HEADROOM);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_GOOD | RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	assert_int_equal(dse_geneve_decap(m, &rx), DSE_GENEVE_OK);
	assert_int_equal(m->ol_flags & (RTE_MBUF_F_RX_L4_CKSUM_MASK | RTE_MBUF_F_RX_IP_CKSUM_MASK),
			 0);
	rte_pktmbuf_free(m);

	s.udp_cksum = 1;
	len = build(&s, f);
	m = mbuf_of(f, len, RTE_PKTMBUF_HEADROOM);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_BAD;
	assert_int_equal(dse_geneve_decap(m, &rx), DSE_GENEVE_ERR_UDP_CKSUM);
	rte_pktmbuf_free(m);

	s.udp_cksum = 0;
	len = build(&s, f);
	m = mbuf_of(f, len, RTE_PKTMBUF_HEADROOM);
	m->ol_flags = RTE_MBUF_F_RX_L4_CKSUM_BAD | RTE_MBUF_F_RX_VLAN;
	assert_int_equal(dse_geneve_decap(m, &rx), DSE_GENEVE_OK);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_RX_VLAN, 0);
	rte_pktmbuf_free(m);
}

/*
 * Steps: outer frames that are not IPv4 (ARP, IPv6, three VLAN tags), an
 * IPv4 version of 6, IHL 4 and 15 (beyond the frame), a total length below
 * the header, a wrong header checksum, fragments (MF, an offset), protocol
 * TCP, destination port 4789, and sources that are no TEP (a multicast MAC,
 * 0.0.0.0, 127.0.0.1, 224.0.0.1, 255.255.255.255).
 * Verify: each gets its own reason.
 */
static void test_geneve_decap_refuses_bad_outer_headers(void **state)
{
	struct spec s;

	(void)state;
	s = spec_default();
	s.ethertype = 0x0806;
	expect_refused(&s, DSE_GENEVE_ERR_OUTER_L3);
	s.ethertype = 0x86dd;
	expect_refused(&s, DSE_GENEVE_ERR_OUTER_L3);
	s = spec_default();
	s.n_vlans = 3;
	expect_refused(&s, DSE_GENEVE_ERR_OUTER_L3);

	s = spec_default();
	s.ip_ver = 6;
	expect_refused(&s, DSE_GENEVE_ERR_IP4_HDR);
	s = spec_default();
	s.ihl = 4;
	expect_refused(&s, DSE_GENEVE_ERR_IP4_HDR);
	s = spec_default();
	s.ip_tot_delta = -(8 + 8 + 100) - 1; /* 19: below the header */
	expect_refused(&s, DSE_GENEVE_ERR_IP4_HDR);
	s = spec_default();
	s.inner_len = 0;
	s.ihl = 15;
	s.cut = 14 + 40;
	expect_refused(&s, DSE_GENEVE_ERR_IP4_HDR);

	s = spec_default();
	s.bad_ip_cksum = 1;
	expect_refused(&s, DSE_GENEVE_ERR_IP4_CKSUM);

	s = spec_default();
	s.frag = 0x2000;
	expect_refused(&s, DSE_GENEVE_ERR_IP4_FRAG);
	s.frag = 0x0010;
	expect_refused(&s, DSE_GENEVE_ERR_IP4_FRAG);
	s.frag = 0x0000; /* no DF: fine */
	{
		struct dse_geneve_rx rx;

		expect_accepted(&s, &rx);
	}

	s = spec_default();
	s.proto = 6;
	expect_refused(&s, DSE_GENEVE_ERR_NOT_GENEVE);
	s = spec_default();
	s.dport = 4789;
	expect_refused(&s, DSE_GENEVE_ERR_NOT_GENEVE);

	s = spec_default();
	s.src_mac0 = 0x01;
	expect_refused(&s, DSE_GENEVE_ERR_OUTER_SRC);
	{
		const uint8_t bad[][4] = {
		    {0, 0, 0, 0}, {127, 0, 0, 1}, {224, 0, 0, 1}, {255, 255, 255, 255}};

		for (unsigned i = 0; i < 4; i++) {
			s = spec_default();
			memcpy(&s.src_ip, bad[i], 4);
			expect_refused(&s, DSE_GENEVE_ERR_OUTER_SRC);
		}
	}
}

/*
 * Steps: decapsulate a well-formed packet held in a chain of two mbufs.
 * Verify: refused as TRUNC, the chain untouched.
 */
static void test_geneve_decap_refuses_a_chained_mbuf(void **state)
{
	static uint8_t f[512];
	struct spec s = spec_default();
	struct dse_geneve_rx rx;
	struct rte_mbuf *a, *b;
	uint32_t len = build(&s, f);

	(void)state;
	a = mbuf_of(f, 60, RTE_PKTMBUF_HEADROOM);
	b = mbuf_of(f + 60, len - 60, RTE_PKTMBUF_HEADROOM);
	assert_int_equal(rte_pktmbuf_chain(a, b), 0);
	assert_int_equal(dse_geneve_decap(a, &rx), DSE_GENEVE_ERR_TRUNC);
	assert_int_equal(rte_pktmbuf_pkt_len(a), len);
	rte_pktmbuf_free(a);
}

/*
 * Steps: hash two frames of one TCP flow that differ only in payload, two
 * frames of flows differing only in the source port, two non-first IPv4
 * fragments differing where a port would be, and frames of every length
 * from 0 to 64 (from a heap copy of exactly that length); map hashes to
 * source ports.
 * Verify: one flow gives one hash; another port gives another hash;
 * fragments ignore the "ports"; short frames are hashed without overread;
 * every source port lies in 49152..65535, including for 0 and ~0.
 */
static void test_geneve_flow_hash_and_source_port(void **state)
{
	uint8_t a[80], b[80];

	(void)state;
	make_inner(a, sizeof(a), 9);
	a[14] = 0x45;
	a[20] = a[21] = 0; /* not a fragment */
	a[23] = 6;	   /* TCP */
	memcpy(b, a, sizeof(b));
	b[70] ^= 0xff; /* payload */
	assert_int_equal(dse_geneve_flow_hash(a, sizeof(a)), dse_geneve_flow_hash(b, sizeof(b)));
	b[34] ^= 0x01; /* TCP source port */
	assert_int_not_equal(dse_geneve_flow_hash(a, sizeof(a)),
			     dse_geneve_flow_hash(b, sizeof(b)));

	a[20] = 0x00;
	a[21] = 0x10; /* fragment offset 128 bytes */
	memcpy(b, a, sizeof(b));
	b[34] ^= 0x01;
	assert_int_equal(dse_geneve_flow_hash(a, sizeof(a)), dse_geneve_flow_hash(b, sizeof(b)));

	for (uint32_t n = 0; n <= 64; n++) {
		uint8_t *c = malloc(n ? n : 1);

		assert_non_null(c);
		memcpy(c, a, n);
		(void)dse_geneve_flow_hash(c, n);
		free(c);
	}

	assert_int_equal(dse_geneve_src_port(0), 49152);
	assert_true(dse_geneve_src_port(0xffffffff) >= 49152);
	for (uint32_t h = 0; h < 100000; h += 7) {
		uint16_t p = dse_geneve_src_port(h * 2654435761u);

		assert_true(p >= 49152);
	}
}

/*
 * Steps: ask for the name and description of every reason, of OK and of
 * out-of-range values.
 * Verify: names are "geneve_" + the lower-case reason, all distinct, each
 * with a description; OK is "ok"; out of range is "unknown".
 */
static void test_geneve_reason_names(void **state)
{
	(void)state;
	assert_string_equal(dse_geneve_name(DSE_GENEVE_ERR_VERSION), "geneve_version");
	assert_string_equal(dse_geneve_name(DSE_GENEVE_ERR_OPT_TLV), "geneve_opt_tlv");
	assert_string_equal(dse_geneve_name(DSE_GENEVE_ERR_UDP_LEN), "geneve_udp_len");
	assert_string_equal(dse_geneve_name(DSE_GENEVE_OK), "ok");
	assert_string_equal(dse_geneve_strerror(DSE_GENEVE_OK), "ok");
	assert_string_equal(dse_geneve_name(-1), "unknown");
	assert_string_equal(dse_geneve_name(DSE_GENEVE__MAX), "unknown");
	assert_string_equal(dse_geneve_strerror(DSE_GENEVE__MAX), "unknown");
	for (int i = 1; i < DSE_GENEVE__MAX; i++) {
		assert_int_equal(strncmp(dse_geneve_name(i), "geneve_", 7), 0);
		assert_true(strlen(dse_geneve_strerror(i)) > 10);
		for (int j = 1; j < i; j++)
			assert_string_not_equal(dse_geneve_name(i), dse_geneve_name(j));
	}
}

/*
 * Steps: build one template for each of: no tag and DSCP 0, a VLAN underlay
 * and DSCP 46; encapsulate with it, one after another, inner frames of 14,
 * 60, 101, 1000 and the largest size, with VNIs 0, 1 and 0xffffff and
 * different flow hashes; encapsulate the same frames with
 * dse_geneve_encap().
 * Verify: both frames are equal byte for byte every time (the template is
 * never changed by a packet and every per-packet field is written: total
 * length, checksum, UDP source port and length, VNI); each outer checksum
 * sums to 0xffff.
 */
static void test_geneve_template_reused_equals_encap_every_time(void **state)
{
	static const uint32_t lens[] = {14, 60, 101, 1000, 1500 - DSE_GENEVE_IP4_ENCAP_LEN};
	static const uint32_t vnis[] = {0, 1, 0xffffff};
	uint8_t inner[1500];

	(void)state;
	for (int v = 0; v < 2; v++) {
		struct dse_geneve_tx tx = tx_default();
		struct dse_geneve_tpl t;

		tx.vlan = (uint8_t)v;
		tx.vlan_tci = 0x0123;
		tx.dscp = v ? 46 : 0;
		dse_geneve_tpl_build(&t, &tx);
		assert_int_equal(t.len, v ? 54 : 50);
		for (unsigned i = 0; i < RTE_DIM(lens); i++) {
			for (unsigned j = 0; j < RTE_DIM(vnis); j++) {
				uint32_t hash = 0x9e3779b9u * (i * 3 + j + 1);
				struct rte_mbuf *a, *b;

				make_inner(inner, lens[i], (uint8_t)(i + j));
				a = mbuf_of(inner, lens[i], RTE_PKTMBUF_HEADROOM);
				b = mbuf_of(inner, lens[i], RTE_PKTMBUF_HEADROOM);
				tx.vni = vnis[j];
				assert_int_equal(dse_geneve_encap_tpl(a, &t, tx.mtu, vnis[j], hash), 0);
				assert_int_equal(dse_geneve_encap(b, &tx, hash), 0);
				assert_int_equal(rte_pktmbuf_pkt_len(a), rte_pktmbuf_pkt_len(b));
				assert_memory_equal(rte_pktmbuf_mtod(a, uint8_t *),
						    rte_pktmbuf_mtod(b, uint8_t *),
						    rte_pktmbuf_pkt_len(a));
				assert_int_equal(
				    fold(sum16(rte_pktmbuf_mtod(a, uint8_t *) + t.l2_len, 20, 0)),
				    0xffff);
				rte_pktmbuf_free(a);
				rte_pktmbuf_free(b);
			}
		}
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, count_mbufs, check_no_leak)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_geneve_encap_writes_exactly_the_expected_header),
	    T(test_geneve_encap_dscp_and_extreme_vnis),
	    T(test_geneve_decap_of_encap_yields_the_inner_frame_vni_and_tep),
	    T(test_geneve_round_trip_for_many_sizes_with_and_without_vlan),
	    T(test_geneve_encap_vlan_underlay_inserts_the_tag),
	    T(test_geneve_encap_refuses_one_byte_over_the_mtu),
	    T(test_geneve_encap_without_headroom_or_on_a_shared_buffer_is_enobufs),
	    T(test_geneve_encap_refuses_runt_frames_and_wide_vnis),
	    T(test_geneve_template_reused_equals_encap_every_time),
	    T(test_geneve_decap_accepts_tags_ip_options_padding_and_checksums),
	    T(test_geneve_decap_refuses_other_versions),
	    T(test_geneve_decap_refuses_option_length_beyond_the_packet),
	    T(test_geneve_decap_refuses_an_option_overrunning_the_area),
	    T(test_geneve_decap_refuses_unknown_critical_options),
	    T(test_geneve_decap_skips_unknown_non_critical_options),
	    T(test_geneve_decap_refuses_control_packets),
	    T(test_geneve_decap_refuses_protocols_other_than_ethernet),
	    T(test_geneve_decap_refuses_truncation_at_every_header),
	    T(test_geneve_decap_refuses_a_lying_udp_length),
	    T(test_geneve_decap_checks_a_non_zero_udp_checksum),
	    T(test_geneve_decap_refuses_bad_outer_headers),
	    T(test_geneve_decap_refuses_a_chained_mbuf),
	    T(test_geneve_flow_hash_and_source_port),
	    T(test_geneve_reason_names),
	};

	return cmocka_run_group_tests(tests, eal_setup, eal_teardown);
}
