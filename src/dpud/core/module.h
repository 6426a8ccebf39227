/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The registries of dse-dpud.  Each feature (core, l2, flow, fw, overlay)
 * is a module: one struct dse_module in its own folder, registered at load
 * time with DSE_MODULE_REGISTER(), names its RPC methods, its drop reasons
 * and its parts of config.save and stats.show.  Each graph node file
 * registers its node with DSE_NODE_REGISTER().  The core only loops over
 * these lists: rpc.list, stats.show, drops.list and config.save know no
 * feature by name, and a new feature touches its own folder and the one
 * line of src/dpud/meson.build that lists its files.
 *
 * Registration runs in constructors, before main(); dse_modules_init()
 * then runs each module's init in order.  The lists are not changed after
 * that, so they are read without locks.
 */
#ifndef DSE_MODULE_H
#define DSE_MODULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonrpc.h"

/* Longest drop reason name; "dse_drop_" and it fit a graph node name. */
#define DSE_DROP_NAME_MAX 32

/* Most drop reasons of all modules together. */
#define DSE_DROPS_MAX 128

/* A drop reason: why a packet (or a copy or reply of one) was lost. */
struct dse_drop_reason {
	const char *name; /* lower case, [a-z0-9_]; the drop node is "dse_drop_<name>" */
	const char *desc; /* one sentence for people */
	/*
	 * NULL: the reason is a graph node of its own, and the node's packet
	 * counter is the drop counter.  Otherwise packets of this reason are
	 * lost outside the graph (a flood copy, an ARP request or a reject
	 * reply that found no buffer): no node ever sees them, and this
	 * returns their count, summed over the workers.
	 */
	uint64_t (*count)(void);
};

/* A feature of the datapath. */
struct dse_module {
	const char *name; /* "l2" */
	/*
	 * Position among the modules, lowest first: the order of rpc.list,
	 * drops.list and stats.show, and the order in which config.save
	 * writes the modules' calls (so what a module's calls need is made
	 * by a module of a lower order).
	 */
	unsigned order;
	/* Runs once at start, before the EAL and the graph nodes (so it may not use DPDK). */
	int (*init)(void);
	/* Its methods, terminated by a NULL name; NULL for none. */
	const struct dse_rpc_method *methods;
	/* Methods served only with --test-clock (and never over TLS); NULL for none. */
	const struct dse_rpc_method *test_methods;
	/* Its drop reasons, terminated by a NULL name; NULL for none. */
	const struct dse_drop_reason *drops;
	/*
	 * Appends the calls that rebuild its part of the running config to
	 * the array 'calls'.  Returns 0 or a negative errno (config.save then
	 * fails: a config with a part missing would replay into another one).
	 */
	int (*config_save)(json_t *calls);
	/* Sets its members of the stats.show result 'stats'.  NULL for none. */
	void (*stats)(json_t *stats);
	/*
	 * Whether the module still refers to segment 'seg' (port 'port'), so
	 * that it may not be removed; if so, writes why to 'why' (at most
	 * 'len' bytes: "rule 7 matches it").  NULL: it never does.
	 */
	bool (*segment_in_use)(uint16_t seg, char *why, size_t len);
	bool (*port_in_use)(uint16_t port, char *why, size_t len);
	/* Segment 'seg' is being removed: forget what the module kept of it. */
	void (*segment_removed)(uint16_t seg);
	/*
	 * Runs on every turn of the control thread's loop (at least every
	 * 10 ms, and at once when its poll_fd is readable).  Returns true
	 * when it has more to do now, so the loop does not wait.  NULL: none.
	 */
	bool (*tick)(void);
	/* An fd the control loop waits on for 'tick' (readable), or -1.  NULL: none. */
	int (*poll_fd)(void);
	struct dse_module *next; /* set by dse_module_register() */
};

/* Adds 'm' to the modules, in order.  Called by DSE_MODULE_REGISTER() before main(). */
void dse_module_register(struct dse_module *m);

/* Takes 'm' out of the modules again (unit tests). */
void dse_module_unregister(struct dse_module *m);

/* Registers module 'm' (a struct dse_module variable) when the program loads. */
#define DSE_MODULE_REGISTER(m)                                                                     \
	static void __attribute__((constructor, used)) dse_module_ctor_##m(void)                   \
	{                                                                                          \
		dse_module_register(&m);                                                           \
	}

/* The first module in order; follow ->next. */
const struct dse_module *dse_modules(void);

/* Runs every module's init, in order.  Returns 0 or the first error. */
int dse_modules_init(void);

/*
 * Returns every module's methods as one table (terminated by a NULL name,
 * to be freed), with the test methods when 'test_clock'; NULL on ENOMEM or
 * when two modules name one method (a programming error, logged).
 */
struct dse_rpc_method *dse_modules_methods(bool test_clock);

/*
 * Appends every module's config calls to 'calls', in module order.
 * Returns 0 or the first module's error.
 */
int dse_modules_config_save(json_t *calls);

/* Sets every module's stats.show members in 'stats'. */
void dse_modules_stats(json_t *stats);

/* True when a module refers to segment 'seg' (port 'port'); 'why' says which and how. */
bool dse_modules_segment_in_use(uint16_t seg, char *why, size_t len);
bool dse_modules_port_in_use(uint16_t port, char *why, size_t len);

/* Runs every module's tick; true when one of them has more to do now. */
bool dse_modules_tick(void);

/* Writes the modules' poll fds (up to 'max') to 'fds'; returns how many. */
unsigned dse_modules_poll_fds(int *fds, unsigned max);

/* Tells every module that segment 'seg' is being removed. */
void dse_modules_segment_removed(uint16_t seg);

/*
 * The drop reasons of every module, in module order, made by
 * dse_modules_init().  Returns how many there are and sets '*ret'.
 */
unsigned dse_drops(const struct dse_drop_reason *const **ret);

/* Returns the index of drop reason 'name' in dse_drops(), or -ENOENT. */
int dse_drop_find(const char *name);

/* A graph node's registration function, listed by DSE_NODE_REGISTER(). */
struct dse_node_init {
	int (*fn)(void); /* registers the node; 0 or a negative errno */
	struct dse_node_init *next;
};

/* Adds 'n' to the node registrations. */
void dse_node_init_add(struct dse_node_init *n);

/* Has 'fn' (int fn(void)) register its graph node when dse_nodes_register() runs. */
#define DSE_NODE_REGISTER(fn)                                                                      \
	static struct dse_node_init dse_node_init_##fn = {fn, NULL};                               \
	static void __attribute__((constructor, used)) dse_node_ctor_##fn(void)                    \
	{                                                                                          \
		dse_node_init_add(&dse_node_init_##fn);                                            \
	}

/*
 * Registers the drop nodes of every drop reason that is a node, then every
 * node of DSE_NODE_REGISTER().  Returns 0 or -EINVAL (logged).
 */
int dse_nodes_register(void);

/* The names of the registered nodes other than drop nodes, in registration order. */
unsigned dse_node_names(const char *const **ret);

#endif
