/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The route table of the compute API: method, path pattern, microversion
 * range, handler.  "{}" in a pattern matches one path segment. */
#include "config.h"

#include <string.h>

#include "api-internal.h"

struct route {
    const char *method;
    const char *pattern; /* below /v2.1 */
    api_handler handler;
    int min_minor;       /* 0: from 2.1 */
    int max_minor;       /* 0: to the newest */
};

static const struct route routes[] = {
    { "GET", "servers", api_servers_list, 0, 0 },
    { "POST", "servers", api_servers_create, 0, 0 },
    { "GET", "servers/detail", api_servers_detail, 0, 0 },
    { "GET", "servers/{}", api_servers_show, 0, 0 },
    { "PUT", "servers/{}", api_servers_update, 0, 0 },
    { "DELETE", "servers/{}", api_servers_delete, 0, 0 },
    { "POST", "servers/{}/action", api_servers_action, 0, 0 },
    { "GET", "servers/{}/metadata", api_server_metadata_list, 0, 0 },
    { "PUT", "servers/{}/metadata", api_server_metadata_replace, 0, 0 },
    { "POST", "servers/{}/metadata", api_server_metadata_update, 0, 0 },
    { "GET", "servers/{}/metadata/{}", api_server_metadata_show, 0, 0 },
    { "PUT", "servers/{}/metadata/{}", api_server_metadata_set_item, 0, 0 },
    { "DELETE", "servers/{}/metadata/{}", api_server_metadata_delete_item, 0, 0 },
    { "GET", "servers/{}/ips", api_server_ips, 0, 0 },
    { "GET", "servers/{}/ips/{}", api_server_ips_network, 0, 0 },
    { "GET", "servers/{}/os-instance-actions", api_instance_actions_list, 0, 0 },
    { "GET", "os-console-auth-tokens/{}", api_console_auth_token_show, 0, 0 },
    { "GET", "servers/{}/os-instance-actions/{}", api_instance_actions_show, 0, 0 },
    { "GET", "flavors", api_flavors_list, 0, 0 },
    { "POST", "flavors", api_flavors_create, 0, 0 },
    { "GET", "flavors/detail", api_flavors_detail, 0, 0 },
    { "GET", "flavors/{}", api_flavors_show, 0, 0 },
    { "PUT", "flavors/{}", api_flavors_update, 55, 0 },
    { "DELETE", "flavors/{}", api_flavors_delete, 0, 0 },
    { "GET", "flavors/{}/os-extra_specs", api_flavor_extra_specs_list, 0, 0 },
    { "POST", "flavors/{}/os-extra_specs", api_flavor_extra_specs_create, 0, 0 },
    { "GET", "flavors/{}/os-extra_specs/{}", api_flavor_extra_spec_show, 0, 0 },
    { "PUT", "flavors/{}/os-extra_specs/{}", api_flavor_extra_spec_update, 0, 0 },
    { "DELETE", "flavors/{}/os-extra_specs/{}", api_flavor_extra_spec_delete, 0, 0 },
    { "GET", "flavors/{}/os-flavor-access", api_flavor_access_list, 0, 0 },
    { "POST", "flavors/{}/action", api_flavors_action, 0, 0 },
    { "GET", "os-keypairs", api_keypairs_list, 0, 0 },
    { "POST", "os-keypairs", api_keypairs_create, 0, 0 },
    { "GET", "os-keypairs/{}", api_keypairs_show, 0, 0 },
    { "DELETE", "os-keypairs/{}", api_keypairs_delete, 0, 0 },
    { "GET", "images", api_images_list, 0, 0 },
    { "GET", "images/detail", api_images_detail, 0, 0 },
    { "GET", "images/{}", api_images_show, 0, 0 },
    { "POST", "images", api_images_create, 0, 0 },
    { "DELETE", "images/{}", api_images_delete, 0, 0 },
    { "PUT", "images/{}/file", api_images_upload, 0, 0 },
    { "GET", "images/{}/file", api_images_download, 0, 0 },
    { "GET", "limits", api_limits_show, 0, 0 },
    { "GET", "os-quota-sets/{}", api_quota_sets_show, 0, 0 },
    { "PUT", "os-quota-sets/{}", api_quota_sets_update, 0, 0 },
    { "DELETE", "os-quota-sets/{}", api_quota_sets_delete, 0, 0 },
    { "GET", "os-quota-sets/{}/defaults", api_quota_sets_defaults, 0, 0 },
    { "GET", "os-quota-sets/{}/detail", api_quota_sets_detail, 0, 0 },
    { "POST", "servers/{}/remote-consoles", api_server_remote_consoles, 6, 0 },
    { "GET", "os-aggregates", api_aggregates_list, 0, 0 },
    { "POST", "os-aggregates", api_aggregates_create, 0, 0 },
    { "GET", "os-aggregates/{}", api_aggregates_show, 0, 0 },
    { "PUT", "os-aggregates/{}", api_aggregates_update, 0, 0 },
    { "DELETE", "os-aggregates/{}", api_aggregates_delete, 0, 0 },
    { "POST", "os-aggregates/{}/action", api_aggregates_action, 0, 0 },
    { "GET", "os-server-groups", api_server_groups_list, 0, 0 },
    { "POST", "os-server-groups", api_server_groups_create, 0, 0 },
    { "GET", "os-server-groups/{}", api_server_groups_show, 0, 0 },
    { "DELETE", "os-server-groups/{}", api_server_groups_delete, 0, 0 },
    { "GET", "os-simple-tenant-usage", api_usage_list, 0, 0 },
    { "GET", "os-simple-tenant-usage/{}", api_usage_show, 0, 0 },
    { "POST", "os-server-external-events", api_external_events, 0, 0 },
    { "GET", "os-availability-zone", api_availability_zones, 0, 0 },
    { "GET", "os-availability-zone/detail", api_availability_zones_detail, 0, 0 },
    { "GET", "os-services", api_services_list, 0, 0 },
    { "GET", "os-hypervisors", api_hypervisors_list, 0, 0 },
    { "GET", "os-hypervisors/detail", api_hypervisors_detail, 0, 0 },
    { "GET", "os-hypervisors/statistics", api_hypervisors_statistics, 0, 0 },
    { "GET", "os-hypervisors/{}", api_hypervisors_show, 0, 0 },
    { "GET", "os-hypervisors/{}/uptime", api_hypervisors_uptime, 0, 87 },
    { "GET", "os-hypervisors/{}/search", api_hypervisors_search, 0, 52 },
    { "GET", "os-hypervisors/{}/servers", api_hypervisors_servers, 0, 52 },
};

/* Match `pattern` against the request path, collecting the {} segments. */
static bool matches(const char *pattern, struct api_request *req)
{
    int i = 0, n_params = 0;
    const char *p = pattern;
    while (*p) {
        size_t len = strcspn(p, "/");
        if (i == req->n_segments)
            return false;
        const char *seg = req->segments[i++];
        if (len == 2 && strncmp(p, "{}", 2) == 0) {
            if (n_params == (int)(sizeof(req->params) / sizeof(req->params[0])))
                return false;
            req->params[n_params++] = seg;
        } else if (strlen(seg) != len || strncmp(seg, p, len) != 0) {
            return false;
        }
        p += len;
        if (*p == '/')
            p++;
    }
    return i == req->n_segments;
}

void api_route(struct api_request *req, struct api_response *resp)
{
    bool path_known = false, method_known = false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *r = &routes[i];
        if (!matches(r->pattern, req))
            continue;
        /* "servers/detail" is also what "servers/{}" matches: prefer the
         * literal, which comes first in the table. */
        path_known = true;
        if (strcmp(r->method, req->method) != 0)
            continue;
        method_known = true;
        if ((r->min_minor && req->minor < r->min_minor) ||
            (r->max_minor && req->minor > r->max_minor))
            continue;
        r->handler(req, resp);
        return;
    }
    /* A method that exists at other microversions is a 404, as Nova's
     * VersionNotFoundForAPIMethod. */
    if (path_known && !method_known)
        api_error(resp, 405, "The method %s is not allowed for this resource.", req->method);
    else
        api_error(resp, 404, "The resource could not be found.");
}
