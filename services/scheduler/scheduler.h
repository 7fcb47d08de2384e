/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The scheduler as a library: Nova's filter scheduler over Placement.  For
 * one instance it takes the node states (loaded again every
 * host_state_refresh_ms by a thread of its own, with this process's claims
 * added in between), drops the nodes a filter refuses (first the one that
 * does Placement's part: room for the flavor's resources, required and
 * forbidden traits, the image's COMPUTE_IMAGE_TYPE_*), ranks the rest by
 * the weighers, and claims the best one (a random one of the best
 * host_subset_size): one transaction writes the instance's allocations
 * against the node's resource provider, where Placement checks the room
 * and the provider's generation, and what the caller records.  A node that
 * filled up meanwhile sends it to the next; a concurrent writer makes it
 * try the same node again.
 *
 * Configuration read ([filter_scheduler] as in nova.conf): enabled_filters,
 * ram_weight_multiplier, cpu_weight_multiplier, disk_weight_multiplier,
 * num_instances_weight_multiplier, soft_affinity_weight_multiplier,
 * soft_anti_affinity_weight_multiplier, build_failure_weight_multiplier,
 * host_subset_size, max_instances_per_host, isolated_images, isolated_hosts,
 * restrict_isolated_hosts_to_isolated_images; [scheduler] max_attempts,
 * host_state_refresh_ms, image_metadata_prefilter; [DEFAULT]
 * service_down_time, default_availability_zone; [database] connection
 * (the refresher's own connection).
 */
#ifndef NPH_SCHEDULER_H
#define NPH_SCHEDULER_H

#include "bus.h"
#include "conf.h"
#include "db.h"
#include "json.h"

typedef struct nph_scheduler nph_scheduler;

nph_status nph_scheduler_new(const nph_config *cfg, nph_scheduler **out, nph_error *err);
void nph_scheduler_free(nph_scheduler *s);

/* Writes the choice in the claim's transaction (the instance's host and
 * node, or a migration's destination); NPH_ERR_CONFLICT makes the
 * scheduler try the next host. */
typedef nph_status (*nph_scheduler_claim_fn)(nph_db *db, const char *host, const char *node,
                                             void *opaque, nph_error *err);

struct nph_schedule_request {
    const char *uuid;        /* the instance */
    json_object *flavor;     /* the flavor to place (with extra_specs) */
    json_object *image;      /* {"id", "disk_format", "properties"}, may be NULL */
    json_object *hints;      /* scheduler hints (same_host, different_host), may be NULL */
    const char *avoid_host;  /* never this host (a migration's source), may be NULL */
    json_object *attempts;   /* nodes tried already: [{"host", "node", "reason"}], may be NULL */
    const char *migration;   /* a move: this consumer takes the instance's allocations until
                              * now (the source's), the instance those on the new node */
    nph_scheduler_claim_fn claim;
    void *opaque;
};

/* Choose and claim a node; *host and *node are malloc'ed.  NPH_ERR_NOT_FOUND
 * is "No valid host was found" with the filter that left no host. */
nph_status nph_scheduler_select(nph_scheduler *s, nph_db *db, const struct nph_schedule_request *req,
                                char **host, char **node, nph_error *err);
/* [scheduler] max_attempts: how many nodes a build may try. */
int64_t nph_scheduler_max_attempts(const nph_scheduler *s);

/* The claims a build and a resize record (opaque: the instance's uuid, the
 * migration's uuid). */
nph_status nph_scheduler_claim_instance(nph_db *db, const char *host, const char *node,
                                        void *opaque, nph_error *err);
nph_status nph_scheduler_claim_migration(nph_db *db, const char *host, const char *node,
                                         void *opaque, nph_error *err);

/* The scheduler as a bus service (nephele-scheduler): topic "scheduler",
 * method select_destination with the arguments below; it replies {"host",
 * "node"} or the selection's error (NPH_ERR_NOT_FOUND: no valid host).
 * The claim is the instance's, or the migration's when one is named. */
typedef struct nph_scheduler_service nph_scheduler_service;
nph_status nph_scheduler_service_start(const nph_config *cfg, nph_bus *bus, const char *db_url,
                                       int workers, nph_scheduler_service **out, nph_error *err);
void nph_scheduler_service_free(nph_scheduler_service *svc);
/* A request as select_destination's arguments (a new object). */
json_object *nph_scheduler_request_args(const struct nph_schedule_request *req);

/* Instances on a node without allocations in Placement (placed before the
 * scheduler claimed there) get those of their flavor on the node's
 * provider; *healed counts them (with dry_run: those that would be),
 * *failed those that did not fit (logged).  Idempotent. */
nph_status nph_scheduler_heal_allocations(nph_db *db, bool dry_run, size_t *healed,
                                          size_t *failed, nph_error *err);

#endif
