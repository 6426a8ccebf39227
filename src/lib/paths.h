/* SPDX-License-Identifier: BSD-3-Clause */
/* Paths that several programs must agree on. */
#ifndef DSE_PATHS_H
#define DSE_PATHS_H

/*
 * dse-hostd's API socket when it is given no --socket, and where dsectl
 * looks when it is given no -s (and $DSE_HOSTD_SOCKET is unset): the two
 * meet without flags.  The lab gives each host its own (STATE/hH/hostd.sock).
 */
#define DSE_HOSTD_SOCKET_DEFAULT "/run/dse/hostd.sock"

#endif
