/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nephele-manage db sync | db version | placement heal_allocations */
#include "config.h"

#include <string.h>

#include "db.h"
#include "error.h"
#include "manage.h"
#include "scheduler.h"

#ifndef NPH_STATE_DIR
#define NPH_STATE_DIR "/usr/local/var/lib/nephele"
#endif

static const char *database_url(const struct manage_ctx *ctx)
{
    if (ctx->database_url)
        return ctx->database_url;
    return nph_config_get(ctx->cfg, "database", "connection",
                          "sqlite:///" NPH_STATE_DIR "/nephele.db");
}

int manage_db(struct manage_ctx *ctx, int argc, char **argv)
{
    bool sync = argc == 1 && strcmp(argv[0], "sync") == 0;
    bool version = argc == 1 && strcmp(argv[0], "version") == 0;
    if (!sync && !version) {
        fprintf(stderr, "nephele-manage: usage: db sync | db version\nTry 'nephele-manage --help'.\n");
        return 2;
    }
    nph_error err = NPH_ERROR_INIT;
    nph_db *db = NULL;
    int current = 0;
    nph_status st = nph_db_open(database_url(ctx), &db, &err);
    if (st == NPH_OK && sync)
        st = nph_db_sync(db, &err);
    if (st == NPH_OK)
        st = nph_db_schema_version(db, &current, &err);
    nph_db_close(db);
    if (st != NPH_OK) {
        fprintf(stderr, "nephele-manage: %s\n", err.message);
        return 1;
    }
    if (sync)
        fprintf(ctx->out, "database schema is at version %d (latest %d)\n", current,
                nph_db_schema_latest());
    else
        fprintf(ctx->out, "%d\n", current);
    return 0;
}

int manage_placement(struct manage_ctx *ctx, int argc, char **argv)
{
    bool heal = argc >= 1 && strcmp(argv[0], "heal_allocations") == 0;
    bool dry_run = heal && argc == 2 && strcmp(argv[1], "--dry-run") == 0;
    if (!heal || argc > 2 || (argc == 2 && !dry_run)) {
        fprintf(stderr, "nephele-manage: usage: placement heal_allocations [--dry-run]\n"
                        "Try 'nephele-manage --help'.\n");
        return 2;
    }
    nph_error err = NPH_ERROR_INIT;
    nph_db *db = NULL;
    size_t healed = 0, failed = 0;
    nph_status st = nph_db_open(database_url(ctx), &db, &err);
    if (st == NPH_OK)
        st = nph_scheduler_heal_allocations(db, dry_run, &healed, &failed, &err);
    nph_db_close(db);
    if (st != NPH_OK) {
        fprintf(stderr, "nephele-manage: %s\n", err.message);
        return 1;
    }
    fprintf(ctx->out, "%zu instance(s) %s allocations%s\n", healed,
            dry_run ? "would get" : "got", failed ? "" : "; none left without");
    if (failed)
        fprintf(ctx->out, "%zu instance(s) could not get theirs (see the log)\n", failed);
    return failed ? 1 : 0;
}
