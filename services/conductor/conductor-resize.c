/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Resize orchestration: choose the destination of a migration the API
 * recorded and hand it to the source host; and the migration record reads
 * and writes the compute hosts need on the way (they never touch the
 * database themselves).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "conductor-internal.h"
#include "db-objects.h"
#include "error.h"
#include "json.h"
#include "log.h"

NPH_LOG_INIT("conductor.resize");

static const char *field(json_object *obj, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(obj, key, &v);
    return v ? json_object_get_string(v) : NULL;
}

static nph_status load_migration(nph_db *db, const char *uuid, json_object **out, nph_error *err)
{
    const char *params[] = { uuid };
    nph_auto_json *rows = NULL;
    nph_status st = nph_db_select_rows(db, "SELECT * FROM migrations WHERE uuid = ? AND deleted = 0",
                                       params, 1, &rows, err);
    if (st == NPH_OK && json_object_array_length(rows) != 1)
        st = nph_error_set(err, NPH_ERR_NOT_FOUND, "migration %s is not in the database", uuid);
    if (st == NPH_OK)
        *out = json_object_get(json_object_array_get_idx(rows, 0));
    return st;
}

static nph_status set_migration_status(nph_db *db, const char *uuid, const char *status,
                                       nph_error *err)
{
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    const char *params[] = { status, now, uuid };
    return nph_db_execute(db, "UPDATE migrations SET status = ?, updated_at = ? WHERE uuid = ?",
                          params, 3, NULL, err);
}

/* No destination: the server stays as it was, with a fault saying why. */
static nph_status fail_resize(nph_conductor *c, nph_db *db, const char *uuid,
                              const char *migration, const nph_error *why, nph_error *err)
{
    nph_warn("resize of instance %s: %s", uuid, why->message);
    nph_auto_json *changes = json_object_new_object();
    json_object_object_add(changes, "task_state", NULL);
    nph_status st = set_migration_status(db, migration, "error", err);
    if (st == NPH_OK)
        st = nph_db_instance_update(db, uuid, changes, "resize_prep", NULL, err);
    if (st == NPH_OK)
        st = nph_db_instance_fault_create(db, uuid, why->code == NPH_ERR_NOT_FOUND ? 400 : 500,
                                          why->message, NULL, NULL, err);
    const char *rid = nph_log_request_id();
    if (st == NPH_OK && rid) { /* os-instance-actions shows the resize failed */
        nph_auto_json *event = json_object_new_object();
        nph_json_add_string(event, "uuid", uuid);
        nph_json_add_string(event, "action", "resize");
        nph_json_add_string(event, "event", "conductor_migrate_server");
        nph_json_add_string(event, "request_id", rid);
        nph_json_add_string(event, "result", "Error");
        st = conductor_instance_action_event(c, db, event, NULL, err);
    }
    return st;
}

/* The instance's image as the scheduler wants it ({"id", "disk_format",
 * "properties"}), so a resize stays where the image boots; NULL when the
 * image is gone from the store. */
static json_object *instance_image(nph_db *db, const char *uuid)
{
    const char *params[] = { uuid };
    nph_auto_json *rows = NULL;
    if (nph_db_select_rows(db, "SELECT im.uuid AS id, im.disk_format, im.properties FROM images im "
                               "JOIN instances i ON i.image_ref = im.uuid WHERE i.uuid = ?",
                           params, 1, &rows, NULL) != NPH_OK ||
        json_object_array_length(rows) == 0)
        return NULL;
    json_object *image = json_object_get(json_object_array_get_idx(rows, 0));
    const char *props = field(image, "properties");
    json_object *parsed = props ? nph_json_parse(props, strlen(props), NULL) : NULL;
    json_object_object_add(image, "properties", parsed ? parsed : json_object_new_object());
    return image;
}

nph_status conductor_resize_instance(nph_conductor *c, nph_db *db, json_object *args,
                                     json_object **result, nph_error *err)
{
    (void)result;
    const char *uuid = field(args, "uuid"), *migration = field(args, "migration");
    if (!uuid || !migration)
        return nph_error_set(err, NPH_ERR_INVALID, "resize_instance needs uuid and migration");
    nph_auto_json *m = NULL;
    nph_status st = load_migration(db, migration, &m, err);
    json_object *flavor = NULL;
    if (st == NPH_OK)
        st = nph_json_get_object(m, "new_flavor", true, &flavor, err);
    if (st != NPH_OK)
        return st;
    const char *source = field(m, "source_compute");
    char *host = NULL, *node = NULL;
    nph_error why = NPH_ERROR_INIT;
    nph_auto_json *image = instance_image(db, uuid);
    struct nph_schedule_request request = {
        .uuid = uuid, .flavor = flavor, .image = image, .avoid_host = c->resize_same_host ? NULL : source,
        .migration = migration, .claim = nph_scheduler_claim_migration,
        .opaque = (void *)migration,
    };
    st = conductor_select(c, db, &request, &host, &node, &why);
    if (st != NPH_OK)
        return fail_resize(c, db, uuid, migration, &why, err);
    char topic[300];
    snprintf(topic, sizeof(topic), "compute.%s", source ? source : "");
    nph_auto_json *cast_args = json_object_new_object();
    nph_json_add_string(cast_args, "uuid", uuid);
    nph_json_add_string(cast_args, "migration", migration);
    st = nph_bus_cast(c->bus, topic, "resize_instance", cast_args, err);
    free(host);
    free(node);
    return st;
}

nph_status conductor_migration_get(nph_conductor *c, nph_db *db, json_object *args,
                                   json_object **result, nph_error *err)
{
    (void)c;
    const char *uuid = field(args, "migration");
    if (!uuid)
        return nph_error_set(err, NPH_ERR_INVALID, "migration_get needs a migration");
    return load_migration(db, uuid, result, err);
}

nph_status conductor_migration_update(nph_conductor *c, nph_db *db, json_object *args,
                                      json_object **result, nph_error *err)
{
    (void)c;
    (void)result;
    const char *uuid = field(args, "migration"), *status = field(args, "status");
    if (!uuid || !status)
        return nph_error_set(err, NPH_ERR_INVALID, "migration_update needs migration and status");
    nph_auto_json *m = NULL;
    nph_status st = load_migration(db, uuid, &m, err);
    if (st == NPH_OK)
        st = set_migration_status(db, uuid, status, err);
    if (st != NPH_OK)
        return st;
    /* Where the room is now: the source's allocations go with a confirm,
     * return to the instance with a revert or a failure. */
    nph_error why = NPH_ERROR_INIT;
    nph_status moved = NPH_OK;
    if (strcmp(status, "confirmed") == 0)
        moved = conductor_drop_move_allocations(db, uuid, &why);
    else if (strcmp(status, "reverted") == 0 || strcmp(status, "error") == 0)
        moved = conductor_return_allocations(db, uuid, field(m, "instance_uuid"), &why);
    if (moved != NPH_OK)
        nph_warn("migration %s %s: its allocations stay as they were: %s", uuid, status,
                 why.message);
    return NPH_OK;
}
