/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * An event loop for one thread: watchers of file descriptors on a
 * level-triggered epoll set, timers of millisecond resolution in a binary
 * heap (adding and cancelling are O(log n), so a timer per call in flight
 * is cheap), and prepare hooks that run before each wait.  It is the base
 * of the event-driven dse-hostd: every DPU connection (rpc_async.h) and
 * the daemon's own JSON-RPC server (dse_rpc_server_loop_attach() in
 * jsonrpc.h) share one loop and never block it.
 *
 * Time is CLOCK_MONOTONIC, not dse_clock_ns(): that clock can be frozen by
 * a test (clock.h) to age tables deterministically, and a frozen clock
 * must not stop every network timeout with it; epoll_wait() measures real
 * time anyway.  A timer never fires early; it fires late by the time the
 * callbacks before it take.
 *
 * Callbacks may do anything with the loop while it dispatches: add,
 * change or remove any watcher (their own too), add or cancel any timer.
 * A watcher removed during a dispatch gets no event of that dispatch, even
 * if its fd number is reused by a new watcher at once; a watcher whose
 * events were changed gets only the events it still asks for; a timer
 * added during a dispatch runs on a later turn, never in the one that
 * added it.  The loop is not thread-safe; a callback must neither run
 * the loop itself (no nested turns) nor free it.
 *
 * Servers that poll() their own set of fds join through a prepare hook:
 * the hook asks the server for the set it would poll and its next
 * deadline, mirrors the set into an epoll fd of its own that is one
 * watcher of the loop (so the server's fds coming and going never meet
 * the loop's table, even when a number is reused), returns the deadline
 * as the longest the loop may wait, and the watcher or the passed
 * deadline runs one turn of the server without waiting.  jsonrpc.h does
 * exactly that for the JSON-RPC server (dse_rpc_poll_prepare() and
 * dse_rpc_server_loop_attach()); the server itself is unchanged and
 * dse_rpc_poll() works as before.
 */
#ifndef DSE_EVLOOP_H
#define DSE_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct dse_loop;

/* Events of a watcher: asked for with add/modify, delivered to its callback. */
#define DSE_LOOP_READ  0x1u /* the fd is readable */
#define DSE_LOOP_WRITE 0x2u /* the fd is writable */
/*
 * Delivered only, never asked for: an error or a hang-up on the fd
 * (EPOLLERR, EPOLLHUP).  Read or write the fd to learn which.
 */
#define DSE_LOOP_ERROR 0x4u

/* A watcher's callback: 'events' are the DSE_LOOP_* that are ready on 'fd'. */
typedef void dse_loop_fd_fn(struct dse_loop *loop, int fd, unsigned events, void *arg);

/* A timer's callback; the timer is gone when it runs (cancelling it then is -ENOENT). */
typedef void dse_loop_timer_fn(struct dse_loop *loop, void *arg);

/*
 * A prepare hook, run at the start of every turn before the loop waits.
 * It may do work (run callbacks, add timers) and returns the longest, in
 * milliseconds, the loop may wait this turn: -1 for no limit, 0 not to
 * wait at all.
 */
typedef int dse_loop_prepare_fn(struct dse_loop *loop, void *arg);

/* Creates a loop.  Returns NULL with errno set (ENOMEM, EMFILE...). */
struct dse_loop *dse_loop_new(void);

/*
 * Frees 'loop' with its watchers, timers and hooks; their callbacks do not
 * run and their fds are not closed.  NULL is fine.
 */
void dse_loop_free(struct dse_loop *loop);

/* Returns the time timers are measured on: CLOCK_MONOTONIC, in nanoseconds. */
uint64_t dse_loop_now_ns(void);

/*
 * Watches 'fd' for 'events' (DSE_LOOP_READ and/or DSE_LOOP_WRITE; 0 for
 * errors only): 'fn(loop, fd, ready, arg)' runs while any is ready (level
 * triggered).  Returns 0, -EEXIST when 'fd' is watched already, -EINVAL
 * for a negative fd or unknown events, -ENOMEM, or the errno of
 * epoll_ctl() (-EPERM: a regular file, which epoll can not watch).
 */
int dse_loop_fd_add(struct dse_loop *loop, int fd, unsigned events, dse_loop_fd_fn *fn,
		    void *arg);

/* Changes the events watched on 'fd'.  Returns 0, -ENOENT (not watched), -EINVAL. */
int dse_loop_fd_modify(struct dse_loop *loop, int fd, unsigned events);

/*
 * Stops watching 'fd' (it is not closed).  Remove a watcher before
 * closing its fd; one whose fd was closed already is removed all the same.
 * Returns 0 or -ENOENT (not watched).
 */
int dse_loop_fd_remove(struct dse_loop *loop, int fd);

/*
 * Runs 'fn(loop, arg)' once, 'delay_ms' milliseconds from now (0: on the
 * next turn).  Timers due at the same time run in the order they were
 * added.  Returns the timer's id, never 0 and never reused in practice
 * (2^32 timers would have to reuse one slot), or 0 on ENOMEM.
 */
uint64_t dse_loop_timer_add(struct dse_loop *loop, uint64_t delay_ms, dse_loop_timer_fn *fn,
			    void *arg);

/*
 * Cancels timer 'id': its callback will not run.  Returns 0, or -ENOENT
 * when it already ran, was cancelled, or 'id' is 0.
 */
int dse_loop_timer_cancel(struct dse_loop *loop, uint64_t id);

/* Returns the number of timers waiting to run. */
unsigned dse_loop_timer_count(const struct dse_loop *loop);

/*
 * Runs 'fn(loop, arg)' at the start of every turn (dse_loop_prepare_fn).
 * Returns the hook's id (> 0) or -ENOMEM.
 */
int dse_loop_prepare_add(struct dse_loop *loop, dse_loop_prepare_fn *fn, void *arg);

/* Removes prepare hook 'id'.  Returns 0 or -ENOENT. */
int dse_loop_prepare_remove(struct dse_loop *loop, int id);

/*
 * One turn: runs the prepare hooks, waits until a watched fd is ready, the
 * next timer is due, 'max_wait_ms' passed (-1: no limit) or a hook's limit
 * passed, whichever comes first, then runs the callbacks of the ready fds
 * and then those of the timers due (so an answer that comes with its
 * timeout wins).  Returns the number of callbacks run (0 when the wait
 * ended with nothing to do or was interrupted by a signal), or the
 * negative errno of epoll_wait().
 */
int dse_loop_run_once(struct dse_loop *loop, int max_wait_ms);

/*
 * Runs turns until '*quit' is true (a callback sets it).  Returns 0, or
 * the negative errno with which a turn failed.
 */
int dse_loop_run(struct dse_loop *loop, const bool *quit);

#endif
