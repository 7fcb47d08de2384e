/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The life of a console proxy daemon: every daemon's, without a bus (the
 * proxy needs the database only). */
#include "config.h"

#include <stdio.h>

#include "console.h"
#include "daemon.h"

static const struct nph_console_proxy_kind *daemon_kind;

static nph_status start(struct nph_daemon *d, nph_bus *bus, void **service, nph_error *err)
{
    (void)bus;
    nph_console_proxy *p = NULL;
    nph_status st = nph_console_proxy_start(d->cfg, daemon_kind, &p, err);
    if (st != NPH_OK)
        return st;
    /* Tests and scripts read the port it got from this line. */
    printf("%s ready on port %u\n", d->name, nph_console_proxy_port(p));
    fflush(stdout);
    *service = p;
    return NPH_OK;
}

static void stop(void *service)
{
    nph_console_proxy_free(service);
}

int nph_console_proxy_main(struct nph_daemon *d, const struct nph_console_proxy_kind *kind,
                           int argc, char **argv)
{
    daemon_kind = kind;
    return nph_daemon_run(d, argc, argv, NULL, start, stop);
}
