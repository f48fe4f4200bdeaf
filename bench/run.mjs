// npm run bench [-- --quick] [-- --database postgres://…] [-- --skip-scale]
//
// Starts each server in its own process — the limit (a bare node:http server answering a
// constant endpoint), the peer (Stoplight Prism mocking MongoDB's official spec) and snaplink
// — drives each with autocannon, and prints one table with every snaplink figure as a ratio to
// the limit and to Prism measured in the same run. Then the scale scenario.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
// TypeScript through tsx (npm run bench starts node with it): the one place that finds the spec.
import { locateOfficialSpec, ORACLE_OFF_NOTICE, repairPublishedDefects } from '../test/support/atlas-spec.ts';
import { runScale, sqliteStores } from './scale.mjs';
import { collection, measure, PAIRS, scenarios, V } from './scenarios.mjs';
import { startLimit, startPrism, startSnaplink } from './servers.mjs';
import { CACHE, ensureTools } from './tools.mjs';
import { PROJECTS, SA, writeSeed } from './world.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const databaseUrl = argv.includes('--database') ? argv[argv.indexOf('--database') + 1] : process.env.SNAPLINK_BENCH_DATABASE_URL;
const skipScale = argv.includes('--skip-scale');
const CONNECTIONS = 50;
const DURATION = quick ? 1 : 10;
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
      cleanup: async () => {
        const c = new pg.Client({ connectionString: databaseUrl });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  };
}

async function prepareSnaplink(url) {
  const token = (
    await (
      await fetch(`${url}/api/oauth/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${SA.clientId}:${SA.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      })
    ).json()
  ).access_token;
  const headers = { accept: V, authorization: `Bearer ${token}`, 'content-type': V };
  // A project of 100 endpoints for the list; its first one for GET one.
  const ids = [];
  for (const pair of PAIRS.slice(0, 100)) {
    const res = await fetch(url + collection(PROJECTS[0]), { method: 'POST', headers, body: JSON.stringify({ cloudProvider: 'AWS', ...pair }) });
    ids.push((await res.json()).id);
  }
  const challenge = await fetch(url + collection(PROJECTS[0]), { headers: { accept: V } });
  const nonce = /nonce="([^"]+)"/.exec(challenge.headers.get('www-authenticate'))[1];
  return { bearer: token, nonce, getOne: { project: PROJECTS[0], id: ids[0] }, listProject: PROJECTS[0], projects: PROJECTS.slice(1) };
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
  const specFile = normalizedSpec();
  if (!specFile) log(`# Prism is not measured: ${ORACLE_OFF_NOTICE}`);
  const prism = specFile ? await startPrism(prismBin, specFile) : undefined;
  const snaplink = await startSnaplink([...store.args, '--seed', seed, '--rate-limit', 'false', '--timings', 'realistic']);
  const rows = [];
  try {
    const fake = { bearer: 'x', nonce: 'bench', getOne: { project: PROJECTS[0], id: '6650f0c0a1b2c3d4e5f6aaaa' }, listProject: PROJECTS[0] };
    const targets = [
      ['limit', limit.url, scenarios(fake)],
      ...(prism ? [['prism', prism.url, scenarios(fake)]] : []),
      ['snaplink', snaplink.url, scenarios(await prepareSnaplink(snaplink.url))],
    ];
    for (let i = 0; i < targets[0][2].length; i++) {
      const row = { scenario: targets[0][2][i].name };
      for (const [name, url, list] of targets) {
        await measure(autocannon, url, list[i], { connections: CONNECTIONS, duration: WARMUP }); // warm-up (JIT), the same for every server
        row[name] = await measure(autocannon, url, list[i], { connections: CONNECTIONS, duration: DURATION });
        log(`# ${row.scenario} — ${name}: ${JSON.stringify(row[name])}`);
      }
      rows.push(row);
    }
  } finally {
    await Promise.all([limit.stop(), prism?.stop(), snaplink.stop()]);
    await store.cleanup();
  }

  const scale = skipScale
    ? []
    : await runScale({ autocannon, sizes: quick ? [10_000, 50_000] : [10_000, 1_000_000], connections: CONNECTIONS, duration: quick ? 1 : 5, warmup: WARMUP, storeFor: newStore, log });
  rmSync(work, { recursive: true, force: true });

  const out = [];
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}`;
  out.push(`Measured ${new Date().toISOString().slice(0, 10)} on ${machine}; store ${databaseUrl ? 'PostgreSQL' : 'SQLite'}; ${CONNECTIONS} connections, ${DURATION} s per run${quick ? ' (quick mode)' : ''}.`, '');
  out.push('| scenario | snaplink req/s | p50 ms | p99 ms | limit req/s | Prism req/s | snaplink ÷ limit | snaplink ÷ Prism |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const bad = Object.entries(r.snaplink.codes).filter(([c]) => !c.startsWith('2'));
    out.push(
      `| ${r.scenario} | ${fmt(r.snaplink.rps)} | ${fmt(r.snaplink.p50, 1)} | ${fmt(r.snaplink.p99, 1)} | ${fmt(r.limit.rps)} | ${fmt(r.prism?.rps)} | ${fmt((r.snaplink.rps / r.limit.rps) * 100)} % | ${fmt(r.snaplink.rps / r.prism?.rps, 1)}× |` +
        (bad.length || r.snaplink.errors ? ` ⚠ ${JSON.stringify(Object.fromEntries(bad))} errors ${r.snaplink.errors}` : ''),
    );
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
  const checks = [
    ['GET one ≥ 60 % of the limit', get && get.snaplink.rps / get.limit.rps >= 0.6],
    ...(prism ? [['every scenario ≥ 20× Prism', rows.every((r) => r.snaplink.rps / r.prism.rps >= 20)]] : []),
    ['create p99 < 10 ms at 50 connections (create+delete pairs)', create && create.snaplink.p99 < 10],
  ];
  if (scale.length === 2 && scale[1].size >= 1_000_000) {
    checks.push(['RSS < 200 MB at 1M endpoints', scale[1].rssMb < 200]);
    checks.push(['p99 at 1M within 1.5× of 10k', Object.keys(scale[0].scenarios).every((n) => scale[1].scenarios[n].p99 <= 1.5 * scale[0].scenarios[n].p99)]);
  }
  out.push('', ...checks.map(([what, ok]) => `- ${ok ? 'met' : 'NOT met'}: ${what}`));
  out.push('', `(${fmt((performance.now() - started) / 1000)} s in all.)`);
  const text = out.join('\n');
  console.log(text);
  const resultsDir = new URL('./results/', import.meta.url).pathname;
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, quick ? 'quick.md' : 'latest.md'), `${text}\n`);
  // Figures measured on error answers mean nothing: more than 1 % of them fails the run (a few
  // are expected — in the Digest scenario autocannon replays a request after a reconnect).
  const measured = [...rows.map((r) => [r.scenario, r.snaplink]), ...scale.flatMap((s) => Object.entries(s.scenarios).map(([n, m]) => [`${n} at ${fmt(s.size)}`, m]))];
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
