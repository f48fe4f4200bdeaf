// A disk that fills up under load and is freed again: one `snaplink serve` with its SQLite store
// on a small tmpfs (64 MB), clients creating, deleting and reading endpoints all the while, and endpoint
// transitions falling due every second. The disk is filled a third of the way through and freed
// at two thirds. Printed per phase: the reads, how many failed (any answer but 200 or 404) and
// how many showed a change that was then undone (an endpoint answering 404, later 200); the
// writes acknowledged and refused (507). At the end the server is restarted and every
// acknowledged create not acknowledged deleted must be there: the lost ones are counted.
//
//   npm run soak:full-disk -- --seconds 60 [--concurrency 16]      (as root: it mounts a tmpfs)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AWS_REGIONS } from '../src/atlas/regions.ts';
import { AtlasClient } from '../src/client/index.ts';
import { fillDisk } from '../test/support/disk.ts';
import { freePort } from './servers.mjs';
import { PROJECTS, SA, writeSeed } from './world.mjs';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, concurrency: { type: 'string', default: '16' } } });
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
if (!(seconds >= 9) || !(concurrency > 0)) throw new Error('usage: npm run soak:full-disk -- --seconds N (at least 9) [--concurrency N]');

const dir = mkdtempSync(join(tmpdir(), 'snaplink-full-soak-'));
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', dir], { stdio: 'pipe' });
} catch (err) {
  rmSync(dir, { recursive: true, force: true });
  console.error(`cannot mount a small tmpfs (${String(err.stderr ?? err).trim()}): a real full disk needs root or CAP_SYS_ADMIN`);
  process.exit(2);
}
const seed = join(tmpdir(), `snaplink-full-soak-seed-${process.pid}.json`);
writeSeed(seed);
const projects = PROJECTS.slice(0, 8);

async function start() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ['bin/snaplink.js', 'serve', '--port', String(port), '--data-dir', join(dir, 'data'), '--seed', seed, '--rate-limit', 'false', '--log-level', 'warn', '--journal-size', '2000'];
  const proc = spawn(process.execPath, [...args, '--hold-initiating', '1', '--hold-pending-acceptance', '1', '--hold-deleting', '1'], { stdio: ['ignore', 'inherit', 'inherit'] });
  for (let up = false; !up; ) {
    if (proc.exitCode !== null) throw new Error(`snaplink exited with ${proc.exitCode}`);
    up = await fetch(`${url}/_snaplink/ready`).then((r) => r.ok, () => false);
    if (!up) await new Promise((r) => setTimeout(r, 50));
  }
  return { url, proc, stop: () => new Promise((r) => (proc.kill('SIGTERM'), proc.on('exit', r))) };
}

let server;
// Whatever fails, nothing is left running or mounted.
const cleanUp = () => {
  if (server?.proc.exitCode === null) server.proc.kill('SIGKILL');
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  } catch {
    // Not mounted any more.
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(seed, { force: true });
};
process.on('exit', cleanUp);
server = await start();
const client = new AtlasClient({ baseUrl: server.url, ...SA });
const pick = (a) => a[Math.floor(Math.random() * a.length)];
const path = (groupId, id) => `/api/atlas/v2/groups/${groupId}/backup/AWS/privateEndpoints${id ? `/${id}` : ''}`;

const created = new Map(); // id → project, acknowledged with 201
const deleted = new Set(); // acknowledged with 204
const gone = new Set(); // answered 404 once
const phases = ['room', 'full', 'room again'].map((name) => ({ name, reads: 0, failedReads: 0, undone: 0, writes: 0, refused: 0, other: 0 }));
let phase = phases[0];
const until = Date.now() + seconds * 1000;

async function worker() {
  while (Date.now() < until) {
    const r = Math.random();
    const groupId = pick(projects);
    const ids = [...created.keys()].filter((id) => !deleted.has(id));
    try {
      if (r < 0.25) {
        // Up to 27 × 27 endpoints a project: the store keeps growing, so writes need new pages while the disk is full.
        const res = await client.request('POST', path(groupId), { body: { cloudProvider: 'AWS', regionName: pick(AWS_REGIONS), vpcRegionName: pick(AWS_REGIONS) } });
        if (res.status === 201) (phase.writes++, created.set(res.body.id, groupId));
        else if (res.status === 507) phase.refused++;
        else if (res.status !== 409) phase.other++;
      } else if (r < 0.35 && ids.length > 0) {
        const id = pick(ids);
        const res = await client.request('DELETE', path(created.get(id), id));
        if (res.status === 204) (phase.writes++, deleted.add(id));
        else if (res.status === 507) phase.refused++;
        else phase.other++;
      } else {
        const id = ids.length > 0 && r < 0.8 ? pick([...created.keys()]) : undefined;
        const res = await client.request('GET', id ? path(created.get(id), id) : path(groupId));
        phase.reads++;
        if (res.status !== 200 && res.status !== 404) phase.failedReads++;
        if (id && res.status === 404) gone.add(id);
        if (id && res.status === 200 && gone.has(id)) phase.undone++;
      }
    } catch {
      phase.other++;
    }
  }
}

const third = (seconds * 1000) / 3;
let filler;
const fill = setTimeout(() => {
  phase = phases[1];
  filler = fillDisk(dir);
}, third);
const free = setTimeout(() => {
  phase = phases[2];
  rmSync(filler);
}, 2 * third);
await Promise.all(Array.from({ length: concurrency }, worker));
clearTimeout(fill);
clearTimeout(free);

// Restarted, the store must hold every acknowledged create that no acknowledged delete removed
// (a deleted one may still be DELETING, or gone).
await server.stop();
server = await start();
const after = new AtlasClient({ baseUrl: server.url, ...SA });
const present = new Set();
for (const groupId of projects) {
  for (let pageNum = 1; ; pageNum++) {
    const page = await after.listPrivateEndpoints(groupId, { itemsPerPage: 500, pageNum });
    for (const e of page.results) present.add(e.id);
    if (page.results.length < 500) break;
  }
}
const lost = [...created.keys()].filter((id) => !deleted.has(id) && !present.has(id));
await server.stop();

console.log(`full disk: ${seconds} s, ${concurrency} clients (OAuth), SQLite on a 64 MB tmpfs, filled at ${Math.round(seconds / 3)} s and freed at ${Math.round((2 * seconds) / 3)} s, node ${process.version}`);
console.log('| phase | reads | failed reads | shown, then undone | writes acknowledged | writes refused (507) | other answers |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const p of phases) console.log(`| ${p.name} | ${p.reads.toLocaleString('en')} | ${p.failedReads} | ${p.undone} | ${p.writes.toLocaleString('en')} | ${p.refused.toLocaleString('en')} | ${p.other} |`);
console.log(`acknowledged creates: ${created.size.toLocaleString('en')}, acknowledged deletes: ${deleted.size.toLocaleString('en')}, lost after a restart: ${lost.length}`);
process.exit(lost.length === 0 && phases.every((p) => p.failedReads === 0 && p.undone === 0) ? 0 : 1);
