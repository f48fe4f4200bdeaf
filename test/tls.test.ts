import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CheckedClient, parseHttpAnswer, scratch, tempDir, waitFor, writeSeed } from './support/harness.js';
import { type ServerProcess, snaplinkCli, spawnServer } from './support/process.js';
import { collectionPath, KEYS, P1, SERVICE_ACCOUNTS } from './support/world.js';
import { exec, python } from './support/tools.js';

// HTTPS with --tls-cert/--tls-key, through a self-signed certificate made at run time and
// trusted the way users trust one: curl --cacert, NODE_EXTRA_CA_CERTS, Python's verify=.

const { fresh, cleanup } = scratch();
let cert: string;
let server: ServerProcess;

before(async () => {
  const { dir, args: store } = await fresh();
  cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
  server = await spawnServer([...store, '--seed', writeSeed(dir), '--tls-cert', cert, '--tls-key', key]);
});
after(async () => {
  await server?.stop();
  await cleanup();
});

test('it listens on https and says so', () => {
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
});

test('curl --cacert: the token flow and a Bearer call, with HSTS; a failed authentication without it', async () => {
  const { clientId, clientSecret } = SERVICE_ACCOUNTS.saOrgA;
  const { stdout: tokenJson } = await exec('curl', [
    '-fsS', '--cacert', cert, '-X', 'POST', `${server.url}/api/oauth/token`,
    '-H', `Authorization: Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
    '-H', 'Content-Type: application/x-www-form-urlencoded', '--data', 'grant_type=client_credentials',
  ]);
  const token = JSON.parse(tokenJson).access_token;
  const { stdout } = await exec('curl', ['-sS', '--cacert', cert, '-D', '-', '-H', `Authorization: Bearer ${token}`, '-H', 'Accept: application/vnd.atlas.2024-11-13+json', `${server.url}${collectionPath(P1)}`]);
  const answer = parseHttpAnswer(stdout);
  assert.equal(answer.status, 200);
  // Links name the scheme the client used.
  const links = JSON.parse(answer.text).links as { href: string }[];
  assert.ok(links[0]!.href.startsWith(`${server.url}/api/atlas/v2/`), links[0]!.href);
  assert.equal(answer.headers['strict-transport-security'], 'max-age=31536000; includeSubdomains;');
  // A failed authentication is answered before Atlas's API layer: no HSTS, no security headers.
  const { stdout: refused } = await exec('curl', ['-sS', '--cacert', cert, '-D', '-', '-H', 'Authorization: Bearer not-a-token', '-H', 'Accept: application/vnd.atlas.2024-11-13+json', `${server.url}${collectionPath(P1)}`]);
  assert.match(refused, /^HTTP\/1\.1 401/);
  assert.doesNotMatch(refused, /strict-transport-security|x-frame-options|x-error-code/i);
  // Without trusting the certificate, curl refuses.
  await assert.rejects(exec('curl', ['-fsS', `${server.url}/_snaplink/health`]));
});

test('Node with NODE_EXTRA_CA_CERTS, and the TypeScript client with its ca option', async () => {
  const script = `fetch(process.argv[1]).then((r) => console.log(r.status), (e) => { console.error(e.cause?.code ?? e); process.exit(1); })`;
  const { stdout } = await exec(process.execPath, ['-e', script, `${server.url}/_snaplink/health`], { env: { ...process.env, NODE_EXTRA_CA_CERTS: cert } });
  assert.equal(stdout.trim(), '200');
  const c = new CheckedClient({ baseUrl: server.url, ...KEYS.ownerP1, ca: readFileSync(cert) });
  const e = await c.createPrivateEndpoint(P1, { regionName: 'US_EAST_1' });
  assert.equal(e.status, 'INITIATING');
  const sa = new CheckedClient({ baseUrl: server.url, ...SERVICE_ACCOUNTS.saOrgA, ca: readFileSync(cert) });
  assert.equal((await sa.listPrivateEndpoints(P1)).totalCount, 1);
});

test('Python requests with verify= the certificate', async () => {
  const script = new URL('./clients/atlas_oauth.py', import.meta.url).pathname;
  const { stdout } = await exec(python(), [script, server.url, SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret, P1, cert]);
  assert.deepEqual(stdout.trim().split('\n').map((l) => JSON.parse(l).status), [201, 200, 200, 204]);
});

test('the command line over HTTPS: refused, saying how, until the CA is trusted (--ca, SNAPLINK_CA, NODE_EXTRA_CA_CERTS, a context) or the check skipped (--insecure)', async () => {
  // The token this server generated at its first start (printed once, on stderr).
  const token = /admin token +(\S+)/.exec(await waitFor(async () => server.stderr(), (t) => /admin token +\S+/.test(t), 10_000, 'the admin token'))![1]!;
  const status = (args: string[], env: Record<string, string> = {}) => snaplinkCli(['status', ...args], { SNAPLINK_URL: server.url, SNAPLINK_ADMIN_TOKEN: token, ...env });
  const refused = await status([]);
  assert.equal(refused.code, 3);
  assert.equal(
    refused.stderr,
    `snaplink: cannot verify the TLS certificate of ${server.url} (DEPTH_ZERO_SELF_SIGNED_CERT): trust its CA with --ca <file> (or SNAPLINK_CA, or NODE_EXTRA_CA_CERTS), or skip the check with --insecure\n`,
  );
  const contexts = join(tempDir(), 'contexts.json');
  assert.equal((await snaplinkCli(['context', 'set', 'tls', '--url', server.url, '--admin-token', token, '--ca', cert], { SNAPLINK_CONFIG: contexts })).code, 0);
  const trusted: [string, string[], Record<string, string>][] = [
    ['--ca', ['--ca', cert], {}],
    ['SNAPLINK_CA', [], { SNAPLINK_CA: cert }],
    ['NODE_EXTRA_CA_CERTS', [], { NODE_EXTRA_CA_CERTS: cert }],
    ['--insecure', ['--insecure'], {}],
    ['a context with its CA', [], { SNAPLINK_CONFIG: contexts, SNAPLINK_URL: '', SNAPLINK_ADMIN_TOKEN: '' }],
  ];
  for (const [how, args, env] of trusted) {
    const r = await status(args, env);
    assert.equal(r.code, 0, `${how}: ${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).readiness, 'ready', how);
  }
  // The wrong scheme, either way, says so.
  const http = await status([], { SNAPLINK_URL: server.url.replace('https:', 'http:') });
  assert.equal(http.code, 3);
  assert.match(http.stderr, /^snaplink: cannot reach snaplink at http:\/\/127\.0\.0\.1:\d+ \((ECONNRESET|HPE_\w+)\): if it serves HTTPS, use https:\/\/\n$/);
});
