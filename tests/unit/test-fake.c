/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fake driver through the loader: state machine, resources, events,
 * migrations, capabilities, failure and latency injection, scale. */
#include "config.h"

#include <sys/stat.h>
#include <time.h>

#include "buffer.h"
#include "error.h"
#include "json.h"
#include "objects.h"
#include "plugin.h"
#include "test-util.h"

#define UUID1 "11111111-2222-4333-8444-555555555555"
#define UUID2 "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"

static nph_lifecycle_event events[64];
static int n_events;

static void on_event(void *opaque, nph_driver *drv, const struct nph_driver_event *ev)
{
    if (n_events < 64)
        events[n_events++] = ev->transition;
}

static nph_driver *start_fake(const char *name, const char *options)
{
    char text[2048];
    snprintf(text, sizeof(text), "[driver]\nmodule = fake\n[options]\n%s", options);
    struct nph_loader_options opts = { .host_name = "host-a", .on_event = on_event };
    nph_driver *drv = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (nph_driver_load(test_write_file(name, text), &opts, &drv, &err) != NPH_OK ||
        nph_driver_start(drv, &err) != NPH_OK) {
        printf("Bail out! cannot start fake driver: %s\n", err.message);
        exit(99);
    }
    return drv;
}

static const struct nph_flavor small = { .id = "1", .name = "m1.small", .vcpus = 2,
                                         .memory_mb = 2048, .root_gb = 20 };
static const struct nph_flavor large = { .id = "2", .name = "m1.large", .vcpus = 4,
                                         .memory_mb = 8192, .root_gb = 40 };
static const struct nph_image_meta qcow2 = { .id = "img-qcow2", .disk_format = NPH_IMAGE_QCOW2 };
static const struct nph_image_meta vmdk = { .id = "img-vmdk", .disk_format = NPH_IMAGE_VMDK };

static struct nph_instance instance(const char *uuid, const char *node)
{
    return (struct nph_instance){ .uuid = uuid, .name = "vm", .node = node, .flavor = &small,
                                  .image = &qcow2 };
}

static int power_state(nph_driver *drv, const char *uuid)
{
    struct nph_instance inst = instance(uuid, NULL);
    struct nph_instance_info info = { 0 };
    nph_error err = NPH_ERROR_INIT;
    if (NPH_DRIVER_CALL(drv, get_info, &err, &inst, &info) != NPH_OK)
        return -1;
    return (int)info.state;
}

static void test_state_machine(void)
{
    nph_driver *drv = start_fake("sm.conf", "node_count = 2\nimage_formats = qcow2,raw\n"
                                                "console_vnc = 127.0.0.1:5901\n");
    nph_error err = NPH_ERROR_INIT;
    struct nph_instance vm = instance(UUID1, "sm-1");
    n_events = 0;

    is_int(NPH_DRIVER_CALL(drv, spawn, &err, &vm, NULL), NPH_OK, "spawn");
    is_int(power_state(drv, UUID1), NPH_POWER_RUNNING, "running after spawn");
    is_int(NPH_DRIVER_CALL(drv, spawn, &err, &vm, NULL), NPH_ERR_CONFLICT, "spawn twice");
    like(err.message, "already exists", "spawn twice says why");

    struct nph_instance lost = instance(UUID2, "sm-3");
    is_int(NPH_DRIVER_CALL(drv, spawn, &err, &lost, NULL), NPH_ERR_NOT_FOUND, "unknown node");
    is_str(err.message, "driver 'sm' has no node 'sm-3'", "unknown node named");
    struct nph_instance wrong_format = instance(UUID2, "sm-1");
    wrong_format.image = &vmdk;
    is_int(NPH_DRIVER_CALL(drv, spawn, &err, &wrong_format, NULL), NPH_ERR_INVALID,
           "vmdk refused where only qcow2 and raw boot");
    is_str(err.message, "driver 'sm' (hypervisor fake) cannot boot vmdk images", "format named");
    is_int(power_state(drv, UUID2), -1, "a refused spawn leaves nothing behind");

    is_int(NPH_DRIVER_CALL(drv, pause, &err, &vm), NPH_OK, "pause");
    is_int(power_state(drv, UUID1), NPH_POWER_PAUSED, "paused");
    is_int(NPH_DRIVER_CALL(drv, pause, &err, &vm), NPH_ERR_CONFLICT, "pause twice");
    is_str(err.message, "cannot pause instance " UUID1 " while it is paused", "conflict explained");
    is_int(NPH_DRIVER_CALL(drv, reboot, &err, &vm, NPH_REBOOT_SOFT), NPH_ERR_CONFLICT,
           "soft reboot needs a running guest");
    is_int(NPH_DRIVER_CALL(drv, unpause, &err, &vm), NPH_OK, "unpause");
    is_int(NPH_DRIVER_CALL(drv, unpause, &err, &vm), NPH_ERR_CONFLICT, "unpause a running guest");
    is_int(NPH_DRIVER_CALL(drv, suspend, &err, &vm), NPH_OK, "suspend");
    is_int(power_state(drv, UUID1), NPH_POWER_SUSPENDED, "suspended");
    is_int(NPH_DRIVER_CALL(drv, pause, &err, &vm), NPH_ERR_CONFLICT, "pause a suspended guest");
    is_int(NPH_DRIVER_CALL(drv, resume, &err, &vm), NPH_OK, "resume");
    is_int(NPH_DRIVER_CALL(drv, resume, &err, &vm), NPH_ERR_CONFLICT, "resume a running guest");
    is_int(NPH_DRIVER_CALL(drv, power_off, &err, &vm, 0), NPH_OK, "power off");
    is_int(power_state(drv, UUID1), NPH_POWER_SHUTDOWN, "shut down");
    is_int(NPH_DRIVER_CALL(drv, power_off, &err, &vm, 0), NPH_ERR_CONFLICT, "stop a stopped guest");
    is_int(NPH_DRIVER_CALL(drv, set_admin_password, &err, &vm, "s3cret"), NPH_ERR_CONFLICT,
           "password needs a running guest");
    is_int(NPH_DRIVER_CALL(drv, reboot, &err, &vm, NPH_REBOOT_HARD), NPH_OK,
           "hard reboot from shutdown");
    is_int(NPH_DRIVER_CALL(drv, power_on, &err, &vm), NPH_ERR_CONFLICT, "start a running guest");
    is_int(NPH_DRIVER_CALL(drv, reboot, &err, &vm, NPH_REBOOT_SOFT), NPH_OK, "soft reboot");
    is_int(NPH_DRIVER_CALL(drv, set_admin_password, &err, &vm, "s3cret"), NPH_OK, "set password");

    is_int(NPH_DRIVER_CALL(drv, rescue, &err, &vm, &qcow2, "pw"), NPH_OK, "rescue");
    is_int(NPH_DRIVER_CALL(drv, rescue, &err, &vm, &qcow2, "pw"), NPH_ERR_CONFLICT, "rescue twice");
    is_int(NPH_DRIVER_CALL(drv, rebuild, &err, &vm, &qcow2), NPH_ERR_CONFLICT,
           "no rebuild while rescued");
    is_int(NPH_DRIVER_CALL(drv, unrescue, &err, &vm), NPH_OK, "unrescue");
    is_int(NPH_DRIVER_CALL(drv, unrescue, &err, &vm), NPH_ERR_CONFLICT, "unrescue twice");
    is_int(NPH_DRIVER_CALL(drv, rebuild, &err, &vm, &vmdk), NPH_ERR_INVALID,
           "rebuild onto an unbootable format");
    is_int(NPH_DRIVER_CALL(drv, rebuild, &err, &vm, &qcow2), NPH_OK, "rebuild");

    static const nph_lifecycle_event expected[] = {
        NPH_EVENT_STARTED, NPH_EVENT_PAUSED, NPH_EVENT_RESUMED, NPH_EVENT_SUSPENDED,
        NPH_EVENT_RESUMED, NPH_EVENT_STOPPED, NPH_EVENT_STARTED, NPH_EVENT_STARTED,
        NPH_EVENT_STARTED, NPH_EVENT_STARTED, NPH_EVENT_STARTED,
    };
    int n_expected = (int)(sizeof(expected) / sizeof(expected[0]));
    is_int(n_events, n_expected, "one event per transition, none for refusals");
    int same = n_events == n_expected;
    for (int i = 0; same && i < n_events; i++)
        same = events[i] == expected[i];
    ok(same, "events in order: started paused resumed suspended resumed stopped started...");

    nph_auto_buffer console = NPH_BUFFER_INIT;
    is_int(NPH_DRIVER_CALL(drv, get_console_output, &err, &vm, &console), NPH_OK, "console output");
    like(nph_buffer_str(&console), "[fake] booting instance " UUID1, "console shows the boot");
    like(nph_buffer_str(&console), "[fake] guest suspended", "console shows transitions");
    struct nph_console where = { 0 };
    is_int(NPH_DRIVER_CALL(drv, get_console, &err, &vm, NPH_CONSOLE_VNC, &where), NPH_OK,
           "vnc console");
    is_str(where.host, "127.0.0.1", "console where console_vnc says");
    is_int(where.port, 5901, "on its port");
    is_int(NPH_DRIVER_CALL(drv, get_console, &err, &vm, NPH_CONSOLE_SPICE, &where),
           NPH_ERR_NOT_SUPPORTED, "spice console without console_spice is not supported");
    like(err.message, "console_spice", "naming the option");
    is_int(NPH_DRIVER_CALL(drv, get_console, &err, &vm, NPH_CONSOLE_MKS, &where),
           NPH_ERR_NOT_SUPPORTED, "mks console is not in the default capabilities");

    n_events = 0;
    is_int(NPH_DRIVER_CALL(drv, destroy, &err, &vm, true), NPH_OK, "destroy");
    is_int(n_events, 1, "destroying a running guest reports it stopped");
    is_int(power_state(drv, UUID1), -1, "gone after destroy");
    is_int(NPH_DRIVER_CALL(drv, destroy, &err, &vm, true), NPH_OK, "destroy is idempotent");
    is_int(NPH_DRIVER_CALL(drv, pause, &err, &vm), NPH_ERR_NOT_FOUND, "pause a destroyed guest");
    is_str(err.message, "instance " UUID1 " is not on driver 'sm'", "not-found names the guest");
    nph_driver_free(drv);
}

static uint32_t vcpus_used(nph_driver *drv, const char *node)
{
    struct nph_node_resources r = { 0 };
    nph_error err = NPH_ERROR_INIT;
    NPH_DRIVER_CALL(drv, node_resources, &err, node, &r);
    return r.vcpus_used;
}

static void count_cb(void *opaque, const char *uuid) { (*(int *)opaque)++; }

static void test_resources_and_migration(void)
{
    nph_driver *drv = start_fake("res.conf", "node_count = 3\nvcpus = 8\n");
    nph_error err = NPH_ERROR_INIT;
    struct nph_instance a = instance(UUID1, "res-1");
    struct nph_instance b = instance(UUID2, "res-2");
    NPH_DRIVER_CALL(drv, spawn, &err, &a, NULL);
    NPH_DRIVER_CALL(drv, spawn, &err, &b, NULL);
    is_int(vcpus_used(drv, "res-1"), 2, "node 1 uses the flavor's vCPUs");
    int n = 0;
    is_int(NPH_DRIVER_CALL(drv, list_instances, &err, "res-2", count_cb, &n), NPH_OK, "list by node");
    is_int(n, 1, "one guest on node 2");
    n = 0;
    NPH_DRIVER_CALL(drv, list_instances, &err, NULL, count_cb, &n);
    is_int(n, 2, "two guests in all");

    /* Resize a onto node 3 with a larger flavor, then confirm. */
    is_int(NPH_DRIVER_CALL(drv, migrate_disk_and_power_off, &err, &a, "host-a", "res-3", &large),
           NPH_OK, "migrate_disk_and_power_off");
    is_int(power_state(drv, UUID1), NPH_POWER_SHUTDOWN, "powered off for the move");
    is_int(NPH_DRIVER_CALL(drv, migrate_disk_and_power_off, &err, &a, "host-a", "res-3", &large),
           NPH_ERR_CONFLICT, "one migration at a time");
    struct nph_instance a_dest = instance(UUID1, "res-3");
    is_int(NPH_DRIVER_CALL(drv, finish_migration, &err, &a_dest, &large, true), NPH_OK,
           "finish_migration");
    is_int(vcpus_used(drv, "res-1"), 0, "source node freed");
    is_int(vcpus_used(drv, "res-3"), 4, "destination uses the new flavor");
    is_int(NPH_DRIVER_CALL(drv, finish_revert_migration, &err, &a_dest, true), NPH_OK, "revert");
    is_int(vcpus_used(drv, "res-3"), 0, "revert frees the destination");
    is_int(vcpus_used(drv, "res-1"), 2, "revert restores the old flavor on the source");
    is_int(power_state(drv, UUID1), NPH_POWER_RUNNING, "running again after revert");
    is_int(NPH_DRIVER_CALL(drv, confirm_migration, &err, &a), NPH_ERR_CONFLICT,
           "nothing to confirm after a revert");

    /* Live-migrate b to node 1 on the same host. */
    is_int(NPH_DRIVER_CALL(drv, live_migration, &err, &b, "host-a", "res-1", false), NPH_OK,
           "live migration within the driver");
    is_int(vcpus_used(drv, "res-1"), 4, "both guests now on node 1");
    /* Live-migrate b away to another host: the source forgets it. */
    is_int(NPH_DRIVER_CALL(drv, live_migration, &err, &b, "host-b", "elsewhere-1", false), NPH_OK,
           "live migration to another host");
    is_int(power_state(drv, UUID2), -1, "source no longer has it");
    struct nph_instance b_back = instance(UUID2, "res-2");
    is_int(NPH_DRIVER_CALL(drv, post_live_migration_at_destination, &err, &b_back), NPH_OK,
           "arriving guest");
    is_int(power_state(drv, UUID2), NPH_POWER_RUNNING, "arrived running");

    /* Attachments. */
    struct nph_volume vol = { .volume_id = "vol-1", .mountpoint = "/dev/vdb" };
    is_int(NPH_DRIVER_CALL(drv, attach_volume, &err, &a, &vol), NPH_OK, "attach volume");
    is_int(NPH_DRIVER_CALL(drv, attach_volume, &err, &a, &vol), NPH_ERR_CONFLICT, "attach twice");
    is_int(NPH_DRIVER_CALL(drv, detach_volume, &err, &a, &vol), NPH_OK, "detach volume");
    is_int(NPH_DRIVER_CALL(drv, detach_volume, &err, &a, &vol), NPH_ERR_NOT_FOUND, "detach twice");
    struct nph_vif vif = { .port_id = "port-1" };
    is_int(NPH_DRIVER_CALL(drv, attach_interface, &err, &a, &vif), NPH_OK, "attach interface");
    is_int(NPH_DRIVER_CALL(drv, detach_interface, &err, &a, &vif), NPH_OK, "detach interface");

    /* Snapshot writes a raw image. */
    char path[512];
    snprintf(path, sizeof(path), "%s/snap.raw", test_tmpdir);
    struct nph_snapshot_result snap = { 0 };
    is_int(NPH_DRIVER_CALL(drv, snapshot, &err, &a, path, &snap), NPH_OK, "snapshot");
    struct stat stbuf;
    ok(stat(path, &stbuf) == 0 && (uint64_t)stbuf.st_size == snap.size && snap.size > 0,
       "snapshot file has the reported size");
    is_int(snap.disk_format, NPH_IMAGE_RAW, "snapshot is raw");

    /* A golden copy of one node's inventory, as the conductor will see it. */
    struct nph_node_resources r = { 0 };
    NPH_DRIVER_CALL(drv, node_resources, &err, "res-1", &r);
    nph_auto_json *j = json_object_new_object();
    nph_json_add_string(j, "hypervisor_type", r.hypervisor_type);
    nph_json_add_int(j, "hypervisor_version", (int64_t)r.hypervisor_version);
    nph_json_add_string(j, "hypervisor_hostname", r.hypervisor_hostname);
    nph_json_add_string(j, "cpu_arch", r.cpu_arch);
    nph_json_add_int(j, "vcpus", r.vcpus);
    nph_json_add_int(j, "vcpus_used", r.vcpus_used);
    nph_json_add_int(j, "memory_mb", (int64_t)r.memory_mb);
    nph_json_add_int(j, "memory_mb_used", (int64_t)r.memory_mb_used);
    nph_json_add_int(j, "local_gb", (int64_t)r.local_gb);
    nph_json_add_int(j, "local_gb_used", (int64_t)r.local_gb_used);
    nph_json_add_string(j, "cpu_info", r.cpu_info);
    nph_json_add_string(j, "resource_class", r.resource_class);
    nph_auto_buffer text = NPH_BUFFER_INIT;
    nph_buffer_appendf(&text, "%s\n",
                       json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY |
                                                             JSON_C_TO_STRING_SPACED));
    golden_check("fake-node-resources.json", nph_buffer_str(&text));
    nph_driver_free(drv);
}

static void test_capabilities_and_kinds(void)
{
    nph_error err = NPH_ERROR_INIT;
    nph_driver *bm = start_fake("bm.conf",
                                "node_count = 4\nhypervisor_type = ironic\nresource_class = "
                                "CUSTOM_BAREMETAL_GOLD\nvcpus = 0\nmemory_mb = 0\ndisk_gb = 0\n"
                                "image_formats = raw,qcow2\ncapabilities = \n");
    struct nph_driver_capabilities caps;
    nph_driver_capabilities(bm, &caps);
    is_int(caps.flags, 0, "baremetal-like: no capabilities");
    is_str(caps.hypervisor_type, "ironic", "hypervisor type");
    struct nph_node_resources r = { 0 };
    is_int(NPH_DRIVER_CALL(bm, node_resources, &err, "bm-4", &r), NPH_OK, "node 4 exists");
    is_str(r.resource_class, "CUSTOM_BAREMETAL_GOLD", "custom resource class");
    struct nph_instance vm = instance(UUID1, "bm-2");
    NPH_DRIVER_CALL(bm, spawn, &err, &vm, NULL);
    is_int(NPH_DRIVER_CALL(bm, rescue, &err, &vm, NULL, NULL), NPH_ERR_NOT_SUPPORTED,
           "rescue refused without the capability");
    is_str(err.message, "driver 'bm' is configured without the 'rescue' capability",
           "not-supported names the capability");
    is_int(NPH_DRIVER_CALL(bm, pause, &err, &vm), NPH_OK, "pause is not a capability");
    nph_driver_free(bm);

    nph_driver *vmw = start_fake("vmw.conf", "hypervisor_type = VMware vCenter Server\n"
                                             "image_formats = vmdk, iso\n"
                                             "capabilities = snapshot, console-mks\n");
    nph_driver_capabilities(vmw, &caps);
    is_int(caps.image_formats, NPH_IMAGE_VMDK | NPH_IMAGE_ISO, "vmware-like formats");
    is_int(caps.flags, NPH_CAP_SNAPSHOT | NPH_CAP_CONSOLE_MKS, "vmware-like capabilities");
    nph_driver_free(vmw);
}

static void test_injection(void)
{
    nph_error err = NPH_ERROR_INIT;
    nph_driver *drv = start_fake("inj.conf", "failure_rate = spawn:1, reboot:0.5\n"
                                             "failure_seed = 42\nlatency_ms = pause:30\n");
    struct nph_instance vm = instance(UUID1, "inj-1");
    is_int(NPH_DRIVER_CALL(drv, spawn, &err, &vm, NULL), NPH_ERR_BACKEND, "spawn always fails");
    is_str(err.message, "injected failure of 'spawn' (failure_rate 1 in driver 'inj')",
           "injected failure explained");
    is_int(power_state(drv, UUID1), -1, "failed spawn leaves nothing");
    nph_driver_free(drv);

    drv = start_fake("inj.conf", "failure_rate = reboot:0.5\nfailure_seed = 42\nlatency_ms = pause:30\n");
    NPH_DRIVER_CALL(drv, spawn, &err, &vm, NULL);
    int failures = 0;
    for (int i = 0; i < 200; i++)
        failures += NPH_DRIVER_CALL(drv, reboot, &err, &vm, NPH_REBOOT_HARD) == NPH_ERR_BACKEND;
    ok(failures > 50 && failures < 150, "about half the reboots fail (%d of 200)", failures);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    is_int(NPH_DRIVER_CALL(drv, pause, &err, &vm), NPH_OK, "pause with latency");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    ok(ms >= 30, "pause took at least its configured 30 ms (%ld ms)", ms);
    nph_driver_free(drv);

    /* The same seed gives the same sequence. */
    int runs[2];
    for (int r = 0; r < 2; r++) {
        drv = start_fake("seed.conf", "failure_rate = reboot:0.3\nfailure_seed = 7\n");
        NPH_DRIVER_CALL(drv, spawn, &err, &vm, NULL);
        runs[r] = 0;
        for (int i = 0; i < 64; i++)
            runs[r] = runs[r] * 2 % 1000003 +
                      (NPH_DRIVER_CALL(drv, reboot, &err, &vm, NPH_REBOOT_HARD) != NPH_OK);
        nph_driver_free(drv);
    }
    is_int(runs[0], runs[1], "failure injection is reproducible with a seed");
}

static void node_cb(void *opaque, const char *node) { (*(int *)opaque)++; }

static void test_scale(void)
{
    nph_error err = NPH_ERROR_INIT;
    nph_driver *drv = start_fake("big.conf", "node_count = 10000\n");
    int n = 0;
    is_int(NPH_DRIVER_CALL(drv, list_nodes, &err, node_cb, &n), NPH_OK, "list 10,000 nodes");
    is_int(n, 10000, "all of them");
    struct nph_node_resources r = { 0 };
    is_int(NPH_DRIVER_CALL(drv, node_resources, &err, "big-10000", &r), NPH_OK, "last node");
    is_int(NPH_DRIVER_CALL(drv, node_resources, &err, "big-10001", &r), NPH_ERR_NOT_FOUND,
           "one past the last");
    is_int(NPH_DRIVER_CALL(drv, node_resources, &err, "big-0001", &r), NPH_ERR_NOT_FOUND,
           "leading zeros are another name");
    is_int(NPH_DRIVER_CALL(drv, node_resources, &err, "big-", &r), NPH_ERR_NOT_FOUND, "no number");
    /* Many guests: the table grows and every one stays reachable. */
    char uuids[2000][40];
    int spawned = 0, found = 0;
    for (int i = 0; i < 2000; i++) {
        snprintf(uuids[i], sizeof(uuids[i]), "00000000-0000-4000-8000-%012d", i);
        char node[32];
        snprintf(node, sizeof(node), "big-%d", i % 10000 + 1);
        struct nph_instance vm = instance(uuids[i], node);
        spawned += NPH_DRIVER_CALL(drv, spawn, &err, &vm, NULL) == NPH_OK;
    }
    for (int i = 0; i < 2000; i++)
        found += power_state(drv, uuids[i]) == NPH_POWER_RUNNING;
    is_int(spawned, 2000, "2,000 spawns");
    is_int(found, 2000, "all 2,000 found again");
    nph_driver_free(drv);
}

int main(void)
{
    test_tmpdir_make();
    test_state_machine();
    test_resources_and_migration();
    test_capabilities_and_kinds();
    test_injection();
    test_scale();
    test_tmpdir_remove();
    return tap_done();
}
