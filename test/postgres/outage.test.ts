import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { after, before, test } from 'node:test';
import { AtlasClient } from '../../src/client/index.js';
import { basicAuth, scratch, tokenRequest, writeSeed } from '../support/harness.js';
import { assertConforms } from '../support/oracle.js';
import { type ServerProcess, spawnServer } from '../support/process.js';
import { collectionPath, KEYS, P1, SERVICE_ACCOUNTS } from '../support/world.js';

// The database going away for a few seconds: a TCP proxy between snaplink and PostgreSQL is
// cut (every connection dropped, new ones refused), then restored. snaplink must answer 503
// ApiErrors meanwhile, never crash, recover by itself, and lose nothing it acknowledged.

class Proxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  async cut(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server!.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

const { fresh, cleanup } = scratch();
let proxy: Proxy;
let node: ServerProcess;

before(async () => {
  const { dir, databaseUrl } = await fresh();
  const url = new URL(databaseUrl!);
  proxy = new Proxy({ host: url.hostname, port: Number(url.port || 5432) });
  await proxy.open();
  url.host = `127.0.0.1:${proxy.port}`;
  node = await spawnServer(['--database', url.toString(), '--seed', writeSeed(dir), '--timings', 'realistic']);
});
after(async () => {
  await node.stop();
  await proxy.cut().catch(() => {});
  await cleanup();
});

test('a few seconds without the database: clean 503s, no crash, full recovery, nothing acknowledged lost', async () => {
  const c = new AtlasClient({ baseUrl: node.url, ...KEYS.orgOwnerA });
  const statuses: { phase: string; status: number; errorCode?: string }[] = [];
  const acknowledged: string[] = [];
  let phase = 'before';
  let stop = false;
  const regions = ['US_EAST_1', 'US_EAST_2', 'US_WEST_1', 'US_WEST_2', 'EU_WEST_1', 'EU_WEST_2', 'EU_WEST_3', 'EU_CENTRAL_1', 'EU_NORTH_1', 'AP_EAST_1', 'AP_SOUTH_1', 'SA_EAST_1'];
  node.exited.then((code) => {
    if (!stop) console.error(`snaplink exited (${code}):\n${node.stderr()}\n${node.stdout().slice(-4000)}`);
  });
  const load = (async () => {
    for (let i = 0; !stop; i++) {
      const creating = i % 4 === 0 && acknowledged.length < regions.length;
      const res = creating
        ? await c.request<any>('POST', collectionPath(P1), { body: { cloudProvider: 'AWS', regionName: regions[acknowledged.length] } })
        : await c.request<any>('GET', collectionPath(P1));
      if (res.status !== 200 && res.status !== 201 && res.status !== 409) {
        assertConforms({ method: creating ? 'POST' : 'GET', url: collectionPath(P1), status: res.status, headers: res.headers, text: res.text });
      }
      statuses.push({ phase, status: res.status, errorCode: res.body?.errorCode });
      if (res.status === 201) acknowledged.push(res.body.id);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();

  await new Promise((r) => setTimeout(r, 1000));
  phase = 'outage';
  await proxy.cut();
  await new Promise((r) => setTimeout(r, 1500));
  const readyDuring = (await fetch(`${node.url}/_snaplink/ready`)).status;
  // The token endpoint answers in RFC 6749's terms: 503 temporarily_unavailable, with Retry-After.
  const { clientId, clientSecret } = SERVICE_ACCOUNTS.saOrgA;
  const token = await tokenRequest(node.url, { authorization: basicAuth(clientId, clientSecret) });
  const tokenDuring = { status: token.status, retryAfter: token.headers.get('retry-after'), body: token.body };
  await new Promise((r) => setTimeout(r, 1500));
  phase = 'after';
  await proxy.open();
  await new Promise((r) => setTimeout(r, 3000));
  stop = true;
  await load;

  assert.equal(node.proc.exitCode, null, `still running\n${node.stderr()}\n${node.stdout().slice(-3000)}`);
  assert.equal(readyDuring, 503, 'not ready while the database is away');
  assert.deepEqual(tokenDuring, {
    status: 503,
    retryAfter: '1',
    body: { error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable; retry shortly.' },
  });
  assert.equal((await fetch(`${node.url}/_snaplink/ready`)).status, 200, 'ready again');
  const unexpected = statuses.filter((s) => ![200, 201, 409, 503].includes(s.status));
  assert.deepEqual(unexpected, [], 'only 503s while the database is away');
  assert.ok(statuses.some((s) => s.phase === 'outage' && s.status === 503 && s.errorCode === 'SERVICE_UNAVAILABLE'), 'the outage was seen');
  assert.ok(statuses.filter((s) => s.phase === 'after').slice(-10).every((s) => s.status !== 503), 'recovered by itself');
  const stored = (await c.listPrivateEndpoints(P1, { itemsPerPage: 500 })).results.map((e) => e.id);
  for (const id of acknowledged) assert.ok(stored.includes(id), `acknowledged ${id} was lost`);
  assert.ok(acknowledged.length >= 3);
});
