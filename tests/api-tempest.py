#!/usr/bin/python3
"""The compute API through tempest.lib's compute service clients.

Every client call validates the response against tempest's JSON schema of
the microversion in use, so running one sequence at 2.1 and again at 2.79
checks the bodies Nephele renders against what Nova is known to return.
Usage: api-tempest.py DIR, where DIR holds the openrc and openrc-demo that
nephele-aio wrote.  Prints TAP: one line per client call, named by the
microversion, the resource and the call; a failure shows the exception
(for a schema failure, the field and the schema it broke).

Run it with Debian's /usr/bin/python3, which has python3-tempest.
"""
import base64
import copy
import json
import os
import sys
import time
import traceback
import uuid

from tempest.lib.api_schema.response.compute.v2_1 import parameter_types
from tempest.lib.api_schema.response.compute.v2_1 import servers as servers_v21
from tempest.lib import auth
from tempest.lib import exceptions as lib_exc
from tempest.lib.services.compute import availability_zone_client
from tempest.lib.services.compute import base_compute_client
from tempest.lib.services.compute import flavors_client
from tempest.lib.services.compute import hypervisor_client
from tempest.lib.services.compute import images_client
from tempest.lib.services.compute import keypairs_client
from tempest.lib.services.compute import limits_client
from tempest.lib.services.compute import quotas_client
from tempest.lib.services.compute import servers_client
from tempest.lib.services.compute import services_client
from tempest.lib.services.compute import versions_client
from tempest.lib.services.image.v2 import images_client as glance_client

# An ed25519 public key and its MD5 fingerprint (as in api-cli.sh).
PUBLIC_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGVuZXBoZWxlLXRlc3Qta2V5LW"
              "Zvci1uZXBoZWxlLWFiYw== test")
FINGERPRINT = "a0:5b:77:59:de:f6:73:de:5a:6e:29:7e:dd:df:0a:dd"
REGION = "RegionOne"
# Long enough for the fake driver, short enough that a hang fails the test.
WAIT_SECONDS = 30


class GroupAborted(Exception):
    """A check failed whose result the rest of its group needs."""


def brief(message):
    """A schema failure's lines that name the rule and the offending part of
    the body, without the whole schema jsonschema prints between them."""
    lines = message.splitlines()
    if "Failed validating" not in message:
        return lines[:20]
    keep, copying = [], 0
    for line in lines:
        if "is invalid (" in line or line.startswith("Failed validating"):
            keep.append(line)
        elif line.startswith("On instance"):
            keep.append(line)
            copying = 12
        elif copying:
            keep.append(line)
            copying -= 1
    return keep


class Tap:
    """TAP lines for automake's tap-driver: a plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0
        self.prefix = ""

    def _ok(self, desc):
        self.n += 1
        print("ok %d - %s%s" % (self.n, self.prefix, desc), flush=True)

    def _not_ok(self, desc, why):
        self.n += 1
        self.failed += 1
        print("not ok %d - %s%s" % (self.n, self.prefix, desc))
        for line in brief(str(why)):
            print("#   " + line)
        sys.stdout.flush()
        raise GroupAborted()

    def call(self, desc, fn, *args, **kwargs):
        """One client call that must succeed (schema included)."""
        try:
            result = fn(*args, **kwargs)
        except Exception as e:  # every failure is a test result
            self._not_ok(desc, "%s: %s" % (type(e).__name__, e))
        self._ok(desc)
        return result

    def raises(self, desc, exc, fn, *args, **kwargs):
        """One client call that must fail with the tempest exception `exc`."""
        try:
            fn(*args, **kwargs)
        except exc:
            self._ok(desc)
            return
        except Exception as e:
            self._not_ok(desc, "want %s, got %s: %s" % (exc.__name__, type(e).__name__, e))
        self._not_ok(desc, "want %s, the call succeeded" % exc.__name__)

    def expect(self, desc, cond, why=""):
        """A check on what a call returned."""
        if cond:
            self._ok(desc)
        elif isinstance(why, str):
            self._not_ok(desc, why)
        else:
            # The data alone: a ResponseBody's str() has all the headers too.
            self._not_ok(desc, "got " + json.dumps(why, default=str)[:1500])

    def group(self, fn, *args):
        try:
            fn(*args)
        except GroupAborted:
            pass
        except Exception:
            # A bug in this script, not in the API: say so and go on.
            self.n += 1
            self.failed += 1
            print("not ok %d - %s%s: the test itself broke" % (self.n, self.prefix, fn.__name__))
            for line in traceback.format_exc().splitlines():
                print("#   " + line)

    def done(self):
        print("1..%d" % self.n)
        return 0 if self.failed == 0 else 1


def read_openrc(path):
    env = {}
    with open(path) as f:
        for line in f:
            if line.startswith("export ") and "=" in line:
                k, v = line[len("export "):].strip().split("=", 1)
                env[k] = v.strip("'\"")
    return env


def auth_provider(env):
    creds = auth.KeystoneV3Credentials(
        username=env["OS_USERNAME"], password=env["OS_PASSWORD"],
        project_name=env["OS_PROJECT_NAME"],
        user_domain_id=env["OS_USER_DOMAIN_ID"],
        project_domain_id=env["OS_PROJECT_DOMAIN_ID"])
    return auth.KeystoneV3AuthProvider(creds, env["OS_AUTH_URL"])


class Clients:
    def __init__(self, ap):
        def mk(cls, service="compute"):
            return cls(ap, service, REGION, build_interval=0.2, build_timeout=WAIT_SECONDS)
        self.servers = mk(servers_client.ServersClient)
        self.flavors = mk(flavors_client.FlavorsClient)
        self.keypairs = mk(keypairs_client.KeyPairsClient)
        self.images = mk(images_client.ImagesClient)
        self.limits = mk(limits_client.LimitsClient)
        self.quotas = mk(quotas_client.QuotasClient)
        self.zones = mk(availability_zone_client.AvailabilityZoneClient)
        self.services = mk(services_client.ServicesClient)
        self.hypervisors = mk(hypervisor_client.HypervisorClient)
        self.glance = mk(glance_client.ImagesClient, "image")
        self.versions = mk(versions_client.VersionsClient)


# tempest 33 checks list_instance_actions against its 2.1 schema at every
# microversion, but Nova adds updated_at to each action from 2.58
# (ACTION_KEYS_V258 in nova/api/openstack/compute/instance_actions.py), as
# tempest's own 2.58 schema for show_instance_action says: from 2.58 the
# list is checked against the 2.1 schema with that one change.
LIST_ACTIONS_V258 = copy.deepcopy(servers_v21.list_instance_actions)
_item = LIST_ACTIONS_V258["response_body"]["properties"]["instanceActions"]["items"]
_item["properties"]["updated_at"] = parameter_types.date_time
_item["required"].append("updated_at")


def list_instance_actions(client, mv_minor, server_id):
    if mv_minor < 58:
        return client.list_instance_actions(server_id)
    resp, body = client.get("servers/%s/os-instance-actions" % server_id)
    body = json.loads(body)
    client.validate_response(LIST_ACTIONS_V258, resp, body)
    return body


def minor(mv):
    return int(mv.split(".")[1])


class Run:
    """One pass over the API at one microversion."""

    def __init__(self, tap, env, admin, demo, demo_project, mv):
        self.t = tap
        self.env = env  # the admin's openrc, for the 401 checks
        self.c = admin
        self.demo = demo
        self.demo_project = demo_project
        self.mv = mv
        self.minor = minor(mv)
        self.tag = "tp%d" % self.minor  # names unique to this pass
        self.image_id = None

    # ---- helpers ----------------------------------------------------------
    def wait_status(self, server_id, status, client=None):
        """Poll show_server (schema-checked each time) until `status`."""
        client = client or self.c.servers
        deadline = time.time() + WAIT_SECONDS
        last = None
        while time.time() < deadline:
            s = client.show_server(server_id)["server"]
            last = (s["status"], s.get("OS-EXT-STS:task_state"))
            if s["status"] == status and last[1] is None:
                return s
            if s["status"] == "ERROR":
                break
            time.sleep(0.1)
        raise AssertionError("server %s is %s (task %s), want %s" %
                             (server_id, last and last[0], last and last[1], status))

    def wait_gone(self, server_id, client=None):
        client = client or self.c.servers
        deadline = time.time() + WAIT_SECONDS
        while time.time() < deadline:
            try:
                client.show_server(server_id)
            except lib_exc.NotFound:
                return
            time.sleep(0.1)
        raise AssertionError("server %s is still there" % server_id)

    # ---- resources --------------------------------------------------------
    def flavors(self):
        t, f = self.t, self.c.flavors
        lst = t.call("flavors: list_flavors", f.list_flavors)
        t.expect("flavors: m1.tiny is listed",
                 any(x["name"] == "m1.tiny" for x in lst["flavors"]))
        t.call("flavors: list_flavors detail", f.list_flavors, detail=True)
        t.call("flavors: list_flavors detail with minRam, limit", f.list_flavors, detail=True,
               minRam=128, limit=2)
        t.call("flavors: show_flavor 1", f.show_flavor, "1")
        args = dict(name=self.tag + "-flavor", ram=128, vcpus=1, disk=1, id=self.tag + "-f")
        if self.minor >= 55:
            args["description"] = "tempest pass at " + self.mv
        fl = t.call("flavors: create_flavor", f.create_flavor, **args)["flavor"]
        t.call("flavors: set_flavor_extra_spec", f.set_flavor_extra_spec, fl["id"],
               **{"hw:cpu_policy": "shared", "quota:cpu_shares": "512"})
        specs = t.call("flavors: list_flavor_extra_specs", f.list_flavor_extra_specs, fl["id"])
        t.expect("flavors: both extra specs are there", len(specs["extra_specs"]) == 2, specs)
        t.call("flavors: show_flavor_extra_spec", f.show_flavor_extra_spec, fl["id"],
               "hw:cpu_policy")
        t.call("flavors: update_flavor_extra_spec", f.update_flavor_extra_spec, fl["id"],
               "hw:cpu_policy", **{"hw:cpu_policy": "dedicated"})
        t.call("flavors: unset_flavor_extra_spec", f.unset_flavor_extra_spec, fl["id"],
               "quota:cpu_shares")
        if self.minor >= 55:
            upd = t.call("flavors: update_flavor description (2.55)", f.update_flavor, fl["id"],
                         description="changed")
            t.expect("flavors: returns the new description",
                     upd["flavor"]["description"] == "changed", upd)
        else:
            t.raises("flavors: update_flavor before 2.55 is NotFound", lib_exc.NotFound,
                     f.update_flavor, fl["id"], description="changed")
        shown = t.call("flavors: show_flavor of the new flavor", f.show_flavor, fl["id"])
        if self.minor >= 61:
            t.expect("flavors: shows its extra_specs (2.61)",
                     shown["flavor"].get("extra_specs") == {"hw:cpu_policy": "dedicated"},
                     shown["flavor"])
        t.raises("flavors: show_flavor_extra_spec of a deleted key is NotFound",
                 lib_exc.NotFound, f.show_flavor_extra_spec, fl["id"], "quota:cpu_shares")
        t.call("flavors: delete_flavor", f.delete_flavor, fl["id"])
        t.raises("flavors: show_flavor of a deleted flavor is NotFound", lib_exc.NotFound,
                 f.show_flavor, fl["id"])
        self.flavor_access()

    def flavor_access(self):
        t, f = self.t, self.c.flavors
        fl = t.call("flavors: create_flavor private", f.create_flavor, name=self.tag + "-private",
                    ram=64, vcpus=1, disk=0, **{"os-flavor-access:is_public": False})["flavor"]
        t.call("flavors: add_flavor_access", f.add_flavor_access, fl["id"], self.demo_project)
        acc = t.call("flavors: list_flavor_access", f.list_flavor_access, fl["id"])
        t.expect("flavors: the demo project has access",
                 [a["tenant_id"] for a in acc["flavor_access"]] == [self.demo_project], acc)
        t.call("flavors: the demo user may show_flavor it", self.demo.flavors.show_flavor, fl["id"])
        t.call("flavors: remove_flavor_access", f.remove_flavor_access, fl["id"],
               self.demo_project)
        t.raises("flavors: then the demo user's show_flavor is NotFound", lib_exc.NotFound,
                 self.demo.flavors.show_flavor, fl["id"])
        t.raises("flavors: add_flavor_access to a public flavor is Conflict", lib_exc.Conflict,
                 f.add_flavor_access, "1", self.demo_project)
        t.call("flavors: delete_flavor private", f.delete_flavor, fl["id"])

    def keypairs(self):
        t, k = self.t, self.c.keypairs
        extra = {"type": "ssh"} if self.minor >= 2 else {}
        kp = t.call("keypairs: create_keypair with a public key", k.create_keypair,
                    name=self.tag + "-k1", public_key=PUBLIC_KEY, **extra)["keypair"]
        t.expect("keypairs: with the key's fingerprint", kp["fingerprint"] == FINGERPRINT, kp)
        gen = t.call("keypairs: create_keypair generated", k.create_keypair,
                     name=self.tag + "-k2")["keypair"]
        t.expect("keypairs: returns the private key",
                 "PRIVATE KEY" in gen.get("private_key", ""), gen)
        lst = t.call("keypairs: list_keypairs", k.list_keypairs)
        names = sorted(x["keypair"]["name"] for x in lst["keypairs"])
        t.expect("keypairs: both are listed",
                 self.tag + "-k1" in names and self.tag + "-k2" in names, names)
        if self.minor >= 35:
            first = lst["keypairs"][0]["keypair"]["name"]
            rest = t.call("keypairs: list_keypairs marker (2.35)", k.list_keypairs, marker=first)
            t.expect("keypairs: the page after the marker leaves it out",
                     first not in [x["keypair"]["name"] for x in rest["keypairs"]] and
                     len(rest["keypairs"]) == len(lst["keypairs"]) - 1, rest)
            # A full page links to the next with keypairs_links, which
            # tempest 33's keypair schemas lack (Nova's
            # views/keypairs.py adds it from 2.35): checked by hand.
            resp, body = k.get("os-keypairs?limit=1")
            page = json.loads(body)
            t.expect("keypairs: limit=1 gives one keypair and a next link",
                     len(page["keypairs"]) == 1 and
                     page.get("keypairs_links", [{}])[0].get("rel") == "next", page)
        t.call("keypairs: show_keypair", k.show_keypair, self.tag + "-k1")
        t.call("keypairs: delete_keypair generated", k.delete_keypair, self.tag + "-k2")
        t.raises("keypairs: show_keypair of a deleted keypair is NotFound", lib_exc.NotFound,
                 k.show_keypair, self.tag + "-k2")
        t.raises("keypairs: create_keypair with a taken name is Conflict", lib_exc.Conflict,
                 k.create_keypair, name=self.tag + "-k1", public_key=PUBLIC_KEY)

    def images(self):
        t = self.t
        g = t.call("images: glance list_images (/image)", self.c.glance.list_images)
        t.expect("images: the seeded image is there", len(g["images"]) >= 1, g)
        self.image_id = g["images"][0]["id"]
        t.call("images: glance show_image (/image)", self.c.glance.show_image, self.image_id)
        i = self.c.images
        if self.minor <= 35:
            t.call("images: list_images (proxy)", i.list_images)
            t.call("images: list_images detail (proxy)", i.list_images, detail=True)
            t.call("images: show_image (proxy)", i.show_image, self.image_id)
            t.raises("images: show_image of no image is NotFound", lib_exc.NotFound,
                     i.show_image, str(uuid.uuid4()))
        else:
            # Nova removed the proxy in 2.36: it answers 404 from then on.
            t.raises("images: the proxy's list_images is NotFound from 2.36",
                     lib_exc.NotFound, i.list_images)

    def server_args(self, name, **extra):
        args = dict(name=name, imageRef=self.image_id, flavorRef="1", **extra)
        if self.minor >= 37:
            args["networks"] = "none"
        return args

    def servers(self):
        t, s = self.t, self.c.servers
        user_data = base64.b64encode(b"#!/bin/sh\necho tempest\n").decode()
        extra = {"description": "tempest at " + self.mv} if self.minor >= 19 else {}
        created = t.call("servers: create_server with key_name, metadata, user_data",
                         s.create_server, **self.server_args(
                             self.tag + "-s1", key_name=self.tag + "-k1",
                             metadata={"role": "web", "tier": "1"}, user_data=user_data, **extra))
        sid = created["server"]["id"]
        multi = t.call("servers: create_server min_count=2 max_count=2", s.create_server,
                       **self.server_args(self.tag + "-multi", min_count=2, max_count=2))
        t.call("servers: show_server until the first is ACTIVE", self.wait_status, sid, "ACTIVE")
        t.call("servers: show_server until the multi-create's first is ACTIVE", self.wait_status,
               multi["server"]["id"], "ACTIVE")
        lst = t.call("servers: list_servers name filter", s.list_servers,
                     name="^" + self.tag + "-multi")
        multi_ids = [x["id"] for x in lst["servers"]]
        t.expect("servers: the multi-create made two", len(multi_ids) == 2, lst)
        for m in multi_ids:
            t.call("servers: show_server until each of the two is ACTIVE", self.wait_status, m,
                   "ACTIVE")
        self.server_lists(sid)
        self.server_show_update(sid)
        self.server_metadata(sid)
        self.server_actions(sid)
        self.server_negatives(sid)
        self.hypervisor_servers(sid)
        for x in [sid] + multi_ids:
            t.call("servers: delete_server", s.delete_server, x)
        for x in [sid] + multi_ids:
            t.call("servers: show_server until NotFound after delete", self.wait_gone, x)
        t.call("keypairs: delete_keypair", self.c.keypairs.delete_keypair, self.tag + "-k1")

    def server_lists(self, sid):
        t, s = self.t, self.c.servers
        t.call("servers: list_servers", s.list_servers)
        d = t.call("servers: list_servers detail", s.list_servers, detail=True)
        t.expect("servers: detail lists all three",
                 len([x for x in d["servers"] if x["name"].startswith(self.tag)]) == 3, d)
        t.call("servers: list_servers detail status=ACTIVE", s.list_servers, detail=True,
               status="ACTIVE")
        page = t.call("servers: list_servers limit=1", s.list_servers, limit=1)
        t.expect("servers: one server and a next link",
                 len(page["servers"]) == 1 and "servers_links" in page, page)
        rest = t.call("servers: list_servers marker", s.list_servers,
                      marker=page["servers"][0]["id"])
        t.expect("servers: the marker's page leaves it out",
                 page["servers"][0]["id"] not in [x["id"] for x in rest["servers"]], rest)
        t.call("servers: list_servers detail changes-since", s.list_servers, detail=True,
               **{"changes-since": "2000-01-01T00:00:00Z"})
        if self.minor >= 66:
            t.call("servers: list_servers changes-before (2.66)", s.list_servers,
                   **{"changes-before": "2999-01-01T00:00:00Z"})

    def server_show_update(self, sid):
        t, s = self.t, self.c.servers
        shown = t.call("servers: show_server", s.show_server, sid)["server"]
        t.expect("servers: shows key_name and metadata",
                 shown["key_name"] == self.tag + "-k1" and shown["metadata"]["role"] == "web",
                 shown)
        t.call("servers: update_server name", s.update_server, sid, name=self.tag + "-s1b")
        t.call("servers: list_addresses", s.list_addresses, sid)
        t.raises("servers: list_addresses_by_network of no network is NotFound",
                 lib_exc.NotFound, s.list_addresses_by_network, sid, "no-such-net")
        if self.minor >= 19:
            t.call("servers: update_server description (2.19)", s.update_server, sid,
                   description="changed")

    def server_metadata(self, sid):
        t, s = self.t, self.c.servers
        t.call("metadata: list_server_metadata", s.list_server_metadata, sid)
        t.call("metadata: set_server_metadata", s.set_server_metadata, sid, {"a": "1", "b": "2"})
        t.call("metadata: update_server_metadata", s.update_server_metadata, sid, {"c": "3"})
        t.call("metadata: show_server_metadata_item", s.show_server_metadata_item, sid, "a")
        t.call("metadata: set_server_metadata_item", s.set_server_metadata_item, sid, "a",
               {"a": "one"})
        t.call("metadata: delete_server_metadata_item", s.delete_server_metadata_item, sid, "b")
        got = t.call("metadata: list_server_metadata after", s.list_server_metadata, sid)
        t.expect("metadata: holds a and c", got["metadata"] == {"a": "one", "c": "3"}, got)
        t.raises("metadata: show_server_metadata_item of a deleted key is NotFound",
                 lib_exc.NotFound, s.show_server_metadata_item, sid, "b")

    def server_actions(self, sid):
        t, s = self.t, self.c.servers
        t.call("actions: stop_server", s.stop_server, sid)
        t.call("actions: show_server until SHUTOFF", self.wait_status, sid, "SHUTOFF")
        t.raises("actions: stop_server of a stopped server is Conflict", lib_exc.Conflict,
                 s.stop_server, sid)
        t.call("actions: start_server", s.start_server, sid)
        t.call("actions: show_server until ACTIVE", self.wait_status, sid, "ACTIVE")
        for kind in ("SOFT", "HARD"):
            t.call("actions: reboot_server " + kind, s.reboot_server, sid, type=kind)
            t.call("actions: show_server until ACTIVE again", self.wait_status, sid, "ACTIVE")
        for act, state, undo in (("pause", "PAUSED", "unpause"),
                                 ("suspend", "SUSPENDED", "resume")):
            t.call("actions: %s_server" % act, getattr(s, act + "_server"), sid)
            t.call("actions: show_server until " + state, self.wait_status, sid, state)
            t.call("actions: %s_server" % undo, getattr(s, undo + "_server"), sid)
            t.call("actions: show_server until ACTIVE again", self.wait_status, sid, "ACTIVE")
        lock = {"locked_reason": "tempest"} if self.minor >= 73 else {}
        t.call("actions: lock_server", s.lock_server, sid, **lock)
        shown = t.call("actions: show_server of a locked server", s.show_server, sid)["server"]
        if self.minor >= 9:
            t.expect("actions: shows locked (2.9)", shown.get("locked") is True, shown)
        t.call("actions: unlock_server", s.unlock_server, sid)
        out = t.call("actions: get_console_output", s.get_console_output, sid, length=10)
        t.expect("actions: the console has output", out["output"] != "", out)
        acts = t.call("actions: list_instance_actions", list_instance_actions, s, self.minor, sid)
        names = [a["action"] for a in acts["instanceActions"]]
        t.expect("actions: records create, stop and start",
                 {"create", "stop", "start"} <= set(names), names)
        req = acts["instanceActions"][0]["request_id"]
        t.call("actions: show_instance_action", s.show_instance_action, sid, req)

    def server_negatives(self, sid):
        t, s = self.t, self.c.servers
        t.raises("servers: show_server of no server is NotFound", lib_exc.NotFound,
                 s.show_server, str(uuid.uuid4()))
        bad = dict(self.server_args(self.tag + "-bad"), flavorRef="no-such")
        t.raises("servers: create_server with no such flavor is BadRequest", lib_exc.BadRequest,
                 s.create_server, **bad)
        t.raises("servers: list_servers limit=-1 is BadRequest", lib_exc.BadRequest,
                 s.list_servers, limit=-1)
        t.raises("servers: the demo project's show_server is NotFound", lib_exc.NotFound,
                 self.demo.servers.show_server, sid)

    def member_server(self):
        """A member's views leave out what only admins see."""
        t, s = self.t, self.demo.servers
        sid = t.call("member: create_server", s.create_server,
                     **self.server_args(self.tag + "-member"))["server"]["id"]
        t.call("member: show_server until ACTIVE", self.wait_status, sid, "ACTIVE", s)
        shown = t.call("member: show_server", s.show_server, sid)["server"]
        t.expect("member: no OS-EXT-SRV-ATTR:host",
                 "OS-EXT-SRV-ATTR:host" not in shown, shown)
        t.call("member: list_servers detail", s.list_servers, detail=True)
        t.call("member: update_server", s.update_server, sid, name=self.tag + "-member2")
        t.call("member: list_instance_actions", list_instance_actions, s, self.minor, sid)
        t.call("member: show_limits", self.demo.limits.show_limits)
        t.call("member: show_quota_set of its project", self.demo.quotas.show_quota_set,
               self.demo_project)
        t.call("member: delete_server", s.delete_server, sid)
        t.call("member: show_server until NotFound after delete", self.wait_gone, sid, s)

    def versions(self):
        t, v = self.t, self.c.versions
        lst = t.call("versions: list_versions", v.list_versions)
        t.expect("versions: v2.1 goes up to 2.79",
                 any(x["id"] == "v2.1" and x["version"] == "2.79" for x in lst["versions"]), lst)
        t.call("versions: get_version_by_url", v.get_version_by_url, self.c.servers.base_url)

    def limits_quotas(self):
        t, q = self.t, self.c.quotas
        t.call("limits: show_limits", self.c.limits.show_limits)
        p = self.demo_project
        t.call("quotas: show_quota_set", q.show_quota_set, p)
        t.call("quotas: show_quota_set detail", q.show_quota_set, p, detail=True)
        t.call("quotas: show_default_quota_set", q.show_default_quota_set, p)
        got = t.call("quotas: update_quota_set", q.update_quota_set, p, cores=33, instances=7)
        t.expect("quotas: the update is returned",
                 got["quota_set"]["cores"] == 33 and got["quota_set"]["instances"] == 7, got)
        t.call("quotas: delete_quota_set", q.delete_quota_set, p)
        back = t.call("quotas: show_quota_set after delete", q.show_quota_set, p)
        dflt = q.show_default_quota_set(p)
        t.expect("quotas: back to the defaults",
                 back["quota_set"]["cores"] == dflt["quota_set"]["cores"], back)
        t.raises("quotas: update_quota_set by a member is Forbidden", lib_exc.Forbidden,
                 self.demo.quotas.update_quota_set, p, cores=1)

    def hosts(self):
        t = self.t
        t.call("zones: list_availability_zones", self.c.zones.list_availability_zones)
        t.call("zones: list_availability_zones detail", self.c.zones.list_availability_zones,
               detail=True)
        t.call("services: list_services", self.c.services.list_services)
        t.call("services: list_services binary=nova-compute", self.c.services.list_services,
               binary="nova-compute")
        h = self.c.hypervisors
        lst = t.call("hypervisors: list_hypervisors", h.list_hypervisors)
        t.call("hypervisors: list_hypervisors detail", h.list_hypervisors, detail=True)
        t.call("hypervisors: show_hypervisor", h.show_hypervisor, lst["hypervisors"][0]["id"])
        t.call("hypervisors: show_hypervisor_statistics", h.show_hypervisor_statistics)
        t.raises("hypervisors: list_hypervisors by a member is Forbidden", lib_exc.Forbidden,
                 self.demo.hypervisors.list_hypervisors)
        if self.minor >= 33:
            self.hypervisor_pages(lst["hypervisors"])
        if self.minor >= 53:
            t.raises("hypervisors: a hostname pattern that matches none is NotFound (2.53)",
                     lib_exc.NotFound, h.list_hypervisors, hypervisor_hostname_pattern="no-such")
            t.raises("hypervisors: a hostname pattern with limit is BadRequest (2.53)",
                     lib_exc.BadRequest, h.list_hypervisors, hypervisor_hostname_pattern="fake",
                     limit=1)
        else:
            t.raises("hypervisors: search_hypervisor matching none is NotFound",
                     lib_exc.NotFound, h.search_hypervisor, "no-such")

    def hypervisor_pages(self, everyone):
        t, h = self.t, self.c.hypervisors
        page = t.call("hypervisors: list_hypervisors limit=1 (2.33)", h.list_hypervisors,
                      limit=1)
        t.expect("hypervisors: one and a next link",
                 len(page["hypervisors"]) == 1 and "hypervisors_links" in page, page)
        rest = t.call("hypervisors: list_hypervisors detail marker (2.33)", h.list_hypervisors,
                      detail=True, marker=page["hypervisors"][0]["id"])
        t.expect("hypervisors: the page after the marker has the others",
                 [x["id"] for x in rest["hypervisors"]] == [x["id"] for x in everyone[1:]], rest)

    def hypervisor_servers(self, sid):
        """The hypervisor a server runs on lists it."""
        t, h = self.t, self.c.hypervisors
        node = self.c.servers.show_server(sid)["server"]["OS-EXT-SRV-ATTR:hypervisor_hostname"]
        if self.minor < 53:
            found = t.call("hypervisors: search_hypervisor", h.search_hypervisor, node)
            t.expect("hypervisors: finds the server's node",
                     [x["hypervisor_hostname"] for x in found["hypervisors"]] == [node], found)
            on = t.call("hypervisors: list_servers_on_hypervisor", h.list_servers_on_hypervisor,
                        node)
        else:
            on = t.call("hypervisors: list_hypervisors with_servers, hostname pattern (2.53)",
                        h.list_hypervisors, detail=True, with_servers=True,
                        hypervisor_hostname_pattern=node)
            t.call("hypervisors: show_hypervisor with_servers (2.53)", h.show_hypervisor,
                   on["hypervisors"][0]["id"], with_servers=True)
        uuids = [x["uuid"] for x in on["hypervisors"][0].get("servers", [])]
        t.expect("hypervisors: the node lists the server", sid in uuids, on)

    def unauthorized(self, admin_ap):
        t = self.t
        forged = auth_provider(self.env)
        forged.cache = ("v1.forged", admin_ap.auth_data[1])
        bad = servers_client.ServersClient(forged, "compute", REGION)
        t.raises("auth: list_servers with a forged token is Unauthorized", lib_exc.Unauthorized,
                 bad.list_servers)
        wrong = dict(self.env, OS_PASSWORD="not-the-password")
        t.raises("auth: a wrong password is Unauthorized", lib_exc.Unauthorized,
                 auth_provider(wrong).get_token)

    def run(self, admin_ap):
        # tempest 33 keeps the compute microversion in this module global:
        # every compute client sends it and picks its schemas by it.
        base_compute_client.COMPUTE_MICROVERSION = self.mv
        self.t.prefix = "[%s] " % self.mv
        for g in (self.versions, self.flavors, self.keypairs, self.images, self.servers,
                  self.member_server, self.limits_quotas, self.hosts):
            self.t.group(g)
        self.t.group(self.unauthorized, admin_ap)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: api-tempest.py DIR (nephele-aio's data directory, with openrc)")
    env = read_openrc(os.path.join(sys.argv[1], "openrc"))
    demo_env = read_openrc(os.path.join(sys.argv[1], "openrc-demo"))
    admin_ap, demo_ap = auth_provider(env), auth_provider(demo_env)
    tap = Tap()
    try:
        demo_project = demo_ap.auth_data[1]["project"]["id"]
    except Exception as e:
        print("Bail out! the demo user cannot authenticate: %s" % e)
        return 99
    admin, demo = Clients(admin_ap), Clients(demo_ap)
    for mv in ("2.1", "2.79"):
        Run(tap, env, admin, demo, demo_project, mv).run(admin_ap)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
