/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The vmware driver's vtable: connect and log in, nodes and their resources,
 * capabilities, and the guest operations of vmw-ops.c and vmw-spawn.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmw-ops.h"

static void vmw_cleanup(void *drv);

static nph_status vmw_init_host(const struct nph_host_services *svc, nph_host *host, void **drv,
                                nph_error *err)
{
    struct vmw_driver *d = calloc(1, sizeof(*d));
    if (!d)
        return svc->error(err, NPH_ERR_NO_MEMORY, "out of memory");
    d->svc = svc;
    d->host = host;
    nph_status st = vmw_read_options(d, err);
    struct vmw_conn_options co = { d->opt.url, d->opt.user, d->opt.password, d->opt.insecure,
                                   d->opt.ca_file, d->opt.api_version, d->opt.timeout_s };
    size_t opened = 0;
    nph_error why = NPH_ERROR_INIT;
    if (st == NPH_OK)
        st = vmw_pool_open(&d->sessions, &co, (size_t)d->opt.pool_size, &opened, err, &why);
    if (st != NPH_OK) {
        free(d);
        return st;
    }
    if (opened < (size_t)d->opt.pool_size)
        svc->log(host, NPH_LOG_WARNING, "%zu of %d sessions: %s", opened, d->opt.pool_size,
                 why.message);
    pthread_mutex_init(&d->nodes_lock, NULL);
    pthread_mutex_init(&d->images_lock, NULL);
    pthread_mutex_init(&d->vms_lock, NULL);
    st = vmw_nodes_refresh(d, err);
    if (st != NPH_OK) {
        vmw_cleanup(d);
        return st;
    }
    const struct vmw_conn *c = &d->sessions.conns[0];
    svc->log(host, NPH_LOG_INFO, "connected to %s (%s, API %s) as %s: %zu node(s), %zu session(s)",
             d->opt.url, c->full_name, c->api_version, d->opt.user, d->n_nodes, opened);
    *drv = d;
    return NPH_OK;
}

static void vmw_cleanup(void *drv)
{
    struct vmw_driver *d = drv;
    vmw_pool_close(&d->sessions);
    vmw_nodes_free(d);
    free(d->images);
    free(d->vms);
    pthread_mutex_destroy(&d->nodes_lock);
    pthread_mutex_destroy(&d->images_lock);
    pthread_mutex_destroy(&d->vms_lock);
    free(d);
}

static nph_status vmw_list_nodes(void *drv, nph_node_cb cb, void *opaque, nph_error *err)
{
    struct vmw_driver *d = drv;
    nph_status st = vmw_nodes_refresh(d, err);
    if (st != NPH_OK)
        return st;
    /* Copy the names: the callback may call node_resources, which may
     * replace the table. */
    pthread_mutex_lock(&d->nodes_lock);
    size_t n = d->n_nodes;
    char(*names)[VMW_NAME_MAX] = calloc(n + 1, sizeof(*names));
    for (size_t i = 0; names && i < n; i++)
        memcpy(names[i], d->nodes[i].name, VMW_NAME_MAX);
    pthread_mutex_unlock(&d->nodes_lock);
    if (!names)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++)
        cb(opaque, names[i]);
    free(names);
    return NPH_OK;
}

/* Strings handed out stay valid until the next call (the ABI rule). */
static __thread char tls_cpu_info[512];
static __thread char tls_hostname[VMW_NAME_MAX];

static nph_status vmw_node_resources(void *drv, const char *node, struct nph_node_resources *out,
                                     nph_error *err)
{
    struct vmw_driver *d = drv;
    struct vmw_node n;
    nph_status st = vmw_node_get(d, node, &n, err);
    if (st != NPH_OK)
        return st;
    unsigned maj = 0, min = 0, mic = 0;
    sscanf(n.version, "%u.%u.%u", &maj, &min, &mic);
    out->hypervisor_type = "VMware vCenter Server";
    out->hypervisor_version = (uint64_t)maj * 1000000 + min * 1000 + mic;
    snprintf(tls_hostname, sizeof(tls_hostname), "%s", n.name);
    out->hypervisor_hostname = tls_hostname;
    out->cpu_arch = "x86_64";
    out->vcpus = n.vcpus;
    /* vSphere reports CPU use in MHz: as threads' worth, rounded up. */
    out->vcpus_used = n.cpu_mhz_per_thread
                          ? (n.cpu_mhz_used + n.cpu_mhz_per_thread - 1) / n.cpu_mhz_per_thread
                          : 0;
    out->memory_mb = n.memory_mb;
    out->memory_mb_used = n.memory_mb_used;
    out->local_gb = n.disk_gb;
    out->local_gb_used = n.disk_gb - n.disk_gb_free;
    snprintf(tls_cpu_info, sizeof(tls_cpu_info),
             "{\"arch\": \"x86_64\", \"model\": \"%s\", \"vendor\": \"VMware\", "
             "\"topology\": {\"sockets\": %u, \"cores\": %u, \"threads\": 1}, \"features\": []}",
             n.cpu_model, n.hosts, n.hosts ? n.vcpus / n.hosts : 0);
    out->cpu_info = tls_cpu_info;
    return NPH_OK;
}

static void vmw_capabilities(void *drv, struct nph_driver_capabilities *out)
{
    out->flags = NPH_CAP_SNAPSHOT | NPH_CAP_RESIZE | NPH_CAP_MIGRATE_TO_SAME_HOST |
                 NPH_CAP_ATTACH_INTERFACE | NPH_CAP_CONSOLE_MKS;
    out->image_formats = NPH_IMAGE_VMDK | NPH_IMAGE_ISO;
    out->hypervisor_type = "VMware vCenter Server";
}

static const struct nph_driver_ops vmw_ops = {
    .init_host = vmw_init_host,
    .cleanup = vmw_cleanup,
    .list_nodes = vmw_list_nodes,
    .node_resources = vmw_node_resources,
    .capabilities = vmw_capabilities,
    .spawn = vmw_spawn,
    .destroy = vmw_destroy,
    .reboot = vmw_reboot,
    .power_off = vmw_power_off,
    .power_on = vmw_power_on,
    .suspend = vmw_suspend,
    .resume = vmw_resume,
    .snapshot = vmw_snapshot,
    .migrate_disk_and_power_off = vmw_migrate_disk_and_power_off,
    .finish_migration = vmw_finish_migration,
    .confirm_migration = vmw_confirm_migration,
    .finish_revert_migration = vmw_finish_revert_migration,
    .get_info = vmw_get_info,
    .list_instances = vmw_list_instances,
    .get_console = vmw_get_console,
    .attach_interface = vmw_attach_interface,
    .detach_interface = vmw_detach_interface,
};

const struct nph_driver_descriptor nph_vmware_descriptor = {
    NPH_DRIVER_ABI_INIT,
    .name = "vmware",
    .version = PACKAGE_VERSION,
    .description = "VMware vSphere (vCenter or ESXi) over the vim25 SOAP API",
    .ops = &vmw_ops,
    .options = vmw_option_table,
};
