/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Ironic driver against a real Ironic (Debian's python3-ironic, started
 * once by tests/peers/ironic.sh, or the one IRONIC_URL names): the REST
 * client (version negotiation, error bodies, 409 retries, paging), nodes as
 * compute nodes, and every operation through the loader.
 *
 * The peer is set up so that a lock is quick to provoke (the fake management
 * interface sleeps 2 s while it holds the node, Ironic answers 409 after one
 * second of waiting) and a deploy with a config drive fails (config drives
 * go to Swift, which is not there): Ironic's own "deploy failed".
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer.h"
#include "error.h"
#include "plugin.h"
#include "test-util.h"
#include "irn-client.h"

#define INST1 "11111111-2222-4333-8444-555555555555"
#define INST2 "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"

static char peer_dir[512], url[256];
static bool started;

static void stop_peer(void)
{
    char cmd[1200];
    if (!started)
        return;
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/peers/ironic.sh' stop '%s'; rm -rf '%s'",
             getenv("top_srcdir"), peer_dir, peer_dir);
    if (system(cmd) != 0)
        printf("# stopping Ironic failed\n");
    test_tmpdir_remove();
}

static void start_peer(void)
{
    const char *given = getenv("IRONIC_URL");
    if (given) {
        snprintf(url, sizeof(url), "%s", given);
        snprintf(peer_dir, sizeof(peer_dir), "%s", getenv("IRONIC_DIR") ? getenv("IRONIC_DIR") : "");
        return;
    }
    snprintf(peer_dir, sizeof(peer_dir), "%s/ironic", test_tmpdir_make());
    const char *extra = test_write_file("extra.conf",
                                        "[fake]\nmanagement_delay = 2\n"
                                        "[conductor]\nnode_locked_retry_attempts = 1\n"
                                        "[deploy]\nconfigdrive_use_object_store = true\n");
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "IRONIC_EXTRA_CONF='%s' NPH_PEERS_CACHE='%s/tests/peers-cache' "
             "bash '%s/tests/peers/ironic.sh' start '%s' >&2",
             extra, getenv("top_builddir"), getenv("top_srcdir"), peer_dir);
    started = true;
    atexit(stop_peer);
    if (system(cmd) != 0) {
        printf("Bail out! Ironic did not start (see %s/log)\n", peer_dir);
        exit(99);
    }
    snprintf(cmd, sizeof(cmd), "%s/env", peer_dir);
    FILE *f = fopen(cmd, "r");
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "URL=", 4) == 0)
            snprintf(url, sizeof(url), "%.*s", (int)strcspn(line + 4, "\n"), line + 4);
    if (f)
        fclose(f);
}

/* A fake-hardware node made available by the peer script; its UUID. */
static const char *make_node(const char *name, const char *rc, char out[40])
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "bash '%s/tests/peers/ironic.sh' node '%s' '%s' '%s'",
             getenv("top_srcdir"), peer_dir, name, rc);
    FILE *p = popen(cmd, "r");
    out[0] = '\0';
    if (!p || !fgets(out, 40, p) || pclose(p) != 0) {
        printf("Bail out! cannot enroll node %s\n", name);
        exit(99);
    }
    out[strcspn(out, "\n")] = '\0';
    return out;
}

static irn_client *client(void)
{
    struct irn_client_config cfg = { .url = url, .max_retries = 20, .retry_interval_ms = 50 };
    irn_client *c = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (irn_client_new(&cfg, &c, &err) != NPH_OK) {
        printf("Bail out! no client: %s\n", err.message);
        exit(99);
    }
    return c;
}

/* ------------------------------------------------------------------------ */

static void test_negotiation(void)
{
    irn_client *c = client();
    int min = 0, max = 0;
    irn_client_server_range(c, &min, &max);
    is_int(min, 1, "the server's minimum is 1.1");
    is_int(max, 82, "the server's maximum is 1.82");
    is_int(irn_client_version(c), 82, "the client speaks 1.82");

    /* At 1.1 a new node would be "available"; at 1.11 and later "enroll". */
    json_object *body = json_tokener_parse("{\"driver\": \"fake-hardware\", \"name\": \"negotiated\"}");
    json_object *node = NULL;
    nph_error err = NPH_ERROR_INIT;
    is_int(irn_request(c, "POST", "/v1/nodes", body, &node, &err), NPH_OK, "enroll a node");
    is_str(irn_str(node, "provision_state"), "enroll", "the version header was sent (enroll, not 1.1's state)");
    char path[128];
    snprintf(path, sizeof(path), "/v1/nodes/%s", irn_str(node, "uuid"));
    json_object_put(body);

    irn_client_set_version(c, 99);
    json_object *again = NULL;
    is_int(irn_request(c, "GET", path, NULL, &again, &err), NPH_OK,
           "a 406 renegotiates and the request goes through");
    is_int(irn_client_version(c), 82, "back at 1.82 from the 406's range");
    is_int(irn_request(c, "DELETE", path, NULL, NULL, &err), NPH_OK, "delete the node");
    is_int(irn_request(c, "GET", path, NULL, NULL, &err), NPH_ERR_NOT_FOUND, "a deleted node is 404");
    like(err.message, "could not be found", "with Ironic's faultstring");
    ok(strstr(err.message, "faultcode") == NULL, "unwrapped from the JSON inside JSON");
    json_object_put(again);
    json_object_put(node);
    irn_client_free(c);

    struct irn_client_config nowhere = { .url = "http://127.0.0.1:9/", .timeout_s = 5 };
    is_int(irn_client_new(&nowhere, &c, &err), NPH_ERR_IO, "nobody listening is an I/O error");
    struct irn_client_config bad = { .url = "ftp://x" };
    is_int(irn_client_new(&bad, &c, &err), NPH_ERR_INVALID, "a URL that is not http is refused");
}

static void test_errors(void)
{
    char text[512];
    irn_error_text("{\"error_message\": \"{\\\"faultcode\\\": \\\"Client\\\", \\\"faultstring\\\": "
                   "\\\"Node x is locked by host y.\\\", \\\"debuginfo\\\": null}\"}",
                   text, sizeof(text));
    is_str(text, "Node x is locked by host y.", "a faultstring out of the JSON string inside JSON");
    irn_error_text("{\"error_message\": \"{\\\"code\\\": 406, \\\"description\\\": \\\"Version 1.99\\\"}\"}",
                   text, sizeof(text));
    is_str(text, "Version 1.99", "a 406's description");
    irn_error_text("<html>Bad Gateway</html>", text, sizeof(text));
    is_str(text, "<html>Bad Gateway</html>", "a body that is not JSON as it is");

    irn_client *c = client();
    char uuid[40];
    make_node("errors", "baremetal-gold", uuid);
    char path[128];
    snprintf(path, sizeof(path), "/v1/nodes/%s/states/provision", uuid);
    json_object *body = json_tokener_parse("{\"target\": \"bogus\"}");
    nph_error err = NPH_ERROR_INIT;
    is_int(irn_request(c, "PUT", path, body, NULL, &err), NPH_ERR_INVALID, "a bad target is 400");
    like(err.message, "can not be performed", "the message is Ironic's");
    like(err.message, "HTTP 400", "and names the status");
    json_object_put(body);

    snprintf(path, sizeof(path), "/v1/nodes/%s", uuid);
    body = json_tokener_parse("[{\"op\": \"add\", \"path\": \"/instance_uuid\", \"value\": \"" INST1 "\"}]");
    is_int(irn_request(c, "PATCH", path, body, NULL, &err), NPH_OK, "associate an instance");
    json_object_put(body);
    unsigned long retries = irn_client_retries(c);
    body = json_tokener_parse("[{\"op\": \"add\", \"path\": \"/instance_uuid\", \"value\": \"" INST2 "\"}]");
    is_int(irn_request(c, "PATCH", path, body, NULL, &err), NPH_ERR_CONFLICT,
           "a node associated with another instance is 409");
    like(err.message, "associated with instance", "saying so");
    is_int(irn_client_retries(c), retries, "and that 409 is not retried");
    json_object_put(body);
    /* Ironic keeps an instance on one node only: let it go for the driver tests. */
    body = json_tokener_parse("[{\"op\": \"remove\", \"path\": \"/instance_uuid\"}]");
    is_int(irn_request(c, "PATCH", path, body, NULL, &err), NPH_OK, "disassociate");
    json_object_put(body);
    is_int(irn_request(c, "DELETE", path, NULL, NULL, &err), NPH_OK, "delete the node");
    irn_client_free(c);
}

struct holder {
    irn_client *c;
    char path[128];
    nph_status st;
};

/* Set the boot device: the fake management interface sleeps with the lock. */
static void *hold_lock(void *opaque)
{
    struct holder *h = opaque;
    json_object *body = json_tokener_parse("{\"boot_device\": \"pxe\"}");
    nph_error err = NPH_ERROR_INIT;
    h->st = irn_request(h->c, "PUT", h->path, body, NULL, &err);
    json_object_put(body);
    return NULL;
}

static nph_status count_item(void *opaque, json_object *item, nph_error *err)
{
    (*(int *)opaque)++;
    return NPH_OK;
}

static void test_locked_and_paging(void)
{
    irn_client *c = client();
    char uuid[40];
    make_node("locked", "baremetal-gold", uuid);
    struct holder h = { .c = c };
    snprintf(h.path, sizeof(h.path), "/v1/nodes/%s/management/boot_device", uuid);
    pthread_t t;
    pthread_create(&t, NULL, hold_lock, &h);
    usleep(400 * 1000);
    char path[128];
    snprintf(path, sizeof(path), "/v1/nodes/%s", uuid);
    json_object *body = json_tokener_parse("[{\"op\": \"add\", \"path\": \"/extra/tag\", \"value\": \"x\"}]");
    nph_error err = NPH_ERROR_INIT;
    unsigned long retries = irn_client_retries(c);
    is_int(irn_request(c, "PATCH", path, body, NULL, &err), NPH_OK,
           "a PATCH on a locked node goes through after retries");
    ok(irn_client_retries(c) > retries, "409 node locked was retried (%lu times)",
       irn_client_retries(c) - retries);
    pthread_join(t, NULL);
    is_int(h.st, NPH_OK, "the lock holder's request went through too");
    json_object_put(body);

    struct irn_client_config once = { .url = url, .max_retries = 0 };
    irn_client *impatient = NULL;
    irn_client_new(&once, &impatient, &err);
    h.c = impatient;
    pthread_create(&t, NULL, hold_lock, &h);
    usleep(400 * 1000);
    body = json_tokener_parse("[{\"op\": \"add\", \"path\": \"/extra/tag\", \"value\": \"y\"}]");
    is_int(irn_request(impatient, "PATCH", path, body, NULL, &err), NPH_ERR_CONFLICT,
           "without retries the lock is a conflict");
    like(err.message, "locked", "naming the lock");
    pthread_join(t, NULL);
    json_object_put(body);
    irn_client_free(impatient);
    irn_request(c, "DELETE", path, NULL, NULL, &err);

    /* Paging: a page of one node follows the next links. */
    char a[40], b[40];
    make_node("page-a", "baremetal-gold", a);
    make_node("page-b", "baremetal-gold", b);
    unsigned long before = irn_client_requests(c);
    int count = 0;
    nph_status st = irn_list(c, "/v1/nodes?limit=1&fields=uuid", "nodes", count_item, &count, &err);
    is_int(st, NPH_OK, "list page by page");
    ok(count >= 2, "every node listed (%d)", count);
    ok(irn_client_requests(c) - before >= (unsigned long)count, "one request per page (%lu)",
       irn_client_requests(c) - before);
    snprintf(path, sizeof(path), "/v1/nodes/%s", a);
    irn_request(c, "DELETE", path, NULL, NULL, &err);
    snprintf(path, sizeof(path), "/v1/nodes/%s", b);
    irn_request(c, "DELETE", path, NULL, NULL, &err);
    irn_client_free(c);
}

/* ------------------------------------------------------------------------ */
/* The driver through the loader.                                           */

static int n_events;
static void on_event(void *opaque, nph_driver *drv, const struct nph_driver_event *ev)
{
    __atomic_add_fetch(&n_events, 1, __ATOMIC_SEQ_CST);
}

static nph_driver *start_driver(void)
{
    char text[1024];
    snprintf(text, sizeof(text), "[driver]\nmodule = ironic\n[options]\nurl = %s\nnode_cache_ms = 0\n"
             "power_sync_interval = 1\napi_retry_interval_ms = 50\n", url);
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/drivers/ironic-baremetal/.libs", getenv("top_builddir"));
    struct nph_loader_options opts = { .plugin_dir = dir, .host_name = "host-a", .on_event = on_event };
    nph_driver *drv = NULL;
    nph_error err = NPH_ERROR_INIT;
    if (nph_driver_load(test_write_file("ironic.conf", text), &opts, &drv, &err) != NPH_OK ||
        nph_driver_start(drv, &err) != NPH_OK) {
        printf("Bail out! cannot start the ironic driver: %s\n", err.message);
        exit(99);
    }
    return drv;
}

static void count_node(void *opaque, const char *node)
{
    (*(int *)opaque)++;
}

static const struct nph_flavor metal = { .id = "bm", .name = "bm.gold", .vcpus = 8,
                                         .memory_mb = 16384, .root_gb = 100 };
static const struct nph_image_meta image = { .id = "c0ffee00-0000-4000-8000-000000000001",
                                             .disk_format = NPH_IMAGE_QCOW2 };

static int power_of(nph_driver *drv, const struct nph_instance *inst)
{
    struct nph_instance_info info = { 0 };
    nph_error err = NPH_ERROR_INIT;
    if (NPH_DRIVER_CALL(drv, get_info, &err, inst, &info) != NPH_OK)
        return -1;
    return (int)info.state;
}

/* vcpus_used of the node once it settles (cleaning ends within seconds). */
static uint32_t settled_used(nph_driver *drv, const char *node)
{
    struct nph_node_resources r = { 0 };
    nph_error err = NPH_ERROR_INIT;
    for (int i = 0; i < 100; i++) {
        memset(&r, 0, sizeof(r));
        if (NPH_DRIVER_CALL(drv, node_resources, &err, node, &r) != NPH_OK)
            return UINT32_MAX;
        if (r.vcpus_used == 0)
            break;
        usleep(100 * 1000);
    }
    return r.vcpus_used;
}

static void test_driver(void)
{
    char gold[40], silver[40];
    make_node("drv-gold", "baremetal-gold", gold);
    make_node("drv-silver", "baremetal.silver", silver);
    nph_driver *drv = start_driver();
    nph_error err = NPH_ERROR_INIT;
    int nodes = 0;
    is_int(NPH_DRIVER_CALL(drv, list_nodes, &err, count_node, &nodes), NPH_OK, "list nodes");
    ok(nodes >= 2, "Ironic's nodes are compute nodes (%d)", nodes);
    struct nph_node_resources r = { 0 };
    is_int(NPH_DRIVER_CALL(drv, node_resources, &err, silver, &r), NPH_OK, "a node's resources");
    is_str(r.resource_class, "CUSTOM_BAREMETAL_SILVER", "its class, normalized as Placement does");
    is_str(r.hypervisor_type, "ironic", "hypervisor type ironic");
    is_str(r.hypervisor_hostname, silver, "named by its UUID");
    is_int(r.vcpus, 8, "properties/cpus");
    is_int(r.vcpus_used, 0, "an available node is free");
    ok(!r.reserved, "and not reserved");

    struct nph_instance inst = { .uuid = INST1, .name = "metal-1", .node = gold, .flavor = &metal,
                                 .image = &image, .project_id = "p" };
    is_int(NPH_DRIVER_CALL(drv, spawn, &err, &inst, NULL), NPH_OK, "spawn on an Ironic node");
    is_int(power_of(drv, &inst), NPH_POWER_RUNNING, "deployed and powered on");
    is_int(NPH_DRIVER_CALL(drv, node_resources, &err, gold, &r), NPH_OK, "resources of the used node");
    is_int(r.vcpus_used, 8, "a node with an instance is all used");
    ok(r.reserved, "and reserved, as Nova reports it");
    struct nph_instance other = inst;
    other.uuid = INST2;
    is_int(NPH_DRIVER_CALL(drv, spawn, &err, &other, NULL), NPH_ERR_CONFLICT,
           "a node another instance holds is a conflict");
    like(err.message, "taken by someone else", "that sends the build elsewhere");
    is_int(power_of(drv, &other), -1, "the other instance is not on the node");

    is_int(NPH_DRIVER_CALL(drv, power_off, &err, &inst, 0), NPH_OK, "power off");
    is_int(power_of(drv, &inst), NPH_POWER_SHUTDOWN, "off");
    is_int(NPH_DRIVER_CALL(drv, power_on, &err, &inst), NPH_OK, "power on");
    is_int(NPH_DRIVER_CALL(drv, power_off, &err, &inst, 30), NPH_OK, "clean shutdown (soft power off)");
    is_int(power_of(drv, &inst), NPH_POWER_SHUTDOWN, "off again");
    is_int(NPH_DRIVER_CALL(drv, reboot, &err, &inst, NPH_REBOOT_HARD), NPH_OK, "hard reboot");
    is_int(power_of(drv, &inst), NPH_POWER_RUNNING, "on after a reboot");
    is_int(NPH_DRIVER_CALL(drv, reboot, &err, &inst, NPH_REBOOT_SOFT), NPH_OK, "soft reboot");
    is_int(NPH_DRIVER_CALL(drv, rebuild, &err, &inst, &image), NPH_OK, "rebuild");
    is_int(power_of(drv, &inst), NPH_POWER_RUNNING, "running after the rebuild");
    struct nph_console console;
    is_int(NPH_DRIVER_CALL(drv, get_console, &err, &inst, NPH_CONSOLE_VNC, &console),
           NPH_ERR_NOT_SUPPORTED, "no VNC console on baremetal");
    is_int(NPH_DRIVER_CALL(drv, get_console, &err, &inst, NPH_CONSOLE_SERIAL, &console),
           NPH_ERR_NOT_SUPPORTED, "the fake console interface gives no serial console");
    like(err.message, "offers no serial console", "saying so");

    /* A power change made in Ironic behind the driver's back is an event.
     * (A listing first, so the watch has seen the node on.) */
    NPH_DRIVER_CALL(drv, node_resources, &err, gold, &r);
    int before = __atomic_load_n(&n_events, __ATOMIC_SEQ_CST);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "curl -sf -X PUT -H 'X-OpenStack-Ironic-API-Version: 1.82' "
             "-H 'Content-Type: application/json' -d '{\"target\": \"power off\"}' %s/v1/nodes/%s/states/power",
             url, gold);
    is_int(system(cmd), 0, "power the node off in Ironic");
    for (int i = 0; i < 60 && __atomic_load_n(&n_events, __ATOMIC_SEQ_CST) == before; i++)
        usleep(100 * 1000);
    ok(__atomic_load_n(&n_events, __ATOMIC_SEQ_CST) > before, "the power watch reported it");

    is_int(NPH_DRIVER_CALL(drv, destroy, &err, &inst, true), NPH_OK, "destroy");
    is_int(power_of(drv, &inst), -1, "gone from the node");
    is_int(settled_used(drv, gold), 0, "the node is available again");
    is_int(NPH_DRIVER_CALL(drv, destroy, &err, &inst, true), NPH_OK, "destroy twice is fine");

    /* Ironic's own deploy failure: the config drive cannot go to Swift. */
    inst.user_data = "I2Nsb3VkLWNvbmZpZwo="; /* "#cloud-config" */
    is_int(NPH_DRIVER_CALL(drv, spawn, &err, &inst, NULL), NPH_ERR_BACKEND, "a deploy that fails");
    like(err.message, "failed to deploy", "is reported as such");
    like(err.message, "Failed to prepare the configdrive", "with Ironic's last_error");
    is_int(settled_used(drv, gold), 0, "the node was released");
    is_int(power_of(drv, &inst), -1, "and holds no instance");
    nph_driver_free(drv);
}

/* ------------------------------------------------------------------------ */
/* Concurrent builds: their waits share the driver's state poller.          */

#define N_CONCURRENT 3

struct build {
    nph_driver *drv;
    struct nph_instance inst;
    char node[40], uuid[40], name[32];
    nph_status spawned, destroyed;
    nph_error err;
};

static void *spawn_one(void *opaque)
{
    struct build *b = opaque;
    b->spawned = NPH_DRIVER_CALL(b->drv, spawn, &b->err, &b->inst, NULL);
    return NULL;
}

static void *destroy_one(void *opaque)
{
    struct build *b = opaque;
    b->destroyed = NPH_DRIVER_CALL(b->drv, destroy, &b->err, &b->inst, true);
    return NULL;
}

static void run_all(struct build *b, void *(*fn)(void *))
{
    pthread_t t[N_CONCURRENT];
    for (int i = 0; i < N_CONCURRENT; i++)
        pthread_create(&t[i], NULL, fn, &b[i]);
    for (int i = 0; i < N_CONCURRENT; i++)
        pthread_join(t[i], NULL);
}

static void test_concurrent(void)
{
    struct build b[N_CONCURRENT];
    memset(b, 0, sizeof(b));
    for (int i = 0; i < N_CONCURRENT; i++) {
        snprintf(b[i].name, sizeof(b[i].name), "drv-many-%d", i);
        make_node(b[i].name, "baremetal-many", b[i].node);
        snprintf(b[i].uuid, sizeof(b[i].uuid), "cccccccc-0000-4000-8000-%012d", i);
        b[i].inst = (struct nph_instance){ .uuid = b[i].uuid, .name = b[i].name, .node = b[i].node,
                                           .flavor = &metal, .image = &image, .project_id = "p" };
    }
    nph_driver *drv = start_driver();
    for (int i = 0; i < N_CONCURRENT; i++)
        b[i].drv = drv;
    run_all(b, spawn_one);
    for (int i = 0; i < N_CONCURRENT; i++) {
        is_int(b[i].spawned, NPH_OK, "concurrent spawn %d: %s", i, b[i].err.message);
        is_int(power_of(drv, &b[i].inst), NPH_POWER_RUNNING, "concurrent build %d is on its node",
               i);
    }
    run_all(b, destroy_one);
    for (int i = 0; i < N_CONCURRENT; i++) {
        is_int(b[i].destroyed, NPH_OK, "concurrent destroy %d: %s", i, b[i].err.message);
        is_int(power_of(drv, &b[i].inst), -1, "node %d holds no instance", i);
    }
    nph_driver_free(drv);
}

int main(void)
{
    start_peer();
    test_errors();
    test_negotiation();
    test_locked_and_paging();
    test_driver();
    test_concurrent();
    return tap_done();
}
