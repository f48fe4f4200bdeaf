import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { CheckedClient, mintToken, spawnSeededServer, type SeededServer, waitFor } from './support/harness.js';
import { collectionPath, KEYS, P1, SERVICE_ACCOUNTS } from './support/world.js';

// Slow, idle and greedy clients: a crowd of connections that send nothing, or trickle their
// headers or body, must not keep a normal client from its answers; each limit
// (--headers-timeout, --request-timeout, --keep-alive-timeout, --max-connections) cuts what it
// is for.

const servers: SeededServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function serve(args: string[]): Promise<string> {
  const s = await spawnSeededServer(args);
  servers.push(s);
  return s.server.url;
}

interface Held {
  socket: Socket;
  /** What the server sent. */
  received: () => string;
  closed: Promise<void>;
  isClosed: () => boolean;
}

/** A raw connection; resolves once connected. `trickle` is sent a byte at a time, every `everyMs`, after `first`. */
function hold(url: string, first = '', trickle = '', everyMs = 250): Promise<Held> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    let received = '';
    let isClosed = false;
    let timer: NodeJS.Timeout | undefined;
    socket.on('data', (d) => (received += d.toString()));
    socket.on('error', () => {});
    const closed = new Promise<void>((r) =>
      socket.on('close', () => {
        isClosed = true;
        clearInterval(timer);
        r();
      }),
    );
    socket.once('connect', () => {
      if (first) socket.write(first);
      let i = 0;
      if (trickle) timer = setInterval(() => socket.writable && socket.write(trickle[i++ % trickle.length]!), everyMs);
      resolve({ socket, received: () => received, closed, isClosed: () => isClosed });
    });
    socket.once('error', reject);
  });
}

const HEAD = `GET ${collectionPath(P1)} HTTP/1.1\r\nHost: x\r\nAccept: application/vnd.atlas.2024-11-13+json\r\n`;
const BODY_HEAD = `POST /api/oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\n`;

describe('slow and idle clients', () => {
  test('2,000 connections held open — idle, trickling headers, trickling a body — and a normal client still gets its answers', { timeout: 180_000 }, async () => {
    // Long timeouts, so all 2,000 stay open for the whole test however slow the machine is.
    const url = await serve(['--headers-timeout', '900', '--request-timeout', '900']);
    const crowd: Held[] = [];
    try {
    for (let batch = 0; batch < 20; batch++) {
      crowd.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, (_, i) => {
            const kind = (batch * 100 + i) % 3;
            return kind === 0 ? hold(url) : kind === 1 ? hold(url, HEAD, 'X-Slow: aaaaaaaa\r\n', 500) : hold(url, BODY_HEAD, 'a=1&', 500);
          }),
        )),
      );
    }
    assert.equal(crowd.length, 2000);
    // Connections are accepted in the order they arrive: once the normal client is answered,
    // the server has taken every one of the 2,000 before it.
    const client = new CheckedClient({ baseUrl: url, ...KEYS.ownerP1 });
    const created = await client.request<any>('POST', collectionPath(P1), { body: { cloudProvider: 'AWS', regionName: 'US_EAST_1' } });
    assert.equal(created.status, 201);
    for (let i = 0; i < 20; i++) assert.equal((await client.request('GET', collectionPath(P1))).status, 200);
    assert.equal((await client.request('GET', `${collectionPath(P1)}/${created.body.id}`)).status, 200);
    const token = await mintToken(url, SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret);
    assert.equal((await new CheckedClient({ baseUrl: url, accessToken: token }).request('GET', collectionPath(P1))).status, 200);
    assert.equal((await client.request('DELETE', `${collectionPath(P1)}/${created.body.id}`)).status, 204);
    assert.deepEqual(crowd.filter((h) => h.isClosed()).length, 0, 'the crowd was held open the whole time');
    } finally {
      for (const h of crowd) h.socket.destroy();
    }
  });

  test('a client trickling headers or a body gets 408 and is closed; idle connections are closed', { timeout: 60_000 }, async () => {
    const url = await serve(['--headers-timeout', '1', '--request-timeout', '2', '--keep-alive-timeout', '1']);
    const headers = await hold(url, HEAD, 'X-Slow: aaaaaaaa\r\n', 100);
    const body = await hold(url, BODY_HEAD, 'a=1&', 100);
    const idle = await hold(url);
    // A connection that made one request and then sits idle.
    const kept = await hold(url, 'GET /_snaplink/health HTTP/1.1\r\nHost: x\r\n\r\n');
    await Promise.all([headers.closed, body.closed, idle.closed, kept.closed]);
    for (const [name, h] of [
      ['headers', headers],
      ['body', body],
    ] as const) {
      assert.match(h.received(), /^HTTP\/1\.1 408 Request Timeout\r\n/, `${name}: ${h.received()}`);
      assert.match(h.received(), /"errorCode":"REQUEST_TIMEOUT"/);
    }
    assert.match(kept.received(), /^HTTP\/1\.1 200 /, 'the kept-alive connection was answered before it was closed');
  });

  test('beyond --max-connections new connections are closed on arrival; freed slots are used again', { timeout: 60_000 }, async () => {
    const url = await serve(['--max-connections', '20', '--headers-timeout', '900', '--request-timeout', '900']);
    const held = await Promise.all(Array.from({ length: 20 }, () => hold(url)));
    try {
    // A request sent over one connection too many is never answered: the connection closes.
    const extra = await hold(url, 'GET /_snaplink/health HTTP/1.1\r\nHost: x\r\n\r\n');
    await extra.closed;
    assert.equal(extra.received(), '');
    for (const h of held.splice(0, 5)) {
      h.socket.destroy();
      await h.closed;
    }
    // The server learns of the closes as they reach it: a client retrying is served soon after.
    const client = new CheckedClient({ baseUrl: url, ...KEYS.ownerP1 });
    const res = await waitFor(() => client.request('GET', collectionPath(P1)).catch(() => undefined), (r) => r !== undefined, 30_000, 'a freed slot');
    assert.equal(res?.status, 200);
    } finally {
      for (const h of held) h.socket.destroy();
    }
  });
});
