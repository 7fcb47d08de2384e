/* SPDX-License-Identifier: GPL-2.0-or-later */
/* make bench: spawn and destroy of N VMs against vcsim, as bare SOAP round
 * trips (CreateVM_Task, PowerOnVM_Task, PowerOffVM_Task, Destroy_Task, each
 * followed to completion) and through the vmware driver's own spawn and
 * destroy; or, as a client of the compute API, N servers booted until ACTIVE
 * and deleted until gone (one process, one keep-alive connection, so the
 * client's own cost stays out of the figure).
 *   bench-vmware URL CA_FILE N          prints bare_ms_per_vm, driver_ms_per_vm
 *   bench-vmware --stack BASE IMAGE N   prints stack_ms_per_vm */
#include "config.h"

#include <curl/curl.h>

#include "buffer.h"
#include "clock.h"
#include "vmw-ops.h"
#include "../unit/vmw-test-host.h"

static double now_ms(void)
{
    return (double)nph_clock_monotonic_ns() / 1e6;
}

/* The fewest SOAP calls a spawn and a destroy take (no disk, no NIC). */
static nph_status bare_vm(struct vmw_driver *d, const struct vmw_node *n, int i, nph_error *err)
{
    struct vmw_conn *c = &d->conn;
    char uuid[40];
    snprintf(uuid, sizeof(uuid), "bare0000-0000-4000-8000-%012d", i);
    struct vmw_spawn_plan plan = { .uuid = uuid, .name = "bare", .datastore_name = n->datastore_name,
                                   .guest_id = "otherGuest64", .vcpus = 1, .memory_mb = 512 };
    VMW_LOCKED(c);
    struct vim25__CreateVMRequest create = { vmw_mor(c, &n->vm_folder), vmw_spawn_spec(c->soap, &plan),
                                             vmw_mor(c, &n->pool), NULL };
    struct vmw_ref vm = { "", "" };
    nph_status st = VMW_TASK(c, err, CreateVM_USCORETask, &create, "create", 60, &vm);
    struct vim25__PowerOnVMRequest on = { vmw_mor(c, &vm), NULL };
    struct vim25__ThisRequest this = { vmw_mor(c, &vm) };
    if (st == NPH_OK)
        st = VMW_TASK(c, err, PowerOnVM_USCORETask, &on, "power on", 60, NULL);
    if (st == NPH_OK)
        st = VMW_TASK(c, err, PowerOffVM_USCORETask, &this, "power off", 60, NULL);
    if (st == NPH_OK)
        st = VMW_TASK(c, err, Destroy_USCORETask, &this, "destroy", 60, NULL);
    return st;
}

static nph_status driver_vm(void *drv, const char *node, int i, nph_error *err)
{
    char uuid[40];
    snprintf(uuid, sizeof(uuid), "d0000000-0000-4000-8000-%012d", i);
    struct nph_flavor f = { .id = "1", .name = "m1.tiny", .vcpus = 1, .memory_mb = 512 };
    struct nph_instance inst = { .uuid = uuid, .name = "drv", .node = node, .flavor = &f };
    struct nph_spawn_args args = { 0 };
    nph_status st = vmw_spawn(drv, &inst, &args, err);
    if (st == NPH_OK)
        st = vmw_destroy(drv, &inst, true, err);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The whole stack, as an API client.                                       */

static size_t collect(char *data, size_t size, size_t n, void *opaque)
{
    return nph_buffer_append(opaque, data, size * n) == NPH_OK ? size * n : 0;
}

/* One request; the body of the reply, NUL-terminated, in `out`. */
static long request(CURL *curl, const char *method, const char *url, const char *body,
                    nph_buffer *out)
{
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    out->len = 0;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_HTTPGET, body ? 0L : 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, out);
    long code = 0;
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    nph_buffer_append(out, "", 1);
    curl_slist_free_all(h);
    return code;
}

static int occurrences(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

/* Poll GET /servers/detail until `want` servers are `status` and none ERROR
 * (want 0: until the list is empty). */
static bool wait_for(CURL *curl, const char *base, const char *status, int want)
{
    char url[512], needle[64];
    snprintf(url, sizeof(url), "%s/v2.1/servers/detail", base);
    snprintf(needle, sizeof(needle), "\"status\":\"%s\"", status);
    nph_buffer b = { 0 };
    bool done = false;
    for (int i = 0; i < 60000 && !done; i++) {
        if (request(curl, "GET", url, NULL, &b) != 200 || strstr(b.data, "\"status\":\"ERROR\""))
            break;
        done = want ? occurrences(b.data, needle) == want : !strstr(b.data, "\"id\":");
        if (!done)
            nph_clock_sleep_ms(5);
    }
    nph_buffer_reset(&b);
    return done;
}

static int stack(const char *base, const char *image, int count)
{
    CURL *curl = curl_easy_init();
    char url[512], body[512], (*ids)[40] = calloc((size_t)count, sizeof(*ids));
    nph_buffer b = { 0 };
    bool ok = curl && ids;
    double t0 = now_ms();
    snprintf(url, sizeof(url), "%s/v2.1/servers", base);
    for (int i = 0; ok && i < count; i++) {
        snprintf(body, sizeof(body),
                 "{\"server\": {\"name\": \"b%d\", \"flavorRef\": \"1\", \"imageRef\": \"%s\"}}",
                 i, image);
        const char *id = request(curl, "POST", url, body, &b) == 202 ? strstr(b.data, "\"id\":\"") : NULL;
        ok = id && sscanf(id + 6, "%36[0-9a-f-]", ids[i]) == 1;
    }
    ok = ok && wait_for(curl, base, "ACTIVE", count);
    for (int i = 0; ok && i < count; i++) {
        snprintf(url, sizeof(url), "%s/v2.1/servers/%s", base, ids[i]);
        ok = request(curl, "DELETE", url, NULL, &b) == 204;
    }
    ok = ok && wait_for(curl, base, "ACTIVE", 0);
    double t1 = now_ms();
    nph_buffer_reset(&b);
    free(ids);
    if (curl)
        curl_easy_cleanup(curl);
    if (!ok) {
        fprintf(stderr, "bench-vmware: the servers did not all become ACTIVE and go away\n");
        return 1;
    }
    printf("stack_ms_per_vm %.3f\n", (t1 - t0) / count);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "--stack"))
        return stack(argv[2], argv[3], atoi(argv[4]));
    if (argc != 4) {
        fprintf(stderr, "usage: bench-vmware URL CA_FILE N\n");
        return 2;
    }
    int count = atoi(argv[3]);
    th_set("url", argv[1]);
    th_set("username", "admin");
    th_set("password", "s3cret");
    th_set("ca_file", argv[2]);
    th_set("port_group", "");
    void *drv = NULL;
    nph_error err = NPH_ERROR_INIT;
    struct vmw_node node;
    if (th_start(&drv, &err) != NPH_OK || vmw_node_get(drv, "DC0_H0", &node, &err) != NPH_OK) {
        fprintf(stderr, "bench-vmware: %s\n", err.message);
        return 1;
    }
    nph_status st = NPH_OK;
    double t0 = now_ms();
    for (int i = 0; i < count && st == NPH_OK; i++)
        st = bare_vm(drv, &node, i, &err);
    double t1 = now_ms();
    for (int i = 0; i < count && st == NPH_OK; i++)
        st = driver_vm(drv, "DC0_H0", i, &err);
    double t2 = now_ms();
    nph_vmware_descriptor.ops->cleanup(drv);
    if (st != NPH_OK) {
        fprintf(stderr, "bench-vmware: %s\n", err.message);
        return 1;
    }
    printf("bare_ms_per_vm %.3f\ndriver_ms_per_vm %.3f\n", (t1 - t0) / count, (t2 - t1) / count);
    return 0;
}
