/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Spawn, destroy, the power operations and what a guest looks like now. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "lv.h"

void lv_instance_dir(const struct lv_driver *d, const char *uuid, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", d->cfg.instances_path, uuid);
}

/* Define and start the domain from its XML; on failure nothing is left.
 * *defined is when the definition was written (libvirtd saves it to disk:
 * what keeps the guest across libvirtd and host restarts, as Nova's). */
static nph_status define_and_start(struct lv_driver *d, const char *uuid, const char *xml,
                                   uint64_t *defined, nph_error *err)
{
    lv_auto_conn conn = lv_conn_get(d, err);
    if (!conn)
        return err ? err->code : NPH_ERR_BACKEND;
    lv_auto_dom dom = virDomainDefineXML(conn, xml);
    *defined = nph_clock_monotonic_ns();
    if (!dom)
        return lv_error(d, err, NPH_ERR_BACKEND, "cannot define the domain", uuid);
    if (virDomainCreate(dom) == 0)
        return NPH_OK;
    nph_status st = lv_error(d, err, NPH_ERR_BACKEND, "cannot start the domain", uuid);
    virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE);
    virResetLastError();
    return st;
}

nph_status lv_spawn(void *drv, const struct nph_instance *inst, const struct nph_spawn_args *args,
                    nph_error *err)
{
    struct lv_driver *d = drv;
    struct lv_plan *plan = calloc(1, sizeof(*plan));
    if (!plan)
        return d->svc->error(err, NPH_ERR_NO_MEMORY, "out of memory");
    nph_auto_buffer xml = NPH_BUFFER_INIT;
    virDomainPtr existing = NULL;
    nph_status st = lv_plan_make(&d->cfg, inst, plan, err);
    if (st == NPH_OK)
        st = lv_domain_xml(&d->cfg, inst, inst->flavor, plan, &xml, err);
    if (st == NPH_OK && lv_domain_get(d, inst->uuid, &existing, NULL) == NPH_OK)
        st = d->svc->error(err, NPH_ERR_CONFLICT, "instance %s already has a domain", inst->uuid);
    if (existing)
        virDomainFree(existing);
    uint64_t t0 = nph_clock_monotonic_ns();
    if (st == NPH_OK)
        st = lv_disk_create(d, plan, err);
    uint64_t t1 = nph_clock_monotonic_ns(), t2 = t1;
    if (st == NPH_OK) {
        /* Ours to create: libvirt relabels it for QEMU and appends to it. */
        FILE *log = fopen(plan->console_log, "a");
        if (log)
            fclose(log);
        st = define_and_start(d, inst->uuid, nph_buffer_str(&xml), &t2, err);
        if (st != NPH_OK)
            lv_remove_tree(plan->dir);
    }
    if (st == NPH_OK)
        d->svc->log(d->host, NPH_LOG_INFO, "instance %s started (%s, image %s): disks %.4f s, "
                    "define %.4f s, start %.4f s", inst->uuid, d->cfg.virt_type, plan->image_id,
                    (double)(t1 - t0) / 1e9, (double)(t2 - t1) / 1e9,
                    (double)(nph_clock_monotonic_ns() - t2) / 1e9);
    free(plan);
    return st;
}

/* Undefine with everything libvirt keeps beside the definition; a driver
 * that does not know a flag (test:///) is asked with fewer. */
static int undefine(virDomainPtr dom)
{
    unsigned flags = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
    if (virDomainUndefineFlags(dom, flags | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA |
                                        VIR_DOMAIN_UNDEFINE_NVRAM) == 0)
        return 0;
    virResetLastError();
    return virDomainUndefineFlags(dom, flags);
}

nph_status lv_destroy(void *drv, const struct nph_instance *inst, bool destroy_disks,
                      nph_error *err)
{
    struct lv_driver *d = drv;
    virDomainPtr dom = NULL;
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    if (st == NPH_ERR_NOT_FOUND)
        st = NPH_OK; /* already gone */
    if (dom) {
        if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0)
            st = lv_error(d, err, NPH_ERR_BACKEND, "cannot stop the domain", inst->uuid);
        if (st == NPH_OK && undefine(dom) < 0)
            st = lv_error(d, err, NPH_ERR_BACKEND, "cannot undefine the domain", inst->uuid);
        virDomainFree(dom);
    }
    if (st == NPH_OK && destroy_disks) {
        char dir[LV_PATH];
        lv_instance_dir(d, inst->uuid, dir, sizeof(dir));
        lv_remove_tree(dir);
    }
    return st;
}

/* Wait up to timeout_ms for the domain to stop running. */
static bool wait_inactive(virDomainPtr dom, int timeout_ms)
{
    uint64_t until = nph_clock_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
    do {
        if (virDomainIsActive(dom) == 0)
            return true;
        nph_clock_sleep_ms(50);
    } while (nph_clock_monotonic_ns() < until);
    return virDomainIsActive(dom) == 0;
}

nph_status lv_shutdown(struct lv_driver *d, virDomainPtr dom, const char *uuid, int timeout_s,
                       nph_error *err)
{
    if (virDomainIsActive(dom) != 1)
        return NPH_OK;
    if (timeout_s > 0 && virDomainShutdown(dom) == 0 && wait_inactive(dom, timeout_s * 1000))
        return NPH_OK;
    virResetLastError();
    if (timeout_s > 0)
        d->svc->log(d->host, NPH_LOG_WARNING,
                    "instance %s did not shut down within %d s: powering it off", uuid, timeout_s);
    if (virDomainDestroy(dom) < 0 && virDomainIsActive(dom) == 1)
        return lv_error(d, err, NPH_ERR_BACKEND, "cannot power off", uuid);
    virResetLastError();
    return NPH_OK;
}

/* Start a stopped domain from scratch: a saved state is thrown away. */
static nph_status cold_start(struct lv_driver *d, virDomainPtr dom, const char *uuid,
                             nph_error *err)
{
    if (virDomainHasManagedSaveImage(dom, 0) == 1)
        virDomainManagedSaveRemove(dom, 0);
    if (virDomainCreate(dom) < 0)
        return lv_error(d, err, NPH_ERR_BACKEND, "cannot start", uuid);
    return NPH_OK;
}

nph_status lv_reboot(void *drv, const struct nph_instance *inst, nph_reboot_type type,
                     nph_error *err)
{
    struct lv_driver *d = drv;
    lv_auto_dom dom = NULL;
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    if (st != NPH_OK)
        return st;
    bool running = lv_domain_running(dom);
    /* Soft: the guest sees the ACPI power button and shuts down; it falls
     * back to a power cycle after soft_reboot_timeout_s.  A guest that is not
     * running has nobody to ask. */
    int timeout = type == NPH_REBOOT_SOFT && running ? d->cfg.soft_reboot_timeout_s : 0;
    st = lv_shutdown(d, dom, inst->uuid, timeout, err);
    return st == NPH_OK ? cold_start(d, dom, inst->uuid, err) : st;
}

nph_status lv_power_off(void *drv, const struct nph_instance *inst, int timeout_s, nph_error *err)
{
    struct lv_driver *d = drv;
    lv_auto_dom dom = NULL;
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    if (st != NPH_OK)
        return st;
    if (!lv_domain_running(dom))
        timeout_s = 0; /* a paused guest cannot answer the power button */
    return lv_shutdown(d, dom, inst->uuid, timeout_s, err);
}

nph_status lv_power_on(void *drv, const struct nph_instance *inst, nph_error *err)
{
    struct lv_driver *d = drv;
    lv_auto_dom dom = NULL;
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    if (st != NPH_OK || virDomainIsActive(dom) == 1)
        return st;
    return cold_start(d, dom, inst->uuid, err);
}

/* One libvirt call on the guest's domain. */
static nph_status simple(struct lv_driver *d, const struct nph_instance *inst,
                         int (*call)(virDomainPtr), const char *what, nph_error *err)
{
    lv_auto_dom dom = NULL;
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    if (st == NPH_OK && call(dom) < 0)
        st = lv_error(d, err, NPH_ERR_BACKEND, what, inst->uuid);
    return st;
}

nph_status lv_pause(void *drv, const struct nph_instance *inst, nph_error *err)
{
    return simple(drv, inst, virDomainSuspend, "cannot pause", err);
}

nph_status lv_unpause(void *drv, const struct nph_instance *inst, nph_error *err)
{
    return simple(drv, inst, virDomainResume, "cannot unpause", err);
}

static int managed_save(virDomainPtr dom)
{
    return virDomainManagedSave(dom, 0);
}

nph_status lv_suspend(void *drv, const struct nph_instance *inst, nph_error *err)
{
    return simple(drv, inst, managed_save, "cannot suspend", err);
}

/* virDomainCreate restores the managed save image. */
static int restore(virDomainPtr dom)
{
    if (virDomainHasManagedSaveImage(dom, 0) != 1) {
        virResetLastError();
        return -2;
    }
    return virDomainCreate(dom);
}

nph_status lv_resume(void *drv, const struct nph_instance *inst, nph_error *err)
{
    struct lv_driver *d = drv;
    lv_auto_dom dom = NULL;
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    if (st != NPH_OK)
        return st;
    int rc = restore(dom);
    if (rc == -2)
        return d->svc->error(err, NPH_ERR_CONFLICT, "instance %s is not suspended", inst->uuid);
    return rc < 0 ? lv_error(d, err, NPH_ERR_BACKEND, "cannot resume", inst->uuid) : NPH_OK;
}

nph_power_state lv_power_state(virDomainPtr dom, int state)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
        return NPH_POWER_RUNNING;
    case VIR_DOMAIN_PAUSED:
        return NPH_POWER_PAUSED;
    case VIR_DOMAIN_SHUTDOWN: /* on its way down */
    case VIR_DOMAIN_SHUTOFF: {
        int saved = virDomainHasManagedSaveImage(dom, 0);
        virResetLastError();
        return saved == 1 ? NPH_POWER_SUSPENDED : NPH_POWER_SHUTDOWN;
    }
    case VIR_DOMAIN_CRASHED:
        return NPH_POWER_CRASHED;
    case VIR_DOMAIN_PMSUSPENDED:
        return NPH_POWER_SUSPENDED;
    default:
        return NPH_POWER_NOSTATE;
    }
}

nph_status lv_get_info(void *drv, const struct nph_instance *inst, struct nph_instance_info *out,
                       nph_error *err)
{
    struct lv_driver *d = drv;
    lv_auto_dom dom = NULL;
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    if (st != NPH_OK)
        return st;
    virDomainInfo info;
    if (virDomainGetInfo(dom, &info) < 0)
        return lv_error(d, err, NPH_ERR_BACKEND, "cannot read the state", inst->uuid);
    out->state = lv_power_state(dom, info.state);
    out->max_mem_kb = info.maxMem;
    out->mem_kb = info.memory;
    out->num_cpu = info.nrVirtCpu;
    out->cpu_time_ns = info.cpuTime;
    return NPH_OK;
}

nph_status lv_list_instances(void *drv, const char *node, nph_instance_cb cb, void *opaque,
                             nph_error *err)
{
    struct lv_driver *d = drv;
    if (node && strcmp(node, d->node) != 0)
        return d->svc->error(err, NPH_ERR_NOT_FOUND, "driver '%s' has no node '%s'",
                             d->svc->instance_name(d->host), node);
    lv_auto_conn conn = lv_conn_get(d, err);
    if (!conn)
        return err ? err->code : NPH_ERR_BACKEND;
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, 0);
    if (n < 0)
        return lv_error(d, err, NPH_ERR_BACKEND, "cannot list domains", NULL);
    char uuid[VIR_UUID_STRING_BUFLEN];
    for (int i = 0; i < n; i++) {
        const char *name = virDomainGetName(doms[i]);
        if (name && strncmp(name, LV_NAME_PREFIX, strlen(LV_NAME_PREFIX)) == 0 &&
            virDomainGetUUIDString(doms[i], uuid) == 0)
            cb(opaque, uuid);
        virDomainFree(doms[i]);
    }
    free(doms);
    return NPH_OK;
}
