/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Ironic driver's options, set-up, capabilities and operations table. */
#include "config.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "irn-driver.h"

static const struct nph_driver_option irn_options[] = {
    { "url", NPH_OPT_STRING, "", 0, 0, "Ironic's API endpoint, e.g. http://127.0.0.1:6385 (required)" },
    { "token", NPH_OPT_STRING, "", 0, 0, "a fixed X-Auth-Token to send; empty with no auth_url means noauth" },
    { "auth_url", NPH_OPT_STRING, "", 0, 0, "Keystone v3 endpoint to log in to with username/password" },
    { "username", NPH_OPT_STRING, "", 0, 0, "Keystone user" },
    { "password", NPH_OPT_STRING, "", 0, 0, "Keystone password" },
    { "project_name", NPH_OPT_STRING, "", 0, 0, "Keystone project to scope the token to" },
    { "user_domain_name", NPH_OPT_STRING, "Default", 0, 0, "domain of the Keystone user" },
    { "project_domain_name", NPH_OPT_STRING, "Default", 0, 0, "domain of the Keystone project" },
    { "api_max_retries", NPH_OPT_INT, "60", 0, 1000, "retries of a request Ironic answers 409 node locked or 503" },
    { "api_retry_interval_ms", NPH_OPT_INT, "100", 1, 60000, "first wait before a retry; doubles up to 2 s" },
    { "request_timeout", NPH_OPT_INT, "60", 1, 3600, "seconds one HTTP request may take" },
    { "poll_min_ms", NPH_OPT_INT, "20", 1, 60000, "first interval when watching a node settle" },
    { "poll_max_ms", NPH_OPT_INT, "2000", 1, 60000, "longest interval when watching a node settle" },
    { "deploy_timeout", NPH_OPT_INT, "3600", 1, 86400, "seconds a deploy or rebuild may take" },
    { "power_timeout", NPH_OPT_INT, "300", 1, 86400, "seconds a power action may take" },
    { "release_timeout", NPH_OPT_INT, "1800", 1, 86400, "seconds a tear down may take" },
    { "node_cache_ms", NPH_OPT_INT, "2000", 0, 3600000, "how long one node listing serves the node reports" },
    { "page_size", NPH_OPT_INT, "500", 1, 1000, "nodes per page of a listing (Ironic's max_limit is 1000)" },
    { "power_sync_interval", NPH_OPT_INT, "10", 0, 86400,
      "seconds between the driver's own checks for power changes made outside; 0 turns them off" },
    { NULL, 0, NULL, 0, 0, NULL },
};

static const char *opt(struct irn_driver *d, const char *key)
{
    const char *v = d->svc->option_string(d->host, key);
    return v && *v ? v : NULL;
}

static unsigned opt_uint(struct irn_driver *d, const char *key)
{
    return (unsigned)d->svc->option_int(d->host, key);
}

static void on_retry(void *opaque, const char *method, const char *path, const char *why, long ms)
{
    struct irn_driver *d = opaque;
    d->svc->log(d->host, NPH_LOG_INFO, "Ironic: %s %s: %s; retrying in %ld ms", method, path, why, ms);
}

static nph_status connect_client(struct irn_driver *d, nph_error *err)
{
    if (!opt(d, "url"))
        return d->svc->option_error(d->host, err, "url", "is required: Ironic's API endpoint");
    if (opt(d, "auth_url") && (!opt(d, "username") || !opt(d, "password")))
        return d->svc->option_error(d->host, err, "auth_url", "needs username and password too");
    struct irn_client_config cfg = {
        .url = opt(d, "url"),
        .token = opt(d, "token"),
        .auth_url = opt(d, "auth_url"),
        .username = opt(d, "username"),
        .password = opt(d, "password"),
        .project_name = opt(d, "project_name"),
        .user_domain = opt(d, "user_domain_name"),
        .project_domain = opt(d, "project_domain_name"),
        .max_retries = (int)opt_uint(d, "api_max_retries"),
        .retry_interval_ms = (int)opt_uint(d, "api_retry_interval_ms"),
        .timeout_s = (long)opt_uint(d, "request_timeout"),
        .on_retry = on_retry,
        .retry_opaque = d,
    };
    nph_error cerr = NPH_ERROR_INIT;
    nph_status st = irn_client_new(&cfg, &d->client, &cerr);
    if (st != NPH_OK)
        return d->svc->error(err, st, "driver '%s': %s", d->svc->instance_name(d->host), cerr.message);
    return NPH_OK;
}

/* The power watch and the state poller end; waits still running give up. */
static void stop_threads(struct irn_driver *d)
{
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_broadcast(&d->wake);
    pthread_cond_broadcast(&d->poll_wake);
    pthread_cond_broadcast(&d->polled);
    pthread_mutex_unlock(&d->lock);
    if (d->watching)
        pthread_join(d->watcher, NULL);
    if (d->polling)
        pthread_join(d->poller, NULL);
    d->watching = d->polling = false;
}

static void irn_cleanup(void *drv)
{
    struct irn_driver *d = drv;
    stop_threads(d);
    irn_client_free(d->client);
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->refresh_lock);
    pthread_cond_destroy(&d->wake);
    pthread_cond_destroy(&d->poll_wake);
    pthread_cond_destroy(&d->polled);
    free(d->nodes);
    free(d);
}

static nph_status irn_init_host(const struct nph_host_services *svc, nph_host *host, void **drv,
                                nph_error *err)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct irn_driver *d = calloc(1, sizeof(*d));
    if (!d)
        return svc->error(err, NPH_ERR_NO_MEMORY, "out of memory");
    d->svc = svc;
    d->host = host;
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->refresh_lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    pthread_cond_init(&d->poll_wake, NULL);
    pthread_cond_init(&d->polled, NULL);
    d->poll_min_ms = opt_uint(d, "poll_min_ms");
    d->poll_max_ms = opt_uint(d, "poll_max_ms");
    if (d->poll_max_ms < d->poll_min_ms)
        d->poll_max_ms = d->poll_min_ms;
    d->deploy_timeout_s = opt_uint(d, "deploy_timeout");
    d->power_timeout_s = opt_uint(d, "power_timeout");
    d->release_timeout_s = opt_uint(d, "release_timeout");
    d->cache_ms = opt_uint(d, "node_cache_ms");
    d->page_size = opt_uint(d, "page_size");
    d->power_sync_s = opt_uint(d, "power_sync_interval");
    nph_status st = connect_client(d, err);
    if (st == NPH_OK)
        st = irn_nodes_refresh(d, true, err);
    if (st == NPH_OK)
        st = irn_poll_start(d, err);
    if (st == NPH_OK)
        st = irn_watch_start(d, err);
    if (st != NPH_OK) {
        irn_cleanup(d);
        return st;
    }
    svc->log(host, NPH_LOG_INFO, "Ironic at %s, API 1.%d, %zu node(s) with a resource class",
             opt(d, "url"), irn_client_version(d->client), d->n_nodes);
    *drv = d;
    return NPH_OK;
}

static void irn_capabilities(void *drv, struct nph_driver_capabilities *out)
{
    out->flags = NPH_CAP_CONSOLE_SERIAL;
    out->image_formats = NPH_IMAGE_QCOW2 | NPH_IMAGE_RAW | NPH_IMAGE_ISO;
    out->hypervisor_type = "ironic";
}

static const struct nph_driver_ops irn_ops = {
    .init_host = irn_init_host,
    .cleanup = irn_cleanup,
    .list_nodes = irn_list_nodes,
    .node_resources = irn_node_resources,
    .capabilities = irn_capabilities,
    .spawn = irn_spawn,
    .destroy = irn_destroy,
    .reboot = irn_reboot,
    .power_off = irn_power_off,
    .power_on = irn_power_on,
    .rebuild = irn_rebuild,
    .get_info = irn_get_info,
    .list_instances = irn_list_instances,
    .get_console = irn_get_console,
};

const struct nph_driver_descriptor irn_descriptor = {
    NPH_DRIVER_ABI_INIT,
    .name = "ironic",
    .version = PACKAGE_VERSION,
    .description = "baremetal servers on the nodes of an OpenStack Ironic (REST API 1.56-1.82)",
    .ops = &irn_ops,
    .options = irn_options,
};
