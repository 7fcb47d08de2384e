/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The schema: numbered migrations, each applied in its own transaction by
 * `nephele-manage db sync`.  SQL is shared by the backends; {ID} stands for
 * the engine's auto-increment primary key.  Migrations are only appended.
 * Columns follow Nova's where Nova has them; timestamps are UTC text
 * ('2026-11-23T05:31:48.123456Z'), soft-deleted rows have deleted = id.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "sql-internal.h"

NPH_LOG_INIT("core.schema");

static const char migration_1[] =
    "CREATE TABLE instances ("
    " id {ID}, uuid VARCHAR(36) NOT NULL UNIQUE, display_name VARCHAR(255), hostname VARCHAR(255),"
    " project_id VARCHAR(255), user_id VARCHAR(255), flavor TEXT, image_ref VARCHAR(255),"
    " key_name VARCHAR(255), key_data TEXT, user_data TEXT,"
    " vcpus INTEGER NOT NULL DEFAULT 0, memory_mb INTEGER NOT NULL DEFAULT 0,"
    " root_gb INTEGER NOT NULL DEFAULT 0, ephemeral_gb INTEGER NOT NULL DEFAULT 0,"
    " vm_state VARCHAR(255), task_state VARCHAR(255), power_state INTEGER NOT NULL DEFAULT 0,"
    " host VARCHAR(255), node VARCHAR(255), availability_zone VARCHAR(255), metadata TEXT,"
    " locked INTEGER NOT NULL DEFAULT 0, locked_by VARCHAR(255),"
    " launched_at VARCHAR(32), terminated_at VARCHAR(32), created_at VARCHAR(32),"
    " updated_at VARCHAR(32), deleted_at VARCHAR(32), deleted BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX instances_host_idx ON instances (host, deleted);"
    "CREATE INDEX instances_project_idx ON instances (project_id, deleted);"
    "CREATE TABLE instance_faults ("
    " id {ID}, instance_uuid VARCHAR(36) NOT NULL, code INTEGER NOT NULL, message TEXT,"
    " details TEXT, host VARCHAR(255), created_at VARCHAR(32));"
    "CREATE INDEX instance_faults_uuid_idx ON instance_faults (instance_uuid);"
    "CREATE TABLE instance_actions ("
    " id {ID}, instance_uuid VARCHAR(36) NOT NULL, action VARCHAR(255), request_id VARCHAR(255),"
    " user_id VARCHAR(255), project_id VARCHAR(255), start_time VARCHAR(32),"
    " finish_time VARCHAR(32), message TEXT, created_at VARCHAR(32), updated_at VARCHAR(32));"
    "CREATE INDEX instance_actions_uuid_idx ON instance_actions (instance_uuid, request_id);"
    "CREATE TABLE instance_actions_events ("
    " id {ID}, action_id BIGINT NOT NULL REFERENCES instance_actions (id), event VARCHAR(255),"
    " start_time VARCHAR(32), finish_time VARCHAR(32), result VARCHAR(255), traceback TEXT,"
    " host VARCHAR(255), details TEXT);"
    "CREATE TABLE flavors ("
    " id {ID}, flavorid VARCHAR(255) NOT NULL UNIQUE, name VARCHAR(255) NOT NULL UNIQUE,"
    " vcpus INTEGER NOT NULL, memory_mb INTEGER NOT NULL, root_gb INTEGER NOT NULL DEFAULT 0,"
    " ephemeral_gb INTEGER NOT NULL DEFAULT 0, swap INTEGER NOT NULL DEFAULT 0,"
    " rxtx_factor DOUBLE PRECISION NOT NULL DEFAULT 1.0, is_public INTEGER NOT NULL DEFAULT 1,"
    " disabled INTEGER NOT NULL DEFAULT 0, description TEXT, created_at VARCHAR(32),"
    " updated_at VARCHAR(32));"
    "CREATE TABLE flavor_extra_specs ("
    " id {ID}, flavor_id BIGINT NOT NULL REFERENCES flavors (id) ON DELETE CASCADE,"
    " key VARCHAR(255) NOT NULL, value VARCHAR(255), UNIQUE (flavor_id, key));"
    "CREATE TABLE flavor_projects ("
    " id {ID}, flavor_id BIGINT NOT NULL REFERENCES flavors (id) ON DELETE CASCADE,"
    " project_id VARCHAR(255) NOT NULL, UNIQUE (flavor_id, project_id));"
    "CREATE TABLE key_pairs ("
    " id {ID}, user_id VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL,"
    " fingerprint VARCHAR(255), public_key TEXT, type VARCHAR(16) NOT NULL DEFAULT 'ssh',"
    " created_at VARCHAR(32), deleted BIGINT NOT NULL DEFAULT 0, UNIQUE (user_id, name, deleted));"
    "CREATE TABLE services ("
    " id {ID}, uuid VARCHAR(36), host VARCHAR(255) NOT NULL, \"binary\" VARCHAR(255) NOT NULL,"
    " topic VARCHAR(255), report_count INTEGER NOT NULL DEFAULT 0,"
    " disabled INTEGER NOT NULL DEFAULT 0, disabled_reason VARCHAR(255),"
    " forced_down INTEGER NOT NULL DEFAULT 0, last_seen_up VARCHAR(32), version INTEGER NOT NULL"
    " DEFAULT 1, created_at VARCHAR(32), updated_at VARCHAR(32), deleted BIGINT NOT NULL DEFAULT 0,"
    " UNIQUE (host, \"binary\", deleted));"
    "CREATE TABLE compute_nodes ("
    " id {ID}, uuid VARCHAR(36), host VARCHAR(255) NOT NULL, hypervisor_hostname VARCHAR(255)"
    " NOT NULL, hypervisor_type VARCHAR(255), hypervisor_version BIGINT NOT NULL DEFAULT 0,"
    " vcpus INTEGER NOT NULL DEFAULT 0, vcpus_used INTEGER NOT NULL DEFAULT 0,"
    " memory_mb BIGINT NOT NULL DEFAULT 0, memory_mb_used BIGINT NOT NULL DEFAULT 0,"
    " local_gb BIGINT NOT NULL DEFAULT 0, local_gb_used BIGINT NOT NULL DEFAULT 0,"
    " cpu_info TEXT, cpu_arch VARCHAR(32), resource_class VARCHAR(255), driver VARCHAR(255),"
    " running_vms INTEGER NOT NULL DEFAULT 0, disk_available_least BIGINT,"
    " created_at VARCHAR(32), updated_at VARCHAR(32), deleted BIGINT NOT NULL DEFAULT 0,"
    " UNIQUE (host, hypervisor_hostname, deleted));"
    "CREATE TABLE migrations ("
    " id {ID}, uuid VARCHAR(36), instance_uuid VARCHAR(36) NOT NULL,"
    " source_compute VARCHAR(255), source_node VARCHAR(255), dest_compute VARCHAR(255),"
    " dest_node VARCHAR(255), dest_host VARCHAR(255), status VARCHAR(255),"
    " migration_type VARCHAR(32), old_instance_type_id VARCHAR(255),"
    " new_instance_type_id VARCHAR(255), created_at VARCHAR(32), updated_at VARCHAR(32),"
    " deleted_at VARCHAR(32), deleted BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE aggregates ("
    " id {ID}, uuid VARCHAR(36), name VARCHAR(255) NOT NULL, created_at VARCHAR(32),"
    " updated_at VARCHAR(32), deleted BIGINT NOT NULL DEFAULT 0, UNIQUE (name, deleted));"
    "CREATE TABLE aggregate_hosts ("
    " id {ID}, aggregate_id BIGINT NOT NULL REFERENCES aggregates (id), host VARCHAR(255) NOT NULL,"
    " deleted BIGINT NOT NULL DEFAULT 0, UNIQUE (aggregate_id, host, deleted));"
    "CREATE TABLE aggregate_metadata ("
    " id {ID}, aggregate_id BIGINT NOT NULL REFERENCES aggregates (id), key VARCHAR(255) NOT NULL,"
    " value VARCHAR(255), deleted BIGINT NOT NULL DEFAULT 0, UNIQUE (aggregate_id, key, deleted));"
    "CREATE TABLE instance_groups ("
    " id {ID}, uuid VARCHAR(36) NOT NULL UNIQUE, name VARCHAR(255), user_id VARCHAR(255),"
    " project_id VARCHAR(255), policy VARCHAR(255), rules TEXT, created_at VARCHAR(32),"
    " updated_at VARCHAR(32), deleted BIGINT NOT NULL DEFAULT 0);"
    "CREATE TABLE instance_group_member ("
    " id {ID}, group_id BIGINT NOT NULL REFERENCES instance_groups (id),"
    " instance_uuid VARCHAR(36) NOT NULL, UNIQUE (group_id, instance_uuid));"
    "CREATE TABLE quotas ("
    " id {ID}, project_id VARCHAR(255) NOT NULL, resource VARCHAR(255) NOT NULL,"
    " hard_limit INTEGER, UNIQUE (project_id, resource));"
    "CREATE TABLE quota_usages ("
    " id {ID}, project_id VARCHAR(255) NOT NULL, user_id VARCHAR(255), resource VARCHAR(255)"
    " NOT NULL, in_use INTEGER NOT NULL DEFAULT 0, reserved INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE (project_id, user_id, resource));";

/* 2: what the compute API shows of a server, and the image store. */
static const char migration_2[] =
    "ALTER TABLE instances ADD COLUMN reservation_id VARCHAR(255);"
    "ALTER TABLE instances ADD COLUMN launch_index INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE instances ADD COLUMN description TEXT;"
    "ALTER TABLE instances ADD COLUMN config_drive VARCHAR(255);"
    "ALTER TABLE instances ADD COLUMN access_ip_v4 VARCHAR(64);"
    "ALTER TABLE instances ADD COLUMN access_ip_v6 VARCHAR(64);"
    "CREATE INDEX instances_created_idx ON instances (deleted, created_at);"
    "CREATE TABLE images ("
    " id {ID}, uuid VARCHAR(36) NOT NULL UNIQUE, name VARCHAR(255), disk_format VARCHAR(32),"
    " container_format VARCHAR(32), size BIGINT, checksum VARCHAR(32), os_hash_algo VARCHAR(64),"
    " os_hash_value VARCHAR(128), status VARCHAR(32) NOT NULL, visibility VARCHAR(32) NOT NULL"
    " DEFAULT 'shared', owner VARCHAR(255), min_disk INTEGER NOT NULL DEFAULT 0,"
    " min_ram INTEGER NOT NULL DEFAULT 0, protected INTEGER NOT NULL DEFAULT 0, properties TEXT,"
    " created_at VARCHAR(32), updated_at VARCHAR(32), deleted_at VARCHAR(32),"
    " deleted BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX images_name_idx ON images (name, deleted);";

/* 3: a resize keeps both flavors on its migration record until it is
 * confirmed or reverted. */
static const char migration_3[] =
    "ALTER TABLE migrations ADD COLUMN old_flavor TEXT;"
    "ALTER TABLE migrations ADD COLUMN new_flavor TEXT;"
    "CREATE INDEX migrations_instance_idx ON migrations (instance_uuid, status);";

/* 4: Placement.  Providers, their inventories, traits and aggregates, and
 * the consumers' allocations, keyed as Placement keys them (resource classes
 * and traits by name; the standard names live in the scheduler's tables,
 * these tables hold the CUSTOM_ ones).  inventories.used is the sum of the
 * allocations against the row, kept in the allocation's transaction, so an
 * allocation-candidates query reads capacity and usage from one index. */
static const char migration_4[] =
    "CREATE TABLE resource_providers ("
    " id {ID}, uuid VARCHAR(36) NOT NULL UNIQUE, name VARCHAR(200) NOT NULL UNIQUE,"
    " generation BIGINT NOT NULL DEFAULT 0, parent_provider_uuid VARCHAR(36),"
    " root_provider_uuid VARCHAR(36) NOT NULL, created_at VARCHAR(32), updated_at VARCHAR(32));"
    "CREATE INDEX resource_providers_root_idx ON resource_providers (root_provider_uuid);"
    "CREATE INDEX resource_providers_parent_idx ON resource_providers (parent_provider_uuid);"
    "CREATE TABLE resource_classes ("
    " id {ID}, name VARCHAR(255) NOT NULL UNIQUE, created_at VARCHAR(32));"
    "CREATE TABLE traits ("
    " id {ID}, name VARCHAR(255) NOT NULL UNIQUE, created_at VARCHAR(32));"
    "CREATE TABLE inventories ("
    " id {ID}, provider_id BIGINT NOT NULL REFERENCES resource_providers (id) ON DELETE CASCADE,"
    " resource_class VARCHAR(255) NOT NULL, total BIGINT NOT NULL, reserved BIGINT NOT NULL"
    " DEFAULT 0, min_unit BIGINT NOT NULL DEFAULT 1, max_unit BIGINT NOT NULL,"
    " step_size BIGINT NOT NULL DEFAULT 1, allocation_ratio DOUBLE PRECISION NOT NULL DEFAULT 1.0,"
    " used BIGINT NOT NULL DEFAULT 0, created_at VARCHAR(32), updated_at VARCHAR(32),"
    " UNIQUE (provider_id, resource_class));"
    "CREATE INDEX inventories_class_idx ON inventories (resource_class, provider_id);"
    "CREATE TABLE resource_provider_traits ("
    " provider_id BIGINT NOT NULL REFERENCES resource_providers (id) ON DELETE CASCADE,"
    " trait VARCHAR(255) NOT NULL, PRIMARY KEY (provider_id, trait));"
    "CREATE INDEX resource_provider_traits_trait_idx ON resource_provider_traits (trait);"
    "CREATE TABLE resource_provider_aggregates ("
    " provider_id BIGINT NOT NULL REFERENCES resource_providers (id) ON DELETE CASCADE,"
    " aggregate_uuid VARCHAR(36) NOT NULL, PRIMARY KEY (provider_id, aggregate_uuid));"
    "CREATE INDEX resource_provider_aggregates_agg_idx ON resource_provider_aggregates"
    " (aggregate_uuid);"
    "CREATE TABLE consumers ("
    " id {ID}, uuid VARCHAR(36) NOT NULL UNIQUE, project_id VARCHAR(255) NOT NULL,"
    " user_id VARCHAR(255) NOT NULL, generation BIGINT NOT NULL DEFAULT 0,"
    " created_at VARCHAR(32), updated_at VARCHAR(32));"
    "CREATE INDEX consumers_project_idx ON consumers (project_id, user_id);"
    "CREATE TABLE allocations ("
    " id {ID}, consumer_uuid VARCHAR(36) NOT NULL,"
    " provider_id BIGINT NOT NULL REFERENCES resource_providers (id),"
    " resource_class VARCHAR(255) NOT NULL, used BIGINT NOT NULL, created_at VARCHAR(32),"
    " UNIQUE (consumer_uuid, provider_id, resource_class));"
    "CREATE INDEX allocations_provider_idx ON allocations (provider_id, resource_class);";

/* 5: the reason a server was locked (microversion 2.73). */
static const char migration_5[] = "ALTER TABLE instances ADD COLUMN locked_reason TEXT;";

/* 6: console tokens, as Nova's console_auth_tokens: only the token's hash is
 * kept; expires is seconds since the epoch. */
static const char migration_6[] =
    "CREATE TABLE console_auth_tokens ("
    " id {ID}, token_hash VARCHAR(255) NOT NULL UNIQUE, console_type VARCHAR(255) NOT NULL,"
    " host VARCHAR(255) NOT NULL, port INTEGER NOT NULL, tls_port INTEGER,"
    " internal_access_path VARCHAR(255), access_url_base VARCHAR(255),"
    " instance_uuid VARCHAR(36) NOT NULL, expires BIGINT NOT NULL, created_at VARCHAR(32),"
    " updated_at VARCHAR(32));"
    "CREATE INDEX console_auth_tokens_instance_uuid_idx ON console_auth_tokens (instance_uuid);"
    "CREATE INDEX console_auth_tokens_expires_idx ON console_auth_tokens (expires);";

static const char *const migrations[] = { migration_1, migration_2, migration_3, migration_4,
                                          migration_5, migration_6 };
#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

int nph_db_schema_latest(void)
{
    return N_MIGRATIONS;
}

/* Replace {TOKEN}s with the backend's text. */
static char *dialect_sql(nph_db *db, const char *sql)
{
    nph_buffer out = NPH_BUFFER_INIT;
    const char *p = sql;
    while (*p) {
        const char *open = strchr(p, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (!close) {
            nph_buffer_append(&out, p, strlen(p));
            break;
        }
        nph_buffer_append(&out, p, (size_t)(open - p));
        char token[32];
        snprintf(token, sizeof(token), "%.*s", (int)(close - open - 1), open + 1);
        const char *text = db->backend->dialect(token);
        nph_buffer_appendf(&out, "%s", text ? text : token);
        p = close + 1;
    }
    return nph_buffer_steal(&out);
}

nph_status nph_db_schema_version(nph_db *db, int *version, nph_error *err)
{
    nph_status st = nph_db_exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER "
                                    "NOT NULL)",
                                err);
    nph_db_stmt *stmt;
    if (st == NPH_OK)
        st = nph_db_prepare(db, "SELECT MAX(version) FROM schema_version", &stmt, err);
    if (st != NPH_OK)
        return st;
    bool row = false;
    st = nph_db_step(stmt, &row, err);
    *version = st == NPH_OK && row ? (int)nph_db_col_int(stmt, 0) : 0;
    nph_db_reset(stmt);
    return st;
}

static nph_status apply(nph_db *db, int number, nph_error *err)
{
    nph_status st = nph_db_begin(db, err);
    if (st != NPH_OK)
        return st;
    /* Two syncs at once: the second waits here, then sees the new version. */
    if (db->backend->kind == NPH_DB_POSTGRESQL)
        st = nph_db_exec(db, "SELECT pg_advisory_xact_lock(7468656)", err);
    int version = 0;
    if (st == NPH_OK)
        st = nph_db_schema_version(db, &version, err);
    if (st == NPH_OK && version < number) {
        char *sql = dialect_sql(db, migrations[number - 1]);
        st = sql ? nph_db_exec(db, sql, err) : nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
        free(sql);
        nph_db_stmt *stmt;
        if (st == NPH_OK)
            st = nph_db_prepare(db, "INSERT INTO schema_version (version) VALUES (?)", &stmt, err);
        bool row;
        if (st == NPH_OK) {
            nph_db_bind_int(stmt, 1, number);
            st = nph_db_step(stmt, &row, err);
            nph_db_reset(stmt);
        }
    }
    if (st == NPH_OK)
        st = nph_db_commit(db, err);
    if (st != NPH_OK) {
        nph_db_rollback(db);
        return nph_error_prefix(err, "migration %d: ", number);
    }
    if (version < number)
        nph_info("database schema migrated to version %d", number);
    return NPH_OK;
}

nph_status nph_db_sync(nph_db *db, nph_error *err)
{
    int version = 0;
    nph_status st = nph_db_schema_version(db, &version, err);
    if (st != NPH_OK)
        return st;
    if (version > N_MIGRATIONS)
        return nph_error_set(err, NPH_ERR_CONFLICT,
                             "the database schema is at version %d, newer than this Nephele's %d: "
                             "upgrade Nephele before using this database",
                             version, N_MIGRATIONS);
    for (int n = version + 1; n <= N_MIGRATIONS; n++) {
        st = apply(db, n, err);
        if (st != NPH_OK)
            return st;
    }
    return NPH_OK;
}
