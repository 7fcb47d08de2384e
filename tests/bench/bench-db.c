/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One measurement of the database layer (argument: connection URL, synced
 * schema): instance creates with three state transitions each, as a build
 * makes them, per second.  Prints "creates_per_s N".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "db-objects.h"
#include "error.h"
#include "json.h"
#include "uuid.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static nph_status transition(nph_db *db, const char *uuid, const char *expected,
                             const char *vm_state, const char *task_state, int power,
                             nph_error *err)
{
    nph_auto_json *changes = json_object_new_object();
    if (vm_state)
        nph_json_add_string(changes, "vm_state", vm_state);
    nph_json_add_string(changes, "task_state", task_state);
    if (power >= 0)
        nph_json_add_int(changes, "power_state", power);
    return nph_db_instance_update(db, uuid, changes, expected, NULL, err);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench-db URL COUNT\n");
        return 2;
    }
    long count = atol(argv[2]);
    nph_error err = NPH_ERROR_INIT;
    nph_db *db = NULL;
    if (nph_db_open(argv[1], &db, &err) != NPH_OK || nph_db_sync(db, &err) != NPH_OK) {
        fprintf(stderr, "bench-db: %s\n", err.message);
        return 1;
    }
    json_object *flavor = json_object_new_object();
    nph_json_add_int(flavor, "vcpus", 1);
    nph_json_add_int(flavor, "memory_mb", 512);
    nph_json_add_int(flavor, "root_gb", 1);
    double t0 = now_s();
    for (long i = 0; i < count; i++) {
        char uuid[NPH_UUID_STRLEN + 1];
        nph_uuid_generate(uuid);
        nph_auto_json *fields = json_object_new_object();
        nph_json_add_string(fields, "uuid", uuid);
        nph_json_add_string(fields, "display_name", "bench");
        nph_json_add_string(fields, "project_id", "p");
        nph_json_add_string(fields, "vm_state", "building");
        nph_json_add_string(fields, "task_state", "scheduling");
        json_object_object_add(fields, "flavor", json_object_get(flavor));
        nph_status st = nph_db_instance_create(db, fields, &err);
        if (st == NPH_OK)
            st = transition(db, uuid, "scheduling", NULL, "spawning", -1, &err);
        if (st == NPH_OK)
            st = transition(db, uuid, "spawning", "active", NULL, 1, &err);
        if (st == NPH_OK)
            st = transition(db, uuid, "none", NULL, "powering-off", -1, &err);
        if (st != NPH_OK) {
            fprintf(stderr, "bench-db: %s\n", err.message);
            return 1;
        }
    }
    printf("creates_per_s %.0f\n", (double)count / (now_s() - t0));
    json_object_put(flavor);
    nph_db_close(db);
    return 0;
}
