#!/bin/bash
# auth_strategy = keystone: nephele-aio validates the tokens of a real
# Keystone (Debian's, started by tests/peers/keystone.sh on loopback).  The
# compute and image endpoints are registered in Keystone's catalog, and
# Debian's openstack CLI, logging in to Keystone, finds nephele there.
# Checked: server create and list, project isolation, admin-only APIs, the
# reader role, 401 with WWW-Authenticate, forged and revoked tokens, 503 (not
# a hang) when Keystone is gone, and the start-up error for a missing key.
# TAP output.
set -u
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/aio.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-keystone-XXXXXX")
peer="$top_srcdir/tests/peers/keystone.sh"
cleanup() {
  stop_aio
  bash "$peer" stop "$tmp/keystone"
  [ -n "${NPH_TEST_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
[ -x /usr/bin/openstack ] || bail "/usr/bin/openstack is missing (bash .ci/deps installs python3-openstackclient)"
[ -x /usr/bin/keystone-wsgi-public ] || bail "Keystone is missing (bash .ci/deps installs python3-keystone)"

bash "$peer" start "$tmp/keystone" || bail "Keystone did not start"
. "$tmp/keystone/env" # PORT, URL (.../v3), ADMIN_PASSWORD

# ---- Keystone's REST API with curl (the CLI takes seconds per command) ----
# ks_login USER PASSWORD PROJECT: a project-scoped token, on stdout.
ks_login() {
  curl -s -D - -o /dev/null -H 'Content-Type: application/json' "$URL/auth/tokens?nocatalog" \
    -d '{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "'"$1"'",
         "domain": {"id": "default"}, "password": "'"$2"'"}}},
         "scope": {"project": {"name": "'"$3"'", "domain": {"id": "default"}}}}}' |
    sed -n 's/^x-subject-token: *//Ip' | tr -d '\r'
}
admin_token=$(ks_login admin "$ADMIN_PASSWORD" admin)
[ -n "$admin_token" ] || bail "no admin token from Keystone"
# ks METHOD PATH [BODY]: as Keystone's admin; the answer on stdout.
ks() {
  curl -sf -X "$1" -H "X-Auth-Token: $admin_token" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "$URL$2"
}
# ks_id MEMBER: the id of the object MEMBER (or the first of the list MEMBER) read on stdin.
ks_id() {
  /usr/bin/python3 -c 'import json, sys
v = json.load(sys.stdin)[sys.argv[1]]
print((v[0] if isinstance(v, list) else v)["id"])' "$1"
}

# ---- nephele-aio with [keystone_authtoken] ----
# A short cache, so that a revoked token is refused within the test.
cat >"$tmp/keystone.conf" <<EOT
[api]
auth_strategy = keystone

[keystone_authtoken]
www_authenticate_uri = $URL
auth_url = http://127.0.0.1:$PORT
username = admin
password = $ADMIN_PASSWORD
project_name = admin
user_domain_name = Default
project_domain_name = Default
token_cache_time = 3
timeout = 5
EOT
start_aio "$tmp/aio" --config-file "$tmp/keystone.conf"
base=${aio_endpoint%/v2.1}
check "nephele-aio names Keystone as the identity service" grep -q " identity $URL " "$tmp/aio.out"
check "its openrc points at Keystone" grep -qx "export OS_AUTH_URL=$URL" "$tmp/aio/openrc"

# The catalog: compute and image at nephele-aio, as an operator registers them.
register() { # TYPE NAME URL
  local sid
  sid=$(ks POST /services '{"service": {"type": "'"$1"'", "name": "'"$2"'"}}' | ks_id service) || return 1
  for iface in public internal; do
    ks POST /endpoints '{"endpoint": {"service_id": "'"$sid"'", "interface": "'"$iface"'",
      "region_id": "RegionOne", "url": "'"$3"'"}}' >/dev/null || return 1
  done
}
check "register compute ($aio_endpoint) in Keystone's catalog" register compute nova "$aio_endpoint"
check "and image ($base/image)" register image glance "$base/image"
# Project "other" with alice (member) and walter (reader).
other=$(ks POST /projects '{"project": {"name": "other", "domain_id": "default"}}' | ks_id project)
member_role=$(ks GET '/roles?name=member' | ks_id roles)
reader_role=$(ks GET '/roles?name=reader' | ks_id roles)
add_user() { # NAME ROLE_ID
  local uid
  uid=$(ks POST /users '{"user": {"name": "'"$1"'", "password": "pw-'"$1"'", "domain_id": "default",
    "default_project_id": "'"$other"'"}}' | ks_id user) || return 1
  ks PUT "/projects/$other/users/$uid/roles/$2" >/dev/null
}
check "create project other, member alice and reader walter" \
  bash -c "[ -n '$other' ] && [ -n '$member_role' ] && [ -n '$reader_role' ]"
check "alice" add_user alice "$member_role"
check "walter" add_user walter "$reader_role"

# ---- the openstack CLI, logging in to Keystone ----
export OS_AUTH_TYPE=password OS_AUTH_URL=$URL OS_IDENTITY_API_VERSION=3 OS_REGION_NAME=RegionOne \
  OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_INTERFACE=public \
  OS_USERNAME=admin OS_PASSWORD=$ADMIN_PASSWORD OS_PROJECT_NAME=admin
os() {
  /usr/bin/openstack "$@" >"$tmp/out" 2>&1 && return 0
  echo "#   openstack $* failed:"; sed 's/^/#   /' "$tmp/out" | tail -5; return 1
}
not_os() {
  ! /usr/bin/openstack "$@" >"$tmp/out" 2>&1 || { echo "#   openstack $* succeeded"; return 1; }
}
alice() { OS_USERNAME=alice OS_PASSWORD=pw-alice OS_PROJECT_NAME=other "$@"; }
out() { sed '/./,$!d' "$tmp/out"; }
out_is() { [ "$(out)" = "$1" ] || { echo "#   got '$(out)', want '$1'"; return 1; }; }
out_has() { grep -q -- "$1" "$tmp/out" || { echo "#   output lacks '$1':"; sed 's/^/#   /' "$tmp/out" | head -20; return 1; }; }
# status TOKEN METHOD PATH [BODY]: the HTTP status nephele answers.
status() {
  curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' --max-time 30 -X "$2" \
    ${1:+-H "X-Auth-Token: $1"} -H 'Content-Type: application/json' ${4:+-d "$4"} "$aio_endpoint$3"
}
status_is() { # WANT TOKEN METHOD PATH [BODY]
  local want=$1 got; shift
  got=$(status "$@")
  [ "$got" = "$want" ] || { echo "#   $2 $3: got $got, want $want: $(head -c 300 "$tmp/body")"; return 1; }
}

check "server create --wait, through Keystone's catalog" \
  os server create --flavor m1.tiny --image nephele-tiny --wait -f value -c status ks-1
check "comes back ACTIVE" out_is ACTIVE
check "server list" os server list -f value -c Name -c Status
check "shows it" out_is "ks-1 ACTIVE"
check "the admin's token lists it over HTTP" status_is 200 "$admin_token" GET /servers
server_id=$(/usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["servers"][0]["id"])' <"$tmp/body")

alice_token=$(ks_login alice pw-alice other)
check "alice (member of other) cannot show the admin's server" alice not_os server show "$server_id"
check "the CLI finds no such server" out_has "No server with a name or ID"
check "GET /servers/ID is 404 for her" status_is 404 "$alice_token" GET "/servers/$server_id"
check "her server list is empty" status_is 200 "$alice_token" GET /servers
check "[]" grep -q '"servers": *\[\]' "$tmp/body"
check "alice: hypervisor list is refused" alice not_os hypervisor list
check "with 403" out_has "HTTP 403"

walter_token=$(ks_login walter pw-walter other)
check "walter (reader) may list servers" status_is 200 "$walter_token" GET /servers
check "but not create one (403)" status_is 403 "$walter_token" POST /servers \
  '{"server": {"name": "w", "flavorRef": "1", "imageRef": "x"}}'

check "no token: 401" status_is 401 "" GET /servers
check "WWW-Authenticate names www_authenticate_uri" \
  grep -qi "^WWW-Authenticate: Keystone uri=\"$URL\"" "$tmp/headers"
check "a forged token: 401" status_is 401 "gAAAAABforged-token" GET /servers
check "a token with a space is refused without asking Keystone" status_is 401 'abc def' GET /servers

# Revocation takes effect once the cache entry (token_cache_time = 3) is gone.
doomed=$(ks_login alice pw-alice other)
check "a fresh token of alice's works" status_is 200 "$doomed" GET /servers
cached_at=$(date +%s)
check "openstack token revoke" os token revoke "$doomed"
sleep $((cached_at + 4 - $(date +%s))) 2>/dev/null
check "after token_cache_time the revoked token is 401" status_is 401 "$doomed" GET /servers

# Keystone gone: a token not in the cache is a quick 503, never a hang.
unseen=$(ks_login alice pw-alice other)
check "Keystone stops" bash "$peer" stop "$tmp/keystone"
start_ns=$(date +%s%N)
check "an uncached token is then 503" status_is 503 "$unseen" GET /servers
check "answered within 5 s" test $(( ($(date +%s%N) - start_ns) / 1000000 )) -lt 5000
check "in Nova's words" grep -q '"serviceUnavailable"' "$tmp/body"
check "the log says why" grep -q "cannot validate a token: .*127.0.0.1:$PORT" "$tmp/aio.log"
stop_aio
check "nephele-aio stops on SIGTERM" grep -q 'nephele-aio stopped' "$tmp/aio.log"
check "with no sanitizer report" bash -c "! grep -q 'Sanitizer\|runtime error' '$tmp/aio.log'"

# A missing key is a start-up error naming the file and the key.
grep -v '^username' "$tmp/keystone.conf" >"$tmp/broken.conf"
NEPHELE_PLUGIN_PATH="$top_builddir/drivers/fake/.libs" timeout 20 \
  "$top_builddir/services/aio/nephele-aio" --data-dir "$tmp/aio" --listen 127.0.0.1:0 \
  --config-file "$tmp/broken.conf" >"$tmp/broken.out" 2>"$tmp/broken.log"
check "without [keystone_authtoken] username nephele-aio does not start" test $? = 1
check "and says which file and key" \
  grep -q "$tmp/broken.conf:[0-9]*: \[keystone_authtoken\] has no 'username'" "$tmp/broken.log"
tap_done
