/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plugin loader: plugins.d parsing, module search, ABI checks, refusals. */
#include "config.h"

#include "error.h"
#include "plugin.h"
#include "test-util.h"

/* Load `text` written as NAME.conf; returns the status, error in *err. */
static nph_status load_text(const char *name, const char *text, nph_driver **drv, nph_error *err)
{
    nph_error_clear(err);
    *drv = NULL;
    return nph_driver_load(test_write_file(name, text), NULL, drv, err);
}

static void test_load_fake(void)
{
    nph_driver *drv;
    nph_error err = NPH_ERROR_INIT;
    nph_status st = load_text("fake-one.conf",
                              "# a comment\n[driver]\nmodule = fake\n[options]\nnode_count = 3\n",
                              &drv, &err);
    is_int(st, NPH_OK, "fake loads (%s)", err.message);
    if (st != NPH_OK)
        return;
    is_str(nph_driver_name(drv), "fake-one", "instance is named after its file");
    is_str(nph_driver_descriptor(drv)->name, "fake", "descriptor name");
    like(nph_driver_module_path(drv), "/fake.so", "module found through NEPHELE_PLUGIN_PATH");
    is_int(nph_driver_start(drv, &err), NPH_OK, "fake starts");
    size_t nodes = 0;
    is_int(nph_driver_node_count(drv, &nodes, &err), NPH_OK, "node count");
    is_int(nodes, 3, "three nodes as configured");
    nph_driver_free(drv);
}

static void expect_error(const char *name, const char *text, nph_status code, const char *what,
                         const char *label)
{
    nph_driver *drv;
    nph_error err = NPH_ERROR_INIT;
    nph_status st = load_text(name, text, &drv, &err);
    if (st == NPH_OK && drv)
        st = nph_driver_start(drv, &err);
    is_int(st, code, "%s: status %s", label, nph_status_name(code));
    like(err.message, what, "%s: message", label);
    nph_driver_free(drv);
}

static void test_conf_errors(void)
{
    expect_error("bad-key.conf", "[driver]\nmodule = fake\n[options]\nnode_count = 2\nbogus = 1\n",
                 NPH_ERR_INVALID, "bad-key.conf:5: key 'bogus' in [options]: unknown key",
                 "unknown option key");
    expect_error("bad-key.conf", "[driver]\nmodule = fake\n[options]\nbogus = 1\n", NPH_ERR_INVALID,
                 "known keys are: node_count", "unknown key lists the known ones");
    expect_error("bad-driver-key.conf", "[driver]\nmodule = fake\nmodul = fake\n",
                 NPH_ERR_INVALID, "bad-driver-key.conf:3: key 'modul' in [driver]: unknown key",
                 "unknown [driver] key");
    expect_error("bad-section.conf", "[driver]\nmodule = fake\n[extras]\nx = 1\n",
                 NPH_ERR_INVALID, "bad-section.conf:4: key 'x' in [extras]: unknown section",
                 "unknown section");
    expect_error("no-module.conf", "[driver]\nenabled = true\n", NPH_ERR_INVALID,
                 "no-module.conf:1: [driver] has no 'module' key", "missing module key");
    expect_error("unknown-module.conf", "[driver]\nmodule = nosuchdriver\n", NPH_ERR_NOT_FOUND,
                 "unknown-module.conf:2: key 'module' in [driver]: no driver module 'nosuchdriver'",
                 "unknown module");
    expect_error("bad-name.conf", "[driver]\nmodule = fa*ke\n", NPH_ERR_INVALID,
                 "neither a module name", "module name with odd characters");
    expect_error("missing-path.conf", "[driver]\nmodule = ./nowhere/fake.so\n",
                 NPH_ERR_NOT_FOUND, "module file '", "module path that does not exist");
    expect_error("bad-int.conf", "[driver]\nmodule = fake\n[options]\nnode_count = many\n",
                 NPH_ERR_INVALID, "bad-int.conf:4: key 'node_count' in [options]: 'many' is not an integer",
                 "non-integer option");
    expect_error("range.conf", "[driver]\nmodule = fake\n[options]\nnode_count = 10001\n",
                 NPH_ERR_INVALID, "range.conf:4: key 'node_count' in [options]: 10001 is outside 1..10000",
                 "option out of bounds");
    expect_error("bad-bool.conf", "[driver]\nmodule = fake\nenabled = maybe\n", NPH_ERR_INVALID,
                 "bad-bool.conf:3: key 'enabled' in [driver]: 'maybe' is not a boolean",
                 "non-boolean enabled");
    expect_error("driver-parsed.conf",
                 "[driver]\nmodule = fake\n[options]\n\nlatency_ms = spawn:5, warp:3\n",
                 NPH_ERR_INVALID,
                 "driver-parsed.conf:5: key 'latency_ms' in [options]: unknown operation 'warp'",
                 "an option the driver parses itself names file and line");
    expect_error("formats.conf", "[driver]\nmodule = fake\n[options]\nimage_formats = qcow2,floppy\n",
                 NPH_ERR_INVALID, "formats.conf:4: key 'image_formats' in [options]: unknown image format 'floppy'",
                 "unknown image format");
    expect_error("syntax.conf", "[driver\nmodule = fake\n", NPH_ERR_INVALID,
                 "syntax.conf:1: a section header must look like '[name]'", "broken section header");

    nph_driver *drv = NULL;
    nph_error err = NPH_ERROR_INIT;
    is_int(nph_driver_load("/nonexistent/x.conf", NULL, &drv, &err), NPH_ERR_NOT_FOUND,
           "missing plugins.d file");
    like(err.message, "'/nonexistent/x.conf'", "missing file is named");
}

static void test_abi(void)
{
    expect_error("abi2.conf", "[driver]\nmodule = abi-major\n", NPH_ERR_INVALID,
                 "abi2.conf:2: key 'module' in [driver]: module 'abi-major' (", "other ABI major refused");
    expect_error("abi2.conf", "[driver]\nmodule = abi-major\n", NPH_ERR_INVALID,
                 "was built for driver ABI 2.0, but this Nephele expects ABI 1.x (1.1): it is not "
                 "binary compatible",
                 "refusal names both ABIs");
    expect_error("abi2.conf", "[driver]\nmodule = abi-major\n", NPH_ERR_INVALID,
                 "/abi-major.so)", "refusal names the path");
    expect_error("newer.conf", "[driver]\nmodule = abi-newer\n", NPH_ERR_INVALID,
                 "was built for driver ABI 1.8, newer than this Nephele's 1.1", "newer minor refused");
    expect_error("unresolved.conf", "[driver]\nmodule = unresolved\n", NPH_ERR_INVALID,
                 "undefined symbol: nph_test_symbol_nobody_defines",
                 "unresolved symbol fails at load with the linker's reason");
    expect_error("no-entry.conf", "[driver]\nmodule = no-entry\n", NPH_ERR_INVALID,
                 "is not a Nephele driver: it exports no 'nph_driver_entry' symbol",
                 "module without entry symbol");

    /* An older, shorter table: accepted, missing slots are "not supported". */
    nph_driver *drv;
    nph_error err = NPH_ERROR_INIT;
    nph_status st = load_text("old.conf", "[driver]\nmodule = old-minor\n", &drv, &err);
    is_int(st, NPH_OK, "shorter ops table accepted (%s)", err.message);
    if (st != NPH_OK)
        return;
    is_int(nph_driver_start(drv, &err), NPH_OK, "old driver starts");
    ok(nph_driver_ops(drv)->spawn == NULL, "slots past the old table read as NULL");
    struct nph_instance inst = { .uuid = "6c1f2e3a-0b4d-4e5f-8a9b-0c1d2e3f4a5b", .node = "old-node" };
    st = NPH_DRIVER_CALL(drv, spawn, &err, &inst, NULL);
    is_int(st, NPH_ERR_NOT_SUPPORTED, "spawn on the old driver is not supported");
    is_str(err.message, "driver 'old' (module old-minor) does not support 'spawn'",
           "uniform not-supported message");
    struct nph_driver_capabilities caps;
    nph_driver_capabilities(drv, &caps);
    is_int(caps.flags, 0, "claimed capabilities without slots are cleared");
    is_int(caps.image_formats, NPH_IMAGE_RAW, "image formats kept");
    is_str(caps.hypervisor_type, "test", "hypervisor type from the driver");
    size_t nodes = 0;
    is_int(nph_driver_node_count(drv, &nodes, &err), NPH_OK, "old driver lists nodes");
    is_int(nodes, 1, "one node");
    nph_driver_free(drv);
}

static void test_set(void)
{
    test_tmpdir_remove();
    test_tmpdir_make();
    test_write_file("b-vmware.conf", "[driver]\nmodule = fake\n[options]\nhypervisor_type = VMware vCenter Server\n");
    test_write_file("a-kvm.conf", "[driver]\nmodule = fake\n[options]\nhypervisor_type = QEMU\n");
    test_write_file("c-off.conf", "[driver]\nmodule = nosuchdriver\nenabled = false\n");
    test_write_file("README", "not a driver file\n");
    nph_driver_set set = { 0 };
    nph_error err = NPH_ERROR_INIT;
    nph_status st = nph_driver_set_load(&set, test_tmpdir, NULL, &err);
    is_int(st, NPH_OK, "directory loads (%s)", err.message);
    is_int(set.count, 2, "two enabled drivers; the disabled one is skipped unloaded");
    if (set.count == 2) {
        is_str(nph_driver_name(set.drivers[0]), "a-kvm", "sorted by name: first");
        is_str(nph_driver_name(set.drivers[1]), "b-vmware", "sorted by name: second");
        is_int(nph_driver_set_start(&set, &err), NPH_OK, "both start");
        struct nph_driver_capabilities caps;
        nph_driver_capabilities(set.drivers[1], &caps);
        is_str(caps.hypervisor_type, "VMware vCenter Server", "per-instance options apply");
    }
    nph_driver_set_clear(&set);

    test_write_file("d-broken.conf", "[driver]\nmodule = fake\n[options]\nnode_count = 0\n");
    st = nph_driver_set_load(&set, test_tmpdir, NULL, &err);
    is_int(st, NPH_ERR_INVALID, "one broken file fails the directory");
    like(err.message, "d-broken.conf:4: key 'node_count'", "the broken file is named");
    is_int(set.count, 0, "nothing half-loaded after a failure");

    is_int(nph_driver_set_load(&set, "/nonexistent-plugins.d", NULL, &err), NPH_ERR_NOT_FOUND,
           "missing plugins.d directory");
    like(err.message, "'/nonexistent-plugins.d'", "missing directory is named");
}

int main(void)
{
    if (!getenv("NEPHELE_PLUGIN_PATH")) {
        printf("Bail out! NEPHELE_PLUGIN_PATH is not set; run through make check\n");
        return 99;
    }
    test_tmpdir_make();
    test_load_fake();
    test_conf_errors();
    test_abi();
    test_set();
    test_tmpdir_remove();
    return tap_done();
}
