/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nephele-conductor as a library: the only database writer on behalf of
 * compute hosts (instance reads, updates and state transitions, faults,
 * actions, compute nodes, service heartbeats) and the orchestrator of builds
 * and deletes.  It serves the "conductor" topic of the bus.
 *
 * Configuration read: [database] connection, [conductor] workers,
 * [DEFAULT] service_down_time, report_interval, allow_resize_to_same_host,
 * and what the scheduler reads (services/scheduler/scheduler.h).
 */
#ifndef NPH_CONDUCTOR_H
#define NPH_CONDUCTOR_H

#include "bus.h"
#include "conf.h"

typedef struct nph_conductor nph_conductor;

/* Check the configuration and the database, then serve the topic and
 * keep the service row of `host` (binary nephele-conductor) up to date. */
nph_status nph_conductor_start(const nph_config *cfg, const char *host, nph_bus *bus,
                               nph_conductor **out, nph_error *err);
/* Stop serving (the bus must be closed first, or stays open for others). */
void nph_conductor_free(nph_conductor *c);

/* The database URL a configuration names, with the embedded default. */
const char *nph_conductor_db_url(const nph_config *cfg);

#endif
