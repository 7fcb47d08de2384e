/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Data access for the control plane: instance records and their faults and
 * actions, services, compute nodes.  Records travel as JSON objects keyed by
 * column name (the flavor and metadata columns as parsed objects), since
 * they cross the bus and reach the API as JSON anyway.  Each call that
 * changes state is one statement or one transaction.
 */
#ifndef NPH_DB_OBJECTS_H
#define NPH_DB_OBJECTS_H

#include "db.h"

/* The current time as the database stores it: 2026-11-23T05:31:48.123456Z. */

/* Create a record from `fields` (uuid required; flavor and metadata may be
 * objects).  A uuid already in use is NPH_ERR_CONFLICT. */
nph_status nph_db_instance_create(nph_db *db, json_object *fields, nph_error *err);
/* A live (not deleted) record; NPH_ERR_NOT_FOUND otherwise.  Caller puts. */
nph_status nph_db_instance_get(nph_db *db, const char *uuid, json_object **out, nph_error *err);
/* Change the columns in `changes` (unknown ones are NPH_ERR_INVALID).  With
 * `expected_task_state` ("none" for no task) the update happens only if the
 * task state still matches, else NPH_ERR_CONFLICT, as Nova's
 * UnexpectedTaskStateError.  *out (may be NULL) receives the new record. */
nph_status nph_db_instance_update(nph_db *db, const char *uuid, json_object *changes,
                                  const char *expected_task_state, json_object **out,
                                  nph_error *err);
/* The rows of a SELECT with a text parameter (NULL: SQL NULL) for each ?,
 * as a JSON array of objects keyed by column name; the JSON columns
 * (flavor, metadata, properties) parsed.  Caller puts. */
nph_status nph_db_select_rows(nph_db *db, const char *sql, const char *const *params,
                              size_t n_params, json_object **out, nph_error *err);
/* Run an INSERT, UPDATE or DELETE with text parameters; *changes (may be
 * NULL) receives the rows it changed.  A unique key violated is
 * NPH_ERR_CONFLICT. */
nph_status nph_db_execute(nph_db *db, const char *sql, const char *const *params,
                          size_t n_params, int64_t *changes, nph_error *err);
/* Records matching `where` (the SQL after WHERE, ORDER BY included), with
 * a text parameter for each ?.  A JSON array; caller puts. */
nph_status nph_db_instance_select(nph_db *db, const char *where, const char *const *params,
                                  size_t n_params, json_object **out, nph_error *err);
/* Live records on `host`, as a JSON array.  Caller puts. */
nph_status nph_db_instance_list_by_host(nph_db *db, const char *host, json_object **out,
                                        nph_error *err);
/* Soft delete: deleted = id, deleted_at = now. */
nph_status nph_db_instance_soft_delete(nph_db *db, const char *uuid, nph_error *err);

nph_status nph_db_instance_fault_create(nph_db *db, const char *uuid, int code,
                                        const char *message, const char *details,
                                        const char *host, nph_error *err);
nph_status nph_db_instance_action_start(nph_db *db, const char *uuid, const char *action,
                                        const char *request_id, const char *user_id,
                                        const char *project_id, int64_t *action_id,
                                        nph_error *err);
/* An event of an action: result NULL records its start, "Success" or
 * "Error" its end (updating the started event when there is one). */
nph_status nph_db_instance_action_event(nph_db *db, int64_t action_id, const char *event,
                                        const char *result, const char *host, nph_error *err);

/* Register a service or record its heartbeat (report_count + 1, last_seen_up). */
nph_status nph_db_service_upsert(nph_db *db, const char *host, const char *binary,
                                 const char *topic, nph_error *err);
nph_status nph_db_service_list(nph_db *db, json_object **out, nph_error *err);
/* Insert or update the node keyed by (host, node["hypervisor_hostname"]). */
nph_status nph_db_compute_node_upsert(nph_db *db, const char *host, json_object *node,
                                      nph_error *err);
nph_status nph_db_compute_node_list(nph_db *db, json_object **out, nph_error *err);

#endif
