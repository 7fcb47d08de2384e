#!/bin/sh
# tiny-guest.sh OUTDIR: build a tiny bootable guest from two Debian packages, once per OUTDIR.
#
#   OUTDIR/vmlinuz    the kernel of linux-image-<version>-cloud-amd64 (unpacked, not installed)
#   OUTDIR/initrd.gz  busybox-static, the virtio and ACPI button modules, and /init
#   OUTDIR/disk.raw   a 16 MiB raw disk whose first bytes are DISK-MARKER-OK
#   OUTDIR/cmdline    its kernel command line
#
# /init prints on the serial console (ttyS0):
#   GUEST-MARKER-BOOTED uptime=S     as soon as user space runs
#   GUEST-MARKER-READY disk=... net=...   after the modules, the disk and DHCP (if a NIC)
#   GUEST-MARKER-PBWAIT DEV           when it waits for the ACPI power button
#   GUEST-MARKER-POWERBUTTON          when the button is pressed; then it powers off
#   GUEST-MARKER-VDB-ADDED head=H serial=S   a second disk appeared (hot plug): its
#                                     first 16 bytes and its virtio serial
#   GUEST-MARKER-VDB-REMOVED          it went away again (hot unplug)
# Needs apt-get (download), dpkg-deb, gzip; OUTDIR/ready holds the version of
# this recipe that built OUTDIR (an older build is made again).
set -eu
out=$1
version=2
[ "$(cat "$out/ready" 2>/dev/null)" = "$version" ] && exit 0
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/nph-guest-XXXXXX")
trap 'rm -rf "$work"' EXIT

kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
  awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || { echo "tiny-guest: no linux-image-cloud-amd64 in apt's lists (apt-get update?)" >&2; exit 1; }
(cd "$work" && apt-get download busybox-static "$kpkg" >"$work/apt.log" 2>&1) ||
  { cat "$work/apt.log" >&2; echo "tiny-guest: apt-get download failed" >&2; exit 1; }
dpkg-deb -x "$work"/busybox-static_*.deb "$work/bb"
dpkg-deb -x "$work/${kpkg}"_*.deb "$work/k"
bb=$work/bb/bin/busybox
kver=$(ls "$work/k/lib/modules" | head -n1)

root=$work/root
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/lib/modules/$kver" \
  "$root/etc/udhcpc"
cp "$bb" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
# The modules /init loads, with what they depend on (busybox depmod reads the tree).
"$bb" depmod -b "$work/k" "$kver"
for m in virtio_pci virtio_blk virtio_net virtio_balloon button evdev; do
  for f in $(grep -E "/$m\.ko(\.[a-z]+)?:" "$work/k/lib/modules/$kver/modules.dep" | tr -d ':'); do
    mkdir -p "$root/lib/modules/$kver/$(dirname "$f")"
    cp "$work/k/lib/modules/$kver/$f" "$root/lib/modules/$kver/$f"
  done
done
"$bb" depmod -b "$root" "$kver"

cat >"$root/etc/udhcpc/script" <<'EOF'
#!/bin/sh
case "$1" in
  deconfig) ip link set "$interface" up ;;
  bound) ip addr add "$ip/${mask:-24}" dev "$interface"; echo "GUEST-DHCP $ip" ;;
esac
exit 0
EOF
cat >"$root/init" <<'EOF'
#!/bin/sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "GUEST-MARKER-BOOTED uptime=$(cut -d' ' -f1 /proc/uptime)"
for m in virtio_pci virtio_blk virtio_net virtio_balloon button evdev; do modprobe $m 2>/dev/null; done
sleep 0.2
disk=none
[ -b /dev/vda ] && disk=$(head -c 14 /dev/vda)
net=none
if [ -e /sys/class/net/eth0 ]; then
  timeout 10 udhcpc -i eth0 -s /etc/udhcpc/script -n -q -t 3 -T 1 >/tmp/dhcp 2>&1 &&
    net=$(sed -n 's/^GUEST-DHCP //p' /tmp/dhcp)
fi
echo "GUEST-MARKER-READY disk=$disk net=$net"
# Hot plugged disks: the kernel's ACPI PCI hotplug adds and removes /dev/vdb.
vdb=
while sleep 0.3; do
  if [ -b /dev/vdb ] && [ -z "$vdb" ]; then
    vdb=1
    echo "GUEST-MARKER-VDB-ADDED head=$(head -c 16 /dev/vdb) serial=$(cat /sys/block/vdb/serial 2>/dev/null)"
  elif [ ! -b /dev/vdb ] && [ -n "$vdb" ]; then
    vdb=
    echo "GUEST-MARKER-VDB-REMOVED"
  fi
done &
button() {
  for d in /sys/class/input/input*; do
    grep -q "Power Button" "$d/name" 2>/dev/null || continue
    for e in "$d"/event*; do [ -c "/dev/input/${e##*/}" ] && echo "/dev/input/${e##*/}" && return; done
  done
}
pb=$(button)
while [ -z "$pb" ]; do sleep 0.5; pb=$(button); done
echo "GUEST-MARKER-PBWAIT $pb"
dd if="$pb" of=/dev/null bs=64 count=1 2>/dev/null
echo "GUEST-MARKER-POWERBUTTON"
poweroff -f
EOF
chmod +x "$root/init" "$root/etc/udhcpc/script"
(cd "$root" && find . | "$bb" cpio -o -H newc 2>/dev/null) | gzip -6 >"$work/initrd.gz"

printf 'DISK-MARKER-OK' >"$work/disk.raw"
truncate -s 16M "$work/disk.raw"
cp "$work/k/boot/vmlinuz-$kver" "$work/vmlinuz"
mv "$work/vmlinuz" "$work/initrd.gz" "$work/disk.raw" "$out/"
echo "console=ttyS0 quiet panic=-1" >"$out/cmdline"
chmod 755 "$out"
chmod 644 "$out"/*
echo "$version" >"$out/ready"
