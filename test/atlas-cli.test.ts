import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SeededServer, spawnSeededServer } from './support/harness.js';
import type { ServerProcess } from './support/process.js';
import { atlasCli, exec } from './support/tools.js';
import { KEYS, P1, SERVICE_ACCOUNTS } from './support/world.js';

// The Atlas CLI's generated `atlas api` commands against `snaplink serve`, pointed at it the way
// the CLI documents: MONGODB_ATLAS_OPS_MANAGER_URL and the credentials' environment variables,
// with a temporary config directory so nothing of the user's own profile is read or written.
// test/setup/atlas-cli.sh builds the binary from the Go module proxy; where the proxy refuses
// the module, this suite is skipped with the command and its error (test/run.ts repeats it).

const cli = atlasCli();
const skip = 'missing' in cli ? `the Atlas CLI could not be built: ${cli.missing}` : false;
let spawned: SeededServer | undefined;
let server: ServerProcess;
let dir: string;

before(async () => {
  if (skip) return;
  spawned = await spawnSeededServer(['--hold-initiating', '1', '--hold-pending-acceptance', '1', '--hold-deleting', '1']);
  ({ server, dir } = spawned);
});
after(() => spawned?.stop());

type Credentials = Record<string, string>;
const apiKeys: Credentials = { MONGODB_ATLAS_PUBLIC_API_KEY: KEYS.ownerP1.publicKey, MONGODB_ATLAS_PRIVATE_API_KEY: KEYS.ownerP1.privateKey };
const serviceAccount: Credentials = { MONGODB_ATLAS_CLIENT_ID: SERVICE_ACCOUNTS.saOrgA.clientId, MONGODB_ATLAS_CLIENT_SECRET: SERVICE_ACCOUNTS.saOrgA.clientSecret };

/** Runs `atlas api cloudBackups <command> …`; resolves with its exit code and output, whatever they are. */
async function atlas(credentials: Credentials, command: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    MONGODB_ATLAS_OPS_MANAGER_URL: `${server.url}/`,
    MONGODB_ATLAS_SERVICE: 'cloud',
    MONGODB_ATLAS_SKIP_UPDATE_CHECK: 'true',
    MONGODB_ATLAS_TELEMETRY_ENABLED: 'false',
    MONGODB_ATLAS_SILENCE_STORAGE_WARNING: 'true',
    DO_NOT_TRACK: '1',
    ...credentials,
  };
  const argv = ['api', 'cloudBackups', command, '--groupId', P1, '--cloudProvider', 'AWS', '--version', '2024-11-13', ...args];
  try {
    const { stdout, stderr } = await exec((cli as { path: string }).path, argv, { env, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

for (const [who, credentials] of [
  ['API keys (Digest)', apiKeys],
  ['a service account (OAuth)', serviceAccount],
] as const) {
  describe(`atlas api cloudBackups … with ${who}`, { skip }, () => {
    test('create, list across pages, get and delete print the answers, and exit 0', async () => {
      const body = join(dir, `body-${who.length}.json`);
      const region = credentials === apiKeys ? 'US_EAST_1' : 'US_WEST_2';
      writeFileSync(body, JSON.stringify({ cloudProvider: 'AWS', regionName: region }));

      const created = await atlas(credentials, 'createBackupPrivateEndpoint', ['--file', body]);
      assert.equal(created.code, 0, created.stderr);
      const endpoint = JSON.parse(created.stdout);
      assert.equal(endpoint.status, 'INITIATING');
      assert.equal(endpoint.regionName, region);

      const page = await atlas(credentials, 'listBackupPrivateEndpoints', ['--itemsPerPage', '1', '--pageNum', '1', '--includeCount']);
      assert.equal(page.code, 0, page.stderr);
      const listed = JSON.parse(page.stdout);
      assert.equal(listed.results.length, 1);
      assert.ok(listed.totalCount >= 1);

      const got = await atlas(credentials, 'getBackupPrivateEndpoint', ['--endpointId', endpoint.id]);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(JSON.parse(got.stdout).id, endpoint.id);

      const deleted = await atlas(credentials, 'deleteBackupPrivateEndpoint', ['--endpointId', endpoint.id]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal(deleted.stdout.trim(), '');
    });

    test('an error prints Atlas’s ApiError and exits non-zero', async () => {
      const missing = await atlas(credentials, 'getBackupPrivateEndpoint', ['--endpointId', '6650f0c0a1b2c3d4e5f6abcd']);
      assert.notEqual(missing.code, 0);
      const error = JSON.parse(missing.stdout);
      assert.equal(error.errorCode, 'RESOURCE_NOT_FOUND');
      assert.equal(error.error, 404);
      assert.equal(error.detail, 'Cannot find resource 6650f0c0a1b2c3d4e5f6abcd.');
    });
  });
}
