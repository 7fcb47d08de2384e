/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nephele-manage driver list | check FILE | options FILE */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "error.h"
#include "manage.h"
#include "objects.h"

enum { COL_DRIVER, COL_MODULE, COL_VERSION, COL_ABI, COL_NODES, COL_HYPERVISOR, COL_FORMATS,
       COL_CAPS, N_COLS };
static const char *const col_titles[N_COLS] = { "DRIVER", "MODULE", "VERSION", "ABI", "NODES",
                                                "HYPERVISOR", "IMAGE FORMATS", "CAPABILITIES" };

struct row {
    char *cells[N_COLS];
};

static char *join_bits(uint32_t mask, int count, const char *(*name_of)(uint32_t))
{
    nph_auto_buffer b = NPH_BUFFER_INIT;
    for (int i = 0; i < count; i++)
        if (mask & (1u << i))
            nph_buffer_appendf(&b, "%s%s", b.len ? "," : "", name_of(1u << i));
    return b.len ? nph_buffer_steal(&b) : strdup("-");
}

static const char *format_name(uint32_t bit) { return nph_image_format_name((nph_image_format)bit); }
static const char *cap_name(uint32_t bit) { return nph_capability_name((nph_capability)bit); }

static nph_status describe(nph_driver *drv, struct row *row, nph_error *err)
{
    size_t nodes = 0;
    nph_status st = nph_driver_node_count(drv, &nodes, err);
    if (st != NPH_OK)
        return nph_error_prefix(err, "driver '%s': listing nodes: ", nph_driver_name(drv));
    const struct nph_driver_descriptor *d = nph_driver_descriptor(drv);
    struct nph_driver_capabilities caps;
    nph_driver_capabilities(drv, &caps);
    char abi[32], count[32];
    snprintf(abi, sizeof(abi), "%u.%u", d->abi_major, d->abi_minor);
    snprintf(count, sizeof(count), "%zu", nodes);
    row->cells[COL_DRIVER] = strdup(nph_driver_name(drv));
    row->cells[COL_MODULE] = strdup(d->name);
    row->cells[COL_VERSION] = strdup(d->version ? d->version : "-");
    row->cells[COL_ABI] = strdup(abi);
    row->cells[COL_NODES] = strdup(count);
    row->cells[COL_HYPERVISOR] = strdup(caps.hypervisor_type);
    row->cells[COL_FORMATS] = join_bits(caps.image_formats, NPH_IMAGE_FORMAT_COUNT, format_name);
    row->cells[COL_CAPS] = join_bits(caps.flags, NPH_CAPABILITY_COUNT, cap_name);
    for (int c = 0; c < N_COLS; c++)
        if (!row->cells[c])
            return nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
    return NPH_OK;
}

static void print_table(FILE *out, struct row *rows, size_t n)
{
    size_t width[N_COLS];
    for (int c = 0; c < N_COLS; c++) {
        width[c] = strlen(col_titles[c]);
        for (size_t r = 0; r < n; r++)
            if (strlen(rows[r].cells[c]) > width[c])
                width[c] = strlen(rows[r].cells[c]);
    }
    for (int c = 0; c < N_COLS; c++)
        fprintf(out, c + 1 < N_COLS ? "%-*s  " : "%-*s\n", c + 1 < N_COLS ? (int)width[c] : 0,
                col_titles[c]);
    for (size_t r = 0; r < n; r++)
        for (int c = 0; c < N_COLS; c++)
            fprintf(out, c + 1 < N_COLS ? "%-*s  " : "%-*s\n", c + 1 < N_COLS ? (int)width[c] : 0,
                    rows[r].cells[c]);
}

static void free_rows(struct row *rows, size_t n)
{
    for (size_t r = 0; r < n; r++)
        for (int c = 0; c < N_COLS; c++)
            free(rows[r].cells[c]);
    free(rows);
}

static struct nph_loader_options loader_options(const struct manage_ctx *ctx)
{
    return (struct nph_loader_options){ .plugin_dir = ctx->plugin_dir,
                                        .host_name = ctx->host_name };
}

static int driver_list(struct manage_ctx *ctx)
{
    nph_driver_set set = { 0 };
    nph_error err = NPH_ERROR_INIT;
    struct nph_loader_options opts = loader_options(ctx);
    nph_status st = nph_driver_set_load(&set, ctx->plugins_conf_dir, &opts, &err);
    if (st == NPH_OK)
        st = nph_driver_set_start(&set, &err);
    struct row *rows = st == NPH_OK ? calloc(set.count + 1, sizeof(*rows)) : NULL;
    if (st == NPH_OK && !rows)
        st = nph_error_set(&err, NPH_ERR_NO_MEMORY, "out of memory");
    for (size_t i = 0; st == NPH_OK && i < set.count; i++)
        st = describe(set.drivers[i], &rows[i], &err);
    if (st == NPH_OK) {
        if (set.count == 0)
            fprintf(ctx->out, "no drivers enabled in %s\n", ctx->plugins_conf_dir);
        else
            print_table(ctx->out, rows, set.count);
    } else {
        fprintf(stderr, "nephele-manage: %s\n", err.message);
    }
    free_rows(rows, set.count);
    nph_driver_set_clear(&set);
    return st == NPH_OK ? 0 : 1;
}

static int driver_check(struct manage_ctx *ctx, const char *file)
{
    nph_driver *drv = NULL;
    nph_error err = NPH_ERROR_INIT;
    struct nph_loader_options opts = loader_options(ctx);
    nph_status st = nph_driver_load(file, &opts, &drv, &err);
    if (st == NPH_OK && !nph_driver_enabled(drv)) {
        fprintf(ctx->out, "%s: driver '%s' is disabled (enabled = false)\n", file,
                nph_driver_name(drv));
        nph_driver_free(drv);
        return 0;
    }
    if (st == NPH_OK)
        st = nph_driver_start(drv, &err);
    struct row row = { 0 };
    if (st == NPH_OK)
        st = describe(drv, &row, &err);
    if (st == NPH_OK) {
        fprintf(ctx->out, "%s: OK\n", file);
        for (int c = 0; c < N_COLS; c++)
            fprintf(ctx->out, "  %-14s %s\n", col_titles[c], row.cells[c]);
        fprintf(ctx->out, "  %-14s %s\n", "PATH", nph_driver_module_path(drv));
    } else {
        fprintf(stderr, "nephele-manage: %s\n", err.message);
    }
    for (int c = 0; c < N_COLS; c++)
        free(row.cells[c]);
    nph_driver_free(drv);
    return st == NPH_OK ? 0 : 1;
}

static int driver_options(struct manage_ctx *ctx, const char *file)
{
    nph_driver *drv = NULL;
    nph_error err = NPH_ERROR_INIT;
    struct nph_loader_options opts = loader_options(ctx);
    if (nph_driver_load(file, &opts, &drv, &err) != NPH_OK) {
        fprintf(stderr, "nephele-manage: %s\n", err.message);
        return 1;
    }
    static const char *const types[] = { "string", "integer", "number", "boolean" };
    const struct nph_driver_descriptor *d = nph_driver_descriptor(drv);
    if (!d) {
        fprintf(stderr, "nephele-manage: %s: the driver is disabled; enable it to see its module's options\n", file);
        nph_driver_free(drv);
        return 1;
    }
    fprintf(ctx->out, "Options of module '%s' %s ([options] section):\n", d->name,
            d->version ? d->version : "");
    for (const struct nph_driver_option *o = d->options; o && o->name; o++) {
        fprintf(ctx->out, "  %s (%s, default: %s)\n      %s\n", o->name,
                (unsigned)o->type < 4 ? types[o->type] : "?",
                o->default_value && *o->default_value ? o->default_value : "none",
                o->help ? o->help : "");
    }
    nph_driver_free(drv);
    return 0;
}

int manage_driver(struct manage_ctx *ctx, int argc, char **argv)
{
    if (argc >= 1 && strcmp(argv[0], "list") == 0 && argc == 1)
        return driver_list(ctx);
    if (argc == 2 && strcmp(argv[0], "check") == 0)
        return driver_check(ctx, argv[1]);
    if (argc == 2 && strcmp(argv[0], "options") == 0)
        return driver_options(ctx, argv[1]);
    fprintf(stderr, "nephele-manage: usage: driver list | driver check FILE | driver options FILE\n"
                    "Try 'nephele-manage --help'.\n");
    return 2;
}
