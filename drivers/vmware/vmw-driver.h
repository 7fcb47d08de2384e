/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The VMware vSphere driver: state shared by its files. */
#ifndef VMW_DRIVER_H
#define VMW_DRIVER_H

#include <pthread.h>
#include <stdint.h>

#include "virt-driver.h"
#include "vmw-pool.h"
#include "vmw-props.h"

#define VMW_NAME_MAX 256

/* One compute node: a cluster or a standalone host (a ComputeResource). */
struct vmw_node {
    char name[VMW_NAME_MAX];
    struct vmw_ref compute;    /* ClusterComputeResource or ComputeResource */
    struct vmw_ref pool;       /* its root resource pool */
    struct vmw_ref datacenter;
    struct vmw_ref vm_folder;  /* the datacenter's vmFolder */
    char datacenter_name[VMW_NAME_MAX];
    struct vmw_ref datastore;  /* where guests and images go */
    char datastore_name[VMW_NAME_MAX];
    struct vmw_ref network;    /* the configured port group, if found */
    bool is_cluster;
    bool drs;                  /* live migration between its hosts */
    uint32_t hosts;
    uint32_t vcpus;            /* hardware threads of its hosts */
    uint64_t memory_mb;
    uint64_t memory_mb_used;
    uint32_t cpu_mhz_used;
    uint32_t cpu_mhz_per_thread;
    uint64_t disk_gb;
    uint64_t disk_gb_free;
    char cpu_model[128];
    char version[32];          /* product version of its first host, 7.0.3 */
};

struct vmw_options {
    char url[512];
    char user[256];
    char password[256];
    bool insecure;
    char ca_file[512];
    char api_version[16];
    char clusters[1024];       /* comma-separated names; "" means every one */
    char datastore[VMW_NAME_MAX];
    char port_group[VMW_NAME_MAX];
    char image_folder[VMW_NAME_MAX];
    char guest_id[64];
    int timeout_s;
    int task_timeout_s;
    int page_size;
    int pool_size;
};

struct vmw_driver {
    const struct nph_host_services *svc;
    nph_host *host;
    struct vmw_options opt;
    struct vmw_pool sessions;   /* connection_pool_size of them */

    pthread_mutex_t nodes_lock; /* guards the node table */
    struct vmw_node *nodes;
    size_t n_nodes;
    uint64_t nodes_at_ns;       /* when the table was read */

    pthread_mutex_t images_lock; /* guards the uploaded-image cache */
    struct vmw_cached_image {
        char key[2 * VMW_NAME_MAX]; /* "datastore-id/path" already uploaded */
        uint64_t size;              /* bytes of its disk */
    } *images;
    size_t n_images;

    /* Instances' VMs as the sessions found them (vmw-vms.c). */
    pthread_mutex_t vms_lock;
    struct vmw_known_vm {
        char uuid[40];
        struct vmw_ref vm;
    } *vms;
    size_t n_vms, cap_vms;
};

/* vmw-options.c */
nph_status vmw_read_options(struct vmw_driver *d, nph_error *err);
extern const struct nph_driver_option vmw_option_table[];
/* Whether compute resource `name` is one the clusters option asks for. */
bool vmw_option_wants(const struct vmw_options *o, const char *name);

/* vmw-inventory.c: read the nodes. */
nph_status vmw_nodes_refresh(struct vmw_driver *d, nph_error *err);
/* Copy node `name` into *out, reading the inventory when it is not known yet. */
nph_status vmw_node_get(struct vmw_driver *d, const char *name, struct vmw_node *out,
                        nph_error *err);
void vmw_nodes_free(struct vmw_driver *d);

/* vmw-datastore.c: files on datastores over HTTPS (the /folder URL). */
nph_status vmw_ds_upload(struct vmw_driver *d, const struct vmw_node *n, const char *ds_path,
                         const char *local_file, nph_error *err);
nph_status vmw_ds_download(struct vmw_driver *d, const struct vmw_node *n, const char *ds_path,
                           const char *local_file, uint64_t *size, nph_error *err);
/* Whether the file exists (HEAD), and its size; NPH_ERR_NOT_FOUND when it
 * does not. */
nph_status vmw_ds_stat(struct vmw_driver *d, const struct vmw_node *n, const char *ds_path,
                       uint64_t *size, nph_error *err);

/* vmw-spec.c: the ConfigSpec of a new guest (allocated in the gSOAP context). */
struct vmw_spawn_plan {
    const char *uuid;
    const char *name;
    const char *datastore_name;
    const char *root_disk;     /* "[ds] uuid/uuid.vmdk", copied from the image; or NULL */
    uint64_t root_disk_kb;     /* its size */
    const char *iso;           /* "[ds] nephele-images/ID.iso" for a CD-ROM boot; or NULL */
    const char *port_group;    /* NIC backing; NULL: no NIC */
    const struct vmw_ref *network;
    const char *guest_id;
    uint32_t vcpus;
    uint64_t memory_mb;
    uint64_t root_gb;          /* a blank root disk of this size when there is no image disk */
    uint64_t ephemeral_gb;
};
struct vim25__VirtualMachineConfigSpec *vmw_spawn_spec(struct soap *soap,
                                                       const struct vmw_spawn_plan *p);
/* A resize: CPUs and memory only. */
struct vim25__VirtualMachineConfigSpec *vmw_resize_spec(struct soap *soap, uint32_t vcpus,
                                                        uint64_t memory_mb);
/* A vmxnet3 NIC (a struct vim25__VirtualVmxnet3) with device key `key` on
 * `port_group` (`network`, its object, may be NULL); `mac` NULL or "": one
 * the server makes; `external_id`: the port it plugs, or NULL. */
void *vmw_nic(struct soap *soap, int key, const char *port_group, const struct vmw_ref *network,
              const char *mac, const char *external_id);
/* A ConfigSpec that makes one device change: `operation` (add, remove) of
 * `device`, a gSOAP object of type `type` (SOAP_TYPE_vim25__...). */
struct vim25__VirtualMachineConfigSpec *vmw_device_spec(struct soap *soap, const char *operation,
                                                        int type, void *device);

/* vmw-driver.c */
extern const struct nph_driver_descriptor nph_vmware_descriptor;

#endif
