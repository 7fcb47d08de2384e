/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A server as the compute API shows it, field by field and microversion by
 * microversion, from an instance record. */
#include "config.h"

#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>

#include "api-internal.h"
#include "api-servers.h"

static const char *str(json_object *obj, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(obj, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static int64_t num(json_object *obj, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(obj, key, &v) ? json_object_get_int64(v) : 0;
}

static void add_str_or_null(json_object *obj, const char *key, const char *value)
{
    json_object_object_add(obj, key, value ? json_object_new_string(value) : NULL);
}

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

/* "2026-11-23T08:40:00.123456Z" as Nova writes created/updated: seconds, Z. */
static json_object *api_time(const char *stored)
{
    if (!stored || strlen(stored) < 19)
        return NULL;
    char out[24];
    snprintf(out, sizeof(out), "%.19sZ", stored);
    return json_object_new_string(out);
}

/* OS-SRV-USG times: microseconds, no zone. */
static json_object *usage_time(const char *stored)
{
    if (!stored || strlen(stored) < 26)
        return NULL;
    char out[32];
    snprintf(out, sizeof(out), "%.26s", stored);
    return json_object_new_string(out);
}

/* hostId: sha224(project_id + host), so users can tell co-located servers
 * apart without learning host names. */
static void host_id(const char *project, const char *host, char out[SHA224_DIGEST_SIZE * 2 + 1])
{
    out[0] = '\0';
    if (!host || !*host)
        return;
    struct sha224_ctx ctx;
    uint8_t digest[SHA224_DIGEST_SIZE];
    sha224_init(&ctx);
    sha224_update(&ctx, strlen(project ? project : ""), (const uint8_t *)(project ? project : ""));
    sha224_update(&ctx, strlen(host), (const uint8_t *)host);
    sha224_digest(&ctx, sizeof(digest), digest);
    for (size_t i = 0; i < sizeof(digest); i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static json_object *flavor_view(const struct api_request *req, json_object *flavor)
{
    json_object *view = json_object_new_object();
    if (req->minor < 47) {
        const char *id = str(flavor, "flavorid");
        nph_json_add_string(view, "id", id ? id : "");
        json_object_object_add(view, "links", api_links(req, "flavors", id ? id : ""));
        return view;
    }
    nph_json_add_int(view, "vcpus", num(flavor, "vcpus"));
    nph_json_add_int(view, "ram", num(flavor, "memory_mb"));
    nph_json_add_int(view, "disk", num(flavor, "root_gb"));
    nph_json_add_int(view, "ephemeral", num(flavor, "ephemeral_gb"));
    nph_json_add_int(view, "swap", num(flavor, "swap"));
    const char *name = str(flavor, "name");
    nph_json_add_string(view, "original_name", name ? name : "");
    json_object *specs;
    json_object_object_add(view, "extra_specs",
                           json_object_object_get_ex(flavor, "extra_specs", &specs) &&
                                   json_object_is_type(specs, json_type_object)
                               ? json_object_get(specs)
                               : json_object_new_object());
    return view;
}

static json_object *image_view(const struct api_request *req, const char *image_ref)
{
    if (!image_ref || !*image_ref)
        return json_object_new_string(""); /* booted from a volume */
    json_object *view = json_object_new_object();
    nph_json_add_string(view, "id", image_ref);
    json_object_object_add(view, "links", api_links(req, "images", image_ref));
    return view;
}

static void add_fault(json_object *view, json_object *fault, bool is_admin)
{
    if (!fault)
        return;
    json_object *f = json_object_new_object();
    int64_t code = num(fault, "code");
    nph_json_add_int(f, "code", code);
    json_object_object_add(f, "created", api_time(str(fault, "created_at")));
    const char *message = str(fault, "message");
    nph_json_add_string(f, "message", message ? message : "");
    /* Nova hides the details of a 500 from users: they may name hosts. */
    const char *details = str(fault, "details");
    if (details && (is_admin || code != 500))
        nph_json_add_string(f, "details", details);
    json_object_object_add(view, "fault", f);
}

static void add_admin_fields(const struct api_request *req, json_object *view, json_object *inst)
{
    char instance_name[32];
    snprintf(instance_name, sizeof(instance_name), "instance-%08llx",
             (unsigned long long)num(inst, "id"));
    add_str_or_null(view, "OS-EXT-SRV-ATTR:host", str(inst, "host"));
    add_str_or_null(view, "OS-EXT-SRV-ATTR:hypervisor_hostname", str(inst, "node"));
    nph_json_add_string(view, "OS-EXT-SRV-ATTR:instance_name", instance_name);
    if (req->minor >= 3) {
        add_str_or_null(view, "OS-EXT-SRV-ATTR:reservation_id", str(inst, "reservation_id"));
        nph_json_add_int(view, "OS-EXT-SRV-ATTR:launch_index", num(inst, "launch_index"));
        add_str_or_null(view, "OS-EXT-SRV-ATTR:hostname", str(inst, "hostname"));
        nph_json_add_string(view, "OS-EXT-SRV-ATTR:kernel_id", "");
        nph_json_add_string(view, "OS-EXT-SRV-ATTR:ramdisk_id", "");
        nph_json_add_string(view, "OS-EXT-SRV-ATTR:root_device_name", "/dev/vda");
        add_str_or_null(view, "OS-EXT-SRV-ATTR:user_data", str(inst, "user_data"));
    }
}

json_object *api_server_brief(const struct api_request *req, json_object *inst)
{
    json_object *view = json_object_new_object();
    const char *uuid = str(inst, "uuid"), *name = str(inst, "display_name");
    nph_json_add_string(view, "id", uuid);
    nph_json_add_string(view, "name", name ? name : "");
    json_object_object_add(view, "links", api_links(req, "servers", uuid));
    return view;
}

json_object *api_server_view(const struct api_request *req, json_object *inst, json_object *fault,
                             bool show)
{
    json_object *view = api_server_brief(req, inst);
    const char *vm_state = str(inst, "vm_state"), *task = str(inst, "task_state");
    const char *project = str(inst, "project_id"), *host = str(inst, "host");
    nph_json_add_string(view, "status", api_server_status(vm_state, task));
    nph_json_add_string(view, "tenant_id", project ? project : "");
    nph_json_add_string(view, "user_id", str(inst, "user_id") ? str(inst, "user_id") : "");
    json_object *metadata;
    json_object_object_add(view, "metadata",
                           json_object_object_get_ex(inst, "metadata", &metadata) &&
                                   json_object_is_type(metadata, json_type_object)
                               ? json_object_get(metadata)
                               : json_object_new_object());
    char hid[SHA224_DIGEST_SIZE * 2 + 1];
    host_id(project, host, hid);
    nph_json_add_string(view, "hostId", hid);
    json_object_object_add(view, "image", image_view(req, str(inst, "image_ref")));
    json_object *flavor;
    json_object_object_get_ex(inst, "flavor", &flavor);
    json_object_object_add(view, "flavor", flavor_view(req, flavor));
    json_object_object_add(view, "created", api_time(str(inst, "created_at")));
    json_object_object_add(view, "updated", api_time(str(inst, "updated_at")));
    json_object_object_add(view, "addresses", json_object_new_object());
    nph_json_add_string(view, "accessIPv4", str(inst, "access_ip_v4") ? str(inst, "access_ip_v4") : "");
    nph_json_add_string(view, "accessIPv6", str(inst, "access_ip_v6") ? str(inst, "access_ip_v6") : "");
    nph_json_add_string(view, "OS-DCF:diskConfig", "MANUAL");
    if (strcmp(vm_state ? vm_state : "", "building") == 0 ||
        strcmp(vm_state ? vm_state : "", "active") == 0)
        nph_json_add_int(view, "progress", 0);
    nph_json_add_string(view, "OS-EXT-AZ:availability_zone",
                        str(inst, "availability_zone") ? str(inst, "availability_zone") : "");
    nph_json_add_string(view, "config_drive", str(inst, "config_drive") ? str(inst, "config_drive") : "");
    add_str_or_null(view, "key_name", str(inst, "key_name"));
    json_object_object_add(view, "OS-SRV-USG:launched_at", usage_time(str(inst, "launched_at")));
    json_object_object_add(view, "OS-SRV-USG:terminated_at", usage_time(str(inst, "terminated_at")));
    add_str_or_null(view, "OS-EXT-STS:task_state", task);
    add_str_or_null(view, "OS-EXT-STS:vm_state", vm_state);
    nph_json_add_int(view, "OS-EXT-STS:power_state", num(inst, "power_state"));
    json_object_object_add(view, "os-extended-volumes:volumes_attached", json_object_new_array());
    json_object *groups = json_object_new_array(), *group = json_object_new_object();
    nph_json_add_string(group, "name", "default");
    json_object_array_add(groups, group);
    json_object_object_add(view, "security_groups", groups);
    if (req->ctx.is_admin)
        add_admin_fields(req, view, inst);
    if (req->minor >= 9)
        nph_json_add_bool(view, "locked", num(inst, "locked") != 0);
    if (req->minor >= 16 && req->ctx.is_admin)
        nph_json_add_string(view, "host_status", host && *host ? "UP" : "");
    if (req->minor >= 19)
        add_str_or_null(view, "description", str(inst, "description"));
    if (req->minor >= 26)
        json_object_object_add(view, "tags", json_object_new_array());
    if (req->minor >= 63)
        json_object_object_add(view, "trusted_image_certificates", NULL);
    if (req->minor >= 71 && show)
        json_object_object_add(view, "server_groups", json_object_new_array());
    if (req->minor >= 73)
        json_object_object_add(view, "locked_reason", NULL);
    add_fault(view, fault, req->ctx.is_admin);
    return view;
}
