import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { ADMIN_TOKEN, callControl, CheckedClient, scratch, writeSeed } from './support/harness.js';
import { STORE_KIND } from './support/stores.js';
import { WalSync } from '../src/store/wal-sync.js';
import { spawnServer } from './support/process.js';
import { KEYS, P1, P2 } from './support/world.js';
import { AWS_REGIONS } from '../src/atlas/regions.js';

// What was acknowledged survives the process being killed without warning. (Realistic timings
// keep the endpoints where they were left; lifecycle-restart.test.ts covers them moving on.)

const { fresh, cleanup } = scratch();
after(cleanup);

test('creates answered 201 and deletes answered 204 survive kill -9', async () => {
  const { dir, args: store } = await fresh();
  const seed = writeSeed(dir);
  const first = await spawnServer([...store, '--seed', seed, '--timings', 'realistic']);
  const c = new CheckedClient({ baseUrl: first.url, ...KEYS.orgOwnerA });
  const acknowledged: string[] = [];
  // Writes in flight while the process dies: only what was answered must be there after.
  const create = (groupId: string, regionName: string) =>
    c.createPrivateEndpoint(groupId, { regionName }).then(
      (e) => void acknowledged.push(e.id),
      () => undefined, // cut off by the kill: never acknowledged
    );
  await Promise.all(AWS_REGIONS.slice(0, 20).map((r) => create(P1, r)));
  const inFlight = AWS_REGIONS.slice(20).map((r) => create(P1, r));
  const deleted = acknowledged[0]!;
  await c.deletePrivateEndpoint(P1, deleted);
  const pending = create(P2, 'US_EAST_1');
  first.proc.kill('SIGKILL');
  assert.equal(await first.exited, 'SIGKILL');
  await Promise.allSettled([...inFlight, pending]);
  const acked = [...acknowledged];

  const second = await spawnServer([...store, '--seed', seed, '--timings', 'realistic']);
  try {
    const c2 = new CheckedClient({ baseUrl: second.url, ...KEYS.orgOwnerA });
    const stored = new Map<string, string>();
    for (const g of [P1, P2]) for (const e of (await c2.listPrivateEndpoints(g, { itemsPerPage: 500 })).results) stored.set(e.id, e.status);
    for (const id of acked) assert.ok(stored.has(id), `acknowledged endpoint ${id} was lost`);
    assert.equal(stored.get(deleted), 'DELETING');
    assert.ok(acked.length >= 20);
  } finally {
    await second.stop();
  }
});

// A killed process loses nothing SQLite has written; a power cut loses what is not fsynced. That
// cannot be staged here, so the order of system calls is checked instead, under strace: a 201 or
// 204 is sent only after an fsync of the WAL that finished after the WAL's last write. (The
// server fsyncs on the thread pool, shared by concurrent writers, not inside each COMMIT on the
// event loop: see src/store/wal-sync.ts.) Requests go one at a time for that check, so the last
// WAL write before an answer is its own (ten concurrent ones follow, to be answered at all).
// With --sqlite-sync normal the same analysis must find answers no fsync covers: the check can
// fail.

// Creates, deletes and clock advances (an UPDATE … RETURNING: a write SQLite reports as a read).
const SEQUENTIAL = 16;

/** Trace line indexes of WAL writes, completed WAL fsyncs and sent 201/204 answers. */
function walEvents(trace: string) {
  const writes: number[] = [];
  const syncs: number[] = [];
  const acks: number[] = [];
  const syncing = new Set<string>();
  const lines = trace.split('\n');
  lines.forEach((line, i) => {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) return;
    const [, pid, call] = m as unknown as [string, string, string];
    if (/^(pwrite64|pwritev|write|writev)\(\d+<[^>]*-wal>/.test(call)) writes.push(i);
    else if (/^f(data)?sync\(\d+<[^>]*-wal>/.test(call)) {
      if (/= 0$/.test(call)) syncs.push(i);
      else if (call.includes('<unfinished')) syncing.add(pid);
    } else if (/^<\.\.\. f(data)?sync resumed>.*= 0$/.test(call) && syncing.delete(pid)) syncs.push(i);
    else {
      // 200s count from the first create on (before it: the harness's health checks).
      const status = /^writev?\(\d+<(socket|TCP)[^>]*>, .*HTTP\/1\.1 (20[014]) /.exec(call)?.[2];
      if (status === '201' || status === '204' || (status === '200' && acks.length > 0)) acks.push(i);
    }
  });
  const uncovered = acks.slice(0, SEQUENTIAL).filter((ack) => {
    const lastWrite = Math.max(-1, ...writes.filter((w) => w < ack));
    return !syncs.some((s) => s > lastWrite && s < ack);
  });
  const context = uncovered.map((ack) => lines.slice(Math.max(0, ack - 8), ack + 1).join('\n')).join('\n…\n');
  return { acks, uncovered, context };
}

async function tracedWrites(sync: 'full' | 'normal') {
  const { dir, args: store } = await fresh();
  const traceFile = `${dir}/strace.txt`;
  const strace = ['strace', '-f', '-qq', '-y', '-s', '64', '-e', 'trace=pwrite64,pwritev,write,writev,fsync,fdatasync', '-o', traceFile];
  const server = await spawnServer([...store, '--seed', writeSeed(dir), '--timings', 'realistic', '--sqlite-sync', sync, '--admin-token', ADMIN_TOKEN], {}, 60_000, strace);
  const c = new CheckedClient({ baseUrl: server.url, ...KEYS.orgOwnerA });
  try {
    const ids: string[] = [];
    for (const r of AWS_REGIONS.slice(0, 10)) ids.push((await c.createPrivateEndpoint(P1, { regionName: r })).id);
    for (const id of ids.slice(0, 4)) await c.deletePrivateEndpoint(P1, id);
    for (let i = 0; i < SEQUENTIAL - 14; i++) {
      assert.equal((await callControl(server.url, ADMIN_TOKEN, 'POST', '/_snaplink/clock/advance', { seconds: 1 })).status, 200);
    }
    await Promise.all(AWS_REGIONS.slice(10, 20).map((r) => c.createPrivateEndpoint(P1, { regionName: r })));
  } finally {
    // strace does not pass SIGTERM on: stop snaplink itself (its log names its pid); strace
    // exits with it.
    process.kill(Number(/"pid":(\d+)/.exec(server.stdout())?.[1]), 'SIGTERM');
    await server.exited;
  }
  return walEvents(readFileSync(traceFile, 'utf8'));
}

const straceMissing = spawnSync('strace', ['-V']).status !== 0;
const skip = STORE_KIND !== 'sqlite' ? 'SQLite only (PostgreSQL makes its own commits durable)' : straceMissing ? 'strace is not installed' : false;

test('every 201, 204 and clock-advance 200 is sent after the WAL holding it was fsynced (strace)', { skip }, async () => {
  const { acks, uncovered, context } = await tracedWrites('full');
  assert.equal(acks.length, SEQUENTIAL + 10, 'every create and delete was seen being answered');
  assert.deepEqual(uncovered, [], `answers sent before their write was on disk:\n${context}`);
});

test('…and the check catches answers sent before the fsync (--sqlite-sync normal)', { skip }, async () => {
  const { acks, uncovered } = await tracedWrites('normal');
  assert.equal(acks.length, SEQUENTIAL + 10);
  assert.ok(uncovered.length > 0);
});

test('writers waiting on the disk together share fsyncs (group commit), and each waits for one after its write', async () => {
  const { dir } = await fresh();
  const file = `${dir}/group.db-wal`;
  writeFileSync(file, 'frames');
  const wal = new WalSync(file);
  // Fifty writes, each followed by its wait, all before the first fsync can finish: the first
  // starts an fsync covering only itself, the other 49 share the next one.
  await Promise.all(Array.from({ length: 50 }, () => (wal.wrote(), wal.durable())));
  assert.equal(wal.fsyncs, 2);
  assert.equal(wal.pending, false);
  // Nothing new written: nothing to wait for.
  await wal.durable();
  assert.equal(wal.fsyncs, 2);
  // A write made while an fsync is under way is not covered by it.
  wal.wrote();
  const first = wal.durable();
  wal.wrote();
  await Promise.all([first, wal.durable()]);
  assert.equal(wal.fsyncs, 4);
  await wal.close();
  // The disk refusing is an error to the waiter, not a silent acknowledgement.
  const gone = new WalSync(`${dir}/missing-wal`);
  gone.wrote();
  await assert.rejects(gone.durable(), { code: 'ENOENT' });
  assert.equal(gone.pending, true);
});
