/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Ironic nodes as compute nodes, as Nova's ironic driver reports them: each
 * node (named by its UUID) offers one unit of its resource class, reserved
 * while the node is not ready for a deployment.  One paged listing serves
 * every node_resources() call of a report; the listing is refreshed when
 * older than the cache_ms option, so nodes enrolled or deleted in Ironic
 * come and go with the next report.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "irn-driver.h"

/* The members a listing asks for (API 1.8 and later take a field list). */
#define NODE_FIELDS "uuid,resource_class,maintenance,provision_state,power_state,instance_uuid,properties"

void irn_normalize_class(const char *name, char *out, size_t len)
{
    if (strncmp(name, "CUSTOM_", 7) == 0) {
        snprintf(out, len, "%s", name);
        return;
    }
    size_t n = (size_t)snprintf(out, len, "CUSTOM_");
    for (const char *p = name; *p && n + 1 < len; p++)
        out[n++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    out[n] = '\0';
}

nph_power_state irn_power_state(const char *s)
{
    if (s && strcmp(s, "power on") == 0)
        return NPH_POWER_RUNNING;
    if (s && strcmp(s, "power off") == 0)
        return NPH_POWER_SHUTDOWN;
    return NPH_POWER_NOSTATE; /* null, "error" */
}

bool irn_node_reserved(const struct irn_node *n)
{
    return n->maintenance || strcmp(n->provision_state, "available") != 0 ||
           irn_power_state(n->power_state) == NPH_POWER_NOSTATE || n->instance_uuid[0];
}

static void copy_str(char *out, size_t len, const char *s)
{
    snprintf(out, len, "%s", s ? s : "");
}

static void node_from_json(json_object *j, struct irn_node *n)
{
    memset(n, 0, sizeof(*n));
    copy_str(n->uuid, sizeof(n->uuid), irn_str(j, "uuid"));
    const char *rc = irn_str(j, "resource_class");
    if (rc && *rc)
        irn_normalize_class(rc, n->resource_class, sizeof(n->resource_class));
    copy_str(n->provision_state, sizeof(n->provision_state), irn_str(j, "provision_state"));
    copy_str(n->power_state, sizeof(n->power_state), irn_str(j, "power_state"));
    copy_str(n->instance_uuid, sizeof(n->instance_uuid), irn_str(j, "instance_uuid"));
    n->maintenance = irn_bool(j, "maintenance");
    json_object *props = NULL;
    json_object_object_get_ex(j, "properties", &props);
    copy_str(n->cpu_arch, sizeof(n->cpu_arch), irn_str(props, "cpu_arch"));
    n->cpus = (uint32_t)irn_int(props, "cpus", 0);
    n->memory_mb = (uint64_t)irn_int(props, "memory_mb", 0);
    n->local_gb = (uint64_t)irn_int(props, "local_gb", 0);
}

struct listing {
    struct irn_node *nodes;
    size_t n, cap;
};

static nph_status collect(void *opaque, json_object *item, nph_error *err)
{
    struct listing *l = opaque;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct irn_node *grown = realloc(l->nodes, cap * sizeof(*grown));
        if (!grown)
            return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory listing Ironic nodes");
        l->nodes = grown;
        l->cap = cap;
    }
    node_from_json(item, &l->nodes[l->n]);
    /* A node without a resource class cannot be scheduled (Nova refuses it too). */
    if (l->nodes[l->n].uuid[0] && l->nodes[l->n].resource_class[0])
        l->n++;
    return NPH_OK;
}

static int by_uuid(const void *a, const void *b)
{
    return strcmp(((const struct irn_node *)a)->uuid, ((const struct irn_node *)b)->uuid);
}

static bool fresh(struct irn_driver *d)
{
    uint64_t now = nph_clock_monotonic_ns();
    pthread_mutex_lock(&d->lock);
    bool yes = d->listed_ns && now - d->listed_ns < (uint64_t)d->cache_ms * 1000000ull;
    pthread_mutex_unlock(&d->lock);
    return yes;
}

static nph_status refresh(struct irn_driver *d, nph_error *err)
{
    uint64_t now = nph_clock_monotonic_ns();
    char path[256];
    snprintf(path, sizeof(path), "/v1/nodes?fields=%s&limit=%u", NODE_FIELDS, d->page_size);
    struct listing l = { 0 };
    nph_status st = irn_list(d->client, path, "nodes", collect, &l, err);
    if (st != NPH_OK) {
        free(l.nodes);
        return st;
    }
    qsort(l.nodes, l.n, sizeof(*l.nodes), by_uuid);
    pthread_mutex_lock(&d->lock);
    struct irn_node *old = d->nodes;
    size_t n_old = d->n_nodes;
    d->nodes = l.nodes;
    d->n_nodes = l.n;
    d->listed_ns = now;
    pthread_mutex_unlock(&d->lock);
    /* Only this thread holds `old` now; the listing it was is gone. */
    if (d->listed_before)
        irn_power_changes(d, old, n_old, l.nodes, l.n);
    d->listed_before = true;
    free(old);
    return NPH_OK;
}

nph_status irn_nodes_refresh(struct irn_driver *d, bool force, nph_error *err)
{
    if (!force && fresh(d))
        return NPH_OK;
    pthread_mutex_lock(&d->refresh_lock);
    /* Another thread may have listed while this one waited. */
    nph_status st = !force && fresh(d) ? NPH_OK : refresh(d, err);
    pthread_mutex_unlock(&d->refresh_lock);
    return st;
}

/* Caller holds the lock. */
static struct irn_node *find(struct irn_driver *d, const char *uuid)
{
    struct irn_node key;
    copy_str(key.uuid, sizeof(key.uuid), uuid);
    return bsearch(&key, d->nodes, d->n_nodes, sizeof(key), by_uuid);
}

nph_status irn_node_get(struct irn_driver *d, const char *uuid, struct irn_node *out,
                        nph_error *err)
{
    nph_status st = irn_nodes_refresh(d, false, err);
    if (st != NPH_OK)
        return st;
    pthread_mutex_lock(&d->lock);
    struct irn_node *n = uuid ? find(d, uuid) : NULL;
    if (n)
        *out = *n;
    pthread_mutex_unlock(&d->lock);
    if (!n)
        return d->svc->error(err, NPH_ERR_NOT_FOUND, "Ironic has no node '%s' with a resource class",
                             uuid ? uuid : "(none)");
    return NPH_OK;
}

/* After a fresh listing, call cb with `pick`'s UUID of every node it gives
 * one for (NULL: skip).  The callback may call back into the driver, so it
 * is handed copies, outside the lock. */
typedef const char *(*pick_fn)(const struct irn_node *n, const char *node);

static nph_status each_listed(struct irn_driver *d, pick_fn pick, const char *node,
                              void (*cb)(void *, const char *), void *opaque, nph_error *err)
{
    nph_status st = irn_nodes_refresh(d, true, err);
    if (st != NPH_OK)
        return st;
    pthread_mutex_lock(&d->lock);
    size_t n = 0;
    char(*uuids)[IRN_UUID_LEN] = malloc((d->n_nodes ? d->n_nodes : 1) * sizeof(*uuids));
    for (size_t i = 0; uuids && i < d->n_nodes; i++) {
        const char *uuid = pick(&d->nodes[i], node);
        if (uuid)
            memcpy(uuids[n++], uuid, IRN_UUID_LEN);
    }
    pthread_mutex_unlock(&d->lock);
    if (!uuids)
        return d->svc->error(err, NPH_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++)
        cb(opaque, uuids[i]);
    free(uuids);
    return NPH_OK;
}

static const char *node_uuid(const struct irn_node *n, const char *node)
{
    return n->uuid;
}

/* The instance on the node (on `node` only, unless NULL). */
static const char *instance_uuid(const struct irn_node *n, const char *node)
{
    return n->instance_uuid[0] && (!node || strcmp(node, n->uuid) == 0) ? n->instance_uuid : NULL;
}

nph_status irn_list_nodes(void *drv, nph_node_cb cb, void *opaque, nph_error *err)
{
    return each_listed(drv, node_uuid, NULL, cb, opaque, err);
}

/* Strings of the last node_resources() answer per thread: the contract lets
 * them live until the next call on the same object. */
static __thread struct irn_node resources_node;

nph_status irn_node_resources(void *drv, const char *node, struct nph_node_resources *out,
                              nph_error *err)
{
    struct irn_driver *d = drv;
    struct irn_node *n = &resources_node;
    nph_status st = irn_node_get(d, node, n, err);
    if (st != NPH_OK)
        return st;
    out->hypervisor_type = "ironic";
    out->hypervisor_version = 1;
    out->hypervisor_hostname = n->uuid;
    out->cpu_arch = n->cpu_arch[0] ? n->cpu_arch : NULL;
    out->vcpus = n->cpus;
    out->memory_mb = n->memory_mb;
    out->local_gb = n->local_gb;
    /* A node with a server, or one not ready, is all used (os-hypervisors
     * shows these; the scheduler reads the class and the reservation). */
    if (irn_node_reserved(n)) {
        out->vcpus_used = n->cpus;
        out->memory_mb_used = n->memory_mb;
        out->local_gb_used = n->local_gb;
    }
    out->resource_class = n->resource_class;
    out->reserved = irn_node_reserved(n);
    return NPH_OK;
}

nph_status irn_list_instances(void *drv, const char *node, nph_instance_cb cb, void *opaque,
                              nph_error *err)
{
    return each_listed(drv, instance_uuid, node, cb, opaque, err);
}
