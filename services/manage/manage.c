/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nephele-manage: the operator's command line. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "log.h"
#include "manage.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: nephele-manage [OPTION]... COMMAND [ARG]...\n"
            "Administer a Nephele compute deployment.\n"
            "\n"
            "Commands:\n"
            "  driver list            load every driver in plugins.d and show its module,\n"
            "                         ABI, node count, hypervisor, image formats and\n"
            "                         capabilities\n"
            "  driver check FILE      load and start the one driver FILE describes and\n"
            "                         report what it offers or exactly why it fails\n"
            "  driver options FILE    list the options the module named in FILE accepts\n"
            "  db sync                create or upgrade the database schema (idempotent;\n"
            "                         refuses a database newer than this Nephele)\n"
            "  db version             print the database schema version\n"
            "  placement heal_allocations [--dry-run]\n"
            "                         give every instance on a node that has no\n"
            "                         allocations in Placement those of its flavor (data\n"
            "                         from before the scheduler claimed there); exit 1\n"
            "                         when one does not fit\n"
            "\n"
            "Options:\n"
            "  --config-file FILE     read FILE (INI, nova.conf style); repeatable, later\n"
            "                         files override earlier ones (default: %s/nephele.conf\n"
            "                         when it exists)\n"
            "  --plugins-dir DIR      the plugins.d directory (default: [compute]\n"
            "                         plugins_dir, else %s)\n"
            "  --plugin-path DIR      where driver modules are installed (default: [compute]\n"
            "                         plugin_dir, else %s); NEPHELE_PLUGIN_PATH, a\n"
            "                         colon-separated list, is searched first\n"
            "  --host NAME            compute host name handed to drivers ([DEFAULT] host)\n"
            "  --database URL         database connection ([database] connection, default\n"
            "                         sqlite:///%s/nephele.db)\n"
            "  -d, --debug            log at debug level\n"
            "  -h, --help             show this help and exit\n"
            "  -V, --version          show the version and exit\n"
            "\n"
            "Exit status: 0 on success, 1 when a driver or file fails, 2 on bad usage.\n",
            NPH_SYSCONF_DIR, nph_default_plugins_conf_dir(), nph_default_plugin_dir(),
            NPH_STATE_DIR);
}

static int fail_usage(const char *what, const char *arg)
{
    fprintf(stderr, "nephele-manage: %s%s%s%s\nTry 'nephele-manage --help'.\n", what,
            arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "config-file", required_argument, NULL, 'c' },
        { "plugins-dir", required_argument, NULL, 'p' },
        { "plugin-path", required_argument, NULL, 'P' },
        { "host", required_argument, NULL, 'H' },
        { "database", required_argument, NULL, 'D' },
        { "debug", no_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    nph_auto_config *cfg = nph_config_new();
    nph_error err = NPH_ERROR_INIT;
    const char *plugins_dir = NULL, *plugin_path = NULL, *host = NULL, *database = NULL;
    bool any_config = false, debug = false;
    int c;
    nph_log_set_level(NPH_LOG_WARNING);
    while ((c = getopt_long(argc, argv, "+dhV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (nph_config_load_file(cfg, optarg, &err) != NPH_OK) {
                fprintf(stderr, "nephele-manage: %s\n", err.message);
                return 1;
            }
            any_config = true;
            break;
        case 'p': plugins_dir = optarg; break;
        case 'P': plugin_path = optarg; break;
        case 'H': host = optarg; break;
        case 'D': database = optarg; break;
        case 'd': debug = true; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("nephele-manage (Nephele) %s, driver ABI %d.%d\n", PACKAGE_VERSION,
                         NPH_DRIVER_ABI_MAJOR, NPH_DRIVER_ABI_MINOR);
            return 0;
        default: return fail_usage("unknown option", NULL);
        }
    }
    if (!any_config) {
        /* The installed default is optional: a missing file is fine. */
        const char *path = NPH_SYSCONF_DIR "/nephele.conf";
        if (nph_config_load_file(cfg, path, &err) != NPH_OK && err.code != NPH_ERR_NOT_FOUND) {
            fprintf(stderr, "nephele-manage: %s\n", err.message);
            return 1;
        }
    }
    bool cfg_debug = false;
    if (nph_config_get_bool(cfg, "DEFAULT", "debug", false, &cfg_debug, &err) != NPH_OK) {
        fprintf(stderr, "nephele-manage: %s\n", err.message);
        return 1;
    }
    if (debug || cfg_debug)
        nph_log_set_level(NPH_LOG_DEBUG);

    struct manage_ctx ctx = {
        .cfg = cfg,
        .plugins_conf_dir = plugins_dir ? plugins_dir
                                        : nph_config_get(cfg, "compute", "plugins_dir",
                                                         nph_default_plugins_conf_dir()),
        .plugin_dir = plugin_path ? plugin_path
                                  : nph_config_get(cfg, "compute", "plugin_dir",
                                                   nph_default_plugin_dir()),
        .host_name = host ? host : nph_config_get(cfg, "DEFAULT", "host", NULL),
        .database_url = database,
        .out = stdout,
    };
    if (optind >= argc)
        return fail_usage("missing command", NULL);
    const char *command = argv[optind];
    if (strcmp(command, "driver") == 0)
        return manage_driver(&ctx, argc - optind - 1, argv + optind + 1);
    if (strcmp(command, "placement") == 0)
        return manage_placement(&ctx, argc - optind - 1, argv + optind + 1);
    if (strcmp(command, "db") == 0)
        return manage_db(&ctx, argc - optind - 1, argv + optind + 1);
    return fail_usage("unknown command", command);
}
