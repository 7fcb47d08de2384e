/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A vendor driver built out of tree against an installed Nephele, with
 * nothing but `pkg-config --cflags nephele-driver`: it links no Nephele
 * library and asks the host for everything through nph_host_services.
 *
 * It manages one node and up to 64 guests that only exist in its memory;
 * the operations it leaves NULL are reported "not supported" by the host.
 */
#include <nephele/virt-driver.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ACME_MAX_GUESTS 64

struct acme {
    const struct nph_host_services *svc;
    nph_host *host;
    pthread_mutex_t lock;
    char guests[ACME_MAX_GUESTS][37];
    int64_t cores;
};

static nph_status acme_init_host(const struct nph_host_services *svc, nph_host *host, void **drv,
                                 nph_error *err)
{
    if (svc->abi_major != NPH_DRIVER_ABI_MAJOR || svc->size < sizeof(struct nph_host_services))
        return NPH_ERR_NOT_SUPPORTED;
    struct acme *a = calloc(1, sizeof(*a));
    if (!a)
        return svc->error(err, NPH_ERR_NO_MEMORY, "out of memory");
    a->svc = svc;
    a->host = host;
    a->cores = svc->option_int(host, "cores");
    pthread_mutex_init(&a->lock, NULL);
    svc->log(host, NPH_LOG_INFO, "ACME hypervisor ready with %lld cores: %s", (long long)a->cores,
             svc->option_string(host, "greeting"));
    *drv = a;
    return NPH_OK;
}

static void acme_cleanup(void *drv)
{
    struct acme *a = drv;
    pthread_mutex_destroy(&a->lock);
    free(a);
}

static nph_status acme_list_nodes(void *drv, nph_node_cb cb, void *opaque, nph_error *err)
{
    cb(opaque, "acme-node");
    return NPH_OK;
}

static nph_status acme_node_resources(void *drv, const char *node, struct nph_node_resources *out,
                                      nph_error *err)
{
    struct acme *a = drv;
    if (strcmp(node, "acme-node") != 0)
        return a->svc->error(err, NPH_ERR_NOT_FOUND, "no node '%s'", node);
    out->hypervisor_type = "acme";
    out->hypervisor_hostname = "acme-node";
    out->vcpus = (uint32_t)a->cores;
    out->memory_mb = 4096;
    out->local_gb = 100;
    return NPH_OK;
}

static void acme_capabilities(void *drv, struct nph_driver_capabilities *out)
{
    out->image_formats = NPH_IMAGE_RAW;
    out->hypervisor_type = "acme";
}

/* Index of the guest, or of a free slot when `free_slot`; -1 when none. */
static int find(struct acme *a, const char *uuid, int free_slot)
{
    for (int i = 0; i < ACME_MAX_GUESTS; i++)
        if (strcmp(a->guests[i], free_slot ? "" : uuid) == 0)
            return i;
    return -1;
}

static nph_status acme_spawn(void *drv, const struct nph_instance *inst,
                             const struct nph_spawn_args *args, nph_error *err)
{
    struct acme *a = drv;
    pthread_mutex_lock(&a->lock);
    int slot = find(a, inst->uuid, 0) >= 0 ? -2 : find(a, NULL, 1);
    if (slot >= 0)
        memcpy(a->guests[slot], inst->uuid, 36);
    pthread_mutex_unlock(&a->lock);
    if (slot == -2)
        return a->svc->error(err, NPH_ERR_CONFLICT, "guest %s exists", inst->uuid);
    if (slot < 0)
        return a->svc->error(err, NPH_ERR_BACKEND, "the ACME box is full");
    return NPH_OK;
}

static nph_status acme_get_info(void *drv, const struct nph_instance *inst,
                                struct nph_instance_info *out, nph_error *err)
{
    struct acme *a = drv;
    pthread_mutex_lock(&a->lock);
    int slot = find(a, inst->uuid, 0);
    pthread_mutex_unlock(&a->lock);
    if (slot < 0)
        return a->svc->error(err, NPH_ERR_NOT_FOUND, "no guest %s", inst->uuid);
    out->state = NPH_POWER_RUNNING;
    return NPH_OK;
}

static const struct nph_driver_ops acme_ops = {
    .init_host = acme_init_host,
    .cleanup = acme_cleanup,
    .list_nodes = acme_list_nodes,
    .node_resources = acme_node_resources,
    .capabilities = acme_capabilities,
    .spawn = acme_spawn,
    .get_info = acme_get_info,
};

static const struct nph_driver_option acme_options[] = {
    { "cores", NPH_OPT_INT, "8", 1, 4096, "cores of the ACME box" },
    { "greeting", NPH_OPT_STRING, "hello", 0, 0, "logged at start" },
    { NULL, 0, NULL, 0, 0, NULL },
};

static const struct nph_driver_descriptor acme_descriptor = {
    NPH_DRIVER_ABI_INIT,
    .name = "acme",
    .version = "1.2.3",
    .description = "ACME Corp. hypervisor (out-of-tree sample)",
    .ops = &acme_ops,
    .options = acme_options,
};

NPH_DRIVER_EXPORT(acme)
{
    return &acme_descriptor;
}
