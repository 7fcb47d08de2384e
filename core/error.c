/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

nph_status nph_error_setv(nph_error *err, nph_status code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
    }
    return code;
}

nph_status nph_error_set(nph_error *err, nph_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nph_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

nph_status nph_error_prefix(nph_error *err, const char *fmt, ...)
{
    if (!err)
        return NPH_OK;
    char prefix[NPH_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char joined[NPH_ERROR_MESSAGE_MAX];
    snprintf(joined, sizeof(joined), "%s%s", prefix, err->message);
    memcpy(err->message, joined, sizeof(err->message));
    return err->code;
}

void nph_error_clear(nph_error *err)
{
    if (err) {
        err->code = NPH_OK;
        err->message[0] = '\0';
    }
}

const char *nph_status_name(nph_status code)
{
    switch (code) {
    case NPH_OK: return "ok";
    case NPH_ERR_NOT_SUPPORTED: return "not supported";
    case NPH_ERR_NOT_FOUND: return "not found";
    case NPH_ERR_CONFLICT: return "conflict";
    case NPH_ERR_INVALID: return "invalid";
    case NPH_ERR_BACKEND: return "backend failure";
    case NPH_ERR_NO_MEMORY: return "out of memory";
    case NPH_ERR_TIMEOUT: return "timeout";
    case NPH_ERR_IO: return "I/O error";
    }
    return "unknown status";
}
