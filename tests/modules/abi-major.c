/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A driver "built" for ABI 2.0: the loader must refuse it. */
#include "test-module.h"

static const struct nph_driver_ops ops = { .init_host = tm_init_host, .cleanup = tm_cleanup };
static const struct nph_driver_descriptor desc = {
    .abi_major = NPH_DRIVER_ABI_MAJOR + 1, .abi_minor = 0, .ops_size = sizeof(ops),
    .name = "abi-major", .version = "9.9", .ops = &ops,
};
NPH_DRIVER_EXPORT(abi_major) { return &desc; }
