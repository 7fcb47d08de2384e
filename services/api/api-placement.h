/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Inside the Placement API: the helpers its resource files share.  Paths
 * are below /placement; the microversion is 1.resp->placement.minor. */
#ifndef NPH_API_PLACEMENT_H
#define NPH_API_PLACEMENT_H

#include "api-internal.h"
#include "placement.h"

/* Placement microversions 1.0 to 1.PL_MAX_MINOR. */
#define PL_MAX_MINOR 36

/* Is the request at 1.`minor` or later? */
static inline bool pl_at(const struct api_response *resp, int minor)
{
    return resp->placement.minor >= minor;
}

/* An error with Placement's code (NULL: placement.undefined_code). */
void pl_fail(struct api_response *resp, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A library error as the status its code means, with its Placement code;
 * `context` (may be NULL) goes before the message, as Placement words it. */
void pl_fail_from(struct api_response *resp, const placement_error *err, const char *context);
/* 200 or 201 with `body` (owned); 204 without one. */
void pl_reply(struct api_response *resp, unsigned status, json_object *body);
/* Location: <base>/placement/<path> */
void pl_location(const struct api_request *req, struct api_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The JSON object body of a PUT or POST: application/json, an object;
 * false with a 400 or 415 otherwise. */
bool pl_body(struct api_request *req, struct api_response *resp);
/* "JSON does not validate: ..." */
void pl_invalid(struct api_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* obj[key] must be absent or among `allowed` (NULL-terminated). */
bool pl_only_members(struct api_response *resp, json_object *obj, const char *const *allowed);
/* A required member `key` of type `type`; false with a 400. */
bool pl_member(struct api_response *resp, json_object *obj, const char *key, json_type type,
               json_object **out);
/* An integer member within [min, max]: required, or left as is when absent. */
bool pl_int_member(struct api_response *resp, json_object *obj, const char *key, bool required,
                   int64_t min, int64_t max, int64_t *out);
/* A provider generation the body must name. */
bool pl_generation(struct api_response *resp, json_object *body, int64_t *out);
/* A string that is a UUID, as JSON Schema's format check says it. */
bool pl_uuid_value(struct api_response *resp, json_object *value);

/* Query parameters: only `allowed` (NULL-terminated) may appear. */
bool pl_query_allowed(struct api_request *req, struct api_response *resp,
                      const char *const *allowed);
/* Call `each` for every value of the repeated parameter `key`; stops at
 * the first false. */
bool pl_query_each(struct api_request *req, const char *key,
                   bool (*each)(void *opaque, const char *value), void *opaque);

/* api-placement-providers.c */
json_object *pl_provider_view(const struct api_request *req, const struct api_response *resp,
                              json_object *provider);
void pl_providers_list(struct api_request *req, struct api_response *resp);
void pl_provider_create(struct api_request *req, struct api_response *resp);
void pl_provider_show(struct api_request *req, struct api_response *resp);
void pl_provider_update(struct api_request *req, struct api_response *resp);
void pl_provider_delete(struct api_request *req, struct api_response *resp);
void pl_aggregates_get(struct api_request *req, struct api_response *resp);
void pl_aggregates_put(struct api_request *req, struct api_response *resp);
void pl_provider_traits_get(struct api_request *req, struct api_response *resp);
void pl_provider_traits_put(struct api_request *req, struct api_response *resp);
void pl_provider_traits_delete(struct api_request *req, struct api_response *resp);
/* Fill q from the filters both lists take; false with a 400. */
bool pl_query_filters(struct api_request *req, struct api_response *resp,
                      struct placement_query *q, bool candidates);

/* api-placement-inventories.c */
void pl_inventories_get(struct api_request *req, struct api_response *resp);
void pl_inventories_put(struct api_request *req, struct api_response *resp);
void pl_inventories_post(struct api_request *req, struct api_response *resp);
void pl_inventories_delete(struct api_request *req, struct api_response *resp);
void pl_inventory_get(struct api_request *req, struct api_response *resp);
void pl_inventory_put(struct api_request *req, struct api_response *resp);
void pl_inventory_delete(struct api_request *req, struct api_response *resp);
void pl_provider_usages(struct api_request *req, struct api_response *resp);
void pl_usages(struct api_request *req, struct api_response *resp);

/* api-placement-names.c */
void pl_classes_list(struct api_request *req, struct api_response *resp);
void pl_class_create(struct api_request *req, struct api_response *resp);
void pl_class_show(struct api_request *req, struct api_response *resp);
void pl_class_put(struct api_request *req, struct api_response *resp);
void pl_class_delete(struct api_request *req, struct api_response *resp);
void pl_traits_list(struct api_request *req, struct api_response *resp);
void pl_trait_show(struct api_request *req, struct api_response *resp);
void pl_trait_put(struct api_request *req, struct api_response *resp);
void pl_trait_delete(struct api_request *req, struct api_response *resp);

/* api-placement-allocations.c */
void pl_allocations_get(struct api_request *req, struct api_response *resp);
void pl_allocations_put(struct api_request *req, struct api_response *resp);
void pl_allocations_post(struct api_request *req, struct api_response *resp);
void pl_allocations_delete(struct api_request *req, struct api_response *resp);
void pl_provider_allocations(struct api_request *req, struct api_response *resp);
void pl_candidates(struct api_request *req, struct api_response *resp);

#endif
