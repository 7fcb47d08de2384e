/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Version discovery and microversion negotiation, as Nova does them. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api-internal.h"

/* "2.N" or "latest" into a minor version; -1 when malformed, 0 for 2.0 or
 * another major (out of range). */
static int parse_version(const char *text, size_t len)
{
    if (len == 6 && strncasecmp(text, "latest", 6) == 0)
        return API_MAX_MINOR;
    char buf[24];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *dot = strchr(buf, '.');
    if (!dot || dot == buf || !dot[1])
        return -1;
    for (char *p = buf; *p; p++)
        if (p != dot && !isdigit((unsigned char)*p))
            return -1;
    long major = strtol(buf, NULL, 10), minor = strtol(dot + 1, NULL, 10);
    if (major != 2 || minor > 100000)
        return 0;
    return (int)minor;
}

/* The compute entry of "OpenStack-API-Version: compute 2.47, placement 1.2". */
static bool compute_entry(const char *header, const char **value, size_t *len)
{
    for (const char *p = header; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p + strcspn(p, ",");
        if ((size_t)(end - p) > 8 && strncasecmp(p, "compute ", 8) == 0) {
            const char *v = p + 8;
            while (*v == ' ')
                v++;
            const char *v_end = end;
            while (v_end > v && v_end[-1] == ' ')
                v_end--;
            *value = v;
            *len = (size_t)(v_end - v);
            return true;
        }
        p = end;
    }
    return false;
}

bool api_negotiate_version(struct api_request *req, struct api_response *resp)
{
    const char *value = NULL;
    size_t len = 0;
    const char *modern = api_header(req, "OpenStack-API-Version");
    const char *legacy = api_header(req, "X-OpenStack-Nova-API-Version");
    if (!(modern && compute_entry(modern, &value, &len)) && legacy) {
        value = legacy;
        len = strlen(legacy);
    }
    req->minor = API_MIN_MINOR;
    if (!value)
        return true;
    req->version_asked = true;
    int minor = parse_version(value, len);
    if (minor < 0) {
        api_error(resp, 400,
                  "API Version String %.*s is of invalid format. Must be of format "
                  "MajorNum.MinorNum.",
                  (int)len, value);
        return false;
    }
    if (minor < API_MIN_MINOR || minor > API_MAX_MINOR) {
        req->minor = 0; /* no version headers on this answer */
        api_error(resp, 406,
                  "Version %.*s is not supported by the API. Minimum is 2.%d and maximum is 2.%d.",
                  (int)len, value, API_MIN_MINOR, API_MAX_MINOR);
        return false;
    }
    req->minor = minor;
    return true;
}

static json_object *make_link(const char *rel, const char *href, const char *type)
{
    json_object *l = json_object_new_object();
    nph_json_add_string(l, "rel", rel);
    nph_json_add_string(l, "href", href);
    if (type)
        nph_json_add_string(l, "type", type);
    return l;
}

static json_object *version_v21(const struct api_request *req, bool full)
{
    char href[400], max[16];
    snprintf(href, sizeof(href), "%s/v2.1/", req->base_url);
    snprintf(max, sizeof(max), "2.%d", API_MAX_MINOR);
    json_object *v = json_object_new_object();
    nph_json_add_string(v, "id", "v2.1");
    nph_json_add_string(v, "status", "CURRENT");
    nph_json_add_string(v, "version", max);
    nph_json_add_string(v, "min_version", "2.1");
    nph_json_add_string(v, "updated", "2013-07-23T11:33:21Z");
    json_object *links = json_object_new_array();
    json_object_array_add(links, make_link("self", href, NULL));
    if (full) {
        json_object_array_add(links, make_link("describedby", "http://docs.openstack.org/", "text/html"));
        json_object *media = json_object_new_object();
        nph_json_add_string(media, "base", "application/json");
        nph_json_add_string(media, "type", "application/vnd.openstack.compute+json;version=2.1");
        json_object *types = json_object_new_array();
        json_object_array_add(types, media);
        json_object_object_add(v, "media-types", types);
    }
    json_object_object_add(v, "links", links);
    return v;
}

void api_versions_root(struct api_request *req, struct api_response *resp)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        api_error(resp, 405, "The method %s is not allowed here.", req->method);
        return;
    }
    json_object *versions = json_object_new_array();
    json_object_array_add(versions, version_v21(req, false));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "versions", versions);
    api_reply(resp, 200, body);
}

void api_version_show(struct api_request *req, struct api_response *resp)
{
    json_object *body = json_object_new_object();
    json_object_object_add(body, "version", version_v21(req, true));
    api_reply(resp, 200, body);
}
