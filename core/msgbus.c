/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The message bus: public calls, the JSON envelope, dispatch to handlers. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json.h"
#include "log.h"
#include "msgbus-internal.h"
#include "uuid.h"

NPH_LOG_INIT("core.bus");

static const struct bus_transport *const transports[] = { &nph_bus_inproc, &nph_bus_amqp };

nph_status nph_bus_open(const char *url, const char *name, nph_bus **out, nph_error *err)
{
    const struct bus_transport *t = NULL;
    for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
        size_t n = strlen(transports[i]->scheme);
        if (strncmp(url, transports[i]->scheme, n) == 0 && strncmp(url + n, "://", 3) == 0)
            t = transports[i];
    }
    if (!t)
        return nph_error_set(err, NPH_ERR_INVALID,
                             "unsupported transport_url '%s': use inproc:// or "
                             "amqp://USER:PASSWORD@HOST:PORT/VHOST",
                             url);
    nph_bus *bus = calloc(1, sizeof(*bus));
    if (!bus || !(bus->name = strdup(name))) {
        free(bus);
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    bus->transport = t;
    pthread_mutex_init(&bus->lock, NULL);
    nph_status st = t->open(bus, url, err);
    if (st != NPH_OK) {
        pthread_mutex_destroy(&bus->lock);
        free(bus->name);
        free(bus);
        return st;
    }
    *out = bus;
    return NPH_OK;
}

void nph_bus_close(nph_bus *bus)
{
    if (!bus)
        return;
    bus->transport->close(bus);
    for (struct bus_server *s = bus->servers, *next; s; s = next) {
        next = s->next;
        free(s->topic);
        free(s);
    }
    pthread_mutex_destroy(&bus->lock);
    free(bus->name);
    free(bus);
}

nph_status nph_bus_serve(nph_bus *bus, const char *topic, unsigned workers,
                         nph_bus_handler handler, void *opaque, nph_error *err)
{
    struct bus_server *s = calloc(1, sizeof(*s));
    if (!s || !(s->topic = strdup(topic))) {
        free(s);
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    s->bus = bus;
    s->handler = handler;
    s->opaque = opaque;
    s->workers = workers ? workers : 1;
    pthread_mutex_lock(&bus->lock);
    s->next = bus->servers;
    bus->servers = s;
    pthread_mutex_unlock(&bus->lock);
    nph_status st = bus->transport->serve(bus, s, err);
    if (st != NPH_OK)
        return nph_error_prefix(err, "cannot serve topic '%s': ", topic);
    nph_debug("serving topic '%s' with %u workers", topic, s->workers);
    return NPH_OK;
}

/* Fill the parts of a request every send shares. */
static nph_status make_msg(const char *method, json_object *args, struct bus_msg *msg,
                           nph_error *err)
{
    memset(msg, 0, sizeof(*msg));
    msg->method = strdup(method);
    msg->args = args ? json_object_get(args) : json_object_new_object();
    const char *rid = nph_log_request_id();
    if (rid) {
        snprintf(msg->request_id, sizeof(msg->request_id), "%s", rid);
    } else {
        char uuid[NPH_UUID_STRLEN + 1];
        nph_uuid_generate(uuid);
        snprintf(msg->request_id, sizeof(msg->request_id), "req-%s", uuid);
    }
    if (!msg->method) {
        bus_msg_clear(msg);
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    return NPH_OK;
}

static nph_status send_request(nph_bus *bus, const char *topic, bool fanout, const char *method,
                               json_object *args, int timeout_ms, json_object **result,
                               nph_error *err)
{
    struct bus_msg msg;
    nph_status st = make_msg(method, args, &msg, err);
    if (st != NPH_OK)
        return st;
    if (result) {
        *result = NULL;
        nph_uuid_generate(msg.msg_id);
    }
    st = bus->transport->send(bus, topic, fanout, &msg, timeout_ms, result, err);
    bus_msg_clear(&msg);
    return st;
}

nph_status nph_bus_call(nph_bus *bus, const char *topic, const char *method, json_object *args,
                        int timeout_ms, json_object **result, nph_error *err)
{
    json_object *ignored = NULL;
    nph_status st = send_request(bus, topic, false, method, args, timeout_ms,
                                 result ? result : &ignored, err);
    json_object_put(ignored);
    return st;
}

nph_status nph_bus_cast(nph_bus *bus, const char *topic, const char *method, json_object *args,
                        nph_error *err)
{
    return send_request(bus, topic, false, method, args, 0, NULL, err);
}

nph_status nph_bus_fanout(nph_bus *bus, const char *topic, const char *method, json_object *args,
                          nph_error *err)
{
    return send_request(bus, topic, true, method, args, 0, NULL, err);
}

/* ------------------------------------------------------------------------ */

nph_status bus_dispatch(struct bus_server *server, struct bus_msg *msg, json_object **result,
                        nph_error *err)
{
    nph_log_set_request_id(msg->request_id);
    json_object *out = NULL;
    nph_status st = server->handler(server->opaque, msg->method, msg->args, &out, err);
    if (result)
        *result = out;
    else
        json_object_put(out);
    if (st != NPH_OK && !result)
        nph_warn("cast %s to '%s' failed: %s", msg->method, server->topic,
                 err && err->message[0] ? err->message : nph_status_name(st));
    nph_log_set_request_id(NULL);
    return st;
}

void bus_msg_clear(struct bus_msg *msg)
{
    free(msg->method);
    json_object_put(msg->args);
    msg->method = NULL;
    msg->args = NULL;
}

char *bus_encode_request(const struct bus_msg *msg)
{
    json_object *env = json_object_new_object();
    nph_json_add_int(env, "v", NPH_BUS_ENVELOPE_VERSION);
    nph_json_add_string(env, "method", msg->method);
    json_object_object_add(env, "args", json_object_get(msg->args));
    nph_json_add_string(env, "request_id", msg->request_id);
    if (msg->msg_id[0]) {
        nph_json_add_string(env, "msg_id", msg->msg_id);
        nph_json_add_string(env, "reply_to", msg->reply_to);
    }
    char *text = strdup(nph_json_text(env));
    json_object_put(env);
    return text;
}

/* Copy an optional string member into a fixed buffer. */
static void copy_member(json_object *env, const char *key, char *out, size_t len)
{
    const char *v = NULL;
    nph_json_get_string(env, key, false, &v, NULL);
    snprintf(out, len, "%s", v ? v : "");
}

nph_status bus_decode_request(const char *text, size_t len, struct bus_msg *msg, nph_error *err)
{
    memset(msg, 0, sizeof(*msg));
    nph_auto_json *env = nph_json_parse(text, len, err);
    if (!env)
        return NPH_ERR_INVALID;
    int64_t version = 0;
    const char *method = NULL;
    json_object *args = NULL;
    nph_status st = nph_json_get_int(env, "v", true, &version, err);
    if (st == NPH_OK && version != NPH_BUS_ENVELOPE_VERSION)
        st = nph_error_set(err, NPH_ERR_INVALID,
                           "message envelope version %lld is not supported (this is %d)",
                           (long long)version, NPH_BUS_ENVELOPE_VERSION);
    if (st == NPH_OK)
        st = nph_json_get_string(env, "method", true, &method, err);
    if (st == NPH_OK)
        st = nph_json_get_object(env, "args", true, &args, err);
    if (st != NPH_OK)
        return NPH_ERR_INVALID;
    msg->method = strdup(method);
    msg->args = json_object_get(args);
    copy_member(env, "request_id", msg->request_id, sizeof(msg->request_id));
    copy_member(env, "msg_id", msg->msg_id, sizeof(msg->msg_id));
    copy_member(env, "reply_to", msg->reply_to, sizeof(msg->reply_to));
    return msg->method ? NPH_OK : nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
}

char *bus_encode_reply(const char *msg_id, nph_status st, json_object *result,
                       const nph_error *err)
{
    json_object *env = json_object_new_object();
    nph_json_add_int(env, "v", NPH_BUS_ENVELOPE_VERSION);
    nph_json_add_string(env, "msg_id", msg_id);
    if (st == NPH_OK) {
        json_object_object_add(env, "result", json_object_get(result));
    } else {
        json_object *e = json_object_new_object();
        nph_json_add_int(e, "code", st);
        nph_json_add_string(e, "message", err && err->message[0] ? err->message : nph_status_name(st));
        json_object_object_add(env, "error", e);
    }
    char *text = strdup(nph_json_text(env));
    json_object_put(env);
    return text;
}

nph_status bus_decode_reply(const char *text, size_t len, char msg_id[40], json_object **result,
                            nph_error *err)
{
    *result = NULL;
    nph_auto_json *env = nph_json_parse(text, len, err);
    if (!env)
        return NPH_ERR_INVALID;
    int64_t version = 0;
    if (nph_json_get_int(env, "v", true, &version, err) != NPH_OK ||
        version != NPH_BUS_ENVELOPE_VERSION)
        return nph_error_set(err, NPH_ERR_INVALID, "reply of an unsupported envelope version");
    copy_member(env, "msg_id", msg_id, 40);
    json_object *error = NULL;
    if (nph_json_get_object(env, "error", false, &error, NULL) == NPH_OK && error) {
        int64_t code = NPH_ERR_BACKEND;
        const char *message = "remote error";
        nph_json_get_int(error, "code", false, &code, NULL);
        nph_json_get_string(error, "message", false, &message, NULL);
        if (code <= NPH_OK || code > NPH_ERR_IO)
            code = NPH_ERR_BACKEND;
        return nph_error_set(err, (nph_status)code, "%s", message);
    }
    json_object *r = NULL;
    if (json_object_object_get_ex(env, "result", &r))
        *result = json_object_get(r);
    return NPH_OK;
}
