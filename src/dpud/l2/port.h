/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Adding and removing ports at run time: creating the DPDK device from its
 * devargs, configuring and starting it, and handing it to the worker.
 */
#ifndef DSE_PORT_H
#define DSE_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "dp.h"

/* What port.add asks for. */
struct dse_port_conf {
	const char *name;
	const char *devargs;          /* as the caller gave them (port.list, config.save) */
	const char *effective;        /* what DPDK gets: devargs with dse-dpud's ring size */
	bool fanout_cpu;              /* net_af_packet: queues by receiving CPU (devargs.h) */
	const char *iface;            /* net_af_packet: the interface, else NULL */
	unsigned ring_frames;         /* net_af_packet: frames of its receive ring */
	uint16_t mtu;
	uint8_t mode;                 /* enum dse_port_mode */
	uint16_t segment;             /* access */
	bool uplink;                  /* an uplink of the switch's team */
	uint64_t trunk_segs[DSE_MAX_SEGMENTS / 64]; /* trunk */
};

/*
 * Creates, starts and attaches a port.  On failure returns a negative errno
 * and writes a message for a person into 'err' ('err_len' bytes); nothing is
 * left behind.  Returns the DPDK port id on success.
 */
int dse_port_add(const struct dse_port_conf *conf, char *err, size_t err_len);

/* Detaches, stops and removes port 'port_id'; its FDB entries go too. */
void dse_port_del(uint16_t port_id);

/* Changes mode, segments and MTU of an attached port (worker-safe). */
int dse_port_update(uint16_t port_id, const struct dse_port_conf *conf);

/* Returns the port on kernel interface 'iface' (net_af_packet), or DSE_NO_PORT. */
uint16_t dse_port_find_iface(const char *iface);

/*
 * The kernel's counters of the AF_PACKET sockets of a net_af_packet port,
 * accumulated since the port was added (the kernel resets its own on every
 * read, so only this function may read them).
 */
struct dse_port_kstats {
	uint64_t packets; /* frames the kernel offered the port's sockets, dropped ones included */
	uint64_t dropped; /* frames the kernel dropped because the port's ring was full */
	unsigned ring_frames; /* the size of the port's receive ring, in frames */
};

/*
 * Reads the kernel's counters of port 'port_id' into '*ret'.  Returns 0, or
 * -ENOTSUP for a port that is not net_af_packet.
 */
int dse_port_kernel_stats(uint16_t port_id, struct dse_port_kstats *ret);

struct rte_eth_link;

/*
 * Reads the link of port 'port_id' into '*ret' without waiting.  A
 * net_af_packet port's link is its interface's (up and running: it has a
 * carrier; the driver itself reports its link up from start to stop, speed
 * unknown); any other port's is the driver's.  The port_link records
 * follow it.  Returns 0 or a negative errno.  Control thread.
 */
int dse_port_link(uint16_t port_id, struct rte_eth_link *ret);

/*
 * Returns the largest frame a port made from 'devargs' delivers whole:
 * one mbuf's data room, less for drivers that cut frames ('dev_max_rx' is
 * what the driver reports, 0 if unknown).
 */
uint16_t dse_port_max_frame(const char *devargs, uint32_t dev_max_rx);

/* Returns the largest MTU for a port of 'max_frame'. */
uint16_t dse_port_max_mtu(uint16_t max_frame);

/* Removes every port (at shutdown). */
void dse_port_del_all(void);

#endif
