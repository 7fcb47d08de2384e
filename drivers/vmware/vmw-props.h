/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PropertyCollector reads (RetrievePropertiesEx with ContinueRetrievePropertiesEx
 * paging, ContainerView traversal), property values, and tasks. */
#ifndef VMW_PROPS_H
#define VMW_PROPS_H

#include "vmw-soap.h"

/* Called once per object the collector returns; the lock is held. */
typedef nph_status (*vmw_object_cb)(void *opaque, const struct vim25__ObjectContent *oc,
                                    nph_error *err);

/* A filter for properties `paths` of `n_objs` objects of `type`. */
struct vim25__PropertyFilterSpec *vmw_spec_objects(struct vmw_conn *c, const char *type,
                                                   const char *const *paths, size_t n_paths,
                                                   const struct vmw_ref *objs, size_t n_objs);
/* Properties to read of one object type. */
struct vmw_propset {
    const char *type;
    const char *const *paths;
    size_t n_paths;
};
/* A filter for the properties `sets` of every object in container view `view`. */
struct vim25__PropertyFilterSpec *vmw_spec_view(struct vmw_conn *c, const struct vmw_ref *view,
                                                const struct vmw_propset *sets, size_t n_sets);

/* Run `spec`, following continuation tokens, `page` objects a reply (0: the
 * server's choice). */
nph_status vmw_retrieve(struct vmw_conn *c, struct vim25__PropertyFilterSpec *spec, int page,
                        vmw_object_cb cb, void *opaque, nph_error *err);

/* Every object of the types of `sets` under the root folder, through one
 * ContainerView. */
nph_status vmw_retrieve_all(struct vmw_conn *c, const struct vmw_propset *sets, size_t n_sets,
                            int page, vmw_object_cb cb, void *opaque, nph_error *err);

/* Property `name` of `oc`, or NULL. */
struct soap_dom_element *vmw_prop(const struct vim25__ObjectContent *oc, const char *name);
/* Text of a value ("" when NULL), and as numbers (0 when absent or not one). */
const char *vmw_text(const struct soap_dom_element *v);
long long vmw_long(const struct soap_dom_element *v);
/* A value that is a ManagedObjectReference. */
bool vmw_val_ref(const struct soap_dom_element *v, struct vmw_ref *out);
/* The xsi:type of a value without its prefix ("VirtualVmxnet3"), or "". */
const char *vmw_type(const struct soap_dom_element *v);
/* Child element `tag` of a structured value, or NULL. */
struct soap_dom_element *vmw_child(const struct soap_dom_element *v, const char *tag);

/* Follow task `task` until it succeeds or fails; a failure is an error
 * carrying the task's fault.  `result` (may be NULL) receives a reference
 * the task returned (CreateVM_Task's new VM). */
nph_status vmw_task_wait(struct vmw_conn *c, const struct vmw_ref *task, const char *what,
                         int timeout_s, struct vmw_ref *result, nph_error *err);

/* Call task method `method`, then wait for the task it returns. */
#define VMW_TASK(c, err, method, req, what, timeout_s, result)                  \
    ({                                                                          \
        struct vim25__MorResponse vmw_task_resp_;                               \
        struct vmw_ref vmw_task_;                                               \
        nph_status vmw_tst_ = VMW_CALL(c, err, method, req, &vmw_task_resp_);   \
        if (vmw_tst_ == NPH_OK && !vmw_ref_set(&vmw_task_, vmw_task_resp_.returnval)) \
            vmw_tst_ = nph_error_set(err, NPH_ERR_BACKEND, "%s: no task in the reply", what); \
        if (vmw_tst_ == NPH_OK)                                                 \
            vmw_tst_ = vmw_task_wait(c, &vmw_task_, what, timeout_s, result, err); \
        vmw_tst_;                                                               \
    })

#endif
