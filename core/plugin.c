/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The driver plugin loader: plugins.d files to loaded, ABI-checked drivers. */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <ltdl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer.h"
#include "conf.h"
#include "error.h"
#include "log.h"
#include "plugin-internal.h"

NPH_LOG_INIT("core.plugin");

#ifndef NPH_PLUGIN_DIR
#define NPH_PLUGIN_DIR "/usr/local/lib/nephele/drivers"
#endif
#ifndef NPH_PLUGINS_CONF_DIR
#define NPH_PLUGINS_CONF_DIR "/usr/local/etc/nephele/plugins.d"
#endif

const char *nph_default_plugin_dir(void) { return NPH_PLUGIN_DIR; }
const char *nph_default_plugins_conf_dir(void) { return NPH_PLUGINS_CONF_DIR; }

/* Keys of the [driver] section; the driver's own keys live in [options]. */
static const struct nph_driver_option driver_section_keys[] = {
    { "module", NPH_OPT_STRING, NULL, 0, 0, "module name or path of the .so" },
    { "enabled", NPH_OPT_BOOL, "true", 0, 0, "load this driver instance" },
    { NULL, 0, NULL, 0, 0, NULL },
};

static pthread_once_t ltdl_once = PTHREAD_ONCE_INIT;
static int ltdl_status;

static void ltdl_init_once(void)
{
    ltdl_status = lt_dlinit();
}

void nph_driver_free(nph_driver *drv)
{
    if (!drv)
        return;
    if (drv->started && drv->ops.cleanup)
        drv->ops.cleanup(drv->state);
    nph_config_free(drv->cfg);
    free(drv->name);
    free(drv->conf_path);
    free(drv->module_path);
    free(drv->host_name);
    free(drv);
}

static void driver_freep(nph_driver **drv) { nph_driver_free(*drv); }

/* A module name is a file name without a directory or extension. */
static bool module_name_is_plain(const char *module)
{
    if (!*module)
        return false;
    for (const char *p = module; *p; p++)
        if (!(((*p | 32) >= 'a' && (*p | 32) <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-'))
            return false;
    return true;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Try dir/NAME.so; on success store the path and return true. */
static bool try_dir(const char *dir, size_t dir_len, const char *module, char **found,
                    nph_buffer *tried)
{
    nph_auto_buffer candidate = NPH_BUFFER_INIT;
    nph_buffer_appendf(&candidate, "%.*s/%s.so", (int)dir_len, dir, module);
    nph_buffer_appendf(tried, "%s%s", tried->len ? ", " : "", nph_buffer_str(&candidate));
    if (!file_exists(nph_buffer_str(&candidate)))
        return false;
    *found = nph_buffer_steal(&candidate);
    return true;
}

/* Find the .so a plugins.d entry names. */
static nph_status find_module(const struct nph_config_entry *entry, const char *plugin_dir,
                              char **out, nph_error *err)
{
    const char *module = entry->value;
    if (strchr(module, '/')) {
        /* A path: relative ones are relative to the plugins.d file. */
        nph_auto_buffer path = NPH_BUFFER_INIT;
        if (module[0] != '/') {
            const char *slash = strrchr(entry->file, '/');
            if (slash)
                nph_buffer_appendf(&path, "%.*s/", (int)(slash - entry->file), entry->file);
        }
        nph_buffer_appendf(&path, "%s", module);
        if (!file_exists(nph_buffer_str(&path)))
            return nph_config_entry_error(err, NPH_ERR_NOT_FOUND, entry,
                                          "module file '%s' does not exist",
                                          nph_buffer_str(&path));
        *out = nph_buffer_steal(&path);
        return NPH_OK;
    }
    if (!module_name_is_plain(module))
        return nph_config_entry_error(err, NPH_ERR_INVALID, entry,
                                      "'%s' is neither a module name ([A-Za-z0-9_-]) nor a path",
                                      module);
    nph_auto_buffer tried = NPH_BUFFER_INIT;
    const char *env = getenv("NEPHELE_PLUGIN_PATH");
    for (const char *p = env; p && *p;) {
        size_t len = strcspn(p, ":");
        if (len && try_dir(p, len, module, out, &tried))
            return NPH_OK;
        p += len + (p[len] == ':');
    }
    if (try_dir(plugin_dir, strlen(plugin_dir), module, out, &tried))
        return NPH_OK;
    return nph_config_entry_error(err, NPH_ERR_NOT_FOUND, entry,
                                  "no driver module '%s'; looked for %s (set NEPHELE_PLUGIN_PATH "
                                  "or [compute] plugin_dir, or name the .so by path)",
                                  module, nph_buffer_str(&tried));
}

/* Load the module with every symbol bound now, so a module with an unresolved
 * symbol fails here with the dynamic linker's real reason rather than later
 * (or with libltdl's generic "file not found").  The handle is kept open on
 * purpose: modules are never unloaded. */
static nph_status open_module(nph_driver *drv, const struct nph_config_entry *entry,
                              nph_driver_entry_fn *entry_fn, nph_error *err)
{
    if (!dlopen(drv->module_path, RTLD_NOW | RTLD_LOCAL))
        return nph_config_entry_error(err, NPH_ERR_INVALID, entry,
                                      "cannot load '%s': %s (use ldd(1) to check the module's "
                                      "dependencies)",
                                      drv->module_path, dlerror());
    pthread_once(&ltdl_once, ltdl_init_once);
    if (ltdl_status != 0)
        return nph_error_set(err, NPH_ERR_BACKEND, "libltdl failed to initialise: %s",
                             lt_dlerror());
    lt_dlhandle handle = lt_dlopen(drv->module_path);
    if (!handle)
        return nph_config_entry_error(err, NPH_ERR_INVALID, entry, "libltdl cannot open '%s': %s",
                                      drv->module_path, lt_dlerror());
    /* libltdl looks for <modname>_LTX_nph_driver_entry first, then the plain name. */
    void *sym = lt_dlsym(handle, NPH_DRIVER_ENTRY_SYMBOL);
    if (!sym)
        return nph_config_entry_error(err, NPH_ERR_INVALID, entry,
                                      "'%s' is not a Nephele driver: it exports no '%s' symbol "
                                      "(define it with NPH_DRIVER_EXPORT)",
                                      drv->module_path, NPH_DRIVER_ENTRY_SYMBOL);
    *entry_fn = (nph_driver_entry_fn)sym;
    return NPH_OK;
}

/* Refuse another ABI major, a newer minor, or an inconsistent table; copy the
 * ops into a zeroed table of this host's size. */
static nph_status check_descriptor(nph_driver *drv, const struct nph_config_entry *entry,
                                   nph_error *err)
{
    const struct nph_driver_descriptor *d = drv->desc;
    const char *module = entry->value;
    if (!d)
        return nph_config_entry_error(err, NPH_ERR_INVALID, entry,
                                      "module '%s' (%s) returned no descriptor", module,
                                      drv->module_path);
    if (d->abi_major != NPH_DRIVER_ABI_MAJOR)
        return nph_config_entry_error(
            err, NPH_ERR_INVALID, entry,
            "module '%s' (%s) was built for driver ABI %u.%u, but this Nephele expects ABI "
            "%d.x (%d.%d): it is not binary compatible; rebuild it against nephele-driver %d.%d",
            module, drv->module_path, d->abi_major, d->abi_minor, NPH_DRIVER_ABI_MAJOR,
            NPH_DRIVER_ABI_MAJOR, NPH_DRIVER_ABI_MINOR, NPH_DRIVER_ABI_MAJOR,
            NPH_DRIVER_ABI_MINOR);
    if (d->abi_minor > NPH_DRIVER_ABI_MINOR)
        return nph_config_entry_error(
            err, NPH_ERR_INVALID, entry,
            "module '%s' (%s) was built for driver ABI %u.%u, newer than this Nephele's %d.%d; "
            "upgrade Nephele or use a build of the driver for ABI %d.%d",
            module, drv->module_path, d->abi_major, d->abi_minor, NPH_DRIVER_ABI_MAJOR,
            NPH_DRIVER_ABI_MINOR, NPH_DRIVER_ABI_MAJOR, NPH_DRIVER_ABI_MINOR);
    size_t min_size = offsetof(struct nph_driver_ops, cleanup) + sizeof(d->ops->cleanup);
    if (!d->name || !*d->name || !d->ops || d->ops_size < min_size ||
        d->ops_size > sizeof(struct nph_driver_ops) || !d->ops->init_host)
        return nph_config_entry_error(err, NPH_ERR_INVALID, entry,
                                      "module '%s' (%s) has a malformed descriptor (name, ops, "
                                      "ops_size %zu of at most %zu, init_host)",
                                      module, drv->module_path, d->ops_size,
                                      sizeof(struct nph_driver_ops));
    memset(&drv->ops, 0, sizeof(drv->ops));
    memcpy(&drv->ops, d->ops, d->ops_size);
    return NPH_OK;
}

/* Check the file's sections: [driver] with known keys, [options] against the
 * driver's table, nothing else. */
static nph_status check_sections(const nph_driver *drv, nph_error *err)
{
    for (size_t i = 0; i < nph_config_count(drv->cfg); i++) {
        const struct nph_config_entry *e = nph_config_entry_at(drv->cfg, i);
        if (strcmp(e->section, "driver") != 0 && strcmp(e->section, "options") != 0)
            return nph_config_entry_error(err, NPH_ERR_INVALID, e,
                                          "unknown section [%s]; a plugins.d file has only "
                                          "[driver] and [options]",
                                          e->section);
    }
    return nph_config_validate_section(drv->cfg, "driver", driver_section_keys, err);
}

static char *instance_name_of(const char *conf_path)
{
    const char *base = strrchr(conf_path, '/');
    base = base ? base + 1 : conf_path;
    size_t len = strlen(base);
    if (len > 5 && strcmp(base + len - 5, ".conf") == 0)
        len -= 5;
    return strndup(base, len);
}

nph_status nph_driver_load(const char *conf_path, const struct nph_loader_options *opts,
                           nph_driver **out, nph_error *err)
{
    static const struct nph_loader_options no_opts;
    if (!opts)
        opts = &no_opts;
    __attribute__((cleanup(driver_freep))) nph_driver *drv = calloc(1, sizeof(*drv));
    if (!drv)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    drv->cfg = nph_config_new();
    drv->name = instance_name_of(conf_path);
    drv->conf_path = strdup(conf_path);
    if (!drv->cfg || !drv->name || !drv->conf_path)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    drv->on_event = opts->on_event;
    drv->event_opaque = opts->event_opaque;
    char hostname[256] = "localhost";
    if (!opts->host_name)
        gethostname(hostname, sizeof(hostname) - 1);
    drv->host_name = strdup(opts->host_name ? opts->host_name : hostname);
    if (!drv->host_name)
        return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    snprintf(drv->log_category, sizeof(drv->log_category), "driver.%s", drv->name);

    nph_status st = nph_config_load_file(drv->cfg, conf_path, err);
    if (st == NPH_OK)
        st = check_sections(drv, err);
    if (st != NPH_OK)
        return st;
    bool enabled = true;
    st = nph_config_get_bool(drv->cfg, "driver", "enabled", true, &enabled, err);
    if (st != NPH_OK)
        return st;
    drv->enabled = enabled;
    const struct nph_config_entry *module = nph_config_find(drv->cfg, "driver", "module");
    if (!module) {
        const struct nph_config_entry *section = nph_config_section(drv->cfg, "driver");
        return nph_error_set(err, NPH_ERR_INVALID, "%s:%u: [driver] has no 'module' key", conf_path,
                             section ? section->line : 1u);
    }
    if (!enabled) {
        *out = drv;
        drv = NULL;
        return NPH_OK;
    }
    st = find_module(module, opts->plugin_dir ? opts->plugin_dir : NPH_PLUGIN_DIR,
                     &drv->module_path, err);
    nph_driver_entry_fn entry_fn = NULL;
    if (st == NPH_OK)
        st = open_module(drv, module, &entry_fn, err);
    if (st != NPH_OK)
        return st;
    drv->desc = entry_fn();
    st = check_descriptor(drv, module, err);
    if (st == NPH_OK)
        st = nph_config_validate_section(drv->cfg, "options", drv->desc->options, err);
    if (st != NPH_OK)
        return st;
    nph_info("loaded driver '%s': module %s %s (ABI %u.%u) from %s", drv->name, drv->desc->name,
             drv->desc->version ? drv->desc->version : "?", drv->desc->abi_major,
             drv->desc->abi_minor, drv->module_path);
    *out = drv;
    drv = NULL;
    return NPH_OK;
}

nph_status nph_driver_start(nph_driver *drv, nph_error *err)
{
    if (!drv->desc)
        return nph_error_set(err, NPH_ERR_CONFLICT, "driver '%s' is disabled in %s", drv->name,
                             drv->conf_path);
    if (drv->started)
        return NPH_OK;
    nph_status st = drv->ops.init_host(&nph_host_services_table, drv, &drv->state, err);
    if (st != NPH_OK)
        return nph_error_prefix(err, "driver '%s' (%s) failed to start: ", drv->name,
                                drv->conf_path);
    drv->started = true;
    return NPH_OK;
}

const char *nph_driver_name(const nph_driver *drv) { return drv->name; }
const char *nph_driver_module_path(const nph_driver *drv) { return drv->module_path; }
const char *nph_driver_conf_path(const nph_driver *drv) { return drv->conf_path; }
bool nph_driver_enabled(const nph_driver *drv) { return drv->enabled; }
const struct nph_driver_descriptor *nph_driver_descriptor(const nph_driver *drv) { return drv->desc; }
const struct nph_driver_ops *nph_driver_ops(const nph_driver *drv) { return &drv->ops; }
void *nph_driver_state(const nph_driver *drv) { return drv->state; }

nph_status nph_driver_unsupported(const nph_driver *drv, const char *op, nph_error *err)
{
    return nph_error_set(err, NPH_ERR_NOT_SUPPORTED,
                         "driver '%s' (module %s) does not support '%s'", drv->name,
                         drv->desc ? drv->desc->name : "?", op);
}

void nph_driver_capabilities(const nph_driver *drv, struct nph_driver_capabilities *out)
{
    memset(out, 0, sizeof(*out));
    if (drv->ops.capabilities)
        drv->ops.capabilities(drv->state, out);
    if (!out->hypervisor_type)
        out->hypervisor_type = drv->desc ? drv->desc->name : "unknown";
    /* A capability whose slots are missing is not a capability. */
    const struct nph_driver_ops *o = &drv->ops;
    const struct {
        uint32_t flag;
        bool present;
    } needs[] = {
        { NPH_CAP_LIVE_MIGRATION, o->live_migration && o->pre_live_migration },
        { NPH_CAP_SNAPSHOT, o->snapshot != NULL },
        { NPH_CAP_ATTACH_INTERFACE, o->attach_interface && o->detach_interface },
        { NPH_CAP_ATTACH_VOLUME, o->attach_volume && o->detach_volume },
        { NPH_CAP_MULTIATTACH, o->attach_volume && o->detach_volume },
        { NPH_CAP_RESCUE, o->rescue && o->unrescue },
        { NPH_CAP_SET_PASSWORD, o->set_admin_password != NULL },
        { NPH_CAP_RESIZE, o->migrate_disk_and_power_off && o->finish_migration },
        { NPH_CAP_MIGRATE_TO_SAME_HOST, o->migrate_disk_and_power_off && o->finish_migration },
        { NPH_CAP_CONSOLE_VNC, o->get_console != NULL },
        { NPH_CAP_CONSOLE_SPICE, o->get_console != NULL },
        { NPH_CAP_CONSOLE_SERIAL, o->get_console != NULL },
        { NPH_CAP_CONSOLE_MKS, o->get_console != NULL },
    };
    for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++)
        if (!needs[i].present)
            out->flags &= ~needs[i].flag;
}

static void count_node(void *opaque, const char *node)
{
    (void)node;
    (*(size_t *)opaque)++;
}

nph_status nph_driver_node_count(const nph_driver *drv, size_t *count, nph_error *err)
{
    *count = 0;
    return NPH_DRIVER_CALL(drv, list_nodes, err, count_node, count);
}

/* ------------------------------------------------------------------------ */

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void nph_driver_set_clear(nph_driver_set *set)
{
    for (size_t i = 0; i < set->count; i++)
        nph_driver_free(set->drivers[i]);
    free(set->drivers);
    set->drivers = NULL;
    set->count = 0;
}

/* The *.conf names of `dir`, sorted; caller frees each and the array. */
static nph_status list_conf_files(const char *dir, char ***names, size_t *count, nph_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return nph_error_set(err, errno == ENOENT ? NPH_ERR_NOT_FOUND : NPH_ERR_IO,
                             "cannot read plugins.d directory '%s': %s", dir, strerror(errno));
    char **list = NULL;
    size_t n = 0, cap = 0;
    nph_status st = NPH_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char **grown = realloc(list, cap * sizeof(*grown));
            if (!grown) {
                st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
                break;
            }
            list = grown;
        }
        if (!(list[n] = strdup(de->d_name))) {
            st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (n)
        qsort(list, n, sizeof(*list), compare_names);
    *names = list;
    *count = n;
    return st;
}

nph_status nph_driver_set_load(nph_driver_set *set, const char *conf_dir,
                               const struct nph_loader_options *opts, nph_error *err)
{
    char **names = NULL;
    size_t n = 0;
    nph_status st = list_conf_files(conf_dir, &names, &n, err);
    for (size_t i = 0; i < n; i++) {
        if (st == NPH_OK) {
            nph_auto_buffer path = NPH_BUFFER_INIT;
            nph_buffer_appendf(&path, "%s/%s", conf_dir, names[i]);
            nph_driver *drv = NULL;
            st = nph_driver_load(nph_buffer_str(&path), opts, &drv, err);
            if (st == NPH_OK && !drv->enabled) {
                nph_info("driver '%s' is disabled in %s", drv->name, drv->conf_path);
                nph_driver_free(drv);
            } else if (st == NPH_OK) {
                nph_driver **grown = realloc(set->drivers, (set->count + 1) * sizeof(*grown));
                if (!grown) {
                    nph_driver_free(drv);
                    st = nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
                } else {
                    set->drivers = grown;
                    set->drivers[set->count++] = drv;
                }
            }
        }
        free(names[i]);
    }
    free(names);
    if (st != NPH_OK)
        nph_driver_set_clear(set);
    return st;
}

nph_status nph_driver_set_start(nph_driver_set *set, nph_error *err)
{
    for (size_t i = 0; i < set->count; i++) {
        nph_status st = nph_driver_start(set->drivers[i], err);
        if (st != NPH_OK)
            return st;
    }
    return NPH_OK;
}
