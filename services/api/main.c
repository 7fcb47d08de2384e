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
            "                            names both (default noauth2); builtin: our own\n"
            "                            Keystone v3 subset ([identity]); keystone: tokens\n"
            "                            of an external Keystone ([keystone_authtoken])\n"
            "  [keystone_authtoken] auth_url, username, password, project_name   required\n"
            "                            with keystone: the service user that validates tokens\n"
            "  [keystone_authtoken] www_authenticate_uri   named in a 401 (default auth_url)\n"
            "  [keystone_authtoken] user_domain_name, project_domain_name   (default Default)\n"
            "  [keystone_authtoken] token_cache_time   seconds a valid token is cached\n"
            "                            (default 300; 0: no cache)\n"
            "  [keystone_authtoken] timeout   seconds per request to Keystone (default 10)\n"
            "  [consoleauth] token_ttl   seconds a console URL stays valid (default 600)\n"
            "  [vnc] enabled, novncproxy_base_url   VNC consoles (default true,\n"
            "                            http://127.0.0.1:6080/vnc_auto.html)\n"
            "  [serial_console] enabled, base_url   (default false, ws://127.0.0.1:6083/)\n"
            "  [spice] enabled, html5proxy_base_url (default false,\n"
            "                            http://127.0.0.1:6082/spice_auto.html)\n"
            "  [mks] enabled, mksproxy_base_url     (default false, http://127.0.0.1:6090/)\n"
            "  [database] connection     sqlite:///PATH or postgresql://... (default\n"
            "                            sqlite:///" NPH_STATE_DIR "/nephele.db)\n",
    };
    return nph_daemon_run(&d, argc, argv, "api", start, stop);
}
