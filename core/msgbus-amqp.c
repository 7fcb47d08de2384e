/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * amqp://: RabbitMQ through rabbitmq-c.
 *
 * Topology: a durable topic exchange "nephele"; per topic a durable queue
 * "nephele.<topic>" bound with the topic as routing key (its servers share
 * it) and a fanout exchange "nephele.<topic>.fanout" with one exclusive queue
 * per server; per process an exclusive reply queue.  Senders declare a
 * topic's queue before the first publish, so a cast waits for its server.
 *
 * rabbitmq-c connections are not thread-safe, so each has one owner: the
 * publishing connection (casts, calls and replies, in confirm mode, behind a
 * mutex), the reply consumer's, and one per served topic, whose thread hands
 * deliveries to worker threads and acknowledges them once their handler has
 * finished.  Deliveries not yet handled when the bus closes are never
 * acknowledged: the broker gives them to another server.  Every connection
 * comes back after a broker restart with backoff and re-declares what it
 * needs; a publish interrupted by it is sent again (at-least-once).
 */
#include "config.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "msgbus-internal.h"
#include "uuid.h"

NPH_LOG_INIT("core.bus.amqp");

#define EXCHANGE "nephele"
#define PUBLISH_PATIENCE_S 30 /* how long a publish waits for the broker to return */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define POLL_MS 100

struct call_wait {
    char msg_id[40];
    pthread_cond_t cond;
    bool done;
    nph_status st;
    json_object *result;
    nph_error err;
    struct call_wait *next;
};

struct amqp_bus {
    char *host, *user, *password, *vhost;
    int port;
    atomic_bool stopping;

    pthread_mutex_t pub_lock; /* guards pub, next_tag, declared */
    amqp_connection_state_t pub;
    uint64_t next_tag;
    char **declared;          /* topics whose queue the publisher declared */
    size_t n_declared;

    char reply_queue[300];
    pthread_t reply_thread;
    bool reply_started;
    pthread_mutex_t wait_lock; /* guards waits, reply_ready */
    pthread_cond_t ready_cond;
    bool reply_ready;
    struct call_wait *waits;
};

struct delivery {
    uint64_t tag;
    unsigned generation;
    struct bus_msg msg;
    struct delivery *next;
};

struct amqp_server {
    struct bus_server *server;
    struct amqp_bus *ab;
    pthread_t consumer;
    pthread_t *workers;
    unsigned n_workers;
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct delivery *todo, *todo_tail, *done;
    unsigned generation;
    bool stopping;
};

/* ------------------------------------------------------------------------ */
/* Connections.                                                             */

static nph_status reply_error(amqp_rpc_reply_t r, const char *what, nph_error *err)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return NPH_OK;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        return nph_error_set(err, NPH_ERR_BACKEND, "RabbitMQ %s: %s", what,
                             amqp_error_string2(r.library_error));
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD || r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_connection_close_t *c = r.reply.decoded;
            return nph_error_set(err, NPH_ERR_BACKEND, "RabbitMQ %s: %.*s", what,
                                 (int)c->reply_text.len, (const char *)c->reply_text.bytes);
        }
        return nph_error_set(err, NPH_ERR_BACKEND, "RabbitMQ %s: server error 0x%08x", what,
                             r.reply.id);
    default:
        return nph_error_set(err, NPH_ERR_BACKEND, "RabbitMQ %s: no reply", what);
    }
}

static void drop(amqp_connection_state_t *conn)
{
    if (*conn) {
        amqp_connection_close(*conn, AMQP_REPLY_SUCCESS);
        amqp_destroy_connection(*conn);
        *conn = NULL;
    }
}

static nph_status connect_broker(struct amqp_bus *ab, amqp_connection_state_t *out, nph_error *err)
{
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = conn ? amqp_tcp_socket_new(conn) : NULL;
    if (!sock) {
        if (conn)
            amqp_destroy_connection(conn);
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    struct timeval tv = { 5, 0 };
    int rc = amqp_socket_open_noblock(sock, ab->host, ab->port, &tv);
    if (rc != AMQP_STATUS_OK) {
        amqp_destroy_connection(conn);
        return nph_error_set(err, NPH_ERR_BACKEND, "cannot connect to RabbitMQ at %s:%d: %s",
                             ab->host, ab->port, amqp_error_string2(rc));
    }
    nph_status st = reply_error(amqp_login(conn, ab->vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
                                           ab->user, ab->password),
                                "login", err);
    if (st == NPH_OK) {
        amqp_channel_open(conn, 1);
        st = reply_error(amqp_get_rpc_reply(conn), "channel open", err);
    }
    if (st != NPH_OK) {
        drop(&conn);
        return st;
    }
    *out = conn;
    return NPH_OK;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static unsigned next_backoff(unsigned ms)
{
    return ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2;
}

static void queue_name(char *out, size_t len, const char *topic)
{
    snprintf(out, len, EXCHANGE ".%s", topic);
}

/* The durable queue of a topic, bound to the exchange; the fanout exchange. */
static nph_status declare_topic(amqp_connection_state_t conn, const char *topic, nph_error *err)
{
    char queue[300], fanout[320];
    queue_name(queue, sizeof(queue), topic);
    snprintf(fanout, sizeof(fanout), "%s.fanout", queue);
    amqp_exchange_declare(conn, 1, amqp_cstring_bytes(EXCHANGE), amqp_cstring_bytes("topic"), 0, 1,
                          0, 0, amqp_empty_table);
    nph_status st = reply_error(amqp_get_rpc_reply(conn), "exchange declare", err);
    if (st == NPH_OK) {
        amqp_queue_declare(conn, 1, amqp_cstring_bytes(queue), 0, 1, 0, 0, amqp_empty_table);
        st = reply_error(amqp_get_rpc_reply(conn), "queue declare", err);
    }
    if (st == NPH_OK) {
        amqp_queue_bind(conn, 1, amqp_cstring_bytes(queue), amqp_cstring_bytes(EXCHANGE),
                        amqp_cstring_bytes(topic), amqp_empty_table);
        st = reply_error(amqp_get_rpc_reply(conn), "queue bind", err);
    }
    if (st == NPH_OK) {
        amqp_exchange_declare(conn, 1, amqp_cstring_bytes(fanout), amqp_cstring_bytes("fanout"), 0,
                              1, 0, 0, amqp_empty_table);
        st = reply_error(amqp_get_rpc_reply(conn), "fanout exchange declare", err);
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* Publishing with confirms.                                                */

/* Caller holds pub_lock. */
static nph_status pub_connect(struct amqp_bus *ab, nph_error *err)
{
    if (ab->pub)
        return NPH_OK;
    nph_status st = connect_broker(ab, &ab->pub, err);
    if (st != NPH_OK)
        return st;
    amqp_confirm_select(ab->pub, 1);
    st = reply_error(amqp_get_rpc_reply(ab->pub), "confirm select", err);
    if (st != NPH_OK) {
        drop(&ab->pub);
        return st;
    }
    ab->next_tag = 0;
    for (size_t i = 0; i < ab->n_declared; i++)
        free(ab->declared[i]);
    ab->n_declared = 0; /* a new connection: declare again (the broker may be new too) */
    return NPH_OK;
}

/* Caller holds pub_lock. */
static nph_status pub_declare(struct amqp_bus *ab, const char *topic, nph_error *err)
{
    for (size_t i = 0; i < ab->n_declared; i++)
        if (strcmp(ab->declared[i], topic) == 0)
            return NPH_OK;
    nph_status st = declare_topic(ab->pub, topic, err);
    char **grown = st == NPH_OK ? realloc(ab->declared, (ab->n_declared + 1) * sizeof(*grown)) : NULL;
    if (grown) {
        ab->declared = grown;
        if ((ab->declared[ab->n_declared] = strdup(topic)))
            ab->n_declared++;
    }
    return st;
}

/* Wait for the broker's confirm of delivery tag `tag`. */
static nph_status wait_confirm(struct amqp_bus *ab, uint64_t tag, nph_error *err)
{
    for (;;) {
        amqp_frame_t frame;
        struct timeval tv = { 10, 0 };
        int rc = amqp_simple_wait_frame_noblock(ab->pub, &frame, &tv);
        if (rc != AMQP_STATUS_OK)
            return nph_error_set(err, NPH_ERR_BACKEND, "RabbitMQ confirm: %s", amqp_error_string2(rc));
        if (frame.frame_type != AMQP_FRAME_METHOD)
            continue;
        if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *ack = frame.payload.method.decoded;
            if (ack->delivery_tag == tag || (ack->multiple && ack->delivery_tag >= tag))
                return NPH_OK;
        } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            return nph_error_set(err, NPH_ERR_CONFLICT, "RabbitMQ refused the message (nack)");
        } else if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                   frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
            return nph_error_set(err, NPH_ERR_BACKEND, "RabbitMQ closed the publishing channel");
        }
    }
}

/* Publish `body` and wait for the broker's confirm; through a broker restart
 * the message is sent again, for up to PUBLISH_PATIENCE_S. */
static nph_status publish(struct amqp_bus *ab, const char *exchange, const char *routing_key,
                          const char *declare_topic_name, const char *body, nph_error *err)
{
    time_t deadline = time(NULL) + PUBLISH_PATIENCE_S;
    unsigned backoff = BACKOFF_MIN_MS;
    nph_status st;
    pthread_mutex_lock(&ab->pub_lock);
    for (;;) {
        st = pub_connect(ab, err);
        if (st == NPH_OK && declare_topic_name)
            st = pub_declare(ab, declare_topic_name, err);
        if (st == NPH_OK) {
            amqp_basic_properties_t props = {
                ._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG,
                .content_type = amqp_cstring_bytes("application/json"),
                .delivery_mode = 2, /* persistent */
            };
            int rc = amqp_basic_publish(ab->pub, 1, amqp_cstring_bytes(exchange),
                                        amqp_cstring_bytes(routing_key), 0, 0, &props,
                                        amqp_cstring_bytes(body));
            uint64_t tag = ++ab->next_tag;
            st = rc == AMQP_STATUS_OK
                     ? wait_confirm(ab, tag, err)
                     : nph_error_set(err, NPH_ERR_BACKEND, "RabbitMQ publish: %s", amqp_error_string2(rc));
            if (st == NPH_OK || st == NPH_ERR_CONFLICT)
                break;
        }
        drop(&ab->pub);
        if (atomic_load(&ab->stopping) || time(NULL) >= deadline) {
            st = nph_error_set(err, NPH_ERR_TIMEOUT,
                               "RabbitMQ at %s:%d did not take the message within %d s: %s",
                               ab->host, ab->port, PUBLISH_PATIENCE_S, err ? err->message : "");
            break;
        }
        nph_warn("publishing to '%s' failed (%s); retrying in %u ms", routing_key,
                 err ? err->message : "", backoff);
        sleep_ms(backoff);
        backoff = next_backoff(backoff);
    }
    pthread_mutex_unlock(&ab->pub_lock);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Reading deliveries.                                                      */

/* One delivery or a timeout; false when the connection must be rebuilt. */
static bool consume_one(amqp_connection_state_t conn, amqp_envelope_t *env, bool *got)
{
    *got = false;
    amqp_maybe_release_buffers(conn);
    struct timeval tv = { 0, POLL_MS * 1000 };
    amqp_rpc_reply_t r = amqp_consume_message(conn, env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        *got = true;
        return true;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT)
        return true;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
        r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        /* A method frame instead of a delivery: read it; a close ends the connection. */
        amqp_frame_t frame;
        if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK)
            return false;
        return !(frame.frame_type == AMQP_FRAME_METHOD &&
                 (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                  frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD));
    }
    return false;
}

static void complete_wait(struct amqp_bus *ab, const char *msg_id, nph_status st,
                          json_object *result, const nph_error *err)
{
    pthread_mutex_lock(&ab->wait_lock);
    struct call_wait *w = ab->waits;
    while (w && strcmp(w->msg_id, msg_id) != 0)
        w = w->next;
    if (w && !w->done) {
        w->st = st;
        w->result = result;
        result = NULL;
        if (st != NPH_OK && err)
            w->err = *err;
        w->done = true;
        pthread_cond_signal(&w->cond);
    }
    pthread_mutex_unlock(&ab->wait_lock);
    json_object_put(result); /* a reply nobody waits for any more */
}

static nph_status reply_consumer_setup(struct amqp_bus *ab, amqp_connection_state_t conn,
                                       nph_error *err)
{
    amqp_queue_declare(conn, 1, amqp_cstring_bytes(ab->reply_queue), 0, 0, 1, 1, amqp_empty_table);
    nph_status st = reply_error(amqp_get_rpc_reply(conn), "reply queue declare", err);
    if (st == NPH_OK) {
        amqp_basic_consume(conn, 1, amqp_cstring_bytes(ab->reply_queue), amqp_empty_bytes, 0, 1, 1,
                           amqp_empty_table);
        st = reply_error(amqp_get_rpc_reply(conn), "reply consume", err);
    }
    return st;
}

static void *reply_main(void *opaque)
{
    struct amqp_bus *ab = opaque;
    amqp_connection_state_t conn = NULL;
    unsigned backoff = BACKOFF_MIN_MS;
    while (!atomic_load(&ab->stopping)) {
        nph_error err = NPH_ERROR_INIT;
        if (!conn) {
            if (connect_broker(ab, &conn, &err) != NPH_OK || reply_consumer_setup(ab, conn, &err) != NPH_OK) {
                drop(&conn);
                nph_warn("reply queue unavailable (%s); retrying in %u ms", err.message, backoff);
                sleep_ms(backoff);
                backoff = next_backoff(backoff);
                continue;
            }
            backoff = BACKOFF_MIN_MS;
            pthread_mutex_lock(&ab->wait_lock);
            ab->reply_ready = true;
            pthread_cond_broadcast(&ab->ready_cond);
            pthread_mutex_unlock(&ab->wait_lock);
        }
        amqp_envelope_t env;
        bool got = false;
        if (!consume_one(conn, &env, &got)) {
            nph_warn("reply connection lost; reconnecting");
            drop(&conn);
            continue;
        }
        if (!got)
            continue;
        char msg_id[40] = "";
        json_object *result = NULL;
        nph_status st = bus_decode_reply(env.message.body.bytes, env.message.body.len, msg_id,
                                         &result, &err);
        if (msg_id[0])
            complete_wait(ab, msg_id, st, result, &err);
        else
            nph_warn("dropped a reply without msg_id: %s", err.message);
        amqp_destroy_envelope(&env);
    }
    drop(&conn);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Serving a topic.                                                         */

static nph_status server_setup(struct amqp_server *as, amqp_connection_state_t conn,
                               nph_error *err)
{
    const char *topic = as->server->topic;
    char queue[300], fanout[320];
    queue_name(queue, sizeof(queue), topic);
    snprintf(fanout, sizeof(fanout), "%s.fanout", queue);
    nph_status st = declare_topic(conn, topic, err);
    amqp_queue_declare_ok_t *ok = NULL;
    if (st == NPH_OK) {
        ok = amqp_queue_declare(conn, 1, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
        st = reply_error(amqp_get_rpc_reply(conn), "fanout queue declare", err);
    }
    if (st == NPH_OK) {
        amqp_queue_bind(conn, 1, ok->queue, amqp_cstring_bytes(fanout), amqp_empty_bytes,
                        amqp_empty_table);
        st = reply_error(amqp_get_rpc_reply(conn), "fanout queue bind", err);
    }
    if (st == NPH_OK) {
        /* Enough in flight that acknowledging between polls never starves
         * the workers; what is unhandled at close goes back to the queue. */
        amqp_basic_qos(conn, 1, 0, (uint16_t)(as->n_workers * 32 < 64 ? 64 : as->n_workers * 32), 0);
        st = reply_error(amqp_get_rpc_reply(conn), "qos", err);
    }
    if (st == NPH_OK) {
        amqp_basic_consume(conn, 1, ok->queue, amqp_empty_bytes, 0, 0, 1, amqp_empty_table);
        st = reply_error(amqp_get_rpc_reply(conn), "fanout consume", err);
    }
    if (st == NPH_OK) {
        amqp_basic_consume(conn, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0,
                           amqp_empty_table);
        st = reply_error(amqp_get_rpc_reply(conn), "consume", err);
    }
    return st;
}

static void ack_finished(struct amqp_server *as, amqp_connection_state_t conn)
{
    pthread_mutex_lock(&as->lock);
    struct delivery *done = as->done;
    as->done = NULL;
    unsigned generation = as->generation;
    pthread_mutex_unlock(&as->lock);
    while (done) {
        struct delivery *next = done->next;
        /* A delivery of a connection since lost is the broker's again. */
        if (conn && done->generation == generation)
            amqp_basic_ack(conn, 1, done->tag, 0);
        free(done);
        done = next;
    }
}

static void accept_delivery(struct amqp_server *as, amqp_connection_state_t conn,
                            amqp_envelope_t *env)
{
    struct delivery *d = calloc(1, sizeof(*d));
    nph_error err = NPH_ERROR_INIT;
    if (!d || bus_decode_request(env->message.body.bytes, env->message.body.len, &d->msg, &err) != NPH_OK) {
        nph_warn("rejected a message on topic '%s': %s", as->server->topic,
                 d ? err.message : "out of memory");
        if (d)
            bus_msg_clear(&d->msg);
        free(d);
        amqp_basic_ack(conn, 1, env->delivery_tag, 0); /* never redeliver garbage */
        return;
    }
    d->tag = env->delivery_tag;
    pthread_mutex_lock(&as->lock);
    d->generation = as->generation;
    if (as->todo_tail)
        as->todo_tail->next = d;
    else
        as->todo = d;
    as->todo_tail = d;
    pthread_cond_signal(&as->work);
    pthread_mutex_unlock(&as->lock);
}

static void *consumer_main(void *opaque)
{
    struct amqp_server *as = opaque;
    amqp_connection_state_t conn = NULL;
    unsigned backoff = BACKOFF_MIN_MS;
    for (;;) {
        pthread_mutex_lock(&as->lock);
        bool stopping = as->stopping;
        pthread_mutex_unlock(&as->lock);
        if (stopping)
            break;
        nph_error err = NPH_ERROR_INIT;
        if (!conn) {
            if (connect_broker(as->ab, &conn, &err) != NPH_OK || server_setup(as, conn, &err) != NPH_OK) {
                drop(&conn);
                nph_warn("topic '%s' unavailable (%s); retrying in %u ms", as->server->topic,
                         err.message, backoff);
                sleep_ms(backoff);
                backoff = next_backoff(backoff);
                continue;
            }
            backoff = BACKOFF_MIN_MS;
            pthread_mutex_lock(&as->lock);
            as->generation++;
            pthread_mutex_unlock(&as->lock);
        }
        ack_finished(as, conn);
        amqp_envelope_t env;
        bool got = false;
        if (!consume_one(conn, &env, &got)) {
            nph_warn("connection for topic '%s' lost; reconnecting", as->server->topic);
            drop(&conn);
            continue;
        }
        if (got) {
            accept_delivery(as, conn, &env);
            amqp_destroy_envelope(&env);
            ack_finished(as, conn);
        }
    }
    ack_finished(as, conn);
    drop(&conn); /* deliveries never handled go back to the queue */
    return NULL;
}

static void *worker_main(void *opaque)
{
    struct amqp_server *as = opaque;
    pthread_mutex_lock(&as->lock);
    for (;;) {
        while (!as->todo && !as->stopping)
            pthread_cond_wait(&as->work, &as->lock);
        if (as->stopping)
            break;
        struct delivery *d = as->todo;
        as->todo = d->next;
        if (!as->todo)
            as->todo_tail = NULL;
        pthread_mutex_unlock(&as->lock);

        nph_error err = NPH_ERROR_INIT;
        bool is_call = d->msg.msg_id[0] && d->msg.reply_to[0];
        json_object *result = NULL;
        nph_status st = bus_dispatch(as->server, &d->msg, is_call ? &result : NULL, &err);
        if (is_call) {
            char *reply = bus_encode_reply(d->msg.msg_id, st, result, &err);
            nph_error perr = NPH_ERROR_INIT;
            if (!reply || publish(as->ab, "", d->msg.reply_to, NULL, reply, &perr) != NPH_OK)
                nph_warn("cannot reply to %s: %s", d->msg.reply_to, perr.message);
            free(reply);
            json_object_put(result);
        }
        bus_msg_clear(&d->msg);

        pthread_mutex_lock(&as->lock);
        d->next = as->done;
        as->done = d;
    }
    pthread_mutex_unlock(&as->lock);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The transport.                                                           */

static nph_status amqp_open(nph_bus *bus, const char *url, nph_error *err)
{
    char *copy = strdup(url);
    struct amqp_connection_info info;
    if (!copy || amqp_parse_url(copy, &info) != AMQP_STATUS_OK) {
        free(copy);
        return nph_error_set(err, NPH_ERR_INVALID,
                             "transport_url '%s' is not amqp://USER:PASSWORD@HOST:PORT/VHOST", url);
    }
    struct amqp_bus *ab = calloc(1, sizeof(*ab));
    if (!ab) {
        free(copy);
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    ab->host = strdup(info.host);
    ab->user = strdup(info.user);
    ab->password = strdup(info.password);
    ab->vhost = strdup(info.vhost && *info.vhost ? info.vhost : "/");
    ab->port = info.port;
    free(copy);
    pthread_mutex_init(&ab->pub_lock, NULL);
    pthread_mutex_init(&ab->wait_lock, NULL);
    pthread_cond_init(&ab->ready_cond, NULL);
    char uuid[NPH_UUID_STRLEN + 1];
    nph_uuid_generate(uuid);
    snprintf(ab->reply_queue, sizeof(ab->reply_queue), EXCHANGE ".reply.%s.%s", bus->name, uuid);
    bus->state = ab;
    /* Fail early, with the reason, when the broker is not there at all. */
    pthread_mutex_lock(&ab->pub_lock);
    nph_status st = pub_connect(ab, err);
    pthread_mutex_unlock(&ab->pub_lock);
    if (st == NPH_OK && pthread_create(&ab->reply_thread, NULL, reply_main, ab) == 0)
        ab->reply_started = true;
    else if (st == NPH_OK)
        st = nph_error_set(err, NPH_ERR_BACKEND, "cannot start the reply thread");
    if (st != NPH_OK)
        bus->transport->close(bus);
    return st;
}

static void stop_server(struct amqp_server *as)
{
    pthread_mutex_lock(&as->lock);
    as->stopping = true;
    pthread_cond_broadcast(&as->work);
    pthread_mutex_unlock(&as->lock);
    for (unsigned i = 0; i < as->n_workers; i++)
        pthread_join(as->workers[i], NULL);
    pthread_join(as->consumer, NULL);
    for (struct delivery *d = as->todo, *next; d; d = next) {
        next = d->next;
        bus_msg_clear(&d->msg);
        free(d);
    }
    pthread_mutex_destroy(&as->lock);
    pthread_cond_destroy(&as->work);
    free(as->workers);
    free(as);
}

static void amqp_close(nph_bus *bus)
{
    struct amqp_bus *ab = bus->state;
    if (!ab)
        return;
    for (struct bus_server *s = bus->servers; s; s = s->next) {
        if (s->transport)
            stop_server(s->transport);
        s->transport = NULL;
    }
    atomic_store(&ab->stopping, true);
    if (ab->reply_started)
        pthread_join(ab->reply_thread, NULL);
    pthread_mutex_lock(&ab->pub_lock);
    drop(&ab->pub);
    pthread_mutex_unlock(&ab->pub_lock);
    for (size_t i = 0; i < ab->n_declared; i++)
        free(ab->declared[i]);
    free(ab->declared);
    free(ab->host);
    free(ab->user);
    free(ab->password);
    free(ab->vhost);
    pthread_mutex_destroy(&ab->pub_lock);
    pthread_mutex_destroy(&ab->wait_lock);
    pthread_cond_destroy(&ab->ready_cond);
    free(ab);
    bus->state = NULL;
}

static nph_status amqp_serve(nph_bus *bus, struct bus_server *server, nph_error *err)
{
    struct amqp_server *as = calloc(1, sizeof(*as));
    if (as)
        as->workers = calloc(server->workers, sizeof(*as->workers));
    if (!as || !as->workers) {
        free(as);
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    as->server = server;
    as->ab = bus->state;
    pthread_mutex_init(&as->lock, NULL);
    pthread_cond_init(&as->work, NULL);
    for (unsigned i = 0; i < server->workers; i++)
        if (pthread_create(&as->workers[i], NULL, worker_main, as) == 0)
            as->n_workers++;
    if (as->n_workers == 0 || pthread_create(&as->consumer, NULL, consumer_main, as) != 0) {
        pthread_mutex_lock(&as->lock);
        as->stopping = true;
        pthread_cond_broadcast(&as->work);
        pthread_mutex_unlock(&as->lock);
        for (unsigned i = 0; i < as->n_workers; i++)
            pthread_join(as->workers[i], NULL);
        free(as->workers);
        free(as);
        return nph_error_set(err, NPH_ERR_BACKEND, "cannot start threads for topic '%s'",
                             server->topic);
    }
    server->transport = as;
    return NPH_OK;
}

/* Wait until the reply queue exists (a reply sent before would be lost). */
static bool wait_reply_ready(struct amqp_bus *ab, const struct timespec *until)
{
    pthread_mutex_lock(&ab->wait_lock);
    while (!ab->reply_ready)
        if (pthread_cond_timedwait(&ab->ready_cond, &ab->wait_lock, until) == ETIMEDOUT)
            break;
    bool ready = ab->reply_ready;
    pthread_mutex_unlock(&ab->wait_lock);
    return ready;
}

static nph_status amqp_call(struct amqp_bus *ab, const char *topic, struct bus_msg *msg,
                            const char *body, int timeout_ms, json_object **result, nph_error *err)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    if (!wait_reply_ready(ab, &until))
        return nph_error_set(err, NPH_ERR_TIMEOUT, "no reply queue on RabbitMQ within %d ms",
                             timeout_ms);
    struct call_wait w = { .done = false };
    snprintf(w.msg_id, sizeof(w.msg_id), "%s", msg->msg_id);
    pthread_cond_init(&w.cond, NULL);
    pthread_mutex_lock(&ab->wait_lock);
    w.next = ab->waits;
    ab->waits = &w;
    pthread_mutex_unlock(&ab->wait_lock);

    nph_status st = publish(ab, EXCHANGE, topic, topic, body, err);
    pthread_mutex_lock(&ab->wait_lock);
    while (st == NPH_OK && !w.done)
        if (pthread_cond_timedwait(&w.cond, &ab->wait_lock, &until) == ETIMEDOUT)
            break;
    for (struct call_wait **link = &ab->waits; *link; link = &(*link)->next) {
        if (*link == &w) {
            *link = w.next;
            break;
        }
    }
    pthread_mutex_unlock(&ab->wait_lock);
    pthread_cond_destroy(&w.cond);
    if (st != NPH_OK)
        return st;
    if (!w.done)
        return nph_error_set(err, NPH_ERR_TIMEOUT, "no reply to %s from topic '%s' within %d ms",
                             msg->method, topic, timeout_ms);
    if (w.st != NPH_OK && err)
        *err = w.err;
    *result = w.result;
    return w.st;
}

static nph_status amqp_send(nph_bus *bus, const char *topic, bool fanout, struct bus_msg *msg,
                            int timeout_ms, json_object **result, nph_error *err)
{
    struct amqp_bus *ab = bus->state;
    if (result)
        snprintf(msg->reply_to, sizeof(msg->reply_to), "%s", ab->reply_queue);
    char *body = bus_encode_request(msg);
    if (!body)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    nph_status st;
    if (result) {
        st = amqp_call(ab, topic, msg, body, timeout_ms, result, err);
    } else if (fanout) {
        char exchange[320];
        queue_name(exchange, sizeof(exchange), topic);
        strncat(exchange, ".fanout", sizeof(exchange) - strlen(exchange) - 1);
        st = publish(ab, exchange, "", topic, body, err);
    } else {
        st = publish(ab, EXCHANGE, topic, topic, body, err);
    }
    free(body);
    return st;
}

const struct bus_transport nph_bus_amqp = {
    .scheme = "amqp",
    .open = amqp_open,
    .close = amqp_close,
    .serve = amqp_serve,
    .send = amqp_send,
};
