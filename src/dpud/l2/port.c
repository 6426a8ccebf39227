/* SPDX-License-Identifier: BSD-3-Clause */
#include "port.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_hash.h>

#include "afpacket.h"
#include "log.h"

#define PORT_RX_DESC 1024
#define PORT_TX_DESC 1024

/*
 * An RSS key of one repeated 16-bit pattern: the Toeplitz hash of a packet
 * and of its reply (addresses and ports swapped) are then equal.
 */
static const uint8_t rss_key_symmetric[40] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

/*
 * The kernel side of the net_af_packet ports, kept by the control thread
 * (the only one that adds, removes and reads ports): the interface, and
 * the kernel's counters summed over every read.
 */
static struct port_kernel {
	char iface[IF_NAMESIZE]; /* empty: not a net_af_packet port */
	int ifindex;
	struct dse_port_kstats sum;
} kernel[DSE_MAX_PORTS];

/* Worker side of port add: copy the port in and start polling its queues. */
static int port_attach(void *arg)
{
	const struct dse_port *src = arg;

	dp.ports[src->port_id] = *src;
	for (unsigned i = 0; i < dp.n_workers && i < src->n_rxq; i++) {
		struct dse_worker *w = &dp.workers[i];

		w->rx_ports[w->n_rx++] = src->port_id;
	}
	dp_segments_rebuild();
	return 0;
}

/* Worker side of port del: stop polling it and forget what was learned on it. */
static int port_detach(void *arg)
{
	uint16_t port_id = *(uint16_t *)arg;

	for (unsigned k = 0; k < dp.n_workers; k++) {
		struct dse_worker *w = &dp.workers[k];

		for (uint16_t i = 0; i < w->n_rx; i++) {
			if (w->rx_ports[i] == port_id) {
				w->rx_ports[i] = w->rx_ports[--w->n_rx];
				break;
			}
		}
	}
	dp.ports[port_id].used = false;
	dse_fdb_flush(dp.fdb, DSE_FDB_ALL, port_id, true);
	dp_segments_rebuild();
	return 0;
}

struct port_update {
	uint16_t port_id;
	const struct dse_port_conf *conf;
};

static int port_apply_update(void *arg)
{
	struct port_update *u = arg;
	struct dse_port *p = &dp.ports[u->port_id];

	uint32_t cap = rte_hash_max_key_id(dp.fdb->hash);

	p->mode = u->conf->mode;
	p->mtu = u->conf->mtu;
	p->segment = u->conf->segment;
	p->uplink = u->conf->uplink;
	memcpy(p->trunk_segs, u->conf->trunk_segs, sizeof(p->trunk_segs));
	/*
	 * Learned addresses of the port are relearned; static ones stay only in
	 * segments the port still carries, or they would lead another
	 * segment's frames out of it.
	 */
	for (uint32_t i = 0; i <= cap; i++) {
		const struct dse_fdb_entry *e = &dp.fdb->entries[i];

		if (dse_fdb_entry_used(e) && dse_fdb_entry_port(e) == u->port_id &&
		    (!dse_fdb_entry_static(e) || !dp_port_in_segment(p, e->segment)))
			dse_fdb_del(dp.fdb, e->segment, e->mac);
	}
	dp_segments_rebuild();
	return 0;
}

int dse_port_update(uint16_t port_id, const struct dse_port_conf *conf)
{
	struct port_update u = {port_id, conf};

	return dp_call(port_apply_update, &u);
}

uint16_t dse_port_max_frame(const char *devargs, uint32_t dev_max_rx)
{
	/* No scatter: a frame must fit one mbuf. */
	uint32_t max = RTE_MBUF_DEFAULT_DATAROOM;
	const char *f;

	if (strncmp(devargs, "net_af_packet", 13) == 0) {
		/*
		 * net_af_packet reports 1518 but delivers frames up to its ring
		 * frame size less the TPACKET_V2 header and alignment (66
		 * bytes), and cuts longer ones without a word.
		 */
		unsigned long framesz = 2048;

		f = strstr(devargs, "framesz=");
		if (f)
			framesz = strtoul(f + 8, NULL, 0);
		if (framesz > 66 && framesz - 66 < max)
			max = (uint32_t)(framesz - 66);
	} else if (dev_max_rx != 0 && dev_max_rx < max) {
		max = dev_max_rx;
	}
	return (uint16_t)max;
}

uint16_t dse_port_max_mtu(uint16_t max_frame)
{
	/*
	 * One byte of margin: a frame as long as max_frame may have been cut,
	 * and must still be above the MTU to be dropped as oversize.
	 */
	return max_frame > DSE_L2_OVERHEAD + 1 ? (uint16_t)(max_frame - DSE_L2_OVERHEAD - 1) : 0;
}

/* The device name is the devargs up to the first comma. */
static void devargs_name(const char *devargs, char *name, size_t len)
{
	size_t n = strcspn(devargs, ",");

	if (n >= len)
		n = len - 1;
	memcpy(name, devargs, n);
	name[n] = '\0';
}

/*
 * The sockets of a net_af_packet port must have joined their fanout group
 * without kernel reassembly (afpacket.h); says so in the log if not.
 */
static void port_check_afpacket(const struct port_kernel *k, const char *devname)
{
	int fd;

	if (dse_afp_sockets(k->ifindex, &fd, 1) == 0)
		DSE_LOG_WARN("port", "%s: the kernel may reassemble IPv4 fragments on this port",
			     devname);
}

uint16_t dse_port_find_iface(const char *iface)
{
	for (uint16_t p = 0; p < DSE_MAX_PORTS; p++)
		if (dp.ports[p].used && strcmp(kernel[p].iface, iface) == 0)
			return p;
	return DSE_NO_PORT;
}

int dse_port_kernel_stats(uint16_t port_id, struct dse_port_kstats *ret)
{
	struct port_kernel *k;
	int fds[DSE_MAX_WORKERS];
	unsigned n;

	if (port_id >= DSE_MAX_PORTS || kernel[port_id].iface[0] == '\0')
		return -ENOTSUP;
	k = &kernel[port_id];
	/* One socket per queue pair, one pair per worker.  No index: nothing to read. */
	n = k->ifindex > 0 ? dse_afp_sockets(k->ifindex, fds, RTE_DIM(fds)) : 0;
	for (unsigned i = 0; i < n; i++) {
		struct tpacket_stats st;
		socklen_t len = sizeof(st);

		/* For TPACKET_V2 the kernel counts the drops in tp_packets too. */
		if (getsockopt(fds[i], SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
			k->sum.packets += st.tp_packets;
			k->sum.dropped += st.tp_drops;
		}
	}
	*ret = k->sum;
	return 0;
}

int dse_port_link(uint16_t port_id, struct rte_eth_link *ret)
{
	struct ifreq ifr = {0};
	int fd, r;

	memset(ret, 0, sizeof(*ret));
	if (port_id >= DSE_MAX_PORTS || kernel[port_id].iface[0] == '\0')
		return rte_eth_link_get_nowait(port_id, ret);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", kernel[port_id].iface);
	r = ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	ret->link_status = (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING)
			       ? RTE_ETH_LINK_UP
			       : RTE_ETH_LINK_DOWN;
	ret->link_speed = RTE_ETH_SPEED_NUM_UNKNOWN;
	ret->link_duplex = RTE_ETH_LINK_FULL_DUPLEX;
	return 0;
}

static void port_destroy(uint16_t port_id, const char *devname)
{
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
	rte_eal_hotplug_remove("vdev", devname);
}

int dse_port_add(const struct dse_port_conf *conf, char *err, size_t err_len)
{
	struct rte_eth_conf eth_conf = {0};
	struct rte_eth_dev_info info;
	const char *effective = conf->effective ? conf->effective : conf->devargs;
	uint16_t max_frame = dse_port_max_frame(effective, 0);
	struct dse_port port = {0};
	char devname[RTE_ETH_NAME_MAX_LEN];
	uint16_t port_id, n_rxq;
	int r;

	devargs_name(conf->devargs, devname, sizeof(devname));
	if (rte_eth_dev_get_port_by_name(devname, &port_id) == 0) {
		snprintf(err, err_len, "device '%s' already exists (port '%s')", devname,
			 port_id < DSE_MAX_PORTS && dp.ports[port_id].used ? dp.ports[port_id].name
									    : "?");
		return -EEXIST;
	}
	dse_afp_fanout_by_cpu(conf->fanout_cpu);
	r = rte_dev_probe(effective);
	dse_afp_fanout_by_cpu(false);
	if (r < 0) {
		/* Drivers often fail with -1, which is no errno worth printing. */
		snprintf(err, err_len,
			 "could not create device '%s'%s%s (check the devargs; for "
			 "net_af_packet the interface must exist in this namespace)",
			 conf->devargs, r < -1 ? ": " : "", r < -1 ? strerror(-r) : "");
		return r < -1 ? r : -ENODEV;
	}
	if (rte_eth_dev_get_port_by_name(devname, &port_id) != 0) {
		snprintf(err, err_len, "device '%s' is not an Ethernet port", devname);
		rte_eal_hotplug_remove("vdev", devname);
		return -ENODEV;
	}
	if (port_id >= DSE_MAX_PORTS) {
		snprintf(err, err_len, "too many ports (at most %d)", DSE_MAX_PORTS);
		port_destroy(port_id, devname);
		return -ENOSPC;
	}
	if (rte_eth_dev_info_get(port_id, &info) != 0) {
		snprintf(err, err_len, "device '%s' does not describe itself", devname);
		port_destroy(port_id, devname);
		return -ENODEV;
	}
	max_frame = dse_port_max_frame(effective, info.max_rx_pktlen);
	/*
	 * A device that checks receive checksums saves the firewall the work
	 * (cksum.h): ask for what it can do.
	 */
	eth_conf.rxmode.offloads = info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_CHECKSUM;
	if (conf->mtu > dse_port_max_mtu(max_frame)) {
		snprintf(err, err_len,
			 "mtu %u is more than device '%s' receives whole: at most %u with "
			 "these devargs",
			 conf->mtu, devname, dse_port_max_mtu(max_frame));
		port_destroy(port_id, devname);
		return -EINVAL;
	}
	/*
	 * Each worker transmits on a queue of its own (no lock on the packet
	 * path) and receives on its own where the device has enough queues.
	 */
	n_rxq = (uint16_t)RTE_MIN(dp.n_workers, (unsigned)RTE_MAX(info.max_rx_queues, 1));
	if (info.max_tx_queues < dp.n_workers) {
		snprintf(err, err_len,
			 "device '%s' has %u transmit queue%s and dse-dpud runs %u workers, each "
			 "needing one (net_pcap: give rx_pcap or tx_pcap once per worker)",
			 devname, info.max_tx_queues, info.max_tx_queues == 1 ? "" : "s",
			 dp.n_workers);
		port_destroy(port_id, devname);
		return -EINVAL;
	}
	if (n_rxq > 1 && info.flow_type_rss_offloads != 0) {
		/*
		 * Spread by RSS with a key whose Toeplitz hash is the same
		 * both ways, so both directions of a connection reach one
		 * worker (the firewall hands over what does not anyway).
		 */
		eth_conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		eth_conf.rx_adv_conf.rss_conf.rss_key = (uint8_t *)rss_key_symmetric;
		eth_conf.rx_adv_conf.rss_conf.rss_key_len = sizeof(rss_key_symmetric);
		eth_conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
			info.flow_type_rss_offloads;
	}
	r = rte_eth_dev_configure(port_id, n_rxq, (uint16_t)dp.n_workers, &eth_conf);
	for (uint16_t q = 0; r == 0 && q < n_rxq; q++)
		r = rte_eth_rx_queue_setup(port_id, q, PORT_RX_DESC, rte_eth_dev_socket_id(port_id),
					   NULL, dp.pool);
	for (uint16_t q = 0; r == 0 && q < dp.n_workers; q++)
		r = rte_eth_tx_queue_setup(port_id, q, PORT_TX_DESC, rte_eth_dev_socket_id(port_id),
					   NULL);
	if (r == 0)
		r = rte_eth_dev_start(port_id);
	if (r < 0) {
		snprintf(err, err_len, "could not start device '%s': %s", devname, strerror(-r));
		port_destroy(port_id, devname);
		return r;
	}
	/* A switch port must see frames for every address; some PMDs cannot say no. */
	rte_eth_promiscuous_enable(port_id);
	memset(&kernel[port_id], 0, sizeof(kernel[port_id]));
	if (conf->iface) {
		snprintf(kernel[port_id].iface, sizeof(kernel[port_id].iface), "%s", conf->iface);
		kernel[port_id].ifindex = (int)if_nametoindex(conf->iface);
		kernel[port_id].sum.ring_frames = conf->ring_frames;
		port_check_afpacket(&kernel[port_id], devname);
	}

	port.used = true;
	snprintf(port.name, sizeof(port.name), "%s", conf->name);
	snprintf(port.devargs, sizeof(port.devargs), "%s", conf->devargs);
	port.port_id = port_id;
	port.mtu = conf->mtu;
	port.max_frame = max_frame;
	port.n_rxq = n_rxq;
	port.mode = conf->mode;
	port.segment = conf->segment;
	port.uplink = conf->uplink;
	memcpy(port.trunk_segs, conf->trunk_segs, sizeof(port.trunk_segs));
	dp_call(port_attach, &port);
	DSE_LOG_INFO("port", "added port %s (id %u, %s)", conf->name, port_id, effective);
	return port_id;
}

void dse_port_del(uint16_t port_id)
{
	char devname[RTE_ETH_NAME_MAX_LEN];
	char name[DSE_NAME_MAX];

	snprintf(name, sizeof(name), "%s", dp.ports[port_id].name);
	devargs_name(dp.ports[port_id].devargs, devname, sizeof(devname));
	dp_call(port_detach, &port_id);
	port_destroy(port_id, devname);
	memset(&kernel[port_id], 0, sizeof(kernel[port_id]));
	DSE_LOG_INFO("port", "removed port %s (id %u)", name, port_id);
}

void dse_port_del_all(void)
{
	for (uint16_t p = 0; p < DSE_MAX_PORTS; p++)
		if (dp.ports[p].used)
			dse_port_del(p);
}
