/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt driver's lifecycle and inventory: one node, the hypervisor
 * host, described from virNodeGetInfo and the capabilities XML. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "error.h"
#include "lv.h"

/* mkdir -p */
static nph_status make_dirs(const char *path, nph_error *err)
{
    char buf[LV_PATH];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p)
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return nph_error_set(err, NPH_ERR_IO, "cannot create '%s': %s", buf, strerror(errno));
        *p = c;
        if (!c)
            return NPH_OK;
    }
}

/* The driver's memory, once its connection and threads are stopped. */
static void lv_free(struct lv_driver *d)
{
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->cache_lock);
    pthread_mutex_destroy(&d->watch_lock);
    pthread_cond_destroy(&d->watch_wake);
    free(d->cpu_info);
    free(d);
}

static nph_status lv_init_host(const struct nph_host_services *svc, nph_host *host, void **drv,
                               nph_error *err)
{
    struct lv_driver *d = calloc(1, sizeof(*d));
    if (!d)
        return svc->error(err, NPH_ERR_NO_MEMORY, "out of memory");
    d->svc = svc;
    d->host = host;
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->cache_lock, NULL);
    pthread_mutex_init(&d->watch_lock, NULL);
    pthread_cond_init(&d->watch_wake, NULL);
    nph_status st = lv_read_options(svc, host, &d->cfg, err);
    if (st == NPH_OK)
        st = make_dirs(d->cfg.instances_path, err);
    if (st == NPH_OK)
        st = lv_conn_start(d, err);
    if (st == NPH_OK && strcmp(d->cfg.virt_type, "auto") == 0) {
        st = lv_probe_virt_type(d, err);
        if (st != NPH_OK)
            lv_conn_stop(d);
    }
    if (st != NPH_OK) {
        lv_free(d);
        return st;
    }
    char *hostname = d->cfg.node_name[0] ? NULL : virConnectGetHostname(d->conn);
    snprintf(d->node, sizeof(d->node), "%s",
             d->cfg.node_name[0] ? d->cfg.node_name : hostname ? hostname : svc->host_name(host));
    free(hostname);
    virResetLastError();
    svc->log(host, NPH_LOG_INFO, "libvirt driver on %s (virt_type %s), node %s, instances in %s",
             d->cfg.uri, d->cfg.virt_type, d->node, d->cfg.instances_path);
    *drv = d;
    return NPH_OK;
}

static void lv_cleanup(void *drv)
{
    struct lv_driver *d = drv;
    lv_conn_stop(d);
    lv_free(d);
}

static nph_status lv_list_nodes(void *drv, nph_node_cb cb, void *opaque, nph_error *err)
{
    struct lv_driver *d = drv;
    cb(opaque, d->node);
    return NPH_OK;
}

/* vCPUs and memory (MiB) the host's running domains use. */
static void usage(virConnectPtr conn, uint32_t *vcpus, uint64_t *memory_mb)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    for (int i = 0; i < n; i++) {
        virDomainInfo info;
        if (virDomainGetInfo(doms[i], &info) == 0) {
            *vcpus += info.nrVirtCpu;
            *memory_mb += info.maxMem / 1024;
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    virResetLastError();
}

/* cpu_info as Nova's libvirt driver reports it, from the capabilities. */
static char *cpu_info_json(const char *caps, const virNodeInfo *ni)
{
    char arch[32], model[64], vendor[64];
    lv_xml_query(caps, "string(/capabilities/host/cpu/arch)", arch, sizeof(arch));
    lv_xml_query(caps, "string(/capabilities/host/cpu/model)", model, sizeof(model));
    lv_xml_query(caps, "string(/capabilities/host/cpu/vendor)", vendor, sizeof(vendor));
    nph_buffer out = NPH_BUFFER_INIT;
    nph_buffer_appendf(&out,
                       "{\"arch\": \"%s\", \"model\": \"%s\", \"vendor\": \"%s\", "
                       "\"topology\": {\"sockets\": %u, \"cores\": %u, \"threads\": %u}, "
                       "\"features\": [",
                       arch, model, vendor, ni->sockets * ni->nodes, ni->cores, ni->threads);
    char name[64];
    for (int i = 1; i <= 256; i++) {
        char xpath[96];
        snprintf(xpath, sizeof(xpath), "string(/capabilities/host/cpu/feature[%d]/@name)", i);
        lv_xml_query(caps, xpath, name, sizeof(name));
        if (!name[0] || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(name))
            break;
        nph_buffer_appendf(&out, "%s\"%s\"", i > 1 ? ", " : "", name);
    }
    nph_buffer_appendf(&out, "]}");
    return nph_buffer_steal(&out);
}

static nph_status lv_node_resources(void *drv, const char *node, struct nph_node_resources *out,
                                    nph_error *err)
{
    struct lv_driver *d = drv;
    if (!node || strcmp(node, d->node) != 0)
        return d->svc->error(err, NPH_ERR_NOT_FOUND, "driver '%s' has no node '%s'",
                             d->svc->instance_name(d->host), node ? node : "(none)");
    lv_auto_conn conn = lv_conn_get(d, err);
    if (!conn)
        return err ? err->code : NPH_ERR_BACKEND;
    virNodeInfo ni;
    char *caps = virConnectGetCapabilities(conn);
    if (virNodeGetInfo(conn, &ni) < 0 || !caps) {
        free(caps);
        return lv_error(d, err, NPH_ERR_BACKEND, "cannot read the host's information", NULL);
    }
    unsigned long version = 0;
    if (virConnectGetVersion(conn, &version) < 0)
        virResetLastError();
    pthread_mutex_lock(&d->lock);
    free(d->cpu_info);
    d->cpu_info = cpu_info_json(caps, &ni);
    lv_xml_query(caps, "string(/capabilities/host/cpu/arch)", d->arch, sizeof(d->arch));
    out->cpu_info = d->cpu_info;
    out->cpu_arch = d->arch;
    pthread_mutex_unlock(&d->lock);
    free(caps);
    out->hypervisor_type = "QEMU";
    out->hypervisor_version = version;
    out->hypervisor_hostname = d->node;
    out->vcpus = ni.cpus;
    out->memory_mb = ni.memory / 1024;
    usage(conn, &out->vcpus_used, &out->memory_mb_used);
    struct statvfs fs;
    if (statvfs(d->cfg.instances_path, &fs) == 0) {
        out->local_gb = (uint64_t)fs.f_blocks * fs.f_frsize >> 30;
        out->local_gb_used = (uint64_t)(fs.f_blocks - fs.f_bavail) * fs.f_frsize >> 30;
    }
    return NPH_OK;
}

static void lv_capabilities(void *drv, struct nph_driver_capabilities *out)
{
    struct lv_driver *d = drv;
    out->flags = NPH_CAP_SNAPSHOT | NPH_CAP_ATTACH_VOLUME | NPH_CAP_RESIZE |
                 NPH_CAP_MIGRATE_TO_SAME_HOST | (d->cfg.vnc ? NPH_CAP_CONSOLE_VNC : 0) |
                 (d->cfg.spice ? NPH_CAP_CONSOLE_SPICE : 0);
    out->image_formats = NPH_IMAGE_QCOW2 | NPH_IMAGE_RAW | NPH_IMAGE_ISO | NPH_IMAGE_AMI |
                         NPH_IMAGE_AKI | NPH_IMAGE_ARI;
    out->hypervisor_type = "QEMU";
}

const struct nph_driver_ops lv_ops = {
    .init_host = lv_init_host,
    .cleanup = lv_cleanup,
    .list_nodes = lv_list_nodes,
    .node_resources = lv_node_resources,
    .capabilities = lv_capabilities,
    .spawn = lv_spawn,
    .destroy = lv_destroy,
    .reboot = lv_reboot,
    .power_off = lv_power_off,
    .power_on = lv_power_on,
    .pause = lv_pause,
    .unpause = lv_unpause,
    .suspend = lv_suspend,
    .resume = lv_resume,
    .snapshot = lv_snapshot,
    .migrate_disk_and_power_off = lv_migrate_disk_and_power_off,
    .finish_migration = lv_finish_migration,
    .confirm_migration = lv_confirm_migration,
    .finish_revert_migration = lv_finish_revert_migration,
    .attach_volume = lv_attach_volume,
    .detach_volume = lv_detach_volume,
    .get_info = lv_get_info,
    .list_instances = lv_list_instances,
    .get_console_output = lv_get_console_output,
    .get_console = lv_get_console,
};

const struct nph_driver_descriptor nph_libvirt_descriptor = {
    NPH_DRIVER_ABI_INIT,
    .name = "libvirt",
    .version = PACKAGE_VERSION,
    .description = "KVM/QEMU guests through libvirt",
    .ops = &lv_ops,
    .options = lv_options,
};
