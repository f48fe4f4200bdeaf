import type { FastifyInstance } from 'fastify';

// The Atlas CLI, with telemetry on, posts its usage events to the service it is pointed at.
// snaplink keeps nothing of them: each post is accepted (202, no body) and dropped, so a
// well-behaved CLI leaves no 404 in the request journal. No credentials are asked for: the
// events are thrown away whoever sends them.

export const TELEMETRY_PATH = '/api/private/v1.0/telemetry/events';

export async function telemetryRoutes(app: FastifyInstance): Promise<void> {
  app.post(TELEMETRY_PATH, { config: { operation: 'telemetry' } }, async (_request, reply) => reply.code(202).send());
}
