/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Compute nodes as resource providers, as Nova's resource tracker keeps
 * them: the provider has the compute node's uuid and is named after the
 * node; its inventory is the node's VCPU, MEMORY_MB and DISK_GB with the
 * [DEFAULT] allocation ratios (or one unit of a CUSTOM_ class for a
 * baremetal node); its traits say what the driver can do.  Computes report
 * every minute, so the sync compares first and writes (and bumps the
 * generation) only what changed; traits it does not manage, such as an
 * operator's CUSTOM_ ones, are left alone.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "objects.h"
#include "placement-internal.h"

NPH_LOG_INIT("placement.compute");

/* The capabilities Placement has a trait for (os-traits' names, as Nova's
 * CAPABILITY_TRAITS_MAP uses them). */
static const struct {
    nph_capability cap;
    const char *trait;
} capability_traits[] = {
    { NPH_CAP_ATTACH_INTERFACE, "COMPUTE_NET_ATTACH_INTERFACE" },
    { NPH_CAP_ATTACH_VOLUME, "COMPUTE_VOLUME_ATTACH" },
    { NPH_CAP_MULTIATTACH, "COMPUTE_VOLUME_MULTI_ATTACH" },
    { NPH_CAP_MIGRATE_TO_SAME_HOST, "COMPUTE_SAME_HOST_COLD_MIGRATE" },
};
#define N_CAPABILITY_TRAITS (sizeof(capability_traits) / sizeof(capability_traits[0]))

void placement_normalize_class(const char *name, char out[PLACEMENT_NAME_MAX + 1])
{
    if (placement_class_is_standard(name) || strncmp(name, "CUSTOM_", 7) == 0) {
        snprintf(out, PLACEMENT_NAME_MAX + 1, "%s", name);
        return;
    }
    size_t n = (size_t)snprintf(out, PLACEMENT_NAME_MAX + 1, "CUSTOM_");
    for (const char *p = name; *p && n < PLACEMENT_NAME_MAX; p++)
        out[n++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    out[n] = '\0';
}

/* The traits this sync owns: set or cleared from the report. */
static bool managed(const char *trait)
{
    if (strcmp(trait, "COMPUTE_NODE") == 0 || strcmp(trait, "COMPUTE_STATUS_DISABLED") == 0)
        return true;
    for (size_t i = 0; i < N_CAPABILITY_TRAITS; i++)
        if (strcmp(trait, capability_traits[i].trait) == 0)
            return true;
    for (int i = 0; i < NPH_IMAGE_FORMAT_COUNT; i++)
        if (strcmp(trait, nph_image_format_trait((nph_image_format)(1u << i))) == 0)
            return true;
    return false;
}

static const char *string_at(json_object *node, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(node, key, &v);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int64_t int_at(json_object *node, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(node, key, &v);
    return json_object_get_int64(v);
}

/* The number of items of an array member; 0 when it is not one. */
static size_t items(json_object *node, const char *key, json_object **array)
{
    *array = NULL;
    json_object_object_get_ex(node, key, array);
    return json_object_is_type(*array, json_type_array) ? json_object_array_length(*array) : 0;
}

/* The traits the report asks for, as a JSON set. */
static json_object *wanted_traits(json_object *node, bool disabled)
{
    json_object *set = json_object_new_object(), *caps = NULL, *formats = NULL;
    json_object_object_add(set, "COMPUTE_NODE", NULL);
    if (disabled)
        json_object_object_add(set, "COMPUTE_STATUS_DISABLED", NULL);
    size_t n_caps = items(node, "capabilities", &caps);
    for (size_t i = 0; i < n_caps; i++) {
        nph_capability cap;
        if (nph_capability_parse(json_object_get_string(json_object_array_get_idx(caps, i)), &cap,
                                 NULL) != NPH_OK)
            continue;
        for (size_t t = 0; t < N_CAPABILITY_TRAITS; t++)
            if (capability_traits[t].cap == cap)
                json_object_object_add(set, capability_traits[t].trait, NULL);
    }
    size_t n_formats = items(node, "image_formats", &formats);
    for (size_t i = 0; i < n_formats; i++) {
        nph_image_format f;
        if (nph_image_format_parse(json_object_get_string(json_object_array_get_idx(formats, i)), &f,
                                   NULL) == NPH_OK)
            json_object_object_add(set, nph_image_format_trait(f), NULL);
    }
    return set;
}

/* VCPU, MEMORY_MB and DISK_GB, or one unit of a baremetal node's class,
 * reserved while the node is not ready for a server. */
static size_t wanted_inventory(json_object *node, const struct placement_ratios *ratios,
                               struct placement_inventory inv[3])
{
    const char *rc = string_at(node, "resource_class");
    if (rc && *rc) {
        char name[PLACEMENT_NAME_MAX + 1];
        placement_normalize_class(rc, name);
        placement_inventory_defaults(&inv[0], name);
        inv[0].total = inv[0].max_unit = 1;
        json_object *reserved = NULL;
        json_object_object_get_ex(node, "reserved", &reserved);
        inv[0].reserved = json_object_get_boolean(reserved) ? 1 : 0;
        return 1;
    }
    static const char *const classes[] = { "VCPU", "MEMORY_MB", "DISK_GB" };
    static const char *const keys[] = { "vcpus", "memory_mb", "local_gb" };
    const double ratio[] = { ratios->cpu, ratios->ram, ratios->disk };
    size_t n = 0;
    for (size_t i = 0; i < 3; i++) {
        int64_t total = int_at(node, keys[i]);
        if (total <= 0)
            continue; /* Placement refuses an empty inventory */
        placement_inventory_defaults(&inv[n], classes[i]);
        inv[n].total = inv[n].max_unit = total;
        inv[n].allocation_ratio = ratio[i];
        n++;
    }
    return n;
}

/* A baremetal node's CUSTOM_ class must exist before its inventory. */
static nph_status ensure_class(nph_db *db, const char *name, placement_error *err)
{
    bool exists = false;
    nph_status st = placement_class_exists(db, name, &exists, err);
    if (st != NPH_OK || exists)
        return st;
    if (!placement_name_is_custom(name))
        return placement_fail(err, NPH_ERR_INVALID, NULL,
                              "resource class '%s' is not a valid CUSTOM_ name", name);
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    return pl_exec(db, NULL, err, "INSERT INTO resource_classes (name, created_at) VALUES (?, ?)",
                   "tt", name, now);
}

static bool same_inventory(json_object *row, const struct placement_inventory *inv)
{
    json_object *ratio = NULL;
    json_object_object_get_ex(row, "allocation_ratio", &ratio);
    return int_at(row, "total") == inv->total && int_at(row, "reserved") == inv->reserved &&
           int_at(row, "min_unit") == inv->min_unit && int_at(row, "max_unit") == inv->max_unit &&
           int_at(row, "step_size") == inv->step_size &&
           json_object_get_double(ratio) == inv->allocation_ratio;
}

/* Write the inventory rows that differ; rows of other classes go unless
 * allocations still use them.  *changed says whether anything was written. */
static nph_status sync_inventory(nph_db *db, const struct pl_provider *rp,
                                 const struct placement_inventory *inv, size_t n, bool *changed,
                                 placement_error *err)
{
    nph_auto_json *rows = NULL;
    nph_status st = pl_rows(db, &rows, err,
                            "SELECT resource_class, total, reserved, min_unit, max_unit, step_size, "
                            "allocation_ratio, used FROM inventories WHERE provider_id = ?",
                            "i", rp->id);
    for (size_t i = 0; st == NPH_OK && i < n; i++) {
        bool same = false;
        for (size_t r = 0; r < json_object_array_length(rows); r++) {
            json_object *row = json_object_array_get_idx(rows, r);
            if (strcmp(string_at(row, "resource_class"), inv[i].resource_class) == 0)
                same = same_inventory(row, &inv[i]);
        }
        if (!same && (st = ensure_class(db, inv[i].resource_class, err)) == NPH_OK)
            st = pl_inventory_write(db, rp, &inv[i], err);
        *changed |= !same;
    }
    for (size_t r = 0; st == NPH_OK && r < json_object_array_length(rows); r++) {
        json_object *row = json_object_array_get_idx(rows, r);
        const char *rc = string_at(row, "resource_class");
        bool kept = false;
        for (size_t i = 0; i < n; i++)
            kept |= strcmp(rc, inv[i].resource_class) == 0;
        if (kept || int_at(row, "used") > 0)
            continue;
        st = pl_exec(db, NULL, err,
                     "DELETE FROM inventories WHERE provider_id = ? AND resource_class = ?", "it",
                     rp->id, rc);
        *changed = true;
    }
    return st;
}

/* Add the wanted managed traits the provider lacks, drop the unwanted ones. */
static nph_status sync_traits(nph_db *db, const struct pl_provider *rp, json_object *wanted,
                              bool *changed, placement_error *err)
{
    nph_auto_json *rows = NULL;
    nph_status st = pl_rows(db, &rows, err,
                            "SELECT trait FROM resource_provider_traits WHERE provider_id = ?", "i",
                            rp->id);
    nph_auto_json *have = json_object_new_object();
    for (size_t r = 0; st == NPH_OK && r < json_object_array_length(rows); r++) {
        const char *trait = string_at(json_object_array_get_idx(rows, r), "trait");
        json_object_object_add(have, trait, NULL);
        if (!managed(trait) || json_object_object_get_ex(wanted, trait, NULL))
            continue;
        st = pl_exec(db, NULL, err,
                     "DELETE FROM resource_provider_traits WHERE provider_id = ? AND trait = ?", "it",
                     rp->id, trait);
        *changed = true;
    }
    json_object_object_foreach(wanted, trait, unused) {
        (void)unused;
        if (st != NPH_OK || json_object_object_get_ex(have, trait, NULL))
            continue;
        st = pl_exec(db, NULL, err,
                     "INSERT INTO resource_provider_traits (provider_id, trait) VALUES (?, ?)", "it",
                     rp->id, trait);
        *changed = true;
    }
    return st;
}

/* The node's provider, created on first sight.  A name another provider
 * holds is reported and the node skipped (*rp->uuid left empty). */
static nph_status node_provider(nph_db *db, const char *uuid, const char *name,
                                struct pl_provider *rp, placement_error *err)
{
    nph_status st = pl_provider_find(db, uuid, rp, err);
    if (st != NPH_ERR_NOT_FOUND)
        return st;
    bool taken = false;
    st = pl_exists(db, &taken, err, "SELECT 1 FROM resource_providers WHERE name = ?", "t", name);
    if (st == NPH_OK && taken) {
        nph_warn("compute node %s (%s) gets no resource provider: another provider is named '%s'",
                 name, uuid, name);
        rp->uuid[0] = '\0';
        return NPH_OK;
    }
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    if (st == NPH_OK)
        st = pl_exec(db, NULL, err,
                     "INSERT INTO resource_providers (uuid, name, generation, root_provider_uuid, "
                     "created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?)",
                     "ttttt", uuid, name, uuid, now, now);
    return st == NPH_OK ? pl_provider_find(db, uuid, rp, err) : st;
}

static nph_status sync_node(nph_db *db, json_object *node, json_object *uuids, bool disabled,
                            const struct placement_ratios *ratios, placement_error *err)
{
    const char *name = string_at(node, "hypervisor_hostname");
    const char *uuid = name ? string_at(uuids, name) : NULL;
    if (!uuid) {
        nph_warn("compute node '%s' is not in the database; no resource provider for it",
                 name ? name : "(unnamed)");
        return NPH_OK;
    }
    struct pl_provider rp;
    nph_status st = node_provider(db, uuid, name, &rp, err);
    if (st != NPH_OK || !rp.uuid[0])
        return st;
    struct placement_inventory inv[3];
    size_t n = wanted_inventory(node, ratios, inv);
    bool changed = false;
    st = sync_inventory(db, &rp, inv, n, &changed, err);
    nph_auto_json *traits = wanted_traits(node, disabled);
    if (st == NPH_OK)
        st = sync_traits(db, &rp, traits, &changed, err);
    if (st == NPH_OK && changed)
        st = pl_generation_bump(db, &rp, -1, err);
    return st;
}

/* hypervisor_hostname -> compute node uuid, and whether the service is disabled. */
static nph_status host_facts(nph_db *db, const char *host, json_object **uuids, bool *disabled,
                             placement_error *err)
{
    nph_auto_json *rows = NULL;
    nph_status st = pl_rows(db, &rows, err,
                            "SELECT uuid, hypervisor_hostname FROM compute_nodes WHERE host = ? AND "
                            "deleted = 0",
                            "t", host);
    if (st != NPH_OK)
        return st;
    *uuids = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *row = json_object_array_get_idx(rows, i);
        nph_json_add_string(*uuids, string_at(row, "hypervisor_hostname"), string_at(row, "uuid"));
    }
    return pl_exists(db, disabled, err,
                     "SELECT 1 FROM services WHERE host = ? AND \"binary\" = 'nephele-compute' AND "
                     "disabled <> 0 AND deleted = 0",
                     "t", host);
}

nph_status placement_sync_compute_nodes(nph_db *db, const char *host, json_object *nodes,
                                        const struct placement_ratios *ratios,
                                        placement_error *err)
{
    if (!json_object_is_type(nodes, json_type_array))
        return placement_fail(err, NPH_ERR_INVALID, NULL, "the nodes must be a list");
    nph_auto_json *uuids = NULL;
    bool disabled = false;
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = host_facts(db, host, &uuids, &disabled, err);
    for (size_t i = 0; st == NPH_OK && i < json_object_array_length(nodes); i++)
        st = sync_node(db, json_object_array_get_idx(nodes, i), uuids, disabled, ratios, err);
    return pl_end(db, st, err);
}
