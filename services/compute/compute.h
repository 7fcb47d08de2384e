/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nephele-compute as a library: the host agent.  It loads the drivers of
 * plugins.d, registers its service and nodes through the conductor,
 * heartbeats, runs instance operations on worker threads (build, delete,
 * reboot, stop, start, pause, unpause, suspend, resume), reports every state
 * change, keeps the database's power states in line with the hypervisor's,
 * and on start-up repairs instances a crash left in a task state.  It serves
 * the "compute.<host>" topic of the bus and holds no database credentials.
 *
 * Configuration read: [DEFAULT] host, report_interval, rpc_response_timeout;
 * [compute] plugins_dir, plugin_dir, workers, sync_power_state_interval,
 * resource_update_interval.
 */
#ifndef NPH_COMPUTE_H
#define NPH_COMPUTE_H

#include "bus.h"
#include "conf.h"

typedef struct nph_compute nph_compute;

nph_status nph_compute_start(const nph_config *cfg, const char *host, nph_bus *bus,
                             nph_compute **out, nph_error *err);
/* Stop the periodic tasks and release the drivers.  Close the bus first so
 * no operation is running. */
void nph_compute_free(nph_compute *c);

#endif
