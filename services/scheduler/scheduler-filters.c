/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host filters, named and behaving as Nova's.  Resources and traits (what
 * Placement's allocation candidates decide in Nova) are the
 * "ResourcesFilter", always first: a VM flavor needs room in VCPU,
 * MEMORY_MB and DISK_GB, which a baremetal node has none of; a baremetal
 * flavor (resources:CUSTOM_X=1 with the standard classes at 0) takes the
 * one unit of a node of that class.
 */
#include "config.h"


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scheduler-internal.h"

static bool has_bit(const struct host_state *h, int bit)
{
    return bit >= 0 && h->traits && (h->traits[bit / 64] >> (bit % 64)) & 1;
}

/* What Placement's allocation candidates decide in Nova: room for every
 * requested amount in the node's provider (after reserved and the
 * allocation ratio, within max_unit), every required trait and no
 * forbidden one. */
static bool resources_filter(const nph_scheduler *s, const struct host_state *h,
                             const struct request_spec *r)
{
    (void)s;
    for (size_t i = 0; i < r->n_res; i++) {
        const struct host_resource *have = NULL;
        for (size_t k = 0; k < h->n_res && !have; k++) /* unbound: compare the names */
            if (r->res[i].bound ? h->res[k].resource_class == r->res[i].bound
                                : strcmp(h->res[k].resource_class, r->res[i].resource_class) == 0)
                have = &h->res[k];
        if (!have || r->res[i].amount > have->capacity - have->used ||
            r->res[i].amount > have->max_unit)
            return false;
    }
    for (size_t i = 0; i < r->n_required; i++)
        if (!has_bit(h, r->required_bits[i]))
            return false;
    for (size_t i = 0; i < r->n_forbidden; i++)
        if (has_bit(h, r->forbidden_bits[i]))
            return false;
    return r->n_res > 0;
}

static bool compute_filter(const nph_scheduler *s, const struct host_state *h,
                           const struct request_spec *r)
{
    (void)s;
    (void)r;
    return h->up && h->enabled;
}

static bool availability_zone_filter(const nph_scheduler *s, const struct host_state *h,
                                     const struct request_spec *r)
{
    (void)s;
    return !r->zone || h->zone == r->zone || strcmp(h->zone, r->zone) == 0;
}

/* "capabilities:hypervisor_type": "QEMU", with Nova's operators (s== ,
 * <in>, >=, <=, ==, !=) on the host's fields. */
static bool spec_matches(const char *have, const char *want)
{
    if (!have)
        return false;
    if (strncmp(want, "s== ", 4) == 0 || strncmp(want, "== ", 3) == 0)
        return strcmp(have, strchr(want, ' ') + 1) == 0;
    if (strncmp(want, "!= ", 3) == 0)
        return strcmp(have, want + 3) != 0;
    if (strncmp(want, "<in> ", 5) == 0)
        return strstr(have, want + 5) != NULL;
    if (strncmp(want, ">= ", 3) == 0)
        return strtod(have, NULL) >= strtod(want + 3, NULL);
    if (strncmp(want, "<= ", 3) == 0)
        return strtod(have, NULL) <= strtod(want + 3, NULL);
    return strcasecmp(have, want) == 0;
}

static const char *capability(const struct host_state *h, const char *name)
{
    if (strcmp(name, "hypervisor_type") == 0)
        return h->hypervisor_type;
    if (strcmp(name, "cpu_arch") == 0 || strcmp(name, "cpu_info:arch") == 0)
        return h->cpu_arch;
    if (strcmp(name, "hypervisor_hostname") == 0)
        return h->node;
    return sched_text(h->row, name);
}

static bool compute_capabilities_filter(const nph_scheduler *s, const struct host_state *h,
                                        const struct request_spec *r)
{
    (void)s;
    json_object_object_foreach(r->extra_specs, key, value) {
        if (strncmp(key, "capabilities:", 13) == 0 &&
            !spec_matches(capability(h, key + 13), json_object_get_string(value)))
            return false;
    }
    return true;
}

/* An image's hypervisor_type against a node's: "vmware" matches "VMware
 * vCenter Server", and a kvm image runs where QEMU does. */
static bool same_hypervisor(const char *image_hv, const char *host_hv)
{
    if (!host_hv)
        return false;
    if (strcasestr(host_hv, image_hv))
        return true;
    return strcasecmp(image_hv, "kvm") == 0 && strcasecmp(host_hv, "QEMU") == 0;
}

/* How many aggregates the host is in (none when unknown). */
static size_t n_aggregates(const struct host_state *h)
{
    return json_object_is_type(h->aggregates, json_type_array) ? json_object_array_length(h->aggregates) : 0;
}

/* The image's hypervisor_type and architecture (hw_architecture too). */
static bool image_properties_filter(const nph_scheduler *s, const struct host_state *h,
                                    const struct request_spec *r)
{
    (void)s;
    if (r->image_hypervisor && !same_hypervisor(r->image_hypervisor, h->hypervisor_type))
        return false;
    return !r->image_arch || (h->cpu_arch && strcasecmp(r->image_arch, h->cpu_arch) == 0);
}

/* Does one of the host's aggregates have metadata `key` with `value`
 * (a comma-separated list counts each item)? */
static bool aggregate_has(const struct host_state *h, const char *key, const char *value)
{
    for (size_t i = 0; i < n_aggregates(h); i++) {
        const char *v = sched_text(sched_member(json_object_array_get_idx(h->aggregates, i), "metadata"), key);
        for (const char *p = v; p && *p;) {
            size_t len = strcspn(p, ",");
            while (len && p[len - 1] == ' ')
                len--;
            if (strlen(value) == len && strncmp(p, value, len) == 0)
                return true;
            p += strcspn(p, ",");
            p += strspn(p, ", ");
        }
    }
    return false;
}

static bool aggregate_instance_extra_specs_filter(const nph_scheduler *s, const struct host_state *h,
                                                  const struct request_spec *r)
{
    (void)s;
    json_object_object_foreach(r->extra_specs, key, value) {
        const char *k = strncmp(key, "aggregate_instance_extra_specs:", 31) == 0 ? key + 31
                        : strchr(key, ':') ? NULL : key;
        if (k && !aggregate_has(h, k, json_object_get_string(value)))
            return false;
    }
    return true;
}

/* Hosts in an aggregate with filter_tenant_id take only those projects. */
static bool aggregate_multi_tenancy_isolation(const nph_scheduler *s, const struct host_state *h,
                                              const struct request_spec *r)
{
    (void)s;
    bool restricted = false;
    for (size_t i = 0; i < n_aggregates(h); i++) {
        json_object *meta = sched_member(json_object_array_get_idx(h->aggregates, i), "metadata");
        json_object_object_foreach(meta, key, value) {
            (void)value;
            restricted |= strncmp(key, "filter_tenant_id", 16) == 0;
        }
    }
    if (!restricted)
        return true;
    for (size_t i = 0; i < n_aggregates(h); i++) {
        json_object *meta = sched_member(json_object_array_get_idx(h->aggregates, i), "metadata");
        json_object_object_foreach(meta, key, value) {
            if (strncmp(key, "filter_tenant_id", 16) == 0 && r->project_id &&
                strstr(json_object_get_string(value), r->project_id))
                return true;
        }
    }
    return false;
}

static int64_t group_count(const struct host_state *h, const struct request_spec *r)
{
    return json_object_get_int64(sched_member(r->group_hosts, h->host));
}

static bool server_group_affinity(const nph_scheduler *s, const struct host_state *h,
                                  const struct request_spec *r)
{
    (void)s;
    if (!sched_in_group(r, "affinity"))
        return true;
    return json_object_object_length(r->group_hosts) == 0 || group_count(h, r) > 0;
}

static bool server_group_anti_affinity(const nph_scheduler *s, const struct host_state *h,
                                       const struct request_spec *r)
{
    (void)s;
    if (!sched_in_group(r, "anti-affinity"))
        return true;
    return group_count(h, r) < r->max_per_host;
}

static bool same_host(const nph_scheduler *s, const struct host_state *h,
                      const struct request_spec *r)
{
    (void)s;
    return !r->same_hosts || sched_member(r->same_hosts, h->host) != NULL;
}

static bool different_host(const nph_scheduler *s, const struct host_state *h,
                           const struct request_spec *r)
{
    (void)s;
    return !r->different_hosts || sched_member(r->different_hosts, h->host) == NULL;
}

static bool num_instances(const nph_scheduler *s, const struct host_state *h,
                          const struct request_spec *r)
{
    (void)r;
    return h->instances < s->max_instances_per_host;
}

static bool listed(json_object *list, const char *value)
{
    for (size_t i = 0; value && i < json_object_array_length(list); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(list, i)), value) == 0)
            return true;
    return false;
}

/* Isolated images run only on isolated hosts; with restrict_isolated,
 * isolated hosts run only isolated images. */
static bool isolated_hosts(const nph_scheduler *s, const struct host_state *h,
                           const struct request_spec *r)
{
    bool image_isolated = listed(s->isolated_images, r->image_id);
    bool host_isolated = listed(s->isolated_hosts, h->host);
    if (image_isolated)
        return host_isolated;
    return !(host_isolated && s->restrict_isolated);
}

/* Hosts a request must not use (tried already, or a migration's source). */
static bool retry_filter(const nph_scheduler *s, const struct host_state *h,
                         const struct request_spec *r)
{
    (void)s;
    char key[600];
    snprintf(key, sizeof(key), "%s\n%s", h->host, h->node);
    return !sched_member(r->avoid_hosts, h->host) && !sched_member(r->avoid_hosts, key);
}

/* When each filter has something to check (see host_check_applies_fn). */

static bool avoids_hosts(const nph_scheduler *s, const struct request_spec *r)
{
    (void)s;
    return json_object_object_length(r->avoid_hosts) > 0;
}

static bool asks_zone(const nph_scheduler *s, const struct request_spec *r)
{
    (void)s;
    return r->zone != NULL;
}

/* Any extra spec whose key starts with `prefix`, or (any_unscoped) has no scope. */
static bool has_spec(const struct request_spec *r, const char *prefix, bool any_unscoped)
{
    json_object_object_foreach(r->extra_specs, key, value) {
        (void)value;
        if (strncmp(key, prefix, strlen(prefix)) == 0 || (any_unscoped && !strchr(key, ':')))
            return true;
    }
    return false;
}

static bool asks_capabilities(const nph_scheduler *s, const struct request_spec *r)
{
    (void)s;
    return has_spec(r, "capabilities:", false);
}

static bool asks_aggregate_specs(const nph_scheduler *s, const struct request_spec *r)
{
    (void)s;
    return has_spec(r, "aggregate_instance_extra_specs:", true);
}

static bool image_asks(const nph_scheduler *s, const struct request_spec *r)
{
    (void)s;
    return r->image_hypervisor || r->image_arch;
}

static bool in_affinity_group(const nph_scheduler *s, const struct request_spec *r)
{
    (void)s;
    return sched_in_group(r, "affinity");
}

static bool in_anti_affinity_group(const nph_scheduler *s, const struct request_spec *r)
{
    (void)s;
    return sched_in_group(r, "anti-affinity");
}

static bool hints_same_host(const nph_scheduler *s, const struct request_spec *r)
{
    (void)s;
    return r->same_hosts != NULL;
}

static bool hints_different_host(const nph_scheduler *s, const struct request_spec *r)
{
    (void)s;
    return r->different_hosts != NULL;
}

static const struct host_filter filters[] = {
    { "ResourcesFilter", resources_filter, NULL },
    { "RetryFilter", retry_filter, avoids_hosts },
    { "ComputeFilter", compute_filter, NULL },
    { "AvailabilityZoneFilter", availability_zone_filter, asks_zone },
    { "ComputeCapabilitiesFilter", compute_capabilities_filter, asks_capabilities },
    { "ImagePropertiesFilter", image_properties_filter, image_asks },
    { "AggregateInstanceExtraSpecsFilter", aggregate_instance_extra_specs_filter,
      asks_aggregate_specs },
    { "AggregateMultiTenancyIsolation", aggregate_multi_tenancy_isolation, NULL },
    { "ServerGroupAffinityFilter", server_group_affinity, in_affinity_group },
    { "ServerGroupAntiAffinityFilter", server_group_anti_affinity, in_anti_affinity_group },
    { "SameHostFilter", same_host, hints_same_host },
    { "DifferentHostFilter", different_host, hints_different_host },
    { "NumInstancesFilter", num_instances, NULL },
    { "IsolatedHostsFilter", isolated_hosts, NULL },
};

/* Nova's default enabled_filters. */
const char *const scheduler_default_filters =
    "ComputeFilter,AvailabilityZoneFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,"
    "ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter,SameHostFilter,DifferentHostFilter";

const struct host_filter *scheduler_filter_find(const char *name)
{
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
        if (strcmp(filters[i].name, name) == 0)
            return &filters[i];
    return NULL;
}
