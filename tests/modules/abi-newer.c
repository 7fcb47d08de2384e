/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A driver built for a newer minor than this host knows: refused. */
#include "test-module.h"

static const struct nph_driver_ops ops = { .init_host = tm_init_host, .cleanup = tm_cleanup };
static const struct nph_driver_descriptor desc = {
    .abi_major = NPH_DRIVER_ABI_MAJOR, .abi_minor = NPH_DRIVER_ABI_MINOR + 7,
    .ops_size = sizeof(ops), .name = "abi-newer", .version = "9.9", .ops = &ops,
};
NPH_DRIVER_EXPORT(abi_newer) { return &desc; }
