import type { FastifyInstance } from 'fastify';
import { ApiError } from '../atlas/errors.js';
import type { JournalQuery, RequestJournal } from '../journal/request-journal.js';
import { send } from './json.js';

// The request journal over the control API: GET /_snaplink/requests (newest first, filtered)
// and DELETE /_snaplink/requests.

const FILTERS = ['groupId', 'operation', 'status', 'errorCode', 'since', 'after', 'limit'] as const;

const invalid = (name: string, why: string) => new ApiError(400, 'INVALID_QUERY_PARAMETER', `Invalid ${name}: ${why}.`, [name]);

/** The query's filters, each checked: a typo must not silently widen what is listed. */
export function parseJournalQuery(raw: Record<string, unknown>, maxLimit: number): JournalQuery {
  for (const name of Object.keys(raw)) {
    if (!(FILTERS as readonly string[]).includes(name)) throw invalid(name, `unknown filter; use ${FILTERS.join(', ')}`);
    if (typeof raw[name] !== 'string') throw invalid(name, 'given more than once');
  }
  const q = raw as Partial<Record<(typeof FILTERS)[number], string>>;
  const query: JournalQuery = { limit: 100 };
  if (q.limit !== undefined) {
    const n = Number(q.limit);
    if (!Number.isInteger(n) || n < 1 || n > Math.max(1, maxLimit)) throw invalid('limit', `a whole number from 1 to ${Math.max(1, maxLimit)}`);
    query.limit = n;
  }
  if (q.status !== undefined) {
    if (!/^([1-5]xx|[1-5][0-9][0-9])$/i.test(q.status)) throw invalid('status', 'a status (409) or a class (4xx)');
    query.status = q.status;
  }
  if (q.since !== undefined) {
    const at = /^\d+$/.test(q.since) ? Number(q.since) : Date.parse(q.since);
    if (!Number.isFinite(at)) throw invalid('since', 'an ISO 8601 time or milliseconds since the epoch');
    query.since = at;
  }
  if (q.after !== undefined) {
    if (!/^\d+$/.test(q.after)) throw invalid('after', 'an entry id');
    query.after = Number(q.after);
  }
  for (const name of ['groupId', 'operation', 'errorCode'] as const) if (q[name] !== undefined) query[name] = q[name];
  return query;
}

export async function journalRoutes(app: FastifyInstance, journal: RequestJournal): Promise<void> {
  app.get('/_snaplink/requests', async (request, reply) => {
    const query = parseJournalQuery(request.query as Record<string, unknown>, journal.settings.size);
    const results = await journal.query(query);
    return send(reply, 200, { results, totalCount: results.length, journalSize: journal.settings.size });
  });

  app.delete('/_snaplink/requests', async (_request, reply) => send(reply, 200, { deletedRequests: await journal.clear() }));
}
