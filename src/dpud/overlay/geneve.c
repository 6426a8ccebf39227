/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Geneve encapsulation and decapsulation (see geneve.h).
 *
 * Decapsulation reads the packet the way parse.c does: every read is
 * preceded by a check against the bytes really present, a length field from
 * the packet is used only after it has itself been checked, and multi-byte
 * fields are assembled from single bytes (safe on any alignment, host order
 * directly).  Encapsulation writes through DPDK's packed header structs.
 */
#include "geneve.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_udp.h>

#define ETH_HDR_LEN  14
#define VLAN_TAG_LEN 4
#define IP4_MIN_HLEN 20
#define UDP_HLEN     8
#define OPT_HDR_LEN  4 /* class 16, type 8, R 3 + length 5 */

#define ETYPE_IPV4 0x0800
#define ETYPE_VLAN 0x8100
#define ETYPE_QINQ 0x88a8
#define ETYPE_IPV6 0x86dd

#define IP4_DF	    0x4000
#define IP4_MF	    0x2000
#define IP4_OFFMASK 0x1fff
#define IP4_TTL	    64

#define GENEVE_VER_SHIFT  6 /* byte 0: Ver(2) OptLen(6) */
#define GENEVE_OPTLEN	  0x3f
#define GENEVE_FLAG_OAM	  0x80 /* byte 1: O(1) C(1) Rsvd(6) */
#define GENEVE_FLAG_CRIT  0x40
#define GENEVE_OPT_CRIT	  0x80 /* high bit of an option's type */
#define GENEVE_OPT_LENGTH 0x1f /* low five bits of an option's fourth byte */

static inline uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static inline uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline int is_vlan_tpid(uint32_t type)
{
	return type == ETYPE_VLAN || type == ETYPE_QINQ;
}

/*
 * Encapsulation.
 */

void dse_geneve_tpl_build(struct dse_geneve_tpl *t, const struct dse_geneve_tx *tx)
{
	uint32_t l2_len = ETH_HDR_LEN + (tx->vlan ? VLAN_TAG_LEN : 0);
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint8_t *gnv;

	memset(t, 0, sizeof(*t));
	t->len = (uint8_t)(l2_len + DSE_GENEVE_IP4_ENCAP_LEN);
	t->l2_len = (uint8_t)l2_len;
	eth = (struct rte_ether_hdr *)t->hdr;
	rte_ether_addr_copy(&tx->nh_mac, &eth->dst_addr);
	rte_ether_addr_copy(&tx->local.mac, &eth->src_addr);
	if (tx->vlan) {
		struct rte_vlan_hdr *vh = (struct rte_vlan_hdr *)(eth + 1);

		eth->ether_type = rte_cpu_to_be_16(ETYPE_VLAN);
		vh->vlan_tci = rte_cpu_to_be_16(tx->vlan_tci);
		vh->eth_proto = rte_cpu_to_be_16(ETYPE_IPV4);
	} else {
		eth->ether_type = rte_cpu_to_be_16(ETYPE_IPV4);
	}

	ip = (struct rte_ipv4_hdr *)(t->hdr + l2_len);
	ip->version_ihl = RTE_IPV4_VHL_DEF; /* version 4, 5 words */
	/* DSCP only: ECN stays Not-ECT, so decapsulation never has to merge a CE mark. */
	ip->type_of_service = (uint8_t)(tx->dscp << 2);
	/* An atomic datagram (DF, never fragmented) needs no unique ID: RFC 6864. */
	ip->packet_id = 0;
	ip->fragment_offset = rte_cpu_to_be_16(IP4_DF);
	ip->time_to_live = IP4_TTL;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = tx->local.ip;
	ip->dst_addr = tx->remote_ip;
	/* The sum without the total length, which each packet adds (RFC 1624). */
	t->ip_sum = rte_raw_cksum(ip, sizeof(*ip));

	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->dst_port = rte_cpu_to_be_16(DSE_GENEVE_UDP_PORT);
	udp->dgram_cksum = 0; /* allowed over IPv4: see geneve.h */

	gnv = (uint8_t *)(udp + 1);
	gnv[0] = 0; /* version 0, no options */
	gnv[1] = 0; /* O = C = 0 */
	gnv[2] = DSE_GENEVE_PROTO_ETH >> 8;
	gnv[3] = DSE_GENEVE_PROTO_ETH & 0xff;
	/* VNI (bytes 4-6) and the reserved byte 7: written per packet. */
}

int dse_geneve_encap_tpl(struct rte_mbuf *m, const struct dse_geneve_tpl *t, uint16_t mtu,
			 uint32_t vni, uint32_t flow_hash)
{
	uint32_t inner_len = rte_pktmbuf_pkt_len(m);
	uint32_t ip_len = inner_len + DSE_GENEVE_IP4_ENCAP_LEN, sum;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint8_t *p, *gnv;

	if (unlikely(inner_len < ETH_HDR_LEN || vni > DSE_GENEVE_VNI_MAX))
		return -EINVAL;
	/* 'mtu' bounds the outer IPv4 packet, which also keeps it below 65536. */
	if (unlikely(ip_len > mtu))
		return -EMSGSIZE;
	/* The headroom of a shared buffer is not ours to write. */
	if (unlikely(RTE_MBUF_CLONED(m) || rte_mbuf_refcnt_read(m) != 1))
		return -ENOBUFS;
	p = (uint8_t *)rte_pktmbuf_prepend(m, t->len);
	if (unlikely(p == NULL))
		return -ENOBUFS;
	/* Constant sizes, so that the copy is a few moves. */
	if (likely(t->len == DSE_GENEVE_IP4_OVERHEAD))
		memcpy(p, t->hdr, DSE_GENEVE_IP4_OVERHEAD);
	else
		memcpy(p, t->hdr, DSE_GENEVE_IP4_HEADROOM);

	ip = (struct rte_ipv4_hdr *)(p + t->l2_len);
	ip->total_length = rte_cpu_to_be_16((uint16_t)ip_len);
	/* The template's sum plus the total length, folded and complemented. */
	sum = (uint32_t)t->ip_sum + (uint32_t)ip->total_length;
	sum = (sum & 0xffff) + (sum >> 16);
	ip->hdr_checksum = (uint16_t)~sum;

	udp = (struct rte_udp_hdr *)(ip + 1);
	udp->src_port = rte_cpu_to_be_16(dse_geneve_src_port(flow_hash));
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(inner_len + UDP_HLEN + DSE_GENEVE_HDR_LEN));

	gnv = (uint8_t *)(udp + 1);
	gnv[4] = (uint8_t)(vni >> 16);
	gnv[5] = (uint8_t)(vni >> 8);
	gnv[6] = (uint8_t)vni;
	gnv[7] = 0;
	return 0;
}

int dse_geneve_encap(struct rte_mbuf *m, const struct dse_geneve_tx *tx, uint32_t flow_hash)
{
	struct dse_geneve_tpl t;

	dse_geneve_tpl_build(&t, tx);
	return dse_geneve_encap_tpl(m, &t, tx->mtu, tx->vni, flow_hash);
}

/*
 * Decapsulation.
 */

/*
 * Walks the option TLVs in 'opt' ('len' bytes, a multiple of 4).  Every
 * option must end within the area; any critical one is refused because we
 * implement no option.
 */
static inline int geneve_options(const uint8_t *opt, uint32_t len)
{
	uint32_t off = 0;

	while (off < len) {
		uint32_t olen;

		/* 'len' is a multiple of 4, so the 4-byte option header is present. */
		olen = OPT_HDR_LEN + (uint32_t)(opt[off + 3] & GENEVE_OPT_LENGTH) * 4;
		if (unlikely(olen > len - off))
			return DSE_GENEVE_ERR_OPT_TLV;
		if (unlikely(opt[off + 2] & GENEVE_OPT_CRIT))
			return DSE_GENEVE_ERR_CRITICAL;
		off += olen;
	}
	return DSE_GENEVE_OK;
}

/* A unicast, non-zero MAC: the multicast bit of the first byte is clear. */
static inline int mac_is_unicast(const uint8_t *mac)
{
	return !(mac[0] & 1) && (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

/*
 * Zero, loopback (127/8), multicast (224/4), reserved (240/4) and the
 * limited broadcast are no TEP's address.
 */
static inline int ip4_is_unicast(uint32_t a)
{
	return a != 0 && (a >> 24) != 127 && (a >> 28) < 0xe;
}

/*
 * The parser behind dse_geneve_parse() and dse_geneve_decap().  'ol_flags'
 * are the receive flags of the mbuf (0 for a plain buffer): a UDP checksum
 * the NIC already verified is not summed again.
 */
static int geneve_parse(const uint8_t *data, uint32_t len, uint64_t ol_flags,
			struct dse_geneve_rx *ret)
{
	uint32_t off = ETH_HDR_LEN, type, hlen, tot, end, frag, ulen, optlen, n_vlans = 0;
	const uint8_t *ip, *udp, *gnv;
	uint64_t l4_flags;
	int r;

	if (unlikely(len < ETH_HDR_LEN))
		return DSE_GENEVE_ERR_TRUNC;
	if (unlikely(!mac_is_unicast(data + 6)))
		return DSE_GENEVE_ERR_OUTER_SRC;
	ret->outer_vlan_tci = 0;
	type = rd16(data + 12);
	while (is_vlan_tpid(type)) {
		if (unlikely(n_vlans == 2))
			return DSE_GENEVE_ERR_OUTER_L3;
		if (unlikely(len - off < VLAN_TAG_LEN))
			return DSE_GENEVE_ERR_TRUNC;
		if (n_vlans == 0)
			ret->outer_vlan_tci = (uint16_t)rd16(data + off);
		type = rd16(data + off + 2);
		off += VLAN_TAG_LEN;
		n_vlans++;
	}
	if (unlikely(type != ETYPE_IPV4))
		return DSE_GENEVE_ERR_OUTER_L3;

	/* Outer IPv4. */
	ip = data + off;
	if (unlikely(len - off < IP4_MIN_HLEN))
		return DSE_GENEVE_ERR_TRUNC;
	hlen = (uint32_t)(ip[0] & 0x0f) * 4;
	tot = rd16(ip + 2);
	if (unlikely((ip[0] >> 4) != 4 || hlen < IP4_MIN_HLEN || hlen > len - off || tot < hlen ||
		     tot > len - off))
		return DSE_GENEVE_ERR_IP4_HDR;
	if (unlikely(rte_raw_cksum(ip, hlen) != 0xffff))
		return DSE_GENEVE_ERR_IP4_CKSUM;
	frag = rd16(ip + 6);
	if (unlikely(frag & (IP4_MF | IP4_OFFMASK)))
		return DSE_GENEVE_ERR_IP4_FRAG;
	if (unlikely(!ip4_is_unicast(rd32(ip + 12))))
		return DSE_GENEVE_ERR_OUTER_SRC;
	if (unlikely(ip[9] != IPPROTO_UDP))
		return DSE_GENEVE_ERR_NOT_GENEVE;
	end = off + tot; /* bytes after this are Ethernet padding */

	/* UDP. */
	off += hlen;
	udp = data + off;
	if (unlikely(end - off < UDP_HLEN))
		return DSE_GENEVE_ERR_TRUNC;
	if (unlikely(rd16(udp + 2) != DSE_GENEVE_UDP_PORT))
		return DSE_GENEVE_ERR_NOT_GENEVE;
	/*
	 * Strictly equal: a shorter UDP length would silently cut the inner
	 * frame, a longer one claims bytes that are not there.
	 */
	ulen = rd16(udp + 4);
	if (unlikely(ulen != end - off))
		return DSE_GENEVE_ERR_UDP_LEN;
	/* Zero means "no checksum" over IPv4.  GOOD and NONE: the NIC checked it. */
	l4_flags = ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (rd16(udp + 6) != 0 && l4_flags != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	    l4_flags != RTE_MBUF_F_RX_L4_CKSUM_NONE) {
		if (unlikely(l4_flags == RTE_MBUF_F_RX_L4_CKSUM_BAD))
			return DSE_GENEVE_ERR_UDP_CKSUM;
		/* Only now is the datagram summed: the lengths it uses were checked above. */
		if (unlikely(rte_ipv4_udptcp_cksum_verify((const struct rte_ipv4_hdr *)ip, udp)))
			return DSE_GENEVE_ERR_UDP_CKSUM;
	}

	/* Geneve. */
	off += UDP_HLEN;
	gnv = data + off;
	if (unlikely(end - off < DSE_GENEVE_HDR_LEN))
		return DSE_GENEVE_ERR_TRUNC;
	if (unlikely((gnv[0] >> GENEVE_VER_SHIFT) != 0))
		return DSE_GENEVE_ERR_VERSION;
	optlen = (uint32_t)(gnv[0] & GENEVE_OPTLEN) * 4;
	off += DSE_GENEVE_HDR_LEN;
	if (unlikely(optlen > end - off))
		return DSE_GENEVE_ERR_OPTLEN;
	/* The C bit promises a critical option; we know none, so no need to look. */
	if (unlikely(gnv[1] & GENEVE_FLAG_CRIT))
		return DSE_GENEVE_ERR_CRITICAL;
	if (unlikely(optlen != 0)) {
		/* Options are checked even without the C bit: a sender may forget it. */
		r = geneve_options(data + off, optlen);
		if (r != DSE_GENEVE_OK)
			return r;
	}
	if (unlikely(gnv[1] & GENEVE_FLAG_OAM))
		return DSE_GENEVE_ERR_OAM;
	if (unlikely(rd16(gnv + 2) != DSE_GENEVE_PROTO_ETH))
		return DSE_GENEVE_ERR_PROTO;
	off += optlen;
	if (unlikely(end - off < ETH_HDR_LEN))
		return DSE_GENEVE_ERR_INNER_RUNT;

	ret->vni = (uint32_t)gnv[4] << 16 | (uint32_t)gnv[5] << 8 | gnv[6];
	memcpy(&ret->remote_ip, ip + 12, 4); /* stays in network order */
	memcpy(&ret->local_ip, ip + 16, 4);
	memcpy(ret->remote_mac.addr_bytes, data + 6, RTE_ETHER_ADDR_LEN);
	ret->outer_n_vlans = (uint8_t)n_vlans;
	ret->opt_len = (uint8_t)optlen;
	ret->src_port = (uint16_t)rd16(udp);
	ret->inner_off = (uint16_t)off;
	ret->inner_len = (uint16_t)(end - off);
	return DSE_GENEVE_OK;
}

int dse_geneve_parse(const uint8_t *data, uint32_t len, struct dse_geneve_rx *ret)
{
	/* The offsets are 16 bits wide: bytes beyond 65535 are treated as absent. */
	if (len > UINT16_MAX)
		len = UINT16_MAX;
	return geneve_parse(data, len, 0, ret);
}

int dse_geneve_decap(struct rte_mbuf *m, struct dse_geneve_rx *ret)
{
	uint32_t len = rte_pktmbuf_data_len(m);
	int r;

	/*
	 * A chained mbuf would need its tail segments trimmed or read; the
	 * datapath never has one here, so it is refused rather than half handled.
	 */
	if (unlikely(m->nb_segs != 1))
		return DSE_GENEVE_ERR_TRUNC;
	r = geneve_parse(rte_pktmbuf_mtod(m, const uint8_t *), len, m->ol_flags, ret);
	if (r != DSE_GENEVE_OK)
		return r;
	/* Padding first (it is at the end), then the outer headers. */
	rte_pktmbuf_trim(m, (uint16_t)(len - ret->inner_off - ret->inner_len));
	rte_pktmbuf_adj(m, ret->inner_off);
	/* These described the outer packet; the inner one is unchecked and untagged. */
	m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK |
			 RTE_MBUF_F_RX_OUTER_L4_CKSUM_MASK | RTE_MBUF_F_RX_OUTER_IP_CKSUM_BAD |
			 RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED | RTE_MBUF_F_RX_QINQ |
			 RTE_MBUF_F_RX_QINQ_STRIPPED);
	m->packet_type = RTE_PTYPE_UNKNOWN;
	return DSE_GENEVE_OK;
}

/*
 * Flow hash for the source port.
 */

uint32_t dse_geneve_flow_hash(const uint8_t *frame, uint32_t len)
{
	/* MACs + ethertype (16 bytes, padded), then addresses, protocol and ports. */
	uint8_t key[16 + 32 + 4 + 4];
	uint32_t klen = 16, off = ETH_HDR_LEN, type, l4_off = 0, proto = 0, n = 0;
	int is_ip = 0;

	if (len < ETH_HDR_LEN)
		return rte_hash_crc(frame, len, 0);
	memset(key, 0, sizeof(key));
	memcpy(key, frame, ETH_HDR_LEN);
	type = rd16(frame + 12);
	while (is_vlan_tpid(type) && n < 2 && len - off >= VLAN_TAG_LEN) {
		type = rd16(frame + off + 2);
		off += VLAN_TAG_LEN;
		n++;
	}
	if (type == ETYPE_IPV4 && len - off >= IP4_MIN_HLEN) {
		const uint8_t *ip = frame + off;
		uint32_t hlen = (uint32_t)(ip[0] & 0x0f) * 4;

		memcpy(key + klen, ip + 12, 8);
		klen += 8;
		proto = ip[9];
		is_ip = 1;
		/* Non-first fragments have no ports; first ones hash the same way. */
		if (hlen >= IP4_MIN_HLEN && !(rd16(ip + 6) & (IP4_MF | IP4_OFFMASK)))
			l4_off = off + hlen;
	} else if (type == ETYPE_IPV6 && len - off >= 40) {
		const uint8_t *ip = frame + off;

		memcpy(key + klen, ip + 8, 32);
		klen += 32;
		proto = ip[6];
		is_ip = 1;
		l4_off = off + 40;
	}
	if (is_ip) {
		key[klen++] = (uint8_t)proto;
		klen = (klen + 3) & ~3u;
		if (l4_off != 0 &&
		    (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP) &&
		    l4_off <= len && len - l4_off >= 4) {
			memcpy(key + klen, frame + l4_off, 4);
			klen += 4;
		}
	}
	return rte_hash_crc(key, klen, 0);
}

/*
 * Names.
 */

/* clang-format off */
static const char *const geneve_reasons[DSE_GENEVE__MAX] = {
	[DSE_GENEVE_OK] = "ok",
#define DSE_GENEVE_REASON(n, s) [DSE_GENEVE_ERR_##n] = s,
	DSE_GENEVE_ERRORS(DSE_GENEVE_REASON)
#undef DSE_GENEVE_REASON
};

static const char *const geneve_upper[DSE_GENEVE__MAX] = {
	[DSE_GENEVE_OK] = "OK",
#define DSE_GENEVE_UPPER(n, s) [DSE_GENEVE_ERR_##n] = "GENEVE_" #n,
	DSE_GENEVE_ERRORS(DSE_GENEVE_UPPER)
#undef DSE_GENEVE_UPPER
};
/* clang-format on */

/* Long enough for every "geneve_<name>"; checked at compile time. */
#define GENEVE_NAME_MAX 24

#define DSE_GENEVE_NAME_FITS(n, s)                                                                 \
	_Static_assert(sizeof("GENEVE_" #n) <= GENEVE_NAME_MAX, "geneve reason too long: " #n);
DSE_GENEVE_ERRORS(DSE_GENEVE_NAME_FITS)
#undef DSE_GENEVE_NAME_FITS

static char geneve_names[DSE_GENEVE__MAX][GENEVE_NAME_MAX];
static pthread_once_t geneve_names_once = PTHREAD_ONCE_INIT;

static void geneve_names_init(void)
{
	for (int i = 0; i < DSE_GENEVE__MAX; i++) {
		const char *u = geneve_upper[i];
		int j;

		for (j = 0; u[j] != '\0'; j++)
			geneve_names[i][j] =
			    (u[j] >= 'A' && u[j] <= 'Z') ? (char)(u[j] - 'A' + 'a') : u[j];
		geneve_names[i][j] = '\0';
	}
}

const char *dse_geneve_strerror(int result)
{
	if (result < 0 || result >= DSE_GENEVE__MAX)
		return "unknown";
	return geneve_reasons[result];
}

const char *dse_geneve_name(int result)
{
	if (result < 0 || result >= DSE_GENEVE__MAX)
		return "unknown";
	if (result == DSE_GENEVE_OK)
		return "ok";
	pthread_once(&geneve_names_once, geneve_names_init);
	return geneve_names[result];
}
