/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Logging: levels, a category per file, a request id per thread.
 *
 *     NPH_LOG_INIT("core.plugin");
 *     ...
 *     nph_info("loaded driver '%s' from %s", name, path);
 *
 * Lines look like oslo.log's:
 *   2026-11-23 05:31:48.123 4242 INFO core.plugin [req-6c1f...] loaded driver 'fake' ...
 */
#ifndef NPH_LOG_H
#define NPH_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include "virt-driver.h"

#define NPH_LOG_INIT(name) __attribute__((unused)) static const char nph_log_category[] = name

void nph_log_set_level(nph_log_level level);
nph_log_level nph_log_get_level(void);
bool nph_log_enabled(nph_log_level level);
/* "debug", "info", "warning", "error", "critical"; false for anything else. */
bool nph_log_level_parse(const char *text, nph_log_level *out);
const char *nph_log_level_name(nph_log_level level);

/* Where lines go: stderr (the default), a file (appended), or syslog. */
nph_status nph_log_to_file(const char *path, nph_error *err);
void nph_log_to_syslog(const char *ident);
void nph_log_to_stderr(void);

/* The request id of the calling thread ("req-<uuid>"), shown on every line
 * it logs; NULL clears it.  The string is copied. */
void nph_log_set_request_id(const char *request_id);
const char *nph_log_request_id(void);

void nph_log_write(nph_log_level level, const char *category, const char *fmt, ...)
    NPH_PRINTF(3, 4);
void nph_log_writev(nph_log_level level, const char *category, const char *fmt, va_list ap)
    NPH_PRINTF(3, 0);

#define NPH_LOG_AT(level, ...) \
    do { \
        if (nph_log_enabled(level)) \
            nph_log_write(level, nph_log_category, __VA_ARGS__); \
    } while (0)
#define nph_debug(...) NPH_LOG_AT(NPH_LOG_DEBUG, __VA_ARGS__)
#define nph_info(...) NPH_LOG_AT(NPH_LOG_INFO, __VA_ARGS__)
#define nph_warn(...) NPH_LOG_AT(NPH_LOG_WARNING, __VA_ARGS__)
#define nph_err(...) NPH_LOG_AT(NPH_LOG_ERROR, __VA_ARGS__)
#define nph_crit(...) NPH_LOG_AT(NPH_LOG_CRITICAL, __VA_ARGS__)

#endif
