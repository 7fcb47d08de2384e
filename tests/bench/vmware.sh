#!/bin/bash
# make bench, vSphere rows: spawn and destroy of $NPH_BENCH_VMS (50) VMs against
# govmomi's vcsim, three ways in the same run: the bare SOAP round trips a
# spawn and a destroy need (CreateVM_Task, PowerOnVM_Task, PowerOffVM_Task,
# Destroy_Task, each followed to completion), the vmware driver's own spawn
# and destroy, and the whole stack (POST /servers of a vmdk image through
# nephele-aio's API, scheduler, conductor and compute, until ACTIVE; DELETE
# until gone).  Target: the whole stack adds under 20% to the bare round trips.
set -eu
vms=${NPH_BENCH_VMS:-50}
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

"$top_builddir/tests/bench/bench-vmware" "$URL" "$CA" "$vms" >"$tmp/bare" 2>>"$tmp/stderr"

mkdir -p "$tmp/aio/plugins.d"
printf '[driver]\nmodule = vmware\n[options]\nurl = %s\nusername = admin\npassword = s3cret\nca_file = %s\n' \
  "$URL" "$CA" >"$tmp/aio/plugins.d/vcenter.conf"
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

head -c 65536 /dev/urandom >"$tmp/disk.raw"
qemu-img convert -f raw -O vmdk "$tmp/disk.raw" "$tmp/disk.vmdk"
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

"$top_builddir/tests/bench/bench-vmware" --stack "$base" "$image" "$vms" >>"$tmp/bare" 2>>"$tmp/stderr"
kill -TERM "$aio_pid"; wait "$aio_pid" 2>/dev/null || true
aio_pid=

bare=$(awk '$1 == "bare_ms_per_vm" {print $2}' "$tmp/bare")
driver=$(awk '$1 == "driver_ms_per_vm" {print $2}' "$tmp/bare")
stack=$(awk '$1 == "stack_ms_per_vm" {print $2}' "$tmp/bare")
echo
echo "vSphere benchmarks (vcsim from govmomi 0.24 on loopback over TLS; spawn + destroy of $vms VMs;"
echo "the whole stack boots a 64 KiB vmdk image: disk copy, VM, NIC, power on; then deletes)"
printf "%-52s %12s %-4s %10s %-4s %9s\n" "benchmark" "measured" "" "bare SOAP" "" "overhead"
vrow() {
  awk -v n="$1" -v m="$2" -v b="$bare" 'BEGIN {
    printf "%-52s %12.3f %-4s %10.3f %-4s %8.0f%%\n", n, m, "ms", b, "ms", (b > 0 ? (m / b - 1) * 100 : 0) }'
}
vrow "bare SOAP round trips per VM (the reference)" "$bare"
vrow "vmware driver spawn + destroy per VM" "$driver"
vrow "whole stack (API to driver) per VM" "$stack"
echo "(overhead: measured / bare - 1; the target for the whole stack is under 20%)"
