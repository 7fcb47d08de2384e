/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /resource_providers: list with filters, create, show, update, delete,
 * and each provider's aggregates and traits. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-placement.h"

static json_object *link(const char *rel, const char *href)
{
    json_object *l = json_object_new_object();
    nph_json_add_string(l, "rel", rel);
    nph_json_add_string(l, "href", href);
    return l;
}

/* Placement's links are paths below its mount point, not URLs. */
static json_object *provider_links(const struct api_response *resp, const char *uuid)
{
    static const struct {
        const char *rel;
        int minor;
    } rels[] = { { "inventories", 0 }, { "usages", 0 }, { "aggregates", 1 }, { "traits", 6 },
                 { "allocations", 11 } };
    char self[100], href[140];
    snprintf(self, sizeof(self), "/placement/resource_providers/%s", uuid);
    json_object *links = json_object_new_array();
    json_object_array_add(links, link("self", self));
    for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
        if (!pl_at(resp, rels[i].minor))
            continue;
        snprintf(href, sizeof(href), "%s/%s", self, rels[i].rel);
        json_object_array_add(links, link(rels[i].rel, href));
    }
    return links;
}

json_object *pl_provider_view(const struct api_request *req, const struct api_response *resp,
                              json_object *provider)
{
    (void)req;
    static const char *const keys[] = { "uuid", "name", "generation", "parent_provider_uuid",
                                        "root_provider_uuid" };
    json_object *view = json_object_new_object();
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (i >= 3 && !pl_at(resp, 14))
            break;
        json_object_object_add(view, keys[i], json_object_get(api_member(provider, keys[i])));
    }
    json_object *uuid = api_member(provider, "uuid");
    json_object_object_add(view, "links", provider_links(resp, json_object_get_string(uuid)));
    return view;
}

/* ---- filters --------------------------------------------------------------------- */

struct member_of_walk {
    struct api_response *resp;
    struct placement_query *q;
    bool allow_forbidden;
    int count;
};

static bool add_member_of(void *opaque, const char *value)
{
    struct member_of_walk *w = opaque;
    placement_error err = PLACEMENT_ERROR_INIT;
    w->count++;
    if (placement_query_add_member_of(w->q, value, w->allow_forbidden, &err) == NPH_OK)
        return true;
    pl_fail_from(w->resp, &err, NULL);
    return false;
}

static bool uuid_param(struct api_response *resp, const char *value)
{
    if (!value || nph_uuid_is_valid(value))
        return true;
    pl_fail(resp, 400, NULL, "Invalid query string parameters: '%s' is not a 'uuid'", value);
    return false;
}

static bool filter_member_of(struct api_request *req, struct api_response *resp,
                             struct placement_query *q)
{
    struct member_of_walk w = { resp, q, pl_at(resp, 32), 0 };
    if (!pl_query_each(req, "member_of", add_member_of, &w))
        return false;
    if (w.count > 1 && !pl_at(resp, 24)) {
        pl_fail(resp, 400, NULL, "Multiple member_of parameters are not supported");
        return false;
    }
    return true;
}

static bool filter_traits(struct api_request *req, struct api_response *resp,
                          struct placement_query *q, const char *key, bool root)
{
    const char *text = api_query(req, key);
    placement_error err = PLACEMENT_ERROR_INIT;
    if (!text || placement_query_add_traits(q, text, pl_at(resp, 22), root, &err) == NPH_OK)
        return true;
    pl_fail_from(resp, &err, NULL);
    return false;
}

/* Unknown classes and traits, in the words of the list or the candidates. */
static bool filter_names_known(struct api_request *req, struct api_response *resp,
                               struct placement_query *q, bool candidates)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    if (placement_query_check(req->db, q, &err) == NPH_OK)
        return true;
    bool trait = strncmp(err.e.message, "No such trait", 13) == 0;
    pl_fail_from(resp, &err,
                 !trait ? "Invalid resource class in resources parameter: "
                 : candidates ? NULL
                              : "Invalid trait(s) in \"required\" parameter: ");
    return false;
}

bool pl_query_filters(struct api_request *req, struct api_response *resp,
                      struct placement_query *q, bool candidates)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    q->name = candidates ? NULL : api_query(req, "name");
    q->uuid = candidates ? NULL : api_query(req, "uuid");
    q->in_tree = api_query(req, "in_tree");
    if (!uuid_param(resp, q->uuid) || !uuid_param(resp, q->in_tree))
        return false;
    const char *resources = api_query(req, "resources");
    if (resources && placement_query_add_resources(q, resources, &err) != NPH_OK) {
        pl_fail_from(resp, &err, NULL);
        return false;
    }
    return filter_member_of(req, resp, q) && filter_traits(req, resp, q, "required", false) &&
           filter_traits(req, resp, q, "root_required", true) &&
           filter_names_known(req, resp, q, candidates);
}

/* ---- providers ------------------------------------------------------------------- */

void pl_providers_list(struct api_request *req, struct api_response *resp)
{
    const char *keys[8] = { "name", "uuid" };
    size_t n = 2;
    if (pl_at(resp, 3))
        keys[n++] = "member_of";
    if (pl_at(resp, 4))
        keys[n++] = "resources";
    if (pl_at(resp, 14))
        keys[n++] = "in_tree";
    if (pl_at(resp, 18))
        keys[n++] = "required";
    keys[n] = NULL;
    struct placement_query *q = calloc(1, sizeof(*q));
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *list = NULL;
    if (!q) {
        pl_fail(resp, 500, NULL, "out of memory");
    } else if (pl_query_allowed(req, resp, keys) && pl_query_filters(req, resp, q, false)) {
        if (placement_provider_list(req->db, q, &list, &err) != NPH_OK) {
            pl_fail_from(resp, &err, NULL);
        } else {
            json_object *views = json_object_new_array(), *body = json_object_new_object();
            for (size_t i = 0; i < json_object_array_length(list); i++)
                json_object_array_add(views, pl_provider_view(req, resp,
                                                              json_object_array_get_idx(list, i)));
            json_object_object_add(body, "resource_providers", views);
            pl_reply(resp, 200, body);
        }
    }
    json_object_put(list);
    free(q);
}

/* name (1 to 200 characters), and the parent from 1.14. */
static bool provider_body(struct api_request *req, struct api_response *resp, bool create,
                          const char **name, const char **uuid, bool *has_parent,
                          const char **parent)
{
    static const char *const create_v1[] = { "name", "uuid", NULL };
    static const char *const create_v14[] = { "name", "uuid", "parent_provider_uuid", NULL };
    static const char *const update_v1[] = { "name", NULL };
    static const char *const update_v14[] = { "name", "parent_provider_uuid", NULL };
    const char *const *keys = create ? (pl_at(resp, 14) ? create_v14 : create_v1)
                                     : (pl_at(resp, 14) ? update_v14 : update_v1);
    json_object *body = req->body, *v = NULL;
    if (!pl_body(req, resp) || !pl_only_members(resp, body, keys) ||
        !pl_member(resp, body, "name", json_type_string, &v))
        return false;
    *name = json_object_get_string(v);
    size_t len = strlen(*name);
    if (len == 0 || len > 200) {
        pl_invalid(resp, "'%s' is %s", *name, len ? "too long" : "too short");
        return false;
    }
    v = NULL;
    if (json_object_object_get_ex(body, "uuid", &v) && !pl_uuid_value(resp, v))
        return false;
    *uuid = v ? json_object_get_string(v) : NULL;
    v = NULL;
    *has_parent = json_object_object_get_ex(body, "parent_provider_uuid", &v);
    if (v && !pl_uuid_value(resp, v))
        return false;
    *parent = v ? json_object_get_string(v) : NULL;
    return true;
}

void pl_provider_create(struct api_request *req, struct api_response *resp)
{
    const char *name = NULL, *uuid = NULL, *parent = NULL;
    bool has_parent = false;
    if (!provider_body(req, resp, true, &name, &uuid, &has_parent, &parent))
        return;
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *provider = NULL;
    if (placement_provider_create(req->db, uuid, name, parent, &provider, &err) != NPH_OK) {
        pl_fail_from(resp, &err, NULL);
        return;
    }
    pl_location(req, resp, "resource_providers/%s",
                json_object_get_string(api_member(provider, "uuid")));
    if (pl_at(resp, 20))
        pl_reply(resp, 200, pl_provider_view(req, resp, provider));
    else
        pl_reply(resp, 201, NULL);
    json_object_put(provider);
}

void pl_provider_show(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *provider = NULL;
    if (placement_provider_get(req->db, req->params[0], &provider, &err) != NPH_OK) {
        pl_fail_from(resp, &err, NULL);
        return;
    }
    pl_reply(resp, 200, pl_provider_view(req, resp, provider));
    json_object_put(provider);
}

void pl_provider_update(struct api_request *req, struct api_response *resp)
{
    const char *name = NULL, *uuid = NULL, *parent = NULL;
    bool has_parent = false;
    if (!provider_body(req, resp, false, &name, &uuid, &has_parent, &parent))
        return;
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *provider = NULL;
    if (placement_provider_update(req->db, req->params[0], name, has_parent, parent, &provider,
                                  &err) != NPH_OK) {
        pl_fail_from(resp, &err, NULL);
        return;
    }
    pl_reply(resp, 200, pl_provider_view(req, resp, provider));
    json_object_put(provider);
}

void pl_provider_delete(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    if (placement_provider_delete(req->db, req->params[0], &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        pl_reply(resp, 204, NULL);
}

/* ---- aggregates ------------------------------------------------------------------ */

static void aggregates_reply(struct api_response *resp, json_object *result)
{
    if (!pl_at(resp, 19))
        json_object_object_del(result, "resource_provider_generation");
    pl_reply(resp, 200, result);
}

void pl_aggregates_get(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *result = NULL;
    if (placement_aggregates_get(req->db, req->params[0], &result, &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        aggregates_reply(resp, result);
}

/* The aggregates of a PUT: a bare list before 1.19, then an object with the
 * generation. */
static bool aggregates_body(struct api_request *req, struct api_response *resp, json_object **list,
                            int64_t *generation)
{
    static const char *const keys[] = { "aggregates", "resource_provider_generation", NULL };
    const char *type = api_header(req, "Content-Type");
    *generation = -1;
    if (!pl_at(resp, 19)) {
        if (!type || strncmp(type, "application/json", 16) != 0 || !req->body ||
            !json_object_is_type(req->body, json_type_array)) {
            if (pl_body(req, resp))
                pl_invalid(resp, "%s is not of type 'array'", nph_json_text(req->body));
            return false;
        }
        *list = req->body;
    } else if (!pl_body(req, resp) || !pl_only_members(resp, req->body, keys) ||
               !pl_member(resp, req->body, "aggregates", json_type_array, list) ||
               !pl_generation(resp, req->body, generation)) {
        return false;
    }
    for (size_t i = 0; i < json_object_array_length(*list); i++)
        if (!pl_uuid_value(resp, json_object_array_get_idx(*list, i)))
            return false;
    return true;
}

void pl_aggregates_put(struct api_request *req, struct api_response *resp)
{
    json_object *list = NULL, *result = NULL;
    int64_t generation = -1;
    if (!aggregates_body(req, resp, &list, &generation))
        return;
    placement_error err = PLACEMENT_ERROR_INIT;
    if (placement_aggregates_set(req->db, req->params[0], generation, list, &result, &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        aggregates_reply(resp, result);
}

/* ---- traits of a provider -------------------------------------------------------- */

void pl_provider_traits_get(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *result = NULL;
    if (placement_provider_traits_get(req->db, req->params[0], &result, &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        pl_reply(resp, 200, result);
}

void pl_provider_traits_put(struct api_request *req, struct api_response *resp)
{
    static const char *const keys[] = { "traits", "resource_provider_generation", NULL };
    json_object *traits = NULL, *result = NULL;
    int64_t generation = 0;
    if (!pl_body(req, resp) || !pl_only_members(resp, req->body, keys) ||
        !pl_member(resp, req->body, "traits", json_type_array, &traits) ||
        !pl_generation(resp, req->body, &generation))
        return;
    for (size_t i = 0; i < json_object_array_length(traits); i++) {
        json_object *t = json_object_array_get_idx(traits, i);
        if (!json_object_is_type(t, json_type_string)) {
            pl_invalid(resp, "%s is not of type 'string'", nph_json_text(t));
            return;
        }
    }
    placement_error err = PLACEMENT_ERROR_INIT;
    if (placement_provider_traits_set(req->db, req->params[0], generation, traits, &result, &err) !=
        NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        pl_reply(resp, 200, result);
}

void pl_provider_traits_delete(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    if (placement_provider_traits_delete(req->db, req->params[0], &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        pl_reply(resp, 204, NULL);
}
