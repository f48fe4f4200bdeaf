import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { docPages, generatedSections, render, ROOT, storeCommands } from '../scripts/docs.js';
import { ADMIN_TOKEN, callControl, parseHttpAnswer, type SeededServer, spawnSeededServer, tempDir } from './support/harness.js';
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

interface Block {
  page: string;
  line: number;
  lang: string;
  text: string;
  /** Why it is not run, when it is marked so. */
  notRun?: string;
}

const SHELL = new Set(['sh', 'bash', 'shell']);
const NOT_RUN = /^# not run by the docs test: (.+)$/;

function blocks(page: string): Block[] {
  const text = read(page);
  const found: Block[] = [];
  for (const m of text.matchAll(/^```([^\n`]*)\n([\s\S]*?)^```[ \t]*$/gm)) {
    const lang = m[1]!.trim().split(/\s+/)[0] ?? '';
    const line = text.slice(0, m.index).split('\n').length;
    const body = m[2]!;
    const notRun = NOT_RUN.exec(body.split('\n')[0] ?? '')?.[1];
    found.push({ page, line, lang, text: body, notRun });
  }
  return found;
}

const shellBlocks = pages.flatMap(blocks).filter((b) => SHELL.has(b.lang));

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

// What every example runs inside: its curl calls are recorded (headers and body) in $DOCS_LOG,
// and `# → …` comments become checks of the last call made.
const PRELUDE = `set -euo pipefail
curl() {
  local n; n=$(( $(cat "$DOCS_LOG/n") + 1 )); echo "$n" > "$DOCS_LOG/n"
  command curl -D "$DOCS_LOG/$n.head" "$@" | tee "$DOCS_LOG/$n.body"
}
__expect() { printf '%s\\t%s\\n' "$(cat "$DOCS_LOG/n")" "$1" >> "$DOCS_LOG/expect"; }
`;

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The example as it runs: the server's address, and `# → …` comments turned into checks. */
function script(b: Block, url: string): string {
  const lines = b.text.replaceAll('http://127.0.0.1:8080', url).split('\n');
  const out = lines.map((l) => {
    const own = /^\s*# → (.*)$/.exec(l);
    if (own) return `__expect ${quote(own[1]!)}`;
    const trailing = /^(.*\S)\s+# → (.*)$/.exec(l);
    if (trailing && !trailing[1]!.trimStart().startsWith('#')) return `${trailing[1]}\n__expect ${quote(trailing[2]!)}`;
    return l;
  });
  return PRELUDE + out.join('\n') + '\n';
}

/** Compares an answer with what the doc shows: the status, and the body's keys and spelled-out values. */
function compare(where: string, spec: string, status: number, text: string): void {
  const m = /^(\d{3})(?:\s+(.+))?$/.exec(spec.trim());
  assert.ok(m, `${where}: an expected answer is "# → <status>" or "# → <status> <json>", not "${spec}"`);
  assert.equal(status, Number(m[1]), `${where}: status (body: ${text.slice(0, 300)})`);
  if (m[2] === undefined) return;
  let expected: unknown;
  try {
    expected = JSON.parse(m[2].replace(/(?<!")…(?!")/g, 'null'));
  } catch {
    assert.fail(`${where}: the shown answer is not JSON ("…" may stand for any value): ${m[2]}`);
  }
  const actual = JSON.parse(text) as unknown;
  shape(where, expected, actual, '');
}

function shape(where: string, expected: unknown, actual: unknown, path: string): void {
  if (expected === null || expected === '…') return;
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${where}: ${path || 'the body'} should be an array`);
    return;
  }
  if (typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object' && !Array.isArray(actual), `${where}: ${path || 'the body'} should be an object`);
    const a = actual as Record<string, unknown>;
    assert.deepEqual(Object.keys(a).sort(), Object.keys(expected).sort(), `${where}: the keys of ${path || 'the body'}`);
    for (const [k, v] of Object.entries(expected)) shape(where, v, a[k], `${path}.${k}`);
    return;
  }
  assert.equal(actual, expected, `${where}: ${path}`);
}

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
      const log = join(work, `${b.page.replace(/\W/g, '_')}_${b.line}`);
      mkdirSync(log, { recursive: true });
      writeFileSync(join(log, 'n'), '0');
      const r = spawnSync('bash', ['-c', script(b, url)], {
        cwd: log,
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          // `snaplink` is the built command, as after `npm link` (docs/cli.md says so).
          PATH: `${shims}:${process.env.PATH}`,
          SNAPLINK_URL: url,
          HOME: process.env.HOME,
          LANG: process.env.LANG ?? 'C.UTF-8',
          DOCS_LOG: log,
          PUBLIC: KEYS.ownerP1.publicKey,
          PRIVATE: KEYS.ownerP1.privateKey,
          GROUP: P1,
          ORG: ORG_A,
          CLIENT_ID: SERVICE_ACCOUNTS.saOrgA.clientId,
          CLIENT_SECRET: SERVICE_ACCOUNTS.saOrgA.clientSecret,
          SNAPLINK_ADMIN_TOKEN: ADMIN_TOKEN,
          // `snaplink context` writes here, not in the home of whoever runs the tests.
          SNAPLINK_CONFIG: join(work, 'contexts.json'),
        },
      });
      assert.equal(r.status, 0, `${where} exited ${r.status ?? r.signal}:\n${r.stderr}\n${r.stdout.slice(-2000)}`);
      const expectations = existsSync(join(log, 'expect')) ? readFileSync(join(log, 'expect'), 'utf8').trim().split('\n') : [];
      for (const e of expectations) {
        const [n, spec] = e.split('\t') as [string, string];
        assert.notEqual(n, '0', `${where}: "# → ${spec}" comes before any curl call`);
        const head = readFileSync(join(log, `${n}.head`), 'utf8');
        const answer = parseHttpAnswer(head, readFileSync(join(log, `${n}.body`), 'utf8'));
        compare(`${where} (curl call ${n})`, spec, answer.status, answer.text);
      }
    });
  }
});
