/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The drop nodes, one per reason ("dse_drop_<reason>"): they free what they
 * receive, and the graph's per-node object counter is the drop counter.
 * Also the registration helpers shared by every node.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf.h>

#include "drop.h"
#include "node.h"

static const char *const drop_upper[DSE_DROP__MAX] = {
#define DSE_DROP_STR(n, s) #n,
#define DSE_DROP_GENEVE_STR(n, s) "GENEVE_" #n,
	DSE_PARSE_ERRORS(DSE_DROP_STR) DSE_DP_DROPS(DSE_DROP_STR)
	DSE_GENEVE_ERRORS(DSE_DROP_GENEVE_STR)
#undef DSE_DROP_GENEVE_STR
#undef DSE_DROP_STR
};

static const char *const drop_desc[DSE_DROP__MAX] = {
#define DSE_DROP_DESC(n, s) s,
	DSE_PARSE_ERRORS(DSE_DROP_DESC) DSE_DP_DROPS(DSE_DROP_DESC)
	DSE_GENEVE_ERRORS(DSE_DROP_DESC)
#undef DSE_DROP_DESC
};

/* Lower-case names, made once from the X-macro names. */
static char drop_lower[DSE_DROP__MAX][32];
static char drop_node[DSE_DROP__MAX][RTE_NODE_NAMESIZE];

static void drop_names_init(void)
{
	if (drop_lower[0][0])
		return;
	for (int d = 0; d < DSE_DROP__MAX; d++) {
		const char *u = drop_upper[d];
		size_t i;

		for (i = 0; u[i] && i + 1 < sizeof(drop_lower[d]); i++)
			drop_lower[d][i] = (char)tolower((unsigned char)u[i]);
		drop_lower[d][i] = '\0';
		/* drop_lower holds at most 31 characters: the node name always fits. */
		memcpy(drop_node[d], "dse_drop_", 9);
		memcpy(drop_node[d] + 9, drop_lower[d], i + 1);
	}
}

const char *dse_drop_node_name(enum dse_drop d)
{
	drop_names_init();
	return drop_node[d];
}

const char *dse_drop_name(enum dse_drop d)
{
	drop_names_init();
	return drop_lower[d];
}

const char *dse_drop_desc(enum dse_drop d)
{
	return drop_desc[d];
}

static uint16_t drop_process(struct rte_graph *graph, struct rte_node *node, void **objs,
			     uint16_t n)
{
	RTE_SET_USED(graph);
	RTE_SET_USED(node);
	rte_pktmbuf_free_bulk((struct rte_mbuf **)objs, n);
	return n;
}

rte_node_t dse_node_register(const char *name, uint64_t flags, rte_node_process_t process,
			     rte_node_init_t init, const char *const *next, unsigned n_next,
			     const enum dse_drop *drops, unsigned n_drops)
{
	struct rte_node_register *reg;
	rte_node_t id;

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
	for (unsigned i = 0; i < n_drops; i++)
		reg->next_nodes[n_next + i] = dse_drop_node_name(drops[i]);
	/* The graph library copies what it needs; the registration can go. */
	id = __rte_node_register(reg);
	free(reg);
	return id;
}

int dse_node_drop_register(void)
{
	for (int d = 0; d < DSE_DROP__MAX; d++)
		if (dse_node_register(dse_drop_node_name((enum dse_drop)d), 0, drop_process, NULL,
				      NULL, 0, NULL, 0) == RTE_NODE_ID_INVALID)
			return -EINVAL;
	return 0;
}

int dse_nodes_register(void)
{
	int (*const regs[])(void) = {
		dse_node_drop_register,    dse_node_rx_register,  dse_node_parse_register,
		dse_node_flow_register,    dse_node_segment_register, dse_node_fdb_register,
		dse_node_flood_register,   dse_node_tx_register,  dse_node_fw_register,
		dse_node_decap_register,   dse_node_encap_register, dse_node_tep_arp_register,
		dse_node_reass_register,   dse_node_refrag_register,
	};

	for (unsigned i = 0; i < RTE_DIM(regs); i++)
		if (regs[i]() < 0)
			return -EINVAL;
	return 0;
}
