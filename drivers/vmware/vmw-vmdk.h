/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vmdk files: what a file is, sparse to flat and back. */
#ifndef VMW_VMDK_H
#define VMW_VMDK_H

#include <stdint.h>

#include "error.h"

enum vmw_vmdk_kind {
    VMW_VMDK_FLAT,       /* no vmdk header: the bytes are the disk */
    VMW_VMDK_SPARSE,     /* "KDMV": monolithicSparse (or streamOptimized) */
    VMW_VMDK_DESCRIPTOR, /* a text descriptor, whose extents are elsewhere */
};

enum vmw_vmdk_kind vmw_vmdk_kind(const char *path);
/* Expand sparse file `sparse` into the flat disk `flat`; *size is its size. */
nph_status vmw_vmdk_to_flat(const char *sparse, const char *flat, uint64_t *size, nph_error *err);
/* Pack flat disk `flat` as a monolithicSparse file; *size is the file's size. */
nph_status vmw_vmdk_from_flat(const char *flat, const char *sparse, uint64_t *size,
                              nph_error *err);

#endif
