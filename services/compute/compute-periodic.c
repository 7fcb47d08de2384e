/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Periodic tasks of the compute service: heartbeat, node inventory, power
 * state sync, and prompt syncs of instances whose driver reported an event. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "compute-internal.h"
#include "error.h"
#include "log.h"

NPH_LOG_INIT("compute.periodic");

static time_t now_s(void)
{
    return (time_t)(nph_clock_monotonic_ns() / 1000000000ull);
}

/* Driver threads call this: queue the instance for a sync, wake the loop;
 * an event a spawn emits on the spawning thread goes to its build instead. */
void compute_on_event(void *opaque, nph_driver *drv, const struct nph_driver_event *event)
{
    nph_compute *c = opaque;
    if (compute_spawn_event(event))
        return;
    pthread_mutex_lock(&c->lock);
    if (c->n_events == c->cap_events) {
        size_t cap = c->cap_events ? c->cap_events * 2 : 64;
        char(*grown)[40] = realloc(c->event_uuids, cap * sizeof(*grown));
        if (grown) {
            c->event_uuids = grown;
            c->cap_events = cap;
        }
    }
    if (c->n_events < c->cap_events) {
        snprintf(c->event_uuids[c->n_events], 40, "%s", event->instance_uuid);
        c->n_events++;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
}

static void sync_one(nph_compute *c, const char *uuid)
{
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "uuid", uuid);
    nph_auto_json *record = NULL;
    nph_error err = NPH_ERROR_INIT;
    /* An operation holding the instance will write the outcome itself. */
    if (!compute_trylock_instance(c, uuid))
        return;
    if (compute_call(c, "instance_get", args, &record, &err) == NPH_OK)
        compute_sync_instance(c, record, &err);
    compute_unlock_instance(c, uuid);
}

static void sync_all(nph_compute *c)
{
    nph_auto_json *args = json_object_new_object();
    nph_json_add_string(args, "host", c->host);
    nph_auto_json *list = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (compute_call(c, "instances_by_host", args, &list, &err) != NPH_OK) {
        nph_warn("power state sync skipped: %s", err.message);
        return;
    }
    for (size_t i = 0; list && i < json_object_array_length(list); i++) {
        json_object *record = json_object_array_get_idx(list, i);
        const char *uuid = json_object_get_string(json_object_object_get(record, "uuid"));
        if (!uuid || !compute_trylock_instance(c, uuid))
            continue;
        if (compute_sync_instance(c, record, &err) != NPH_OK)
            nph_warn("power state sync of %s: %s", uuid, err.message);
        compute_unlock_instance(c, uuid);
    }
}

/* Take the queued event UUIDs; caller frees. */
static char (*take_events(nph_compute *c, size_t *n))[40]
{
    char(*events)[40] = c->event_uuids;
    *n = c->n_events;
    c->event_uuids = NULL;
    c->n_events = c->cap_events = 0;
    return events;
}

static void *periodic_main(void *opaque)
{
    nph_compute *c = opaque;
    time_t next_beat = now_s() + c->report_interval_s;
    time_t next_sync = now_s() + c->sync_interval_s;
    time_t next_nodes = now_s() + c->resource_interval_s;
    nph_error err = NPH_ERROR_INIT;
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        if (c->n_events == 0) {
            struct timespec until = nph_clock_deadline(1000);
            pthread_cond_timedwait(&c->wake, &c->lock, &until);
        }
        size_t n = 0;
        char(*events)[40] = take_events(c, &n);
        bool stopping = c->stopping;
        pthread_mutex_unlock(&c->lock);
        for (size_t i = 0; i < n && !stopping; i++)
            sync_one(c, events[i]);
        free(events);
        time_t now = now_s();
        if (!stopping && now >= next_beat) {
            if (compute_heartbeat(c, &err) != NPH_OK)
                nph_warn("heartbeat failed: %s", err.message);
            next_beat = now + c->report_interval_s;
        }
        if (!stopping && now >= next_nodes) {
            if (compute_report_nodes(c, &err) != NPH_OK)
                nph_warn("node inventory report failed: %s", err.message);
            next_nodes = now + c->resource_interval_s;
        }
        if (!stopping && now >= next_sync) {
            sync_all(c);
            next_sync = now + c->sync_interval_s;
        }
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

nph_status compute_periodic_start(nph_compute *c, nph_error *err)
{
    int rc = pthread_create(&c->periodic, NULL, periodic_main, c);
    if (rc != 0)
        return nph_error_set(err, NPH_ERR_BACKEND, "cannot start the periodic task thread: %s",
                             strerror(rc));
    c->periodic_started = true;
    return NPH_OK;
}

void compute_periodic_stop(nph_compute *c)
{
    if (!c->periodic_started)
        return;
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->periodic, NULL);
    c->periodic_started = false;
}
