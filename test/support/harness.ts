import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSnaplink, type Snaplink } from '../../src/app.js';
import { AtlasClient, type AtlasCredentials, type AtlasResponse, type RequestOptions } from '../../src/client/index.js';
import { defaultConfig, type Config } from '../../src/config.js';
import type { SeedFile } from '../../src/identity/seed.js';
import { assertConforms } from './oracle.js';
import { type ServerProcess, spawnServer } from './process.js';
import { type Scratch, scratch } from './stores.js';
import { KEYS, type KeyName, WORLD } from './world.js';

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
      server.proc.kill('SIGTERM');
      await server.exited;
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
    async control(method, path, body) {
      const res = await fetch(snaplink.url + path, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
    },
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
