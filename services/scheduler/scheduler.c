/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The filter scheduler: configuration, filtering, weighing, the claim. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "db-objects.h"
#include "error.h"
#include "log.h"
#include "scheduler-internal.h"

NPH_LOG_INIT("scheduler");

static const struct {
    const char *option;
    double fallback;
} multiplier_defaults[] = {
    { "ram_weight_multiplier", 1.0 },          { "cpu_weight_multiplier", 1.0 },
    { "disk_weight_multiplier", 1.0 },         { "num_instances_weight_multiplier", 0.0 },
    { "soft_affinity_weight_multiplier", 1.0 }, { "soft_anti_affinity_weight_multiplier", 1.0 },
    { "build_failure_weight_multiplier", 1000000.0 },
};

/* "A, B,C" into the names of `out`; the entry's error names a bad one. */
static nph_status read_names(const nph_config *cfg, const char *section, const char *key,
                             const char *fallback, const void **out, size_t cap, size_t *n,
                             const void *(*find)(const char *), nph_error *err)
{
    const char *list = nph_config_get(cfg, section, key, fallback);
    *n = 0;
    for (const char *p = list; *p;) {
        p += strspn(p, ", \t\n"); /* a list may go on over continuation lines */
        size_t len = strcspn(p, ", \t\n");
        if (!len)
            break;
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)len, p);
        const void *found = find(name);
        if (!found || *n == cap)
            return nph_config_entry_error(err, NPH_ERR_INVALID, nph_config_find(cfg, section, key),
                                          found ? "too many names" : "unknown name '%s'", name);
        out[(*n)++] = found;
        p += len;
    }
    return NPH_OK;
}

static const void *find_filter(const char *name)
{
    return scheduler_filter_find(name);
}

static const void *find_weigher(const char *name)
{
    return scheduler_weigher_find(name);
}

static json_object *string_list(const char *text)
{
    json_object *list = json_object_new_array();
    for (const char *p = text; p && *p;) {
        p += strspn(p, ", \t\n");
        size_t len = strcspn(p, ", \t\n");
        if (len)
            json_object_array_add(list, json_object_new_string_len(p, (int)len));
        p += len;
    }
    return list;
}

static nph_status read_config(nph_scheduler *s, const nph_config *cfg, nph_error *err)
{
    const char *fs = "filter_scheduler";
    /* Always first: what Placement decides in Nova, and the nodes a
     * request must not use again. */
    s->filters[0] = scheduler_filter_find("ResourcesFilter");
    s->filters[1] = scheduler_filter_find("RetryFilter");
    nph_status st = read_names(cfg, fs, "enabled_filters", scheduler_default_filters,
                               (const void **)s->filters + 2, 30, &s->n_filters, find_filter, err);
    s->n_filters += 2;
    if (st == NPH_OK)
        st = read_names(cfg, fs, "weight_classes",
                        "RAMWeigher,CPUWeigher,DiskWeigher,NumInstancesWeigher,"
                        "ServerGroupSoftAffinityWeigher,ServerGroupSoftAntiAffinityWeigher,"
                        "BuildFailureWeigher",
                        (const void **)s->weighers, 16, &s->n_weighers, find_weigher, err);
    for (size_t i = 0; st == NPH_OK && i < s->n_weighers; i++) {
        double fallback = 1.0;
        for (size_t k = 0; k < sizeof(multiplier_defaults) / sizeof(multiplier_defaults[0]); k++)
            if (strcmp(multiplier_defaults[k].option, s->weighers[i]->multiplier_option) == 0)
                fallback = multiplier_defaults[k].fallback;
        st = nph_config_get_double(cfg, fs, s->weighers[i]->multiplier_option, fallback,
                                   &s->multipliers[i], err);
    }
    if (st == NPH_OK)
        st = nph_config_get_int(cfg, fs, "host_subset_size", 1, &s->host_subset_size, err);
    if (st == NPH_OK)
        st = nph_config_get_int(cfg, fs, "max_instances_per_host", 50, &s->max_instances_per_host, err);
    if (st == NPH_OK)
        st = nph_config_get_bool(cfg, fs, "restrict_isolated_hosts_to_isolated_images", true,
                                 &s->restrict_isolated, err);
    if (st == NPH_OK)
        st = nph_config_get_int(cfg, "scheduler", "max_attempts", 3, &s->max_attempts, err);
    if (st == NPH_OK)
        st = nph_config_get_int(cfg, "scheduler", "host_state_refresh_ms", 1000, &s->refresh_ms, err);
    if (st == NPH_OK)
        st = nph_config_get_int(cfg, "DEFAULT", "service_down_time", 60, &s->service_down_time_s, err);
    if (st == NPH_OK)
        st = nph_config_get_double(cfg, "DEFAULT", "cpu_allocation_ratio", 4.0, &s->cpu_ratio, err);
    if (st == NPH_OK)
        st = nph_config_get_double(cfg, "DEFAULT", "ram_allocation_ratio", 1.0, &s->ram_ratio, err);
    if (st == NPH_OK)
        st = nph_config_get_double(cfg, "DEFAULT", "disk_allocation_ratio", 1.0, &s->disk_ratio, err);
    if (st == NPH_OK && s->host_subset_size < 1)
        st = nph_config_entry_error(err, NPH_ERR_INVALID, nph_config_find(cfg, fs, "host_subset_size"),
                                    "must be at least 1");
    if (st == NPH_OK && s->max_attempts < 1)
        st = nph_config_entry_error(err, NPH_ERR_INVALID,
                                    nph_config_find(cfg, "scheduler", "max_attempts"),
                                    "must be at least 1");
    s->isolated_images = string_list(nph_config_get(cfg, fs, "isolated_images", ""));
    s->isolated_hosts = string_list(nph_config_get(cfg, fs, "isolated_hosts", ""));
    s->default_az = strdup(nph_config_get(cfg, "DEFAULT", "default_availability_zone", "nova"));
    if (st == NPH_OK && !s->default_az)
        st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    return st;
}

nph_status nph_scheduler_new(const nph_config *cfg, nph_scheduler **out, nph_error *err)
{
    nph_scheduler *s = calloc(1, sizeof(*s));
    if (!s)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    s->build_failures = json_object_new_object();
    nph_status st = read_config(s, cfg, err);
    if (st != NPH_OK) {
        nph_scheduler_free(s);
        return st;
    }
    *out = s;
    return NPH_OK;
}

void nph_scheduler_free(nph_scheduler *s)
{
    if (!s)
        return;
    free(s->cache);
    json_object_put(s->cache_rows);
    json_object_put(s->isolated_images);
    json_object_put(s->isolated_hosts);
    json_object_put(s->build_failures);
    pthread_mutex_destroy(&s->lock);
    free(s->default_az);
    free(s);
}

int64_t nph_scheduler_max_attempts(const nph_scheduler *s)
{
    return s->max_attempts;
}

void nph_scheduler_build_failed(nph_scheduler *s, const char *host)
{
    pthread_mutex_lock(&s->lock);
    json_object *v = NULL;
    json_object_object_get_ex(s->build_failures, host, &v);
    json_object_object_add(s->build_failures, host, json_object_new_int64(json_object_get_int64(v) + 1));
    pthread_mutex_unlock(&s->lock);
}

/* ---- choosing -------------------------------------------------------------- */

/* Keep the hosts every filter passes, in place; *refused names the filter
 * that removed the last ones. */
static size_t run_filters(const nph_scheduler *s, struct host_state **hosts, size_t n,
                          const struct request_spec *r, const char **refused)
{
    *refused = NULL;
    for (size_t f = 0; f < s->n_filters && n > 0; f++) {
        size_t kept = 0;
        for (size_t i = 0; i < n; i++)
            if (s->filters[f]->fn(s, hosts[i], r))
                hosts[kept++] = hosts[i];
        if (kept == 0)
            *refused = s->filters[f]->name;
        n = kept;
    }
    return n;
}

static void run_weighers(const nph_scheduler *s, struct host_state **hosts, size_t n,
                         const struct request_spec *r)
{
    double *raw = calloc(n ? n : 1, sizeof(*raw));
    for (size_t i = 0; i < n; i++)
        hosts[i]->weight = 0;
    for (size_t w = 0; raw && w < s->n_weighers; w++) {
        if (s->multipliers[w] == 0)
            continue;
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            raw[i] = s->weighers[w]->fn(s, hosts[i], r);
            lo = raw[i] < lo ? raw[i] : lo;
            hi = raw[i] > hi ? raw[i] : hi;
        }
        for (size_t i = 0; i < n; i++)
            hosts[i]->weight += s->multipliers[w] * (hi > lo ? (raw[i] - lo) / (hi - lo) : 0);
    }
    free(raw);
}

static int by_weight(const void *a, const void *b)
{
    double wa = (*(struct host_state *const *)a)->weight, wb = (*(struct host_state *const *)b)->weight;
    return wa < wb ? 1 : wa > wb ? -1 : 0;
}

/* ---- claiming -------------------------------------------------------------- */

/* In the claim's transaction: is there still room on the node? */
static nph_status still_fits(nph_scheduler *s, nph_db *db, const struct host_state *h,
                             const struct request_spec *r, nph_error *err)
{
    const char *params[] = { h->host, h->node };
    nph_auto_json *rows = NULL;
    nph_status st = nph_db_select_rows(db,
                                       "SELECT COUNT(*) AS n, COALESCE(SUM(vcpus), 0) AS vcpus, "
                                       "COALESCE(SUM(memory_mb), 0) AS memory_mb, "
                                       "COALESCE(SUM(root_gb + ephemeral_gb), 0) AS disk FROM "
                                       "instances WHERE deleted = 0 AND host = ? AND node = ?",
                                       params, 2, &rows, err);
    if (st != NPH_OK)
        return st;
    json_object *u = json_object_array_get_idx(rows, 0), *v;
    struct host_state now = *h;
    now.instances = json_object_object_get_ex(u, "n", &v) ? json_object_get_int64(v) : 0;
    now.vcpus_used = json_object_object_get_ex(u, "vcpus", &v) ? json_object_get_int64(v) : 0;
    now.memory_mb_used = json_object_object_get_ex(u, "memory_mb", &v) ? json_object_get_int64(v) : 0;
    now.disk_gb_used = json_object_object_get_ex(u, "disk", &v) ? json_object_get_int64(v) : 0;
    if (!s->filters[0]->fn(s, &now, r))
        return nph_error_set(err, NPH_ERR_CONFLICT, "node %s filled up meanwhile", h->node);
    return NPH_OK;
}

/* *filled when another claim took the room first (the caller tries the
 * next host); any other failure ends the attempt. */
static nph_status claim(nph_scheduler *s, nph_db *db, const struct nph_schedule_request *req,
                        const struct host_state *h, const struct request_spec *r, bool *filled,
                        nph_error *err)
{
    *filled = false;
    nph_status st = nph_db_begin(db, err);
    if (st != NPH_OK)
        return st;
    /* SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL needs a lock. */
    if (nph_db_backend_of(db) == NPH_DB_POSTGRESQL)
        st = nph_db_exec(db, "SELECT pg_advisory_xact_lock(7468657)", err);
    if (st == NPH_OK)
        st = still_fits(s, db, h, r, err);
    *filled = st == NPH_ERR_CONFLICT;
    if (st == NPH_OK)
        st = req->claim(db, h->host, h->node, req->opaque, err);
    if (st == NPH_OK)
        st = nph_db_commit(db, err);
    if (st != NPH_OK)
        nph_db_rollback(db);
    return st;
}

static unsigned random_below(unsigned n)
{
    unsigned r = 0;
    if (n <= 1 || getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        return 0;
    return r % n;
}

static nph_status no_valid_host(const struct request_spec *r, const char *refused, nph_error *err)
{
    return nph_error_set(err, NPH_ERR_NOT_FOUND,
                         "No valid host was found. There are not enough hosts available: %s "
                         "left no node for %lld vCPUs, %lld MiB RAM and %lld GiB disk%s%s in zone %s",
                         refused ? refused : "no compute node is known, which", (long long)r->vcpus,
                         (long long)r->memory_mb, (long long)r->disk_gb,
                         r->resource_class ? " of resource class " : "",
                         r->resource_class ? r->resource_class : "", r->zone);
}

/* The request's "host" and "host\nnode" keys not to use (a migration's
 * source, the nodes a build failed on). */
static json_object *avoid_set(const struct nph_schedule_request *req)
{
    json_object *avoid = json_object_new_object();
    if (req->avoid_host)
        json_object_object_add(avoid, req->avoid_host, json_object_new_boolean(true));
    for (size_t i = 0; json_object_is_type(req->attempts, json_type_array) &&
                       i < json_object_array_length(req->attempts);
         i++) {
        json_object *a = json_object_array_get_idx(req->attempts, i), *h = NULL, *nd = NULL;
        json_object_object_get_ex(a, "host", &h);
        json_object_object_get_ex(a, "node", &nd);
        char key[600];
        snprintf(key, sizeof(key), "%s\n%s", json_object_get_string(h), json_object_get_string(nd));
        json_object_object_add(avoid, key, json_object_new_boolean(true));
    }
    return avoid;
}

/* The host states, loaded again when older than [scheduler]
 * host_state_refresh_ms or when `force`; between loads the claims made
 * here are added to them.  Called with s->lock held. */
static nph_status refresh_hosts(nph_scheduler *s, nph_db *db, bool force, nph_error *err)
{
    uint64_t now = nph_clock_monotonic_ns();
    if (!force && s->cache_rows && now - s->cache_ns < (uint64_t)s->refresh_ms * 1000000u)
        return NPH_OK;
    struct host_state *states = NULL;
    json_object *rows = NULL;
    size_t n = 0;
    nph_status st = scheduler_hosts_load(s, db, &states, &n, &rows, err);
    if (st != NPH_OK)
        return st;
    free(s->cache);
    json_object_put(s->cache_rows);
    s->cache = states;
    s->n_cache = n;
    s->cache_rows = rows;
    s->cache_ns = now;
    return NPH_OK;
}

/* Filter, weigh and claim over the cached hosts; NPH_ERR_NOT_FOUND when
 * none fits.  Called with s->lock held. */
static nph_status choose_and_claim(nph_scheduler *s, nph_db *db, const struct nph_schedule_request *req,
                                   struct request_spec *spec, char **host, char **node,
                                   nph_error *err)
{
    struct host_state **order = calloc(s->n_cache ? s->n_cache : 1, sizeof(*order));
    if (!order)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < s->n_cache; i++)
        order[i] = &s->cache[i];
    const char *refused = NULL;
    size_t passed = run_filters(s, order, s->n_cache, spec, &refused);
    nph_status st = NPH_OK;
    if (passed == 0) {
        free(order);
        return no_valid_host(spec, refused, err);
    }
    run_weighers(s, order, passed, spec);
    qsort(order, passed, sizeof(*order), by_weight);
    /* One of the best host_subset_size, so schedulers running at once spread out. */
    size_t first = random_below((unsigned)(passed < (size_t)s->host_subset_size
                                               ? passed : (size_t)s->host_subset_size));
    bool filled = true;
    for (size_t k = 0; k < passed && filled; k++) {
        struct host_state *h = order[(first + k) % passed];
        nph_error_clear(err);
        st = claim(s, db, req, h, spec, &filled, err);
        if (st == NPH_OK && (!(*host = strdup(h->host)) || !(*node = strdup(h->node))))
            st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
        if (st == NPH_OK) { /* what this claim took, until the next load */
            h->vcpus_used += spec->vcpus;
            h->memory_mb_used += spec->memory_mb;
            h->disk_gb_used += spec->disk_gb;
            h->instances++;
        }
    }
    if (filled)
        st = no_valid_host(spec, "the claims (every fitting node filled up meanwhile)", err);
    free(order);
    return st;
}

nph_status nph_scheduler_select(nph_scheduler *s, nph_db *db, const struct nph_schedule_request *req,
                                char **host, char **node, nph_error *err)
{
    *host = *node = NULL;
    struct request_spec spec;
    nph_auto_json *keep = NULL;
    nph_auto_json *avoid = avoid_set(req);
    /* One decision at a time in this process: they share the cached hosts,
     * and each takes well under a millisecond once they are loaded. */
    pthread_mutex_lock(&s->lock);
    nph_status st = scheduler_spec_load(s, db, req->uuid, req->flavor, req->image, req->hints, &spec,
                                        &keep, err);
    spec.avoid_hosts = avoid;
    bool fresh = s->cache_rows == NULL;
    if (st == NPH_OK)
        st = refresh_hosts(s, db, false, err);
    if (st == NPH_OK)
        st = choose_and_claim(s, db, req, &spec, host, node, err);
    /* Nothing fits in what we knew: the cache may be behind (deleted
     * servers, a new node); look once more at the database. */
    if (st == NPH_ERR_NOT_FOUND && !fresh && refresh_hosts(s, db, true, NULL) == NPH_OK) {
        nph_error_clear(err);
        st = choose_and_claim(s, db, req, &spec, host, node, err);
    }
    pthread_mutex_unlock(&s->lock);
    if (st != NPH_OK) {
        free(*host);
        free(*node);
        *host = *node = NULL;
    }
    return st;
}
