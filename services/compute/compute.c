/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The compute service: drivers, the node map, registration through the
 * conductor, and serving the compute.<host> topic. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compute-internal.h"
#include "error.h"
#include "log.h"
#include "objects.h"

NPH_LOG_INIT("compute");

/* Nodes reported per conductor call, so 10,000 Ironic nodes are 20 calls. */
#define NODES_PER_REPORT 500

nph_status compute_call(nph_compute *c, const char *method, json_object *args,
                        json_object **result, nph_error *err)
{
    json_object *ignored = NULL;
    nph_status st = nph_bus_call(c->bus, "conductor", method, args, (int)c->rpc_timeout_ms,
                                 result ? result : &ignored, err);
    json_object_put(ignored);
    return st;
}

static int compare_nodes(const void *a, const void *b)
{
    return strcmp(((const struct node_entry *)a)->name, ((const struct node_entry *)b)->name);
}

nph_driver *compute_driver_for(nph_compute *c, const char *node)
{
    if (!node)
        return NULL;
    struct node_entry key = { (char *)node, NULL };
    pthread_rwlock_rdlock(&c->nodes_lock);
    struct node_entry *e = bsearch(&key, c->nodes, c->n_nodes, sizeof(key), compare_nodes);
    nph_driver *drv = e ? e->drv : NULL;
    pthread_rwlock_unlock(&c->nodes_lock);
    return drv;
}

struct node_map {
    struct node_entry *nodes;
    size_t n;
    nph_driver *drv; /* the driver listing now */
    bool failed;
};

static void node_map_free(struct node_entry *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(nodes[i].name);
    free(nodes);
}

static void collect_node(void *opaque, const char *node)
{
    struct node_map *m = opaque;
    struct node_entry *grown = realloc(m->nodes, (m->n + 1) * sizeof(*grown));
    char *name = strdup(node);
    if (!grown || !name) {
        free(name);
        if (grown)
            m->nodes = grown;
        m->failed = true;
        return;
    }
    m->nodes = grown;
    m->nodes[m->n++] = (struct node_entry){ name, m->drv };
}

/* Every driver's nodes, sorted; two drivers claiming one node name is a
 * config error. */
static nph_status list_all_nodes(nph_compute *c, struct node_map *m, nph_error *err)
{
    for (size_t i = 0; i < c->drivers.count; i++) {
        m->drv = c->drivers.drivers[i];
        nph_status st = NPH_DRIVER_CALL(m->drv, list_nodes, err, collect_node, m);
        if (st != NPH_OK)
            return nph_error_prefix(err, "driver '%s': ", nph_driver_name(m->drv));
        if (m->failed)
            return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory listing nodes");
    }
    qsort(m->nodes, m->n, sizeof(*m->nodes), compare_nodes);
    for (size_t i = 1; i < m->n; i++)
        if (strcmp(m->nodes[i - 1].name, m->nodes[i].name) == 0)
            return nph_error_set(err, NPH_ERR_INVALID,
                                 "node '%s' is claimed by drivers '%s' and '%s'; give them "
                                 "different node_name_prefix values",
                                 m->nodes[i].name, nph_driver_name(m->nodes[i - 1].drv),
                                 nph_driver_name(m->nodes[i].drv));
    return NPH_OK;
}

static bool same_nodes(const struct node_map *m, const struct node_entry *nodes, size_t n)
{
    if (m->n != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(m->nodes[i].name, nodes[i].name) != 0 || m->nodes[i].drv != nodes[i].drv)
            return false;
    return true;
}

/* List the nodes again and swap the map in; *changed when they differ. */
static nph_status map_nodes(nph_compute *c, bool *changed, nph_error *err)
{
    struct node_map m = { 0 };
    nph_status st = list_all_nodes(c, &m, err);
    if (st != NPH_OK) {
        node_map_free(m.nodes, m.n);
        return st;
    }
    *changed = !same_nodes(&m, c->nodes, c->n_nodes);
    if (!*changed) {
        node_map_free(m.nodes, m.n);
        return NPH_OK;
    }
    if (c->n_nodes)
        nph_info("compute %s now has %zu node(s) (had %zu)", c->host, m.n, c->n_nodes);
    pthread_rwlock_wrlock(&c->nodes_lock);
    struct node_entry *old = c->nodes;
    size_t n_old = c->n_nodes;
    c->nodes = m.nodes;
    c->n_nodes = m.n;
    pthread_rwlock_unlock(&c->nodes_lock);
    node_map_free(old, n_old);
    return NPH_OK;
}

/* Tell the conductor the node set, so the nodes that went are removed. */
static nph_status prune_nodes(nph_compute *c, nph_error *err)
{
    nph_auto_json *args = json_object_new_object();
    json_object *names = json_object_new_array();
    nph_json_add_string(args, "host", c->host);
    for (size_t i = 0; i < c->n_nodes; i++)
        json_object_array_add(names, json_object_new_string(c->nodes[i].name));
    json_object_object_add(args, "nodes", names);
    nph_status st = compute_call(c, "compute_nodes_prune", args, NULL, err);
    c->pruned = st == NPH_OK;
    return st;
}

/* What the node's driver can do, by name: placement turns them into
 * traits (COMPUTE_IMAGE_TYPE_QCOW2, COMPUTE_VOLUME_MULTI_ATTACH, ...). */
static void add_capabilities(json_object *n, const nph_driver *drv)
{
    struct nph_driver_capabilities caps = { 0 };
    nph_driver_capabilities(drv, &caps);
    json_object *names = json_object_new_array(), *formats = json_object_new_array();
    for (int i = 0; i < NPH_CAPABILITY_COUNT; i++)
        if (caps.flags & (1u << i))
            json_object_array_add(names, json_object_new_string(
                                             nph_capability_name((nph_capability)(1u << i))));
    for (int i = 0; i < NPH_IMAGE_FORMAT_COUNT; i++)
        if (caps.image_formats & (1u << i))
            json_object_array_add(formats, json_object_new_string(
                                               nph_image_format_name((nph_image_format)(1u << i))));
    json_object_object_add(n, "capabilities", names);
    json_object_object_add(n, "image_formats", formats);
}

static json_object *node_json(nph_compute *c, const struct node_entry *e, nph_error *err)
{
    struct nph_node_resources r = { 0 };
    if (NPH_DRIVER_CALL(e->drv, node_resources, err, e->name, &r) != NPH_OK)
        return NULL;
    json_object *n = json_object_new_object();
    nph_json_add_string(n, "hypervisor_hostname", e->name);
    nph_json_add_string(n, "hypervisor_type", r.hypervisor_type);
    nph_json_add_int(n, "hypervisor_version", (int64_t)r.hypervisor_version);
    nph_json_add_string(n, "cpu_arch", r.cpu_arch);
    nph_json_add_int(n, "vcpus", r.vcpus);
    nph_json_add_int(n, "vcpus_used", r.vcpus_used);
    nph_json_add_int(n, "memory_mb", (int64_t)r.memory_mb);
    nph_json_add_int(n, "memory_mb_used", (int64_t)r.memory_mb_used);
    nph_json_add_int(n, "local_gb", (int64_t)r.local_gb);
    nph_json_add_int(n, "local_gb_used", (int64_t)r.local_gb_used);
    nph_json_add_string(n, "cpu_info", r.cpu_info);
    nph_json_add_string(n, "resource_class", r.resource_class);
    nph_json_add_bool(n, "reserved", r.reserved);
    nph_json_add_string(n, "driver", nph_driver_name(e->drv));
    add_capabilities(n, e->drv);
    return n;
}

nph_status compute_report_nodes(nph_compute *c, nph_error *err)
{
    bool changed = false;
    nph_status st = map_nodes(c, &changed, err);
    for (size_t i = 0; st == NPH_OK && i < c->n_nodes; i += NODES_PER_REPORT) {
        nph_auto_json *args = json_object_new_object();
        json_object *nodes = json_object_new_array();
        nph_json_add_string(args, "host", c->host);
        json_object_object_add(args, "nodes", nodes);
        for (size_t j = i; st == NPH_OK && j < c->n_nodes && j < i + NODES_PER_REPORT; j++) {
            json_object *n = node_json(c, &c->nodes[j], err);
            if (!n)
                st = err ? err->code : NPH_ERR_BACKEND;
            else
                json_object_array_add(nodes, n);
        }
        if (st == NPH_OK)
            st = compute_call(c, "compute_node_update", args, NULL, err);
    }
    if (st == NPH_OK && (changed || !c->pruned))
        st = prune_nodes(c, err);
    return st;
}

nph_status compute_heartbeat(nph_compute *c, nph_error *err)
{
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "host", c->host);
    nph_json_add_string(args, "binary", "nephele-compute");
    nph_json_add_string(args, "topic", "compute");
    return compute_call(c, "service_update", args, NULL, err);
}

static nph_status read_config(nph_compute *c, const nph_config *cfg, int64_t *workers,
                              nph_error *err)
{
    int64_t timeout_s = 60;
    nph_status st = nph_config_get_int(cfg, "DEFAULT", "rpc_response_timeout", 60, &timeout_s, err);
    if (st == NPH_OK)
        st = nph_config_get_int(cfg, "DEFAULT", "report_interval", 10, &c->report_interval_s, err);
    if (st == NPH_OK)
        st = nph_config_get_int(cfg, "compute", "workers", 8, workers, err);
    if (st == NPH_OK)
        st = nph_config_get_int(cfg, "compute", "sync_power_state_interval", 60,
                                &c->sync_interval_s, err);
    if (st == NPH_OK)
        st = nph_config_get_int(cfg, "compute", "resource_update_interval", 60,
                                &c->resource_interval_s, err);
    c->rpc_timeout_ms = timeout_s * 1000;
    if (st == NPH_OK && (*workers < 1 || *workers > 256))
        st = nph_config_entry_error(err, NPH_ERR_INVALID,
                                    nph_config_find(cfg, "compute", "workers"),
                                    "must be from 1 to 256");
    return st;
}

static nph_status load_drivers(nph_compute *c, const nph_config *cfg, nph_error *err)
{
    struct nph_loader_options opts = {
        .plugin_dir = nph_config_get(cfg, "compute", "plugin_dir", NULL),
        .host_name = c->host,
        .on_event = compute_on_event,
        .event_opaque = c,
    };
    const char *dir = nph_config_get(cfg, "compute", "plugins_dir", nph_default_plugins_conf_dir());
    nph_status st = nph_driver_set_load(&c->drivers, dir, &opts, err);
    if (st == NPH_OK)
        st = nph_driver_set_start(&c->drivers, err);
    if (st == NPH_OK && c->drivers.count == 0)
        st = nph_error_set(err, NPH_ERR_INVALID, "no driver is enabled in %s", dir);
    return st;
}

nph_status nph_compute_start(const nph_config *cfg, const char *host, nph_bus *bus,
                             nph_compute **out, nph_error *err)
{
    nph_compute *c = calloc(1, sizeof(*c));
    if (!c || !(c->host = strdup(host))) {
        free(c);
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    c->bus = bus;
    snprintf(c->topic, sizeof(c->topic), "compute.%s", host);
    pthread_mutex_init(&c->held_lock, NULL);
    pthread_cond_init(&c->released, NULL);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->wake, NULL);
    pthread_rwlock_init(&c->nodes_lock, NULL);

    int64_t workers = 8;
    nph_status st = read_config(c, cfg, &workers, err);
    if (st == NPH_OK)
        st = load_drivers(c, cfg, err);
    if (st == NPH_OK)
        st = compute_heartbeat(c, err);
    if (st == NPH_OK)
        st = compute_report_nodes(c, err);
    if (st == NPH_OK)
        st = compute_repair_instances(c, err);
    if (st == NPH_OK)
        st = nph_bus_serve(bus, c->topic, (unsigned)workers, compute_handle, c, err);
    if (st == NPH_OK)
        st = compute_periodic_start(c, err);
    if (st != NPH_OK) {
        nph_compute_free(c);
        return st;
    }
    nph_info("compute %s serving %zu node(s) from %zu driver(s) with %lld workers", host,
             c->n_nodes, c->drivers.count, (long long)workers);
    *out = c;
    return NPH_OK;
}

void nph_compute_free(nph_compute *c)
{
    if (!c)
        return;
    compute_periodic_stop(c);
    nph_driver_set_clear(&c->drivers);
    node_map_free(c->nodes, c->n_nodes);
    pthread_rwlock_destroy(&c->nodes_lock);
    free(c->event_uuids);
    free(c->held); /* empty: every operation has ended */
    pthread_mutex_destroy(&c->held_lock);
    pthread_cond_destroy(&c->released);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->wake);
    free(c->host);
    free(c);
}
