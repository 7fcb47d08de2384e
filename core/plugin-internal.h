/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The loader's view of a driver instance, shared by plugin.c and plugin-host.c. */
#ifndef NPH_PLUGIN_INTERNAL_H
#define NPH_PLUGIN_INTERNAL_H

#include "conf.h"
#include "plugin.h"

struct nph_host {
    char *name;        /* instance name: plugins.d file name without .conf */
    char *conf_path;
    char *module_path; /* NULL for a disabled instance */
    char *host_name;
    nph_config *cfg;   /* the plugins.d file: [driver] and [options] */
    bool enabled;
    bool started;
    const struct nph_driver_descriptor *desc;
    struct nph_driver_ops ops; /* padded copy of desc->ops */
    void *state;               /* what init_host returned */
    char log_category[96];
    void (*on_event)(void *opaque, nph_driver *drv, const struct nph_driver_event *event);
    void *event_opaque;
};

extern const struct nph_host_services nph_host_services_table;

#endif
