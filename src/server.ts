import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSnaplink, type Snaplink } from './app.js';
import { AtlasClient, type AtlasCredentials } from './client/index.js';
import { type Config, defaultConfig } from './config.js';
import { newAdminToken } from './control/admin-token.js';
import { TIMING_PROFILES } from './endpoints/lifecycle.js';
import type { SeedFile } from './identity/seed.js';
import { DASHBOARD_PATH } from './ui/routes.js';

// snaplink inside another program's tests: one call starts a server on a free port with its own
// throwaway store, seeded inline, and gives back everything a test needs — the URL, the admin
// token, the default world's credentials — and a stop that removes the store (`await using`).

export interface ServerOptions {
  /** Organizations, projects, API keys and service accounts to start with (the seed file's shape). */
  seed?: SeedFile;
  /** Default 0: a free port, read back from `url`. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The control API's token; default a new random one (in `adminToken`). */
  adminToken?: string;
  /** How long transient statuses last: fast (2 s each, the default), realistic (minutes) or none. */
  timings?: 'fast' | 'realistic' | 'none';
  /** Where the SQLite store lives; default a new temporary directory, removed by stop(). */
  dataDir?: string;
  /** A PostgreSQL URL to use instead of SQLite (its tables are made if absent; never dropped). */
  database?: string;
  /** Default silent: a test's output stays its own. */
  logLevel?: Config['logLevel'];
  /** Any other setting of `snaplink serve` (src/config.ts), for what the above does not cover. */
  config?: Partial<Config>;
}

/** The organization, project and ORG_OWNER API key a store with no organization starts with. */
export interface DefaultWorld {
  orgId: string;
  projectId: string;
  apiKey: { publicKey: string; privateKey: string };
}

export interface SnaplinkServer extends AsyncDisposable {
  /** Where it listens, e.g. http://127.0.0.1:40123: the base URL for every Atlas client. */
  readonly url: string;
  readonly dashboardUrl: string;
  /** The control API's token (faults, the clock, reset, identities). */
  readonly adminToken: string;
  /** Made when the seed declared no organization; undefined otherwise (your seed's keys are yours). */
  readonly defaultWorld: DefaultWorld | undefined;
  /** The running server itself: its store, clock and HTTP server. */
  readonly snaplink: Snaplink;
  /** An Atlas client at `url`, with these credentials (default: the default world's API key). */
  client(credentials?: AtlasCredentials): AtlasClient;
  /** A control API call with the admin token; resolves with the JSON answer, rejects on an error status. */
  control<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** Stops the server (in-flight requests finish) and removes the store it made. Idempotent. */
  stop(): Promise<void>;
}

/** Starts snaplink in this process, ready to serve when the promise resolves. */
export async function startServer(options: ServerOptions = {}): Promise<SnaplinkServer> {
  const madeDir = options.dataDir === undefined && options.database === undefined ? mkdtempSync(join(tmpdir(), 'snaplink-')) : undefined;
  const adminToken = options.adminToken ?? newAdminToken();
  const base = defaultConfig();
  let snaplink: Snaplink;
  try {
    snaplink = await startSnaplink({
      ...base,
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      store: options.database !== undefined ? { databaseUrl: options.database } : { dataDir: options.dataDir ?? madeDir!, sqliteSync: 'full' },
      seed: options.seed,
      adminToken,
      logLevel: options.logLevel ?? 'silent',
      timings: options.timings ? TIMING_PROFILES[options.timings] : base.timings,
      ...options.config,
    });
  } catch (err) {
    if (madeDir) rmSync(madeDir, { recursive: true, force: true });
    throw err;
  }
  const b = snaplink.bootstrapped;
  const defaultWorld = b && { orgId: b.orgId, projectId: b.projectId, apiKey: { publicKey: b.apiKey.publicKey, privateKey: b.apiKey.privateKey } };
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await snaplink.close();
      if (madeDir) rmSync(madeDir, { recursive: true, force: true });
    })());
  return {
    url: snaplink.url,
    dashboardUrl: `${snaplink.url}${DASHBOARD_PATH}`,
    adminToken,
    defaultWorld,
    snaplink,
    client(credentials) {
      const given = credentials ?? defaultWorld?.apiKey;
      if (!given) throw new Error('no default world (the seed declared organizations): pass the credentials of your seed to client()');
      return new AtlasClient({ baseUrl: snaplink.url, ...given });
    },
    async control<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(new URL(path, snaplink.url), {
        method,
        headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
      return (text === '' ? undefined : JSON.parse(text)) as T;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
