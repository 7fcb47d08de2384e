/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "error.h"
#include "log.h"

NPH_LOG_INIT("core.daemon");

#ifndef NPH_SYSCONF_DIR
#define NPH_SYSCONF_DIR "/usr/local/etc/nephele"
#endif

static void daemon_usage(const struct nph_daemon *d)
{
    printf("Usage: %s [OPTION]...\n%s\n\n"
           "Options:\n"
           "  --config-file FILE  read FILE (INI, nova.conf style); repeatable, later files\n"
           "                      override earlier ones (default: %s/nephele.conf when\n"
           "                      it exists)\n"
           "  --log-file FILE     append log lines to FILE ([DEFAULT] log_file)\n"
           "  --use-syslog        log to syslog ([DEFAULT] use_syslog)\n"
           "  -d, --debug         log at debug level ([DEFAULT] debug)\n"
           "  -h, --help          show this help and exit\n"
           "  -V, --version       show the version and exit\n"
           "\n"
           "Logs go to standard error unless a file or syslog is chosen; every line carries\n"
           "the request id of the work it belongs to. SIGTERM or SIGINT stops the daemon\n"
           "after the work in progress; nothing unfinished is acknowledged.\n",
           d->name, d->summary, NPH_SYSCONF_DIR);
    if (d->config_help)
        printf("\nConfiguration:\n%s", d->config_help);
}

static int setup_logging(struct nph_daemon *d, const char *log_file, bool use_syslog, bool debug)
{
    nph_error err = NPH_ERROR_INIT;
    bool cfg_debug = false, cfg_syslog = false;
    if (nph_config_get_bool(d->cfg, "DEFAULT", "debug", false, &cfg_debug, &err) != NPH_OK ||
        nph_config_get_bool(d->cfg, "DEFAULT", "use_syslog", false, &cfg_syslog, &err) != NPH_OK) {
        fprintf(stderr, "%s: %s\n", d->name, err.message);
        return 1;
    }
    nph_log_set_level(debug || cfg_debug ? NPH_LOG_DEBUG : NPH_LOG_INFO);
    if (!log_file)
        log_file = nph_config_get(d->cfg, "DEFAULT", "log_file", NULL);
    if (log_file && *log_file) {
        if (nph_log_to_file(log_file, &err) != NPH_OK) {
            fprintf(stderr, "%s: %s\n", d->name, err.message);
            return 1;
        }
    } else if (use_syslog || cfg_syslog) {
        nph_log_to_syslog(d->name);
    }
    return -1;
}

int nph_daemon_init(struct nph_daemon *d, int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "config-file", required_argument, NULL, 'c' },
        { "log-file", required_argument, NULL, 'l' },
        { "use-syslog", no_argument, NULL, 's' },
        { "debug", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    nph_error err = NPH_ERROR_INIT;
    const char *log_file = NULL;
    bool any_config = false, use_syslog = false, debug = false;
    d->cfg = nph_config_new();
    if (!d->cfg)
        return 1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "dhV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (nph_config_load_file(d->cfg, optarg, &err) != NPH_OK) {
                fprintf(stderr, "%s: %s\n", d->name, err.message);
                return 1;
            }
            any_config = true;
            break;
        case 'l': log_file = optarg; break;
        case 's': use_syslog = true; break;
        case 'd': debug = true; break;
        case 'h': daemon_usage(d); return 0;
        case 'V': printf("%s (Nephele) %s\n", d->name, PACKAGE_VERSION); return 0;
        default:
            fprintf(stderr, "Try '%s --help'.\n", d->name);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\nTry '%s --help'.\n", d->name, argv[optind],
                d->name);
        return 2;
    }
    if (!any_config &&
        nph_config_load_file(d->cfg, NPH_SYSCONF_DIR "/nephele.conf", &err) != NPH_OK &&
        err.code != NPH_ERR_NOT_FOUND) {
        fprintf(stderr, "%s: %s\n", d->name, err.message);
        return 1;
    }
    const char *host = nph_config_get(d->cfg, "DEFAULT", "host", NULL);
    if (host)
        snprintf(d->host, sizeof(d->host), "%s", host);
    else if (gethostname(d->host, sizeof(d->host) - 1) != 0)
        snprintf(d->host, sizeof(d->host), "localhost");
    d->transport_url = nph_config_get(d->cfg, "DEFAULT", "transport_url", NPH_DEFAULT_TRANSPORT_URL);
    return setup_logging(d, log_file, use_syslog, debug);
}

static void shutdown_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
}

void nph_daemon_block_signals(void)
{
    sigset_t set;
    shutdown_signals(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    /* A peer closing a socket must not kill the daemon. */
    signal(SIGPIPE, SIG_IGN);
}

int nph_daemon_wait_for_signal(void)
{
    sigset_t set;
    shutdown_signals(&set);
    int sig = 0;
    while (sigwait(&set, &sig) != 0)
        ;
    return sig;
}

void nph_daemon_free(struct nph_daemon *d)
{
    nph_config_free(d->cfg);
    d->cfg = NULL;
}

int nph_daemon_run(struct nph_daemon *d, int argc, char **argv, const char *bus_name,
                   nph_service_start_fn start, nph_service_free_fn stop)
{
    int rc = nph_daemon_init(d, argc, argv);
    if (rc >= 0) {
        nph_daemon_free(d);
        return rc;
    }
    nph_daemon_block_signals();
    nph_error err = NPH_ERROR_INIT;
    nph_bus *bus = NULL;
    void *service = NULL;
    char name[300];
    snprintf(name, sizeof(name), "%s.%s", bus_name, d->host);
    if ((bus_name && nph_bus_open(d->transport_url, name, &bus, &err) != NPH_OK) ||
        start(d, bus, &service, &err) != NPH_OK) {
        nph_crit("%s cannot start: %s", d->name, err.message);
        nph_bus_close(bus);
        nph_daemon_free(d);
        return 1;
    }
    nph_info("%s %s ready on host %s", d->name, PACKAGE_VERSION, d->host);
    int sig = nph_daemon_wait_for_signal();
    nph_info("signal %d: finishing the work in progress", sig);
    nph_bus_close(bus);
    stop(service);
    nph_info("%s stopped", d->name);
    nph_daemon_free(d);
    return 0;
}
