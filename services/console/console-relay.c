/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One console client, as Nova's websocketproxy serves it: read the opening
 * HTTP request, take the token from the `token` query parameter or cookie,
 * check it and the Origin, connect to the console's host and port (through
 * an HTTP CONNECT to internal_access_path when there is one), answer 101 and
 * relay bytes both ways: binary websocket frames, or base64 text frames for
 * a client that only speaks websockify's `base64` subprotocol.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <nettle/base64.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "console-internal.h"
#include "error.h"
#include "log.h"
#include "ws.h"

NPH_LOG_INIT("console.relay");

#define MAX_REQUEST 8192
#define MAX_PAYLOAD (1u << 20) /* a larger client frame closes with 1009 */
#define CHUNK 65536            /* what is read from the console at once */
#define HANDSHAKE_TIMEOUT_S 10

struct request {
    char buf[MAX_REQUEST + 1];
    size_t len, head_len;      /* head_len: through the blank line */
    char *path;
    char *upgrade, *key, *version, *protocols, *cookie, *origin, *host;
};

static bool send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static void http_refuse(int fd, int status, const char *reason, const char *text)
{
    char out[1024];
    int n = snprintf(out, sizeof(out), "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
                                       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                     status, reason, strlen(text), text);
    send_all(fd, out, (size_t)n);
}

static void set_timeout(int fd, int seconds)
{
    struct timeval tv = { .tv_sec = seconds };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* Read until the blank line that ends an HTTP head; false on EOF, timeout
 * or a head larger than the buffer. */
static bool read_head(int fd, char *buf, size_t cap, size_t *len, size_t *head_len)
{
    while (*len < cap) {
        ssize_t n = recv(fd, buf + *len, cap - *len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        *len += (size_t)n;
        buf[*len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            *head_len = (size_t)(end - buf) + 4;
            return true;
        }
    }
    return false;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Split the head in place: request line, then the headers we use. */
static bool parse_request(struct request *r)
{
    r->buf[r->head_len - 2] = '\0';
    char *save = NULL, *line = strtok_r(r->buf, "\r\n", &save);
    if (!line || strncmp(line, "GET ", 4) != 0)
        return false;
    r->path = line + 4;
    char *sp = strchr(r->path, ' ');
    if (!sp)
        return false;
    *sp = '\0';
    static const char *const names[] = { "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version",
                                         "Sec-WebSocket-Protocol", "Cookie", "Origin", "Host" };
    char **slots[] = { &r->upgrade, &r->key, &r->version, &r->protocols, &r->cookie, &r->origin,
                       &r->host };
    while ((line = strtok_r(NULL, "\r\n", &save))) {
        char *colon = strchr(line, ':');
        if (!colon)
            return false;
        *colon = '\0';
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (strcasecmp(line, names[i]) == 0)
                *slots[i] = trim(colon + 1);
    }
    return true;
}

static int hexval(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
}

/* The value of `name` in a query string or cookie header ("a=1&b=2",
 * "a=1; b=2"), percent-decoded into out; false when absent or empty. */
static bool find_param(const char *text, const char *seps, const char *name, char *out,
                       size_t cap)
{
    size_t nlen = strlen(name);
    for (const char *p = text; p && *p;) {
        while (*p == ' ')
            p++;
        if (strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            size_t n = 0;
            for (p += nlen + 1; *p && !strchr(seps, *p) && n + 1 < cap; p++) {
                if (*p == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
                    out[n++] = (char)(hexval(p[1]) << 4 | hexval(p[2]));
                    p += 2;
                } else {
                    out[n++] = *p == '+' ? ' ' : *p;
                }
            }
            out[n] = '\0';
            return n > 0;
        }
        p = strpbrk(p, seps);
        if (p)
            p++;
    }
    return false;
}

static bool find_token(const struct request *r, char *out, size_t cap)
{
    const char *query = strchr(r->path, '?');
    if (query && find_param(query + 1, "&", "token", out, cap))
        return true;
    return r->cookie && find_param(r->cookie, ";", "token", out, cap);
}

/* The host part of "scheme://host:port/..." or "host:port". */
static void host_of(const char *text, char *out, size_t cap)
{
    const char *s = strstr(text, "://");
    s = s ? s + 3 : text;
    size_t n = 0;
    if (*s == '[') { /* [v6]:port */
        for (s++; *s && *s != ']' && n + 1 < cap; s++)
            out[n++] = *s;
    } else {
        for (; *s && *s != ':' && *s != '/' && n + 1 < cap; s++)
            out[n++] = (char)tolower((unsigned char)*s);
    }
    out[n] = '\0';
}

/* Nova's check against cross-site websocket hijacking: a browser's Origin
 * must be the host it asked (Host) or one of [console] allowed_origins. */
static bool origin_allowed(const nph_console_proxy *p, const struct request *r)
{
    if (!r->origin || strcmp(r->origin, "null") == 0)
        return !r->origin;
    char origin[256], host[256];
    host_of(r->origin, origin, sizeof(origin));
    host_of(r->host ? r->host : "", host, sizeof(host));
    if (strcmp(origin, host) == 0)
        return true;
    char allowed[1024];
    snprintf(allowed, sizeof(allowed), "%s", p->allowed_origins);
    char *save = NULL;
    for (char *a = strtok_r(allowed, ", ", &save); a; a = strtok_r(NULL, ", ", &save))
        if (strcasecmp(a, origin) == 0)
            return true;
    return false;
}

static bool has_item(const char *list, const char *item)
{
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", list ? list : "");
    char *save = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
        if (strcasecmp(t, item) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------------ */

static int connect_to(const char *host, int port, nph_error *err)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_NUMERICSERV }, *ai = NULL;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    int rc = getaddrinfo(host, service, &hints, &ai), fd = -1, e = 0;
    if (rc != 0) {
        nph_error_set(err, NPH_ERR_BACKEND, "cannot resolve console host '%s': %s", host,
                      gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (fd < 0)
        nph_error_set(err, NPH_ERR_BACKEND, "cannot connect to the console at %s:%d: %s", host,
                      port, strerror(e));
    return fd;
}

/* Some consoles sit behind an HTTP proxy path (Nova's internal_access_path):
 * CONNECT through it and expect a 200. */
static bool tunnel(int fd, const char *path, nph_error *err)
{
    char buf[2048];
    int n = snprintf(buf, sizeof(buf), "CONNECT %s HTTP/1.1\r\n\r\n", path);
    size_t len = 0, head = 0;
    set_timeout(fd, HANDSHAKE_TIMEOUT_S);
    if (!send_all(fd, buf, (size_t)n) || !read_head(fd, buf, sizeof(buf) - 1, &len, &head) ||
        !strstr(buf, " 200")) {
        nph_error_set(err, NPH_ERR_BACKEND, "the console's CONNECT %s was refused", path);
        return false;
    }
    set_timeout(fd, 0);
    return true;
}

/* ------------------------------------------------------------------------ */

struct relay {
    int client, target;
    bool base64;                      /* text frames of base64 both ways */
    struct ws_reader reader;
    struct base64_decode_ctx decoder;
    uint8_t *in;                      /* client bytes not yet framed */
    size_t in_len, in_cap;
};

static bool send_frame(int fd, uint8_t opcode, const void *data, size_t len)
{
    uint8_t head[WS_MAX_HEADER];
    size_t h = ws_frame_header(head, opcode, len);
    return send_all(fd, head, h) && send_all(fd, data, len);
}

static void send_close(int fd, uint16_t code)
{
    uint8_t body[2] = { (uint8_t)(code >> 8), (uint8_t)code };
    send_frame(fd, WS_CLOSE, body, sizeof(body));
}

/* Bytes from the console to the client as one frame. */
static bool console_to_client(struct relay *r)
{
    uint8_t buf[CHUNK];
    ssize_t n = recv(r->target, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR)
        return true;
    if (n <= 0)
        return false;
    if (!r->base64)
        return send_frame(r->client, WS_BINARY, buf, (size_t)n);
    char *text = malloc(BASE64_ENCODE_RAW_LENGTH((size_t)n));
    if (!text)
        return false;
    base64_encode_raw(text, (size_t)n, buf);
    bool ok = send_frame(r->client, WS_TEXT, text, BASE64_ENCODE_RAW_LENGTH((size_t)n));
    free(text);
    return ok;
}

static bool deliver(struct relay *r, struct ws_frame *f)
{
    if (!r->base64 || f->message_opcode != WS_TEXT)
        return send_all(r->target, f->payload, f->len);
    size_t out_len = BASE64_DECODE_LENGTH(f->len);
    uint8_t *out = malloc(out_len + 1);
    bool ok = out && base64_decode_update(&r->decoder, &out_len, out, f->len,
                                          (const char *)f->payload) &&
              send_all(r->target, out, out_len);
    free(out);
    return ok;
}

/* Act on one client frame; false ends the relay. */
static bool handle_frame(struct relay *r, struct ws_frame *f)
{
    switch (f->opcode) {
    case WS_PING:
        return send_frame(r->client, WS_PONG, f->payload, f->len);
    case WS_PONG:
        return true;
    case WS_CLOSE: /* echo its code, as RFC 6455 asks */
        send_frame(r->client, WS_CLOSE, f->payload, f->len >= 2 ? 2 : 0);
        return false;
    default:
        return deliver(r, f);
    }
}

/* Act on every whole frame in r->in; keep the rest for the next read. */
static bool drain_frames(struct relay *r)
{
    size_t at = 0;
    bool go_on = true;
    while (go_on) {
        struct ws_frame f;
        uint16_t code = 0;
        ssize_t used = ws_read_frame(&r->reader, r->in + at, r->in_len - at, &f, &code);
        if (used < 0) {
            nph_debug("console client broke the websocket protocol: closing with %u", code);
            send_close(r->client, code);
            return false;
        }
        if (used == 0)
            break;
        at += (size_t)used;
        go_on = handle_frame(r, &f);
    }
    memmove(r->in, r->in + at, r->in_len - at);
    r->in_len -= at;
    return go_on;
}

/* Client bytes: read what there is, room for one largest frame at most. */
static bool client_to_console(struct relay *r)
{
    if (r->in_cap - r->in_len < CHUNK && r->in_cap < MAX_PAYLOAD + 2 * CHUNK) {
        size_t cap = r->in_cap ? r->in_cap * 2 : 2 * CHUNK;
        if (cap > MAX_PAYLOAD + 2 * CHUNK)
            cap = MAX_PAYLOAD + 2 * CHUNK;
        uint8_t *in = realloc(r->in, cap);
        if (!in)
            return false;
        r->in = in;
        r->in_cap = cap;
    }
    ssize_t n = recv(r->client, r->in + r->in_len, r->in_cap - r->in_len, 0);
    if (n < 0 && errno == EINTR)
        return true;
    if (n <= 0)
        return false;
    r->in_len += (size_t)n;
    return drain_frames(r);
}

static void relay(struct relay *r)
{
    for (;;) {
        struct pollfd fds[2] = { { r->client, POLLIN, 0 }, { r->target, POLLIN, 0 } };
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (fds[0].revents && !client_to_console(r))
            return;
        if (fds[1].revents && !console_to_client(r)) {
            send_close(r->client, WS_CLOSE_NORMAL);
            return;
        }
    }
}

/* ------------------------------------------------------------------------ */

/* A websocket opening the proxy can serve, from an allowed Origin; else the
 * refusal has been sent.  *base64: websockify's base64 subprotocol. */
static bool check_request(struct console_conn *c, const struct request *req, bool *base64)
{
    int fd = c->client_fd;
    if (!req->upgrade || strcasecmp(req->upgrade, "websocket") != 0 || !req->key ||
        strlen(req->key) > 64) {
        http_refuse(fd, 400, "Bad Request", "This is a console proxy: open a websocket here.\n");
        return false;
    }
    if (!req->version || strcmp(req->version, "13") != 0) {
        http_refuse(fd, 426, "Upgrade Required", "Sec-WebSocket-Version 13 only.\n");
        return false;
    }
    *base64 = !has_item(req->protocols, "binary") && has_item(req->protocols, "base64");
    if (req->protocols && !has_item(req->protocols, "binary") && !*base64) {
        http_refuse(fd, 400, "Bad Request", "Client must support 'binary' or 'base64' protocol.\n");
        return false;
    }
    if (!origin_allowed(c->proxy, req)) {
        nph_warn("%s: origin %s is not allowed", c->proxy->kind->name, req->origin);
        http_refuse(fd, 403, "Forbidden", "Origin header not allowed.\n");
        return false;
    }
    return true;
}

/* The token's authorization, for a console this proxy serves; else 403. */
static bool authorize(struct console_conn *c, const struct request *req,
                      struct nph_console_auth *auth)
{
    const struct nph_console_proxy_kind *kind = c->proxy->kind;
    char token[256];
    nph_error err = NPH_ERROR_INIT;
    nph_auto_db *db = NULL;
    nph_status st = find_token(req, token, sizeof(token))
                        ? nph_db_open(c->proxy->db_url, &db, &err)
                        : nph_error_set(&err, NPH_ERR_NOT_FOUND, "no token in the request");
    if (st == NPH_OK)
        st = nph_console_token_validate(db, token, auth, &err);
    bool type_ok = false;
    for (size_t i = 0; st == NPH_OK && kind->console_types[i]; i++)
        type_ok |= strcmp(kind->console_types[i], auth->console_type) == 0;
    if (st != NPH_OK || !type_ok) {
        nph_info("%s: refused a client: %s", kind->name,
                 st != NPH_OK ? err.message : "a token for another kind of console");
        http_refuse(c->client_fd, 403, "Forbidden", "The token is invalid or has expired.\n");
        return false;
    }
    return true;
}

/* Connect to the console (c->target_fd); else 502. */
static bool reach_console(struct console_conn *c, const struct nph_console_auth *auth)
{
    nph_error err = NPH_ERROR_INIT;
    int target = connect_to(auth->host, auth->port, &err);
    if (target >= 0 && !console_set_target(c, target)) { /* the proxy is stopping */
        close(target);
        target = -1;
    }
    if (target >= 0 &&
        (!auth->internal_access_path[0] || tunnel(target, auth->internal_access_path, &err)))
        return true;
    nph_warn("%s: instance %s: %s", c->proxy->kind->name, auth->instance_uuid,
             err.message[0] ? err.message : "the proxy is stopping");
    http_refuse(c->client_fd, 502, "Bad Gateway", "The console cannot be reached.\n");
    return false;
}

/* Check the request and the token, connect to the console; on success the
 * 101 has been sent and *base64 says which subprotocol was agreed. */
static bool open_console(struct console_conn *c, struct request *req, bool *base64)
{
    struct nph_console_auth auth;
    if (!check_request(c, req, base64) || !authorize(c, req, &auth) || !reach_console(c, &auth))
        return false;
    const char *protocol = !req->protocols ? ""
                           : *base64       ? "Sec-WebSocket-Protocol: base64\r\n"
                                           : "Sec-WebSocket-Protocol: binary\r\n";
    char accept[WS_ACCEPT_LEN + 1], head[512];
    ws_accept_key(req->key, accept);
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s\r\n",
                     accept, protocol);
    nph_info("%s: instance %s: console %s:%d opened", c->proxy->kind->name, auth.instance_uuid,
             auth.host, auth.port);
    return send_all(c->client_fd, head, (size_t)n);
}

void console_serve(struct console_conn *c)
{
    struct request *req = calloc(1, sizeof(*req));
    set_timeout(c->client_fd, HANDSHAKE_TIMEOUT_S);
    bool base64 = false;
    if (req && read_head(c->client_fd, req->buf, MAX_REQUEST, &req->len, &req->head_len)) {
        bool parsed = parse_request(req);
        if (!parsed)
            http_refuse(c->client_fd, 400, "Bad Request", "Malformed HTTP request.\n");
        if (parsed && open_console(c, req, &base64)) {
            set_timeout(c->client_fd, 0);
            struct relay r = { .client = c->client_fd, .target = c->target_fd, .base64 = base64,
                               .reader = { .max_payload = MAX_PAYLOAD } };
            base64_decode_init(&r.decoder);
            /* Frames the client sent right behind its request. */
            size_t early = req->len - req->head_len;
            if (early && (r.in = malloc(early + 2 * CHUNK))) {
                memcpy(r.in, req->buf + req->head_len, early);
                r.in_len = early;
                r.in_cap = early + 2 * CHUNK;
            }
            free(req);
            req = NULL;
            if (!r.in_len || drain_frames(&r))
                relay(&r);
            free(r.in);
        }
    }
    free(req);
    console_conn_end(c);
}
