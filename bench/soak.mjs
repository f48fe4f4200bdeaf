// The soak: one `snaplink serve` under mixed traffic for a while — the four operations, API
// keys over Digest and service accounts over OAuth, faults firing (HTTP errors, latency,
// failed provisioning, lost endpoints), the virtual clock advancing — printing each minute the
// server's RSS, open file descriptors, event-loop delay (p99, from its own metrics) and the
// requests' p99, so that anything growing without bound shows.
//
//   npm run soak -- --minutes 30 [--database postgres://…] [--concurrency 16]
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AWS_REGIONS } from '../src/atlas/regions.ts';
import { AtlasClient } from '../src/client/index.ts';
import { freePort } from './servers.mjs';
import { KEY, PROJECTS, SA, writeSeed } from './world.mjs';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '30' }, database: { type: 'string' }, concurrency: { type: 'string', default: '16' } },
});
const minutes = Number(values.minutes);
const concurrency = Number(values.concurrency);
if (!(minutes > 0) || !(concurrency > 0)) throw new Error('usage: npm run soak -- --minutes N [--database URL] [--concurrency N]');

const ADMIN = 'soak-admin-token';
const dir = mkdtempSync(join(tmpdir(), 'snaplink-soak-'));
writeSeed(join(dir, 'seed.json'));
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const store = values.database ? ['--database', values.database] : ['--data-dir', dir];
const server = spawn(
  process.execPath,
  ['bin/snaplink.js', 'serve', '--port', String(port), ...store, '--seed', join(dir, 'seed.json'), '--admin-token', ADMIN, '--rate-limit', 'false', '--log-level', 'warn', '--auth-failure-limit', '0'],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
for (let up = false; !up; ) {
  if (server.exitCode !== null) throw new Error(`snaplink exited with ${server.exitCode}`);
  up = await fetch(`${url}/_snaplink/ready`).then((r) => r.ok, () => false);
  if (!up) await new Promise((r) => setTimeout(r, 50));
}

const control = (method, path, body) =>
  fetch(url + path, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) }).then((r) => r.status);

// A bounded world: 16 projects × 27 regions, so creates and deletes reach a steady state and
// whatever still grows is a leak.
const projects = PROJECTS.slice(0, 16);
const REGIONS = AWS_REGIONS;
const pick = (a) => a[Math.floor(Math.random() * a.length)];
const clients = [new AtlasClient({ baseUrl: url, ...KEY }), new AtlasClient({ baseUrl: url, ...SA })];

let window = { latencies: [], statuses: {} };
const known = new Map(); // id → project
const until = Date.now() + minutes * 60_000;

async function worker(i) {
  const client = clients[i % 2];
  while (Date.now() < until) {
    const r = Math.random();
    const groupId = pick(projects);
    const path = `/api/atlas/v2/groups/${groupId}/backup/AWS/privateEndpoints`;
    let res;
    const t = performance.now();
    try {
      if (r < 0.3) {
        res = await client.request('POST', path, { body: { cloudProvider: 'AWS', regionName: pick(REGIONS) } });
        if (res.status === 201) known.set(res.body.id, groupId);
      } else if (r < 0.6) {
        res = await client.request('GET', path);
      } else {
        const ids = [...known.keys()];
        const id = ids.length ? pick(ids) : '000000000000000000000000';
        const owner = known.get(id) ?? groupId;
        const item = `/api/atlas/v2/groups/${owner}/backup/AWS/privateEndpoints/${id}`;
        if (r < 0.85) res = await client.request('GET', item);
        else {
          res = await client.request('DELETE', item);
          if (res.status === 204 || res.status === 404) known.delete(id);
        }
      }
      window.latencies.push(performance.now() - t);
      window.statuses[res.status] = (window.statuses[res.status] ?? 0) + 1;
    } catch (err) {
      window.statuses[err.code ?? 'error'] = (window.statuses[err.code ?? 'error'] ?? 0) + 1;
    }
  }
}

// Faults and the clock, on a schedule: always a few firing, never piling up (each has a count).
const FAULTS = [
  { kind: 'HTTP_ERROR', operation: 'list', status: 503, errorCode: 'SERVICE_UNAVAILABLE', probability: 0.05, count: 50 },
  { kind: 'LATENCY', operation: 'get', latencyMs: 200, probability: 0.02, count: 20 },
  { kind: 'FAIL_PROVISIONING', probability: 0.1, count: 10 },
  { kind: 'LOSE_ENDPOINT', afterSeconds: 5, probability: 0.05, count: 5 },
];
let tick = 0;
const chores = setInterval(() => {
  tick++;
  void control('POST', '/_snaplink/clock/advance', { seconds: 30 }).catch(() => {});
  if (tick % 4 === 0) void control('POST', '/_snaplink/faults', { ...FAULTS[(tick / 4) % FAULTS.length], seed: tick }).catch(() => {});
  // Every 5 minutes a reset, as a test suite does between runs: fired-out faults go.
  if (tick % 60 === 0) void control('POST', '/_snaplink/reset').then(() => known.clear(), () => {});
}, 5_000);

const loopP99Ms = async () => {
  const text = await (await fetch(`${url}/_snaplink/metrics`)).text();
  const m = /^snaplink_nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text);
  return m ? Math.round(Number(m[1]) * 1000 * 10) / 10 : NaN;
};
const proc = (field) => Math.round(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) / 1024);

console.log(`soak: ${minutes} min, ${concurrency} clients (Digest and OAuth), ${values.database ? 'PostgreSQL' : 'SQLite'}, node ${process.version}`);
const started = Date.now();
console.log('| minutes | requests | p99 ms | answers | RSS MB | open fds | event-loop p99 ms |');
console.log('|---:|---:|---:|---|---:|---:|---:|');
let printed = 0;
const report = async () => {
  printed++;
  const w = window;
  window = { latencies: [], statuses: {} };
  w.latencies.sort((a, b) => a - b);
  const p99 = w.latencies.length ? Math.round(w.latencies[Math.floor(0.99 * (w.latencies.length - 1))]) : NaN;
  const answers = Object.entries(w.statuses).map(([s, n]) => `${s}:${n}`).join(' ');
  console.log(`| ${((Date.now() - started) / 60_000).toFixed(1)} | ${w.latencies.length.toLocaleString('en')} | ${p99} | ${answers} | ${proc('VmRSS')} | ${readdirSync(`/proc/${server.pid}/fd`).length} | ${await loopP99Ms()} |`);
};
const reporter = setInterval(() => void report(), Math.min(60_000, minutes * 60_000));
await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
clearInterval(reporter);
clearInterval(chores);
// The requests still in flight at the end are not a minute of their own; printed only when the
// run was too short for any line.
if (printed === 0) await report();
server.kill('SIGTERM');
await new Promise((r) => server.on('exit', r));
rmSync(dir, { recursive: true, force: true });
