import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';

// Prometheus metrics, served at /_snaplink/metrics. One registry per server, so several
// servers in one process (tests, embedding) never mix their numbers.

export class Metrics {
  readonly registry = new Registry();

  readonly transitions = new Counter({
    name: 'snaplink_transitions_total',
    help: 'Lifecycle transitions applied by this node, by from and to status (to="gone" for a completed delete).',
    labelNames: ['from', 'to'] as const,
    registers: [this.registry],
  });

  readonly providerErrors = new Counter({
    name: 'snaplink_provider_errors_total',
    help: 'Provider calls that failed and will be retried, by provider.',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });

  readonly faultsFired = new Counter({
    name: 'snaplink_faults_fired_total',
    help: 'Injected faults that fired on this node, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  private readonly answers = new AnswerMetrics(this.registry);

  /** Counts an answered HTTP request and its time. */
  answered(operation: string, status: number, seconds: number): void {
    this.answers.record(operation, status, seconds);
  }

  constructor(endpointsByStatus: () => Promise<Record<string, number>>, writesRefused: () => boolean = () => false) {
    collectDefaultMetrics({ register: this.registry, prefix: 'snaplink_' });
    new Gauge({
      name: 'snaplink_store_writes_refused',
      help: '1 while the store refuses writes (its disk full: reads are still served, transitions wait), else 0.',
      registers: [this.registry],
      collect() {
        this.set(writesRefused() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'snaplink_endpoints',
      help: 'Backup private endpoints in the store, by status.',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [status, n] of Object.entries(await endpointsByStatus())) this.set({ status }, n);
      },
    });
  }
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The answers' count by operation and status, and their time by operation: a counter and a
 * histogram, kept in plain numbers and shown through the registry like prom-client's own.
 * prom-client's Counter and Histogram build and hash a label object on every call, a share of
 * a cheap request's CPU that showed in its profile (≈ 3.6 % of a GET one's samples).
 */
class AnswerMetrics {
  private readonly counts = new Map<string, { operation: string; status: number; n: number }>();
  private readonly times = new Map<string, { buckets: number[]; sum: number; count: number }>();

  constructor(registry: Registry) {
    const counter = {
      name: 'snaplink_http_requests_total',
      help: 'HTTP requests answered, by operation (list, create, get, delete; the projects and organizations operations by their Atlas ids: listGroups, createGroup, getGroup, getGroupByName, updateGroup, deleteGroup, listOrgs, getOrg, getOrgGroups; telemetry; oauth, control, system, ui; unrouted for a 404 or 405 of the routing) and status code.',
      type: 'counter',
      labelNames: ['operation', 'status'],
      values: () => [...this.counts.values()].map((c) => ({ labels: { operation: c.operation, status: c.status }, value: c.n })),
    };
    const name = 'snaplink_http_request_duration_seconds';
    const histogram = {
      name,
      help: 'Time to answer HTTP requests, by operation (as snaplink_http_requests_total).',
      type: 'histogram',
      labelNames: ['operation'],
      values: () =>
        [...this.times].flatMap(([operation, t]) => {
          let below = 0;
          return [
            ...LATENCY_BUCKETS.map((le, i) => ({ labels: { le, operation }, value: (below += t.buckets[i]!), metricName: `${name}_bucket` })),
            { labels: { le: '+Inf', operation }, value: t.count, metricName: `${name}_bucket` },
            { labels: { operation }, value: t.sum, metricName: `${name}_sum` },
            { labels: { operation }, value: t.count, metricName: `${name}_count` },
          ];
        }),
    };
    // What the registry asks of a metric: its name, help and type, and get() for its values.
    const reset = () => {
      this.counts.clear();
      this.times.clear();
    };
    for (const { values, ...metric } of [counter, histogram]) {
      registry.registerMetric({ ...metric, aggregator: 'sum', get: async () => ({ ...metric, aggregator: 'sum', values: values() }), reset } as unknown as Metric);
    }
  }

  record(operation: string, status: number, seconds: number): void {
    const key = `${operation} ${status}`;
    const c = this.counts.get(key);
    if (c) c.n++;
    else this.counts.set(key, { operation, status, n: 1 });
    let t = this.times.get(operation);
    if (!t) this.times.set(operation, (t = { buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    const i = LATENCY_BUCKETS.findIndex((le) => seconds <= le);
    if (i >= 0) t.buckets[i]!++;
    t.sum += seconds;
    t.count++;
  }
}
