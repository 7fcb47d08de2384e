/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The SQLite backend's WAL checkpointer: commits hand their checkpoints to a
 * thread of their own, so the database file fills while the writer idles;
 * connections to one file share it; the last close leaves no WAL behind. */
#include "config.h"

#include <sys/stat.h>
#include <time.h>

#include "db.h"
#include "error.h"
#include "log.h"
#include "test-util.h"

static char db_path[512], wal_path[520];

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Commits of about 4 KiB rows each: ROWS of them fill ROWS pages of WAL. */
static bool write_rows(nph_db *db, int first, int rows)
{
    nph_error err = NPH_ERROR_INIT;
    for (int i = first; i < first + rows; i++) {
        char sql[128];
        snprintf(sql, sizeof(sql), "INSERT INTO filler VALUES (%d, zeroblob(4000))", i);
        if (nph_db_exec(db, sql, &err) != NPH_OK) {
            printf("# %s\n", err.message);
            nph_error_clear(&err);
            return false;
        }
    }
    return true;
}

static int thread_count(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    for (struct dirent *de; d && (de = readdir(d));)
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* Polls (the checkpointer runs on its own time) for up to five seconds. */
static bool db_file_reaches(long long bytes)
{
    for (int i = 0; i < 500 && file_size(db_path) < bytes; i++)
        nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
    return file_size(db_path) >= bytes;
}

static nph_db *open_db(void)
{
    char url[600];
    snprintf(url, sizeof(url), "sqlite:///%s", db_path);
    nph_db *db = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_open(url, &db, &err) != NPH_OK) {
        printf("Bail out! %s\n", err.message);
        exit(99);
    }
    return db;
}

static void test_checkpoints_off_the_writer(void)
{
    nph_db *first = open_db(), *second = open_db();
    nph_error err = NPH_ERROR_INIT;
    int threads = thread_count();
    ok(nph_db_exec(first, "CREATE TABLE filler (id INTEGER PRIMARY KEY, data BLOB)", &err) == NPH_OK,
       "a table in a WAL database");
    /* SQLite's own checkpoint would have copied the pages on the commit that
     * crossed 1,000; here the writer only signals. */
    ok(write_rows(first, 0, 1200), "1,200 commits of one 4 KiB row");
    is_int(thread_count(), threads + 1, "start the checkpointer's thread");
    ok(db_file_reaches(1000 * 4096), "the checkpointer copies them into the database file "
                                     "while the writer waits (file %lld bytes)",
       file_size(db_path));
    /* The second connection's commits go to the same, still running, thread. */
    long long before = file_size(db_path);
    nph_db_close(first);
    ok(write_rows(second, 1200, 1200), "1,200 more commits on another connection to the file");
    ok(db_file_reaches(before + 1000 * 4096),
       "checkpointed after the first connection closed (file %lld bytes, was %lld)",
       file_size(db_path), before);
    ok(file_size(wal_path) >= 0, "the WAL exists while a connection is open");
    nph_db_close(second);
    is_int(file_size(wal_path), -1, "closing the last connection removes the WAL");
    is_int(thread_count(), threads, "and stops the checkpointer");

    nph_db *again = open_db();
    nph_db_stmt *count = NULL;
    bool row = false;
    ok(nph_db_prepare(again, "SELECT count(*) FROM filler", &count, &err) == NPH_OK &&
           nph_db_step(count, &row, &err) == NPH_OK && row,
       "the database reopens");
    is_int(row ? nph_db_col_int(count, 0) : -1, 2400, "with every committed row");
    nph_db_reset(count);
    nph_db_close(again);
}

static void test_in_memory(void)
{
    nph_db *db = NULL;
    nph_error err = NPH_ERROR_INIT;
    ok(nph_db_open("sqlite://", &db, &err) == NPH_OK, "an in-memory database needs no checkpointer");
    ok(db && nph_db_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1)", &err) == NPH_OK,
       "and takes writes");
    nph_db_close(db);
}

int main(void)
{
    test_tmpdir_make();
    nph_log_set_level(getenv("NPH_TEST_DEBUG") ? NPH_LOG_DEBUG : NPH_LOG_CRITICAL);
    snprintf(db_path, sizeof(db_path), "%s/wal.db", test_tmpdir);
    snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
    test_checkpoints_off_the_writer();
    test_in_memory();
    test_tmpdir_remove();
    return tap_done();
}
