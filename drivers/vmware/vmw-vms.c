/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which VM is an instance's.  SearchIndex.FindByUuid answers, and the answer
 * is remembered for the session: a VM's managed object id never changes and
 * is never given to another VM while the server runs, so each operation after
 * the spawn saves that round trip.  The table is the driver's, shared by its
 * sessions.  A re-login of any session (the server may have restarted and
 * numbered its objects anew) forgets everything, and a remembered VM the
 * server no longer knows (removed or re-registered behind our back:
 * ManagedObjectNotFound) is forgotten and looked up again (see VMW_ON_VM). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmw-ops.h"

/* Enough for any one vCenter's instances of a compute host; past that the
 * table starts again rather than grow without bound. */
#define VMS_MAX 16384

/* With vms_lock held.  `c` is the session in use: when it logged in again
 * since the table last saw it, the table starts again. */
static struct vmw_known_vm *known(struct vmw_driver *d, struct vmw_conn *c, const char *uuid)
{
    if (c->vms_seen != c->sessions) {
        d->n_vms = 0;
        c->vms_seen = c->sessions;
    }
    for (size_t i = 0; i < d->n_vms; i++)
        if (!strcmp(d->vms[i].uuid, uuid))
            return &d->vms[i];
    return NULL;
}

void vmw_remember_vm(struct vmw_driver *d, struct vmw_conn *c, const char *uuid,
                     const struct vmw_ref *vm)
{
    pthread_mutex_lock(&d->vms_lock);
    struct vmw_known_vm *k = known(d, c, uuid);
    if (!k && strlen(uuid) < sizeof(k->uuid)) {
        if (d->n_vms == d->cap_vms) {
            size_t cap = d->cap_vms ? d->cap_vms * 2 : 64;
            struct vmw_known_vm *grown = cap <= VMS_MAX ? realloc(d->vms, cap * sizeof(*grown)) : NULL;
            if (grown) {
                d->vms = grown;
                d->cap_vms = cap;
            } else
                d->n_vms = 0; /* only a cache: start again */
            if (!d->cap_vms) {
                pthread_mutex_unlock(&d->vms_lock);
                return;
            }
        }
        k = &d->vms[d->n_vms++];
        snprintf(k->uuid, sizeof(k->uuid), "%s", uuid);
    }
    if (k)
        k->vm = *vm;
    pthread_mutex_unlock(&d->vms_lock);
}

void vmw_forget_vm(struct vmw_driver *d, struct vmw_conn *c, const char *uuid)
{
    pthread_mutex_lock(&d->vms_lock);
    struct vmw_known_vm *k = known(d, c, uuid);
    if (k)
        *k = d->vms[--d->n_vms];
    pthread_mutex_unlock(&d->vms_lock);
}

static nph_status find_by_uuid(struct vmw_driver *d, struct vmw_conn *c, const char *uuid,
                               struct vmw_ref *vm, nph_error *err)
{
    struct vim25__FindByUuidRequest req = { vmw_mor(c, &c->search_index), NULL, (char *)uuid,
                                            "true", "true" };
    struct vim25__MorResponse resp;
    nph_status st = VMW_CALL(c, err, FindByUuid, &req, &resp);
    if (st != NPH_OK)
        return st;
    if (!vmw_ref_set(vm, resp.returnval))
        return nph_error_set(err, NPH_ERR_NOT_FOUND, "instance %s has no VM at %s", uuid,
                             d->opt.url);
    vmw_remember_vm(d, c, uuid, vm);
    return NPH_OK;
}

nph_status vmw_lookup_vm(struct vmw_driver *d, struct vmw_conn *c, const char *uuid,
                         struct vmw_ref *vm, bool *remembered, nph_error *err)
{
    pthread_mutex_lock(&d->vms_lock);
    const struct vmw_known_vm *k = known(d, c, uuid);
    *remembered = k != NULL;
    if (k)
        *vm = k->vm;
    pthread_mutex_unlock(&d->vms_lock);
    return *remembered ? NPH_OK : find_by_uuid(d, c, uuid, vm, err);
}

nph_status vmw_find_vm(struct vmw_driver *d, struct vmw_conn *c, const char *uuid,
                       struct vmw_ref *vm, nph_error *err)
{
    vmw_forget_vm(d, c, uuid);
    return find_by_uuid(d, c, uuid, vm, err);
}
