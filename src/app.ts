import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { EndpointRepository } from './endpoints/repository.js';
import { EndpointService } from './endpoints/service.js';
import { RateLimiter } from './http/rate-limit.js';
import { buildHttpServer } from './http/server.js';
import { Authenticator } from './identity/authenticate.js';
import { bootstrapIfEmpty, type Bootstrapped } from './identity/bootstrap.js';
import { DigestVerifier } from './identity/digest.js';
import { NonceReplayGuard } from './identity/nonce-replay.js';
import { applySeed, readSeedFile } from './identity/seed.js';
import { openStore, type Store } from './store/database.js';
import { getOrCreateSetting, randomSecret } from './store/settings.js';

// The composition root: one store, the services on top of it, the HTTP server in front.

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

export interface Snaplink {
  http: FastifyInstance;
  store: Store;
  /** The base URL it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Set when this start created the default world (its private key is shown only now). */
  bootstrapped: Bootstrapped | undefined;
  close(): Promise<void>;
}

export async function startSnaplink(config: Config): Promise<Snaplink> {
  const store = await openStore({ dataDir: config.dataDir });
  try {
    if (config.seedFile !== undefined) await applySeed(store.db, readSeedFile(config.seedFile));
    const bootstrapped = await bootstrapIfEmpty(store.db);

    const digest = new DigestVerifier(
      {
        secret: await getOrCreateSetting(store.db, 'digest_nonce_secret', randomSecret()),
        algorithms: config.digestAlgorithms,
        nonceLifetimeMs: config.nonceLifetimeMs,
      },
      new NonceReplayGuard(),
    );
    const http = await buildHttpServer({
      db: store.db,
      authenticator: new Authenticator(store.db, digest),
      limiter: new RateLimiter(config.rateLimit),
      endpoints: new EndpointService(new EndpointRepository(store.db), config.timings),
      settings: { logLevel: config.logLevel, trustProxy: config.trustProxy },
      version: VERSION,
    });
    await http.listen({ host: config.host, port: config.port });
    const address = http.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    let closed = false;
    return {
      http,
      store,
      url: `http://${host}:${port}`,
      bootstrapped,
      async close() {
        if (closed) return;
        closed = true;
        await http.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
