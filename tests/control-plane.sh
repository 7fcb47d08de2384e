#!/bin/bash
# The control plane with its real peers: a private RabbitMQ and PostgreSQL
# started here on loopback (and stopped by PID at the end, also on failure).
#  - the bus suite over AMQP, and a stream of casts through a broker restart;
#  - conductor + compute in one process on PostgreSQL, and the placement
#    library's queries there;
#  - the daemons as separate processes over RabbitMQ, on SQLite and on
#    PostgreSQL: two conductors share the builds, operations work, a compute
#    killed with SIGKILL in the middle of a build and restarted leaves the
#    instance ERROR or ACTIVE, never stuck, and SIGTERM stops every daemon.
# TAP output.
set -u
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-control-XXXXXX")
chmod 755 "$tmp"
peers="$top_srcdir/tests/peers"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
  bash "$peers/rabbitmq.sh" stop "$tmp/rabbitmq" >/dev/null 2>&1
  bash "$peers/postgresql.sh" stop "$tmp/postgresql" >/dev/null 2>&1
  [ -n "${NPH_TEST_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
n=0 failed=0
check() {
  desc=$1; shift
  n=$((n + 1))
  if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; failed=$((failed + 1)); fi
}
bail() { echo "Bail out! $*"; exit 99; }
# Run a TAP program and fold its results into ours.
tap_of() {
  label=$1; shift
  "$@" >"$tmp/tap.out" 2>&1
  while read -r line; do
    case $line in
      "ok "*) n=$((n + 1)); echo "ok $n - $label: ${line#ok * - }" ;;
      "not ok "*) n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $label: ${line#not ok * - }" ;;
      "#"*) echo "$line" ;;
    esac
  done <"$tmp/tap.out"
  grep -q '^1\.\.' "$tmp/tap.out" || { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $label did not finish"; tail -20 "$tmp/tap.out" | sed 's/^/# /'; }
}

bash "$peers/rabbitmq.sh" start "$tmp/rabbitmq" >"$tmp/rabbitmq.log" 2>&1 ||
  { sed 's/^/# /' "$tmp/rabbitmq.log"; bail "cannot start RabbitMQ"; }
bash "$peers/postgresql.sh" start "$tmp/postgresql" >"$tmp/postgresql.log" 2>&1 ||
  { sed 's/^/# /' "$tmp/postgresql.log"; bail "cannot start PostgreSQL"; }
amqp_url=$(. "$tmp/rabbitmq/env"; echo "$URL")
pg_url=$(. "$tmp/postgresql/env"; echo "$URL")
echo "# RabbitMQ at $amqp_url, PostgreSQL at $pg_url"

tap_of "bus over AMQP" env NPH_TEST_AMQP_URL="$amqp_url" \
  NPH_TEST_AMQP_RESTART_CMD="bash $peers/rabbitmq.sh restart $tmp/rabbitmq" \
  "$top_builddir/tests/unit/test-bus"
tap_of "in-process control plane on PostgreSQL" env NPH_TEST_DB_URL="$pg_url" \
  "$top_builddir/tests/unit/test-control"

# Fresh PostgreSQL database for the daemons.
runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/createdb" \
  -h 127.0.0.1 -p "$(. "$tmp/postgresql/env"; echo "$PORT")" -U postgres daemons
pg_daemons_url=${pg_url%/nephele}/daemons

# The placement library's queries on PostgreSQL, in a database of their own.
runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/createdb" \
  -h 127.0.0.1 -p "$(. "$tmp/postgresql/env"; echo "$PORT")" -U postgres placement
tap_of "placement on PostgreSQL" env NPH_TEST_DB_URL="${pg_url%/nephele}/placement" \
  "$top_builddir/tests/unit/test-placement"

# Two schedulers racing for exactly the room of 500 boots, on PostgreSQL.
runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/createdb" \
  -h 127.0.0.1 -p "$(. "$tmp/postgresql/env"; echo "$PORT")" -U postgres race
tap_of "two schedulers on PostgreSQL" env NPH_TEST_DB_URL="${pg_url%/nephele}/race" \
  NPH_RACE_BOOTS=500 "$top_builddir/tests/unit/test-scheduler-race"

manage="$top_builddir/services/manage/nephele-manage"
conductor="$top_builddir/services/conductor/nephele-conductor"
scheduler="$top_builddir/services/scheduler/nephele-scheduler"
compute="$top_builddir/services/compute/nephele-compute"
client="$top_builddir/tests/tools/nph-test-client"

start_daemon() { # name binary conf
  "$2" --config-file "$3" --log-file "$tmp/$1.log" &
  pids+=($!)
  eval "pid_$1=$!"
}

wait_ready() { # name: the daemon logged that it is ready (and registered)
  for _ in $(seq 1 300); do
    grep -q "ready on host" "$tmp/$1.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "# $1 is not ready:"; tail -5 "$tmp/$1.log" 2>/dev/null | sed 's/^/#   /'
  return 1
}

stop_daemon() { # name: SIGTERM, expect exit 0 within 15 s
  local pid
  eval "pid=\$pid_$1"
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; return 1; fi
  wait "$pid"
}

run_daemons() { # label db_url [scheduler]: with "bus", two nephele-scheduler daemons choose
  label=$1 db=$2 where=${3:-local}
  dir="$tmp/$label"
  mkdir -p "$dir/plugins.d"
  printf '[driver]\nmodule = fake\n[options]\nnode_count = 4\nvcpus = 8\nmemory_mb = 16384\nlatency_ms = spawn:4000\n' \
    >"$dir/plugins.d/fake.conf"
  cat >"$dir/nephele.conf" <<EOT
[DEFAULT]
host = compute-$label
transport_url = $amqp_url
report_interval = 1
rpc_response_timeout = 20
[database]
connection = $db
[compute]
plugins_dir = $dir/plugins.d
plugin_dir = $top_builddir/drivers/fake/.libs
sync_power_state_interval = 2
[conductor]
scheduler = $where
EOT
  "$manage" --config-file "$dir/nephele.conf" db sync >"$dir/sync.out" 2>&1
  check "$label: nephele-manage db sync" grep -q "version 6" "$dir/sync.out"
  if [ "$where" = bus ]; then
    start_daemon "sched1_$label" "$scheduler" "$dir/nephele.conf"
    start_daemon "sched2_$label" "$scheduler" "$dir/nephele.conf"
    wait_ready "sched1_$label" && wait_ready "sched2_$label"
    check "$label: two nephele-scheduler daemons are ready" test $? -eq 0
  fi
  start_daemon "cond1_$label" "$conductor" "$dir/nephele.conf"
  start_daemon "cond2_$label" "$conductor" "$dir/nephele.conf"
  start_daemon "compute_$label" "$compute" "$dir/nephele.conf"
  local c=("$client" --bus "$amqp_url" --db "$db")
  wait_ready "compute_$label" && wait_ready "cond1_$label" && wait_ready "cond2_$label"
  check "$label: the daemons are ready" test $? -eq 0

  uuids=()
  for i in $(seq 1 8); do uuids+=("$("${c[@]}" boot 2>>"$dir/client.err")"); done
  all_active=true
  for u in "${uuids[@]}"; do "${c[@]}" wait "$u" active 40 2>>"$dir/client.err" || all_active=false; done
  check "$label: 8 instances built by separate conductor and compute daemons" $all_active
  built1=$(grep -c "sent to" "$tmp/cond1_$label.log")
  built2=$(grep -c "sent to" "$tmp/cond2_$label.log")
  # Which conductor RabbitMQ hands each build to is its business (runs have
  # seen 8 and 0); what matters is that every build went through one.
  check "$label: the two conductors sent the 8 builds ($built1 and $built2)" \
    test $((built1 + built2)) -eq 8
  if [ "$where" = bus ]; then
    chose=$(cat "$tmp/sched1_$label.log" "$tmp/sched2_$label.log" | grep -c "claimed node")
    check "$label: the schedulers on the bus claimed the 8 nodes ($chose)" test "$chose" -eq 8
  fi
  u=${uuids[0]}
  "${c[@]}" action "$u" stop && "${c[@]}" wait "$u" stopped 20
  check "$label: stop over RabbitMQ" test $? -eq 0
  "${c[@]}" action "$u" start && "${c[@]}" wait "$u" active 20
  check "$label: start over RabbitMQ" test $? -eq 0
  rid=$(grep 'spawned on node' "$tmp/compute_$label.log" | grep -o 'req-[0-9a-f-]*' | tail -n 1)
  check "$label: the compute log shows the build's request id" test -n "$rid"
  check "$label: and the conductor that scheduled it logs the same id" \
    sh -c "grep 'sent to' '$tmp/cond1_$label.log' '$tmp/cond2_$label.log' | grep -q '$rid'"

  # SIGKILL the compute in the middle of a build, then start it again.  A
  # spawn takes 4 s, so even a slow (sanitizer) client sees it under way.
  v=$("${c[@]}" boot 2>>"$dir/client.err")
  for _ in $(seq 1 100); do
    "${c[@]}" show "$v" 2>/dev/null | grep -q '"task_state":"spawning"' && break
    sleep 0.1
  done
  check "$label: a build is under way" sh -c "'$client' --db '$db' show '$v' | grep -q spawning"
  eval "kill -9 \$pid_compute_$label" 2>/dev/null
  sleep 0.5
  : >"$tmp/compute_$label.log"
  start_daemon "compute_$label" "$compute" "$dir/nephele.conf"
  wait_ready "compute_$label"
  if "${c[@]}" wait "$v" error 30 2>/dev/null || "${c[@]}" wait "$v" active 1 2>/dev/null; then ok=true; else ok=false; fi
  check "$label: after SIGKILL and restart the instance is ERROR or ACTIVE, not stuck" $ok
  "${c[@]}" show "$v" >"$dir/killed.json" 2>&1
  check "$label: the restarted compute repaired it" \
    grep -q "$v was in task spawning when compute stopped: now" "$tmp/compute_$label.log"

  "${c[@]}" action "${uuids[1]}" delete && "${c[@]}" wait "${uuids[1]}" deleted 20
  check "$label: delete over RabbitMQ" test $? -eq 0

  check "$label: compute stops on SIGTERM" stop_daemon "compute_$label"
  check "$label: conductor 1 stops on SIGTERM" stop_daemon "cond1_$label"
  check "$label: conductor 2 stops on SIGTERM" stop_daemon "cond2_$label"
  check "$label: the compute log shows an orderly stop" grep -q "nephele-compute stopped" "$tmp/compute_$label.log"
  if [ "$where" = bus ]; then
    check "$label: scheduler 1 stops on SIGTERM" stop_daemon "sched1_$label"
    check "$label: scheduler 2 stops on SIGTERM" stop_daemon "sched2_$label"
  fi
  if [ $failed -gt 0 ]; then
    for f in "$tmp"/*"$label".log "$dir/client.err"; do echo "# --- $f"; tail -15 "$f" | sed 's/^/#   /'; done
  fi
}

run_daemons sqlite "sqlite:///$tmp/nephele.db"
run_daemons postgresql "$pg_daemons_url" bus

echo "1..$n"
[ "$failed" -eq 0 ]
