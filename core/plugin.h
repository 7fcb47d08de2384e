/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The driver plugin loader.
 *
 * Each file in plugins.d names one driver instance:
 *
 *     [driver]
 *     module = fake          # fake.so in the plugin path, or a path to a .so
 *     enabled = true         # optional
 *     [options]              # the driver's own options, checked against its table
 *     node_count = 4
 *
 * The instance is called after the file (plugins.d/fake-kvm.conf: "fake-kvm").
 * Modules are searched in $NEPHELE_PLUGIN_PATH (colon-separated; for
 * uninstalled builds) and then in the configured plugin directory.  Modules
 * are never unloaded: a driver may have threads or atexit handlers.
 */
#ifndef NPH_PLUGIN_H
#define NPH_PLUGIN_H

#include <stddef.h>
#include "virt-driver.h"

/* One loaded driver instance.  The host handle drivers receive is the same
 * object, seen from their side. */
typedef struct nph_host nph_driver;

struct nph_loader_options {
    const char *plugin_dir; /* NULL: the installed default */
    const char *host_name;  /* the compute host's name; NULL: gethostname() */
    /* Called (from the driver's thread) for every lifecycle event. */
    void (*on_event)(void *opaque, nph_driver *drv, const struct nph_driver_event *event);
    void *event_opaque;
};

/* The directory modules are installed in, and the default plugins.d. */
const char *nph_default_plugin_dir(void);
const char *nph_default_plugins_conf_dir(void);

/* Parse one plugins.d file, find and load its module, check its ABI and
 * options.  Does not call init_host.  Caller frees *out. */
nph_status nph_driver_load(const char *conf_path, const struct nph_loader_options *opts,
                           nph_driver **out, nph_error *err);
/* Call the driver's init_host. */
nph_status nph_driver_start(nph_driver *drv, nph_error *err);
/* Call cleanup if started and free; the module stays loaded. NULL is fine. */
void nph_driver_free(nph_driver *drv);

const char *nph_driver_name(const nph_driver *drv);        /* instance name */
const char *nph_driver_module_path(const nph_driver *drv); /* the .so loaded */
const char *nph_driver_conf_path(const nph_driver *drv);
bool nph_driver_enabled(const nph_driver *drv);
const struct nph_driver_descriptor *nph_driver_descriptor(const nph_driver *drv);
/* The operations, padded to this host's size: slots a plugin built for an
 * older ABI minor lacks read as NULL. */
const struct nph_driver_ops *nph_driver_ops(const nph_driver *drv);
void *nph_driver_state(const nph_driver *drv);
/* The driver's capabilities, less those whose slots are NULL. */
void nph_driver_capabilities(const nph_driver *drv, struct nph_driver_capabilities *out);
/* Number of nodes (list_nodes); NPH_ERR_NOT_SUPPORTED without list_nodes. */
nph_status nph_driver_node_count(const nph_driver *drv, size_t *count, nph_error *err);

/* The uniform "not supported" error for a NULL slot. */
nph_status nph_driver_unsupported(const nph_driver *drv, const char *op, nph_error *err);

/* Dispatch an operation: NULL slots become NPH_ERR_NOT_SUPPORTED.
 *     st = NPH_DRIVER_CALL(drv, pause, &err, inst);                          */
#define NPH_DRIVER_CALL(drv, op, err, ...) \
    (nph_driver_ops(drv)->op ? nph_driver_ops(drv)->op(nph_driver_state(drv), __VA_ARGS__, err) \
                             : nph_driver_unsupported(drv, #op, err))

/* All the driver instances of one plugins.d directory. */
typedef struct nph_driver_set {
    nph_driver **drivers;
    size_t count;
} nph_driver_set;

/* Load every *.conf in `conf_dir`, in name order, skipping disabled ones.
 * The first error stops the load and names its file. */
nph_status nph_driver_set_load(nph_driver_set *set, const char *conf_dir,
                               const struct nph_loader_options *opts, nph_error *err);
nph_status nph_driver_set_start(nph_driver_set *set, nph_error *err);
void nph_driver_set_clear(nph_driver_set *set);

#endif
