/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The vim25 session: one gSOAP context with TLS, the vmware_soap_session
 * cookie, login, re-login after NotAuthenticated, and faults as nph_error. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vim25.nsmap"
#include "vmw-soap.h"

#define SESSION_COOKIE "vmware_soap_session="

/* In libgsoapssl (built WITH_COOKIES), declared by stdsoap2.h only for
 * programs that define WITH_COOKIES themselves. */
void soap_free_cookies(struct soap *soap);

static pthread_once_t ssl_once = PTHREAD_ONCE_INIT;
static void ssl_init(void)
{
    soap_ssl_init();
}

/* gSOAP hands us every response header: keep the session cookie. */
static int parse_header(struct soap *soap, const char *key, const char *val)
{
    struct vmw_conn *c = soap->user;
    if (!strcasecmp(key, "Set-Cookie") && !strncmp(val, SESSION_COOKIE, strlen(SESSION_COOKIE))) {
        size_t len = strcspn(val, ";");
        if (len < sizeof(c->cookie)) {
            memcpy(c->cookie, val, len);
            c->cookie[len] = '\0';
        }
    }
    return c->parse_header(soap, key, val);
}

nph_status vmw_conn_init(struct vmw_conn *c, const struct vmw_conn_options *o, nph_error *err)
{
    memset(c, 0, sizeof(*c));
    if (strncmp(o->url, "https://", 8) != 0 && strncmp(o->url, "http://", 7) != 0)
        return nph_error_set(err, NPH_ERR_INVALID,
                             "vSphere URL '%s' must start with https:// (or http://)", o->url);
    pthread_once(&ssl_once, ssl_init);
    snprintf(c->endpoint, sizeof(c->endpoint), "%s", o->url);
    snprintf(c->action, sizeof(c->action), "urn:vim25/%s", o->api_version);
    snprintf(c->user, sizeof(c->user), "%s", o->user);
    snprintf(c->password, sizeof(c->password), "%s", o->password);
    /* Keep-alive: one TCP (and TLS) connection for the whole session. */
    c->soap = soap_new1(SOAP_C_UTFSTRING | SOAP_IO_KEEPALIVE);
    if (!c->soap)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory for the gSOAP context");
    c->soap->user = c;
    c->parse_header = c->soap->fparsehdr;
    c->soap->fparsehdr = parse_header;
    c->soap->connect_timeout = o->timeout_s;
    c->soap->send_timeout = o->timeout_s;
    c->soap->recv_timeout = o->timeout_s;
    c->soap->transfer_timeout = o->timeout_s * 4;
    if (!strncmp(o->url, "https://", 8)) {
        unsigned short flags = o->insecure ? SOAP_SSL_NO_AUTHENTICATION : SOAP_SSL_DEFAULT;
        const char *capath = o->ca_file && *o->ca_file ? NULL : "/etc/ssl/certs";
        if (soap_ssl_client_context(c->soap, flags, NULL, NULL,
                                    o->ca_file && *o->ca_file ? o->ca_file : NULL, capath,
                                    NULL) != SOAP_OK) {
            char msg[512];
            soap_sprint_fault(c->soap, msg, sizeof(msg));
            soap_free(c->soap);
            c->soap = NULL;
            return nph_error_set(err, NPH_ERR_INVALID, "TLS setup for %s failed: %s", o->url, msg);
        }
        /* Read whole TLS records at once: without it OpenSSL reads each
         * record's header and body apart, and gSOAP waits in select()
         * before each read (3 reads and 3 selects per reply). */
        if (c->soap->ctx)
            SSL_CTX_set_read_ahead(c->soap->ctx, 1);
    }
    pthread_mutex_init(&c->lock, NULL);
    return NPH_OK;
}

void vmw_lock(struct vmw_conn *c)
{
    pthread_mutex_lock(&c->lock);
}

void vmw_unlock(struct vmw_conn **c)
{
    if (!*c)
        return;
    soap_destroy((*c)->soap);
    soap_end((*c)->soap);
    pthread_mutex_unlock(&(*c)->lock);
}

void vmw_call_prepare(struct vmw_conn *c)
{
    /* Debian's libgsoapssl keeps a cookie jar of its own; the session is
     * ours alone (libcurl needs it too, a re-login replaces it), so the jar
     * stays empty.  gSOAP sends http_extra_header once, then forgets it. */
    soap_free_cookies(c->soap);
    c->last_fault[0] = '\0';
    c->soap->http_extra_header = NULL;
    if (c->cookie[0]) {
        snprintf(c->cookie_header, sizeof(c->cookie_header), "Cookie: %s", c->cookie);
        c->soap->http_extra_header = c->cookie_header;
    }
}

const char *vmw_fault_name(struct vmw_conn *c, char *buf, size_t len)
{
    buf[0] = '\0';
    const char **detail = soap_faultdetail(c->soap);
    const char *xml = detail && *detail ? *detail : NULL;
    if (!xml)
        return buf;
    /* <NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated"> */
    const char *t = strstr(xml, "xsi:type=\"");
    if (t) {
        t += 10;
        const char *colon = memchr(t, ':', strcspn(t, "\""));
        if (colon)
            t = colon + 1;
        snprintf(buf, len, "%.*s", (int)strcspn(t, "\""), t);
        return buf;
    }
    const char *open = strchr(xml, '<');
    if (open) {
        open++;
        size_t n = strcspn(open, " />");
        const char *colon = memchr(open, ':', n);
        if (colon) {
            n -= (size_t)(colon + 1 - open);
            open = colon + 1;
        }
        if (n > 5 && !strncmp(open + n - 5, "Fault", 5))
            n -= 5;
        snprintf(buf, len, "%.*s", (int)n, open);
    }
    return buf;
}

/* How a vim25 fault reaches the caller. */
static nph_status fault_status(const char *name)
{
    static const struct { const char *name; nph_status st; } map[] = {
        { "ManagedObjectNotFound", NPH_ERR_NOT_FOUND },
        { "FileNotFound", NPH_ERR_NOT_FOUND },
        { "NotImplemented", NPH_ERR_NOT_SUPPORTED },
        { "MethodNotFound", NPH_ERR_NOT_SUPPORTED },
        { "NotSupported", NPH_ERR_NOT_SUPPORTED },
        { "InvalidPowerState", NPH_ERR_CONFLICT },
        { "InvalidState", NPH_ERR_CONFLICT },
        { "TaskInProgress", NPH_ERR_CONFLICT },
        { "DuplicateName", NPH_ERR_CONFLICT },
        { "FileAlreadyExists", NPH_ERR_CONFLICT },
        { "InvalidArgument", NPH_ERR_INVALID },
        { "InvalidRequest", NPH_ERR_INVALID },
        { "InvalidLogin", NPH_ERR_INVALID },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(map[i].name, name))
            return map[i].st;
    return NPH_ERR_BACKEND;
}

/* "PowerOffVM_USCORETask" -> "PowerOffVM_Task" */
static void method_name(const char *method, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = method; *p && n + 1 < len;) {
        if (!strncmp(p, "_USCORE", 7)) {
            out[n++] = '_';
            p += 7;
        } else
            out[n++] = *p++;
    }
    out[n] = '\0';
}

static nph_status login(struct vmw_conn *c, nph_error *err);

nph_status vmw_call_result(struct vmw_conn *c, int rc, const char *method, int attempt,
                           nph_error *err)
{
    if (rc == SOAP_OK)
        return NPH_OK;
    char name[64], fault[96];
    method_name(method, name, sizeof(name));
    struct soap *s = c->soap;
    if (rc == SOAP_FAULT || rc == SOAP_CLI_FAULT || rc == SOAP_SVR_FAULT) {
        vmw_fault_name(c, fault, sizeof(fault));
        snprintf(c->last_fault, sizeof(c->last_fault), "%s", fault);
        const char **fs = soap_faultstring(s);
        const char *text = fs && *fs ? *fs : "(no fault string)";
        if (!strcmp(fault, "NotAuthenticated") && attempt == 0 && c->logged_in &&
            strcmp(name, "Login") != 0) {
            /* The session expired or the server restarted: log in again. */
            c->logged_in = false;
            c->cookie[0] = '\0';
            nph_status st = login(c, err);
            return st == NPH_OK ? VMW_RETRY : st;
        }
        nph_status st = fault_status(fault);
        if (st == NPH_ERR_NOT_SUPPORTED)
            return nph_error_set(err, st, "%s is not supported by this server (%s: %s)", name,
                                 fault, text);
        return nph_error_set(err, st, "vSphere %s failed: %s%s%s", name, fault[0] ? fault : "",
                             fault[0] ? ": " : "", text);
    }
    /* gSOAP reports a 2xx reply it could not read as that status. */
    if (rc >= 200 && rc < 300)
        return nph_error_set(err, NPH_ERR_BACKEND,
                             "vSphere %s at %s: malformed reply (HTTP %d, no %sResponse in it)",
                             name, c->endpoint, rc, name);
    if (rc >= 100 && rc < 600)
        return nph_error_set(err, NPH_ERR_BACKEND, "vSphere %s: HTTP status %d from %s", name, rc,
                             c->endpoint);
    char msg[512];
    soap_sprint_fault(s, msg, sizeof(msg));
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    bool io = rc == SOAP_EOF || rc == SOAP_TCP_ERROR || rc == SOAP_SSL_ERROR ||
              rc == SOAP_UDP_ERROR || rc == SOAP_HTTP_ERROR;
    soap_closesock(s);
    return nph_error_set(err, io ? NPH_ERR_IO : NPH_ERR_BACKEND, "vSphere %s at %s: %s%s", name,
                         c->endpoint, io ? "" : "malformed reply: ", msg);
}

struct vim25__ManagedObjectReference *vmw_mor2(struct vmw_conn *c, const char *type,
                                               const char *id)
{
    struct vim25__ManagedObjectReference *m = soap_new_vim25__ManagedObjectReference(c->soap, 1);
    if (m) {
        m->type = soap_strdup(c->soap, type);
        m->__item = soap_strdup(c->soap, id);
    }
    return m;
}

struct vim25__ManagedObjectReference *vmw_mor(struct vmw_conn *c, const struct vmw_ref *r)
{
    return vmw_mor2(c, r->type, r->id);
}

bool vmw_ref_set(struct vmw_ref *out, const struct vim25__ManagedObjectReference *m)
{
    if (!m || !m->__item || !m->type)
        return false;
    snprintf(out->type, sizeof(out->type), "%s", m->type);
    snprintf(out->id, sizeof(out->id), "%s", m->__item);
    return true;
}

static nph_status login(struct vmw_conn *c, nph_error *err)
{
    struct vim25__LoginRequest req = { vmw_mor(c, &c->session_manager), c->user, c->password,
                                       NULL };
    struct vim25__LoginResponse resp;
    nph_status st = VMW_CALL(c, err, Login, &req, &resp);
    if (st != NPH_OK)
        return nph_error_prefix(err, "login to %s as '%s': ", c->endpoint, c->user);
    if (!c->cookie[0])
        return nph_error_set(err, NPH_ERR_BACKEND,
                             "login to %s: the server set no vmware_soap_session cookie",
                             c->endpoint);
    c->logged_in = true;
    c->sessions++;
    return NPH_OK;
}

static nph_status service_content(struct vmw_conn *c, nph_error *err)
{
    struct vim25__ThisRequest req = { vmw_mor2(c, "ServiceInstance", "ServiceInstance") };
    struct vim25__RetrieveServiceContentResponse resp;
    nph_status st = VMW_CALL(c, err, RetrieveServiceContent, &req, &resp);
    if (st != NPH_OK)
        return st;
    const struct vim25__ServiceContent *sc = resp.returnval;
    if (!sc || !vmw_ref_set(&c->root_folder, sc->rootFolder) ||
        !vmw_ref_set(&c->property_collector, sc->propertyCollector) ||
        !vmw_ref_set(&c->session_manager, sc->sessionManager))
        return nph_error_set(err, NPH_ERR_BACKEND,
                             "%s: the service content lacks the root folder, property "
                             "collector or session manager", c->endpoint);
    vmw_ref_set(&c->view_manager, sc->viewManager);
    vmw_ref_set(&c->file_manager, sc->fileManager);
    vmw_ref_set(&c->disk_manager, sc->virtualDiskManager);
    vmw_ref_set(&c->search_index, sc->searchIndex);
    if (sc->about) {
        snprintf(c->api_type, sizeof(c->api_type), "%s", sc->about->apiType ? sc->about->apiType : "");
        snprintf(c->api_version, sizeof(c->api_version), "%s",
                 sc->about->apiVersion ? sc->about->apiVersion : "");
        snprintf(c->full_name, sizeof(c->full_name), "%s",
                 sc->about->fullName ? sc->about->fullName : "");
    }
    return NPH_OK;
}

nph_status vmw_conn_open(struct vmw_conn *c, nph_error *err)
{
    VMW_LOCKED(c);
    nph_status st = service_content(c, err);
    if (st == NPH_OK)
        st = login(c, err);
    return st;
}

void vmw_conn_free(struct vmw_conn *c)
{
    if (!c->soap)
        return;
    if (c->logged_in) {
        VMW_LOCKED(c);
        struct vim25__ThisRequest req = { vmw_mor(c, &c->session_manager) };
        struct vim25__EmptyResponse resp;
        c->logged_in = false; /* no re-login on the way out */
        (void)VMW_CALL(c, NULL, Logout, &req, &resp);
    }
    soap_destroy(c->soap);
    soap_end(c->soap);
    soap_free(c->soap);
    c->soap = NULL;
    pthread_mutex_destroy(&c->lock);
}
