/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A driver that calls a function no library provides: loading must fail with
 * the dynamic linker's reason, not later when the slot is first called. */
#include "test-module.h"

extern int nph_test_symbol_nobody_defines(void);

static nph_status un_init_host(const struct nph_host_services *svc, nph_host *host, void **drv,
                               nph_error *err)
{
    return nph_test_symbol_nobody_defines() ? NPH_OK : NPH_ERR_BACKEND;
}

static const struct nph_driver_ops ops = { .init_host = un_init_host, .cleanup = tm_cleanup };
static const struct nph_driver_descriptor desc = {
    NPH_DRIVER_ABI_INIT, .name = "unresolved", .version = "0", .ops = &ops,
};
NPH_DRIVER_EXPORT(unresolved) { return &desc; }
