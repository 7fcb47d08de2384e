/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One measurement of the scheduler (arguments: SQLite file, node count,
 * decisions): NODES compute nodes on 10 hosts, then DECISIONS builds
 * scheduled one after another with the default filters and weighers, each
 * including its claim (the allocation in Placement and the instance's
 * host).  The first decision, which loads the host states, is not counted;
 * later loads run on the scheduler's refresher thread.  Prints "decisions_per_s N", "p50_ms N", "p99_ms N".
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
#include "log.h"
#include "placement.h"
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

/* NODES compute nodes on 10 hosts, each a resource provider with its
 * inventory and image-type traits, as the conductor makes them. */
static nph_status add_nodes(nph_db *db, long nodes, nph_error *err)
{
    nph_auto_json *by_host = json_object_new_array();
    nph_status st = nph_db_begin(db, err);
    for (int h = 0; st == NPH_OK && h < 10; h++) {
        char host[32];
        snprintf(host, sizeof(host), "host-%d", h);
        st = nph_db_service_upsert(db, host, "nephele-compute", "compute", err);
        json_object_array_add(by_host, json_object_new_array());
    }
    for (long i = 0; st == NPH_OK && i < nodes; i++) {
        char host[32], name[32];
        snprintf(host, sizeof(host), "host-%ld", i % 10);
        snprintf(name, sizeof(name), "node-%ld", i);
        json_object *node = json_object_new_object();
        nph_json_add_string(node, "hypervisor_hostname", name);
        nph_json_add_string(node, "hypervisor_type", "QEMU");
        nph_json_add_int(node, "vcpus", 64);
        nph_json_add_int(node, "memory_mb", 262144);
        nph_json_add_int(node, "local_gb", 4096);
        st = nph_db_compute_node_upsert(db, host, node, err);
        json_object *formats = json_object_new_array(); /* for Placement, not the row */
        json_object_array_add(formats, json_object_new_string("qcow2"));
        json_object_array_add(formats, json_object_new_string("raw"));
        json_object_object_add(node, "image_formats", formats);
        json_object_array_add(json_object_array_get_idx(by_host, (size_t)(i % 10)), node);
    }
    st = st == NPH_OK ? nph_db_commit(db, err) : (nph_db_rollback(db), st);
    const struct placement_ratios ratios = { 4.0, 1.0, 1.0 };
    for (int h = 0; st == NPH_OK && h < 10; h++) {
        char host[32];
        snprintf(host, sizeof(host), "host-%d", h);
        placement_error perr = PLACEMENT_ERROR_INIT;
        st = placement_sync_compute_nodes(db, host, json_object_array_get_idx(by_host, (size_t)h),
                                          &ratios, &perr);
        if (st != NPH_OK)
            *err = perr.e;
    }
    return st;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench-scheduler SQLITE_FILE NODES DECISIONS\n");
        return 2;
    }
    nph_log_set_level(NPH_LOG_WARNING); /* a line per claim would be timed too */
    long nodes = atol(argv[2]), decisions = atol(argv[3]);
    char url[4200];
    snprintf(url, sizeof(url), "sqlite:///%s", argv[1]);
    nph_error err = NPH_ERROR_INIT;
    nph_db *db = NULL;
    nph_auto_config *cfg = nph_config_new();
    char conf[4300];
    snprintf(conf, sizeof(conf), "[database]\nconnection = %s\n", url);
    nph_scheduler *s = NULL;
    if (nph_config_load_string(cfg, "bench.conf", conf, &err) != NPH_OK ||
        nph_db_open(url, &db, &err) != NPH_OK || nph_db_sync(db, &err) != NPH_OK ||
        add_nodes(db, nodes, &err) != NPH_OK || nph_scheduler_new(cfg, &s, &err) != NPH_OK) {
        fprintf(stderr, "bench-scheduler: %s\n", err.message);
        return 1;
    }
    nph_auto_json *flavor = json_object_new_object();
    nph_json_add_string(flavor, "flavorid", "1");
    nph_json_add_int(flavor, "vcpus", 1);
    nph_json_add_int(flavor, "memory_mb", 512);
    nph_json_add_int(flavor, "root_gb", 1);
    nph_auto_json *image = json_object_new_object(); /* needs COMPUTE_IMAGE_TYPE_QCOW2 */
    nph_json_add_string(image, "id", "bench-image");
    nph_json_add_string(image, "disk_format", "qcow2");
    double *took = calloc((size_t)decisions + 1, sizeof(*took));
    for (long i = -1; i < decisions; i++) { /* -1: the first load, not counted */
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
        struct nph_schedule_request req = { .uuid = uuid, .flavor = flavor, .image = image,
                                            .claim = nph_scheduler_claim_instance,
                                            .opaque = uuid };
        char *host = NULL, *node = NULL;
        double start = now_ms();
        if (nph_scheduler_select(s, db, &req, &host, &node, &err) != NPH_OK) {
            fprintf(stderr, "bench-scheduler: %s\n", err.message);
            return 1;
        }
        if (i >= 0)
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
