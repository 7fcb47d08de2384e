/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Names of the contract's states and flags, as the API and operators see them. */
#ifndef NPH_OBJECTS_H
#define NPH_OBJECTS_H

#include <stddef.h>
#include <stdint.h>
#include "virt-driver.h"

/* Nova's power state names: "pending" (NOSTATE), "running", "paused", ... */
const char *nph_power_state_name(nph_power_state state);
/* "qcow2", "raw", ...; NULL for anything but a single known bit. */
const char *nph_image_format_name(nph_image_format format);
/* Glance's name to the bit; NPH_ERR_INVALID naming the bad name. */
nph_status nph_image_format_parse(const char *name, nph_image_format *out, nph_error *err);
/* "qcow2,raw, iso" to a bit mask; white space around names is ignored. */
nph_status nph_image_formats_parse(const char *list, uint32_t *mask, nph_error *err);
/* The trait Placement uses for an image format: COMPUTE_IMAGE_TYPE_QCOW2. */
const char *nph_image_format_trait(nph_image_format format);
/* "live-migration", "snapshot", ... for one capability bit. */
const char *nph_capability_name(nph_capability cap);
nph_status nph_capability_parse(const char *name, nph_capability *out, nph_error *err);
/* "started", "stopped", ... */
const char *nph_lifecycle_event_name(nph_lifecycle_event ev);

#endif
