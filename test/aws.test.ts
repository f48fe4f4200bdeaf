import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  CreateVpcEndpointCommand,
  DeleteVpcEndpointsCommand,
  DescribeVpcEndpointsCommand,
  EC2Client,
  type VpcEndpoint,
} from '@aws-sdk/client-ec2';
import type { PrivateEndpoint } from '../src/client/index.js';
import { TIMING_PROFILES } from '../src/endpoints/lifecycle.js';
import { scratch, startTestServer, type TestServer, waitFor, watchEndpoint, writeSeed } from './support/harness.js';
import { AWS_TEST_ENV, type Moto, startMoto, ThrottlingProxy } from './support/moto.js';
import { spawnServer } from './support/process.js';
import { itemPath, P1, P2 } from './support/world.js';

// The AWS provider against a real EC2 API emulator on loopback (moto): real interface
// endpoints are created, tagged, found, deleted and recreated through @aws-sdk/client-ec2.

Object.assign(process.env, AWS_TEST_ENV);

let moto: Moto;
let proxy: ThrottlingProxy;
let server: TestServer;
let ec2: EC2Client;
const placement: Record<string, { vpcId: string; subnetIds: string[]; securityGroupIds: string[] }> = {};
const { fresh, cleanup } = scratch();
let configFile: string;

async function makeVpc(region: string, cidr: string) {
  const c = new EC2Client({ region, endpoint: moto.url });
  const vpcId = (await c.send(new CreateVpcCommand({ CidrBlock: cidr }))).Vpc!.VpcId!;
  const subnetId = (await c.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr.replace('0.0/16', '1.0/24') }))).Subnet!.SubnetId!;
  const sg = (await c.send(new CreateSecurityGroupCommand({ GroupName: 'snaplink', Description: 'backup export', VpcId: vpcId }))).GroupId!;
  return { vpcId, subnetIds: [subnetId], securityGroupIds: [sg] };
}

before(async () => {
  moto = await startMoto();
  proxy = new ThrottlingProxy(moto.url);
  await proxy.start();
  ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto.url });
  placement['us-east-1'] = await makeVpc('us-east-1', '10.10.0.0/16');
  placement['eu-west-1'] = await makeVpc('eu-west-1', '10.20.0.0/16');
  const { dir } = await fresh();
  configFile = join(dir, 'aws.json');
  // Keys may be Atlas region names or AWS codes.
  writeFileSync(
    configFile,
    JSON.stringify({
      regions: {
        US_EAST_1: placement['us-east-1'],
        'eu-west-1': placement['eu-west-1'],
        // A VPC AWS does not know: creation is refused.
        'eu-central-1': { vpcId: 'vpc-0000000000000000', subnetIds: ['subnet-0000000000000000'] },
      },
      pollSeconds: 0.1,
      healthCheckSeconds: 0.3,
    }),
  );
  // AWS sets the pace; PENDING_RECREATION is held a little so the test can see it.
  server = await startTestServer({ provider: 'aws', aws: { configFile, endpointUrl: proxy.url }, timings: { ...TIMING_PROFILES.none, PENDING_RECREATION: 1500 } });
});
after(async () => {
  await server?.close();
  await proxy?.stop();
  await moto?.stop();
  await cleanup();
});

const c = () => server.client('orgOwnerA');
const watch = async (groupId: string, id: string, until: (e: PrivateEndpoint | undefined) => boolean) => (await watchEndpoint(c(), groupId, id, until)).last;
async function inEc2(region: string, vpceId: string): Promise<VpcEndpoint | undefined> {
  const out = await new EC2Client({ region, endpoint: moto.url }).send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [vpceId] }));
  return out.VpcEndpoints?.[0];
}
const tags = (v: VpcEndpoint) => Object.fromEntries((v.Tags ?? []).map((t) => [t.Key, t.Value]));

describe('the AWS provider', () => {
  test('create: a real interface endpoint for S3 with the configured VPC, subnets, groups and tags', async () => {
    const e = await c().createPrivateEndpoint(P1, { regionName: 'US_EAST_1' });
    const active = await watch(P1, e.id, (x) => x?.status === 'ACTIVE');
    assert.match(active!.privateEndpointConnectionName!, /^vpce-[0-9a-f]{17}$/);
    const v = (await inEc2('us-east-1', active!.privateEndpointConnectionName!))!;
    assert.equal(v.VpcEndpointType, 'Interface');
    assert.equal(v.ServiceName, 'com.amazonaws.us-east-1.s3');
    assert.equal(v.VpcId, placement['us-east-1']!.vpcId);
    assert.deepEqual(v.SubnetIds, placement['us-east-1']!.subnetIds);
    assert.deepEqual(v.Groups?.map((g) => g.GroupId), placement['us-east-1']!.securityGroupIds);
    assert.deepEqual(
      { id: tags(v)['snaplink:endpointId'], group: tags(v)['snaplink:groupId'], generation: tags(v)['snaplink:generation'] },
      { id: e.id, group: P1, generation: '0' },
    );
  });

  test('delete: deleted in EC2, then gone from the API', async () => {
    const e = await c().createPrivateEndpoint(P1, { regionName: 'EU_WEST_1' });
    const vpce = (await watch(P1, e.id, (x) => x?.status === 'ACTIVE'))!.privateEndpointConnectionName!;
    await c().deletePrivateEndpoint(P1, e.id);
    await watch(P1, e.id, (x) => x === undefined);
    assert.equal((await inEc2('eu-west-1', vpce))?.State?.toLowerCase(), 'deleted');
  });

  test('an endpoint deleted directly in EC2 is recreated, with a new connection name', async () => {
    const e = await c().createPrivateEndpoint(P2, { regionName: 'US_EAST_1' });
    const first = (await watch(P2, e.id, (x) => x?.status === 'ACTIVE'))!.privateEndpointConnectionName!;
    await ec2.send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: [first] }));
    const seen = new Set<string>();
    const again = await watch(P2, e.id, (x) => {
      if (x) seen.add(x.status);
      return x?.status === 'ACTIVE' && x.privateEndpointConnectionName !== first;
    });
    assert.ok(seen.has('PENDING_RECREATION'), `went through PENDING_RECREATION: ${[...seen]}`);
    const v = (await inEc2('us-east-1', again!.privateEndpointConnectionName!))!;
    assert.equal(tags(v)['snaplink:generation'], '1');
  });

  test('cross-region: the endpoint lives in the VPC region, the service is the bucket region’s', async () => {
    const e = await c().createPrivateEndpoint(P1, { regionName: 'EU_WEST_1', vpcRegionName: 'US_EAST_1' });
    const vpce = (await watch(P1, e.id, (x) => x?.status === 'ACTIVE'))!.privateEndpointConnectionName!;
    const v = (await inEc2('us-east-1', vpce))!;
    assert.equal(v.ServiceName, 'com.amazonaws.eu-west-1.s3');
    assert.equal(v.VpcId, placement['us-east-1']!.vpcId);
  });

  const failures: [string, string, RegExp][] = [
    ['a region without configuration', 'AP_SOUTH_1', /^No VPC is configured for AWS region ap-south-1/],
    ['GLOBAL', 'GLOBAL', /^GLOBAL is not an AWS region/],
    ['a VPC AWS does not know', 'EU_CENTRAL_1', /^AWS refused to create the interface endpoint: InvalidVpcID\.NotFound/],
  ];
  for (const [what, regionName, message] of failures) {
    test(`${what}: FAILED with a clear errorMessage, not a crash`, async () => {
      const e = await c().createPrivateEndpoint(P2, { regionName });
      const failed = await watch(P2, e.id, (x) => x?.status === 'FAILED');
      assert.match(failed!.errorMessage!, message);
      await c().deletePrivateEndpoint(P2, e.id);
      await watch(P2, e.id, (x) => x === undefined);
    });
  }

  test('EC2 throttling is retried, never a failed endpoint', async () => {
    const before = proxy.calls.get('CreateVpcEndpoint') ?? 0;
    proxy.throttle.set('CreateVpcEndpoint', 6);
    const e = await c().createPrivateEndpoint(P2, { regionName: 'EU_WEST_1' });
    const statuses = new Set<string>();
    await watch(P2, e.id, (x) => {
      if (x) statuses.add(x.status);
      return x?.status === 'ACTIVE';
    });
    assert.ok(!statuses.has('FAILED'));
    assert.equal(proxy.throttle.get('CreateVpcEndpoint'), 0, 'every throttled call was retried');
    assert.ok((proxy.calls.get('CreateVpcEndpoint') ?? 0) - before >= 7);
    const metrics = await (await fetch(`${server.url}/_snaplink/metrics`)).text();
    assert.match(metrics, /snaplink_provider_errors_total\{provider="aws"\} [1-9]/, 'the SDK gave up at least once and the runner retried');
  });

  // "A retried or resumed step never makes two": EC2 made the endpoint, but its answer is lost.
  async function liveTagged(region: string, endpointId: string): Promise<string[]> {
    const out = await new EC2Client({ region, endpoint: moto.url }).send(new DescribeVpcEndpointsCommand({ Filters: [{ Name: 'tag:snaplink:endpointId', Values: [endpointId] }] }));
    return (out.VpcEndpoints ?? []).filter((v) => !/^deleted$|^deleting$/i.test(String(v.State))).map((v) => v.VpcEndpointId!);
  }

  test('an answer lost after EC2 acted: the SDK retries with the same ClientToken, and EC2 still holds one endpoint', async () => {
    const before = { calls: proxy.calls.get('CreateVpcEndpoint') ?? 0, forwarded: proxy.forwarded.get('CreateVpcEndpoint') ?? 0 };
    proxy.lose.set('CreateVpcEndpoint', { how: 'drop', count: 1 });
    const e = await c().createPrivateEndpoint(P1, { regionName: 'US_EAST_2', vpcRegionName: 'US_EAST_1' });
    const active = await watch(P1, e.id, (x) => x?.status === 'ACTIVE');
    assert.equal(proxy.lose.get('CreateVpcEndpoint')!.count, 0, 'the answer was lost');
    assert.ok((proxy.calls.get('CreateVpcEndpoint') ?? 0) - before.calls >= 2, 'the call was retried');
    assert.equal((proxy.forwarded.get('CreateVpcEndpoint') ?? 0) - before.forwarded, 1, 'EC2 was asked to make it once');
    assert.deepEqual(await liveTagged('us-east-1', e.id), [active!.privateEndpointConnectionName]);
  });

  test('an answer lost and the step given up: the resumed step finds the endpoint by its tags instead of asking again', async () => {
    const before = proxy.calls.get('CreateVpcEndpoint') ?? 0;
    proxy.lose.set('CreateVpcEndpoint', { how: 'fail', count: 1 });
    const e = await c().createPrivateEndpoint(P1, { regionName: 'CA_CENTRAL_1', vpcRegionName: 'US_EAST_1' });
    const statuses = new Set<string>();
    const active = await watch(P1, e.id, (x) => {
      if (x) statuses.add(x.status);
      return x?.status === 'ACTIVE';
    });
    assert.ok(!statuses.has('FAILED'), 'a lost answer is not a failure');
    assert.equal(proxy.lose.get('CreateVpcEndpoint')!.count, 0, 'the answer was lost');
    assert.equal((proxy.calls.get('CreateVpcEndpoint') ?? 0) - before, 1, 'no second CreateVpcEndpoint: the resumed step looked it up');
    assert.deepEqual(await liveTagged('us-east-1', e.id), [active!.privateEndpointConnectionName]);
  });

  test('reset deletes the real endpoints too', async () => {
    const e = await c().createPrivateEndpoint(P1, { regionName: 'US_WEST_2', vpcRegionName: 'US_EAST_1' });
    const vpce = (await watch(P1, e.id, (x) => x?.status === 'ACTIVE'))!.privateEndpointConnectionName!;
    assert.equal((await server.control('POST', '/_snaplink/reset')).status, 200);
    await watch(P1, e.id, (x) => x === undefined);
    assert.equal((await inEc2('us-east-1', vpce))?.State?.toLowerCase(), 'deleted');
  });
});

test('at start, AWS endpoints tagged for snaplink that the store does not know are reported, not deleted', async () => {
  const p = placement['us-east-1']!;
  const stray = await ec2.send(
    new CreateVpcEndpointCommand({
      VpcEndpointType: 'Interface',
      VpcId: p.vpcId,
      ServiceName: 'com.amazonaws.us-east-1.s3',
      SubnetIds: p.subnetIds,
      TagSpecifications: [{ ResourceType: 'vpc-endpoint', Tags: [{ Key: 'snaplink:endpointId', Value: 'ffffffffffffffffffffffff' }, { Key: 'snaplink:generation', Value: '0' }] }],
    }),
  );
  const { dir, args } = await fresh();
  const node = await spawnServer([...args, '--seed', writeSeed(dir), '--provider', 'aws', '--aws-config', configFile, '--aws-endpoint-url', moto.url], AWS_TEST_ENV);
  try {
    const line = await waitFor(
      async () => node.stdout().split('\n').find((l) => l.includes(stray.VpcEndpoint!.VpcEndpointId!)),
      (l) => l !== undefined,
      10_000,
      'the stray report',
    );
    assert.match(line!, /not tracked by this store; left in place/);
    assert.match(line!, /"endpointId":"ffffffffffffffffffffffff"/);
    assert.equal((await inEc2('us-east-1', stray.VpcEndpoint!.VpcEndpointId!))?.State?.toLowerCase(), 'available', 'left in place');
    assert.doesNotMatch(node.stderr(), /NodeVersionSupportWarning/);
  } finally {
    await node.stop();
  }
});
