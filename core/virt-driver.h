/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * <nephele/virt-driver.h>: the contract between Nephele's compute service and
 * a hypervisor driver plugin.
 *
 * A driver is a shared object (built with libtool -module -avoid-version, or
 * plain `cc -shared`) that exports exactly one symbol, made with
 * NPH_DRIVER_EXPORT(modname).  It returns a descriptor: the driver's name and
 * version, the ABI it was built against, the size of the operations table it
 * was built with, the table itself and the table of options it accepts in its
 * plugins.d/NAME.conf file.
 *
 * ABI rules (the SQLite sqlite3_vfs way):
 *   - The loader refuses a plugin built for another NPH_DRIVER_ABI_MAJOR, and
 *     one built for a newer minor than the host knows.
 *   - Within one major, slots, struct members and enum values are only ever
 *     appended, under an "ABI 1.N" comment.  A plugin built for an older
 *     minor has a shorter ops table; the host reads the missing trailing slots
 *     as NULL.
 *   - A NULL slot means "not supported": the host answers the caller with
 *     NPH_ERR_NOT_SUPPORTED and a uniform message, so a driver never writes
 *     that error itself, and the matching capability flag is cleared.
 *   - Structs the host passes in are owned by the host and valid for the
 *     duration of the call.  Structs a driver fills are allocated and zeroed
 *     by the host; string pointers a driver puts in them must stay valid until
 *     the next call on the same object or cleanup().
 *
 * Threading: operations may block.  The compute service calls them from worker
 * threads, several at once for different instances, never two at once for the
 * same instance; a driver protects its own shared state.
 *
 * A vendor plugin needs no link-time dependency on Nephele: everything it may
 * ask of the host (logging, errors, its options, events) is in the
 * nph_host_services table handed to init_host().
 */
#ifndef NEPHELE_VIRT_DRIVER_H
#define NEPHELE_VIRT_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NPH_DRIVER_ABI_MAJOR 1
#define NPH_DRIVER_ABI_MINOR 1

#if defined(__GNUC__)
#define NPH_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#define NPH_EXPORT __attribute__((visibility("default")))
#else
#define NPH_PRINTF(fmt_idx, arg_idx)
#define NPH_EXPORT
#endif

/* ------------------------------------------------------------------------ */
/* Status codes: what every operation returns.                              */

typedef enum nph_status {
    NPH_OK = 0,
    NPH_ERR_NOT_SUPPORTED = 1, /* the driver or its backend cannot do this */
    NPH_ERR_NOT_FOUND = 2,     /* no such instance, node or object */
    NPH_ERR_CONFLICT = 3,      /* not possible in the current state */
    NPH_ERR_INVALID = 4,       /* bad argument, option or configuration */
    NPH_ERR_BACKEND = 5,       /* the hypervisor or its API failed */
    NPH_ERR_NO_MEMORY = 6,
    NPH_ERR_TIMEOUT = 7,
    NPH_ERR_IO = 8,            /* a file or socket operation failed */
} nph_status;

/* Opaque to drivers: owned by the host. */
typedef struct nph_error nph_error;   /* carries a status and a message */
typedef struct nph_host nph_host;     /* the host's handle on one driver instance */
typedef struct nph_buffer nph_buffer; /* a growable byte buffer the host owns */

typedef enum nph_log_level {
    NPH_LOG_DEBUG = 0,
    NPH_LOG_INFO = 1,
    NPH_LOG_WARNING = 2,
    NPH_LOG_ERROR = 3,
    NPH_LOG_CRITICAL = 4,
} nph_log_level;

/* ------------------------------------------------------------------------ */
/* States and flags.                                                        */

/* Power state of a guest, with Nova's numeric values (they reach the API). */
typedef enum nph_power_state {
    NPH_POWER_NOSTATE = 0,
    NPH_POWER_RUNNING = 1,
    NPH_POWER_PAUSED = 3,
    NPH_POWER_SHUTDOWN = 4,
    NPH_POWER_CRASHED = 6,
    NPH_POWER_SUSPENDED = 7,
} nph_power_state;

/* Image disk formats, one bit each, as Glance names them. */
typedef enum nph_image_format {
    NPH_IMAGE_AKI = 1u << 0,
    NPH_IMAGE_AMI = 1u << 1,
    NPH_IMAGE_ARI = 1u << 2,
    NPH_IMAGE_ISO = 1u << 3,
    NPH_IMAGE_QCOW2 = 1u << 4,
    NPH_IMAGE_RAW = 1u << 5,
    NPH_IMAGE_VDI = 1u << 6,
    NPH_IMAGE_VHD = 1u << 7,
    NPH_IMAGE_VHDX = 1u << 8,
    NPH_IMAGE_VMDK = 1u << 9,
} nph_image_format;
#define NPH_IMAGE_FORMAT_COUNT 10

/* Capability flags: the scheduler sees them as traits. */
typedef enum nph_capability {
    NPH_CAP_LIVE_MIGRATION = 1u << 0,      /* live_migration and friends work */
    NPH_CAP_SNAPSHOT = 1u << 1,            /* snapshot() works */
    NPH_CAP_ATTACH_INTERFACE = 1u << 2,    /* attach/detach_interface work */
    NPH_CAP_ATTACH_VOLUME = 1u << 3,       /* attach/detach_volume work */
    NPH_CAP_MULTIATTACH = 1u << 4,         /* one volume on several guests */
    NPH_CAP_RESCUE = 1u << 5,              /* rescue/unrescue work */
    NPH_CAP_SET_PASSWORD = 1u << 6,        /* set_admin_password works */
    NPH_CAP_RESIZE = 1u << 7,              /* cold migrate and resize work */
    NPH_CAP_MIGRATE_TO_SAME_HOST = 1u << 8,/* resize may stay on this host */
    NPH_CAP_CONSOLE_VNC = 1u << 9,
    NPH_CAP_CONSOLE_SPICE = 1u << 10,
    NPH_CAP_CONSOLE_SERIAL = 1u << 11,
    NPH_CAP_CONSOLE_MKS = 1u << 12,
} nph_capability;
#define NPH_CAPABILITY_COUNT 13

typedef enum nph_reboot_type {
    NPH_REBOOT_SOFT = 0, /* ask the guest OS, fall back to hard after a timeout */
    NPH_REBOOT_HARD = 1, /* power cycle */
} nph_reboot_type;

typedef enum nph_console_type {
    NPH_CONSOLE_VNC = 0,
    NPH_CONSOLE_SPICE = 1,
    NPH_CONSOLE_SERIAL = 2,
    NPH_CONSOLE_MKS = 3,
} nph_console_type;

/* Lifecycle transitions a driver reports through emit_event(), as Nova's
 * virt.event.LifecycleEvent does. */
typedef enum nph_lifecycle_event {
    NPH_EVENT_STARTED = 0,
    NPH_EVENT_STOPPED = 1,
    NPH_EVENT_PAUSED = 2,
    NPH_EVENT_RESUMED = 3,
    NPH_EVENT_SUSPENDED = 4,
    NPH_EVENT_CRASHED = 5,
} nph_lifecycle_event;

/* ------------------------------------------------------------------------ */
/* Objects the host passes in (host-owned, valid for the call).             */

struct nph_kv {
    const char *key;
    const char *value;
};

/* A flavor, as snapshotted into the instance at boot or resize. */
struct nph_flavor {
    const char *id;
    const char *name;
    uint32_t vcpus;
    uint64_t memory_mb;
    uint64_t root_gb;
    uint64_t ephemeral_gb;
    uint64_t swap_mb;
    const struct nph_kv *extra_specs; /* e.g. hw:cpu_policy, resources:CUSTOM_X */
    size_t n_extra_specs;
};

/* Image metadata, as Glance v2 describes an image. */
struct nph_image_meta {
    const char *id;
    const char *name;
    nph_image_format disk_format; /* exactly one bit */
    const char *container_format; /* bare, ovf, ova, aki, ami, ari, docker */
    uint64_t size;                /* bytes */
    uint64_t min_disk_gb;
    uint64_t min_ram_mb;
    const char *checksum;         /* hex MD5, as Glance's checksum field */
    const char *path;             /* local copy of the bytes, or NULL */
    const struct nph_kv *properties; /* hw_*, os_*, hypervisor_type, ... */
    size_t n_properties;
};

/* One guest.  Every instance operation names the node it lives on, so a
 * multi-node driver (Ironic, VMware clusters) knows where to act. */
struct nph_instance {
    const char *uuid;
    const char *name;       /* display name */
    const char *hostname;   /* guest host name */
    const char *project_id;
    const char *user_id;
    const char *node;       /* the node, as list_nodes() named it */
    const struct nph_flavor *flavor;
    const struct nph_image_meta *image;
    const struct nph_kv *metadata;
    size_t n_metadata;
    const char *user_data;  /* base64, as the API received it, or NULL */
    const char *key_data;   /* public key of the key pair, or NULL */
};

/* Extra arguments to spawn(). */
struct nph_spawn_args {
    const char *admin_password; /* or NULL */
};

/* A network interface plugged into a guest. */
struct nph_vif {
    const char *port_id;
    const char *mac_address;
    const char *network_id;
    const char *vif_type;   /* bridge, ovs, ... */
    const char *devname;    /* host-side device name, or NULL */
};

/* A volume attached to a guest. */
struct nph_volume {
    const char *volume_id;
    const char *mountpoint;        /* /dev/vdb */
    const char *driver_volume_type;/* iscsi, rbd, nfs, ... */
    const char *connection_info;   /* JSON object, as Cinder returns it */
    bool multiattach;
};

/* ------------------------------------------------------------------------ */
/* Objects a driver fills (host-allocated and zeroed).                      */

/* What one node offers.  Strings are driver-owned (see the ABI rules). */
struct nph_node_resources {
    const char *hypervisor_type;     /* QEMU, VMware vCenter Server, ironic, ... */
    uint64_t hypervisor_version;     /* major * 1000000 + minor * 1000 + micro */
    const char *hypervisor_hostname; /* as os-hypervisors shows it */
    const char *cpu_arch;            /* x86_64, aarch64, ... */
    uint32_t vcpus;
    uint32_t vcpus_used;
    uint64_t memory_mb;
    uint64_t memory_mb_used;
    uint64_t local_gb;
    uint64_t local_gb_used;
    const char *cpu_info;            /* JSON object text, or NULL */
    const char *resource_class;      /* baremetal: CUSTOM_BAREMETAL_GOLD; else NULL */

    /* ABI 1.1 ------------------------------------------------------------ */

    /* A baremetal node that is not ready for a new server (in maintenance,
     * not available, with an unknown power state or a server on it), as
     * Nova's ironic driver reports it: its one unit of resource_class is
     * reserved, so the scheduler passes it by.  Drivers of ABI 1.0 leave it
     * false. */
    bool reserved;
};

/* What get_info() reports about one guest. */
struct nph_instance_info {
    nph_power_state state;
    uint64_t max_mem_kb;
    uint64_t mem_kb;
    uint32_t num_cpu;
    uint64_t cpu_time_ns;
};

/* What a driver instance can do.  Flags whose slots are NULL are cleared by
 * the loader, so the scheduler never sees a capability the table lacks. */
struct nph_driver_capabilities {
    uint32_t flags;           /* nph_capability bits */
    uint32_t image_formats;   /* nph_image_format bits the backend can boot */
    const char *hypervisor_type;
};

/* Where a client connects for a console. */
struct nph_console {
    char host[256];
    int port;
    int tls_port;                   /* SPICE; 0 when unused */
    char internal_access_path[256]; /* e.g. a vSphere ticket path; may be "" */
};

/* Result of snapshot(). */
struct nph_snapshot_result {
    nph_image_format disk_format;
    uint64_t size;
};

/* A power-state change a driver reports by itself. */
struct nph_driver_event {
    const char *instance_uuid;
    const char *node;
    nph_lifecycle_event transition;
    nph_power_state power_state;
};

/* ------------------------------------------------------------------------ */
/* Host services: what the host offers a driver.  Handed to init_host().    */

struct nph_host_services {
    uint32_t abi_major;
    uint32_t abi_minor;
    size_t size; /* sizeof the table: check it before calling a slot added later */

    /* Log one line in the driver instance's category ("driver.NAME"); the
     * host adds the time, level and the request id of the calling thread. */
    void (*log)(nph_host *host, nph_log_level level, const char *fmt, ...) NPH_PRINTF(3, 4);

    /* Set an error on `err` (which may be NULL) and return `code`. */
    nph_status (*error)(nph_error *err, nph_status code, const char *fmt, ...) NPH_PRINTF(3, 4);

    /* Options of this driver instance, from the [options] section of its
     * plugins.d file.  The loader validated them against the descriptor's
     * option table before init_host(), so these never fail: an unset option
     * reads as its default.  Asking for a key the table does not declare is a
     * bug in the driver and reads as 0 / "" / false. */
    const char *(*option_string)(nph_host *host, const char *key);
    int64_t (*option_int)(nph_host *host, const char *key);
    double (*option_double)(nph_host *host, const char *key);
    bool (*option_bool)(nph_host *host, const char *key);

    /* Report a bad option value the driver found itself (a list it parses,
     * say).  The message names the file, line and key; returns
     * NPH_ERR_INVALID. */
    nph_status (*option_error)(nph_host *host, nph_error *err, const char *key,
                               const char *fmt, ...) NPH_PRINTF(4, 5);

    /* Report a lifecycle event (power state change) of a guest. */
    void (*emit_event)(nph_host *host, const struct nph_driver_event *event);

    /* Append bytes to a host-owned buffer (console output). */
    nph_status (*buffer_append)(nph_buffer *buf, const void *data, size_t len);

    /* The driver instance's name (plugins.d file name without .conf) and the
     * compute host's name. */
    const char *(*instance_name)(nph_host *host);
    const char *(*host_name)(nph_host *host);
};

/* ------------------------------------------------------------------------ */
/* Options a driver accepts in its plugins.d file ([options] section).      */

typedef enum nph_option_type {
    NPH_OPT_STRING = 0,
    NPH_OPT_INT = 1,    /* 64-bit signed */
    NPH_OPT_DOUBLE = 2,
    NPH_OPT_BOOL = 3,   /* true/false, yes/no, on/off, 1/0 */
} nph_option_type;

struct nph_driver_option {
    const char *name;          /* NULL ends the table */
    nph_option_type type;
    const char *default_value; /* text, parsed as `type`; NULL means unset */
    double min, max;           /* INT and DOUBLE bounds; min == max means none */
    const char *help;          /* one sentence, shown by `nephele-manage driver options` */
};

/* ------------------------------------------------------------------------ */
/* The operations table.  `drv` is the state init_host() returned.          */

typedef void (*nph_node_cb)(void *opaque, const char *node);
typedef void (*nph_instance_cb)(void *opaque, const char *uuid);

struct nph_driver_ops {
    /* ABI 1.0: lifecycle ------------------------------------------------- */

    /* Connect to the backend and set up.  Store the driver state in *drv.
     * Called once per driver instance; the host never calls another slot
     * before it returns NPH_OK. */
    nph_status (*init_host)(const struct nph_host_services *svc, nph_host *host,
                            void **drv, nph_error *err);
    /* Release everything init_host() made.  The host calls it once, last. */
    void (*cleanup)(void *drv);

    /* ABI 1.0: inventory ------------------------------------------------- */

    /* Call cb once per node this driver instance manages (one for a
     * hypervisor host; thousands for Ironic). */
    nph_status (*list_nodes)(void *drv, nph_node_cb cb, void *opaque, nph_error *err);
    /* Fill *out for one node; NPH_ERR_NOT_FOUND for an unknown node. */
    nph_status (*node_resources)(void *drv, const char *node,
                                 struct nph_node_resources *out, nph_error *err);
    /* Fill *out with what this driver instance can do. */
    void (*capabilities)(void *drv, struct nph_driver_capabilities *out);

    /* ABI 1.0: instance operations -------------------------------------- */

    /* Create and start the guest.  On failure leave nothing behind. */
    nph_status (*spawn)(void *drv, const struct nph_instance *inst,
                        const struct nph_spawn_args *args, nph_error *err);
    /* Stop and remove the guest; an unknown guest is NPH_OK (idempotent). */
    nph_status (*destroy)(void *drv, const struct nph_instance *inst,
                          bool destroy_disks, nph_error *err);
    nph_status (*reboot)(void *drv, const struct nph_instance *inst,
                         nph_reboot_type type, nph_error *err);
    /* Shut down; `timeout_s` > 0 asks the guest first (clean shutdown). */
    nph_status (*power_off)(void *drv, const struct nph_instance *inst,
                            int timeout_s, nph_error *err);
    nph_status (*power_on)(void *drv, const struct nph_instance *inst, nph_error *err);
    nph_status (*pause)(void *drv, const struct nph_instance *inst, nph_error *err);
    nph_status (*unpause)(void *drv, const struct nph_instance *inst, nph_error *err);
    nph_status (*suspend)(void *drv, const struct nph_instance *inst, nph_error *err);
    nph_status (*resume)(void *drv, const struct nph_instance *inst, nph_error *err);
    /* Boot the guest from `rescue_image` with its own disk attached. */
    nph_status (*rescue)(void *drv, const struct nph_instance *inst,
                         const struct nph_image_meta *rescue_image,
                         const char *rescue_password, nph_error *err);
    nph_status (*unrescue)(void *drv, const struct nph_instance *inst, nph_error *err);
    /* Re-create the guest's root disk from `image` (inst->image is the old one). */
    nph_status (*rebuild)(void *drv, const struct nph_instance *inst,
                          const struct nph_image_meta *image, nph_error *err);
    /* Write an image of the guest's root disk to `dest_path`. */
    nph_status (*snapshot)(void *drv, const struct nph_instance *inst, const char *dest_path,
                           struct nph_snapshot_result *out, nph_error *err);

    /* Cold migrate / resize, in Nova's four steps. */
    nph_status (*migrate_disk_and_power_off)(void *drv, const struct nph_instance *inst,
                                             const char *dest_host, const char *dest_node,
                                             const struct nph_flavor *new_flavor, nph_error *err);
    nph_status (*finish_migration)(void *drv, const struct nph_instance *inst,
                                   const struct nph_flavor *new_flavor, bool power_on,
                                   nph_error *err);
    nph_status (*confirm_migration)(void *drv, const struct nph_instance *inst, nph_error *err);
    nph_status (*finish_revert_migration)(void *drv, const struct nph_instance *inst,
                                          bool power_on, nph_error *err);

    /* Live migration: prepare on the destination, run on the source. */
    nph_status (*pre_live_migration)(void *drv, const struct nph_instance *inst, nph_error *err);
    nph_status (*live_migration)(void *drv, const struct nph_instance *inst,
                                 const char *dest_host, const char *dest_node,
                                 bool block_migration, nph_error *err);
    nph_status (*post_live_migration_at_destination)(void *drv, const struct nph_instance *inst,
                                                     nph_error *err);

    nph_status (*attach_volume)(void *drv, const struct nph_instance *inst,
                                const struct nph_volume *vol, nph_error *err);
    nph_status (*detach_volume)(void *drv, const struct nph_instance *inst,
                                const struct nph_volume *vol, nph_error *err);
    nph_status (*attach_interface)(void *drv, const struct nph_instance *inst,
                                   const struct nph_vif *vif, nph_error *err);
    nph_status (*detach_interface)(void *drv, const struct nph_instance *inst,
                                   const struct nph_vif *vif, nph_error *err);
    nph_status (*set_admin_password)(void *drv, const struct nph_instance *inst,
                                     const char *password, nph_error *err);

    /* ABI 1.0: information ---------------------------------------------- */

    /* NPH_ERR_NOT_FOUND when the hypervisor has no such guest. */
    nph_status (*get_info)(void *drv, const struct nph_instance *inst,
                           struct nph_instance_info *out, nph_error *err);
    /* Call cb with the UUID of every guest on `node` (NULL: on every node). */
    nph_status (*list_instances)(void *drv, const char *node, nph_instance_cb cb,
                                 void *opaque, nph_error *err);
    /* Append the guest's console log to `out` with svc->buffer_append. */
    nph_status (*get_console_output)(void *drv, const struct nph_instance *inst,
                                     nph_buffer *out, nph_error *err);
    nph_status (*get_console)(void *drv, const struct nph_instance *inst, nph_console_type type,
                              struct nph_console *out, nph_error *err);
};

/* ------------------------------------------------------------------------ */
/* The descriptor and the one exported symbol.                              */

struct nph_driver_descriptor {
    uint32_t abi_major;     /* NPH_DRIVER_ABI_MAJOR the plugin was built with */
    uint32_t abi_minor;     /* NPH_DRIVER_ABI_MINOR the plugin was built with */
    const char *name;       /* short name: fake, libvirt, ironic */
    const char *version;    /* the driver's own version string */
    const char *description;/* one line for `nephele-manage driver list` */
    size_t ops_size;        /* sizeof(struct nph_driver_ops) at build time */
    const struct nph_driver_ops *ops;
    const struct nph_driver_option *options; /* ends with a NULL name; may be NULL */
};

/* Fills the ABI fields of a descriptor initializer. */
#define NPH_DRIVER_ABI_INIT \
    .abi_major = NPH_DRIVER_ABI_MAJOR, .abi_minor = NPH_DRIVER_ABI_MINOR, \
    .ops_size = sizeof(struct nph_driver_ops)

#define NPH_DRIVER_ENTRY_SYMBOL "nph_driver_entry"
typedef const struct nph_driver_descriptor *(*nph_driver_entry_fn)(void);

/* Defines the entry point of module `modname` (the file name without .so,
 * with every character outside [A-Za-z0-9] as '_'), libtool's
 * modname_LTX_symbol form, so statically preloaded modules work too:
 *
 *     NPH_DRIVER_EXPORT(fake) { return &fake_descriptor; }
 */
#define NPH_DRIVER_EXPORT(modname) \
    NPH_EXPORT const struct nph_driver_descriptor *modname##_LTX_nph_driver_entry(void); \
    NPH_EXPORT const struct nph_driver_descriptor *modname##_LTX_nph_driver_entry(void)

#ifdef __cplusplus
}
#endif

#endif /* NEPHELE_VIRT_DRIVER_H */
