/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reconnect watcher: when libvirtd goes away (a crash, an upgrade), the
 * close callback wakes this thread, which reconnects as soon as libvirtd
 * answers again (every second until then).  Lifecycle events then flow
 * without waiting for the next operation to reconnect, and every guest is
 * handed to the compute service for a sync, since the events of the outage
 * (a guest that stopped meanwhile) were lost.  Its own thread: libvirt calls
 * must not be made from the event loop's.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "error.h"
#include "lv.h"

/* An event per guest of ours carrying its state now: the compute service
 * syncs each one it is told about. */
static void resync(struct lv_driver *d, virConnectPtr conn)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, 0);
    char uuid[VIR_UUID_STRING_BUFLEN];
    for (int i = 0; i < n; i++) {
        const char *name = virDomainGetName(doms[i]);
        virDomainInfo info;
        if (name && strncmp(name, LV_NAME_PREFIX, strlen(LV_NAME_PREFIX)) == 0 &&
            virDomainGetUUIDString(doms[i], uuid) == 0 && virDomainGetInfo(doms[i], &info) == 0) {
            nph_power_state ps = lv_power_state(doms[i], info.state);
            nph_lifecycle_event ev = ps == NPH_POWER_RUNNING     ? NPH_EVENT_STARTED
                                     : ps == NPH_POWER_PAUSED    ? NPH_EVENT_PAUSED
                                     : ps == NPH_POWER_SUSPENDED ? NPH_EVENT_SUSPENDED
                                     : ps == NPH_POWER_CRASHED   ? NPH_EVENT_CRASHED
                                                                 : NPH_EVENT_STOPPED;
            struct nph_driver_event e = { uuid, d->node, ev, ps };
            d->svc->emit_event(d->host, &e);
        }
        virDomainFree(doms[i]);
    }
    free(doms);
    virResetLastError();
    d->svc->log(d->host, NPH_LOG_INFO, "reconnected to %s: %d guest(s) handed over for a sync",
                d->cfg.uri, n < 0 ? 0 : n);
}

/* One attempt; true once connected again. */
static bool reconnect(struct lv_driver *d)
{
    nph_error err = NPH_ERROR_INIT;
    virConnectPtr conn = lv_conn_get(d, &err);
    if (!conn)
        return false;
    resync(d, conn);
    virConnectClose(conn);
    return true;
}

static void *watch_main(void *opaque)
{
    struct lv_driver *d = opaque;
    pthread_mutex_lock(&d->watch_lock);
    while (!d->watch_stop) {
        if (!atomic_load(&d->conn_lost)) {
            pthread_cond_wait(&d->watch_wake, &d->watch_lock);
            continue;
        }
        pthread_mutex_unlock(&d->watch_lock);
        bool back = reconnect(d);
        pthread_mutex_lock(&d->watch_lock);
        if (!back && !d->watch_stop) {
            struct timespec until = nph_clock_deadline(1000);
            pthread_cond_timedwait(&d->watch_wake, &d->watch_lock, &until);
        }
    }
    pthread_mutex_unlock(&d->watch_lock);
    return NULL;
}

void lv_watch_wake(struct lv_driver *d)
{
    pthread_mutex_lock(&d->watch_lock);
    pthread_cond_signal(&d->watch_wake);
    pthread_mutex_unlock(&d->watch_lock);
}

nph_status lv_watch_start(struct lv_driver *d, nph_error *err)
{
    d->watch_stop = false;
    int rc = pthread_create(&d->watch, NULL, watch_main, d);
    if (rc != 0)
        return nph_error_set(err, NPH_ERR_BACKEND, "cannot start the libvirt reconnect thread: %s",
                             strerror(rc));
    d->watch_running = true;
    return NPH_OK;
}

void lv_watch_stop(struct lv_driver *d)
{
    if (!d->watch_running)
        return;
    pthread_mutex_lock(&d->watch_lock);
    d->watch_stop = true;
    pthread_cond_signal(&d->watch_wake);
    pthread_mutex_unlock(&d->watch_lock);
    pthread_join(d->watch, NULL);
    d->watch_running = false;
}
