/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Watching a node until it settles.  Nova polls Ironic every 2 s; a fake
 * deploy takes 0.2-0.4 s and a real one minutes.  The waits share one
 * poller (irn-poll.c) that asks Ironic for all their nodes at once; each
 * wait only judges the answers it is handed.
 *
 * The compute service reads the power state right after every operation
 * (Nova's driver GETs the node there); the state the wait ended on serves
 * that one read when it is less than half a second old, which saves the single
 * Ironic process a request per build.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "irn-driver.h"

nph_status irn_node_fetch(struct irn_driver *d, const char *uuid, json_object **node,
                          nph_error *err)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/nodes/%s?fields=%s", uuid, IRN_WATCH_FIELDS);
    return irn_request(d->client, "GET", path, NULL, node, err);
}

#define SETTLED_FRESH_NS 500000000ull

void irn_settled_keep(struct irn_driver *d, const char *uuid, json_object *node)
{
    pthread_mutex_lock(&d->lock);
    struct irn_settled *slot = &d->settled[0]; /* the node's entry, or the oldest */
    for (size_t i = 0; i < IRN_SETTLED_MAX; i++) {
        struct irn_settled *s = &d->settled[i];
        if (strcmp(s->node, uuid) == 0) {
            slot = s;
            break;
        }
        if (s->at_ns < slot->at_ns)
            slot = s;
    }
    const char *instance = irn_str(node, "instance_uuid"), *power = irn_str(node, "power_state");
    snprintf(slot->node, sizeof(slot->node), "%s", uuid);
    snprintf(slot->instance, sizeof(slot->instance), "%s", instance ? instance : "");
    snprintf(slot->power_state, sizeof(slot->power_state), "%s", power ? power : "");
    slot->at_ns = nph_clock_monotonic_ns();
    pthread_mutex_unlock(&d->lock);
}

bool irn_settled_take(struct irn_driver *d, const char *node, const char *instance, char *out,
                       size_t len)
{
    uint64_t now = nph_clock_monotonic_ns();
    bool found = false;
    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < IRN_SETTLED_MAX && !found; i++) {
        struct irn_settled *s = &d->settled[i];
        if (!s->node[0] || strcmp(s->node, node) != 0)
            continue;
        found = strcmp(s->instance, instance) == 0 && now - s->at_ns < SETTLED_FRESH_NS;
        if (found && out)
            snprintf(out, len, "%s", s->power_state);
        memset(s, 0, sizeof(*s));
    }
    pthread_mutex_unlock(&d->lock);
    return found;
}

static const char *state_of(json_object *node, const char *key)
{
    const char *s = node ? irn_str(node, key) : NULL;
    return s ? s : node ? "null" : "not fetched";
}

/* Under the lock: the poller's answers until one settles, fails, or the
 * deadline; 1 settled, -1 failed, 0 timed out, 2 the poll failed (w->st). */
static int await(struct irn_driver *d, struct irn_waiter *w, irn_settled_fn done, const void *arg,
                 uint64_t deadline)
{
    for (;;) {
        if (w->answered) {
            w->answered = false;
            if (w->st != NPH_OK)
                return 2;
            int settled = done(w->node, arg);
            if (settled)
                return settled;
        }
        uint64_t now = nph_clock_monotonic_ns();
        if (now >= deadline || d->stopping)
            return 0;
        struct timespec until = nph_clock_deadline((long)((deadline - now) / 1000000) + 1);
        pthread_cond_timedwait(&d->polled, &d->lock, &until);
    }
}

nph_status irn_wait(struct irn_driver *d, const char *uuid, irn_settled_fn done, const void *arg,
                    unsigned timeout_s, const char *what, json_object **node, nph_error *err)
{
    uint64_t deadline = nph_clock_monotonic_ns() + (uint64_t)timeout_s * 1000000000ull;
    struct irn_waiter w;
    irn_poll_join(d, &w, uuid);
    pthread_mutex_lock(&d->lock);
    int outcome = await(d, &w, done, arg, deadline);
    irn_poll_leave(d, &w);
    bool stopped = d->stopping;
    pthread_mutex_unlock(&d->lock);
    *node = w.node;
    if (outcome > 1)
        return d->svc->error(err, w.st, "%s", w.err.message);
    if (outcome > 0)
        return NPH_OK;
    if (outcome == 0 && stopped)
        return d->svc->error(err, NPH_ERR_BACKEND, "the driver stopped before Ironic node %s "
                             "could %s", uuid, what);
    if (outcome < 0) {
        const char *why = irn_str(w.node, "last_error");
        return d->svc->error(err, NPH_ERR_BACKEND, "Ironic node %s failed to %s: %s", uuid, what,
                             why ? why : "no last_error given");
    }
    return d->svc->error(err, NPH_ERR_TIMEOUT,
                         "Ironic node %s did not %s within %u s (provision state %s, "
                         "power state %s)",
                         uuid, what, timeout_s, state_of(w.node, "provision_state"),
                         state_of(w.node, "power_state"));
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
