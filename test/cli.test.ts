import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/index.js';
import { CheckedClient, scratch, spawnSeededServer, tempDir, type SeededServer, waitFor, writeSeed } from './support/harness.js';
import { BIN, cliAgainst, type CliRun, snaplinkCli, snaplinkInTerminal } from './support/process.js';
import { createDatabase, STORE_KIND } from './support/stores.js';
import { KEYS, P1, P2 } from './support/world.js';

// The command line as people and scripts use it: tables and colour on a real pseudo-terminal,
// JSON through a pipe, exit codes, the status screen, --watch, completion in real shells, and
// no store made by a command that only reads.

const ADMIN = 'cli-output-admin-token';
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const plain = (s: string) => s.replace(ANSI, '');

let seeded: SeededServer;
let url: string;
let cli: CliRun;
/** At a terminal, pointed at the server. */
const atTerminal = (args: string[], env: Record<string, string> = {}, input = '') => snaplinkInTerminal(args, { SNAPLINK_URL: url, SNAPLINK_ADMIN_TOKEN: ADMIN, NO_COLOR: '', ...env }, input);

before(async () => {
  // Realistic holds: nothing moves on unless the test advances the clock.
  seeded = await spawnSeededServer(['--admin-token', ADMIN, '--timings', 'realistic']);
  url = seeded.server.url;
  cli = cliAgainst(url, ADMIN);
});
after(() => seeded.stop());

/** The column a header starts at, on every line of a table: they must all agree. */
function assertAligned(table: string, headers: string[]): void {
  const lines = table.trimEnd().split('\n');
  const header = lines[0]!;
  const starts = headers.map((h) => header.indexOf(h));
  assert.ok(starts.every((s, i) => s >= 0 && (i === 0 || s > starts[i - 1]!)), `headers ${headers} in order in: ${header}`);
  for (const line of lines.slice(1)) {
    for (const s of starts.slice(1)) assert.equal(line[s - 1], ' ', `a column starts at ${s} in: ${line}`);
    for (const s of starts.slice(1)) assert.notEqual(line[s], ' ', `a value starts at ${s} in: ${line}`);
  }
}

describe('at a terminal', () => {
  test('endpoints: an aligned table, the status coloured, the next transition counted down on the lifecycle clock', async () => {
    const c = new CheckedClient({ baseUrl: url, ...KEYS.orgOwnerA });
    const a = await c.createPrivateEndpoint(P1, { regionName: 'US_EAST_1' });
    const b = await c.createPrivateEndpoint(P2, { regionName: 'EU_WEST_1' });
    const { code, screen } = await atTerminal(['endpoints']);
    assert.equal(code, 0, screen);
    assertAligned(plain(screen), ['ID', 'REGION', 'STATUS', 'NEXT']);
    for (const e of [a, b]) {
      const row = plain(screen).split('\n').find((l) => l.startsWith(e.id));
      assert.match(row ?? '', new RegExp(`^${e.id}\\s+${e.regionName}\\s+INITIATING\\s+in \\d+m( \\d+s)?$`));
    }
    assert.match(screen, /\x1b\[33mINITIATING\x1b\[39m/, 'INITIATING in yellow');
    assert.match(screen, /\x1b\[1mID\x1b\[22m/, 'bold headers');
    // -o wide: every column.
    const wide = plain((await atTerminal(['endpoints', '-o', 'wide'])).screen);
    assertAligned(wide, ['ID', 'PROJECT', 'REGION', 'STATUS', 'CONNECTION', 'NEXT']);
    for (const [e, group] of [[a, P1], [b, P2]] as const) {
      const row = wide.split('\n').find((l) => l.startsWith(e.id));
      assert.match(row ?? '', new RegExp(`^${e.id}\\s+${group}\\s+${e.regionName}\\s+INITIATING\\s+-\\s+in \\d+m( \\d+s)?$`));
    }

    const json = await atTerminal(['endpoints', '-o', 'json']);
    assert.doesNotMatch(json.screen, ANSI);
    assert.deepEqual(JSON.parse(json.screen).results.map((e: { id: string }) => e.id).sort(), [a.id, b.id].sort());
  });

  test('NO_COLOR turns colour off and keeps the table', async () => {
    const { screen } = await atTerminal(['endpoints'], { NO_COLOR: '1' });
    assert.doesNotMatch(screen, ANSI);
    assertAligned(screen, ['ID', 'REGION', 'STATUS', 'NEXT']);
  });

  test('a FAILED endpoint shows why; faults show what they match, what they do and how often they fired', async () => {
    const add = await cli(['faults', 'add', '--kind', 'FAIL_PROVISIONING', '--group', P1, '--region', 'AP_SOUTH_1', '--message', 'The interface endpoint quota is exhausted.', '--count', '1']);
    assert.equal(add.code, 0, add.stderr);
    const e = await new CheckedClient({ baseUrl: url, ...KEYS.orgOwnerA }).createPrivateEndpoint(P1, { regionName: 'AP_SOUTH_1' });
    await cli(['clock', 'advance', '600']);
    await waitFor(async () => (await cli(['endpoints', '--status', 'FAILED'])).stdout, (out) => out.includes(e.id), 10_000, 'the endpoint to fail');

    const { screen } = await atTerminal(['endpoints', '--status', 'FAILED']);
    assertAligned(plain(screen), ['ID', 'REGION', 'STATUS', 'NEXT', 'MESSAGE']);
    assert.match(plain(screen), new RegExp(`^${e.id} .* FAILED +- +The interface endpoint quota is exhausted\\.$`, 'm'));
    assert.match(screen, /\x1b\[31mFAILED\x1b\[39m/, 'FAILED in red');

    const faults = plain((await atTerminal(['faults', 'list'])).screen);
    assertAligned(faults, ['ID', 'KIND', 'MATCHES', 'EFFECT', 'LEFT']);
    assert.match(faults, new RegExp(`FAIL_PROVISIONING +project ${P1}, AP_SOUTH_1 +The interface endpoint quota is exhausted\\. +0$`, 'm'));
    const wide = plain((await atTerminal(['faults', 'list', '-o', 'wide'])).screen);
    assertAligned(wide, ['ID', 'KIND', 'MATCHES', 'EFFECT', 'LEFT', 'PROBABILITY', 'MATCHED', 'FIRED']);
    assert.match(wide, new RegExp(`FAIL_PROVISIONING +project ${P1}, AP_SOUTH_1 +The interface endpoint quota is exhausted\\. +0 +1 +1 +1`));
  });

  test('one object as key: value; lists with relative times', async () => {
    const clock = plain((await atTerminal(['clock', 'show'])).screen);
    assert.match(clock, /^now: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(lifecycle time\)$/m);
    assert.match(clock, /^offset: +\d+m ahead of real time$/m);
    const orgs = plain((await atTerminal(['orgs', 'list'])).screen);
    assertAligned(orgs, ['ID', 'NAME', 'CREATED']);
    assert.match(orgs, /\d+[smhd]( \d+[smh])? ago$/m);
    const created = plain((await atTerminal(['api-keys', 'create', '--role', `GROUP_OWNER:${P1}`])).screen);
    assert.match(created, /^privateKey: +[0-9a-f-]{36}$/m);
    assert.match(created, /^createdAt: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+s ago\)$/m);
    assert.match(created, /The privateKey is shown only now/);
  });
});

describe('the journal and history at a terminal', () => {
  test('requests: oldest first, filtered; history: each status and why', async () => {
    const c = new CheckedClient({ baseUrl: url, ...KEYS.orgOwnerA });
    const e = await c.createPrivateEndpoint(P2, { regionName: 'CA_CENTRAL_1' });
    assert.equal((await c.request('POST', `/api/atlas/v2/groups/${P2}/backup/AWS/privateEndpoints`, { body: { cloudProvider: 'AWS', regionName: 'CA_CENTRAL_1' } })).status, 409);
    const screen = plain((await atTerminal(['requests', '--group', P2, '--operation', 'create', '--status', '4xx', '-o', 'wide'])).screen);
    assertAligned(screen, ['ID', 'TIME', 'METHOD', 'PATH', 'STATUS', 'ERROR CODE', 'WHO', 'MS']);
    const rows = screen.trimEnd().split('\n').slice(1);
    // Digest challenges (401, marked as such) before it, oldest first: the 409 came last.
    assert.deepEqual(rows.map((r) => r.split(/\s+/).slice(4, 6).join(' ')), [...Array(rows.length - 1).fill('401 challenge'), `409 OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS`]);
    assert.match(rows.at(-1)!, new RegExp(`POST +/api/atlas/v2/groups/${P2}/backup/AWS/privateEndpoints +409 +OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS +${KEYS.orgOwnerA.publicKey} `));

    assertAligned(plain((await atTerminal(['history', e.id])).screen), ['STATUS', 'LIFECYCLE TIME', 'WHY']);
    const history = plain((await atTerminal(['history', e.id, '-o', 'wide'])).screen);
    assertAligned(history, ['STATUS', 'LIFECYCLE TIME', 'WALL TIME', 'NODE', 'WHY']);
    assert.match(history, /^INITIATING +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +runner-\S+ +created by a request$/m);
    const cleared = await cli(['requests', 'clear']);
    assert.ok(JSON.parse(cleared.stdout).deletedRequests > 0);
    assert.deepEqual(JSON.parse((await cli(['requests'])).stdout).results, []);
  });
});

describe('requests --expect: a CI step that verifies what a pipeline sent', () => {
  test('exit 0 when the count holds, 4 when it does not; filters as flags; one request in full', async () => {
    await cli(['reset']);
    const c = new CheckedClient({ baseUrl: url, ...KEYS.orgOwnerA });
    await c.createPrivateEndpoint(P2, { regionName: 'EU_WEST_1' });
    await c.createPrivateEndpoint(P2, { regionName: 'EU_WEST_2' });
    const created = ['--operation', 'create', '--status', '201', '--body', 'regionName=EU_WEST_1'];
    const held = await cli(['requests', ...created, '--expect', '1', '-o', 'table']);
    assert.equal(held.code, 0, held.stderr);
    assert.equal(held.stdout, '1 request(s) matched; expected exactly 1: yes\n');
    const unmet = await cli(['requests', '--operation', 'create', '--status', '2xx', '--expect', '1']);
    assert.equal(unmet.code, 4);
    assert.equal(unmet.stderr, 'snaplink: 2 request(s) matched, expected exactly 1\n');
    assert.deepEqual(JSON.parse(unmet.stdout), { count: 2, expected: 'exactly 1', held: false });
    assert.equal((await cli(['requests', '--challenges', 'only', '--expect-at-least', '1'])).code, 0);
    const byHeader = await cli(['requests', '--header', 'accept:2024-11-13', '--method', 'POST', '--challenges', 'none', '--expect', '2']);
    assert.equal(byHeader.code, 0, byHeader.stdout + byHeader.stderr);
    assert.equal((await cli(['requests', '--principal', KEYS.orgOwnerA.publicKey, '--status', '4xx', '--expect-at-most', '0'])).code, 0);
    assert.equal((await cli(['requests', '--body', 'regionName']))?.code, 2, 'field=value or nothing');

    const [newest] = JSON.parse((await cli(['requests', '--operation', 'create', '--status', '201', '--limit', '1'])).stdout).results;
    const shown = plain((await atTerminal(['requests', 'get', String(newest.id)])).screen);
    assert.match(shown, /^request: +#\d+ POST \/api\/atlas\/v2\/groups\/\w+\/backup\/AWS\/privateEndpoints$/m);
    assert.match(shown, /^Request headers:\n(.|\n)*  authorization: Digest username="orgownra", \[redacted\]$/m);
    assert.match(shown, /^Request body:\n  \{\n    "cloudProvider": "AWS",\n    "regionName": "EU_WEST_2"\n  \}$/m);
    assert.match(shown, /^Response body:\n  \{\n    "cloudProvider": "AWS",/m);
  });
});

describe('through a pipe', () => {
  test('JSON, the same as before tables existed: lists as arrays, control answers as they are', async () => {
    const orgs = await cli(['orgs', 'list']);
    assert.ok(Array.isArray(JSON.parse(orgs.stdout)));
    const endpoints = JSON.parse((await cli(['endpoints'])).stdout);
    assert.deepEqual(Object.keys(endpoints).sort(), ['clock', 'results', 'totalCount']);
    const removed = await cli(['faults', 'remove', JSON.parse((await cli(['faults', 'add', '--kind', 'LATENCY', '--latency-ms', '1'])).stdout).id]);
    assert.equal(removed.stdout, '', 'remove prints nothing for a script');
    // -o table works through a pipe too, never coloured.
    const table = await cli(['orgs', 'list', '-o', 'table']);
    assert.doesNotMatch(table.stdout, ANSI);
    assertAligned(table.stdout, ['ID', 'NAME', 'CREATED']);
  });
});

describe('failures: a clear message and the documented exit code', () => {
  test('unreachable (3): the URL tried and how to start one', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const r = await snaplinkCli(['orgs', 'list'], { SNAPLINK_URL: `http://127.0.0.1:${port}`, SNAPLINK_ADMIN_TOKEN: ADMIN });
    assert.equal(r.code, 3);
    assert.equal(r.stderr, `snaplink: cannot reach snaplink at http://127.0.0.1:${port} (ECONNREFUSED): start one with \`snaplink serve\`, or point --url, SNAPLINK_URL or a context at it\n`);
  });

  test('a wrong token (1) names where it came from; a missing one (2) says where to get it', async () => {
    const fromEnv = await snaplinkCli(['clock', 'show'], { SNAPLINK_URL: url, SNAPLINK_ADMIN_TOKEN: 'wrong' });
    assert.equal(fromEnv.code, 1);
    assert.match(fromEnv.stderr, /refused the admin token \(401\): the token from the SNAPLINK_ADMIN_TOKEN variable/);
    const fromFlag = await snaplinkCli(['clock', 'show', '--admin-token', 'wrong'], { SNAPLINK_URL: url, SNAPLINK_ADMIN_TOKEN: '' });
    assert.match(fromFlag.stderr, /the token from the --admin-token option/);
    const missing = await snaplinkCli(['clock', 'show'], { SNAPLINK_URL: url, SNAPLINK_ADMIN_TOKEN: '' });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /needs the control API token: set SNAPLINK_ADMIN_TOKEN, pass --admin-token or keep it in a context/);
  });

  test('the control API refuses (1): its status, errorCode and detail', async () => {
    const r = await cli(['faults', 'remove', 'ffffffffffffffffffffffff']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'snaplink: 404 RESOURCE_NOT_FOUND: Cannot find resource ffffffffffffffffffffffff.\n');
  });

  test('usage errors (2): an unknown option, a bad choice, a bad number, a bad URL', async () => {
    for (const args of [['orgs', 'list', '--nope'], ['faults', 'add', '--kind', 'NOPE'], ['clock', 'advance', 'soon'], ['endpoints', '-o', 'xml'], ['orgs', 'list', '--url', 'ftp://x']]) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /\S/);
    }
  });
});

describe('the width of a terminal', () => {
  test('at 80 columns no line is wider: free text is cut with …; -o wide shows it whole', async () => {
    const long = 'The interface endpoint quota for this VPC is exhausted, so AWS refused to create another one in it.';
    const added = JSON.parse((await cli(['faults', 'add', '--kind', 'FAIL_PROVISIONING', '--group', P2, '--region', 'AP_SOUTHEAST_2', '--message', long])).stdout);
    await new CheckedClient({ baseUrl: url, ...KEYS.orgOwnerA }).createPrivateEndpoint(P2, { regionName: 'AP_SOUTHEAST_2' });
    try {
      for (const args of [['endpoints'], ['faults', 'list'], ['api-keys', 'list'], ['projects', 'list'], ['requests', '--limit', '20'], ['status']]) {
        const { code, screen } = await atTerminal(args, { COLUMNS: '80' });
        assert.equal(code, 0, screen);
        for (const line of plain(screen).trimEnd().split('\n')) assert.ok(line.length <= 80, `${args.join(' ')}: ${line.length} columns: ${line}`);
      }
      const faults = plain((await atTerminal(['faults', 'list'], { COLUMNS: '80' })).screen);
      const row = faults.split('\n').find((l) => l.startsWith(added.id))!;
      assert.match(row, new RegExp(`^${added.id} +FAIL_PROVISIONING +project \\S*… +The inter\\S*… +unlimited$`));
      const wide = plain((await atTerminal(['faults', 'list', '-o', 'wide'], { COLUMNS: '80' })).screen);
      assert.ok(wide.includes(long), 'whole with -o wide');
    } finally {
      await cli(['faults', 'remove', added.id]);
    }
  });

  test('endpoints get: one endpoint and its history; -o yaml is the JSON answer in YAML', async () => {
    const { parse } = await import('yaml');
    const e = await new CheckedClient({ baseUrl: url, ...KEYS.orgOwnerA }).createPrivateEndpoint(P1, { regionName: 'EU_NORTH_1', vpcRegionName: 'EU_WEST_1' });
    const screen = plain((await atTerminal(['endpoints', 'get', e.id])).screen);
    assert.match(screen, new RegExp(`^id: +${e.id}$`, 'm'));
    assert.match(screen, new RegExp(`^project: +${P1}$`, 'm'));
    assert.match(screen, /^vpc region: +EU_WEST_1$/m);
    assert.match(screen, /^status: +INITIATING$/m);
    assert.match(screen, /^next: +in \d+m( \d+s)?$/m);
    assert.match(screen, /^History:\nSTATUS +LIFECYCLE TIME +WHY\nINITIATING +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +created by a request$/m);
    const json = JSON.parse((await cli(['endpoints', 'get', e.id])).stdout);
    assert.equal(json.id, e.id);
    assert.equal(json.status, 'INITIATING');
    // What moves between two calls (the clock, the uptime) is left out of the comparison.
    const still = (text: string) => JSON.parse(JSON.stringify(text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : parse(text), (k, v) => (['clock', 'uptimeSeconds'].includes(k) ? undefined : v)));
    for (const args of [['endpoints', 'get', e.id], ['endpoints'], ['status'], ['faults', 'list'], ['orgs', 'list'], ['api-keys', 'list'], ['history', e.id]]) {
      const yamlText = (await cli([...args, '-o', 'yaml'])).stdout;
      assert.doesNotMatch(yamlText, /^[{[]/, 'block YAML, not JSON');
      assert.deepEqual(still(yamlText), still((await cli(args)).stdout), args.join(' '));
    }
    const gone = await cli(['endpoints', 'get', 'ffffffffffffffffffffffff']);
    assert.equal(gone.code, 1);
    assert.equal(gone.stderr, 'snaplink: 404 RESOURCE_NOT_FOUND: Cannot find resource ffffffffffffffffffffffff.\n');
  });

  test('YAML: strings that YAML would read otherwise are quoted', async () => {
    const { parse } = await import('yaml');
    const { toYaml } = await import('../src/cli/output.js');
    const value = { a: 'yes', b: '1', c: 'x: y', d: '', e: '2026-12-01T06:00:00Z', f: ['- x', '#', 'null', [1, [2]], {}, []], g: { h: { i: 'ORG_OWNER:6650f0c0a1b2c3d4e5f60001' } }, j: null, k: true, l: 'a "quoted" line\nand\ttabs', 'm n': -1.5, '': 'empty key' };
    assert.deepEqual(parse(toYaml(value)), value);
    assert.deepEqual(parse(toYaml([])), []);
  });
});

describe('usage errors are the command line\'s: in flags, exit 2, nothing sent', () => {
  const cases: [string[], string][] = [
    [['faults', 'add', '--kind', 'HTTP_ERROR'], 'snaplink: --kind HTTP_ERROR needs --status and --error-code\n'],
    [['faults', 'add', '--kind', 'LATENCY'], 'snaplink: --kind LATENCY needs --latency-ms\n'],
    [['faults', 'add', '--kind', 'LATENCY', '--latency-ms', '5', '--message', 'x'], 'snaplink: --message goes with --kind FAIL_PROVISIONING, not LATENCY\n'],
    [['faults', 'add', '--kind', 'FAIL_PROVISIONING', '--operation', 'create'], 'snaplink: --operation goes with --kind HTTP_ERROR or LATENCY, not FAIL_PROVISIONING: that fault acts on the lifecycle, not on a request\n'],
    [['faults', 'add', '--kind', 'HTTP_ERROR', '--status', '503', '--error-code', 'X', '--probability', '2'], "snaplink: option '--probability <p>' argument '2' is invalid. expected a number from 0 to 1 (probability)\n(add --help for usage)\n"],
    [['faults', 'add', '--kind', 'HTTP_ERROR', '--status', '503', '--error-code', 'oops'], "snaplink: option '--error-code <code>' argument 'oops' is invalid. expected an errorCode such as SERVICE_UNAVAILABLE (capitals, digits and _)\n(add --help for usage)\n"],
    [['api-keys', 'create'], 'snaplink: an API key belongs to an organization: give --role ROLE:ID (the organization follows from it) or --org <orgId>\n'],
    [['service-accounts', 'create', '--description', 'ci'], 'snaplink: a service account belongs to an organization: give --role ROLE:ID (the organization follows from it) or --org <orgId>\n'],
    [['api-keys', 'create', '--role', 'GROUP_ADMIN:6650f0c0a1b2c3d4e5f60101'], "snaplink: option '--role <ROLE:ID>' argument 'GROUP_ADMIN:6650f0c0a1b2c3d4e5f60101' is invalid. expected ROLE:ID, ROLE one of ORG_OWNER, ORG_GROUP_CREATOR, GROUP_OWNER, GROUP_READ_ONLY and ID 24 hexadecimal digits, e.g. ORG_OWNER:<orgId> or GROUP_OWNER:<projectId>\n(add --help for usage)\n"],
    // Filters that could only ever match nothing.
    [['endpoints', '--group', 'nothex'], "snaplink: option '--group <groupId>' argument 'nothex' is invalid. expected a project id: 24 hexadecimal digits\n(add --help for usage)\n"],
    [['history', 'nothex'], "snaplink: command-argument value 'nothex' is invalid for argument 'endpointId'. expected an endpoint id: 24 hexadecimal digits\n(add --help for usage)\n"],
    [['requests', '--status', '4x'], "snaplink: option '--status <status>' argument '4x' is invalid. expected a status (409) or a class (4xx)\n(add --help for usage)\n"],
    [['requests', '--since', 'yesterday'], "snaplink: option '--since <time>' argument 'yesterday' is invalid. expected an ISO 8601 time, e.g. 2026-12-01T06:00:00Z\n(add --help for usage)\n"],
    [['projects', 'list', '--org', 'acme'], "snaplink: option '--org <orgId>' argument 'acme' is invalid. expected an organization id: 24 hexadecimal digits\n(add --help for usage)\n"],
  ];
  test('each says what to type instead', async () => {
    await cli(['reset']);
    const before = (await cli(['requests', '--limit', '1000'])).stdout;
    for (const [args, message] of cases) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, message, args.join(' '));
    }
    const region = await cli(['endpoints', '--region', 'MARS']);
    assert.equal(region.code, 2);
    assert.match(region.stderr, /^snaplink: option '--region <regionName>' argument 'MARS' is invalid\. Allowed choices are US_GOV_WEST_1, .*US_EAST_1, /);
    // None of them reached the server: its journal holds the one list call above and nothing after.
    assert.deepEqual(JSON.parse((await cli(['faults', 'list'])).stdout).results, []);
    assert.equal(JSON.parse((await cli(['requests', '--limit', '1000'])).stdout).results.length, JSON.parse(before).results.length);
  });

  test('every message starts with snaplink:, commander\'s own too', async () => {
    for (const args of [['orgs', 'list', '--nope'], ['nope'], ['faults', 'add']]) {
      const r = await cli(args);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^snaplink: /, r.stderr);
      assert.doesNotMatch(r.stderr, /^error: /m);
    }
  });
});

describe('deleting an organization or a project asks first', () => {
  test('through a pipe it needs --force; at a terminal it asks, and only y deletes', async () => {
    const org = JSON.parse((await cli(['orgs', 'create', '--name', 'Doomed'])).stdout);
    const project = JSON.parse((await cli(['projects', 'create', '--org', org.id, '--name', 'p'])).stdout);
    await cli(['api-keys', 'create', '--role', `ORG_OWNER:${org.id}`]);
    const exists = async () => JSON.parse((await cli(['orgs', 'list'])).stdout).some((o: { id: string }) => o.id === org.id);

    const piped = await cli(['orgs', 'delete', org.id]);
    assert.equal(piped.code, 2);
    assert.equal(piped.stderr, "snaplink: deleting an organization deletes its projects, their endpoints, and the organization's API keys and service accounts too: add --force to confirm (there is no terminal to ask at)\n");
    assert.equal((await cli(['projects', 'delete', project.id])).code, 2);
    assert.ok(await exists());

    const no = await atTerminal(['orgs', 'delete', org.id], {}, 'n\n');
    assert.equal(no.code, 0, no.screen);
    assert.match(no.screen, new RegExp(`Delete organization ${org.id} with its 1 project, 0 endpoints, 1 API key and 0 service accounts\\? This cannot be undone\\. \\[y/N\\] `));
    assert.match(no.screen, /Nothing was deleted\./);
    assert.ok(await exists());

    const yes = await atTerminal(['orgs', 'delete', org.id], {}, 'y\n');
    assert.equal(yes.code, 0, yes.screen);
    assert.match(yes.screen, new RegExp(`Deleted organization ${org.id}\\.`));
    assert.equal(await exists(), false);

    const again = JSON.parse((await cli(['orgs', 'create', '--name', 'Doomed too'])).stdout);
    assert.deepEqual(JSON.parse((await cli(['orgs', 'delete', again.id, '--force'])).stdout), { deleted: again.id });
  });
});

describe('contexts', () => {
  test('set, use, list and delete; a context stands in for --url and --admin-token; flags and variables win', async () => {
    const file = join(tempDir(), 'config', 'contexts.json');
    const ctx = (args: string[], env: Record<string, string> = {}) => snaplinkCli(args, { SNAPLINK_CONFIG: file, SNAPLINK_URL: '', SNAPLINK_ADMIN_TOKEN: '', ...env });
    const none = await ctx(['status']);
    assert.equal(none.code, 2, 'no context: no token');
    assert.match(none.stderr, /needs the control API token/);
    const set = await ctx(['context', 'set', 'local', '--url', url, '--admin-token', ADMIN]);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(JSON.parse(set.stdout), { name: 'local', current: true, file });
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the file holds tokens: its owner only');
    assert.equal(JSON.parse((await ctx(['status'])).stdout).readiness, 'ready', 'the current context');
    await ctx(['context', 'set', 'elsewhere', '--url', 'http://127.0.0.1:9', '--admin-token', 'other']);
    assert.equal(JSON.parse((await ctx(['status', '--context', 'local'])).stdout).readiness, 'ready');
    assert.equal((await ctx(['status', '--context', 'elsewhere'])).code, 3);
    assert.equal((await ctx(['status'], { SNAPLINK_CONTEXT: 'elsewhere' })).code, 3);
    // A flag or a variable wins over the context.
    assert.equal((await ctx(['status', '--context', 'elsewhere', '--url', url, '--admin-token', ADMIN])).code, 0);
    assert.equal((await ctx(['status', '--context', 'elsewhere'], { SNAPLINK_URL: url, SNAPLINK_ADMIN_TOKEN: ADMIN })).code, 0);
    const refused = await ctx(['status', '--context', 'local', '--admin-token', 'wrong']);
    assert.match(refused.stderr, /the token from the --admin-token option/);
    const fromContext = await ctx(['context', 'set', 'wrong', '--url', url, '--admin-token', 'wrong']).then(() => ctx(['status', '--context', 'wrong']));
    assert.match(fromContext.stderr, /the token from the context wrong is not the one/);

    const listed = await ctx(['context', 'list']);
    assert.deepEqual(JSON.parse(listed.stdout).map((c: { name: string; current: boolean; adminToken: string }) => [c.name, c.current, c.adminToken]), [['local', true, 'set'], ['elsewhere', false, 'set'], ['wrong', false, 'set']]);
    assert.ok(!listed.stdout.includes(ADMIN), 'never the tokens');
    assert.equal((await ctx(['context', 'use', 'elsewhere'])).code, 0);
    assert.equal((await ctx(['status'])).code, 3);
    const unknown = await ctx(['status', '--context', 'nope']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^snaplink: no context named nope in .*contexts\.json \(there are: local, elsewhere, wrong\): make it with `snaplink context set nope --url …`/);
    assert.deepEqual(JSON.parse((await ctx(['context', 'delete', 'elsewhere'])).stdout), { deleted: 'elsewhere' });
    assert.equal((await ctx(['status'])).code, 2, 'no current context: no token again');
  });
});

describe('not snaplink, or gone', () => {
  test('a server that answers 200 {} to everything: exit 3, "is --url a snaplink server?", never NaN', async () => {
    const { createServer: http } = await import('node:http');
    const impostor = http((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const at = `http://127.0.0.1:${(impostor.address() as { port: number }).port}`;
    try {
      for (const args of [['status'], ['endpoints'], ['clock', 'show'], ['faults', 'list'], ['orgs', 'list'], ['requests'], ['endpoints', 'get', 'ffffffffffffffffffffffff']]) {
        for (const terminal of [false, true]) {
          const r = terminal ? await atTerminal(args, { SNAPLINK_URL: at }) : await snaplinkCli(args, { SNAPLINK_URL: at, SNAPLINK_ADMIN_TOKEN: ADMIN });
          const text = 'screen' in r ? r.screen : r.stderr + r.stdout;
          assert.equal(r.code, 3, `${args.join(' ')}: ${text}`);
          assert.match(text, new RegExp(`snaplink: ${at.replace(/[.]/g, '\\.')} answered 200, but not as snaplink's control API does \\(no "\\w+"\\): is --url a snaplink server\\?`), args.join(' '));
          assert.doesNotMatch(text, /NaN|undefined|Cannot (read|convert)/);
        }
      }
    } finally {
      impostor.close();
    }
  });

  test('an https:// URL where snaplink speaks http: says so', async () => {
    const r = await cli(['status'], { SNAPLINK_URL: url.replace('http:', 'https:') });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^snaplink: cannot reach snaplink at https:\/\/127\.0\.0\.1:\d+ \((EPROTO|ERR_SSL_WRONG_VERSION_NUMBER)\): it does not speak HTTPS there; try http:\/\/\n$/);
  });
});

describe('a closed pipe', () => {
  test('snaplink … | a reader that stops: the command ends quietly, exit 0', async () => {
    const { dir, args: store } = await scratch().fresh();
    assert.equal((await snaplinkCli(['seed', writeSeed(dir), ...store])).code, 0);
    const q = (a: string[]) => a.map((x) => `'${x}'`).join(' ');
    for (const args of [['export', ...store], ['endpoints', '-o', 'json'], ['completion', 'bash']]) {
      // `true` reads nothing and is gone before the command writes.
      const r = spawnSync('bash', ['-c', `'${process.execPath}' '${BIN}' ${q(args)} | true; echo "exit \${PIPESTATUS[0]}" >&2`], { encoding: 'utf8', env: { ...process.env, SNAPLINK_URL: url, SNAPLINK_ADMIN_TOKEN: ADMIN } });
      assert.equal(r.stderr, 'exit 0\n', args.join(' '));
    }
  });
});

describe('help and version', () => {
  test('-v prints the version; help names things right and fits 80 columns', async () => {
    const version = JSON.parse((await import('node:fs')).readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
    for (const flag of ['-v', '-V', '--version']) assert.equal((await snaplinkCli([flag])).stdout, `${version}\n`, flag);
    for (const args of [['api-keys', '--help'], ['service-accounts', '--help'], ['faults', 'add', '--help'], ['endpoints', '--help'], ['serve', '--help'], ['context', 'set', '--help']]) {
      const { code, screen } = await atTerminal(args, { COLUMNS: '80' });
      assert.equal(code, 0, screen);
      assert.doesNotMatch(screen, /\ba API\b/, args.join(' '));
      for (const line of screen.trimEnd().split('\n')) assert.ok(line.length <= 80, `${args.join(' ')}: ${line.length} columns: ${line}`);
    }
    const bool = await snaplinkCli(['serve', '--rate-limit', 'maybe']);
    assert.equal(bool.code, 2);
    assert.match(bool.stderr, /^snaplink: option '--rate-limit <bool>' argument 'maybe' is invalid\. expected true or false \(or on\/off, yes\/no, 1\/0\)/);
  });
});

describe('reads never create a store', () => {
  test('with no server, a management command fails (3) and leaves the folder as it was', async () => {
    const cwd = tempDir();
    const r = await snaplinkCli(['orgs', 'list'], { SNAPLINK_URL: 'http://127.0.0.1:9', SNAPLINK_ADMIN_TOKEN: 'x' }, cwd);
    assert.equal(r.code, 3);
    assert.deepEqual(readdirSync(cwd), []);
  });

  test('admin-token reset refuses (2) a store that is not there, naming what it looked for', async () => {
    const cwd = tempDir();
    const sqlite = await snaplinkCli(['admin-token', 'reset'], {}, cwd);
    assert.equal(sqlite.code, 2);
    assert.match(sqlite.stderr, new RegExp(`no snaplink store at ${join(cwd, 'snaplink-data', 'snaplink.db').replace(/[.]/g, '\\.')} \\(from --data-dir \\./snaplink-data\\)`));
    assert.deepEqual(readdirSync(cwd), []);
    if (STORE_KIND === 'postgres') {
      const empty = await createDatabase();
      const pg = await snaplinkCli(['admin-token', 'reset', '--database', empty]);
      assert.equal(pg.code, 2);
      assert.match(pg.stderr, /no snaplink store in the database postgres:\/\/[^@]*\/\w+ \(its tables are not there\)/);
      assert.doesNotMatch(pg.stderr, /snaplink_test:snaplink_test@/, 'no password in the message');
    }
  });

  test('seed may create a store, but not for a file it cannot read', async () => {
    const cwd = tempDir();
    const r = await snaplinkCli(['seed', 'missing.json', '--data-dir', 'store'], {}, cwd);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read missing\.json/);
    assert.equal(existsSync(join(cwd, 'store')), false);
  });
});

describe('snaplink status', () => {
  test('version, uptime, store, endpoints by status, faults, clock and readiness in one screen', async () => {
    await new CheckedClient({ baseUrl: url, ...KEYS.orgOwnerA }).createPrivateEndpoint(P2, { regionName: 'SA_EAST_1' });
    const s = JSON.parse((await cli(['status'])).stdout);
    const view = JSON.parse((await cli(['endpoints'])).stdout);
    const counted: Record<string, number> = {};
    for (const e of view.results) counted[e.status] = (counted[e.status] ?? 0) + 1;
    assert.deepEqual(Object.fromEntries(Object.entries(s.endpoints).filter(([, n]) => n !== 0)), counted);
    assert.equal(s.totalEndpoints, view.totalCount);
    assert.equal(s.store, STORE_KIND);
    assert.equal(s.ready, true);
    assert.match(s.node, /^runner-/);
    assert.equal(s.version, JSON.parse((await import('node:fs')).readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
    const faults = JSON.parse((await cli(['faults', 'list'])).stdout).results;
    assert.equal(s.activeFaults, faults.filter((f: { remaining?: number }) => f.remaining !== 0).length);

    const screen = plain((await atTerminal(['status'])).screen);
    assert.match(screen, new RegExp(`^server: +snaplink ${s.version} at ${url.replace(/[.]/g, '\\.')}$`, 'm'));
    assert.match(screen, /^ready: +ready$/m);
    assert.match(screen, new RegExp(`^store: +${STORE_KIND}$`, 'm'));
    assert.match(screen, new RegExp(`^endpoints: +${s.totalEndpoints}: .*INITIATING`, 'm'));
    assert.match(screen, /^clock: +(real time|\d+[smhd]( \d+[smh])? ahead of real time)$/m);
  });
});

describe('endpoints --watch', () => {
  test('prints the view again each time an endpoint changes, until interrupted', async () => {
    await cli(['reset']);
    const watcher = spawn(process.execPath, [BIN, 'endpoints', '--watch', '--interval', '0.2', '-o', 'json'], { env: { ...process.env, SNAPLINK_URL: url, SNAPLINK_ADMIN_TOKEN: ADMIN } });
    let out = '';
    watcher.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const views = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { results: { id: string; status: string }[] });
    try {
      await waitFor(async () => views(), (v) => v.length === 1, 10_000, 'the first view');
      const e = await new CheckedClient({ baseUrl: url, ...KEYS.orgOwnerA }).createPrivateEndpoint(P1, { regionName: 'US_EAST_1' });
      await waitFor(async () => views(), (v) => v.at(-1)!.results.some((r) => r.id === e.id), 10_000, 'the created endpoint');
      await cli(['clock', 'advance', '3600']);
      const seen = await waitFor(async () => views(), (v) => v.at(-1)!.results.some((r) => r.status === 'ACTIVE'), 15_000, 'ACTIVE');
      // One line per change, not per look: INITIATING, (PENDING_ACCEPTANCE,) ACTIVE after the empty view.
      assert.ok(seen.length >= 3 && seen.length <= 4, `${seen.length} views`);
    } finally {
      watcher.kill('SIGINT');
    }
    const code = await new Promise((resolve) => watcher.on('exit', (c, s) => resolve(c ?? s)));
    assert.ok(code === 'SIGINT' || code === 130 || code === 0, `ended by the interrupt (${code})`);
  });
});

describe('completion', () => {
  const script = (shell: string) => {
    const r = spawnSync(process.execPath, [BIN, 'completion', shell], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const file = join(tempDir(), `snaplink.${shell}`);
    writeFileSync(file, r.stdout);
    return file;
  };
  const have = (program: string) => spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
  const missing = (program: string) => (have(program) ? false : `${program} is not installed (test/setup/debian-packages.sh: ${process.env.SNAPLINK_TEST_DEBIAN_MISSING ?? 'not run'})`);

  /** Every command path of the real program, and what it offers next. */
  function tree(c: Command, path: string[] = []): { path: string[]; subcommands: string[] }[] {
    return [{ path, subcommands: c.commands.map((s) => s.name()) }, ...c.commands.flatMap((s) => tree(s, [...path, s.name()]))];
  }
  const program = buildProgram();

  test('bash: every command path offers its subcommands; options and their choices complete', () => {
    const file = script('bash');
    const complete = (line: string[]) => {
      const r = spawnSync('bash', ['-c', `source ${file}; COMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _snaplink; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean);
    };
    for (const { path, subcommands } of tree(program)) {
      if (subcommands.length === 0) continue;
      const offered = complete(['snaplink', ...path, '']);
      for (const s of subcommands) assert.ok(offered.includes(s), `snaplink ${path.join(' ')} offers ${s}: ${offered}`);
    }
    assert.deepEqual(complete(['snaplink', 'fa']), ['faults']);
    assert.deepEqual(complete(['snaplink', 'faults', 'add', '--kind', '']), ['FAIL_PROVISIONING', 'LOSE_ENDPOINT', 'HTTP_ERROR', 'LATENCY']);
    assert.deepEqual(complete(['snaplink', 'endpoints', '-o', '']), ['table', 'wide', 'json', 'yaml']);
    assert.deepEqual(complete(['snaplink', 'completion', '']).sort(), ['--help', 'bash', 'fish', 'zsh']);
    assert.ok(complete(['snaplink', 'endpoints', '--']).includes('--watch'));
    // An option's value is not a subcommand: `--url orgs` does not move into orgs.
    assert.ok(complete(['snaplink', 'endpoints', '--url', 'orgs', '']).includes('--watch'));
  });

  test('zsh: the same, with descriptions', { skip: missing('zsh') }, () => {
    const file = script('zsh');
    // _describe and _files are the completion system's; here they print what they were given.
    const complete = (line: string[]) => {
      const words = line.map((w) => `'${w}'`).join(' ');
      const r = spawnSync('zsh', ['-f', '-c', `compdef() { :; }; _describe() { print -rl -- "\${(@P)2}"; }; _files() { print -- '<files>'; }; source ${file}; words=(${words}); CURRENT=${line.length}; _snaplink`], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean);
    };
    assert.ok(complete(['snaplink', '']).includes('faults:inject faults into a running server'));
    assert.ok(complete(['snaplink', 'faults', '']).includes('add:add a fault'));
    assert.deepEqual(complete(['snaplink', 'faults', 'add', '--kind', '']), ['FAIL_PROVISIONING', 'LOSE_ENDPOINT', 'HTTP_ERROR', 'LATENCY']);
    assert.ok(complete(['snaplink', 'seed', '']).includes('<files>'));
  });

  test('fish: complete -C, as fish itself completes a command line', { skip: missing('fish') }, () => {
    const file = script('fish');
    const complete = (line: string) => {
      const r = spawnSync('fish', ['--no-config', '-c', `source ${file}; complete -C '${line}'`], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t'));
    };
    assert.ok(complete('snaplink ').some(([w, d]) => w === 'faults' && d === 'inject faults into a running server'));
    assert.deepEqual(complete('snaplink faults add --kind ').map(([w]) => w), ['FAIL_PROVISIONING', 'HTTP_ERROR', 'LATENCY', 'LOSE_ENDPOINT']);
    assert.ok(complete('snaplink endpoints --').some(([w]) => w === '--watch'));
  });
});
