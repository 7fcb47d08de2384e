/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The database layer: one interface over SQLite (the embedded default, WAL
 * mode with a busy timeout) and PostgreSQL (libpq), with room for
 * MySQL/MariaDB behind the same calls.
 *
 *   - Prepared statements only.  SQL is written once with '?' placeholders;
 *     the PostgreSQL backend rewrites them to $1, $2, ...  Statements are
 *     cached per connection by their SQL text, so callers may prepare the
 *     same text on every call cheaply.
 *   - A connection (nph_db) is used by one thread at a time; services keep
 *     one per worker thread.
 *   - Errors: a unique or foreign key violation is NPH_ERR_CONFLICT, a busy
 *     or lock timeout NPH_ERR_TIMEOUT, a lost connection or anything else the
 *     server says NPH_ERR_BACKEND; messages carry the server's text.
 *
 * Connection strings, as nova.conf's [database] connection:
 *     sqlite:////var/lib/nephele/nephele.db     (absolute path: four slashes)
 *     sqlite:///relative/path.db
 *     postgresql://user:password@127.0.0.1:5432/nephele   (a libpq URI)
 */
#ifndef NPH_DB_H
#define NPH_DB_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include "virt-driver.h"

typedef struct nph_db nph_db;
typedef struct nph_db_stmt nph_db_stmt;

typedef enum nph_db_backend {
    NPH_DB_SQLITE = 0,
    NPH_DB_POSTGRESQL = 1,
} nph_db_backend;

nph_status nph_db_open(const char *url, nph_db **out, nph_error *err);
/* Closes the connection and every cached statement.  NULL is fine. */
void nph_db_close(nph_db *db);
static inline void nph_db_closep(nph_db **db) { nph_db_close(*db); }
#define nph_auto_db __attribute__((cleanup(nph_db_closep))) nph_db

nph_db_backend nph_db_backend_of(const nph_db *db);

/* Transactions.  begin() on SQLite takes the write lock at once (BEGIN
 * IMMEDIATE) so two writers never deadlock on an upgrade. */
nph_status nph_db_begin(nph_db *db, nph_error *err);
nph_status nph_db_commit(nph_db *db, nph_error *err);
nph_status nph_db_rollback(nph_db *db);

/* Run SQL without parameters or results (DDL, PRAGMA).  May hold several
 * statements separated by ';'. */
nph_status nph_db_exec(nph_db *db, const char *sql, nph_error *err);

/* A prepared statement from the connection's cache; owned by the
 * connection.  It comes reset, with no bindings. */
nph_status nph_db_prepare(nph_db *db, const char *sql, nph_db_stmt **out, nph_error *err);
/* Bind parameter `index` (1-based).  A NULL text binds SQL NULL. */
void nph_db_bind_int(nph_db_stmt *stmt, int index, int64_t value);
void nph_db_bind_double(nph_db_stmt *stmt, int index, double value);
void nph_db_bind_text(nph_db_stmt *stmt, int index, const char *value);
void nph_db_bind_null(nph_db_stmt *stmt, int index);
/* Execute (first call) or advance to the next row: *has_row says whether a
 * row is current. */
nph_status nph_db_step(nph_db_stmt *stmt, bool *has_row, nph_error *err);
/* Columns of the current row (0-based).  Text is owned by the statement and
 * valid until the next step or reset; NULL for SQL NULL. */
int nph_db_column_count(nph_db_stmt *stmt);
const char *nph_db_column_name(nph_db_stmt *stmt, int col);
bool nph_db_col_is_null(nph_db_stmt *stmt, int col);
int64_t nph_db_col_int(nph_db_stmt *stmt, int col);
double nph_db_col_double(nph_db_stmt *stmt, int col);
const char *nph_db_col_text(nph_db_stmt *stmt, int col);
/* The current row as a JSON object keyed by column name (integers as
 * integers, NULL as null, everything else as strings).  Caller puts. */
json_object *nph_db_row_json(nph_db_stmt *stmt);
/* Clear results and bindings so the statement can run again. */
void nph_db_reset(nph_db_stmt *stmt);
/* Rows changed by the last INSERT, UPDATE or DELETE of this statement. */
int64_t nph_db_changes(nph_db_stmt *stmt);

/* Schema: numbered migrations, applied in order, each in its own
 * transaction.  sync is idempotent, and refuses (NPH_ERR_CONFLICT) a
 * database whose version is newer than this code's. */
int nph_db_schema_latest(void);
nph_status nph_db_schema_version(nph_db *db, int *version, nph_error *err);
nph_status nph_db_sync(nph_db *db, nph_error *err);

#endif
