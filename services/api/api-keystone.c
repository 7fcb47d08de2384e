/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * auth_strategy = keystone: tokens issued by an external Keystone, checked
 * as keystonemiddleware's auth_token does.  With its own credentials from
 * [keystone_authtoken] the API holds a service token (password method,
 * project scope) and asks Keystone about each user token:
 *
 *     GET {auth_url}/v3/auth/tokens?nocatalog
 *     X-Auth-Token: <service token>      X-Subject-Token: <user token>
 *
 * 200 gives the user, project and roles; 404 means the token is not (or no
 * longer) valid; 401 means our service token was refused, so it is acquired
 * again and the question asked once more.  Anything else, or no answer within
 * [keystone_authtoken] timeout, is "unavailable": the caller answers 503
 * rather than letting a request hang or letting it in.
 *
 * Valid answers are cached by the SHA-256 of the token until the token
 * expires or token_cache_time passes, whichever comes first, so a revoked
 * token stays usable for at most token_cache_time, as with the middleware.
 * Only positive answers are cached: a token that failed can be retried at
 * once (and forgeries cost a round trip, not memory).
 *
 * libmicrohttpd calls us from its thread pool: each thread has its own CURL
 * handle (connections to Keystone are reused per thread); the service token
 * and the cache are under one mutex that is never held across a request.
 */
#include "config.h"

#include <curl/curl.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api-internal.h"
#include "buffer.h"
#include "conf.h"
#include "error.h"
#include "json.h"
#include "log.h"

NPH_LOG_INIT("api.keystone");

#define SECTION "keystone_authtoken"
#define CACHE_SETS 256
#define CACHE_WAYS 4            /* a set-associative table: bounded, no rehashing */
#define MAX_TOKEN_LEN 8192      /* longer than any Fernet or JWS token */
#define MAX_REPLY (4u << 20)    /* a token body without its catalog is a few KiB */
#define SERVICE_TOKEN_MARGIN 60 /* re-acquire our token this many seconds before it expires */

struct cache_entry {
    uint8_t digest[SHA256_DIGEST_SIZE];
    time_t until;               /* 0: empty */
    struct api_context ctx;
};

struct api_keystone {
    char *www_uri;              /* named in WWW-Authenticate on a 401 */
    char *v3_url;               /* auth_url with /v3, no trailing slash */
    char *username, *password, *project_name;
    char *user_domain, *project_domain;
    const char *user_domain_key, *project_domain_key; /* "id" or "name" */
    char *cafile;
    bool insecure;
    long timeout_ms;
    int64_t cache_seconds;      /* <= 0: no cache */
    pthread_key_t curl_key;     /* each HTTP thread's CURL handle */
    pthread_mutex_t lock;       /* the fields below */
    pthread_mutex_t refresh_lock; /* one service-token request at a time */
    char *service_token;
    time_t service_expires;
    unsigned attempts;          /* service-token requests so far */
    char last_failure[256];     /* why the last one failed */
    struct cache_entry cache[CACHE_SETS * CACHE_WAYS];
};

/* ---- configuration ---------------------------------------------------------- */

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void curl_cleanup(void *curl)
{
    curl_easy_cleanup(curl);
}

/* A key auth_strategy = keystone cannot do without: the message names the
 * file and line of the section (or of auth_strategy) and the key. */
static nph_status required(const nph_config *cfg, const char *key, char **out, nph_error *err)
{
    const struct nph_config_entry *e = nph_config_find(cfg, SECTION, key);
    if (e && *e->value)
        return (*out = strdup(e->value)) ? NPH_OK
                                         : nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    if (e)
        return nph_config_entry_error(err, NPH_ERR_INVALID, e, "must not be empty");
    const struct nph_config_entry *where = nph_config_section(cfg, SECTION);
    if (!where)
        where = nph_config_find(cfg, "api", "auth_strategy");
    if (where)
        return nph_error_set(err, NPH_ERR_INVALID,
                             "%s:%u: [%s] has no '%s'; auth_strategy = keystone needs it",
                             where->file, where->line, SECTION, key);
    return nph_error_set(err, NPH_ERR_INVALID,
                         "[%s] has no '%s'; auth_strategy = keystone needs it", SECTION, key);
}

static nph_status optional(const nph_config *cfg, const char *key, const char *fallback,
                           char **out, nph_error *err)
{
    const char *v = nph_config_get(cfg, SECTION, key, fallback);
    if (!v)
        return NPH_OK;
    return (*out = strdup(v)) ? NPH_OK : nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
}

/* "user" or "project": its domain by id when one is given, else by name. */
static nph_status domain(const nph_config *cfg, const char *who, char **value,
                         const char **kind, nph_error *err)
{
    char id_key[32], name_key[32];
    snprintf(id_key, sizeof(id_key), "%s_domain_id", who);
    snprintf(name_key, sizeof(name_key), "%s_domain_name", who);
    bool by_id = nph_config_get(cfg, SECTION, id_key, NULL) != NULL;
    *kind = by_id ? "id" : "name";
    return by_id ? optional(cfg, id_key, NULL, value, err)
                 : optional(cfg, name_key, "Default", value, err);
}

/* auth_url as Keystone's v3 root: "http://h:5000" and "http://h:5000/v3/"
 * both give "http://h:5000/v3", as keystoneauth's discovery would. */
static nph_status v3_url(const nph_config *cfg, const char *auth_url, char **out, nph_error *err)
{
    if (strncmp(auth_url, "http://", 7) != 0 && strncmp(auth_url, "https://", 8) != 0)
        return nph_config_entry_error(err, NPH_ERR_INVALID, nph_config_find(cfg, SECTION, "auth_url"),
                                      "'%s' is not an http:// or https:// URL", auth_url);
    size_t len = strlen(auth_url);
    while (len > 0 && auth_url[len - 1] == '/')
        len--;
    bool has_v3 = len >= 3 && strncmp(auth_url + len - 3, "/v3", 3) == 0;
    if (asprintf(out, "%.*s%s", (int)len, auth_url, has_v3 ? "" : "/v3") < 0) {
        *out = NULL;
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    return NPH_OK;
}

static nph_status read_numbers(struct api_keystone *ks, const nph_config *cfg, nph_error *err)
{
    double timeout = 10;
    nph_status st = nph_config_get_double(cfg, SECTION, "timeout", 10, &timeout, err);
    if (st == NPH_OK)
        st = nph_config_get_int(cfg, SECTION, "token_cache_time", 300, &ks->cache_seconds, err);
    if (st == NPH_OK)
        st = nph_config_get_bool(cfg, SECTION, "insecure", false, &ks->insecure, err);
    if (st != NPH_OK)
        return st;
    if (!(timeout > 0 && timeout <= 600))
        return nph_config_entry_error(err, NPH_ERR_INVALID, nph_config_find(cfg, SECTION, "timeout"),
                                      "must be more than 0 and at most 600 seconds");
    ks->timeout_ms = (long)(timeout * 1000);
    return NPH_OK;
}

static nph_status read_config(struct api_keystone *ks, const nph_config *cfg, nph_error *err)
{
    const char *auth_type = nph_config_get(cfg, SECTION, "auth_type", "password");
    if (strcmp(auth_type, "password") != 0 && strcmp(auth_type, "v3password") != 0)
        return nph_config_entry_error(err, NPH_ERR_NOT_SUPPORTED,
                                      nph_config_find(cfg, SECTION, "auth_type"),
                                      "'%s' is not supported; use password", auth_type);
    char *auth_url = NULL;
    nph_status st = required(cfg, "auth_url", &auth_url, err);
    if (st == NPH_OK)
        st = required(cfg, "username", &ks->username, err);
    if (st == NPH_OK)
        st = required(cfg, "password", &ks->password, err);
    if (st == NPH_OK)
        st = required(cfg, "project_name", &ks->project_name, err);
    if (st == NPH_OK)
        st = v3_url(cfg, auth_url, &ks->v3_url, err);
    if (st == NPH_OK) /* as keystonemiddleware: without it, clients are sent to auth_url */
        st = optional(cfg, "www_authenticate_uri", auth_url, &ks->www_uri, err);
    if (st == NPH_OK)
        st = domain(cfg, "user", &ks->user_domain, &ks->user_domain_key, err);
    if (st == NPH_OK)
        st = domain(cfg, "project", &ks->project_domain, &ks->project_domain_key, err);
    if (st == NPH_OK)
        st = optional(cfg, "cafile", NULL, &ks->cafile, err);
    if (st == NPH_OK)
        st = read_numbers(ks, cfg, err);
    free(auth_url);
    return st;
}

nph_status api_keystone_new(const nph_config *cfg, struct api_keystone **out, nph_error *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    struct api_keystone *ks = calloc(1, sizeof(*ks));
    if (!ks)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    pthread_mutex_init(&ks->lock, NULL);
    pthread_mutex_init(&ks->refresh_lock, NULL);
    pthread_key_create(&ks->curl_key, curl_cleanup);
    nph_status st = read_config(ks, cfg, err);
    if (st != NPH_OK) {
        api_keystone_free(ks);
        return st;
    }
    pthread_once(&once, curl_init_once); /* not thread-safe itself: before any thread uses curl */
    nph_info("validating tokens with Keystone at %s as user '%s' (cache %llds, timeout %ldms)",
             ks->v3_url, ks->username, (long long)ks->cache_seconds, ks->timeout_ms);
    *out = ks;
    return NPH_OK;
}

void api_keystone_free(struct api_keystone *ks)
{
    if (!ks)
        return;
    /* The HTTP threads have ended and their CURL handles with them; this
     * thread may have one too (the unit tests). */
    CURL *mine = pthread_getspecific(ks->curl_key);
    if (mine)
        curl_easy_cleanup(mine);
    pthread_key_delete(ks->curl_key);
    pthread_mutex_destroy(&ks->lock);
    pthread_mutex_destroy(&ks->refresh_lock);
    free(ks->www_uri);
    free(ks->v3_url);
    free(ks->username);
    if (ks->password)
        explicit_bzero(ks->password, strlen(ks->password));
    free(ks->password);
    free(ks->project_name);
    free(ks->user_domain);
    free(ks->project_domain);
    free(ks->cafile);
    free(ks->service_token);
    free(ks);
}

const char *api_keystone_uri(const struct api_keystone *ks)
{
    return ks->www_uri;
}

/* ---- HTTP --------------------------------------------------------------------- */

struct reply {
    long status;
    nph_buffer body;
    char *subject_token;        /* the X-Subject-Token header, malloc'ed */
    bool too_large;
};

static size_t on_body(char *data, size_t size, size_t n, void *cls)
{
    struct reply *r = cls;
    if (r->body.len + size * n > MAX_REPLY) {
        r->too_large = true;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    return nph_buffer_append(&r->body, data, size * n) == NPH_OK ? size * n : 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *cls)
{
    struct reply *r = cls;
    size_t len = size * n;
    static const char name[] = "X-Subject-Token:";
    if (len > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        const char *v = data + sizeof(name) - 1;
        const char *end = data + len;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
            end--;
        free(r->subject_token);
        r->subject_token = strndup(v, (size_t)(end - v));
    }
    return len;
}

static CURL *thread_curl(struct api_keystone *ks)
{
    CURL *curl = pthread_getspecific(ks->curl_key);
    if (curl) {
        curl_easy_reset(curl); /* keeps its connections, drops the last request's options */
        return curl;
    }
    curl = curl_easy_init();
    if (curl)
        pthread_setspecific(ks->curl_key, curl);
    return curl;
}

static void set_options(struct api_keystone *ks, CURL *curl, struct reply *r, char *errbuf)
{
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, ks->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, ks->timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "nephele-api keystone auth");
    if (ks->cafile)
        curl_easy_setopt(curl, CURLOPT_CAINFO, ks->cafile);
    if (ks->insecure) {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

/* One request to Keystone: `body` (JSON) makes it a POST.  False, with
 * `why`, when no complete answer came. */
static bool call(struct api_keystone *ks, const char *path, struct curl_slist *headers,
                 const char *body, struct reply *r, char *why, size_t why_len)
{
    CURL *curl = thread_curl(ks);
    if (!curl) {
        snprintf(why, why_len, "cannot create a CURL handle");
        return false;
    }
    char url[2048], errbuf[CURL_ERROR_SIZE] = "";
    snprintf(url, sizeof(url), "%s%s", ks->v3_url, path);
    set_options(ks, curl, r, errbuf);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (body)
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        snprintf(why, why_len, "%s: %s", url,
                 r->too_large ? "the answer is too large" : errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return false;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    return true;
}

static void reply_reset(struct reply *r)
{
    nph_buffer_reset(&r->body);
    free(r->subject_token);
    r->subject_token = NULL;
}

/* Keystone's "2026-11-24T10:27:58.000000Z" as a time_t; 0 when it is not one. */
static time_t parse_time(const char *text)
{
    struct tm tm = { 0 };
    const char *rest = text ? strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest)
        return 0;
    return timegm(&tm);
}

static const char *member_string(json_object *obj, const char *a, const char *b)
{
    json_object *v = obj;
    if (!json_object_object_get_ex(v, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
        return NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* ---- the service token ---------------------------------------------------------- */

static json_object *named_in_domain(const char *name, const char *domain_key, const char *domain)
{
    json_object *o = json_object_new_object(), *d = json_object_new_object();
    nph_json_add_string(o, "name", name);
    nph_json_add_string(d, domain_key, domain);
    json_object_object_add(o, "domain", d);
    return o;
}

/* {"auth": {"identity": password method, "scope": {"project": ...}}} */
static json_object *password_auth(const struct api_keystone *ks)
{
    json_object *user = named_in_domain(ks->username, ks->user_domain_key, ks->user_domain);
    nph_json_add_string(user, "password", ks->password);
    json_object *password = json_object_new_object(), *identity = json_object_new_object();
    json_object_object_add(password, "user", user);
    json_object *methods = json_object_new_array();
    json_object_array_add(methods, json_object_new_string("password"));
    json_object_object_add(identity, "methods", methods);
    json_object_object_add(identity, "password", password);
    json_object *scope = json_object_new_object(), *auth = json_object_new_object();
    json_object_object_add(scope, "project", named_in_domain(ks->project_name,
                                                             ks->project_domain_key,
                                                             ks->project_domain));
    json_object_object_add(auth, "identity", identity);
    json_object_object_add(auth, "scope", scope);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "auth", auth);
    return body;
}

/* The expires_at of a token body; a while from now when it has none. */
static time_t body_expiry(const nph_buffer *body)
{
    nph_auto_json *answer = nph_json_parse(nph_buffer_str(body), body->len, NULL);
    json_object *token = NULL;
    time_t t = 0;
    if (answer && json_object_object_get_ex(answer, "token", &token))
        t = parse_time(member_string(token, "expires_at", NULL));
    return t ? t : time(NULL) + SERVICE_TOKEN_MARGIN + 300;
}

/* POST /v3/auth/tokens with our credentials: the token (caller frees) and
 * its expiry, or NULL with `why`. */
static char *request_service_token(struct api_keystone *ks, time_t *expires, char *why,
                                   size_t why_len)
{
    nph_auto_json *body = password_auth(ks);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Accept: application/json");
    struct reply r = { 0 };
    char *token = NULL;
    if (call(ks, "/auth/tokens?nocatalog", headers, nph_json_text(body), &r, why, why_len)) {
        if (r.status != 201) {
            snprintf(why, why_len, "Keystone answered %ld to the service user '%s' logging in",
                     r.status, ks->username);
        } else if (!r.subject_token || !*r.subject_token) {
            snprintf(why, why_len, "Keystone gave the service user no X-Subject-Token");
        } else {
            token = r.subject_token;
            r.subject_token = NULL;
            *expires = body_expiry(&r.body);
        }
    }
    curl_slist_free_all(headers);
    reply_reset(&r);
    return token;
}

static bool fresh(const struct api_keystone *ks, const char *not_this)
{
    return ks->service_token && time(NULL) + SERVICE_TOKEN_MARGIN < ks->service_expires &&
           !(not_this && strcmp(ks->service_token, not_this) == 0);
}

/* A copy of the service token (caller frees), requested when there is
 * none, it is about to expire, or it is `refused` (Keystone said 401 to it).
 * Threads that wait while another one asks take that answer, whatever it
 * was, so an unreachable Keystone costs each request one timeout at most. */
static char *service_token(struct api_keystone *ks, const char *refused, char *why, size_t why_len)
{
    pthread_mutex_lock(&ks->lock);
    char *copy = fresh(ks, refused) ? strdup(ks->service_token) : NULL;
    unsigned seen = ks->attempts;
    pthread_mutex_unlock(&ks->lock);
    if (copy)
        return copy;
    pthread_mutex_lock(&ks->refresh_lock);
    pthread_mutex_lock(&ks->lock);
    bool asked_meanwhile = ks->attempts != seen;
    if (asked_meanwhile && fresh(ks, refused))
        copy = strdup(ks->service_token);
    else if (asked_meanwhile)
        snprintf(why, why_len, "%s", ks->last_failure);
    pthread_mutex_unlock(&ks->lock);
    if (!asked_meanwhile) {
        time_t expires = 0;
        char *token = request_service_token(ks, &expires, why, why_len);
        pthread_mutex_lock(&ks->lock);
        ks->attempts++;
        if (token || refused) {
            free(ks->service_token);
            ks->service_token = token;
            ks->service_expires = expires;
        }
        if (!token)
            snprintf(ks->last_failure, sizeof(ks->last_failure), "%s", why);
        copy = token ? strdup(token) : NULL;
        pthread_mutex_unlock(&ks->lock);
        if (token)
            nph_info("acquired a service token from Keystone as '%s'", ks->username);
        else
            nph_warn("no service token from Keystone: %s", why);
    }
    pthread_mutex_unlock(&ks->refresh_lock);
    return copy;
}

/* ---- the cache ------------------------------------------------------------------- */

static void digest_of(const char *token, uint8_t digest[SHA256_DIGEST_SIZE])
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, strlen(token), (const uint8_t *)token);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
}

static struct cache_entry *cache_set(struct api_keystone *ks, const uint8_t *digest)
{
    unsigned index = ((unsigned)digest[0] << 8 | digest[1]) % CACHE_SETS;
    return &ks->cache[index * CACHE_WAYS];
}

static bool cache_get(struct api_keystone *ks, const uint8_t *digest, struct api_context *ctx)
{
    bool hit = false;
    time_t now = time(NULL);
    pthread_mutex_lock(&ks->lock);
    struct cache_entry *set = cache_set(ks, digest);
    for (int i = 0; i < CACHE_WAYS && !hit; i++) {
        if (set[i].until > now && memcmp(set[i].digest, digest, SHA256_DIGEST_SIZE) == 0) {
            *ctx = set[i].ctx;
            hit = true;
        }
    }
    pthread_mutex_unlock(&ks->lock);
    return hit;
}

/* Keep `ctx` until `until`, in place of the same token, else of the entry
 * that would expire first (an empty one has until 0). */
static void cache_put(struct api_keystone *ks, const uint8_t *digest,
                      const struct api_context *ctx, time_t until)
{
    pthread_mutex_lock(&ks->lock);
    struct cache_entry *set = cache_set(ks, digest), *victim = &set[0];
    for (int i = 0; i < CACHE_WAYS; i++) {
        if (memcmp(set[i].digest, digest, SHA256_DIGEST_SIZE) == 0) {
            victim = &set[i];
            break;
        }
        if (set[i].until < victim->until)
            victim = &set[i];
    }
    memcpy(victim->digest, digest, SHA256_DIGEST_SIZE);
    victim->ctx = *ctx;
    victim->until = until;
    pthread_mutex_unlock(&ks->lock);
}

/* ---- validation ------------------------------------------------------------------- */

/* Roles to flags: admin is an administrator; a token whose only role is
 * reader may only read (Keystone lists implied roles too, so a member also
 * has reader, and an admin both). */
static void read_roles(json_object *roles, struct api_context *ctx)
{
    size_t n = json_object_is_type(roles, json_type_array) ? json_object_array_length(roles) : 0;
    bool only_reader = n > 0;
    ctx->is_admin = false;
    for (size_t i = 0; i < n; i++) {
        const char *name = member_string(json_object_array_get_idx(roles, i), "name", NULL);
        if (name && strcmp(name, "admin") == 0)
            ctx->is_admin = true;
        if (!name || strcmp(name, "reader") != 0)
            only_reader = false;
    }
    ctx->read_only = only_reader;
}

/* The body of a 200: the context and the token's expiry; false when it is
 * not a token for a project (Nova needs one). */
static bool read_token(const struct reply *r, struct api_context *ctx, time_t *expires,
                       char *why, size_t why_len)
{
    nph_auto_json *answer = nph_json_parse(nph_buffer_str(&r->body), r->body.len, NULL);
    json_object *token = NULL, *roles = NULL;
    if (!answer || !json_object_object_get_ex(answer, "token", &token)) {
        snprintf(why, why_len, "Keystone's answer has no token");
        return false;
    }
    const char *user = member_string(token, "user", "id");
    const char *project = member_string(token, "project", "id");
    if (!user || !project || strlen(user) >= sizeof(ctx->user_id) ||
        strlen(project) >= sizeof(ctx->project_id)) {
        snprintf(why, why_len, "the token is not scoped to a project");
        return false;
    }
    memset(ctx, 0, sizeof(*ctx));
    snprintf(ctx->user_id, sizeof(ctx->user_id), "%s", user);
    snprintf(ctx->project_id, sizeof(ctx->project_id), "%s", project);
    json_object_object_get_ex(token, "roles", &roles);
    read_roles(roles, ctx);
    *expires = parse_time(member_string(token, "expires_at", NULL));
    return true;
}

/* Only printable ASCII without spaces goes into a header we send. */
static bool plausible(const char *token)
{
    size_t len = token ? strlen(token) : 0;
    if (len == 0 || len > MAX_TOKEN_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (token[i] <= ' ' || token[i] > '~')
            return false;
    return true;
}

/* GET /v3/auth/tokens about `token` with our `service` token. */
static bool ask(struct api_keystone *ks, const char *service, const char *token, struct reply *r,
                char *why, size_t why_len)
{
    char *auth = NULL, *subject = NULL;
    bool ok = asprintf(&auth, "X-Auth-Token: %s", service) >= 0 &&
              asprintf(&subject, "X-Subject-Token: %s", token) >= 0;
    struct curl_slist *headers = NULL;
    if (ok) {
        headers = curl_slist_append(NULL, auth);
        headers = curl_slist_append(headers, subject);
        headers = curl_slist_append(headers, "Accept: application/json");
        ok = call(ks, "/auth/tokens?nocatalog", headers, NULL, r, why, why_len);
    } else {
        snprintf(why, why_len, "out of memory");
    }
    curl_slist_free_all(headers);
    free(auth);
    free(subject);
    return ok;
}

/* Ask Keystone, once more with a new service token if it refused ours. */
static enum api_keystone_verdict validate(struct api_keystone *ks, const char *token,
                                          struct api_context *ctx, time_t *expires, char *why,
                                          size_t why_len)
{
    char *service = NULL;
    struct reply r = { 0 };
    enum api_keystone_verdict v = API_KEYSTONE_UNAVAILABLE;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *used = service;
        service = service_token(ks, used, why, why_len);
        free(used);
        reply_reset(&r);
        if (!service || !ask(ks, service, token, &r, why, why_len))
            break;
        if (r.status == 401 && attempt == 0)
            continue; /* our token expired or was revoked */
        snprintf(why, why_len, "Keystone answered %ld", r.status);
        if (r.status == 200)
            v = read_token(&r, ctx, expires, why, why_len) ? API_KEYSTONE_VALID
                                                           : API_KEYSTONE_INVALID;
        else if (r.status == 404)
            v = API_KEYSTONE_INVALID; /* unknown, expired or revoked */
        else
            snprintf(why, why_len, "Keystone answered %ld to a token validation%s", r.status,
                     r.status == 401 || r.status == 403 ? " (may the service user validate tokens?)"
                                                        : "");
        break;
    }
    free(service);
    reply_reset(&r);
    return v;
}

enum api_keystone_verdict api_keystone_check(struct api_keystone *ks, const char *token,
                                             struct api_context *ctx, char *why, size_t why_len)
{
    if (!plausible(token)) {
        snprintf(why, why_len, "%s", token && *token ? "not a token (spaces, control characters or "
                                                       "too long)"
                                                     : "no token");
        return API_KEYSTONE_INVALID;
    }
    uint8_t digest[SHA256_DIGEST_SIZE];
    digest_of(token, digest);
    if (ks->cache_seconds > 0 && cache_get(ks, digest, ctx)) {
        snprintf(why, why_len, "cached");
        return API_KEYSTONE_VALID;
    }
    time_t expires = 0;
    enum api_keystone_verdict v = validate(ks, token, ctx, &expires, why, why_len);
    if (v == API_KEYSTONE_VALID && ks->cache_seconds > 0) {
        time_t until = time(NULL) + (time_t)ks->cache_seconds;
        if (expires > 0 && expires < until)
            until = expires;
        cache_put(ks, digest, ctx, until);
    }
    return v;
}
