/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* JSON helpers on json-c: parsing with positioned errors and typed member reads. */
#ifndef NPH_JSON_H
#define NPH_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include "virt-driver.h"

static inline void nph_json_putp(json_object **obj) { json_object_put(*obj); }
#define nph_auto_json __attribute__((cleanup(nph_json_putp))) json_object

/* Parse exactly one JSON value from text[0..len).  Errors name the byte
 * offset and json-c's reason; trailing garbage is an error.  Caller puts. */
json_object *nph_json_parse(const char *text, size_t len, nph_error *err);

/* Typed member reads.  A missing member is NPH_ERR_NOT_FOUND when `required`
 * (and leaves *out untouched otherwise); a member of the wrong type is
 * NPH_ERR_INVALID.  A JSON null reads as absent for an optional member.
 * Messages name the member.  Returned pointers are owned
 * by `obj`. */
nph_status nph_json_get_string(json_object *obj, const char *key, bool required,
                               const char **out, nph_error *err);
nph_status nph_json_get_int(json_object *obj, const char *key, bool required, int64_t *out,
                            nph_error *err);
nph_status nph_json_get_bool(json_object *obj, const char *key, bool required, bool *out,
                             nph_error *err);
nph_status nph_json_get_object(json_object *obj, const char *key, bool required,
                               json_object **out, nph_error *err);
nph_status nph_json_get_array(json_object *obj, const char *key, bool required,
                              json_object **out, nph_error *err);

/* Compact text of `obj`, owned by `obj` (valid until it changes or is put). */
const char *nph_json_text(json_object *obj);
/* Add a member; a NULL string value becomes JSON null. */
void nph_json_add_string(json_object *obj, const char *key, const char *value);
void nph_json_add_int(json_object *obj, const char *key, int64_t value);
void nph_json_add_bool(json_object *obj, const char *key, bool value);

#endif
