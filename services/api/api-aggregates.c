/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /os-aggregates: groups of compute hosts with metadata, admin only.  The
 * metadata key availability_zone puts the hosts in that zone, which
 * os-availability-zone, os-services and server creation read through
 * api_host_zones().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "clock.h"
#include "db-objects.h"
#include "error.h"
#include "uuid.h"

#define AZ_KEY "availability_zone"

/* ---- reading ------------------------------------------------------------- */

/* Every live aggregate with "hosts" (array) and "metadata" (object) added,
 * in id order.  Caller puts. */
static nph_status load_aggregates(nph_db *db, const char *id, json_object **out, nph_error *err)
{
    const char *params[] = { id };
    nph_auto_json *hosts = NULL, *meta = NULL;
    nph_status st = nph_db_select_rows(db,
                                       id ? "SELECT * FROM aggregates WHERE deleted = 0 AND id = ?"
                                          : "SELECT * FROM aggregates WHERE deleted = 0 ORDER BY id",
                                       params, id ? 1 : 0, out, err);
    if (st == NPH_OK)
        st = nph_db_select_rows(db, "SELECT aggregate_id, host FROM aggregate_hosts WHERE "
                                    "deleted = 0 ORDER BY id",
                                NULL, 0, &hosts, err);
    if (st == NPH_OK)
        st = nph_db_select_rows(db, "SELECT aggregate_id, key, value FROM aggregate_metadata "
                                    "WHERE deleted = 0 ORDER BY id",
                                NULL, 0, &meta, err);
    if (st != NPH_OK)
        return st;
    for (size_t i = 0; i < json_object_array_length(*out); i++) {
        json_object *agg = json_object_array_get_idx(*out, i);
        int64_t agg_id = json_object_get_int64(api_member(agg, "id"));
        json_object *host_list = json_object_new_array(), *metadata = json_object_new_object();
        for (size_t h = 0; h < json_object_array_length(hosts); h++) {
            json_object *row = json_object_array_get_idx(hosts, h);
            if (json_object_get_int64(api_member(row, "aggregate_id")) == agg_id)
                json_object_array_add(host_list, json_object_get(api_member(row, "host")));
        }
        for (size_t m = 0; m < json_object_array_length(meta); m++) {
            json_object *row = json_object_array_get_idx(meta, m);
            if (json_object_get_int64(api_member(row, "aggregate_id")) == agg_id)
                json_object_object_add(metadata, json_object_get_string(api_member(row, "key")),
                                       json_object_get(api_member(row, "value")));
        }
        json_object_object_add(agg, "hosts", host_list);
        json_object_object_add(agg, "metadata", metadata);
    }
    return NPH_OK;
}

nph_status api_host_zones(nph_db *db, json_object **zones, nph_error *err)
{
    nph_auto_json *aggs = NULL;
    nph_status st = load_aggregates(db, NULL, &aggs, err);
    if (st != NPH_OK)
        return st;
    *zones = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(aggs); i++) {
        json_object *agg = json_object_array_get_idx(aggs, i);
        json_object *az = api_member(api_member(agg, "metadata"), AZ_KEY);
        json_object *hosts = api_member(agg, "hosts");
        for (size_t h = 0; az && h < json_object_array_length(hosts); h++)
            json_object_object_add(*zones, json_object_get_string(json_object_array_get_idx(hosts, h)),
                                   json_object_get(az));
    }
    return NPH_OK;
}

static json_object *aggregate_view(const struct api_request *req, json_object *agg, bool full)
{
    json_object *view = json_object_new_object();
    json_object *meta = api_member(agg, "metadata");
    json_object_object_add(view, "availability_zone", json_object_get(api_member(meta, AZ_KEY)));
    json_object_object_add(view, "created_at", api_timestamp(json_object_get_string(api_member(agg, "created_at"))));
    nph_json_add_bool(view, "deleted", false);
    json_object_object_add(view, "deleted_at", NULL);
    nph_json_add_int(view, "id", json_object_get_int64(api_member(agg, "id")));
    json_object_object_add(view, "name", json_object_get(api_member(agg, "name")));
    json_object_object_add(view, "updated_at", api_timestamp(json_object_get_string(api_member(agg, "updated_at"))));
    if (req->minor >= 41)
        json_object_object_add(view, "uuid", json_object_get(api_member(agg, "uuid")));
    if (full) {
        json_object_object_add(view, "hosts", json_object_get(api_member(agg, "hosts")));
        json_object_object_add(view, "metadata", json_object_get(meta));
    }
    return view;
}

/* The aggregate the path names (an id, or from 2.41 also a uuid); NULL
 * with a 404 in resp. */
static json_object *find(struct api_request *req, struct api_response *resp)
{
    const char *given = req->params[0];
    char id[24] = "";
    char *end;
    long long n = strtoll(given, &end, 10);
    if (*given && !*end && n > 0) {
        snprintf(id, sizeof(id), "%lld", n);
    } else if (nph_uuid_is_valid(given)) {
        const char *params[] = { given };
        nph_auto_json *rows = NULL;
        if (nph_db_select_rows(req->db, "SELECT id FROM aggregates WHERE deleted = 0 AND uuid = ?",
                               params, 1, &rows, NULL) == NPH_OK &&
            json_object_array_length(rows) == 1)
            snprintf(id, sizeof(id), "%lld",
                     (long long)json_object_get_int64(api_member(json_object_array_get_idx(rows, 0), "id")));
    }
    nph_auto_json *aggs = NULL;
    if (id[0] && load_aggregates(req->db, id, &aggs, NULL) == NPH_OK && json_object_array_length(aggs) == 1)
        return json_object_get(json_object_array_get_idx(aggs, 0));
    api_error(resp, 404, "Aggregate %s could not be found.", given);
    return NULL;
}

static void reply_aggregate(struct api_request *req, struct api_response *resp, json_object *agg,
                            bool full)
{
    json_object *body = json_object_new_object();
    json_object_object_add(body, "aggregate", aggregate_view(req, agg, full));
    api_reply(resp, 200, body);
}

/* Read back and answer with the aggregate the path names. */
static void reply_current(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *agg = find(req, resp);
    if (agg)
        reply_aggregate(req, resp, agg, true);
}

void api_aggregates_list(struct api_request *req, struct api_response *resp)
{
    if (!api_is_admin(req, resp))
        return;
    nph_auto_json *aggs = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (load_aggregates(req->db, NULL, &aggs, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(aggs); i++)
        json_object_array_add(list, aggregate_view(req, json_object_array_get_idx(aggs, i), true));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "aggregates", list);
    api_reply(resp, 200, body);
}

void api_aggregates_show(struct api_request *req, struct api_response *resp)
{
    if (api_is_admin(req, resp))
        reply_current(req, resp);
}

/* ---- writing ------------------------------------------------------------- */

/* name and availability_zone of a create or update body: strings of 1 to
 * 255 characters; false with a 400 in resp. */
static bool read_fields(struct api_request *req, struct api_response *resp, bool create,
                        const char **name, const char **az)
{
    json_object *agg;
    static const char *const allowed[] = { "name", AZ_KEY, NULL };
    if (!api_body_object(req, resp, "aggregate", &agg) || !api_no_extra_members(resp, agg, allowed))
        return false;
    *name = *az = NULL;
    json_object *v;
    const char *keys[] = { "name", AZ_KEY };
    const char **outs[] = { name, az };
    for (size_t i = 0; i < 2; i++) {
        if (!json_object_object_get_ex(agg, keys[i], &v) || (!v && i == 1))
            continue;
        size_t len = json_object_is_type(v, json_type_string) ? strlen(json_object_get_string(v)) : 0;
        if (len < 1 || len > 255) {
            api_error(resp, 400, "Invalid input for field/attribute %s. Value: %s. It must be a "
                                 "string of 1 to 255 characters",
                      keys[i], json_object_to_json_string(v));
            return false;
        }
        *outs[i] = json_object_get_string(v);
    }
    if (create && !*name) {
        api_error(resp, 400, "Invalid input for field/attribute aggregate. 'name' is a required "
                             "property");
        return false;
    }
    if (!create && !*name && !*az) {
        api_error(resp, 400, "Invalid input for field/attribute aggregate. It needs name or "
                             "availability_zone");
        return false;
    }
    return true;
}

/* Sets (value non-NULL) or removes a metadata key of aggregate `id`. */
static nph_status set_meta(nph_db *db, const char *id, const char *key, const char *value,
                           nph_error *err)
{
    const char *del[] = { id, key };
    nph_status st = nph_db_execute(db, "DELETE FROM aggregate_metadata WHERE aggregate_id = ? AND key = ?",
                                   del, 2, NULL, err);
    const char *ins[] = { id, key, value };
    if (st == NPH_OK && value)
        st = nph_db_execute(db, "INSERT INTO aggregate_metadata (aggregate_id, key, value) VALUES "
                                "(?, ?, ?)",
                            ins, 3, NULL, err);
    return st;
}

static nph_status touch(nph_db *db, const char *id, nph_error *err)
{
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    const char *params[] = { now, id };
    return nph_db_execute(db, "UPDATE aggregates SET updated_at = ? WHERE id = ?", params, 2, NULL, err);
}

/* A host may be in several aggregates but in one zone only: false with a
 * 400 when giving aggregate `id` (which has `hosts`) the zone `az`, or
 * adding `host` to it, would put a host in two. */
static bool zone_conflict_free(struct api_request *req, struct api_response *resp, int64_t id,
                               json_object *hosts, const char *host, const char *az)
{
    nph_auto_json *aggs = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (!az)
        return true;
    if (load_aggregates(req->db, NULL, &aggs, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return false;
    }
    for (size_t i = 0; i < json_object_array_length(aggs); i++) {
        json_object *other = json_object_array_get_idx(aggs, i);
        const char *other_az = json_object_get_string(api_member(api_member(other, "metadata"), AZ_KEY));
        if (json_object_get_int64(api_member(other, "id")) == id || !other_az || strcmp(other_az, az) == 0)
            continue;
        json_object *other_hosts = api_member(other, "hosts");
        for (size_t h = 0; h < json_object_array_length(other_hosts); h++) {
            const char *oh = json_object_get_string(json_object_array_get_idx(other_hosts, h));
            bool ours = host && strcmp(oh, host) == 0;
            for (size_t k = 0; !ours && k < json_object_array_length(hosts); k++)
                ours = strcmp(oh, json_object_get_string(json_object_array_get_idx(hosts, k))) == 0;
            if (ours) {
                api_error(resp, 400, "Cannot add host %s in aggregate %lld: it is already in "
                                     "availability zone %s",
                          oh, (long long)id, other_az);
                return false;
            }
        }
    }
    return true;
}

void api_aggregates_create(struct api_request *req, struct api_response *resp)
{
    const char *name, *az;
    if (!api_is_admin(req, resp) || !read_fields(req, resp, true, &name, &az))
        return;
    char uuid[NPH_UUID_STRLEN + 1], now[NPH_ISO_TIME_LEN];
    nph_uuid_generate(uuid);
    nph_clock_iso_now(now);
    const char *params[] = { uuid, name, now };
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_db_begin(req->db, &err);
    if (st == NPH_OK)
        st = nph_db_execute(req->db, "INSERT INTO aggregates (uuid, name, created_at) VALUES (?, ?, ?)",
                            params, 3, NULL, &err);
    nph_auto_json *rows = NULL;
    const char *by_uuid[] = { uuid };
    if (st == NPH_OK)
        st = nph_db_select_rows(req->db, "SELECT id FROM aggregates WHERE uuid = ?", by_uuid, 1, &rows, &err);
    char id[24] = "";
    if (st == NPH_OK)
        snprintf(id, sizeof(id), "%lld",
                 (long long)json_object_get_int64(api_member(json_object_array_get_idx(rows, 0), "id")));
    if (st == NPH_OK && az)
        st = set_meta(req->db, id, AZ_KEY, az, &err);
    char conflict[300];
    snprintf(conflict, sizeof(conflict), "Aggregate %s already exists.", name);
    if (!api_commit(req, resp, st, &err, conflict))
        return;
    req->params[0] = id;
    nph_auto_json *agg = find(req, resp);
    if (agg)
        reply_aggregate(req, resp, agg, false);
}

void api_aggregates_update(struct api_request *req, struct api_response *resp)
{
    const char *name, *az;
    if (!api_is_admin(req, resp) || !read_fields(req, resp, false, &name, &az))
        return;
    nph_auto_json *agg = find(req, resp);
    if (!agg)
        return;
    int64_t agg_id = json_object_get_int64(api_member(agg, "id"));
    if (!zone_conflict_free(req, resp, agg_id, api_member(agg, "hosts"), NULL, az))
        return;
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)agg_id);
    const char *params[] = { name, id };
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_db_begin(req->db, &err);
    if (st == NPH_OK && name)
        st = nph_db_execute(req->db, "UPDATE aggregates SET name = ? WHERE id = ?", params, 2, NULL, &err);
    if (st == NPH_OK && az)
        st = set_meta(req->db, id, AZ_KEY, az, &err);
    if (st == NPH_OK)
        st = touch(req->db, id, &err);
    char conflict[300];
    snprintf(conflict, sizeof(conflict), "Aggregate %s already exists.", name ? name : "");
    if (!api_commit(req, resp, st, &err, conflict))
        return;
    req->params[0] = id;
    reply_current(req, resp);
}

void api_aggregates_delete(struct api_request *req, struct api_response *resp)
{
    if (!api_is_admin(req, resp))
        return;
    nph_auto_json *agg = find(req, resp);
    if (!agg)
        return;
    if (json_object_array_length(api_member(agg, "hosts")) > 0) {
        api_error(resp, 400, "Cannot delete aggregate %s: it still has hosts; remove them first.",
                  req->params[0]);
        return;
    }
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)json_object_get_int64(api_member(agg, "id")));
    const char *params[] = { id };
    nph_error err = NPH_ERROR_INIT;
    /* deleted = id keeps (name, deleted) unique for a later aggregate of the same name. */
    nph_status st = nph_db_execute(req->db, "DELETE FROM aggregate_metadata WHERE aggregate_id = ?",
                                   params, 1, NULL, &err);
    if (st == NPH_OK)
        st = nph_db_execute(req->db, "UPDATE aggregates SET deleted = id WHERE id = ?", params, 1,
                            NULL, &err);
    if (st != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    resp->status = 200;
}

/* ---- actions: add_host, remove_host, set_metadata ------------------------ */

/* An action's single argument {key: value of `type`}; NULL with a 400. */
static json_object *action_argument(struct api_response *resp, json_object *arg, const char *key,
                                    json_type type)
{
    const char *const allowed[] = { key, NULL };
    if (!json_object_is_type(arg, json_type_object)) {
        api_error(resp, 400, "Invalid input: the action's argument is an object with '%s'", key);
        return NULL;
    }
    if (!api_no_extra_members(resp, arg, allowed))
        return NULL;
    json_object *v = api_member(arg, key);
    if (!json_object_is_type(v, type)) {
        api_error(resp, 400, "Invalid input for field/attribute %s. Value: %s.", key,
                  json_object_to_json_string(v));
        return NULL;
    }
    return v;
}

static bool compute_host_exists(struct api_request *req, const char *host)
{
    const char *params[] = { host };
    nph_auto_json *rows = NULL;
    return nph_db_select_rows(req->db, "SELECT id FROM services WHERE deleted = 0 AND host = ? "
                                       "AND \"binary\" = 'nephele-compute'",
                              params, 1, &rows, NULL) == NPH_OK &&
           json_object_array_length(rows) > 0;
}

static void change_host(struct api_request *req, struct api_response *resp, json_object *agg,
                        json_object *arg, bool add)
{
    json_object *host_v = action_argument(resp, arg, "host", json_type_string);
    if (!host_v)
        return;
    const char *host = json_object_get_string(host_v);
    int64_t agg_id = json_object_get_int64(api_member(agg, "id"));
    json_object *hosts = api_member(agg, "hosts");
    bool member = false;
    for (size_t i = 0; i < json_object_array_length(hosts); i++)
        member |= strcmp(json_object_get_string(json_object_array_get_idx(hosts, i)), host) == 0;
    if (add && !compute_host_exists(req, host)) {
        api_error(resp, 404, "Compute host %s could not be found.", host);
        return;
    }
    if (add && member) {
        api_error(resp, 409, "Aggregate %lld already has host %s.", (long long)agg_id, host);
        return;
    }
    if (!add && !member) {
        api_error(resp, 404, "Cannot remove host %s in aggregate %lld: it is not a member",
                  host, (long long)agg_id);
        return;
    }
    const char *az = json_object_get_string(api_member(api_member(agg, "metadata"), AZ_KEY));
    if (add && !zone_conflict_free(req, resp, agg_id, NULL, host, az))
        return;
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)agg_id);
    const char *params[] = { id, host };
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_db_execute(req->db,
                                   add ? "INSERT INTO aggregate_hosts (aggregate_id, host) VALUES (?, ?)"
                                       : "DELETE FROM aggregate_hosts WHERE aggregate_id = ? AND host = ?",
                                   params, 2, NULL, &err);
    if (st == NPH_OK)
        st = touch(req->db, id, &err);
    if (st != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    req->params[0] = id;
    reply_current(req, resp);
}

static void set_metadata(struct api_request *req, struct api_response *resp, json_object *agg,
                         json_object *arg)
{
    json_object *meta = action_argument(resp, arg, "metadata", json_type_object);
    if (!meta)
        return;
    json_object_object_foreach(meta, key, value) {
        size_t len = strlen(key);
        bool ok = value == NULL || (json_object_is_type(value, json_type_string) &&
                                    strlen(json_object_get_string(value)) <= 255);
        if (len < 1 || len > 255 || !ok) {
            api_error(resp, 400, "Invalid input for field/attribute metadata. Key '%s' or its "
                                 "value is not a string of up to 255 characters",
                      key);
            return;
        }
    }
    int64_t agg_id = json_object_get_int64(api_member(agg, "id"));
    json_object *az = api_member(meta, AZ_KEY);
    if (az && !zone_conflict_free(req, resp, agg_id, api_member(agg, "hosts"), NULL,
                                  json_object_get_string(az)))
        return;
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)agg_id);
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_db_begin(req->db, &err);
    json_object_object_foreach(meta, k, v) {
        if (st == NPH_OK)
            st = set_meta(req->db, id, k, v ? json_object_get_string(v) : NULL, &err);
    }
    if (st == NPH_OK)
        st = touch(req->db, id, &err);
    if (!api_commit(req, resp, st, &err, NULL))
        return;
    req->params[0] = id;
    reply_current(req, resp);
}

void api_aggregates_action(struct api_request *req, struct api_response *resp)
{
    if (!api_is_admin(req, resp))
        return;
    if (!json_object_is_type(req->body, json_type_object) || json_object_object_length(req->body) != 1) {
        api_error(resp, 400, "There is either no action or more than one action in the request "
                             "body.");
        return;
    }
    nph_auto_json *agg = find(req, resp);
    if (!agg)
        return;
    json_object_object_foreach(req->body, action, arg) {
        if (strcmp(action, "add_host") == 0 || strcmp(action, "remove_host") == 0)
            change_host(req, resp, agg, arg, action[0] == 'a');
        else if (strcmp(action, "set_metadata") == 0)
            set_metadata(req, resp, agg, arg);
        else
            api_error(resp, 400, "Invalid input for field/attribute aggregate action: there is "
                                 "no action '%s'",
                      action);
    }
}
