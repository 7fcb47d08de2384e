/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* From flavor and image to a guest's files and devices: which cached base,
 * which root disk, an ISO's CD-ROM, an AMI's kernel and ramdisk.  Pure: the
 * golden tests run it without touching a disk. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "lv.h"
#include "objects.h"

#define GIB (1024ull * 1024 * 1024)

const char *lv_image_property(const struct nph_image_meta *image, const char *key)
{
    for (size_t i = 0; image && i < image->n_properties; i++)
        if (strcmp(image->properties[i].key, key) == 0)
            return image->properties[i].value;
    return NULL;
}

/* Image ids and UUIDs become file names: no '/', no leading dot. */
static bool safe_name(const char *s)
{
    return s && *s && *s != '.' && strlen(s) < 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") ==
               strlen(s);
}

/* The image store keeps every image as a file named after its id, so an
 * AMI's kernel and ramdisk sit beside the AMI itself. */
static void sibling(const char *image_path, const char *id, char *out, size_t len)
{
    const char *slash = strrchr(image_path, '/');
    int dir_len = slash ? (int)(slash - image_path) : 1;
    snprintf(out, len, "%.*s/%s", dir_len, slash ? image_path : ".", id);
}

static nph_status plan_ami(const struct nph_image_meta *image, struct lv_plan *p, nph_error *err)
{
    const char *kernel = lv_image_property(image, "kernel_id");
    const char *ramdisk = lv_image_property(image, "ramdisk_id");
    if (!safe_name(kernel))
        return nph_error_set(err, NPH_ERR_INVALID,
                             "AMI image %s needs a kernel_id property naming its AKI image",
                             image->id);
    if (ramdisk && !safe_name(ramdisk))
        return nph_error_set(err, NPH_ERR_INVALID, "AMI image %s has a bad ramdisk_id '%s'",
                             image->id, ramdisk);
    snprintf(p->kernel_id, sizeof(p->kernel_id), "%s", kernel);
    sibling(image->path, kernel, p->kernel_src, sizeof(p->kernel_src));
    if (ramdisk) {
        snprintf(p->ramdisk_id, sizeof(p->ramdisk_id), "%s", ramdisk);
        sibling(image->path, ramdisk, p->ramdisk_src, sizeof(p->ramdisk_src));
    }
    const char *cmdline = lv_image_property(image, "os_command_line");
    snprintf(p->cmdline, sizeof(p->cmdline), "%s",
             cmdline ? cmdline : "root=/dev/vda console=tty0 console=ttyS0");
    return NPH_OK;
}

nph_status lv_plan_make(const struct lv_config *cfg, const struct nph_instance *inst,
                        struct lv_plan *p, nph_error *err)
{
    memset(p, 0, sizeof(*p));
    const struct nph_image_meta *image = inst->image;
    if (!safe_name(inst->uuid))
        return nph_error_set(err, NPH_ERR_INVALID, "bad instance uuid '%s'",
                             inst->uuid ? inst->uuid : "(none)");
    if (!image || !image->disk_format || !safe_name(image->id))
        return nph_error_set(err, NPH_ERR_INVALID, "instance %s has no usable image",
                             inst->uuid);
    if (!image->path || !*image->path)
        return nph_error_set(err, NPH_ERR_INVALID, "image %s has no local copy to boot from",
                             image->id);
    snprintf(p->dir, sizeof(p->dir), "%s/%s", cfg->instances_path, inst->uuid);
    snprintf(p->console_log, sizeof(p->console_log), "%s/console.log", p->dir);
    snprintf(p->image_id, sizeof(p->image_id), "%s", image->id);
    snprintf(p->image_src, sizeof(p->image_src), "%s", image->path);
    snprintf(p->base, sizeof(p->base), "%s/_base/%s", cfg->instances_path, image->id);
    p->disk_bytes = inst->flavor ? inst->flavor->root_gb * GIB : 0;
    nph_status st = NPH_OK;
    switch (image->disk_format) {
    case NPH_IMAGE_QCOW2:
        p->base_format = "qcow2";
        break;
    case NPH_IMAGE_RAW:
        p->base_format = "raw";
        break;
    case NPH_IMAGE_AMI:
        p->base_format = "raw"; /* an AMI is a raw disk image */
        st = plan_ami(image, p, err);
        break;
    case NPH_IMAGE_ISO:
        p->base_format = "raw";
        snprintf(p->cdrom, sizeof(p->cdrom), "%s", p->base);
        break;
    default:
        return nph_error_set(err, NPH_ERR_INVALID,
                             "the libvirt driver boots qcow2, raw, iso and ami images, not %s",
                             nph_image_format_name(image->disk_format)
                                 ? nph_image_format_name(image->disk_format) : "this format");
    }
    if (st != NPH_OK)
        return st;
    if (p->kernel_id[0])
        snprintf(p->kernel, sizeof(p->kernel), "%s/_base/%s", cfg->instances_path, p->kernel_id);
    if (p->ramdisk_id[0])
        snprintf(p->ramdisk, sizeof(p->ramdisk), "%s/_base/%s", cfg->instances_path,
                 p->ramdisk_id);
    /* An ISO boots from the CD-ROM: its root disk is blank, if the flavor has one. */
    if (!p->cdrom[0] || p->disk_bytes) {
        snprintf(p->disk, sizeof(p->disk), "%s/disk", p->dir);
        p->disk_format = cfg->use_cow_images || p->cdrom[0] ? "qcow2" : p->base_format;
    }
    return NPH_OK;
}
