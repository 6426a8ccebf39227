/* SPDX-License-Identifier: BSD-3-Clause */
/* The HA module (ha.c): roles, the hold of the datapath, the state sync. */
#ifndef DSE_HA_H
#define DSE_HA_H

/* Lets ha.fault.set inject faults into the sync link (--ha-faults: the lab, the tests). */
void dse_ha_allow_faults(void);

#endif
