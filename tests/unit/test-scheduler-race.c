/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Two schedulers at once never over-commit a node.  Nodes with room for
 * exactly BOOTS one-vCPU instances (10 vCPUs each at ratio 1.0); two
 * schedulers, each with its own connection and thread, place BOOTS/2
 * instances each at the same time; then one more is refused.  Afterwards
 * every allocation belongs to an instance on that allocation's node and no
 * node uses more than it has.  On SQLite by default (writers take turns);
 * on PostgreSQL with NPH_TEST_DB_URL, where the claims truly race.
 * NPH_RACE_BOOTS sets BOOTS (default 100; tests/control-plane.sh runs 500
 * on PostgreSQL).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"
#include "../test-util.h"
#include "conf.h"
#include "db-objects.h"
#include "json.h"
#include "log.h"
#include "placement.h"
#include "scheduler.h"
#include "uuid.h"

static char url[600];
static long boots = 100;

struct runner {
    nph_scheduler *sched;
    long placed, refused, failed;
    char last_error[NPH_ERROR_MESSAGE_MAX];
};

/* One boot: the instance record, then the decision with its claim. */
static nph_status boot(struct runner *r, nph_db *db, json_object *flavor, nph_error *err)
{
    char uuid[NPH_UUID_STRLEN + 1];
    nph_uuid_generate(uuid);
    nph_auto_json *fields = json_object_new_object();
    nph_json_add_string(fields, "uuid", uuid);
    nph_json_add_string(fields, "project_id", "race");
    nph_json_add_string(fields, "user_id", "racer");
    nph_json_add_string(fields, "vm_state", "building");
    nph_json_add_string(fields, "task_state", "scheduling");
    json_object_object_add(fields, "flavor", json_object_get(flavor));
    nph_status st = nph_db_instance_create(db, fields, err);
    char *host = NULL, *node = NULL;
    struct nph_schedule_request req = { .uuid = uuid, .flavor = flavor,
                                        .claim = nph_scheduler_claim_instance, .opaque = uuid };
    if (st == NPH_OK)
        st = nph_scheduler_select(r->sched, db, &req, &host, &node, err);
    free(host);
    free(node);
    return st;
}

static json_object *tiny_flavor(void)
{
    json_object *flavor = json_object_new_object();
    nph_json_add_string(flavor, "flavorid", "race");
    nph_json_add_int(flavor, "vcpus", 1);
    nph_json_add_int(flavor, "memory_mb", 64);
    nph_json_add_int(flavor, "root_gb", 1);
    return flavor;
}

static void *run(void *arg)
{
    struct runner *r = arg;
    nph_db *db = NULL;
    nph_error err = NPH_ERROR_INIT;
    nph_auto_json *flavor = tiny_flavor();
    if (nph_db_open(url, &db, &err) != NPH_OK) {
        snprintf(r->last_error, sizeof(r->last_error), "%s", err.message);
        r->failed = boots / 2;
        return NULL;
    }
    for (long i = 0; i < boots / 2; i++) {
        nph_error_clear(&err);
        nph_status st = boot(r, db, flavor, &err);
        if (st == NPH_OK) {
            r->placed++;
        } else {
            r->failed++;
            snprintf(r->last_error, sizeof(r->last_error), "%s", err.message);
        }
    }
    nph_db_close(db);
    return NULL;
}

/* BOOTS/10 nodes of 10 vCPUs on 5 hosts, providers made as the conductor does. */
static nph_status add_nodes(nph_db *db, nph_error *err)
{
    nph_status st = NPH_OK;
    const struct placement_ratios ratios = { 1.0, 1.0, 1.0 };
    for (int h = 0; st == NPH_OK && h < 5; h++) {
        char host[32];
        snprintf(host, sizeof(host), "race-%d", h);
        nph_auto_json *nodes = json_object_new_array();
        st = nph_db_service_upsert(db, host, "nephele-compute", "compute", err);
        for (long i = h; st == NPH_OK && i < boots / 10; i += 5) {
            json_object *node = json_object_new_object();
            char name[32];
            snprintf(name, sizeof(name), "race-node-%ld", i);
            nph_json_add_string(node, "hypervisor_hostname", name);
            nph_json_add_string(node, "hypervisor_type", "QEMU");
            nph_json_add_int(node, "vcpus", 10);
            nph_json_add_int(node, "memory_mb", 65536);
            nph_json_add_int(node, "local_gb", 1000);
            json_object_array_add(nodes, node);
            st = nph_db_compute_node_upsert(db, host, node, err);
        }
        placement_error perr = PLACEMENT_ERROR_INIT;
        if (st == NPH_OK && (st = placement_sync_compute_nodes(db, host, nodes, &ratios, &perr)))
            *err = perr.e;
    }
    return st;
}

static int64_t count(nph_db *db, const char *sql)
{
    nph_auto_json *rows = NULL;
    json_object *n = NULL;
    if (nph_db_select_rows(db, sql, NULL, 0, &rows, NULL) != NPH_OK)
        return -1;
    json_object_object_get_ex(json_object_array_get_idx(rows, 0), "n", &n);
    return json_object_get_int64(n);
}

static void check_books(nph_db *db)
{
    is_int(count(db, "SELECT COUNT(*) AS n FROM allocations WHERE resource_class = 'VCPU'"), boots,
           "one VCPU allocation per placed instance");
    is_int(count(db, "SELECT COUNT(*) AS n FROM inventories WHERE resource_class = 'VCPU' AND "
                     "used > total"),
           0, "no node uses more vCPUs than it has");
    is_int(count(db, "SELECT COUNT(*) AS n FROM inventories WHERE resource_class = 'VCPU' AND "
                     "used <> total"),
           0, "and every node is exactly full");
    is_int(count(db, "SELECT COUNT(*) AS n FROM allocations a JOIN resource_providers rp ON rp.id = "
                     "a.provider_id LEFT JOIN instances i ON i.uuid = a.consumer_uuid AND "
                     "i.deleted = 0 AND i.node = rp.name WHERE i.id IS NULL"),
           0, "every allocation is an instance's, on the node the instance records");
    is_int(count(db, "SELECT COUNT(*) AS n FROM inventories inv WHERE inv.resource_class = 'VCPU' "
                     "AND inv.used <> (SELECT COALESCE(SUM(a.used), 0) FROM allocations a WHERE "
                     "a.provider_id = inv.provider_id AND a.resource_class = 'VCPU')"),
           0, "each node's usage is the sum of its allocations");
}

int main(void)
{
    nph_log_set_level(getenv("NPH_TEST_DEBUG") ? NPH_LOG_DEBUG : NPH_LOG_CRITICAL);
    if (getenv("NPH_RACE_BOOTS"))
        boots = atol(getenv("NPH_RACE_BOOTS"));
    boots -= boots % 10;
    test_tmpdir_make();
    const char *given = getenv("NPH_TEST_DB_URL");
    if (given)
        snprintf(url, sizeof(url), "%s", given);
    else
        snprintf(url, sizeof(url), "sqlite:///%s/nephele.db", test_tmpdir);
    nph_error err = NPH_ERROR_INIT;
    nph_db *db = NULL;
    if (nph_db_open(url, &db, &err) != NPH_OK || nph_db_sync(db, &err) != NPH_OK ||
        add_nodes(db, &err) != NPH_OK) {
        printf("Bail out! %s\n", err.message);
        return 99;
    }
    char conf[700];
    snprintf(conf, sizeof(conf), "[database]\nconnection = %s\n[scheduler]\nhost_state_refresh_ms = 200\n",
             url);
    nph_auto_config *cfg = nph_config_new();
    nph_config_load_string(cfg, "race.conf", conf, &err);
    struct runner runners[2] = { 0 };
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        if (nph_scheduler_new(cfg, &runners[i].sched, &err) != NPH_OK) {
            printf("Bail out! %s\n", err.message);
            return 99;
        }
    }
    for (int i = 0; i < 2; i++)
        pthread_create(&threads[i], NULL, run, &runners[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    printf("# scheduler A placed %ld, scheduler B %ld\n", runners[0].placed, runners[1].placed);
    is_int(runners[0].placed + runners[1].placed, boots, "two schedulers placed every boot");
    if (runners[0].failed + runners[1].failed)
        printf("# last errors: '%s' / '%s'\n", runners[0].last_error, runners[1].last_error);
    ok(runners[0].placed > 0 && runners[1].placed > 0, "both schedulers took part");
    nph_auto_json *flavor = tiny_flavor();
    nph_error_clear(&err);
    is_int(boot(&runners[0], db, flavor, &err), NPH_ERR_NOT_FOUND, "one more finds no valid host");
    like(err.message, "No valid host was found", "with Nova's message");
    like(err.message, "ResourcesFilter left no node", "naming the filter that refused the last");
    check_books(db);
    for (int i = 0; i < 2; i++)
        nph_scheduler_free(runners[i].sched);
    nph_db_close(db);
    test_tmpdir_remove();
    printf("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}
