/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NPH_COMPUTE_INTERNAL_H
#define NPH_COMPUTE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include "compute.h"
#include "json.h"
#include "plugin.h"

/* Which driver holds a node, sorted by name for bsearch. */
struct node_entry {
    char *name;
    nph_driver *drv;
};

struct nph_compute {
    char *host;
    char topic[300];
    nph_bus *bus;
    nph_driver_set drivers;
    /* The node map, listed again at every report: an Ironic node may come
     * or go.  Only the reporting thread writes it, under the write lock. */
    pthread_rwlock_t nodes_lock;
    struct node_entry *nodes;
    size_t n_nodes;
    bool pruned; /* the conductor knows the current node set */
    int64_t rpc_timeout_ms;
    int64_t report_interval_s, sync_interval_s, resource_interval_s;

    /* One operation per instance at a time: the UUIDs held (compute-locks.c). */
    pthread_mutex_t held_lock;
    pthread_cond_t released;
    char **held;
    size_t n_held, cap_held;

    /* Periodic tasks, and instances whose driver reported an event. */
    pthread_t periodic;
    bool periodic_started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    char (*event_uuids)[40];
    size_t n_events, cap_events;
};

/* An instance record seen as the driver contract's structs.  Strings point
 * into `record` and `image`, which the view holds references to. */
struct instance_view {
    struct nph_instance inst;
    struct nph_flavor flavor;
    struct nph_image_meta image;
    struct nph_kv *kv; /* extra specs, image properties and metadata, one block */
    json_object *record;
    json_object *image_json;
};

/* compute-view.c */
nph_status instance_view_init(struct instance_view *v, json_object *record, json_object *image,
                              nph_error *err);
void instance_view_free(struct instance_view *v);

/* compute-digest.c: size, checksum, os_hash_algo and os_hash_value of the
 * file at `path`, added to `changes`. */
nph_status compute_file_digest(const char *path, json_object *changes, nph_error *err);

/* compute.c */
nph_driver *compute_driver_for(nph_compute *c, const char *node);
nph_status compute_call(nph_compute *c, const char *method, json_object *args,
                        json_object **result, nph_error *err);
nph_status compute_report_nodes(nph_compute *c, nph_error *err);
nph_status compute_heartbeat(nph_compute *c, nph_error *err);

/* compute-locks.c: the instance's lock; every operation on an instance
 * holds it (the periodic sync only tries it). */
void compute_lock_instance(nph_compute *c, const char *uuid);
bool compute_trylock_instance(nph_compute *c, const char *uuid);
void compute_unlock_instance(nph_compute *c, const char *uuid);

/* compute-ops.c: the handler of the compute.<host> topic, and the steps
 * every operation shares. */
/* vm_state that follows a power state. */
const char *compute_vm_state_for(nph_power_state ps);
/* The instance record, through the conductor.  Caller puts. */
nph_status compute_get_record(nph_compute *c, const char *uuid, json_object **record,
                              nph_error *err);
/* Update the record if its task state is still `expected` ("none" for
 * none, NULL for any). */
nph_status compute_update_record(nph_compute *c, const char *uuid, json_object *changes,
                                 const char *expected, nph_error *err);
void compute_record_fault(nph_compute *c, const char *uuid, const nph_error *why);
/* An event of the action the current request started (os-instance-actions);
 * `outcome` NULL at its start, "Success" or "Error" at its end. */
void compute_action_event(nph_compute *c, const char *uuid, const char *action,
                          const char *event, const char *outcome);
/* compute_update_record() and compute_action_event() in one conductor call
 * and transaction; when the update fails, an ending event is recorded as
 * "Error" and a starting one not at all. */
nph_status compute_update_with_event(nph_compute *c, const char *uuid, json_object *changes,
                                     const char *expected, const char *action, const char *event,
                                     const char *outcome, nph_error *err);
/* The power state the driver reports, NOSTATE when it has no such guest. */
nph_power_state compute_power_state(nph_driver *drv, const struct nph_instance *inst);
/* An event a driver's spawn emits on the spawning thread, for the build to
 * record (true: taken; the build writes the outcome itself). */
bool compute_spawn_event(const struct nph_driver_event *e);
/* Read the record, check it is this host's and in `task_state` (NULL: any),
 * and find the driver of its node; *view must be freed on success. */
nph_status compute_prepare(nph_compute *c, const char *uuid, const char *task_state,
                           json_object *image, struct instance_view *view, nph_driver **drv,
                           nph_error *err);
/* compute-resize.c: the resize steps of the compute topic; NPH_ERR_INVALID
 * when `method` is not one of them. */
nph_status compute_resize_method(nph_compute *c, const char *method, const char *uuid,
                                 json_object *args, nph_error *err);
nph_status compute_handle(void *opaque, const char *method, json_object *args,
                          json_object **result, nph_error *err);
/* Bring one instance's record in line with the hypervisor (power sync). */
nph_status compute_sync_instance(nph_compute *c, json_object *record, nph_error *err);
/* At start-up: settle instances a crash left in a task state. */
nph_status compute_repair_instances(nph_compute *c, nph_error *err);

/* compute-periodic.c */
nph_status compute_periodic_start(nph_compute *c, nph_error *err);
void compute_periodic_stop(nph_compute *c);
void compute_on_event(void *opaque, nph_driver *drv, const struct nph_driver_event *event);

#endif
