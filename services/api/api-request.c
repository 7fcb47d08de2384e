/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reading requests: headers, query parameters, bodies, paging; writing links. */
#include "config.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"

const char *api_query(const struct api_request *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *api_header(const struct api_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

bool api_body_object(struct api_request *req, struct api_response *resp, const char *key,
                     json_object **out)
{
    json_object *member = NULL;
    if (!req->body || !json_object_is_type(req->body, json_type_object)) {
        api_error(resp, 400, "Invalid input for field/attribute %s. Value: %s. The request body "
                             "must be a JSON object.",
                  key, req->body ? nph_json_text(req->body) : "None");
        return false;
    }
    if (!json_object_object_get_ex(req->body, key, &member)) {
        api_error(resp, 400, "Invalid input for field/attribute %s. '%s' is a required property",
                  key, key);
        return false;
    }
    if (!json_object_is_type(member, json_type_object)) {
        api_error(resp, 400, "Invalid input for field/attribute %s. Value: %s. %s is not of type "
                             "'object'",
                  key, nph_json_text(member), nph_json_text(member));
        return false;
    }
    json_object_object_foreach(req->body, other, value) {
        (void)value;
        if (strcmp(other, key) != 0) {
            api_error(resp, 400, "Additional properties are not allowed ('%s' was unexpected)",
                      other);
            return false;
        }
    }
    *out = member;
    return true;
}

bool api_no_extra_members(struct api_response *resp, json_object *obj, const char *const *allowed)
{
    json_object_object_foreach(obj, key, value) {
        (void)value;
        const char *const *a = allowed;
        while (*a && strcmp(*a, key) != 0)
            a++;
        if (!*a) {
            api_error(resp, 400, "Additional properties are not allowed ('%s' was unexpected)",
                      key);
            return false;
        }
    }
    return true;
}

struct query_check {
    const char *const *allowed;
    const char *unexpected;
};

static enum MHD_Result check_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct query_check *qc = cls;
    for (const char *const *a = qc->allowed; *a; a++)
        if (strcmp(*a, key) == 0)
            return MHD_YES;
    qc->unexpected = key;
    return MHD_NO;
}

bool api_check_query(struct api_request *req, struct api_response *resp,
                     const char *const *allowed)
{
    struct query_check qc = { allowed, NULL };
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, check_one, &qc);
    if (qc.unexpected) {
        api_error(resp, 400, "Additional properties are not allowed ('%s' was unexpected)",
                  qc.unexpected);
        return false;
    }
    return true;
}

bool api_paging(struct api_request *req, struct api_response *resp, int *limit,
                const char **marker)
{
    const char *text = api_query(req, "limit");
    *limit = req->api->max_limit;
    if (text) {
        char *end = NULL;
        long v = strtol(text, &end, 10);
        if (!*text || *end || v < 0) {
            api_error(resp, 400, "Invalid input for query parameters limit. Value: %s. '%s' does "
                                 "not match '^[0-9]*$'",
                      text, text);
            return false;
        }
        if (v < *limit)
            *limit = (int)v;
    }
    *marker = api_query(req, "marker");
    return true;
}

static json_object *make_link(const char *rel, const char *href)
{
    json_object *l = json_object_new_object();
    nph_json_add_string(l, "rel", rel);
    nph_json_add_string(l, "href", href);
    return l;
}

json_object *api_links(const struct api_request *req, const char *collection, const char *id)
{
    char self[800], bookmark[800];
    snprintf(self, sizeof(self), "%s/v2.1/%s/%s", req->base_url, collection, id);
    snprintf(bookmark, sizeof(bookmark), "%s/%s/%s", req->base_url, collection, id);
    json_object *links = json_object_new_array();
    json_object_array_add(links, make_link("self", self));
    json_object_array_add(links, make_link("bookmark", bookmark));
    return links;
}

/* Percent-encode a query value: markers may be keypair names with spaces. */
static void query_escape(const char *in, char *out, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && o + 4 < len; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~", *p)) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

json_object *api_next_link(const struct api_request *req, const char *collection,
                           const char *marker, int limit)
{
    char href[900], escaped[600];
    query_escape(marker ? marker : "", escaped, sizeof(escaped));
    snprintf(href, sizeof(href), "%s/v2.1/%s?limit=%d&marker=%s", req->base_url, collection,
             limit, escaped);
    json_object *links = json_object_new_array();
    json_object_array_add(links, make_link("next", href));
    return links;
}

bool api_is_admin(struct api_request *req, struct api_response *resp)
{
    if (req->ctx.is_admin)
        return true;
    api_error(resp, 403, "Policy doesn't allow this operation to be performed.");
    return false;
}

json_object *api_member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(obj, key, &v);
    return v;
}

json_object *api_timestamp(const char *stored)
{
    if (!stored || strlen(stored) < 19)
        return NULL;
    char out[32];
    snprintf(out, sizeof(out), "%.26s", stored);
    out[strcspn(out, "Z")] = '\0';
    return json_object_new_string(out);
}

bool api_commit(struct api_request *req, struct api_response *resp, nph_status st, nph_error *err,
                const char *conflict)
{
    if (st == NPH_OK)
        st = nph_db_commit(req->db, err);
    if (st == NPH_OK)
        return true;
    nph_db_rollback(req->db);
    if (st == NPH_ERR_CONFLICT && conflict)
        api_error(resp, 409, "%s", conflict);
    else
        api_error_from(resp, err);
    return false;
}
