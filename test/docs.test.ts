import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { docPages, generatedSections, render, ROOT, storeCommands } from '../scripts/docs.js';
import { ADMIN_TOKEN, callControl, type SeededServer, spawnSeededServer, tempDir } from './support/harness.js';
import { blocks, runBlock, SHELL } from './support/doc-examples.js';
import { snaplinkOnPath } from './support/process.js';
import { KEYS, ORG_A, P1, SERVICE_ACCOUNTS } from './support/world.js';

// The documentation is checked like code (CONTRIBUTING.md, "Examples that run"):
// - the generated references (options, errors, metrics) are what `npm run docs` writes;
// - every relative link points at a file, and every #anchor at a heading, that exists;
// - every shell block passes `bash -n`, and every one not marked
//   `# not run by the docs test: <why>` on its first line runs against a spawned, seeded
//   snaplink, with http://127.0.0.1:8080 replaced by its address, `snaplink` on the PATH, and
//   $PUBLIC, $PRIVATE, $GROUP, $ORG, $CLIENT_ID, $CLIENT_SECRET, $SNAPLINK_ADMIN_TOKEN and
//   $SNAPLINK_URL set; a `# → <status> <json>`
//   comment is checked against the answer of the curl before it (status, keys, and every value
//   the comment spells out rather than writing "…").

const pages = docPages();
const read = (page: string) => readFileSync(join(ROOT, page), 'utf8');

const shellBlocks = pages.flatMap((page) => blocks(page, read(page))).filter((b) => SHELL.has(b.lang));

describe('generated references', () => {
  test('every page holds what `npm run docs` would write', async () => {
    const sections = await generatedSections();
    const stale = pages.filter((p) => render(read(p), sections) !== read(p));
    assert.deepEqual(stale, [], `generated tables differ from their sources in ${stale.join(', ')}: run \`npm run docs\``);
  });

  test('docs/cli.md names every command that opens a store itself, as the program has them', () => {
    const paragraph = /^\w+ commands open a store themselves[\s\S]*?\n\n/m.exec(read('docs/cli.md'))?.[0];
    assert.ok(paragraph, 'docs/cli.md: the paragraph "… commands open a store themselves"');
    const named = [...paragraph.split('(')[0]!.matchAll(/`([a-z -]+)`/g)].map((m) => m[1]!);
    assert.deepEqual(named.sort(), ['serve', ...storeCommands()].sort());
    // And configuration.md, where the store's options are listed, names the same ones.
    const generated = /<!-- generated:store-options -->([\s\S]*?)<!--/.exec(read('docs/configuration.md'))![1]!;
    assert.deepEqual([...generated.matchAll(/`snaplink ([a-z -]+)`/g)].map((m) => m[1]).sort(), [...storeCommands()].sort());
  });

  test('the options, errors and metrics tables are each generated somewhere', () => {
    const all = pages.map(read).join('\n');
    for (const name of ['options', 'store-options', 'errors', 'metrics']) assert.ok(all.includes(`<!-- generated:${name} -->`), `no page holds <!-- generated:${name} -->`);
  });
});

/** GitHub's anchor for a heading. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');

function anchors(page: string): Set<string> {
  const text = read(page).replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

/** Pages being written on another branch: a link to one may come before the page. */

describe('links', () => {
  test('every relative link and anchor resolves', () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = read(page).replace(/^```[\s\S]*?^```/gm, '');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/i.test(target)) continue;
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const resolved = file === '' ? page : normalize(join(dirname(page), file));
        if (!existsSync(join(ROOT, resolved))) {
          broken.push(`${page}: ${target} (no file ${resolved})`);
        } else if (anchor !== undefined && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) broken.push(`${page}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
    assert.deepEqual(broken, []);
  });
});

describe('shell examples: syntax', () => {
  test('there are examples, and each one not run says why', () => {
    assert.ok(shellBlocks.length > 10, `only ${shellBlocks.length} shell blocks found`);
    for (const b of shellBlocks.filter((x) => x.notRun !== undefined)) assert.ok(b.notRun!.trim().length > 3, `${b.page}:${b.line}: say why it is not run`);
  });
  for (const b of shellBlocks) {
    test(`${b.page}:${b.line} passes bash -n`, () => {
      const r = spawnSync('bash', ['-n'], { input: b.text, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    });
  }
});

describe('shell examples: run against snaplink', () => {
  let server: SeededServer;
  const work = tempDir('snaplink-docs-');
  const shims = join(work, 'bin');
  before(async () => {
    snaplinkOnPath(shims);
    server = await spawnSeededServer(['--admin-token', ADMIN_TOKEN]);
  });
  after(async () => {
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  for (const b of shellBlocks.filter((x) => x.notRun === undefined)) {
    const where = `${b.page}:${b.line}`;
    test(where, async () => {
      const url = server.server.url;
      await callControl(url, ADMIN_TOKEN, 'POST', '/_snaplink/reset');
      runBlock(b, url, join(work, `${b.page.replace(/\W/g, '_')}_${b.line}`), {
        // `snaplink` is the built command, as after `npm link` (docs/cli.md says so).
        PATH: `${shims}:${process.env.PATH}`,
        SNAPLINK_URL: url,
        PUBLIC: KEYS.ownerP1.publicKey,
        PRIVATE: KEYS.ownerP1.privateKey,
        GROUP: P1,
        ORG: ORG_A,
        CLIENT_ID: SERVICE_ACCOUNTS.saOrgA.clientId,
        CLIENT_SECRET: SERVICE_ACCOUNTS.saOrgA.clientSecret,
        SNAPLINK_ADMIN_TOKEN: ADMIN_TOKEN,
        // `snaplink context` writes here, not in the home of whoever runs the tests.
        SNAPLINK_CONFIG: join(work, 'contexts.json'),
      });
    });
  }
});
