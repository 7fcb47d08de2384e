/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The loadable face of the libvirt driver: its one exported symbol. */
#include "config.h"

#include "lv.h"

NPH_DRIVER_EXPORT(libvirt)
{
    return &nph_libvirt_descriptor;
}
