import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { EndpointRepository } from '../endpoints/repository.js';
import type { FaultService } from '../faults/service.js';
import type { RequestJournal } from '../journal/request-journal.js';
import type { VirtualClock } from '../provisioning/clock.js';
import { send } from './json.js';

// One Server-Sent Events stream of what the dashboard shows, so it need not poll: each request
// the journal records (its summary), and word that the journal was emptied or that the
// endpoints, the faults or the clock changed. Every node watches the store itself — the journal's newest entries, a mark of the
// endpoints and of the faults, the clock's offset — a few times a second while anyone listens
// (one watcher per node, however many listen), so what another node did shows too.
//
// A browser's EventSource sends no Authorization header, and a token in a URL ends up in logs.
// So a listener first asks for a ticket with the admin token (POST /_snaplink/events/ticket)
// and opens GET /_snaplink/events?ticket=…: the ticket is signed by a secret every node shares,
// lasts a minute, opens only this stream — and a `ticket` parameter is redacted wherever a URL
// is written down (redaction.ts).

export const EVENTS_PATH = '/_snaplink/events';
const TICKET_MS = 60_000;
const WATCH_MS = 300;
const HEARTBEAT_MS = 15_000;

export interface EventDeps {
  journal: RequestJournal;
  repo: EndpointRepository;
  faults: FaultService;
  clock: VirtualClock;
  /** The secret tickets are signed with (a store setting, the same on every node). */
  ticketSecret: string;
}

const sign = (secret: string, expires: number) => createHmac('sha256', secret).update(`snaplink-events:${expires}`).digest('base64url');

/** A ticket for the stream, valid until `expires`. */
export function newTicket(secret: string, now = Date.now()): { ticket: string; expiresAt: string } {
  const expires = now + TICKET_MS;
  return { ticket: `${expires}.${sign(secret, expires)}`, expiresAt: new Date(expires).toISOString() };
}

/** Whether a ticket was signed with `secret` and has not expired. */
export function ticketValid(secret: string, ticket: unknown, now = Date.now()): boolean {
  if (typeof ticket !== 'string') return false;
  const m = /^(\d{13})\.([A-Za-z0-9_-]{43})$/.exec(ticket);
  if (!m || Number(m[1]) < now) return false;
  const given = Buffer.from(m[2]!);
  const expected = Buffer.from(sign(secret, Number(m[1])));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

type Listener = ServerResponse;

/** The node's one watcher: runs while anyone listens, and sends each listener what changed. */
class Watcher {
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  private last: { journal: number; endpoints: string; faults: string; clock: number; emptiedAt?: number } | undefined;
  private sequence = 0;
  private watching: Promise<void> | undefined;

  constructor(private readonly deps: EventDeps) {}

  async add(listener: Listener): Promise<void> {
    this.listeners.add(listener);
    if (!this.last) {
      const { journal, repo, faults, clock } = this.deps;
      await clock.refresh();
      const newest = await journal.newestId();
      const oldest = await journal.oldestKeptId();
      const last = { journal: newest, endpoints: await repo.changeMark(), faults: await faults.changeMark(), clock: clock.offset, emptiedAt: oldest > newest ? oldest : undefined };
      // Gone (or the server closing) while the store was read: nobody to watch for.
      if (!this.listeners.has(listener)) return;
      this.last ??= last;
    }
    if (!this.listeners.has(listener)) return;
    this.emit('hello', { journalNewestId: this.last.journal, clock: this.clockView() }, [listener]);
    this.timer ??= setInterval(() => {
      this.watching ??= this.watch().finally(() => (this.watching = undefined));
    }, WATCH_MS);
  }

  remove(listener: Listener): void {
    this.listeners.delete(listener);
    if (this.listeners.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
    // Picked up afresh when someone listens again: what happened meanwhile was not sent.
    this.last = undefined;
  }

  close(): void {
    for (const l of this.listeners) l.end();
    this.listeners.clear();
    clearInterval(this.timer);
    this.timer = undefined;
    this.last = undefined;
  }

  heartbeat(): void {
    for (const l of this.listeners) l.write(': still here\n\n');
  }

  private clockView() {
    const { clock } = this.deps;
    return { offsetSeconds: clock.offset / 1000, now: new Date(clock.now()).toISOString() };
  }

  private async watch(): Promise<void> {
    const last = this.last;
    if (!last) return;
    const { journal, repo, faults, clock } = this.deps;
    try {
      // Every entry a listener was told of is gone: the journal was emptied (a reset, a DELETE).
      const oldest = await journal.oldestKeptId();
      if (oldest > last.journal && oldest !== last.emptiedAt) {
        last.emptiedAt = oldest;
        this.emit('requests-cleared', {});
      }
      const fresh = await journal.query({ after: last.journal, limit: 500 });
      if (fresh.results.length > 0) {
        // Oldest first, as they happened; a burst past 500 says how many it left out.
        for (const entry of [...fresh.results].reverse()) this.emit('request', entry);
        if (fresh.totalCount > fresh.results.length) this.emit('requests-skipped', { skipped: fresh.totalCount - fresh.results.length });
        last.journal = fresh.results[0]!.id;
      }
      const endpoints = await repo.changeMark();
      if (endpoints !== last.endpoints) {
        last.endpoints = endpoints;
        this.emit('endpoints', {});
      }
      const marked = await faults.changeMark();
      if (marked !== last.faults) {
        last.faults = marked;
        this.emit('faults', {});
      }
      await clock.refresh();
      if (clock.offset !== last.clock) {
        last.clock = clock.offset;
        this.emit('clock', this.clockView());
      }
    } catch {
      // The store is away for a moment: the next look tries again; listeners keep their stream.
    }
  }

  private emit(event: string, data: unknown, to: Iterable<Listener> = this.listeners): void {
    const text = `id: ${++this.sequence}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const l of to) l.write(text);
  }
}

export async function eventRoutes(app: FastifyInstance, deps: EventDeps): Promise<void> {
  const watcher = new Watcher(deps);
  const heartbeat = setInterval(() => watcher.heartbeat(), HEARTBEAT_MS).unref();
  // Streams never end by themselves: closing the server ends them, or it would wait for them.
  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    watcher.close();
  });

  app.post(`${EVENTS_PATH}/ticket`, async (_request, reply) => send(reply, 201, newTicket(deps.ticketSecret)));

  // The control API's hook let this through with a valid ticket (or the admin token).
  app.get(EVENTS_PATH, async (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // A proxy must not hold the stream back.
      'x-accel-buffering': 'no',
    });
    // Tells EventSource how soon to come back after a dropped stream.
    res.write('retry: 2000\n\n');
    request.raw.on('close', () => watcher.remove(res));
    try {
      await watcher.add(res);
    } catch {
      // The store could not be read to begin with: the listener comes back (EventSource retries).
      watcher.remove(res);
      res.end();
    }
  });
}
