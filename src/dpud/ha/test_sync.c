/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the state sync protocol (sync_proto.c), from the attacker's
 * side too: headers and records that lie about their size, type, family or
 * state are refused; a receiver applies every datagram once and in order
 * whatever the link did to them (loss, duplication, reordering, a late
 * datagram of an old session); the sender keeps what is not acknowledged
 * and sends it again after the timeout, and not what the receiver holds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "sync_proto.h"

static struct dse_sync_rec conn_rec(uint16_t sport)
{
	struct dse_sync_rec r = {.type = DSE_SYNC_REC_CONN,
				 .seg = 100,
				 .state = 3,
				 .proto = 6,
				 .family = 4,
				 .cflags = 2,
				 .mark = 7,
				 .sport = sport,
				 .dport = 80,
				 .wscale = {7, 9}};

	r.src[10] = r.src[11] = 0xff;
	r.src[12] = 198;
	r.src[13] = 18;
	r.src[15] = 1;
	memcpy(r.dst, r.src, 16);
	r.dst[15] = 2;
	return r;
}

static void test_records_roundtrip(void **state)
{
	struct dse_sync_rec c = conn_rec(4242),
			    f = {.type = DSE_SYNC_REC_FDB,
				 .seg = DSE_SYNC_SEG_VNI | 5001,
				 .mac = {2, 0, 0, 0, 1, 1},
				 .uplink = 2,
				 .port = "vmnic1"},
			    out;
	uint8_t buf[DSE_SYNC_REC_LEN];

	(void)state;
	dse_sync_rec_encode(buf, &c);
	assert_int_equal(dse_sync_rec_decode(buf, &out), 0);
	assert_memory_equal(&out, &c, sizeof(c));
	dse_sync_rec_encode(buf, &f);
	assert_int_equal(dse_sync_rec_decode(buf, &out), 0);
	assert_memory_equal(&out, &f, sizeof(f));
	/* Little-endian on the wire whatever the host: the VNI bit is in the last byte of seg. */
	assert_int_equal(buf[7], 0x80);
}

static void test_records_hostile(void **state)
{
	struct dse_sync_rec c = conn_rec(1), out;
	uint8_t buf[DSE_SYNC_REC_LEN];

	(void)state;
	dse_sync_rec_encode(buf, &c);
	buf[0] = 9; /* unknown type */
	assert_int_equal(dse_sync_rec_decode(buf, &out), -EBADMSG);
	dse_sync_rec_encode(buf, &c);
	buf[3] = 5; /* family */
	assert_int_equal(dse_sync_rec_decode(buf, &out), -EBADMSG);
	dse_sync_rec_encode(buf, &c);
	buf[1] = 200; /* state */
	assert_int_equal(dse_sync_rec_decode(buf, &out), -EBADMSG);
	dse_sync_rec_encode(buf, &c);
	buf[17] = 15; /* window scale above 14 */
	assert_int_equal(dse_sync_rec_decode(buf, &out), -EBADMSG);
	/* A port name without its NUL. */
	c = (struct dse_sync_rec){.type = DSE_SYNC_REC_FDB, .seg = 1};
	dse_sync_rec_encode(buf, &c);
	memset(buf + 16, 'a', DSE_SYNC_PORT_LEN);
	assert_int_equal(dse_sync_rec_decode(buf, &out), -EBADMSG);
}

static void test_header_hostile(void **state)
{
	struct dse_sync_hdr h = {.type = DSE_SYNC_DATA,
				 .count = 2,
				 .seq = 1,
				 .epoch = 3,
				 .session = 9},
			    out;
	uint8_t buf[DSE_SYNC_DGRAM_MAX + 8] = {0};
	size_t len = DSE_SYNC_HDR_LEN + 2 * DSE_SYNC_REC_LEN;

	(void)state;
	dse_sync_hdr_encode(buf, &h);
	assert_int_equal(dse_sync_hdr_decode(buf, len, &out), 0);
	assert_int_equal(out.seq, 1);
	assert_int_equal(out.epoch, 3);
	/* The count must match the length, both ways. */
	assert_int_equal(dse_sync_hdr_decode(buf, len - 1, &out), -EBADMSG);
	assert_int_equal(dse_sync_hdr_decode(buf, len + DSE_SYNC_REC_LEN, &out), -EBADMSG);
	assert_int_equal(dse_sync_hdr_decode(buf, 10, &out), -EBADMSG);
	/* More records than a datagram may hold, with a length to match. */
	h.count = DSE_SYNC_RECS_MAX + 1;
	dse_sync_hdr_encode(buf, &h);
	assert_int_equal(
	    dse_sync_hdr_decode(buf, DSE_SYNC_HDR_LEN + h.count * DSE_SYNC_REC_LEN, &out),
	    -EBADMSG);
	/* Seq 0, session 0, another magic or version, an unknown type. */
	h.count = 0;
	h.seq = 0;
	dse_sync_hdr_encode(buf, &h);
	assert_int_equal(dse_sync_hdr_decode(buf, DSE_SYNC_HDR_LEN, &out), -EBADMSG);
	h.seq = 1;
	h.session = 0;
	dse_sync_hdr_encode(buf, &h);
	assert_int_equal(dse_sync_hdr_decode(buf, DSE_SYNC_HDR_LEN, &out), -EBADMSG);
	h.session = 1;
	dse_sync_hdr_encode(buf, &h);
	buf[0] ^= 1;
	assert_int_equal(dse_sync_hdr_decode(buf, DSE_SYNC_HDR_LEN, &out), -EBADMSG);
	dse_sync_hdr_encode(buf, &h);
	buf[4] = 2;
	assert_int_equal(dse_sync_hdr_decode(buf, DSE_SYNC_HDR_LEN, &out), -EBADMSG);
	dse_sync_hdr_encode(buf, &h);
	buf[5] = 77;
	assert_int_equal(dse_sync_hdr_decode(buf, DSE_SYNC_HDR_LEN, &out), -EBADMSG);
	/* An ACK carries no records. */
	h.type = DSE_SYNC_ACK;
	h.count = 1;
	dse_sync_hdr_encode(buf, &h);
	assert_int_equal(dse_sync_hdr_decode(buf, DSE_SYNC_HDR_LEN + DSE_SYNC_REC_LEN, &out),
			 -EBADMSG);
}

/* What the receiver delivered: the first record's sport of each datagram, in order. */
struct got {
	unsigned n;
	uint16_t sport[4096];
	unsigned flags_seen;
};

static void got_fn(void *arg, const struct dse_sync_hdr *h, const uint8_t *recs)
{
	struct got *g = arg;
	struct dse_sync_rec r;

	g->flags_seen |= h->flags;
	if (h->count == 0 || dse_sync_rec_decode(recs, &r) != 0)
		return;
	g->sport[g->n++] = r.sport;
}

/* Sends slot 's' to 'rx' (decoding as the socket side does). */
static unsigned feed(struct dse_sync_rx *rx, const uint8_t *buf, size_t len, struct got *g)
{
	struct dse_sync_hdr h;

	assert_int_equal(dse_sync_hdr_decode(buf, len, &h), 0);
	return dse_sync_rx_data(rx, &h, buf, len, got_fn, g);
}

static void ack(struct dse_sync_tx *tx, const struct dse_sync_rx *rx)
{
	struct dse_sync_hdr h;
	uint8_t buf[DSE_SYNC_HDR_LEN];

	dse_sync_rx_ack(rx, &h);
	dse_sync_hdr_encode(buf, &h);
	assert_int_equal(dse_sync_hdr_decode(buf, sizeof(buf), &h), 0);
	dse_sync_tx_ack(tx, &h);
}

/* Copies of the datagrams sent, as a lossy link would hold them. */
struct wire {
	unsigned n;
	uint16_t len[64];
	uint8_t buf[64][DSE_SYNC_DGRAM_MAX];
};

static void wire_put(struct wire *w, const struct dse_sync_tx_slot *s)
{
	assert_non_null(s);
	memcpy(w->buf[w->n], s->buf, s->len);
	w->len[w->n++] = s->len;
}

static void test_reorder_dup_loss(void **state)
{
	static struct wire w;
	static struct got g;
	struct dse_sync_tx tx;
	struct dse_sync_rx rx;
	const struct dse_sync_tx_slot *s;
	uint32_t pos = 0;

	(void)state;
	memset(&w, 0, sizeof(w));
	memset(&g, 0, sizeof(g));
	assert_int_equal(dse_sync_tx_init(&tx, 11, 5), 0);
	assert_int_equal(dse_sync_rx_init(&rx, 22, 5), 0);
	for (uint16_t i = 0; i < 8; i++) {
		struct dse_sync_rec r = conn_rec(i);

		wire_put(&w,
			 dse_sync_tx_data(&tx, &r, 1, i == 0 ? DSE_SYNC_F_BULK_BEGIN : 0, 1000));
	}
	assert_int_equal(dse_sync_tx_inflight(&tx), 8);
	/* Arrival order 0 2 3 (1 lost) 5 4 4 6 (7 lost). */
	assert_int_equal(feed(&rx, w.buf[0], w.len[0], &g), 1);
	assert_int_equal(feed(&rx, w.buf[2], w.len[2], &g), 0);
	assert_int_equal(feed(&rx, w.buf[3], w.len[3], &g), 0);
	assert_int_equal(feed(&rx, w.buf[5], w.len[5], &g), 0);
	assert_int_equal(feed(&rx, w.buf[4], w.len[4], &g), 0);
	assert_int_equal(feed(&rx, w.buf[4], w.len[4], &g), 0);
	assert_int_equal(feed(&rx, w.buf[6], w.len[6], &g), 0);
	assert_int_equal(rx.dup, 1);
	assert_int_equal(g.n, 1);
	ack(&tx, &rx);
	/* Seq 1 acknowledged; 3..7 held (seq = index + 1). */
	assert_int_equal(tx.una, 2);
	assert_int_equal(dse_sync_tx_inflight(&tx), 7);
	/* Before the timeout nothing is sent again; after it, only 2 and 8 (the rest are held). */
	assert_null(dse_sync_tx_due(&tx, 1000 + 10, 100, &pos));
	pos = 0;
	s = dse_sync_tx_due(&tx, 2000, 100, &pos);
	assert_non_null(s);
	assert_int_equal(feed(&rx, s->buf, s->len, &g), 6); /* 2, then 3..7 from the hold */
	s = dse_sync_tx_due(&tx, 2000, 100, &pos);
	assert_non_null(s);
	assert_int_equal(feed(&rx, s->buf, s->len, &g), 1);
	assert_null(dse_sync_tx_due(&tx, 2000, 100, &pos));
	assert_int_equal(tx.resent, 2);
	assert_int_equal(g.n, 8);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(g.sport[i], i);
	ack(&tx, &rx);
	assert_int_equal(dse_sync_tx_inflight(&tx), 0);
	assert_int_equal(dse_sync_tx_oldest_ns(&tx), 0);
	dse_sync_tx_fini(&tx);
	dse_sync_rx_fini(&rx);
}

static void test_sessions(void **state)
{
	static struct wire w;
	static struct got g;
	struct dse_sync_tx tx;
	struct dse_sync_rx rx;
	struct dse_sync_rec r = conn_rec(1);
	struct dse_sync_hdr h;

	(void)state;
	memset(&w, 0, sizeof(w));
	memset(&g, 0, sizeof(g));
	assert_int_equal(dse_sync_tx_init(&tx, 100, 1), 0);
	assert_int_equal(dse_sync_rx_init(&rx, 200, 1), 0);
	/* A receiver follows no session until one begins (seq 1, a bulk's start). */
	wire_put(&w, dse_sync_tx_data(&tx, &r, 1, DSE_SYNC_F_BULK_BEGIN, 1));
	r.sport = 2;
	wire_put(&w, dse_sync_tx_data(&tx, &r, 1, DSE_SYNC_F_BULK_END, 1));
	assert_int_equal(feed(&rx, w.buf[1], w.len[1], &g), 0);
	assert_int_equal(rx.stale, 1);
	assert_int_equal(feed(&rx, w.buf[0], w.len[0], &g), 1);
	assert_int_equal(feed(&rx, w.buf[1], w.len[1], &g), 1);
	assert_int_equal(g.flags_seen, DSE_SYNC_F_BULK_BEGIN | DSE_SYNC_F_BULK_END);
	/* The sender starts over: the new session's seq 1 wins, the old one's late ones don't. */
	dse_sync_tx_reset(&tx, 101, 1);
	r.sport = 3;
	wire_put(&w, dse_sync_tx_data(&tx, &r, 1, DSE_SYNC_F_BULK_BEGIN, 2));
	assert_int_equal(feed(&rx, w.buf[2], w.len[2], &g), 1);
	assert_int_equal(rx.peer_session, 101);
	assert_int_equal(feed(&rx, w.buf[1], w.len[1], &g), 0);
	assert_int_equal(rx.peer_session, 101);
	assert_int_equal(g.n, 3);
	/* An ACK of another session, of another epoch, or of more than was sent: ignored. */
	dse_sync_rx_ack(&rx, &h);
	h.peer_session = 100;
	assert_int_equal(dse_sync_tx_ack(&tx, &h), -ESTALE);
	dse_sync_rx_ack(&rx, &h);
	h.epoch = 2;
	assert_int_equal(dse_sync_tx_ack(&tx, &h), -ESTALE);
	dse_sync_rx_ack(&rx, &h);
	h.ack = 50;
	assert_int_equal(dse_sync_tx_ack(&tx, &h), -ESTALE);
	dse_sync_rx_ack(&rx, &h);
	assert_int_equal(dse_sync_tx_ack(&tx, &h), 1);
	/* A datagram of another epoch is not applied. */
	rx.epoch = 9;
	dse_sync_tx_reset(&tx, 102, 1);
	wire_put(&w, dse_sync_tx_data(&tx, &r, 1, DSE_SYNC_F_BULK_BEGIN, 3));
	assert_int_equal(feed(&rx, w.buf[3], w.len[3], &g), 0);
	assert_int_equal(g.n, 3);
	dse_sync_tx_fini(&tx);
	dse_sync_rx_fini(&rx);
}

static void test_window_bounds(void **state)
{
	static struct got g;
	struct dse_sync_tx tx;
	struct dse_sync_rx rx;
	struct dse_sync_rec r = conn_rec(1);
	const struct dse_sync_tx_slot *first = NULL, *s;

	(void)state;
	memset(&g, 0, sizeof(g));
	assert_int_equal(dse_sync_tx_init(&tx, 1, 1), 0);
	assert_int_equal(dse_sync_rx_init(&rx, 2, 1), 0);
	/* The sender stops at DSE_SYNC_TX_SLOTS in flight. */
	for (unsigned i = 0; i < DSE_SYNC_TX_SLOTS; i++) {
		s = dse_sync_tx_data(&tx, &r, 1, i == 0 ? DSE_SYNC_F_BULK_BEGIN : 0, 1);
		assert_non_null(s);
		if (i == 0) {
			assert_int_equal(feed(&rx, s->buf, s->len, &g), 1);
			first = s;
		} else if (i == DSE_SYNC_RX_SLOTS + 5) {
			/* Far beyond what the receiver holds: dropped, sent again later. */
			assert_int_equal(feed(&rx, s->buf, s->len, &g), 0);
			assert_int_equal(rx.beyond, 1);
		}
	}
	assert_non_null(first);
	assert_null(dse_sync_tx_data(&tx, &r, 1, 0, 1));
	assert_null(dse_sync_tx_data(&tx, &r, DSE_SYNC_RECS_MAX + 1, 0, 1));
	dse_sync_tx_fini(&tx);
	dse_sync_rx_fini(&rx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_records_roundtrip), cmocka_unit_test(test_records_hostile),
	    cmocka_unit_test(test_header_hostile),    cmocka_unit_test(test_reorder_dup_loss),
	    cmocka_unit_test(test_sessions),	      cmocka_unit_test(test_window_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
