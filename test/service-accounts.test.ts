import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { createHash, createHmac } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { basicAuth, CheckedClient, mintToken, parseHttpAnswer, startTestServer, type TestServer, tokenRequest as tokenRequestTo, waitFor } from './support/harness.js';
import { assertConforms, AUTHENTICATION_FAILURE } from './support/oracle.js';
import { collectionPath, ORG_A, P1, P3, SERVICE_ACCOUNTS } from './support/world.js';
import { exec, python } from './support/tools.js';

// Service accounts: the OAuth 2.0 client-credentials flow exactly as Atlas documents it, with
// real clients, and every way a token stops working.

const V = 'application/vnd.atlas.2024-11-13+json';
const { clientId, clientSecret } = SERVICE_ACCOUNTS.saOrgA;

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

const basic = basicAuth;
const tokenRequest = (headers: Record<string, string>, body: string) => tokenRequestTo(server.url, headers, body);
const mint = (id: string = clientId, secret: string = clientSecret) => mintToken(server.url, id, secret);

const withToken = (token: string) => new CheckedClient({ baseUrl: server.url, accessToken: token });

describe('the token endpoint', () => {
  test('curl, exactly as the Atlas documentation shows it, then a Bearer call', async () => {
    const script = `
      ACCESS_TOKEN=$(curl -fsS --request POST "$BASE/api/oauth/token" \\
        --header "Authorization: Basic $(printf '%s' "\${CLIENT_ID}:\${CLIENT_SECRET}" | base64 | tr -d '\\n')" \\
        --header "Content-Type: application/x-www-form-urlencoded" \\
        --header "Accept: application/json" \\
        --data "grant_type=client_credentials" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
      curl -sS --header "Authorization: Bearer \${ACCESS_TOKEN}" --header "Accept: ${V}" \\
        -D - -X GET "$BASE${collectionPath(P1)}?pretty=true"`;
    const { stdout } = await exec('bash', ['-c', script], { env: { ...process.env, BASE: server.url, CLIENT_ID: clientId, CLIENT_SECRET: clientSecret } });
    const answer = parseHttpAnswer(stdout);
    assert.equal(answer.status, 200);
    assertConforms({ method: 'GET', url: `${collectionPath(P1)}?pretty=true`, ...answer });
  });

  test('answers {access_token, token_type: Bearer, expires_in: 3600}, not to be cached', async () => {
    const res = await tokenRequest({ authorization: basic(clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' }, 'grant_type=client_credentials');
    assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'token_type']);
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(res.body.expires_in, 3600);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.match(String(res.headers.get('content-type')), /^application\/json/);
  });

  test('the token is a JWT as Atlas\'s are: signed HS256, sub = client id, exp = iat + expires_in; the store keeps only its hash', async () => {
    const res = await tokenRequest({ authorization: basic(clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' }, 'grant_type=client_credentials');
    const token: string = res.body.access_token;
    const [header, payload, signature] = token.split('.');
    assert.ok(header && payload && signature && token.split('.').length === 3, token);
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    assert.deepEqual(decode(header), { alg: 'HS256', typ: 'JWT' });
    const claims = decode(payload);
    assert.deepEqual(Object.keys(claims).sort(), ['exp', 'iat', 'iss', 'jti', 'sub']);
    assert.equal(claims.sub, clientId);
    assert.equal(claims.exp - claims.iat, res.body.expires_in);
    assert.ok(Math.abs(claims.iat - Date.now() / 1000) < 60, `iat ${claims.iat}`);
    assert.match(claims.jti, /^[A-Za-z0-9_-]{43}$/, '32 random bytes');
    const db = server.snaplink.store.db;
    const key = (await db.selectFrom('settings').select('value').where('key', '=', 'token_signing_secret').executeTakeFirstOrThrow()).value;
    assert.equal(signature, createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url'), 'an HMAC-SHA256 signature under the store\'s key');
    const rows = await db.selectFrom('access_tokens').selectAll().execute();
    assert.ok(rows.some((r) => r.token_hash === createHash('sha256').update(token).digest('hex')));
    assert.ok(!JSON.stringify(rows).includes(claims.jti) && !JSON.stringify(rows).includes(token), 'neither the token nor its jti is stored');
    // Revocable at once, JWT or not.
    assert.equal((await withToken(token).request('GET', collectionPath(P1))).status, 200);
    assert.equal((await tokenRequestTo(server.url, { authorization: basic(clientId, clientSecret), 'content-type': 'application/x-www-form-urlencoded' }, `token=${token}`, '/api/oauth/revoke')).status, 200);
    assert.equal((await withToken(token).request('GET', collectionPath(P1))).status, 401);
  });

  test('a CLI-style client that saves its token and reads exp from it asks for one token over three commands', async () => {
    const saved = join(server.scratch.dir, 'saved-token');
    /** One command, as the Atlas CLI runs one: reuse the saved token while its exp is ahead, else fetch and save a new one. */
    async function command(): Promise<number> {
      let token = existsSync(saved) ? readFileSync(saved, 'utf8') : undefined;
      const exp = token && Number(JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}').exp);
      if (!token || !(Number(exp) > Date.now() / 1000 + 10)) {
        token = await mint();
        writeFileSync(saved, token);
      }
      return (await withToken(token).request('GET', collectionPath(P1))).status;
    }
    const since = Date.now();
    assert.deepEqual([await command(), await command(), await command()], [200, 200, 200]);
    const journal = await waitFor(
      () => server.control<{ results: { path: string; method: string }[] }>('GET', `/_snaplink/requests?since=${since}&limit=1000`),
      (r) => r.body.results.filter((e) => e.path === collectionPath(P1)).length >= 3,
      10_000,
      'the three calls in the journal',
    );
    assert.equal(journal.body.results.filter((e) => e.method === 'POST' && e.path === '/api/oauth/token').length, 1, 'one token request for three commands');
  });

  test('client_secret_post works too', async () => {
    const res = await tokenRequest(
      { 'content-type': 'application/x-www-form-urlencoded' },
      new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString(),
    );
    assert.equal(res.status, 200);
  });

  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const cases: [string, Record<string, string>, string, number, string][] = [
    ['a wrong secret', { ...form, authorization: basic(clientId, 'mdb_sa_sk_wrong-wrong-wrong') }, 'grant_type=client_credentials', 401, 'invalid_client'],
    ['an unknown client', { ...form, authorization: basic('mdb_sa_id_nobody', clientSecret) }, 'grant_type=client_credentials', 401, 'invalid_client'],
    ['no client authentication', form, 'grant_type=client_credentials', 401, 'invalid_client'],
    ['a Bearer header instead of Basic', { ...form, authorization: 'Bearer x' }, 'grant_type=client_credentials', 401, 'invalid_client'],
    ['another grant type', { ...form, authorization: basic(clientId, clientSecret) }, 'grant_type=password&username=a&password=b', 400, 'unsupported_grant_type'],
    ['no grant type', { ...form, authorization: basic(clientId, clientSecret) }, '', 400, 'invalid_request'],
    ['a JSON body', { 'content-type': 'application/json', authorization: basic(clientId, clientSecret) }, '{"grant_type":"client_credentials"}', 400, 'invalid_request'],
    ['a repeated parameter', { ...form, authorization: basic(clientId, clientSecret) }, 'grant_type=client_credentials&grant_type=client_credentials', 400, 'invalid_request'],
    ['two client authentications', { ...form, authorization: basic(clientId, clientSecret) }, `grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}`, 400, 'invalid_request'],
  ];
  for (const [what, headers, body, status, error] of cases) {
    test(`${what}: ${status} ${error} (RFC 6749 §5.2)`, async () => {
      const res = await tokenRequest(headers, body);
      assert.equal(res.status, status);
      assert.equal(res.body.error, error);
      assert.equal(typeof res.body.error_description, 'string');
      if (status === 401) assert.match(String(res.headers.get('www-authenticate')), /^Basic realm=/);
    });
  }
});

describe('Bearer calls', () => {
  test('Python requests: token, then all four operations', async () => {
    const script = new URL('./clients/atlas_oauth.py', import.meta.url).pathname;
    const { stdout } = await exec(python(), [script, server.url, clientId, clientSecret, P1]);
    const responses = stdout.trim().split('\n').map((l) => JSON.parse(l));
    for (const r of responses) assertConforms(r);
    assert.deepEqual(responses.map((r) => r.status), [201, 200, 200, 204]);
  });

  test('the TypeScript client with client credentials', async () => {
    const c = new CheckedClient({ baseUrl: server.url, clientId, clientSecret });
    const e = await c.createPrivateEndpoint(P1, { regionName: 'ME_SOUTH_1' });
    assert.equal((await c.getPrivateEndpoint(P1, e.id)).id, e.id);
    await c.deletePrivateEndpoint(P1, e.id);
  });

  test('a service account never reaches another organization’s project', async () => {
    const res = await withToken(await mint()).request<any>('GET', collectionPath(P3));
    assert.equal(res.status, 401);
    assert.equal(res.body.errorCode, 'NOT_IN_GROUP');
  });

  test('a token is minted from any address, but used only from its access list', async () => {
    const token = await mint(SERVICE_ACCOUNTS.saFencedP1.clientId, SERVICE_ACCOUNTS.saFencedP1.clientSecret);
    const res = await withToken(token).request<any>('GET', collectionPath(P1));
    assert.equal(res.status, 403);
    assert.equal(res.body.errorCode, 'IP_ADDRESS_NOT_ON_ACCESS_LIST');
  });

  test('an unknown token is 401 with both challenges', async () => {
    const res = await withToken('not-a-token').request<any>('GET', collectionPath(P1));
    assert.equal(res.status, 401);
    assert.equal(res.body.errorCode, 'UNEXPECTED_ERROR');
    assert.match(String(res.headers['www-authenticate']), /Digest realm="MMS Public API".*Bearer realm="MMS Public API", error="invalid_token"/);
  });
});

describe('when a token stops working', () => {
  test('revoked: refused on the very next request; another client cannot revoke it', async () => {
    const token = await mint();
    const c = withToken(token);
    assert.equal((await c.request('GET', collectionPath(P1))).status, 200);
    const revoke = (id: string, secret: string, body: string) => tokenRequestTo(server.url, { authorization: basic(id, secret) }, body, '/api/oauth/revoke');
    // Someone else's revocation is accepted (RFC 7009) but does nothing.
    assert.equal((await revoke(SERVICE_ACCOUNTS.saOrgB.clientId, SERVICE_ACCOUNTS.saOrgB.clientSecret, `token=${token}`)).status, 200);
    assert.equal((await c.request('GET', collectionPath(P1))).status, 200);
    assert.equal((await revoke(clientId, clientSecret, '')).status, 400);
    assert.equal((await revoke(clientId, 'mdb_sa_sk_wrong-wrong-wrong', `token=${token}`)).status, 401);
    assert.equal((await revoke(clientId, clientSecret, `token=${token}&token_type_hint=access_token`)).status, 200);
    const revoked = await c.request('GET', collectionPath(P1));
    assert.equal(revoked.status, 401);
    assert.equal(revoked.text, JSON.stringify(AUTHENTICATION_FAILURE), 'a revoked token is a failed authentication, as Atlas answers it');
  });

  test('the client revokes its own token and transparently takes a new one', async () => {
    const c = new CheckedClient({ baseUrl: server.url, clientId, clientSecret });
    const first = await c.accessToken();
    await c.revokeToken();
    assert.equal((await withToken(first).request('GET', collectionPath(P1))).status, 401);
    assert.equal((await c.request('GET', collectionPath(P1))).status, 200);
    assert.notEqual(await c.accessToken(), first);
  });

  test('rotated secret: the old secret and its tokens stop working; the new one works', async () => {
    const created = await server.control('POST', '/_snaplink/service-accounts', { roles: [{ groupId: P1, roleName: 'GROUP_OWNER' }] });
    assert.equal(created.status, 201);
    const { clientId: id, clientSecret: secret } = created.body;
    assert.match(id, /^mdb_sa_id_[0-9a-f]{24}$/);
    assert.match(secret, /^mdb_sa_sk_/);
    const token = await mint(id, secret);
    const rotated = await server.control('POST', `/_snaplink/service-accounts/${id}/rotate`);
    assert.equal(rotated.status, 200);
    assert.notEqual(rotated.body.clientSecret, secret);
    assert.equal((await withToken(token).request('GET', collectionPath(P1))).status, 401);
    const old = await tokenRequest({ authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' }, 'grant_type=client_credentials');
    assert.equal(old.status, 401);
    assert.equal((await withToken(await mint(id, rotated.body.clientSecret)).request('GET', collectionPath(P1))).status, 200);
  });

  test('deleted service account: its tokens are refused', async () => {
    const created = await server.control('POST', '/_snaplink/service-accounts', { roles: [{ orgId: ORG_A, roleName: 'ORG_OWNER' }] });
    const token = await mint(created.body.clientId, created.body.clientSecret);
    assert.equal((await server.control('DELETE', `/_snaplink/service-accounts/${created.body.clientId}`)).status, 204);
    assert.equal((await withToken(token).request('GET', collectionPath(P1))).status, 401);
  });
});

describe('expiry', () => {
  let short: TestServer;
  before(async () => {
    // Long enough that the first use surely comes before expiry, even on a loaded machine.
    short = await startTestServer({ tokenLifetimeMs: 2500 });
  });
  after(() => short.close());

  test('an expired token is refused', async () => {
    const res = await tokenRequestTo(short.url, { authorization: basic(clientId, clientSecret) });
    const { access_token: token, expires_in: expiresIn } = res.body as { access_token: string; expires_in: number };
    assert.equal(expiresIn, 3);
    const c = new CheckedClient({ baseUrl: short.url, accessToken: token });
    assert.equal((await c.request('GET', collectionPath(P1))).status, 200);
    await sleep(2600);
    const expired = await c.request('GET', collectionPath(P1));
    assert.equal(expired.status, 401);
    assert.equal(expired.text, JSON.stringify(AUTHENTICATION_FAILURE), 'an expired token is a failed authentication, as Atlas answers it');
  });
});

describe('managing identities over the control API', () => {
  test('organization, project, service account, roles and access list', async () => {
    const org = await server.control('POST', '/_snaplink/orgs', { name: 'Globex' });
    assert.equal(org.status, 201);
    const project = await server.control('POST', '/_snaplink/projects', { orgId: org.body.id, name: 'hq' });
    assert.equal(project.status, 201);
    // An id that is taken: 409 ALREADY_EXISTS, and nothing changes.
    const taken = await server.control('POST', '/_snaplink/orgs', { id: org.body.id, name: 'Globex again' });
    assert.equal(taken.status, 409);
    assert.equal(taken.body.errorCode, 'ALREADY_EXISTS');
    assert.equal((await server.control('POST', '/_snaplink/projects', { id: project.body.id, orgId: org.body.id, name: 'again' })).status, 409);
    assert.deepEqual((await server.control('GET', '/_snaplink/orgs')).body.results.filter((o: { id: string }) => o.id === org.body.id).map((o: { name: string }) => o.name), ['Globex']);
    const sa = await server.control('POST', '/_snaplink/service-accounts', { description: 'ci', roles: [{ groupId: project.body.id, roleName: 'GROUP_READ_ONLY' }] });
    assert.equal(sa.status, 201);
    const c = new CheckedClient({ baseUrl: server.url, clientId: sa.body.clientId, clientSecret: sa.body.clientSecret });
    assert.equal((await c.request<any>('GET', collectionPath(project.body.id))).body.errorCode, 'USER_UNAUTHORIZED');
    const promoted = await server.control('PUT', `/_snaplink/service-accounts/${sa.body.clientId}/roles`, { roles: [{ groupId: project.body.id, roleName: 'GROUP_OWNER' }] });
    assert.deepEqual(promoted.body.roles, [{ groupId: project.body.id, roleName: 'GROUP_OWNER' }]);
    assert.equal((await c.request('GET', collectionPath(project.body.id))).status, 200);
    const fenced = await server.control('PUT', `/_snaplink/service-accounts/${sa.body.clientId}/access-list`, { accessList: ['192.0.2.0/24', '2001:db8::/32'] });
    assert.deepEqual(fenced.body.accessList, ['192.0.2.0/24', '2001:db8::/32']);
    assert.equal((await c.request('GET', collectionPath(project.body.id))).status, 403);
    // A role outside the account's organization is refused; nothing changes.
    const outside = await server.control('PUT', `/_snaplink/service-accounts/${sa.body.clientId}/roles`, { roles: [{ groupId: P1, roleName: 'GROUP_OWNER' }] });
    assert.equal(outside.status, 400);
    assert.equal(outside.body.errorCode, 'INVALID_ARGUMENT');
    const listed = (await server.control('GET', `/_snaplink/service-accounts?orgId=${org.body.id}`)).body.results;
    assert.deepEqual(listed.map((a: { roles: unknown }) => a.roles), [[{ groupId: project.body.id, roleName: 'GROUP_OWNER' }]]);
    assert.doesNotMatch(JSON.stringify(listed), /Secret|secret_hash|scrypt/);
    assert.equal((await server.control('DELETE', `/_snaplink/orgs/${org.body.id}`)).status, 204);
    assert.equal((await server.control('GET', `/_snaplink/service-accounts?orgId=${org.body.id}`)).body.totalCount, 0);
  });

  test('API keys too: create, rotate, delete', async () => {
    const key = await server.control('POST', '/_snaplink/api-keys', { roles: [{ groupId: P1, roleName: 'GROUP_OWNER' }] });
    assert.equal(key.status, 201);
    const old = new CheckedClient({ baseUrl: server.url, publicKey: key.body.publicKey, privateKey: key.body.privateKey });
    assert.equal((await old.request('GET', collectionPath(P1))).status, 200);
    const rotated = await server.control('POST', `/_snaplink/api-keys/${key.body.publicKey}/rotate`);
    assert.equal((await new CheckedClient({ baseUrl: server.url, publicKey: key.body.publicKey, privateKey: key.body.privateKey }).request('GET', collectionPath(P1))).status, 401);
    const fresh = new CheckedClient({ baseUrl: server.url, publicKey: key.body.publicKey, privateKey: rotated.body.privateKey });
    assert.equal((await fresh.request('GET', collectionPath(P1))).status, 200);
    assert.equal((await server.control('DELETE', `/_snaplink/api-keys/${key.body.publicKey}`)).status, 204);
    assert.equal((await server.control('DELETE', `/_snaplink/api-keys/${key.body.publicKey}`)).status, 404);
    assert.equal((await server.control('POST', '/_snaplink/api-keys', { roles: 'owner' })).status, 400);
    // Malformed JSON is a 400 ApiError naming it, not a 500; JSON that is not an object too.
    const malformed = await server.control('POST', '/_snaplink/api-keys', '{');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.errorCode, 'MALFORMED_JSON');
    const notAnObject = await server.control('POST', '/_snaplink/api-keys', '"{"');
    assert.equal(notAnObject.status, 400);
    assert.equal(notAnObject.body.errorCode, 'INVALID_JSON');
  });
});
