/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers shared by the graph nodes: registration at start-up, and the
 * speculative enqueue that moves a whole burst to the next node in one step
 * when every packet goes the same way (the common case), and falls back to
 * per-packet enqueue for the exceptions.
 */
#ifndef DSE_NODE_H
#define DSE_NODE_H

#include <string.h>

#include <rte_graph.h>
#include <rte_graph_worker.h>


/*
 * Registers a node named 'name' with 'process', optional 'init', the 'n_next'
 * edges named in 'next' and then one edge per drop reason named in 'drops'
 * ('n_drops' of them, names of dse_drops() that are nodes).  Returns the
 * node id, or RTE_NODE_ID_INVALID (logged) for an unknown drop reason or
 * when the graph library refuses.  A node file calls it from the function
 * it names in DSE_NODE_REGISTER() (module.h).
 */
rte_node_t dse_node_register(const char *name, uint64_t flags, rte_node_process_t process,
			     rte_node_init_t init, const char *const *next, unsigned n_next,
			     const char *const *drops, unsigned n_drops);

/*
 * Gives 'node' (one graph's instance of it: one worker's) 'size' bytes of
 * zeroed scratch memory, for state too large for the stack.  For a node's
 * init callback.  Returns 0 or -ENOMEM.
 */
int dse_node_scratch_alloc(struct rte_node *node, size_t size);

/* The scratch memory of dse_node_scratch_alloc(). */
static inline void *dse_node_scratch(const struct rte_node *node)
{
	void *p;

	memcpy(&p, node->ctx, sizeof(p));
	return p;
}

/* State of a speculative enqueue over one burst. */
struct dse_enq {
	struct rte_graph *graph;
	struct rte_node *node;
	void **from;      /* first object not yet handed on */
	void **to_next;   /* where the speculated run goes in the next node */
	uint16_t n;       /* objects in the burst */
	uint16_t spec;    /* the edge most packets take */
	uint16_t run;     /* objects of the current speculated run */
	uint16_t held;    /* objects already copied to the speculated edge */
};

static inline void dse_enq_start(struct dse_enq *q, struct rte_graph *graph, struct rte_node *node,
				 void **objs, uint16_t n, uint16_t spec)
{
	q->graph = graph;
	q->node = node;
	q->from = objs;
	q->n = n;
	q->spec = spec;
	q->run = 0;
	q->held = 0;
	q->to_next = rte_node_next_stream_get(graph, node, spec, n);
}

/* Hands the next object of the burst (in order) to edge 'next'. */
static inline void dse_enq(struct dse_enq *q, uint16_t next)
{
	if (likely(next == q->spec)) {
		q->run++;
		return;
	}
	if (q->run) {
		memcpy(q->to_next, q->from, q->run * sizeof(void *));
		q->to_next += q->run;
		q->held += q->run;
		q->from += q->run;
		q->run = 0;
	}
	rte_node_enqueue_x1(q->graph, q->node, next, *q->from);
	q->from++;
}

/*
 * Takes the next object of the burst out of the stream: the node has
 * consumed it (freed or kept it) and hands it to no edge.
 */
static inline void dse_enq_skip(struct dse_enq *q)
{
	if (q->run) {
		memcpy(q->to_next, q->from, q->run * sizeof(void *));
		q->to_next += q->run;
		q->held += q->run;
		q->from += q->run;
		q->run = 0;
	}
	q->from++;
}

/* Finishes the burst; returns the number of objects handled. */
static inline uint16_t dse_enq_end(struct dse_enq *q)
{
	if (likely(q->run == q->n)) {
		/* Every object took the speculated edge: pass the whole stream on. */
		rte_node_next_stream_move(q->graph, q->node, q->spec);
		return q->n;
	}
	memcpy(q->to_next, q->from, q->run * sizeof(void *));
	q->held += q->run;
	rte_node_next_stream_put(q->graph, q->node, q->spec, q->held);
	return q->n;
}

#endif
