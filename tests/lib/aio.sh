# Start nephele-aio from the build tree on a free loopback port in a data
# directory; stop it by PID.  Source after lib/tap.sh.
#   start_aio DIR [EXTRA ARGS...]   sets aio_pid, aio_endpoint (http://127.0.0.1:PORT/v2.1)
#   AIO_PLUGIN_PATH                 driver module folders besides the fake driver's
#   AIO_DRIVER                      --driver for a new DIR (default fake: no real guests)
#   stop_aio                        SIGTERM, then wait (SIGKILL after 20 s)
aio_pid=
start_aio() {
  local dir=$1; shift
  NEPHELE_PLUGIN_PATH="$top_builddir/drivers/fake/.libs${AIO_PLUGIN_PATH:+:$AIO_PLUGIN_PATH}" \
    "$top_builddir/services/aio/nephele-aio" --data-dir "$dir" --listen 127.0.0.1:0 \
    --driver "${AIO_DRIVER:-fake}" "$@" \
    >"$dir.out" 2>"$dir.log" &
  aio_pid=$!
  for _ in $(seq 1 100); do
    grep -q '^nephele-aio ready' "$dir.out" 2>/dev/null && break
    kill -0 "$aio_pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^nephele-aio ready' "$dir.out" 2>/dev/null ||
    { sed 's/^/# /' "$dir.log" | tail -20; bail "nephele-aio did not become ready"; }
  aio_endpoint=$(sed -n 's/^nephele-aio ready: compute \([^ ]*\) .*/\1/p' "$dir.out")
}
stop_aio() {
  [ -n "$aio_pid" ] || return 0
  kill -TERM "$aio_pid" 2>/dev/null
  for _ in $(seq 1 200); do kill -0 "$aio_pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$aio_pid" 2>/dev/null
  wait "$aio_pid" 2>/dev/null
  aio_pid=
}
