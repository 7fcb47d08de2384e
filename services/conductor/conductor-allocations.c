/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The instances' allocations in Placement after the scheduler's claim: a
 * deleted instance or a build that ends in ERROR gives its room back; a
 * resize keeps the source's allocations under the migration's uuid until
 * it is confirmed (they go) or reverted (they return to the instance).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conductor-internal.h"
#include "db-objects.h"
#include "json.h"
#include "log.h"
#include "placement.h"

NPH_LOG_INIT("conductor.allocations");

/* Placement's "nothing to delete" is no failure here. */
static nph_status release(nph_db *db, const char *consumer, nph_error *err)
{
    placement_error perr = PLACEMENT_ERROR_INIT;
    nph_status st = placement_allocations_delete(db, consumer, &perr);
    if (st == NPH_ERR_NOT_FOUND)
        return NPH_OK;
    if (st != NPH_OK && err)
        *err = perr.e;
    return st;
}

nph_status conductor_release_allocations(nph_db *db, const char *uuid, nph_error *err)
{
    nph_status st = release(db, uuid, err);
    /* and those of its unfinished moves */
    const char *params[] = { uuid };
    nph_auto_json *moves = NULL;
    if (st == NPH_OK)
        st = nph_db_select_rows(db, "SELECT uuid FROM migrations WHERE instance_uuid = ? AND "
                                    "status NOT IN ('confirmed', 'reverted')",
                                params, 1, &moves, err);
    for (size_t i = 0; st == NPH_OK && i < json_object_array_length(moves); i++) {
        json_object *m = json_object_array_get_idx(moves, i), *id = NULL;
        json_object_object_get_ex(m, "uuid", &id);
        if (json_object_get_string(id))
            st = release(db, json_object_get_string(id), err);
    }
    if (st != NPH_OK)
        nph_warn("the allocations of %s stay in Placement: %s", uuid, err ? err->message : "");
    return st;
}

nph_status conductor_return_allocations(nph_db *db, const char *migration, const char *uuid,
                                        nph_error *err)
{
    placement_error perr = PLACEMENT_ERROR_INIT;
    struct placement_allocation *held = NULL;
    size_t n = 0;
    nph_auto_json *inst = NULL;
    nph_status st = placement_allocations_of(db, migration, &held, &n, &perr);
    if (st != NPH_OK || n == 0) { /* nothing held: the move never claimed */
        free(held);
        if (st != NPH_OK && err)
            *err = perr.e;
        return st;
    }
    st = nph_db_instance_get(db, uuid, &inst, err);
    if (st == NPH_OK) {
        const char *project = NULL, *user = NULL;
        nph_json_get_string(inst, "project_id", false, &project, NULL);
        nph_json_get_string(inst, "user_id", false, &user, NULL);
        struct placement_consumer c[2] = {
            { .project_id = project, .user_id = user, .generation = PLACEMENT_GENERATION_ANY,
              .allocations = held, .n_allocations = n },
            { .project_id = project, .user_id = user, .generation = PLACEMENT_GENERATION_ANY },
        };
        snprintf(c[0].uuid, sizeof(c[0].uuid), "%s", uuid);
        snprintf(c[1].uuid, sizeof(c[1].uuid), "%s", migration);
        st = placement_allocations_replace(db, c, 2, &perr);
        if (st != NPH_OK && err)
            *err = perr.e;
    }
    free(held);
    return st;
}

nph_status conductor_drop_move_allocations(nph_db *db, const char *migration, nph_error *err)
{
    return release(db, migration, err);
}
