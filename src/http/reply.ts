import type { FastifyReply } from 'fastify';
import { ApiError } from '../atlas/errors.js';
import { ERROR_CONTENT_TYPE, SUCCESS_CONTENT_TYPE } from '../atlas/media-types.js';
import type { Presentation } from './query.js';

// How answers are written: Atlas's media types, `pretty` indentation and the `envelope` wrapper.

const serialize = (body: unknown, pretty: boolean) => (pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body));

export function sendEntity(reply: FastifyReply, status: number, entity: object, p: Presentation): FastifyReply {
  const body = p.envelope ? { content: entity, status } : entity;
  return reply.code(status).type(SUCCESS_CONTENT_TYPE).send(serialize(body, p.pretty));
}

/** A list page whose results arrive already serialised (the store builds them; see EndpointRepository.pageJson). */
export interface ListBody {
  links: unknown[];
  resultsJson: string;
  totalCount?: number;
}

export function sendList(reply: FastifyReply, list: ListBody, p: Presentation): FastifyReply {
  reply.code(200).type(SUCCESS_CONTENT_TYPE);
  const { links, resultsJson, totalCount } = list;
  if (p.pretty) {
    const body: Record<string, unknown> = { links, results: JSON.parse(resultsJson) };
    if (totalCount !== undefined) body.totalCount = totalCount;
    if (p.envelope) body.status = 200;
    return reply.send(serialize(body, true));
  }
  // The same keys in the same order as the pretty form, without parsing the results again.
  const count = totalCount !== undefined ? `,"totalCount":${totalCount}` : '';
  return reply.send(`{"links":${JSON.stringify(links)},"results":${resultsJson}${count}${p.envelope ? ',"status":200' : ''}}`);
}

/** 204 carries no body, so `envelope` cannot apply to it. */
export function sendNoContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).send();
}

/** Error bodies are never wrapped in an envelope: they already carry their status. */
export function sendError(reply: FastifyReply, err: ApiError, pretty: boolean): FastifyReply {
  return reply.code(err.status).headers(err.headers).type(ERROR_CONTENT_TYPE).send(serialize(err, pretty));
}
