import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { basicAuth, callControl, CheckedClient, scratch, tokenRequest, writeSeed } from '../support/harness.js';
import { type ServerProcess, spawnServer } from '../support/process.js';
import { collectionPath, KEYS, P1, SERVICE_ACCOUNTS } from '../support/world.js';

// The brute-force lockout on three nodes sharing one PostgreSQL database: failures sent
// round-robin, as a load balancer spreads them, lock the address out after as many tries as on
// one node — not three times as many.

const LIMIT = 5;
const TOKEN = 'lockout-admin-token';
const { fresh, cleanup } = scratch();
let nodes: ServerProcess[] = [];

before(async () => {
  const { dir, args } = await fresh();
  const common = [...args, '--seed', writeSeed(dir), '--trust-proxy', 'true', '--auth-failure-limit', String(LIMIT), '--auth-failure-window', '600', '--auth-lockout', '600', '--admin-token', TOKEN];
  nodes = await Promise.all([spawnServer(common), spawnServer(common), spawnServer(common)]);
});
after(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
  await cleanup();
});

const wrong = { publicKey: KEYS.ownerP1.publicKey, privateKey: 'guess-guess-guess' };
const from = (node: ServerProcess, ip: string, credentials: typeof wrong = KEYS.ownerP1) => new CheckedClient({ baseUrl: node.url, ...credentials, headers: { 'x-forwarded-for': ip } });

describe('lockout across nodes', () => {
  test(`wrong passwords round-robin over three nodes: locked out everywhere after ${LIMIT}, as on one node`, async () => {
    const ip = '10.20.30.40';
    for (let i = 0; i < LIMIT - 1; i++) assert.equal((await from(nodes[i % 3]!, ip, wrong).request('GET', collectionPath(P1))).status, 401);
    // One short of the limit: every node still lets the right key in.
    for (const node of nodes) assert.equal((await from(node, ip).request('GET', collectionPath(P1))).status, 200, 'not locked before the limit');
    assert.equal((await from(nodes[(LIMIT - 1) % 3]!, ip, wrong).request('GET', collectionPath(P1))).status, 401);
    for (const node of nodes) {
      const locked = await from(node, ip).request<any>('GET', collectionPath(P1));
      assert.equal(locked.status, 429, 'locked out on every node, even with the right key');
      assert.equal(locked.body.errorCode, 'TOO_MANY_FAILED_AUTHENTICATIONS');
      assert.ok(Number(locked.headers['retry-after']) > 500);
    }
    // The token endpoint of every node is closed to it too; another address carries on.
    for (const node of nodes) {
      const token = await tokenRequest(node.url, { 'x-forwarded-for': ip, authorization: basicAuth(SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret) });
      assert.equal(token.status, 429);
    }
    for (const node of nodes) assert.equal((await from(node, '10.20.30.41').request('GET', collectionPath(P1))).status, 200);
  });

  test('wrong client secrets on the token endpoints of different nodes count together', async () => {
    const ip = '10.20.30.50';
    for (let i = 0; i < LIMIT; i++) {
      const res = await tokenRequest(nodes[i % 3]!.url, { 'x-forwarded-for': ip, authorization: basicAuth(SERVICE_ACCOUNTS.saOrgA.clientId, 'wrong-secret-123456') });
      assert.equal(res.status, 401);
    }
    for (const node of nodes) assert.equal((await from(node, ip).request('GET', collectionPath(P1))).status, 429);
  });

  test('wrong admin tokens round-robin over three nodes lock the address out of every control API', async () => {
    const ip = '10.20.30.70';
    const control = (node: ServerProcess, token: string) => fetch(`${node.url}/_snaplink/status`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': ip } });
    for (let i = 0; i < LIMIT; i++) assert.equal((await control(nodes[i % 3]!, `guess-${i}`)).status, 401);
    for (const node of nodes) assert.equal((await control(node, TOKEN)).status, 429, 'locked out on every node, even with the right token');
  });

  test('a reset on one node lifts the lockout on every node', async () => {
    const ip = '10.20.30.60';
    for (let i = 0; i < LIMIT; i++) assert.equal((await from(nodes[i % 3]!, ip, wrong).request('GET', collectionPath(P1))).status, 401);
    for (const node of nodes) assert.equal((await from(node, ip).request('GET', collectionPath(P1))).status, 429);
    assert.equal((await callControl(nodes[1]!.url, TOKEN, 'POST', '/_snaplink/reset')).status, 200);
    for (const node of nodes) assert.equal((await from(node, ip).request('GET', collectionPath(P1))).status, 200, 'lifted everywhere');
  });
});
