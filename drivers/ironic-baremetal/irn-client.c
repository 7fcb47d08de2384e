/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Ironic REST client: see irn-client.h. */
#include "config.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buffer.h"
#include "clock.h"
#include "irn-client.h"

#define IDLE_HANDLES 16
#define MAX_BACKOFF_MS 2000

struct irn_client {
    char *base;                  /* scheme://host:port[/prefix], no /v1 */
    int max_retries, retry_interval_ms;
    long timeout_s;
    void (*on_retry)(void *, const char *, const char *, const char *, long);
    void *retry_opaque;
    char *auth_url, *username, *password, *project_name, *user_domain, *project_domain;
    pthread_mutex_t lock;        /* guards everything below */
    char *token;                 /* NULL: noauth */
    int version, srv_min, srv_max;
    CURL *idle[IDLE_HANDLES];
    size_t n_idle;
    unsigned long requests, retries;
};

/* What one exchange brought back. */
struct reply {
    long status;
    nph_buffer body;
    int min, max;                /* the version headers; 0 when absent */
    char subject_token[4096];    /* Keystone's X-Subject-Token */
};

/* "1.82" -> 82; 0 when it is not a 1.N version. */
static int parse_minor(const char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    if (strncmp(text, "1.", 2) != 0)
        return 0;
    return atoi(text + 2);
}

static size_t on_body(char *data, size_t size, size_t n, void *opaque)
{
    struct reply *r = opaque;
    return nph_buffer_append(&r->body, data, size * n) == NPH_OK ? size * n : 0;
}

/* Header "Name: value" -> value (trimmed into out) when the name matches. */
static bool header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    if (len <= n + 1 || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    const char *v = line + n + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    snprintf(out, cap, "%.*s", (int)(end - v), v);
    return true;
}

static size_t on_header(char *line, size_t size, size_t n, void *opaque)
{
    struct reply *r = opaque;
    size_t len = size * n;
    char value[64];
    if (header_value(line, len, "X-OpenStack-Ironic-API-Minimum-Version", value, sizeof(value)))
        r->min = parse_minor(value);
    else if (header_value(line, len, "X-OpenStack-Ironic-API-Maximum-Version", value,
                          sizeof(value)))
        r->max = parse_minor(value);
    else
        header_value(line, len, "X-Subject-Token", r->subject_token, sizeof(r->subject_token));
    return len;
}

static CURL *take_handle(irn_client *c)
{
    pthread_mutex_lock(&c->lock);
    CURL *h = c->n_idle ? c->idle[--c->n_idle] : NULL;
    c->requests++;
    pthread_mutex_unlock(&c->lock);
    if (h)
        curl_easy_reset(h);
    else
        h = curl_easy_init();
    return h;
}

static void give_handle(irn_client *c, CURL *h)
{
    pthread_mutex_lock(&c->lock);
    if (c->n_idle < IDLE_HANDLES) {
        c->idle[c->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (h)
        curl_easy_cleanup(h);
}

/* One HTTP exchange; NPH_ERR_IO when no answer came. */
static nph_status perform(irn_client *c, const char *method, const char *url, const char *body,
                          struct curl_slist *headers, struct reply *r, nph_error *err)
{
    CURL *h = take_handle(c);
    if (!h)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory for a curl handle");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s > 0 ? c->timeout_s : 60L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    char curl_err[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    give_handle(c, h);
    if (rc != CURLE_OK)
        return nph_error_set(err, NPH_ERR_IO, "Ironic at %s did not answer %s: %s", url, method,
                             curl_err[0] ? curl_err : curl_easy_strerror(rc));
    return NPH_OK;
}

static void reply_reset(struct reply *r)
{
    nph_buffer_reset(&r->body);
    memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------------------ */
/* Error bodies and JSON readers.                                           */

const char *irn_str(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

int64_t irn_int(json_object *obj, const char *key, int64_t dflt)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !v)
        return dflt;
    return json_object_get_int64(v); /* Ironic keeps some numbers as strings */
}

bool irn_bool(json_object *obj, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(obj, key, &v) && json_object_get_boolean(v);
}

void irn_error_text(const char *body, char *out, size_t len)
{
    json_object *outer = body && *body ? json_tokener_parse(body) : NULL;
    const char *inner_text = irn_str(outer, "error_message");
    json_object *inner = inner_text ? json_tokener_parse(inner_text) : NULL;
    const char *msg = irn_str(inner, "faultstring");
    if (!msg)
        msg = irn_str(inner, "description");
    if (!msg)
        msg = inner_text ? inner_text : body ? body : "";
    snprintf(out, len, "%s", msg);
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
        out[--n] = '\0';
    json_object_put(inner);
    json_object_put(outer);
}

/* ------------------------------------------------------------------------ */
/* Keystone and version negotiation.                                        */

static json_object *named(const char *name, const char *domain)
{
    json_object *o = json_object_new_object(), *d = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(name ? name : ""));
    json_object_object_add(d, "name", json_object_new_string(domain ? domain : "Default"));
    json_object_object_add(o, "domain", d);
    return o;
}

/* POST /v3/auth/tokens with the password; the token replaces c->token. */
static nph_status keystone_login(irn_client *c, nph_error *err)
{
    json_object *user = named(c->username, c->user_domain);
    json_object_object_add(user, "password", json_object_new_string(c->password ? c->password : ""));
    json_object *password = json_object_new_object(), *identity = json_object_new_object();
    json_object_object_add(password, "user", user);
    json_object *methods = json_object_new_array();
    json_object_array_add(methods, json_object_new_string("password"));
    json_object_object_add(identity, "methods", methods);
    json_object_object_add(identity, "password", password);
    json_object *auth = json_object_new_object(), *scope = json_object_new_object();
    json_object_object_add(auth, "identity", identity);
    json_object_object_add(scope, "project", named(c->project_name, c->project_domain));
    json_object_object_add(auth, "scope", scope);
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "auth", auth);

    char url[2048];
    size_t n = strlen(c->auth_url);
    bool has_v3 = n >= 3 && strcmp(c->auth_url + n - 3, "/v3") == 0;
    snprintf(url, sizeof(url), "%s%s/auth/tokens", c->auth_url, has_v3 ? "" : "/v3");
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct reply r = { 0 };
    nph_status st = perform(c, "POST", url, json_object_to_json_string(doc), headers, &r, err);
    curl_slist_free_all(headers);
    json_object_put(doc);
    if (st == NPH_OK && (r.status != 201 || !r.subject_token[0]))
        st = nph_error_set(err, NPH_ERR_BACKEND, "Keystone at %s refused user '%s' (HTTP %ld): %.200s",
                           url, c->username ? c->username : "", r.status, nph_buffer_str(&r.body));
    if (st == NPH_OK) {
        char *token = strdup(r.subject_token);
        pthread_mutex_lock(&c->lock);
        free(c->token);
        c->token = token;
        pthread_mutex_unlock(&c->lock);
        if (!token)
            st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    reply_reset(&r);
    return st;
}

/* Choose the newest version both sides speak from the server's range. */
static nph_status choose_version(irn_client *c, int srv_min, int srv_max, nph_error *err)
{
    if (srv_max <= 0)
        return nph_error_set(err, NPH_ERR_BACKEND,
                             "%s does not look like Ironic: no X-OpenStack-Ironic-API-Maximum-Version "
                             "header", c->base);
    int v = srv_max < IRN_API_MAX ? srv_max : IRN_API_MAX;
    if (v < IRN_API_MIN || v < srv_min)
        return nph_error_set(err, NPH_ERR_NOT_SUPPORTED,
                             "Ironic at %s speaks API 1.%d to 1.%d; this driver needs 1.%d to 1.%d",
                             c->base, srv_min, srv_max, IRN_API_MIN, IRN_API_MAX);
    pthread_mutex_lock(&c->lock);
    c->version = v;
    c->srv_min = srv_min;
    c->srv_max = srv_max;
    pthread_mutex_unlock(&c->lock);
    return NPH_OK;
}

/* ------------------------------------------------------------------------ */
/* Requests.                                                                */

static struct curl_slist *request_headers(irn_client *c, bool has_body)
{
    char line[4200];
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (has_body)
        h = curl_slist_append(h, "Content-Type: application/json");
    pthread_mutex_lock(&c->lock);
    snprintf(line, sizeof(line), "X-OpenStack-Ironic-API-Version: 1.%d", c->version);
    h = curl_slist_append(h, line);
    if (c->token) {
        snprintf(line, sizeof(line), "X-Auth-Token: %s", c->token);
        h = curl_slist_append(h, line);
    }
    pthread_mutex_unlock(&c->lock);
    return h;
}

static nph_status status_error(const char *method, const char *path, long status,
                               const char *msg, nph_error *err)
{
    nph_status code = status == 404 ? NPH_ERR_NOT_FOUND
                      : status == 409 ? NPH_ERR_CONFLICT
                      : status == 400 ? NPH_ERR_INVALID
                      : status == 406 ? NPH_ERR_NOT_SUPPORTED
                                      : NPH_ERR_BACKEND;
    return nph_error_set(err, code, "Ironic refused %s %s (HTTP %ld): %s", method, path, status,
                         msg[0] ? msg : "no message");
}

static void backoff(irn_client *c, int attempt, const char *method, const char *path,
                    const char *why)
{
    long ms = c->retry_interval_ms > 0 ? c->retry_interval_ms : 100;
    for (int i = 0; i < attempt && ms < MAX_BACKOFF_MS; i++)
        ms *= 2;
    if (ms > MAX_BACKOFF_MS)
        ms = MAX_BACKOFF_MS;
    pthread_mutex_lock(&c->lock);
    c->retries++;
    pthread_mutex_unlock(&c->lock);
    if (c->on_retry)
        c->on_retry(c->retry_opaque, method, path, why, ms);
    nph_clock_sleep_ms((unsigned)ms);
}

nph_status irn_request(irn_client *c, const char *method, const char *path, json_object *body,
                       json_object **out, nph_error *err)
{
    if (out)
        *out = NULL;
    char url[4096];
    if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0)
        snprintf(url, sizeof(url), "%s", path);
    else
        snprintf(url, sizeof(url), "%s%s", c->base, path);
    const char *text = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : NULL;
    bool renegotiated = false, relogged = false;
    struct reply r = { 0 };
    char msg[1024] = "";
    nph_status st;
    for (int attempt = 0;; attempt++) {
        reply_reset(&r);
        struct curl_slist *headers = request_headers(c, text != NULL);
        st = perform(c, method, url, text, headers, &r, err);
        curl_slist_free_all(headers);
        if (st != NPH_OK)
            break;
        if (r.status >= 200 && r.status < 300)
            break;
        irn_error_text(nph_buffer_str(&r.body), msg, sizeof(msg));
        if (r.status == 406 && !renegotiated && r.max > 0) {
            renegotiated = true;
            if ((st = choose_version(c, r.min, r.max, err)) != NPH_OK)
                break;
            continue;
        }
        if (r.status == 401 && c->auth_url && !relogged) {
            relogged = true;
            if ((st = keystone_login(c, err)) != NPH_OK)
                break;
            continue;
        }
        bool locked = r.status == 409 && strstr(msg, "locked");
        if ((locked || r.status == 503) && attempt < c->max_retries) {
            backoff(c, attempt, method, path, msg);
            continue;
        }
        st = status_error(method, path, r.status, msg, err);
        break;
    }
    if (st == NPH_OK && out && r.body.len) {
        json_tokener *tok = json_tokener_new();
        *out = json_tokener_parse_ex(tok, r.body.data, (int)r.body.len);
        if (!*out)
            st = nph_error_set(err, NPH_ERR_BACKEND, "Ironic answered %s %s with bad JSON: %s",
                               method, path, json_tokener_error_desc(json_tokener_get_error(tok)));
        json_tokener_free(tok);
    }
    reply_reset(&r);
    return st;
}

nph_status irn_list(irn_client *c, const char *path, const char *key, irn_item_cb cb,
                    void *opaque, nph_error *err)
{
    char *next = strdup(path);
    nph_status st = next ? NPH_OK : nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    while (st == NPH_OK && next) {
        json_object *page = NULL, *items = NULL;
        st = irn_request(c, "GET", next, NULL, &page, err);
        free(next);
        next = NULL;
        if (st == NPH_OK && (!json_object_object_get_ex(page, key, &items) ||
                             !json_object_is_type(items, json_type_array)))
            st = nph_error_set(err, NPH_ERR_BACKEND, "Ironic's answer to GET %s has no '%s' list",
                               path, key);
        for (size_t i = 0; st == NPH_OK && i < json_object_array_length(items); i++)
            st = cb(opaque, json_object_array_get_idx(items, i), err);
        const char *link = irn_str(page, "next");
        if (st == NPH_OK && link && *link && !(next = strdup(link)))
            st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
        json_object_put(page);
    }
    free(next);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Lifetime.                                                                */

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static nph_status negotiate(irn_client *c, nph_error *err)
{
    struct reply r = { 0 };
    char url[2100];
    snprintf(url, sizeof(url), "%s/v1/", c->base);
    struct curl_slist *headers = request_headers(c, false);
    nph_status st = perform(c, "GET", url, NULL, headers, &r, err);
    curl_slist_free_all(headers);
    if (st == NPH_OK && r.status != 200 && r.status != 406) {
        char msg[512];
        irn_error_text(nph_buffer_str(&r.body), msg, sizeof(msg));
        st = status_error("GET", "/v1/", r.status, msg, err);
    }
    if (st == NPH_OK)
        st = choose_version(c, r.min, r.max, err);
    reply_reset(&r);
    return st;
}

nph_status irn_client_new(const struct irn_client_config *cfg, irn_client **out, nph_error *err)
{
    if (!cfg->url || strncmp(cfg->url, "http", 4) != 0)
        return nph_error_set(err, NPH_ERR_INVALID, "the Ironic URL '%s' is not an http(s) URL",
                             cfg->url ? cfg->url : "");
    irn_client *c = calloc(1, sizeof(*c));
    if (!c)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    c->max_retries = cfg->max_retries;
    c->retry_interval_ms = cfg->retry_interval_ms;
    c->timeout_s = cfg->timeout_s;
    c->on_retry = cfg->on_retry;
    c->retry_opaque = cfg->retry_opaque;
    c->base = strdup(cfg->url);
    c->token = dup_or_null(cfg->token);
    c->auth_url = dup_or_null(cfg->auth_url);
    c->username = dup_or_null(cfg->username);
    c->password = dup_or_null(cfg->password);
    c->project_name = dup_or_null(cfg->project_name);
    c->user_domain = dup_or_null(cfg->user_domain);
    c->project_domain = dup_or_null(cfg->project_domain);
    c->version = IRN_API_MAX;
    nph_status st = c->base ? NPH_OK : nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    if (st == NPH_OK) {
        size_t n = strlen(c->base);
        while (n > 0 && c->base[n - 1] == '/')
            c->base[--n] = '\0';
        if (n >= 3 && strcmp(c->base + n - 3, "/v1") == 0)
            c->base[n - 3] = '\0';
    }
    if (st == NPH_OK && c->auth_url)
        st = keystone_login(c, err);
    if (st == NPH_OK)
        st = negotiate(c, err);
    if (st != NPH_OK) {
        irn_client_free(c);
        return st;
    }
    *out = c;
    return NPH_OK;
}

void irn_client_free(irn_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_idle; i++)
        curl_easy_cleanup(c->idle[i]);
    pthread_mutex_destroy(&c->lock);
    free(c->base);
    free(c->token);
    free(c->auth_url);
    free(c->username);
    free(c->password);
    free(c->project_name);
    free(c->user_domain);
    free(c->project_domain);
    free(c);
}

int irn_client_version(irn_client *c)
{
    pthread_mutex_lock(&c->lock);
    int v = c->version;
    pthread_mutex_unlock(&c->lock);
    return v;
}

void irn_client_server_range(irn_client *c, int *min, int *max)
{
    pthread_mutex_lock(&c->lock);
    *min = c->srv_min;
    *max = c->srv_max;
    pthread_mutex_unlock(&c->lock);
}

void irn_client_set_version(irn_client *c, int v)
{
    pthread_mutex_lock(&c->lock);
    c->version = v;
    pthread_mutex_unlock(&c->lock);
}

unsigned long irn_client_requests(irn_client *c)
{
    pthread_mutex_lock(&c->lock);
    unsigned long n = c->requests;
    pthread_mutex_unlock(&c->lock);
    return n;
}

unsigned long irn_client_retries(irn_client *c)
{
    pthread_mutex_lock(&c->lock);
    unsigned long n = c->retries;
    pthread_mutex_unlock(&c->lock);
    return n;
}
