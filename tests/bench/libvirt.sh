#!/bin/bash
# make bench, libvirt rows: the control plane's overhead on a real boot.  Ten
# times each, in the same run: POST /servers to nephele-aio until the server
# is ACTIVE (the driver reports it once libvirt says the domain runs), and
# `virsh create` of the same domain XML on a fresh overlay.  The overhead is
# the difference of the medians; the driver's own log splits out the time
# libvirt spends in define + start, so the rest is Nephele's.  TCG guests
# (the tiny guest of the tests), through a libvirtd started for this run.
set -eu
runs=${NPH_BENCH_BOOTS:-10}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-bench-lv-XXXXXX")
chmod 755 "$tmp"
aio_pid=
cleanup() {
  set +e # every step, whatever failed before
  [ -n "$aio_pid" ] && { kill -9 "$aio_pid"; wait "$aio_pid"; } 2>/dev/null
  for d in $(virsh -q -c qemu:///system list --name 2>/dev/null | grep '^bench-'); do
    virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1
  done
  bash "$top_srcdir/tests/peers/libvirtd.sh" stop "$tmp/libvirtd" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap 'status=$?; [ $status -eq 0 ] || tail -20 "$tmp/aio.log" >&2; cleanup' EXIT
guest=$top_builddir/tests/peers-cache/tiny-guest
sh "$top_srcdir/tests/lib/tiny-guest.sh" "$guest"
bash "$top_srcdir/tests/peers/libvirtd.sh" start "$tmp/libvirtd" 2>/dev/null
vsh() { virsh -q -c qemu:///system "$@"; }

mkdir -p "$tmp/aio/plugins.d"
printf '[driver]\nmodule = fake\nenabled = false\n' >"$tmp/aio/plugins.d/fake.conf"
printf '[driver]\nmodule = libvirt\n[options]\nuri = qemu:///system\nvirt_type = qemu\ninstances_path = %s\nvnc_enabled = false\n' \
  "$tmp/aio/instances" >"$tmp/aio/plugins.d/libvirt.conf"
printf '[api]\nauth_strategy = noauth2\n' >"$tmp/noauth.conf"
NEPHELE_PLUGIN_PATH="$top_builddir/drivers/libvirt/.libs" "$top_builddir/services/aio/nephele-aio" \
  --data-dir "$tmp/aio" --listen 127.0.0.1:0 --config-file "$tmp/noauth.conf" \
  >"$tmp/aio.out" 2>"$tmp/aio.log" &
aio_pid=$!
for _ in $(seq 1 100); do grep -q '^nephele-aio ready' "$tmp/aio.out" && break; sleep 0.1; done
base=$(sed -n 's/^nephele-aio ready: compute \(http:[^ ]*\)\/v2.1 .*/\1/p' "$tmp/aio.out")
[ -n "$base" ] || { echo "bench: nephele-aio did not start" >&2; exit 1; }

json() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
upload() { # FORMAT FILE [PROPERTIES JSON] -> id
  local id
  id=$(curl -sf -H 'Content-Type: application/json' \
    -d "{\"name\": \"bench-$1\", \"disk_format\": \"$1\", \"container_format\": \"$1\"${3:+, $3}}" \
    "$base/image/v2/images" | json '["id"]')
  curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$2" \
    "$base/image/v2/images/$id/file" >/dev/null
  echo "$id"
}
kernel=$(upload aki "$guest/vmlinuz")
ramdisk=$(upload ari "$guest/initrd.gz")
image=$(upload ami "$guest/disk.raw" "\"kernel_id\": \"$kernel\", \"ramdisk_id\": \"$ramdisk\", \"os_command_line\": \"$(cat "$guest/cmdline")\"")

now_ns() { date +%s%N; }
# One interpreter per boot, started before the clock: POST, then poll every
# 2 ms until ACTIVE; prints the seconds and the server id.
boot() {
  /usr/bin/python3 - "$base" "$image" <<'PY'
import json, sys, time, urllib.request
base, image = sys.argv[1], sys.argv[2]
def call(method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=body and json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)
t0 = time.monotonic()
sid = call("POST", "/v2.1/servers", {"server": {"name": "b", "imageRef": image, "flavorRef": "42"}})["server"]["id"]
while True:
    status = call("GET", "/v2.1/servers/" + sid)["server"]["status"]
    if status == "ACTIVE":
        break
    if status == "ERROR":
        sys.exit("bench: server %s went to ERROR" % sid)
    time.sleep(0.002)
print("%.4f %s" % (time.monotonic() - t0, sid))
PY
}
delete() {
  curl -s -X DELETE "$base/v2.1/servers/$1" >/dev/null
  while [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/v2.1/servers/$1")" != 404 ]; do sleep 0.05; done
}

first=$(boot | cut -d' ' -f2) # warm: the image cache, QEMU's first start
vsh dumpxml --inactive "nephele-$first" >"$tmp/domain.xml"
backing_of=$tmp/aio/instances/_base/$image # the driver's image cache
delete "$first"
# The same XML for virsh: its own name, UUID, overlay and log.
i=0
while [ $i -lt "$runs" ]; do
  boot >"$tmp/one"
  cut -d' ' -f1 "$tmp/one" >>"$tmp/nephele"
  delete "$(cut -d' ' -f2 "$tmp/one")"
  qemu-img create -q -f qcow2 -F raw -b "$backing_of" "$tmp/disk-$i"
  sed -e "s|<name>[^<]*</name>|<name>bench-$i</name>|" -e '/<uuid>/d' \
    -e "s|<source file='[^']*/disk'/>|<source file='$tmp/disk-$i'/>|" \
    -e "s|<source path='[^']*'|<source path='$tmp/console-$i.log'|" "$tmp/domain.xml" >"$tmp/bench-$i.xml"
  t0=$(now_ns)
  vsh create "$tmp/bench-$i.xml" >/dev/null
  awk -v a="$t0" -v b="$(now_ns)" 'BEGIN {printf "%.4f\n", (b - a) / 1e9}' >>"$tmp/virsh"
  vsh destroy "bench-$i" >/dev/null
  i=$((i + 1))
done

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
nephele=$(median <"$tmp/nephele")
virsh_s=$(median <"$tmp/virsh")
overhead_ms=$(awk -v a="$nephele" -v b="$virsh_s" 'BEGIN {printf "%.1f", (a - b) * 1000}')
# The driver logs how long its libvirt calls (define + start) took for each boot.
sed -n 's/.*define and start \([0-9.]*\) s$/\1/p' "$tmp/aio.log" | tail -n "$runs" >"$tmp/libvirt-calls"
calls=$(median <"$tmp/libvirt-calls")
outside_ms=$(awk -v a="$nephele" -v b="$calls" 'BEGIN {printf "%.1f", (a - b) * 1000}')
row() { # name measured unit target
  awk -v n="$1" -v m="$2" -v u="$3" -v t="$4" 'BEGIN {
    if (t == "") printf "%-52s %12.4f %-4s %15s\n", n, m, u, "(reference)";
    else printf "%-52s %12.4f %-4s %10.4f %-4s %8.1fx\n", n, m, u, t, u, (m > 0 ? t / m : 0) }'
}
echo
echo "libvirt driver benchmarks (median of $runs boots each, TCG, libvirtd $(virsh -v), tiny guest)"
printf "%-52s %17s %15s %9s\n" "benchmark" "measured" "target" "ratio"
row "API POST to ACTIVE (domain running)" "$nephele" s ""
row "virsh create of the same XML" "$virsh_s" s ""
row "  of which the driver's define + start (its log)" "$calls" s ""
row "control-plane overhead vs virsh create (medians)" "$overhead_ms" ms 50
row "control plane outside libvirt's define + start" "$outside_ms" ms 50
echo "(ratio: target / measured; above 1.0x beats the target; a negative overhead reads as 0x)"
