/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IP fragments on firewalled segments.  Connection tracking must see whole
 * datagrams: a first fragment alone has only part of the bytes (the peer's
 * acknowledgement of the whole segment would then look out of window), and
 * later fragments carry no ports at all.  So fragments of a firewalled
 * segment are reassembled first (DPDK's rte_ip_frag, in a bounded table
 * per worker with a timeout), the datagram is checked, tracked and judged
 * as one packet, and if it passes it leaves fragmented again, in fragments
 * as large as the largest it came in (so it leaves much as it came) and no
 * larger than the egress allows.
 *
 * Bounds: the table holds at most 'max_datagrams' incomplete datagrams of at
 * most RTE_LIBRTE_IP_FRAG_MAX_FRAG fragments each, and a datagram not
 * complete within the timeout is dropped, so a flood of incomplete
 * datagrams holds a fixed number of packet buffers and is counted.
 *
 * The table's key is the addresses and the identification, as RFC 791
 * says.  Segments may use the same addresses, and a datagram must be judged
 * at the one port it came in by, so the fragments of each zone and ingress
 * port are keyed apart, by mixing secret values of both into the source
 * address while they wait (a 32-bit secret: a fragment of another zone or
 * port completes a datagram only by a guess of 1 in 2^32).
 */
#ifndef DSE_FRAG_H
#define DSE_FRAG_H

#include <stdint.h>

#include <rte_ip_frag.h>
#include <rte_mbuf.h>

#include "parse.h"

#define DSE_FRAG_MAX_DATAGRAMS_DEFAULT 256
#define DSE_FRAG_TIMEOUT_S_DEFAULT     5

/* A worker's reassembly state. */
struct dse_frag {
	struct rte_ip_frag_tbl *tbl;	 /* datagrams being reassembled */
	struct rte_ip_frag_death_row dr; /* fragments rte_ip_frag gave up, to be dropped */
	uint32_t zone_mask[4096];	 /* secret per zone, mixed into the key (frag.h) */
	uint32_t port_mask[256];	 /* ... and per ingress port */
	uint64_t reassembled;		 /* datagrams completed */
	uint64_t fragmented;		 /* datagrams sent on in fragments */
};

/* What dse_frag_check() says about a fragment before it joins a datagram. */
enum dse_frag_check {
	DSE_FRAG_OK = 0,
	DSE_FRAG_BAD, /* not a multiple of 8 bytes but more follow, empty, or beyond 64 KiB */
	DSE_FRAG_EXT, /* IPv6: the fragment header is not right after the fixed header */
	DSE_FRAG_OVERLAP_TCP, /* IPv4 TCP fragment at offset 8: it would overwrite the header (RFC 1858) */
};

/*
 * Creates the reassembly state 'f' for at most 'max_datagrams' incomplete
 * datagrams, each dropped 'timeout_ns' after its first fragment, on NUMA
 * 'socket'.  Returns 0 or a negative errno.
 */
int dse_frag_init(struct dse_frag *f, uint32_t max_datagrams, uint64_t timeout_ns, int socket);

/* Frees the table and the fragments it holds (drop the death row's first). */
void dse_frag_fini(struct dse_frag *f);

/* Checks fragment 'm' parsed as 'pi' (dse_pkt_is_fragment() is true). */
enum dse_frag_check dse_frag_check(const struct rte_mbuf *m, const struct dse_pkt_info *pi);

/*
 * Adds fragment 'm' (parsed as 'pi', checked, of zone 'zone', come in by
 * port 'port') seen at 'now' to its datagram (of that zone and port), and
 * sets '*ret_id' to its identification (IPv6;
 * 0 for IPv4, whose header keeps it).  Returns the whole datagram when
 * this fragment completed it: a chain of segments whose first is the first
 * fragment (its packet metadata is the first fragment's: dse_frag_datagram()
 * makes it describe the datagram).  Returns NULL when the fragment was kept
 * to wait for the others, or was dropped with its datagram: dropped
 * fragments go to f->dr (overlap, duplicate, too many fragments, table
 * full), for the caller to drop.
 */
struct rte_mbuf *dse_frag_add(struct dse_frag *f, struct rte_mbuf *m,
			      const struct dse_pkt_info *pi, uint16_t zone, uint16_t port,
			      uint64_t now, uint32_t *ret_id);

/*
 * Turns 'pi', the first fragment's parse, into that of the reassembled
 * datagram 'r', and sets '*ret_frag_size' to the largest fragment payload
 * it came in (a multiple of 8).  Returns 0, or -EMSGSIZE when the datagram
 * is longer than a frame may be (64 KiB with its layer 2 header).
 */
int dse_frag_datagram(const struct rte_mbuf *r, struct dse_pkt_info *pi, uint16_t *ret_frag_size);

/* Moves every incomplete datagram older than the timeout to the death row. */
void dse_frag_expire(struct dse_frag *f, uint64_t now);

/*
 * Splits the datagram 'm' (described by 'pi'; the frame may span several
 * segments) into fragments of at most 'payload' data bytes each (a
 * multiple of 8), each a new single-segment mbuf from 'pool' with the
 * frame's layer 2 header as it is in 'm'.  'id' is the IPv6 fragment
 * identification.  Writes up to 'max_out' mbufs to 'out' and returns how
 * many, or a negative errno (-ENOBUFS: no mbuf, -E2BIG: 'max_out' too
 * small, -EINVAL: 'payload' too small); on failure nothing is left
 * allocated.  'm' is left as it is.
 */
int dse_frag_split(const struct rte_mbuf *m, const struct dse_pkt_info *pi, uint16_t payload,
		   uint32_t id, struct rte_mempool *pool, struct rte_mbuf **out, unsigned max_out);

#endif
