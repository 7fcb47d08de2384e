/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The scheduler's filters and its configuration, host by host, without a
 * database: each filter is called on host states and requests built here. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "conf.h"
#include "error.h"
#include "scheduler-internal.h"

static nph_scheduler *sched;

static bool passes(const char *filter, const struct host_state *h, const struct request_spec *r)
{
    const struct host_filter *f = scheduler_filter_find(filter);
    if (!f) {
        printf("# no filter %s\n", filter);
        return false;
    }
    return f->fn(sched, h, r);
}

/* A 16-vCPU (64 at the 4.0 ratio), 32 GiB, 100 GiB node named compute-N,
 * up and enabled. */
static struct host_state host(const char *name)
{
    struct host_state h = { .host = name, .node = name, .hypervisor_type = "QEMU",
                            .cpu_arch = "x86_64", .zone = "nova", .vcpus = 64,
                            .memory_mb = 32768, .disk_gb = 100, .up = true, .enabled = true,
                            .n_res = 3 };
    h.res[0] = (struct host_resource){ "VCPU", 64, 0, 16 };
    h.res[1] = (struct host_resource){ "MEMORY_MB", 32768, 0, 32768 };
    h.res[2] = (struct host_resource){ "DISK_GB", 100, 0, 100 };
    return h;
}

/* A baremetal node: one unit of its class, nothing else. */
static struct host_state metal(const char *name, const char *resource_class)
{
    struct host_state h = { .host = name, .node = name, .hypervisor_type = "ironic",
                            .zone = "nova", .resource_class = resource_class, .up = true,
                            .enabled = true, .n_res = 1 };
    h.res[0] = (struct host_resource){ resource_class, 1, 0, 1 };
    return h;
}

/* 2 vCPUs, 4 GiB, 20 GiB with the extra specs (and image disk_format). */
static struct request_spec request_for(json_object *extra_specs, const char *disk_format)
{
    struct request_spec r = { .uuid = "u", .project_id = "p1", .zone = "nova", .vcpus = 2,
                              .memory_mb = 4096, .disk_gb = 20, .extra_specs = extra_specs,
                              .max_per_host = 1 };
    scheduler_spec_placement(sched, &r, disk_format);
    return r;
}

static struct request_spec request(json_object *extra_specs)
{
    return request_for(extra_specs, NULL);
}

static json_object *object(const char *text)
{
    return nph_json_parse(text, strlen(text), NULL);
}

static void resources(void)
{
    nph_auto_json *specs = object("{}");
    struct host_state h = host("c1");
    struct request_spec r = request(specs);
    is_int((long long)r.n_res, 3, "a VM flavor asks for VCPU, MEMORY_MB and DISK_GB");
    ok(passes("ResourcesFilter", &h, &r), "a flavor that fits passes");
    h.res[1].used = 30000;
    ok(!passes("ResourcesFilter", &h, &r), "too little free RAM is refused");
    h.res[1].used = 0;
    h.res[0].used = 63;
    ok(!passes("ResourcesFilter", &h, &r), "vCPUs: 64 - 63 < 2");
    h.res[0].used = 62;
    ok(passes("ResourcesFilter", &h, &r), "and 64 - 62 = 2 fits");
    h.res[0].max_unit = 1;
    ok(!passes("ResourcesFilter", &h, &r), "more than max_unit in one allocation is refused");
    h = host("c1");
    struct host_state bm = metal("ironic", "CUSTOM_BAREMETAL_GOLD");
    ok(!passes("ResourcesFilter", &bm, &r), "a VM flavor never lands on a baremetal node");
    nph_auto_json *gold = object("{\"resources:CUSTOM_BAREMETAL_GOLD\": \"1\", "
                                 "\"resources:VCPU\": \"0\", \"resources:MEMORY_MB\": \"0\", "
                                 "\"resources:DISK_GB\": \"0\"}");
    r = request(gold);
    is_int((long long)r.n_res, 1, "a baremetal flavor asks for its one class only");
    is_str(r.resource_class, "CUSTOM_BAREMETAL_GOLD", "and names it");
    ok(passes("ResourcesFilter", &bm, &r), "a baremetal flavor takes a free node of its class");
    bm.res[0].used = 1;
    ok(!passes("ResourcesFilter", &bm, &r), "but not one already in use");
    ok(!passes("ResourcesFilter", &h, &r), "and never a VM host");
    struct host_state silver = metal("ironic-2", "CUSTOM_BAREMETAL_SILVER");
    ok(!passes("ResourcesFilter", &silver, &r), "nor a node of another class");
}

static void traits(void)
{
    nph_auto_json *specs = object("{\"trait:HW_CPU_X86_AVX2\": \"required\", "
                                  "\"trait:CUSTOM_SLOW\": \"forbidden\"}");
    nph_auto_json *props = object("{\"trait:CUSTOM_LICENSED\": \"required\"}");
    struct request_spec r = { .vcpus = 1, .extra_specs = specs, .image_props = props };
    scheduler_spec_placement(sched, &r, "vmdk");
    is_int((long long)r.n_required, 3, "required: the flavor's, the image's and the disk format's");
    is_str(r.required[2], "COMPUTE_IMAGE_TYPE_VMDK", "a vmdk image needs COMPUTE_IMAGE_TYPE_VMDK");
    is_int((long long)r.n_forbidden, 1, "forbidden: the flavor's");
    /* The load's traits: bit 0 AVX2, 1 CUSTOM_LICENSED, 2 VMDK, 3 CUSTOM_SLOW. */
    uint64_t all = 0x7, slow = 0xf, no_vmdk = 0x3;
    r.required_bits[0] = 0, r.required_bits[1] = 1, r.required_bits[2] = 2;
    r.forbidden_bits[0] = 3;
    struct host_state h = host("c1");
    h.traits = &all;
    ok(passes("ResourcesFilter", &h, &r), "a node with every required trait passes");
    h.traits = &no_vmdk;
    ok(!passes("ResourcesFilter", &h, &r), "a node that cannot boot vmdk is refused");
    h.traits = &slow;
    ok(!passes("ResourcesFilter", &h, &r), "a node with a forbidden trait is refused");
    h.traits = NULL;
    ok(!passes("ResourcesFilter", &h, &r), "a node without traits is refused");
    r.required_bits[2] = -1;
    h.traits = &all;
    ok(!passes("ResourcesFilter", &h, &r), "a trait no node has refuses them all");
}

static void state_and_zone(void)
{
    nph_auto_json *specs = object("{}");
    struct host_state h = host("c1");
    struct request_spec r = request(specs);
    h.up = false;
    ok(!passes("ComputeFilter", &h, &r), "ComputeFilter refuses a down service");
    h.up = true;
    h.enabled = false;
    ok(!passes("ComputeFilter", &h, &r), "and a disabled one");
    h.enabled = true;
    ok(passes("ComputeFilter", &h, &r), "and passes an up, enabled one");
    r.zone = "zone-a";
    ok(!passes("AvailabilityZoneFilter", &h, &r), "AvailabilityZoneFilter: another zone is refused");
    h.zone = "zone-a";
    ok(passes("AvailabilityZoneFilter", &h, &r), "the asked zone passes");
}

static void capabilities_and_image(void)
{
    nph_auto_json *specs = object("{\"capabilities:hypervisor_type\": \"s== QEMU\", "
                                  "\"capabilities:cpu_arch\": \"x86_64\"}");
    struct host_state h = host("c1");
    struct request_spec r = request(specs);
    ok(passes("ComputeCapabilitiesFilter", &h, &r), "capabilities that match pass");
    h.hypervisor_type = "VMware vCenter Server";
    ok(!passes("ComputeCapabilitiesFilter", &h, &r), "another hypervisor type is refused");
    nph_auto_json *props = object("{\"hypervisor_type\": \"vmware\"}");
    r.image_props = props;
    scheduler_spec_placement(sched, &r, NULL);
    ok(!passes("ImagePropertiesFilter", &(struct host_state){ .hypervisor_type = "QEMU" }, &r),
       "ImagePropertiesFilter: a vmware image is refused by a QEMU host");
    ok(passes("ImagePropertiesFilter", &h, &r), "and accepted by a VMware one (case-blind)");
    nph_auto_json *arch = object("{\"hw_architecture\": \"aarch64\"}");
    r.image_props = arch;
    scheduler_spec_placement(sched, &r, NULL);
    h = host("c1");
    ok(!passes("ImagePropertiesFilter", &h, &r), "an aarch64 image is refused by an x86_64 host");
}

static void aggregates(void)
{
    nph_auto_json *aggs = object("[{\"name\": \"ssd\", \"metadata\": {\"ssd\": \"true\", "
                                 "\"filter_tenant_id\": \"p1,p2\"}}]");
    nph_auto_json *specs = object("{\"aggregate_instance_extra_specs:ssd\": \"true\"}");
    struct host_state in = host("c1"), out = host("c2");
    in.aggregates = aggs;
    struct request_spec r = request(specs);
    ok(passes("AggregateInstanceExtraSpecsFilter", &in, &r),
       "AggregateInstanceExtraSpecsFilter: a host whose aggregate has ssd=true passes");
    ok(!passes("AggregateInstanceExtraSpecsFilter", &out, &r), "a host outside it is refused");
    ok(passes("AggregateMultiTenancyIsolation", &in, &r),
       "AggregateMultiTenancyIsolation: a listed project passes");
    r.project_id = "p3";
    ok(!passes("AggregateMultiTenancyIsolation", &in, &r), "another project is refused");
    ok(passes("AggregateMultiTenancyIsolation", &out, &r), "hosts without the key take anyone");
}

static void groups_and_hints(void)
{
    nph_auto_json *specs = object("{}"), *members = object("{\"c1\": 1}");
    nph_auto_json *same = object("{\"c1\": 1}");
    struct host_state c1 = host("c1"), c2 = host("c2");
    struct request_spec r = request(specs);
    r.group_policy = "anti-affinity";
    r.group_hosts = members;
    ok(!passes("ServerGroupAntiAffinityFilter", &c1, &r), "anti-affinity refuses a member's host");
    ok(passes("ServerGroupAntiAffinityFilter", &c2, &r), "and passes another");
    r.max_per_host = 2;
    ok(passes("ServerGroupAntiAffinityFilter", &c1, &r), "max_server_per_host 2 allows a second");
    r.group_policy = "affinity";
    ok(passes("ServerGroupAffinityFilter", &c1, &r), "affinity passes the members' host");
    ok(!passes("ServerGroupAffinityFilter", &c2, &r), "and refuses another");
    r.group_policy = NULL;
    r.same_hosts = same;
    ok(passes("SameHostFilter", &c1, &r) && !passes("SameHostFilter", &c2, &r),
       "SameHostFilter keeps the named instances' host only");
    r.different_hosts = same;
    ok(!passes("DifferentHostFilter", &c1, &r) && passes("DifferentHostFilter", &c2, &r),
       "DifferentHostFilter keeps the other hosts");
    c1.instances = 50;
    ok(!passes("NumInstancesFilter", &c1, &r), "NumInstancesFilter: 50 instances is the limit");
}

static void isolation(void)
{
    nph_auto_json *specs = object("{}");
    struct host_state iso = host("iso-1"), plain = host("c1");
    struct request_spec r = request(specs);
    r.image_id = "img-secret";
    ok(passes("IsolatedHostsFilter", &iso, &r), "an isolated image runs on an isolated host");
    ok(!passes("IsolatedHostsFilter", &plain, &r), "and nowhere else");
    r.image_id = "img-public";
    ok(!passes("IsolatedHostsFilter", &iso, &r), "isolated hosts take isolated images only");
    ok(passes("IsolatedHostsFilter", &plain, &r), "other images run on other hosts");
}

static bool applies(const char *filter, const struct request_spec *r)
{
    const struct host_filter *f = scheduler_filter_find(filter);
    return f && (!f->applies || f->applies(sched, r));
}

/* A filter with nothing to check for a request is skipped (its applies is
 * false): it must then keep every host, as its pass would have. */
static void skipped_when_not_asked(void)
{
    static const char *const optional[] = {
        "RetryFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
        "AggregateInstanceExtraSpecsFilter", "ServerGroupAffinityFilter",
        "ServerGroupAntiAffinityFilter", "SameHostFilter", "DifferentHostFilter",
    };
    nph_auto_json *specs = object("{\"resources:VCPU\": \"2\"}");
    nph_auto_json *aggregates = object("[{\"name\": \"a\", \"metadata\": {\"x\": \"1\"}}]");
    nph_auto_json *avoid = object("{}");
    struct host_state hosts[] = { host("c1"), host("c2"), metal("m1", "CUSTOM_GOLD") };
    hosts[1].hypervisor_type = "VMware vCenter Server";
    hosts[1].cpu_arch = "aarch64";
    hosts[1].aggregates = aggregates;
    struct request_spec r = request(specs);
    r.avoid_hosts = avoid;
    for (size_t f = 0; f < sizeof(optional) / sizeof(optional[0]); f++) {
        bool all = true;
        for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
            all &= passes(optional[f], &hosts[i], &r);
        ok(!applies(optional[f], &r) && all, "%s: skipped for a plain request, and keeps every host",
           optional[f]);
    }
    ok(applies("ResourcesFilter", &r) && applies("ComputeFilter", &r), "the resources and the "
       "service state are always checked");
    nph_auto_json *asks = object("{\"capabilities:hypervisor_type\": \"QEMU\", \"x\": \"1\"}");
    nph_auto_json *set = object("{\"c1\": 1}");
    nph_auto_json *avoiding = object("{\"c1\": true}");
    struct request_spec a = request(asks);
    a.avoid_hosts = avoiding;
    a.image_hypervisor = "vmware";
    a.same_hosts = a.different_hosts = set;
    ok(applies("RetryFilter", &a) && applies("ComputeCapabilitiesFilter", &a) &&
       applies("ImagePropertiesFilter", &a) && applies("AggregateInstanceExtraSpecsFilter", &a) &&
       applies("SameHostFilter", &a) && applies("DifferentHostFilter", &a),
       "each applies once the request asks for it");
    a.group_policy = "affinity";
    ok(applies("ServerGroupAffinityFilter", &a) && !applies("ServerGroupAntiAffinityFilter", &a),
       "a group's filter applies to its own policy only");
}

static void configuration(void)
{
    nph_auto_config *cfg = nph_config_new();
    nph_error err = NPH_ERROR_INIT;
    nph_config_load_string(cfg, "bad.conf", "[filter_scheduler]\nenabled_filters = ComputeFilter, NoSuchFilter\n",
                           &err);
    nph_scheduler *bad = NULL;
    is_int(nph_scheduler_new(cfg, &bad, &err), NPH_ERR_INVALID, "an unknown filter is refused");
    like(err.message, "bad.conf:2", "naming the file and line");
    like(err.message, "NoSuchFilter", "and the filter");
    nph_auto_config *multi = nph_config_new();
    nph_scheduler *good = NULL;
    nph_config_load_string(multi, "multi.conf",
                           "[filter_scheduler]\nenabled_filters = ComputeFilter,\n"
                           "  AvailabilityZoneFilter, SameHostFilter\n",
                           &err);
    is_int(nph_scheduler_new(multi, &good, &err), NPH_OK,
           "a filter list may go on over continuation lines");
    is_int(good ? good->n_filters : 0, 5, "three filters and the two always on");
    nph_scheduler_free(good);
    nph_auto_config *zero = nph_config_new();
    nph_config_load_string(zero, "zero.conf", "[filter_scheduler]\nhost_subset_size = 0\n", &err);
    is_int(nph_scheduler_new(zero, &bad, &err), NPH_ERR_INVALID, "host_subset_size 0 is refused");
    like(err.message, "host_subset_size", "naming the key");
}

int main(void)
{
    nph_auto_config *cfg = nph_config_new();
    nph_error err = NPH_ERROR_INIT;
    nph_config_load_string(cfg, "test.conf",
                           "[filter_scheduler]\nisolated_images = img-secret\nisolated_hosts = iso-1\n",
                           &err);
    if (!ok(nph_scheduler_new(cfg, &sched, &err) == NPH_OK, "a scheduler with isolated hosts"))
        return 1;
    resources();
    traits();
    state_and_zone();
    capabilities_and_image();
    aggregates();
    groups_and_hints();
    isolation();
    skipped_when_not_asked();
    configuration();
    nph_scheduler_free(sched);
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}
