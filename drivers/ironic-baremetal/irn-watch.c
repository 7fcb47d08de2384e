/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Power changes made behind the compute service's back (someone used
 * Ironic's API, or a node lost power).  Ironic can tell the compute API
 * itself (power-update external events, [nova] send_power_notifications);
 * when it cannot reach it, this watch lists the nodes every power_sync_s
 * seconds and reports each change as a lifecycle event, so the instance
 * follows within seconds rather than at the next minute-long sync.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "irn-driver.h"

void irn_power_changes(struct irn_driver *d, const struct irn_node *a, size_t n_a,
                       const struct irn_node *b, size_t n_b)
{
    size_t i = 0, j = 0;
    while (i < n_a && j < n_b) {
        int c = strcmp(a[i].uuid, b[j].uuid);
        if (c < 0) {
            i++;
            continue;
        }
        if (c > 0) {
            j++;
            continue;
        }
        nph_power_state was = irn_power_state(a[i].power_state);
        nph_power_state now = irn_power_state(b[j].power_state);
        if (b[j].instance_uuid[0] && strcmp(a[i].instance_uuid, b[j].instance_uuid) == 0 &&
            was != now && now != NPH_POWER_NOSTATE) {
            struct nph_driver_event ev = {
                .instance_uuid = b[j].instance_uuid,
                .node = b[j].uuid,
                .transition = now == NPH_POWER_RUNNING ? NPH_EVENT_STARTED : NPH_EVENT_STOPPED,
                .power_state = now,
            };
            d->svc->log(d->host, NPH_LOG_INFO, "node %s of instance %s is now '%s'", b[j].uuid,
                        b[j].instance_uuid, b[j].power_state);
            d->svc->emit_event(d->host, &ev);
        }
        i++;
        j++;
    }
}

static void *watch_main(void *opaque)
{
    struct irn_driver *d = opaque;
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        struct timespec until = nph_clock_deadline((long)d->power_sync_s * 1000);
        pthread_cond_timedwait(&d->wake, &d->lock, &until);
        if (d->stopping)
            break;
        pthread_mutex_unlock(&d->lock);
        nph_error err = { 0 };
        if (irn_nodes_refresh(d, true, &err) != NPH_OK)
            d->svc->log(d->host, NPH_LOG_WARNING, "power watch: %s", err.message);
        pthread_mutex_lock(&d->lock);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

nph_status irn_watch_start(struct irn_driver *d, nph_error *err)
{
    if (!d->power_sync_s)
        return NPH_OK;
    if (pthread_create(&d->watcher, NULL, watch_main, d) != 0)
        return d->svc->error(err, NPH_ERR_BACKEND, "cannot start the power watch thread");
    d->watching = true;
    return NPH_OK;
}
