import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { type SeededServer, spawnSeededServer } from './support/harness.js';
import type { ServerProcess } from './support/process.js';
import { exec, goMissing } from './support/tools.js';
import { KEYS, ORG_A, P1, SERVICE_ACCOUNTS } from './support/world.js';

// The Atlas Go SDK (go.mongodb.org/atlas-sdk) drives a `snaplink serve` the way a Go user's
// program would: test/clients/go-sdk is an ordinary Go module whose tests use only the SDK's
// own calls (one raw request, through the SDK's Digest client, for a wrong version date).

const MODULE = fileURLToPath(new URL('./clients/go-sdk/', import.meta.url));
const skip = goMissing();
const go = (args: string[], env: Record<string, string> = {}) =>
  exec('go', args, { cwd: MODULE, env: { ...process.env, ...env }, timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });

let spawned: SeededServer | undefined;
let server: ServerProcess;

before(async () => {
  if (skip) return;
  // Fetch the module's dependencies from the proxy first, so that `go vet` says only what it found.
  await go(['mod', 'download']);
  // Holds of a second: long enough to see each status on the way, short enough for CI.
  spawned = await spawnSeededServer(['--hold-initiating', '1', '--hold-pending-acceptance', '1', '--hold-deleting', '1']);
  server = spawned.server;
});
after(() => spawned?.stop());

test('go vet finds nothing in the Go SDK suite', { skip }, async () => {
  const { stdout, stderr } = await go(['vet', './...']);
  assert.equal(`${stdout}${stderr}`.trim(), '');
});

test('the Atlas Go SDK: lifecycle, pages, a service account, every error as a typed ApiError, and a pipeline that makes its own project', { skip }, async () => {
  const env = {
    SNAPLINK_URL: server.url,
    SNAPLINK_GROUP_ID: P1,
    SNAPLINK_PUBLIC_KEY: KEYS.ownerP1.publicKey,
    SNAPLINK_PRIVATE_KEY: KEYS.ownerP1.privateKey,
    SNAPLINK_FENCED_PUBLIC_KEY: KEYS.fencedP1.publicKey,
    SNAPLINK_FENCED_PRIVATE_KEY: KEYS.fencedP1.privateKey,
    SNAPLINK_ORG_ID: ORG_A,
    SNAPLINK_ORG_PUBLIC_KEY: KEYS.orgOwnerA.publicKey,
    SNAPLINK_ORG_PRIVATE_KEY: KEYS.orgOwnerA.privateKey,
    SNAPLINK_CLIENT_ID: SERVICE_ACCOUNTS.saOrgA.clientId,
    SNAPLINK_CLIENT_SECRET: SERVICE_ACCOUNTS.saOrgA.clientSecret,
  };
  let out: string;
  try {
    out = (await go(['test', '-count=1', '-v', './...'], env)).stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    assert.fail(`go test failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
  // Every Go test ran and passed: none skipped, none missing.
  for (const name of [
    'TestLifecycleWithAPIKey',
    'TestListAcrossPages',
    'TestLifecycleWithServiceAccount',
    'TestErrorsAreTypedApiErrors',
    'TestProjectPipelineWithAPIKey',
    'TestProjectPipelineWithServiceAccount',
    'TestProjectsListedRenamedDeleted',
    'TestOrganizationsListed',
  ]) {
    assert.match(out, new RegExp(`--- PASS: ${name} `), `${name} did not pass:\n${out}`);
  }
  for (const sub of ['409_duplicate', '404_unknown_id', '400_bad_region', '401_wrong_key', '403_not_on_the_access_list', '406_wrong_version_date']) {
    assert.match(out, new RegExp(`--- PASS: TestErrorsAreTypedApiErrors/${sub} `), `${sub} did not pass:\n${out}`);
  }
  assert.doesNotMatch(out, /--- (SKIP|FAIL)/);
});

test('docs/clients.md shows the pipeline exactly as the suite runs it', () => {
  const go = readFileSync(new URL('./clients/go-sdk/projects_test.go', import.meta.url), 'utf8');
  const pipeline = go.slice(go.indexOf('// runPipeline is'), go.indexOf('func TestProjectPipelineWithAPIKey')).trimEnd();
  assert.ok(pipeline.includes('func runPipeline('));
  assert.ok(readFileSync(new URL('../docs/clients.md', import.meta.url), 'utf8').includes(pipeline), 'docs/clients.md lacks runPipeline as it is in projects_test.go');
});
