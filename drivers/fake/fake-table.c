/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake.h"

static uint64_t hash_uuid(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

nph_status fake_table_init(struct fake_table *t)
{
    t->n_buckets = 256;
    t->count = 0;
    t->buckets = calloc(t->n_buckets, sizeof(*t->buckets));
    return t->buckets ? NPH_OK : NPH_ERR_NO_MEMORY;
}

void fake_table_free(struct fake_table *t)
{
    for (size_t i = 0; i < t->n_buckets; i++) {
        struct fake_instance *inst = t->buckets[i];
        while (inst) {
            struct fake_instance *next = inst->next;
            nph_buffer_reset(&inst->console);
            free(inst);
            inst = next;
        }
    }
    free(t->buckets);
    t->buckets = NULL;
    t->n_buckets = t->count = 0;
}

struct fake_instance *fake_table_find(const struct fake_table *t, const char *uuid)
{
    struct fake_instance *inst = t->buckets[hash_uuid(uuid) % t->n_buckets];
    while (inst && strcmp(inst->uuid, uuid) != 0)
        inst = inst->next;
    return inst;
}

static void grow(struct fake_table *t)
{
    size_t n = t->n_buckets * 2;
    struct fake_instance **buckets = calloc(n, sizeof(*buckets));
    if (!buckets)
        return; /* keep the smaller table: slower, still correct */
    for (size_t i = 0; i < t->n_buckets; i++) {
        struct fake_instance *inst = t->buckets[i];
        while (inst) {
            struct fake_instance *next = inst->next;
            size_t b = hash_uuid(inst->uuid) % n;
            inst->next = buckets[b];
            buckets[b] = inst;
            inst = next;
        }
    }
    free(t->buckets);
    t->buckets = buckets;
    t->n_buckets = n;
}

struct fake_instance *fake_table_add(struct fake_table *t, const char *uuid)
{
    if (t->count >= t->n_buckets)
        grow(t);
    struct fake_instance *inst = calloc(1, sizeof(*inst));
    if (!inst)
        return NULL;
    snprintf(inst->uuid, sizeof(inst->uuid), "%s", uuid);
    size_t b = hash_uuid(uuid) % t->n_buckets;
    inst->next = t->buckets[b];
    t->buckets[b] = inst;
    t->count++;
    return inst;
}

void fake_table_remove(struct fake_table *t, const char *uuid)
{
    struct fake_instance **link = &t->buckets[hash_uuid(uuid) % t->n_buckets];
    while (*link && strcmp((*link)->uuid, uuid) != 0)
        link = &(*link)->next;
    if (!*link)
        return;
    struct fake_instance *gone = *link;
    *link = gone->next;
    nph_buffer_reset(&gone->console);
    free(gone);
    t->count--;
}
