/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A minimal driver the loader tests build in several broken and odd shapes. */
#ifndef NPH_TEST_MODULE_H
#define NPH_TEST_MODULE_H

#include <stdlib.h>
#include "virt-driver.h"

__attribute__((unused)) static nph_status tm_init_host(const struct nph_host_services *svc, nph_host *host, void **drv,
                               nph_error *err)
{
    *drv = NULL;
    return NPH_OK;
}

__attribute__((unused)) static void tm_cleanup(void *drv) {}

__attribute__((unused)) static void tm_capabilities(void *drv, struct nph_driver_capabilities *out)
{
    /* Claims more than its table has: the loader must clear what is missing. */
    out->flags = NPH_CAP_SNAPSHOT | NPH_CAP_RESCUE | NPH_CAP_CONSOLE_VNC;
    out->image_formats = NPH_IMAGE_RAW;
    out->hypervisor_type = "test";
}

#endif
