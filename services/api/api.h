/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nephele-api as a library: the OpenStack Compute API v2.1 with
 * microversions over HTTP (libmicrohttpd, a thread pool).  It reads and
 * writes the database directly, as nova-api does, and hands builds and
 * instance operations to the conductor and the compute hosts over the bus.
 *
 * Configuration read: [api] listen (HOST:PORT, default 127.0.0.1:8774),
 * workers, max_request_body_size, max_limit, auth_strategy (noauth2,
 * builtin or keystone); [identity] (builtin); [keystone_authtoken]
 * (keystone); [database] connection; [DEFAULT] default_availability_zone;
 * [glance] image_dir.
 */
#ifndef NPH_API_H
#define NPH_API_H

#include <stdint.h>
#include "bus.h"
#include "conf.h"

typedef struct nph_api nph_api;

/* Check the configuration and the database, then listen. */
nph_status nph_api_start(const nph_config *cfg, nph_bus *bus, nph_api **out, nph_error *err);
/* The port it listens on (useful when the configuration asked for port 0). */
uint16_t nph_api_port(const nph_api *api);
/* Stop listening, finish the requests in progress, free. NULL is fine. */
void nph_api_free(nph_api *api);

#endif
