/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* POST /servers/ID/action: power operations handed to the server's compute
 * host, lock and unlock, console output, force-delete; remote consoles are
 * api-consoles.c's; the actions this cloud cannot do yet answer 501 and say
 * so. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api-servers.h"
#include "bus.h"
#include "db-objects.h"
#include "error.h"
#include "log.h"

NPH_LOG_INIT("api.actions");

/* An operation on the compute host: from which vm_states, with which task
 * state, and as which method of the compute topic. */
struct power_op {
    const char *action;             /* the body's key */
    const char *name;               /* in messages and os-instance-actions */
    const char *method;
    const char *task_state;
    const char *const vm_states[6]; /* where it may start; NULL-terminated */
};

static const struct power_op power_ops[] = {
    { "os-stop", "stop", "stop_instance", "powering-off", { "active", "error", "rescued" } },
    { "os-start", "start", "start_instance", "powering-on", { "stopped" } },
    { "pause", "pause", "pause_instance", "pausing", { "active" } },
    { "unpause", "unpause", "unpause_instance", "unpausing", { "paused" } },
    { "suspend", "suspend", "suspend_instance", "suspending", { "active" } },
    { "resume", "resume", "resume_instance", "resuming", { "suspended" } },
};

static const struct power_op reboot_soft = {
    "reboot", "reboot", "reboot_instance", "rebooting", { "active" }
};
static const struct power_op reboot_hard = {
    "reboot", "reboot", "reboot_instance", "rebooting_hard",
    { "active", "stopped", "paused", "suspended", "error" }
};

static const char *member(json_object *obj, const char *key)
{
    const char *v = NULL;
    nph_json_get_string(obj, key, false, &v, NULL);
    return v;
}

static bool state_conflict(struct api_response *resp, const char *action, const char *uuid,
                           const char *what, const char *state)
{
    api_error(resp, 409, "Cannot '%s' instance %s while it is in %s %s", action, uuid, what, state);
    return false;
}

static void run_power_op(struct api_request *req, struct api_response *resp, json_object *inst,
                         const struct power_op *op, const char *reboot_type)
{
    const char *uuid = member(inst, "uuid"), *vm_state = member(inst, "vm_state");
    const char *task = member(inst, "task_state"), *host = member(inst, "host");
    bool allowed = false;
    for (size_t i = 0; op->vm_states[i] && !allowed; i++)
        allowed = vm_state && strcmp(op->vm_states[i], vm_state) == 0;
    if (!allowed) {
        state_conflict(resp, op->action, uuid, "vm_state", vm_state ? vm_state : "None");
        return;
    }
    if (task) {
        state_conflict(resp, op->action, uuid, "task_state", task);
        return;
    }
    if (!host || !*host) {
        api_error(resp, 409, "Instance %s is not on any host", uuid);
        return;
    }
    nph_auto_json *changes = json_object_new_object();
    nph_json_add_string(changes, "task_state", op->task_state);
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_db_instance_update(req->db, uuid, changes, "none", NULL, &err);
    if (st == NPH_ERR_CONFLICT) { /* another request got there first */
        api_error(resp, 409, "Cannot '%s' instance %s: %s", op->action, uuid, err.message);
        return;
    }
    char topic[300];
    snprintf(topic, sizeof(topic), "compute.%s", host);
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    if (reboot_type)
        nph_json_add_string(args, "reboot_type", reboot_type);
    api_server_action_start(req, uuid, op->name);
    if (st != NPH_OK || nph_bus_cast(req->api->bus, topic, op->method, args, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    resp->status = 202;
}

static void reboot(struct api_request *req, struct api_response *resp, json_object *inst,
                   json_object *arg)
{
    const char *type = member(arg, "type");
    if (!json_object_is_type(arg, json_type_object) || !type ||
        (strcmp(type, "SOFT") != 0 && strcmp(type, "HARD") != 0 && strcmp(type, "soft") != 0 &&
         strcmp(type, "hard") != 0)) {
        api_error(resp, 400, "Invalid input for field/attribute type. Value: %s. 'type' must be "
                             "one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']",
                  type ? type : "None");
        return;
    }
    bool hard = type[0] == 'H' || type[0] == 'h';
    run_power_op(req, resp, inst, hard ? &reboot_hard : &reboot_soft, hard ? "HARD" : "SOFT");
}

static void set_lock(struct api_request *req, struct api_response *resp, json_object *inst,
                     json_object *arg, bool lock)
{
    const char *uuid = member(inst, "uuid"), *locked_by = member(inst, "locked_by");
    if (!lock && locked_by && strcmp(locked_by, "admin") == 0 && !req->ctx.is_admin) {
        api_error(resp, 403, "Policy doesn't allow os_compute_api:os-lock-server:unlock:"
                             "unlock_override to be performed.");
        return;
    }
    json_object *reason = NULL;
    if (lock && arg && req->minor >= 73) {
        static const char *const allowed[] = { "locked_reason", NULL };
        if (!json_object_is_type(arg, json_type_object) ||
            !api_no_extra_members(resp, arg, allowed))
            return;
        reason = api_member(arg, "locked_reason");
        if (reason && (!json_object_is_type(reason, json_type_string) ||
                       json_object_get_string_len(reason) > 255)) {
            api_error(resp, 400, "Invalid input for field/attribute locked_reason. Value: %s. %s",
                      json_object_to_json_string(reason),
                      json_object_is_type(reason, json_type_string) ? "It is too long"
                                                                    : "It is not of type 'string'");
            return;
        }
    }
    nph_auto_json *changes = json_object_new_object();
    nph_json_add_int(changes, "locked", lock ? 1 : 0);
    nph_json_add_string(changes, "locked_by",
                        lock ? (req->ctx.is_admin ? "admin" : "owner") : NULL);
    /* Nova keeps the reason with the lock and drops it with the unlock. */
    nph_json_add_string(changes, "locked_reason", reason ? json_object_get_string(reason) : NULL);
    nph_error err = NPH_ERROR_INIT;
    api_server_action_start(req, uuid, lock ? "lock" : "unlock");
    if (nph_db_instance_update(req->db, uuid, changes, NULL, NULL, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    resp->status = 202;
}

static void console_output(struct api_request *req, struct api_response *resp, json_object *inst,
                           json_object *arg)
{
    const char *uuid = member(inst, "uuid"), *host = member(inst, "host");
    int64_t length = -1;
    json_object *v;
    if (json_object_is_type(arg, json_type_object) && json_object_object_get_ex(arg, "length", &v) &&
        v) {
        length = json_object_get_int64(v);
        if ((!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_string)) ||
            length < -1) {
            api_error(resp, 400, "Invalid input for field/attribute length. Value: %s.",
                      json_object_to_json_string(v));
            return;
        }
    }
    if (!host || !*host) {
        api_error(resp, 409, "Instance %s is not ready", uuid);
        return;
    }
    char topic[300];
    snprintf(topic, sizeof(topic), "compute.%s", host);
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    nph_json_add_int(args, "length", length);
    nph_auto_json *result = NULL;
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_bus_call(req->api->bus, topic, "get_console_output", args, 30000, &result, &err);
    if (st == NPH_ERR_NOT_SUPPORTED) {
        api_error(resp, 501, "Unable to get console log, functionality not implemented");
        return;
    }
    if (st != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "output", json_object_get(json_object_object_get(result, "output")));
    api_reply(resp, 200, body);
}

static void force_delete(struct api_request *req, struct api_response *resp)
{
    api_servers_delete(req, resp);
    if (resp->status == 204)
        resp->status = 202;
}

void api_servers_action(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *inst = NULL;
    if (!req->body || !json_object_is_type(req->body, json_type_object) ||
        json_object_object_length(req->body) != 1) {
        api_error(resp, 400, "There is either no action or more than one action in the request "
                             "body.");
        return;
    }
    if (!api_server_lookup(req, resp, req->params[0], &inst))
        return;
    json_object_object_foreach(req->body, action, arg) {
        if (api_server_get_console(req, resp, inst, action, arg))
            return; /* Nova hands out consoles of locked servers too */
        bool is_lock = strcmp(action, "lock") == 0 || strcmp(action, "unlock") == 0;
        if (!is_lock && !api_server_check_unlocked(req, resp, inst))
            return;
        for (size_t i = 0; i < sizeof(power_ops) / sizeof(power_ops[0]); i++)
            if (strcmp(power_ops[i].action, action) == 0)
                return run_power_op(req, resp, inst, &power_ops[i], NULL);
        if (strcmp(action, "reboot") == 0)
            return reboot(req, resp, inst, arg);
        if (is_lock)
            return set_lock(req, resp, inst, arg, action[0] == 'l');
        if (strcmp(action, "os-getConsoleOutput") == 0)
            return console_output(req, resp, inst, arg);
        if (strcmp(action, "forceDelete") == 0)
            return force_delete(req, resp);
        if (strcmp(action, "rebuild") == 0)
            return api_server_rebuild(req, resp, inst, arg);
        if (strcmp(action, "createImage") == 0)
            return api_server_create_image(req, resp, inst, arg);
        if (strcmp(action, "resize") == 0)
            return api_server_resize(req, resp, inst, arg);
        if (strcmp(action, "confirmResize") == 0)
            return api_server_confirm_resize(req, resp, inst);
        if (strcmp(action, "revertResize") == 0)
            return api_server_revert_resize(req, resp, inst);
        static const char *const later[] = { "os-migrateLive", "migrate", "rescue", "unrescue",
                                             "shelve", "unshelve", "shelveOffload", "changePassword",
                                             "restore", "addFloatingIp", "removeFloatingIp",
                                             "addSecurityGroup", "removeSecurityGroup",
                                             "trigger_crash_dump", "evacuate", NULL };
        for (const char *const *l = later; *l; l++) {
            if (strcmp(*l, action) == 0) {
                api_error(resp, 501, "The requested functionality is not supported: this cloud "
                                     "does not implement the '%s' action yet.",
                          action);
                return;
            }
        }
        api_error(resp, 400, "There is no such action: %s", action);
        return;
    }
}
