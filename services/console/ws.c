/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* RFC 6455 framing for the server side; see ws.h. */
#include "config.h"

#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <string.h>

#include "ws.h"

static ssize_t refuse(uint16_t *close_code, uint16_t code)
{
    *close_code = code;
    return -1;
}

/* The rules a frame's header must keep, given what came before it. */
static ssize_t check_header(struct ws_reader *r, uint8_t opcode, bool fin, bool masked,
                            uint8_t rsv, uint64_t len, uint16_t *close_code)
{
    bool control = opcode & 0x8;
    if (rsv || !masked) /* no extension was agreed; clients must mask */
        return refuse(close_code, WS_CLOSE_PROTOCOL_ERROR);
    if (control) {
        if (!fin || len > 125 || (opcode != WS_CLOSE && opcode != WS_PING && opcode != WS_PONG))
            return refuse(close_code, WS_CLOSE_PROTOCOL_ERROR);
        return 0;
    }
    if (opcode == WS_CONTINUATION ? !r->in_message
                                  : (r->in_message || (opcode != WS_TEXT && opcode != WS_BINARY)))
        return refuse(close_code, WS_CLOSE_PROTOCOL_ERROR);
    if (len > r->max_payload)
        return refuse(close_code, WS_CLOSE_TOO_BIG);
    return 0;
}

ssize_t ws_read_frame(struct ws_reader *r, uint8_t *buf, size_t len, struct ws_frame *frame,
                      uint16_t *close_code)
{
    if (len < 2)
        return 0;
    uint8_t opcode = buf[0] & 0x0F, rsv = buf[0] & 0x70;
    bool fin = buf[0] & 0x80, masked = buf[1] & 0x80;
    uint64_t plen = buf[1] & 0x7F;
    size_t at = 2;
    if (plen >= 126) {
        size_t n = plen == 126 ? 2 : 8;
        if (len < at + n)
            return 0;
        plen = 0;
        for (size_t i = 0; i < n; i++)
            plen = plen << 8 | buf[at + i];
        at += n;
        if (n == 8 && plen >> 63) /* the top bit must be 0 */
            return refuse(close_code, WS_CLOSE_PROTOCOL_ERROR);
    }
    if (check_header(r, opcode, fin, masked, rsv, plen, close_code) < 0)
        return -1;
    if (len < at + 4 || len - at - 4 < plen)
        return 0;
    const uint8_t *mask = buf + at;
    at += 4;
    for (uint64_t i = 0; i < plen; i++)
        buf[at + i] ^= mask[i & 3];
    frame->opcode = opcode;
    frame->fin = fin;
    frame->payload = buf + at;
    frame->len = (size_t)plen;
    frame->message_opcode = opcode;
    if (!(opcode & 0x8)) {
        if (opcode != WS_CONTINUATION)
            r->message_opcode = opcode;
        frame->message_opcode = r->message_opcode;
        r->in_message = !fin;
    }
    return (ssize_t)(at + plen);
}

size_t ws_frame_header(uint8_t out[WS_MAX_HEADER], uint8_t opcode, uint64_t len)
{
    out[0] = 0x80 | opcode;
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    size_t n = len <= 0xFFFF ? 2 : 8;
    out[1] = n == 2 ? 126 : 127;
    for (size_t i = 0; i < n; i++)
        out[2 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
    return 2 + n;
}

void ws_accept_key(const char *client_key, char out[WS_ACCEPT_LEN + 1])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    struct sha1_ctx ctx;
    uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_init(&ctx);
    sha1_update(&ctx, strlen(client_key), (const uint8_t *)client_key);
    sha1_update(&ctx, sizeof(guid) - 1, (const uint8_t *)guid);
    sha1_digest(&ctx, sizeof(digest), digest);
    base64_encode_raw((char *)out, sizeof(digest), digest);
    out[WS_ACCEPT_LEN] = '\0';
}
