/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One driver operation, called directly through the plugin loader, for the
 * end-to-end tests of operations that no API path reaches yet: Nephele has no
 * volume API (no Cinder) nor network service (no Neutron), so the stack tests
 * attach and detach a disk or an interface on the guest they booted through
 * the API with this, on the same plugins.d file (a second driver instance
 * beside the running compute's).
 *
 *   nph-driver-op CONF attach-volume UUID VOLUME_ID PATH MOUNTPOINT
 *   nph-driver-op CONF detach-volume UUID VOLUME_ID
 *   nph-driver-op CONF attach-interface UUID NODE PORT_ID MAC
 *   nph-driver-op CONF detach-interface UUID PORT_ID
 *
 * PATH becomes connection_info's device_path, as Nova's local connectors
 * report it.  Exit status 0 on success, 1 with the driver's error on
 * standard error, 2 on bad usage.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json.h"
#include "plugin.h"

static int usage(void)
{
    fprintf(stderr, "usage: nph-driver-op CONF attach-volume UUID VOLUME_ID PATH MOUNTPOINT\n"
                    "       nph-driver-op CONF detach-volume UUID VOLUME_ID\n"
                    "       nph-driver-op CONF attach-interface UUID NODE PORT_ID MAC\n"
                    "       nph-driver-op CONF detach-interface UUID PORT_ID\n");
    return 2;
}

/* {"driver_volume_type": "local", "data": {"device_path": PATH}} */
static char *connection_info(const char *path)
{
    json_object *data = json_object_new_object();
    nph_json_add_string(data, "device_path", path);
    nph_auto_json *ci = json_object_new_object();
    nph_json_add_string(ci, "driver_volume_type", "local");
    json_object_object_add(ci, "data", data);
    return strdup(json_object_to_json_string_ext(ci, JSON_C_TO_STRING_PLAIN));
}

static nph_status run(nph_driver *drv, char **argv, nph_error *err)
{
    struct nph_instance inst = { .uuid = argv[3] };
    if (strcmp(argv[2], "attach-interface") == 0) {
        inst.node = argv[4];
        struct nph_vif vif = { .port_id = argv[5], .mac_address = argv[6] };
        return NPH_DRIVER_CALL(drv, attach_interface, err, &inst, &vif);
    }
    if (strcmp(argv[2], "detach-interface") == 0) {
        struct nph_vif vif = { .port_id = argv[4] };
        return NPH_DRIVER_CALL(drv, detach_interface, err, &inst, &vif);
    }
    struct nph_volume vol = { .volume_id = argv[4], .driver_volume_type = "local" };
    if (strcmp(argv[2], "attach-volume") == 0) {
        char *ci = connection_info(argv[5]);
        vol.connection_info = ci;
        vol.mountpoint = argv[6];
        nph_status st = NPH_DRIVER_CALL(drv, attach_volume, err, &inst, &vol);
        free(ci);
        return st;
    }
    return NPH_DRIVER_CALL(drv, detach_volume, err, &inst, &vol);
}

int main(int argc, char **argv)
{
    static const struct { const char *op; int argc; } ops[] = {
        { "attach-volume", 7 }, { "detach-volume", 5 },
        { "attach-interface", 7 }, { "detach-interface", 5 },
    };
    bool known = false;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]) && argc > 2; i++)
        known = known || (argc == ops[i].argc && strcmp(argv[2], ops[i].op) == 0);
    if (!known)
        return usage();
    struct nph_loader_options opts = { 0 };
    nph_driver *drv = NULL;
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_driver_load(argv[1], &opts, &drv, &err);
    if (st == NPH_OK)
        st = nph_driver_start(drv, &err);
    if (st == NPH_OK)
        st = run(drv, argv, &err);
    nph_driver_free(drv);
    if (st != NPH_OK) {
        fprintf(stderr, "nph-driver-op %s: %s\n", argv[2], err.message);
        return 1;
    }
    return 0;
}
