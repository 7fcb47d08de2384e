/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Quotas per project: limits from [quota] and the quotas table, usage
 * counted from the records (as Nova counts since Train), and
 * /os-quota-sets. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "db-objects.h"
#include "error.h"

/* The resources, in the order Nova lists them, and since which / until
 * which microversion os-quota-sets shows them. */
static const struct {
    const char *name;
    int64_t fallback;
    int until; /* 0: still shown */
} resources[API_QUOTA_COUNT] = {
    [API_QUOTA_INSTANCES] = { "instances", 10, 0 },
    [API_QUOTA_CORES] = { "cores", 20, 0 },
    [API_QUOTA_RAM] = { "ram", 51200, 0 },
    [API_QUOTA_KEY_PAIRS] = { "key_pairs", 100, 0 },
    [API_QUOTA_METADATA_ITEMS] = { "metadata_items", 128, 0 },
    [API_QUOTA_SERVER_GROUPS] = { "server_groups", 10, 0 },
    [API_QUOTA_SERVER_GROUP_MEMBERS] = { "server_group_members", 10, 0 },
    [API_QUOTA_INJECTED_FILES] = { "injected_files", 5, 56 },
    [API_QUOTA_INJECTED_FILE_CONTENT_BYTES] = { "injected_file_content_bytes", 10240, 56 },
    [API_QUOTA_INJECTED_FILE_PATH_BYTES] = { "injected_file_path_bytes", 255, 56 },
};

const char *api_quota_name(enum api_quota_resource r)
{
    return resources[r].name;
}

nph_status api_quota_limits(nph_api *api, nph_db *db, const char *project, int64_t limits[],
                            nph_error *err)
{
    for (int r = 0; r < API_QUOTA_COUNT; r++)
        limits[r] = api->quota_defaults[r];
    const char *params[] = { project };
    nph_auto_json *rows = NULL;
    nph_status st = nph_db_select_rows(db, "SELECT resource, hard_limit FROM quotas WHERE "
                                           "project_id = ?",
                                       params, 1, &rows, err);
    for (size_t i = 0; st == NPH_OK && i < json_object_array_length(rows); i++) {
        json_object *row = json_object_array_get_idx(rows, i);
        const char *name = json_object_get_string(json_object_object_get(row, "resource"));
        for (int r = 0; r < API_QUOTA_COUNT; r++)
            if (name && strcmp(name, resources[r].name) == 0)
                limits[r] = json_object_get_int64(json_object_object_get(row, "hard_limit"));
    }
    return st;
}

nph_status api_quota_usage(nph_db *db, const char *project, const char *user, int64_t used[],
                           nph_error *err)
{
    memset(used, 0, sizeof(int64_t) * API_QUOTA_COUNT);
    const char *params[] = { project };
    nph_auto_json *rows = NULL;
    nph_status st = nph_db_select_rows(db,
                                       "SELECT COUNT(*) AS instances, COALESCE(SUM(vcpus), 0) AS "
                                       "cores, COALESCE(SUM(memory_mb), 0) AS ram FROM instances "
                                       "WHERE project_id = ? AND deleted = 0",
                                       params, 1, &rows, err);
    if (st != NPH_OK)
        return st;
    json_object *row = json_object_array_get_idx(rows, 0);
    used[API_QUOTA_INSTANCES] = json_object_get_int64(json_object_object_get(row, "instances"));
    used[API_QUOTA_CORES] = json_object_get_int64(json_object_object_get(row, "cores"));
    used[API_QUOTA_RAM] = json_object_get_int64(json_object_object_get(row, "ram"));
    nph_auto_json *groups = NULL;
    st = nph_db_select_rows(db, "SELECT COUNT(*) AS n FROM instance_groups WHERE project_id = ? AND "
                                "deleted = 0",
                            params, 1, &groups, err);
    if (st != NPH_OK)
        return st;
    used[API_QUOTA_SERVER_GROUPS] =
        json_object_get_int64(json_object_object_get(json_object_array_get_idx(groups, 0), "n"));
    if (user) {
        const char *kp_params[] = { user };
        nph_auto_json *kp = NULL;
        st = nph_db_select_rows(db, "SELECT COUNT(*) AS n FROM key_pairs WHERE user_id = ? AND "
                                    "deleted = 0",
                                kp_params, 1, &kp, err);
        if (st == NPH_OK)
            used[API_QUOTA_KEY_PAIRS] =
                json_object_get_int64(json_object_object_get(json_object_array_get_idx(kp, 0), "n"));
    }
    return st;
}

int64_t api_quota_fit(const int64_t limits[], const int64_t used[], const int64_t each[],
                      int64_t wanted, char *message, size_t len)
{
    int64_t fit = wanted;
    for (int r = 0; r < API_QUOTA_COUNT; r++) {
        if (each[r] <= 0 || limits[r] < 0)
            continue;
        int64_t room = limits[r] - used[r];
        int64_t n = room > 0 ? room / each[r] : 0;
        if (n < fit) {
            fit = n;
            snprintf(message, len,
                     "Quota exceeded for %s: Requested %lld, but already used %lld of %lld %s",
                     resources[r].name, (long long)(each[r] * wanted), (long long)used[r],
                     (long long)limits[r], resources[r].name);
        }
    }
    return fit;
}

nph_status api_quota_read_config(nph_api *api, const nph_config *cfg, nph_error *err)
{
    for (int r = 0; r < API_QUOTA_COUNT; r++) {
        nph_status st = nph_config_get_int(cfg, "quota", resources[r].name, resources[r].fallback,
                                           &api->quota_defaults[r], err);
        if (st != NPH_OK)
            return st;
        if (api->quota_defaults[r] < -1)
            return nph_config_entry_error(err, NPH_ERR_INVALID,
                                          nph_config_find(cfg, "quota", resources[r].name),
                                          "a quota is -1 (unlimited) or more");
    }
    return NPH_OK;
}

/* ---- /os-quota-sets ------------------------------------------------------ */

static bool shown(const struct api_request *req, int r)
{
    return !resources[r].until || req->minor <= resources[r].until;
}

static json_object *quota_set(const struct api_request *req, const char *project,
                              const int64_t limits[], const int64_t *used)
{
    json_object *set = json_object_new_object();
    if (project)
        nph_json_add_string(set, "id", project);
    for (int r = 0; r < API_QUOTA_COUNT; r++) {
        if (!shown(req, r))
            continue;
        if (!used) {
            nph_json_add_int(set, resources[r].name, limits[r]);
            continue;
        }
        json_object *detail = json_object_new_object();
        nph_json_add_int(detail, "limit", limits[r]);
        nph_json_add_int(detail, "in_use", used[r]);
        nph_json_add_int(detail, "reserved", 0);
        json_object_object_add(set, resources[r].name, detail);
    }
    if (req->minor < 36) { /* the network quotas Nova proxied until 2.36 */
        static const char *const network[] = { "fixed_ips", "floating_ips", "security_groups",
                                               "security_group_rules" };
        static const int64_t network_limits[] = { -1, 10, 10, 20 };
        for (size_t i = 0; i < 4; i++) {
            if (!used) {
                nph_json_add_int(set, network[i], network_limits[i]);
                continue;
            }
            json_object *detail = json_object_new_object();
            nph_json_add_int(detail, "limit", network_limits[i]);
            nph_json_add_int(detail, "in_use", 0);
            nph_json_add_int(detail, "reserved", 0);
            json_object_object_add(set, network[i], detail);
        }
    }
    return set;
}

/* A member may read its own project's quotas; everything else is an admin's. */
static bool may_read(struct api_request *req, struct api_response *resp, const char *project)
{
    return strcmp(project, req->ctx.project_id) == 0 || api_is_admin(req, resp);
}

static void show(struct api_request *req, struct api_response *resp, bool detail)
{
    const char *project = req->params[0];
    int64_t limits[API_QUOTA_COUNT], used[API_QUOTA_COUNT];
    nph_error err = NPH_ERROR_INIT;
    if (!may_read(req, resp, project))
        return;
    const char *usage = api_query(req, "usage");
    detail = detail || (usage && strcmp(usage, "True") == 0) || (usage && strcmp(usage, "true") == 0);
    if (api_quota_limits(req->api, req->db, project, limits, &err) != NPH_OK ||
        (detail && api_quota_usage(req->db, project, api_query(req, "user_id") ? api_query(req, "user_id")
                                                                                : req->ctx.user_id,
                                   used, &err) != NPH_OK)) {
        api_error_from(resp, &err);
        return;
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "quota_set", quota_set(req, project, limits, detail ? used : NULL));
    api_reply(resp, 200, body);
}

void api_quota_sets_show(struct api_request *req, struct api_response *resp)
{
    show(req, resp, false);
}

void api_quota_sets_detail(struct api_request *req, struct api_response *resp)
{
    show(req, resp, true);
}

void api_quota_sets_defaults(struct api_request *req, struct api_response *resp)
{
    json_object *body = json_object_new_object();
    json_object_object_add(body, "quota_set",
                           quota_set(req, req->params[0], req->api->quota_defaults, NULL));
    api_reply(resp, 200, body);
}

void api_quota_sets_update(struct api_request *req, struct api_response *resp)
{
    json_object *set;
    if (!api_is_admin(req, resp) || !api_body_object(req, resp, "quota_set", &set))
        return;
    const char *project = req->params[0];
    nph_error err = NPH_ERROR_INIT;
    json_object_object_foreach(set, key, value) {
        if (strcmp(key, "force") == 0)
            continue;
        int r = 0;
        while (r < API_QUOTA_COUNT && (strcmp(resources[r].name, key) != 0 || !shown(req, r)))
            r++;
        const char *text = json_object_get_string(value);
        char *end = NULL;
        long long limit = text ? strtoll(text, &end, 10) : 0;
        if (r == API_QUOTA_COUNT) {
            api_error(resp, 400, "Additional properties are not allowed ('%s' was unexpected)", key);
            return;
        }
        if (!text || !*text || *end || limit < -1 ||
            (!json_object_is_type(value, json_type_int) && !json_object_is_type(value, json_type_string))) {
            api_error(resp, 400, "Invalid input for field/attribute %s. Value: %s. It must be an "
                                 "integer of -1 or more",
                      key, json_object_to_json_string(value));
            return;
        }
    }
    json_object_object_foreach(set, name, val) {
        if (strcmp(name, "force") == 0)
            continue;
        char limit[24];
        snprintf(limit, sizeof(limit), "%lld", (long long)strtoll(json_object_get_string(val), NULL, 10));
        const char *params[] = { limit, project, name };
        int64_t changed = 0;
        nph_status st = nph_db_execute(req->db, "UPDATE quotas SET hard_limit = ? WHERE "
                                                "project_id = ? AND resource = ?",
                                       params, 3, &changed, &err);
        const char *insert[] = { project, name, limit };
        if (st == NPH_OK && changed == 0)
            st = nph_db_execute(req->db, "INSERT INTO quotas (project_id, resource, hard_limit) "
                                         "VALUES (?, ?, ?)",
                                insert, 3, NULL, &err);
        if (st != NPH_OK) {
            api_error_from(resp, &err);
            return;
        }
    }
    int64_t limits[API_QUOTA_COUNT];
    if (api_quota_limits(req->api, req->db, project, limits, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "quota_set", quota_set(req, NULL, limits, NULL));
    api_reply(resp, 200, body);
}

void api_quota_sets_delete(struct api_request *req, struct api_response *resp)
{
    if (!api_is_admin(req, resp))
        return;
    const char *params[] = { req->params[0] };
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_execute(req->db, "DELETE FROM quotas WHERE project_id = ?", params, 1, NULL, &err) !=
        NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    resp->status = 202;
}
