import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../atlas/errors.js';

// The control API speaks plain JSON; its bodies arrive as raw bytes (http/server.ts).

export const send = (reply: FastifyReply, status: number, body: unknown) => reply.code(status).type('application/json').send(JSON.stringify(body));

/** The request's JSON body ({} when there is none). */
export function jsonBody(request: FastifyRequest): unknown {
  const raw = request.body as Buffer | undefined;
  if (raw === undefined || raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw errors.malformedJson();
  }
}

/** The request's JSON body, which must be an object ({} when there is none). */
export function jsonObject(request: FastifyRequest): Record<string, any> {
  const parsed = jsonBody(request);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw errors.invalidJson();
  return parsed as Record<string, any>;
}
