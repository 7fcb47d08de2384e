#!/bin/bash
# The compute API through tempest.lib's compute service clients (Debian's
# python3-tempest), which check every response body against tempest's JSON
# schema of the microversion asked for: the whole sequence at 2.1 and again
# at 2.79, against nephele-aio started here with its built-in identity.
# api-tempest.py and api-tempest-ops.py print the TAP lines, one per client
# call.
set -u
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/aio.sh"
# Debian's tempest belongs to Debian's interpreter, not whatever python3
# comes first on PATH.
py=/usr/bin/python3
"$py" -c 'import tempest.lib.services.compute' 2>/dev/null ||
  bail "$py cannot import tempest.lib (bash .ci/deps installs python3-tempest)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-tempest-XXXXXX")
cleanup() {
  stop_aio
  [ -n "${NPH_TEST_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

start_aio "$tmp/aio"
# Two scripts (the resources, then the operations: aggregates, server groups,
# usage, rebuild, resize, snapshots), their TAP renumbered into one plan.
"$py" "$top_srcdir/tests/api-tempest.py" "$tmp/aio" >"$tmp/tap1" 2>&1
rc=$?
(. "$tmp/aio/openrc" && "$py" "$top_srcdir/tests/api-tempest-ops.py") >"$tmp/tap2" 2>&1 || rc=1
cat "$tmp/tap1" "$tmp/tap2" | awk '
  /^ok [0-9]+/     { n++; sub(/^ok [0-9]+/, "ok " n); print; next }
  /^not ok [0-9]+/ { n++; sub(/^not ok [0-9]+/, "not ok " n); print; next }
  /^1\.\.[0-9]+$/  { next }
  { print }
  END { print "1.." n }'
grep -q '^1\.\.' "$tmp/tap1" && grep -q '^1\.\.' "$tmp/tap2" || { echo "# a script did not finish"; rc=1; }
# A crash of the cloud under test shows in its log, not in the client's errors.
[ $rc -eq 0 ] || { echo "# nephele-aio log (tail):"; tail -20 "$tmp/aio.log" | sed 's/^/# /'; }
exit $rc
