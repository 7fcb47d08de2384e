#!/bin/bash
# The compute API over HTTP with curl, against nephele-aio started here on a
# free loopback port: version discovery, microversion negotiation and its
# headers, request ids, Nova's error bodies for bad input, state conflicts,
# project isolation, admin-only APIs, and fields that change by microversion.
# TAP output.
set -u
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/aio.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-api-XXXXXX")
cleanup() {
  stop_aio
  [ -n "${NPH_TEST_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
command -v curl >/dev/null || bail "curl is not installed (bash .ci/deps)"

# noauth2: a token USER:PROJECT says who asks (the built-in identity is
# tested with the real clients in api-cli.sh).
printf '[api]\nauth_strategy = noauth2\n' >"$tmp/noauth.conf"
start_aio "$tmp/aio" --config-file "$tmp/noauth.conf"
base=${aio_endpoint%/v2.1}

# req METHOD PATH [BODY [HEADER...]]: the status in $status, the body in
# $tmp/body, the headers in $tmp/headers.
req() {
  local method=$1 path=$2 body=${3-}; shift 3 2>/dev/null || shift $#
  local args=(-s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' -X "$method")
  [ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  for h in "$@"; do args+=(-H "$h"); done
  status=$(curl "${args[@]}" "$base$path")
}
# jq-like reads with Debian's Python: jget 'd["server"]["id"]'
jget() { /usr/bin/python3 -c "import json,sys; d=json.load(open('$tmp/body')); print($1)" 2>/dev/null; }
header() { tr -d '\r' <"$tmp/headers" | awk -v k="$1" 'tolower($1) == tolower(k) ":" {sub(/^[^:]*: /, ""); print}'; }
is() { [ "$1" = "$2" ] || { echo "#   got '$1', want '$2'"; return 1; }; }
has() { grep -q -- "$1" "$tmp/body" || { echo "#   body lacks '$1':"; sed 's/^/#   /' "$tmp/body"; echo; return 1; }; }

# --- versions -----------------------------------------------------------------
req GET / ''
check "GET / lists the versions" is "$status" 200
check "v2.1 is CURRENT up to 2.79" is "$(jget 'd["versions"][0]["status"] + " " + d["versions"][0]["version"]')" "CURRENT 2.79"
req GET /v2.1/ ''
check "GET /v2.1/ answers without a token" is "$status" 200
check "and names min_version 2.1" is "$(jget 'd["version"]["min_version"]')" 2.1

# --- microversions --------------------------------------------------------------
req GET /v2.1/flavors '' 'OpenStack-API-Version: compute 2.47'
check "OpenStack-API-Version: compute 2.47 is accepted" is "$status" 200
check "and echoed" is "$(header OpenStack-API-Version)" "compute 2.47"
check "with the legacy header too" is "$(header X-OpenStack-Nova-API-Version)" 2.47
req GET /v2.1/flavors '' 'X-OpenStack-Nova-API-Version: 2.60'
check "X-OpenStack-Nova-API-Version: 2.60 is echoed" is "$(header OpenStack-API-Version)" "compute 2.60"
req GET /v2.1/flavors ''
check "no header means 2.1" is "$(header X-OpenStack-Nova-API-Version)" 2.1
req GET /v2.1/flavors '' 'OpenStack-API-Version: compute latest'
check "latest means the maximum" is "$(header X-OpenStack-Nova-API-Version)" 2.79
req GET /v2.1/flavors '' 'OpenStack-API-Version: compute 2.200'
check "an unsupported version is 406" is "$status" 406
check "with notAcceptable naming the range" has '"notAcceptable":{"code":406,"message":"Version 2.200 is not supported by the API. Minimum is 2.1 and maximum is 2.79."}'
req GET /v2.1/flavors '' 'X-OpenStack-Nova-API-Version: 2.x'
check "a malformed version is 400" is "$status" 400
check "every answer carries X-Compute-Request-Id" \
  grep -Eq '^X-Compute-Request-Id: req-[0-9a-f-]{36}' <(tr -d '\r' <"$tmp/headers")

# --- errors -----------------------------------------------------------------------
req GET /v2.1/servers/not-a-uuid ''
check "a non-UUID server id is 404" is "$status" 404
check "itemNotFound" has '"itemNotFound":{"code":404,"message":"Instance not-a-uuid could not be found."}'
req GET /v2.1/no-such-thing ''
check "an unknown resource is 404" is "$status" 404
req PUT /v2.1/flavors ''
check "a method a resource lacks is 405" is "$status" 405
req POST /v2.1/servers '{"server": {'
check "malformed JSON is 400" is "$status" 400
check "badRequest says so" has '"badRequest":{"code":400,"message":"Malformed request body'
req POST /v2.1/servers '{"server": {"name": 123, "flavorRef": "1", "imageRef": "x"}}'
check "a name that is not a string is 400" is "$status" 400
check "naming the field" has 'name'
req POST /v2.1/servers '{"server": {"name": "a", "flavorRef": "1", "imageRef": "x", "colour": "red"}}'
check "an unknown field is 400" is "$status" 400
check "naming it" has "'colour' was unexpected"
req POST /v2.1/servers '{"server": {"name": "a", "imageRef": "x"}}'
check "a missing flavorRef is 400" is "$status" 400
req POST /v2.1/servers '{"server": {"name": "a", "flavorRef": "999", "imageRef": "x"}}'
check "an unknown flavor is 400" has 'Flavor 999 could not be found.'
{ printf '{"server": {"name": "'; head -c 200000 /dev/zero | tr '\0' 'x'; printf '"}}'; } >"$tmp/big.json"
req POST /v2.1/servers "@$tmp/big.json"
check "a body over max_request_body_size is 413" is "$status" 413

# --- a server's life ----------------------------------------------------------------
image=$(req GET /v2.1/images ''; jget 'd["images"][0]["id"]')
req POST /v2.1/servers "{\"server\": {\"name\": \"web-1\", \"flavorRef\": \"1\", \"imageRef\": \"$image\"}}" \
  'OpenStack-API-Version: compute 2.37'
check "from 2.37 networks is required" is "$status" 400
req POST /v2.1/servers "{\"server\": {\"name\": \"web-1\", \"flavorRef\": \"1\", \"imageRef\": \"$image\", \"networks\": \"none\", \"metadata\": {\"role\": \"web\"}}}" \
  'OpenStack-API-Version: compute 2.37'
check "create answers 202" is "$status" 202
server=$(jget 'd["server"]["id"]')
check "with the server id and an adminPass" is "$(jget 'len(d["server"]["adminPass"]) > 0')" True
check "and a Location" is "$(header Location)" "$base/v2.1/servers/$server"
wait_status() { # ID STATUS: poll GET /servers/ID for up to 10 s
  for _ in $(seq 1 100); do
    req GET "/v2.1/servers/$1" ''
    [ "$(jget 'd["server"]["status"]')" = "$2" ] && return 0
    sleep 0.1
  done
  echo "#   server $1 is $(jget 'd["server"]["status"]'), not $2"; return 1
}
check "the server becomes ACTIVE" wait_status "$server" ACTIVE
check "on the compute host" is "$(jget 'd["server"]["OS-EXT-SRV-ATTR:host"]')" aio
check "at 2.1 the flavor is a reference" is "$(jget 'd["server"]["flavor"]["id"]')" 1
req GET "/v2.1/servers/$server" '' 'OpenStack-API-Version: compute 2.47'
check "at 2.47 the flavor is embedded" is "$(jget 'd["server"]["flavor"]["original_name"] + " " + str(d["server"]["flavor"]["ram"])')" "m1.tiny 512"
req GET "/v2.1/servers/$server/metadata/role" ''
check "server metadata reads back" is "$(jget 'd["meta"]["role"]')" web
req GET '/v2.1/servers/detail?name=^web-' ''
check "name filters as a regular expression" is "$(jget 'len(d["servers"])')" 1
req GET '/v2.1/servers/detail?name=^nomatch' ''
check "and matches nothing when it should" is "$(jget 'len(d["servers"])')" 0
req POST "/v2.1/servers/$server/action" '{"os-stop": null}'
check "os-stop answers 202" is "$status" 202
check "the server stops" wait_status "$server" SHUTOFF
req POST "/v2.1/servers/$server/action" '{"os-stop": null}'
check "stopping a stopped server is 409" is "$status" 409
check "conflictingRequest" has '"conflictingRequest":{"code":409'
req POST "/v2.1/servers/$server/action" '{"os-start": null}'
check "os-start answers 202" is "$status" 202
check "the server runs again" wait_status "$server" ACTIVE
req POST "/v2.1/servers/$server/action" '{"reboot": {"type": "sideways"}}'
check "a bad reboot type is 400" is "$status" 400
req POST "/v2.1/servers/$server/action" '{"os-getConsoleOutput": {"length": 2}}'
check "console output answers 200" is "$status" 200
check "with the guest's log" has 'guest started'
req GET "/v2.1/servers/$server/os-instance-actions" ''
check "os-instance-actions lists create, stop and start" \
  is "$(jget '",".join(sorted(a["action"] for a in d["instanceActions"]))')" "create,start,stop"

req PUT "/v2.1/servers/$server/metadata/tier" '{"meta": {"tier": "gold"}}'
check "a metadata item is set" is "$status" 200
req POST "/v2.1/servers/$server/metadata" '{"metadata": {"owner": "ops"}}'
check "metadata merges" is "$(jget '",".join(sorted(d["metadata"]))')" "owner,role,tier"
req DELETE "/v2.1/servers/$server/metadata/owner" ''
check "an item is deleted" is "$status" 204
req PUT "/v2.1/servers/$server/metadata" '{"metadata": {"only": "this"}}'
check "PUT replaces all metadata" is "$(jget '",".join(sorted(d["metadata"]))')" only
req PUT "/v2.1/servers/$server/metadata/x" '{"meta": {"y": "1"}}'
check "a body naming another key is 400" is "$status" 400

# --- flavors: extra specs and access lists
req POST /v2.1/flavors '{"flavor": {"name": "private.small", "ram": 256, "vcpus": 1, "disk": 1, "id": "p1", "os-flavor-access:is_public": false}}'
check "an admin creates a private flavor" is "$status" 200
req POST /v2.1/flavors/p1/os-extra_specs '{"extra_specs": {"hw:cpu_policy": "dedicated"}}'
check "and sets an extra spec" is "$(jget 'd["extra_specs"]["hw:cpu_policy"]')" dedicated
req GET /v2.1/flavors/p1 '' 'OpenStack-API-Version: compute 2.61'
check "which the flavor shows from 2.61" is "$(jget 'd["flavor"]["extra_specs"]["hw:cpu_policy"]')" dedicated
req GET /v2.1/flavors/p1 '' 'X-Auth-Token: alice:project-a'
check "a private flavor is hidden from other projects" is "$status" 404
req POST /v2.1/flavors/p1/action '{"addTenantAccess": {"tenant": "project-a"}}'
check "until they get access" is "$(jget 'd["flavor_access"][0]["tenant_id"]')" project-a
req GET /v2.1/flavors/p1 '' 'X-Auth-Token: alice:project-a'
check "then they see it" is "$status" 200
req POST /v2.1/flavors/p1/action '{"addTenantAccess": {"tenant": "project-a"}}'
check "granting it twice is 409" is "$status" 409
req POST /v2.1/flavors/p1/action '{"removeTenantAccess": {"tenant": "project-a"}}'
check "access is removed" is "$(jget 'len(d["flavor_access"])')" 0
req DELETE /v2.1/flavors/p1 ''
check "and the flavor deleted" is "$status" 202

# --- projects and policy -------------------------------------------------------------
alice='X-Auth-Token: alice:project-a'
req GET "/v2.1/servers/$server" '' "$alice"
check "another project's server is 404" is "$status" 404
req GET /v2.1/servers '' "$alice"
check "and absent from its list" is "$(jget 'len(d["servers"])')" 0
req GET /v2.1/os-hypervisors '' "$alice"
check "a member is refused admin-only APIs with 403" is "$status" 403
check "forbidden" has '"forbidden":{"code":403'
req GET "/v2.1/servers/$server" '' "$alice" 'OpenStack-API-Version: compute 2.1'
req POST "/v2.1/servers/$server/action" '{"lock": {"locked_reason": "maintenance window"}}' 'OpenStack-API-Version: compute 2.73'
check "lock with a reason (2.73) is 202" is "$status" 202
req GET "/v2.1/servers/$server" '' 'OpenStack-API-Version: compute 2.73'
check "the server shows it" is "$(jget 'd["server"]["locked"], d["server"]["locked_reason"]')" 'True maintenance window'
req POST "/v2.1/servers/$server/action" '{"lock": {"locked_reason": 42}}' 'OpenStack-API-Version: compute 2.73'
check "a reason that is not a string is 400" is "$status" 400
req POST "/v2.1/servers/$server/action" '{"unlock": null}'
req GET "/v2.1/servers/$server" '' 'OpenStack-API-Version: compute 2.73'
check "unlock drops the reason" is "$(jget 'd["server"]["locked"], d["server"]["locked_reason"]')" 'False None'
req GET /v2.1/os-hypervisors '' 'OpenStack-API-Version: compute 2.1'
hv=$(jget 'd["hypervisors"][0]["id"]')
req GET "/v2.1/os-hypervisors/$hv/uptime" ''
check "hypervisor uptime: no driver has the call, Nova's 501" is "$status" 501
check "saying so" has "does not implement host uptime"
req GET "/v2.1/os-hypervisors/99999/uptime" ''
check "an unknown hypervisor's uptime is 404" is "$status" 404
req GET /v2.1/os-hypervisors/detail '' 'OpenStack-API-Version: compute 2.27'
check "cpu_info is a string before 2.28" is "$(jget 'type(d["hypervisors"][0]["cpu_info"]).__name__')" str
req GET /v2.1/os-hypervisors/detail '' 'OpenStack-API-Version: compute 2.28'
check "and an object from 2.28" is "$(jget 'type(d["hypervisors"][0]["cpu_info"]).__name__')" dict
req GET /v2.1/limits ''
check "/limits at 2.1 has maxPersonality and maxSecurityGroups" \
  is "$(jget '"maxPersonality" in d["limits"]["absolute"] and "maxSecurityGroups" in d["limits"]["absolute"]')" True
check "and counts the server" is "$(jget 'd["limits"]["absolute"]["totalInstancesUsed"]')" 1
req GET /v2.1/limits '' 'OpenStack-API-Version: compute 2.57'
check "at 2.57 both are gone" \
  is "$(jget '"maxPersonality" in d["limits"]["absolute"] or "maxSecurityGroups" in d["limits"]["absolute"]')" False

# --- quotas ----------------------------------------------------------------------------
bob='X-Auth-Token: bob:project-b'
req PUT /v2.1/os-quota-sets/project-b '{"quota_set": {"instances": 2, "cores": 20}}'
check "an admin sets a project's quota" is "$status" 200
check "and reads it back" is "$(jget 'd["quota_set"]["instances"]')" 2
req PUT /v2.1/os-quota-sets/project-b '{"quota_set": {"instances": 2}}' "$bob"
check "a member may not" is "$status" 403
req PUT /v2.1/os-quota-sets/project-b '{"quota_set": {"instances": -5}}'
check "a limit under -1 is 400" is "$status" 400
boot_b() { req POST /v2.1/servers "{\"server\": {\"name\": \"b\", \"flavorRef\": \"1\", \"imageRef\": \"$image\"$1}}" "$bob"; }
boot_b ', "min_count": 3'
check "three servers where two are allowed is 403" is "$status" 403
check "with Nova's message" has 'Quota exceeded for instances: Requested 3, but already used 0 of 2 instances'
boot_b ', "min_count": 1, "max_count": 5'
check "max_count 5 with room for two creates two" is "$status" 202
req GET /v2.1/servers '' "$bob"
check "project-b has two servers" is "$(jget 'len(d["servers"])')" 2
boot_b ''
check "a third is refused" is "$status" 403
req GET /v2.1/os-quota-sets/project-b/detail '' "$bob"
check "the member sees its usage" is "$(jget 'd["quota_set"]["instances"]["in_use"]')" 2
req GET /v2.1/servers '' "$bob"
for id in $(jget '" ".join(s["id"] for s in d["servers"])'); do req DELETE "/v2.1/servers/$id" '' "$bob"; done
check "and may delete its servers" is "$status" 204

# --- the image service (Glance v2 writes under /image) -------------------------------
upload() { # ID FILE: PUT the bytes as the image's data
  status=$(curl -s -o "$tmp/body" -w '%{http_code}' -X PUT -H 'Content-Type: application/octet-stream' \
    --data-binary "@$2" "$base/image/v2/images/$1/file")
}
req POST /image/v2/images '{"name": "up-1", "disk_format": "qcow2", "container_format": "bare", "os_distro": "cirros"}'
check "image create answers 201" is "$status" 201
check "queued, with the extra property" is "$(jget 'd["status"] + " " + d["os_distro"]')" "queued cirros"
up1=$(jget 'd["id"]')
head -c 70000 /dev/urandom >"$tmp/random.bin"
upload "$up1" "$tmp/random.bin"
check "data that is not qcow2 is refused with 400" is "$status" 400
check "naming the format" has "not a qcow2 image"
{ printf 'QFI\373\0\0\0\3'; head -c 200000 /dev/urandom; } >"$tmp/disk.qcow2"
upload "$up1" "$tmp/disk.qcow2"
check "a qcow2 upload answers 204" is "$status" 204
req GET "/image/v2/images/$up1" ''
check "the image is active with size and checksums" \
  is "$(jget 'd["status"] + " " + str(d["size"]) + " " + d["checksum"] + " " + d["os_hash_value"][:16]')" \
  "active 200008 $(md5sum <"$tmp/disk.qcow2" | cut -c1-32) $(sha512sum <"$tmp/disk.qcow2" | cut -c1-16)"
upload "$up1" "$tmp/disk.qcow2"
check "a second upload is a 409" is "$status" 409
check "download returns the bytes" \
  curl -sf -o "$tmp/download.bin" "$base/image/v2/images/$up1/file"
check "unchanged" cmp -s "$tmp/download.bin" "$tmp/disk.qcow2"
req PATCH "/image/v2/images/$up1" '[{"op": "replace", "path": "/name", "value": "up-2"}, {"op": "add", "path": "/hw_disk_bus", "value": "virtio"}, {"op": "remove", "path": "/os_distro"}]' \
  'Content-Type: application/openstack-images-v2.1-json-patch'
check "PATCH answers 200" is "$status" 200
check "renamed, property added and removed" \
  is "$(jget 'd["name"] + " " + d["hw_disk_bus"] + " " + str("os_distro" in d)')" "up-2 virtio False"
req PATCH "/image/v2/images/$up1" '[{"op": "replace", "path": "/size", "value": 1}]'
check "PATCH of a read-only attribute is a 403" is "$status" 403
req PATCH "/image/v2/images/$up1" '[{"op": "replace", "path": "/min_ram", "value": "lots"}]'
check "PATCH with a bad value is a 400" is "$status" 400
req POST /image/v2/images '{"name": "x", "disk_format": "floppy"}'
check "an unknown disk_format is a 400" is "$status" 400
req DELETE "/image/v2/images/$up1" ''
check "image delete answers 204" is "$status" 204
req GET "/image/v2/images/$up1" ''
check "and the image is gone" is "$status" 404

# --- aggregates and availability zones --------------------------------------------
req POST /v2.1/os-aggregates '{"aggregate": {"name": "rack-1", "availability_zone": "zone-a"}}'
check "an admin creates an aggregate with a zone" is "$status" 200
check "which has an integer id and the zone" is "$(jget 'str(d["aggregate"]["id"]) + " " + d["aggregate"]["availability_zone"]')" "1 zone-a"
req POST /v2.1/os-aggregates '{"aggregate": {"name": "rack-1"}}'
check "a second aggregate of that name is 409" is "$status" 409
req POST /v2.1/os-aggregates '{"aggregate": {"name": "rack-2"}}' "$alice"
check "a member may not create aggregates" is "$status" 403
req POST /v2.1/os-aggregates/1/action '{"add_host": {"host": "no-such-host"}}'
check "adding an unknown host is 404" is "$status" 404
req POST /v2.1/os-aggregates/1/action '{"add_host": {"host": "aio"}}'
check "adding the compute host" is "$(jget '" ".join(d["aggregate"]["hosts"])')" aio
req POST /v2.1/os-aggregates/1/action '{"set_metadata": {"metadata": {"ssd": "true"}}}'
check "set_metadata merges with the zone" is "$(jget 'sorted(d["aggregate"]["metadata"].items())')" "[('availability_zone', 'zone-a'), ('ssd', 'true')]"
req GET /v2.1/os-availability-zone ''
check "the host's zone is listed" is "$(jget '[z["zoneName"] for z in d["availabilityZoneInfo"]]')" "['zone-a']"
req GET /v2.1/os-services ''
check "os-services lists the conductor, up, in zone internal" is "$(jget '[s["state"] + " " + s["zone"] for s in d["services"] if s["binary"] == "nova-conductor"]')" "['up internal']"
check "os-services shows the zone of the compute" is "$(jget '[s["zone"] for s in d["services"] if s["binary"] == "nova-compute"]')" "['zone-a']"
req POST /v2.1/servers "{\"server\": {\"name\": \"z-1\", \"flavorRef\": \"1\", \"imageRef\": \"$image\", \"availability_zone\": \"zone-b\"}}"
check "a server in a zone no host is in is 400" is "$status" 400
req POST /v2.1/servers "{\"server\": {\"name\": \"z-1\", \"flavorRef\": \"1\", \"imageRef\": \"$image\", \"availability_zone\": \"zone-a\"}}"
check "a server in zone-a is accepted" is "$status" 202
zoned=$(jget 'd["server"]["id"]')
active() { # ID: ACTIVE within 10 s
  for _ in $(seq 1 100); do req GET "/v2.1/servers/$1" ''; [ "$(jget 'd["server"]["status"]')" = ACTIVE ] && return 0; sleep 0.1; done
  return 1
}
check "and becomes ACTIVE there" active "$zoned"
req DELETE "/v2.1/servers/$zoned" ''
req DELETE /v2.1/os-aggregates/1 ''
check "an aggregate with hosts cannot be deleted" is "$status" 400
req POST /v2.1/os-aggregates/1/action '{"remove_host": {"host": "aio"}}'
check "remove_host" is "$(jget 'd["aggregate"]["hosts"]')" "[]"
req PUT /v2.1/os-aggregates/1 '{"aggregate": {"name": "rack-1b"}}' 'OpenStack-API-Version: compute 2.41'
check "update renames, and 2.41 adds the uuid" is "$(jget 'd["aggregate"]["name"] + " " + str(len(d["aggregate"]["uuid"]))')" "rack-1b 36"
req DELETE /v2.1/os-aggregates/1 ''
check "an empty aggregate is deleted" is "$status" 200
req GET /v2.1/os-aggregates ''
check "and gone" is "$(jget 'd["aggregates"]')" "[]"

# --- server groups -------------------------------------------------------------------
req POST /v2.1/os-server-groups '{"server_group": {"name": "web", "policies": ["anti-affinity"]}}'
check "a server group (2.1: policies)" is "$(jget 'd["server_group"]["policies"]')" "['anti-affinity']"
group=$(jget 'd["server_group"]["id"]')
req POST /v2.1/os-server-groups '{"server_group": {"name": "x", "policies": ["soft-affinity"]}}'
check "soft-affinity is a 400 before 2.15" is "$status" 400
req POST /v2.1/os-server-groups '{"server_group": {"name": "x", "policy": "affinity", "rules": {"max_server_per_host": 2}}}' \
  'OpenStack-API-Version: compute 2.64'
check "rules belong to anti-affinity only (2.64)" is "$status" 400
boot_in_group() { req POST /v2.1/servers "{\"server\": {\"name\": \"$1\", \"flavorRef\": \"1\", \"imageRef\": \"$image\"}, \"os:scheduler_hints\": {\"group\": \"$group\"}}"; }
boot_in_group g-1
g1=$(jget 'd["server"]["id"]')
check "the first member becomes ACTIVE" active "$g1"
boot_in_group g-2
g2=$(jget 'd["server"]["id"]')
errored() { for _ in $(seq 1 100); do req GET "/v2.1/servers/$1" ''; [ "$(jget 'd["server"]["status"]')" = ERROR ] && return 0; sleep 0.1; done; return 1; }
check "anti-affinity on one host: the second goes to ERROR" errored "$g2"
check "with No valid host naming the filter" has "ServerGroupAntiAffinityFilter"
req GET "/v2.1/os-server-groups/$group" '' 'OpenStack-API-Version: compute 2.64'
check "2.64: policy, rules and both members" \
  is "$(jget 'd["server_group"]["policy"] + " " + str(len(d["server_group"]["members"])) + " " + str("policies" in d["server_group"])')" "anti-affinity 2 False"
req GET "/v2.1/os-server-groups/$group" '' "$alice"
check "another project's group is 404" is "$status" 404
req DELETE "/v2.1/servers/$g1" ''
req DELETE "/v2.1/servers/$g2" ''
req DELETE "/v2.1/os-server-groups/$group" ''
check "a group is deleted with 204" is "$status" 204

# --- external events and usage ---------------------------------------------------------
missing=$(cat /proc/sys/kernel/random/uuid)
req POST /v2.1/os-server-external-events "{\"events\": [{\"name\": \"network-vif-plugged\", \"server_uuid\": \"$server\", \"tag\": \"port-1\"}, {\"name\": \"network-changed\", \"server_uuid\": \"$missing\"}]}"
check "events for a server and a missing one: 207" is "$status" 207
check "with a code for each" is "$(jget '[e["code"] for e in d["events"]]')" "[200, 404]"
req POST /v2.1/os-server-external-events "{\"events\": [{\"name\": \"power-update\", \"server_uuid\": \"$server\", \"tag\": \"POWER_ON\"}]}"
check "power-update is a 400 before 2.76" is "$status" 400
req POST /v2.1/os-server-external-events "{\"events\": [{\"name\": \"power-update\", \"server_uuid\": \"$server\", \"tag\": \"POWER_ON\"}]}" \
  'OpenStack-API-Version: compute 2.76'
check "and accepted from 2.76" is "$status" 200
req POST /v2.1/os-server-external-events "{\"events\": [{\"name\": \"network-changed\", \"server_uuid\": \"$server\"}]}" "$alice"
check "events are for admins" is "$status" 403
req GET "/v2.1/os-simple-tenant-usage?start=2020-01-01T00:00:00&detailed=1" ''
check "usage lists the admin project" has '"tenant_id":"admin"'
check "with the running server's usage" is "$(jget '[u["instance_id"] for t in d["tenant_usages"] for u in t["server_usages"] if u["instance_id"] == "'"$server"'"]')" "['$server']"
req GET "/v2.1/os-simple-tenant-usage/project-a?start=2020-01-01T00:00:00" '' "$alice"
check "a member reads its own project's usage" is "$status" 200
req GET "/v2.1/os-simple-tenant-usage/admin" '' "$alice"
check "but not another's" is "$status" 403
req GET "/v2.1/os-simple-tenant-usage?start=yesterday" ''
check "a bad start time is 400" is "$status" 400

# --- rebuild and createImage -------------------------------------------------------
req POST "/v2.1/servers/$server/action" "{\"rebuild\": {\"imageRef\": \"$image\", \"name\": \"web-1b\", \"metadata\": {\"gen\": \"2\"}}}"
check "rebuild answers 202" is "$status" 202
check "with the server, renamed, and an adminPass" is "$(jget 'd["server"]["name"] + " " + str(len(d["server"]["adminPass"]) > 0)')" "web-1b True"
check "the rebuilt server is ACTIVE again" active "$server"
req GET "/v2.1/servers/$server/metadata" ''
check "and has the new metadata only" is "$(jget 'd["metadata"]')" "{'gen': '2'}"
req POST "/v2.1/servers/$server/action" '{"rebuild": {"imageRef": "00000000-0000-0000-0000-000000000000"}}'
check "rebuild with an unknown image is 400" is "$status" 400
req POST "/v2.1/servers/$server/action" '{"createImage": {"name": "snap-1", "metadata": {"purpose": "backup"}}}'
check "createImage answers 202" is "$status" 202
snapshot=$(header Location | sed 's,.*/images/,,')
check "with the image in Location" test -n "$snapshot"
snapshot_active() {
  for _ in $(seq 1 100); do req GET "/image/v2/images/$snapshot" ''; [ "$(jget 'd["status"]')" = active ] && return 0; sleep 0.1; done
  return 1
}
check "the snapshot becomes an active image" snapshot_active
check "of the server, with its metadata and a checksum" \
  is "$(jget 'd["image_type"] + " " + d["instance_uuid"] + " " + d["purpose"] + " " + str(len(d["checksum"]))')" "snapshot $server backup 32"
check "whose data downloads" curl -sf -o "$tmp/snapshot.raw" "$base/image/v2/images/$snapshot/file"
check "as the driver wrote it" grep -q "NEPHELE-FAKE-DISK $server" "$tmp/snapshot.raw"
idle() { # no task under way on ID
  for _ in $(seq 1 100); do req GET "/v2.1/servers/$1" ''; [ "$(jget 'd["server"]["OS-EXT-STS:task_state"]')" = None ] && return 0; sleep 0.1; done
  return 1
}
check "the server's task is over" idle "$server"
req POST "/v2.1/servers/$server/action" '{"createImage": {"name": "snap-2"}}' 'OpenStack-API-Version: compute 2.45'
check "from 2.45 createImage answers the image_id" is "$(jget 'len(d["image_id"])')" 36
req POST "/v2.1/servers/$server/action" '{"createImage": {}}'
check "createImage without a name is 400" is "$status" 400
# --- resize ----------------------------------------------------------------------------
flavor_of() { req GET "/v2.1/servers/$server" '' 'OpenStack-API-Version: compute 2.47'; jget 'd["server"]["flavor"]["original_name"] + " " + d["server"]["status"]'; }
req POST "/v2.1/servers/$server/action" '{"resize": {"flavorRef": "1"}}'
check "resize to the same flavor is 400" is "$status" 400
req POST "/v2.1/servers/$server/action" '{"resize": {"flavorRef": "no-such"}}'
check "resize to an unknown flavor is 400" is "$status" 400
req POST "/v2.1/servers/$server/action" '{"confirmResize": null}'
check "confirmResize of a server not resized is 409" is "$status" 409
req POST "/v2.1/servers/$server/action" '{"resize": {"flavorRef": "2"}}'
check "resize answers 202" is "$status" 202
verify_resize() { for _ in $(seq 1 100); do [ "$(flavor_of)" = "$1" ] && return 0; sleep 0.1; done; echo "#   got '$(flavor_of)'"; return 1; }
check "the server waits in VERIFY_RESIZE with the new flavor" verify_resize "m1.small VERIFY_RESIZE"
req POST "/v2.1/servers/$server/action" '{"revertResize": null}'
check "revertResize answers 202" is "$status" 202
check "back on the old flavor, ACTIVE" verify_resize "m1.tiny ACTIVE"
req POST "/v2.1/servers/$server/action" '{"resize": {"flavorRef": "2"}}'
check "resize again" verify_resize "m1.small VERIFY_RESIZE"
req POST "/v2.1/servers/$server/action" '{"confirmResize": null}'
check "confirmResize answers 204" is "$status" 204
check "the new flavor stays, ACTIVE" verify_resize "m1.small ACTIVE"
req GET "/v2.1/servers/$server/os-instance-actions" ''
check "os-instance-actions has the resizes, the revert and the confirm" \
  is "$(jget '" ".join(a["action"] for a in d["instanceActions"][:4])')" "confirmResize resize revertResize resize"
req POST "/v2.1/servers/$server/remote-consoles" '{"remote_console": {"protocol": "vnc", "type": "novnc"}}' \
  'OpenStack-API-Version: compute 2.6'
check "remote consoles of a driver without a VNC endpoint answer 501" is "$status" 501
check "saying so as Nova does" has "Unable to get vnc console, functionality not implemented"

# --- delete ----------------------------------------------------------------------------
req DELETE "/v2.1/servers/$server" ''
check "delete answers 204" is "$status" 204
gone() {
  for _ in $(seq 1 100); do req GET "/v2.1/servers/$server" ''; [ "$status" = 404 ] && return 0; sleep 0.1; done
  return 1
}
check "the server is gone" gone
tap_done
