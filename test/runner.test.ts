import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import { TIMING_PROFILES } from '../src/endpoints/lifecycle.js';
import type { Endpoint } from '../src/endpoints/model.js';
import { EndpointRepository } from '../src/endpoints/repository.js';
import { EndpointHistory } from '../src/endpoints/history.js';
import { EndpointService } from '../src/endpoints/service.js';
import { FaultService } from '../src/faults/service.js';
import { applySeed } from '../src/identity/seed.js';
import { Metrics } from '../src/metrics.js';
import { VirtualClock } from '../src/provisioning/clock.js';
import type { CloudState } from '../src/endpoints/lifecycle.js';
import type { Provider } from '../src/provisioning/providers/provider.js';
import { DEFAULT_RUNNER_OPTIONS, TransitionRunner } from '../src/provisioning/runner.js';
import { openStore } from '../src/store/database.js';
import { StoreVersion } from '../src/store/version.js';
import { scratch, waitFor } from './support/harness.js';
import { P1, WORLD } from './support/world.js';

// The transition runner against a real store, with two runners on it — as two nodes would run.

const { fresh, cleanup } = scratch();
after(cleanup);

const silent = { level: 'silent', fatal() {}, error() {}, warn() {}, info() {}, debug() {}, trace() {}, silent() {}, child: () => silent } as unknown as FastifyBaseLogger;

/** A cloud whose calls are written down in order; provisioning can be held at a gate. */
class RecordingCloud implements Provider {
  readonly name = 'recording';
  readonly pollMs = 50;
  readonly activeCheckMs = null;
  readonly real = true;
  gate: Promise<void> | undefined;

  constructor(
    private readonly who: string,
    private readonly events: string[],
  ) {}

  async provision(): Promise<CloudState> {
    this.events.push(`${this.who}: provision begins`);
    await this.gate;
    this.events.push(`${this.who}: provision ends`);
    return { state: 'pendingAcceptance', connectionName: 'vpce-0123456789abcdef0' };
  }

  async inspect(e: Endpoint): Promise<CloudState> {
    return { state: 'available', connectionName: e.connectionName ?? 'vpce-0123456789abcdef0' };
  }

  async deprovision(): Promise<CloudState> {
    this.events.push(`${this.who}: deprovision`);
    return { state: 'deleted' };
  }
}

/** The store as one node sees it, counting the rounds in which that node looked for due work. */
class CountingRepository extends EndpointRepository {
  claims = 0;
  override async claimDue(...args: Parameters<EndpointRepository['claimDue']>): Promise<Endpoint[]> {
    const claimed = await super.claimDue(...args);
    this.claims++;
    return claimed;
  }
}

/** Waits until `check` holds (a thin wrapper of the harness's poller). */
const until = (what: string, check: () => boolean | Promise<boolean>) => waitFor(async () => check(), Boolean, 15_000, what);

test('a delete that arrives while a node is provisioning waits for that call, then deletes what it made', async () => {
  const store = await openStore((await fresh()).options);
  const runners: TransitionRunner[] = [];
  let open!: () => void;
  try {
    await applySeed(store, WORLD);
    const repo = new EndpointRepository(store.db, store.dialect);
    const version = new StoreVersion(store.db);
    const clock = new VirtualClock(store.db);
    const timings = TIMING_PROFILES.none;
    const events: string[] = [];
    const node = (who: string, cloud: RecordingCloud, own: EndpointRepository = repo) => {
      const runner = new TransitionRunner(own, new EndpointHistory(store.db, `runner-${who}`), cloud, new FaultService(store.db, version), clock, version, timings, silent, new Metrics(async () => ({})), {
        ...DEFAULT_RUNNER_OPTIONS,
        tickMs: 20,
      });
      runners.push(runner);
      return runner;
    };
    const cloudA = new RecordingCloud('A', events);
    cloudA.gate = new Promise((r) => (open = r));
    const cloudB = new RecordingCloud('B', events);

    const endpoints = new EndpointService(repo, new EndpointHistory(store.db, 'requests'), timings, clock);
    const e = await endpoints.create(P1, { cloudProvider: 'AWS', regionName: 'US_EAST_1', vpcRegionName: 'US_EAST_1' });
    node('A', cloudA).start();
    await until('node A to be inside CreateVpcEndpoint', () => events.includes('A: provision begins'));

    await endpoints.delete(P1, 'AWS', e.id);
    // Node B looks for due work, again and again, while A's call is under way: counted, not
    // timed, so the assertion below is about rounds B really ran.
    const lookedB = new CountingRepository(store.db, store.dialect);
    const b = node('B', cloudB, lookedB);
    b.start();
    await until('node B to look for due work five times', () => {
      b.wake();
      return lookedB.claims >= 5;
    });
    assert.deepEqual(events, ['A: provision begins'], 'nothing is deprovisioned while the provision is in flight');
    assert.equal((await repo.find(P1, 'AWS', e.id))?.status, 'DELETING');

    open();
    await until('the endpoint to be gone', async () => (await repo.find(P1, 'AWS', e.id)) === undefined);
    const provisioned = events.indexOf('A: provision ends');
    const deprovisioned = events.findIndex((x) => x.endsWith('deprovision'));
    assert.ok(provisioned >= 0 && deprovisioned > provisioned, `deprovision after the provision returned: ${events.join(' → ')}`);
  } finally {
    open?.();
    for (const r of runners) await r.stop();
    await store.close();
  }
});
