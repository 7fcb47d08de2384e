#!/bin/bash
# The vmware driver through the whole stack: Debian's openstack CLI ->
# nephele-aio (API, scheduler, conductor, compute) -> the vmware driver ->
# govmomi's vcsim, next to a fake KVM-like node in the same cloud.  A server
# whose image is vmdk lands on a vSphere node, a qcow2 one on the KVM node;
# the vSphere server is stopped, started, rebooted (soft and hard),
# snapshotted (a vmdk image qemu-img reads back) and deleted, its files
# appearing on and leaving the simulator's datastore; an image the driver
# cannot use (streamOptimized) leaves the server in ERROR with a fault.
# The CLI is slow to start (~2 s a call) and its --wait polls every 5 s:
# the waiting is done here, through curl.
# TAP output.
set -u
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/aio.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-vmware-XXXXXX")
cleanup() {
  stop_aio
  bash "$top_srcdir/tests/peers/vcsim.sh" stop "$tmp/vcsim"
  [ -n "${NPH_TEST_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
[ -x /usr/bin/openstack ] || bail "/usr/bin/openstack is missing (bash .ci/deps installs python3-openstackclient)"
command -v qemu-img >/dev/null || bail "qemu-img is missing (bash .ci/deps installs qemu-utils)"

bash "$top_srcdir/tests/peers/vcsim.sh" start "$tmp/vcsim" -username admin -password s3cret ||
  bail "vcsim did not start"
. "$tmp/vcsim/env"
mkdir -p "$tmp/aio/plugins.d"
cat >"$tmp/aio/plugins.d/vcenter.conf" <<CONF
[driver]
module = vmware
[options]
url = $URL
username = admin
password = s3cret
ca_file = $CA
CONF
cat >"$tmp/aio/plugins.d/fake.conf" <<CONF
[driver]
module = fake
[options]
node_count = 1
node_name_prefix = kvm
hypervisor_type = QEMU
image_formats = qcow2,raw
CONF
AIO_PLUGIN_PATH="$top_builddir/drivers/vmware/.libs:$top_builddir/drivers/fake/.libs" start_aio "$tmp/aio"
. "$tmp/aio/openrc"

# Every CLI call is bounded: a --wait on a server that never settles fails.
os() {
  timeout 120 /usr/bin/openstack "$@" >"$tmp/out" 2>&1 && return 0
  echo "#   openstack $* failed:"; sed 's/^/#   /' "$tmp/out" | tail -5; return 1
}
out() { sed '/./,$!d' "$tmp/out"; }
out_has() { grep -q -- "$1" "$tmp/out" || { echo "#   output lacks '$1':"; sed 's/^/#   /' "$tmp/out" | head -20; return 1; }; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$1')); print($2)" 2>/dev/null; }

# The API directly, with a token of the same user.
token=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' "$OS_AUTH_URL/auth/tokens" \
  --data-binary "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": {\"name\": \"$OS_USERNAME\", \"domain\": {\"name\": \"Default\"}, \"password\": \"$OS_PASSWORD\"}}}, \"scope\": {\"project\": {\"name\": \"$OS_PROJECT_NAME\", \"domain\": {\"name\": \"Default\"}}}}}" |
  tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
[ -n "$token" ] || bail "no token from the built-in identity"
server() { curl -s -H "X-Auth-Token: $token" "$aio_endpoint/servers/$1" >"$tmp/server.json"; }
field() { server "$1"; json "$tmp/server.json" "d['server'].get('$2')"; }
status_is() { # SERVER STATUS: with no task under way, within 30 s
  for _ in $(seq 1 150); do
    server "$1"
    [ "$(json "$tmp/server.json" "d['server']['status'] + ' ' + str(d['server'].get('OS-EXT-STS:task_state'))")" = "$2 None" ] && return 0
    sleep 0.2
  done
  echo "#   $1 is $(field "$1" status)"; return 1
}
# A file on the simulator's datastore: the HTTP status of a HEAD.
ds_file() {
  curl -s -o /dev/null -w '%{http_code}' -I --cacert "$CA" \
    "${URL%/sdk}/folder/$1?dcPath=DC0&dsName=LocalDS_0"
}
create() { # NAME IMAGE: server create, then wait for ACTIVE; sets id and where
  os server create --flavor m1.tiny --image "$2" -f value -c id "$1" || return 1
  id=$(out)
  status_is "$id" ACTIVE || return 1
  where=$(json "$tmp/server.json" "d['server']['OS-EXT-SRV-ATTR:hypervisor_hostname']")
}

api() { # METHOD PATH [JSON]: the response body in $tmp/api.json
  curl -s -X "$1" -H "X-Auth-Token: $token" -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"} "${aio_endpoint%/v2.1}$2" >"$tmp/api.json"
}
upload() { # NAME FILE [PROPERTY JSON]: an image through the image API; prints its id
  api POST /image/v2/images "{\"name\": \"$1\", \"disk_format\": \"vmdk\", \"container_format\": \"bare\"${3:+, $3}}"
  local image; image=$(json "$tmp/api.json" "d['id']")
  curl -s -X PUT -H "X-Auth-Token: $token" -H 'Content-Type: application/octet-stream' \
    --data-binary "@$2" "${aio_endpoint%/v2.1}/image/v2/images/$image/file" >/dev/null
  echo "$image"
}
boot() { # NAME IMAGE-ID: POST /servers; prints the server's id
  api POST /v2.1/servers "{\"server\": {\"name\": \"$1\", \"flavorRef\": \"1\", \"imageRef\": \"$2\"}}"
  json "$tmp/api.json" "d['server']['id']"
}
settled() { # SERVER: until ACTIVE or ERROR
  for _ in $(seq 1 150); do
    case $(field "$1" status) in ACTIVE|ERROR) return 0 ;; esac
    sleep 0.2
  done
}

api GET /v2.1/os-hypervisors/detail
hv=$(json "$tmp/api.json" "' '.join(sorted(h['hypervisor_hostname'] + '=' + h['hypervisor_type'] for h in d['hypervisors']))")
check "hypervisors: the vSphere cluster, the standalone ESXi host and the KVM-like node" \
  test "$hv" = "DC0_C0=VMware vCenter Server DC0_H0=VMware vCenter Server kvm-1=QEMU"

head -c 2097152 /dev/urandom >"$tmp/disk.raw"
qemu-img convert -f raw -O vmdk "$tmp/disk.raw" "$tmp/disk.vmdk"
qemu-img convert -f raw -O qcow2 "$tmp/disk.raw" "$tmp/disk.qcow2"
qemu-img convert -f raw -O vmdk -o subformat=streamOptimized "$tmp/disk.raw" "$tmp/stream.vmdk"
# hypervisor_type sends each image to its kind of node (ImagePropertiesFilter).
check "image create (vmdk)" os image create --disk-format vmdk --container-format bare \
  --property hypervisor_type=vmware --file "$tmp/disk.vmdk" vmdk-image
check "image create (qcow2)" os image create --disk-format qcow2 --container-format bare \
  --property hypervisor_type=qemu --file "$tmp/disk.qcow2" qcow2-image

check "server create from the vmdk image: ACTIVE" create vs-1 vmdk-image
vs1=$id
check "on a vSphere node ($where)" test "$where" = DC0_C0 -o "$where" = DC0_H0
vs1_node=$where
check "its VM's files are on the datastore" test "$(ds_file "$vs1/$vs1.vmx")" = 200
check "with the image's disk copied for it" test "$(ds_file "$vs1/$vs1-flat.vmdk")" = 200
check "server create from the qcow2 image: ACTIVE" create kvm-vm qcow2-image
check "on the KVM-like node" test "$where" = kvm-1

check "server stop" os server stop vs-1
check "vs-1 is SHUTOFF" status_is "$vs1" SHUTOFF
check "server start" os server start vs-1
check "vs-1 is ACTIVE" status_is "$vs1" ACTIVE
check "server reboot (soft: vcsim has no RebootGuest, so a reset)" os server reboot vs-1
check "vs-1 is ACTIVE" status_is "$vs1" ACTIVE
check "server reboot --hard" os server reboot --hard vs-1
check "vs-1 is ACTIVE" status_is "$vs1" ACTIVE

# An interface plugged into vs-1 and out again.  Nephele has no network
# service, so no API path reaches the driver's attach/detach_interface:
# nph-driver-op calls them through the plugin loader, on the same options.
driver_op() {
  NEPHELE_PLUGIN_PATH="$top_builddir/drivers/vmware/.libs" \
    "$top_builddir/tests/tools/nph-driver-op" "$tmp/aio/plugins.d/vcenter.conf" "$@" >"$tmp/out" 2>&1 && return 0
  echo "#   nph-driver-op $* failed:"; grep -v ' INFO ' "$tmp/out" | sed 's/^/#   /' | tail -3; return 1
}
refused() { # WANT-IN-MESSAGE nph-driver-op ARGS...: fails, saying so
  local want=$1; shift
  ! driver_op "$@" >/dev/null && grep -q "$want" "$tmp/out" ||
    { echo "#   want a refusal with '$want':"; tail -1 "$tmp/out" | sed 's/^/#   /'; return 1; }
}
port=5e1f0000-0000-4000-8000-0000000000a1
check "attach an interface to vs-1 (driver attach_interface)" \
  driver_op attach-interface "$vs1" "$vs1_node" "$port" fa:16:3e:00:00:a1
check "detach it, found by its port" driver_op detach-interface "$vs1" "$port"
check "detaching it again is refused: no interface for that port" \
  refused "no interface for port $port" detach-interface "$vs1" "$port"

check "server image create" os server image create --name vs-1-snap vs-1 -f value -c id
snap=$(out)
image_active() {
  for _ in $(seq 1 150); do
    curl -s -H "X-Auth-Token: $token" "$aio_endpoint/images/$snap" >"$tmp/image.json"
    [ "$(json "$tmp/image.json" "d['image']['status']")" = ACTIVE ] && return 0
    sleep 0.2
  done
  echo "#   $(cat "$tmp/image.json")"; return 1
}
check "the snapshot becomes active" image_active
check "vs-1 is ACTIVE" status_is "$vs1" ACTIVE
curl -s -H "X-Auth-Token: $token" -o "$tmp/snap.vmdk" "${aio_endpoint%/v2.1}/image/v2/images/$snap/file"
qemu-img convert -f vmdk -O raw "$tmp/snap.vmdk" "$tmp/snap.raw" 2>"$tmp/qemu.err"
check "qemu-img reads it as a vmdk with the image's bytes" cmp -s "$tmp/snap.raw" "$tmp/disk.raw"

stream=$(upload stream-image "$tmp/stream.vmdk" '"hypervisor_type": "vmware"')
bad=$(boot vs-bad "$stream")
check "a streamOptimized vmdk: the server ends in ERROR" status_is "$bad" ERROR
fault_has() { json "$tmp/server.json" "d['server']['fault']['message']" | grep -q -- "$1" ||
  { echo "#   fault: $(json "$tmp/server.json" "d['server'].get('fault')")"; return 1; }; }
check "with a fault naming streamOptimized" fault_has streamOptimized

# Without hypervisor_type only the disk format places a server: the
# scheduler asks Placement for COMPUTE_IMAGE_TYPE_VMDK.
plain=$(boot vs-plain "$(upload plain-vmdk "$tmp/disk.vmdk")")
check "a vmdk image without hypervisor_type: ACTIVE" status_is "$plain" ACTIVE
where=$(field "$plain" OS-EXT-SRV-ATTR:hypervisor_hostname)
check "on vSphere, by its disk format ($where)" test "$where" = DC0_C0 -o "$where" = DC0_H0

check "server delete" os server delete vs-1 vs-bad vs-plain kvm-vm
left() {
  for _ in $(seq 1 150); do
    curl -s -H "X-Auth-Token: $token" "$aio_endpoint/servers" >"$tmp/list.json"
    [ "$(json "$tmp/list.json" "len(d['servers'])")" = 0 ] && return 0
    sleep 0.2
  done
  echo "#   $(cat "$tmp/list.json")"; return 1
}
check "no server is left" left
check "the VM's files left the datastore" test "$(ds_file "$vs1/$vs1.vmx")" = 404
tap_done
