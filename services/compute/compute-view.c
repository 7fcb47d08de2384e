/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An instance record (JSON, as the conductor returns it) seen through the
 * driver contract's structs. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "compute-internal.h"
#include "error.h"
#include "objects.h"

static const char *member_string(json_object *obj, const char *key)
{
    json_object *v;
    if (!obj || !json_object_object_get_ex(obj, key, &v) || !v)
        return NULL;
    return json_object_get_string(v);
}

static int64_t member_int(json_object *obj, const char *key)
{
    json_object *v;
    return obj && json_object_object_get_ex(obj, key, &v) ? json_object_get_int64(v) : 0;
}

static size_t object_size(json_object *obj)
{
    return obj && json_object_is_type(obj, json_type_object) ? (size_t)json_object_object_length(obj)
                                                              : 0;
}

/* Copy an object's string members into kv[]; returns how many. */
static size_t fill_kv(struct nph_kv *kv, json_object *obj)
{
    size_t n = 0;
    if (!obj || !json_object_is_type(obj, json_type_object))
        return 0;
    json_object_object_foreach(obj, key, val) {
        kv[n].key = key;
        kv[n].value = val ? json_object_get_string(val) : "";
        n++;
    }
    return n;
}

static json_object *member_object(json_object *obj, const char *key)
{
    json_object *v;
    if (!obj || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_object))
        return NULL;
    return v;
}

nph_status instance_view_init(struct instance_view *v, json_object *record, json_object *image,
                              nph_error *err)
{
    memset(v, 0, sizeof(*v));
    json_object *flavor = member_object(record, "flavor");
    json_object *specs = member_object(flavor, "extra_specs");
    json_object *props = member_object(image, "properties");
    json_object *metadata = member_object(record, "metadata");
    size_t total = object_size(specs) + object_size(props) + object_size(metadata);
    v->kv = calloc(total + 1, sizeof(*v->kv));
    if (!v->kv)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    v->record = json_object_get(record);
    v->image_json = json_object_get(image);

    v->flavor.id = member_string(flavor, "flavorid") ? member_string(flavor, "flavorid")
                                                      : member_string(flavor, "id");
    v->flavor.name = member_string(flavor, "name");
    v->flavor.vcpus = (uint32_t)member_int(flavor, "vcpus");
    v->flavor.memory_mb = (uint64_t)member_int(flavor, "memory_mb");
    v->flavor.root_gb = (uint64_t)member_int(flavor, "root_gb");
    v->flavor.ephemeral_gb = (uint64_t)member_int(flavor, "ephemeral_gb");
    v->flavor.swap_mb = (uint64_t)member_int(flavor, "swap");
    v->flavor.extra_specs = v->kv;
    v->flavor.n_extra_specs = fill_kv(v->kv, specs);

    struct nph_kv *next = v->kv + v->flavor.n_extra_specs;
    v->image.id = member_string(image, "id") ? member_string(image, "id")
                                              : member_string(record, "image_ref");
    v->image.name = member_string(image, "name");
    const char *format = member_string(image, "disk_format");
    nph_image_format f = 0;
    if (format && nph_image_format_parse(format, &f, err) != NPH_OK) {
        instance_view_free(v);
        return err ? err->code : NPH_ERR_INVALID;
    }
    v->image.disk_format = f;
    v->image.container_format = member_string(image, "container_format");
    v->image.size = (uint64_t)member_int(image, "size");
    v->image.min_disk_gb = (uint64_t)member_int(image, "min_disk");
    v->image.min_ram_mb = (uint64_t)member_int(image, "min_ram");
    v->image.checksum = member_string(image, "checksum");
    v->image.path = member_string(image, "path");
    v->image.properties = next;
    v->image.n_properties = fill_kv(next, props);
    next += v->image.n_properties;

    v->inst.uuid = member_string(record, "uuid");
    v->inst.name = member_string(record, "display_name");
    v->inst.hostname = member_string(record, "hostname");
    v->inst.project_id = member_string(record, "project_id");
    v->inst.user_id = member_string(record, "user_id");
    v->inst.node = member_string(record, "node");
    v->inst.flavor = &v->flavor;
    v->inst.image = &v->image;
    v->inst.metadata = next;
    v->inst.n_metadata = fill_kv(next, metadata);
    v->inst.user_data = member_string(record, "user_data");
    v->inst.key_data = member_string(record, "key_data");
    if (!v->inst.uuid) {
        instance_view_free(v);
        return nph_error_set(err, NPH_ERR_INVALID, "instance record has no uuid");
    }
    return NPH_OK;
}

void instance_view_free(struct instance_view *v)
{
    free(v->kv);
    json_object_put(v->record);
    json_object_put(v->image_json);
    memset(v, 0, sizeof(*v));
}
