import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSnaplink, type Snaplink } from '../../src/app.js';
import { AtlasClient, type AtlasCredentials, type AtlasResponse, type PrivateEndpoint, type RequestOptions } from '../../src/client/index.js';
import { defaultConfig, type Config } from '../../src/config.js';
import type { SeedFile } from '../../src/identity/seed.js';
import { assertConforms } from './oracle.js';
import { type ServerProcess, spawnServer } from './process.js';
import { type Scratch, scratch } from './stores.js';
export { fillDisk } from './disk.js';
import { AWS_REGIONS } from '../../src/atlas/regions.js';
import { collectionPath, itemPath, KEYS, type KeyName, WORLD } from './world.js';

// Real servers for the suites: in-process snaplink on a loopback port with its own SQLite
// file, seeded with the shared world; clients whose every answer is checked by the oracle.

export class CheckedClient extends AtlasClient {
  override async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<AtlasResponse<T>> {
    const res = await super.request<T>(method, path, opts);
    const url = new URL(`http://x${path}`);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    assertConforms({ method, url: url.pathname + url.search, status: res.status, headers: res.headers, text: res.text });
    return res;
  }
}

export { scratch, tempDir } from './stores.js';

export interface TestServer {
  snaplink: Snaplink;
  url: string;
  /** Its scratch directory and store. */
  scratch: Scratch;
  client(key?: KeyName | AtlasCredentials, headers?: Record<string, string | undefined>): CheckedClient;
  /** Calls the control API with the admin token; a string body is sent as it is (raw bytes), anything else as JSON. */
  control<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

export const ADMIN_TOKEN = 'test-admin-token';

/**
 * Reads an HTTP/1.1 answer as curl (`-D -`, `--dump-header`) or a raw socket gets it: the last
 * response in `head` (curl's dump holds the Digest challenge's 401 first), and the body after it.
 */
export function parseHttpAnswer(head: string, body?: string): { status: number; headers: Record<string, string>; text: string } {
  const from = head.lastIndexOf('HTTP/1.1 ');
  const last = head.slice(from === -1 ? 0 : from);
  const split = last.search(/\r?\n\r?\n/);
  const block = split === -1 ? last : last.slice(0, split);
  const rest = split === -1 ? '' : last.slice(split).replace(/^\r?\n\r?\n/, '');
  const [statusLine, ...lines] = block.trim().split(/\r?\n/);
  const headers: Record<string, string> = {};
  for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
  return { status: Number(statusLine!.split(' ')[1]), headers, text: body ?? rest };
}

/** Calls a control API with its admin token; a string body is sent as it is (raw bytes), anything else as JSON. */
export async function callControl<T = any>(baseUrl: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(baseUrl + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** HTTP Basic client authentication, as Atlas's token endpoint takes it. */
export const basicAuth = (clientId: string, clientSecret: string) => `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** POSTs a form to the OAuth token endpoint (or, with `path`, the revocation one); the answer, whatever it is. */
export async function tokenRequest(
  baseUrl: string,
  headers: Record<string, string>,
  body = 'grant_type=client_credentials',
  path = '/api/oauth/token',
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(baseUrl + path, { method: 'POST', headers: { ...FORM, ...headers }, body });
  return { status: res.status, headers: res.headers, body: (await res.json().catch(() => undefined)) as any };
}

/**
 * Creates endpoints in `groupId` — every region × VPC region pair, passing over those already
 * there — until one is refused: how the disk-full tests use up a store's room.
 */
export async function createUntilRefused(client: AtlasClient, groupId: string): Promise<{ acknowledged: string[]; refused?: AtlasResponse<any>; refusedBody?: object }> {
  const acknowledged: string[] = [];
  for (const vpcRegionName of AWS_REGIONS) {
    for (const regionName of AWS_REGIONS) {
      const body = { cloudProvider: 'AWS', regionName, vpcRegionName };
      const res = await client.request<any>('POST', collectionPath(groupId), { body });
      if (res.status === 201) acknowledged.push(res.body.id);
      else if (res.status !== 409) return { acknowledged, refused: res, refusedBody: body };
    }
  }
  return { acknowledged };
}

/** The ids of every endpoint in `groupId`, page after page (a page holds at most 500). */
export async function allEndpointIds(client: AtlasClient, groupId: string): Promise<string[]> {
  const ids: string[] = [];
  for (let pageNum = 1; ; pageNum++) {
    const page = await client.listPrivateEndpoints(groupId, { itemsPerPage: 500, pageNum });
    ids.push(...page.results.map((e) => e.id));
    if (page.results.length < 500) return ids;
  }
}

/** A service account's access token, minted as Atlas documents it (HTTP Basic, client_credentials). */
export async function mintToken(baseUrl: string, clientId: string, clientSecret: string): Promise<string> {
  const res = await tokenRequest(baseUrl, { authorization: basicAuth(clientId, clientSecret) });
  if (res.status !== 200) throw new Error(`the token endpoint answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.access_token;
}

/** Polls `probe` until `done` holds for its value (or throws after `timeoutMs`). */
export async function waitFor<T>(probe: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (done(v)) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Polls an endpoint with `client`, recording each status it is seen in, until `until` holds (it
 * is given undefined once the endpoint is gone). `start`, the create's answer, is the first
 * status seen, however late the first poll comes.
 */
export async function watchEndpoint(client: AtlasClient, groupId: string, id: string, until: (e: PrivateEndpoint | undefined) => boolean, start?: PrivateEndpoint) {
  const seen: PrivateEndpoint[] = start ? [start] : [];
  const last = await waitFor(
    async () => {
      const res = await client.request<PrivateEndpoint>('GET', itemPath(groupId, id));
      const e = res.status === 200 ? res.body : undefined;
      if (e && seen.at(-1)?.status !== e.status) seen.push(e);
      return e;
    },
    until,
    15_000,
    `endpoint ${id}`,
  );
  return { seen, last, statuses: seen.map((e) => e.status) };
}

export function writeSeed(dir: string, seed: SeedFile = WORLD): string {
  const file = join(dir, 'seed.json');
  writeFileSync(file, JSON.stringify(seed));
  return file;
}

export interface SeededServer {
  server: ServerProcess;
  /** Its scratch directory. */
  dir: string;
  /** Ends the process (SIGTERM) and removes its store. */
  stop(): Promise<void>;
}

/** `snaplink serve` as a user runs it, on a fresh store seeded with the shared world. */
export async function spawnSeededServer(args: string[] = []): Promise<SeededServer> {
  const space = scratch();
  const own = await space.fresh();
  const server = await spawnServer([...own.args, '--seed', writeSeed(own.dir), ...args]);
  return {
    server,
    dir: own.dir,
    async stop() {
      await server.stop();
      await space.cleanup();
    },
  };
}

export async function startTestServer(overrides: Partial<Config> & { seed?: SeedFile } = {}): Promise<TestServer> {
  const { seed = WORLD, ...config } = overrides;
  const space = scratch();
  const own = await space.fresh();
  const snaplink = await startSnaplink(
    defaultConfig({
      port: 0,
      store: own.options,
      seedFile: writeSeed(own.dir, seed),
      logLevel: 'silent',
      adminToken: ADMIN_TOKEN,
      // Suites fail authentication on purpose; security.test.ts turns the lockout on.
      lockout: { limit: 0, windowMs: 60_000, lockoutMs: 60_000 },
      ...config,
    }),
  );
  return {
    snaplink,
    url: snaplink.url,
    scratch: own,
    client: (key = 'ownerP1', headers) =>
      new CheckedClient({ baseUrl: snaplink.url, ...(typeof key === 'string' ? KEYS[key] : key), headers }),
    control: (method, path, body) => callControl(snaplink.url, ADMIN_TOKEN, method, path, body),
    async close() {
      await snaplink.close();
      await space.cleanup();
    },
  };
}

/** A request with exactly these headers and no credentials, checked by the oracle. */
export async function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<AtlasResponse<any>> {
  const { request } = await import('node:http');
  const res = await new Promise<AtlasResponse<any>>((resolve, reject) => {
    const req = request(new URL(path, baseUrl), { method, headers }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: r.statusCode ?? 0, headers: r.headers, body: parsed, text });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
  assertConforms({ method, url: path, status: res.status, headers: res.headers, text: res.text });
  return res;
}

/**
 * Reads `groupId`'s list and each of `ids` again and again for `ms`, as clients polling a full
 * store would. Counts the answers by status, and how often an endpoint that answered 404 was
 * then answered 200 (a change shown, then undone).
 */
export async function pollWhile(client: AtlasClient, groupId: string, ids: string[], ms: number): Promise<{ reads: number; byStatus: Record<number, number>; undone: string[] }> {
  const byStatus: Record<number, number> = {};
  const gone = new Set<string>();
  const undone: string[] = [];
  let reads = 0;
  for (const until = Date.now() + ms; Date.now() < until; ) {
    const answers = await Promise.all([client.request('GET', collectionPath(groupId), { query: { itemsPerPage: 500 } }), ...ids.map((id) => client.request('GET', itemPath(groupId, id)))]);
    answers.forEach((r, i) => {
      reads++;
      byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      const id = ids[i - 1];
      if (id === undefined) return;
      if (r.status === 404) gone.add(id);
      else if (r.status === 200 && gone.has(id)) undone.push(id);
    });
  }
  return { reads, byStatus, undone };
}

/** A listener on the event stream: every event so far, parsed; and a wait for one that matches. */
export async function listenToEvents(url: string, ticket: string) {
  const abort = new AbortController();
  const res = await fetch(`${url}/_snaplink/events?ticket=${encodeURIComponent(ticket)}`, { headers: { accept: 'text/event-stream' }, signal: abort.signal });
  const events: { event: string; data: any }[] = [];
  /** Every byte of the stream, as text. */
  let raw = '';
  const reading = (async () => {
    const decoder = new TextDecoder();
    let text = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const piece = decoder.decode(chunk, { stream: true });
        raw += piece;
        text += piece;
        for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // Aborted.
    }
  })();
  return {
    res,
    events,
    raw: () => raw,
    async next(match: (e: { event: string; data: any }) => boolean, what: string, ms = 2000) {
      return waitFor(async () => events.find(match), (e) => e !== undefined, ms, what);
    },
    async close() {
      abort.abort();
      await reading;
    },
  };
}


/**
 * For the full-disk suites: endpoints in `groupId`, one a region, and the first `deleting` of
 * them deleted at once — each with a transition that falls due when its hold ends.
 */
export async function endpointsFallingDue(client: AtlasClient, groupId: string, count: number, deleting: number): Promise<{ ids: string[]; deleted: string[] }> {
  const ids: string[] = [];
  for (const regionName of AWS_REGIONS.slice(0, count)) ids.push((await client.createPrivateEndpoint(groupId, { regionName })).id);
  const deleted = ids.slice(0, deleting);
  for (const id of deleted) {
    const res = await client.request('DELETE', itemPath(groupId, id));
    if (res.status !== 204) throw new Error(`DELETE answered ${res.status}`);
  }
  return { ids, deleted };
}

/** Waits until every endpoint of `ids` is ACTIVE, or gone when it was in `deleted`. */
export async function untilSettled(client: AtlasClient, groupId: string, ids: string[], deleted: string[]): Promise<void> {
  await waitFor(
    () => Promise.all(ids.map((id) => client.request<any>('GET', itemPath(groupId, id)))),
    (answers) => answers.every((r, i) => (deleted.includes(ids[i]!) ? r.status === 404 : r.body?.status === 'ACTIVE')),
    30_000,
    'every endpoint ACTIVE or gone',
  );
}

/**
 * Each endpoint's transitions as the log lines say they were done (`endpoint transition`):
 * deleted ones went DELETING>gone, the others INITIATING>PENDING_ACCEPTANCE>ACTIVE — once each,
 * whichever node did them. A transition logged as done but never stored, then retried, would
 * show twice.
 */
export function loggedTransitions(log: string, ids: string[], deleted: string[]): { id: string; logged: string[]; expected: string[] }[] {
  const logged = new Map<string, string[]>();
  for (const line of log.split('\n').filter((l) => l.includes('"endpoint transition"'))) {
    const { endpointId, from, to } = JSON.parse(line) as { endpointId: string; from: string; to: string };
    logged.set(endpointId, [...(logged.get(endpointId) ?? []), `${from}>${to}`]);
  }
  return ids.map((id) => ({ id, logged: logged.get(id) ?? [], expected: deleted.includes(id) ? ['DELETING>gone'] : ['INITIATING>PENDING_ACCEPTANCE', 'PENDING_ACCEPTANCE>ACTIVE'] }));
}
