/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The loadable face of the vmware driver: its one exported symbol. */
#include "config.h"

#include "vmw-driver.h"

NPH_DRIVER_EXPORT(vmware)
{
    return &nph_vmware_descriptor;
}
