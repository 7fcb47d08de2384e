/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A client for the control-plane tests, doing what nephele-api will do: write
 * an instance record and cast the build to the conductor; set a task state
 * and cast an operation to the instance's compute host; wait for a state.
 *
 *   nph-test-client --bus URL --db URL boot [--vcpus N] [--ram MB] [--disk GB]
 *                   [--resource-class CUSTOM_X] [--image-format F]
 *   nph-test-client --bus URL --db URL action UUID stop|start|reboot|reboot-hard|
 *                   pause|unpause|suspend|resume|delete
 *   nph-test-client --db URL wait UUID VM_STATE SECONDS
 *   nph-test-client --db URL show UUID
 *   nph-test-client --bus URL call TOPIC METHOD JSON
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "db-objects.h"
#include "db.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "uuid.h"

struct client {
    const char *bus_url, *db_url;
    nph_bus *bus;
    nph_db *db;
    int64_t vcpus, ram_mb, disk_gb;
    const char *resource_class, *image_format;
};

static int fail(const char *what, const nph_error *err)
{
    fprintf(stderr, "nph-test-client: %s: %s\n", what, err->message);
    return 1;
}

static nph_status connect_all(struct client *c, bool need_bus, nph_error *err)
{
    nph_status st = NPH_OK;
    if (c->db_url)
        st = nph_db_open(c->db_url, &c->db, err);
    if (st == NPH_OK && need_bus)
        st = c->bus_url ? nph_bus_open(c->bus_url, "test-client", &c->bus, err)
                        : nph_error_set(err, NPH_ERR_INVALID, "--bus is required");
    if (st == NPH_OK && !c->db)
        st = nph_error_set(err, NPH_ERR_INVALID, "--db is required");
    return st;
}

static int boot(struct client *c)
{
    nph_error err = NPH_ERROR_INIT;
    if (connect_all(c, true, &err) != NPH_OK)
        return fail("connect", &err);
    char uuid[NPH_UUID_STRLEN + 1], rid[64];
    nph_uuid_generate(uuid);
    nph_uuid_generate(rid + 4);
    memcpy(rid, "req-", 4);
    nph_log_set_request_id(rid);
    nph_auto_json *fields = json_object_new_object();
    json_object *flavor = json_object_new_object();
    nph_json_add_string(flavor, "flavorid", "test");
    nph_json_add_string(flavor, "name", "test.flavor");
    nph_json_add_int(flavor, "vcpus", c->vcpus);
    nph_json_add_int(flavor, "memory_mb", c->ram_mb);
    nph_json_add_int(flavor, "root_gb", c->disk_gb);
    json_object *specs = json_object_new_object();
    if (c->resource_class) {
        char key[160];
        snprintf(key, sizeof(key), "resources:%s", c->resource_class);
        nph_json_add_string(specs, key, "1");
    }
    json_object_object_add(flavor, "extra_specs", specs);
    nph_json_add_string(fields, "uuid", uuid);
    nph_json_add_string(fields, "display_name", "test-server");
    nph_json_add_string(fields, "project_id", "test-project");
    nph_json_add_string(fields, "user_id", "test-user");
    nph_json_add_string(fields, "image_ref", "test-image");
    nph_json_add_string(fields, "vm_state", "building");
    nph_json_add_string(fields, "task_state", "scheduling");
    nph_json_add_int(fields, "power_state", 0);
    json_object_object_add(fields, "flavor", flavor);
    nph_auto_json *args = json_object_new_object();
    json_object *image = json_object_new_object();
    nph_json_add_string(image, "id", "test-image");
    nph_json_add_string(image, "disk_format", c->image_format);
    nph_json_add_string(args, "uuid", uuid);
    json_object_object_add(args, "image", image);
    int64_t action_id;
    if (nph_db_instance_create(c->db, fields, &err) != NPH_OK ||
        nph_db_instance_action_start(c->db, uuid, "create", rid, "test-user", "test-project",
                                     &action_id, &err) != NPH_OK ||
        nph_bus_cast(c->bus, "conductor", "build_instance", args, &err) != NPH_OK)
        return fail("boot", &err);
    printf("%s\n", uuid);
    return 0;
}

static const struct {
    const char *name, *method, *task_state, *reboot_type;
} actions[] = {
    { "stop", "stop_instance", "powering-off", NULL },
    { "start", "start_instance", "powering-on", NULL },
    { "reboot", "reboot_instance", "rebooting", "SOFT" },
    { "reboot-hard", "reboot_instance", "rebooting_hard", "HARD" },
    { "pause", "pause_instance", "pausing", NULL },
    { "unpause", "unpause_instance", "unpausing", NULL },
    { "suspend", "suspend_instance", "suspending", NULL },
    { "resume", "resume_instance", "resuming", NULL },
};

static int action(struct client *c, const char *uuid, const char *name)
{
    nph_error err = NPH_ERROR_INIT;
    if (connect_all(c, true, &err) != NPH_OK)
        return fail("connect", &err);
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    if (strcmp(name, "delete") == 0)
        return nph_bus_cast(c->bus, "conductor", "delete_instance", args, &err) == NPH_OK
                   ? 0 : fail("delete", &err);
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        if (strcmp(actions[i].name, name) != 0)
            continue;
        nph_auto_json *changes = json_object_new_object();
        nph_json_add_string(changes, "task_state", actions[i].task_state);
        nph_auto_json *record = NULL;
        if (nph_db_instance_update(c->db, uuid, changes, "none", &record, &err) != NPH_OK)
            return fail(name, &err);
        const char *host = NULL;
        nph_json_get_string(record, "host", false, &host, NULL);
        char topic[300];
        snprintf(topic, sizeof(topic), "compute.%s", host ? host : "");
        if (actions[i].reboot_type)
            nph_json_add_string(args, "reboot_type", actions[i].reboot_type);
        return nph_bus_cast(c->bus, topic, actions[i].method, args, &err) == NPH_OK
                   ? 0 : fail(name, &err);
    }
    fprintf(stderr, "nph-test-client: unknown action '%s'\n", name);
    return 2;
}

/* Poll the record until vm_state matches; "deleted" also matches a soft-deleted record. */
static int wait_for(struct client *c, const char *uuid, const char *want, double seconds)
{
    nph_error err = NPH_ERROR_INIT;
    if (connect_all(c, false, &err) != NPH_OK)
        return fail("connect", &err);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    char last[64] = "?";
    for (;;) {
        nph_auto_json *record = NULL;
        nph_status st = nph_db_instance_get(c->db, uuid, &record, &err);
        if (st == NPH_ERR_NOT_FOUND && strcmp(want, "deleted") == 0)
            return 0;
        const char *vm_state = NULL, *task = NULL;
        nph_json_get_string(record, "vm_state", false, &vm_state, NULL);
        nph_json_get_string(record, "task_state", false, &task, NULL);
        if (st == NPH_OK && vm_state && strcmp(vm_state, want) == 0 && !task &&
            strcmp(want, "deleted") != 0)
            return 0;
        snprintf(last, sizeof(last), "%s/%s", st == NPH_OK && vm_state ? vm_state : "-",
                 task ? task : "none");
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 > seconds)
            break;
        usleep(20000);
    }
    fprintf(stderr, "nph-test-client: instance %s is %s, not %s, after %g s\n", uuid, last, want,
            seconds);
    return 1;
}

static int show(struct client *c, const char *uuid)
{
    nph_error err = NPH_ERROR_INIT;
    nph_auto_json *record = NULL;
    if (connect_all(c, false, &err) != NPH_OK || nph_db_instance_get(c->db, uuid, &record, &err) != NPH_OK)
        return fail("show", &err);
    printf("%s\n", nph_json_text(record));
    return 0;
}

static int call(struct client *c, const char *topic, const char *method, const char *json)
{
    nph_error err = NPH_ERROR_INIT;
    if (!c->bus_url || nph_bus_open(c->bus_url, "test-client", &c->bus, &err) != NPH_OK)
        return fail("connect", c->bus_url ? &err : &(nph_error){ NPH_ERR_INVALID, "--bus is required" });
    nph_auto_json *args = nph_json_parse(json, strlen(json), &err);
    nph_auto_json *result = NULL;
    if (!args || nph_bus_call(c->bus, topic, method, args, 10000, &result, &err) != NPH_OK)
        return fail(method, &err);
    printf("%s\n", result ? nph_json_text(result) : "null");
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "bus", required_argument, NULL, 'b' },  { "db", required_argument, NULL, 'D' },
        { "vcpus", required_argument, NULL, 'c' }, { "ram", required_argument, NULL, 'r' },
        { "disk", required_argument, NULL, 'k' },  { "resource-class", required_argument, NULL, 'R' },
        { "image-format", required_argument, NULL, 'f' }, { NULL, 0, NULL, 0 },
    };
    struct client c = { .vcpus = 1, .ram_mb = 512, .disk_gb = 1, .image_format = "qcow2" };
    int o;
    nph_log_set_level(NPH_LOG_WARNING);
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'b': c.bus_url = optarg; break;
        case 'D': c.db_url = optarg; break;
        case 'c': c.vcpus = atoll(optarg); break;
        case 'r': c.ram_mb = atoll(optarg); break;
        case 'k': c.disk_gb = atoll(optarg); break;
        case 'R': c.resource_class = optarg; break;
        case 'f': c.image_format = optarg; break;
        default: return 2;
        }
    }
    int rest = argc - optind;
    char **a = argv + optind;
    int rc = 2;
    if (rest == 1 && strcmp(a[0], "boot") == 0)
        rc = boot(&c);
    else if (rest == 3 && strcmp(a[0], "action") == 0)
        rc = action(&c, a[1], a[2]);
    else if (rest == 4 && strcmp(a[0], "wait") == 0)
        rc = wait_for(&c, a[1], a[2], atof(a[3]));
    else if (rest == 2 && strcmp(a[0], "show") == 0)
        rc = show(&c, a[1]);
    else if (rest == 4 && strcmp(a[0], "call") == 0)
        rc = call(&c, a[1], a[2], a[3]);
    else
        fprintf(stderr, "nph-test-client: bad usage (see the comment at the top of the source)\n");
    nph_bus_close(c.bus);
    nph_db_close(c.db);
    return rc;
}
