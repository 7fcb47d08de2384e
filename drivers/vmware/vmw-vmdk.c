/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Monolithic sparse vmdk files (the "KDMV" format Glance images usually
 * are) to and from the flat extent a datastore keeps: images are expanded
 * before upload, snapshots are packed again, both locally and streaming, so
 * only allocated grains are read or written.  streamOptimized files (grains
 * compressed) are refused with a clear message. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmw-vmdk.h"

#define SECTOR 512ull
#define GRAIN_SECTORS 128ull  /* 64 KiB grains, as VMware writes them */
#define GTES_PER_GT 512u
#define FLAG_COMPRESSED (1u << 16)
#define FLAG_MARKERS (1u << 17)
#define DESC_SECTORS 20ull   /* the embedded descriptor, after the header */

struct header {
    uint32_t flags;
    uint64_t capacity, grain, gd_offset;
    uint32_t gtes;
    uint16_t compress;
};

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

enum vmw_vmdk_kind vmw_vmdk_kind(const char *path)
{
    unsigned char h[32] = { 0 };
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(h, 1, sizeof(h), f) : 0;
    if (f)
        fclose(f);
    if (n >= 4 && !memcmp(h, "KDMV", 4))
        return VMW_VMDK_SPARSE;
    if (n >= 21 && !memcmp(h, "# Disk DescriptorFile", 21))
        return VMW_VMDK_DESCRIPTOR;
    return VMW_VMDK_FLAT;
}

static nph_status read_header(int fd, const char *path, struct header *h, nph_error *err)
{
    unsigned char b[512];
    if (pread(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b) || memcmp(b, "KDMV", 4) != 0)
        return nph_error_set(err, NPH_ERR_INVALID, "'%s' is not a sparse vmdk file", path);
    h->flags = le32(b + 8);
    h->capacity = le64(b + 12);
    h->grain = le64(b + 20);
    h->gtes = le32(b + 44);
    h->gd_offset = le64(b + 56);
    h->compress = (uint16_t)(b[77] | b[78] << 8);
    if ((h->flags & (FLAG_COMPRESSED | FLAG_MARKERS)) || h->compress)
        return nph_error_set(err, NPH_ERR_INVALID, /* the image, not the node */
                             "'%s' is a streamOptimized vmdk (compressed grains): convert it to "
                             "a monolithicSparse one (qemu-img convert -O vmdk)", path);
    if (!h->grain || h->grain > 1 << 20 || !h->gtes || h->gtes > 1 << 16 ||
        h->gd_offset == ~0ull || h->capacity > (1ull << 41))
        return nph_error_set(err, NPH_ERR_INVALID, "'%s' has an implausible vmdk header", path);
    return NPH_OK;
}

/* Copy every allocated grain of `in` to its place in `out` (made sparse). */
static nph_status expand(int in, int out, const char *path, const struct header *h,
                         nph_error *err)
{
    uint64_t grains = (h->capacity + h->grain - 1) / h->grain;
    uint64_t n_gt = (grains + h->gtes - 1) / h->gtes;
    size_t gbytes = (size_t)(h->grain * SECTOR);
    unsigned char *gd = malloc(n_gt * 4), *gt = malloc((size_t)h->gtes * 4), *data = malloc(gbytes);
    nph_status st = gd && gt && data ? NPH_OK : nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    if (st == NPH_OK && pread(in, gd, n_gt * 4, (off_t)(h->gd_offset * SECTOR)) != (ssize_t)(n_gt * 4))
        st = nph_error_set(err, NPH_ERR_INVALID, "'%s': grain directory out of the file", path);
    for (uint64_t t = 0; st == NPH_OK && t < n_gt; t++) {
        uint64_t gt_at = le32(gd + 4 * t);
        if (!gt_at)
            continue;
        if (pread(in, gt, (size_t)h->gtes * 4, (off_t)(gt_at * SECTOR)) != (ssize_t)h->gtes * 4) {
            st = nph_error_set(err, NPH_ERR_INVALID, "'%s': grain table out of the file", path);
            break;
        }
        for (uint32_t e = 0; e < h->gtes && t * h->gtes + e < grains; e++) {
            uint64_t at = le32(gt + 4 * e);
            if (at <= 1) /* unallocated, or a zero grain */
                continue;
            uint64_t dest = (t * h->gtes + e) * gbytes;
            ssize_t r = pread(in, data, gbytes, (off_t)(at * SECTOR));
            if (r <= 0 || pwrite(out, data, (size_t)r, (off_t)dest) != r) {
                st = nph_error_set(err, NPH_ERR_IO, "'%s': cannot copy grain %llu: %s", path,
                                   (unsigned long long)(t * h->gtes + e), strerror(errno));
                break;
            }
        }
    }
    if (st == NPH_OK && ftruncate(out, (off_t)(h->capacity * SECTOR)) != 0)
        st = nph_error_set(err, NPH_ERR_IO, "cannot size the flat disk: %s", strerror(errno));
    free(gd);
    free(gt);
    free(data);
    return st;
}

nph_status vmw_vmdk_to_flat(const char *sparse, const char *flat, uint64_t *size, nph_error *err)
{
    int in = open(sparse, O_RDONLY);
    if (in < 0)
        return nph_error_set(err, NPH_ERR_IO, "cannot read '%s': %s", sparse, strerror(errno));
    struct header h;
    nph_status st = read_header(in, sparse, &h, err);
    int out = st == NPH_OK ? open(flat, O_WRONLY | O_CREAT | O_TRUNC, 0600) : -1;
    if (st == NPH_OK && out < 0)
        st = nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", flat, strerror(errno));
    if (st == NPH_OK)
        st = expand(in, out, sparse, &h, err);
    if (out >= 0 && close(out) != 0 && st == NPH_OK)
        st = nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", flat, strerror(errno));
    close(in);
    if (st == NPH_OK)
        *size = h.capacity * SECTOR;
    return st;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Header, then grain directory and tables right after it, then grains. */
nph_status vmw_vmdk_from_flat(const char *flat, const char *sparse, uint64_t *size,
                              nph_error *err)
{
    int in = open(flat, O_RDONLY);
    struct stat sb;
    if (in < 0 || fstat(in, &sb) != 0) {
        if (in >= 0)
            close(in);
        return nph_error_set(err, NPH_ERR_IO, "cannot read '%s': %s", flat, strerror(errno));
    }
    uint64_t capacity = ((uint64_t)sb.st_size + SECTOR - 1) / SECTOR;
    uint64_t grains = (capacity + GRAIN_SECTORS - 1) / GRAIN_SECTORS;
    uint64_t n_gt = (grains + GTES_PER_GT - 1) / GTES_PER_GT;
    uint64_t gd_sectors = (n_gt * 4 + SECTOR - 1) / SECTOR;
    uint64_t gd_at = 1 + DESC_SECTORS, gt_at = gd_at + gd_sectors, data_at = gt_at + n_gt * 4;
    /* Grains start on a grain boundary, as VMware's own files do. */
    data_at = (data_at + GRAIN_SECTORS - 1) / GRAIN_SECTORS * GRAIN_SECTORS;
    size_t meta = (size_t)(data_at * SECTOR);
    unsigned char *m = calloc(1, meta), *grain = malloc(GRAIN_SECTORS * SECTOR);
    int out = open(sparse, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    nph_status st = m && grain ? NPH_OK : nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    if (st == NPH_OK && out < 0)
        st = nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", sparse, strerror(errno));
    uint64_t next = data_at;
    for (uint64_t g = 0; st == NPH_OK && g < grains; g++) {
        ssize_t r = pread(in, grain, GRAIN_SECTORS * SECTOR, (off_t)(g * GRAIN_SECTORS * SECTOR));
        if (r < 0)
            st = nph_error_set(err, NPH_ERR_IO, "cannot read '%s': %s", flat, strerror(errno));
        if (st != NPH_OK || r <= 0 || all_zero(grain, (size_t)r))
            continue;
        memset(grain + r, 0, GRAIN_SECTORS * SECTOR - (size_t)r);
        if (pwrite(out, grain, GRAIN_SECTORS * SECTOR, (off_t)(next * SECTOR)) !=
            (ssize_t)(GRAIN_SECTORS * SECTOR))
            st = nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", sparse, strerror(errno));
        put32(m + gt_at * SECTOR + 4 * g, (uint32_t)next);
        next += GRAIN_SECTORS;
    }
    /* Readers (VMware's, qemu's) want the embedded descriptor too. */
    snprintf((char *)m + SECTOR, DESC_SECTORS * SECTOR,
             "# Disk DescriptorFile\nversion=1\nCID=%08x\nparentCID=ffffffff\n"
             "createType=\"monolithicSparse\"\n\n# Extent description\n"
             "RW %llu SPARSE \"disk.vmdk\"\n\n# The Disk Data Base\n#DDB\n\n"
             "ddb.virtualHWVersion = \"4\"\nddb.adapterType = \"lsilogic\"\n"
             "ddb.geometry.heads = \"16\"\nddb.geometry.sectors = \"63\"\n"
             "ddb.geometry.cylinders = \"%llu\"\n",
             (unsigned)(capacity * 2654435761u), (unsigned long long)capacity,
             (unsigned long long)(capacity / (16 * 63) ? capacity / (16 * 63) : 1));
    memcpy(m, "KDMV", 4);
    put64(m + 28, 1);            /* descriptor offset */
    put64(m + 36, DESC_SECTORS); /* and size */
    put32(m + 4, 1);          /* version */
    put32(m + 8, 1);          /* the newline characters below are valid */
    put64(m + 12, capacity);
    put64(m + 20, GRAIN_SECTORS);
    put32(m + 44, GTES_PER_GT);
    put64(m + 56, gd_at);
    put64(m + 64, data_at);   /* overhead */
    m[73] = '\n', m[74] = ' ', m[75] = '\r', m[76] = '\n';
    for (uint64_t t = 0; t < n_gt; t++)
        put32(m + gd_at * SECTOR + 4 * t, (uint32_t)(gt_at + t * 4));
    if (st == NPH_OK && pwrite(out, m, meta, 0) != (ssize_t)meta)
        st = nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", sparse, strerror(errno));
    if (out >= 0 && close(out) != 0 && st == NPH_OK)
        st = nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", sparse, strerror(errno));
    close(in);
    free(m);
    free(grain);
    if (st == NPH_OK) {
        struct stat so;
        *size = stat(sparse, &so) == 0 ? (uint64_t)so.st_size : 0;
    }
    return st;
}
