/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A client of OpenStack Ironic's REST API (v1) on libcurl and json-c, as
 * Nova's ironic driver uses it: every request carries the negotiated
 * X-OpenStack-Ironic-API-Version (without it Ironic answers as 1.1), a 406
 * renegotiates from the range the server states, error bodies (a JSON
 * string inside JSON) become the error message, 409 "node locked" and 503
 * are retried with backoff, listings follow their `next` links, and the
 * caller is anonymous (noauth), holds a fixed token or logs in to Keystone.
 *
 * Thread-safe: requests may run from several threads at once; each takes
 * an idle curl handle from a small pool, so connections are reused.
 */
#ifndef IRN_CLIENT_H
#define IRN_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include "error.h"

/* The API versions this client speaks: it asks for the newest the server
 * has up to IRN_API_MAX, and refuses a server below IRN_API_MIN (1.56:
 * configdrive as JSON; 1.27: soft power actions; 1.21: resource_class). */
#define IRN_API_MIN 56
#define IRN_API_MAX 82

struct irn_client_config {
    const char *url;            /* http://host:6385 (a trailing /v1 is accepted) */
    const char *token;          /* a fixed X-Auth-Token, or NULL */
    const char *auth_url;       /* Keystone v3 (with /v3 or not), or NULL for noauth */
    const char *username, *password, *project_name;
    const char *user_domain, *project_domain; /* NULL: "Default" */
    int max_retries;            /* 409 locked / 503 retries */
    int retry_interval_ms;      /* first backoff; doubles up to 2 s */
    long timeout_s;             /* per HTTP request */
    /* Told about each retry (may be NULL): the reason and the wait. */
    void (*on_retry)(void *opaque, const char *method, const char *path, const char *why,
                     long wait_ms);
    void *retry_opaque;
};

typedef struct irn_client irn_client;

/* Connect: authenticate if asked and negotiate the API version. */
nph_status irn_client_new(const struct irn_client_config *cfg, irn_client **out, nph_error *err);
void irn_client_free(irn_client *c);
/* The negotiated minor version (1.N) and the server's range. */
int irn_client_version(irn_client *c);
void irn_client_server_range(irn_client *c, int *min, int *max);
/* Ask for minor version `v` from now on (tests use it to provoke a 406). */
void irn_client_set_version(irn_client *c, int v);
/* Requests and 409/503 retries since the client was made (for tests). */
unsigned long irn_client_requests(irn_client *c);
unsigned long irn_client_retries(irn_client *c);

/*
 * One request.  `path` is relative to the API root ("/v1/nodes/X") or an
 * absolute URL (a `next` link).  `body` (may be NULL) is sent as JSON.
 * On 2xx *out (may be NULL) gets the parsed body (NULL when empty; caller
 * puts).  Errors: NPH_ERR_NOT_FOUND (404), NPH_ERR_CONFLICT (409 after the
 * retries of a locked node, or at once for other conflicts), NPH_ERR_INVALID
 * (400), NPH_ERR_NOT_SUPPORTED (406 the server's range cannot satisfy),
 * NPH_ERR_IO (no answer), NPH_ERR_BACKEND (anything else); the message
 * quotes Ironic's faultstring and the HTTP status.
 */
nph_status irn_request(irn_client *c, const char *method, const char *path, json_object *body,
                       json_object **out, nph_error *err);

/* GET `path` and every page its `next` links lead to, calling `cb` with each
 * element of the array member `key` (borrowed for the call). */
typedef nph_status (*irn_item_cb)(void *opaque, json_object *item, nph_error *err);
nph_status irn_list(irn_client *c, const char *path, const char *key, irn_item_cb cb,
                    void *opaque, nph_error *err);

/* Ironic's message out of an error body: the faultstring (or description)
 * of the JSON inside "error_message", else the text itself, in `out`. */
void irn_error_text(const char *body, char *out, size_t len);

/* Small JSON readers: a member's string (NULL when absent, null or not a
 * string), a member's integer (`dflt` when absent), a path's presence. */
const char *irn_str(json_object *obj, const char *key);
int64_t irn_int(json_object *obj, const char *key, int64_t dflt);
bool irn_bool(json_object *obj, const char *key);

#endif
