/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Conductor methods computes call: instance records, faults, actions,
 * services and compute nodes.  Each is one database transaction. */
#include "config.h"

#include <string.h>

#include "clock.h"
#include "conductor-internal.h"
#include "db-objects.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "placement.h"

NPH_LOG_INIT("conductor.instances");

/* A required string argument. */
static nph_status arg_string(json_object *args, const char *key, const char **out, nph_error *err)
{
    return nph_json_get_string(args, key, true, out, err);
}

nph_status conductor_instance_get(nph_conductor *c, nph_db *db, json_object *args,
                                  json_object **result, nph_error *err)
{
    const char *uuid;
    nph_status st = arg_string(args, "uuid", &uuid, err);
    return st == NPH_OK ? nph_db_instance_get(db, uuid, result, err) : st;
}

nph_status conductor_instance_update(nph_conductor *c, nph_db *db, json_object *args,
                                     json_object **result, nph_error *err)
{
    const char *uuid, *expected = NULL;
    json_object *changes = NULL, *expected_obj = NULL;
    nph_status st = arg_string(args, "uuid", &uuid, err);
    if (st == NPH_OK)
        st = nph_json_get_object(args, "changes", true, &changes, err);
    /* expected_task_state: absent = do not check; null = expects none. */
    if (st == NPH_OK && json_object_object_get_ex(args, "expected_task_state", &expected_obj)) {
        if (!expected_obj)
            expected = "none";
        else if (json_object_is_type(expected_obj, json_type_string))
            expected = json_object_get_string(expected_obj);
        else
            st = nph_error_set(err, NPH_ERR_INVALID, "'expected_task_state' must be a string or null");
    }
    return st == NPH_OK ? nph_db_instance_update(db, uuid, changes, expected, result, err) : st;
}

nph_status conductor_instance_fault_create(nph_conductor *c, nph_db *db, json_object *args,
                                           json_object **result, nph_error *err)
{
    const char *uuid, *message, *details = NULL, *host = NULL;
    int64_t code = 500;
    nph_status st = arg_string(args, "uuid", &uuid, err);
    if (st == NPH_OK)
        st = arg_string(args, "message", &message, err);
    if (st == NPH_OK)
        st = nph_json_get_int(args, "code", false, &code, err);
    if (st == NPH_OK)
        st = nph_json_get_string(args, "details", false, &details, err);
    if (st == NPH_OK)
        st = nph_json_get_string(args, "host", false, &host, err);
    return st == NPH_OK
               ? nph_db_instance_fault_create(db, uuid, (int)code, message, details, host, err)
               : st;
}

/* Find the action a request started (the API records it), or start one. */
static nph_status find_action(nph_db *db, const char *uuid, const char *action,
                              const char *request_id, int64_t *action_id, nph_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = nph_db_prepare(db,
                                   "SELECT id FROM instance_actions WHERE instance_uuid = ? AND "
                                   "request_id = ? ORDER BY id DESC LIMIT 1",
                                   &stmt, err);
    if (st != NPH_OK)
        return st;
    nph_db_bind_text(stmt, 1, uuid);
    nph_db_bind_text(stmt, 2, request_id);
    bool row = false;
    st = nph_db_step(stmt, &row, err);
    if (st == NPH_OK && row)
        *action_id = nph_db_col_int(stmt, 0);
    nph_db_reset(stmt);
    if (st != NPH_OK || row)
        return st;
    return nph_db_instance_action_start(db, uuid, action, request_id, NULL, NULL, action_id, err);
}

nph_status conductor_instance_action_event(nph_conductor *c, nph_db *db, json_object *args,
                                           json_object **result, nph_error *err)
{
    const char *uuid, *action, *event, *request_id, *outcome = NULL, *host = NULL;
    nph_status st = arg_string(args, "uuid", &uuid, err);
    if (st == NPH_OK)
        st = arg_string(args, "action", &action, err);
    if (st == NPH_OK)
        st = arg_string(args, "event", &event, err);
    if (st == NPH_OK)
        st = arg_string(args, "request_id", &request_id, err);
    if (st == NPH_OK)
        st = nph_json_get_string(args, "result", false, &outcome, err);
    if (st == NPH_OK)
        st = nph_json_get_string(args, "host", false, &host, err);
    if (st != NPH_OK)
        return st;
    /* One transaction: the action (found or started), its updated_at and the
     * event are written together, and commit once. */
    int64_t action_id = 0;
    st = nph_db_begin(db, err);
    if (st == NPH_OK)
        st = find_action(db, uuid, action, request_id, &action_id, err);
    if (st == NPH_OK)
        st = nph_db_instance_action_event(db, action_id, event, outcome, host, err);
    if (st == NPH_OK)
        st = nph_db_commit(db, err);
    if (st != NPH_OK)
        nph_db_rollback(db);
    return st;
}

nph_status conductor_instances_by_host(nph_conductor *c, nph_db *db, json_object *args,
                                       json_object **result, nph_error *err)
{
    const char *host;
    nph_status st = arg_string(args, "host", &host, err);
    return st == NPH_OK ? nph_db_instance_list_by_host(db, host, result, err) : st;
}

nph_status conductor_instance_destroy(nph_conductor *c, nph_db *db, json_object *args,
                                      json_object **result, nph_error *err)
{
    const char *uuid;
    nph_status st = arg_string(args, "uuid", &uuid, err);
    if (st == NPH_OK)
        st = nph_db_instance_soft_delete(db, uuid, err);
    if (st == NPH_OK) /* the record is gone either way; a leftover is logged */
        conductor_release_allocations(db, uuid, NULL);
    return st;
}

nph_status conductor_service_update(nph_conductor *c, nph_db *db, json_object *args,
                                    json_object **result, nph_error *err)
{
    const char *host, *binary, *topic;
    nph_status st = arg_string(args, "host", &host, err);
    if (st == NPH_OK)
        st = arg_string(args, "binary", &binary, err);
    if (st == NPH_OK)
        st = arg_string(args, "topic", &topic, err);
    return st == NPH_OK ? nph_db_service_upsert(db, host, binary, topic, err) : st;
}

/* The node's columns: the report less the capability names and the
 * reserved flag, which only placement reads. */
static json_object *node_columns(json_object *node)
{
    json_object *cols = json_object_new_object();
    json_object_object_foreach(node, key, val) {
        if (strcmp(key, "capabilities") != 0 && strcmp(key, "image_formats") != 0 &&
            strcmp(key, "reserved") != 0)
            json_object_object_add(cols, key, json_object_get(val));
    }
    return cols;
}

static nph_status node_upsert(nph_db *db, const char *host, json_object *node, nph_error *err)
{
    if (!json_object_is_type(node, json_type_object))
        return nph_error_set(err, NPH_ERR_INVALID, "'nodes' must hold objects");
    nph_auto_json *cols = node_columns(node);
    return nph_db_compute_node_upsert(db, host, cols, err);
}

/* The nodes become resource providers with their inventory and traits.  A
 * failure there is logged, not returned: the node records are written,
 * and the next report (every resource_update_interval) tries again. */
static void sync_placement(nph_conductor *c, nph_db *db, const char *host, json_object *nodes)
{
    struct placement_ratios ratios = { c->cpu_ratio, c->ram_ratio, c->disk_ratio };
    placement_error perr = PLACEMENT_ERROR_INIT;
    if (placement_sync_compute_nodes(db, host, nodes, &ratios, &perr) != NPH_OK)
        nph_warn("resource providers of %s not updated: %s", host, perr.e.message);
}

/* One node ("node") or a batch ("nodes"): a compute with 10,000 nodes
 * reports them in a few calls. */
nph_status conductor_compute_node_update(nph_conductor *c, nph_db *db, json_object *args,
                                         json_object **result, nph_error *err)
{
    const char *host;
    json_object *node = NULL, *nodes = NULL;
    nph_status st = arg_string(args, "host", &host, err);
    if (st == NPH_OK)
        st = nph_json_get_object(args, "node", false, &node, err);
    if (st == NPH_OK)
        st = nph_json_get_array(args, "nodes", false, &nodes, err);
    if (st == NPH_OK && !node && !nodes)
        st = nph_error_set(err, NPH_ERR_INVALID, "'node' or 'nodes' is a required property");
    if (st == NPH_OK && node)
        st = node_upsert(db, host, node, err);
    for (size_t i = 0; st == NPH_OK && nodes && i < json_object_array_length(nodes); i++)
        st = node_upsert(db, host, json_object_array_get_idx(nodes, i), err);
    if (st != NPH_OK)
        return st;
    nph_auto_json *one = node ? json_object_new_array() : NULL;
    if (one)
        json_object_array_add(one, json_object_get(node));
    sync_placement(c, db, host, one ? one : nodes);
    if (one && nodes)
        sync_placement(c, db, host, nodes);
    return NPH_OK;
}

/* Soft-delete one compute node and remove its resource provider; a
 * provider that still has allocations stays (and says so). */
static nph_status node_remove(nph_db *db, const char *host, json_object *row, nph_error *err)
{
    const char *name = json_object_get_string(json_object_object_get(row, "hypervisor_hostname"));
    const char *uuid = json_object_get_string(json_object_object_get(row, "uuid"));
    const char *params[] = { host, name };
    nph_status st = nph_db_execute(db,
                                   "UPDATE compute_nodes SET deleted = id WHERE host = ? AND "
                                   "hypervisor_hostname = ? AND deleted = 0",
                                   params, 2, NULL, err);
    if (st != NPH_OK)
        return st;
    nph_info("compute node %s of %s is gone from its driver; removed", name, host);
    placement_error perr = PLACEMENT_ERROR_INIT;
    if (uuid && placement_provider_delete(db, uuid, &perr) != NPH_OK &&
        perr.e.code != NPH_ERR_NOT_FOUND)
        nph_warn("resource provider %s of the removed node %s stays: %s", uuid, name,
                 perr.e.message);
    return NPH_OK;
}

nph_status conductor_compute_nodes_prune(nph_conductor *c, nph_db *db, json_object *args,
                                         json_object **result, nph_error *err)
{
    (void)c;
    (void)result;
    const char *host;
    json_object *nodes = NULL;
    nph_status st = arg_string(args, "host", &host, err);
    if (st == NPH_OK)
        st = nph_json_get_array(args, "nodes", true, &nodes, err);
    if (st != NPH_OK)
        return st;
    nph_auto_json *keep = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(nodes); i++)
        json_object_object_add(keep, json_object_get_string(json_object_array_get_idx(nodes, i)),
                               NULL);
    nph_auto_json *rows = NULL;
    const char *params[] = { host };
    st = nph_db_select_rows(db,
                            "SELECT uuid, hypervisor_hostname FROM compute_nodes WHERE host = ? AND "
                            "deleted = 0",
                            params, 1, &rows, err);
    for (size_t i = 0; st == NPH_OK && i < json_object_array_length(rows); i++) {
        json_object *row = json_object_array_get_idx(rows, i);
        const char *name = json_object_get_string(json_object_object_get(row, "hypervisor_hostname"));
        if (name && !json_object_object_get_ex(keep, name, NULL))
            st = node_remove(db, host, row, err);
    }
    return st;
}

/* A snapshot's outcome from a compute host: "changes" may set status, size,
 * disk_format, checksum, os_hash_algo and os_hash_value of image "uuid";
 * a status of "deleted" soft-deletes the record. */
nph_status conductor_image_update(nph_conductor *c, nph_db *db, json_object *args,
                                  json_object **result, nph_error *err)
{
    (void)c;
    (void)result;
    const char *uuid;
    json_object *changes = NULL;
    nph_status st = arg_string(args, "uuid", &uuid, err);
    if (st == NPH_OK)
        st = nph_json_get_object(args, "changes", true, &changes, err);
    if (st != NPH_OK)
        return st;
    static const char *const columns[] = { "status", "size", "disk_format", "checksum",
                                           "os_hash_algo", "os_hash_value" };
    const char *params[8];
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    for (size_t i = 0; i < 6; i++) {
        json_object *v = NULL;
        json_object_object_get_ex(changes, columns[i], &v);
        params[i] = v ? json_object_get_string(v) : NULL;
    }
    params[6] = now;
    params[7] = uuid;
    int64_t changed = 0;
    st = nph_db_execute(db,
                        "UPDATE images SET status = COALESCE(?, status), size = COALESCE(?, size), "
                        "disk_format = COALESCE(?, disk_format), checksum = COALESCE(?, checksum), "
                        "os_hash_algo = COALESCE(?, os_hash_algo), os_hash_value = COALESCE(?, "
                        "os_hash_value), updated_at = ? WHERE uuid = ? AND deleted = 0",
                        params, 8, &changed, err);
    if (st == NPH_OK && params[0] && strcmp(params[0], "deleted") == 0)
        st = nph_db_execute(db, "UPDATE images SET deleted = id, deleted_at = updated_at WHERE uuid = ?",
                            params + 7, 1, NULL, err);
    if (st == NPH_OK && changed != 1)
        st = nph_error_set(err, NPH_ERR_NOT_FOUND, "image %s is not in the database", uuid);
    return st;
}
