import {
  CreateVpcEndpointCommand,
  DeleteVpcEndpointsCommand,
  DescribeVpcEndpointsCommand,
  EC2Client,
  EC2ServiceException,
  type VpcEndpoint,
} from '@aws-sdk/client-ec2';
import type { Endpoint } from '../../endpoints/model.js';
import { type AwsSettings, awsRegionOf } from './aws-config.js';
import type { CloudState } from '../../endpoints/lifecycle.js';
import type { Provider, Stray } from './provider.js';

// The SDK announces that its 2027 releases will need Node.js 22; the version locked here runs on
// 20, so the notice would only be noise in snaplink's logs.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Real interface endpoints for S3, with EC2. Each snaplink endpoint's AWS endpoint is found by
// its tags (snaplink:endpointId, snaplink:generation), so a resumed or repeated step finds the
// one it made instead of making another; creation also carries an idempotency token derived
// from the same pair. Credentials come from the standard AWS chain.
//
// AWS state → snaplink: pending → INITIATING, pendingAcceptance → PENDING_ACCEPTANCE,
// available → ACTIVE, failed/rejected/expired → FAILED (AWS's reason as errorMessage), gone →
// PENDING_RECREATION. Throttling and transient errors are retried (by the SDK, then by the
// runner's backoff) and never fail an endpoint; a request AWS refuses outright does.

export const TAG_ENDPOINT = 'snaplink:endpointId';
export const TAG_GROUP = 'snaplink:groupId';
export const TAG_GENERATION = 'snaplink:generation';

const GONE = new Set(['deleted', 'deleting']);

export class AwsProvider implements Provider {
  readonly name = 'aws';
  readonly pollMs: number;
  readonly activeCheckMs: number;
  readonly real = true;
  private readonly clients = new Map<string, EC2Client>();

  constructor(private readonly settings: AwsSettings) {
    this.pollMs = settings.pollMs;
    this.activeCheckMs = settings.healthCheckMs;
  }

  private client(region: string): EC2Client {
    let c = this.clients.get(region);
    if (!c) {
      c = new EC2Client({ region, maxAttempts: 5, retryMode: 'standard', ...(this.settings.endpointUrl ? { endpoint: this.settings.endpointUrl } : {}) });
      this.clients.set(region, c);
    }
    return c;
  }

  /** Where e's interface endpoint goes, or why it cannot go anywhere. */
  private placement(e: Endpoint): { region: string; bucketRegion: string } | { failed: string } {
    const region = awsRegionOf(e.vpcRegionName);
    const bucketRegion = awsRegionOf(e.regionName);
    if (region === undefined || bucketRegion === undefined) {
      return { failed: 'GLOBAL is not an AWS region: an interface endpoint needs a concrete regionName and vpcRegionName.' };
    }
    if (!this.settings.regions[region]) {
      return { failed: `No VPC is configured for AWS region ${region}: add one to the AWS provider configuration.` };
    }
    return { region, bucketRegion };
  }

  /** The AWS endpoints made for e (this incarnation, or any), newest first, deleted ones left out. */
  private async find(region: string, e: Endpoint, anyGeneration = false): Promise<VpcEndpoint[]> {
    const filters = [{ Name: `tag:${TAG_ENDPOINT}`, Values: [e.id] }];
    if (!anyGeneration) filters.push({ Name: `tag:${TAG_GENERATION}`, Values: [String(e.generation)] });
    const out = await this.client(region).send(new DescribeVpcEndpointsCommand({ Filters: filters }));
    return (out.VpcEndpoints ?? []).filter((v) => !GONE.has(String(v.State).toLowerCase()));
  }

  async provision(e: Endpoint): Promise<CloudState> {
    const where = this.placement(e);
    if ('failed' in where) return { state: 'failed', message: where.failed };
    const [existing] = await this.find(where.region, e);
    if (existing) return stateOf(existing);
    const p = this.settings.regions[where.region]!;
    try {
      const out = await this.client(where.region).send(
        new CreateVpcEndpointCommand({
          VpcEndpointType: 'Interface',
          VpcId: p.vpcId,
          ServiceName: `com.amazonaws.${where.bucketRegion}.s3`,
          // Cross-region PrivateLink: the endpoint lives in the VPC's region, the bucket's elsewhere.
          ...(where.bucketRegion !== where.region ? { ServiceRegion: where.bucketRegion } : {}),
          SubnetIds: p.subnetIds,
          ...(p.securityGroupIds.length > 0 ? { SecurityGroupIds: p.securityGroupIds } : {}),
          PrivateDnsEnabled: false,
          ClientToken: `snaplink-${e.id}-${e.generation}`,
          TagSpecifications: [
            {
              ResourceType: 'vpc-endpoint',
              Tags: [
                { Key: TAG_ENDPOINT, Value: e.id },
                { Key: TAG_GROUP, Value: e.groupId },
                { Key: TAG_GENERATION, Value: String(e.generation) },
                { Key: 'Name', Value: `snaplink ${e.regionName} backup export (${e.groupId})` },
              ],
            },
          ],
        }),
      );
      return out.VpcEndpoint ? stateOf(out.VpcEndpoint) : { state: 'creating' };
    } catch (err) {
      const refused = refusal(err);
      if (refused) return { state: 'failed', message: refused };
      throw err;
    }
  }

  async inspect(e: Endpoint): Promise<CloudState> {
    const where = this.placement(e);
    if ('failed' in where) return { state: 'failed', message: where.failed };
    if (e.connectionName === null) {
      const [found] = await this.find(where.region, e);
      return found ? stateOf(found) : { state: 'missing' };
    }
    try {
      const out = await this.client(where.region).send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [e.connectionName] }));
      const v = out.VpcEndpoints?.[0];
      return v && !GONE.has(String(v.State).toLowerCase()) ? stateOf(v) : { state: 'missing' };
    } catch (err) {
      if (errorName(err) === 'InvalidVpcEndpointId.NotFound') return { state: 'missing' };
      throw err;
    }
  }

  async deprovision(e: Endpoint): Promise<CloudState> {
    const where = this.placement(e);
    // Nothing can have been made where there is no placement.
    if ('failed' in where) return { state: 'deleted' };
    const ids = new Set((await this.find(where.region, e, true)).map((v) => v.VpcEndpointId!));
    if (ids.size === 0) return { state: 'deleted' };
    const out = await this.client(where.region).send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: [...ids] }));
    const failed = (out.Unsuccessful ?? []).filter((u) => u.Error?.Code !== 'InvalidVpcEndpointId.NotFound');
    if (failed.length > 0) throw new Error(`EC2 could not delete ${failed.map((u) => `${u.ResourceId}: ${u.Error?.Message}`).join('; ')}`);
    return (await this.find(where.region, e, true)).length === 0 ? { state: 'deleted' } : { state: 'deleting' };
  }

  async strays(isKnown: (endpointId: string, generation: number) => Promise<boolean>): Promise<Stray[]> {
    const strays: Stray[] = [];
    for (const region of Object.keys(this.settings.regions)) {
      let token: string | undefined;
      do {
        const out = await this.client(region).send(new DescribeVpcEndpointsCommand({ Filters: [{ Name: 'tag-key', Values: [TAG_ENDPOINT] }], NextToken: token }));
        for (const v of out.VpcEndpoints ?? []) {
          if (GONE.has(String(v.State).toLowerCase())) continue;
          const tag = (k: string) => v.Tags?.find((t) => t.Key === k)?.Value;
          const endpointId = tag(TAG_ENDPOINT) ?? '';
          if (!(await isKnown(endpointId, Number(tag(TAG_GENERATION) ?? 0)))) {
            strays.push({ region, resourceId: v.VpcEndpointId!, endpointId, state: String(v.State) });
          }
        }
        token = out.NextToken;
      } while (token);
    }
    return strays;
  }
}

function stateOf(v: VpcEndpoint): CloudState {
  const state = String(v.State ?? '').toLowerCase();
  const id = v.VpcEndpointId!;
  switch (state) {
    case 'pendingacceptance':
      return { state: 'pendingAcceptance', connectionName: id };
    case 'available':
      return { state: 'available', connectionName: id };
    case 'failed':
    case 'rejected':
    case 'expired':
      return { state: 'failed', message: v.LastError?.Message ?? `AWS reports the interface endpoint ${id} as ${state}.` };
    case 'deleting':
    case 'deleted':
      return { state: 'missing' };
    default:
      return { state: 'creating' };
  }
}

const errorName = (err: unknown) => (err as { name?: string; Code?: string } | null)?.name ?? (err as { Code?: string } | null)?.Code;

/** AWS's reason when it refused a request for good (a client fault that is not throttling). */
function refusal(err: unknown): string | undefined {
  if (!(err instanceof EC2ServiceException) || err.$fault !== 'client') return undefined;
  if (err.$retryable?.throttling || /Throttl|RequestLimitExceeded|TooManyRequests/i.test(err.name)) return undefined;
  return `AWS refused to create the interface endpoint: ${err.name}: ${err.message}`;
}
