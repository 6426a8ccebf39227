/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The drop nodes, one per drop reason that is a node ("dse_drop_<reason>"):
 * they free what they receive, and the graph's per-node object counter is
 * the drop counter.  Also the registration of every node (module.h,
 * node.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "log.h"
#include "module.h"
#include "node.h"

static struct dse_node_init *node_inits, **node_inits_tail = &node_inits;

/* Every node registered but the drop nodes, for stats.show. */
#define MAX_NODES 64
static const char *node_names[MAX_NODES];
static char node_name_buf[MAX_NODES][RTE_NODE_NAMESIZE];
static unsigned n_node_names;

void dse_node_init_add(struct dse_node_init *n)
{
	/* In the order the constructors run, so registration is repeatable. */
	n->next = NULL;
	*node_inits_tail = n;
	node_inits_tail = &n->next;
}

unsigned dse_node_names(const char *const **ret)
{
	*ret = node_names;
	return n_node_names;
}

static uint16_t drop_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			     uint16_t n)
{
	RTE_SET_USED(graph);
	RTE_SET_USED(node);
	rte_pktmbuf_free_bulk((struct rte_mbuf **)objs, n);
	return n;
}

static rte_node_t node_register(const char *name, uint64_t flags, rte_node_process_t process,
				rte_node_init_t init, const char *const *next, unsigned n_next,
				const char *const *drops, unsigned n_drops)
{
	const struct dse_drop_reason *const *all;
	/* Names of the drop nodes, kept until the graph library has copied them. */
	char(*edge)[RTE_NODE_NAMESIZE];
	struct rte_node_register *reg;
	rte_node_t id = RTE_NODE_ID_INVALID;

	dse_drops(&all);
	reg = calloc(1, sizeof(*reg) + sizeof(char *) * (n_next + n_drops));
	if (reg == NULL)
		return RTE_NODE_ID_INVALID;
	snprintf(reg->name, sizeof(reg->name), "%s", name);
	reg->flags = flags;
	reg->process = process;
	reg->init = init;
	reg->parent_id = RTE_NODE_ID_INVALID;
	reg->nb_edges = (rte_edge_t)(n_next + n_drops);
	for (unsigned i = 0; i < n_next; i++)
		reg->next_nodes[i] = next[i];
	edge = calloc(n_drops ? n_drops : 1, sizeof(*edge));
	if (edge == NULL)
		goto out;
	for (unsigned i = 0; i < n_drops; i++) {
		int d = dse_drop_find(drops[i]);

		if (d < 0 || all[d]->count != NULL) {
			DSE_LOG_ERR("graph", "node %s: '%s' is not a drop reason with a node", name,
				    drops[i]);
			goto out;
		}
		snprintf(edge[i], sizeof(edge[i]), "dse_drop_%s", drops[i]);
		reg->next_nodes[n_next + i] = edge[i];
	}
	/* The graph library copies what it needs; the registration can go. */
	id = __rte_node_register(reg);
out:
	free(edge);
	free(reg);
	return id;
}

rte_node_t dse_node_register(const char *name, uint64_t flags, rte_node_process_t process,
			     rte_node_init_t init, const char *const *next, unsigned n_next,
			     const char *const *drops, unsigned n_drops)
{
	rte_node_t id;

	if (n_node_names == MAX_NODES) {
		DSE_LOG_ERR("graph", "node %s: more than %d nodes", name, MAX_NODES);
		return RTE_NODE_ID_INVALID;
	}
	id = node_register(name, flags, process, init, next, n_next, drops, n_drops);
	if (id != RTE_NODE_ID_INVALID) {
		snprintf(node_name_buf[n_node_names], RTE_NODE_NAMESIZE, "%s", name);
		node_names[n_node_names] = node_name_buf[n_node_names];
		n_node_names++;
	}
	return id;
}

int dse_nodes_register(void)
{
	const struct dse_drop_reason *const *all;
	unsigned n = dse_drops(&all);

	for (unsigned d = 0; d < n; d++) {
		char name[RTE_NODE_NAMESIZE];

		if (all[d]->count != NULL)
			continue;
		snprintf(name, sizeof(name), "dse_drop_%s", all[d]->name);
		if (node_register(name, 0, drop_process, NULL, NULL, 0, NULL, 0) ==
		    RTE_NODE_ID_INVALID) {
			DSE_LOG_ERR("graph", "could not register the drop node %s", name);
			return -EINVAL;
		}
	}
	for (struct dse_node_init *i = node_inits; i; i = i->next)
		if (i->fn() < 0)
			return -EINVAL;
	return 0;
}

int dse_node_scratch_alloc(struct rte_node *node, size_t size)
{
	void *p = rte_zmalloc("dse_node_scratch", size, RTE_CACHE_LINE_SIZE);

	RTE_BUILD_BUG_ON(sizeof(p) > sizeof(node->ctx));
	if (p == NULL)
		return -ENOMEM;
	memcpy(node->ctx, &p, sizeof(p));
	return 0;
}
