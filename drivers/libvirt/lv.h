/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt driver: KVM/QEMU guests through the libvirt C API. */
#ifndef NPH_LV_H
#define NPH_LV_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "buffer.h"
#include "virt-driver.h"

#define LV_PATH 1024
/* Our mark in every domain's <metadata>: only domains carrying it are ours. */
#define LV_XMLNS "http://nephele.invalid/xmlns/libvirt/instance/1.0"
#define LV_XMLNS_PREFIX "nephele"
/* Domain names are this prefix and the instance UUID. */
#define LV_NAME_PREFIX "nephele-"

/* How a guest's NIC is plugged. */
enum lv_nic { LV_NIC_NONE, LV_NIC_USER, LV_NIC_BRIDGE };

/* The options of one driver instance, fixed after init_host. */
struct lv_config {
    char uri[512];
    char virt_type[8];          /* kvm or qemu (TCG); auto until probed */
    char cpu_mode[32];          /* host-passthrough, maximum, host-model, none */
    bool cpu_mode_auto;         /* cpu_mode follows virt_type */
    char machine[32];           /* pc, q35 */
    char instances_path[LV_PATH];
    char node_name[256];        /* "" means the hypervisor's host name */
    enum lv_nic nic;
    char bridge[64];
    bool vnc, spice;
    char graphics_listen[64];
    bool use_cow_images;
    int soft_reboot_timeout_s;
    int image_cache_max_age_s;  /* an unused base older than this is removed */
    int image_cache_interval_s; /* how often the cache manager runs; 0 = never */
    char qemu_img[256];
};

/* Where a guest's files live and what its devices are, worked out from the
 * configuration, the flavor and the image before anything is written. */
struct lv_plan {
    char dir[LV_PATH];         /* instances_path/UUID */
    char disk[LV_PATH];        /* root disk, "" when none */
    const char *disk_format;   /* qcow2 or raw */
    uint64_t disk_bytes;       /* flavor root_gb in bytes, 0 for the image's own size */
    char base[LV_PATH];        /* the cached image the root disk or CD-ROM comes from */
    const char *base_format;   /* qcow2, raw */
    char image_src[LV_PATH];   /* the image store's copy of the image */
    char cdrom[LV_PATH];       /* ISO boot: the cached ISO, read-only */
    char kernel[LV_PATH], ramdisk[LV_PATH]; /* AMI: cached AKI and ARI, or "" */
    char kernel_src[LV_PATH], ramdisk_src[LV_PATH];
    char kernel_id[64], ramdisk_id[64], image_id[64];
    char cmdline[512];
    char console_log[LV_PATH];
};

struct lv_driver {
    const struct nph_host_services *svc;
    nph_host *host;
    struct lv_config cfg;
    char node[256];

    pthread_mutex_t lock;       /* guards conn and the callback ids */
    virConnectPtr conn;         /* NULL until opened; re-opened when lost */
    int lifecycle_cb;           /* -1 when not registered */
    atomic_bool conn_lost;      /* no working connection: set by the close callback
                                 * (event thread) and by a failed reopen */
    pthread_mutex_t watch_lock; /* guards watch_wake and watch_stop only; never
                                 * held across a libvirt call */
    pthread_cond_t watch_wake;
    bool watch_stop;
    bool watch_running;
    pthread_t watch;            /* reconnects as soon as libvirtd is back */
    int cache_timer;            /* -1 when the cache manager is off */
    pthread_mutex_t cache_lock; /* one spawn or cache sweep at a time on _base */
    char *cpu_info;             /* node_resources' strings, under lock */
    char arch[32];
};

/* lv-config.c */
extern const struct nph_driver_option lv_options[];
nph_status lv_read_options(const struct nph_host_services *svc, nph_host *host,
                           struct lv_config *cfg, nph_error *err);

/* lv-plan.c: pure, no I/O.  `flavor` may differ from inst->flavor (resize). */
nph_status lv_plan_make(const struct lv_config *cfg, const struct nph_instance *inst,
                        struct lv_plan *plan, nph_error *err);
const char *lv_image_property(const struct nph_image_meta *image, const char *key);

/* lv-xml.c: pure, no I/O. */
nph_status lv_domain_xml(const struct lv_config *cfg, const struct nph_instance *inst,
                         const struct nph_flavor *flavor, const struct lv_plan *plan,
                         nph_buffer *out, nph_error *err);
/* Append `text` with &, <, >, ' and " escaped. */
void lv_xml_escape(nph_buffer *out, const char *text);
/* The value of the XPath expression `xpath` in `xml` as a string ("" when
 * absent), into out; false when the XML does not parse. */
bool lv_xml_query(const char *xml, const char *xpath, char *out, size_t len);

/* lv-disk.c: the image cache and the guest's files. */
nph_status lv_disk_create(struct lv_driver *d, const struct lv_plan *plan, nph_error *err);
nph_status lv_disk_resize(struct lv_driver *d, const char *disk, const char *format,
                          uint64_t bytes, nph_error *err);
nph_status lv_disk_export(struct lv_driver *d, const char *disk, const char *dest,
                          const char *format, nph_error *err);
void lv_remove_tree(const char *path);
/* Remove cached bases no guest uses that are older than max_age_s; returns
 * how many went. */
int lv_cache_prune(struct lv_driver *d, int max_age_s);
nph_status lv_run(struct lv_driver *d, const char *const argv[], nph_error *err);

/* lv-qcow2.c: an empty qcow2 image of `size` bytes, on `backing` (NULL for
 * none) in `backing_format`; what qemu-img create makes, without a process. */
nph_status lv_qcow2_create(const char *path, uint64_t size, const char *backing,
                           const char *backing_format, nph_error *err);

/* lv-probe.c: virt_type auto becomes kvm or qemu by booting a probe guest. */
nph_status lv_probe_virt_type(struct lv_driver *d, nph_error *err);

/* lv-conn.c: the connection, its reconnection and the event loop. */
nph_status lv_conn_start(struct lv_driver *d, nph_error *err);
void lv_conn_stop(struct lv_driver *d);
/* A referenced connection (virConnectClose it), reopened when it was lost. */
virConnectPtr lv_conn_get(struct lv_driver *d, nph_error *err);
/* The guest's domain (virDomainFree it); NPH_ERR_NOT_FOUND when there is none. */
nph_status lv_domain_get(struct lv_driver *d, const char *uuid, virDomainPtr *out, nph_error *err);
/* err from libvirt's last error, prefixed with what we were doing. */
nph_status lv_error(struct lv_driver *d, nph_error *err, nph_status code, const char *what,
                    const char *uuid);
/* lv-watch.c: reconnect without waiting for the next operation. */
nph_status lv_watch_start(struct lv_driver *d, nph_error *err);
void lv_watch_stop(struct lv_driver *d);
/* The connection was lost: wake the watcher (any thread, no libvirt call). */
void lv_watch_wake(struct lv_driver *d);

/* Is the guest running (not paused, not off)? */
static inline bool lv_domain_running(virDomainPtr dom)
{
    virDomainInfo info;
    return virDomainGetInfo(dom, &info) == 0 && info.state == VIR_DOMAIN_RUNNING;
}

static inline void lv_conn_put(virConnectPtr *c)
{
    if (*c)
        virConnectClose(*c);
}
static inline void lv_dom_put(virDomainPtr *dom)
{
    if (*dom)
        virDomainFree(*dom);
}
#define lv_auto_conn __attribute__((cleanup(lv_conn_put))) virConnectPtr
#define lv_auto_dom __attribute__((cleanup(lv_dom_put))) virDomainPtr

/* lv-ops.c: spawn, destroy, power and information. */
nph_status lv_spawn(void *drv, const struct nph_instance *inst, const struct nph_spawn_args *args,
                    nph_error *err);
nph_status lv_destroy(void *drv, const struct nph_instance *inst, bool destroy_disks,
                      nph_error *err);
nph_status lv_reboot(void *drv, const struct nph_instance *inst, nph_reboot_type type,
                     nph_error *err);
nph_status lv_power_off(void *drv, const struct nph_instance *inst, int timeout_s, nph_error *err);
nph_status lv_power_on(void *drv, const struct nph_instance *inst, nph_error *err);
nph_status lv_pause(void *drv, const struct nph_instance *inst, nph_error *err);
nph_status lv_unpause(void *drv, const struct nph_instance *inst, nph_error *err);
nph_status lv_suspend(void *drv, const struct nph_instance *inst, nph_error *err);
nph_status lv_resume(void *drv, const struct nph_instance *inst, nph_error *err);
nph_status lv_get_info(void *drv, const struct nph_instance *inst, struct nph_instance_info *out,
                       nph_error *err);
nph_status lv_list_instances(void *drv, const char *node, nph_instance_cb cb, void *opaque,
                             nph_error *err);
/* The power state of `dom` in libvirt's `state` (a managed save reads as suspended). */
nph_power_state lv_power_state(virDomainPtr dom, int state);
/* Shut the guest down: ACPI first when timeout_s > 0, then pull the plug. */
nph_status lv_shutdown(struct lv_driver *d, virDomainPtr dom, const char *uuid, int timeout_s,
                       nph_error *err);
void lv_instance_dir(const struct lv_driver *d, const char *uuid, char *out, size_t len);

/* lv-ops-more.c: snapshot, consoles, volumes, resize. */
nph_status lv_snapshot(void *drv, const struct nph_instance *inst, const char *dest_path,
                       struct nph_snapshot_result *out, nph_error *err);
nph_status lv_get_console_output(void *drv, const struct nph_instance *inst, nph_buffer *out,
                                 nph_error *err);
nph_status lv_get_console(void *drv, const struct nph_instance *inst, nph_console_type type,
                          struct nph_console *out, nph_error *err);
nph_status lv_attach_volume(void *drv, const struct nph_instance *inst,
                            const struct nph_volume *vol, nph_error *err);
nph_status lv_detach_volume(void *drv, const struct nph_instance *inst,
                            const struct nph_volume *vol, nph_error *err);
nph_status lv_migrate_disk_and_power_off(void *drv, const struct nph_instance *inst,
                                         const char *dest_host, const char *dest_node,
                                         const struct nph_flavor *new_flavor, nph_error *err);
nph_status lv_finish_migration(void *drv, const struct nph_instance *inst,
                               const struct nph_flavor *new_flavor, bool power_on, nph_error *err);
nph_status lv_confirm_migration(void *drv, const struct nph_instance *inst, nph_error *err);
nph_status lv_finish_revert_migration(void *drv, const struct nph_instance *inst, bool power_on,
                                      nph_error *err);

/* lv-driver.c: the operations table and the descriptor. */
extern const struct nph_driver_ops lv_ops;
extern const struct nph_driver_descriptor nph_libvirt_descriptor;

#endif
