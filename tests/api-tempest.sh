#!/bin/bash
# tempest.lib's compute service clients (Debian's python3-tempest, run by
# /usr/bin/python3) against nephele-aio with the built-in identity: every
# response is validated against tempest's JSON schema of the microversion in
# use, once at 2.1 and once at 2.79.  TAP output from tests/api-tempest.py.
set -u
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/aio.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-tempest-XXXXXX")
cleanup() {
  stop_aio
  [ -n "${NPH_TEST_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
/usr/bin/python3 -c 'import tempest.lib' 2>/dev/null ||
  bail "tempest.lib is missing (bash .ci/deps installs python3-tempest)"
start_aio "$tmp/aio"
. "$tmp/aio/openrc"
/usr/bin/python3 "$top_srcdir/tests/api-tempest.py"
