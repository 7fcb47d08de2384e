/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Resize, in Nova's steps: the API checks the new flavor and the quota,
 * writes a migration record (with both flavors) and hands it to the
 * conductor, which picks a destination; the source host powers the guest
 * off and hands over, the destination finishes, and the server waits in
 * VERIFY_RESIZE until confirmResize (the source drops its copy) or
 * revertResize (back to the old flavor and host).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api-servers.h"
#include "bus.h"
#include "clock.h"
#include "db-objects.h"
#include "error.h"
#include "uuid.h"

static const char *text(json_object *obj, const char *key)
{
    return json_object_get_string(api_member(obj, key));
}

static int64_t num(json_object *obj, const char *key)
{
    return json_object_get_int64(api_member(obj, key));
}

/* The quota for growing from `old` to `new`: false with Nova's 403. */
static bool quota_allows(struct api_request *req, struct api_response *resp, json_object *inst,
                         json_object *old, json_object *new)
{
    int64_t limits[API_QUOTA_COUNT], used[API_QUOTA_COUNT], each[API_QUOTA_COUNT] = { 0 };
    nph_error err = NPH_ERROR_INIT;
    const char *project = text(inst, "project_id");
    if (api_quota_limits(req->api, req->db, project, limits, &err) != NPH_OK ||
        api_quota_usage(req->db, project, NULL, used, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return false;
    }
    each[API_QUOTA_CORES] = num(new, "vcpus") - num(old, "vcpus");
    each[API_QUOTA_RAM] = num(new, "memory_mb") - num(old, "memory_mb");
    char message[512] = "";
    if (api_quota_fit(limits, used, each, 1, message, sizeof(message)) < 1) {
        api_error(resp, 403, "%s", message);
        return false;
    }
    return true;
}

/* The new flavor of a resize body, checked against the old one; NULL with a 400. */
static json_object *new_flavor(struct api_request *req, struct api_response *resp, json_object *arg,
                               json_object *old)
{
    static const char *const allowed[] = { "flavorRef", "OS-DCF:diskConfig", NULL };
    json_object *ref = api_member(arg, "flavorRef");
    if (!json_object_is_type(arg, json_type_object)) {
        api_error(resp, 400, "Invalid input for field/attribute resize. It is not an object");
        return NULL;
    }
    if (!api_no_extra_members(resp, arg, allowed))
        return NULL;
    if (!json_object_is_type(ref, json_type_string) && !json_object_is_type(ref, json_type_int)) {
        api_error(resp, 400, "Invalid input for field/attribute flavorRef. Value: %s.",
                  ref ? json_object_to_json_string(ref) : "None");
        return NULL;
    }
    json_object *flavor = api_flavor_for_request(req, json_object_get_string(ref));
    const char *problem = NULL;
    if (!flavor)
        problem = "Unable to locate requested flavor.";
    else if (strcmp(text(flavor, "flavorid"), text(old, "flavorid") ? text(old, "flavorid") : "") == 0)
        problem = "When resizing, instances must change flavor!";
    else if (num(flavor, "root_gb") == 0 && num(old, "root_gb") > 0)
        problem = "Resize to zero disk flavor is not allowed.";
    else if (num(flavor, "root_gb") < num(old, "root_gb"))
        problem = "Unable to resize disk down.";
    if (!problem)
        return flavor;
    api_error(resp, 400, "%s", problem);
    json_object_put(flavor);
    return NULL;
}

static bool cast(struct api_request *req, struct api_response *resp, const char *topic,
                 const char *method, const char *uuid, const char *migration)
{
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    nph_json_add_string(args, "migration", migration);
    nph_error err = NPH_ERROR_INIT;
    if (nph_bus_cast(req->api->bus, topic, method, args, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return false;
    }
    return true;
}

void api_server_resize(struct api_request *req, struct api_response *resp, json_object *inst,
                       json_object *arg)
{
    static const char *const states[] = { "active", "stopped", NULL };
    if (!api_server_state_allows(resp, inst, "resize", states))
        return;
    json_object *old = api_member(inst, "flavor");
    nph_auto_json *flavor = new_flavor(req, resp, arg, old);
    if (!flavor || !quota_allows(req, resp, inst, old, flavor))
        return;
    nph_auto_json *snapshot = api_flavor_snapshot(flavor);
    const char *uuid = text(inst, "uuid");
    char migration[NPH_UUID_STRLEN + 1], now[NPH_ISO_TIME_LEN];
    nph_uuid_generate(migration);
    nph_clock_iso_now(now);
    const char *params[] = { migration, uuid, text(inst, "host"), text(inst, "node"),
                             text(old, "flavorid"), text(flavor, "flavorid"),
                             json_object_to_json_string_ext(old, JSON_C_TO_STRING_PLAIN),
                             json_object_to_json_string_ext(snapshot, JSON_C_TO_STRING_PLAIN),
                             now, now };
    nph_auto_json *changes = json_object_new_object();
    nph_json_add_string(changes, "task_state", "resize_prep");
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_db_begin(req->db, &err);
    if (st == NPH_OK)
        st = nph_db_instance_update(req->db, uuid, changes, "none", NULL, &err);
    if (st == NPH_OK)
        st = nph_db_execute(req->db,
                            "INSERT INTO migrations (uuid, instance_uuid, source_compute, "
                            "source_node, status, migration_type, old_instance_type_id, "
                            "new_instance_type_id, old_flavor, new_flavor, created_at, updated_at) "
                            "VALUES (?, ?, ?, ?, 'pre-migrating', 'resize', ?, ?, ?, ?, ?, ?)",
                            params, 10, NULL, &err);
    char conflict[200];
    snprintf(conflict, sizeof(conflict), "Cannot 'resize' instance %s: another task started", uuid);
    if (!api_commit(req, resp, st, &err, conflict))
        return;
    api_server_action_start(req, uuid, "resize");
    if (cast(req, resp, "conductor", "resize_instance", uuid, migration))
        resp->status = 202;
}

/* The migration of a server waiting in VERIFY_RESIZE; NULL with an error. */
static json_object *finished_migration(struct api_request *req, struct api_response *resp,
                                       json_object *inst, const char *action)
{
    static const char *const states[] = { "resized", NULL };
    if (!api_server_state_allows(resp, inst, action, states))
        return NULL;
    const char *params[] = { text(inst, "uuid") };
    nph_auto_json *rows = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_select_rows(req->db, "SELECT * FROM migrations WHERE instance_uuid = ? AND status = "
                                    "'finished' AND deleted = 0 ORDER BY id DESC",
                           params, 1, &rows, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return NULL;
    }
    json_object *m = json_object_get(json_object_array_get_idx(rows, 0));
    if (!m)
        api_error(resp, 400, "Instance has not been resized.");
    return m;
}

/* Hand a confirm or revert to `host` after marking the migration. */
static void settle(struct api_request *req, struct api_response *resp, json_object *inst,
                   json_object *m, const char *status, const char *task, const char *host,
                   const char *method, const char *action, unsigned answer)
{
    const char *uuid = text(inst, "uuid"), *migration = text(m, "uuid");
    const char *params[] = { status, migration };
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_db_begin(req->db, &err);
    if (st == NPH_OK)
        st = nph_db_execute(req->db, "UPDATE migrations SET status = ? WHERE uuid = ?", params, 2,
                            NULL, &err);
    nph_auto_json *changes = json_object_new_object();
    if (task)
        nph_json_add_string(changes, "task_state", task);
    if (st == NPH_OK && task)
        st = nph_db_instance_update(req->db, uuid, changes, "none", NULL, &err);
    if (!api_commit(req, resp, st, &err, "Another task started on the instance"))
        return;
    api_server_action_start(req, uuid, action);
    char topic[300];
    snprintf(topic, sizeof(topic), "compute.%s", host);
    if (cast(req, resp, topic, method, uuid, migration))
        resp->status = answer;
}

void api_server_confirm_resize(struct api_request *req, struct api_response *resp,
                               json_object *inst)
{
    nph_auto_json *m = finished_migration(req, resp, inst, "confirmResize");
    if (m)
        settle(req, resp, inst, m, "confirming", NULL, text(m, "source_compute"), "confirm_resize",
               "confirmResize", 204);
}

void api_server_revert_resize(struct api_request *req, struct api_response *resp,
                              json_object *inst)
{
    nph_auto_json *m = finished_migration(req, resp, inst, "revertResize");
    if (m)
        settle(req, resp, inst, m, "reverting", "resize_reverting", text(m, "dest_compute"),
               "revert_resize", "revertResize", 202);
}
