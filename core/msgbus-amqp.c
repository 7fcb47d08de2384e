/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"
#include "error.h"
#include "msgbus-internal.h"
static nph_status amqp_open(nph_bus *bus, const char *url, nph_error *err)
{
    return nph_error_set(err, NPH_ERR_NOT_SUPPORTED, "amqp:// is not implemented yet");
}
static void amqp_close(nph_bus *bus) {}
static nph_status amqp_serve(nph_bus *bus, struct bus_server *s, nph_error *err) { return NPH_ERR_NOT_SUPPORTED; }
static nph_status amqp_send(nph_bus *bus, const char *topic, bool fanout, struct bus_msg *msg,
                            int timeout_ms, json_object **result, nph_error *err) { return NPH_ERR_NOT_SUPPORTED; }
const struct bus_transport nph_bus_amqp = { "amqp", amqp_open, amqp_close, amqp_serve, amqp_send };
