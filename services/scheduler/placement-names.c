/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Resource classes and traits: the standard ones from the static tables,
 * the CUSTOM_ ones from the resource_classes and traits tables. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "placement-internal.h"

bool placement_name_is_custom(const char *name)
{
    size_t len = strlen(name);
    if (len <= 7 || len > PLACEMENT_NAME_MAX || strncmp(name, "CUSTOM_", 7) != 0)
        return false;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == len;
}

static nph_status custom_exists(nph_db *db, const char *sql, const char *name, bool *exists,
                                placement_error *err)
{
    nph_db_stmt *stmt;
    nph_status st = pl_query(db, &stmt, err, sql, "t", name);
    if (st != NPH_OK)
        return st;
    bool row = false;
    st = nph_db_step(stmt, &row, &err->e);
    nph_db_reset(stmt);
    *exists = st == NPH_OK && row;
    return st;
}

nph_status placement_class_exists(nph_db *db, const char *name, bool *exists,
                                  placement_error *err)
{
    *exists = placement_class_is_standard(name);
    if (*exists || !placement_name_is_custom(name))
        return NPH_OK;
    return custom_exists(db, "SELECT 1 FROM resource_classes WHERE name = ?", name, exists, err);
}

nph_status placement_trait_exists(nph_db *db, const char *name, bool *exists, placement_error *err)
{
    *exists = placement_trait_is_standard(name);
    if (*exists || !placement_name_is_custom(name))
        return NPH_OK;
    return custom_exists(db, "SELECT 1 FROM traits WHERE name = ?", name, exists, err);
}

/* The names column of `sql`'s rows appended to `list`. */
static nph_status append_names(nph_db *db, const char *sql, json_object *list,
                               placement_error *err)
{
    nph_db_stmt *stmt = NULL;
    nph_status st = pl_query(db, &stmt, err, sql, "");
    bool row = false;
    while (st == NPH_OK && (st = nph_db_step(stmt, &row, &err->e)) == NPH_OK && row)
        json_object_array_add(list, json_object_new_string(nph_db_col_text(stmt, 0)));
    if (stmt)
        nph_db_reset(stmt);
    return st;
}

nph_status placement_classes_list(nph_db *db, json_object **out, placement_error *err)
{
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < placement_n_standard_classes; i++)
        json_object_array_add(list, json_object_new_string(placement_standard_classes[i]));
    nph_status st = append_names(db, "SELECT name FROM resource_classes ORDER BY id", list, err);
    if (st != NPH_OK) {
        json_object_put(list);
        return st;
    }
    *out = list;
    return NPH_OK;
}

/* Insert `name` into `table` unless there; *created says which. */
static nph_status insert_name(nph_db *db, const char *insert, const char *name, bool *created,
                              placement_error *err)
{
    char now[NPH_ISO_TIME_LEN];
    nph_clock_iso_now(now);
    int64_t changed = 0;
    nph_status st = pl_exec(db, &changed, err, insert, "tt", name, now);
    *created = st == NPH_OK && changed == 1;
    return st;
}

nph_status placement_class_create(nph_db *db, const char *name, bool may_exist, bool *created,
                                  placement_error *err)
{
    *created = false;
    if (placement_class_is_standard(name) || !placement_name_is_custom(name))
        return placement_fail(err, NPH_ERR_INVALID, NULL,
                              "'%s' does not match '^CUSTOM\\_[A-Z0-9_]+$'", name);
    nph_status st = pl_begin(db, err);
    if (st != NPH_OK)
        return st;
    bool exists = false;
    st = placement_class_exists(db, name, &exists, err);
    if (st == NPH_OK && exists && !may_exist)
        st = placement_fail(err, NPH_ERR_CONFLICT, PLACEMENT_E_DUPLICATE_NAME,
                            "Conflicting resource class already exists: %s", name);
    if (st == NPH_OK && !exists)
        st = insert_name(db, "INSERT INTO resource_classes (name, created_at) VALUES (?, ?)", name,
                         created, err);
    return pl_end(db, st, err);
}

/* NPH_ERR_CONFLICT when `sql` (one ? for the name) finds a row. */
static nph_status refuse_in_use(nph_db *db, const char *sql, const char *name, const char *message,
                                placement_error *err)
{
    bool used = false;
    nph_status st = custom_exists(db, sql, name, &used, err);
    if (st == NPH_OK && used)
        return placement_fail(err, NPH_ERR_CONFLICT, NULL, "%s", message);
    return st;
}

static nph_status delete_custom(nph_db *db, const char *delete_sql, const char *name,
                                const char *missing, placement_error *err)
{
    int64_t changed = 0;
    nph_status st = pl_exec(db, &changed, err, delete_sql, "t", name);
    if (st == NPH_OK && changed == 0)
        return placement_fail(err, NPH_ERR_NOT_FOUND, NULL, "%s", missing);
    return st;
}

nph_status placement_class_delete(nph_db *db, const char *name, placement_error *err)
{
    if (placement_class_is_standard(name))
        return placement_fail(err, NPH_ERR_INVALID, NULL,
                              "Cannot delete standard resource class %s: Cannot delete standard "
                              "resource class %s.",
                              name, name);
    char message[PLACEMENT_NAME_MAX + 100];
    snprintf(message, sizeof(message),
             "Unable to delete resource class %s. Resource class is in use in inventory", name);
    char missing[PLACEMENT_NAME_MAX + 40];
    snprintf(missing, sizeof(missing), "No such resource class %s.", name);
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = refuse_in_use(db, "SELECT 1 FROM inventories WHERE resource_class = ? LIMIT 1", name,
                           message, err);
    if (st == NPH_OK)
        st = delete_custom(db, "DELETE FROM resource_classes WHERE name = ?", name, missing, err);
    return pl_end(db, st, err);
}

/* ---- traits ---------------------------------------------------------------- */

struct trait_filter {
    const char *prefix;  /* startswith: */
    const char *in;      /* in: a comma list */
    json_object *linked; /* names some provider has, when asked */
    int associated;
};

static bool in_list(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, name, len) == 0)
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

static bool trait_matches(const struct trait_filter *f, const char *name)
{
    if (f->prefix && strncmp(name, f->prefix, strlen(f->prefix)) != 0)
        return false;
    if (f->in && !in_list(f->in, name))
        return false;
    if (f->associated >= 0 &&
        json_object_object_get_ex(f->linked, name, NULL) != (f->associated == 1))
        return false;
    return true;
}

static int compare_json_strings(const void *a, const void *b)
{
    return strcmp(json_object_get_string(*(json_object *const *)a),
                  json_object_get_string(*(json_object *const *)b));
}

static nph_status parse_trait_filter(const char *filter, struct trait_filter *f,
                                     placement_error *err)
{
    if (!filter)
        return NPH_OK;
    if (strncmp(filter, "startswith:", 11) == 0)
        f->prefix = filter + 11;
    else if (strncmp(filter, "in:", 3) == 0)
        f->in = filter + 3;
    else
        return placement_fail(err, NPH_ERR_INVALID, PLACEMENT_E_QUERY_BAD_VALUE,
                              "Badly formatted name parameter. Expected name query string "
                              "parameter in form: ?name=[in|startswith]:[name1,name2|prefix]. "
                              "Got: \"%s\"",
                              filter);
    return NPH_OK;
}

static nph_status linked_traits(nph_db *db, json_object **out, placement_error *err)
{
    nph_auto_json *rows = NULL;
    nph_status st = pl_rows(db, &rows, err, "SELECT DISTINCT trait FROM resource_provider_traits",
                            "");
    if (st != NPH_OK)
        return st;
    *out = json_object_new_object();
    for (size_t i = 0; i < json_object_array_length(rows); i++) {
        json_object *t = NULL;
        json_object_object_get_ex(json_object_array_get_idx(rows, i), "trait", &t);
        json_object_object_add(*out, json_object_get_string(t), NULL);
    }
    return NPH_OK;
}

nph_status placement_traits_list(nph_db *db, const char *filter, int associated, json_object **out,
                                 placement_error *err)
{
    struct trait_filter f = { .associated = associated };
    nph_status st = parse_trait_filter(filter, &f, err);
    if (st == NPH_OK && associated >= 0)
        st = linked_traits(db, &f.linked, err);
    nph_auto_json *custom = json_object_new_array();
    if (st == NPH_OK)
        st = append_names(db, "SELECT name FROM traits ORDER BY name", custom, err);
    if (st != NPH_OK) {
        json_object_put(f.linked);
        return st;
    }
    json_object *list = json_object_new_array();
    for (size_t i = 0; i < placement_n_standard_traits; i++)
        if (trait_matches(&f, placement_standard_traits[i]))
            json_object_array_add(list, json_object_new_string(placement_standard_traits[i]));
    for (size_t i = 0; i < json_object_array_length(custom); i++) {
        json_object *name = json_object_array_get_idx(custom, i);
        if (trait_matches(&f, json_object_get_string(name)))
            json_object_array_add(list, json_object_get(name));
    }
    json_object_array_sort(list, compare_json_strings);
    json_object_put(f.linked);
    *out = list;
    return NPH_OK;
}

nph_status placement_trait_create(nph_db *db, const char *name, bool *created,
                                  placement_error *err)
{
    *created = false;
    if (!placement_name_is_custom(name))
        return placement_fail(err, NPH_ERR_INVALID, NULL,
                              "The trait is invalid. A valid trait must be no longer than 255 "
                              "characters, start with the prefix \"CUSTOM_\" and use following "
                              "characters: \"A\"-\"Z\", \"0\"-\"9\" and \"_\"");
    nph_status st = pl_begin(db, err);
    bool exists = false;
    if (st == NPH_OK)
        st = placement_trait_exists(db, name, &exists, err);
    if (st == NPH_OK && !exists)
        st = insert_name(db, "INSERT INTO traits (name, created_at) VALUES (?, ?)", name, created,
                         err);
    return pl_end(db, st, err);
}

nph_status placement_trait_delete(nph_db *db, const char *name, placement_error *err)
{
    if (placement_trait_is_standard(name))
        return placement_fail(err, NPH_ERR_INVALID, NULL, "Cannot delete standard trait %s.", name);
    char message[PLACEMENT_NAME_MAX + 60], missing[PLACEMENT_NAME_MAX + 30];
    snprintf(message, sizeof(message), "The trait %s is in use by a resource provider.", name);
    snprintf(missing, sizeof(missing), "No such trait(s): %s.", name);
    nph_status st = pl_begin(db, err);
    if (st == NPH_OK)
        st = refuse_in_use(db, "SELECT 1 FROM resource_provider_traits WHERE trait = ? LIMIT 1",
                           name, message, err);
    if (st == NPH_OK)
        st = delete_custom(db, "DELETE FROM traits WHERE name = ?", name, missing, err);
    return pl_end(db, st, err);
}
