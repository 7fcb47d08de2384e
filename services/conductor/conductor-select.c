/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * "First node with room": the host choice the scheduler will take over.  In
 * one transaction it sums what the instances on each node use, walks the
 * nodes of up and enabled compute services in order, and claims the first
 * that fits by setting the instance's host and node.  The write lock of the
 * transaction makes two conductors' choices serial, so they never
 * over-commit a node.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conductor-internal.h"
#include "db-objects.h"
#include "error.h"
#include "json.h"
#include "log.h"

NPH_LOG_INIT("conductor.select");

struct request {
    int64_t vcpus, memory_mb, disk_gb;
    const char *resource_class; /* from extra spec resources:CUSTOM_X=1, or NULL */
};

struct usage {
    int64_t vcpus, memory_mb, disk_gb, instances;
};

static int64_t member_int(json_object *obj, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(obj, key, &v) ? json_object_get_int64(v) : 0;
}

/* What a flavor asks for. */
static void read_request(json_object *flavor, struct request *r)
{
    r->vcpus = member_int(flavor, "vcpus");
    r->memory_mb = member_int(flavor, "memory_mb");
    r->disk_gb = member_int(flavor, "root_gb") + member_int(flavor, "ephemeral_gb");
    r->resource_class = NULL;
    json_object *specs;
    if (!json_object_object_get_ex(flavor, "extra_specs", &specs) ||
        !json_object_is_type(specs, json_type_object))
        return;
    json_object_object_foreach(specs, key, val) {
        if (strncmp(key, "resources:CUSTOM_", 17) == 0 && json_object_get_int(val) >= 1)
            r->resource_class = key + 10;
    }
}

static void usage_key(char *buf, size_t len, const char *host, const char *node)
{
    snprintf(buf, len, "%s\n%s", host ? host : "", node ? node : "");
}

/* Sum the flavors of the instances on every node, keyed "host\nnode". */
static nph_status sum_usage(nph_db *db, json_object *usage_by_node, nph_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = nph_db_prepare(db,
                                   "SELECT host, node, flavor FROM instances WHERE deleted = 0 "
                                   "AND host IS NOT NULL AND node IS NOT NULL",
                                   &stmt, err);
    bool row = false;
    while (st == NPH_OK && (st = nph_db_step(stmt, &row, err)) == NPH_OK && row) {
        char key[512];
        usage_key(key, sizeof(key), nph_db_col_text(stmt, 0), nph_db_col_text(stmt, 1));
        const char *text = nph_db_col_text(stmt, 2);
        nph_auto_json *flavor = text ? nph_json_parse(text, strlen(text), NULL) : NULL;
        struct request r = { 0 };
        if (flavor)
            read_request(flavor, &r);
        json_object *u;
        if (!json_object_object_get_ex(usage_by_node, key, &u)) {
            u = json_object_new_array_ext(4);
            for (int i = 0; i < 4; i++)
                json_object_array_add(u, json_object_new_int64(0));
            json_object_object_add(usage_by_node, key, u);
        }
        int64_t add[4] = { r.vcpus, r.memory_mb, r.disk_gb, 1 };
        for (size_t i = 0; i < 4; i++) {
            json_object *slot = json_object_array_get_idx(u, i);
            json_object_set_int64(slot, json_object_get_int64(slot) + add[i]);
        }
    }
    if (stmt)
        nph_db_reset(stmt);
    return st;
}

static struct usage usage_of(json_object *usage_by_node, const char *host, const char *node)
{
    char key[512];
    usage_key(key, sizeof(key), host, node);
    json_object *u;
    struct usage out = { 0 };
    if (json_object_object_get_ex(usage_by_node, key, &u)) {
        out.vcpus = json_object_get_int64(json_object_array_get_idx(u, 0));
        out.memory_mb = json_object_get_int64(json_object_array_get_idx(u, 1));
        out.disk_gb = json_object_get_int64(json_object_array_get_idx(u, 2));
        out.instances = json_object_get_int64(json_object_array_get_idx(u, 3));
    }
    return out;
}

static bool fits(const nph_conductor *c, const struct request *r, nph_db_stmt *node,
                 const struct usage *used)
{
    const char *rc = nph_db_col_text(node, 5);
    bool baremetal_node = rc && *rc;
    if (r->resource_class || baremetal_node)
        /* A baremetal flavor takes a whole node of its class; a VM flavor never lands there. */
        return r->resource_class && baremetal_node && strcmp(rc, r->resource_class) == 0 &&
               used->instances == 0;
    return r->vcpus <= (int64_t)((double)nph_db_col_int(node, 2) * c->cpu_ratio) - used->vcpus &&
           r->memory_mb <= (int64_t)((double)nph_db_col_int(node, 3) * c->ram_ratio) - used->memory_mb &&
           r->disk_gb <= (int64_t)((double)nph_db_col_int(node, 4) * c->disk_ratio) - used->disk_gb;
}

/* The oldest heartbeat that still counts as up, in the database's format. */
static void up_threshold(const nph_conductor *c, char out[32])
{
    time_t t = time(NULL) - (time_t)c->service_down_time_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
}

static nph_status pick(nph_conductor *c, nph_db *db, const struct request *r,
                       const struct placement_rules *rules, bool with_soft,
                       json_object *usage_by_node, char **host, char **node, nph_error *err)
{
    char since[32];
    up_threshold(c, since);
    nph_db_stmt *stmt;
    nph_status st = nph_db_prepare(
        db,
        "SELECT cn.host, cn.hypervisor_hostname, cn.vcpus, cn.memory_mb, cn.local_gb, "
        "cn.resource_class FROM compute_nodes cn JOIN services s ON s.host = cn.host "
        "AND s.\"binary\" = 'nephele-compute' AND s.deleted = 0 AND s.disabled = 0 "
        "AND s.forced_down = 0 AND s.last_seen_up >= ? WHERE cn.deleted = 0 ORDER BY cn.id",
        &stmt, err);
    if (st != NPH_OK)
        return st;
    nph_db_bind_text(stmt, 1, since);
    bool row = false;
    while ((st = nph_db_step(stmt, &row, err)) == NPH_OK && row) {
        struct usage used = usage_of(usage_by_node, nph_db_col_text(stmt, 0),
                                     nph_db_col_text(stmt, 1));
        if (fits(c, r, stmt, &used) &&
            conductor_rules_allow(c, rules, nph_db_col_text(stmt, 0), with_soft)) {
            *host = strdup(nph_db_col_text(stmt, 0));
            *node = strdup(nph_db_col_text(stmt, 1));
            break;
        }
    }
    nph_db_reset(stmt);
    if (st == NPH_OK && !*host)
        st = nph_error_set(err, NPH_ERR_NOT_FOUND,
                           "No valid host was found. There are not enough hosts available: no "
                           "node of an up, enabled compute service in zone %s%s%s%s has room "
                           "for %lld vCPUs, %lld MiB RAM and %lld GiB disk%s%s",
                           rules->zone, rules->policy ? " (and allowed by the server group's " : "",
                           rules->policy ? rules->policy : "", rules->policy ? " policy)" : "",
                           (long long)r->vcpus,
                           (long long)r->memory_mb, (long long)r->disk_gb,
                           r->resource_class ? " of resource class " : "",
                           r->resource_class ? r->resource_class : "");
    return st;
}

static nph_status claim(nph_db *db, const char *uuid, const char *host, const char *node,
                        nph_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = nph_db_prepare(db,
                                   "UPDATE instances SET host = ?, node = ? WHERE uuid = ? AND "
                                   "deleted = 0 AND task_state = 'scheduling'",
                                   &stmt, err);
    if (st != NPH_OK)
        return st;
    nph_db_bind_text(stmt, 1, host);
    nph_db_bind_text(stmt, 2, node);
    nph_db_bind_text(stmt, 3, uuid);
    bool row;
    st = nph_db_step(stmt, &row, err);
    if (st == NPH_OK && nph_db_changes(stmt) != 1)
        st = nph_error_set(err, NPH_ERR_CONFLICT,
                           "instance %s is no longer waiting to be scheduled", uuid);
    nph_db_reset(stmt);
    return st;
}

/* In the caller's transaction: lock out other choosers, then the first node
 * with room for `flavor` that the instance's rules allow. */
static nph_status choose(nph_conductor *c, nph_db *db, const char *uuid, json_object *flavor,
                         const char *avoid_host, char **host, char **node, nph_error *err)
{
    struct request r;
    read_request(flavor, &r);
    *host = *node = NULL;
    nph_auto_json *usage_by_node = json_object_new_object();
    nph_status st = NPH_OK;
    /* SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL needs a lock. */
    if (nph_db_backend_of(db) == NPH_DB_POSTGRESQL)
        st = nph_db_exec(db, "SELECT pg_advisory_xact_lock(7468657)", err);
    if (st == NPH_OK)
        st = sum_usage(db, usage_by_node, err);
    struct placement_rules rules = { 0 };
    if (st == NPH_OK)
        st = conductor_rules_load(c, db, uuid, &rules, err);
    rules.avoid_host = avoid_host;
    if (st == NPH_OK)
        st = pick(c, db, &r, &rules, true, usage_by_node, host, node, err);
    if (st == NPH_ERR_NOT_FOUND && rules.policy && strncmp(rules.policy, "soft-", 5) == 0) {
        nph_error_clear(err); /* a soft policy yields rather than fail */
        st = pick(c, db, &r, &rules, false, usage_by_node, host, node, err);
    }
    conductor_rules_clear(&rules);
    return st;
}

/* Commit, or roll back and forget the choice. */
static nph_status finish(nph_db *db, nph_status st, char **host, char **node, nph_error *err)
{
    if (st == NPH_OK)
        st = nph_db_commit(db, err);
    if (st == NPH_OK)
        return NPH_OK;
    nph_db_rollback(db);
    free(*host);
    free(*node);
    *host = *node = NULL;
    return st;
}

nph_status conductor_select_and_claim(nph_conductor *c, nph_db *db, const char *uuid,
                                      json_object *flavor, char **host, char **node,
                                      nph_error *err)
{
    *host = *node = NULL;
    nph_status st = nph_db_begin(db, err);
    if (st != NPH_OK)
        return st;
    st = choose(c, db, uuid, flavor, NULL, host, node, err);
    if (st == NPH_OK)
        st = claim(db, uuid, *host, *node, err);
    st = finish(db, st, host, node, err);
    if (st == NPH_OK)
        nph_info("instance %s claimed node %s on host %s", uuid, *node, *host);
    return st;
}

nph_status conductor_select_for_migration(nph_conductor *c, nph_db *db, const char *uuid,
                                          const char *migration, json_object *flavor,
                                          const char *avoid_host, char **host, char **node,
                                          nph_error *err)
{
    *host = *node = NULL;
    nph_status st = nph_db_begin(db, err);
    if (st != NPH_OK)
        return st;
    st = choose(c, db, uuid, flavor, avoid_host, host, node, err);
    int64_t changed = 0;
    const char *params[] = { *host, *node, *host, migration };
    if (st == NPH_OK)
        st = nph_db_execute(db, "UPDATE migrations SET dest_compute = ?, dest_node = ?, dest_host = "
                                "?, status = 'migrating' WHERE uuid = ? AND status = 'pre-migrating'",
                            params, 4, &changed, err);
    if (st == NPH_OK && changed != 1)
        st = nph_error_set(err, NPH_ERR_CONFLICT, "migration %s is no longer waiting", migration);
    st = finish(db, st, host, node, err);
    if (st == NPH_OK)
        nph_info("migration %s of instance %s goes to node %s on host %s", migration, uuid, *node,
                 *host);
    return st;
}
