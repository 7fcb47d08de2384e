/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the vmware driver's tests share: a host-services table backed by a
 * key/value list (the test plays the compute host), vcsim start and stop
 * through tests/peers/vcsim.sh, and instance helpers. */
#ifndef VMW_TEST_HOST_H
#define VMW_TEST_HOST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "test-util.h"
#include "vmw-driver.h"

struct test_host {
    const char *opts[32][2];
    int n_opts;
    int events;
    nph_lifecycle_event last_event;
};
static struct test_host th;

static const char *th_lookup(const char *key)
{
    for (int i = 0; i < th.n_opts; i++)
        if (!strcmp(th.opts[i][0], key))
            return th.opts[i][1];
    for (const struct nph_driver_option *o = vmw_option_table; o->name; o++)
        if (!strcmp(o->name, key))
            return o->default_value ? o->default_value : "";
    return "";
}

__attribute__((unused)) static void th_set(const char *key, const char *value)
{
    for (int i = 0; i < th.n_opts; i++)
        if (!strcmp(th.opts[i][0], key)) {
            th.opts[i][1] = value;
            return;
        }
    th.opts[th.n_opts][0] = key;
    th.opts[th.n_opts++][1] = value;
}

NPH_PRINTF(3, 4) static void th_log(nph_host *h, nph_log_level level, const char *fmt, ...)
{
    if (!getenv("NPH_TEST_VERBOSE"))
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("# driver: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

NPH_PRINTF(3, 4) static nph_status th_error(nph_error *err, nph_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nph_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

static const char *th_string(nph_host *h, const char *key) { return th_lookup(key); }
static int64_t th_int(nph_host *h, const char *key) { return strtoll(th_lookup(key), NULL, 10); }
static double th_double(nph_host *h, const char *key) { return strtod(th_lookup(key), NULL); }
static bool th_bool(nph_host *h, const char *key) { return !strcmp(th_lookup(key), "true"); }

NPH_PRINTF(4, 5) static nph_status th_option_error(nph_host *h, nph_error *err, const char *key,
                                                   const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return nph_error_set(err, NPH_ERR_INVALID, "option %s: %s", key, msg);
}

static void th_event(nph_host *h, const struct nph_driver_event *e)
{
    th.events++;
    th.last_event = e->transition;
}

static nph_status th_append(nph_buffer *b, const void *data, size_t len) { return NPH_OK; }
static const char *th_name(nph_host *h) { return "vmware-test"; }
static const char *th_host_name(nph_host *h) { return "host-a"; }

static const struct nph_host_services th_services = {
    NPH_DRIVER_ABI_MAJOR, NPH_DRIVER_ABI_MINOR, sizeof(struct nph_host_services),
    th_log, th_error, th_string, th_int, th_double, th_bool, th_option_error, th_event,
    th_append, th_name, th_host_name,
};

/* Start the driver with the options set so far. */
__attribute__((unused)) static nph_status th_start(void **drv, nph_error *err)
{
    return nph_vmware_descriptor.ops->init_host(&th_services, NULL, drv, err);
}

/* vcsim in `dir` (tests/peers/vcsim.sh); fills url and ca. */
__attribute__((unused)) static void vcsim_start(const char *dir, const char *args, char *url,
                                                size_t url_len, char *ca, size_t ca_len)
{
    char cmd[1024], path[512], line[512];
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/peers/vcsim.sh' start '%s' %s >&2",
             getenv("top_srcdir"), dir, args);
    if (system(cmd) != 0) {
        printf("Bail out! vcsim did not start\n");
        exit(99);
    }
    snprintf(path, sizeof(path), "%s/env", dir);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!strncmp(line, "URL=", 4))
            snprintf(url, url_len, "%s", line + 4);
        if (!strncmp(line, "CA=", 3))
            snprintf(ca, ca_len, "%s", line + 3);
    }
    if (f)
        fclose(f);
}

__attribute__((unused)) static void vcsim_stop(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/peers/vcsim.sh' stop '%s'", getenv("top_srcdir"),
             dir);
    if (system(cmd) != 0)
        printf("# vcsim stop failed\n");
}

#endif
