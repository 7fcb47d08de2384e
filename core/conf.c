/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buffer.h"
#include "conf.h"
#include "error.h"

/* Entries live in one array in first-set order; configs hold tens to a few
 * hundred keys, so a linear search is both simplest and fast enough. */
struct stored_entry {
    struct nph_config_entry pub;
    bool is_section_marker; /* records where a section was opened */
};

struct nph_config {
    struct stored_entry *entries;
    size_t count, cap;
    char **strings; /* every string the entries point to; owned here */
    size_t n_strings, cap_strings;
};

nph_config *nph_config_new(void)
{
    return calloc(1, sizeof(nph_config));
}

void nph_config_free(nph_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_strings; i++)
        free(cfg->strings[i]);
    free(cfg->strings);
    free(cfg->entries);
    free(cfg);
}

static const char *config_intern(nph_config *cfg, const char *text, size_t len)
{
    if (cfg->n_strings == cfg->cap_strings) {
        size_t cap = cfg->cap_strings ? cfg->cap_strings * 2 : 32;
        char **strings = realloc(cfg->strings, cap * sizeof(*strings));
        if (!strings)
            return NULL;
        cfg->strings = strings;
        cfg->cap_strings = cap;
    }
    char *copy = strndup(text, len);
    if (!copy)
        return NULL;
    cfg->strings[cfg->n_strings++] = copy;
    return copy;
}

static struct stored_entry *config_lookup(const nph_config *cfg, const char *section,
                                          const char *key, bool marker)
{
    for (size_t i = 0; i < cfg->count; i++) {
        struct stored_entry *e = &cfg->entries[i];
        if (e->is_section_marker == marker && strcmp(e->pub.section, section) == 0 &&
            (marker || strcmp(e->pub.key, key) == 0))
            return e;
    }
    return NULL;
}

static struct stored_entry *config_append(nph_config *cfg)
{
    if (cfg->count == cfg->cap) {
        size_t cap = cfg->cap ? cfg->cap * 2 : 32;
        struct stored_entry *entries = realloc(cfg->entries, cap * sizeof(*entries));
        if (!entries)
            return NULL;
        cfg->entries = entries;
        cfg->cap = cap;
    }
    struct stored_entry *e = &cfg->entries[cfg->count++];
    memset(e, 0, sizeof(*e));
    return e;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* Parser state for one file or string. */
struct parse_ctx {
    nph_config *cfg;
    const char *file;        /* interned */
    const char *section;     /* interned, NULL before the first [section] */
    struct stored_entry *last; /* the entry a continuation line extends */
    nph_buffer value;        /* value of `last`, being built; reset before return */
};

static nph_status flush_value(struct parse_ctx *p, nph_error *err)
{
    if (!p->last)
        return NPH_OK;
    const char *v = config_intern(p->cfg, nph_buffer_str(&p->value), p->value.len);
    if (!v)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "%s: out of memory", p->file);
    p->last->pub.value = v;
    p->last = NULL;
    nph_buffer_reset(&p->value);
    return NPH_OK;
}

static nph_status parse_section(struct parse_ctx *p, char *line, unsigned lineno, nph_error *err)
{
    char *close = strchr(line, ']');
    if (!close || trim(close + 1)[0] != '\0')
        return nph_error_set(err, NPH_ERR_INVALID,
                             "%s:%u: a section header must look like '[name]'", p->file, lineno);
    *close = '\0';
    char *name = trim(line + 1);
    if (!*name)
        return nph_error_set(err, NPH_ERR_INVALID, "%s:%u: empty section name '[]'", p->file,
                             lineno);
    p->section = config_intern(p->cfg, name, strlen(name));
    if (!p->section)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "%s: out of memory", p->file);
    if (!config_lookup(p->cfg, p->section, NULL, true)) {
        struct stored_entry *m = config_append(p->cfg);
        if (!m)
            return nph_error_set(err, NPH_ERR_NO_MEMORY, "%s: out of memory", p->file);
        m->is_section_marker = true;
        m->pub = (struct nph_config_entry){ p->section, "", "", p->file, lineno };
    }
    return NPH_OK;
}

static nph_status parse_assignment(struct parse_ctx *p, char *line, unsigned lineno,
                                   nph_error *err)
{
    char *eq = strpbrk(line, "=:");
    if (!eq)
        return nph_error_set(err, NPH_ERR_INVALID, "%s:%u: expected 'key = value', got '%s'",
                             p->file, lineno, line);
    *eq = '\0';
    char *key = trim(line);
    char *value = trim(eq + 1);
    if (!*key)
        return nph_error_set(err, NPH_ERR_INVALID, "%s:%u: missing key before '='", p->file,
                             lineno);
    if (!p->section)
        return nph_error_set(err, NPH_ERR_INVALID,
                             "%s:%u: key '%s' comes before any [section] header", p->file,
                             lineno, key);
    struct stored_entry *e = config_lookup(p->cfg, p->section, key, false);
    if (!e) {
        e = config_append(p->cfg);
        const char *k = e ? config_intern(p->cfg, key, strlen(key)) : NULL;
        if (!k)
            return nph_error_set(err, NPH_ERR_NO_MEMORY, "%s: out of memory", p->file);
        e->pub.section = p->section;
        e->pub.key = k;
    }
    e->pub.file = p->file;
    e->pub.line = lineno;
    p->last = e;
    return nph_buffer_append(&p->value, value, strlen(value)) == NPH_OK
               ? NPH_OK
               : nph_error_set(err, NPH_ERR_NO_MEMORY, "%s: out of memory", p->file);
}

static nph_status parse_line(struct parse_ctx *p, char *raw, unsigned lineno, nph_error *err)
{
    bool indented = raw[0] == ' ' || raw[0] == '\t';
    char *line = trim(raw);
    if (*line == '\0' || *line == '#' || *line == ';')
        return NPH_OK;
    if (indented && p->last) {
        /* oslo.config's continuation line: part of the value above. */
        if (nph_buffer_append(&p->value, "\n", 1) != NPH_OK ||
            nph_buffer_append(&p->value, line, strlen(line)) != NPH_OK)
            return nph_error_set(err, NPH_ERR_NO_MEMORY, "%s: out of memory", p->file);
        return NPH_OK;
    }
    nph_status st = flush_value(p, err);
    if (st != NPH_OK)
        return st;
    if (*line == '[')
        return parse_section(p, line, lineno, err);
    return parse_assignment(p, line, lineno, err);
}

nph_status nph_config_load_string(nph_config *cfg, const char *name, const char *text,
                                  nph_error *err)
{
    struct parse_ctx p = { .cfg = cfg, .file = config_intern(cfg, name, strlen(name)) };
    if (!p.file)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "%s: out of memory", name);
    unsigned lineno = 0;
    nph_status st = NPH_OK;
    for (const char *cursor = text; st == NPH_OK && *cursor;) {
        size_t len = strcspn(cursor, "\n");
        char *line = strndup(cursor, len);
        if (!line) {
            st = nph_error_set(err, NPH_ERR_NO_MEMORY, "%s: out of memory", name);
            break;
        }
        st = parse_line(&p, line, ++lineno, err);
        free(line);
        cursor += len + (cursor[len] == '\n');
    }
    if (st == NPH_OK)
        st = flush_value(&p, err);
    nph_buffer_reset(&p.value);
    return st;
}

nph_status nph_config_load_file(nph_config *cfg, const char *path, nph_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return nph_error_set(err, errno == ENOENT ? NPH_ERR_NOT_FOUND : NPH_ERR_IO,
                             "cannot read config file '%s': %s", path, strerror(errno));
    nph_auto_buffer text = NPH_BUFFER_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (memchr(chunk, '\0', n)) {
            fclose(f);
            return nph_error_set(err, NPH_ERR_INVALID,
                                 "config file '%s' contains a NUL byte: is it a text file?", path);
        }
        if (nph_buffer_append(&text, chunk, n) != NPH_OK) {
            fclose(f);
            return nph_error_set(err, NPH_ERR_NO_MEMORY, "%s: out of memory", path);
        }
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed)
        return nph_error_set(err, NPH_ERR_IO, "cannot read config file '%s'", path);
    return nph_config_load_string(cfg, path, nph_buffer_str(&text), err);
}

const struct nph_config_entry *nph_config_find(const nph_config *cfg, const char *section,
                                               const char *key)
{
    struct stored_entry *e = config_lookup(cfg, section, key, false);
    return e ? &e->pub : NULL;
}

const struct nph_config_entry *nph_config_section(const nph_config *cfg, const char *section)
{
    struct stored_entry *e = config_lookup(cfg, section, NULL, true);
    return e ? &e->pub : NULL;
}

const char *nph_config_get(const nph_config *cfg, const char *section, const char *key,
                           const char *fallback)
{
    const struct nph_config_entry *e = nph_config_find(cfg, section, key);
    return e ? e->value : fallback;
}

size_t nph_config_count(const nph_config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->count; i++)
        n += !cfg->entries[i].is_section_marker;
    return n;
}

const struct nph_config_entry *nph_config_entry_at(const nph_config *cfg, size_t index)
{
    /* Section markers are internal; skip them while counting. */
    for (size_t i = 0; i < cfg->count; i++) {
        if (cfg->entries[i].is_section_marker)
            continue;
        if (index-- == 0)
            return &cfg->entries[i].pub;
    }
    return NULL;
}

nph_status nph_config_entry_error(nph_error *err, nph_status code,
                                  const struct nph_config_entry *entry, const char *fmt, ...)
{
    char message[NPH_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    return nph_error_set(err, code, "%s:%u: key '%s' in [%s]: %s", entry->file, entry->line,
                         entry->key, entry->section, message);
}

bool nph_parse_int(const char *text, int64_t *out)
{
    if (!text || !*text)
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (errno || *end != '\0')
        return false;
    *out = v;
    return true;
}

bool nph_parse_double(const char *text, double *out)
{
    if (!text || !*text)
        return false;
    errno = 0;
    char *end;
    double v = strtod(text, &end);
    if (errno || *end != '\0' || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool nph_parse_bool(const char *text, bool *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1" };
    static const char *const no[] = { "false", "no", "off", "0" };
    for (size_t i = 0; text && i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

nph_status nph_config_get_int(const nph_config *cfg, const char *section, const char *key,
                              int64_t fallback, int64_t *out, nph_error *err)
{
    const struct nph_config_entry *e = nph_config_find(cfg, section, key);
    *out = fallback;
    if (e && !nph_parse_int(e->value, out))
        return nph_config_entry_error(err, NPH_ERR_INVALID, e, "'%s' is not an integer",
                                      e->value);
    return NPH_OK;
}

nph_status nph_config_get_bool(const nph_config *cfg, const char *section, const char *key,
                               bool fallback, bool *out, nph_error *err)
{
    const struct nph_config_entry *e = nph_config_find(cfg, section, key);
    *out = fallback;
    if (e && !nph_parse_bool(e->value, out))
        return nph_config_entry_error(err, NPH_ERR_INVALID, e,
                                      "'%s' is not a boolean (use true or false)", e->value);
    return NPH_OK;
}

nph_status nph_config_get_double(const nph_config *cfg, const char *section, const char *key,
                                 double fallback, double *out, nph_error *err)
{
    const struct nph_config_entry *e = nph_config_find(cfg, section, key);
    *out = fallback;
    if (e && !nph_parse_double(e->value, out))
        return nph_config_entry_error(err, NPH_ERR_INVALID, e, "'%s' is not a number", e->value);
    return NPH_OK;
}

static const struct nph_driver_option *find_option(const struct nph_driver_option *options,
                                                   const char *name)
{
    for (const struct nph_driver_option *o = options; o && o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

static nph_status check_value(const struct nph_driver_option *o, const char *value,
                              const struct nph_config_entry *e, nph_error *err)
{
    int64_t i;
    double d;
    bool b;
    switch (o->type) {
    case NPH_OPT_STRING:
        return NPH_OK;
    case NPH_OPT_BOOL:
        if (!nph_parse_bool(value, &b))
            return nph_config_entry_error(err, NPH_ERR_INVALID, e,
                                          "'%s' is not a boolean (use true or false)", value);
        return NPH_OK;
    case NPH_OPT_INT:
        if (!nph_parse_int(value, &i))
            return nph_config_entry_error(err, NPH_ERR_INVALID, e, "'%s' is not an integer",
                                          value);
        d = (double)i;
        break;
    case NPH_OPT_DOUBLE:
        if (!nph_parse_double(value, &d))
            return nph_config_entry_error(err, NPH_ERR_INVALID, e, "'%s' is not a number", value);
        break;
    default:
        return nph_config_entry_error(err, NPH_ERR_INVALID, e, "option has an unknown type");
    }
    if (o->min != o->max && (d < o->min || d > o->max))
        return nph_config_entry_error(err, NPH_ERR_INVALID, e, "%s is outside %g..%g", value,
                                      o->min, o->max);
    return NPH_OK;
}

nph_status nph_config_validate_section(const nph_config *cfg, const char *section,
                                       const struct nph_driver_option *options, nph_error *err)
{
    for (size_t i = 0; i < cfg->count; i++) {
        const struct stored_entry *e = &cfg->entries[i];
        if (e->is_section_marker || strcmp(e->pub.section, section) != 0)
            continue;
        const struct nph_driver_option *o = find_option(options, e->pub.key);
        if (!o) {
            nph_auto_buffer known = NPH_BUFFER_INIT;
            for (const struct nph_driver_option *k = options; k && k->name; k++)
                nph_buffer_appendf(&known, "%s%s", known.len ? ", " : "", k->name);
            return nph_config_entry_error(err, NPH_ERR_INVALID, &e->pub,
                                          "unknown key; known keys are: %s",
                                          known.len ? nph_buffer_str(&known) : "(none)");
        }
        nph_status st = check_value(o, e->pub.value, &e->pub, err);
        if (st != NPH_OK)
            return st;
    }
    return NPH_OK;
}
