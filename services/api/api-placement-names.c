/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /resource_classes and /traits: the standard names and the CUSTOM_ ones. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api-placement.h"

static json_object *class_view(const char *name)
{
    char href[PLACEMENT_NAME_MAX + 40];
    snprintf(href, sizeof(href), "/placement/resource_classes/%s", name);
    json_object *link = json_object_new_object(), *links = json_object_new_array();
    nph_json_add_string(link, "rel", "self");
    nph_json_add_string(link, "href", href);
    json_object_array_add(links, link);
    json_object *view = json_object_new_object();
    nph_json_add_string(view, "name", name);
    json_object_object_add(view, "links", links);
    return view;
}

void pl_classes_list(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *names = NULL;
    if (placement_classes_list(req->db, &names, &err) != NPH_OK) {
        pl_fail_from(resp, &err, NULL);
        return;
    }
    json_object *views = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(names); i++)
        json_object_array_add(views,
                              class_view(json_object_get_string(json_object_array_get_idx(names, i))));
    json_object_put(names);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "resource_classes", views);
    pl_reply(resp, 200, body);
}

void pl_class_create(struct api_request *req, struct api_response *resp)
{
    static const char *const keys[] = { "name", NULL };
    json_object *name = NULL;
    if (!pl_body(req, resp) || !pl_only_members(resp, req->body, keys) ||
        !pl_member(resp, req->body, "name", json_type_string, &name))
        return;
    placement_error err = PLACEMENT_ERROR_INIT;
    bool created = false;
    const char *text = json_object_get_string(name);
    if (placement_class_create(req->db, text, false, &created, &err) != NPH_OK) {
        pl_fail_from(resp, &err, err.e.code == NPH_ERR_INVALID ? "JSON does not validate: " : NULL);
        return;
    }
    pl_location(req, resp, "resource_classes/%s", text);
    pl_reply(resp, 201, NULL);
}

void pl_class_show(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    bool exists = false;
    if (placement_class_exists(req->db, req->params[0], &exists, &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else if (!exists)
        pl_fail(resp, 404, NULL, "No such resource class %s.", req->params[0]);
    else
        pl_reply(resp, 200, class_view(req->params[0]));
}

/* From 1.7: create a CUSTOM_ class if it is not there (201), else 204. */
void pl_class_put(struct api_request *req, struct api_response *resp)
{
    const char *name = req->params[0];
    if (placement_class_is_standard(name)) {
        pl_fail(resp, 400, NULL, "Cannot update standard resource class %s", name);
        return;
    }
    placement_error err = PLACEMENT_ERROR_INIT;
    bool created = false;
    if (placement_class_create(req->db, name, true, &created, &err) != NPH_OK) {
        pl_fail_from(resp, &err, err.e.code == NPH_ERR_INVALID ? "JSON does not validate: " : NULL);
        return;
    }
    pl_location(req, resp, "resource_classes/%s", name);
    pl_reply(resp, created ? 201 : 204, NULL);
}

void pl_class_delete(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    if (placement_class_delete(req->db, req->params[0], &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        pl_reply(resp, 204, NULL);
}

/* ---- traits ------------------------------------------------------------------------ */

void pl_traits_list(struct api_request *req, struct api_response *resp)
{
    static const char *const keys[] = { "name", "associated", NULL };
    if (!pl_query_allowed(req, resp, keys))
        return;
    const char *associated = api_query(req, "associated");
    int linked = -1;
    if (associated && strcasecmp(associated, "true") == 0)
        linked = 1;
    else if (associated && strcasecmp(associated, "false") == 0)
        linked = 0;
    else if (associated) {
        pl_fail(resp, 400, NULL, "The query parameter \"associated\" only accepts \"true\" or "
                                 "\"false\"");
        return;
    }
    placement_error err = PLACEMENT_ERROR_INIT;
    json_object *names = NULL;
    if (placement_traits_list(req->db, api_query(req, "name"), linked, &names, &err) != NPH_OK) {
        pl_fail_from(resp, &err, NULL);
        return;
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "traits", names);
    pl_reply(resp, 200, body);
}

void pl_trait_show(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    bool exists = false;
    if (placement_trait_exists(req->db, req->params[0], &exists, &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else if (!exists)
        pl_fail(resp, 404, NULL, "No such trait(s): %s.", req->params[0]);
    else
        pl_reply(resp, 204, NULL);
}

void pl_trait_put(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    bool created = false;
    if (placement_trait_create(req->db, req->params[0], &created, &err) != NPH_OK) {
        pl_fail_from(resp, &err, NULL);
        return;
    }
    pl_location(req, resp, "traits/%s", req->params[0]);
    pl_reply(resp, created ? 201 : 204, NULL);
}

void pl_trait_delete(struct api_request *req, struct api_response *resp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    if (placement_trait_delete(req->db, req->params[0], &err) != NPH_OK)
        pl_fail_from(resp, &err, NULL);
    else
        pl_reply(resp, 204, NULL);
}
