/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A tiny TAP producer for automake's tap-driver.sh: one "ok N - name" line
 * per check, the plan at the end, exit status 1 when any check failed.
 *
 *     ok(x == 1, "x is one");
 *     is_int(st, NPH_OK, "load succeeds");
 *     is_str(name, "fake", "driver name");
 *     like(err.message, "fake.conf:3:", "error names the line");
 *     return tap_done();
 */
#ifndef NPH_TAP_H
#define NPH_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

__attribute__((format(printf, 2, 3), unused)) static int ok(int cond, const char *fmt, ...)
{
    va_list ap;
    printf("%s %d - ", cond ? "ok" : "not ok", ++tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!cond)
        tap_failed++;
    fflush(stdout);
    return cond;
}

#define is_int(got, want, ...) \
    do { \
        long long g_ = (long long)(got), w_ = (long long)(want); \
        if (!ok(g_ == w_, __VA_ARGS__)) \
            printf("#   got %lld, want %lld\n", g_, w_); \
    } while (0)

#define is_str(got, want, ...) \
    do { \
        const char *g_ = (got), *w_ = (want); \
        if (!ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__)) \
            printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)

/* `got` contains `want`. */
#define like(got, want, ...) \
    do { \
        const char *g_ = (got), *w_ = (want); \
        if (!ok(g_ && w_ && strstr(g_, w_) != NULL, __VA_ARGS__)) \
            printf("#   '%s' does not contain '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)

__attribute__((unused)) static void tap_diag(const char *text)
{
    printf("# %s\n", text);
}

__attribute__((unused)) static int tap_done(void)
{
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}

#endif
