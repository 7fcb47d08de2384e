/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The message bus's transport contract and the envelope shared by the
 * transports (msgbus-inproc.c, msgbus-amqp.c). */
#ifndef NPH_MSGBUS_INTERNAL_H
#define NPH_MSGBUS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include "bus.h"

#define NPH_BUS_ENVELOPE_VERSION 1

/* A decoded request: what a handler needs. */
struct bus_msg {
    char *method;
    json_object *args;   /* owned */
    char request_id[80];
    char msg_id[40];     /* calls only */
    char reply_to[300];  /* calls only: where the reply goes (AMQP) */
    void *reply_waiter;  /* calls only: the waiting caller (inproc) */
};

/* A server of a topic, as nph_bus_serve registered it. */
struct bus_server {
    nph_bus *bus;
    char *topic;
    nph_bus_handler handler;
    void *opaque;
    unsigned workers;
    void *transport;          /* the transport's state for this server */
    struct bus_server *next;  /* the bus's servers */
};

struct bus_transport {
    const char *scheme;
    nph_status (*open)(nph_bus *bus, const char *url, nph_error *err);
    /* Stop every server of this bus, letting running handlers finish. */
    void (*close)(nph_bus *bus);
    nph_status (*serve)(nph_bus *bus, struct bus_server *server, nph_error *err);
    /* Deliver a request to the topic (or every server of it for fanout).
     * For a call, wait up to timeout_ms and fill *result / err. */
    nph_status (*send)(nph_bus *bus, const char *topic, bool fanout, struct bus_msg *msg,
                       int timeout_ms, json_object **result, nph_error *err);
};

struct nph_bus {
    const struct bus_transport *transport;
    char *name;
    void *state;                /* the transport's */
    pthread_mutex_t lock;
    struct bus_server *servers;
};

extern const struct bus_transport nph_bus_inproc;
extern const struct bus_transport nph_bus_amqp;

/* msgbus.c: what every transport shares. */
/* Run the handler of `server` on `msg` with the message's request id as the
 * thread's; for calls fill the reply.  Returns the handler's status. */
nph_status bus_dispatch(struct bus_server *server, struct bus_msg *msg, json_object **result,
                        nph_error *err);
/* The envelope text of a request, and back; decoding rejects (with a log
 * line naming the reason) anything malformed or of another version. */
char *bus_encode_request(const struct bus_msg *msg);
nph_status bus_decode_request(const char *text, size_t len, struct bus_msg *msg, nph_error *err);
char *bus_encode_reply(const char *msg_id, nph_status st, json_object *result,
                       const nph_error *err);
nph_status bus_decode_reply(const char *text, size_t len, char msg_id[40], json_object **result,
                            nph_error *err);
void bus_msg_clear(struct bus_msg *msg);

#endif
