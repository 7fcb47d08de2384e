/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* PostgreSQL through libpq: server-side prepared statements, '?' rewritten
 * to $N, SQLSTATEs mapped to Nephele's status codes. */
#include "config.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "error.h"
#include "sql-internal.h"

static nph_status pg_status_of(const char *sqlstate)
{
    if (!sqlstate)
        return NPH_ERR_BACKEND;
    if (strcmp(sqlstate, "23505") == 0 || strcmp(sqlstate, "23503") == 0 ||
        strcmp(sqlstate, "40001") == 0)
        return NPH_ERR_CONFLICT;
    if (strcmp(sqlstate, "55P03") == 0 || strcmp(sqlstate, "57014") == 0 ||
        strcmp(sqlstate, "40P01") == 0)
        return NPH_ERR_TIMEOUT;
    return NPH_ERR_BACKEND;
}

static nph_status pg_result_error(nph_db *db, PGresult *res, const char *what, nph_error *err)
{
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn);
    nph_status code = PQstatus(db->conn) == CONNECTION_BAD ? NPH_ERR_BACKEND : pg_status_of(sqlstate);
    char clean[512];
    snprintf(clean, sizeof(clean), "%s", msg && *msg ? msg : "unknown error");
    clean[strcspn(clean, "\n")] = '\0';
    return nph_error_set(err, code, "database error %s: %s", what, clean);
}

/* libpq takes only postgresql:// and postgres://; accept SQLAlchemy's
 * postgresql+psycopg2:// spelling from nova.conf files too. */
static char *pg_conninfo(const char *url)
{
    const char *rest = strstr(url, "://");
    char *out = malloc(strlen(url) + 16);
    if (out)
        sprintf(out, "postgresql%s", rest);
    return out;
}

static nph_status pg_open(nph_db *db, const char *url, nph_error *err)
{
    char *conninfo = pg_conninfo(url);
    if (!conninfo)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    PGconn *conn = PQconnectdb(conninfo);
    free(conninfo);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        char clean[512];
        snprintf(clean, sizeof(clean), "%s", conn ? PQerrorMessage(conn) : "out of memory");
        clean[strcspn(clean, "\n")] = '\0';
        PQfinish(conn);
        return nph_error_set(err, NPH_ERR_BACKEND, "cannot connect to PostgreSQL '%s': %s", url,
                             clean);
    }
    db->conn = conn;
    PGresult *res = PQexec(conn, "SET client_min_messages = warning");
    PQclear(res);
    return NPH_OK;
}

static void pg_close(nph_db *db)
{
    PQfinish(db->conn);
}

static nph_status pg_exec(nph_db *db, const char *sql, nph_error *err)
{
    PGresult *res = PQexec(db->conn, sql);
    ExecStatusType s = PQresultStatus(res);
    nph_status st = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK
                        ? NPH_OK
                        : pg_result_error(db, res, "running SQL", err);
    PQclear(res);
    return st;
}

/* '?' to $1, $2, ... outside quoted literals and identifiers. */
static char *rewrite_placeholders(const char *sql)
{
    nph_buffer out = NPH_BUFFER_INIT;
    char quote = 0;
    int n = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            nph_buffer_append(&out, p, 1);
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
            nph_buffer_append(&out, p, 1);
        } else if (*p == '?') {
            nph_buffer_appendf(&out, "$%d", ++n);
        } else {
            nph_buffer_append(&out, p, 1);
        }
    }
    return nph_buffer_steal(&out);
}

static nph_status pg_prepare(nph_db_stmt *stmt, nph_error *err)
{
    nph_db *db = stmt->db;
    char *sql = rewrite_placeholders(stmt->sql);
    char *name = malloc(32);
    if (!sql || !name) {
        free(sql);
        free(name);
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    snprintf(name, 32, "nph_%u", db->next_name++);
    PGresult *res = PQprepare(db->conn, name, sql, 0, NULL);
    free(sql);
    nph_status st = PQresultStatus(res) == PGRES_COMMAND_OK
                        ? NPH_OK
                        : pg_result_error(db, res, "preparing a statement", err);
    PQclear(res);
    if (st != NPH_OK) {
        free(name);
        return st;
    }
    stmt->handle = name;
    return NPH_OK;
}

static void pg_finalize(nph_db_stmt *stmt)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "DEALLOCATE %s", (char *)stmt->handle);
    if (PQstatus(stmt->db->conn) == CONNECTION_OK)
        PQclear(PQexec(stmt->db->conn, sql));
    free(stmt->handle);
}

static nph_status pg_execute(nph_db_stmt *stmt, nph_error *err)
{
    const char *values[SQL_MAX_PARAMS];
    char numbers[SQL_MAX_PARAMS][32];
    for (int i = 0; i < stmt->n_params; i++) {
        const struct sql_param *p = &stmt->params[i];
        values[i] = NULL;
        if (p->type == SQL_INT)
            snprintf(numbers[i], sizeof(numbers[i]), "%lld", (long long)p->i);
        else if (p->type == SQL_DOUBLE)
            snprintf(numbers[i], sizeof(numbers[i]), "%.17g", p->d);
        if (p->type == SQL_INT || p->type == SQL_DOUBLE)
            values[i] = numbers[i];
        else if (p->type == SQL_TEXT)
            values[i] = p->text;
    }
    PGresult *res = PQexecPrepared(stmt->db->conn, stmt->handle, stmt->n_params, values, NULL,
                                   NULL, 0);
    ExecStatusType s = PQresultStatus(res);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        nph_status st = pg_result_error(stmt->db, res, "executing a statement", err);
        PQclear(res);
        return st;
    }
    const char *tuples = PQcmdTuples(res);
    stmt->changes = tuples && *tuples ? strtoll(tuples, NULL, 10) : 0;
    stmt->result = res;
    stmt->row = -1;
    return NPH_OK;
}

static nph_status pg_step(nph_db_stmt *stmt, bool *has_row, nph_error *err)
{
    if (!stmt->executed) {
        nph_status st = pg_execute(stmt, err);
        if (st != NPH_OK)
            return st;
        stmt->executed = true;
    }
    if (stmt->result && stmt->row + 1 < PQntuples(stmt->result)) {
        stmt->row++;
        *has_row = true;
    }
    return NPH_OK;
}

static void pg_reset(nph_db_stmt *stmt)
{
    PQclear(stmt->result);
    stmt->result = NULL;
    stmt->row = -1;
}

static int pg_column_count(nph_db_stmt *stmt) { return stmt->result ? PQnfields(stmt->result) : 0; }
static const char *pg_column_name(nph_db_stmt *stmt, int col) { return PQfname(stmt->result, col); }

static bool pg_col_is_null(nph_db_stmt *stmt, int col)
{
    return !stmt->result || stmt->row < 0 || PQgetisnull(stmt->result, (int)stmt->row, col);
}

static bool pg_col_is_int(nph_db_stmt *stmt, int col)
{
    Oid type = PQftype(stmt->result, col);
    return type == 20 || type == 21 || type == 23; /* int8, int2, int4 */
}

static const char *pg_col_text(nph_db_stmt *stmt, int col)
{
    if (pg_col_is_null(stmt, col))
        return NULL;
    return PQgetvalue(stmt->result, (int)stmt->row, col);
}

static const char *pg_dialect(const char *token)
{
    if (strcmp(token, "ID") == 0)
        return "BIGSERIAL PRIMARY KEY";
    return NULL;
}

const struct sql_backend nph_sql_postgresql = {
    .kind = NPH_DB_POSTGRESQL,
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .prepare = pg_prepare,
    .finalize = pg_finalize,
    .step = pg_step,
    .reset = pg_reset,
    .column_count = pg_column_count,
    .column_name = pg_column_name,
    .col_is_null = pg_col_is_null,
    .col_is_int = pg_col_is_int,
    .col_text = pg_col_text,
    .dialect = pg_dialect,
};
