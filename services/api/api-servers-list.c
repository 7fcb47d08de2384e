/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET /servers and /servers/detail: Nova's filters (name as a regular
 * expression, status, image, flavor, host, changes-since, ...), sorting,
 * markers and limits. */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api-servers.h"
#include "buffer.h"
#include "db-objects.h"
#include "error.h"

#define MAX_PARAMS 12

struct list_query {
    nph_buffer where;
    const char *params[MAX_PARAMS];
    size_t n_params;
    regex_t name_re;
    bool has_name_re;
    const char *status, *flavor;
};

static void add_condition(struct list_query *q, const char *sql, const char *param)
{
    nph_buffer_appendf(&q->where, " AND %s", sql);
    if (param && q->n_params < MAX_PARAMS)
        q->params[q->n_params++] = param;
}

static bool plain_filters(struct api_request *req, struct api_response *resp, struct list_query *q)
{
    const char *all = api_query(req, "all_tenants");
    bool all_tenants = req->ctx.is_admin && all && strcasecmp(all, "false") != 0 &&
                       strcmp(all, "0") != 0;
    const char *project = api_query(req, "project_id") ? api_query(req, "project_id")
                                                       : api_query(req, "tenant_id");
    if (!all_tenants)
        add_condition(q, "project_id = ?", req->ctx.project_id);
    else if (project)
        add_condition(q, "project_id = ?", project);
    const char *since = api_query(req, "changes-since");
    if (since) {
        if (strlen(since) < 10 || since[4] != '-') {
            api_error(resp, 400, "Invalid input for query parameters changes-since. Value: %s. "
                                 "'%s' is not a 'date-time'",
                      since, since);
            return false;
        }
        /* Deleted servers changed too: include them, as Nova does. */
        add_condition(q, "updated_at >= ?", since);
    } else {
        add_condition(q, "deleted = 0", NULL);
    }
    static const struct {
        const char *param, *sql;
        bool admin_only;
    } simple[] = {
        { "image", "image_ref = ?", false },
        { "reservation_id", "reservation_id = ?", false },
        { "key_name", "key_name = ?", false },
        { "availability_zone", "availability_zone = ?", false },
        { "host", "host = ?", true },
        { "node", "node = ?", true },
    };
    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
        const char *v = api_query(req, simple[i].param);
        if (v && (!simple[i].admin_only || req->ctx.is_admin))
            add_condition(q, simple[i].sql, v);
    }
    return true;
}

static bool order_by(struct api_request *req, struct api_response *resp, struct list_query *q)
{
    static const struct {
        const char *key, *column;
    } keys[] = {
        { "created_at", "created_at" }, { "updated_at", "updated_at" },
        { "display_name", "display_name" }, { "uuid", "uuid" }, { "vm_state", "vm_state" },
        { "task_state", "task_state" }, { "power_state", "power_state" }, { "host", "host" },
        { "node", "node" }, { "launched_at", "launched_at" }, { "key_name", "key_name" },
        { "availability_zone", "availability_zone" }, { "image_ref", "image_ref" },
        { "project_id", "project_id" }, { "user_id", "user_id" }, { "hostname", "hostname" },
    };
    const char *key = api_query(req, "sort_key"), *dir = api_query(req, "sort_dir");
    const char *column = "created_at";
    if (key) {
        column = NULL;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && !column; i++)
            if (strcmp(keys[i].key, key) == 0)
                column = keys[i].column;
        if (!column) {
            api_error(resp, 400, "Invalid input for query parameters sort_key. Value: %s.", key);
            return false;
        }
    }
    if (dir && strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0) {
        api_error(resp, 400, "Invalid input for query parameters sort_dir. Value: %s. '%s' is not "
                             "one of ['asc', 'desc']",
                  dir, dir);
        return false;
    }
    const char *d = dir ? dir : "desc";
    nph_buffer_appendf(&q->where, " ORDER BY %s %s, id %s", column, d, d);
    return true;
}

static bool post_filters(struct api_request *req, struct api_response *resp, struct list_query *q)
{
    const char *name = api_query(req, "name");
    if (name) {
        int rc = regcomp(&q->name_re, name, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char why[128];
            regerror(rc, &q->name_re, why, sizeof(why));
            api_error(resp, 400, "Invalid input for query parameters name. Value: %s. %s", name, why);
            return false;
        }
        q->has_name_re = true;
    }
    q->status = api_query(req, "status");
    q->flavor = api_query(req, "flavor");
    return true;
}

static bool wanted(const struct list_query *q, json_object *inst)
{
    const char *name = NULL, *vm_state = NULL, *task = NULL;
    nph_json_get_string(inst, "display_name", false, &name, NULL);
    if (q->has_name_re && regexec(&q->name_re, name ? name : "", 0, NULL, 0) != 0)
        return false;
    if (q->status) {
        nph_json_get_string(inst, "vm_state", false, &vm_state, NULL);
        nph_json_get_string(inst, "task_state", false, &task, NULL);
        if (strcasecmp(q->status, api_server_status(vm_state, task)) != 0)
            return false;
    }
    if (q->flavor) {
        json_object *flavor = NULL;
        const char *id = NULL;
        json_object_object_get_ex(inst, "flavor", &flavor);
        nph_json_get_string(flavor, "flavorid", false, &id, NULL);
        if (!id || strcmp(id, q->flavor) != 0)
            return false;
    }
    return true;
}

static void list(struct api_request *req, struct api_response *resp, bool detail)
{
    int limit;
    const char *marker;
    struct list_query q = { .where = NPH_BUFFER_INIT };
    nph_buffer_appendf(&q.where, "1 = 1");
    if (!api_paging(req, resp, &limit, &marker) || !plain_filters(req, resp, &q) ||
        !order_by(req, resp, &q) || !post_filters(req, resp, &q)) {
        nph_buffer_reset(&q.where);
        return;
    }
    nph_auto_json *rows = NULL;
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_db_instance_select(req->db, nph_buffer_str(&q.where), q.params,
                                           q.n_params, &rows, &err);
    nph_buffer_reset(&q.where);
    if (st != NPH_OK) {
        if (q.has_name_re)
            regfree(&q.name_re);
        api_error_from(resp, &err);
        return;
    }
    size_t n = json_object_array_length(rows), start = 0;
    if (marker) {
        bool found = false;
        for (size_t i = 0; i < n && !found; i++) {
            const char *uuid = NULL;
            nph_json_get_string(json_object_array_get_idx(rows, i), "uuid", false, &uuid, NULL);
            if (uuid && strcmp(uuid, marker) == 0) {
                found = true;
                start = i + 1;
            }
        }
        if (!found) {
            if (q.has_name_re)
                regfree(&q.name_re);
            api_error(resp, 400, "marker [%s] not found", marker);
            return;
        }
    }
    json_object *servers = json_object_new_array();
    const char *last = NULL;
    for (size_t i = start; i < n && (int)json_object_array_length(servers) < limit; i++) {
        json_object *inst = json_object_array_get_idx(rows, i);
        if (!wanted(&q, inst))
            continue;
        json_object *fault = NULL;
        const char *vm_state = NULL;
        nph_json_get_string(inst, "uuid", false, &last, NULL);
        nph_json_get_string(inst, "vm_state", false, &vm_state, NULL);
        if (detail && vm_state && strcmp(vm_state, "error") == 0)
            fault = api_server_fault(req, last);
        json_object_array_add(servers, detail ? api_server_view(req, inst, fault, false)
                                              : api_server_brief(req, inst));
        json_object_put(fault);
    }
    if (q.has_name_re)
        regfree(&q.name_re);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "servers", servers);
    if (limit > 0 && (int)json_object_array_length(servers) == limit && last)
        json_object_object_add(body, "servers_links",
                               api_next_link(req, detail ? "servers/detail" : "servers", last, limit));
    api_reply(resp, 200, body);
}

void api_servers_list(struct api_request *req, struct api_response *resp)
{
    list(req, resp, false);
}

void api_servers_detail(struct api_request *req, struct api_response *resp)
{
    list(req, resp, true);
}
