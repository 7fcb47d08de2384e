/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Data access for the control plane.  Values are always bound; only column
 * names from the whitelists below are ever written into SQL text. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buffer.h"
#include "clock.h"
#include "db-objects.h"
#include "error.h"
#include "json.h"
#include "uuid.h"

static const char *const instance_columns[] = {
    "display_name", "hostname", "project_id", "user_id", "flavor", "image_ref", "key_name",
    "key_data", "user_data", "vcpus", "memory_mb", "root_gb", "ephemeral_gb", "vm_state",
    "task_state", "power_state", "host", "node", "availability_zone", "metadata", "locked",
    "locked_by", "locked_reason", "launched_at", "terminated_at", "reservation_id", "launch_index",
    "description", "config_drive", "access_ip_v4", "access_ip_v6", NULL,
};

static const char *const node_columns[] = {
    "hypervisor_type", "hypervisor_version", "vcpus", "vcpus_used", "memory_mb",
    "memory_mb_used", "local_gb", "local_gb_used", "cpu_info", "cpu_arch", "resource_class",
    "driver", "running_vms", "disk_available_least", NULL,
};

/* Columns holding JSON text, handed out as objects. */
static const char *const json_columns[] = { "flavor", "metadata", "properties", "old_flavor",
                                            "new_flavor", NULL };

static bool listed(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

static void bind_json(nph_db_stmt *stmt, int index, json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: nph_db_bind_null(stmt, index); break;
    case json_type_boolean: nph_db_bind_int(stmt, index, json_object_get_boolean(v)); break;
    case json_type_int: nph_db_bind_int(stmt, index, json_object_get_int64(v)); break;
    case json_type_double: nph_db_bind_double(stmt, index, json_object_get_double(v)); break;
    case json_type_string: nph_db_bind_text(stmt, index, json_object_get_string(v)); break;
    default: nph_db_bind_text(stmt, index, nph_json_text(v)); break;
    }
}

/* Run a statement that returns no rows. */
static nph_status run(nph_db_stmt *stmt, nph_error *err)
{
    bool row;
    nph_status st = nph_db_step(stmt, &row, err);
    nph_db_reset(stmt); /* keeps nph_db_changes() */
    return st;
}

/* Check every key of `fields` is in `columns`; the first that is not is named. */
static nph_status check_columns(json_object *fields, const char *const *columns, const char *what,
                                nph_error *err)
{
    json_object_object_foreach(fields, key, val) {
        (void)val;
        if (!listed(columns, key))
            return nph_error_set(err, NPH_ERR_INVALID, "%s has no column '%s' to set", what, key);
    }
    return NPH_OK;
}

/* Turn the JSON text columns of a row into objects. */
static void parse_json_columns(json_object *row)
{
    for (const char *const *c = json_columns; *c; c++) {
        json_object *v;
        if (!json_object_object_get_ex(row, *c, &v) || !json_object_is_type(v, json_type_string))
            continue;
        const char *text = json_object_get_string(v);
        json_object *parsed = nph_json_parse(text, strlen(text), NULL);
        if (parsed)
            json_object_object_add(row, *c, parsed);
    }
}

static int64_t flavor_int(json_object *fields, const char *key)
{
    json_object *flavor, *v;
    if (!json_object_object_get_ex(fields, "flavor", &flavor) ||
        !json_object_object_get_ex(flavor, key, &v))
        return 0;
    return json_object_get_int64(v);
}

nph_status nph_db_instance_create(nph_db *db, json_object *fields, nph_error *err)
{
    const char *uuid = NULL;
    nph_status st = nph_json_get_string(fields, "uuid", true, &uuid, err);
    if (st != NPH_OK)
        return st;
    if (!nph_uuid_is_valid(uuid))
        return nph_error_set(err, NPH_ERR_INVALID, "'%s' is not a UUID", uuid);
    nph_auto_json *values = json_object_new_object();
    json_object_object_foreach(fields, key, val) {
        if (strcmp(key, "uuid") != 0)
            json_object_object_add(values, key, json_object_get(val));
    }
    st = check_columns(values, instance_columns, "an instance", err);
    if (st != NPH_OK)
        return st;
    /* The numeric copy of the flavor lets SQL sum what a node uses. */
    static const char *const sizes[] = { "vcpus", "memory_mb", "root_gb", "ephemeral_gb" };
    for (size_t i = 0; i < 4; i++)
        if (!json_object_object_get_ex(values, sizes[i], NULL))
            nph_json_add_int(values, sizes[i], flavor_int(fields, sizes[i]));

    nph_auto_buffer sql = NPH_BUFFER_INIT;
    nph_buffer_appendf(&sql, "INSERT INTO instances (uuid");
    int n = 1;
    json_object_object_foreach(values, k2, v2) {
        (void)v2;
        nph_buffer_appendf(&sql, ", %s", k2);
        n++;
    }
    nph_buffer_appendf(&sql, ", created_at, updated_at) VALUES (?");
    for (int i = 1; i < n + 2; i++)
        nph_buffer_appendf(&sql, ", ?");
    nph_buffer_appendf(&sql, ")");
    nph_db_stmt *stmt;
    st = nph_db_prepare(db, nph_buffer_str(&sql), &stmt, err);
    if (st != NPH_OK)
        return st;
    int idx = 1;
    nph_db_bind_text(stmt, idx++, uuid);
    json_object_object_foreach(values, k3, v3) {
        (void)k3;
        bind_json(stmt, idx++, v3);
    }
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    nph_db_bind_text(stmt, idx++, now);
    nph_db_bind_text(stmt, idx, now);
    st = run(stmt, err);
    if (st == NPH_ERR_CONFLICT)
        return nph_error_set(err, NPH_ERR_CONFLICT, "an instance with uuid %s exists already", uuid);
    return st;
}

nph_status nph_db_instance_get(nph_db *db, const char *uuid, json_object **out, nph_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = nph_db_prepare(db, "SELECT * FROM instances WHERE uuid = ? AND deleted = 0",
                                   &stmt, err);
    if (st != NPH_OK)
        return st;
    nph_db_bind_text(stmt, 1, uuid);
    bool row = false;
    st = nph_db_step(stmt, &row, err);
    if (st == NPH_OK && row) {
        *out = nph_db_row_json(stmt);
        parse_json_columns(*out);
    }
    nph_db_reset(stmt);
    if (st == NPH_OK && !row)
        st = nph_error_set(err, NPH_ERR_NOT_FOUND, "instance %s could not be found", uuid);
    return st;
}

/* After an update changed nothing: say whether the record is missing or in
 * another task state. */
static nph_status explain_no_update(nph_db *db, const char *uuid, const char *expected,
                                    nph_error *err)
{
    nph_auto_json *current = NULL;
    nph_status st = nph_db_instance_get(db, uuid, &current, err);
    if (st != NPH_OK)
        return st;
    const char *task = NULL;
    nph_json_get_string(current, "task_state", false, &task, NULL);
    return nph_error_set(err, NPH_ERR_CONFLICT,
                         "instance %s: expected task_state '%s' but it is '%s'", uuid,
                         expected ? expected : "any", task ? task : "none");
}

nph_status nph_db_instance_update(nph_db *db, const char *uuid, json_object *changes,
                                  const char *expected_task_state, json_object **out,
                                  nph_error *err)
{
    nph_status st = check_columns(changes, instance_columns, "an instance", err);
    if (st != NPH_OK)
        return st;
    nph_auto_buffer sql = NPH_BUFFER_INIT;
    nph_buffer_appendf(&sql, "UPDATE instances SET updated_at = ?");
    json_object_object_foreach(changes, key, val) {
        (void)val;
        nph_buffer_appendf(&sql, ", %s = ?", key);
    }
    nph_buffer_appendf(&sql, " WHERE uuid = ? AND deleted = 0");
    bool expect_none = expected_task_state && strcmp(expected_task_state, "none") == 0;
    if (expect_none)
        nph_buffer_appendf(&sql, " AND task_state IS NULL");
    else if (expected_task_state)
        nph_buffer_appendf(&sql, " AND task_state = ?");
    nph_db_stmt *stmt;
    st = nph_db_prepare(db, nph_buffer_str(&sql), &stmt, err);
    if (st != NPH_OK)
        return st;
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    int idx = 1;
    nph_db_bind_text(stmt, idx++, now);
    json_object_object_foreach(changes, k2, v2) {
        (void)k2;
        bind_json(stmt, idx++, v2);
    }
    nph_db_bind_text(stmt, idx++, uuid);
    if (expected_task_state && !expect_none)
        nph_db_bind_text(stmt, idx, expected_task_state);
    st = run(stmt, err);
    if (st == NPH_OK && nph_db_changes(stmt) == 0)
        return explain_no_update(db, uuid, expected_task_state, err);
    if (st == NPH_OK && out)
        st = nph_db_instance_get(db, uuid, out, err);
    return st;
}

/* Prepare `sql` with a text parameter (NULL: SQL NULL) for each ?. */
static nph_status prepare_with_text(nph_db *db, const char *sql, const char *const *params,
                                    size_t n_params, nph_db_stmt **stmt, nph_error *err)
{
    nph_status st = nph_db_prepare(db, sql, stmt, err);
    for (size_t i = 0; st == NPH_OK && i < n_params; i++)
        nph_db_bind_text(*stmt, (int)i + 1, params[i]);
    return st;
}

nph_status nph_db_select_rows(nph_db *db, const char *sql, const char *const *params,
                              size_t n_params, json_object **out, nph_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = prepare_with_text(db, sql, params, n_params, &stmt, err);
    if (st != NPH_OK)
        return st;
    json_object *list = json_object_new_array();
    bool row = false;
    while ((st = nph_db_step(stmt, &row, err)) == NPH_OK && row) {
        json_object *r = nph_db_row_json(stmt);
        parse_json_columns(r);
        json_object_array_add(list, r);
    }
    nph_db_reset(stmt);
    if (st != NPH_OK) {
        json_object_put(list);
        return st;
    }
    *out = list;
    return NPH_OK;
}

nph_status nph_db_execute(nph_db *db, const char *sql, const char *const *params,
                          size_t n_params, int64_t *changes, nph_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = prepare_with_text(db, sql, params, n_params, &stmt, err);
    if (st != NPH_OK)
        return st;
    st = run(stmt, err);
    if (changes)
        *changes = st == NPH_OK ? nph_db_changes(stmt) : 0;
    return st;
}

nph_status nph_db_instance_select(nph_db *db, const char *where, const char *const *params,
                                  size_t n_params, json_object **out, nph_error *err)
{
    nph_auto_buffer sql = NPH_BUFFER_INIT;
    nph_buffer_appendf(&sql, "SELECT * FROM instances WHERE %s", where);
    return nph_db_select_rows(db, nph_buffer_str(&sql), params, n_params, out, err);
}

nph_status nph_db_instance_list_by_host(nph_db *db, const char *host, json_object **out,
                                        nph_error *err)
{
    const char *params[] = { host };
    return nph_db_instance_select(db, "host = ? AND deleted = 0 ORDER BY id", params, 1, out, err);
}

nph_status nph_db_instance_soft_delete(nph_db *db, const char *uuid, nph_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = nph_db_prepare(db,
                                   "UPDATE instances SET deleted = id, deleted_at = ?, "
                                   "updated_at = ? WHERE uuid = ? AND deleted = 0",
                                   &stmt, err);
    if (st != NPH_OK)
        return st;
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    nph_db_bind_text(stmt, 1, now);
    nph_db_bind_text(stmt, 2, now);
    nph_db_bind_text(stmt, 3, uuid);
    st = run(stmt, err);
    if (st == NPH_OK && nph_db_changes(stmt) == 0)
        st = nph_error_set(err, NPH_ERR_NOT_FOUND, "instance %s could not be found", uuid);
    return st;
}

nph_status nph_db_instance_fault_create(nph_db *db, const char *uuid, int code,
                                        const char *message, const char *details,
                                        const char *host, nph_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = nph_db_prepare(db,
                                   "INSERT INTO instance_faults (instance_uuid, code, message, "
                                   "details, host, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                                   &stmt, err);
    if (st != NPH_OK)
        return st;
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    nph_db_bind_text(stmt, 1, uuid);
    nph_db_bind_int(stmt, 2, code);
    nph_db_bind_text(stmt, 3, message);
    nph_db_bind_text(stmt, 4, details);
    nph_db_bind_text(stmt, 5, host);
    nph_db_bind_text(stmt, 6, now);
    return run(stmt, err);
}

nph_status nph_db_instance_action_start(nph_db *db, const char *uuid, const char *action,
                                        const char *request_id, const char *user_id,
                                        const char *project_id, int64_t *action_id,
                                        nph_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = nph_db_prepare(db,
                                   "INSERT INTO instance_actions (instance_uuid, action, "
                                   "request_id, user_id, project_id, start_time, created_at, "
                                   "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                                   &stmt, err);
    if (st != NPH_OK)
        return st;
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    nph_db_bind_text(stmt, 1, uuid);
    nph_db_bind_text(stmt, 2, action);
    nph_db_bind_text(stmt, 3, request_id);
    nph_db_bind_text(stmt, 4, user_id);
    nph_db_bind_text(stmt, 5, project_id);
    nph_db_bind_text(stmt, 6, now);
    nph_db_bind_text(stmt, 7, now);
    nph_db_bind_text(stmt, 8, now); /* as Nova's pack_action_start, for changes-since */
    bool row = false;
    st = nph_db_step(stmt, &row, err);
    if (st == NPH_OK && row)
        *action_id = nph_db_col_int(stmt, 0);
    if (st == NPH_OK && row) /* finish the statement so the insert is complete */
        st = nph_db_step(stmt, &row, err);
    nph_db_reset(stmt);
    return st;
}

/* An event moves its action's updated_at, as in Nova (the 2.58 API shows it). */
static nph_status action_touch(nph_db *db, int64_t action_id, const char *now, nph_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = nph_db_prepare(db, "UPDATE instance_actions SET updated_at = ? WHERE id = ?",
                                   &stmt, err);
    if (st != NPH_OK)
        return st;
    nph_db_bind_text(stmt, 1, now);
    nph_db_bind_int(stmt, 2, action_id);
    return run(stmt, err);
}

nph_status nph_db_instance_action_event(nph_db *db, int64_t action_id, const char *event,
                                        const char *result, const char *host, nph_error *err)
{
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    nph_db_stmt *stmt;
    nph_status st = action_touch(db, action_id, now, err);
    if (st != NPH_OK)
        return st;
    if (result) {
        st = nph_db_prepare(db,
                            "UPDATE instance_actions_events SET finish_time = ?, result = ? "
                            "WHERE action_id = ? AND event = ? AND finish_time IS NULL",
                            &stmt, err);
        if (st != NPH_OK)
            return st;
        nph_db_bind_text(stmt, 1, now);
        nph_db_bind_text(stmt, 2, result);
        nph_db_bind_int(stmt, 3, action_id);
        nph_db_bind_text(stmt, 4, event);
        st = run(stmt, err);
        if (st != NPH_OK || nph_db_changes(stmt) > 0)
            return st;
    }
    /* A start, or an end whose start was never recorded. */
    st = nph_db_prepare(db,
                        "INSERT INTO instance_actions_events (action_id, event, start_time, "
                        "finish_time, result, host) VALUES (?, ?, ?, ?, ?, ?)",
                        &stmt, err);
    if (st != NPH_OK)
        return st;
    nph_db_bind_int(stmt, 1, action_id);
    nph_db_bind_text(stmt, 2, event);
    nph_db_bind_text(stmt, 3, now);
    nph_db_bind_text(stmt, 4, result ? now : NULL);
    nph_db_bind_text(stmt, 5, result);
    nph_db_bind_text(stmt, 6, host);
    return run(stmt, err);
}

nph_status nph_db_service_upsert(nph_db *db, const char *host, const char *binary,
                                 const char *topic, nph_error *err)
{
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    for (int attempt = 0; attempt < 2; attempt++) {
        nph_db_stmt *stmt;
        nph_status st = nph_db_prepare(db,
                                       "UPDATE services SET report_count = report_count + 1, "
                                       "last_seen_up = ?, updated_at = ?, topic = ? WHERE host = ? "
                                       "AND \"binary\" = ? AND deleted = 0",
                                       &stmt, err);
        if (st != NPH_OK)
            return st;
        nph_db_bind_text(stmt, 1, now);
        nph_db_bind_text(stmt, 2, now);
        nph_db_bind_text(stmt, 3, topic);
        nph_db_bind_text(stmt, 4, host);
        nph_db_bind_text(stmt, 5, binary);
        st = run(stmt, err);
        if (st != NPH_OK || nph_db_changes(stmt) > 0)
            return st;
        st = nph_db_prepare(db,
                            "INSERT INTO services (uuid, host, \"binary\", topic, report_count, "
                            "last_seen_up, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
                            &stmt, err);
        if (st != NPH_OK)
            return st;
        char uuid[NPH_UUID_STRLEN + 1];
        nph_uuid_generate(uuid);
        nph_db_bind_text(stmt, 1, uuid);
        nph_db_bind_text(stmt, 2, host);
        nph_db_bind_text(stmt, 3, binary);
        nph_db_bind_text(stmt, 4, topic);
        nph_db_bind_text(stmt, 5, now);
        nph_db_bind_text(stmt, 6, now);
        nph_db_bind_text(stmt, 7, now);
        st = run(stmt, err);
        if (st != NPH_ERR_CONFLICT) /* a conflict: another process registered it first */
            return st;
    }
    return nph_error_set(err, NPH_ERR_CONFLICT, "service %s on %s keeps changing", binary, host);
}

nph_status nph_db_service_list(nph_db *db, json_object **out, nph_error *err)
{
    return nph_db_select_rows(db, "SELECT * FROM services WHERE deleted = 0 ORDER BY id", NULL, 0, out, err);
}

/* UPDATE (or INSERT) the node's columns; returns the rows changed in *changed. */
static nph_status node_write(nph_db *db, const char *host, const char *name, json_object *cols,
                             bool insert, int64_t *changed, nph_error *err)
{
    nph_auto_buffer sql = NPH_BUFFER_INIT;
    int n = 0;
    if (insert) {
        nph_buffer_appendf(&sql, "INSERT INTO compute_nodes (uuid, host, hypervisor_hostname, "
                                 "created_at, updated_at");
        json_object_object_foreach(cols, key, val) {
            (void)val;
            nph_buffer_appendf(&sql, ", %s", key);
            n++;
        }
        nph_buffer_appendf(&sql, ") VALUES (?, ?, ?, ?, ?");
        for (int i = 0; i < n; i++)
            nph_buffer_appendf(&sql, ", ?");
        nph_buffer_appendf(&sql, ")");
    } else {
        nph_buffer_appendf(&sql, "UPDATE compute_nodes SET updated_at = ?");
        json_object_object_foreach(cols, key, val) {
            (void)val;
            nph_buffer_appendf(&sql, ", %s = ?", key);
        }
        nph_buffer_appendf(&sql, " WHERE host = ? AND hypervisor_hostname = ? AND deleted = 0");
    }
    nph_db_stmt *stmt;
    nph_status st = nph_db_prepare(db, nph_buffer_str(&sql), &stmt, err);
    if (st != NPH_OK)
        return st;
    char now[NPH_ISO_TIME_LEN], uuid[NPH_UUID_STRLEN + 1];
    nph_clock_iso_now(now);
    int idx = 1;
    if (insert) {
        nph_uuid_generate(uuid);
        nph_db_bind_text(stmt, idx++, uuid);
        nph_db_bind_text(stmt, idx++, host);
        nph_db_bind_text(stmt, idx++, name);
        nph_db_bind_text(stmt, idx++, now);
    }
    nph_db_bind_text(stmt, idx++, now);
    json_object_object_foreach(cols, k2, v2) {
        (void)k2;
        bind_json(stmt, idx++, v2);
    }
    if (!insert) {
        nph_db_bind_text(stmt, idx++, host);
        nph_db_bind_text(stmt, idx, name);
    }
    st = run(stmt, err);
    *changed = nph_db_changes(stmt);
    return st;
}

nph_status nph_db_compute_node_upsert(nph_db *db, const char *host, json_object *node,
                                      nph_error *err)
{
    const char *name = NULL;
    nph_status st = nph_json_get_string(node, "hypervisor_hostname", true, &name, err);
    if (st != NPH_OK)
        return st;
    nph_auto_json *cols = json_object_new_object();
    json_object_object_foreach(node, key, val) {
        if (strcmp(key, "hypervisor_hostname") != 0)
            json_object_object_add(cols, key, json_object_get(val));
    }
    st = check_columns(cols, node_columns, "a compute node", err);
    int64_t changed = 0;
    if (st == NPH_OK)
        st = node_write(db, host, name, cols, false, &changed, err);
    if (st == NPH_OK && changed == 0) {
        st = node_write(db, host, name, cols, true, &changed, err);
        if (st == NPH_ERR_CONFLICT) /* inserted meanwhile by another writer */
            st = node_write(db, host, name, cols, false, &changed, err);
    }
    return st;
}

nph_status nph_db_compute_node_list(nph_db *db, json_object **out, nph_error *err)
{
    return nph_db_select_rows(db, "SELECT * FROM compute_nodes WHERE deleted = 0 ORDER BY id", NULL, 0, out,
                     err);
}
