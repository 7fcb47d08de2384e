/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The built-in identity: enough of Keystone v3 for the OpenStack clients
 * (GET /v3, POST /v3/auth/tokens with the password and token methods, GET
 * /v3/auth/tokens), with users, their project and roles from a file:
 *
 *     [user:admin]
 *     password = secret
 *     project = admin
 *     roles = admin, member, reader
 *
 * Tokens carry their own content, signed (HMAC-SHA256 with [identity]
 * token_key), so every API process and every restart accepts them until
 * they expire, as Keystone's Fernet tokens do.
 */
#include "config.h"

#include <nettle/base64.h>
#include <nettle/hmac.h>
#include <nettle/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api-internal.h"
#include "buffer.h"
#include "clock.h"
#include "conf.h"
#include "error.h"
#include "log.h"
#include "uuid.h"

NPH_LOG_INIT("api.identity");

#define DOMAIN_ID "default"
#define DOMAIN_NAME "Default"

/* Stable ids from names, 32 hex digits as Keystone's. */
static void name_id(const char *kind, const char *name, char out[33])
{
    struct md5_ctx ctx;
    uint8_t digest[MD5_DIGEST_SIZE];
    md5_init(&ctx);
    md5_update(&ctx, strlen(kind), (const uint8_t *)kind);
    md5_update(&ctx, 1, (const uint8_t *)":");
    md5_update(&ctx, strlen(name), (const uint8_t *)name);
    md5_digest(&ctx, sizeof(digest), digest);
    for (int i = 0; i < MD5_DIGEST_SIZE; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

/* ---- users -------------------------------------------------------------- */

struct identity_user {
    char name[128], id[33], project[128], project_id[33], roles[256];
    const char *password;
};

static bool find_user(const nph_api *api, const char *name, const char *id,
                      struct identity_user *out)
{
    size_t n = nph_config_count(api->identity);
    for (size_t i = 0; i < n; i++) {
        const struct nph_config_entry *e = nph_config_entry_at(api->identity, i);
        if (strncmp(e->section, "user:", 5) != 0 || strcmp(e->key, "password") != 0)
            continue;
        const char *user = e->section + 5;
        char user_id[33];
        name_id("user", user, user_id);
        if ((name && strcmp(name, user) != 0) || (id && strcmp(id, user_id) != 0))
            continue;
        snprintf(out->name, sizeof(out->name), "%s", user);
        memcpy(out->id, user_id, sizeof(out->id));
        out->password = e->value;
        snprintf(out->project, sizeof(out->project), "%s",
                 nph_config_get(api->identity, e->section, "project", user));
        name_id("project", out->project, out->project_id);
        snprintf(out->roles, sizeof(out->roles), "%s",
                 nph_config_get(api->identity, e->section, "roles", "member,reader"));
        return true;
    }
    return false;
}

nph_status api_identity_load(nph_api *api, const nph_config *cfg, nph_error *err)
{
    const char *file = nph_config_get(cfg, "identity", "users_file", NULL);
    const char *key = nph_config_get(cfg, "identity", "token_key", NULL);
    if (!file || !key || strlen(key) < 16)
        return nph_error_set(err, NPH_ERR_INVALID,
                             "auth_strategy builtin needs [identity] users_file and a token_key "
                             "of at least 16 characters");
    api->token_key = strdup(key);
    api->identity = nph_config_new();
    nph_status st = nph_config_get_int(cfg, "identity", "token_expiration", 3600,
                                       &api->token_seconds, err);
    if (st == NPH_OK && (!api->token_key || !api->identity))
        st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    if (st == NPH_OK)
        st = nph_config_load_file(api->identity, file, err);
    return st;
}

/* ---- tokens: base64url(payload) "." base64url(hmac) ----------------------- */

static void b64url(const uint8_t *data, size_t len, nph_buffer *out)
{
    char *text = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
    if (!text)
        return;
    base64_encode_raw(text, len, data);
    size_t n = BASE64_ENCODE_RAW_LENGTH(len);
    while (n > 0 && text[n - 1] == '=')
        n--;
    for (size_t i = 0; i < n; i++) /* the URL-safe alphabet */
        text[i] = text[i] == '+' ? '-' : text[i] == '/' ? '_' : text[i];
    nph_buffer_append(out, text, n);
    free(text);
}

static void sign(const nph_api *api, const char *payload, size_t len, nph_buffer *out)
{
    struct hmac_sha256_ctx ctx;
    uint8_t mac[SHA256_DIGEST_SIZE];
    hmac_sha256_set_key(&ctx, strlen(api->token_key), (const uint8_t *)api->token_key);
    hmac_sha256_update(&ctx, len, (const uint8_t *)payload);
    hmac_sha256_digest(&ctx, sizeof(mac), mac);
    b64url(mac, sizeof(mac), out);
}

/* The token's content: "v1|user|project|roles|expires|audit". */
static char *mint(const nph_api *api, const struct identity_user *u, time_t expires)
{
    char audit[NPH_UUID_STRLEN + 1], payload[800];
    nph_uuid_generate(audit);
    int n = snprintf(payload, sizeof(payload), "v1|%s|%s|%s|%lld|%.22s", u->name, u->project,
                     u->roles, (long long)expires, audit);
    nph_auto_buffer token = NPH_BUFFER_INIT;
    b64url((const uint8_t *)payload, (size_t)n, &token);
    nph_buffer_append(&token, ".", 1);
    sign(api, payload, (size_t)n, &token);
    return nph_buffer_steal(&token);
}

/* Check a token; fills *u and *expires from it.  False when it is not ours,
 * was changed or has expired. */
static bool verify(const nph_api *api, const char *token, struct identity_user *u, time_t *expires)
{
    const char *dot = token ? strchr(token, '.') : NULL;
    if (!dot || dot == token || strlen(token) > 2000)
        return false;
    size_t enc_len = (size_t)(dot - token);
    char padded[2100];
    size_t pad = (4 - enc_len % 4) % 4;
    snprintf(padded, sizeof(padded), "%.*s%.*s", (int)enc_len, token, (int)pad, "===");
    for (char *p = padded; *p; p++)
        *p = *p == '-' ? '+' : *p == '_' ? '/' : *p;
    uint8_t payload[1600];
    size_t len = sizeof(payload) - 1;
    struct base64_decode_ctx ctx;
    base64_decode_init(&ctx);
    if (!base64_decode_update(&ctx, &len, payload, strlen(padded), padded) ||
        !base64_decode_final(&ctx))
        return false;
    payload[len] = '\0';
    nph_auto_buffer mac = NPH_BUFFER_INIT;
    sign(api, (const char *)payload, len, &mac);
    if (mac.len != strlen(dot + 1) || memcmp(mac.data, dot + 1, mac.len) != 0)
        return false;
    char user[128] = "", project[128] = "", roles[256] = "";
    long long exp = 0;
    if (sscanf((const char *)payload, "v1|%127[^|]|%127[^|]|%255[^|]|%lld|", user, project, roles,
               &exp) != 4 ||
        exp < (long long)time(NULL))
        return false;
    struct identity_user found;
    if (!find_user(api, user, NULL, &found))
        return false; /* removed from the file since */
    *u = found;
    snprintf(u->project, sizeof(u->project), "%s", project);
    name_id("project", project, u->project_id);
    snprintf(u->roles, sizeof(u->roles), "%s", roles);
    *expires = (time_t)exp;
    return true;
}

static bool has_role(const char *roles, const char *role)
{
    size_t len = strlen(role);
    for (const char *p = roles; (p = strstr(p, role)); p += len) {
        bool starts = p == roles || p[-1] == ',' || p[-1] == ' ';
        bool ends = p[len] == '\0' || p[len] == ',' || p[len] == ' ';
        if (starts && ends)
            return true;
    }
    return false;
}

bool api_identity_context(const nph_api *api, const char *token, struct api_context *ctx)
{
    struct identity_user u;
    time_t expires;
    if (!verify(api, token, &u, &expires))
        return false;
    snprintf(ctx->user_id, sizeof(ctx->user_id), "%s", u.id);
    snprintf(ctx->project_id, sizeof(ctx->project_id), "%s", u.project_id);
    ctx->is_admin = has_role(u.roles, "admin");
    ctx->read_only = !ctx->is_admin && !has_role(u.roles, "member");
    return true;
}

/* ---- /v3 ------------------------------------------------------------------ */

static void identity_error(struct api_response *resp, unsigned status, const char *title,
                           const char *message)
{
    json_object *inner = json_object_new_object();
    nph_json_add_int(inner, "code", status);
    nph_json_add_string(inner, "title", title);
    nph_json_add_string(inner, "message", message);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "error", inner);
    api_reply(resp, status, body);
}

static json_object *version_doc(const struct api_request *req)
{
    char href[400];
    snprintf(href, sizeof(href), "%s/v3/", req->base_url);
    json_object *v = json_object_new_object();
    nph_json_add_string(v, "id", "v3.14");
    nph_json_add_string(v, "status", "stable");
    nph_json_add_string(v, "updated", "2020-04-07T00:00:00Z");
    json_object *links = json_object_new_array(), *self = json_object_new_object();
    nph_json_add_string(self, "rel", "self");
    nph_json_add_string(self, "href", href);
    json_object_array_add(links, self);
    json_object_object_add(v, "links", links);
    json_object *types = json_object_new_array(), *media = json_object_new_object();
    nph_json_add_string(media, "base", "application/json");
    nph_json_add_string(media, "type", "application/vnd.openstack.identity-v3+json");
    json_object_array_add(types, media);
    json_object_object_add(v, "media-types", types);
    return v;
}

static json_object *named(const char *id, const char *name, bool with_domain)
{
    json_object *o = json_object_new_object();
    nph_json_add_string(o, "id", id);
    nph_json_add_string(o, "name", name);
    if (with_domain)
        json_object_object_add(o, "domain", named(DOMAIN_ID, DOMAIN_NAME, false));
    return o;
}

static json_object *endpoint(const char *url, const char *id)
{
    json_object *e = json_object_new_object();
    nph_json_add_string(e, "id", id);
    nph_json_add_string(e, "interface", "public");
    nph_json_add_string(e, "region", "RegionOne");
    nph_json_add_string(e, "region_id", "RegionOne");
    nph_json_add_string(e, "url", url);
    return e;
}

static json_object *catalog(const struct api_request *req)
{
    static const struct {
        const char *type, *name, *path;
    } services[] = { { "compute", "nova", "/v2.1" }, { "image", "glance", "/image" },
                     { "placement", "placement", "/placement" },
                     { "identity", "keystone", "/v3" } };
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
        char url[400], id[33];
        snprintf(url, sizeof(url), "%s%s", req->base_url, services[i].path);
        name_id("endpoint", services[i].type, id);
        json_object *svc = json_object_new_object(), *eps = json_object_new_array();
        json_object_array_add(eps, endpoint(url, id));
        json_object_object_add(svc, "endpoints", eps);
        name_id("service", services[i].type, id);
        nph_json_add_string(svc, "id", id);
        nph_json_add_string(svc, "type", services[i].type);
        nph_json_add_string(svc, "name", services[i].name);
        json_object_array_add(list, svc);
    }
    return list;
}

static json_object *token_body(const struct api_request *req, const struct identity_user *u,
                               time_t expires, const char *method)
{
    char when[32], now[NPH_ISO_TIME_LEN];
    struct tm tm;
    gmtime_r(&expires, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
    nph_clock_iso_now(now);
    json_object *token = json_object_new_object();
    json_object *methods = json_object_new_array();
    json_object_array_add(methods, json_object_new_string(method));
    json_object_object_add(token, "methods", methods);
    json_object *user = named(u->id, u->name, true);
    json_object_object_add(user, "password_expires_at", NULL);
    json_object_object_add(token, "user", user);
    json_object *audit = json_object_new_array();
    char audit_id[NPH_UUID_STRLEN + 1];
    nph_uuid_generate(audit_id);
    json_object_array_add(audit, json_object_new_string_len(audit_id, 22));
    json_object_object_add(token, "audit_ids", audit);
    nph_json_add_string(token, "expires_at", when);
    nph_json_add_string(token, "issued_at", now);
    json_object_object_add(token, "project", named(u->project_id, u->project, true));
    nph_json_add_bool(token, "is_domain", false);
    json_object *roles = json_object_new_array();
    static const char *const known[] = { "admin", "member", "reader" };
    for (size_t i = 0; i < 3; i++) {
        if (!has_role(u->roles, known[i]))
            continue;
        char id[33];
        name_id("role", known[i], id);
        json_object_array_add(roles, named(id, known[i], false));
    }
    json_object_object_add(token, "roles", roles);
    json_object_object_add(token, "catalog", catalog(req));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "token", token);
    return body;
}

static const char *path_string(json_object *obj, const char *a, const char *b, const char *c)
{
    json_object *v = obj;
    const char *keys[] = { a, b, c };
    for (int i = 0; i < 3 && keys[i] && v; i++)
        if (!json_object_object_get_ex(v, keys[i], &v))
            return NULL;
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static void issue_token(struct api_request *req, struct api_response *resp)
{
    json_object *identity = NULL, *auth = NULL;
    if (!req->body || !json_object_object_get_ex(req->body, "auth", &auth) ||
        !json_object_object_get_ex(auth, "identity", &identity)) {
        identity_error(resp, 400, "Bad Request", "'identity' is a required property");
        return;
    }
    struct identity_user u;
    const char *method = "password";
    time_t expires = time(NULL) + (time_t)req->api->token_seconds;
    const char *name = path_string(identity, "password", "user", "name");
    const char *id = path_string(identity, "password", "user", "id");
    const char *password = path_string(identity, "password", "user", "password");
    const char *old = path_string(identity, "token", "id", NULL);
    bool ok;
    if (password) {
        ok = (name || id) && find_user(req->api, name, name ? NULL : id, &u) &&
             strcmp(u.password, password) == 0;
    } else if (old) {
        method = "token";
        ok = verify(req->api, old, &u, &expires); /* a new scope, the old expiry */
    } else {
        identity_error(resp, 400, "Bad Request", "only the password and token methods are supported");
        return;
    }
    if (!ok) {
        nph_info("authentication failed for %s", name ? name : id ? id : "a token");
        identity_error(resp, 401, "Unauthorized", "The request you have made requires authentication.");
        return;
    }
    /* A scope naming another project: the user's roles are only on its own. */
    const char *project = path_string(auth, "scope", "project", "name");
    const char *project_id = path_string(auth, "scope", "project", "id");
    if ((project && strcmp(project, u.project) != 0) ||
        (project_id && strcmp(project_id, u.project_id) != 0)) {
        identity_error(resp, 401, "Unauthorized", "User has no access to project");
        return;
    }
    char *token = mint(req->api, &u, expires);
    snprintf(resp->subject_token, sizeof(resp->subject_token), "%s", token ? token : "");
    free(token);
    api_reply(resp, 201, token_body(req, &u, expires, method));
}

static void validate_token(struct api_request *req, struct api_response *resp)
{
    struct identity_user caller, subject;
    time_t expires;
    const char *token = api_header(req, "X-Auth-Token");
    const char *other = api_header(req, "X-Subject-Token");
    if (!verify(req->api, token, &caller, &expires)) {
        identity_error(resp, 401, "Unauthorized", "The request you have made requires authentication.");
        return;
    }
    if (!verify(req->api, other, &subject, &expires)) {
        identity_error(resp, 404, "Not Found", "Could not find token.");
        return;
    }
    snprintf(resp->subject_token, sizeof(resp->subject_token), "%s", other);
    api_reply(resp, 200, token_body(req, &subject, expires, "password"));
}

void api_identity_route(struct api_request *req, struct api_response *resp)
{
    bool tokens = req->n_segments == 2 && strcmp(req->segments[0], "auth") == 0 &&
                  strcmp(req->segments[1], "tokens") == 0;
    if (req->n_segments == 0 && strcmp(req->method, "GET") == 0) {
        json_object *body = json_object_new_object();
        json_object_object_add(body, "version", version_doc(req));
        api_reply(resp, 200, body);
    } else if (!req->api->identity) {
        identity_error(resp, 404, "Not Found", "This cloud has no built-in identity service.");
    } else if (tokens && strcmp(req->method, "POST") == 0) {
        issue_token(req, resp);
    } else if (tokens && (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)) {
        validate_token(req, resp);
    } else {
        identity_error(resp, 404, "Not Found", "The resource could not be found.");
    }
}
