/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * POST /os-server-external-events: what Neutron, Cinder or Ironic tell the
 * compute service about a server (a port plugged, a volume extended, the
 * power changed behind its back).  Each event is checked and handed to the
 * server's compute host; its answer code says how: 200 handed over, 404
 * no such server, 422 the server is on no host yet.  The whole request is
 * 200 when all were handed over, 404 when none found a server, else 207.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "api-servers.h"
#include "bus.h"
#include "db-objects.h"
#include "error.h"
#include "log.h"

NPH_LOG_INIT("api.events");

/* The event names of microversion 2.minor. */
static bool known_name(int minor, const char *name)
{
    static const struct {
        const char *name;
        int since;
    } names[] = {
        { "network-changed", 1 },   { "network-vif-plugged", 1 }, { "network-vif-unplugged", 1 },
        { "network-vif-deleted", 1 }, { "volume-extended", 51 },  { "power-update", 76 },
        { "accelerator-request-bound", 82 },
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i].name, name) == 0)
            return minor >= names[i].since;
    return false;
}

/* One event of the body, checked against the schema; false with a 400. */
static bool check_event(struct api_request *req, struct api_response *resp, json_object *ev)
{
    static const char *const allowed[] = { "name", "server_uuid", "status", "tag", NULL };
    if (!json_object_is_type(ev, json_type_object)) {
        api_error(resp, 400, "Invalid input for field/attribute events. Each event is an object");
        return false;
    }
    if (!api_no_extra_members(resp, ev, allowed))
        return false;
    const char *name = json_object_get_string(api_member(ev, "name"));
    const char *server = json_object_get_string(api_member(ev, "server_uuid"));
    const char *status = json_object_get_string(api_member(ev, "status"));
    const char *tag = json_object_get_string(api_member(ev, "tag"));
    if (!name || !known_name(req->minor, name)) {
        api_error(resp, 400, "Invalid input for field/attribute name. Value: %s. It is not an "
                             "event of microversion 2.%d",
                  name ? name : "None", req->minor);
        return false;
    }
    if (!server || !nph_uuid_is_valid(server)) {
        api_error(resp, 400, "Invalid input for field/attribute server_uuid. Value: %s. It is "
                             "not a 'uuid'",
                  server ? server : "None");
        return false;
    }
    if (status && strcmp(status, "failed") != 0 && strcmp(status, "completed") != 0 &&
        strcmp(status, "in-progress") != 0) {
        api_error(resp, 400, "Invalid input for field/attribute status. Value: %s. It is not one "
                             "of ['failed', 'completed', 'in-progress']",
                  status);
        return false;
    }
    if ((tag && strlen(tag) > 255) ||
        (strcmp(name, "power-update") == 0 && (!tag || (strcmp(tag, "POWER_ON") != 0 &&
                                                        strcmp(tag, "POWER_OFF") != 0)))) {
        api_error(resp, 400, "Invalid input for field/attribute tag. Value: %s. power-update "
                             "needs POWER_ON or POWER_OFF; other tags are up to 255 characters",
                  tag ? tag : "None");
        return false;
    }
    return true;
}

/* Hand one event to its server's host; the answer code for it. */
static int deliver(struct api_request *req, json_object *ev, json_object *out)
{
    const char *uuid = json_object_get_string(api_member(ev, "server_uuid"));
    nph_auto_json *inst = NULL;
    if (nph_db_instance_get(req->db, uuid, &inst, NULL) != NPH_OK)
        return 404;
    const char *host = json_object_get_string(api_member(inst, "host"));
    if (!host || !*host)
        return 422;
    char topic[300];
    snprintf(topic, sizeof(topic), "compute.%s", host);
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    json_object_object_add(args, "event", json_object_get(out));
    nph_error err = NPH_ERROR_INIT;
    if (nph_bus_cast(req->api->bus, topic, "external_instance_event", args, &err) != NPH_OK) {
        nph_warn("event %s for %s did not reach %s: %s",
                 json_object_get_string(api_member(ev, "name")), uuid, host, err.message);
        return 500;
    }
    return 200;
}

void api_external_events(struct api_request *req, struct api_response *resp)
{
    if (!api_is_admin(req, resp))
        return;
    json_object *events = api_member(req->body, "events");
    static const char *const top[] = { "events", NULL };
    if (!json_object_is_type(req->body, json_type_object) ||
        !json_object_is_type(events, json_type_array) || json_object_array_length(events) < 1) {
        api_error(resp, 400, "Invalid input for field/attribute events: a list of at least one "
                             "event is required");
        return;
    }
    if (!api_no_extra_members(resp, req->body, top))
        return;
    size_t n = json_object_array_length(events);
    for (size_t i = 0; i < n; i++)
        if (!check_event(req, resp, json_object_array_get_idx(events, i)))
            return;
    json_object *answers = json_object_new_array();
    size_t delivered = 0, not_found = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *ev = json_object_array_get_idx(events, i);
        json_object *out = json_object_new_object();
        json_object_object_foreach(ev, key, value)
            json_object_object_add(out, key, json_object_get(value));
        if (!api_member(out, "status"))
            nph_json_add_string(out, "status", "completed");
        int code = deliver(req, ev, out);
        nph_json_add_int(out, "code", code);
        delivered += code == 200;
        not_found += code == 404;
        json_object_array_add(answers, out);
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "events", answers);
    api_reply(resp, delivered == n ? 200 : not_found == n ? 404 : 207, body);
}
