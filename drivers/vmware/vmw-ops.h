/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest operations of the vmware driver (the vtable's instance slots). */
#ifndef VMW_OPS_H
#define VMW_OPS_H

#include "vmw-driver.h"

/* vmw-vms.c; `c` is the session the caller holds. */
/* The VM of instance `uuid` as found before (*remembered), or
 * SearchIndex.FindByUuid on the instance UUID; NPH_ERR_NOT_FOUND when there
 * is none. */
nph_status vmw_lookup_vm(struct vmw_driver *d, struct vmw_conn *c, const char *uuid,
                         struct vmw_ref *vm, bool *remembered, nph_error *err);
/* The same, always asking the server. */
nph_status vmw_find_vm(struct vmw_driver *d, struct vmw_conn *c, const char *uuid,
                       struct vmw_ref *vm, nph_error *err);
void vmw_remember_vm(struct vmw_driver *d, struct vmw_conn *c, const char *uuid,
                     const struct vmw_ref *vm);
void vmw_forget_vm(struct vmw_driver *d, struct vmw_conn *c, const char *uuid);

/* Evaluate `expr` with `vm` (the caller's struct vmw_ref) set to instance
 * `uuid`'s VM.  When a remembered VM turns out to be unknown to the server
 * (`expr` gives NPH_ERR_NOT_FOUND), it is forgotten and `expr` runs once more
 * with the VM the server names now.  The lookup's own NPH_ERR_NOT_FOUND (no
 * such VM) is the result as it is. */
#define VMW_ON_VM(d, c, uuid, vm, err, expr)                                          \
    ({                                                                                \
        nph_status on_st_;                                                            \
        bool on_remembered_ = false;                                                  \
        for (int on_try_ = 0; on_try_ < 2; on_try_++) {                               \
            on_st_ = vmw_lookup_vm(d, c, uuid, &(vm), &on_remembered_, err);          \
            if (on_st_ == NPH_OK)                                                     \
                on_st_ = (expr);                                                      \
            if (on_st_ != NPH_ERR_NOT_FOUND || !on_remembered_)                       \
                break;                                                                \
            vmw_forget_vm(d, c, uuid);                                                \
        }                                                                             \
        on_st_;                                                                       \
    })
/* Its power state: poweredOn, poweredOff or suspended. */
nph_status vmw_power_state(struct vmw_conn *c, const struct vmw_ref *vm, char *out, size_t len,
                           nph_error *err);

/* vmw-spawn.c */
/* Make sure the image is on the node's datastore (uploaded once, then
 * remembered); `ds_path` receives its datastore path ("[ds] folder/ID/ID.vmdk"
 * or "[ds] folder/ID.iso") and *size the bytes of its disk. */
nph_status vmw_ensure_image(struct vmw_driver *d, const struct vmw_node *n,
                            const struct nph_image_meta *img, char *ds_path, size_t len,
                            uint64_t *size, nph_error *err);
/* What a spawn of `inst` on node `n` creates, from its flavor and image
 * (`image_path` and `image_size` as vmw_ensure_image gave them).  The plan
 * points into its arguments. */
void vmw_plan_spawn(const struct vmw_driver *d, const struct vmw_node *n,
                    const struct nph_instance *inst, const char *image_path, uint64_t image_size,
                    struct vmw_spawn_plan *plan);
nph_status vmw_spawn(void *drv, const struct nph_instance *inst,
                     const struct nph_spawn_args *args, nph_error *err);
nph_status vmw_snapshot(void *drv, const struct nph_instance *inst, const char *dest_path,
                        struct nph_snapshot_result *out, nph_error *err);

/* vmw-ops.c */
nph_status vmw_destroy(void *drv, const struct nph_instance *inst, bool destroy_disks,
                       nph_error *err);
nph_status vmw_reboot(void *drv, const struct nph_instance *inst, nph_reboot_type type,
                      nph_error *err);
nph_status vmw_power_off(void *drv, const struct nph_instance *inst, int timeout_s,
                         nph_error *err);
nph_status vmw_power_on(void *drv, const struct nph_instance *inst, nph_error *err);
nph_status vmw_suspend(void *drv, const struct nph_instance *inst, nph_error *err);
nph_status vmw_resume(void *drv, const struct nph_instance *inst, nph_error *err);
nph_status vmw_migrate_disk_and_power_off(void *drv, const struct nph_instance *inst,
                                          const char *dest_host, const char *dest_node,
                                          const struct nph_flavor *new_flavor, nph_error *err);
nph_status vmw_finish_migration(void *drv, const struct nph_instance *inst,
                                const struct nph_flavor *new_flavor, bool power_on,
                                nph_error *err);
nph_status vmw_confirm_migration(void *drv, const struct nph_instance *inst, nph_error *err);
nph_status vmw_finish_revert_migration(void *drv, const struct nph_instance *inst, bool power_on,
                                       nph_error *err);
nph_status vmw_get_info(void *drv, const struct nph_instance *inst, struct nph_instance_info *out,
                        nph_error *err);
nph_status vmw_list_instances(void *drv, const char *node, nph_instance_cb cb, void *opaque,
                              nph_error *err);
nph_status vmw_get_console(void *drv, const struct nph_instance *inst, nph_console_type type,
                           struct nph_console *out, nph_error *err);

/* vmw-nics.c */
nph_status vmw_attach_interface(void *drv, const struct nph_instance *inst,
                                const struct nph_vif *vif, nph_error *err);
nph_status vmw_detach_interface(void *drv, const struct nph_instance *inst,
                                const struct nph_vif *vif, nph_error *err);

#endif
