// `npm run docs`: rewrites the generated references in the documentation from the one place
// each is declared — the options (src/config.ts), the errors in check order
// (src/atlas/errors.ts, CHECK_ORDER) and the metrics (src/metrics.ts). Each lives between
// `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` in a page; test/docs.test.ts fails
// when a page differs from what this would write.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command, Option } from 'commander';
import { CHECK_ORDER } from '../src/atlas/errors.js';
import { buildProgram } from '../src/cli/index.js';
import { serveOptions, storeOptions } from '../src/config.js';
import { Metrics } from '../src/metrics.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every documentation page, relative to the root: README, CONTRIBUTING and whatever is in docs/. */
export function docPages(): string[] {
  const docs = readdirSync(`${ROOT}docs`).filter((f) => f.endsWith('.md')).sort();
  return ['README.md', 'CONTRIBUTING.md', ...docs.map((f) => `docs/${f}`)];
}

const code = (s: string) => `\`${s}\``;
const cell = (s: string) => s.replace(/\|/g, '\\|');

function defaultOf(o: Option): string {
  const d = o.defaultValue as unknown;
  if (d === undefined) return '—';
  return code(Array.isArray(d) ? d.join(',') : String(d));
}

/** The commands besides serve that take the store's options, from the program itself. */
export function storeCommands(): string[] {
  const found: string[] = [];
  const walk = (c: Command, path: string[]) => {
    for (const s of c.commands) {
      const at = [...path, s.name()];
      if (s.name() !== 'serve' && (s.options as Option[]).some((o) => o.long === '--data-dir')) found.push(at.join(' '));
      walk(s, at);
    }
  };
  walk(buildProgram(), []);
  return found;
}

function optionsTable(options: Option[]): string {
  const rows = options.map((o) => `| ${code(o.flags)} | ${o.envVar ? code(o.envVar) : '—'} | ${defaultOf(o)} | ${cell(o.description)} |`);
  return ['| option | variable | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

const HEADER_NAMES: Record<string, string> = { 'www-authenticate': 'WWW-Authenticate', allow: 'Allow', 'retry-after': 'Retry-After' };

function errorsTable(): string {
  const rows = CHECK_ORDER.map((c) => {
    const e = c.example();
    const headers = Object.keys(e.headers).map((h) => code(HEADER_NAMES[h] ?? h));
    return `| ${c.step ?? '—'} | ${cell(c.when)} | ${e.status} | ${code(e.errorCode)} | ${headers.join(', ') || '—'} |`;
  });
  return ['| # | when | status | errorCode | headers |', '|---|---|---|---|---|', ...rows].join('\n');
}

async function metricsTable(): Promise<string> {
  const metrics = new Metrics(async () => ({}));
  // prom-client's own types leave out what every metric has: its label names and get().
  type Declared = { name: string; help: string; labelNames: readonly string[]; get(): Promise<{ type: string }> };
  const all = metrics.registry.getMetricsAsArray() as unknown as Declared[];
  const own = all.filter((m) => !/^snaplink_(process|nodejs)_/.test(m.name));
  const rows = await Promise.all(
    own.map(async (m) => {
      const { type } = await m.get();
      const labels = m.labelNames.map(code).join(', ') || '—';
      return `| ${code(m.name)} | ${type} | ${labels} | ${cell(m.help)} |`;
    }),
  );
  return [
    '| metric | type | labels | meaning |',
    '|---|---|---|---|',
    ...rows.sort(),
    '| `snaplink_process_*`, `snaplink_nodejs_*` | — | — | Node.js process metrics (prom-client defaults) |',
  ].join('\n');
}

/** What goes between each pair of markers. */
export async function generatedSections(): Promise<Record<string, string>> {
  return {
    options: optionsTable(serveOptions()),
    'store-options': `The other commands that open the store themselves (${storeCommands()
      .map((c) => code(`snaplink ${c}`))
      .join(', ')}) take ${storeOptions()
      .map((o) => code(o.flags))
      .join(', ')}, with the same variables and defaults.`,
    errors: errorsTable(),
    metrics: await metricsTable(),
  };
}

const MARKERS = /<!-- generated:([a-z-]+) -->\n[\s\S]*?<!-- \/generated:\1 -->/g;

/** The page with every generated section rewritten; throws on a marker naming nothing known. */
export function render(page: string, sections: Record<string, string>): string {
  return page.replace(MARKERS, (_whole, name: string) => {
    const body = sections[name];
    if (body === undefined) throw new Error(`unknown generated section "${name}"`);
    return `<!-- generated:${name} -->\n${body}\n<!-- /generated:${name} -->`;
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sections = await generatedSections();
  for (const page of docPages()) {
    const before = readFileSync(ROOT + page, 'utf8');
    const after = render(before, sections);
    if (after !== before) {
      writeFileSync(ROOT + page, after);
      console.log(`rewrote ${page}`);
    }
  }
}
