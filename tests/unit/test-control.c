/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control plane in one process, as the all-in-one runs it: SQLite, the
 * in-process bus, a conductor and a compute service with the fake driver.
 * Builds, operations, refusals, "no valid host", power-state sync, delete.
 */
#include "config.h"

#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "compute.h"
#include "conductor.h"
#include "conf.h"
#include "db-objects.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "test-util.h"
#include "uuid.h"

static nph_db *db;
static nph_bus *bus;

static char *boot(int64_t vcpus, int64_t ram_mb, const char *format)
{
    static char uuid[NPH_UUID_STRLEN + 1];
    nph_uuid_generate(uuid);
    nph_auto_json *fields = json_object_new_object();
    json_object *flavor = json_object_new_object();
    nph_json_add_string(flavor, "flavorid", "1");
    nph_json_add_string(flavor, "name", "m1.test");
    nph_json_add_int(flavor, "vcpus", vcpus);
    nph_json_add_int(flavor, "memory_mb", ram_mb);
    nph_json_add_int(flavor, "root_gb", 1);
    nph_json_add_string(fields, "uuid", uuid);
    nph_json_add_string(fields, "display_name", "vm");
    nph_json_add_string(fields, "project_id", "p1");
    nph_json_add_string(fields, "user_id", "u1");
    nph_json_add_string(fields, "image_ref", "img-1");
    nph_json_add_string(fields, "vm_state", "building");
    nph_json_add_string(fields, "task_state", "scheduling");
    nph_json_add_int(fields, "power_state", 0);
    json_object_object_add(fields, "flavor", flavor);
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_instance_create(db, fields, &err) != NPH_OK) {
        printf("# create failed: %s\n", err.message);
        return NULL;
    }
    nph_auto_json *args = json_object_new_object();
    json_object *image = json_object_new_object();
    nph_json_add_string(image, "id", "img-1");
    nph_json_add_string(image, "disk_format", format);
    nph_json_add_string(args, "uuid", uuid);
    json_object_object_add(args, "image", image);
    if (nph_bus_cast(bus, "conductor", "build_instance", args, &err) != NPH_OK) {
        printf("# cast failed: %s\n", err.message);
        return NULL;
    }
    return uuid;
}

/* Wait until the record is `vm_state` with no task; returns the record or NULL. */
static json_object *wait_state(const char *uuid, const char *vm_state)
{
    for (int i = 0; i < 1500; i++) {
        json_object *record = NULL;
        nph_error err = NPH_ERROR_INIT;
        if (nph_db_instance_get(db, uuid, &record, &err) == NPH_ERR_NOT_FOUND &&
            strcmp(vm_state, "deleted") == 0)
            return json_object_new_object();
        const char *vs = NULL, *ts = NULL;
        nph_json_get_string(record, "vm_state", false, &vs, NULL);
        nph_json_get_string(record, "task_state", false, &ts, NULL);
        /* "deleted" means gone from the live records, not just the state. */
        if (vs && strcmp(vs, vm_state) == 0 && !ts && strcmp(vm_state, "deleted") != 0)
            return record;
        json_object_put(record);
        usleep(10000);
    }
    return NULL;
}

/* wait_state() for callers that need only whether it happened. */
static bool reached(const char *uuid, const char *vm_state)
{
    json_object *record = wait_state(uuid, vm_state);
    json_object_put(record);
    return record != NULL;
}

static int64_t power_state_of(json_object *record)
{
    int64_t ps = -1;
    nph_json_get_int(record, "power_state", false, &ps, NULL);
    return ps;
}

static void act(const char *uuid, const char *method, const char *task_state,
                const char *reboot_type)
{
    nph_error err = NPH_ERROR_INIT;
    nph_auto_json *changes = json_object_new_object();
    nph_json_add_string(changes, "task_state", task_state);
    nph_status st = nph_db_instance_update(db, uuid, changes, "none", NULL, &err);
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    if (reboot_type)
        nph_json_add_string(args, "reboot_type", reboot_type);
    if (st == NPH_OK)
        st = nph_bus_cast(bus, "compute.host-a", method, args, &err);
    if (st != NPH_OK)
        printf("# %s failed: %s\n", method, err.message);
}

static void check_op(const char *uuid, const char *method, const char *task_state,
                     const char *reboot_type, const char *vm_state, int64_t power_state)
{
    act(uuid, method, task_state, reboot_type);
    nph_auto_json *record = wait_state(uuid, vm_state);
    ok(record != NULL, "%s%s%s: instance becomes %s", method, reboot_type ? " " : "",
       reboot_type ? reboot_type : "", vm_state);
    is_int(power_state_of(record), power_state, "%s: power state %lld", method,
           (long long)power_state);
}

static int count_rows(const char *sql, const char *uuid)
{
    nph_db_stmt *stmt;
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_prepare(db, sql, &stmt, &err) != NPH_OK)
        return -1;
    nph_db_bind_text(stmt, 1, uuid);
    bool row = false;
    int n = nph_db_step(stmt, &row, &err) == NPH_OK && row ? (int)nph_db_col_int(stmt, 0) : -1;
    nph_db_reset(stmt);
    return n;
}

static char *fault_message(const char *uuid)
{
    nph_db_stmt *stmt;
    nph_error err = NPH_ERROR_INIT;
    static char message[1024];
    message[0] = '\0';
    if (nph_db_prepare(db, "SELECT message FROM instance_faults WHERE instance_uuid = ?", &stmt,
                       &err) != NPH_OK)
        return message;
    nph_db_bind_text(stmt, 1, uuid);
    bool row = false;
    if (nph_db_step(stmt, &row, &err) == NPH_OK && row && nph_db_col_text(stmt, 0))
        snprintf(message, sizeof(message), "%s", nph_db_col_text(stmt, 0));
    nph_db_reset(stmt);
    return message;
}

static void test_lifecycle(void)
{
    char uuid[64];
    char *booted = boot(2, 1024, "qcow2");
    ok(booted != NULL, "boot request accepted");
    if (!booted)
        return;
    snprintf(uuid, sizeof(uuid), "%s", booted);
    nph_auto_json *record = wait_state(uuid, "active");
    ok(record != NULL, "instance becomes active");
    is_int(power_state_of(record), 1, "running");
    const char *host = NULL, *node = NULL;
    nph_json_get_string(record, "host", false, &host, NULL);
    nph_json_get_string(record, "node", false, &node, NULL);
    is_str(host, "host-a", "placed on the compute host");
    like(node, "fake-", "on a fake node");
    ok(count_rows("SELECT COUNT(*) FROM instance_actions_events e JOIN instance_actions a ON "
                  "a.id = e.action_id WHERE a.instance_uuid = ?",
                  uuid) >= 1,
       "the build is recorded as an instance action event");

    check_op(uuid, "stop_instance", "powering-off", NULL, "stopped", 4);
    check_op(uuid, "start_instance", "powering-on", NULL, "active", 1);
    check_op(uuid, "reboot_instance", "rebooting", "SOFT", "active", 1);
    check_op(uuid, "pause_instance", "pausing", NULL, "paused", 3);
    check_op(uuid, "unpause_instance", "unpausing", NULL, "active", 1);
    check_op(uuid, "suspend_instance", "suspending", NULL, "suspended", 7);
    check_op(uuid, "resume_instance", "resuming", NULL, "active", 1);
    check_op(uuid, "stop_instance", "powering-off", NULL, "stopped", 4);
    check_op(uuid, "reboot_instance", "rebooting_hard", "HARD", "active", 1);

    /* The driver refuses: pause a paused guest.  The record keeps its state,
     * loses the task and gains a fault. */
    check_op(uuid, "pause_instance", "pausing", NULL, "paused", 3);
    act(uuid, "pause_instance", "pausing", NULL);
    nph_auto_json *after = wait_state(uuid, "paused");
    ok(after != NULL, "a refused operation clears the task and keeps the state");
    like(fault_message(uuid), "cannot pause instance", "the refusal is recorded as a fault");

    /* Out of band: the database says stopped, the hypervisor says paused. */
    nph_auto_json *changes = json_object_new_object();
    nph_json_add_string(changes, "vm_state", "stopped");
    nph_json_add_int(changes, "power_state", 4);
    nph_error err = NPH_ERROR_INIT;
    is_int(nph_db_instance_update(db, uuid, changes, NULL, NULL, &err), NPH_OK, "skew the record");
    nph_auto_json *synced = wait_state(uuid, "paused");
    ok(synced != NULL, "power sync brings the record back to the hypervisor's state");
    is_int(power_state_of(synced), 3, "paused again after sync");

    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    is_int(nph_bus_cast(bus, "conductor", "delete_instance", args, &err), NPH_OK, "delete");
    ok(reached(uuid, "deleted"), "deleted instance is gone from the live records");
    ok(count_rows("SELECT COUNT(*) FROM instances WHERE uuid = ? AND deleted != 0", uuid) == 1,
       "the record is kept, soft-deleted");
}

static void test_no_valid_host(void)
{
    char *uuid = boot(1000, 1024, "qcow2");
    ok(uuid != NULL, "oversized boot accepted by the bus");
    if (!uuid)
        return;
    nph_auto_json *record = wait_state(uuid, "error");
    ok(record != NULL, "an instance nothing fits goes to error");
    like(fault_message(uuid), "No valid host was found", "with Nova's fault message");
}

static void test_unbootable_format(void)
{
    char *uuid = boot(1, 256, "vmdk");
    ok(uuid != NULL, "vmdk boot accepted by the bus");
    if (!uuid)
        return;
    nph_auto_json *record = wait_state(uuid, "error");
    ok(record != NULL, "an image no node boots goes to error");
    like(fault_message(uuid), "with traits COMPUTE_IMAGE_TYPE_VMDK",
         "the scheduler names the image type no node has (the driver is never asked)");
}

/* A guest whose driver cannot say its power state (get_info always fails,
 * as with vCenter unreachable): the build records the state the spawn
 * reported on its own thread, and the power-state sync leaves the record
 * alone rather than take the failure for "no such guest". */
static void test_blind_driver(void)
{
    char uuid[64];
    char *booted = boot(1, 256, "iso");
    ok(booted != NULL, "a boot on the driver whose get_info fails");
    if (!booted)
        return;
    snprintf(uuid, sizeof(uuid), "%s", booted);
    nph_auto_json *record = wait_state(uuid, "active");
    ok(record != NULL, "it becomes active");
    is_int(power_state_of(record), 1, "running, as the spawn's own event said");
    const char *node = NULL;
    nph_json_get_string(record, "node", false, &node, NULL);
    like(node, "blind-", "on the blind node");
    usleep(2500 * 1000); /* two power-state syncs (interval 1 s) */
    nph_auto_json *later = NULL;
    nph_error err = NPH_ERROR_INIT;
    nph_db_instance_get(db, uuid, &later, &err);
    is_int(power_state_of(later), 1, "the syncs leave its power state");
    const char *vm_state = NULL;
    nph_json_get_string(later, "vm_state", false, &vm_state, NULL);
    is_str(vm_state, "active", "and its vm_state");
}

static void test_bad_task_state(void)
{
    char *booted = boot(1, 256, "raw");
    char uuid[64];
    snprintf(uuid, sizeof(uuid), "%s", booted ? booted : "");
    ok(reached(uuid, "active"), "second instance active");
    /* Cast stop without the API's task state: compute must refuse it. */
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    nph_auto_json *result = NULL;
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_bus_call(bus, "compute.host-a", "stop_instance", args, 5000, &result, &err);
    is_int(st, NPH_ERR_CONFLICT, "stop without the powering-off task state is refused");
    like(err.message, "expected task_state 'powering-off'", "and says why");
    ok(reached(uuid, "active"), "the instance stays active");
    json_object_put(result);
    result = NULL;
    st = nph_bus_call(bus, "compute.host-a", "frobnicate", args, 5000, &result, &err);
    is_int(st, NPH_ERR_INVALID, "an unknown compute method is refused");
    st = nph_bus_call(bus, "conductor", "instance_get", args, 5000, &result, &err);
    is_int(st, NPH_OK, "conductor instance_get over the bus");
    const char *got = NULL;
    nph_json_get_string(result, "uuid", false, &got, NULL);
    is_str(got, uuid, "returns the record");
}

/* instance_update with "event" on instance `uuid` (in task state none),
 * expecting task state `expected`; the call's status. */
static nph_status update_with_event(const char *uuid, const char *expected, const char *rid,
                                    const char *outcome, nph_error *err)
{
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    json_object *changes = json_object_new_object();
    nph_json_add_string(changes, "display_name", "renamed");
    json_object_object_add(args, "changes", changes);
    nph_json_add_string(args, "expected_task_state", expected);
    json_object *event = json_object_new_object();
    nph_json_add_string(event, "action", "rename");
    nph_json_add_string(event, "event", "compute_rename");
    nph_json_add_string(event, "request_id", rid);
    nph_json_add_string(event, "result", outcome);
    json_object_object_add(args, "event", event);
    nph_auto_json *result = NULL;
    return nph_bus_call(bus, "conductor", "instance_update", args, 5000, &result, err);
}

static int events_of(const char *rid, const char *outcome)
{
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM instance_actions_events e JOIN instance_actions a ON "
             "a.id = e.action_id WHERE a.request_id = ? AND e.result %s",
             outcome ? "= 'Error'" : "IS NULL");
    return count_rows(sql, rid);
}

/* The update and its action event commit together; a failed update still
 * records the end of an operation as Error, never its start. */
static void test_update_with_event(void)
{
    char *booted = boot(1, 256, "raw");
    char uuid[64];
    snprintf(uuid, sizeof(uuid), "%s", booted ? booted : "");
    ok(reached(uuid, "active"), "third instance active");
    nph_error err = NPH_ERROR_INIT;
    is_int(update_with_event(uuid, "rebuilding", "req-ev-1", NULL, &err), NPH_ERR_CONFLICT,
           "update with a starting event, wrong task state: refused");
    is_int(events_of("req-ev-1", NULL), 0, "and no event recorded");
    is_int(count_rows("SELECT COUNT(*) FROM instances WHERE uuid = ? AND display_name = 'renamed'",
                      uuid),
           0, "nor the update");
    is_int(update_with_event(uuid, "rebuilding", "req-ev-2", "Success", &err), NPH_ERR_CONFLICT,
           "update with an ending event, wrong task state: refused");
    is_int(events_of("req-ev-2", "Error"), 1, "the event is recorded as Error");
    is_int(update_with_event(uuid, "none", "req-ev-3", NULL, &err), NPH_OK,
           "update with a starting event");
    is_int(count_rows("SELECT COUNT(*) FROM instances WHERE uuid = ? AND display_name = 'renamed'",
                      uuid),
           1, "the update is written");
    is_int(events_of("req-ev-3", NULL), 1, "with its event, started");
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    json_object_object_add(args, "changes", json_object_new_object());
    json_object_object_add(args, "event", json_object_new_string("oops"));
    nph_auto_json *result = NULL;
    is_int(nph_bus_call(bus, "conductor", "instance_update", args, 5000, &result, &err),
           NPH_ERR_INVALID, "an event that is not an object is refused");
}

int main(void)
{
    test_tmpdir_make();
    nph_log_set_level(getenv("NPH_TEST_DEBUG") ? NPH_LOG_DEBUG : NPH_LOG_CRITICAL);
    char db_url[600], text[2048];
    /* SQLite in a temporary directory, or the (fresh) database tests/control-plane.sh gives. */
    const char *given = getenv("NPH_TEST_DB_URL");
    if (given)
        snprintf(db_url, sizeof(db_url), "%s", given);
    else
        snprintf(db_url, sizeof(db_url), "sqlite:///%s/nephele.db", test_tmpdir);
    test_write_file("fake.conf", "[driver]\nmodule = fake\n[options]\nnode_count = 2\nvcpus = 4\n"
                                 "memory_mb = 8192\ndisk_gb = 100\nimage_formats = qcow2,raw\n");
    /* Boots ISO images only; get_info always fails (test_blind_driver). */
    test_write_file("blind.conf", "[driver]\nmodule = fake\n[options]\nnode_count = 1\n"
                                  "node_name_prefix = blind\nvcpus = 4\nmemory_mb = 8192\n"
                                  "disk_gb = 100\nimage_formats = iso\n"
                                  "failure_rate = get_info:1\n");
    snprintf(text, sizeof(text),
             "[DEFAULT]\nhost = host-a\nreport_interval = 1\n[database]\nconnection = %s\n"
             "[compute]\nplugins_dir = %s\nsync_power_state_interval = 1\n",
             db_url, test_tmpdir);
    nph_auto_config *cfg = nph_config_new();
    nph_error err = NPH_ERROR_INIT;
    nph_conductor *conductor = NULL;
    nph_compute *compute = NULL;
    nph_status st = nph_config_load_string(cfg, "test.conf", text, &err);
    if (st == NPH_OK)
        st = nph_db_open(db_url, &db, &err);
    if (st == NPH_OK)
        st = nph_db_sync(db, &err);
    if (st == NPH_OK)
        st = nph_bus_open("inproc://", "test-control", &bus, &err);
    if (st == NPH_OK)
        st = nph_conductor_start(cfg, "test-host", bus, &conductor, &err);
    if (st == NPH_OK)
        st = nph_compute_start(cfg, "host-a", bus, &compute, &err);
    if (st != NPH_OK) {
        printf("Bail out! cannot start the control plane: %s\n", err.message);
        return 99;
    }
    test_lifecycle();
    test_no_valid_host();
    test_unbootable_format();
    test_blind_driver();
    test_bad_task_state();
    test_update_with_event();
    nph_bus_close(bus);
    nph_compute_free(compute);
    nph_conductor_free(conductor);
    nph_db_close(db);
    test_tmpdir_remove();
    return tap_done();
}
