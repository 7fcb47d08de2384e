#!/bin/bash
# make bench, vSphere rows: spawn and destroy of $NPH_BENCH_VMS (50) VMs from a
# vmdk image against govmomi's vcsim, three ways, in $NPH_BENCH_ROUNDS (5)
# rounds that take turns, so the reference and the stack see the same load:
#  - the reference, bare SOAP round trips: MakeDirectory, CopyVirtualDisk_Task
#    (the guest's root disk from the image, which is on the datastore already),
#    CreateVM_Task with the ConfigSpec the driver would send (that disk, a NIC,
#    CPUs and memory), PowerOnVM_Task, PowerOffVM_Task, Destroy_Task, each task
#    followed to completion, one call at a time, one VM after another;
#  - the vmware driver's own spawn and destroy, one VM after another;
#  - the whole stack: POST /servers of the vmdk image through nephele-aio's
#    API, scheduler, conductor and compute until ACTIVE, then DELETE until gone
#    (the compute service builds several at once, each on a session of the
#    driver's pool);
#  - for comparison, the bare round trips of $pool VMs at a time, on $pool
#    sessions: how fast vcsim goes when nothing but the SOAP client runs beside
#    it (the whole stack's floor on this machine's cores).
# Each row is the median of the rounds; the overhead is the median of each
# round's ratio to the reference.  Target: the whole stack adds under 20% to
# the reference; drivers/vmware/README.md says where the time goes.
set -eu
vms=${NPH_BENCH_VMS:-50}
rounds=${NPH_BENCH_ROUNDS:-9}
pool=8 # the driver's default connection_pool_size
node=DC0_C0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-bench-vmw-XXXXXX")
aio_pid=
cleanup() {
  [ -n "$aio_pid" ] && kill -9 "$aio_pid" 2>/dev/null
  bash "$top_srcdir/tests/peers/vcsim.sh" stop "$tmp/vcsim" >/dev/null 2>&1 || true
  [ -n "${NPH_BENCH_KEEP:-}" ] && echo "kept $tmp" >&2 || rm -rf "$tmp"
}
trap 'status=$?; [ $status -eq 0 ] || tail -20 "$tmp/stderr" >&2; cleanup' EXIT
bash "$top_srcdir/tests/peers/vcsim.sh" start "$tmp/vcsim" -username admin -password s3cret \
  >/dev/null 2>>"$tmp/stderr"
. "$tmp/vcsim/env"
vcsim_pid=$PID

head -c 65536 /dev/urandom >"$tmp/disk.raw"
qemu-img convert -f raw -O vmdk "$tmp/disk.raw" "$tmp/disk.vmdk"

# One cluster, the one the reference uses; the fake driver takes qcow2 images.
mkdir -p "$tmp/aio/plugins.d"
printf '[driver]\nmodule = vmware\n[options]\nurl = %s\nusername = admin\npassword = s3cret\nca_file = %s\nclusters = %s\n' \
  "$URL" "$CA" "$node" >"$tmp/aio/plugins.d/vcenter.conf"
printf '[driver]\nmodule = fake\n[options]\nimage_formats = qcow2\n' >"$tmp/aio/plugins.d/fake.conf"
# vcsim's hosts are small (4 GiB each): overcommit so that 50 guests fit.
printf '[DEFAULT]\nram_allocation_ratio = 16\ncpu_allocation_ratio = 64\n[api]\nauth_strategy = noauth2\n[quota]\ninstances = -1\ncores = -1\nram = -1\n' >"$tmp/aio.conf"
NEPHELE_PLUGIN_PATH="$top_builddir/drivers/vmware/.libs:$top_builddir/drivers/fake/.libs" \
  "$top_builddir/services/aio/nephele-aio" --data-dir "$tmp/aio" --listen 127.0.0.1:0 \
  --driver fake --config-file "$tmp/aio.conf" >"$tmp/aio.out" 2>>"$tmp/stderr" &
aio_pid=$!
for _ in $(seq 1 200); do
  grep -q '^nephele-aio ready' "$tmp/aio.out" 2>/dev/null && break
  kill -0 "$aio_pid" 2>/dev/null || { echo "bench: nephele-aio did not start" >&2; exit 1; }
  sleep 0.05
done
base=$(sed -n 's/^nephele-aio ready: compute \(http:[^ ]*\)\/v2.1 .*/\1/p' "$tmp/aio.out")
api() { curl -s -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} "$base$2"; }
count() { api GET "/v2.1/servers/detail" | /usr/bin/python3 -c "import json,sys
d = json.load(sys.stdin)['servers']
print(sum(1 for s in d if s['status'] == '$1'), len(d))"; }

image=$(api POST /image/v2/images '{"name": "bench-vmdk", "disk_format": "vmdk", "container_format": "bare", "hypervisor_type": "vmware"}' |
  /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
curl -s -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$tmp/disk.vmdk" \
  "$base/image/v2/images/$image/file" >/dev/null
# One server first: the image goes to the datastore once, outside the timing.
api POST /v2.1/servers "{\"server\": {\"name\": \"warm\", \"flavorRef\": \"1\", \"imageRef\": \"$image\"}}" >/dev/null
until [ "$(count ACTIVE)" = "1 1" ]; do sleep 0.05; done
warm=$(api GET "/v2.1/servers" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['servers'][0]['id'])")
api DELETE "/v2.1/servers/$warm" >/dev/null
until [ "$(count ACTIVE)" = "0 0" ]; do sleep 0.05; done

# CPU time (ms) a process has used so far.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
# One run of bench-vmware: its ms per VM, then the CPU ms per VM it, vcsim and
# nephele-aio used meanwhile.
run() {
  local v0 a0 v1 a1
  v0=$(cpu_ms "$vcsim_pid") a0=$(cpu_ms "$aio_pid")
  "$top_builddir/tests/bench/bench-vmware" "$@" >"$tmp/run" 2>>"$tmp/stderr"
  v1=$(cpu_ms "$vcsim_pid") a1=$(cpu_ms "$aio_pid")
  awk -v v="$v1" -v V="$v0" -v a="$a1" -v A="$a0" -v n="$vms" '
    /_ms_per_vm/ && !/^cpu/ {ms = $2} /^cpu_ms_per_vm/ {cpu = $2}
    END {printf "%s %s %s %s", ms, cpu, (v - V) / n, (a - A) / n}' "$tmp/run"
}
for r in $(seq 1 "$rounds"); do
  echo "$(run --bare "$URL" "$CA" "$node" "$tmp/disk.vmdk" "$vms")" \
    "$(run --driver "$URL" "$CA" "$node" "$tmp/disk.vmdk" "$vms")" \
    "$(run --stack "$base" "$image" "$vms")" \
    "$(run --bare "$URL" "$CA" "$node" "$tmp/disk.vmdk" "$vms" "$pool")" >>"$tmp/rounds"
done
kill -TERM "$aio_pid"; wait "$aio_pid" 2>/dev/null || true
aio_pid=

# Column $1 of the rounds, median.  Columns: ms per VM, then CPU ms per VM of
# the client, vcsim and nephele-aio, for the bare reference (1-4), the driver
# (5-8), the whole stack (9-12) and the bare round trips on $pool sessions (13-16).
median() { awk -v c="$1" '{print $c}' "$tmp/rounds" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
# Median over the rounds of column $1 / column $2 (default: the reference) - 1,
# in percent.
overhead() { awk -v c="$1" -v r="${2:-1}" '{print ($c / $r - 1) * 100}' "$tmp/rounds" | sort -g |
  awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
bare=$(median 1)
echo
echo "vSphere benchmarks (vcsim from govmomi 0.24 on loopback over TLS; spawn + destroy of $vms VMs"
echo "from a 64 KiB vmdk image: folder, disk copy, VM with disk and NIC, power on; then power off"
echo "and destroy; median of $rounds rounds that take turns)"
printf "%-52s %12s %-4s %10s %-4s %9s\n" "benchmark" "measured" "" "bare SOAP" "" "overhead"
vrow() {
  awk -v n="$1" -v m="$2" -v b="$bare" -v o="$3" 'BEGIN {
    printf "%-52s %12.3f %-4s %10.3f %-4s %8.0f%%\n", n, m, "ms", b, "ms", o }'
}
vrow "bare SOAP round trips per VM (the reference)" "$bare" 0
vrow "vmware driver spawn + destroy per VM" "$(median 5)" "$(overhead 5)"
vrow "whole stack (API to driver) per VM" "$(median 9)" "$(overhead 9)"
vrow "bare round trips, $pool VMs at a time (comparison)" "$(median 13)" "$(overhead 13)"
echo "(overhead: median of each round's measured / bare - 1; the target for the whole stack is under 20%;"
printf "the whole stack against the bare round trips %s VMs at a time: %+.0f%%)\n" "$pool" "$(overhead 9 13)"
printf "CPU ms per VM on %s cores: bare: client %.2f vcsim %.2f; driver: client %.2f vcsim %.2f;\n" \
  "$(nproc)" "$(median 2)" "$(median 3)" "$(median 6)" "$(median 7)"
printf "  whole stack: client %.2f vcsim %.2f nephele-aio (API to driver) %.2f;\n" \
  "$(median 10)" "$(median 11)" "$(median 12)"
printf "  bare, %s at a time: client %.2f vcsim %.2f\n" "$pool" "$(median 14)" "$(median 15)"
