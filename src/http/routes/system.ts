import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildOpenApiDocument } from '../../atlas/openapi.js';
import type { Metrics } from '../../metrics.js';
import type { Db } from '../../store/database.js';
import type { WriteHealth } from '../../store/write-health.js';

// snaplink's own endpoints under /_snaplink/ that need no credentials.

export interface SystemDeps {
  db: Db;
  version: string;
  metrics: Metrics;
  isRunning(): boolean;
  writes: WriteHealth;
}

export type Readiness = 'ready' | 'stopping' | 'unavailable';

export interface ReadinessReport {
  status: Readiness;
  /**
   * Present while the store refuses writes (its disk full). The node stays ready: reads are
   * served, and a balancer that took every node sharing the store out would turn a write outage
   * into a total one.
   */
  writesRefused?: { since: string; reason: string };
}

/**
 * Ready: the store answers and the lifecycle runner is up, so a load balancer sends traffic
 * only where it can be served.
 */
export async function readiness(db: Db, isRunning: () => boolean, writes: WriteHealth, log: FastifyBaseLogger): Promise<ReadinessReport> {
  let status: Readiness;
  try {
    await sql`select 1`.execute(db);
    status = isRunning() ? 'ready' : 'stopping';
  } catch (err) {
    log.warn({ err }, 'readiness check failed');
    status = 'unavailable';
  }
  const refusal = writes.refusal;
  return refusal ? { status, writesRefused: { since: new Date(refusal.since).toISOString(), reason: refusal.reason } } : { status };
}

export async function systemRoutes(app: FastifyInstance, deps: SystemDeps): Promise<void> {
  const openapi = JSON.stringify(buildOpenApiDocument(deps.version));

  // Live: the process answers HTTP.
  app.get('/_snaplink/health', async (_req, reply) => reply.type('application/json').send('{"status":"ok"}'));

  app.get('/_snaplink/ready', async (request, reply) => {
    const report = await readiness(deps.db, deps.isRunning, deps.writes, request.log);
    return reply.code(report.status === 'ready' ? 200 : 503).type('application/json').send(JSON.stringify(report));
  });

  // Prometheus text format; no credentials (nothing secret is in it).
  app.get('/_snaplink/metrics', async (_request, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );

  app.get('/_snaplink/openapi.json', async (_req, reply) => reply.type('application/json').send(openapi));
}
