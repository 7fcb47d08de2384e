#!/bin/sh
# make bench: the foundation's benchmarks, printed as a table with the ratio of
# each target to the measured median (above 1.0 means better than the target).
# Timings are medians of fresh processes; this is a benchmark, never a test.
set -eu
runs=${NPH_BENCH_RUNS:-11}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-bench-XXXXXX")
chmod 755 "$tmp"
cleanup() {
  bash "$top_srcdir/tests/peers/rabbitmq.sh" stop "$tmp/rabbitmq" >/dev/null 2>&1 || true
  bash "$top_srcdir/tests/peers/postgresql.sh" stop "$tmp/postgresql" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
# The programs' log lines go to $tmp/stderr, shown only when a step fails.
trap 'status=$?; [ $status -eq 0 ] || tail -20 "$tmp/stderr" >&2; cleanup' EXIT
mkdir "$tmp/plugins.d"
printf '[driver]\nmodule = fake\n[options]\nnode_count = 10000\n' >"$tmp/plugins.d/fake.conf"
export NEPHELE_PLUGIN_PATH="$top_builddir/drivers/fake/.libs"
load="$top_builddir/tests/bench/bench-load"
manage="$top_builddir/services/manage/.libs/nephele-manage"

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
now_ns() { date +%s%N; }

i=0
while [ $i -lt "$runs" ]; do
  "$load" "$tmp/plugins.d" >>"$tmp/load" 2>>"$tmp/stderr"
  # Time the real binary, not libtool's wrapper script around it.
  t0=$(now_ns)
  LD_LIBRARY_PATH="$top_builddir/core/.libs" "$manage" --plugins-dir "$tmp/plugins.d" \
    driver list >"$tmp/list" 2>>"$tmp/stderr"
  t1=$(now_ns)
  echo "$(( (t1 - t0) / 1000 ))" >>"$tmp/list-us"
  i=$((i + 1))
done
grep -q ' 10000 ' "$tmp/list" || { echo "bench: driver list did not report 10000 nodes" >&2; exit 1; }
nodes=$(awk 'NR == 1 {print $3}' "$tmp/load")
[ "$nodes" = 10000 ] || { echo "bench: loaded $nodes nodes, not 10000" >&2; exit 1; }

load_s=$(awk '{print $1}' "$tmp/load" | median)
rss_kib=$(awk '{print $2}' "$tmp/load" | median)
list_s=$(median <"$tmp/list-us" | awk '{printf "%.6f", $1 / 1e6}')

row() { # name measured unit target
  awk -v n="$1" -v m="$2" -v u="$3" -v t="$4" 'BEGIN {
    printf "%-52s %12.4f %-4s %10.4f %-4s %8.1fx\n", n, m, u, t, u, (m > 0 ? t / m : 0) }'
}
echo
echo "Nephele foundation benchmarks (median of $runs fresh processes, fake driver, 10,000 nodes)"
printf "%-52s %17s %15s %9s\n" "benchmark" "measured" "target" "ratio"
row "load + start + read every node's resources (time)" "$load_s" s 0.2
row "load + start + read every node's resources (peak RSS)" "$(awk -v k="$rss_kib" 'BEGIN {print k / 1024}')" MiB 20
row "nephele-manage driver list (wall time)" "$list_s" s 0.3
echo "(ratio = target / measured; above 1.0x beats the target)"

# --- control plane: the bus and the database, with a real RabbitMQ and PostgreSQL.
bash "$top_srcdir/tests/peers/rabbitmq.sh" start "$tmp/rabbitmq" >/dev/null
bash "$top_srcdir/tests/peers/postgresql.sh" start "$tmp/postgresql" >/dev/null
amqp_url=$(. "$tmp/rabbitmq/env"; echo "$URL")
pg_url=$(. "$tmp/postgresql/env"; echo "$URL")
value() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
"$top_builddir/tests/bench/bench-bus" inproc:// 200000 20000 >"$tmp/bus-inproc" 2>>"$tmp/stderr"
"$top_builddir/tests/bench/bench-bus" "$amqp_url" 20000 2000 >"$tmp/bus-amqp" 2>>"$tmp/stderr"
"$top_builddir/tests/bench/bench-db" "sqlite:///$tmp/bench.db" 5000 >"$tmp/db-sqlite" 2>>"$tmp/stderr"
"$top_builddir/tests/bench/bench-db" "$pg_url" 2000 >"$tmp/db-pg" 2>>"$tmp/stderr"

higher() { # name measured unit target: ratio = measured / target
  awk -v n="$1" -v m="$2" -v u="$3" -v t="$4" 'BEGIN {
    printf "%-52s %12.0f %-4s %10.0f %-4s %8.1fx\n", n, m, u, t, u, (t > 0 ? m / t : 0) }'
}
echo
echo "Control-plane benchmarks (RabbitMQ 3.10 and PostgreSQL 15 on loopback, started for this run)"
printf "%-52s %17s %15s %9s\n" "benchmark" "measured" "target" "ratio"
higher "bus inproc: casts per second" "$(value casts_per_s "$tmp/bus-inproc")" "/s" 200000
row "bus inproc: call round trip p50" "$(value call_p50_us "$tmp/bus-inproc")" us 20
row "bus inproc: call round trip p99" "$(value call_p99_us "$tmp/bus-inproc")" us 200
higher "bus AMQP (publisher confirms): casts per second" "$(value casts_per_s "$tmp/bus-amqp")" "/s" 10000
row "bus AMQP: call round trip p50" "$(value call_p50_us "$tmp/bus-amqp")" us 1000
row "bus AMQP: call round trip p99" "$(value call_p99_us "$tmp/bus-amqp")" us 5000
higher "SQLite: instance creates + 3 transitions per second" "$(value creates_per_s "$tmp/db-sqlite")" "/s" 5000
higher "PostgreSQL: instance creates + 3 transitions per second" "$(value creates_per_s "$tmp/db-pg")" "/s" 1000
echo "(ratio: target / measured for times, measured / target for rates; above 1.0x beats the target)"

# --- placement: 10,000 nodes as resource providers, on SQLite and PostgreSQL.
"$top_builddir/tests/bench/bench-placement" "sqlite:///$tmp/placement.db" 10000 \
  >"$tmp/placement-sqlite" 2>>"$tmp/stderr"
runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/createdb" \
  -h 127.0.0.1 -p "$(. "$tmp/postgresql/env"; echo "$PORT")" -U postgres placement
"$top_builddir/tests/bench/bench-placement" "${pg_url%/nephele}/placement" 10000 \
  >"$tmp/placement-pg" 2>>"$tmp/stderr"
echo
echo "Placement benchmarks (10,000 providers with VCPU, MEMORY_MB, DISK_GB and traits; a flavor of"
echo "2 VCPU, 4 GiB, 40 GB; the scheduler's decision budget is 2 ms at p99)"
printf "%-52s %17s %15s %9s\n" "benchmark" "measured" "target" "ratio"
for db in sqlite pg; do
  f="$tmp/placement-$db"
  row "$db: first report of 10,000 nodes (providers, inventories)" "$(value sync_s "$f")" s 10
  row "$db: candidates for the scheduler, limit 1000: p50" "$(value each_limit1000_p50_ms "$f")" ms 2
  row "$db: candidates for the scheduler, limit 1000: p99" "$(value each_limit1000_p99_ms "$f")" ms 2
  row "$db: GET /allocation_candidates body, limit 1000: p50" "$(value limit1000_p50_ms "$f")" ms 20
  row "$db: claim (PUT allocations of one consumer): p99" "$(value claim_p99_ms "$f")" ms 2
done
echo "(ratio: target / measured; above 1.0x beats the target)"

# --- the compute API: nephele-aio on a free port with 16 fake nodes.
aio_dir="$tmp/aio"
mkdir -p "$aio_dir/plugins.d"
printf '[driver]\nmodule = fake\n[options]\nnode_count = 16\nvcpus = 64\nmemory_mb = 262144\n' \
  >"$aio_dir/plugins.d/fake.conf"
# noauth2: the benchmark measures the compute API, not token checks.
printf '[api]\nauth_strategy = noauth2\n[quota]\ninstances = -1\ncores = -1\nram = -1\n' \
  >"$tmp/unlimited.conf"
t0=$(now_ns)
"$top_builddir/services/aio/nephele-aio" --data-dir "$aio_dir" --listen 127.0.0.1:0 \
  --config-file "$tmp/unlimited.conf" \
  >"$tmp/aio.out" 2>>"$tmp/stderr" &
aio_pid=$!
trap 'status=$?; kill -9 $aio_pid 2>/dev/null || true; [ $status -eq 0 ] || tail -20 "$tmp/stderr" >&2; cleanup' EXIT
while ! grep -q '^nephele-aio ready' "$tmp/aio.out" 2>/dev/null; do
  kill -0 $aio_pid 2>/dev/null || { echo "bench: nephele-aio did not start" >&2; exit 1; }
  sleep 0.005
done
t1=$(now_ns)
ready_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", (b - a) / 1e9}')
sleep 2
idle_rss_mib=$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' /proc/$aio_pid/status)
api_port=$(sed -n 's/^nephele-aio ready: compute http:\/\/127.0.0.1:\([0-9]*\)\/.*/\1/p' "$tmp/aio.out")
image=$(curl -s "http://127.0.0.1:$api_port/v2.1/images" | sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p')
"$top_builddir/tests/bench/bench-api" "$api_port" "$image" >"$tmp/api" 2>>"$tmp/stderr"
kill -TERM $aio_pid; wait $aio_pid 2>/dev/null || true

echo
echo "Compute API benchmarks (nephele-aio: SQLite, in-process bus, fake driver with 16 nodes)"
echo "Nova 26 with Placement on these machines, for scale: ready in 42 s, 1,760 MiB idle, 50 servers"
echo "ACTIVE in 60 s, GET /servers/detail 1.41 s at 500 servers."
printf "%-52s %17s %15s %9s\n" "benchmark" "measured" "target" "ratio"
row "nephele-aio cold start to ready" "$ready_s" s 0.5
row "nephele-aio idle RSS" "$idle_rss_mib" MiB 35
row "500 servers POST to ACTIVE, 1 client" "$(value boot_seq_s "$tmp/api")" s 5
row "500 servers POST to ACTIVE, 10 clients" "$(value boot_conc_s "$tmp/api")" s 5
row "GET /servers/detail, 1,000 servers: p50" "$(value detail_p50_ms "$tmp/api")" ms 10
row "GET /servers/detail, 1,000 servers: p99" "$(value detail_p99_ms "$tmp/api")" ms 50
higher "GET /servers/detail, 1,000 servers: requests/s" "$(value detail_rps "$tmp/api")" "/s" 100
echo "(ratio: target / measured for times, measured / target for rates; above 1.0x beats the target)"

# --- the scheduler: default filters and weighers, each decision with its claim.
"$top_builddir/tests/bench/bench-scheduler" "$tmp/sched-1k.db" 1000 2000 >"$tmp/sched-1k" 2>>"$tmp/stderr"
"$top_builddir/tests/bench/bench-scheduler" "$tmp/sched-10k.db" 10000 2000 >"$tmp/sched-10k" 2>>"$tmp/stderr"
echo
echo "Scheduler benchmarks (SQLite, one scheduler, nodes on 10 hosts, default filters and weighers)"
printf "%-52s %17s %15s %9s\n" "benchmark" "measured" "target" "ratio"
higher "1,000 nodes: scheduling decisions per second" "$(value decisions_per_s "$tmp/sched-1k")" "/s" 1000
row "1,000 nodes: decision + claim p50" "$(value p50_ms "$tmp/sched-1k")" ms 2
row "1,000 nodes: decision + claim p99" "$(value p99_ms "$tmp/sched-1k")" ms 2
higher "10,000 nodes: scheduling decisions per second" "$(value decisions_per_s "$tmp/sched-10k")" "/s" 1000
row "10,000 nodes: decision + claim p50" "$(value p50_ms "$tmp/sched-10k")" ms 2
row "10,000 nodes: decision + claim p99" "$(value p99_ms "$tmp/sched-10k")" ms 2
echo "(ratio: target / measured for times, measured / target for rates; above 1.0x beats the target)"

# --- the libvirt driver: real TCG boots through a libvirtd started for this run.
if [ -e "$top_builddir/drivers/libvirt/.libs/libvirt.so" ]; then
  if [ "$(id -u)" -eq 0 ]; then
    bash "$top_srcdir/tests/bench/libvirt.sh"
  else
    echo; echo "libvirt driver benchmarks: not run (a system libvirtd needs root)"
  fi
fi

# --- the vmware driver against vcsim, when it was built.
if [ -f "$top_builddir/drivers/vmware/vmware.la" ]; then
  bash "$top_srcdir/tests/bench/vmware.sh"
else
  echo
  echo "vSphere benchmarks: not run (the vmware driver was not built)"
fi

# --- baremetal: the ironic driver against a real Ironic, when it was built.
if [ -f "$top_builddir/drivers/ironic-baremetal/.libs/ironic.so" ]; then
  bash "$top_srcdir/tests/bench/ironic.sh"
else
  echo; echo "Baremetal benchmarks: not run (the ironic driver was not built)"
fi
