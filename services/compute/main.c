/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nephele-compute: the host agent as a daemon. */
#include "config.h"

#include "compute.h"
#include "daemon.h"

static nph_status start(struct nph_daemon *d, nph_bus *bus, void **service, nph_error *err)
{
    return nph_compute_start(d->cfg, d->host, bus, (nph_compute **)service, err);
}

static void stop(void *service)
{
    nph_compute_free(service);
}

int main(int argc, char **argv)
{
    struct nph_daemon d = {
        .name = "nephele-compute",
        .summary = "Run instances on this host's hypervisors through the drivers of plugins.d,\n"
                   "serving the compute.HOST topic; all database access goes through the\n"
                   "conductor.",
        .config_help =
            "  [DEFAULT] transport_url   message bus (default " NPH_DEFAULT_TRANSPORT_URL ")\n"
            "  [DEFAULT] host            this host's name (default: the machine's)\n"
            "  [DEFAULT] report_interval seconds between heartbeats (default 10)\n"
            "  [DEFAULT] rpc_response_timeout  seconds to wait for the conductor (default 60)\n"
            "  [compute] plugins_dir     driver instances (default " NPH_PLUGINS_CONF_DIR ")\n"
            "  [compute] plugin_dir      driver modules (default " NPH_PLUGIN_DIR ")\n"
            "  [compute] workers         operations run at once (default 8)\n"
            "  [compute] sync_power_state_interval  seconds (default 60)\n"
            "  [compute] resource_update_interval   seconds (default 60)\n",
    };
    return nph_daemon_run(&d, argc, argv, "compute", start, stop);
}
