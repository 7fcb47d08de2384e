/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The server actions about images: rebuild (a new root disk from an image,
 * same server) and createImage (a snapshot of the root disk into the image
 * service).  Both check the states Nova allows, set the task state, and
 * hand the work to the server's compute host.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api-servers.h"
#include "bus.h"
#include "clock.h"
#include "db-objects.h"
#include "error.h"

static const char *text(json_object *obj, const char *key)
{
    return json_object_get_string(api_member(obj, key));
}

/* The states the action may start from, and a host to do it. */
static bool state_allows(struct api_response *resp, json_object *inst, const char *action,
                         const char *const *allowed)
{
    if (!api_server_state_allows(resp, inst, action, allowed))
        return false;
    if (!text(inst, "host")) {
        api_error(resp, 409, "Instance %s is not on any host", text(inst, "uuid"));
        return false;
    }
    return true;
}

json_object *api_image_for_compute(const struct api_request *req, json_object *img)
{
    json_object *image = json_object_new_object();
    static const char *const keys[] = { "disk_format", "container_format", "checksum", "name" };
    nph_json_add_string(image, "id", text(img, "uuid"));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        json_object_object_add(image, keys[i], json_object_get(api_member(img, keys[i])));
    json_object_object_add(image, "size", json_object_get(api_member(img, "size")));
    json_object_object_add(image, "properties", json_object_get(api_member(img, "properties")));
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", req->api->image_dir, text(img, "uuid"));
    nph_json_add_string(image, "path", path);
    return image;
}

static bool cast_to_host(struct api_request *req, struct api_response *resp, json_object *inst,
                         const char *method, json_object *args)
{
    char topic[300];
    snprintf(topic, sizeof(topic), "compute.%s", text(inst, "host"));
    nph_error err = NPH_ERROR_INIT;
    if (nph_bus_cast(req->api->bus, topic, method, args, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return false;
    }
    return true;
}

/* ---- rebuild ------------------------------------------------------------- */

/* The members of a rebuild body at 2.minor. */
static bool rebuild_members_ok(struct api_request *req, struct api_response *resp, json_object *arg)
{
    static const char *const names[] = { "imageRef", "name", "adminPass", "metadata",
                                         "preserve_ephemeral", "OS-DCF:diskConfig", "accessIPv4",
                                         "accessIPv6", "personality", "description", "key_name",
                                         "user_data", "trusted_image_certificates", "hostname" };
    static const int since[] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 19, 54, 57, 63, 90 };
    const char *allowed[sizeof(names) / sizeof(names[0]) + 1];
    size_t n = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (req->minor >= since[i] && !(strcmp(names[i], "personality") == 0 && req->minor >= 57))
            allowed[n++] = names[i];
    allowed[n] = NULL;
    return api_no_extra_members(resp, arg, allowed);
}

/* The image the body names, active and visible to the caller; NULL with a 400. */
static json_object *usable_image(struct api_request *req, struct api_response *resp, json_object *ref)
{
    const char *id = json_object_is_type(ref, json_type_string) ? json_object_get_string(ref) : NULL;
    const char *params[] = { id, req->ctx.project_id };
    nph_auto_json *rows = NULL;
    if (id && nph_uuid_is_valid(id))
        nph_db_select_rows(req->db,
                           "SELECT * FROM images WHERE uuid = ? AND deleted = 0 AND (visibility "
                           "IN ('public', 'community') OR owner = ? OR owner IS NULL)",
                           params, 2, &rows, NULL);
    json_object *img = json_object_get(json_object_array_get_idx(rows, 0));
    if (!img)
        api_error(resp, 400, "Can not find requested image");
    else if (strcmp(text(img, "status"), "active") != 0)
        api_error(resp, 400, "Image %s is not active.", id);
    else
        return img;
    json_object_put(img);
    return NULL;
}

void api_server_rebuild(struct api_request *req, struct api_response *resp, json_object *inst,
                        json_object *arg)
{
    static const char *const allowed_states[] = { "active", "stopped", "error", NULL };
    if (!json_object_is_type(arg, json_type_object)) {
        api_error(resp, 400, "Invalid input for field/attribute rebuild. It is not an object");
        return;
    }
    if (!rebuild_members_ok(req, resp, arg) || !state_allows(resp, inst, "rebuild", allowed_states))
        return;
    nph_auto_json *img = usable_image(req, resp, api_member(arg, "imageRef"));
    if (!img)
        return;
    json_object *name = api_member(arg, "name"), *metadata = api_member(arg, "metadata");
    json_object *pass = api_member(arg, "adminPass");
    if ((name && (!json_object_is_type(name, json_type_string) || !json_object_get_string_len(name))) ||
        (metadata && !json_object_is_type(metadata, json_type_object)) ||
        (pass && !json_object_is_type(pass, json_type_string))) {
        api_error(resp, 400, "Invalid input for rebuild: name is a non-empty string, metadata an "
                             "object, adminPass a string");
        return;
    }
    nph_auto_json *changes = json_object_new_object();
    nph_json_add_string(changes, "task_state", "rebuilding");
    nph_json_add_string(changes, "image_ref", text(img, "uuid"));
    if (name)
        json_object_object_add(changes, "display_name", json_object_get(name));
    if (metadata)
        json_object_object_add(changes, "metadata", json_object_get(metadata));
    /* description (2.19) and user_data (2.57): null clears them */
    static const char *const clearable[] = { "description", "user_data" };
    for (size_t i = 0; i < 2; i++)
        if (json_object_object_get_ex(arg, clearable[i], NULL))
            json_object_object_add(changes, clearable[i], json_object_get(api_member(arg, clearable[i])));
    const char *uuid = text(inst, "uuid");
    nph_error err = NPH_ERROR_INIT;
    json_object *updated = NULL;
    if (nph_db_instance_update(req->db, uuid, changes, "none", &updated, &err) != NPH_OK) {
        api_error(resp, 409, "Cannot 'rebuild' instance %s: %s", uuid, err.message);
        return;
    }
    nph_auto_json *record = updated;
    api_server_action_start(req, uuid, "rebuild");
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    json_object_object_add(args, "image", api_image_for_compute(req, img));
    if (!cast_to_host(req, resp, inst, "rebuild_instance", args))
        return;
    char generated[13];
    api_random_password(generated);
    api_server_reply(req, resp, record, API_VIEW_REBUILD, 202, pass ? json_object_get_string(pass) : generated);
}

/* ---- createImage ------------------------------------------------------------ */

/* A queued image record for the snapshot, owned by the server's project. */
static nph_status record_snapshot(struct api_request *req, json_object *inst, const char *name,
                                  json_object *metadata, const char *image_id, nph_error *err)
{
    nph_auto_json *props = json_object_new_object();
    if (metadata) {
        json_object_object_foreach(metadata, key, value)
            json_object_object_add(props, key, json_object_get(value));
    }
    nph_json_add_string(props, "image_type", "snapshot");
    nph_json_add_string(props, "instance_uuid", text(inst, "uuid"));
    nph_json_add_string(props, "base_image_ref", text(inst, "image_ref"));
    nph_json_add_string(props, "user_id", req->ctx.user_id);
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    const char *params[] = { image_id, name, text(inst, "project_id"),
                             json_object_to_json_string_ext(props, JSON_C_TO_STRING_PLAIN), now,
                             now };
    return nph_db_execute(req->db,
                          "INSERT INTO images (uuid, name, container_format, visibility, owner, "
                          "properties, status, created_at, updated_at) VALUES (?, ?, 'bare', "
                          "'private', ?, ?, 'queued', ?, ?)",
                          params, 6, NULL, err);
}

void api_server_create_image(struct api_request *req, struct api_response *resp, json_object *inst,
                             json_object *arg)
{
    static const char *const allowed_states[] = { "active", "stopped", "paused", "suspended", NULL };
    static const char *const allowed[] = { "name", "metadata", NULL };
    json_object *name = api_member(arg, "name"), *metadata = api_member(arg, "metadata");
    if (!json_object_is_type(arg, json_type_object) || !json_object_is_type(name, json_type_string) ||
        !json_object_get_string_len(name) || json_object_get_string_len(name) > 255 ||
        (metadata && !json_object_is_type(metadata, json_type_object))) {
        api_error(resp, 400, "Invalid input for field/attribute createImage: it needs a name of "
                             "1 to 255 characters and, optionally, metadata as an object");
        return;
    }
    if (!api_no_extra_members(resp, arg, allowed) ||
        !state_allows(resp, inst, "createImage", allowed_states))
        return;
    const char *uuid = text(inst, "uuid");
    char image_id[NPH_UUID_STRLEN + 1];
    nph_uuid_generate(image_id);
    nph_auto_json *changes = json_object_new_object();
    nph_json_add_string(changes, "task_state", "image_snapshot");
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_instance_update(req->db, uuid, changes, "none", NULL, &err) != NPH_OK) {
        api_error(resp, 409, "Cannot 'createImage' instance %s: %s", uuid, err.message);
        return;
    }
    if (record_snapshot(req, inst, json_object_get_string(name), metadata, image_id, &err) != NPH_OK) {
        json_object_object_add(changes, "task_state", NULL);
        nph_db_instance_update(req->db, uuid, changes, "image_snapshot", NULL, NULL);
        api_error_from(resp, &err);
        return;
    }
    api_server_action_start(req, uuid, "createImage");
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    nph_json_add_string(args, "image_id", image_id);
    nph_json_add_string(args, "image_dir", req->api->image_dir);
    if (!cast_to_host(req, resp, inst, "snapshot_instance", args))
        return;
    snprintf(resp->location, sizeof(resp->location), "%s/v2.1/images/%s", req->base_url, image_id);
    if (req->minor >= 45) {
        json_object *body = json_object_new_object();
        nph_json_add_string(body, "image_id", image_id);
        api_reply(resp, 202, body);
    } else {
        resp->status = 202;
    }
}
