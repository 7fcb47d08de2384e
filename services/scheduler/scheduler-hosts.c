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
#include "objects.h"
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

/* `name` as a string that lives as long as the load (one copy per name). */
static const char *intern(json_object *names, const char *name)
{
    json_object *v = sched_member(names, name);
    if (!v) {
        v = json_object_new_string(name);
        json_object_object_add(names, name, v);
    }
    return json_object_get_string(v);
}

struct host_resource *scheduler_host_resource(struct host_state *h, const char *resource_class)
{
    for (size_t i = 0; i < h->n_res; i++)
        if (strcmp(h->res[i].resource_class, resource_class) == 0)
            return &h->res[i];
    return NULL;
}

/* The weighers' view of the standard classes. */
static void summarize(struct host_state *h)
{
    struct host_resource *r;
    if ((r = scheduler_host_resource(h, "VCPU")))
        h->vcpus = r->capacity, h->vcpus_used = r->used;
    if ((r = scheduler_host_resource(h, "MEMORY_MB")))
        h->memory_mb = r->capacity, h->memory_mb_used = r->used;
    if ((r = scheduler_host_resource(h, "DISK_GB")))
        h->disk_gb = r->capacity, h->disk_gb_used = r->used;
}

/* Every provider's inventories onto the node with its uuid.  Stepped
 * through without JSON rows: 10,000 nodes have 30,000 of them. */
static nph_status load_inventories(nph_db *db, struct hosts_load *l, json_object *by_uuid,
                                   json_object *names, nph_error *err)
{
    nph_db_stmt *stmt = NULL;
    nph_status st = nph_db_prepare(db,
                                   "SELECT rp.uuid, i.resource_class, i.total, i.reserved, "
                                   "i.allocation_ratio, i.used, i.max_unit FROM inventories i JOIN "
                                   "resource_providers rp ON rp.id = i.provider_id",
                                   &stmt, err);
    bool row = false;
    while (st == NPH_OK && (st = nph_db_step(stmt, &row, err)) == NPH_OK && row) {
        json_object *index = sched_member(by_uuid, nph_db_col_text(stmt, 0));
        if (!index)
            continue;
        struct host_state *h = &l->hosts[json_object_get_int64(index)];
        if (h->n_res == SCHED_MAX_RESOURCES)
            continue;
        struct host_resource *r = &h->res[h->n_res++];
        r->resource_class = intern(names, nph_db_col_text(stmt, 1));
        double usable = (double)(nph_db_col_int(stmt, 2) - nph_db_col_int(stmt, 3));
        r->capacity = (int64_t)(usable * nph_db_col_double(stmt, 4));
        r->used = nph_db_col_int(stmt, 5);
        r->max_unit = nph_db_col_int(stmt, 6);
    }
    if (stmt)
        nph_db_reset(stmt);
    return st;
}

/* Every provider's traits as bits: trait i of the load is bit i. */
static nph_status load_traits(nph_db *db, struct hosts_load *l, json_object *by_uuid,
                              nph_error *err)
{
    nph_auto_json *pairs = NULL;
    nph_status st = nph_db_select_rows(db,
                                       "SELECT rp.uuid, t.trait FROM resource_provider_traits t "
                                       "JOIN resource_providers rp ON rp.id = t.provider_id",
                                       NULL, 0, &pairs, err);
    if (st != NPH_OK)
        return st;
    size_t n_pairs = json_object_array_length(pairs);
    for (size_t i = 0; i < n_pairs; i++) {
        const char *trait = sched_text(json_object_array_get_idx(pairs, i), "trait");
        if (!sched_member(l->trait_index, trait))
            json_object_object_add(l->trait_index, trait,
                                   json_object_new_int(json_object_object_length(l->trait_index)));
    }
    l->trait_words = ((size_t)json_object_object_length(l->trait_index) + 63) / 64;
    if (l->trait_words == 0)
        return NPH_OK;
    l->trait_bits = calloc(l->n * l->trait_words + 1, sizeof(uint64_t));
    if (!l->trait_bits)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < l->n; i++)
        l->hosts[i].traits = l->trait_bits + i * l->trait_words;
    for (size_t i = 0; i < n_pairs; i++) {
        json_object *pair = json_object_array_get_idx(pairs, i);
        json_object *index = sched_member(by_uuid, sched_text(pair, "uuid"));
        if (!index)
            continue;
        int bit = json_object_get_int(sched_member(l->trait_index, sched_text(pair, "trait")));
        l->trait_bits[(size_t)json_object_get_int64(index) * l->trait_words + (size_t)bit / 64] |=
            (uint64_t)1 << (bit % 64);
    }
    return NPH_OK;
}

void scheduler_spec_bind_traits(struct request_spec *spec, const struct hosts_load *load)
{
    for (size_t i = 0; i < spec->n_required; i++) {
        json_object *bit = sched_member(load->trait_index, spec->required[i]);
        spec->required_bits[i] = bit ? json_object_get_int(bit) : -1;
    }
    for (size_t i = 0; i < spec->n_forbidden; i++) {
        json_object *bit = sched_member(load->trait_index, spec->forbidden[i]);
        spec->forbidden_bits[i] = bit ? json_object_get_int(bit) : -1;
    }
}

void scheduler_hosts_free(struct hosts_load *load)
{
    if (!load)
        return;
    free(load->hosts);
    free(load->trait_bits);
    json_object_put(load->rows);
    json_object_put(load->trait_index);
    free(load);
}

static nph_status fill_hosts(nph_scheduler *s, nph_db *db, struct hosts_load *l, nph_error *err)
{
    nph_auto_json *nodes = NULL, *counts = NULL, *aggregates = NULL;
    nph_status st = nph_db_select_rows(
        db,
        "SELECT cn.uuid, cn.host, cn.hypervisor_hostname, cn.hypervisor_type, cn.cpu_arch, "
        "cn.resource_class, s.disabled, s.forced_down, s.last_seen_up FROM compute_nodes cn JOIN "
        "services s ON s.host = cn.host AND s.\"binary\" = 'nephele-compute' AND s.deleted = 0 "
        "WHERE cn.deleted = 0 ORDER BY cn.id",
        NULL, 0, &nodes, err);
    if (st == NPH_OK)
        st = nph_db_select_rows(db,
                                "SELECT host, node, COUNT(*) AS n FROM instances WHERE deleted = 0 "
                                "AND host IS NOT NULL GROUP BY host, node",
                                NULL, 0, &counts, err);
    if (st == NPH_OK)
        st = load_aggregates(db, &aggregates, err);
    if (st != NPH_OK)
        return st;
    /* host\nnode -> instance count, so the join costs one pass */
    nph_auto_json *by_node = json_object_new_object(), *by_uuid = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(counts); i++) {
        json_object *u = json_object_array_get_idx(counts, i);
        char key[600];
        snprintf(key, sizeof(key), "%s\n%s", sched_text(u, "host"),
                 sched_text(u, "node") ? sched_text(u, "node") : "");
        json_object_object_add(by_node, key, json_object_get(sched_member(u, "n")));
    }
    l->n = json_object_array_length(nodes);
    l->hosts = calloc(l->n ? l->n : 1, sizeof(*l->hosts));
    if (!l->hosts)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    json_object *names = json_object_new_object();
    json_object_array_add(l->rows, names);
    json_object_array_add(l->rows, json_object_get(nodes));
    json_object_array_add(l->rows, json_object_get(aggregates));
    for (size_t i = 0; i < l->n; i++) {
        json_object *row = json_object_array_get_idx(nodes, i);
        struct host_state *h = &l->hosts[i];
        h->row = row;
        h->uuid = sched_text(row, "uuid");
        h->host = sched_text(row, "host");
        h->node = sched_text(row, "hypervisor_hostname");
        h->hypervisor_type = sched_text(row, "hypervisor_type");
        h->cpu_arch = sched_text(row, "cpu_arch");
        h->resource_class = sched_text(row, "resource_class");
        h->up = service_up(s, row);
        h->enabled = !num(row, "disabled");
        char key[600];
        snprintf(key, sizeof(key), "%s\n%s", h->host, h->node);
        h->instances = json_object_get_int64(sched_member(by_node, key));
        h->zone = s->default_az;
        h->aggregates = aggregates_of(aggregates, h->host, &h->zone);
        json_object_array_add(l->rows, h->aggregates);
        if (h->uuid)
            json_object_object_add(by_uuid, h->uuid, json_object_new_int64((int64_t)i));
    }
    st = load_inventories(db, l, by_uuid, names, err);
    if (st == NPH_OK)
        st = load_traits(db, l, by_uuid, err);
    for (size_t i = 0; st == NPH_OK && i < l->n; i++)
        summarize(&l->hosts[i]);
    return st;
}

nph_status scheduler_hosts_load(nph_scheduler *s, nph_db *db, struct hosts_load **out,
                                nph_error *err)
{
    struct hosts_load *l = calloc(1, sizeof(*l));
    if (!l)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    l->rows = json_object_new_array();
    l->trait_index = json_object_new_object();
    nph_status st = fill_hosts(s, db, l, err);
    if (st != NPH_OK) {
        scheduler_hosts_free(l);
        return st;
    }
    *out = l;
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

static void set_amount(struct request_spec *spec, const char *resource_class, int64_t amount)
{
    for (size_t i = 0; i < spec->n_res; i++) {
        if (strcmp(spec->res[i].resource_class, resource_class) == 0) {
            spec->res[i].amount = amount;
            return;
        }
    }
    if (spec->n_res < SCHED_MAX_RESOURCES) {
        spec->res[spec->n_res].resource_class = resource_class;
        spec->res[spec->n_res++].amount = amount;
    }
}

static void add_trait(const char **list, size_t *n, const char *trait)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], trait) == 0)
            return;
    if (*n < SCHED_MAX_TRAITS)
        list[(*n)++] = trait;
}

/* trait:NAME = required | forbidden, from the flavor's extra specs or the
 * image's properties (where only required means something). */
static void traits_from(struct request_spec *spec, json_object *specs, bool allow_forbidden)
{
    if (!json_object_is_type(specs, json_type_object))
        return;
    json_object_object_foreach(specs, key, value) {
        const char *v = json_object_get_string(value);
        if (strncmp(key, "trait:", 6) != 0 || !v)
            continue;
        if (strcmp(v, "required") == 0)
            add_trait(spec->required, &spec->n_required, key + 6);
        else if (allow_forbidden && strcmp(v, "forbidden") == 0)
            add_trait(spec->forbidden, &spec->n_forbidden, key + 6);
    }
}

/* What Nova asks Placement for: the flavor's VCPU, MEMORY_MB and DISK_GB,
 * overridden or joined by resources:CLASS=N (a baremetal flavor sets the
 * standard ones to 0), zeros left out; the traits of trait:NAME; and with
 * [scheduler] image_metadata_prefilter the image's disk_format as
 * COMPUTE_IMAGE_TYPE_*, so an image lands only where it can boot. */
void scheduler_spec_placement(const nph_scheduler *s, struct request_spec *spec,
                              const char *disk_format)
{
    set_amount(spec, "VCPU", spec->vcpus);
    set_amount(spec, "MEMORY_MB", spec->memory_mb);
    set_amount(spec, "DISK_GB", spec->disk_gb);
    json_object_object_foreach(spec->extra_specs, key, value) {
        if (strncmp(key, "resources:", 10) != 0 || !key[10])
            continue;
        set_amount(spec, key + 10, json_object_get_int64(value));
        if (strncmp(key + 10, "CUSTOM_", 7) == 0 && json_object_get_int64(value) >= 1)
            spec->resource_class = key + 10;
    }
    size_t kept = 0;
    for (size_t i = 0; i < spec->n_res; i++)
        if (spec->res[i].amount > 0)
            spec->res[kept++] = spec->res[i];
    spec->n_res = kept;
    traits_from(spec, spec->extra_specs, true);
    traits_from(spec, spec->image_props, false);
    spec->image_hypervisor = sched_text(spec->image_props, "hypervisor_type");
    spec->image_arch = sched_text(spec->image_props, "hw_architecture");
    if (!spec->image_arch)
        spec->image_arch = sched_text(spec->image_props, "architecture");
    nph_image_format format;
    if (s && s->image_metadata_prefilter && disk_format &&
        nph_image_format_parse(disk_format, &format, NULL) == NPH_OK)
        add_trait(spec->required, &spec->n_required, nph_image_format_trait(format));
}

nph_status scheduler_spec_load(nph_scheduler *s, nph_db *db, const char *uuid, json_object *flavor,
                               json_object *image, json_object *hints, struct request_spec *spec,
                               json_object **keep, nph_error *err)
{
    memset(spec, 0, sizeof(*spec));
    *keep = json_object_new_array();
    const char *params[] = { uuid };
    nph_auto_json *inst = NULL;
    nph_status st = nph_db_select_rows(db, "SELECT project_id, user_id, availability_zone FROM instances "
                                           "WHERE uuid = ?",
                                       params, 1, &inst, err);
    if (st != NPH_OK)
        return st;
    json_object *row = json_object_array_get_idx(inst, 0);
    json_object_array_add(*keep, json_object_get(row));
    spec->uuid = uuid;
    spec->project_id = sched_text(row, "project_id");
    spec->user_id = sched_text(row, "user_id");
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
    spec->image_props = sched_member(image, "properties");
    spec->image_id = sched_text(image, "id");
    scheduler_spec_placement(s, spec, sched_text(image, "disk_format"));
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
