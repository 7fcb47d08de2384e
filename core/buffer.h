/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A growable byte buffer, always NUL-terminated. */
#ifndef NPH_BUFFER_H
#define NPH_BUFFER_H

#include <stddef.h>
#include <string.h>
#include "virt-driver.h"

struct nph_buffer {
    char *data; /* NULL until the first append; owned by the buffer */
    size_t len;
    size_t cap;
};

#define NPH_BUFFER_INIT { NULL, 0, 0 }

nph_status nph_buffer_append(nph_buffer *buf, const void *data, size_t len);
/* nph_buffer_append with the common case (room left) inline, for writers
 * that make many small appends (a list of 1,000 servers makes ~150,000). */
static inline nph_status nph_buffer_put(nph_buffer *buf, const char *data, size_t len)
{
    if (buf->len + len + 1 > buf->cap)
        return nph_buffer_append(buf, data, len);
    memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return NPH_OK;
}
nph_status nph_buffer_appendf(nph_buffer *buf, const char *fmt, ...) NPH_PRINTF(2, 3);
/* The contents as a string ("" when empty); owned by the buffer. */
const char *nph_buffer_str(const nph_buffer *buf);
/* Hand the contents to the caller (who frees them) and empty the buffer. */
char *nph_buffer_steal(nph_buffer *buf);
void nph_buffer_reset(nph_buffer *buf);

static inline void nph_buffer_cleanup(nph_buffer *buf) { nph_buffer_reset(buf); }
#define nph_auto_buffer __attribute__((cleanup(nph_buffer_cleanup))) nph_buffer

#endif
