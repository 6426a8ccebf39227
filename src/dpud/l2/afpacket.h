/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * net_af_packet sockets as a switch needs them.
 *
 * DPDK's net_af_packet driver joins every socket it opens to a
 * PACKET_FANOUT group with PACKET_FANOUT_FLAG_DEFRAG, which makes the
 * kernel reassemble IPv4 fragments before they reach the ring.  A switch
 * must see what the wire carried: reassembled datagrams are longer than
 * the port's MTU (and are cut to the ring's frame size), so fragmented
 * traffic could not cross the lab's ports at all, and the firewall could
 * not judge fragments as a real DPU sees them.  The driver has no option
 * to leave the flag out, so dse-dpud defines setsockopt() itself: the
 * driver's call binds to the executable's definition before libc's, and
 * that definition clears the flag from PACKET_FANOUT requests and passes
 * every call on to the kernel unchanged otherwise (afpacket.c).
 *
 * It also notes which sockets joined a fanout group, so that the port
 * code can find the sockets behind a net_af_packet port (for example to
 * read the kernel's PACKET_STATISTICS).
 */
#ifndef DSE_AFPACKET_H
#define DSE_AFPACKET_H

#include <stdbool.h>
#include <stdint.h>

/* Most sockets remembered at once (every queue of every port is one). */
#define DSE_AFP_MAX_SOCKETS 256

/*
 * While 'on', the sockets that join a fanout group share the packets by the
 * CPU that received them (PACKET_FANOUT_CPU) instead of by flow hash: for
 * the port whose devargs say fanout_cpu=1 (port.c sets it around its probe).
 */
void dse_afp_fanout_by_cpu(bool on);

/*
 * Returns the number of PACKET_FANOUT requests whose defragmentation flag
 * was cleared since the start (tests check that the override is in force).
 */
uint64_t dse_afp_defrag_cleared(void);

/*
 * Writes the descriptors of the AF_PACKET sockets bound to interface
 * 'ifindex' that joined a fanout group (up to 'max' of them) to 'fds' and
 * returns how many.  Sockets closed since are left out.
 */
unsigned dse_afp_sockets(int ifindex, int *fds, unsigned max);

#endif
