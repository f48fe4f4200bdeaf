import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/index.js';
import { type Config, toConfig, type ServeOptionValues } from '../src/config.js';

// `snaplink serve`'s options as the command line parses them: the real program, its flags and
// SNAPLINK_* variables, down to the Config the server is started with (the action is swapped
// for one that keeps the options, so nothing is started). Every other suite builds a Config
// object directly, so without this nothing would parse these options.

/** Parses `snaplink serve <args>` with exactly `env` as SNAPLINK_* variables; resolves with the Config, or rejects with commander's message. */
async function parse(args: string[], env: Record<string, string> = {}): Promise<Config> {
  const saved = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('SNAPLINK_')).map((k) => [k, process.env[k]]));
  for (const k of Object.keys(saved)) delete process.env[k];
  Object.assign(process.env, env);
  try {
    const program = buildProgram();
    const serve = program.commands.find((c) => c.name() === 'serve') as Command;
    let captured: ServeOptionValues | undefined;
    serve.action((opts: ServeOptionValues) => {
      captured = opts;
    });
    let message = '';
    for (const c of [program, serve]) c.exitOverride().configureOutput({ writeErr: (s) => (message += s), writeOut: () => {} });
    try {
      await program.parseAsync(['serve', ...args], { from: 'user' });
    } catch (err) {
      throw new Error(message || (err as Error).message);
    }
    return toConfig(captured!);
  } finally {
    for (const k of Object.keys(env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

describe('snaplink serve: options', () => {
  test('the defaults', async () => {
    const c = await parse([]);
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8080);
    assert.deepEqual(c.store, { dataDir: './snaplink-data', sqliteSync: 'full' });
    assert.deepEqual(c.rateLimit, { enabled: true, capacity: 1200, refill: 500, periodMs: 60_000 });
    assert.deepEqual(c.digestAlgorithms, ['MD5']);
    assert.equal(c.nonceLifetimeMs, 300_000);
    assert.equal(c.tokenLifetimeMs, 3_600_000);
    assert.deepEqual(c.lockout, { limit: 50, windowMs: 60_000, lockoutMs: 60_000 });
    assert.deepEqual(c.timings, { INITIATING: 2000, PENDING_ACCEPTANCE: 2000, DELETING: 2000, PENDING_RECREATION: 2000 });
    assert.equal(c.trustProxy, false);
    assert.deepEqual(c.connections, { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 72_000, maxConnections: 4096, maxRequestsPerSocket: 0 });
  });

  // Each option, as a flag and as its variable, and where it lands in the Config.
  const cases: [flag: string, variable: string, value: string, read: (c: Config) => unknown, expected: unknown][] = [
    ['--host', 'SNAPLINK_HOST', '0.0.0.0', (c) => c.host, '0.0.0.0'],
    ['--port', 'SNAPLINK_PORT', '9443', (c) => c.port, 9443],
    ['--data-dir', 'SNAPLINK_DATA_DIR', '/srv/snaplink', (c) => c.store, { dataDir: '/srv/snaplink', sqliteSync: 'full' }],
    ['--database', 'SNAPLINK_DATABASE_URL', 'postgres://u:p@db:5432/s', (c) => c.store, { databaseUrl: 'postgres://u:p@db:5432/s', poolSize: 10 }],
    ['--sqlite-sync', 'SNAPLINK_SQLITE_SYNC', 'normal', (c) => c.store, { dataDir: './snaplink-data', sqliteSync: 'normal' }],
    ['--log-level', 'SNAPLINK_LOG_LEVEL', 'debug', (c) => c.logLevel, 'debug'],
    ['--trust-proxy', 'SNAPLINK_TRUST_PROXY', 'true', (c) => c.trustProxy, true],
    ['--digest-algorithms', 'SNAPLINK_DIGEST_ALGORITHMS', 'sha-256, MD5', (c) => c.digestAlgorithms, ['SHA-256', 'MD5']],
    ['--nonce-lifetime', 'SNAPLINK_NONCE_LIFETIME', '30', (c) => c.nonceLifetimeMs, 30_000],
    ['--rate-limit', 'SNAPLINK_RATE_LIMIT', 'false', (c) => c.rateLimit.enabled, false],
    ['--rate-limit-capacity', 'SNAPLINK_RATE_LIMIT_CAPACITY', '10', (c) => c.rateLimit.capacity, 10],
    ['--rate-limit-refill', 'SNAPLINK_RATE_LIMIT_REFILL', '5', (c) => c.rateLimit.refill, 5],
    ['--rate-limit-period', 'SNAPLINK_RATE_LIMIT_PERIOD', '7', (c) => c.rateLimit.periodMs, 7000],
    ['--token-lifetime', 'SNAPLINK_TOKEN_LIFETIME', '120', (c) => c.tokenLifetimeMs, 120_000],
    ['--auth-failure-limit', 'SNAPLINK_AUTH_FAILURE_LIMIT', '0', (c) => c.lockout.limit, 0],
    ['--auth-failure-window', 'SNAPLINK_AUTH_FAILURE_WINDOW', '5', (c) => c.lockout.windowMs, 5000],
    ['--auth-lockout', 'SNAPLINK_AUTH_LOCKOUT', '9', (c) => c.lockout.lockoutMs, 9000],
    ['--timings', 'SNAPLINK_TIMINGS', 'none', (c) => c.timings, { INITIATING: 0, PENDING_ACCEPTANCE: 0, DELETING: 0, PENDING_RECREATION: 0 }],
    ['--hold-deleting', 'SNAPLINK_HOLD_DELETING', '0.5', (c) => c.timings.DELETING, 500],
    ['--admin-token', 'SNAPLINK_ADMIN_TOKEN', 'a-token-of-mine', (c) => c.adminToken, 'a-token-of-mine'],
    ['--provider', 'SNAPLINK_PROVIDER', 'aws', (c) => c.provider, 'aws'],
    ['--runner-lease', 'SNAPLINK_RUNNER_LEASE', '12', (c) => c.runner.leaseMs, 12_000],
    ['--headers-timeout', 'SNAPLINK_HEADERS_TIMEOUT', '3', (c) => c.connections.headersTimeoutMs, 3000],
    ['--request-timeout', 'SNAPLINK_REQUEST_TIMEOUT', '4', (c) => c.connections.requestTimeoutMs, 4000],
    ['--keep-alive-timeout', 'SNAPLINK_KEEP_ALIVE_TIMEOUT', '65', (c) => c.connections.keepAliveTimeoutMs, 65_000],
    ['--max-connections', 'SNAPLINK_MAX_CONNECTIONS', '100', (c) => c.connections.maxConnections, 100],
    ['--max-requests-per-connection', 'SNAPLINK_MAX_REQUESTS_PER_CONNECTION', '1000', (c) => c.connections.maxRequestsPerSocket, 1000],
  ];
  for (const [flag, variable, value, read, expected] of cases) {
    test(`${flag} and ${variable}`, async () => {
      assert.deepEqual(read(await parse([flag, value])), expected, flag);
      assert.deepEqual(read(await parse([], { [variable]: value })), expected, variable);
    });
  }

  test('a flag wins over its variable', async () => {
    const c = await parse(['--port', '1234', '--rate-limit', 'on'], { SNAPLINK_PORT: '4321', SNAPLINK_RATE_LIMIT: 'off' });
    assert.equal(c.port, 1234);
    assert.equal(c.rateLimit.enabled, true);
  });

  test('booleans: true/on/yes/1 and false/off/no/0, in any case; anything else is refused', async () => {
    for (const v of ['true', 'ON', 'Yes', '1']) assert.equal((await parse(['--trust-proxy', v])).trustProxy, true, v);
    for (const v of ['false', 'Off', 'NO', '0']) assert.equal((await parse(['--trust-proxy', v])).trustProxy, false, v);
    await assert.rejects(parse(['--trust-proxy', 'maybe']), /--trust-proxy.*expected true or false/);
    await assert.rejects(parse([], { SNAPLINK_RATE_LIMIT: 'sometimes' }), /rate-limit.*expected true or false/);
  });

  test('a profile with one hold overridden; the AWS provider holds nothing unless asked', async () => {
    assert.deepEqual((await parse(['--timings', 'realistic', '--hold-deleting', '0'])).timings, { INITIATING: 180_000, PENDING_ACCEPTANCE: 120_000, DELETING: 0, PENDING_RECREATION: 60_000 });
    assert.deepEqual((await parse(['--provider', 'aws'])).timings, { INITIATING: 0, PENDING_ACCEPTANCE: 0, DELETING: 0, PENDING_RECREATION: 0 });
  });

  const refused: [string[], Record<string, string>, RegExp][] = [
    [['--port', '70000'], {}, /--port.*expected an integer from 0 to 65535/],
    [['--nonce-lifetime', '0'], {}, /--nonce-lifetime.*expected an integer from 1 to 86400/],
    [['--rate-limit-capacity', '2.5'], {}, /--rate-limit-capacity.*expected an integer/],
    [['--digest-algorithms', 'MD4'], {}, /--digest-algorithms.*expected a list of MD5, SHA-256/],
    [['--hold-initiating', '-1'], {}, /--hold-initiating.*seconds from 0 to 86400/],
    [['--timings', 'slow'], {}, /--timings.*expected one of fast, realistic, none/],
    [['--database', 'mysql://x'], {}, /--database.*postgres:\/\//],
    [['--log-level', 'loud'], {}, /--log-level.*expected one of/],
    [[], { SNAPLINK_TOKEN_LIFETIME: '0' }, /token-lifetime.*expected an integer from 1 to 86400/],
    [['--tls-cert', 'cert.pem'], {}, /--tls-cert and --tls-key go together/],
  ];
  for (const [args, env, message] of refused) {
    test(`refuses ${[...args, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(' ')}`, async () => {
      await assert.rejects(parse(args, env), message);
    });
  }
});
