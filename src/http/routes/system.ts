import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildOpenApiDocument } from '../../atlas/openapi.js';
import type { Metrics } from '../../metrics.js';
import type { Db } from '../../store/database.js';

// snaplink's own endpoints under /_snaplink/ that need no credentials.

export interface SystemDeps {
  db: Db;
  version: string;
  metrics: Metrics;
  isRunning(): boolean;
}

export type Readiness = 'ready' | 'stopping' | 'unavailable';

/**
 * Ready: the store answers and the lifecycle runner is up, so a load balancer sends traffic
 * only where it can be served.
 */
export async function readiness(db: Db, isRunning: () => boolean, log: FastifyBaseLogger): Promise<Readiness> {
  try {
    await sql`select 1`.execute(db);
    return isRunning() ? 'ready' : 'stopping';
  } catch (err) {
    log.warn({ err }, 'readiness check failed');
    return 'unavailable';
  }
}

export async function systemRoutes(app: FastifyInstance, deps: SystemDeps): Promise<void> {
  const openapi = JSON.stringify(buildOpenApiDocument(deps.version));

  // Live: the process answers HTTP.
  app.get('/_snaplink/health', async (_req, reply) => reply.type('application/json').send('{"status":"ok"}'));

  app.get('/_snaplink/ready', async (request, reply) => {
    const status = await readiness(deps.db, deps.isRunning, request.log);
    return reply.code(status === 'ready' ? 200 : 503).type('application/json').send(`{"status":"${status}"}`);
  });

  // Prometheus text format; no credentials (nothing secret is in it).
  app.get('/_snaplink/metrics', async (_request, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );

  app.get('/_snaplink/openapi.json', async (_req, reply) => reply.type('application/json').send(openapi));
}
