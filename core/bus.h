/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The message bus between services: RPC `call` (request and reply, with a
 * timeout) and `cast` (fire and forget), addressed by topic: "scheduler",
 * "conductor", "compute.<host>", plus fanout to every server of a topic.
 *
 * Transports, chosen by URL ([DEFAULT] transport_url, as in nova.conf):
 *     inproc://              every service in one process (the all-in-one)
 *     amqp://user:pass@127.0.0.1:5672/vhost   RabbitMQ through rabbitmq-c
 *
 * Messages are JSON envelopes:
 *     {"v": 1, "method": "...", "args": {...}, "request_id": "req-...",
 *      "msg_id": "...", "reply_to": "..."}          (the last two for calls)
 * and replies {"v": 1, "msg_id": "...", "result": ...} or
 *     {"v": 1, "msg_id": "...", "error": {"code": N, "message": "..."}}.
 * A message of an unknown version or that does not parse is rejected with a
 * log line and never reaches a handler.  The request id travels with every
 * message and is set as the thread's log request id while a handler runs.
 *
 * Over AMQP: one durable topic exchange ("nephele"), a durable queue per
 * topic shared by its servers (so two conductors share the load), a fanout
 * exchange per topic, an exclusive reply queue per process, persistent
 * messages with publisher confirms, consumer acknowledgements once the
 * handler finished (batched: one ack covers every finished delivery before
 * it), and reconnection with backoff that re-declares the topology after a
 * broker restart.
 */
#ifndef NPH_BUS_H
#define NPH_BUS_H

#include <json-c/json.h>
#include "virt-driver.h"

typedef struct nph_bus nph_bus;

/* Handle one message.  `args` is borrowed.  For a call, set *result (a new
 * reference, or leave NULL for JSON null) and return NPH_OK, or return an
 * error with `err` set: the caller receives both.  For casts the result is
 * dropped.  Handlers run on the bus's worker threads. */
typedef nph_status (*nph_bus_handler)(void *opaque, const char *method, json_object *args,
                                      json_object **result, nph_error *err);

/* Open a bus; `name` identifies this process in logs and queue names. */
nph_status nph_bus_open(const char *url, const char *name, nph_bus **out, nph_error *err);
/* Stop serving, wait for handlers in progress to finish, then close.  A
 * message whose handler never ran is not acknowledged, so the broker
 * delivers it again elsewhere.  NULL is fine. */
void nph_bus_close(nph_bus *bus);

/* Serve `topic` (and its fanout) with `workers` threads calling `handler`. */
nph_status nph_bus_serve(nph_bus *bus, const char *topic, unsigned workers,
                         nph_bus_handler handler, void *opaque, nph_error *err);

/* `args` is borrowed by call, cast and fanout: the caller keeps its reference.
 *
 * Send and wait up to timeout_ms for the reply.  On NPH_OK *result holds
 * the reply (a new reference; NULL for JSON null).  A remote error comes back
 * with its code and message; no server within the time is NPH_ERR_TIMEOUT.
 * The calling thread's log request id travels with the message. */
nph_status nph_bus_call(nph_bus *bus, const char *topic, const char *method, json_object *args,
                        int timeout_ms, json_object **result, nph_error *err);
/* Send without waiting for a handler.  Returns once the transport has the
 * message.  Over AMQP that is the publisher's window of up to 4,096
 * messages in flight (a full window makes the caller wait): each is sent
 * again after a reconnection until the broker confirms it, and
 * nph_bus_close() waits up to 30 s for the outstanding confirms. */
nph_status nph_bus_cast(nph_bus *bus, const char *topic, const char *method, json_object *args,
                        nph_error *err);
/* Cast to every server of `topic`. */
nph_status nph_bus_fanout(nph_bus *bus, const char *topic, const char *method, json_object *args,
                          nph_error *err);

#endif
