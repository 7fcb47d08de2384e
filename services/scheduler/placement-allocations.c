/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Allocations: what each consumer uses of each provider.  A write replaces
 * all of a consumer's allocations in one transaction, as Placement's
 * replace_all: the old ones go, the new ones must fit the inventories
 * (capacity, min_unit, max_unit, step_size), and the generations of the
 * providers that receive allocations and of the consumer are checked and
 * bumped, so two schedulers racing for the last room cannot both win.
 * inventories.used follows every allocation row in the same transaction.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "placement-internal.h"

/* Placement's [placement] incomplete_consumer_project_id and _user_id. */
#define INCOMPLETE_CONSUMER "00000000-0000-0000-0000-000000000000"

/* The providers a transaction gives allocations to, each bumped once. */
struct visited {
    struct pl_provider *rp;
    size_t n, cap;
};

static nph_status visit(nph_db *db, struct visited *v, const char *uuid, struct pl_provider **out,
                        placement_error *err)
{
    for (size_t i = 0; i < v->n; i++) {
        if (strcmp(v->rp[i].uuid, uuid) == 0) {
            *out = &v->rp[i];
            return NPH_OK;
        }
    }
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        struct pl_provider *grown = realloc(v->rp, cap * sizeof(*grown));
        if (!grown)
            return placement_fail(err, NPH_ERR_NO_MEMORY, NULL, "out of memory");
        v->rp = grown;
        v->cap = cap;
    }
    nph_status st = pl_provider_find(db, uuid, &v->rp[v->n], err);
    if (st == NPH_ERR_NOT_FOUND)
        return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_PROVIDER_NOT_FOUND,
                              "Allocation for resource provider '%s' that does not exist.", uuid);
    if (st == NPH_OK)
        *out = &v->rp[v->n++];
    return st;
}

struct consumer_row {
    bool exists;
    int64_t id, generation;
};

static nph_status consumer_find(nph_db *db, const char *uuid, struct consumer_row *c,
                                placement_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = pl_query(db, &stmt, err, "SELECT id, generation FROM consumers WHERE uuid = ?",
                             "t", uuid);
    if (st != NPH_OK)
        return st;
    c->exists = false;
    st = nph_db_step(stmt, &c->exists, &err->e);
    if (st == NPH_OK && c->exists) {
        c->id = nph_db_col_int(stmt, 0);
        c->generation = nph_db_col_int(stmt, 1);
    }
    nph_db_reset(stmt);
    return st;
}

static nph_status consumer_conflict(const struct consumer_row *row, int64_t expected,
                                    placement_error *err)
{
    char have[24] = "null", want[24] = "None";
    if (row->exists)
        snprintf(have, sizeof(have), "%lld", (long long)row->generation);
    if (expected >= 0)
        snprintf(want, sizeof(want), "%lld", (long long)expected);
    return placement_fail(err, NPH_ERR_CONFLICT, PLACEMENT_E_CONCURRENT_UPDATE,
                          "consumer generation conflict - expected %s but got %s", have, want);
}

/* The consumer record as the request wants it: the generation it named
 * must be current (null: no consumer yet); created or updated. */
static nph_status consumer_ensure(nph_db *db, const struct placement_consumer *c,
                                  struct consumer_row *row, placement_error *err)
{
    nph_status st = consumer_find(db, c->uuid, row, err);
    if (st != NPH_OK)
        return st;
    bool checked = c->generation != PLACEMENT_GENERATION_ANY;
    bool current = row->exists ? c->generation == row->generation
                               : c->generation == PLACEMENT_GENERATION_NEW;
    if (checked && !current)
        return consumer_conflict(row, c->generation, err);
    const char *project = c->project_id ? c->project_id : INCOMPLETE_CONSUMER;
    const char *user = c->user_id ? c->user_id : INCOMPLETE_CONSUMER;
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    if (!row->exists && c->n_allocations == 0)
        return NPH_OK;
    if (row->exists)
        return pl_exec(db, NULL, err,
                       "UPDATE consumers SET project_id = ?, user_id = ?, updated_at = ? WHERE id = ?",
                       "ttti", project, user, now, row->id);
    st = pl_exec(db, NULL, err,
                 "INSERT INTO consumers (uuid, project_id, user_id, generation, created_at, "
                 "updated_at) VALUES (?, ?, ?, 0, ?, ?)",
                 "ttttt", c->uuid, project, user, now, now);
    if (st == NPH_ERR_CONFLICT) /* another request created it meanwhile */
        return consumer_conflict(row, c->generation, err);
    return st == NPH_OK ? consumer_find(db, c->uuid, row, err) : st;
}

/* Take the consumer's allocations back out of the inventories and drop them. */
static nph_status remove_allocations(nph_db *db, const char *consumer, int64_t *removed,
                                     placement_error *err)
{
    nph_auto_json *rows = NULL;
    nph_status st = pl_rows(db, &rows, err,
                            "SELECT provider_id, resource_class, used FROM allocations WHERE "
                            "consumer_uuid = ?",
                            "t", consumer);
    *removed = st == NPH_OK ? (int64_t)json_object_array_length(rows) : 0;
    for (size_t i = 0; st == NPH_OK && i < json_object_array_length(rows); i++) {
        json_object *row = json_object_array_get_idx(rows, i), *p, *rc, *used;
        json_object_object_get_ex(row, "provider_id", &p);
        json_object_object_get_ex(row, "resource_class", &rc);
        json_object_object_get_ex(row, "used", &used);
        st = pl_exec(db, NULL, err,
                     "UPDATE inventories SET used = used - ? WHERE provider_id = ? AND "
                     "resource_class = ?",
                     "iit", json_object_get_int64(used), json_object_get_int64(p),
                     json_object_get_string(rc));
    }
    if (st == NPH_OK && *removed)
        st = pl_exec(db, NULL, err, "DELETE FROM allocations WHERE consumer_uuid = ?", "t", consumer);
    return st;
}

/* After adding `amount`, the row must still respect its limits. */
static nph_status check_fit(nph_db *db, const struct pl_provider *rp, const char *rc,
                            int64_t amount, placement_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = pl_query(db, &stmt, err,
                             "SELECT total, reserved, allocation_ratio, used, min_unit, max_unit, "
                             "step_size FROM inventories WHERE provider_id = ? AND resource_class = ?",
                             "it", rp->id, rc);
    if (st != NPH_OK)
        return st;
    bool row = false, capacity_ok = true, units_ok = true;
    st = nph_db_step(stmt, &row, &err->e);
    if (st == NPH_OK && row) {
        int64_t step = nph_db_col_int(stmt, 6);
        capacity_ok = nph_db_col_int(stmt, 3) <= pl_capacity(nph_db_col_int(stmt, 0),
                                                             nph_db_col_int(stmt, 1),
                                                             nph_db_col_double(stmt, 2));
        units_ok = amount >= nph_db_col_int(stmt, 4) && amount <= nph_db_col_int(stmt, 5) &&
                   step > 0 && amount % step == 0;
    }
    nph_db_reset(stmt);
    if (st == NPH_OK && !units_ok)
        return placement_fail(err, NPH_ERR_CONFLICT, NULL,
                              "Unable to allocate inventory: Allocation for resource class '%s' on "
                              "resource provider '%s' violates min_unit, max_unit, or step_size.",
                              rc, rp->uuid);
    if (st == NPH_OK && !capacity_ok)
        return placement_fail(err, NPH_ERR_CONFLICT, NULL,
                              "Unable to allocate inventory: Unable to create allocation for '%s' "
                              "on resource provider '%s'. The requested amount would exceed the "
                              "capacity.",
                              rc, rp->uuid);
    return st;
}

static nph_status add_allocation(nph_db *db, const char *consumer, const struct pl_provider *rp,
                                 const struct placement_allocation *a, const char *now,
                                 placement_error *err)
{
    int64_t changed = 0;
    nph_status st = pl_exec(db, &changed, err,
                            "UPDATE inventories SET used = used + ? WHERE provider_id = ? AND "
                            "resource_class = ?",
                            "iit", a->used, rp->id, a->resource_class);
    if (st == NPH_OK && changed == 0)
        return placement_fail(err, NPH_ERR_CONFLICT, NULL,
                              "Unable to allocate inventory: Inventory for '%s' on resource "
                              "provider '%s' invalid.",
                              a->resource_class, rp->uuid);
    if (st == NPH_OK)
        st = check_fit(db, rp, a->resource_class, a->used, err);
    if (st == NPH_OK)
        st = pl_exec(db, NULL, err,
                     "INSERT INTO allocations (consumer_uuid, provider_id, resource_class, used, "
                     "created_at) VALUES (?, ?, ?, ?, ?)",
                     "titit", consumer, rp->id, a->resource_class, a->used, now);
    return st;
}

static nph_status check_classes(nph_db *db, const struct placement_consumer *c,
                                placement_error *err)
{
    for (size_t i = 0; i < c->n_allocations; i++) {
        bool exists = false;
        nph_status st = placement_class_exists(db, c->allocations[i].resource_class, &exists, err);
        if (st == NPH_OK && !exists)
            st = placement_fail(err, NPH_ERR_INVALID, NULL,
                                "Unable to allocate inventory for consumer %s: No such resource "
                                "class %s.",
                                c->uuid, c->allocations[i].resource_class);
        if (st != NPH_OK)
            return st;
    }
    return NPH_OK;
}

/* The consumer's generation moves on with its allocations; a consumer
 * left without any is forgotten, as Placement forgets it. */
static nph_status consumer_settle(nph_db *db, const struct placement_consumer *c,
                                  const struct consumer_row *row, placement_error *err)
{
    if (!row->exists)
        return NPH_OK;
    if (c->n_allocations == 0)
        return pl_exec(db, NULL, err, "DELETE FROM consumers WHERE id = ?", "i", row->id);
    int64_t changed = 0;
    nph_status st = pl_exec(db, &changed, err,
                            "UPDATE consumers SET generation = generation + 1 WHERE id = ? AND "
                            "generation = ?",
                            "ii", row->id, row->generation);
    if (st == NPH_OK && changed != 1)
        return consumer_conflict(row, c->generation, err);
    return st;
}

static nph_status replace_one(nph_db *db, const struct placement_consumer *c, struct visited *v,
                              placement_error *err)
{
    nph_status st = check_classes(db, c, err);
    struct pl_provider *rp = NULL;
    for (size_t i = 0; st == NPH_OK && i < c->n_allocations; i++)
        st = visit(db, v, c->allocations[i].provider_uuid, &rp, err);
    struct consumer_row row = { 0 };
    if (st == NPH_OK)
        st = consumer_ensure(db, c, &row, err);
    int64_t removed = 0;
    if (st == NPH_OK)
        st = remove_allocations(db, c->uuid, &removed, err);
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    for (size_t i = 0; st == NPH_OK && i < c->n_allocations; i++) {
        st = visit(db, v, c->allocations[i].provider_uuid, &rp, err);
        if (st == NPH_OK)
            st = add_allocation(db, c->uuid, rp, &c->allocations[i], now, err);
    }
    return st == NPH_OK ? consumer_settle(db, c, &row, err) : st;
}

nph_status placement_allocations_replace(nph_db *db, const struct placement_consumer *consumers,
                                         size_t n, placement_error *err)
{
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = placement_allocations_replace_in(db, consumers, n, err);
    return pl_end(db, st, err);
}

nph_status placement_allocations_replace_in(nph_db *db, const struct placement_consumer *consumers,
                                            size_t n, placement_error *err)
{
    struct visited v = { 0 };
    nph_status st = NPH_OK;
    err->code = NULL;
    for (size_t i = 0; st == NPH_OK && i < n; i++)
        st = replace_one(db, &consumers[i], &v, err);
    /* Last, so the generations read first catch any writer in between. */
    for (size_t i = 0; st == NPH_OK && i < v.n; i++) {
        st = pl_generation_bump(db, &v.rp[i], v.rp[i].generation, err);
        if (st == NPH_ERR_CONFLICT)
            placement_fail(err, st, PLACEMENT_E_CONCURRENT_UPDATE,
                           "Inventory and/or allocations changed while attempting to allocate: "
                           "Another thread concurrently updated the data. Please retry your "
                           "update");
    }
    free(v.rp);
    return st;
}

nph_status placement_allocations_of(nph_db *db, const char *consumer_uuid,
                                    struct placement_allocation **out, size_t *n,
                                    placement_error *err)
{
    *out = NULL;
    *n = 0;
    nph_auto_json *rows = NULL;
    nph_status st = pl_rows(db, &rows, err,
                            "SELECT rp.uuid, a.resource_class, a.used FROM allocations a JOIN "
                            "resource_providers rp ON rp.id = a.provider_id WHERE "
                            "a.consumer_uuid = ? ORDER BY a.id",
                            "t", consumer_uuid);
    size_t count = st == NPH_OK ? json_object_array_length(rows) : 0;
    if (count && !(*out = calloc(count, sizeof(**out))))
        return placement_fail(err, NPH_ERR_NO_MEMORY, NULL, "out of memory");
    for (size_t i = 0; i < count; i++) {
        json_object *row = json_object_array_get_idx(rows, i), *v = NULL;
        json_object_object_get_ex(row, "uuid", &v);
        snprintf((*out)[i].provider_uuid, sizeof((*out)[i].provider_uuid), "%s",
                 json_object_get_string(v));
        json_object_object_get_ex(row, "resource_class", &v);
        snprintf((*out)[i].resource_class, sizeof((*out)[i].resource_class), "%s",
                 json_object_get_string(v));
        json_object_object_get_ex(row, "used", &v);
        (*out)[i].used = json_object_get_int64(v);
    }
    *n = count;
    return st;
}

/* ---- reads ---------------------------------------------------------------- */

static json_object *member_or_new(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v)) {
        v = json_object_new_object();
        json_object_object_add(obj, key, v);
    }
    return v;
}

nph_status placement_allocations_get(nph_db *db, const char *consumer_uuid, json_object **out,
                                     placement_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = pl_query(db, &stmt, err,
                             "SELECT rp.uuid, rp.generation, a.resource_class, a.used, c.project_id, "
                             "c.user_id, c.generation FROM allocations a JOIN resource_providers rp "
                             "ON rp.id = a.provider_id LEFT JOIN consumers c ON c.uuid = "
                             "a.consumer_uuid WHERE a.consumer_uuid = ? ORDER BY a.id",
                             "t", consumer_uuid);
    if (st != NPH_OK)
        return st;
    json_object *body = json_object_new_object(), *allocs = json_object_new_object();
    json_object_object_add(body, "allocations", allocs);
    bool row = false, any = false;
    while ((st = nph_db_step(stmt, &row, &err->e)) == NPH_OK && row) {
        json_object *per = member_or_new(allocs, nph_db_col_text(stmt, 0));
        json_object_object_add(per, "generation", json_object_new_int64(nph_db_col_int(stmt, 1)));
        nph_json_add_int(member_or_new(per, "resources"), nph_db_col_text(stmt, 2),
                         nph_db_col_int(stmt, 3));
        if (!any) {
            nph_json_add_string(body, "project_id", nph_db_col_text(stmt, 4));
            nph_json_add_string(body, "user_id", nph_db_col_text(stmt, 5));
            nph_json_add_int(body, "consumer_generation", nph_db_col_int(stmt, 6));
        }
        any = true;
    }
    nph_db_reset(stmt);
    if (st != NPH_OK) {
        json_object_put(body);
        return st;
    }
    *out = body;
    return NPH_OK;
}

nph_status placement_allocations_delete(nph_db *db, const char *consumer_uuid,
                                        placement_error *err)
{
    int64_t removed = 0;
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = remove_allocations(db, consumer_uuid, &removed, err);
    if (st == NPH_OK && removed == 0)
        st = placement_fail(err, NPH_ERR_NOT_FOUND, NULL, "No allocations for consumer '%s'",
                            consumer_uuid);
    if (st == NPH_OK)
        st = pl_exec(db, NULL, err, "DELETE FROM consumers WHERE uuid = ?", "t", consumer_uuid);
    return pl_end(db, st, err);
}

nph_status placement_provider_allocations(nph_db *db, const char *uuid, json_object **out,
                                          placement_error *err)
{
    struct pl_provider rp;
    nph_status st = pl_provider_find(db, uuid, &rp, err);
    if (st == NPH_ERR_NOT_FOUND)
        return placement_fail(err, st, NULL, "Resource provider '%s' not found: No resource "
                                             "provider with uuid %s found",
                              uuid, uuid);
    nph_db_stmt *stmt;
    if (st == NPH_OK)
        st = pl_query(db, &stmt, err,
                      "SELECT a.consumer_uuid, a.resource_class, a.used, c.generation FROM "
                      "allocations a LEFT JOIN consumers c ON c.uuid = a.consumer_uuid WHERE "
                      "a.provider_id = ? ORDER BY a.id",
                      "i", rp.id);
    if (st != NPH_OK)
        return st;
    json_object *allocs = json_object_new_object();
    bool row = false;
    while ((st = nph_db_step(stmt, &row, &err->e)) == NPH_OK && row) {
        json_object *per = member_or_new(allocs, nph_db_col_text(stmt, 0));
        nph_json_add_int(member_or_new(per, "resources"), nph_db_col_text(stmt, 1),
                         nph_db_col_int(stmt, 2));
        json_object_object_add(per, "consumer_generation",
                               nph_db_col_is_null(stmt, 3)
                                   ? NULL
                                   : json_object_new_int64(nph_db_col_int(stmt, 3)));
    }
    nph_db_reset(stmt);
    if (st != NPH_OK) {
        json_object_put(allocs);
        return st;
    }
    *out = json_object_new_object();
    json_object_object_add(*out, "allocations", allocs);
    nph_json_add_int(*out, "resource_provider_generation", rp.generation);
    return NPH_OK;
}
