#!/bin/bash
# Baremetal through the whole stack: Debian's openstack CLI -> nephele-aio ->
# scheduler -> conductor -> compute -> the ironic driver -> a real Ironic
# (tests/peers/ironic.sh, started once), next to a fake VM driver in the same
# cloud.  A baremetal flavor lands on an available Ironic node (never on the
# one in maintenance, whose inventory is reserved) while a VM flavor lands on
# the fake node; Ironic's own power-update events reach the server; a locked
# node is retried; a deploy Ironic fails leaves the server in ERROR with
# Ironic's last_error as the fault and the node released; deleting returns
# the node to available; nodes enrolled and deleted in Ironic come and go as
# hypervisors.  TAP output.
set -u
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/aio.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-ironic-XXXXXX")
peer="bash $top_srcdir/tests/peers/ironic.sh"
cleanup() {
  stop_aio
  $peer stop "$tmp/ironic"
  [ -n "${NPH_TEST_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
[ -x /usr/bin/openstack ] || bail "/usr/bin/openstack is missing (bash .ci/deps installs python3-openstackclient)"

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

# Ironic sends power-update events to the compute API, so the API's port is
# chosen first.  Locks are quick to provoke (the fake management interface
# sleeps 2 s holding the node; Ironic answers 409 after 1 s), and config
# drives go to a Swift that is not there: a deploy with user data fails.
api_port=$(free_port)
printf '[fake]\nmanagement_delay = 2\n[conductor]\nnode_locked_retry_attempts = 1\n[deploy]\nconfigdrive_use_object_store = true\n' \
  >"$tmp/ironic-extra.conf"
IRONIC_NOVA_URL=http://127.0.0.1:$api_port/v2.1 IRONIC_EXTRA_CONF=$tmp/ironic-extra.conf \
  NPH_PEERS_CACHE=$top_builddir/tests/peers-cache $peer start "$tmp/ironic" >&2 ||
  bail "Ironic did not start"
. "$tmp/ironic/env"
irn() { $peer api "$tmp/ironic" "$@"; }
field() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin).get('$1'))"; }
node_field() { irn GET "/v1/nodes/$1" | field "$2"; }
gold=$($peer node "$tmp/ironic" gold-1 baremetal-gold) || bail "cannot enroll a node"
maint=$($peer node "$tmp/ironic" gold-maint baremetal-gold) || bail "cannot enroll a node"
irn PATCH "/v1/nodes/$maint" '[{"op": "add", "path": "/maintenance", "value": true}]' >/dev/null

mkdir -p "$tmp/aio/plugins.d"
printf '[driver]\nmodule = fake\n[options]\nnode_count = 1\nnode_name_prefix = vm\n' \
  >"$tmp/aio/plugins.d/fake.conf"
# The driver's own power watch is off: power changes must come from Ironic.
printf '[driver]\nmodule = ironic\n[options]\nurl = %s\npower_sync_interval = 0\nnode_cache_ms = 500\n' \
  "$URL" >"$tmp/aio/plugins.d/ironic.conf"
printf '[api]\nauth_strategy = noauth2\n[compute]\nresource_update_interval = 1\nsync_power_state_interval = 600\n' \
  >"$tmp/extra.conf"
AIO_PLUGIN_PATH=$top_builddir/drivers/ironic-baremetal/.libs \
  start_aio "$tmp/aio" --config-file "$tmp/extra.conf" --listen "127.0.0.1:$api_port"

os() {
  /usr/bin/openstack --os-auth-type none --os-endpoint "$aio_endpoint" "$@" >"$tmp/out" 2>&1 && return 0
  echo "#   openstack $* failed:"; sed 's/^/#   /' "$tmp/out" | tail -5; return 1
}
out() { sed '/./,$!d' "$tmp/out"; }
out_is() { [ "$(out)" = "$1" ] || { echo "#   got '$(out)', want '$1'"; return 1; }; }
out_has() { grep -q -- "$1" "$tmp/out" || { echo "#   output lacks '$1':"; sed 's/^/#   /' "$tmp/out" | head -20; return 1; }; }
is() { [ "$1" = "$2" ] || { echo "#   got '$1', want '$2'"; return 1; }; }
# until SECONDS CMD...: retry CMD every 0.2 s
until_ok() {
  local n=$(( $1 * 5 )); shift
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  "$@"
}
# The compute API with curl where the CLI's 2 s start-up and 5 s --wait
# polling would only cost time: server state by name.
server_json() {
  curl -s "$aio_endpoint/servers/detail?name=^$1\$" |
    /usr/bin/python3 -c "import json,sys; s=json.load(sys.stdin)['servers']; print(s[0]$2 if s else '')"
}
server_field() { server_json "$1" "[\"$2\"]"; }
has_status() { [ "$(server_field "$1" status)" = "$2" ]; }
server_gone() { [ -z "$(server_field "$1" id)" ]; }
no_servers() { [ "$(curl -s "$aio_endpoint/servers" | tr -d ' ')" = '{"servers":[]}' ]; }
node_is() { [ "$(node_field "$1" "$2")" = "$3" ]; }
placement() { curl -s -H 'OpenStack-API-Version: placement 1.26' "${aio_endpoint%/v2.1}/placement$1"; }
inventory_reserved() { # NODE: the reserved units of its provider's inventories
  local rp
  rp=$(placement "/resource_providers?name=$1" |
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["resource_providers"][0]["uuid"])')
  placement "/resource_providers/$rp/inventories" |
    /usr/bin/python3 -c 'import json,sys; print([v["reserved"] for v in json.load(sys.stdin)["inventories"].values()])'
}

reserved_is() { [ "$(inventory_reserved "$1")" = "$2" ]; }

check "hypervisor list" os hypervisor list -f value -c "Hypervisor Hostname" -c "Hypervisor Type"
check "shows the fake VM node" out_has "vm-1 fake"
check "and both Ironic nodes, by UUID, as ironic" \
  sh -c "grep -q '$gold ironic' '$tmp/out' && grep -q '$maint ironic' '$tmp/out'"
check "the available node offers one CUSTOM_BAREMETAL_GOLD, not reserved" \
  is "$(inventory_reserved "$gold")" "[0]"
check "the node in maintenance has it reserved" is "$(inventory_reserved "$maint")" "[1]"

check "flavor create bm.gold with resources:CUSTOM_BAREMETAL_GOLD=1" \
  os flavor create --ram 16384 --vcpus 8 --disk 100 --property resources:CUSTOM_BAREMETAL_GOLD=1 \
  --property resources:VCPU=0 --property resources:MEMORY_MB=0 --property resources:DISK_GB=0 bm.gold
t0=$(date +%s.%N)
check "server create of a baremetal flavor" os server create --flavor bm.gold --image nephele-tiny metal-1
check "comes ACTIVE" until_ok 15 has_status metal-1 ACTIVE
echo "# baremetal: CLI start to ACTIVE in $(echo "$(date +%s.%N) - $t0" | bc) s"
check "server create of a VM flavor" os server create --flavor m1.tiny --image nephele-tiny vm-a
check "comes ACTIVE" until_ok 15 has_status vm-a ACTIVE
check "the baremetal server is on the available Ironic node, not the one in maintenance" \
  is "$(server_field metal-1 OS-EXT-SRV-ATTR:hypervisor_hostname)" "$gold"
check "the VM server is on the fake node" is "$(server_field vm-a OS-EXT-SRV-ATTR:hypervisor_hostname)" vm-1
metal1=$(server_field metal-1 id)
check "Ironic says the node is active" node_is "$gold" provision_state active
check "for that server" node_is "$gold" instance_uuid "$metal1"
check "and powered on" node_is "$gold" power_state "power on"
check "the node's inventory is reserved while it has a server" \
  until_ok 5 reserved_is "$gold" "[1]"

# Power changed in Ironic: Ironic tells the compute API (power-update).
irn PUT "/v1/nodes/$gold/states/power" '{"target": "power off"}' >/dev/null
check "powered off in Ironic, the server goes SHUTOFF" until_ok 10 has_status metal-1 SHUTOFF
check "through Ironic's power-update event" \
  grep -q "instance $metal1: external event power-update:POWER_OFF" "$tmp/aio.log"
irn PUT "/v1/nodes/$gold/states/power" '{"target": "power on"}' >/dev/null
check "powered on in Ironic, ACTIVE again" until_ok 10 has_status metal-1 ACTIVE
# Actions through the API with curl: the CLI adds its start-up time only.
action() { curl -sf -o /dev/null -H 'Content-Type: application/json' -d "$2" "$aio_endpoint/servers/$metal1/action"; }
check "os-stop" action metal-1 '{"os-stop": null}'
check "SHUTOFF" until_ok 10 has_status metal-1 SHUTOFF
check "and off in Ironic" node_is "$gold" power_state "power off"
check "os-start" action metal-1 '{"os-start": null}'
check "ACTIVE" until_ok 10 has_status metal-1 ACTIVE
check "reboot HARD" action metal-1 '{"reboot": {"type": "HARD"}}'
check "ACTIVE after the reboot" until_ok 10 has_status metal-1 ACTIVE
check "and on in Ironic" node_is "$gold" power_state "power on"
image_id=$(curl -s "$aio_endpoint/images" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['images'][0]['id'])")
check "rebuild" action metal-1 "{\"rebuild\": {\"imageRef\": \"$image_id\"}}"
check "ACTIVE after the rebuild" until_ok 10 has_status metal-1 ACTIVE
check "server delete" os server delete metal-1
check "gone" until_ok 10 server_gone metal-1
check "returns the node to available" until_ok 10 node_is "$gold" provision_state available
check "with no instance" node_is "$gold" instance_uuid None

# A node locked by someone else (a management call holds it 2 s); the
# server is created with curl, as the CLI takes longer than that to start.
check "the node is schedulable again" until_ok 10 reserved_is "$gold" "[0]"
bm_id=$(curl -s "$aio_endpoint/flavors" | /usr/bin/python3 -c "import json,sys; print([f['id'] for f in json.load(sys.stdin)['flavors'] if f['name'] == 'bm.gold'][0])")
irn PUT "/v1/nodes/$gold/management/boot_device" '{"boot_device": "pxe"}' >/dev/null &
locker=$!
sleep 0.3
check "a server created while the node is locked" \
  curl -sf -o /dev/null -H 'Content-Type: application/json' -d "{\"server\": {\"name\": \"metal-2\", \"flavorRef\": \"$bm_id\", \"imageRef\": \"$image_id\"}}" \
  "$aio_endpoint/servers"
check "comes back ACTIVE" until_ok 15 has_status metal-2 ACTIVE
wait "$locker"
check "after 409 node locked was retried" grep -q "is locked by host.*retrying in" "$tmp/aio.log"
curl -s -o /dev/null -X DELETE "$aio_endpoint/servers/$(server_field metal-2 id)"
check "the server deleted, the node is available" until_ok 10 node_is "$gold" provision_state available

# Ironic fails the deploy: a config drive (user data) cannot go to Swift.
echo '#cloud-config' >"$tmp/user-data"
check "the node is schedulable again" until_ok 10 reserved_is "$gold" "[0]"
check "server create --user-data" \
  os server create --flavor bm.gold --image nephele-tiny --user-data "$tmp/user-data" metal-3
check "a deploy Ironic fails leaves the server in ERROR" until_ok 15 has_status metal-3 ERROR
fault_has() { server_json "$1" '["fault"]["message"]' | grep -q "$2"; }
check "with Ironic's last_error in the fault" fault_has metal-3 "Failed to prepare the configdrive"
check "the node was released" until_ok 10 node_is "$gold" provision_state available
check "and holds no instance" node_is "$gold" instance_uuid None
curl -s -o /dev/null -X DELETE "$aio_endpoint/servers/$(server_field metal-3 id)"

# Nodes enrolled and deleted in Ironic come and go as hypervisors.
silver=$($peer node "$tmp/ironic" silver-1 baremetal-silver)
hypervisors() { curl -s "$aio_endpoint/os-hypervisors" >"$tmp/out"; }
hyper_has() { hypervisors && grep -q "$1" "$tmp/out"; }
hyper_lacks() { hypervisors && ! grep -q "$1" "$tmp/out"; }
check "a node enrolled in Ironic becomes a hypervisor" until_ok 10 hyper_has "$silver"
irn DELETE "/v1/nodes/$silver" >/dev/null
check "a node deleted in Ironic goes away" until_ok 10 hyper_lacks "$silver"
check "and so does its resource provider" \
  is "$(placement "/resource_providers?name=$silver" | tr -d ' ')" '{"resource_providers":[]}'


check "delete the VM" curl -sf -o /dev/null -X DELETE "$aio_endpoint/servers/$(server_field vm-a id)"
check "no server is left" until_ok 10 no_servers
stop_aio
check "nephele-aio stops on SIGTERM" grep -q 'nephele-aio stopped' "$tmp/aio.log"
tap_done
