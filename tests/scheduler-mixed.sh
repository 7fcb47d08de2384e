#!/bin/bash
# One cloud of mixed hypervisors (fake driver instances configured as
# KVM-like, VMware-like, Hyper-V-like and baremetal-like nodes) through the
# compute API: images land only where their disk format boots (the
# scheduler asks for COMPUTE_IMAGE_TYPE_*), a baremetal flavor only on
# baremetal nodes, trait:X=required flavors only on nodes with the trait.
# Claims are Placement allocations: a server's allocation is on its node's
# provider, a resize holds both until confirmed, a delete gives the room
# back, and a multi-create that cannot be placed whole is placed not at all.
# TAP output.
set -u
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/aio.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-mixed-XXXXXX")
cleanup() {
  stop_aio
  [ -n "${NPH_TEST_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/aio/plugins.d"
driver() { # FILE PREFIX HYPERVISOR_TYPE IMAGE_FORMATS [EXTRA OPTION LINES]
  printf '[driver]\nmodule = fake\n[options]\nnode_count = 2\nnode_name_prefix = %s\nhypervisor_type = %s\nimage_formats = %s\n%b' \
    "$2" "$3" "$4" "${5-}" >"$tmp/aio/plugins.d/$1.conf"
}
driver fake kvm QEMU qcow2,raw,iso,ami,aki,ari
driver vmware esx 'VMware vCenter Server' vmdk,iso
driver hyperv hv hyperv vhd,vhdx,iso
driver metal bm ironic raw 'resource_class = CUSTOM_BAREMETAL_GOLD\n'
printf '[api]\nauth_strategy = noauth2\n[quota]\ninstances = 100\ncores = 100\n' >"$tmp/extra.conf"

req() {
  local method=$1 path=$2 body=${3-}
  local args=(-s -o "$tmp/body" -w '%{http_code}' -X "$method" -H 'OpenStack-API-Version: placement 1.36')
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  status=$(curl "${args[@]}" "$base$path")
}
jget() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$tmp/body')); print($1)" 2>/dev/null; }
is() { [ "$1" = "$2" ] || { echo "#   got '$1', want '$2'"; return 1; }; }
settled() { # ID: until ACTIVE, VERIFY_RESIZE or ERROR; prints "STATUS NODE"
  for _ in $(seq 1 150); do
    req GET "/v2.1/servers/$1"
    case $(jget 'd["server"]["status"]') in ACTIVE|ERROR|VERIFY_RESIZE) break ;; esac
    sleep 0.1
  done
  jget 'd["server"]["status"] + " " + str(d["server"]["OS-EXT-SRV-ATTR:hypervisor_hostname"])'
}
boot() { # NAME FLAVOR IMAGE [EXTRA SERVER MEMBERS]
  req POST /v2.1/servers "{\"server\": {\"name\": \"$1\", \"flavorRef\": \"$2\", \"imageRef\": \"$3\"${4-}}}"
  jget 'd["server"]["id"]'
}
image() { # NAME DISK_FORMAT OFFSET MAGIC: an image of that format (its magic
  # bytes, a printf format, at OFFSET), uploaded
  req POST /image/v2/images "{\"name\": \"$1\", \"disk_format\": \"$2\", \"container_format\": \"bare\"}"
  local id; id=$(jget 'd["id"]')
  { head -c "$3" /dev/zero; printf "$4"; head -c 4096 /dev/zero; } >"$tmp/$1.img"
  curl -s -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary "@$tmp/$1.img" "$base/image/v2/images/$id/file"
  echo "$id"
}
allocation_on() { # SERVER: the provider names its allocation is on, and the amounts
  req GET "/placement/allocations/$1"
  jget '" ".join(sorted(n + ":" + ",".join("%s=%d" % kv for kv in sorted(a["resources"].items())) for n, a in ((names.get(u, u), a) for u, a in d["allocations"].items())))' 
}
names_py='names = {}'
provider_names() { # fills names_py with {uuid: name}
  req GET /placement/resource_providers
  names_py="names = $(jget '{p["uuid"]: p["name"] for p in d["resource_providers"]}')"
}

start_aio "$tmp/aio" --config-file "$tmp/extra.conf"
base=${aio_endpoint%/v2.1}
req GET /v2.1/os-hypervisors
check "eight nodes from four drivers" is "$(jget 'len(d["hypervisors"])')" 8
qcow2=$(image cirros-qcow2 qcow2 0 'QFI\xfb')
vmdk=$(image win-vmdk vmdk 0 'KDMV')
vhdx=$(image win-vhdx vhdx 0 'vhdxfile')
vdi=$(image vbox-vdi vdi 64 '\x7f\x10\xda\xbe')
raw=$(image metal-raw raw 0 'raw')
req GET "/image/v2/images/$vmdk"
check "images of five formats uploaded" is "$(jget 'd["status"]')" active
provider_names
jget() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$tmp/body')); $names_py; print($1)" 2>/dev/null; }
req GET "/placement/resource_providers?required=COMPUTE_IMAGE_TYPE_VMDK"
check "the VMware-like nodes carry COMPUTE_IMAGE_TYPE_VMDK in Placement" \
  is "$(jget '" ".join(sorted(p["name"] for p in d["resource_providers"]))')" "esx-1 esx-2"

q=$(boot q1 1 "$qcow2"); v=$(boot v1 1 "$vmdk"); h=$(boot h1 1 "$vhdx")
oq=$(settled "$q"); ov=$(settled "$v"); oh=$(settled "$h")
check "a qcow2 image lands on a KVM-like node" sh -c "echo '$oq' | grep -q '^ACTIVE kvm-'"
check "a vmdk image on a VMware-like node" sh -c "echo '$ov' | grep -q '^ACTIVE esx-'"
check "a vhdx image on a Hyper-V-like node" sh -c "echo '$oh' | grep -q '^ACTIVE hv-'"
node=${ov#ACTIVE }
check "the vmdk server's allocation is its flavor on its node's provider" \
  is "$(allocation_on "$v")" "$node:DISK_GB=1,MEMORY_MB=512,VCPU=1"

# Allocations lost (data from before the scheduler claimed in Placement):
# nephele-manage heals them from the instance's flavor and node.
req DELETE "/placement/allocations/$h"
heal_says() { # PATTERN [--dry-run]: nephele-manage placement heal_allocations prints PATTERN
  local want=$1; shift
  "$top_builddir/services/manage/nephele-manage" --database "sqlite:///$tmp/aio/nephele.db" \
    placement heal_allocations "$@" >"$tmp/heal.out" 2>&1
  grep -q "$want" "$tmp/heal.out" || { sed 's/^/#   /' "$tmp/heal.out"; return 1; }
}
check "heal_allocations --dry-run finds the server without allocations" \
  heal_says '^1 instance(s) would get' --dry-run
check "heal_allocations gives them back" heal_says '^1 instance(s) got allocations; none left'
check "as its flavor on its node" is "$(allocation_on "$h")" "${oh#ACTIVE }:DISK_GB=1,MEMORY_MB=512,VCPU=1"
check "a second run finds nothing to heal" heal_says '^0 instance(s)'

req POST /v2.1/flavors '{"flavor": {"name": "bm.gold", "ram": 1024, "vcpus": 1, "disk": 10, "id": "bm"}}'
req POST /v2.1/flavors/bm/os-extra_specs '{"extra_specs": {"resources:CUSTOM_BAREMETAL_GOLD": "1", "resources:VCPU": "0", "resources:MEMORY_MB": "0", "resources:DISK_GB": "0"}}'
b=$(boot b1 bm "$raw")
ob=$(settled "$b")
check "a baremetal flavor lands on a baremetal node" sh -c "echo '$ob' | grep -q '^ACTIVE bm-'"
check "holding its one CUSTOM_BAREMETAL_GOLD unit and nothing else" \
  is "$(allocation_on "$b")" "${ob#ACTIVE }:CUSTOM_BAREMETAL_GOLD=1"
r=$(boot r1 1 "$raw")
or=$(settled "$r")
check "a VM flavor with a raw image never lands on the baremetal nodes that boot raw" \
  sh -c "echo '$or' | grep -q '^ACTIVE kvm-'"
x=$(boot x1 1 "$vdi")
ox=$(settled "$x")
check "a vdi image, which no node boots, finds no valid host" is "${ox%% *}" ERROR
req GET "/v2.1/servers/$x"
check "and the fault names the missing image type" \
  sh -c "grep -q 'No valid host was found.*COMPUTE_IMAGE_TYPE_VDI' '$tmp/body'"

# trait:X=required: only the node an operator marked
kvm2=$(jget '[u for u, n in names.items() if n == "kvm-2"][0]')
req PUT /placement/traits/CUSTOM_FAST
req GET "/placement/resource_providers/$kvm2/traits"
gen=$(jget 'd["resource_provider_generation"]')
req PUT "/placement/resource_providers/$kvm2/traits" \
  "{\"resource_provider_generation\": $gen, \"traits\": $(jget 'json.dumps(d["traits"] + ["CUSTOM_FAST"])')}"
check "an operator's CUSTOM_FAST trait on kvm-2" is "$status" 200
req POST /v2.1/flavors '{"flavor": {"name": "fast", "ram": 512, "vcpus": 1, "disk": 1, "id": "fast"}}'
req POST /v2.1/flavors/fast/os-extra_specs '{"extra_specs": {"trait:CUSTOM_FAST": "required"}}'
f1=$(boot f1 fast "$qcow2"); f2=$(boot f2 fast "$qcow2")
o1=$(settled "$f1"); o2=$(settled "$f2")
check "trait:CUSTOM_FAST=required lands on kvm-2 only" is "$o1 $o2" "ACTIVE kvm-2 ACTIVE kvm-2"
req POST /v2.1/flavors/1/os-extra_specs '{"extra_specs": {"trait:CUSTOM_FAST": "forbidden"}}'
n1=$(boot n1 1 "$qcow2"); on1=$(settled "$n1")
check "trait:CUSTOM_FAST=forbidden never does" is "$on1" "ACTIVE kvm-1"
req DELETE /v2.1/flavors/1/os-extra_specs/trait:CUSTOM_FAST

# Resize: the source's allocation moves to the migration until confirmed.
req POST /v2.1/flavors '{"flavor": {"name": "bigger", "ram": 1024, "vcpus": 2, "disk": 2, "id": "2x"}}'
req POST "/v2.1/servers/$q/action" '{"resize": {"flavorRef": "2x"}}'
check "resize accepted" is "$status" 202
oq2=$(settled "$q")
check "the resized server waits for confirmation" is "${oq2%% *}" VERIFY_RESIZE
mig=$(sqlite3 "$tmp/aio/nephele.db" "SELECT uuid FROM migrations WHERE instance_uuid = '$q'")
check "the instance holds the new flavor on the destination" \
  is "$(allocation_on "$q")" "${oq2#VERIFY_RESIZE }:DISK_GB=2,MEMORY_MB=1024,VCPU=2"
check "the migration holds the old flavor on the source" \
  is "$(allocation_on "$mig")" "${oq#ACTIVE }:DISK_GB=1,MEMORY_MB=512,VCPU=1"
req POST "/v2.1/servers/$q/action" '{"confirmResize": null}'
for _ in $(seq 1 50); do [ "$(allocation_on "$mig")" = "" ] && break; sleep 0.1; done
check "confirmResize drops the migration's allocation" is "$(allocation_on "$mig")" ""

# Delete gives the room back.
req DELETE "/v2.1/servers/$v"
for _ in $(seq 1 100); do req GET "/v2.1/servers/$v"; [ "$status" = 404 ] && break; sleep 0.1; done
check "a deleted server's allocation is gone" is "$(allocation_on "$v")" ""
req GET "/placement/resource_providers/$(/usr/bin/python3 -c "$names_py; print([u for u, n in names.items() if n == '${ov#ACTIVE }'][0])")/usages"
check "and its node's usage is zero again" is "$(jget 'd["usages"]["VCPU"]')" 0

# Multi-create: one baremetal node is left, so min_count 2 places nothing.
req POST /v2.1/servers "{\"server\": {\"name\": \"many\", \"flavorRef\": \"bm\", \"imageRef\": \"$raw\", \"min_count\": 2, \"max_count\": 2, \"return_reservation_id\": true}}"
check "a multi-create of two baremetal servers is accepted" is "$status" 202
sleep 1
req GET "/v2.1/servers/detail?name=^many"
check "with one free node, both end in ERROR" \
  is "$(jget '" ".join(sorted(s["status"] for s in d["servers"]))')" "ERROR ERROR"
check "saying none of them was placed" \
  sh -c "grep -q 'none of them was placed' '$tmp/body'"
req GET "/placement/resource_providers?resources=CUSTOM_BAREMETAL_GOLD:1"
check "and the free baremetal node stays free" is "$(jget 'len(d["resource_providers"])')" 1
req POST /v2.1/servers "{\"server\": {\"name\": \"one\", \"flavorRef\": \"bm\", \"imageRef\": \"$raw\", \"min_count\": 1, \"max_count\": 1}}"
ok1=$(settled "$(jget 'd["server"]["id"]')")
check "where a single baremetal server then boots" sh -c "echo '$ok1' | grep -q '^ACTIVE bm-'"

stop_aio
check "nephele-aio stops on SIGTERM" grep -q 'nephele-aio stopped' "$tmp/aio.log"
tap_done
