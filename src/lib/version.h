/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DSE_VERSION_H
#define DSE_VERSION_H

/* The version every dse program reports; the build may override it. */
#ifndef DSE_VERSION
#define DSE_VERSION "0.1.0"
#endif

#endif
