/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* /os-keypairs: a user's SSH public keys (import, list, show, delete). */
#include "config.h"

#include <ctype.h>
#include <nettle/base64.h>
#include <nettle/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "clock.h"
#include "db-objects.h"
#include "error.h"

/* "ssh-rsa AAAA... comment": the MD5 of the decoded blob as aa:bb:...;
 * false when the key does not parse. */
static bool fingerprint(const char *public_key, char out[48])
{
    const char *blob = strchr(public_key, ' ');
    if (!blob || (strncmp(public_key, "ssh-", 4) != 0 && strncmp(public_key, "ecdsa-", 6) != 0))
        return false;
    blob++;
    size_t len = strcspn(blob, " \r\n");
    if (len == 0 || len > 16384)
        return false;
    uint8_t *decoded = malloc(BASE64_DECODE_LENGTH(len));
    struct base64_decode_ctx ctx;
    size_t n = BASE64_DECODE_LENGTH(len);
    base64_decode_init(&ctx);
    bool ok = decoded && base64_decode_update(&ctx, &n, decoded, len, blob) &&
              base64_decode_final(&ctx) && n > 4;
    if (ok) {
        struct md5_ctx md5;
        uint8_t digest[MD5_DIGEST_SIZE];
        md5_init(&md5);
        md5_update(&md5, n, decoded);
        md5_digest(&md5, sizeof(digest), digest);
        for (size_t i = 0; i < sizeof(digest); i++)
            snprintf(out + 3 * i, 4, i + 1 < sizeof(digest) ? "%02x:" : "%02x", digest[i]);
    }
    free(decoded);
    return ok;
}

static json_object *keypair_view(const struct api_request *req, json_object *row, bool full)
{
    json_object *view = json_object_new_object();
    static const char *const basic[] = { "name", "public_key", "fingerprint" };
    for (size_t i = 0; i < 3; i++)
        json_object_object_add(view, basic[i], json_object_get(api_member(row, basic[i])));
    if (req->minor >= 2)
        json_object_object_add(view, "type", json_object_get(api_member(row, "type")));
    if (full) {
        json_object_object_add(view, "user_id", json_object_get(api_member(row, "user_id")));
        json_object_object_add(view, "created_at", json_object_get(api_member(row, "created_at")));
        nph_json_add_bool(view, "deleted", false);
        json_object_object_add(view, "deleted_at", NULL);
        json_object_object_add(view, "updated_at", NULL);
        json_object_object_add(view, "id", json_object_get(api_member(row, "id")));
    }
    return view;
}

/* Whose keypairs: one's own, or (admins, from 2.10) ?user_id=. */
static const char *owner(struct api_request *req, struct api_response *resp, const char *given)
{
    if (!given || req->minor < 10 || strcmp(given, req->ctx.user_id) == 0)
        return req->ctx.user_id;
    return api_is_admin(req, resp) ? given : NULL;
}

static json_object *find(struct api_request *req, const char *user, const char *name)
{
    const char *params[] = { user, name };
    nph_auto_json *rows = NULL;
    if (nph_db_select_rows(req->db, "SELECT * FROM key_pairs WHERE user_id = ? AND name = ? AND "
                                    "deleted = 0",
                           params, 2, &rows, NULL) != NPH_OK)
        return NULL;
    return json_object_get(json_object_array_get_idx(rows, 0));
}

/* The user's keypairs in Nova's order (by id), from 2.35 those after the
 * keypair named `marker` (the caller stops at its limit). */
static bool select_keypairs(struct api_request *req, struct api_response *resp, const char *user,
                            const char *marker, json_object **rows)
{
    nph_auto_json *m = marker ? find(req, user, marker) : NULL;
    if (marker && !m) {
        api_error(resp, 400, "Marker %s could not be found.", marker);
        return false;
    }
    char after[24];
    snprintf(after, sizeof(after), "%lld",
             m ? (long long)json_object_get_int64(api_member(m, "id")) : 0LL);
    const char *params[] = { user, after };
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_select_rows(req->db, "SELECT * FROM key_pairs WHERE user_id = ? AND deleted = 0 "
                                    "AND id > ? ORDER BY id",
                           params, 2, rows, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return false;
    }
    return true;
}

void api_keypairs_list(struct api_request *req, struct api_response *resp)
{
    const char *user = owner(req, resp, api_query(req, "user_id"));
    if (!user)
        return;
    int limit = req->api->max_limit;
    const char *marker = NULL;
    if (req->minor >= 35 && !api_paging(req, resp, &limit, &marker))
        return;
    nph_auto_json *rows = NULL;
    if (!select_keypairs(req, resp, user, marker, &rows))
        return;
    json_object *list = json_object_new_array();
    size_t n = json_object_array_length(rows);
    if (n > (size_t)limit)
        n = (size_t)limit;
    for (size_t i = 0; i < n; i++) {
        json_object *wrap = json_object_new_object();
        json_object_object_add(wrap, "keypair",
                               keypair_view(req, json_object_array_get_idx(rows, i), false));
        json_object_array_add(list, wrap);
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "keypairs", list);
    /* As Nova: a full page links to the next one, named by the last key. */
    if (req->minor >= 35 && n > 0 && (int)n == limit)
        json_object_object_add(
            body, "keypairs_links",
            api_next_link(req, "os-keypairs",
                          json_object_get_string(api_member(json_object_array_get_idx(rows, n - 1),
                                                        "name")),
                          limit));
    api_reply(resp, 200, body);
}

void api_keypairs_show(struct api_request *req, struct api_response *resp)
{
    const char *user = owner(req, resp, api_query(req, "user_id"));
    if (!user)
        return;
    nph_auto_json *row = find(req, user, req->params[0]);
    if (!row) {
        api_error(resp, 404, "Keypair %s not found for user %s", req->params[0], user);
        return;
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "keypair", keypair_view(req, row, true));
    api_reply(resp, 200, body);
}

static bool valid_name(const char *name)
{
    size_t len = strlen(name);
    if (len < 1 || len > 255)
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr(" -_.@", *p))
            return false;
    return true;
}

void api_keypairs_create(struct api_request *req, struct api_response *resp)
{
    json_object *kp;
    if (!api_body_object(req, resp, "keypair", &kp))
        return;
    static const char *const v1[] = { "name", "public_key", NULL };
    static const char *const v2[] = { "name", "public_key", "type", NULL };
    static const char *const v10[] = { "name", "public_key", "type", "user_id", NULL };
    if (!api_no_extra_members(resp, kp, req->minor >= 10 ? v10 : req->minor >= 2 ? v2 : v1))
        return;
    json_object *name = api_member(kp, "name"), *key = api_member(kp, "public_key"), *type = api_member(kp, "type");
    if (!name || !json_object_is_type(name, json_type_string)) {
        api_error(resp, 400, "Invalid input for field/attribute keypair. 'name' is a required "
                             "property");
        return;
    }
    if (!valid_name(json_object_get_string(name))) {
        api_error(resp, 400, "Keypair data is invalid: Keypair name contains unsafe characters");
        return;
    }
    const char *type_name = type ? json_object_get_string(type) : "ssh";
    if (strcmp(type_name, "ssh") != 0 && strcmp(type_name, "x509") != 0) {
        api_error(resp, 400, "Invalid input for field/attribute type. Value: %s. '%s' is not one "
                             "of ['ssh', 'x509']",
                  type_name, type_name);
        return;
    }
    const char *user = owner(req, resp, json_object_get_string(api_member(kp, "user_id")));
    if (!user)
        return;
    char *generated_public = NULL, *private_key = NULL;
    if (!key && strcmp(type_name, "ssh") != 0) {
        api_error(resp, 501, "Generating x509 key pairs is not implemented by this cloud; import a "
                             "certificate with 'public_key'.");
        return;
    }
    if (!key && !api_keygen_rsa("Generated-by-Nephele", &generated_public, &private_key)) {
        api_error(resp, 500, "Key pair generation failed.");
        return;
    }
    nph_auto_json *generated = generated_public ? json_object_new_string(generated_public) : NULL;
    free(generated_public);
    if (generated)
        key = generated;
    char fp[48];
    if (!json_object_is_type(key, json_type_string) || !fingerprint(json_object_get_string(key), fp)) {
        free(private_key);
        api_error(resp, 400, "Keypair data is invalid: failed to generate fingerprint");
        return;
    }
    const char *count_params[] = { user };
    nph_auto_json *rows = NULL;
    if (nph_db_select_rows(req->db, "SELECT COUNT(*) AS n FROM key_pairs WHERE user_id = ? AND "
                                    "deleted = 0",
                           count_params, 1, &rows, NULL) == NPH_OK &&
        req->api->quota_defaults[API_QUOTA_KEY_PAIRS] >= 0 &&
        json_object_get_int64(api_member(json_object_array_get_idx(rows, 0), "n")) >=
            req->api->quota_defaults[API_QUOTA_KEY_PAIRS]) {
        free(private_key);
        api_error(resp, 403, "Quota exceeded, too many key pairs.");
        return;
    }
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    const char *params[] = { user, json_object_get_string(name), fp, json_object_get_string(key),
                             type_name, now };
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_db_execute(req->db,
                                   "INSERT INTO key_pairs (user_id, name, fingerprint, public_key, "
                                   "type, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                                   params, 6, NULL, &err);
    if (st != NPH_OK) {
        free(private_key);
        if (st == NPH_ERR_CONFLICT)
            api_error(resp, 409, "Key pair '%s' already exists.", json_object_get_string(name));
        else
            api_error_from(resp, &err);
        return;
    }
    nph_auto_json *row = find(req, user, json_object_get_string(name));
    json_object *view = keypair_view(req, row, false);
    json_object_object_add(view, "user_id", json_object_new_string(user));
    if (private_key) {
        json_object_object_add(view, "private_key", json_object_new_string(private_key));
        free(private_key);
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "keypair", view);
    api_reply(resp, req->minor >= 2 ? 201 : 200, body);
}

void api_keypairs_delete(struct api_request *req, struct api_response *resp)
{
    const char *user = owner(req, resp, api_query(req, "user_id"));
    if (!user)
        return;
    nph_auto_json *row = find(req, user, req->params[0]);
    if (!row) {
        api_error(resp, 404, "Keypair %s not found for user %s", req->params[0], user);
        return;
    }
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)json_object_get_int64(api_member(row, "id")));
    const char *params[] = { id, id };
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_execute(req->db, "UPDATE key_pairs SET deleted = ? WHERE id = ?", params, 2, NULL,
                       &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    resp->status = req->minor >= 2 ? 204 : 202;
}
