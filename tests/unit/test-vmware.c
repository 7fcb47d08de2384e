/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The vmware driver against govmomi's vcsim: TLS verification, login,
 * re-login, nodes and inventory, and every guest operation. */
#include "config.h"

#include <pthread.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmw-ops.h"
#include "vmw-test-host.h"

#define UUID1 "5a1e0001-2222-4333-8444-555555555555"
#define UUID2 "5a1e0002-2222-4333-8444-555555555555"
#define UUID3 "5a1e0003-2222-4333-8444-555555555555"

static char url[512], ca[512], dir[300];
static void *drv;

static const struct nph_flavor small = { .id = "1", .name = "m1.small", .vcpus = 2,
                                         .memory_mb = 2048, .root_gb = 1, .ephemeral_gb = 1 };
static const struct nph_flavor large = { .id = "2", .name = "m1.large", .vcpus = 4,
                                         .memory_mb = 4096, .root_gb = 1 };
static struct nph_image_meta vmdk = { .id = "11111111-0000-4000-8000-00000000000a",
                                      .name = "cirros-vmdk", .disk_format = NPH_IMAGE_VMDK };

static void collect_node(void *opaque, const char *node)
{
    char *names = opaque;
    strcat(names, node);
    strcat(names, " ");
}

static int listed;
static void count_instance(void *opaque, const char *uuid)
{
    if (!strcmp(uuid, opaque))
        listed++;
}

static int power(const struct nph_instance *inst)
{
    struct nph_instance_info info = { 0 };
    nph_error err = NPH_ERROR_INIT;
    if (vmw_get_info(drv, inst, &info, &err) != NPH_OK)
        return -1;
    return (int)info.state;
}

static void test_connect(void)
{
    nph_error err = NPH_ERROR_INIT;
    void *d = NULL;
    th_set("url", url);
    th_set("username", "user");
    th_set("password", "wrong");
    th_set("ca_file", ca);
    is_int(th_start(&d, &err), NPH_ERR_INVALID, "a wrong password is refused");
    like(err.message, "InvalidLogin", "with vSphere's InvalidLogin fault");

    th_set("password", "pass");
    th_set("ca_file", "");
    is_int(th_start(&d, &err), NPH_ERR_IO, "an unknown CA fails certificate verification");
    like(err.message, "SSL", "and says it is TLS");
    th_set("insecure", "true");
    ok(th_start(&d, &err) == NPH_OK, "insecure = true connects anyway");
    if (d)
        nph_vmware_descriptor.ops->cleanup(d);
    th_set("insecure", "false");
    th_set("ca_file", ca);
    if (!ok(th_start(&drv, &err) == NPH_OK, "connects, verifying the certificate with ca_file")) {
        printf("Bail out! no connection\n");
        vcsim_stop(dir);
        exit(1);
    }
}

static void test_nodes(void)
{
    nph_error err = NPH_ERROR_INIT;
    char names[512] = "";
    const struct nph_driver_ops *ops = nph_vmware_descriptor.ops;
    is_int(ops->list_nodes(drv, collect_node, names, &err), NPH_OK, "list_nodes");
    like(names, "DC0_C0 ", "the cluster is a node");
    like(names, "DC0_H0 ", "the standalone host is a node");
    struct nph_node_resources r = { 0 };
    is_int(ops->node_resources(drv, "DC0_C0", &r, &err), NPH_OK, "node_resources of the cluster");
    ok(r.vcpus > 0 && r.memory_mb > 0 && r.local_gb > 0, "it has CPUs (%u), memory (%llu MB), disk (%llu GB)",
       r.vcpus, (unsigned long long)r.memory_mb, (unsigned long long)r.local_gb);
    struct nph_node_resources h = { 0 };
    ops->node_resources(drv, "DC0_H0", &h, &err);
    ok(r.vcpus == 3 * h.vcpus, "the cluster of three hosts has three hosts' threads");
    is_str(r.hypervisor_type, "VMware vCenter Server", "hypervisor type");
    is_int(ops->node_resources(drv, "nowhere", &r, &err), NPH_ERR_NOT_FOUND, "unknown node");
    struct nph_driver_capabilities caps = { 0 };
    ops->capabilities(drv, &caps);
    is_int(caps.image_formats, NPH_IMAGE_VMDK | NPH_IMAGE_ISO, "boots vmdk and iso images");
    ok(caps.flags & NPH_CAP_SNAPSHOT, "snapshots");
    ok((caps.flags & NPH_CAP_ATTACH_INTERFACE) && ops->attach_interface && ops->detach_interface,
       "interface attach: the flag and both slots");
    /* Not offered (a node is a whole cluster): the flag says so and the slot
     * stays empty, so the core answers "not supported" and the scheduler
     * never offers it. */
    ok(!(caps.flags & NPH_CAP_LIVE_MIGRATION) && !ops->live_migration,
       "no live migration: no flag, an empty slot");
}

static void test_lifecycle(const char *image_path)
{
    nph_error err = NPH_ERROR_INIT;
    vmdk.path = image_path;
    vmdk.size = 65536;
    struct nph_instance inst = { .uuid = UUID1, .name = "vm1", .node = "DC0_C0", .flavor = &small,
                                 .image = &vmdk };
    struct nph_spawn_args args = { 0 };
    if (!ok(vmw_spawn(drv, &inst, &args, &err) == NPH_OK, "spawn from a vmdk image"))
        printf("#   %s\n", err.message);
    is_int(power(&inst), NPH_POWER_RUNNING, "running");
    is_int(th.last_event, NPH_EVENT_STARTED, "a started event");
    listed = 0;
    vmw_list_instances(drv, "DC0_C0", count_instance, (void *)UUID1, &err);
    is_int(listed, 1, "listed on its node");
    listed = 0;
    vmw_list_instances(drv, "DC0_H0", count_instance, (void *)UUID1, &err);
    is_int(listed, 0, "not on the other");
    is_int(vmw_spawn(drv, &inst, &args, &err), NPH_ERR_CONFLICT, "a second spawn is a conflict");

    is_int(vmw_power_off(drv, &inst, 5, &err), NPH_OK, "clean shutdown");
    is_int(power(&inst), NPH_POWER_SHUTDOWN, "off");
    is_int(vmw_power_on(drv, &inst, &err), NPH_OK, "power on");
    is_int(vmw_suspend(drv, &inst, &err), NPH_OK, "suspend");
    is_int(power(&inst), NPH_POWER_SUSPENDED, "suspended");
    is_int(vmw_resume(drv, &inst, &err), NPH_OK, "resume");
    is_int(power(&inst), NPH_POWER_RUNNING, "running again");
    is_int(vmw_reboot(drv, &inst, NPH_REBOOT_SOFT, &err), NPH_OK,
           "soft reboot (vcsim lacks RebootGuest: a reset)");
    is_int(vmw_reboot(drv, &inst, NPH_REBOOT_HARD, &err), NPH_OK, "hard reboot");

    char snap[600];
    snprintf(snap, sizeof(snap), "%s/snapshot.vmdk", test_tmpdir);
    struct nph_snapshot_result res = { 0 };
    if (!ok(vmw_snapshot(drv, &inst, snap, &res, &err) == NPH_OK, "snapshot"))
        printf("#   %s\n", err.message);
    is_int(res.disk_format, NPH_IMAGE_VMDK, "as vmdk");
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "qemu-img convert -f vmdk -O raw '%s' '%s.raw' && cmp -s '%s.raw' '%s/image.raw'",
             snap, snap, snap, test_tmpdir);
    ok(system(cmd) == 0, "a sparse vmdk qemu-img reads, with the image's bytes (%llu bytes)",
       (unsigned long long)res.size);

    is_int(vmw_migrate_disk_and_power_off(drv, &inst, "host-a", "DC0_C0", &large, &err), NPH_OK,
           "resize: power off");
    is_int(vmw_finish_migration(drv, &inst, &large, true, &err), NPH_OK, "resize: reconfigure");
    struct nph_instance_info info = { 0 };
    vmw_get_info(drv, &inst, &info, &err);
    ok(info.num_cpu == 4 && info.mem_kb == 4096 * 1024, "4 vCPUs and 4 GiB now");
    is_int(vmw_migrate_disk_and_power_off(drv, &inst, "host-a", "DC0_H0", &large, &err),
           NPH_ERR_NOT_SUPPORTED, "resize to another node is not supported");

    struct nph_console con;
    is_int(vmw_get_console(drv, &inst, NPH_CONSOLE_MKS, &con, &err), NPH_ERR_NOT_SUPPORTED,
           "MKS console: vcsim has no AcquireTicket");
    like(err.message, "not supported by this server", "says so");

    is_int(vmw_destroy(drv, &inst, true, &err), NPH_OK, "destroy");
    is_int(power(&inst), -1, "gone");
    is_int(vmw_destroy(drv, &inst, true, &err), NPH_OK, "destroying it again is fine");

    struct nph_image_meta qcow2 = { .id = "q", .disk_format = NPH_IMAGE_QCOW2 };
    inst.image = &qcow2;
    is_int(vmw_spawn(drv, &inst, &args, &err), NPH_ERR_INVALID, "a qcow2 image is refused");
    like(err.message, "vmdk and iso", "naming what it boots");
}

/* Behind the driver's back: a folder a dead spawn left, and a VM the driver
 * remembers that is destroyed while another VM takes the instance's UUID. */
static void test_behind_our_back(void)
{
    struct vmw_driver *d = drv;
    nph_error err = NPH_ERROR_INIT;
    struct nph_instance inst = { .uuid = UUID2, .name = "vm2", .node = "DC0_C0", .flavor = &large,
                                 .image = &vmdk };
    struct nph_spawn_args args = { 0 };
    struct vmw_node n;
    vmw_node_get(d, "DC0_C0", &n, &err);
    char folder[300];
    snprintf(folder, sizeof(folder), "[%s] %s", n.datastore_name, UUID2);
    {
        VMW_SESSION(c, &d->sessions);
        struct vim25__MakeDirectoryRequest mkdir = { vmw_mor(c, &c->file_manager), folder,
                                                     vmw_mor(c, &n.datacenter), "false" };
        struct vim25__EmptyResponse none;
        is_int(VMW_CALL(c, &err, MakeDirectory, &mkdir, &none), NPH_OK, "a folder left behind");
    }
    if (!ok(vmw_spawn(drv, &inst, &args, &err) == NPH_OK, "spawn makes it anew"))
        printf("#   %s\n", err.message);
    struct vmw_ref old = { "", "" }, other = { "", "" };
    {
        VMW_SESSION(c, &d->sessions);
        bool remembered = false;
        vmw_lookup_vm(d, c, UUID2, &old, &remembered, &err);
        ok(remembered, "the new VM is remembered");
        struct vim25__ThisRequest this = { vmw_mor(c, &old) };
        VMW_TASK(c, &err, PowerOffVM_USCORETask, &this, "power off", 60, NULL);
        is_int(VMW_TASK(c, &err, Destroy_USCORETask, &this, "destroy", 60, NULL), NPH_OK,
               "it is destroyed behind the driver's back");
        struct vmw_spawn_plan plan = { .uuid = UUID2, .name = "other", .datastore_name = n.datastore_name,
                                       .guest_id = "otherGuest64", .vcpus = 1, .memory_mb = 256 };
        struct vim25__CreateVMRequest create = { vmw_mor(c, &n.vm_folder),
                                                 vmw_spawn_spec(c->soap, &plan), vmw_mor(c, &n.pool),
                                                 NULL };
        is_int(VMW_TASK(c, &err, CreateVM_USCORETask, &create, "create", 60, &other), NPH_OK,
               "and another VM takes the instance's UUID");
    }
    struct nph_instance_info info = { 0 };
    is_int(vmw_get_info(drv, &inst, &info, &err), NPH_OK, "get_info finds the other VM");
    ok(info.state == NPH_POWER_SHUTDOWN && info.num_cpu == 1, "which is off, with 1 vCPU");
    ok(strcmp(old.id, other.id) != 0, "(a VM of another id: %s, was %s)", other.id, old.id);
    is_int(vmw_destroy(drv, &inst, true, &err), NPH_OK, "destroy of a VM that is off");
    is_int(power(&inst), -1, "gone");
}

static void test_relogin(void)
{
    struct vmw_driver *d = drv;
    nph_error err = NPH_ERROR_INIT;
    /* A session the server does not know: as after a vCenter restart. */
    struct vmw_conn *first = &d->sessions.conns[0]; /* what one thread at a time uses */
    snprintf(first->cookie, sizeof(first->cookie), "vmware_soap_session=\"expired\"");
    char names[512] = "";
    if (!ok(nph_vmware_descriptor.ops->list_nodes(drv, collect_node, names, &err) == NPH_OK,
            "NotAuthenticated: logs in again and carries on"))
        printf("#   %s\n", err.message);
    ok(strcmp(first->cookie, "vmware_soap_session=\"expired\"") != 0, "with a new session");
}

/* NICs of instance `uuid`'s VM, and how many have MAC address `mac`. */
struct nic_count {
    int nics, with_mac;
    const char *mac;
};

static nph_status count_nics(void *opaque, const struct vim25__ObjectContent *oc, nph_error *err)
{
    struct nic_count *n = opaque;
    const struct soap_dom_element *devices = vmw_prop(oc, "config.hardware.device");
    for (const struct soap_dom_element *e = devices ? devices->elts : NULL; e; e = e->next) {
        const struct soap_dom_element *mac = vmw_child(e, "macAddress");
        n->nics += mac != NULL;
        n->with_mac += mac && !strcasecmp(vmw_text(mac), n->mac);
    }
    return NPH_OK;
}

static struct nic_count nics_of(const char *uuid, const char *mac)
{
    struct vmw_driver *d = drv;
    static const char *const paths[] = { "config.hardware.device" };
    struct nic_count n = { .mac = mac };
    nph_error err = NPH_ERROR_INIT;
    struct vmw_ref vm;
    VMW_SESSION(c, &d->sessions);
    if (vmw_find_vm(d, c, uuid, &vm, &err) != NPH_OK ||
        vmw_retrieve(c, vmw_spec_objects(c, "VirtualMachine", paths, 1, &vm, 1), 0, count_nics,
                     &n, &err) != NPH_OK)
        n.nics = -1;
    return n;
}

static void test_interfaces(void)
{
    nph_error err = NPH_ERROR_INIT;
    struct nph_instance inst = { .uuid = UUID3, .name = "vm3", .node = "DC0_C0", .flavor = &small,
                                 .image = &vmdk };
    struct nph_spawn_args args = { 0 };
    if (!ok(vmw_spawn(drv, &inst, &args, &err) == NPH_OK, "a guest for interfaces"))
        printf("#   %s\n", err.message);
    const char *mac = "fa:16:3e:12:34:56";
    struct nph_vif vif = { .port_id = "b3a5c1d2-0000-4000-8000-000000000001", .mac_address = mac,
                           .network_id = "net-1" };
    is_int(nics_of(UUID3, mac).nics, 1, "it has the NIC of its spawn");
    if (!ok(vmw_attach_interface(drv, &inst, &vif, &err) == NPH_OK,
            "attach an interface to the running guest"))
        printf("#   %s\n", err.message);
    struct nic_count n = nics_of(UUID3, mac);
    ok(n.nics == 2 && n.with_mac == 1, "a second NIC, with the port's MAC address (%d NICs)",
       n.nics);
    struct nph_vif by_port = { .port_id = vif.port_id };
    if (!ok(vmw_detach_interface(drv, &inst, &by_port, &err) == NPH_OK,
            "detach it, named by its port only"))
        printf("#   %s\n", err.message);
    n = nics_of(UUID3, mac);
    ok(n.nics == 1 && n.with_mac == 0, "the spawn's NIC is left (%d NICs)", n.nics);
    is_int(vmw_detach_interface(drv, &inst, &vif, &err), NPH_ERR_NOT_FOUND,
           "detaching it again: not found");
    like(err.message, "no interface for port b3a5c1d2", "naming the port");
    struct nph_vif nothing = { .network_id = "net-1" };
    is_int(vmw_attach_interface(drv, &inst, &nothing, &err), NPH_ERR_INVALID,
           "an interface without port or MAC is refused");
    is_int(vmw_destroy(drv, &inst, true, &err), NPH_OK, "destroy");
}

/* Guests spawned and destroyed from several threads at once: each runs on a
 * session of its own, and the VM table they share stays right. */
struct parallel_vm {
    char uuid[40];
    nph_status spawned, destroyed;
};

static void *spawn_and_destroy(void *arg)
{
    struct parallel_vm *p = arg;
    struct nph_instance inst = { .uuid = p->uuid, .name = "par", .node = "DC0_C0",
                                 .flavor = &small, .image = &vmdk };
    struct nph_spawn_args args = { 0 };
    nph_error err = NPH_ERROR_INIT;
    p->spawned = vmw_spawn(drv, &inst, &args, &err);
    p->destroyed = vmw_destroy(drv, &inst, true, &err);
    return NULL;
}

struct waiting_op {
    void *drv;
    volatile int done;
    nph_status st;
};

static void *get_info_of_nothing(void *arg)
{
    struct waiting_op *w = arg;
    struct nph_instance ghost = { .uuid = "5a1e00ff-2222-4333-8444-555555555555",
                                  .node = "DC0_C0" };
    struct nph_instance_info info = { 0 };
    nph_error err = NPH_ERROR_INIT;
    w->st = vmw_get_info(w->drv, &ghost, &info, &err);
    w->done = 1;
    return NULL;
}

static void test_sessions(void)
{
    enum { N = 4 };
    struct parallel_vm vms[N];
    pthread_t threads[N];
    for (int i = 0; i < N; i++) {
        vms[i] = (struct parallel_vm){ .spawned = -1, .destroyed = -1 };
        snprintf(vms[i].uuid, sizeof(vms[i].uuid), "5a1e01%02d-2222-4333-8444-555555555555", i);
        pthread_create(&threads[i], NULL, spawn_and_destroy, &vms[i]);
    }
    int spawned = 0, destroyed = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        spawned += vms[i].spawned == NPH_OK;
        destroyed += vms[i].destroyed == NPH_OK;
    }
    is_int(spawned, N, "%d spawns from %d threads at once", N, N);
    is_int(destroyed, N, "and their destroys");
    nph_error err = NPH_ERROR_INIT;
    listed = 0;
    for (int i = 0; i < N; i++)
        vmw_list_instances(drv, NULL, count_instance, vms[i].uuid, &err);
    is_int(listed, 0, "no VM of theirs is left");

    /* Two sessions: with one held elsewhere an operation runs on the other;
     * with both held it waits for one. */
    th_set("connection_pool_size", "2");
    void *two = NULL;
    is_int(th_start(&two, &err), NPH_OK, "a driver with connection_pool_size = 2");
    th_set("connection_pool_size", "8");
    if (!two)
        return;
    struct vmw_driver *d = two;
    is_int((int)d->sessions.size, 2, "has two sessions");
    ok(strcmp(d->sessions.conns[0].cookie, d->sessions.conns[1].cookie) != 0,
       "each logged in on its own");
    struct vmw_conn *held = vmw_pool_take(&d->sessions);
    struct waiting_op w = { .drv = two };
    get_info_of_nothing(&w);
    is_int(w.st, NPH_ERR_NOT_FOUND, "one session held: an operation runs on the other");
    struct vmw_conn *also = vmw_pool_take(&d->sessions);
    ok(held != also, "the second take is the other session");
    w = (struct waiting_op){ .drv = two };
    pthread_t t;
    pthread_create(&t, NULL, get_info_of_nothing, &w);
    usleep(100000);
    is_int(w.done, 0, "both held: an operation waits");
    vmw_pool_give(&held);
    pthread_join(t, NULL);
    ok(w.done && w.st == NPH_ERR_NOT_FOUND, "and runs once one is given back");
    vmw_pool_give(&also);
    nph_vmware_descriptor.ops->cleanup(two);
}

int main(void)
{
    test_tmpdir_make();
    snprintf(dir, sizeof(dir), "%s/vcsim", test_tmpdir);
    vcsim_start(dir, "-username user -password pass", url, sizeof(url), ca, sizeof(ca));
    /* A 1 MiB disk with data in its first and last grain, as a
     * monolithicSparse vmdk made by qemu-img. */
    char image[600], cmd[2048];
    snprintf(image, sizeof(image), "%s/image.vmdk", test_tmpdir);
    snprintf(cmd, sizeof(cmd), "%s/image.raw", test_tmpdir);
    FILE *f = fopen(cmd, "wb");
    for (int i = 0; f && i < 1 << 20; i++)
        fputc(i < 4096 || i >= (1 << 20) - 512 ? (i * 7) & 0xff : 0, f);
    if (f)
        fclose(f);
    snprintf(cmd, sizeof(cmd), "qemu-img convert -f raw -O vmdk '%s/image.raw' '%s'", test_tmpdir,
             image);
    if (system(cmd) != 0) {
        printf("Bail out! qemu-img cannot make a vmdk (apt-get install qemu-utils)\n");
        return 99;
    }

    test_connect();
    test_nodes();
    test_lifecycle(image);
    test_behind_our_back();
    test_interfaces();
    test_sessions();
    test_relogin();

    nph_vmware_descriptor.ops->cleanup(drv);
    vcsim_stop(dir);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_tmpdir);
    if (system(cmd) != 0)
        printf("# cleanup of %s failed\n", test_tmpdir);
    return tap_done();
}
