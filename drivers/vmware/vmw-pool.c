/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A pool of vSphere sessions (see vmw-pool.h). */
#include "config.h"

#include <stdlib.h>

#include "vmw-pool.h"

nph_status vmw_pool_open(struct vmw_pool *p, const struct vmw_conn_options *o, size_t size,
                         size_t *opened, nph_error *err, nph_error *why)
{
    *p = (struct vmw_pool){ .conns = calloc(size ? size : 1, sizeof(*p->conns)) };
    if (!p->conns)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory for %zu sessions", size);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    nph_status st = NPH_OK;
    for (size_t i = 0; i < (size ? size : 1); i++) {
        nph_error *e = i == 0 ? err : why;
        struct vmw_conn *c = &p->conns[i];
        st = vmw_conn_init(c, o, e);
        if (st == NPH_OK && (st = vmw_conn_open(c, e)) != NPH_OK)
            vmw_conn_free(c);
        if (st != NPH_OK)
            break;
        c->pool = p;
        c->vms_seen = c->sessions; /* only a re-login makes vmw-vms.c's table start again */
        p->size++;
    }
    *opened = p->size;
    if (p->size == 0) {
        vmw_pool_close(p);
        return st;
    }
    return NPH_OK;
}

void vmw_pool_close(struct vmw_pool *p)
{
    if (!p->conns)
        return;
    for (size_t i = 0; i < p->size; i++)
        vmw_conn_free(&p->conns[i]);
    free(p->conns);
    p->conns = NULL;
    p->size = 0;
    pthread_cond_destroy(&p->freed);
    pthread_mutex_destroy(&p->lock);
}

struct vmw_conn *vmw_pool_take(struct vmw_pool *p)
{
    struct vmw_conn *c = NULL;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        /* The lowest free one: a driver used by one thread at a time keeps
         * using its first session. */
        for (size_t i = 0; i < p->size && !c; i++)
            if (!p->conns[i].busy)
                c = &p->conns[i];
        if (c)
            break;
        pthread_cond_wait(&p->freed, &p->lock);
    }
    c->busy = true;
    pthread_mutex_unlock(&p->lock);
    vmw_lock(c);
    return c;
}

void vmw_pool_give(struct vmw_conn **c)
{
    struct vmw_conn *conn = *c;
    if (!conn)
        return;
    struct vmw_pool *p = conn->pool;
    vmw_unlock(c);
    pthread_mutex_lock(&p->lock);
    conn->busy = false;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}
