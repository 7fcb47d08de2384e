# TAP helpers for the shell tests: check DESC CMD..., bail, and a summary.
# Source it; it sets n and failed.
n=0 failed=0
check() {
  desc=$1; shift
  n=$((n + 1))
  if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; failed=$((failed + 1)); fi
}
bail() { echo "Bail out! $*"; exit 99; }
tap_done() { echo "1..$n"; [ "$failed" -eq 0 ]; }
