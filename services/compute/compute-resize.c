/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Resize on the compute hosts, in the driver contract's four steps:
 *   source  resize_instance       migrate_disk_and_power_off, then hand over
 *   dest    finish_resize         the record moves (host, node, flavor);
 *                                 finish_migration; VERIFY_RESIZE
 *   source  confirm_resize        confirm_migration drops the source's copy
 *   dest    revert_resize         the destination lets go (destroy, when it
 *                                 is another host), then
 *   source  finish_revert_resize  finish_revert_migration; the record moves back
 * The migration record (read and written through the conductor) carries
 * both flavors and both ends.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "compute-internal.h"
#include "error.h"
#include "log.h"

NPH_LOG_INIT("compute.resize");

static const char *field(json_object *obj, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(obj, key, &v);
    return v ? json_object_get_string(v) : NULL;
}

static nph_status migration_get(nph_compute *c, const char *migration, json_object **out,
                                nph_error *err)
{
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "migration", migration);
    return compute_call(c, "migration_get", args, out, err);
}

static void migration_status(nph_compute *c, const char *migration, const char *status)
{
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "migration", migration);
    nph_json_add_string(args, "status", status);
    nph_error err = NPH_ERROR_INIT;
    if (compute_call(c, "migration_update", args, NULL, &err) != NPH_OK)
        nph_warn("cannot mark migration %s %s: %s", migration, status, err.message);
}

static nph_status cast_to(nph_compute *c, const char *host, const char *method, const char *uuid,
                          const char *migration, bool power_on, nph_error *err)
{
    char topic[300];
    snprintf(topic, sizeof(topic), "compute.%s", host ? host : "");
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    nph_json_add_string(args, "migration", migration);
    nph_json_add_bool(args, "power_on", power_on);
    return nph_bus_cast(c->bus, topic, method, args, err);
}

/* The record's changes that put the instance on `host`/`node` with `flavor`. */
static json_object *placement_changes(const char *host, const char *node, json_object *flavor)
{
    json_object *changes = json_object_new_object();
    nph_json_add_string(changes, "host", host);
    nph_json_add_string(changes, "node", node);
    json_object_object_add(changes, "flavor", json_object_get(flavor));
    static const char *const sizes[] = { "vcpus", "memory_mb", "root_gb", "ephemeral_gb" };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        json_object *v = NULL;
        json_object_object_get_ex(flavor, sizes[i], &v);
        nph_json_add_int(changes, sizes[i], json_object_get_int64(v));
    }
    return changes;
}

/* A view of `record` as it is on `node` with `flavor` (the other end's). */
static nph_status view_as(struct instance_view *view, json_object *record, const char *node,
                          json_object *flavor, nph_error *err)
{
    nph_auto_json *copy = NULL;
    if (json_object_deep_copy(record, &copy, NULL) != 0)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "cannot copy the instance record");
    nph_json_add_string(copy, "node", node);
    json_object_object_add(copy, "flavor", json_object_get(flavor));
    return instance_view_init(view, copy, NULL, err);
}

/* A failed step: ERROR with a fault, the migration in error. */
static void fail_step(nph_compute *c, const char *uuid, const char *migration, const char *task,
                      const nph_error *why)
{
    nph_warn("resize of instance %s failed: %s", uuid, why->message);
    compute_record_fault(c, uuid, why);
    nph_auto_json *changes = json_object_new_object();
    json_object_object_add(changes, "task_state", NULL);
    nph_json_add_string(changes, "vm_state", "error");
    nph_error err = NPH_ERROR_INIT;
    compute_update_record(c, uuid, changes, task, &err);
    migration_status(c, migration, "error");
    compute_action_event(c, uuid, "resize", "compute_resize_instance", "Error");
}

static nph_status set_task(nph_compute *c, const char *uuid, const char *task, const char *expected,
                           nph_error *err)
{
    nph_auto_json *changes = json_object_new_object();
    nph_json_add_string(changes, "task_state", task);
    return compute_update_record(c, uuid, changes, expected, err);
}

/* Source: power off and hand the disk over to the destination. */
static nph_status resize_instance(nph_compute *c, const char *uuid, json_object *m, nph_error *err)
{
    const char *migration = field(m, "uuid");
    json_object *new_flavor = NULL;
    nph_status st = nph_json_get_object(m, "new_flavor", true, &new_flavor, err);
    struct instance_view view, target;
    nph_driver *drv = NULL;
    if (st == NPH_OK)
        st = compute_prepare(c, uuid, "resize_prep", NULL, &view, &drv, err);
    if (st != NPH_OK)
        return st;
    bool power_on = compute_power_state(drv, &view.inst) == NPH_POWER_RUNNING;
    st = set_task(c, uuid, "resize_migrating", "resize_prep", err);
    if (st == NPH_OK)
        st = view_as(&target, view.record, field(m, "dest_node"), new_flavor, err);
    if (st != NPH_OK) {
        instance_view_free(&view);
        return st;
    }
    compute_action_event(c, uuid, "resize", "compute_resize_instance", NULL);
    nph_error why = NPH_ERROR_INIT;
    st = NPH_DRIVER_CALL(drv, migrate_disk_and_power_off, &why, &view.inst, field(m, "dest_compute"),
                         field(m, "dest_node"), &target.flavor);
    instance_view_free(&target);
    instance_view_free(&view);
    if (st == NPH_OK)
        st = set_task(c, uuid, "resize_migrated", "resize_migrating", &why);
    if (st == NPH_OK) {
        migration_status(c, migration, "post-migrating");
        st = cast_to(c, field(m, "dest_compute"), "finish_resize", uuid, migration, power_on, &why);
    }
    if (st != NPH_OK)
        fail_step(c, uuid, migration, NULL, &why);
    if (st != NPH_OK && err)
        *err = why;
    return st;
}

/* Destination: take the record over, then let the driver finish. */
static nph_status finish_resize(nph_compute *c, const char *uuid, json_object *m, bool power_on,
                                nph_error *err)
{
    const char *migration = field(m, "uuid");
    json_object *new_flavor = NULL;
    nph_status st = nph_json_get_object(m, "new_flavor", true, &new_flavor, err);
    if (st != NPH_OK)
        return st;
    nph_auto_json *changes = placement_changes(c->host, field(m, "dest_node"), new_flavor);
    nph_json_add_string(changes, "task_state", "resize_finish");
    st = compute_update_record(c, uuid, changes, "resize_migrated", err);
    struct instance_view view;
    nph_driver *drv = NULL;
    if (st == NPH_OK)
        st = compute_prepare(c, uuid, "resize_finish", NULL, &view, &drv, err);
    if (st != NPH_OK)
        return st;
    nph_error why = NPH_ERROR_INIT;
    st = NPH_DRIVER_CALL(drv, finish_migration, &why, &view.inst, &view.flavor, power_on);
    if (st == NPH_OK) {
        nph_auto_json *done = json_object_new_object();
        json_object_object_add(done, "task_state", NULL);
        nph_json_add_string(done, "vm_state", "resized");
        nph_json_add_int(done, "power_state", compute_power_state(drv, &view.inst));
        st = compute_update_record(c, uuid, done, "resize_finish", &why);
    }
    instance_view_free(&view);
    if (st != NPH_OK) {
        fail_step(c, uuid, migration, "resize_finish", &why);
        if (err)
            *err = why;
        return st;
    }
    migration_status(c, migration, "finished");
    compute_action_event(c, uuid, "resize", "compute_finish_resize", "Success");
    nph_info("instance %s resized to flavor %s on node %s: waiting for confirm or revert", uuid,
             field(new_flavor, "name"), field(m, "dest_node"));
    return NPH_OK;
}

/* The instance as the source host had it (its node, the old flavor), and
 * the driver of that node (NULL when this host has none). */
static nph_status source_view(nph_compute *c, const char *uuid, json_object *m,
                              json_object **record, struct instance_view *view, nph_driver **drv,
                              nph_error *err)
{
    json_object *old_flavor = NULL;
    nph_status st = compute_get_record(c, uuid, record, err);
    if (st == NPH_OK)
        st = nph_json_get_object(m, "old_flavor", true, &old_flavor, err);
    if (st == NPH_OK)
        st = view_as(view, *record, field(m, "source_node"), old_flavor, err);
    if (st == NPH_OK)
        *drv = compute_driver_for(c, view->inst.node);
    return st;
}

static nph_status no_node(nph_compute *c, const struct instance_view *view, nph_error *why)
{
    return nph_error_set(why, NPH_ERR_NOT_FOUND, "host %s has no node '%s'", c->host,
                         view->inst.node ? view->inst.node : "(none)");
}

/* Source: the resize stays; drop what the source kept for a revert. */
static nph_status confirm_resize(nph_compute *c, const char *uuid, json_object *m, nph_error *err)
{
    nph_auto_json *record = NULL;
    struct instance_view view;
    nph_driver *drv = NULL;
    nph_error why = NPH_ERROR_INIT;
    nph_status st = source_view(c, uuid, m, &record, &view, &drv, err);
    if (st != NPH_OK)
        return st;
    st = drv ? NPH_DRIVER_CALL(drv, confirm_migration, &why, &view.inst) : no_node(c, &view, &why);
    instance_view_free(&view);
    json_object *power = NULL;
    json_object_object_get_ex(record, "power_state", &power);
    nph_auto_json *changes = json_object_new_object();
    nph_json_add_string(changes, "vm_state",
                        st == NPH_OK ? compute_vm_state_for(json_object_get_int(power)) : "error");
    if (st != NPH_OK) /* the fault first: whoever sees ERROR finds the reason */
        compute_record_fault(c, uuid, &why);
    nph_status up = compute_update_record(c, uuid, changes, "none", st == NPH_OK ? &why : NULL);
    if (st == NPH_OK)
        st = up;
    migration_status(c, field(m, "uuid"), st == NPH_OK ? "confirmed" : "error");
    compute_action_event(c, uuid, "confirmResize", "compute_confirm_resize",
                         st == NPH_OK ? "Success" : "Error");
    if (st != NPH_OK && err)
        *err = why;
    return st;
}

/* Source (or the one host of a same-host resize): back to the old flavor. */
static nph_status finish_revert(nph_compute *c, const char *uuid, json_object *m, bool power_on,
                                nph_error *err)
{
    nph_auto_json *record = NULL;
    struct instance_view view;
    nph_driver *drv = NULL;
    nph_error why = NPH_ERROR_INIT;
    nph_status st = source_view(c, uuid, m, &record, &view, &drv, err);
    if (st != NPH_OK)
        return st;
    json_object *old_flavor = NULL;
    json_object_object_get_ex(m, "old_flavor", &old_flavor);
    st = drv ? NPH_DRIVER_CALL(drv, finish_revert_migration, &why, &view.inst, power_on)
             : no_node(c, &view, &why);
    nph_power_state ps = st == NPH_OK ? compute_power_state(drv, &view.inst) : NPH_POWER_NOSTATE;
    instance_view_free(&view);
    if (st != NPH_OK) {
        fail_step(c, uuid, field(m, "uuid"), "resize_reverting", &why);
        if (err)
            *err = why;
        return st;
    }
    nph_auto_json *changes = placement_changes(c->host, field(m, "source_node"), old_flavor);
    json_object_object_add(changes, "task_state", NULL);
    nph_json_add_string(changes, "vm_state", compute_vm_state_for(ps));
    nph_json_add_int(changes, "power_state", ps);
    st = compute_update_record(c, uuid, changes, "resize_reverting", err);
    migration_status(c, field(m, "uuid"), st == NPH_OK ? "reverted" : "error");
    compute_action_event(c, uuid, "revertResize", "compute_finish_revert_resize",
                         st == NPH_OK ? "Success" : "Error");
    if (st == NPH_OK)
        nph_info("instance %s reverted to flavor %s", uuid, field(old_flavor, "name"));
    return st;
}

/* Destination: let go of the resized guest, then the source takes it back. */
static nph_status revert_resize(nph_compute *c, const char *uuid, json_object *m, nph_error *err)
{
    struct instance_view view;
    nph_driver *drv = NULL;
    nph_status st = compute_prepare(c, uuid, "resize_reverting", NULL, &view, &drv, err);
    if (st != NPH_OK)
        return st;
    bool power_on = compute_power_state(drv, &view.inst) == NPH_POWER_RUNNING;
    const char *source = field(m, "source_compute");
    if (source && strcmp(source, c->host) == 0) {
        instance_view_free(&view);
        return finish_revert(c, uuid, m, power_on, err);
    }
    nph_error why = NPH_ERROR_INIT;
    st = NPH_DRIVER_CALL(drv, destroy, &why, &view.inst, false);
    instance_view_free(&view);
    if (st == NPH_OK)
        st = cast_to(c, source, "finish_revert_resize", uuid, field(m, "uuid"), power_on, &why);
    if (st != NPH_OK) {
        fail_step(c, uuid, field(m, "uuid"), "resize_reverting", &why);
        if (err)
            *err = why;
    }
    return st;
}

nph_status compute_resize_method(nph_compute *c, const char *method, const char *uuid,
                                 json_object *args, nph_error *err)
{
    const char *migration = field(args, "migration");
    if (!migration)
        return nph_error_set(err, NPH_ERR_INVALID, "%s needs a migration", method);
    nph_auto_json *m = NULL;
    nph_status st = migration_get(c, migration, &m, err);
    if (st != NPH_OK)
        return st;
    json_object *power = NULL;
    json_object_object_get_ex(args, "power_on", &power);
    bool power_on = json_object_get_boolean(power);
    if (strcmp(method, "resize_instance") == 0)
        return resize_instance(c, uuid, m, err);
    if (strcmp(method, "finish_resize") == 0)
        return finish_resize(c, uuid, m, power_on, err);
    if (strcmp(method, "confirm_resize") == 0)
        return confirm_resize(c, uuid, m, err);
    if (strcmp(method, "revert_resize") == 0)
        return revert_resize(c, uuid, m, err);
    if (strcmp(method, "finish_revert_resize") == 0)
        return finish_revert(c, uuid, m, power_on, err);
    return nph_error_set(err, NPH_ERR_INVALID, "compute has no method '%s'", method);
}
