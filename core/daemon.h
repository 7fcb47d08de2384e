/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every Nephele daemon shares: its command line (--config-file
 * repeatable, later files override; --log-file; --use-syslog; --debug;
 * --help; --version), logging set up from [DEFAULT] debug / log_file /
 * use_syslog as in nova.conf, and orderly shutdown on SIGTERM or SIGINT.
 */
#ifndef NPH_DAEMON_H
#define NPH_DAEMON_H

#include <stdbool.h>
#include "bus.h"
#include "conf.h"

struct nph_daemon {
    const char *name;       /* program name: nephele-conductor */
    const char *summary;    /* one line for --help */
    const char *config_help;/* the config keys this daemon reads, for --help; may be NULL */
    nph_config *cfg;        /* merged configuration; owned, freed by nph_daemon_free */
    char host[256];         /* [DEFAULT] host, else the machine's name */
    const char *transport_url; /* [DEFAULT] transport_url, else the local RabbitMQ */
};

#define NPH_DEFAULT_TRANSPORT_URL "amqp://guest:guest@127.0.0.1:5672/"

/* Parse the command line, load the configuration and set up logging.
 * Returns -1 to go on running, or the exit status to leave with at once
 * (0 after --help or --version, 1 for a bad file, 2 for bad usage); the
 * reason has been printed. */
int nph_daemon_init(struct nph_daemon *d, int argc, char **argv);

/* Block the shutdown signals in the calling thread and every thread it
 * starts from now on.  Call before starting any thread. */
void nph_daemon_block_signals(void);
/* Wait for SIGTERM, SIGINT or SIGHUP; returns the signal number. */
int nph_daemon_wait_for_signal(void);

void nph_daemon_free(struct nph_daemon *d);

/* Start a service on a bus opened from [DEFAULT] transport_url; *service is
 * handed back to the matching stop function. */
typedef nph_status (*nph_service_start_fn)(struct nph_daemon *d, nph_bus *bus, void **service,
                                           nph_error *err);
typedef void (*nph_service_free_fn)(void *service);

/* The whole life of a one-service daemon: init, open the bus as
 * "<bus_name>.<host>" (no bus for a NULL bus_name: start gets NULL), start, wait for a shutdown signal, close the bus
 * (finishing the work in progress), free the service.  Returns the exit
 * status for main(). */
int nph_daemon_run(struct nph_daemon *d, int argc, char **argv, const char *bus_name,
                   nph_service_start_fn start, nph_service_free_fn stop);

#endif
