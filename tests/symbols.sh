#!/bin/sh
# libnephele-core exports exactly the symbols listed in core/libnephele-core.sym:
# nothing internal leaks out, nothing listed goes missing.  TAP output.
set -u
lib="$top_builddir/core/.libs/libnephele-core.so"
list="$top_srcdir/core/libnephele-core.sym"
actual=$(nm -D --defined-only "$lib" | awk '{print $3}' | sort)
expected=$(sort "$list")
if [ "$actual" = "$expected" ]; then
  echo "ok 1 - libnephele-core exports exactly the $(echo "$expected" | wc -l) listed symbols"
else
  echo "not ok 1 - libnephele-core's exports differ from core/libnephele-core.sym"
  diff -u "$list" - <<EOT | sed 's/^/# /'
$actual
EOT
fi
case "$actual" in
  *nph_host_services_table*) echo "not ok 2 - the internal host-services table is exported" ;;
  *) echo "ok 2 - the internal host-services table stays internal" ;;
esac
echo "1..2"
[ "$actual" = "$expected" ]
