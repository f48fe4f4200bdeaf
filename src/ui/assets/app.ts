// The dashboard: plain DOM, no framework. The admin token stays in sessionStorage (this tab
// only) and goes in a header on each control API call. Changes arrive on the event stream
// (/_snaplink/events, opened with a short-lived ticket, since EventSource sends no headers);
// each event makes the page fetch only what changed — for the journal, only the entries newer
// than those shown. If the stream drops, the page checks every few seconds and keeps trying to
// reopen it; while the tab is hidden it does neither. Parts are redrawn only when what they
// show changed, keeping the keyboard focus where it was.

const TOKEN_KEY = 'snaplink.adminToken';
const GONE_KEY = 'snaplink.goneEndpoints';
/** Entries fetched at a time: the first page, and each "load more". */
const PAGE = 50;
/** Entries kept on the page as new ones arrive (older ones come back with "load more"). */
const MAX_ROWS = 500;
/** While the stream is down: how often the page checks, and how soon it tries the stream again (doubling up to a cap). */
const POLL_MS = 3000;
const RECONNECT_MS = [2000, 30_000] as const;
/** A stream that has not said hello by then is taken for down (a proxy holding it back, say). */
const HELLO_MS = 5000;

interface Org { id: string; name: string }
interface Project { id: string; orgId: string; name: string }
interface Endpoint { id: string; groupId: string; regionName: string; status: string; privateEndpointConnectionName?: string; errorMessage?: string; dueAt: string | null }
interface Fault {
  id: string; kind: string; groupId?: string; regionName?: string; operation?: string; remaining?: number; probability?: number;
  matched: number; fired: number; message?: string; status?: number; errorCode?: string; latencyMs?: number; afterSeconds?: number;
}
interface Clock { offsetSeconds: number; now: string }
interface Status { version: string; node: string; store: string; readiness: string }
interface JournalEntry {
  id: number; at: string; method: string; path: string; groupId: string | null; operation: string; principal: string | null; claimed: string | null;
  status: number; errorCode: string | null; errorDetail: string | null; durationMs: number; requestId: string; node: string;
  challenge: boolean; faultId: string | null; endpointId: string | null;
}
interface JournalPage { results: JournalEntry[]; totalCount: number; next?: number }
interface KeptBody { text: string; bytes: number; truncated?: true; redacted?: true }
interface Exchange { headers: [string, string][]; body: KeptBody | null }
interface JournalDetail extends JournalEntry { request: Exchange | null; response: Exchange | null; related: { challengeOf?: number; answeredBy?: number } }
interface HistoryEntry { from: string | null; status: string; at: string; wallAt: string; node: string; reason: string }
/** An endpoint this tab saw that is no longer listed, as it was last seen. */
interface Gone extends Endpoint { goneAt: string }

class Refused extends Error {}
/** A 4xx/5xx from the control API, with what it named. */
class ApiFailure extends Error {
  constructor(readonly status: number, readonly errorCode: string, readonly parameters: string[], message: string) {
    super(message);
  }
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** A control API call; a 401 means the token is wrong: forget it and ask again. */
async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${token()}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401) throw new Refused();
  const text = await res.text();
  let parsed: { errorCode?: string; detail?: string; parameters?: unknown[] } | undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) throw new ApiFailure(res.status, parsed?.errorCode ?? '', (parsed?.parameters ?? []).map(String), `${res.status} ${parsed?.errorCode ?? ''}: ${parsed?.detail ?? text}`);
  return parsed as T;
}

/** What to do with an error of a background refresh: a refused token signs out; anything else is said in `where`. */
function failed(err: unknown, where = 'server'): void {
  if (err instanceof Refused) return signIn('The admin token was refused (401). Enter the one the server was started with.');
  const message = err instanceof Error ? err.message : String(err);
  if (where === 'server') {
    $('server').textContent = `Cannot reach snaplink: ${message}`;
    drawn.delete('server');
  } else $(where).textContent = message;
}

// ——— time, for people ———

function duration(ms: number): string {
  let s = Math.max(0, Math.round(Math.abs(ms) / 1000));
  const parts: string[] = [];
  for (const [name, size] of [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (s >= size || (name === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(s / size)}${name}`);
      s %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}
const localTime = (iso: string | number) => new Date(iso).toLocaleString();
const bytes = (n: number) => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

// ——— redrawing without losing focus ———

const drawn = new Map<string, string>();
/** Replaces `el`'s content when `html` differs from what it shows; the focused control keeps focus. */
function draw(el: HTMLElement, html: string): void {
  if (drawn.get(el.id) === html) return;
  drawn.set(el.id, html);
  const focused = document.activeElement instanceof HTMLElement && el.contains(document.activeElement) ? document.activeElement.id : '';
  el.innerHTML = html;
  if (focused) document.getElementById(focused)?.focus();
}

interface Cell { html: string; cls?: string }
interface Row { cells: Cell[]; attrs?: string }
const cell = (v: unknown, cls?: string): Cell => ({ html: esc(v), cls });
const statusCell = (s: string): Cell => ({ html: `<span class="status s-${esc(s)}">${esc(s)}</span>` });

/** A table; on a phone each row becomes a card whose cells say their column (data-label). */
function table(headers: string[], rows: Row[], caption: string, empty: string, cls = ''): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  const body = rows
    .map((r) => `<tr${r.attrs ?? ''}>${r.cells.map((c, i) => `<td${c.cls ? ` class="${c.cls}"` : ''}${headers[i] ? ` data-label="${esc(headers[i])}"` : ''}>${c.html}</td>`).join('')}</tr>`)
    .join('');
  return `<div class="scroll" role="region" aria-label="${esc(caption)}" tabindex="0"><table class="cards ${cls}"><caption class="visually-hidden">${esc(caption)}</caption><thead><tr>${headers
    .map((h) => `<th scope="col">${h ? esc(h) : '<span class="visually-hidden">Actions</span>'}</th>`)
    .join('')}</tr></thead><tbody>${body}</tbody></table></div>`;
}

const button = (label: string, data: Record<string, string | number>, extra = '', shown = esc(label)) =>
  `<button type="button" class="link"${Object.entries(data)
    .map(([k, v]) => ` data-${k}="${esc(v)}"`)
    .join('')}${extra}>${shown}</button>`;
/** A path that wraps after its slashes, not inside a word. */
const breakablePath = (path: string) => esc(path).replace(/\//g, '/<wbr>');

// ——— tabs, and the address that names one (#requests, #endpoints/<id>, #faults/<id>) ———

const TABS = ['endpoints', 'requests', 'faults', 'clock'] as const;
type Tab = (typeof TABS)[number];

function selectTab(tab: Tab, focusTab = false): void {
  for (const t of TABS) {
    const selected = t === tab;
    const el = $(`tab-${t}`);
    el.setAttribute('aria-selected', String(selected));
    el.tabIndex = selected ? 0 : -1;
    $(t).hidden = !selected;
  }
  if (focusTab) $(`tab-${tab}`).focus();
}

/** Shows `hash` at once, as a new history entry (Back returns); hashchange covers Back, Forward and typed addresses. */
function go(hash: string): void {
  if (location.hash !== hash) history.pushState(null, '', hash);
  route();
}

/** Shows what the address names. */
function route(): void {
  const m = /^#(endpoints|requests|faults|clock)(?:\/(.+))?$/.exec(location.hash);
  const tab = (m?.[1] ?? 'endpoints') as Tab;
  selectTab(tab);
  const target = m?.[2] ? decodeURIComponent(m[2]) : undefined;
  if (tab === 'endpoints') markEndpoint(target);
  else targetEndpoint = undefined;
  if (tab === 'faults' && target) mark(`fault-${target}`);
}

/** Highlights the row `id`, brings it into view and moves focus to its first control. */
function mark(id: string): boolean {
  for (const el of document.querySelectorAll('tr.target')) el.classList.remove('target');
  const row = document.getElementById(id);
  if (!row) return false;
  row.classList.add('target');
  row.scrollIntoView({ block: 'center' });
  row.querySelector<HTMLElement>('button')?.focus();
  return true;
}

// ——— endpoints, by organization and project; and the ones that went ———

let orgs: Org[] = [];
let projects: Project[] = [];
let endpoints: Endpoint[] = [];
let endpointsLoaded = false;
const gone = new Map<string, Gone>(JSON.parse(sessionStorage.getItem(GONE_KEY) ?? '[]') as [string, Gone][]);
let targetEndpoint: string | undefined;
/** The address named an endpoint before the list arrived: marked when it does. */
let markPending = false;

const projectName = (id: string | null) => projects.find((p) => p.id === id)?.name;

async function refreshProjects(): Promise<void> {
  const [o, p] = await Promise.all([api<{ results: Org[] }>('GET', '/_snaplink/orgs'), api<{ results: Project[] }>('GET', '/_snaplink/projects')]);
  orgs = o.results;
  projects = p.results;
  drawTree();
}

async function refreshEndpoints(): Promise<void> {
  const list = await api<{ results: Endpoint[] }>('GET', '/_snaplink/endpoints');
  if (list.results.some((e) => !projects.some((p) => p.id === e.groupId))) await refreshProjects();
  const now = new Date().toISOString();
  const listed = new Set(list.results.map((e) => e.id));
  // What was listed before and is not now has gone: kept as it was last seen.
  if (endpointsLoaded) for (const e of endpoints) if (!listed.has(e.id)) gone.set(e.id, { ...e, goneAt: now });
  for (const id of listed) gone.delete(id);
  sessionStorage.setItem(GONE_KEY, JSON.stringify([...gone].slice(-100)));
  announceChanges(list.results);
  endpoints = list.results;
  endpointsLoaded = true;
  drawTree();
  drawGone();
  if (markPending) markEndpoint(targetEndpoint);
}

const lastStatus = new Map<string, string>();
/** Tells screen readers which endpoints changed status. */
function announceChanges(list: Endpoint[]): void {
  const changes = list.filter((e) => lastStatus.has(e.id) && lastStatus.get(e.id) !== e.status).map((e) => `Endpoint ${e.id} (${e.regionName}) is now ${e.status}.`);
  lastStatus.clear();
  for (const e of list) lastStatus.set(e.id, e.status);
  if (changes.length) $('announce').textContent = changes.join(' ');
}

function endpointActions(id: string, history: boolean): Cell {
  return {
    html: `${history ? `${button('History', { history: id }, ` id="history-${esc(id)}"`)} ` : ''}${button('Requests', { 'requests-of': id }, ` id="requests-of-${esc(id)}" aria-label="Requests about ${esc(id)}"`)}`,
    cls: 'actions',
  };
}

function drawTree(): void {
  const now = clockNow();
  const next = (e: Endpoint) => (e.dueAt === null ? '-' : Date.parse(e.dueAt) <= now ? 'due now' : `in ${duration(Date.parse(e.dueAt) - now)}`);
  const html = orgs
    .map((o) => {
      const body = projects
        .filter((p) => p.orgId === o.id)
        .map((p) => {
          const rows = endpoints
            .filter((e) => e.groupId === p.id)
            .map((e) => ({
              attrs: ` id="ep-${esc(e.id)}"${e.id === targetEndpoint ? ' class="target"' : ''}`,
              cells: [cell(e.id, 'mono'), cell(e.regionName), statusCell(e.status), cell(e.privateEndpointConnectionName ?? '-', 'mono'), cell(next(e)), cell(e.errorMessage ?? '', 'full'), endpointActions(e.id, true)],
            }));
          return `<section class="project" aria-label="Project ${esc(p.name)}"><h4>${esc(p.name)} <span class="mono dim">${esc(p.id)}</span></h4>${table(
            ['ID', 'Region', 'Status', 'Connection', 'Next', 'Message', ''],
            rows,
            `Endpoints of project ${p.name}`,
            'No endpoints.',
          )}</section>`;
        })
        .join('');
      return `<section class="org" aria-label="Organization ${esc(o.name)}"><h3>${esc(o.name)} <span class="mono dim">${esc(o.id)}</span></h3>${body || '<p class="empty">No projects.</p>'}</section>`;
    })
    .join('');
  draw($('tree'), html || '<p class="empty">No organizations.</p>');
  $('count-endpoints').textContent = endpointsLoaded ? String(endpoints.length) : '';
}

function drawGone(): void {
  const rows = [...gone.values()].reverse().map((e) => ({
    attrs: ` id="ep-${esc(e.id)}" class="gone${e.id === targetEndpoint ? ' target' : ''}"`,
    cells: [cell(e.id, 'mono'), cell(projectName(e.groupId) ?? e.groupId), cell(e.regionName), statusCell(e.status), cell(localTime(e.goneAt)), endpointActions(e.id, false)],
  }));
  $('gone-section').hidden = rows.length === 0;
  draw($('gone'), table(['ID', 'Project', 'Region', 'Last seen', 'Noticed gone', ''], rows, 'Recently gone endpoints', 'None.'));
}

/** The endpoint an address names: its row marked, or a note that it is not there. */
function markEndpoint(id: string | undefined): void {
  targetEndpoint = id;
  if (!id) return draw($('endpoint-note'), '');
  markPending = !endpointsLoaded;
  if (markPending) return;
  const found = mark(`ep-${id}`);
  draw(
    $('endpoint-note'),
    found ? '' : `Endpoint <span class="mono">${esc(id)}</span> is not there: it was deleted, or is from before a reset. ${button('Its requests', { 'requests-of': id }, ' id="note-requests"')}`,
  );
}

// ——— faults ———

function faultEffect(f: Fault): string {
  if (f.kind === 'HTTP_ERROR') return `${f.status} ${f.errorCode}`;
  if (f.kind === 'LATENCY') return `+${f.latencyMs} ms`;
  if (f.kind === 'LOSE_ENDPOINT') return f.afterSeconds ? `after ${duration(f.afterSeconds * 1000)} ACTIVE` : 'once ACTIVE';
  return f.message ?? 'default message';
}

async function refreshFaults(): Promise<void> {
  const faults = (await api<{ results: Fault[] }>('GET', '/_snaplink/faults')).results;
  const rows = faults.map((f) => ({
    attrs: ` id="fault-${esc(f.id)}"`,
    cells: [
      cell(f.id, 'mono'),
      cell(f.kind),
      cell([f.groupId && `project ${f.groupId}`, f.regionName, f.operation].filter(Boolean).join(', ') || 'everything'),
      cell(faultEffect(f)),
      cell(f.remaining ?? 'unlimited'),
      cell(f.probability ?? 1),
      cell(f.matched),
      cell(f.fired),
      {
        html: `${button('Requests', { 'fault-requests': f.id }, ` id="fault-requests-${esc(f.id)}" aria-label="Requests answered by fault ${esc(f.id)}"`)} ${button('Remove', { remove: f.id }, ` id="remove-${esc(f.id)}" aria-label="Remove fault ${esc(f.id)}"`)}`,
        cls: 'actions',
      },
    ],
  }));
  draw($('fault-list'), table(['ID', 'Kind', 'Matches', 'Effect', 'Left', 'Probability', 'Matched', 'Fired', ''], rows, 'Faults', 'No faults.'));
  $('count-faults').textContent = String(faults.filter((f) => f.remaining !== 0).length);
}

// ——— the lifecycle clock: told by the server, ticked here between its changes ———

let clock = { offsetSeconds: 0, now: Date.now(), at: performance.now() };
const clockNow = () => clock.now + (performance.now() - clock.at);

function setClock(c: Clock): void {
  const reset = c.offsetSeconds < clock.offsetSeconds;
  clock = { offsetSeconds: c.offsetSeconds, now: Date.parse(c.now), at: performance.now() };
  drawClock();
  // A reset sets the clock back and empties the journal; the stream has no word for the latter.
  if (reset) void journalFromScratch();
}

async function refreshClock(): Promise<void> {
  setClock(await api<Clock>('GET', '/_snaplink/clock'));
}

function drawClock(): void {
  const offset = clock.offsetSeconds === 0 ? 'real time' : `${duration(clock.offsetSeconds * 1000)} ahead of real time`;
  draw($('clock-now'), `Lifecycle time <strong id="clock-value">${esc(localTime(clockNow()))}</strong>, <span id="clock-offset">${esc(offset)}</span>.`);
  $('clock-short').textContent = clock.offsetSeconds === 0 ? '' : `+${duration(clock.offsetSeconds * 1000)}`;
}

async function refreshStatus(): Promise<void> {
  const status = await api<Status>('GET', '/_snaplink/status');
  draw($('server'), `snaplink ${esc(status.version)} · ${esc(status.store)} · <span class="status s-${esc(status.readiness)}">${esc(status.readiness)}</span>`);
}

// ——— the request journal ———

/** Each filter field, and what its value must look like (the server checks too; these say so where it is typed). */
const objectId = (what: string) => (v: string) => (/^[0-9a-f]{24}$/.test(v) ? undefined : `${what} is 24 hexadecimal digits, e.g. 6650f0c0a1b2c3d4e5f60101.`);
const FILTERS: Record<string, ((v: string) => string | undefined) | undefined> = {
  q: undefined,
  method: undefined,
  status: (v) => (/^([1-5]xx|[1-5][0-9][0-9])$/i.test(v) ? undefined : 'A status (409) or a class (4xx).'),
  errorCode: (v) => (/^[A-Za-z0-9_]+$/.test(v) ? undefined : 'An error code: letters, digits and _, e.g. RESOURCE_NOT_FOUND.'),
  operation: undefined,
  path: (v) => (v.startsWith('/') ? undefined : 'A path beginning with / (a prefix, or a pattern with *).'),
  groupId: objectId('A project id'),
  endpointId: objectId('An endpoint id'),
  principal: undefined,
  faultId: objectId('A fault id'),
};
/** Values the server refused (a 400 naming the filter), with why: not sent again until changed. */
const refused = new Map<string, { value: string; why: string }>();

const field = (name: string) => $<HTMLInputElement>(`f-${name}`);

/** The filters as typed, checked: the valid ones as a query; an invalid one is said under its field and left out. */
function filters(): URLSearchParams {
  const q = new URLSearchParams();
  for (const [name, check] of Object.entries(FILTERS)) {
    const el = field(name);
    const value = el.value.trim();
    const serverSaid = refused.get(name);
    const problem = value === '' ? undefined : (check?.(value) ?? (serverSaid?.value === value ? serverSaid.why : undefined));
    el.setAttribute('aria-invalid', String(problem !== undefined));
    const error = document.getElementById(`f-${name}-error`);
    if (error) error.textContent = problem === undefined ? '' : `${problem} Not applied until it is.`;
    if (problem === undefined && value !== '') q.set(name, value);
  }
  return q;
}

const showChallenges = () => $<HTMLInputElement>('show-challenges').checked;

const journal = {
  rows: [] as JournalEntry[],
  ids: new Set<number>(),
  /** Every entry the filters match (challenges left out while they are hidden). */
  total: 0,
  /** Challenges matching the filters, while they are hidden. */
  hidden: 0,
  next: undefined as number | undefined,
  /** The newest journal id this page has accounted for: what is newer is asked with `after`. */
  cursor: 0,
  /** The newest id the stream has told of. */
  told: 0,
  /** Bumped by each fetch from scratch: answers to an older one are dropped. */
  generation: 0,
  loaded: false,
};

/** The query for the rows shown: the filters, and challenges left out unless asked for. */
function rowQuery(base: URLSearchParams): URLSearchParams {
  const q = new URLSearchParams(base);
  if (!showChallenges()) q.set('challenge', 'false');
  return q;
}

async function hiddenChallenges(base: URLSearchParams): Promise<number> {
  if (showChallenges()) return 0;
  const q = new URLSearchParams(base);
  q.set('challenge', 'true');
  return (await api<{ count: number }>('GET', `/_snaplink/requests/count?${q}`)).count;
}

/** What the journal query's failure means: a filter the server refused is marked where it is typed, and the rest asked again. */
function journalFailed(err: unknown): void {
  if (err instanceof ApiFailure && err.errorCode === 'INVALID_QUERY_PARAMETER' && err.parameters.some((p) => p in FILTERS)) {
    for (const name of err.parameters.filter((p) => p in FILTERS)) refused.set(name, { value: field(name).value.trim(), why: err.message.replace(/^400 INVALID_QUERY_PARAMETER: /, '') });
    void journalFromScratch();
    return;
  }
  failed(err, 'journal-error');
}

/** From-scratch fetches in flight; and whether newer entries were asked for meanwhile (fetched after them). */
let scratching = 0;
let newerWanted = false;

/** The first page of what the filters match, from scratch. */
async function journalFromScratch(): Promise<void> {
  const generation = ++journal.generation;
  const base = filters();
  const told = journal.told;
  scratching++;
  try {
    const [page, hidden] = await Promise.all([api<JournalPage>('GET', `/_snaplink/requests?${rowQuery(base)}&limit=${PAGE}`), hiddenChallenges(base)]);
    if (generation !== journal.generation) return;
    journal.rows = page.results;
    journal.ids = new Set(page.results.map((r) => r.id));
    journal.total = page.totalCount;
    journal.hidden = hidden;
    journal.next = page.next;
    journal.cursor = Math.max(told, page.results[0]?.id ?? 0);
    journal.loaded = true;
    $('journal-error').textContent = '';
    drawJournal();
  } catch (err) {
    if (generation === journal.generation) journalFailed(err);
  } finally {
    if (--scratching === 0 && newerWanted) {
      newerWanted = false;
      journalNewer();
    }
  }
}

let newer: Promise<void> | undefined;
let newerAgain = false;
/** Adds what is newer than the rows shown (one `after` query), however many events asked for it meanwhile. */
function journalNewer(): void {
  // Until a first page is in, "newer" has no meaning: asked again once it is.
  if (scratching > 0 || !journal.loaded) {
    newerWanted = true;
    return;
  }
  if (newer) {
    newerAgain = true;
    return;
  }
  newer = (async () => {
    const generation = journal.generation;
    const base = filters();
    const told = journal.told;
    const q = rowQuery(base);
    q.set('after', String(journal.cursor));
    const [page, hidden] = await Promise.all([api<JournalPage>('GET', `/_snaplink/requests?${q}&limit=${MAX_ROWS}`), hiddenChallenges(base)]);
    // A fetch from scratch began meanwhile: it has these, and asks for what is newer when done.
    if (generation !== journal.generation) return;
    // More new ones than a page holds: start over rather than leave a hole.
    if (page.totalCount > page.results.length) return void journalFromScratch();
    const fresh = page.results.filter((r) => !journal.ids.has(r.id));
    for (const r of fresh) journal.ids.add(r.id);
    journal.rows = [...fresh, ...journal.rows];
    journal.total += fresh.length;
    journal.hidden = hidden;
    journal.cursor = Math.max(journal.cursor, told, page.results[0]?.id ?? 0);
    if (journal.rows.length > MAX_ROWS) {
      for (const r of journal.rows.splice(MAX_ROWS)) journal.ids.delete(r.id);
      journal.next = journal.rows[journal.rows.length - 1]!.id;
    }
    drawJournal();
  })()
    .catch(journalFailed)
    .finally(() => {
      newer = undefined;
      if (newerAgain) {
        newerAgain = false;
        journalNewer();
      }
    });
}

async function loadMore(): Promise<void> {
  if (journal.next === undefined) return;
  const generation = journal.generation;
  const q = rowQuery(filters());
  q.set('before', String(journal.next));
  try {
    const page = await api<JournalPage>('GET', `/_snaplink/requests?${q}&limit=${PAGE}`);
    if (generation !== journal.generation) return;
    journal.rows.push(...page.results.filter((r) => !journal.ids.has(r.id)));
    for (const r of page.results) journal.ids.add(r.id);
    journal.next = page.next;
    drawJournal();
    $('announce').textContent = `${page.results.length} more requests shown.`;
  } catch (err) {
    journalFailed(err);
  }
}

/** Who a request was: the credential that passed, the one a refused attempt claimed, or a challenge's nobody. */
function who(r: JournalEntry): string {
  if (r.challenge) return '<span class="dim">Digest challenge</span>';
  if (r.principal) return `<span class="mono">${esc(r.principal)}</span>`;
  if (r.claimed) return `<span class="mono">${esc(r.claimed)}</span><span class="badge refused">claimed, not accepted</span>`;
  return '-';
}

function statusBadges(r: JournalEntry): string {
  return `<span class="code c${String(r.status)[0]}">${r.status}</span>${r.challenge ? '<span class="badge">challenge</span>' : ''}${
    r.faultId ? `<span class="badge fault" title="Answered by fault ${esc(r.faultId)}">fault</span>` : ''
  }`;
}

function drawJournal(): void {
  const rows = journal.rows.map((r) => ({
    attrs: ` id="rq-${r.id}"${r.challenge ? ' class="challenge"' : ''}`,
    cells: [
      cell(r.method, 'lead'),
      { html: statusBadges(r), cls: 'lead' },
      cell(r.errorCode ?? '', 'lead'),
      { html: button(r.path, { request: r.id }, ` id="request-${r.id}"`, breakablePath(r.path)), cls: 'mono path' },
      { html: who(r), cls: 'who' },
      { html: `<time datetime="${esc(r.at)}" title="${esc(localTime(r.at))}">${esc(new Date(r.at).toLocaleTimeString())}</time>`, cls: 'time' },
      cell(r.durationMs.toFixed(1), 'ms'),
    ],
  }));
  draw($('journal-rows'), table(['Method', 'Status', 'Error code', 'Path', 'Who', 'Time', 'ms'], rows, 'Requests, newest first', 'No requests match.', 'journal'));
  const shown = `${journal.rows.length.toLocaleString()} of ${journal.total.toLocaleString()} ${journal.total === 1 ? 'request' : 'requests'}`;
  const hidden = journal.hidden > 0 ? ` · ${journal.hidden.toLocaleString()} Digest ${journal.hidden === 1 ? 'challenge' : 'challenges'} hidden` : '';
  draw($('journal-summary'), `<span id="journal-count">${esc(shown)}</span>${esc(hidden)}`);
  $('load-more').hidden = journal.next === undefined;
  $('count-requests').textContent = journal.total.toLocaleString();
}

/** Shows the requests about one endpoint (or answered by one fault): the filters set to just that. */
function requestsOf(name: 'endpointId' | 'faultId', id: string): void {
  clearFilters();
  field(name).value = id;
  $<HTMLDetailsElement>('more-filters').open = true;
  void journalFromScratch();
  go('#requests');
  // The button pressed is in a panel now hidden: the keyboard goes on from the journal.
  $('requests').focus();
}

function clearFilters(): void {
  for (const name of Object.keys(FILTERS)) field(name).value = '';
  refused.clear();
  $<HTMLDetailsElement>('more-filters').open = false;
}

// ——— a request's detail: what was sent, what was answered, side by side ———

function bodyView(b: KeptBody | null, what: string): string {
  if (!b) return `<p class="empty">No body.</p>`;
  let text = b.text;
  if (!b.truncated) {
    try {
      text = JSON.stringify(JSON.parse(b.text), null, 2);
    } catch {
      // Not JSON: as it came.
    }
  }
  const notes = [
    b.truncated ? `Cut: the first ${bytes(new TextEncoder().encode(b.text).length)} of ${bytes(b.bytes)} are kept.` : '',
    b.redacted ? 'Secrets in it were replaced by [redacted].' : '',
  ].filter(Boolean);
  return `${notes.map((n) => `<p class="note">${esc(n)}</p>`).join('')}<pre tabindex="0" aria-label="${esc(what)}">${esc(text)}</pre>`;
}

function headersView(headers: [string, string][], caption: string): string {
  if (headers.length === 0) return '<p class="empty">No headers.</p>';
  return `<table class="headers"><caption class="visually-hidden">${esc(caption)}</caption><tbody>${headers
    .map(([n, v]) => `<tr><td class="mono">${esc(n)}</td><td class="mono">${esc(v)}</td></tr>`)
    .join('')}</tbody></table>`;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/** Headers curl sets itself, or that say nothing about the request. */
const CURL_SKIPS = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'accept-encoding', 'authorization', 'cookie']);

/**
 * The request as a curl command, with its credentials as placeholders ($PUBLIC:$PRIVATE, $TOKEN…):
 * the journal holds no secret, and neither does this. `set`: the variables to set before running it.
 */
function curlOf(d: JournalDetail): { command: string; set: string[] } {
  const parts = [`curl${d.method === 'GET' ? '' : ` -X ${d.method}`} ${shellQuote(location.origin + d.path)}`];
  const set: string[] = [];
  const headers = d.request?.headers ?? [];
  const auth = headers.find(([n]) => n === 'authorization')?.[1] ?? '';
  if (/^digest\b/i.test(auth)) {
    parts.push('--digest -u "$PUBLIC:$PRIVATE"');
    set.push('PUBLIC', 'PRIVATE');
  } else if (/^basic\b/i.test(auth)) {
    parts.push('-u "$CLIENT_ID:$CLIENT_SECRET"');
    set.push('CLIENT_ID', 'CLIENT_SECRET');
  } else if (/^bearer\b/i.test(auth)) {
    parts.push('-H "Authorization: Bearer $TOKEN"');
    set.push('TOKEN');
  }
  for (const [name, value] of headers) {
    if (CURL_SKIPS.has(name)) continue;
    // A secret header's value was never kept: a placeholder named after it.
    if (value === '[redacted]') {
      const variable = name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
      parts.push(`-H "${name}: \$${variable}"`);
      set.push(variable);
    } else parts.push(`-H ${shellQuote(`${name}: ${value}`)}`);
  }
  if (d.request?.body) parts.push(`--data-raw ${shellQuote(d.request.body.text)}`);
  return { command: parts.join(' \\\n  '), set };
}

/** What the open dialog shows when it can change (an endpoint's history), to fetch again when it does. */
let detailRefresh: (() => Promise<void>) | undefined;
/** The control that opened the dialog: focus goes back to it (or to its redrawn self) on closing. */
let opener = '';
function openDetail(title: string, refresh: () => Promise<void>, changes = false): void {
  if (!$<HTMLDialogElement>('detail').open) opener = document.activeElement?.id ?? '';
  $('detail-title').textContent = title;
  draw($('detail-body'), '<p class="empty">Loading…</p>');
  detailRefresh = changes ? refresh : undefined;
  refresh().catch((err) => (err instanceof Refused ? failed(err) : draw($('detail-body'), `<p role="alert">${esc((err as Error).message)}</p>`)));
  const dialog = $<HTMLDialogElement>('detail');
  if (!dialog.open) dialog.showModal();
}

function showRequest(id: number): void {
  const summary = journal.rows.find((x) => x.id === id);
  openDetail(summary ? `${summary.method} ${summary.path}` : `Request ${id}`, async () => {
    let d: JournalDetail;
    try {
      d = await api<JournalDetail>('GET', `/_snaplink/requests/${id}`);
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 404) return draw($('detail-body'), '<p>This request is no longer in the journal (it was emptied, or the request is older than the journal keeps).</p>');
      throw err;
    }
    $('detail-title').textContent = `${d.method} ${d.path}`;
    const credential = d.principal
      ? `<span class="mono">${esc(d.principal)}</span>`
      : d.claimed
        ? `<span class="mono" id="claimed">${esc(d.claimed)}</span> <span class="badge refused">claimed, not accepted</span>`
        : 'none sent';
    const facts: [string, string][] = [
      ['Status', `${statusBadges(d)} ${esc(d.errorCode ?? '')}${d.errorDetail ? ` — ${esc(d.errorDetail)}` : ''}`],
      ['When', `${esc(localTime(d.at))} · ${esc(d.durationMs)} ms`],
      ['Operation', esc(d.operation)],
      ['Credential', credential],
    ];
    if (d.groupId) facts.push(['Project', `${esc(projectName(d.groupId) ?? '')} <span class="mono">${esc(d.groupId)}</span>`]);
    if (d.endpointId) {
      facts.push([
        d.operation === 'create' && d.status === 201 ? 'Created endpoint' : 'Endpoint',
        `<span class="mono">${esc(d.endpointId)}</span> ${button('Show the endpoint', { 'goto-endpoint': d.endpointId }, ' id="goto-endpoint"')} · ${button('Its requests', { 'requests-of': d.endpointId })}`,
      ]);
    }
    if (d.faultId) facts.push(['Fault', `This answer was made or delayed by fault <span class="mono">${esc(d.faultId)}</span> ${button('Show the fault', { 'goto-fault': d.faultId })}`]);
    if (d.challenge) facts.push(['Digest', `A challenge: the 401 that asks a client for credentials before its real request.${d.related.answeredBy ? ` Answered by ${button(`request ${d.related.answeredBy}`, { request: d.related.answeredBy })}.` : ''}`]);
    else if (d.related.challengeOf) facts.push(['Digest', `Sent after the challenge ${button(`request ${d.related.challengeOf}`, { request: d.related.challengeOf })}.`]);
    facts.push(['Request id', `<span class="mono">${esc(d.requestId)}</span>`], ['Node', `<span class="mono">${esc(d.node)}</span>`]);
    const side = (title: string, line: string, x: Exchange | null) =>
      `<section aria-labelledby="ex-${title}"><h3 id="ex-${title}">${title}</h3><p class="mono">${line}</p>${
        x ? `<h4>Headers</h4>${headersView(x.headers, `${title} headers`)}<h4>Body</h4>${bodyView(x.body, `${title} body`)}` : '<p class="empty">Not kept (an entry from before the journal kept headers and bodies).</p>'
      }</section>`;
    const curl = curlOf(d);
    const notes = [
      curl.set.length ? `<p class="hint">Its credentials are placeholders: set ${curl.set.map((v) => `<code>${v}</code>`).join(', ')} first.</p>` : '',
      d.request?.body?.redacted ? '<p class="note">Secrets in the body were replaced by [redacted]: put them back before running it.</p>' : '',
      d.request?.body?.truncated ? '<p class="note">The body was cut when it was kept: the command sends only what is left.</p>' : '',
    ].join('');
    draw(
      $('detail-body'),
      `<dl>${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>` +
        `<div class="exchange">${side('Request', `${esc(d.method)} ${esc(d.path)}`, d.request)}${side('Response', `${d.status}${d.errorCode ? ` ${esc(d.errorCode)}` : ''}`, d.response)}</div>` +
        `<div class="curl-head"><h3>As curl</h3><button type="button" id="copy-curl">Copy as curl</button></div>${notes}` +
        `<pre id="curl" tabindex="0" aria-label="The request as a curl command">${esc(curl.command)}</pre>`,
    );
  });
}

function showHistory(id: string): void {
  openDetail(`History of ${id}`, async () => {
    try {
      const h = await api<{ results: HistoryEntry[] }>('GET', `/_snaplink/endpoints/${encodeURIComponent(id)}/history`);
      draw(
        $('detail-body'),
        table(
          ['Status', 'Lifecycle time', 'Wall time', 'Node', 'Why'],
          h.results.map((x) => ({ cells: [statusCell(x.status), cell(localTime(x.at)), cell(localTime(x.wallAt)), cell(x.node, 'mono'), cell(x.reason, 'full')] })),
          `History of ${id}`,
          'No history.',
        ),
      );
    } catch (err) {
      if (err instanceof Refused) throw err;
      draw($('detail-body'), `<p>The endpoint is gone, and its history with it. ${button('Its requests', { 'requests-of': id })}</p>`);
    }
  }, true);
}

// ——— staying current: the event stream, polling while it is down, nothing while hidden ———

let source: EventSource | undefined;
let pollTimer: number | undefined;
let reconnectTimer: number | undefined;
let tickTimer: number | undefined;
let reconnectMs: number = RECONNECT_MS[0];
let running = false;

function setLive(state: 'live' | 'polling' | 'paused' | ''): void {
  const el = $('live');
  el.className = state;
  el.textContent = { live: 'Live', polling: `Reconnecting; checking every ${POLL_MS / 1000} s`, paused: 'Paused while the tab is hidden', '': '' }[state];
}

/** Runs `fn` once, a moment after the last of a burst of calls. */
function debounced(fn: () => Promise<void>, ms: number, where?: string): () => void {
  let timer: number | undefined;
  return () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => fn().catch((err) => failed(err, where)), ms);
  };
}
const endpointsChanged = debounced(async () => {
  await Promise.all([refreshEndpoints(), refreshStatus()]);
  // An endpoint's history, if it is open, moved on too.
  await detailRefresh?.();
}, 100);
const faultsChanged = debounced(refreshFaults, 100);
const projectsChanged = debounced(refreshProjects, 200);
const journalChanged = debounced(async () => journalNewer(), 150);
const PROJECT_OPERATIONS = new Set(['createGroup', 'updateGroup', 'deleteGroup']);

/**
 * Each part fetched afresh; the journal only from where it is (unless `fromScratch`). A part that
 * fails says so and leaves the others be. `polling`: only what changes often, every few seconds.
 */
async function refreshAll(fromScratch: boolean, polling = false): Promise<void> {
  const endpointsPart = polling ? refreshEndpoints() : refreshProjects().then(refreshEndpoints);
  const parts: Promise<void>[] = [endpointsPart, refreshFaults(), refreshClock()];
  if (!polling) parts.push(refreshStatus());
  if (fromScratch || !journal.loaded) parts.push(journalFromScratch());
  else journalNewer();
  for (const r of await Promise.allSettled(parts)) if (r.status === 'rejected') failed(r.reason);
}

async function connect(): Promise<void> {
  window.clearTimeout(reconnectTimer);
  if (!running || document.hidden || source) return;
  let ticket: string;
  try {
    ticket = (await api<{ ticket: string }>('POST', '/_snaplink/events/ticket')).ticket;
  } catch (err) {
    if (err instanceof Refused) return failed(err);
    return streamDown();
  }
  if (!running || document.hidden || source) return;
  const es = new EventSource(`/_snaplink/events?ticket=${encodeURIComponent(ticket)}`);
  source = es;
  const data = (e: Event) => JSON.parse((e as MessageEvent<string>).data);
  const down = () => {
    if (source !== es) return;
    es.close();
    source = undefined;
    streamDown();
  };
  const watchdog = window.setTimeout(down, HELLO_MS);
  es.addEventListener('hello', (e) => {
    const hello = data(e) as { journalNewestId: number; clock: Clock };
    window.clearTimeout(watchdog);
    reconnectMs = RECONNECT_MS[0];
    window.clearInterval(pollTimer);
    pollTimer = undefined;
    setLive('live');
    // What changed while the stream was not open: fetched once; an emptied journal from scratch.
    const emptied = hello.journalNewestId < journal.cursor;
    journal.told = Math.max(journal.told, hello.journalNewestId);
    void refreshAll(emptied);
  });
  es.addEventListener('request', (e) => {
    const r = data(e) as JournalEntry;
    journal.told = Math.max(journal.told, r.id);
    if (PROJECT_OPERATIONS.has(r.operation) && r.status < 400) projectsChanged();
    journalChanged();
  });
  es.addEventListener('requests-skipped', () => journalChanged());
  // Emptied (a reset, or a DELETE from anywhere): read again from scratch.
  es.addEventListener('requests-cleared', () => void refreshAll(true));
  es.addEventListener('endpoints', () => endpointsChanged());
  es.addEventListener('faults', () => faultsChanged());
  es.addEventListener('clock', (e) => setClock(data(e) as Clock));
  // A dropped stream: EventSource would come back with the same ticket, which may have expired; a new one is asked for.
  es.addEventListener('error', () => {
    window.clearTimeout(watchdog);
    down();
  });
}

function streamDown(): void {
  if (!running || document.hidden) return;
  setLive('polling');
  if (pollTimer === undefined) {
    // What the stream would have said since it dropped, at once; then every few seconds.
    void refreshAll(false);
    pollTimer = window.setInterval(() => void refreshAll(false, true), POLL_MS);
  }
  window.clearTimeout(reconnectTimer);
  reconnectTimer = window.setTimeout(() => void connect(), reconnectMs);
  reconnectMs = Math.min(reconnectMs * 2, RECONNECT_MS[1]);
}

/** Stops every timer and the stream (signing out, or the tab hidden). */
function pause(): void {
  source?.close();
  source = undefined;
  window.clearInterval(pollTimer);
  pollTimer = undefined;
  window.clearTimeout(reconnectTimer);
  window.clearInterval(tickTimer);
  tickTimer = undefined;
}

/** Resumes: the clock ticks here, and the stream's hello brings the page up to date. */
function resume(): void {
  tickTimer ??= window.setInterval(() => {
    drawClock();
    drawTree();
  }, 1000);
  void connect();
}

function signIn(message = ''): void {
  running = false;
  pause();
  setLive('');
  sessionStorage.removeItem(TOKEN_KEY);
  $('dashboard').hidden = true;
  $('sign-out').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $<HTMLInputElement>('token').focus();
}

function start(): void {
  running = true;
  $('login').hidden = true;
  $('dashboard').hidden = false;
  $('sign-out').hidden = false;
  drawn.clear();
  journal.loaded = false;
  route();
  // The stream's hello fetches everything; a hidden tab opened gets it once now.
  if (document.hidden) {
    setLive('paused');
    void refreshAll(true);
  } else resume();
}

// ——— wiring ———

/** Runs a form's action, showing its error (or clearing the last one) in `errorId`. */
function onSubmit(formId: string, errorId: string, act: (data: FormData, form: HTMLFormElement) => Promise<void>): void {
  const form = $<HTMLFormElement>(formId);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    $(errorId).textContent = '';
    act(new FormData(form), form).catch((err) => failed(err, errorId));
  });
}

const NUMBERS = new Set(['count', 'probability', 'seed', 'status', 'latencyMs', 'afterSeconds']);

function wire(): void {
  $<HTMLFormElement>('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = $<HTMLInputElement>('token').value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $<HTMLInputElement>('token').value = '';
    start();
  });
  $('sign-out').addEventListener('click', () => signIn());

  // Tabs: a click or Enter selects; arrow keys, Home and End move along them (the ARIA tabs pattern).
  $('tabs').addEventListener('click', (event) => {
    const tab = (event.target as HTMLElement).closest<HTMLElement>('[role="tab"]')?.dataset.tab;
    if (tab) go(`#${tab}`);
  });
  $('tabs').addEventListener('keydown', (event) => {
    const i = TABS.indexOf((document.activeElement as HTMLElement)?.dataset.tab as Tab);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[event.key];
    if (i < 0 || to === undefined) return;
    event.preventDefault();
    const tab = TABS[(to + TABS.length) % TABS.length]!;
    go(`#${tab}`);
    $(`tab-${tab}`).focus();
  });
  window.addEventListener('hashchange', route);

  onSubmit('fault-form', 'fault-error', async (data, form) => {
    const spec: Record<string, unknown> = {};
    for (const [k, v] of data) if (typeof v === 'string' && v.trim() !== '') spec[k] = NUMBERS.has(k) ? Number(v) : v.trim();
    const fault = await api<Fault>('POST', '/_snaplink/faults', spec);
    form.reset();
    $('announce').textContent = `Fault ${fault.id} added.`;
    await refreshFaults();
  });
  onSubmit('advance-form', 'clock-error', async (data) => {
    const c = await api<Clock>('POST', '/_snaplink/clock/advance', { seconds: Number(data.get('seconds')) });
    setClock(c);
    $('announce').textContent = `The clock is ${duration(c.offsetSeconds * 1000)} ahead.`;
  });

  // Filters apply as they are typed (a moment after the last key), each checked where it is typed.
  const filterForm = $<HTMLFormElement>('journal-filter');
  const typed = debounced(journalFromScratch, 250, 'journal-error');
  filterForm.addEventListener('input', (event) => {
    const name = (event.target as HTMLInputElement).name;
    if (refused.get(name)?.value !== field(name)?.value.trim()) refused.delete(name);
    if (event.target instanceof HTMLInputElement && event.target.type !== 'checkbox') typed();
    else void journalFromScratch();
  });
  filterForm.addEventListener('submit', (event) => event.preventDefault());
  $('clear-filters').addEventListener('click', () => {
    clearFilters();
    void journalFromScratch();
  });
  $('load-more').addEventListener('click', () => void loadMore());
  $('gone-clear').addEventListener('click', () => {
    gone.clear();
    sessionStorage.removeItem(GONE_KEY);
    drawGone();
  });

  $('reset').addEventListener('click', () => {
    if (!window.confirm('Reset: delete every endpoint and fault, set the clock back and empty the journal?')) return;
    api<{ deletedEndpoints: number; deletedFaults: number }>('POST', '/_snaplink/reset').then(
      (r) => {
        $('announce').textContent = `Reset: ${r.deletedEndpoints} endpoints and ${r.deletedFaults} faults deleted.`;
        void refreshAll(true);
      },
      (err) => failed(err, 'clock-error'),
    );
  });

  // Buttons drawn into the page are handled here, by what they carry.
  document.addEventListener('click', (event) => {
    const target = (event.target as HTMLElement).closest<HTMLElement>('button[data-history],button[data-remove],button[data-request],button[data-requests-of],button[data-goto-endpoint],button[data-goto-fault],button[data-fault-requests],#copy-curl');
    if (!target) return;
    const d = target.dataset;
    const leaveDialog = () => $<HTMLDialogElement>('detail').close();
    if (d.history) showHistory(d.history);
    else if (d.request) showRequest(Number(d.request));
    else if (d.requestsOf) {
      leaveDialog();
      requestsOf('endpointId', d.requestsOf);
    } else if (d.faultRequests) requestsOf('faultId', d.faultRequests);
    else if (d.gotoEndpoint) {
      leaveDialog();
      go(`#endpoints/${encodeURIComponent(d.gotoEndpoint)}`);
    } else if (d.gotoFault) {
      leaveDialog();
      go(`#faults/${encodeURIComponent(d.gotoFault)}`);
    } else if (target.id === 'copy-curl') {
      const text = $('curl').textContent ?? '';
      navigator.clipboard.writeText(text).then(
        () => ($('announce').textContent = 'Copied the curl command.'),
        () => {
          getSelection()?.selectAllChildren($('curl'));
          $('announce').textContent = 'The browser refused the clipboard: the command is selected; copy it with the keyboard.';
        },
      );
    } else if (d.remove) {
      api('DELETE', `/_snaplink/faults/${encodeURIComponent(d.remove)}`).then(
        () => {
          $('announce').textContent = 'Fault removed.';
          void refreshFaults();
        },
        (err) => failed(err, 'fault-error'),
      );
    }
  });
  $('detail-close').addEventListener('click', () => $<HTMLDialogElement>('detail').close());
  $('detail').addEventListener('close', () => {
    detailRefresh = undefined;
    if (!document.activeElement || document.activeElement === document.body) document.getElementById(opener)?.focus();
  });

  document.addEventListener('visibilitychange', () => {
    if (!running) return;
    if (document.hidden) {
      pause();
      setLive('paused');
    } else resume();
  });

  if (token()) start();
  else signIn();
}

wire();
