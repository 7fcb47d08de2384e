/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Resource providers: one tree per root, named uniquely; their traits and
 * aggregates, each change bumping the generation. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "placement-internal.h"

nph_status placement_provider_get(nph_db *db, const char *uuid, json_object **out,
                                  placement_error *err)
{
    struct pl_provider rp;
    nph_status st = pl_provider_find(db, uuid, &rp, err);
    if (st == NPH_OK)
        *out = pl_provider_json(&rp);
    return st;
}

/* NPH_ERR_CONFLICT when another provider holds `column` = `value`. */
static nph_status refuse_taken(nph_db *db, const char *column, const char *value,
                               const char *self_uuid, placement_error *err)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT uuid FROM resource_providers WHERE %s = ?", column);
    nph_db_stmt *stmt;
    nph_status st = pl_query(db, &stmt, err, sql, "t", value);
    if (st != NPH_OK)
        return st;
    bool row = false;
    st = nph_db_step(stmt, &row, &err->e);
    bool taken = st == NPH_OK && row && (!self_uuid || strcmp(nph_db_col_text(stmt, 0), self_uuid));
    nph_db_reset(stmt);
    if (taken)
        return placement_fail(err, NPH_ERR_CONFLICT, PLACEMENT_E_DUPLICATE_NAME,
                              "Conflicting resource provider %s: %s already exists.", column, value);
    return st;
}

/* The root of a new child of `parent_uuid`, which must exist. */
static nph_status parent_root(nph_db *db, const char *parent_uuid, const char *what,
                              char root[NPH_UUID_STRLEN + 1], placement_error *err)
{
    struct pl_provider parent;
    nph_status st = pl_provider_find(db, parent_uuid, &parent, err);
    if (st == NPH_ERR_NOT_FOUND)
        return placement_fail(err, NPH_ERR_INVALID, NULL, "%s: parent provider UUID does not exist.",
                              what);
    if (st == NPH_OK)
        snprintf(root, NPH_UUID_STRLEN + 1, "%s", parent.root);
    return st;
}

static nph_status insert_provider(nph_db *db, const char *uuid, const char *name,
                                  const char *parent_uuid, placement_error *err)
{
    char what[PLACEMENT_NAME_MAX + 100], root[NPH_UUID_STRLEN + 1];
    snprintf(what, sizeof(what), "Unable to create resource provider \"%s\", %s", name, uuid);
    snprintf(root, sizeof(root), "%s", uuid);
    nph_status st = refuse_taken(db, "uuid", uuid, NULL, err);
    if (st == NPH_OK)
        st = refuse_taken(db, "name", name, NULL, err);
    if (st == NPH_OK && parent_uuid)
        st = parent_root(db, parent_uuid, what, root, err);
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    if (st == NPH_OK)
        st = pl_exec(db, NULL, err,
                     "INSERT INTO resource_providers (uuid, name, generation, parent_provider_uuid, "
                     "root_provider_uuid, created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?, ?)",
                     "tttttt", uuid, name, parent_uuid, root, now, now);
    if (st == NPH_ERR_CONFLICT && !err->code) /* a concurrent create won */
        err->code = PLACEMENT_E_DUPLICATE_NAME;
    return st;
}

nph_status placement_provider_create(nph_db *db, const char *uuid, const char *name,
                                     const char *parent_uuid, json_object **out,
                                     placement_error *err)
{
    if ((uuid && !nph_uuid_is_valid(uuid)) || (parent_uuid && !nph_uuid_is_valid(parent_uuid)))
        return placement_fail(err, NPH_ERR_INVALID, NULL, "'%s' is not a 'uuid'",
                              uuid && !nph_uuid_is_valid(uuid) ? uuid : parent_uuid);
    /* Placement writes uuids in lower case whatever the client sent. */
    char id[NPH_UUID_STRLEN + 1];
    if (uuid)
        for (size_t i = 0; i <= NPH_UUID_STRLEN; i++)
            id[i] = (char)tolower((unsigned char)uuid[i]);
    else
        nph_uuid_generate(id);
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = insert_provider(db, id, name, parent_uuid, err);
    st = pl_end(db, st, err);
    return st == NPH_OK ? placement_provider_get(db, id, out, err) : st;
}

/* Give a provider without a parent one: its whole tree moves under the
 * parent's root.  Re-parenting and un-parenting are refused, as Placement
 * did before 1.37. */
static nph_status set_parent(nph_db *db, struct pl_provider *rp, const char *parent_uuid,
                             placement_error *err)
{
    char what[NPH_UUID_STRLEN + 80];
    snprintf(what, sizeof(what), "Unable to save resource provider %s", rp->uuid);
    bool same = parent_uuid && strcmp(rp->parent, parent_uuid) == 0;
    if (same || (!parent_uuid && !rp->parent[0]))
        return NPH_OK;
    if (rp->parent[0])
        return placement_fail(err, NPH_ERR_INVALID, NULL,
                              "%s: Object action update failed because: %s", what,
                              parent_uuid ? "re-parenting a provider is not currently allowed."
                                          : "un-parenting a provider is not currently allowed.");
    char root[NPH_UUID_STRLEN + 1];
    nph_status st = parent_root(db, parent_uuid, what, root, err);
    if (st == NPH_OK && strcmp(root, rp->root) == 0)
        return placement_fail(err, NPH_ERR_INVALID, NULL,
                              "%s: Object action update failed because: creating loop in the "
                              "provider tree is not allowed.",
                              what);
    if (st == NPH_OK)
        st = pl_exec(db, NULL, err, "UPDATE resource_providers SET parent_provider_uuid = ? WHERE id = ?",
                     "ti", parent_uuid, rp->id);
    if (st == NPH_OK)
        st = pl_exec(db, NULL, err,
                     "UPDATE resource_providers SET root_provider_uuid = ? WHERE root_provider_uuid = ?",
                     "tt", root, rp->root);
    return st;
}

nph_status placement_provider_update(nph_db *db, const char *uuid, const char *name,
                                     bool want_parent, const char *parent_uuid, json_object **out,
                                     placement_error *err)
{
    struct pl_provider rp;
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = pl_provider_find(db, uuid, &rp, err);
    if (st == NPH_OK && name)
        st = refuse_taken(db, "name", name, rp.uuid, err);
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    if (st == NPH_OK && name)
        st = pl_exec(db, NULL, err, "UPDATE resource_providers SET name = ?, updated_at = ? WHERE id = ?",
                     "tti", name, now, rp.id);
    if (st == NPH_OK && want_parent)
        st = set_parent(db, &rp, parent_uuid, err);
    st = pl_end(db, st, err);
    return st == NPH_OK ? placement_provider_get(db, uuid, out, err) : st;
}

nph_status placement_provider_delete(nph_db *db, const char *uuid, placement_error *err)
{
    struct pl_provider rp;
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = pl_provider_find(db, uuid, &rp, err);
    if (st == NPH_ERR_NOT_FOUND)
        placement_fail(err, st, NULL, "No resource provider with uuid %s found for delete", uuid);
    bool allocated = false, parent = false;
    if (st == NPH_OK)
        st = pl_exists(db, &allocated, err, "SELECT 1 FROM allocations WHERE provider_id = ? LIMIT 1",
                       "i", rp.id);
    if (st == NPH_OK)
        st = pl_exists(db, &parent, err,
                       "SELECT 1 FROM resource_providers WHERE parent_provider_uuid = ? LIMIT 1", "t",
                       rp.uuid);
    if (st == NPH_OK && allocated)
        st = placement_fail(err, NPH_ERR_CONFLICT, PLACEMENT_E_PROVIDER_INUSE,
                            "Unable to delete resource provider %s: Resource provider has "
                            "allocations.",
                            uuid);
    else if (st == NPH_OK && parent)
        st = placement_fail(err, NPH_ERR_CONFLICT, PLACEMENT_E_CANNOT_DELETE_PARENT,
                            "Unable to delete parent resource provider %s: It has child resource "
                            "providers.",
                            uuid);
    if (st == NPH_OK)
        st = pl_exec(db, NULL, err, "DELETE FROM resource_providers WHERE id = ?", "i", rp.id);
    return pl_end(db, st, err);
}

nph_status placement_provider_list(nph_db *db, const struct placement_query *q, json_object **out,
                                   placement_error *err)
{
    struct pl_sql s = { .text = NPH_BUFFER_INIT };
    pl_sql_add(&s, "SELECT rp.id, rp.generation, rp.uuid, rp.name, rp.parent_provider_uuid, "
                   "rp.root_provider_uuid");
    pl_sql_filter(&s, q);
    pl_sql_add(&s, " ORDER BY rp.id");
    nph_db_stmt *stmt;
    nph_status st = pl_sql_prepare(db, &s, &stmt, err);
    pl_sql_clear(&s);
    if (st != NPH_OK)
        return st;
    json_object *list = json_object_new_array();
    bool row = false;
    while ((st = nph_db_step(stmt, &row, &err->e)) == NPH_OK && row) {
        struct pl_provider rp = { .id = nph_db_col_int(stmt, 0), .generation = nph_db_col_int(stmt, 1) };
        snprintf(rp.uuid, sizeof(rp.uuid), "%s", nph_db_col_text(stmt, 2));
        snprintf(rp.name, sizeof(rp.name), "%s", nph_db_col_text(stmt, 3));
        const char *parent = nph_db_col_text(stmt, 4);
        snprintf(rp.parent, sizeof(rp.parent), "%s", parent ? parent : "");
        snprintf(rp.root, sizeof(rp.root), "%s", nph_db_col_text(stmt, 5));
        json_object_array_add(list, pl_provider_json(&rp));
    }
    nph_db_reset(stmt);
    if (st != NPH_OK) {
        json_object_put(list);
        return st;
    }
    *out = list;
    return NPH_OK;
}

/* ---- aggregates and traits of a provider --------------------------------- */

/* {"<member>": [names], "resource_provider_generation": N} from a
 * one-column query on the provider's id. */
static nph_status names_of(nph_db *db, const struct pl_provider *rp, const char *sql,
                           const char *member, json_object **out, placement_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = pl_query(db, &stmt, err, sql, "i", rp->id);
    if (st != NPH_OK)
        return st;
    json_object *names = json_object_new_array();
    bool row = false;
    while ((st = nph_db_step(stmt, &row, &err->e)) == NPH_OK && row)
        json_object_array_add(names, json_object_new_string(nph_db_col_text(stmt, 0)));
    nph_db_reset(stmt);
    if (st != NPH_OK) {
        json_object_put(names);
        return st;
    }
    *out = json_object_new_object();
    json_object_object_add(*out, member, names);
    nph_json_add_int(*out, "resource_provider_generation", rp->generation);
    return NPH_OK;
}

static const char aggregates_sql[] =
    "SELECT aggregate_uuid FROM resource_provider_aggregates WHERE provider_id = ? "
    "ORDER BY aggregate_uuid";
static const char traits_sql[] =
    "SELECT trait FROM resource_provider_traits WHERE provider_id = ? ORDER BY trait";

nph_status placement_aggregates_get(nph_db *db, const char *uuid, json_object **out,
                                    placement_error *err)
{
    struct pl_provider rp;
    nph_status st = pl_provider_find(db, uuid, &rp, err);
    return st == NPH_OK ? names_of(db, &rp, aggregates_sql, "aggregates", out, err) : st;
}

nph_status placement_provider_traits_get(nph_db *db, const char *uuid, json_object **out,
                                         placement_error *err)
{
    struct pl_provider rp;
    nph_status st = pl_provider_find(db, uuid, &rp, err);
    return st == NPH_OK ? names_of(db, &rp, traits_sql, "traits", out, err) : st;
}

/* Replace the rows of `table` (provider_id, `column`) with `names`. */
static nph_status replace_names(nph_db *db, const struct pl_provider *rp, const char *table,
                                const char *column, json_object *names, placement_error *err)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE provider_id = ?", table);
    nph_status st = pl_exec(db, NULL, err, sql, "i", rp->id);
    snprintf(sql, sizeof(sql), "INSERT INTO %s (provider_id, %s) VALUES (?, ?)", table, column);
    json_object *seen = json_object_new_object();
    for (size_t i = 0; st == NPH_OK && i < json_object_array_length(names); i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(names, i));
        if (json_object_object_get_ex(seen, name, NULL))
            continue; /* Placement takes a set */
        json_object_object_add(seen, name, NULL);
        st = pl_exec(db, NULL, err, sql, "it", rp->id, name);
    }
    json_object_put(seen);
    return st;
}

nph_status placement_aggregates_set(nph_db *db, const char *uuid, int64_t generation,
                                    json_object *aggregates, json_object **out,
                                    placement_error *err)
{
    if (!json_object_is_type(aggregates, json_type_array))
        return placement_fail(err, NPH_ERR_INVALID, NULL, "the aggregates must be a list");
    struct pl_provider rp;
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = pl_provider_find(db, uuid, &rp, err);
    if (st == NPH_OK)
        st = pl_generation_bump(db, &rp, generation, err);
    if (st == NPH_OK)
        st = replace_names(db, &rp, "resource_provider_aggregates", "aggregate_uuid", aggregates,
                           err);
    st = pl_end(db, st, err);
    return st == NPH_OK ? names_of(db, &rp, aggregates_sql, "aggregates", out, err) : st;
}

/* Every name must be a trait; Placement names all the missing ones. */
static nph_status check_traits(nph_db *db, json_object *traits, placement_error *err)
{
    nph_auto_buffer missing = NPH_BUFFER_INIT;
    for (size_t i = 0; i < json_object_array_length(traits); i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(traits, i));
        bool exists = false;
        nph_status st = placement_trait_exists(db, name, &exists, err);
        if (st != NPH_OK)
            return st;
        if (!exists)
            nph_buffer_appendf(&missing, "%s%s", missing.len ? ", " : "", name);
    }
    if (missing.len)
        return placement_fail(err, NPH_ERR_INVALID, NULL, "No such trait(s): %s.",
                              nph_buffer_str(&missing));
    return NPH_OK;
}

nph_status placement_provider_traits_set(nph_db *db, const char *uuid, int64_t generation,
                                         json_object *traits, json_object **out,
                                         placement_error *err)
{
    if (!json_object_is_type(traits, json_type_array))
        return placement_fail(err, NPH_ERR_INVALID, NULL, "the traits must be a list");
    struct pl_provider rp;
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = pl_provider_find(db, uuid, &rp, err);
    if (st == NPH_OK)
        st = pl_generation_check(&rp, generation, err);
    if (st == NPH_OK)
        st = check_traits(db, traits, err);
    if (st == NPH_OK)
        st = pl_generation_bump(db, &rp, generation, err);
    if (st == NPH_OK)
        st = replace_names(db, &rp, "resource_provider_traits", "trait", traits, err);
    st = pl_end(db, st, err);
    return st == NPH_OK ? names_of(db, &rp, traits_sql, "traits", out, err) : st;
}

nph_status placement_provider_traits_delete(nph_db *db, const char *uuid, placement_error *err)
{
    struct pl_provider rp;
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = pl_provider_find(db, uuid, &rp, err);
    if (st == NPH_OK)
        st = pl_generation_bump(db, &rp, -1, err);
    if (st == NPH_OK)
        st = pl_exec(db, NULL, err, "DELETE FROM resource_provider_traits WHERE provider_id = ?",
                     "i", rp.id);
    return pl_end(db, st, err);
}
