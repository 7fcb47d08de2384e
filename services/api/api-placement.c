/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OpenStack Placement API under /placement, on the placement library:
 * version discovery and microversions (OpenStack-API-Version: placement
 * 1.N, echoed), Placement's error bodies, its admin-only default policy,
 * and the route table.  The resources are in api-placement-*.c.
 */
#include "config.h"

#include <ctype.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api-placement.h"
#include "error.h"

/* ---- errors ------------------------------------------------------------------ */

static const char *status_title(unsigned status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

/* webob's explanation, which Placement's details start with. */
static const char *status_explanation(unsigned status)
{
    switch (status) {
    case 400: return "The server could not comply with the request since it is either malformed or "
                     "otherwise incorrect.";
    case 403: return "Access was denied to this resource.";
    case 404: return "The resource could not be found.";
    case 405: return "The method specified is not allowed for this resource.";
    case 409: return "There was a conflict when trying to complete your request.";
    case 415: return "The request media type is not supported by this server.";
    default: return NULL;
    }
}

void api_placement_error_body(struct api_response *resp, unsigned status, const char *message)
{
    char detail[1400];
    const char *explanation = status_explanation(status);
    /* Placement's detail: webob's explanation, a blank line, the message;
     * clients (osc-placement) show the last line. */
    if (explanation)
        snprintf(detail, sizeof(detail), "%s\n\n %s  ", explanation, message);
    else
        snprintf(detail, sizeof(detail), "%s", message);
    json_object *e = json_object_new_object();
    nph_json_add_int(e, "status", status);
    nph_json_add_string(e, "title", status_title(status));
    nph_json_add_string(e, "detail", detail);
    if (resp->placement.minor >= 23)
        nph_json_add_string(e, "code", resp->placement.code ? resp->placement.code
                                                            : PLACEMENT_E_UNDEFINED);
    nph_json_add_string(e, "request_id", resp->placement.request_id);
    json_object *errors = json_object_new_array(), *body = json_object_new_object();
    json_object_array_add(errors, e);
    json_object_object_add(body, "errors", errors);
    api_reply(resp, status, body);
    resp->placement.code = NULL;
}

void pl_fail(struct api_response *resp, unsigned status, const char *code, const char *fmt, ...)
{
    char message[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    resp->placement.code = code;
    api_placement_error_body(resp, status, message);
}

void pl_fail_from(struct api_response *resp, const placement_error *err, const char *context)
{
    unsigned status;
    switch (err->e.code) {
    case NPH_ERR_NOT_FOUND: status = 404; break;
    case NPH_ERR_CONFLICT: status = 409; break;
    case NPH_ERR_INVALID: status = 400; break;
    case NPH_ERR_TIMEOUT: status = 503; break;
    default: status = 500; break;
    }
    pl_fail(resp, status, err->code, "%s%s", context ? context : "", err->e.message);
}

void pl_reply(struct api_response *resp, unsigned status, json_object *body)
{
    api_reply(resp, status, body);
}

void pl_location(const struct api_request *req, struct api_response *resp, const char *fmt, ...)
{
    char path[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    snprintf(resp->location, sizeof(resp->location), "%s/placement/%s", req->base_url, path);
}

/* ---- microversions and the root ----------------------------------------------- */

void api_placement_begin(struct api_request *req, struct api_response *resp)
{
    resp->placement.on = true;
    resp->placement.minor = -1;
    resp->placement.request_id = req->request_id;
}

/* The placement entry of "OpenStack-API-Version: compute 2.1, placement 1.29". */
static bool placement_entry(const char *header, char *out, size_t len)
{
    for (const char *p = header; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p + strcspn(p, ",");
        if ((size_t)(end - p) > 10 && strncasecmp(p, "placement ", 10) == 0) {
            const char *v = p + 10;
            while (*v == ' ')
                v++;
            size_t n = (size_t)(end - v);
            while (n > 0 && v[n - 1] == ' ')
                n--;
            snprintf(out, len, "%.*s", (int)n, v);
            return true;
        }
        p = end;
    }
    return false;
}

/* "1.N" or "latest" into N; -1 when malformed, -2 for another major. */
static int parse_minor(const char *text)
{
    if (strcasecmp(text, "latest") == 0)
        return PL_MAX_MINOR;
    const char *dot = strchr(text, '.');
    if (!dot || dot == text || !dot[1] || strspn(text, "0123456789") != (size_t)(dot - text) ||
        strspn(dot + 1, "0123456789") != strlen(dot + 1) || strlen(dot + 1) > 6)
        return -1;
    if (strtol(text, NULL, 10) != 1)
        return -2;
    return (int)strtol(dot + 1, NULL, 10);
}

static bool negotiate(struct api_request *req, struct api_response *resp)
{
    char wanted[64];
    const char *header = api_header(req, "OpenStack-API-Version");
    if (!header || !placement_entry(header, wanted, sizeof(wanted))) {
        resp->placement.minor = 0;
        return true;
    }
    int minor = parse_minor(wanted);
    if (minor == -1) {
        pl_fail(resp, 400, NULL, "invalid version string: %s", wanted);
        return false;
    }
    if (minor < 0 || minor > PL_MAX_MINOR) {
        pl_fail(resp, 406, NULL, "Unacceptable version header: %s", wanted);
        json_object *errors = NULL;
        json_object_object_get_ex(resp->body, "errors", &errors);
        json_object *e = json_object_array_get_idx(errors, 0);
        char max[16];
        snprintf(max, sizeof(max), "1.%d", PL_MAX_MINOR);
        nph_json_add_string(e, "max_version", max);
        nph_json_add_string(e, "min_version", "1.0");
        return false;
    }
    resp->placement.minor = minor;
    return true;
}

static void root(struct api_request *req, struct api_response *resp)
{
    char max[16];
    snprintf(max, sizeof(max), "1.%d", PL_MAX_MINOR);
    json_object *v = json_object_new_object(), *link = json_object_new_object();
    nph_json_add_string(v, "id", "v1.0");
    nph_json_add_string(v, "max_version", max);
    nph_json_add_string(v, "min_version", "1.0");
    nph_json_add_string(v, "status", "CURRENT");
    nph_json_add_string(link, "rel", "self");
    nph_json_add_string(link, "href", "");
    json_object *links = json_object_new_array(), *versions = json_object_new_array();
    json_object_array_add(links, link);
    json_object_object_add(v, "links", links);
    json_object_array_add(versions, v);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "versions", versions);
    pl_reply(resp, 200, body);
}

/* ---- routes ------------------------------------------------------------------- */

struct route {
    const char *method;
    const char *pattern; /* below /placement; {} is one segment */
    api_handler handler;
    int min_minor;
    unsigned too_old;    /* the status before min_minor: 404, or 405 */
    const char *policy;  /* Placement's rule name, for the 403 */
};

static const struct route routes[] = {
    { "GET", "resource_providers", pl_providers_list, 0, 404, "resource_providers:list" },
    { "POST", "resource_providers", pl_provider_create, 0, 404, "resource_providers:create" },
    { "GET", "resource_providers/{}", pl_provider_show, 0, 404, "resource_providers:show" },
    { "PUT", "resource_providers/{}", pl_provider_update, 0, 404, "resource_providers:update" },
    { "DELETE", "resource_providers/{}", pl_provider_delete, 0, 404, "resource_providers:delete" },
    { "GET", "resource_providers/{}/inventories", pl_inventories_get, 0, 404, "inventories:list" },
    { "PUT", "resource_providers/{}/inventories", pl_inventories_put, 0, 404, "inventories:update" },
    { "POST", "resource_providers/{}/inventories", pl_inventories_post, 0, 404, "inventories:create" },
    { "DELETE", "resource_providers/{}/inventories", pl_inventories_delete, 5, 405,
      "inventories:delete" },
    { "GET", "resource_providers/{}/inventories/{}", pl_inventory_get, 0, 404, "inventories:show" },
    { "PUT", "resource_providers/{}/inventories/{}", pl_inventory_put, 0, 404, "inventories:update" },
    { "DELETE", "resource_providers/{}/inventories/{}", pl_inventory_delete, 0, 404,
      "inventories:delete" },
    { "GET", "resource_providers/{}/usages", pl_provider_usages, 0, 404, "resource_providers:usages" },
    { "GET", "resource_providers/{}/allocations", pl_provider_allocations, 0, 404,
      "resource_providers:allocations:list" },
    { "GET", "resource_providers/{}/aggregates", pl_aggregates_get, 1, 404,
      "resource_providers:aggregates:list" },
    { "PUT", "resource_providers/{}/aggregates", pl_aggregates_put, 1, 404,
      "resource_providers:aggregates:update" },
    { "GET", "resource_providers/{}/traits", pl_provider_traits_get, 6, 404,
      "resource_providers:traits:list" },
    { "PUT", "resource_providers/{}/traits", pl_provider_traits_put, 6, 404,
      "resource_providers:traits:update" },
    { "DELETE", "resource_providers/{}/traits", pl_provider_traits_delete, 6, 404,
      "resource_providers:traits:delete" },
    { "GET", "resource_classes", pl_classes_list, 2, 404, "resource_classes:list" },
    { "POST", "resource_classes", pl_class_create, 2, 404, "resource_classes:create" },
    { "GET", "resource_classes/{}", pl_class_show, 2, 404, "resource_classes:show" },
    { "PUT", "resource_classes/{}", pl_class_put, 7, 404, "resource_classes:update" },
    { "DELETE", "resource_classes/{}", pl_class_delete, 2, 404, "resource_classes:delete" },
    { "GET", "traits", pl_traits_list, 6, 404, "traits:list" },
    { "GET", "traits/{}", pl_trait_show, 6, 404, "traits:show" },
    { "PUT", "traits/{}", pl_trait_put, 6, 404, "traits:update" },
    { "DELETE", "traits/{}", pl_trait_delete, 6, 404, "traits:delete" },
    { "POST", "allocations", pl_allocations_post, 13, 405, "allocations:manage" },
    { "GET", "allocations/{}", pl_allocations_get, 0, 404, "allocations:list" },
    { "PUT", "allocations/{}", pl_allocations_put, 0, 404, "allocations:update" },
    { "DELETE", "allocations/{}", pl_allocations_delete, 0, 404, "allocations:delete" },
    { "GET", "usages", pl_usages, 9, 404, "usages" },
    { "GET", "allocation_candidates", pl_candidates, 10, 404, "allocation_candidates:list" },
};

/* Does the path match `pattern`?  The {} segments go to req->params. */
static bool path_matches(struct api_request *req, const char *pattern)
{
    int seg = 0, n_params = 0;
    for (const char *p = pattern; *p; seg++) {
        const char *end = p + strcspn(p, "/");
        size_t len = (size_t)(end - p);
        if (seg >= req->n_segments)
            return false;
        if (len == 2 && strncmp(p, "{}", 2) == 0) {
            if (n_params < 4)
                req->params[n_params++] = req->segments[seg];
        } else if (strlen(req->segments[seg]) != len || strncmp(p, req->segments[seg], len) != 0) {
            return false;
        }
        p = *end ? end + 1 : end;
    }
    return seg == req->n_segments;
}

static bool allowed(struct api_request *req, struct api_response *resp, const char *policy)
{
    if (!api_authenticate(req, resp))
        return false;
    if (req->ctx.is_admin)
        return true;
    pl_fail(resp, 403, NULL, "Policy does not allow placement:%s to be performed.", policy);
    return false;
}

static void dispatch(struct api_request *req, struct api_response *resp)
{
    if (req->n_segments == 1 && strcmp(req->segments[0], "reshaper") == 0) {
        pl_fail(resp, 501, NULL, "POST /reshaper is not implemented by Nephele yet.");
        return;
    }
    bool path_known = false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *r = &routes[i];
        if (!path_matches(req, r->pattern))
            continue;
        path_known = true;
        if (strcmp(r->method, req->method) != 0)
            continue;
        if (!pl_at(resp, r->min_minor))
            pl_fail(resp, r->too_old, NULL, "%s",
                    r->too_old == 405 ? "The method is not allowed at this microversion."
                                      : "The resource could not be found.");
        else if (allowed(req, resp, r->policy))
            r->handler(req, resp);
        return;
    }
    if (path_known)
        pl_fail(resp, 405, NULL, "The method %s is not allowed for this resource.", req->method);
    else
        pl_fail(resp, 404, NULL, "The resource could not be found.");
}

void api_placement_route(struct api_request *req, struct api_response *resp)
{
    if (!negotiate(req, resp))
        return;
    if (req->n_segments == 0) {
        if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
            root(req, resp);
        else
            pl_fail(resp, 405, NULL, "The method %s is not allowed for this resource.", req->method);
        return;
    }
    dispatch(req, resp);
}

/* ---- request bodies and query strings ------------------------------------------ */

void pl_invalid(struct api_response *resp, const char *fmt, ...)
{
    char message[1000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    pl_fail(resp, 400, NULL, "JSON does not validate: %s", message);
}

bool pl_body(struct api_request *req, struct api_response *resp)
{
    const char *type = api_header(req, "Content-Type");
    if (!type || strncasecmp(type, "application/json", 16) != 0) {
        pl_fail(resp, 415, NULL, "The media type %s is not supported, use application/json",
                type && *type ? type : "None");
        return false;
    }
    if (!req->body) {
        pl_fail(resp, 400, NULL, "Malformed JSON: Expecting value: line 1 column 1 (char 0)");
        return false;
    }
    if (!json_object_is_type(req->body, json_type_object)) {
        pl_invalid(resp, "%s is not of type 'object'", nph_json_text(req->body));
        return false;
    }
    return true;
}

bool pl_only_members(struct api_response *resp, json_object *obj, const char *const *allowed_keys)
{
    json_object_object_foreach(obj, key, value) {
        (void)value;
        const char *const *a = allowed_keys;
        while (*a && strcmp(*a, key) != 0)
            a++;
        if (!*a) {
            pl_invalid(resp, "Additional properties are not allowed ('%s' was unexpected)", key);
            return false;
        }
    }
    return true;
}

static const char *type_name(json_type type)
{
    switch (type) {
    case json_type_int: return "integer";
    case json_type_string: return "string";
    case json_type_array: return "array";
    case json_type_object: return "object";
    case json_type_double: return "number";
    default: return "null";
    }
}

bool pl_member(struct api_response *resp, json_object *obj, const char *key, json_type type,
               json_object **out)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v)) {
        pl_invalid(resp, "'%s' is a required property", key);
        return false;
    }
    bool ok = json_object_is_type(v, type) ||
              (type == json_type_double && json_object_is_type(v, json_type_int));
    if (!ok) {
        pl_invalid(resp, "%s is not of type '%s'", v ? nph_json_text(v) : "None", type_name(type));
        return false;
    }
    *out = v;
    return true;
}

bool pl_int_member(struct api_response *resp, json_object *obj, const char *key, bool required,
                   int64_t min, int64_t max, int64_t *out)
{
    json_object *v = NULL;
    if (!required && !json_object_object_get_ex(obj, key, NULL))
        return true;
    if (!pl_member(resp, obj, key, json_type_int, &v))
        return false;
    int64_t n = json_object_get_int64(v);
    if (n < min || n > max) {
        pl_invalid(resp, "%lld is %s the %s of %lld", (long long)n, n < min ? "less than" : "greater than",
                   n < min ? "minimum" : "maximum", (long long)(n < min ? min : max));
        return false;
    }
    *out = n;
    return true;
}

bool pl_generation(struct api_response *resp, json_object *body, int64_t *out)
{
    return pl_int_member(resp, body, "resource_provider_generation", true, 0, INT64_MAX, out);
}

bool pl_uuid_value(struct api_response *resp, json_object *value)
{
    if (json_object_is_type(value, json_type_string) &&
        nph_uuid_is_valid(json_object_get_string(value)))
        return true;
    pl_invalid(resp, "%s is not a 'uuid'", nph_json_text(value));
    return false;
}

struct query_walk {
    const char *const *allowed;
    const char *unexpected;
    const char *key;
    bool (*each)(void *opaque, const char *value);
    void *opaque;
    bool ok;
};

static enum MHD_Result check_key(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct query_walk *w = cls;
    for (const char *const *a = w->allowed; *a; a++)
        if (strcmp(*a, key) == 0)
            return MHD_YES;
    w->unexpected = key;
    return MHD_NO;
}

bool pl_query_allowed(struct api_request *req, struct api_response *resp,
                      const char *const *allowed_keys)
{
    struct query_walk w = { .allowed = allowed_keys };
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, check_key, &w);
    if (!w.unexpected)
        return true;
    pl_fail(resp, 400, NULL,
            "Invalid query string parameters: Additional properties are not allowed ('%s' was "
            "unexpected)",
            w.unexpected);
    return false;
}

static enum MHD_Result each_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct query_walk *w = cls;
    if (strcmp(key, w->key) != 0)
        return MHD_YES;
    w->ok = w->each(w->opaque, value ? value : "");
    return w->ok ? MHD_YES : MHD_NO;
}

bool pl_query_each(struct api_request *req, const char *key,
                   bool (*each)(void *opaque, const char *value), void *opaque)
{
    struct query_walk w = { .key = key, .each = each, .opaque = opaque, .ok = true };
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, each_value, &w);
    return w.ok;
}
