/* SPDX-License-Identifier: BSD-3-Clause */
/* The module registry (module.h): modules, their methods, drops, config and stats. */
#include "module.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_graph.h>

#include "log.h"

_Static_assert(sizeof("dse_drop_") + DSE_DROP_NAME_MAX <= RTE_NODE_NAMESIZE,
	       "a drop node name must fit the graph library");

static struct dse_module *modules;

static const struct dse_drop_reason *drops[DSE_DROPS_MAX];
static unsigned n_drops;

void dse_module_register(struct dse_module *m)
{
	struct dse_module **p = &modules;

	while (*p && ((*p)->order < m->order ||
		      ((*p)->order == m->order && strcmp((*p)->name, m->name) < 0)))
		p = &(*p)->next;
	m->next = *p;
	*p = m;
}

void dse_module_unregister(struct dse_module *m)
{
	for (struct dse_module **p = &modules; *p; p = &(*p)->next) {
		if (*p == m) {
			*p = m->next;
			m->next = NULL;
			return;
		}
	}
}

const struct dse_module *dse_modules(void)
{
	return modules;
}

/* Checks a drop reason's name: 1..DSE_DROP_NAME_MAX characters of [a-z0-9_]. */
static bool drop_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > DSE_DROP_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '_'))
			return false;
	return true;
}

int dse_modules_init(void)
{
	n_drops = 0;
	for (struct dse_module *m = modules; m; m = m->next) {
		if (m->init) {
			int r = m->init();

			if (r < 0) {
				DSE_LOG_ERR("module", "module %s failed to start: %s", m->name,
					    strerror(-r));
				return r;
			}
		}
		for (const struct dse_drop_reason *d = m->drops; d && d->name; d++) {
			if (!drop_name_ok(d->name) || dse_drop_find(d->name) >= 0 ||
			    n_drops == DSE_DROPS_MAX) {
				DSE_LOG_ERR("module", "module %s: drop reason '%s' is invalid, "
						      "a duplicate or one too many",
					    m->name, d->name);
				return -EINVAL;
			}
			drops[n_drops++] = d;
		}
	}
	return 0;
}

unsigned dse_drops(const struct dse_drop_reason *const **ret)
{
	*ret = drops;
	return n_drops;
}

int dse_drop_find(const char *name)
{
	for (unsigned i = 0; i < n_drops; i++)
		if (strcmp(drops[i]->name, name) == 0)
			return (int)i;
	return -ENOENT;
}

static size_t count_methods(const struct dse_rpc_method *t)
{
	size_t n = 0;

	while (t && t[n].name)
		n++;
	return n;
}

struct dse_rpc_method *dse_modules_methods(bool test_clock)
{
	struct dse_rpc_method *all;
	size_t n = 0, k = 0;

	for (const struct dse_module *m = modules; m; m = m->next)
		n += count_methods(m->methods) + (test_clock ? count_methods(m->test_methods) : 0);
	all = calloc(n + 1, sizeof(*all));
	if (all == NULL)
		return NULL;
	for (const struct dse_module *m = modules; m; m = m->next) {
		const struct dse_rpc_method *tables[2] = {m->methods,
							  test_clock ? m->test_methods : NULL};

		for (int t = 0; t < 2; t++) {
			for (const struct dse_rpc_method *x = tables[t]; x && x->name; x++) {
				for (size_t i = 0; i < k; i++) {
					if (strcmp(all[i].name, x->name) == 0) {
						DSE_LOG_ERR("module", "method %s is registered twice",
							    x->name);
						free(all);
						return NULL;
					}
				}
				all[k] = *x;
				if (t == 1)
					all[k].flags |= DSE_RPC_LOCAL;
				k++;
			}
		}
	}
	return all;
}

int dse_modules_config_save(json_t *calls)
{
	for (const struct dse_module *m = modules; m; m = m->next) {
		int r = m->config_save ? m->config_save(calls) : 0;

		if (r < 0)
			return r;
	}
	return 0;
}

void dse_modules_stats(json_t *stats)
{
	for (const struct dse_module *m = modules; m; m = m->next)
		if (m->stats)
			m->stats(stats);
}

bool dse_modules_tick(void)
{
	bool busy = false;

	for (const struct dse_module *m = modules; m; m = m->next)
		if (m->tick && m->tick())
			busy = true;
	return busy;
}

unsigned dse_modules_poll_fds(int *fds, unsigned max)
{
	unsigned n = 0;

	for (const struct dse_module *m = modules; m && n < max; m = m->next) {
		int fd = m->poll_fd ? m->poll_fd() : -1;

		if (fd >= 0)
			fds[n++] = fd;
	}
	return n;
}

bool dse_modules_segment_in_use(uint16_t seg, char *why, size_t len)
{
	for (const struct dse_module *m = modules; m; m = m->next)
		if (m->segment_in_use && m->segment_in_use(seg, why, len))
			return true;
	return false;
}

bool dse_modules_port_in_use(uint16_t port, char *why, size_t len)
{
	for (const struct dse_module *m = modules; m; m = m->next)
		if (m->port_in_use && m->port_in_use(port, why, len))
			return true;
	return false;
}

void dse_modules_segment_removed(uint16_t seg)
{
	for (const struct dse_module *m = modules; m; m = m->next)
		if (m->segment_removed)
			m->segment_removed(seg);
}
