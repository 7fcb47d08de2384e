/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Remote consoles, as Nova's remote_consoles and console_auth_tokens APIs:
 * the os-getVNCConsole, os-getSPICEConsole, os-getSerialConsole and
 * os-getRDPConsole actions, POST /servers/ID/remote-consoles (2.6; webmks
 * from 2.8) and GET /os-console-auth-tokens/TOKEN (admin).  The server's
 * compute host says where its console listens (the driver's get_console);
 * the API stores that under a random token (services/console) and answers
 * the URL of the proxy that will check the token.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api-servers.h"
#include "bus.h"
#include "conf.h"
#include "console.h"
#include "error.h"
#include "log.h"

NPH_LOG_INIT("api.consoles");

/* One kind of console: its protocol and type names in the API, where its
 * switch and proxy URL are configured (Nova's options), and its driver type. */
struct console_kind {
    const char *protocol, *type, *action;
    const char *section, *url_key, *default_url;
    bool enabled_by_default;
    int min_minor;
    nph_console_type driver_type;
};

static const struct console_kind kinds[] = {
    { "vnc", "novnc", "os-getVNCConsole", "vnc", "novncproxy_base_url",
      "http://127.0.0.1:6080/vnc_auto.html", true, 0, NPH_CONSOLE_VNC },
    { "spice", "spice-html5", "os-getSPICEConsole", "spice", "html5proxy_base_url",
      "http://127.0.0.1:6082/spice_auto.html", false, 0, NPH_CONSOLE_SPICE },
    { "serial", "serial", "os-getSerialConsole", "serial_console", "base_url",
      "ws://127.0.0.1:6083/", false, 0, NPH_CONSOLE_SERIAL },
    { "mks", "webmks", NULL, "mks", "mksproxy_base_url", "http://127.0.0.1:6090/", false, 8,
      NPH_CONSOLE_MKS },
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

/* The types each protocol's request schema lists, as Nova's; a listed type
 * the protocol cannot give is "Invalid console type", not a schema error. */
static const char *const vnc_types[] = { "novnc", "xvpvnc", NULL };
static const char *const all_types_26[] = { "novnc", "xvpvnc", "rdp-html5", "spice-html5",
                                            "serial", NULL };
static const char *const all_types_28[] = { "novnc", "xvpvnc", "rdp-html5", "spice-html5",
                                            "serial", "webmks", NULL };

nph_status api_consoles_read_config(nph_api *api, const nph_config *cfg, nph_error *err)
{
    nph_status st = nph_config_get_int(cfg, "consoleauth", "token_ttl",
                                       NPH_CONSOLE_TOKEN_TTL_DEFAULT, &api->console_ttl, err);
    if (st == NPH_OK && api->console_ttl < 1)
        return nph_config_entry_error(err, NPH_ERR_INVALID,
                                      nph_config_find(cfg, "consoleauth", "token_ttl"),
                                      "must be at least 1 second");
    for (size_t i = 0; st == NPH_OK && i < N_KINDS; i++) {
        bool on = false;
        st = nph_config_get_bool(cfg, kinds[i].section, "enabled", kinds[i].enabled_by_default,
                                 &on, err);
        api->console_enabled[i] = on;
        api->console_url[i] = strdup(nph_config_get(cfg, kinds[i].section, kinds[i].url_key,
                                                    kinds[i].default_url));
        if (st == NPH_OK && !api->console_url[i])
            st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    }
    return st;
}

void api_consoles_free(nph_api *api)
{
    for (size_t i = 0; i < N_KINDS; i++)
        free(api->console_url[i]);
}

static bool listed(const char *const *list, const char *v)
{
    for (; *list; list++)
        if (strcmp(*list, v) == 0)
            return true;
    return false;
}

static void not_one_of(struct api_response *resp, const char *field, const char *value,
                       const char *const *list)
{
    char names[256] = "";
    for (size_t n = 0; *list; list++)
        n += (size_t)snprintf(names + n, sizeof(names) - n, "%s'%s'", n ? ", " : "", *list);
    api_error(resp, 400, "Invalid input for field/attribute %s. Value: %s. '%s' is not one of [%s]",
              field, value, value, names);
}

static const char *member(json_object *obj, const char *key)
{
    const char *v = NULL;
    nph_json_get_string(obj, key, false, &v, NULL);
    return v;
}

/* Ask the compute host for the endpoint, store a token, answer the URL
 * in the body Nova gives: {"console": ...} or {"remote_console": ...}. */
static void issue(struct api_request *req, struct api_response *resp, json_object *inst,
                  size_t k, bool remote)
{
    const struct console_kind *kind = &kinds[k];
    const char *uuid = member(inst, "uuid"), *host = member(inst, "host");
    const char *task = member(inst, "task_state");
    if (!req->api->console_enabled[k]) {
        api_error(resp, 400, "Unavailable console type %s.", kind->type);
        return;
    }
    if (!host || !*host) {
        api_error(resp, 409, "Instance %s is not ready", uuid);
        return;
    }
    if (task && (strcmp(task, "deleting") == 0 || strcmp(task, "migrating") == 0)) {
        api_error(resp, 409, "Cannot 'get_%s_console' instance %s while it is in task_state %s",
                  kind->protocol, uuid, task);
        return;
    }
    char topic[300];
    snprintf(topic, sizeof(topic), "compute.%s", host);
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    nph_json_add_int(args, "console_type", kind->driver_type);
    nph_auto_json *result = NULL;
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_bus_call(req->api->bus, topic, "get_console", args, 30000, &result, &err);
    if (st == NPH_ERR_NOT_SUPPORTED) {
        nph_info("instance %s: %s", uuid, err.message);
        api_error(resp, 501, "Unable to get %s console, functionality not implemented",
                  kind->protocol);
        return;
    }
    if (st == NPH_ERR_NOT_FOUND) { /* the guest is not on its host (yet, or any more) */
        api_error(resp, 409, "Instance %s is not ready", uuid);
        return;
    }
    if (st != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    struct nph_console_auth auth = { .expires = (int64_t)time(NULL) + req->api->console_ttl };
    int64_t port = 0, tls_port = 0;
    nph_json_get_int(result, "port", false, &port, NULL);
    nph_json_get_int(result, "tls_port", false, &tls_port, NULL);
    const char *where = member(result, "host"), *path = member(result, "internal_access_path");
    snprintf(auth.instance_uuid, sizeof(auth.instance_uuid), "%s", uuid);
    snprintf(auth.console_type, sizeof(auth.console_type), "%s", kind->type);
    snprintf(auth.host, sizeof(auth.host), "%s", where ? where : "");
    snprintf(auth.internal_access_path, sizeof(auth.internal_access_path), "%s", path ? path : "");
    snprintf(auth.access_url_base, sizeof(auth.access_url_base), "%s", req->api->console_url[k]);
    auth.port = (int)port;
    auth.tls_port = (int)tls_port;
    char token[NPH_UUID_STRLEN + 1];
    if (nph_console_token_create(req->db, &auth, token, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    char *url = nph_console_access_url(&auth, token);
    json_object *console = json_object_new_object(), *body = json_object_new_object();
    if (remote)
        nph_json_add_string(console, "protocol", kind->protocol);
    nph_json_add_string(console, "type", kind->type);
    nph_json_add_string(console, "url", url);
    free(url);
    json_object_object_add(body, remote ? "remote_console" : "console", console);
    api_reply(resp, 200, body);
}

/* {"type": T} with nothing else: the body of the old actions. */
static const char *action_type(struct api_response *resp, json_object *arg)
{
    static const char *const allowed[] = { "type", NULL };
    if (!json_object_is_type(arg, json_type_object)) {
        api_error(resp, 400, "Invalid input for field/attribute %s. Value: %s. It is not of "
                             "type 'object'", "body", json_object_to_json_string(arg));
        return NULL;
    }
    if (!api_no_extra_members(resp, arg, allowed))
        return NULL;
    const char *type = member(arg, "type");
    if (!type)
        api_error(resp, 400, "Invalid input for field/attribute type. Value: None. 'type' is a "
                             "required property");
    return type;
}

bool api_server_get_console(struct api_request *req, struct api_response *resp, json_object *inst,
                            const char *action, json_object *arg)
{
    static const char *const spice_types[] = { "spice-html5", NULL };
    static const char *const serial_types[] = { "serial", NULL };
    static const char *const rdp_types[] = { "rdp-html5", NULL };
    static const char *const *const lists[] = { vnc_types, spice_types, serial_types };
    bool rdp = strcmp(action, "os-getRDPConsole") == 0;
    size_t k = 0;
    while (!rdp && k < N_KINDS && !(kinds[k].action && strcmp(kinds[k].action, action) == 0))
        k++;
    if (!rdp && k == N_KINDS)
        return false;
    const char *type = action_type(resp, arg);
    if (!type)
        return true;
    const char *const *types = rdp ? rdp_types : lists[k];
    if (!listed(types, type))
        not_one_of(resp, "type", type, types);
    else if (rdp) /* no driver here has RDP, as Nova without Hyper-V */
        api_error(resp, 400, "Unavailable console type %s.", type);
    else if (strcmp(type, kinds[k].type) != 0)
        api_error(resp, 400, "Invalid console type %s", type);
    else
        issue(req, resp, inst, k, false);
    return true;
}

/* POST /servers/ID/remote-consoles (2.6; webmks and mks from 2.8). */
void api_server_remote_consoles(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *inst = NULL;
    json_object *rc = NULL;
    static const char *const top[] = { "remote_console", NULL };
    static const char *const inner[] = { "protocol", "type", NULL };
    if (!req->body || !json_object_is_type(req->body, json_type_object) ||
        !json_object_object_get_ex(req->body, "remote_console", &rc) ||
        !json_object_is_type(rc, json_type_object)) {
        api_error(resp, 400, "Invalid input for field/attribute remote_console. Value: None. "
                             "'remote_console' is a required property");
        return;
    }
    if (!api_no_extra_members(resp, req->body, top) || !api_no_extra_members(resp, rc, inner))
        return;
    static const char *const protocols_26[] = { "vnc", "spice", "rdp", "serial", NULL };
    static const char *const protocols_28[] = { "vnc", "spice", "rdp", "serial", "mks", NULL };
    const char *const *protocols = req->minor >= 8 ? protocols_28 : protocols_26;
    const char *const *types = req->minor >= 8 ? all_types_28 : all_types_26;
    const char *protocol = member(rc, "protocol"), *type = member(rc, "type");
    if (!protocol || !listed(protocols, protocol)) {
        not_one_of(resp, "protocol", protocol ? protocol : "None", protocols);
        return;
    }
    if (!type || !listed(types, type)) {
        not_one_of(resp, "type", type ? type : "None", types);
        return;
    }
    if (!api_server_lookup(req, resp, req->params[0], &inst))
        return;
    if (strcmp(protocol, "rdp") == 0) {
        api_error(resp, 400, "Unavailable console type %s.", type);
        return;
    }
    size_t k = 0;
    while (strcmp(kinds[k].protocol, protocol) != 0)
        k++;
    if (strcmp(kinds[k].type, type) != 0) {
        api_error(resp, 400, "Invalid console type %s", type);
        return;
    }
    issue(req, resp, inst, k, true);
}

/* GET /os-console-auth-tokens/TOKEN (admin): where a token leads.  Before
 * 2.31 only RDP tokens could be shown, as Nova has it. */
void api_console_auth_token_show(struct api_request *req, struct api_response *resp)
{
    if (!api_is_admin(req, resp))
        return;
    struct nph_console_auth auth;
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_console_token_validate(req->db, req->params[0], &auth, &err);
    if (st == NPH_ERR_NOT_FOUND) {
        api_error(resp, 404, "Token not found");
        return;
    }
    if (st != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    if (req->minor < 31 && strcmp(auth.console_type, "rdp-html5") != 0) {
        api_error(resp, 401, "The requested console type details are not accessible");
        return;
    }
    json_object *console = json_object_new_object(), *body = json_object_new_object();
    nph_json_add_string(console, "instance_uuid", auth.instance_uuid);
    nph_json_add_string(console, "host", auth.host);
    nph_json_add_int(console, "port", auth.port);
    nph_json_add_string(console, "internal_access_path",
                        auth.internal_access_path[0] ? auth.internal_access_path : NULL);
    json_object_object_add(body, "console", console);
    api_reply(resp, 200, body);
}
