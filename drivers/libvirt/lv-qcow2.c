/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An empty qcow2 (version 3) image, optionally on a backing file, written
 * directly: what `qemu-img create -f qcow2 [-F FMT -b BACKING] FILE SIZE`
 * makes, without a process start on every boot.  Layout, one 64 KiB cluster
 * each: the header (with the backing format extension and the backing file
 * name), the refcount table, one refcount block, the L1 table.  The L1 table
 * is all zeros: every read falls through to the backing file (or zeros).
 * docs/interop/qcow2.txt in QEMU's sources is the specification.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "lv.h"

#define CLUSTER_BITS 16
#define CLUSTER ((uint64_t)1 << CLUSTER_BITS)
#define HEADER_LEN 104
#define EXT_BACKING_FORMAT 0xE2792ACAu

static void be32(unsigned char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static void be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

nph_status lv_qcow2_create(const char *path, uint64_t size, const char *backing,
                           const char *backing_format, nph_error *err)
{
    /* One L2 table maps CLUSTER / 8 clusters; the L1 table must fit one cluster. */
    uint64_t per_l2 = CLUSTER * (CLUSTER / 8);
    uint64_t l1_size = (size + per_l2 - 1) / per_l2;
    size_t name_len = backing ? strlen(backing) : 0;
    size_t fmt_len = backing_format ? strlen(backing_format) : 0;
    size_t ext_len = backing ? 8 + ((fmt_len + 7) & ~(size_t)7) : 0;
    if (l1_size * 8 > CLUSTER || HEADER_LEN + ext_len + 8 + name_len > CLUSTER || !size)
        return nph_error_set(err, NPH_ERR_INVALID, "cannot make a %llu-byte qcow2 image '%s'",
                             (unsigned long long)size, path);
    unsigned char *img = calloc(4, CLUSTER);
    if (!img)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    unsigned char *h = img;
    memcpy(h, "QFI\xfb", 4);
    be32(h + 4, 3);                        /* version */
    be32(h + 20, CLUSTER_BITS);
    be64(h + 24, size);
    be32(h + 36, (uint32_t)l1_size);
    be64(h + 40, 3 * CLUSTER);             /* L1 table */
    be64(h + 48, 1 * CLUSTER);             /* refcount table */
    be32(h + 56, 1);                       /* refcount table clusters */
    be32(h + 96, 4);                       /* refcount_order: 16-bit refcounts */
    be32(h + 100, HEADER_LEN);
    size_t off = HEADER_LEN;
    if (backing) {
        be32(h + off, EXT_BACKING_FORMAT);
        be32(h + off + 4, (uint32_t)fmt_len);
        memcpy(h + off + 8, backing_format, fmt_len);
        off += ext_len;
    }
    off += 8; /* the end-of-extensions marker: type 0, length 0 */
    if (backing) {
        memcpy(h + off, backing, name_len);
        be64(h + 8, off);
        be32(h + 16, (uint32_t)name_len);
    }
    be64(img + CLUSTER, 2 * CLUSTER);      /* refcount table -> the block */
    for (int c = 0; c < 4; c++)            /* each of the 4 clusters is used once */
        img[2 * CLUSTER + 2 * c + 1] = 1;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    nph_status st = NPH_OK;
    if (fd < 0 || write(fd, img, 4 * CLUSTER) != (ssize_t)(4 * CLUSTER))
        st = nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    if (fd >= 0 && close(fd) != 0 && st == NPH_OK)
        st = nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    if (st != NPH_OK && fd >= 0)
        unlink(path);
    free(img);
    return st;
}
