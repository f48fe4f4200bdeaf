import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { type DigestAlgorithm, parseAuthParams } from '../src/atlas/digest.js';
import { digestAuthorization } from './support/digest-auth.js';
import { rawRequest, startTestServer, type TestServer } from './support/harness.js';
import { collectionPath, P1 } from './support/world.js';

// HTTP Digest as RFC 7616 and Atlas define it, driven by hand-built Authorization headers so
// each rule is exercised on its own.

const V = 'application/vnd.atlas.2024-11-13+json';

interface Challenge {
  nonce: string;
  algorithm: DigestAlgorithm;
  stale: boolean;
  raw: string[];
}

async function challenge(server: TestServer): Promise<Challenge> {
  const res = await rawRequest(server.url, 'GET', collectionPath(P1), { accept: V });
  // Node joins repeated WWW-Authenticate headers with ", "; split them back into challenges.
  const raw = [res.headers['www-authenticate'] ?? []].flat().flatMap((h) => h.split(/,\s*(?=Digest\s)/));
  const p = parseAuthParams(raw[0]!.replace(/^Digest /, ''))!;
  return { nonce: p.get('nonce')!, algorithm: p.get('algorithm') as DigestAlgorithm, stale: p.get('stale') === 'true', raw };
}

const authorization = digestAuthorization;

const get = (server: TestServer, auth: string, path = collectionPath(P1)) => rawRequest(server.url, 'GET', path, { accept: V, authorization: auth });

describe('Digest with MD5 (the default)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  test('a nonce is reused with increasing nonce-counts', async () => {
    const c = await challenge(server);
    assert.equal(c.algorithm, 'MD5');
    for (let nc = 1; nc <= 5; nc++) assert.equal((await get(server, authorization({ nonce: c.nonce, nc }))).status, 200, `nc=${nc}`);
  });

  test('a replayed nonce-count is refused (stale=false); counts slightly out of order are not', async () => {
    const c = await challenge(server);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 3 }))).status, 200);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 2 }))).status, 200);
    const replay = await get(server, authorization({ nonce: c.nonce, nc: 3 }));
    assert.equal(replay.status, 401);
    assert.match(String(replay.headers['www-authenticate']), /stale=false/);
  });

  test('counts out of order are accepted within a window of 1024 below the highest, refused further down (one rule on both stores)', async () => {
    const c = await challenge(server);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 2000 }))).status, 200);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 2000 - 1024 }))).status, 401, 'at the window’s edge: refused, though never used');
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 1 }))).status, 401, 'far below: refused, though never used');
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 2000 - 1023 }))).status, 200, 'inside the window');
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 2000 - 1023 }))).status, 401, 'inside the window, replayed');
  });

  test('the exact same Authorization header twice: the second is refused', async () => {
    const c = await challenge(server);
    const auth = authorization({ nonce: c.nonce, nc: 1 });
    assert.equal((await get(server, auth)).status, 200);
    assert.equal((await get(server, auth)).status, 401);
  });

  test('a forged or altered nonce is refused', async () => {
    const c = await challenge(server);
    const forged = (c.nonce[0] === 'A' ? 'B' : 'A') + c.nonce.slice(1);
    assert.equal((await get(server, authorization({ nonce: forged, nc: 1 }))).status, 401);
    assert.equal((await get(server, authorization({ nonce: 'made-up', nc: 1 }))).status, 401);
  });

  test('the digest binds the method and the URI', async () => {
    const c = await challenge(server);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 1, method: 'POST' }))).status, 401);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 2, uri: collectionPath(P1, 'GCP') }))).status, 401);
    // The URI must be the one requested, query included.
    const withQuery = `${collectionPath(P1)}?pretty=true`;
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 3, uri: withQuery }), withQuery)).status, 200);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 4 }), withQuery)).status, 401);
    // RFC 7616 allows the absolute form of the request-target.
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 5, uri: `${server.url}${collectionPath(P1)}` }))).status, 200);
  });

  test('wrong realm, missing qop, an unoffered algorithm, or a wrong key are refused', async () => {
    const c = await challenge(server);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 1, realm: 'Other' }))).status, 401);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 2, qop: null }))).status, 401);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 3, algorithm: 'SHA-256' }))).status, 401);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 4, privateKey: 'wrong-key-here' }))).status, 401);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 5, qop: 'auth-int' }))).status, 401);
    // A response of the right length in characters but not in bytes: a 401, not a 500.
    const odd = authorization({ nonce: c.nonce, nc: 6 }).replace(/response="[0-9a-f]{31}/, 'response="\u00e9'.padEnd(41, '0'));
    assert.match(odd, /response="é0{30}[0-9a-f]"/);
    assert.equal((await get(server, odd)).status, 401);
  });

  test('each challenge carries a fresh nonce', async () => {
    const a = await challenge(server);
    const b = await challenge(server);
    assert.notEqual(a.nonce, b.nonce);
  });
});

const LIFETIME = 2000;

describe('Digest nonce expiry', () => {
  let server: TestServer;
  before(async () => {
    // Long enough that a loaded machine answers the challenge well inside it.
    server = await startTestServer({ nonceLifetimeMs: LIFETIME });
  });
  after(() => server.close());

  test('correct credentials on an expired nonce get 401 stale=true; wrong ones get stale=false', async () => {
    const c = await challenge(server);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 1 }))).status, 200);
    await sleep(LIFETIME + 100);
    const stale = await get(server, authorization({ nonce: c.nonce, nc: 2 }));
    assert.equal(stale.status, 401);
    assert.match(String(stale.headers['www-authenticate']), /stale=true/);
    const wrong = await get(server, authorization({ nonce: c.nonce, nc: 3, privateKey: 'wrong-key-here' }));
    assert.match(String(wrong.headers['www-authenticate']), /stale=false/);
  });

  test('a client that honours stale=true carries on transparently', async () => {
    const client = server.client();
    assert.equal((await client.request('GET', collectionPath(P1))).status, 200);
    await sleep(LIFETIME + 100);
    assert.equal((await client.request('GET', collectionPath(P1))).status, 200);
  });
});

describe('Digest with SHA-256', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ digestAlgorithms: ['SHA-256', 'MD5'] });
  });
  after(() => server.close());

  test('offers one challenge per algorithm, SHA-256 first, and accepts either', async () => {
    const c = await challenge(server);
    assert.equal(c.raw.length, 2);
    assert.match(c.raw[0]!, /algorithm=SHA-256/);
    assert.match(c.raw[1]!, /algorithm=MD5/);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 1, algorithm: 'SHA-256' }))).status, 200);
    assert.equal((await get(server, authorization({ nonce: c.nonce, nc: 2, algorithm: 'MD5' }))).status, 200);
  });

  test('the bundled client picks SHA-256', async () => {
    assert.equal((await server.client().request('GET', collectionPath(P1))).status, 200);
  });
});

describe('auth-param grammar', () => {
  test('parses tokens, quoted strings and escapes', () => {
    const p = parseAuthParams('username="a\\"b", nc=00000001 ,qop=auth,  realm="MMS Public API"')!;
    assert.equal(p.get('username'), 'a"b');
    assert.equal(p.get('nc'), '00000001');
    assert.equal(p.get('qop'), 'auth');
    assert.equal(p.get('realm'), 'MMS Public API');
  });

  test('refuses malformed lists and repeated names', () => {
    for (const bad of ['username', 'a="unterminated', '=x', 'a=b c=d', 'a=1, a=2']) assert.equal(parseAuthParams(bad), null, bad);
  });
});
