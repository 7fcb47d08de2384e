/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host weighers, as Nova's: each gives a raw value per host; the scheduler
 * scales the values of one weigher to 0..1 over the hosts that passed the
 * filters, multiplies by its [filter_scheduler] multiplier and adds them
 * up.  Positive multipliers spread (more free RAM ranks higher); negative
 * ones stack.
 */
#include "config.h"

#include <string.h>

#include "scheduler-internal.h"

static double ram(const nph_scheduler *s, const struct host_state *h, const struct request_spec *r)
{
    (void)s;
    (void)r;
    return (double)h->memory_mb - (double)h->memory_mb_used;
}

static double cpu(const nph_scheduler *s, const struct host_state *h, const struct request_spec *r)
{
    (void)s;
    (void)r;
    return (double)h->vcpus - (double)h->vcpus_used;
}

static double disk(const nph_scheduler *s, const struct host_state *h, const struct request_spec *r)
{
    (void)s;
    (void)r;
    return (double)h->disk_gb - (double)h->disk_gb_used;
}

static double num_instances(const nph_scheduler *s, const struct host_state *h,
                            const struct request_spec *r)
{
    (void)s;
    (void)r;
    return (double)h->instances;
}

/* Members of the request's soft-(anti-)affinity group already on the host. */
static double group_members(const struct host_state *h, const struct request_spec *r,
                            const char *policy)
{
    json_object *v = NULL;
    if (!sched_in_group(r, policy))
        return 0;
    json_object_object_get_ex(r->group_hosts, h->host, &v);
    return (double)json_object_get_int64(v);
}

static double soft_affinity(const nph_scheduler *s, const struct host_state *h,
                            const struct request_spec *r)
{
    (void)s;
    return group_members(h, r, "soft-affinity");
}

static double soft_anti_affinity(const nph_scheduler *s, const struct host_state *h,
                                 const struct request_spec *r)
{
    (void)s;
    return -group_members(h, r, "soft-anti-affinity");
}

static double build_failure(const nph_scheduler *s, const struct host_state *h,
                            const struct request_spec *r)
{
    (void)s;
    (void)r;
    return -(double)h->build_failures;
}

static bool in_soft_affinity_group(const nph_scheduler *s, const struct request_spec *r)
{
    (void)s;
    return sched_in_group(r, "soft-affinity");
}

static bool in_soft_anti_affinity_group(const nph_scheduler *s, const struct request_spec *r)
{
    (void)s;
    return sched_in_group(r, "soft-anti-affinity");
}

static bool any_build_failure(const nph_scheduler *s, const struct request_spec *r)
{
    (void)r;
    return json_object_object_length(s->build_failures) > 0;
}

static const struct host_weigher scheduler_weighers[] = {
    { "RAMWeigher", "ram_weight_multiplier", ram, NULL },
    { "CPUWeigher", "cpu_weight_multiplier", cpu, NULL },
    { "DiskWeigher", "disk_weight_multiplier", disk, NULL },
    { "NumInstancesWeigher", "num_instances_weight_multiplier", num_instances, NULL },
    { "ServerGroupSoftAffinityWeigher", "soft_affinity_weight_multiplier", soft_affinity,
      in_soft_affinity_group },
    { "ServerGroupSoftAntiAffinityWeigher", "soft_anti_affinity_weight_multiplier",
      soft_anti_affinity, in_soft_anti_affinity_group },
    { "BuildFailureWeigher", "build_failure_weight_multiplier", build_failure, any_build_failure },
};
static const size_t scheduler_n_weighers = sizeof(scheduler_weighers) / sizeof(scheduler_weighers[0]);

const struct host_weigher *scheduler_weigher_find(const char *name)
{
    for (size_t i = 0; i < scheduler_n_weighers; i++)
        if (strcmp(scheduler_weighers[i].name, name) == 0)
            return &scheduler_weighers[i];
    return NULL;
}
