/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A vim25 SOAP session over gSOAP: TLS, the session cookie, login and re-login,
 * and faults turned into nph_error. */
#ifndef VMW_SOAP_H
#define VMW_SOAP_H

#include <pthread.h>
#include <stdbool.h>

#include "error.h"
#include "vim25H.h"

#define VMW_ID_MAX 128

/* A managed object reference the driver keeps: its type and id. */
struct vmw_ref {
    char type[48];
    char id[VMW_ID_MAX];
};

struct vmw_conn_options {
    const char *url;       /* https://HOST[:PORT]/sdk */
    const char *user;
    const char *password;
    bool insecure;         /* skip certificate verification */
    const char *ca_file;   /* PEM bundle; NULL: the system's /etc/ssl/certs */
    const char *api_version; /* sent as SOAPAction urn:vim25/VERSION */
    int timeout_s;         /* connect, send and receive stall limit */
};

struct vmw_pool;

struct vmw_conn {
    struct soap *soap;      /* one gSOAP context; used under `lock` */
    pthread_mutex_t lock;
    struct vmw_pool *pool;  /* the pool it belongs to (vmw-pool.c), or NULL */
    bool busy;              /* taken from the pool; guarded by the pool's lock */
    unsigned vms_seen;      /* `sessions` when vmw-vms.c's table last saw it */
    char endpoint[512];
    char action[64];
    char user[256];
    char password[256];
    char cookie[512];       /* vmware_soap_session=...; "" before login */
    char cookie_header[560];
    bool logged_in;
    unsigned sessions;      /* logins so far: after a new one, object ids may mean other objects */
    char last_fault[96];    /* the vim25 fault of the last call or task that failed ("InvalidPowerState") */
    int (*parse_header)(struct soap *, const char *, const char *); /* gSOAP's own */

    /* From RetrieveServiceContent. */
    struct vmw_ref root_folder, property_collector, view_manager, session_manager,
        file_manager, disk_manager, search_index;
    char api_type[32];      /* VirtualCenter or HostAgent */
    char api_version[32];
    char full_name[160];
};

/* Allocate the gSOAP context and connect nothing yet; vmw_conn_open logs in. */
nph_status vmw_conn_init(struct vmw_conn *c, const struct vmw_conn_options *o, nph_error *err);
/* RetrieveServiceContent and Login.  Takes the lock. */
nph_status vmw_conn_open(struct vmw_conn *c, nph_error *err);
/* Logout (best effort) and free everything. */
void vmw_conn_free(struct vmw_conn *c);

/* One exchange with the lock held: the caller locks with vmw_lock() and the
 * lock's cleanup frees what gSOAP allocated for the replies. */
void vmw_lock(struct vmw_conn *c);
void vmw_unlock(struct vmw_conn **c);
#define VMW_LOCKED(c) \
    __attribute__((cleanup(vmw_unlock))) struct vmw_conn *vmw_locked_ = (vmw_lock(c), (c))

/* Internal to VMW_CALL: before a call, and the result of one (VMW_RETRY after
 * a re-login that followed NotAuthenticated). */
#define VMW_RETRY ((nph_status)-1)
void vmw_call_prepare(struct vmw_conn *c);
nph_status vmw_call_result(struct vmw_conn *c, int rc, const char *method, int attempt,
                           nph_error *err);

/* Call gSOAP's soap_call___vim25__METHOD with the lock held; a
 * NotAuthenticated fault logs in again and repeats the call once. */
#define VMW_CALL(c, err, method, req, resp)                                                  \
    ({                                                                                       \
        nph_status vmw_st_;                                                                  \
        int vmw_try_ = 0;                                                                    \
        do {                                                                                 \
            vmw_call_prepare(c);                                                             \
            int vmw_rc_ = soap_call___vim25__##method((c)->soap, (c)->endpoint, (c)->action, \
                                                      (req), (resp));                        \
            vmw_st_ = vmw_call_result((c), vmw_rc_, #method, vmw_try_++, (err));             \
        } while (vmw_st_ == VMW_RETRY);                                                      \
        vmw_st_;                                                                             \
    })

/* A gSOAP object reference for `r`, allocated in the context (freed with the
 * replies). */
struct vim25__ManagedObjectReference *vmw_mor(struct vmw_conn *c, const struct vmw_ref *r);
struct vim25__ManagedObjectReference *vmw_mor2(struct vmw_conn *c, const char *type,
                                               const char *id);
/* Copy a gSOAP reference into `out`; false when it is missing. */
bool vmw_ref_set(struct vmw_ref *out, const struct vim25__ManagedObjectReference *m);

/* The vim25 fault name of the last failed call ("NotAuthenticated"), or "". */
const char *vmw_fault_name(struct vmw_conn *c, char *buf, size_t len);

#endif
