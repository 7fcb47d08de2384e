/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Datastore files over HTTPS with libcurl: vCenter and ESXi serve them at
 * /folder/PATH?dcPath=DC&dsName=DS to the holder of a session cookie. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vmw-driver.h"

/* https://host:port/folder/PATH?dcPath=DC&dsName=DS, every part escaped. */
static nph_status file_url(struct vmw_driver *d, CURL *curl, const struct vmw_node *n,
                           const char *ds_path, char *out, size_t len, nph_error *err)
{
    char base[512];
    snprintf(base, sizeof(base), "%s", d->opt.url);
    char *sdk = strstr(base + 8, "/sdk");
    if (sdk)
        *sdk = '\0';
    char path[1024] = "";
    size_t used = 0;
    /* Escape each path segment, keep the slashes. */
    for (const char *p = ds_path; *p && used < sizeof(path);) {
        size_t seg = strcspn(p, "/");
        char *esc = curl_easy_escape(curl, p, (int)seg);
        if (!esc)
            return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
        used += (size_t)snprintf(path + used, sizeof(path) - used, "%s%s", esc, p[seg] ? "/" : "");
        curl_free(esc);
        p += seg + (p[seg] ? 1 : 0);
    }
    char *dc = curl_easy_escape(curl, n->datacenter_name, 0);
    char *ds = curl_easy_escape(curl, n->datastore_name, 0);
    if (dc && ds)
        snprintf(out, len, "%s/folder/%s?dcPath=%s&dsName=%s", base, path, dc, ds);
    curl_free(dc);
    curl_free(ds);
    if (!dc || !ds)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    return NPH_OK;
}

/* A curl handle for `ds_path` with the session cookie and TLS options. */
static CURL *open_handle(struct vmw_driver *d, const struct vmw_node *n, const char *ds_path,
                         char *url, size_t url_len, nph_error *err)
{
    CURL *curl = curl_easy_init();
    if (!curl) {
        nph_error_set(err, NPH_ERR_NO_MEMORY, "cannot create a curl handle");
        return NULL;
    }
    if (file_url(d, curl, n, ds_path, url, url_len, err) != NPH_OK) {
        curl_easy_cleanup(curl);
        return NULL;
    }
    char cookie[sizeof(((struct vmw_conn *)0)->cookie)];
    {
        /* Any session's cookie will do; the transfer runs without it held. */
        VMW_SESSION(c, &d->sessions);
        snprintf(cookie, sizeof(cookie), "%s", c->cookie);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_COOKIE, cookie);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)d->opt.timeout_s);
    /* A transfer that stalls for timeout_s is dead; a slow one is not. */
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, (long)d->opt.timeout_s);
    if (d->opt.insecure) {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (d->opt.ca_file[0])
        curl_easy_setopt(curl, CURLOPT_CAINFO, d->opt.ca_file);
    return curl;
}

static nph_status finish(CURL *curl, CURLcode rc, const char *what, const char *url,
                         nph_error *err)
{
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK)
        return nph_error_set(err, NPH_ERR_IO, "%s %s: %s", what, url, curl_easy_strerror(rc));
    if (code == 404)
        return nph_error_set(err, NPH_ERR_NOT_FOUND, "%s %s: no such file on the datastore",
                             what, url);
    if (code < 200 || code > 299)
        return nph_error_set(err, NPH_ERR_BACKEND, "%s %s: HTTP status %ld", what, url, code);
    return NPH_OK;
}

nph_status vmw_ds_upload(struct vmw_driver *d, const struct vmw_node *n, const char *ds_path,
                         const char *local_file, nph_error *err)
{
    FILE *f = fopen(local_file, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0) {
        nph_status st = nph_error_set(err, NPH_ERR_IO, "cannot read image file '%s': %s",
                                      local_file, strerror(errno));
        if (f)
            fclose(f);
        return st;
    }
    char url[2048];
    CURL *curl = open_handle(d, n, ds_path, url, sizeof(url), err);
    if (!curl) {
        fclose(f);
        return err ? err->code : NPH_ERR_IO;
    }
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READDATA, f);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)sb.st_size);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform(curl);
    nph_status st = finish(curl, rc, "uploading to", url, err);
    curl_slist_free_all(headers);
    fclose(f);
    return st;
}

nph_status vmw_ds_download(struct vmw_driver *d, const struct vmw_node *n, const char *ds_path,
                           const char *local_file, uint64_t *size, nph_error *err)
{
    FILE *f = fopen(local_file, "wb");
    if (!f)
        return nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", local_file,
                             strerror(errno));
    char url[2048];
    CURL *curl = open_handle(d, n, ds_path, url, sizeof(url), err);
    if (!curl) {
        fclose(f);
        return err ? err->code : NPH_ERR_IO;
    }
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 0L);
    CURLcode rc = curl_easy_perform(curl);
    nph_status st = finish(curl, rc, "downloading", url, err);
    long at = ftell(f);
    if (fclose(f) != 0 && st == NPH_OK)
        st = nph_error_set(err, NPH_ERR_IO, "cannot write '%s': %s", local_file, strerror(errno));
    if (size)
        *size = at > 0 ? (uint64_t)at : 0;
    return st;
}

nph_status vmw_ds_stat(struct vmw_driver *d, const struct vmw_node *n, const char *ds_path,
                       uint64_t *size, nph_error *err)
{
    char url[2048];
    CURL *curl = open_handle(d, n, ds_path, url, sizeof(url), err);
    if (!curl)
        return err ? err->code : NPH_ERR_IO;
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    CURLcode rc = curl_easy_perform(curl);
    curl_off_t length = 0;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    *size = length > 0 ? (uint64_t)length : 0;
    return finish(curl, rc, "looking for", url, err);
}
