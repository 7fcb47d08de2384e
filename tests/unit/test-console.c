/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The console proxy's parts without sockets: RFC 6455 framing (masking,
 * lengths, fragments, control frames, limits, the accept key) and the token
 * store on SQLite (hashing, expiry, the access URL). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "error.h"
#include "tap.h"
#include "ws.h"

/* A client frame: masked with `key`, as browsers send them. */
static size_t client_frame(uint8_t *out, uint8_t first, const void *payload, size_t len,
                           const uint8_t key[4])
{
    size_t at = 0;
    out[at++] = first;
    if (len < 126) {
        out[at++] = 0x80 | (uint8_t)len;
    } else if (len <= 0xFFFF) {
        out[at++] = 0x80 | 126;
        out[at++] = (uint8_t)(len >> 8);
        out[at++] = (uint8_t)len;
    } else {
        out[at++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[at++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    memcpy(out + at, key, 4);
    at += 4;
    for (size_t i = 0; i < len; i++)
        out[at + i] = ((const uint8_t *)payload)[i] ^ key[i & 3];
    return at + len;
}

static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };

static void test_masking(void)
{
    /* RFC 6455 5.7: a masked "Hello". */
    uint8_t hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
    struct ws_reader r = { .max_payload = 1024 };
    struct ws_frame f;
    uint16_t code = 0;
    is_int(ws_read_frame(&r, hello, 3, &f, &code), 0, "a partial header asks for more");
    is_int(ws_read_frame(&r, hello, sizeof(hello) - 1, &f, &code), 0,
           "a partial payload asks for more");
    is_int(ws_read_frame(&r, hello, sizeof(hello), &f, &code), (long)sizeof(hello),
           "the RFC's masked Hello is one frame");
    ok(f.fin && f.opcode == WS_TEXT && f.len == 5 && memcmp(f.payload, "Hello", 5) == 0,
       "unmasked in place to 'Hello'");

    uint8_t unmasked[] = { 0x82, 0x02, 'h', 'i' };
    ok(ws_read_frame(&r, unmasked, sizeof(unmasked), &f, &code) < 0 &&
           code == WS_CLOSE_PROTOCOL_ERROR,
       "an unmasked client frame is a protocol error (1002)");
    uint8_t rsv[] = { 0xC2, 0x80, 0, 0, 0, 0 };
    ok(ws_read_frame(&r, rsv, sizeof(rsv), &f, &code) < 0 && code == WS_CLOSE_PROTOCOL_ERROR,
       "reserved bits without an extension are a protocol error");
}

static void test_lengths(void)
{
    struct ws_reader r = { .max_payload = 100000 };
    static uint8_t buf[70000 + 14], payload[70000];
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)(i * 7);
    struct ws_frame f;
    uint16_t code = 0;
    size_t n = client_frame(buf, 0x82, payload, 300, key);
    ok(ws_read_frame(&r, buf, n, &f, &code) == (ssize_t)n && f.len == 300 &&
           memcmp(f.payload, payload, 300) == 0,
       "a 16-bit length frame (300 bytes)");
    n = client_frame(buf, 0x82, payload, sizeof(payload), key);
    ok(ws_read_frame(&r, buf, n, &f, &code) == (ssize_t)n && f.len == sizeof(payload) &&
           memcmp(f.payload, payload, sizeof(payload)) == 0,
       "a 64-bit length frame (70000 bytes)");

    r.max_payload = 1000;
    n = client_frame(buf, 0x82, payload, 1001, key);
    ok(ws_read_frame(&r, buf, 10, &f, &code) < 0 && code == WS_CLOSE_TOO_BIG,
       "a frame over the limit is refused from its header alone (1009)");

    uint8_t out[WS_MAX_HEADER];
    ok(ws_frame_header(out, WS_BINARY, 5) == 2 && out[0] == 0x82 && out[1] == 5,
       "server header, short length, unmasked");
    ok(ws_frame_header(out, WS_BINARY, 300) == 4 && out[1] == 126 && out[2] == 1 && out[3] == 44,
       "server header, 16-bit length");
    ok(ws_frame_header(out, WS_TEXT, 70000) == 10 && out[1] == 127 && out[7] == 1 &&
           out[8] == 0x11 && out[9] == 0x70,
       "server header, 64-bit length");
}

static void test_fragments_and_control(void)
{
    struct ws_reader r = { .max_payload = 1024 };
    uint8_t buf[512];
    struct ws_frame f;
    uint16_t code = 0;
    size_t n1 = client_frame(buf, 0x02, "RFB ", 4, key);         /* binary, not FIN */
    size_t n2 = client_frame(buf + n1, 0x89, "p", 1, key);       /* ping in between */
    size_t n3 = client_frame(buf + n1 + n2, 0x80, "003", 3, key); /* continuation, FIN */
    size_t at = 0;
    ssize_t used = ws_read_frame(&r, buf, n1 + n2 + n3, &f, &code);
    ok(used == (ssize_t)n1 && !f.fin && f.message_opcode == WS_BINARY && r.in_message,
       "first fragment opens a binary message");
    at += (size_t)used;
    used = ws_read_frame(&r, buf + at, n2 + n3, &f, &code);
    ok(used == (ssize_t)n2 && f.opcode == WS_PING && f.len == 1 && f.payload[0] == 'p',
       "a ping may come between fragments");
    at += (size_t)used;
    used = ws_read_frame(&r, buf + at, n3, &f, &code);
    ok(used == (ssize_t)n3 && f.fin && f.opcode == WS_CONTINUATION &&
           f.message_opcode == WS_BINARY && memcmp(f.payload, "003", 3) == 0 && !r.in_message,
       "the continuation ends the binary message");

    size_t n = client_frame(buf, 0x80, "x", 1, key);
    ok(ws_read_frame(&r, buf, n, &f, &code) < 0 && code == WS_CLOSE_PROTOCOL_ERROR,
       "a continuation with no message under way is a protocol error");
    r = (struct ws_reader){ .max_payload = 1024 };
    n = client_frame(buf, 0x01, "a", 1, key);
    ws_read_frame(&r, buf, n, &f, &code);
    n = client_frame(buf, 0x82, "b", 1, key);
    ok(ws_read_frame(&r, buf, n, &f, &code) < 0 && code == WS_CLOSE_PROTOCOL_ERROR,
       "a new message inside a fragmented one is a protocol error");

    r = (struct ws_reader){ .max_payload = 1024 };
    n = client_frame(buf, 0x09, "p", 1, key);
    ok(ws_read_frame(&r, buf, n, &f, &code) < 0 && code == WS_CLOSE_PROTOCOL_ERROR,
       "a fragmented ping is a protocol error");
    uint8_t big[200];
    memset(big, 'x', sizeof(big));
    n = client_frame(buf, 0x89, big, 126, key);
    ok(ws_read_frame(&r, buf, n, &f, &code) < 0 && code == WS_CLOSE_PROTOCOL_ERROR,
       "a control frame over 125 bytes is a protocol error");
    uint8_t close_body[] = { 0x03, 0xE8, 'b', 'y', 'e' };
    n = client_frame(buf, 0x88, close_body, sizeof(close_body), key);
    ok(ws_read_frame(&r, buf, n, &f, &code) == (ssize_t)n && f.opcode == WS_CLOSE &&
           f.len == 5 && f.payload[0] == 0x03 && f.payload[1] == 0xE8,
       "a close frame carries its code (1000) and reason");
    n = client_frame(buf, 0x83, "x", 1, key);
    ok(ws_read_frame(&r, buf, n, &f, &code) < 0 && code == WS_CLOSE_PROTOCOL_ERROR,
       "an unknown data opcode is a protocol error");
}

static void test_accept_key(void)
{
    char accept[WS_ACCEPT_LEN + 1];
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept);
    is_str(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "the RFC's example accept key");
}

static void test_tokens(void)
{
    char dir[] = "/tmp/nph-console-XXXXXX", url[300];
    if (!mkdtemp(dir)) {
        ok(0, "temporary directory");
        return;
    }
    snprintf(url, sizeof(url), "sqlite:///%s/t.db", dir);
    nph_error err = NPH_ERROR_INIT;
    nph_db *db = NULL;
    is_int(nph_db_open(url, &db, &err), NPH_OK, "open a database");
    is_int(nph_db_sync(db, &err), NPH_OK, "schema sync makes console_auth_tokens");
    struct nph_console_auth a = { .instance_uuid = "6c9a4b3e-7a1f-4d2b-9d2e-0a1b2c3d4e5f",
                                  .console_type = "novnc", .host = "127.0.0.1", .port = 5901,
                                  .access_url_base = "http://127.0.0.1:6080/vnc_auto.html",
                                  .expires = (int64_t)time(NULL) + 600 };
    char token[NPH_UUID_STRLEN + 1], token2[NPH_UUID_STRLEN + 1];
    is_int(nph_console_token_create(db, &a, token, &err), NPH_OK, "create a token");
    ok(nph_uuid_is_valid(token), "the token is a UUID");
    struct nph_console_auth got;
    is_int(nph_console_token_validate(db, token, &got, &err), NPH_OK, "it validates");
    ok(got.port == 5901 && strcmp(got.host, "127.0.0.1") == 0 &&
           strcmp(got.console_type, "novnc") == 0 &&
           strcmp(got.instance_uuid, a.instance_uuid) == 0 && got.tls_port == 0 &&
           got.internal_access_path[0] == '\0',
       "with the endpoint it was made for");
    is_int(nph_console_token_validate(db, "6c9a4b3e-0000-4d2b-9d2e-0a1b2c3d4e5f", &got, &err),
           NPH_ERR_NOT_FOUND, "an unknown token does not");
    nph_db_stmt *stmt = NULL;
    bool row;
    nph_db_prepare(db, "SELECT COUNT(*) FROM console_auth_tokens WHERE token_hash = ?", &stmt,
                   &err);
    nph_db_bind_text(stmt, 1, token);
    nph_db_step(stmt, &row, &err);
    is_int(nph_db_col_int(stmt, 0), 0, "the token itself is not stored");
    nph_db_reset(stmt);

    a.expires = (int64_t)time(NULL) - 1;
    is_int(nph_console_token_create(db, &a, token2, &err), NPH_OK, "create an expired token");
    is_int(nph_console_token_validate(db, token2, &got, &err), NPH_ERR_NOT_FOUND,
           "an expired token does not validate");
    a.expires = (int64_t)time(NULL) + 600;
    is_int(nph_console_token_create(db, &a, token2, &err), NPH_OK, "another token");
    nph_db_prepare(db, "SELECT COUNT(*) FROM console_auth_tokens", &stmt, &err);
    nph_db_step(stmt, &row, &err);
    is_int(nph_db_col_int(stmt, 0), 2, "creating one purged the expired one");
    nph_db_reset(stmt);

    char *u = nph_console_access_url(&a, "abc");
    is_str(u, "http://127.0.0.1:6080/vnc_auto.html?path=%3Ftoken%3Dabc",
           "noVNC's URL carries the token inside path");
    free(u);
    snprintf(a.console_type, sizeof(a.console_type), "serial");
    snprintf(a.access_url_base, sizeof(a.access_url_base), "ws://127.0.0.1:6083/");
    u = nph_console_access_url(&a, "abc");
    is_str(u, "ws://127.0.0.1:6083/?token=abc", "the serial URL carries token itself");
    free(u);
    nph_db_close(db);
    char path[300];
    static const char *const files[] = { "t.db", "t.db-wal", "t.db-shm" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(void)
{
    test_masking();
    test_lengths();
    test_fragments_and_control();
    test_accept_key();
    test_tokens();
    return tap_done();
}
