/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Keystone token validator (services/api/api-keystone.c) against a fake
 * Keystone on libmicrohttpd: the [keystone_authtoken] checks, roles to a
 * context, the cache and its expiry, a refused service token acquired again,
 * one login for many threads, and a slow, failing or absent Keystone. */
#include "config.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../tap.h"
#include "api-internal.h"
#include "buffer.h"
#include "clock.h"
#include "conf.h"
#include "error.h"

/* ---- the fake Keystone --------------------------------------------------------- */

static struct {
    pthread_mutex_t lock;
    int logins, validations;
    int login_status;           /* answer logins with this instead of 201 */
    int validate_status;        /* answer validations with this, 0 for the real thing */
    char refused[64];           /* a service token to answer 401 to */
    unsigned delay_ms;          /* before every answer */
    int login_body_ok;          /* the last login named user, domain and project */
} fake = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int fake_count(int *counter)
{
    pthread_mutex_lock(&fake.lock);
    int n = *counter;
    pthread_mutex_unlock(&fake.lock);
    return n;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *body,
                              const char *subject)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (subject)
        MHD_add_response_header(r, "X-Subject-Token", subject);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result login(struct MHD_Connection *conn, const char *body)
{
    char token[64], text[256];
    pthread_mutex_lock(&fake.lock);
    int n = ++fake.logins, status = fake.login_status;
    fake.login_body_ok = strstr(body, "\"name\":\"nova\"") && strstr(body, "\"password\":\"pw\"") &&
                         strstr(body, "\"name\":\"service\"") && strstr(body, "\"name\":\"Default\"");
    pthread_mutex_unlock(&fake.lock);
    if (status)
        return answer(conn, (unsigned)status, "{\"error\": {\"code\": 401}}", NULL);
    snprintf(token, sizeof(token), "svc-%d", n);
    snprintf(text, sizeof(text), "{\"token\": {\"expires_at\": \"2099-01-01T00:00:00.000000Z\"}}");
    return answer(conn, 201, text, token);
}

/* tok-admin*, tok-member*, tok-reader*, tok-domain*, tok-soon* (expires in
 * a second); anything else is unknown. */
static enum MHD_Result validate(struct MHD_Connection *conn)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Auth-Token");
    const char *subject = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Subject-Token");
    pthread_mutex_lock(&fake.lock);
    fake.validations++;
    bool refused = !auth || strncmp(auth, "svc-", 4) != 0 || strcmp(auth, fake.refused) == 0;
    int forced = fake.validate_status;
    pthread_mutex_unlock(&fake.lock);
    if (refused)
        return answer(conn, 401, "{\"error\": {\"code\": 401}}", NULL);
    if (forced)
        return answer(conn, (unsigned)forced, "{\"error\": {}}", NULL);
#define ROLE(name) "{\"id\": \"r\", \"name\": \"" name "\"}"
    const char *roles = !subject                                  ? NULL
                        : strncmp(subject, "tok-admin", 9) == 0   ? ROLE("admin") "," ROLE("member") "," ROLE("reader")
                        : strncmp(subject, "tok-member", 10) == 0 ? ROLE("member") "," ROLE("reader")
                        : strncmp(subject, "tok-reader", 10) == 0 ? ROLE("reader")
                        : strncmp(subject, "tok-domain", 10) == 0 ? ROLE("admin")
                        : strncmp(subject, "tok-soon", 8) == 0    ? ROLE("member")
                                                                  : NULL;
    if (!roles)
        return answer(conn, 404, "{\"error\": {\"code\": 404}}", NULL);
    char expires[64], text[1024];
    struct tm tm;
    time_t when = strncmp(subject, "tok-soon", 8) == 0 ? time(NULL) + 1 : time(NULL) + 3600;
    strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%S.000000Z", gmtime_r(&when, &tm));
    bool domain = strncmp(subject, "tok-domain", 10) == 0;
    snprintf(text, sizeof(text),
             "{\"token\": {\"user\": {\"id\": \"u-%s\"}, %s \"roles\": [%s], \"expires_at\": \"%s\"}}",
             subject + 4, domain ? "\"domain\": {\"id\": \"default\"}," : "\"project\": {\"id\": \"p-1\"},",
             roles, expires);
    return answer(conn, 200, text, subject);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **state)
{
    (void)cls, (void)version;
    nph_buffer *body = *state;
    if (!body) {
        *state = calloc(1, sizeof(nph_buffer));
        return *state ? MHD_YES : MHD_NO;
    }
    if (*size) {
        nph_buffer_append(body, data, *size);
        *size = 0;
        return MHD_YES;
    }
    pthread_mutex_lock(&fake.lock);
    unsigned delay = fake.delay_ms;
    pthread_mutex_unlock(&fake.lock);
    if (delay)
        nph_clock_sleep_ms(delay);
    if (strcmp(url, "/v3/auth/tokens") != 0)
        return answer(conn, 404, "{}", NULL);
    if (strcmp(method, "POST") == 0)
        return login(conn, nph_buffer_str(body));
    return validate(conn);
}

static void on_done(void *cls, struct MHD_Connection *conn, void **state,
                    enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)conn, (void)code;
    nph_buffer *body = *state;
    if (body)
        nph_buffer_reset(body);
    free(body);
    *state = NULL;
}

static struct MHD_Daemon *fake_start(uint16_t *port)
{
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, on_request,
        NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
        MHD_OPTION_END);
    const union MHD_DaemonInfo *info = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    *port = info ? info->port : 0;
    return d;
}

/* ---- helpers ---------------------------------------------------------------------- */

static uint16_t port;

static struct api_keystone *make(const char *extra, nph_error *err)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "[api]\nauth_strategy = keystone\n"
             "[keystone_authtoken]\nauth_url = http://127.0.0.1:%u\nusername = nova\n"
             "password = pw\nproject_name = service\n%s",
             port, extra);
    nph_auto_config *cfg = nph_config_new();
    struct api_keystone *ks = NULL;
    *err = (nph_error)NPH_ERROR_INIT;
    if (nph_config_load_string(cfg, "test.conf", text, err) == NPH_OK)
        api_keystone_new(cfg, &ks, err);
    return ks;
}

static enum api_keystone_verdict check(struct api_keystone *ks, const char *token,
                                       struct api_context *ctx)
{
    char why[512];
    memset(ctx, 0, sizeof(*ctx));
    return api_keystone_check(ks, token, ctx, why, sizeof(why));
}

static const char *config_error(const char *text)
{
    static nph_error err;
    nph_auto_config *cfg = nph_config_new();
    struct api_keystone *ks = NULL;
    err = (nph_error)NPH_ERROR_INIT;
    if (nph_config_load_string(cfg, "bad.conf", text, &err) == NPH_OK &&
        api_keystone_new(cfg, &ks, &err) == NPH_OK) {
        api_keystone_free(ks);
        return "(accepted)";
    }
    return err.message;
}

/* ---- the checks ------------------------------------------------------------------- */

static void configuration(void)
{
    like(config_error("[api]\nauth_strategy = keystone\n\n[keystone_authtoken]\nusername = a\n"
                      "password = b\nproject_name = c\n"),
         "bad.conf:4: [keystone_authtoken] has no 'auth_url'", "a missing auth_url names the section");
    like(config_error("[api]\nauth_strategy = keystone\n"),
         "bad.conf:2: [keystone_authtoken] has no 'auth_url'",
         "without the section, the error points at auth_strategy");
    like(config_error("[keystone_authtoken]\nauth_url = http://k\nusername =\n"),
         "bad.conf:3: key 'username' in [keystone_authtoken]: must not be empty", "an empty username");
    like(config_error("[keystone_authtoken]\nauth_url = k:5000\nusername = a\npassword = b\n"
                      "project_name = c\n"),
         "'k:5000' is not an http:// or https:// URL", "auth_url must be a URL");
    like(config_error("[keystone_authtoken]\nauth_url = http://k\nusername = a\npassword = b\n"
                      "project_name = c\ntimeout = 0\n"),
         "key 'timeout' in [keystone_authtoken]", "timeout 0 is out of range");
    like(config_error("[keystone_authtoken]\nauth_type = v3token\nauth_url = http://k\n"),
         "'v3token' is not supported", "only password authentication");
    is_str(config_error("[keystone_authtoken]\nauth_url = http://k/v3/\nusername = a\n"
                        "password = b\nproject_name = c\nuser_domain_id = default\n"),
           "(accepted)", "a complete section is accepted");
}

static void roles_and_cache(void)
{
    nph_error err;
    struct api_keystone *ks = make("www_authenticate_uri = http://public:5000\n", &err);
    if (!ok(ks != NULL, "a validator from a complete section"))
        printf("#   %s\n", err.message);
    if (!ks)
        return;
    is_str(api_keystone_uri(ks), "http://public:5000", "WWW-Authenticate names www_authenticate_uri");
    struct api_context ctx;
    is_int(check(ks, "tok-admin", &ctx), API_KEYSTONE_VALID, "an admin's token is valid");
    ok(fake_count(&fake.login_body_ok), "the service logged in with user, password, domain and project scope");
    is_str(ctx.user_id, "u-admin", "the user from token.user.id");
    is_str(ctx.project_id, "p-1", "the project from token.project.id");
    ok(ctx.is_admin && !ctx.read_only, "admin role: an administrator");
    is_int(fake_count(&fake.logins), 1, "one service login");
    is_int(fake_count(&fake.validations), 1, "one validation");
    is_int(check(ks, "tok-admin", &ctx), API_KEYSTONE_VALID, "the same token again");
    ok(ctx.is_admin && strcmp(ctx.user_id, "u-admin") == 0, "the same context");
    is_int(fake_count(&fake.validations), 1, "comes from the cache");
    is_int(check(ks, "tok-member", &ctx), API_KEYSTONE_VALID, "a member's token");
    ok(!ctx.is_admin && !ctx.read_only, "member and reader: neither admin nor read-only");
    is_int(check(ks, "tok-reader", &ctx), API_KEYSTONE_VALID, "a reader's token");
    ok(!ctx.is_admin && ctx.read_only, "the reader role alone: read-only");
    is_int(check(ks, "tok-nosuch", &ctx), API_KEYSTONE_INVALID, "an unknown token (404) is invalid");
    is_int(check(ks, "tok-domain", &ctx), API_KEYSTONE_INVALID, "a token without a project is invalid");
    int asked = fake_count(&fake.validations);
    is_int(check(ks, "tok admin", &ctx), API_KEYSTONE_INVALID, "a token with a space is invalid");
    is_int(check(ks, NULL, &ctx), API_KEYSTONE_INVALID, "no token is invalid");
    is_int(fake_count(&fake.validations), asked, "neither was sent to Keystone");
    is_int(fake_count(&fake.logins), 1, "still one service login");

    pthread_mutex_lock(&fake.lock);
    snprintf(fake.refused, sizeof(fake.refused), "svc-1");
    pthread_mutex_unlock(&fake.lock);
    is_int(check(ks, "tok-member-2", &ctx), API_KEYSTONE_VALID,
           "Keystone refuses the service token (401): the token is still validated");
    is_int(fake_count(&fake.logins), 2, "with a new service token");

    is_int(check(ks, "tok-soon", &ctx), API_KEYSTONE_VALID, "a token that expires in a second");
    asked = fake_count(&fake.validations);
    nph_clock_sleep_ms(2100);
    is_int(check(ks, "tok-soon", &ctx), API_KEYSTONE_VALID, "after it expired, asked again");
    is_int(fake_count(&fake.validations), asked + 1, "the cache kept it no longer than expires_at");
    api_keystone_free(ks);
}

static void cache_time(void)
{
    nph_error err;
    struct api_keystone *ks = make("token_cache_time = 1\n", &err);
    struct api_keystone *uncached = make("token_cache_time = 0\n", &err);
    struct api_context ctx;
    if (!ks || !uncached) {
        ok(0, "validators with token_cache_time 1 and 0: %s", err.message);
        return;
    }
    check(ks, "tok-member-3", &ctx);
    int asked = fake_count(&fake.validations);
    check(ks, "tok-member-3", &ctx);
    is_int(fake_count(&fake.validations), asked, "token_cache_time = 1: cached at first");
    nph_clock_sleep_ms(2100);
    check(ks, "tok-member-3", &ctx);
    is_int(fake_count(&fake.validations), asked + 1, "and asked again after a second");
    asked = fake_count(&fake.validations);
    check(uncached, "tok-member-3", &ctx);
    check(uncached, "tok-member-3", &ctx);
    is_int(fake_count(&fake.validations), asked + 2, "token_cache_time = 0: every time");
    api_keystone_free(ks);
    api_keystone_free(uncached);
}

struct worker {
    struct api_keystone *ks;
    int valid;
};

static void *work(void *cls)
{
    struct worker *w = cls;
    for (int i = 0; i < 40; i++) {
        char token[32];
        struct api_context ctx;
        snprintf(token, sizeof(token), "tok-member-t%d", i % 12);
        w->valid += check(w->ks, token, &ctx) == API_KEYSTONE_VALID && strcmp(ctx.project_id, "p-1") == 0;
    }
    return NULL;
}

static void threads(void)
{
    nph_error err;
    struct api_keystone *ks = make("", &err);
    if (!ks) {
        ok(0, "a validator: %s", err.message);
        return;
    }
    int logins = fake_count(&fake.logins);
    struct worker w[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (struct worker){ .ks = ks };
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    int valid = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        valid += w[i].valid;
    }
    is_int(valid, 8 * 40, "8 threads validate 320 times");
    is_int(fake_count(&fake.logins), logins + 1, "with one service login between them");
    api_keystone_free(ks);
}

static void unavailable(void)
{
    nph_error err;
    struct api_context ctx;
    struct api_keystone *ks = make("timeout = 0.3\n", &err);
    if (!ks) {
        ok(0, "a validator: %s", err.message);
        return;
    }
    check(ks, "tok-member", &ctx); /* logged in */
    pthread_mutex_lock(&fake.lock);
    fake.validate_status = 500;
    pthread_mutex_unlock(&fake.lock);
    is_int(check(ks, "tok-member-4", &ctx), API_KEYSTONE_UNAVAILABLE, "Keystone answers 500: unavailable");
    pthread_mutex_lock(&fake.lock);
    fake.validate_status = 0;
    fake.delay_ms = 1500;
    pthread_mutex_unlock(&fake.lock);
    uint64_t start = nph_clock_monotonic_ns();
    is_int(check(ks, "tok-member-5", &ctx), API_KEYSTONE_UNAVAILABLE, "Keystone too slow: unavailable");
    uint64_t ms = (nph_clock_monotonic_ns() - start) / 1000000;
    ok(ms < 1200, "after the timeout, not after the answer (%llu ms)", (unsigned long long)ms);
    is_int(check(ks, "tok-member", &ctx), API_KEYSTONE_VALID, "a cached token still works meanwhile");
    pthread_mutex_lock(&fake.lock);
    fake.delay_ms = 0;
    fake.login_status = 401;
    pthread_mutex_unlock(&fake.lock);
    api_keystone_free(ks);

    ks = make("", &err);
    char why[512] = "";
    is_int(api_keystone_check(ks, "tok-member", &ctx, why, sizeof(why)), API_KEYSTONE_UNAVAILABLE,
           "the service user cannot log in: unavailable");
    like(why, "Keystone answered 401 to the service user 'nova' logging in", "saying so");
    api_keystone_free(ks);
    pthread_mutex_lock(&fake.lock);
    fake.login_status = 0;
    pthread_mutex_unlock(&fake.lock);
}

int main(void)
{
    configuration();
    struct MHD_Daemon *d = fake_start(&port);
    if (!d || !port) {
        printf("Bail out! cannot start the fake Keystone\n");
        return 99;
    }
    roles_and_cache();
    cache_time();
    threads();
    unavailable();
    MHD_stop_daemon(d);

    /* Nothing listens on the port any more. */
    nph_error err;
    struct api_keystone *ks = make("", &err);
    struct api_context ctx;
    char why[512] = "";
    is_int(api_keystone_check(ks, "tok-member", &ctx, why, sizeof(why)), API_KEYSTONE_UNAVAILABLE,
           "no Keystone: unavailable");
    like(why, "127.0.0.1", "naming where it was asked");
    api_keystone_free(ks);
    return tap_done();
}
