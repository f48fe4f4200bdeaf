import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { lineBuffer } from '../src/http/log-output.js';
import { startSnaplink } from '../src/app.js';
import { defaultConfig } from '../src/config.js';
import { openStore, type StoreOptions } from '../src/store/database.js';
import { getSetting } from '../src/store/settings.js';
import { callControl, CheckedClient, scratch, tempDir, waitFor, writeSeed } from './support/harness.js';
import { BIN, cliAgainst, snaplinkCli, spawnServer } from './support/process.js';
import { STORE_KIND, tableSnapshot } from './support/stores.js';
import { collectionPath, KEYS, ORG_A, P1, P2, P3, SERVICE_ACCOUNTS, WORLD } from './support/world.js';

// The `snaplink` command and the seed file, as a user runs them: separate processes on a data dir.

const { fresh, cleanup } = scratch();
after(cleanup);
const ADMIN = 'cli-test-admin-token';

/** Every identity row, in a stable order: what "nothing changed" is checked against. */
async function identitySnapshot(options: StoreOptions): Promise<string> {
  const store = await openStore(options);
  try {
    return await tableSnapshot(store.db, ['organizations', 'projects', 'credentials', 'api_keys', 'roles', 'access_list']);
  } finally {
    await store.close();
  }
}

describe('snaplink seed', () => {
  test('applies a seed, and applying it again changes nothing', async () => {
    const { dir, args: store, options } = await fresh();
    const file = writeSeed(dir);
    const first = await snaplinkCli(['seed', file, ...store]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { created: 2 + 3 + 7 + 3, updated: 0, unchanged: 0 });
    const before = await identitySnapshot(options);
    const second = await snaplinkCli(['seed', file, ...store]);
    assert.deepEqual(JSON.parse(second.stdout), { created: 0, updated: 0, unchanged: 15 });
    assert.equal(await identitySnapshot(options), before);
  });

  test('a changed secret or access list updates just that key', async () => {
    const { dir, args: store } = await fresh();
    await snaplinkCli(['seed', writeSeed(dir), ...store]);
    const changed = structuredClone(WORLD);
    changed.apiKeys![1]!.privateKey = 'rotated-private-key';
    changed.apiKeys![2]!.accessList = ['192.168.0.0/16'];
    changed.serviceAccounts![0]!.clientSecret = 'mdb_sa_sk_rotated-secret-of-org-owner-A';
    const res = await snaplinkCli(['seed', writeSeed(dir, changed), ...store]);
    assert.deepEqual(JSON.parse(res.stdout), { created: 0, updated: 3, unchanged: 12 });
  });

  const invalid: [string, unknown, RegExp][] = [
    ['a project of an unknown organization', { ...WORLD, projects: [{ id: P1, orgId: 'ffffffffffffffffffffffff', name: 'x' }] }, /projects\[0\] \(6650f0c0a1b2c3d4e5f60101\): organization ffffffffffffffffffffffff/],
    ['an unknown role', { ...WORLD, apiKeys: [{ publicKey: 'k1', privateKey: 'private-1', roles: [{ groupId: P1, roleName: 'GROUP_ADMIN' }] }] }, /apiKeys\[0\] \(k1\): unknown role "GROUP_ADMIN"/],
    ['a bad CIDR', { ...WORLD, apiKeys: [{ publicKey: 'k1', privateKey: 'private-1', roles: [{ orgId: ORG_A, roleName: 'ORG_OWNER' }], accessList: ['10.0.0.0/33'] }] }, /apiKeys\[0\] \(k1\): access list entry "10\.0\.0\.0\/33"/],
    ['roles in two organizations', { ...WORLD, apiKeys: [{ publicKey: 'k1', privateKey: 'private-1', roles: [{ orgId: ORG_A, roleName: 'ORG_OWNER' }, { groupId: '6650f0c0a1b2c3d4e5f60201', roleName: 'GROUP_OWNER' }] }] }, /one organization/],
    ['a GROUP role given an orgId', { ...WORLD, apiKeys: [{ publicKey: 'k1', privateKey: 'private-1', roles: [{ orgId: ORG_A, roleName: 'GROUP_OWNER' }] }] }, /needs a groupId/],
    ['a malformed id', { organizations: [{ id: 'acme', name: 'Acme' }] }, /organizations\[0\] \(acme\): id must be 24/],
    ['an unknown field', { ...WORLD, clusters: [] }, /must NOT have additional properties/],
    ['a missing private key', { apiKeys: [{ publicKey: 'k1' }] }, /\/apiKeys\/0 must have required property 'privateKey'/],
    ['a service account with a short secret', { ...WORLD, serviceAccounts: [{ clientId: 'sa1', clientSecret: 'short', roles: [{ orgId: ORG_A, roleName: 'ORG_OWNER' }] }] }, /serviceAccounts\[0\] \(sa1\): the secret of sa1 must be 16 to 256 characters/],
    ['a duplicate public key', { ...WORLD, apiKeys: [...WORLD.apiKeys!, WORLD.apiKeys![0]] }, /API key orgownra is declared twice/],
  ];
  for (const [what, seed, message] of invalid) {
    test(`refuses ${what} as a whole, naming the entry`, async () => {
      const { dir, args: store, options } = await fresh();
      const file = join(dir, 'bad.json');
      writeFileSync(file, JSON.stringify(seed));
      const res = await snaplinkCli(['seed', file, ...store]);
      assert.equal(res.code, 1);
      assert.match(res.stderr, message);
      assert.match(res.stderr, /^snaplink: invalid seed: /);
      // Nothing of it was applied: not even the valid organizations before the bad entry.
      assert.equal(await identitySnapshot(options), await identitySnapshot((await fresh()).options));
    });
  }

  test('refuses a file that is not JSON', async () => {
    const { dir, args: store } = await fresh();
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ nope');
    const res = await snaplinkCli(['seed', file, ...store]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /is not JSON/);
  });

  test('serve --seed refuses to start on an invalid seed', async () => {
    const { dir, args: store } = await fresh();
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ organizations: [{ id: 'x', name: 'y' }] }));
    await assert.rejects(spawnServer([...store, '--seed', file]), /invalid seed: organizations\[0\]/);
  });
});

describe('management commands (through the control API of a running server)', () => {
  /** A server on a fresh store, and `snaplink` pointed at it. */
  async function running(extra: (dir: string) => string[] = () => []) {
    const scratchStore = await fresh();
    const server = await spawnServer([...scratchStore.args, '--admin-token', ADMIN, ...extra(scratchStore.dir)]);
    return { ...scratchStore, server, cli: cliAgainst(server.url, ADMIN) };
  }

  test('create an organization, a project and an API key, then use the key; list never shows secrets', async () => {
    const { server, cli } = await running();
    try {
      const org = JSON.parse((await cli(['orgs', 'create', '--name', 'Initech'])).stdout);
      const project = JSON.parse((await cli(['projects', 'create', '--org', org.id, '--name', 'tps'])).stdout);
      assert.equal(project.orgId, org.id);
      const created = await cli(['api-keys', 'create', '--role', `GROUP_OWNER:${project.id}`, '--description', 'ci', '--access-list', '127.0.0.1']);
      assert.equal(created.code, 0, created.stderr);
      const key = JSON.parse(created.stdout);
      assert.match(key.publicKey, /^[a-z]{8}$/);
      assert.match(key.privateKey, /^[0-9a-f-]{36}$/);
      assert.deepEqual(key.roles, [{ groupId: project.id, roleName: 'GROUP_OWNER' }]);
      assert.deepEqual(key.accessList, ['127.0.0.1/32']);
      assert.equal(key.orgId, org.id);

      const listed = (await cli(['api-keys', 'list'])).stdout;
      assert.ok(!listed.includes(key.privateKey));
      assert.doesNotMatch(listed, /ha1|privateKey/);

      const c = new CheckedClient({ baseUrl: server.url, publicKey: key.publicKey, privateKey: key.privateKey });
      assert.equal((await c.createPrivateEndpoint(project.id, { regionName: 'US_EAST_1' })).status, 'INITIATING');
      // A key deleted while the server runs is refused on its next request.
      assert.deepEqual(JSON.parse((await cli(['api-keys', 'delete', key.publicKey])).stdout), { deleted: key.publicKey });
      assert.equal((await c.request('GET', collectionPath(project.id))).status, 401);
    } finally {
      await server.stop();
    }
  });

  test('rotate, set-roles and set-access-list change what the credential can do at once', async () => {
    const { server, cli } = await running();
    try {
      const org = JSON.parse((await cli(['orgs', 'create', '--name', 'Hooli'])).stdout);
      const project = JSON.parse((await cli(['projects', 'create', '--org', org.id, '--name', 'nucleus'])).stdout);
      const sa = JSON.parse((await cli(['service-accounts', 'create', '--role', `GROUP_READ_ONLY:${project.id}`])).stdout);
      const reader = new CheckedClient({ baseUrl: server.url, clientId: sa.clientId, clientSecret: sa.clientSecret });
      // Read-only may not touch this resource (Atlas asks for Project Owner): USER_UNAUTHORIZED.
      assert.equal((await reader.request<any>('GET', collectionPath(project.id))).body.errorCode, 'USER_UNAUTHORIZED');

      const roles = await cli(['service-accounts', 'set-roles', sa.clientId, '--role', `GROUP_OWNER:${project.id}`]);
      assert.deepEqual(JSON.parse(roles.stdout).roles, [{ groupId: project.id, roleName: 'GROUP_OWNER' }]);
      assert.equal((await reader.request('POST', collectionPath(project.id), { body: { cloudProvider: 'AWS', regionName: 'US_EAST_1' } })).status, 201);

      const fenced = await cli(['service-accounts', 'set-access-list', sa.clientId, '--access-list', '192.0.2.0/24']);
      assert.deepEqual(JSON.parse(fenced.stdout).accessList, ['192.0.2.0/24']);
      assert.equal((await new CheckedClient({ baseUrl: server.url, clientId: sa.clientId, clientSecret: sa.clientSecret }).request('GET', collectionPath(project.id))).status, 403);
      await cli(['service-accounts', 'set-access-list', sa.clientId]);

      const rotated = JSON.parse((await cli(['service-accounts', 'rotate', sa.clientId])).stdout);
      assert.notEqual(rotated.clientSecret, sa.clientSecret);
      await assert.rejects(new CheckedClient({ baseUrl: server.url, clientId: sa.clientId, clientSecret: sa.clientSecret }).accessToken(), /401|invalid_client/);
      const renewed = new CheckedClient({ baseUrl: server.url, clientId: sa.clientId, clientSecret: rotated.clientSecret });
      assert.equal((await renewed.request('GET', collectionPath(project.id))).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('errors are clear and exit 1: unknown organization, duplicate id, unknown key; a bad role is a usage error (2)', async () => {
    const { server, cli } = await running();
    try {
      const noOrg = await cli(['projects', 'create', '--org', 'ffffffffffffffffffffffff', '--name', 'x']);
      assert.equal(noOrg.code, 1);
      assert.match(noOrg.stderr, /^snaplink: 404 RESOURCE_NOT_FOUND: No organization ffffffffffffffffffffffff\./);
      await cli(['orgs', 'create', '--name', 'A', '--id', ORG_A]);
      const dup = await cli(['orgs', 'create', '--name', 'A', '--id', ORG_A]);
      assert.equal(dup.code, 1);
      assert.match(dup.stderr, /409 ALREADY_EXISTS: .*already exists/);
      const gone = await cli(['api-keys', 'delete', 'nosuchkey']);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /No API key nosuchkey/);
      const badRole = await cli(['api-keys', 'create', '--role', 'ORG_OWNER']);
      assert.equal(badRole.code, 2);
      assert.match(badRole.stderr, /ROLE:ID/);
    } finally {
      await server.stop();
    }
  });

  test('deleting a project removes its endpoints; deleting an organization removes its projects, keys, accounts and endpoints', async () => {
    const { server, cli } = await running((dir) => ['--seed', writeSeed(dir), '--timings', 'realistic']);
    try {
      const endpointsOf = async (groupId: string) => (await callControl(server.url, ADMIN, 'GET', `/_snaplink/endpoints?groupId=${groupId}`)).body.results.length;
      const a = new CheckedClient({ baseUrl: server.url, ...KEYS.orgOwnerA });
      const b = new CheckedClient({ baseUrl: server.url, ...KEYS.orgOwnerB });
      for (const region of ['US_EAST_1', 'EU_WEST_1']) {
        await a.createPrivateEndpoint(P1, { regionName: region });
        await a.createPrivateEndpoint(P2, { regionName: region });
        await b.createPrivateEndpoint(P3, { regionName: region });
      }
      assert.deepEqual([await endpointsOf(P1), await endpointsOf(P2), await endpointsOf(P3)], [2, 2, 2]);

      const deleted = await cli(['projects', 'delete', P1, '--force']);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.deepEqual(JSON.parse(deleted.stdout), { deleted: P1 });
      assert.deepEqual([await endpointsOf(P1), await endpointsOf(P2), await endpointsOf(P3)], [0, 2, 2]);
      const projects = JSON.parse((await cli(['projects', 'list'])).stdout);
      assert.deepEqual(projects.map((p: { name: string }) => p.name).sort(), ['bolt-main', 'ledger']);
      assert.equal((await a.request<any>('GET', collectionPath(P1))).body.errorCode, 'GROUP_NOT_FOUND');
      const again = await cli(['projects', 'delete', P1, '--force']);
      assert.equal(again.code, 1);
      assert.match(again.stderr, new RegExp(`No project ${P1}`));

      assert.equal((await cli(['orgs', 'delete', ORG_A, '--force'])).code, 0);
      assert.deepEqual([await endpointsOf(P2), await endpointsOf(P3)], [0, 2]);
      const left = JSON.parse((await cli(['projects', 'list'])).stdout);
      assert.deepEqual(left.map((p: { name: string }) => p.name), ['bolt-main']);
      const keys = JSON.parse((await cli(['api-keys', 'list'])).stdout);
      assert.deepEqual(keys.map((k: { publicKey: string }) => k.publicKey), [KEYS.orgOwnerB.publicKey]);
      const accounts = JSON.parse((await cli(['service-accounts', 'list'])).stdout);
      assert.deepEqual(accounts.map((x: { clientId: string }) => x.clientId), [SERVICE_ACCOUNTS.saOrgB.clientId]);
      // The deleted organization's key is refused on its very next request.
      assert.equal((await a.request('GET', collectionPath(P2))).status, 401);
    } finally {
      await server.stop();
    }
  });

  test('re-seeding a changed secret revokes the old secret and its tokens at once; the new ones work', async () => {
    const { dir, args: store } = await fresh();
    const server = await spawnServer([...store, '--seed', writeSeed(dir)]);
    try {
      const sa = SERVICE_ACCOUNTS.saOrgA;
      const token = await new CheckedClient({ baseUrl: server.url, ...sa }).accessToken();
      const byToken = new CheckedClient({ baseUrl: server.url, accessToken: token });
      const byOldKey = new CheckedClient({ baseUrl: server.url, ...KEYS.ownerP1 });
      assert.equal((await byToken.request('GET', collectionPath(P1))).status, 200);
      assert.equal((await byOldKey.request('GET', collectionPath(P1))).status, 200);

      const changed = structuredClone(WORLD);
      changed.apiKeys![1]!.privateKey = 'rotated-private-key';
      changed.serviceAccounts![0]!.clientSecret = 'mdb_sa_sk_rotated-secret-of-org-owner-A';
      const res = await snaplinkCli(['seed', writeSeed(dir, changed), ...store]);
      assert.deepEqual(JSON.parse(res.stdout), { created: 0, updated: 2, unchanged: 13 });

      assert.equal((await byToken.request('GET', collectionPath(P1))).status, 401, 'a token of the old secret');
      assert.equal((await byOldKey.request('GET', collectionPath(P1))).status, 401, 'the old private key');
      await assert.rejects(new CheckedClient({ baseUrl: server.url, ...sa }).accessToken(), /401|invalid_client/);
      const renewed = new CheckedClient({ baseUrl: server.url, clientId: sa.clientId, clientSecret: changed.serviceAccounts![0]!.clientSecret });
      assert.equal((await renewed.request('GET', collectionPath(P1))).status, 200);
      assert.equal((await new CheckedClient({ baseUrl: server.url, publicKey: KEYS.ownerP1.publicKey, privateKey: 'rotated-private-key' }).request('GET', collectionPath(P1))).status, 200);
    } finally {
      await server.stop();
    }
  });
});

describe('snaplink serve', () => {
  test('a first start on an empty store creates and prints a working default world once', async () => {
    const { dir, args: store, databaseUrl } = await fresh();
    // The store named by environment variables, as a container deployment would.
    const env: Record<string, string> = databaseUrl ? { SNAPLINK_DATABASE_URL: databaseUrl } : { SNAPLINK_DATA_DIR: dir };
    const first = await spawnServer([], { ...env, SNAPLINK_LOG_LEVEL: 'info' });
    let publicKey: string;
    let privateKey: string;
    let project: string;
    try {
      // The banner goes to stderr, the listening line to stdout: they may arrive in either order.
      const banner = await waitFor(async () => first.stderr(), (text) => /private [0-9a-f-]{36}/.test(text), 10_000, 'the first-start banner');
      publicKey = /public ([a-z]{8})/.exec(banner)![1]!;
      privateKey = /private ([0-9a-f-]{36})/.exec(banner)![1]!;
      project = /project +([0-9a-f]{24})/.exec(banner)![1]!;
      const c = new CheckedClient({ baseUrl: first.url, publicKey, privateKey });
      assert.equal((await c.listPrivateEndpoints(project)).totalCount, 0);
    } finally {
      assert.equal(await first.stop(), 0);
    }
    // The private key never reaches the logs (all of them written by now).
    assert.ok(!first.stdout().includes(privateKey));
    const second = await spawnServer([...store]);
    try {
      assert.doesNotMatch(second.stderr(), /default world/);
      const c = new CheckedClient({ baseUrl: second.url, publicKey, privateKey });
      assert.equal((await c.listPrivateEndpoints(project)).totalCount, 0);
    } finally {
      await second.stop();
    }
  });

  /** A port something else listens on, until `release()`. */
  async function busyPort(): Promise<{ port: number; release: () => Promise<void> }> {
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    return { port: (holder.address() as { port: number }).port, release: () => new Promise((resolve) => holder.close(() => resolve())) };
  }

  /** A server on `store` whose start is a first one: it prints the secrets on stderr, and they work. */
  async function assertFirstStart(store: string[]): Promise<void> {
    const server = await spawnServer(store);
    try {
      const banner = await waitFor(async () => server.stderr(), (text) => /private [0-9a-f-]{36}/.test(text) && /admin token +snaplink_admin_/.test(text), 10_000, 'the first-start banner');
      const adminToken = /admin token +(snaplink_admin_\S+)/.exec(banner)![1]!;
      const publicKey = /public ([a-z]{8})/.exec(banner)![1]!;
      const privateKey = /private ([0-9a-f-]{36})/.exec(banner)![1]!;
      const project = /project +([0-9a-f]{24})/.exec(banner)![1]!;
      assert.equal((await new CheckedClient({ baseUrl: server.url, publicKey, privateKey }).listPrivateEndpoints(project)).totalCount, 0);
      assert.equal((await callControl(server.url, adminToken, 'GET', '/_snaplink/status')).status, 200);
    } finally {
      await server.stop();
    }
  }

  test('a first start on a busy port makes nothing (no data dir), so the next start makes the secrets and shows them', async () => {
    const { dir, args: store } = await fresh();
    const busy = await busyPort();
    const target = STORE_KIND === 'sqlite' ? ['--data-dir', join(dir, 'f')] : store;
    try {
      const failed = await snaplinkCli(['serve', '--port', String(busy.port), ...target]);
      assert.equal(failed.code, 1);
      assert.equal(failed.stderr, `snaplink: 127.0.0.1:${busy.port} is in use (EADDRINUSE): stop what listens there, or choose another --port (0 picks a free one)\n`);
      assert.equal(existsSync(join(dir, 'f')), false, 'no data dir');
    } finally {
      await busy.release();
    }
    await assertFirstStart(target);
  });

  test('a start that cannot listen after all (the port taken after the check) has stored no secret: the next start makes and shows them', async () => {
    const { options, args: store } = await fresh();
    const busy = await busyPort();
    try {
      // In-process, where nothing checks the port first: the store is opened, then listen fails.
      await assert.rejects(startSnaplink(defaultConfig({ port: busy.port, store: options, logLevel: 'silent' })), { code: 'EADDRINUSE' });
    } finally {
      await busy.release();
    }
    const opened = await openStore(options);
    try {
      assert.equal((await opened.db.selectFrom('organizations').select('id').execute()).length, 0, 'no default world');
      assert.equal(await getSetting(opened.db, 'admin_token_sha256'), undefined, 'no admin token');
    } finally {
      await opened.close();
    }
    await assertFirstStart(store);
  });

  test('a start that fails on its input (a missing --seed, certificate or key) creates no data dir', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'cert.pem'), 'not a certificate');
    for (const [args, message] of [
      [['--seed', 'missing.json'], /^snaplink: invalid seed: cannot read missing\.json: ENOENT/],
      [['--tls-cert', 'missing.pem', '--tls-key', 'cert.pem'], /^snaplink: cannot read --tls-cert missing\.pem: ENOENT/],
      [['--tls-cert', 'cert.pem', '--tls-key', 'missing.pem'], /^snaplink: cannot read --tls-key missing\.pem: ENOENT/],
    ] as const) {
      const r = await snaplinkCli(['serve', '--port', '0', '--data-dir', 'f', ...args], {}, cwd);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(existsSync(join(cwd, 'f')), false, `${args.join(' ')}: no data dir`);
    }
  });

  test('every start says, on one JSON line whatever --log-level, that it is ready and where; the banner and / lead to the dashboard', async () => {
    const { args: store } = await fresh();
    const server = await spawnServer([...store, '--log-level', 'error']);
    try {
      const lines = server.stdout().trim().split('\n');
      assert.equal(lines.length, 1, server.stdout());
      const ready = JSON.parse(lines[0]!);
      assert.equal(ready.msg, 'snaplink ready');
      assert.equal(ready.url, server.url);
      assert.equal(ready.dashboardUrl, `${server.url}/_snaplink/ui/`);
      assert.match(ready.version, /^\d+\.\d+\.\d+/);
      const banner = await waitFor(async () => server.stderr(), (t) => /dashboard is at/.test(t), 10_000, 'the banner');
      assert.match(banner, new RegExp(`^snaplink: the dashboard is at ${ready.dashboardUrl.replace(/[.]/g, '\\.')} \\(sign in with the admin token\\)$`, 'm'));
      const page = await fetch(ready.dashboardUrl);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type')!, /^text\/html/);
      // A browser pointed at the server's address lands on the dashboard.
      const root = await fetch(`${server.url}/`, { redirect: 'manual' });
      assert.equal(root.status, 302);
      assert.equal(root.headers.get('location'), '/_snaplink/ui/');
    } finally {
      await server.stop();
    }
  });

  test('at a terminal the log is one readable line each, local time first; JSON when piped or asked for', async () => {
    const { args: store } = await fresh();
    const { spawn } = await import('node:child_process');
    const command = [process.execPath, BIN, 'serve', '--port', '0', ...store, '--admin-token', ADMIN].map((a) => `'${a}'`).join(' ');
    const tty = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, NO_COLOR: '1' } });
    let screen = '';
    tty.stdout!.on('data', (d: Buffer) => (screen += d.toString().replace(/\r\n/g, '\n')));
    try {
      const url = /^\d\d:\d\d:\d\d\.\d{3} INFO  snaplink ready url=(\S+) dashboardUrl=\S+\/_snaplink\/ui\/ version=\S+$/m.exec(await waitFor(async () => screen, (t) => /snaplink ready url=/.test(t), 20_000, 'the ready line'))![1]!;
      await fetch(`${url}${collectionPath(P1)}`, { headers: { 'x-request-id': 'tty-1' } });
      const line = await waitFor(async () => screen, (t) => /reqId=tty-1/.test(t), 10_000, 'the request line');
      assert.match(line, new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  GET ${collectionPath(P1)} 401 [\\d.]+ ms reqId=tty-1 ip=127\\.0\\.0\\.1$`, 'm'));
      assert.doesNotMatch(screen, /^\{"level"/m, 'no JSON at a terminal');
    } finally {
      tty.kill('SIGTERM');
      await new Promise((resolve) => tty.on('close', resolve));
    }
    // Pretty through a pipe when asked for (and not coloured there).
    const piped = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...(await fresh()).args, '--log-format', 'pretty'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    piped.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor(async () => out, (t) => /^\d\d:\d\d:\d\d\.\d{3} INFO  snaplink ready url=http/m.test(t), 20_000, 'the pretty ready line');
    } finally {
      piped.kill('SIGTERM');
    }
  });

  test('one server per SQLite store: a second is refused; the store commands work beside it; a killed server leaves no lock', { skip: STORE_KIND === 'postgres' && 'SQLite only (nodes sharing PostgreSQL are the design: test/postgres/)' }, async () => {
    const { dir, args: store } = await fresh();
    const first = await spawnServer([...store, '--seed', writeSeed(dir)]);
    try {
      const second = await spawnServer([...store]).catch((err: Error) => err);
      if (!(second instanceof Error)) {
        await second.stop();
        assert.fail('a second server started on the same store');
      }
      assert.match(second.message, /exited \(1\) before listening:\n\nsnaplink: another snaplink server is serving the store in .+; stop it first, or give this one its own --data-dir\n$/);
      assert.equal((await snaplinkCli(['seed', writeSeed(dir), ...store])).code, 0, 'a store command beside the server');
      assert.equal((await new CheckedClient({ baseUrl: first.url, ...KEYS.ownerP1 }).listPrivateEndpoints(P1)).totalCount, 0, 'the first server goes on');
    } finally {
      first.proc.kill('SIGKILL');
      await first.exited;
    }
    const next = await spawnServer([...store]);
    await next.stop();
  });

  test('logs one JSON line per request with its id, and never the Authorization header', async () => {
    const { dir, args: store } = await fresh();
    const server = await spawnServer([...store, '--seed', writeSeed(dir)]);
    try {
      const c = new CheckedClient({ baseUrl: server.url, ...KEYS.ownerP1, headers: { 'x-request-id': 'req-42' } });
      await c.request('GET', collectionPath(P1));
      // The line is written after the answer, buffered with others (at most 4 KiB or 100 ms):
      // wait for it rather than for a guessed delay. Only whole lines are read.
      const lines = () => server.stdout().split('\n').slice(0, -1).map((l) => JSON.parse(l));
      const mine = await waitFor(
        async () => lines().filter((l) => l.reqId === 'req-42'),
        (found) => found.length >= 2,
        10_000,
        'the two log lines of req-42',
      );
      // The first try answers the challenge (401), the second succeeds: one line each.
      assert.deepEqual(mine.map((l) => l.status), [401, 200]);
      assert.equal(mine[1].principal, KEYS.ownerP1.publicKey);
      assert.doesNotMatch(server.stdout(), /Digest username|response=/);
      // How the log output tells an answer's line from the others (http/log-output.ts).
      for (const raw of server.stdout().split('\n').filter((l) => l.includes('"reqId":"req-42"'))) assert.ok(raw.endsWith('"msg":"request"}'), raw);
      // Lines of answers just given are all there once the server has stopped.
      const burst = new CheckedClient({ baseUrl: server.url, ...KEYS.ownerP1, headers: { 'x-request-id': 'burst' } });
      for (let i = 0; i < 30; i++) await burst.request('GET', collectionPath(P1));
      assert.equal(await server.stop(), 0);
      assert.equal(lines().filter((l) => l.reqId === 'burst' && l.status === 200).length, 30);
    } finally {
      await server.stop();
    }
  });

  test('log lines: an answer\'s waits (4,096 characters or 100 ms), any other line takes the queue out at once, in order', async () => {
    const written: string[] = [];
    const buffer = lineBuffer({ write: (text: string) => written.push(text) }, { size: 200, ms: 50 });
    const request = (n: number) => `{"level":30,"reqId":"r${n}","status":200,"msg":"request"}\n`;
    buffer.write(request(1));
    buffer.write(request(2));
    assert.deepEqual(written, [], 'request lines wait');
    await waitFor(async () => written.length, (n) => n > 0, 2000, 'the timed flush');
    assert.deepEqual(written, [request(1) + request(2)]);
    buffer.write(request(3));
    buffer.write('{"level":30,"endpointId":"e","msg":"endpoint transition"}\n');
    assert.deepEqual(written.slice(1), [request(3) + '{"level":30,"endpointId":"e","msg":"endpoint transition"}\n'], 'at once, after the queued line');
    for (let i = 4; i < 8; i++) buffer.write(request(i));
    assert.equal(written.length, 3, 'a full queue goes at once');
    assert.equal(written[2], [4, 5, 6, 7].map(request).join(''));
  });

  test('log lines still queued are written when the process exits: process.exit() or an uncaught exception', async () => {
    const { execFile } = await import('node:child_process');
    const run = (end: string) =>
      new Promise<string>((resolve) => {
        const program = `import { logOutput } from ${JSON.stringify(new URL('../dist/http/log-output.js', import.meta.url).href)};
          const out = logOutput();
          for (let i = 0; i < 5; i++) out.write('{"n":' + i + ',"msg":"request"}\\n');
          setTimeout(() => { ${end} }, 10);`;
        execFile(process.execPath, ['--input-type=module', '-e', program], (_err, stdout) => resolve(stdout));
      });
    for (const end of ['process.exit(0)', 'throw new Error("boom")']) {
      const lines = (await run(end)).split('\n').filter(Boolean).map((l) => JSON.parse(l).n);
      assert.deepEqual(lines, [0, 1, 2, 3, 4], end);
    }
  });

  test('options come from SNAPLINK_* variables and are checked', async () => {
    const bad = await snaplinkCli(['serve'], { SNAPLINK_PORT: 'eighty' });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /port.*expected an integer/i);
  });

  test('whole-number fault options are checked before anything is sent', async () => {
    // No server runs here: the refusal comes from the command line itself.
    const bad = await snaplinkCli(['faults', 'add', '--kind', 'HTTP_ERROR', '--status', '503.5', '--error-code', 'X'], { SNAPLINK_ADMIN_TOKEN: 't', SNAPLINK_URL: 'http://127.0.0.1:9' });
    assert.equal(bad.code, 2, 'a usage error');
    assert.match(bad.stderr, /--status.*expected an integer from 400 to 599/);
  });
});
