/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NPH_MANAGE_H
#define NPH_MANAGE_H

#include <stdio.h>
#include "conf.h"
#include "plugin.h"

/* What every nephele-manage command gets: merged configuration and paths. */
struct manage_ctx {
    nph_config *cfg;
    const char *plugins_conf_dir; /* plugins.d */
    const char *plugin_dir;       /* where modules are installed */
    const char *host_name;        /* NULL: the machine's */
    const char *database_url;     /* --database; NULL: [database] connection */
    FILE *out;
};

/* `nephele-manage driver ...`; returns the process exit status. */
int manage_driver(struct manage_ctx *ctx, int argc, char **argv);
/* `nephele-manage db ...`. */
int manage_db(struct manage_ctx *ctx, int argc, char **argv);
/* `nephele-manage placement heal_allocations [--dry-run]`. */
int manage_placement(struct manage_ctx *ctx, int argc, char **argv);

#endif
