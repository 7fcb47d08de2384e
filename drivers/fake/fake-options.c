/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fake driver's options: nodes, what the hypervisor looks like, and
 * per-operation latency and failure injection. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "fake.h"
#include "objects.h"

const char *const fake_op_names[FAKE_OP_COUNT] = {
    "spawn", "destroy", "reboot", "power_off", "power_on", "pause", "unpause", "suspend",
    "resume", "rescue", "unrescue", "rebuild", "snapshot", "migrate", "live_migrate",
    "attach_volume", "detach_volume", "attach_interface", "detach_interface", "set_password",
    "get_info",
};

static long op_index(const char *name)
{
    for (long i = 0; i < FAKE_OP_COUNT; i++)
        if (strcmp(fake_op_names[i], name) == 0)
            return i;
    return -1;
}

/* Parse "op:value,op:value" into per-op numbers.  `max` bounds each value. */
static nph_status parse_op_list(struct fake_driver *fd, const char *key, double max,
                                double values[FAKE_OP_COUNT], nph_error *err)
{
    const char *text = fd->svc->option_string(fd->host, key);
    const char *p = text;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        size_t len = strcspn(p, ",");
        char item[96];
        if (len >= sizeof(item))
            return fd->svc->option_error(fd->host, err, key, "item '%.20s...' is too long", p);
        memcpy(item, p, len);
        item[len] = '\0';
        p += len;
        char *colon = strchr(item, ':');
        if (!colon)
            return fd->svc->option_error(fd->host, err, key,
                                         "'%s' must look like OPERATION:VALUE", item);
        *colon = '\0';
        char *name = item;
        while (isspace((unsigned char)*name))
            name++;
        char *end = colon;
        while (end > name && isspace((unsigned char)end[-1]))
            *--end = '\0';
        long op = op_index(name);
        if (op < 0)
            return fd->svc->option_error(fd->host, err, key,
                                         "unknown operation '%s' (known: spawn, destroy, reboot, "
                                         "power_off, power_on, pause, unpause, suspend, resume, "
                                         "rescue, unrescue, rebuild, snapshot, migrate, "
                                         "live_migrate, attach_volume, detach_volume, "
                                         "attach_interface, detach_interface, set_password, "
                                         "get_info)",
                                         name);
        char *num_end;
        double v = strtod(colon + 1, &num_end);
        while (isspace((unsigned char)*num_end))
            num_end++;
        if (num_end == colon + 1 || *num_end || v < 0 || v > max)
            return fd->svc->option_error(fd->host, err, key,
                                         "value for '%s' must be a number from 0 to %g", name,
                                         max);
        values[op] = v;
    }
    return NPH_OK;
}

static nph_status read_formats_and_caps(struct fake_driver *fd, nph_error *err)
{
    nph_error local = { 0 };
    uint32_t formats;
    if (nph_image_formats_parse(fd->svc->option_string(fd->host, "image_formats"), &formats,
                                &local) != NPH_OK)
        return fd->svc->option_error(fd->host, err, "image_formats", "%s", local.message);
    fd->image_formats = formats;

    const char *caps = fd->svc->option_string(fd->host, "capabilities");
    fd->capabilities = 0;
    for (const char *p = caps; *p;) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        size_t len = strcspn(p, ",");
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        if (!len)
            break;
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)len, p);
        nph_capability cap;
        if (nph_capability_parse(name, &cap, &local) != NPH_OK)
            return fd->svc->option_error(fd->host, err, "capabilities",
                                         "%s (known: live-migration, snapshot, attach-interface, "
                                         "attach-volume, multiattach, rescue, set-password, "
                                         "resize, migrate-to-same-host, console-vnc, "
                                         "console-spice, console-serial, console-mks)",
                                         local.message);
        fd->capabilities |= cap;
        p += strcspn(p, ",");
    }
    return NPH_OK;
}

/* console_vnc = HOST:PORT and kin, indexed by nph_console_type. */
static nph_status read_consoles(struct fake_driver *fd, nph_error *err)
{
    static const char *const keys[] = { "console_vnc", "console_spice", "console_serial",
                                        "console_mks" };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = fd->svc->option_string(fd->host, keys[i]), *colon = strrchr(v, ':');
        char *end = NULL;
        if (!*v)
            continue;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || colon == v || (size_t)(colon - v) >= sizeof(fd->consoles[i].host) ||
            end == colon + 1 || *end || port < 1 || port > 65535)
            return fd->svc->option_error(fd->host, err, keys[i],
                                         "'%s' is not HOST:PORT with a port from 1 to 65535", v);
        snprintf(fd->consoles[i].host, sizeof(fd->consoles[i].host), "%.*s", (int)(colon - v), v);
        fd->consoles[i].port = (int)port;
    }
    return NPH_OK;
}

nph_status fake_read_options(struct fake_driver *fd, nph_error *err)
{
    const struct nph_host_services *svc = fd->svc;
    nph_host *h = fd->host;
    const char *prefix = svc->option_string(h, "node_name_prefix");
    if (!*prefix)
        prefix = svc->instance_name(h);
    snprintf(fd->node_prefix, sizeof(fd->node_prefix), "%s", prefix);
    fd->node_count = (uint32_t)svc->option_int(h, "node_count");
    fd->capacity.vcpus = (uint32_t)svc->option_int(h, "vcpus");
    fd->capacity.memory_mb = (uint64_t)svc->option_int(h, "memory_mb");
    fd->capacity.disk_gb = (uint64_t)svc->option_int(h, "disk_gb");
    snprintf(fd->hypervisor_type, sizeof(fd->hypervisor_type), "%s",
             svc->option_string(h, "hypervisor_type"));
    fd->hypervisor_version = (uint64_t)svc->option_int(h, "hypervisor_version");
    snprintf(fd->cpu_arch, sizeof(fd->cpu_arch), "%s", svc->option_string(h, "cpu_arch"));
    snprintf(fd->resource_class, sizeof(fd->resource_class), "%s",
             svc->option_string(h, "resource_class"));
    snprintf(fd->cpu_info, sizeof(fd->cpu_info),
             "{\"arch\": \"%s\", \"model\": \"fake\", \"vendor\": \"Nephele\", "
             "\"topology\": {\"sockets\": 1, \"cores\": %u, \"threads\": 1}, \"features\": []}",
             fd->cpu_arch, fd->capacity.vcpus);

    nph_status st = read_formats_and_caps(fd, err);
    if (st == NPH_OK)
        st = read_consoles(fd, err);
    if (st != NPH_OK)
        return st;
    double latency[FAKE_OP_COUNT] = { 0 };
    st = parse_op_list(fd, "latency_ms", 600000, latency, err);
    if (st == NPH_OK)
        st = parse_op_list(fd, "failure_rate", 1.0, fd->failure_rate, err);
    if (st != NPH_OK)
        return st;
    for (int i = 0; i < FAKE_OP_COUNT; i++)
        fd->latency_ms[i] = (uint32_t)latency[i];
    int64_t seed = svc->option_int(h, "failure_seed");
    fd->rng = seed ? (uint64_t)seed : (uint64_t)time(NULL) | 1;
    return NPH_OK;
}

void fake_node_name(const struct fake_driver *fd, uint32_t index, char *out, size_t len)
{
    snprintf(out, len, "%s-%u", fd->node_prefix, index + 1);
}

long fake_node_index(const struct fake_driver *fd, const char *name)
{
    size_t plen = strlen(fd->node_prefix);
    if (!name || strncmp(name, fd->node_prefix, plen) != 0 || name[plen] != '-')
        return -1;
    const char *digits = name + plen + 1;
    if (*digits < '1' || *digits > '9')
        return -1; /* no sign, no leading zero: one spelling per node */
    char *end;
    unsigned long n = strtoul(digits, &end, 10);
    if (*end || n == 0 || n > fd->node_count)
        return -1;
    return (long)n - 1;
}
