/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nephele-scheduler: the filter scheduler as a daemon on the bus. */
#include "config.h"

#include "daemon.h"
#include "scheduler.h"

#ifndef NPH_STATE_DIR
#define NPH_STATE_DIR "/usr/local/var/lib/nephele"
#endif

static nph_status start(struct nph_daemon *d, nph_bus *bus, void **service, nph_error *err)
{
    int64_t workers = 4;
    nph_status st = nph_config_get_int(d->cfg, "scheduler", "workers", 4, &workers, err);
    if (st == NPH_OK && (workers < 1 || workers > 256))
        st = nph_config_entry_error(err, NPH_ERR_INVALID,
                                    nph_config_find(d->cfg, "scheduler", "workers"),
                                    "must be from 1 to 256");
    const char *url = nph_config_get(d->cfg, "database", "connection",
                                     "sqlite:///" NPH_STATE_DIR "/nephele.db");
    return st == NPH_OK ? nph_scheduler_service_start(d->cfg, bus, url, (int)workers,
                                                      (nph_scheduler_service **)service, err)
                        : st;
}

static void stop(void *service)
{
    nph_scheduler_service_free(service);
}

int main(int argc, char **argv)
{
    struct nph_daemon d = {
        .name = "nephele-scheduler",
        .summary = "Serve the scheduler topic: choose a node for a build or a resize with Nova's\n"
                   "filter scheduler and claim it in Placement (for conductors with\n"
                   "[conductor] scheduler = bus; several schedulers may share the topic).",
        .config_help =
            "  [DEFAULT] transport_url   message bus (default " NPH_DEFAULT_TRANSPORT_URL ")\n"
            "  [DEFAULT] service_down_time, default_availability_zone   what the filters read\n"
            "  [filter_scheduler] enabled_filters, weight_classes, *_weight_multiplier,\n"
            "            host_subset_size, max_instances_per_host, isolated_images,\n"
            "            isolated_hosts   Nova's filter scheduler options\n"
            "  [scheduler] max_attempts   nodes a build may try (default 3)\n"
            "  [scheduler] host_state_refresh_ms   how often a thread reloads the node\n"
            "            states (default 1000)\n"
            "  [scheduler] image_metadata_prefilter   an image's disk_format requires\n"
            "            COMPUTE_IMAGE_TYPE_* on the node (default true)\n"
            "  [scheduler] workers       worker threads (default 4)\n"
            "  [database] connection     sqlite:///PATH or postgresql://... (default\n"
            "                            sqlite:///" NPH_STATE_DIR "/nephele.db)\n",
    };
    return nph_daemon_run(&d, argc, argv, "scheduler", start, stop);
}
