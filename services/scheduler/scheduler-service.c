/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scheduler as a service of its own (nephele-scheduler): the
 * "scheduler" topic's select_destination, which chooses a node and claims
 * it for a build or a resize exactly as a conductor's in-process scheduler
 * does.  Conductors with [conductor] scheduler = bus call it; several
 * schedulers share the topic, and Placement's checks in the claim keep them
 * from over-committing a node.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "db-objects.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "scheduler-internal.h"

NPH_LOG_INIT("scheduler.service");

struct nph_scheduler_service {
    nph_scheduler *scheduler;
    char *db_url;
    pthread_key_t db_key; /* one connection per bus worker */
};

nph_status nph_scheduler_claim_instance(nph_db *db, const char *host, const char *node,
                                        void *opaque, nph_error *err)
{
    const char *uuid = opaque;
    nph_auto_json *changes = json_object_new_object();
    nph_json_add_string(changes, "host", host);
    nph_json_add_string(changes, "node", node);
    nph_status st = nph_db_instance_update(db, uuid, changes, "scheduling", NULL, err);
    if (st == NPH_ERR_CONFLICT) /* deleted meanwhile: not a reason to try another node */
        st = nph_error_set(err, NPH_ERR_INVALID, "instance %s is no longer waiting to be scheduled",
                           uuid);
    if (st == NPH_OK)
        nph_info("instance %s claimed node %s on host %s", uuid, node, host);
    return st;
}

nph_status nph_scheduler_claim_migration(nph_db *db, const char *host, const char *node,
                                         void *opaque, nph_error *err)
{
    const char *migration = opaque;
    int64_t changed = 0;
    const char *params[] = { host, node, host, migration };
    nph_status st = nph_db_execute(db, "UPDATE migrations SET dest_compute = ?, dest_node = ?, "
                                       "dest_host = ?, status = 'migrating' WHERE uuid = ? AND "
                                       "status = 'pre-migrating'",
                                   params, 4, &changed, err);
    if (st == NPH_OK && changed != 1)
        st = nph_error_set(err, NPH_ERR_INVALID, "migration %s is no longer waiting", migration);
    if (st == NPH_OK)
        nph_info("migration %s goes to node %s on host %s", migration, node, host);
    return st;
}

json_object *nph_scheduler_request_args(const struct nph_schedule_request *req)
{
    json_object *args = json_object_new_object();
    nph_json_add_string(args, "uuid", req->uuid);
    json_object_object_add(args, "flavor", json_object_get(req->flavor));
    if (req->image)
        json_object_object_add(args, "image", json_object_get(req->image));
    if (req->hints)
        json_object_object_add(args, "scheduler_hints", json_object_get(req->hints));
    if (req->attempts)
        json_object_object_add(args, "attempts", json_object_get(req->attempts));
    if (req->avoid_host)
        nph_json_add_string(args, "avoid_host", req->avoid_host);
    if (req->migration)
        nph_json_add_string(args, "migration", req->migration);
    return args;
}

static void close_db(void *db)
{
    nph_db_close(db);
}

static nph_status handle(void *opaque, const char *method, json_object *args, json_object **result,
                         nph_error *err)
{
    nph_scheduler_service *svc = opaque;
    if (strcmp(method, "select_destination") != 0)
        return nph_error_set(err, NPH_ERR_INVALID, "the scheduler has no method '%s'", method);
    const char *uuid = json_object_get_string(sched_member(args, "uuid"));
    json_object *flavor = sched_member(args, "flavor");
    if (!uuid || !json_object_is_type(flavor, json_type_object))
        return nph_error_set(err, NPH_ERR_INVALID, "select_destination needs uuid and flavor");
    nph_db *db = pthread_getspecific(svc->db_key);
    if (!db) {
        nph_status st = nph_db_open(svc->db_url, &db, err);
        if (st != NPH_OK)
            return st;
        pthread_setspecific(svc->db_key, db);
    }
    const char *migration = json_object_get_string(sched_member(args, "migration"));
    struct nph_schedule_request req = {
        .uuid = uuid, .flavor = flavor, .image = sched_member(args, "image"),
        .hints = sched_member(args, "scheduler_hints"), .attempts = sched_member(args, "attempts"),
        .avoid_host = json_object_get_string(sched_member(args, "avoid_host")), .migration = migration,
        .claim = migration ? nph_scheduler_claim_migration : nph_scheduler_claim_instance,
        .opaque = (void *)(migration ? migration : uuid),
    };
    char *host = NULL, *node = NULL;
    nph_status st = nph_scheduler_select(svc->scheduler, db, &req, &host, &node, err);
    if (st == NPH_OK) {
        *result = json_object_new_object();
        nph_json_add_string(*result, "host", host);
        nph_json_add_string(*result, "node", node);
    }
    free(host);
    free(node);
    return st;
}

nph_status nph_scheduler_service_start(const nph_config *cfg, nph_bus *bus, const char *db_url,
                                       int workers, nph_scheduler_service **out, nph_error *err)
{
    nph_scheduler_service *svc = calloc(1, sizeof(*svc));
    if (!svc || !(svc->db_url = strdup(db_url))) {
        free(svc);
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    pthread_key_create(&svc->db_key, close_db);
    nph_status st = nph_scheduler_new(cfg, &svc->scheduler, err);
    if (st == NPH_OK)
        st = nph_bus_serve(bus, "scheduler", (unsigned)workers, handle, svc, err);
    if (st != NPH_OK) {
        nph_scheduler_service_free(svc);
        return st;
    }
    nph_info("scheduler serving with %d workers on %s", workers, db_url);
    *out = svc;
    return NPH_OK;
}

void nph_scheduler_service_free(nph_scheduler_service *svc)
{
    if (!svc)
        return;
    nph_scheduler_free(svc->scheduler);
    /* Worker connections closed with their threads; the calling thread's too. */
    nph_db_close(pthread_getspecific(svc->db_key));
    pthread_setspecific(svc->db_key, NULL);
    pthread_key_delete(svc->db_key);
    free(svc->db_url);
    free(svc);
}
