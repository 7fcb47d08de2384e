/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Deploying and tearing down, as Nova's ironic driver does: the node is
 * reserved by writing instance_uuid (Ironic answers 409 when another
 * service holds it: the build goes back to the scheduler), instance_info
 * says what to deploy, the node's interfaces are validated, the node is
 * provisioned to "active" and watched until it is, or until "deploy
 * failed", when Ironic's last_error becomes the fault and the node is
 * released for the next build.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "irn-driver.h"

static json_object *patch_op(const char *op, const char *path, json_object *value)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "op", json_object_new_string(op));
    json_object_object_add(o, "path", json_object_new_string(path));
    if (value)
        json_object_object_add(o, "value", value);
    return o;
}

static nph_status patch_node(struct irn_driver *d, const char *uuid, json_object *ops,
                             nph_error *err)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/nodes/%s", uuid);
    nph_status st = irn_request(d->client, "PATCH", path, ops, NULL, err);
    json_object_put(ops);
    return st;
}

static void add_int(json_object *o, const char *key, uint64_t v)
{
    json_object_object_add(o, key, json_object_new_int64((int64_t)v));
}

/* What to deploy, as Nova writes instance_info. */
static json_object *instance_info(const struct nph_instance *inst, const struct nph_image_meta *image)
{
    json_object *info = json_object_new_object();
    if (image && image->id)
        json_object_object_add(info, "image_source", json_object_new_string(image->id));
    if (image && image->checksum)
        json_object_object_add(info, "image_checksum", json_object_new_string(image->checksum));
    if (inst->flavor) {
        add_int(info, "root_gb", inst->flavor->root_gb);
        add_int(info, "swap_mb", inst->flavor->swap_mb);
        add_int(info, "ephemeral_gb", inst->flavor->ephemeral_gb);
        add_int(info, "vcpus", inst->flavor->vcpus);
        add_int(info, "memory_mb", inst->flavor->memory_mb);
    }
    if (inst->name)
        json_object_object_add(info, "display_name", json_object_new_string(inst->name));
    if (inst->project_id)
        json_object_object_add(info, "project_id", json_object_new_string(inst->project_id));
    return info;
}

/* ------------------------------------------------------------------------ */
/* The config drive: Ironic (API 1.56) builds it from JSON.                 */

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' || c == '-' ? 62 : c == '/' || c == '_' ? 63 : -1;
}

/* The user data the API received base64-encoded, decoded; NULL if not base64. */
static char *b64_decode(const char *text)
{
    nph_buffer out = NPH_BUFFER_INIT;
    uint32_t acc = 0;
    int bits = 0;
    for (const char *p = text; *p && *p != '='; p++) {
        if (*p == '\n' || *p == '\r' || *p == ' ')
            continue;
        int v = b64_value(*p);
        if (v < 0) {
            nph_buffer_reset(&out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char byte = (char)((acc >> bits) & 0xff);
            nph_buffer_append(&out, &byte, 1);
        }
    }
    nph_buffer_append(&out, "", 0);
    return nph_buffer_steal(&out);
}

/* {"meta_data": ..., "user_data": ...} when the server has user data or a
 * key; NULL otherwise (no config drive). */
static json_object *config_drive(const struct nph_instance *inst)
{
    if (!inst->user_data && !inst->key_data)
        return NULL;
    json_object *meta = json_object_new_object();
    json_object_object_add(meta, "uuid", json_object_new_string(inst->uuid));
    if (inst->name)
        json_object_object_add(meta, "name", json_object_new_string(inst->name));
    if (inst->hostname)
        json_object_object_add(meta, "hostname", json_object_new_string(inst->hostname));
    if (inst->key_data) {
        json_object *keys = json_object_new_object();
        json_object_object_add(keys, "0", json_object_new_string(inst->key_data));
        json_object_object_add(meta, "public_keys", keys);
    }
    json_object *drive = json_object_new_object();
    json_object_object_add(drive, "meta_data", meta);
    char *user_data = inst->user_data ? b64_decode(inst->user_data) : NULL;
    if (user_data)
        json_object_object_add(drive, "user_data", json_object_new_string(user_data));
    free(user_data);
    return drive;
}

/* ------------------------------------------------------------------------ */
/* Settled states.                                                          */

static bool is(json_object *node, const char *key, const char *value)
{
    const char *s = irn_str(node, key);
    return value ? s && strcmp(s, value) == 0 : s == NULL;
}

static int deployed(json_object *node, const void *arg)
{
    if (is(node, "provision_state", "deploy failed") || is(node, "provision_state", "error"))
        return -1;
    return is(node, "provision_state", "active") && is(node, "target_provision_state", NULL);
}

/* Torn down: cleaning or back in the pool. */
static int released(json_object *node, const void *arg)
{
    static const char *const done[] = { "available", "cleaning", "clean wait", "manageable",
                                         "enroll", "clean failed" };
    if (is(node, "provision_state", "error"))
        return -1;
    for (size_t i = 0; i < sizeof(done) / sizeof(done[0]); i++)
        if (is(node, "provision_state", done[i]))
            return 1;
    return 0;
}

/* Not in the middle of a deploy any more. */
static int not_deploying(json_object *node, const void *arg)
{
    return !is(node, "provision_state", "deploying") && !is(node, "provision_state", "wait call-back");
}

/* ------------------------------------------------------------------------ */
/* Release, spawn, destroy, rebuild.                                        */

/* Undeploy if deployed, then let the node go.  Idempotent. */
static nph_status release(struct irn_driver *d, const char *node_uuid, const char *inst_uuid,
                          nph_error *err)
{
    json_object *node = NULL;
    nph_status st = irn_node_fetch(d, node_uuid, &node, err);
    if (st == NPH_ERR_NOT_FOUND)
        return NPH_OK;
    if (st == NPH_OK && !is(node, "instance_uuid", inst_uuid)) {
        json_object_put(node);
        return NPH_OK; /* not ours (any more) */
    }
    if (st == NPH_OK && !not_deploying(node, NULL)) {
        json_object_put(node);
        st = irn_wait(d, node_uuid, not_deploying, NULL, d->deploy_timeout_s, "finish deploying",
                      &node, err);
    }
    if (st == NPH_OK && !released(node, NULL) && !is(node, "provision_state", "deleting")) {
        st = irn_set_state(d, node_uuid, "provision", "deleted", NULL, err);
        json_object_put(node);
        node = NULL;
        if (st == NPH_OK)
            st = irn_wait(d, node_uuid, released, NULL, d->release_timeout_s, "tear down", &node,
                          err);
    }
    /* Ironic clears instance_uuid on tear down; make sure, as Nova does. */
    if (st == NPH_OK && is(node, "instance_uuid", inst_uuid)) {
        json_object *ops = json_object_new_array();
        json_object_array_add(ops, patch_op("remove", "/instance_uuid", NULL));
        st = patch_node(d, node_uuid, ops, err);
    }
    json_object_put(node);
    if (st == NPH_OK)
        d->svc->log(d->host, NPH_LOG_INFO, "node %s released by instance %s", node_uuid, inst_uuid);
    return st;
}

/* Ironic's validation of the interfaces a deploy needs. */
static nph_status validate(struct irn_driver *d, const char *uuid, nph_error *err)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/nodes/%s/validate", uuid);
    json_object *v = NULL;
    nph_status st = irn_request(d->client, "GET", path, NULL, &v, err);
    static const char *const needed[] = { "power", "deploy", "storage" };
    for (size_t i = 0; st == NPH_OK && i < sizeof(needed) / sizeof(needed[0]); i++) {
        json_object *iface = NULL;
        json_object_object_get_ex(v, needed[i], &iface);
        if (iface && !irn_bool(iface, "result")) {
            const char *why = irn_str(iface, "reason");
            st = d->svc->error(err, NPH_ERR_BACKEND,
                               "Ironic node %s cannot be deployed: its %s interface is not valid: %s",
                               uuid, needed[i], why ? why : "no reason given");
        }
    }
    json_object_put(v);
    return st;
}

/* Watch the deploy (or rebuild) through to "active", powered on: a real
 * deploy ends with the node on; the fake one leaves it as it was. */
static nph_status wait_deployed(struct irn_driver *d, const struct nph_instance *inst,
                                const char *what, nph_error *err)
{
    json_object *node = NULL;
    nph_status st = irn_wait(d, inst->node, deployed, NULL, d->deploy_timeout_s, what, &node, err);
    bool off = st == NPH_OK && !is(node, "power_state", "power on");
    if (st == NPH_OK && !off)
        irn_settled_keep(d, inst->node, node);
    json_object_put(node);
    return off ? irn_power_on(d, inst, err) : st;
}

/* Reserve the node for the instance and say what to deploy, in one PATCH. */
static nph_status reserve(struct irn_driver *d, const struct nph_instance *inst, nph_error *err)
{
    json_object *ops = json_object_new_array();
    json_object_array_add(ops, patch_op("add", "/instance_uuid", json_object_new_string(inst->uuid)));
    json_object_array_add(ops, patch_op("add", "/instance_info", instance_info(inst, inst->image)));
    nph_error why = NPH_ERROR_INIT;
    nph_status st = patch_node(d, inst->node, ops, &why);
    if (st == NPH_ERR_CONFLICT)
        return d->svc->error(err, NPH_ERR_CONFLICT,
                             "Ironic node %s was taken by someone else before instance %s could "
                             "reserve it (%s); the build goes to another node",
                             inst->node, inst->uuid, why.message);
    if (st != NPH_OK)
        return d->svc->error(err, st, "%s", why.message);
    return NPH_OK;
}

static nph_status deploy(struct irn_driver *d, const struct nph_instance *inst, nph_error *err)
{
    nph_status st = validate(d, inst->node, err);
    json_object *extra = json_object_new_object(), *drive = config_drive(inst);
    if (drive)
        json_object_object_add(extra, "configdrive", drive);
    if (st == NPH_OK)
        st = irn_set_state(d, inst->node, "provision", "active", extra, err);
    json_object_put(extra);
    return st == NPH_OK ? wait_deployed(d, inst, "deploy", err) : st;
}

nph_status irn_spawn(void *drv, const struct nph_instance *inst, const struct nph_spawn_args *args,
                     nph_error *err)
{
    struct irn_driver *d = drv;
    if (!inst->node)
        return d->svc->error(err, NPH_ERR_INVALID, "instance %s names no Ironic node", inst->uuid);
    nph_status st = reserve(d, inst, err);
    if (st != NPH_OK)
        return st;
    st = deploy(d, inst, err);
    if (st == NPH_OK) {
        d->svc->log(d->host, NPH_LOG_INFO, "instance %s deployed on Ironic node %s", inst->uuid,
                    inst->node);
        return NPH_OK;
    }
    /* Leave nothing behind: the node goes back to the pool. */
    nph_error ignored = { 0 };
    if (release(d, inst->node, inst->uuid, &ignored) != NPH_OK)
        d->svc->log(d->host, NPH_LOG_WARNING, "node %s not released after the failed deploy of %s: %s",
                    inst->node, inst->uuid, ignored.message);
    return st;
}

nph_status irn_destroy(void *drv, const struct nph_instance *inst, bool destroy_disks,
                       nph_error *err)
{
    struct irn_driver *d = drv;
    if (!inst->node)
        return NPH_OK;
    irn_settled_take(d, inst->node, inst->uuid, NULL, 0); /* it is the instance's no more */
    return release(d, inst->node, inst->uuid, err);
}

nph_status irn_rebuild(void *drv, const struct nph_instance *inst,
                       const struct nph_image_meta *image, nph_error *err)
{
    struct irn_driver *d = drv;
    json_object *ops = json_object_new_array();
    json_object_array_add(ops, patch_op("add", "/instance_info", instance_info(inst, image)));
    nph_status st = patch_node(d, inst->node, ops, err);
    if (st == NPH_OK)
        st = irn_set_state(d, inst->node, "provision", "rebuild", NULL, err);
    return st == NPH_OK ? wait_deployed(d, inst, "rebuild", err) : st;
}
