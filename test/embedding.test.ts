import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startServer } from '../src/index.js';
import { AtlasApiError } from '../src/client/index.js';
import { tempDir } from './support/harness.js';
import { snaplinkOnPath } from './support/process.js';
import { createDatabase, dropDatabase, STORE_KIND, TEST_DATABASE_URL } from './support/stores.js';
import { goMissing, python } from './support/tools.js';
import { KEYS, P1, WORLD } from './support/world.js';

// snaplink inside other people's tests (docs/testing-with-snaplink.md): the Node API's promises,
// and every recipe of that page run as it is — the node:test file, the Go test, the Python test.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PAGE = 'docs/testing-with-snaplink.md';

describe('startServer', () => {
  test('no options: a free port, a throwaway store, a default world and a token that work; stop removes the store', async () => {
    const a = await startServer();
    const b = await startServer();
    // Its store: a file in the temporary directory it made.
    const dir = dirname(a.snaplink.store.location);
    try {
      assert.match(a.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(a.url, b.url);
      assert.equal(a.dashboardUrl, `${a.url}/_snaplink/ui/`);
      const world = a.defaultWorld!;
      assert.match(world.projectId, /^[0-9a-f]{24}$/);
      assert.equal((await a.client().listPrivateEndpoints(world.projectId)).totalCount, 0);
      assert.equal((await a.control<{ readiness: string }>('GET', '/_snaplink/status')).readiness, 'ready');
      await assert.rejects(a.control('GET', '/_snaplink/nope'), /answered 404/);
      // Each its own store: b's default world is not a's.
      await assert.rejects(b.client(world.apiKey).listPrivateEndpoints(world.projectId), (e: AtlasApiError) => e.response.status === 401);
    } finally {
      await a.stop();
      await a.stop();
      await b.stop();
    }
    assert.match(dir, /snaplink-/);
    assert.equal(existsSync(dir), false, `${dir} removed`);
    await assert.rejects(fetch(a.url), 'stopped');
  });

  test('await using: an inline seed, its own credentials, a given token; disposed at the end of the block', async () => {
    let url: string;
    const database = TEST_DATABASE_URL ? await createDatabase() : undefined;
    if (database) after(() => dropDatabase(database));
    {
      await using atlas = await startServer({ seed: WORLD, adminToken: 'my-token', timings: 'none', ...(database && { database }) });
      url = atlas.url;
      assert.equal(atlas.adminToken, 'my-token');
      assert.equal(atlas.defaultWorld, undefined, 'the seed declares organizations');
      assert.throws(() => atlas.client(), /pass the credentials of your seed/);
      const e = await atlas.client(KEYS.ownerP1).createPrivateEndpoint(P1, { regionName: 'US_EAST_1' });
      assert.equal(e.status, 'INITIATING');
      assert.equal((await atlas.control<{ results: unknown[] }>('GET', '/_snaplink/endpoints')).results.length, 1);
    }
    await assert.rejects(fetch(url), 'disposed');
  });

  test('a start that fails (an invalid seed) leaves no temporary store behind', async () => {
    const before = new Set(spawnSync('sh', ['-c', 'ls -d ${TMPDIR:-/tmp}/snaplink-* 2>/dev/null'], { encoding: 'utf8' }).stdout.split('\n'));
    await assert.rejects(startServer({ seed: { organizations: [{ id: 'nothex', name: 'x' }] } }), /invalid seed/);
    const left = spawnSync('sh', ['-c', 'ls -d ${TMPDIR:-/tmp}/snaplink-* 2>/dev/null'], { encoding: 'utf8' }).stdout.split('\n').filter((d) => !before.has(d));
    assert.deepEqual(left, []);
  });
});

interface Recipe {
  lang: string;
  file: string;
  code: string;
}

/** The page's code blocks, each named by the file its first line names. */
function recipes(): Recipe[] {
  const text = readFileSync(join(ROOT, PAGE), 'utf8');
  return [...text.matchAll(/^```(ts|go|python)\n([\s\S]*?)^```$/gm)].map((m) => {
    const file = /^(?:\/\/|#) (\S+)$/.exec(m[2]!.split('\n')[0]!)?.[1];
    assert.ok(file, `${PAGE}: a ${m[1]} block's first line names its file`);
    return { lang: m[1]!, file, code: m[2]! };
  });
}

const run = (command: string, args: string[], cwd: string, env: Record<string, string> = {}) => {
  // A test run of its own, not a part of this one (node:test tells by NODE_TEST_CONTEXT).
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 240_000, env: { ...inherited, ...env } });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
};

describe(`the recipes of ${PAGE}, run as they are`, { skip: STORE_KIND === 'postgres' && 'they make their own SQLite stores: run in the SQLite pass' }, () => {
  const work = tempDir('snaplink-recipes-');
  const bin = snaplinkOnPath(join(work, 'bin'));
  const PATH = `${bin}:${process.env.PATH}`;
  after(() => rmSync(work, { recursive: true, force: true }));

  test('there is one of each: node:test, Go, Python', () => {
    assert.deepEqual(recipes().map((r) => r.lang).sort(), ['go', 'python', 'ts']);
  });

  test('node:test, importing snaplink by its name', () => {
    const r = recipes().find((x) => x.lang === 'ts')!;
    // Inside the package, so `snaplink` resolves to it (a package's own name, through its exports).
    const dir = join(ROOT, '.cache', 'recipes');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, r.file), r.code);
    const result = run(process.execPath, ['--import', 'tsx', '--test', join(dir, r.file)], ROOT);
    assert.equal(result.code, 0, result.out);
    // TAP (Node.js 20, 22) or the spec reporter (24) when not at a terminal.
    assert.match(result.out, /^(# |ℹ )pass 1$/m);
  });

  test('Go: go test, snaplink as a subprocess on port 0', { skip: goMissing() }, () => {
    const r = recipes().find((x) => x.lang === 'go')!;
    const dir = join(work, 'go');
    mkdirSync(dir);
    writeFileSync(join(dir, 'go.mod'), 'module example.com/snaplinktest\n\ngo 1.22\n');
    writeFileSync(join(dir, r.file), r.code);
    const result = run('go', ['test', '-count=1', '-v', './...'], dir, { PATH, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' });
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /--- PASS: TestSnaplinkAnswersAsAtlas/);
  });

  test('Python: unittest with requests, snaplink as a subprocess on port 0', () => {
    const r = recipes().find((x) => x.lang === 'python')!;
    const dir = join(work, 'python');
    mkdirSync(dir);
    writeFileSync(join(dir, r.file), r.code);
    const result = run(python(), ['-m', 'unittest', '-v', r.file.replace(/\.py$/, '')], dir, { PATH });
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /test_create \(test_snaplink\.SnaplinkTest\.test_create\) \.\.\. ok|test_create .* ok/);
  });
});
