/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The database layer: connections, the statement cache, parameters and
 * typed columns, dispatched to the SQL engine's backend. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "sql-internal.h"

NPH_LOG_INIT("core.db");

/* More distinct statements than this are prepared and dropped each time. */
#define SQL_CACHE_MAX 256

nph_status nph_db_open(const char *url, nph_db **out, nph_error *err)
{
    const struct sql_backend *backend = NULL;
    if (strncmp(url, "sqlite://", 9) == 0)
        backend = &nph_sql_sqlite;
    else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0 ||
             strncmp(url, "postgresql+psycopg2://", 22) == 0)
        backend = &nph_sql_postgresql;
    if (!backend)
        return nph_error_set(err, NPH_ERR_INVALID,
                             "unsupported database connection '%s': use sqlite:///PATH or "
                             "postgresql://USER:PASSWORD@HOST:PORT/DB",
                             url);
    nph_db *db = calloc(1, sizeof(*db));
    if (!db || !(db->url = strdup(url))) {
        free(db);
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    db->backend = backend;
    nph_status st = backend->open(db, url, err);
    if (st != NPH_OK) {
        free(db->url);
        free(db);
        return st;
    }
    *out = db;
    return NPH_OK;
}

static void clear_params(nph_db_stmt *stmt)
{
    for (int i = 0; i < stmt->n_params; i++) {
        free(stmt->params[i].text);
        stmt->params[i] = (struct sql_param){ SQL_NULL, 0, 0, NULL };
    }
    stmt->n_params = 0;
}

static void stmt_free(nph_db_stmt *stmt)
{
    stmt->db->backend->reset(stmt);
    stmt->db->backend->finalize(stmt);
    clear_params(stmt);
    free(stmt->sql);
    free(stmt);
}

void nph_db_close(nph_db *db)
{
    if (!db)
        return;
    for (nph_db_stmt *s = db->cache, *next; s; s = next) {
        next = s->next;
        stmt_free(s);
    }
    db->backend->close(db);
    free(db->url);
    free(db);
}

nph_db_backend nph_db_backend_of(const nph_db *db)
{
    return db->backend->kind;
}

nph_status nph_db_exec(nph_db *db, const char *sql, nph_error *err)
{
    return db->backend->exec(db, sql, err);
}

nph_status nph_db_begin(nph_db *db, nph_error *err)
{
    nph_status st = db->backend->exec(
        db, db->backend->kind == NPH_DB_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN", err);
    if (st == NPH_OK)
        db->in_transaction = true;
    return st;
}

nph_status nph_db_commit(nph_db *db, nph_error *err)
{
    nph_status st = db->backend->exec(db, "COMMIT", err);
    db->in_transaction = false;
    return st;
}

nph_status nph_db_rollback(nph_db *db)
{
    db->in_transaction = false;
    return db->backend->exec(db, "ROLLBACK", NULL);
}

nph_status nph_db_prepare(nph_db *db, const char *sql, nph_db_stmt **out, nph_error *err)
{
    nph_db_stmt **link = &db->cache;
    for (nph_db_stmt *s = db->cache; s; link = &s->next, s = s->next) {
        if (strcmp(s->sql, sql) == 0) {
            /* Move to the front: hot statements stay cheap to find. */
            *link = s->next;
            s->next = db->cache;
            db->cache = s;
            nph_db_reset(s);
            *out = s;
            return NPH_OK;
        }
    }
    nph_db_stmt *stmt = calloc(1, sizeof(*stmt));
    if (!stmt || !(stmt->sql = strdup(sql))) {
        free(stmt);
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    stmt->db = db;
    nph_status st = db->backend->prepare(stmt, err);
    if (st != NPH_OK) {
        free(stmt->sql);
        free(stmt);
        return st;
    }
    if (db->n_cached >= SQL_CACHE_MAX) {
        /* Drop the least recently used statement. */
        nph_db_stmt **last = &db->cache;
        while ((*last)->next)
            last = &(*last)->next;
        stmt_free(*last);
        *last = NULL;
        db->n_cached--;
    }
    stmt->next = db->cache;
    db->cache = stmt;
    db->n_cached++;
    *out = stmt;
    return NPH_OK;
}

static struct sql_param *param_slot(nph_db_stmt *stmt, int index)
{
    if (index < 1 || index > SQL_MAX_PARAMS)
        return NULL;
    struct sql_param *p = &stmt->params[index - 1];
    free(p->text);
    *p = (struct sql_param){ SQL_NULL, 0, 0, NULL };
    if (index > stmt->n_params)
        stmt->n_params = index;
    return p;
}

void nph_db_bind_int(nph_db_stmt *stmt, int index, int64_t value)
{
    struct sql_param *p = param_slot(stmt, index);
    if (p) {
        p->type = SQL_INT;
        p->i = value;
    }
}

void nph_db_bind_double(nph_db_stmt *stmt, int index, double value)
{
    struct sql_param *p = param_slot(stmt, index);
    if (p) {
        p->type = SQL_DOUBLE;
        p->d = value;
    }
}

void nph_db_bind_text(nph_db_stmt *stmt, int index, const char *value)
{
    struct sql_param *p = param_slot(stmt, index);
    if (p && value && (p->text = strdup(value)))
        p->type = SQL_TEXT;
}

void nph_db_bind_null(nph_db_stmt *stmt, int index)
{
    param_slot(stmt, index);
}

nph_status nph_db_step(nph_db_stmt *stmt, bool *has_row, nph_error *err)
{
    *has_row = false;
    return stmt->db->backend->step(stmt, has_row, err);
}

int nph_db_column_count(nph_db_stmt *stmt) { return stmt->db->backend->column_count(stmt); }
const char *nph_db_column_name(nph_db_stmt *stmt, int col) { return stmt->db->backend->column_name(stmt, col); }
bool nph_db_col_is_null(nph_db_stmt *stmt, int col) { return stmt->db->backend->col_is_null(stmt, col); }
const char *nph_db_col_text(nph_db_stmt *stmt, int col) { return stmt->db->backend->col_text(stmt, col); }

int64_t nph_db_col_int(nph_db_stmt *stmt, int col)
{
    if (stmt->db->backend->col_int)
        return stmt->db->backend->col_int(stmt, col);
    const char *t = nph_db_col_text(stmt, col);
    return t ? strtoll(t, NULL, 10) : 0;
}

double nph_db_col_double(nph_db_stmt *stmt, int col)
{
    if (stmt->db->backend->col_double)
        return stmt->db->backend->col_double(stmt, col);
    const char *t = nph_db_col_text(stmt, col);
    return t ? strtod(t, NULL) : 0.0;
}

json_object *nph_db_row_json(nph_db_stmt *stmt)
{
    json_object *row = json_object_new_object();
    int n = nph_db_column_count(stmt);
    for (int c = 0; c < n; c++) {
        json_object *v = NULL;
        if (!nph_db_col_is_null(stmt, c))
            v = stmt->db->backend->col_is_int(stmt, c) ? json_object_new_int64(nph_db_col_int(stmt, c))
                                                        : json_object_new_string(nph_db_col_text(stmt, c));
        json_object_object_add(row, nph_db_column_name(stmt, c), v);
    }
    return row;
}

void nph_db_reset(nph_db_stmt *stmt)
{
    stmt->db->backend->reset(stmt);
    clear_params(stmt);
    stmt->executed = false;
    stmt->row = -1;
}

int64_t nph_db_changes(nph_db_stmt *stmt)
{
    return stmt->changes;
}
