/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fake driver: in-memory guests on configurable nodes, for tests and scale. */
#ifndef NPH_FAKE_H
#define NPH_FAKE_H

#include <pthread.h>
#include <stdint.h>
#include "buffer.h"
#include "virt-driver.h"

/* Operations whose latency and failure rate can be configured, by name. */
enum fake_op {
    FAKE_OP_SPAWN, FAKE_OP_DESTROY, FAKE_OP_REBOOT, FAKE_OP_POWER_OFF, FAKE_OP_POWER_ON,
    FAKE_OP_PAUSE, FAKE_OP_UNPAUSE, FAKE_OP_SUSPEND, FAKE_OP_RESUME, FAKE_OP_RESCUE,
    FAKE_OP_UNRESCUE, FAKE_OP_REBUILD, FAKE_OP_SNAPSHOT, FAKE_OP_MIGRATE, FAKE_OP_LIVE_MIGRATE,
    FAKE_OP_ATTACH_VOLUME, FAKE_OP_DETACH_VOLUME, FAKE_OP_ATTACH_INTERFACE,
    FAKE_OP_DETACH_INTERFACE, FAKE_OP_SET_PASSWORD, FAKE_OP_GET_INFO,
    FAKE_OP_COUNT
};
extern const char *const fake_op_names[FAKE_OP_COUNT];

enum fake_migration { FAKE_MIG_NONE, FAKE_MIG_OUT, FAKE_MIG_FINISHED };

#define FAKE_MAX_ATTACHMENTS 16
#define FAKE_ID_MAX 64

struct fake_usage {
    uint32_t vcpus;
    uint64_t memory_mb;
    uint64_t disk_gb;
};

struct fake_instance {
    char uuid[40];
    uint32_t node;              /* index into fake_driver.usage */
    nph_power_state state;
    bool rescued;
    enum fake_migration migration;
    struct fake_usage flavor;   /* what it uses now */
    struct fake_usage old_flavor;/* before a resize, until confirm or revert */
    uint32_t old_node;
    nph_image_format image_format;
    uint64_t cpu_ns;            /* CPU time accrued while running */
    uint64_t running_since_ns;  /* monotonic; 0 when not running */
    char volumes[FAKE_MAX_ATTACHMENTS][FAKE_ID_MAX];
    char ports[FAKE_MAX_ATTACHMENTS][FAKE_ID_MAX];
    nph_buffer console;         /* what get_console_output returns */
    struct fake_instance *next; /* hash chain */
};

/* Guests by UUID: a chained hash table that grows with the load. */
struct fake_table {
    struct fake_instance **buckets;
    size_t n_buckets;
    size_t count;
};

struct fake_driver {
    const struct nph_host_services *svc;
    nph_host *host;
    pthread_mutex_t lock;       /* guards everything below that changes */

    /* Configuration, fixed after init_host. */
    char node_prefix[128];
    uint32_t node_count;
    struct fake_usage capacity; /* per node */
    char hypervisor_type[64];
    uint64_t hypervisor_version;
    char cpu_arch[32];
    char resource_class[128];
    char cpu_info[256];
    uint32_t image_formats;
    uint32_t capabilities;
    /* console_vnc and kin: where get_console sends clients (a real VNC server
     * in tests); port 0 when unset, and the console is not supported. */
    struct { char host[256]; int port; } consoles[4];
    uint32_t latency_ms[FAKE_OP_COUNT];
    double failure_rate[FAKE_OP_COUNT];
    uint64_t rng;               /* xorshift64 state, for failure injection */

    struct fake_usage *usage;   /* node_count entries */
    struct fake_table instances;
};

/* fake-table.c */
nph_status fake_table_init(struct fake_table *t);
void fake_table_free(struct fake_table *t);
struct fake_instance *fake_table_find(const struct fake_table *t, const char *uuid);
/* Insert a zeroed guest for `uuid`; NULL when out of memory. */
struct fake_instance *fake_table_add(struct fake_table *t, const char *uuid);
void fake_table_remove(struct fake_table *t, const char *uuid);

/* fake-options.c: read and check the options of init_host. */
nph_status fake_read_options(struct fake_driver *fd, nph_error *err);
/* Node index of `name`, or -1. */
long fake_node_index(const struct fake_driver *fd, const char *name);
void fake_node_name(const struct fake_driver *fd, uint32_t index, char *out, size_t len);

extern const struct nph_driver_descriptor nph_fake_descriptor;

#endif
