/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Inside nephele-api: the request and response every handler works on, the
 * route table, and the helpers the resource files share. */
#ifndef NPH_API_INTERNAL_H
#define NPH_API_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api.h"
#include "buffer.h"
#include "db.h"
#include "json.h"
#include "uuid.h"

/* Microversions are 2.N; the API serves 2.1 up to 2.API_MAX_MINOR. */
#define API_MIN_MINOR 1
#define API_MAX_MINOR 79
#define API_MAX_SEGMENTS 12

enum api_quota_resource {
    API_QUOTA_INSTANCES, API_QUOTA_CORES, API_QUOTA_RAM, API_QUOTA_KEY_PAIRS,
    API_QUOTA_METADATA_ITEMS, API_QUOTA_SERVER_GROUPS, API_QUOTA_SERVER_GROUP_MEMBERS,
    API_QUOTA_INJECTED_FILES, API_QUOTA_INJECTED_FILE_CONTENT_BYTES,
    API_QUOTA_INJECTED_FILE_PATH_BYTES, API_QUOTA_COUNT
};

struct nph_api {
    nph_bus *bus;
    char *db_url;
    pthread_key_t db_key;        /* each HTTP thread's database connection */
    struct MHD_Daemon *httpd;
    uint16_t port;
    size_t max_body;             /* [api] max_request_body_size */
    int max_limit;               /* [api] max_limit: the most items a list returns */
    char *default_az;            /* [DEFAULT] default_availability_zone */
    char *image_dir;             /* [glance] image_dir */
    int64_t quota_defaults[API_QUOTA_COUNT]; /* [quota]; -1 is unlimited */
    nph_config *identity;        /* builtin auth: the users file; NULL for noauth2 */
    char *token_key;             /* [identity] token_key: signs tokens */
    int64_t token_seconds;       /* [identity] token_expiration */
    struct api_keystone *keystone; /* auth_strategy = keystone; NULL otherwise */
    int64_t console_ttl;         /* [consoleauth] token_ttl, seconds */
    bool console_enabled[4];     /* [vnc], [spice], [serial_console], [mks] enabled */
    char *console_url[4];        /* their proxies' base URLs */
};

/* Who is asking, from the token (or noauth's defaults). */
struct api_context {
    char user_id[256];
    char project_id[256];
    bool is_admin;
    bool read_only;              /* the reader role alone: GET only */
};

struct api_request {
    nph_api *api;
    struct MHD_Connection *conn;
    const char *method;
    char *segments[API_MAX_SEGMENTS]; /* the path below /v2.1, split on '/' */
    int n_segments;
    const char *params[4];       /* the {placeholders} the route matched, in order */
    json_object *body;           /* parsed request body, NULL when there is none */
    int minor;                   /* the negotiated microversion 2.minor */
    bool version_asked;          /* the request named a microversion */
    bool glance;                 /* under /image: Glance's forms */
    struct image_upload *image_upload; /* PUT .../file: the streamed data */
    char request_id[64];
    char base_url[300];          /* scheme://host[:port], from the Host header */
    struct api_context ctx;
    nph_db *db;
};

struct api_response {
    unsigned status;
    json_object *body;           /* owned; NULL for an empty body */
    char *raw;                   /* a non-JSON body (image downloads), owned */
    size_t raw_len;
    const char *content_type;    /* for `raw` or the file */
    int file_fd;                 /* a file to send (downloads), -1 for none; handed over */
    uint64_t file_size;
    char location[512];          /* the Location header, when set */
    char subject_token[2100];    /* X-Subject-Token, when set (identity) */
    char www_authenticate[400];  /* on a 401 */
    /* Under /placement: Placement's error bodies and version header. */
    struct {
        bool on;
        int minor;                 /* the negotiated 1.minor; -1 before (no header) */
        const char *code;          /* the next error's "code"; NULL: undefined */
        const char *request_id;
    } placement;
};

typedef void (*api_handler)(struct api_request *req, struct api_response *resp);

/* ---- api-error.c: Nova's error bodies ------------------------------------
 * {"itemNotFound": {"code": 404, "message": "..."}}, the name by status. */
void api_error(struct api_response *resp, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An nph_error from below, as the status its code means. */
void api_error_from(struct api_response *resp, const nph_error *err);
/* A 200/201/202 with `body` (owned). */
void api_reply(struct api_response *resp, unsigned status, json_object *body);
/* The same with a body already written as JSON text (taken from `text`). */
void api_reply_text(struct api_response *resp, unsigned status, nph_buffer *text);

/* ---- api-version.c ------------------------------------------------------- */
/* Read the microversion headers; false (with resp set to 400/406) when
 * they are malformed or out of range. */
bool api_negotiate_version(struct api_request *req, struct api_response *resp);
void api_versions_root(struct api_request *req, struct api_response *resp);
void api_version_show(struct api_request *req, struct api_response *resp);

/* ---- api-request.c: reading requests ------------------------------------- */
const char *api_query(const struct api_request *req, const char *key);
const char *api_header(const struct api_request *req, const char *name);
/* The request body's single top-level member `key` as an object; false with
 * a 400 naming the problem otherwise. */
bool api_body_object(struct api_request *req, struct api_response *resp, const char *key,
                     json_object **out);
/* Members of `obj` outside `allowed` (NULL-terminated) are a 400 naming the
 * first, as Nova's additionalProperties: false. */
bool api_no_extra_members(struct api_response *resp, json_object *obj,
                          const char *const *allowed);
/* Query parameters outside `allowed` are a 400 when `strict` (Nova's
 * additionalProperties for query schemas of newer microversions). */
bool api_check_query(struct api_request *req, struct api_response *resp,
                     const char *const *allowed);
/* limit and marker of a list: limit in 0..max_limit, *marker NULL if absent. */
bool api_paging(struct api_request *req, struct api_response *resp, int *limit,
                const char **marker);
/* {"rel": "self", "href": base/v2.1/<collection>/<id>} and the bookmark. */
json_object *api_links(const struct api_request *req, const char *collection, const char *id);
/* A next link for a page that was full. */
json_object *api_next_link(const struct api_request *req, const char *collection,
                           const char *marker, int limit);
bool api_is_admin(struct api_request *req, struct api_response *resp);
/* Ends the transaction the handler began: commits when `st` is NPH_OK,
 * else rolls back and answers the error (`conflict`, when given, as the
 * 409 message of NPH_ERR_CONFLICT).  True when committed. */
bool api_commit(struct api_request *req, struct api_response *resp, nph_status st, nph_error *err,
                const char *conflict);
/* obj[key] (borrowed), NULL when absent or null. */
json_object *api_member(json_object *obj, const char *key);
/* A stored time "YYYY-MM-DDTHH:MM:SS.ffffffZ" as Nova's API writes most
 * of its times: microseconds, no zone; JSON null for NULL. */
json_object *api_timestamp(const char *stored);

/* ---- api-auth.c ---------------------------------------------------------- */
/* Fill req->ctx; false (with a 401 in resp) when the token does not do. */
bool api_authenticate(struct api_request *req, struct api_response *resp);

/* ---- api-quotas.c --------------------------------------------------------- */
nph_status api_quota_read_config(nph_api *api, const nph_config *cfg, nph_error *err);
const char *api_quota_name(enum api_quota_resource r);
/* The limits of `project`: its own rows, else the [quota] defaults. */
nph_status api_quota_limits(nph_api *api, nph_db *db, const char *project, int64_t limits[],
                            nph_error *err);
/* What `project` (and `user`, for key pairs) uses now, counted from the records. */
nph_status api_quota_usage(nph_db *db, const char *project, const char *user, int64_t used[],
                           nph_error *err);
/* How many of `wanted` units, each needing each[r], fit; when fewer than
 * `wanted`, `message` says which quota stops them, in Nova's words. */
int64_t api_quota_fit(const int64_t limits[], const int64_t used[], const int64_t each[],
                      int64_t wanted, char *message, size_t len);
void api_quota_sets_show(struct api_request *req, struct api_response *resp);
void api_quota_sets_detail(struct api_request *req, struct api_response *resp);
void api_quota_sets_defaults(struct api_request *req, struct api_response *resp);
void api_quota_sets_update(struct api_request *req, struct api_response *resp);
void api_quota_sets_delete(struct api_request *req, struct api_response *resp);

/* ---- api-keygen.c --------------------------------------------------------- */
/* A new RSA key pair: the OpenSSH public line (ending in `comment`) and a
 * PKCS#1 PEM private key, both malloc'ed; false when generation failed. */
bool api_keygen_rsa(const char *comment, char **public_key, char **private_key);

/* ---- api-identity.c -------------------------------------------------------- */
nph_status api_identity_load(nph_api *api, const nph_config *cfg, nph_error *err);
/* Fill ctx from a token this identity issued; false when it is not valid. */
bool api_identity_context(const nph_api *api, const char *token, struct api_context *ctx);
/* Everything under /v3. */
void api_identity_route(struct api_request *req, struct api_response *resp);
/* Everything under /image: Glance v2's version document and image reads. */
void api_image_service_route(struct api_request *req, struct api_response *resp);

/* ---- api-keystone.c: tokens of an external Keystone ---------------------------
 * [keystone_authtoken] as keystonemiddleware reads it: auth_url, username,
 * password, project_name (required), www_authenticate_uri, user_domain_name,
 * project_domain_name (or _id), token_cache_time, timeout, cafile, insecure. */
struct api_keystone;
enum api_keystone_verdict {
    API_KEYSTONE_VALID,          /* ctx is filled */
    API_KEYSTONE_INVALID,        /* unknown, forged, expired or revoked: a 401 */
    API_KEYSTONE_UNAVAILABLE,    /* Keystone did not answer usefully: a 503 */
};
/* Read the section; errors name the file, line and key. */
nph_status api_keystone_new(const nph_config *cfg, struct api_keystone **out, nph_error *err);
/* After the HTTP threads have stopped.  NULL is fine. */
void api_keystone_free(struct api_keystone *ks);
/* What WWW-Authenticate names on a 401. */
const char *api_keystone_uri(const struct api_keystone *ks);
/* Who `token` is, from the cache or from Keystone; thread-safe.  `why`
 * says what happened, for the log and a 503's message. */
enum api_keystone_verdict api_keystone_check(struct api_keystone *ks, const char *token,
                                             struct api_context *ctx, char *why, size_t why_len);

/* ---- api-image-store.c ------------------------------------------------------ */
struct image_upload;
/* Is this the upload of an image's data (PUT .../images/ID/file)? */
bool api_image_upload_path(const char *method, const char *url);
/* An upload of image data (PUT .../images/ID/file), or NULL for another request. */
struct image_upload *api_image_upload_begin(nph_api *api, const char *method, const char *url);
void api_image_upload_write(struct image_upload *up, const char *data, size_t len);
void api_image_upload_free(struct image_upload *up);
void api_image_create(struct api_request *req, struct api_response *resp);
void api_image_upload_finish(struct api_request *req, struct api_response *resp);
void api_image_download(struct api_request *req, struct api_response *resp);
void api_image_delete(struct api_request *req, struct api_response *resp);
void api_image_update(struct api_request *req, struct api_response *resp);

/* ---- api-aggregates.c ------------------------------------------------------- */
/* host -> availability zone, for hosts in an aggregate that names one. */
nph_status api_host_zones(nph_db *db, json_object **zones, nph_error *err);
void api_aggregates_list(struct api_request *req, struct api_response *resp);
void api_aggregates_show(struct api_request *req, struct api_response *resp);
void api_aggregates_create(struct api_request *req, struct api_response *resp);
void api_aggregates_update(struct api_request *req, struct api_response *resp);
void api_aggregates_delete(struct api_request *req, struct api_response *resp);
void api_aggregates_action(struct api_request *req, struct api_response *resp);

/* ---- api-server-groups.c ---------------------------------------------------- */
void api_server_groups_list(struct api_request *req, struct api_response *resp);
void api_server_groups_show(struct api_request *req, struct api_response *resp);
void api_server_groups_create(struct api_request *req, struct api_response *resp);
void api_server_groups_delete(struct api_request *req, struct api_response *resp);
/* Servers `instances` join the group `group_uuid` (in the caller's
 * transaction); false with a 400 (no such group) or a 403 (its members'
 * quota) in resp. */
bool api_server_group_join(struct api_request *req, struct api_response *resp,
                           const char *group_uuid, const char (*instances)[NPH_UUID_STRLEN + 1],
                           int64_t count);

/* ---- api-usage.c, api-events.c ---------------------------------------------- */
void api_usage_list(struct api_request *req, struct api_response *resp);
void api_usage_show(struct api_request *req, struct api_response *resp);
void api_external_events(struct api_request *req, struct api_response *resp);

/* ---- api-placement*.c: the Placement API under /placement ---------------- */
/* Answer errors of this request as Placement does, from here on. */
void api_placement_begin(struct api_request *req, struct api_response *resp);
/* Everything under /placement: version, authentication, the route. */
void api_placement_route(struct api_request *req, struct api_response *resp);
/* {"errors": [{"status", "title", "detail", "code", "request_id"}]} */
void api_placement_error_body(struct api_response *resp, unsigned status, const char *message);

/* ---- api-consoles.c ------------------------------------------------------ */
/* [consoleauth] token_ttl and the consoles' switches and proxy URLs. */
nph_status api_consoles_read_config(nph_api *api, const nph_config *cfg, nph_error *err);
void api_consoles_free(nph_api *api);

/* ---- api-router.c -------------------------------------------------------- */
void api_route(struct api_request *req, struct api_response *resp);

/* ---- resources: one file each -------------------------------------------- */
void api_servers_create(struct api_request *req, struct api_response *resp);
void api_servers_list(struct api_request *req, struct api_response *resp);
void api_servers_detail(struct api_request *req, struct api_response *resp);
void api_servers_show(struct api_request *req, struct api_response *resp);
void api_servers_update(struct api_request *req, struct api_response *resp);
void api_servers_delete(struct api_request *req, struct api_response *resp);
void api_servers_action(struct api_request *req, struct api_response *resp);
void api_server_remote_consoles(struct api_request *req, struct api_response *resp);
void api_console_auth_token_show(struct api_request *req, struct api_response *resp);
void api_server_metadata_list(struct api_request *req, struct api_response *resp);
void api_server_metadata_show(struct api_request *req, struct api_response *resp);
void api_server_metadata_replace(struct api_request *req, struct api_response *resp);
void api_server_metadata_update(struct api_request *req, struct api_response *resp);
void api_server_metadata_set_item(struct api_request *req, struct api_response *resp);
void api_server_metadata_delete_item(struct api_request *req, struct api_response *resp);
void api_server_ips(struct api_request *req, struct api_response *resp);
void api_server_ips_network(struct api_request *req, struct api_response *resp);
void api_instance_actions_list(struct api_request *req, struct api_response *resp);
void api_instance_actions_show(struct api_request *req, struct api_response *resp);

/* The flavor `flavor_id` names, if the caller may use it, with its
 * "extra_specs" as an object; NULL otherwise.  Caller puts. */
json_object *api_flavor_for_request(struct api_request *req, const char *flavor_id);
void api_flavors_list(struct api_request *req, struct api_response *resp);
void api_flavors_detail(struct api_request *req, struct api_response *resp);
void api_flavors_show(struct api_request *req, struct api_response *resp);
void api_flavors_create(struct api_request *req, struct api_response *resp);
void api_flavors_delete(struct api_request *req, struct api_response *resp);
void api_flavors_update(struct api_request *req, struct api_response *resp);
void api_flavor_extra_specs_list(struct api_request *req, struct api_response *resp);
void api_flavor_extra_specs_create(struct api_request *req, struct api_response *resp);
void api_flavor_extra_spec_show(struct api_request *req, struct api_response *resp);
void api_flavor_extra_spec_update(struct api_request *req, struct api_response *resp);
void api_flavor_extra_spec_delete(struct api_request *req, struct api_response *resp);
void api_flavor_access_list(struct api_request *req, struct api_response *resp);
void api_flavors_action(struct api_request *req, struct api_response *resp);

void api_keypairs_list(struct api_request *req, struct api_response *resp);
void api_keypairs_show(struct api_request *req, struct api_response *resp);
void api_keypairs_create(struct api_request *req, struct api_response *resp);
void api_keypairs_delete(struct api_request *req, struct api_response *resp);

void api_images_list(struct api_request *req, struct api_response *resp);
void api_images_detail(struct api_request *req, struct api_response *resp);
void api_images_show(struct api_request *req, struct api_response *resp);
void api_images_create(struct api_request *req, struct api_response *resp);
void api_images_upload(struct api_request *req, struct api_response *resp);
void api_images_download(struct api_request *req, struct api_response *resp);
void api_images_delete(struct api_request *req, struct api_response *resp);

void api_limits_show(struct api_request *req, struct api_response *resp);
void api_availability_zones(struct api_request *req, struct api_response *resp);
void api_availability_zones_detail(struct api_request *req, struct api_response *resp);
void api_services_list(struct api_request *req, struct api_response *resp);
void api_hypervisors_list(struct api_request *req, struct api_response *resp);
void api_hypervisors_detail(struct api_request *req, struct api_response *resp);
void api_hypervisors_show(struct api_request *req, struct api_response *resp);
void api_hypervisors_uptime(struct api_request *req, struct api_response *resp);
void api_hypervisors_statistics(struct api_request *req, struct api_response *resp);
void api_hypervisors_search(struct api_request *req, struct api_response *resp);
void api_hypervisors_servers(struct api_request *req, struct api_response *resp);

#endif
