/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NPH_CONDUCTOR_INTERNAL_H
#define NPH_CONDUCTOR_INTERNAL_H

#include <pthread.h>
#include "conductor.h"
#include "db.h"
#include "scheduler.h"

struct nph_conductor {
    nph_bus *bus;
    char *db_url;
    pthread_key_t db_key;    /* one database connection per worker thread */
    nph_scheduler *scheduler; /* where instances go */
    bool scheduler_on_bus;    /* [conductor] scheduler = bus: ask nephele-scheduler instead */
    double cpu_ratio, ram_ratio, disk_ratio; /* the inventories' allocation ratios */
    bool resize_same_host;   /* [DEFAULT] allow_resize_to_same_host */

    /* The service row's heartbeat, so os-services lists nova-conductor. */
    char *host;
    int64_t report_interval_s;
    pthread_t heartbeat;
    bool heartbeat_started, stopping;
    pthread_mutex_t lock;
    pthread_cond_t wake;
};

/* Choose and claim a node: with the in-process scheduler, or over the bus. */
nph_status conductor_select(nph_conductor *c, nph_db *db, const struct nph_schedule_request *req,
                            char **host, char **node, nph_error *err);

/* A conductor method: `args` borrowed, *result a new reference or NULL. */
typedef nph_status (*conductor_method)(nph_conductor *c, nph_db *db, json_object *args,
                                       json_object **result, nph_error *err);

/* conductor-instances.c */
nph_status conductor_instance_get(nph_conductor *c, nph_db *db, json_object *args,
                                  json_object **result, nph_error *err);
nph_status conductor_instance_update(nph_conductor *c, nph_db *db, json_object *args,
                                     json_object **result, nph_error *err);
nph_status conductor_instance_fault_create(nph_conductor *c, nph_db *db, json_object *args,
                                           json_object **result, nph_error *err);
nph_status conductor_instance_action_event(nph_conductor *c, nph_db *db, json_object *args,
                                           json_object **result, nph_error *err);
nph_status conductor_instances_by_host(nph_conductor *c, nph_db *db, json_object *args,
                                       json_object **result, nph_error *err);
nph_status conductor_instance_destroy(nph_conductor *c, nph_db *db, json_object *args,
                                      json_object **result, nph_error *err);
nph_status conductor_image_update(nph_conductor *c, nph_db *db, json_object *args,
                                  json_object **result, nph_error *err);
nph_status conductor_service_update(nph_conductor *c, nph_db *db, json_object *args,
                                    json_object **result, nph_error *err);
nph_status conductor_compute_node_update(nph_conductor *c, nph_db *db, json_object *args,
                                         json_object **result, nph_error *err);

/* conductor-build.c */
nph_status conductor_build_instance(nph_conductor *c, nph_db *db, json_object *args,
                                    json_object **result, nph_error *err);
nph_status conductor_build_instances(nph_conductor *c, nph_db *db, json_object *args,
                                     json_object **result, nph_error *err);
nph_status conductor_delete_instance(nph_conductor *c, nph_db *db, json_object *args,
                                     json_object **result, nph_error *err);

/* conductor-resize.c */
nph_status conductor_resize_instance(nph_conductor *c, nph_db *db, json_object *args,
                                     json_object **result, nph_error *err);
nph_status conductor_migration_get(nph_conductor *c, nph_db *db, json_object *args,
                                   json_object **result, nph_error *err);
nph_status conductor_migration_update(nph_conductor *c, nph_db *db, json_object *args,
                                      json_object **result, nph_error *err);

/* conductor-allocations.c: the instances' allocations in Placement. */
/* Give back what the instance and its unfinished moves hold. */
nph_status conductor_release_allocations(nph_db *db, const char *uuid, nph_error *err);
/* A reverted (or failed) move: the migration's allocations, the source's,
 * become the instance's again. */
nph_status conductor_return_allocations(nph_db *db, const char *migration, const char *uuid,
                                        nph_error *err);
/* A confirmed move: the source's allocations go. */
nph_status conductor_drop_move_allocations(nph_db *db, const char *migration, nph_error *err);

#endif
