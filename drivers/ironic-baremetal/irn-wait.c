/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Watching a node until it settles.  Nova polls Ironic every 2 s; a fake
 * deploy takes 0.2-0.4 s and a real one minutes, so the interval starts
 * short (poll_min_ms) and grows by half each time up to poll_max_ms: a
 * quick change is seen at once and a long deploy costs few requests.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "irn-driver.h"

#define WATCH_FIELDS "uuid,provision_state,target_provision_state,power_state,target_power_state,last_error,instance_uuid,maintenance"

nph_status irn_node_fetch(struct irn_driver *d, const char *uuid, json_object **node,
                          nph_error *err)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/nodes/%s?fields=%s", uuid, WATCH_FIELDS);
    return irn_request(d->client, "GET", path, NULL, node, err);
}

nph_status irn_wait(struct irn_driver *d, const char *uuid, irn_settled_fn done, const void *arg,
                    unsigned timeout_s, const char *what, json_object **node, nph_error *err)
{
    *node = NULL;
    uint64_t deadline = nph_clock_monotonic_ns() + (uint64_t)timeout_s * 1000000000ull;
    unsigned interval = d->poll_min_ms;
    for (;;) {
        json_object_put(*node);
        *node = NULL;
        nph_status st = irn_node_fetch(d, uuid, node, err);
        if (st != NPH_OK)
            return st;
        int settled = done(*node, arg);
        if (settled > 0)
            return NPH_OK;
        if (settled < 0) {
            const char *why = irn_str(*node, "last_error");
            return d->svc->error(err, NPH_ERR_BACKEND, "Ironic node %s failed to %s: %s", uuid,
                                 what, why ? why : "no last_error given");
        }
        if (nph_clock_monotonic_ns() >= deadline)
            return d->svc->error(err, NPH_ERR_TIMEOUT,
                                 "Ironic node %s did not %s within %u s (provision state %s, "
                                 "power state %s)",
                                 uuid, what, timeout_s, irn_str(*node, "provision_state"),
                                 irn_str(*node, "power_state"));
        nph_clock_sleep_ms(interval);
        interval += interval / 2;
        if (interval > d->poll_max_ms)
            interval = d->poll_max_ms;
    }
}

nph_status irn_set_state(struct irn_driver *d, const char *uuid, const char *kind,
                         const char *target, json_object *extra, nph_error *err)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/nodes/%s/states/%s", uuid, kind);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "target", json_object_new_string(target));
    if (extra) {
        json_object_object_foreach(extra, key, val) {
            json_object_object_add(body, key, json_object_get(val));
        }
    }
    nph_status st = irn_request(d->client, "PUT", path, body, NULL, err);
    json_object_put(body);
    return st;
}
