/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Interfaces plugged into a guest and out again, while it runs: a vmxnet3
 * NIC added with ReconfigVM_Task on the node's port group (the port_group
 * option, where a spawn puts a guest's first NIC), with the VIF's MAC
 * address and its port as the card's externalId, as Nova's driver does; and
 * found again by that MAC address or port to be removed. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "vmw-ops.h"

/* The key of the device a spec adds: negative, unique within the spec. */
#define NEW_NIC_KEY (-200)

static bool has(const char *s)
{
    return s && *s;
}

static nph_status change_nic(struct vmw_driver *d, struct vmw_conn *c, const struct vmw_ref *vm,
                             const char *operation, void *nic, const char *what, nph_error *err)
{
    struct vim25__ReconfigVMRequest req = {
        vmw_mor(c, vm), vmw_device_spec(c->soap, operation, SOAP_TYPE_vim25__VirtualVmxnet3, nic)
    };
    if (!req.spec)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory for a device change");
    return VMW_TASK(c, err, ReconfigVM_USCORETask, &req, what, d->opt.task_timeout_s, NULL);
}

nph_status vmw_attach_interface(void *drv, const struct nph_instance *inst,
                                const struct nph_vif *vif, nph_error *err)
{
    struct vmw_driver *d = drv;
    if (!has(vif->port_id) && !has(vif->mac_address))
        return nph_error_set(err, NPH_ERR_INVALID,
                             "an interface for %s needs a port id or a MAC address", inst->uuid);
    struct vmw_node n;
    nph_status st = vmw_node_get(d, inst->node, &n, err);
    if (st != NPH_OK)
        return st;
    if (!n.network.id[0])
        return nph_error_set(err, NPH_ERR_INVALID,
                             "driver '%s': node %s has no port group '%s' to plug port %s into "
                             "(the port_group option)",
                             d->svc->instance_name(d->host), n.name, d->opt.port_group,
                             has(vif->port_id) ? vif->port_id : vif->mac_address);
    VMW_SESSION(c, &d->sessions);
    struct vmw_ref vm;
    return VMW_ON_VM(d, c, inst->uuid, vm, err,
                     change_nic(d, c, &vm, "add",
                                vmw_nic(c->soap, NEW_NIC_KEY, d->opt.port_group, &n.network,
                                        vif->mac_address, vif->port_id),
                                "attach interface", err));
}

/* The VM's NIC with the VIF's MAC address or port. */
struct nic_match {
    const struct nph_vif *vif;
    bool found;
    int key;
    char type[64];
};

static bool is_vifs(const struct soap_dom_element *dev, const struct nph_vif *vif)
{
    const char *mac = vmw_text(vmw_child(dev, "macAddress"));
    const char *port = vmw_text(vmw_child(dev, "externalId"));
    return (has(vif->mac_address) && !strcasecmp(mac, vif->mac_address)) ||
           (has(vif->port_id) && !strcmp(port, vif->port_id));
}

static nph_status match_nic(void *opaque, const struct vim25__ObjectContent *oc, nph_error *err)
{
    struct nic_match *m = opaque;
    const struct soap_dom_element *devices = vmw_prop(oc, "config.hardware.device");
    for (const struct soap_dom_element *e = devices ? devices->elts : NULL; e && !m->found;
         e = e->next)
        if (is_vifs(e, m->vif)) {
            m->found = true;
            m->key = (int)vmw_long(vmw_child(e, "key"));
            snprintf(m->type, sizeof(m->type), "%s", vmw_type(e));
        }
    return NPH_OK;
}

static nph_status unplug(struct vmw_driver *d, struct vmw_conn *c, const struct nph_instance *inst,
                         const struct vmw_ref *vm, const struct nph_vif *vif, nph_error *err)
{
    static const char *const paths[] = { "config.hardware.device" };
    struct nic_match m = { .vif = vif };
    nph_status st = vmw_retrieve(c, vmw_spec_objects(c, "VirtualMachine", paths, 1, vm, 1), 0,
                                 match_nic, &m, err);
    if (st != NPH_OK)
        return st;
    const char *which = has(vif->port_id) ? vif->port_id : vif->mac_address;
    if (!m.found)
        return nph_error_set(err, NPH_ERR_NOT_FOUND, "instance %s has no interface for port %s",
                             inst->uuid, which);
    if (strcmp(m.type, "VirtualVmxnet3") != 0)
        return nph_error_set(err, NPH_ERR_NOT_SUPPORTED,
                             "interface %s of instance %s is a %s; the vmware driver unplugs "
                             "the vmxnet3 NICs it plugs",
                             which, inst->uuid, m.type[0] ? m.type : "device of unknown type");
    struct vim25__VirtualVmxnet3 *nic = soap_new_vim25__VirtualVmxnet3(c->soap, 1);
    if (nic)
        nic->key = m.key;
    return change_nic(d, c, vm, "remove", nic, "detach interface", err);
}

nph_status vmw_detach_interface(void *drv, const struct nph_instance *inst,
                                const struct nph_vif *vif, nph_error *err)
{
    struct vmw_driver *d = drv;
    if (!has(vif->port_id) && !has(vif->mac_address))
        return nph_error_set(err, NPH_ERR_INVALID,
                             "which interface of %s: no port id nor MAC address", inst->uuid);
    VMW_SESSION(c, &d->sessions);
    struct vmw_ref vm;
    return VMW_ON_VM(d, c, inst->uuid, vm, err, unplug(d, c, inst, &vm, vif, err));
}
