#!/bin/bash
# Remote consoles end to end, with QEMU as the real VNC server: the fake
# driver reports QEMU's VNC port (console_vnc), `openstack console url show`
# gets a noVNC URL from nephele-aio, and a websocket client (Debian's
# python3-websocket) reads "RFB 003.008" from QEMU through the proxy, in
# binary and base64 framing, with ping and close; bad, expired and missing
# tokens are refused; Nova's errors for the remote-consoles API and
# os-console-auth-tokens; the same proxy as the nephele-novncproxy daemon.
# TAP output.
set -u
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/aio.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-console-XXXXXX")
qemu_pid= proxy_pid=
cleanup() {
  stop_aio
  for p in $proxy_pid $qemu_pid; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ -n "${NPH_TEST_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
py=/usr/bin/python3
client="$py $top_srcdir/tests/console-client.py"
[ -x /usr/bin/openstack ] || bail "/usr/bin/openstack is missing (bash .ci/deps installs python3-openstackclient)"
command -v qemu-system-x86_64 >/dev/null || bail "qemu-system-x86_64 is missing (bash .ci/deps installs qemu-system-x86)"
$py -c 'import websocket' 2>/dev/null || bail "python3-websocket is missing (bash .ci/deps installs it)"
command -v sqlite3 >/dev/null || bail "sqlite3 is missing (bash .ci/deps installs it)"

# QEMU's VNC server on a free display: no machine, no guest, but a real RFB
# server; and its monitor on a TCP socket, a serial-like console that greets
# with "QEMU ... monitor".  A port another test took makes QEMU exit; try
# others.
port_free() { $py -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', $1))" 2>/dev/null; }
rfb_answers() { $py -c "import socket; s=socket.create_connection(('127.0.0.1', $1), 1); assert s.recv(12) == b'RFB 003.008\n'" 2>/dev/null; }
for _ in 1 2 3 4 5; do
  display=$((RANDOM % 5000 + 1000)) vnc_port=$((5900 + display)) mon_port=$((RANDOM % 20000 + 12000))
  port_free "$vnc_port" && port_free "$mon_port" || continue
  qemu-system-x86_64 -machine none -nodefaults -S -display none -vnc "127.0.0.1:$display" \
    -monitor "tcp:127.0.0.1:$mon_port,server=on,wait=off" >"$tmp/qemu.log" 2>&1 &
  qemu_pid=$!
  for _ in $(seq 1 50); do rfb_answers "$vnc_port" && break; kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
  rfb_answers "$vnc_port" && break
  kill "$qemu_pid" 2>/dev/null; wait "$qemu_pid" 2>/dev/null; qemu_pid=
done
[ -n "$qemu_pid" ] || { sed 's/^/# /' "$tmp/qemu.log"; bail "QEMU's VNC server did not start"; }
echo "# QEMU's VNC server on 127.0.0.1:$vnc_port, its monitor on 127.0.0.1:$mon_port"

mkdir -p "$tmp/aio/plugins.d"
cat >"$tmp/aio/plugins.d/fake.conf" <<EOT
[driver]
module = fake
[options]
node_count = 1
console_vnc = 127.0.0.1:$vnc_port
console_serial = 127.0.0.1:$mon_port
EOT
# The proxies on free ports (the aio's defaults are 6080 and 6083), serial
# and SPICE consoles on ([serial_console] and [spice] enabled are false by
# default, as Nova's); the driver has no SPICE endpoint.
printf '[vnc]\nnovncproxy_port = 0\n[serial_console]\nenabled = true\nserialproxy_port = 0\n[spice]\nenabled = true\n' \
  >"$tmp/extra.conf"
start_aio "$tmp/aio" --config-file "$tmp/extra.conf"
. "$tmp/aio/openrc"
os() {
  /usr/bin/openstack "$@" >"$tmp/out" 2>&1 && return 0
  echo "#   openstack $* failed:"; sed 's/^/#   /' "$tmp/out" | tail -5; return 1
}
not_os() { ! /usr/bin/openstack "$@" >"$tmp/out" 2>&1 || { echo "#   openstack $* succeeded"; return 1; }; }
out_has() { grep -q -- "$1" "$tmp/out" || { echo "#   output lacks '$1':"; sed 's/^/#   /' "$tmp/out" | head -20; return 1; }; }
is() { [ "$1" = "$2" ] || { echo "#   got '$1', want '$2'"; return 1; }; }

check "server create --wait" os server create --flavor m1.tiny --image nephele-tiny \
  --wait -f value -c id con-1
server=$(sed '/./,$!d' "$tmp/out")
check "console url show --novnc" os console url show --novnc -f value -c url con-1
url=$(cat "$tmp/out")
check "gives noVNC's URL on the proxy with the token in path" \
  grep -Eq '^http://127\.0\.0\.1:[0-9]+/vnc_auto\.html\?path=%3Ftoken%3D[0-9a-f-]{36}$' "$tmp/out"
proxy_port=$(echo "$url" | sed 's|^http://127.0.0.1:\([0-9]*\)/.*|\1|')

# curl for the rest: a token of the built-in identity, as openrc's user.
base=${aio_endpoint%/v2.1}
token=$(curl -s -D - -o /dev/null -H 'Content-Type: application/json' --data-binary \
  "{\"auth\": {\"identity\": {\"methods\": [\"password\"], \"password\": {\"user\": {\"name\": \"$OS_USERNAME\", \"domain\": {\"id\": \"default\"}, \"password\": \"$OS_PASSWORD\"}}}, \"scope\": {\"project\": {\"name\": \"$OS_PROJECT_NAME\", \"domain\": {\"id\": \"default\"}}}}}" \
  "$OS_AUTH_URL/auth/tokens" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ubject-[Tt]oken: //p')
[ -n "$token" ] || bail "no token from the built-in identity"
req() {
  local method=$1 path=$2 body=$3 version=$4
  status=$(curl -s -o "$tmp/body" -w '%{http_code}' -X "$method" -H "X-Auth-Token: $token" \
    -H "OpenStack-API-Version: compute $version" -H 'Content-Type: application/json' \
    ${body:+--data-binary "$body"} "$base/v2.1$path")
}
jget() { $py -c "import json,sys; d=json.load(open('$tmp/body')); print($1)" 2>/dev/null; }
has() { grep -q -- "$1" "$tmp/body" || { echo "#   body lacks '$1':"; sed 's/^/#   /' "$tmp/body"; echo; return 1; }; }
# A fresh console URL from os-getVNCConsole into $tmp/url.
new_url() {
  req POST "/servers/$server/action" '{"os-getVNCConsole": {"type": "novnc"}}' 2.1
  jget 'd["console"]["url"]' >"$tmp/url"; [ "$status" = 200 ]
}
rfb_through() {
  $client rfb "$1" "$2" >"$tmp/ws.out" 2>&1
  local want="subprotocol $3
server says RFB 003.008
security types True
pong True
close True"
  [ "$(cat "$tmp/ws.out")" = "$want" ] || { echo "#   client saw:"; sed 's/^/#   /' "$tmp/ws.out"; return 1; }
}
check "through the proxy (binary): QEMU's RFB 003.008, its answer, ping/pong, close" \
  rfb_through "$url" binary binary
check "a token serves more than one connection until it expires" \
  rfb_through "$url" none None
check "websockify's base64 subprotocol: text frames both ways" rfb_through "$url" base64 base64
refused() { $client refused "$1" ${2:-} >"$tmp/ws.out" 2>&1; is "$(head -1 "$tmp/ws.out")" "status $3"; }
bad_url="http://127.0.0.1:$proxy_port/vnc_auto.html?path=%3Ftoken%3D00000000-0000-4000-8000-000000000000"
check "an unknown token is refused with 403" refused "$bad_url" query 403
check "the token in a cookie, as noVNC may send it, is taken" refused "$url" cookie 101
check "and relays QEMU" grep -q "server says RFB 003.008" "$tmp/ws.out"
check "a plain HTTP request is told to open a websocket" \
  sh -c "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$proxy_port/ | grep -qx 400"
check "another console url (os-getVNCConsole)" new_url
check "has the same shape" \
  grep -Eq "^http://127\.0\.0\.1:$proxy_port/vnc_auto\.html\?path=%3Ftoken%3D[0-9a-f-]{36}\$" "$tmp/url"
url2=$(cat "$tmp/url")
sqlite3 "$tmp/aio/nephele.db" "UPDATE console_auth_tokens SET expires = 1" 2>"$tmp/sql.err"
check "an expired token is refused with 403" refused "$url2" query 403
check "so is the first one, expired too" refused "$url" query 403

# --- the compute API's errors ----------------------------------------------------
req POST "/servers/$server/action" '{"os-getSPICEConsole": {"type": "spice-html5"}}' 2.1
check "os-getSPICEConsole of a driver without SPICE: 501" \
  has "Unable to get spice console, functionality not implemented"
check "console url show --serial" os console url show --serial -f value -c url con-1
check "gives the serial proxy's ws:// URL with the token" \
  grep -Eq '^ws://127\.0\.0\.1:[0-9]+/\?token=[0-9a-f-]{36}$' "$tmp/out"
serial_url=$(cat "$tmp/out")
check "nephele-serialproxy relays QEMU's monitor" sh -c "$client serial '$serial_url' | grep -q 'QEMU .* monitor'"
new_url
check "the serial proxy refuses a noVNC token" \
  refused "${serial_url%%\?token=*}?token=$(sed 's/.*%3D//' "$tmp/url")" query 403
req POST "/servers/$server/remote-consoles" '{"remote_console": {"protocol": "vnc", "type": "novnc"}}' 2.6
check "remote-consoles (2.6) answers 200" is "$status" 200
check "with protocol, type and url" \
  is "$(jget 'd["remote_console"]["protocol"], d["remote_console"]["type"], d["remote_console"]["url"].split("/vnc")[0]')" \
  "vnc novnc http://127.0.0.1:$proxy_port"
check "whose token works" rfb_through "$(jget 'd["remote_console"]["url"]')" binary binary
rc_token=$(jget 'd["remote_console"]["url"].split("%3D")[1]')
req POST "/servers/$server/remote-consoles" '{"remote_console": {"protocol": "vnc", "type": "spice-html5"}}' 2.6
check "a type of another protocol: 400 Invalid console type" has "Invalid console type spice-html5"
req POST "/servers/$server/remote-consoles" '{"remote_console": {"protocol": "mks", "type": "webmks"}}' 2.6
check "mks before 2.8: 400 from the schema" has "is not one of"
req POST "/servers/$server/remote-consoles" '{"remote_console": {"protocol": "mks", "type": "webmks"}}' 2.8
check "mks at 2.8 with [mks] off: 400 Unavailable" has "Unavailable console type webmks"
req POST "/servers/$server/remote-consoles" '{"remote_console": {"protocol": "vnc", "type": "novnc"}}' 2.5
check "remote-consoles before 2.6 is not there (404)" is "$status" 404
req POST "/servers/00000000-0000-4000-8000-000000000000/remote-consoles" \
  '{"remote_console": {"protocol": "vnc", "type": "novnc"}}' 2.6
check "an unknown server: 404" is "$status" 404
req POST "/servers/$server/action" '{"os-getVNCConsole": {"type": "xvpvnc"}}' 2.1
check "os-getVNCConsole xvpvnc: 400 Invalid console type" has "Invalid console type xvpvnc"
req POST "/servers/$server/action" '{"os-getRDPConsole": {"type": "rdp-html5"}}' 2.1
check "os-getRDPConsole: 400 Unavailable console type" has "Unavailable console type rdp-html5"
req GET "/os-console-auth-tokens/$rc_token" '' 2.31
check "os-console-auth-tokens (2.31) shows the token's endpoint" \
  is "$(jget 'd["console"]["instance_uuid"], d["console"]["host"], d["console"]["port"]')" \
  "$server 127.0.0.1 $vnc_port"
req GET "/os-console-auth-tokens/$rc_token" '' 2.1
check "before 2.31 only RDP tokens are shown (401)" is "$status" 401
req GET "/os-console-auth-tokens/00000000-0000-4000-8000-000000000000" '' 2.31
check "an unknown token: 404" is "$status" 404

# --- nephele-novncproxy, the same proxy as a daemon ----------------------------------
proxy=$top_builddir/services/console/nephele-novncproxy
check "nephele-novncproxy --help names its options" sh -c "'$proxy' --help | grep -q novncproxy_port"
printf '[vnc]\nnovncproxy_port = 0\n' >"$tmp/proxy.conf"
"$proxy" --config-file "$tmp/aio/nephele.conf" --config-file "$tmp/proxy.conf" \
  >"$tmp/proxy.out" 2>"$tmp/proxy.log" &
proxy_pid=$!
for _ in $(seq 1 50); do grep -q 'ready on port' "$tmp/proxy.out" && break; sleep 0.1; done
daemon_port=$(sed -n 's/.*ready on port \([0-9]*\)/\1/p' "$tmp/proxy.out")
check "nephele-novncproxy starts on a free port" test -n "$daemon_port"
new_url
check "relays QEMU for a token the API made" \
  rfb_through "$(sed "s|:$proxy_port/|:$daemon_port/|" "$tmp/url")" binary binary
kill "$proxy_pid"; wait "$proxy_pid"; rc=$?; proxy_pid=
check "stops cleanly on SIGTERM" is "$rc" 0
check "a console url before the server is deleted" new_url
req DELETE "/servers/$server" '' 2.1
check "delete answers 204" is "$status" 204
check "its token is revoked at once" refused "$(cat "$tmp/url")" query 403
tap_done
