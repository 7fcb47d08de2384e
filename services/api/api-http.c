/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP side of nephele-api: libmicrohttpd with a thread pool, request
 * bodies up to a size, request ids, the access log, and the service's life. */
#include "config.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api-internal.h"
#include "buffer.h"
#include "clock.h"
#include "error.h"
#include "log.h"
#include "uuid.h"

NPH_LOG_INIT("api");

#define DEFAULT_DB_URL "sqlite:///" NPH_STATE_DIR "/nephele.db"

/* What a connection collects between libmicrohttpd's calls. */
struct upload {
    nph_buffer body;
    struct image_upload *image; /* image data goes to a file, not to memory */
    bool discard;               /* an image upload nobody authenticated: read, drop, answer 401 */
    bool too_large;
    uint64_t started_ns;
};

static void close_db(void *db)
{
    nph_db_close(db);
}

static nph_db *thread_db(nph_api *api, nph_error *err)
{
    nph_db *db = pthread_getspecific(api->db_key);
    if (!db && nph_db_open(api->db_url, &db, err) == NPH_OK)
        pthread_setspecific(api->db_key, db);
    return db;
}

/* Split the path below the version prefix; false when it has too many parts. */
static bool split_path(struct api_request *req, char *path)
{
    for (char *save = NULL, *seg = strtok_r(path, "/", &save); seg;
         seg = strtok_r(NULL, "/", &save)) {
        if (req->n_segments == API_MAX_SEGMENTS)
            return false;
        req->segments[req->n_segments++] = seg;
    }
    return true;
}

static void set_base_url(struct api_request *req)
{
    const char *host = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Host");
    if (host && *host && !strpbrk(host, " \"<>\\"))
        snprintf(req->base_url, sizeof(req->base_url), "http://%s", host);
    else
        snprintf(req->base_url, sizeof(req->base_url), "http://127.0.0.1:%u", req->api->port);
}

/* The body as JSON and this thread's database; false with resp set. */
static bool prepare(struct api_request *req, struct api_response *resp, struct upload *up)
{
    if (up->too_large) {
        api_error(resp, 413, "Request is too large. The limit is %zu bytes.", req->api->max_body);
        return false;
    }
    nph_error err = NPH_ERROR_INIT;
    if (up->body.len > 0) {
        req->body = nph_json_parse(nph_buffer_str(&up->body), up->body.len, &err);
        if (!req->body) {
            api_error(resp, 400, "Malformed request body: %s", err.message);
            return false;
        }
    }
    req->db = thread_db(req->api, &err);
    if (!req->db) {
        api_error(resp, 503, "The database is not available: %s", err.message);
        return false;
    }
    return true;
}

/* Everything under /v2.1: authentication, the microversion, the body, the route. */
static void handle_compute(struct api_request *req, struct api_response *resp, struct upload *up)
{
    if (api_authenticate(req, resp) && api_negotiate_version(req, resp) && prepare(req, resp, up))
        api_route(req, resp);
}

/* Drop the first path segment (the service's prefix). */
static void shift(struct api_request *req)
{
    memmove(req->segments, req->segments + 1, sizeof(char *) * (size_t)--req->n_segments);
}

static void handle(struct api_request *req, struct api_response *resp, const char *url,
                   struct upload *up)
{
    char *path = strdup(url);
    if (!path) {
        api_error(resp, 500, "out of memory");
        return;
    }
    bool fits = split_path(req, path);
    if (!fits) {
        api_error(resp, 404, "The resource could not be found.");
    } else if (req->n_segments == 0) {
        api_versions_root(req, resp);
    } else if (strcmp(req->segments[0], "v2.1") == 0) {
        shift(req); /* what stays is the route's path */
        if (req->n_segments == 0 && strcmp(req->method, "GET") == 0)
            api_version_show(req, resp);
        else
            handle_compute(req, resp, up);
    } else if (strcmp(req->segments[0], "v3") == 0) {
        shift(req);
        if (prepare(req, resp, up))
            api_identity_route(req, resp);
    } else if (strcmp(req->segments[0], "placement") == 0) {
        shift(req);
        api_placement_begin(req, resp);
        if (prepare(req, resp, up))
            api_placement_route(req, resp);
    } else if (strcmp(req->segments[0], "image") == 0) {
        shift(req);
        req->glance = true;
        if ((req->n_segments == 0 || api_authenticate(req, resp)) && prepare(req, resp, up))
            api_image_service_route(req, resp);
    } else {
        api_error(resp, 404, "The resource could not be found.");
    }
    json_object_put(req->body);
    req->body = NULL;
    free(path);
}

static void add_headers(struct MHD_Response *r, const struct api_request *req,
                        const struct api_response *resp, bool json)
{
    MHD_add_response_header(r, "Content-Type",
                            json ? "application/json" : resp->content_type ? resp->content_type
                                                                           : "application/octet-stream");
    MHD_add_response_header(r, "X-Compute-Request-Id", req->request_id);
    MHD_add_response_header(r, "X-OpenStack-Request-Id", req->request_id);
    if (req->minor > 0) {
        char value[32];
        snprintf(value, sizeof(value), "compute 2.%d", req->minor);
        MHD_add_response_header(r, "OpenStack-API-Version", value);
        MHD_add_response_header(r, "X-OpenStack-Nova-API-Version", value + strlen("compute "));
        MHD_add_response_header(r, "Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version");
    }
    if (resp->placement.on && resp->placement.minor >= 0) {
        char value[32];
        snprintf(value, sizeof(value), "placement 1.%d", resp->placement.minor);
        MHD_add_response_header(r, "OpenStack-API-Version", value);
        MHD_add_response_header(r, "Vary", "openstack-api-version");
    }
    if (resp->location[0])
        MHD_add_response_header(r, "Location", resp->location);
    if (resp->subject_token[0])
        MHD_add_response_header(r, "X-Subject-Token", resp->subject_token);
    if (resp->www_authenticate[0])
        MHD_add_response_header(r, "WWW-Authenticate", resp->www_authenticate);
}

static enum MHD_Result respond(struct MHD_Connection *conn, const struct api_request *req,
                               struct api_response *resp, size_t *len)
{
    const char *text = NULL;
    if (resp->body)
        text = json_object_to_json_string_ext(resp->body, JSON_C_TO_STRING_PLAIN |
                                                              JSON_C_TO_STRING_NOSLASHESCAPE);
    struct MHD_Response *r;
    if (resp->file_fd >= 0) {
        *len = (size_t)resp->file_size;
        r = MHD_create_response_from_fd64(resp->file_size, resp->file_fd); /* MHD closes it */
        resp->file_fd = -1;
    } else if (text) {
        *len = strlen(text);
        r = MHD_create_response_from_buffer(*len, (void *)text, MHD_RESPMEM_MUST_COPY);
    } else if (resp->raw) {
        *len = resp->raw_len;
        r = MHD_create_response_from_buffer(*len, resp->raw, MHD_RESPMEM_MUST_FREE);
        resp->raw = NULL;
    } else {
        *len = 0;
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r)
        return MHD_NO;
    add_headers(r, req, resp, text != NULL || !resp->content_type);
    enum MHD_Result ok = MHD_queue_response(conn, resp->status, r);
    MHD_destroy_response(r);
    return ok;
}

/* Does the request carry credentials good for a write?  (The request is
 * authenticated again, with its answer, once its body is in.) */
static bool upload_allowed(nph_api *api, struct MHD_Connection *conn)
{
    struct api_request req = { .api = api, .conn = conn, .method = "PUT" };
    struct api_response resp = { .status = 500, .file_fd = -1 };
    bool ok = api_authenticate(&req, &resp);
    json_object_put(resp.body);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    nph_api *api = cls;
    struct upload *up = *con_cls;
    if (!up) {
        /* Headers only: refuse a declared oversize body before reading it. */
        if (!(up = calloc(1, sizeof(*up))))
            return MHD_NO;
        up->started_ns = nph_clock_monotonic_ns();
        /* Image data goes to disk only for a caller who may write at all. */
        if (upload_allowed(api, conn))
            up->image = api_image_upload_begin(api, method, url);
        else
            up->discard = api_image_upload_path(method, url);
        const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (!up->image && !up->discard && length && strtoull(length, NULL, 10) > api->max_body)
            up->too_large = true;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size && (up->image || up->discard)) {
        if (up->image)
            api_image_upload_write(up->image, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!up->too_large && up->body.len + *upload_data_size > api->max_body) {
            up->too_large = true;
            nph_buffer_reset(&up->body);
        }
        if (!up->too_large && nph_buffer_append(&up->body, upload_data, *upload_data_size) != NPH_OK)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }

    struct api_request req = { .api = api, .conn = conn, .method = method, .image_upload = up->image };
    struct api_response resp = { .status = 500, .file_fd = -1 };
    const char *given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-OpenStack-Request-ID");
    if (given && strncmp(given, "req-", 4) == 0 && nph_uuid_is_valid(given + 4)) {
        snprintf(req.request_id, sizeof(req.request_id), "%s", given);
    } else {
        char uuid[NPH_UUID_STRLEN + 1];
        nph_uuid_generate(uuid);
        snprintf(req.request_id, sizeof(req.request_id), "req-%s", uuid);
    }
    nph_log_set_request_id(req.request_id);
    set_base_url(&req);
    handle(&req, &resp, url, up);
    size_t len = 0;
    enum MHD_Result ok = respond(conn, &req, &resp, &len);
    double seconds = (double)(nph_clock_monotonic_ns() - up->started_ns) / 1e9;
    if (req.minor > 0)
        nph_info("%s %s status: %u len: %zu microversion: 2.%d time: %.4f", method, url,
                 resp.status, len, req.minor, seconds);
    else
        nph_info("%s %s status: %u len: %zu time: %.4f", method, url, resp.status, len, seconds);
    json_object_put(resp.body);
    free(resp.raw);
    nph_log_set_request_id(NULL);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    struct upload *up = *con_cls;
    if (up) {
        nph_buffer_reset(&up->body);
        api_image_upload_free(up->image);
        free(up);
    }
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    nph_warn("libmicrohttpd: %s", line);
}

/* ---- configuration and life ---------------------------------------------- */

static nph_status parse_listen(const nph_config *cfg, struct sockaddr_in *addr, nph_error *err)
{
    const char *listen = nph_config_get(cfg, "api", "listen", "127.0.0.1:8774");
    const struct nph_config_entry *e = nph_config_find(cfg, "api", "listen");
    char host[256];
    const char *colon = strrchr(listen, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || end == colon + 1 || *end || port < 0 || port > 65535 ||
        (size_t)(colon - listen) >= sizeof(host))
        return e ? nph_config_entry_error(err, NPH_ERR_INVALID, e, "'%s' is not HOST:PORT", listen)
                 : nph_error_set(err, NPH_ERR_INVALID, "listen address '%s' is not HOST:PORT", listen);
    snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr->sin_addr) == 1)
        return NPH_OK;
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
        return e ? nph_config_entry_error(err, NPH_ERR_INVALID, e, "cannot resolve '%s'", host)
                 : nph_error_set(err, NPH_ERR_INVALID, "cannot resolve '%s'", host);
    }
    addr->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return NPH_OK;
}

static nph_status read_config(nph_api *api, const nph_config *cfg, int64_t *workers,
                              nph_error *err)
{
    int64_t max_body = 0, max_limit = 0;
    nph_status st = nph_config_get_int(cfg, "api", "workers", 8, workers, err);
    if (st == NPH_OK)
        st = nph_config_get_int(cfg, "api", "max_request_body_size", 114688, &max_body, err);
    if (st == NPH_OK)
        st = nph_config_get_int(cfg, "api", "max_limit", 1000, &max_limit, err);
    if (st != NPH_OK)
        return st;
    const char *bad = *workers < 1 || *workers > 256 ? "workers"
                      : max_body < 1024            ? "max_request_body_size"
                      : max_limit < 1              ? "max_limit"
                                                   : NULL;
    if (bad)
        return nph_config_entry_error(err, NPH_ERR_INVALID, nph_config_find(cfg, "api", bad),
                                      "value out of range");
    api->max_body = (size_t)max_body;
    api->max_limit = (int)max_limit;
    const char *auth = nph_config_get(cfg, "api", "auth_strategy", "noauth2");
    if (strcmp(auth, "builtin") == 0) {
        nph_status ist = api_identity_load(api, cfg, err);
        if (ist != NPH_OK)
            return ist;
    } else if (strcmp(auth, "keystone") == 0) {
        nph_status kst = api_keystone_new(cfg, &api->keystone, err);
        if (kst != NPH_OK)
            return kst;
    } else if (strcmp(auth, "noauth2") != 0) {
        return nph_config_entry_error(err, NPH_ERR_NOT_SUPPORTED,
                                      nph_config_find(cfg, "api", "auth_strategy"),
                                      "'%s' is not supported; use noauth2, builtin or keystone",
                                      auth);
    }
    nph_status qst = api_quota_read_config(api, cfg, err);
    if (qst == NPH_OK)
        qst = api_consoles_read_config(api, cfg, err);
    if (qst != NPH_OK)
        return qst;
    api->db_url = strdup(nph_config_get(cfg, "database", "connection", DEFAULT_DB_URL));
    api->default_az = strdup(nph_config_get(cfg, "DEFAULT", "default_availability_zone", "nova"));
    api->image_dir = strdup(nph_config_get(cfg, "glance", "image_dir", NPH_STATE_DIR "/images"));
    if (!api->db_url || !api->default_az || !api->image_dir)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    return NPH_OK;
}

static nph_status check_schema(nph_api *api, nph_error *err)
{
    nph_db *db = NULL;
    int version = 0;
    nph_status st = nph_db_open(api->db_url, &db, err);
    if (st == NPH_OK)
        st = nph_db_schema_version(db, &version, err);
    nph_db_close(db);
    if (st == NPH_OK && version != nph_db_schema_latest())
        st = nph_error_set(err, NPH_ERR_CONFLICT,
                           "database schema is at version %d but nephele-api needs %d: run "
                           "'nephele-manage db sync'",
                           version, nph_db_schema_latest());
    return st;
}

nph_status nph_api_start(const nph_config *cfg, nph_bus *bus, nph_api **out, nph_error *err)
{
    nph_api *api = calloc(1, sizeof(*api));
    if (!api)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    api->bus = bus;
    pthread_key_create(&api->db_key, close_db);
    int64_t workers = 8;
    struct sockaddr_in addr;
    nph_status st = read_config(api, cfg, &workers, err);
    if (st == NPH_OK)
        st = parse_listen(cfg, &addr, err);
    if (st == NPH_OK)
        st = check_schema(api, err);
    if (st == NPH_OK) {
        api->httpd = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_EPOLL, 0, NULL, NULL,
            on_request, api, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, api,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)workers, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, api, MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
        if (!api->httpd)
            st = nph_error_set(err, NPH_ERR_IO, "cannot listen on %s:%u (is the port in use?)",
                               inet_ntoa(addr.sin_addr), ntohs(addr.sin_port));
    }
    if (st != NPH_OK) {
        nph_api_free(api);
        return st;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(api->httpd, MHD_DAEMON_INFO_BIND_PORT);
    api->port = info ? info->port : ntohs(addr.sin_port);
    nph_info("compute API listening on http://%s:%u/v2.1 with %lld workers (auth: %s)",
             inet_ntoa(addr.sin_addr), api->port, (long long)workers,
             api->keystone ? "keystone" : api->identity ? "builtin" : "noauth2");
    *out = api;
    return NPH_OK;
}

uint16_t nph_api_port(const nph_api *api)
{
    return api->port;
}

void nph_api_free(nph_api *api)
{
    if (!api)
        return;
    if (api->httpd)
        MHD_stop_daemon(api->httpd); /* joins the threads that use the keystone client */
    api_keystone_free(api->keystone);
    pthread_key_delete(api->db_key);
    free(api->db_url);
    free(api->default_az);
    free(api->image_dir);
    api_consoles_free(api);
    free(api->token_key);
    nph_config_free(api->identity);
    free(api);
}
