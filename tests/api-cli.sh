#!/bin/bash
# Debian's openstack and nova CLIs (run by /usr/bin/python3) against
# nephele-aio, unchanged: with password authentication against the built-in
# identity (the openrc nephele-aio writes) for servers, flavors, keypairs,
# images, hypervisors and compute services, project isolation and admin-only
# APIs; a restart on the same data directory keeps what was there; then the
# same cloud in noauth2 mode with --os-auth-type none.  TAP output.
set -u
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/aio.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nph-cli-XXXXXX")
cleanup() {
  stop_aio
  [ -n "${NPH_TEST_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
[ -x /usr/bin/openstack ] || bail "/usr/bin/openstack is missing (bash .ci/deps installs python3-openstackclient)"

start_aio "$tmp/aio"
# The openrc nephele-aio wrote is what a user sources.
. "$tmp/aio/openrc"
check "openrc points at the built-in identity" test "$OS_AUTH_URL" = "${aio_endpoint%/v2.1}/v3"
# os: run the CLI, keep its output in $tmp/out; a failure shows it.
os() {
  /usr/bin/openstack "$@" >"$tmp/out" 2>&1 && return 0
  echo "#   openstack $* failed:"; sed 's/^/#   /' "$tmp/out" | tail -5; return 1
}
# not_os: a command that must fail, its message kept in $tmp/out.
not_os() {
  ! /usr/bin/openstack "$@" >"$tmp/out" 2>&1 || { echo "#   openstack $* succeeded"; return 1; }
}
# --wait prints a progress line (empty when quiet) before the result.
out() { sed '/./,$!d' "$tmp/out"; }
out_is() { [ "$(out)" = "$1" ] || { echo "#   got '$(out)', want '$1'"; return 1; }; }
out_has() { grep -q -- "$1" "$tmp/out" || { echo "#   output lacks '$1':"; sed 's/^/#   /' "$tmp/out" | head -20; return 1; }; }

check "image list shows the seeded image" os image list -f value -c Name
check "nephele-tiny" out_has nephele-tiny
{ printf 'QFI\373\0\0\0\3'; head -c 300000 /dev/urandom; } >"$tmp/disk.qcow2"
check "image create --file" os image create --disk-format qcow2 --container-format bare \
  --file "$tmp/disk.qcow2" --property os_distro=cirros cli-image
check "image set --min-ram --property" os image set --min-ram 64 --property hw_disk_bus=virtio cli-image
check "image show" os image show cli-image -f json
check "is active with the md5 of the file" out_has "\"checksum\": \"$(md5sum <"$tmp/disk.qcow2" | cut -c1-32)\""
check "and the new property" out_has '"hw_disk_bus": "virtio"'
check "image save" os image save --file "$tmp/saved.qcow2" cli-image
check "gives back the same bytes" cmp -s "$tmp/saved.qcow2" "$tmp/disk.qcow2"
check "image create of a vmdk that is not one fails" not_os image create --disk-format vmdk \
  --container-format bare --file "$tmp/disk.qcow2" bad-image
check "naming the format" out_has "not a vmdk image"
check "image delete" os image delete cli-image
check "image list" os image list -f value -c Name
check "shows only the seeded image" out_is nephele-tiny
check "flavor list" os flavor list -f value -c Name
check "has m1.tiny" out_has m1.tiny
check "server create --wait (microversion 2.1)" \
  os server create --flavor m1.tiny --image nephele-tiny --wait -f value -c status cli-1
check "comes back ACTIVE" out_is ACTIVE
check "server create --network none --wait (microversion 2.79)" \
  os --os-compute-api-version 2.79 server create --flavor m1.small --image nephele-tiny \
  --network none --property role=db --wait -f value -c status cli-2
check "comes back ACTIVE" out_is ACTIVE
check "server list" os server list -f value -c Name -c Status
check "shows both ACTIVE" out_is "$(printf 'cli-2 ACTIVE\ncli-1 ACTIVE')"
check "server show by name" os server show cli-2 -f value -c flavor -c properties
check "with flavor and properties" out_has "m1.small"
check "server stop" os server stop cli-1
stopped() {
  for _ in $(seq 1 50); do
    /usr/bin/openstack server show cli-1 -f value -c status 2>/dev/null | grep -qx "$1" && return 0
    sleep 0.2
  done
  return 1
}
check "cli-1 is SHUTOFF" stopped SHUTOFF
check "server start" os server start cli-1
check "cli-1 is ACTIVE again" stopped ACTIVE
check "server reboot --hard --wait" os server reboot --hard --wait cli-1
check "console log show" os console log show cli-1
check "has the guest's boot line" out_has "booting instance"
check "server rebuild --wait" os server rebuild --image nephele-tiny --wait cli-1
check "cli-1 is ACTIVE after the rebuild" stopped ACTIVE
check "server image create --wait" os server image create --name cli-1-snap --wait cli-1 -f value -c status
check "gives an active image" out_is active
check "image show of the snapshot" os image show cli-1-snap -f value -c disk_format
check "a raw disk" out_is raw
check "image delete of the snapshot" os image delete cli-1-snap
check "server resize --wait" os server resize --flavor m1.small --wait cli-1
check "cli-1 waits in VERIFY_RESIZE" stopped VERIFY_RESIZE
check "server resize confirm" os server resize confirm cli-1
check "cli-1 is ACTIVE on m1.small" stopped ACTIVE
check "server show" os server show cli-1 -f value -c flavor
check "names m1.small" out_has m1.small

check "flavor create" os flavor create --ram 256 --disk 1 --vcpus 1 --id 99 f.test -f value -c name
check "flavor show" os flavor show f.test -f value -c ram
check "256 MiB" out_is 256
check "flavor delete" os flavor delete f.test

ssh_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGVuZXBoZWxlLXRlc3Qta2V5LWZvci1uZXBoZWxlLWFiYw== test"
echo "$ssh_key" >"$tmp/key.pub"
check "keypair create --public-key" os keypair create --public-key "$tmp/key.pub" k1 -f value -c fingerprint
check "with the key's MD5 fingerprint" out_is "a0:5b:77:59:de:f6:73:de:5a:6e:29:7e:dd:df:0a:dd"
check "keypair list" os keypair list -f value -c Name
check "shows k1" out_is k1
check "a server with the keypair" \
  os server create --flavor m1.tiny --image nephele-tiny --key-name k1 --wait -f value -c key_name cli-3
check "names it" out_is k1

check "keypair create without a public key generates one" os keypair create gen1
cp "$tmp/out" "$tmp/gen1.pem"; chmod 600 "$tmp/gen1.pem"
check "the private key is a PEM RSA key" grep -q '^-----BEGIN RSA PRIVATE KEY-----' "$tmp/gen1.pem"
check "ssh-keygen derives the stored public key from it" \
  test "$(ssh-keygen -y -f "$tmp/gen1.pem" | cut -d' ' -f2)" = \
  "$(/usr/bin/openstack keypair show gen1 --public-key | cut -d' ' -f2)"
check "keypair delete gen1" os keypair delete gen1

check "hypervisor list" os hypervisor list -f value -c "Hypervisor Hostname" -c State
check "shows the fake nodes up" out_has "fake-1 up"
check "compute service list" os compute service list -f value -c Binary -c Host -c State
check "shows nova-compute on aio, up" out_has "nova-compute aio up"

check "server delete --wait" os server delete --wait cli-3
check "keypair delete" os keypair delete k1

# Another project's user sees none of it and may not use admin APIs.
check "the demo user" bash -c ". '$tmp/aio/openrc-demo' && /usr/bin/openstack server list -f value -c Name >'$tmp/out'"
check "sees no servers of project admin" out_is ""
check "demo: hypervisor list is refused" \
  bash -c ". '$tmp/aio/openrc-demo' && ! /usr/bin/openstack hypervisor list >'$tmp/out' 2>&1"
check "with 403" out_has "HTTP 403"
check "the nova CLI lists the servers" bash -c "/usr/bin/nova list >'$tmp/out' 2>&1"
check "both of them" out_has "cli-2"
check "a request without a token is 401" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "$aio_endpoint/servers")" = 401
check "a forged token is 401" \
  test "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Auth-Token: v1.forged' "$aio_endpoint/servers")" = 401
# Image data without a token never reaches the disk: a slow anonymous
# upload leaves no .upload- file in the image store while it runs.
os image show nephele-tiny -f value -c id && tiny=$(out)
head -c 300000 /dev/urandom >"$tmp/anon.bin"
curl -s -o /dev/null -w '%{http_code}' --limit-rate 100K -X PUT \
  -H 'Content-Type: application/octet-stream' --data-binary "@$tmp/anon.bin" \
  "${aio_endpoint%/v2.1}/image/v2/images/$tiny/file" >"$tmp/anon.code" &
anon=$!
sleep 1
check "an anonymous upload writes nothing to the image store" \
  test "$(find "$tmp/aio/images" -name '.upload-*' | wc -l)" -eq 0
wait $anon
check "and is answered 401" test "$(cat "$tmp/anon.code")" = 401

# A restart on the same directory keeps the servers, the flavors and the image.
stop_aio
start_aio "$tmp/aio"
. "$tmp/aio/openrc"
check "server list after a restart" os server list -f value -c Name -c Status
check "still has cli-1 and cli-2" out_is "$(printf 'cli-2 ACTIVE\ncli-1 ACTIVE')"
check "and the seeded image, once" os image list -f value -c Name
check "nephele-tiny once" out_is nephele-tiny
check "server delete --wait of the rest" os server delete --wait cli-1 cli-2
check "leaves none" os server list -f value -c Name
check "empty" out_is ""

# The same cloud in noauth2 mode: --os-auth-type none and the compute endpoint.
stop_aio
printf '[api]\nauth_strategy = noauth2\n' >"$tmp/noauth.conf"
start_aio "$tmp/aio" --config-file "$tmp/noauth.conf"
unset OS_AUTH_URL OS_USERNAME OS_PASSWORD OS_PROJECT_NAME OS_USER_DOMAIN_ID OS_PROJECT_DOMAIN_ID \
  OS_IDENTITY_API_VERSION
. "$tmp/aio/openrc"
check "noauth2: openrc says --os-auth-type none" test "$OS_AUTH_TYPE" = none
check "noauth2: server create --wait" \
  os --os-auth-type none --os-endpoint "$aio_endpoint" server create --flavor m1.tiny \
  --image nephele-tiny --wait -f value -c status na-1
check "comes back ACTIVE" out_is ACTIVE
check "noauth2: hypervisor list" os --os-auth-type none --os-endpoint "$aio_endpoint" hypervisor list -f value -c State
check "shows nodes up" out_has up
check "noauth2: compute service list" \
  os --os-auth-type none --os-endpoint "$aio_endpoint" compute service list -f value -c Binary
check "shows nova-compute" out_has nova-compute
check "noauth2: server delete --wait" \
  os --os-auth-type none --os-endpoint "$aio_endpoint" server delete --wait na-1
stop_aio
check "nephele-aio stops on SIGTERM" grep -q 'nephele-aio stopped' "$tmp/aio.log"
tap_done
