/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NPH_SCHEDULER_INTERNAL_H
#define NPH_SCHEDULER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

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

#define SCHED_MAX_RESOURCES 8 /* resource classes of one node or one request */
#define SCHED_MAX_TRAITS 16    /* required (or forbidden) traits of one request */

/* One inventory of a node's resource provider. */
struct host_resource {
    const char *resource_class;       /* interned for the load */
    int64_t capacity;                 /* (total - reserved) * allocation_ratio */
    int64_t used, max_unit;
};

/* One node as the filters and weighers see it: the compute node, its
 * service, and its resource provider's inventories and traits. */
struct host_state {
    const char *host, *node, *uuid;   /* point into `row`; uuid: the provider's */
    const char *hypervisor_type, *cpu_arch, *resource_class, *zone;
    struct host_resource res[SCHED_MAX_RESOURCES];
    size_t n_res;
    const uint64_t *traits;           /* bit i: the load's trait i (NULL: none) */
    /* VCPU, MEMORY_MB and DISK_GB of `res`, for the weighers */
    int64_t vcpus, memory_mb, disk_gb;                /* capacities */
    int64_t vcpus_used, memory_mb_used, disk_gb_used;
    int64_t instances;
    bool up, enabled;
    json_object *row;                 /* the compute_nodes row (borrowed) */
    json_object *aggregates;          /* array of {"name", "metadata"} (borrowed) */
    int64_t build_failures;           /* recent failed builds on this host */
    double weight;
};

/* What is asked for: one instance's flavor, image, hints and rules. */
struct request_spec {
    const char *uuid, *project_id, *user_id, *zone;
    int64_t vcpus, memory_mb, disk_gb;
    /* What Placement would be asked for: the flavor's amounts with its
     * resources:CLASS=N extra specs applied (zeros dropped), and the traits
     * of trait:NAME=required|forbidden and of the image's disk_format. */
    struct {
        const char *resource_class;
        const char *bound;            /* the load's interned name (NULL: no node has it) */
        int64_t amount;
    } res[SCHED_MAX_RESOURCES];
    size_t n_res;
    const char *required[SCHED_MAX_TRAITS], *forbidden[SCHED_MAX_TRAITS];
    size_t n_required, n_forbidden;
    /* The same traits as bit numbers of the loaded hosts (-1: no host has it). */
    int required_bits[SCHED_MAX_TRAITS], forbidden_bits[SCHED_MAX_TRAITS];
    const char *resource_class;       /* resources:CUSTOM_X=1, or NULL */
    json_object *extra_specs;         /* flavor extra specs (borrowed) */
    json_object *image_props;         /* image properties (borrowed), may be NULL */
    const char *image_hypervisor;     /* its hypervisor_type, or NULL */
    const char *image_arch;           /* its hw_architecture (or architecture), or NULL */
    const char *image_id;
    const char *group_policy;         /* server group, or NULL */
    int64_t max_per_host;             /* anti-affinity's rule */
    json_object *group_hosts;         /* hosts of the group's placed members: host -> count */
    json_object *same_hosts;          /* hint same_host: set of hosts, or NULL */
    json_object *different_hosts;     /* hint different_host: set of hosts, or NULL */
    json_object *avoid_hosts;         /* keys "host" and "host\nnode" not to use again */
};

/* Is the request in a server group with this policy? */
static inline bool sched_in_group(const struct request_spec *r, const char *policy)
{
    return r->group_policy && strcmp(r->group_policy, policy) == 0;
}

/* A filter: true when the host may take the request. */
typedef bool (*host_filter_fn)(const nph_scheduler *s, const struct host_state *h,
                               const struct request_spec *r);
/* Whether a filter or weigher has anything to look at for this request
 * (a group filter without a group has not): when not, its pass over the
 * hosts is skipped, since it would keep every host or give them all the
 * same value.  At 10,000 hosts each pass costs tens of microseconds. */
typedef bool (*host_check_applies_fn)(const nph_scheduler *s, const struct request_spec *r);
struct host_filter {
    const char *name;
    host_filter_fn fn;
    host_check_applies_fn applies; /* NULL: always */
};
/* A weigher: a raw value, normalised to 0..1 over the hosts, times its multiplier. */
typedef double (*host_weigher_fn)(const nph_scheduler *s, const struct host_state *h,
                                  const struct request_spec *r);
struct host_weigher {
    const char *name;
    const char *multiplier_option; /* [filter_scheduler] key */
    host_weigher_fn fn;
    host_check_applies_fn applies; /* NULL: always */
};

struct nph_scheduler {
    char *default_az;
    bool image_metadata_prefilter;    /* [scheduler]: disk_format -> COMPUTE_IMAGE_TYPE_* */
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
    struct hosts_load *cache;
    int64_t refresh_ms;
    /* The thread that keeps `cache` fresh on its own connection. */
    char *db_url;              /* [database] connection; NULL: no thread */
    pthread_t refresher;
    pthread_cond_t refresher_wake;
    bool refresher_running, refresher_stop;
    /* A decision's working room, kept for the next one. */
    struct host_state **order;
    double *raw;
    size_t scratch_cap;
};

/* One load of every node: the states and what they point into. */
struct hosts_load {
    struct host_state *hosts;
    size_t n;
    json_object *rows;         /* the rows, aggregates and interned names */
    json_object *names;        /* resource class name -> the interned string */
    json_object *trait_index;  /* trait name -> bit number */
    uint64_t *trait_bits;      /* n * trait_words words */
    size_t trait_words;
    uint64_t loaded_ns;
};

/* scheduler-filters.c */
const struct host_filter *scheduler_filter_find(const char *name);
extern const char *const scheduler_default_filters;
/* scheduler-weighers.c */
const struct host_weigher *scheduler_weigher_find(const char *name);

/* scheduler-hosts.c: every node with its provider's inventories and
 * traits, its instance count, zone and aggregates. */
nph_status scheduler_hosts_load(nph_scheduler *s, nph_db *db, struct hosts_load **out,
                                nph_error *err);
void scheduler_hosts_free(struct hosts_load *load);
/* Fill the spec's Placement part (res, required, forbidden, resource_class)
 * and image_hypervisor and image_arch from its vcpus, memory_mb, disk_gb,
 * extra_specs and image_props. */
/* s may be NULL: no image prefilter. */
void scheduler_spec_placement(const nph_scheduler *s, struct request_spec *spec,
                              const char *disk_format);
/* scheduler-heal.c: the request's amounts as allocations on one provider
 * (out has room for SCHED_MAX_RESOURCES). */
struct placement_allocation;
size_t scheduler_allocations_for(const struct request_spec *r, const char *provider_uuid,
                                 struct placement_allocation *out);
/* The request's traits as bit numbers of `load`, and its resource classes
 * as the load's interned names (so the filter compares pointers). */
void scheduler_spec_bind_traits(struct request_spec *spec, const struct hosts_load *load);
/* The node's inventory of `resource_class`, or NULL. */
struct host_resource *scheduler_host_resource(struct host_state *h, const char *resource_class);
/* The request of instance `uuid` (flavor, image, hints, group). */
nph_status scheduler_spec_load(nph_scheduler *s, nph_db *db, const char *uuid, json_object *flavor,
                               json_object *image, json_object *hints, struct request_spec *spec,
                               json_object **keep, nph_error *err);

#endif
