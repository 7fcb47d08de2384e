/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Inventories of a provider, one row per resource class with the sum of
 * the allocations against it (`used`), and the usages read from them. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "placement-internal.h"

void placement_inventory_defaults(struct placement_inventory *inv, const char *resource_class)
{
    memset(inv, 0, sizeof(*inv));
    snprintf(inv->resource_class, sizeof(inv->resource_class), "%s", resource_class);
    inv->min_unit = 1;
    inv->max_unit = PLACEMENT_MAX_INT;
    inv->step_size = 1;
    inv->allocation_ratio = 1.0;
}

static json_object *inventory_json(nph_db_stmt *stmt, int first)
{
    static const char *const fields[] = { "total", "reserved", "min_unit", "max_unit", "step_size" };
    json_object *o = json_object_new_object();
    for (int i = 0; i < 5; i++)
        nph_json_add_int(o, fields[i], nph_db_col_int(stmt, first + i));
    json_object_object_add(o, "allocation_ratio",
                           json_object_new_double(nph_db_col_double(stmt, first + 5)));
    return o;
}

static const char inventory_columns[] =
    "SELECT resource_class, total, reserved, min_unit, max_unit, step_size, allocation_ratio, used "
    "FROM inventories WHERE provider_id = ?";

/* {CLASS: inventory} of a provider. */
static nph_status inventories_of(nph_db *db, const struct pl_provider *rp, json_object **out,
                                 placement_error *err)
{
    char sql[sizeof(inventory_columns) + 32];
    snprintf(sql, sizeof(sql), "%s ORDER BY id", inventory_columns);
    nph_db_stmt *stmt;
    nph_status st = pl_query(db, &stmt, err, sql, "i", rp->id);
    if (st != NPH_OK)
        return st;
    json_object *by_class = json_object_new_object();
    bool row = false;
    while ((st = nph_db_step(stmt, &row, &err->e)) == NPH_OK && row)
        json_object_object_add(by_class, nph_db_col_text(stmt, 0), inventory_json(stmt, 1));
    nph_db_reset(stmt);
    if (st != NPH_OK) {
        json_object_put(by_class);
        return st;
    }
    *out = by_class;
    return NPH_OK;
}

static nph_status inventories_reply(nph_db *db, const struct pl_provider *rp, json_object **out,
                                    placement_error *err)
{
    json_object *by_class = NULL;
    nph_status st = inventories_of(db, rp, &by_class, err);
    if (st != NPH_OK)
        return st;
    *out = json_object_new_object();
    json_object_object_add(*out, "inventories", by_class);
    nph_json_add_int(*out, "resource_provider_generation", rp->generation);
    return NPH_OK;
}

nph_status placement_inventories_get(nph_db *db, const char *uuid, json_object **out,
                                     placement_error *err)
{
    struct pl_provider rp;
    nph_status st = pl_provider_find(db, uuid, &rp, err);
    return st == NPH_OK ? inventories_reply(db, &rp, out, err) : st;
}

/* A known class and a capacity above zero (or zero, from 1.26). */
static nph_status check_inventory(nph_db *db, const struct pl_provider *rp,
                                  const struct placement_inventory *inv, bool reserved_may_equal,
                                  placement_error *err)
{
    bool exists = false;
    nph_status st = placement_class_exists(db, inv->resource_class, &exists, err);
    if (st == NPH_OK && !exists)
        return placement_fail(err, NPH_ERR_INVALID, NULL,
                              "Unknown resource class in inventory for resource provider %s: No "
                              "such resource class %s.",
                              rp->uuid, inv->resource_class);
    bool bad = reserved_may_equal ? inv->reserved > inv->total : inv->reserved >= inv->total;
    if (st == NPH_OK && bad)
        return placement_fail(err, NPH_ERR_INVALID, NULL,
                              "Unable to update inventory for resource provider %s: Invalid "
                              "inventory for '%s' on resource provider '%s'. The reserved value is "
                              "greater than %stotal.",
                              rp->uuid, inv->resource_class, rp->uuid,
                              reserved_may_equal ? "" : "or equal to ");
    return st;
}

nph_status pl_inventory_write(nph_db *db, const struct pl_provider *rp,
                              const struct placement_inventory *inv, placement_error *err)
{
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    int64_t changed = 0;
    nph_status st = pl_exec(db, &changed, err,
                            "UPDATE inventories SET total = ?, reserved = ?, min_unit = ?, "
                            "max_unit = ?, step_size = ?, allocation_ratio = ?, updated_at = ? "
                            "WHERE provider_id = ? AND resource_class = ?",
                            "iiiiidtit", inv->total, inv->reserved, inv->min_unit, inv->max_unit,
                            inv->step_size, inv->allocation_ratio, now, rp->id, inv->resource_class);
    if (st != NPH_OK || changed == 1)
        return st;
    int64_t used = 0;
    nph_db_stmt *stmt = NULL;
    st = pl_query(db, &stmt, err,
                  "SELECT COALESCE(SUM(used), 0) FROM allocations WHERE provider_id = ? AND "
                  "resource_class = ?",
                  "it", rp->id, inv->resource_class);
    bool row = false;
    if (st == NPH_OK && (st = nph_db_step(stmt, &row, &err->e)) == NPH_OK && row)
        used = nph_db_col_int(stmt, 0);
    if (stmt)
        nph_db_reset(stmt);
    if (st != NPH_OK)
        return st;
    return pl_exec(db, NULL, err,
                   "INSERT INTO inventories (provider_id, resource_class, total, reserved, min_unit, "
                   "max_unit, step_size, allocation_ratio, used, created_at, updated_at) VALUES (?, "
                   "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   "itiiiiiditt", rp->id, inv->resource_class, inv->total, inv->reserved,
                   inv->min_unit, inv->max_unit, inv->step_size, inv->allocation_ratio, used, now,
                   now);
}

static bool listed(const struct placement_inventory *inv, size_t n, const char *resource_class)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(inv[i].resource_class, resource_class) == 0)
            return true;
    return false;
}

/* Remove the rows of classes not in `keep`; those in use stop it, named
 * as Placement names them. */
static nph_status remove_others(nph_db *db, const struct pl_provider *rp,
                                const struct placement_inventory *keep, size_t n,
                                placement_error *err)
{
    nph_auto_json *rows = NULL;
    nph_status st = pl_rows(db, &rows, err,
                            "SELECT resource_class, used FROM inventories WHERE provider_id = ?",
                            "i", rp->id);
    nph_auto_buffer in_use = NPH_BUFFER_INIT;
    for (size_t i = 0; st == NPH_OK && i < json_object_array_length(rows); i++) {
        json_object *row = json_object_array_get_idx(rows, i), *rc = NULL, *used = NULL;
        json_object_object_get_ex(row, "resource_class", &rc);
        json_object_object_get_ex(row, "used", &used);
        const char *name = json_object_get_string(rc);
        if (listed(keep, n, name))
            continue;
        if (json_object_get_int64(used) > 0)
            nph_buffer_appendf(&in_use, "%s%s", in_use.len ? ", " : "", name);
        else
            st = pl_exec(db, NULL, err,
                         "DELETE FROM inventories WHERE provider_id = ? AND resource_class = ?",
                         "it", rp->id, name);
    }
    if (st == NPH_OK && in_use.len)
        return placement_fail(err, NPH_ERR_CONFLICT, PLACEMENT_E_INVENTORY_INUSE,
                              "update conflict: Inventory for '%s' on resource provider '%s' in "
                              "use.",
                              nph_buffer_str(&in_use), rp->uuid);
    return st;
}

nph_status placement_inventories_set(nph_db *db, const char *uuid, int64_t generation,
                                     const struct placement_inventory *inv, size_t n,
                                     bool reserved_may_equal_total, json_object **out,
                                     placement_error *err)
{
    struct pl_provider rp;
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = pl_provider_find(db, uuid, &rp, err);
    if (st == NPH_OK)
        st = pl_generation_check(&rp, generation, err);
    for (size_t i = 0; st == NPH_OK && i < n; i++)
        st = check_inventory(db, &rp, &inv[i], reserved_may_equal_total, err);
    if (st == NPH_OK)
        st = remove_others(db, &rp, inv, n, err);
    for (size_t i = 0; st == NPH_OK && i < n; i++)
        st = pl_inventory_write(db, &rp, &inv[i], err);
    if (st == NPH_OK)
        st = pl_generation_bump(db, &rp, generation, err);
    st = pl_end(db, st, err);
    return st == NPH_OK && out ? inventories_reply(db, &rp, out, err) : st;
}

/* The inventory of one class with the provider's generation. */
static nph_status inventory_reply(nph_db *db, const struct pl_provider *rp, const char *rc,
                                  json_object **out, placement_error *err)
{
    char sql[sizeof(inventory_columns) + 32];
    snprintf(sql, sizeof(sql), "%s AND resource_class = ?", inventory_columns);
    nph_db_stmt *stmt;
    nph_status st = pl_query(db, &stmt, err, sql, "it", rp->id, rc);
    if (st != NPH_OK)
        return st;
    bool row = false;
    st = nph_db_step(stmt, &row, &err->e);
    if (st == NPH_OK && row) {
        *out = inventory_json(stmt, 1);
        nph_json_add_int(*out, "resource_provider_generation", rp->generation);
    }
    nph_db_reset(stmt);
    if (st == NPH_OK && !row)
        return placement_fail(err, NPH_ERR_NOT_FOUND, NULL, "No inventory of class %s for %s", rc,
                              rp->uuid);
    return st;
}

nph_status placement_inventory_put(nph_db *db, const char *uuid, int64_t generation,
                                   const struct placement_inventory *inv, bool create,
                                   bool reserved_may_equal_total, json_object **out,
                                   placement_error *err)
{
    struct pl_provider rp;
    bool exists = false;
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = pl_provider_find(db, uuid, &rp, err);
    if (st == NPH_OK)
        st = pl_generation_check(&rp, generation, err);
    if (st == NPH_OK)
        st = check_inventory(db, &rp, inv, reserved_may_equal_total, err);
    if (st == NPH_OK)
        st = pl_exists(db, &exists, err,
                       "SELECT 1 FROM inventories WHERE provider_id = ? AND resource_class = ?",
                       "it", rp.id, inv->resource_class);
    if (st == NPH_OK && create && exists)
        st = placement_fail(err, NPH_ERR_CONFLICT, PLACEMENT_E_CONCURRENT_UPDATE,
                            "Update conflict: Inventory for '%s' on resource provider '%s' "
                            "already exists.",
                            inv->resource_class, rp.uuid);
    if (st == NPH_OK && !create && !exists)
        st = placement_fail(err, NPH_ERR_INVALID, NULL,
                            "No inventory record with resource class for resource provider %s: "
                            "No inventory of class %s found.",
                            rp.uuid, inv->resource_class);
    if (st == NPH_OK)
        st = pl_inventory_write(db, &rp, inv, err);
    if (st == NPH_OK)
        st = pl_generation_bump(db, &rp, generation, err);
    st = pl_end(db, st, err);
    return st == NPH_OK ? inventory_reply(db, &rp, inv->resource_class, out, err) : st;
}

nph_status placement_inventory_delete(nph_db *db, const char *uuid, const char *resource_class,
                                      placement_error *err)
{
    struct pl_provider rp;
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = pl_provider_find(db, uuid, &rp, err);
    bool used = false;
    if (st == NPH_OK)
        st = pl_exists(db, &used, err,
                       "SELECT 1 FROM inventories WHERE provider_id = ? AND resource_class = ? AND "
                       "used > 0",
                       "it", rp.id, resource_class);
    if (st == NPH_OK && used)
        st = placement_fail(err, NPH_ERR_CONFLICT, PLACEMENT_E_INVENTORY_INUSE,
                            "Unable to delete inventory of class %s: Inventory for '%s' on "
                            "resource provider '%s' in use.",
                            resource_class, resource_class, rp.uuid);
    int64_t changed = 0;
    if (st == NPH_OK)
        st = pl_exec(db, &changed, err,
                     "DELETE FROM inventories WHERE provider_id = ? AND resource_class = ?", "it",
                     rp.id, resource_class);
    if (st == NPH_OK && changed == 0)
        st = placement_fail(err, NPH_ERR_NOT_FOUND, NULL, "No inventory of class %s found for delete",
                            resource_class);
    if (st == NPH_OK)
        st = pl_generation_bump(db, &rp, -1, err);
    return pl_end(db, st, err);
}

/* ---- usages ----------------------------------------------------------------- */

static nph_status usages_from(nph_db_stmt *stmt, json_object **out, placement_error *err)
{
    json_object *usages = json_object_new_object();
    bool row = false;
    nph_status st;
    while ((st = nph_db_step(stmt, &row, &err->e)) == NPH_OK && row)
        nph_json_add_int(usages, nph_db_col_text(stmt, 0), nph_db_col_int(stmt, 1));
    nph_db_reset(stmt);
    if (st != NPH_OK) {
        json_object_put(usages);
        return st;
    }
    *out = json_object_new_object();
    json_object_object_add(*out, "usages", usages);
    return NPH_OK;
}

nph_status placement_provider_usages(nph_db *db, const char *uuid, json_object **out,
                                     placement_error *err)
{
    struct pl_provider rp;
    nph_status st = pl_provider_find(db, uuid, &rp, err);
    nph_db_stmt *stmt;
    if (st == NPH_OK)
        st = pl_query(db, &stmt, err,
                      "SELECT resource_class, used FROM inventories WHERE provider_id = ? ORDER BY id",
                      "i", rp.id);
    if (st == NPH_OK)
        st = usages_from(stmt, out, err);
    if (st == NPH_OK)
        nph_json_add_int(*out, "resource_provider_generation", rp.generation);
    return st;
}

nph_status placement_project_usages(nph_db *db, const char *project_id, const char *user_id,
                                    json_object **out, placement_error *err)
{
    nph_db_stmt *stmt;
    nph_status st =
        user_id ? pl_query(db, &stmt, err,
                           "SELECT a.resource_class, SUM(a.used) FROM allocations a JOIN consumers c "
                           "ON c.uuid = a.consumer_uuid WHERE c.project_id = ? AND c.user_id = ? "
                           "GROUP BY a.resource_class ORDER BY a.resource_class",
                           "tt", project_id, user_id)
                : pl_query(db, &stmt, err,
                           "SELECT a.resource_class, SUM(a.used) FROM allocations a JOIN consumers c "
                           "ON c.uuid = a.consumer_uuid WHERE c.project_id = ? GROUP BY "
                           "a.resource_class ORDER BY a.resource_class",
                           "t", project_id);
    return st == NPH_OK ? usages_from(stmt, out, err) : st;
}
