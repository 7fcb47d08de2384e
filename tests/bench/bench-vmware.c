/* SPDX-License-Identifier: GPL-2.0-or-later */
/* make bench: spawn and destroy of N VMs from a vmdk image against vcsim,
 *  - as the bare SOAP round trips such a spawn and destroy cannot do without:
 *    MakeDirectory (the guest's folder), CopyVirtualDisk_Task (its root disk
 *    from the image the datastore holds already), CreateVM_Task with the
 *    ConfigSpec the driver would send (same disk, NIC, CPUs, memory),
 *    PowerOnVM_Task, PowerOffVM_Task and Destroy_Task, each task followed to
 *    completion, one call at a time per VM;
 *  - through the vmware driver's own spawn and destroy;
 * either one VM after another, or THREADS at a time on a session each;
 *  - or, as a client of the compute API, N servers booted until ACTIVE and
 *    deleted until gone (one process, one keep-alive connection, so the
 *    client's own cost stays small).
 *   bench-vmware --bare URL CA_FILE NODE VMDK N [THREADS]    prints bare_ms_per_vm
 *   bench-vmware --driver URL CA_FILE NODE VMDK N [THREADS]  prints driver_ms_per_vm
 *   bench-vmware --stack BASE IMAGE N                        prints stack_ms_per_vm
 * and each the CPU time it used itself per VM, as cpu_ms_per_vm. */
#include "config.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "buffer.h"
#include "clock.h"
#include "vmw-ops.h"
#include "../unit/vmw-test-host.h"

#include <time.h>

static double now_ms(void)
{
    return (double)nph_clock_monotonic_ns() / 1e6;
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void make_instance(struct nph_instance *inst, char *uuid, size_t len, const char *prefix,
                          int i, const struct nph_flavor *f, const struct nph_image_meta *img,
                          const char *node)
{
    snprintf(uuid, len, "%s-0000-4000-8000-%012d", prefix, i);
    *inst = (struct nph_instance){ .uuid = uuid, .name = "bench", .node = node, .flavor = f,
                                   .image = img };
}

/* The image on the datastore, as the driver puts it there. */
struct cached_image {
    char ds_path[3 * VMW_NAME_MAX];
    uint64_t size;
};

/* The reference: the fewest SOAP calls that spawn and destroy the same VM
 * from the cached image. */
static nph_status bare_vm(struct vmw_driver *d, const struct vmw_node *n,
                          const struct nph_instance *inst, const struct cached_image *img,
                          nph_error *err)
{
    char dir[2 * VMW_NAME_MAX], root[2 * VMW_NAME_MAX];
    snprintf(dir, sizeof(dir), "[%s] %s", n->datastore_name, inst->uuid);
    snprintf(root, sizeof(root), "[%s] %s/%s.vmdk", n->datastore_name, inst->uuid, inst->uuid);
    struct vmw_spawn_plan plan;
    vmw_plan_spawn(d, n, inst, img->ds_path, img->size, &plan);
    plan.root_disk = root;
    VMW_SESSION(c, &d->sessions);
    struct vim25__MakeDirectoryRequest mkdir = { vmw_mor(c, &c->file_manager), dir,
                                                 vmw_mor(c, &n->datacenter), "false" };
    struct vim25__EmptyResponse none;
    struct vim25__CopyVirtualDiskRequest copy = { vmw_mor(c, &c->disk_manager),
                                                  (char *)img->ds_path, vmw_mor(c, &n->datacenter),
                                                  root, vmw_mor(c, &n->datacenter), "false" };
    struct vim25__CreateVMRequest create = { vmw_mor(c, &n->vm_folder),
                                             vmw_spawn_spec(c->soap, &plan), vmw_mor(c, &n->pool),
                                             NULL };
    struct vmw_ref vm = { "", "" };
    nph_status st = VMW_CALL(c, err, MakeDirectory, &mkdir, &none);
    if (st == NPH_OK)
        st = VMW_TASK(c, err, CopyVirtualDisk_USCORETask, &copy, "copy", 60, NULL);
    if (st == NPH_OK)
        st = VMW_TASK(c, err, CreateVM_USCORETask, &create, "create", 60, &vm);
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

static nph_status driver_vm(void *drv, const struct nph_instance *inst, nph_error *err)
{
    struct nph_spawn_args args = { 0 };
    nph_status st = vmw_spawn(drv, inst, &args, err);
    if (st == NPH_OK)
        st = vmw_destroy(drv, inst, true, err);
    return st;
}

/* One thread's share of the VMs: every `step`-th from `first`. */
struct share {
    void *drv;
    const struct vmw_node *node;
    const struct cached_image *cached;
    const struct nph_flavor *flavor;
    const struct nph_image_meta *image;
    bool bare;
    int first, step, count;
    nph_status st;
    nph_error err;
};

static void *run_share(void *arg)
{
    struct share *s = arg;
    char uuid[40];
    struct nph_instance inst;
    s->st = NPH_OK;
    for (int i = s->first; i < s->count && s->st == NPH_OK; i += s->step) {
        make_instance(&inst, uuid, sizeof(uuid), s->bare ? "b0000000" : "d0000000", i, s->flavor,
                      s->image, s->node->name);
        s->st = s->bare ? bare_vm(s->drv, s->node, &inst, s->cached, &s->err)
                        : driver_vm(s->drv, &inst, &s->err);
    }
    return NULL;
}

/* argv: --bare or --driver, URL, CA_FILE, NODE, VMDK, N [, THREADS] */
static int soap_bench(int argc, char **argv)
{
    bool bare = !strcmp(argv[1], "--bare");
    const char *node = argv[4], *vmdk = argv[5];
    int count = atoi(argv[6]), threads = argc > 7 ? atoi(argv[7]) : 1;
    if (threads < 1 || threads > 64)
        threads = 1;
    char pool[16];
    snprintf(pool, sizeof(pool), "%d", threads);
    th_set("url", argv[2]);
    th_set("username", "admin");
    th_set("password", "s3cret");
    th_set("ca_file", argv[3]);
    th_set("connection_pool_size", pool); /* a session per thread */
    void *drv = NULL;
    nph_error err = NPH_ERROR_INIT;
    struct vmw_node n;
    struct stat sb;
    struct nph_flavor f = { .id = "1", .name = "m1.tiny", .vcpus = 1, .memory_mb = 512,
                            .root_gb = 1 };
    struct nph_image_meta img = { .id = "bench-vmdk", .name = "bench-vmdk",
                                  .disk_format = NPH_IMAGE_VMDK, .path = vmdk };
    img.size = stat(vmdk, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    struct cached_image cached;
    /* Log in, read the inventory and put the image on the datastore before
     * the timing starts. */
    nph_status st = th_start(&drv, &err);
    if (st == NPH_OK)
        st = vmw_node_get(drv, node, &n, &err);
    if (st == NPH_OK)
        st = vmw_ensure_image(drv, &n, &img, cached.ds_path, sizeof(cached.ds_path),
                              &cached.size, &err);
    struct share shares[64];
    pthread_t ids[64];
    double t0 = now_ms(), c0 = cpu_ms();
    for (int t = 0; t < threads && st == NPH_OK; t++) {
        shares[t] = (struct share){ .drv = drv, .node = &n, .cached = &cached, .flavor = &f,
                                    .image = &img, .bare = bare, .first = t, .step = threads,
                                    .count = count };
        pthread_create(&ids[t], NULL, run_share, &shares[t]);
    }
    for (int t = 0; t < threads && st == NPH_OK; t++)
        pthread_join(ids[t], NULL);
    for (int t = 0; t < threads && st == NPH_OK; t++)
        if ((st = shares[t].st) != NPH_OK)
            err = shares[t].err;
    double t1 = now_ms(), c1 = cpu_ms();
    if (drv)
        nph_vmware_descriptor.ops->cleanup(drv);
    if (st != NPH_OK) {
        fprintf(stderr, "bench-vmware: %s\n", err.message);
        return 1;
    }
    printf("%s_ms_per_vm %.3f\ncpu_ms_per_vm %.3f\n", bare ? "bare" : "driver", (t1 - t0) / count,
           (c1 - c0) / count);
    return 0;
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

/* Wait until every server is ACTIVE (gone: until each answers 404), looking
 * at one server at a time in the order they were made: a GET of one server
 * costs the API far less than listing all of them, and the builds finish in
 * about that order.  Between two looks it sleeps half the time servers have
 * taken each since `since_ms` (1 to 10 ms), so it asks about twice per server and
 * notices the last one soon.  A server in ERROR ends the wait. */
static bool wait_for(CURL *curl, const char *base, char (*ids)[40], int count, bool gone,
                     double since_ms)
{
    char url[512];
    nph_buffer b = { 0 };
    bool ok = true;
    for (int i = 0; ok && i < count; i++) {
        double each = (now_ms() - since_ms) / (i + 1);
        unsigned pause_ms = each < 2 ? 1 : each > 20 ? 10 : (unsigned)(each / 2);
        snprintf(url, sizeof(url), "%s/v2.1/servers/%s", base, ids[i]);
        for (int polls = 0;; polls++) {
            long code = request(curl, "GET", url, NULL, &b);
            if (gone ? code == 404 : code == 200 && strstr(b.data, "\"status\":\"ACTIVE\""))
                break;
            if (code != 200 || strstr(b.data, "\"status\":\"ERROR\"") || polls == 60000) {
                fprintf(stderr, "bench-vmware: server %s: HTTP %ld %s\n", ids[i], code, b.data);
                ok = false;
                break;
            }
            nph_clock_sleep_ms(pause_ms);
        }
    }
    nph_buffer_reset(&b);
    return ok;
}

static int stack(const char *base, const char *image, int count)
{
    CURL *curl = curl_easy_init();
    char url[512], body[512], (*ids)[40] = calloc((size_t)count, sizeof(*ids));
    nph_buffer b = { 0 };
    bool ok = curl && ids;
    double t0 = now_ms(), c0 = cpu_ms();
    snprintf(url, sizeof(url), "%s/v2.1/servers", base);
    for (int i = 0; ok && i < count; i++) {
        snprintf(body, sizeof(body),
                 "{\"server\": {\"name\": \"b%d\", \"flavorRef\": \"1\", \"imageRef\": \"%s\"}}",
                 i, image);
        const char *id = request(curl, "POST", url, body, &b) == 202 ? strstr(b.data, "\"id\":\"") : NULL;
        ok = id && sscanf(id + 6, "%36[0-9a-f-]", ids[i]) == 1;
    }
    ok = ok && wait_for(curl, base, ids, count, false, t0);
    double t_delete = now_ms();
    for (int i = 0; ok && i < count; i++) {
        snprintf(url, sizeof(url), "%s/v2.1/servers/%s", base, ids[i]);
        ok = request(curl, "DELETE", url, NULL, &b) == 204;
    }
    ok = ok && wait_for(curl, base, ids, count, true, t_delete);
    double t1 = now_ms(), c1 = cpu_ms();
    nph_buffer_reset(&b);
    free(ids);
    if (curl)
        curl_easy_cleanup(curl);
    if (!ok) {
        fprintf(stderr, "bench-vmware: the servers did not all become ACTIVE and go away\n");
        return 1;
    }
    printf("stack_ms_per_vm %.3f\ncpu_ms_per_vm %.3f\n", (t1 - t0) / count, (c1 - c0) / count);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "--stack"))
        return stack(argv[2], argv[3], atoi(argv[4]));
    if ((argc != 7 && argc != 8) ||
        (strcmp(argv[1], "--bare") != 0 && strcmp(argv[1], "--driver") != 0)) {
        fprintf(stderr, "usage: bench-vmware --bare|--driver URL CA_FILE NODE VMDK N [THREADS]\n"
                        "       bench-vmware --stack BASE IMAGE N\n");
        return 2;
    }
    return soap_bench(argc, argv);
}
