/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The loop of evloop.h.  How a dispatch stays safe while callbacks change
 * the loop under it:
 *
 * - Watchers live in a table indexed by fd, and every watcher gets a new
 *   generation number when it is added.  The epoll event carries the fd
 *   and that generation, never a pointer: an event whose watcher was
 *   removed (or removed and added again, for the same number) finds
 *   another generation in the table and is dropped.  The table may grow
 *   during a callback, so nothing keeps a pointer into it across one.
 * - Timers live in slots; the heap orders slot numbers by (due, seq).  A
 *   timer's id is its slot and the slot's generation, which changes when
 *   the timer runs or is cancelled, so an old id never cancels a newer
 *   timer in the same slot.  A timer leaves the heap before its callback
 *   runs, and a turn runs only timers older than the turn (seq), so a
 *   callback that adds a timer of 0 ms can not keep the turn going.
 * - Prepare hooks removed during a turn are only marked, and compacted at
 *   the start of the next one.
 */
#include "evloop.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* Events taken from epoll in one wait; the rest come on the next turn (level triggered). */
#define MAX_EVENTS 64
/* A free timer slot's 'pos' when no free slot follows it. */
#define NO_SLOT UINT32_MAX

/* The watcher of one fd; 'gen' 0 is a free entry. */
struct watcher {
	dse_loop_fd_fn *fn;
	void *arg;
	unsigned events;
	uint32_t gen;
};

/*
 * One timer slot.  While armed, 'pos' is its index in the heap; while
 * free, the next free slot.  'gen' is the generation of the timer it holds
 * (or of the next one, while free).
 */
struct timer {
	uint64_t due_ns;
	uint64_t seq; /* order of adding: ties of 'due_ns' run in this order */
	dse_loop_timer_fn *fn;
	void *arg;
	uint32_t gen;
	uint32_t pos;
	bool armed;
};

/* A prepare hook; 'fn' NULL once removed. */
struct hook {
	int id;
	dse_loop_prepare_fn *fn;
	void *arg;
};

struct dse_loop {
	int epfd;
	struct watcher *w; /* indexed by fd */
	unsigned n_w;
	uint32_t w_gen; /* the generation of the last watcher added */
	struct timer *t;
	uint32_t n_t;    /* slots in use or on the free list */
	uint32_t cap_t;  /* slots allocated; 'heap' has as many entries */
	uint32_t free_t; /* the first free slot, or NO_SLOT */
	uint32_t *heap;  /* armed slots, a binary min-heap by (due_ns, seq) */
	uint32_t heap_len;
	uint64_t seq;
	struct hook *hooks;
	unsigned n_hooks;
	unsigned cap_hooks;
	int hook_id;     /* the id of the last hook added */
	bool hooks_dead; /* some hook was removed: compact before the next turn */
};

uint64_t dse_loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct dse_loop *dse_loop_new(void)
{
	struct dse_loop *loop = calloc(1, sizeof(*loop));

	if (loop == NULL)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	loop->free_t = NO_SLOT;
	return loop;
}

void dse_loop_free(struct dse_loop *loop)
{
	if (loop == NULL)
		return;
	close(loop->epfd);
	free(loop->w);
	free(loop->t);
	free(loop->heap);
	free(loop->hooks);
	free(loop);
}

/* ---- watchers ---- */

static uint32_t epoll_events(unsigned events)
{
	return ((events & DSE_LOOP_READ) ? EPOLLIN : 0) |
	       ((events & DSE_LOOP_WRITE) ? EPOLLOUT : 0);
}

static unsigned loop_events(uint32_t ev)
{
	return ((ev & EPOLLIN) ? DSE_LOOP_READ : 0) | ((ev & EPOLLOUT) ? DSE_LOOP_WRITE : 0) |
	       ((ev & (EPOLLERR | EPOLLHUP)) ? DSE_LOOP_ERROR : 0);
}

/* The watcher of 'fd', or NULL. */
static struct watcher *watcher_of(struct dse_loop *loop, int fd)
{
	if (fd < 0 || (unsigned)fd >= loop->n_w || loop->w[fd].gen == 0)
		return NULL;
	return &loop->w[fd];
}

/* Grows the watcher table to hold 'fd'.  Returns 0 or -ENOMEM. */
static int watchers_reserve(struct dse_loop *loop, int fd)
{
	unsigned n = loop->n_w ? loop->n_w : 64;
	struct watcher *p;

	if ((unsigned)fd < loop->n_w)
		return 0;
	while (n <= (unsigned)fd)
		n *= 2;
	p = realloc(loop->w, n * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	for (unsigned i = loop->n_w; i < n; i++)
		p[i] = (struct watcher){0};
	loop->w = p;
	loop->n_w = n;
	return 0;
}

/* The epoll event of the watcher of 'fd': its fd and generation, no pointer. */
static struct epoll_event watcher_event(const struct watcher *w, int fd)
{
	return (struct epoll_event){.events = epoll_events(w->events),
				    .data.u64 = ((uint64_t)w->gen << 32) | (uint32_t)fd};
}

int dse_loop_fd_add(struct dse_loop *loop, int fd, unsigned events, dse_loop_fd_fn *fn,
		    void *arg)
{
	struct epoll_event ev;
	struct watcher *w;
	int r;

	if (fd < 0 || fn == NULL || (events & ~(DSE_LOOP_READ | DSE_LOOP_WRITE)))
		return -EINVAL;
	if (watcher_of(loop, fd))
		return -EEXIST;
	r = watchers_reserve(loop, fd);
	if (r < 0)
		return r;
	w = &loop->w[fd];
	if (++loop->w_gen == 0)
		loop->w_gen = 1;
	*w = (struct watcher){.fn = fn, .arg = arg, .events = events, .gen = loop->w_gen};
	ev = watcher_event(w, fd);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		*w = (struct watcher){0};
		return r;
	}
	return 0;
}

int dse_loop_fd_modify(struct dse_loop *loop, int fd, unsigned events)
{
	struct watcher *w = watcher_of(loop, fd);
	struct epoll_event ev;

	if (events & ~(DSE_LOOP_READ | DSE_LOOP_WRITE))
		return -EINVAL;
	if (w == NULL)
		return -ENOENT;
	if (w->events == events)
		return 0;
	w->events = events;
	ev = watcher_event(w, fd);
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int dse_loop_fd_remove(struct dse_loop *loop, int fd)
{
	struct watcher *w = watcher_of(loop, fd);

	if (w == NULL)
		return -ENOENT;
	/* A closed fd left the epoll set with its last reference: EBADF or ENOENT then. */
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	*w = (struct watcher){0};
	return 0;
}

/* Runs the callback of one epoll event, if its watcher still wants it.  Returns 1 if it ran. */
static int watcher_dispatch(struct dse_loop *loop, const struct epoll_event *ev)
{
	int fd = (int)(uint32_t)ev->data.u64;
	uint32_t gen = (uint32_t)(ev->data.u64 >> 32);
	struct watcher *w = watcher_of(loop, fd);
	unsigned ready;

	if (w == NULL || w->gen != gen)
		return 0;
	ready = loop_events(ev->events) & (w->events | DSE_LOOP_ERROR);
	if (ready == 0)
		return 0;
	w->fn(loop, fd, ready, w->arg);
	return 1;
}

/* ---- timers ---- */

static bool timer_before(const struct dse_loop *loop, uint32_t a, uint32_t b)
{
	const struct timer *x = &loop->t[a], *y = &loop->t[b];

	return x->due_ns < y->due_ns || (x->due_ns == y->due_ns && x->seq < y->seq);
}

/* Puts slot 'slot' at heap index 'i' and records it there. */
static void heap_set(struct dse_loop *loop, uint32_t i, uint32_t slot)
{
	loop->heap[i] = slot;
	loop->t[slot].pos = i;
}

static void heap_up(struct dse_loop *loop, uint32_t i)
{
	uint32_t slot = loop->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!timer_before(loop, slot, loop->heap[parent]))
			break;
		heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	heap_set(loop, i, slot);
}

static void heap_down(struct dse_loop *loop, uint32_t i)
{
	uint32_t slot = loop->heap[i];

	for (;;) {
		uint32_t child = 2 * i + 1;

		if (child >= loop->heap_len)
			break;
		if (child + 1 < loop->heap_len &&
		    timer_before(loop, loop->heap[child + 1], loop->heap[child]))
			child++;
		if (!timer_before(loop, loop->heap[child], slot))
			break;
		heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	heap_set(loop, i, slot);
}

/* Takes the timer at heap index 'i' out of the heap. */
static void heap_remove(struct dse_loop *loop, uint32_t i)
{
	uint32_t last = loop->heap[--loop->heap_len];

	if (i == loop->heap_len)
		return;
	heap_set(loop, i, last);
	/* The moved timer may belong above or below its new place. */
	heap_up(loop, i);
	heap_down(loop, loop->t[last].pos);
}

/* Doubles the timer slots and the heap.  Returns 0 or -ENOMEM. */
static int timers_grow(struct dse_loop *loop)
{
	uint32_t cap = loop->cap_t ? loop->cap_t * 2 : 64;
	struct timer *t;
	uint32_t *heap;

	if (loop->cap_t >= NO_SLOT / 2)
		return -ENOMEM;
	t = realloc(loop->t, cap * sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	loop->t = t;
	heap = realloc(loop->heap, cap * sizeof(*heap));
	if (heap == NULL)
		return -ENOMEM;
	loop->heap = heap;
	loop->cap_t = cap;
	return 0;
}

/* A slot for a new timer (taken off the free list or new).  Returns NO_SLOT on ENOMEM. */
static uint32_t timer_slot(struct dse_loop *loop)
{
	uint32_t slot = loop->free_t;

	if (slot != NO_SLOT) {
		loop->free_t = loop->t[slot].pos;
		return slot;
	}
	if (loop->n_t == loop->cap_t && timers_grow(loop) < 0)
		return NO_SLOT;
	slot = loop->n_t++;
	loop->t[slot] = (struct timer){.gen = 1};
	return slot;
}

/* Disarms the timer in 'slot' (out of the heap, a new generation) and frees the slot. */
static void timer_release(struct dse_loop *loop, uint32_t slot)
{
	struct timer *t = &loop->t[slot];

	heap_remove(loop, t->pos);
	t->armed = false;
	if (++t->gen == 0)
		t->gen = 1;
	t->fn = NULL;
	t->arg = NULL;
	t->pos = loop->free_t;
	loop->free_t = slot;
}

uint64_t dse_loop_timer_add(struct dse_loop *loop, uint64_t delay_ms, dse_loop_timer_fn *fn,
			    void *arg)
{
	uint64_t now = dse_loop_now_ns();
	uint32_t slot;
	struct timer *t;

	if (fn == NULL)
		return 0;
	slot = timer_slot(loop);
	if (slot == NO_SLOT)
		return 0;
	t = &loop->t[slot];
	/* Saturates: a delay of centuries is "never" rather than a wrap into the past. */
	t->due_ns = delay_ms > (UINT64_MAX - now) / 1000000 ? UINT64_MAX : now + delay_ms * 1000000;
	t->seq = loop->seq++;
	t->fn = fn;
	t->arg = arg;
	t->armed = true;
	loop->heap_len++;
	heap_set(loop, loop->heap_len - 1, slot);
	heap_up(loop, loop->heap_len - 1);
	return ((uint64_t)t->gen << 32) | slot;
}

int dse_loop_timer_cancel(struct dse_loop *loop, uint64_t id)
{
	uint32_t slot = (uint32_t)id, gen = (uint32_t)(id >> 32);

	if (id == 0 || slot >= loop->n_t || !loop->t[slot].armed || loop->t[slot].gen != gen)
		return -ENOENT;
	timer_release(loop, slot);
	return 0;
}

unsigned dse_loop_timer_count(const struct dse_loop *loop)
{
	return loop->heap_len;
}

/*
 * Runs the timers due now that were added before this call.  Returns how
 * many ran.
 */
static int timers_run(struct dse_loop *loop)
{
	uint64_t now = dse_loop_now_ns(), before = loop->seq;
	int n = 0;

	while (loop->heap_len > 0) {
		uint32_t slot = loop->heap[0];
		dse_loop_timer_fn *fn = loop->t[slot].fn;
		void *arg = loop->t[slot].arg;

		if (loop->t[slot].due_ns > now || loop->t[slot].seq >= before)
			break;
		timer_release(loop, slot);
		fn(loop, arg);
		n++;
	}
	return n;
}

/* Milliseconds until the first timer is due, rounded up (never early); -1 without one. */
static int timers_wait_ms(const struct dse_loop *loop)
{
	uint64_t now, due, ms;

	if (loop->heap_len == 0)
		return -1;
	now = dse_loop_now_ns();
	due = loop->t[loop->heap[0]].due_ns;
	if (due <= now)
		return 0;
	ms = (due - now + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* ---- prepare hooks ---- */

int dse_loop_prepare_add(struct dse_loop *loop, dse_loop_prepare_fn *fn, void *arg)
{
	if (fn == NULL)
		return -EINVAL;
	if (loop->n_hooks == loop->cap_hooks) {
		unsigned cap = loop->cap_hooks ? loop->cap_hooks * 2 : 4;
		struct hook *p = realloc(loop->hooks, cap * sizeof(*p));

		if (p == NULL)
			return -ENOMEM;
		loop->hooks = p;
		loop->cap_hooks = cap;
	}
	if (loop->hook_id == INT_MAX)
		return -ENOMEM;
	loop->hooks[loop->n_hooks++] = (struct hook){.id = ++loop->hook_id, .fn = fn, .arg = arg};
	return loop->hook_id;
}

int dse_loop_prepare_remove(struct dse_loop *loop, int id)
{
	for (unsigned i = 0; i < loop->n_hooks; i++) {
		if (loop->hooks[i].id == id && loop->hooks[i].fn != NULL) {
			loop->hooks[i].fn = NULL;
			loop->hooks_dead = true;
			return 0;
		}
	}
	return -ENOENT;
}

/* The shorter of two waits, -1 being no limit. */
static int wait_min(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* Runs the hooks there were when the turn began.  Returns the shortest wait they allow. */
static int hooks_run(struct dse_loop *loop)
{
	unsigned n = 0, count;
	int wait = -1;

	if (loop->hooks_dead) {
		for (unsigned i = 0; i < loop->n_hooks; i++)
			if (loop->hooks[i].fn != NULL)
				loop->hooks[n++] = loop->hooks[i];
		loop->n_hooks = n;
		loop->hooks_dead = false;
	}
	count = loop->n_hooks;
	for (unsigned i = 0; i < count; i++) {
		struct hook h = loop->hooks[i];

		if (h.fn != NULL)
			wait = wait_min(wait, h.fn(loop, h.arg));
	}
	return wait;
}

/* ---- turns ---- */

int dse_loop_run_once(struct dse_loop *loop, int max_wait_ms)
{
	struct epoll_event ev[MAX_EVENTS];
	int wait = wait_min(max_wait_ms, hooks_run(loop)), n, ran = 0;

	wait = wait_min(wait, timers_wait_ms(loop));
	n = epoll_wait(loop->epfd, ev, MAX_EVENTS, wait);
	if (n < 0 && errno != EINTR)
		return -errno;
	for (int i = 0; i < n; i++)
		ran += watcher_dispatch(loop, &ev[i]);
	return ran + timers_run(loop);
}

int dse_loop_run(struct dse_loop *loop, const bool *quit)
{
	while (!*quit) {
		int r = dse_loop_run_once(loop, -1);

		if (r < 0)
			return r;
	}
	return 0;
}
