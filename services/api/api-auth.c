/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Who is asking.  builtin: our own signed tokens (api-identity.c).
 * keystone: an external Keystone's tokens (api-keystone.c); when it cannot
 * be asked the answer is 503, never a guess.  noauth2, as Nova's: a token "USER:PROJECT" names both, and
 * only the user called "admin" is an administrator.  No token, or one
 * without a colon (the openstack CLI's --os-auth-type none sends
 * "notused"), means the admin user of the admin project: noauth2 is for
 * development, where the operator runs every command. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api-internal.h"
#include "log.h"

NPH_LOG_INIT("api.auth");

/* A 401 in Keystone's words, sending the client to `uri` for a token. */
static bool unauthorized(struct api_response *resp, const char *uri)
{
    json_object *inner = json_object_new_object();
    nph_json_add_int(inner, "code", 401);
    nph_json_add_string(inner, "title", "Unauthorized");
    nph_json_add_string(inner, "message", "The request you have made requires authentication.");
    json_object *body = json_object_new_object();
    json_object_object_add(body, "error", inner);
    api_reply(resp, 401, body);
    snprintf(resp->www_authenticate, sizeof(resp->www_authenticate), "Keystone uri=\"%s\"", uri);
    return false;
}

/* The reader role alone may only read. */
static bool may_write(struct api_request *req, struct api_response *resp)
{
    if (!req->ctx.read_only || strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
        return true;
    api_error(resp, 403, "Policy doesn't allow this operation to be performed: the reader "
                         "role is read-only.");
    return false;
}

static bool keystone_authenticate(struct api_request *req, struct api_response *resp)
{
    char why[512];
    const char *token = api_header(req, "X-Auth-Token");
    switch (api_keystone_check(req->api->keystone, token, &req->ctx, why, sizeof(why))) {
    case API_KEYSTONE_VALID:
        return may_write(req, resp);
    case API_KEYSTONE_INVALID:
        nph_info("token refused: %s", why);
        return unauthorized(resp, api_keystone_uri(req->api->keystone));
    case API_KEYSTONE_UNAVAILABLE:
    default:
        nph_warn("cannot validate a token: %s", why);
        /* The details (Keystone's address) stay in our log. */
        api_error(resp, 503, "The identity service is not available to validate the token; "
                             "try again later.");
        return false;
    }
}

bool api_authenticate(struct api_request *req, struct api_response *resp)
{
    if (req->api->keystone)
        return keystone_authenticate(req, resp);
    if (req->api->identity) {
        const char *token = api_header(req, "X-Auth-Token");
        if (!token || !api_identity_context(req->api, token, &req->ctx)) {
            char uri[320];
            snprintf(uri, sizeof(uri), "%s/v3", req->base_url);
            return unauthorized(resp, uri);
        }
        return may_write(req, resp);
    }
    const char *token = api_header(req, "X-Auth-Token");
    if (!token || !strchr(token, ':'))
        token = "admin:admin";
    const char *colon = strchr(token, ':');
    size_t user_len = colon ? (size_t)(colon - token) : strlen(token);
    const char *project = colon && colon[1] ? colon + 1 : NULL;
    if (user_len == 0 || user_len >= sizeof(req->ctx.user_id) ||
        (project && strlen(project) >= sizeof(req->ctx.project_id))) {
        api_error(resp, 401, "The request you have made requires authentication.");
        return false;
    }
    snprintf(req->ctx.user_id, sizeof(req->ctx.user_id), "%.*s", (int)user_len, token);
    snprintf(req->ctx.project_id, sizeof(req->ctx.project_id), "%s",
             project ? project : req->ctx.user_id);
    req->ctx.is_admin = strcmp(req->ctx.user_id, "admin") == 0;
    return true;
}
