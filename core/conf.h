/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * INI configuration in nova.conf style:
 *
 *     # comment            ; comment
 *     [DEFAULT]
 *     host = compute-1
 *     [libvirt]
 *     virt_type = qemu
 *       continued lines    (indented: appended to the value above, newline-joined)
 *
 * Several files may be loaded into one nph_config; a key set again (in a later
 * file or lower in the same one) overrides the earlier value, as repeated
 * --config-file options do.  Every value remembers the file and line it came
 * from, so every error names file, line and key.
 *
 * (Named conf.h because config.h is autoconf's.)
 */
#ifndef NPH_CONF_H
#define NPH_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "virt-driver.h"

typedef struct nph_config nph_config;

struct nph_config_entry {
    const char *section;
    const char *key;
    const char *value;
    const char *file; /* path as given to the loader, or the name of a string */
    unsigned line;
};

nph_config *nph_config_new(void);
void nph_config_free(nph_config *cfg);
static inline void nph_config_freep(nph_config **cfg) { nph_config_free(*cfg); }
#define nph_auto_config __attribute__((cleanup(nph_config_freep))) nph_config

nph_status nph_config_load_file(nph_config *cfg, const char *path, nph_error *err);
/* Parse `text` as if it were a file called `name` (used in messages). */
nph_status nph_config_load_string(nph_config *cfg, const char *name, const char *text,
                                  nph_error *err);

/* The entry for section/key, or NULL when unset. */
const struct nph_config_entry *nph_config_find(const nph_config *cfg, const char *section,
                                               const char *key);
/* The value, or `fallback` when unset. */
const char *nph_config_get(const nph_config *cfg, const char *section, const char *key,
                           const char *fallback);
/* Typed reads.  An unset key gives `fallback`; a value that does not parse is
 * an NPH_ERR_INVALID naming file, line and key. */
nph_status nph_config_get_int(const nph_config *cfg, const char *section, const char *key,
                              int64_t fallback, int64_t *out, nph_error *err);
nph_status nph_config_get_bool(const nph_config *cfg, const char *section, const char *key,
                               bool fallback, bool *out, nph_error *err);
nph_status nph_config_get_double(const nph_config *cfg, const char *section, const char *key,
                                 double fallback, double *out, nph_error *err);

/* Entries in the order they were first set. */
size_t nph_config_count(const nph_config *cfg);
const struct nph_config_entry *nph_config_entry_at(const nph_config *cfg, size_t index);
/* The file and line where `section` was first opened, or NULL. */
const struct nph_config_entry *nph_config_section(const nph_config *cfg, const char *section);

/* Check every key of `section` against `options` (a table ending with a NULL
 * name): an unknown key or a value that does not parse as its type or lies
 * outside its bounds is NPH_ERR_INVALID naming file, line and key. */
nph_status nph_config_validate_section(const nph_config *cfg, const char *section,
                                       const struct nph_driver_option *options, nph_error *err);

/* Set an error about `entry`: "FILE:LINE: key 'KEY' in [SECTION]: <message>". */
nph_status nph_config_entry_error(nph_error *err, nph_status code,
                                  const struct nph_config_entry *entry, const char *fmt, ...)
    NPH_PRINTF(4, 5);

/* Value parsers shared with the plugin host. */
bool nph_parse_int(const char *text, int64_t *out);
bool nph_parse_double(const char *text, double *out);
bool nph_parse_bool(const char *text, bool *out);

#endif
