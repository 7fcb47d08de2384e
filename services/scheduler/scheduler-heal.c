/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Instances placed before the scheduler claimed in Placement (schema 4 and
 * older data directories) hold no allocations, so their nodes look empty.
 * Healing gives each such instance the allocations its flavor asks for on
 * its node's provider, as nova-manage placement heal_allocations does.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "db-objects.h"
#include "error.h"
#include "log.h"
#include "placement.h"
#include "scheduler-internal.h"

NPH_LOG_INIT("scheduler.heal");

size_t scheduler_allocations_for(const struct request_spec *r, const char *provider_uuid,
                                 struct placement_allocation *out)
{
    for (size_t i = 0; i < r->n_res; i++) {
        snprintf(out[i].provider_uuid, sizeof(out[i].provider_uuid), "%s", provider_uuid);
        snprintf(out[i].resource_class, sizeof(out[i].resource_class), "%s",
                 r->res[i].resource_class);
        out[i].used = r->res[i].amount;
    }
    return r->n_res;
}

/* One instance row (with its flavor and its node's provider uuid). */
static nph_status heal_one(nph_db *db, json_object *row, nph_error *err)
{
    json_object *flavor_text = sched_member(row, "flavor");
    const char *text = json_object_get_string(flavor_text);
    nph_auto_json *flavor = text ? nph_json_parse(text, strlen(text), NULL) : NULL;
    if (!flavor)
        return nph_error_set(err, NPH_ERR_INVALID, "instance %s has no flavor to heal from",
                             sched_text(row, "uuid"));
    struct request_spec spec = {
        .vcpus = json_object_get_int64(sched_member(flavor, "vcpus")),
        .memory_mb = json_object_get_int64(sched_member(flavor, "memory_mb")),
        .disk_gb = json_object_get_int64(sched_member(flavor, "root_gb")) +
                   json_object_get_int64(sched_member(flavor, "ephemeral_gb")),
        .extra_specs = sched_member(flavor, "extra_specs"),
    };
    nph_auto_json *no_specs = json_object_new_object();
    if (!json_object_is_type(spec.extra_specs, json_type_object))
        spec.extra_specs = no_specs;
    scheduler_spec_placement(NULL, &spec, NULL);
    struct placement_allocation mine[SCHED_MAX_RESOURCES];
    struct placement_consumer c = {
        .project_id = sched_text(row, "project_id"), .user_id = sched_text(row, "user_id"),
        .generation = PLACEMENT_GENERATION_NEW, .allocations = mine,
        .n_allocations = scheduler_allocations_for(&spec, sched_text(row, "provider"), mine),
    };
    snprintf(c.uuid, sizeof(c.uuid), "%s", sched_text(row, "uuid"));
    placement_error perr = PLACEMENT_ERROR_INIT;
    nph_status st = placement_allocations_replace(db, &c, 1, &perr);
    if (st != NPH_OK && err)
        *err = perr.e;
    return st;
}

nph_status nph_scheduler_heal_allocations(nph_db *db, bool dry_run, size_t *healed,
                                          size_t *failed, nph_error *err)
{
    *healed = *failed = 0;
    nph_auto_json *rows = NULL;
    nph_status st = nph_db_select_rows(
        db,
        "SELECT i.uuid, i.project_id, i.user_id, i.flavor, cn.uuid AS provider FROM instances i "
        "JOIN compute_nodes cn ON cn.host = i.host AND cn.hypervisor_hostname = i.node AND "
        "cn.deleted = 0 JOIN resource_providers rp ON rp.uuid = cn.uuid WHERE i.deleted = 0 AND "
        "i.node IS NOT NULL AND NOT EXISTS (SELECT 1 FROM allocations a WHERE a.consumer_uuid = "
        "i.uuid) ORDER BY i.id",
        NULL, 0, &rows, err);
    for (size_t i = 0; st == NPH_OK && i < json_object_array_length(rows); i++) {
        json_object *row = json_object_array_get_idx(rows, i);
        nph_error why = NPH_ERROR_INIT;
        if (dry_run || heal_one(db, row, &why) == NPH_OK) {
            (*healed)++;
            continue;
        }
        (*failed)++; /* one instance that does not fit is reported, the rest go on */
        nph_warn("instance %s keeps no allocations: %s", sched_text(row, "uuid"), why.message);
    }
    return st;
}
