/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One measurement of loading a driver: load and start every driver in a
 * plugins.d directory, list every node and read its resources, as a compute
 * service does at start-up.  Prints "SECONDS PEAK_RSS_KIB NODES".  Run in a
 * fresh process per sample (tests/bench/run.sh does).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "plugin.h"

struct walk {
    nph_driver *drv;
    size_t nodes;
    uint64_t vcpus;
    nph_status st;
};

static void on_node(void *opaque, const char *node)
{
    struct walk *w = opaque;
    struct nph_node_resources r = { 0 };
    nph_error err = NPH_ERROR_INIT;
    if (NPH_DRIVER_CALL(w->drv, node_resources, &err, node, &r) != NPH_OK)
        w->st = err.code;
    w->nodes++;
    w->vcpus += r.vcpus;
}

static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench-load PLUGINS_D\n");
        return 2;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nph_driver_set set = { 0 };
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_driver_set_load(&set, argv[1], NULL, &err);
    if (st == NPH_OK)
        st = nph_driver_set_start(&set, &err);
    struct walk w = { 0 };
    for (size_t i = 0; st == NPH_OK && i < set.count; i++) {
        w.drv = set.drivers[i];
        st = NPH_DRIVER_CALL(w.drv, list_nodes, &err, on_node, &w);
        if (st == NPH_OK)
            st = w.st;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != NPH_OK) {
        fprintf(stderr, "bench-load: %s\n", err.message);
        return 1;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%.6f %ld %zu\n", secs, peak_rss_kib(), w.nodes);
    nph_driver_set_clear(&set);
    return 0;
}
