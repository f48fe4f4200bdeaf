import { type Command, InvalidArgumentError, Option } from 'commander';
import { AWS_REGIONS, ENDPOINT_STATUSES } from '../../atlas/regions.js';
import { type Fault, FAULT_KINDS, type FaultParams, type FaultSpec, KIND_PARAMS, KIND_REQUIRED, OPERATIONS } from '../../faults/model.js';
import { int } from '../../config.js';
// The control API's answers, typed by the modules that make them (the CLI ships in the same package).
import type { HistoryEntry } from '../../endpoints/history.js';
import type { JournalDetail, JournalEntry } from '../../journal/request-journal.js';
import { JOURNAL_OPERATIONS } from '../../journal/capture.js';
import { between, controlCommand, number, objectId, onControl } from '../command.js';
import { CliError, type ControlApi, EXIT, type Shape } from '../control-api.js';
import { type Column, duration, fields, localTime, type Output, paint, relative, show, statusStyle, table, toYaml } from '../output.js';

// What a running server is doing: its endpoints and their schedule, faults, the virtual clock,
// reset, and one screen of status.

interface EndpointRow {
  id: string;
  groupId: string;
  regionName: string;
  status: string;
  privateEndpointConnectionName?: string;
  errorMessage?: string;
  dueAt: string | null;
}
interface EndpointList {
  results: EndpointRow[];
  totalCount: number;
  /** The lifecycle's (virtual) now: due times are on this clock. */
  clock: string;
}

/** When an endpoint moves on next, on the lifecycle clock `now`. */
const next = (e: EndpointRow, now: number) => (e.dueAt === null ? '-' : Date.parse(e.dueAt) <= now ? 'due now' : relative(Date.parse(e.dueAt), now));

function endpointTable(out: Output, view: EndpointList): string {
  const now = Date.parse(view.clock);
  const columns: Column<EndpointRow>[] = [
    { header: 'ID', value: (e) => e.id },
    { header: 'PROJECT', value: (e) => e.groupId, wide: true },
    { header: 'REGION', value: (e) => e.regionName },
    { header: 'STATUS', value: (e) => e.status, style: (e) => statusStyle(e.status) },
    { header: 'CONNECTION', value: (e) => e.privateEndpointConnectionName ?? '-', wide: true },
    { header: 'NEXT', value: (e) => next(e, now) },
  ];
  // Why an endpoint FAILED is what its reader wants next; the column is there only then.
  if (view.results.some((e) => e.errorMessage)) columns.push({ header: 'MESSAGE', value: (e) => e.errorMessage ?? '', flex: true });
  return table(out, columns, view.results, 'No endpoints.');
}

/** One endpoint, `kubectl describe` style: its fields, then the statuses it entered. */
function describeEndpoint(out: Output, e: EndpointRow & { vpcRegionName?: string; clock: string }, history: HistoryEntry[]): string {
  const now = Date.parse(e.clock);
  const pairs: [string, string][] = [
    ['id', e.id],
    ['project', e.groupId],
    ['region', e.regionName],
    ['vpc region', e.vpcRegionName ?? e.regionName],
    ['status', paint(out, statusStyle(e.status), e.status)],
    ['connection', e.privateEndpointConnectionName ?? '-'],
    ['next', next(e, now)],
  ];
  if (e.errorMessage) pairs.push(['message', e.errorMessage]);
  return `${fields(pairs)}\n\nHistory:\n${historyTable(out, history)}`;
}

const faultScope = (f: Fault) => [f.groupId && `project ${f.groupId}`, f.regionName, f.operation].filter(Boolean).join(', ') || 'everything';
function faultEffect(f: Fault): string {
  switch (f.kind) {
    case 'HTTP_ERROR':
      return `${f.status} ${f.errorCode}`;
    case 'LATENCY':
      return `+${f.latencyMs} ms`;
    case 'LOSE_ENDPOINT':
      return f.afterSeconds ? `after ${duration(f.afterSeconds * 1000)} ACTIVE` : 'once ACTIVE';
    default:
      return f.message ?? 'default message';
  }
}
const FAULT_COLUMNS: Column<Fault>[] = [
  { header: 'ID', value: (f) => f.id },
  { header: 'KIND', value: (f) => f.kind },
  { header: 'MATCHES', value: faultScope, flex: true },
  { header: 'EFFECT', value: faultEffect, flex: true },
  { header: 'LEFT', value: (f) => (f.remaining === undefined ? 'unlimited' : String(f.remaining)) },
  { header: 'PROBABILITY', value: (f) => (f.probability === undefined ? '1' : String(f.probability)), wide: true },
  { header: 'MATCHED', value: (f) => String(f.matched), wide: true },
  { header: 'FIRED', value: (f) => String(f.fired), wide: true },
];

interface ClockView {
  offsetSeconds: number;
  now: string;
}
const offset = (c: ClockView) => (c.offsetSeconds === 0 ? 'real time' : `${duration(c.offsetSeconds * 1000)} ahead of real time`);
const clockFields = (c: ClockView): [string, string][] => [
  ['now', `${localTime(Date.parse(c.now))} (lifecycle time)`],
  ['offset', offset(c)],
];

interface Status {
  version: string;
  node: string;
  startedAt: string;
  uptimeSeconds: number;
  store: string;
  readiness: string;
  endpoints: Record<string, number>;
  totalEndpoints: number;
  activeFaults: number;
  clock: ClockView;
  /** Present while the store refuses writes (its disk full). */
  writesRefused?: { since: string; reason: string };
}

function statusScreen(out: Output, url: string, s: Status): string {
  const counts = Object.entries(s.endpoints)
    .filter(([, n]) => n > 0)
    .map(([status, n]) => `${n} ${paint(out, statusStyle(status), status)}`);
  return fields([
    ['server', `snaplink ${s.version} at ${url}`],
    ['ready', paint(out, statusStyle(s.readiness), s.readiness)],
    ['uptime', `${duration(s.uptimeSeconds * 1000)} (since ${localTime(Date.parse(s.startedAt))})`],
    ['store', s.store],
    ...(s.writesRefused ? [['writes', paint(out, 'red', `refused since ${localTime(Date.parse(s.writesRefused.since))} (${s.writesRefused.reason}); reads are served`)] as [string, string]] : []),
    ['node', s.node],
    ['endpoints', `${s.totalEndpoints}${counts.length ? `: ${counts.join(', ')}` : ''}`],
    ['faults', `${s.activeFaults} active`],
    ['clock', offset(s.clock)],
  ]);
}

/** Redraws the endpoint table as it changes, until interrupted (`kubectl get -w`). */
async function watchEndpoints(api: ControlApi, out: Output, path: string, intervalMs: number, tty: boolean): Promise<void> {
  let last = '';
  for (;;) {
    const view = await api.call<EndpointList>('GET', path, undefined, ENDPOINTS);
    // The countdowns change every second; what is compared is the endpoints themselves.
    const state = JSON.stringify(view.results);
    if (!out.human) {
      if (state !== last) out.write(out.format === 'yaml' ? `---\n${toYaml(view)}` : JSON.stringify(view));
    } else if (tty) {
      // Home, clear, then the table: a steady picture whose countdowns tick.
      out.write(`\x1b[H\x1b[2J${paint(out, 'dim', `${api.url} — every ${duration(intervalMs)}, Ctrl-C to stop`)}\n\n${endpointTable(out, view)}`);
    } else if (state !== last) {
      out.write(`${last === '' ? '' : '\n'}${endpointTable(out, view)}`);
    }
    last = state;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

const statusClassStyle = (status: number) => (status >= 500 ? 'red' : status >= 400 ? 'yellow' : 'green');

/** Oldest first, so the newest is next to the prompt. */
function journalTable(out: Output, rows: JournalEntry[], totalCount: number): string {
  const columns: Column<JournalEntry>[] = [
    { header: 'ID', value: (r) => String(r.id), wide: true },
    { header: 'TIME', value: (r) => localTime(Date.parse(r.at)).slice(11) },
    { header: 'METHOD', value: (r) => r.method },
    { header: 'PATH', value: (r) => r.path, flex: true },
    { header: 'STATUS', value: (r) => (r.challenge ? `${r.status} challenge` : String(r.status)), style: (r) => (r.challenge ? 'dim' : statusClassStyle(r.status)) },
    { header: 'ERROR CODE', value: (r) => (r.challenge ? '-' : (r.errorCode ?? '-')), flex: true },
    { header: 'WHO', value: (r) => r.principal ?? (r.claimed ? `${r.claimed}?` : '-'), wide: true },
    { header: 'MS', value: (r) => r.durationMs.toFixed(1), wide: true },
  ];
  const shown = table(out, columns, [...rows].reverse(), 'No requests.');
  return rows.length < totalCount ? `${shown}${paint(out, 'dim', `(the newest ${rows.length} of ${totalCount} matching; --limit shows more)`)}\n` : shown;
}

/** One request as sent and answered: headers and bodies, each side in turn. */
function describeRequest(out: Output, d: JournalDetail): string {
  const headers = (h: [string, string][]) => h.map(([n, v]) => `  ${n}: ${v}`).join('\n');
  const body = (b: JournalDetail['response'] extends infer R ? (R extends { body: infer B } ? B : never) : never) => {
    if (!b) return '  (no body)';
    let text = b.text;
    try {
      text = JSON.stringify(JSON.parse(b.text), null, 2);
    } catch {
      // Shown as it came.
    }
    const notes = [b.truncated && `cut: ${b.bytes} bytes in all`, b.redacted && 'secrets replaced'].filter(Boolean);
    return `${text.replace(/^/gm, '  ')}${notes.length > 0 ? `\n  ${paint(out, 'dim', `(${notes.join('; ')})`)}` : ''}`;
  };
  const summary = fields([
    ['request', `#${d.id} ${d.method} ${d.path}`],
    ['answered', `${d.status}${d.errorCode ? ` ${d.errorCode}` : ''}${d.challenge ? ' (a Digest challenge)' : ''} in ${d.durationMs} ms`],
    ['at', localTime(Date.parse(d.at))],
    ['who', d.principal ?? (d.claimed ? `${d.claimed} (claimed, not authenticated)` : '-')],
    ['request id', d.requestId],
    ['node', d.node],
    ...(d.endpointId ? [['endpoint', d.endpointId] as [string, string]] : []),
    ...(d.faultId ? [['fault', d.faultId] as [string, string]] : []),
    ...(d.related.answeredBy ? [['answered by', `#${d.related.answeredBy}`] as [string, string]] : []),
    ...(d.related.challengeOf ? [['challenge', `#${d.related.challengeOf}`] as [string, string]] : []),
  ]);
  if (!d.request || !d.response) return `${summary}\n(recorded before the journal kept headers and bodies)\n`;
  return `${summary}\nRequest headers:\n${headers(d.request.headers)}\nRequest body:\n${body(d.request.body)}\nResponse headers:\n${headers(d.response.headers)}\nResponse body:\n${body(d.response.body)}\n`;
}

function historyTable(out: Output, rows: HistoryEntry[]): string {
  return table(
    out,
    [
      { header: 'STATUS', value: (h) => h.status, style: (h) => statusStyle(h.status) },
      { header: 'LIFECYCLE TIME', value: (h) => localTime(Date.parse(h.at)) },
      { header: 'WALL TIME', value: (h) => localTime(Date.parse(h.wallAt)), wide: true },
      { header: 'NODE', value: (h) => h.node, wide: true },
      { header: 'WHY', value: (h) => h.reason, flex: true },
    ],
    rows,
    'No history.',
  );
}

// What each answer must hold to be snaplink's (control-api.ts refuses anything else).
const LIST: Shape = { results: 'array' };
const ENDPOINTS: Shape = { results: 'array', totalCount: 'number', clock: 'string' };
const CLOCK: Shape = { offsetSeconds: 'number', now: 'string' };
const FAULT: Shape = { id: 'string', kind: 'string', matched: 'number', fired: 'number' };
const STATUS: Shape = { version: 'string', node: 'string', startedAt: 'string', uptimeSeconds: 'number', store: 'string', readiness: 'string', endpoints: 'object', totalEndpoints: 'number', activeFaults: 'number', clock: 'object' };
const RESET: Shape = { deletedEndpoints: 'number', deletedFaults: 'number', deletedRequests: 'number' };

/** The flag of each fault setting, for the messages. */
const PARAM_FLAGS: Record<keyof FaultParams, string> = {
  message: '--message',
  status: '--status',
  errorCode: '--error-code',
  detail: '--detail',
  latencyMs: '--latency-ms',
  afterSeconds: '--after-seconds',
};

/** What the control API would refuse in a fault, refused here as a usage error, in flags. */
function checkFault(spec: FaultSpec): void {
  const missing = KIND_REQUIRED[spec.kind].filter((p) => spec[p] === undefined);
  if (missing.length) throw new CliError(`--kind ${spec.kind} needs ${missing.map((p) => PARAM_FLAGS[p]).join(' and ')}`, EXIT.usage);
  for (const p of Object.keys(PARAM_FLAGS) as (keyof FaultParams)[]) {
    if (spec[p] !== undefined && !KIND_PARAMS[spec.kind].includes(p)) {
      const kinds = FAULT_KINDS.filter((k) => KIND_PARAMS[k].includes(p));
      throw new CliError(`${PARAM_FLAGS[p]} goes with --kind ${kinds.join(' or ')}, not ${spec.kind}`, EXIT.usage);
    }
  }
  if (spec.operation !== undefined && (spec.kind === 'FAIL_PROVISIONING' || spec.kind === 'LOSE_ENDPOINT')) {
    throw new CliError(`--operation goes with --kind HTTP_ERROR or LATENCY, not ${spec.kind}: that fault acts on the lifecycle, not on a request`, EXIT.usage);
  }
}

const errorCode = (v: string) => {
  if (!/^[A-Z][A-Z0-9_]{0,99}$/.test(v)) throw new InvalidArgumentError('expected an errorCode such as SERVICE_UNAVAILABLE (capitals, digits and _)');
  return v;
};
const statusFilter = (v: string) => {
  if (!/^[1-5](\d\d|xx)$/.test(v)) throw new InvalidArgumentError('expected a status (409) or a class (4xx)');
  return v;
};
const isoTime = (v: string) => {
  if (!/^\d{4}-\d\d-\d\d/.test(v) || Number.isNaN(Date.parse(v))) throw new InvalidArgumentError('expected an ISO 8601 time, e.g. 2026-12-01T06:00:00Z');
  return v;
};
const PROJECT = objectId('a project');
const word = (what: string) => (v: string) => {
  if (!/^[A-Za-z0-9_.:@-]{1,256}$/.test(v)) throw new InvalidArgumentError(`expected ${what}`);
  return v;
};
const httpMethod = (v: string) => {
  if (!/^[A-Za-z]{1,16}$/.test(v)) throw new InvalidArgumentError('expected an HTTP method, e.g. POST');
  return v.toUpperCase();
};
const pathFilter = (v: string) => {
  if (!v.startsWith('/')) throw new InvalidArgumentError("expected a path beginning with '/'");
  return v;
};
const headerFilter = (v: string, previous: [string, string][]) => {
  const m = /^([A-Za-z0-9_-]{1,128}):(.*)$/.exec(v);
  if (!m) throw new InvalidArgumentError("expected name:text, e.g. 'accept:2024-11-13'");
  return [...previous, [m[1]!.toLowerCase(), m[2]!.trim()] as [string, string]];
};
const bodyFilter = (v: string, previous: [string, string][]) => {
  const m = /^([A-Za-z0-9_.-]{1,128})=(.*)$/.exec(v);
  if (!m) throw new InvalidArgumentError('expected field=value, e.g. regionName=EU_WEST_1 (a dotted path for a nested field)');
  return [...previous, [m[1]!, m[2]!] as [string, string]];
};

export function runtimeCommands(program: Command): void {
  const endpoints = program.command('endpoints').description('the endpoints of every project, with their status and next transition');
  onControl(
    controlCommand(endpoints, 'list', 'list endpoints (the default)', { isDefault: true })
      .option('--group <groupId>', 'only this project', PROJECT)
      .addOption(new Option('--status <status>', 'only this status').choices(ENDPOINT_STATUSES))
      .addOption(new Option('--region <regionName>', 'only this region (e.g. US_EAST_1)').choices(AWS_REGIONS))
      .option('-w, --watch', 'redraw as statuses change, until interrupted')
      .option('--interval <seconds>', 'how often --watch looks', number('seconds'), 1),
    async (api, { out, opts }) => {
      const q = new URLSearchParams();
      if (opts.group) q.set('groupId', opts.group);
      if (opts.status) q.set('status', opts.status);
      if (opts.region) q.set('regionName', opts.region);
      const path = `/_snaplink/endpoints?${q}`;
      if (opts.watch) return watchEndpoints(api, out, path, Math.max(100, opts.interval * 1000), process.stdout.isTTY === true);
      show(out, await api.call<EndpointList>('GET', path, undefined, ENDPOINTS), (v) => endpointTable(out, v));
    },
  );
  onControl(controlCommand(endpoints, 'get', 'one endpoint: its fields and the statuses it entered').argument('<endpointId>', 'the endpoint', objectId('an endpoint')), async (api, { out }, id) => {
    const e = await api.call<EndpointRow & { clock: string }>('GET', `/_snaplink/endpoints/${id}`, undefined, { id: 'string', status: 'string', clock: 'string' });
    if (!out.human) return show(out, e, () => '');
    const { results } = await api.call<{ results: HistoryEntry[] }>('GET', `/_snaplink/endpoints/${id}/history`, undefined, LIST);
    out.write(describeEndpoint(out, e, results));
  });

  onControl(controlCommand(program, 'history', 'every status an endpoint entered, when, on which node and why').argument('<endpointId>', 'the endpoint', objectId('an endpoint')), async (api, { out }, id) =>
    show(out, await api.call<{ results: HistoryEntry[] }>('GET', `/_snaplink/endpoints/${id}/history`, undefined, LIST), (v) => historyTable(out, v.results)),
  );

  const requests = program.command('requests').description('the request journal: what clients asked and what they were answered');
  /** The journal's filters as flags (GET /_snaplink/requests and /count take the same). */
  const journalFilters = (c: Command) =>
    c
      .option('--method <method>', 'only this HTTP method', httpMethod)
      .option('--path <path>', "only paths beginning with this, or matching it where * stands for anything (e.g. '/api/atlas/v2/groups/*/privateEndpoints*')", pathFilter)
      .option('--group <groupId>', 'only this project', PROJECT)
      .addOption(new Option('--operation <operation>', 'only this operation').choices(JOURNAL_OPERATIONS))
      .option('--status <status>', 'only this status (409) or class (4xx)', statusFilter)
      .option('--error-code <code>', 'only answers with this errorCode', errorCode)
      .option('--principal <who>', 'only this credential (a public key or client id), authenticated or only claimed', word('a public key or client id'))
      .option('--endpoint <endpointId>', 'only requests about this endpoint', objectId('an endpoint'))
      .option('--fault <faultId>', 'only answers this injected fault made or slowed', objectId('a fault'))
      .addOption(new Option('--challenges <which>', 'Digest challenges: only them (only), none of them (none), or both (all)').choices(['all', 'only', 'none']).default('all'))
      .option('--header <name:text>', "only requests whose header contains the text (repeatable), e.g. 'accept:2024-11-13'", headerFilter, [])
      .option('--body <field=value>', 'only requests whose JSON body has this field value (repeatable), e.g. regionName=EU_WEST_1', bodyFilter, [])
      .option('--text <text>', 'only requests with this text in their path, ids, credentials or error')
      .option('--since <time>', 'only requests since this ISO 8601 time', isoTime)
      .option('--until <time>', 'only requests before this ISO 8601 time', isoTime);
  const journalQuery = (opts: Record<string, unknown>) => {
    const q = new URLSearchParams();
    const one: [string, unknown][] = [
      ['method', opts.method],
      ['path', opts.path],
      ['groupId', opts.group],
      ['operation', opts.operation],
      ['status', opts.status],
      ['errorCode', opts.errorCode],
      ['principal', opts.principal],
      ['endpointId', opts.endpoint],
      ['faultId', opts.fault],
      ['challenge', opts.challenges === 'only' ? 'true' : opts.challenges === 'none' ? 'false' : undefined],
      ['q', opts.text],
      ['since', opts.since],
      ['until', opts.until],
    ];
    for (const [name, value] of one) if (value !== undefined) q.set(name, String(value));
    for (const [name, text] of opts.header as [string, string][]) q.append(`header.${name}`, text);
    for (const [field, value] of opts.body as [string, string][]) q.append(`body.${field}`, value);
    return q;
  };
  onControl(
    journalFilters(controlCommand(requests, 'list', 'the newest requests (the default); with --expect, whether as many matched', { isDefault: true }))
      .option('--limit <n>', 'at most this many', int(1, 1000), 100)
      .option('--expect <n>', 'exit 4 unless exactly this many requests match (a CI step that verifies what a pipeline sent)', int(0, Number.MAX_SAFE_INTEGER))
      .option('--expect-at-least <n>', 'exit 4 unless at least this many match', int(0, Number.MAX_SAFE_INTEGER))
      .option('--expect-at-most <n>', 'exit 4 unless at most this many match', int(0, Number.MAX_SAFE_INTEGER)),
    async (api, { out, opts }) => {
      const q = journalQuery(opts);
      const { expect, expectAtLeast: atLeast, expectAtMost: atMost } = opts as { expect?: number; expectAtLeast?: number; expectAtMost?: number };
      if (expect === undefined && atLeast === undefined && atMost === undefined) {
        q.set('limit', String(opts.limit));
        show(out, await api.call<{ results: JournalEntry[]; totalCount: number }>('GET', `/_snaplink/requests?${q}`, undefined, LIST), (v) => journalTable(out, v.results, v.totalCount));
        return;
      }
      const { count } = await api.call<{ count: number }>('GET', `/_snaplink/requests/count?${q}`, undefined, { count: 'number' });
      const wanted = [expect !== undefined && `exactly ${expect}`, atLeast !== undefined && `at least ${atLeast}`, atMost !== undefined && `at most ${atMost}`].filter(Boolean).join(' and ');
      const held = (expect === undefined || count === expect) && (atLeast === undefined || count >= atLeast) && (atMost === undefined || count <= atMost);
      show(out, { count, expected: wanted, held }, () => `${count} request(s) matched; expected ${wanted}: ${held ? 'yes' : 'NO'}`);
      if (!held) throw new CliError(`${count} request(s) matched, expected ${wanted}`, EXIT.unmet);
    },
  );
  onControl(controlCommand(requests, 'get', 'one request: what was sent and what was answered, headers and bodies').argument('<id>', 'its id in the journal', int(1, Number.MAX_SAFE_INTEGER)), async (api, { out }, id: number) =>
    show(out, await api.call<JournalDetail>('GET', `/_snaplink/requests/${id}`, undefined, { id: 'number', method: 'string', path: 'string', status: 'number' }), (d) => describeRequest(out, d)),
  );
  onControl(controlCommand(requests, 'clear', 'empty the journal'), async (api, { out }) =>
    show(out, await api.call<{ deletedRequests: number }>('DELETE', '/_snaplink/requests', undefined, { deletedRequests: 'number' }), (r) => `Cleared ${r.deletedRequests} request(s) from the journal.`),
  );

  const faults = program.command('faults').description('inject faults into a running server');
  onControl(
    controlCommand(faults, 'add', 'add a fault')
      .addOption(new Option('--kind <kind>', 'what the fault does').choices(FAULT_KINDS).makeOptionMandatory())
      .option('--group <groupId>', 'only in this project', PROJECT)
      .addOption(new Option('--region <regionName>', 'only for this region (e.g. US_EAST_1)').choices(AWS_REGIONS))
      .addOption(new Option('--operation <operation>', 'only for this operation (HTTP_ERROR, LATENCY)').choices(OPERATIONS))
      .option('--count <n>', 'fire this many times, then stop', int(1, Number.MAX_SAFE_INTEGER))
      .option('--probability <p>', 'fire with this chance (0 to 1) on each match', between(0, 1, 'probability'))
      .option('--seed <n>', 'seed of the probability sequence (reproducible firings)', int(0, 2 ** 31 - 1))
      .option('--message <text>', 'FAIL_PROVISIONING: the errorMessage')
      .option('--status <code>', 'HTTP_ERROR (needed): the HTTP status', int(400, 599))
      .option('--error-code <code>', 'HTTP_ERROR (needed): the errorCode', errorCode)
      .option('--detail <text>', 'HTTP_ERROR: the detail')
      .option('--latency-ms <ms>', 'LATENCY (needed): added milliseconds', int(1, 600_000))
      .option('--after-seconds <s>', 'LOSE_ENDPOINT: how long after becoming ACTIVE', between(0, 86_400, 'seconds')),
    async (api, { out, opts }) => {
      const spec = {
        kind: opts.kind,
        groupId: opts.group,
        regionName: opts.region,
        operation: opts.operation,
        count: opts.count,
        probability: opts.probability,
        seed: opts.seed,
        message: opts.message,
        status: opts.status,
        errorCode: opts.errorCode,
        detail: opts.detail,
        latencyMs: opts.latencyMs,
        afterSeconds: opts.afterSeconds,
      };
      const body = Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as FaultSpec;
      checkFault(body);
      const fault = await api.call<Fault>('POST', '/_snaplink/faults', body, FAULT);
      show(out, fault, (f) => `Added fault ${f.id}.\n\n${table(out, FAULT_COLUMNS, [f], '')}`);
    },
  );
  onControl(controlCommand(faults, 'list', 'list faults with how often each matched and fired'), async (api, { out }) =>
    show(out, await api.call<{ results: Fault[] }>('GET', '/_snaplink/faults', undefined, LIST), (v) => table(out, FAULT_COLUMNS, v.results, 'No faults.')),
  );
  onControl(controlCommand(faults, 'remove', 'remove a fault').argument('<id>', 'the fault', objectId('a fault')), async (api, { out }, id) => {
    await api.call('DELETE', `/_snaplink/faults/${id}`);
    // Nothing was printed here before tables: scripts read the exit code.
    if (out.human) out.write(`Removed fault ${id}.`);
  });

  const clock = program.command('clock').description('the lifecycle’s virtual clock');
  onControl(controlCommand(clock, 'advance', 'fast-forward every pending transition').argument('<seconds>', 'how far', number('seconds')), async (api, { out }, seconds) => {
    const view = await api.call<ClockView>('POST', '/_snaplink/clock/advance', { seconds }, CLOCK);
    show(out, view, (c) => fields(clockFields(c)));
  });
  onControl(controlCommand(clock, 'show', 'the clock’s offset and current time'), async (api, { out }) =>
    show(out, await api.call<ClockView>('GET', '/_snaplink/clock', undefined, CLOCK), (c) => fields(clockFields(c))),
  );

  onControl(controlCommand(program, 'reset', 'delete every endpoint and fault, reset the clock, lift every lockout (identities stay)'), async (api, { out }) =>
    show(out, await api.call<{ deletedEndpoints: number; deletedFaults: number; deletedRequests: number }>('POST', '/_snaplink/reset', undefined, RESET), (r) =>
      `Reset: ${r.deletedEndpoints} endpoint(s), ${r.deletedFaults} fault(s) and ${r.deletedRequests} journal entries deleted, the clock back on real time, every lockout lifted.`,
    ),
  );

  onControl(controlCommand(program, 'status', 'the server’s version, store, endpoints by status, faults, clock and readiness'), async (api, { out }) =>
    show(out, await api.call<Status>('GET', '/_snaplink/status', undefined, STATUS), (s) => statusScreen(out, api.url, s)),
  );
}
