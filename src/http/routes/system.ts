import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildOpenApiDocument } from '../../atlas/openapi.js';
import type { Db } from '../../store/database.js';

// snaplink's own endpoints under /_snaplink/ that need no credentials.

export async function systemRoutes(app: FastifyInstance, deps: { db: Db; version: string }): Promise<void> {
  const openapi = JSON.stringify(buildOpenApiDocument(deps.version));

  // Live: the process answers HTTP.
  app.get('/_snaplink/health', async (_req, reply) => reply.type('application/json').send('{"status":"ok"}'));

  // Ready: the store answers too, so a load balancer sends traffic only where it can be served.
  app.get('/_snaplink/ready', async (request, reply) => {
    try {
      await sql`select 1`.execute(deps.db);
      return reply.type('application/json').send('{"status":"ready"}');
    } catch (err) {
      request.log.warn({ err }, 'readiness check failed');
      return reply.code(503).type('application/json').send('{"status":"unavailable"}');
    }
  });

  app.get('/_snaplink/openapi.json', async (_req, reply) => reply.type('application/json').send(openapi));
}
