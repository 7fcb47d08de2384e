/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* WAL checkpoints off the request path.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL
 * past 1,000 pages, so about one write transaction in thirty also pays for
 * two fdatasync calls (the WAL, then the database) while its caller waits:
 * that is the scheduler's p99.  Here every connection to a database file
 * shares one checkpointer per process instead: a commit's WAL hook only
 * wakes it, and the checkpointer's thread runs PASSIVE checkpoints on its
 * own connection, which never block writers or readers.  A WAL that still
 * grows far past the threshold (the thread could not start, or cannot keep
 * up) is checkpointed by the committing connection as SQLite would have. */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "sql-sqlite-checkpoint.h"

NPH_LOG_INIT("core.db");

/* SQLite's own default threshold (SQLITE_DEFAULT_WAL_AUTOCHECKPOINT). */
#define CHECKPOINT_PAGES 1000
/* After a checkpoint that could not copy every frame (readers still used
 * older snapshots), the next one waits this long rather than running, with
 * its two fdatasync calls, after every commit: under a steady load the WAL
 * stays past the threshold, and nephele-aio made 3.7 fdatasync calls per
 * server booted and deleted. */
#define RETRY_MS 100
/* The committing connection checkpoints itself beyond this (~40 MiB). */
#define BACKSTOP_PAGES (10 * CHECKPOINT_PAGES)

struct sqlite_checkpointer {
    char *path;              /* the database file, as SQLite names it */
    unsigned users;          /* connections sharing it (registry lock) */
    pthread_mutex_t lock;    /* guards the fields below */
    pthread_cond_t wake;
    pthread_t thread;
    bool started, failed;    /* the thread runs / could not be started */
    bool pending, stopping;
    struct sqlite_checkpointer *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sqlite_checkpointer *registry;

/* One PASSIVE checkpoint; true when it copied every frame of the WAL. */
static bool checkpoint_on(sqlite3 *conn, const char *path)
{
    int wal_pages = 0, done_pages = 0;
    int rc = sqlite3_wal_checkpoint_v2(conn, NULL, SQLITE_CHECKPOINT_PASSIVE, &wal_pages,
                                       &done_pages);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        nph_warn("WAL checkpoint of '%s' failed: %s", path, sqlite3_errmsg(conn));
    return rc == SQLITE_OK && done_pages >= wal_pages;
}

/* Wait RETRY_MS, or until the checkpointer is stopped. */
static void pause_retries(struct sqlite_checkpointer *cp)
{
    struct timespec until = nph_clock_deadline(RETRY_MS);
    pthread_mutex_lock(&cp->lock);
    while (!cp->stopping && pthread_cond_timedwait(&cp->wake, &cp->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&cp->lock);
}

/* A connection learns that the file is in WAL mode only when it first reads
 * it; until then its checkpoints are silent no-ops. */
static sqlite3 *open_for_checkpoints(const char *path)
{
    sqlite3 *conn = NULL;
    int rc = sqlite3_open_v2(path, &conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(conn, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return conn;
    nph_warn("cannot open '%s' for WAL checkpoints: %s", path,
             conn ? sqlite3_errmsg(conn) : sqlite3_errstr(rc));
    sqlite3_close(conn);
    return NULL;
}

static bool wait_for_work(struct sqlite_checkpointer *cp)
{
    pthread_mutex_lock(&cp->lock);
    while (!cp->pending && !cp->stopping)
        pthread_cond_wait(&cp->wake, &cp->lock);
    bool run = !cp->stopping;
    cp->pending = false;
    pthread_mutex_unlock(&cp->lock);
    return run;
}

static void *checkpointer_main(void *arg)
{
    struct sqlite_checkpointer *cp = arg;
    /* Signals belong to the daemon's main thread. */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    sqlite3 *conn = NULL;
    while (wait_for_work(cp)) {
        if (!conn && !(conn = open_for_checkpoints(cp->path)))
            continue;
        if (!checkpoint_on(conn, cp->path))
            pause_retries(cp);
    }
    /* Closed last, this connection also checkpoints and removes the WAL. */
    sqlite3_close(conn);
    return NULL;
}

/* Started on the first full WAL rather than at open, so that programs that
 * only read never run the thread. Called with cp->lock held. */
static bool start_locked(struct sqlite_checkpointer *cp)
{
    if (!cp->started && !cp->failed) {
        int rc = pthread_create(&cp->thread, NULL, checkpointer_main, cp);
        cp->started = rc == 0;
        cp->failed = rc != 0;
        if (rc != 0)
            nph_warn("cannot start the WAL checkpointer of '%s': %s; commits checkpoint "
                            "themselves", cp->path, strerror(rc));
    }
    return cp->started;
}

static int on_commit(void *arg, sqlite3 *conn, const char *schema, int wal_pages)
{
    struct sqlite_checkpointer *cp = arg;
    if (wal_pages < CHECKPOINT_PAGES)
        return SQLITE_OK;
    pthread_mutex_lock(&cp->lock);
    bool handed_off = start_locked(cp);
    if (handed_off) {
        cp->pending = true;
        pthread_cond_signal(&cp->wake);
    }
    pthread_mutex_unlock(&cp->lock);
    if (!handed_off || wal_pages >= BACKSTOP_PAGES)
        sqlite3_wal_checkpoint_v2(conn, schema, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static struct sqlite_checkpointer *checkpointer_new(const char *path)
{
    struct sqlite_checkpointer *cp = calloc(1, sizeof(*cp));
    if (!cp || !(cp->path = strdup(path))) {
        free(cp);
        return NULL;
    }
    pthread_mutex_init(&cp->lock, NULL);
    pthread_cond_init(&cp->wake, NULL);
    return cp;
}

static void checkpointer_free(struct sqlite_checkpointer *cp)
{
    pthread_mutex_lock(&cp->lock);
    cp->stopping = true;
    pthread_cond_signal(&cp->wake);
    bool started = cp->started;
    pthread_mutex_unlock(&cp->lock);
    if (started)
        pthread_join(cp->thread, NULL);
    pthread_cond_destroy(&cp->wake);
    pthread_mutex_destroy(&cp->lock);
    free(cp->path);
    free(cp);
}

struct sqlite_checkpointer *sqlite_checkpointer_attach(sqlite3 *conn)
{
    const char *path = sqlite3_db_filename(conn, "main");
    if (!path || !*path)
        return NULL; /* in memory or temporary: no WAL */
    pthread_mutex_lock(&registry_lock);
    struct sqlite_checkpointer *cp = registry;
    while (cp && strcmp(cp->path, path) != 0)
        cp = cp->next;
    if (!cp && (cp = checkpointer_new(path))) {
        cp->next = registry;
        registry = cp;
    }
    if (cp)
        cp->users++;
    pthread_mutex_unlock(&registry_lock);
    /* Without a checkpointer SQLite's automatic checkpoint stays in place. */
    if (cp)
        sqlite3_wal_hook(conn, on_commit, cp);
    return cp;
}

void sqlite_checkpointer_detach(struct sqlite_checkpointer *cp)
{
    if (!cp)
        return;
    pthread_mutex_lock(&registry_lock);
    bool last = --cp->users == 0;
    if (last) {
        struct sqlite_checkpointer **link = &registry;
        while (*link != cp)
            link = &(*link)->next;
        *link = cp->next;
    }
    pthread_mutex_unlock(&registry_lock);
    if (last)
        checkpointer_free(cp);
}
