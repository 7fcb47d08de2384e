/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The connection to libvirt and its event loop.  One event-loop thread per
 * process runs libvirt's default event implementation for every driver
 * instance; it delivers domain lifecycle events (turned into power-state
 * events for the compute service), the close of a connection (libvirtd went
 * away: the next call reconnects) and the image cache manager's timer.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "lv.h"

/* ------------------------------------------------------------------------ */
/* The process-wide event loop, started by the first driver instance and    */
/* stopped by the last (the module may be unloaded after that).            */

static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static int loop_users;
static pthread_t loop_thread;
static atomic_bool loop_stop;
static int loop_wakeup = -1; /* a timer fired to make the loop look at loop_stop */
static bool loop_registered;

static void wakeup_cb(int timer, void *opaque)
{
    virEventUpdateTimeout(timer, -1);
}

static void *loop_main(void *opaque)
{
    while (!atomic_load(&loop_stop))
        virEventRunDefaultImpl();
    return NULL;
}

static void ignore_error(void *opaque, virErrorPtr error)
{
    /* Errors are read with virGetLastError where they happen. */
}

static nph_status loop_acquire(struct lv_driver *d, nph_error *err)
{
    pthread_mutex_lock(&loop_lock);
    nph_status st = NPH_OK;
    if (!loop_registered) {
        virSetErrorFunc(NULL, ignore_error);
        if (virEventRegisterDefaultImpl() < 0)
            st = nph_error_set(err, NPH_ERR_BACKEND, "cannot set up libvirt's event loop");
        loop_registered = st == NPH_OK;
    }
    if (st == NPH_OK && loop_users == 0) {
        atomic_store(&loop_stop, false);
        loop_wakeup = virEventAddTimeout(-1, wakeup_cb, NULL, NULL);
        if (loop_wakeup < 0 || pthread_create(&loop_thread, NULL, loop_main, NULL) != 0)
            st = nph_error_set(err, NPH_ERR_BACKEND, "cannot start the libvirt event thread");
    }
    if (st == NPH_OK)
        loop_users++;
    pthread_mutex_unlock(&loop_lock);
    return st;
}

static void loop_release(void)
{
    pthread_mutex_lock(&loop_lock);
    if (--loop_users == 0) {
        atomic_store(&loop_stop, true);
        virEventUpdateTimeout(loop_wakeup, 0);
        pthread_join(loop_thread, NULL);
        virEventRemoveTimeout(loop_wakeup);
        loop_wakeup = -1;
    }
    pthread_mutex_unlock(&loop_lock);
}

/* ------------------------------------------------------------------------ */
/* Lifecycle events.                                                        */

/* libvirt's event and detail as Nova's transition and power state; false
 * for the ones that say nothing new (a shutdown is followed by STOPPED). */
static bool translate(int event, int detail, nph_lifecycle_event *ev, nph_power_state *ps)
{
    switch (event) {
    case VIR_DOMAIN_EVENT_STARTED:
        *ev = NPH_EVENT_STARTED, *ps = NPH_POWER_RUNNING;
        return true;
    case VIR_DOMAIN_EVENT_RESUMED:
        *ev = NPH_EVENT_RESUMED, *ps = NPH_POWER_RUNNING;
        return true;
    case VIR_DOMAIN_EVENT_SUSPENDED:
        *ev = NPH_EVENT_PAUSED, *ps = NPH_POWER_PAUSED;
        return true;
    case VIR_DOMAIN_EVENT_PMSUSPENDED:
        *ev = NPH_EVENT_SUSPENDED, *ps = NPH_POWER_SUSPENDED;
        return true;
    case VIR_DOMAIN_EVENT_STOPPED:
        if (detail == VIR_DOMAIN_EVENT_STOPPED_SAVED)
            *ev = NPH_EVENT_SUSPENDED, *ps = NPH_POWER_SUSPENDED;
        else if (detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED)
            *ev = NPH_EVENT_CRASHED, *ps = NPH_POWER_CRASHED;
        else
            *ev = NPH_EVENT_STOPPED, *ps = NPH_POWER_SHUTDOWN;
        return true;
    case VIR_DOMAIN_EVENT_CRASHED:
        *ev = NPH_EVENT_CRASHED, *ps = NPH_POWER_CRASHED;
        return true;
    case VIR_DOMAIN_EVENT_UNDEFINED:
        /* Gone (perhaps behind our back): the sync reads NOSTATE. */
        *ev = NPH_EVENT_STOPPED, *ps = NPH_POWER_NOSTATE;
        return true;
    default:
        return false;
    }
}

static int lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    struct lv_driver *d = opaque;
    char uuid[VIR_UUID_STRING_BUFLEN];
    nph_lifecycle_event ev;
    nph_power_state ps;
    const char *name = virDomainGetName(dom);
    /* By name: no call back into libvirt from its event thread (and an
     * undefined domain has no metadata left to ask). */
    bool ours = name && strncmp(name, LV_NAME_PREFIX, strlen(LV_NAME_PREFIX)) == 0;
    if (!ours || !translate(event, detail, &ev, &ps) || virDomainGetUUIDString(dom, uuid) < 0)
        return 0;
    struct nph_driver_event e = { uuid, d->node, ev, ps };
    d->svc->log(d->host, NPH_LOG_DEBUG, "domain %s: libvirt event %d/%d", uuid, event, detail);
    d->svc->emit_event(d->host, &e);
    return 0;
}

static void close_cb(virConnectPtr conn, int reason, void *opaque)
{
    struct lv_driver *d = opaque;
    atomic_store(&d->conn_lost, true);
    lv_watch_wake(d);
}

/* ------------------------------------------------------------------------ */
/* The connection.                                                          */

nph_status lv_error(struct lv_driver *d, nph_error *err, nph_status code, const char *what,
                    const char *uuid)
{
    virErrorPtr e = virGetLastError();
    if (e && (e->code == VIR_ERR_NO_DOMAIN))
        code = NPH_ERR_NOT_FOUND;
    else if (e && e->code == VIR_ERR_OPERATION_INVALID)
        code = NPH_ERR_CONFLICT;
    else if (e && e->code == VIR_ERR_NO_SUPPORT)
        code = NPH_ERR_NOT_SUPPORTED;
    nph_status st = d->svc->error(err, code, "%s%s%s: %s", what, uuid ? " of instance " : "",
                                  uuid ? uuid : "", e && e->message ? e->message : "libvirt failed");
    virResetLastError();
    return st;
}

/* Drop a lost connection.  Caller holds d->lock. */
static void drop(struct lv_driver *d)
{
    if (!d->conn)
        return;
    if (d->lifecycle_cb >= 0)
        virConnectDomainEventDeregisterAny(d->conn, d->lifecycle_cb);
    virConnectUnregisterCloseCallback(d->conn, close_cb);
    virConnectClose(d->conn);
    virResetLastError();
    d->conn = NULL;
    d->lifecycle_cb = -1;
}

/* Open and subscribe.  Caller holds d->lock. */
static nph_status reopen(struct lv_driver *d, nph_error *err)
{
    drop(d);
    atomic_store(&d->conn_lost, false);
    d->conn = virConnectOpen(d->cfg.uri);
    if (!d->conn) {
        atomic_store(&d->conn_lost, true); /* the watcher tries again */
        return lv_error(d, err, NPH_ERR_BACKEND, "cannot connect to libvirt", NULL);
    }
    if (virConnectRegisterCloseCallback(d->conn, close_cb, d, NULL) < 0)
        virResetLastError(); /* drivers without one (test:///) never close */
    d->lifecycle_cb = virConnectDomainEventRegisterAny(
        d->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(lifecycle_cb), d,
        NULL);
    if (d->lifecycle_cb < 0) {
        nph_status st = lv_error(d, err, NPH_ERR_BACKEND, "cannot subscribe to domain events", NULL);
        drop(d);
        atomic_store(&d->conn_lost, true);
        return st;
    }
    d->svc->log(d->host, NPH_LOG_INFO, "connected to %s", d->cfg.uri);
    return NPH_OK;
}

virConnectPtr lv_conn_get(struct lv_driver *d, nph_error *err)
{
    pthread_mutex_lock(&d->lock);
    nph_status st = NPH_OK;
    if (!d->conn || atomic_load(&d->conn_lost) || virConnectIsAlive(d->conn) != 1) {
        if (d->conn)
            d->svc->log(d->host, NPH_LOG_WARNING, "connection to %s lost: reconnecting",
                        d->cfg.uri);
        st = reopen(d, err);
    }
    virConnectPtr c = NULL;
    if (st == NPH_OK && virConnectRef(d->conn) == 0)
        c = d->conn;
    pthread_mutex_unlock(&d->lock);
    return c;
}

nph_status lv_domain_get(struct lv_driver *d, const char *uuid, virDomainPtr *out, nph_error *err)
{
    *out = NULL;
    lv_auto_conn conn = lv_conn_get(d, err);
    if (!conn)
        return err ? err->code : NPH_ERR_BACKEND;
    *out = virDomainLookupByUUIDString(conn, uuid);
    if (*out)
        return NPH_OK;
    return lv_error(d, err, NPH_ERR_NOT_FOUND, "no domain", uuid);
}

static void cache_timer_cb(int timer, void *opaque)
{
    struct lv_driver *d = opaque;
    lv_cache_prune(d, d->cfg.image_cache_max_age_s);
}

nph_status lv_conn_start(struct lv_driver *d, nph_error *err)
{
    d->lifecycle_cb = -1;
    d->cache_timer = -1;
    nph_status st = loop_acquire(d, err);
    if (st != NPH_OK)
        return st;
    pthread_mutex_lock(&d->lock);
    st = reopen(d, err);
    pthread_mutex_unlock(&d->lock);
    if (st == NPH_OK)
        st = lv_watch_start(d, err);
    if (st == NPH_OK && d->cfg.image_cache_interval_s > 0)
        d->cache_timer = virEventAddTimeout(d->cfg.image_cache_interval_s * 1000, cache_timer_cb,
                                            d, NULL);
    if (st != NPH_OK) {
        pthread_mutex_lock(&d->lock);
        drop(d);
        pthread_mutex_unlock(&d->lock);
        loop_release();
    }
    return st;
}

void lv_conn_stop(struct lv_driver *d)
{
    lv_watch_stop(d);
    if (d->cache_timer >= 0)
        virEventRemoveTimeout(d->cache_timer);
    pthread_mutex_lock(&d->lock);
    drop(d);
    pthread_mutex_unlock(&d->lock);
    loop_release();
}
