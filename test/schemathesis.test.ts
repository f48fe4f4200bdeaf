import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ORACLE_OFF_NOTICE, SUBSET_PREFIX as COLLECTION } from './support/atlas-spec.js';
import { type SeededServer, spawnSeededServer } from './support/harness.js';
import { spec } from './support/oracle.js';
import type { ServerProcess } from './support/process.js';
import { exec, python } from './support/tools.js';
import { KEYS, P1 } from './support/world.js';

// schemathesis (PyPI, pinned in test/clients/requirements.txt) generates requests from the
// official spec — valid and invalid data, then stateful create → get → delete sequences — and
// checks every answer against it: no server error, statuses, media types, headers and bodies as
// declared. Requests are signed with Digest by test/clients/schemathesis/hooks.py.

const HOOKS_DIR = fileURLToPath(new URL('./clients/schemathesis/', import.meta.url));
const skip = spec ? false : ORACLE_OFF_NOTICE;

type Json = any;

/**
 * What schemathesis is given: the oracle's spec (its two published defects repaired as DESIGN.md
 * says), plus what the published document leaves unsaid and DESIGN.md states, each listed in
 * docs/clients.md: cloudProvider and regionName are required and unknown attributes refused
 * (§3 check 10); the statuses snaplink answers beyond the declared ones (400 for a malformed
 * parameter, 405, 406, and on create 413 and 415), all as ApiErrors; and links from a create to
 * the get and delete of what it made, for the stateful phase.
 */
function schemathesisSpec(official: Json): Json {
  const s = structuredClone(official);
  const collection = s.paths[COLLECTION];
  const item = s.paths[`${COLLECTION}/{endpointId}`];
  const request = s.components.schemas.ObjectStoragePrivateEndpointRequest;
  request.required = ['cloudProvider', 'regionName'];
  request.additionalProperties = false;
  const apiError = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiError' } } } });
  for (const op of [collection.get, collection.post, item.get, item.delete]) {
    op.responses['400'] ??= apiError('A malformed query or path parameter (DESIGN.md §3).');
    op.responses['405'] = apiError('METHOD_NOT_ALLOWED');
    op.responses['406'] = apiError('INVALID_VERSION_DATE');
  }
  collection.post.responses['413'] = apiError('REQUEST_TOO_LARGE');
  collection.post.responses['415'] = apiError('UNSUPPORTED_MEDIA_TYPE');
  const link = (operationId: string) => ({
    operationId,
    parameters: { groupId: '$request.path.groupId', cloudProvider: '$request.path.cloudProvider', endpointId: '$response.body#/id' },
  });
  collection.post.responses['201'].links = { get: link('getGroupBackupPrivateEndpoint'), delete: link('deleteGroupBackupPrivateEndpoint') };
  return s;
}

let spawned: SeededServer | undefined;

/**
 * `snaplink serve` on a fresh store seeded with the shared world, with the settings schemathesis
 * is run with: every request goes to the seeded project, under the one provider, with the
 * versioned Accept; envelope=true wraps bodies in a way the spec does not describe (the oracle
 * checks it).
 */
async function serveForSchemathesis(): Promise<SeededServer> {
  // A bucket large enough never to empty: every answer still reports it.
  const s = await spawnSeededServer(['--rate-limit-capacity', '1000000']);
  writeFileSync(
    join(s.dir, 'schemathesis.toml'),
    `headers = { Accept = "application/vnd.atlas.2024-11-13+json" }\n[parameters]\n"path.groupId" = "${P1}"\n"path.cloudProvider" = "AWS"\n"query.envelope" = false\n`,
  );
  return s;
}

before(async () => {
  if (!skip) spawned = await serveForSchemathesis();
});
after(() => spawned?.stop());

/** Requests a server answered so far, how many were 5xx and how many creates 201, from its metrics. */
async function answered(server: ServerProcess): Promise<{ total: number; serverErrors: number; created: number }> {
  const text = await (await fetch(`${server.url}/_snaplink/metrics`)).text();
  let total = 0;
  let serverErrors = 0;
  let created = 0;
  for (const m of text.matchAll(/^snaplink_http_requests_total\{operation="(list|create|get|delete)",status="(\d+)"\} (\d+)$/gm)) {
    total += Number(m[3]);
    if (m[2]!.startsWith('5')) serverErrors += Number(m[3]);
    if (m[1] === 'create' && m[2] === '201') created += Number(m[3]);
  }
  return { total, serverErrors, created };
}

/** Runs `st run` from the pinned environment; resolves with its exit code, output and JSON report. */
async function st({ server, dir }: SeededServer, specFile: string, args: string[]): Promise<{ code: number; out: string; report: Json }> {
  const reportDir = join(dir, `report-${Date.now()}`);
  const env = {
    ...process.env,
    PYTHONPATH: HOOKS_DIR,
    SCHEMATHESIS_HOOKS: 'hooks',
    SNAPLINK_PUBLIC_KEY: KEYS.ownerP1.publicKey,
    SNAPLINK_PRIVATE_KEY: KEYS.ownerP1.privateKey,
  };
  const seed = process.env.SNAPLINK_SCHEMATHESIS_SEED ? ['--seed', process.env.SNAPLINK_SCHEMATHESIS_SEED] : [];
  const argv = ['run', specFile, '--url', server.url, '--no-color', '--report', 'json', '--report-dir', reportDir, ...seed, ...args];
  let code = 0;
  let out: string;
  try {
    out = (await exec(join(dirname(python()), 'st'), argv, { cwd: dir, env, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string; message: string };
    code = typeof e.code === 'number' ? e.code : -1;
    out = `${e.stdout ?? ''}${e.stderr ?? e.message}`;
  }
  const reports = (() => {
    try {
      return readdirSync(reportDir).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
  })();
  const report = reports[0] ? JSON.parse(readFileSync(join(reportDir, reports[0]), 'utf8')) : undefined;
  return { code, out, report };
}

describe('schemathesis on the official spec, with Digest credentials', { skip }, () => {
  test('over 1,000 generated requests and stateful sequences: no server error, no answer that breaks the spec', async () => {
    const target = spawned!;
    const specFile = join(target.dir, 'spec.json');
    writeFileSync(specFile, JSON.stringify(schemathesisSpec(spec)));
    const before = await answered(target.server);
    // Every check, but use_after_free: a DELETE answers 204 and the endpoint stays readable as
    // DELETING until its hold ends (DESIGN.md §4), as on Atlas.
    const run = await st(target, specFile, ['--checks', 'all', '--exclude-checks', 'use_after_free', '--phases', 'examples,coverage,fuzzing,stateful', '--max-examples', '200']);
    const after = await answered(target.server);
    assert.equal(run.code, 0, `schemathesis found problems (exit ${run.code}):\n${run.out.slice(-20_000)}`);
    assert.ok(run.report, `no JSON report:\n${run.out.slice(-5_000)}`);
    assert.deepEqual(Object.values<Json>(run.report.phases).map((p) => p.status), ['success', 'success', 'success', 'success']);
    assert.equal(run.report.test_cases.with_failures, 0);
    assert.ok(run.report.test_cases.generated >= 1000, `only ${run.report.test_cases.generated} test cases`);
    assert.ok(after.total - before.total >= 1000, `snaplink answered only ${after.total - before.total} requests`);
    assert.equal(after.serverErrors - before.serverErrors, 0, 'snaplink answered a 5xx');
    // The stateful phase followed the links from a create to its get and delete.
    const links = /API Links:\s+(\d+) covered/.exec(run.out);
    assert.ok(links && Number(links[1]) >= 2, `the stateful phase covered too few links:\n${run.out.slice(-3_000)}`);
  });

  test('negative control: a spec that snaplink’s answers break is reported', async () => {
    // A server of its own: on the first test's, most region pairs are already taken, so every
    // create this short run generates could answer 409 and none show an INITIATING endpoint.
    const target = await serveForSchemathesis();
    try {
      const broken = schemathesisSpec(spec);
      // Take INITIATING out of the status enum: every fresh endpoint now breaks the spec.
      const status = broken.components.schemas.ObjectStoragePrivateEndpointResponse.properties.status;
      status.enum = status.enum.filter((s: string) => s !== 'INITIATING');
      const specFile = join(target.dir, 'broken-spec.json');
      writeFileSync(specFile, JSON.stringify(broken));
      const run = await st(target, specFile, ['--checks', 'response_schema_conformance', '--phases', 'examples,fuzzing', '--max-examples', '20', '--include-method', 'POST']);
      const { created } = await answered(target.server);
      assert.ok(created >= 1, `schemathesis made no endpoint, so nothing could break the spec:\n${run.out.slice(-5_000)}`);
      assert.equal(run.code, 1, run.out.slice(-5_000));
      assert.match(run.out, /Response violates schema/);
    } finally {
      await target.stop();
    }
  });
});
