/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The image service's writes (Glance v2 subset): create a record, upload
 * its bytes (streamed to [glance] image_dir while MD5 and SHA-512 are
 * computed, and checked against the declared disk_format's magic), download,
 * update with a JSON patch, delete.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/md5.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api-internal.h"
#include "clock.h"
#include "db-objects.h"
#include "error.h"
#include "log.h"
#include "uuid.h"

NPH_LOG_INIT("api.images");

#define HEAD_BYTES 65536 /* enough for every magic we check (ISO's is at 32769) */

struct image_upload {
    int fd;
    char path[4200];
    uint64_t size;
    bool failed;
    struct md5_ctx md5;
    struct sha512_ctx sha;
    uint8_t head[HEAD_BYTES];
    size_t head_len;
    uint8_t tail[512];   /* a fixed VHD's footer is its last sector */
    size_t tail_len;
};

static const char *const disk_formats[] = { "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw",
                                            "qcow2", "vdi", "iso", "ploop", NULL };
static const char *const container_formats[] = { "ami", "ari", "aki", "bare", "ovf", "ova",
                                                 "docker", "compressed", NULL };

static bool listed(const char *const *list, const char *v)
{
    for (; v && *list; list++)
        if (strcmp(*list, v) == 0)
            return true;
    return false;
}

/* ---- streaming an upload ------------------------------------------------- */

bool api_image_upload_path(const char *method, const char *url)
{
    size_t len = strlen(url);
    return strcmp(method, "PUT") == 0 && len >= 5 && strcmp(url + len - 5, "/file") == 0 &&
           (strncmp(url, "/image/v2/images/", 17) == 0 || strncmp(url, "/v2.1/images/", 13) == 0);
}

struct image_upload *api_image_upload_begin(nph_api *api, const char *method, const char *url)
{
    if (!api_image_upload_path(method, url))
        return NULL;
    struct image_upload *up = calloc(1, sizeof(*up));
    if (!up)
        return NULL;
    char uuid[NPH_UUID_STRLEN + 1];
    nph_uuid_generate(uuid);
    snprintf(up->path, sizeof(up->path), "%s/.upload-%s", api->image_dir, uuid);
    up->fd = open(up->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (up->fd < 0) {
        nph_err("cannot store an upload in '%s': %s", up->path, strerror(errno));
        up->failed = true;
    }
    md5_init(&up->md5);
    sha512_init(&up->sha);
    return up;
}

void api_image_upload_write(struct image_upload *up, const char *data, size_t len)
{
    if (up->failed)
        return;
    if (up->head_len < HEAD_BYTES) {
        size_t n = len < HEAD_BYTES - up->head_len ? len : HEAD_BYTES - up->head_len;
        memcpy(up->head + up->head_len, data, n);
        up->head_len += n;
    }
    if (len >= sizeof(up->tail)) {
        memcpy(up->tail, data + len - sizeof(up->tail), sizeof(up->tail));
        up->tail_len = sizeof(up->tail);
    } else {
        size_t keep = up->tail_len + len > sizeof(up->tail) ? sizeof(up->tail) - len : up->tail_len;
        memmove(up->tail, up->tail + up->tail_len - keep, keep);
        memcpy(up->tail + keep, data, len);
        up->tail_len = keep + len;
    }
    md5_update(&up->md5, len, (const uint8_t *)data);
    sha512_update(&up->sha, len, (const uint8_t *)data);
    for (size_t done = 0; done < len;) {
        ssize_t n = write(up->fd, data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            nph_err("writing the upload '%s' failed: %s", up->path, strerror(errno));
            up->failed = true;
            return;
        }
        done += (size_t)n;
    }
    up->size += len;
}

void api_image_upload_free(struct image_upload *up)
{
    if (!up)
        return;
    if (up->fd >= 0)
        close(up->fd);
    unlink(up->path); /* after a successful upload it was renamed away */
    free(up);
}

/* Does the data look like `format`?  Formats without a magic always do. */
static bool magic_matches(const struct image_upload *up, const char *format)
{
    const uint8_t *h = up->head;
    size_t n = up->head_len;
    if (strcmp(format, "qcow2") == 0)
        return n >= 4 && memcmp(h, "QFI\xfb", 4) == 0;
    if (strcmp(format, "vmdk") == 0)
        return (n >= 4 && memcmp(h, "KDMV", 4) == 0) ||
               (n >= 21 && memcmp(h, "# Disk DescriptorFile", 21) == 0);
    if (strcmp(format, "vhdx") == 0)
        return n >= 8 && memcmp(h, "vhdxfile", 8) == 0;
    if (strcmp(format, "vhd") == 0) /* dynamic: a footer copy first; fixed: the footer last */
        return (n >= 8 && memcmp(h, "conectix", 8) == 0) ||
               (up->tail_len == 512 && memcmp(up->tail, "conectix", 8) == 0);
    if (strcmp(format, "iso") == 0)
        return n >= 32774 && memcmp(h + 32769, "CD001", 5) == 0;
    if (strcmp(format, "vdi") == 0)
        return n >= 68 && h[64] == 0x7f && h[65] == 0x10 && h[66] == 0xda && h[67] == 0xbe;
    return true;
}

static void hex(const uint8_t *bytes, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

/* ---- records ------------------------------------------------------------- */

/* The image `id` if the caller owns it (or is an admin); else a 404 in resp. */
static json_object *owned_image(struct api_request *req, struct api_response *resp, const char *id)
{
    const char *params[] = { id };
    nph_auto_json *rows = NULL;
    json_object *img = NULL;
    if (nph_uuid_is_valid(id) &&
        nph_db_select_rows(req->db, "SELECT * FROM images WHERE uuid = ? AND deleted = 0", params, 1,
                           &rows, NULL) == NPH_OK)
        img = json_object_get(json_object_array_get_idx(rows, 0));
    const char *owner = img ? json_object_get_string(api_member(img, "owner")) : NULL;
    if (img && !req->ctx.is_admin && (!owner || strcmp(owner, req->ctx.project_id) != 0)) {
        json_object_put(img);
        img = NULL;
    }
    if (!img)
        api_error(resp, 404, "No image found with ID %s", id);
    return img;
}

static void reply_image(struct api_request *req, struct api_response *resp, unsigned status,
                        const char *id)
{
    req->params[0] = id;
    api_images_show(req, resp);
    if (resp->status == 200)
        resp->status = status;
}

void api_image_create(struct api_request *req, struct api_response *resp)
{
    json_object *body = req->body;
    if (!body || !json_object_is_type(body, json_type_object)) {
        api_error(resp, 400, "Image creation needs a JSON object");
        return;
    }
    const char *name = json_object_get_string(api_member(body, "name"));
    const char *disk = json_object_get_string(api_member(body, "disk_format"));
    const char *container = json_object_get_string(api_member(body, "container_format"));
    const char *visibility = json_object_get_string(api_member(body, "visibility"));
    const char *id = json_object_get_string(api_member(body, "id"));
    if ((disk && !listed(disk_formats, disk)) || (container && !listed(container_formats, container))) {
        api_error(resp, 400, "Invalid value '%s' for %s", disk && !listed(disk_formats, disk) ? disk : container,
                  disk && !listed(disk_formats, disk) ? "disk_format" : "container_format");
        return;
    }
    static const char *const visibilities[] = { "public", "private", "shared", "community", NULL };
    if (visibility && !listed(visibilities, visibility)) {
        api_error(resp, 400, "Invalid visibility value: %s", visibility);
        return;
    }
    if (visibility && strcmp(visibility, "public") == 0 && !api_is_admin(req, resp))
        return; /* Glance's default policy: publicizing is an admin's */
    char uuid[NPH_UUID_STRLEN + 1], now[NPH_ISO_TIME_LEN], min_disk[24], min_ram[24];
    if (id && !nph_uuid_is_valid(id)) {
        api_error(resp, 400, "Invalid image id: %s", id);
        return;
    }
    if (!id)
        nph_uuid_generate(uuid);
    snprintf(min_disk, sizeof(min_disk), "%lld", (long long)json_object_get_int64(api_member(body, "min_disk")));
    snprintf(min_ram, sizeof(min_ram), "%lld", (long long)json_object_get_int64(api_member(body, "min_ram")));
    nph_auto_json *props = json_object_new_object();
    static const char *const core[] = { "name", "disk_format", "container_format", "visibility",
                                        "id", "min_disk", "min_ram", "protected", "tags", NULL };
    json_object_object_foreach(body, key, value) {
        if (!listed(core, key))
            json_object_object_add(props, key, json_object_new_string(json_object_get_string(value)));
    }
    nph_clock_iso_now(now);
    const char *params[] = { id ? id : uuid, name, disk, container, visibility ? visibility : "shared",
                             req->ctx.project_id, min_disk, min_ram,
                             json_object_get_boolean(api_member(body, "protected")) ? "1" : "0",
                             json_object_to_json_string_ext(props, JSON_C_TO_STRING_PLAIN), now, now };
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_db_execute(req->db,
                                   "INSERT INTO images (uuid, name, disk_format, container_format, "
                                   "visibility, owner, min_disk, min_ram, protected, properties, "
                                   "status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                                   "?, ?, 'queued', ?, ?)",
                                   params, 12, NULL, &err);
    if (st == NPH_ERR_CONFLICT) {
        api_error(resp, 409, "Image with identifier %s already exists!", id);
        return;
    }
    if (st != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    reply_image(req, resp, 201, id ? id : uuid);
}

void api_image_upload_finish(struct api_request *req, struct api_response *resp)
{
    struct image_upload *up = req->image_upload;
    nph_auto_json *img = owned_image(req, resp, req->params[0]);
    if (!img || !up)
        return;
    const char *status = json_object_get_string(api_member(img, "status"));
    const char *disk = json_object_get_string(api_member(img, "disk_format"));
    if (!status || strcmp(status, "queued") != 0) {
        api_error(resp, 409, "Image status transition from %s to saving is not allowed", status);
        return;
    }
    if (!disk || !json_object_get_string(api_member(img, "container_format"))) {
        api_error(resp, 400, "Properties disk_format, container_format must be set prior to "
                             "saving data.");
        return;
    }
    if (up->failed) {
        api_error(resp, 500, "The image's data could not be stored.");
        return;
    }
    if (!magic_matches(up, disk)) {
        api_error(resp, 400, "Image data does not match the declared disk_format '%s': it is "
                             "not a %s image.",
                  disk, disk);
        return;
    }
    /* Claim the image (queued -> saving) so two uploads cannot both land. */
    const char *id = req->params[0];
    const char *claim[] = { id };
    int64_t claimed = 0;
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_execute(req->db, "UPDATE images SET status = 'saving' WHERE uuid = ? AND "
                                "deleted = 0 AND status = 'queued'",
                       claim, 1, &claimed, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    if (claimed != 1) {
        api_error(resp, 409, "Image status transition from saving to saving is not allowed");
        return;
    }
    uint8_t md5_sum[MD5_DIGEST_SIZE], sha_sum[SHA512_DIGEST_SIZE];
    char md5_hex[2 * MD5_DIGEST_SIZE + 1], sha_hex[2 * SHA512_DIGEST_SIZE + 1], size[24],
        now[NPH_ISO_TIME_LEN], final[4200];
    md5_digest(&up->md5, sizeof(md5_sum), md5_sum);
    sha512_digest(&up->sha, sizeof(sha_sum), sha_sum);
    hex(md5_sum, sizeof(md5_sum), md5_hex);
    hex(sha_sum, sizeof(sha_sum), sha_hex);
    snprintf(size, sizeof(size), "%llu", (unsigned long long)up->size);
    snprintf(final, sizeof(final), "%s/%s", req->api->image_dir, id);
    nph_clock_iso_now(now);
    const char *params[] = { size, md5_hex, sha_hex, now, id };
    if (fsync(up->fd) != 0 || rename(up->path, final) != 0) {
        api_error(resp, 500, "The image's data could not be stored: %s", strerror(errno));
    } else if (nph_db_execute(req->db,
                              "UPDATE images SET size = ?, checksum = ?, os_hash_algo = 'sha512', "
                              "os_hash_value = ?, status = 'active', updated_at = ? WHERE uuid = ? "
                              "AND deleted = 0",
                              params, 5, NULL, &err) != NPH_OK) {
        unlink(final);
        api_error_from(resp, &err);
    } else {
        resp->status = 204;
    }
    if (resp->status != 204) { /* back to queued: the client may try again */
        nph_db_execute(req->db, "UPDATE images SET status = 'queued' WHERE uuid = ? AND status = 'saving'",
                       claim, 1, NULL, NULL);
        return;
    }
    nph_info("image %s stored: %s bytes, md5 %s", id, size, md5_hex);
}

void api_image_download(struct api_request *req, struct api_response *resp)
{
    req->glance = true;
    api_images_show(req, resp); /* visibility rules, and 404 */
    if (resp->status != 200)
        return;
    json_object_put(resp->body);
    resp->body = NULL;
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", req->api->image_dir, req->params[0]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        if (fd >= 0)
            close(fd);
        resp->status = 204; /* no data uploaded yet */
        return;
    }
    resp->file_fd = fd;
    resp->file_size = (uint64_t)sb.st_size;
    resp->content_type = "application/octet-stream";
    resp->status = 200;
}

void api_image_delete(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *img = owned_image(req, resp, req->params[0]);
    if (!img)
        return;
    if (json_object_get_int64(api_member(img, "protected"))) {
        api_error(resp, 403, "Image %s is protected and cannot be deleted.", req->params[0]);
        return;
    }
    char id[32], now[NPH_ISO_TIME_LEN], path[4200];
    snprintf(id, sizeof(id), "%lld", (long long)json_object_get_int64(api_member(img, "id")));
    nph_clock_iso_now(now);
    const char *params[] = { id, now, req->params[0] };
    nph_error err = NPH_ERROR_INIT;
    if (nph_db_execute(req->db, "UPDATE images SET deleted = ?, deleted_at = ?, status = 'deleted' "
                                "WHERE uuid = ? AND deleted = 0",
                       params, 3, NULL, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    snprintf(path, sizeof(path), "%s/%s", req->api->image_dir, req->params[0]);
    unlink(path);
    resp->status = 204;
}

/* ---- PATCH: Glance's JSON patch (add, replace, remove) --------------------- */

static const char *const read_only[] = { "id", "status", "size", "checksum", "os_hash_algo",
                                         "os_hash_value", "owner", "created_at", "updated_at",
                                         "virtual_size", "self", "file", "schema",
                                         "disk_format", "container_format", NULL };

/* Applies one operation to the columns in `cols` (name, visibility, min_disk,
 * min_ram, protected) or the properties; false with resp set on a bad one. */
static bool apply_patch_op(struct api_request *req, struct api_response *resp, json_object *op,
                           json_object *cols, json_object *props)
{
    const char *kind = json_object_get_string(api_member(op, "op"));
    const char *path = json_object_get_string(api_member(op, "path"));
    json_object *value = api_member(op, "value");
    bool remove = kind && strcmp(kind, "remove") == 0;
    if (!kind || (!remove && strcmp(kind, "add") != 0 && strcmp(kind, "replace") != 0) || !path ||
        path[0] != '/' || !path[1] || (!remove && !api_member(op, "value") && !json_object_is_type(value, json_type_null))) {
        api_error(resp, 400, "Unable to apply the patch: each operation needs an op of add, "
                             "replace or remove, a path like /name and, but for remove, a value.");
        return false;
    }
    const char *key = path + 1;
    if (listed(read_only, key)) {
        api_error(resp, 403, "Attribute '%s' is read-only.", key);
        return false;
    }
    static const char *const columns[] = { "name", "visibility", "min_disk", "min_ram", "protected",
                                           NULL };
    if (!listed(columns, key)) {
        if (remove && !api_member(props, key)) {
            api_error(resp, 409, "Property %s does not exist.", key);
            return false;
        }
        if (remove)
            json_object_object_del(props, key);
        else
            json_object_object_add(props, key, json_object_new_string(json_object_get_string(value)));
        return true;
    }
    if (remove) {
        api_error(resp, 403, "Attribute '%s' cannot be removed.", key);
        return false;
    }
    static const char *const visibilities[] = { "public", "private", "shared", "community", NULL };
    bool numeric = strcmp(key, "min_disk") == 0 || strcmp(key, "min_ram") == 0;
    if ((numeric && (!json_object_is_type(value, json_type_int) || json_object_get_int64(value) < 0)) ||
        (strcmp(key, "protected") == 0 && !json_object_is_type(value, json_type_boolean)) ||
        (strcmp(key, "visibility") == 0 && !listed(visibilities, json_object_get_string(value)))) {
        api_error(resp, 400, "Invalid value for %s: %s", key, json_object_to_json_string(value));
        return false;
    }
    if (strcmp(key, "visibility") == 0 && strcmp(json_object_get_string(value), "public") == 0 &&
        !api_is_admin(req, resp))
        return false;
    json_object_object_add(cols, key, json_object_get(value));
    return true;
}

void api_image_update(struct api_request *req, struct api_response *resp)
{
    nph_auto_json *img = owned_image(req, resp, req->params[0]);
    if (!img)
        return;
    if (!json_object_is_type(req->body, json_type_array)) {
        api_error(resp, 400, "An image update is a JSON patch: a list of operations.");
        return;
    }
    nph_error err = NPH_ERROR_INIT;
    const char *stored = json_object_get_string(api_member(img, "properties"));
    nph_auto_json *props = stored ? nph_json_parse(stored, strlen(stored), &err) : NULL;
    if (!props || !json_object_is_type(props, json_type_object)) {
        json_object_put(props);
        props = json_object_new_object();
    }
    nph_auto_json *cols = json_object_new_object();
    size_t n = json_object_array_length(req->body);
    for (size_t i = 0; i < n; i++)
        if (!apply_patch_op(req, resp, json_object_array_get_idx(req->body, i), cols, props))
            return;
    /* Unchanged columns keep their values: COALESCE with NULL parameters. */
    char min_disk[24] = "", min_ram[24] = "", now[NPH_ISO_TIME_LEN];
    json_object *v;
    if ((v = api_member(cols, "min_disk")))
        snprintf(min_disk, sizeof(min_disk), "%lld", (long long)json_object_get_int64(v));
    if ((v = api_member(cols, "min_ram")))
        snprintf(min_ram, sizeof(min_ram), "%lld", (long long)json_object_get_int64(v));
    nph_clock_iso_now(now);
    const char *params[] = {
        api_member(cols, "name") ? json_object_get_string(api_member(cols, "name")) : NULL,
        api_member(cols, "visibility") ? json_object_get_string(api_member(cols, "visibility")) : NULL,
        min_disk[0] ? min_disk : NULL,
        min_ram[0] ? min_ram : NULL,
        api_member(cols, "protected") ? (json_object_get_boolean(api_member(cols, "protected")) ? "1" : "0") : NULL,
        json_object_to_json_string_ext(props, JSON_C_TO_STRING_PLAIN),
        now,
        req->params[0],
    };
    if (nph_db_execute(req->db,
                       "UPDATE images SET name = COALESCE(?, name), visibility = COALESCE(?, "
                       "visibility), min_disk = COALESCE(?, min_disk), min_ram = COALESCE(?, "
                       "min_ram), protected = COALESCE(?, protected), properties = ?, updated_at = ? "
                       "WHERE uuid = ? AND deleted = 0",
                       params, 8, NULL, &err) != NPH_OK) {
        api_error_from(resp, &err);
        return;
    }
    reply_image(req, resp, 200, req->params[0]);
}
