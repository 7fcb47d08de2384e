# Source it first in a script that uses the host's libvirtd (qemu:///system,
# tests/peers/libvirtd.sh): it runs the script again holding an exclusive
# lock, so that two such scripts never share one libvirtd at a time (there is
# one for the whole machine; a test stops or restarts the one it started,
# under the other's guests).  A concurrent run waits up to 15 minutes, then
# bails out.  flock -o: neither libvirtd nor any other child keeps the lock.
if [ -z "${NPH_LIBVIRTD_LOCKED:-}" ]; then
  lv_lock_status=0
  NPH_LIBVIRTD_LOCKED=1 flock -o -E 75 -w 900 /tmp/nephele-libvirtd.lock "$BASH" "$0" "$@" ||
    lv_lock_status=$?
  [ "$lv_lock_status" -ne 75 ] || echo "Bail out! another test used the host's libvirtd for 15 minutes"
  exit "$lv_lock_status"
fi
