import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { claimedIdentity, REDACTED, redactForm, redactHeader, redactJson, redactUrl } from '../src/redaction.js';
import { openStore } from '../src/store/database.js';
import { digestAuthorization } from './support/digest-auth.js';
import { basicAuth, CheckedClient, listenToEvents, rawRequest, scratch, tokenRequest, writeSeed } from './support/harness.js';
import { cliAgainst, snaplinkCli, spawnServer } from './support/process.js';
import { collectionPath, itemPath, KEYS, ORG_A, P1, SERVICE_ACCOUNTS } from './support/world.js';

// A whole session — seeded keys and service accounts, Digest and OAuth requests, a revoked
// token, the control API with the admin token, CLI commands — and then a search of everything
// it left where others can read it: every log line, every error answer, the metrics, the
// request journal, the commands' error output and the export. No private key, client secret, access token or admin
// token may be in any of them. (Answers that hand a new secret to its owner once — a created
// key, a minted token — are the one place a secret is meant to be.)

const { fresh, cleanup } = scratch();
after(cleanup);
const ADMIN = 'secrets-test-admin-token-7c1f';

test('no private key, client secret, access token or admin token in logs, error answers, metrics or CLI output', { timeout: 120_000 }, async () => {
  const { dir, args, options } = await fresh();
  const server = await spawnServer([...args, '--seed', writeSeed(dir), '--log-level', 'trace', '--admin-token', ADMIN]);
  const secrets: string[] = [ADMIN, ...Object.values(KEYS).map((k) => k.privateKey), ...Object.values(SERVICE_ACCOUNTS).map((s) => s.clientSecret)];
  /** Everything readable by others: error answers (status line, headers, body), metrics, CLI errors. */
  const exposed: string[] = [];
  const keep = (what: string, status: number, headers: unknown, text: string) => {
    if (status >= 400) exposed.push(`${what} ${status} ${JSON.stringify(headers)} ${text}`);
  };
  const cli = cliAgainst(server.url, ADMIN);
  try {
    // Digest: every operation, and a wrong key.
    const owner = new CheckedClient({ baseUrl: server.url, ...KEYS.ownerP1 });
    const created = await owner.createPrivateEndpoint(P1, { regionName: 'US_EAST_1' });
    await owner.listPrivateEndpoints(P1);
    await owner.request('GET', itemPath(P1, created.id));
    await owner.request('DELETE', itemPath(P1, created.id));
    const wrongDigest = await new CheckedClient({ baseUrl: server.url, publicKey: KEYS.ownerP1.publicKey, privateKey: KEYS.readerP1.privateKey }).request('GET', collectionPath(P1));
    keep('wrong digest', wrongDigest.status, wrongDigest.headers, wrongDigest.text);
    const replayUri = collectionPath(P1);
    const challenge = await rawRequest(server.url, 'GET', replayUri, { accept: 'application/vnd.atlas.2024-11-13+json' });
    const nonce = /nonce="([^"]+)"/.exec(String(challenge.headers['www-authenticate']))![1]!;
    const digest = { accept: 'application/vnd.atlas.2024-11-13+json', authorization: digestAuthorization({ nonce, nc: 1, uri: replayUri }) };
    await rawRequest(server.url, 'GET', replayUri, digest);
    const replayed = await rawRequest(server.url, 'GET', replayUri, digest);
    keep('replayed digest', replayed.status, replayed.headers, replayed.text);

    // OAuth: minted over Basic and over the form, used, revoked, refused after; a wrong secret.
    const { clientId, clientSecret } = SERVICE_ACCOUNTS.saOrgA;
    const basic = await tokenRequest(server.url, { authorization: basicAuth(clientId, clientSecret) });
    const form = await tokenRequest(server.url, {}, `grant_type=client_credentials&client_id=${clientId}&client_secret=${encodeURIComponent(clientSecret)}`);
    const tokens = [basic.body.access_token as string, form.body.access_token as string];
    secrets.push(...tokens);
    assert.equal((await new CheckedClient({ baseUrl: server.url, accessToken: tokens[0]! }).request('GET', collectionPath(P1))).status, 200);
    assert.equal((await tokenRequest(server.url, { authorization: basicAuth(clientId, clientSecret) }, `token=${tokens[0]}`, '/api/oauth/revoke')).status, 200);
    const revoked = await new CheckedClient({ baseUrl: server.url, accessToken: tokens[0]! }).request('GET', collectionPath(P1));
    assert.equal(revoked.status, 401);
    keep('revoked token', revoked.status, revoked.headers, revoked.text);
    const wrongSecret = await tokenRequest(server.url, { authorization: basicAuth(clientId, `${clientSecret}x`) });
    keep('wrong client secret', wrongSecret.status, Object.fromEntries(wrongSecret.headers), JSON.stringify(wrongSecret.body));
    const badForm = await tokenRequest(server.url, {}, `grant_type=password&client_id=${clientId}&client_secret=${encodeURIComponent(clientSecret)}`);
    keep('unsupported grant', badForm.status, Object.fromEntries(badForm.headers), JSON.stringify(badForm.body));

    // The control API and the CLI: new credentials (their secrets are shown once, to the admin),
    // a token of the new account, and calls with a wrong admin token.
    const key = await cli(['api-keys', 'create', '--role', `GROUP_OWNER:${P1}`, '-o', 'json']);
    assert.equal(key.code, 0, key.stderr);
    const account = await cli(['service-accounts', 'create', '--role', `ORG_OWNER:${ORG_A}`, '-o', 'json']);
    assert.equal(account.code, 0, account.stderr);
    const newKey = JSON.parse(key.stdout) as { publicKey: string; privateKey: string };
    const newAccount = JSON.parse(account.stdout) as { clientId: string; clientSecret: string };
    secrets.push(newKey.privateKey, newAccount.clientSecret);
    const newToken = await tokenRequest(server.url, { authorization: basicAuth(newAccount.clientId, newAccount.clientSecret) });
    secrets.push(newToken.body.access_token);
    assert.equal((await new CheckedClient({ baseUrl: server.url, ...newKey }).request('GET', collectionPath(P1))).status, 200);
    for (const run of [cli(['status']), cli(['api-keys', 'list', '-o', 'json']), cli(['service-accounts', 'list', '-o', 'json']), cli(['clock', 'advance', '5'])]) {
      const r = await run;
      assert.equal(r.code, 0, r.stderr);
      exposed.push(r.stdout, r.stderr);
    }
    const refused = await cliAgainst(server.url, `${ADMIN}-wrong`)(['status']);
    assert.equal(refused.code, 1);
    exposed.push(refused.stdout, refused.stderr);
    const wrongAdmin = await fetch(`${server.url}/_snaplink/faults`, { headers: { authorization: `Bearer ${ADMIN}x` } });
    keep('wrong admin token', wrongAdmin.status, Object.fromEntries(wrongAdmin.headers), await wrongAdmin.text());
    const exported = await snaplinkCli(['export', join(dir, 'export.json'), ...args]);
    assert.equal(exported.code, 0, exported.stderr);
    exposed.push(exported.stdout, exported.stderr);

    const metrics = await fetch(`${server.url}/_snaplink/metrics`);
    exposed.push(await metrics.text());
    // The request journal: who asked and what was answered, never with what.
    const journal = await fetch(`${server.url}/_snaplink/requests?limit=1000`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const entries = await journal.text();
    assert.ok(JSON.parse(entries).totalCount >= 10, 'the session was journaled');
    exposed.push(entries);
  } finally {
    await server.stop();
  }
  // The store's own secrets, which sign nonces and tokens.
  const store = await openStore({ ...options, create: false });
  const storeSecrets = (await store.db.selectFrom('settings').select('value').where('key', 'in', ['digest_nonce_secret', 'token_signing_secret']).execute()).map((r) => r.value);
  await store.close();
  assert.equal(storeSecrets.length, 2);
  secrets.push(...storeSecrets);
  const { readFileSync } = await import('node:fs');
  exposed.push(readFileSync(join(dir, 'export.json'), 'utf8'));

  // Read once it has exited: every log line is in by then.
  const logs = (server.stdout() + server.stderr()).split('\n');
  assert.ok(logs.filter((l) => l.includes('"reqId"')).length >= 20, `the session was logged (${logs.length} lines)`);
  assert.ok(exposed.filter((e) => / 40[13] /.test(e)).length >= 5, 'error answers were collected');
  assert.equal(secrets.filter((s) => typeof s !== 'string' || s.length < 16).length, 0, 'every secret is known');
  for (const secret of secrets) {
    for (const line of logs) assert.ok(!line.includes(secret), `a log line holds a secret (${secret.slice(0, 4)}…): ${line.slice(0, 300)}`);
    for (const text of exposed) assert.ok(!text.includes(secret), `an answer, metric or output holds a secret (${secret.slice(0, 4)}…): ${text.slice(0, 300)}`);
  }
  // Nor the Authorization headers that carried them.
  for (const line of logs) assert.doesNotMatch(line, /Digest username|Basic [A-Za-z0-9+/=]{8}|Bearer [A-Za-z0-9_-]{8}/, line.slice(0, 300));
});

// The one redaction rule (http/redact.ts): one case per kind of secret, then every place a
// request is written down — the log line and the request journal.
describe('the redaction rule', () => {
  test('query parameters: every secret by name, in any spelling; the rest untouched', () => {
    assert.equal(redactUrl('/api/oauth/token?client_id=abc&client_secret=s3cr3t'), `/api/oauth/token?client_id=abc&client_secret=${REDACTED}`);
    assert.equal(redactUrl('/x?access_token=tok&pretty=true'), `/x?access_token=${REDACTED}&pretty=true`);
    assert.equal(redactUrl('/x?password=p&refresh_token=r&privateKey=k&X-Api-Key=a&clientSecret=c'), `/x?password=${REDACTED}&refresh_token=${REDACTED}&privateKey=${REDACTED}&X-Api-Key=${REDACTED}&clientSecret=${REDACTED}`);
    assert.equal(redactUrl('/x?client%5Fsecret=s'), `/x?client%5Fsecret=${REDACTED}`, 'an encoded name');
    const plain = '/api/atlas/v2/groups/g/backup/AWS/privateEndpoints?pageNum=2&itemsPerPage=5&token_type_hint=x';
    assert.equal(redactUrl(plain), plain, 'no secret, nothing rewritten');
    assert.equal(redactUrl('/x?token_type=Bearer'), '/x?token_type=Bearer');
  });

  test('form and JSON bodies: secret fields at any depth', () => {
    assert.equal(redactForm('grant_type=client_credentials&client_id=a&client_secret=b'), `grant_type=client_credentials&client_id=a&client_secret=${REDACTED}`);
    assert.equal(redactForm('grant_type=client_credentials'), undefined);
    assert.deepEqual(redactJson({ regionName: 'US_EAST_1', auth: { password: 'p', apiKey: 'k', list: [{ accessToken: 't' }] } }), {
      regionName: 'US_EAST_1',
      auth: { password: REDACTED, apiKey: REDACTED, list: [{ accessToken: REDACTED }] },
    });
  });

  test('headers: Authorization keeps its scheme and the identity it claims; secret-named headers go whole', () => {
    const digest = 'Digest username="ownerpa1", realm="MMS Public API", nonce="n0nce", uri="/x", response="0123456789abcdef0123456789abcdef", qop=auth, nc=00000001, cnonce="c"';
    assert.equal(redactHeader('Authorization', digest), `Digest username="ownerpa1", ${REDACTED}`);
    assert.equal(claimedIdentity(digest), 'ownerpa1');
    assert.equal(redactHeader('authorization', basicAuth('mdb_sa_id_x', 'mdb_sa_sk_secret')), `Basic mdb_sa_id_x:${REDACTED}`);
    assert.equal(claimedIdentity(basicAuth('mdb_sa_id_x', 'mdb_sa_sk_secret')), 'mdb_sa_id_x');
    assert.equal(redactHeader('Authorization', 'Bearer eyJhbGciOi.payload.sig'), `Bearer ${REDACTED}`);
    assert.equal(redactHeader('Authorization', 'Basic bm90LWEtcGFpcg=='), `Basic ${REDACTED}`, 'what is not user:password is not shown');
    assert.equal(redactHeader('Proxy-Authorization', 'Basic dXNlcjpwYXNz'), `Basic user:${REDACTED}`);
    for (const name of ['Cookie', 'Set-Cookie', 'X-Api-Key', 'X-Auth-Token']) assert.equal(redactHeader(name, 'value'), REDACTED, name);
    assert.equal(redactHeader('Accept', 'application/vnd.atlas.2024-11-13+json'), 'application/vnd.atlas.2024-11-13+json');
  });

  test('a secret in a query string reaches neither the log nor the journal', { timeout: 60_000 }, async () => {
    const { dir, args } = await fresh();
    const server = await spawnServer([...args, '--seed', writeSeed(dir), '--admin-token', ADMIN]);
    const secret = 'query-secret-0f6e2b7c91';
    const token = 'query-token-5a1d9e3b77';
    try {
      const { clientId } = SERVICE_ACCOUNTS.saOrgA;
      // A client secret and a password on the token endpoint; a bearer token as RFC 6750 §2.3's access_token.
      assert.equal((await fetch(`${server.url}/api/oauth/token?client_id=${clientId}&client_secret=${secret}&password=${secret}`, { method: 'POST' })).status, 400);
      const res = await fetch(`${server.url}${collectionPath(P1)}?access_token=${token}&pretty=true`, { headers: { accept: 'application/vnd.atlas.2024-11-13+json' } });
      assert.equal(res.status, 401);
      const journal = await (await fetch(`${server.url}/_snaplink/requests`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
      assert.ok(journal.includes(`client_secret=${REDACTED}`) && journal.includes(`access_token=${REDACTED}&pretty=true`), journal);
      for (const s of [secret, token]) assert.ok(!journal.includes(s), `the journal holds ${s}`);
    } finally {
      await server.stop();
    }
    const log = server.stdout() + server.stderr();
    assert.ok(log.includes(`access_token=${REDACTED}`), 'the request line is logged, redacted');
    for (const s of [secret, token]) assert.ok(!log.includes(s), `a log line holds ${s}`);
  });
});

describe('every secret kind, redacted wherever the journal puts it', () => {
  test('in the store, the journal API, the event stream, the export and the log', { timeout: 120_000 }, async () => {
    const { dir, args, options } = await fresh();
    const server = await spawnServer([...args, '--seed', writeSeed(dir), '--admin-token', ADMIN]);
    const { clientId, clientSecret } = SERVICE_ACCOUNTS.saOrgA;
    const planted = {
      queryClientSecret: 'planted-query-client-secret-1',
      queryPassword: 'planted-query-password-2',
      queryAccessToken: 'planted-query-access-token-3',
      bodyPassword: 'planted-body-password-4',
      bodyApiKey: 'planted-body-api-key-5',
      apiKeyHeader: 'planted-x-api-key-header-6',
      cookie: 'planted-session-cookie-7',
    };
    const secrets = [clientSecret, KEYS.ownerP1.privateKey, ADMIN, ...Object.values(planted)];
    const admin = { authorization: `Bearer ${ADMIN}` };
    const ticket = ((await (await fetch(`${server.url}/_snaplink/events/ticket`, { method: 'POST', headers: admin })).json()) as { ticket: string }).ticket;
    secrets.push(ticket);
    const stream = await listenToEvents(server.url, ticket);
    let exported = '';
    const details: string[] = [];
    let list = '';
    try {
      await stream.next((e) => e.event === 'hello', 'hello');
      // Digest (its response proves the private key), and a JSON body with secret-named fields.
      const owner = new CheckedClient({ baseUrl: server.url, ...KEYS.ownerP1, headers: { 'x-api-key': planted.apiKeyHeader, cookie: `session=${planted.cookie}` } });
      assert.equal((await owner.request('POST', collectionPath(P1), { body: { cloudProvider: 'AWS', regionName: 'US_EAST_1', password: planted.bodyPassword, auth: { apiKey: planted.bodyApiKey } } })).status, 400);
      // OAuth: Basic credentials, a form's client_secret, secrets in the query; the token it answers; that token as a bearer.
      const basic = await tokenRequest(server.url, { authorization: basicAuth(clientId, clientSecret) });
      const form = await tokenRequest(server.url, {}, `grant_type=client_credentials&client_id=${clientId}&client_secret=${encodeURIComponent(clientSecret)}`);
      for (const t of [basic.body.access_token, form.body.access_token]) secrets.push(t);
      await tokenRequest(server.url, {}, 'grant_type=client_credentials', `/api/oauth/token?client_id=${clientId}&client_secret=${planted.queryClientSecret}&password=${planted.queryPassword}`);
      assert.equal((await new CheckedClient({ baseUrl: server.url, accessToken: basic.body.access_token }).request('GET', collectionPath(P1))).status, 200);
      await fetch(`${server.url}${collectionPath(P1)}?access_token=${planted.queryAccessToken}`, { headers: { accept: 'application/vnd.atlas.2024-11-13+json' } });
      await stream.next((e) => e.event === 'request' && e.data.path.includes('access_token='), 'the last request streamed');

      const page = await fetch(`${server.url}/_snaplink/requests?limit=1000`, { headers: admin });
      list = await page.text();
      const { results } = JSON.parse(list) as { results: { id: number }[] };
      assert.ok(results.length >= 7, `${results.length} requests journaled`);
      for (const { id } of results) details.push(await (await fetch(`${server.url}/_snaplink/requests/${id}`, { headers: admin })).text());
      // Each kind is there, as the marker: redacted, not dropped.
      const all = details.join('\n');
      for (const kept of ['Digest username=\\"ownerpa1\\", [redacted]', `Basic ${clientId}:[redacted]`, 'Bearer [redacted]', '"x-api-key","[redacted]"', '"cookie","[redacted]"', 'client_secret=[redacted]', 'access_token=[redacted]', '"access_token\\": \\"[redacted]\\"', '\\"password\\": \\"[redacted]\\"', '\\"apiKey\\": \\"[redacted]\\"']) {
        assert.ok(all.includes(kept), `the journal shows ${kept}`);
      }
      const out = join(dir, 'export.json');
      assert.equal((await snaplinkCli(['export', out, ...args])).code, 0);
      exported = readFileSync(out, 'utf8');
    } finally {
      await stream.close();
      await server.stop();
    }
    const store = await openStore({ ...options, create: false });
    const rows = await store.db.selectFrom('request_journal_batches').select(['entries', 'details']).execute();
    await store.close();
    const stored = rows.map((r) => `${r.entries}${r.details}`).join('\n');
    assert.ok(stored.length > 1000, 'the journal is in the store');
    const log = server.stdout() + server.stderr();
    for (const [where, text] of Object.entries({ store: stored, 'the journal API': list + details.join('\n'), 'the event stream': stream.raw(), 'the export': exported, 'the log': log })) {
      for (const secret of secrets) assert.ok(!text.includes(secret), `${where} holds a secret (${secret.slice(0, 12)}…)`);
      assert.doesNotMatch(text, /response=\\?"[0-9a-f]{32}/, `${where} holds a Digest response`);
    }
  });
});
