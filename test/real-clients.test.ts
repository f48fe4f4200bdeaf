import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseHttpAnswer, startTestServer, type TestServer } from './support/harness.js';
import { assertConforms } from './support/oracle.js';
import { collectionPath, itemPath, KEYS, P1 } from './support/world.js';
import { exec, python } from './support/tools.js';

// Real clients over loopback: curl --digest exactly as the Atlas documentation shows it, and
// Python requests with HTTPDigestAuth. Their answers go through the same oracle.

const V = 'application/vnd.atlas.2024-11-13+json';
const { publicKey, privateKey } = KEYS.ownerP1;

let server: TestServer;
let work: string;
before(async () => {
  server = await startTestServer();
  work = mkdtempSync(join(tmpdir(), 'snaplink-curl-'));
});
after(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

let n = 0;
/** curl --digest; returns the final response (curl follows the 401 challenge itself). */
async function curl(method: string, path: string, args: string[] = []) {
  const headersFile = join(work, `h${++n}`);
  const { stdout } = await exec('curl', [
    '--silent', '--show-error', '--digest', '--user', `${publicKey}:${privateKey}`,
    '--header', `Accept: ${V}`, '--request', method, '--dump-header', headersFile,
    ...args, `${server.url}${path}`,
  ]);
  const { status, headers } = parseHttpAnswer(readFileSync(headersFile, 'utf8'), stdout);
  assertConforms({ method, url: path, status, headers, text: stdout });
  return { status, headers, text: stdout, body: stdout ? JSON.parse(stdout) : undefined };
}

describe('curl --digest', () => {
  test('create, list, get and delete as in the Atlas documentation', async () => {
    const created = await curl('POST', `${collectionPath(P1)}?pretty=true`, [
      '--header', `Content-Type: ${V}`, '--data', JSON.stringify({ cloudProvider: 'AWS', regionName: 'US_EAST_1' }),
    ]);
    assert.equal(created.status, 201);
    assert.equal(created.body.status, 'INITIATING');

    const listed = await curl('GET', `${collectionPath(P1)}?pretty=true`);
    assert.equal(listed.status, 200);
    assert.ok(listed.body.results.some((e: { id: string }) => e.id === created.body.id));

    const got = await curl('GET', itemPath(P1, created.body.id));
    assert.deepEqual(got.body, created.body);

    const deleted = await curl('DELETE', itemPath(P1, created.body.id));
    assert.equal(deleted.status, 204);
    assert.equal((await curl('GET', itemPath(P1, created.body.id))).body.status, 'DELETING');
  });

  test('curl’s default form body is refused with 415, and a conflict with 409', async () => {
    assert.equal((await curl('POST', collectionPath(P1), ['--data', 'cloudProvider=AWS'])).status, 415);
    const body = JSON.stringify({ cloudProvider: 'AWS', regionName: 'US_WEST_1' });
    assert.equal((await curl('POST', collectionPath(P1), ['--header', 'Content-Type: application/json', '--data', body])).status, 201);
    const again = await curl('POST', collectionPath(P1), ['--header', 'Content-Type: application/json', '--data', body]);
    assert.equal(again.status, 409);
    assert.equal(again.body.errorCode, 'OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS');
  });

  test('a wrong private key is 401 even after curl answers the challenge', async () => {
    const { stdout } = await exec('curl', ['-s', '--digest', '-u', `${publicKey}:wrong`, '-H', `Accept: ${V}`, '-w', '\n%{http_code}', `${server.url}${collectionPath(P1)}`]);
    assert.equal(stdout.trim().split('\n').pop(), '401');
  });
});

describe('Python requests with HTTPDigestAuth', () => {
  test('drives all four operations through one session', async () => {
    const script = new URL('./clients/atlas_requests.py', import.meta.url).pathname;
    const { stdout } = await exec(python(), [script, server.url, publicKey, privateKey, P1]);
    const responses = stdout.trim().split('\n').map((l) => JSON.parse(l));
    for (const r of responses) assertConforms(r);
    assert.deepEqual(responses.map((r) => r.status), [201, 200, 200, 204, 200, 400]);
    assert.equal(JSON.parse(responses[4].text).status, 'DELETING');
    assert.equal(JSON.parse(responses[5].text).errorCode, 'INVALID_ENUM_VALUE');
  });
});

describe('the bundled TypeScript client', () => {
  test('typed calls for the four operations, and a typed error', async () => {
    const c = server.client('orgOwnerA');
    const e = await c.createPrivateEndpoint(P1, { regionName: 'AP_NORTHEAST_1', vpcRegionName: 'AP_NORTHEAST_2' });
    assert.equal(e.vpcRegionName, 'AP_NORTHEAST_2');
    assert.equal((await c.getPrivateEndpoint(P1, e.id)).id, e.id);
    assert.ok((await c.listPrivateEndpoints(P1, { itemsPerPage: 500 })).results.some((x) => x.id === e.id));
    await c.deletePrivateEndpoint(P1, e.id);
    await assert.rejects(c.createPrivateEndpoint(P1, { regionName: 'AP_NORTHEAST_1', vpcRegionName: 'AP_NORTHEAST_2' }), /409 OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS/);
  });
});
