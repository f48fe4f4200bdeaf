import type { FastifyInstance } from 'fastify';
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

export async function systemRoutes(app: FastifyInstance, deps: SystemDeps): Promise<void> {
  const openapi = JSON.stringify(buildOpenApiDocument(deps.version));

  // Live: the process answers HTTP.
  app.get('/_snaplink/health', async (_req, reply) => reply.type('application/json').send('{"status":"ok"}'));

  // Ready: the store answers and the lifecycle runner is up, so a load balancer sends traffic
  // only where it can be served.
  app.get('/_snaplink/ready', async (request, reply) => {
    try {
      await sql`select 1`.execute(deps.db);
      if (!deps.isRunning()) return reply.code(503).type('application/json').send('{"status":"stopping"}');
      return reply.type('application/json').send('{"status":"ready"}');
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed');
      return reply.code(503).type('application/json').send('{"status":"unavailable"}');
    }
  });

  // Prometheus text format; no credentials (nothing secret is in it).
  app.get('/_snaplink/metrics', async (_request, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );

  app.get('/_snaplink/openapi.json', async (_req, reply) => reply.type('application/json').send(openapi));
}
