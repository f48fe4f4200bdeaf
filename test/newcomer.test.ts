import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from './support/harness.js';
import { blocks, type Block, runBlock } from './support/doc-examples.js';
import { READY_LINE } from './support/process.js';
import { STORE_KIND, tempDir } from './support/stores.js';

// A newcomer's first hour, following README.md's own commands in a fresh checkout (the files
// git would clone: nothing built, nothing installed): its two lines (`npm ci && npx snaplink
// serve`), the first 201, the dashboard, a fault, the command line. Then the same package
// installed into another project from its `npm pack` tarball, as docs/testing-with-snaplink.md
// says, where `npx snaplink` must find it without the registry.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const readme = blocks('README.md', README);

/** README's block under `heading` whose text matches `holding`. */
function block(heading: string, holding: RegExp): Block {
  const from = README.indexOf(`\n## ${heading}\n`);
  assert.ok(from >= 0, `README.md has a section "${heading}"`);
  const line = README.slice(0, from).split('\n').length;
  const found = readme.find((b) => b.line > line && holding.test(b.text));
  assert.ok(found, `README.md, ${heading}: a block with ${holding}`);
  return found;
}

/** The block's commands, without its comment lines. */
const commands = (b: Block) => b.text.split('\n').filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#')).join('\n');

/** A fresh checkout: the files git tracks (and new ones it does not ignore), copied. */
function freshCheckout(): string {
  const dir = join(tempDir('snaplink-newcomer-'), 'snaplink');
  const files = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).stdout.split('\0').filter(Boolean);
  for (const f of files) {
    try {
      mkdirSync(dirname(join(dir, f)), { recursive: true });
      copyFileSync(join(ROOT, f), join(dir, f));
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err; // deleted, not yet committed
    }
  }
  return dir;
}

/** Stops a process started in a group of its own, and everything it started. */
async function stopGroup(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const closed = new Promise((resolve) => p.on('close', resolve));
  process.kill(-p.pid!, 'SIGTERM');
  await closed;
}

// npm may use its cache, never ask; nothing the newcomer does needs a terminal.
const NPM = { npm_config_prefer_offline: 'true', npm_config_yes: 'false', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' };

describe('a newcomer, from the README', { skip: STORE_KIND === 'postgres' && 'the README starts SQLite: run in the SQLite pass', timeout: 20 * 60_000 }, () => {
  const checkout = freshCheckout();
  after(() => rmSync(dirname(checkout), { recursive: true, force: true }));

  test("the README's two lines, the first 201, the dashboard, a fault and the command line", async () => {
    const start = block('Quick start', /npx snaplink serve/);
    assert.equal(commands(start), 'npm ci && npx snaplink serve');
    // As the README says it, on a port of its own (the default, 8080, may be taken here).
    const server = spawn('bash', ['-c', commands(start)], { cwd: checkout, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...NPM, SNAPLINK_PORT: '0' } });
    let out = '';
    let err = '';
    server.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    try {
      const ready = await waitFor(async () => READY_LINE.exec(out)?.[0] ?? (server.exitCode !== null ? `exited ${server.exitCode}: ${err}` : ''), (v) => v !== '', 15 * 60_000, 'npm ci and the first start');
      assert.ok(ready.startsWith('{'), ready);
      const url = JSON.parse(ready).url as string;
      const banner = await waitFor(async () => err, (t) => /dashboard is at/.test(t), 10_000, 'the first-start banner');

      // "set them from what your first start printed"
      const exported = block('The four operations with curl', /^export /m);
      const names = [...exported.text.matchAll(/\b([A-Z_]+)=/g)].map((m) => m[1]);
      assert.deepEqual(names, ['PUBLIC', 'PRIVATE', 'GROUP', 'SNAPLINK_ADMIN_TOKEN']);
      const yours: Record<string, string> = {
        PUBLIC: /public ([a-z]{8})/.exec(banner)![1]!,
        PRIVATE: /private ([0-9a-f-]{36})/.exec(banner)![1]!,
        GROUP: /project +([0-9a-f]{24})/.exec(banner)![1]!,
        SNAPLINK_ADMIN_TOKEN: /admin token +(\S+)/.exec(banner)![1]!,
      };
      const env = { ...yours, PATH: process.env.PATH!, ...NPM, npm_config_offline: 'true', SNAPLINK_URL: url, SNAPLINK_CONFIG: join(dirname(checkout), 'contexts.json') };
      const logs = join(dirname(checkout), 'logs');

      // The four operations: the first 201, and the rest.
      runBlock(block('The four operations with curl', /-X POST/), url, join(logs, 'operations'), env);

      // The dashboard, where the banner says it is and where / leads.
      const dashboard = /the dashboard is at (\S+)/.exec(banner)![1]!;
      assert.equal(dashboard, `${url}/_snaplink/ui/`);
      const page = await fetch(`${url}/`);
      assert.equal(page.url, dashboard);
      assert.match(await page.text(), /<html/i);

      // A fault and the command line, from the checkout: npx finds its own command, offline.
      runBlock(block('The dashboard, a fault and the command line', /faults add/), url, join(logs, 'fault'), env, checkout);
    } finally {
      await stopGroup(server);
    }
  });

  test('outside the checkout: installed from the npm pack tarball, npx snaplink finds it without the registry', async () => {
    const steps = blocks('docs/testing-with-snaplink.md', readFileSync(join(ROOT, 'docs/testing-with-snaplink.md'), 'utf8')).find((b) => /npm pack/.test(b.text));
    assert.ok(steps, 'docs/testing-with-snaplink.md: the npm pack steps');
    assert.match(steps.text, /^cd snaplink && npm ci && npm pack .*\ncd \.\.\/your-project && npm install --save-dev \.\.\/snaplink\/snaplink-[\d.]+\.tgz\nnpx snaplink --version/m);
    // The checkout is installed (the test before): `npm pack` there, as the page says.
    const version = JSON.parse(readFileSync(join(checkout, 'package.json'), 'utf8')).version as string;
    const pack = spawnSync('npm', ['pack'], { cwd: checkout, encoding: 'utf8', env: { ...process.env, ...NPM } });
    assert.equal(pack.status, 0, pack.stderr);
    assert.ok(readdirSync(checkout).includes(`snaplink-${version}.tgz`));
    const project = join(dirname(checkout), 'your-project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'your-project', version: '1.0.0', private: true }));
    const install = spawnSync('npm', ['install', '--save-dev', `../snaplink/snaplink-${version}.tgz`], { cwd: project, encoding: 'utf8', env: { ...process.env, ...NPM } });
    assert.equal(install.status, 0, install.stderr);
    // Offline: a lookup on the registry would fail, so the answer is the installed command's.
    const offline = { ...process.env, ...NPM, npm_config_offline: 'true' };
    const v = spawnSync('npx', ['snaplink', '--version'], { cwd: project, encoding: 'utf8', env: offline });
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout, `${version}\n`);

    const server = spawn('npx', ['snaplink', 'serve', '--port', '0', '--data-dir', 'store'], { cwd: project, detached: true, stdio: ['ignore', 'pipe', 'ignore'], env: offline });
    let out = '';
    server.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const url = JSON.parse(await waitFor(async () => READY_LINE.exec(out)?.[0] ?? '', (l) => l !== '', 60_000, 'the installed server')).url;
      assert.deepEqual(await (await fetch(`${url}/_snaplink/ready`)).json(), { status: 'ready' });
    } finally {
      await stopGroup(server);
    }
  });
});
