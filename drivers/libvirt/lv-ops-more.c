/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Snapshot, consoles, disk attach/detach and cold resize on the same host. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "lv.h"

#define CONSOLE_MAX (1024 * 1024) /* the log's tail we hand out */

static void instance_file(struct lv_driver *d, const char *uuid, const char *name, char *out,
                          size_t len)
{
    char dir[LV_PATH];
    lv_instance_dir(d, uuid, dir, sizeof(dir));
    snprintf(out, len, "%s/%s", dir, name);
}

/* The domain's XML (live unless `flags` says otherwise); caller frees. */
static char *domain_xml(struct lv_driver *d, virDomainPtr dom, unsigned flags, const char *uuid,
                        nph_error *err)
{
    char *xml = virDomainGetXMLDesc(dom, flags);
    if (!xml)
        lv_error(d, err, NPH_ERR_BACKEND, "cannot read the domain XML", uuid);
    return xml;
}

/* ------------------------------------------------------------------------ */
/* Snapshot: the root disk, flattened, into a new image.                    */

nph_status lv_snapshot(void *drv, const struct nph_instance *inst, const char *dest_path,
                       struct nph_snapshot_result *out, nph_error *err)
{
    struct lv_driver *d = drv;
    lv_auto_dom dom = NULL;
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    if (st != NPH_OK)
        return st;
    char *xml = domain_xml(d, dom, VIR_DOMAIN_XML_INACTIVE, inst->uuid, err);
    if (!xml)
        return NPH_ERR_BACKEND;
    char disk[LV_PATH];
    lv_xml_query(xml, "string(/domain/devices/disk[target/@dev='vda']/source/@file)", disk,
                 sizeof(disk));
    free(xml);
    if (!disk[0])
        return d->svc->error(err, NPH_ERR_NOT_SUPPORTED, "instance %s has no root disk to snapshot",
                             inst->uuid);
    /* Pausing flushes QEMU's caches to the image: the copy is consistent. */
    bool was_running = lv_domain_running(dom);
    if (was_running && virDomainSuspend(dom) < 0)
        return lv_error(d, err, NPH_ERR_BACKEND, "cannot pause for the snapshot", inst->uuid);
    st = lv_disk_export(d, disk, dest_path, "qcow2", err);
    if (was_running && virDomainResume(dom) < 0 && st == NPH_OK)
        st = lv_error(d, err, NPH_ERR_BACKEND, "cannot resume after the snapshot", inst->uuid);
    struct stat sb;
    if (st == NPH_OK && stat(dest_path, &sb) != 0)
        st = d->svc->error(err, NPH_ERR_IO, "snapshot '%s': %s", dest_path, strerror(errno));
    if (st == NPH_OK) {
        out->disk_format = NPH_IMAGE_QCOW2;
        out->size = (uint64_t)sb.st_size;
    }
    return st;
}

/* ------------------------------------------------------------------------ */
/* Consoles.                                                                */

nph_status lv_get_console_output(void *drv, const struct nph_instance *inst, nph_buffer *out,
                                 nph_error *err)
{
    struct lv_driver *d = drv;
    char path[LV_PATH + 16];
    instance_file(d, inst->uuid, "console.log", path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return d->svc->error(err, errno == ENOENT ? NPH_ERR_NOT_FOUND : NPH_ERR_IO,
                             "no console log for instance %s: %s", inst->uuid, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) == 0 && sb.st_size > CONSOLE_MAX)
        lseek(fd, sb.st_size - CONSOLE_MAX, SEEK_SET);
    char buf[8192];
    ssize_t n;
    nph_status st = NPH_OK;
    while (st == NPH_OK && (n = read(fd, buf, sizeof(buf))) > 0)
        st = d->svc->buffer_append(out, buf, (size_t)n);
    close(fd);
    return st;
}

nph_status lv_get_console(void *drv, const struct nph_instance *inst, nph_console_type type,
                          struct nph_console *out, nph_error *err)
{
    struct lv_driver *d = drv;
    if ((type != NPH_CONSOLE_VNC || !d->cfg.vnc) && (type != NPH_CONSOLE_SPICE || !d->cfg.spice))
        return d->svc->error(err, NPH_ERR_NOT_SUPPORTED,
                             "driver '%s' gives guests no console of type %d",
                             d->svc->instance_name(d->host), (int)type);
    lv_auto_dom dom = NULL;
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    char *xml = st == NPH_OK ? domain_xml(d, dom, 0, inst->uuid, err) : NULL;
    if (!xml)
        return st != NPH_OK ? st : NPH_ERR_BACKEND;
    const char *kind = type == NPH_CONSOLE_VNC ? "vnc" : "spice";
    char xpath[128], port[16], tls[16], listen[256];
    snprintf(xpath, sizeof(xpath), "string(/domain/devices/graphics[@type='%s']/@port)", kind);
    lv_xml_query(xml, xpath, port, sizeof(port));
    snprintf(xpath, sizeof(xpath), "string(/domain/devices/graphics[@type='%s']/@tlsPort)", kind);
    lv_xml_query(xml, xpath, tls, sizeof(tls));
    snprintf(xpath, sizeof(xpath), "string(/domain/devices/graphics[@type='%s']/@listen)", kind);
    lv_xml_query(xml, xpath, listen, sizeof(listen));
    free(xml);
    if (atoi(port) <= 0)
        return d->svc->error(err, NPH_ERR_CONFLICT, "instance %s has no %s console while it is off",
                             inst->uuid, kind);
    snprintf(out->host, sizeof(out->host), "%s", listen[0] ? listen : d->cfg.graphics_listen);
    out->port = atoi(port);
    out->tls_port = atoi(tls) > 0 ? atoi(tls) : 0;
    return NPH_OK;
}

/* ------------------------------------------------------------------------ */
/* Disks: a volume whose connection_info names a local file or block device. */

/* connection_info's device_path (Nova's local connectors), at the top or in "data". */
static bool volume_path(const struct nph_volume *vol, char *out, size_t len)
{
    json_object *ci = vol->connection_info ? json_tokener_parse(vol->connection_info) : NULL;
    json_object *data = NULL, *path = NULL;
    if (ci && !(json_object_object_get_ex(ci, "data", &data) &&
                json_object_object_get_ex(data, "device_path", &path)))
        json_object_object_get_ex(ci, "device_path", &path);
    bool ok = path && json_object_is_type(path, json_type_string) &&
              json_object_get_string(path)[0] == '/';
    if (ok)
        snprintf(out, len, "%s", json_object_get_string(path));
    json_object_put(ci);
    return ok;
}

/* "/dev/vdb" -> "vdb"; NULL -> "vdb". */
static bool volume_target(const struct nph_volume *vol, char *out, size_t len)
{
    const char *mp = vol->mountpoint && *vol->mountpoint ? vol->mountpoint : "/dev/vdb";
    const char *name = strncmp(mp, "/dev/", 5) == 0 ? mp + 5 : mp;
    snprintf(out, len, "%s", name);
    return strlen(name) >= 3 && strlen(name) < 8 && strspn(name, "abcdefghijklmnopqrstuvwxyz") ==
                                                        strlen(name) && strcmp(name, "vda") != 0;
}

static unsigned affect(virDomainPtr dom)
{
    return VIR_DOMAIN_AFFECT_CONFIG | (virDomainIsActive(dom) == 1 ? VIR_DOMAIN_AFFECT_LIVE : 0);
}

nph_status lv_attach_volume(void *drv, const struct nph_instance *inst,
                            const struct nph_volume *vol, nph_error *err)
{
    struct lv_driver *d = drv;
    char path[LV_PATH], target[16];
    if (!vol || !vol->volume_id || !volume_path(vol, path, sizeof(path)))
        return d->svc->error(err, NPH_ERR_INVALID,
                             "the libvirt driver attaches volumes whose connection_info has a "
                             "device_path (a local file or block device)");
    if (!volume_target(vol, target, sizeof(target)))
        return d->svc->error(err, NPH_ERR_INVALID, "bad mountpoint '%s' for volume %s",
                             vol->mountpoint, vol->volume_id);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return d->svc->error(err, NPH_ERR_NOT_FOUND, "volume %s: '%s': %s", vol->volume_id, path,
                             strerror(errno));
    char head[4] = { 0 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, head, sizeof(head)) < 0)
            head[0] = 0;
        close(fd);
    }
    bool block = S_ISBLK(sb.st_mode);
    nph_auto_buffer xml = NPH_BUFFER_INIT;
    nph_buffer_appendf(&xml, "<disk type='%s' device='disk'>\n  <driver name='qemu' type='%s'/>\n",
                       block ? "block" : "file", memcmp(head, "QFI\xfb", 4) == 0 ? "qcow2" : "raw");
    nph_buffer_appendf(&xml, "  <source %s='", block ? "dev" : "file");
    lv_xml_escape(&xml, path);
    nph_buffer_appendf(&xml, "'/>\n  <target dev='%s' bus='virtio'/>\n  <serial>", target);
    lv_xml_escape(&xml, vol->volume_id);
    nph_buffer_appendf(&xml, "</serial>\n</disk>\n");
    lv_auto_dom dom = NULL;
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    if (st == NPH_OK && virDomainAttachDeviceFlags(dom, nph_buffer_str(&xml), affect(dom)) < 0)
        st = lv_error(d, err, NPH_ERR_BACKEND, "cannot attach the disk", inst->uuid);
    return st;
}

/* The <disk> element whose serial is the volume id, or NPH_ERR_NOT_FOUND. */
static nph_status find_disk(struct lv_driver *d, virDomainPtr dom, const char *volume_id,
                            unsigned flags, char *target, size_t len, nph_error *err)
{
    if (strchr(volume_id, '\'') || strchr(volume_id, '"'))
        return d->svc->error(err, NPH_ERR_INVALID, "bad volume id");
    char *xml = domain_xml(d, dom, flags, NULL, err);
    if (!xml)
        return NPH_ERR_BACKEND;
    char xpath[256];
    snprintf(xpath, sizeof(xpath), "string(/domain/devices/disk[serial='%s']/target/@dev)",
             volume_id);
    lv_xml_query(xml, xpath, target, len);
    free(xml);
    return target[0] ? NPH_OK
                     : d->svc->error(err, NPH_ERR_NOT_FOUND, "volume %s is not attached",
                                     volume_id);
}

nph_status lv_detach_volume(void *drv, const struct nph_instance *inst,
                            const struct nph_volume *vol, nph_error *err)
{
    struct lv_driver *d = drv;
    if (!vol || !vol->volume_id)
        return d->svc->error(err, NPH_ERR_INVALID, "a volume id is required");
    lv_auto_dom dom = NULL;
    char target[64];
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    if (st == NPH_OK)
        st = find_disk(d, dom, vol->volume_id, VIR_DOMAIN_XML_INACTIVE, target, sizeof(target),
                       err);
    if (st != NPH_OK)
        return st;
    char xml[256];
    snprintf(xml, sizeof(xml), "<disk type='file' device='disk'><target dev='%s'/></disk>", target);
    if (virDomainDetachDeviceFlags(dom, xml, affect(dom)) < 0)
        return lv_error(d, err, NPH_ERR_BACKEND, "cannot detach the disk", inst->uuid);
    /* A live detach needs the guest's acknowledgement: wait for it. */
    uint64_t until = nph_clock_monotonic_ns() + 30ull * 1000000000ull;
    char still[64] = "x";
    while (still[0] && nph_clock_monotonic_ns() < until) {
        nph_error ignored = { 0 };
        if (find_disk(d, dom, vol->volume_id, 0, still, sizeof(still), &ignored) != NPH_OK)
            return NPH_OK;
        nph_clock_sleep_ms(100);
    }
    return d->svc->error(err, NPH_ERR_TIMEOUT, "the guest of instance %s did not release volume %s",
                         inst->uuid, vol->volume_id);
}

/* ------------------------------------------------------------------------ */
/* Cold resize on this host: the old definition and disk are kept beside   */
/* the new ones until the resize is confirmed or reverted.                 */

nph_status lv_migrate_disk_and_power_off(void *drv, const struct nph_instance *inst,
                                         const char *dest_host, const char *dest_node,
                                         const struct nph_flavor *new_flavor, nph_error *err)
{
    struct lv_driver *d = drv;
    if (!dest_host || strcmp(dest_host, d->svc->host_name(d->host)) != 0 || !dest_node ||
        strcmp(dest_node, d->node) != 0)
        return d->svc->error(err, NPH_ERR_NOT_SUPPORTED,
                             "the libvirt driver resizes on the same host only (asked for %s/%s)",
                             dest_host ? dest_host : "-", dest_node ? dest_node : "-");
    if (inst->flavor && new_flavor && new_flavor->root_gb < inst->flavor->root_gb)
        return d->svc->error(err, NPH_ERR_INVALID, "cannot shrink the root disk of %s from %llu "
                             "to %llu GB", inst->uuid, (unsigned long long)inst->flavor->root_gb,
                             (unsigned long long)new_flavor->root_gb);
    lv_auto_dom dom = NULL;
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    if (st == NPH_OK)
        st = lv_shutdown(d, dom, inst->uuid, d->cfg.soft_reboot_timeout_s, err);
    char *xml = st == NPH_OK ? domain_xml(d, dom, VIR_DOMAIN_XML_INACTIVE, inst->uuid, err) : NULL;
    if (!xml)
        return st != NPH_OK ? st : NPH_ERR_BACKEND;
    char saved[LV_PATH + 16], disk[LV_PATH], backup[LV_PATH + 16];
    instance_file(d, inst->uuid, "domain.xml.orig", saved, sizeof(saved));
    lv_xml_query(xml, "string(/domain/devices/disk[target/@dev='vda']/source/@file)", disk,
                 sizeof(disk));
    FILE *f = fopen(saved, "w");
    bool ok = f && fputs(xml, f) >= 0;
    ok = (f && fclose(f) == 0) && ok;
    free(xml);
    if (!ok)
        return d->svc->error(err, NPH_ERR_IO, "cannot keep '%s': %s", saved, strerror(errno));
    snprintf(backup, sizeof(backup), "%s.orig", disk);
    if (disk[0] && link(disk, backup) != 0) /* the resize writes a copy, see finish */
        return d->svc->error(err, NPH_ERR_IO, "cannot keep '%s': %s", disk, strerror(errno));
    return NPH_OK;
}

/* The disk gets a new inode (copy, then grow) so the .orig link keeps the old. */
static nph_status grow_root(struct lv_driver *d, const char *xml, uint64_t bytes, nph_error *err)
{
    char disk[LV_PATH], format[16], tmp[LV_PATH + 16];
    lv_xml_query(xml, "string(/domain/devices/disk[target/@dev='vda']/source/@file)", disk,
                 sizeof(disk));
    lv_xml_query(xml, "string(/domain/devices/disk[target/@dev='vda']/driver/@type)", format,
                 sizeof(format));
    if (!disk[0] || !bytes)
        return NPH_OK;
    snprintf(tmp, sizeof(tmp), "%s.new", disk);
    const char *argv[] = { "cp", "--sparse=always", disk, tmp, NULL };
    nph_status st = lv_run(d, argv, err);
    if (st == NPH_OK)
        st = lv_disk_resize(d, tmp, format[0] ? format : "raw", bytes, err);
    if (st == NPH_OK && rename(tmp, disk) != 0)
        st = d->svc->error(err, NPH_ERR_IO, "cannot replace '%s': %s", disk, strerror(errno));
    unlink(tmp);
    return st;
}

nph_status lv_finish_migration(void *drv, const struct nph_instance *inst,
                               const struct nph_flavor *new_flavor, bool power_on, nph_error *err)
{
    struct lv_driver *d = drv;
    lv_auto_dom dom = NULL;
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    if (st != NPH_OK)
        return st;
    if (!new_flavor || !new_flavor->vcpus || !new_flavor->memory_mb)
        return d->svc->error(err, NPH_ERR_INVALID, "a flavor with vCPUs and memory is required");
    char *xml = domain_xml(d, dom, VIR_DOMAIN_XML_INACTIVE, inst->uuid, err);
    if (!xml)
        return NPH_ERR_BACKEND;
    st = grow_root(d, xml, new_flavor->root_gb * 1024ull * 1024 * 1024, err);
    free(xml);
    unsigned cfg = VIR_DOMAIN_AFFECT_CONFIG;
    unsigned long kib = (unsigned long)(new_flavor->memory_mb * 1024);
    if (st == NPH_OK &&
        (virDomainSetMemoryFlags(dom, kib, cfg | VIR_DOMAIN_MEM_MAXIMUM) < 0 ||
         virDomainSetMemoryFlags(dom, kib, cfg) < 0 ||
         virDomainSetVcpusFlags(dom, new_flavor->vcpus, cfg | VIR_DOMAIN_VCPU_MAXIMUM) < 0 ||
         virDomainSetVcpusFlags(dom, new_flavor->vcpus, cfg) < 0))
        st = lv_error(d, err, NPH_ERR_BACKEND, "cannot resize the domain", inst->uuid);
    if (st == NPH_OK && power_on && virDomainCreate(dom) < 0)
        st = lv_error(d, err, NPH_ERR_BACKEND, "cannot start after the resize", inst->uuid);
    return st;
}

static void drop_originals(struct lv_driver *d, const char *uuid)
{
    char path[LV_PATH + 16];
    instance_file(d, uuid, "domain.xml.orig", path, sizeof(path));
    unlink(path);
    instance_file(d, uuid, "disk.orig", path, sizeof(path));
    unlink(path);
}

nph_status lv_confirm_migration(void *drv, const struct nph_instance *inst, nph_error *err)
{
    drop_originals(drv, inst->uuid);
    return NPH_OK;
}

nph_status lv_finish_revert_migration(void *drv, const struct nph_instance *inst, bool power_on,
                                      nph_error *err)
{
    struct lv_driver *d = drv;
    char saved[LV_PATH + 16], disk[LV_PATH + 16], backup[LV_PATH + 16];
    instance_file(d, inst->uuid, "domain.xml.orig", saved, sizeof(saved));
    instance_file(d, inst->uuid, "disk", disk, sizeof(disk));
    instance_file(d, inst->uuid, "disk.orig", backup, sizeof(backup));
    FILE *f = fopen(saved, "r");
    if (!f)
        return d->svc->error(err, NPH_ERR_CONFLICT, "instance %s has no resize to revert",
                             inst->uuid);
    nph_auto_buffer xml = NPH_BUFFER_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        nph_buffer_append(&xml, buf, n);
    fclose(f);
    lv_auto_dom dom = NULL;
    nph_status st = lv_domain_get(d, inst->uuid, &dom, err);
    if (st == NPH_OK)
        st = lv_shutdown(d, dom, inst->uuid, 0, err);
    if (st == NPH_OK && access(backup, F_OK) == 0 && rename(backup, disk) != 0)
        st = d->svc->error(err, NPH_ERR_IO, "cannot restore '%s': %s", disk, strerror(errno));
    lv_auto_conn conn = st == NPH_OK ? lv_conn_get(d, err) : NULL;
    lv_auto_dom redefined = conn ? virDomainDefineXML(conn, nph_buffer_str(&xml)) : NULL;
    if (st == NPH_OK && !redefined)
        st = conn ? lv_error(d, err, NPH_ERR_BACKEND, "cannot restore the domain", inst->uuid)
                  : NPH_ERR_BACKEND;
    if (st == NPH_OK && power_on && virDomainCreate(redefined) < 0)
        st = lv_error(d, err, NPH_ERR_BACKEND, "cannot start after the revert", inst->uuid);
    if (st == NPH_OK)
        drop_originals(d, inst->uuid);
    return st;
}
