#!/bin/bash
# A private Keystone for the tests, on loopback, in its own directory:
# Debian's python3-keystone with SQLite, Fernet tokens and pbr's wsgiref
# server (keystone-wsgi-public); no Apache, no uWSGI, no root.
#   keystone.sh start DIR   start one on a free port; writes DIR/env (PORT, URL,
#                           ADMIN_PASSWORD); the admin user of project admin
#                           has the admin role, and the roles admin, member and
#                           reader exist
#   keystone.sh stop DIR    stop it by its PID
# Each keystone-manage run spends seconds importing Python, so the four setup
# steps run in one interpreter, while the server starts (it only touches the
# database when asked something): about 6 s instead of 30.
set -eu
cmd=${1:?start|stop}
dir=${2:?directory}

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

write_conf() {
  mkdir -p "$dir/fernet-keys" "$dir/credential-keys"
  cat >"$dir/keystone.conf" <<EOT
[DEFAULT]
log_file = $dir/keystone.log
[database]
connection = sqlite:///$dir/keystone.db
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = $dir/fernet-keys
[fernet_receipts]
key_repository = $dir/fernet-keys
[credential]
key_repository = $dir/credential-keys
EOT
}

# keystone-manage db_sync, fernet_setup, credential_setup and bootstrap, in
# one Python process.  A connection in Keystone's pool keeps a read
# transaction open between requests; in SQLite's rollback-journal mode the
# next write then fails at COMMIT with "database is locked", so the database
# goes to WAL mode before anything else uses it.
setup() {
  /usr/bin/python3 - "$dir/keystone.conf" "$dir/keystone.db" "$URL/" "$ADMIN_PASSWORD" <<'EOT'
import grp, os, pwd, sqlite3, sys
from keystone.cmd import cli
import keystone.conf
conf, db, url, password = sys.argv[1:5]
user = pwd.getpwuid(os.getuid()).pw_name
group = grp.getgrgid(os.getgid()).gr_name
owner = ["--keystone-user", user, "--keystone-group", group]
steps = [["db_sync"], ["fernet_setup"] + owner, ["credential_setup"] + owner,
         ["bootstrap", "--bootstrap-password", password, "--bootstrap-region-id", "RegionOne",
          "--bootstrap-admin-url", url, "--bootstrap-internal-url", url,
          "--bootstrap-public-url", url]]
for step in steps:
    cli.main(argv=["keystone-manage", "--config-file", conf] + step)
    if step[0] == "db_sync":
        sqlite3.connect(db).execute("PRAGMA journal_mode=WAL").close()
    # main() parses the command line into the global CONF: undo it for the next step.
    keystone.conf.CONF.reset()
    keystone.conf.CONF.unregister_opt(cli.command_opt)
EOT
}

stop() {
  [ -f "$dir/pid" ] || return 0
  local pid
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/pid"
}

case $cmd in
start)
  [ -x /usr/bin/keystone-wsgi-public ] ||
    { echo "keystone.sh: Keystone is not installed (apt-get install python3-keystone)" >&2; exit 1; }
  mkdir -p "$dir"
  PORT=$(free_port)
  URL=http://127.0.0.1:$PORT/v3
  ADMIN_PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf 'PORT=%s\nURL=%s\nADMIN_PASSWORD=%s\n' "$PORT" "$URL" "$ADMIN_PASSWORD" >"$dir/env"
  write_conf
  OS_KEYSTONE_CONFIG_FILES=$dir/keystone.conf /usr/bin/keystone-wsgi-public \
    --host 127.0.0.1 --port "$PORT" </dev/null >"$dir/server.log" 2>&1 &
  echo $! >"$dir/pid"
  # Python warns about eventlet at exit: keep that out of the test's output.
  if ! setup >"$dir/setup.log" 2>&1; then
    echo "keystone.sh: setting up Keystone failed; see $dir/setup.log and $dir/keystone.log" >&2
    tail -5 "$dir/setup.log" >&2
    stop
    exit 1
  fi
  for _ in $(seq 1 150); do
    curl -sf -o /dev/null "$URL" && exit 0
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
    sleep 0.2
  done
  echo "keystone.sh: Keystone did not answer on $URL; see $dir/server.log" >&2
  stop
  exit 1
  ;;
stop)
  stop
  ;;
*)
  echo "keystone.sh: unknown command '$cmd'" >&2
  exit 2
  ;;
esac
