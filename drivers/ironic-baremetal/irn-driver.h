/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Ironic baremetal driver: every Ironic node is a compute node; a
 * server is deployed on a whole node through Ironic's REST API. */
#ifndef IRN_DRIVER_H
#define IRN_DRIVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "irn-client.h"
#include "virt-driver.h"

#define IRN_UUID_LEN 40
#define IRN_NAME_MAX 256

/* What the driver knows of one Ironic node from the last listing. */
struct irn_node {
    char uuid[IRN_UUID_LEN];
    char resource_class[IRN_NAME_MAX]; /* CUSTOM_..., normalized as Placement does */
    char provision_state[40];
    char power_state[40];              /* "" for null */
    char instance_uuid[IRN_UUID_LEN];  /* "" for none */
    char cpu_arch[32];
    bool maintenance;
    uint32_t cpus;
    uint64_t memory_mb, local_gb;
};

/* An operation waiting for its node to settle (irn-poll.c).  Lives on the
 * waiting thread's stack; the members below uuid are guarded by the
 * driver's lock. */
struct irn_waiter {
    const char *uuid;
    uint64_t due_ns;        /* wants a state fetched after this (monotonic) */
    unsigned interval_ms;   /* the wait after the next answer */
    bool asked;             /* in the round under way */
    bool answered;          /* node/st are new */
    json_object *node;      /* the newest state (the waiter's own copy) */
    nph_status st;          /* the round could not fetch the node */
    nph_error err;
    struct irn_waiter *next;
};

/* The node state an operation's wait ended on, kept for the power state
 * the compute service reads right after the operation (irn-wait.c). */
struct irn_settled {
    char node[IRN_UUID_LEN];   /* "" for a free slot */
    char instance[IRN_UUID_LEN];
    char power_state[40];
    uint64_t at_ns;            /* monotonic */
};
#define IRN_SETTLED_MAX 64

/* The members the state poller and irn_node_fetch ask for. */
#define IRN_WATCH_FIELDS                                                                    \
    "uuid,provision_state,target_provision_state,power_state,target_power_state,last_error," \
    "instance_uuid,maintenance"

struct irn_driver {
    const struct nph_host_services *svc;
    nph_host *host;
    irn_client *client;

    /* Options, fixed after init_host. */
    unsigned poll_min_ms, poll_max_ms;  /* state watch: first and longest interval */
    unsigned deploy_timeout_s, power_timeout_s, release_timeout_s;
    unsigned cache_ms;                  /* how long a node listing serves node_resources */
    unsigned page_size;
    unsigned power_sync_s;              /* the driver's own power watch; 0: off */

    pthread_mutex_t refresh_lock;       /* one listing at a time (power changes compare two) */
    pthread_mutex_t lock;               /* guards the node list and the watch state */
    struct irn_node *nodes;             /* sorted by uuid */
    size_t n_nodes;
    uint64_t listed_ns;                 /* monotonic time of the listing; 0: never */
    bool listed_before;                 /* a listing to compare power states with */

    pthread_t watcher;
    bool watching, stopping;
    pthread_cond_t wake;

    pthread_t poller;                   /* the state poller (irn-poll.c) */
    bool polling;
    pthread_cond_t poll_wake;           /* a waiter joined, or the driver stops */
    pthread_cond_t polled;              /* waiters were answered */
    struct irn_waiter *waiters;
    struct irn_settled settled[IRN_SETTLED_MAX]; /* guarded by lock */
};

/* irn-nodes.c: the node listing and what it means for the compute side. */
nph_status irn_nodes_refresh(struct irn_driver *d, bool force, nph_error *err);
/* Copy of a node from the listing (refreshed when older than cache_ms). */
nph_status irn_node_get(struct irn_driver *d, const char *uuid, struct irn_node *out,
                        nph_error *err);
/* Nova's rule: a node not ready for a deployment has its one unit reserved. */
bool irn_node_reserved(const struct irn_node *n);
nph_power_state irn_power_state(const char *ironic_power_state);
void irn_normalize_class(const char *name, char *out, size_t len);
nph_status irn_list_nodes(void *drv, nph_node_cb cb, void *opaque, nph_error *err);
nph_status irn_node_resources(void *drv, const char *node, struct nph_node_resources *out,
                              nph_error *err);
nph_status irn_list_instances(void *drv, const char *node, nph_instance_cb cb, void *opaque,
                              nph_error *err);
/* irn-watch.c: lifecycle events for the nodes with an instance whose power
 * state differs between two listings (`a` before `b`, both sorted). */
void irn_power_changes(struct irn_driver *d, const struct irn_node *a, size_t n_a,
                       const struct irn_node *b, size_t n_b);
/* The power watch: emits lifecycle events for power changes made behind
 * the compute service's back (Ironic's own notifications may not reach it). */
nph_status irn_watch_start(struct irn_driver *d, nph_error *err);

/* irn-poll.c: the state poller serving every irn_wait. */
nph_status irn_poll_start(struct irn_driver *d, nph_error *err);
/* Register `w` (uuid borrowed until irn_poll_leave); the first answer
 * comes after poll_min_ms. */
void irn_poll_join(struct irn_driver *d, struct irn_waiter *w, const char *uuid);
/* Caller holds the lock; w->node stays the caller's. */
void irn_poll_leave(struct irn_driver *d, struct irn_waiter *w);

/* irn-wait.c: watching a node until it settles. */
/* GET the node (fields only); caller puts. */
nph_status irn_node_fetch(struct irn_driver *d, const char *uuid, json_object **node,
                          nph_error *err);
/* Wait until `done` says the node settled or the timeout, with the state
 * poller's answers (the first after poll_min_ms, then at intervals growing
 * to poll_max_ms).  *node (caller puts) is the last answer.  `done` returns
 * 1 settled, -1 failed, 0 not yet; it runs under the driver's lock. */
typedef int (*irn_settled_fn)(json_object *node, const void *arg);
nph_status irn_wait(struct irn_driver *d, const char *uuid, irn_settled_fn done, const void *arg,
                    unsigned timeout_s, const char *what, json_object **node, nph_error *err);
/* Keep `node`'s state (an answer irn_wait ended on) for the next get_info. */
void irn_settled_keep(struct irn_driver *d, const char *uuid, json_object *node);
/* Take `node`'s kept state: true, with its power state in `out`, when it
 * is less than half a second old and the node held `instance`.  The entry goes
 * either way (the next read asks Ironic); `out` may be NULL to drop it. */
bool irn_settled_take(struct irn_driver *d, const char *node, const char *instance, char *out,
                       size_t len);
/* PUT /v1/nodes/UUID/states/KIND with {"target": target} (and extra members). */
nph_status irn_set_state(struct irn_driver *d, const char *uuid, const char *kind,
                         const char *target, json_object *extra, nph_error *err);

/* irn-ops.c: the instance operations. */
nph_status irn_spawn(void *drv, const struct nph_instance *inst, const struct nph_spawn_args *args,
                     nph_error *err);
nph_status irn_destroy(void *drv, const struct nph_instance *inst, bool destroy_disks,
                       nph_error *err);
nph_status irn_rebuild(void *drv, const struct nph_instance *inst,
                       const struct nph_image_meta *image, nph_error *err);

/* irn-power.c: power, reboot, information and consoles. */
nph_status irn_power_on(void *drv, const struct nph_instance *inst, nph_error *err);
nph_status irn_power_off(void *drv, const struct nph_instance *inst, int timeout_s,
                         nph_error *err);
nph_status irn_reboot(void *drv, const struct nph_instance *inst, nph_reboot_type type,
                      nph_error *err);
nph_status irn_get_info(void *drv, const struct nph_instance *inst, struct nph_instance_info *out,
                        nph_error *err);
nph_status irn_get_console(void *drv, const struct nph_instance *inst, nph_console_type type,
                           struct nph_console *out, nph_error *err);

extern const struct nph_driver_descriptor irn_descriptor;

#endif
