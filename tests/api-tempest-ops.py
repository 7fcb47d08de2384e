"""tempest.lib's compute clients on the operations of a Nephele cloud
(aggregates, server groups, usage, rebuild, resize, snapshots, power
actions); prints TAP.  tests/api-tempest.py covers the resources.

Each client call validates the response against tempest's schema for the
microversion set in base_compute_client.COMPUTE_MICROVERSION; a call that
raises is a failed check naming the call, the version and the reason.
Credentials come from the openrc environment (OS_AUTH_URL, OS_USERNAME, ...).
"""
import os
import sys
import time

from tempest.lib import auth
from tempest.lib import exceptions
from tempest.lib.services.compute import (
    aggregates_client, base_compute_client, images_client,
    server_groups_client, servers_client, tenant_usages_client)

checks = []


def check(name, fn):
    try:
        fn()
        checks.append((True, name, ''))
    except Exception as e:  # the reason goes into the TAP diagnostics
        checks.append((False, name, ' '.join(str(e).split())[:800]))


def expect(exc, fn):
    def run():
        try:
            fn()
        except exc:
            return
        raise AssertionError('expected %s' % exc.__name__)
    return run


def wait_idle(client, server_id):
    for _ in range(200):
        if client.show_server(server_id)['server']['OS-EXT-STS:task_state'] is None:
            return
        time.sleep(0.05)
    raise AssertionError('server %s stayed busy' % server_id)


def wait_for(client, server_id, status):
    for _ in range(200):
        if client.show_server(server_id)['server']['status'] == status:
            return
        time.sleep(0.05)
    raise AssertionError('server %s never became %s' % (server_id, status))


creds = auth.KeystoneV3Credentials(
    username=os.environ['OS_USERNAME'], password=os.environ['OS_PASSWORD'],
    project_name=os.environ['OS_PROJECT_NAME'], user_domain_id='default',
    project_domain_id='default')
provider = auth.KeystoneV3AuthProvider(creds, os.environ['OS_AUTH_URL'])
provider.fill_credentials()
endpoint = dict(service='compute', region='RegionOne', endpoint_type='publicURL')
image_id = images_client.ImagesClient(provider, **endpoint).list_images()['images'][0]['id']


def run_version(v):
    base_compute_client.COMPUTE_MICROVERSION = None if v == '2.1' else v
    servers = servers_client.ServersClient(provider, **endpoint)
    aggregates = aggregates_client.AggregatesClient(provider, **endpoint)
    groups = server_groups_client.ServerGroupsClient(provider, **endpoint)
    tag = v.replace('.', '')

    check(v + ' aggregates list', lambda: aggregates.list_aggregates())

    def aggregate_cycle():
        a = aggregates.create_aggregate(name='a' + tag, availability_zone='z' + tag)['aggregate']
        aggregates.show_aggregate(a['id'])
        aggregates.update_aggregate(a['id'], name='b' + tag)
        aggregates.add_host(a['id'], host='aio')
        aggregates.set_metadata(a['id'], metadata={'ssd': 'true'})
        aggregates.remove_host(a['id'], host='aio')
        aggregates.delete_aggregate(a['id'])
    check(v + ' aggregate create, hosts, metadata, delete', aggregate_cycle)

    def group_cycle():
        policy = ({'policy': 'anti-affinity', 'rules': {'max_server_per_host': 2}}
                  if v != '2.1' else {'policies': ['anti-affinity']})
        g = groups.create_server_group(name='g' + tag, **policy)['server_group']
        groups.show_server_group(g['id'])
        groups.list_server_groups()
        groups.delete_server_group(g['id'])
    check(v + ' server group create, show, list, delete', group_cycle)
    check(v + ' simple tenant usage', lambda: tenant_usages_client.TenantUsagesClient(
        provider, **endpoint).list_tenant_usages(start='2020-01-01T00:00:00', detailed=1))
    state = {}

    def create():
        args = dict(name='s' + tag, imageRef=image_id, flavorRef='1',
                    metadata={'role': 'test'}, min_count=1, max_count=1)
        if v != '2.1':
            args['networks'] = 'none'
        state['id'] = servers.create_server(**args)['server']['id']
        wait_for(servers, state['id'], 'ACTIVE')
    check(v + ' server create (ACTIVE)', create)
    sid = state.get('id', '00000000-0000-0000-0000-000000000000')
    check(v + ' pause', lambda: servers.pause_server(sid))
    check(v + ' paused', lambda: wait_for(servers, sid, 'PAUSED'))
    check(v + ' unpause', lambda: servers.unpause_server(sid))
    check(v + ' active after unpause', lambda: wait_for(servers, sid, 'ACTIVE'))
    check(v + ' suspend', lambda: servers.suspend_server(sid))
    check(v + ' suspended', lambda: wait_for(servers, sid, 'SUSPENDED'))
    check(v + ' resume', lambda: servers.resume_server(sid))
    check(v + ' active after resume', lambda: wait_for(servers, sid, 'ACTIVE'))
    check(v + ' reboot hard', lambda: servers.reboot_server(sid, type='HARD'))
    check(v + ' active after reboot', lambda: wait_for(servers, sid, 'ACTIVE'))
    check(v + ' rebuild', lambda: servers.rebuild_server(sid, image_id))
    check(v + ' active after rebuild', lambda: wait_for(servers, sid, 'ACTIVE'))
    check(v + ' resize', lambda: servers.resize_server(sid, '2'))
    check(v + ' verify resize', lambda: wait_for(servers, sid, 'VERIFY_RESIZE'))
    check(v + ' revert resize', lambda: servers.revert_resize_server(sid))
    check(v + ' active after revert', lambda: wait_for(servers, sid, 'ACTIVE'))
    check(v + ' resize again', lambda: servers.resize_server(sid, '2'))
    check(v + ' verify resize again', lambda: wait_for(servers, sid, 'VERIFY_RESIZE'))
    check(v + ' confirm resize', lambda: servers.confirm_resize_server(sid))
    check(v + ' active after confirm', lambda: wait_for(servers, sid, 'ACTIVE'))
    check(v + ' create image (snapshot)', lambda: images_client.ImagesClient(
        provider, **endpoint).create_image(sid, name='i' + tag))
    check(v + ' snapshot done', lambda: wait_idle(servers, sid))
    check(v + ' stop', lambda: servers.stop_server(sid))
    check(v + ' shutoff', lambda: wait_for(servers, sid, 'SHUTOFF'))
    check(v + ' stopping a stopped server is a conflict',
          expect(exceptions.Conflict, lambda: servers.stop_server(sid)))
    check(v + ' server delete', lambda: servers.delete_server(sid))

    def gone():
        for _ in range(200):
            try:
                servers.show_server(sid)
            except exceptions.NotFound:
                return
            time.sleep(0.05)
        raise AssertionError('server %s was not deleted' % sid)
    check(v + ' server gone', gone)


for version in ('2.1', '2.79'):
    run_version(version)

bad = auth.KeystoneV3AuthProvider(auth.KeystoneV3Credentials(
    username=os.environ['OS_USERNAME'], password='wrong', project_name='admin',
    user_domain_id='default', project_domain_id='default'), os.environ['OS_AUTH_URL'])
check('a wrong password is refused (401)', expect(exceptions.Unauthorized, bad.fill_credentials))

for n, (ok, name, why) in enumerate(checks, 1):
    print('%s %d - %s' % ('ok' if ok else 'not ok', n, name))
    if why:
        print('#   ' + why)
print('1..%d' % len(checks))
sys.exit(0 if all(ok for ok, _, _ in checks) else 1)
