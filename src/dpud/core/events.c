/* SPDX-License-Identifier: BSD-3-Clause */
/* The event rings and the subscriber registry (events.h). */
#include "events.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>

_Atomic uint32_t dse_events_mask;

/* The subscribers; slot i is handle i, free when fn is NULL. */
static struct dse_event_sub subs[DSE_EVENTS_MAX_SUBS];
/* Subscribers that got records during the drain under way (flush them after). */
static bool sub_touched[DSE_EVENTS_MAX_SUBS];
/* Sequence numbers of the records made on the control thread. */
static uint32_t control_seq;

static const char *const kind_names[DSE_EV__MAX] = {
#define DSE_EVENT_KIND_STR(n, s) s,
    DSE_EVENT_KINDS(DSE_EVENT_KIND_STR)
#undef DSE_EVENT_KIND_STR
};

static const char *const close_names[DSE_EV_CLOSE__MAX] = {
#define DSE_EVENT_CLOSE_STR(n, s) s,
    DSE_EVENT_CLOSE_REASONS(DSE_EVENT_CLOSE_STR)
#undef DSE_EVENT_CLOSE_STR
};

int dse_event_producer_init(struct dse_event_producer *p, uint8_t worker, unsigned size, int socket)
{
	char name[RTE_RING_NAMESIZE];

	memset(p, 0, sizeof(*p));
	p->worker = worker;
	if (size < 64 || size > (1u << 20) || !rte_is_power_of_2(size))
		return -EINVAL;
	snprintf(name, sizeof(name), "dse_events%u", worker);
	p->ring = rte_ring_create_elem(name, sizeof(struct dse_event), size, socket,
				       RING_F_SP_ENQ | RING_F_SC_DEQ);
	return p->ring != NULL ? 0 : -rte_errno;
}

void dse_event_producer_fini(struct dse_event_producer *p)
{
	rte_ring_free(p->ring);
	p->ring = NULL;
}

/* Publishes the union of the subscribers' masks to the workers. */
static void mask_update(void)
{
	uint32_t m = 0;

	for (unsigned i = 0; i < DSE_EVENTS_MAX_SUBS; i++)
		if (subs[i].fn != NULL)
			m |= subs[i].mask;
	atomic_store_explicit(&dse_events_mask, m, memory_order_relaxed);
}

int dse_events_subscribe(const struct dse_event_sub *s)
{
	if (s->fn == NULL || (s->mask & DSE_EV_ALL) == 0)
		return -EINVAL;
	for (unsigned i = 0; i < DSE_EVENTS_MAX_SUBS; i++) {
		if (subs[i].fn != NULL)
			continue;
		subs[i] = *s;
		subs[i].mask &= DSE_EV_ALL;
		sub_touched[i] = false;
		mask_update();
		return (int)i;
	}
	return -ENOSPC;
}

int dse_events_unsubscribe(int handle)
{
	if (handle < 0 || handle >= DSE_EVENTS_MAX_SUBS || subs[handle].fn == NULL)
		return -ENOENT;
	memset(&subs[handle], 0, sizeof(subs[handle]));
	sub_touched[handle] = false;
	mask_update();
	return 0;
}

int dse_events_set_mask(int handle, uint32_t mask)
{
	if (handle < 0 || handle >= DSE_EVENTS_MAX_SUBS || subs[handle].fn == NULL)
		return -ENOENT;
	if ((mask & DSE_EV_ALL) == 0)
		return -EINVAL;
	subs[handle].mask = mask & DSE_EV_ALL;
	mask_update();
	return 0;
}

/* Hands 'ev' to every subscriber of its kind. */
static void dispatch(const struct dse_event *ev)
{
	uint32_t bit;

	if (ev->kind >= DSE_EV__MAX)
		return;
	bit = DSE_EV_BIT(ev->kind);
	for (unsigned i = 0; i < DSE_EVENTS_MAX_SUBS; i++) {
		/* A subscriber may unsubscribe itself (or another) from its callback. */
		if (subs[i].fn == NULL || !(subs[i].mask & bit))
			continue;
		subs[i].fn(subs[i].arg, ev);
		sub_touched[i] = true;
	}
}

/* Calls the flush of every subscriber that got records since the last flush. */
static void flush_touched(void)
{
	for (unsigned i = 0; i < DSE_EVENTS_MAX_SUBS; i++) {
		if (!sub_touched[i])
			continue;
		sub_touched[i] = false;
		if (subs[i].fn != NULL && subs[i].flush != NULL)
			subs[i].flush(subs[i].arg);
	}
}

/* Records taken from one ring at a time. */
#define DRAIN_BURST 64

unsigned dse_events_drain(struct dse_event_producer *const *p, unsigned n, unsigned budget)
{
	struct dse_event burst[DRAIN_BURST];
	unsigned total = 0;
	bool more = true;

	while (more && total < budget) {
		more = false;
		for (unsigned w = 0; w < n && total < budget; w++) {
			unsigned want = RTE_MIN(budget - total, (unsigned)DRAIN_BURST), got;

			if (p[w]->ring == NULL)
				continue;
			got = rte_ring_sc_dequeue_burst_elem(p[w]->ring, burst, sizeof(burst[0]),
							     want, NULL);
			for (unsigned i = 0; i < got; i++)
				dispatch(&burst[i]);
			total += got;
			if (got == want)
				more = true;
		}
	}
	flush_touched();
	return total;
}

void dse_events_publish(struct dse_event *ev, uint64_t now_ns)
{
	ev->worker = DSE_EVENT_WORKER_CONTROL;
	ev->seq = control_seq++;
	ev->ts_ns = now_ns;
	dispatch(ev);
	flush_touched();
}

const char *dse_event_kind_name(unsigned kind)
{
	return kind < DSE_EV__MAX ? kind_names[kind] : NULL;
}

int dse_event_kind_find(const char *name)
{
	for (unsigned k = 0; k < DSE_EV__MAX; k++)
		if (strcmp(kind_names[k], name) == 0)
			return (int)k;
	return -ENOENT;
}

const char *dse_event_close_reason_name(unsigned reason)
{
	return reason < DSE_EV_CLOSE__MAX ? close_names[reason] : "unknown";
}
