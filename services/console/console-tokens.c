/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Console tokens in console_auth_tokens: created by the compute API for one
 * console of one server, checked by the proxies.  The token itself is never
 * stored, only its SHA-256, so a database dump opens no console. */
#include "config.h"

#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "console.h"
#include "error.h"

static void token_hash(const char *token, char out[SHA256_DIGEST_SIZE * 2 + 1])
{
    struct sha256_ctx ctx;
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(token), (const uint8_t *)token);
    sha256_digest(&ctx, sizeof(digest), digest);
    for (size_t i = 0; i < sizeof(digest); i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

nph_status nph_console_token_create(nph_db *db, const struct nph_console_auth *auth,
                                    char token[NPH_UUID_STRLEN + 1], nph_error *err)
{
    nph_db_stmt *stmt;
    bool row;
    nph_status st = nph_db_prepare(db, "DELETE FROM console_auth_tokens WHERE expires <= ?", &stmt,
                                   err);
    if (st != NPH_OK)
        return st;
    nph_db_bind_int(stmt, 1, (int64_t)time(NULL));
    if ((st = nph_db_step(stmt, &row, err)) != NPH_OK)
        return st;
    nph_uuid_generate(token);
    char hash[SHA256_DIGEST_SIZE * 2 + 1], now[NPH_ISO_TIME_LEN];
    token_hash(token, hash);
    nph_clock_iso_now(now);
    st = nph_db_prepare(db, "INSERT INTO console_auth_tokens (token_hash, console_type, host, port,"
                            " tls_port, internal_access_path, access_url_base, instance_uuid,"
                            " expires, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &stmt, err);
    if (st != NPH_OK)
        return st;
    nph_db_bind_text(stmt, 1, hash);
    nph_db_bind_text(stmt, 2, auth->console_type);
    nph_db_bind_text(stmt, 3, auth->host);
    nph_db_bind_int(stmt, 4, auth->port);
    if (auth->tls_port)
        nph_db_bind_int(stmt, 5, auth->tls_port);
    else
        nph_db_bind_null(stmt, 5);
    nph_db_bind_text(stmt, 6, auth->internal_access_path[0] ? auth->internal_access_path : NULL);
    nph_db_bind_text(stmt, 7, auth->access_url_base);
    nph_db_bind_text(stmt, 8, auth->instance_uuid);
    nph_db_bind_int(stmt, 9, auth->expires);
    nph_db_bind_text(stmt, 10, now);
    return nph_db_step(stmt, &row, err);
}

nph_status nph_console_tokens_delete_instance(nph_db *db, const char *instance_uuid,
                                              nph_error *err)
{
    nph_db_stmt *stmt;
    bool row;
    nph_status st = nph_db_prepare(db, "DELETE FROM console_auth_tokens WHERE instance_uuid = ?",
                                   &stmt, err);
    if (st != NPH_OK)
        return st;
    nph_db_bind_text(stmt, 1, instance_uuid);
    return nph_db_step(stmt, &row, err);
}

static void copy_col(char *dst, size_t size, nph_db_stmt *stmt, int col)
{
    const char *v = nph_db_col_text(stmt, col);
    snprintf(dst, size, "%s", v ? v : "");
}

nph_status nph_console_token_validate(nph_db *db, const char *token, struct nph_console_auth *out,
                                      nph_error *err)
{
    char hash[SHA256_DIGEST_SIZE * 2 + 1];
    token_hash(token, hash);
    nph_db_stmt *stmt;
    nph_status st = nph_db_prepare(db, "SELECT console_type, host, port, tls_port,"
                                       " internal_access_path, access_url_base, instance_uuid,"
                                       " expires FROM console_auth_tokens"
                                       " WHERE token_hash = ? AND expires > ?",
                                   &stmt, err);
    if (st != NPH_OK)
        return st;
    nph_db_bind_text(stmt, 1, hash);
    nph_db_bind_int(stmt, 2, (int64_t)time(NULL));
    bool row = false;
    if ((st = nph_db_step(stmt, &row, err)) != NPH_OK)
        return st;
    if (!row)
        return nph_error_set(err, NPH_ERR_NOT_FOUND, "The token is invalid or has expired");
    memset(out, 0, sizeof(*out));
    copy_col(out->console_type, sizeof(out->console_type), stmt, 0);
    copy_col(out->host, sizeof(out->host), stmt, 1);
    out->port = (int)nph_db_col_int(stmt, 2);
    out->tls_port = nph_db_col_is_null(stmt, 3) ? 0 : (int)nph_db_col_int(stmt, 3);
    copy_col(out->internal_access_path, sizeof(out->internal_access_path), stmt, 4);
    copy_col(out->access_url_base, sizeof(out->access_url_base), stmt, 5);
    copy_col(out->instance_uuid, sizeof(out->instance_uuid), stmt, 6);
    out->expires = nph_db_col_int(stmt, 7);
    nph_db_reset(stmt);
    return NPH_OK;
}

/* noVNC 1.1 and later take the token inside its `path` parameter, which
 * older ones understand too; the others take `token` itself. */
char *nph_console_access_url(const struct nph_console_auth *auth, const char *token)
{
    char *url = NULL;
    const char *sep = strchr(auth->access_url_base, '?') ? "&" : "?";
    int n = strcmp(auth->console_type, "novnc") == 0
                ? asprintf(&url, "%s%spath=%%3Ftoken%%3D%s", auth->access_url_base, sep, token)
                : asprintf(&url, "%s%stoken=%s", auth->access_url_base, sep, token);
    return n < 0 ? NULL : url;
}
