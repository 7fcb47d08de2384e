/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The VirtualMachineConfigSpec of a new guest, from the flavor and image:
 * CPUs, memory, a SCSI controller with the root (and ephemeral) disk, a
 * CD-ROM for an ISO image, a vmxnet3 NIC on the configured port group; and
 * the specs of a resize and of one device added or removed.  Everything is
 * allocated in the gSOAP context (freed with its replies). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "vmw-driver.h"

/* Device keys of a new VM: negative, unique within the spec. */
enum { KEY_SCSI = -100, KEY_ROOT = -101, KEY_EPHEMERAL = -102, KEY_NIC = -103, KEY_CDROM = -104 };
/* The first IDE controller every new VM gets (the CD-ROM goes there). */
#define IDE0_KEY 200

static int *int_of(struct soap *soap, int v)
{
    int *p = soap_malloc(soap, sizeof(*p));
    if (p)
        *p = v;
    return p;
}

static LONG64 *long_of(struct soap *soap, LONG64 v)
{
    LONG64 *p = soap_malloc(soap, sizeof(*p));
    if (p)
        *p = v;
    return p;
}

static void device_add(struct vim25__VirtualDeviceConfigSpec *dc, const char *file_op, int type,
                       void *device)
{
    dc->operation = "add";
    dc->fileOperation = (char *)file_op;
    dc->__typedevice = type;
    dc->device = device;
}

static struct vim25__VirtualDisk *disk(struct soap *soap, int key, int unit, const char *file,
                                       LONG64 capacity_kb)
{
    struct vim25__VirtualDisk *d = soap_new_vim25__VirtualDisk(soap, 1);
    struct vim25__VirtualDiskFlatVer2BackingInfo *b =
        soap_new_vim25__VirtualDiskFlatVer2BackingInfo(soap, 1);
    if (!d || !b)
        return NULL;
    b->fileName = soap_strdup(soap, file);
    b->diskMode = "persistent";
    b->thinProvisioned = "true";
    d->key = key;
    d->__typebacking = SOAP_TYPE_vim25__VirtualDiskFlatVer2BackingInfo;
    d->backing = b;
    d->controllerKey = int_of(soap, KEY_SCSI);
    d->unitNumber = int_of(soap, unit);
    d->capacityInKB = capacity_kb;
    return d;
}

static struct vim25__VirtualDeviceConnectInfo *connected(struct soap *soap)
{
    struct vim25__VirtualDeviceConnectInfo *ci = soap_new_vim25__VirtualDeviceConnectInfo(soap, 1);
    if (ci) {
        ci->startConnected = "true";
        ci->allowGuestControl = "true";
        ci->connected = "true";
    }
    return ci;
}

void *vmw_nic(struct soap *soap, int key, const char *port_group, const struct vmw_ref *network,
              const char *mac, const char *external_id)
{
    struct vim25__VirtualVmxnet3 *n = soap_new_vim25__VirtualVmxnet3(soap, 1);
    struct vim25__VirtualEthernetCardNetworkBackingInfo *b =
        soap_new_vim25__VirtualEthernetCardNetworkBackingInfo(soap, 1);
    if (!n || !b)
        return NULL;
    b->deviceName = soap_strdup(soap, port_group);
    b->useAutoDetect = "false";
    if (network && network->id[0]) {
        b->network = soap_new_vim25__ManagedObjectReference(soap, 1);
        if (b->network) {
            b->network->type = soap_strdup(soap, network->type);
            b->network->__item = soap_strdup(soap, network->id);
        }
    }
    n->key = key;
    n->__typebacking = SOAP_TYPE_vim25__VirtualEthernetCardNetworkBackingInfo;
    n->backing = b;
    n->connectable = connected(soap);
    n->addressType = mac && *mac ? "manual" : "generated";
    n->macAddress = mac && *mac ? soap_strdup(soap, mac) : NULL;
    n->externalId = external_id && *external_id ? soap_strdup(soap, external_id) : NULL;
    return n;
}

static void *cdrom(struct soap *soap, const char *iso)
{
    struct vim25__VirtualCdrom *cd = soap_new_vim25__VirtualCdrom(soap, 1);
    struct vim25__VirtualCdromIsoBackingInfo *b = soap_new_vim25__VirtualCdromIsoBackingInfo(soap, 1);
    if (!cd || !b)
        return NULL;
    b->fileName = soap_strdup(soap, iso);
    cd->key = KEY_CDROM;
    cd->__typebacking = SOAP_TYPE_vim25__VirtualCdromIsoBackingInfo;
    cd->backing = b;
    cd->connectable = connected(soap);
    cd->controllerKey = int_of(soap, IDE0_KEY);
    cd->unitNumber = int_of(soap, 0);
    return cd;
}

static void *scsi(struct soap *soap)
{
    struct vim25__VirtualLsiLogicController *c = soap_new_vim25__VirtualLsiLogicController(soap, 1);
    if (c) {
        c->key = KEY_SCSI;
        c->busNumber = 0;
        c->sharedBus = "noSharing";
    }
    return c;
}

static struct vim25__OptionValue *option(struct soap *soap, const char *key, const char *value)
{
    struct vim25__OptionValue *o = soap_new_vim25__OptionValue(soap, 1);
    if (!o)
        return NULL;
    /* soap_putelement takes a string value as the char * itself. */
    o->key = soap_strdup(soap, key);
    o->__typevalue = SOAP_TYPE_xsd__string;
    o->value = soap_strdup(soap, value);
    return o->key && o->value ? o : NULL;
}

/* The devices, in the order a reader expects them: controller, disks, CD, NIC. */
static int add_devices(struct soap *soap, const struct vmw_spawn_plan *p,
                       struct vim25__VirtualDeviceConfigSpec *dc)
{
    char file[2 * VMW_NAME_MAX + 80];
    int n = 0;
    device_add(&dc[n++], NULL, SOAP_TYPE_vim25__VirtualLsiLogicController, scsi(soap));
    LONG64 root_kb = (LONG64)p->root_gb * 1024 * 1024;
    if (p->root_disk)
        device_add(&dc[n++], NULL, SOAP_TYPE_vim25__VirtualDisk,
                   disk(soap, KEY_ROOT, 0, p->root_disk, (LONG64)p->root_disk_kb));
    else if (p->root_gb) {
        snprintf(file, sizeof(file), "[%s] %s/%s.vmdk", p->datastore_name, p->uuid, p->uuid);
        device_add(&dc[n++], "create", SOAP_TYPE_vim25__VirtualDisk,
                   disk(soap, KEY_ROOT, 0, file, root_kb));
    }
    if (p->ephemeral_gb) {
        snprintf(file, sizeof(file), "[%s] %s/%s-ephemeral.vmdk", p->datastore_name, p->uuid,
                 p->uuid);
        device_add(&dc[n++], "create", SOAP_TYPE_vim25__VirtualDisk,
                   disk(soap, KEY_EPHEMERAL, 1, file, (LONG64)p->ephemeral_gb * 1024 * 1024));
    }
    if (p->iso)
        device_add(&dc[n++], NULL, SOAP_TYPE_vim25__VirtualCdrom, cdrom(soap, p->iso));
    if (p->port_group && *p->port_group)
        device_add(&dc[n++], NULL, SOAP_TYPE_vim25__VirtualVmxnet3,
                   vmw_nic(soap, KEY_NIC, p->port_group, p->network, NULL, NULL));
    for (int i = 0; i < n; i++)
        if (!dc[i].device)
            return -1;
    return n;
}

struct vim25__VirtualMachineConfigSpec *vmw_spawn_spec(struct soap *soap,
                                                       const struct vmw_spawn_plan *p)
{
    struct vim25__VirtualMachineConfigSpec *s = soap_new_vim25__VirtualMachineConfigSpec(soap, 1);
    struct vim25__VirtualMachineFileInfo *files = soap_new_vim25__VirtualMachineFileInfo(soap, 1);
    struct vim25__VirtualDeviceConfigSpec *dc = soap_new_vim25__VirtualDeviceConfigSpec(soap, 5);
    char text[2 * VMW_NAME_MAX + 80];
    if (!s || !files || !dc)
        return NULL;
    /* The VM is named after the instance UUID: unique, and its folder name. */
    s->name = soap_strdup(soap, p->uuid);
    s->instanceUuid = soap_strdup(soap, p->uuid);
    s->guestId = soap_strdup(soap, p->guest_id);
    snprintf(text, sizeof(text), "Nephele instance %s (%s)", p->uuid, p->name ? p->name : "");
    s->annotation = soap_strdup(soap, text);
    snprintf(text, sizeof(text), "[%s] %s/%s.vmx", p->datastore_name, p->uuid, p->uuid);
    files->vmPathName = soap_strdup(soap, text);
    s->files = files;
    s->numCPUs = int_of(soap, (int)p->vcpus);
    s->memoryMB = long_of(soap, (LONG64)p->memory_mb);
    int n = add_devices(soap, p, dc);
    if (n < 0)
        return NULL;
    s->__sizedeviceChange = n;
    s->deviceChange = dc;
    s->__sizeextraConfig = 1;
    s->extraConfig = option(soap, "nvp.vm-uuid", p->uuid);
    return s->extraConfig && s->numCPUs && s->memoryMB ? s : NULL;
}

struct vim25__VirtualMachineConfigSpec *vmw_resize_spec(struct soap *soap, uint32_t vcpus,
                                                        uint64_t memory_mb)
{
    struct vim25__VirtualMachineConfigSpec *s = soap_new_vim25__VirtualMachineConfigSpec(soap, 1);
    if (!s)
        return NULL;
    s->numCPUs = int_of(soap, (int)vcpus);
    s->memoryMB = long_of(soap, (LONG64)memory_mb);
    return s->numCPUs && s->memoryMB ? s : NULL;
}

struct vim25__VirtualMachineConfigSpec *vmw_device_spec(struct soap *soap, const char *operation,
                                                        int type, void *device)
{
    struct vim25__VirtualMachineConfigSpec *s = soap_new_vim25__VirtualMachineConfigSpec(soap, 1);
    struct vim25__VirtualDeviceConfigSpec *dc = soap_new_vim25__VirtualDeviceConfigSpec(soap, 1);
    if (!s || !dc || !device)
        return NULL;
    device_add(dc, NULL, type, device);
    dc->operation = soap_strdup(soap, operation);
    s->__sizedeviceChange = 1;
    s->deviceChange = dc;
    return dc->operation ? s : NULL;
}
