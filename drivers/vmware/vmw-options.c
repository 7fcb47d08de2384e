/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The vmware driver's options (the [options] section of plugins.d/NAME.conf). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "vmw-driver.h"

const struct nph_driver_option vmw_option_table[] = {
    { "url", NPH_OPT_STRING, "", 0, 0, "vCenter or ESXi SDK URL, e.g. https://vcenter.example.com/sdk" },
    { "username", NPH_OPT_STRING, "", 0, 0, "user to log in as" },
    { "password", NPH_OPT_STRING, "", 0, 0, "that user's password" },
    { "insecure", NPH_OPT_BOOL, "false", 0, 0,
      "skip TLS certificate verification (test setups only)" },
    { "ca_file", NPH_OPT_STRING, "", 0, 0,
      "PEM file of the CAs to trust; empty: the system's /etc/ssl/certs" },
    { "api_version", NPH_OPT_STRING, "6.7", 0, 0, "vim25 API version sent in SOAPAction" },
    { "clusters", NPH_OPT_STRING, "", 0, 0,
      "comma-separated clusters and standalone hosts to expose as nodes; empty: all" },
    { "datastore", NPH_OPT_STRING, "", 0, 0,
      "datastore for guests and images; empty: the one with most free space per node" },
    { "port_group", NPH_OPT_STRING, "VM Network", 0, 0,
      "port group guests' NICs connect to; empty: no NIC" },
    { "image_folder", NPH_OPT_STRING, "nephele-images", 0, 0,
      "datastore folder where uploaded images are cached" },
    { "guest_id", NPH_OPT_STRING, "otherGuest64", 0, 0,
      "guest OS identifier unless the image sets vmware_ostype" },
    { "timeout_s", NPH_OPT_INT, "60", 1, 3600, "connect, send and receive stall limit of a call" },
    { "task_timeout_s", NPH_OPT_INT, "600", 1, 86400, "how long to follow one vSphere task" },
    { "page_size", NPH_OPT_INT, "100", 1, 100000,
      "objects per RetrievePropertiesEx reply (the rest come by continuation token)" },
    { "connection_pool_size", NPH_OPT_INT, "8", 1, 64,
      "vSphere sessions kept open, each its own connection: this many operations run side by "
      "side (a spawn follows its tasks on one for seconds); 1 runs them one at a time" },
    { NULL, 0, NULL, 0, 0, NULL },
};

static void copy_string(struct vmw_driver *d, const char *key, char *out, size_t len)
{
    snprintf(out, len, "%s", d->svc->option_string(d->host, key));
}

nph_status vmw_read_options(struct vmw_driver *d, nph_error *err)
{
    struct vmw_options *o = &d->opt;
    copy_string(d, "url", o->url, sizeof(o->url));
    copy_string(d, "username", o->user, sizeof(o->user));
    copy_string(d, "password", o->password, sizeof(o->password));
    copy_string(d, "ca_file", o->ca_file, sizeof(o->ca_file));
    copy_string(d, "api_version", o->api_version, sizeof(o->api_version));
    copy_string(d, "clusters", o->clusters, sizeof(o->clusters));
    copy_string(d, "datastore", o->datastore, sizeof(o->datastore));
    copy_string(d, "port_group", o->port_group, sizeof(o->port_group));
    copy_string(d, "image_folder", o->image_folder, sizeof(o->image_folder));
    copy_string(d, "guest_id", o->guest_id, sizeof(o->guest_id));
    o->insecure = d->svc->option_bool(d->host, "insecure");
    o->timeout_s = (int)d->svc->option_int(d->host, "timeout_s");
    o->task_timeout_s = (int)d->svc->option_int(d->host, "task_timeout_s");
    o->page_size = (int)d->svc->option_int(d->host, "page_size");
    o->pool_size = (int)d->svc->option_int(d->host, "connection_pool_size");
    if (!o->url[0])
        return d->svc->option_error(d->host, err, "url",
                                    "is required (the SDK URL, e.g. https://vcenter/sdk)");
    if (strncmp(o->url, "https://", 8) != 0 && strncmp(o->url, "http://", 7) != 0)
        return d->svc->option_error(d->host, err, "url", "'%s' must start with https://", o->url);
    if (!o->user[0])
        return d->svc->option_error(d->host, err, "username", "is required");
    if (!o->image_folder[0] || strpbrk(o->image_folder, "[]"))
        return d->svc->option_error(d->host, err, "image_folder",
                                    "must be a non-empty folder name without brackets");
    return NPH_OK;
}

bool vmw_option_wants(const struct vmw_options *o, const char *name)
{
    if (!o->clusters[0])
        return true;
    size_t len = strlen(name);
    for (const char *p = o->clusters; *p;) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t n = strcspn(p, ",");
        while (n && p[n - 1] == ' ')
            n--;
        if (n == len && !strncmp(p, name, n))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}
