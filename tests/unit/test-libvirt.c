/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt driver: domain XML against golden files (flavor and image in,
 * domain XML out; NPH_TEST_REGENERATE=1 rewrites them), then every operation
 * through the loader on libvirt's built-in test:///default driver (no
 * daemon, no QEMU; qemu-img makes the disks).
 */
#include "config.h"

#include <libvirt/libvirt.h>
#include <sys/stat.h>
#include <time.h>

#include "buffer.h"
#include "clock.h"
#include "error.h"
#include "lv.h"
#include "plugin.h"
#include "test-util.h"

#define UUID1 "11111111-2222-4333-8444-555555555555"
#define UUID2 "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"

static const struct nph_flavor small = { .id = "2", .name = "m1.small", .vcpus = 1,
                                         .memory_mb = 256, .root_gb = 1 };
static const struct nph_flavor large = { .id = "3", .name = "m1.medium", .vcpus = 2,
                                         .memory_mb = 512, .root_gb = 2 };

static struct lv_config base_config(void)
{
    struct lv_config c = { .uri = "test:///default", .virt_type = "qemu", .cpu_mode = "maximum",
                           .machine = "pc", .instances_path = "/var/lib/nephele/instances",
                           .nic = LV_NIC_USER, .vnc = true, .graphics_listen = "127.0.0.1",
                           .use_cow_images = true, .soft_reboot_timeout_s = 5 };
    return c;
}

static struct nph_instance instance(const char *uuid, const struct nph_flavor *flavor,
                                    const struct nph_image_meta *image)
{
    return (struct nph_instance){ .uuid = uuid, .name = "web-1", .project_id = "proj-a",
                                  .user_id = "user-a", .flavor = flavor, .image = image };
}

/* Plan and XML of one guest, compared with tests/golden/libvirt-NAME.xml. */
static void golden(const char *name, const struct lv_config *cfg, const struct nph_instance *inst)
{
    struct lv_plan plan;
    nph_error err = NPH_ERROR_INIT;
    nph_auto_buffer xml = NPH_BUFFER_INIT;
    nph_status st = lv_plan_make(cfg, inst, &plan, &err);
    if (st == NPH_OK)
        st = lv_domain_xml(cfg, inst, inst->flavor, &plan, &xml, &err);
    if (!ok(st == NPH_OK, "%s: domain XML built", name))
        printf("#   %s\n", err.message);
    char file[128];
    snprintf(file, sizeof(file), "libvirt-%s.xml", name);
    golden_check(file, nph_buffer_str(&xml));
}

static void test_domain_xml(void)
{
    struct lv_config cfg = base_config();
    const struct nph_image_meta qcow2 = { .id = "img-qcow2", .disk_format = NPH_IMAGE_QCOW2,
                                          .path = "/images/img-qcow2" };
    struct nph_instance inst = instance(UUID1, &small, &qcow2);
    golden("qcow2", &cfg, &inst);

    const struct nph_image_meta raw = { .id = "img-raw", .disk_format = NPH_IMAGE_RAW,
                                        .path = "/images/img-raw" };
    struct lv_config flat = base_config();
    flat.use_cow_images = false;
    flat.nic = LV_NIC_BRIDGE;
    snprintf(flat.bridge, sizeof(flat.bridge), "br0");
    flat.spice = true;
    snprintf(flat.virt_type, sizeof(flat.virt_type), "kvm");
    snprintf(flat.cpu_mode, sizeof(flat.cpu_mode), "host-passthrough");
    inst = instance(UUID1, &large, &raw);
    golden("raw-bridge-spice-kvm", &flat, &inst);

    const struct nph_image_meta iso = { .id = "img-iso", .disk_format = NPH_IMAGE_ISO,
                                        .path = "/images/img-iso" };
    struct lv_config plain = base_config();
    plain.vnc = false;
    plain.nic = LV_NIC_NONE;
    inst = instance(UUID1, &small, &iso);
    inst.name = "<odd> & 'quoted' \"name\"";
    golden("iso-no-graphics", &plain, &inst);

    const struct nph_kv ami_props[] = { { "kernel_id", "img-aki" }, { "ramdisk_id", "img-ari" },
                                        { "os_command_line", "console=ttyS0 quiet" } };
    const struct nph_image_meta ami = { .id = "img-ami", .disk_format = NPH_IMAGE_AMI,
                                        .path = "/images/img-ami", .properties = ami_props,
                                        .n_properties = 3 };
    inst = instance(UUID1, &small, &ami);
    golden("ami", &cfg, &inst);

    /* Bad input: a clear error each. */
    struct lv_plan plan;
    nph_error err = NPH_ERROR_INIT;
    const struct nph_image_meta vmdk = { .id = "img-vmdk", .disk_format = NPH_IMAGE_VMDK,
                                         .path = "/images/img-vmdk" };
    inst = instance(UUID1, &small, &vmdk);
    is_int(lv_plan_make(&cfg, &inst, &plan, &err), NPH_ERR_INVALID, "vmdk refused");
    like(err.message, "not vmdk", "vmdk: says which format");
    const struct nph_image_meta ami_bare = { .id = "img-ami", .disk_format = NPH_IMAGE_AMI,
                                             .path = "/images/img-ami" };
    inst = instance(UUID1, &small, &ami_bare);
    is_int(lv_plan_make(&cfg, &inst, &plan, &err), NPH_ERR_INVALID, "AMI without a kernel");
    like(err.message, "kernel_id", "AMI: names the missing property");
    const struct nph_image_meta nopath = { .id = "img-x", .disk_format = NPH_IMAGE_QCOW2 };
    inst = instance(UUID1, &small, &nopath);
    is_int(lv_plan_make(&cfg, &inst, &plan, &err), NPH_ERR_INVALID, "image without a local copy");
    inst = instance("../../etc", &small, &qcow2);
    is_int(lv_plan_make(&cfg, &inst, &plan, &err), NPH_ERR_INVALID, "uuid with a path refused");
    const struct nph_flavor empty = { .id = "0", .name = "empty" };
    inst = instance(UUID1, &empty, &qcow2);
    nph_auto_buffer xml = NPH_BUFFER_INIT;
    lv_plan_make(&cfg, &inst, &plan, &err);
    is_int(lv_domain_xml(&cfg, &inst, &empty, &plan, &xml, &err), NPH_ERR_INVALID,
           "a flavor without memory refused");
}

/* ------------------------------------------------------------------------ */
/* Through the loader on test:///default.                                   */

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static int n_events;
static nph_power_state last_state = -1;
static char last_uuid[40];

static void on_event(void *opaque, nph_driver *drv, const struct nph_driver_event *ev)
{
    pthread_mutex_lock(&ev_lock);
    n_events++;
    last_state = ev->power_state;
    snprintf(last_uuid, sizeof(last_uuid), "%s", ev->instance_uuid);
    pthread_mutex_unlock(&ev_lock);
}

/* Wait up to 2 s for an event with power state `want`. */
static bool wait_event(nph_power_state want)
{
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&ev_lock);
        bool seen = last_state == want;
        pthread_mutex_unlock(&ev_lock);
        if (seen)
            return true;
        nph_clock_sleep_ms(10);
    }
    return false;
}

static nph_driver *start_driver(const char *dir, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "[driver]\nmodule = libvirt\n[options]\nuri = test:///default\nvirt_type = qemu\n"
             "instances_path = %s/instances\nnode_name = node-a\nnetwork = user\n"
             "image_cache_interval_s = 0\nsoft_reboot_timeout_s = 2\n%s",
             dir, extra);
    struct nph_loader_options opts = { .host_name = "host-a", .on_event = on_event };
    nph_driver *drv = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (nph_driver_load(test_write_file("libvirt.conf", text), &opts, &drv, &err) != NPH_OK ||
        nph_driver_start(drv, &err) != NPH_OK) {
        printf("Bail out! cannot start the libvirt driver: %s\n", err.message);
        exit(99);
    }
    return drv;
}

static int power_state(nph_driver *drv, const char *uuid)
{
    struct nph_instance inst = { .uuid = uuid };
    struct nph_instance_info info = { 0 };
    nph_error err = NPH_ERROR_INIT;
    if (NPH_DRIVER_CALL(drv, get_info, &err, &inst, &info) != NPH_OK)
        return -1;
    return (int)info.state;
}

static bool file_exists(const char *dir, const char *rel)
{
    char path[1024];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    return stat(path, &sb) == 0;
}

static bool file_starts(const char *path, const char *magic, size_t n)
{
    char head[16] = { 0 };
    FILE *f = fopen(path, "rb");
    bool ok_ = f && fread(head, 1, n, f) == n && memcmp(head, magic, n) == 0;
    if (f)
        fclose(f);
    return ok_;
}

static void collect(void *opaque, const char *s)
{
    nph_buffer_appendf(opaque, "%s,", s);
}

static void test_inventory(nph_driver *drv)
{
    nph_error err = NPH_ERROR_INIT;
    nph_auto_buffer nodes = NPH_BUFFER_INIT;
    is_int(NPH_DRIVER_CALL(drv, list_nodes, &err, collect, &nodes), NPH_OK, "list_nodes");
    is_str(nph_buffer_str(&nodes), "node-a,", "one node, named by the option");
    struct nph_node_resources res = { 0 };
    is_int(NPH_DRIVER_CALL(drv, node_resources, &err, "node-a", &res), NPH_OK, "node_resources");
    is_str(res.hypervisor_type, "QEMU", "hypervisor type QEMU");
    ok(res.vcpus > 0 && res.memory_mb > 0, "host CPUs and memory reported (%u, %llu MiB)",
       res.vcpus, (unsigned long long)res.memory_mb);
    ok(res.local_gb > 0, "local disk reported");
    like(res.cpu_info, "\"topology\"", "cpu_info has the topology");
    is_int(NPH_DRIVER_CALL(drv, node_resources, &err, "node-b", &res), NPH_ERR_NOT_FOUND,
           "unknown node");
    struct nph_driver_capabilities caps = { 0 };
    nph_driver_capabilities(drv, &caps);
    ok(caps.flags & NPH_CAP_SNAPSHOT, "capability: snapshot");
    ok(caps.flags & NPH_CAP_CONSOLE_VNC, "capability: VNC console");
    ok(!(caps.flags & NPH_CAP_LIVE_MIGRATION), "no live migration");
    ok(caps.image_formats & NPH_IMAGE_AMI, "boots AMI images");
}

static void test_power(nph_driver *drv, struct nph_instance *vm)
{
    nph_error err = NPH_ERROR_INIT;
    is_int(NPH_DRIVER_CALL(drv, pause, &err, vm), NPH_OK, "pause");
    is_int(power_state(drv, vm->uuid), NPH_POWER_PAUSED, "paused");
    ok(wait_event(NPH_POWER_PAUSED), "pause event delivered");
    is_int(NPH_DRIVER_CALL(drv, unpause, &err, vm), NPH_OK, "unpause");
    is_int(power_state(drv, vm->uuid), NPH_POWER_RUNNING, "running again");
    is_int(NPH_DRIVER_CALL(drv, suspend, &err, vm), NPH_OK, "suspend (managed save)");
    is_int(power_state(drv, vm->uuid), NPH_POWER_SUSPENDED, "suspended");
    ok(wait_event(NPH_POWER_SUSPENDED), "suspend event delivered");
    is_int(NPH_DRIVER_CALL(drv, resume, &err, vm), NPH_OK, "resume");
    is_int(power_state(drv, vm->uuid), NPH_POWER_RUNNING, "running after resume");
    is_int(NPH_DRIVER_CALL(drv, resume, &err, vm), NPH_ERR_CONFLICT, "resume a running guest");
    is_int(NPH_DRIVER_CALL(drv, power_off, &err, vm, 2), NPH_OK, "power off");
    is_int(power_state(drv, vm->uuid), NPH_POWER_SHUTDOWN, "shut down");
    ok(wait_event(NPH_POWER_SHUTDOWN), "stop event delivered");
    is_int(NPH_DRIVER_CALL(drv, power_on, &err, vm), NPH_OK, "power on");
    is_int(power_state(drv, vm->uuid), NPH_POWER_RUNNING, "running after power on");
    is_int(NPH_DRIVER_CALL(drv, reboot, &err, vm, NPH_REBOOT_SOFT), NPH_OK, "soft reboot");
    is_int(power_state(drv, vm->uuid), NPH_POWER_RUNNING, "running after soft reboot");
    is_int(NPH_DRIVER_CALL(drv, reboot, &err, vm, NPH_REBOOT_HARD), NPH_OK, "hard reboot");
    is_int(power_state(drv, vm->uuid), NPH_POWER_RUNNING, "running after hard reboot");
    struct nph_instance_info info = { 0 };
    is_int(NPH_DRIVER_CALL(drv, get_info, &err, vm, &info), NPH_OK, "get_info");
    is_int(info.num_cpu, 1, "one vCPU");
    is_int(info.max_mem_kb, 256 * 1024, "256 MiB");
}

static void test_files(nph_driver *drv, struct nph_instance *vm, const char *dir)
{
    nph_error err = NPH_ERROR_INIT;
    char path[1024];
    snprintf(path, sizeof(path), "%s/instances/%s/disk", dir, UUID1);
    ok(file_starts(path, "QFI\xfb", 4), "root disk is a qcow2 overlay");
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "qemu-img check -q %s && qemu-img info %s | grep -q "
             "'^backing file: .*/_base/img-1$'", path, path);
    ok(system(cmd) == 0, "qemu-img check finds it sound, on the cached base");
    ok(file_exists(dir, "instances/_base/img-1"), "image cached as a base");
    snprintf(path, sizeof(path), "%s/instances/%s/console.log", dir, UUID1);
    FILE *f = fopen(path, "a");
    fputs("GUEST-MARKER-BOOTED\n", f);
    fclose(f);
    nph_auto_buffer out = NPH_BUFFER_INIT;
    is_int(NPH_DRIVER_CALL(drv, get_console_output, &err, vm, &out), NPH_OK, "console output");
    like(nph_buffer_str(&out), "GUEST-MARKER-BOOTED", "console output is the serial log");
    snprintf(path, sizeof(path), "%s/snap.qcow2", dir);
    struct nph_snapshot_result snap = { 0 };
    is_int(NPH_DRIVER_CALL(drv, snapshot, &err, vm, path, &snap), NPH_OK, "snapshot");
    is_int(snap.disk_format, NPH_IMAGE_QCOW2, "snapshot is qcow2");
    ok(snap.size > 0 && file_starts(path, "QFI\xfb", 4), "snapshot written");
    is_int(power_state(drv, vm->uuid), NPH_POWER_RUNNING, "running after the snapshot");
    unlink(path);
    struct nph_console con = { 0 };
    is_int(NPH_DRIVER_CALL(drv, get_console, &err, vm, NPH_CONSOLE_SERIAL, &con),
           NPH_ERR_NOT_SUPPORTED, "no serial console proxy");
    struct nph_volume vol = { .volume_id = "vol-1", .mountpoint = "/dev/vdb",
                              .connection_info = "{\"data\": {\"device_path\": \"/nonexistent\"}}" };
    is_int(NPH_DRIVER_CALL(drv, attach_volume, &err, vm, &vol), NPH_ERR_NOT_FOUND,
           "attach a missing file");
    vol.connection_info = "{\"driver_volume_type\": \"iscsi\"}";
    is_int(NPH_DRIVER_CALL(drv, attach_volume, &err, vm, &vol), NPH_ERR_INVALID,
           "attach without a device path");
    is_int(NPH_DRIVER_CALL(drv, detach_volume, &err, vm, &vol), NPH_ERR_NOT_FOUND,
           "detach a volume never attached");
}

static void test_resize(nph_driver *drv, struct nph_instance *vm)
{
    nph_error err = NPH_ERROR_INIT;
    is_int(NPH_DRIVER_CALL(drv, migrate_disk_and_power_off, &err, vm, "host-b", "node-b", &large),
           NPH_ERR_NOT_SUPPORTED, "resize to another host refused");
    is_int(NPH_DRIVER_CALL(drv, migrate_disk_and_power_off, &err, vm, "host-a", "node-a", &large),
           NPH_OK, "resize: power off on the same host");
    struct nph_instance resized = *vm;
    resized.flavor = &large;
    is_int(NPH_DRIVER_CALL(drv, finish_migration, &err, &resized, &large, true), NPH_OK,
           "resize: finish");
    struct nph_instance_info info = { 0 };
    NPH_DRIVER_CALL(drv, get_info, &err, vm, &info);
    is_int(info.num_cpu, 2, "two vCPUs after the resize");
    is_int(info.max_mem_kb, 512 * 1024, "512 MiB after the resize");
    is_int(NPH_DRIVER_CALL(drv, finish_revert_migration, &err, vm, true), NPH_OK, "revert");
    NPH_DRIVER_CALL(drv, get_info, &err, vm, &info);
    is_int(info.num_cpu, 1, "one vCPU after the revert");
    is_int(info.state, NPH_POWER_RUNNING, "running after the revert");
    is_int(NPH_DRIVER_CALL(drv, confirm_migration, &err, vm), NPH_OK, "confirm is harmless");
}

/* A domain undefined behind our back: an event, then get_info NOT_FOUND. */
static void test_deleted_behind_our_back(nph_driver *drv, struct nph_instance *vm)
{
    virConnectPtr conn = virConnectOpen("test:///default"); /* shares the driver's state */
    virDomainPtr dom = conn ? virDomainLookupByUUIDString(conn, vm->uuid) : NULL;
    ok(dom && virDomainDestroy(dom) == 0 && virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE) == 0,
       "domain removed with another connection");
    if (dom)
        virDomainFree(dom);
    if (conn)
        virConnectClose(conn);
    ok(wait_event(NPH_POWER_NOSTATE), "event: the domain is gone");
    is_int(power_state(drv, vm->uuid), -1, "get_info: not found");
}

static void test_lifecycle(const char *dir)
{
    nph_driver *drv = start_driver(dir, "");
    test_inventory(drv);

    char image[1024];
    snprintf(image, sizeof(image), "%s/img-1", dir);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 %s 16M", image);
    if (system(cmd) != 0)
        printf("Bail out! qemu-img (qemu-utils) is needed\n"), exit(99);
    const struct nph_image_meta img = { .id = "img-1", .disk_format = NPH_IMAGE_QCOW2,
                                        .path = image };
    struct nph_instance vm = instance(UUID1, &small, &img);
    vm.node = "node-a";
    nph_error err = NPH_ERROR_INIT;
    is_int(NPH_DRIVER_CALL(drv, spawn, &err, &vm, NULL), NPH_OK, "spawn");
    if (err.message[0])
        printf("# %s\n", err.message);
    is_int(power_state(drv, UUID1), NPH_POWER_RUNNING, "running after spawn");
    ok(wait_event(NPH_POWER_RUNNING), "start event delivered");
    is_int(NPH_DRIVER_CALL(drv, spawn, &err, &vm, NULL), NPH_ERR_CONFLICT, "spawn twice");
    nph_auto_buffer uuids = NPH_BUFFER_INIT;
    is_int(NPH_DRIVER_CALL(drv, list_instances, &err, NULL, collect, &uuids), NPH_OK,
           "list_instances");
    is_str(nph_buffer_str(&uuids), UUID1 ",", "only our guest listed (not the test driver's own)");

    test_files(drv, &vm, dir);
    test_power(drv, &vm);
    test_resize(drv, &vm);

    err = (nph_error)NPH_ERROR_INIT;
    is_int(NPH_DRIVER_CALL(drv, destroy, &err, &vm, true), NPH_OK, "destroy");
    if (err.message[0])
        printf("# %s\n", err.message);
    is_int(power_state(drv, UUID1), -1, "gone after destroy");
    ok(!file_exists(dir, "instances/" UUID1), "instance directory removed");
    is_int(NPH_DRIVER_CALL(drv, destroy, &err, &vm, true), NPH_OK, "destroy is idempotent");

    struct nph_instance vm2 = instance(UUID2, &small, &img);
    is_int(NPH_DRIVER_CALL(drv, spawn, &err, &vm2, NULL), NPH_OK, "spawn a second guest");
    test_deleted_behind_our_back(drv, &vm2);
    is_int(NPH_DRIVER_CALL(drv, destroy, &err, &vm2, true), NPH_OK, "destroy its leftovers");
    nph_driver_free(drv);
}

static void quiet_log(nph_host *host, nph_log_level level, const char *fmt, ...)
{
}

/* The cache manager keeps bases in use and young ones, removes the rest. */
static void test_cache(const char *dir)
{
    struct lv_driver d = { .cfg = base_config() };
    snprintf(d.cfg.instances_path, sizeof(d.cfg.instances_path), "%s/cache", dir);
    pthread_mutex_init(&d.cache_lock, NULL);
    static const struct nph_host_services svc = { .log = quiet_log };
    d.svc = &svc;
    char path[1024];
    snprintf(path, sizeof(path), "mkdir -p %s/cache/_base %s/cache/vm-1 && touch -d '2 days ago' "
             "%s/cache/_base/used %s/cache/_base/unused && touch %s/cache/_base/young && "
             "echo used > %s/cache/vm-1/bases", dir, dir, dir, dir, dir, dir);
    ok(system(path) == 0, "cache set up");
    is_int(lv_cache_prune(&d, 3600), 1, "one base removed");
    ok(file_exists(dir, "cache/_base/used"), "a base in use stays");
    ok(file_exists(dir, "cache/_base/young"), "a young base stays");
    ok(!file_exists(dir, "cache/_base/unused"), "an old unused base goes");
    pthread_mutex_destroy(&d.cache_lock);
}

int main(void)
{
    const char *dir = test_tmpdir_make();
    const char *top = getenv("top_builddir");
    char path[2048];
    snprintf(path, sizeof(path), "%s/drivers/libvirt/.libs", top ? top : ".");
    setenv("NEPHELE_PLUGIN_PATH", path, 1);
    test_domain_xml();
    test_lifecycle(dir);
    test_cache(dir);
    snprintf(path, sizeof(path), "rm -rf %s", dir);
    if (system(path) != 0)
        printf("# could not remove %s\n", dir);
    return tap_done();
}
