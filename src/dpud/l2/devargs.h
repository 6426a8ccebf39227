/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What port.add may ask dse-dpud to open.
 *
 * A port's devargs reach a DPDK driver, which opens sockets, files and
 * interfaces as root: anything the driver can be told, the caller can do.
 * So devargs are checked against a policy before DPDK sees them:
 *   - net_af_packet on an interface of the allow-list dse-dpud was started
 *     with (--ports-allow FILE), with only the keys that make sense for a
 *     switch port and bounded numbers;
 *   - the test devices net_pcap (which reads and writes files), net_null and
 *     net_ring only when dse-dpud was started with --test-devices, and only
 *     from the Unix socket or --config, never from the network;
 *   - nothing else: no other driver, alias, bus prefix, bracketed list or
 *     unknown key.
 * The checker splits devargs exactly where DPDK's parser does (',' between
 * items, the first '=' of an item), and refuses the characters that DPDK
 * gives another meaning ('[' and ']' group lists), so the driver receives
 * what was checked.
 */
#ifndef DSE_DEVARGS_H
#define DSE_DEVARGS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

/* Longest devargs accepted (the size of struct dse_port's copy, less one). */
#define DSE_DEVARGS_MAX 255

/* Most interfaces an allow-list may name. */
#define DSE_DEVARGS_ALLOW_MAX 1024

/*
 * net_af_packet's ring when port.add does not size it: DPDK's own default
 * (512 frames) overflows whenever a lab's datapath shares its core for a
 * few milliseconds (docs/datapath.md has the measurement).
 */
#define DSE_AFP_DEFAULT_FRAMES 4096

/* A ring (frames times their size) holds at most this many bytes, in each direction. */
#define DSE_AFP_RING_MAX (32u << 20)

/* The drivers port.add knows. */
enum dse_devargs_driver {
	DSE_DRV_AF_PACKET = 0, /* a kernel interface through AF_PACKET sockets */
	DSE_DRV_PCAP,	       /* test device: replays and writes pcap files */
	DSE_DRV_NULL,	       /* test device: a sink (and a source of empty frames) */
	DSE_DRV_RING,	       /* test device: an in-memory ring */
	DSE_DRV__MAX,
};

/* What dse_devargs_check() made of accepted devargs. */
struct dse_devargs {
	enum dse_devargs_driver driver;
	char iface[IF_NAMESIZE]; /* net_af_packet: the interface */
	unsigned framesz;	 /* net_af_packet: ring frame size in bytes */
	unsigned blocksz;	 /* net_af_packet: ring block size in bytes */
	unsigned framecnt;	 /* net_af_packet: frames of each ring */
	bool fanout_cpu;	 /* net_af_packet: queues by receiving CPU, not flow hash */
	/* What to hand to DPDK: the devargs with dse-dpud's ring size added when not given. */
	char effective[DSE_DEVARGS_MAX + 32];
};

/*
 * Reads the allow-list 'path': one interface name per line (1 to 15
 * characters of letters, digits, '_', '.' and '-'); blank lines and lines
 * starting with '#' are skipped.  It replaces the list in force.  Returns 0,
 * or a negative errno after writing a message naming the file and line to
 * 'err' ('err_len' bytes); the list in force is then unchanged.
 */
int dse_devargs_allow_load(const char *path, char *err, size_t err_len);

/* Forgets the allow-list: no interface may be opened. */
void dse_devargs_allow_clear(void);

/* Returns true if interface 'name' is on the allow-list. */
bool dse_devargs_allowed(const char *name);

/* Most queues of a port: rx_pcap and tx_pcap given, qpairs. */
#define DSE_DEVARGS_MAX_QUEUES 16

/* net_af_packet ports get 'n' queue pairs (1 to DSE_DEVARGS_MAX_QUEUES): one per worker. */
void dse_devargs_set_queues(unsigned n);

/* Lets local callers open the test devices (--test-devices) or not (the default). */
void dse_devargs_set_test_devices(bool on);

/*
 * Checks 'devargs' against the policy above; 'remote' is true for a call
 * that came over the network.  Returns 0 and fills '*ret', or -EINVAL after
 * writing a message for a person to 'err' that names the refused driver,
 * key or interface.
 */
int dse_devargs_check(const char *devargs, bool remote, struct dse_devargs *ret, char *err,
		      size_t err_len);

/* Returns the name of 'driver' ("net_af_packet", ...). */
const char *dse_devargs_driver_name(enum dse_devargs_driver driver);

#endif
