/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The placement library's plumbing: errors, statements with typed
 * parameters, transactions, provider rows and generations. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "placement-internal.h"

nph_status placement_fail(placement_error *err, nph_status status, const char *code,
                          const char *fmt, ...)
{
    if (!err)
        return status;
    va_list ap;
    va_start(ap, fmt);
    nph_error_setv(&err->e, status, fmt, ap);
    va_end(ap);
    err->code = code;
    return status;
}

static void bind_args(nph_db_stmt *stmt, const char *types, va_list ap)
{
    for (int i = 0; types && types[i]; i++) {
        switch (types[i]) {
        case 't': nph_db_bind_text(stmt, i + 1, va_arg(ap, const char *)); break;
        case 'i': nph_db_bind_int(stmt, i + 1, va_arg(ap, int64_t)); break;
        case 'd': nph_db_bind_double(stmt, i + 1, va_arg(ap, double)); break;
        default: break;
        }
    }
}

/* Prepare `sql` and bind one argument per letter of `types`. */
static nph_status prepare_bound(nph_db *db, const char *sql, const char *types, va_list ap,
                                nph_db_stmt **out, placement_error *err)
{
    nph_status st = nph_db_prepare(db, sql, out, &err->e);
    if (st == NPH_OK)
        bind_args(*out, types, ap);
    return st;
}

nph_status pl_query(nph_db *db, nph_db_stmt **out, placement_error *err, const char *sql,
                    const char *types, ...)
{
    va_list ap;
    va_start(ap, types);
    nph_status st = prepare_bound(db, sql, types, ap, out, err);
    va_end(ap);
    return st;
}

nph_status pl_exec(nph_db *db, int64_t *changes, placement_error *err, const char *sql,
                   const char *types, ...)
{
    nph_db_stmt *stmt;
    va_list ap;
    va_start(ap, types);
    nph_status st = prepare_bound(db, sql, types, ap, &stmt, err);
    va_end(ap);
    if (st != NPH_OK)
        return st;
    bool row;
    st = nph_db_step(stmt, &row, &err->e);
    if (changes)
        *changes = nph_db_changes(stmt);
    nph_db_reset(stmt);
    return st;
}

nph_status pl_exists(nph_db *db, bool *found, placement_error *err, const char *sql,
                     const char *types, ...)
{
    nph_db_stmt *stmt;
    va_list ap;
    va_start(ap, types);
    nph_status st = prepare_bound(db, sql, types, ap, &stmt, err);
    va_end(ap);
    if (st != NPH_OK)
        return st;
    *found = false;
    st = nph_db_step(stmt, found, &err->e);
    nph_db_reset(stmt);
    return st;
}

nph_status pl_rows(nph_db *db, json_object **out, placement_error *err, const char *sql,
                   const char *types, ...)
{
    nph_db_stmt *stmt;
    va_list ap;
    va_start(ap, types);
    nph_status st = prepare_bound(db, sql, types, ap, &stmt, err);
    va_end(ap);
    if (st != NPH_OK)
        return st;
    json_object *list = json_object_new_array();
    bool row = false;
    while ((st = nph_db_step(stmt, &row, &err->e)) == NPH_OK && row)
        json_object_array_add(list, nph_db_row_json(stmt));
    nph_db_reset(stmt);
    if (st != NPH_OK) {
        json_object_put(list);
        return st;
    }
    *out = list;
    return NPH_OK;
}

nph_status pl_begin(nph_db *db, placement_error *err)
{
    err->code = NULL;
    return nph_db_begin(db, &err->e);
}

nph_status pl_end(nph_db *db, nph_status st, placement_error *err)
{
    if (st == NPH_OK)
        st = nph_db_commit(db, &err->e);
    if (st != NPH_OK)
        nph_db_rollback(db);
    return st;
}

static void copy_col(nph_db_stmt *stmt, int col, char *out, size_t len)
{
    const char *v = nph_db_col_text(stmt, col);
    snprintf(out, len, "%s", v ? v : "");
}

nph_status pl_provider_find(nph_db *db, const char *uuid, struct pl_provider *out,
                            placement_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = pl_query(db, &stmt, err,
                             "SELECT id, generation, uuid, name, parent_provider_uuid, "
                             "root_provider_uuid FROM resource_providers WHERE uuid = ?",
                             "t", uuid);
    if (st != NPH_OK)
        return st;
    bool row = false;
    st = nph_db_step(stmt, &row, &err->e);
    if (st == NPH_OK && row) {
        out->id = nph_db_col_int(stmt, 0);
        out->generation = nph_db_col_int(stmt, 1);
        copy_col(stmt, 2, out->uuid, sizeof(out->uuid));
        copy_col(stmt, 3, out->name, sizeof(out->name));
        copy_col(stmt, 4, out->parent, sizeof(out->parent));
        copy_col(stmt, 5, out->root, sizeof(out->root));
    }
    nph_db_reset(stmt);
    if (st == NPH_OK && !row)
        return placement_fail(err, NPH_ERR_NOT_FOUND, PLACEMENT_E_PROVIDER_NOT_FOUND,
                              "No resource provider with uuid %s found", uuid);
    return st;
}

json_object *pl_provider_json(const struct pl_provider *rp)
{
    json_object *o = json_object_new_object();
    nph_json_add_string(o, "uuid", rp->uuid);
    nph_json_add_string(o, "name", rp->name);
    nph_json_add_int(o, "generation", rp->generation);
    nph_json_add_string(o, "parent_provider_uuid", rp->parent[0] ? rp->parent : NULL);
    nph_json_add_string(o, "root_provider_uuid", rp->root);
    return o;
}

nph_status pl_generation_check(const struct pl_provider *rp, int64_t expected,
                               placement_error *err)
{
    if (expected < 0 || expected == rp->generation)
        return NPH_OK;
    return placement_fail(err, NPH_ERR_CONFLICT, PLACEMENT_E_CONCURRENT_UPDATE,
                          "resource provider generation conflict");
}

nph_status pl_generation_bump(nph_db *db, struct pl_provider *rp, int64_t expected,
                              placement_error *err)
{
    nph_status st = pl_generation_check(rp, expected, err);
    if (st != NPH_OK)
        return st;
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    int64_t changed = 0;
    /* The WHERE on the generation read earlier is what catches a writer
     * that committed in between: its row lock makes this one wait, then
     * match nothing. */
    st = pl_exec(db, &changed, err,
                 "UPDATE resource_providers SET generation = generation + 1, updated_at = ? "
                 "WHERE id = ? AND generation = ?",
                 "tii", now, rp->id, rp->generation);
    if (st == NPH_OK && changed != 1)
        return placement_fail(err, NPH_ERR_CONFLICT, PLACEMENT_E_CONCURRENT_UPDATE,
                              "resource provider generation conflict: %s was changed by "
                              "another request; re-read it and retry",
                              rp->uuid);
    if (st == NPH_OK)
        rp->generation++;
    return st;
}

int64_t pl_capacity(int64_t total, int64_t reserved, double ratio)
{
    return (int64_t)floor((double)(total - reserved) * ratio);
}

/* ---- SQL built piece by piece ------------------------------------------- */

void pl_sql_add(struct pl_sql *s, const char *fmt, ...)
{
    char piece[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(piece, sizeof(piece), fmt, ap);
    va_end(ap);
    nph_buffer_append(&s->text, piece, strlen(piece));
}

void pl_sql_text(struct pl_sql *s, const char *value)
{
    if (s->n < PL_SQL_MAX_PARAMS)
        s->params[s->n].type = 't', s->params[s->n].s = value;
    s->n++;
    nph_buffer_append(&s->text, "?", 1);
}

void pl_sql_int(struct pl_sql *s, int64_t value)
{
    if (s->n < PL_SQL_MAX_PARAMS)
        s->params[s->n].type = 'i', s->params[s->n].i = value;
    s->n++;
    /* PostgreSQL cannot infer a type for a bare parameter in arithmetic. */
    nph_buffer_appendf(&s->text, "CAST(? AS BIGINT)");
}

nph_status pl_sql_prepare(nph_db *db, struct pl_sql *s, nph_db_stmt **out, placement_error *err)
{
    if (s->n > PL_SQL_MAX_PARAMS)
        return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                              "The request names too many resource classes, traits and "
                              "aggregates for one query (at most %d terms).",
                              PL_SQL_MAX_PARAMS);
    nph_status st = nph_db_prepare(db, nph_buffer_str(&s->text), out, &err->e);
    for (int i = 0; st == NPH_OK && i < s->n; i++) {
        if (s->params[i].type == 't')
            nph_db_bind_text(*out, i + 1, s->params[i].s);
        else
            nph_db_bind_int(*out, i + 1, s->params[i].i);
    }
    return st;
}

void pl_sql_clear(struct pl_sql *s)
{
    nph_buffer_reset(&s->text);
    s->n = 0;
}
