import type { FastifyReply, FastifyRequest } from 'fastify';
import { type ApiError, AuthenticationFailure } from '../atlas/errors.js';
import { ERROR_CONTENT_TYPE, SUCCESS_CONTENT_TYPE } from '../atlas/media-types.js';
import type { ListQuery, Presentation } from './query.js';

// How answers are written: Atlas's media types, `pretty` indentation and the `envelope` wrapper,
// and the headers every answer of Atlas's API layer carries.

/** Sent on every answer (the onRequest hook); taken off again where Atlas answers before its API layer. */
export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'x-permitted-cross-domain-policies': 'none',
};
/** Over HTTPS, beside the above (Atlas's own spelling of it). */
export const HSTS = ['strict-transport-security', 'max-age=31536000; includeSubdomains;'] as const;

const serialize = (body: unknown, pretty: boolean) => (pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body));

/** `contentType`: the operation's success type (the resource's version unless given). */
export function sendEntity(reply: FastifyReply, status: number, entity: object, p: Presentation, contentType = SUCCESS_CONTENT_TYPE): FastifyReply {
  const body = p.envelope ? { content: entity, status } : entity;
  return reply.code(status).type(contentType).send(serialize(body, p.pretty));
}

/** An entity that arrives already serialised (the store keeps each endpoint's JSON): sent as it is unless `pretty` or `envelope` reshape it. */
export function sendEntityJson(reply: FastifyReply, status: number, json: string, p: Presentation): FastifyReply {
  if (p.pretty || p.envelope) return sendEntity(reply, status, JSON.parse(json) as object, p);
  return reply.code(status).type(SUCCESS_CONTENT_TYPE).send(json);
}

/** A list page whose results arrive already serialised (the store builds them; see EndpointRepository.page). */
export interface ListBody {
  links: unknown[];
  resultsJson: string;
  totalCount?: number;
}

export function sendList(reply: FastifyReply, list: ListBody, p: Presentation, contentType = SUCCESS_CONTENT_TYPE): FastifyReply {
  reply.code(200).type(contentType);
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

/** 204 carries no body, so `envelope` cannot apply to it; Atlas still names the media type. */
export function sendNoContent(reply: FastifyReply): FastifyReply {
  return reply.code(204).header('content-type', SUCCESS_CONTENT_TYPE).send();
}

/**
 * Error bodies are never wrapped in an envelope: they already carry their status. They are sent
 * as exactly `application/json` (no charset, as Atlas) with the errorCode in X-Error-Code —
 * except an authentication failure, which Atlas answers before its API layer.
 */
export function sendError(reply: FastifyReply, err: ApiError, pretty: boolean): FastifyReply {
  return reply.send(errorAnswer(reply, err, pretty));
}

/** Sets the status and headers of `err`'s answer on `reply`; returns its body. */
export function errorAnswer(reply: FastifyReply, err: ApiError, pretty: boolean): Buffer {
  if (err instanceof AuthenticationFailure) {
    for (const name of Object.keys(SECURITY_HEADERS)) reply.removeHeader(name);
    reply.removeHeader(HSTS[0]);
  } else {
    reply.header('x-error-code', err.errorCode);
  }
  // Before the context may be dropped below: who asked stays known to the journal.
  const principal = reply.request.atlas?.principal?.name ?? reply.journalNote?.principal;
  reply.journalNote = { ...reply.journalNote, principal, errorCode: err.errorCode, errorDetail: err.detail };
  if (!err.reportsRateLimit) reply.request.atlas = null;
  // Fastify adds `; charset=utf-8` to a JSON type sent as a string, but not to bytes; Atlas
  // sends no charset on errors.
  reply.code(err.status).headers(err.headers).header('content-type', ERROR_CONTENT_TYPE);
  return Buffer.from(serialize(err, pretty));
}

/** A list's links: self always; previous unless on page 1; next unless on the last page. Absolute, from the request's host. */
export function pageLinks(request: FastifyRequest, q: ListQuery, totalCount: number) {
  const url = new URL(request.url, `${request.protocol}://${request.host}`);
  const href = (pageNum: bigint) => {
    url.searchParams.set('pageNum', String(pageNum));
    url.searchParams.set('itemsPerPage', String(q.itemsPerPage));
    return url.toString();
  };
  const links = [{ href: href(q.pageNum), rel: 'self' }];
  if (q.pageNum > 1n) links.push({ href: href(q.pageNum - 1n), rel: 'previous' });
  if (q.pageNum * BigInt(q.itemsPerPage) < BigInt(totalCount)) links.push({ href: href(q.pageNum + 1n), rel: 'next' });
  return links;
}
