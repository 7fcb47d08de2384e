/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A snapshot file's size and checksums (MD5 and SHA-512, as Glance keeps
 * them), read once from disk after the driver wrote it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/md5.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "compute-internal.h"
#include "error.h"

static void hex(const uint8_t *bytes, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

nph_status compute_file_digest(const char *path, json_object *changes, nph_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nph_error_set(err, NPH_ERR_IO, "cannot read the snapshot '%s': %s", path,
                             strerror(errno));
    struct md5_ctx md5;
    struct sha512_ctx sha;
    md5_init(&md5);
    sha512_init(&sha);
    uint8_t buf[65536];
    int64_t size = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
        if (n < 0)
            continue;
        md5_update(&md5, (size_t)n, buf);
        sha512_update(&sha, (size_t)n, buf);
        size += n;
    }
    int read_errno = errno;
    close(fd);
    if (n < 0)
        return nph_error_set(err, NPH_ERR_IO, "cannot read the snapshot '%s': %s", path,
                             strerror(read_errno));
    uint8_t md5_sum[MD5_DIGEST_SIZE], sha_sum[SHA512_DIGEST_SIZE];
    char md5_hex[2 * MD5_DIGEST_SIZE + 1], sha_hex[2 * SHA512_DIGEST_SIZE + 1];
    md5_digest(&md5, sizeof(md5_sum), md5_sum);
    sha512_digest(&sha, sizeof(sha_sum), sha_sum);
    hex(md5_sum, sizeof(md5_sum), md5_hex);
    hex(sha_sum, sizeof(sha_sum), sha_hex);
    nph_json_add_int(changes, "size", size);
    nph_json_add_string(changes, "checksum", md5_hex);
    nph_json_add_string(changes, "os_hash_algo", "sha512");
    nph_json_add_string(changes, "os_hash_value", sha_hex);
    return NPH_OK;
}
