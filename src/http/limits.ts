// Kept apart from server.ts so the options (config.ts) can name the defaults without loading Fastify.

/** What a slow, idle or greedy client may hold (config.ts: `--headers-timeout` and the rest). */
export interface ConnectionLimits {
  /** From a request's first byte to its last header. */
  headersTimeoutMs: number;
  /** From a request's first byte to the last byte of its body. */
  requestTimeoutMs: number;
  /** How long a connection may sit idle between requests. */
  keepAliveTimeoutMs: number;
  /** Open connections; more are closed as they arrive. */
  maxConnections: number;
  /** Requests on one connection before it is closed (0: no limit). */
  maxRequestsPerSocket: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 72_000,
  maxConnections: 4096,
  maxRequestsPerSocket: 0,
};
