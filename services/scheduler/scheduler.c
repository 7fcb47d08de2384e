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
#include "placement.h"
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
        st = nph_config_get_bool(cfg, "scheduler", "image_metadata_prefilter", true,
                                 &s->image_metadata_prefilter, err);
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
    const char *url = nph_config_get(cfg, "database", "connection", NULL);
    s->db_url = url ? strdup(url) : NULL;
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
    pthread_cond_init(&s->refresher_wake, NULL);
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
    if (s->refresher_running) {
        pthread_mutex_lock(&s->lock);
        s->refresher_stop = true;
        pthread_cond_signal(&s->refresher_wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->refresher, NULL);
    }
    pthread_cond_destroy(&s->refresher_wake);
    free(s->db_url);
    scheduler_hosts_free(s->cache);
    free(s->order);
    free(s->raw);
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

/* A reschedule: the last attempt's host failed the build, and the
 * BuildFailure weigher ranks it lower from now on.  s->lock held. */
static void note_build_failure(nph_scheduler *s, json_object *attempts)
{
    size_t n = json_object_is_type(attempts, json_type_array) ? json_object_array_length(attempts) : 0;
    json_object *host = NULL, *v = NULL;
    if (n == 0 || !json_object_object_get_ex(json_object_array_get_idx(attempts, n - 1), "host",
                                             &host) || !json_object_get_string(host))
        return;
    const char *name = json_object_get_string(host);
    json_object_object_get_ex(s->build_failures, name, &v);
    int64_t failures = json_object_get_int64(v) + 1;
    json_object_object_add(s->build_failures, name, json_object_new_int64(failures));
    for (size_t i = 0; s->cache && i < s->cache->n; i++)
        if (strcmp(s->cache->hosts[i].host, name) == 0)
            s->cache->hosts[i].build_failures = failures;
}

/* ---- choosing -------------------------------------------------------------- */

/* The filters and weighers with something to do for one request (see
 * host_check_applies_fn), in their configured order. */
struct checks {
    const struct host_filter *filters[32];
    size_t n_filters;
    const struct host_weigher *weighers[16];
    double multipliers[16];
    size_t n_weighers;
};

static void checks_for(const nph_scheduler *s, const struct request_spec *r, struct checks *c)
{
    c->n_filters = c->n_weighers = 0;
    for (size_t f = 0; f < s->n_filters; f++)
        if (!s->filters[f]->applies || s->filters[f]->applies(s, r))
            c->filters[c->n_filters++] = s->filters[f];
    for (size_t w = 0; w < s->n_weighers; w++)
        if (s->multipliers[w] != 0 && (!s->weighers[w]->applies || s->weighers[w]->applies(s, r))) {
            c->weighers[c->n_weighers] = s->weighers[w];
            c->multipliers[c->n_weighers++] = s->multipliers[w];
        }
}

/* One pass over the hosts: each goes through the filters up to the first
 * that refuses it; each kept host moves to the front, with the raw value of
 * every weigher in raw[kept * n_weighers + w] and their ranges in lo and hi.
 * One pass rather than one per filter and weigher: 10,000 host states do
 * not stay in the CPU's cache, and each pass read them from memory again.
 * Returns how many hosts were kept; *refused names the filter that removed
 * the last ones. */
static size_t filter_and_measure(const nph_scheduler *s, const struct checks *c,
                                 struct host_state **hosts, size_t n, const struct request_spec *r,
                                 double *raw, double *lo, double *hi, const char **refused)
{
    size_t refusals[32] = { 0 }; /* hosts each filter was the first to refuse */
    for (size_t w = 0; w < c->n_weighers; w++) {
        lo[w] = INFINITY;
        hi[w] = -INFINITY;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        struct host_state *h = hosts[i];
        size_t f = 0;
        while (f < c->n_filters && c->filters[f]->fn(s, h, r))
            f++;
        if (f < c->n_filters) {
            refusals[f]++;
            continue;
        }
        double *v = raw + kept * c->n_weighers;
        for (size_t w = 0; w < c->n_weighers; w++) {
            v[w] = c->weighers[w]->fn(s, h, r);
            lo[w] = v[w] < lo[w] ? v[w] : lo[w];
            hi[w] = v[w] > hi[w] ? v[w] : hi[w];
        }
        hosts[kept++] = h;
    }
    *refused = NULL;
    for (size_t f = 0, left = n; kept == 0 && f < c->n_filters && !*refused; f++)
        if ((left -= refusals[f]) == 0)
            *refused = c->filters[f]->name;
    return kept;
}

/* Each weigher's raw values normalised to 0..1 over the kept hosts, times
 * its multiplier, summed into the hosts' weights. */
static void weigh(const struct checks *c, struct host_state **hosts, size_t n, const double *raw,
                  const double *lo, const double *hi)
{
    for (size_t i = 0; i < n; i++) {
        const double *v = raw + i * c->n_weighers;
        double weight = 0;
        for (size_t w = 0; w < c->n_weighers; w++)
            if (hi[w] > lo[w])
                weight += c->multipliers[w] * (v[w] - lo[w]) / (hi[w] - lo[w]);
        hosts[i]->weight = weight;
    }
}

static int by_weight(const void *a, const void *b)
{
    double wa = (*(struct host_state *const *)a)->weight, wb = (*(struct host_state *const *)b)->weight;
    return wa < wb ? 1 : wa > wb ? -1 : 0;
}

/* The best k hosts to the front, best first, in O(k n): a decision needs
 * the best host_subset_size; the full order only when those fill up. */
static void best_first(struct host_state **hosts, size_t n, size_t k)
{
    for (size_t i = 0; i < k && i < n; i++) {
        size_t best = i;
        for (size_t j = i + 1; j < n; j++)
            if (hosts[j]->weight > hosts[best]->weight)
                best = j;
        struct host_state *t = hosts[i];
        hosts[i] = hosts[best];
        hosts[best] = t;
    }
}

/* ---- claiming -------------------------------------------------------------- */

/* The allocations a claim writes: the request's amounts on the node's
 * provider for the instance; for a migration, the instance's allocations
 * until now move to the migration, as Nova keeps a resize's source. */
static nph_status claim_allocations(nph_db *db, const struct nph_schedule_request *req,
                                    const struct host_state *h, const struct request_spec *r,
                                    placement_error *perr)
{
    struct placement_allocation mine[SCHED_MAX_RESOURCES];
    struct placement_consumer c[2] = {
        { .project_id = r->project_id, .user_id = r->user_id,
          .generation = PLACEMENT_GENERATION_ANY, .allocations = mine,
          .n_allocations = scheduler_allocations_for(r, h->uuid, mine) },
    };
    snprintf(c[0].uuid, sizeof(c[0].uuid), "%s", req->uuid);
    size_t n = 1;
    struct placement_allocation *before = NULL;
    nph_status st = NPH_OK;
    if (req->migration) {
        size_t n_before = 0;
        st = placement_allocations_of(db, req->uuid, &before, &n_before, perr);
        c[1] = c[0];
        snprintf(c[1].uuid, sizeof(c[1].uuid), "%s", req->migration);
        c[1].allocations = before;
        c[1].n_allocations = n_before;
        n = 2;
    }
    if (st == NPH_OK)
        st = placement_allocations_replace_in(db, c, n, perr);
    free(before);
    return st;
}

/* One transaction: the allocations (Placement checks the room and the
 * provider's generation), then what the caller records.  *filled when the
 * room is gone (the caller tries the next host); *raced when another
 * writer changed the provider meanwhile (worth trying it again). */
static nph_status claim(nph_db *db, const struct nph_schedule_request *req,
                        const struct host_state *h, const struct request_spec *r, bool *filled,
                        bool *raced, nph_error *err)
{
    *filled = *raced = false;
    placement_error perr = { .e = NPH_ERROR_INIT };
    nph_status st = nph_db_begin(db, err);
    if (st != NPH_OK)
        return st;
    st = claim_allocations(db, req, h, r, &perr);
    if (st != NPH_OK) {
        *raced = st == NPH_ERR_CONFLICT && perr.code &&
                 strcmp(perr.code, PLACEMENT_E_CONCURRENT_UPDATE) == 0;
        *filled = st == NPH_ERR_CONFLICT && !*raced;
        if (err)
            *err = perr.e;
    }
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

/* Swap in a new load (s->lock held); the old one is the caller's to free,
 * after unlocking where it can (freeing 10,000 hosts takes milliseconds). */
static struct hosts_load *use_load(nph_scheduler *s, struct hosts_load *load)
{
    struct hosts_load *old = s->cache;
    s->cache = load;
    /* The failures this process saw (a load runs without the lock). */
    for (size_t i = 0; json_object_object_length(s->build_failures) && i < load->n; i++) {
        json_object *v = NULL;
        json_object_object_get_ex(s->build_failures, load->hosts[i].host, &v);
        load->hosts[i].build_failures = json_object_get_int64(v);
    }
    return old;
}

/* The host states, loaded again when older than [scheduler]
 * host_state_refresh_ms (unless the refresher thread keeps them) or when
 * `force`; between loads the claims made here are added to them.  Called
 * with s->lock held. */
static nph_status refresh_hosts(nph_scheduler *s, nph_db *db, bool force, nph_error *err)
{
    uint64_t now = nph_clock_monotonic_ns();
    bool stale = now - (s->cache ? s->cache->loaded_ns : 0) >= (uint64_t)s->refresh_ms * 1000000u;
    if (s->cache && !force && (!stale || s->refresher_running))
        return NPH_OK;
    struct hosts_load *load = NULL;
    nph_status st = scheduler_hosts_load(s, db, &load, err);
    if (st != NPH_OK)
        return st;
    load->loaded_ns = now;
    scheduler_hosts_free(use_load(s, load));
    return NPH_OK;
}

/* The refresher thread: loads the host states on its own connection every
 * host_state_refresh_ms, so no decision waits for a load (140 ms at 10,000
 * nodes).  A load misses the claims that commit while it runs; the claim's
 * own check in Placement catches those, and the next load has them. */
static void *refresher(void *arg)
{
    nph_scheduler *s = arg;
    nph_db *db = NULL;
    nph_error err = NPH_ERROR_INIT;
    pthread_mutex_lock(&s->lock);
    while (!s->refresher_stop) {
        struct timespec until = nph_clock_deadline((long)s->refresh_ms);
        pthread_cond_timedwait(&s->refresher_wake, &s->lock, &until);
        if (s->refresher_stop)
            break;
        pthread_mutex_unlock(&s->lock);
        struct hosts_load *load = NULL;
        uint64_t started = nph_clock_monotonic_ns();
        nph_status st = db ? NPH_OK : nph_db_open(s->db_url, &db, &err);
        if (st == NPH_OK)
            st = scheduler_hosts_load(s, db, &load, &err);
        if (st != NPH_OK) {
            nph_warn("host states not refreshed: %s", err.message);
            nph_error_clear(&err);
            nph_db_close(db); /* a lost connection: open a new one next time */
            db = NULL;
        }
        struct hosts_load *old = NULL;
        if (load)
            load->loaded_ns = started;
        pthread_mutex_lock(&s->lock);
        if (load)
            old = use_load(s, load);
        if (old) {
            pthread_mutex_unlock(&s->lock);
            scheduler_hosts_free(old);
            pthread_mutex_lock(&s->lock);
        }
    }
    pthread_mutex_unlock(&s->lock);
    nph_db_close(db);
    return NULL;
}

/* Started with the first decision, so a scheduler that never decides
 * (tests, tools) has no thread.  Called with s->lock held. */
static void start_refresher(nph_scheduler *s)
{
    if (s->refresher_running || !s->db_url || s->refresh_ms <= 0)
        return;
    s->refresher_running = pthread_create(&s->refresher, NULL, refresher, s) == 0;
}

static nph_status no_valid_host(const struct request_spec *r, const char *refused, nph_error *err)
{
    char traits[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < r->n_required && used < sizeof(traits); i++)
        used += (size_t)snprintf(traits + used, sizeof(traits) - used, "%s%s",
                                 i ? ", " : " with traits ", r->required[i]);
    return nph_error_set(err, NPH_ERR_NOT_FOUND,
                         "No valid host was found. There are not enough hosts available: %s "
                         "left no node for %lld vCPUs, %lld MiB RAM and %lld GiB disk%s%s%s in "
                         "zone %s",
                         refused ? refused : "no compute node is known, which", (long long)r->vcpus,
                         (long long)r->memory_mb, (long long)r->disk_gb,
                         r->resource_class ? " of resource class " : "",
                         r->resource_class ? r->resource_class : "", traits, r->zone);
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

/* What a claim took, in the cached state until the next load. */
static void account(struct host_state *h, const struct request_spec *r)
{
    for (size_t i = 0; i < r->n_res; i++) {
        struct host_resource *have = scheduler_host_resource(h, r->res[i].resource_class);
        if (have)
            have->used += r->res[i].amount;
    }
    h->vcpus_used += r->vcpus;
    h->memory_mb_used += r->memory_mb;
    h->disk_gb_used += r->disk_gb;
    h->instances++;
}

/* Claim on `h`, again while other writers race for the same provider. */
static nph_status claim_retrying(nph_db *db, const struct nph_schedule_request *req,
                                 const struct host_state *h, const struct request_spec *r,
                                 bool *filled, nph_error *err)
{
    bool raced = true;
    nph_status st = NPH_OK;
    for (int attempt = 0; raced && attempt < 4; attempt++) {
        nph_error_clear(err);
        st = claim(db, req, h, r, filled, &raced, err);
    }
    *filled |= raced; /* still racing after four tries: let the next host have a go */
    return st;
}

/* Room for n host pointers and n values of every weigher, kept between
 * decisions (at 10,000 nodes fresh arrays each time cost page faults).
 * s->lock held. */
static nph_status scratch(nph_scheduler *s, size_t n, nph_error *err)
{
    if (n <= s->scratch_cap)
        return NPH_OK;
    struct host_state **order = realloc(s->order, n * sizeof(*order));
    if (order)
        s->order = order;
    size_t per_host = s->n_weighers ? s->n_weighers : 1;
    double *raw = order ? realloc(s->raw, n * per_host * sizeof(*raw)) : NULL;
    if (raw)
        s->raw = raw;
    if (!order || !raw)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    s->scratch_cap = n;
    return NPH_OK;
}

/* Filter, weigh and claim over the cached hosts; NPH_ERR_NOT_FOUND when
 * none fits.  Called with s->lock held. */
static nph_status choose_and_claim(nph_scheduler *s, nph_db *db, const struct nph_schedule_request *req,
                                   struct request_spec *spec, char **host, char **node,
                                   nph_error *err)
{
    size_t n = s->cache->n;
    nph_status st = scratch(s, n ? n : 1, err);
    if (st != NPH_OK)
        return st;
    struct host_state **order = s->order;
    for (size_t i = 0; i < n; i++)
        order[i] = &s->cache->hosts[i];
    scheduler_spec_bind_traits(spec, s->cache);
    struct checks checks;
    checks_for(s, spec, &checks);
    const char *refused = NULL;
    double lo[16], hi[16];
    size_t passed = filter_and_measure(s, &checks, order, n, spec, s->raw, lo, hi, &refused);
    if (passed == 0)
        return no_valid_host(spec, refused, err);
    weigh(&checks, order, passed, s->raw, lo, hi);
    /* One of the best host_subset_size, so schedulers running at once
     * spread out; when those fill up meanwhile, the rest best first. */
    size_t subset = passed < (size_t)s->host_subset_size ? passed : (size_t)s->host_subset_size;
    best_first(order, passed, subset);
    size_t first = random_below((unsigned)subset);
    bool filled = true;
    for (size_t k = 0; k < passed && filled; k++) {
        if (k == subset) /* rarely: every one of the best filled up */
            qsort(order + subset, passed - subset, sizeof(*order), by_weight);
        struct host_state *h = order[k < subset ? (first + k) % subset : k];
        st = claim_retrying(db, req, h, spec, &filled, err);
        if (st == NPH_OK && (!(*host = strdup(h->host)) || !(*node = strdup(h->node))))
            st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
        if (st == NPH_OK)
            account(h, spec);
    }
    if (filled)
        st = no_valid_host(spec, "the claims (every fitting node filled up meanwhile)", err);
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
    start_refresher(s);
    note_build_failure(s, req->attempts);
    nph_status st = scheduler_spec_load(s, db, req->uuid, req->flavor, req->image, req->hints, &spec,
                                        &keep, err);
    spec.avoid_hosts = avoid;
    bool fresh = s->cache == NULL;
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
