import { InvalidArgumentError, Option } from 'commander';
import { DIGEST_ALGORITHMS, type DigestAlgorithm } from './atlas/digest.js';
import type { RateLimitSettings } from './http/rate-limit.js';
import { TIMING_PROFILES, type Timings } from './endpoints/lifecycle.js';
import type { LockoutSettings } from './identity/brute-force.js';
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS } from './http/limits.js';
import { LOG_FORMATS, type LogFormat } from './http/log-output.js';
import type { SeedFile } from './identity/seed.js';
import type { StoreOptions } from './store/database.js';
import { DEFAULT_RUNNER_OPTIONS, type RunnerOptions } from './provisioning/runner.js';
import { DEFAULT_JOURNAL, type JournalSettings } from './journal/request-journal.js';

// Every setting, once: its flag, its SNAPLINK_* variable, its default and how it is read.
// The CLI builds its options from here and turns what it parsed into one typed Config.

export interface Config {
  host: string;
  port: number;
  /** SQLite in a data dir, or a PostgreSQL URL. */
  store: StoreOptions;
  seedFile: string | undefined;
  /** A seed given inline (the Node API), applied after seedFile. */
  seed?: SeedFile;
  logLevel: string;
  trustProxy: boolean;
  digestAlgorithms: DigestAlgorithm[];
  nonceLifetimeMs: number;
  rateLimit: RateLimitSettings;
  timings: Timings;
  provider: 'simulated' | 'aws';
  /** The AWS provider's configuration file and EC2 endpoint override. */
  aws: { configFile: string | undefined; endpointUrl: string | undefined };
  /** The control API's token; when absent, one is generated at the first start. */
  adminToken: string | undefined;
  runner: RunnerOptions;
  /** PEM certificate and key, both or neither: serve HTTPS. */
  tls: { certFile: string; keyFile: string } | undefined;
  tokenLifetimeMs: number;
  lockout: LockoutSettings;
  journal: JournalSettings;
  connections: ConnectionLimits;
}

/** A commander parser for whole numbers in [min, max]. */
export function int(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

function bool(value: string): boolean {
  const v = value.toLowerCase();
  if (['true', 'on', 'yes', '1'].includes(v)) return true;
  if (['false', 'off', 'no', '0'].includes(v)) return false;
  throw new InvalidArgumentError('expected true or false (or on/off, yes/no, 1/0)');
}

function algorithms(value: string): DigestAlgorithm[] {
  const list = value.split(',').map((s) => s.trim().toUpperCase());
  for (const a of list) {
    if (!(DIGEST_ALGORITHMS as readonly string[]).includes(a)) throw new InvalidArgumentError(`expected a list of ${DIGEST_ALGORITHMS.join(', ')}`);
  }
  return list as DigestAlgorithm[];
}

function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 86_400) throw new InvalidArgumentError('expected a number of seconds from 0 to 86400');
  return n;
}

function choice<T extends string>(...values: T[]) {
  return (value: string): T => {
    if (!(values as string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}`);
    return value as T;
  };
}

function logLevel(value: string): string {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(value)) throw new InvalidArgumentError(`expected one of ${levels.join(', ')}`);
  return value;
}

const opt = (flags: string, env: string, description: string, parse?: (v: string) => unknown, fallback?: unknown) => {
  const o = new Option(flags, description).env(`SNAPLINK_${env}`);
  if (parse) o.argParser(parse as (v: string, p: unknown) => unknown);
  if (fallback !== undefined) o.default(fallback);
  return o;
};

export const DEFAULT_DATA_DIR = './snaplink-data';

function postgresUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected a postgres:// URL');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new InvalidArgumentError('expected a postgres:// URL');
  return value;
}

/** Options every command that opens the store takes. */
export function storeOptions(): Option[] {
  return [
    opt('--data-dir <dir>', 'DATA_DIR', 'directory of the embedded SQLite store', undefined, DEFAULT_DATA_DIR),
    // The variable keeps the name every PostgreSQL deployment tool expects.
    new Option('--database <url>', 'PostgreSQL URL (postgres://user:pass@host:5432/db): use it instead of SQLite').env('SNAPLINK_DATABASE_URL').argParser(postgresUrl),
    opt('--database-pool-size <n>', 'DATABASE_POOL_SIZE', 'PostgreSQL connections per process', int(1, 1000), 10),
    opt('--sqlite-sync <mode>', 'SQLITE_SYNC', 'full (an answered write survives a power cut) or normal (survives a killed process only)', choice('full', 'normal'), 'full'),
  ];
}

export interface StoreOptionValues {
  dataDir: string;
  database?: string;
  databasePoolSize: number;
  sqliteSync: 'normal' | 'full';
}

export function toStoreOptions(o: StoreOptionValues): StoreOptions {
  return o.database !== undefined ? { databaseUrl: o.database, poolSize: o.databasePoolSize } : { dataDir: o.dataDir, sqliteSync: o.sqliteSync };
}

export function serveOptions(): Option[] {
  return [
    opt('--host <host>', 'HOST', 'address to listen on', undefined, '127.0.0.1'),
    opt('--port <port>', 'PORT', 'port to listen on (0 picks a free one)', int(0, 65535), 8080),
    ...storeOptions(),
    opt('--seed <file>', 'SEED', 'seed file to apply (atomically, idempotently) at start'),
    opt('--log-level <level>', 'LOG_LEVEL', 'fatal, error, warn, info, debug, trace or silent', logLevel, 'info'),
    opt('--log-format <format>', 'LOG_FORMAT', 'log lines on standard output: json, pretty (one readable line each) or auto (pretty at a terminal, else json)', choice(...LOG_FORMATS), 'auto'),
    opt('--trust-proxy <bool>', 'TRUST_PROXY', 'take the client address and scheme from X-Forwarded-* headers', bool, false),
    opt('--digest-algorithms <list>', 'DIGEST_ALGORITHMS', 'Digest challenges offered, comma-separated: MD5, SHA-256', algorithms, ['MD5']),
    opt('--nonce-lifetime <seconds>', 'NONCE_LIFETIME', 'how long a Digest nonce stays valid', int(1, 86_400), 300),
    opt('--rate-limit <bool>', 'RATE_LIMIT', 'apply the per-project token bucket', bool, true),
    opt('--rate-limit-capacity <n>', 'RATE_LIMIT_CAPACITY', 'token bucket size per project', int(1, 1_000_000_000), 1200),
    opt('--rate-limit-refill <n>', 'RATE_LIMIT_REFILL', 'tokens added per refill period', int(1, 1_000_000_000), 500),
    opt('--rate-limit-period <seconds>', 'RATE_LIMIT_PERIOD', 'refill period', int(1, 86_400), 60),
    opt('--provider <name>', 'PROVIDER', 'what creates the interface endpoints: simulated, or aws (real EC2 interface endpoints)', choice('simulated', 'aws'), 'simulated'),
    opt('--aws-config <file>', 'AWS_CONFIG', 'the AWS provider: JSON file of VPC, subnets and security groups per region'),
    opt('--aws-endpoint-url <url>', 'AWS_ENDPOINT_URL', 'the AWS provider: an EC2 API to use instead of AWS (an emulator)'),
    opt('--timings <profile>', 'TIMINGS', 'how long transient statuses last: fast (2 s each), realistic (minutes) or none; default fast, none with --provider aws', choice('fast', 'realistic', 'none')),
    opt('--hold-initiating <seconds>', 'HOLD_INITIATING', 'override the profile: time in INITIATING (0 passes at once)', seconds),
    opt('--hold-pending-acceptance <seconds>', 'HOLD_PENDING_ACCEPTANCE', 'override the profile: time in PENDING_ACCEPTANCE', seconds),
    opt('--hold-deleting <seconds>', 'HOLD_DELETING', 'override the profile: time in DELETING', seconds),
    opt('--hold-pending-recreation <seconds>', 'HOLD_PENDING_RECREATION', 'override the profile: time in PENDING_RECREATION', seconds),
    opt('--admin-token <token>', 'ADMIN_TOKEN', 'bearer token of the control API (generated and printed at the first start when absent)'),
    opt('--tls-cert <file>', 'TLS_CERT', 'PEM certificate (chain): serve HTTPS (with --tls-key)'),
    opt('--tls-key <file>', 'TLS_KEY', 'PEM private key of --tls-cert'),
    opt('--token-lifetime <seconds>', 'TOKEN_LIFETIME', 'lifetime of service-account access tokens', int(1, 86_400), 3600),
    opt('--auth-failure-limit <n>', 'AUTH_FAILURE_LIMIT', 'failed authentications from one address that lock it out (0: never)', int(0, 1_000_000), 50),
    opt('--auth-failure-window <seconds>', 'AUTH_FAILURE_WINDOW', 'window in which those failures are counted', int(1, 86_400), 60),
    opt('--auth-lockout <seconds>', 'AUTH_LOCKOUT', 'how long a locked-out address is refused', int(1, 86_400), 60),
    opt('--runner-lease <seconds>', 'RUNNER_LEASE', 'how long a claimed transition is held before another node may take it over', int(1, 3600), 30),
    opt('--journal-size <n>', 'JOURNAL_SIZE', 'requests kept in the request journal (0 turns it off)', int(0, 10_000_000), DEFAULT_JOURNAL.size),
    opt('--journal-bytes <n>', 'JOURNAL_BYTES', 'characters of the request journal kept (its headers and bodies included); the oldest requests go first', int(65_536, 2 ** 40), DEFAULT_JOURNAL.bytes),
    opt('--journal-body-limit <bytes>', 'JOURNAL_BODY_LIMIT', 'bytes of each request and answer body the journal keeps; a longer one is cut and marked (0 keeps none)', int(0, 16 * 1024 * 1024), DEFAULT_JOURNAL.bodyLimit),
    opt('--headers-timeout <seconds>', 'HEADERS_TIMEOUT', 'a request\'s headers must arrive within this (else 408 and the connection closes)', int(1, 3600), DEFAULT_CONNECTION_LIMITS.headersTimeoutMs / 1000),
    opt('--request-timeout <seconds>', 'REQUEST_TIMEOUT', 'a whole request, body included, must arrive within this (else 408 and the connection closes)', int(1, 3600), DEFAULT_CONNECTION_LIMITS.requestTimeoutMs / 1000),
    opt('--keep-alive-timeout <seconds>', 'KEEP_ALIVE_TIMEOUT', 'an idle kept-alive connection is closed after this (above a load balancer\'s idle timeout)', int(1, 3600), DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs / 1000),
    opt('--max-connections <n>', 'MAX_CONNECTIONS', 'open connections; more are closed on arrival (keep below the file-descriptor limit, ulimit -n)', int(1, 1_000_000), DEFAULT_CONNECTION_LIMITS.maxConnections),
    opt('--max-requests-per-connection <n>', 'MAX_REQUESTS_PER_CONNECTION', 'requests on one kept-alive connection before it is closed (0: no limit)', int(0, 1_000_000_000), DEFAULT_CONNECTION_LIMITS.maxRequestsPerSocket),
  ];
}

export interface ServeOptionValues extends StoreOptionValues {
  host: string;
  port: number;
  seed?: string;
  logLevel: string;
  logFormat: LogFormat;
  trustProxy: boolean;
  digestAlgorithms: DigestAlgorithm[];
  nonceLifetime: number;
  rateLimit: boolean;
  rateLimitCapacity: number;
  rateLimitRefill: number;
  rateLimitPeriod: number;
  provider: 'simulated' | 'aws';
  awsConfig?: string;
  awsEndpointUrl?: string;
  timings?: 'fast' | 'realistic' | 'none';
  holdInitiating?: number;
  holdPendingAcceptance?: number;
  holdDeleting?: number;
  holdPendingRecreation?: number;
  adminToken?: string;
  tlsCert?: string;
  tlsKey?: string;
  tokenLifetime: number;
  authFailureLimit: number;
  authFailureWindow: number;
  authLockout: number;
  runnerLease: number;
  journalSize: number;
  journalBytes: number;
  journalBodyLimit: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxConnections: number;
  maxRequestsPerConnection: number;
}

export function toConfig(o: ServeOptionValues): Config {
  return {
    host: o.host,
    port: o.port,
    store: toStoreOptions(o),
    seedFile: o.seed,
    logLevel: o.logLevel,
    trustProxy: o.trustProxy,
    digestAlgorithms: o.digestAlgorithms,
    nonceLifetimeMs: o.nonceLifetime * 1000,
    rateLimit: {
      enabled: o.rateLimit,
      capacity: o.rateLimitCapacity,
      refill: o.rateLimitRefill,
      periodMs: o.rateLimitPeriod * 1000,
    },
    timings: timingsOf(o),
    provider: o.provider,
    aws: { configFile: o.awsConfig, endpointUrl: o.awsEndpointUrl },
    adminToken: o.adminToken,
    runner: { ...DEFAULT_RUNNER_OPTIONS, leaseMs: o.runnerLease * 1000 },
    tls: tlsOf(o),
    tokenLifetimeMs: o.tokenLifetime * 1000,
    lockout: { limit: o.authFailureLimit, windowMs: o.authFailureWindow * 1000, lockoutMs: o.authLockout * 1000 },
    journal: { ...DEFAULT_JOURNAL, size: o.journalSize, bytes: o.journalBytes, bodyLimit: o.journalBodyLimit },
    connections: {
      headersTimeoutMs: o.headersTimeout * 1000,
      requestTimeoutMs: o.requestTimeout * 1000,
      keepAliveTimeoutMs: o.keepAliveTimeout * 1000,
      maxConnections: o.maxConnections,
      maxRequestsPerSocket: o.maxRequestsPerConnection,
    },
  };
}

function tlsOf(o: ServeOptionValues): Config['tls'] {
  if (o.tlsCert === undefined && o.tlsKey === undefined) return undefined;
  if (o.tlsCert === undefined || o.tlsKey === undefined) throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  return { certFile: o.tlsCert, keyFile: o.tlsKey };
}

/** The profile's holds, with any per-status override (given in seconds). */
function timingsOf(o: ServeOptionValues): Timings {
  // A real cloud sets its own pace, so with AWS the holds are 0 unless asked for.
  const profile = TIMING_PROFILES[o.timings ?? (o.provider === 'aws' ? 'none' : 'fast')];
  const ms = (s: number | undefined, fallback: number) => (s === undefined ? fallback : Math.round(s * 1000));
  return {
    INITIATING: ms(o.holdInitiating, profile.INITIATING),
    PENDING_ACCEPTANCE: ms(o.holdPendingAcceptance, profile.PENDING_ACCEPTANCE),
    DELETING: ms(o.holdDeleting, profile.DELETING),
    PENDING_RECREATION: ms(o.holdPendingRecreation, profile.PENDING_RECREATION),
  };
}

/** The defaults, for embedding snaplink (tests, other programs) without the CLI. */
export function defaultConfig(overrides: Partial<Config> = {}): Config {
  const values: Record<string, unknown> = {};
  for (const o of serveOptions()) values[o.attributeName()] = o.defaultValue;
  return { ...toConfig(values as unknown as ServeOptionValues), ...overrides };
}
