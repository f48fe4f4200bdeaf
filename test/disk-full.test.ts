import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { EndpointRepository } from '../src/endpoints/repository.js';
import { applySeed } from '../src/identity/seed.js';
import { openStore, SQLITE_FILE } from '../src/store/database.js';
import { isStoreFull } from '../src/store/errors.js';
import { ADMIN_TOKEN, allEndpointIds, basicAuth, callControl, CheckedClient, createUntilRefused, endpointsFallingDue, fillDisk, loggedTransitions, mintToken, pollWhile, tokenRequest, untilSettled, waitFor, writeSeed } from './support/harness.js';
import { cliAgainst, type ServerProcess, spawnServer } from './support/process.js';
import { STORE_KIND } from './support/stores.js';
import { collectionPath, itemPath, KEYS, P1, SERVICE_ACCOUNTS, storedEndpoint, WORLD } from './support/world.js';

// A store that really runs out of room: the SQLite store on a 2 MB tmpfs, filled up. A write is
// refused with 507 INSUFFICIENT_STORAGE, reads are served, nothing acknowledged is lost, and
// writes work again once there is room — without a restart.

/** Mounts a small tmpfs (root, or CAP_SYS_ADMIN); the reason when it cannot. */
function mountSmall(dir: string, size = '2m'): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `cannot mount a small tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()}): a real full disk needs root or CAP_SYS_ADMIN`;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'snaplink-full-'));
const skip = STORE_KIND === 'postgres' ? 'the SQLite store; PostgreSQL has test/postgres/disk-full.test.ts' : mountSmall(dir);
let server: ServerProcess | undefined;
const start = async () => (server = await spawnServer(['--data-dir', dir, '--seed', join(dir, 'seed.json'), '--timings', 'none', '--rate-limit-capacity', '100000']));

after(async () => {
  await server?.stop();
  if (!skip) execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
});

describe('disk full (SQLite)', { skip }, () => {
  before(async () => {
    writeSeed(dir);
    await start();
  });

  test('writes get 507 and change nothing, reads go on, writes work again when room returns, nothing acknowledged is lost', { timeout: 120_000 }, async () => {
    const api = new CheckedClient({ baseUrl: server!.url, ...KEYS.ownerP1 });
    const filler = join(dir, 'filler');
    const free = statfsSync(dir);
    // All the room but half a megabyte, so some writes fit (each is a few WAL pages, with its history
    // entry and the request journal's batches) and then one does not.
    writeFileSync(filler, Buffer.alloc(Number(free.bavail * free.bsize) - 512 * 1024));

    const { acknowledged, refused, refusedBody } = await createUntilRefused(api, P1);
    assert.ok(refused, 'the store filled up');
    assert.equal(refused!.status, 507);
    assert.equal(refused!.body.errorCode, 'INSUFFICIENT_STORAGE');
    assert.ok(acknowledged.length > 0, 'some writes fitted before it filled');

    // Reads are served while it is full, and show every acknowledged write.
    assert.deepEqual((await allEndpointIds(api, P1)).sort(), [...acknowledged].sort());
    assert.equal((await api.request('GET', itemPath(P1, acknowledged[0]!))).status, 200);
    // The token endpoint refuses to mint (a token is a write) with its own kind of body. A token
    // row is small: it may still fit in the last pages' slack, so mint until the room is gone.
    let token: Awaited<ReturnType<typeof tokenRequest>> | undefined;
    for (let i = 0; i < 500; i++) {
      token = await tokenRequest(server!.url, { authorization: basicAuth(SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret) });
      if (token.status !== 200) break;
    }
    assert.equal(token!.status, 507);
    assert.equal(token!.body.error, 'temporarily_unavailable');

    // Room returns: the same process writes again.
    rmSync(filler);
    // The refused create again: it left nothing behind to conflict with.
    const again = await api.request<any>('POST', collectionPath(P1), { body: refusedBody });
    assert.equal(again.status, 201);
    acknowledged.push(again.body.id);
    await mintToken(server!.url, SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret);

    // Restarted, the store holds exactly what was acknowledged: the refused create left nothing.
    await server!.stop();
    await start();
    const after = await allEndpointIds(new CheckedClient({ baseUrl: server!.url, ...KEYS.ownerP1 }), P1);
    assert.deepEqual(after.sort(), [...acknowledged].sort());
  });
});

// The same guarantee one level down, where it is hardest: the writes of one event-loop turn
// share a transaction (store/write-batch.ts), and SQLite may roll a whole transaction back when
// a statement in it finds the disk full, after earlier statements of the batch ran. Whatever was
// acknowledged (the write resolved, then durable() did, as the server's answers wait) must be in
// the file.
const batchDir = mkdtempSync(join(tmpdir(), 'snaplink-full-batch-'));
const batchSkip = STORE_KIND === 'postgres' ? 'the SQLite store\'s write batches' : mountSmall(batchDir);

after(() => {
  if (!batchSkip) execFileSync('umount', [batchDir]);
  rmSync(batchDir, { recursive: true, force: true });
});

describe('disk full inside a write batch (SQLite)', { skip: batchSkip }, () => {
  test('writes of one turn that the full disk refuses or rolls back are never acknowledged; those acknowledged are all there', { timeout: 120_000 }, async () => {
    const data = join(batchDir, 'data');
    mkdirSync(data);
    const store = await openStore({ dataDir: data, deferSync: true });
    const acknowledged: string[] = [];
    let refused = 0;
    try {
      await applySeed(store, WORLD);
      await store.durable();
      // A page cache of a few pages: a transaction spills to the WAL before its COMMIT, so the disk
      // can fill up in the middle of a batch, not only at its end.
      await sql`pragma cache_size = 4`.execute(store.db);
      const repo = new EndpointRepository(store.db, store.dialect);
      const free = statfsSync(batchDir);
      writeFileSync(join(batchDir, 'filler'), Buffer.alloc(Number(free.bavail * free.bsize) - 256 * 1024));
      let next = 0;
      // Long, distinct regions: each row takes room, and none conflicts with another.
      const endpoint = () => storedEndpoint((0x6650f0c0a1b2c3d4e5000000n + BigInt(next)).toString(16), `R${next++}-${'x'.repeat(1500)}`);
      // Turns of 20 concurrent writes until one is refused.
      for (let turn = 0; turn < 500 && refused === 0; turn++) {
        const outcomes = await Promise.allSettled(
          Array.from({ length: 20 }, () => {
            const e = endpoint();
            // As the server does: the write, then durable() before the answer.
            return repo.insert(e).then(async () => {
              await store.durable();
              return e.id;
            });
          }),
        );
        for (const o of outcomes) {
          if (o.status === 'fulfilled') acknowledged.push(o.value);
          else if (isStoreFull(o.reason)) refused++;
          else throw o.reason;
        }
      }
      assert.ok(refused > 0, 'the disk filled up');
      assert.ok(acknowledged.length > 0, 'some writes fitted first');
    } finally {
      await store.close().catch(() => {});
    }
    // What another connection finds in the file: every acknowledged write.
    const file = new SqliteDatabase(join(data, SQLITE_FILE), { readonly: true });
    try {
      const ids = new Set((file.prepare('select id from private_endpoints').pluck().all() as string[]));
      assert.deepEqual(acknowledged.filter((id) => !ids.has(id)), [], 'acknowledged, then lost');
    } finally {
      file.close();
    }
  });
});

// Transitions that fall due while the disk is full (issue 26): the lifecycle runner's writes are
// refused again and again. No read may fail for them, nor show one of them before it is undone
// (an endpoint answering 404, then 200 DELETING again); none may be logged as done; the refusal
// is said once, in the log, /_snaplink/ready, status and the metrics; and the transitions resume
// once there is room, with no restart.
const dueDir = mkdtempSync(join(tmpdir(), 'snaplink-full-due-'));
const dueSkip = STORE_KIND === 'postgres' ? 'the SQLite store; PostgreSQL has test/postgres/disk-full.test.ts' : mountSmall(dueDir);
let dueServer: ServerProcess | undefined;

after(async () => {
  await dueServer?.stop();
  if (!dueSkip) execFileSync('umount', [dueDir]);
  rmSync(dueDir, { recursive: true, force: true });
});

describe('transitions falling due on a full disk (SQLite)', { skip: dueSkip }, () => {
  test('reads never fail nor show a refused change; refused transitions are not logged as done; said once; they resume when room returns', { timeout: 120_000 }, async () => {
    const holds = ['--hold-initiating', '1', '--hold-pending-acceptance', '1', '--hold-deleting', '1'];
    // A journal kept small: its headers and bodies would fill a 2 MB disk on their own.
    dueServer = await spawnServer(['--data-dir', join(dueDir, 'data'), '--seed', writeSeed(dueDir), ...holds, '--rate-limit-capacity', '1000000', '--admin-token', ADMIN_TOKEN, '--journal-bytes', '131072']);
    const server = dueServer;
    const token = await mintToken(server.url, SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret);
    const api = new CheckedClient({ baseUrl: server.url, accessToken: token });
    const { ids, deleted } = await endpointsFallingDue(api, P1, 12, 4);
    // Before their holds end: every transition falls due on the full disk.
    const filler = fillDisk(dueDir);
    const logFrom = server.stdout().length;

    const polled = await pollWhile(api, P1, ids, 5000);
    assert.ok(polled.reads > 200, `reads were made (${polled.reads})`);
    // A nearly full disk may still take a write that fits in pages already there (a deletion is then
    // done, and answers 404): never a read refused, never a change shown and then undone.
    assert.deepEqual(Object.keys(polled.byStatus).filter((s) => s !== '200' && s !== '404'), [], `every read answered: ${JSON.stringify(polled.byStatus)}`);
    assert.deepEqual(polled.undone, [], 'no endpoint answered 404 and then 200 again');
    const ready = (await (await fetch(`${server.url}/_snaplink/ready`)).json()) as { status: string; writesRefused?: { reason: string } };
    assert.equal(ready.status, 'ready', 'reads are served: the node stays ready');
    assert.match(ready.writesRefused?.reason ?? '', /full/, JSON.stringify(ready));
    assert.match(await (await fetch(`${server.url}/_snaplink/metrics`)).text(), /^snaplink_store_writes_refused 1$/m);
    const status = await callControl(server.url, ADMIN_TOKEN, 'GET', '/_snaplink/status');
    assert.ok(status.body.writesRefused, JSON.stringify(status.body));
    const screen = await cliAgainst(server.url, ADMIN_TOKEN)(['status', '-o', 'table']);
    assert.match(screen.stdout, /^writes: +refused since .* \(database or disk is full\); reads are served$/m, screen.stdout);
    const whileFull = server.stdout().slice(logFrom).split('\n');
    assert.equal(whileFull.filter((l) => l.includes('the store refuses writes')).length, 1, 'the refusal is said once');
    assert.ok(whileFull.filter((l) => /"level":[45]0/.test(l)).length <= 4, `a handful of warnings, not one per retry:\n${whileFull.filter((l) => /"level":[45]0/.test(l)).join('\n')}`);

    rmSync(filler);
    // Room again: the same process moves every endpoint on, deleted ones out.
    await untilSettled(api, P1, ids, deleted);
    // Said over once writes have gone unrefused for a moment (a nearly full disk takes some, refuses others).
    await waitFor(async () => ((await (await fetch(`${server.url}/_snaplink/ready`)).json()) as { writesRefused?: unknown }).writesRefused, (w) => w === undefined, 5000, 'ready without writesRefused');
    assert.ok(server.stdout().includes('the store takes writes again'), 'the end of the refusal is said');
    // Only transitions that were stored are logged as done: each endpoint's logged transitions are
    // one chain, none twice (a refused one retried would be logged at every retry).
    for (const { id, logged, expected } of loggedTransitions(server.stdout(), ids, deleted)) assert.deepEqual(logged, expected, `${id}: the transitions logged are those stored, once each`);
    assert.match(await (await fetch(`${server.url}/_snaplink/metrics`)).text(), /^snaplink_store_writes_refused 0$/m);
  });
});

// A restart on a disk still full (issue 26): a server killed while the disk was full comes up
// again and serves reads — a start writes nothing it need not (an unchanged seed) — and one that
// must write (a changed seed), or cannot open the store at all, says plainly that the disk is full.
const restartDir = mkdtempSync(join(tmpdir(), 'snaplink-full-restart-'));
// Room enough, once freed, for the seed of 2,000 keys below beside a WAL left by kill -9.
const restartSkip = STORE_KIND === 'postgres' ? 'the SQLite store' : mountSmall(restartDir, '8m');

after(() => {
  if (!restartSkip) execFileSync('umount', [restartDir]);
  rmSync(restartDir, { recursive: true, force: true });
});

describe('a restart on a full disk (SQLite)', { skip: restartSkip }, () => {
  test('after kill -9 it serves reads; what must write, or cannot open the store, says the disk is full', { timeout: 120_000 }, async () => {
    // Whatever fails, no server is left holding the small disk (its unmount would fail, and the run hang).
    let server: ServerProcess | undefined;
    try {
      const data = join(restartDir, 'data');
      const seed = writeSeed(restartDir);
      const serve = ['--data-dir', data, '--seed', seed, '--timings', 'none', '--rate-limit-capacity', '1000000'];
      server = await spawnServer(serve);
      const api = () => new CheckedClient({ baseUrl: server!.url, ...KEYS.ownerP1 });
      const first = await api().createPrivateEndpoint(P1, { regionName: 'US_EAST_1' });
      // Beside the small disk: a seed with more keys than the whole of it can hold.
      const changed = join(tmpdir(), `snaplink-full-restart-seed-${process.pid}.json`);
      const bulk = Array.from({ length: 2000 }, (_, i) => ({ publicKey: `bulk${i}`, privateKey: `bulk-private-key-${i}`, description: 'x'.repeat(200), roles: [{ groupId: P1, roleName: 'GROUP_OWNER' as const }] }));
      writeFileSync(changed, JSON.stringify({ ...WORLD, apiKeys: [...WORLD.apiKeys!, ...bulk] }));
      const filler = fillDisk(restartDir);
      const { acknowledged } = await createUntilRefused(api(), P1);
      acknowledged.push(first.id);
      server.proc.kill('SIGKILL');
      await server.exited;

      for (let trial = 0; trial < 3; trial++) {
        server = await spawnServer(serve);
        assert.deepEqual((await allEndpointIds(api(), P1)).sort(), [...acknowledged].sort(), 'reads served, every acknowledged write there');
        server.proc.kill('SIGKILL');
        await server.exited;
      }

      // A seed that changes the store needs room.
      const refused = await spawnServer(['--data-dir', data, '--seed', changed]).then(
        (s) => s.stop().then(() => assert.fail('a start that must write found room')),
        (err: Error) => err.message,
      );
      assert.ok(refused.includes(`snaplink: the disk holding ${data} is full, and this start needs room`), refused);
      assert.doesNotMatch(refused, /cannot rollback/);

      // Room again: the changed seed applies, and nothing acknowledged was lost.
      rmSync(filler);
      server = await spawnServer(['--data-dir', data, '--seed', changed, '--timings', 'none']);
      assert.deepEqual((await allEndpointIds(api(), P1)).sort(), [...acknowledged].sort());
      await server.stop();
      rmSync(changed);

      // Stopped cleanly, SQLite's -wal and -shm files are gone; on a full disk they cannot be made again.
      const filled = fillDisk(restartDir);
      const unopened = await spawnServer(serve).then(
        (s) => s.stop().then(() => assert.fail('the store opened with no room for its -wal and -shm files')),
        (err: Error) => err.message,
      );
      assert.match(unopened, /exited \(1\)[^]*snaplink: the disk holding .* is full, and this start needs room/, unopened);
      rmSync(filled);
    } finally {
      if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
        server.proc.kill('SIGKILL');
        await server.exited;
      }
    }
  });
});
