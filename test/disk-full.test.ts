import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { basicAuth, CheckedClient, createUntilRefused, mintToken, tokenRequest, writeSeed } from './support/harness.js';
import { type ServerProcess, spawnServer } from './support/process.js';
import { STORE_KIND } from './support/stores.js';
import { collectionPath, itemPath, KEYS, P1, SERVICE_ACCOUNTS } from './support/world.js';

// A store that really runs out of room: the SQLite store on a 2 MB tmpfs, filled up. A write is
// refused with 507 INSUFFICIENT_STORAGE, reads are served, nothing acknowledged is lost, and
// writes work again once there is room — without a restart.

/** Mounts a small tmpfs (root, or CAP_SYS_ADMIN); the reason when it cannot. */
function mountSmall(dir: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
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
    const listed = await api.listPrivateEndpoints(P1, { itemsPerPage: 500 });
    assert.deepEqual(listed.results.map((e) => e.id).sort(), [...acknowledged].sort());
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
    const after = await new CheckedClient({ baseUrl: server!.url, ...KEYS.ownerP1 }).listPrivateEndpoints(P1, { itemsPerPage: 500 });
    assert.deepEqual(after.results.map((e) => e.id).sort(), [...acknowledged].sort());
  });
});
