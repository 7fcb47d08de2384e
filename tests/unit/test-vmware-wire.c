/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The vmware driver's SOAP client on the wire, against a scripted HTTP server
 * on loopback that answers canned bytes: the request envelopes (and the
 * ConfigSpec inside CreateVM_Task) match golden files, and bad responses
 * (SOAP faults, task errors, malformed XML, a connection dropped mid-reply,
 * no reply at all) each give a clear error, never a crash or a hang. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vmw-pool.h"
#include "vmw-props.h"
#include "vmw-test-host.h"

/* ------------------------------------------------------------------------ */
/* The scripted server: one canned reply per request, in order.            */

enum how { FULL, CUT, SILENT, LAST }; /* LAST: answer, then hang up */
struct step {
    int status;
    const char *headers; /* extra header lines, each ending in \r\n */
    const char *body;
    enum how how;
};

static struct {
    int fd, port;
    const struct step *steps;
    int n_steps, next;
    char requests[16][16384]; /* bodies received */
    int n_requests;
    pthread_t thread;
    volatile int stop;
} srv;

static bool read_request(int fd, char *body, size_t max)
{
    char head[8192];
    size_t n = 0;
    while (n + 1 < sizeof(head)) {
        ssize_t r = read(fd, head + n, 1);
        if (r <= 0)
            return false;
        n++;
        if (n >= 4 && !memcmp(head + n - 4, "\r\n\r\n", 4))
            break;
    }
    head[n] = '\0';
    const char *cl = strcasestr(head, "Content-Length:");
    size_t len = cl ? strtoul(cl + 15, NULL, 10) : 0, got = 0;
    while (got < len && got + 1 < max) {
        ssize_t r = read(fd, body + got, len - got < max - 1 - got ? len - got : max - 1 - got);
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    body[got] = '\0';
    return true;
}

static void answer(int fd, const struct step *s)
{
    char out[32768];
    int n = snprintf(out, sizeof(out),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/xml; charset=utf-8\r\n%s"
                     "Content-Length: %zu\r\n\r\n%s",
                     s->status, s->status == 200 ? "OK" : "Internal Server Error",
                     s->headers ? s->headers : "", strlen(s->body), s->body);
    if (s->how == CUT)
        n = n - (int)strlen(s->body) / 2; /* half the body, then hang up */
    if (write(fd, out, (size_t)n) != n)
        return;
}

static void *serve(void *arg)
{
    while (!srv.stop) {
        int fd = accept(srv.fd, NULL, NULL);
        if (fd < 0)
            break;
        for (;;) {
            char *body = srv.requests[srv.n_requests < 16 ? srv.n_requests : 15];
            if (!read_request(fd, body, sizeof(srv.requests[0])) || srv.next >= srv.n_steps)
                break;
            srv.n_requests++;
            /* A copy: once the reply is out, the client may return and the
             * step array (on its stack) be gone. */
            const struct step s = srv.steps[srv.next++];
            if (s.how == SILENT) {
                while (!srv.stop)
                    usleep(10000);
                break;
            }
            answer(fd, &s);
            if (s.how == CUT || s.how == LAST)
                break;
        }
        close(fd);
    }
    return NULL;
}

static void server_start(void)
{
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    if (bind(srv.fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(srv.fd, 8) != 0 ||
        getsockname(srv.fd, (struct sockaddr *)&a, &len) != 0) {
        printf("Bail out! cannot listen on loopback\n");
        exit(99);
    }
    srv.port = ntohs(a.sin_port);
    pthread_create(&srv.thread, NULL, serve, NULL);
}

static void server_stop(void)
{
    srv.stop = 1;
    shutdown(srv.fd, SHUT_RDWR);
    close(srv.fd);
    pthread_join(srv.thread, NULL);
}

static void script(const struct step *steps, int n)
{
    srv.steps = steps;
    srv.n_steps = n;
    srv.next = 0;
    srv.n_requests = 0;
}

/* ------------------------------------------------------------------------ */
/* Canned replies.                                                          */

#define ENVELOPE(body)                                                                          \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope "                            \
    "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "                               \
    "xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "                                           \
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body>" body               \
    "</soapenv:Body></soapenv:Envelope>"
#define FAULT(name, text)                                                                       \
    ENVELOPE("<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>" text          \
             "</faultstring><detail><" name "Fault xmlns=\"urn:vim25\" xsi:type=\"" name        \
             "\"></" name "Fault></detail></soapenv:Fault>")

static const char service_content[] = ENVELOPE(
    "<RetrieveServiceContentResponse xmlns=\"urn:vim25\"><returnval>"
    "<rootFolder type=\"Folder\">group-d1</rootFolder>"
    "<propertyCollector type=\"PropertyCollector\">propertyCollector</propertyCollector>"
    "<viewManager type=\"ViewManager\">ViewManager</viewManager>"
    "<about><fullName>Scripted vCenter</fullName><apiType>VirtualCenter</apiType>"
    "<apiVersion>7.0.3.0</apiVersion></about>"
    "<sessionManager type=\"SessionManager\">SessionManager</sessionManager>"
    "<searchIndex type=\"SearchIndex\">SearchIndex</searchIndex>"
    "<fileManager type=\"FileManager\">FileManager</fileManager>"
    "<virtualDiskManager type=\"VirtualDiskManager\">virtualDiskManager</virtualDiskManager>"
    "</returnval></RetrieveServiceContentResponse>");
static const char login_ok[] = ENVELOPE(
    "<LoginResponse xmlns=\"urn:vim25\"><returnval><key>52b8</key><userName>user</userName>"
    "</returnval></LoginResponse>");
#define COOKIE "Set-Cookie: vmware_soap_session=\"5f3e\"; Path=/; HttpOnly; Secure;\r\n"
static const char view_ok[] = ENVELOPE(
    "<CreateContainerViewResponse xmlns=\"urn:vim25\"><returnval type=\"ContainerView\">"
    "session[52b8]52a1</returnval></CreateContainerViewResponse>");
static const char two_hosts[] = ENVELOPE(
    "<RetrievePropertiesExResponse xmlns=\"urn:vim25\"><returnval>"
    "<objects><obj type=\"HostSystem\">host-1</obj><propSet><name>name</name>"
    "<val xsi:type=\"xsd:string\">esx-1</val></propSet></objects>"
    "<objects><obj type=\"HostSystem\">host-2</obj><propSet><name>name</name>"
    "<val xsi:type=\"xsd:string\">esx-2</val></propSet></objects>"
    "</returnval></RetrievePropertiesExResponse>");
/* Two pages: the first ends with a continuation token. */
static const char page_1[] = ENVELOPE(
    "<RetrievePropertiesExResponse xmlns=\"urn:vim25\"><returnval><token>tok-1</token>"
    "<objects><obj type=\"HostSystem\">host-1</obj><propSet><name>name</name>"
    "<val xsi:type=\"xsd:string\">esx-1</val></propSet></objects>"
    "</returnval></RetrievePropertiesExResponse>");
static const char page_2[] = ENVELOPE(
    "<ContinueRetrievePropertiesExResponse xmlns=\"urn:vim25\"><returnval>"
    "<objects><obj type=\"HostSystem\">host-2</obj><propSet><name>name</name>"
    "<val xsi:type=\"xsd:string\">esx-2</val></propSet></objects>"
    "</returnval></ContinueRetrievePropertiesExResponse>");
static const char destroy_view_ok[] = ENVELOPE(
    "<DestroyViewResponse xmlns=\"urn:vim25\"></DestroyViewResponse>");
static const char task_1[] = ENVELOPE(
    "<CreateVM_TaskResponse xmlns=\"urn:vim25\"><returnval type=\"Task\">task-1</returnval>"
    "</CreateVM_TaskResponse>");
static const char power_on_task[] = ENVELOPE(
    "<PowerOnVM_TaskResponse xmlns=\"urn:vim25\"><returnval type=\"Task\">task-1</returnval>"
    "</PowerOnVM_TaskResponse>");
static const char reconfig_task[] = ENVELOPE(
    "<ReconfigVM_TaskResponse xmlns=\"urn:vim25\"><returnval type=\"Task\">task-1</returnval>"
    "</ReconfigVM_TaskResponse>");
static const char malformed[] = ENVELOPE(
    "<RetrievePropertiesExResponse xmlns=\"urn:vim25\"><returnval><objects <<<>>> ");
static const char task_failed[] = ENVELOPE(
    "<RetrievePropertiesExResponse xmlns=\"urn:vim25\"><returnval><objects>"
    "<obj type=\"Task\">task-1</obj>"
    "<propSet><name>info.error</name><val xsi:type=\"LocalizedMethodFault\">"
    "<fault xsi:type=\"InsufficientResourcesFault\"></fault>"
    "<localizedMessage>Insufficient resources to satisfy configured failover level"
    "</localizedMessage></val></propSet>"
    "<propSet><name>info.state</name><val xsi:type=\"TaskInfoState\">error</val></propSet>"
    "</objects></returnval></RetrievePropertiesExResponse>");
static const char task_done[] = ENVELOPE(
    "<RetrievePropertiesExResponse xmlns=\"urn:vim25\"><returnval><objects>"
    "<obj type=\"Task\">task-1</obj>"
    "<propSet><name>info.result</name><val type=\"VirtualMachine\" "
    "xsi:type=\"ManagedObjectReference\">vm-7</val></propSet>"
    "<propSet><name>info.state</name><val xsi:type=\"TaskInfoState\">success</val></propSet>"
    "</objects></returnval></RetrievePropertiesExResponse>");

#define OK(body) { 200, NULL, body, FULL }
#define OK_COOKIE(body) { 200, COOKIE, body, FULL }
#define ERR(body) { 500, NULL, body, FULL }

static const struct step opening[] = { OK(service_content), OK_COOKIE(login_ok) };

static struct vmw_conn conn;

static nph_status open_conn(const struct step *rest, int n_rest, nph_error *err)
{
    static struct step steps[16];
    memcpy(steps, opening, sizeof(opening));
    memcpy(steps + 2, rest, (size_t)n_rest * sizeof(*rest));
    script(steps, 2 + n_rest);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/sdk", srv.port);
    struct vmw_conn_options o = { url, "user", "secret", false, NULL, "7.0", 2 };
    nph_status st = vmw_conn_init(&conn, &o, err);
    if (st == NPH_OK)
        st = vmw_conn_open(&conn, err);
    return st;
}

static int hosts;
static nph_status count(void *opaque, const struct vim25__ObjectContent *oc, nph_error *err)
{
    hosts++;
    return NPH_OK;
}

static nph_status read_hosts(nph_error *err)
{
    static const char *const paths[] = { "name" };
    const struct vmw_propset set = { "HostSystem", paths, 1 };
    VMW_LOCKED(&conn);
    hosts = 0;
    return vmw_retrieve_all(&conn, &set, 1, 100, count, NULL, err);
}

/* ------------------------------------------------------------------------ */

static void test_golden(void)
{
    nph_error err = NPH_ERROR_INIT;
    const struct step rest[] = { OK(view_ok), OK(two_hosts), OK(destroy_view_ok), OK(task_1),
                                 OK(task_done) };
    is_int(open_conn(rest, 5, &err), NPH_OK, "login to the scripted server");
    golden_check("vmware/login.xml", srv.requests[1]);
    is_str(conn.cookie, "vmware_soap_session=\"5f3e\"", "the session cookie is kept");
    is_str(conn.api_version, "7.0.3.0", "the API version is read");
    is_int(read_hosts(&err), NPH_OK, "a ContainerView read");
    is_int(hosts, 2, "both objects reach the callback");
    golden_check("vmware/retrieve-view.xml", srv.requests[3]);

    const struct vmw_ref folder = { "Folder", "group-v3" }, pool = { "ResourcePool", "resgroup-8" };
    const struct vmw_ref net = { "Network", "network-13" };
    struct vmw_spawn_plan plan = {
        .uuid = "5a1e0001-2222-4333-8444-555555555555", .name = "web-1",
        .datastore_name = "datastore1",
        .root_disk = "[datastore1] 5a1e0001-2222-4333-8444-555555555555/5a1e0001-2222-4333-8444-555555555555.vmdk",
        .root_disk_kb = 1048576, .port_group = "VM Network", .network = &net,
        .guest_id = "otherGuest64", .vcpus = 2, .memory_mb = 2048, .root_gb = 1, .ephemeral_gb = 2,
    };
    struct vmw_ref vm = { "", "" };
    nph_status st;
    {
        VMW_LOCKED(&conn);
        struct vim25__CreateVMRequest req = { vmw_mor(&conn, &folder),
                                              vmw_spawn_spec(conn.soap, &plan),
                                              vmw_mor(&conn, &pool), NULL };
        st = VMW_TASK(&conn, &err, CreateVM_USCORETask, &req, "create VM", 10, &vm);
    }
    is_int(st, NPH_OK, "CreateVM_Task followed to success");
    is_str(vm.id, "vm-7", "the task's result is the new VM");
    golden_check("vmware/createvm.xml", srv.requests[5]);
    golden_check("vmware/task-poll.xml", srv.requests[6]);
    vmw_conn_free(&conn);
}

static void test_faults(void)
{
    nph_error err = NPH_ERROR_INIT;
    const struct step bad_login[] = { OK(service_content),
                                      ERR(FAULT("InvalidLogin", "Cannot complete login due to an "
                                                "incorrect user name or password.")) };
    script(bad_login, 2);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/sdk", srv.port);
    struct vmw_conn_options o = { url, "user", "wrong", false, NULL, "7.0", 2 };
    vmw_conn_init(&conn, &o, &err);
    is_int(vmw_conn_open(&conn, &err), NPH_ERR_INVALID, "InvalidLogin: refused");
    like(err.message, "InvalidLogin: Cannot complete login", "with the fault and its text");
    vmw_conn_free(&conn);

    /* NotAuthenticated, the re-login, NotAuthenticated again: one retry only. */
    const struct step twice[] = { ERR(FAULT("NotAuthenticated", "The session is not authenticated.")),
                                  OK_COOKIE(login_ok),
                                  ERR(FAULT("NotAuthenticated", "The session is not authenticated.")) };
    is_int(open_conn(twice, 3, &err), NPH_OK, "logged in");
    is_int(read_hosts(&err), NPH_ERR_BACKEND, "NotAuthenticated after a re-login: an error");
    like(err.message, "NotAuthenticated", "naming the fault");
    is_int(srv.n_requests, 5, "after exactly one re-login");
    vmw_conn_free(&conn);

    const struct step not_impl[] = { ERR(FAULT("MethodNotFound", "ContainerView not implemented")) };
    open_conn(not_impl, 1, &err);
    is_int(read_hosts(&err), NPH_ERR_NOT_SUPPORTED, "MethodNotFound: not supported");
    like(err.message, "not supported by this server", "in those words");
    vmw_conn_free(&conn);
}

/* A pool whose later sessions cannot log in (a server's session limit)
 * keeps the ones it has; one whose first cannot is an error. */
static void test_pool(void)
{
    nph_error err = NPH_ERROR_INIT, why = NPH_ERROR_INIT;
    const struct step steps[] = {
        OK(service_content), { 200, COOKIE, login_ok, LAST }, OK(service_content),
        ERR(FAULT("InvalidLogin", "Cannot complete login: too many sessions.")),
    };
    script(steps, 4);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/sdk", srv.port);
    struct vmw_conn_options o = { url, "user", "secret", false, NULL, "7.0", 2 };
    struct vmw_pool pool;
    size_t opened = 0;
    is_int(vmw_pool_open(&pool, &o, 3, &opened, &err, &why), NPH_OK,
           "a pool of 3 whose second login fails opens");
    is_int((int)opened, 1, "with the one session it has");
    like(why.message, "too many sessions", "and says why not more");
    struct vmw_conn *c = vmw_pool_take(&pool);
    ok(c == &pool.conns[0] && !strcmp(c->cookie, "vmware_soap_session=\"5f3e\""),
       "which operations take");
    vmw_pool_give(&c);
    vmw_pool_close(&pool);

    const struct step refused[] = {
        OK(service_content), ERR(FAULT("InvalidLogin", "incorrect user name or password.")),
    };
    script(refused, 2);
    is_int(vmw_pool_open(&pool, &o, 3, &opened, &err, &why), NPH_ERR_INVALID,
           "a pool whose first login fails is an error");
    like(err.message, "incorrect user name", "with the server's words");
    ok(opened == 0 && !pool.conns, "and holds nothing");
}

/* A reply in pages: RetrievePropertiesEx with the page size, then
 * ContinueRetrievePropertiesEx with its token until none is left. */
static void test_paging(void)
{
    nph_error err = NPH_ERROR_INIT;
    const struct step rest[] = { OK(page_1), OK(page_2) };
    is_int(open_conn(rest, 2, &err), NPH_OK, "logged in");
    static const char *const paths[] = { "name" };
    const struct vmw_ref objs[] = { { "HostSystem", "host-1" }, { "HostSystem", "host-2" } };
    nph_status st;
    hosts = 0;
    {
        VMW_LOCKED(&conn);
        st = vmw_retrieve(&conn, vmw_spec_objects(&conn, "HostSystem", paths, 1, objs, 2), 1,
                          count, NULL, &err);
    }
    is_int(st, NPH_OK, "a read in two pages");
    is_int(hosts, 2, "both pages' objects reach the callback");
    like(srv.requests[2], "<vim25:maxObjects>1</vim25:maxObjects>", "asking for 1 object a page");
    golden_check("vmware/continue-retrieve.xml", srv.requests[3]);
    is_int(srv.n_requests, 4, "and no call after the page without a token");
    vmw_conn_free(&conn);
}

/* An interface plugged into a running guest: the NIC with the port's MAC
 * address and id, on the port group and its network. */
static void test_nic_golden(void)
{
    nph_error err = NPH_ERROR_INIT;
    const struct step rest[] = { OK(reconfig_task), OK(task_done) };
    is_int(open_conn(rest, 2, &err), NPH_OK, "logged in");
    const struct vmw_ref vm = { "VirtualMachine", "vm-7" }, net = { "Network", "network-13" };
    nph_status st;
    {
        VMW_LOCKED(&conn);
        void *nic = vmw_nic(conn.soap, -200, "VM Network", &net, "fa:16:3e:12:34:56",
                            "b3a5c1d2-0000-4000-8000-000000000001");
        struct vim25__ReconfigVMRequest req = {
            vmw_mor(&conn, &vm),
            vmw_device_spec(conn.soap, "add", SOAP_TYPE_vim25__VirtualVmxnet3, nic)
        };
        st = VMW_TASK(&conn, &err, ReconfigVM_USCORETask, &req, "attach interface", 10, NULL);
    }
    is_int(st, NPH_OK, "ReconfigVM_Task adding a NIC followed to success");
    golden_check("vmware/reconfig-add-nic.xml", srv.requests[2]);
    vmw_conn_free(&conn);
}

static void test_task_error(void)
{
    nph_error err = NPH_ERROR_INIT;
    const struct step rest[] = { OK(power_on_task), OK(task_failed) };
    open_conn(rest, 2, &err);
    const struct vmw_ref vm = { "VirtualMachine", "vm-7" };
    nph_status st;
    {
        VMW_LOCKED(&conn);
        struct vim25__PowerOnVMRequest req = { vmw_mor(&conn, &vm), NULL };
        st = VMW_TASK(&conn, &err, PowerOnVM_USCORETask, &req, "power on VM", 10, NULL);
    }
    is_int(st, NPH_ERR_BACKEND, "a task that fails is an error");
    like(err.message, "power on VM failed: InsufficientResourcesFault: Insufficient resources",
         "with the task's fault and message");
    vmw_conn_free(&conn);
}

static void test_broken_replies(void)
{
    nph_error err = NPH_ERROR_INIT;
    const struct step bad_xml[] = { OK(view_ok), OK(malformed), OK(destroy_view_ok) };
    open_conn(bad_xml, 3, &err);
    is_int(read_hosts(&err), NPH_ERR_BACKEND, "malformed XML: an error");
    like(err.message, "malformed reply", "saying so");
    vmw_conn_free(&conn);

    const struct step not_xml[] = { OK(view_ok), OK("this is not XML\n"), OK(destroy_view_ok) };
    open_conn(not_xml, 3, &err);
    is_int(read_hosts(&err), NPH_ERR_BACKEND, "a reply that is not XML: an error");
    like(err.message, "malformed reply", "saying so");
    vmw_conn_free(&conn);

    const struct step wrong[] = { OK(task_1) }; /* CreateVM_TaskResponse to PowerOnVM_Task */
    open_conn(wrong, 1, &err);
    {
        VMW_LOCKED(&conn);
        const struct vmw_ref vm = { "VirtualMachine", "vm-7" };
        struct vim25__PowerOnVMRequest req = { vmw_mor(&conn, &vm), NULL };
        is_int(VMW_TASK(&conn, &err, PowerOnVM_USCORETask, &req, "power on", 10, NULL),
               NPH_ERR_BACKEND, "the reply of another method: an error");
    }
    like(err.message, "no PowerOnVM_TaskResponse", "naming what was expected");
    vmw_conn_free(&conn);

    const struct step cut[] = { OK(view_ok), { 200, NULL, two_hosts, CUT }, OK(destroy_view_ok) };
    open_conn(cut, 3, &err);
    is_int(read_hosts(&err), NPH_ERR_IO, "a connection dropped mid-reply: an I/O error");
    like(err.message, "RetrievePropertiesEx", "naming the call");
    vmw_conn_free(&conn);

    const struct step html[] = { { 503, NULL, "<html>maintenance</html>", FULL } };
    open_conn(html, 1, &err);
    is_int(read_hosts(&err), NPH_ERR_BACKEND, "HTTP 503 with an HTML page: an error");
    like(err.message, "503", "with the status");
    vmw_conn_free(&conn);

    const struct step silent[] = { { 200, NULL, "", SILENT } };
    open_conn(silent, 1, &err);
    time_t t0 = time(NULL);
    is_int(read_hosts(&err), NPH_ERR_IO, "a server that never answers: an error");
    ok(time(NULL) - t0 < 10, "after the 2 s timeout, not a hang (%ld s)", (long)(time(NULL) - t0));
    conn.logged_in = false; /* no Logout to a server that does not answer */
    vmw_conn_free(&conn);
}

int main(void)
{
    server_start();
    test_golden();
    test_faults();
    test_pool();
    test_paging();
    test_nic_golden();
    test_task_error();
    test_broken_replies();
    server_stop();
    return tap_done();
}
