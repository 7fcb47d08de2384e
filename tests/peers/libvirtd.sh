#!/bin/bash
# libvirtd for the tests: Debian 12's monolithic libvirtd (qemu:///system) and
# its virtlogd, started as root without systemd, in the background.
#   libvirtd.sh start DIR   start both (logs and PID files in DIR) and wait until
#                           `virsh version` answers; a libvirtd already running
#                           is used as it is and left alone by stop
#   libvirtd.sh stop DIR    stop what start started, by PID (SIGTERM, SIGKILL
#                           after 10 s), after destroying the nephele-* domains
#                           a failed test left in it
# libvirtd listens on its UNIX socket only (no TCP).  Its first start on a
# machine probes QEMU's capabilities (about 9 s); later ones take about 1 s.
set -u
cmd=${1:?start|stop}
dir=${2:?directory}
uri=qemu:///system
answers() { virsh -q -c "$uri" version >/dev/null 2>&1; }

stop_pid() { # pidfile
  [ -s "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  return 0
}

case $cmd in
start)
  mkdir -p "$dir"
  for b in libvirtd virtlogd virsh qemu-system-x86_64; do
    command -v "$b" >/dev/null ||
      { echo "libvirtd.sh: $b is missing (bash .ci/deps installs libvirt-daemon and qemu)" >&2; exit 1; }
  done
  if answers; then
    echo "# using the libvirtd already running" >&2
    exit 0
  fi
  # qemu.conf's default stdio_handler "logd" needs virtlogd, which only a
  # session libvirtd starts by itself.
  if ! pgrep -x virtlogd >/dev/null; then
    LIBVIRT_LOG_OUTPUTS="3:file:$dir/virtlogd.log" virtlogd -d -p "$dir/virtlogd.pid" ||
      { echo "libvirtd.sh: virtlogd did not start" >&2; exit 1; }
  fi
  LIBVIRT_LOG_OUTPUTS="3:file:$dir/libvirtd.log" libvirtd -d -p "$dir/libvirtd.pid" ||
    { echo "libvirtd.sh: libvirtd did not start" >&2; exit 1; }
  for _ in $(seq 1 600); do answers && exit 0; sleep 0.1; done
  echo "libvirtd.sh: libvirtd did not answer within 60 s:" >&2
  tail -5 "$dir/libvirtd.log" >&2
  exit 1
  ;;
stop)
  if [ -s "$dir/libvirtd.pid" ] && answers; then
    for d in $(virsh -q -c "$uri" list --all --name | grep '^nephele-'); do
      virsh -q -c "$uri" destroy "$d" >/dev/null 2>&1
      virsh -q -c "$uri" undefine --managed-save "$d" >/dev/null 2>&1
    done
  fi
  stop_pid "$dir/libvirtd.pid"
  stop_pid "$dir/virtlogd.pid"
  ;;
*) echo "usage: libvirtd.sh start|stop DIR" >&2; exit 2 ;;
esac
