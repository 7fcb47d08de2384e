/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Allocation candidates: the providers with room for a request, found by
 * one statement however many providers there are.  The filter
 * (placement-query.c) joins one inventory row per requested class through
 * the (provider_id, resource_class) key and compares its `used` with its
 * capacity; traits and aggregates are EXISTS probes on their primary keys.
 * The candidates feed a CTE that the provider summaries (all inventories)
 * and their traits join, so building the answer is two more index walks,
 * not a query per provider.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "placement-internal.h"

/* "WITH c AS (the candidates) " */
static void candidates_cte(struct pl_sql *s, const struct placement_query *q)
{
    pl_sql_add(s, "WITH c AS (SELECT rp.id, rp.uuid, rp.parent_provider_uuid, "
                  "rp.root_provider_uuid");
    pl_sql_filter(s, q);
    if (q->limit > 0) {
        pl_sql_add(s, " LIMIT ");
        pl_sql_int(s, q->limit);
    }
    pl_sql_add(s, ") ");
}

static json_object *member_or_new(json_object *obj, const char *key, json_type type)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v)) {
        v = type == json_type_array ? json_object_new_array() : json_object_new_object();
        json_object_object_add(obj, key, v);
    }
    return v;
}

/* The allocation request a single-provider candidate makes. */
static json_object *allocation_request(const struct placement_query *q, const char *uuid)
{
    json_object *resources = json_object_new_object();
    for (size_t i = 0; i < q->n_resources; i++)
        nph_json_add_int(resources, q->resources[i].resource_class, q->resources[i].amount);
    json_object *per = json_object_new_object(), *allocations = json_object_new_object();
    json_object_object_add(per, "resources", resources);
    json_object_object_add(allocations, uuid, per);
    json_object *mapping = json_object_new_array(), *mappings = json_object_new_object();
    json_object_array_add(mapping, json_object_new_string(uuid));
    json_object_object_add(mappings, "", mapping);
    json_object *request = json_object_new_object();
    json_object_object_add(request, "allocations", allocations);
    json_object_object_add(request, "mappings", mappings);
    return request;
}

/* A summary row: c.uuid, parent, root, class, total, reserved, ratio, used. */
static void add_summary_row(json_object *body, const struct placement_query *q,
                            nph_db_stmt *stmt)
{
    json_object *summaries = member_or_new(body, "provider_summaries", json_type_object);
    const char *uuid = nph_db_col_text(stmt, 0);
    json_object *summary = NULL;
    if (!json_object_object_get_ex(summaries, uuid, &summary)) {
        summary = json_object_new_object();
        json_object_object_add(summary, "resources", json_object_new_object());
        json_object_object_add(summary, "traits", json_object_new_array());
        nph_json_add_string(summary, "parent_provider_uuid", nph_db_col_text(stmt, 1));
        nph_json_add_string(summary, "root_provider_uuid", nph_db_col_text(stmt, 2));
        json_object_object_add(summaries, uuid, summary);
        json_object_array_add(member_or_new(body, "allocation_requests", json_type_array),
                              allocation_request(q, uuid));
    }
    json_object *resource = json_object_new_object();
    nph_json_add_int(resource, "capacity",
                     pl_capacity(nph_db_col_int(stmt, 4), nph_db_col_int(stmt, 5),
                                 nph_db_col_double(stmt, 6)));
    nph_json_add_int(resource, "used", nph_db_col_int(stmt, 7));
    json_object *resources = NULL;
    json_object_object_get_ex(summary, "resources", &resources);
    json_object_object_add(resources, nph_db_col_text(stmt, 3), resource);
}

static nph_status read_summaries(nph_db *db, const struct placement_query *q, json_object *body,
                                 placement_error *err)
{
    struct pl_sql s = { .text = NPH_BUFFER_INIT };
    candidates_cte(&s, q);
    pl_sql_add(&s, "SELECT c.uuid, c.parent_provider_uuid, c.root_provider_uuid, i.resource_class, "
                   "i.total, i.reserved, i.allocation_ratio, i.used FROM c JOIN inventories i ON "
                   "i.provider_id = c.id");
    nph_db_stmt *stmt;
    nph_status st = pl_sql_prepare(db, &s, &stmt, err);
    pl_sql_clear(&s);
    if (st != NPH_OK)
        return st;
    bool row = false;
    while ((st = nph_db_step(stmt, &row, &err->e)) == NPH_OK && row)
        add_summary_row(body, q, stmt);
    nph_db_reset(stmt);
    return st;
}

static nph_status read_traits(nph_db *db, const struct placement_query *q, json_object *body,
                              placement_error *err)
{
    struct pl_sql s = { .text = NPH_BUFFER_INIT };
    candidates_cte(&s, q);
    /* No ORDER BY: the (provider_id, trait) key hands each provider's
     * traits over in name order already, and a sort would cost more than
     * the rest of the query. */
    pl_sql_add(&s, "SELECT c.uuid, t.trait FROM c JOIN resource_provider_traits t ON "
                   "t.provider_id = c.id");
    nph_db_stmt *stmt;
    nph_status st = pl_sql_prepare(db, &s, &stmt, err);
    pl_sql_clear(&s);
    if (st != NPH_OK)
        return st;
    json_object *summaries = member_or_new(body, "provider_summaries", json_type_object);
    bool row = false;
    while ((st = nph_db_step(stmt, &row, &err->e)) == NPH_OK && row) {
        json_object *summary = NULL, *traits = NULL;
        /* A provider that changed between the two reads is left as it was. */
        if (json_object_object_get_ex(summaries, nph_db_col_text(stmt, 0), &summary) &&
            json_object_object_get_ex(summary, "traits", &traits))
            json_object_array_add(traits, json_object_new_string(nph_db_col_text(stmt, 1)));
    }
    nph_db_reset(stmt);
    return st;
}

nph_status placement_candidates(nph_db *db, const struct placement_query *q, json_object **out,
                                placement_error *err)
{
    json_object *body = json_object_new_object();
    member_or_new(body, "allocation_requests", json_type_array);
    member_or_new(body, "provider_summaries", json_type_object);
    nph_status st = q->n_resources ? read_summaries(db, q, body, err) : NPH_OK;
    if (st == NPH_OK && q->n_resources)
        st = read_traits(db, q, body, err);
    if (st != NPH_OK) {
        json_object_put(body);
        return st;
    }
    *out = body;
    return NPH_OK;
}

nph_status placement_candidates_each(nph_db *db, const struct placement_query *q,
                                     placement_candidate_fn each, void *opaque,
                                     placement_error *err)
{
    if (!q->n_resources)
        return NPH_OK;
    struct pl_sql s = { .text = NPH_BUFFER_INIT };
    pl_sql_add(&s, "SELECT rp.uuid, rp.root_provider_uuid");
    for (size_t i = 0; i < q->n_resources; i++)
        pl_sql_add(&s, ", r%zu.total, r%zu.reserved, r%zu.allocation_ratio, r%zu.used", i, i, i, i);
    pl_sql_filter(&s, q);
    if (q->limit > 0) {
        pl_sql_add(&s, " LIMIT ");
        pl_sql_int(&s, q->limit);
    }
    nph_db_stmt *stmt;
    nph_status st = pl_sql_prepare(db, &s, &stmt, err);
    pl_sql_clear(&s);
    if (st != NPH_OK)
        return st;
    bool row = false, more = true;
    while (more && (st = nph_db_step(stmt, &row, &err->e)) == NPH_OK && row) {
        struct placement_candidate c = { .uuid = nph_db_col_text(stmt, 0),
                                         .root_uuid = nph_db_col_text(stmt, 1) };
        for (size_t i = 0; i < q->n_resources; i++) {
            int col = 2 + 4 * (int)i;
            c.capacity[i] = pl_capacity(nph_db_col_int(stmt, col), nph_db_col_int(stmt, col + 1),
                                        nph_db_col_double(stmt, col + 2));
            c.used[i] = nph_db_col_int(stmt, col + 3);
        }
        more = each(opaque, &c);
    }
    nph_db_reset(stmt);
    return st;
}
