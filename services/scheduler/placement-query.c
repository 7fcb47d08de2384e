/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Filters on providers, as GET /resource_providers and GET
 * /allocation_candidates take them: parsed from Placement's query forms
 * (with its messages for bad ones), and turned into one SQL statement.
 * Each requested resource class is a join on inventories by the unique
 * (provider_id, resource_class) key whose row must have room, so the
 * whole filter is one set-based query whatever the number of providers.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement-internal.h"

/* The next comma-separated item of *p into out; false at the end. */
static bool next_item(const char **p, char *out, size_t len, bool *too_long)
{
    if (!**p)
        return false;
    const char *end = strchr(*p, ',');
    size_t n = end ? (size_t)(end - *p) : strlen(*p);
    while (n > 0 && isspace((unsigned char)**p))
        (*p)++, n--;
    size_t keep = n;
    while (keep > 0 && isspace((unsigned char)(*p)[keep - 1]))
        keep--;
    *too_long = keep >= len;
    snprintf(out, len, "%.*s", (int)(keep < len ? keep : len - 1), *p);
    *p += n;
    if (**p == ',')
        (*p)++;
    return true;
}

static nph_status bad_resources(const char *got, placement_error *err)
{
    return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                          "Badly formed resources parameter. Expected resources query string "
                          "parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: %s.",
                          got);
}

static nph_status add_amount(struct placement_query *q, const char *item, placement_error *err)
{
    const char *colon = strchr(item, ':');
    if (!colon || colon == item || strchr(colon + 1, ':'))
        return bad_resources(item, err);
    char name[PLACEMENT_NAME_MAX + 1];
    snprintf(name, sizeof(name), "%.*s", (int)(colon - item), item);
    char *end = NULL;
    long long amount = strtoll(colon + 1, &end, 10);
    if (!colon[1] || *end)
        return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                              "Requested resource %s expected positive integer amount. Got: %s.",
                              name, colon + 1);
    if (amount < 1)
        return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                              "Requested resource %s requires amount >= 1. Got: %lld.", name,
                              amount);
    for (size_t i = 0; i < q->n_resources; i++) {
        if (strcmp(q->resources[i].resource_class, name) == 0) {
            q->resources[i].amount = amount; /* Placement keeps the last one too */
            return NPH_OK;
        }
    }
    if (q->n_resources == PLACEMENT_MAX_RESOURCES)
        return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                              "At most %d resource classes can be requested at once.",
                              PLACEMENT_MAX_RESOURCES);
    struct placement_amount *a = &q->resources[q->n_resources++];
    snprintf(a->resource_class, sizeof(a->resource_class), "%s", name);
    a->amount = amount;
    return NPH_OK;
}

nph_status placement_query_add_resources(struct placement_query *q, const char *text,
                                         placement_error *err)
{
    const char *p = text;
    while (*p && isspace((unsigned char)*p))
        p++;
    if (!*p)
        return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                              "Badly formed resources parameter. Expected resources query "
                              "string parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. "
                              "Got: empty string.");
    char item[PLACEMENT_NAME_MAX + 32];
    bool too_long = false;
    p = text;
    while (next_item(&p, item, sizeof(item), &too_long)) {
        nph_status st = too_long ? bad_resources(item, err) : add_amount(q, item, err);
        if (st != NPH_OK)
            return st;
    }
    return NPH_OK;
}

static nph_status bad_traits(const char *text, bool allow_forbidden, placement_error *err)
{
    return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                          "Invalid query string parameters: Expected 'required' parameter "
                          "value of the form: %s. Got: %s",
                          allow_forbidden ? "HW_CPU_X86_VMX,!CUSTOM_MAGIC"
                                          : "HW_CPU_X86_VMX,CUSTOM_MAGIC",
                          text);
}

static nph_status add_name(char (*list)[PLACEMENT_NAME_MAX + 1], size_t *n, const char *name,
                           placement_error *err)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], name) == 0)
            return NPH_OK;
    if (*n == PLACEMENT_MAX_TRAITS)
        return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                              "At most %d traits can be required or forbidden at once.",
                              PLACEMENT_MAX_TRAITS);
    snprintf(list[(*n)++], PLACEMENT_NAME_MAX + 1, "%s", name);
    return NPH_OK;
}

nph_status placement_query_add_traits(struct placement_query *q, const char *text,
                                      bool allow_forbidden, bool root, placement_error *err)
{
    const char *p = text;
    char item[PLACEMENT_NAME_MAX + 2];
    bool too_long = false, any = false;
    while (next_item(&p, item, sizeof(item), &too_long)) {
        bool forbidden = item[0] == '!';
        const char *name = item + forbidden;
        if (too_long || !*name || (forbidden && !allow_forbidden))
            return bad_traits(text, allow_forbidden, err);
        nph_status st;
        if (root)
            st = forbidden ? add_name(q->root_forbidden, &q->n_root_forbidden, name, err)
                           : add_name(q->root_required, &q->n_root_required, name, err);
        else
            st = forbidden ? add_name(q->forbidden, &q->n_forbidden, name, err)
                           : add_name(q->required, &q->n_required, name, err);
        if (st != NPH_OK)
            return st;
        any = true;
    }
    return any ? NPH_OK : bad_traits(text, allow_forbidden, err);
}

nph_status placement_query_add_member_of(struct placement_query *q, const char *text,
                                         bool allow_forbidden, placement_error *err)
{
    bool forbidden = allow_forbidden && text[0] == '!';
    const char *value = text + forbidden;
    bool in = strncmp(value, "in:", 3) == 0;
    if (strchr(value, ',') && !in)
        return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                              "Multiple values for 'member_of' must be prefixed with the 'in:' "
                              "keyword. Got: %s",
                              text);
    const char *p = value + (in ? 3 : 0);
    char item[64];
    bool too_long = false;
    int group = forbidden ? -1 : q->n_groups++;
    do {
        if (!next_item(&p, item, sizeof(item), &too_long))
            item[0] = '\0';
        if (too_long || !nph_uuid_is_valid(item))
            return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                                  "Invalid query string parameters: Expected 'member_of' "
                                  "parameter to contain valid UUID(s). Got: %s",
                                  item);
        if (q->n_aggregates == PLACEMENT_MAX_AGGREGATES)
            return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                                  "At most %d aggregates can be named at once.",
                                  PLACEMENT_MAX_AGGREGATES);
        struct placement_aggregate *a = &q->aggregates[q->n_aggregates++];
        snprintf(a->uuid, sizeof(a->uuid), "%s", item);
        a->group = group;
    } while (*p);
    return NPH_OK;
}

/* The first of `names` that is not a trait, or NULL. */
static nph_status unknown_trait(nph_db *db, const char (*names)[PLACEMENT_NAME_MAX + 1], size_t n,
                                const char **missing, placement_error *err)
{
    for (size_t i = 0; i < n; i++) {
        bool exists = false;
        nph_status st = placement_trait_exists(db, names[i], &exists, err);
        if (st != NPH_OK)
            return st;
        if (!exists) {
            *missing = names[i];
            return NPH_OK;
        }
    }
    return NPH_OK;
}

nph_status placement_query_check(nph_db *db, const struct placement_query *q,
                                 placement_error *err)
{
    for (size_t i = 0; i < q->n_resources; i++) {
        bool exists = false;
        nph_status st = placement_class_exists(db, q->resources[i].resource_class, &exists, err);
        if (st != NPH_OK)
            return st;
        if (!exists)
            return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                                  "No such resource class %s.", q->resources[i].resource_class);
    }
    const char *missing = NULL;
    nph_status st = unknown_trait(db, q->required, q->n_required, &missing, err);
    if (st == NPH_OK && !missing)
        st = unknown_trait(db, q->forbidden, q->n_forbidden, &missing, err);
    if (st == NPH_OK && !missing)
        st = unknown_trait(db, q->root_required, q->n_root_required, &missing, err);
    if (st == NPH_OK && !missing)
        st = unknown_trait(db, q->root_forbidden, q->n_root_forbidden, &missing, err);
    if (st == NPH_OK && missing)
        return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                              "No such trait(s): %s.", missing);
    return st;
}

/* ---- the SQL -------------------------------------------------------------- */

/* Inventory row r<i> has room for `amount`: capacity, min, max and step. */
static void fit_terms(struct pl_sql *s, size_t i, int64_t amount)
{
    pl_sql_add(s, " AND r%zu.used + ", i);
    pl_sql_int(s, amount);
    pl_sql_add(s, " <= (r%zu.total - r%zu.reserved) * r%zu.allocation_ratio AND r%zu.min_unit <= ",
               i, i, i, i);
    pl_sql_int(s, amount);
    pl_sql_add(s, " AND r%zu.max_unit >= ", i);
    pl_sql_int(s, amount);
    pl_sql_add(s, " AND ");
    pl_sql_int(s, amount);
    pl_sql_add(s, " %% r%zu.step_size = 0", i);
}

static void trait_terms(struct pl_sql *s, const char (*names)[PLACEMENT_NAME_MAX + 1], size_t n,
                        bool negate, bool root)
{
    for (size_t i = 0; i < n; i++) {
        pl_sql_add(s, " AND %sEXISTS (SELECT 1 FROM ", negate ? "NOT " : "");
        if (root)
            pl_sql_add(s, "resource_providers rr JOIN resource_provider_traits t ON t.provider_id"
                          " = rr.id WHERE rr.uuid = rp.root_provider_uuid AND t.trait = ");
        else
            pl_sql_add(s, "resource_provider_traits t WHERE t.provider_id = rp.id AND t.trait = ");
        pl_sql_text(s, names[i]);
        pl_sql_add(s, ")");
    }
}

/* One EXISTS per member_of group (the provider is in one of its
 * aggregates), and one NOT EXISTS for the forbidden ones. */
static void aggregate_terms(struct pl_sql *s, const struct placement_query *q)
{
    for (int g = -1; g < q->n_groups; g++) {
        bool any = false;
        for (size_t i = 0; i < q->n_aggregates; i++) {
            if (q->aggregates[i].group != g)
                continue;
            pl_sql_add(s, any ? ", " : " AND %sEXISTS (SELECT 1 FROM resource_provider_aggregates "
                                       "a WHERE a.provider_id = rp.id AND a.aggregate_uuid IN (",
                       g < 0 ? "NOT " : "");
            pl_sql_text(s, q->aggregates[i].uuid);
            any = true;
        }
        if (any)
            pl_sql_add(s, "))");
    }
}

void pl_sql_filter(struct pl_sql *s, const struct placement_query *q)
{
    pl_sql_add(s, " FROM resource_providers rp");
    for (size_t i = 0; i < q->n_resources; i++) {
        pl_sql_add(s, " JOIN inventories r%zu ON r%zu.provider_id = rp.id AND r%zu.resource_class = ",
                   i, i, i);
        pl_sql_text(s, q->resources[i].resource_class);
    }
    pl_sql_add(s, " WHERE 1 = 1");
    for (size_t i = 0; i < q->n_resources; i++)
        fit_terms(s, i, q->resources[i].amount);
    if (q->name) {
        pl_sql_add(s, " AND rp.name = ");
        pl_sql_text(s, q->name);
    }
    if (q->uuid) {
        pl_sql_add(s, " AND rp.uuid = ");
        pl_sql_text(s, q->uuid);
    }
    if (q->in_tree) {
        pl_sql_add(s, " AND rp.root_provider_uuid = (SELECT root_provider_uuid FROM "
                      "resource_providers WHERE uuid = ");
        pl_sql_text(s, q->in_tree);
        pl_sql_add(s, ")");
    }
    trait_terms(s, q->required, q->n_required, false, false);
    trait_terms(s, q->forbidden, q->n_forbidden, true, false);
    trait_terms(s, q->root_required, q->n_root_required, false, true);
    trait_terms(s, q->root_forbidden, q->n_root_forbidden, true, true);
    aggregate_terms(s, q);
}
