/* SPDX-License-Identifier: GPL-2.0-or-later */
/* make bench: spawn and destroy of N VMs against vcsim, as bare SOAP round
 * trips (CreateVM_Task, PowerOnVM_Task, PowerOffVM_Task, Destroy_Task, each
 * followed to completion) and through the vmware driver's own spawn and
 * destroy.  Prints "bare_ms_per_vm X" and "driver_ms_per_vm Y".
 *   bench-vmware URL CA_FILE N */
#include "config.h"

#include "clock.h"
#include "vmw-ops.h"
#include "../unit/vmw-test-host.h"

static double now_ms(void)
{
    return (double)nph_clock_monotonic_ns() / 1e6;
}

/* The fewest SOAP calls a spawn and a destroy take (no disk, no NIC). */
static nph_status bare_vm(struct vmw_driver *d, const struct vmw_node *n, int i, nph_error *err)
{
    struct vmw_conn *c = &d->conn;
    char uuid[40];
    snprintf(uuid, sizeof(uuid), "bare0000-0000-4000-8000-%012d", i);
    struct vmw_spawn_plan plan = { .uuid = uuid, .name = "bare", .datastore_name = n->datastore_name,
                                   .guest_id = "otherGuest64", .vcpus = 1, .memory_mb = 512 };
    VMW_LOCKED(c);
    struct vim25__CreateVMRequest create = { vmw_mor(c, &n->vm_folder), vmw_spawn_spec(c->soap, &plan),
                                             vmw_mor(c, &n->pool), NULL };
    struct vmw_ref vm = { "", "" };
    nph_status st = VMW_TASK(c, err, CreateVM_USCORETask, &create, "create", 60, &vm);
    struct vim25__PowerOnVMRequest on = { vmw_mor(c, &vm), NULL };
    struct vim25__ThisRequest this = { vmw_mor(c, &vm) };
    if (st == NPH_OK)
        st = VMW_TASK(c, err, PowerOnVM_USCORETask, &on, "power on", 60, NULL);
    if (st == NPH_OK)
        st = VMW_TASK(c, err, PowerOffVM_USCORETask, &this, "power off", 60, NULL);
    if (st == NPH_OK)
        st = VMW_TASK(c, err, Destroy_USCORETask, &this, "destroy", 60, NULL);
    return st;
}

static nph_status driver_vm(void *drv, const char *node, int i, nph_error *err)
{
    char uuid[40];
    snprintf(uuid, sizeof(uuid), "d0000000-0000-4000-8000-%012d", i);
    struct nph_flavor f = { .id = "1", .name = "m1.tiny", .vcpus = 1, .memory_mb = 512 };
    struct nph_instance inst = { .uuid = uuid, .name = "drv", .node = node, .flavor = &f };
    struct nph_spawn_args args = { 0 };
    nph_status st = vmw_spawn(drv, &inst, &args, err);
    if (st == NPH_OK)
        st = vmw_destroy(drv, &inst, true, err);
    return st;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench-vmware URL CA_FILE N\n");
        return 2;
    }
    int count = atoi(argv[3]);
    th_set("url", argv[1]);
    th_set("username", "admin");
    th_set("password", "s3cret");
    th_set("ca_file", argv[2]);
    th_set("port_group", "");
    void *drv = NULL;
    nph_error err = NPH_ERROR_INIT;
    struct vmw_node node;
    if (th_start(&drv, &err) != NPH_OK || vmw_node_get(drv, "DC0_H0", &node, &err) != NPH_OK) {
        fprintf(stderr, "bench-vmware: %s\n", err.message);
        return 1;
    }
    nph_status st = NPH_OK;
    double t0 = now_ms();
    for (int i = 0; i < count && st == NPH_OK; i++)
        st = bare_vm(drv, &node, i, &err);
    double t1 = now_ms();
    for (int i = 0; i < count && st == NPH_OK; i++)
        st = driver_vm(drv, "DC0_H0", i, &err);
    double t2 = now_ms();
    nph_vmware_descriptor.ops->cleanup(drv);
    if (st != NPH_OK) {
        fprintf(stderr, "bench-vmware: %s\n", err.message);
        return 1;
    }
    printf("bare_ms_per_vm %.3f\ndriver_ms_per_vm %.3f\n", (t1 - t0) / count, (t2 - t1) / count);
    return 0;
}
