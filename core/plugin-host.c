/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host services table: everything a driver may ask of Nephele. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buffer.h"
#include "error.h"
#include "log.h"
#include "objects.h"
#include "plugin-internal.h"

NPH_LOG_INIT("core.plugin-host");

static void host_log(nph_host *host, nph_log_level level, const char *fmt, ...)
{
    if (!nph_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    nph_log_writev(level, host->log_category, fmt, ap);
    va_end(ap);
}

static nph_status host_error(nph_error *err, nph_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    nph_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

static const struct nph_driver_option *declared_option(nph_host *host, const char *key)
{
    for (const struct nph_driver_option *o = host->desc->options; o && o->name; o++)
        if (strcmp(o->name, key) == 0)
            return o;
    nph_warn("driver '%s' asked for option '%s', which its option table does not declare",
             host->name, key);
    return NULL;
}

/* The text of an option: the file's value, else the declared default. */
static const char *option_text(nph_host *host, const char *key)
{
    const struct nph_driver_option *o = declared_option(host, key);
    if (!o)
        return NULL;
    return nph_config_get(host->cfg, "options", key, o->default_value);
}

static const char *host_option_string(nph_host *host, const char *key)
{
    const char *v = option_text(host, key);
    return v ? v : "";
}

/* Values were validated at load, so parsing cannot fail here. */
static int64_t host_option_int(nph_host *host, const char *key)
{
    int64_t v = 0;
    nph_parse_int(option_text(host, key), &v);
    return v;
}

static double host_option_double(nph_host *host, const char *key)
{
    double v = 0;
    nph_parse_double(option_text(host, key), &v);
    return v;
}

static bool host_option_bool(nph_host *host, const char *key)
{
    bool v = false;
    nph_parse_bool(option_text(host, key), &v);
    return v;
}

static nph_status host_option_error(nph_host *host, nph_error *err, const char *key,
                                    const char *fmt, ...)
{
    char message[NPH_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    const struct nph_config_entry *e = nph_config_find(host->cfg, "options", key);
    if (e)
        return nph_config_entry_error(err, NPH_ERR_INVALID, e, "%s", message);
    return nph_error_set(err, NPH_ERR_INVALID, "%s: option '%s' (default): %s", host->conf_path,
                         key, message);
}

static void host_emit_event(nph_host *host, const struct nph_driver_event *event)
{
    nph_debug("driver '%s': instance %s on node %s %s (power state %s)", host->name,
              event->instance_uuid, event->node ? event->node : "-",
              nph_lifecycle_event_name(event->transition),
              nph_power_state_name(event->power_state));
    if (host->on_event)
        host->on_event(host->event_opaque, host, event);
}

static const char *host_instance_name(nph_host *host) { return host->name; }
static const char *host_host_name(nph_host *host) { return host->host_name; }

const struct nph_host_services nph_host_services_table = {
    .abi_major = NPH_DRIVER_ABI_MAJOR,
    .abi_minor = NPH_DRIVER_ABI_MINOR,
    .size = sizeof(struct nph_host_services),
    .log = host_log,
    .error = host_error,
    .option_string = host_option_string,
    .option_int = host_option_int,
    .option_double = host_option_double,
    .option_bool = host_option_bool,
    .option_error = host_option_error,
    .emit_event = host_emit_event,
    .buffer_append = nph_buffer_append,
    .instance_name = host_instance_name,
    .host_name = host_host_name,
};
