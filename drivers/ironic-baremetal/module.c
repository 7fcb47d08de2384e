/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The loadable face of the Ironic driver: its one exported symbol. */
#include "config.h"

#include "irn-driver.h"

NPH_DRIVER_EXPORT(ironic)
{
    return &irn_descriptor;
}
