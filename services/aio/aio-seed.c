/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a new all-in-one data directory starts with: a configuration file,
 * a plugins.d with a driver, the default flavors and a small image. */
#include "config.h"

#include <errno.h>
#include <nettle/md5.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "aio.h"
#include "clock.h"
#include "conf.h"
#include "db-objects.h"
#include "error.h"
#include "json.h"
#include "log.h"
#include "uuid.h"

NPH_LOG_INIT("aio");

static nph_status make_dir(const char *path, nph_error *err)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return NPH_OK;
    return nph_error_set(err, NPH_ERR_IO, "cannot create directory '%s': %s", path, strerror(errno));
}

/* Write `text` to `path` unless the file exists (the operator may have
 * edited it). */
static nph_status write_once(const char *path, const char *text, nph_error *err)
{
    FILE *f = fopen(path, "wx");
    if (!f)
        return errno == EEXIST ? NPH_OK
                               : nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", path,
                                               strerror(errno));
    bool ok = fputs(text, f) >= 0;
    ok = fclose(f) == 0 && ok;
    return ok ? NPH_OK : nph_error_set(err, NPH_ERR_IO, "cannot write '%s'", path);
}

/* A random secret of letters and digits. */
static void random_secret(char *out, size_t len)
{
    static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    unsigned char bytes[64] = { 0 };
    if (len > sizeof(bytes))
        len = sizeof(bytes);
    if (getrandom(bytes, len, 0) != (ssize_t)len)
        nph_warn("getrandom failed; a generated secret is weak");
    for (size_t i = 0; i + 1 < len; i++)
        out[i] = alphabet[bytes[i] % (sizeof(alphabet) - 1)];
    out[len - 1] = '\0';
}

/* identity.conf: the admin of project admin and a demo user of project
 * demo, with random passwords. */
static nph_status write_identity(const char *dir, nph_error *err)
{
    char path[4096], text[1024], admin[17], demo[17];
    random_secret(admin, sizeof(admin));
    random_secret(demo, sizeof(demo));
    snprintf(path, sizeof(path), "%s/identity.conf", dir);
    snprintf(text, sizeof(text),
             "# Users of the built-in identity: each has a password, a project and roles\n"
             "# (admin, member, reader).  Written by nephele-aio; edit freely.\n"
             "[user:admin]\npassword = %s\nproject = admin\nroles = admin, member, reader\n\n"
             "[user:demo]\npassword = %s\nproject = demo\nroles = member, reader\n",
             admin, demo);
    mode_t old = umask(077);
    nph_status st = write_once(path, text, err);
    umask(old);
    return st;
}

nph_status aio_prepare_dir(const char *dir, const char *listen, const char *driver,
                           nph_error *err)
{
    char path[4096], text[8192], token_key[33];
    random_secret(token_key, sizeof(token_key));
    nph_status st = make_dir(dir, err);
    snprintf(path, sizeof(path), "%s/plugins.d", dir);
    if (st == NPH_OK)
        st = make_dir(path, err);
    snprintf(path, sizeof(path), "%s/images", dir);
    if (st == NPH_OK)
        st = make_dir(path, err);
    snprintf(path, sizeof(path), "%s/nephele.conf", dir);
    snprintf(text, sizeof(text),
             "# Written by nephele-aio when it created this directory; edit freely.\n"
             "# Options given on the command line override what is here.\n"
             "[DEFAULT]\nhost = aio\ntransport_url = inproc://\n"
             "default_availability_zone = nova\n"
             "# One host: a resize stays on it.\n"
             "allow_resize_to_same_host = true\n\n"
             "[database]\nconnection = sqlite:///%s/nephele.db\n\n"
             "[api]\nlisten = %s\nauth_strategy = builtin\n\n"
             "[identity]\nusers_file = %s/identity.conf\ntoken_key = %s\n\n"
             "[compute]\nplugins_dir = %s/plugins.d\n\n"
             "[glance]\nimage_dir = %s/images\n",
             dir, listen, dir, token_key, dir, dir);
    if (st == NPH_OK) {
        mode_t old = umask(077); /* it holds the token key */
        st = write_once(path, text, err);
        umask(old);
    }
    if (st == NPH_OK)
        st = write_identity(dir, err);
    if (st == NPH_OK)
        st = aio_choose_driver(dir, driver, err);
    return st;
}

/* Devstack's default flavors, ids 1 to 5, plus a tiny one for tests. */
static nph_status seed_flavors(nph_db *db, nph_error *err)
{
    static const struct {
        const char *id, *name, *vcpus, *ram, *disk;
    } flavors[] = {
        { "1", "m1.tiny", "1", "512", "1" },      { "2", "m1.small", "1", "2048", "20" },
        { "3", "m1.medium", "2", "4096", "40" },  { "4", "m1.large", "4", "8192", "80" },
        { "5", "m1.xlarge", "8", "16384", "160" }, { "42", "m1.nano", "1", "128", "1" },
    };
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    for (size_t i = 0; i < sizeof(flavors) / sizeof(flavors[0]); i++) {
        const char *params[] = { flavors[i].id, flavors[i].name, flavors[i].vcpus, flavors[i].ram,
                                 flavors[i].disk, now, now };
        nph_status st = nph_db_execute(db,
                                       "INSERT INTO flavors (flavorid, name, vcpus, memory_mb, "
                                       "root_gb, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                       params, 7, NULL, err);
        if (st != NPH_OK)
            return st;
    }
    return NPH_OK;
}

static void hex(const uint8_t *bytes, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", bytes[i]);
}

/* A PC boot sector whose code prints a greeting on the first serial port
 * and halts: on a real hypervisor `openstack console log show` shows it. */
static void write_boot_sector(uint8_t *sector)
{
    static const uint8_t code[] = {
        0x31, 0xc0, 0x8e, 0xd8,       /* xor ax, ax; mov ds, ax */
        0xbe, 0x16, 0x7c,             /* mov si, 0x7c16 (the text below) */
        0xba, 0xf8, 0x03,             /* mov dx, 0x3f8 (COM1) */
        0xac, 0x84, 0xc0, 0x74, 0x03, /* next: lodsb; test al, al; jz done */
        0xee, 0xeb, 0xf8,             /* out dx, al; jmp next */
        0xfa, 0xf4, 0xeb, 0xfd,       /* done: cli; hlt; jmp hlt */
    };
    static const char text[] = "Hello from nephele-tiny, a real guest booted by Nephele\r\n";
    memcpy(sector, code, sizeof(code));
    memcpy(sector + sizeof(code), text, sizeof(text));
    sector[510] = 0x55;
    sector[511] = 0xaa;
}

/* A 1 MiB raw disk image that boots (see write_boot_sector) and shows in
 * `openstack image list`. */
static nph_status seed_image(nph_db *db, const char *image_dir, nph_error *err)
{
    char uuid[NPH_UUID_STRLEN + 1], path[4096];
    nph_uuid_generate(uuid);
    snprintf(path, sizeof(path), "%s/%s", image_dir, uuid);
    size_t size = 1 << 20;
    uint8_t *data = calloc(1, size);
    if (!data)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    write_boot_sector(data);
    memcpy(data + 512, "NEPHELE-TINY-IMAGE", 18);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(data, 1, size, f) == size;
    ok = (f && fclose(f) == 0) && ok;
    struct md5_ctx md5;
    struct sha512_ctx sha;
    uint8_t md5_sum[MD5_DIGEST_SIZE], sha_sum[SHA512_DIGEST_SIZE];
    md5_init(&md5);
    md5_update(&md5, size, data);
    md5_digest(&md5, sizeof(md5_sum), md5_sum);
    sha512_init(&sha);
    sha512_update(&sha, size, data);
    sha512_digest(&sha, sizeof(sha_sum), sha_sum);
    free(data);
    if (!ok)
        return nph_error_set(err, NPH_ERR_IO, "cannot write the image '%s': %s", path,
                             strerror(errno));
    char md5_hex[2 * MD5_DIGEST_SIZE + 1], sha_hex[2 * SHA512_DIGEST_SIZE + 1], now[NPH_ISO_TIME_LEN];
    hex(md5_sum, sizeof(md5_sum), md5_hex);
    hex(sha_sum, sizeof(sha_sum), sha_hex);
    nph_clock_iso_now(now);
    char size_text[24];
    snprintf(size_text, sizeof(size_text), "%zu", size);
    const char *params[] = { uuid, "nephele-tiny", "raw", "bare", size_text, md5_hex, "sha512",
                             sha_hex, "active", "public", "admin", now, now };
    return nph_db_execute(db,
                          "INSERT INTO images (uuid, name, disk_format, container_format, size, "
                          "checksum, os_hash_algo, os_hash_value, status, visibility, owner, "
                          "properties, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                          "?, ?, '{}', ?, ?)",
                          params, 13, NULL, err);
}

nph_status aio_seed(const char *db_url, const char *image_dir, nph_error *err)
{
    nph_db *db = NULL;
    nph_status st = nph_db_open(db_url, &db, err);
    if (st == NPH_OK)
        st = nph_db_sync(db, err);
    nph_auto_json *rows = NULL;
    if (st == NPH_OK)
        st = nph_db_select_rows(db, "SELECT COUNT(*) AS n FROM flavors", NULL, 0, &rows, err);
    bool fresh = st == NPH_OK &&
                 json_object_get_int64(json_object_object_get(json_object_array_get_idx(rows, 0), "n")) == 0;
    if (fresh) {
        st = nph_db_begin(db, err);
        if (st == NPH_OK)
            st = seed_flavors(db, err);
        if (st == NPH_OK)
            st = seed_image(db, image_dir, err);
        if (st == NPH_OK)
            st = nph_db_commit(db, err);
        else
            nph_db_rollback(db);
        if (st == NPH_OK)
            nph_info("seeded the default flavors and the image nephele-tiny");
    }
    nph_db_close(db);
    return st;
}

static nph_status write_file(const char *path, const char *text, nph_error *err)
{
    mode_t old = umask(077); /* passwords */
    FILE *f = fopen(path, "w");
    umask(old);
    bool ok = f && fputs(text, f) >= 0;
    ok = (f && fclose(f) == 0) && ok;
    return ok ? NPH_OK : nph_error_set(err, NPH_ERR_IO, "cannot write '%s'", path);
}

/* With an external Keystone we know where to log in but not who: the user
 * adds the credentials.  No openrc-demo: there is no demo user. */
static nph_status write_keystone_openrc(const char *dir, const nph_config *cfg, nph_error *err)
{
    char path[4096], text[2048];
    const char *uri = nph_config_get(cfg, "keystone_authtoken", "www_authenticate_uri",
                                     nph_config_get(cfg, "keystone_authtoken", "auth_url", ""));
    snprintf(path, sizeof(path), "%s/openrc", dir);
    snprintf(text, sizeof(text),
             "# Source this file to use this all-in-one through its Keystone, once\n"
             "# OS_USERNAME, OS_PASSWORD and OS_PROJECT_NAME name a Keystone user:\n"
             "#   . %s && openstack server list\n"
             "export OS_AUTH_URL=%s\nexport OS_AUTH_TYPE=password\n"
             "export OS_IDENTITY_API_VERSION=3\n"
             "export OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_DOMAIN_NAME=Default\n"
             "export OS_REGION_NAME=RegionOne\nexport OS_INTERFACE=public\n",
             path, uri);
    return write_file(path, text, err);
}

nph_status aio_write_openrc(const char *dir, const nph_config *cfg, const char *base_url,
                            nph_error *err)
{
    char path[4096], text[2048];
    const char *auth = nph_config_get(cfg, "api", "auth_strategy", "noauth2");
    if (strcmp(auth, "keystone") == 0)
        return write_keystone_openrc(dir, cfg, err);
    if (strcmp(auth, "builtin") != 0) {
        snprintf(path, sizeof(path), "%s/openrc", dir);
        snprintf(text, sizeof(text),
                 "# Source this file to point the openstack CLI at this all-in-one:\n"
                 "#   . %s/openrc && openstack server list\n"
                 "# The API runs with noauth2: no identity service; requests are the admin's.\n"
                 "export OS_AUTH_TYPE=none\nexport OS_ENDPOINT=%s/v2.1\n"
                 "export OS_REGION_NAME=RegionOne\n",
                 dir, base_url);
        return write_file(path, text, err);
    }
    nph_auto_config *users = nph_config_new();
    nph_status st = nph_config_load_file(users, nph_config_get(cfg, "identity", "users_file", ""), err);
    static const char *const who[] = { "admin", "demo" };
    for (size_t i = 0; st == NPH_OK && i < 2; i++) {
        char section[64];
        snprintf(section, sizeof(section), "user:%s", who[i]);
        const char *password = nph_config_get(users, section, "password", NULL);
        if (!password)
            continue;
        snprintf(path, sizeof(path), "%s/openrc%s%s", dir, i ? "-" : "", i ? who[i] : "");
        snprintf(text, sizeof(text),
                 "# Source this file to use this all-in-one as %s (as devstack's openrc):\n"
                 "#   . %s && openstack server list\n"
                 "export OS_AUTH_URL=%s/v3\nexport OS_AUTH_TYPE=password\n"
                 "export OS_IDENTITY_API_VERSION=3\nexport OS_USERNAME=%s\n"
                 "export OS_PASSWORD=%s\nexport OS_PROJECT_NAME=%s\n"
                 "export OS_USER_DOMAIN_ID=default\nexport OS_PROJECT_DOMAIN_ID=default\n"
                 "export OS_REGION_NAME=RegionOne\nexport OS_INTERFACE=public\n",
                 who[i], path, base_url, who[i], password,
                 nph_config_get(users, section, "project", who[i]));
        st = write_file(path, text, err);
    }
    return st;
}
