import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

// Prometheus metrics, served at /_snaplink/metrics. One registry per server, so several
// servers in one process (tests, embedding) never mix their numbers.

export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'snaplink_http_requests_total',
    help: 'HTTP requests answered, by operation (list, create, get, delete; oauth, control, system, ui; unrouted for a 404 or 405 of the routing) and status code.',
    labelNames: ['operation', 'status'] as const,
    registers: [this.registry],
  });

  readonly latency = new Histogram({
    name: 'snaplink_http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by operation (as snaplink_http_requests_total).',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

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

  // Label sets resolved once: prom-client hashes the label object on every call otherwise.
  private readonly answers = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>();

  /** Counts an answered HTTP request and its time. */
  answered(operation: string, status: number, seconds: number): void {
    const key = `${operation} ${status}`;
    let a = this.answers.get(key);
    if (a === undefined) {
      a = { count: this.requests.labels({ operation, status }), time: this.latency.labels({ operation }) };
      this.answers.set(key, a);
    }
    a.count.inc();
    a.time.observe(seconds);
  }

  constructor(endpointsByStatus: () => Promise<Record<string, number>>) {
    collectDefaultMetrics({ register: this.registry, prefix: 'snaplink_' });
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
