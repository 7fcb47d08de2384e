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
    SR_DESCRIPTION, SR_LOCKED_REASON,
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
/* Which answer a view is for: Nova's differ a little. */
enum api_server_view_kind {
    API_VIEW_DETAIL, /* GET /servers/detail */
    API_VIEW_SHOW,   /* GET /servers/ID (2.71: server_groups) */
    API_VIEW_UPDATE, /* PUT /servers/ID: the basic fields until 2.75 */
    API_VIEW_REBUILD, /* the same, and user_data from 2.57 */
};
/* The view of one server; `fault` (may be NULL) is the newest fault of an
 * ERROR server. */
void api_server_view(const struct api_request *req, nph_buffer *out,
                     const struct api_server_row *row, json_object *fault,
                     enum api_server_view_kind kind);

/* api-consoles.c: the os-get*Console actions; false when `action` is none
 * of them. */
bool api_server_get_console(struct api_request *req, struct api_response *resp, json_object *inst,
                            const char *action, json_object *arg);

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
/* A random admin password, as Nova makes one (no look-alike characters). */
void api_random_password(char out[13]);
/* {"server": full view}, with adminPass when given (rebuild). */
void api_server_reply(struct api_request *req, struct api_response *resp, json_object *inst,
                      enum api_server_view_kind kind, unsigned status, const char *admin_pass);

/* api-server-rebuild.c: the rebuild and createImage actions. */
/* An image record as the conductor, scheduler and compute host read it: id,
 * formats, checksum, size, properties and the path of its file.  Caller puts. */
json_object *api_image_for_compute(const struct api_request *req, json_object *img);
void api_server_rebuild(struct api_request *req, struct api_response *resp, json_object *inst,
                        json_object *arg);
void api_server_create_image(struct api_request *req, struct api_response *resp, json_object *inst,
                             json_object *arg);

/* The flavor as an instance keeps it (with its extra specs): a snapshot,
 * so later flavor edits do not change running servers.  Caller puts. */
json_object *api_flavor_snapshot(json_object *flavor);

/* api-server-resize.c: resize, confirmResize, revertResize. */
void api_server_resize(struct api_request *req, struct api_response *resp, json_object *inst,
                       json_object *arg);
void api_server_confirm_resize(struct api_request *req, struct api_response *resp,
                               json_object *inst);
void api_server_revert_resize(struct api_request *req, struct api_response *resp,
                              json_object *inst);

/* vm_state one of `vm_states` (NULL-terminated) and no task under way;
 * false with Nova's 409 naming the state that stops `action`. */
bool api_server_state_allows(struct api_response *resp, json_object *inst, const char *action,
                             const char *const *vm_states);
/* Record the start of an action (os-instance-actions). */
void api_server_action_start(struct api_request *req, const char *uuid, const char *action);

#endif
