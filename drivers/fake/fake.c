/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fake driver: every operation of the contract on in-memory guests, with
 * the power-state transitions a real hypervisor allows and a clear
 * NPH_ERR_CONFLICT for the ones it does not.  Nodes, hypervisor type, image
 * formats, capabilities, latency and failures come from the plugins.d file,
 * so one cloud can mimic KVM, VMware, Hyper-V and baremetal hosts at once.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "fake.h"
#include "objects.h"

/* Bit of a power state, for sets of allowed states. */
#define PS(s) (1u << (s))
#define ANY_STATE (PS(NPH_POWER_RUNNING) | PS(NPH_POWER_PAUSED) | PS(NPH_POWER_SHUTDOWN) | \
                   PS(NPH_POWER_CRASHED) | PS(NPH_POWER_SUSPENDED))

/* An event to emit once the lock is released (the host's callback may call
 * back into the driver). */
struct pending_event {
    bool set;
    struct nph_driver_event ev;
    char uuid[40];
    char node[160];
};


/* xorshift64: deterministic for a given failure_seed.  Caller holds the lock. */
static double next_random(struct fake_driver *fd)
{
    fd->rng ^= fd->rng << 13;
    fd->rng ^= fd->rng >> 7;
    fd->rng ^= fd->rng << 17;
    return (double)(fd->rng >> 11) / (double)(1ull << 53);
}

NPH_PRINTF(2, 3) static void console_log(struct fake_instance *fi, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    nph_buffer_append(&fi->console, line, strlen(line));
    nph_buffer_append(&fi->console, "\n", 1);
}

static void set_state(struct fake_driver *fd, struct fake_instance *fi, nph_power_state to,
                      nph_lifecycle_event ev, struct pending_event *pending)
{
    uint64_t now = nph_clock_monotonic_ns();
    if (fi->state == NPH_POWER_RUNNING && fi->running_since_ns)
        fi->cpu_ns += now - fi->running_since_ns;
    fi->running_since_ns = to == NPH_POWER_RUNNING ? now : 0;
    fi->state = to;
    console_log(fi, "[fake] guest %s", nph_lifecycle_event_name(ev));
    pending->set = true;
    snprintf(pending->uuid, sizeof(pending->uuid), "%s", fi->uuid);
    fake_node_name(fd, fi->node, pending->node, sizeof(pending->node));
    pending->ev = (struct nph_driver_event){ pending->uuid, pending->node, ev, to };
}

static void usage_add(struct fake_usage *u, const struct fake_usage *f, int sign)
{
    u->vcpus = (uint32_t)((int64_t)u->vcpus + sign * (int64_t)f->vcpus);
    u->memory_mb = (uint64_t)((int64_t)u->memory_mb + sign * (int64_t)f->memory_mb);
    u->disk_gb = (uint64_t)((int64_t)u->disk_gb + sign * (int64_t)f->disk_gb);
}

static struct fake_usage flavor_usage(const struct nph_flavor *f)
{
    struct fake_usage u = { 0 };
    if (f) {
        u.vcpus = f->vcpus;
        u.memory_mb = f->memory_mb;
        u.disk_gb = f->root_gb + f->ephemeral_gb;
    }
    return u;
}

/* Injected latency (outside the lock) and failure, then take the lock. */
static nph_status begin_op(struct fake_driver *fd, enum fake_op op, nph_error *err)
{
    if (fd->latency_ms[op])
        nph_clock_sleep_ms(fd->latency_ms[op]);
    pthread_mutex_lock(&fd->lock);
    if (fd->failure_rate[op] > 0 && next_random(fd) < fd->failure_rate[op]) {
        pthread_mutex_unlock(&fd->lock);
        return fd->svc->error(err, NPH_ERR_BACKEND,
                              "injected failure of '%s' (failure_rate %g in driver '%s')",
                              fake_op_names[op], fd->failure_rate[op],
                              fd->svc->instance_name(fd->host));
    }
    return NPH_OK;
}

/* begin_op, then find the guest; on success the lock is held. */
static nph_status enter(struct fake_driver *fd, enum fake_op op, const struct nph_instance *inst,
                        struct fake_instance **out, nph_error *err)
{
    nph_status st = begin_op(fd, op, err);
    if (st != NPH_OK)
        return st;
    *out = fake_table_find(&fd->instances, inst->uuid);
    if (!*out) {
        pthread_mutex_unlock(&fd->lock);
        return fd->svc->error(err, NPH_ERR_NOT_FOUND, "instance %s is not on driver '%s'",
                              inst->uuid, fd->svc->instance_name(fd->host));
    }
    return NPH_OK;
}

/* Release the lock, then report the event, if any. */
static nph_status leave(struct fake_driver *fd, nph_status st, struct pending_event *pending)
{
    pthread_mutex_unlock(&fd->lock);
    if (st == NPH_OK && pending->set)
        fd->svc->emit_event(fd->host, &pending->ev);
    return st;
}

static nph_status need_capability(struct fake_driver *fd, uint32_t cap, nph_error *err)
{
    if (fd->capabilities & cap)
        return NPH_OK;
    return fd->svc->error(err, NPH_ERR_NOT_SUPPORTED,
                          "driver '%s' is configured without the '%s' capability",
                          fd->svc->instance_name(fd->host), nph_capability_name(cap));
}

static nph_status conflict(struct fake_driver *fd, struct fake_instance *fi, const char *op,
                           nph_error *err)
{
    return fd->svc->error(err, NPH_ERR_CONFLICT,
                          "cannot %s instance %s while it is %s%s", op, fi->uuid,
                          nph_power_state_name(fi->state), fi->rescued ? " (rescued)" : "");
}

/* Move a guest from state set `from` to `to`; anything else is a conflict. */
static nph_status transition(struct fake_driver *fd, enum fake_op op,
                             const struct nph_instance *inst, uint32_t from, nph_power_state to,
                             nph_lifecycle_event ev, nph_error *err)
{
    struct fake_instance *fi;
    struct pending_event pending = { 0 };
    nph_status st = enter(fd, op, inst, &fi, err);
    if (st != NPH_OK)
        return st;
    if (!(from & PS(fi->state)))
        st = conflict(fd, fi, fake_op_names[op], err);
    else
        set_state(fd, fi, to, ev, &pending);
    return leave(fd, st, &pending);
}

static nph_status check_image(struct fake_driver *fd, const struct nph_image_meta *image,
                              nph_error *err)
{
    if (!image || !image->disk_format || (fd->image_formats & image->disk_format))
        return NPH_OK;
    const char *name = nph_image_format_name(image->disk_format);
    return fd->svc->error(err, NPH_ERR_INVALID,
                          "driver '%s' (hypervisor %s) cannot boot %s images",
                          fd->svc->instance_name(fd->host), fd->hypervisor_type,
                          name ? name : "unknown-format");
}

/* ------------------------------------------------------------------------ */
/* Lifecycle and inventory.                                                 */

static nph_status fake_init_host(const struct nph_host_services *svc, nph_host *host, void **drv,
                                 nph_error *err)
{
    struct fake_driver *fd = calloc(1, sizeof(*fd));
    if (!fd)
        return svc->error(err, NPH_ERR_NO_MEMORY, "out of memory");
    fd->svc = svc;
    fd->host = host;
    nph_status st = fake_read_options(fd, err);
    if (st == NPH_OK && !(fd->usage = calloc(fd->node_count, sizeof(*fd->usage))))
        st = svc->error(err, NPH_ERR_NO_MEMORY, "out of memory for %u nodes", fd->node_count);
    if (st == NPH_OK && fake_table_init(&fd->instances) != NPH_OK)
        st = svc->error(err, NPH_ERR_NO_MEMORY, "out of memory");
    if (st != NPH_OK) {
        free(fd->usage);
        free(fd);
        return st;
    }
    pthread_mutex_init(&fd->lock, NULL);
    svc->log(host, NPH_LOG_INFO, "fake hypervisor '%s' with %u node(s) named %s-N", fd->hypervisor_type,
             fd->node_count, fd->node_prefix);
    *drv = fd;
    return NPH_OK;
}

static void fake_cleanup(void *drv)
{
    struct fake_driver *fd = drv;
    fake_table_free(&fd->instances);
    pthread_mutex_destroy(&fd->lock);
    free(fd->usage);
    free(fd);
}

static nph_status fake_list_nodes(void *drv, nph_node_cb cb, void *opaque, nph_error *err)
{
    struct fake_driver *fd = drv;
    char name[160];
    for (uint32_t i = 0; i < fd->node_count; i++) {
        fake_node_name(fd, i, name, sizeof(name));
        cb(opaque, name);
    }
    return NPH_OK;
}

static nph_status fake_node_resources(void *drv, const char *node, struct nph_node_resources *out,
                                      nph_error *err)
{
    struct fake_driver *fd = drv;
    long i = fake_node_index(fd, node);
    if (i < 0)
        return fd->svc->error(err, NPH_ERR_NOT_FOUND, "driver '%s' has no node '%s'",
                              fd->svc->instance_name(fd->host), node);
    out->hypervisor_type = fd->hypervisor_type;
    out->hypervisor_version = fd->hypervisor_version;
    /* The node name is the caller's string; it outlives this call. */
    out->hypervisor_hostname = node;
    out->cpu_arch = fd->cpu_arch;
    out->vcpus = fd->capacity.vcpus;
    out->memory_mb = fd->capacity.memory_mb;
    out->local_gb = fd->capacity.disk_gb;
    out->cpu_info = fd->cpu_info;
    out->resource_class = fd->resource_class[0] ? fd->resource_class : NULL;
    pthread_mutex_lock(&fd->lock);
    out->vcpus_used = fd->usage[i].vcpus;
    out->memory_mb_used = fd->usage[i].memory_mb;
    out->local_gb_used = fd->usage[i].disk_gb;
    pthread_mutex_unlock(&fd->lock);
    return NPH_OK;
}

static void fake_capabilities(void *drv, struct nph_driver_capabilities *out)
{
    struct fake_driver *fd = drv;
    out->flags = fd->capabilities;
    out->image_formats = fd->image_formats;
    out->hypervisor_type = fd->hypervisor_type;
}

/* ------------------------------------------------------------------------ */
/* Instance operations.                                                     */

static nph_status fake_spawn(void *drv, const struct nph_instance *inst,
                             const struct nph_spawn_args *args, nph_error *err)
{
    struct fake_driver *fd = drv;
    long node = fake_node_index(fd, inst->node);
    if (node < 0)
        return fd->svc->error(err, NPH_ERR_NOT_FOUND, "driver '%s' has no node '%s'",
                              fd->svc->instance_name(fd->host), inst->node ? inst->node : "(none)");
    nph_status st = check_image(fd, inst->image, err);
    if (st != NPH_OK)
        return st;
    st = begin_op(fd, FAKE_OP_SPAWN, err);
    if (st != NPH_OK)
        return st;
    struct pending_event pending = { 0 };
    struct fake_instance *fi = NULL;
    if (fake_table_find(&fd->instances, inst->uuid))
        st = fd->svc->error(err, NPH_ERR_CONFLICT, "instance %s already exists on driver '%s'",
                            inst->uuid, fd->svc->instance_name(fd->host));
    else if (!(fi = fake_table_add(&fd->instances, inst->uuid)))
        st = fd->svc->error(err, NPH_ERR_NO_MEMORY, "out of memory");
    if (st == NPH_OK) {
        fi->node = (uint32_t)node;
        fi->flavor = flavor_usage(inst->flavor);
        fi->image_format = inst->image ? inst->image->disk_format : 0;
        usage_add(&fd->usage[node], &fi->flavor, +1);
        console_log(fi, "[fake] booting instance %s", inst->uuid);
        set_state(fd, fi, NPH_POWER_RUNNING, NPH_EVENT_STARTED, &pending);
    }
    return leave(fd, st, &pending);
}

static nph_status fake_destroy(void *drv, const struct nph_instance *inst, bool destroy_disks,
                               nph_error *err)
{
    struct fake_driver *fd = drv;
    nph_status st = begin_op(fd, FAKE_OP_DESTROY, err);
    if (st != NPH_OK)
        return st;
    struct pending_event pending = { 0 };
    struct fake_instance *fi = fake_table_find(&fd->instances, inst->uuid);
    if (fi) {
        bool was_on = fi->state != NPH_POWER_SHUTDOWN;
        if (was_on)
            set_state(fd, fi, NPH_POWER_SHUTDOWN, NPH_EVENT_STOPPED, &pending);
        usage_add(&fd->usage[fi->node], &fi->flavor, -1);
        fake_table_remove(&fd->instances, inst->uuid);
    }
    return leave(fd, st, &pending);
}

static nph_status fake_reboot(void *drv, const struct nph_instance *inst, nph_reboot_type type,
                              nph_error *err)
{
    /* A soft reboot needs a running guest OS to ask; a hard one power-cycles
     * from any state. */
    uint32_t from = type == NPH_REBOOT_SOFT ? PS(NPH_POWER_RUNNING) : ANY_STATE;
    return transition(drv, FAKE_OP_REBOOT, inst, from, NPH_POWER_RUNNING, NPH_EVENT_STARTED, err);
}

static nph_status fake_power_off(void *drv, const struct nph_instance *inst, int timeout_s,
                                 nph_error *err)
{
    return transition(drv, FAKE_OP_POWER_OFF, inst, ANY_STATE & ~PS(NPH_POWER_SHUTDOWN),
                      NPH_POWER_SHUTDOWN, NPH_EVENT_STOPPED, err);
}

static nph_status fake_power_on(void *drv, const struct nph_instance *inst, nph_error *err)
{
    return transition(drv, FAKE_OP_POWER_ON, inst, PS(NPH_POWER_SHUTDOWN) | PS(NPH_POWER_CRASHED),
                      NPH_POWER_RUNNING, NPH_EVENT_STARTED, err);
}

static nph_status fake_pause(void *drv, const struct nph_instance *inst, nph_error *err)
{
    return transition(drv, FAKE_OP_PAUSE, inst, PS(NPH_POWER_RUNNING), NPH_POWER_PAUSED,
                      NPH_EVENT_PAUSED, err);
}

static nph_status fake_unpause(void *drv, const struct nph_instance *inst, nph_error *err)
{
    return transition(drv, FAKE_OP_UNPAUSE, inst, PS(NPH_POWER_PAUSED), NPH_POWER_RUNNING,
                      NPH_EVENT_RESUMED, err);
}

static nph_status fake_suspend(void *drv, const struct nph_instance *inst, nph_error *err)
{
    return transition(drv, FAKE_OP_SUSPEND, inst, PS(NPH_POWER_RUNNING) | PS(NPH_POWER_PAUSED),
                      NPH_POWER_SUSPENDED, NPH_EVENT_SUSPENDED, err);
}

static nph_status fake_resume(void *drv, const struct nph_instance *inst, nph_error *err)
{
    return transition(drv, FAKE_OP_RESUME, inst, PS(NPH_POWER_SUSPENDED), NPH_POWER_RUNNING,
                      NPH_EVENT_RESUMED, err);
}

static nph_status fake_rescue(void *drv, const struct nph_instance *inst,
                              const struct nph_image_meta *rescue_image, const char *password,
                              nph_error *err)
{
    struct fake_driver *fd = drv;
    nph_status st = need_capability(fd, NPH_CAP_RESCUE, err);
    if (st == NPH_OK)
        st = check_image(fd, rescue_image, err);
    struct fake_instance *fi;
    if (st != NPH_OK || (st = enter(fd, FAKE_OP_RESCUE, inst, &fi, err)) != NPH_OK)
        return st;
    struct pending_event pending = { 0 };
    if (fi->rescued || !((PS(NPH_POWER_RUNNING) | PS(NPH_POWER_SHUTDOWN)) & PS(fi->state)))
        st = conflict(fd, fi, "rescue", err);
    else {
        fi->rescued = true;
        set_state(fd, fi, NPH_POWER_RUNNING, NPH_EVENT_STARTED, &pending);
    }
    return leave(fd, st, &pending);
}

static nph_status fake_unrescue(void *drv, const struct nph_instance *inst, nph_error *err)
{
    struct fake_driver *fd = drv;
    struct fake_instance *fi;
    nph_status st = need_capability(fd, NPH_CAP_RESCUE, err);
    if (st != NPH_OK || (st = enter(fd, FAKE_OP_UNRESCUE, inst, &fi, err)) != NPH_OK)
        return st;
    struct pending_event pending = { 0 };
    if (!fi->rescued)
        st = fd->svc->error(err, NPH_ERR_CONFLICT, "instance %s is not in rescue mode",
                            fi->uuid);
    else {
        fi->rescued = false;
        set_state(fd, fi, NPH_POWER_RUNNING, NPH_EVENT_STARTED, &pending);
    }
    return leave(fd, st, &pending);
}

static nph_status fake_rebuild(void *drv, const struct nph_instance *inst,
                               const struct nph_image_meta *image, nph_error *err)
{
    struct fake_driver *fd = drv;
    struct fake_instance *fi;
    nph_status st = check_image(fd, image, err);
    if (st != NPH_OK || (st = enter(fd, FAKE_OP_REBUILD, inst, &fi, err)) != NPH_OK)
        return st;
    struct pending_event pending = { 0 };
    if (fi->rescued || fi->migration != FAKE_MIG_NONE)
        st = conflict(fd, fi, "rebuild", err);
    else {
        fi->image_format = image ? image->disk_format : fi->image_format;
        console_log(fi, "[fake] rebuilding from image %s", image && image->id ? image->id : "-");
        set_state(fd, fi, NPH_POWER_RUNNING, NPH_EVENT_STARTED, &pending);
    }
    return leave(fd, st, &pending);
}

static nph_status fake_snapshot(void *drv, const struct nph_instance *inst, const char *dest_path,
                                struct nph_snapshot_result *out, nph_error *err)
{
    struct fake_driver *fd = drv;
    struct fake_instance *fi;
    nph_status st = need_capability(fd, NPH_CAP_SNAPSHOT, err);
    if (st != NPH_OK || (st = enter(fd, FAKE_OP_SNAPSHOT, inst, &fi, err)) != NPH_OK)
        return st;
    struct pending_event pending = { 0 };
    /* A small raw disk: a recognisable first sector, zeros after it. */
    char sector[512] = { 0 };
    int n = snprintf(sector, sizeof(sector), "NEPHELE-FAKE-DISK %s\n", fi->uuid);
    FILE *f = fopen(dest_path, "wb");
    bool ok = f && fwrite(sector, 1, sizeof(sector), f) == sizeof(sector);
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        st = fd->svc->error(err, NPH_ERR_IO, "cannot write snapshot of %s to '%s': %s", fi->uuid,
                            dest_path, strerror(errno));
    else {
        out->disk_format = NPH_IMAGE_RAW;
        out->size = sizeof(sector);
        (void)n;
    }
    return leave(fd, st, &pending);
}

/* ------------------------------------------------------------------------ */
/* Resize and migration.  The source keeps its record until confirm or      */
/* revert; a destination on the same driver instance moves the record.      */

static nph_status fake_migrate_disk_and_power_off(void *drv, const struct nph_instance *inst,
                                                  const char *dest_host, const char *dest_node,
                                                  const struct nph_flavor *new_flavor,
                                                  nph_error *err)
{
    struct fake_driver *fd = drv;
    struct fake_instance *fi;
    nph_status st = need_capability(fd, NPH_CAP_RESIZE, err);
    if (st != NPH_OK || (st = enter(fd, FAKE_OP_MIGRATE, inst, &fi, err)) != NPH_OK)
        return st;
    struct pending_event pending = { 0 };
    if (fi->migration != FAKE_MIG_NONE || fi->rescued)
        st = conflict(fd, fi, "migrate", err);
    else {
        fi->migration = FAKE_MIG_OUT;
        fi->old_flavor = fi->flavor;
        fi->old_node = fi->node;
        if (fi->state != NPH_POWER_SHUTDOWN)
            set_state(fd, fi, NPH_POWER_SHUTDOWN, NPH_EVENT_STOPPED, &pending);
    }
    return leave(fd, st, &pending);
}

static nph_status fake_finish_migration(void *drv, const struct nph_instance *inst,
                                        const struct nph_flavor *new_flavor, bool power_on,
                                        nph_error *err)
{
    struct fake_driver *fd = drv;
    long node = fake_node_index(fd, inst->node);
    if (node < 0)
        return fd->svc->error(err, NPH_ERR_NOT_FOUND, "driver '%s' has no node '%s'",
                              fd->svc->instance_name(fd->host), inst->node ? inst->node : "(none)");
    nph_status st = begin_op(fd, FAKE_OP_MIGRATE, err);
    if (st != NPH_OK)
        return st;
    struct pending_event pending = { 0 };
    struct fake_instance *fi = fake_table_find(&fd->instances, inst->uuid);
    if (fi && fi->migration != FAKE_MIG_OUT) {
        st = conflict(fd, fi, "finish the migration of", err);
    } else if (fi) {
        /* Same driver instance: move the record to the destination node. */
        usage_add(&fd->usage[fi->node], &fi->flavor, -1);
    } else if (!(fi = fake_table_add(&fd->instances, inst->uuid))) {
        st = fd->svc->error(err, NPH_ERR_NO_MEMORY, "out of memory");
    } else {
        fi->old_flavor = flavor_usage(inst->flavor);
        fi->old_node = (uint32_t)node;
        fi->state = NPH_POWER_SHUTDOWN;
    }
    if (st == NPH_OK) {
        fi->migration = FAKE_MIG_FINISHED;
        fi->node = (uint32_t)node;
        fi->flavor = flavor_usage(new_flavor);
        usage_add(&fd->usage[node], &fi->flavor, +1);
        if (power_on)
            set_state(fd, fi, NPH_POWER_RUNNING, NPH_EVENT_STARTED, &pending);
    }
    return leave(fd, st, &pending);
}

static nph_status fake_confirm_migration(void *drv, const struct nph_instance *inst,
                                         nph_error *err)
{
    struct fake_driver *fd = drv;
    struct fake_instance *fi;
    nph_status st = enter(fd, FAKE_OP_MIGRATE, inst, &fi, err);
    if (st != NPH_OK)
        return st;
    struct pending_event pending = { 0 };
    if (fi->migration == FAKE_MIG_OUT) {
        /* The guest now lives on another host: drop the source copy. */
        usage_add(&fd->usage[fi->node], &fi->flavor, -1);
        fake_table_remove(&fd->instances, inst->uuid);
    } else if (fi->migration == FAKE_MIG_FINISHED) {
        fi->migration = FAKE_MIG_NONE;
    } else {
        st = fd->svc->error(err, NPH_ERR_CONFLICT, "instance %s has no migration to confirm",
                            inst->uuid);
    }
    return leave(fd, st, &pending);
}

static nph_status fake_finish_revert_migration(void *drv, const struct nph_instance *inst,
                                               bool power_on, nph_error *err)
{
    struct fake_driver *fd = drv;
    struct fake_instance *fi;
    nph_status st = enter(fd, FAKE_OP_MIGRATE, inst, &fi, err);
    if (st != NPH_OK)
        return st;
    struct pending_event pending = { 0 };
    if (fi->migration == FAKE_MIG_NONE) {
        st = fd->svc->error(err, NPH_ERR_CONFLICT, "instance %s has no migration to revert",
                            inst->uuid);
    } else {
        usage_add(&fd->usage[fi->node], &fi->flavor, -1);
        fi->node = fi->old_node;
        fi->flavor = fi->old_flavor;
        usage_add(&fd->usage[fi->node], &fi->flavor, +1);
        fi->migration = FAKE_MIG_NONE;
        if (power_on && fi->state != NPH_POWER_RUNNING)
            set_state(fd, fi, NPH_POWER_RUNNING, NPH_EVENT_STARTED, &pending);
    }
    return leave(fd, st, &pending);
}

static nph_status fake_pre_live_migration(void *drv, const struct nph_instance *inst,
                                          nph_error *err)
{
    struct fake_driver *fd = drv;
    nph_status st = need_capability(fd, NPH_CAP_LIVE_MIGRATION, err);
    if (st == NPH_OK && fake_node_index(fd, inst->node) < 0)
        st = fd->svc->error(err, NPH_ERR_NOT_FOUND, "driver '%s' has no node '%s'",
                            fd->svc->instance_name(fd->host), inst->node ? inst->node : "(none)");
    return st;
}

static nph_status fake_live_migration(void *drv, const struct nph_instance *inst,
                                      const char *dest_host, const char *dest_node,
                                      bool block_migration, nph_error *err)
{
    struct fake_driver *fd = drv;
    struct fake_instance *fi;
    nph_status st = need_capability(fd, NPH_CAP_LIVE_MIGRATION, err);
    if (st != NPH_OK || (st = enter(fd, FAKE_OP_LIVE_MIGRATE, inst, &fi, err)) != NPH_OK)
        return st;
    struct pending_event pending = { 0 };
    long dest = fake_node_index(fd, dest_node);
    bool here = dest >= 0 && strcmp(dest_host, fd->svc->host_name(fd->host)) == 0;
    if (fi->state != NPH_POWER_RUNNING && fi->state != NPH_POWER_PAUSED)
        st = conflict(fd, fi, "live-migrate", err);
    else if (fi->migration != FAKE_MIG_NONE || fi->rescued)
        st = conflict(fd, fi, "live-migrate", err);
    else if (here) {
        usage_add(&fd->usage[fi->node], &fi->flavor, -1);
        fi->node = (uint32_t)dest;
        usage_add(&fd->usage[fi->node], &fi->flavor, +1);
    } else {
        /* post_live_migration_at_destination re-creates it over there. */
        usage_add(&fd->usage[fi->node], &fi->flavor, -1);
        fake_table_remove(&fd->instances, inst->uuid);
    }
    return leave(fd, st, &pending);
}

static nph_status fake_post_live_migration_at_destination(void *drv,
                                                          const struct nph_instance *inst,
                                                          nph_error *err)
{
    struct fake_driver *fd = drv;
    long node = fake_node_index(fd, inst->node);
    if (node < 0)
        return fd->svc->error(err, NPH_ERR_NOT_FOUND, "driver '%s' has no node '%s'",
                              fd->svc->instance_name(fd->host), inst->node ? inst->node : "(none)");
    pthread_mutex_lock(&fd->lock);
    nph_status st = NPH_OK;
    if (!fake_table_find(&fd->instances, inst->uuid)) {
        struct fake_instance *fi = fake_table_add(&fd->instances, inst->uuid);
        if (!fi) {
            st = fd->svc->error(err, NPH_ERR_NO_MEMORY, "out of memory");
        } else {
            fi->node = (uint32_t)node;
            fi->flavor = flavor_usage(inst->flavor);
            fi->image_format = inst->image ? inst->image->disk_format : 0;
            fi->state = NPH_POWER_RUNNING;
            fi->running_since_ns = nph_clock_monotonic_ns();
            usage_add(&fd->usage[node], &fi->flavor, +1);
        }
    }
    pthread_mutex_unlock(&fd->lock);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Volumes, interfaces, password.                                           */

/* Add or remove `id` in a slot list; a conflict or not-found names `what`. */
static nph_status attachment(struct fake_driver *fd, enum fake_op op, uint32_t cap,
                             const struct nph_instance *inst, const char *id, bool attach,
                             const char *what, nph_error *err)
{
    struct fake_instance *fi;
    nph_status st = need_capability(fd, cap, err);
    if (st == NPH_OK && (!id || !*id || strlen(id) >= FAKE_ID_MAX))
        st = fd->svc->error(err, NPH_ERR_INVALID, "a %s id of 1 to %d characters is required",
                            what, FAKE_ID_MAX - 1);
    if (st != NPH_OK || (st = enter(fd, op, inst, &fi, err)) != NPH_OK)
        return st;
    struct pending_event pending = { 0 };
    char(*slots)[FAKE_ID_MAX] = cap == NPH_CAP_ATTACH_VOLUME ? fi->volumes : fi->ports;
    int found = -1, free_slot = -1;
    for (int i = 0; i < FAKE_MAX_ATTACHMENTS; i++) {
        if (strcmp(slots[i], id) == 0)
            found = i;
        else if (!slots[i][0] && free_slot < 0)
            free_slot = i;
    }
    if (attach && found >= 0)
        st = fd->svc->error(err, NPH_ERR_CONFLICT, "%s %s is already attached to instance %s",
                            what, id, fi->uuid);
    else if (attach && free_slot < 0)
        st = fd->svc->error(err, NPH_ERR_CONFLICT, "instance %s has %d %ss attached already",
                            fi->uuid, FAKE_MAX_ATTACHMENTS, what);
    else if (attach)
        snprintf(slots[free_slot], FAKE_ID_MAX, "%s", id);
    else if (found < 0)
        st = fd->svc->error(err, NPH_ERR_NOT_FOUND, "%s %s is not attached to instance %s", what,
                            id, fi->uuid);
    else
        slots[found][0] = '\0';
    return leave(fd, st, &pending);
}

static nph_status fake_attach_volume(void *drv, const struct nph_instance *inst,
                                     const struct nph_volume *vol, nph_error *err)
{
    return attachment(drv, FAKE_OP_ATTACH_VOLUME, NPH_CAP_ATTACH_VOLUME, inst,
                      vol ? vol->volume_id : NULL, true, "volume", err);
}

static nph_status fake_detach_volume(void *drv, const struct nph_instance *inst,
                                     const struct nph_volume *vol, nph_error *err)
{
    return attachment(drv, FAKE_OP_DETACH_VOLUME, NPH_CAP_ATTACH_VOLUME, inst,
                      vol ? vol->volume_id : NULL, false, "volume", err);
}

static nph_status fake_attach_interface(void *drv, const struct nph_instance *inst,
                                        const struct nph_vif *vif, nph_error *err)
{
    return attachment(drv, FAKE_OP_ATTACH_INTERFACE, NPH_CAP_ATTACH_INTERFACE, inst,
                      vif ? vif->port_id : NULL, true, "port", err);
}

static nph_status fake_detach_interface(void *drv, const struct nph_instance *inst,
                                        const struct nph_vif *vif, nph_error *err)
{
    return attachment(drv, FAKE_OP_DETACH_INTERFACE, NPH_CAP_ATTACH_INTERFACE, inst,
                      vif ? vif->port_id : NULL, false, "port", err);
}

static nph_status fake_set_admin_password(void *drv, const struct nph_instance *inst,
                                          const char *password, nph_error *err)
{
    struct fake_driver *fd = drv;
    struct fake_instance *fi;
    nph_status st = need_capability(fd, NPH_CAP_SET_PASSWORD, err);
    if (st != NPH_OK || (st = enter(fd, FAKE_OP_SET_PASSWORD, inst, &fi, err)) != NPH_OK)
        return st;
    struct pending_event pending = { 0 };
    if (fi->state != NPH_POWER_RUNNING)
        st = conflict(fd, fi, "set the password of", err);
    else
        console_log(fi, "[fake] admin password changed");
    return leave(fd, st, &pending);
}

/* ------------------------------------------------------------------------ */
/* Information.                                                             */

static nph_status fake_get_info(void *drv, const struct nph_instance *inst,
                                struct nph_instance_info *out, nph_error *err)
{
    struct fake_driver *fd = drv;
    struct fake_instance *fi;
    nph_status st = enter(fd, FAKE_OP_GET_INFO, inst, &fi, err);
    if (st != NPH_OK)
        return st;
    out->state = fi->state;
    out->max_mem_kb = fi->flavor.memory_mb * 1024;
    out->mem_kb = fi->state == NPH_POWER_SHUTDOWN ? 0 : out->max_mem_kb;
    out->num_cpu = fi->flavor.vcpus;
    out->cpu_time_ns = fi->cpu_ns + (fi->running_since_ns ? nph_clock_monotonic_ns() - fi->running_since_ns : 0);
    pthread_mutex_unlock(&fd->lock);
    return NPH_OK;
}

static nph_status fake_list_instances(void *drv, const char *node, nph_instance_cb cb,
                                      void *opaque, nph_error *err)
{
    struct fake_driver *fd = drv;
    long want = node ? fake_node_index(fd, node) : -1;
    if (node && want < 0)
        return fd->svc->error(err, NPH_ERR_NOT_FOUND, "driver '%s' has no node '%s'",
                              fd->svc->instance_name(fd->host), node);
    /* Copy the UUIDs first: the callback must not run under our lock. */
    pthread_mutex_lock(&fd->lock);
    size_t n = 0;
    char(*uuids)[40] = malloc((fd->instances.count + 1) * sizeof(*uuids));
    for (size_t b = 0; uuids && b < fd->instances.n_buckets; b++)
        for (struct fake_instance *fi = fd->instances.buckets[b]; fi; fi = fi->next)
            if (want < 0 || fi->node == (uint32_t)want)
                memcpy(uuids[n++], fi->uuid, sizeof(fi->uuid));
    pthread_mutex_unlock(&fd->lock);
    if (!uuids)
        return fd->svc->error(err, NPH_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++)
        cb(opaque, uuids[i]);
    free(uuids);
    return NPH_OK;
}

static nph_status fake_get_console_output(void *drv, const struct nph_instance *inst,
                                          nph_buffer *out, nph_error *err)
{
    struct fake_driver *fd = drv;
    pthread_mutex_lock(&fd->lock);
    struct fake_instance *fi = fake_table_find(&fd->instances, inst->uuid);
    nph_status st = NPH_OK;
    if (!fi)
        st = fd->svc->error(err, NPH_ERR_NOT_FOUND, "instance %s is not on driver '%s'",
                            inst->uuid, fd->svc->instance_name(fd->host));
    else if (fi->console.len)
        st = fd->svc->buffer_append(out, fi->console.data, fi->console.len);
    pthread_mutex_unlock(&fd->lock);
    return st;
}

static nph_status fake_get_console(void *drv, const struct nph_instance *inst,
                                   nph_console_type type, struct nph_console *out, nph_error *err)
{
    static const uint32_t caps[] = { NPH_CAP_CONSOLE_VNC, NPH_CAP_CONSOLE_SPICE,
                                     NPH_CAP_CONSOLE_SERIAL, NPH_CAP_CONSOLE_MKS };
    static const char *const keys[] = { "console_vnc", "console_spice", "console_serial",
                                        "console_mks" };
    struct fake_driver *fd = drv;
    if ((unsigned)type >= sizeof(caps) / sizeof(caps[0]))
        return fd->svc->error(err, NPH_ERR_INVALID, "unknown console type %d", (int)type);
    nph_status st = need_capability(fd, caps[type], err);
    if (st != NPH_OK)
        return st;
    if (!fd->consoles[type].port)
        return fd->svc->error(err, NPH_ERR_NOT_SUPPORTED, "driver '%s' has no %s endpoint "
                              "configured", fd->svc->instance_name(fd->host), keys[type]);
    pthread_mutex_lock(&fd->lock);
    bool found = fake_table_find(&fd->instances, inst->uuid) != NULL;
    pthread_mutex_unlock(&fd->lock);
    if (!found)
        return fd->svc->error(err, NPH_ERR_NOT_FOUND, "instance %s is not on driver '%s'",
                              inst->uuid, fd->svc->instance_name(fd->host));
    snprintf(out->host, sizeof(out->host), "%s", fd->consoles[type].host);
    out->port = fd->consoles[type].port;
    out->tls_port = 0;
    out->internal_access_path[0] = '\0';
    return NPH_OK;
}

/* ------------------------------------------------------------------------ */

static const struct nph_driver_ops fake_ops = {
    .init_host = fake_init_host,
    .cleanup = fake_cleanup,
    .list_nodes = fake_list_nodes,
    .node_resources = fake_node_resources,
    .capabilities = fake_capabilities,
    .spawn = fake_spawn,
    .destroy = fake_destroy,
    .reboot = fake_reboot,
    .power_off = fake_power_off,
    .power_on = fake_power_on,
    .pause = fake_pause,
    .unpause = fake_unpause,
    .suspend = fake_suspend,
    .resume = fake_resume,
    .rescue = fake_rescue,
    .unrescue = fake_unrescue,
    .rebuild = fake_rebuild,
    .snapshot = fake_snapshot,
    .migrate_disk_and_power_off = fake_migrate_disk_and_power_off,
    .finish_migration = fake_finish_migration,
    .confirm_migration = fake_confirm_migration,
    .finish_revert_migration = fake_finish_revert_migration,
    .pre_live_migration = fake_pre_live_migration,
    .live_migration = fake_live_migration,
    .post_live_migration_at_destination = fake_post_live_migration_at_destination,
    .attach_volume = fake_attach_volume,
    .detach_volume = fake_detach_volume,
    .attach_interface = fake_attach_interface,
    .detach_interface = fake_detach_interface,
    .set_admin_password = fake_set_admin_password,
    .get_info = fake_get_info,
    .list_instances = fake_list_instances,
    .get_console_output = fake_get_console_output,
    .get_console = fake_get_console,
};

static const struct nph_driver_option fake_options[] = {
    { "node_count", NPH_OPT_INT, "1", 1, 10000, "number of nodes this instance exposes" },
    { "node_name_prefix", NPH_OPT_STRING, "", 0, 0,
      "nodes are named PREFIX-1..PREFIX-N; empty means the driver instance name" },
    { "vcpus", NPH_OPT_INT, "16", 0, 1048576, "vCPUs per node" },
    { "memory_mb", NPH_OPT_INT, "65536", 0, 1099511627776.0, "RAM per node in MiB" },
    { "disk_gb", NPH_OPT_INT, "1024", 0, 1099511627776.0, "local disk per node in GiB" },
    { "hypervisor_type", NPH_OPT_STRING, "fake", 0, 0,
      "hypervisor type to report: QEMU, VMware vCenter Server, hyperv, ironic, ..." },
    { "hypervisor_version", NPH_OPT_INT, "1000", 0, 9.2e18, "hypervisor version, major*1e6+minor*1e3+micro" },
    { "cpu_arch", NPH_OPT_STRING, "x86_64", 0, 0, "CPU architecture of the nodes" },
    { "resource_class", NPH_OPT_STRING, "", 0, 0,
      "custom resource class for baremetal-like nodes, e.g. CUSTOM_BAREMETAL_GOLD" },
    { "image_formats", NPH_OPT_STRING, "aki,ami,ari,iso,qcow2,raw,vdi,vhd,vhdx,vmdk", 0, 0,
      "disk formats this hypervisor boots" },
    { "capabilities", NPH_OPT_STRING,
      "live-migration,snapshot,attach-interface,attach-volume,multiattach,rescue,set-password,"
      "resize,migrate-to-same-host,console-vnc,console-spice,console-serial",
      0, 0, "capabilities to advertise; operations outside them are not supported" },
    { "console_vnc", NPH_OPT_STRING, "", 0, 0,
      "HOST:PORT get_console gives for VNC (a real VNC server in tests); unset: not supported" },
    { "console_spice", NPH_OPT_STRING, "", 0, 0, "HOST:PORT of the SPICE console; unset: not supported" },
    { "console_serial", NPH_OPT_STRING, "", 0, 0,
      "HOST:PORT of the serial console (a TCP socket); unset: not supported" },
    { "console_mks", NPH_OPT_STRING, "", 0, 0, "HOST:PORT of the MKS console; unset: not supported" },
    { "latency_ms", NPH_OPT_STRING, "", 0, 0, "per-operation delay, e.g. spawn:200,reboot:50" },
    { "failure_rate", NPH_OPT_STRING, "", 0, 0,
      "per-operation failure probability 0..1, e.g. spawn:0.1" },
    { "failure_seed", NPH_OPT_INT, "0", 0, 0, "seed for failure injection; 0 picks one" },
    { NULL, 0, NULL, 0, 0, NULL },
};

const struct nph_driver_descriptor nph_fake_descriptor = {
    NPH_DRIVER_ABI_INIT,
    .name = "fake",
    .version = PACKAGE_VERSION,
    .description = "in-memory guests on configurable nodes, for tests and scale",
    .ops = &fake_ops,
    .options = fake_options,
};
