/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Nova's error bodies: {"itemNotFound": {"code": 404, "message": "..."}}. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "api-internal.h"
#include "error.h"

/* The names nova.api.openstack.wsgi.Fault gives each status. */
static const char *fault_name(unsigned status)
{
    switch (status) {
    case 400: return "badRequest";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "itemNotFound";
    case 405: return "badMethod";
    case 406: return "notAcceptable";
    case 409: return "conflictingRequest";
    case 413: return "overLimit";
    case 415: return "badMediaType";
    case 429: return "overLimit";
    case 501: return "notImplemented";
    case 503: return "serviceUnavailable";
    default: return "computeFault";
    }
}

void api_error(struct api_response *resp, unsigned status, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    if (resp->placement.on) {
        api_placement_error_body(resp, status, message);
        return;
    }
    json_object *inner = json_object_new_object();
    nph_json_add_int(inner, "code", status);
    nph_json_add_string(inner, "message", message);
    json_object *body = json_object_new_object();
    json_object_object_add(body, fault_name(status), inner);
    json_object_put(resp->body);
    resp->body = body;
    resp->status = status;
}

void api_error_from(struct api_response *resp, const nph_error *err)
{
    unsigned status;
    switch (err->code) {
    case NPH_ERR_NOT_FOUND: status = 404; break;
    case NPH_ERR_CONFLICT: status = 409; break;
    case NPH_ERR_INVALID: status = 400; break;
    case NPH_ERR_NOT_SUPPORTED: status = 501; break;
    case NPH_ERR_TIMEOUT: status = 504; break;
    default: status = 500; break;
    }
    api_error(resp, status, "%s", err->message);
}

void api_reply_text(struct api_response *resp, unsigned status, nph_buffer *text)
{
    json_object_put(resp->body);
    resp->body = NULL;
    free(resp->raw);
    resp->raw_len = text->len;
    resp->raw = nph_buffer_steal(text);
    resp->content_type = "application/json";
    resp->status = status;
}

void api_reply(struct api_response *resp, unsigned status, json_object *body)
{
    json_object_put(resp->body);
    resp->body = body;
    resp->status = status;
}
