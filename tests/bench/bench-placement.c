/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The placement library at scale (arguments: connection URL, node count):
 * a compute host reports N nodes (synced as providers in batches of 500, as
 * the conductor receives them, then re-synced unchanged), then allocation
 * candidates for a flavor with Nova's default limit of 1000, with a
 * required trait, and without a limit, and claims of one candidate each.
 * Prints "key value" lines: times in seconds or milliseconds.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db-objects.h"
#include "json.h"
#include "placement.h"
#include "uuid.h"

#define BATCH 500

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof(*v), compare_double);
    return v[(int)(p * (n - 1))];
}

static json_object *node(long i)
{
    char name[32];
    snprintf(name, sizeof(name), "node-%05ld", i);
    json_object *n = json_object_new_object();
    nph_json_add_string(n, "hypervisor_hostname", name);
    nph_json_add_int(n, "vcpus", 64);
    nph_json_add_int(n, "memory_mb", 262144);
    nph_json_add_int(n, "local_gb", 2000);
    json_object *formats = json_object_new_array();
    json_object_array_add(formats, json_object_new_string(i % 2 ? "qcow2" : "raw"));
    json_object_object_add(n, "image_formats", formats);
    return n;
}

/* The compute_nodes rows, in one transaction. */
static nph_status add_nodes(nph_db *db, long count, nph_error *err)
{
    nph_status st = nph_db_begin(db, err);
    for (long i = 0; st == NPH_OK && i < count; i++) {
        nph_auto_json *cols = node(i);
        json_object_object_del(cols, "image_formats");
        st = nph_db_compute_node_upsert(db, "bench", cols, err);
    }
    if (st == NPH_OK)
        return nph_db_commit(db, err);
    nph_db_rollback(db);
    return st;
}

static double sync_all(nph_db *db, long count, placement_error *err, nph_status *st)
{
    struct placement_ratios ratios = { 16.0, 1.5, 1.0 };
    double t0 = now_s();
    *st = NPH_OK;
    for (long i = 0; *st == NPH_OK && i < count; i += BATCH) {
        nph_auto_json *nodes = json_object_new_array();
        for (long j = i; j < count && j < i + BATCH; j++)
            json_object_array_add(nodes, node(j));
        *st = placement_sync_compute_nodes(db, "bench", nodes, &ratios, err);
    }
    return now_s() - t0;
}

/* p50 and p99 in ms of `runs` candidate queries; *first gets a candidate. */
static nph_status time_candidates(nph_db *db, const char *required, int64_t limit, int runs,
                                  const char *label, char *first, placement_error *err)
{
    struct placement_query *q = calloc(1, sizeof(*q));
    double *t = calloc((size_t)runs, sizeof(*t));
    nph_status st = placement_query_add_resources(q, "VCPU:2,MEMORY_MB:4096,DISK_GB:40", err);
    if (st == NPH_OK && required)
        st = placement_query_add_traits(q, required, true, false, err);
    q->limit = limit;
    size_t found = 0;
    for (int r = 0; st == NPH_OK && r < runs; r++) {
        double t0 = now_s();
        nph_auto_json *out = NULL;
        st = placement_candidates(db, q, &out, err);
        t[r] = (now_s() - t0) * 1000;
        json_object *requests = NULL;
        json_object_object_get_ex(out, "allocation_requests", &requests);
        found = json_object_array_length(requests);
        json_object *summaries = NULL;
        json_object_object_get_ex(out, "provider_summaries", &summaries);
        json_object_object_foreach(summaries, uuid, summary) {
            (void)summary;
            if (first)
                snprintf(first, NPH_UUID_STRLEN + 1, "%s", uuid);
            break;
        }
    }
    if (st == NPH_OK)
        printf("%s_candidates %zu\n%s_p50_ms %.3f\n%s_p99_ms %.3f\n", label, found, label,
               percentile(t, runs, 0.5), label, percentile(t, runs, 0.99));
    free(t);
    free(q);
    return st;
}

static bool count_one(void *opaque, const struct placement_candidate *c)
{
    (void)c;
    (*(size_t *)opaque)++;
    return true;
}

/* The scheduler's path: the candidates as C structs, no JSON. */
static nph_status time_each(nph_db *db, int64_t limit, int runs, const char *label,
                            placement_error *err)
{
    struct placement_query *q = calloc(1, sizeof(*q));
    double *t = calloc((size_t)runs, sizeof(*t));
    nph_status st = placement_query_add_resources(q, "VCPU:2,MEMORY_MB:4096,DISK_GB:40", err);
    q->limit = limit;
    size_t found = 0;
    for (int r = 0; st == NPH_OK && r < runs; r++) {
        found = 0;
        double t0 = now_s();
        st = placement_candidates_each(db, q, count_one, &found, err);
        t[r] = (now_s() - t0) * 1000;
    }
    if (st == NPH_OK)
        printf("%s_candidates %zu\n%s_p50_ms %.3f\n%s_p99_ms %.3f\n", label, found, label,
               percentile(t, runs, 0.5), label, percentile(t, runs, 0.99));
    free(t);
    free(q);
    return st;
}

/* Claim 2 VCPU of `provider` for `runs` new consumers: p50 and p99 in ms. */
static nph_status time_claims(nph_db *db, const char *provider, int runs, placement_error *err)
{
    double *t = calloc((size_t)runs, sizeof(*t));
    struct placement_allocation a = { .used = 1 };
    snprintf(a.provider_uuid, sizeof(a.provider_uuid), "%s", provider);
    snprintf(a.resource_class, sizeof(a.resource_class), "VCPU");
    nph_status st = NPH_OK;
    for (int r = 0; st == NPH_OK && r < runs; r++) {
        struct placement_consumer c = { .project_id = "p", .user_id = "u",
                                        .generation = PLACEMENT_GENERATION_NEW, .allocations = &a,
                                        .n_allocations = 1 };
        nph_uuid_generate(c.uuid);
        double t0 = now_s();
        st = placement_allocations_replace(db, &c, 1, err);
        t[r] = (now_s() - t0) * 1000;
    }
    if (st == NPH_OK)
        printf("claim_p50_ms %.3f\nclaim_p99_ms %.3f\n", percentile(t, runs, 0.5),
               percentile(t, runs, 0.99));
    free(t);
    return st;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench-placement URL NODES\n");
        return 2;
    }
    long count = atol(argv[2]);
    placement_error err = PLACEMENT_ERROR_INIT;
    nph_db *db = NULL;
    nph_status st = nph_db_open(argv[1], &db, &err.e);
    if (st == NPH_OK)
        st = nph_db_sync(db, &err.e);
    if (st == NPH_OK)
        st = add_nodes(db, count, &err.e);
    double first = st == NPH_OK ? sync_all(db, count, &err, &st) : 0;
    double again = st == NPH_OK ? sync_all(db, count, &err, &st) : 0;
    if (st == NPH_OK)
        printf("nodes %ld\nsync_s %.3f\nresync_s %.3f\n", count, first, again);
    char provider[NPH_UUID_STRLEN + 1] = "";
    if (st == NPH_OK)
        st = time_each(db, 1000, 500, "each_limit1000", &err);
    if (st == NPH_OK)
        st = time_each(db, 100, 1000, "each_limit100", &err);
    if (st == NPH_OK)
        st = time_candidates(db, NULL, 1000, 200, "limit1000", provider, &err);
    if (st == NPH_OK)
        st = time_candidates(db, "COMPUTE_IMAGE_TYPE_QCOW2", 1000, 200, "trait_limit1000", NULL,
                             &err);
    if (st == NPH_OK)
        st = time_candidates(db, NULL, 0, 20, "all", NULL, &err);
    if (st == NPH_OK)
        st = time_claims(db, provider, 500, &err);
    nph_db_close(db);
    if (st != NPH_OK) {
        fprintf(stderr, "bench-placement: %s\n", err.e.message);
        return 1;
    }
    return 0;
}
