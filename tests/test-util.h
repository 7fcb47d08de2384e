/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the unit tests: temporary plugins.d files, golden files. */
#ifndef NPH_TEST_UTIL_H
#define NPH_TEST_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"

static char test_tmpdir[256];

/* A fresh temporary directory, removed by test_tmpdir_remove(). */
__attribute__((unused)) static const char *test_tmpdir_make(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(test_tmpdir, sizeof(test_tmpdir), "%s/nph-test-XXXXXX", base ? base : "/tmp");
    if (!mkdtemp(test_tmpdir)) {
        perror("mkdtemp");
        exit(99);
    }
    return test_tmpdir;
}

__attribute__((unused)) static void test_tmpdir_remove(void)
{
    DIR *d = opendir(test_tmpdir);
    if (!d)
        return;
    struct dirent *de;
    char path[512];
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", test_tmpdir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(test_tmpdir);
}

/* Write `text` to test_tmpdir/name; returns the path in a static buffer. */
__attribute__((unused)) static const char *test_write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof(path), "%s/%s", test_tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(99);
    }
    return path;
}

/*
 * Compare `actual` with tests/golden/NAME.  With NPH_TEST_REGENERATE=1 in the
 * environment the golden file is rewritten instead (review the diff!).
 */
__attribute__((unused)) static void golden_check(const char *name, const char *actual)
{
    const char *srcdir = getenv("top_srcdir");
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/golden/%s", srcdir ? srcdir : ".", name);
    const char *regen = getenv("NPH_TEST_REGENERATE");
    if (regen && strcmp(regen, "1") == 0) {
        FILE *f = fopen(path, "w");
        ok(f && fputs(actual, f) >= 0 && fclose(f) == 0, "golden %s regenerated", name);
        return;
    }
    FILE *f = fopen(path, "r");
    char expected[65536];
    size_t n = f ? fread(expected, 1, sizeof(expected) - 1, f) : 0;
    if (f)
        fclose(f);
    expected[n] = '\0';
    if (!ok(f && strcmp(expected, actual) == 0, "output matches golden %s", name)) {
        printf("# --- expected (%s)\n%s# --- actual\n%s# (NPH_TEST_REGENERATE=1 rewrites it)\n",
               path, expected, actual);
    }
}

#endif
