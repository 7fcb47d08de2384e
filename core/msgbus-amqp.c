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
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "log.h"
#include "msgbus-internal.h"
#include "uuid.h"

NPH_LOG_INIT("core.bus.amqp");

#define EXCHANGE "nephele"
#define PUBLISH_PATIENCE_S 30 /* how long close() waits to flush what is unconfirmed */
#define PUBLISH_WINDOW 4096   /* messages in flight before senders wait */
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

/* A message for the publisher thread: waiting to go out, or out and
 * waiting for the broker's confirm. */
struct outgoing {
    char *exchange, *routing_key, *declare_topic, *body;
    uint64_t tag;     /* delivery tag on the current connection, once published */
    struct outgoing *next;
};

struct amqp_bus {
    char *host, *user, *password, *vhost;
    int port;
    atomic_bool stopping;

    /* The publisher: one thread owns the publishing connection; senders hand
     * it messages through the outbox.  Up to PUBLISH_WINDOW messages are in
     * flight; unconfirmed ones are sent again after a reconnection. */
    pthread_mutex_t pub_lock; /* guards the lists, in_flight, pub_stop */
    pthread_cond_t pub_cond;  /* work for the publisher, or room in the window */
    struct outgoing *outbox, *outbox_tail, *unconfirmed, *unconfirmed_tail;
    size_t in_flight;
    bool pub_stop;
    int wake_fd; /* eventfd: a message entered an empty outbox */
    pthread_t pub_thread;
    bool pub_started;
    /* Owned by the publisher thread. */
    amqp_connection_state_t pub;
    uint64_t next_tag;
    char **declared;          /* topics whose queue the publisher declared */
    size_t n_declared;

    char reply_queue[300];
    pthread_t reply_thread;
    bool reply_started;
    pthread_mutex_t wait_lock; /* guards waits, reply_ready, closing */
    pthread_cond_t ready_cond;
    bool reply_ready;
    bool closing;              /* callers stop waiting for replies */
    struct call_wait *waits;
};

struct delivery {
    uint64_t tag;
    unsigned generation;
    bool finished;             /* the handler ran; guarded by the server lock */
    struct bus_msg msg;
    struct delivery *next;     /* in the todo list */
    struct delivery *next_out; /* in the outstanding list (tag order) */
};

struct amqp_server {
    struct bus_server *server;
    struct amqp_bus *ab;
    pthread_t consumer;
    bool consumer_started;
    pthread_t *workers;
    unsigned n_workers;
    pthread_mutex_t lock;
    pthread_cond_t work;
    struct delivery *todo, *todo_tail;
    /* Every delivery not yet acknowledged, in tag order: the finished
     * prefix is acknowledged with one `multiple` ack. */
    struct delivery *outstanding, *outstanding_tail;
    unsigned generation;
    bool stopping;          /* workers: finish the handler at hand, then exit */
    bool consumer_stopping; /* consumer: set once the workers are gone */
    bool consuming;         /* the broker has our consumer: serve may return */
    pthread_cond_t consuming_cond;
    int wake_fd;            /* eventfd: the oldest outstanding delivery finished */
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

/* Publisher thread: (re)connect in confirm mode. */
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

/* Publisher thread: declare a topic's queue once per connection. */
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

static void outgoing_free(struct outgoing *m)
{
    free(m->exchange);
    free(m->routing_key);
    free(m->declare_topic);
    free(m->body);
    free(m);
}

static void list_append(struct outgoing **head, struct outgoing **tail, struct outgoing *m)
{
    m->next = NULL;
    if (*tail)
        (*tail)->next = m;
    else
        *head = m;
    *tail = m;
}

/* Caller holds pub_lock: a lost connection sends the unconfirmed again, first. */
static void requeue_unconfirmed(struct amqp_bus *ab)
{
    if (!ab->unconfirmed)
        return;
    ab->unconfirmed_tail->next = ab->outbox;
    if (!ab->outbox)
        ab->outbox_tail = ab->unconfirmed_tail;
    ab->outbox = ab->unconfirmed;
    ab->unconfirmed = ab->unconfirmed_tail = NULL;
}

/* Caller holds pub_lock: the broker confirmed `tag` (and all before it).
 * The unconfirmed list is in tag order, so the match is at its head. */
static void confirmed(struct amqp_bus *ab, uint64_t tag, bool multiple)
{
    struct outgoing **link = &ab->unconfirmed, *prev = NULL;
    while (*link && (*link)->tag <= tag) {
        struct outgoing *m = *link;
        if (m->tag == tag || multiple) {
            *link = m->next;
            if (ab->unconfirmed_tail == m)
                ab->unconfirmed_tail = prev;
            outgoing_free(m);
            ab->in_flight--;
        } else {
            prev = m;
            link = &m->next;
        }
    }
    pthread_cond_broadcast(&ab->pub_cond);
}

/* Publisher thread, without the lock: send a batch; returns how many went. */
static size_t publish_batch(struct amqp_bus *ab, struct outgoing *batch, nph_error *err)
{
    size_t sent = 0;
    for (struct outgoing *m = batch; m; m = m->next) {
        if (m->declare_topic && pub_declare(ab, m->declare_topic, err) != NPH_OK)
            break;
        amqp_basic_properties_t props = {
            ._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG,
            .content_type = amqp_cstring_bytes("application/json"),
            .delivery_mode = 2, /* persistent */
        };
        int rc = amqp_basic_publish(ab->pub, 1, amqp_cstring_bytes(m->exchange),
                                    amqp_cstring_bytes(m->routing_key), 0, 0, &props,
                                    amqp_cstring_bytes(m->body));
        if (rc != AMQP_STATUS_OK) {
            nph_error_set(err, NPH_ERR_BACKEND, "RabbitMQ publish: %s", amqp_error_string2(rc));
            break;
        }
        m->tag = ++ab->next_tag;
        sent++;
    }
    return sent;
}

/* Wait up to POLL_MS for the connection to have something to read, or for
 * `wake_fd` (an eventfd; -1 for none) to be written; true when there is
 * something to read. */
static bool wait_readable(amqp_connection_state_t conn, int wake_fd)
{
    if (amqp_frames_enqueued(conn) || amqp_data_in_buffer(conn))
        return true;
    struct pollfd fds[2] = {
        { .fd = amqp_get_sockfd(conn), .events = POLLIN },
        { .fd = wake_fd, .events = POLLIN },
    };
    return poll(fds, wake_fd >= 0 ? 2 : 1, POLL_MS) > 0 &&
           (fds[0].revents & (POLLIN | POLLHUP | POLLERR));
}

/* Forget earlier wake-ups of an eventfd. */
static void clear_wakeups(int wake_fd)
{
    uint64_t count;
    while (read(wake_fd, &count, sizeof(count)) > 0)
        ;
}

static void wake(int wake_fd)
{
    uint64_t one = 1;
    if (write(wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        nph_warn("cannot wake a bus thread: %s", strerror(errno));
}

/* Publisher thread, without the lock: wait for a frame (confirms) or for a
 * new message in the outbox, whichever comes first; false when the
 * connection is lost. */
static bool read_confirms(struct amqp_bus *ab)
{
    if (!wait_readable(ab->pub, ab->wake_fd))
        return true; /* woken for new messages, or a quiet moment */
    amqp_frame_t frame;
    struct timeval tv = { 0, 0 };
    int rc = amqp_simple_wait_frame_noblock(ab->pub, &frame, &tv);
    if (rc == AMQP_STATUS_TIMEOUT)
        return true;
    if (rc != AMQP_STATUS_OK || frame.frame_type != AMQP_FRAME_METHOD)
        return rc == AMQP_STATUS_OK;
    amqp_method_number_t id = frame.payload.method.id;
    pthread_mutex_lock(&ab->pub_lock);
    if (id == AMQP_BASIC_ACK_METHOD) {
        amqp_basic_ack_t *ack = frame.payload.method.decoded;
        confirmed(ab, ack->delivery_tag, ack->multiple);
    } else if (id == AMQP_BASIC_NACK_METHOD) {
        amqp_basic_nack_t *nack = frame.payload.method.decoded;
        nph_err("RabbitMQ refused message %llu%s; dropping it",
                (unsigned long long)nack->delivery_tag, nack->multiple ? " and those before" : "");
        confirmed(ab, nack->delivery_tag, nack->multiple);
    }
    pthread_mutex_unlock(&ab->pub_lock);
    return id != AMQP_CHANNEL_CLOSE_METHOD && id != AMQP_CONNECTION_CLOSE_METHOD;
}

/* Caller holds pub_lock: after the flush deadline, give up what is left. */
static void abandon_all(struct amqp_bus *ab)
{
    requeue_unconfirmed(ab);
    size_t n = 0;
    for (struct outgoing *m = ab->outbox, *next; m; m = next, n++) {
        next = m->next;
        outgoing_free(m);
    }
    if (n)
        nph_err("%zu message(s) never reached RabbitMQ at %s:%d before shutdown", n, ab->host,
                ab->port);
    ab->outbox = ab->outbox_tail = NULL;
    ab->in_flight = 0;
}

static void *publisher_main(void *opaque)
{
    struct amqp_bus *ab = opaque;
    unsigned backoff = BACKOFF_MIN_MS;
    time_t flush_deadline = 0;
    pthread_mutex_lock(&ab->pub_lock);
    for (;;) {
        if (ab->pub_stop && !flush_deadline)
            flush_deadline = time(NULL) + PUBLISH_PATIENCE_S;
        if (ab->pub_stop && (ab->in_flight == 0 || time(NULL) >= flush_deadline)) {
            abandon_all(ab);
            break;
        }
        nph_error err = NPH_ERROR_INIT;
        if (!ab->pub) {
            requeue_unconfirmed(ab);
            if (!ab->outbox) {
                pthread_cond_wait(&ab->pub_cond, &ab->pub_lock);
                continue;
            }
            pthread_mutex_unlock(&ab->pub_lock);
            nph_status st = pub_connect(ab, &err);
            if (st != NPH_OK) {
                nph_warn("cannot publish (%s); retrying in %u ms", err.message, backoff);
                nph_clock_sleep_ms(backoff);
                backoff = next_backoff(backoff);
            } else {
                backoff = BACKOFF_MIN_MS;
            }
            pthread_mutex_lock(&ab->pub_lock);
            continue;
        }
        if (ab->outbox) {
            clear_wakeups(ab->wake_fd);
            struct outgoing *batch = ab->outbox;
            ab->outbox = ab->outbox_tail = NULL;
            pthread_mutex_unlock(&ab->pub_lock);
            size_t sent = publish_batch(ab, batch, &err);
            pthread_mutex_lock(&ab->pub_lock);
            struct outgoing *m = batch;
            for (size_t i = 0; i < sent; i++) {
                struct outgoing *next = m->next;
                list_append(&ab->unconfirmed, &ab->unconfirmed_tail, m);
                m = next;
            }
            if (m) { /* the connection broke: what did not go goes first next time */
                struct outgoing *rest_tail = m;
                while (rest_tail->next)
                    rest_tail = rest_tail->next;
                rest_tail->next = ab->outbox;
                if (!ab->outbox)
                    ab->outbox_tail = rest_tail;
                ab->outbox = m;
                nph_warn("publishing failed (%s); reconnecting", err.message);
                pthread_mutex_unlock(&ab->pub_lock);
                drop(&ab->pub);
                pthread_mutex_lock(&ab->pub_lock);
            }
            continue;
        }
        if (ab->unconfirmed) {
            pthread_mutex_unlock(&ab->pub_lock);
            bool alive = read_confirms(ab);
            if (!alive) {
                nph_warn("publishing connection lost; reconnecting and sending the unconfirmed again");
                drop(&ab->pub);
            }
            pthread_mutex_lock(&ab->pub_lock);
            continue;
        }
        pthread_cond_wait(&ab->pub_cond, &ab->pub_lock);
    }
    pthread_mutex_unlock(&ab->pub_lock);
    drop(&ab->pub);
    return NULL;
}

/* Hand a message to the publisher.  Returns once it is in the window (which
 * is sent again after a reconnection until the broker confirms it); waits
 * while the window is full. */
static nph_status publish(struct amqp_bus *ab, const char *exchange, const char *routing_key,
                          const char *declare_topic_name, const char *body, nph_error *err)
{
    struct outgoing *m = calloc(1, sizeof(*m));
    if (m) {
        m->exchange = strdup(exchange);
        m->routing_key = strdup(routing_key);
        m->declare_topic = declare_topic_name ? strdup(declare_topic_name) : NULL;
        m->body = strdup(body);
    }
    if (!m || !m->exchange || !m->routing_key || !m->body ||
        (declare_topic_name && !m->declare_topic)) {
        if (m)
            outgoing_free(m);
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    pthread_mutex_lock(&ab->pub_lock);
    while (ab->in_flight >= PUBLISH_WINDOW && !ab->pub_stop)
        pthread_cond_wait(&ab->pub_cond, &ab->pub_lock);
    nph_status st = NPH_OK;
    if (ab->pub_stop) {
        outgoing_free(m);
        st = nph_error_set(err, NPH_ERR_CONFLICT, "the bus is closing");
    } else {
        bool was_empty = !ab->outbox;
        list_append(&ab->outbox, &ab->outbox_tail, m);
        ab->in_flight++;
        pthread_cond_broadcast(&ab->pub_cond);
        if (was_empty) /* the publisher may be polling for confirms */
            wake(ab->wake_fd);
    }
    pthread_mutex_unlock(&ab->pub_lock);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Reading deliveries.                                                      */

/* One delivery, a timeout or a wake-up; false when the connection must be rebuilt. */
static bool consume_one(amqp_connection_state_t conn, int wake_fd, amqp_envelope_t *env,
                        bool *got)
{
    *got = false;
    amqp_maybe_release_buffers(conn);
    if (!wait_readable(conn, wake_fd))
        return true;
    struct timeval tv = { 0, 0 };
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
                nph_clock_sleep_ms(backoff);
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
        if (!consume_one(conn, -1, &env, &got)) {
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
    struct delivery *done = as->outstanding, *last = NULL;
    while (as->outstanding && as->outstanding->finished) {
        last = as->outstanding;
        as->outstanding = last->next_out;
    }
    if (!as->outstanding)
        as->outstanding_tail = NULL;
    unsigned generation = as->generation;
    pthread_mutex_unlock(&as->lock);
    if (!last)
        return;
    last->next_out = NULL;
    /* Deliveries of a connection since lost are the broker's again; they
     * come first, as the list is in arrival order. */
    uint64_t ack_upto = 0;
    for (struct delivery *d = done, *next; d; d = next) {
        next = d->next_out;
        if (d->generation == generation)
            ack_upto = d->tag;
        free(d);
    }
    if (conn && ack_upto)
        amqp_basic_ack(conn, 1, ack_upto, 1);
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
    if (as->outstanding_tail)
        as->outstanding_tail->next_out = d;
    else
        as->outstanding = d;
    as->outstanding_tail = d;
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
        bool stopping = as->consumer_stopping;
        pthread_mutex_unlock(&as->lock);
        if (stopping)
            break;
        nph_error err = NPH_ERROR_INIT;
        if (!conn) {
            if (connect_broker(as->ab, &conn, &err) != NPH_OK || server_setup(as, conn, &err) != NPH_OK) {
                drop(&conn);
                nph_warn("topic '%s' unavailable (%s); retrying in %u ms", as->server->topic,
                         err.message, backoff);
                nph_clock_sleep_ms(backoff);
                backoff = next_backoff(backoff);
                continue;
            }
            pthread_mutex_lock(&as->lock);
            as->consuming = true;
            pthread_cond_broadcast(&as->consuming_cond);
            pthread_mutex_unlock(&as->lock);
            backoff = BACKOFF_MIN_MS;
            pthread_mutex_lock(&as->lock);
            as->generation++;
            pthread_mutex_unlock(&as->lock);
        }
        clear_wakeups(as->wake_fd);
        ack_finished(as, conn);
        amqp_envelope_t env;
        bool got = false;
        if (!consume_one(conn, as->wake_fd, &env, &got)) {
            nph_warn("connection for topic '%s' lost; reconnecting", as->server->topic);
            drop(&conn);
            continue;
        }
        if (got) {
            accept_delivery(as, conn, &env);
            amqp_destroy_envelope(&env);
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
        d->finished = true;
        if (d == as->outstanding) /* something to acknowledge now */
            wake(as->wake_fd);
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
    pthread_cond_init(&ab->pub_cond, NULL);
    ab->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&ab->wait_lock, NULL);
    pthread_cond_init(&ab->ready_cond, NULL);
    char uuid[NPH_UUID_STRLEN + 1];
    nph_uuid_generate(uuid);
    snprintf(ab->reply_queue, sizeof(ab->reply_queue), EXCHANGE ".reply.%s.%s", bus->name, uuid);
    bus->state = ab;
    /* Fail early, with the reason, when the broker is not there at all; the
     * publisher thread takes over this first connection. */
    nph_status st = ab->wake_fd < 0
        ? nph_error_set(err, NPH_ERR_BACKEND, "eventfd: %s", strerror(errno))
        : pub_connect(ab, err);
    if (st == NPH_OK && pthread_create(&ab->pub_thread, NULL, publisher_main, ab) == 0)
        ab->pub_started = true;
    else if (st == NPH_OK)
        st = nph_error_set(err, NPH_ERR_BACKEND, "cannot start the publisher thread");
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
    /* The consumer outlives the workers so that it acknowledges what they
     * finished; what never ran goes back to the queue with the connection. */
    pthread_mutex_lock(&as->lock);
    as->consumer_stopping = true;
    pthread_mutex_unlock(&as->lock);
    if (as->consumer_started)
        pthread_join(as->consumer, NULL);
    for (struct delivery *d = as->outstanding, *next; d; d = next) {
        next = d->next_out;
        bus_msg_clear(&d->msg);
        free(d);
    }
    pthread_mutex_destroy(&as->lock);
    pthread_cond_destroy(&as->work);
    pthread_cond_destroy(&as->consuming_cond);
    if (as->wake_fd >= 0)
        close(as->wake_fd);
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
    /* The handlers are done: whoever still waits for a reply (a periodic
     * task, say) gives up now rather than at its timeout. */
    pthread_mutex_lock(&ab->wait_lock);
    ab->closing = true;
    for (struct call_wait *w = ab->waits; w; w = w->next)
        pthread_cond_signal(&w->cond);
    pthread_cond_broadcast(&ab->ready_cond);
    pthread_mutex_unlock(&ab->wait_lock);
    /* Flush what is in flight (up to PUBLISH_PATIENCE_S), then stop. */
    pthread_mutex_lock(&ab->pub_lock);
    ab->pub_stop = true;
    pthread_cond_broadcast(&ab->pub_cond);
    pthread_mutex_unlock(&ab->pub_lock);
    if (ab->pub_started)
        pthread_join(ab->pub_thread, NULL);
    drop(&ab->pub);
    atomic_store(&ab->stopping, true);
    if (ab->reply_started)
        pthread_join(ab->reply_thread, NULL);
    for (size_t i = 0; i < ab->n_declared; i++)
        free(ab->declared[i]);
    free(ab->declared);
    free(ab->host);
    free(ab->user);
    free(ab->password);
    free(ab->vhost);
    pthread_mutex_destroy(&ab->pub_lock);
    pthread_cond_destroy(&ab->pub_cond);
    if (ab->wake_fd >= 0)
        close(ab->wake_fd);
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
    pthread_cond_init(&as->consuming_cond, NULL);
    as->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    for (unsigned i = 0; as->wake_fd >= 0 && i < server->workers; i++)
        if (pthread_create(&as->workers[i], NULL, worker_main, as) == 0)
            as->n_workers++;
    if (as->n_workers > 0 && pthread_create(&as->consumer, NULL, consumer_main, as) == 0)
        as->consumer_started = true;
    if (!as->consumer_started) {
        stop_server(as);
        return nph_error_set(err, NPH_ERR_BACKEND, "cannot start threads for topic '%s'",
                             server->topic);
    }
    server->transport = as;
    /* "Serving" means the broker delivers to us: wait (a while) for the
     * consumer, so a daemon that says it is ready takes its share at once. */
    struct timespec until = nph_clock_deadline(10000);
    pthread_mutex_lock(&as->lock);
    while (!as->consuming)
        if (pthread_cond_timedwait(&as->consuming_cond, &as->lock, &until) == ETIMEDOUT)
            break;
    bool consuming = as->consuming;
    pthread_mutex_unlock(&as->lock);
    if (!consuming)
        nph_warn("topic '%s': no consumer on RabbitMQ yet; it keeps trying", server->topic);
    return NPH_OK;
}

/* Wait until the reply queue exists (a reply sent before would be lost). */
static bool wait_reply_ready(struct amqp_bus *ab, const struct timespec *until)
{
    pthread_mutex_lock(&ab->wait_lock);
    while (!ab->reply_ready && !ab->closing)
        if (pthread_cond_timedwait(&ab->ready_cond, &ab->wait_lock, until) == ETIMEDOUT)
            break;
    bool ready = ab->reply_ready;
    pthread_mutex_unlock(&ab->wait_lock);
    return ready;
}

static nph_status amqp_call(struct amqp_bus *ab, const char *topic, struct bus_msg *msg,
                            const char *body, int timeout_ms, json_object **result, nph_error *err)
{
    struct timespec until = nph_clock_deadline(timeout_ms);
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
    while (st == NPH_OK && !w.done && !ab->closing)
        if (pthread_cond_timedwait(&w.cond, &ab->wait_lock, &until) == ETIMEDOUT)
            break;
    bool closing = ab->closing;
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
    if (!w.done && closing)
        return nph_error_set(err, NPH_ERR_BACKEND, "the bus closed before %s from topic '%s' "
                                                   "was answered",
                             msg->method, topic);
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
