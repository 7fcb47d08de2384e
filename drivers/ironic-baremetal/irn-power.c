/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Power actions, reboots, the power state and the serial console of the
 * node an instance is deployed on. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "irn-driver.h"

/* The node, when the instance is deployed on it; NOT_FOUND otherwise. */
static nph_status owned_node(struct irn_driver *d, const struct nph_instance *inst,
                             json_object **node, nph_error *err)
{
    *node = NULL;
    if (!inst->node)
        return d->svc->error(err, NPH_ERR_NOT_FOUND, "instance %s names no Ironic node", inst->uuid);
    nph_status st = irn_node_fetch(d, inst->node, node, err);
    const char *owner = st == NPH_OK ? irn_str(*node, "instance_uuid") : NULL;
    if (st == NPH_OK && (!owner || strcmp(owner, inst->uuid) != 0)) {
        json_object_put(*node);
        *node = NULL;
        return d->svc->error(err, NPH_ERR_NOT_FOUND, "Ironic node %s does not hold instance %s",
                             inst->node, inst->uuid);
    }
    return st;
}

/* The power action is over and the node is in `arg`. */
static int power_is(json_object *node, const void *arg)
{
    const char *target = irn_str(node, "target_power_state");
    const char *now = irn_str(node, "power_state");
    if (target)
        return 0;
    if (now && strcmp(now, "error") == 0)
        return -1;
    return now && strcmp(now, arg) == 0;
}

/* Ask for `target` (falling back to `fallback` when Ironic refuses it) and
 * wait until the node is in `settled`. */
static nph_status power_action(struct irn_driver *d, const struct nph_instance *inst,
                               const char *target, const char *fallback, int timeout_s,
                               const char *settled, nph_error *err)
{
    json_object *node = NULL;
    nph_status st = owned_node(d, inst, &node, err);
    json_object_put(node);
    if (st != NPH_OK)
        return st;
    json_object *extra = NULL;
    if (timeout_s > 0) {
        extra = json_object_new_object();
        json_object_object_add(extra, "timeout", json_object_new_int(timeout_s));
    }
    st = irn_set_state(d, inst->node, "power", target, extra, err);
    json_object_put(extra);
    if (st != NPH_OK && fallback) {
        d->svc->log(d->host, NPH_LOG_WARNING, "node %s: '%s' refused (%s); trying '%s'",
                    inst->node, target, err ? err->message : "", fallback);
        st = irn_set_state(d, inst->node, "power", fallback, NULL, err);
    }
    if (st == NPH_OK)
        st = irn_wait(d, inst->node, power_is, settled,
                      d->power_timeout_s + (unsigned)(timeout_s > 0 ? timeout_s : 0), target,
                      &node, err);
    if (st == NPH_OK)
        irn_settled_keep(d, inst->node, node);
    json_object_put(node);
    return st;
}

nph_status irn_power_on(void *drv, const struct nph_instance *inst, nph_error *err)
{
    return power_action(drv, inst, "power on", NULL, 0, "power on", err);
}

nph_status irn_power_off(void *drv, const struct nph_instance *inst, int timeout_s,
                         nph_error *err)
{
    if (timeout_s > 0)
        return power_action(drv, inst, "soft power off", "power off", timeout_s, "power off", err);
    return power_action(drv, inst, "power off", NULL, 0, "power off", err);
}

nph_status irn_reboot(void *drv, const struct nph_instance *inst, nph_reboot_type type,
                      nph_error *err)
{
    if (type == NPH_REBOOT_SOFT)
        return power_action(drv, inst, "soft rebooting", "rebooting", 0, "power on", err);
    return power_action(drv, inst, "rebooting", NULL, 0, "power on", err);
}

nph_status irn_get_info(void *drv, const struct nph_instance *inst, struct nph_instance_info *out,
                        nph_error *err)
{
    struct irn_driver *d = drv;
    char power[40];
    nph_status st = NPH_OK;
    if (inst->node && irn_settled_take(d, inst->node, inst->uuid, power, sizeof(power))) {
        out->state = irn_power_state(power);
    } else {
        json_object *node = NULL;
        st = owned_node(d, inst, &node, err);
        if (st == NPH_OK)
            out->state = irn_power_state(irn_str(node, "power_state"));
        json_object_put(node);
    }
    if (st != NPH_OK || !inst->flavor)
        return st;
    out->num_cpu = inst->flavor->vcpus;
    out->max_mem_kb = out->mem_kb = inst->flavor->memory_mb * 1024;
    return NPH_OK;
}

/* ------------------------------------------------------------------------ */
/* The serial console: Ironic's socat console is a TCP port.                */

static nph_status console_state(struct irn_driver *d, const char *uuid, json_object **out,
                                nph_error *err)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/nodes/%s/states/console", uuid);
    return irn_request(d->client, "GET", path, NULL, out, err);
}

/* tcp://HOST:PORT into the console. */
static nph_status parse_socat(struct irn_driver *d, const char *uuid, const char *url,
                              struct nph_console *out, nph_error *err)
{
    const char *hostp = url && strncmp(url, "tcp://", 6) == 0 ? url + 6 : NULL;
    const char *colon = hostp ? strrchr(hostp, ':') : NULL;
    if (!colon || colon == hostp || (size_t)(colon - hostp) >= sizeof(out->host))
        return d->svc->error(err, NPH_ERR_BACKEND, "Ironic node %s has a console URL '%s' that is "
                             "not tcp://HOST:PORT", uuid, url ? url : "");
    snprintf(out->host, sizeof(out->host), "%.*s", (int)(colon - hostp), hostp);
    out->port = atoi(colon + 1);
    return NPH_OK;
}

nph_status irn_get_console(void *drv, const struct nph_instance *inst, nph_console_type type,
                           struct nph_console *out, nph_error *err)
{
    struct irn_driver *d = drv;
    if (type != NPH_CONSOLE_SERIAL)
        return d->svc->error(err, NPH_ERR_NOT_SUPPORTED,
                             "Ironic gives serial consoles only (a socat console interface)");
    json_object *node = NULL, *state = NULL;
    nph_status st = owned_node(d, inst, &node, err);
    json_object_put(node);
    if (st == NPH_OK)
        st = console_state(d, inst->node, &state, err);
    if (st == NPH_OK && !irn_bool(state, "console_enabled")) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/nodes/%s/states/console", inst->node);
        json_object *body = json_object_new_object();
        json_object_object_add(body, "enabled", json_object_new_boolean(1));
        st = irn_request(d->client, "PUT", path, body, NULL, err);
        json_object_put(body);
        /* Enabling is asynchronous: wait for the console to be there. */
        for (int i = 0; st == NPH_OK && i < 50 && !irn_bool(state, "console_enabled"); i++) {
            nph_clock_sleep_ms(d->poll_min_ms);
            json_object_put(state);
            state = NULL;
            st = console_state(d, inst->node, &state, err);
        }
    }
    json_object *info = NULL;
    if (st == NPH_OK)
        json_object_object_get_ex(state, "console_info", &info);
    const char *kind = irn_str(info, "type");
    if (st == NPH_OK && (!kind || strcmp(kind, "socat") != 0))
        st = d->svc->error(err, NPH_ERR_NOT_SUPPORTED,
                           "Ironic node %s offers no serial console (its console interface gives "
                           "%s%s%s)", inst->node, kind ? "a console of type '" : "none",
                           kind ? kind : "", kind ? "'" : "");
    if (st == NPH_OK)
        st = parse_socat(d, inst->node, irn_str(info, "url"), out, err);
    json_object_put(state);
    return st;
}
