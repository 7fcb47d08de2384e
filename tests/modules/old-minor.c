/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A driver whose ops table is shorter than the host's, as one built for an
 * older ABI minor: the table ends before the instance operations.  The
 * loader must accept it and read every missing slot as "not supported".
 * The descriptor uses the plain entry symbol name, not the _LTX_ form. */
#include <stddef.h>
#include "test-module.h"

/* The table as the old header had it: lifecycle and inventory only. */
struct old_ops {
    nph_status (*init_host)(const struct nph_host_services *, nph_host *, void **, nph_error *);
    void (*cleanup)(void *);
    nph_status (*list_nodes)(void *, nph_node_cb, void *, nph_error *);
    nph_status (*node_resources)(void *, const char *, struct nph_node_resources *, nph_error *);
    void (*capabilities)(void *, struct nph_driver_capabilities *);
};

static nph_status om_list_nodes(void *drv, nph_node_cb cb, void *opaque, nph_error *err)
{
    cb(opaque, "old-node");
    return NPH_OK;
}

static const struct old_ops ops = {
    .init_host = tm_init_host,
    .cleanup = tm_cleanup,
    .list_nodes = om_list_nodes,
    .capabilities = tm_capabilities,
};
static const struct nph_driver_descriptor desc = {
    .abi_major = NPH_DRIVER_ABI_MAJOR, .abi_minor = 0, .ops_size = sizeof(ops),
    .name = "old-minor", .version = "0.9", .ops = (const struct nph_driver_ops *)(const void *)&ops,
};

NPH_EXPORT const struct nph_driver_descriptor *nph_driver_entry(void);
NPH_EXPORT const struct nph_driver_descriptor *nph_driver_entry(void) { return &desc; }
