/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NPH_SCHEDULER_INTERNAL_H
#define NPH_SCHEDULER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "json.h"
#include "scheduler.h"

/* obj[key] (borrowed; NULL when absent) and its text. */
static inline json_object *sched_member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(obj, key, &v);
    return v;
}

static inline const char *sched_text(json_object *obj, const char *key)
{
    return json_object_get_string(sched_member(obj, key));
}

/* One node as the filters and weighers see it. */
struct host_state {
    const char *host, *node;          /* point into `row` */
    const char *hypervisor_type, *cpu_arch, *resource_class, *zone;
    int64_t vcpus, memory_mb, disk_gb;                /* totals */
    int64_t vcpus_used, memory_mb_used, disk_gb_used; /* by the instances on it */
    int64_t instances;
    bool reserved;                    /* its placement inventory is reserved (baremetal) */
    bool up, enabled;
    json_object *row;                 /* the compute_nodes row (borrowed) */
    json_object *aggregates;          /* array of {"name", "metadata"} (borrowed) */
    int64_t build_failures;           /* recent failed builds on this host */
    double weight;
};

/* What is asked for: one instance's flavor, image, hints and rules. */
struct request_spec {
    const char *uuid, *project_id, *zone;
    int64_t vcpus, memory_mb, disk_gb;
    const char *resource_class;       /* resources:CUSTOM_X=1, or NULL */
    json_object *extra_specs;         /* flavor extra specs (borrowed) */
    json_object *image_props;         /* image properties (borrowed), may be NULL */
    const char *image_id;
    const char *group_policy;         /* server group, or NULL */
    int64_t max_per_host;             /* anti-affinity's rule */
    json_object *group_hosts;         /* hosts of the group's placed members: host -> count */
    json_object *same_hosts;          /* hint same_host: set of hosts, or NULL */
    json_object *different_hosts;     /* hint different_host: set of hosts, or NULL */
    json_object *avoid_hosts;         /* keys "host" and "host\nnode" not to use again */
};

/* A filter: true when the host may take the request. */
typedef bool (*host_filter_fn)(const nph_scheduler *s, const struct host_state *h,
                               const struct request_spec *r);
struct host_filter {
    const char *name;
    host_filter_fn fn;
};
/* A weigher: a raw value, normalised to 0..1 over the hosts, times its multiplier. */
typedef double (*host_weigher_fn)(const nph_scheduler *s, const struct host_state *h,
                                  const struct request_spec *r);
struct host_weigher {
    const char *name;
    const char *multiplier_option; /* [filter_scheduler] key */
    host_weigher_fn fn;
};

struct nph_scheduler {
    char *default_az;
    double cpu_ratio, ram_ratio, disk_ratio;
    int64_t service_down_time_s;
    int64_t host_subset_size;
    int64_t max_instances_per_host;
    int64_t max_attempts;
    json_object *isolated_images, *isolated_hosts; /* arrays of strings */
    bool restrict_isolated;
    const struct host_filter *filters[32];
    size_t n_filters;
    const struct host_weigher *weighers[16];
    double multipliers[16];
    size_t n_weighers;
    pthread_mutex_t lock;
    json_object *build_failures;                   /* host -> count */
    /* The host states of the last load ([scheduler] host_state_refresh_ms). */
    struct host_state *cache;
    size_t n_cache;
    json_object *cache_rows;   /* what the states point into */
    uint64_t cache_ns;
    int64_t refresh_ms;
};

/* scheduler-filters.c */
const struct host_filter *scheduler_filter_find(const char *name);
extern const char *const scheduler_default_filters;
/* scheduler-weighers.c */
const struct host_weigher *scheduler_weigher_find(const char *name);

/* scheduler-hosts.c: every node with its usage, zone and aggregates.
 * *hosts is calloc'ed; `*rows` keeps what they point into. */
nph_status scheduler_hosts_load(nph_scheduler *s, nph_db *db, struct host_state **hosts,
                                size_t *n, json_object **rows, nph_error *err);
/* The request of instance `uuid` (flavor, image, hints, group). */
nph_status scheduler_spec_load(nph_scheduler *s, nph_db *db, const char *uuid, json_object *flavor,
                               json_object *image, json_object *hints, struct request_spec *spec,
                               json_object **keep, nph_error *err);

#endif
