/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Instance operations on the compute.<host> topic.  Each runs under its
 * instance's lock: read the record through the conductor, check the task
 * state the API set, call the driver, then write the outcome in one update
 * (or a fault when the driver failed).  The driver is never called with a
 * lock other than the instance's held.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buffer.h"
#include "clock.h"
#include "compute-internal.h"
#include "error.h"
#include "log.h"
#include "objects.h"

NPH_LOG_INIT("compute.ops");

/* vm_state that follows a power state, as the database should show it. */
const char *compute_vm_state_for(nph_power_state ps)
{
    switch (ps) {
    case NPH_POWER_RUNNING: return "active";
    case NPH_POWER_PAUSED: return "paused";
    case NPH_POWER_SUSPENDED: return "suspended";
    default: return "stopped";
    }
}

static const char *member_string(json_object *obj, const char *key)
{
    const char *v = NULL;
    nph_json_get_string(obj, key, false, &v, NULL);
    return v;
}

/* ------------------------------------------------------------------------ */
/* Conductor calls.                                                         */

nph_status compute_get_record(nph_compute *c, const char *uuid, json_object **record,
                              nph_error *err)
{
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    return compute_call(c, "instance_get", args, record, err);
}

static json_object *update_args(const char *uuid, json_object *changes, const char *expected)
{
    json_object *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    json_object_object_add(args, "changes", json_object_get(changes));
    if (expected)
        json_object_object_add(args, "expected_task_state",
                               strcmp(expected, "none") == 0 ? NULL
                                                             : json_object_new_string(expected));
    return args;
}

/* Update the record if its task state is still `expected` ("none" for
 * none, NULL for any). */
nph_status compute_update_record(nph_compute *c, const char *uuid, json_object *changes,
                                 const char *expected, nph_error *err)
{
    nph_auto_json *args = update_args(uuid, changes, expected);
    return compute_call(c, "instance_update", args, NULL, err);
}

void compute_record_fault(nph_compute *c, const char *uuid, const nph_error *why)
{
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    nph_json_add_int(args, "code", why->code == NPH_ERR_CONFLICT ? 409 : 500);
    nph_json_add_string(args, "message", why->message);
    nph_json_add_string(args, "details", nph_status_name(why->code));
    nph_json_add_string(args, "host", c->host);
    nph_error err = NPH_ERROR_INIT;
    if (compute_call(c, "instance_fault_create", args, NULL, &err) != NPH_OK)
        nph_err("cannot record the fault of instance %s: %s", uuid, err.message);
}

/* The event's fields, or NULL for work nobody requested (repairs, syncs),
 * which has no action to attach to. */
static json_object *event_args(nph_compute *c, const char *action, const char *event,
                               const char *outcome)
{
    const char *rid = nph_log_request_id();
    if (!rid)
        return NULL;
    json_object *args = json_object_new_object();
    nph_json_add_string(args, "action", action);
    nph_json_add_string(args, "event", event);
    nph_json_add_string(args, "request_id", rid);
    nph_json_add_string(args, "result", outcome);
    nph_json_add_string(args, "host", c->host);
    return args;
}

void compute_action_event(nph_compute *c, const char *uuid, const char *action,
                          const char *event, const char *outcome)
{
    nph_auto_json *args = event_args(c, action, event, outcome);
    if (!args)
        return;
    nph_json_add_string(args, "uuid", uuid);
    nph_error err = NPH_ERROR_INIT;
    if (compute_call(c, "instance_action_event", args, NULL, &err) != NPH_OK)
        nph_warn("cannot record event %s of instance %s: %s", event, uuid, err.message);
}

nph_status compute_update_with_event(nph_compute *c, const char *uuid, json_object *changes,
                                     const char *expected, const char *action, const char *event,
                                     const char *outcome, nph_error *err)
{
    nph_auto_json *args = update_args(uuid, changes, expected);
    json_object *ev = event_args(c, action, event, outcome);
    if (ev)
        json_object_object_add(args, "event", ev);
    return compute_call(c, "instance_update", args, NULL, err);
}

/* What a driver's spawn said of its guest, on the thread that runs the
 * spawn: a driver that emits the guest's lifecycle event from within spawn
 * (the fake and vmware drivers do, once the guest runs) has told its power
 * state, and the build records it without asking get_info again, a round
 * trip to vCenter saved per build.  Events from a driver's own threads
 * (libvirt's event loop, the Ironic watcher) may come in any order against
 * the spawn's return: for those the build still asks. */
struct spawn_report {
    const char *uuid;
    bool reported;
    nph_power_state state;
};
static __thread struct spawn_report *spawn_report;

bool compute_spawn_event(const struct nph_driver_event *e)
{
    struct spawn_report *r = spawn_report;
    if (!r || !e->instance_uuid || strcmp(r->uuid, e->instance_uuid) != 0 ||
        e->power_state == NPH_POWER_NOSTATE)
        return false;
    r->reported = true;
    r->state = e->power_state;
    return true;
}

/* The power state the driver reports in *ps, NOSTATE when it has no such
 * guest; an error when it could not tell (its backend failed). */
static nph_status driver_power_state(nph_driver *drv, const struct nph_instance *inst,
                                     nph_power_state *ps, nph_error *err)
{
    struct nph_instance_info info = { 0 };
    nph_status st = NPH_DRIVER_CALL(drv, get_info, err, inst, &info);
    *ps = st == NPH_OK ? info.state : NPH_POWER_NOSTATE;
    return st == NPH_ERR_NOT_FOUND ? NPH_OK : st;
}

/* The power state the driver reports, NOSTATE when it has no such guest or
 * cannot tell. */
nph_power_state compute_power_state(nph_driver *drv, const struct nph_instance *inst)
{
    nph_power_state ps;
    nph_error err = NPH_ERROR_INIT;
    driver_power_state(drv, inst, &ps, &err);
    return ps;
}

/* ------------------------------------------------------------------------ */
/* Simple operations: one driver call between a task state and a result.   */

struct simple_op {
    const char *method;     /* bus method */
    const char *action;     /* instance action, as os-instance-actions names it */
    const char *task_state; /* what the API set before casting */
    int kind;
};

enum { OP_STOP, OP_START, OP_REBOOT_SOFT, OP_REBOOT_HARD, OP_PAUSE, OP_UNPAUSE, OP_SUSPEND,
       OP_RESUME };

static const struct simple_op simple_ops[] = {
    { "stop_instance", "stop", "powering-off", OP_STOP },
    { "start_instance", "start", "powering-on", OP_START },
    { "reboot_instance", "reboot", "rebooting", OP_REBOOT_SOFT },
    { "reboot_instance", "reboot", "rebooting_hard", OP_REBOOT_HARD },
    { "pause_instance", "pause", "pausing", OP_PAUSE },
    { "unpause_instance", "unpause", "unpausing", OP_UNPAUSE },
    { "suspend_instance", "suspend", "suspending", OP_SUSPEND },
    { "resume_instance", "resume", "resuming", OP_RESUME },
};

static nph_status run_simple(nph_driver *drv, const struct nph_instance *inst, int kind,
                             nph_error *err)
{
    switch (kind) {
    case OP_STOP: return NPH_DRIVER_CALL(drv, power_off, err, inst, 60);
    case OP_START: return NPH_DRIVER_CALL(drv, power_on, err, inst);
    case OP_REBOOT_SOFT: return NPH_DRIVER_CALL(drv, reboot, err, inst, NPH_REBOOT_SOFT);
    case OP_REBOOT_HARD: return NPH_DRIVER_CALL(drv, reboot, err, inst, NPH_REBOOT_HARD);
    case OP_PAUSE: return NPH_DRIVER_CALL(drv, pause, err, inst);
    case OP_UNPAUSE: return NPH_DRIVER_CALL(drv, unpause, err, inst);
    case OP_SUSPEND: return NPH_DRIVER_CALL(drv, suspend, err, inst);
    case OP_RESUME: return NPH_DRIVER_CALL(drv, resume, err, inst);
    }
    return nph_error_set(err, NPH_ERR_INVALID, "unknown operation %d", kind);
}

/* Read the record and check it is this host's and in `task_state`; *drv is
 * the driver of its node, or NULL when no driver here has that node. */
static nph_status prepare(nph_compute *c, const char *uuid, const char *task_state,
                          json_object *image, struct instance_view *view, nph_driver **drv,
                          nph_error *err)
{
    nph_auto_json *record = NULL;
    nph_status st = compute_get_record(c, uuid, &record, err);
    if (st != NPH_OK)
        return st;
    const char *host = member_string(record, "host");
    const char *current = member_string(record, "task_state");
    if (!host || strcmp(host, c->host) != 0)
        return nph_error_set(err, NPH_ERR_CONFLICT, "instance %s is on host %s, not %s", uuid,
                             host ? host : "(none)", c->host);
    if (task_state && (!current || strcmp(current, task_state) != 0))
        return nph_error_set(err, NPH_ERR_CONFLICT,
                             "instance %s: expected task_state '%s' but it is '%s'", uuid,
                             task_state, current ? current : "none");
    st = instance_view_init(view, record, image, err);
    if (st != NPH_OK)
        return st;
    *drv = compute_driver_for(c, view->inst.node);
    return NPH_OK;
}

/* prepare(), then insist on a driver for the node. */
nph_status compute_prepare(nph_compute *c, const char *uuid, const char *task_state,
                           json_object *image, struct instance_view *view, nph_driver **drv,
                           nph_error *err)
{
    nph_status st = prepare(c, uuid, task_state, image, view, drv, err);
    if (st == NPH_OK && !*drv) {
        st = nph_error_set(err, NPH_ERR_NOT_FOUND, "host %s has no node '%s'", c->host,
                           view->inst.node ? view->inst.node : "(none)");
        instance_view_free(view);
    }
    return st;
}

static nph_status simple_operation(nph_compute *c, const struct simple_op *op, const char *uuid,
                                   nph_error *err)
{
    struct instance_view view;
    nph_driver *drv = NULL;
    nph_status st = compute_prepare(c, uuid, op->task_state, NULL, &view, &drv, err);
    if (st != NPH_OK)
        return st;
    char event[64];
    snprintf(event, sizeof(event), "compute_%s", op->method);
    compute_action_event(c, uuid, op->action, event, NULL);
    nph_error why = NPH_ERROR_INIT;
    st = run_simple(drv, &view.inst, op->kind, &why);
    nph_auto_json *changes = json_object_new_object();
    json_object_object_add(changes, "task_state", NULL);
    if (st == NPH_OK) {
        nph_power_state ps = compute_power_state(drv, &view.inst);
        nph_json_add_int(changes, "power_state", ps);
        nph_json_add_string(changes, "vm_state", compute_vm_state_for(ps));
        nph_info("%s of instance %s done: %s", op->action, uuid, nph_power_state_name(ps));
    } else {
        nph_warn("%s of instance %s failed: %s", op->action, uuid, why.message);
        compute_record_fault(c, uuid, &why);
    }
    nph_status up = compute_update_with_event(c, uuid, changes, op->task_state, op->action, event,
                                              st == NPH_OK ? "Success" : "Error", err);
    instance_view_free(&view);
    if (st != NPH_OK) {
        if (err)
            *err = why;
        return st;
    }
    return up;
}

/* ------------------------------------------------------------------------ */
/* Build and delete.                                                        */

/* The record's changes after a spawn or rebuild: the power state (the
 * spawn's report when there is one, else the driver's get_info), `vm_state`
 * (NULL: the one the power state means) and launched_at; or ERROR with a
 * fault when `st` failed. */
static json_object *launch_outcome(nph_compute *c, nph_driver *drv, const struct instance_view *view,
                                   nph_status st, const nph_error *why, const char *vm_state,
                                   const struct spawn_report *report)
{
    json_object *changes = json_object_new_object();
    json_object_object_add(changes, "task_state", NULL);
    if (st != NPH_OK) {
        nph_json_add_string(changes, "vm_state", "error");
        compute_record_fault(c, view->inst.uuid, why);
        return changes;
    }
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    nph_power_state ps = report && report->reported ? report->state
                                                    : compute_power_state(drv, &view->inst);
    nph_json_add_int(changes, "power_state", ps);
    nph_json_add_string(changes, "vm_state", vm_state ? vm_state : compute_vm_state_for(ps));
    nph_json_add_string(changes, "launched_at", now);
    return changes;
}


/* A spawn failed here: clean up, give the instance back to the scheduler
 * and ask the conductor to try another node (it stops after max_attempts). */
static nph_status reschedule(nph_compute *c, nph_driver *drv, const struct instance_view *view,
                             json_object *request, const nph_error *why, nph_error *err)
{
    const char *uuid = view->inst.uuid;
    nph_error ignored = NPH_ERROR_INIT;
    NPH_DRIVER_CALL(drv, destroy, &ignored, &view->inst, true);
    nph_auto_json *changes = json_object_new_object();
    json_object_object_add(changes, "host", NULL);
    json_object_object_add(changes, "node", NULL);
    nph_json_add_string(changes, "task_state", "scheduling");
    nph_status st = compute_update_record(c, uuid, changes, "spawning", err);
    if (st != NPH_OK)
        return st;
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    json_object *v = NULL;
    if (json_object_object_get_ex(request, "image", &v) && v)
        json_object_object_add(args, "image", json_object_get(v));
    if (json_object_object_get_ex(request, "scheduler_hints", &v) && v)
        json_object_object_add(args, "scheduler_hints", json_object_get(v));
    json_object *attempts = json_object_new_array();
    if (json_object_object_get_ex(request, "attempts", &v) && json_object_is_type(v, json_type_array))
        for (size_t i = 0; i < json_object_array_length(v); i++)
            json_object_array_add(attempts, json_object_get(json_object_array_get_idx(v, i)));
    json_object *attempt = json_object_new_object();
    nph_json_add_string(attempt, "host", c->host);
    nph_json_add_string(attempt, "node", view->inst.node);
    nph_json_add_string(attempt, "reason", why->message);
    json_object_array_add(attempts, attempt);
    json_object_object_add(args, "attempts", attempts);
    nph_warn("build of instance %s failed on node %s (%s): rescheduling", uuid, view->inst.node,
             why->message);
    return nph_bus_cast(c->bus, "conductor", "build_instance", args, err);
}

static nph_status build(nph_compute *c, const char *uuid, json_object *request, nph_error *err)
{
    json_object *image = NULL;
    json_object_object_get_ex(request, "image", &image);
    struct instance_view view;
    nph_driver *drv = NULL;
    nph_status st = compute_prepare(c, uuid, "scheduling", image, &view, &drv, err);
    if (st != NPH_OK)
        return st;
    nph_auto_json *spawning = json_object_new_object();
    nph_json_add_string(spawning, "task_state", "spawning");
    st = compute_update_with_event(c, uuid, spawning, "scheduling", "create",
                                   "compute__do_build_and_run_instance", NULL, err);
    if (st != NPH_OK) {
        instance_view_free(&view);
        return st;
    }
    nph_error why = NPH_ERROR_INIT;
    struct nph_spawn_args spawn_args = { 0 };
    struct spawn_report report = { .uuid = uuid };
    spawn_report = &report;
    st = NPH_DRIVER_CALL(drv, spawn, &why, &view.inst, &spawn_args);
    spawn_report = NULL;
    if (st != NPH_OK && st != NPH_ERR_INVALID) { /* the node failed, not the request */
        compute_action_event(c, uuid, "create", "compute__do_build_and_run_instance", "Error");
        st = reschedule(c, drv, &view, request, &why, err);
        instance_view_free(&view);
        return st;
    }
    nph_auto_json *changes = launch_outcome(c, drv, &view, st, &why, "active", &report);
    if (st == NPH_OK)
        nph_info("instance %s spawned on node %s", uuid, view.inst.node);
    else
        nph_err("build of instance %s failed: %s", uuid, why.message);
    nph_status up = compute_update_with_event(c, uuid, changes, "spawning", "create",
                                              "compute__do_build_and_run_instance",
                                              st == NPH_OK ? "Success" : "Error", err);
    if (st == NPH_OK && up != NPH_OK) {
        /* The record went away (deleted meanwhile): leave no orphan guest. */
        nph_warn("instance %s changed during its build (%s); destroying the guest", uuid,
                 err ? err->message : "");
        nph_error ignored = NPH_ERROR_INIT;
        NPH_DRIVER_CALL(drv, destroy, &ignored, &view.inst, true);
    }
    instance_view_free(&view);
    if (st != NPH_OK && err)
        *err = why;
    return st != NPH_OK ? st : up;
}

/* Destroy the guest and soft-delete the record. */
static nph_status terminate(nph_compute *c, const char *uuid, nph_error *err)
{
    struct instance_view view;
    nph_driver *drv = NULL;
    nph_status st = prepare(c, uuid, NULL, NULL, &view, &drv, err);
    if (st == NPH_ERR_NOT_FOUND)
        return NPH_OK; /* the record is already gone */
    if (st != NPH_OK)
        return st;
    nph_auto_json *deleting = json_object_new_object();
    nph_json_add_string(deleting, "task_state", "deleting");
    st = compute_update_with_event(c, uuid, deleting, NULL, "delete", "compute_terminate_instance",
                                   NULL, err);
    if (st != NPH_OK) {
        instance_view_free(&view);
        return st;
    }
    nph_error why = NPH_ERROR_INIT;
    if (drv) /* no driver for the node: nothing runs here to destroy */
        st = NPH_DRIVER_CALL(drv, destroy, &why, &view.inst, true);
    nph_auto_json *changes = json_object_new_object();
    json_object_object_add(changes, "task_state", NULL);
    if (st == NPH_OK) {
        char now[NPH_ISO_TIME_LEN];
        nph_clock_iso_now(now);
        nph_json_add_string(changes, "vm_state", "deleted");
        nph_json_add_int(changes, "power_state", NPH_POWER_NOSTATE);
        nph_json_add_string(changes, "terminated_at", now);
        st = compute_update_record(c, uuid, changes, "deleting", &why);
        nph_info("instance %s destroyed", uuid);
        nph_auto_json *args = json_object_new_object();
        nph_json_add_string(args, "uuid", uuid);
        if (st == NPH_OK)
            st = compute_call(c, "instance_destroy", args, NULL, &why);
    } else {
        nph_json_add_string(changes, "vm_state", "error");
        compute_record_fault(c, uuid, &why);
        compute_update_record(c, uuid, changes, "deleting", NULL);
    }
    compute_action_event(c, uuid, "delete", "compute_terminate_instance", st == NPH_OK ? "Success" : "Error");
    instance_view_free(&view);
    if (st != NPH_OK && err)
        *err = why;
    return st;
}

/* ------------------------------------------------------------------------ */
/* Rebuild and snapshot.                                                    */

/* A new root disk from `image`; a stopped server stays stopped. */
static nph_status rebuild(nph_compute *c, const char *uuid, json_object *image, nph_error *err)
{
    struct instance_view view;
    nph_driver *drv = NULL;
    nph_status st = compute_prepare(c, uuid, "rebuilding", image, &view, &drv, err);
    if (st != NPH_OK)
        return st;
    const char *vm_state = member_string(view.record, "vm_state");
    bool was_stopped = vm_state && strcmp(vm_state, "stopped") == 0;
    compute_action_event(c, uuid, "rebuild", "compute_rebuild_instance", NULL);
    nph_error why = NPH_ERROR_INIT;
    st = NPH_DRIVER_CALL(drv, rebuild, &why, &view.inst, &view.image);
    if (st == NPH_OK && was_stopped)
        st = NPH_DRIVER_CALL(drv, power_off, &why, &view.inst, 60);
    nph_auto_json *changes = launch_outcome(c, drv, &view, st, &why, NULL, NULL);
    if (st == NPH_OK)
        nph_info("instance %s rebuilt from image %s", uuid, view.image.id);
    else
        nph_warn("rebuild of instance %s failed: %s", uuid, why.message);
    nph_status up = compute_update_with_event(c, uuid, changes, "rebuilding", "rebuild",
                                              "compute_rebuild_instance",
                                              st == NPH_OK ? "Success" : "Error", err);
    instance_view_free(&view);
    if (st != NPH_OK && err)
        *err = why;
    return st != NPH_OK ? st : up;
}

/* The driver writes the root disk to a file beside the image store's; its
 * checksums are taken and it becomes the data of image `image_id`.  A
 * failed snapshot deletes the image record, as Nova does. */
static nph_status write_snapshot(nph_compute *c, nph_driver *drv, const struct instance_view *view,
                                 const char *image_id, const char *image_dir, nph_error *why)
{
    char tmp[4200], final[4200];
    snprintf(tmp, sizeof(tmp), "%s/.snapshot-%s", image_dir, image_id);
    snprintf(final, sizeof(final), "%s/%s", image_dir, image_id);
    struct nph_snapshot_result result = { 0 };
    nph_auto_json *changes = json_object_new_object();
    nph_status st = NPH_DRIVER_CALL(drv, snapshot, why, &view->inst, tmp, &result);
    if (st == NPH_OK)
        st = compute_file_digest(tmp, changes, why);
    if (st == NPH_OK && rename(tmp, final) != 0)
        st = nph_error_set(why, NPH_ERR_IO, "cannot store the snapshot as '%s': %s", final,
                           strerror(errno));
    unlink(tmp);
    nph_json_add_string(changes, "status", st == NPH_OK ? "active" : "deleted");
    if (st == NPH_OK)
        nph_json_add_string(changes, "disk_format", nph_image_format_name(result.disk_format));
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", image_id);
    json_object_object_add(args, "changes", json_object_get(changes));
    nph_error ignored = NPH_ERROR_INIT;
    nph_status up = compute_call(c, "image_update", args, NULL, st == NPH_OK ? why : &ignored);
    if (st == NPH_OK && up != NPH_OK)
        unlink(final);
    return st != NPH_OK ? st : up;
}

static nph_status snapshot(nph_compute *c, const char *uuid, json_object *args, nph_error *err)
{
    const char *image_id = member_string(args, "image_id");
    const char *image_dir = member_string(args, "image_dir");
    if (!image_id || !image_dir)
        return nph_error_set(err, NPH_ERR_INVALID, "snapshot_instance needs image_id and image_dir");
    struct instance_view view;
    nph_driver *drv = NULL;
    nph_status st = compute_prepare(c, uuid, "image_snapshot", NULL, &view, &drv, err);
    if (st != NPH_OK)
        return st;
    compute_action_event(c, uuid, "createImage", "compute_snapshot_instance", NULL);
    nph_error why = NPH_ERROR_INIT;
    st = write_snapshot(c, drv, &view, image_id, image_dir, &why);
    if (st == NPH_OK)
        nph_info("instance %s: snapshot stored as image %s", uuid, image_id);
    else
        nph_warn("snapshot of instance %s failed: %s", uuid, why.message);
    nph_auto_json *changes = json_object_new_object();
    json_object_object_add(changes, "task_state", NULL);
    nph_status up = compute_update_with_event(c, uuid, changes, "image_snapshot", "createImage",
                                              "compute_snapshot_instance",
                                              st == NPH_OK ? "Success" : "Error", err);
    instance_view_free(&view);
    if (st != NPH_OK && err)
        *err = why;
    return st != NPH_OK ? st : up;
}

/* ------------------------------------------------------------------------ */

/* The guest's console log, its last `length` lines when length >= 0. */
static nph_status console_output(nph_compute *c, const char *uuid, int64_t length,
                                 json_object **result, nph_error *err)
{
    struct instance_view view;
    nph_driver *drv = NULL;
    nph_status st = compute_prepare(c, uuid, NULL, NULL, &view, &drv, err);
    if (st != NPH_OK)
        return st;
    nph_auto_buffer out = NPH_BUFFER_INIT;
    st = NPH_DRIVER_CALL(drv, get_console_output, err, &view.inst, &out);
    instance_view_free(&view);
    if (st != NPH_OK)
        return st;
    const char *text = out.len ? nph_buffer_str(&out) : "";
    size_t end = strlen(text), from = 0;
    if (length >= 0) {
        /* Back over `length` line ends, not counting a final one. */
        from = end > 0 && text[end - 1] == '\n' ? end - 1 : end;
        for (int64_t lines = 0; from > 0; from--)
            if (text[from - 1] == '\n' && ++lines == length)
                break;
        if (length == 0)
            from = end;
    }
    const char *start = text + from;
    *result = json_object_new_object();
    nph_json_add_string(*result, "output", start);
    return NPH_OK;
}

/* Where the guest's console of `type` (nph_console_type) listens, for the
 * API to put behind a token. */
static nph_status console_endpoint(nph_compute *c, const char *uuid, int64_t type,
                                   json_object **result, nph_error *err)
{
    if (type < NPH_CONSOLE_VNC || type > NPH_CONSOLE_MKS)
        return nph_error_set(err, NPH_ERR_INVALID, "unknown console type %lld", (long long)type);
    struct instance_view view;
    nph_driver *drv = NULL;
    nph_status st = compute_prepare(c, uuid, NULL, NULL, &view, &drv, err);
    if (st != NPH_OK)
        return st;
    struct nph_console where = { .port = 0 };
    st = NPH_DRIVER_CALL(drv, get_console, err, &view.inst, (nph_console_type)type, &where);
    instance_view_free(&view);
    if (st != NPH_OK)
        return st;
    *result = json_object_new_object();
    nph_json_add_string(*result, "host", where.host);
    nph_json_add_int(*result, "port", where.port);
    nph_json_add_int(*result, "tls_port", where.tls_port);
    nph_json_add_string(*result, "internal_access_path", where.internal_access_path);
    return NPH_OK;
}

/* An event from outside (Neutron, Cinder, Ironic): power-update means the
 * power changed behind our back, so the record follows the hypervisor now;
 * the network and volume events have nothing waiting for them here. */
static nph_status external_event(nph_compute *c, const char *uuid, json_object *args,
                                 nph_error *err)
{
    json_object *event = NULL;
    nph_status st = nph_json_get_object(args, "event", true, &event, err);
    if (st != NPH_OK)
        return st;
    const char *name = member_string(event, "name"), *tag = member_string(event, "tag");
    nph_info("instance %s: external event %s%s%s (%s)", uuid, name ? name : "?", tag ? ":" : "",
             tag ? tag : "", member_string(event, "status"));
    if (!name || strcmp(name, "power-update") != 0)
        return NPH_OK;
    nph_auto_json *record = NULL;
    st = compute_get_record(c, uuid, &record, err);
    return st == NPH_OK ? compute_sync_instance(c, record, err) : st;
}

nph_status compute_handle(void *opaque, const char *method, json_object *args,
                          json_object **result, nph_error *err)
{
    nph_compute *c = opaque;
    const char *uuid;
    nph_status st = nph_json_get_string(args, "uuid", true, &uuid, err);
    if (st != NPH_OK)
        return st;
    compute_lock_instance(c, uuid);
    if (strcmp(method, "build_and_run_instance") == 0) {
        st = build(c, uuid, args, err);
    } else if (strcmp(method, "terminate_instance") == 0) {
        st = terminate(c, uuid, err);
    } else if (strcmp(method, "rebuild_instance") == 0) {
        json_object *image = NULL;
        st = nph_json_get_object(args, "image", true, &image, err);
        if (st == NPH_OK)
            st = rebuild(c, uuid, image, err);
    } else if (strcmp(method, "snapshot_instance") == 0) {
        st = snapshot(c, uuid, args, err);
    } else if (strstr(method, "resize")) {
        st = compute_resize_method(c, method, uuid, args, err);
    } else if (strcmp(method, "external_instance_event") == 0) {
        st = external_event(c, uuid, args, err);
    } else if (strcmp(method, "get_console_output") == 0 && result) {
        int64_t length = -1;
        nph_json_get_int(args, "length", false, &length, NULL);
        st = console_output(c, uuid, length, result, err);
    } else if (strcmp(method, "get_console") == 0 && result) {
        int64_t type = -1;
        nph_json_get_int(args, "console_type", false, &type, NULL);
        st = console_endpoint(c, uuid, type, result, err);
    } else {
        const char *reboot_type = member_string(args, "reboot_type");
        const struct simple_op *op = NULL;
        for (size_t i = 0; i < sizeof(simple_ops) / sizeof(simple_ops[0]) && !op; i++) {
            if (strcmp(simple_ops[i].method, method) != 0)
                continue;
            bool hard = reboot_type && strcasecmp(reboot_type, "HARD") == 0;
            if (simple_ops[i].kind == OP_REBOOT_SOFT && hard)
                continue;
            op = &simple_ops[i];
        }
        st = op ? simple_operation(c, op, uuid, err)
                : nph_error_set(err, NPH_ERR_INVALID, "compute has no method '%s'", method);
    }
    compute_unlock_instance(c, uuid);
    if (st != NPH_OK)
        nph_warn("%s of instance %s: %s", method, uuid, err ? err->message : nph_status_name(st));
    return st;
}

/* ------------------------------------------------------------------------ */
/* Power-state sync and start-up repair.                                    */

nph_status compute_sync_instance(nph_compute *c, json_object *record, nph_error *err)
{
    const char *uuid = member_string(record, "uuid");
    if (!uuid || member_string(record, "task_state"))
        return NPH_OK; /* an operation is under way; it will write the outcome */
    struct instance_view view;
    nph_status st = instance_view_init(&view, record, NULL, err);
    if (st != NPH_OK)
        return st;
    nph_driver *drv = compute_driver_for(c, view.inst.node);
    nph_power_state ps = NPH_POWER_NOSTATE;
    nph_error why = NPH_ERROR_INIT;
    if (drv && driver_power_state(drv, &view.inst, &ps, &why) != NPH_OK) {
        /* Not "no such guest": the hypervisor could not say (vCenter or
         * libvirtd unreachable).  The record stays as it is, as in Nova. */
        nph_warn("power state sync of instance %s skipped: %s", uuid, why.message);
        instance_view_free(&view);
        return NPH_OK;
    }
    json_object *current = NULL;
    json_object_object_get_ex(record, "power_state", &current);
    const char *vm_state = member_string(record, "vm_state");
    /* States the power state does not decide; a resized server keeps
     * VERIFY_RESIZE until confirmed or reverted, only its power follows. */
    static const char *const settled_states[] = { "error", "building", "deleted", "resized" };
    bool settled = false;
    for (size_t i = 0; vm_state && i < sizeof(settled_states) / sizeof(settled_states[0]); i++)
        settled |= strcmp(vm_state, settled_states[i]) == 0;
    if (!settled && (json_object_get_int(current) != (int)ps ||
                     strcmp(vm_state ? vm_state : "", compute_vm_state_for(ps)) != 0)) {
        nph_info("instance %s: database says %s/%s, the hypervisor %s: following the hypervisor",
                 uuid, vm_state ? vm_state : "-", nph_power_state_name(json_object_get_int(current)),
                 nph_power_state_name(ps));
        nph_auto_json *changes = json_object_new_object();
        nph_json_add_int(changes, "power_state", ps);
        nph_json_add_string(changes, "vm_state", compute_vm_state_for(ps));
        st = compute_update_record(c, uuid, changes, "none", err);
        if (st == NPH_ERR_CONFLICT)
            st = NPH_OK; /* an operation started meanwhile */
    }
    instance_view_free(&view);
    return st;
}

/* One instance left in a task state by a crash: finish or fail the work. */
static void repair_one(nph_compute *c, json_object *record)
{
    const char *uuid = member_string(record, "uuid");
    const char *task = member_string(record, "task_state");
    const char *vm_state = member_string(record, "vm_state");
    if (!uuid || !task)
        return;
    nph_error err = NPH_ERROR_INIT;
    struct instance_view view;
    if (instance_view_init(&view, record, NULL, &err) != NPH_OK) {
        nph_err("cannot repair instance %s: %s", uuid, err.message);
        return;
    }
    nph_driver *drv = compute_driver_for(c, view.inst.node);
    nph_power_state ps = drv ? compute_power_state(drv, &view.inst) : NPH_POWER_NOSTATE;
    nph_auto_json *changes = json_object_new_object();
    json_object_object_add(changes, "task_state", NULL);
    if (strcmp(task, "deleting") == 0) {
        nph_info("instance %s was being deleted when compute stopped: finishing", uuid);
        instance_view_free(&view);
        terminate(c, uuid, &err);
        return;
    }
    if (vm_state && strcmp(vm_state, "building") == 0) {
        if (ps == NPH_POWER_RUNNING) {
            /* The guest came up; only the final write was lost. */
            nph_json_add_string(changes, "vm_state", "active");
        } else {
            nph_error why = NPH_ERROR_INIT;
            nph_error_set(&why, NPH_ERR_BACKEND,
                          "compute service on %s restarted during the build (task_state %s)",
                          c->host, task);
            if (drv)
                NPH_DRIVER_CALL(drv, destroy, &err, &view.inst, true);
            nph_json_add_string(changes, "vm_state", "error");
            compute_record_fault(c, uuid, &why);
        }
    } else {
        nph_json_add_string(changes, "vm_state", compute_vm_state_for(ps));
    }
    nph_json_add_int(changes, "power_state", ps);
    nph_info("instance %s was in task %s when compute stopped: now %s", uuid, task,
             json_object_get_string(json_object_object_get(changes, "vm_state")));
    if (compute_update_record(c, uuid, changes, task, &err) != NPH_OK)
        nph_err("cannot repair instance %s: %s", uuid, err.message);
    instance_view_free(&view);
}

nph_status compute_repair_instances(nph_compute *c, nph_error *err)
{
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "host", c->host);
    nph_auto_json *list = NULL;
    nph_status st = compute_call(c, "instances_by_host", args, &list, err);
    for (size_t i = 0; st == NPH_OK && list && i < json_object_array_length(list); i++) {
        const char *uuid = member_string(json_object_array_get_idx(list, i), "uuid");
        if (!uuid)
            continue;
        compute_lock_instance(c, uuid);
        repair_one(c, json_object_array_get_idx(list, i));
        compute_unlock_instance(c, uuid);
    }
    return st;
}
