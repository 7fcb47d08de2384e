/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nephele-conductor: the conductor service as a daemon. */
#include "config.h"

#include "conductor.h"
#include "daemon.h"

static nph_status start(struct nph_daemon *d, nph_bus *bus, void **service, nph_error *err)
{
    return nph_conductor_start(d->cfg, d->host, bus, (nph_conductor **)service, err);
}

static void stop(void *service)
{
    nph_conductor_free(service);
}

int main(int argc, char **argv)
{
    struct nph_daemon d = {
        .name = "nephele-conductor",
        .summary = "Serve the conductor topic: database access on behalf of compute hosts, and\n"
                   "build, resize and delete orchestration with the filter scheduler.",
        .config_help =
            "  [DEFAULT] transport_url   message bus (default " NPH_DEFAULT_TRANSPORT_URL ")\n"
            "  [DEFAULT] host            this host's name (default: the machine's)\n"
            "  [DEFAULT] service_down_time, default_availability_zone,\n"
            "            allow_resize_to_same_host   what the scheduler reads\n"
            "  [DEFAULT] cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio\n"
            "            the nodes' Placement inventories (defaults 4.0, 1.0, 1.0)\n"
            "  [filter_scheduler] enabled_filters, weight_classes, *_weight_multiplier,\n"
            "            host_subset_size, max_instances_per_host, isolated_images,\n"
            "            isolated_hosts   Nova's filter scheduler options\n"
            "  [scheduler] max_attempts   nodes a build may try (default 3)\n"
            "  [scheduler] host_state_refresh_ms   how often a thread reloads the node\n"
            "            states (default 1000)\n"
            "  [scheduler] image_metadata_prefilter   an image's disk_format requires\n"
            "            COMPUTE_IMAGE_TYPE_* on the node (default true)\n"
            "  [database] connection     sqlite:///PATH or postgresql://... (default\n"
            "                            sqlite:///" NPH_STATE_DIR "/nephele.db)\n"
            "  [conductor] workers       worker threads (default 4)\n"
            "  [conductor] scheduler     local (the filter scheduler in this process, the\n"
            "                            default) or bus (ask nephele-scheduler)\n",
    };
    return nph_daemon_run(&d, argc, argv, "conductor", start, stop);
}
