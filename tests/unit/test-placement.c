/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The placement library on a fresh database (SQLite in a temporary
 * directory, or the PostgreSQL database tests/control-plane.sh gives in
 * NPH_TEST_DB_URL): providers, inventories, traits, aggregates, the
 * allocation-candidates query with each filter, allocations with their
 * capacity and generation checks, and compute nodes synced as providers.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db-objects.h"
#include "json.h"
#include "log.h"
#include "placement.h"
#include "test-util.h"

static nph_db *db;
static char cn1[NPH_UUID_STRLEN + 1], cn2[NPH_UUID_STRLEN + 1], cn3[NPH_UUID_STRLEN + 1];
static const char agg[] = "aaaaaaaa-0000-4000-8000-000000000001";

static void make_provider(const char *name, char *uuid)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    nph_auto_json *rp = NULL;
    nph_status st = placement_provider_create(db, NULL, name, NULL, &rp, &err);
    ok(st == NPH_OK, "create provider %s", name);
    json_object *id = NULL;
    json_object_object_get_ex(rp, "uuid", &id);
    snprintf(uuid, NPH_UUID_STRLEN + 1, "%s", json_object_get_string(id));
}

static int64_t generation_of(const char *uuid)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    nph_auto_json *rp = NULL;
    json_object *gen = NULL;
    placement_provider_get(db, uuid, &rp, &err);
    json_object_object_get_ex(rp, "generation", &gen);
    return json_object_get_int64(gen);
}

static void set_inventory(const char *uuid, int64_t vcpus, double ratio, int64_t max_unit,
                          int64_t memory_mb)
{
    struct placement_inventory inv[2];
    placement_inventory_defaults(&inv[0], "VCPU");
    inv[0].total = vcpus;
    inv[0].allocation_ratio = ratio;
    inv[0].max_unit = max_unit;
    placement_inventory_defaults(&inv[1], "MEMORY_MB");
    inv[1].total = memory_mb;
    placement_error err = PLACEMENT_ERROR_INIT;
    nph_auto_json *out = NULL;
    nph_status st = placement_inventories_set(db, uuid, generation_of(uuid), inv, 2, false, &out, &err);
    ok(st == NPH_OK, "set inventory of %s", uuid);
    if (st != NPH_OK)
        printf("#   %s\n", err.e.message);
}

static void test_providers(void)
{
    make_provider("cn1", cn1);
    make_provider("cn2", cn2);
    make_provider("cn3", cn3);
    placement_error err = PLACEMENT_ERROR_INIT;
    nph_auto_json *dup = NULL;
    is_int(placement_provider_create(db, NULL, "cn1", NULL, &dup, &err), NPH_ERR_CONFLICT,
           "a taken name is a conflict");
    is_str(err.code, PLACEMENT_E_DUPLICATE_NAME, "placement.duplicate_name");
    set_inventory(cn1, 8, 2.0, 8, 1024);  /* VCPU capacity 16 */
    set_inventory(cn2, 4, 1.0, 4, 4096);  /* capacity 4 */
    set_inventory(cn3, 16, 1.0, 4, 512);  /* capacity 16, at most 4 at once */
    struct placement_inventory inv;
    placement_inventory_defaults(&inv, "VCPU");
    inv.total = 2;
    nph_auto_json *out = NULL;
    is_int(placement_inventories_set(db, cn1, 0, &inv, 1, false, &out, &err), NPH_ERR_CONFLICT,
           "a stale generation is a conflict");
    is_str(err.code, PLACEMENT_E_CONCURRENT_UPDATE, "placement.concurrent_update");
    bool created = false;
    is_int(placement_trait_create(db, "CUSTOM_SSD", &created, &err), NPH_OK, "trait create");
    ok(created, "a new trait");
    nph_auto_json *traits = json_object_new_array(), *aggs = json_object_new_array();
    json_object_array_add(traits, json_object_new_string("CUSTOM_SSD"));
    nph_auto_json *t1 = NULL, *a1 = NULL, *a2 = NULL;
    is_int(placement_provider_traits_set(db, cn2, generation_of(cn2), traits, &t1, &err), NPH_OK,
           "cn2 gets CUSTOM_SSD");
    json_object_array_add(aggs, json_object_new_string(agg));
    placement_aggregates_set(db, cn1, -1, aggs, &a1, &err);
    is_int(placement_aggregates_set(db, cn2, -1, aggs, &a2, &err), NPH_OK, "cn1 and cn2 in agg");
    nph_auto_json *bad = json_object_new_array(), *t2 = NULL;
    json_object_array_add(bad, json_object_new_string("CUSTOM_NOPE"));
    is_int(placement_provider_traits_set(db, cn3, -1, bad, &t2, &err), NPH_ERR_INVALID,
           "an unknown trait is refused");
}

/* The candidates of `resources` (plus `extra` filters), as "cn1,cn3". */
static const char *candidates(const char *resources, const char *required, const char *member_of,
                              int64_t limit)
{
    static char names[200];
    struct placement_query *q = calloc(1, sizeof(*q));
    placement_error err = PLACEMENT_ERROR_INIT;
    nph_status st = placement_query_add_resources(q, resources, &err);
    if (st == NPH_OK && required)
        st = placement_query_add_traits(q, required, true, false, &err);
    if (st == NPH_OK && member_of)
        st = placement_query_add_member_of(q, member_of, true, &err);
    q->limit = limit;
    nph_auto_json *out = NULL;
    if (st == NPH_OK)
        st = placement_query_check(db, q, &err);
    if (st == NPH_OK)
        st = placement_candidates(db, q, &out, &err);
    free(q);
    if (st != NPH_OK) {
        snprintf(names, sizeof(names), "error: %s", err.e.message);
        return names;
    }
    names[0] = '\0';
    json_object *summaries = NULL;
    json_object_object_get_ex(out, "provider_summaries", &summaries);
    const char *const uuids[] = { cn1, cn2, cn3 };
    for (int i = 0; i < 3; i++)
        if (json_object_object_get_ex(summaries, uuids[i], NULL))
            snprintf(names + strlen(names), sizeof(names) - strlen(names), "%scn%d",
                     names[0] ? "," : "", i + 1);
    return names;
}

/* GET /resource_providers with filters: the names, as "cn1,cn2". */
static const char *listed(const char *name, const char *resources, const char *in_tree)
{
    static char names[200];
    struct placement_query *q = calloc(1, sizeof(*q));
    placement_error err = PLACEMENT_ERROR_INIT;
    q->name = name;
    q->in_tree = in_tree;
    if (resources)
        placement_query_add_resources(q, resources, &err);
    nph_auto_json *list = NULL;
    nph_status st = placement_provider_list(db, q, &list, &err);
    free(q);
    names[0] = '\0';
    if (st != NPH_OK)
        snprintf(names, sizeof(names), "error: %s", err.e.message);
    for (size_t i = 0; st == NPH_OK && i < json_object_array_length(list); i++) {
        json_object *n = NULL;
        json_object_object_get_ex(json_object_array_get_idx(list, i), "name", &n);
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? "," : "",
                 json_object_get_string(n));
    }
    return names;
}

static void test_list(void)
{
    is_str(listed(NULL, NULL, NULL), "cn1,cn2,cn3", "every provider");
    is_str(listed("cn2", NULL, NULL), "cn2", "by name");
    is_str(listed(NULL, "VCPU:8", NULL), "cn1", "with room for 8 VCPU (cn3 takes 4 at most)");
    is_str(listed(NULL, NULL, cn3), "cn3", "in_tree");
    placement_error err = PLACEMENT_ERROR_INIT;
    char child[NPH_UUID_STRLEN + 1];
    nph_auto_json *rp = NULL;
    is_int(placement_provider_create(db, NULL, "cn3-numa0", cn3, &rp, &err), NPH_OK,
           "a child of cn3");
    json_object *id = NULL;
    json_object_object_get_ex(rp, "uuid", &id);
    snprintf(child, sizeof(child), "%s", json_object_get_string(id));
    is_str(listed(NULL, NULL, child), "cn3,cn3-numa0", "in_tree of the child is the whole tree");
    is_int(placement_provider_delete(db, cn3, &err), NPH_ERR_CONFLICT, "a parent cannot go");
    is_str(err.code, PLACEMENT_E_CANNOT_DELETE_PARENT, "placement.resource_provider.cannot_delete_parent");
    is_int(placement_provider_delete(db, child, &err), NPH_OK, "the child can");
}

static void test_candidates(void)
{
    is_str(candidates("VCPU:2,MEMORY_MB:512", NULL, NULL, 0), "cn1,cn2,cn3", "all three fit");
    is_str(candidates("VCPU:2", "CUSTOM_SSD", NULL, 0), "cn2", "required trait");
    is_str(candidates("VCPU:2", "!CUSTOM_SSD", NULL, 0), "cn1,cn3", "forbidden trait");
    is_str(candidates("VCPU:2", NULL, agg, 0), "cn1,cn2", "member_of");
    is_str(candidates("VCPU:2", NULL, "!aaaaaaaa-0000-4000-8000-000000000001", 0), "cn3",
           "forbidden aggregate");
    is_str(candidates("VCPU:5", NULL, NULL, 0), "cn1", "capacity and max_unit");
    is_str(candidates("MEMORY_MB:2048", NULL, NULL, 0), "cn2", "memory");
    ok(strlen(candidates("VCPU:1", NULL, NULL, 1)) == 3, "limit 1 gives one");
    like(candidates("VCPU:1,DISK_GB:1", NULL, NULL, 0), "", "a class nobody has gives none");
    is_str(candidates("CUSTOM_NOPE:1", NULL, NULL, 0), "error: No such resource class CUSTOM_NOPE.",
           "an unknown class is an error");
    is_str(candidates("VCPU:x", NULL, NULL, 0),
           "error: Requested resource VCPU expected positive integer amount. Got: x.",
           "a bad amount is an error");
}

static nph_status allocate(const char *consumer, int64_t generation, const char *rp, int64_t vcpus,
                           placement_error *err)
{
    struct placement_allocation a = { .used = vcpus };
    snprintf(a.provider_uuid, sizeof(a.provider_uuid), "%s", rp);
    snprintf(a.resource_class, sizeof(a.resource_class), "VCPU");
    struct placement_consumer c = { .project_id = "p1", .user_id = "u1", .generation = generation,
                                    .allocations = &a, .n_allocations = vcpus ? 1 : 0 };
    snprintf(c.uuid, sizeof(c.uuid), "%s", consumer);
    return placement_allocations_replace(db, &c, 1, err);
}

static int64_t used_of(const char *rp)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    nph_auto_json *out = NULL;
    json_object *usages = NULL, *vcpu = NULL;
    placement_provider_usages(db, rp, &out, &err);
    json_object_object_get_ex(out, "usages", &usages);
    json_object_object_get_ex(usages, "VCPU", &vcpu);
    return json_object_get_int64(vcpu);
}

static void test_allocations(void)
{
    const char *c1 = "cccccccc-0000-4000-8000-000000000001";
    placement_error err = PLACEMENT_ERROR_INIT;
    int64_t gen = generation_of(cn1);
    is_int(allocate(c1, PLACEMENT_GENERATION_NEW, cn1, 8, &err), NPH_OK, "claim 8 VCPU on cn1");
    is_int(generation_of(cn1), gen + 1, "the provider's generation moves on");
    is_int(used_of(cn1), 8, "cn1 uses 8");
    is_str(candidates("VCPU:8", NULL, NULL, 0), "cn1", "cn1 has room for 8 more (capacity 16)");
    is_str(candidates("VCPU:9", NULL, NULL, 0), "", "but not for 9");
    is_int(allocate(c1, PLACEMENT_GENERATION_NEW, cn1, 2, &err), NPH_ERR_CONFLICT,
           "consumer generation null for an existing consumer is a conflict");
    is_str(err.code, PLACEMENT_E_CONCURRENT_UPDATE, "placement.concurrent_update");
    is_int(allocate(c1, 1, cn1, 16, &err), NPH_ERR_CONFLICT, "16 more than max_unit 8");
    const char *c2 = "cccccccc-0000-4000-8000-000000000002";
    struct placement_inventory big;
    placement_inventory_defaults(&big, "VCPU");
    big.total = 8;
    big.allocation_ratio = 2.0;
    nph_auto_json *out = NULL;
    placement_inventory_put(db, cn1, generation_of(cn1), &big, false, false, &out, &err);
    is_int(allocate(c2, PLACEMENT_GENERATION_NEW, cn1, 8, &err), NPH_OK, "another 8: exactly full");
    const char *c3 = "cccccccc-0000-4000-8000-000000000003";
    is_int(allocate(c3, PLACEMENT_GENERATION_NEW, cn1, 1, &err), NPH_ERR_CONFLICT,
           "one more exceeds the capacity");
    like(err.e.message, "would exceed the capacity", "saying so");
    is_int(used_of(cn1), 16, "and nothing of it stays");
    is_int(allocate(c1, 1, cn3, 4, &err), NPH_OK, "c1 moves to cn3 with its generation");
    is_int(used_of(cn1), 8, "cn1 gave back c1's 8");
    is_int(placement_inventory_delete(db, cn3, "VCPU", &err), NPH_ERR_CONFLICT,
           "inventory in use cannot go");
    is_str(err.code, PLACEMENT_E_INVENTORY_INUSE, "placement.inventory.inuse");
    is_int(placement_provider_delete(db, cn3, &err), NPH_ERR_CONFLICT, "nor its provider");
    is_str(err.code, PLACEMENT_E_PROVIDER_INUSE, "placement.resource_provider.inuse");
    nph_auto_json *usages = NULL;
    placement_project_usages(db, "p1", NULL, &usages, &err);
    is_str(nph_json_text(usages), "{\"usages\":{\"VCPU\":12}}", "project usages");
    is_int(placement_allocations_delete(db, c1, &err), NPH_OK, "delete c1's allocations");
    is_int(placement_allocations_delete(db, c1, &err), NPH_ERR_NOT_FOUND, "twice is not found");
    is_int(allocate(c2, 1, cn1, 0, &err), NPH_OK, "an empty replace removes c2's");
    is_int(used_of(cn1) + used_of(cn3), 0, "nothing is used any more");
}

/* A compute host's report, as the conductor passes it on. */
static json_object *node_report(const char *name, const char *resource_class)
{
    json_object *n = json_object_new_object();
    nph_json_add_string(n, "hypervisor_hostname", name);
    nph_json_add_int(n, "vcpus", 8);
    nph_json_add_int(n, "memory_mb", 16384);
    nph_json_add_int(n, "local_gb", 100);
    nph_json_add_string(n, "resource_class", resource_class);
    json_object *caps = json_object_new_array(), *formats = json_object_new_array();
    json_object_array_add(caps, json_object_new_string("multiattach"));
    json_object_array_add(caps, json_object_new_string("snapshot"));
    json_object_array_add(formats, json_object_new_string("qcow2"));
    json_object_object_add(n, "capabilities", caps);
    json_object_object_add(n, "image_formats", formats);
    return n;
}

static nph_status sync_host(json_object *nodes, placement_error *err)
{
    struct placement_ratios ratios = { 16.0, 1.5, 1.0 };
    return placement_sync_compute_nodes(db, "h1", nodes, &ratios, err);
}

static bool has_trait(const char *rp, const char *trait)
{
    placement_error err = PLACEMENT_ERROR_INIT;
    nph_auto_json *out = NULL;
    placement_provider_traits_get(db, rp, &out, &err);
    return strstr(nph_json_text(out), trait) != NULL;
}

static void test_compute_nodes(void)
{
    nph_auto_json *nodes = json_object_new_array();
    json_object_array_add(nodes, node_report("n1", NULL));
    json_object_array_add(nodes, node_report("bm1", "baremetal.gold"));
    nph_error e = NPH_ERROR_INIT;
    for (size_t i = 0; i < 2; i++) {
        nph_auto_json *cols = json_object_new_object();
        json_object *n = json_object_array_get_idx(nodes, i), *v;
        json_object_object_get_ex(n, "hypervisor_hostname", &v);
        nph_json_add_string(cols, "hypervisor_hostname", json_object_get_string(v));
        nph_json_add_int(cols, "vcpus", 8);
        nph_db_compute_node_upsert(db, "h1", cols, &e);
    }
    placement_error err = PLACEMENT_ERROR_INIT;
    is_int(sync_host(nodes, &err), NPH_OK, "sync two compute nodes");
    nph_auto_json *rows = NULL;
    const char *params[] = { "n1" };
    nph_db_select_rows(db, "SELECT uuid FROM compute_nodes WHERE hypervisor_hostname = ?", params, 1,
                       &rows, &e);
    json_object *uuid_obj = NULL;
    json_object_object_get_ex(json_object_array_get_idx(rows, 0), "uuid", &uuid_obj);
    const char *n1 = json_object_get_string(uuid_obj);
    nph_auto_json *inv = NULL;
    is_int(placement_inventories_get(db, n1, &inv, &err), NPH_OK,
           "the provider has the compute node's uuid");
    like(nph_json_text(inv), "\"VCPU\":{\"total\":8,\"reserved\":0,\"min_unit\":1,\"max_unit\":8,"
                             "\"step_size\":1,\"allocation_ratio\":16",
         "VCPU with the cpu allocation ratio");
    like(nph_json_text(inv), "\"DISK_GB\":{\"total\":100", "and DISK_GB");
    ok(has_trait(n1, "COMPUTE_NODE") && has_trait(n1, "COMPUTE_IMAGE_TYPE_QCOW2") &&
           has_trait(n1, "COMPUTE_VOLUME_MULTI_ATTACH") && !has_trait(n1, "COMPUTE_IMAGE_TYPE_RAW"),
       "traits from the capabilities and image formats");
    struct placement_query q = { 0 };
    placement_query_add_resources(&q, "CUSTOM_BAREMETAL_GOLD:1", &err);
    nph_auto_json *bm = NULL;
    placement_candidates(db, &q, &bm, &err);
    like(nph_json_text(bm), "{\"resources\":{\"CUSTOM_BAREMETAL_GOLD\":{\"capacity\":1,\"used\":0}}",
         "a baremetal node offers one unit of its class, nothing else");
    bool created = false;
    placement_trait_create(db, "CUSTOM_OPERATOR", &created, &err);
    nph_auto_json *mine = json_object_new_array(), *out = NULL;
    json_object_array_add(mine, json_object_new_string("CUSTOM_OPERATOR"));
    placement_provider_traits_set(db, n1, -1, mine, &out, &err);
    int64_t gen = generation_of(n1);
    is_int(sync_host(nodes, &err), NPH_OK, "sync again");
    ok(has_trait(n1, "CUSTOM_OPERATOR") && has_trait(n1, "COMPUTE_NODE"),
       "an operator's trait stays, the managed ones come back");
    int64_t again = generation_of(n1);
    is_int(sync_host(nodes, &err), NPH_OK, "and again, nothing changed");
    is_int(generation_of(n1), again, "so the generation stays");
    ok(again == gen + 1, "the first re-sync bumped it once");
    nph_db_service_upsert(db, "h1", "nephele-compute", "compute", &e);
    nph_db_execute(db, "UPDATE services SET disabled = 1 WHERE host = 'h1'", NULL, 0, NULL, &e);
    sync_host(nodes, &err);
    ok(has_trait(n1, "COMPUTE_STATUS_DISABLED"), "a disabled service: COMPUTE_STATUS_DISABLED");
}

int main(void)
{
    nph_log_set_level(getenv("NPH_TEST_DEBUG") ? NPH_LOG_DEBUG : NPH_LOG_CRITICAL);
    test_tmpdir_make();
    char url[600];
    const char *given = getenv("NPH_TEST_DB_URL");
    if (given)
        snprintf(url, sizeof(url), "%s", given);
    else
        snprintf(url, sizeof(url), "sqlite:///%s/nephele.db", test_tmpdir);
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_open(url, &db, &err) != NPH_OK || nph_db_sync(db, &err) != NPH_OK) {
        printf("Bail out! %s\n", err.message);
        return 99;
    }
    test_providers();
    test_list();
    test_candidates();
    test_allocations();
    test_compute_nodes();
    nph_db_close(db);
    test_tmpdir_remove();
    return tap_done();
}
