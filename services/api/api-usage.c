/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * /os-simple-tenant-usage: what each project's servers used in a period,
 * in hours of server, vCPU, MiB of RAM and GiB of disk.  A server counts
 * from launched_at to terminated_at (or now), cut to the period; deleted
 * servers of the period count too.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-internal.h"
#include "clock.h"
#include "db-objects.h"
#include "error.h"

struct period {
    double start, stop;               /* seconds since the epoch */
    char start_text[32], stop_text[32]; /* as the database stores times */
};

/* "YYYY-MM-DDTHH:MM:SS[.ffffff][Z]" (or a space for the T) to seconds. */
static bool parse_time(const char *text, double *out)
{
    struct tm tm = { 0 };
    char sep = 0;
    int consumed = 0;
    if (sscanf(text, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &sep,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 7 ||
        (sep != 'T' && sep != ' ') || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return false;
    const char *rest = text + consumed;
    double fraction = 0;
    if (*rest == '.') {
        char *end;
        fraction = strtod(rest, &end);
        rest = end;
    }
    if (*rest == 'Z')
        rest++;
    if (*rest)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (double)timegm(&tm) + fraction;
    return true;
}

static void format_time(double t, char out[32])
{
    time_t secs = (time_t)t;
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%06ldZ", base, (long)((t - (double)secs) * 1e6));
}

static double now_seconds(void)
{
    char text[NPH_ISO_TIME_LEN];
    double now = 0;
    nph_clock_iso_now(text);
    parse_time(text, &now);
    return now;
}

/* start and end of the query (each defaulting to now); false with a 400. */
static bool read_period(struct api_request *req, struct api_response *resp, struct period *p)
{
    const char *start = api_query(req, "start"), *end = api_query(req, "end");
    p->start = p->stop = now_seconds();
    const char *bad = start && !parse_time(start, &p->start) ? "start"
                      : end && !parse_time(end, &p->stop)    ? "end"
                                                             : NULL;
    if (bad) {
        api_error(resp, 400, "Invalid %s time. The time format should be like this: "
                             "2012-10-08T21:10:44.587336",
                  bad);
        return false;
    }
    if (p->start > p->stop) {
        api_error(resp, 400, "Invalid start time. The start time cannot occur after the end time.");
        return false;
    }
    format_time(p->start, p->start_text);
    format_time(p->stop, p->stop_text);
    return true;
}

/* Servers (deleted ones too) that ran during the period, of `project` or
 * of every project, by project then creation. */
static nph_status servers_in_period(struct api_request *req, const struct period *p,
                                    const char *project, json_object **rows, nph_error *err)
{
    const char *params[] = { p->start_text, p->stop_text, project };
    return nph_db_select_rows(req->db,
                              project ? "SELECT * FROM instances WHERE (terminated_at IS NULL OR "
                                        "terminated_at >= ?) AND launched_at IS NOT NULL AND "
                                        "launched_at <= ? AND project_id = ? ORDER BY id"
                                      : "SELECT * FROM instances WHERE (terminated_at IS NULL OR "
                                        "terminated_at >= ?) AND launched_at IS NOT NULL AND "
                                        "launched_at <= ? ORDER BY project_id, id",
                              params, project ? 3 : 2, rows, err);
}

static int64_t flavor_int(json_object *flavor, const char *key)
{
    return json_object_get_int64(api_member(flavor, key));
}

static json_object *server_usage(json_object *row, const struct period *p, double now, double *hours)
{
    const char *flavor_text = json_object_get_string(api_member(row, "flavor"));
    nph_auto_json *flavor = flavor_text ? nph_json_parse(flavor_text, strlen(flavor_text), NULL) : NULL;
    const char *launched = json_object_get_string(api_member(row, "launched_at"));
    const char *terminated = json_object_get_string(api_member(row, "terminated_at"));
    double started = 0, ended = now;
    parse_time(launched, &started);
    if (terminated)
        parse_time(terminated, &ended);
    double from = started > p->start ? started : p->start, to = ended < p->stop ? ended : p->stop;
    *hours = to > from ? (to - from) / 3600.0 : 0;
    json_object *u = json_object_new_object();
    json_object_object_add(u, "instance_id", json_object_get(api_member(row, "uuid")));
    json_object_object_add(u, "name", json_object_get(api_member(row, "display_name")));
    json_object_object_add(u, "hours", json_object_new_double(*hours));
    nph_json_add_int(u, "memory_mb", flavor_int(flavor, "memory_mb"));
    nph_json_add_int(u, "local_gb", flavor_int(flavor, "root_gb"));
    nph_json_add_int(u, "vcpus", flavor_int(flavor, "vcpus"));
    json_object_object_add(u, "tenant_id", json_object_get(api_member(row, "project_id")));
    json_object_object_add(u, "flavor", json_object_get(api_member(flavor, "name")));
    json_object_object_add(u, "started_at", api_timestamp(launched));
    json_object_object_add(u, "ended_at", api_timestamp(terminated));
    bool deleted = json_object_get_int64(api_member(row, "deleted")) != 0;
    json_object_object_add(u, "state", deleted ? json_object_new_string("terminated")
                                               : json_object_get(api_member(row, "vm_state")));
    nph_json_add_int(u, "uptime", (int64_t)((terminated ? ended : now) - started));
    return u;
}

/* One project's totals (and, when `detailed`, its servers) from rows
 * [*i, end of that project). */
static json_object *project_usage(json_object *rows, size_t *i, const struct period *p, double now,
                                  bool detailed)
{
    const char *project = json_object_get_string(api_member(json_object_array_get_idx(rows, *i),
                                                            "project_id"));
    double total_hours = 0, vcpus = 0, memory = 0, disk = 0;
    json_object *servers = json_object_new_array();
    for (; *i < json_object_array_length(rows); (*i)++) {
        json_object *row = json_object_array_get_idx(rows, *i);
        if (strcmp(json_object_get_string(api_member(row, "project_id")), project) != 0)
            break;
        double hours;
        json_object *u = server_usage(row, p, now, &hours);
        total_hours += hours;
        vcpus += hours * (double)json_object_get_int64(api_member(u, "vcpus"));
        memory += hours * (double)json_object_get_int64(api_member(u, "memory_mb"));
        disk += hours * (double)json_object_get_int64(api_member(u, "local_gb"));
        json_object_array_add(servers, u);
    }
    json_object *usage = json_object_new_object();
    nph_json_add_string(usage, "tenant_id", project);
    json_object_object_add(usage, "start", api_timestamp(p->start_text));
    json_object_object_add(usage, "stop", api_timestamp(p->stop_text));
    json_object_object_add(usage, "total_hours", json_object_new_double(total_hours));
    json_object_object_add(usage, "total_vcpus_usage", json_object_new_double(vcpus));
    json_object_object_add(usage, "total_memory_mb_usage", json_object_new_double(memory));
    json_object_object_add(usage, "total_local_gb_usage", json_object_new_double(disk));
    if (detailed)
        json_object_object_add(usage, "server_usages", servers);
    else
        json_object_put(servers);
    return usage;
}

void api_usage_list(struct api_request *req, struct api_response *resp)
{
    struct period p;
    if (!api_is_admin(req, resp) || !read_period(req, resp, &p))
        return;
    const char *detailed_text = api_query(req, "detailed");
    bool detailed = detailed_text && strcmp(detailed_text, "0") != 0 &&
                    strcasecmp(detailed_text, "false") != 0;
    nph_auto_json *rows = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (servers_in_period(req, &p, NULL, &rows, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    double now = now_seconds();
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(rows);)
        json_object_array_add(list, project_usage(rows, &i, &p, now, detailed));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "tenant_usages", list);
    api_reply(resp, 200, body);
}

void api_usage_show(struct api_request *req, struct api_response *resp)
{
    struct period p;
    const char *project = req->params[0];
    if (strcmp(project, req->ctx.project_id) != 0 && !api_is_admin(req, resp))
        return;
    if (!read_period(req, resp, &p))
        return;
    nph_auto_json *rows = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (servers_in_period(req, &p, project, &rows, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    json_object *usage;
    size_t i = 0;
    if (json_object_array_length(rows) > 0) {
        usage = project_usage(rows, &i, &p, now_seconds(), true);
    } else { /* Nova answers an empty object for a project without servers */
        usage = json_object_new_object();
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "tenant_usage", usage);
    api_reply(resp, 200, body);
}
