/* SPDX-License-Identifier: BSD-3-Clause */
#include "frag.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_random.h>

#define IP4_MF	    0x2000
#define IP4_DF	    0x4000
#define IP4_OFFMASK 0x1fff
#define IP6_MF	    0x0001
#define IP6_OFFMASK 0xfff8
#define IP6_HLEN    40
#define IP6_FRAG_HLEN 8

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

int dse_frag_init(struct dse_frag *f, uint32_t max_datagrams, uint64_t timeout_ns, int socket)
{
	/* Four entries a bucket, and buckets for every datagram: few collisions. */
	const uint32_t bucket_entries = 4;
	uint32_t buckets = rte_align32pow2(max_datagrams);

	memset(f, 0, sizeof(*f));
	if (max_datagrams == 0 || timeout_ns == 0)
		return -EINVAL;
	f->tbl = rte_ip_frag_table_create(buckets, bucket_entries, max_datagrams, timeout_ns,
					  socket);
	if (f->tbl == NULL)
		return rte_errno ? -rte_errno : -ENOMEM;
	for (unsigned i = 0; i < RTE_DIM(f->zone_mask); i++)
		f->zone_mask[i] = (uint32_t)rte_rand();
	for (unsigned i = 0; i < RTE_DIM(f->port_mask); i++)
		f->port_mask[i] = (uint32_t)rte_rand();
	return 0;
}

void dse_frag_fini(struct dse_frag *f)
{
	if (f->tbl == NULL)
		return;
	rte_ip_frag_table_destroy(f->tbl);
	f->tbl = NULL;
}

/* The fragment's offset and payload in bytes; 'more' its more-fragments flag. */
static void frag_geometry(const uint8_t *frame, const struct dse_pkt_info *pi, uint32_t *ofs,
			  uint32_t *len, bool *more)
{
	if (pi->l3 == DSE_L3_IPV4) {
		uint16_t fo = rd16(frame + pi->l3_off + 6);

		*ofs = (uint32_t)(fo & IP4_OFFMASK) * 8;
		*more = (fo & IP4_MF) != 0;
		*len = (uint32_t)pi->ip_end - pi->l3_off - pi->l3_len;
	} else {
		/* dse_frag_check() saw that the fragment header follows the fixed one. */
		const uint32_t fh = (uint32_t)pi->l3_off + IP6_HLEN;
		uint16_t fo = rd16(frame + fh + 2);

		*ofs = fo & IP6_OFFMASK;
		*more = (fo & IP6_MF) != 0;
		*len = (uint32_t)pi->ip_end - fh - IP6_FRAG_HLEN;
	}
}

enum dse_frag_check dse_frag_check(const struct rte_mbuf *m, const struct dse_pkt_info *pi)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t ofs, len;
	bool more;

	if (pi->l3 == DSE_L3_IPV6 && !pi->frag6_fixed)
		return DSE_FRAG_EXT;
	frag_geometry(frame, pi, &ofs, &len, &more);
	if (len == 0 || (more && (len & 7) != 0))
		return DSE_FRAG_BAD;
	/* The whole datagram must fit an IP length field with its header. */
	if (ofs + len + (pi->l3 == DSE_L3_IPV4 ? pi->l3_len : 0) > UINT16_MAX)
		return DSE_FRAG_BAD;
	if (pi->l3 == DSE_L3_IPV4 && ofs == 8 && pi->l4_proto == IPPROTO_TCP)
		return DSE_FRAG_OVERLAP_TCP;
	return DSE_FRAG_OK;
}

/*
 * Mixes (or unmixes: it is its own inverse) the secrets of the zone and the
 * ingress port into the source address.
 */
static inline void frag_key_mix(struct dse_frag *f, uint8_t *l3, bool v6, uint16_t zone,
				uint16_t port)
{
	uint8_t *src = l3 + (v6 ? 8 : 12);
	uint32_t a;

	memcpy(&a, src, 4);
	a ^= f->zone_mask[zone % RTE_DIM(f->zone_mask)] ^ f->port_mask[port % RTE_DIM(f->port_mask)];
	memcpy(src, &a, 4);
}

struct rte_mbuf *dse_frag_add(struct dse_frag *f, struct rte_mbuf *m,
			      const struct dse_pkt_info *pi, uint16_t zone, uint16_t port,
			      uint64_t now, uint32_t *ret_id)
{
	const bool v6 = pi->l3 == DSE_L3_IPV6;
	uint8_t *l3 = rte_pktmbuf_mtod_offset(m, uint8_t *, pi->l3_off);
	struct rte_mbuf *r;

	/*
	 * rte_ip_frag strips l2_len + l3_len from later fragments and, for
	 * IPv6, takes out the 8 bytes before l2_len + l3_len: the fragment
	 * header, right after the fixed header (dse_frag_check()).  Bytes
	 * past the IP packet (Ethernet padding) it trims.
	 */
	m->l2_len = pi->l3_off;
	m->l3_len = v6 ? IP6_HLEN + IP6_FRAG_HLEN : pi->l3_len;
	frag_key_mix(f, l3, v6, zone, port);
	if (v6) {
		struct rte_ipv6_fragment_ext *fh = (struct rte_ipv6_fragment_ext *)(l3 + IP6_HLEN);

		*ret_id = rte_be_to_cpu_32(fh->id);
		r = rte_ipv6_frag_reassemble_packet(f->tbl, &f->dr, m, now,
						    (struct rte_ipv6_hdr *)l3, fh);
	} else {
		*ret_id = 0;
		r = rte_ipv4_frag_reassemble_packet(f->tbl, &f->dr, m, now,
						    (struct rte_ipv4_hdr *)l3);
	}
	if (r == NULL)
		return NULL;
	/* The first fragment's header leads the datagram: give it back its own address. */
	frag_key_mix(f, rte_pktmbuf_mtod_offset(r, uint8_t *, r->l2_len), v6, zone, port);
	/* Each fragment's header was checked; the reassembled one has no checksum yet. */
	r->ol_flags = (r->ol_flags & ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK)) |
		      RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	f->reassembled++;
	return r;
}

int dse_frag_datagram(const struct rte_mbuf *r, struct dse_pkt_info *pi, uint16_t *ret_frag_size)
{
	const uint8_t *l3 = rte_pktmbuf_mtod_offset(r, const uint8_t *, pi->l3_off);
	uint32_t end, fs = 0;

	if (pi->l3 == DSE_L3_IPV6) {
		/* rte_ip_frag took the fragment header out. */
		pi->l3_len = (uint16_t)(pi->l3_len - IP6_FRAG_HLEN);
		if (pi->l4_off)
			pi->l4_off = (uint16_t)(pi->l4_off - IP6_FRAG_HLEN);
		pi->frag6_fixed = 0;
		end = (uint32_t)pi->l3_off + IP6_HLEN + rd16(l3 + 4);
	} else {
		end = (uint32_t)pi->l3_off + rd16(l3 + 2);
	}
	/* Offsets are 16 bits wide, as for every frame (parse.h). */
	if (end > UINT16_MAX || end > r->pkt_len)
		return -EMSGSIZE;
	pi->ip_end = (uint16_t)end;
	pi->ip_mf = 0;
	pi->ip_frag = 0;
	for (const struct rte_mbuf *s = r; s != NULL; s = s->next) {
		/* What the first fragment carried after its fixed header (IPv6) or header. */
		uint32_t unfrag = pi->l3 == DSE_L3_IPV6 ? IP6_HLEN : pi->l3_len;
		uint32_t d = s == r ? (uint32_t)s->data_len - pi->l3_off - unfrag : s->data_len;

		fs = RTE_MAX(fs, d);
	}
	*ret_frag_size = (uint16_t)(RTE_MIN(fs, (uint32_t)UINT16_MAX) & ~7u);
	return 0;
}

void dse_frag_expire(struct dse_frag *f, uint64_t now)
{
	rte_ip_frag_table_del_expired_entries(f->tbl, &f->dr, now);
}

/* Copies 'len' bytes at offset 'off' of the chain 'm' to 'dst'. */
static inline void chain_copy(const struct rte_mbuf *m, uint32_t off, uint32_t len, uint8_t *dst)
{
	const void *p = rte_pktmbuf_read(m, off, len, dst);

	if (p != NULL && p != dst)
		memcpy(dst, p, len);
}

/* The IPv4 options of 'h' ('hlen' bytes) that later fragments carry: those with the copy bit. */
static uint32_t ip4_copied_options(const uint8_t *h, uint32_t hlen, uint8_t *out)
{
	uint32_t i = 20, n = 0;

	while (i < hlen) {
		uint8_t type = h[i], olen;

		if (type == 0) /* end of options */
			break;
		if (type == 1) { /* no-operation */
			i++;
			continue;
		}
		if (i + 1 >= hlen)
			break;
		olen = h[i + 1];
		if (olen < 2 || i + olen > hlen)
			break;
		if (type & 0x80) {
			memcpy(out + n, h + i, olen);
			n += olen;
		}
		i += olen;
	}
	while (n & 3)
		out[n++] = 0; /* end of options, padding to a 32-bit boundary */
	return n;
}

int dse_frag_split(const struct rte_mbuf *m, const struct dse_pkt_info *pi, uint16_t payload,
		   uint32_t id, struct rte_mempool *pool, struct rte_mbuf **out, unsigned max_out)
{
	const bool v6 = pi->l3 == DSE_L3_IPV6;
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *l3 = frame + pi->l3_off;
	/*
	 * What is split: after the IPv4 header; for IPv6 everything after the
	 * fixed header (the fragment header came right after it, so every
	 * extension header that follows belongs to the fragmentable part).
	 */
	const uint32_t unfrag = v6 ? IP6_HLEN : pi->l3_len;
	const uint32_t data = (uint32_t)pi->ip_end - pi->l3_off - unfrag;
	uint8_t opts[40];
	uint32_t later_opts = 0, n = 0, ofs;
	uint16_t fo_base = 0;

	payload &= (uint16_t)~7u;
	if (payload == 0)
		return -EINVAL;
	if ((data + payload - 1) / payload > max_out)
		return -E2BIG;
	if (!v6) {
		later_opts = ip4_copied_options(l3, pi->l3_len, opts);
		/* Keep DF as it was; the offset starts from the datagram's own (0). */
		fo_base = rd16(l3 + 6) & IP4_DF;
	}
	for (ofs = 0; ofs < data; ofs += payload, n++) {
		const uint32_t len = RTE_MIN((uint32_t)payload, data - ofs);
		const bool last = ofs + len >= data;
		const uint32_t hl = v6 ? IP6_HLEN + IP6_FRAG_HLEN
				       : (ofs == 0 ? pi->l3_len : 20 + later_opts);
		struct rte_mbuf *f = rte_pktmbuf_alloc(pool);
		uint8_t *p, *h;

		if (f == NULL)
			goto nobufs;
		out[n] = f;
		p = (uint8_t *)rte_pktmbuf_append(f, (uint16_t)(pi->l3_off + hl + len));
		if (p == NULL) {
			n++;
			goto nobufs;
		}
		memcpy(p, frame, pi->l3_off);
		h = p + pi->l3_off;
		if (v6) {
			struct rte_ipv6_fragment_ext *fh;

			memcpy(h, l3, IP6_HLEN);
			h[6] = IPPROTO_FRAGMENT;
			*(rte_be16_t *)(h + 4) = rte_cpu_to_be_16((uint16_t)(IP6_FRAG_HLEN + len));
			fh = (struct rte_ipv6_fragment_ext *)(h + IP6_HLEN);
			fh->next_header = l3[6];
			fh->reserved = 0;
			fh->frag_data = rte_cpu_to_be_16((uint16_t)(ofs | (last ? 0 : IP6_MF)));
			fh->id = rte_cpu_to_be_32(id);
		} else {
			struct rte_ipv4_hdr *ih = (struct rte_ipv4_hdr *)h;

			if (ofs == 0) {
				memcpy(h, l3, pi->l3_len);
			} else {
				memcpy(h, l3, 20);
				memcpy(h + 20, opts, later_opts);
			}
			h[0] = (uint8_t)(0x40 | (hl / 4));
			ih->total_length = rte_cpu_to_be_16((uint16_t)(hl + len));
			ih->fragment_offset =
			    rte_cpu_to_be_16((uint16_t)(fo_base | (ofs / 8) | (last ? 0 : IP4_MF)));
			ih->hdr_checksum = 0;
			ih->hdr_checksum = rte_ipv4_cksum(ih);
		}
		chain_copy(m, pi->l3_off + unfrag + ofs, len, h + hl);
	}
	return (int)n;
nobufs:
	rte_pktmbuf_free_bulk(out, n);
	return -ENOBUFS;
}
