/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "objects.h"

static const char *const image_format_names[NPH_IMAGE_FORMAT_COUNT] = {
    "aki", "ami", "ari", "iso", "qcow2", "raw", "vdi", "vhd", "vhdx", "vmdk",
};
static const char *const image_format_traits[NPH_IMAGE_FORMAT_COUNT] = {
    "COMPUTE_IMAGE_TYPE_AKI", "COMPUTE_IMAGE_TYPE_AMI", "COMPUTE_IMAGE_TYPE_ARI",
    "COMPUTE_IMAGE_TYPE_ISO", "COMPUTE_IMAGE_TYPE_QCOW2", "COMPUTE_IMAGE_TYPE_RAW",
    "COMPUTE_IMAGE_TYPE_VDI", "COMPUTE_IMAGE_TYPE_VHD", "COMPUTE_IMAGE_TYPE_VHDX",
    "COMPUTE_IMAGE_TYPE_VMDK",
};
static const char *const capability_names[NPH_CAPABILITY_COUNT] = {
    "live-migration", "snapshot",  "attach-interface", "attach-volume",
    "multiattach",    "rescue",    "set-password",     "resize",
    "migrate-to-same-host", "console-vnc", "console-spice", "console-serial",
    "console-mks",
};

/* Index of the single set bit, or -1. */
static int bit_index(uint32_t bit, int count)
{
    for (int i = 0; i < count; i++)
        if (bit == (1u << i))
            return i;
    return -1;
}

const char *nph_power_state_name(nph_power_state state)
{
    switch (state) {
    case NPH_POWER_NOSTATE: return "pending";
    case NPH_POWER_RUNNING: return "running";
    case NPH_POWER_PAUSED: return "paused";
    case NPH_POWER_SHUTDOWN: return "shutdown";
    case NPH_POWER_CRASHED: return "crashed";
    case NPH_POWER_SUSPENDED: return "suspended";
    }
    return "unknown";
}

const char *nph_image_format_name(nph_image_format format)
{
    int i = bit_index(format, NPH_IMAGE_FORMAT_COUNT);
    return i < 0 ? NULL : image_format_names[i];
}

const char *nph_image_format_trait(nph_image_format format)
{
    int i = bit_index(format, NPH_IMAGE_FORMAT_COUNT);
    return i < 0 ? NULL : image_format_traits[i];
}

nph_status nph_image_format_parse(const char *name, nph_image_format *out, nph_error *err)
{
    for (int i = 0; i < NPH_IMAGE_FORMAT_COUNT; i++) {
        if (strcasecmp(name, image_format_names[i]) == 0) {
            *out = (nph_image_format)(1u << i);
            return NPH_OK;
        }
    }
    return nph_error_set(err, NPH_ERR_INVALID,
                         "unknown image format '%s' (known: aki, ami, ari, iso, qcow2, raw, vdi, "
                         "vhd, vhdx, vmdk)",
                         name);
}

/* Split a comma-separated list and call `one` for each trimmed item. */
static nph_status for_each_item(const char *list, nph_status (*one)(const char *, void *,
                                                                    nph_error *),
                                void *opaque, nph_error *err)
{
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && isspace((unsigned char)end[-1]))
            end--;
        if (end == start)
            continue;
        char item[64];
        if ((size_t)(end - start) >= sizeof(item))
            return nph_error_set(err, NPH_ERR_INVALID, "list item '%.*s...' is too long", 20,
                                 start);
        memcpy(item, start, (size_t)(end - start));
        item[end - start] = '\0';
        nph_status st = one(item, opaque, err);
        if (st != NPH_OK)
            return st;
    }
    return NPH_OK;
}

static nph_status add_format(const char *item, void *opaque, nph_error *err)
{
    nph_image_format f;
    nph_status st = nph_image_format_parse(item, &f, err);
    if (st == NPH_OK)
        *(uint32_t *)opaque |= f;
    return st;
}

nph_status nph_image_formats_parse(const char *list, uint32_t *mask, nph_error *err)
{
    *mask = 0;
    return for_each_item(list, add_format, mask, err);
}

const char *nph_capability_name(nph_capability cap)
{
    int i = bit_index(cap, NPH_CAPABILITY_COUNT);
    return i < 0 ? NULL : capability_names[i];
}

nph_status nph_capability_parse(const char *name, nph_capability *out, nph_error *err)
{
    for (int i = 0; i < NPH_CAPABILITY_COUNT; i++) {
        if (strcasecmp(name, capability_names[i]) == 0) {
            *out = (nph_capability)(1u << i);
            return NPH_OK;
        }
    }
    return nph_error_set(err, NPH_ERR_INVALID, "unknown capability '%s'", name);
}

const char *nph_lifecycle_event_name(nph_lifecycle_event ev)
{
    static const char *const names[] = { "started", "stopped", "paused",
                                         "resumed", "suspended", "crashed" };
    return (unsigned)ev < sizeof(names) / sizeof(names[0]) ? names[ev] : "unknown";
}
