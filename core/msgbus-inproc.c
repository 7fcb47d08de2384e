/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * inproc://: every service in one process.  A process-wide registry of
 * topics, so the buses each service of the all-in-one opens meet.  Each
 * topic has one queue its servers' workers share (two conductors share the
 * load; a cast sent before any server exists waits for one) and each server
 * a fanout queue.  Arguments are deep-copied on send, so a handler never
 * shares an object with the sender's thread.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "error.h"
#include "log.h"
#include "msgbus-internal.h"

NPH_LOG_INIT("core.bus.inproc");

/* A caller waiting for a reply; freed by whichever of caller and worker
 * lets go last. */
struct waiter {
    pthread_cond_t cond;
    bool done;
    int refs;
    nph_status st;
    json_object *result;
    nph_error err;
};

struct qmsg {
    struct bus_msg msg;
    struct waiter *waiter;
    struct qmsg *next;
};

struct queue {
    struct qmsg *head, *tail;
};

struct topic {
    char *name;
    struct queue shared;
    pthread_cond_t cond;      /* work arrived for a server of this topic */
    struct iserver *servers;
    struct topic *next;
};

struct iserver {
    struct bus_server *server;
    struct topic *topic;
    struct queue fanout;
    pthread_t *threads;
    unsigned n_threads;
    bool stopping;
    struct iserver *next;     /* the topic's servers */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct topic *topics;

static void push(struct queue *q, struct qmsg *m)
{
    m->next = NULL;
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
}

static struct qmsg *pop(struct queue *q)
{
    struct qmsg *m = q->head;
    if (m) {
        q->head = m->next;
        if (!q->head)
            q->tail = NULL;
    }
    return m;
}

/* Caller holds registry_lock. */
static void waiter_release(struct waiter *w)
{
    if (--w->refs == 0) {
        pthread_cond_destroy(&w->cond);
        json_object_put(w->result);
        free(w);
    }
}

static void qmsg_free(struct qmsg *m)
{
    bus_msg_clear(&m->msg);
    free(m);
}

/* Caller holds registry_lock. */
static struct topic *topic_get(const char *name)
{
    for (struct topic *t = topics; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    struct topic *t = calloc(1, sizeof(*t));
    if (!t || !(t->name = strdup(name))) {
        free(t);
        return NULL;
    }
    pthread_cond_init(&t->cond, NULL);
    t->next = topics;
    topics = t;
    return t;
}

static void complete(struct waiter *w, nph_status st, json_object *result, const nph_error *err)
{
    pthread_mutex_lock(&registry_lock);
    w->st = st;
    w->result = result;
    if (st != NPH_OK && err)
        w->err = *err;
    w->done = true;
    pthread_cond_signal(&w->cond);
    waiter_release(w);
    pthread_mutex_unlock(&registry_lock);
}

static void *worker_main(void *opaque)
{
    struct iserver *is = opaque;
    pthread_mutex_lock(&registry_lock);
    while (!is->stopping) {
        struct qmsg *m = pop(&is->fanout);
        if (!m)
            m = pop(&is->topic->shared);
        if (!m) {
            pthread_cond_wait(&is->topic->cond, &registry_lock);
            continue;
        }
        pthread_mutex_unlock(&registry_lock);
        nph_error err = NPH_ERROR_INIT;
        if (m->waiter) {
            json_object *result = NULL;
            nph_status st = bus_dispatch(is->server, &m->msg, &result, &err);
            complete(m->waiter, st, result, &err);
        } else {
            bus_dispatch(is->server, &m->msg, NULL, &err);
        }
        qmsg_free(m);
        pthread_mutex_lock(&registry_lock);
    }
    pthread_mutex_unlock(&registry_lock);
    return NULL;
}

static nph_status inproc_open(nph_bus *bus, const char *url, nph_error *err)
{
    return NPH_OK;
}

static nph_status inproc_serve(nph_bus *bus, struct bus_server *server, nph_error *err)
{
    struct iserver *is = calloc(1, sizeof(*is));
    if (is)
        is->threads = calloc(server->workers, sizeof(*is->threads));
    if (!is || !is->threads) {
        free(is);
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    is->server = server;
    server->transport = is;
    pthread_mutex_lock(&registry_lock);
    is->topic = topic_get(server->topic);
    if (!is->topic) {
        pthread_mutex_unlock(&registry_lock);
        free(is->threads);
        free(is);
        server->transport = NULL;
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    is->next = is->topic->servers;
    is->topic->servers = is;
    for (unsigned i = 0; i < server->workers; i++) {
        if (pthread_create(&is->threads[i], NULL, worker_main, is) != 0)
            break;
        is->n_threads++;
    }
    /* Work that waited for a server can start now. */
    pthread_cond_broadcast(&is->topic->cond);
    pthread_mutex_unlock(&registry_lock);
    return is->n_threads ? NPH_OK
                         : nph_error_set(err, NPH_ERR_BACKEND, "cannot start worker threads");
}

static void unlink_server(struct iserver *is)
{
    for (struct iserver **link = &is->topic->servers; *link; link = &(*link)->next) {
        if (*link == is) {
            *link = is->next;
            break;
        }
    }
}

static void inproc_close(nph_bus *bus)
{
    pthread_mutex_lock(&registry_lock);
    for (struct bus_server *s = bus->servers; s; s = s->next) {
        struct iserver *is = s->transport;
        if (!is)
            continue;
        is->stopping = true;
        pthread_cond_broadcast(&is->topic->cond);
    }
    pthread_mutex_unlock(&registry_lock);
    /* Handlers in progress finish; queued work stays for other servers. */
    for (struct bus_server *s = bus->servers; s; s = s->next) {
        struct iserver *is = s->transport;
        if (!is)
            continue;
        for (unsigned i = 0; i < is->n_threads; i++)
            pthread_join(is->threads[i], NULL);
        pthread_mutex_lock(&registry_lock);
        unlink_server(is);
        /* Wake the topic's other servers for whatever work remains queued. */
        pthread_cond_broadcast(&is->topic->cond);
        for (struct qmsg *m; (m = pop(&is->fanout));) {
            if (m->waiter)
                waiter_release(m->waiter);
            qmsg_free(m);
        }
        pthread_mutex_unlock(&registry_lock);
        free(is->threads);
        free(is);
        s->transport = NULL;
    }
}

static struct qmsg *copy_msg(const struct bus_msg *msg)
{
    struct qmsg *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->msg = *msg;
    m->msg.method = strdup(msg->method);
    m->msg.args = NULL;
    if (!m->msg.method || json_object_deep_copy(msg->args, &m->msg.args, NULL) != 0) {
        qmsg_free(m);
        return NULL;
    }
    return m;
}

static nph_status wait_reply(struct waiter *w, const char *topic, const char *method,
                             int timeout_ms, json_object **result, nph_error *err)
{
    struct timespec until = nph_clock_deadline(timeout_ms);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cond, &registry_lock, &until) == ETIMEDOUT)
            break;
    nph_status st;
    if (!w->done) {
        st = nph_error_set(err, NPH_ERR_TIMEOUT, "no reply to %s from topic '%s' within %d ms",
                           method, topic, timeout_ms);
    } else {
        st = w->st;
        if (st == NPH_OK) {
            *result = w->result;
            w->result = NULL;
        } else if (err) {
            *err = w->err;
        }
    }
    waiter_release(w);
    return st;
}

static nph_status inproc_send(nph_bus *bus, const char *topic, bool fanout, struct bus_msg *msg,
                              int timeout_ms, json_object **result, nph_error *err)
{
    struct waiter *w = NULL;
    if (result) {
        w = calloc(1, sizeof(*w));
        if (!w)
            return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
        pthread_cond_init(&w->cond, NULL);
        w->refs = 2; /* the caller and the message */
    }
    pthread_mutex_lock(&registry_lock);
    struct topic *t = topic_get(topic);
    nph_status st = t ? NPH_OK : nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    if (st == NPH_OK && fanout) {
        for (struct iserver *is = t->servers; is && st == NPH_OK; is = is->next) {
            struct qmsg *m = copy_msg(msg);
            if (!m)
                st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
            else
                push(&is->fanout, m);
        }
        pthread_cond_broadcast(&t->cond);
    } else if (st == NPH_OK) {
        struct qmsg *m = copy_msg(msg);
        if (!m) {
            st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
        } else {
            m->waiter = w;
            push(&t->shared, m);
            pthread_cond_signal(&t->cond);
        }
    }
    if (w && st != NPH_OK) {
        w->refs = 1;
        waiter_release(w);
        w = NULL;
    }
    if (w)
        st = wait_reply(w, topic, msg->method, timeout_ms, result, err);
    pthread_mutex_unlock(&registry_lock);
    return st;
}

const struct bus_transport nph_bus_inproc = {
    .scheme = "inproc",
    .open = inproc_open,
    .close = inproc_close,
    .serve = inproc_serve,
    .send = inproc_send,
};
