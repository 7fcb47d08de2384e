/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nephele-api: the compute API as a daemon. */
#include "config.h"

#include "api.h"
#include "daemon.h"

static nph_status start(struct nph_daemon *d, nph_bus *bus, void **service, nph_error *err)
{
    return nph_api_start(d->cfg, bus, (nph_api **)service, err);
}

static void stop(void *service)
{
    nph_api_free(service);
}

int main(int argc, char **argv)
{
    struct nph_daemon d = {
        .name = "nephele-api",
        .summary = "Serve the OpenStack Compute API v2.1 (microversions 2.1 to 2.79) over HTTP.",
        .config_help =
            "  [DEFAULT] transport_url   message bus (default " NPH_DEFAULT_TRANSPORT_URL ")\n"
            "  [DEFAULT] default_availability_zone   the zone servers land in (default nova)\n"
            "  [api] listen              HOST:PORT to listen on (default 127.0.0.1:8774)\n"
            "  [api] workers             HTTP worker threads (default 8)\n"
            "  [api] max_request_body_size   larger bodies get 413 (default 114688)\n"
            "  [api] max_limit           the most items one list returns (default 1000)\n"
            "  [api] auth_strategy       noauth2: no token means admin; a token USER:PROJECT\n"
            "                            names both (default noauth2)\n"
            "  [database] connection     sqlite:///PATH or postgresql://... (default\n"
            "                            sqlite:///" NPH_STATE_DIR "/nephele.db)\n",
    };
    return nph_daemon_run(&d, argc, argv, "api", start, stop);
}
