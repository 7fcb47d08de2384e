/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /resource_providers/{uuid}/inventories[/{class}], the usages of a
 * provider, and /usages of a project. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-placement.h"

/* The fields of one inventory, with Placement's schema limits. */
static bool inventory_fields(struct api_response *resp, json_object *obj,
                             struct placement_inventory *inv)
{
    json_object *ratio = NULL;
    if (!pl_int_member(resp, obj, "total", true, 1, PLACEMENT_MAX_INT, &inv->total) ||
        !pl_int_member(resp, obj, "reserved", false, 0, PLACEMENT_MAX_INT, &inv->reserved) ||
        !pl_int_member(resp, obj, "min_unit", false, 1, PLACEMENT_MAX_INT, &inv->min_unit) ||
        !pl_int_member(resp, obj, "max_unit", false, 1, PLACEMENT_MAX_INT, &inv->max_unit) ||
        !pl_int_member(resp, obj, "step_size", false, 1, PLACEMENT_MAX_INT, &inv->step_size))
        return false;
    if (!json_object_object_get_ex(obj, "allocation_ratio", NULL))
        return true;
    if (!pl_member(resp, obj, "allocation_ratio", json_type_double, &ratio))
        return false;
    double r = json_object_get_double(ratio);
    if (r <= 0 || r > 3.40282e+38) {
        pl_invalid(resp, "%s is %s", nph_json_text(ratio),
                   r <= 0 ? "less than or equal to the minimum of 0" : "too large");
        return false;
    }
    inv->allocation_ratio = r;
    return true;
}

static bool class_name_ok(struct api_response *resp, const char *name)
{
    if (*name && strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(name) &&
        strlen(name) <= PLACEMENT_NAME_MAX)
        return true;
    pl_invalid(resp, "'%s' does not match '^[A-Z0-9_]+$'", name);
    return false;
}

static const char *const inventory_keys[] = { "total", "reserved", "min_unit", "max_unit",
                                              "step_size", "allocation_ratio", NULL };

/* One inventory of a PUT's "inventories" object. */
static bool one_of_many(struct api_response *resp, const char *name, json_object *fields,
                        struct placement_inventory *inv)
{
    if (!class_name_ok(resp, name))
        return false;
    if (!json_object_is_type(fields, json_type_object)) {
        pl_invalid(resp, "%s is not of type 'object'", nph_json_text(fields));
        return false;
    }
    placement_inventory_defaults(inv, name);
    return pl_only_members(resp, fields, inventory_keys) && inventory_fields(resp, fields, inv);
}

void pl_inventories_get(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *result = NULL;
    if (placement_inventories_get(req->db, req->params[0], &result, &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        pl_reply(resp, 200, result);
}

void pl_inventories_put(struct api_request *req, struct api_response *resp)
{
    static const char *const keys[] = { "inventories", "resource_provider_generation", NULL };
    json_object *all = NULL, *result = NULL;
    int64_t generation = 0;
    if (!pl_body(req, resp) || !pl_only_members(resp, req->body, keys) ||
        !pl_member(resp, req->body, "inventories", json_type_object, &all) ||
        !pl_generation(resp, req->body, &generation))
        return;
    size_t n = 0, count = (size_t)json_object_object_length(all);
    struct placement_inventory *inv = calloc(count ? count : 1, sizeof(*inv));
    if (!inv) {
        pl_fail(resp, 500, NULL, "out of memory");
        return;
    }
    bool ok = true;
    json_object_object_foreach(all, name, fields) {
        if (ok)
            ok = one_of_many(resp, name, fields, &inv[n++]);
    }
    placement_error err = PLACEMENT_ERROR_INIT;
    if (ok && placement_inventories_set(req->db, req->params[0], generation, inv, n, pl_at(resp, 26),
                                        &result, &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else if (ok)
        pl_reply(resp, 200, result);
    free(inv);
}

/* POST's body names the class; PUT's path does. */
static bool single_body(struct api_request *req, struct api_response *resp, const char *name,
                        struct placement_inventory *inv, int64_t *generation)
{
    static const char *const post_keys[] = { "resource_class", "resource_provider_generation",
                                             "total", "reserved", "min_unit", "max_unit",
                                             "step_size", "allocation_ratio", NULL };
    json_object *rc = NULL;
    if (!pl_body(req, resp) || !pl_only_members(resp, req->body, name ? post_keys + 1 : post_keys))
        return false;
    if (!name) {
        if (!pl_member(resp, req->body, "resource_class", json_type_string, &rc))
            return false;
        name = json_object_get_string(rc);
    }
    if (!class_name_ok(resp, name))
        return false;
    placement_inventory_defaults(inv, name);
    return pl_generation(resp, req->body, generation) && inventory_fields(resp, req->body, inv);
}

static void put_single(struct api_request *req, struct api_response *resp, bool create)
{
    struct placement_inventory inv;
    int64_t generation = 0;
    if (!single_body(req, resp, create ? NULL : req->params[1], &inv, &generation))
        return;
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *result = NULL;
    if (placement_inventory_put(req->db, req->params[0], generation, &inv, create, pl_at(resp, 26),
                                &result, &err) != NPH_OK) {
        pl_fail_from(resp, &err, NULL);
        return;
    }
    if (create)
        pl_location(req, resp, "resource_providers/%s/inventories/%s", req->params[0],
                    inv.resource_class);
    pl_reply(resp, create ? 201 : 200, result);
}

void pl_inventories_post(struct api_request *req, struct api_response *resp)
{
    put_single(req, resp, true);
}

void pl_inventory_put(struct api_request *req, struct api_response *resp)
{
    put_single(req, resp, false);
}

void pl_inventories_delete(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    if (placement_inventories_set(req->db, req->params[0], -1, NULL, 0, true, NULL, &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        pl_reply(resp, 204, NULL);
}

void pl_inventory_get(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *all = NULL, *one = NULL, *by_class = NULL;
    if (placement_inventories_get(req->db, req->params[0], &all, &err) != NPH_OK) {
        pl_fail_from(resp, &err, NULL);
        return;
    }
    json_object_object_get_ex(all, "inventories", &by_class);
    if (!json_object_object_get_ex(by_class, req->params[1], &one)) {
        pl_fail(resp, 404, NULL, "No inventory of class %s for %s", req->params[1], req->params[0]);
    } else {
        json_object_get(one);
        json_object_object_add(one, "resource_provider_generation",
                               json_object_get(api_member(all, "resource_provider_generation")));
        pl_reply(resp, 200, one);
    }
    json_object_put(all);
}

void pl_inventory_delete(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    if (placement_inventory_delete(req->db, req->params[0], req->params[1], &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        pl_reply(resp, 204, NULL);
}

void pl_provider_usages(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *result = NULL;
    if (placement_provider_usages(req->db, req->params[0], &result, &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        pl_reply(resp, 200, result);
}

void pl_usages(struct api_request *req, struct api_response *resp)
{
    static const char *const keys[] = { "project_id", "user_id", NULL };
    if (!pl_query_allowed(req, resp, keys))
        return;
    const char *project = api_query(req, "project_id"), *user = api_query(req, "user_id");
    if (!project) {
        pl_fail(resp, 400, NULL,
                "Invalid query string parameters: 'project_id' is a required property");
        return;
    }
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *result = NULL;
    if (placement_project_usages(req->db, project, user, &result, &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        pl_reply(resp, 200, result);
}
