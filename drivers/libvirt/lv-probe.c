/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * virt_type = auto: decide between KVM and TCG by booting, not by looking
 * for /dev/kvm (nested KVM may exist and still fail to run a guest).  The
 * probe guest is one boot sector that prints a marker on the serial port
 * and halts; it boots with the CPU mode real guests get.  KVM is tried for
 * a few seconds, then TCG.  The answer is kept in instances_path/.virt_type
 * so later starts do not probe again.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "lv.h"

#define PROBE_MARKER "NEPHELE-PROBE-OK"

/* Real-mode code at 0x7c00: print the string at 0x7c16 on COM1, halt. */
static const unsigned char boot_code[] = {
    0x31, 0xc0,             /* xor ax, ax */
    0x8e, 0xd8,             /* mov ds, ax */
    0xbe, 0x16, 0x7c,       /* mov si, 0x7c16 */
    0xba, 0xf8, 0x03,       /* mov dx, 0x3f8 */
    0xac,                   /* lodsb */
    0x84, 0xc0,             /* test al, al */
    0x74, 0x03,             /* jz +3 */
    0xee,                   /* out dx, al */
    0xeb, 0xf8,             /* jmp lodsb */
    0xfa,                   /* cli */
    0xf4,                   /* hlt */
    0xeb, 0xfd,             /* jmp hlt */
};

static nph_status write_probe_disk(const char *path, nph_error *err)
{
    unsigned char sector[512] = { 0 };
    memcpy(sector, boot_code, sizeof(boot_code));
    memcpy(sector + sizeof(boot_code), PROBE_MARKER "\r\n", sizeof(PROBE_MARKER "\r\n"));
    sector[510] = 0x55;
    sector[511] = 0xaa;
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(sector, 1, sizeof(sector), f) == sizeof(sector);
    ok = (f && fclose(f) == 0) && ok;
    return ok ? NPH_OK : nph_error_set(err, NPH_ERR_IO, "cannot write '%s'", path);
}

static bool log_has_marker(const char *path)
{
    char buf[4096] = { 0 };
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return strstr(buf, PROBE_MARKER) != NULL;
}

/* Boot the probe as `type` with `cpu_mode`; true when it printed its marker
 * within timeout_ms. */
static bool try_boot(struct lv_driver *d, virConnectPtr conn, const char *dir, const char *type,
                     const char *cpu_mode, int timeout_ms)
{
    char disk[LV_PATH + 16], log[LV_PATH + 16];
    snprintf(disk, sizeof(disk), "%s/disk.raw", dir);
    snprintf(log, sizeof(log), "%s/serial.log", dir);
    unlink(log);
    nph_auto_buffer xml = NPH_BUFFER_INIT;
    nph_buffer_appendf(&xml, "<domain type='%s'><name>nephele-probe-%ld</name>"
                       "<memory unit='MiB'>16</memory><vcpu>1</vcpu>"
                       "<os><type arch='x86_64' machine='%s'>hvm</type><boot dev='hd'/></os>"
                       "<cpu mode='%s'/><devices>"
                       "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                       "<source file='", type, (long)getpid(), d->cfg.machine, cpu_mode);
    lv_xml_escape(&xml, disk);
    nph_buffer_appendf(&xml, "'/><target dev='hda' bus='ide'/></disk>"
                       "<serial type='file'><source path='");
    lv_xml_escape(&xml, log);
    nph_buffer_appendf(&xml, "'/><target port='0'/></serial>"
                       "<video><model type='none'/></video><memballoon model='none'/>"
                       "</devices></domain>");
    virDomainPtr dom = virDomainCreateXML(conn, nph_buffer_str(&xml), 0);
    if (!dom) {
        virErrorPtr e = virGetLastError();
        d->svc->log(d->host, NPH_LOG_INFO, "virt_type probe: %s does not start: %s", type,
                    e && e->message ? e->message : "?");
        virResetLastError();
        return false;
    }
    bool ok = false;
    uint64_t until = nph_clock_monotonic_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (!(ok = log_has_marker(log)) && nph_clock_monotonic_ns() < until &&
           virDomainIsActive(dom) == 1)
        nph_clock_sleep_ms(50);
    virDomainDestroy(dom);
    virDomainFree(dom);
    virResetLastError();
    d->svc->log(d->host, NPH_LOG_INFO, "virt_type probe: a %s guest %s", type,
                ok ? "boots" : "does not boot");
    return ok;
}

static void read_cached(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    out[0] = '\0';
    if (f) {
        if (!fgets(out, (int)len, f))
            out[0] = '\0';
        fclose(f);
    }
    out[strcspn(out, "\n")] = '\0';
}

/* Boot the probe: KVM with the CPU real guests get, then TCG. */
static nph_status probe(struct lv_driver *d, char *answer, size_t len, nph_error *err)
{
    char dir[LV_PATH + 16], disk[LV_PATH + 32];
    snprintf(dir, sizeof(dir), "%s/.probe", d->cfg.instances_path);
    snprintf(disk, sizeof(disk), "%s/disk.raw", dir);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return nph_error_set(err, NPH_ERR_IO, "cannot create '%s': %s", dir, strerror(errno));
    lv_auto_conn conn = lv_conn_get(d, err);
    nph_status st = conn ? write_probe_disk(disk, err) : NPH_ERR_BACKEND;
    if (st == NPH_OK && try_boot(d, conn, dir, "kvm", "host-passthrough", 3000))
        snprintf(answer, len, "kvm");
    else if (st == NPH_OK && try_boot(d, conn, dir, "qemu", "maximum", 15000))
        snprintf(answer, len, "qemu");
    else if (st == NPH_OK)
        st = nph_error_set(err, NPH_ERR_BACKEND,
                           "virt_type auto: neither a KVM nor a TCG guest boots on %s",
                           d->cfg.uri);
    lv_remove_tree(dir);
    return st;
}

nph_status lv_probe_virt_type(struct lv_driver *d, nph_error *err)
{
    char cache[LV_PATH + 16], answer[8];
    snprintf(cache, sizeof(cache), "%s/.virt_type", d->cfg.instances_path);
    read_cached(cache, answer, sizeof(answer));
    if (strcmp(answer, "kvm") != 0 && strcmp(answer, "qemu") != 0) {
        nph_status st = probe(d, answer, sizeof(answer), err);
        if (st != NPH_OK)
            return st;
        FILE *f = fopen(cache, "w");
        if (f) {
            fprintf(f, "%s\n", answer);
            fclose(f);
        }
    }
    snprintf(d->cfg.virt_type, sizeof(d->cfg.virt_type), "%s", answer);
    if (d->cfg.cpu_mode_auto)
        snprintf(d->cfg.cpu_mode, sizeof(d->cfg.cpu_mode), "%s",
                 strcmp(answer, "kvm") == 0 ? "host-passthrough" : "maximum");
    return NPH_OK;
}
