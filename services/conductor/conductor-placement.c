/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where an instance may go besides "has room": its availability zone (a
 * host's zone is the one its aggregates name, else the default zone) and
 * its server group's policy (affinity: with the members already placed;
 * anti-affinity: at most max_server_per_host of them per host).  The soft
 * policies are preferences: conductor-select drops them when no host
 * passes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conductor-internal.h"
#include "db-objects.h"
#include "error.h"
#include "json.h"

static json_object *field(json_object *obj, const char *key)
{
    json_object *v = NULL;
    json_object_object_get_ex(obj, key, &v);
    return v;
}

static const char *text_of(json_object *row, const char *key)
{
    return json_object_get_string(field(row, key));
}

nph_status conductor_rules_load(nph_conductor *c, nph_db *db, const char *uuid,
                                struct placement_rules *rules, nph_error *err)
{
    memset(rules, 0, sizeof(*rules));
    const char *params[] = { uuid };
    nph_auto_json *inst = NULL, *group = NULL;
    nph_status st = nph_db_select_rows(db, "SELECT availability_zone FROM instances WHERE uuid = ?",
                                       params, 1, &inst, err);
    if (st != NPH_OK)
        return st;
    const char *az = text_of(json_object_array_get_idx(inst, 0), "availability_zone");
    rules->zone = strdup(az && *az ? az : c->default_az);
    st = nph_db_select_rows(db,
                            "SELECT a.host, m.value FROM aggregate_hosts a JOIN aggregate_metadata m "
                            "ON m.aggregate_id = a.aggregate_id AND m.key = 'availability_zone' AND "
                            "m.deleted = 0 WHERE a.deleted = 0",
                            NULL, 0, &rules->host_zones, err);
    if (st == NPH_OK)
        st = nph_db_select_rows(db,
                                "SELECT g.id, g.policy, g.rules FROM instance_group_member m JOIN "
                                "instance_groups g ON g.id = m.group_id AND g.deleted = 0 WHERE "
                                "m.instance_uuid = ?",
                                params, 1, &group, err);
    json_object *g = json_object_array_get_idx(group, 0);
    if (st != NPH_OK || !g)
        return st;
    rules->policy = strdup(text_of(g, "policy"));
    rules->max_per_host = 1;
    const char *rules_text = text_of(g, "rules");
    nph_auto_json *parsed = rules_text ? nph_json_parse(rules_text, strlen(rules_text), NULL) : NULL;
    if (field(parsed, "max_server_per_host"))
        rules->max_per_host = json_object_get_int64(field(parsed, "max_server_per_host"));
    char group_id[24];
    snprintf(group_id, sizeof(group_id), "%lld", (long long)json_object_get_int64(field(g, "id")));
    const char *member_params[] = { group_id, uuid };
    return nph_db_select_rows(db,
                              "SELECT i.host FROM instance_group_member m JOIN instances i ON i.uuid "
                              "= m.instance_uuid AND i.deleted = 0 WHERE m.group_id = ? AND "
                              "i.uuid <> ? AND i.host IS NOT NULL",
                              member_params, 2, &rules->member_hosts, err);
}

void conductor_rules_clear(struct placement_rules *rules)
{
    free(rules->zone);
    free(rules->policy);
    json_object_put(rules->host_zones);
    json_object_put(rules->member_hosts);
    memset(rules, 0, sizeof(*rules));
}

static bool zone_allows(const nph_conductor *c, const struct placement_rules *rules, const char *host)
{
    const char *zone = NULL;
    for (size_t i = 0; i < json_object_array_length(rules->host_zones) && !zone; i++) {
        json_object *row = json_object_array_get_idx(rules->host_zones, i);
        if (strcmp(text_of(row, "host"), host) == 0)
            zone = text_of(row, "value");
    }
    return strcmp(zone ? zone : c->default_az, rules->zone) == 0;
}

bool conductor_rules_allow(const nph_conductor *c, const struct placement_rules *rules,
                           const char *host, bool with_soft)
{
    if (!zone_allows(c, rules, host) || (rules->avoid_host && strcmp(rules->avoid_host, host) == 0))
        return false;
    if (!rules->policy)
        return true;
    bool soft = strncmp(rules->policy, "soft-", 5) == 0;
    if (soft && !with_soft)
        return true;
    size_t placed = json_object_array_length(rules->member_hosts), here = 0;
    for (size_t i = 0; i < placed; i++)
        here += strcmp(text_of(json_object_array_get_idx(rules->member_hosts, i), "host"), host) == 0;
    const char *policy = soft ? rules->policy + 5 : rules->policy;
    if (strcmp(policy, "affinity") == 0)
        return placed == 0 || here > 0;
    return (int64_t)here < (soft ? 1 : rules->max_per_host);
}
