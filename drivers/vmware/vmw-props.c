/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PropertyCollector reads, property values as DOM trees, and tasks. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "vmw-props.h"

static char **path_set(struct vmw_conn *c, const char *const *paths, size_t n)
{
    char **set = soap_malloc(c->soap, (n ? n : 1) * sizeof(*set));
    for (size_t i = 0; set && i < n; i++)
        set[i] = soap_strdup(c->soap, paths[i]);
    return set;
}

static struct vim25__PropertyFilterSpec *new_spec(struct vmw_conn *c,
                                                  const struct vmw_propset *sets, size_t n_sets,
                                                  size_t n_objs)
{
    struct vim25__PropertyFilterSpec *spec = soap_new_vim25__PropertyFilterSpec(c->soap, 1);
    struct vim25__PropertySpec *ps = soap_new_vim25__PropertySpec(c->soap, (int)n_sets);
    struct vim25__ObjectSpec *os = soap_new_vim25__ObjectSpec(c->soap, (int)(n_objs ? n_objs : 1));
    if (!spec || !ps || !os)
        return NULL;
    for (size_t i = 0; i < n_sets; i++) {
        ps[i].type = soap_strdup(c->soap, sets[i].type);
        ps[i].__sizepathSet = (int)sets[i].n_paths;
        ps[i].pathSet = path_set(c, sets[i].paths, sets[i].n_paths);
    }
    spec->__sizepropSet = (int)n_sets;
    spec->propSet = ps;
    spec->__sizeobjectSet = (int)n_objs;
    spec->objectSet = os;
    return spec;
}

struct vim25__PropertyFilterSpec *vmw_spec_objects(struct vmw_conn *c, const char *type,
                                                   const char *const *paths, size_t n_paths,
                                                   const struct vmw_ref *objs, size_t n_objs)
{
    struct vmw_propset set = { type, paths, n_paths };
    struct vim25__PropertyFilterSpec *spec = new_spec(c, &set, 1, n_objs);
    for (size_t i = 0; spec && i < n_objs; i++)
        spec->objectSet[i].obj = vmw_mor(c, &objs[i]);
    return spec;
}

struct vim25__PropertyFilterSpec *vmw_spec_view(struct vmw_conn *c, const struct vmw_ref *view,
                                                const struct vmw_propset *sets, size_t n_sets)
{
    struct vim25__PropertyFilterSpec *spec = new_spec(c, sets, n_sets, 1);
    struct vim25__TraversalSpec *ts = soap_new_vim25__TraversalSpec(c->soap, 1);
    if (!spec || !ts)
        return NULL;
    ts->name = soap_strdup(c->soap, "traverseView");
    ts->type = soap_strdup(c->soap, "ContainerView");
    ts->path = soap_strdup(c->soap, "view");
    ts->skip = soap_strdup(c->soap, "false");
    struct vim25__ObjectSpec *os = spec->objectSet;
    os->obj = vmw_mor(c, view);
    os->skip = soap_strdup(c->soap, "true");
    os->__typeselectSet = SOAP_TYPE_vim25__TraversalSpec;
    os->selectSet = ts;
    return spec;
}

static nph_status each_object(const struct vim25__RetrieveResult *r, vmw_object_cb cb,
                              void *opaque, nph_error *err)
{
    for (int i = 0; r && i < r->__sizeobjects; i++) {
        nph_status st = cb(opaque, &r->objects[i], err);
        if (st != NPH_OK)
            return st;
    }
    return NPH_OK;
}

nph_status vmw_retrieve(struct vmw_conn *c, struct vim25__PropertyFilterSpec *spec, int page,
                        vmw_object_cb cb, void *opaque, nph_error *err)
{
    if (!spec)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory for a property filter");
    struct vim25__RetrieveOptions opts = { 0 };
    if (page > 0)
        opts.maxObjects = &page;
    struct vim25__RetrievePropertiesExRequest req = { vmw_mor(c, &c->property_collector), 1,
                                                      spec, &opts };
    struct vim25__RetrieveResultResponse resp;
    nph_status st = VMW_CALL(c, err, RetrievePropertiesEx, &req, &resp);
    if (st != NPH_OK)
        return st;
    st = each_object(resp.returnval, cb, opaque, err);
    char *token = resp.returnval ? resp.returnval->token : NULL;
    while (st == NPH_OK && token && *token) {
        struct vim25__ContinueRetrievePropertiesExRequest more = {
            vmw_mor(c, &c->property_collector), token };
        st = VMW_CALL(c, err, ContinueRetrievePropertiesEx, &more, &resp);
        if (st == NPH_OK)
            st = each_object(resp.returnval, cb, opaque, err);
        token = st == NPH_OK && resp.returnval ? resp.returnval->token : NULL;
    }
    return st;
}

nph_status vmw_retrieve_all(struct vmw_conn *c, const struct vmw_propset *sets, size_t n_sets,
                            int page, vmw_object_cb cb, void *opaque, nph_error *err)
{
    char **types = soap_malloc(c->soap, n_sets * sizeof(*types));
    if (!types)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n_sets; i++)
        types[i] = (char *)sets[i].type;
    struct vim25__CreateContainerViewRequest req = { vmw_mor(c, &c->view_manager),
                                                     vmw_mor(c, &c->root_folder), (int)n_sets,
                                                     types, "true" };
    struct vim25__MorResponse resp;
    struct vmw_ref view;
    nph_status st = VMW_CALL(c, err, CreateContainerView, &req, &resp);
    if (st != NPH_OK)
        return st;
    if (!vmw_ref_set(&view, resp.returnval))
        return nph_error_set(err, NPH_ERR_BACKEND, "CreateContainerView returned no view");
    st = vmw_retrieve(c, vmw_spec_view(c, &view, sets, n_sets), page, cb, opaque, err);
    struct vim25__ThisRequest destroy = { vmw_mor(c, &view) };
    struct vim25__EmptyResponse none;
    (void)VMW_CALL(c, NULL, DestroyView, &destroy, &none);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Values.                                                                   */

static const char *local_name(const char *name)
{
    const char *colon = name ? strrchr(name, ':') : NULL;
    return colon ? colon + 1 : name ? name : "";
}

struct soap_dom_element *vmw_prop(const struct vim25__ObjectContent *oc, const char *name)
{
    for (int i = 0; oc && i < oc->__sizepropSet; i++)
        if (oc->propSet[i].name && !strcmp(oc->propSet[i].name, name))
            return &oc->propSet[i].val;
    return NULL;
}

const char *vmw_text(const struct soap_dom_element *v)
{
    return v && v->text ? v->text : "";
}

long long vmw_long(const struct soap_dom_element *v)
{
    return strtoll(vmw_text(v), NULL, 10);
}

static bool is_xsi(const struct soap_dom_attribute *a)
{
    return (a->nstr && strstr(a->nstr, "XMLSchema-instance")) || !strncmp(a->name, "xsi:", 4);
}

/* Attribute `name` (without a namespace), or the xsi:type when `xsi`. */
static const char *attribute(const struct soap_dom_element *v, const char *name, bool xsi)
{
    for (const struct soap_dom_attribute *a = v ? v->atts : NULL; a; a = a->next)
        if (a->name && !strcmp(local_name(a->name), name) && is_xsi(a) == xsi)
            return a->text;
    return NULL;
}

bool vmw_val_ref(const struct soap_dom_element *v, struct vmw_ref *out)
{
    const char *type = attribute(v, "type", false);
    if (!type || !v->text)
        return false;
    snprintf(out->type, sizeof(out->type), "%s", type);
    snprintf(out->id, sizeof(out->id), "%s", v->text);
    return true;
}

const char *vmw_type(const struct soap_dom_element *v)
{
    return local_name(attribute(v, "type", true));
}

struct soap_dom_element *vmw_child(const struct soap_dom_element *v, const char *tag)
{
    for (struct soap_dom_element *e = v ? v->elts : NULL; e; e = e->next)
        if (!strcmp(local_name(e->name), tag))
            return e;
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Tasks: poll info.state (vcsim and vCenter both answer at once for a      */
/* finished task; the poll interval grows from 10 ms to 500 ms).            */

struct task_state {
    char state[16];
    char fault[96];
    char message[512];
    struct vmw_ref result;
    bool has_result;
};

static nph_status read_task(void *opaque, const struct vim25__ObjectContent *oc, nph_error *err)
{
    struct task_state *t = opaque;
    snprintf(t->state, sizeof(t->state), "%s", vmw_text(vmw_prop(oc, "info.state")));
    const struct soap_dom_element *e = vmw_prop(oc, "info.error");
    if (e) {
        const struct soap_dom_element *fault = vmw_child(e, "fault");
        snprintf(t->fault, sizeof(t->fault), "%s", vmw_type(fault));
        snprintf(t->message, sizeof(t->message), "%s",
                 vmw_text(vmw_child(e, "localizedMessage")));
    }
    t->has_result = vmw_val_ref(vmw_prop(oc, "info.result"), &t->result);
    return NPH_OK;
}

static nph_status task_failed(const struct task_state *t, const char *what, nph_error *err)
{
    nph_status st = NPH_ERR_BACKEND;
    if (!strcmp(t->fault, "InvalidPowerState") || !strcmp(t->fault, "InvalidState") ||
        !strcmp(t->fault, "TaskInProgress") || !strcmp(t->fault, "DuplicateName"))
        st = NPH_ERR_CONFLICT;
    else if (!strcmp(t->fault, "NotSupported") || !strcmp(t->fault, "NotImplemented"))
        st = NPH_ERR_NOT_SUPPORTED;
    else if (!strcmp(t->fault, "ManagedObjectNotFound") || !strcmp(t->fault, "FileNotFound"))
        st = NPH_ERR_NOT_FOUND;
    return nph_error_set(err, st, "%s failed: %s%s%s", what, t->fault[0] ? t->fault : "error",
                         t->message[0] ? ": " : "", t->message);
}

nph_status vmw_task_wait(struct vmw_conn *c, const struct vmw_ref *task, const char *what,
                         int timeout_s, struct vmw_ref *result, nph_error *err)
{
    static const char *const paths[] = { "info.state", "info.error", "info.result" };
    uint64_t deadline = nph_clock_monotonic_ns() + (uint64_t)timeout_s * 1000000000ull;
    unsigned delay_ms = 10;
    for (;;) {
        struct task_state t = { 0 };
        nph_status st = vmw_retrieve(c, vmw_spec_objects(c, "Task", paths, 3, task, 1), 0,
                                     read_task, &t, err);
        if (st != NPH_OK)
            return nph_error_prefix(err, "%s: following task %s: ", what, task->id);
        if (!strcmp(t.state, "success")) {
            if (result && t.has_result)
                *result = t.result;
            return NPH_OK;
        }
        if (!strcmp(t.state, "error")) {
            snprintf(c->last_fault, sizeof(c->last_fault), "%s", t.fault);
            return task_failed(&t, what, err);
        }
        if (strcmp(t.state, "queued") != 0 && strcmp(t.state, "running") != 0)
            return nph_error_set(err, NPH_ERR_BACKEND, "%s: task %s is in unknown state '%s'",
                                 what, task->id, t.state);
        if (nph_clock_monotonic_ns() > deadline)
            return nph_error_set(err, NPH_ERR_TIMEOUT, "%s: task %s still %s after %d s", what,
                                 task->id, t.state, timeout_s);
        nph_clock_sleep_ms(delay_ms);
        delay_ms = delay_ms * 2 > 500 ? 500 : delay_ms * 2;
    }
}
