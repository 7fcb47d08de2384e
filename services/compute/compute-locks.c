/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One operation per instance at a time, and only per instance: the set of
 * instance UUIDs held right now.  A lock per stripe of UUIDs (64 stripes)
 * made unrelated builds wait for each other: among 20 concurrent builds
 * two UUIDs share a stripe 96% of the time, and a baremetal build behind
 * another waited its whole deploy.  The set holds at most one entry per
 * running operation (the bus workers and the periodic task), so a scan
 * is cheap.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compute-internal.h"

static size_t held_index(const nph_compute *c, const char *uuid)
{
    for (size_t i = 0; i < c->n_held; i++)
        if (strcmp(c->held[i], uuid) == 0)
            return i;
    return SIZE_MAX;
}

/* Add `uuid` to the held set; false when out of memory. */
static bool hold(nph_compute *c, const char *uuid)
{
    if (c->n_held == c->cap_held) {
        size_t cap = c->cap_held ? c->cap_held * 2 : 16;
        char **grown = realloc(c->held, cap * sizeof(*grown));
        if (!grown)
            return false;
        c->held = grown;
        c->cap_held = cap;
    }
    char *copy = strdup(uuid);
    if (!copy)
        return false;
    c->held[c->n_held++] = copy;
    return true;
}

void compute_lock_instance(nph_compute *c, const char *uuid)
{
    pthread_mutex_lock(&c->held_lock);
    /* Out of memory: wait for an operation to end and try again. */
    while (held_index(c, uuid) != SIZE_MAX || !hold(c, uuid))
        pthread_cond_wait(&c->released, &c->held_lock);
    pthread_mutex_unlock(&c->held_lock);
}

bool compute_trylock_instance(nph_compute *c, const char *uuid)
{
    pthread_mutex_lock(&c->held_lock);
    bool taken = held_index(c, uuid) == SIZE_MAX && hold(c, uuid);
    pthread_mutex_unlock(&c->held_lock);
    return taken;
}

void compute_unlock_instance(nph_compute *c, const char *uuid)
{
    pthread_mutex_lock(&c->held_lock);
    size_t i = held_index(c, uuid);
    if (i != SIZE_MAX) {
        free(c->held[i]);
        c->held[i] = c->held[--c->n_held];
    }
    pthread_cond_broadcast(&c->released);
    pthread_mutex_unlock(&c->held_lock);
}
