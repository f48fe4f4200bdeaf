// npm run bench [-- --quick] [-- --database postgres://…] [-- --skip-scale] [-- --against <git ref>] [-- --rounds n]
//
// Starts each server in its own process — the limit (a bare node:http server answering a
// constant endpoint), the peer (Stoplight Prism mocking MongoDB's official spec) and snaplink
// — drives each with autocannon, and prints one table with every snaplink figure beside the
// limit's and Prism's measured in the same run: requests/s, latency, and the server's own CPU
// time per answer (from /proc), which the load generator sharing the machine does not blur.
// `--against <ref>` also runs snaplink as built from that commit, interleaved with this one, so
// a change is judged A/B in one run; `--rounds n` repeats every measurement n times,
// interleaved, and reports medians. Then the scale scenario.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
// TypeScript through tsx (npm run bench starts node with it): the one place that finds the spec.
import { locateOfficialSpec, ORACLE_OFF_NOTICE, repairPublishedDefects } from '../test/support/atlas-spec.ts';
import { dropDatabaseNamed } from '../test/support/stores.ts';
import { runScale, sqliteStores } from './scale.mjs';
import { measure, scenarios, sequential } from './scenarios.mjs';
import { prepareSnaplink, startLimit, startPrism, startSnaplink } from './servers.mjs';
import { CACHE, ensureTools } from './tools.mjs';
import { PROJECTS, writeSeed } from './world.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const databaseUrl = argv.includes('--database') ? argv[argv.indexOf('--database') + 1] : process.env.SNAPLINK_BENCH_DATABASE_URL;
const skipScale = argv.includes('--skip-scale');
const against = argv.includes('--against') ? argv[argv.indexOf('--against') + 1] : undefined;
// For quicker A/B runs while working on one scenario: `--only <regex>` picks scenarios, `--no-prism` leaves the peer out.
const only = argv.includes('--only') ? new RegExp(argv[argv.indexOf('--only') + 1], 'i') : undefined;
const noPrism = argv.includes('--no-prism');
const ROUNDS = argv.includes('--rounds') ? Number(argv[argv.indexOf('--rounds') + 1]) : 1;
const ROOT = new URL('..', import.meta.url).pathname;
const CONNECTIONS = 50;
const DURATION = argv.includes('--duration') ? Number(argv[argv.indexOf('--duration') + 1]) : quick ? 1 : 10;
const WARMUP = quick ? 0.5 : 3;
const log = (s) => console.error(s);

/**
 * Prism mocks the official spec, its published defects repaired as DESIGN.md says (so it
 * accepts plain-string regions). Without the spec (a clone without ../shared and without
 * `npm run fetch-spec`) there is no Prism column, and the bench says so.
 */
function normalizedSpec() {
  const location = locateOfficialSpec();
  if (!location) return undefined;
  const file = join(CACHE, 'atlas-spec.normalized.json');
  writeFileSync(file, JSON.stringify(repairPublishedDefects(JSON.parse(readFileSync(location.path, 'utf8')))));
  return file;
}

/** A fresh store per run: a temp dir, or a new database on the given PostgreSQL server. */
function storeFactory() {
  if (!databaseUrl) return sqliteStores();
  return async () => {
    const name = `snaplink_bench_${Math.random().toString(16).slice(2, 10)}`;
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(databaseUrl);
    u.pathname = `/${name}`;
    return {
      storeOptions: { databaseUrl: u.toString() },
      args: ['--database', u.toString()],
      cleanup: () => dropDatabaseNamed(name, databaseUrl),
    };
  };
}


/**
 * snaplink as committed at `ref`, built once into the bench cache (a commit's build never
 * changes): its files from `git archive` (the repository itself is left alone), this
 * checkout's node_modules, its own `npm run build`.
 */
function buildRef(ref) {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dir = join(CACHE, 'builds', sha);
  if (existsSync(join(dir, 'dist', 'cli', 'index.js'))) return { sha, dir };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log(`# building ${ref} (${sha.slice(0, 7)}) in ${dir}`);
  execFileSync('sh', ['-c', `git archive ${sha} | tar -x -C '${tmp}'`], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(tmp, 'node_modules'));
  // The commit's own build script (since the dashboard, more than tsc).
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { sha, dir };
}

const median = (xs) => {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

/** The median of each figure over the rounds; status codes and errors added up. */
function combine(runs) {
  const codes = {};
  for (const r of runs) for (const [c, n] of Object.entries(r.codes)) codes[c] = (codes[c] ?? 0) + n;
  return {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    cpuUs: median(runs.map((r) => r.cpuUs)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    codes,
    ...(runs.length > 1 ? { cpuUsRuns: runs.map((r) => r.cpuUs) } : {}),
  };
}

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d }) : '—');

async function main() {
  const { autocannon, prismBin } = ensureTools();
  const started = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'snaplink-bench-'));
  mkdirSync(CACHE, { recursive: true });
  const seed = join(work, 'seed.json');
  writeSeed(seed);
  const newStore = storeFactory();
  const store = await newStore();
  const limit = await startLimit();
  const specFile = noPrism ? undefined : normalizedSpec();
  if (!specFile && !noPrism) log(`# Prism is not measured: ${ORACLE_OFF_NOTICE}`);
  const prism = specFile ? await startPrism(prismBin, specFile) : undefined;
  const snaplink = await startSnaplink([...store.args, '--seed', seed, '--rate-limit', 'false', '--timings', 'realistic']);
  const base = against && buildRef(against);
  const baseStore = base && (await newStore());
  const baseline = base && (await startSnaplink([...baseStore.args, '--seed', seed, '--rate-limit', 'false', '--timings', 'realistic'], [], base.dir));
  const BASE = base && `snaplink@${against}`;
  // The request journal's cost (issue 12): GET one again on a server with it turned off.
  const JOURNAL_OFF = 'snaplink, journal off';
  const journalStore = await newStore();
  const journalOff = await startSnaplink([...journalStore.args, '--seed', seed, '--rate-limit', 'false', '--timings', 'realistic', '--journal-size', '0']);
  const rows = [];
  try {
    const fake = { bearer: 'x', nonce: 'bench', getOne: { project: PROJECTS[0], id: '6650f0c0a1b2c3d4e5f6aaaa' }, listProject: PROJECTS[0] };
    const targets = [
      ['limit', limit, scenarios(fake)],
      ...(prism ? [['prism', prism, scenarios(fake)]] : []),
      ['snaplink', snaplink, scenarios(await prepareSnaplink(snaplink.url))],
      ...(baseline ? [[BASE, baseline, scenarios(await prepareSnaplink(baseline.url))]] : []),
      [JOURNAL_OFF, journalOff, scenarios(await prepareSnaplink(journalOff.url)), /^GET one \(Bearer/],
    ];
    for (let i = 0; i < targets[0][2].length; i++) {
      const row = { scenario: targets[0][2][i].name, sequential: targets[0][2][i].sequential === true };
      if (only && !only.test(row.scenario)) continue;
      const here = targets.filter(([, , , onlyFor]) => !onlyFor || onlyFor.test(row.scenario));
      const runs = Object.fromEntries(here.map(([name]) => [name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, server, list] of here) {
          const scenario = list[i];
          const run = (duration, cpu) => (scenario.sequential ? sequential(server.url, scenario, { duration, cpu }) : measure(autocannon, server.url, scenario, { connections: CONNECTIONS, duration, cpu }));
          if (round === 0) await run(WARMUP); // warm-up (JIT), the same for every server
          runs[name].push(await run(DURATION, server.cpu));
          log(`# ${row.scenario} — ${name}${ROUNDS > 1 ? ` (round ${round + 1})` : ''}: ${JSON.stringify(runs[name].at(-1))}`);
        }
      }
      for (const [name] of here) row[name] = combine(runs[name]);
      rows.push(row);
    }
  } finally {
    await Promise.all([limit.stop(), prism?.stop(), snaplink.stop(), baseline?.stop(), journalOff.stop()]);
    await store.cleanup();
    await journalStore.cleanup();
    await baseStore?.cleanup();
  }

  const scale = skipScale
    ? []
    : await runScale({ autocannon, sizes: quick ? [10_000, 50_000] : [10_000, 1_000_000], connections: CONNECTIONS, duration: quick ? 1 : 5, warmup: WARMUP, storeFor: newStore, log });
  rmSync(work, { recursive: true, force: true });

  const out = [];
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}`;
  out.push(
    `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}; store ${databaseUrl ? 'PostgreSQL' : 'SQLite'}; ${DURATION} s per run after a ${WARMUP} s warm-up${ROUNDS > 1 ? `, medians of ${ROUNDS} interleaved rounds` : ''}${quick ? ' (quick mode)' : ''}; snaplink at ${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim()}${base ? `, ${BASE} at ${base.sha.slice(0, 7)}` : ''}. CPU per answer: the server process's user + system time over the run (/proc) ÷ the answers it gave.`,
    '',
  );
  const ms = (n) => fmt(n, n < 1 ? 3 : 1);
  const times = (a, b) => `${fmt(a / b, 1)}×`;
  const loaded = rows.filter((r) => !r.sequential);
  out.push(`| scenario (${CONNECTIONS} connections) | snaplink req/s | p50 ms | p99 ms | snaplink µs CPU / answer | limit req/s | limit µs | Prism req/s | Prism µs | CPU ÷ limit's | req/s ÷ Prism's |`);
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of loaded) {
    const bad = Object.entries(r.snaplink.codes).filter(([c]) => !c.startsWith('2'));
    out.push(
      `| ${r.scenario} | ${fmt(r.snaplink.rps)} | ${ms(r.snaplink.p50)} | ${ms(r.snaplink.p99)} | ${fmt(r.snaplink.cpuUs, 1)} | ${fmt(r.limit.rps)} | ${fmt(r.limit.cpuUs, 1)} | ${fmt(r.prism?.rps)} | ${fmt(r.prism?.cpuUs, 1)} | ${times(r.snaplink.cpuUs, r.limit.cpuUs)} | ${fmt(r.snaplink.rps / r.prism?.rps, 1)}× |` +
        (bad.length || r.snaplink.errors ? ` ⚠ ${JSON.stringify(Object.fromEntries(bad))} errors ${r.snaplink.errors}` : ''),
    );
  }
  const seq = rows.find((r) => r.sequential);
  if (seq) {
    out.push('', `| ${seq.scenario} | p50 ms | p99 ms | req/s | µs CPU / answer | p50 ÷ limit's |`, '|---|---:|---:|---:|---:|---:|');
    for (const name of ['limit', 'prism', 'snaplink', BASE].filter((n) => n && seq[n])) {
      const m = seq[name];
      out.push(`| ${name === 'prism' ? 'Prism' : name} | ${ms(m.p50)} | ${ms(m.p99)} | ${fmt(m.rps)} | ${fmt(m.cpuUs, 1)} | ${times(m.p50, seq.limit.p50)} |`);
    }
  }
  if (BASE) {
    out.push('', `| A/B: µs CPU / answer | ${BASE} | snaplink (this checkout) | change | req/s, ${BASE} | req/s, this checkout |`, '|---|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      out.push(`| ${r.scenario} | ${fmt(r[BASE].cpuUs, 1)} | ${fmt(r.snaplink.cpuUs, 1)} | ${fmt((r.snaplink.cpuUs / r[BASE].cpuUs - 1) * 100)} % | ${fmt(r[BASE].rps)} | ${fmt(r.snaplink.rps)} |`);
    }
  }
  const journaled = rows.find((r) => r[JOURNAL_OFF]);
  if (journaled) {
    const on = journaled.snaplink;
    const off = journaled[JOURNAL_OFF];
    out.push('', `| the request journal, ${journaled.scenario} | µs CPU / answer | req/s | p99 ms |`, '|---|---:|---:|---:|');
    out.push(`| on (as shipped) | ${fmt(on.cpuUs, 1)} | ${fmt(on.rps)} | ${ms(on.p99)} |`, `| off (--journal-size 0) | ${fmt(off.cpuUs, 1)} | ${fmt(off.rps)} | ${ms(off.p99)} |`);
    out.push(`| cost of the journal | ${fmt((on.cpuUs / off.cpuUs - 1) * 100)} % | | |`);
  }
  if (scale.length) {
    const [small, big] = scale;
    out.push('', `| at scale (${fmt(small.size)} → ${fmt(big.size)} endpoints) | p99 ms, ${fmt(small.size)} | p99 ms, ${fmt(big.size)} | ratio | req/s, ${fmt(big.size)} |`, '|---|---:|---:|---:|---:|');
    for (const name of Object.keys(small.scenarios)) {
      const a = small.scenarios[name];
      const b = big.scenarios[name];
      out.push(`| ${name} | ${fmt(a.p99, 1)} | ${fmt(b.p99, 1)} | ${fmt(b.p99 / a.p99, 2)} | ${fmt(b.rps)} |`);
    }
    out.push('', `Start-up with ${fmt(big.size)} endpoints: ${fmt(big.startupMs)} ms (${fmt(small.size)}: ${fmt(small.startupMs)} ms); RSS after the runs: ${fmt(big.rssMb)} MB (${fmt(small.rssMb)} MB).`);
  }
  const get = rows.find((r) => r.scenario.startsWith('GET one (Bearer'));
  const create = rows.find((r) => r.scenario.startsWith('create'));
  const list = rows.find((r) => r.scenario.startsWith('list'));
  const checks = [
    ['GET one: CPU per answer ≤ 3.0× the limit\'s', get && get.snaplink.cpuUs <= 3 * get.limit.cpuUs],
    ...(seq ? [['1 connection, GET one: p50 ≤ 2× the limit\'s', seq.snaplink.p50 <= 2 * seq.limit.p50]] : []),
    ...(BASE
      ? [
          [`create + delete pairs: CPU per answer ≥ 35 % below ${BASE}'s`, create && create.snaplink.cpuUs <= 0.65 * create[BASE].cpuUs],
          [`list, page of 100: CPU per answer ≥ 35 % below ${BASE}'s`, list && list.snaplink.cpuUs <= 0.65 * list[BASE].cpuUs],
        ]
      : []),
    ['GET one ≥ 60 % of the limit\'s requests/s', get && get.snaplink.rps / get.limit.rps >= 0.6],
    ...(prism && loaded.length === 4 ? [['every scenario ≥ 20× Prism\'s requests/s', loaded.every((r) => r.snaplink.rps / r.prism.rps >= 20)]] : []),
    ['create p99 < 10 ms at 50 connections (create+delete pairs)', create && create.snaplink.p99 < 10],
  ];
  if (scale.length === 2 && scale[1].size >= 1_000_000) {
    checks.push(['RSS < 200 MB at 1M endpoints', scale[1].rssMb < 200]);
    checks.push(['p99 at 1M within 1.5× of 10k', Object.keys(scale[0].scenarios).every((n) => scale[1].scenarios[n].p99 <= 1.5 * scale[0].scenarios[n].p99)]);
  }
  out.push('', ...checks.filter(([, ok]) => ok !== undefined).map(([what, ok]) => `- ${ok ? 'met' : 'NOT met'}: ${what}`));
  out.push('', `(${fmt((performance.now() - started) / 1000)} s in all.)`);
  const text = out.join('\n');
  console.log(text);
  const resultsDir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(resultsDir, { recursive: true });
  const name = `${quick ? 'quick' : 'latest'}${databaseUrl ? '-postgres' : ''}${against ? '-ab' : ''}`;
  writeFileSync(join(resultsDir, `${name}.md`), `${text}\n`);
  writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify({ date: new Date().toISOString(), machine, store: databaseUrl ? 'postgres' : 'sqlite', against: base?.sha, rows, scale }, null, 2)}\n`);
  // Figures measured on error answers mean nothing: more than 1 % of them fails the run (a few
  // are expected — in the Digest scenario autocannon replays a request after a reconnect).
  const measured = [...rows.flatMap((r) => [[r.scenario, r.snaplink], ...(BASE ? [[`${r.scenario} (${BASE})`, r[BASE]]] : [])]), ...scale.flatMap((s) => Object.entries(s.scenarios).map(([n, m]) => [`${n} at ${fmt(s.size)}`, m]))];
  const broken = measured.filter(([, m]) => {
    const all = Object.values(m.codes).reduce((a, b) => a + b, 0) + m.errors;
    const bad = Object.entries(m.codes).filter(([c]) => !c.startsWith('2')).reduce((a, [, n]) => a + n, 0) + m.errors;
    return all === 0 || bad / all > 0.01;
  });
  if (broken.length > 0) {
    console.error(`# snaplink answered errors in: ${broken.map(([n, m]) => `${n} ${JSON.stringify(m.codes)} errors ${m.errors}`).join('; ')}`);
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
