#!/bin/bash
# The filter scheduler through the compute API, on nephele-aio with three
# fake driver instances on one host: good nodes, nodes whose spawns always
# fail (and that the RAM weigher prefers), and baremetal nodes of class
# CUSTOM_BAREMETAL_GOLD.  A failed spawn is rescheduled to another node up
# to [scheduler] max_attempts, then the server is ERROR with a fault naming
# every attempt; a baremetal flavor lands on baremetal nodes only and a VM
# flavor never does.  TAP output.
set -u
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/aio.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-sched-XXXXXX")
cleanup() {
  stop_aio
  [ -n "${NPH_TEST_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

plugins() { # max_attempts
  mkdir -p "$tmp/aio/plugins.d"
  printf '[driver]\nmodule = fake\n[options]\nnode_count = 2\nnode_name_prefix = good\n' \
    >"$tmp/aio/plugins.d/fake.conf"
  printf '[driver]\nmodule = fake\n[options]\nnode_count = 2\nnode_name_prefix = broken\nmemory_mb = 1048576\nfailure_rate = spawn:1.0\n' \
    >"$tmp/aio/plugins.d/broken.conf"
  printf '[driver]\nmodule = fake\n[options]\nnode_count = 2\nnode_name_prefix = metal\nresource_class = CUSTOM_BAREMETAL_GOLD\n' \
    >"$tmp/aio/plugins.d/metal.conf"
  printf '[api]\nauth_strategy = noauth2\n[scheduler]\nmax_attempts = %s\n' "$1" >"$tmp/extra.conf"
}
req() {
  local method=$1 path=$2 body=${3-}
  local args=(-s -o "$tmp/body" -w '%{http_code}' -X "$method")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  status=$(curl "${args[@]}" "$base$path")
}
jget() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$tmp/body')); print($1)" 2>/dev/null; }
is() { [ "$1" = "$2" ] || { echo "#   got '$1', want '$2'"; return 1; }; }
settled() { # ID: until ACTIVE or ERROR; prints "STATUS NODE"
  for _ in $(seq 1 100); do
    req GET "/v2.1/servers/$1"
    case $(jget 'd["server"]["status"]') in ACTIVE|ERROR) break ;; esac
    sleep 0.1
  done
  jget 'd["server"]["status"] + " " + str(d["server"]["OS-EXT-SRV-ATTR:hypervisor_hostname"])'
}
boot() { # NAME FLAVOR
  req POST /v2.1/servers "{\"server\": {\"name\": \"$1\", \"flavorRef\": \"$2\", \"imageRef\": \"$image\"}}"
  jget 'd["server"]["id"]'
}

plugins 3
start_aio "$tmp/aio" --config-file "$tmp/extra.conf"
base=${aio_endpoint%/v2.1}
req GET /v2.1/images; image=$(jget 'd["images"][0]["id"]')
req GET /v2.1/os-hypervisors
check "six nodes from three drivers" is "$(jget 'len(d["hypervisors"])')" 6

s1=$(boot retry-1 1)
out=$(settled "$s1")
check "a spawn that fails on the preferred nodes is rescheduled to a good one" \
  test "${out%% *}" = ACTIVE -a "${out#* good}" != "$out"
grep -q "failed on node broken" "$tmp/aio.log"
check "after failing on a broken node (logged)" test $? -eq 0

req POST /v2.1/flavors '{"flavor": {"name": "bm.gold", "ram": 1024, "vcpus": 1, "disk": 10, "id": "bm"}}'
req POST /v2.1/flavors/bm/os-extra_specs '{"extra_specs": {"resources:CUSTOM_BAREMETAL_GOLD": "1", "resources:VCPU": "0", "resources:MEMORY_MB": "0", "resources:DISK_GB": "0"}}'
check "a baremetal flavor" is "$status" 200
b1=$(boot metal-1 bm); b2=$(boot metal-2 bm)
o1=$(settled "$b1"); o2=$(settled "$b2")
check "two baremetal servers land on the two baremetal nodes" \
  is "$(printf '%s\n%s\n' "$o1" "$o2" | sort | tr '\n' ' ')" "ACTIVE metal-1 ACTIVE metal-2 "
b3=$(boot metal-3 bm)
o3=$(settled "$b3")
check "a third finds no free baremetal node" is "${o3%% *}" ERROR
req GET "/v2.1/servers/$b3"
check "with No valid host naming the resource class" \
  sh -c "grep -q 'No valid host was found.*CUSTOM_BAREMETAL_GOLD' '$tmp/body'"
req GET /v2.1/servers/detail
check "no VM server is on a baremetal node" \
  is "$(jget '[s["name"] for s in d["servers"] if "metal" in str(s["OS-EXT-SRV-ATTR:hypervisor_hostname"]) and not s["name"].startswith("metal")]')" "[]"

stop_aio
plugins 2
start_aio "$tmp/aio" --config-file "$tmp/extra.conf"
base=${aio_endpoint%/v2.1}
s2=$(boot retry-2 1)
out=$(settled "$s2")
check "with max_attempts 2 and two broken nodes preferred, the build ends in ERROR" is "${out%% *}" ERROR
req GET "/v2.1/servers/$s2"
check "the fault says the retries ran out" \
  sh -c "grep -q 'Exceeded maximum number of retries' '$tmp/body'"
check "and names both attempts" \
  sh -c "grep -q 'attempt 1 on aio (node broken-' '$tmp/body' && grep -q 'attempt 2 on aio (node broken-' '$tmp/body'"
stop_aio
check "nephele-aio stops on SIGTERM" grep -q 'nephele-aio stopped' "$tmp/aio.log"
tap_done
