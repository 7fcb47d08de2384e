/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Inside the placement library: statements, transactions, provider rows. */
#ifndef NPH_PLACEMENT_INTERNAL_H
#define NPH_PLACEMENT_INTERNAL_H

#include "buffer.h"
#include "placement.h"

/* Run `sql` with parameters described by `types` ('t' text, 'i' int64_t,
 * 'd' double), returning no rows; *changes (may be NULL) gets the rows it
 * changed. */
nph_status pl_exec(nph_db *db, int64_t *changes, placement_error *err, const char *sql,
                   const char *types, ...);
/* Prepare and bind `sql` the same way; the caller steps and resets. */
nph_status pl_query(nph_db *db, nph_db_stmt **out, placement_error *err, const char *sql,
                    const char *types, ...);
/* Does `sql` find a row? */
nph_status pl_exists(nph_db *db, bool *found, placement_error *err, const char *sql,
                     const char *types, ...);
/* The rows of a query as a JSON array of objects; caller puts. */
nph_status pl_rows(nph_db *db, json_object **out, placement_error *err, const char *sql,
                   const char *types, ...);

/* A transaction around a write: begin, then end with the write's status
 * (commit on NPH_OK, else roll back); returns the final status. */
nph_status pl_begin(nph_db *db, placement_error *err);
nph_status pl_end(nph_db *db, nph_status st, placement_error *err);

/* One resource provider row. */
struct pl_provider {
    int64_t id, generation;
    char uuid[NPH_UUID_STRLEN + 1];
    char name[PLACEMENT_NAME_MAX + 1];
    char parent[NPH_UUID_STRLEN + 1]; /* "" without a parent */
    char root[NPH_UUID_STRLEN + 1];
};
/* NPH_ERR_NOT_FOUND ("No resource provider with uuid X found") when absent. */
nph_status pl_provider_find(nph_db *db, const char *uuid, struct pl_provider *out,
                            placement_error *err);
/* The provider as the API shows it. */
json_object *pl_provider_json(const struct pl_provider *rp);
/* Bump the generation if it still is `expected` (the provider's when -1):
 * else NPH_ERR_CONFLICT with PLACEMENT_E_CONCURRENT_UPDATE.  rp->generation
 * follows. */
nph_status pl_generation_bump(nph_db *db, struct pl_provider *rp, int64_t expected,
                              placement_error *err);
/* A generation the caller named must match the provider's. */
nph_status pl_generation_check(const struct pl_provider *rp, int64_t expected,
                               placement_error *err);

/* Update the class's inventory row, or insert it with what allocations
 * already use of the class.  The generation is the caller's business. */
nph_status pl_inventory_write(nph_db *db, const struct pl_provider *rp,
                              const struct placement_inventory *inv, placement_error *err);

/* Placement's capacity of an inventory row: (total - reserved) * ratio. */
int64_t pl_capacity(int64_t total, int64_t reserved, double ratio);

/* An SQL text built piece by piece with its parameters (borrowed strings). */
#define PL_SQL_MAX_PARAMS 64
struct pl_sql {
    nph_buffer text;
    struct {
        char type; /* 't' or 'i' */
        const char *s;
        int64_t i;
    } params[PL_SQL_MAX_PARAMS];
    int n;
};
void pl_sql_add(struct pl_sql *s, const char *fmt, ...) NPH_PRINTF(2, 3);
void pl_sql_text(struct pl_sql *s, const char *value);
void pl_sql_int(struct pl_sql *s, int64_t value);
/* Prepare and bind; too many parameters is NPH_ERR_INVALID. */
nph_status pl_sql_prepare(nph_db *db, struct pl_sql *s, nph_db_stmt **out, placement_error *err);
void pl_sql_clear(struct pl_sql *s);
/* The FROM ... WHERE ... of the providers (alias rp) matching `q`. */
void pl_sql_filter(struct pl_sql *s, const struct placement_query *q);

#endif
