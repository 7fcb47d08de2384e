/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One measurement of the scheduler (arguments: SQLite file, node count,
 * decisions): NODES compute nodes on 10 hosts, then DECISIONS builds
 * scheduled one after another with the default filters and weighers, each
 * including its claim.  Prints "decisions_per_s N", "p50_ms N", "p99_ms N".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "db-objects.h"
#include "error.h"
#include "json.h"
#include "scheduler.h"
#include "uuid.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static nph_status add_nodes(nph_db *db, long nodes, nph_error *err)
{
    nph_status st = nph_db_begin(db, err);
    for (int h = 0; st == NPH_OK && h < 10; h++) {
        char host[32];
        snprintf(host, sizeof(host), "host-%d", h);
        st = nph_db_service_upsert(db, host, "nephele-compute", "compute", err);
    }
    for (long i = 0; st == NPH_OK && i < nodes; i++) {
        char host[32], name[32];
        snprintf(host, sizeof(host), "host-%ld", i % 10);
        snprintf(name, sizeof(name), "node-%ld", i);
        nph_auto_json *node = json_object_new_object();
        nph_json_add_string(node, "hypervisor_hostname", name);
        nph_json_add_string(node, "hypervisor_type", "QEMU");
        nph_json_add_int(node, "vcpus", 64);
        nph_json_add_int(node, "memory_mb", 262144);
        nph_json_add_int(node, "local_gb", 4096);
        st = nph_db_compute_node_upsert(db, host, node, err);
    }
    return st == NPH_OK ? nph_db_commit(db, err) : st;
}

static nph_status claim(nph_db *db, const char *host, const char *node, void *opaque,
                        nph_error *err)
{
    nph_auto_json *changes = json_object_new_object();
    nph_json_add_string(changes, "host", host);
    nph_json_add_string(changes, "node", node);
    return nph_db_instance_update(db, opaque, changes, "scheduling", NULL, err);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench-scheduler SQLITE_FILE NODES DECISIONS\n");
        return 2;
    }
    long nodes = atol(argv[2]), decisions = atol(argv[3]);
    char url[4200];
    snprintf(url, sizeof(url), "sqlite:///%s", argv[1]);
    nph_error err = NPH_ERROR_INIT;
    nph_db *db = NULL;
    nph_auto_config *cfg = nph_config_new();
    nph_scheduler *s = NULL;
    if (nph_db_open(url, &db, &err) != NPH_OK || nph_db_sync(db, &err) != NPH_OK ||
        add_nodes(db, nodes, &err) != NPH_OK || nph_scheduler_new(cfg, &s, &err) != NPH_OK) {
        fprintf(stderr, "bench-scheduler: %s\n", err.message);
        return 1;
    }
    nph_auto_json *flavor = json_object_new_object();
    nph_json_add_string(flavor, "flavorid", "1");
    nph_json_add_int(flavor, "vcpus", 1);
    nph_json_add_int(flavor, "memory_mb", 512);
    nph_json_add_int(flavor, "root_gb", 1);
    double *took = calloc((size_t)decisions, sizeof(*took));
    for (long i = 0; i < decisions; i++) {
        char uuid[NPH_UUID_STRLEN + 1];
        nph_uuid_generate(uuid);
        nph_auto_json *fields = json_object_new_object();
        nph_json_add_string(fields, "uuid", uuid);
        nph_json_add_string(fields, "project_id", "bench");
        nph_json_add_string(fields, "vm_state", "building");
        nph_json_add_string(fields, "task_state", "scheduling");
        json_object_object_add(fields, "flavor", json_object_get(flavor));
        if (nph_db_instance_create(db, fields, &err) != NPH_OK) {
            fprintf(stderr, "bench-scheduler: %s\n", err.message);
            return 1;
        }
        struct nph_schedule_request req = { .uuid = uuid, .flavor = flavor, .claim = claim,
                                            .opaque = uuid };
        char *host = NULL, *node = NULL;
        double start = now_ms();
        if (nph_scheduler_select(s, db, &req, &host, &node, &err) != NPH_OK) {
            fprintf(stderr, "bench-scheduler: %s\n", err.message);
            return 1;
        }
        took[i] = now_ms() - start;
        free(host);
        free(node);
    }
    double total = 0; /* the decisions alone, not the records the benchmark writes */
    for (long i = 0; i < decisions; i++)
        total += took[i];
    qsort(took, (size_t)decisions, sizeof(*took), by_value);
    printf("decisions_per_s %.1f\n", (double)decisions / (total / 1e3));
    printf("p50_ms %.3f\n", took[decisions / 2]);
    printf("p99_ms %.3f\n", took[decisions * 99 / 100]);
    free(took);
    nph_scheduler_free(s);
    nph_db_close(db);
    return 0;
}
