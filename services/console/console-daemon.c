/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The life of a console proxy daemon: it needs the database, not the bus. */
#include "config.h"

#include <stdio.h>

#include "console.h"
#include "daemon.h"
#include "error.h"
#include "log.h"

NPH_LOG_INIT("console.daemon");

int nph_console_proxy_main(struct nph_daemon *d, const struct nph_console_proxy_kind *kind,
                           int argc, char **argv)
{
    int rc = nph_daemon_init(d, argc, argv);
    if (rc >= 0) {
        nph_daemon_free(d);
        return rc;
    }
    nph_daemon_block_signals();
    nph_error err = NPH_ERROR_INIT;
    nph_console_proxy *p = NULL;
    if (nph_console_proxy_start(d->cfg, kind, &p, &err) != NPH_OK) {
        nph_crit("%s cannot start: %s", d->name, err.message);
        nph_daemon_free(d);
        return 1;
    }
    /* Tests and scripts read the port it got from this line. */
    printf("%s ready on port %u\n", d->name, nph_console_proxy_port(p));
    fflush(stdout);
    int sig = nph_daemon_wait_for_signal();
    nph_info("signal %d: closing the consoles", sig);
    nph_console_proxy_free(p);
    nph_info("%s stopped", d->name);
    nph_daemon_free(d);
    return 0;
}
