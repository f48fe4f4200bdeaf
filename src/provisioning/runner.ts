import type { FastifyBaseLogger } from 'fastify';
import { type Change, type CloudState, nextState, restart, type Timings } from '../endpoints/lifecycle.js';
import type { Endpoint } from '../endpoints/model.js';
import type { EndpointHistory } from '../endpoints/history.js';
import type { EndpointRepository } from '../endpoints/repository.js';
import type { FaultService } from '../faults/service.js';
import type { Metrics } from '../metrics.js';
import type { StoreVersion } from '../store/version.js';
import type { Refusal, WriteHealth } from '../store/write-health.js';
import type { VirtualClock } from './clock.js';
import type { Provider } from './providers/provider.js';
import { isStoreFull } from '../store/errors.js';

// The transition runner: background work that moves endpoints through their lifecycle. Every
// due transition is a row with a due time, so nothing lives only in memory: a restarted (or
// another) runner picks up whatever is due, late work runs at once, and a claim (lease) makes
// each step run once even with several runners on one store.

export interface RunnerOptions {
  /** How often to look for due work when not woken. */
  tickMs: number;
  /** How long a claim lasts before another runner may take the work over. */
  leaseMs: number;
  /** Endpoints claimed per round. */
  batch: number;
  /** Provider calls run at once. */
  concurrency: number;
  /** Cap on the backoff after repeated provider errors. */
  maxBackoffMs: number;
}

export const DEFAULT_RUNNER_OPTIONS: RunnerOptions = { tickMs: 200, leaseMs: 30_000, batch: 100, concurrency: 8, maxBackoffMs: 60_000 };

export const DEFAULT_FAILURE_MESSAGE = 'Simulated provisioning failure (injected fault).';

/** The longest wait between rounds while they fail (a full disk, a database away). */
const MAX_ROUND_BACKOFF_MS = 5_000;

export class TransitionRunner {
  /** This node's name: what the store's leases and the endpoints' history carry. */
  readonly owner: string;
  private stopping = false;
  private loopDone: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private pendingWake = false;

  constructor(
    private readonly repo: EndpointRepository,
    private readonly history: EndpointHistory,
    private readonly provider: Provider,
    private readonly faults: FaultService,
    private readonly clock: VirtualClock,
    private readonly version: StoreVersion,
    private readonly timings: Timings,
    private readonly log: FastifyBaseLogger,
    private readonly metrics: Metrics,
    private readonly options: RunnerOptions = DEFAULT_RUNNER_OPTIONS,
    /** Whether the store takes writes: while it refuses them, rounds back off (the store says so once). */
    writes?: WriteHealth,
  ) {
    this.owner = history.node;
    writes?.onChange((refusal) => this.storeRefusing(refusal));
  }

  /** Rounds failed in a row: the wait before the next one doubles with each, up to MAX_ROUND_BACKOFF_MS. */
  private failedRounds = 0;

  /** The store took writes again: the backoff ends, and due work is looked for at once. */
  private storeRefusing(refusal: Refusal | undefined): void {
    if (refusal) return;
    this.failedRounds = 0;
    this.wake();
  }

  start(): void {
    if (this.loopDone) return;
    // Its name is what the store's leases carry: an operator (or a test) can tell whose they are.
    this.log.info({ owner: this.owner }, 'transition runner started');
    this.loopDone = this.loop();
  }

  /** Work fell due at `dueAt` (lifecycle clock): look now if that is before the next tick. */
  scheduled(dueAt: number): void {
    if (dueAt <= this.clock.now() + this.options.tickMs) this.wake();
  }

  /** Look for due work now (after a create, a delete, a clock advance, a new fault). */
  wake(): void {
    this.pendingWake = true;
    this.wakeUp?.();
  }

  /** Finishes the steps under way, gives back the rest, and stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let again = false;
      try {
        await this.clock.refresh();
        await this.version.refresh();
        again = await this.round();
        this.failedRounds = 0;
      } catch (err) {
        this.failedRounds++;
        // A refused write is reported once, by the store (app.ts); anything else each time.
        if (!isStoreFull(err)) this.log.error({ err, failedRounds: this.failedRounds }, 'transition runner round failed; retrying');
      }
      if (!again && !this.stopping) await this.pause();
    }
  }

  /**
   * Until the next tick or a wake-up; after failed rounds, until a backoff ends instead (a
   * wake-up does not cut it short: it would only fail again — but the store taking writes
   * again, or stop(), does).
   */
  private pause(): Promise<void> {
    if (this.failedRounds > 0) {
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.wakeUp = undefined;
          resolve();
        };
        const timer = setTimeout(done, Math.min(this.options.tickMs * 2 ** (this.failedRounds - 1), MAX_ROUND_BACKOFF_MS));
        this.wakeUp = () => {
          if (this.stopping || this.failedRounds === 0) done();
        };
      });
    }
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      // However the pause ends, its wake-up goes with it: a wake during the next round must
      // set pendingWake, not call this spent closure and be lost.
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.options.tickMs);
      this.wakeUp = () => {
        this.pendingWake = false;
        done();
      };
    });
  }

  /** Claims and runs one batch; true when more work is due right away. */
  private async round(): Promise<boolean> {
    const claimed = await this.repo.claimDue(this.owner, this.clock.now(), Date.now(), this.options.leaseMs, this.options.batch);
    if (claimed.length === 0) return false;
    let dueAgain = claimed.length === this.options.batch;
    const queue = [...claimed];
    const skipped: string[] = [];
    // The first step that fails (the store refused its write) ends the round once every step
    // under way has ended: none may outlive its round, as the next claims this runner's leases.
    let failure: { err: unknown } | undefined;
    const worker = async () => {
      for (let e = queue.shift(); e; e = queue.shift()) {
        if (this.stopping || failure) {
          skipped.push(e.id);
          continue;
        }
        try {
          const next = await this.step(e);
          if (next !== null && next <= this.clock.now()) dueAgain = true;
        } catch (err) {
          failure ??= { err };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, claimed.length) }, worker));
    // What it leased stays leased to it: the next round takes it up (see claimDue).
    if (failure) throw failure.err;
    await this.repo.release(this.owner, skipped);
    return dueAgain && !this.stopping;
  }

  /** Runs one due transition of `e`; returns its next due time (null: it rests or is gone). */
  private async step(e: Endpoint): Promise<number | null> {
    const now = this.clock.now();
    const at = e.dueAt ?? now;
    let change: Change;
    let why: string;
    try {
      ({ change, why } = await this.decide(e, at, now));
    } catch (err) {
      // The store refused a write (a fault's firing): the round ends, and backs off.
      if (isStoreFull(err)) throw err;
      // A provider hiccup is never a failed endpoint: retry with backoff.
      this.metrics.providerErrors.inc({ provider: this.provider.name });
      const attempts = e.attempts + 1;
      const retryAt = now + Math.min(this.provider.pollMs * 2 ** (attempts - 1), this.options.maxBackoffMs);
      this.log.warn({ err, endpointId: e.id, status: e.status, attempts }, 'provider call failed; will retry');
      const kept = await this.repo.apply(e, this.owner, { status: e.status, connectionName: e.connectionName, errorMessage: e.errorMessage, dueAt: retryAt }, Date.now(), attempts);
      return kept ? retryAt : this.moved(e);
    }
    const applied = await this.repo.apply(e, this.owner, change, Date.now());
    if (!applied) return this.moved(e);
    const to = change.remove ? 'gone' : change.status;
    if (to !== e.status) {
      this.metrics.transitions.inc({ from: e.status, to });
      this.log.info({ endpointId: e.id, groupId: e.groupId, from: e.status, to, why }, 'endpoint transition');
      if (!change.remove) await this.history.record(e.id, to, at, why);
    }
    return change.remove ? null : change.dueAt;
  }

  /**
   * The endpoint changed under this step — a delete arrived while the provider was called. A
   * delete keeps the lease, so its own step (deprovision) waits until the call under way has
   * returned, and cannot miss what that call created; giving the lease back lets it run now.
   */
  private async moved(e: Endpoint): Promise<null> {
    await this.repo.release(this.owner, [e.id]);
    this.wake();
    return null;
  }

  /** What `e`'s due step does, and why (for its history). */
  private async decide(e: Endpoint, at: number, now: number): Promise<{ change: Change; why: string }> {
    const ctx = { groupId: e.groupId, regionName: e.regionName };
    const pollAt = now + this.provider.pollMs;
    // A transient status is held for its timing, then the provider is asked.
    const held = `the ${e.status} hold ended`;
    let cloud: CloudState;
    let why: string;
    switch (e.status) {
      case 'INITIATING': {
        const fault = await this.faults.fire('FAIL_PROVISIONING', ctx);
        if (fault) {
          const change: Change = { status: 'FAILED', connectionName: null, errorMessage: fault.message ?? DEFAULT_FAILURE_MESSAGE, dueAt: null };
          return { change, why: `fault ${fault.id} (FAIL_PROVISIONING) fired` };
        }
        cloud = await this.provider.provision(e);
        why = held;
        break;
      }
      case 'PENDING_ACCEPTANCE':
        cloud = await this.provider.inspect(e);
        why = held;
        break;
      case 'ACTIVE': {
        const lost = await this.faults.fire('LOSE_ENDPOINT', ctx);
        if (lost) {
          cloud = { state: 'missing' };
          why = `fault ${lost.id} (LOSE_ENDPOINT) fired`;
        } else if (this.provider.activeCheckMs !== null) {
          cloud = await this.provider.inspect(e);
          why = 'a health check';
        } else return { change: { status: 'ACTIVE', connectionName: e.connectionName, errorMessage: null, dueAt: null }, why: 'nothing to do' };
        break;
      }
      case 'PENDING_RECREATION':
        return { change: restart(e, at, this.timings), why: `${held}: provisioning starts again` };
      case 'DELETING':
        cloud = await this.provider.deprovision(e);
        why = held;
        break;
      case 'FAILED':
        return { change: { status: 'FAILED', connectionName: e.connectionName, errorMessage: e.errorMessage, dueAt: null }, why: 'nothing to do' };
    }
    const change = nextState(e, cloud, at, pollAt, this.timings);
    if (!change.remove && change.status === 'ACTIVE') change.dueAt = await this.activeDueAt(e, at, now);
    const answer = cloud.state === 'failed' ? `${cloud.state}: ${cloud.message}` : cloud.state;
    return { change, why: `${why}; the ${this.provider.name} provider answered ${answer}` };
  }

  /** An ACTIVE endpoint rests, unless a fault means to lose it or the provider checks its health. */
  private async activeDueAt(e: Endpoint, at: number, now: number): Promise<number | null> {
    const lose = await this.faults.peek('LOSE_ENDPOINT', { groupId: e.groupId, regionName: e.regionName });
    if (lose) return at + (lose.afterSeconds ?? 0) * 1000;
    return this.provider.activeCheckMs === null ? null : now + this.provider.activeCheckMs;
  }
}
