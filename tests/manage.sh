#!/bin/sh
# nephele-manage as an operator runs it: driver list over a mixed plugins.d
# (golden output), driver check on good and broken files, --help, bad usage.
# TAP output.  NPH_TEST_REGENERATE=1 rewrites the golden file.
set -u
manage="$top_builddir/services/manage/nephele-manage"
data="$top_srcdir/tests/data"
golden="$top_srcdir/tests/golden"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-manage-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0
check() { # check DESCRIPTION COMMAND...: ok when the command succeeds
  desc=$1; shift
  n=$((n + 1))
  if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; failed=$((failed + 1)); fi
}
contains() { grep -qF -- "$2" "$1" || { echo "# '$1' lacks: $2"; sed 's/^/#   /' "$1"; return 1; }; }

"$manage" --plugins-dir "$data/plugins.d-mixed" driver list >"$tmp/list" 2>"$tmp/list.err"
check "driver list over a mixed plugins.d exits 0" test $? -eq 0
if [ "${NPH_TEST_REGENERATE:-}" = 1 ]; then cp "$tmp/list" "$golden/driver-list.txt"; fi
check "driver list matches tests/golden/driver-list.txt" diff -u "$golden/driver-list.txt" "$tmp/list"
check "driver list is quiet on stderr" test ! -s "$tmp/list.err"

"$manage" driver check "$data/plugins.d-mixed/40-baremetal.conf" >"$tmp/check" 2>&1
check "driver check on a good file exits 0" test $? -eq 0
check "driver check reports 250 nodes" contains "$tmp/check" "NODES          250"
check "driver check names the module path" contains "$tmp/check" "/fake.so"

printf '[driver]\nmodule = fake\n[options]\nnode_count = 3\nnode_cuont = 4\n' >"$tmp/typo.conf"
"$manage" driver check "$tmp/typo.conf" >"$tmp/typo" 2>&1
check "a typo in a key fails with exit 1" test $? -eq 1
check "the typo is named with file and line" contains "$tmp/typo" "typo.conf:5: key 'node_cuont' in [options]: unknown key"

printf '[driver]\nmodule = hypervisor-from-mars\n' >"$tmp/mars.conf"
"$manage" driver check "$tmp/mars.conf" >"$tmp/mars" 2>&1
check "an unknown module fails with exit 1" test $? -eq 1
check "the unknown module is named with file and line" contains "$tmp/mars" "mars.conf:2: key 'module' in [driver]: no driver module 'hypervisor-from-mars'"

"$manage" driver check "$tmp/absent.conf" >"$tmp/absent" 2>&1
check "a missing file fails with exit 1" test $? -eq 1
check "the missing file is named" contains "$tmp/absent" "cannot read config file '$tmp/absent.conf'"

printf '[driver]\nmodule = abi-major\n' >"$tmp/abi.conf"
"$manage" driver check "$tmp/abi.conf" >"$tmp/abi" 2>&1
check "a plugin for another ABI major is refused with exit 1" test $? -eq 1
check "the refusal says why" contains "$tmp/abi" "was built for driver ABI 2.0, but this Nephele expects ABI 1.x"

mkdir "$tmp/pd" && cp "$data/plugins.d-mixed/10-kvm.conf" "$tmp/abi.conf" "$tmp/pd/"
"$manage" --plugins-dir "$tmp/pd" driver list >"$tmp/badlist" 2>&1
check "driver list fails when one driver is broken" test $? -eq 1
check "and names the broken file" contains "$tmp/badlist" "abi.conf:2:"

"$manage" driver options "$data/plugins.d-mixed/10-kvm.conf" >"$tmp/opts" 2>&1
check "driver options lists the module's options" contains "$tmp/opts" "node_count (integer, default: 1)"

"$manage" --help >"$tmp/help" 2>&1
check "--help exits 0" test $? -eq 0
check "--help documents driver list" contains "$tmp/help" "driver list"
"$manage" --version >"$tmp/version" 2>&1
check "--version names the driver ABI" contains "$tmp/version" "driver ABI 1.1"
"$manage" frobnicate >"$tmp/usage" 2>&1
check "an unknown command exits 2" test $? -eq 2
check "and says which" contains "$tmp/usage" "unknown command 'frobnicate'"
"$manage" --plugins-dir "$tmp/nowhere" driver list >"$tmp/nodir" 2>&1
check "a missing plugins.d fails with exit 1" test $? -eq 1

echo "1..$n"
[ "$failed" -eq 0 ]
