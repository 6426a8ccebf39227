/* SPDX-License-Identifier: BSD-3-Clause */
/* See afpacket.h for why dse-dpud defines setsockopt(). */
#include "afpacket.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PACKET_FANOUT_FLAG_DEFRAG
#define PACKET_FANOUT_FLAG_DEFRAG 0x8000
#endif

static pthread_mutex_t afp_lock = PTHREAD_MUTEX_INITIALIZER;
static int afp_fds[DSE_AFP_MAX_SOCKETS]; /* sockets that joined a fanout group; -1: free */
static unsigned afp_n;			 /* used entries of afp_fds */
static atomic_uint_fast64_t afp_cleared;
static atomic_bool afp_by_cpu; /* fanout requests ask for PACKET_FANOUT_CPU */

void dse_afp_fanout_by_cpu(bool on)
{
	atomic_store(&afp_by_cpu, on);
}

static void afp_remember(int fd)
{
	pthread_mutex_lock(&afp_lock);
	for (unsigned i = 0; i < afp_n; i++) {
		if (afp_fds[i] == fd)
			goto out;
	}
	if (afp_n < DSE_AFP_MAX_SOCKETS)
		afp_fds[afp_n++] = fd;
out:
	pthread_mutex_unlock(&afp_lock);
}

/*
 * The C library's setsockopt() is a plain system call on Linux, so this
 * one makes it directly: it must not call back into itself.
 */
int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
{
	uint32_t arg;
	long r;

	if (level != SOL_PACKET || optname != PACKET_FANOUT || optval == NULL ||
	    optlen != sizeof(arg))
		return (int)syscall(SYS_setsockopt, fd, level, optname, optval, optlen);
	/* The argument is the group id in the low 16 bits, type and flags above. */
	memcpy(&arg, optval, sizeof(arg));
	if (arg & ((uint32_t)PACKET_FANOUT_FLAG_DEFRAG << 16)) {
		arg &= ~((uint32_t)PACKET_FANOUT_FLAG_DEFRAG << 16);
		atomic_fetch_add(&afp_cleared, 1);
	}
	/* The type is the low byte of the upper half; the flags above it stay. */
	if (atomic_load(&afp_by_cpu))
		arg = (arg & ~((uint32_t)0xff << 16)) | ((uint32_t)PACKET_FANOUT_CPU << 16);
	r = syscall(SYS_setsockopt, fd, level, optname, &arg, optlen);
	if (r == 0)
		afp_remember(fd);
	return (int)r;
}

uint64_t dse_afp_defrag_cleared(void)
{
	return atomic_load(&afp_cleared);
}

/* Returns true when 'fd' is still an AF_PACKET socket; sets '*ifindex' to where it is bound. */
static bool afp_bound(int fd, int *ifindex)
{
	struct sockaddr_ll sll;
	socklen_t len = sizeof(sll);
	int domain;
	socklen_t dlen = sizeof(domain);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) < 0 || domain != AF_PACKET)
		return false;
	memset(&sll, 0, sizeof(sll));
	if (getsockname(fd, (struct sockaddr *)&sll, &len) < 0)
		return false;
	*ifindex = sll.sll_ifindex;
	return true;
}

unsigned dse_afp_sockets(int ifindex, int *fds, unsigned max)
{
	unsigned n = 0;

	pthread_mutex_lock(&afp_lock);
	for (unsigned i = 0; i < afp_n;) {
		int idx;

		/* A socket closed since (or its number reused by another kind) is forgotten. */
		if (!afp_bound(afp_fds[i], &idx)) {
			afp_fds[i] = afp_fds[--afp_n];
			continue;
		}
		if (idx == ifindex && n < max)
			fds[n++] = afp_fds[i];
		i++;
	}
	pthread_mutex_unlock(&afp_lock);
	return n;
}
