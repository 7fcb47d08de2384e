/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The database layer's backend contract: one table of functions per SQL
 * engine (sql-sqlite.c, sql-postgresql.c; MySQL would be a third file). */
#ifndef NPH_SQL_INTERNAL_H
#define NPH_SQL_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include "db.h"

enum sql_param_type { SQL_NULL, SQL_INT, SQL_DOUBLE, SQL_TEXT };

struct sql_param {
    enum sql_param_type type;
    int64_t i;
    double d;
    char *text; /* owned */
};

#define SQL_MAX_PARAMS 64

struct nph_db_stmt {
    nph_db *db;
    char *sql;               /* as the caller wrote it, with '?' */
    void *handle;            /* the backend's prepared statement */
    void *result;            /* the backend's result set, between step and reset */
    long row;                /* current row index (PostgreSQL) */
    bool executed;
    int64_t changes;
    struct sql_param params[SQL_MAX_PARAMS];
    int n_params;
    struct nph_db_stmt *next; /* the connection's cache */
};

struct sql_backend {
    nph_db_backend kind;
    const char *name;
    nph_status (*open)(nph_db *db, const char *url, nph_error *err);
    void (*close)(nph_db *db);
    nph_status (*exec)(nph_db *db, const char *sql, nph_error *err);
    nph_status (*prepare)(nph_db_stmt *stmt, nph_error *err);
    void (*finalize)(nph_db_stmt *stmt);
    /* Bind stmt->params and run; then step rows. */
    nph_status (*step)(nph_db_stmt *stmt, bool *has_row, nph_error *err);
    void (*reset)(nph_db_stmt *stmt);
    int (*column_count)(nph_db_stmt *stmt);
    const char *(*column_name)(nph_db_stmt *stmt, int col);
    bool (*col_is_null)(nph_db_stmt *stmt, int col);
    bool (*col_is_int)(nph_db_stmt *stmt, int col);
    const char *(*col_text)(nph_db_stmt *stmt, int col);
    /* Numbers without a trip through text, when the engine has them
     * typed (NULL: parse col_text). */
    int64_t (*col_int)(nph_db_stmt *stmt, int col);
    double (*col_double)(nph_db_stmt *stmt, int col);
    /* Text of the dialect token (e.g. the auto-increment key) for migrations. */
    const char *(*dialect)(const char *token);
};

struct nph_db {
    const struct sql_backend *backend;
    void *conn;             /* sqlite3 * or PGconn * */
    void *backend_state;    /* the engine's own (SQLite: its WAL checkpointer) */
    char *url;
    nph_db_stmt *cache;     /* prepared statements, most recent first */
    unsigned n_cached;
    unsigned next_name;     /* PostgreSQL statement names */
    bool in_transaction;
};

extern const struct sql_backend nph_sql_sqlite;
extern const struct sql_backend nph_sql_postgresql;

#endif
