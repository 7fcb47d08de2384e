/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /flavors: list, detail, show, create and delete (admins), extra specs. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api-internal.h"
#include "clock.h"
#include "db-objects.h"
#include "error.h"
#include "uuid.h"

static json_object *flavor_view(const struct api_request *req, json_object *f, bool detail)
{
    const char *id = json_object_get_string(api_member(f, "flavorid"));
    json_object *view = json_object_new_object();
    nph_json_add_string(view, "id", id);
    json_object_object_add(view, "name", json_object_get(api_member(f, "name")));
    if (detail) {
        nph_json_add_int(view, "ram", json_object_get_int64(api_member(f, "memory_mb")));
        nph_json_add_int(view, "disk", json_object_get_int64(api_member(f, "root_gb")));
        nph_json_add_int(view, "vcpus", json_object_get_int64(api_member(f, "vcpus")));
        nph_json_add_int(view, "OS-FLV-EXT-DATA:ephemeral",
                         json_object_get_int64(api_member(f, "ephemeral_gb")));
        nph_json_add_bool(view, "OS-FLV-DISABLED:disabled",
                          json_object_get_int64(api_member(f, "disabled")) != 0);
        int64_t swap = json_object_get_int64(api_member(f, "swap"));
        /* Before 2.75 no swap is "", as Nova's view did. */
        if (swap == 0 && req->minor < 75)
            nph_json_add_string(view, "swap", "");
        else
            nph_json_add_int(view, "swap", swap);
        json_object_object_add(view, "rxtx_factor",
                               json_object_new_double(json_object_get_double(api_member(f, "rxtx_factor"))));
        nph_json_add_bool(view, "os-flavor-access:is_public",
                          json_object_get_int64(api_member(f, "is_public")) != 0);
    }
    if (req->minor >= 55)
        json_object_object_add(view, "description", json_object_get(api_member(f, "description")));
    if (detail && req->minor >= 61) {
        json_object *specs = api_member(f, "extra_specs");
        json_object_object_add(view, "extra_specs",
                               specs ? json_object_get(specs) : json_object_new_object());
    }
    json_object_object_add(view, "links", api_links(req, "flavors", id));
    return view;
}

/* Extra specs of the flavor with database id `id`, as an object. */
static json_object *extra_specs(struct api_request *req, json_object *id)
{
    char text[32];
    snprintf(text, sizeof(text), "%lld", (long long)json_object_get_int64(id));
    const char *params[] = { text };
    nph_auto_json *rows = NULL;
    json_object *specs = json_object_new_object();
    if (nph_db_select_rows(req->db, "SELECT key, value FROM flavor_extra_specs WHERE flavor_id = ?",
                           params, 1, &rows, NULL) == NPH_OK)
        for (size_t i = 0; i < json_object_array_length(rows); i++) {
            json_object *r = json_object_array_get_idx(rows, i);
            json_object_object_add(specs, json_object_get_string(api_member(r, "key")),
                                   json_object_get(api_member(r, "value")));
        }
    return specs;
}

static void list(struct api_request *req, struct api_response *resp, bool detail)
{
    int limit;
    const char *marker;
    if (!api_paging(req, resp, &limit, &marker))
        return;
    /* is_public: users see public flavors and those shared with them;
     * admins choose with ?is_public=true|false|none. */
    const char *is_public = api_query(req, "is_public");
    const char *sql;
    const char *params[1] = { req->ctx.project_id };
    size_t n_params = 0;
    if (req->ctx.is_admin) {
        if (is_public && strcasecmp(is_public, "none") == 0)
            sql = "SELECT * FROM flavors WHERE disabled = 0 ORDER BY flavorid";
        else if (is_public && (strcasecmp(is_public, "false") == 0 || strcmp(is_public, "0") == 0))
            sql = "SELECT * FROM flavors WHERE disabled = 0 AND is_public = 0 ORDER BY flavorid";
        else
            sql = "SELECT * FROM flavors WHERE disabled = 0 AND is_public = 1 ORDER BY flavorid";
    } else {
        sql = "SELECT * FROM flavors f WHERE disabled = 0 AND (is_public = 1 OR EXISTS (SELECT 1 "
              "FROM flavor_projects p WHERE p.flavor_id = f.id AND p.project_id = ?)) "
              "ORDER BY flavorid";
        n_params = 1;
    }
    nph_auto_json *rows = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_select_rows(req->db, sql, params, n_params, &rows, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    int64_t min_ram = 0, min_disk = 0;
    if (api_query(req, "minRam"))
        min_ram = strtoll(api_query(req, "minRam"), NULL, 10);
    if (api_query(req, "minDisk"))
        min_disk = strtoll(api_query(req, "minDisk"), NULL, 10);
    size_t n = json_object_array_length(rows), start = 0;
    if (marker) {
        for (start = 0; start < n; start++)
            if (strcmp(json_object_get_string(api_member(json_object_array_get_idx(rows, start),
                                                     "flavorid")),
                       marker) == 0)
                break;
        if (start == n) {
            api_error(resp, 400, "marker [%s] not found", marker);
            return;
        }
        start++;
    }
    json_object *flavors = json_object_new_array();
    const char *last = NULL;
    for (size_t i = start; i < n && (int)json_object_array_length(flavors) < limit; i++) {
        json_object *f = json_object_array_get_idx(rows, i);
        if (json_object_get_int64(api_member(f, "memory_mb")) < min_ram ||
            json_object_get_int64(api_member(f, "root_gb")) < min_disk)
            continue;
        if (detail && req->minor >= 61)
            json_object_object_add(f, "extra_specs", extra_specs(req, api_member(f, "id")));
        last = json_object_get_string(api_member(f, "flavorid"));
        json_object_array_add(flavors, flavor_view(req, f, detail));
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "flavors", flavors);
    if (limit > 0 && (int)json_object_array_length(flavors) == limit && last)
        json_object_object_add(body, "flavors_links",
                               api_next_link(req, detail ? "flavors/detail" : "flavors", last, limit));
    api_reply(resp, 200, body);
}

void api_flavors_list(struct api_request *req, struct api_response *resp)
{
    list(req, resp, false);
}

void api_flavors_detail(struct api_request *req, struct api_response *resp)
{
    list(req, resp, true);
}

void api_flavors_show(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *f = api_flavor_for_request(req, req->params[0]);
    if (!f) {
        api_error(resp, 404, "Flavor %s could not be found.", req->params[0]);
        return;
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "flavor", flavor_view(req, f, true));
    api_reply(resp, 200, body);
}

void api_flavor_extra_specs_list(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *f = api_flavor_for_request(req, req->params[0]);
    if (!f) {
        api_error(resp, 404, "Flavor %s could not be found.", req->params[0]);
        return;
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "extra_specs", json_object_get(api_member(f, "extra_specs")));
    api_reply(resp, 200, body);
}

/* A non-negative integer member (or its decimal string); false with a 400. */
static bool get_size(struct api_response *resp, json_object *flavor, const char *key,
                     bool required, int64_t min, int64_t *out)
{
    json_object *v = api_member(flavor, key);
    if (!v) {
        if (!required)
            return true;
        api_error(resp, 400, "Invalid input for field/attribute flavor. '%s' is a required "
                             "property",
                  key);
        return false;
    }
    char *end = NULL;
    const char *text = json_object_get_string(v);
    int64_t n = strtoll(text, &end, 10);
    if ((!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_string)) ||
        !*text || *end || n < min || n > 2147483647) {
        api_error(resp, 400, "Invalid input for field/attribute %s. Value: %s. It must be an "
                             "integer from %lld",
                  key, json_object_to_json_string(v), (long long)min);
        return false;
    }
    *out = n;
    return true;
}

void api_flavors_create(struct api_request *req, struct api_response *resp)
{
    json_object *flavor;
    if (!api_is_admin(req, resp) || !api_body_object(req, resp, "flavor", &flavor))
        return;
    static const char *const allowed[] = { "name", "ram", "vcpus", "disk", "id", "swap",
                                           "OS-FLV-EXT-DATA:ephemeral", "rxtx_factor",
                                           "os-flavor-access:is_public", "description", NULL };
    if (!api_no_extra_members(resp, flavor, allowed))
        return;
    json_object *name = api_member(flavor, "name"), *id = api_member(flavor, "id");
    if (!name || !json_object_is_type(name, json_type_string) ||
        json_object_get_string_len(name) < 1 || json_object_get_string_len(name) > 255) {
        api_error(resp, 400, "Invalid input for field/attribute name. Value: %s.",
                  name ? json_object_to_json_string(name) : "None");
        return;
    }
    if (api_member(flavor, "description") && req->minor < 55) {
        api_error(resp, 400, "Additional properties are not allowed ('description' was unexpected)");
        return;
    }
    int64_t ram, vcpus, disk, swap = 0, ephemeral = 0;
    if (!get_size(resp, flavor, "ram", true, 1, &ram) ||
        !get_size(resp, flavor, "vcpus", true, 1, &vcpus) ||
        !get_size(resp, flavor, "disk", true, 0, &disk) ||
        !get_size(resp, flavor, "swap", false, 0, &swap) ||
        !get_size(resp, flavor, "OS-FLV-EXT-DATA:ephemeral", false, 0, &ephemeral))
        return;
    char flavorid[256], uuid[NPH_UUID_STRLEN + 1];
    if (id && json_object_is_type(id, json_type_string) && json_object_get_string_len(id) > 0) {
        snprintf(flavorid, sizeof(flavorid), "%s", json_object_get_string(id));
    } else if (id && json_object_is_type(id, json_type_int)) {
        snprintf(flavorid, sizeof(flavorid), "%lld", (long long)json_object_get_int64(id));
    } else {
        nph_uuid_generate(uuid);
        snprintf(flavorid, sizeof(flavorid), "%s", uuid);
    }
    json_object *public = api_member(flavor, "os-flavor-access:is_public");
    json_object *description = api_member(flavor, "description");
    char ram_t[24], vcpus_t[24], disk_t[24], swap_t[24], eph_t[24], now[NPH_ISO_TIME_LEN];
    snprintf(ram_t, sizeof(ram_t), "%lld", (long long)ram);
    snprintf(vcpus_t, sizeof(vcpus_t), "%lld", (long long)vcpus);
    snprintf(disk_t, sizeof(disk_t), "%lld", (long long)disk);
    snprintf(swap_t, sizeof(swap_t), "%lld", (long long)swap);
    snprintf(eph_t, sizeof(eph_t), "%lld", (long long)ephemeral);
    nph_clock_iso_now(now);
    const char *params[] = { flavorid, json_object_get_string(name), vcpus_t, ram_t, disk_t,
                             eph_t, swap_t, !public || json_object_get_boolean(public) ? "1" : "0",
                             description ? json_object_get_string(description) : NULL, now, now };
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_db_execute(req->db,
                                   "INSERT INTO flavors (flavorid, name, vcpus, memory_mb, "
                                   "root_gb, ephemeral_gb, swap, is_public, description, "
                                   "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                   params, 11, NULL, &err);
    if (st == NPH_ERR_CONFLICT) {
        nph_auto_json *same = api_flavor_for_request(req, flavorid);
        if (same)
            api_error(resp, 409, "Flavor with ID %s already exists.", flavorid);
        else
            api_error(resp, 409, "Flavor with name %s already exists.", json_object_get_string(name));
        return;
    }
    if (st != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    nph_auto_json *created = api_flavor_for_request(req, flavorid);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "flavor", flavor_view(req, created, true));
    api_reply(resp, 200, body);
}

void api_flavors_delete(struct api_request *req, struct api_response *resp)
{
    if (!api_is_admin(req, resp))
        return;
    nph_auto_json *f = api_flavor_for_request(req, req->params[0]);
    if (!f) {
        api_error(resp, 404, "Flavor %s could not be found.", req->params[0]);
        return;
    }
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)json_object_get_int64(api_member(f, "id")));
    const char *params[] = { id };
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_execute(req->db, "DELETE FROM flavor_extra_specs WHERE flavor_id = ?", params, 1,
                       NULL, &err) != NPH_OK ||
        nph_db_execute(req->db, "DELETE FROM flavor_projects WHERE flavor_id = ?", params, 1, NULL,
                       &err) != NPH_OK ||
        nph_db_execute(req->db, "DELETE FROM flavors WHERE id = ?", params, 1, NULL, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    resp->status = 202;
}

/* ---- extra specs and access lists (admins write) -------------------------- */

/* The flavor of the path, for an admin; NULL with the error in resp. */
static json_object *admin_flavor(struct api_request *req, struct api_response *resp)
{
    if (!api_is_admin(req, resp))
        return NULL;
    json_object *f = api_flavor_for_request(req, req->params[0]);
    if (!f)
        api_error(resp, 404, "Flavor %s could not be found.", req->params[0]);
    return f;
}

static void db_id(json_object *flavor, char out[32])
{
    snprintf(out, 32, "%lld", (long long)json_object_get_int64(api_member(flavor, "id")));
}

/* PUT /flavors/ID (2.55): the description is all that may change. */
void api_flavors_update(struct api_request *req, struct api_response *resp)
{
    json_object *flavor, *description = NULL;
    static const char *const allowed[] = { "description", NULL };
    if (!api_body_object(req, resp, "flavor", &flavor) ||
        !api_no_extra_members(resp, flavor, allowed))
        return;
    if (!json_object_object_get_ex(flavor, "description", &description)) {
        api_error(resp, 400, "Invalid input for field/attribute flavor. 'description' is a "
                             "required property");
        return;
    }
    if (description && (!json_object_is_type(description, json_type_string) ||
                        json_object_get_string_len(description) > 65535)) {
        api_error(resp, 400, "Invalid input for field/attribute description. Value: %s.",
                  json_object_to_json_string(description));
        return;
    }
    nph_auto_json *f = admin_flavor(req, resp);
    if (!f)
        return;
    char id[32], now[NPH_ISO_TIME_LEN];
    db_id(f, id);
    nph_clock_iso_now(now);
    const char *params[] = { description ? json_object_get_string(description) : NULL, now, id };
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_execute(req->db, "UPDATE flavors SET description = ?, updated_at = ? WHERE id = ?",
                       params, 3, NULL, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    nph_auto_json *updated = api_flavor_for_request(req, req->params[0]);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "flavor", flavor_view(req, updated, true));
    api_reply(resp, 200, body);
}

static bool set_spec(struct api_request *req, struct api_response *resp, const char *flavor_id,
                     const char *key, json_object *value)
{
    if (strlen(key) < 1 || strlen(key) > 255 ||
        (!json_object_is_type(value, json_type_string) && !json_object_is_type(value, json_type_int) &&
         !json_object_is_type(value, json_type_double) && !json_object_is_type(value, json_type_boolean)) ||
        strlen(json_object_get_string(value)) > 255) {
        api_error(resp, 400, "Invalid input for field/attribute extra_specs. Value: %s.",
                  json_object_to_json_string(value));
        return false;
    }
    const char *params[] = { json_object_get_string(value), flavor_id, key };
    int64_t changed = 0;
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_db_execute(req->db, "UPDATE flavor_extra_specs SET value = ? WHERE "
                                            "flavor_id = ? AND key = ?",
                                   params, 3, &changed, &err);
    const char *insert[] = { flavor_id, key, json_object_get_string(value) };
    if (st == NPH_OK && changed == 0)
        st = nph_db_execute(req->db, "INSERT INTO flavor_extra_specs (flavor_id, key, value) "
                                     "VALUES (?, ?, ?)",
                            insert, 3, NULL, &err);
    if (st != NPH_OK)
        api_error_from(resp, &err);
    return st == NPH_OK;
}

void api_flavor_extra_specs_create(struct api_request *req, struct api_response *resp)
{
    json_object *specs;
    nph_auto_json *f = admin_flavor(req, resp);
    if (!f || !api_body_object(req, resp, "extra_specs", &specs))
        return;
    char id[32];
    db_id(f, id);
    json_object_object_foreach(specs, key, value)
        if (!set_spec(req, resp, id, key, value))
            return;
    json_object *body = json_object_new_object();
    json_object_object_add(body, "extra_specs", json_object_get(specs));
    api_reply(resp, 200, body);
}

void api_flavor_extra_spec_show(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *f = api_flavor_for_request(req, req->params[0]);
    json_object *value = f ? api_member(api_member(f, "extra_specs"), req->params[1]) : NULL;
    if (!f) {
        api_error(resp, 404, "Flavor %s could not be found.", req->params[0]);
        return;
    }
    if (!value) {
        api_error(resp, 404, "Flavor %s has no extra specs with key %s.", req->params[0],
                  req->params[1]);
        return;
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, req->params[1], json_object_get(value));
    api_reply(resp, 200, body);
}

void api_flavor_extra_spec_update(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *f = admin_flavor(req, resp);
    json_object *value = NULL;
    if (!f)
        return;
    if (!req->body || !json_object_is_type(req->body, json_type_object) ||
        json_object_object_length(req->body) != 1 ||
        !json_object_object_get_ex(req->body, req->params[1], &value)) {
        api_error(resp, 400, "Request body and URI mismatch");
        return;
    }
    char id[32];
    db_id(f, id);
    if (set_spec(req, resp, id, req->params[1], value))
        api_reply(resp, 200, json_object_get(req->body));
}

void api_flavor_extra_spec_delete(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *f = admin_flavor(req, resp);
    if (!f)
        return;
    char id[32];
    db_id(f, id);
    const char *params[] = { id, req->params[1] };
    int64_t changed = 0;
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_execute(req->db, "DELETE FROM flavor_extra_specs WHERE flavor_id = ? AND key = ?",
                       params, 2, &changed, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    if (changed == 0) {
        api_error(resp, 404, "Flavor %s has no extra specs with key %s.", req->params[0],
                  req->params[1]);
        return;
    }
    resp->status = 200;
}

static void reply_access(struct api_request *req, struct api_response *resp, json_object *f)
{
    char id[32];
    db_id(f, id);
    const char *params[] = { id };
    nph_auto_json *rows = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_select_rows(req->db, "SELECT project_id FROM flavor_projects WHERE flavor_id = ? "
                                    "ORDER BY id",
                           params, 1, &rows, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *entry = json_object_new_object();
        json_object_object_add(entry, "flavor_id", json_object_get(api_member(f, "flavorid")));
        json_object_object_add(entry, "tenant_id",
                               json_object_get(api_member(json_object_array_get_idx(rows, i), "project_id")));
        json_object_array_add(list, entry);
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "flavor_access", list);
    api_reply(resp, 200, body);
}

void api_flavor_access_list(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *f = admin_flavor(req, resp);
    if (!f)
        return;
    if (json_object_get_int64(api_member(f, "is_public"))) {
        api_error(resp, 404, "Access list not available for public flavors.");
        return;
    }
    reply_access(req, resp, f);
}

void api_flavors_action(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *f = admin_flavor(req, resp);
    if (!f)
        return;
    json_object *arg = NULL;
    bool add = req->body && json_object_object_get_ex(req->body, "addTenantAccess", &arg);
    if (!add && !(req->body && json_object_object_get_ex(req->body, "removeTenantAccess", &arg))) {
        api_error(resp, 400, "There is either no action or an unknown action in the request body.");
        return;
    }
    const char *tenant = json_object_get_string(api_member(arg, "tenant"));
    if (!tenant || !*tenant || json_object_object_length(req->body) != 1) {
        api_error(resp, 400, "Invalid input for field/attribute tenant. 'tenant' is a required "
                             "property");
        return;
    }
    if (json_object_get_int64(api_member(f, "is_public"))) {
        api_error(resp, 409, "Can not add access to a public flavor.");
        return;
    }
    char id[32];
    db_id(f, id);
    const char *params[] = { id, tenant };
    int64_t changed = 0;
    nph_error err = NPH_ERROR_INIT;
    nph_status st = add ? nph_db_execute(req->db, "INSERT INTO flavor_projects (flavor_id, "
                                                  "project_id) VALUES (?, ?)",
                                         params, 2, &changed, &err)
                        : nph_db_execute(req->db, "DELETE FROM flavor_projects WHERE flavor_id = ? "
                                                  "AND project_id = ?",
                                         params, 2, &changed, &err);
    if (st == NPH_ERR_CONFLICT) {
        api_error(resp, 409, "Flavor access already exists for flavor %s and project %s "
                             "combination.",
                  req->params[0], tenant);
        return;
    }
    if (st != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    if (!add && changed == 0) {
        api_error(resp, 404, "Flavor access not found for %s / %s combination.", req->params[0],
                  tenant);
        return;
    }
    reply_access(req, resp, f);
}
