#!/bin/bash
# A private RabbitMQ for the tests, on loopback, in its own directory.
#   rabbitmq.sh start DIR   start one on free ports; writes DIR/env (PORT, NODE, URL, ...)
#   rabbitmq.sh restart DIR stop and start the broker application (queues survive)
#   rabbitmq.sh stop DIR    stop it, and its epmd, by name and PID
# Debian's rabbitmq-server wrapper drops to the rabbitmq user, so that user
# owns DIR.  No systemd: the server runs in the background under setsid.
set -eu
cmd=${1:?start|restart|stop}
dir=${2:?directory}

free_port() { # a port with it and the next one free
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if ! (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null && ! (echo >"/dev/tcp/127.0.0.1/$((p + 1))") 2>/dev/null; then
      echo "$p"; return 0
    fi
  done
  return 1
}

load_env() { # shellcheck disable=SC1091
  . "$dir/env"
  export RABBITMQ_NODENAME=$NODE RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$PORT \
    RABBITMQ_DIST_PORT=$((PORT + 1)) RABBITMQ_MNESIA_BASE=$dir/mnesia RABBITMQ_LOG_BASE=$dir/log \
    RABBITMQ_PID_FILE=$dir/pid RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins \
    RABBITMQ_CONFIG_FILE=$dir/rabbitmq RABBITMQ_FEATURE_FLAGS_FILE=$dir/feature_flags \
    ERL_EPMD_PORT=$EPMD_PORT ERL_EPMD_ADDRESS=127.0.0.1
}

wait_port() {
  for _ in $(seq 1 240); do
    (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.5
  done
  echo "rabbitmq.sh: RabbitMQ did not open port $1; see $dir/out.log and $dir/log" >&2
  return 1
}

case $cmd in
start)
  command -v rabbitmq-server >/dev/null || [ -x /usr/sbin/rabbitmq-server ] ||
    { echo "rabbitmq.sh: rabbitmq-server is not installed (apt-get install rabbitmq-server)" >&2; exit 1; }
  mkdir -p "$dir/mnesia" "$dir/log"
  echo '[].' >"$dir/enabled_plugins"
  port=$(free_port) && epmd_port=$(free_port)
  cat >"$dir/env" <<EOT
PORT=$port
EPMD_PORT=$epmd_port
NODE=nph$port@localhost
URL=amqp://guest:guest@127.0.0.1:$port/
EOT
  chown -R rabbitmq:rabbitmq "$dir"
  chmod 755 "$dir"
  load_env
  (cd "$dir" && exec setsid /usr/sbin/rabbitmq-server </dev/null >"$dir/out.log" 2>&1) &
  echo $! >"$dir/launcher.pid"
  wait_port "$port"
  # The port opens before the broker takes connections: wait for its status.
  for _ in $(seq 1 60); do
    rabbitmqctl -q -n "$NODE" await_startup >/dev/null 2>&1 && break
    sleep 0.5
  done
  ;;
restart)
  load_env
  rabbitmqctl -q -n "$NODE" stop_app >/dev/null
  sleep 1
  rabbitmqctl -q -n "$NODE" start_app >/dev/null
  rabbitmqctl -q -n "$NODE" await_startup >/dev/null
  ;;
stop)
  [ -f "$dir/env" ] || exit 0
  load_env
  rabbitmqctl -q -n "$NODE" stop >/dev/null 2>&1 || true
  for f in pid launcher.pid; do
    [ -f "$dir/$f" ] && kill "$(cat "$dir/$f")" 2>/dev/null || true
  done
  pkill -f "beam.*$NODE" 2>/dev/null || true
  epmd -port "$EPMD_PORT" -kill >/dev/null 2>&1 || pkill -f "epmd.*-port $EPMD_PORT" 2>/dev/null || true
  ;;
*)
  echo "rabbitmq.sh: unknown command '$cmd'" >&2
  exit 2
  ;;
esac
