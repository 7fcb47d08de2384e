/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NPH_CONDUCTOR_INTERNAL_H
#define NPH_CONDUCTOR_INTERNAL_H

#include <pthread.h>
#include "conductor.h"
#include "db.h"

struct nph_conductor {
    nph_bus *bus;
    char *db_url;
    pthread_key_t db_key;    /* one database connection per worker thread */
    int64_t service_down_time_s;
    double cpu_ratio, ram_ratio, disk_ratio;
    char *default_az;        /* [DEFAULT] default_availability_zone */
    bool resize_same_host;   /* [DEFAULT] allow_resize_to_same_host */

    /* The service row's heartbeat, so os-services lists nova-conductor. */
    char *host;
    int64_t report_interval_s;
    pthread_t heartbeat;
    bool heartbeat_started, stopping;
    pthread_mutex_t lock;
    pthread_cond_t wake;
};

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
nph_status conductor_delete_instance(nph_conductor *c, nph_db *db, json_object *args,
                                     json_object **result, nph_error *err);

/* conductor-select.c: the "first node with room" choice the scheduler will
 * replace.  Picks a node of an up, enabled compute service with room for
 * `flavor` and, in the same transaction, sets the instance's host and node. */
nph_status conductor_select_and_claim(nph_conductor *c, nph_db *db, const char *uuid,
                                      json_object *flavor, char **host, char **node,
                                      nph_error *err);
/* The same choice for migration `migration` of the instance (never onto
 * `avoid_host` when given), written as the migration's destination. */
nph_status conductor_select_for_migration(nph_conductor *c, nph_db *db, const char *uuid,
                                          const char *migration, json_object *flavor,
                                          const char *avoid_host, char **host, char **node,
                                          nph_error *err);

/* conductor-resize.c */
nph_status conductor_resize_instance(nph_conductor *c, nph_db *db, json_object *args,
                                     json_object **result, nph_error *err);
nph_status conductor_migration_get(nph_conductor *c, nph_db *db, json_object *args,
                                   json_object **result, nph_error *err);
nph_status conductor_migration_update(nph_conductor *c, nph_db *db, json_object *args,
                                      json_object **result, nph_error *err);

/* conductor-placement.c: the zone and server-group rules of one instance. */
struct placement_rules {
    char *zone;                /* the zone the instance asked for (or the default) */
    char *policy;              /* its server group's policy, NULL without a group */
    int64_t max_per_host;      /* anti-affinity's max_server_per_host */
    json_object *host_zones;   /* rows (host, value) of zoned aggregates */
    json_object *member_hosts; /* rows (host) of the group's placed members */
    const char *avoid_host;    /* a migration's source, when it may not stay */
};
nph_status conductor_rules_load(nph_conductor *c, nph_db *db, const char *uuid,
                                struct placement_rules *rules, nph_error *err);
/* May the instance go to `host`?  Soft policies count only `with_soft`. */
bool conductor_rules_allow(const nph_conductor *c, const struct placement_rules *rules,
                           const char *host, bool with_soft);
void conductor_rules_clear(struct placement_rules *rules);

#endif
