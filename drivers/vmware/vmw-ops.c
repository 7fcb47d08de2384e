/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest power operations, resize, information and consoles.  Each one takes
 * a session from the pool for its SOAP exchanges and follows its tasks. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "vmw-ops.h"

#define TASK_TIMEOUT(d) ((d)->opt.task_timeout_s)

struct vm_props {
    bool found;
    char power[16];
    long long cpus, memory_mb, cpu_mhz;
};

static nph_status read_vm(void *opaque, const struct vim25__ObjectContent *oc, nph_error *err)
{
    struct vm_props *p = opaque;
    p->found = true;
    snprintf(p->power, sizeof(p->power), "%s", vmw_text(vmw_prop(oc, "runtime.powerState")));
    p->cpus = vmw_long(vmw_prop(oc, "config.hardware.numCPU"));
    p->memory_mb = vmw_long(vmw_prop(oc, "config.hardware.memoryMB"));
    p->cpu_mhz = vmw_long(vmw_prop(oc, "summary.quickStats.overallCpuUsage"));
    return NPH_OK;
}

static nph_status vm_props(struct vmw_conn *c, const struct vmw_ref *vm, struct vm_props *p,
                           nph_error *err)
{
    static const char *const paths[] = { "runtime.powerState", "config.hardware.numCPU",
                                         "config.hardware.memoryMB",
                                         "summary.quickStats.overallCpuUsage" };
    memset(p, 0, sizeof(*p));
    nph_status st = vmw_retrieve(c, vmw_spec_objects(c, "VirtualMachine", paths, 4, vm, 1), 0,
                                 read_vm, p, err);
    if (st == NPH_OK && !p->found) /* a server that leaves missing objects out */
        st = nph_error_set(err, NPH_ERR_NOT_FOUND, "VM %s is gone", vm->id);
    return st;
}

nph_status vmw_power_state(struct vmw_conn *c, const struct vmw_ref *vm, char *out, size_t len,
                           nph_error *err)
{
    struct vm_props p;
    nph_status st = vm_props(c, vm, &p, err);
    if (st == NPH_OK)
        snprintf(out, len, "%s", p.power);
    return st;
}

static void emit(struct vmw_driver *d, const struct nph_instance *inst, nph_lifecycle_event ev,
                 nph_power_state ps)
{
    struct nph_driver_event e = { inst->uuid, inst->node, ev, ps };
    d->svc->emit_event(d->host, &e);
}

/* A task method on the instance's VM with no other argument. */
#define VM_TASK(d, c, inst, method, what, err)                                    \
    ({                                                                            \
        struct vmw_ref vm_;                                                       \
        VMW_ON_VM(d, c, (inst)->uuid, vm_, err, ({                                \
                      struct vim25__ThisRequest r_ = { vmw_mor(c, &vm_) };        \
                      VMW_TASK(c, err, method, &r_, what, TASK_TIMEOUT(d), NULL); \
                  }));                                                            \
    })

static nph_status power_on_vm(struct vmw_driver *d, struct vmw_conn *c, const struct vmw_ref *vm,
                              const char *what, nph_error *err)
{
    struct vim25__PowerOnVMRequest req = { vmw_mor(c, vm), NULL };
    return VMW_TASK(c, err, PowerOnVM_USCORETask, &req, what, TASK_TIMEOUT(d), NULL);
}

static nph_status power_off_vm(struct vmw_driver *d, struct vmw_conn *c, const struct vmw_ref *vm,
                               const char *what, nph_error *err)
{
    struct vim25__ThisRequest req = { vmw_mor(c, vm) };
    return VMW_TASK(c, err, PowerOffVM_USCORETask, &req, what, TASK_TIMEOUT(d), NULL);
}

/* Power off, then destroy.  Whether the VM runs is not asked first: a VM
 * that is off already answers the power-off with InvalidPowerState. */
static nph_status destroy_vm(struct vmw_driver *d, struct vmw_conn *c,
                             const struct nph_instance *inst, const struct vmw_ref *vm,
                             nph_error *err)
{
    nph_error why = NPH_ERROR_INIT;
    nph_status st = power_off_vm(d, c, vm, "power off before destroy", &why);
    bool was_on = st == NPH_OK;
    if (st != NPH_OK && strcmp(c->last_fault, "InvalidPowerState") != 0) {
        if (err)
            *err = why;
        return st;
    }
    struct vim25__ThisRequest req = { vmw_mor(c, vm) };
    st = VMW_TASK(c, err, Destroy_USCORETask, &req, "destroy VM", TASK_TIMEOUT(d), NULL);
    if (st == NPH_OK) {
        vmw_forget_vm(d, c, inst->uuid);
        if (was_on)
            emit(d, inst, NPH_EVENT_STOPPED, NPH_POWER_SHUTDOWN);
    }
    return st;
}

nph_status vmw_destroy(void *drv, const struct nph_instance *inst, bool destroy_disks,
                       nph_error *err)
{
    struct vmw_driver *d = drv;
    VMW_SESSION(c, &d->sessions);
    struct vmw_ref vm;
    nph_status st = VMW_ON_VM(d, c, inst->uuid, vm, err, destroy_vm(d, c, inst, &vm, err));
    if (st == NPH_ERR_NOT_FOUND) {
        /* No such VM (destroyed already), or one of its files was missing:
         * only the first is done. */
        nph_error why = NPH_ERROR_INIT;
        if (vmw_find_vm(d, c, inst->uuid, &vm, &why) == NPH_ERR_NOT_FOUND)
            return NPH_OK;
    }
    return st;
}

/* A soft reboot asks VMware Tools in the guest; where the server or the guest
 * cannot (no tools, vcsim), it resets the VM as Nova's driver does. */
static nph_status reboot_vm(struct vmw_driver *d, struct vmw_conn *c,
                            const struct nph_instance *inst, const struct vmw_ref *vm,
                            nph_reboot_type type, nph_error *err)
{
    if (type == NPH_REBOOT_SOFT) {
        nph_error why = NPH_ERROR_INIT;
        struct vim25__ThisRequest req = { vmw_mor(c, vm) };
        struct vim25__EmptyResponse none;
        nph_status st = VMW_CALL(c, &why, RebootGuest, &req, &none);
        if (st == NPH_OK || st == NPH_ERR_NOT_FOUND) {
            if (err && st != NPH_OK)
                *err = why;
            return st;
        }
        d->svc->log(d->host, NPH_LOG_INFO, "instance %s: soft reboot impossible (%s); resetting",
                    inst->uuid, why.message);
    }
    struct vim25__ThisRequest req = { vmw_mor(c, vm) };
    nph_status st = VMW_TASK(c, err, ResetVM_USCORETask, &req, "reset VM",
                             TASK_TIMEOUT(d), NULL);
    if (st == NPH_OK)
        emit(d, inst, NPH_EVENT_STARTED, NPH_POWER_RUNNING);
    return st;
}

nph_status vmw_reboot(void *drv, const struct nph_instance *inst, nph_reboot_type type,
                      nph_error *err)
{
    struct vmw_driver *d = drv;
    VMW_SESSION(c, &d->sessions);
    struct vmw_ref vm;
    return VMW_ON_VM(d, c, inst->uuid, vm, err, reboot_vm(d, c, inst, &vm, type, err));
}

/* Ask the guest to shut down and wait up to timeout_s for it. */
static bool clean_shutdown(struct vmw_driver *d, struct vmw_conn *c,
                           const struct nph_instance *inst, const struct vmw_ref *vm,
                           int timeout_s)
{
    nph_error why = NPH_ERROR_INIT;
    struct vim25__ThisRequest req = { vmw_mor(c, vm) };
    struct vim25__EmptyResponse none;
    if (VMW_CALL(c, &why, ShutdownGuest, &req, &none) != NPH_OK) {
        d->svc->log(d->host, NPH_LOG_INFO, "instance %s: no clean shutdown (%s)", inst->uuid,
                    why.message);
        return false;
    }
    uint64_t until = nph_clock_monotonic_ns() + (uint64_t)timeout_s * 1000000000ull;
    char power[16] = "";
    while (vmw_power_state(c, vm, power, sizeof(power), &why) == NPH_OK &&
           strcmp(power, "poweredOff") != 0 && nph_clock_monotonic_ns() < until)
        nph_clock_sleep_ms(200);
    return !strcmp(power, "poweredOff");
}

static nph_status stop_vm(struct vmw_driver *d, struct vmw_conn *c, const struct nph_instance *inst,
                          const struct vmw_ref *vm, int timeout_s, nph_error *err)
{
    if (timeout_s > 0 && clean_shutdown(d, c, inst, vm, timeout_s))
        return NPH_OK;
    return power_off_vm(d, c, vm, "power off VM", err);
}

nph_status vmw_power_off(void *drv, const struct nph_instance *inst, int timeout_s,
                         nph_error *err)
{
    struct vmw_driver *d = drv;
    VMW_SESSION(c, &d->sessions);
    struct vmw_ref vm;
    nph_status st = VMW_ON_VM(d, c, inst->uuid, vm, err, stop_vm(d, c, inst, &vm, timeout_s, err));
    if (st == NPH_OK)
        emit(d, inst, NPH_EVENT_STOPPED, NPH_POWER_SHUTDOWN);
    return st;
}

nph_status vmw_power_on(void *drv, const struct nph_instance *inst, nph_error *err)
{
    struct vmw_driver *d = drv;
    VMW_SESSION(c, &d->sessions);
    struct vmw_ref vm;
    nph_status st =
        VMW_ON_VM(d, c, inst->uuid, vm, err, power_on_vm(d, c, &vm, "power on VM", err));
    if (st == NPH_OK)
        emit(d, inst, NPH_EVENT_STARTED, NPH_POWER_RUNNING);
    return st;
}

nph_status vmw_suspend(void *drv, const struct nph_instance *inst, nph_error *err)
{
    struct vmw_driver *d = drv;
    VMW_SESSION(c, &d->sessions);
    nph_status st = VM_TASK(d, c, inst, SuspendVM_USCORETask, "suspend VM", err);
    if (st == NPH_OK)
        emit(d, inst, NPH_EVENT_SUSPENDED, NPH_POWER_SUSPENDED);
    return st;
}

nph_status vmw_resume(void *drv, const struct nph_instance *inst, nph_error *err)
{
    struct vmw_driver *d = drv;
    VMW_SESSION(c, &d->sessions);
    struct vmw_ref vm;
    nph_status st = VMW_ON_VM(d, c, inst->uuid, vm, err, power_on_vm(d, c, &vm, "resume VM", err));
    if (st == NPH_OK)
        emit(d, inst, NPH_EVENT_RESUMED, NPH_POWER_RUNNING);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Resize: on the same node only (the VM stays where it is); the new CPUs   */
/* and memory go in with ReconfigVM_Task while it is off.                   */

/* New CPUs and memory for a powered-off VM, then power it on if asked. */
static nph_status reconfigure(struct vmw_driver *d, struct vmw_conn *c, const struct vmw_ref *vm,
                              const struct nph_flavor *f, bool power_on, nph_error *err)
{
    struct vim25__ReconfigVMRequest req = { vmw_mor(c, vm),
                                            vmw_resize_spec(c->soap, f->vcpus, f->memory_mb) };
    if (!req.spec)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    nph_status st = VMW_TASK(c, err, ReconfigVM_USCORETask, &req, "reconfigure VM",
                             TASK_TIMEOUT(d), NULL);
    if (st == NPH_OK && power_on)
        st = power_on_vm(d, c, vm, "power on after resize", err);
    return st;
}

/* Power the VM off unless it is off already. */
static nph_status stop_for_resize(struct vmw_driver *d, struct vmw_conn *c,
                                  const struct nph_instance *inst, const struct vmw_ref *vm,
                                  nph_error *err)
{
    char power[16] = "";
    nph_status st = vmw_power_state(c, vm, power, sizeof(power), err);
    if (st == NPH_OK && strcmp(power, "poweredOff") != 0) {
        st = power_off_vm(d, c, vm, "power off for resize", err);
        if (st == NPH_OK)
            emit(d, inst, NPH_EVENT_STOPPED, NPH_POWER_SHUTDOWN);
    }
    return st;
}

nph_status vmw_migrate_disk_and_power_off(void *drv, const struct nph_instance *inst,
                                          const char *dest_host, const char *dest_node,
                                          const struct nph_flavor *new_flavor, nph_error *err)
{
    struct vmw_driver *d = drv;
    if (!dest_node || !inst->node || strcmp(dest_node, inst->node) != 0)
        return nph_error_set(err, NPH_ERR_NOT_SUPPORTED,
                             "the vmware driver resizes in place only (node %s, asked for %s)",
                             inst->node ? inst->node : "(none)", dest_node ? dest_node : "(none)");
    VMW_SESSION(c, &d->sessions);
    struct vmw_ref vm;
    return VMW_ON_VM(d, c, inst->uuid, vm, err, stop_for_resize(d, c, inst, &vm, err));
}

nph_status vmw_finish_migration(void *drv, const struct nph_instance *inst,
                                const struct nph_flavor *new_flavor, bool power_on,
                                nph_error *err)
{
    struct vmw_driver *d = drv;
    VMW_SESSION(c, &d->sessions);
    struct vmw_ref vm;
    return VMW_ON_VM(d, c, inst->uuid, vm, err, reconfigure(d, c, &vm, new_flavor, power_on, err));
}

nph_status vmw_confirm_migration(void *drv, const struct nph_instance *inst, nph_error *err)
{
    return NPH_OK; /* nothing was kept aside */
}

/* The compute service hands the instance over with its old flavor. */
nph_status vmw_finish_revert_migration(void *drv, const struct nph_instance *inst, bool power_on,
                                       nph_error *err)
{
    struct vmw_driver *d = drv;
    if (!inst->flavor)
        return nph_error_set(err, NPH_ERR_INVALID, "revert of %s without its old flavor",
                             inst->uuid);
    VMW_SESSION(c, &d->sessions);
    struct vmw_ref vm;
    return VMW_ON_VM(d, c, inst->uuid, vm, err, ({
                         nph_status s_ = stop_for_resize(d, c, inst, &vm, err);
                         s_ == NPH_OK ? reconfigure(d, c, &vm, inst->flavor, power_on, err) : s_;
                     }));
}

/* ------------------------------------------------------------------------ */
/* Information.                                                             */

nph_status vmw_get_info(void *drv, const struct nph_instance *inst, struct nph_instance_info *out,
                        nph_error *err)
{
    struct vmw_driver *d = drv;
    VMW_SESSION(c, &d->sessions);
    struct vmw_ref vm;
    struct vm_props p;
    nph_status st = VMW_ON_VM(d, c, inst->uuid, vm, err, vm_props(c, &vm, &p, err));
    if (st != NPH_OK)
        return st;
    out->state = !strcmp(p.power, "poweredOn")    ? NPH_POWER_RUNNING
                 : !strcmp(p.power, "suspended")  ? NPH_POWER_SUSPENDED
                 : !strcmp(p.power, "poweredOff") ? NPH_POWER_SHUTDOWN
                                                  : NPH_POWER_NOSTATE;
    out->num_cpu = (uint32_t)p.cpus;
    out->max_mem_kb = out->mem_kb = (uint64_t)p.memory_mb * 1024;
    out->cpu_time_ns = 0; /* vSphere reports usage in MHz, not time */
    return NPH_OK;
}

/* What list_instances reads: the node's hosts and every VM of ours. */
struct list_ctx {
    const struct vmw_node *node;   /* NULL: every node */
    struct vmw_ref hosts[256];
    size_t n_hosts;
    struct listed_vm { char uuid[40]; char host[VMW_ID_MAX]; } *vms;
    size_t n_vms;
};

static nph_status list_one(void *opaque, const struct vim25__ObjectContent *oc, nph_error *err)
{
    struct list_ctx *l = opaque;
    struct vmw_ref ref, other;
    if (!vmw_ref_set(&ref, oc->obj))
        return NPH_OK;
    if (!strcmp(ref.type, "HostSystem")) {
        if (l->node && l->n_hosts < 256 && vmw_val_ref(vmw_prop(oc, "parent"), &other) &&
            !strcmp(other.id, l->node->compute.id))
            l->hosts[l->n_hosts++] = ref;
        return NPH_OK;
    }
    /* Ours: named after their instance UUID (see vmw_spawn_spec). */
    const char *uuid = vmw_text(vmw_prop(oc, "config.instanceUuid"));
    if (!*uuid || strlen(uuid) >= 40 || strcmp(uuid, vmw_text(vmw_prop(oc, "name"))) != 0)
        return NPH_OK;
    struct listed_vm *grown = realloc(l->vms, (l->n_vms + 1) * sizeof(*grown));
    if (!grown)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory listing VMs");
    l->vms = grown;
    struct listed_vm *v = &l->vms[l->n_vms++];
    snprintf(v->uuid, sizeof(v->uuid), "%s", uuid);
    v->host[0] = '\0';
    if (vmw_val_ref(vmw_prop(oc, "runtime.host"), &other))
        snprintf(v->host, sizeof(v->host), "%s", other.id);
    return NPH_OK;
}

static bool on_node(const struct list_ctx *l, const struct listed_vm *v)
{
    for (size_t i = 0; i < l->n_hosts; i++)
        if (!strcmp(l->hosts[i].id, v->host))
            return true;
    return !l->node;
}

nph_status vmw_list_instances(void *drv, const char *node, nph_instance_cb cb, void *opaque,
                              nph_error *err)
{
    struct vmw_driver *d = drv;
    struct vmw_node n;
    struct list_ctx l = { 0 };
    if (node) {
        nph_status st = vmw_node_get(d, node, &n, err);
        if (st != NPH_OK)
            return st;
        l.node = &n;
    }
    static const char *const host[] = { "parent" };
    static const char *const vm[] = { "name", "config.instanceUuid", "runtime.host" };
    const struct vmw_propset sets[] = { { "HostSystem", host, 1 }, { "VirtualMachine", vm, 3 } };
    nph_status st;
    {
        VMW_SESSION(c, &d->sessions);
        st = vmw_retrieve_all(c, sets, 2, d->opt.page_size, list_one, &l, err);
    }
    /* With the session given back: the callback may call back into the driver. */
    for (size_t i = 0; st == NPH_OK && i < l.n_vms; i++)
        if (on_node(&l, &l.vms[i]))
            cb(opaque, l.vms[i].uuid);
    free(l.vms);
    return st;
}

/* vSphere consoles are MKS (WebMKS) tickets; VNC is not served by ESXi 7+. */
nph_status vmw_get_console(void *drv, const struct nph_instance *inst, nph_console_type type,
                           struct nph_console *out, nph_error *err)
{
    struct vmw_driver *d = drv;
    if (type != NPH_CONSOLE_MKS)
        return nph_error_set(err, NPH_ERR_NOT_SUPPORTED,
                             "the vmware driver offers MKS consoles only");
    VMW_SESSION(c, &d->sessions);
    struct vmw_ref vm;
    nph_status st = vmw_find_vm(d, c, inst->uuid, &vm, err);
    if (st != NPH_OK)
        return st;
    struct vim25__AcquireTicketRequest req = { vmw_mor(c, &vm), "webmks" };
    struct vim25__AcquireTicketResponse resp;
    st = VMW_CALL(c, err, AcquireTicket, &req, &resp);
    if (st != NPH_OK)
        return st;
    const struct vim25__VirtualMachineTicket *t = resp.returnval;
    if (!t || !t->ticket)
        return nph_error_set(err, NPH_ERR_BACKEND, "AcquireTicket returned no ticket");
    snprintf(out->host, sizeof(out->host), "%s", t->host ? t->host : "");
    out->port = t->port ? *t->port : 443;
    snprintf(out->internal_access_path, sizeof(out->internal_access_path), "/ticket/%s",
             t->ticket);
    return NPH_OK;
}
