/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The driver's vSphere sessions: several connections, each logged in on its
 * own, so that the calls of concurrent operations run side by side (a spawn
 * on a real vCenter follows tasks for seconds; with one session every other
 * operation of the compute host waited for it).  An operation takes one
 * session for all of its calls, then gives it back. */
#ifndef VMW_POOL_H
#define VMW_POOL_H

#include "vmw-soap.h"

struct vmw_pool {
    struct vmw_conn *conns;  /* `size` of them, all logged in */
    size_t size;
    pthread_mutex_t lock;    /* guards each conn's `busy` */
    pthread_cond_t freed;
};

/* Open up to `size` sessions.  The first must log in (its error is the
 * result); when a later one cannot (a server's session limit), the pool
 * keeps those it has, *opened says how many and `why` why not more. */
nph_status vmw_pool_open(struct vmw_pool *p, const struct vmw_conn_options *o, size_t size,
                         size_t *opened, nph_error *err, nph_error *why);
/* Log out of every session and free them. */
void vmw_pool_close(struct vmw_pool *p);

/* A free session, waiting for one when all are in use; its lock is held.
 * A thread holds one at a time: taking a second while holding one could
 * wait for ever. */
struct vmw_conn *vmw_pool_take(struct vmw_pool *p);
/* Give it back, freeing what gSOAP allocated for its replies. */
void vmw_pool_give(struct vmw_conn **c);

/* `c`, a session of pool `p` for the rest of the block. */
#define VMW_SESSION(c, p) \
    __attribute__((cleanup(vmw_pool_give))) struct vmw_conn *c = vmw_pool_take(p)

#endif
