/* SPDX-License-Identifier: BSD-3-Clause */
/* The state sync protocol: framing, the sender's window, the receiver's reordering. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sync_proto.h"

#define CT_STATE_MAX 11 /* enum dse_ct_state's count (conntrack.h); checked in ha.c */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/*
 * Header: magic 0, version 4, type 5, count 6, seq 8, ack 12, sack 16,
 * epoch 24, session 32, peer_session 36, flags 40, zero 42..47.
 */
void dse_sync_hdr_encode(uint8_t *out, const struct dse_sync_hdr *h)
{
	memset(out, 0, DSE_SYNC_HDR_LEN);
	put32(out, DSE_SYNC_MAGIC);
	out[4] = DSE_SYNC_VERSION;
	out[5] = h->type;
	put16(out + 6, h->count);
	put32(out + 8, h->seq);
	put32(out + 12, h->ack);
	put64(out + 16, h->sack);
	put64(out + 24, h->epoch);
	put32(out + 32, h->session);
	put32(out + 36, h->peer_session);
	put16(out + 40, h->flags);
}

int dse_sync_hdr_decode(const uint8_t *buf, size_t len, struct dse_sync_hdr *h)
{
	if (len < DSE_SYNC_HDR_LEN || len > DSE_SYNC_DGRAM_MAX || get32(buf) != DSE_SYNC_MAGIC ||
	    buf[4] != DSE_SYNC_VERSION)
		return -EBADMSG;
	memset(h, 0, sizeof(*h));
	h->type = buf[5];
	h->count = get16(buf + 6);
	h->seq = get32(buf + 8);
	h->ack = get32(buf + 12);
	h->sack = get64(buf + 16);
	h->epoch = get64(buf + 24);
	h->session = get32(buf + 32);
	h->peer_session = get32(buf + 36);
	h->flags = get16(buf + 40);
	switch (h->type) {
	case DSE_SYNC_DATA:
		if (h->count > DSE_SYNC_RECS_MAX ||
		    len != DSE_SYNC_HDR_LEN + (size_t)h->count * DSE_SYNC_REC_LEN || h->seq == 0)
			return -EBADMSG;
		break;
	case DSE_SYNC_ACK:
	case DSE_SYNC_HELLO:
	case DSE_SYNC_KEEPALIVE:
		if (h->count != 0 || len != DSE_SYNC_HDR_LEN)
			return -EBADMSG;
		break;
	default:
		return -EBADMSG;
	}
	return h->session != 0 ? 0 : -EBADMSG;
}

/*
 * Record: type 0, seg 4; CONN: state 1, proto 2, family 3, mark 8,
 * sport 12, dport 14, cflags 16, wscale 17 and 18, src 20, dst 36; FDB: mac 8, uplink 14,
 * port 16..47.  The rest is zero.
 */
void dse_sync_rec_encode(uint8_t *out, const struct dse_sync_rec *r)
{
	memset(out, 0, DSE_SYNC_REC_LEN);
	out[0] = r->type;
	put32(out + 4, r->seg);
	if (r->type == DSE_SYNC_REC_CONN || r->type == DSE_SYNC_REC_CONN_DEL) {
		out[1] = r->state;
		out[2] = r->proto;
		out[3] = r->family;
		put32(out + 8, r->mark);
		put16(out + 12, r->sport);
		put16(out + 14, r->dport);
		out[16] = r->cflags;
		out[17] = r->wscale[0];
		out[18] = r->wscale[1];
		memcpy(out + 20, r->src, 16);
		memcpy(out + 36, r->dst, 16);
	} else {
		memcpy(out + 8, r->mac, 6);
		out[14] = r->uplink;
		memcpy(out + 16, r->port, strnlen(r->port, DSE_SYNC_PORT_LEN - 1));
	}
}

int dse_sync_rec_decode(const uint8_t *in, struct dse_sync_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->type = in[0];
	r->seg = get32(in + 4);
	switch (r->type) {
	case DSE_SYNC_REC_CONN:
	case DSE_SYNC_REC_CONN_DEL:
		r->state = in[1];
		r->proto = in[2];
		r->family = in[3];
		r->mark = get32(in + 8);
		r->sport = get16(in + 12);
		r->dport = get16(in + 14);
		r->cflags = in[16];
		r->wscale[0] = in[17];
		r->wscale[1] = in[18];
		memcpy(r->src, in + 20, 16);
		memcpy(r->dst, in + 36, 16);
		if ((r->family != 4 && r->family != 6) || r->state >= CT_STATE_MAX ||
		    r->wscale[0] > 14 || r->wscale[1] > 14)
			return -EBADMSG;
		return 0;
	case DSE_SYNC_REC_FDB:
	case DSE_SYNC_REC_FDB_DEL:
		memcpy(r->mac, in + 8, 6);
		r->uplink = in[14];
		if (memchr(in + 16, '\0', DSE_SYNC_PORT_LEN) == NULL)
			return -EBADMSG;
		memcpy(r->port, in + 16, DSE_SYNC_PORT_LEN);
		return 0;
	default:
		return -EBADMSG;
	}
}

/* ---- sender ---------------------------------------------------------- */

int dse_sync_tx_init(struct dse_sync_tx *tx, uint32_t session, uint64_t epoch)
{
	memset(tx, 0, sizeof(*tx));
	tx->slots = calloc(DSE_SYNC_TX_SLOTS, sizeof(*tx->slots));
	if (tx->slots == NULL)
		return -ENOMEM;
	dse_sync_tx_reset(tx, session, epoch);
	return 0;
}

void dse_sync_tx_fini(struct dse_sync_tx *tx)
{
	free(tx->slots);
	tx->slots = NULL;
}

void dse_sync_tx_reset(struct dse_sync_tx *tx, uint32_t session, uint64_t epoch)
{
	for (unsigned i = 0; i < DSE_SYNC_TX_SLOTS; i++)
		tx->slots[i].seq = 0;
	tx->session = session;
	tx->epoch = epoch;
	tx->next_seq = 1;
	tx->una = 1;
}

const struct dse_sync_tx_slot *dse_sync_tx_data(struct dse_sync_tx *tx,
						const struct dse_sync_rec *recs, unsigned n,
						uint16_t flags, uint64_t now_ns)
{
	struct dse_sync_hdr h = {.type = DSE_SYNC_DATA};
	struct dse_sync_tx_slot *s;

	if (n > DSE_SYNC_RECS_MAX || dse_sync_tx_inflight(tx) >= DSE_SYNC_TX_SLOTS)
		return NULL;
	s = &tx->slots[tx->next_seq % DSE_SYNC_TX_SLOTS];
	h.count = (uint16_t)n;
	h.flags = flags;
	h.seq = tx->next_seq;
	h.epoch = tx->epoch;
	h.session = tx->session;
	dse_sync_hdr_encode(s->buf, &h);
	for (unsigned i = 0; i < n; i++)
		dse_sync_rec_encode(s->buf + DSE_SYNC_HDR_LEN + i * DSE_SYNC_REC_LEN, &recs[i]);
	s->len = (uint16_t)(DSE_SYNC_HDR_LEN + n * DSE_SYNC_REC_LEN);
	s->seq = tx->next_seq++;
	s->sacked = 0;
	s->sends = 1;
	s->sent_ns = now_ns;
	return s;
}

int dse_sync_tx_ack(struct dse_sync_tx *tx, const struct dse_sync_hdr *h)
{
	int n = 0;

	if (h->peer_session != tx->session || h->epoch != tx->epoch ||
	    dse_sync_before(tx->next_seq, h->ack) || h->ack == 0)
		return -ESTALE;
	while (dse_sync_before(tx->una, h->ack)) {
		tx->slots[tx->una % DSE_SYNC_TX_SLOTS].seq = 0;
		tx->una++;
		n++;
	}
	for (unsigned i = 0; i < 64; i++) {
		uint32_t seq = h->ack + 1 + i;
		struct dse_sync_tx_slot *s = &tx->slots[seq % DSE_SYNC_TX_SLOTS];

		if ((h->sack >> i & 1) && s->seq == seq)
			s->sacked = 1;
	}
	tx->acked += (uint64_t)n;
	return n;
}

const struct dse_sync_tx_slot *dse_sync_tx_due(struct dse_sync_tx *tx, uint64_t now_ns,
					       uint64_t rto_ns, uint32_t *pos)
{
	uint32_t in = dse_sync_tx_inflight(tx);

	for (; *pos < in; (*pos)++) {
		struct dse_sync_tx_slot *s = &tx->slots[(tx->una + *pos) % DSE_SYNC_TX_SLOTS];

		if (s->seq == 0 || s->sacked || now_ns < s->sent_ns + rto_ns)
			continue;
		s->sent_ns = now_ns;
		if (s->sends < UINT8_MAX)
			s->sends++;
		tx->resent++;
		(*pos)++;
		return s;
	}
	return NULL;
}

uint64_t dse_sync_tx_oldest_ns(const struct dse_sync_tx *tx)
{
	uint64_t oldest = 0;

	/* The first in flight was sent first, but may have been sent again since. */
	for (uint32_t i = 0, in = dse_sync_tx_inflight(tx); i < in && i < 64; i++) {
		const struct dse_sync_tx_slot *s = &tx->slots[(tx->una + i) % DSE_SYNC_TX_SLOTS];

		if (s->seq != 0 && !s->sacked && (oldest == 0 || s->sent_ns < oldest))
			oldest = s->sent_ns;
	}
	return oldest;
}

/* ---- receiver -------------------------------------------------------- */

int dse_sync_rx_init(struct dse_sync_rx *rx, uint32_t session, uint64_t epoch)
{
	memset(rx, 0, sizeof(*rx));
	rx->buf = calloc(DSE_SYNC_RX_SLOTS, sizeof(*rx->buf));
	if (rx->buf == NULL)
		return -ENOMEM;
	dse_sync_rx_reset(rx, session, epoch);
	return 0;
}

void dse_sync_rx_fini(struct dse_sync_rx *rx)
{
	free(rx->buf);
	rx->buf = NULL;
}

void dse_sync_rx_reset(struct dse_sync_rx *rx, uint32_t session, uint64_t epoch)
{
	memset(rx->len, 0, sizeof(rx->len));
	rx->session = session;
	rx->epoch = epoch;
	rx->peer_session = 0;
	rx->next = 0;
}

unsigned dse_sync_rx_data(struct dse_sync_rx *rx, const struct dse_sync_hdr *h, const uint8_t *buf,
			  size_t len, dse_sync_deliver_fn *fn, void *arg)
{
	unsigned delivered = 0;

	if (h->epoch != rx->epoch)
		return 0;
	if (h->session != rx->peer_session) {
		/*
		 * Every session begins with its bulk at seq 1: anything else of
		 * another session is a late datagram of an old one.
		 */
		if (h->seq != 1 || !(h->flags & DSE_SYNC_F_BULK_BEGIN)) {
			rx->stale++;
			return 0;
		}
		memset(rx->len, 0, sizeof(rx->len));
		rx->peer_session = h->session;
		rx->next = 1;
	}
	if (dse_sync_before(h->seq, rx->next)) {
		rx->dup++;
		return 0;
	}
	if (h->seq != rx->next) {
		unsigned slot = h->seq % DSE_SYNC_RX_SLOTS;

		if (h->seq - rx->next >= DSE_SYNC_RX_SLOTS) {
			rx->beyond++;
			return 0;
		}
		if (rx->len[slot] != 0) {
			rx->dup++;
			return 0;
		}
		memcpy(rx->buf[slot], buf, len);
		rx->len[slot] = (uint16_t)len;
		rx->early++;
		return 0;
	}
	fn(arg, h, buf + DSE_SYNC_HDR_LEN);
	rx->next++;
	rx->applied++;
	delivered++;
	for (;;) {
		unsigned slot = rx->next % DSE_SYNC_RX_SLOTS;
		struct dse_sync_hdr hh;

		if (rx->len[slot] == 0)
			break;
		/* Held datagrams were decoded on arrival; this cannot fail. */
		if (dse_sync_hdr_decode(rx->buf[slot], rx->len[slot], &hh) == 0 &&
		    hh.seq == rx->next)
			fn(arg, &hh, rx->buf[slot] + DSE_SYNC_HDR_LEN);
		rx->len[slot] = 0;
		rx->next++;
		rx->applied++;
		delivered++;
	}
	return delivered;
}

void dse_sync_rx_ack(const struct dse_sync_rx *rx, struct dse_sync_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->type = DSE_SYNC_ACK;
	h->ack = rx->next;
	h->epoch = rx->epoch;
	h->session = rx->session;
	h->peer_session = rx->peer_session;
	for (unsigned i = 0; i < 64 && rx->next != 0; i++)
		if (rx->len[(rx->next + 1 + i) % DSE_SYNC_RX_SLOTS] != 0)
			h->sack |= 1ull << i;
}
