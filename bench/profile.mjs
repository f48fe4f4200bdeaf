// npm run build && node --import tsx bench/profile.mjs [scenario regex] [seconds] [--threads] [-- serve options]
//
// Where a scenario's CPU goes: runs `snaplink serve` under --cpu-prof, drives one scenario of
// the bench at it, and prints the self time by function and by where the code lives (snaplink,
// Fastify, pino, better-sqlite3, Node's internals, …). What the bench's figures cannot say.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure, scenarios } from './scenarios.mjs';
import { cpuSeconds, prepareSnaplink } from './servers.mjs';
import { ensureTools } from './tools.mjs';
import { writeSeed } from './world.mjs';

const pattern = new RegExp(process.argv[2] ?? 'GET one \\(Bearer', 'i');
const seconds = Number(process.argv[3] ?? 8);
// `--threads`: only the split by thread, without the profiler (which costs CPU of its own).
const profiling = !process.argv.includes('--threads');
const dir = mkdtempSync(join(tmpdir(), 'snaplink-profile-'));
writeSeed(join(dir, 'seed.json'));
const port = 20000 + Math.floor(Math.random() * 20000);
const root = new URL('..', import.meta.url).pathname;
// Anything after `--` goes to `snaplink serve` (e.g. `-- --journal-size 0`).
const serveArgs = process.argv.includes('--') ? process.argv.slice(process.argv.indexOf('--') + 1) : [];
const proc = spawn(process.execPath, [...(profiling ? ['--cpu-prof', '--cpu-prof-dir', dir] : []), `${root}/bin/snaplink.js`, 'serve', '--port', String(port), '--data-dir', join(dir, 'data'), '--seed', join(dir, 'seed.json'), '--rate-limit', 'false', '--timings', 'realistic', ...serveArgs], { stdio: 'ignore' });
const url = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${url}/_snaplink/ready`)).ok) break;
  } catch {}
  if (i > 200) throw new Error('snaplink did not start');
  await new Promise((r) => setTimeout(r, 50));
}
const scenario = scenarios(await prepareSnaplink(url)).find((s) => pattern.test(s.name));
if (!scenario) throw new Error(`no scenario matches ${pattern}`);
console.error(`# ${scenario.name}, ${seconds} s`);
const threadsBefore = threadCpu(proc.pid);
const result = await measure(ensureTools().autocannon, url, scenario, { connections: 50, duration: seconds, cpu: () => cpuSeconds(proc.pid) });
const threadsAfter = threadCpu(proc.pid);
const answered = Object.values(result.codes).reduce((a, b) => a + b, 0);
console.error(`# ${Math.round(result.rps)} req/s, ${result.cpuUs} µs CPU / answer`);
// CPU per answer on the event loop and off it (libuv's pool and its fsyncs, V8's GC helpers, workers).
const byKind = new Map();
for (const [tid, { name, ticks }] of threadsAfter) byKind.set(name, (byKind.get(name) ?? 0) + ticks - (threadsBefore.get(tid)?.ticks ?? 0));
console.log(`## µs CPU / answer by thread\n${[...byKind].sort((a, b) => b[1] - a[1]).map(([name, ticks]) => `${((ticks / 100 / answered) * 1e6).toFixed(1).padStart(7)}  ${name}`).join('\n')}\n`);
proc.kill('SIGINT');
await once(proc, 'exit');
if (!profiling) process.exit(0);

const profile = JSON.parse(readFileSync(join(dir, readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))), 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (dt[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const area = (u) =>
  u === '' ? 'native/idle' : u.includes('/node_modules/') ? u.replace(/.*\/node_modules\/((@[^/]+\/)?[^/]+).*/, '$1') : u.startsWith('node:') ? 'node:' + u.slice(5).split('/')[0] : u.includes('/dist/') ? 'snaplink ' + u.replace(/.*\/dist\//, '') : u;
const fns = new Map();
const areas = new Map();
for (const [id, t] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const key = `${cf.functionName || '(anon)'} ${area(cf.url)}:${cf.lineNumber + 1}`;
  fns.set(key, (fns.get(key) ?? 0) + t);
  const a = cf.url === '' ? cf.functionName : area(cf.url);
  areas.set(a, (areas.get(a) ?? 0) + t);
}
// Inclusive time: each sample counts once for every distinct function on its stack.
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const keyOf = (n) => `${n.callFrame.functionName || '(anon)'} ${area(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
const inclusive = new Map();
for (const [id, t] of self) {
  const seen = new Set();
  for (let at = id; at !== undefined; at = parent.get(at)) seen.add(keyOf(byId.get(at)));
  for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + t);
}
const top = (m, k) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, t]) => `${((100 * t) / total).toFixed(1).padStart(5)} %  ${name}`).join('\n');
console.log(`## by area\n${top(areas, 25)}\n\n## by function (self)\n${top(fns, 45)}\n\n## by function (inclusive)\n${top(inclusive, 70)}`);

/** Each thread's name and CPU ticks (1/100 s) from /proc. */
function threadCpu(pid) {
  const threads = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = tid === String(pid) ? 'event loop' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[0-9]+$/, '') + ' (other threads: pool, GC, workers)';
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(tid, { name, ticks: Number(f[11]) + Number(f[12]) });
    } catch {}
  }
  return threads;
}
