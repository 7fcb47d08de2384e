/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A guest's files: the image cache (one base per image in
 * instances_path/_base, shared by every guest booted from it), the root disk
 * made from it, and the cache manager that removes bases no guest uses. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "lv.h"

extern char **environ;

/* Run argv[0] (looked up in PATH) and wait; its standard error becomes the
 * message when it fails. */
nph_status lv_run(struct lv_driver *d, const char *const argv[], nph_error *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return nph_error_set(err, NPH_ERR_IO, "pipe: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    char msg[512] = "";
    size_t used = 0;
    ssize_t n;
    while (rc == 0 && (n = read(fds[0], msg + used, sizeof(msg) - 1 - used)) > 0)
        used += (size_t)n;
    msg[used] = '\0';
    close(fds[0]);
    if (rc != 0)
        return nph_error_set(err, NPH_ERR_BACKEND, "cannot run %s: %s", argv[0], strerror(rc));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return NPH_OK;
    msg[strcspn(msg, "\n")] = '\0';
    return nph_error_set(err, NPH_ERR_BACKEND, "%s %s failed: %s", argv[0], argv[1], msg);
}

static nph_status copy_file(const char *from, const char *to, nph_error *err)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return nph_error_set(err, NPH_ERR_IO, "cannot read '%s': %s", from, strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    nph_status st = out < 0 ? nph_error_set(err, NPH_ERR_IO, "cannot create '%s': %s", to,
                                            strerror(errno))
                            : NPH_OK;
    static __thread char buf[1 << 16];
    ssize_t n = 0;
    while (st == NPH_OK && (n = read(in, buf, sizeof(buf))) > 0)
        if (write(out, buf, (size_t)n) != n)
            st = nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", to, strerror(errno));
    if (st == NPH_OK && n < 0)
        st = nph_error_set(err, NPH_ERR_IO, "cannot read '%s': %s", from, strerror(errno));
    if (out >= 0 && close(out) != 0 && st == NPH_OK)
        st = nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", to, strerror(errno));
    close(in);
    return st;
}

/* Bring image `src` into the cache as `base`, once; a used base's mtime is
 * its last use, which the cache manager reads.  Caller holds cache_lock. */
static nph_status cache_fetch(const char *src, const char *base, nph_error *err)
{
    if (access(base, R_OK) == 0)
        return utimensat(AT_FDCWD, base, NULL, 0) == 0
                   ? NPH_OK
                   : nph_error_set(err, NPH_ERR_IO, "cannot touch '%s': %s", base, strerror(errno));
    char tmp[LV_PATH + 16];
    snprintf(tmp, sizeof(tmp), "%s.part", base);
    nph_status st = copy_file(src, tmp, err);
    if (st == NPH_OK && chmod(tmp, 0644) != 0)
        st = nph_error_set(err, NPH_ERR_IO, "chmod '%s': %s", tmp, strerror(errno));
    if (st == NPH_OK && rename(tmp, base) != 0)
        st = nph_error_set(err, NPH_ERR_IO, "cannot store '%s': %s", base, strerror(errno));
    if (st != NPH_OK)
        unlink(tmp);
    return st;
}

static nph_status make_dir(const char *path, nph_error *err)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return NPH_OK;
    return nph_error_set(err, NPH_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
}

/* The bases a guest uses, one id a line: what keeps them in the cache. */
static nph_status write_bases(const struct lv_plan *p, nph_error *err)
{
    char path[LV_PATH + 8];
    snprintf(path, sizeof(path), "%s/bases", p->dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    fprintf(f, "%s\n", p->image_id);
    if (p->kernel_id[0])
        fprintf(f, "%s\n", p->kernel_id);
    if (p->ramdisk_id[0])
        fprintf(f, "%s\n", p->ramdisk_id);
    return fclose(f) == 0 ? NPH_OK
                          : nph_error_set(err, NPH_ERR_IO, "cannot write '%s'", path);
}

static nph_status fetch_all(const struct lv_plan *p, nph_error *err)
{
    nph_status st = cache_fetch(p->image_src, p->base, err);
    if (st == NPH_OK && p->kernel[0])
        st = cache_fetch(p->kernel_src, p->kernel, err);
    if (st == NPH_OK && p->ramdisk[0])
        st = cache_fetch(p->ramdisk_src, p->ramdisk, err);
    return st;
}

static uint64_t virtual_size(const char *path);

/* The root disk: an overlay on the base (as big as the flavor says, at
 * least the image), a copy of it, or a blank one under an ISO. */
static nph_status make_root(struct lv_driver *d, const struct lv_plan *p, nph_error *err)
{
    if (p->cdrom[0])
        return lv_qcow2_create(p->disk, p->disk_bytes, NULL, NULL, err);
    if (!d->cfg.use_cow_images) {
        nph_status st = copy_file(p->base, p->disk, err);
        return st == NPH_OK ? lv_disk_resize(d, p->disk, p->disk_format, p->disk_bytes, err) : st;
    }
    uint64_t size = virtual_size(p->base);
    return lv_qcow2_create(p->disk, size > p->disk_bytes ? size : p->disk_bytes, p->base,
                           p->base_format, err);
}

nph_status lv_disk_create(struct lv_driver *d, const struct lv_plan *p, nph_error *err)
{
    char base_dir[LV_PATH + 8];
    snprintf(base_dir, sizeof(base_dir), "%s/_base", d->cfg.instances_path);
    nph_status st = make_dir(d->cfg.instances_path, err);
    if (st == NPH_OK)
        st = make_dir(base_dir, err);
    if (st == NPH_OK && mkdir(p->dir, 0755) != 0)
        st = nph_error_set(err, errno == EEXIST ? NPH_ERR_CONFLICT : NPH_ERR_IO,
                           "cannot create '%s': %s", p->dir, strerror(errno));
    if (st != NPH_OK)
        return st;
    pthread_mutex_lock(&d->cache_lock); /* the cache manager must not take a base we use */
    st = write_bases(p, err);
    if (st == NPH_OK)
        st = fetch_all(p, err);
    pthread_mutex_unlock(&d->cache_lock);
    if (st == NPH_OK && p->disk[0])
        st = make_root(d, p, err);
    if (st != NPH_OK)
        lv_remove_tree(p->dir);
    return st;
}

/* Virtual size of a disk: a qcow2 header says it at offset 24, big-endian;
 * any other file is its own size. */
static uint64_t virtual_size(const char *path)
{
    unsigned char h[32];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat sb;
    uint64_t size = fstat(fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    if (read(fd, h, sizeof(h)) == (ssize_t)sizeof(h) && memcmp(h, "QFI\xfb", 4) == 0) {
        size = 0;
        for (int i = 24; i < 32; i++)
            size = size << 8 | h[i];
    }
    close(fd);
    return size;
}

/* Grow a disk to `bytes`; a disk already that big (or bytes 0) stays. */
nph_status lv_disk_resize(struct lv_driver *d, const char *disk, const char *format,
                          uint64_t bytes, nph_error *err)
{
    if (!bytes || virtual_size(disk) >= bytes)
        return NPH_OK;
    char size[32];
    snprintf(size, sizeof(size), "%llu", (unsigned long long)bytes);
    const char *argv[] = { d->cfg.qemu_img, "resize", "-q", "-f", format, disk, size, NULL };
    return lv_run(d, argv, err);
}

/* A standalone copy of `disk` (backing chain flattened) in `format`.  -U:
 * the guest may be paused with the image open. */
nph_status lv_disk_export(struct lv_driver *d, const char *disk, const char *dest,
                          const char *format, nph_error *err)
{
    const char *argv[] = { d->cfg.qemu_img, "convert", "-U", "-O", format, disk, dest, NULL };
    return lv_run(d, argv, err);
}

void lv_remove_tree(const char *path)
{
    DIR *dir = opendir(path);
    if (!dir) {
        unlink(path);
        return;
    }
    struct dirent *de;
    char child[LV_PATH + 260];
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
        if (de->d_type == DT_DIR)
            lv_remove_tree(child);
        else
            unlink(child);
    }
    closedir(dir);
    rmdir(path);
}

/* Is base `id` listed in some guest's bases file? */
static bool base_in_use(const char *instances_path, const char *id)
{
    DIR *dir = opendir(instances_path);
    if (!dir)
        return true; /* cannot tell: keep it */
    bool used = false;
    struct dirent *de;
    char path[LV_PATH + 300], line[128];
    while (!used && (de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.' || de->d_name[0] == '_')
            continue;
        snprintf(path, sizeof(path), "%s/%s/bases", instances_path, de->d_name);
        FILE *f = fopen(path, "r");
        while (f && !used && fgets(line, sizeof(line), f)) {
            line[strcspn(line, "\n")] = '\0';
            used = strcmp(line, id) == 0;
        }
        if (f)
            fclose(f);
    }
    closedir(dir);
    return used;
}

int lv_cache_prune(struct lv_driver *d, int max_age_s)
{
    char base_dir[LV_PATH + 8], path[LV_PATH + 300];
    snprintf(base_dir, sizeof(base_dir), "%s/_base", d->cfg.instances_path);
    pthread_mutex_lock(&d->cache_lock);
    DIR *dir = opendir(base_dir);
    int removed = 0;
    struct dirent *de;
    time_t now = time(NULL);
    while (dir && (de = readdir(dir)) != NULL) {
        struct stat sb;
        snprintf(path, sizeof(path), "%s/%s", base_dir, de->d_name);
        if (de->d_name[0] == '.' || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (now - sb.st_mtime < max_age_s || base_in_use(d->cfg.instances_path, de->d_name))
            continue;
        if (unlink(path) == 0) {
            removed++;
            d->svc->log(d->host, NPH_LOG_INFO, "image cache: removed unused base %s", de->d_name);
        }
    }
    if (dir)
        closedir(dir);
    pthread_mutex_unlock(&d->cache_lock);
    return removed;
}
