import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { callControl, type SeededServer, spawnSeededServer } from './support/harness.js';
import type { ServerProcess } from './support/process.js';
import { atlasCli } from './support/tools.js';
import { KEYS, ORG_A, P1, SERVICE_ACCOUNTS } from './support/world.js';

// The real Atlas CLI against `snaplink serve`, pointed at it the way the CLI documents:
// MONGODB_ATLAS_OPS_MANAGER_URL and the credentials' environment variables, with a temporary
// config directory so nothing of the user's own profile is read or written. Its generated
// `atlas api` commands drive the endpoints and the projects; `atlas projects …` a whole pipeline.
//
// The binary is SNAPLINK_ATLAS_CLI (yours), else what test/setup/atlas-cli.sh built from the Go
// module proxy; where neither exists, this suite is skipped with the reason (test/run.ts repeats
// it in its summary).

const cli = atlasCli();
const skip = 'missing' in cli ? `the Atlas CLI is not available: ${cli.missing}` : false;
const ADMIN = 'atlas-cli-admin-token';
let spawned: SeededServer | undefined;
let server: ServerProcess;
let dir: string;

before(async () => {
  if (skip) return;
  spawned = await spawnSeededServer(['--admin-token', ADMIN, '--hold-initiating', '1', '--hold-pending-acceptance', '1', '--hold-deleting', '1']);
  ({ server, dir } = spawned);
});
after(() => spawned?.stop());

type Credentials = Record<string, string>;
const projectOwnerKeys: Credentials = { MONGODB_ATLAS_PUBLIC_API_KEY: KEYS.ownerP1.publicKey, MONGODB_ATLAS_PRIVATE_API_KEY: KEYS.ownerP1.privateKey };
const orgOwnerKeys: Credentials = { MONGODB_ATLAS_PUBLIC_API_KEY: KEYS.orgOwnerA.publicKey, MONGODB_ATLAS_PRIVATE_API_KEY: KEYS.orgOwnerA.privateKey };
const serviceAccount: Credentials = { MONGODB_ATLAS_CLIENT_ID: SERVICE_ACCOUNTS.saOrgA.clientId, MONGODB_ATLAS_CLIENT_SECRET: SERVICE_ACCOUNTS.saOrgA.clientSecret };

/**
 * Runs `atlas <argv>`; resolves with its exit code and output, whatever they are. Standard input
 * is not a pipe (it is ignored): the real CLI refuses `--file` when its standard input is one
 * ("cannot use --file flag and also input from standard input"), as execFile's would be.
 */
function atlas(credentials: Credentials, argv: string[], extraEnv: Record<string, string | undefined> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = {
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
    ...extraEnv,
  };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn((cli as { path: string }).path, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** `atlas api cloudBackups <command>` on the seeded project. */
const cloudBackups = (credentials: Credentials, command: string, args: string[]) =>
  atlas(credentials, ['api', 'cloudBackups', command, '--groupId', P1, '--cloudProvider', 'AWS', '--version', '2024-11-13', ...args]);

/** Writes a request body for `--file`. */
function bodyFile(name: string, body: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(body));
  return file;
}

/** Runs `probe` (a CLI command, itself a second or so) until it says done, for at most a minute. */
async function eventually(what: string, probe: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + 60_000;
  while (!(await probe())) if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
}

const requests = async (query: string) => (await callControl<{ results: { method: string; path: string; status: number }[] }>(server.url, ADMIN, 'GET', `/_snaplink/requests?${query}`)).body.results;

for (const [who, credentials] of [
  ['API keys (Digest)', projectOwnerKeys],
  ['a service account (OAuth)', serviceAccount],
] as const) {
  describe(`atlas api cloudBackups … with ${who}`, { skip }, () => {
    test('create, list across pages, get and delete print the answers, and exit 0', async () => {
      const region = credentials === projectOwnerKeys ? 'US_EAST_1' : 'US_WEST_2';
      const body = bodyFile(`body-${region}.json`, { cloudProvider: 'AWS', regionName: region });

      const created = await cloudBackups(credentials, 'createBackupPrivateEndpoint', ['--file', body]);
      assert.equal(created.code, 0, created.stderr);
      const endpoint = JSON.parse(created.stdout);
      assert.equal(endpoint.status, 'INITIATING');
      assert.equal(endpoint.regionName, region);

      const page = await cloudBackups(credentials, 'listBackupPrivateEndpoints', ['--itemsPerPage', '1', '--pageNum', '1', '--includeCount']);
      assert.equal(page.code, 0, page.stderr);
      const listed = JSON.parse(page.stdout);
      assert.equal(listed.results.length, 1);
      assert.ok(listed.totalCount >= 1);

      const got = await cloudBackups(credentials, 'getBackupPrivateEndpoint', ['--endpointId', endpoint.id]);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(JSON.parse(got.stdout).id, endpoint.id);

      const deleted = await cloudBackups(credentials, 'deleteBackupPrivateEndpoint', ['--endpointId', endpoint.id]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal(deleted.stdout.trim(), '');
    });

    test('an error prints Atlas’s ApiError and exits non-zero', async () => {
      const missing = await cloudBackups(credentials, 'getBackupPrivateEndpoint', ['--endpointId', '6650f0c0a1b2c3d4e5f6abcd']);
      assert.notEqual(missing.code, 0);
      const error = JSON.parse(missing.stdout);
      assert.equal(error.errorCode, 'RESOURCE_NOT_FOUND');
      assert.equal(error.error, 404);
      assert.equal(error.detail, 'Cannot find resource 6650f0c0a1b2c3d4e5f6abcd.');
    });
  });
}

for (const [who, credentials] of [
  ['an organization owner\'s API keys', orgOwnerKeys],
  ['an organization owner service account', serviceAccount],
] as const) {
  describe(`a whole pipeline with atlas projects … and ${who}`, { skip }, () => {
    test('projects create → endpoint → ACTIVE → delete it → projects delete, as docs/clients.md shows', async () => {
      const name = `cli-pipeline-${credentials === orgOwnerKeys ? 'keys' : 'sa'}`;
      // The CLI sends `projectOwnerId=` with no value; snaplink takes it as absent, as Atlas does.
      const created = await atlas(credentials, ['projects', 'create', name, '--orgId', ORG_A, '--output', 'json']);
      assert.equal(created.code, 0, created.stderr);
      const project = JSON.parse(created.stdout);
      assert.equal(project.name, name);
      assert.equal(project.orgId, ORG_A);

      const listed = await atlas(credentials, ['projects', 'list', '--output', 'json']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.ok(JSON.parse(listed.stdout).results.some((p: { id: string }) => p.id === project.id));
      const inOrg = await atlas(credentials, ['projects', 'list', '--orgId', ORG_A, '--output', 'json']);
      assert.equal(inOrg.code, 0, inOrg.stderr);
      assert.ok(JSON.parse(inOrg.stdout).results.some((p: { id: string }) => p.id === project.id));

      const described = await atlas(credentials, ['projects', 'describe', project.id, '--output', 'json']);
      assert.equal(described.code, 0, described.stderr);
      assert.equal(JSON.parse(described.stdout).id, project.id);

      const body = bodyFile(`pipeline-${name}.json`, { cloudProvider: 'AWS', regionName: 'EU_WEST_1' });
      const endpointArgs = ['--groupId', project.id, '--cloudProvider', 'AWS', '--version', '2024-11-13'];
      const made = await atlas(credentials, ['api', 'cloudBackups', 'createBackupPrivateEndpoint', ...endpointArgs, '--file', body]);
      assert.equal(made.code, 0, made.stderr);
      const endpoint = JSON.parse(made.stdout);
      await eventually('ACTIVE', async () => {
        const got = await atlas(credentials, ['api', 'cloudBackups', 'getBackupPrivateEndpoint', ...endpointArgs, '--endpointId', endpoint.id]);
        assert.equal(got.code, 0, got.stderr);
        return JSON.parse(got.stdout).status === 'ACTIVE';
      });

      const refused = await atlas(credentials, ['projects', 'delete', project.id, '--force']);
      assert.notEqual(refused.code, 0, 'a project with an endpoint is not deleted');
      assert.match(`${refused.stdout}${refused.stderr}`, /CANNOT_CLOSE_GROUP_ACTIVE_ATLAS_PRIVATE_ENDPOINT_SERVICES/);

      assert.equal((await atlas(credentials, ['api', 'cloudBackups', 'deleteBackupPrivateEndpoint', ...endpointArgs, '--endpointId', endpoint.id])).code, 0);
      await eventually('the endpoint gone', async () => {
        const got = await atlas(credentials, ['api', 'cloudBackups', 'getBackupPrivateEndpoint', ...endpointArgs, '--endpointId', endpoint.id]);
        return got.code !== 0 && JSON.parse(got.stdout).errorCode === 'RESOURCE_NOT_FOUND';
      });
      const deleted = await atlas(credentials, ['projects', 'delete', project.id, '--force']);
      assert.equal(deleted.code, 0, deleted.stderr);
      const gone = await atlas(credentials, ['projects', 'describe', project.id, '--output', 'json']);
      assert.notEqual(gone.code, 0);
      assert.match(`${gone.stdout}${gone.stderr}`, /GROUP_NOT_FOUND/);
    });
  });
}

describe('atlas api projects …', { skip }, () => {
  const api = (command: string, args: string[]) => atlas(orgOwnerKeys, ['api', 'projects', command, '--version', '2023-01-01', ...args]);

  test('createGroup, getGroup, getGroupByName, listGroups, updateGroup and deleteGroup print Atlas’s answers', async () => {
    const created = await api('createGroup', ['--file', bodyFile('group.json', { name: 'cli-api-project', orgId: ORG_A, tags: [{ key: 'env', value: 'e2e' }] })]);
    assert.equal(created.code, 0, created.stderr);
    const project = JSON.parse(created.stdout);
    assert.deepEqual(project.tags, [{ key: 'env', value: 'e2e' }]);

    const got = await api('getGroup', ['--groupId', project.id]);
    assert.equal(JSON.parse(got.stdout).name, 'cli-api-project');
    const byName = await api('getGroupByName', ['--groupName', 'cli-api-project']);
    assert.equal(JSON.parse(byName.stdout).id, project.id);
    const listed = await api('listGroups', ['--itemsPerPage', '500']);
    assert.ok(JSON.parse(listed.stdout).results.some((p: { id: string }) => p.id === project.id));

    const updated = await api('updateGroup', ['--groupId', project.id, '--file', bodyFile('group-update.json', { name: 'cli-api-renamed', tags: [] })]);
    assert.equal(updated.code, 0, updated.stderr);
    assert.deepEqual([JSON.parse(updated.stdout).name, JSON.parse(updated.stdout).tags], ['cli-api-renamed', []]);

    const deleted = await api('deleteGroup', ['--groupId', project.id]);
    assert.equal(deleted.code, 0, deleted.stderr);
    const missing = await api('getGroup', ['--groupId', project.id]);
    assert.notEqual(missing.code, 0);
    assert.equal(JSON.parse(missing.stdout).errorCode, 'GROUP_NOT_FOUND');
  });

  test('a duplicate name and a read-only credential get Atlas’s errors', async () => {
    const duplicate = await api('createGroup', ['--file', bodyFile('dup.json', { name: 'payments', orgId: ORG_A })]);
    assert.notEqual(duplicate.code, 0);
    assert.equal(JSON.parse(duplicate.stdout).errorCode, 'GROUP_ALREADY_EXISTS');
    const reader = { MONGODB_ATLAS_PUBLIC_API_KEY: KEYS.readerP1.publicKey, MONGODB_ATLAS_PRIVATE_API_KEY: KEYS.readerP1.privateKey };
    const refused = await atlas(reader, ['api', 'projects', 'deleteGroup', '--version', '2023-01-01', '--groupId', P1]);
    assert.notEqual(refused.code, 0);
    assert.equal(JSON.parse(refused.stdout).errorCode, 'USER_UNAUTHORIZED');
  });
});

describe('what the real CLI does on its own', { skip }, () => {
  test('a service account: three commands, one token (the CLI saves it and reads its exp)', async () => {
    const since = Date.now();
    for (let i = 0; i < 3; i++) assert.equal((await atlas(serviceAccount, ['projects', 'list', '--output', 'json'])).code, 0);
    const tokens = (await requests(`since=${since}&limit=1000`)).filter((e) => e.method === 'POST' && e.path === '/api/oauth/token');
    assert.ok(tokens.length <= 1, `${tokens.length} token requests for three commands`);
  });

  test('with telemetry on, its events are accepted: no 404 in the journal', async () => {
    const since = Date.now();
    const run = await atlas(orgOwnerKeys, ['projects', 'list', '--output', 'json'], { MONGODB_ATLAS_TELEMETRY_ENABLED: 'true', DO_NOT_TRACK: undefined });
    assert.equal(run.code, 0, run.stderr);
    const notFound = (await requests(`since=${since}&status=404&limit=1000`)).map((e) => `${e.method} ${e.path}`);
    assert.deepEqual(notFound, []);
  });
});
