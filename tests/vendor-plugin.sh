#!/bin/sh
# A vendor builds a driver outside the tree against `make install DESTDIR=...`
# using only pkg-config, and the installed Nephele loads it.  Also checks that
# every installed driver module exports exactly one symbol.  TAP output.
set -u
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-vendor-XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
n=0 failed=0
check() {
  desc=$1; shift
  n=$((n + 1))
  if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; failed=$((failed + 1)); fi
}
contains() { grep -qF -- "$2" "$1" || { echo "# '$1' lacks: $2"; sed 's/^/#   /' "$1"; return 1; }; }
bail() { echo "Bail out! $*"; exit 99; }

dest="$tmp/root"
${MAKE:-make} -C "$top_builddir" install DESTDIR="$dest" >"$tmp/install.log" 2>&1 ||
  { sed 's/^/# /' "$tmp/install.log"; bail "make install DESTDIR failed"; }
pc=$(find "$dest" -name nephele-driver.pc | head -n 1)
check "nephele-driver.pc is installed" test -n "$pc"
[ -n "$pc" ] || bail "no nephele-driver.pc"
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$dest"
# A variable as a path inside $dest (pkgconf adds the sysroot itself; older
# pkg-config does not).
var() {
  v=$(pkg-config --variable="$1" nephele-driver)
  case "$v" in "$dest"/*) echo "$v" ;; *) echo "$dest$v" ;; esac
}
plugindir=$(var plugindir)
confdir=$(var pluginsconfdir)
libdir=$(var libdir)
bindir="$(dirname "$libdir")/bin"
check "the driver header is installed as <nephele/virt-driver.h>" \
  test -f "$(var includedir)/nephele/virt-driver.h"
check "pkg-config names ABI 1.1" test "$(pkg-config --variable=abi nephele-driver)" = 1.1

for so in "$plugindir"/*.so; do
  syms=$(nm -D --defined-only "$so" | awk '{print $3}')
  check "$(basename "$so") exports exactly one symbol ($syms)" \
    sh -c "test \"\$(echo '$syms' | wc -l)\" -eq 1 && echo '$syms' | grep -q '_LTX_nph_driver_entry\$'"
done

# Build the vendor driver in a directory outside the tree.
cp -R "$top_srcdir/tests/vendor-plugin" "$tmp/acme"
chmod -R u+w "$tmp/acme"
make -C "$tmp/acme" >"$tmp/build.log" 2>&1
check "the vendor driver builds with only pkg-config" test -f "$tmp/acme/acme.so"
[ -f "$tmp/acme/acme.so" ] || sed 's/^/# /' "$tmp/build.log"
check "it links no Nephele library" sh -c "! ldd '$tmp/acme/acme.so' | grep -q nephele"
check "it exports exactly one symbol" \
  test "$(nm -D --defined-only "$tmp/acme/acme.so" | awk '{print $3}')" = acme_LTX_nph_driver_entry

# Drop it into the installed plugin directory and plugins.d, as a vendor would.
cp "$tmp/acme/acme.so" "$plugindir/"
printf '[driver]\nmodule = acme\n[options]\ncores = 32\n' >"$confdir/acme.conf"
unset NEPHELE_PLUGIN_PATH
manage="$bindir/nephele-manage"
LD_LIBRARY_PATH="$libdir" "$manage" --plugin-path "$plugindir" --plugins-dir "$confdir" \
  driver list >"$tmp/list" 2>&1
check "the installed nephele-manage lists the vendor driver" contains "$tmp/list" "acme    acme    1.2.3"
check "next to the installed fake driver" contains "$tmp/list" "fake    fake"
LD_LIBRARY_PATH="$libdir" "$manage" --plugin-path "$plugindir" driver check "$confdir/acme.conf" \
  >"$tmp/check" 2>&1
check "driver check starts it" contains "$tmp/check" "acme.conf: OK"
printf '[driver]\nmodule = acme\n[options]\ncores = 0\n' >"$confdir/acme.conf"
LD_LIBRARY_PATH="$libdir" "$manage" --plugin-path "$plugindir" driver check "$confdir/acme.conf" \
  >"$tmp/bad" 2>&1
check "its option table is enforced by the host" contains "$tmp/bad" "acme.conf:4: key 'cores' in [options]: 0 is outside 1..4096"

echo "1..$n"
[ "$failed" -eq 0 ]
