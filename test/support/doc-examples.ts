import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHttpAnswer } from './harness.js';

// The documentation's shell examples as the tests run them (CONTRIBUTING.md, "Examples that
// run"): found in a page, run with bash against a server, their curl calls recorded, and each
// `# → <status> <json>` comment checked against the answer of the curl before it.

export interface Block {
  page: string;
  line: number;
  lang: string;
  text: string;
  /** Why it is not run, when it is marked so. */
  notRun?: string;
}

export const SHELL = new Set(['sh', 'bash', 'shell']);
const NOT_RUN = /^# not run by the docs test: (.+)$/;

/** The code blocks of a page (its text given). */
export function blocks(page: string, text: string): Block[] {
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
export function script(b: Block, url: string): string {
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

/** What the Node.js this run is on needs in every process it starts (test/run.ts, test/setup/node.sh). */
function nodeEnvironment(): Record<string, string> {
  const names = ['NODE_OPTIONS', 'SNAPLINK_TEST_SQLITE_BINDING', 'SNAPLINK_TEST_SQLITE_ABI', 'npm_config_nodedir'];
  return Object.fromEntries(names.flatMap((n) => (process.env[n] === undefined ? [] : [[n, process.env[n]!]])));
}

/**
 * Runs one example with bash against the server at `url`, in `cwd` (by default `dir`, where its
 * calls are recorded), with `env` and nothing else of this process's environment but HOME,
 * LANG and what its Node.js needs; then checks its `# →` comments.
 */
export function runBlock(b: Block, url: string, dir: string, env: Record<string, string>, cwd = dir): void {
  const where = `${b.page}:${b.line}`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'n'), '0');
  const r = spawnSync('bash', ['-c', script(b, url)], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...nodeEnvironment(), HOME: process.env.HOME!, LANG: process.env.LANG ?? 'C.UTF-8', DOCS_LOG: dir, ...env },
  });
  assert.equal(r.status, 0, `${where} exited ${r.status ?? r.signal}:\n${r.stderr}\n${r.stdout.slice(-2000)}`);
  const expectations = existsSync(join(dir, 'expect')) ? readFileSync(join(dir, 'expect'), 'utf8').trim().split('\n') : [];
  for (const e of expectations) {
    const [n, spec] = e.split('\t') as [string, string];
    assert.notEqual(n, '0', `${where}: "# → ${spec}" comes before any curl call`);
    const head = readFileSync(join(dir, `${n}.head`), 'utf8');
    const answer = parseHttpAnswer(head, readFileSync(join(dir, `${n}.body`), 'utf8'));
    compare(`${where} (curl call ${n})`, spec, answer.status, answer.text);
  }
}
