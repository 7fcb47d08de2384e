/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A server as the compute API shows it, field by field and microversion by
 * microversion, written straight into a text buffer from an instance row:
 * a list of a thousand servers is built without a JSON object tree. */
#include "config.h"

#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>

#include "api-internal.h"
#include "api-servers.h"
#include "buffer.h"

/* Nova's vm_state/task_state to status table. */
const char *api_server_status(const char *vm_state, const char *task_state)
{
    const char *task = task_state ? task_state : "";
    if (!vm_state)
        return "UNKNOWN";
    if (strcmp(task, "rebuilding") == 0 || strcmp(task, "rebuild_block_device_mapping") == 0 ||
        strcmp(task, "rebuild_spawning") == 0)
        if (strcmp(vm_state, "active") == 0 || strcmp(vm_state, "stopped") == 0 ||
            strcmp(vm_state, "error") == 0)
            return "REBUILD";
    if (strncmp(task, "resize_", 7) == 0 && strcmp(task, "resize_reverting") != 0 &&
        (strcmp(vm_state, "active") == 0 || strcmp(vm_state, "stopped") == 0))
        return "RESIZE";
    if (strcmp(vm_state, "active") == 0) {
        if (strcmp(task, "rebooting") == 0 || strcmp(task, "reboot_pending") == 0 ||
            strcmp(task, "reboot_started") == 0)
            return "REBOOT";
        if (strncmp(task, "rebooting_hard", 14) == 0 || strcmp(task, "reboot_pending_hard") == 0 ||
            strcmp(task, "reboot_started_hard") == 0)
            return "HARD_REBOOT";
        if (strcmp(task, "updating_password") == 0)
            return "PASSWORD";
        if (strcmp(task, "migrating") == 0)
            return "MIGRATING";
        return "ACTIVE";
    }
    static const struct {
        const char *vm_state, *status;
    } plain[] = {
        { "building", "BUILD" },         { "stopped", "SHUTOFF" },
        { "resized", "VERIFY_RESIZE" },  { "paused", "PAUSED" },
        { "suspended", "SUSPENDED" },    { "rescued", "RESCUE" },
        { "error", "ERROR" },            { "deleted", "DELETED" },
        { "soft-delete", "SOFT_DELETED" }, { "shelved", "SHELVED" },
        { "shelved_offloaded", "SHELVED_OFFLOADED" },
    };
    if (strcmp(vm_state, "resized") == 0 && strcmp(task, "resize_reverting") == 0)
        return "REVERT_RESIZE";
    if (strcmp(vm_state, "paused") == 0 && strcmp(task, "migrating") == 0)
        return "MIGRATING";
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (strcmp(plain[i].vm_state, vm_state) == 0)
            return plain[i].status;
    return "UNKNOWN";
}


const char *const api_server_columns[SR_COUNT] = {
    [SR_UUID] = "uuid", [SR_NAME] = "display_name", [SR_PROJECT] = "project_id",
    [SR_USER] = "user_id", [SR_IMAGE] = "image_ref", [SR_FLAVOR] = "flavor",
    [SR_METADATA] = "metadata", [SR_HOST] = "host", [SR_NODE] = "node",
    [SR_VM_STATE] = "vm_state", [SR_TASK_STATE] = "task_state",
    [SR_AZ] = "availability_zone", [SR_KEY_NAME] = "key_name", [SR_CREATED] = "created_at",
    [SR_UPDATED] = "updated_at", [SR_LAUNCHED] = "launched_at",
    [SR_TERMINATED] = "terminated_at", [SR_IPV4] = "access_ip_v4", [SR_IPV6] = "access_ip_v6",
    [SR_CONFIG_DRIVE] = "config_drive", [SR_RESERVATION] = "reservation_id",
    [SR_HOSTNAME] = "hostname", [SR_USER_DATA] = "user_data", [SR_DESCRIPTION] = "description",
    [SR_LOCKED_REASON] = "locked_reason", [SR_ID] = "id", [SR_POWER_STATE] = "power_state", [SR_LAUNCH_INDEX] = "launch_index",
    [SR_LOCKED] = "locked",
};

void api_server_row_from_json(struct api_server_row *row, json_object *inst)
{
    for (int c = 0; c < SR_COUNT; c++) {
        json_object *v = NULL;
        json_object_object_get_ex(inst, api_server_columns[c], &v);
        if (c >= SR_ID) {
            row->num[c - SR_ID] = v ? json_object_get_int64(v) : 0;
            continue;
        }
        /* The JSON columns arrive parsed; the renderer wants their text. */
        row->text[c] = !v ? NULL
                       : json_object_is_type(v, json_type_string)
                           ? json_object_get_string(v)
                           : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    }
}

/* ---- writing JSON text ---------------------------------------------------- */

static void put(nph_buffer *out, const char *text)
{
    nph_buffer_put(out, text, strlen(text));
}

/* Bytes a JSON string must escape: quote, backslash, control characters. */
static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* `s` escaped for the inside of a JSON string, without the quotes; the
 * runs between escapes are copied whole. */
static void put_escaped(nph_buffer *out, const char *s)
{
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!needs_escape(c))
            continue;
        nph_buffer_put(out, run, (size_t)(p - run));
        char esc[8];
        switch (c) {
        case '"': put(out, "\\\""); break;
        case '\\': put(out, "\\\\"); break;
        case '\n': put(out, "\\n"); break;
        case '\r': put(out, "\\r"); break;
        case '\t': put(out, "\\t"); break;
        default:
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(out, esc);
        }
        run = p + 1;
    }
    nph_buffer_put(out, run, strlen(run));
}

static void put_string(nph_buffer *out, const char *s)
{
    if (!s) {
        put(out, "null");
        return;
    }
    nph_buffer_put(out, "\"", 1);
    put_escaped(out, s);
    nph_buffer_put(out, "\"", 1);
}

/* A decimal integer without printf's machinery (a server list writes
 * thousands). */
static void put_int(nph_buffer *out, int64_t value)
{
    char text[24], *p = text + sizeof(text);
    uint64_t v = value < 0 ? -(uint64_t)value : (uint64_t)value;
    do
        *--p = (char)('0' + v % 10);
    while (v /= 10);
    if (value < 0)
        *--p = '-';
    nph_buffer_put(out, p, (size_t)(text + sizeof(text) - p));
}

/* ,"key": */
static void key(nph_buffer *out, const char *name)
{
    nph_buffer_put(out, ",\"", 2);
    put(out, name);
    nph_buffer_put(out, "\":", 2);
}

static void kv_string(nph_buffer *out, const char *name, const char *value)
{
    key(out, name);
    put_string(out, value);
}

static void kv_int(nph_buffer *out, const char *name, int64_t value)
{
    key(out, name);
    put_int(out, value);
}

/* created/updated: seconds and Z; OS-SRV-USG: microseconds, no zone. */
static void kv_time(nph_buffer *out, const char *name, const char *stored, bool usage)
{
    key(out, name);
    size_t want = usage ? 26 : 19;
    if (!stored || strlen(stored) < want) {
        put(out, "null");
        return;
    }
    nph_buffer_put(out, "\"", 1);
    nph_buffer_put(out, stored, want);
    put(out, usage ? "\"" : "Z\"");
}

static void put_links(const struct api_request *req, nph_buffer *out, const char *collection,
                      const char *id)
{
    for (int bookmark = 0; bookmark < 2; bookmark++) {
        put(out, bookmark ? "},{\"rel\":\"bookmark\",\"href\":\"" : "[{\"rel\":\"self\",\"href\":\"");
        put_escaped(out, req->base_url);
        put(out, bookmark ? "/" : "/v2.1/");
        put(out, collection);
        nph_buffer_put(out, "/", 1);
        put_escaped(out, id ? id : "");
        nph_buffer_put(out, "\"", 1);
    }
    put(out, "}]");
}

/* A JSON object column written as it is stored, "{}" when absent. */
static void put_object_text(nph_buffer *out, const char *text)
{
    put(out, text && text[0] == '{' ? text : "{}");
}

/* ---- the view ------------------------------------------------------------- */

/* hostId: sha224(project_id + host), so users can tell co-located servers
 * apart without learning host names. */
static void host_id(const char *project, const char *host, char out[SHA224_DIGEST_SIZE * 2 + 1])
{
    out[0] = '\0';
    if (!host || !*host)
        return;
    static const char hex[] = "0123456789abcdef";
    struct sha224_ctx ctx;
    uint8_t digest[SHA224_DIGEST_SIZE];
    sha224_init(&ctx);
    sha224_update(&ctx, strlen(project ? project : ""), (const uint8_t *)(project ? project : ""));
    sha224_update(&ctx, strlen(host), (const uint8_t *)host);
    sha224_digest(&ctx, sizeof(digest), digest);
    for (size_t i = 0; i < sizeof(digest); i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 15];
    }
    out[2 * SHA224_DIGEST_SIZE] = '\0';
}

bool api_flavor_id_of(const char *flavor_text, char *out, size_t len)
{
    /* The common case without a parser: "flavorid": "ID" with no escapes. */
    const char *p = flavor_text ? strstr(flavor_text, "\"flavorid\"") : NULL;
    if (p) {
        p += 10;
        p += strspn(p, " \t\n:");
        const char *end = *p == '"' ? strpbrk(p + 1, "\"\\") : NULL;
        if (end && *end == '"' && (size_t)(end - p) <= len) {
            snprintf(out, len, "%.*s", (int)(end - p - 1), p + 1);
            return true;
        }
    }
    nph_auto_json *flavor = flavor_text ? nph_json_parse(flavor_text, strlen(flavor_text), NULL) : NULL;
    const char *id = NULL;
    nph_json_get_string(flavor, "flavorid", false, &id, NULL);
    if (id)
        snprintf(out, len, "%s", id);
    return id != NULL;
}

static void put_flavor(const struct api_request *req, nph_buffer *out, const char *flavor_text)
{
    if (req->minor < 47) {
        char id[256] = "";
        api_flavor_id_of(flavor_text, id, sizeof(id));
        put(out, "{\"id\":");
        put_string(out, id);
        put(out, ",\"links\":");
        put_links(req, out, "flavors", id);
        put(out, "}");
        return;
    }
    nph_auto_json *flavor = flavor_text ? nph_json_parse(flavor_text, strlen(flavor_text), NULL) : NULL;
    const char *name = NULL;
    nph_json_get_string(flavor, "name", false, &name, NULL);
    static const struct {
        const char *view, *column;
    } sizes[] = { { "vcpus", "vcpus" }, { "ram", "memory_mb" }, { "disk", "root_gb" },
                  { "ephemeral", "ephemeral_gb" }, { "swap", "swap" } };
    put(out, "{\"original_name\":");
    put_string(out, name ? name : "");
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int64_t v = 0;
        nph_json_get_int(flavor, sizes[i].column, false, &v, NULL);
        kv_int(out, sizes[i].view, v);
    }
    json_object *specs = NULL;
    key(out, "extra_specs");
    put(out, nph_json_get_object(flavor, "extra_specs", false, &specs, NULL) == NPH_OK && specs
                 ? json_object_to_json_string_ext(specs, JSON_C_TO_STRING_PLAIN)
                 : "{}");
    put(out, "}");
}

static void put_fault(nph_buffer *out, json_object *fault, bool is_admin)
{
    if (!fault)
        return;
    const char *message = NULL, *details = NULL, *created = NULL;
    int64_t code = 0;
    nph_json_get_int(fault, "code", false, &code, NULL);
    nph_json_get_string(fault, "message", false, &message, NULL);
    nph_json_get_string(fault, "details", false, &details, NULL);
    nph_json_get_string(fault, "created_at", false, &created, NULL);
    key(out, "fault");
    put(out, "{\"code\":");
    put_int(out, code);
    kv_time(out, "created", created, false);
    kv_string(out, "message", message ? message : "");
    /* Nova hides the details of a 500 from users: they may name hosts. */
    if (details && (is_admin || code != 500))
        kv_string(out, "details", details);
    put(out, "}");
}

static void put_admin_fields(const struct api_request *req, nph_buffer *out,
                             const struct api_server_row *row, enum api_server_view_kind kind)
{
    char instance_name[32];
    snprintf(instance_name, sizeof(instance_name), "instance-%08llx",
             (unsigned long long)row->num[SR_ID - SR_ID]);
    kv_string(out, "OS-EXT-SRV-ATTR:host", row->text[SR_HOST]);
    kv_string(out, "OS-EXT-SRV-ATTR:hypervisor_hostname", row->text[SR_NODE]);
    kv_string(out, "OS-EXT-SRV-ATTR:instance_name", instance_name);
    if (req->minor >= 3) {
        kv_string(out, "OS-EXT-SRV-ATTR:reservation_id", row->text[SR_RESERVATION]);
        kv_int(out, "OS-EXT-SRV-ATTR:launch_index", row->num[SR_LAUNCH_INDEX - SR_ID]);
        kv_string(out, "OS-EXT-SRV-ATTR:hostname", row->text[SR_HOSTNAME]);
        kv_string(out, "OS-EXT-SRV-ATTR:kernel_id", "");
        kv_string(out, "OS-EXT-SRV-ATTR:ramdisk_id", "");
        kv_string(out, "OS-EXT-SRV-ATTR:root_device_name", "/dev/vda");
        if (kind != API_VIEW_REBUILD) /* rebuild has its own user_data (below) */
            kv_string(out, "OS-EXT-SRV-ATTR:user_data", row->text[SR_USER_DATA]);
    }
}

void api_server_brief(const struct api_request *req, nph_buffer *out,
                      const struct api_server_row *row)
{
    put(out, "{\"id\":");
    put_string(out, row->text[SR_UUID]);
    kv_string(out, "name", row->text[SR_NAME] ? row->text[SR_NAME] : "");
    key(out, "links");
    put_links(req, out, "servers", row->text[SR_UUID]);
    put(out, "}");
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* What every view has, PUT's before 2.75 included. */
static void put_base(const struct api_request *req, nph_buffer *out,
                     const struct api_server_row *row, json_object *fault)
{
    const char *vm_state = row->text[SR_VM_STATE], *task = row->text[SR_TASK_STATE];
    const char *image = row->text[SR_IMAGE], *host = row->text[SR_HOST];
    const char *status = api_server_status(vm_state, task);
    put(out, "{\"id\":");
    put_string(out, row->text[SR_UUID]);
    kv_string(out, "name", or_empty(row->text[SR_NAME]));
    kv_string(out, "status", status);
    kv_string(out, "tenant_id", or_empty(row->text[SR_PROJECT]));
    kv_string(out, "user_id", or_empty(row->text[SR_USER]));
    key(out, "metadata");
    put_object_text(out, row->text[SR_METADATA]);
    char hid[SHA224_DIGEST_SIZE * 2 + 1];
    host_id(row->text[SR_PROJECT], host, hid);
    kv_string(out, "hostId", hid);
    key(out, "image");
    if (image && *image) {
        put(out, "{\"id\":");
        put_string(out, image);
        put(out, ",\"links\":");
        put_links(req, out, "images", image);
        put(out, "}");
    } else {
        put(out, "\"\""); /* booted from a volume */
    }
    key(out, "flavor");
    put_flavor(req, out, row->text[SR_FLAVOR]);
    kv_time(out, "created", row->text[SR_CREATED], false);
    kv_time(out, "updated", row->text[SR_UPDATED], false);
    put(out, ",\"addresses\":{}");
    kv_string(out, "accessIPv4", or_empty(row->text[SR_IPV4]));
    kv_string(out, "accessIPv6", or_empty(row->text[SR_IPV6]));
    key(out, "links");
    put_links(req, out, "servers", row->text[SR_UUID]);
    kv_string(out, "OS-DCF:diskConfig", "MANUAL");
    /* Nova's _progress_statuses and _fault_statuses. */
    static const char *const progress[] = { "ACTIVE", "BUILD", "REBUILD", "RESIZE",
                                            "VERIFY_RESIZE", "MIGRATING" };
    for (size_t i = 0; i < sizeof(progress) / sizeof(progress[0]); i++)
        if (strcmp(status, progress[i]) == 0)
            kv_int(out, "progress", 0);
    if (strcmp(status, "ERROR") == 0 || strcmp(status, "DELETED") == 0)
        put_fault(out, fault, req->ctx.is_admin);
}

/* The attributes of the old extensions: GET's, and PUT's from 2.75. */
static void put_extended(const struct api_request *req, nph_buffer *out,
                         const struct api_server_row *row, enum api_server_view_kind kind)
{
    const char *host = row->text[SR_HOST];
    kv_string(out, "OS-EXT-AZ:availability_zone", or_empty(row->text[SR_AZ]));
    kv_string(out, "config_drive", or_empty(row->text[SR_CONFIG_DRIVE]));
    kv_string(out, "key_name", row->text[SR_KEY_NAME]);
    kv_time(out, "OS-SRV-USG:launched_at", row->text[SR_LAUNCHED], true);
    kv_time(out, "OS-SRV-USG:terminated_at", row->text[SR_TERMINATED], true);
    kv_string(out, "OS-EXT-STS:task_state", row->text[SR_TASK_STATE]);
    kv_string(out, "OS-EXT-STS:vm_state", row->text[SR_VM_STATE]);
    kv_int(out, "OS-EXT-STS:power_state", row->num[SR_POWER_STATE - SR_ID]);
    put(out, ",\"os-extended-volumes:volumes_attached\":[]");
    put(out, ",\"security_groups\":[{\"name\":\"default\"}]");
    if (req->ctx.is_admin)
        put_admin_fields(req, out, row, kind);
    if (req->minor >= 16 && req->ctx.is_admin)
        kv_string(out, "host_status", host && *host ? "UP" : "");
}

void api_server_view(const struct api_request *req, nph_buffer *out,
                     const struct api_server_row *row, json_object *fault,
                     enum api_server_view_kind kind)
{
    put_base(req, out, row, fault);
    /* Nova's PUT and rebuild answered with the base view alone until 2.75;
     * rebuild adds the user_data it may set from 2.57. */
    if ((kind != API_VIEW_UPDATE && kind != API_VIEW_REBUILD) || req->minor >= 75)
        put_extended(req, out, row, kind);
    if (kind == API_VIEW_REBUILD && req->minor >= 57)
        kv_string(out, "user_data", row->text[SR_USER_DATA]);
    if (req->minor >= 9) {
        key(out, "locked");
        put(out, row->num[SR_LOCKED - SR_ID] ? "true" : "false");
    }
    if (req->minor >= 19)
        kv_string(out, "description", row->text[SR_DESCRIPTION]);
    if (req->minor >= 26)
        put(out, ",\"tags\":[]");
    if (req->minor >= 63)
        put(out, ",\"trusted_image_certificates\":null");
    if (req->minor >= 71 && kind != API_VIEW_DETAIL)
        put(out, ",\"server_groups\":[]");
    if (req->minor >= 73)
        kv_string(out, "locked_reason", row->text[SR_LOCKED_REASON]);
    put(out, "}");
}
