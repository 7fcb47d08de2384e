/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the scheduler knows: every node (with its service's state), what
 * the instances on it use (one grouped query), its aggregates and zone;
 * and the request of one instance (flavor, image, hints, server group).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db-objects.h"
#include "error.h"
#include "scheduler-internal.h"

static int64_t num(json_object *obj, const char *key)
{
    return json_object_get_int64(sched_member(obj, key));
}

static bool service_up(const nph_scheduler *s, json_object *row)
{
    const char *seen = sched_text(row, "last_seen_up");
    struct tm tm = { 0 };
    if (!seen || num(row, "forced_down") || !strptime(seen, "%Y-%m-%dT%H:%M:%S", &tm))
        return false;
    return difftime(time(NULL), timegm(&tm)) <= (double)s->service_down_time_s;
}

/* aggregates: [{"name", "metadata": {}, "hosts": [..]}] from two queries. */
static nph_status load_aggregates(nph_db *db, json_object **out, nph_error *err)
{
    nph_auto_json *hosts = NULL, *meta = NULL;
    nph_status st = nph_db_select_rows(db, "SELECT id, name FROM aggregates WHERE deleted = 0", NULL,
                                       0, out, err);
    if (st == NPH_OK)
        st = nph_db_select_rows(db, "SELECT aggregate_id, host FROM aggregate_hosts WHERE deleted = 0",
                                NULL, 0, &hosts, err);
    if (st == NPH_OK)
        st = nph_db_select_rows(db, "SELECT aggregate_id, key, value FROM aggregate_metadata WHERE "
                                    "deleted = 0",
                                NULL, 0, &meta, err);
    for (size_t i = 0; st == NPH_OK && i < json_object_array_length(*out); i++) {
        json_object *agg = json_object_array_get_idx(*out, i);
        int64_t id = num(agg, "id");
        json_object *h = json_object_new_object(), *m = json_object_new_object();
        for (size_t k = 0; k < json_object_array_length(hosts); k++) {
            json_object *row = json_object_array_get_idx(hosts, k);
            if (num(row, "aggregate_id") == id)
                json_object_object_add(h, sched_text(row, "host"), json_object_new_boolean(true));
        }
        for (size_t k = 0; k < json_object_array_length(meta); k++) {
            json_object *row = json_object_array_get_idx(meta, k);
            if (num(row, "aggregate_id") == id)
                json_object_object_add(m, sched_text(row, "key"), json_object_get(sched_member(row, "value")));
        }
        json_object_object_add(agg, "hosts", h);
        json_object_object_add(agg, "metadata", m);
    }
    return st;
}

/* The aggregates `host` is in, as a new array of borrowed references. */
static json_object *aggregates_of(json_object *aggregates, const char *host, const char **zone)
{
    json_object *mine = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(aggregates); i++) {
        json_object *agg = json_object_array_get_idx(aggregates, i);
        if (!sched_member(sched_member(agg, "hosts"), host))
            continue;
        json_object_array_add(mine, json_object_get(agg));
        const char *az = sched_text(sched_member(agg, "metadata"), "availability_zone");
        if (az)
            *zone = az;
    }
    return mine;
}

nph_status scheduler_hosts_load(nph_scheduler *s, nph_db *db, struct host_state **hosts, size_t *n,
                                json_object **rows, nph_error *err)
{
    nph_auto_json *nodes = NULL, *usage = NULL, *aggregates = NULL;
    nph_status st = nph_db_select_rows(
        db,
        "SELECT cn.host, cn.hypervisor_hostname, cn.hypervisor_type, cn.cpu_arch, "
        "cn.resource_class, cn.vcpus, cn.memory_mb, cn.local_gb, s.disabled, s.forced_down, "
        "s.last_seen_up, COALESCE((SELECT MAX(i.reserved) FROM resource_providers rp JOIN "
        "inventories i ON i.provider_id = rp.id WHERE rp.uuid = cn.uuid), 0) AS reserved "
        "FROM compute_nodes cn JOIN services s ON s.host = cn.host AND "
        "s.\"binary\" = 'nephele-compute' AND s.deleted = 0 WHERE cn.deleted = 0 ORDER BY cn.id",
        NULL, 0, &nodes, err);
    if (st == NPH_OK)
        st = nph_db_select_rows(db,
                                "SELECT host, node, COUNT(*) AS n, SUM(vcpus) AS vcpus, "
                                "SUM(memory_mb) AS memory_mb, SUM(root_gb + ephemeral_gb) AS disk "
                                "FROM instances WHERE deleted = 0 AND host IS NOT NULL GROUP BY "
                                "host, node",
                                NULL, 0, &usage, err);
    if (st == NPH_OK)
        st = load_aggregates(db, &aggregates, err);
    if (st != NPH_OK)
        return st;
    /* host\nnode -> usage row, so the join costs one pass */
    nph_auto_json *by_node = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(usage); i++) {
        json_object *u = json_object_array_get_idx(usage, i);
        char key[600];
        snprintf(key, sizeof(key), "%s\n%s", sched_text(u, "host"), sched_text(u, "node") ? sched_text(u, "node") : "");
        json_object_object_add(by_node, key, json_object_get(u));
    }
    size_t count = json_object_array_length(nodes);
    *hosts = calloc(count ? count : 1, sizeof(**hosts));
    if (!*hosts)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    *rows = json_object_new_array();
    json_object_array_add(*rows, json_object_get(nodes));
    json_object_array_add(*rows, json_object_get(aggregates));
    for (size_t i = 0; i < count; i++) {
        json_object *row = json_object_array_get_idx(nodes, i);
        struct host_state *h = &(*hosts)[i];
        h->row = row;
        h->host = sched_text(row, "host");
        h->node = sched_text(row, "hypervisor_hostname");
        h->hypervisor_type = sched_text(row, "hypervisor_type");
        h->cpu_arch = sched_text(row, "cpu_arch");
        h->resource_class = sched_text(row, "resource_class");
        h->vcpus = num(row, "vcpus");
        h->memory_mb = num(row, "memory_mb");
        h->disk_gb = num(row, "local_gb");
        h->reserved = num(row, "reserved") > 0;
        h->up = service_up(s, row);
        h->enabled = !num(row, "disabled");
        char key[600];
        snprintf(key, sizeof(key), "%s\n%s", h->host, h->node);
        json_object *u = sched_member(by_node, key);
        h->instances = num(u, "n");
        h->vcpus_used = num(u, "vcpus");
        h->memory_mb_used = num(u, "memory_mb");
        h->disk_gb_used = num(u, "disk");
        h->zone = s->default_az;
        h->aggregates = aggregates_of(aggregates, h->host, &h->zone);
        json_object_array_add(*rows, h->aggregates);
        h->build_failures = num(s->build_failures, h->host);
    }
    *n = count;
    return NPH_OK;
}

/* host -> count of `uuids`' instances on it (hints and groups). */
static nph_status hosts_of(nph_db *db, json_object *uuids, const char *except, json_object **out,
                           nph_error *err)
{
    *out = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(uuids); i++) {
        const char *uuid = json_object_get_string(json_object_array_get_idx(uuids, i));
        if (!uuid || (except && strcmp(uuid, except) == 0))
            continue;
        const char *params[] = { uuid };
        nph_auto_json *rows = NULL;
        nph_status st = nph_db_select_rows(db, "SELECT host FROM instances WHERE uuid = ? AND "
                                               "deleted = 0 AND host IS NOT NULL",
                                           params, 1, &rows, err);
        if (st != NPH_OK)
            return st;
        const char *host = sched_text(json_object_array_get_idx(rows, 0), "host");
        if (host)
            json_object_object_add(*out, host,
                                   json_object_new_int64(num(*out, host) + 1));
    }
    return NPH_OK;
}

/* A hint's value as an array of strings (one uuid or a list). */
static json_object *as_list(json_object *v)
{
    if (json_object_is_type(v, json_type_array))
        return json_object_get(v);
    json_object *list = json_object_new_array();
    if (json_object_is_type(v, json_type_string))
        json_object_array_add(list, json_object_get(v));
    return list;
}

static nph_status load_group(nph_db *db, const char *uuid, struct request_spec *spec,
                             json_object *keep, nph_error *err)
{
    const char *params[] = { uuid };
    nph_auto_json *group = NULL, *members = NULL;
    nph_status st = nph_db_select_rows(db,
                                       "SELECT g.id, g.policy, g.rules FROM instance_group_member m "
                                       "JOIN instance_groups g ON g.id = m.group_id AND g.deleted = "
                                       "0 WHERE m.instance_uuid = ?",
                                       params, 1, &group, err);
    json_object *g = json_object_array_get_idx(group, 0);
    if (st != NPH_OK || !g)
        return st;
    json_object_array_add(keep, json_object_get(g));
    spec->group_policy = sched_text(g, "policy");
    spec->max_per_host = 1;
    const char *rules = sched_text(g, "rules");
    nph_auto_json *parsed = rules ? nph_json_parse(rules, strlen(rules), NULL) : NULL;
    if (sched_member(parsed, "max_server_per_host"))
        spec->max_per_host = num(parsed, "max_server_per_host");
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)num(g, "id"));
    const char *member_params[] = { id };
    st = nph_db_select_rows(db, "SELECT instance_uuid FROM instance_group_member WHERE group_id = ?",
                            member_params, 1, &members, err);
    nph_auto_json *uuids = json_object_new_array();
    for (size_t i = 0; st == NPH_OK && i < json_object_array_length(members); i++)
        json_object_array_add(uuids, json_object_get(sched_member(json_object_array_get_idx(members, i),
                                                            "instance_uuid")));
    if (st == NPH_OK)
        st = hosts_of(db, uuids, uuid, &spec->group_hosts, err);
    return st;
}

nph_status scheduler_spec_load(nph_scheduler *s, nph_db *db, const char *uuid, json_object *flavor,
                               json_object *image, json_object *hints, struct request_spec *spec,
                               json_object **keep, nph_error *err)
{
    memset(spec, 0, sizeof(*spec));
    *keep = json_object_new_array();
    const char *params[] = { uuid };
    nph_auto_json *inst = NULL;
    nph_status st = nph_db_select_rows(db, "SELECT project_id, availability_zone FROM instances "
                                           "WHERE uuid = ?",
                                       params, 1, &inst, err);
    if (st != NPH_OK)
        return st;
    json_object *row = json_object_array_get_idx(inst, 0);
    json_object_array_add(*keep, json_object_get(row));
    spec->uuid = uuid;
    spec->project_id = sched_text(row, "project_id");
    spec->zone = sched_text(row, "availability_zone") ? sched_text(row, "availability_zone") : s->default_az;
    spec->vcpus = num(flavor, "vcpus");
    spec->memory_mb = num(flavor, "memory_mb");
    spec->disk_gb = num(flavor, "root_gb") + num(flavor, "ephemeral_gb");
    /* Always an object, so the filters may walk it. */
    spec->extra_specs = sched_member(flavor, "extra_specs");
    if (!json_object_is_type(spec->extra_specs, json_type_object)) {
        spec->extra_specs = json_object_new_object();
        json_object_array_add(*keep, spec->extra_specs);
    }
    json_object_object_foreach(spec->extra_specs, key, value) {
        if (strncmp(key, "resources:CUSTOM_", 17) == 0 && json_object_get_int(value) >= 1)
            spec->resource_class = key + 10;
    }
    spec->image_props = sched_member(image, "properties");
    spec->image_id = sched_text(image, "id");
    if (sched_member(hints, "same_host")) {
        nph_auto_json *list = as_list(sched_member(hints, "same_host"));
        st = hosts_of(db, list, NULL, &spec->same_hosts, err);
        json_object_array_add(*keep, spec->same_hosts);
    }
    if (st == NPH_OK && sched_member(hints, "different_host")) {
        nph_auto_json *list = as_list(sched_member(hints, "different_host"));
        st = hosts_of(db, list, NULL, &spec->different_hosts, err);
        json_object_array_add(*keep, spec->different_hosts);
    }
    if (st == NPH_OK)
        st = load_group(db, uuid, spec, *keep, err);
    if (spec->group_hosts)
        json_object_array_add(*keep, spec->group_hosts);
    return st;
}
