/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Build and delete orchestration: choose a node, hand the work to its
 * compute service, and record a fault when nothing fits. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conductor-internal.h"
#include "db-objects.h"
#include "error.h"
#include "json.h"
#include "log.h"

NPH_LOG_INIT("conductor.build");

/* Put a build that cannot go on into ERROR with a fault saying why. */
static nph_status fail_build(nph_db *db, const char *uuid, int code, const char *message,
                             nph_error *err)
{
    nph_err("build of instance %s failed: %s", uuid, message);
    nph_auto_json *changes = json_object_new_object();
    nph_json_add_string(changes, "vm_state", "error");
    json_object_object_add(changes, "task_state", NULL);
    /* One transaction: whoever sees ERROR sees the fault that explains it. */
    nph_status st = nph_db_begin(db, err);
    if (st == NPH_OK)
        st = nph_db_instance_update(db, uuid, changes, "scheduling", NULL, err);
    if (st == NPH_OK)
        st = nph_db_instance_fault_create(db, uuid, code, message, NULL, NULL, err);
    if (st == NPH_OK)
        st = nph_db_commit(db, err);
    else
        nph_db_rollback(db);
    if (st == NPH_OK) /* a failed spawn's node gets its room back */
        conductor_release_allocations(db, uuid, NULL);
    return st;
}

static nph_status compute_topic(const char *host, char *topic, size_t len, nph_error *err)
{
    if ((size_t)snprintf(topic, len, "compute.%s", host) >= len)
        return nph_error_set(err, NPH_ERR_INVALID, "host name '%s' is too long", host);
    return NPH_OK;
}

/* A build that failed on max_attempts nodes ends: *why names each. */
static bool too_many_attempts(nph_conductor *c, json_object *attempts, nph_error *why)
{
    size_t n = json_object_is_type(attempts, json_type_array) ? json_object_array_length(attempts) : 0;
    if ((int64_t)n < nph_scheduler_max_attempts(c->scheduler))
        return false;
    json_object *h = NULL;
    char message[NPH_ERROR_MESSAGE_MAX] = "", *p = message;
    size_t left = sizeof(message);
    int w = snprintf(p, left, "Exceeded maximum number of retries. Exhausted all hosts available "
                              "for retrying build failures:");
    for (size_t i = 0; i < n && w > 0 && (size_t)w < left; i++) {
        p += w;
        left -= (size_t)w;
        json_object *a = json_object_array_get_idx(attempts, i), *nd = NULL, *r = NULL;
        json_object_object_get_ex(a, "host", &h);
        json_object_object_get_ex(a, "node", &nd);
        json_object_object_get_ex(a, "reason", &r);
        w = snprintf(p, left, "%s attempt %zu on %s (node %s): %s", i ? ";" : "", i + 1,
                     json_object_get_string(h), json_object_get_string(nd), json_object_get_string(r));
    }
    nph_error_set(why, NPH_ERR_BACKEND, "%s", message);
    return true;
}

/* Choose and claim a node for one recorded build.  NPH_ERR_NOT_FOUND:
 * nothing fits (*why says why); the instance is left as it was. */
static nph_status schedule_one(nph_conductor *c, nph_db *db, const char *uuid, json_object *args,
                               char **host, char **node, nph_error *why)
{
    const char *vm_state = NULL, *task_state = NULL;
    json_object *image = NULL, *flavor = NULL;
    nph_auto_json *inst = NULL;
    nph_status st = nph_json_get_object(args, "image", false, &image, why);
    if (st == NPH_OK)
        st = nph_db_instance_get(db, uuid, &inst, why);
    if (st != NPH_OK)
        return st;
    nph_json_get_string(inst, "vm_state", false, &vm_state, NULL);
    nph_json_get_string(inst, "task_state", false, &task_state, NULL);
    if (!vm_state || strcmp(vm_state, "building") != 0 || !task_state ||
        strcmp(task_state, "scheduling") != 0)
        return nph_error_set(why, NPH_ERR_CONFLICT,
                             "instance %s is %s/%s, not building/scheduling", uuid,
                             vm_state ? vm_state : "-", task_state ? task_state : "-");
    if (nph_json_get_object(inst, "flavor", true, &flavor, NULL) != NPH_OK)
        return nph_error_set(why, NPH_ERR_NOT_FOUND, "the instance has no flavor");
    json_object *hints = NULL, *attempts = NULL;
    json_object_object_get_ex(args, "scheduler_hints", &hints);
    json_object_object_get_ex(args, "attempts", &attempts);
    if (too_many_attempts(c, attempts, why))
        return NPH_ERR_NOT_FOUND;
    struct nph_schedule_request wanted = {
        .uuid = uuid, .flavor = flavor, .image = image, .hints = hints, .attempts = attempts,
        .claim = nph_scheduler_claim_instance, .opaque = (void *)uuid,
    };
    return conductor_select(c, db, &wanted, host, node, why);
}

/* Hand a claimed build to its compute host. */
static nph_status send_build(nph_conductor *c, nph_db *db, const char *uuid, json_object *args,
                             const char *host, const char *node, nph_error *err)
{
    char topic[300];
    nph_auto_json *request = json_object_new_object();
    nph_json_add_string(request, "uuid", uuid);
    nph_json_add_string(request, "node", node);
    /* What a reschedule needs back if the spawn fails there. */
    static const char *const passed_on[] = { "image", "scheduler_hints", "attempts" };
    for (size_t i = 0; i < sizeof(passed_on) / sizeof(passed_on[0]); i++) {
        json_object *v = NULL;
        if (json_object_object_get_ex(args, passed_on[i], &v) && v)
            json_object_object_add(request, passed_on[i], json_object_get(v));
    }
    nph_status st = compute_topic(host, topic, sizeof(topic), err);
    if (st == NPH_OK)
        st = nph_bus_cast(c->bus, topic, "build_and_run_instance", request, err);
    if (st != NPH_OK) {
        char message[NPH_ERROR_MESSAGE_MAX + 64];
        snprintf(message, sizeof(message), "cannot reach compute host %s: %s", host,
                 err ? err->message : "");
        return fail_build(db, uuid, 500, message, err);
    }
    nph_info("instance %s sent to %s (node %s)", uuid, host, node);
    return NPH_OK;
}

nph_status conductor_build_instance(nph_conductor *c, nph_db *db, json_object *args,
                                    json_object **result, nph_error *err)
{
    (void)result;
    const char *uuid;
    nph_status st = nph_json_get_string(args, "uuid", true, &uuid, err);
    if (st != NPH_OK)
        return st;
    char *host = NULL, *node = NULL;
    nph_error why = NPH_ERROR_INIT;
    st = schedule_one(c, db, uuid, args, &host, &node, &why);
    if (st == NPH_ERR_NOT_FOUND)
        return fail_build(db, uuid, 500, why.message, err);
    if (st == NPH_OK)
        st = send_build(c, db, uuid, args, host, node, err);
    else if (err)
        *err = why;
    free(host);
    free(node);
    return st;
}

/* A claimed member of a batch that cannot go on: no node, no allocations,
 * still waiting to be scheduled (the batch's failure follows). */
static void unclaim(nph_db *db, const char *uuid)
{
    nph_auto_json *changes = json_object_new_object();
    json_object_object_add(changes, "host", NULL);
    json_object_object_add(changes, "node", NULL);
    nph_db_instance_update(db, uuid, changes, "scheduling", NULL, NULL);
    conductor_release_allocations(db, uuid, NULL);
}

/* A multi-create: every instance of the request is placed, or none is
 * (Nova's all-or-nothing: the API created as many as min_count..max_count
 * allowed, and a request that cannot be placed whole fails whole). */
nph_status conductor_build_instances(nph_conductor *c, nph_db *db, json_object *args,
                                     json_object **result, nph_error *err)
{
    (void)result;
    json_object *uuids = NULL;
    if (!json_object_object_get_ex(args, "uuids", &uuids) ||
        !json_object_is_type(uuids, json_type_array) || json_object_array_length(uuids) == 0)
        return nph_error_set(err, NPH_ERR_INVALID, "build_instances needs a list of uuids");
    size_t n = json_object_array_length(uuids), placed = 0;
    char **hosts = calloc(n, sizeof(*hosts)), **nodes = calloc(n, sizeof(*nodes));
    nph_error why = NPH_ERROR_INIT;
    nph_status st = hosts && nodes ? NPH_OK : nph_error_set(&why, NPH_ERR_NO_MEMORY, "out of memory");
    for (; st == NPH_OK && placed < n; placed++) {
        const char *uuid = json_object_get_string(json_object_array_get_idx(uuids, placed));
        st = uuid ? schedule_one(c, db, uuid, args, &hosts[placed], &nodes[placed], &why)
                  : nph_error_set(&why, NPH_ERR_INVALID, "build_instances: uuid %zu is not a string",
                                  placed);
    }
    if (st != NPH_OK) {
        if (placed > 0)
            placed--; /* the one that failed holds nothing */
        for (size_t i = 0; i < placed; i++)
            unclaim(db, json_object_get_string(json_object_array_get_idx(uuids, i)));
        char message[NPH_ERROR_MESSAGE_MAX];
        snprintf(message, sizeof(message), "%s (instance %zu of %zu in this request; none of them "
                                           "was placed)",
                 why.message, placed + 1, n);
        for (size_t i = 0; i < n; i++)
            fail_build(db, json_object_get_string(json_object_array_get_idx(uuids, i)), 500,
                       message, NULL);
    }
    for (size_t i = 0; st == NPH_OK && i < n; i++) {
        send_build(c, db, json_object_get_string(json_object_array_get_idx(uuids, i)), args,
                   hosts[i], nodes[i], NULL);
    }
    for (size_t i = 0; hosts && nodes && i < n; i++) {
        free(hosts[i]);
        free(nodes[i]);
    }
    free(hosts);
    free(nodes);
    if (st != NPH_OK && st != NPH_ERR_NOT_FOUND && err)
        *err = why;
    return st == NPH_ERR_NOT_FOUND ? NPH_OK : st;
}

nph_status conductor_delete_instance(nph_conductor *c, nph_db *db, json_object *args,
                                     json_object **result, nph_error *err)
{
    const char *uuid, *host = NULL;
    nph_status st = nph_json_get_string(args, "uuid", true, &uuid, err);
    nph_auto_json *inst = NULL;
    if (st == NPH_OK)
        st = nph_db_instance_get(db, uuid, &inst, err);
    if (st != NPH_OK)
        return st;
    nph_json_get_string(inst, "host", false, &host, NULL);
    if (!host || !*host) {
        /* Never scheduled: nothing runs anywhere, the record goes at once. */
        nph_auto_json *changes = json_object_new_object();
        nph_json_add_string(changes, "vm_state", "deleted");
        json_object_object_add(changes, "task_state", NULL);
        st = nph_db_instance_update(db, uuid, changes, NULL, NULL, err);
        if (st == NPH_OK)
            st = nph_db_instance_soft_delete(db, uuid, err);
        if (st == NPH_OK)
            conductor_release_allocations(db, uuid, NULL);
        return st;
    }
    char topic[300];
    nph_auto_json *request = json_object_new_object();
    nph_json_add_string(request, "uuid", uuid);
    st = compute_topic(host, topic, sizeof(topic), err);
    return st == NPH_OK ? nph_bus_cast(c->bus, topic, "terminate_instance", request, err) : st;
}
