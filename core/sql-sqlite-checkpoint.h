/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One WAL checkpointer thread per SQLite database file and process
 * (sql-sqlite-checkpoint.c says why). */
#ifndef NPH_SQL_SQLITE_CHECKPOINT_H
#define NPH_SQL_SQLITE_CHECKPOINT_H

#include <sqlite3.h>

struct sqlite_checkpointer;

/* Hands CONN's checkpoints to its file's checkpointer, creating it for the
 * file's first connection. NULL (and SQLite's own automatic checkpoints)
 * for an in-memory database or when out of memory. */
struct sqlite_checkpointer *sqlite_checkpointer_attach(sqlite3 *conn);

/* After the connection was closed: the file's last user stops the thread,
 * whose connection, closed last, checkpoints and removes the WAL. */
void sqlite_checkpointer_detach(struct sqlite_checkpointer *cp);

#endif
