/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"

enum log_sink { SINK_STDERR, SINK_FILE, SINK_SYSLOG };

static _Atomic int log_threshold = NPH_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum log_sink log_sink = SINK_STDERR;
static FILE *log_file;
static _Thread_local char log_request_id[64];

static const char *const level_names[] = { "debug", "info", "warning", "error", "critical" };
static const char *const level_labels[] = { "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL" };
static const int level_syslog[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR, LOG_CRIT };

void nph_log_set_level(nph_log_level level) { log_threshold = level; }
nph_log_level nph_log_get_level(void) { return (nph_log_level)log_threshold; }
bool nph_log_enabled(nph_log_level level) { return (int)level >= log_threshold; }

bool nph_log_level_parse(const char *text, nph_log_level *out)
{
    for (int i = 0; i <= NPH_LOG_CRITICAL; i++) {
        if (text && strcasecmp(text, level_names[i]) == 0) {
            *out = (nph_log_level)i;
            return true;
        }
    }
    return false;
}

const char *nph_log_level_name(nph_log_level level)
{
    return level <= NPH_LOG_CRITICAL ? level_names[level] : "unknown";
}

static void close_sinks_locked(void)
{
    if (log_file) {
        fclose(log_file);
        log_file = NULL;
    }
    if (log_sink == SINK_SYSLOG)
        closelog();
}

nph_status nph_log_to_file(const char *path, nph_error *err)
{
    FILE *f = fopen(path, "a");
    if (!f)
        return nph_error_set(err, NPH_ERR_IO, "cannot open log file '%s': %s", path, strerror(errno));
    setvbuf(f, NULL, _IOLBF, 0);
    pthread_mutex_lock(&log_lock);
    close_sinks_locked();
    log_file = f;
    log_sink = SINK_FILE;
    pthread_mutex_unlock(&log_lock);
    return NPH_OK;
}

void nph_log_to_syslog(const char *ident)
{
    pthread_mutex_lock(&log_lock);
    close_sinks_locked();
    openlog(ident, LOG_PID, LOG_DAEMON);
    log_sink = SINK_SYSLOG;
    pthread_mutex_unlock(&log_lock);
}

void nph_log_to_stderr(void)
{
    pthread_mutex_lock(&log_lock);
    close_sinks_locked();
    log_sink = SINK_STDERR;
    pthread_mutex_unlock(&log_lock);
}

void nph_log_set_request_id(const char *request_id)
{
    snprintf(log_request_id, sizeof(log_request_id), "%s", request_id ? request_id : "");
}

const char *nph_log_request_id(void)
{
    return log_request_id[0] ? log_request_id : NULL;
}

void nph_log_writev(nph_log_level level, const char *category, const char *fmt, va_list ap)
{
    if (level > NPH_LOG_CRITICAL)
        level = NPH_LOG_CRITICAL;
    char message[2048];
    vsnprintf(message, sizeof(message), fmt, ap);
    const char *rid = log_request_id[0] ? log_request_id : "-";

    pthread_mutex_lock(&log_lock);
    if (log_sink == SINK_SYSLOG) {
        syslog(level_syslog[level], "%s %s [%s] %s", level_labels[level], category, rid, message);
    } else {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        char stamp[32];
        strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
        FILE *out = log_sink == SINK_FILE && log_file ? log_file : stderr;
        fprintf(out, "%s.%03ld %ld %s %s [%s] %s\n", stamp, (long)(tv.tv_usec / 1000),
                (long)getpid(), level_labels[level], category, rid, message);
    }
    pthread_mutex_unlock(&log_lock);
}

void nph_log_write(nph_log_level level, const char *category, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nph_log_writev(level, category, fmt, ap);
    va_end(ap);
}
