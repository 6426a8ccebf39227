/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of checksum verification (cksum.c) and of fragment handling
 * (frag.c): the checks before a fragment joins its datagram, reassembly
 * with rte_ip_frag (zones apart), and splitting a datagram again.  Frames
 * are built byte by byte in mbufs of a small pool; EAL runs without
 * hugepages, as in the other DPDK unit tests.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_eal.h"

#include <netinet/in.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "cksum.h"
#include "frag.h"
#include "parse.h"

#define SEC 1000000000ull

static struct rte_mempool *pool;

static int setup(void **state)
{
	(void)state;
	if (test_eal_init("test-frag", "256") < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("test_frag", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	return pool ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	rte_mempool_free(pool);
	return test_eal_cleanup();
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* One's complement checksum of 'len' bytes plus 'sum'. */
static uint16_t inet_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += rd16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 1}, mac_b[6] = {2, 0, 0, 0, 0, 2};
static const uint8_t ip_a[4] = {198, 18, 0, 1}, ip_b[4] = {198, 18, 0, 2};

/*
 * Writes an Ethernet + IPv4 frame to 'f': protocol 'proto', 'l4' bytes
 * ('n' of them) after the header, 'opt' option bytes ('nopt', a multiple
 * of 4), id 'id' and fragment field 'fo'.  With 'fix_l4' the TCP/UDP/ICMP
 * checksum is computed over 'l4' (which must be the whole datagram).
 * Returns the frame length.
 */
static uint32_t ip4_frame(uint8_t *f, uint8_t proto, const uint8_t *l4, uint32_t n,
			  const uint8_t *opt, uint32_t nopt, uint16_t id, uint16_t fo, bool fix_l4)
{
	uint8_t *ip = f + 14, *p;
	uint32_t hl = 20 + nopt;

	memcpy(f, mac_b, 6);
	memcpy(f + 6, mac_a, 6);
	wr16(f + 12, 0x0800);
	memset(ip, 0, hl);
	ip[0] = (uint8_t)(0x40 | (hl / 4));
	wr16(ip + 2, (uint16_t)(hl + n));
	wr16(ip + 4, id);
	wr16(ip + 6, fo);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, ip_a, 4);
	memcpy(ip + 16, ip_b, 4);
	if (nopt)
		memcpy(ip + 20, opt, nopt);
	wr16(ip + 10, inet_sum(ip, hl, 0));
	p = ip + hl;
	memcpy(p, l4, n);
	if (fix_l4) {
		uint32_t ps = 0;
		unsigned ck = proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;

		p[ck] = p[ck + 1] = 0;
		if (proto != IPPROTO_ICMP)
			ps = rd16(ip_a) + rd16(ip_a + 2) + rd16(ip_b) + rd16(ip_b + 2) + proto + n;
		wr16(p + ck, inet_sum(p, n, ps));
	}
	return 14 + hl + n;
}

/* An mbuf holding 'len' bytes of 'f'; 'pi' parsed from it. */
static struct rte_mbuf *mbuf_of(const uint8_t *f, uint32_t len, struct dse_pkt_info *pi)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

	assert_non_null(m);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, len);
	if (pi)
		assert_int_equal(dse_parse_frame(f, len, pi), DSE_PARSE_OK);
	return m;
}

/* A UDP header and payload of 'n' bytes in total (pattern bytes), checksum 0. */
static void udp_dgram(uint8_t *u, uint32_t n)
{
	wr16(u, 5000);
	wr16(u + 2, 53);
	wr16(u + 4, (uint16_t)n);
	u[6] = u[7] = 0;
	for (uint32_t i = 8; i < n; i++)
		u[i] = (uint8_t)(i * 7);
}

/* ---- checksums --------------------------------------------------------- */

/*
 * Steps: TCP and UDP over IPv4 with right checksums, then each checksum
 * made wrong in turn; UDP with a zero checksum; ICMP right and wrong.
 * Verify: right ones pass and are marked good in the mbuf's flags; each
 * wrong one gives its reason; zero UDP passes over IPv4.
 */
static void test_cksum_ipv4_reasons(void **state)
{
	uint8_t f[256], l4[64] = {0};
	struct dse_pkt_info pi;
	struct rte_mbuf *m;
	uint32_t len;

	(void)state;
	l4[12] = 5 << 4;
	l4[13] = 0x10;
	len = ip4_frame(f, IPPROTO_TCP, l4, 40, NULL, 0, 1, 0, true);
	m = mbuf_of(f, len, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_OK);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
	assert_int_equal(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
	rte_pktmbuf_free(m);
	f[14 + 20 + 30] ^= 1; /* a payload byte */
	m = mbuf_of(f, len, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_BAD_TCP);
	rte_pktmbuf_free(m);
	f[14 + 20 + 30] ^= 1;
	f[14 + 8] = 63; /* the TTL: the header checksum no longer fits */
	m = mbuf_of(f, len, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_BAD_IP4);
	rte_pktmbuf_free(m);

	udp_dgram(l4, 40);
	len = ip4_frame(f, IPPROTO_UDP, l4, 40, NULL, 0, 2, 0, true);
	m = mbuf_of(f, len, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_OK);
	rte_pktmbuf_free(m);
	f[14 + 20 + 20] ^= 0x80;
	m = mbuf_of(f, len, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_BAD_UDP);
	rte_pktmbuf_free(m);
	len = ip4_frame(f, IPPROTO_UDP, l4, 40, NULL, 0, 2, 0, false); /* checksum 0 */
	m = mbuf_of(f, len, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_OK);
	rte_pktmbuf_free(m);

	memset(l4, 0, sizeof(l4));
	l4[0] = 8; /* echo request */
	len = ip4_frame(f, IPPROTO_ICMP, l4, 16, NULL, 0, 3, 0, true);
	m = mbuf_of(f, len, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_OK);
	rte_pktmbuf_free(m);
	f[14 + 20 + 5] = 9;
	m = mbuf_of(f, len, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_BAD_ICMP);
	rte_pktmbuf_free(m);
}

/*
 * Steps: a UDP datagram over IPv6 with a right checksum, with a wrong one,
 * with zero; an ICMPv6 echo right and wrong.
 * Verify: right ones pass; wrong ones and zero UDP (RFC 8200) fail.
 */
static void test_cksum_ipv6_reasons(void **state)
{
	uint8_t f[256] = {0}, *ip = f + 14, *u = f + 54;
	struct dse_pkt_info pi;
	struct rte_mbuf *m;
	uint32_t ps = 0;

	(void)state;
	memcpy(f, mac_b, 6);
	memcpy(f + 6, mac_a, 6);
	wr16(f + 12, 0x86dd);
	ip[0] = 0x60;
	wr16(ip + 4, 32);
	ip[6] = IPPROTO_UDP;
	ip[7] = 64;
	ip[8] = 0x20, ip[9] = 0x01, ip[23] = 1;
	ip[24] = 0x20, ip[25] = 0x01, ip[39] = 2;
	udp_dgram(u, 32);
	for (int i = 8; i < 40; i += 2)
		ps += rd16(ip + i);
	wr16(u + 6, inet_sum(u, 32, ps + 32 + IPPROTO_UDP));
	m = mbuf_of(f, 86, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_OK);
	rte_pktmbuf_free(m);
	u[20] ^= 1;
	m = mbuf_of(f, 86, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_BAD_UDP);
	rte_pktmbuf_free(m);
	u[6] = u[7] = 0;
	m = mbuf_of(f, 86, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_BAD_UDP);
	rte_pktmbuf_free(m);

	ip[6] = IPPROTO_ICMPV6;
	memset(u, 0, 32);
	u[0] = 128;
	wr16(u + 2, inet_sum(u, 32, ps + 32 + IPPROTO_ICMPV6));
	m = mbuf_of(f, 86, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_OK);
	rte_pktmbuf_free(m);
	u[10] = 1;
	m = mbuf_of(f, 86, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_BAD_ICMP);
	rte_pktmbuf_free(m);
}

/*
 * Steps: a TCP segment with a wrong checksum whose mbuf the device marked
 * good, then one with a right checksum the device marked bad; then a right
 * one split over two segments of a chain.
 * Verify: the device's word is taken both ways; the chain is summed whole.
 */
static void test_cksum_device_flags_and_chains(void **state)
{
	uint8_t f[512], l4[400] = {0};
	struct dse_pkt_info pi;
	struct rte_mbuf *m, *tail;
	uint32_t len;

	(void)state;
	l4[12] = 5 << 4;
	l4[13] = 0x18;
	for (int i = 20; i < 400; i++)
		l4[i] = (uint8_t)i;
	len = ip4_frame(f, IPPROTO_TCP, l4, 400, NULL, 0, 4, 0, true);
	f[len - 1] ^= 0xff;
	m = mbuf_of(f, len, &pi);
	m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_OK);
	rte_pktmbuf_free(m);
	f[len - 1] ^= 0xff;
	m = mbuf_of(f, len, &pi);
	m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_BAD_TCP);
	rte_pktmbuf_free(m);

	m = mbuf_of(f, 100, NULL);
	tail = mbuf_of(f + 100, len - 100, NULL);
	assert_int_equal(rte_pktmbuf_chain(m, tail), 0);
	assert_int_equal(dse_parse_frame(f, len, &pi), DSE_PARSE_OK);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_OK);
	rte_pktmbuf_free(m);
}

/* ---- fragments --------------------------------------------------------- */

/*
 * Steps: fragments with a payload not a multiple of 8 while more follow,
 * one reaching past 64 KiB, a TCP fragment at offset 8, a good one.
 * Verify: bad, bad, overlap_tcp, ok.
 */
static void test_frag_check_geometry(void **state)
{
	uint8_t f[256], d[100] = {0};
	struct dse_pkt_info pi;
	struct rte_mbuf *m;
	uint32_t len;

	(void)state;
	len = ip4_frame(f, IPPROTO_UDP, d, 60, NULL, 0, 5, 0x2000 | 10, false);
	m = mbuf_of(f, len, &pi);
	assert_int_equal(dse_frag_check(m, &pi), DSE_FRAG_BAD);
	rte_pktmbuf_free(m);
	len = ip4_frame(f, IPPROTO_UDP, d, 64, NULL, 0, 5, 0x1fff, false);
	m = mbuf_of(f, len, &pi);
	assert_int_equal(dse_frag_check(m, &pi), DSE_FRAG_BAD);
	rte_pktmbuf_free(m);
	len = ip4_frame(f, IPPROTO_TCP, d, 64, NULL, 0, 5, 0x2000 | 1, false);
	m = mbuf_of(f, len, &pi);
	assert_int_equal(dse_frag_check(m, &pi), DSE_FRAG_OVERLAP_TCP);
	rte_pktmbuf_free(m);
	len = ip4_frame(f, IPPROTO_UDP, d, 64, NULL, 0, 5, 0x2000 | 10, false);
	m = mbuf_of(f, len, &pi);
	assert_int_equal(dse_frag_check(m, &pi), DSE_FRAG_OK);
	rte_pktmbuf_free(m);
}

/* Fragments 'n' bytes of datagram 'dg' (UDP) into pieces of 'piece' bytes; returns the count. */
static unsigned make_frags(struct rte_mbuf **out, struct dse_pkt_info *pis, const uint8_t *dg,
			   uint32_t n, uint32_t piece, uint16_t id)
{
	uint8_t f[2048];
	unsigned k = 0;

	for (uint32_t ofs = 0; ofs < n; ofs += piece, k++) {
		uint32_t len = n - ofs < piece ? n - ofs : piece;
		uint16_t fo = (uint16_t)((ofs / 8) | (ofs + len < n ? 0x2000 : 0));
		uint32_t fl = ip4_frame(f, IPPROTO_UDP, dg + ofs, len, NULL, 0, id, fo, false);

		out[k] = mbuf_of(f, fl, &pis[k]);
	}
	return k;
}

/*
 * Steps: a 2000-byte UDP datagram in fragments of 600 handed over last
 * first; the same datagram's fragments in zone 1 except the last, which
 * comes in zone 2; then in zone 1.
 * Verify: the datagram completes with the last fragment handed over, the
 * chain holds the original bytes, its parse describes the whole datagram
 * and the largest fragment (600); a fragment of another zone never
 * completes a zone's datagram.
 */
static void test_frag_reassembly_and_zones(void **state)
{
	struct rte_mbuf *fr[8], *d;
	struct dse_pkt_info pis[8], pi;
	uint8_t dg[2000], out[2000];
	struct dse_frag f;
	uint16_t fs;
	uint32_t id;
	unsigned n;

	(void)state;
	assert_int_equal(dse_frag_init(&f, 16, 5 * SEC, SOCKET_ID_ANY), 0);
	udp_dgram(dg, sizeof(dg));
	n = make_frags(fr, pis, dg, sizeof(dg), 600, 77);
	assert_int_equal(n, 4);
	for (unsigned i = n; i-- > 1;)
		assert_null(dse_frag_add(&f, fr[i], &pis[i], 1, 0, SEC, &id));
	d = dse_frag_add(&f, fr[0], &pis[0], 1, 0, SEC, &id);
	assert_non_null(d);
	pi = pis[0];
	assert_int_equal(dse_frag_datagram(d, &pi, &fs), 0);
	assert_int_equal(fs, 600);
	assert_int_equal(pi.ip_end, 14 + 20 + 2000);
	assert_int_equal(pi.ip_mf | pi.ip_frag, 0);
	assert_int_equal(pi.l4_off, 34);
	assert_memory_equal(rte_pktmbuf_read(d, 34, sizeof(out), out), dg, sizeof(dg));
	assert_memory_equal(rte_pktmbuf_mtod_offset(d, uint8_t *, 14 + 12), ip_a, 4);
	assert_int_equal(f.reassembled, 1);
	rte_pktmbuf_free(d);

	n = make_frags(fr, pis, dg, sizeof(dg), 600, 78);
	for (unsigned i = 0; i + 1 < n; i++)
		assert_null(dse_frag_add(&f, fr[i], &pis[i], 1, 0, 2 * SEC, &id));
	assert_null(dse_frag_add(&f, fr[n - 1], &pis[n - 1], 2, 0, 2 * SEC, &id));
	assert_int_equal(f.dr.cnt, 0);
	n = make_frags(fr, pis, dg, sizeof(dg), 600, 78);
	for (unsigned i = 0; i + 1 < n; i++)
		rte_pktmbuf_free(fr[i]);
	d = dse_frag_add(&f, fr[n - 1], &pis[n - 1], 1, 0, 2 * SEC, &id);
	assert_non_null(d);
	rte_pktmbuf_free(d);

	/* What waits goes to the death row when its time is up. */
	dse_frag_expire(&f, 60 * SEC);
	assert_int_equal(f.dr.cnt, 1);
	rte_ip_frag_free_death_row(&f.dr, 0);
	dse_frag_fini(&f);
}

/*
 * Steps: a datagram whose second fragment overlaps the first (RFC 5722).
 * Verify: nothing completes and both fragments go to the death row.
 */
static void test_frag_overlap_drops_the_datagram(void **state)
{
	uint8_t f[256], dg[120];
	struct dse_pkt_info p1, p2;
	struct rte_mbuf *a, *b;
	struct dse_frag fr;
	uint32_t id, len;

	(void)state;
	assert_int_equal(dse_frag_init(&fr, 16, 5 * SEC, SOCKET_ID_ANY), 0);
	udp_dgram(dg, sizeof(dg));
	len = ip4_frame(f, IPPROTO_UDP, dg, 64, NULL, 0, 9, 0x2000, false);
	a = mbuf_of(f, len, &p1);
	len = ip4_frame(f, IPPROTO_UDP, dg + 48, 72, NULL, 0, 9, 6, false);
	b = mbuf_of(f, len, &p2);
	assert_null(dse_frag_add(&fr, a, &p1, 1, 0, SEC, &id));
	assert_null(dse_frag_add(&fr, b, &p2, 1, 0, SEC, &id));
	assert_int_equal(fr.dr.cnt, 2);
	rte_ip_frag_free_death_row(&fr.dr, 0);
	dse_frag_fini(&fr);
}

/*
 * Steps: a 1500-byte UDP datagram with two IPv4 options, one with the copy
 * bit (0x94, router alert) and one without (0x07, record route), split
 * into fragments of 512 bytes.
 * Verify: 3 fragments with offsets 0, 64, 128 (in 8-byte units), MF on all
 * but the last, right header checksums, the first carrying both options
 * and the later ones only the copied one; their data put together is the
 * datagram's.
 */
static void test_frag_split_ipv4_with_options(void **state)
{
	const uint8_t opts[12] = {0x94, 4, 0, 0, 0x07, 7, 4, 0, 0, 0, 0, 0};
	uint8_t f[2048], dg[1500], got[1500];
	struct rte_mbuf *m, *out[8];
	struct dse_pkt_info pi;
	uint32_t len, at = 0;
	int n;

	(void)state;
	udp_dgram(dg, sizeof(dg));
	len = ip4_frame(f, IPPROTO_UDP, dg, sizeof(dg), opts, sizeof(opts), 321, 0, true);
	m = mbuf_of(f, len, &pi);
	n = dse_frag_split(m, &pi, 512, 0, pool, out, 8);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++) {
		const uint8_t *p = rte_pktmbuf_mtod(out[i], const uint8_t *), *ip = p + 14;
		uint32_t hl = (uint32_t)(ip[0] & 0xf) * 4;
		uint16_t fo = rd16(ip + 6);

		assert_memory_equal(p, f, 14);
		assert_int_equal(hl, i == 0 ? 32 : 24);
		assert_int_equal(ip[20], 0x94);
		assert_int_equal(fo & 0x1fff, 64 * i);
		assert_int_equal(!!(fo & 0x2000), i < n - 1);
		assert_int_equal(rd16(ip + 4), 321);
		assert_int_equal(inet_sum(ip, hl, 0), 0);
		assert_int_equal(rd16(ip + 2), rte_pktmbuf_data_len(out[i]) - 14);
		memcpy(got + at, ip + hl, rte_pktmbuf_data_len(out[i]) - 14 - hl);
		at += rte_pktmbuf_data_len(out[i]) - 14 - hl;
	}
	assert_int_equal(at, sizeof(dg));
	assert_memory_equal(got, rte_pktmbuf_mtod_offset(m, uint8_t *, 14 + 32), sizeof(dg));
	rte_pktmbuf_free_bulk(out, (unsigned)n);
	assert_int_equal(dse_frag_split(m, &pi, 4, 0, pool, out, 8), -EINVAL);
	assert_int_equal(dse_frag_split(m, &pi, 64, 0, pool, out, 8), -E2BIG);
	rte_pktmbuf_free(m);
}

/*
 * Steps: an IPv6 UDP datagram of 1200 bytes split into fragments of 504
 * with identification 0xabcdef01.
 * Verify: 3 fragments, each the fixed header (payload length, next header
 * 44) and a fragment header (next header UDP, offsets 0, 504, 1008, M on
 * all but the last, the identification), data in order.
 */
static void test_frag_split_ipv6(void **state)
{
	uint8_t f[1400] = {0}, *ip = f + 14;
	struct rte_mbuf *m, *out[4];
	struct dse_pkt_info pi;
	int n;

	(void)state;
	memcpy(f, mac_b, 6);
	memcpy(f + 6, mac_a, 6);
	wr16(f + 12, 0x86dd);
	ip[0] = 0x60;
	wr16(ip + 4, 1200);
	ip[6] = IPPROTO_UDP;
	ip[7] = 64;
	ip[8] = 0x20, ip[23] = 1, ip[24] = 0x20, ip[39] = 2;
	udp_dgram(ip + 40, 1200);
	m = mbuf_of(f, 14 + 40 + 1200, &pi);
	n = dse_frag_split(m, &pi, 504, 0xabcdef01, pool, out, 4);
	assert_int_equal(n, 3);
	for (int i = 0; i < n; i++) {
		const uint8_t *q = rte_pktmbuf_mtod(out[i], const uint8_t *) + 14;
		uint32_t dlen = i < 2 ? 504 : 1200 - 1008;
		uint16_t fo = rd16(q + 42);

		assert_int_equal(q[6], IPPROTO_FRAGMENT);
		assert_int_equal(rd16(q + 4), 8 + dlen);
		assert_int_equal(q[40], IPPROTO_UDP);
		assert_int_equal(fo & 0xfff8, 504 * i);
		assert_int_equal(fo & 1, i < n - 1);
		assert_int_equal(rd16(q + 44), 0xabcd);
		assert_int_equal(rd16(q + 46), 0xef01);
		assert_memory_equal(q + 48, ip + 40 + 504 * i, dlen);
	}
	rte_pktmbuf_free_bulk(out, (unsigned)n);
	rte_pktmbuf_free(m);
}

/*
 * Steps: UDP over IPv4 whose UDP length (20) is shorter than the IP payload
 * (28: 8 bytes of surplus after the datagram, RFC 768 allows it) with a
 * checksum over its 20 bytes; the same with a UDP length beyond the
 * payload; a wrong checksum the device says is NONE (the data verified, the
 * field never filled in); a TCP segment whose checksum spans a chain cut at
 * an odd byte.
 * Verify: the first passes (the sum covers the UDP length), the second is
 * bad UDP, NONE passes, the odd cut passes.
 */
static void test_cksum_udp_length_none_flags_and_odd_chains(void **state)
{
	uint8_t f[512], l4[400] = {0};
	struct dse_pkt_info pi;
	struct rte_mbuf *m, *tail;
	uint32_t len, ps;

	(void)state;
	udp_dgram(l4, 28);
	wr16(l4 + 4, 20);
	len = ip4_frame(f, IPPROTO_UDP, l4, 28, NULL, 0, 7, 0, false);
	ps = rd16(ip_a) + rd16(ip_a + 2) + rd16(ip_b) + rd16(ip_b + 2) + IPPROTO_UDP + 20;
	wr16(f + 14 + 20 + 6, inet_sum(f + 14 + 20, 20, ps));
	m = mbuf_of(f, len, &pi);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_OK);
	rte_pktmbuf_free(m);
	/* The parser refuses that in a whole packet; a reassembled datagram's is checked here. */
	m = mbuf_of(f, len, &pi);
	wr16(rte_pktmbuf_mtod_offset(m, uint8_t *, 14 + 20 + 4), 36);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_BAD_UDP);
	rte_pktmbuf_free(m);

	memset(l4, 0, sizeof(l4));
	l4[12] = 5 << 4;
	l4[13] = 0x18;
	for (int i = 20; i < 301; i++)
		l4[i] = (uint8_t)(i * 3);
	len = ip4_frame(f, IPPROTO_TCP, l4, 301, NULL, 0, 8, 0, true);
	f[len - 2] ^= 0x40;
	m = mbuf_of(f, len, &pi);
	m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_NONE;
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_OK);
	rte_pktmbuf_free(m);
	f[len - 2] ^= 0x40;
	/* The cut 101 bytes into the frame: 67 bytes into the TCP header and data. */
	m = mbuf_of(f, 101, NULL);
	tail = mbuf_of(f + 101, len - 101, NULL);
	assert_int_equal(rte_pktmbuf_chain(m, tail), 0);
	assert_int_equal(dse_parse_frame(f, len, &pi), DSE_PARSE_OK);
	assert_int_equal(dse_cksum_check(m, &pi), DSE_CKSUM_OK);
	rte_pktmbuf_free(m);
}

/*
 * Steps: the first fragment of a datagram comes in by port 1, the last by
 * port 2 (same addresses, identification, zone); then the last by port 1.
 * Verify: only the one from port 1 completes it: a datagram is judged at
 * the one port it came in by.
 */
static void test_frag_ports_are_kept_apart(void **state)
{
	struct rte_mbuf *fr[4], *d;
	struct dse_pkt_info pis[4];
	uint8_t dg[1200];
	struct dse_frag f;
	uint32_t id;
	unsigned n;

	(void)state;
	assert_int_equal(dse_frag_init(&f, 16, 5 * SEC, SOCKET_ID_ANY), 0);
	udp_dgram(dg, sizeof(dg));
	n = make_frags(fr, pis, dg, sizeof(dg), 600, 90);
	assert_int_equal(n, 2);
	assert_null(dse_frag_add(&f, fr[0], &pis[0], 1, 1, SEC, &id));
	assert_null(dse_frag_add(&f, fr[1], &pis[1], 1, 2, SEC, &id));
	n = make_frags(fr, pis, dg, sizeof(dg), 600, 90);
	rte_pktmbuf_free(fr[0]);
	d = dse_frag_add(&f, fr[1], &pis[1], 1, 1, SEC, &id);
	assert_non_null(d);
	rte_pktmbuf_free(d);
	dse_frag_expire(&f, 60 * SEC);
	rte_ip_frag_free_death_row(&f.dr, 0);
	dse_frag_fini(&f);
}

/*
 * Steps: an IPv6 datagram with a destination options header after the
 * (removed) fragment header, then UDP, split into fragments.
 * Verify: the fragments carry the destination options as data: the first
 * fragment's fragment header says "next: destination options" and its
 * data starts with them, and the data of all put together is everything
 * after the fixed header.
 */
static void test_frag_split_ipv6_keeps_headers_after_the_fragment_header(void **state)
{
	uint8_t f[1400] = {0}, *ip = f + 14, got[1300];
	struct rte_mbuf *m, *out[4];
	struct dse_pkt_info pi;
	uint32_t at = 0;
	int n;

	(void)state;
	memcpy(f, mac_b, 6);
	memcpy(f + 6, mac_a, 6);
	wr16(f + 12, 0x86dd);
	ip[0] = 0x60;
	wr16(ip + 4, 8 + 1000);
	ip[6] = IPPROTO_DSTOPTS;
	ip[7] = 64;
	ip[8] = 0x20, ip[23] = 1, ip[24] = 0x20, ip[39] = 2;
	ip[40] = IPPROTO_UDP; /* destination options, 8 bytes: PadN */
	ip[41] = 0;
	ip[42] = 1;
	ip[43] = 4;
	udp_dgram(ip + 48, 1000);
	m = mbuf_of(f, 14 + 40 + 1008, &pi);
	assert_int_equal(pi.l3_len, 48);
	n = dse_frag_split(m, &pi, 504, 7, pool, out, 4);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		const uint8_t *q = rte_pktmbuf_mtod(out[i], const uint8_t *) + 14;
		uint32_t dlen = rd16(q + 4) - 8;

		assert_int_equal(q[40], IPPROTO_DSTOPTS);
		memcpy(got + at, q + 48, dlen);
		at += dlen;
	}
	assert_int_equal(at, 1008);
	assert_memory_equal(got, ip + 40, 1008);
	rte_pktmbuf_free_bulk(out, (unsigned)n);
	rte_pktmbuf_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cksum_ipv4_reasons),
	    cmocka_unit_test(test_cksum_ipv6_reasons),
	    cmocka_unit_test(test_cksum_device_flags_and_chains),
	    cmocka_unit_test(test_frag_check_geometry),
	    cmocka_unit_test(test_frag_reassembly_and_zones),
	    cmocka_unit_test(test_frag_overlap_drops_the_datagram),
	    cmocka_unit_test(test_frag_split_ipv4_with_options),
	    cmocka_unit_test(test_frag_split_ipv6),
	    cmocka_unit_test(test_cksum_udp_length_none_flags_and_odd_chains),
	    cmocka_unit_test(test_frag_ports_are_kept_apart),
	    cmocka_unit_test(test_frag_split_ipv6_keeps_headers_after_the_fragment_header),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
