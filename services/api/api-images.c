/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Nova's image proxy, /v2.1/images, over the image store's records: what
 * the openstack CLI asks the compute endpoint when there is no catalog.
 * Like Nova's, it is gone from microversion 2.36 on. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api-internal.h"
#include "db-objects.h"
#include "error.h"
#include "uuid.h"

static bool proxy_available(struct api_request *req, struct api_response *resp)
{
    if (req->minor < 36 || req->glance)
        return true;
    api_error(resp, 404, "The resource could not be found.");
    return false;
}

static json_object *image_view(const struct api_request *req, json_object *img, bool detail)
{
    const char *id = json_object_get_string(api_member(img, "uuid"));
    json_object *view = json_object_new_object();
    nph_json_add_string(view, "id", id);
    json_object_object_add(view, "name", json_object_get(api_member(img, "name")));
    json_object *links = api_links(req, "images", id);
    json_object *alternate = json_object_new_object();
    char href[400];
    snprintf(href, sizeof(href), "%s/image/v2/images/%s", req->base_url, id);
    nph_json_add_string(alternate, "rel", "alternate");
    nph_json_add_string(alternate, "type", "application/vnd.openstack.image");
    nph_json_add_string(alternate, "href", href);
    json_object_array_add(links, alternate);
    json_object_object_add(view, "links", links);
    if (!detail)
        return view;
    const char *status = json_object_get_string(api_member(img, "status"));
    char upper[32];
    snprintf(upper, sizeof(upper), "%s", status ? status : "unknown");
    for (char *p = upper; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    nph_json_add_string(view, "status", upper);
    nph_json_add_int(view, "progress", strcmp(upper, "ACTIVE") == 0 ? 100 : 0);
    nph_json_add_int(view, "minRam", json_object_get_int64(api_member(img, "min_ram")));
    nph_json_add_int(view, "minDisk", json_object_get_int64(api_member(img, "min_disk")));
    nph_json_add_int(view, "OS-EXT-IMG-SIZE:size", json_object_get_int64(api_member(img, "size")));
    json_object *props = api_member(img, "properties");
    json_object_object_add(view, "metadata", json_object_is_type(props, json_type_object)
                                                 ? json_object_get(props)
                                                 : json_object_new_object());
    char t[24];
    const char *created = json_object_get_string(api_member(img, "created_at"));
    const char *updated = json_object_get_string(api_member(img, "updated_at"));
    snprintf(t, sizeof(t), "%.19sZ", created ? created : "");
    nph_json_add_string(view, "created", t);
    snprintf(t, sizeof(t), "%.19sZ", updated ? updated : "");
    nph_json_add_string(view, "updated", t);
    return view;
}

/* An image as Glance v2 shows it: the form openstacksdk's image client
 * expects when, without a catalog, it asks the compute endpoint. */
static json_object *glance_view(json_object *img)
{
    static const char *const copied[] = { "name", "disk_format", "container_format", "size",
                                          "checksum", "os_hash_algo", "os_hash_value", "status",
                                          "visibility", "owner", "min_disk", "min_ram" };
    const char *id = json_object_get_string(api_member(img, "uuid"));
    json_object *view = json_object_new_object();
    nph_json_add_string(view, "id", id);
    for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
        json_object_object_add(view, copied[i], json_object_get(api_member(img, copied[i])));
    nph_json_add_bool(view, "protected", json_object_get_int64(api_member(img, "protected")) != 0);
    nph_json_add_bool(view, "os_hidden", false);
    json_object_object_add(view, "virtual_size", NULL);
    json_object_object_add(view, "tags", json_object_new_array());
    char t[24], path[120];
    snprintf(t, sizeof(t), "%.19sZ", json_object_get_string(api_member(img, "created_at")));
    nph_json_add_string(view, "created_at", t);
    snprintf(t, sizeof(t), "%.19sZ", json_object_get_string(api_member(img, "updated_at")));
    nph_json_add_string(view, "updated_at", t);
    snprintf(path, sizeof(path), "/v2/images/%s", id);
    nph_json_add_string(view, "self", path);
    snprintf(path, sizeof(path), "/v2/images/%s/file", id);
    nph_json_add_string(view, "file", path);
    nph_json_add_string(view, "schema", "/v2/schemas/image");
    json_object *props = api_member(img, "properties");
    if (json_object_is_type(props, json_type_object)) {
        json_object_object_foreach(props, key, value)
            if (!json_object_object_get_ex(view, key, NULL))
                json_object_object_add(view, key, json_object_get(value));
    }
    return view;
}

/* openstacksdk's image client, pointed at the compute endpoint (the CLI's
 * --os-auth-type none), names no microversion and wants Glance's form. */
static bool wants_glance_form(const struct api_request *req)
{
    const char *agent = api_header(req, "User-Agent");
    return req->glance || (!req->version_asked && agent && strncmp(agent, "openstacksdk/", 13) == 0);
}

/* Images the caller may see: public and community ones, its project's, all for admins. */
static nph_status visible_images(struct api_request *req, json_object **rows, nph_error *err)
{
    const char *params[] = { req->ctx.project_id };
    if (req->ctx.is_admin)
        return nph_db_select_rows(req->db, "SELECT * FROM images WHERE deleted = 0 "
                                           "ORDER BY created_at DESC, id DESC",
                                  NULL, 0, rows, err);
    return nph_db_select_rows(req->db,
                              "SELECT * FROM images WHERE deleted = 0 AND (visibility IN "
                              "('public', 'community') OR owner = ?) ORDER BY created_at DESC, "
                              "id DESC",
                              params, 1, rows, err);
}

static void list(struct api_request *req, struct api_response *resp, bool detail)
{
    int limit;
    const char *marker;
    if (!proxy_available(req, resp) || !api_paging(req, resp, &limit, &marker))
        return;
    nph_auto_json *rows = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (visible_images(req, &rows, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    const char *name = api_query(req, "name"), *status = api_query(req, "status");
    size_t n = json_object_array_length(rows), start = 0;
    if (marker) {
        while (start < n &&
               strcmp(json_object_get_string(api_member(json_object_array_get_idx(rows, start), "uuid")),
                      marker) != 0)
            start++;
        if (start == n) {
            api_error(resp, 400, "marker [%s] not found", marker);
            return;
        }
        start++;
    }
    json_object *images = json_object_new_array();
    const char *last = NULL;
    for (size_t i = start; i < n && (int)json_object_array_length(images) < limit; i++) {
        json_object *img = json_object_array_get_idx(rows, i);
        const char *img_name = json_object_get_string(api_member(img, "name"));
        if (name && (!img_name || strcmp(name, img_name) != 0))
            continue;
        if (status && strcasecmp(status, json_object_get_string(api_member(img, "status"))) != 0)
            continue;
        last = json_object_get_string(api_member(img, "uuid"));
        json_object_array_add(images, wants_glance_form(req) ? glance_view(img)
                                                             : image_view(req, img, detail));
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "images", images);
    if (limit > 0 && (int)json_object_array_length(images) == limit && last)
        json_object_object_add(body, "images_links",
                               api_next_link(req, detail ? "images/detail" : "images", last, limit));
    api_reply(resp, 200, body);
}

void api_images_list(struct api_request *req, struct api_response *resp)
{
    list(req, resp, false);
}

void api_images_detail(struct api_request *req, struct api_response *resp)
{
    list(req, resp, true);
}

void api_images_show(struct api_request *req, struct api_response *resp)
{
    if (!proxy_available(req, resp))
        return;
    nph_auto_json *rows = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (nph_uuid_is_valid(req->params[0]) && visible_images(req, &rows, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    for (size_t i = 0; rows && i < json_object_array_length(rows); i++) {
        json_object *img = json_object_array_get_idx(rows, i);
        if (strcmp(json_object_get_string(api_member(img, "uuid")), req->params[0]) == 0) {
            if (wants_glance_form(req)) {
                api_reply(resp, 200, glance_view(img));
                return;
            }
            json_object *body = json_object_new_object();
            json_object_object_add(body, "image", image_view(req, img, true));
            api_reply(resp, 200, body);
            return;
        }
    }
    api_error(resp, 404, "Image not found.");
}

/* /image: Glance v2's version document, and the image reads in its form. */
void api_image_service_route(struct api_request *req, struct api_response *resp)
{
    bool get = strcmp(req->method, "GET") == 0;
    if (req->n_segments == 0 && get) {
        char href[400];
        snprintf(href, sizeof(href), "%s/image/v2/", req->base_url);
        json_object *v = json_object_new_object(), *links = json_object_new_array();
        json_object *self = json_object_new_object();
        nph_json_add_string(v, "id", "v2.9");
        nph_json_add_string(v, "status", "CURRENT");
        nph_json_add_string(self, "rel", "self");
        nph_json_add_string(self, "href", href);
        json_object_array_add(links, self);
        json_object_object_add(v, "links", links);
        json_object *versions = json_object_new_array(), *body = json_object_new_object();
        json_object_array_add(versions, v);
        json_object_object_add(body, "versions", versions);
        api_reply(resp, 300, body);
        return;
    }
    bool images = req->n_segments >= 2 && strcmp(req->segments[0], "v2") == 0 &&
                  strcmp(req->segments[1], "images") == 0;
    const char *m = req->method;
    bool file = req->n_segments == 4 && strcmp(req->segments[3], "file") == 0;
    if (req->n_segments >= 3)
        req->params[0] = req->segments[2];
    if (images && req->n_segments == 2 && get) {
        list(req, resp, true);
    } else if (images && req->n_segments == 2 && strcmp(m, "POST") == 0) {
        api_image_create(req, resp);
    } else if (images && req->n_segments == 3 && get) {
        api_images_show(req, resp);
    } else if (images && req->n_segments == 3 && strcmp(m, "DELETE") == 0) {
        api_image_delete(req, resp);
    } else if (images && req->n_segments == 3 && strcmp(m, "PATCH") == 0) {
        api_image_update(req, resp);
    } else if (images && file && strcmp(m, "PUT") == 0) {
        api_image_upload_finish(req, resp);
    } else if (images && file && get) {
        api_image_download(req, resp);
    } else if (images) {
        api_error(resp, 501, "This image service does not implement %s on this resource yet.", m);
    } else {
        api_error(resp, 404, "The resource could not be found.");
    }
}

/* The image proxy's writes, for openstacksdk's image client on the compute
 * endpoint (--os-auth-type none); Nova's own proxy could only delete. */
void api_images_create(struct api_request *req, struct api_response *resp)
{
    if (!wants_glance_form(req)) {
        api_error(resp, 405, "The method POST is not allowed for this resource.");
        return;
    }
    req->glance = true;
    api_image_create(req, resp);
}

void api_images_upload(struct api_request *req, struct api_response *resp)
{
    req->glance = true;
    api_image_upload_finish(req, resp);
}

void api_images_download(struct api_request *req, struct api_response *resp)
{
    api_image_download(req, resp);
}

void api_images_delete(struct api_request *req, struct api_response *resp)
{
    if (!proxy_available(req, resp))
        return;
    api_image_delete(req, resp);
}
