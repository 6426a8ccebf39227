/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The JSON-RPC server on an event loop (dse_rpc_server_loop_attach() in
 * jsonrpc.h).  The server keeps its own poll set, rebuilt every turn from
 * its clients; this file mirrors that set into an epoll fd of its own,
 * which is one watcher of the loop (an epoll fd is readable while one of
 * its fds is ready).  The server's fds thus never enter the loop's table:
 * a client closed and a new one accepted on the same number in one turn
 * can not collide with a watcher of someone else.  The kernel drops a
 * closed fd from an epoll set by itself, so the mirror tells a reused
 * number by the connection id the server gives each entry, and adds it
 * again.
 *
 * Nothing in the server changes: a turn is still dse_rpc_poll(), called
 * with no wait once the loop says something is ready or the server's
 * deadline has passed (it polls its fds itself, one poll() of its set
 * each turn).
 */
#include "jsonrpc.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "evloop.h"

/*
 * How often the server is served anyway when an fd could not be mirrored
 * (no memory, the epoll watch limit): slower, never deaf.
 */
#define DEGRADED_WAIT_MS 10
/* The id of an entry whose registration failed: never a connection's, so the next sync retries. */
#define ID_RETRY UINT64_MAX

/* One fd of the server, as the mirror holds it. */
struct mirror_fd {
	int fd;
	short events; /* POLLIN / POLLOUT */
	uint64_t id;  /* the server's connection id for it */
};

struct dse_rpc_server_loop {
	struct dse_rpc_server *srv;
	struct dse_loop *loop;
	int epfd;                /* the mirror; the loop watches it */
	int hook;                /* our prepare hook in the loop */
	struct mirror_fd *have;  /* what 'epfd' holds, sorted by fd */
	unsigned n_have;
	struct mirror_fd *want;  /* the server's set of this turn, sorted by fd */
	unsigned cap;            /* entries of 'have' and of 'want' */
	uint64_t due_ns;         /* when the server's deadline passes (loop time); 0: none */
	bool degraded;           /* an fd is not in the mirror: serve every DEGRADED_WAIT_MS */
};

static int by_fd(const void *a, const void *b)
{
	const struct mirror_fd *x = a, *y = b;

	return (x->fd > y->fd) - (x->fd < y->fd);
}

/*
 * Puts 'm' into the mirror, adding it or changing its events ('added':
 * whether the mirror holds that fd number already).  The kernel may know
 * better than we do (a number it dropped, or kept), so each op falls back
 * to the other.
 */
static void mirror_put(struct dse_rpc_server_loop *sl, struct mirror_fd *m, bool added)
{
	struct epoll_event ev = {.events = ((m->events & POLLIN) ? EPOLLIN : 0) |
					   ((m->events & POLLOUT) ? EPOLLOUT : 0),
				 .data.fd = m->fd};
	int op = added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

	if (epoll_ctl(sl->epfd, op, m->fd, &ev) == 0)
		return;
	if ((op == EPOLL_CTL_MOD && errno == ENOENT) || (op == EPOLL_CTL_ADD && errno == EEXIST)) {
		op = op == EPOLL_CTL_MOD ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
		if (epoll_ctl(sl->epfd, op, m->fd, &ev) == 0)
			return;
	}
	m->id = ID_RETRY;
	sl->degraded = true;
}

/* Takes fd 'fd' out of the mirror (a closed fd is out already: errors do not matter). */
static void mirror_del(struct dse_rpc_server_loop *sl, int fd)
{
	epoll_ctl(sl->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* Makes room for 'n' entries in 'have' and 'want'.  Returns 0 or -ENOMEM. */
static int mirror_reserve(struct dse_rpc_server_loop *sl, unsigned n)
{
	unsigned cap = sl->cap ? sl->cap : 16;
	struct mirror_fd *p;

	if (n <= sl->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	p = realloc(sl->have, cap * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	sl->have = p;
	p = realloc(sl->want, cap * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	sl->want = p;
	sl->cap = cap;
	return 0;
}

/*
 * Makes the mirror hold the server's set ('n' entries of 'fds' and
 * 'ids'): one merge of the two sets sorted by fd, so a turn where nothing
 * changed costs no system call.
 */
static void mirror_sync(struct dse_rpc_server_loop *sl, const struct pollfd *fds,
			const uint64_t *ids, unsigned n)
{
	struct mirror_fd *want, *swap;
	unsigned i = 0, j = 0;

	if (mirror_reserve(sl, n) < 0) {
		sl->degraded = true;
		return;
	}
	want = sl->want;
	for (unsigned k = 0; k < n; k++)
		want[k] = (struct mirror_fd){.fd = fds[k].fd, .events = fds[k].events,
					     .id = ids[k]};
	qsort(want, n, sizeof(*want), by_fd);
	sl->degraded = false;
	while (i < sl->n_have || j < n) {
		if (j == n || (i < sl->n_have && sl->have[i].fd < want[j].fd)) {
			mirror_del(sl, sl->have[i++].fd);
		} else if (i == sl->n_have || want[j].fd < sl->have[i].fd) {
			mirror_put(sl, &want[j++], false);
		} else if (sl->have[i].id != want[j].id) {
			/* Another socket on that number: the old one's entry is gone or stale. */
			mirror_del(sl, sl->have[i++].fd);
			mirror_put(sl, &want[j++], false);
		} else {
			if (sl->have[i].events != want[j].events)
				mirror_put(sl, &want[j], true);
			i++;
			j++;
		}
	}
	swap = sl->have;
	sl->have = want;
	sl->want = swap;
	sl->n_have = n;
}

/*
 * One turn of the server, without waiting.  The mirror's ready list is
 * not read: the server polls its fds itself, and the mirror is level
 * triggered, so what is still ready after the turn makes it readable
 * again.  (Reading it until fewer than a buffer's worth came back never
 * ended while more fds than that stayed ready: clients the server is
 * not reading, say.)
 */
static void serve(struct dse_rpc_server_loop *sl)
{
	sl->due_ns = 0;
	dse_rpc_poll(sl->srv, 0);
}

static void on_ready(struct dse_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	serve(arg);
}

/*
 * Before the loop waits: serves the server if its deadline has passed,
 * mirrors its set and tells the loop how long it may wait.
 */
static int on_prepare(struct dse_loop *loop, void *arg)
{
	struct dse_rpc_server_loop *sl = arg;
	const struct pollfd *fds;
	const uint64_t *ids;
	unsigned n;
	int wait;

	(void)loop;
	if (sl->due_ns != 0 && dse_loop_now_ns() >= sl->due_ns)
		serve(sl);
	if (dse_rpc_poll_prepare(sl->srv, &fds, &ids, &n, &wait) < 0) {
		sl->degraded = true;
		wait = DEGRADED_WAIT_MS;
	} else {
		mirror_sync(sl, fds, ids, n);
	}
	if (sl->degraded && (wait < 0 || wait > DEGRADED_WAIT_MS))
		wait = DEGRADED_WAIT_MS;
	sl->due_ns = wait < 0 ? 0 : dse_loop_now_ns() + (uint64_t)wait * 1000000;
	return wait;
}

int dse_rpc_server_loop_attach(struct dse_rpc_server *srv, struct dse_loop *loop,
			       struct dse_rpc_server_loop **ret)
{
	struct dse_rpc_server_loop *sl = calloc(1, sizeof(*sl));
	int r;

	if (sl == NULL)
		return -ENOMEM;
	sl->srv = srv;
	sl->loop = loop;
	sl->hook = -1;
	sl->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sl->epfd < 0) {
		r = -errno;
		free(sl);
		return r;
	}
	r = dse_loop_fd_add(loop, sl->epfd, DSE_LOOP_READ, on_ready, sl);
	if (r == 0) {
		sl->hook = dse_loop_prepare_add(loop, on_prepare, sl);
		r = sl->hook < 0 ? sl->hook : 0;
	}
	if (r < 0) {
		dse_rpc_server_loop_detach(sl);
		return r;
	}
	*ret = sl;
	return 0;
}

void dse_rpc_server_loop_detach(struct dse_rpc_server_loop *sl)
{
	if (sl == NULL)
		return;
	if (sl->hook > 0)
		dse_loop_prepare_remove(sl->loop, sl->hook);
	dse_loop_fd_remove(sl->loop, sl->epfd);
	close(sl->epfd);
	free(sl->have);
	free(sl->want);
	free(sl);
}
