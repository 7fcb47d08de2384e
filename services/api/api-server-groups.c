/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /os-server-groups: named groups of servers with a placement policy
 * (affinity, anti-affinity and, from 2.15, their soft forms).  A server
 * joins a group at creation through the scheduler hint "group"
 * (api_server_group_join); the conductor places it by the policy.
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

/* Live members of group `group_id` (the row id), as an array of uuids. */
static json_object *members_of(nph_db *db, json_object *group)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)json_object_get_int64(api_member(group, "id")));
    const char *params[] = { id };
    nph_auto_json *rows = NULL;
    json_object *out = json_object_new_array();
    if (nph_db_select_rows(db, "SELECT m.instance_uuid FROM instance_group_member m JOIN instances "
                               "i ON i.uuid = m.instance_uuid AND i.deleted = 0 WHERE m.group_id = "
                               "? ORDER BY m.id",
                           params, 1, &rows, NULL) == NPH_OK)
        for (size_t i = 0; i < json_object_array_length(rows); i++)
            json_object_array_add(out, json_object_get(api_member(json_object_array_get_idx(rows, i),
                                                                  "instance_uuid")));
    return out;
}

static json_object *group_view(struct api_request *req, json_object *group)
{
    json_object *view = json_object_new_object();
    json_object_object_add(view, "id", json_object_get(api_member(group, "uuid")));
    json_object_object_add(view, "name", json_object_get(api_member(group, "name")));
    json_object *policy = api_member(group, "policy");
    if (req->minor >= 64) {
        json_object_object_add(view, "policy", json_object_get(policy));
        const char *rules = json_object_get_string(api_member(group, "rules"));
        json_object *parsed = rules ? nph_json_parse(rules, strlen(rules), NULL) : NULL;
        json_object_object_add(view, "rules", parsed ? parsed : json_object_new_object());
    } else {
        json_object *policies = json_object_new_array();
        json_object_array_add(policies, json_object_get(policy));
        json_object_object_add(view, "policies", policies);
    }
    json_object_object_add(view, "members", members_of(req->db, group));
    if (req->minor < 64)
        json_object_object_add(view, "metadata", json_object_new_object());
    if (req->minor >= 13) {
        json_object_object_add(view, "project_id", json_object_get(api_member(group, "project_id")));
        json_object_object_add(view, "user_id", json_object_get(api_member(group, "user_id")));
    }
    return view;
}

/* The group `uuid` as the caller may see it (its project's, or any for an
 * admin); NULL when there is none.  Caller puts. */
static json_object *find_group(struct api_request *req, const char *uuid)
{
    const char *params[] = { uuid, req->ctx.project_id };
    nph_auto_json *rows = NULL;
    if (!nph_uuid_is_valid(uuid) ||
        nph_db_select_rows(req->db,
                           req->ctx.is_admin
                               ? "SELECT * FROM instance_groups WHERE uuid = ? AND deleted = 0"
                               : "SELECT * FROM instance_groups WHERE uuid = ? AND deleted = 0 AND "
                                 "project_id = ?",
                           params, req->ctx.is_admin ? 1 : 2, &rows, NULL) != NPH_OK)
        return NULL;
    return json_object_get(json_object_array_get_idx(rows, 0));
}

void api_server_groups_list(struct api_request *req, struct api_response *resp)
{
    const char *all = api_query(req, "all_projects");
    bool all_projects = all && (strcasecmp(all, "true") == 0 || strcmp(all, "1") == 0);
    if (all_projects && !api_is_admin(req, resp))
        return;
    int limit;
    const char *marker;
    if (!api_paging(req, resp, &limit, &marker))
        return;
    const char *offset_text = api_query(req, "offset");
    char *end = NULL;
    long long offset = offset_text ? strtoll(offset_text, &end, 10) : 0;
    if (offset_text && (!*offset_text || *end || offset < 0)) {
        api_error(resp, 400, "Invalid input for query parameters offset. Value: %s.", offset_text);
        return;
    }
    const char *params[] = { req->ctx.project_id };
    nph_auto_json *rows = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_select_rows(req->db,
                           all_projects ? "SELECT * FROM instance_groups WHERE deleted = 0 ORDER BY id"
                                        : "SELECT * FROM instance_groups WHERE deleted = 0 AND "
                                          "project_id = ? ORDER BY id",
                           params, all_projects ? 0 : 1, &rows, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    json_object *list = json_object_new_array();
    for (size_t i = (size_t)offset; i < json_object_array_length(rows) &&
                                    (int)json_object_array_length(list) < limit;
         i++)
        json_object_array_add(list, group_view(req, json_object_array_get_idx(rows, i)));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "server_groups", list);
    api_reply(resp, 200, body);
}

void api_server_groups_show(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *group = find_group(req, req->params[0]);
    if (!group) {
        api_error(resp, 404, "Instance group %s could not be found.", req->params[0]);
        return;
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "server_group", group_view(req, group));
    api_reply(resp, 200, body);
}

void api_server_groups_delete(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *group = find_group(req, req->params[0]);
    if (!group) {
        api_error(resp, 404, "Instance group %s could not be found.", req->params[0]);
        return;
    }
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)json_object_get_int64(api_member(group, "id")));
    const char *params[] = { id };
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_db_begin(req->db, &err);
    if (st == NPH_OK)
        st = nph_db_execute(req->db, "DELETE FROM instance_group_member WHERE group_id = ?", params,
                            1, NULL, &err);
    if (st == NPH_OK)
        st = nph_db_execute(req->db, "UPDATE instance_groups SET deleted = id WHERE id = ?", params,
                            1, NULL, &err);
    if (api_commit(req, resp, st, &err, NULL))
        resp->status = 204;
}

/* ---- create ---------------------------------------------------------------- */

static bool known_policy(const struct api_request *req, const char *policy)
{
    static const char *const policies[] = { "anti-affinity", "affinity", "soft-anti-affinity",
                                            "soft-affinity", NULL };
    for (size_t i = 0; policies[i]; i++)
        if (strcmp(policies[i], policy) == 0)
            return i < 2 || req->minor >= 15;
    return false;
}

/* The policy of a create body: "policies": [one] before 2.64, then
 * "policy" and optional "rules"; false with a 400 in resp. */
static bool read_policy(struct api_request *req, struct api_response *resp, json_object *group,
                        const char **policy, json_object **rules)
{
    *rules = NULL;
    if (req->minor < 64) {
        json_object *list = api_member(group, "policies");
        if (!json_object_is_type(list, json_type_array) || json_object_array_length(list) != 1 ||
            !json_object_is_type(json_object_array_get_idx(list, 0), json_type_string)) {
            api_error(resp, 400, "Invalid input for field/attribute policies. Value: %s. It must "
                                 "be a list of one policy",
                      list ? json_object_to_json_string(list) : "None");
            return false;
        }
        *policy = json_object_get_string(json_object_array_get_idx(list, 0));
    } else {
        json_object *p = api_member(group, "policy");
        *policy = json_object_is_type(p, json_type_string) ? json_object_get_string(p) : NULL;
        *rules = api_member(group, "rules");
    }
    if (!*policy || !known_policy(req, *policy)) {
        api_error(resp, 400, "Invalid input for field/attribute policy. Value: %s. It is not one "
                             "of the policies of microversion 2.%d",
                  *policy ? *policy : "None", req->minor);
        return false;
    }
    if (!*rules)
        return true;
    json_object *max = api_member(*rules, "max_server_per_host");
    if (!json_object_is_type(*rules, json_type_object) || strcmp(*policy, "anti-affinity") != 0 ||
        json_object_object_length(*rules) != (max ? 1 : 0) ||
        (max && (!json_object_is_type(max, json_type_int) || json_object_get_int64(max) < 1))) {
        api_error(resp, 400, "Invalid input for field/attribute rules. Only the anti-affinity "
                             "policy has rules, and its one rule is max_server_per_host, a "
                             "positive integer");
        return false;
    }
    return true;
}

/* Counted and written in one transaction, so two creates cannot both take
 * the last place of the quota. */
static nph_status record_group(struct api_request *req, const char *uuid, const char *name,
                               const char *policy, json_object *rules, bool *over_quota,
                               nph_error *err)
{
    int64_t limits[API_QUOTA_COUNT], used[API_QUOTA_COUNT];
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    const char *params[] = { uuid, name, req->ctx.user_id, req->ctx.project_id, policy,
                             rules ? json_object_to_json_string_ext(rules, JSON_C_TO_STRING_PLAIN)
                                   : NULL,
                             now };
    nph_status st = nph_db_begin(req->db, err);
    if (st == NPH_OK)
        st = api_quota_limits(req->api, req->db, req->ctx.project_id, limits, err);
    if (st == NPH_OK)
        st = api_quota_usage(req->db, req->ctx.project_id, NULL, used, err);
    *over_quota = st == NPH_OK && limits[API_QUOTA_SERVER_GROUPS] >= 0 &&
                  used[API_QUOTA_SERVER_GROUPS] >= limits[API_QUOTA_SERVER_GROUPS];
    if (st == NPH_OK && !*over_quota)
        st = nph_db_execute(req->db,
                            "INSERT INTO instance_groups (uuid, name, user_id, project_id, policy, "
                            "rules, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            params, 7, NULL, err);
    if (st == NPH_OK && !*over_quota)
        return nph_db_commit(req->db, err);
    nph_db_rollback(req->db);
    return st;
}

void api_server_groups_create(struct api_request *req, struct api_response *resp)
{
    json_object *group;
    static const char *const v1[] = { "name", "policies", NULL };
    static const char *const v64[] = { "name", "policy", "rules", NULL };
    if (!api_body_object(req, resp, "server_group", &group) ||
        !api_no_extra_members(resp, group, req->minor >= 64 ? v64 : v1))
        return;
    json_object *name_v = api_member(group, "name");
    const char *name = json_object_is_type(name_v, json_type_string) ? json_object_get_string(name_v) : "";
    if (strlen(name) < 1 || strlen(name) > 255) {
        api_error(resp, 400, "Invalid input for field/attribute name. Value: %s. It must be a "
                             "string of 1 to 255 characters",
                  name_v ? json_object_to_json_string(name_v) : "None");
        return;
    }
    const char *policy;
    json_object *rules;
    if (!read_policy(req, resp, group, &policy, &rules))
        return;
    char uuid[NPH_UUID_STRLEN + 1];
    nph_uuid_generate(uuid);
    bool over_quota = false;
    nph_error err = NPH_ERROR_INIT;
    if (record_group(req, uuid, name, policy, rules, &over_quota, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    if (over_quota) {
        api_error(resp, 403, "Quota exceeded, too many server groups.");
        return;
    }
    req->params[0] = uuid;
    api_server_groups_show(req, resp);
}

/* ---- membership at server creation ----------------------------------------- */

bool api_server_group_join(struct api_request *req, struct api_response *resp,
                           const char *group_uuid, const char (*instances)[NPH_UUID_STRLEN + 1],
                           int64_t count)
{
    nph_auto_json *group = find_group(req, group_uuid);
    if (!group) {
        api_error(resp, 400, "Invalid server group: %s could not be found.", group_uuid);
        return false;
    }
    int64_t limits[API_QUOTA_COUNT];
    nph_error err = NPH_ERROR_INIT;
    nph_status st = api_quota_limits(req->api, req->db, req->ctx.project_id, limits, &err);
    nph_auto_json *members = members_of(req->db, group);
    int64_t limit = limits[API_QUOTA_SERVER_GROUP_MEMBERS];
    if (st == NPH_OK && limit >= 0 && (int64_t)json_object_array_length(members) + count > limit) {
        api_error(resp, 403, "Quota exceeded, too many servers in group");
        return false;
    }
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)json_object_get_int64(api_member(group, "id")));
    for (int64_t i = 0; st == NPH_OK && i < count; i++) {
        const char *params[] = { id, instances[i] };
        st = nph_db_execute(req->db, "INSERT INTO instance_group_member (group_id, instance_uuid) "
                                     "VALUES (?, ?)",
                            params, 2, NULL, &err);
    }
    if (st != NPH_OK)
        api_error_from(resp, &err);
    return st == NPH_OK;
}
