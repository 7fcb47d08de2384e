/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* UUIDs in their 36-character text form, as OpenStack writes them. */
#ifndef NPH_UUID_H
#define NPH_UUID_H

#include <stdbool.h>

#define NPH_UUID_STRLEN 36

/* Write a random (version 4) UUID and its NUL into out. */
void nph_uuid_generate(char out[NPH_UUID_STRLEN + 1]);
/* True for 8-4-4-4-12 hexadecimal digits, either case. */
bool nph_uuid_is_valid(const char *text);

#endif
