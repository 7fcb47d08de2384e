/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"

static nph_status buffer_reserve(nph_buffer *buf, size_t extra)
{
    if (buf->len + extra + 1 <= buf->cap)
        return NPH_OK;
    size_t cap = buf->cap ? buf->cap : 64;
    while (cap < buf->len + extra + 1)
        cap *= 2;
    char *data = realloc(buf->data, cap);
    if (!data)
        return NPH_ERR_NO_MEMORY;
    buf->data = data;
    buf->cap = cap;
    return NPH_OK;
}

nph_status nph_buffer_append(nph_buffer *buf, const void *data, size_t len)
{
    if (buffer_reserve(buf, len) != NPH_OK)
        return NPH_ERR_NO_MEMORY;
    if (len)
        memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return NPH_OK;
}

nph_status nph_buffer_appendf(nph_buffer *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buffer_reserve(buf, (size_t)n) != NPH_OK)
        return NPH_ERR_NO_MEMORY;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return NPH_OK;
}

const char *nph_buffer_str(const nph_buffer *buf)
{
    return buf->data ? buf->data : "";
}

char *nph_buffer_steal(nph_buffer *buf)
{
    char *data = buf->data ? buf->data : strdup("");
    buf->data = NULL;
    buf->len = buf->cap = 0;
    return data;
}

void nph_buffer_reset(nph_buffer *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}
