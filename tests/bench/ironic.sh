#!/bin/bash
# make bench, baremetal: servers POST to ACTIVE through nephele-aio and the
# ironic driver on a real Ironic (tests/peers/ironic.sh, fake-hardware), next
# to the bare Ironic deploy (PUT provision "active" until the node is
# active) measured in the same run on the same nodes.  Both sides are
# watched alike: one process polls (Ironic's node list, or the compute
# API's server list) over one connection, 50 ms between answers.  The
# target is the bare time plus 0.5 s.  A last row, not a target: 20 nodes
# deployed at once with the one PATCH every image deploy needs.  Prints its
# rows and the CPU time Ironic (one process: API and conductor) spent in
# each; run.sh calls it.
set -eu
peer="bash $top_srcdir/tests/peers/ironic.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-bench-ironic-XXXXXX")
aio_pid=
cleanup() {
  # nephele-aio may have died already: kill fails, and set -e must not end the cleanup here.
  [ -z "$aio_pid" ] || { kill -TERM "$aio_pid" 2>/dev/null || true; wait "$aio_pid" 2>/dev/null || true; }
  $peer stop "$tmp/ironic" >/dev/null 2>&1 || true
  [ -n "${NPH_BENCH_KEEP:-}" ] && echo "kept $tmp" >&2 || rm -rf "$tmp"
}
trap 'status=$?; [ $status -eq 0 ] || tail -20 "$tmp/stderr" >&2; cleanup' EXIT
N=20
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}'; }
py() { /usr/bin/python3 -c "$1"; }

NPH_PEERS_CACHE=$top_builddir/tests/peers-cache $peer start "$tmp/ironic" >/dev/null 2>>"$tmp/stderr"
. "$tmp/ironic/env"
H=(-H 'X-OpenStack-Ironic-API-Version: 1.82' -H 'Content-Type: application/json')
irn() { curl -sf -X "$1" "${H[@]}" ${3:+--data-binary "$3"} "$URL$2"; }
# Count of nodes whose FIELD is VALUE.
count() {
  irn GET "/v1/nodes?fields=uuid,$1&limit=1000" |
    py "import json,sys; print(sum(1 for n in json.load(sys.stdin)['nodes'] if n['$1'] == '$2'))"
}
# GET URL (with HEADER) until the Python expression DONE over the answer
# `doc` holds; fails at once when FAILED does.  One process and one
# connection for the whole wait: a curl and a Python started per check
# took more CPU than Ironic itself while 20 servers were built, on a
# machine where Ironic has one core of two.
poll_until() { # URL HEADER DONE [FAILED]
  /usr/bin/python3 -c '
import http.client, json, sys, time, urllib.parse
url, header, done, failed = sys.argv[1:5]
u = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
name, value = header.split(": ", 1)
while True:
    conn.request("GET", u.path + "?" + u.query, headers={name: value})
    doc = json.loads(conn.getresponse().read())
    if eval(failed):
        sys.exit(1)
    if eval(done):
        sys.exit(0)
    time.sleep(0.05)
' "$1" "$2" "$3" "${4:-False}"
}
wait_count() { # FIELD VALUE N
  poll_until "$URL/v1/nodes?fields=uuid,$1&limit=1000" "${H[1]}" \
    "sum(n['$1'] == '$2' for n in doc['nodes']) >= $3"
}
# Ironic's CPU seconds so far (user + system).
ironic_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz}' \
    "/proc/$(cat "$tmp/ironic/pid")/stat"
}
cpu_since() { awk -v a="$1" -v b="$(ironic_cpu)" 'BEGIN {printf "%.2f", b - a}'; }

# N available nodes, powered on (the fake deploy leaves the power as it
# finds it; a real one ends powered on), enrolled all at once.
for i in $(seq 1 $N); do
  irn POST /v1/nodes "{\"driver\": \"fake-hardware\", \"name\": \"bench-$i\", \"resource_class\": \"baremetal-bench\"}" |
    py "import json,sys; print(json.load(sys.stdin)['uuid'])" >>"$tmp/nodes"
done
each() { while read -r n; do irn PUT "/v1/nodes/$n/states/$1" "$2" >/dev/null; done <"$tmp/nodes"; }
each provision '{"target": "manage"}'; wait_count provision_state manageable $N
each provision '{"target": "provide"}'; wait_count provision_state available $N
each power '{"target": "power on"}'; wait_count power_state "power on" $N

# The bare deploy: PUT active, until active, one node after the other (the
# reference of the targets).
bare() { # COUNT: seconds until the first COUNT nodes are active, Ironic's CPU seconds
  local t0 c0
  head -n "$1" "$tmp/nodes" >"$tmp/batch"
  c0=$(ironic_cpu)
  t0=$(now)
  while read -r n; do irn PUT "/v1/nodes/$n/states/provision" '{"target": "active"}' >/dev/null; done <"$tmp/batch"
  wait_count provision_state active "$1"
  echo "$(since "$t0") $(cpu_since "$c0")"
  undeploy
}
undeploy() { # the nodes in $tmp/batch (tearing down clears instance_uuid and instance_info)
  while read -r n; do irn PUT "/v1/nodes/$n/states/provision" '{"target": "deleted"}' >/dev/null; done <"$tmp/batch"
  wait_count provision_state available $N
}
# A reference, not a target: the least a client deploying an image asks of
# Ironic, for all nodes at once: each node gets an instance_uuid and an
# instance_info naming the image in one PATCH (Ironic has no other way to
# be told the image), then PUT active.
imaged() { # seconds until all N nodes are active, Ironic's CPU seconds
  local t0 c0 n
  cp "$tmp/nodes" "$tmp/batch"
  c0=$(ironic_cpu)
  t0=$(now)
  while read -r n; do
    (irn PATCH "/v1/nodes/$n" "[{\"op\": \"add\", \"path\": \"/instance_uuid\", \"value\": \"$(cat /proc/sys/kernel/random/uuid)\"}, {\"op\": \"add\", \"path\": \"/instance_info\", \"value\": {\"image_source\": \"$(cat /proc/sys/kernel/random/uuid)\"}}]" >/dev/null &&
      irn PUT "/v1/nodes/$n/states/provision" '{"target": "active"}' >/dev/null) &
  done <"$tmp/batch"
  wait
  wait_count provision_state active $N
  echo "$(since "$t0") $(cpu_since "$c0")"
  undeploy
}
r=$(bare 1); read -r bare1 bare1_cpu <<<"$r"
r=$(bare $N); read -r bare20 bare20_cpu <<<"$r"
r=$(imaged); read -r image20 image20_cpu <<<"$r"

# nephele-aio with the ironic driver; enough workers for N builds at once.
mkdir -p "$tmp/aio/plugins.d"
printf '[driver]\nmodule = ironic\n[options]\nurl = %s\npower_sync_interval = 0\n' "$URL" \
  >"$tmp/aio/plugins.d/ironic.conf"
printf '[api]\nauth_strategy = noauth2\n[compute]\nworkers = 32\nresource_update_interval = 1\n[quota]\ninstances = -1\ncores = -1\nram = -1\n' \
  >"$tmp/aio.conf"
NEPHELE_PLUGIN_PATH="$top_builddir/drivers/ironic-baremetal/.libs" \
  "$top_builddir/services/aio/nephele-aio" --data-dir "$tmp/aio" --listen 127.0.0.1:0 \
  --config-file "$tmp/aio.conf" >"$tmp/aio.out" 2>>"$tmp/stderr" &
aio_pid=$!
until grep -q '^nephele-aio ready' "$tmp/aio.out" 2>/dev/null; do
  kill -0 "$aio_pid" 2>/dev/null || { echo "bench: nephele-aio did not start" >&2; exit 1; }
  sleep 0.05
done
api=$(sed -n 's/^nephele-aio ready: compute \([^ ]*\) .*/\1/p' "$tmp/aio.out")
api() { curl -sf -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$api$2"; }
api POST /flavors '{"flavor": {"name": "bm.bench", "ram": 1024, "vcpus": 1, "disk": 10, "id": "bm"}}' >/dev/null
api POST /flavors/bm/os-extra_specs '{"extra_specs": {"resources:CUSTOM_BAREMETAL_BENCH": "1", "resources:VCPU": "0", "resources:MEMORY_MB": "0", "resources:DISK_GB": "0"}}' >/dev/null
image=$(api GET /images | py "import json,sys; print(json.load(sys.stdin)['images'][0]['id'])")
# Every node free again in placement (a node is reserved while it had a server).
free_nodes() {
  curl -s -H 'OpenStack-API-Version: placement 1.26' \
    "${api%/v2.1}/placement/resource_providers?resources=CUSTOM_BAREMETAL_BENCH:1" |
    py "import json,sys; print(len(json.load(sys.stdin)['resource_providers']))"
}

boot() { # COUNT: seconds from the first POST until all are ACTIVE, Ironic's CPU seconds
  local t0 c0
  until [ "$(free_nodes)" -ge "$1" ] && [ "$(count provision_state available)" -ge $N ]; do sleep 0.1; done
  c0=$(ironic_cpu)
  t0=$(now)
  for i in $(seq 1 "$1"); do
    api POST /servers "{\"server\": {\"name\": \"bm-$i\", \"flavorRef\": \"bm\", \"imageRef\": \"$image\"}}" >/dev/null
  done
  poll_until "$api/servers/detail" "Accept: application/json" \
    "sum(s['status'] == 'ACTIVE' for s in doc['servers']) >= $1" \
    "any(s['status'] == 'ERROR' for s in doc['servers'])" ||
    { echo "bench: a baremetal server went to ERROR" >&2; exit 1; }
  echo "$(since "$t0") $(cpu_since "$c0")"
  for id in $(api GET /servers | py "import json,sys; print(' '.join(s['id'] for s in json.load(sys.stdin)['servers']))"); do
    api DELETE "/servers/$id" >/dev/null
  done
  until [ "$(api GET /servers | tr -d ' ')" = '{"servers":[]}' ]; do sleep 0.1; done
}
r=$(boot 1); read -r nph1 nph1_cpu <<<"$r"
r=$(boot $N); read -r nph20 nph20_cpu <<<"$r"

row() { # name measured target
  awk -v n="$1" -v m="$2" -v t="$3" 'BEGIN {
    printf "%-52s %12.3f %-4s %10.3f %-4s %8.1fx\n", n, m, "s", t, "s", (m > 0 ? t / m : 0) }'
}
echo
echo "Baremetal benchmarks (Ironic 21 fake-hardware on loopback, started for this run; the target"
echo "is the bare Ironic deploy measured here plus 0.5 s; Nova polls Ironic every 2 s)"
printf "%-52s %17s %15s %9s\n" "benchmark" "measured" "target" "ratio"
row "Ironic alone: 1 node PUT active to active" "$bare1" "$bare1"
row "1 baremetal server POST to ACTIVE" "$nph1" "$(awk -v b="$bare1" 'BEGIN {print b + 0.5}')"
row "Ironic alone: $N nodes PUT active to active" "$bare20" "$bare20"
row "$N baremetal servers POST to ACTIVE" "$nph20" "$(awk -v b="$bare20" 'BEGIN {print b + 0.5}')"
row "Ironic alone: $N x (PATCH image, PUT active) at once" "$image20" "$image20"
echo "(ratio: target / measured; above 1.0x beats the target)"
echo "Ironic's CPU seconds in these rows (its API and conductor are one process, one core):"
echo "$bare1_cpu, $nph1_cpu, $bare20_cpu, $nph20_cpu, $image20_cpu.  Besides the deploy, a build through"
echo "Nephele writes instance_uuid and instance_info in one PATCH, as the last row does (the least a"
echo "deploy of an image asks of Ironic), and validates the node's interfaces."
