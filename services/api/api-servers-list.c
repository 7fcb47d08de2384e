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
#include "uuid.h"

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

static bool flavor_is(const char *flavor_text, const char *want)
{
    char id[256];
    return api_flavor_id_of(flavor_text, id, sizeof(id)) && strcmp(id, want) == 0;
}

static bool wanted(const struct list_query *q, const struct api_server_row *row)
{
    const char *name = row->text[SR_NAME];
    if (q->has_name_re && regexec(&q->name_re, name ? name : "", 0, NULL, 0) != 0)
        return false;
    if (q->status &&
        strcasecmp(q->status, api_server_status(row->text[SR_VM_STATE], row->text[SR_TASK_STATE])) != 0)
        return false;
    return !q->flavor || flavor_is(row->text[SR_FLAVOR], q->flavor);
}

/* Fill `row` from the statement's current row; `map` holds each view
 * column's index in the result (-1: not selected). */
static void row_from_stmt(nph_db_stmt *stmt, const int map[SR_COUNT], struct api_server_row *row)
{
    for (int c = 0; c < SR_COUNT; c++) {
        if (c < SR_ID)
            row->text[c] = map[c] >= 0 ? nph_db_col_text(stmt, map[c]) : NULL;
        else
            row->num[c - SR_ID] = map[c] >= 0 ? nph_db_col_int(stmt, map[c]) : 0;
    }
}

static void map_columns(nph_db_stmt *stmt, int map[SR_COUNT])
{
    int n = nph_db_column_count(stmt);
    for (int c = 0; c < SR_COUNT; c++) {
        map[c] = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(nph_db_column_name(stmt, i), api_server_columns[c]) == 0)
                map[c] = i;
    }
}

/* Write the page of rows after `marker` into `out`; false with a 400 when
 * the marker is not among them. */
static nph_status render_page(struct api_request *req, const struct list_query *q, bool detail,
                              int limit, const char *marker, nph_buffer *out, char *last,
                              int *count, bool *marker_found, nph_error *err)
{
    nph_auto_buffer sql = NPH_BUFFER_INIT;
    nph_buffer_appendf(&sql, "SELECT * FROM instances WHERE %s", nph_buffer_str(&q->where));
    nph_db_stmt *stmt;
    nph_status st = nph_db_prepare(req->db, nph_buffer_str(&sql), &stmt, err);
    if (st != NPH_OK)
        return st;
    for (size_t i = 0; i < q->n_params; i++)
        nph_db_bind_text(stmt, (int)i + 1, q->params[i]);
    int map[SR_COUNT];
    bool mapped = false, has_row = false, passed_marker = !marker;
    *marker_found = !marker;
    while (*count < limit && (st = nph_db_step(stmt, &has_row, err)) == NPH_OK && has_row) {
        if (!mapped) {
            map_columns(stmt, map);
            mapped = true;
        }
        struct api_server_row row;
        row_from_stmt(stmt, map, &row);
        if (!passed_marker) {
            passed_marker = *marker_found = row.text[SR_UUID] && strcmp(row.text[SR_UUID], marker) == 0;
            continue;
        }
        if (!wanted(q, &row))
            continue;
        if ((*count)++ > 0)
            nph_buffer_append(out, ",", 1);
        snprintf(last, NPH_UUID_STRLEN + 1, "%s", row.text[SR_UUID] ? row.text[SR_UUID] : "");
        if (!detail) {
            api_server_brief(req, out, &row);
            continue;
        }
        nph_auto_json *fault = row.text[SR_VM_STATE] && strcmp(row.text[SR_VM_STATE], "error") == 0
                                   ? api_server_fault(req, row.text[SR_UUID]) : NULL;
        api_server_view(req, out, &row, fault, API_SERVER_DETAIL);
    }
    nph_db_reset(stmt);
    return st;
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
    nph_auto_buffer out = NPH_BUFFER_INIT;
    nph_buffer_append(&out, "{\"servers\":[", 12);
    char last[NPH_UUID_STRLEN + 1] = "";
    int count = 0;
    bool marker_found = false;
    nph_error err = NPH_ERROR_INIT;
    nph_status st = render_page(req, &q, detail, limit, marker, &out, last, &count,
                                &marker_found, &err);
    nph_buffer_reset(&q.where);
    if (q.has_name_re)
        regfree(&q.name_re);
    if (st != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    if (!marker_found) {
        api_error(resp, 400, "marker [%s] not found", marker);
        return;
    }
    nph_buffer_append(&out, "]", 1);
    if (limit > 0 && count == limit) {
        nph_auto_json *links = api_next_link(req, detail ? "servers/detail" : "servers", last, limit);
        nph_buffer_appendf(&out, ",\"servers_links\":%s",
                           json_object_to_json_string_ext(links, JSON_C_TO_STRING_PLAIN |
                                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
    }
    nph_buffer_append(&out, "}", 1);
    api_reply_text(resp, 200, &out);
}

void api_servers_list(struct api_request *req, struct api_response *resp)
{
    list(req, resp, false);
}

void api_servers_detail(struct api_request *req, struct api_response *resp)
{
    list(req, resp, true);
}
