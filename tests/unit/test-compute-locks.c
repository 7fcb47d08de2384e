/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The compute service's instance locks: an instance is held by one
 * operation at a time, and operations on different instances never wait
 * for each other (a lock per stripe of UUIDs made them).
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "compute-internal.h"
#include "tap.h"

static atomic_int acquired;

static void *take_a(void *opaque)
{
    nph_compute *c = opaque;
    compute_lock_instance(c, "aaaaaaaa-0000-4000-8000-000000000001");
    atomic_store(&acquired, 1);
    compute_unlock_instance(c, "aaaaaaaa-0000-4000-8000-000000000001");
    return NULL;
}

int main(void)
{
    nph_compute c = { 0 };
    pthread_mutex_init(&c.held_lock, NULL);
    pthread_cond_init(&c.released, NULL);
    const char *a = "aaaaaaaa-0000-4000-8000-000000000001";
    const char *b = "bbbbbbbb-0000-4000-8000-000000000002";

    ok(compute_trylock_instance(&c, a), "a free instance is taken");
    ok(!compute_trylock_instance(&c, a), "a held instance is not taken twice");
    ok(compute_trylock_instance(&c, b), "another instance is taken while the first is held");
    compute_unlock_instance(&c, b);

    pthread_t t;
    pthread_create(&t, NULL, take_a, &c);
    usleep(50000);
    is_int(atomic_load(&acquired), 0, "an operation on a held instance waits");
    compute_unlock_instance(&c, a);
    pthread_join(t, NULL);
    is_int(atomic_load(&acquired), 1, "it goes on once the instance is released");
    is_int(c.n_held, 0, "nothing is held after both ended");

    char uuids[100][40];
    for (int i = 0; i < 100; i++) {
        snprintf(uuids[i], sizeof(uuids[i]), "cccccccc-0000-4000-8000-%012d", i);
        compute_lock_instance(&c, uuids[i]);
    }
    is_int(c.n_held, 100, "100 instances held at once, none waiting for another");
    for (int i = 0; i < 100; i++)
        compute_unlock_instance(&c, uuids[i]);
    is_int(c.n_held, 0, "all released");
    ok(compute_trylock_instance(&c, uuids[42]), "a released instance is taken again");
    compute_unlock_instance(&c, uuids[42]);

    free(c.held);
    pthread_mutex_destroy(&c.held_lock);
    pthread_cond_destroy(&c.released);
    return tap_done();
}
