/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the event rings and the subscriber registry (events.c): a
 * full ring counts what it drops and never waits; every record comes out
 * whole and in the order it went in, so the records of one key (a MAC, a
 * connection) keep their order across drains; a drain is bounded and takes
 * from every worker in turn; subscribers get only their kinds, and the
 * mask the workers read is the union of theirs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_eal.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "events.h"

static int eal_setup(void **state)
{
	(void)state;
	return test_eal_init("test-events", "64") < 0 ? -1 : 0;
}

static int eal_teardown(void **state)
{
	(void)state;
	return test_eal_cleanup();
}

/* What a test subscriber saw. */
struct seen {
	unsigned n;
	struct dse_event ev[4096];
	unsigned flushes;
};

static void seen_fn(void *arg, const struct dse_event *ev)
{
	struct seen *s = arg;

	if (s->n < 4096)
		s->ev[s->n] = *ev;
	s->n++;
}

static void seen_flush(void *arg)
{
	((struct seen *)arg)->flushes++;
}

static int sub_add(struct seen *s, uint32_t mask)
{
	int h = dse_events_subscribe(
	    &(struct dse_event_sub){.mask = mask, .fn = seen_fn, .flush = seen_flush, .arg = s});

	assert_true(h >= 0);
	return h;
}

/* An FDB record of the MAC ending in 'last', on 'port'. */
static struct dse_event fdb_ev(unsigned kind, uint8_t last, uint16_t port)
{
	struct dse_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = (uint8_t)kind;
	ev.u.fdb.mac[0] = 0x02;
	ev.u.fdb.mac[5] = last;
	ev.u.fdb.segment = 3;
	ev.u.fdb.port = port;
	ev.u.fdb.old_port = port;
	return ev;
}

static struct dse_event_producer *prod_new(uint8_t worker, unsigned size)
{
	static struct dse_event_producer p[4];

	assert_int_equal(dse_event_producer_init(&p[worker], worker, size, 0), 0);
	return &p[worker];
}

/*
 * A full ring drops the record and counts it; emitting never waits (a
 * million records into a ring nobody drains take well under a second),
 * and sequence numbers go on, so a consumer sees the gap.
 */
static void test_full_ring_counts_lost_and_never_blocks(void **state)
{
	struct dse_event_producer *p = prod_new(0, 64);
	static struct seen s;
	struct dse_event ev;
	struct timespec t0, t1;
	unsigned ok = 0;
	int h;

	(void)state;
	memset(&s, 0, sizeof(s));
	h = sub_add(&s, DSE_EV_ALL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned i = 0; i < 1000000; i++) {
		ev = fdb_ev(DSE_EV_FDB_LEARNED, (uint8_t)i, 1);
		ok += dse_event_emit(p, &ev, i) == 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) <
		    1000000000L);
	/* A ring of 64 holds 63. */
	assert_int_equal(ok, 63);
	assert_int_equal(p->sent, 63);
	assert_int_equal(p->lost, 1000000 - 63);
	assert_int_equal(p->seq, 1000000);
	assert_int_equal(dse_events_drain(&p, 1, 1000), 63);
	assert_int_equal(s.n, 63);
	for (unsigned i = 0; i < 63; i++)
		assert_int_equal(s.ev[i].seq, i);
	/* Room again: the next record goes in, with the next number. */
	ev = fdb_ev(DSE_EV_FDB_AGED, 1, 1);
	assert_int_equal(dse_event_emit(p, &ev, 5), 0);
	assert_int_equal(dse_events_drain(&p, 1, 1000), 1);
	assert_int_equal(s.ev[63].seq, 1000000);
	assert_int_equal(dse_events_unsubscribe(h), 0);
	dse_event_producer_fini(p);
}

/* Without a ring every record is lost, and counted. */
static void test_no_ring_loses_and_counts(void **state)
{
	struct dse_event_producer p = {0};
	struct dse_event ev = fdb_ev(DSE_EV_FDB_LEARNED, 1, 1);

	(void)state;
	assert_int_equal(dse_event_emit(&p, &ev, 1), -ENOBUFS);
	assert_int_equal(p.lost, 1);
}

/*
 * Every kind of record comes out as it went in, byte for byte, with its
 * worker, sequence number and time set.
 */
static void test_records_round_trip(void **state)
{
	struct dse_event_producer *p = prod_new(2, 256);
	static struct seen s;
	struct dse_event in[DSE_EV__MAX];
	int h;

	(void)state;
	memset(&s, 0, sizeof(s));
	h = sub_add(&s, DSE_EV_ALL);
	for (unsigned k = 0; k < DSE_EV__MAX; k++) {
		memset(&in[k], 0, sizeof(in[k]));
		in[k].kind = (uint8_t)k;
		in[k].aux = (uint16_t)(k + 1);
		/* Every byte of the union says something, so a short copy shows. */
		for (unsigned b = 0; b < sizeof(in[k].u); b++)
			((uint8_t *)&in[k].u)[b] = (uint8_t)(k * 31 + b);
		assert_int_equal(dse_event_emit(p, &in[k], 1000 + k), 0);
	}
	assert_int_equal(dse_events_drain(&p, 1, 1000), DSE_EV__MAX);
	assert_int_equal(s.n, DSE_EV__MAX);
	for (unsigned k = 0; k < DSE_EV__MAX; k++) {
		assert_int_equal(s.ev[k].kind, k);
		assert_int_equal(s.ev[k].worker, 2);
		assert_int_equal(s.ev[k].seq, k);
		assert_int_equal(s.ev[k].ts_ns, 1000 + k);
		assert_int_equal(s.ev[k].aux, k + 1);
		assert_memory_equal(&s.ev[k].u, &in[k].u, sizeof(in[k].u));
		assert_non_null(dse_event_kind_name(k));
		assert_int_equal(dse_event_kind_find(dse_event_kind_name(k)), k);
	}
	assert_null(dse_event_kind_name(DSE_EV__MAX));
	assert_int_equal(dse_event_kind_find("fdb_nothing"), -ENOENT);
	assert_string_equal(dse_event_close_reason_name(DSE_EV_CLOSE_EXPIRED), "expired");
	assert_string_equal(dse_event_close_reason_name(99), "unknown");
	assert_int_equal(dse_events_unsubscribe(h), 0);
	dse_event_producer_fini(p);
}

/*
 * The records of one key keep their order: the changes of 8 MACs and 8
 * connections, interleaved, drained in small bounded drains while more
 * are made, reach the subscriber in the order each key's were made.
 */
static void test_order_per_key_across_bounded_drains(void **state)
{
	struct dse_event_producer *p = prod_new(1, 128);
	static struct seen s;
	uint32_t next_mac[8] = {0}, next_conn[8] = {0};
	unsigned made = 0, drained = 0;
	int h;

	(void)state;
	memset(&s, 0, sizeof(s));
	h = sub_add(&s, DSE_EV_ALL);
	for (unsigned round = 0; round < 40; round++) {
		for (unsigned i = 0; i < 50; i++, made++) {
			struct dse_event ev;
			unsigned key = (made * 7) % 8;

			if (made % 2) {
				/* A MAC moving from port to port: the port is the change's number.
				 */
				ev = fdb_ev(DSE_EV_FDB_MOVED, (uint8_t)key, (uint16_t)made);
			} else {
				memset(&ev, 0, sizeof(ev));
				ev.kind = DSE_EV_CONN_STATE;
				ev.u.conn_state.id = 100 + key;
				ev.u.conn_state.state = (uint8_t)(made & 0xff);
				ev.u.conn_state.zone = (uint16_t)made;
			}
			assert_int_equal(dse_event_emit(p, &ev, made), 0);
		}
		/* A drain takes at most its budget. */
		for (unsigned d = 0; d < 2; d++) {
			unsigned n = dse_events_drain(&p, 1, 30);

			assert_true(n <= 30);
			drained += n;
		}
	}
	while (drained < made) {
		unsigned n = dse_events_drain(&p, 1, 30);

		assert_true(n > 0 && n <= 30);
		drained += n;
	}
	assert_int_equal(s.n, made);
	assert_int_equal(p->lost, 0);
	for (unsigned i = 0; i < s.n; i++) {
		const struct dse_event *e = &s.ev[i];

		if (e->kind == DSE_EV_FDB_MOVED) {
			unsigned key = e->u.fdb.mac[5];

			assert_true(e->u.fdb.port >= next_mac[key]);
			next_mac[key] = e->u.fdb.port + 1u;
		} else {
			unsigned key = e->u.conn_state.id - 100;

			assert_int_equal(e->kind, DSE_EV_CONN_STATE);
			assert_true(e->u.conn_state.zone >= next_conn[key]);
			next_conn[key] = e->u.conn_state.zone + 1u;
		}
		/* And the worker's sequence numbers have no gap. */
		assert_int_equal(e->seq, i);
	}
	assert_int_equal(dse_events_unsubscribe(h), 0);
	dse_event_producer_fini(p);
}

/* A drain takes from every worker's ring in turn: one busy worker does not starve another. */
static void test_drain_takes_from_every_worker(void **state)
{
	struct dse_event_producer *a = prod_new(0, 1024), *b = prod_new(1, 1024);
	struct dse_event_producer *const both[] = {a, b};
	static struct seen s;
	unsigned from_b = 0;
	int h;

	(void)state;
	memset(&s, 0, sizeof(s));
	h = sub_add(&s, DSE_EV_ALL);
	for (unsigned i = 0; i < 1000; i++) {
		struct dse_event ev = fdb_ev(DSE_EV_FDB_LEARNED, 1, 1);

		assert_int_equal(dse_event_emit(a, &ev, i), 0);
	}
	for (unsigned i = 0; i < 10; i++) {
		struct dse_event ev = fdb_ev(DSE_EV_FDB_LEARNED, 2, 2);

		assert_int_equal(dse_event_emit(b, &ev, i), 0);
	}
	assert_int_equal(dse_events_drain(both, 2, 200), 200);
	for (unsigned i = 0; i < s.n; i++)
		from_b += s.ev[i].worker == 1;
	assert_int_equal(from_b, 10);
	/* One flush per drain, after its records. */
	assert_int_equal(s.flushes, 1);
	assert_int_equal(dse_events_drain(both, 2, 100000), 810);
	assert_int_equal(s.flushes, 2);
	/* A drain of empty rings flushes nobody. */
	assert_int_equal(dse_events_drain(both, 2, 100000), 0);
	assert_int_equal(s.flushes, 2);
	assert_int_equal(dse_events_unsubscribe(h), 0);
	dse_event_producer_fini(a);
	dse_event_producer_fini(b);
}

/*
 * A subscriber gets only the kinds of its mask; the mask the workers read
 * is the union of the subscribers' (a kind nobody wants is not made), and
 * follows changes and unsubscriptions.
 */
static void test_subscribers_get_their_kinds_and_the_mask_is_their_union(void **state)
{
	struct dse_event_producer *p = prod_new(3, 64);
	static struct seen fdb, conn;
	int hf, hc;

	(void)state;
	memset(&fdb, 0, sizeof(fdb));
	memset(&conn, 0, sizeof(conn));
	assert_false(dse_events_wanted(DSE_EV_FDB_LEARNED));
	hf = sub_add(&fdb, DSE_EV_BIT(DSE_EV_FDB_LEARNED) | DSE_EV_BIT(DSE_EV_FDB_AGED));
	hc = sub_add(&conn, DSE_EV_BIT(DSE_EV_CONN_CLOSED));
	assert_true(dse_events_wanted(DSE_EV_FDB_LEARNED));
	assert_true(dse_events_wanted(DSE_EV_CONN_CLOSED));
	assert_false(dse_events_wanted(DSE_EV_DENY));
	for (unsigned k = 0; k < DSE_EV__MAX; k++) {
		struct dse_event ev = fdb_ev(k, 1, 1);

		assert_int_equal(dse_event_emit(p, &ev, k), 0);
	}
	assert_int_equal(dse_events_drain(&p, 1, 100), DSE_EV__MAX);
	assert_int_equal(fdb.n, 2);
	assert_int_equal(fdb.ev[0].kind, DSE_EV_FDB_LEARNED);
	assert_int_equal(fdb.ev[1].kind, DSE_EV_FDB_AGED);
	assert_int_equal(conn.n, 1);
	assert_int_equal(conn.ev[0].kind, DSE_EV_CONN_CLOSED);
	assert_int_equal(dse_events_set_mask(hc, DSE_EV_BIT(DSE_EV_DENY)), 0);
	assert_false(dse_events_wanted(DSE_EV_CONN_CLOSED));
	assert_true(dse_events_wanted(DSE_EV_DENY));
	assert_int_equal(dse_events_set_mask(hc, 0), -EINVAL);
	assert_int_equal(dse_events_unsubscribe(hf), 0);
	assert_int_equal(dse_events_unsubscribe(hf), -ENOENT);
	assert_false(dse_events_wanted(DSE_EV_FDB_LEARNED));
	assert_int_equal(dse_events_unsubscribe(hc), 0);
	assert_int_equal(atomic_load(&dse_events_mask), 0);
	dse_event_producer_fini(p);
}

/* The registry is bounded, refuses empty subscriptions, and publishes control records at once. */
static void test_registry_limits_and_publish(void **state)
{
	static struct seen s;
	int h[DSE_EVENTS_MAX_SUBS];
	struct dse_event ev = fdb_ev(DSE_EV_PORT_LINK, 0, 0);

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(dse_events_subscribe(&(struct dse_event_sub){.mask = 0, .fn = seen_fn}),
			 -EINVAL);
	assert_int_equal(dse_events_subscribe(&(struct dse_event_sub){.mask = DSE_EV_ALL}),
			 -EINVAL);
	for (unsigned i = 0; i < DSE_EVENTS_MAX_SUBS; i++)
		h[i] = sub_add(&s, DSE_EV_BIT(DSE_EV_PORT_LINK));
	assert_int_equal(dse_events_subscribe(
			     &(struct dse_event_sub){.mask = DSE_EV_ALL, .fn = seen_fn, .arg = &s}),
			 -ENOSPC);
	dse_events_publish(&ev, 42);
	assert_int_equal(s.n, DSE_EVENTS_MAX_SUBS);
	assert_int_equal(s.ev[0].worker, DSE_EVENT_WORKER_CONTROL);
	assert_int_equal(s.ev[0].ts_ns, 42);
	assert_int_equal(s.flushes, DSE_EVENTS_MAX_SUBS);
	for (unsigned i = 0; i < DSE_EVENTS_MAX_SUBS; i++)
		assert_int_equal(dse_events_unsubscribe(h[i]), 0);
	/* Ring sizes outside 64 .. 1M or not a power of two are refused. */
	struct dse_event_producer p;

	assert_int_equal(dse_event_producer_init(&p, 9, 100, 0), -EINVAL);
	assert_int_equal(dse_event_producer_init(&p, 9, 32, 0), -EINVAL);
	assert_int_equal(dse_event_producer_init(&p, 9, 1u << 21, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_ring_counts_lost_and_never_blocks),
	    cmocka_unit_test(test_no_ring_loses_and_counts),
	    cmocka_unit_test(test_records_round_trip),
	    cmocka_unit_test(test_order_per_key_across_bounded_drains),
	    cmocka_unit_test(test_drain_takes_from_every_worker),
	    cmocka_unit_test(test_subscribers_get_their_kinds_and_the_mask_is_their_union),
	    cmocka_unit_test(test_registry_limits_and_publish),
	};

	return cmocka_run_group_tests(tests, eal_setup, eal_teardown);
}
