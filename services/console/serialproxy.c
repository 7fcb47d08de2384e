/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nephele-serialproxy: websocket clients to the guests' serial consoles. */
#include "config.h"

#include "console.h"
#include "daemon.h"

int main(int argc, char **argv)
{
    struct nph_daemon d = {
        .name = "nephele-serialproxy",
        .summary = "Relay websocket clients to the serial consoles of servers: checks the\n"
                   "token of the URL the compute API handed out (openstack console url show\n"
                   "--serial).",
        .config_help =
            "  [serial_console] serialproxy_host   address to listen on (default 127.0.0.1)\n"
            "  [serial_console] serialproxy_port   port to listen on (default 6083; 0 picks one)\n"
            "  [console] allowed_origins host names a browser's Origin may name besides\n"
            "                            the proxy's own (comma-separated; default none)\n"
            "  [database] connection     where the API keeps the console tokens (default\n"
            "                            sqlite:///" NPH_STATE_DIR "/nephele.db)\n",
    };
    return nph_console_proxy_main(&d, &nph_serialproxy, argc, argv);
}
