#!/bin/bash
# A private OpenStack Ironic for the tests, on loopback, in its own directory:
# Debian's python3-ironic (21.x) in single-process mode (API and conductor in
# one process, rpc_transport = none), SQLite, noauth, the fake-hardware type
# with fake interfaces; no Keystone, Glance, Neutron or RabbitMQ.
#   ironic.sh start DIR   start one on a free port; writes DIR/env (PORT, URL)
#   ironic.sh stop DIR    stop it by its PID
#   ironic.sh node DIR NAME RESOURCE_CLASS
#                         enroll a fake-hardware node and bring it to
#                         "available" with a known power state (a new fake
#                         node's power state is null until a power action);
#                         prints its UUID
#   ironic.sh api DIR METHOD PATH [BODY]
#                         one request at API 1.82; prints the body, fails on
#                         an HTTP error
# Environment:
#   IRONIC_FAKE_DELAY   seconds every fake power/deploy/boot step sleeps ("0", "1,3")
#   IRONIC_NOVA_URL     the compute API (http://127.0.0.1:P/v2.1): Ironic sends it
#                       power-update events (no auth, as noauth2 accepts)
#   IRONIC_EXTRA_CONF   a file of more ironic.conf lines, appended
#   NPH_PEERS_CACHE     a directory where the empty database is kept between
#                       runs (creating the schema takes ~5 s of the ~10)
set -eu
cmd=${1:?start|stop|node|api}
dir=${2:?directory}
PY=/usr/bin/python3

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

write_conf() {
  mkdir -p "$dir/log" "$dir/locks" "$dir/tmp" "$dir/state"
  local delay=${IRONIC_FAKE_DELAY:-0}
  cat >"$dir/ironic.conf" <<EOT
[DEFAULT]
auth_strategy = noauth
rpc_transport = none
host = $HOST
my_ip = 127.0.0.1
state_path = $dir/state
tempdir = $dir/tmp
log_dir = $dir/log
log_file = ironic.log
use_stderr = false
enabled_hardware_types = fake-hardware
enabled_bios_interfaces = fake,no-bios
enabled_boot_interfaces = fake
enabled_console_interfaces = fake,no-console
enabled_deploy_interfaces = fake
enabled_inspect_interfaces = fake,no-inspect
enabled_management_interfaces = fake
enabled_network_interfaces = noop
enabled_power_interfaces = fake
enabled_raid_interfaces = fake,no-raid
enabled_rescue_interfaces = fake,no-rescue
enabled_storage_interfaces = noop
enabled_vendor_interfaces = fake,no-vendor
default_boot_interface = fake
default_deploy_interface = fake
default_management_interface = fake
default_power_interface = fake
default_network_interface = noop
default_rescue_interface = fake
minimum_memory_warning_only = true
[api]
host_ip = 127.0.0.1
port = $PORT
api_workers = 1
[database]
connection = sqlite:///$dir/ironic.sqlite
[dhcp]
dhcp_provider = none
[conductor]
automated_clean = false
heartbeat_interval = 10
sync_power_state_interval = 60
check_provision_state_interval = 10
[fake]
power_delay = $delay
boot_delay = $delay
deploy_delay = $delay
[oslo_concurrency]
lock_path = $dir/locks
[oslo_policy]
enforce_scope = false
enforce_new_defaults = false
[nova]
EOT
  if [ -n "${IRONIC_NOVA_URL:-}" ]; then
    printf 'send_power_notifications = true\nauth_type = none\nendpoint_override = %s\n' \
      "$IRONIC_NOVA_URL" >>"$dir/ironic.conf"
  else
    echo 'send_power_notifications = false' >>"$dir/ironic.conf"
  fi
  [ -z "${IRONIC_EXTRA_CONF:-}" ] || cat "$IRONIC_EXTRA_CONF" >>"$dir/ironic.conf"
}

dbsync() { # COMMAND
  $PY -c 'import sys; from ironic.cmd.dbsync import main; sys.argv=["ironic-dbsync","--config-file",sys.argv[1],sys.argv[2]]; main()' \
    "$dir/ironic.conf" "$1" >>"$dir/log/dbsync.log" 2>&1
}

# The empty schema, from the cache when one was made for this Ironic.
make_db() {
  local cache="" stamp
  stamp=$(dpkg-query -W -f='${Version}' python3-ironic 2>/dev/null || echo unknown)
  [ -n "${NPH_PEERS_CACHE:-}" ] && cache=$NPH_PEERS_CACHE/ironic-$stamp.sqlite
  if [ -n "$cache" ] && [ -f "$cache" ]; then
    cp "$cache" "$dir/ironic.sqlite"
    return 0
  fi
  dbsync create_schema || return 1
  if [ -n "$cache" ]; then
    mkdir -p "$NPH_PEERS_CACHE"
    cp "$dir/ironic.sqlite" "$cache.$$" && mv "$cache.$$" "$cache"
  fi
}

stop() {
  [ -f "$dir/pid" ] || return 0
  local pid
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/pid"
}

api() { # METHOD PATH [BODY]: prints the body, fails on HTTP >= 400
  local url
  url=$(sed -n 's/^URL=//p' "$dir/env")
  curl -sf -X "$1" -H 'X-OpenStack-Ironic-API-Version: 1.82' -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"} "$url$2"
}

field() { $PY -c "import json,sys; print(json.load(sys.stdin).get('$1'))"; }

wait_state() { # UUID FIELD VALUE
  for _ in $(seq 1 300); do
    [ "$(api GET "/v1/nodes/$1" | field "$2")" = "$3" ] && return 0
    sleep 0.05
  done
  echo "ironic.sh: node $1 did not reach $2 = $3" >&2
  return 1
}

# Start Ironic on $PORT: 0 when it answers (with our conductor, $HOST: a
# test elsewhere may have taken the port meanwhile) and has registered the
# fake-hardware type; 2 when another server answers there; 1 otherwise.
start_once() {
  setsid $PY -c 'import sys; from ironic.cmd.singleprocess import main; sys.argv=["ironic","--config-file",sys.argv[1]]; main()' \
    "$dir/ironic.conf" </dev/null >"$dir/log/stdout.log" 2>&1 &
  echo $! >"$dir/pid"
  local answer
  for _ in $(seq 1 600); do
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
    answer=$(curl -s --max-time 5 -H 'X-OpenStack-Ironic-API-Version: 1.82' \
      "http://127.0.0.1:$PORT/v1/conductors?fields=hostname" 2>/dev/null || true)
    case $answer in
    "") ;;
    *"\"$HOST\""*)
      curl -sf --max-time 5 "http://127.0.0.1:$PORT/v1/drivers" 2>/dev/null | grep -q fake-hardware && return 0 ;;
    *) stop; return 2 ;;
    esac
    sleep 0.1
  done
  stop
  return 1
}

case $cmd in
start)
  $PY -c 'import ironic' 2>/dev/null ||
    { echo "ironic.sh: Ironic is not installed (apt-get install --no-install-recommends python3-ironic)" >&2; exit 1; }
  mkdir -p "$dir"
  # Another test may take the free port before Ironic binds it: try again.
  for attempt in 1 2 3 4 5; do
    PORT=$(free_port)
    HOST=ironic-test-peer-$$-$attempt
    printf 'PORT=%s\nURL=http://127.0.0.1:%s\n' "$PORT" "$PORT" >"$dir/env"
    write_conf
    [ "$attempt" -gt 1 ] ||
      make_db || { echo "ironic.sh: creating the database failed; see $dir/log/dbsync.log" >&2; exit 1; }
    rm -f "$dir/log/ironic.log"
    status=0
    start_once || status=$?
    [ "$status" -ne 0 ] || exit 0
    [ "$status" -eq 2 ] || grep -q "Address already in use" "$dir/log/ironic.log" 2>/dev/null || break
    echo "ironic.sh: port $PORT was taken meanwhile; trying another" >&2
  done
  echo "ironic.sh: Ironic did not become ready on port $PORT; see $dir/log" >&2
  tail -5 "$dir/log/ironic.log" "$dir/log/stdout.log" >&2 || true
  exit 1
  ;;
stop)
  stop
  ;;
node)
  name=${3:?name} rc=${4:?resource class}
  body=$(printf '{"driver": "fake-hardware", "name": "%s", "resource_class": "%s", "properties": {"cpus": 8, "memory_mb": 16384, "local_gb": 100, "cpu_arch": "x86_64"}}' "$name" "$rc")
  uuid=$(api POST /v1/nodes "$body" | field uuid)
  api PUT "/v1/nodes/$uuid/states/provision" '{"target": "manage"}'
  wait_state "$uuid" provision_state manageable
  api PUT "/v1/nodes/$uuid/states/provision" '{"target": "provide"}'
  wait_state "$uuid" provision_state available
  api PUT "/v1/nodes/$uuid/states/power" '{"target": "power off"}'
  wait_state "$uuid" power_state "power off"
  echo "$uuid"
  ;;
api)
  api "$3" "$4" "${5:-}"
  ;;
*)
  echo "ironic.sh: unknown command '$cmd'" >&2
  exit 2
  ;;
esac
