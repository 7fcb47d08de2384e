/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /servers/ID: show, update, delete, metadata, instance actions; the
 * lookups the other server files share. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api-servers.h"
#include "console.h"
#include "bus.h"
#include "db-objects.h"
#include "error.h"
#include "log.h"
#include "uuid.h"

NPH_LOG_INIT("api.servers");

bool api_server_lookup(struct api_request *req, struct api_response *resp, const char *id,
                       json_object **inst)
{
    nph_error err = NPH_ERROR_INIT;
    json_object *record = NULL;
    nph_status st = nph_uuid_is_valid(id) ? nph_db_instance_get(req->db, id, &record, &err)
                                          : NPH_ERR_NOT_FOUND;
    const char *project = NULL;
    if (st == NPH_OK)
        nph_json_get_string(record, "project_id", false, &project, NULL);
    if (st == NPH_OK && !req->ctx.is_admin &&
        (!project || strcmp(project, req->ctx.project_id) != 0))
        st = NPH_ERR_NOT_FOUND; /* another project's server does not exist for you */
    if (st == NPH_ERR_NOT_FOUND) {
        json_object_put(record);
        api_error(resp, 404, "Instance %s could not be found.", id);
        return false;
    }
    if (st != NPH_OK) {
        api_error_from(resp, &err);
        return false;
    }
    *inst = record;
    return true;
}

json_object *api_server_fault(struct api_request *req, const char *uuid)
{
    const char *params[] = { uuid };
    nph_auto_json *rows = NULL;
    if (nph_db_select_rows(req->db,
                           "SELECT code, message, details, created_at FROM instance_faults "
                           "WHERE instance_uuid = ? ORDER BY id DESC LIMIT 1",
                           params, 1, &rows, NULL) != NPH_OK ||
        json_object_array_length(rows) == 0)
        return NULL;
    return json_object_get(json_object_array_get_idx(rows, 0));
}

void api_server_action_start(struct api_request *req, const char *uuid, const char *action)
{
    int64_t id;
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_instance_action_start(req->db, uuid, action, req->request_id, req->ctx.user_id,
                                     req->ctx.project_id, &id, &err) != NPH_OK)
        nph_warn("cannot record action %s of %s: %s", action, uuid, err.message);
}

/* {"server": VIEW} as the answer. */
void api_server_reply(struct api_request *req, struct api_response *resp, json_object *inst,
                      enum api_server_view_kind kind, unsigned status, const char *admin_pass)
{
    struct api_server_row row;
    api_server_row_from_json(&row, inst);
    nph_auto_json *fault = row.text[SR_VM_STATE] && strcmp(row.text[SR_VM_STATE], "error") == 0
                               ? api_server_fault(req, row.text[SR_UUID]) : NULL;
    nph_auto_buffer out = NPH_BUFFER_INIT;
    nph_buffer_append(&out, "{\"server\":", 10);
    api_server_view(req, &out, &row, fault, kind);
    if (admin_pass) { /* into the server object, before its closing brace */
        out.len--;
        json_object *pass = json_object_new_string(admin_pass);
        nph_buffer_appendf(&out, ",\"adminPass\":%s}", json_object_to_json_string(pass));
        json_object_put(pass);
    }
    nph_buffer_append(&out, "}", 1);
    api_reply_text(resp, status, &out);
}

void api_servers_show(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *inst = NULL;
    if (api_server_lookup(req, resp, req->params[0], &inst))
        api_server_reply(req, resp, inst, API_VIEW_SHOW, 200, NULL);
}

void api_servers_update(struct api_request *req, struct api_response *resp)
{
    json_object *server;
    nph_auto_json *inst = NULL;
    if (!api_body_object(req, resp, "server", &server) ||
        !api_server_lookup(req, resp, req->params[0], &inst))
        return;
    static const char *const v1[] = { "name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig", NULL };
    static const char *const v19[] = { "name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig",
                                       "description", NULL };
    if (!api_no_extra_members(resp, server, req->minor >= 19 ? v19 : v1))
        return;
    nph_auto_json *changes = json_object_new_object();
    static const struct {
        const char *member, *column;
        bool nullable;
    } fields[] = {
        { "name", "display_name", false },
        { "description", "description", true },
        { "accessIPv4", "access_ip_v4", true },
        { "accessIPv6", "access_ip_v6", true },
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        json_object *v;
        if (!json_object_object_get_ex(server, fields[i].member, &v))
            continue;
        if ((v == NULL && !fields[i].nullable) || (v && !json_object_is_type(v, json_type_string)) ||
            (v && json_object_get_string_len(v) > 255)) {
            api_error(resp, 400, "Invalid input for field/attribute %s. Value: %s.",
                      fields[i].member, v ? json_object_to_json_string(v) : "None");
            return;
        }
        json_object_object_add(changes, fields[i].column, json_object_get(v));
    }
    const char *uuid = req->params[0];
    nph_error err = NPH_ERROR_INIT;
    json_object *updated = NULL;
    if (json_object_object_length(changes) > 0 &&
        nph_db_instance_update(req->db, uuid, changes, NULL, &updated, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    if (updated) {
        json_object_put(inst);
        inst = updated;
    }
    api_server_reply(req, resp, inst, API_VIEW_UPDATE, 200, NULL);
}

/* Locked servers refuse everything but an admin. */
bool api_server_check_unlocked(struct api_request *req, struct api_response *resp,
                               json_object *inst)
{
    json_object *locked;
    if (req->ctx.is_admin || !json_object_object_get_ex(inst, "locked", &locked) ||
        !json_object_get_int(locked))
        return true;
    const char *uuid = NULL;
    nph_json_get_string(inst, "uuid", false, &uuid, NULL);
    api_error(resp, 409, "Instance %s is locked", uuid);
    return false;
}

void api_servers_delete(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *inst = NULL;
    if (!api_server_lookup(req, resp, req->params[0], &inst) ||
        !api_server_check_unlocked(req, resp, inst))
        return;
    const char *uuid = req->params[0];
    nph_auto_json *changes = json_object_new_object();
    nph_json_add_string(changes, "task_state", "deleting");
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    nph_error err = NPH_ERROR_INIT;
    api_server_action_start(req, uuid, "delete");
    if (nph_db_instance_update(req->db, uuid, changes, NULL, NULL, &err) != NPH_OK ||
        nph_bus_cast(req->api->bus, "conductor", "delete_instance", args, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    /* Its consoles close to new clients at once, as Nova's do. */
    if (nph_console_tokens_delete_instance(req->db, uuid, &err) != NPH_OK)
        nph_warn("instance %s: its console tokens stay until they expire: %s", uuid, err.message);
    resp->status = 204;
}

void api_server_metadata_list(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *inst = NULL;
    if (!api_server_lookup(req, resp, req->params[0], &inst))
        return;
    json_object *metadata = NULL;
    json_object_object_get_ex(inst, "metadata", &metadata);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "metadata", json_object_is_type(metadata, json_type_object)
                                                 ? json_object_get(metadata)
                                                 : json_object_new_object());
    api_reply(resp, 200, body);
}

void api_server_metadata_show(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *inst = NULL;
    if (!api_server_lookup(req, resp, req->params[0], &inst))
        return;
    json_object *metadata = NULL, *value = NULL;
    json_object_object_get_ex(inst, "metadata", &metadata);
    if (!json_object_is_type(metadata, json_type_object) ||
        !json_object_object_get_ex(metadata, req->params[1], &value)) {
        api_error(resp, 404, "Metadata item was not found");
        return;
    }
    json_object *meta = json_object_new_object();
    json_object_object_add(meta, req->params[1], json_object_get(value));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "meta", meta);
    api_reply(resp, 200, body);
}

/* ---- writing metadata --------------------------------------------------- */

/* A metadata object as Nova checks it: string keys of 1 to 255 characters,
 * string values of up to 255, no more items than the quota. */
static bool valid_metadata(struct api_request *req, struct api_response *resp, json_object *md)
{
    json_object_object_foreach(md, key, value) {
        if (strlen(key) < 1 || strlen(key) > 255 || !json_object_is_type(value, json_type_string) ||
            json_object_get_string_len(value) > 255) {
            api_error(resp, 400, "Invalid input for field/attribute metadata. Value: %s. Keys "
                                 "must be 1 to 255 characters and values strings of up to 255",
                      json_object_to_json_string(md));
            return false;
        }
    }
    int64_t max = req->api->quota_defaults[API_QUOTA_METADATA_ITEMS];
    if (max >= 0 && json_object_object_length(md) > max) {
        api_error(resp, 403, "Quota exceeded for metadata_items: Requested %d, but already used 0 "
                             "of %lld metadata_items",
                  json_object_object_length(md), (long long)max);
        return false;
    }
    return true;
}

/* Store `md` as the server's metadata; false with the error in resp. */
static bool save_metadata(struct api_request *req, struct api_response *resp, const char *uuid,
                          json_object *md)
{
    if (!valid_metadata(req, resp, md))
        return false;
    nph_auto_json *changes = json_object_new_object();
    json_object_object_add(changes, "metadata", json_object_get(md));
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_instance_update(req->db, uuid, changes, NULL, NULL, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return false;
    }
    return true;
}

/* {"KEY": value} under `key`, as the answer. */
static void reply_object(struct api_response *resp, unsigned status, const char *key,
                         json_object *value)
{
    json_object *body = json_object_new_object();
    json_object_object_add(body, key, value);
    api_reply(resp, status, body);
}

static json_object *current_metadata(json_object *inst)
{
    json_object *md = NULL;
    json_object_object_get_ex(inst, "metadata", &md);
    json_object *copy = NULL;
    if (!json_object_is_type(md, json_type_object) || json_object_deep_copy(md, &copy, NULL) != 0)
        return json_object_new_object();
    return copy;
}

/* PUT replaces all metadata; POST merges into it. */
static void write_metadata(struct api_request *req, struct api_response *resp, bool replace)
{
    json_object *md;
    nph_auto_json *inst = NULL;
    if (!api_body_object(req, resp, "metadata", &md) ||
        !api_server_lookup(req, resp, req->params[0], &inst) ||
        !api_server_check_unlocked(req, resp, inst))
        return;
    json_object *result = replace ? json_object_new_object() : current_metadata(inst);
    json_object_object_foreach(md, key, value)
        json_object_object_add(result, key, json_object_get(value));
    if (save_metadata(req, resp, req->params[0], result))
        reply_object(resp, 200, "metadata", result);
    else
        json_object_put(result);
}

void api_server_metadata_replace(struct api_request *req, struct api_response *resp)
{
    write_metadata(req, resp, true);
}

void api_server_metadata_update(struct api_request *req, struct api_response *resp)
{
    write_metadata(req, resp, false);
}

void api_server_metadata_set_item(struct api_request *req, struct api_response *resp)
{
    json_object *meta;
    nph_auto_json *inst = NULL;
    if (!api_body_object(req, resp, "meta", &meta) ||
        !api_server_lookup(req, resp, req->params[0], &inst) ||
        !api_server_check_unlocked(req, resp, inst))
        return;
    json_object *value = NULL;
    if (json_object_object_length(meta) != 1 ||
        !json_object_object_get_ex(meta, req->params[1], &value)) {
        api_error(resp, 400, "Request body and URI mismatch");
        return;
    }
    nph_auto_json *result = current_metadata(inst);
    json_object_object_add(result, req->params[1], json_object_get(value));
    if (save_metadata(req, resp, req->params[0], result))
        reply_object(resp, 200, "meta", json_object_get(meta));
}

void api_server_metadata_delete_item(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *inst = NULL;
    if (!api_server_lookup(req, resp, req->params[0], &inst) ||
        !api_server_check_unlocked(req, resp, inst))
        return;
    nph_auto_json *result = current_metadata(inst);
    if (!json_object_object_get_ex(result, req->params[1], NULL)) {
        api_error(resp, 404, "Metadata item was not found");
        return;
    }
    json_object_object_del(result, req->params[1]);
    if (save_metadata(req, resp, req->params[0], result))
        resp->status = 204;
}

/* ---- /servers/ID/ips ------------------------------------------------------ */

/* No server has a port yet, so its addresses are empty, as in its view. */
void api_server_ips(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *inst = NULL;
    if (!api_server_lookup(req, resp, req->params[0], &inst))
        return;
    json_object *body = json_object_new_object();
    json_object_object_add(body, "addresses", json_object_new_object());
    api_reply(resp, 200, body);
}

void api_server_ips_network(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *inst = NULL;
    if (api_server_lookup(req, resp, req->params[0], &inst))
        api_error(resp, 404, "Instance is not a member of specified network");
}

/* ---- os-instance-actions ------------------------------------------------- */

static json_object *action_view(const struct api_request *req, json_object *row)
{
    static const char *const copied[] = { "action", "instance_uuid", "message", "project_id",
                                          "request_id", "start_time", "user_id" };
    json_object *view = json_object_new_object();
    for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
        json_object *v = NULL;
        json_object_object_get_ex(row, copied[i], &v);
        json_object_object_add(view, copied[i], json_object_get(v));
    }
    if (req->minor >= 58) {
        json_object *v = NULL;
        json_object_object_get_ex(row, "updated_at", &v);
        json_object_object_add(view, "updated_at", json_object_get(v));
    }
    return view;
}

void api_instance_actions_list(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *inst = NULL;
    if (!api_server_lookup(req, resp, req->params[0], &inst))
        return;
    const char *params[] = { req->params[0] };
    nph_auto_json *rows = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_select_rows(req->db,
                           "SELECT * FROM instance_actions WHERE instance_uuid = ? "
                           "ORDER BY id DESC",
                           params, 1, &rows, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(rows); i++)
        json_object_array_add(list, action_view(req, json_object_array_get_idx(rows, i)));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "instanceActions", list);
    api_reply(resp, 200, body);
}

void api_instance_actions_show(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *inst = NULL;
    if (!api_server_lookup(req, resp, req->params[0], &inst))
        return;
    const char *params[] = { req->params[0], req->params[1] };
    nph_auto_json *rows = NULL, *events = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_select_rows(req->db,
                           "SELECT * FROM instance_actions WHERE instance_uuid = ? AND "
                           "request_id = ? ORDER BY id DESC LIMIT 1",
                           params, 2, &rows, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    json_object *row = json_object_array_get_idx(rows, 0);
    if (!row) {
        api_error(resp, 404, "Action for request_id %s on instance %s not found",
                  req->params[1], req->params[0]);
        return;
    }
    json_object *view = action_view(req, row);
    json_object *id = NULL;
    json_object_object_get_ex(row, "id", &id);
    char action_id[32];
    snprintf(action_id, sizeof(action_id), "%lld", (long long)json_object_get_int64(id));
    const char *event_params[] = { action_id };
    json_object *list = json_object_new_array();
    if (nph_db_select_rows(req->db,
                           "SELECT event, start_time, finish_time, result, traceback, host "
                           "FROM instance_actions_events WHERE action_id = ? ORDER BY id",
                           event_params, 1, &events, &err) == NPH_OK) {
        for (size_t i = 0; i < json_object_array_length(events); i++) {
            json_object *e = json_object_array_get_idx(events, i);
            /* Hosts are for admins (2.62 adds host and hostId; earlier, neither). */
            if (!req->ctx.is_admin || req->minor < 62)
                json_object_object_del(e, "host");
            if (!req->ctx.is_admin)
                json_object_object_del(e, "traceback");
            json_object_array_add(list, json_object_get(e));
        }
    }
    json_object_object_add(view, "events", list);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "instanceAction", view);
    api_reply(resp, 200, body);
}

/* The flavor as the instance keeps it: a snapshot, so later flavor edits do
 * not change running servers. */
json_object *api_flavor_snapshot(json_object *flavor)
{
    static const char *const kept[] = { "flavorid", "name", "vcpus", "memory_mb", "root_gb",
                                        "ephemeral_gb", "swap", "rxtx_factor", "extra_specs",
                                        "description" };
    json_object *snap = json_object_new_object();
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        json_object *v;
        if (json_object_object_get_ex(flavor, kept[i], &v))
            json_object_object_add(snap, kept[i], json_object_get(v));
    }
    return snap;
}

bool api_server_state_allows(struct api_response *resp, json_object *inst, const char *action,
                             const char *const *vm_states)
{
    const char *vm_state = json_object_get_string(api_member(inst, "vm_state"));
    const char *task = json_object_get_string(api_member(inst, "task_state"));
    bool ok = false;
    for (; *vm_states && !ok; vm_states++)
        ok = vm_state && strcmp(*vm_states, vm_state) == 0;
    if (ok && !task)
        return true;
    api_error(resp, 409, "Cannot '%s' instance %s while it is in %s %s", action,
              json_object_get_string(api_member(inst, "uuid")), ok ? "task_state" : "vm_state",
              ok ? task : vm_state ? vm_state : "None");
    return false;
}
