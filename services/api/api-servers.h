/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the server files share: views, lookups, casts. */
#ifndef NPH_API_SERVERS_H
#define NPH_API_SERVERS_H

#include "api-internal.h"

/* api-server-view.c */
const char *api_server_status(const char *vm_state, const char *task_state);
json_object *api_server_brief(const struct api_request *req, json_object *inst);
/* The full view; `fault` (may be NULL) is the newest fault of an ERROR
 * server; `show` adds what only GET /servers/ID has. */
json_object *api_server_view(const struct api_request *req, json_object *inst,
                             json_object *fault, bool show);

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
