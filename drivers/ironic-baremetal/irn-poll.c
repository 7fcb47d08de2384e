/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state poller: one thread fetches the state of every node that an
 * operation waits on (a deploy, a tear down, a power action) and hands
 * each waiter its node.  A single-process Ironic spends its one core on
 * every request, and polls take it from the deploys: 20 builds polling
 * their own node made ~220 GETs (~13 ms of Ironic's CPU each) while 20
 * fake deploys cost ~2 s.  One listing of the associated nodes answers
 * them all for about the price of one GET (measured on Ironic 21: a GET
 * costs ~11 ms, a listing ~8 ms + 0.23 ms per node), so the poller lists
 * when enough waiters share it and GETs each node otherwise.
 *
 * When: each waiter wants a fresh state poll_min_ms after it joined, then
 * at intervals growing by half up to poll_max_ms (a fake deploy takes
 * 0.2 s, a real one minutes); one round serves every waiter.  Rounds are
 * spaced by at least twice the last round's duration, so a busy Ironic
 * (slow answers) is asked less often while it works, but never by more
 * than 250 ms: a slow answer is mostly waiting behind other requests, not
 * the listing's own cost, and the deploy that ends the burst should be
 * seen at once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "irn-driver.h"

/* A listing pays when it carries fewer than this many nodes per waiter. */
#define LIST_NODES_PER_WAITER 40
/* Rounds start no sooner than this many times the last round's duration,
 * up to ROUND_SPACING_MAX_NS after the last one started. */
#define ROUND_SPACING 2
#define ROUND_SPACING_MAX_NS 250000000ull

/* One node of a round: its UUID and what Ironic said. */
struct asked {
    char uuid[IRN_UUID_LEN];
    json_object *node; /* NULL: not answered (yet) */
    nph_status st;
    nph_error err;
};

struct round {
    struct asked *nodes; /* sorted by uuid, no duplicates */
    size_t n;
    size_t associated;   /* nodes with an instance in the last listing */
};

static int by_uuid(const void *a, const void *b)
{
    return strcmp(((const struct asked *)a)->uuid, ((const struct asked *)b)->uuid);
}

static struct asked *find(struct round *r, const char *uuid)
{
    struct asked key;
    snprintf(key.uuid, sizeof(key.uuid), "%s", uuid);
    return bsearch(&key, r->nodes, r->n, sizeof(key), by_uuid);
}

/* ------------------------------------------------------------------------ */
/* Asking Ironic.                                                           */

static nph_status take_listed(void *opaque, json_object *item, nph_error *err)
{
    struct round *r = opaque;
    const char *uuid = irn_str(item, "uuid");
    struct asked *a = uuid ? find(r, uuid) : NULL;
    if (a && !a->node && json_object_deep_copy(item, &a->node, NULL) != 0)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory copying a node");
    return NPH_OK;
}

static void ask_ironic(struct irn_driver *d, struct round *r)
{
    if (r->n >= 2 && r->associated <= LIST_NODES_PER_WAITER * r->n) {
        char path[512];
        snprintf(path, sizeof(path), "/v1/nodes?associated=true&fields=%s&limit=%u",
                 IRN_WATCH_FIELDS, d->page_size);
        nph_error err = NPH_ERROR_INIT;
        if (irn_list(d->client, path, "nodes", take_listed, r, &err) != NPH_OK)
            d->svc->log(d->host, NPH_LOG_WARNING, "listing the nodes waited on: %s; asking each",
                        err.message);
    }
    /* Not listed (no instance any more, or no listing): ask the node. */
    for (size_t i = 0; i < r->n; i++)
        if (!r->nodes[i].node)
            r->nodes[i].st = irn_node_fetch(d, r->nodes[i].uuid, &r->nodes[i].node,
                                            &r->nodes[i].err);
}

/* ------------------------------------------------------------------------ */
/* Rounds.  The lock is held except while asking Ironic.                    */

/* The nodes the waiters wait on, each waiter marked as asked. */
static bool take_round(struct irn_driver *d, struct round *r)
{
    size_t n = 0;
    for (struct irn_waiter *w = d->waiters; w; w = w->next)
        n++;
    r->nodes = calloc(n, sizeof(*r->nodes));
    if (!r->nodes)
        return false;
    for (struct irn_waiter *w = d->waiters; w; w = w->next) {
        w->asked = true;
        snprintf(r->nodes[r->n++].uuid, IRN_UUID_LEN, "%s", w->uuid);
    }
    qsort(r->nodes, r->n, sizeof(*r->nodes), by_uuid);
    size_t kept = 0; /* two operations may wait on one node */
    for (size_t i = 0; i < r->n; i++)
        if (!kept || strcmp(r->nodes[kept - 1].uuid, r->nodes[i].uuid) != 0)
            r->nodes[kept++] = r->nodes[i];
    r->n = kept;
    for (size_t i = 0; i < d->n_nodes; i++)
        r->associated += d->nodes[i].instance_uuid[0] != '\0';
    return true;
}

/* Each waiter that was asked gets its node (a copy of its own) or the error. */
static void hand_out(struct irn_driver *d, struct round *r, uint64_t now)
{
    for (struct irn_waiter *w = d->waiters; w; w = w->next) {
        struct asked *a = w->asked ? find(r, w->uuid) : NULL;
        if (!a)
            continue;
        w->asked = false;
        json_object_put(w->node);
        w->node = NULL;
        w->st = a->st;
        w->err = a->err;
        if (a->st == NPH_OK && json_object_deep_copy(a->node, &w->node, NULL) != 0)
            w->st = nph_error_set(&w->err, NPH_ERR_NO_MEMORY, "out of memory copying a node");
        w->answered = true;
        w->due_ns = now + (uint64_t)w->interval_ms * 1000000ull;
        w->interval_ms += w->interval_ms / 2;
        if (w->interval_ms > d->poll_max_ms)
            w->interval_ms = d->poll_max_ms;
    }
    pthread_cond_broadcast(&d->polled);
}

static void round_free(struct round *r)
{
    for (size_t i = 0; i < r->n; i++)
        json_object_put(r->nodes[i].node);
    free(r->nodes);
}

/* When the next round may start: the earliest due waiter, spaced from the
 * last round; 0 when nobody waits. */
static uint64_t next_round(struct irn_driver *d, uint64_t last_start, uint64_t last_took)
{
    uint64_t due = 0;
    for (struct irn_waiter *w = d->waiters; w; w = w->next)
        if (!due || w->due_ns < due)
            due = w->due_ns;
    uint64_t spacing = last_took * ROUND_SPACING;
    if (spacing > ROUND_SPACING_MAX_NS)
        spacing = ROUND_SPACING_MAX_NS;
    if (spacing < (uint64_t)d->poll_min_ms * 1000000ull)
        spacing = (uint64_t)d->poll_min_ms * 1000000ull;
    if (due && due < last_start + spacing)
        due = last_start + spacing;
    return due;
}

static void *poller_main(void *opaque)
{
    struct irn_driver *d = opaque;
    uint64_t last_start = 0, last_took = 0;
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        uint64_t due = next_round(d, last_start, last_took), now = nph_clock_monotonic_ns();
        if (!due || due > now) {
            long ms = due ? (long)((due - now) / 1000000 + 1) : 60000; /* idle: wait to be woken */
            struct timespec until = nph_clock_deadline(ms);
            pthread_cond_timedwait(&d->poll_wake, &d->lock, &until);
            continue;
        }
        struct round r = { 0 };
        if (!take_round(d, &r)) {
            pthread_mutex_unlock(&d->lock);
            nph_clock_sleep_ms(d->poll_min_ms);
            pthread_mutex_lock(&d->lock);
            continue;
        }
        pthread_mutex_unlock(&d->lock);
        ask_ironic(d, &r);
        pthread_mutex_lock(&d->lock);
        uint64_t end = nph_clock_monotonic_ns();
        hand_out(d, &r, end);
        round_free(&r);
        last_start = now;
        last_took = end - now;
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Joining and leaving.                                                     */

void irn_poll_join(struct irn_driver *d, struct irn_waiter *w, const char *uuid)
{
    memset(w, 0, sizeof(*w));
    w->uuid = uuid;
    w->interval_ms = d->poll_min_ms;
    w->due_ns = nph_clock_monotonic_ns() + (uint64_t)d->poll_min_ms * 1000000ull;
    pthread_mutex_lock(&d->lock);
    w->next = d->waiters;
    d->waiters = w;
    pthread_cond_signal(&d->poll_wake);
    pthread_mutex_unlock(&d->lock);
}

/* Caller holds the lock. */
void irn_poll_leave(struct irn_driver *d, struct irn_waiter *w)
{
    for (struct irn_waiter **p = &d->waiters; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
}

nph_status irn_poll_start(struct irn_driver *d, nph_error *err)
{
    if (pthread_create(&d->poller, NULL, poller_main, d) != 0)
        return d->svc->error(err, NPH_ERR_BACKEND, "cannot start the state poller thread");
    d->polling = true;
    return NPH_OK;
}
