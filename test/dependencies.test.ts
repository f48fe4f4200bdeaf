import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';

// snaplink runs on Node.js 20, 22 and 24 (package.json's engines). Every package it installs
// for production must say so too — in particular the AWS SDK, whose releases after the first
// week of January 2027 require Node.js 22 (aws/aws-sdk-js-v3#7983): a lock file moved onto
// one of those fails here, before a Node 20 user meets it. What to do then is in
// CONTRIBUTING.md (Dependencies).

const semver = createRequire(import.meta.url)('semver') as { satisfies(version: string, range: string): boolean; minVersion(range: string): { version: string } | null };
const read = (file: string) => JSON.parse(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'));

/** Production packages that say otherwise, each with why snaplink still runs on every version above. */
const KNOWN: Record<string, string> = {
  // light-my-request → cookie 2.x; Fastify requires light-my-request only inside inject(), which
  // snaplink never calls (fastify.js), so cookie is never even loaded.
  'node_modules/cookie': 'engines ">=22", but never loaded: only Fastify\'s inject() would',
};

test('every production dependency in the lock file admits each Node.js major snaplink supports', () => {
  const pkg = read('package.json');
  const lock = read('package-lock.json');
  const oldest = semver.minVersion(pkg.engines.node)!.version;
  const majors = [oldest, '22.0.0', '24.0.0'];
  assert.deepEqual(majors[0], '20.0.0', 'package.json engines: Node.js 20 and later');
  const refusing: string[] = [];
  for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean; engines?: { node?: string } | string[]; version?: string }>)) {
    const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    if (path === '' || entry.dev || range === undefined) continue;
    for (const v of majors) if (!semver.satisfies(v, range) && !(path in KNOWN)) refusing.push(`${path}@${entry.version} wants node ${range}, not ${v}`);
  }
  assert.deepEqual(refusing, [], 'see CONTRIBUTING.md, Dependencies');
  for (const path of Object.keys(KNOWN)) assert.ok(path in lock.packages, `${path} is no longer installed: drop it from KNOWN`);
});

test('the AWS SDK in the lock file runs on Node.js 20', () => {
  const lock = read('package-lock.json');
  const sdk = lock.packages['node_modules/@aws-sdk/client-ec2'];
  assert.ok(sdk, 'the AWS SDK is locked');
  assert.ok(semver.satisfies('20.0.0', sdk.engines.node), `@aws-sdk/client-ec2@${sdk.version} wants node ${sdk.engines.node}`);
});

test('README.md, engines and test/setup/node.sh name the same Node.js lines', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const table = /^## Node\.js versions\n[\s\S]*?\n((?:\|.*\n)+)/m.exec(readme)?.[1];
  assert.ok(table, 'README.md: the table under "Node.js versions"');
  const inReadme = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])).sort();
  const inEngines = read('package.json').engines.node.split('||').map((r: string) => Number(r.trim())).sort();
  const script = readFileSync(new URL('./setup/node.sh', import.meta.url), 'utf8');
  const pinned = [...(/^declare -A PINNED=\((.*)\)$/m.exec(script)?.[1] ?? '').matchAll(/\[(\d+)\]=(\d+)\./g)].map((m) => {
    assert.equal(m[1], m[2], 'each pin is a release of its own line');
    return Number(m[1]);
  });
  assert.deepEqual(inReadme, inEngines);
  assert.deepEqual(pinned.sort(), inEngines);
});

// test/run.ts says which Node.js each pass is meant to run on: this is it, and the native store
// loads on it, in the main thread and the checkpointer's (better-sqlite3 built for its ABI,
// test/setup/native-abi.cjs).
const expected = process.env.SNAPLINK_TEST_EXPECT_NODE;
test(`this run is on Node.js ${expected ?? '(the machine\'s: not run by npm test)'}, and SQLite works on it`, { skip: !expected && 'not run by npm test' }, async () => {
  assert.equal(process.versions.node.split('.')[0], expected);
  const { openStore } = await import('../src/store/database.js');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const dir = mkdtempSync(`${(await import('node:os')).tmpdir()}/snaplink-abi-`);
  try {
    // As the server opens it: with the checkpointer's thread, which loads SQLite on its own. Its
    // failure to load would be warned before close() resolves.
    const warnings: string[] = [];
    const store = await openStore({ dataDir: dir, deferSync: true, warn: (m) => warnings.push(m) });
    await store.close();
    assert.deepEqual(warnings, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
