/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nephele-aio: api, conductor and compute in one process. */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aio.h"
#include "api.h"
#include "bus.h"
#include "compute.h"
#include "conductor.h"
#include "conf.h"
#include "console.h"
#include "daemon.h"
#include "error.h"
#include "log.h"

NPH_LOG_INIT("aio");

static void usage(void)
{
    printf("Usage: nephele-aio [OPTION]...\n"
           "Run the compute API, the conductor and a compute host in one process, on SQLite\n"
           "and the in-process bus: a whole cloud from one directory.\n"
           "The console proxies run in it too: noVNC on [vnc] novncproxy_host:novncproxy_port\n"
           "(default 127.0.0.1:6080; 0 picks a port), serial consoles when [serial_console]\n"
           "enabled = true (port 6083); a proxy that cannot listen is left out with a warning.\n"
           "\n"
           "Options:\n"
           "  --data-dir DIR      where everything lives (default ./nephele-data); created\n"
           "                      with nephele.conf, plugins.d/, images/ and the database on\n"
           "                      first start, and kept as it is on later ones\n"
           "  --listen HOST:PORT  where the API listens (default: [api] listen of\n"
           "                      DIR/nephele.conf, first 127.0.0.1:8774)\n"
           "  --config-file FILE  read FILE after DIR/nephele.conf; repeatable\n"
           "  --driver NAME       for a new DIR: auto (default: real guests with libvirt's\n"
           "                      embedded QEMU when a probe guest boots, KVM else TCG;\n"
           "                      otherwise the fake driver), libvirt or fake\n"
           "  --log-file FILE     append log lines to FILE instead of standard error\n"
           "  -d, --debug         log at debug level\n"
           "  -h, --help          show this help and exit\n"
           "  -V, --version       show the version and exit\n"
           "\n"
           "Once every service answers it prints one line starting 'nephele-aio ready' with\n"
           "the endpoints, and writes DIR/openrc for the openstack CLI:\n"
           "  . DIR/openrc && openstack server create --flavor m1.tiny --image nephele-tiny \\\n"
           "      --network none --wait demo\n"
           "SIGTERM or SIGINT stops it after the work in progress.\n");
}

struct options {
    const char *dir, *listen, *log_file, *driver;
    const char *config_files[16];
    int n_config_files;
    bool debug;
};

/* -1 to go on, else the exit status. */
static int parse(int argc, char **argv, struct options *o)
{
    static const struct option long_opts[] = {
        { "data-dir", required_argument, NULL, 'D' }, { "listen", required_argument, NULL, 'L' },
        { "config-file", required_argument, NULL, 'c' }, { "log-file", required_argument, NULL, 'l' },
        { "debug", no_argument, NULL, 'd' },          { "help", no_argument, NULL, 'h' },
        { "driver", required_argument, NULL, 'r' },
        { "version", no_argument, NULL, 'V' },        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "dhV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'D': o->dir = optarg; break;
        case 'L': o->listen = optarg; break;
        case 'l': o->log_file = optarg; break;
        case 'r':
            if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "libvirt") != 0 &&
                strcmp(optarg, "fake") != 0) {
                fprintf(stderr, "nephele-aio: --driver is auto, libvirt or fake, not '%s'\n",
                        optarg);
                return 2;
            }
            o->driver = optarg;
            break;
        case 'd': o->debug = true; break;
        case 'c':
            if (o->n_config_files == 16) {
                fprintf(stderr, "nephele-aio: at most 16 --config-file options\n");
                return 2;
            }
            o->config_files[o->n_config_files++] = optarg;
            break;
        case 'h': usage(); return 0;
        case 'V': printf("nephele-aio (Nephele) %s\n", PACKAGE_VERSION); return 0;
        default: fprintf(stderr, "Try 'nephele-aio --help'.\n"); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "nephele-aio: unexpected argument '%s'\nTry 'nephele-aio --help'.\n",
                argv[optind]);
        return 2;
    }
    return -1;
}

static nph_status load_config(const struct options *o, const char *dir, nph_config *cfg,
                              nph_error *err)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/nephele.conf", dir);
    nph_status st = nph_config_load_file(cfg, path, err);
    for (int i = 0; st == NPH_OK && i < o->n_config_files; i++)
        st = nph_config_load_file(cfg, o->config_files[i], err);
    if (st == NPH_OK && o->listen) {
        char text[600];
        snprintf(text, sizeof(text), "[api]\nlisten = %s\n", o->listen);
        st = nph_config_load_string(cfg, "--listen", text, err);
    }
    return st;
}

struct services {
    nph_bus *bus;
    nph_conductor *conductor;
    nph_compute *compute;
    nph_api *api;
    nph_console_proxy *proxies[2]; /* novnc, serial */
};

/* The console proxies of enabled consoles ([vnc] enabled, default true;
 * [serial_console] enabled, default false).  A proxy that cannot listen
 * costs the consoles only: the cloud starts without it.  A base URL left
 * unset names the port the proxy got. */
static void start_proxies(nph_config *cfg, struct services *s)
{
    static const struct nph_console_proxy_kind *const kinds[] = { &nph_novncproxy,
                                                                  &nph_serialproxy };
    for (size_t i = 0; i < 2; i++) {
        const struct nph_console_proxy_kind *k = kinds[i];
        bool on = false;
        nph_error err = NPH_ERROR_INIT;
        if (nph_config_get_bool(cfg, k->section, "enabled", i == 0, &on, &err) != NPH_OK || !on ||
            nph_console_proxy_start(cfg, k, &s->proxies[i], &err) != NPH_OK) {
            if (err.message[0])
                nph_warn("no %s: %s", k->name, err.message);
            continue;
        }
        if (nph_config_find(cfg, k->section, k->url_key))
            continue;
        char text[600];
        snprintf(text, sizeof(text), "[%s]\n%s = %s://%s:%u%s\n", k->section, k->url_key,
                 k->url_scheme, nph_config_get(cfg, k->section, k->host_key, "127.0.0.1"),
                 nph_console_proxy_port(s->proxies[i]), k->url_path);
        if (nph_config_load_string(cfg, k->name, text, &err) != NPH_OK)
            nph_warn("%s", err.message);
    }
}

static nph_status start(nph_config *cfg, struct services *s, nph_error *err)
{
    start_proxies(cfg, s);
    nph_status st = nph_bus_open("inproc://", "aio", &s->bus, err);
    if (st == NPH_OK)
        st = nph_conductor_start(cfg, nph_config_get(cfg, "DEFAULT", "host", "aio"), s->bus,
                                 &s->conductor, err);
    if (st == NPH_OK)
        st = nph_compute_start(cfg, nph_config_get(cfg, "DEFAULT", "host", "aio"), s->bus,
                               &s->compute, err);
    if (st == NPH_OK)
        st = nph_api_start(cfg, s->bus, &s->api, err);
    return st;
}

static void stop(struct services *s)
{
    nph_api_free(s->api);      /* no new requests */
    for (size_t i = 0; i < 2; i++)
        nph_console_proxy_free(s->proxies[i]);
    nph_bus_close(s->bus);     /* finish the work in progress */
    nph_compute_free(s->compute);
    nph_conductor_free(s->conductor);
}

int main(int argc, char **argv)
{
    struct options o = { .dir = "nephele-data", .driver = "auto" };
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    nph_log_set_level(o.debug ? NPH_LOG_DEBUG : NPH_LOG_INFO);
    nph_error err = NPH_ERROR_INIT;
    if (o.log_file && nph_log_to_file(o.log_file, &err) != NPH_OK) {
        fprintf(stderr, "nephele-aio: %s\n", err.message);
        return 1;
    }
    char dir[PATH_MAX];
    nph_auto_config *cfg = nph_config_new();
    if (aio_prepare_dir(o.dir, o.listen ? o.listen : "127.0.0.1:8774", o.driver, &err) != NPH_OK ||
        !realpath(o.dir, dir) || load_config(&o, dir, cfg, &err) != NPH_OK ||
        aio_seed(nph_config_get(cfg, "database", "connection", ""),
                 nph_config_get(cfg, "glance", "image_dir", dir), &err) != NPH_OK) {
        fprintf(stderr, "nephele-aio: %s\n", err.message[0] ? err.message : "cannot prepare the data directory");
        return 1;
    }
    nph_daemon_block_signals();
    struct services s = { 0 };
    if (start(cfg, &s, &err) != NPH_OK) {
        nph_crit("nephele-aio cannot start: %s", err.message);
        stop(&s);
        return 1;
    }
    const char *listen = nph_config_get(cfg, "api", "listen", "127.0.0.1:8774");
    char base[600];
    snprintf(base, sizeof(base), "http://%.*s:%u", (int)(strrchr(listen, ':') - listen), listen,
             nph_api_port(s.api));
    if (aio_write_openrc(dir, cfg, base, &err) != NPH_OK)
        nph_warn("%s", err.message);
    const char *auth = nph_config_get(cfg, "api", "auth_strategy", "noauth2");
    char identity[700] = "";
    if (strcmp(auth, "builtin") == 0)
        snprintf(identity, sizeof(identity), " identity %s/v3", base);
    else if (strcmp(auth, "keystone") == 0) /* the external one clients log in to */
        snprintf(identity, sizeof(identity), " identity %s",
                 nph_config_get(cfg, "keystone_authtoken", "www_authenticate_uri",
                                nph_config_get(cfg, "keystone_authtoken", "auth_url", "?")));
    printf("nephele-aio ready: compute %s/v2.1%s (data %s, openrc %s/openrc)\n", base, identity,
           dir, dir);
    fflush(stdout);
    int sig = nph_daemon_wait_for_signal();
    nph_info("signal %d: finishing the work in progress", sig);
    stop(&s);
    nph_info("nephele-aio stopped");
    return 0;
}
