/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Spawn and snapshot.  A vmdk image (monolithicSparse) is expanded here and
 * goes to the datastore once, as the flat extent IMAGE_FOLDER/ID/ID-flat.vmdk
 * with a descriptor ID.vmdk beside it; every guest gets its own copy
 * (CopyVirtualDisk_Task).  An ISO image goes to IMAGE_FOLDER/ID.iso and boots
 * from a CD-ROM.  A snapshot reads the guest's flat extent back while a
 * vSphere snapshot holds it still, and packs it as monolithicSparse again. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objects.h"
#include "vmw-ops.h"
#include "vmw-vmdk.h"

#define TASK_TIMEOUT(d) ((d)->opt.task_timeout_s)

/* ------------------------------------------------------------------------ */
/* The image cache: per datastore, remembered here and checked with HEAD.   */

static bool cache_has(struct vmw_driver *d, const char *key, uint64_t *size)
{
    for (size_t i = 0; i < d->n_images; i++)
        if (!strcmp(d->images[i].key, key)) {
            *size = d->images[i].size;
            return true;
        }
    return false;
}

static void cache_add(struct vmw_driver *d, const char *key, uint64_t size)
{
    struct vmw_cached_image *grown = realloc(d->images, (d->n_images + 1) * sizeof(*grown));
    if (!grown)
        return; /* only a cache */
    d->images = grown;
    snprintf(grown[d->n_images].key, sizeof(grown->key), "%s", key);
    grown[d->n_images++].size = size;
}

/* A descriptor for a flat extent of `size` bytes (whole sectors). */
static nph_status write_descriptor(const char *path, const char *extent, uint64_t size,
                                   nph_error *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    fprintf(f,
            "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
            "createType=\"vmfs\"\n\n# Extent description\nRW %llu VMFS \"%s\"\n\n"
            "# The Disk Data Base\n#DDB\nddb.adapterType = \"lsilogic\"\n"
            "ddb.virtualHWVersion = \"14\"\n",
            (unsigned long long)((size + 511) / 512), extent);
    if (fclose(f) != 0)
        return nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    return NPH_OK;
}

/* A temporary file name under TMPDIR. */
static nph_status temp_file(char *path, size_t len, nph_error *err)
{
    const char *base = getenv("TMPDIR");
    snprintf(path, len, "%s/nph-vmdk-XXXXXX", base && *base ? base : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0)
        return nph_error_set(err, NPH_ERR_IO, "cannot make a temporary file: %s", strerror(errno));
    close(fd);
    return NPH_OK;
}

/* The image as a flat extent: a sparse vmdk is expanded first, bytes
 * without a vmdk header (our own snapshots' extents) go as they are. */
static nph_status flat_image(const struct nph_image_meta *img, char *flat, size_t len,
                             uint64_t *size, bool *temporary, nph_error *err)
{
    *temporary = false;
    switch (vmw_vmdk_kind(img->path)) {
    case VMW_VMDK_DESCRIPTOR:
        return nph_error_set(err, NPH_ERR_INVALID,
                             "image %s is a vmdk descriptor without its extent: upload a "
                             "monolithicSparse vmdk", img->id);
    case VMW_VMDK_SPARSE: {
        nph_status st = temp_file(flat, len, err);
        if (st == NPH_OK)
            st = vmw_vmdk_to_flat(img->path, flat, size, err);
        *temporary = true;
        return st;
    }
    case VMW_VMDK_FLAT:
    default: {
        struct stat sb;
        snprintf(flat, len, "%s", img->path);
        *size = stat(img->path, &sb) == 0 ? (uint64_t)sb.st_size : img->size;
        return NPH_OK;
    }
    }
}

static nph_status upload_vmdk(struct vmw_driver *d, const struct vmw_node *n,
                              const struct nph_image_meta *img, const char *dir, uint64_t *size,
                              nph_error *err)
{
    char flat[VMW_NAME_MAX * 2], desc[VMW_NAME_MAX * 2], extent[VMW_NAME_MAX];
    char local_flat[512], local_desc[512];
    bool temporary = false;
    snprintf(extent, sizeof(extent), "%s-flat.vmdk", img->id);
    snprintf(flat, sizeof(flat), "%s/%s", dir, extent);
    snprintf(desc, sizeof(desc), "%s/%s.vmdk", dir, img->id);
    nph_status st = flat_image(img, local_flat, sizeof(local_flat), size, &temporary, err);
    if (st == NPH_OK)
        st = vmw_ds_upload(d, n, flat, local_flat, err);
    if (temporary)
        unlink(local_flat);
    if (st != NPH_OK || (st = temp_file(local_desc, sizeof(local_desc), err)) != NPH_OK)
        return st;
    st = write_descriptor(local_desc, extent, *size, err);
    if (st == NPH_OK)
        st = vmw_ds_upload(d, n, desc, local_desc, err); /* last: its presence means complete */
    unlink(local_desc);
    return st;
}

nph_status vmw_ensure_image(struct vmw_driver *d, const struct vmw_node *n,
                            const struct nph_image_meta *img, char *ds_path, size_t len,
                            uint64_t *size, nph_error *err)
{
    bool iso = img->disk_format == NPH_IMAGE_ISO;
    char rel[VMW_NAME_MAX * 2], dir[VMW_NAME_MAX * 2], key[2 * VMW_NAME_MAX], flat[3 * VMW_NAME_MAX];
    snprintf(dir, sizeof(dir), "%s/%s", d->opt.image_folder, img->id);
    if (iso)
        snprintf(rel, sizeof(rel), "%s/%s.iso", d->opt.image_folder, img->id);
    else
        snprintf(rel, sizeof(rel), "%s/%s.vmdk", dir, img->id);
    snprintf(flat, sizeof(flat), "%s/%s-flat.vmdk", dir, img->id);
    snprintf(ds_path, len, "[%s] %s", n->datastore_name, rel);
    snprintf(key, sizeof(key), "%s/%s", n->datastore.id, rel);
    pthread_mutex_lock(&d->images_lock);
    nph_status st = NPH_OK;
    if (!cache_has(d, key, size)) {
        /* Uploaded before (by us or another compute host)?  The descriptor
         * goes last, so its presence means the extent is whole. */
        st = vmw_ds_stat(d, n, rel, size, err);
        if (st == NPH_OK && !iso)
            st = vmw_ds_stat(d, n, flat, size, err);
        else if (st == NPH_ERR_NOT_FOUND) {
            if (!img->path)
                st = nph_error_set(err, NPH_ERR_INVALID, "image %s has no local file to upload",
                                   img->id);
            else if (iso) {
                st = vmw_ds_upload(d, n, rel, img->path, err);
                *size = img->size;
            } else
                st = upload_vmdk(d, n, img, dir, size, err);
            if (st == NPH_OK)
                d->svc->log(d->host, NPH_LOG_INFO, "image %s uploaded to %s", img->id, ds_path);
        }
        if (st == NPH_OK)
            cache_add(d, key, *size);
    }
    pthread_mutex_unlock(&d->images_lock);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Spawn.                                                                   */

/* A folder in the datastore's root; NPH_ERR_CONFLICT (FileAlreadyExists)
 * when it is there already. */
static nph_status make_directory(struct vmw_conn *c, const struct vmw_node *n, const char *path,
                                 nph_error *err)
{
    struct vim25__MakeDirectoryRequest req = { vmw_mor(c, &c->file_manager), (char *)path,
                                               vmw_mor(c, &n->datacenter), "false" };
    struct vim25__EmptyResponse none;
    return VMW_CALL(c, err, MakeDirectory, &req, &none);
}

static void delete_file(struct vmw_driver *d, struct vmw_conn *c, const struct vmw_node *n,
                        const char *path)
{
    struct vim25__DatastoreFileRequest req = { vmw_mor(c, &c->file_manager), (char *)path,
                                               vmw_mor(c, &n->datacenter) };
    nph_error why = NPH_ERROR_INIT;
    if (VMW_TASK(c, &why, DeleteDatastoreFile_USCORETask, &req, "delete datastore file",
                 TASK_TIMEOUT(d), NULL) != NPH_OK)
        d->svc->log(d->host, NPH_LOG_WARNING, "cleanup of %s: %s", path, why.message);
}

/* The guest's folder, made anew.  Only when it is there already is there a
 * question, so SearchIndex is asked then and not before every spawn: the
 * instance has a VM (its files are never touched: a conflict), or a spawn
 * that died left the folder (removed and made again). */
static nph_status make_guest_folder(struct vmw_driver *d, struct vmw_conn *c,
                                    const struct vmw_node *n, const char *uuid, const char *dir,
                                    nph_error *err)
{
    nph_error why = NPH_ERROR_INIT;
    nph_status st = make_directory(c, n, dir, &why);
    if (st == NPH_ERR_CONFLICT) {
        struct vmw_ref vm;
        st = vmw_find_vm(d, c, uuid, &vm, &why);
        if (st == NPH_OK)
            return nph_error_set(err, NPH_ERR_CONFLICT, "instance %s already exists as VM %s",
                                 uuid, vm.id);
        if (st == NPH_ERR_NOT_FOUND) {
            d->svc->log(d->host, NPH_LOG_INFO,
                        "instance %s: %s is left from an earlier spawn; making it anew", uuid, dir);
            delete_file(d, c, n, dir);
            st = make_directory(c, n, dir, &why);
        }
    }
    if (st != NPH_OK && err)
        *err = why;
    return st;
}

static nph_status copy_disk(struct vmw_driver *d, struct vmw_conn *c, const struct vmw_node *n,
                            const char *from, const char *to, nph_error *err)
{
    struct vim25__CopyVirtualDiskRequest req = { vmw_mor(c, &c->disk_manager), (char *)from,
                                                 vmw_mor(c, &n->datacenter), (char *)to,
                                                 vmw_mor(c, &n->datacenter), "false" };
    return VMW_TASK(c, err, CopyVirtualDisk_USCORETask, &req, "copy the image disk",
                    TASK_TIMEOUT(d), NULL);
}

static const char *image_property(const struct nph_image_meta *img, const char *key)
{
    for (size_t i = 0; img && i < img->n_properties; i++)
        if (!strcmp(img->properties[i].key, key))
            return img->properties[i].value;
    return NULL;
}

/* On session `c`: folder, disk copy, CreateVM_Task, PowerOnVM_Task; on
 * failure, whatever was made is removed again. */
static nph_status create_vm(struct vmw_driver *d, struct vmw_conn *c, const struct vmw_node *n,
                            struct vmw_spawn_plan *plan, const char *image_disk, nph_error *err)
{
    char dir[VMW_NAME_MAX * 2], root[VMW_NAME_MAX * 2];
    snprintf(dir, sizeof(dir), "[%s] %s", n->datastore_name, plan->uuid);
    snprintf(root, sizeof(root), "[%s] %s/%s.vmdk", n->datastore_name, plan->uuid, plan->uuid);
    nph_status st = make_guest_folder(d, c, n, plan->uuid, dir, err);
    if (st != NPH_OK)
        return st;
    if (image_disk) {
        st = copy_disk(d, c, n, image_disk, root, err);
        plan->root_disk = root;
    }
    struct vim25__CreateVMRequest req = { vmw_mor(c, &n->vm_folder), vmw_spawn_spec(c->soap, plan),
                                          vmw_mor(c, &n->pool), NULL };
    if (st == NPH_OK && !req.config)
        st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory for the ConfigSpec");
    struct vmw_ref vm = { "", "" };
    if (st == NPH_OK)
        st = VMW_TASK(c, err, CreateVM_USCORETask, &req, "create VM", TASK_TIMEOUT(d), &vm);
    if (st == NPH_OK && !vm.id[0])
        st = nph_error_set(err, NPH_ERR_BACKEND, "CreateVM_Task returned no VM");
    struct vim25__PowerOnVMRequest on = { vmw_mor(c, &vm), NULL };
    if (st == NPH_OK)
        st = VMW_TASK(c, err, PowerOnVM_USCORETask, &on, "power on the new VM", TASK_TIMEOUT(d),
                      NULL);
    if (st == NPH_OK)
        vmw_remember_vm(d, c, plan->uuid, &vm);
    if (st != NPH_OK && vm.id[0]) {
        struct vim25__ThisRequest destroy = { vmw_mor(c, &vm) };
        nph_error why = NPH_ERROR_INIT;
        if (VMW_TASK(c, &why, Destroy_USCORETask, &destroy, "destroy the failed VM",
                     TASK_TIMEOUT(d), NULL) != NPH_OK)
            d->svc->log(d->host, NPH_LOG_WARNING, "cleanup of VM %s: %s", vm.id, why.message);
    }
    if (st != NPH_OK)
        delete_file(d, c, n, dir);
    return st;
}

void vmw_plan_spawn(const struct vmw_driver *d, const struct vmw_node *n,
                    const struct nph_instance *inst, const char *image_path, uint64_t image_size,
                    struct vmw_spawn_plan *plan)
{
    const struct nph_flavor *f = inst->flavor;
    const struct nph_image_meta *img = inst->image;
    const char *guest = image_property(img, "vmware_ostype");
    *plan = (struct vmw_spawn_plan){
        .uuid = inst->uuid,
        .name = inst->name,
        .datastore_name = n->datastore_name,
        .root_disk_kb = (image_size + 1023) / 1024,
        .iso = img && img->disk_format == NPH_IMAGE_ISO ? image_path : NULL,
        .port_group = n->network.id[0] ? d->opt.port_group : NULL,
        .network = &n->network,
        .guest_id = guest ? guest : d->opt.guest_id,
        .vcpus = f && f->vcpus ? f->vcpus : 1,
        .memory_mb = f && f->memory_mb ? f->memory_mb : 512,
        .root_gb = f ? f->root_gb : 0,
        .ephemeral_gb = f ? f->ephemeral_gb : 0,
    };
}

nph_status vmw_spawn(void *drv, const struct nph_instance *inst,
                     const struct nph_spawn_args *args, nph_error *err)
{
    struct vmw_driver *d = drv;
    struct vmw_node n;
    nph_status st = vmw_node_get(d, inst->node, &n, err);
    if (st != NPH_OK)
        return st;
    const struct nph_image_meta *img = inst->image;
    nph_image_format fmt = img ? img->disk_format : 0;
    if (fmt && fmt != NPH_IMAGE_VMDK && fmt != NPH_IMAGE_ISO) {
        const char *name = nph_image_format_name(fmt);
        return nph_error_set(err, NPH_ERR_INVALID,
                             "driver '%s' (VMware vSphere) boots vmdk and iso images, not %s",
                             d->svc->instance_name(d->host), name ? name : "this format");
    }
    char image_path[VMW_NAME_MAX * 3] = "";
    uint64_t image_size = 0;
    if (fmt && (st = vmw_ensure_image(d, &n, img, image_path, sizeof(image_path), &image_size,
                                      err)) != NPH_OK)
        return nph_error_prefix(err, "spawn of %s: ", inst->uuid);
    struct vmw_spawn_plan plan;
    vmw_plan_spawn(d, &n, inst, image_path, image_size, &plan);
    {
        VMW_SESSION(c, &d->sessions);
        st = create_vm(d, c, &n, &plan, fmt == NPH_IMAGE_VMDK ? image_path : NULL, err);
    }
    if (st != NPH_OK)
        return nph_error_prefix(err, "spawn of %s on %s: ", inst->uuid, n.name);
    struct nph_driver_event e = { inst->uuid, inst->node, NPH_EVENT_STARTED, NPH_POWER_RUNNING };
    d->svc->emit_event(d->host, &e);
    return NPH_OK;
}

/* ------------------------------------------------------------------------ */
/* Snapshot.                                                                */

nph_status vmw_snapshot(void *drv, const struct nph_instance *inst, const char *dest_path,
                        struct nph_snapshot_result *out, nph_error *err)
{
    struct vmw_driver *d = drv;
    struct vmw_node n;
    nph_status st = vmw_node_get(d, inst->node, &n, err);
    if (st != NPH_OK)
        return st;
    struct vmw_ref vm, snap = { "", "" };
    {
        VMW_SESSION(c, &d->sessions);
        st = vmw_find_vm(d, c, inst->uuid, &vm, err);
        struct vim25__CreateSnapshotRequest req = { vmw_mor(c, &vm), "nephele-image",
                                                    "held while Nephele copies the disk",
                                                    "false", "false" };
        if (st == NPH_OK)
            st = VMW_TASK(c, err, CreateSnapshot_USCORETask, &req, "create snapshot",
                          TASK_TIMEOUT(d), &snap);
    }
    if (st != NPH_OK)
        return st;
    char flat[VMW_NAME_MAX * 2];
    snprintf(flat, sizeof(flat), "%s/%s-flat.vmdk", inst->uuid, inst->uuid);
    /* The flat extent comes over first, then is packed as monolithicSparse. */
    char local[512];
    uint64_t size = 0;
    st = temp_file(local, sizeof(local), err);
    if (st == NPH_OK)
        st = vmw_ds_download(d, &n, flat, local, &size, err);
    if (st == NPH_OK)
        st = vmw_vmdk_from_flat(local, dest_path, &size, err);
    unlink(local);
    if (snap.id[0]) {
        VMW_SESSION(c, &d->sessions);
        struct vim25__RemoveSnapshotRequest rm = { vmw_mor(c, &snap), "false", "true" };
        nph_error why = NPH_ERROR_INIT;
        nph_status rs = VMW_TASK(c, &why, RemoveSnapshot_USCORETask, &rm, "remove snapshot",
                                 TASK_TIMEOUT(d), NULL);
        if (rs != NPH_OK && st == NPH_OK) {
            st = rs;
            if (err)
                *err = why;
        }
    }
    if (st == NPH_OK) {
        out->disk_format = NPH_IMAGE_VMDK;
        out->size = size;
    }
    return st;
}
