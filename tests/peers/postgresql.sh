#!/bin/bash
# A private PostgreSQL for the tests, on loopback, in its own directory.
#   postgresql.sh start DIR   initdb + start on a free port; writes DIR/env (PORT, URL)
#   postgresql.sh stop DIR    stop it (pg_ctl, then its PID)
# PostgreSQL refuses to run as root, so it runs as the postgres user on a
# directory that user owns.
set -eu
cmd=${1:?start|stop}
dir=${2:?directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] ||
  { echo "postgresql.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
as_pg() { runuser -u postgres -- "$@"; }

case $cmd in
start)
  port=
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { port=$p; break; }
  done
  [ -n "$port" ] || { echo "postgresql.sh: no free port" >&2; exit 1; }
  mkdir -p "$dir"
  chown postgres:postgres "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres nephele
  printf 'PORT=%s\nURL=postgresql://postgres@127.0.0.1:%s/nephele\n' "$port" "$port" >"$dir/env"
  ;;
stop)
  [ -d "$dir/data" ] || exit 0
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  [ -f "$dir/data/postmaster.pid" ] && kill "$(head -n 1 "$dir/data/postmaster.pid")" 2>/dev/null || true
  ;;
*)
  echo "postgresql.sh: unknown command '$cmd'" >&2
  exit 2
  ;;
esac
