/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The server side of RFC 6455 websocket framing, without I/O: the opening
 * handshake's accept key, reading client frames (which must be masked) out of
 * a buffer, and the header of an unmasked server frame.  The proxy does the
 * I/O; test-ws checks this part byte by byte.
 */
#ifndef NPH_WS_H
#define NPH_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum ws_opcode {
    WS_CONTINUATION = 0x0,
    WS_TEXT = 0x1,
    WS_BINARY = 0x2,
    WS_CLOSE = 0x8,
    WS_PING = 0x9,
    WS_PONG = 0xA,
};

/* Close codes (RFC 6455, 7.4.1). */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL_ERROR = 1002,
    WS_CLOSE_TOO_BIG = 1009,
};

#define WS_MAX_HEADER 14
#define WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */

/* What a connection remembers between frames: a data message sent in
 * fragments is under way. */
struct ws_reader {
    uint64_t max_payload; /* a larger frame is an error (1009) */
    bool in_message;
    uint8_t message_opcode; /* WS_TEXT or WS_BINARY while in_message */
};

struct ws_frame {
    uint8_t opcode;         /* as sent; WS_CONTINUATION for later fragments */
    uint8_t message_opcode; /* for data frames: the message's WS_TEXT or WS_BINARY */
    bool fin;
    uint8_t *payload;       /* inside the caller's buffer, unmasked in place */
    size_t len;
};

/* Read one frame from buf[0..len).  Returns the bytes it took (> 0) with
 * *frame filled, 0 when more bytes are needed, or -1 for a frame the
 * protocol forbids, with *close_code saying which close to send. */
ssize_t ws_read_frame(struct ws_reader *r, uint8_t *buf, size_t len, struct ws_frame *frame,
                      uint16_t *close_code);

/* Write the header of an unmasked server frame (FIN set) carrying `len`
 * payload bytes into out; returns its length. */
size_t ws_frame_header(uint8_t out[WS_MAX_HEADER], uint8_t opcode, uint64_t len);

/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key. */
void ws_accept_key(const char *client_key, char out[WS_ACCEPT_LEN + 1]);

#endif
