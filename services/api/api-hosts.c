/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the cloud is made of: os-services, os-hypervisors (with
 * statistics), os-availability-zone, and /limits. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api-internal.h"
#include "db-objects.h"
#include "error.h"
#include "uuid.h"

#define SERVICE_DOWN_TIME_S 60

static int64_t num(json_object *obj, const char *key)
{
    return json_object_get_int64(api_member(obj, key));
}

static const char *text(json_object *obj, const char *key)
{
    return json_object_get_string(api_member(obj, key));
}

/* A service is up when it reported within service_down_time. */
static bool service_is_up(json_object *svc)
{
    const char *seen = text(svc, "last_seen_up");
    struct tm tm = { 0 };
    if (num(svc, "forced_down") || !seen || !strptime(seen, "%Y-%m-%dT%H:%M:%S", &tm))
        return false;
    return difftime(time(NULL), timegm(&tm)) <= SERVICE_DOWN_TIME_S;
}

/* The names Nova's tools look for: nephele-compute is nova-compute to them. */
static const char *nova_binary(const char *binary)
{
    static const struct {
        const char *ours, *nova;
    } names[] = {
        { "nephele-compute", "nova-compute" },     { "nephele-conductor", "nova-conductor" },
        { "nephele-scheduler", "nova-scheduler" }, { "nephele-api", "nova-api" },
    };
    for (size_t i = 0; binary && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(binary, names[i].ours) == 0)
            return names[i].nova;
    return binary;
}

/* The zone of a service: its host's aggregate zone, or the default, for
 * computes; "internal" for the rest. */
static const char *service_zone(const struct api_request *req, json_object *svc, json_object *zones)
{
    const char *binary = nova_binary(text(svc, "binary"));
    if (!binary || strcmp(binary, "nova-compute") != 0)
        return "internal";
    json_object *az = api_member(zones, text(svc, "host"));
    return az ? json_object_get_string(az) : req->api->default_az;
}

static json_object *service_view(const struct api_request *req, json_object *svc, json_object *zones)
{
    json_object *view = json_object_new_object();
    if (req->minor >= 53)
        json_object_object_add(view, "id", json_object_get(api_member(svc, "uuid")));
    else
        nph_json_add_int(view, "id", num(svc, "id"));
    const char *binary = nova_binary(text(svc, "binary"));
    nph_json_add_string(view, "binary", binary);
    json_object_object_add(view, "host", json_object_get(api_member(svc, "host")));
    nph_json_add_string(view, "zone", service_zone(req, svc, zones));
    nph_json_add_string(view, "status", num(svc, "disabled") ? "disabled" : "enabled");
    nph_json_add_string(view, "state", service_is_up(svc) ? "up" : "down");
    json_object_object_add(view, "updated_at", api_timestamp(text(svc, "updated_at")));
    json_object_object_add(view, "disabled_reason", json_object_get(api_member(svc, "disabled_reason")));
    if (req->minor >= 11)
        nph_json_add_bool(view, "forced_down", num(svc, "forced_down") != 0);
    return view;
}

void api_services_list(struct api_request *req, struct api_response *resp)
{
    if (!api_is_admin(req, resp))
        return;
    nph_auto_json *rows = NULL, *zones = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_service_list(req->db, &rows, &err) != NPH_OK ||
        api_host_zones(req->db, &zones, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    const char *host = api_query(req, "host"), *binary = api_query(req, "binary");
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *svc = json_object_array_get_idx(rows, i);
        if (host && strcmp(host, text(svc, "host")) != 0)
            continue;
        if (binary && strcmp(binary, nova_binary(text(svc, "binary"))) != 0 &&
            strcmp(binary, text(svc, "binary")) != 0)
            continue;
        json_object_array_add(list, service_view(req, svc, zones));
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "services", list);
    api_reply(resp, 200, body);
}

/* ---- os-hypervisors ------------------------------------------------------ */

/* The compute service of `host`, or NULL. */
static json_object *compute_service(json_object *services, const char *host)
{
    for (size_t i = 0; i < json_object_array_length(services); i++) {
        json_object *svc = json_object_array_get_idx(services, i);
        if (strcmp(text(svc, "binary"), "nephele-compute") == 0 && host &&
            strcmp(text(svc, "host"), host) == 0)
            return svc;
    }
    return NULL;
}

static json_object *hypervisor_view(const struct api_request *req, json_object *node,
                                    json_object *svc, bool detail)
{
    json_object *view = json_object_new_object();
    if (req->minor >= 53)
        json_object_object_add(view, "id", json_object_get(api_member(node, "uuid")));
    else
        nph_json_add_int(view, "id", num(node, "id"));
    json_object_object_add(view, "hypervisor_hostname",
                           json_object_get(api_member(node, "hypervisor_hostname")));
    nph_json_add_string(view, "state", svc && service_is_up(svc) ? "up" : "down");
    nph_json_add_string(view, "status", svc && num(svc, "disabled") ? "disabled" : "enabled");
    if (!detail)
        return view;
    static const char *const copied[] = { "vcpus", "vcpus_used", "memory_mb", "memory_mb_used",
                                          "local_gb", "local_gb_used", "running_vms" };
    for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
        nph_json_add_int(view, copied[i], num(node, copied[i]));
    json_object_object_add(view, "hypervisor_type", json_object_get(api_member(node, "hypervisor_type")));
    nph_json_add_int(view, "hypervisor_version", num(node, "hypervisor_version"));
    nph_json_add_int(view, "free_ram_mb", num(node, "memory_mb") - num(node, "memory_mb_used"));
    nph_json_add_int(view, "free_disk_gb", num(node, "local_gb") - num(node, "local_gb_used"));
    nph_json_add_int(view, "current_workload", 0);
    json_object *least = api_member(node, "disk_available_least");
    json_object_object_add(view, "disk_available_least", json_object_get(least));
    nph_json_add_string(view, "host_ip", "127.0.0.1");
    /* cpu_info: a JSON string before 2.28, the object from then on. */
    const char *cpu = text(node, "cpu_info");
    json_object *parsed = cpu ? nph_json_parse(cpu, strlen(cpu), NULL) : NULL;
    if (req->minor >= 28)
        json_object_object_add(view, "cpu_info", parsed ? parsed : json_object_new_object());
    else {
        nph_json_add_string(view, "cpu_info", cpu ? cpu : "{}");
        json_object_put(parsed);
    }
    json_object *service = json_object_new_object();
    if (req->minor >= 53)
        json_object_object_add(service, "id", json_object_get(api_member(svc, "uuid")));
    else
        nph_json_add_int(service, "id", num(svc, "id"));
    json_object_object_add(service, "host", json_object_get(api_member(node, "host")));
    json_object_object_add(service, "disabled_reason", json_object_get(api_member(svc, "disabled_reason")));
    json_object_object_add(view, "service", service);
    return view;
}

static bool load_nodes(struct api_request *req, struct api_response *resp, json_object **nodes,
                       json_object **services)
{
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_compute_node_list(req->db, nodes, &err) != NPH_OK ||
        nph_db_service_list(req->db, services, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return false;
    }
    return true;
}

/* The servers on a node as {"name", "uuid"}s, for with_servers (2.53) and
 * the servers route before it.  Nova lists those of the node's host; a
 * host with many nodes (the fake driver, Ironic) would show each server
 * under every node, so this lists the node's own. */
static json_object *node_servers(struct api_request *req, json_object *node)
{
    const char *params[] = { text(node, "host"), text(node, "hypervisor_hostname") };
    nph_auto_json *rows = NULL;
    json_object *list = json_object_new_array();
    if (nph_db_instance_select(req->db, "host = ? AND node = ? AND deleted = 0 ORDER BY id",
                               params, 2, &rows, NULL) != NPH_OK)
        return list;
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *inst = json_object_array_get_idx(rows, i), *s = json_object_new_object();
        json_object_object_add(s, "name", json_object_get(api_member(inst, "display_name")));
        json_object_object_add(s, "uuid", json_object_get(api_member(inst, "uuid")));
        json_object_array_add(list, s);
    }
    return list;
}

/* Nova's _view_hypervisor tail: "servers" when the node has some, and
 * from 2.75 an empty list too when they were asked for. */
static void add_servers(struct api_request *req, json_object *view, json_object *node)
{
    json_object *list = node_servers(req, node);
    if (json_object_array_length(list) > 0 || req->minor >= 75)
        json_object_object_add(view, "servers", list);
    else
        json_object_put(list);
}

/* with_servers=BOOL (2.53); false with a 400 for a value that is not one. */
static bool with_servers(struct api_request *req, struct api_response *resp, bool *out)
{
    static const char *const yes[] = { "1", "t", "true", "on", "y", "yes" };
    static const char *const no[] = { "0", "f", "false", "off", "n", "no" };
    const char *v = req->minor >= 53 ? api_query(req, "with_servers") : NULL;
    *out = false;
    if (!v)
        return true;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(v, no[i]) == 0)
            return true;
    }
    api_error(resp, 400, "Invalid input for query parameters with_servers. Value: %s. "
                         "'%s' is not a valid boolean",
              v, v);
    return false;
}

/* The id a view shows: the uuid from 2.53, the number before. */
static const char *node_id(const struct api_request *req, json_object *node, char buf[32])
{
    if (req->minor >= 53)
        return text(node, "uuid");
    snprintf(buf, 32, "%lld", (long long)num(node, "id"));
    return buf;
}

/* Where a page starts: after the node `marker` names; false with a 400
 * when it names none. */
static bool page_start(struct api_request *req, struct api_response *resp, json_object *nodes,
                       const char *marker, size_t *start)
{
    *start = 0;
    if (!marker)
        return true;
    for (size_t i = 0; i < json_object_array_length(nodes); i++) {
        char buf[32];
        if (strcmp(node_id(req, json_object_array_get_idx(nodes, i), buf), marker) == 0) {
            *start = i + 1;
            return true;
        }
    }
    api_error(resp, 400, "marker [%s] not found", marker);
    return false;
}

/* Paging (limit, marker, hypervisors_links) from 2.33; from 2.53 a
 * hostname pattern (which pages do not combine with) and with_servers. */
static void hypervisor_list(struct api_request *req, struct api_response *resp, bool detail)
{
    int limit = req->api->max_limit;
    const char *marker = NULL;
    bool servers;
    nph_auto_json *nodes = NULL, *services = NULL;
    if (!api_is_admin(req, resp) || (req->minor >= 33 && !api_paging(req, resp, &limit, &marker)) ||
        !with_servers(req, resp, &servers))
        return;
    const char *pattern = req->minor >= 53 ? api_query(req, "hypervisor_hostname_pattern") : NULL;
    if (pattern && (marker || api_query(req, "limit"))) {
        api_error(resp, 400, "Paging over hypervisors with the hypervisor_hostname_pattern query "
                             "parameter is not supported.");
        return;
    }
    size_t start;
    if (!load_nodes(req, resp, &nodes, &services) || !page_start(req, resp, nodes, marker, &start))
        return;
    json_object *list = json_object_new_array();
    size_t n = json_object_array_length(nodes);
    for (size_t i = start; i < n && (int)json_object_array_length(list) < limit; i++) {
        json_object *node = json_object_array_get_idx(nodes, i);
        if (pattern && !strstr(text(node, "hypervisor_hostname"), pattern))
            continue;
        json_object *svc = compute_service(services, text(node, "host"));
        json_object *view = hypervisor_view(req, node, svc, detail);
        if (servers)
            add_servers(req, view, node);
        json_object_array_add(list, view);
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "hypervisors", list);
    size_t shown = json_object_array_length(list);
    if (pattern && shown == 0) {
        json_object_put(body);
        api_error(resp, 404, "No hypervisor matching '%s' could be found.", pattern);
        return;
    }
    if (req->minor >= 33 && !pattern && shown > 0 && (int)shown == limit) {
        json_object *last = json_object_array_get_idx(list, shown - 1);
        json_object_object_add(body, "hypervisors_links",
                               api_next_link(req, detail ? "os-hypervisors/detail" : "os-hypervisors",
                                             json_object_get_string(api_member(last, "id")), limit));
    }
    api_reply(resp, 200, body);
}

void api_hypervisors_list(struct api_request *req, struct api_response *resp)
{
    hypervisor_list(req, resp, false);
}

void api_hypervisors_detail(struct api_request *req, struct api_response *resp)
{
    hypervisor_list(req, resp, true);
}

/* GET /os-hypervisors/PATTERN/search and .../servers until 2.52: the
 * nodes whose name holds PATTERN, the latter with their servers. */
static void hypervisor_search(struct api_request *req, struct api_response *resp, bool servers)
{
    nph_auto_json *nodes = NULL, *services = NULL;
    if (!api_is_admin(req, resp) || !load_nodes(req, resp, &nodes, &services))
        return;
    const char *pattern = req->params[0];
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < json_object_array_length(nodes); i++) {
        json_object *node = json_object_array_get_idx(nodes, i);
        if (!strstr(text(node, "hypervisor_hostname"), pattern))
            continue;
        json_object *svc = compute_service(services, text(node, "host"));
        json_object *view = hypervisor_view(req, node, svc, false);
        if (servers)
            add_servers(req, view, node);
        json_object_array_add(list, view);
    }
    if (json_object_array_length(list) == 0) {
        json_object_put(list);
        api_error(resp, 404, "No hypervisor matching '%s' could be found.", pattern);
        return;
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "hypervisors", list);
    api_reply(resp, 200, body);
}

void api_hypervisors_search(struct api_request *req, struct api_response *resp)
{
    hypervisor_search(req, resp, false);
}

void api_hypervisors_servers(struct api_request *req, struct api_response *resp)
{
    hypervisor_search(req, resp, true);
}

/* The node with the path's id; NULL after answering 404 (or 400 for a
 * malformed uuid from 2.53). */
static json_object *find_node(struct api_request *req, struct api_response *resp,
                              json_object *nodes)
{
    const char *id = req->params[0];
    if (req->minor >= 53 ? !nph_uuid_is_valid(id) : strspn(id, "0123456789") != strlen(id)) {
        api_error(resp, req->minor >= 53 ? 400 : 404, "Hypervisor with ID %s could not be found.",
                  id);
        return NULL;
    }
    for (size_t i = 0; i < json_object_array_length(nodes); i++) {
        json_object *node = json_object_array_get_idx(nodes, i);
        char buf[32];
        if (strcmp(node_id(req, node, buf), id) == 0)
            return node;
    }
    api_error(resp, 404, "Hypervisor with ID %s could not be found.", id);
    return NULL;
}

void api_hypervisors_show(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *nodes = NULL, *services = NULL;
    bool servers;
    if (!api_is_admin(req, resp) || !with_servers(req, resp, &servers) ||
        !load_nodes(req, resp, &nodes, &services))
        return;
    json_object *node = find_node(req, resp, nodes);
    if (!node)
        return;
    json_object *svc = compute_service(services, text(node, "host"));
    json_object *view = hypervisor_view(req, node, svc, true);
    if (servers)
        add_servers(req, view, node);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "hypervisor", view);
    api_reply(resp, 200, body);
}

/* Nova asks the virt driver for its host's uptime; only its libvirt driver
 * answers, and no Nephele driver has the call, so every node gets Nova's
 * 501 for a driver without it. */
void api_hypervisors_uptime(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *nodes = NULL, *services = NULL;
    if (!api_is_admin(req, resp) || !load_nodes(req, resp, &nodes, &services) ||
        !find_node(req, resp, nodes))
        return;
    api_error(resp, 501, "Virt driver does not implement host uptime function.");
}

void api_hypervisors_statistics(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *nodes = NULL, *services = NULL;
    if (!api_is_admin(req, resp) || !load_nodes(req, resp, &nodes, &services))
        return;
    static const char *const summed[] = { "vcpus", "memory_mb", "local_gb", "vcpus_used",
                                          "memory_mb_used", "local_gb_used", "running_vms",
                                          "disk_available_least" };
    int64_t sums[8] = { 0 }, free_ram = 0, free_disk = 0;
    size_t n = json_object_array_length(nodes);
    for (size_t i = 0; i < n; i++) {
        json_object *node = json_object_array_get_idx(nodes, i);
        for (size_t k = 0; k < 8; k++)
            sums[k] += num(node, summed[k]);
        free_ram += num(node, "memory_mb") - num(node, "memory_mb_used");
        free_disk += num(node, "local_gb") - num(node, "local_gb_used");
    }
    json_object *stats = json_object_new_object();
    nph_json_add_int(stats, "count", (int64_t)n);
    for (size_t k = 0; k < 8; k++)
        nph_json_add_int(stats, summed[k], sums[k]);
    nph_json_add_int(stats, "free_ram_mb", free_ram);
    nph_json_add_int(stats, "free_disk_gb", free_disk);
    nph_json_add_int(stats, "current_workload", 0);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "hypervisor_statistics", stats);
    api_reply(resp, 200, body);
}

/* ---- os-availability-zone ------------------------------------------------ */

/* One zone of the list: its name, whether a host in it can take servers,
 * and (detail) its hosts' services. */
static json_object *zone_entry(const char *name, bool available, json_object *hosts)
{
    json_object *zone = json_object_new_object(), *state = json_object_new_object();
    nph_json_add_string(zone, "zoneName", name);
    nph_json_add_bool(state, "available", available);
    json_object_object_add(zone, "zoneState", state);
    json_object_object_add(zone, "hosts", hosts);
    return zone;
}

static void zones(struct api_request *req, struct api_response *resp, bool detail)
{
    nph_auto_json *services = NULL, *host_zones = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (detail && !api_is_admin(req, resp))
        return;
    if (nph_db_service_list(req->db, &services, &err) != NPH_OK ||
        api_host_zones(req->db, &host_zones, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    /* zone name -> {"hosts": {host: {binary: state}}, "up": bool}, in first-seen order */
    nph_auto_json *by_zone = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(services); i++) {
        json_object *svc = json_object_array_get_idx(services, i);
        const char *binary = nova_binary(text(svc, "binary"));
        const char *zone_name = service_zone(req, svc, host_zones);
        bool up = service_is_up(svc);
        json_object *zone = api_member(by_zone, zone_name);
        if (!zone) {
            zone = json_object_new_object();
            json_object_object_add(zone, "hosts", json_object_new_object());
            nph_json_add_bool(zone, "up", strcmp(zone_name, "internal") == 0);
            json_object_object_add(by_zone, zone_name, zone);
        }
        if (strcmp(binary, "nova-compute") == 0 && up && !num(svc, "disabled"))
            json_object_object_add(zone, "up", json_object_new_boolean(true));
        json_object *entry = json_object_new_object();
        nph_json_add_bool(entry, "available", up);
        nph_json_add_bool(entry, "active", !num(svc, "disabled"));
        json_object_object_add(entry, "updated_at", api_timestamp(text(svc, "updated_at")));
        json_object *hosts = api_member(zone, "hosts"), *host;
        if (!json_object_object_get_ex(hosts, text(svc, "host"), &host)) {
            host = json_object_new_object();
            json_object_object_add(hosts, text(svc, "host"), host);
        }
        json_object_object_add(host, binary, entry);
    }
    json_object *list = json_object_new_array();
    json_object_object_foreach(by_zone, name, zone) {
        /* Without detail, only the zones servers can be created in. */
        if (!detail && strcmp(name, "internal") == 0)
            continue;
        json_object_array_add(list, zone_entry(name, json_object_get_boolean(api_member(zone, "up")),
                                               detail ? json_object_get(api_member(zone, "hosts"))
                                                      : NULL));
    }
    if (json_object_array_length(list) == 0 && !detail)
        json_object_array_add(list, zone_entry(req->api->default_az, false, NULL));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "availabilityZoneInfo", list);
    api_reply(resp, 200, body);
}

void api_availability_zones(struct api_request *req, struct api_response *resp)
{
    zones(req, resp, false);
}

void api_availability_zones_detail(struct api_request *req, struct api_response *resp)
{
    zones(req, resp, true);
}

/* ---- /limits ------------------------------------------------------------- */

void api_limits_show(struct api_request *req, struct api_response *resp)
{
    int64_t limits[API_QUOTA_COUNT], used[API_QUOTA_COUNT];
    nph_error err = NPH_ERROR_INIT;
    if (api_quota_limits(req->api, req->db, req->ctx.project_id, limits, &err) != NPH_OK ||
        api_quota_usage(req->db, req->ctx.project_id, NULL, used, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    json_object *abs = json_object_new_object();
    nph_json_add_int(abs, "maxServerMeta", limits[API_QUOTA_METADATA_ITEMS]);
    /* Nova's image metadata limit is the same quota; it went with the
     * image-metadata proxy in 2.39. */
    if (req->minor < 39)
        nph_json_add_int(abs, "maxImageMeta", limits[API_QUOTA_METADATA_ITEMS]);
    if (req->minor < 57) {
        nph_json_add_int(abs, "maxPersonality", limits[API_QUOTA_INJECTED_FILES]);
        nph_json_add_int(abs, "maxPersonalitySize", limits[API_QUOTA_INJECTED_FILE_CONTENT_BYTES]);
    }
    nph_json_add_int(abs, "maxTotalKeypairs", limits[API_QUOTA_KEY_PAIRS]);
    nph_json_add_int(abs, "maxServerGroups", limits[API_QUOTA_SERVER_GROUPS]);
    nph_json_add_int(abs, "maxServerGroupMembers", limits[API_QUOTA_SERVER_GROUP_MEMBERS]);
    nph_json_add_int(abs, "maxTotalCores", limits[API_QUOTA_CORES]);
    nph_json_add_int(abs, "maxTotalRAMSize", limits[API_QUOTA_RAM]);
    nph_json_add_int(abs, "maxTotalInstances", limits[API_QUOTA_INSTANCES]);
    if (req->minor < 36) {
        nph_json_add_int(abs, "maxSecurityGroups", 10);
        nph_json_add_int(abs, "maxSecurityGroupRules", 20);
        nph_json_add_int(abs, "maxTotalFloatingIps", 10);
        nph_json_add_int(abs, "totalSecurityGroupsUsed", 0);
        nph_json_add_int(abs, "totalFloatingIpsUsed", 0);
    }
    nph_json_add_int(abs, "totalCoresUsed", used[API_QUOTA_CORES]);
    nph_json_add_int(abs, "totalRAMUsed", used[API_QUOTA_RAM]);
    nph_json_add_int(abs, "totalInstancesUsed", used[API_QUOTA_INSTANCES]);
    nph_json_add_int(abs, "totalServerGroupsUsed", 0);
    json_object *limits_obj = json_object_new_object();
    json_object_object_add(limits_obj, "rate", json_object_new_array());
    json_object_object_add(limits_obj, "absolute", abs);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "limits", limits_obj);
    api_reply(resp, 200, body);
}
