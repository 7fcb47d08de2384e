/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "error.h"
#include "json.h"

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

json_object *nph_json_parse(const char *text, size_t len, nph_error *err)
{
    if (len > INT32_MAX) {
        nph_error_set(err, NPH_ERR_INVALID, "JSON document of %zu bytes is too large", len);
        return NULL;
    }
    json_tokener *tok = json_tokener_new();
    if (!tok) {
        nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory parsing JSON");
        return NULL;
    }
    size_t start = 0;
    while (start < len && is_blank(text[start]))
        start++;
    if (start == len) {
        json_tokener_free(tok);
        nph_error_set(err, NPH_ERR_INVALID, "malformed JSON: the document is empty");
        return NULL;
    }
    json_object *obj = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t offset = json_tokener_get_parse_end(tok);
    if (!obj && jerr == json_tokener_continue) {
        /* A bare number or literal ("3", "null") ends only at a delimiter. */
        obj = json_tokener_parse_ex(tok, " ", 1);
        jerr = json_tokener_get_error(tok);
        offset = len;
    }
    if (!obj && jerr == json_tokener_continue)
        nph_error_set(err, NPH_ERR_INVALID, "malformed JSON: the document ends early");
    else if (!obj && jerr != json_tokener_success)
        nph_error_set(err, NPH_ERR_INVALID, "malformed JSON at byte %zu: %s", offset,
                      json_tokener_error_desc(jerr));
    else {
        /* Anything after the value but white space is garbage. */
        for (size_t i = offset; i < len; i++) {
            if (!is_blank(text[i])) {
                json_object_put(obj);
                obj = NULL;
                nph_error_set(err, NPH_ERR_INVALID,
                              "malformed JSON at byte %zu: unexpected data after the value", i);
                break;
            }
        }
        if (obj == NULL && err && err->code == NPH_OK)
            nph_error_set(err, NPH_ERR_INVALID, "the JSON document is null");
    }
    json_tokener_free(tok);
    return obj;
}

static nph_status get_typed(json_object *obj, const char *key, bool required, json_type type,
                            const char *type_name, json_object **out, nph_error *err)
{
    json_object *member = NULL;
    if (!obj || !json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, key, &member)) {
        if (required)
            return nph_error_set(err, NPH_ERR_NOT_FOUND, "'%s' is a required property", key);
        *out = NULL;
        return NPH_OK;
    }
    if (!member) {
        /* JSON null: absent for an optional member, wrong for a required one. */
        if (required)
            return nph_error_set(err, NPH_ERR_INVALID, "'%s' must be %s, not null", key, type_name);
        *out = NULL;
        return NPH_OK;
    }
    if (!json_object_is_type(member, type))
        return nph_error_set(err, NPH_ERR_INVALID, "'%s' must be %s, not %s", key, type_name,
                             json_type_to_name(json_object_get_type(member)));
    *out = member;
    return NPH_OK;
}

nph_status nph_json_get_string(json_object *obj, const char *key, bool required,
                               const char **out, nph_error *err)
{
    json_object *m;
    nph_status st = get_typed(obj, key, required, json_type_string, "a string", &m, err);
    if (st == NPH_OK && m)
        *out = json_object_get_string(m);
    return st;
}

nph_status nph_json_get_int(json_object *obj, const char *key, bool required, int64_t *out,
                            nph_error *err)
{
    json_object *m;
    nph_status st = get_typed(obj, key, required, json_type_int, "an integer", &m, err);
    if (st == NPH_OK && m)
        *out = json_object_get_int64(m);
    return st;
}

nph_status nph_json_get_bool(json_object *obj, const char *key, bool required, bool *out,
                             nph_error *err)
{
    json_object *m;
    nph_status st = get_typed(obj, key, required, json_type_boolean, "a boolean", &m, err);
    if (st == NPH_OK && m)
        *out = json_object_get_boolean(m);
    return st;
}

nph_status nph_json_get_object(json_object *obj, const char *key, bool required,
                               json_object **out, nph_error *err)
{
    json_object *m;
    nph_status st = get_typed(obj, key, required, json_type_object, "an object", &m, err);
    if (st == NPH_OK && m)
        *out = m;
    return st;
}

nph_status nph_json_get_array(json_object *obj, const char *key, bool required,
                              json_object **out, nph_error *err)
{
    json_object *m;
    nph_status st = get_typed(obj, key, required, json_type_array, "an array", &m, err);
    if (st == NPH_OK && m)
        *out = m;
    return st;
}

const char *nph_json_text(json_object *obj)
{
    return json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

void nph_json_add_string(json_object *obj, const char *key, const char *value)
{
    json_object_object_add(obj, key, value ? json_object_new_string(value) : NULL);
}

void nph_json_add_int(json_object *obj, const char *key, int64_t value)
{
    json_object_object_add(obj, key, json_object_new_int64(value));
}

void nph_json_add_bool(json_object *obj, const char *key, bool value)
{
    json_object_object_add(obj, key, json_object_new_boolean(value));
}
