import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { allEndpointIds, CheckedClient, createUntilRefused, endpointsFallingDue, fillDisk, loggedTransitions, mintToken, pollWhile, untilSettled, writeSeed } from '../support/harness.js';
import { type ServerProcess, spawnServer } from '../support/process.js';
import { dropDatabaseNamed, TEST_DATABASE_URL } from '../support/stores.js';
import { collectionPath, itemPath, KEYS, P1, P2, SERVICE_ACCOUNTS } from '../support/world.js';

// PostgreSQL really running out of room: the test database lives in a tablespace on a 16 MB
// tmpfs, which is then filled. A write is refused with 507, reads are served, nothing
// acknowledged is lost, and writes work again once there is room, without a restart. Needs
// root (to mount, and to reach the cluster's superuser over its local socket to make the
// tablespace); skipped with the reason otherwise.

const dir = mkdtempSync(join(tmpdir(), 'snaplink-pgfull-'));
const space = join(dir, 'space');
const name = `snaplink_full_${process.pid}`;
const asSuperuser = (statement: string) => execFileSync('runuser', ['-u', 'postgres', '--', 'psql', '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', statement], { stdio: 'pipe' });

function prepare(): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    return `cannot mount a small tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})`;
  }
  try {
    mkdirSync(space);
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(space, uid, gid);
    const role = new URL(TEST_DATABASE_URL!).username;
    asSuperuser(`create tablespace ${name} location '${space}'`);
    asSuperuser(`grant create on tablespace ${name} to ${role}`);
    return undefined;
  } catch (err) {
    return `cannot make a tablespace as the cluster's superuser (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})`;
  }
}

const skip = TEST_DATABASE_URL ? prepare() : 'PostgreSQL only';
let server: ServerProcess | undefined;
let url = '';

after(async () => {
  await server?.stop();
  if (TEST_DATABASE_URL && !skip) {
    await dropDatabaseNamed(name);
    asSuperuser(`drop tablespace if exists ${name}`);
  }
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    // was never mounted
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('disk full (PostgreSQL)', { skip }, () => {
  before(async () => {
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`create database ${name} tablespace ${name}`);
    await admin.end();
    const u = new URL(TEST_DATABASE_URL!);
    u.pathname = `/${name}`;
    url = u.toString();
    const seedDir = mkdtempSync(join(tmpdir(), 'snaplink-pgfull-seed-'));
    server = await spawnServer(['--database', url, '--seed', writeSeed(seedDir), '--timings', 'none', '--rate-limit-capacity', '100000']);
  });

  test('writes get 507 and change nothing, reads go on, writes work again when room returns', { timeout: 120_000 }, async () => {
    const api = new CheckedClient({ baseUrl: server!.url, ...KEYS.ownerP1 });
    const token = await mintToken(server!.url, SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret);
    const filler = join(dir, 'filler');
    const free = statfsSync(dir);
    writeFileSync(filler, Buffer.alloc(Number(free.bavail * free.bsize) - 1024 * 1024));
    const { acknowledged, refused, refusedBody } = await createUntilRefused(api, P1);
    assert.ok(refused, 'the tablespace filled up');
    assert.ok(acknowledged.length > 0, 'some writes fitted before it filled');
    assert.equal(refused!.status, 507);
    assert.equal(refused!.body.errorCode, 'INSUFFICIENT_STORAGE');
    // Reads are served, here to a service account's token. (A Digest request may be refused
    // like a write: on PostgreSQL each nonce-count used is recorded, so that a replay is refused
    // on every node, and without room to record it snaplink refuses rather than risk a replay —
    // whether it has room depends on the free space left in the table's last page.)
    const bearer = new CheckedClient({ baseUrl: server!.url, accessToken: token });
    // More than a page may have fitted (500 at most).
    assert.deepEqual((await allEndpointIds(bearer, P1)).sort(), [...acknowledged].sort(), 'reads served; every acknowledged write there, the refused one not');
    const one = await bearer.request('GET', itemPath(P1, acknowledged[0]!));
    assert.equal(one.status, 200, one.text);

    rmSync(filler);
    // The refused create again: it left nothing behind to conflict with.
    const again = await api.request<any>('POST', collectionPath(P1), { body: refusedBody });
    assert.equal(again.status, 201);
    acknowledged.push(again.body.id);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query<{ id: string }>('select id from private_endpoints');
      assert.deepEqual(rows.map((r) => r.id).sort(), [...acknowledged].sort(), 'what PostgreSQL holds is exactly what was acknowledged');
    } finally {
      await db.end();
    }
  });

  test('transitions falling due on a full disk: reads served, nothing logged as done that was not, said once, resumed when room returns', { timeout: 120_000 }, async () => {
    // A second node, whose holds make its endpoints' transitions fall due a second after their creation.
    const node = await spawnServer(['--database', url, '--hold-initiating', '1', '--hold-pending-acceptance', '1', '--hold-deleting', '1', '--rate-limit-capacity', '100000']);
    try {
      const token = await mintToken(node.url, SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret);
      const api = new CheckedClient({ baseUrl: node.url, accessToken: token });
      const { ids, deleted } = await endpointsFallingDue(api, P2, 8, 3);
      const from = [node.stdout().length, server!.stdout().length];
      const filler = fillDisk(dir);
      const polled = await pollWhile(api, P2, ids, 4000);
      assert.deepEqual(Object.keys(polled.byStatus).filter((s) => s !== '200' && s !== '404'), [], JSON.stringify(polled.byStatus));
      assert.deepEqual(polled.undone, []);
      const ready = (await (await fetch(`${node.url}/_snaplink/ready`)).json()) as { status: string; writesRefused?: { reason: string } };
      assert.equal(ready.status, 'ready');
      assert.match(ready.writesRefused?.reason ?? '', /space|full/i, JSON.stringify(ready));
      assert.match(await (await fetch(`${node.url}/_snaplink/metrics`)).text(), /^snaplink_store_writes_refused 1$/m);
      for (const [i, out] of [node.stdout(), server!.stdout()].entries()) {
        assert.ok(out.slice(from[i]).split('\n').filter((l) => l.includes('the store refuses writes')).length <= 1, 'said once per node');
      }

      rmSync(filler);
      await untilSettled(api, P2, ids, deleted);
      // Each transition is logged once, by whichever node stored it.
      for (const { id, logged, expected } of loggedTransitions(node.stdout() + server!.stdout(), ids, deleted)) assert.deepEqual(logged.sort(), expected.sort(), id);
    } finally {
      await node.stop();
    }
  });
});
