/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the server files share: views, lookups, casts. */
#ifndef NPH_API_SERVERS_H
#define NPH_API_SERVERS_H

#include "api-internal.h"
#include "buffer.h"

/* api-server-view.c: the columns a view reads, by name; texts first, then
 * the integers. */
enum api_server_column {
    SR_UUID, SR_NAME, SR_PROJECT, SR_USER, SR_IMAGE, SR_FLAVOR, SR_METADATA, SR_HOST, SR_NODE,
    SR_VM_STATE, SR_TASK_STATE, SR_AZ, SR_KEY_NAME, SR_CREATED, SR_UPDATED, SR_LAUNCHED,
    SR_TERMINATED, SR_IPV4, SR_IPV6, SR_CONFIG_DRIVE, SR_RESERVATION, SR_HOSTNAME, SR_USER_DATA,
    SR_DESCRIPTION,
    SR_ID, SR_POWER_STATE, SR_LAUNCH_INDEX, SR_LOCKED,
    SR_COUNT
};
extern const char *const api_server_columns[SR_COUNT];
/* One instance row: texts (NULL for SQL NULL; flavor and metadata as JSON
 * text) owned by whatever filled it, and the integer columns. */
struct api_server_row {
    const char *text[SR_ID];
    int64_t num[SR_COUNT - SR_ID];
};
/* Fill from a record of nph_db_instance_get(); valid while it lives. */
void api_server_row_from_json(struct api_server_row *row, json_object *inst);
const char *api_server_status(const char *vm_state, const char *task_state);
/* The flavorid in a flavor snapshot's JSON text into out; false if none. */
bool api_flavor_id_of(const char *flavor_text, char *out, size_t len);
/* {"id", "name", "links"} */
void api_server_brief(const struct api_request *req, nph_buffer *out,
                      const struct api_server_row *row);
/* Which answer a view is for: the fields differ by microversion. */
enum api_server_view_kind {
    API_SERVER_DETAIL, /* GET /servers/detail */
    API_SERVER_SHOW,   /* GET /servers/ID: server_groups from 2.71 too */
    API_SERVER_UPDATE, /* PUT /servers/ID: the base view alone until 2.75 */
};
/* The full view; `fault` (may be NULL) is the newest fault of an ERROR
 * server. */
void api_server_view(const struct api_request *req, nph_buffer *out,
                     const struct api_server_row *row, json_object *fault,
                     enum api_server_view_kind kind);

/* api-servers.c */
/* The instance `id` names, if the caller may see it; else a 404 in resp
 * (a non-UUID id too, as Nova does).  Caller puts *inst. */
bool api_server_lookup(struct api_request *req, struct api_response *resp, const char *id,
                       json_object **inst);
/* The newest fault of an instance, or NULL.  Caller puts. */
json_object *api_server_fault(struct api_request *req, const char *uuid);
/* Locked servers refuse all but admins: false with a 409 in resp. */
bool api_server_check_unlocked(struct api_request *req, struct api_response *resp,
                               json_object *inst);
/* Record the start of an action (os-instance-actions). */
void api_server_action_start(struct api_request *req, const char *uuid, const char *action);

#endif
