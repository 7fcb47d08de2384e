/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The INI parser: nova.conf syntax, overrides, typed reads, and errors that
 * name file, line and key. */
#include "config.h"

#include <stdlib.h>
#include <unistd.h>

#include "../tap.h"
#include "conf.h"
#include "error.h"

static nph_status load(nph_config *cfg, const char *text, nph_error *err)
{
    *err = (nph_error)NPH_ERROR_INIT;
    return nph_config_load_string(cfg, "test.conf", text, err);
}

static void syntax(void)
{
    nph_auto_config *cfg = nph_config_new();
    nph_error err;
    is_int(load(cfg,
                "# comment\n"
                "; another comment\n"
                "[DEFAULT]\n"
                "host = compute-1\n"
                "empty =\n"
                "\n"
                "[libvirt]\n"
                "virt_type=qemu\n"
                "cpu_models = a\n"
                "   b\n"
                "spaced   =   value with spaces   \n",
                &err),
           NPH_OK, "a nova.conf-style file loads");
    is_str(nph_config_get(cfg, "DEFAULT", "host", NULL), "compute-1", "key = value");
    is_str(nph_config_get(cfg, "DEFAULT", "empty", "x"), "", "an empty value is empty, not unset");
    is_str(nph_config_get(cfg, "libvirt", "virt_type", NULL), "qemu", "key=value without spaces");
    is_str(nph_config_get(cfg, "libvirt", "cpu_models", NULL), "a\nb",
           "an indented line continues the value");
    is_str(nph_config_get(cfg, "libvirt", "spaced", NULL), "value with spaces",
           "surrounding blanks are trimmed, inner ones kept");
    is_str(nph_config_get(cfg, "libvirt", "absent", "fallback"), "fallback",
           "an unset key gives the fallback");
    ok(nph_config_get(cfg, "nosuch", "host", NULL) == NULL, "sections do not leak into each other");
    const struct nph_config_entry *e = nph_config_find(cfg, "libvirt", "virt_type");
    ok(e && e->line == 8 && strcmp(e->file, "test.conf") == 0, "an entry remembers file and line");
    e = nph_config_section(cfg, "libvirt");
    ok(e && e->line == 7, "a section remembers where it opened");
    is_int(nph_config_count(cfg), 5, "five entries");
    e = nph_config_entry_at(cfg, 0);
    ok(e && strcmp(e->key, "host") == 0, "entries keep their order");
}

static void overrides(void)
{
    nph_auto_config *cfg = nph_config_new();
    nph_error err;
    load(cfg, "[DEFAULT]\nhost = a\nworkers = 2\n", &err);
    is_int(nph_config_load_string(cfg, "second.conf", "[DEFAULT]\nhost = b\n", &err), NPH_OK,
           "a second file loads into the same config");
    is_str(nph_config_get(cfg, "DEFAULT", "host", NULL), "b", "a later file overrides");
    is_str(nph_config_get(cfg, "DEFAULT", "workers", NULL), "2", "keys it does not set stay");
    const struct nph_config_entry *e = nph_config_find(cfg, "DEFAULT", "host");
    ok(e && strcmp(e->file, "second.conf") == 0 && e->line == 2,
       "the override remembers its own file and line");
    load(cfg, "[DEFAULT]\nhost = c\nhost = d\n", &err);
    is_str(nph_config_get(cfg, "DEFAULT", "host", NULL), "d", "lower in the same file overrides");
}

static void typed(void)
{
    nph_auto_config *cfg = nph_config_new();
    nph_error err;
    load(cfg,
         "[s]\nn = 42\nneg = -7\nbig = 9223372036854775807\nhuge = 9223372036854775808\n"
         "f = 0.25\nyes = Yes\noff = off\nbad = 12abc\nmaybe = perhaps\n",
         &err);
    int64_t i = 0;
    is_int(nph_config_get_int(cfg, "s", "n", 0, &i, &err), NPH_OK, "an integer reads");
    is_int(i, 42, "its value");
    nph_config_get_int(cfg, "s", "neg", 0, &i, &err);
    is_int(i, -7, "a negative integer");
    nph_config_get_int(cfg, "s", "big", 0, &i, &err);
    ok(i == INT64_MAX, "INT64_MAX reads");
    err = (nph_error)NPH_ERROR_INIT;
    is_int(nph_config_get_int(cfg, "s", "huge", 0, &i, &err), NPH_ERR_INVALID,
           "one past INT64_MAX is refused");
    err = (nph_error)NPH_ERROR_INIT;
    is_int(nph_config_get_int(cfg, "s", "bad", 0, &i, &err), NPH_ERR_INVALID,
           "trailing garbage is refused");
    is_str(err.message, "test.conf:9: key 'bad' in [s]: '12abc' is not an integer",
           "the error names file, line, key and value");
    nph_config_get_int(cfg, "s", "unset", 99, &i, &err);
    is_int(i, 99, "an unset integer gives the fallback");
    double d = 0;
    nph_config_get_double(cfg, "s", "f", 0, &d, &err);
    ok(d == 0.25, "a double reads");
    bool b = false;
    is_int(nph_config_get_bool(cfg, "s", "yes", false, &b, &err), NPH_OK, "'Yes' is a boolean");
    ok(b, "and true");
    nph_config_get_bool(cfg, "s", "off", true, &b, &err);
    ok(!b, "'off' is false");
    err = (nph_error)NPH_ERROR_INIT;
    is_int(nph_config_get_bool(cfg, "s", "maybe", false, &b, &err), NPH_ERR_INVALID,
           "'perhaps' is not a boolean");
    like(err.message, "test.conf:10: key 'maybe' in [s]", "and the error says where");
}

static void syntax_errors(void)
{
    static const struct {
        const char *text, *message;
    } cases[] = {
        { "[DEFAULT]\nhost = a\n[broken\n", "test.conf:3: a section header must look like '[name]'" },
        { "[]\n", "test.conf:1: empty section name '[]'" },
        { "[DEFAULT]\njust words\n", "test.conf:2: expected 'key = value', got 'just words'" },
        { "[DEFAULT]\n = value\n", "test.conf:2: missing key before '='" },
        { "host = a\n", "test.conf:1: key 'host' comes before any [section] header" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nph_auto_config *cfg = nph_config_new();
        nph_error err;
        is_int(load(cfg, cases[i].text, &err), NPH_ERR_INVALID, "syntax error %zu is refused", i + 1);
        like(err.message, cases[i].message, "and named");
    }
}

static void files(void)
{
    nph_auto_config *cfg = nph_config_new();
    nph_error err = NPH_ERROR_INIT;
    is_int(nph_config_load_file(cfg, "/nonexistent/nephele.conf", &err), NPH_ERR_NOT_FOUND,
           "a missing file is NOT_FOUND");
    like(err.message, "cannot read config file '/nonexistent/nephele.conf'", "and named");

    char path[] = "/tmp/nph-test-config-XXXXXX";
    int fd = mkstemp(path);
    static const char binary[] = "[DEFAULT]\nhost\0= x\n";
    ok(fd >= 0 && write(fd, binary, sizeof(binary) - 1) == (ssize_t)(sizeof(binary) - 1),
       "wrote a file with a NUL byte");
    if (fd >= 0)
        close(fd);
    err = (nph_error)NPH_ERROR_INIT;
    is_int(nph_config_load_file(cfg, path, &err), NPH_ERR_INVALID, "a binary file is refused");
    like(err.message, "contains a NUL byte", "and says why");
    unlink(path);
}

static void validation(void)
{
    static const struct nph_driver_option options[] = {
        { "node_count", NPH_OPT_INT, "1", 1, 10000, "Nodes." },
        { "ratio", NPH_OPT_DOUBLE, "0", 0, 1, "A ratio." },
        { "enabled", NPH_OPT_BOOL, "true", 0, 0, "Switch." },
        { "name", NPH_OPT_STRING, NULL, 0, 0, "A name." },
        { NULL, 0, NULL, 0, 0, NULL },
    };
    nph_auto_config *good = nph_config_new();
    nph_error err;
    load(good, "[options]\nnode_count = 250\nratio = 0.5\nenabled = no\nname = x\n", &err);
    is_int(nph_config_validate_section(good, "options", options, &err), NPH_OK,
           "a section within its options validates");

    static const struct {
        const char *text, *message;
    } cases[] = {
        { "[options]\nnode_cuont = 2\n", "test.conf:2: key 'node_cuont' in [options]: unknown key" },
        { "[options]\nnode_count = 0\n", "test.conf:2: key 'node_count' in [options]: 0 is outside 1..10000" },
        { "[options]\n\nratio = lots\n", "test.conf:3: key 'ratio' in [options]: 'lots' is not a number" },
        { "[options]\nenabled = perhaps\n", "test.conf:2: key 'enabled' in [options]" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nph_auto_config *cfg = nph_config_new();
        load(cfg, cases[i].text, &err);
        err = (nph_error)NPH_ERROR_INIT;
        is_int(nph_config_validate_section(cfg, "options", options, &err), NPH_ERR_INVALID,
               "bad option %zu is refused", i + 1);
        like(err.message, cases[i].message, "and named with file, line and key");
    }
}

int main(void)
{
    syntax();
    overrides();
    typed();
    syntax_errors();
    files();
    validation();
    return tap_done();
}
