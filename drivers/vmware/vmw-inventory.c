/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Nodes: every cluster and standalone host (a ComputeResource) is one node.
 * One PropertyCollector read through a ContainerView fetches datacenters,
 * compute resources, hosts (hardware and usage summaries), datastores and
 * networks; the node table is rebuilt from it. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "vmw-driver.h"

#define MAX_REFS 64 /* datastores, hosts or networks of one compute resource */

struct raw_dc {
    struct vmw_ref ref, vm_folder, host_folder;
    char name[VMW_NAME_MAX];
};
struct raw_cr {
    struct vmw_ref ref, parent, pool;
    char name[VMW_NAME_MAX];
    struct vmw_ref datastores[MAX_REFS], networks[MAX_REFS];
    size_t n_datastores, n_networks;
};
struct raw_host {
    struct vmw_ref ref, parent;
    uint32_t threads, mhz, cpu_used_mhz;
    uint64_t memory_bytes, memory_used_mb;
    char cpu_model[128], version[32];
};
struct raw_ds {
    struct vmw_ref ref;
    char name[VMW_NAME_MAX];
    uint64_t capacity, free;
    bool accessible;
};
struct raw_net {
    struct vmw_ref ref;
    char name[VMW_NAME_MAX];
};

/* What one read returned; arrays grow as objects arrive. */
struct raw {
    struct raw_dc *dcs;
    struct raw_cr *crs;
    struct raw_host *hosts;
    struct raw_ds *dss;
    struct raw_net *nets;
    size_t n_dcs, n_crs, n_hosts, n_dss, n_nets;
};

static void raw_free(struct raw *r)
{
    free(r->dcs);
    free(r->crs);
    free(r->hosts);
    free(r->dss);
    free(r->nets);
}

static void *grow(void *array, size_t *n, size_t size)
{
    char *p = realloc(array, (*n + 1) * size);
    if (p)
        memset(p + *n * size, 0, size);
    return p;
}
#define APPEND(r, field, count) \
    ({ void *g_ = grow((r)->field, &(r)->count, sizeof(*(r)->field)); \
       g_ ? ((r)->field = g_, &(r)->field[(r)->count++]) : NULL; })

static size_t refs_of(const struct soap_dom_element *v, struct vmw_ref *out, size_t max)
{
    size_t n = 0;
    for (const struct soap_dom_element *e = v ? v->elts : NULL; e && n < max; e = e->next)
        if (vmw_val_ref(e, &out[n]))
            n++;
    return n;
}

static void copy_text(char *out, size_t len, const struct soap_dom_element *v)
{
    snprintf(out, len, "%s", vmw_text(v));
}

static nph_status collect(void *opaque, const struct vim25__ObjectContent *oc, nph_error *err)
{
    struct raw *r = opaque;
    struct vmw_ref ref;
    if (!vmw_ref_set(&ref, oc->obj))
        return NPH_OK;
    if (!strcmp(ref.type, "Datacenter")) {
        struct raw_dc *dc = APPEND(r, dcs, n_dcs);
        if (!dc)
            goto oom;
        dc->ref = ref;
        copy_text(dc->name, sizeof(dc->name), vmw_prop(oc, "name"));
        vmw_val_ref(vmw_prop(oc, "vmFolder"), &dc->vm_folder);
        vmw_val_ref(vmw_prop(oc, "hostFolder"), &dc->host_folder);
    } else if (!strcmp(ref.type, "ComputeResource") || !strcmp(ref.type, "ClusterComputeResource")) {
        struct raw_cr *cr = APPEND(r, crs, n_crs);
        if (!cr)
            goto oom;
        cr->ref = ref;
        copy_text(cr->name, sizeof(cr->name), vmw_prop(oc, "name"));
        vmw_val_ref(vmw_prop(oc, "parent"), &cr->parent);
        vmw_val_ref(vmw_prop(oc, "resourcePool"), &cr->pool);
        cr->n_datastores = refs_of(vmw_prop(oc, "datastore"), cr->datastores, MAX_REFS);
        cr->n_networks = refs_of(vmw_prop(oc, "network"), cr->networks, MAX_REFS);
    } else if (!strcmp(ref.type, "HostSystem")) {
        struct raw_host *h = APPEND(r, hosts, n_hosts);
        if (!h)
            goto oom;
        h->ref = ref;
        vmw_val_ref(vmw_prop(oc, "parent"), &h->parent);
        h->threads = (uint32_t)vmw_long(vmw_prop(oc, "summary.hardware.numCpuThreads"));
        h->mhz = (uint32_t)vmw_long(vmw_prop(oc, "summary.hardware.cpuMhz"));
        h->memory_bytes = (uint64_t)vmw_long(vmw_prop(oc, "summary.hardware.memorySize"));
        h->memory_used_mb = (uint64_t)vmw_long(vmw_prop(oc, "summary.quickStats.overallMemoryUsage"));
        h->cpu_used_mhz = (uint32_t)vmw_long(vmw_prop(oc, "summary.quickStats.overallCpuUsage"));
        copy_text(h->cpu_model, sizeof(h->cpu_model), vmw_prop(oc, "summary.hardware.cpuModel"));
        copy_text(h->version, sizeof(h->version), vmw_prop(oc, "summary.config.product.version"));
    } else if (!strcmp(ref.type, "Datastore")) {
        struct raw_ds *ds = APPEND(r, dss, n_dss);
        if (!ds)
            goto oom;
        ds->ref = ref;
        copy_text(ds->name, sizeof(ds->name), vmw_prop(oc, "name"));
        ds->capacity = (uint64_t)vmw_long(vmw_prop(oc, "summary.capacity"));
        ds->free = (uint64_t)vmw_long(vmw_prop(oc, "summary.freeSpace"));
        ds->accessible = !strcmp(vmw_text(vmw_prop(oc, "summary.accessible")), "true");
    } else if (!strcmp(ref.type, "Network") || !strcmp(ref.type, "DistributedVirtualPortgroup")) {
        struct raw_net *n = APPEND(r, nets, n_nets);
        if (!n)
            goto oom;
        n->ref = ref;
        copy_text(n->name, sizeof(n->name), vmw_prop(oc, "name"));
    }
    return NPH_OK;
oom:
    return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory reading the vSphere inventory");
}

static bool same(const struct vmw_ref *a, const struct vmw_ref *b)
{
    return !strcmp(a->id, b->id) && !strcmp(a->type, b->type);
}

static const struct raw_dc *datacenter_of(const struct raw *r, const struct raw_cr *cr)
{
    for (size_t i = 0; i < r->n_dcs; i++)
        if (same(&r->dcs[i].host_folder, &cr->parent))
            return &r->dcs[i];
    /* Nested host folders: with one datacenter there is no doubt. */
    return r->n_dcs == 1 ? &r->dcs[0] : NULL;
}

/* The configured datastore, or the accessible one with most free space. */
static const struct raw_ds *datastore_of(const struct raw *r, const struct raw_cr *cr,
                                         const char *wanted)
{
    const struct raw_ds *best = NULL;
    for (size_t i = 0; i < cr->n_datastores; i++)
        for (size_t j = 0; j < r->n_dss; j++) {
            const struct raw_ds *ds = &r->dss[j];
            if (!same(&ds->ref, &cr->datastores[i]) || !ds->accessible)
                continue;
            if (*wanted ? !strcmp(ds->name, wanted) : (!best || ds->free > best->free))
                best = ds;
        }
    return best;
}

static void network_of(const struct raw *r, const struct raw_cr *cr, const char *name,
                       struct vmw_node *n)
{
    for (size_t i = 0; i < cr->n_networks; i++)
        for (size_t j = 0; j < r->n_nets; j++)
            if (same(&r->nets[j].ref, &cr->networks[i]) && !strcmp(r->nets[j].name, name)) {
                n->network = r->nets[j].ref;
                return;
            }
}

static void add_hosts(const struct raw *r, const struct raw_cr *cr, struct vmw_node *n)
{
    for (size_t i = 0; i < r->n_hosts; i++) {
        const struct raw_host *h = &r->hosts[i];
        if (!same(&h->parent, &cr->ref))
            continue;
        if (!n->hosts++) {
            snprintf(n->cpu_model, sizeof(n->cpu_model), "%s", h->cpu_model);
            snprintf(n->version, sizeof(n->version), "%s", h->version);
            n->cpu_mhz_per_thread = h->mhz;
        }
        n->vcpus += h->threads;
        n->memory_mb += h->memory_bytes / (1024 * 1024);
        n->memory_mb_used += h->memory_used_mb;
        n->cpu_mhz_used += h->cpu_used_mhz;
    }
}

static bool build_node(struct vmw_driver *d, const struct raw *r, const struct raw_cr *cr,
                       struct vmw_node *n)
{
    const struct raw_dc *dc = datacenter_of(r, cr);
    const struct raw_ds *ds = datastore_of(r, cr, d->opt.datastore);
    if (!dc || !ds) {
        d->svc->log(d->host, NPH_LOG_WARNING, "compute resource %s is no node: %s", cr->name,
                    !dc ? "its datacenter is not known"
                        : *d->opt.datastore ? "it cannot reach the configured datastore"
                                            : "it has no accessible datastore");
        return false;
    }
    memset(n, 0, sizeof(*n));
    snprintf(n->name, sizeof(n->name), "%s", cr->name);
    n->compute = cr->ref;
    n->pool = cr->pool;
    n->datacenter = dc->ref;
    n->vm_folder = dc->vm_folder;
    snprintf(n->datacenter_name, sizeof(n->datacenter_name), "%s", dc->name);
    n->datastore = ds->ref;
    snprintf(n->datastore_name, sizeof(n->datastore_name), "%s", ds->name);
    n->disk_gb = ds->capacity >> 30;
    n->disk_gb_free = ds->free >> 30;
    n->is_cluster = !strcmp(cr->ref.type, "ClusterComputeResource");
    network_of(r, cr, d->opt.port_group, n);
    add_hosts(r, cr, n);
    return true;
}

static nph_status read_raw(struct vmw_driver *d, struct vmw_conn *c, struct raw *r, nph_error *err)
{
    static const char *const dc[] = { "name", "vmFolder", "hostFolder" };
    static const char *const cr[] = { "name", "parent", "resourcePool", "datastore", "network" };
    static const char *const host[] = {
        "parent", "summary.hardware.numCpuThreads", "summary.hardware.cpuMhz",
        "summary.hardware.memorySize", "summary.hardware.cpuModel",
        "summary.quickStats.overallMemoryUsage", "summary.quickStats.overallCpuUsage",
        "summary.config.product.version",
    };
    static const char *const ds[] = { "name", "summary.capacity", "summary.freeSpace",
                                      "summary.accessible" };
    static const char *const net[] = { "name" };
#define SET(type, paths) { type, paths, sizeof(paths) / sizeof(paths[0]) }
    static const struct vmw_propset sets[] = {
        SET("Datacenter", dc), SET("ComputeResource", cr), SET("HostSystem", host),
        SET("Datastore", ds), SET("Network", net),
    };
#undef SET
    return vmw_retrieve_all(c, sets, sizeof(sets) / sizeof(sets[0]), d->opt.page_size,
                            collect, r, err);
}

nph_status vmw_nodes_refresh(struct vmw_driver *d, nph_error *err)
{
    struct raw r = { 0 };
    nph_status st;
    {
        VMW_SESSION(c, &d->sessions);
        st = read_raw(d, c, &r, err);
    }
    struct vmw_node *nodes = st == NPH_OK ? calloc(r.n_crs + 1, sizeof(*nodes)) : NULL;
    if (st == NPH_OK && !nodes)
        st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory for %zu nodes", r.n_crs);
    size_t n = 0;
    for (size_t i = 0; st == NPH_OK && i < r.n_crs; i++)
        if (vmw_option_wants(&d->opt, r.crs[i].name) && build_node(d, &r, &r.crs[i], &nodes[n]))
            n++;
    raw_free(&r);
    if (st != NPH_OK) {
        free(nodes);
        return st;
    }
    pthread_mutex_lock(&d->nodes_lock);
    free(d->nodes);
    d->nodes = nodes;
    d->n_nodes = n;
    d->nodes_at_ns = nph_clock_monotonic_ns();
    pthread_mutex_unlock(&d->nodes_lock);
    return NPH_OK;
}

static bool node_find(struct vmw_driver *d, const char *name, struct vmw_node *out)
{
    bool found = false;
    pthread_mutex_lock(&d->nodes_lock);
    for (size_t i = 0; i < d->n_nodes && !found; i++)
        if (!strcmp(d->nodes[i].name, name)) {
            *out = d->nodes[i];
            found = true;
        }
    pthread_mutex_unlock(&d->nodes_lock);
    return found;
}

nph_status vmw_node_get(struct vmw_driver *d, const char *name, struct vmw_node *out,
                        nph_error *err)
{
    if (!name)
        return nph_error_set(err, NPH_ERR_INVALID, "no node given");
    if (node_find(d, name, out))
        return NPH_OK;
    nph_status st = vmw_nodes_refresh(d, err);
    if (st != NPH_OK)
        return st;
    if (node_find(d, name, out))
        return NPH_OK;
    return nph_error_set(err, NPH_ERR_NOT_FOUND, "driver '%s' has no node '%s' at %s",
                         d->svc->instance_name(d->host), name, d->opt.url);
}

void vmw_nodes_free(struct vmw_driver *d)
{
    free(d->nodes);
    d->nodes = NULL;
    d->n_nodes = 0;
}
