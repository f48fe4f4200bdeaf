import type { FastifyInstance } from 'fastify';
import { ApiError, errors } from '../atlas/errors.js';
import type { JournalQuery, RequestJournal } from '../journal/request-journal.js';
import { JOURNAL_OPERATIONS } from '../journal/capture.js';
import { send } from './json.js';

// The request journal over the control API — what a test asks to verify what its client sent,
// as WireMock's request journal is used:
//   GET    /_snaplink/requests         newest first, filtered, paged, with the count of all matches
//   GET    /_snaplink/requests/count   how many requests match
//   GET    /_snaplink/requests/{id}    one request with its headers and bodies, sent and answered
//   DELETE /_snaplink/requests         empties it

/** Filters taking one value each; `header.<name>` and `body.<field>` may come several times. */
const FILTERS = ['method', 'path', 'operation', 'status', 'errorCode', 'groupId', 'principal', 'endpointId', 'challenge', 'faultId', 'node', 'since', 'until', 'q', 'after', 'before', 'limit'] as const;
type Filter = (typeof FILTERS)[number];
const STRINGS = ['operation', 'errorCode', 'groupId', 'principal', 'endpointId', 'faultId', 'node'] as const;

const invalid = (name: string, why: string) => new ApiError(400, 'INVALID_QUERY_PARAMETER', `Invalid ${name}: ${why}.`, [name]);

const time = (name: string, text: string) => {
  const at = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(at)) throw invalid(name, 'an ISO 8601 time or milliseconds since the epoch');
  return at;
};

/**
 * The query's filters, each checked: a typo must not silently widen (or empty) what is listed,
 * and the answer names the filter that is wrong. `maxLimit`: 0 for the count, which lists nothing.
 */
export function parseJournalQuery(raw: Record<string, unknown>, maxLimit: number): JournalQuery {
  const query: JournalQuery = { limit: Math.min(100, Math.max(1, maxLimit)) };
  const values: Partial<Record<Filter, string>> = {};
  for (const [name, value] of Object.entries(raw)) {
    const many = /^(header|body)\.(.+)$/.exec(name);
    const list = Array.isArray(value) ? value : [value];
    if (many) {
      const [, kind, key] = many as unknown as [string, 'header' | 'body', string];
      if (!/^[A-Za-z0-9_.-]{1,128}$/.test(key)) throw invalid(name, `a ${kind === 'header' ? 'header name' : 'dotted field path'} of letters, digits, '_', '-' and '.'`);
      for (const v of list) {
        if (typeof v !== 'string') throw invalid(name, 'a value');
        if (kind === 'header') (query.headers ??= []).push([key.toLowerCase(), v]);
        else (query.body ??= []).push([key, v]);
      }
      continue;
    }
    if (!(FILTERS as readonly string[]).includes(name)) throw invalid(name, `unknown filter; use ${FILTERS.join(', ')}, header.<name> or body.<field>`);
    if (typeof value !== 'string') throw invalid(name, 'given more than once');
    values[name as Filter] = value;
  }
  const q = values;
  if (q.limit !== undefined) {
    const n = Number(q.limit);
    if (maxLimit === 0) throw invalid('limit', 'a count lists nothing; leave it out');
    if (!Number.isInteger(n) || n < 1 || n > maxLimit) throw invalid('limit', `a whole number from 1 to ${maxLimit}`);
    query.limit = n;
  }
  if (q.method !== undefined) {
    if (!/^[A-Za-z]{1,16}$/.test(q.method)) throw invalid('method', 'an HTTP method, e.g. POST');
    query.method = q.method.toUpperCase();
  }
  if (q.path !== undefined) {
    if (!q.path.startsWith('/')) throw invalid('path', "a path beginning with '/' (a prefix, or a pattern with *)");
    query.path = q.path;
  }
  if (q.status !== undefined) {
    if (!/^([1-5]xx|[1-5][0-9][0-9])$/i.test(q.status)) throw invalid('status', 'a status (409) or a class (4xx)');
    query.status = q.status;
  }
  if (q.challenge !== undefined) {
    if (q.challenge !== 'true' && q.challenge !== 'false') throw invalid('challenge', 'true or false');
    query.challenge = q.challenge === 'true';
  }
  if (q.since !== undefined) query.since = time('since', q.since);
  if (q.until !== undefined) query.until = time('until', q.until);
  for (const name of ['after', 'before'] as const) {
    if (q[name] === undefined) continue;
    if (!/^\d{1,15}$/.test(q[name]!)) throw invalid(name, 'an entry id');
    query[name] = Number(q[name]);
  }
  if (q.q !== undefined) {
    if (q.q.trim() === '') throw invalid('q', 'some text to look for');
    query.text = q.q.trim();
  }
  if (q.operation !== undefined && !(JOURNAL_OPERATIONS as readonly string[]).includes(q.operation)) throw invalid('operation', `one of ${JOURNAL_OPERATIONS.join(', ')}`);
  for (const name of STRINGS) if (q[name] !== undefined) query[name] = q[name];
  return query;
}

export async function journalRoutes(app: FastifyInstance, journal: RequestJournal): Promise<void> {
  const maxLimit = () => Math.max(1, Math.min(1000, journal.settings.size));

  app.get('/_snaplink/requests', async (request, reply) => {
    const page = await journal.query(parseJournalQuery(request.query as Record<string, unknown>, maxLimit()));
    return send(reply, 200, { ...page, journalSize: journal.settings.size });
  });

  app.get('/_snaplink/requests/count', async (request, reply) => {
    const { limit: _, ...query } = parseJournalQuery(request.query as Record<string, unknown>, 0);
    return send(reply, 200, { count: await journal.count(query) });
  });

  app.get('/_snaplink/requests/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const entry = /^\d{1,15}$/.test(id) ? await journal.get(Number(id)) : undefined;
    if (!entry) throw errors.resourceNotFound(id);
    return send(reply, 200, entry);
  });

  app.delete('/_snaplink/requests', async (_request, reply) => send(reply, 200, { deletedRequests: await journal.clear() }));
}
