/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The message bus, transport by transport: always inproc://, and the
 * RabbitMQ at NPH_TEST_AMQP_URL when set (tests/bus-rabbitmq.sh starts one).
 * With NPH_TEST_AMQP_RESTART_CMD set too, a stream of casts runs through a
 * broker restart and none may be lost.
 */
#include "config.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "test-util.h"
#include "uuid.h"

struct counter {
    pthread_mutex_t lock;
    int count;
    int running;        /* handlers in progress */
    bool slow_done;
    int slow_count;     /* slow handlers finished */
    char request_id[80];
    unsigned char *seen; /* restart test: one flag per sequence number */
    int n_seen;
};

static struct counter server_a, server_b;

static void counter_init(struct counter *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
}

static nph_status handler(void *opaque, const char *method, json_object *args,
                          json_object **result, nph_error *err)
{
    struct counter *c = opaque;
    if (strcmp(method, "echo") == 0) {
        *result = json_object_new_object();
        json_object_object_add(*result, "args", json_object_get(args));
        const char *rid = nph_log_request_id();
        nph_json_add_string(*result, "request_id", rid);
        return NPH_OK;
    }
    if (strcmp(method, "fail") == 0)
        return nph_error_set(err, NPH_ERR_CONFLICT, "instance is locked");
    if (strcmp(method, "slow") == 0) {
        pthread_mutex_lock(&c->lock);
        c->running++;
        pthread_mutex_unlock(&c->lock);
        usleep(300000);
        pthread_mutex_lock(&c->lock);
        c->slow_done = true;
        c->slow_count++;
        c->running--;
        pthread_mutex_unlock(&c->lock);
        return NPH_OK;
    }
    pthread_mutex_lock(&c->lock);
    c->count++;
    int64_t seq = -1;
    nph_json_get_int(args, "seq", false, &seq, NULL);
    if (c->seen && seq >= 0 && seq < c->n_seen)
        c->seen[seq] = 1;
    pthread_mutex_unlock(&c->lock);
    return NPH_OK;
}

static int count_of(struct counter *c)
{
    pthread_mutex_lock(&c->lock);
    int n = c->count;
    pthread_mutex_unlock(&c->lock);
    return n;
}

static int slow_count_of(struct counter *c)
{
    pthread_mutex_lock(&c->lock);
    int n = c->slow_count;
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* Wait up to `ms` for `cond` to hold. */
#define WAIT_FOR(cond, ms) \
    do { \
        for (int w_ = 0; w_ < (ms) / 10 && !(cond); w_++) \
            usleep(10000); \
    } while (0)

static void topic_name(char *out, size_t len, const char *base)
{
    char uuid[NPH_UUID_STRLEN + 1];
    nph_uuid_generate(uuid);
    snprintf(out, len, "%s-%.8s", base, uuid);
}

static void suite_body(const char *label, nph_bus *client, nph_bus **server, const char *topic,
                       const char *shared);

static void run_suite(const char *url, const char *label)
{
    nph_error err = NPH_ERROR_INIT;
    nph_bus *server = NULL, *server2 = NULL, *client = NULL;
    counter_init(&server_a);
    counter_init(&server_b);
    char topic[64], shared[64];
    topic_name(topic, sizeof(topic), "test");
    topic_name(shared, sizeof(shared), "shared");
    nph_status st = nph_bus_open(url, "server-a", &server, &err);
    if (st == NPH_OK)
        st = nph_bus_open(url, "server-b", &server2, &err);
    if (st == NPH_OK)
        st = nph_bus_open(url, "client", &client, &err);
    if (st == NPH_OK)
        st = nph_bus_serve(server, topic, 4, handler, &server_a, &err);
    if (st == NPH_OK)
        st = nph_bus_serve(server, shared, 2, handler, &server_a, &err);
    if (st == NPH_OK)
        st = nph_bus_serve(server2, shared, 2, handler, &server_b, &err);
    is_int(st, NPH_OK, "%s: open and serve (%s)", label, err.message);
    if (st == NPH_OK) {
        usleep(300000); /* consumers attach (AMQP) */
        suite_body(label, client, &server, topic, shared);
    }
    nph_bus_close(server);
    nph_bus_close(server2);
    nph_bus_close(client);
}

static void suite_body(const char *label, nph_bus *client, nph_bus **server, const char *topic,
                       const char *shared)
{
    nph_error err = NPH_ERROR_INIT;
    nph_status st;

    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "name", "vm-1");
    nph_log_set_request_id("req-11111111-2222-4333-8444-555555555555");
    nph_auto_json *result = NULL;
    st = nph_bus_call(client, topic, "echo", args, 5000, &result, &err);
    is_int(st, NPH_OK, "%s: call returns (%s)", label, err.message);
    json_object *echoed = NULL;
    const char *name = NULL, *rid = NULL;
    nph_json_get_object(result, "args", false, &echoed, NULL);
    nph_json_get_string(echoed, "name", false, &name, NULL);
    nph_json_get_string(result, "request_id", false, &rid, NULL);
    is_str(name, "vm-1", "%s: the handler saw the arguments", label);
    is_str(rid, "req-11111111-2222-4333-8444-555555555555",
           "%s: the request id travels into the handler", label);
    nph_log_set_request_id(NULL);

    json_object *ignored = NULL;
    st = nph_bus_call(client, topic, "fail", args, 5000, &ignored, &err);
    is_int(st, NPH_ERR_CONFLICT, "%s: a remote error keeps its code", label);
    is_str(err.message, "instance is locked", "%s: and its message", label);

    st = nph_bus_call(client, "nobody-serves-this", "echo", args, 300, &ignored, &err);
    is_int(st, NPH_ERR_TIMEOUT, "%s: a call nobody answers times out", label);
    like(err.message, "within 300 ms", "%s: the timeout is named", label);

    st = nph_bus_cast(client, topic, "count", args, &err);
    is_int(st, NPH_OK, "%s: cast", label);
    WAIT_FOR(count_of(&server_a) == 1, 5000);
    is_int(count_of(&server_a), 1, "%s: the cast reached the handler", label);

    st = nph_bus_fanout(client, shared, "count", args, &err);
    is_int(st, NPH_OK, "%s: fanout", label);
    WAIT_FOR(count_of(&server_a) == 2 && count_of(&server_b) == 1, 5000);
    is_int(count_of(&server_a) + count_of(&server_b), 3, "%s: fanout reached both servers", label);

    int before_a = count_of(&server_a), before_b = count_of(&server_b);
    int sent = 0;
    for (int i = 0; i < 1000; i++)
        sent += nph_bus_cast(client, shared, "count", args, &err) == NPH_OK;
    is_int(sent, 1000, "%s: 1,000 casts sent", label);
    WAIT_FOR(count_of(&server_a) - before_a + count_of(&server_b) - before_b >= 1000, 20000);
    int got_a = count_of(&server_a) - before_a, got_b = count_of(&server_b) - before_b;
    is_int(got_a + got_b, 1000, "%s: all 1,000 handled exactly once", label);
    /* Which server takes a cast is whichever is free first, so 1,000 quick
     * ones may all go to one of them on a busy machine; four slow ones need
     * the two workers of each. */
    for (int i = 0; i < 4; i++)
        st = st == NPH_OK ? nph_bus_cast(client, shared, "slow", args, &err) : st;
    WAIT_FOR(slow_count_of(&server_a) + slow_count_of(&server_b) == 4, 5000);
    int slow_a = slow_count_of(&server_a), slow_b = slow_count_of(&server_b);
    ok(st == NPH_OK && slow_a == 2 && slow_b == 2,
       "%s: two servers shared the load (slow casts %d and %d)", label, slow_a, slow_b);

    /* close() waits for the handler in progress. */
    st = nph_bus_cast(client, topic, "slow", args, &err);
    WAIT_FOR(server_a.running == 1, 5000);
    is_int(server_a.running, 1, "%s: a slow handler is running", label);
    nph_bus_close(*server);
    *server = NULL;
    ok(server_a.slow_done, "%s: closing the bus waited for it to finish", label);
}

/* Publish raw bytes to the topic, as a broken or foreign peer would. */
static bool publish_raw(const char *url, const char *topic, const char *body)
{
    char *copy = strdup(url);
    struct amqp_connection_info info;
    bool ok_ = false;
    if (amqp_parse_url(copy, &info) == AMQP_STATUS_OK) {
        amqp_connection_state_t conn = amqp_new_connection();
        amqp_socket_t *sock = amqp_tcp_socket_new(conn);
        if (amqp_socket_open(sock, info.host, info.port) == AMQP_STATUS_OK &&
            amqp_login(conn, info.vhost && *info.vhost ? info.vhost : "/", 0, 131072, 0,
                       AMQP_SASL_METHOD_PLAIN, info.user, info.password).reply_type ==
                AMQP_RESPONSE_NORMAL) {
            amqp_channel_open(conn, 1);
            ok_ = amqp_basic_publish(conn, 1, amqp_cstring_bytes("nephele"),
                                     amqp_cstring_bytes(topic), 0, 0, NULL,
                                     amqp_cstring_bytes(body)) == AMQP_STATUS_OK;
            amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
        }
        amqp_destroy_connection(conn);
    }
    free(copy);
    return ok_;
}

static void test_garbage(const char *url)
{
    nph_error err = NPH_ERROR_INIT;
    nph_bus *server = NULL, *client = NULL;
    counter_init(&server_a);
    char topic[64];
    topic_name(topic, sizeof(topic), "garbage");
    nph_status st = nph_bus_open(url, "server", &server, &err);
    if (st == NPH_OK)
        st = nph_bus_open(url, "client", &client, &err);
    if (st == NPH_OK)
        st = nph_bus_serve(server, topic, 2, handler, &server_a, &err);
    is_int(st, NPH_OK, "amqp: serve for the garbage test");
    usleep(300000);
    ok(publish_raw(url, topic, "{not json"), "amqp: malformed JSON published");
    ok(publish_raw(url, topic, "{\"v\": 99, \"method\": \"count\", \"args\": {}}"),
       "amqp: an unknown envelope version published");
    ok(publish_raw(url, topic, "{\"v\": 1, \"args\": {}}"), "amqp: an envelope without method");
    nph_auto_json *args = json_object_new_object();
    st = nph_bus_cast(client, topic, "count", args, &err);
    WAIT_FOR(count_of(&server_a) >= 1, 5000);
    is_int(count_of(&server_a), 1, "amqp: only the good message reached the handler");
    json_object *result = NULL;
    st = nph_bus_call(client, topic, "echo", args, 5000, &result, &err);
    is_int(st, NPH_OK, "amqp: the server still answers after the garbage");
    json_object_put(result);
    nph_bus_close(server);
    nph_bus_close(client);
}

struct stream {
    nph_bus *client;
    char topic[64];
    int total;
    unsigned char *sent_ok;
};

static void *cast_stream(void *opaque)
{
    struct stream *s = opaque;
    for (int i = 0; i < s->total; i++) {
        nph_auto_json *args = json_object_new_object();
        nph_json_add_int(args, "seq", i);
        nph_error err = NPH_ERROR_INIT;
        s->sent_ok[i] = nph_bus_cast(s->client, s->topic, "count", args, &err) == NPH_OK;
        usleep(2000);
    }
    return NULL;
}

static void test_restart(const char *url, const char *restart_cmd)
{
    enum { TOTAL = 2000 };
    nph_error err = NPH_ERROR_INIT;
    nph_bus *server = NULL;
    struct stream s = { .total = TOTAL };
    counter_init(&server_a);
    server_a.seen = calloc(TOTAL, 1);
    server_a.n_seen = TOTAL;
    s.sent_ok = calloc(TOTAL, 1);
    topic_name(s.topic, sizeof(s.topic), "restart");
    nph_status st = nph_bus_open(url, "server", &server, &err);
    if (st == NPH_OK)
        st = nph_bus_open(url, "client", &s.client, &err);
    if (st == NPH_OK)
        st = nph_bus_serve(server, s.topic, 4, handler, &server_a, &err);
    is_int(st, NPH_OK, "amqp restart: serve (%s)", err.message);
    pthread_t t;
    pthread_create(&t, NULL, cast_stream, &s);
    WAIT_FOR(count_of(&server_a) >= 300, 20000);
    int rc = system(restart_cmd);
    ok(rc == 0, "amqp restart: the broker restarted in the middle of the stream (%s)", restart_cmd);
    pthread_join(t, NULL);
    int sent = 0, lost = 0;
    for (int i = 0; i < TOTAL; i++)
        sent += s.sent_ok[i];
    for (int w = 0; w < 600; w++) {
        lost = 0;
        pthread_mutex_lock(&server_a.lock);
        for (int i = 0; i < TOTAL; i++)
            lost += s.sent_ok[i] && !server_a.seen[i];
        pthread_mutex_unlock(&server_a.lock);
        if (!lost)
            break;
        usleep(100000);
    }
    is_int(sent, TOTAL, "amqp restart: every cast was confirmed (none gave up)");
    is_int(lost, 0, "amqp restart: no confirmed cast was lost");
    nph_bus_close(server);
    nph_bus_close(s.client);
    free(server_a.seen);
    server_a.seen = NULL;
    free(s.sent_ok);
}

int main(void)
{
    nph_log_set_level(getenv("NPH_TEST_DEBUG") ? NPH_LOG_DEBUG : NPH_LOG_CRITICAL);
    run_suite("inproc://", "inproc");
    nph_error err = NPH_ERROR_INIT;
    nph_bus *bad = NULL;
    is_int(nph_bus_open("zeromq://127.0.0.1", "x", &bad, &err), NPH_ERR_INVALID,
           "an unknown transport is refused");
    like(err.message, "'zeromq://127.0.0.1'", "and named");
    is_int(nph_bus_open("amqp://guest:guest@127.0.0.1:1/", "x", &bad, &err), NPH_ERR_BACKEND,
           "an unreachable broker fails at open");
    like(err.message, "127.0.0.1:1", "and is named");
    const char *url = getenv("NPH_TEST_AMQP_URL");
    if (url) {
        run_suite(url, "amqp");
        test_garbage(url);
        const char *restart = getenv("NPH_TEST_AMQP_RESTART_CMD");
        if (restart)
            test_restart(url, restart);
    }
    return tap_done();
}
