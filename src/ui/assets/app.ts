// The dashboard: plain DOM, no framework. It polls the control API every second with the admin
// token in a header (kept in sessionStorage, for this tab only) and redraws a part of the page
// only when what it shows changed, keeping the keyboard focus where it was.

const TOKEN_KEY = 'snaplink.adminToken';
const POLL_MS = 1000;

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
  id: number; at: string; method: string; path: string; groupId: string | null; operation: string; principal: string | null;
  status: number; errorCode: string | null; errorDetail: string | null; durationMs: number; requestId: string; node: string;
}
interface HistoryEntry { from: string | null; status: string; at: string; wallAt: string; node: string; reason: string }

class Refused extends Error {}

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
  const parsed = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new Error(`${res.status} ${parsed?.errorCode ?? ''}: ${parsed?.detail ?? text}`);
  return parsed as T;
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
const localTime = (iso: string) => new Date(iso).toLocaleString();

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

function table(headers: string[], rows: string[][], caption: string, empty: string): string {
  if (rows.length === 0) return `<p class="empty">${esc(empty)}</p>`;
  return `<div class="scroll" role="region" aria-label="${esc(caption)}" tabindex="0"><table><caption class="visually-hidden">${esc(caption)}</caption><thead><tr>${headers
    .map((h) => `<th scope="col">${esc(h)}</th>`)
    .join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.join('')}</tr>`).join('')}</tbody></table></div>`;
}
const td = (v: unknown, cls = '') => `<td${cls ? ` class="${cls}"` : ''}>${esc(v)}</td>`;
const statusCell = (s: string) => `<td><span class="status s-${esc(s)}">${esc(s)}</span></td>`;

// ——— the sections ———

const lastStatus = new Map<string, string>();
/** Tells screen readers which endpoints changed status since the last poll. */
function announceChanges(endpoints: Endpoint[]): void {
  const changes = endpoints.filter((e) => lastStatus.has(e.id) && lastStatus.get(e.id) !== e.status).map((e) => `Endpoint ${e.id} (${e.regionName}) is now ${e.status}.`);
  lastStatus.clear();
  for (const e of endpoints) lastStatus.set(e.id, e.status);
  if (changes.length) $('announce').textContent = changes.join(' ');
}

function drawTree(orgs: Org[], projects: Project[], endpoints: Endpoint[], clockNow: string): void {
  const now = Date.parse(clockNow);
  const next = (e: Endpoint) => (e.dueAt === null ? '-' : Date.parse(e.dueAt) <= now ? 'due now' : `in ${duration(Date.parse(e.dueAt) - now)}`);
  const html = orgs
    .map((o) => {
      const own = projects.filter((p) => p.orgId === o.id);
      const body = own
        .map((p) => {
          const rows = endpoints
            .filter((e) => e.groupId === p.id)
            .map((e) => [
              td(e.id, 'mono'),
              td(e.regionName),
              statusCell(e.status),
              td(e.privateEndpointConnectionName ?? '-', 'mono'),
              td(next(e)),
              td(e.errorMessage ?? ''),
              `<td><button type="button" class="link" id="history-${esc(e.id)}" data-history="${esc(e.id)}">History</button></td>`,
            ]);
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
}

function faultEffect(f: Fault): string {
  if (f.kind === 'HTTP_ERROR') return `${f.status} ${f.errorCode}`;
  if (f.kind === 'LATENCY') return `+${f.latencyMs} ms`;
  if (f.kind === 'LOSE_ENDPOINT') return f.afterSeconds ? `after ${duration(f.afterSeconds * 1000)} ACTIVE` : 'once ACTIVE';
  return f.message ?? 'default message';
}

function drawFaults(faults: Fault[]): void {
  const rows = faults.map((f) => [
    td(f.id, 'mono'),
    td(f.kind),
    td([f.groupId && `project ${f.groupId}`, f.regionName, f.operation].filter(Boolean).join(', ') || 'everything'),
    td(faultEffect(f)),
    td(f.remaining ?? 'unlimited'),
    td(f.probability ?? 1),
    td(f.matched),
    td(f.fired),
    `<td><button type="button" class="link" id="remove-${esc(f.id)}" data-remove="${esc(f.id)}" aria-label="Remove fault ${esc(f.id)}">Remove</button></td>`,
  ]);
  draw($('fault-list'), table(['ID', 'Kind', 'Matches', 'Effect', 'Left', 'Probability', 'Matched', 'Fired', ''], rows, 'Faults', 'No faults.'));
}

function drawClock(c: Clock): void {
  const offset = c.offsetSeconds === 0 ? 'real time' : `${duration(c.offsetSeconds * 1000)} ahead of real time`;
  draw($('clock-now'), `Lifecycle time <strong id="clock-value">${esc(localTime(c.now))}</strong>, <span id="clock-offset">${esc(offset)}</span>.`);
}

let requests: JournalEntry[] = [];
function drawRequests(rows: JournalEntry[]): void {
  requests = rows;
  const cells = rows.map((r) => [
    `<td><button type="button" class="link" id="request-${r.id}" data-request="${r.id}" aria-label="Request ${r.id}: ${esc(r.method)} ${esc(r.path)}, ${r.status}">${esc(new Date(r.at).toLocaleTimeString())}</button></td>`,
    td(r.method),
    td(r.path, 'mono path'),
    `<td><span class="code c${String(r.status)[0]}">${r.status}</span></td>`,
    td(r.errorCode ?? '-'),
    td(r.principal ?? '-', 'mono'),
    td(r.durationMs.toFixed(1)),
  ]);
  draw($('requests'), table(['Time', 'Method', 'Path', 'Status', 'Error code', 'Who', 'ms'], cells, 'Requests, newest first', 'No requests.'));
}

function journalQuery(): string {
  const data = new FormData($<HTMLFormElement>('journal-filter'));
  const q = new URLSearchParams({ limit: '100' });
  for (const [k, v] of data) if (typeof v === 'string' && v.trim() !== '') q.set(k, v.trim());
  return q.toString();
}

// ——— the details dialog: a request, or an endpoint's history ———

let detailRefresh: (() => Promise<void>) | undefined;
function openDetail(title: string, refresh: () => Promise<void>): void {
  $('detail-title').textContent = title;
  detailRefresh = refresh;
  void refresh();
  const dialog = $<HTMLDialogElement>('detail');
  if (!dialog.open) dialog.showModal();
}

function showRequest(id: number): void {
  const r = requests.find((x) => x.id === id);
  if (!r) return;
  openDetail(`${r.method} ${r.path}`, async () => {
    const rows: [string, unknown][] = [
      ['Time', localTime(r.at)], ['Method', r.method], ['Path', r.path], ['Operation', r.operation], ['Project', r.groupId ?? '-'],
      ['Who', r.principal ?? '-'], ['Status', r.status], ['Error code', r.errorCode ?? '-'], ['Error', r.errorDetail ?? '-'],
      ['Duration', `${r.durationMs} ms`], ['Request id', r.requestId], ['Node', r.node],
    ];
    draw($('detail-body'), `<dl>${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`);
  });
}

function showHistory(id: string): void {
  openDetail(`History of ${id}`, async () => {
    try {
      const h = await api<{ results: HistoryEntry[] }>('GET', `/_snaplink/endpoints/${encodeURIComponent(id)}/history`);
      draw(
        $('detail-body'),
        table(['Status', 'Lifecycle time', 'Wall time', 'Node', 'Why'], h.results.map((x) => [statusCell(x.status), td(localTime(x.at)), td(localTime(x.wallAt)), td(x.node, 'mono'), td(x.reason)]), `History of ${id}`, 'No history.'),
      );
    } catch (err) {
      if (err instanceof Refused) throw err;
      draw($('detail-body'), `<p>The endpoint is gone, and its history with it.</p>`);
    }
  });
}

// ——— polling ———

let timer: number | undefined;
async function poll(): Promise<void> {
  try {
    const [status, orgs, projects, endpoints, faults, clock, journal] = await Promise.all([
      api<Status>('GET', '/_snaplink/status'),
      api<{ results: Org[] }>('GET', '/_snaplink/orgs'),
      api<{ results: Project[] }>('GET', '/_snaplink/projects'),
      api<{ results: Endpoint[]; clock: string }>('GET', '/_snaplink/endpoints'),
      api<{ results: Fault[] }>('GET', '/_snaplink/faults'),
      api<Clock>('GET', '/_snaplink/clock'),
      api<{ results: JournalEntry[] }>('GET', `/_snaplink/requests?${journalQuery()}`),
    ]);
    draw($('server'), `snaplink ${esc(status.version)} · ${esc(status.store)} · <span class="status s-${esc(status.readiness)}">${esc(status.readiness)}</span>`);
    drawTree(orgs.results, projects.results, endpoints.results, endpoints.clock);
    announceChanges(endpoints.results);
    drawFaults(faults.results);
    drawClock(clock);
    drawRequests(journal.results);
    if ($<HTMLDialogElement>('detail').open) await detailRefresh?.();
  } catch (err) {
    if (err instanceof Refused) return signIn('The admin token was refused (401). Enter the one the server was started with.');
    $('server').textContent = `Cannot reach snaplink: ${(err as Error).message}`;
    drawn.delete('server');
  }
  timer = window.setTimeout(() => void poll(), POLL_MS);
}

function signIn(message = ''): void {
  window.clearTimeout(timer);
  sessionStorage.removeItem(TOKEN_KEY);
  $('dashboard').hidden = true;
  $('sign-out').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $<HTMLInputElement>('token').focus();
}

function start(): void {
  $('login').hidden = true;
  $('dashboard').hidden = false;
  $('sign-out').hidden = false;
  drawn.clear();
  void poll();
}

/** Runs a form's action, showing its error (or clearing the last one) in `errorId`. */
function onSubmit(formId: string, errorId: string, act: (data: FormData, form: HTMLFormElement) => Promise<void>): void {
  const form = $<HTMLFormElement>(formId);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    $(errorId).textContent = '';
    act(new FormData(form), form).then(
      () => {
        window.clearTimeout(timer);
        void poll();
      },
      (err: Error) => (err instanceof Refused ? signIn('The admin token was refused (401).') : ($(errorId).textContent = err.message)),
    );
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

  onSubmit('fault-form', 'fault-error', async (data, form) => {
    const spec: Record<string, unknown> = {};
    for (const [k, v] of data) if (typeof v === 'string' && v.trim() !== '') spec[k] = NUMBERS.has(k) ? Number(v) : v.trim();
    const fault = await api<Fault>('POST', '/_snaplink/faults', spec);
    form.reset();
    $('announce').textContent = `Fault ${fault.id} added.`;
  });
  onSubmit('advance-form', 'clock-error', async (data) => {
    const c = await api<Clock>('POST', '/_snaplink/clock/advance', { seconds: Number(data.get('seconds')) });
    $('announce').textContent = `The clock is ${duration(c.offsetSeconds * 1000)} ahead.`;
  });
  $('journal-filter').addEventListener('input', () => {
    window.clearTimeout(timer);
    void poll();
  });
  $('journal-filter').addEventListener('submit', (event) => event.preventDefault());

  $('reset').addEventListener('click', () => {
    if (!window.confirm('Reset: delete every endpoint and fault, set the clock back and empty the journal?')) return;
    api<{ deletedEndpoints: number; deletedFaults: number }>('POST', '/_snaplink/reset').then(
      (r) => {
        $('announce').textContent = `Reset: ${r.deletedEndpoints} endpoints and ${r.deletedFaults} faults deleted.`;
        window.clearTimeout(timer);
        void poll();
      },
      (err: Error) => (err instanceof Refused ? signIn('The admin token was refused (401).') : ($('clock-error').textContent = err.message)),
    );
  });

  // Buttons drawn by the poller are handled where they are drawn into.
  document.addEventListener('click', (event) => {
    const target = (event.target as HTMLElement).closest<HTMLElement>('[data-history],[data-remove],[data-request]');
    if (!target) return;
    if (target.dataset.history) showHistory(target.dataset.history);
    else if (target.dataset.request) showRequest(Number(target.dataset.request));
    else if (target.dataset.remove) {
      api('DELETE', `/_snaplink/faults/${encodeURIComponent(target.dataset.remove)}`).then(
        () => {
          $('announce').textContent = 'Fault removed.';
          window.clearTimeout(timer);
          void poll();
        },
        (err: Error) => (err instanceof Refused ? signIn('The admin token was refused (401).') : ($('fault-error').textContent = err.message)),
      );
    }
  });
  $('detail-close').addEventListener('click', () => $<HTMLDialogElement>('detail').close());
  $('detail').addEventListener('close', () => (detailRefresh = undefined));

  if (token()) start();
  else signIn();
}

wire();
