/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Errors: a status code and a whole-sentence message, carried up to the caller. */
#ifndef NPH_ERROR_H
#define NPH_ERROR_H

#include <stdarg.h>
#include "virt-driver.h"

#define NPH_ERROR_MESSAGE_MAX 1024

struct nph_error {
    nph_status code;
    char message[NPH_ERROR_MESSAGE_MAX];
};

#define NPH_ERROR_INIT { .code = NPH_OK, .message = "" }

/* Record `code` and the formatted message in `err` (which may be NULL) and
 * return `code`, so callers can write `return nph_error_set(err, ...)`. */
nph_status nph_error_set(nph_error *err, nph_status code, const char *fmt, ...) NPH_PRINTF(3, 4);
nph_status nph_error_setv(nph_error *err, nph_status code, const char *fmt, va_list ap)
    NPH_PRINTF(3, 0);
/* Prepend context ("loading 'x': ") to the message; returns err->code. */
nph_status nph_error_prefix(nph_error *err, const char *fmt, ...) NPH_PRINTF(2, 3);
void nph_error_clear(nph_error *err);
/* "ok", "not supported", "not found", ... */
const char *nph_status_name(nph_status code);

#endif
