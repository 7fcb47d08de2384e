/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SQLite, the embedded default: WAL checkpointed off the request path, a
 * busy timeout, foreign keys on. */
#include "config.h"

#include <sqlite3.h>
#include <string.h>

#include "error.h"
#include "sql-internal.h"
#include "sql-sqlite-checkpoint.h"

#define BUSY_TIMEOUT_MS 5000

static nph_status sqlite_error(nph_db *db, int rc, const char *what, nph_error *err)
{
    sqlite3 *conn = db->conn;
    int primary = rc & 0xff;
    nph_status code = primary == SQLITE_CONSTRAINT                 ? NPH_ERR_CONFLICT
                      : primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? NPH_ERR_TIMEOUT
                      : primary == SQLITE_NOMEM                    ? NPH_ERR_NO_MEMORY
                                                                   : NPH_ERR_BACKEND;
    return nph_error_set(err, code, "database error %s: %s", what,
                         conn ? sqlite3_errmsg(conn) : sqlite3_errstr(rc));
}

/* sqlite:///relative.db, sqlite:////absolute.db, sqlite:// (in memory). */
static const char *sqlite_path(const char *url)
{
    const char *path = url + strlen("sqlite://");
    if (*path == '\0')
        return ":memory:";
    return path[0] == '/' ? path + 1 : path;
}

static nph_status sqlite_open(nph_db *db, const char *url, nph_error *err)
{
    const char *path = sqlite_path(url);
    sqlite3 *conn = NULL;
    int rc = sqlite3_open_v2(path, &conn,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        nph_error_set(err, NPH_ERR_BACKEND, "cannot open SQLite database '%s': %s", path,
                      conn ? sqlite3_errmsg(conn) : sqlite3_errstr(rc));
        sqlite3_close(conn);
        return NPH_ERR_BACKEND;
    }
    db->conn = conn;
    sqlite3_busy_timeout(conn, BUSY_TIMEOUT_MS);
    char *msg = NULL;
    rc = sqlite3_exec(conn,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                      NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        nph_error_set(err, NPH_ERR_BACKEND, "cannot set up SQLite database '%s': %s", path,
                      msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        sqlite3_close(conn);
        db->conn = NULL;
        return NPH_ERR_BACKEND;
    }
    db->backend_state = sqlite_checkpointer_attach(conn);
    return NPH_OK;
}

static void sqlite_close(nph_db *db)
{
    sqlite3_close(db->conn);
    sqlite_checkpointer_detach(db->backend_state);
}

static nph_status sqlite_exec(nph_db *db, const char *sql, nph_error *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db->conn, sql, NULL, NULL, &msg);
    sqlite3_free(msg);
    return rc == SQLITE_OK ? NPH_OK : sqlite_error(db, rc, "running SQL", err);
}

static nph_status sqlite_prepare(nph_db_stmt *stmt, nph_error *err)
{
    sqlite3_stmt *handle = NULL;
    int rc = sqlite3_prepare_v3(stmt->db->conn, stmt->sql, -1, SQLITE_PREPARE_PERSISTENT, &handle,
                                NULL);
    if (rc != SQLITE_OK)
        return sqlite_error(stmt->db, rc, "preparing a statement", err);
    stmt->handle = handle;
    return NPH_OK;
}

static void sqlite_finalize(nph_db_stmt *stmt)
{
    sqlite3_finalize(stmt->handle);
}

static int bind_params(nph_db_stmt *stmt)
{
    sqlite3_stmt *h = stmt->handle;
    for (int i = 0; i < stmt->n_params; i++) {
        const struct sql_param *p = &stmt->params[i];
        int rc = p->type == SQL_INT      ? sqlite3_bind_int64(h, i + 1, p->i)
                 : p->type == SQL_DOUBLE ? sqlite3_bind_double(h, i + 1, p->d)
                 : p->type == SQL_TEXT   ? sqlite3_bind_text(h, i + 1, p->text, -1, SQLITE_STATIC)
                                         : sqlite3_bind_null(h, i + 1);
        if (rc != SQLITE_OK)
            return rc;
    }
    return SQLITE_OK;
}

static nph_status sqlite_step(nph_db_stmt *stmt, bool *has_row, nph_error *err)
{
    if (!stmt->executed) {
        int rc = bind_params(stmt);
        if (rc != SQLITE_OK)
            return sqlite_error(stmt->db, rc, "binding parameters", err);
        stmt->executed = true;
    }
    int rc = sqlite3_step(stmt->handle);
    if (rc == SQLITE_ROW) {
        *has_row = true;
        return NPH_OK;
    }
    if (rc == SQLITE_DONE) {
        stmt->changes = sqlite3_changes64(stmt->db->conn);
        return NPH_OK;
    }
    nph_status st = sqlite_error(stmt->db, rc, "executing a statement", err);
    sqlite3_reset(stmt->handle);
    return st;
}

static void sqlite_reset(nph_db_stmt *stmt)
{
    sqlite3_reset(stmt->handle);
    sqlite3_clear_bindings(stmt->handle);
}

static int sqlite_column_count(nph_db_stmt *stmt) { return sqlite3_column_count(stmt->handle); }
static const char *sqlite_column_name(nph_db_stmt *stmt, int col) { return sqlite3_column_name(stmt->handle, col); }
static bool sqlite_col_is_null(nph_db_stmt *stmt, int col) { return sqlite3_column_type(stmt->handle, col) == SQLITE_NULL; }
static bool sqlite_col_is_int(nph_db_stmt *stmt, int col) { return sqlite3_column_type(stmt->handle, col) == SQLITE_INTEGER; }
static const char *sqlite_col_text(nph_db_stmt *stmt, int col) { return (const char *)sqlite3_column_text(stmt->handle, col); }
static int64_t sqlite_col_int(nph_db_stmt *stmt, int col) { return sqlite3_column_int64(stmt->handle, col); }
static double sqlite_col_double(nph_db_stmt *stmt, int col) { return sqlite3_column_double(stmt->handle, col); }

static const char *sqlite_dialect(const char *token)
{
    if (strcmp(token, "ID") == 0)
        return "INTEGER PRIMARY KEY AUTOINCREMENT";
    return NULL;
}

const struct sql_backend nph_sql_sqlite = {
    .kind = NPH_DB_SQLITE,
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .exec = sqlite_exec,
    .prepare = sqlite_prepare,
    .finalize = sqlite_finalize,
    .step = sqlite_step,
    .reset = sqlite_reset,
    .column_count = sqlite_column_count,
    .column_name = sqlite_column_name,
    .col_is_null = sqlite_col_is_null,
    .col_is_int = sqlite_col_is_int,
    .col_text = sqlite_col_text,
    .col_int = sqlite_col_int,
    .col_double = sqlite_col_double,
    .dialect = sqlite_dialect,
};
