/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* POST /servers: check the request as Nova's schema and checks do, write
 * the instance records and hand each build to the conductor. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "api-servers.h"
#include "bus.h"
#include "db-objects.h"
#include "error.h"
#include "log.h"
#include "uuid.h"

NPH_LOG_INIT("api.servers");

/* What a create asks for, checked. */
struct create_request {
    const char *name, *image_id, *key_name, *user_data, *description, *az, *admin_pass;
    const char *access_ipv4, *access_ipv6;
    const char *group;          /* the scheduler hint "group": a server group's uuid */
    json_object *hints;         /* all the scheduler hints, borrowed from the body */
    char flavor_id[256];
    json_object *metadata;      /* borrowed from the body */
    bool config_drive, return_reservation_id;
    int64_t min_count, max_count;
    json_object *flavor;        /* the flavor record, with extra_specs; owned */
    json_object *image;         /* the image record; owned */
    char *key_data;             /* owned */
};

static void create_request_clear(struct create_request *cr)
{
    json_object_put(cr->flavor);
    json_object_put(cr->image);
    free(cr->key_data);
}

static bool invalid(struct api_response *resp, const char *field, json_object *value,
                    const char *why)
{
    api_error(resp, 400, "Invalid input for field/attribute %s. Value: %s. %s", field,
              value ? json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN) : "None", why);
    return false;
}

/* A string member: required or not, with a length range. */
static bool get_string(struct api_response *resp, json_object *obj, const char *key,
                       bool required, size_t min_len, size_t max_len, const char **out)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v)) {
        if (required)
            return invalid(resp, key, NULL, "'server' is missing a required property");
        return true;
    }
    if (!json_object_is_type(v, json_type_string))
        return invalid(resp, key, v, "It is not of type 'string'");
    size_t len = (size_t)json_object_get_string_len(v);
    if (len < min_len || len > max_len)
        return invalid(resp, key, v, len < min_len ? "It is too short" : "It is too long");
    *out = json_object_get_string(v);
    return true;
}

static bool get_count(struct api_response *resp, json_object *server, const char *key,
                      int64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(server, key, &v))
        return true;
    int64_t n = 0;
    if (json_object_is_type(v, json_type_int)) {
        n = json_object_get_int64(v);
    } else if (json_object_is_type(v, json_type_string)) {
        char *end = NULL;
        n = strtoll(json_object_get_string(v), &end, 10);
        if (!*json_object_get_string(v) || *end)
            return invalid(resp, key, v, "It is not an integer");
    } else {
        return invalid(resp, key, v, "It is not an integer");
    }
    if (n < 1)
        return invalid(resp, key, v, "It is less than the minimum of 1");
    *out = n;
    return true;
}

static bool is_base64(const char *s)
{
    size_t len = strlen(s), pad = 0;
    if (len % 4)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '=') {
            pad++;
            if (i < len - 2)
                return false;
        } else if (pad || !(isalnum((unsigned char)c) || c == '+' || c == '/')) {
            return false;
        }
    }
    return pad <= 2;
}

static bool check_metadata(struct api_request *req, struct api_response *resp,
                           json_object *metadata)
{
    if (!json_object_is_type(metadata, json_type_object))
        return invalid(resp, "metadata", metadata, "It is not of type 'object'");
    json_object_object_foreach(metadata, key, value) {
        if (strlen(key) < 1 || strlen(key) > 255)
            return invalid(resp, "metadata", metadata, "A metadata key must be 1 to 255 characters");
        if (!json_object_is_type(value, json_type_string) || json_object_get_string_len(value) > 255)
            return invalid(resp, "metadata", metadata,
                           "A metadata value must be a string of up to 255 characters");
    }
    int64_t max = req->api->quota_defaults[API_QUOTA_METADATA_ITEMS];
    if (max >= 0 && json_object_object_length(metadata) > max) {
        api_error(resp, 403, "Quota exceeded for metadata_items: Requested %d, but already used 0 "
                             "of %lld metadata_items",
                  json_object_object_length(metadata), (long long)max);
        return false;
    }
    return true;
}

/* "networks": required from 2.37 ("auto", "none" or a list); there is no
 * network service, so a list naming networks or ports cannot be met. */
static bool check_networks(struct api_request *req, struct api_response *resp, json_object *server)
{
    json_object *nets;
    if (!json_object_object_get_ex(server, "networks", &nets)) {
        if (req->minor >= 37)
            return invalid(resp, "networks", NULL, "'networks' is a required property");
        return true;
    }
    if (json_object_is_type(nets, json_type_string)) {
        const char *v = json_object_get_string(nets);
        if (req->minor >= 37 && (strcmp(v, "auto") == 0 || strcmp(v, "none") == 0))
            return true;
        return invalid(resp, "networks", nets, "It is not valid under any of the given schemas");
    }
    if (!json_object_is_type(nets, json_type_array))
        return invalid(resp, "networks", nets, "It is not of type 'array'");
    if (json_object_array_length(nets) == 0)
        return true;
    json_object *first = json_object_array_get_idx(nets, 0), *id = NULL;
    if (!json_object_is_type(first, json_type_object))
        return invalid(resp, "networks", nets, "An entry is not of type 'object'");
    if (json_object_object_get_ex(first, "port", &id) && id) {
        api_error(resp, 400, "Port %s could not be found.", json_object_get_string(id));
        return false;
    }
    json_object_object_get_ex(first, "uuid", &id);
    api_error(resp, 400, "Network %s could not be found.", id ? json_object_get_string(id) : "");
    return false;
}

static bool parse_server(struct api_request *req, struct api_response *resp, json_object *server,
                         struct create_request *cr)
{
    json_object *v;
    if (!get_string(resp, server, "name", true, 1, 255, &cr->name))
        return false;
    if (isspace((unsigned char)cr->name[0]) || isspace((unsigned char)cr->name[strlen(cr->name) - 1]))
        return invalid(resp, "name", json_object_object_get(server, "name"),
                       "It has leading or trailing whitespace");
    if (!json_object_object_get_ex(server, "flavorRef", &v))
        return invalid(resp, "flavorRef", NULL, "'flavorRef' is a required property");
    if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_int))
        return invalid(resp, "flavorRef", v, "It is not of type 'string', 'integer'");
    /* A flavorRef may be the flavor's URL: its last segment is the id. */
    const char *ref = json_object_get_string(v), *slash = strrchr(ref, '/');
    snprintf(cr->flavor_id, sizeof(cr->flavor_id), "%s", slash ? slash + 1 : ref);
    if (!cr->flavor_id[0])
        return invalid(resp, "flavorRef", v, "It is too short");
    if (!get_string(resp, server, "imageRef", false, 0, 255, &cr->image_id))
        return false;
    if (cr->image_id && strrchr(cr->image_id, '/'))
        cr->image_id = strrchr(cr->image_id, '/') + 1;
    if (json_object_object_get_ex(server, "block_device_mapping_v2", NULL) ||
        json_object_object_get_ex(server, "block_device_mapping", NULL)) {
        api_error(resp, 400, "Block device mapping is not supported: this cloud has no block "
                             "storage service.");
        return false;
    }
    if (!cr->image_id || !*cr->image_id) {
        api_error(resp, 400, "Missing imageRef attribute");
        return false;
    }
    if (!get_string(resp, server, "key_name", false, 1, 255, &cr->key_name) ||
        !get_string(resp, server, "user_data", false, 0, 65535, &cr->user_data) ||
        !get_string(resp, server, "availability_zone", false, 1, 255, &cr->az) ||
        !get_string(resp, server, "adminPass", false, 0, 255, &cr->admin_pass) ||
        !get_string(resp, server, "accessIPv4", false, 0, 64, &cr->access_ipv4) ||
        !get_string(resp, server, "accessIPv6", false, 0, 64, &cr->access_ipv6))
        return false;
    if (json_object_object_get_ex(server, "description", &v) && v &&
        !get_string(resp, server, "description", false, 0, 255, &cr->description))
        return false;
    if (cr->user_data && !is_base64(cr->user_data)) {
        api_error(resp, 400, "User data needs to be valid base 64.");
        return false;
    }
    if (json_object_object_get_ex(server, "metadata", &v)) {
        if (!check_metadata(req, resp, v))
            return false;
        cr->metadata = v;
    }
    cr->min_count = cr->max_count = 1;
    bool has_max = json_object_object_get_ex(server, "max_count", NULL);
    if (!get_count(resp, server, "min_count", &cr->min_count) ||
        !get_count(resp, server, "max_count", &cr->max_count))
        return false;
    if (!has_max)
        cr->max_count = cr->min_count;
    if (cr->min_count > cr->max_count) {
        api_error(resp, 400, "min_count must be <= max_count");
        return false;
    }
    if (json_object_object_get_ex(server, "return_reservation_id", &v))
        cr->return_reservation_id = json_object_get_boolean(v);
    if (json_object_object_get_ex(server, "config_drive", &v))
        cr->config_drive = json_object_get_boolean(v);
    return check_networks(req, resp, server);
}

static bool check_members(struct api_request *req, struct api_response *resp, json_object *server)
{
    static const char *const allowed[] = {
        "name", "imageRef", "flavorRef", "adminPass", "metadata", "availability_zone",
        "networks", "min_count", "max_count", "return_reservation_id", "key_name", "user_data",
        "accessIPv4", "accessIPv6", "OS-DCF:diskConfig", "security_groups", "config_drive",
        "block_device_mapping", "block_device_mapping_v2", "personality", "description", "tags",
        "trusted_image_certificates", "host", "hypervisor_hostname", NULL,
    };
    if (!api_no_extra_members(resp, server, allowed))
        return false;
    /* Members newer than the request's microversion, or gone by then. */
    static const struct {
        const char *name;
        int from, until;
    } versioned[] = {
        { "description", 19, 0 }, { "tags", 52, 0 }, { "trusted_image_certificates", 63, 0 },
        { "host", 74, 0 }, { "hypervisor_hostname", 74, 0 }, { "personality", 0, 56 },
    };
    for (size_t i = 0; i < sizeof(versioned) / sizeof(versioned[0]); i++) {
        if (!json_object_object_get_ex(server, versioned[i].name, NULL))
            continue;
        if (req->minor < versioned[i].from ||
            (versioned[i].until && req->minor > versioned[i].until)) {
            api_error(resp, 400, "Additional properties are not allowed ('%s' was unexpected)",
                      versioned[i].name);
            return false;
        }
    }
    return true;
}

static json_object *first_row(struct api_request *req, const char *sql, const char *const *params,
                              size_t n)
{
    nph_auto_json *rows = NULL;
    if (nph_db_select_rows(req->db, sql, params, n, &rows, NULL) != NPH_OK ||
        json_object_array_length(rows) == 0)
        return NULL;
    return json_object_get(json_object_array_get_idx(rows, 0));
}

/* The default zone, or one an aggregate gives its hosts; false with a 400. */
static bool zone_exists(struct api_request *req, struct api_response *resp, const char *az)
{
    nph_auto_json *zones = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (strcmp(az, req->api->default_az) == 0)
        return true;
    if (api_host_zones(req->db, &zones, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return false;
    }
    json_object_object_foreach(zones, host, zone) {
        (void)host;
        if (strcmp(json_object_get_string(zone), az) == 0)
            return true;
    }
    api_error(resp, 400, "The requested availability zone is not available");
    return false;
}

/* The flavor, if the caller may use it, with its extra specs. */
json_object *api_flavor_for_request(struct api_request *req, const char *flavor_id)
{
    const char *params[] = { flavor_id, req->ctx.project_id };
    json_object *flavor =
        req->ctx.is_admin
            ? first_row(req, "SELECT * FROM flavors WHERE flavorid = ?", params, 1)
            : first_row(req,
                        "SELECT * FROM flavors f WHERE flavorid = ? AND (is_public = 1 OR EXISTS "
                        "(SELECT 1 FROM flavor_projects p WHERE p.flavor_id = f.id AND "
                        "p.project_id = ?))",
                        params, 2);
    if (!flavor)
        return NULL;
    json_object *id = NULL;
    json_object_object_get_ex(flavor, "id", &id);
    char id_text[32];
    snprintf(id_text, sizeof(id_text), "%lld", (long long)json_object_get_int64(id));
    const char *spec_params[] = { id_text };
    nph_auto_json *rows = NULL;
    json_object *specs = json_object_new_object();
    if (nph_db_select_rows(req->db, "SELECT key, value FROM flavor_extra_specs WHERE flavor_id = ?",
                           spec_params, 1, &rows, NULL) == NPH_OK) {
        for (size_t i = 0; i < json_object_array_length(rows); i++) {
            json_object *r = json_object_array_get_idx(rows, i), *k, *v;
            if (json_object_object_get_ex(r, "key", &k) && json_object_object_get_ex(r, "value", &v))
                json_object_object_add(specs, json_object_get_string(k), json_object_get(v));
        }
    }
    json_object_object_add(flavor, "extra_specs", specs);
    return flavor;
}

static bool resolve_references(struct api_request *req, struct api_response *resp,
                               struct create_request *cr)
{
    cr->flavor = api_flavor_for_request(req, cr->flavor_id);
    if (!cr->flavor) {
        api_error(resp, 400, "Flavor %s could not be found.", cr->flavor_id);
        return false;
    }
    const char *img_params[] = { cr->image_id };
    cr->image = nph_uuid_is_valid(cr->image_id)
                    ? first_row(req, "SELECT * FROM images WHERE uuid = ? AND deleted = 0",
                                img_params, 1)
                    : NULL;
    const char *owner = NULL, *visibility = NULL, *status = NULL;
    nph_json_get_string(cr->image, "owner", false, &owner, NULL);
    nph_json_get_string(cr->image, "visibility", false, &visibility, NULL);
    nph_json_get_string(cr->image, "status", false, &status, NULL);
    if (!cr->image || (!req->ctx.is_admin && visibility && strcmp(visibility, "public") != 0 &&
                       strcmp(visibility, "community") != 0 &&
                       (!owner || strcmp(owner, req->ctx.project_id) != 0))) {
        api_error(resp, 400, "Image %s could not be found.", cr->image_id);
        return false;
    }
    if (!status || strcmp(status, "active") != 0) {
        api_error(resp, 400, "Image %s is not active.", cr->image_id);
        return false;
    }
    int64_t min_ram = 0, min_disk = 0, ram = 0, disk = 0;
    nph_json_get_int(cr->image, "min_ram", false, &min_ram, NULL);
    nph_json_get_int(cr->image, "min_disk", false, &min_disk, NULL);
    nph_json_get_int(cr->flavor, "memory_mb", false, &ram, NULL);
    nph_json_get_int(cr->flavor, "root_gb", false, &disk, NULL);
    if (ram < min_ram) {
        api_error(resp, 400, "Flavor's memory is too small for requested image.");
        return false;
    }
    if (disk > 0 && disk < min_disk) {
        api_error(resp, 400, "Flavor's disk is too small for requested image.");
        return false;
    }
    if (cr->az && !zone_exists(req, resp, cr->az))
        return false;
    if (cr->key_name) {
        const char *kp_params[] = { req->ctx.user_id, cr->key_name };
        nph_auto_json *kp = first_row(req, "SELECT public_key FROM key_pairs WHERE user_id = ? "
                                           "AND name = ? AND deleted = 0",
                                      kp_params, 2);
        const char *key = NULL;
        nph_json_get_string(kp, "public_key", false, &key, NULL);
        if (!kp) {
            api_error(resp, 400, "Invalid key_name provided.");
            return false;
        }
        cr->key_data = key ? strdup(key) : NULL;
    }
    return true;
}

/* Nova's hostname from a display name: letters, digits and hyphens. */
static void sanitize_hostname(const char *name, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < len && n < 63; p++) {
        unsigned char c = (unsigned char)*p;
        if (isalnum(c))
            out[n++] = (char)tolower(c);
        else if ((c == ' ' || c == '_' || c == '-' || c == '.') && n > 0 && out[n - 1] != '-')
            out[n++] = '-';
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
    if (n == 0)
        snprintf(out, len, "server");
}

/* Write the record of server `index` of a request (in the caller's transaction). */
static nph_status record_one(struct api_request *req, const struct create_request *cr,
                             int64_t index, const char *reservation_id, char uuid[NPH_UUID_STRLEN + 1],
                             nph_error *err)
{
    char name[300], hostname[80];
    if (cr->max_count > 1)
        snprintf(name, sizeof(name), "%s-%lld", cr->name, (long long)index + 1);
    else
        snprintf(name, sizeof(name), "%s", cr->name);
    sanitize_hostname(name, hostname, sizeof(hostname));
    nph_uuid_generate(uuid);
    nph_auto_json *fields = json_object_new_object();
    nph_json_add_string(fields, "uuid", uuid);
    nph_json_add_string(fields, "display_name", name);
    nph_json_add_string(fields, "hostname", hostname);
    nph_json_add_string(fields, "project_id", req->ctx.project_id);
    nph_json_add_string(fields, "user_id", req->ctx.user_id);
    nph_json_add_string(fields, "image_ref", cr->image_id);
    json_object_object_add(fields, "flavor", api_flavor_snapshot(cr->flavor));
    nph_json_add_string(fields, "vm_state", "building");
    nph_json_add_string(fields, "task_state", "scheduling");
    nph_json_add_int(fields, "power_state", 0);
    nph_json_add_string(fields, "availability_zone", cr->az ? cr->az : req->api->default_az);
    nph_json_add_string(fields, "reservation_id", reservation_id);
    nph_json_add_int(fields, "launch_index", index);
    nph_json_add_string(fields, "config_drive", cr->config_drive ? "True" : "");
    if (cr->key_name) {
        nph_json_add_string(fields, "key_name", cr->key_name);
        nph_json_add_string(fields, "key_data", cr->key_data);
    }
    if (cr->user_data)
        nph_json_add_string(fields, "user_data", cr->user_data);
    if (cr->description)
        nph_json_add_string(fields, "description", cr->description);
    if (cr->access_ipv4)
        nph_json_add_string(fields, "access_ip_v4", cr->access_ipv4);
    if (cr->access_ipv6)
        nph_json_add_string(fields, "access_ip_v6", cr->access_ipv6);
    json_object_object_add(fields, "metadata",
                           cr->metadata ? json_object_get(cr->metadata) : json_object_new_object());
    nph_status st = nph_db_instance_create(req->db, fields, err);
    if (st == NPH_OK)
        api_server_action_start(req, uuid, "create");
    return st;
}

/* os:scheduler_hints (or its old name OS-SCH-HNT:scheduler_hints): the
 * hint "group" places the servers by a server group's policy; the other
 * hints of Nova's filters are accepted and, until the scheduler reads
 * them, have no effect. */
static bool parse_hints(struct api_request *req, struct api_response *resp, struct create_request *cr)
{
    json_object *hints = api_member(req->body, "os:scheduler_hints");
    if (!hints)
        hints = api_member(req->body, "OS-SCH-HNT:scheduler_hints");
    if (!hints)
        return true;
    if (!json_object_is_type(hints, json_type_object))
        return invalid(resp, "os:scheduler_hints", hints, "It is not of type 'object'");
    json_object *group = api_member(hints, "group");
    if (group && (!json_object_is_type(group, json_type_string) ||
                  !nph_uuid_is_valid(json_object_get_string(group))))
        return invalid(resp, "os:scheduler_hints/group", group, "It is not a 'uuid'");
    cr->group = group ? json_object_get_string(group) : NULL;
    cr->hints = hints;
    return true;
}

/* Hand the recorded builds to the conductor: one, or a batch that is
 * placed whole or not at all. */
static nph_status cast_build(struct api_request *req, const struct create_request *cr,
                             char (*uuids)[NPH_UUID_STRLEN + 1], int64_t count, nph_error *err)
{
    nph_auto_json *args = json_object_new_object();
    if (count == 1) {
        nph_json_add_string(args, "uuid", uuids[0]);
    } else {
        json_object *list = json_object_new_array();
        for (int64_t i = 0; i < count; i++)
            json_object_array_add(list, json_object_new_string(uuids[i]));
        json_object_object_add(args, "uuids", list);
    }
    json_object_object_add(args, "image", api_image_for_compute(req, cr->image));
    if (cr->hints)
        json_object_object_add(args, "scheduler_hints", json_object_get(cr->hints));
    return nph_bus_cast(req->api->bus, "conductor", count == 1 ? "build_instance" : "build_instances",
                        args, err);
}

/* Check the quotas and write every record in one transaction, so that two
 * requests of one project never both pass the same check.  *count is how
 * many fit between min_count and max_count. */
static bool record_all(struct api_request *req, struct api_response *resp,
                       const struct create_request *cr, const char *reservation_id,
                       int64_t *count, char (**uuids)[NPH_UUID_STRLEN + 1])
{
    nph_error err = NPH_ERROR_INIT;
    int64_t limits[API_QUOTA_COUNT], used[API_QUOTA_COUNT], each[API_QUOTA_COUNT] = { 0 };
    char message[512] = "";
    nph_json_get_int(cr->flavor, "vcpus", false, &each[API_QUOTA_CORES], NULL);
    nph_json_get_int(cr->flavor, "memory_mb", false, &each[API_QUOTA_RAM], NULL);
    each[API_QUOTA_INSTANCES] = 1;
    nph_status st = nph_db_begin(req->db, &err);
    if (st == NPH_OK && nph_db_backend_of(req->db) == NPH_DB_POSTGRESQL) {
        const char *params[] = { req->ctx.project_id };
        nph_auto_json *locked = NULL;
        st = nph_db_select_rows(req->db, "SELECT pg_advisory_xact_lock(hashtext(?)) AS locked",
                                params, 1, &locked, &err);
    }
    if (st == NPH_OK)
        st = api_quota_limits(req->api, req->db, req->ctx.project_id, limits, &err);
    if (st == NPH_OK)
        st = api_quota_usage(req->db, req->ctx.project_id, NULL, used, &err);
    if (st == NPH_OK) {
        *count = api_quota_fit(limits, used, each, cr->max_count, message, sizeof(message));
        if (*count < cr->min_count) {
            nph_db_rollback(req->db);
            api_quota_fit(limits, used, each, cr->min_count, message, sizeof(message));
            api_error(resp, 403, "%s", message);
            return false;
        }
        *uuids = calloc((size_t)*count, sizeof(**uuids));
        if (!*uuids)
            st = nph_error_set(&err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    for (int64_t i = 0; st == NPH_OK && i < *count; i++)
        st = record_one(req, cr, i, reservation_id, (*uuids)[i], &err);
    if (st == NPH_OK && cr->group &&
        !api_server_group_join(req, resp, cr->group, (const char(*)[NPH_UUID_STRLEN + 1]) * uuids,
                               *count)) {
        nph_db_rollback(req->db);
        free(*uuids);
        *uuids = NULL;
        return false;
    }
    if (st == NPH_OK)
        st = nph_db_commit(req->db, &err);
    if (st != NPH_OK) {
        nph_db_rollback(req->db);
        free(*uuids);
        *uuids = NULL;
        api_error_from(resp, &err);
        return false;
    }
    return true;
}

void api_random_password(char out[13])
{
    static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    unsigned char bytes[12] = { 0 };
    if (getrandom(bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes))
        nph_warn("getrandom failed; the admin password is weak");
    for (int i = 0; i < 12; i++)
        out[i] = alphabet[bytes[i] % (sizeof(alphabet) - 1)];
    out[12] = '\0';
}

void api_servers_create(struct api_request *req, struct api_response *resp)
{
    json_object *server;
    if (!req->body || !json_object_is_type(req->body, json_type_object) ||
        !json_object_object_get_ex(req->body, "server", &server) ||
        !json_object_is_type(server, json_type_object)) {
        invalid(resp, "server", NULL, "'server' is a required property");
        return;
    }
    static const char *const top[] = { "server", "os:scheduler_hints",
                                       "OS-SCH-HNT:scheduler_hints", NULL };
    if (!api_no_extra_members(resp, req->body, top) || !check_members(req, resp, server))
        return;
    struct create_request cr = { 0 };
    if (!parse_hints(req, resp, &cr) || !parse_server(req, resp, server, &cr) ||
        !resolve_references(req, resp, &cr)) {
        create_request_clear(&cr);
        return;
    }
    char reservation_id[16], rid_uuid[NPH_UUID_STRLEN + 1];
    nph_uuid_generate(rid_uuid);
    snprintf(reservation_id, sizeof(reservation_id), "r-%.8s", rid_uuid);
    int64_t count = 0;
    char(*uuids)[NPH_UUID_STRLEN + 1] = NULL;
    if (!record_all(req, resp, &cr, reservation_id, &count, &uuids)) {
        create_request_clear(&cr);
        return;
    }
    nph_error err = NPH_ERROR_INIT;
    if (cast_build(req, &cr, uuids, count, &err) != NPH_OK)
        nph_err("the build of %s (%lld in all) did not reach the conductor: %s", uuids[0],
                (long long)count, err.message);
    char first_uuid[NPH_UUID_STRLEN + 1];
    memcpy(first_uuid, uuids[0], sizeof(first_uuid));
    free(uuids);
    create_request_clear(&cr);
    json_object *body = json_object_new_object();
    if (cr.return_reservation_id) {
        nph_json_add_string(body, "reservation_id", reservation_id);
        api_reply(resp, 202, body);
        return;
    }
    char password[13];
    api_random_password(password);
    json_object *view = json_object_new_object();
    nph_json_add_string(view, "id", first_uuid);
    json_object_object_add(view, "links", api_links(req, "servers", first_uuid));
    nph_json_add_string(view, "OS-DCF:diskConfig", "MANUAL");
    json_object *groups = json_object_new_array(), *group = json_object_new_object();
    nph_json_add_string(group, "name", "default");
    json_object_array_add(groups, group);
    json_object_object_add(view, "security_groups", groups);
    nph_json_add_string(view, "adminPass", cr.admin_pass ? cr.admin_pass : password);
    json_object_object_add(body, "server", view);
    snprintf(resp->location, sizeof(resp->location), "%s/v2.1/servers/%s", req->base_url,
             first_uuid);
    api_reply(resp, 202, body);
}
