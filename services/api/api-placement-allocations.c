/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /allocations (per consumer, and POST for several), the allocations on a
 * provider, and /allocation_candidates, in each microversion's shape. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-placement.h"

/* The consumers of one request and the allocation arrays they own. */
struct consumers {
    struct placement_consumer *list;
    size_t n;
};

static void consumers_free(struct consumers *cs)
{
    for (size_t i = 0; i < cs->n; i++)
        free((void *)cs->list[i].allocations);
    free(cs->list);
}

static struct placement_consumer *consumer_add(struct consumers *cs, const char *uuid)
{
    struct placement_consumer *grown = realloc(cs->list, (cs->n + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    cs->list = grown;
    struct placement_consumer *c = &cs->list[cs->n++];
    memset(c, 0, sizeof(*c));
    snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
    c->generation = PLACEMENT_GENERATION_ANY;
    return c;
}

/* {"CLASS": amount >= 1, ...} of one provider into `out`. */
static bool read_resources(struct api_response *resp, json_object *resources, const char *rp,
                           struct placement_allocation *out, size_t *n)
{
    if (json_object_object_length(resources) == 0) {
        pl_invalid(resp, "{} does not have enough properties");
        return false;
    }
    json_object_object_foreach(resources, rc, amount) {
        if (!*rc || strspn(rc, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(rc) ||
            strlen(rc) > PLACEMENT_NAME_MAX) {
            pl_invalid(resp, "Additional properties are not allowed ('%s' was unexpected)", rc);
            return false;
        }
        if (!json_object_is_type(amount, json_type_int) || json_object_get_int64(amount) < 1) {
            pl_invalid(resp, "%s is not a positive integer for %s", nph_json_text(amount), rc);
            return false;
        }
        struct placement_allocation *a = &out[(*n)++];
        snprintf(a->provider_uuid, sizeof(a->provider_uuid), "%s", rp);
        snprintf(a->resource_class, sizeof(a->resource_class), "%s", rc);
        a->used = json_object_get_int64(amount);
    }
    return true;
}

/* The most allocations a body can name, counted before it is checked. */
static size_t count_resources(json_object *allocations, bool list_form)
{
    size_t n = 0;
    if (list_form) {
        for (size_t i = 0; i < json_object_array_length(allocations); i++) {
            json_object *r = api_member(json_object_array_get_idx(allocations, i), "resources");
            n += json_object_is_type(r, json_type_object) ? (size_t)json_object_object_length(r) : 0;
        }
        return n;
    }
    json_object_object_foreach(allocations, rp, per) {
        (void)rp;
        json_object *r = api_member(per, "resources");
        n += json_object_is_type(r, json_type_object) ? (size_t)json_object_object_length(r) : 0;
    }
    return n;
}

/* From 1.12: {RP: {"resources": {...}, "generation": ignored}} */
static bool read_dict(struct api_response *resp, json_object *allocations,
                      struct placement_allocation *out, size_t *n)
{
    static const char *const keys[] = { "resources", "generation", NULL };
    json_object_object_foreach(allocations, rp, per) {
        json_object *resources = NULL;
        if (!nph_uuid_is_valid(rp)) {
            pl_invalid(resp, "Additional properties are not allowed ('%s' was unexpected)", rp);
            return false;
        }
        if (!json_object_is_type(per, json_type_object)) {
            pl_invalid(resp, "%s is not of type 'object'", nph_json_text(per));
            return false;
        }
        if (!pl_only_members(resp, per, keys) ||
            !pl_member(resp, per, "resources", json_type_object, &resources) ||
            !read_resources(resp, resources, rp, out, n))
            return false;
    }
    return true;
}

/* Before 1.12: [{"resource_provider": {"uuid": RP}, "resources": {...}}] */
static bool read_list(struct api_response *resp, json_object *allocations,
                      struct placement_allocation *out, size_t *n)
{
    static const char *const keys[] = { "resource_provider", "resources", NULL };
    for (size_t i = 0; i < json_object_array_length(allocations); i++) {
        json_object *item = json_object_array_get_idx(allocations, i), *rp = NULL, *uuid = NULL,
                    *resources = NULL;
        if (!json_object_is_type(item, json_type_object)) {
            pl_invalid(resp, "%s is not of type 'object'", nph_json_text(item));
            return false;
        }
        if (!pl_only_members(resp, item, keys) ||
            !pl_member(resp, item, "resource_provider", json_type_object, &rp) ||
            !pl_member(resp, rp, "uuid", json_type_string, &uuid) || !pl_uuid_value(resp, uuid) ||
            !pl_member(resp, item, "resources", json_type_object, &resources) ||
            !read_resources(resp, resources, json_object_get_string(uuid), out, n))
            return false;
    }
    return true;
}

static bool read_generation(struct api_response *resp, json_object *body,
                            struct placement_consumer *c)
{
    json_object *gen = NULL;
    if (!pl_at(resp, 28))
        return true;
    if (!json_object_object_get_ex(body, "consumer_generation", &gen)) {
        pl_invalid(resp, "'consumer_generation' is a required property");
        return false;
    }
    if (gen && (!json_object_is_type(gen, json_type_int) || json_object_get_int64(gen) < 0)) {
        pl_invalid(resp, "%s is not of type 'integer', 'null'", nph_json_text(gen));
        return false;
    }
    c->generation = gen ? json_object_get_int64(gen) : PLACEMENT_GENERATION_NEW;
    return true;
}

/* One consumer's body: allocations, project_id, user_id and, from 1.28,
 * consumer_generation.  Strings stay owned by `body`. */
static bool read_consumer(struct api_response *resp, json_object *body,
                          struct placement_consumer *c)
{
    static const char *const keys[] = { "allocations", "project_id", "user_id",
                                        "consumer_generation", "mappings", NULL };
    bool list_form = !pl_at(resp, 12);
    json_object *allocations = NULL, *project = NULL, *user = NULL;
    if (!json_object_is_type(body, json_type_object)) {
        pl_invalid(resp, "%s is not of type 'object'", nph_json_text(body));
        return false;
    }
    if (!pl_only_members(resp, body, keys) ||
        !pl_member(resp, body, "allocations", list_form ? json_type_array : json_type_object,
                   &allocations))
        return false;
    size_t count = count_resources(allocations, list_form);
    bool empty = list_form ? json_object_array_length(allocations) == 0
                           : json_object_object_length(allocations) == 0;
    if (empty && !pl_at(resp, 28)) {
        pl_invalid(resp, "%s does not have enough properties", nph_json_text(allocations));
        return false;
    }
    if (pl_at(resp, 8) && (!pl_member(resp, body, "project_id", json_type_string, &project) ||
                           !pl_member(resp, body, "user_id", json_type_string, &user)))
        return false;
    c->project_id = project ? json_object_get_string(project) : NULL;
    c->user_id = user ? json_object_get_string(user) : NULL;
    struct placement_allocation *out = calloc(count ? count : 1, sizeof(*out));
    c->allocations = out;
    if (!out) {
        pl_fail(resp, 500, NULL, "out of memory");
        return false;
    }
    return (list_form ? read_list(resp, allocations, out, &c->n_allocations)
                      : read_dict(resp, allocations, out, &c->n_allocations)) &&
           read_generation(resp, body, c);
}

static void replace_allocations(struct api_request *req, struct api_response *resp, struct consumers *cs,
                  const char *context)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    if (placement_allocations_replace(req->db, cs->list, cs->n, &err) != NPH_OK)
        pl_fail_from(resp, &err, err.e.code == NPH_ERR_INVALID ? context : NULL);
    else
        pl_reply(resp, 204, NULL);
}

void pl_allocations_put(struct api_request *req, struct api_response *resp)
{
    const char *uuid = req->params[0];
    if (!nph_uuid_is_valid(uuid)) {
        pl_fail(resp, 400, NULL, "Malformed consumer_uuid: %s", uuid);
        return;
    }
    if (!pl_body(req, resp))
        return;
    struct consumers cs = { 0 };
    struct placement_consumer *c = consumer_add(&cs, uuid);
    if (!c)
        pl_fail(resp, 500, NULL, "out of memory");
    else if (read_consumer(resp, req->body, c))
        replace_allocations(req, resp, &cs, NULL);
    consumers_free(&cs);
}

void pl_allocations_post(struct api_request *req, struct api_response *resp)
{
    if (!pl_body(req, resp))
        return;
    struct consumers cs = { 0 };
    bool ok = true;
    json_object_object_foreach(req->body, uuid, body) {
        struct placement_consumer *c = ok ? consumer_add(&cs, uuid) : NULL;
        if (!ok)
            continue;
        if (!nph_uuid_is_valid(uuid)) {
            pl_invalid(resp, "Additional properties are not allowed ('%s' was unexpected)", uuid);
            ok = false;
        } else if (!c) {
            pl_fail(resp, 500, NULL, "out of memory");
            ok = false;
        } else {
            ok = read_consumer(resp, body, c);
        }
    }
    if (ok)
        replace_allocations(req, resp, &cs, "Unable to allocate inventory ");
    consumers_free(&cs);
}

void pl_allocations_get(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *result = NULL;
    if (placement_allocations_get(req->db, req->params[0], &result, &err) != NPH_OK) {
        pl_fail_from(resp, &err, NULL);
        return;
    }
    if (!pl_at(resp, 12)) {
        json_object_object_del(result, "project_id");
        json_object_object_del(result, "user_id");
    }
    if (!pl_at(resp, 28))
        json_object_object_del(result, "consumer_generation");
    pl_reply(resp, 200, result);
}

void pl_allocations_delete(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    if (placement_allocations_delete(req->db, req->params[0], &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        pl_reply(resp, 204, NULL);
}

void pl_provider_allocations(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *result = NULL, *allocs = NULL;
    if (placement_provider_allocations(req->db, req->params[0], &result, &err) != NPH_OK) {
        pl_fail_from(resp, &err, NULL);
        return;
    }
    json_object_object_get_ex(result, "allocations", &allocs);
    json_object_object_foreach(allocs, consumer, per) {
        (void)consumer;
        if (!pl_at(resp, 28))
            json_object_object_del(per, "consumer_generation");
    }
    pl_reply(resp, 200, result);
}

/* ---- allocation candidates ------------------------------------------------------- */

/* Before 1.12 an allocation request is a list of providers. */
static json_object *request_as_list(json_object *request)
{
    json_object *list = json_object_new_array(), *allocations = api_member(request, "allocations");
    json_object_object_foreach(allocations, uuid, per) {
        json_object *item = json_object_new_object(), *rp = json_object_new_object();
        nph_json_add_string(rp, "uuid", uuid);
        json_object_object_add(item, "resource_provider", rp);
        json_object_object_add(item, "resources", json_object_get(api_member(per, "resources")));
        json_object_array_add(list, item);
    }
    json_object *out = json_object_new_object();
    json_object_object_add(out, "allocations", list);
    return out;
}

static void trim_summary(const struct api_response *resp, const struct placement_query *q,
                         json_object *summary)
{
    if (!pl_at(resp, 17))
        json_object_object_del(summary, "traits");
    if (!pl_at(resp, 29)) {
        json_object_object_del(summary, "parent_provider_uuid");
        json_object_object_del(summary, "root_provider_uuid");
    }
    if (pl_at(resp, 27))
        return;
    /* Before 1.27 a summary shows only the classes the request named. */
    json_object *kept = json_object_new_object();
    json_object_object_foreach(api_member(summary, "resources"), rc, usage) {
        bool asked = false;
        for (size_t i = 0; i < q->n_resources; i++)
            asked |= strcmp(q->resources[i].resource_class, rc) == 0;
        if (asked)
            json_object_object_add(kept, rc, json_object_get(usage));
    }
    json_object_object_add(summary, "resources", kept);
}

static void trim_candidates(const struct api_response *resp, const struct placement_query *q,
                            json_object *body)
{
    json_object *requests = api_member(body, "allocation_requests");
    for (size_t i = 0; i < json_object_array_length(requests); i++) {
        json_object *request = json_object_array_get_idx(requests, i);
        if (!pl_at(resp, 12))
            json_object_array_put_idx(requests, i, request_as_list(request));
        else if (!pl_at(resp, 34))
            json_object_object_del(request, "mappings");
    }
    json_object_object_foreach(api_member(body, "provider_summaries"), uuid, summary) {
        (void)uuid;
        trim_summary(resp, q, summary);
    }
}

static bool candidates_params(struct api_request *req, struct api_response *resp,
                              struct placement_query *q)
{
    static const struct {
        const char *key;
        int minor;
    } known[] = { { "resources", 10 }, { "limit", 16 }, { "required", 17 }, { "member_of", 21 },
                  { "group_policy", 25 }, { "in_tree", 31 }, { "root_required", 35 },
                  { "same_subtree", 36 } };
    const char *keys[10];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (pl_at(resp, known[i].minor))
            keys[n++] = known[i].key;
    keys[n] = NULL;
    if (!pl_query_allowed(req, resp, keys))
        return false;
    if (!api_query(req, "resources")) {
        pl_fail(resp, 400, NULL, "Invalid query string parameters: 'resources' is a required property");
        return false;
    }
    if (api_query(req, "same_subtree")) {
        pl_fail(resp, 400, NULL, "same_subtree needs numbered request groups (resources1=...), "
                                 "which Nephele does not support yet.");
        return false;
    }
    const char *limit = api_query(req, "limit");
    if (limit) {
        char *end = NULL;
        long long v = strtoll(limit, &end, 10);
        if (!*limit || *end || v < 1 || limit[0] == '0') {
            pl_fail(resp, 400, NULL, "Invalid query string parameters: '%s' does not match "
                                     "'^[1-9][0-9]*$'",
                    limit);
            return false;
        }
        q->limit = v;
    }
    return pl_query_filters(req, resp, q, true);
}

void pl_candidates(struct api_request *req, struct api_response *resp)
{
    struct placement_query *q = calloc(1, sizeof(*q));
    if (!q) {
        pl_fail(resp, 500, NULL, "out of memory");
        return;
    }
    json_object *body = NULL;
    placement_error err = PLACEMENT_ERROR_INIT;
    if (candidates_params(req, resp, q)) {
        if (placement_candidates(req->db, q, &body, &err) != NPH_OK) {
            pl_fail_from(resp, &err, NULL);
        } else {
            trim_candidates(resp, q, body);
            pl_reply(resp, 200, body);
        }
    }
    free(q);
}
