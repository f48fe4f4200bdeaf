import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { EndpointHistory } from './endpoints/history.js';
import { RequestJournal } from './journal/request-journal.js';
import { MemoryAuthFailureGuard, StoreAuthFailureGuard } from './identity/brute-force.js';
import { OAuthTokens } from './identity/oauth.js';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { AdminToken } from './control/admin-token.js';
import { EndpointRepository } from './endpoints/repository.js';
import { EndpointService } from './endpoints/service.js';
import { ProjectService } from './projects/service.js';
import { FaultService } from './faults/service.js';
import { RateLimiter } from './http/rate-limit.js';
import { buildHttpServer } from './http/server.js';
import { controlRoutes } from './control/routes.js';
import { uiRoutes } from './ui/routes.js';
import { Authenticator } from './identity/authenticate.js';
import { bootstrapIfEmpty, type Bootstrapped } from './identity/bootstrap.js';
import { DigestVerifier } from './identity/digest.js';
import { MemoryReplayGuard, StoreReplayGuard } from './identity/nonce-replay.js';
import { applySeed, readSeedFile } from './identity/seed.js';
import { Metrics } from './metrics.js';
import { VirtualClock } from './provisioning/clock.js';
import { readAwsSettings } from './provisioning/providers/aws-config.js';
import type { Provider } from './provisioning/providers/provider.js';
import { SimulatedProvider } from './provisioning/providers/simulated.js';
import { TransitionRunner } from './provisioning/runner.js';
import { IdentityCache } from './identity/cache.js';
import { openStore, redactedUrl, type Store } from './store/database.js';
import { isStoreFull, StoreFullAtStartError } from './store/errors.js';
import { lockForServing } from './store/serve-lock.js';
import { StoreVersion } from './store/version.js';
import { getOrCreateSetting, randomSecret } from './store/settings.js';

// The composition root: one store, the services and the lifecycle runner on top of it, the
// HTTP server in front.

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

export interface Snaplink {
  http: FastifyInstance;
  store: Store;
  runner: TransitionRunner;
  clock: VirtualClock;
  /** What this node checks its memory of identities, lockouts and faults against. */
  version: StoreVersion;
  /** The base URL it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Set when this start created the default world (its private key is shown only now). */
  bootstrapped: Bootstrapped | undefined;
  /** Set when this start generated the control API's token (shown only now). */
  generatedAdminToken: string | undefined;
  /** Stops taking requests, finishes those in flight and the runner's current steps, closes the store. */
  close(): Promise<void>;
}

/** A file the start needs, read with a message that names its option. */
function readInput(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read ${option} ${file}: ${(err as Error).message}`);
  }
}

/**
 * Cloud endpoints tagged for snaplink that this store does not know (or knows as an older
 * incarnation) are reported, never deleted: they may be another installation's.
 */
function reportStrays(provider: Provider, repo: EndpointRepository, log: FastifyInstance['log']): void {
  if (!provider.strays) return;
  provider
    .strays(async (id, generation) => (await repo.findById(id))?.generation === generation)
    .then(
      (strays) => {
        for (const s of strays) log.warn({ provider: provider.name, ...s }, 'cloud endpoint tagged for snaplink is not tracked by this store; left in place');
        log.info({ provider: provider.name, strays: strays.length }, 'reconciliation with the cloud done');
      },
      (err) => log.error({ err, provider: provider.name }, 'reconciliation with the cloud failed'),
    );
}

export async function startSnaplink(config: Config): Promise<Snaplink> {
  // The server acknowledges a write only once it is on disk (the HTTP layer awaits
  // store.durable()), so SQLite need not fsync on the event loop inside each commit.
  // Until the server's logger exists, store warnings go to stderr.
  let warn = (message: string) => console.error(message);
  // This process's name among the nodes: on leases, in history, in the journal and status, and
  // on its PostgreSQL connections (pg_stat_activity tells which node holds which).
  const node = `runner-${randomUUID()}`;
  // What the start reads is read before anything is made: a start that fails on its input
  // (a missing seed file, certificate or AWS configuration) leaves no store behind.
  const seed = config.seedFile === undefined ? undefined : readSeedFile(config.seedFile);
  const tls = config.tls && { cert: readInput('--tls-cert', config.tls.certFile), key: readInput('--tls-key', config.tls.keyFile) };
  const awsSettings = config.provider === 'aws' ? readAwsSettings(config.aws.configFile, config.aws.endpointUrl) : undefined;
  // Before the store is opened: a second server must not seed it or release the first one's claims.
  // What a start must write and a full disk refuses is said plainly (nothing else is refused then).
  const full = (err: unknown) =>
    isStoreFull(err) ? new StoreFullAtStartError(config.store.databaseUrl === undefined ? `the disk holding ${config.store.dataDir}` : `the database ${redactedUrl(config.store.databaseUrl)}`, err) : err;
  let serving: { release(): void } | undefined;
  try {
    serving = config.store.databaseUrl === undefined ? lockForServing(config.store.dataDir) : undefined;
  } catch (err) {
    throw full(err);
  }
  let store: Store;
  try {
    store = await openStore({ ...config.store, ...(config.store.databaseUrl !== undefined && { applicationName: `snaplink ${node}` }), deferSync: true, warn: (m) => warn(m) });
  } catch (err) {
    serving?.release();
    throw full(err);
  }
  const { db } = store;
  try {
    if (seed) await applySeed(store, seed);
    if (config.seed) await applySeed(store, config.seed);
    const admin = new AdminToken(db, config.adminToken);

    const digest = new DigestVerifier(
      {
        secret: await getOrCreateSetting(db, 'digest_nonce_secret', randomSecret()),
        algorithms: config.digestAlgorithms,
        nonceLifetimeMs: config.nonceLifetimeMs,
      },
      store.dialect === 'postgres' ? new StoreReplayGuard(db) : new MemoryReplayGuard(),
    );
    const version = new StoreVersion(db);
    const identities = new IdentityCache(db, version);
    const repo = new EndpointRepository(db, store.dialect);
    const history = new EndpointHistory(db, node, (m) => warn(m), store.dialect, store.writes);
    // One process serves an SQLite store, so any claim in it was left by a killed process:
    // its work is due now rather than when the claim would lapse. On a full disk the claims
    // lapse instead, and the start goes on to serve reads.
    if (store.dialect === 'sqlite') {
      await repo.releaseAll().catch((err: unknown) => {
        if (!isStoreFull(err)) throw err;
        warn(`claims left by a killed process could not be released (${(err as Error).message}): they lapse within ${config.runner.leaseMs / 1000} s`);
      });
    }
    const metrics = new Metrics(() => repo.countByStatus(), () => store.writes.refusal !== undefined);
    const faults = new FaultService(db, version, metrics);
    const clock = new VirtualClock(db);
    await clock.refresh();
    const limiter = new RateLimiter(config.rateLimit);
    // The AWS SDK is loaded only when it is used.
    const provider: Provider = awsSettings ? new (await import('./provisioning/providers/aws.js')).AwsProvider(awsSettings) : new SimulatedProvider();
    let running = false;
    const journal = new RequestJournal(db, config.journal, (m) => warn(m), store.writes);
    const startedAt = Date.now();

    const tokens = new OAuthTokens(db, config.tokenLifetimeMs, identities, await getOrCreateSetting(db, 'token_signing_secret', randomSecret()));
    const lockouts = store.dialect === 'postgres' ? new StoreAuthFailureGuard(config.lockout, db, version) : new MemoryAuthFailureGuard(config.lockout);
    const http = await buildHttpServer({
      db,
      durable: () => store.durable(),
      identities,
      authenticator: new Authenticator(identities, digest, tokens, lockouts),
      tokens,
      limiter,
      endpoints: new EndpointService(repo, history, config.timings, clock, (dueAt) => runner.scheduled(dueAt)),
      projects: new ProjectService(db),
      journal,
      node: history.node,
      faults,
      metrics,
      settings: {
        logLevel: config.logLevel,
        trustProxy: config.trustProxy,
        tls,
        connections: config.connections,
      },
      version: VERSION,
      writes: store.writes,
      isRunning: () => running,
    });
    // The composition root wires the routes beyond the Atlas API's: the control API (and its
    // event stream) and the dashboard.
    await http.register(controlRoutes, {
      about: { version: VERSION, store: store.dialect, node: () => history.node, startedAt, isRunning: () => running },
      history,
      journal,
      db,
      admin,
      repo,
      faults,
      clock,
      limiter,
      lockouts,
      version,
      events: { ticketSecret: await getOrCreateSetting(db, 'events_ticket_secret', randomSecret()) },
      writes: store.writes,
      wakeRunner: () => runner.wake(),
      // Reset is prompt: real cloud endpoints are deleted now, whatever the DELETING hold.
      clearEndpoints: async () => {
        const now = clock.now();
        if (!provider.real) return repo.deleteAll();
        await history.recordAllDeleting(now, 'reset (control API)');
        return repo.markAllDeleting(now, now);
      },
    });
    await http.register(uiRoutes);
    warn = (message) => http.log.warn({ component: 'store' }, message);
    // Said once per episode: what refuses writes is the store, whoever's write it was.
    store.writes.onChange((refusal) => {
      if (refusal) http.log.warn({ component: 'store', reason: refusal.reason }, 'the store refuses writes (is its disk full?): writes are answered 507, reads are served, due transitions wait');
      else http.log.info({ component: 'store' }, 'the store takes writes again');
    });
    const runner = new TransitionRunner(repo, history, provider, faults, clock, version, config.timings, http.log.child({ component: 'runner' }), metrics, config.runner, store.writes);
    let bootstrapped: Bootstrapped | undefined;
    let generatedAdminToken: string | undefined;
    try {
      await http.listen({ host: config.host, port: config.port });
      // Only once the port is held: the secrets a first start makes are shown once, by a start
      // that goes on to serve. A start that cannot listen has made none, so the next one makes
      // (and shows) them. Until then a request finds no identity and no admin token: a 401.
      bootstrapped = await bootstrapIfEmpty(store);
      generatedAdminToken = await admin.generateIfAbsent();
      await store.durable();
    } catch (err) {
      await http.close();
      throw err;
    }
    // Only once listening: a failed start must leave nothing running against a closed store.
    runner.start();
    running = true;
    reportStrays(provider, repo, http.log);
    const address = http.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    let closing: Promise<void> | undefined;
    return {
      http,
      store,
      runner,
      clock,
      version,
      url: `${config.tls ? 'https' : 'http'}://${host}:${port}`,
      bootstrapped,
      generatedAdminToken,
      close() {
        closing ??= (async () => {
          running = false;
          await http.close();
          await journal.close();
          await runner.stop();
          await store.close();
          serving?.release();
        })();
        return closing;
      },
    };
  } catch (err) {
    await store.close();
    serving?.release();
    throw full(err);
  }
}
