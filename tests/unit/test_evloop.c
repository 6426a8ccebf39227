/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the event loop (evloop.c): timers (order, time, cancel,
 * many of them), fd watchers on pipes and socket pairs, changes made from
 * inside callbacks, prepare hooks.  Times are real (CLOCK_MONOTONIC): a
 * timer must never fire early and must fire within SLACK_MS of its time;
 * every wait is the loop's own, bounded by a deadline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"

/*
 * How late a timer may fire on a busy machine under the sanitizers: 20 ms
 * was exceeded with two other processes on the two cores.  The bound is
 * there to catch a timer left waiting for the next event (a turn may wait
 * a second), not to measure the scheduler; early firing and order are
 * checked exactly.
 */
#define SLACK_MS 200

static uint64_t now_ms(void)
{
	return dse_loop_now_ns() / 1000000;
}

/* Milliseconds since 't0_ns', as a fraction. */
static double since_ms(uint64_t t0_ns)
{
	return (double)(dse_loop_now_ns() - t0_ns) / 1e6;
}

/* Runs 'loop' until '*count' reaches 'want' or 'deadline_ms' pass.  Returns the count. */
static unsigned run_until(struct dse_loop *loop, const unsigned *count, unsigned want,
			  unsigned deadline_ms)
{
	uint64_t end = now_ms() + deadline_ms;

	while (*count < want && now_ms() < end)
		assert_true(dse_loop_run_once(loop, (int)(end - now_ms())) >= 0);
	return *count;
}

/* Runs 'loop' for 'ms' milliseconds, whatever happens. */
static void run_for(struct dse_loop *loop, unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (now_ms() < end)
		assert_true(dse_loop_run_once(loop, (int)(end - now_ms())) >= 0);
}

static int loop_setup(void **state)
{
	*state = dse_loop_new();
	return *state ? 0 : -1;
}

static int loop_teardown(void **state)
{
	dse_loop_free(*state);
	return 0;
}

/* ---- timers ---- */

/* What the timers of one test record. */
struct fired {
	unsigned n;
	int order[64];       /* the tag of each timer, in the order they ran */
	double at_ms[64];    /* when each ran, from t0 */
	uint64_t t0_ns;
	struct dse_loop *loop;
	uint64_t victim;     /* a timer one callback cancels */
	int cancel_result;   /* what that cancel returned */
	uint64_t self;       /* a timer that cancels itself */
};

/* A timer's tag: which struct fired it writes to and what it is called. */
struct tag {
	struct fired *f;
	int name;
};

static void on_record(struct dse_loop *loop, void *arg)
{
	struct tag *t = arg;

	(void)loop;
	t->f->order[t->f->n] = t->name;
	t->f->at_ms[t->f->n] = since_ms(t->f->t0_ns);
	t->f->n++;
}

/*
 * Timers run in the order of their time, ties in the order they were
 * added, never early and at most SLACK_MS late.
 * Steps: add timers of 30, 10, 20, 10 (a second one) and 0 ms; run until
 * five ran.
 * Verify: the order is 0, 10, 10 (first added first), 20, 30; each ran
 * no earlier than its delay and within SLACK_MS of it; none is left.
 */
static void test_timers_fire_in_order_and_on_time(void **state)
{
	struct dse_loop *loop = *state;
	struct fired f = {.t0_ns = dse_loop_now_ns()};
	struct tag tags[] = {{&f, 30}, {&f, 10}, {&f, 20}, {&f, 11}, {&f, 0}};
	const uint64_t delay[] = {30, 10, 20, 10, 0};
	const int want[] = {0, 10, 11, 20, 30};
	const double want_ms[] = {0, 10, 10, 20, 30};

	for (unsigned i = 0; i < 5; i++)
		assert_true(dse_loop_timer_add(loop, delay[i], on_record, &tags[i]) != 0);
	assert_int_equal(dse_loop_timer_count(loop), 5);
	assert_int_equal(run_until(loop, &f.n, 5, 2000), 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(f.order[i], want[i]);
		if (f.at_ms[i] < want_ms[i] || f.at_ms[i] > want_ms[i] + SLACK_MS)
			fail_msg("timer %d ran at %.2f ms", want[i], f.at_ms[i]);
	}
	assert_int_equal(dse_loop_timer_count(loop), 0);
}

static void on_cancel_victim(struct dse_loop *loop, void *arg)
{
	struct tag *t = arg;

	t->f->cancel_result = dse_loop_timer_cancel(loop, t->f->victim);
	on_record(loop, arg);
}

static void on_cancel_self(struct dse_loop *loop, void *arg)
{
	struct tag *t = arg;

	/* A timer is gone once it runs: cancelling itself is -ENOENT and harmless. */
	assert_int_equal(dse_loop_timer_cancel(loop, t->f->self), -ENOENT);
	on_record(loop, arg);
}

/*
 * A timer cancelled before its time never runs, also when another
 * timer's callback cancels it; a timer cancelling itself is harmless.
 * Steps: add A (5 ms), B (40 ms), C (10 ms, cancels B), D (15 ms, cancels
 * itself), E (20 ms); cancel A at once, twice; cancel id 0; run 80 ms.
 * Verify: the first cancel of A is 0 and the second -ENOENT, id 0 is
 * -ENOENT; C, D and E ran in that order, A and B never; C's cancel of B
 * returned 0; no timer is left.
 */
static void test_timer_cancel_also_from_a_callback(void **state)
{
	struct dse_loop *loop = *state;
	struct fired f = {.t0_ns = dse_loop_now_ns(), .loop = loop};
	struct tag a = {&f, 'A'}, b = {&f, 'B'}, c = {&f, 'C'}, d = {&f, 'D'}, e = {&f, 'E'};
	uint64_t ida;

	f.cancel_result = 1;
	ida = dse_loop_timer_add(loop, 5, on_record, &a);
	f.victim = dse_loop_timer_add(loop, 40, on_record, &b);
	assert_true(dse_loop_timer_add(loop, 10, on_cancel_victim, &c) != 0);
	f.self = dse_loop_timer_add(loop, 15, on_cancel_self, &d);
	assert_true(dse_loop_timer_add(loop, 20, on_record, &e) != 0);
	assert_int_equal(dse_loop_timer_cancel(loop, ida), 0);
	assert_int_equal(dse_loop_timer_cancel(loop, ida), -ENOENT);
	assert_int_equal(dse_loop_timer_cancel(loop, 0), -ENOENT);
	run_for(loop, 80);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.order[0], 'C');
	assert_int_equal(f.order[1], 'D');
	assert_int_equal(f.order[2], 'E');
	assert_int_equal(f.cancel_result, 0);
	assert_int_equal(dse_loop_timer_count(loop), 0);
}

/*
 * The id of a timer that ran or was cancelled never cancels the timer that
 * took its slot.
 * Steps: add X and cancel it; add Y (it takes X's slot); cancel X's id
 * again; run until Y ran.
 * Verify: Y's id differs from X's, the cancel is -ENOENT, Y ran.
 */
static void test_timer_stale_id_leaves_a_new_timer_alone(void **state)
{
	struct dse_loop *loop = *state;
	struct fired f = {.t0_ns = dse_loop_now_ns()};
	struct tag x = {&f, 'X'}, y = {&f, 'Y'};
	uint64_t idx, idy;

	idx = dse_loop_timer_add(loop, 1, on_record, &x);
	assert_int_equal(dse_loop_timer_cancel(loop, idx), 0);
	idy = dse_loop_timer_add(loop, 1, on_record, &y);
	assert_true(idy != 0 && idy != idx);
	assert_int_equal(dse_loop_timer_cancel(loop, idx), -ENOENT);
	assert_int_equal(run_until(loop, &f.n, 1, 1000), 1);
	assert_int_equal(f.order[0], 'Y');
}

/* A timer that adds itself again with no delay, 'left' more times. */
struct again {
	unsigned runs;
	unsigned left;
};

static void on_again(struct dse_loop *loop, void *arg)
{
	struct again *a = arg;

	a->runs++;
	if (a->left-- > 0)
		assert_true(dse_loop_timer_add(loop, 0, on_again, a) != 0);
}

/*
 * A timer added from a timer's callback runs on a later turn, so a
 * callback that adds one of 0 ms can not hold a turn forever.
 * Steps: a timer of 0 ms that adds itself again, 4 more times; run turns
 * without waiting.
 * Verify: each turn runs exactly one callback, five turns run five, the
 * sixth none.
 */
static void test_timer_added_in_a_callback_runs_on_a_later_turn(void **state)
{
	struct dse_loop *loop = *state;
	struct again a = {.left = 4};

	assert_true(dse_loop_timer_add(loop, 0, on_again, &a) != 0);
	for (unsigned i = 1; i <= 5; i++) {
		assert_int_equal(dse_loop_run_once(loop, 1000), 1);
		assert_int_equal(a.runs, i);
	}
	assert_int_equal(dse_loop_run_once(loop, 0), 0);
	assert_int_equal(a.runs, 5);
}

/* What the many timers of test_many_timers record. */
#define MANY 10000
struct many {
	unsigned fired;
	unsigned bad_order;     /* fires before an earlier-due one */
	unsigned early;         /* fires before their time */
	unsigned late;          /* fires more than SLACK_MS after it */
	unsigned cancelled_ran; /* cancelled timers that ran anyway */
	uint64_t last_due_ns;
	uint64_t added_ns[MANY];
	uint64_t delay_ms[MANY];
	bool cancelled[MANY];
	unsigned idx[MANY];
};

static struct many many;

static void on_many(struct dse_loop *loop, void *arg)
{
	unsigned i = *(unsigned *)arg;
	uint64_t now = dse_loop_now_ns(), due = many.added_ns[i] + many.delay_ms[i] * 1000000;

	(void)loop;
	many.fired++;
	if (many.cancelled[i])
		many.cancelled_ran++;
	if (now < due)
		many.early++;
	if (now > due + SLACK_MS * 1000000ull)
		many.late++;
	/* 'added_ns' is read just before the loop reads its own clock: allow a little. */
	if (due + 5000000 < many.last_due_ns)
		many.bad_order++;
	if (due > many.last_due_ns)
		many.last_due_ns = due;
}

/*
 * Thousands of timers stay cheap and exact: they run in the order of
 * their time, each on time, and the cancelled ones never.
 * Steps: add 10,000 timers of 0..49 ms (a fixed pseudo-random spread),
 * cancel every third; run until the loop holds none (deadline 5 s).
 * Verify: the 6,667 others ran, none early, none more than SLACK_MS late,
 * none before one due earlier, no cancelled one; the count is 0.
 */
static void test_many_timers(void **state)
{
	struct dse_loop *loop = *state;
	uint64_t id[MANY], end = now_ms() + 5000;
	unsigned want = 0;

	memset(&many, 0, sizeof(many));
	for (unsigned i = 0; i < MANY; i++) {
		many.idx[i] = i;
		many.delay_ms[i] = (i * 7919u) % 50;
		many.added_ns[i] = dse_loop_now_ns();
		id[i] = dse_loop_timer_add(loop, many.delay_ms[i], on_many, &many.idx[i]);
		assert_true(id[i] != 0);
	}
	for (unsigned i = 0; i < MANY; i++) {
		if (i % 3 == 0) {
			assert_int_equal(dse_loop_timer_cancel(loop, id[i]), 0);
			many.cancelled[i] = true;
		} else {
			want++;
		}
	}
	assert_int_equal(dse_loop_timer_count(loop), want);
	while (dse_loop_timer_count(loop) > 0 && now_ms() < end)
		assert_true(dse_loop_run_once(loop, (int)(end - now_ms())) >= 0);
	assert_int_equal(many.fired, want);
	assert_int_equal(many.cancelled_ran, 0);
	assert_int_equal(many.early, 0);
	assert_int_equal(many.late, 0);
	assert_int_equal(many.bad_order, 0);
	assert_int_equal(dse_loop_timer_count(loop), 0);
}

/*
 * A turn waits for max_wait_ms at the most, and less when a timer is due
 * sooner.
 * Steps: run one turn of an empty loop with 30 ms; add a timer of 20 ms
 * and run one turn with 1000 ms.
 * Verify: the first returns 0 after 30..30+SLACK_MS ms; the second
 * returns 1 (the timer) after 20..20+SLACK_MS ms.
 */
static void test_run_once_waits_for_max_wait_or_the_next_timer(void **state)
{
	struct dse_loop *loop = *state;
	struct fired f = {0};
	struct tag t = {&f, 1};
	uint64_t t0 = dse_loop_now_ns();
	double ms;

	assert_int_equal(dse_loop_run_once(loop, 30), 0);
	ms = since_ms(t0);
	if (ms < 30 || ms > 30 + SLACK_MS)
		fail_msg("an empty turn of 30 ms took %.2f ms", ms);
	t0 = f.t0_ns = dse_loop_now_ns();
	assert_true(dse_loop_timer_add(loop, 20, on_record, &t) != 0);
	assert_int_equal(dse_loop_run_once(loop, 1000), 1);
	ms = since_ms(t0);
	if (ms < 20 || ms > 20 + SLACK_MS)
		fail_msg("a turn with a timer of 20 ms took %.2f ms", ms);
}

/* ---- fd watchers ---- */

/* What the watchers of one test record. */
struct seen {
	unsigned n;
	int fd[16];
	unsigned events[16];
	struct dse_loop *loop;
	int reader;    /* an fd a callback reads a byte from */
	int timer_seq; /* n when the timer of the turn ran (-1: not yet) */
};

static void on_seen(struct dse_loop *loop, int fd, unsigned events, void *arg)
{
	struct seen *s = arg;
	char b;

	(void)loop;
	s->fd[s->n] = fd;
	s->events[s->n] = events;
	s->n++;
	if (fd == s->reader && (events & DSE_LOOP_READ))
		assert_true(read(fd, &b, 1) >= 0);
}

static void on_seen_timer(struct dse_loop *loop, void *arg)
{
	struct seen *s = arg;

	(void)loop;
	s->timer_seq = (int)s->n;
}

/*
 * Readiness reaches the watcher with the events it asked for, fds come
 * before the timers of the same turn, and changed or removed watchers hear
 * nothing more.
 * Steps: a pipe with a READ watcher on its read end; run a turn of 0 ms;
 * write a byte, add a timer of 0 ms, run a turn; change the watcher to no
 * events, write, run 30 ms; watch the write end for WRITE, run a turn;
 * remove both, write, run 30 ms; remove again.
 * Verify: nothing in the first turn; then READ on the read end, before the
 * timer; then nothing while it asks for nothing; then WRITE on the write
 * end; nothing after the removal; the second removal is -ENOENT; adding
 * an fd twice is -EEXIST, bad events -EINVAL.
 */
static void test_fd_readiness_is_delivered(void **state)
{
	struct dse_loop *loop = *state;
	struct seen s = {.timer_seq = -1};
	int p[2];

	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	s.reader = p[0];
	assert_int_equal(dse_loop_fd_add(loop, p[0], DSE_LOOP_READ, on_seen, &s), 0);
	assert_int_equal(dse_loop_fd_add(loop, p[0], DSE_LOOP_READ, on_seen, &s), -EEXIST);
	assert_int_equal(dse_loop_fd_add(loop, p[1], 0x80, on_seen, &s), -EINVAL);
	assert_int_equal(dse_loop_run_once(loop, 0), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_true(dse_loop_timer_add(loop, 0, on_seen_timer, &s) != 0);
	assert_int_equal(dse_loop_run_once(loop, 1000), 2);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.fd[0], p[0]);
	assert_int_equal(s.events[0], DSE_LOOP_READ);
	assert_int_equal(s.timer_seq, 1);

	assert_int_equal(dse_loop_fd_modify(loop, p[0], 0), 0);
	assert_int_equal(write(p[1], "y", 1), 1);
	run_for(loop, 30);
	assert_int_equal(s.n, 1);

	assert_int_equal(dse_loop_fd_add(loop, p[1], DSE_LOOP_WRITE, on_seen, &s), 0);
	assert_int_equal(dse_loop_run_once(loop, 1000), 1);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.fd[1], p[1]);
	assert_int_equal(s.events[1], DSE_LOOP_WRITE);

	assert_int_equal(dse_loop_fd_remove(loop, p[0]), 0);
	assert_int_equal(dse_loop_fd_remove(loop, p[1]), 0);
	assert_int_equal(write(p[1], "z", 1), 1);
	run_for(loop, 30);
	assert_int_equal(s.n, 2);
	assert_int_equal(dse_loop_fd_remove(loop, p[0]), -ENOENT);
	assert_int_equal(dse_loop_fd_modify(loop, p[0], DSE_LOOP_READ), -ENOENT);
	close(p[0]);
	close(p[1]);
}

/*
 * A peer that goes away is heard as an error (hang-up) with the read.
 * Steps: a socket pair, a READ watcher on one end; close the other; run a
 * turn.
 * Verify: the callback gets READ and ERROR.
 */
static void test_fd_hangup_is_delivered(void **state)
{
	struct dse_loop *loop = *state;
	struct seen s = {.reader = -1};
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(dse_loop_fd_add(loop, sv[0], DSE_LOOP_READ, on_seen, &s), 0);
	close(sv[1]);
	assert_int_equal(dse_loop_run_once(loop, 1000), 1);
	assert_int_equal(s.events[0], DSE_LOOP_READ | DSE_LOOP_ERROR);
	assert_int_equal(dse_loop_fd_remove(loop, sv[0]), 0);
	close(sv[0]);
}

/* What the callbacks of test_removing_watchers_inside_callbacks_is_safe share. */
struct pair_seen {
	struct seen s;
	int ends[2];   /* the two watched fds; whichever runs first removes both */
	int new_rd;    /* the pipe that took the other's number */
	int new_wr;
};

/*
 * Removes its own watcher and the other one's (closing the other's fd),
 * then opens a pipe, which takes the other's number at once, makes it
 * readable and watches it: all in the dispatch that holds the other's
 * event.
 */
static void on_remove_both(struct dse_loop *loop, int fd, unsigned events, void *arg)
{
	struct pair_seen *ps = arg;
	int other = fd == ps->ends[0] ? ps->ends[1] : ps->ends[0], p[2];

	on_seen(loop, fd, events, &ps->s);
	assert_int_equal(dse_loop_fd_remove(loop, fd), 0);
	assert_int_equal(dse_loop_fd_remove(loop, other), 0);
	close(other);
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(p[0], other);
	assert_int_equal(write(p[1], "n", 1), 1);
	assert_int_equal(dse_loop_fd_add(loop, p[0], DSE_LOOP_READ, on_seen, &ps->s), 0);
	ps->new_rd = p[0];
	ps->new_wr = p[1];
}

/*
 * A callback may remove its own watcher and another one whose event is in
 * the same dispatch, and a new watcher on the reused number does not get
 * the old one's event.
 * Steps: two socket pairs, both readable before their watchers are added
 * (one epoll_wait returns both); the first callback to run removes both
 * watchers, closes the other's fd, and watches a new readable pipe that
 * took its number; run one turn, then another.
 * Verify: the first turn runs one callback (the other's event of that
 * dispatch is dropped, the new watcher hears nothing of it); the second
 * turn delivers the new pipe's own READ; ASan sees no use after free.
 */
static void test_removing_watchers_inside_callbacks_is_safe(void **state)
{
	struct dse_loop *loop = *state;
	struct pair_seen ps = {.s = {.reader = -1}};
	int a[2], b[2], first;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
	assert_int_equal(write(a[1], "a", 1), 1);
	assert_int_equal(write(b[1], "b", 1), 1);
	ps.ends[0] = a[0];
	ps.ends[1] = b[0];
	assert_int_equal(dse_loop_fd_add(loop, a[0], DSE_LOOP_READ, on_remove_both, &ps), 0);
	assert_int_equal(dse_loop_fd_add(loop, b[0], DSE_LOOP_READ, on_remove_both, &ps), 0);
	assert_int_equal(dse_loop_run_once(loop, 1000), 1);
	assert_int_equal(ps.s.n, 1);
	first = ps.s.fd[0];
	assert_true(first == a[0] || first == b[0]);
	assert_int_equal(dse_loop_run_once(loop, 1000), 1);
	assert_int_equal(ps.s.n, 2);
	assert_int_equal(ps.s.fd[1], ps.new_rd);
	assert_int_equal(ps.s.events[1], DSE_LOOP_READ);
	assert_int_equal(dse_loop_fd_remove(loop, ps.new_rd), 0);
	close(ps.new_rd);
	close(ps.new_wr);
	close(first);
	close(a[1]);
	close(b[1]);
}

/* Removes its own watcher and closes its fd. */
static void on_remove_self(struct dse_loop *loop, int fd, unsigned events, void *arg)
{
	on_seen(loop, fd, events, arg);
	assert_int_equal(dse_loop_fd_remove(loop, fd), 0);
	close(fd);
}

/*
 * Every watcher of a dispatch may remove itself and close its fd.
 * Steps: eight readable socket pairs whose callbacks remove their own
 * watcher and close their fd; run one turn, then a turn of 30 ms.
 * Verify: the first turn runs all eight, the second none.
 */
static void test_watchers_removing_themselves_in_one_dispatch(void **state)
{
	struct dse_loop *loop = *state;
	struct seen s = {.reader = -1};
	int sv[8][2];

	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv[i]), 0);
		assert_int_equal(write(sv[i][1], "x", 1), 1);
		assert_int_equal(dse_loop_fd_add(loop, sv[i][0], DSE_LOOP_READ, on_remove_self, &s),
				 0);
	}
	assert_int_equal(dse_loop_run_once(loop, 1000), 8);
	assert_int_equal(dse_loop_run_once(loop, 30), 0);
	assert_int_equal(s.n, 8);
	for (unsigned i = 0; i < 8; i++)
		close(sv[i][1]);
}

/* ---- prepare hooks and run ---- */

struct hooked {
	unsigned runs;
	int id;
	unsigned remove_after; /* the hook removes itself on this run */
};

static int on_prepare(struct dse_loop *loop, void *arg)
{
	struct hooked *h = arg;

	if (++h->runs == h->remove_after)
		assert_int_equal(dse_loop_prepare_remove(loop, h->id), 0);
	return 15;
}

/*
 * A prepare hook runs at the start of each turn and limits its wait; it
 * may remove itself.
 * Steps: a hook that returns 15 ms and removes itself on its third run;
 * run a turn without a limit; run two more; run a turn of 30 ms.
 * Verify: the first turn ends with nothing after 15..15+SLACK_MS ms; the
 * hook ran 3 times and not in the fourth turn, which waited its 30 ms;
 * removing it again is -ENOENT.
 */
static void test_prepare_hook_limits_the_wait_and_may_remove_itself(void **state)
{
	struct dse_loop *loop = *state;
	struct hooked h = {.remove_after = 3};
	uint64_t t0 = dse_loop_now_ns();
	double ms;

	h.id = dse_loop_prepare_add(loop, on_prepare, &h);
	assert_true(h.id > 0);
	assert_int_equal(dse_loop_run_once(loop, -1), 0);
	ms = since_ms(t0);
	if (ms < 15 || ms > 15 + SLACK_MS)
		fail_msg("the hook's 15 ms turn took %.2f ms", ms);
	assert_int_equal(dse_loop_run_once(loop, -1), 0);
	assert_int_equal(dse_loop_run_once(loop, -1), 0);
	assert_int_equal(h.runs, 3);
	t0 = dse_loop_now_ns();
	assert_int_equal(dse_loop_run_once(loop, 30), 0);
	assert_true(since_ms(t0) >= 30);
	assert_int_equal(h.runs, 3);
	assert_int_equal(dse_loop_prepare_remove(loop, h.id), -ENOENT);
}

struct quitter {
	bool quit;
	unsigned runs;
};

static void on_quit_later(struct dse_loop *loop, void *arg)
{
	struct quitter *q = arg;

	if (++q->runs == 3)
		q->quit = true;
	else
		assert_true(dse_loop_timer_add(loop, 1, on_quit_later, q) != 0);
}

/*
 * dse_loop_run() runs turns until a callback sets its flag.
 * Steps: a timer that adds itself again twice and then sets the flag.
 * Verify: dse_loop_run() returns 0 after the third run.
 */
static void test_run_until_quit(void **state)
{
	struct dse_loop *loop = *state;
	struct quitter q = {0};

	assert_true(dse_loop_timer_add(loop, 1, on_quit_later, &q) != 0);
	assert_int_equal(dse_loop_run(loop, &q.quit), 0);
	assert_int_equal(q.runs, 3);
}

#define T(name) cmocka_unit_test_setup_teardown(name, loop_setup, loop_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_timers_fire_in_order_and_on_time),
		T(test_timer_cancel_also_from_a_callback),
		T(test_timer_stale_id_leaves_a_new_timer_alone),
		T(test_timer_added_in_a_callback_runs_on_a_later_turn),
		T(test_many_timers),
		T(test_run_once_waits_for_max_wait_or_the_next_timer),
		T(test_fd_readiness_is_delivered),
		T(test_fd_hangup_is_delivered),
		T(test_removing_watchers_inside_callbacks_is_safe),
		T(test_watchers_removing_themselves_in_one_dispatch),
		T(test_prepare_hook_limits_the_wait_and_may_remove_itself),
		T(test_run_until_quit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
