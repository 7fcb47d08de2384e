/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The placement model, as OpenStack Placement keeps it: resource providers
 * with inventories, traits and aggregates; consumers with allocations
 * against them; and the query that finds the providers with room for a
 * request (allocation candidates).  It lives in the shared database (schema
 * 4), so nephele-api serves the Placement REST API from it and the conductor
 * and the scheduler use it directly.
 *
 *   - Every call that changes state is one transaction on the caller's
 *     connection, which must not be in one already.
 *   - Reads return JSON in the shapes of Placement's newest microversion;
 *     the REST layer trims them for older ones.  Caller puts.
 *   - Generations work as Placement's: a change to a provider's
 *     inventories, traits or aggregates, or a new allocation against it,
 *     bumps its generation, and a write that names a stale generation fails
 *     with NPH_ERR_CONFLICT and PLACEMENT_E_CONCURRENT_UPDATE, so the writer
 *     re-reads and retries.  A consumer's generation guards its
 *     allocations the same way.
 *   - Standard resource classes and traits are static tables
 *     (placement-standard.c); the database holds the CUSTOM_ ones.
 */
#ifndef NPH_PLACEMENT_H
#define NPH_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"
#include "uuid.h"

/* Placement's error codes, which clients act on (a concurrent update is
 * retried, an inventory in use is not). */
#define PLACEMENT_E_UNDEFINED "placement.undefined_code"
#define PLACEMENT_E_CONCURRENT_UPDATE "placement.concurrent_update"
#define PLACEMENT_E_DUPLICATE_NAME "placement.duplicate_name"
#define PLACEMENT_E_INVENTORY_INUSE "placement.inventory.inuse"
#define PLACEMENT_E_PROVIDER_INUSE "placement.resource_provider.inuse"
#define PLACEMENT_E_CANNOT_DELETE_PARENT "placement.resource_provider.cannot_delete_parent"
#define PLACEMENT_E_PROVIDER_NOT_FOUND "placement.resource_provider.not_found"
#define PLACEMENT_E_QUERY_BAD_VALUE "placement.query.bad_value"

/* An error of this library: the status and message every Nephele error
 * has, plus the Placement code when one applies (NULL: undefined). */
typedef struct placement_error {
    nph_error e;
    const char *code;
} placement_error;
#define PLACEMENT_ERROR_INIT { NPH_ERROR_INIT, NULL }

/* Record an error; returns `status` for `return placement_fail(...)`. */
nph_status placement_fail(placement_error *err, nph_status status, const char *code,
                          const char *fmt, ...) NPH_PRINTF(4, 5);

#define PLACEMENT_NAME_MAX 255
#define PLACEMENT_MAX_RESOURCES 8
#define PLACEMENT_MAX_TRAITS 16
#define PLACEMENT_MAX_AGGREGATES 16
/* max_unit when an inventory does not say: Placement's MAX_INT. */
#define PLACEMENT_MAX_INT 2147483647

/* ---- names: placement-standard.c, placement-names.c -------------------- */
extern const char *const placement_standard_classes[];
extern const size_t placement_n_standard_classes;
extern const char *const placement_standard_traits[]; /* sorted */
extern const size_t placement_n_standard_traits;
bool placement_class_is_standard(const char *name);
bool placement_trait_is_standard(const char *name);
/* CUSTOM_ followed by A-Z, 0-9 and _, at most 255 characters. */
bool placement_name_is_custom(const char *name);
/* Does the class or trait exist (standard, or created)? */
nph_status placement_class_exists(nph_db *db, const char *name, bool *exists, placement_error *err);
nph_status placement_trait_exists(nph_db *db, const char *name, bool *exists, placement_error *err);

/* Resource classes: every name, standard ones first, as a JSON array. */
nph_status placement_classes_list(nph_db *db, json_object **out, placement_error *err);
/* Create a CUSTOM_ class; *created says whether it was new (an existing one
 * is NPH_ERR_CONFLICT unless `may_exist`). */
nph_status placement_class_create(nph_db *db, const char *name, bool may_exist, bool *created,
                                  placement_error *err);
/* Standard classes are NPH_ERR_INVALID; one with inventory NPH_ERR_CONFLICT. */
nph_status placement_class_delete(nph_db *db, const char *name, placement_error *err);

/* Traits, sorted.  `filter` is Placement's name filter ("in:A,B",
 * "startswith:CUSTOM_") or NULL; `associated` -1 for all, 1 for those some
 * provider has, 0 for those none has. */
nph_status placement_traits_list(nph_db *db, const char *filter, int associated, json_object **out,
                                 placement_error *err);
nph_status placement_trait_create(nph_db *db, const char *name, bool *created,
                                  placement_error *err);
nph_status placement_trait_delete(nph_db *db, const char *name, placement_error *err);

/* ---- resource providers: placement-providers.c -------------------------- */
/* {"uuid", "name", "generation", "parent_provider_uuid", "root_provider_uuid"} */
nph_status placement_provider_get(nph_db *db, const char *uuid, json_object **out,
                                  placement_error *err);
/* `uuid` NULL makes one; a taken name or uuid is PLACEMENT_E_DUPLICATE_NAME. */
nph_status placement_provider_create(nph_db *db, const char *uuid, const char *name,
                                     const char *parent_uuid, json_object **out,
                                     placement_error *err);
/* Rename, and re-parent when `set_parent` (only a provider without a parent
 * may get one, as before Placement 1.37). */
nph_status placement_provider_update(nph_db *db, const char *uuid, const char *name,
                                     bool set_parent, const char *parent_uuid, json_object **out,
                                     placement_error *err);
/* Refused while it has allocations or children. */
nph_status placement_provider_delete(nph_db *db, const char *uuid, placement_error *err);

/* What GET /resource_providers and GET /allocation_candidates filter on. */
struct placement_amount {
    char resource_class[PLACEMENT_NAME_MAX + 1];
    int64_t amount;
};
struct placement_aggregate {
    char uuid[NPH_UUID_STRLEN + 1];
    int group; /* providers must be in one aggregate of each group; -1: in none */
};
struct placement_query {
    const char *name, *uuid, *in_tree;       /* NULL: any */
    struct placement_amount resources[PLACEMENT_MAX_RESOURCES];
    size_t n_resources;
    char required[PLACEMENT_MAX_TRAITS][PLACEMENT_NAME_MAX + 1];
    size_t n_required;
    char forbidden[PLACEMENT_MAX_TRAITS][PLACEMENT_NAME_MAX + 1];
    size_t n_forbidden;
    char root_required[PLACEMENT_MAX_TRAITS][PLACEMENT_NAME_MAX + 1];
    size_t n_root_required;
    char root_forbidden[PLACEMENT_MAX_TRAITS][PLACEMENT_NAME_MAX + 1];
    size_t n_root_forbidden;
    struct placement_aggregate aggregates[PLACEMENT_MAX_AGGREGATES];
    size_t n_aggregates;
    int n_groups;
    int64_t limit;                           /* 0: no limit */
};
/* Parse Placement's query parameter forms into `q`; NPH_ERR_INVALID with
 * Placement's message otherwise.  "VCPU:2,MEMORY_MB:1024" */
nph_status placement_query_add_resources(struct placement_query *q, const char *text,
                                         placement_error *err);
/* "HW_CPU_X86_AVX,!CUSTOM_X" (the ! only when `allow_forbidden`); `root`
 * for root_required. */
nph_status placement_query_add_traits(struct placement_query *q, const char *text,
                                      bool allow_forbidden, bool root, placement_error *err);
/* "UUID", "in:UUID,UUID", and with `allow_forbidden` "!UUID", "!in:...". */
nph_status placement_query_add_member_of(struct placement_query *q, const char *text,
                                         bool allow_forbidden, placement_error *err);
/* Unknown resource classes and traits are NPH_ERR_INVALID, as Placement's. */
nph_status placement_query_check(nph_db *db, const struct placement_query *q,
                                 placement_error *err);

/* The providers matching `q` (resources: those with room for the amounts),
 * as a JSON array of provider objects. */
nph_status placement_provider_list(nph_db *db, const struct placement_query *q, json_object **out,
                                   placement_error *err);

/* Aggregates: {"aggregates": [...], "resource_provider_generation": N}.  A
 * `generation` of -1 skips the check (before microversion 1.19). */
nph_status placement_aggregates_get(nph_db *db, const char *uuid, json_object **out,
                                    placement_error *err);
nph_status placement_aggregates_set(nph_db *db, const char *uuid, int64_t generation,
                                    json_object *aggregates, json_object **out,
                                    placement_error *err);
/* Traits of a provider: {"traits": [...], "resource_provider_generation": N}.
 * Setting names an unknown trait: NPH_ERR_INVALID. */
nph_status placement_provider_traits_get(nph_db *db, const char *uuid, json_object **out,
                                         placement_error *err);
nph_status placement_provider_traits_set(nph_db *db, const char *uuid, int64_t generation,
                                         json_object *traits, json_object **out,
                                         placement_error *err);
nph_status placement_provider_traits_delete(nph_db *db, const char *uuid, placement_error *err);

/* ---- inventories and usages: placement-inventory.c ---------------------- */
struct placement_inventory {
    char resource_class[PLACEMENT_NAME_MAX + 1];
    int64_t total, reserved, min_unit, max_unit, step_size;
    double allocation_ratio;
};
/* Placement's defaults: reserved 0, min_unit 1, max_unit MAX_INT, step 1, ratio 1.0. */
void placement_inventory_defaults(struct placement_inventory *inv, const char *resource_class);
/* {"inventories": {CLASS: {total, reserved, min_unit, max_unit, step_size,
 * allocation_ratio}}, "resource_provider_generation": N} */
nph_status placement_inventories_get(nph_db *db, const char *uuid, json_object **out,
                                     placement_error *err);
/* Replace them all: classes left out are removed (refused while in use,
 * PLACEMENT_E_INVENTORY_INUSE).  `reserved_may_equal_total` from 1.26. */
nph_status placement_inventories_set(nph_db *db, const char *uuid, int64_t generation,
                                     const struct placement_inventory *inv, size_t n,
                                     bool reserved_may_equal_total, json_object **out,
                                     placement_error *err);
/* One class: `create` (POST) refuses one that exists, else it must exist.
 * *out: the inventory with "resource_provider_generation". */
nph_status placement_inventory_put(nph_db *db, const char *uuid, int64_t generation,
                                   const struct placement_inventory *inv, bool create,
                                   bool reserved_may_equal_total, json_object **out,
                                   placement_error *err);
/* Refused while allocations use it (PLACEMENT_E_INVENTORY_INUSE). */
nph_status placement_inventory_delete(nph_db *db, const char *uuid, const char *resource_class,
                                      placement_error *err);
/* {"usages": {CLASS: used}, "resource_provider_generation": N}, every class
 * of its inventory included. */
nph_status placement_provider_usages(nph_db *db, const char *uuid, json_object **out,
                                     placement_error *err);
/* {"usages": {CLASS: used}} of a project (and user, when not NULL). */
nph_status placement_project_usages(nph_db *db, const char *project_id, const char *user_id,
                                    json_object **out, placement_error *err);

/* ---- allocations: placement-allocations.c ------------------------------- */
#define PLACEMENT_GENERATION_ANY (-2) /* before 1.28: not checked */
#define PLACEMENT_GENERATION_NEW (-1) /* null: the consumer must be new */
struct placement_allocation {
    char provider_uuid[NPH_UUID_STRLEN + 1];
    char resource_class[PLACEMENT_NAME_MAX + 1];
    int64_t used;
};
struct placement_consumer {
    char uuid[NPH_UUID_STRLEN + 1];
    const char *project_id, *user_id;        /* NULL: Placement's incomplete-consumer ids */
    int64_t generation;                      /* PLACEMENT_GENERATION_* or the expected one */
    const struct placement_allocation *allocations;
    size_t n_allocations;                    /* 0: remove the consumer's allocations */
};
/* Replace the allocations of every consumer in one transaction, checking
 * providers, inventories, capacities and generations as Placement does. */
nph_status placement_allocations_replace(nph_db *db, const struct placement_consumer *consumers,
                                         size_t n, placement_error *err);
/* The same inside the caller's transaction, so one transaction can claim
 * resources and record what they are for (the scheduler's claim). */
nph_status placement_allocations_replace_in(nph_db *db, const struct placement_consumer *consumers,
                                            size_t n, placement_error *err);
/* A consumer's allocations as an array (*out malloc'ed, NULL when none),
 * in the form a replace takes: moving them to another consumer. */
nph_status placement_allocations_of(nph_db *db, const char *consumer_uuid,
                                    struct placement_allocation **out, size_t *n,
                                    placement_error *err);
/* {"allocations": {RP: {"generation", "resources"}}, and with some:
 * "project_id", "user_id", "consumer_generation"} */
nph_status placement_allocations_get(nph_db *db, const char *consumer_uuid, json_object **out,
                                     placement_error *err);
/* NPH_ERR_NOT_FOUND when the consumer has none. */
nph_status placement_allocations_delete(nph_db *db, const char *consumer_uuid,
                                        placement_error *err);
/* {"allocations": {CONSUMER: {"resources", "consumer_generation"}},
 * "resource_provider_generation": N} */
nph_status placement_provider_allocations(nph_db *db, const char *uuid, json_object **out,
                                          placement_error *err);

/* ---- allocation candidates: placement-candidates.c ---------------------- */
/* The providers with room for all of q->resources (and the traits and
 * aggregates asked for), in one set-based query:
 * {"allocation_requests": [{"allocations": {RP: {"resources": {...}}},
 *   "mappings": {"": [RP]}}],
 *  "provider_summaries": {RP: {"resources": {CLASS: {"capacity", "used"}},
 *   "traits": [...], "parent_provider_uuid", "root_provider_uuid"}}}
 * Each candidate is a single provider: nested trees and sharing providers
 * do not combine yet. */
nph_status placement_candidates(nph_db *db, const struct placement_query *q, json_object **out,
                                placement_error *err);
/* The same candidates without JSON, for the scheduler: one statement, one
 * call of `each` per provider (false stops the walk).  The strings live
 * until `each` returns. */
struct placement_candidate {
    const char *uuid, *root_uuid;
    int64_t capacity[PLACEMENT_MAX_RESOURCES]; /* of q->resources[i], in order */
    int64_t used[PLACEMENT_MAX_RESOURCES];
};
typedef bool (*placement_candidate_fn)(void *opaque, const struct placement_candidate *c);
nph_status placement_candidates_each(nph_db *db, const struct placement_query *q,
                                     placement_candidate_fn each, void *opaque,
                                     placement_error *err);

/* ---- compute nodes: placement-compute.c ---------------------------------- */
struct placement_ratios {
    double cpu, ram, disk; /* [DEFAULT] *_allocation_ratio */
};
/* Make the nodes `host` reported (objects with hypervisor_hostname, vcpus,
 * memory_mb, local_gb, resource_class, and the driver's "capabilities" and
 * "image_formats" names) resource providers named after the node, with the
 * compute node's uuid: their inventories (VCPU, MEMORY_MB, DISK_GB, or one
 * CUSTOM_ class unit for a baremetal node), and the traits the capabilities
 * mean, plus COMPUTE_STATUS_DISABLED when the host's service is disabled.
 * Only what changed is written.  Nodes must be in compute_nodes already. */
nph_status placement_sync_compute_nodes(nph_db *db, const char *host, json_object *nodes,
                                        const struct placement_ratios *ratios,
                                        placement_error *err);
/* "baremetal.gold" -> "CUSTOM_BAREMETAL_GOLD"; standard and CUSTOM_ names stay. */
void placement_normalize_class(const char *name, char out[PLACEMENT_NAME_MAX + 1]);

#endif
