/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The loadable face of the fake driver: its one exported symbol. */
#include "config.h"

#include "fake.h"

NPH_DRIVER_EXPORT(fake)
{
    return &nph_fake_descriptor;
}
