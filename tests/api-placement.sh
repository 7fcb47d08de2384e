#!/bin/bash
# The Placement API under /placement, against nephele-aio started here:
# Debian's osc-placement (the openstack CLI's resource provider, resource
# class, trait and allocation candidate commands, with password
# authentication against the built-in identity, finding /placement in the
# catalog), the fake nodes the compute reported as providers with
# inventories and traits, then curl for allocations, generation conflicts,
# Placement's error bodies and codes, and microversion negotiation.  TAP.
set -u
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/aio.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-placement-XXXXXX")
cleanup() {
  stop_aio
  [ -n "${NPH_TEST_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
[ -x /usr/bin/openstack ] || bail "/usr/bin/openstack is missing (bash .ci/deps)"
/usr/bin/python3 -c 'import osc_placement' 2>/dev/null ||
  bail "osc-placement is missing (bash .ci/deps installs python3-osc-placement)"

start_aio "$tmp/aio"
. "$tmp/aio/openrc"
P=${aio_endpoint%/v2.1}/placement

os() {
  /usr/bin/openstack "$@" >"$tmp/out" 2>&1 && return 0
  echo "#   openstack $* failed:"; sed 's/^/#   /' "$tmp/out" | tail -5; return 1
}
not_os() {
  ! /usr/bin/openstack "$@" >"$tmp/out" 2>&1 || { echo "#   openstack $* succeeded"; return 1; }
}
out_is() { [ "$(cat "$tmp/out")" = "$1" ] || { echo "#   got '$(cat "$tmp/out")', want '$1'"; return 1; }; }
out_has() { grep -q -- "$1" "$tmp/out" || { echo "#   output lacks '$1':"; sed 's/^/#   /' "$tmp/out" | head -20; return 1; }; }
lines_are() { [ "$(wc -l <"$tmp/out")" -eq "$1" ] || { echo "#   $(wc -l <"$tmp/out") lines, want $1:"; sed 's/^/#   /' "$tmp/out" | head; return 1; }; }

# --- the CLI ---------------------------------------------------------------------
check "the catalog lists placement" os catalog show placement -f value -c endpoints
check "at /placement" out_has "/placement"
check "resource provider list" os resource provider list -f value -c name
check "shows the four fake nodes" out_is "$(printf 'fake-1\nfake-2\nfake-3\nfake-4')"
rp=$(/usr/bin/openstack resource provider list --name fake-1 -f value -c uuid)
check "the node's provider has the compute node's uuid" \
  bash -c "/usr/bin/openstack --os-compute-api-version 2.53 hypervisor list -f value -c ID -c 'Hypervisor Hostname' | grep -q '^$rp fake-1$'"
check "resource provider inventory list" os resource provider inventory list "$rp" -f value \
  -c resource_class -c total -c allocation_ratio
check "VCPU 32 with cpu_allocation_ratio 4.0" out_has "^VCPU 4.0 32$"
check "MEMORY_MB and DISK_GB" bash -c "grep -q '^MEMORY_MB 1.0 131072$' '$tmp/out' && grep -q '^DISK_GB 1.0 ' '$tmp/out'"
check "resource provider trait list" os resource provider trait list "$rp" -f value
check "has COMPUTE_NODE" out_has "^COMPUTE_NODE$"
check "and the image formats the fake driver boots" out_has "^COMPUTE_IMAGE_TYPE_QCOW2$"
check "and its capabilities" out_has "^COMPUTE_VOLUME_MULTI_ATTACH$"

check "resource class list" os resource class list -f value
check "starts with the standard classes" test "$(head -3 "$tmp/out" | tr '\n' ' ')" = "VCPU MEMORY_MB DISK_GB "
check "resource class create CUSTOM_GOLD" os resource class create CUSTOM_GOLD
check "resource class show" os resource class show CUSTOM_GOLD -f value
check "finds it" out_is CUSTOM_GOLD
check "resource class create of a standard name fails" not_os resource class create VCPU
check "resource class delete" os resource class delete CUSTOM_GOLD
check "resource class show after delete fails" not_os resource class show CUSTOM_GOLD
check "with Placement's message" out_has "No such resource class CUSTOM_GOLD"

check "trait list" os trait list -f value
check "has the os-traits names" bash -c "grep -qx HW_CPU_X86_AVX2 '$tmp/out' && grep -qx COMPUTE_STATUS_DISABLED '$tmp/out'"
check "trait create CUSTOM_FAST" os trait create CUSTOM_FAST
check "trait list --name startswith:CUSTOM_" os trait list --name startswith:CUSTOM_ -f value
check "shows only it" out_is CUSTOM_FAST
check "trait create of a standard-looking name fails" not_os trait create HW_MADE_UP

check "resource provider create" os resource provider create rack-1 -f value -c uuid
rack=$(cat "$tmp/out")
check "resource provider inventory set" os resource provider inventory set "$rack" \
  --resource VCPU=8 --resource MEMORY_MB=4096 --resource VCPU:allocation_ratio=2.0
check "resource provider inventory show" os resource provider inventory show "$rack" VCPU -f value -c total -c allocation_ratio
check "VCPU 8 at 2.0" out_is "$(printf '2.0\n8')"
check "resource provider trait set" os resource provider trait set "$rack" --trait CUSTOM_FAST
check "trait list --associated" os trait list --associated -f value
check "has CUSTOM_FAST" out_has "^CUSTOM_FAST$"
agg=11111111-2222-4333-8444-555555555555
check "resource provider aggregate set (1.19, with the generation)" \
  os --os-placement-api-version 1.19 resource provider aggregate set "$rack" --aggregate "$agg" \
  --generation "$(/usr/bin/openstack resource provider show "$rack" -f value -c generation)"
check "resource provider aggregate list" os resource provider aggregate list "$rack" -f value
check "shows the aggregate" out_is "$agg"
check "aggregate set with a stale generation fails" \
  not_os --os-placement-api-version 1.19 resource provider aggregate set "$rack" --aggregate "$agg" --generation 0
check "as a conflict" out_has "HTTP 409"

check "allocation candidate list --resource VCPU=1" os allocation candidate list --resource VCPU=1 -f value -c "resource provider"
check "lists the four nodes and rack-1" lines_are 5
check "--required CUSTOM_FAST" os allocation candidate list --resource VCPU=1 --required CUSTOM_FAST -f value -c "resource provider"
check "leaves rack-1" out_is "$rack"
check "--member-of the aggregate" os allocation candidate list --resource VCPU=1 --member-of "$agg" -f value -c "resource provider"
check "leaves rack-1" out_is "$rack"
check "--resource VCPU=17 (rack-1's capacity is 16)" os allocation candidate list --resource VCPU=17 -f value -c "resource provider"
check "leaves the nodes" lines_are 4
check "--resource MEMORY_MB=8192 --limit 2" os allocation candidate list --resource MEMORY_MB=8192 --limit 2 -f value -c "resource provider"
check "gives two" lines_are 2
check "resource provider list --resource VCPU=17" os resource provider list --resource VCPU=17 -f value -c name
check "has the nodes, not rack-1" out_is "$(printf 'fake-1\nfake-2\nfake-3\nfake-4')"

check "server create --wait" os server create --flavor m1.tiny --image nephele-tiny --wait -f value -c status vm-1
check "comes back ACTIVE" test "$(tail -1 "$tmp/out")" = ACTIVE
node=$(/usr/bin/openstack server show vm-1 -f value -c OS-EXT-SRV-ATTR:hypervisor_hostname)
node_rp=$(/usr/bin/openstack resource provider list --name "$node" -f value -c uuid)
check "resource provider usage show of its node" os resource provider usage show "$node_rp" -f value
check "counts the server the scheduler claimed it for" out_has "^VCPU 1$"
vm=$(/usr/bin/openstack server show vm-1 -f value -c id)
check "resource provider allocation show of the server" os resource provider allocation show "$vm" -f value
check "is its flavor on its node" out_has "^$node_rp [0-9]* {'VCPU': 1, 'MEMORY_MB': 512, 'DISK_GB': 1} "
base=0 # what vm-1 uses of fake-1
[ "$node" = fake-1 ] && base=1

# --- allocations with curl ----------------------------------------------------------
token=$(/usr/bin/openstack token issue -f value -c id)
# req METHOD PATH VERSION [BODY]: $status, $tmp/body, $tmp/headers.
req() {
  local args=(-s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' -X "$1" -H "X-Auth-Token: $token")
  [ -n "$3" ] && args+=(-H "OpenStack-API-Version: placement $3")
  [ -n "${4-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$4")
  status=$(curl "${args[@]}" "$P$2")
}
jget() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$tmp/body')); print($1)" 2>/dev/null; }
header() { tr -d '\r' <"$tmp/headers" | awk -v k="$1" 'tolower($1) == tolower(k) ":" {sub(/^[^:]*: /, ""); print}'; }
is() { [ "$1" = "$2" ] || { echo "#   got '$1', want '$2'"; { sed 's/^/#   /' "$tmp/body"; echo; } | head -5; return 1; }; }

consumer=$(cat /proc/sys/kernel/random/uuid)
alloc() { # GENERATION VCPU
  printf '{"allocations": {"%s": {"resources": {"VCPU": %s, "MEMORY_MB": 512}}}, "project_id": "p1", "user_id": "u1", "consumer_generation": %s}' \
    "$rp" "$2" "$1"
}
req PUT "/allocations/$consumer" 1.28 "$(alloc null 2)"
check "PUT /allocations/{consumer} with consumer_generation null is 204" is "$status" 204
req GET "/allocations/$consumer" 1.28
check "GET shows VCPU 2 on the node" is "$(jget "d['allocations']['$rp']['resources']['VCPU']")" 2
check "and consumer_generation 1" is "$(jget 'd["consumer_generation"]')" 1
check "resource provider usage show counts it" os resource provider usage show "$rp" -f value
check "VCPU 2 more" out_has "^VCPU $((2 + base))$"
req GET "/usages?project_id=p1" 1.9
check "GET /usages?project_id=p1" is "$(jget 'd["usages"]["VCPU"]')" 2
req PUT "/allocations/$consumer" 1.28 "$(alloc null 4)"
check "a second PUT with consumer_generation null is 409" is "$status" 409
check "placement.concurrent_update" is "$(jget 'd["errors"][0]["code"]')" placement.concurrent_update
req PUT "/allocations/$consumer" 1.28 "$(alloc 1 4)"
check "with consumer_generation 1 it replaces them" is "$status" 204
req GET "/resource_providers/$rp/allocations" 1.28
check "GET /resource_providers/{uuid}/allocations" is "$(jget "d['allocations']['$consumer']['resources']['VCPU']")" 4
req PUT "/allocations/$(cat /proc/sys/kernel/random/uuid)" 1.28 \
  "{\"allocations\": {\"$rp\": {\"resources\": {\"MEMORY_MB\": 131072}}}, \"project_id\": \"p1\", \"user_id\": \"u1\", \"consumer_generation\": null}"
check "more than the capacity left is 409" is "$status" 409
check "saying so" is "$(jget '"exceed the capacity" in d["errors"][0]["detail"]')" True
req DELETE "/resource_providers/$rp" 1.28
check "deleting a provider with allocations is 409" is "$status" 409
check "placement.resource_provider.inuse" is "$(jget 'd["errors"][0]["code"]')" placement.resource_provider.inuse
c2=$(cat /proc/sys/kernel/random/uuid)
req POST /allocations 1.28 "{\"$c2\": {\"allocations\": {\"$rack\": {\"resources\": {\"VCPU\": 3}}}, \"project_id\": \"p1\", \"user_id\": \"u2\", \"consumer_generation\": null}}"
check "POST /allocations (1.13) is 204" is "$status" 204
req GET "/usages?project_id=p1&user_id=u2" 1.9
check "user u2 uses 3 VCPU" is "$(jget 'd["usages"]')" "{'VCPU': 3}"
req DELETE "/allocations/$consumer" 1.28
check "DELETE /allocations/{consumer} is 204" is "$status" 204
req DELETE "/allocations/$consumer" 1.28
check "again is 404" is "$status" 404
check "resource provider usage show is back" os resource provider usage show "$rp" -f value
check "to what it was" out_has "^VCPU $base$"

# --- generations, bad input, versions -------------------------------------------------
req GET "/resource_providers/$rack/inventories" 1.28
gen=$(jget 'd["resource_provider_generation"]')
req PUT "/resource_providers/$rack/inventories" 1.28 "{\"resource_provider_generation\": $((gen + 5)), \"inventories\": {\"VCPU\": {\"total\": 4}}}"
check "PUT inventories with a stale generation is 409" is "$status" 409
check "Placement's error body" is "$(jget 'sorted(d["errors"][0])')" "['code', 'detail', 'request_id', 'status', 'title']"
check "status, title and code" is "$(jget 'd["errors"][0]["status"], d["errors"][0]["title"], d["errors"][0]["code"]')" "409 Conflict placement.concurrent_update"
check "the request id of the answer" is "$(jget 'd["errors"][0]["request_id"]')" "$(header X-OpenStack-Request-Id)"
req PUT "/resource_providers/$rack/inventories" 1.28 "{\"resource_provider_generation\": $gen, \"inventories\": {\"VCPU\": {\"total\": 4}}}"
check "with the current one it is 200" is "$status" 200
check "and the generation moves on" is "$(jget 'd["resource_provider_generation"]')" $((gen + 1))
req DELETE "/resource_providers/$rack/inventories/VCPU" 1.28
check "deleting inventory in use is 409" is "$status" 409
check "placement.inventory.inuse" is "$(jget 'd["errors"][0]["code"]')" placement.inventory.inuse
req POST /resource_providers 1.28 '{"uuid": "not-a-uuid"}'
check "POST /resource_providers without a name is 400" is "$status" 400
check "JSON does not validate" is "$(jget '"JSON does not validate" in d["errors"][0]["detail"]')" True
req POST /resource_providers 1.28 '{"name": "rack-1"}'
check "a taken name is 409" is "$status" 409
check "placement.duplicate_name" is "$(jget 'd["errors"][0]["code"]')" placement.duplicate_name
req GET /resource_providers/00000000-0000-4000-8000-000000000000 1.28
check "an unknown provider is 404" is "$status" 404
check "naming it" is "$(jget '"No resource provider with uuid 00000000-0000-4000-8000-000000000000 found" in d["errors"][0]["detail"]')" True
req GET '/allocation_candidates?resources=VCPU:x' 1.28
check "resources=VCPU:x is 400" is "$status" 400
req GET '/allocation_candidates?resources=CUSTOM_NOPE:1' 1.28
check "an unknown resource class is 400" is "$status" 400
req GET '/allocation_candidates?resources=VCPU:1&required=!CUSTOM_FAST' 1.22
check "a forbidden trait (1.22)" is "$(jget 'len(d["allocation_requests"])')" 4
req GET '/resource_providers?bogus=1' 1.28
check "an unknown query parameter is 400" is "$status" 400
req PUT "/allocations/$consumer" 1.28 '{"allocations": {}}'
check "PUT /allocations without project_id is 400" is "$status" 400
req PUT /traits/HW_NOT_CUSTOM 1.6
check "PUT /traits of a non-CUSTOM_ name is 400" is "$status" 400

req GET / ''
check "GET /placement/ answers without a token version 1.0" is "$(header OpenStack-API-Version)" "placement 1.0"
check "and lists min 1.0, max 1.36" is "$(jget 'd["versions"][0]["min_version"], d["versions"][0]["max_version"]')" "1.0 1.36"
req GET /resource_providers latest
check "latest is 1.36" is "$(header OpenStack-API-Version)" "placement 1.36"
req GET /resource_providers 1.99
check "1.99 is 406" is "$status" 406
check "naming the range" is "$(jget 'd["errors"][0]["min_version"], d["errors"][0]["max_version"]')" "1.0 1.36"
req GET /resource_providers 1.x
check "1.x is 400" is "$status" 400
req GET /traits 1.5
check "GET /traits before 1.6 is 404" is "$status" 404
req GET /resource_providers 1.13
check "before 1.14 a provider has no root_provider_uuid" is "$(jget '"root_provider_uuid" in d["resource_providers"][0]')" False
req GET '/allocation_candidates?resources=VCPU:1' 1.16
check "before 1.17 summaries have no traits" is "$(jget '"traits" in list(d["provider_summaries"].values())[0]')" False
req GET '/allocation_candidates?resources=VCPU:1' 1.11
check "before 1.12 allocation requests are lists" is "$(jget 'type(d["allocation_requests"][0]["allocations"]).__name__')" list
req GET /resource_providers 1.28
check "a request without a token is 401" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "$P/resource_providers")" = 401
check "the demo user may not use placement" \
  bash -c ". '$tmp/aio/openrc-demo' && ! /usr/bin/openstack resource provider list >'$tmp/out' 2>&1"
check "with 403" out_has "HTTP 403"

check "server delete --wait" os server delete --wait vm-1
tap_done
