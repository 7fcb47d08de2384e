/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Which hypervisor driver a new all-in-one data directory gets: real guests
 * through libvirt's embedded QEMU driver (no daemon) when that driver loads
 * and a probe guest boots (KVM if it works, else TCG), the fake driver
 * otherwise.  A directory made before keeps the driver it has. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aio.h"
#include "error.h"
#include "log.h"
#include "plugin.h"

NPH_LOG_INIT("aio");

static const char fake_conf[] =
    "# The fake driver: in-memory guests on simulated nodes.\n"
    "[driver]\nmodule = fake\n\n"
    "[options]\nnode_count = 4\nvcpus = 32\nmemory_mb = 131072\n"
    "disk_gb = 2048\nhypervisor_type = QEMU\n"
    "image_formats = qcow2,raw,iso,aki,ami,ari,vmdk,vdi,vhd,vhdx\n";

static nph_status write_file(const char *path, const char *text, nph_error *err)
{
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(text, f) >= 0;
    ok = (f && fclose(f) == 0) && ok;
    return ok ? NPH_OK : nph_error_set(err, NPH_ERR_IO, "cannot write '%s'", path);
}

/* Load and start the driver `path` describes, then let it go: its
 * init_host connects and (virt_type auto) boots the probe guest. */
static nph_status try_driver(const char *path, nph_error *err)
{
    struct nph_loader_options opts = { .host_name = "aio" };
    nph_driver *drv = NULL;
    nph_status st = nph_driver_load(path, &opts, &drv, err);
    if (st == NPH_OK)
        st = nph_driver_start(drv, err);
    nph_driver_free(drv);
    return st;
}

nph_status aio_choose_driver(const char *data_dir, const char *choice, nph_error *err)
{
    char dir[PATH_MAX], fake[PATH_MAX + 32], lv[PATH_MAX + 32], text[2 * PATH_MAX + 600];
    if (!realpath(data_dir, dir))
        return nph_error_set(err, NPH_ERR_IO, "cannot resolve '%s'", data_dir);
    snprintf(fake, sizeof(fake), "%s/plugins.d/fake.conf", dir);
    snprintf(lv, sizeof(lv), "%s/plugins.d/libvirt.conf", dir);
    if (access(fake, F_OK) == 0 || access(lv, F_OK) == 0)
        return NPH_OK;
    if (strcmp(choice, "fake") == 0)
        return write_file(fake, fake_conf, err);
    snprintf(text, sizeof(text),
             "# The libvirt driver with libvirt's QEMU driver inside this process (no\n"
             "# libvirtd); virt_type auto booted a probe guest with KVM, else TCG\n"
             "# (the answer is kept in instances/.virt_type).\n"
             "[driver]\nmodule = libvirt\n\n"
             "[options]\nuri = qemu:///embed?root=%s/libvirt\nvirt_type = auto\n"
             "instances_path = %s/instances\nnetwork = user\nvnc_enabled = true\n"
             "graphics_listen = 127.0.0.1\n",
             dir, dir);
    nph_status st = write_file(lv, text, err);
    /* The embedded driver reads ROOT/etc/qemu.conf: QEMU's output goes to
     * files, as there is no virtlogd to hand it to. */
    char etc[PATH_MAX + 32], qemu_conf[PATH_MAX + 48];
    snprintf(etc, sizeof(etc), "%s/libvirt", dir);
    mkdir(etc, 0755);
    snprintf(etc, sizeof(etc), "%s/libvirt/etc", dir);
    mkdir(etc, 0755);
    snprintf(qemu_conf, sizeof(qemu_conf), "%s/qemu.conf", etc);
    if (st == NPH_OK && access(qemu_conf, F_OK) != 0)
        st = write_file(qemu_conf, "# Written by nephele-aio: no virtlogd here.\nstdio_handler = \"file\"\n",
                        err);
    nph_error why = NPH_ERROR_INIT;
    if (st == NPH_OK && try_driver(lv, &why) == NPH_OK) {
        nph_info("real guests: the libvirt driver (embedded QEMU) works here");
        return NPH_OK;
    }
    unlink(lv);
    if (st == NPH_OK && strcmp(choice, "libvirt") == 0)
        return nph_error_set(err, why.code, "the libvirt driver does not work here: %s",
                             why.message);
    if (st == NPH_OK)
        nph_warn("the libvirt driver does not work here (%s): using the fake driver",
                 why.message);
    return st == NPH_OK ? write_file(fake, fake_conf, err) : st;
}
