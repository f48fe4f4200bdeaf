import type { FastifyInstance } from 'fastify';
import { ApiError, errors } from '../atlas/errors.js';
import { isObjectId } from '../atlas/object-id.js';
import { type Endpoint, toWire } from '../endpoints/model.js';
import type { EndpointRepository } from '../endpoints/repository.js';
import { FaultSpecError, parseFaultSpec } from '../faults/model.js';
import type { FaultService } from '../faults/service.js';
import type { AuthFailureGuard } from '../identity/brute-force.js';
import type { RateLimiter } from '../http/rate-limit.js';
import type { VirtualClock } from '../provisioning/clock.js';
import type { Db, Dialect } from '../store/database.js';
import type { WriteHealth } from '../store/write-health.js';
import type { StoreVersion } from '../store/version.js';
import { readiness } from '../http/routes/system.js';
import { ENDPOINT_STATUSES } from '../atlas/regions.js';
import type { AdminToken } from './admin-token.js';
import { identityRoutes } from './identities.js';
import { journalRoutes } from './journal.js';
import { EVENTS_PATH, eventRoutes, ticketValid } from './events.js';
import type { EndpointHistory } from '../endpoints/history.js';
import type { RequestJournal } from '../journal/request-journal.js';
import { jsonBody, send } from './json.js';

// The control API under /_snaplink/: fault injection, the virtual clock, reset, and a view of
// every endpoint with its schedule. Guarded by the admin bearer token; answers are plain JSON,
// errors the same ApiError shape as the Atlas paths.

export interface ControlDeps {
  db: Db;
  admin: AdminToken;
  repo: EndpointRepository;
  faults: FaultService;
  clock: VirtualClock;
  limiter: RateLimiter;
  /** The brute-force guard: wrong admin tokens count as wrong API credentials do; a reset clears it. */
  lockouts: AuthFailureGuard;
  /** What the guard's lockouts are read under. */
  version: StoreVersion;
  /** Tell the lifecycle runner there may be new due work. */
  wakeRunner(): void;
  /**
   * Empties the endpoints for a reset: at once with a simulated cloud; with a real one, by
   * deleting them there first (they go DELETING). Returns how many were affected.
   */
  clearEndpoints(): Promise<number>;
  history: EndpointHistory;
  journal: RequestJournal;
  /** The event stream's ticket secret (a store setting, the same on every node). */
  events: { ticketSecret: string };
  /** Whether the store takes writes (status tells). */
  writes: WriteHealth;
  /** What `GET /_snaplink/status` tells about this node. */
  about: { version: string; store: Dialect; node(): string; startedAt: number; isRunning(): boolean };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export async function controlRoutes(app: FastifyInstance, deps: ControlDeps): Promise<void> {
  const { admin, repo, faults, clock } = deps;

  app.addHook('onRequest', async (request) => {
    // Guessing the admin token is limited as guessing API credentials is (identity/brute-force.ts):
    // the same count per address, shared by every node; a locked-out address is refused even
    // with the right token until its lockout ends.
    const locked = await deps.lockouts.lockedFor(request.ip, await deps.version.refresh());
    if (locked > 0) throw errors.tooManyFailedAuthentications(locked);
    const header = request.headers.authorization;
    const token = header?.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : undefined;
    // A browser's EventSource cannot send the token: the event stream takes a ticket instead (control/events.ts).
    if (token === undefined && request.method === 'GET' && request.routeOptions.url === EVENTS_PATH) {
      const { ticket } = request.query as { ticket?: unknown };
      if (ticketValid(deps.events.ticketSecret, ticket)) return;
      if (ticket !== undefined) await deps.lockouts.fail(request.ip);
      throw new ApiError(401, 'UNAUTHORIZED', 'The event stream needs a ticket: POST /_snaplink/events/ticket with the admin token, then GET /_snaplink/events?ticket=<ticket> within a minute.', [], undefined, {
        'www-authenticate': 'Bearer realm="snaplink control"',
      });
    }
    if (!(await admin.verify(token))) {
      // Only a token presented and wrong counts, as for API credentials.
      if (token !== undefined && token !== '') await deps.lockouts.fail(request.ip);
      throw new ApiError(401, 'UNAUTHORIZED', 'The control API needs the admin token: Authorization: Bearer <SNAPLINK_ADMIN_TOKEN>.', [], undefined, {
        'www-authenticate': 'Bearer realm="snaplink control"',
      });
    }
  });

  await identityRoutes(app, deps.db);

  /** An endpoint as the control API shows it: the wire view, its project and its schedule. */
  const row = (e: Endpoint) => ({ ...toWire(e), groupId: e.groupId, dueAt: iso(e.dueAt), attempts: e.attempts });

  app.get('/_snaplink/endpoints', async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const list = await repo.list({ groupId: q.groupId, status: q.status, regionName: q.regionName });
    const results = list.map(row);
    return send(reply, 200, { results, totalCount: results.length, clock: iso(clock.now()) });
  });

  // One endpoint, as the list shows it (`snaplink endpoints get`).
  app.get('/_snaplink/endpoints/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const e = isObjectId(id) ? await repo.findById(id) : undefined;
    if (!e) throw errors.resourceNotFound(id);
    return send(reply, 200, { ...row(e), clock: iso(clock.now()) });
  });

  // Every status the endpoint entered, and why; 404 once the endpoint is gone (its history with it).
  app.get('/_snaplink/endpoints/:id/history', async (request, reply) => {
    const { id } = request.params as { id: string };
    const entries = isObjectId(id) ? await deps.history.list(id) : [];
    if (entries.length === 0 && !(isObjectId(id) && (await repo.findById(id)))) throw errors.resourceNotFound(id);
    return send(reply, 200, { endpointId: id, results: entries, totalCount: entries.length });
  });

  await journalRoutes(app, deps.journal);
  await eventRoutes(app, { ...deps.events, journal: deps.journal, repo, faults, clock });

  app.post('/_snaplink/faults', async (request, reply) => {
    let spec;
    try {
      spec = parseFaultSpec(jsonBody(request));
    } catch (err) {
      if (err instanceof FaultSpecError) throw new ApiError(400, 'INVALID_FAULT', `Invalid fault: ${err.message}.`);
      throw err;
    }
    const fault = await faults.create(spec);
    // A new way to lose endpoints concerns those already ACTIVE too.
    if (fault.kind === 'LOSE_ENDPOINT') await repo.wakeActive({ groupId: fault.groupId, regionName: fault.regionName }, clock.now() + (fault.afterSeconds ?? 0) * 1000);
    deps.wakeRunner();
    return send(reply, 201, fault);
  });

  app.get('/_snaplink/faults', async (_request, reply) => {
    const results = await faults.list();
    return send(reply, 200, { results, totalCount: results.length });
  });

  app.get('/_snaplink/faults/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    const fault = isObjectId(id) ? await faults.get(id) : undefined;
    if (!fault) throw errors.resourceNotFound(id);
    return send(reply, 200, fault);
  });

  app.delete('/_snaplink/faults/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    if (!isObjectId(id) || !(await faults.remove(id))) throw errors.resourceNotFound(id);
    return reply.code(204).send();
  });

  const clockView = () => ({ offsetSeconds: clock.offset / 1000, now: iso(clock.now()) });

  app.get('/_snaplink/clock', async (_request, reply) => {
    await clock.refresh();
    return send(reply, 200, clockView());
  });

  app.post('/_snaplink/clock/advance', async (request, reply) => {
    const { seconds } = (jsonBody(request) ?? {}) as { seconds?: unknown };
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 10 * 365 * 86_400) {
      throw new ApiError(400, 'INVALID_ATTRIBUTE', 'seconds must be a positive number of seconds (at most ten years).', ['seconds']);
    }
    await clock.advance(Math.round(seconds * 1000));
    deps.wakeRunner();
    return send(reply, 200, clockView());
  });

  // One screen on the whole server: `snaplink status`.
  app.get('/_snaplink/status', async (request, reply) => {
    const { about } = deps;
    await clock.refresh();
    const [counts, allFaults, ready] = await Promise.all([repo.countByStatus(), faults.list(), readiness(deps.db, about.isRunning, deps.writes, request.log)]);
    const endpoints = Object.fromEntries(ENDPOINT_STATUSES.map((s) => [s, counts[s] ?? 0]));
    return send(reply, 200, {
      version: about.version,
      node: about.node(),
      startedAt: iso(about.startedAt),
      uptimeSeconds: Math.floor((Date.now() - about.startedAt) / 1000),
      store: about.store,
      ready: ready.status === 'ready',
      readiness: ready.status,
      ...(ready.writesRefused && { writesRefused: ready.writesRefused }),
      endpoints,
      totalEndpoints: Object.values(counts).reduce((a, b) => a + b, 0),
      activeFaults: allFaults.filter((f) => f.remaining !== 0).length,
      clock: clockView(),
    });
  });

  app.post('/_snaplink/reset', async (_request, reply) => {
    const endpoints = await deps.clearEndpoints();
    deps.wakeRunner();
    const removedFaults = (await faults.list()).length;
    await faults.clear();
    await clock.reset();
    deps.limiter.clear();
    await deps.lockouts.clear();
    const deletedRequests = await deps.journal.clear();
    return send(reply, 200, { deletedEndpoints: endpoints, deletedFaults: removedFaults, deletedRequests });
  });
}
