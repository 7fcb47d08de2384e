#!/bin/bash
# govmomi's vCenter simulator (vcsim) for the vmware driver's tests, on loopback.
#   vcsim.sh build            build it once per build tree (cached, see below); prints its path
#   vcsim.sh start DIR [ARGS] a CA and a certificate for 127.0.0.1, then vcsim on a free port
#                             with HTTPS; writes DIR/env (URL, CA, PID); ARGS go to vcsim
#   vcsim.sh stop DIR         stop it by PID
# Debian packages the simulator library (golang-github-vmware-govmomi-dev) but
# no vcsim program: tests/peers/vcsim/main.go is ours, built offline in GOPATH
# mode against the packaged sources.  The binary and the Go build cache live in
# $top_builddir/tests/peers-cache, so the second make check and make bench
# reuse them (a cold build takes 1-4 minutes, a warm one a second); CI points
# NPH_VCSIM_CACHE there for make distcheck's own build tree too.
set -eu
cmd=${1:?build|start|stop}
here=$(cd "$(dirname "$0")" && pwd)
cache=${NPH_VCSIM_CACHE:-${top_builddir:?top_builddir must be set}/tests/peers-cache}
bin=$cache/vcsim

build() {
  mkdir -p "$cache"
  # One build at a time: make check runs tests in parallel.
  exec 9>"$cache/vcsim.lock"
  flock 9
  if [ ! -x "$bin" ] || [ "$here/vcsim/main.go" -nt "$bin" ]; then
    command -v go >/dev/null ||
      { echo "vcsim.sh: no Go compiler (apt-get install golang-go golang-github-vmware-govmomi-dev)" >&2; exit 1; }
    [ -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator ] ||
      { echo "vcsim.sh: govmomi sources missing (apt-get install golang-github-vmware-govmomi-dev)" >&2; exit 1; }
    local src=$cache/gopath/src/nephele-vcsim
    mkdir -p "$src"
    cp "$here/vcsim/main.go" "$src/main.go"
    (
      cd "$src"
      GO111MODULE=off GOPROXY=off GOFLAGS= GOSUMDB=off CGO_ENABLED=0 \
        GOPATH="$cache/gopath:/usr/share/gocode" GOCACHE="$cache/gocache" HOME="$cache" \
        go build -trimpath -o "$bin.new" . >"$cache/build.log" 2>&1
    ) || { cat "$cache/build.log" >&2; exit 1; }
    mv "$bin.new" "$bin"
  fi
  flock -u 9
}

case $cmd in
build)
  build
  echo "$bin"
  ;;
start)
  dir=${2:?directory}
  shift 2
  build
  mkdir -p "$dir"
  # A private CA and a server certificate for 127.0.0.1: the driver verifies it.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=nephele-test-ca -keyout "$dir/ca.key" -out "$dir/ca.pem" >/dev/null 2>&1
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 \
    -keyout "$dir/server.key" -out "$dir/server.csr" >/dev/null 2>&1
  printf 'subjectAltName=IP:127.0.0.1\n' >"$dir/san.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 2 -extfile "$dir/san.ext" -out "$dir/server.pem" >/dev/null 2>&1
  "$bin" -l 127.0.0.1:0 -cert "$dir/server.pem" -key "$dir/server.key" "$@" \
    >"$dir/out.log" 2>"$dir/err.log" &
  pid=$!
  url=
  for _ in $(seq 1 100); do
    url=$(sed -n 's/^vcsim ready //p' "$dir/out.log")
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$url" ] || { cat "$dir/err.log" >&2; kill "$pid" 2>/dev/null; echo "vcsim.sh: vcsim did not start" >&2; exit 1; }
  # Drop the user:pass@ vcsim puts in its URL.
  url=$(echo "$url" | sed 's|://[^@/]*@|://|')
  printf 'URL=%s\nCA=%s\nPID=%s\n' "$url" "$dir/ca.pem" "$pid" >"$dir/env"
  ;;
stop)
  dir=${2:?directory}
  [ -f "$dir/env" ] || exit 0
  pid=$(sed -n 's/^PID=//p' "$dir/env")
  [ -n "$pid" ] || exit 0
  kill "$pid" 2>/dev/null || exit 0
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  ;;
*)
  echo "vcsim.sh: unknown command '$cmd'" >&2
  exit 2
  ;;
esac
