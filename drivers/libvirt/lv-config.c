/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt driver's options: what its plugins.d file may say. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "lv.h"

const struct nph_driver_option lv_options[] = {
    { "uri", NPH_OPT_STRING, "qemu:///system", 0, 0,
      "libvirt connection URI: qemu:///system, qemu:///embed?root=DIR, test:///default" },
    { "virt_type", NPH_OPT_STRING, "kvm", 0, 0,
      "kvm (hardware acceleration), qemu (TCG emulation) or auto (boot a probe guest: KVM, "
      "else TCG)" },
    { "cpu_mode", NPH_OPT_STRING, "", 0, 0,
      "guest CPU mode; empty picks host-passthrough for kvm and maximum for qemu; none omits it" },
    { "machine_type", NPH_OPT_STRING, "pc", 0, 0, "QEMU machine type (pc, q35)" },
    { "instances_path", NPH_OPT_STRING, NPH_STATE_DIR "/instances", 0, 0,
      "where guests' disks and console logs live; cached images in its _base folder" },
    { "node_name", NPH_OPT_STRING, "", 0, 0, "node name; empty means the hypervisor's host name" },
    { "network", NPH_OPT_STRING, "none", 0, 0,
      "guest NIC: none, user (QEMU user-mode networking) or bridge:NAME" },
    { "vnc_enabled", NPH_OPT_BOOL, "true", 0, 0, "give guests a VNC console" },
    { "spice_enabled", NPH_OPT_BOOL, "false", 0, 0, "give guests a SPICE console" },
    { "graphics_listen", NPH_OPT_STRING, "127.0.0.1", 0, 0,
      "address VNC and SPICE servers listen on" },
    { "use_cow_images", NPH_OPT_BOOL, "true", 0, 0,
      "root disks are qcow2 overlays on a cached base; false copies the image" },
    { "soft_reboot_timeout_s", NPH_OPT_INT, "60", 1, 3600,
      "seconds a soft reboot waits for the guest before a hard one" },
    { "image_cache_max_age_s", NPH_OPT_INT, "86400", 0, 31536000,
      "an unused cached image older than this is removed" },
    { "image_cache_interval_s", NPH_OPT_INT, "2400", 0, 86400,
      "how often the image cache manager runs; 0 never" },
    { "qemu_img", NPH_OPT_STRING, "qemu-img", 0, 0, "the qemu-img program" },
    { NULL, 0, NULL, 0, 0, NULL },
};

#define COPY(field, key) snprintf(cfg->field, sizeof(cfg->field), "%s", svc->option_string(host, key))

static nph_status read_network(const struct nph_host_services *svc, nph_host *host,
                               struct lv_config *cfg, nph_error *err)
{
    const char *net = svc->option_string(host, "network");
    if (strcmp(net, "none") == 0)
        cfg->nic = LV_NIC_NONE;
    else if (strcmp(net, "user") == 0)
        cfg->nic = LV_NIC_USER;
    else if (strncmp(net, "bridge:", 7) == 0 && net[7] && strlen(net + 7) < sizeof(cfg->bridge) &&
             strspn(net + 7, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
                 strlen(net + 7)) {
        cfg->nic = LV_NIC_BRIDGE;
        snprintf(cfg->bridge, sizeof(cfg->bridge), "%s", net + 7);
    } else
        return svc->option_error(host, err, "network",
                                 "'%s' is not none, user or bridge:NAME (a host bridge)", net);
    return NPH_OK;
}

nph_status lv_read_options(const struct nph_host_services *svc, nph_host *host,
                           struct lv_config *cfg, nph_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    COPY(uri, "uri");
    COPY(virt_type, "virt_type");
    COPY(cpu_mode, "cpu_mode");
    COPY(machine, "machine_type");
    COPY(instances_path, "instances_path");
    COPY(node_name, "node_name");
    COPY(graphics_listen, "graphics_listen");
    COPY(qemu_img, "qemu_img");
    if (strcmp(cfg->virt_type, "kvm") != 0 && strcmp(cfg->virt_type, "qemu") != 0 &&
        strcmp(cfg->virt_type, "auto") != 0)
        return svc->option_error(host, err, "virt_type", "'%s' is not kvm, qemu or auto",
                                 svc->option_string(host, "virt_type"));
    cfg->cpu_mode_auto = !cfg->cpu_mode[0];
    if (!cfg->cpu_mode[0])
        snprintf(cfg->cpu_mode, sizeof(cfg->cpu_mode), "%s",
                 strcmp(cfg->virt_type, "kvm") == 0 ? "host-passthrough" : "maximum");
    if (cfg->instances_path[0] != '/')
        return svc->option_error(host, err, "instances_path", "'%s' is not an absolute path",
                                 cfg->instances_path);
    if (!cfg->uri[0])
        return svc->option_error(host, err, "uri", "a libvirt URI is required");
    cfg->vnc = svc->option_bool(host, "vnc_enabled");
    cfg->spice = svc->option_bool(host, "spice_enabled");
    cfg->use_cow_images = svc->option_bool(host, "use_cow_images");
    cfg->soft_reboot_timeout_s = (int)svc->option_int(host, "soft_reboot_timeout_s");
    cfg->image_cache_max_age_s = (int)svc->option_int(host, "image_cache_max_age_s");
    cfg->image_cache_interval_s = (int)svc->option_int(host, "image_cache_interval_s");
    return read_network(svc, host, cfg, err);
}
