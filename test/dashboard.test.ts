import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { AtlasClient } from '../src/client/index.js';
import { basicAuth, CheckedClient, callControl, mintToken, spawnSeededServer, type SeededServer, tokenRequest, waitFor } from './support/harness.js';
import { collectionPath, itemPath, KEYS, P1, P2, SERVICE_ACCOUNTS, WORLD } from './support/world.js';

// The dashboard at /_snaplink/ui in a real browser, walked as a user would: Debian's Chromium,
// driven by playwright-core, against a spawned snaplink with realistic timings (nothing moves
// unless the clock is advanced). Requests are made with real clients beside it; the page must
// show each without a reload. Every request the page makes is watched: one to any other origin
// fails the suite (it is refused, not sent). Each state is saved as a screenshot in
// test-results/dashboard/ (not committed; docs/images/ holds copies of four of them).

const CHROMIUM = process.env.SNAPLINK_TEST_CHROMIUM ?? '/usr/bin/chromium';
const missing = existsSync(CHROMIUM) ? false : `Chromium is not at ${CHROMIUM} (test/setup/debian-packages.sh: ${process.env.SNAPLINK_TEST_DEBIAN_MISSING ?? 'not run'})`;
if (missing) console.warn(`dashboard.test.ts: SKIPPED — ${missing}`);
const SHOTS = fileURLToPath(new URL('../test-results/dashboard/', import.meta.url));
const ADMIN = 'dashboard-admin-token';
const ORG_A_NAME = WORLD.organizations![0]!.name;
/** The promise: what a client does is on the page within 2 s, without a reload. */
const LIVE_MS = 2000;
const WRONG_KEY = { publicKey: 'wrongkey', privateKey: 'wrong-private-key-00000000000000000001' };

let server: SeededServer;
let origin: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const problems: string[] = [];
/** Console errors a test causes on purpose (a stream it refuses). */
let tolerated: RegExp | undefined;
/** Requests to anywhere but the server: refused by the route below, and a failure. */
const external: string[] = [];
/** The page's calls to the control API, as `METHOD /path?query`, in order. */
const calls: string[] = [];
/** How long each awaited change took to show (ms). */
const latencies: Record<string, number> = {};
let access = '';

const shot = (name: string, fullPage = true) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage });
/** The row of endpoint `id` (in the tree, or among the gone). */
const endpointRow = (id: string) => page.locator(`#ep-${id}`);
/** Journal rows holding `text`. */
const journalRow = (text: string) => page.locator('#journal-rows tbody tr', { hasText: text });
/** Journal rows answered with `status`. */
const statusRow = (status: number) => page.locator('#journal-rows tbody tr').filter({ has: page.locator('td:nth-child(2) .code', { hasText: new RegExp(`^${status}$`) }) });
const tab = (name: RegExp) => page.getByRole('tab', { name });
const dialog = () => page.getByRole('dialog');
const filter = (label: string) => page.locator('#journal-filter').getByLabel(label, { exact: true });

/** Waits for `locator` as the issue promises (LIVE_MS), and notes how long it took. */
async function live(what: string, locator: Locator): Promise<void> {
  const t0 = Date.now();
  await locator.waitFor({ timeout: LIVE_MS });
  latencies[what] = Date.now() - t0;
}

/** The page's control API calls made while `act` runs (and `settle` ms after it). */
async function callsDuring(act: () => Promise<void>, settle = 0): Promise<string[]> {
  const from = calls.length;
  await act();
  if (settle) await page.waitForTimeout(settle);
  return calls.slice(from);
}

/** Makes the page believe its tab is hidden (or shown again), as switching tabs does. */
const setHidden = (hidden: boolean) =>
  page.evaluate(`(() => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => '${hidden ? 'hidden' : 'visible'}' });
    document.dispatchEvent(new Event('visibilitychange'));
  })()`);

describe('the dashboard in Chromium', { skip: missing }, () => {
  const owner = () => new CheckedClient({ baseUrl: server.server.url, ...KEYS.orgOwnerA });
  let created = ''; // the endpoint the Digest create made (US_EAST_1 in P1)

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await spawnSeededServer(['--admin-token', ADMIN, '--timings', 'realistic']);
    origin = new URL(server.server.url).origin;
    const { chromium } = await import('playwright-core');
    // (Page scripts below are passed as strings: they run in the browser, not under Node's types.)
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    // Nothing may leave for another origin: such a request is refused here and counted.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      external.push(url);
      return route.abort('blockedbyclient');
    });
    page = await context.newPage();
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.origin === origin && u.pathname.startsWith('/_snaplink/') && !u.pathname.startsWith('/_snaplink/ui')) calls.push(`${r.method()} ${u.pathname}${u.search}`);
    });
    // A CSP violation, a script error or a failed load would show here. (The browser also
    // reports each answer refused on purpose by these tests: a wrong token, a wrong fault.)
    page.on('console', (m) => m.type() === 'error' && !/status of (400|401)\b/.test(m.text()) && !tolerated?.test(m.text()) && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
  });
  after(async () => {
    if (Object.keys(latencies).length) console.log(`dashboard.test.ts: shown after (ms) ${JSON.stringify(latencies)}`);
    await browser?.close();
    await server?.stop();
  });

  test('served by snaplink with a strict Content-Security-Policy; a wrong token is refused', async () => {
    const res = await page.goto(`${server.server.url}/_snaplink/ui`);
    assert.equal(res!.status(), 200);
    assert.match((await res!.allHeaders())['content-security-policy']!, /default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'/);
    // With the keyboard only: the field has focus, type, Enter.
    await page.getByLabel('Admin token').waitFor();
    assert.equal(await page.evaluate('document.activeElement?.id'), 'token');
    await page.keyboard.type('not-the-token');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'The admin token was refused (401)' }).waitFor();
    assert.equal(await page.evaluate("sessionStorage.getItem('snaplink.adminToken')"), null, 'a refused token is not kept');
    await shot('01-refused');
  });

  test('the right token opens the endpoints; it is kept for this tab only; changes come on the event stream, opened with a ticket', async () => {
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.getByRole('button', { name: 'Open' }).click();
    await page.getByRole('region', { name: `Organization ${ORG_A_NAME}` }).waitFor();
    assert.equal(await page.evaluate("sessionStorage.getItem('snaplink.adminToken')"), ADMIN);
    assert.deepEqual(await context.cookies(), []);
    await page.locator('#live', { hasText: 'Live' }).waitFor();
    const ticket = calls.indexOf('POST /_snaplink/events/ticket');
    assert.ok(ticket >= 0, 'a ticket was asked for');
    assert.match(calls.find((c) => c.startsWith('GET /_snaplink/events'))!, /^GET \/_snaplink\/events\?ticket=\d{13}\.[\w-]{43}$/, 'the stream is opened with the ticket, not the token');
    assert.ok(!calls.some((c) => c.includes(ADMIN)), 'the token is in no URL');
  });

  test('the journal is one tab away (keyboard too); idle, the page asks the server nothing', async () => {
    // The first screen: endpoints, with the journal as the next tab.
    assert.equal(await tab(/^Endpoints/).getAttribute('aria-selected'), 'true');
    await tab(/^Endpoints/).focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await tab(/^Requests/).getAttribute('aria-selected'), 'true');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'tab-requests');
    await page.getByRole('tabpanel', { name: /Requests/ }).waitFor();
    assert.equal(new URL(page.url()).hash, '#requests');
    await page.keyboard.press('ArrowLeft');
    assert.equal(await tab(/^Endpoints/).getAttribute('aria-selected'), 'true');
    // What the issue measured as 7 requests a second: none, while nothing happens.
    assert.deepEqual(await callsDuring(async () => undefined, 3000), [], 'no polling while the stream is open');
  });

  test('a Digest create, a wrong key, a 400 and a 409 each show within 2 s, without a reload', async () => {
    const nav = await page.evaluate<number>('performance.getEntriesByType("navigation").length');
    const e = await owner().createPrivateEndpoint(P1, { regionName: 'US_EAST_1' });
    created = e.id;
    await live('endpoint created (Digest)', endpointRow(e.id).filter({ hasText: 'INITIATING' }));
    await shot('02-endpoints');
    await tab(/^Requests/).click();
    await live('its 201', statusRow(201).filter({ hasText: collectionPath(P1) }));

    const wrong = new AtlasClient({ baseUrl: server.server.url, ...WRONG_KEY });
    assert.equal((await wrong.request('GET', collectionPath(P1))).status, 401);
    await live('the wrong key', journalRow(WRONG_KEY.publicKey));

    const bad = await owner().request('POST', collectionPath(P1), { body: { cloudProvider: 'AWS', regionName: 'NOPE' } });
    assert.equal(bad.status, 400);
    await live('the 400', journalRow('INVALID_ENUM_VALUE'));

    const dup = await owner().request('POST', collectionPath(P1), { body: { cloudProvider: 'AWS', regionName: 'US_EAST_1' } });
    assert.equal(dup.status, 409);
    await live('the 409', journalRow('OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS'));

    assert.equal(await page.evaluate<number>('performance.getEntriesByType("navigation").length'), nav);
    assert.match((await page.locator('#journal-summary').textContent())!, /^4 of 4 requests/);
    await shot('03-journal');
  });

  test("the 400's detail: request and response side by side, bodies pretty-printed, copy-as-curl with placeholders", async () => {
    await journalRow('INVALID_ENUM_VALUE').getByRole('button').click();
    const d = dialog();
    const request = d.getByRole('region', { name: 'Request' });
    const response = d.getByRole('region', { name: 'Response' });
    await request.getByLabel('Request body').filter({ hasText: '"regionName": "NOPE"' }).waitFor();
    await response.getByLabel('Response body').filter({ hasText: '"errorCode": "INVALID_ENUM_VALUE"' }).waitFor();
    assert.match((await request.textContent())!, /authorization\s*Digest username="orgownra", \[redacted\]/);
    assert.match((await response.textContent())!, /x-error-code\s*INVALID_ENUM_VALUE/);
    // Side by side at this width.
    const [a, b] = [(await request.boundingBox())!, (await response.boundingBox())!];
    assert.ok(b.x > a.x + a.width - 1 && Math.abs(a.y - b.y) < 2, 'request left, response right');
    const curl = (await d.locator('#curl').textContent())!;
    assert.equal(
      curl,
      `curl -X POST '${origin}${collectionPath(P1)}' \\\n  --digest -u "$PUBLIC:$PRIVATE" \\\n  -H 'accept: application/vnd.atlas.2024-11-13+json' \\\n` +
        `  -H 'content-type: application/vnd.atlas.2024-11-13+json' \\\n  --data-raw '{"cloudProvider":"AWS","regionName":"NOPE"}'`,
    );
    await d.getByText('Its credentials are placeholders: set PUBLIC, PRIVATE first.').waitFor();
    await shot('04-request-detail', false);
    await d.getByRole('button', { name: 'Copy as curl' }).click();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), curl);
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), collectionPath(P1), 'focus is back on the row it was opened from');
  });

  test("the wrong key's claimed public key is shown, refused; Digest challenges are collapsed, with a switch", async () => {
    const row = journalRow(WRONG_KEY.publicKey);
    assert.match((await row.textContent())!, /401.*UNEXPECTED_ERROR.*wrongkey\s*claimed, not accepted/);
    await row.getByRole('button').click();
    assert.equal(await dialog().locator('#claimed').textContent(), WRONG_KEY.publicKey);
    await page.keyboard.press('Escape');

    // Each Digest client was challenged first: four challenges, none shown as a row.
    assert.equal(await page.locator('#journal-rows tr.challenge').count(), 0);
    assert.match((await page.locator('#journal-summary').textContent())!, /^4 of 4 requests · 4 Digest challenges hidden$/);
    await page.getByLabel('Show Digest challenges').check();
    await page.locator('#journal-summary', { hasText: /^8 of 8 requests$/ }).waitFor();
    assert.equal(await page.locator('#journal-rows tr.challenge').count(), 4);
    assert.match((await page.locator('#journal-rows tr.challenge').first().textContent())!, /401\s*challenge.*Digest challenge/);
    await page.getByLabel('Show Digest challenges').uncheck();
    await page.locator('#journal-summary', { hasText: /^4 of 4 requests · 4 Digest challenges hidden$/ }).waitFor();
  });

  test('a half-finished filter is said where it is typed, is not sent, and the page keeps updating', async () => {
    const status = filter('Status');
    const answers: string[] = [];
    const onResponse = (r: import('playwright-core').Response) => r.url().includes('/_snaplink/requests') && answers.push(`${r.status()} ${r.url()}`);
    page.on('response', onResponse);
    for (const half of ['4', '40']) {
      await status.fill(half);
      await page.locator('#f-status-error', { hasText: 'A status (409) or a class (4xx). Not applied until it is.' }).waitFor();
      assert.equal(await status.getAttribute('aria-invalid'), 'true');
      assert.equal(await status.getAttribute('aria-describedby'), 'f-status-error');
    }
    // Meanwhile the world moves on, and the page with it: the journal, the endpoints, the clock.
    const e = await owner().createPrivateEndpoint(P1, { regionName: 'EU_WEST_1' });
    await live('a create, with a half-typed filter', statusRow(201).filter({ hasText: collectionPath(P1) }).nth(1));
    await callControl(server.server.url, ADMIN, 'POST', '/_snaplink/clock/advance', { seconds: 1 });
    await live('the clock, with a half-typed filter', page.locator('#clock-short', { hasText: '+1s' }));
    await tab(/^Endpoints/).click();
    await endpointRow(e.id).waitFor();
    await tab(/^Requests/).click();
    // Finished, it applies; a filter the page cannot check is checked by the server, and said in the same place.
    await status.fill('4xx');
    await page.locator('#journal-summary', { hasText: /^3 of 3 requests/ }).waitFor();
    assert.equal(await status.getAttribute('aria-invalid'), 'false');
    assert.equal(await page.locator('#f-status-error').textContent(), '');
    await filter('Search').fill('already_exists');
    await page.locator('#journal-summary', { hasText: /^1 of 1 request/ }).waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
    // A rule only the server knows (a newer server, say): its 400 names the filter, and is said there.
    await page.route(/\/_snaplink\/requests\?.*errorCode=NEWER_RULE/, (route) =>
      route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ error: 400, errorCode: 'INVALID_QUERY_PARAMETER', parameters: ['errorCode'], detail: 'Invalid errorCode: a rule of a newer server.' }) }),
    );
    await filter('Error code').fill('NEWER_RULE');
    await page.locator('#f-errorCode-error', { hasText: 'Invalid errorCode: a rule of a newer server. Not applied until it is.' }).waitFor();
    assert.equal(await filter('Error code').getAttribute('aria-invalid'), 'true');
    await page.locator('#journal-summary', { hasText: /^5 of 5 requests/ }).waitFor();
    assert.equal((await owner().request('GET', itemPath(P1, e.id))).status, 200);
    await live('a read, with a filter the server refused', statusRow(200));
    await page.unroute(/\/_snaplink\/requests\?.*errorCode=NEWER_RULE/);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.locator('#journal-summary', { hasText: /^6 of 6 requests/ }).waitFor();
    page.off('response', onResponse);
    // The server itself was never sent a half-finished filter: every answer a 200 but the route's made-up 400s.
    assert.ok(answers.length > 0);
    assert.deepEqual(answers.filter((a) => !a.startsWith('200 ') && !/^400 .*errorCode=NEWER_RULE/.test(a)), []);
  });

  test("a 201 leads to the endpoint it made, and the endpoint's requests lead back", async () => {
    await statusRow(201).filter({ hasText: collectionPath(P1) }).last().getByRole('button').click();
    await dialog().getByText(`Created endpoint`).waitFor();
    await dialog().getByRole('button', { name: 'Show the endpoint' }).click();
    assert.equal(new URL(page.url()).hash, `#endpoints/${created}`);
    await endpointRow(created).and(page.locator('.target')).waitFor();
    assert.ok(await endpointRow(created).isVisible());
    assert.equal(await page.evaluate('document.activeElement?.id'), `history-${created}`, 'focus is on the row');
    await endpointRow(created).getByRole('button', { name: `Requests about ${created}` }).click();
    await page.locator('#journal-summary', { hasText: /^1 of 1 request/ }).waitFor();
    assert.equal(await filter('Endpoint id').inputValue(), created);
    await statusRow(201).waitFor();
    // And the browser's Back goes where it came from.
    await page.goBack();
    assert.equal(await tab(/^Endpoints/).getAttribute('aria-selected'), 'true');
    await tab(/^Requests/).click();
    await page.getByRole('button', { name: 'Clear filters' }).click();
  });

  test("an answer a fault made is marked, and leads to the fault; a fault's requests are one click away", async () => {
    const { body: fault } = await callControl(server.server.url, ADMIN, 'POST', '/_snaplink/faults', { kind: 'HTTP_ERROR', groupId: P2, operation: 'list', status: 503, errorCode: 'SERVICE_UNAVAILABLE', count: 1 });
    assert.equal((await owner().request('GET', collectionPath(P2))).status, 503);
    const row = journalRow('SERVICE_UNAVAILABLE');
    await live('a fault-made answer', row);
    assert.match((await row.textContent())!, /503\s*fault/);
    await row.getByRole('button').click();
    await dialog().getByText(`This answer was made or delayed by fault ${fault.id}`).waitFor();
    await dialog().getByRole('button', { name: 'Show the fault' }).click();
    await page.locator(`#fault-${fault.id}.target`).waitFor();
    await page.getByRole('button', { name: `Requests answered by fault ${fault.id}` }).click();
    await page.locator('#journal-summary', { hasText: /^1 of 1 request/ }).waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).click();
  });

  test('a deleted endpoint stays in view, greyed, as last seen; its DELETE leads to it', async () => {
    const client = owner();
    const gone = (await client.createPrivateEndpoint(P2, { regionName: 'SA_EAST_1' })).id;
    await tab(/^Endpoints/).click();
    await endpointRow(gone).waitFor();
    assert.equal((await client.request('DELETE', itemPath(P2, gone))).status, 204);
    // Realistic timings: DELETING for a while; the clock moves it on.
    await endpointRow(gone).filter({ hasText: 'DELETING' }).waitFor();
    await page.getByRole('tab', { name: /^Clock/ }).click();
    await page.getByLabel('Advance by (seconds)').fill('600');
    await page.getByRole('button', { name: 'Advance' }).click();
    await tab(/^Endpoints/).click();
    const row = page.locator('#gone').locator(`#ep-${gone}`);
    await row.waitFor({ timeout: 10_000 });
    assert.match((await row.textContent())!, /SA_EAST_1.*DELETING/);
    assert.match((await row.getAttribute('class'))!, /\bgone\b/);
    await shot('05-gone');
    await tab(/^Requests/).click();
    await journalRow('DELETE').getByRole('button').click();
    await dialog().getByRole('button', { name: 'Show the endpoint' }).click();
    await page.locator(`#gone #ep-${gone}.target`).waitFor();
    // One the page never saw says so, and offers its requests.
    await page.evaluate(`location.hash = '#endpoints/6650f0c0a1b2c3d4e5f6eeee'`);
    await page.locator('#endpoint-note', { hasText: 'Endpoint 6650f0c0a1b2c3d4e5f6eeee is not there' }).waitFor();
  });

  test('hidden, the page asks nothing; shown again with the stream refused, it checks by itself, then takes a new ticket', async () => {
    await tab(/^Requests/).click();
    const [creates, reads] = [await statusRow(201).count(), await statusRow(200).count()];
    await setHidden(true);
    await page.locator('#live', { hasText: 'Paused' }).waitFor();
    const whileHidden = await callsDuring(async () => {
      await owner().createPrivateEndpoint(P2, { regionName: 'AP_SOUTH_1' });
    }, 2000);
    assert.deepEqual(whileHidden, [], 'nothing asked while hidden');
    assert.equal(await statusRow(201).count(), creates, 'and nothing shown');

    // The stream now fails to open: the page polls, and keeps trying the stream with a new ticket.
    let refusedStreams = 0;
    await context.route(/\/_snaplink\/events\?/, (route) => {
      refusedStreams++;
      return route.abort('connectionrefused');
    });
    const from = calls.length;
    // The refused streams are the test's doing: the browser reports them as failed loads.
    tolerated = /ERR_CONNECTION_REFUSED/;
    await setHidden(false);
    await page.locator('#live', { hasText: 'Reconnecting' }).waitFor();
    // What happened while hidden, and what happens now, shows by polling.
    await waitFor(() => statusRow(201).count(), (n) => n === creates + 1, 10_000, 'the create made while hidden');
    assert.equal((await owner().request('GET', collectionPath(P2))).status, 200);
    await waitFor(() => statusRow(200).count(), (n) => n === reads + 1, 10_000, 'a read made while polling');
    await context.unroute(/\/_snaplink\/events\?/);
    await page.locator('#live', { hasText: 'Live' }).waitFor({ timeout: 40_000 });
    const made = calls.slice(from);
    assert.ok(refusedStreams >= 1);
    assert.ok(made.filter((c) => c === 'POST /_snaplink/events/ticket').length >= 2, `a new ticket for each try: ${made.join(', ')}`);
    assert.ok(made.some((c) => /^GET \/_snaplink\/requests\?.*after=/.test(c)), 'polled the journal for what is new');
    tolerated = undefined;
    // Live again: no more polling.
    assert.deepEqual(await callsDuring(async () => undefined, 3500), [], 'polling stops once the stream is back');
  });

  test('dark when the system is dark', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await tab(/^Requests/).click();
    const bg = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    assert.equal(bg, 'rgb(13, 17, 23)');
    const fg = await page.evaluate<string>('getComputedStyle(document.body).color');
    assert.equal(fg, 'rgb(230, 237, 243)');
    await shot('06-dark', false);
    await page.emulateMedia({ colorScheme: 'light' });
    assert.equal(await page.evaluate<string>('getComputedStyle(document.body).backgroundColor'), 'rgb(255, 255, 255)');
  });

  test("at a phone's width (390 px) method, status and error code come first and nothing runs off sideways", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const t of [/^Endpoints/, /^Requests/, /^Faults/, /^Clock/]) {
      await tab(t).click();
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      assert.ok(overflow <= 0, `${t}: the page is ${overflow}px wider than the screen`);
      // Nor inside a table's region: every cell ends on the screen.
      const beyond = await page.evaluate<string[]>(
        `[...document.querySelectorAll('[role=tabpanel]:not([hidden]) td, [role=tabpanel]:not([hidden]) th')].filter((c) => c.getClientRects().length && c.getBoundingClientRect().right > window.innerWidth + 0.5).map((c) => c.textContent)`,
      );
      assert.deepEqual(beyond, [], `${t}: cells off the screen`);
    }
    await tab(/^Requests/).click();
    const row = journalRow('OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS');
    const box = async (nth: number) => (await row.locator('td').nth(nth).boundingBox())!;
    const [method, status, code, path] = [await box(0), await box(1), await box(2), await box(3)];
    for (const b of [method, status, code]) assert.ok(b.y < path.y && b.x >= 0 && b.x + b.width <= 390, 'method, status and error code on the first line, on screen');
    assert.ok(await row.getByText('POST').isVisible());
    await shot('07-phone');
    // The detail stacks request over response.
    await row.getByRole('button').click();
    const [req, res] = [(await dialog().getByRole('region', { name: 'Request' }).boundingBox())!, (await dialog().getByRole('region', { name: 'Response' }).boundingBox())!];
    assert.ok(res.y > req.y && req.width <= 390);
    assert.equal(await dialog().evaluate((d) => d.scrollWidth - d.clientWidth), 0, 'nothing in the detail runs off sideways');
    await page.keyboard.press('Escape');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test('no secret reaches the page: not the admin token, a private key, a client secret nor an access token', async () => {
    // Secrets on the wire, each journaled: a token request (Basic, client secret), a bearer call, a secret in a JSON body.
    const sa = SERVICE_ACCOUNTS.saOrgA;
    access = await mintToken(server.server.url, sa.clientId, sa.clientSecret);
    assert.equal((await tokenRequest(server.server.url, { authorization: basicAuth(sa.clientId, 'not-the-secret') })).status, 401);
    const bearer = new CheckedClient({ baseUrl: server.server.url, accessToken: access });
    assert.equal((await bearer.request('GET', collectionPath(P1))).status, 200);
    const leaky = await owner().request('POST', collectionPath(P1), { body: { cloudProvider: 'AWS', regionName: 'NOPE2', privateKey: KEYS.ownerP1.privateKey } });
    assert.equal(leaky.status, 400);
    await tab(/^Requests/).click();
    await page.getByLabel('Show Digest challenges').check();
    // The last of them shown: the 400's second row.
    await waitFor(() => statusRow(400).count(), (n) => n === 2, 10_000, 'the second 400');
    const secrets = [ADMIN, access, ...Object.values(KEYS).map((k) => k.privateKey), ...Object.values(SERVICE_ACCOUNTS).map((s) => s.clientSecret), WRONG_KEY.privateKey];
    const scan = async (where: string) => {
      const dom = (await page.content()) + JSON.stringify(await page.evaluate(`[...document.querySelectorAll('input, textarea')].map((i) => i.value)`));
      for (const s of secrets) assert.ok(!dom.includes(s), `${where}: a secret (${s.slice(0, 6)}…) is in the page`);
    };
    await scan('the journal');
    // Every request's detail, opened one after another.
    const ids = await page.locator('#journal-rows button[data-request]').evaluateAll((bs) => bs.map((b) => b.getAttribute('data-request')!));
    assert.ok(ids.length >= 15, `${ids.length} requests`);
    for (const id of ids) {
      await page.locator(`#request-${id}`).click();
      await dialog().locator('#curl').waitFor();
      await scan(`request ${id}`);
      if ((await dialog().locator('#ex-Request + p').textContent())!.startsWith('POST /api/oauth/token')) {
        assert.match((await dialog().getByLabel('Request body').textContent())!, /^\[redacted\]$/);
      }
      await page.keyboard.press('Escape');
    }
    await page.getByLabel('Show Digest challenges').uncheck();
  });

  test('the clock advanced from the page moves an endpoint on to ACTIVE; its history opens from the row', async () => {
    await tab(/^Endpoints/).click();
    const e = await owner().createPrivateEndpoint(P1, { regionName: 'US_WEST_2' });
    await endpointRow(e.id).filter({ hasText: 'INITIATING' }).waitFor();
    await page.getByRole('tab', { name: /^Clock/ }).click();
    // Realistic: 3 minutes in INITIATING, 2 in PENDING_ACCEPTANCE.
    for (let i = 0; i < 2; i++) {
      await page.getByLabel('Advance by (seconds)').fill('200');
      await page.getByRole('button', { name: 'Advance' }).click();
      await page.waitForTimeout(300);
    }
    await tab(/^Endpoints/).click();
    await endpointRow(e.id).filter({ hasText: 'ACTIVE' }).waitFor({ timeout: 10_000 });
    assert.match((await endpointRow(e.id).textContent())!, /vpce-[0-9a-f]{17}/);
    assert.equal((await owner().getPrivateEndpoint(P1, e.id)).status, 'ACTIVE', 'the page shows what the API answers');
    await endpointRow(e.id).getByRole('button', { name: 'History' }).click();
    await dialog().getByText('the PENDING_ACCEPTANCE hold ended; the simulated provider answered available').waitFor();
    await shot('08-history');
    await dialog().getByRole('button', { name: 'Close' }).click();
  });

  test('a FAIL_PROVISIONING fault added from the page makes the next create go FAILED with its message', async () => {
    await page.getByRole('tab', { name: /^Faults/ }).click();
    await page.getByText('Add a fault').click();
    await page.getByLabel('Kind').selectOption('FAIL_PROVISIONING');
    await page.locator('#fault-form').getByLabel('Project id').fill(P2);
    await page.getByLabel('Count').fill('1');
    await page.getByLabel('Message (FAIL_PROVISIONING)').fill('The interface endpoint quota for this VPC is exhausted.');
    await page.getByRole('button', { name: 'Add the fault' }).click();
    const faults = page.locator('#fault-list');
    await faults.getByText(`project ${P2}`).waitFor();
    const client = owner();
    const e = await client.createPrivateEndpoint(P2, { regionName: 'EU_WEST_1' });
    await callControl(server.server.url, ADMIN, 'POST', '/_snaplink/clock/advance', { seconds: 200 });
    await tab(/^Endpoints/).click();
    await endpointRow(e.id).filter({ hasText: 'FAILED' }).filter({ hasText: 'The interface endpoint quota for this VPC is exhausted.' }).waitFor({ timeout: 10_000 });
    assert.equal((await client.getPrivateEndpoint(P2, e.id)).errorMessage, 'The interface endpoint quota for this VPC is exhausted.');
    // None left, probability 1, matched once, fired once.
    await page.getByRole('tab', { name: /^Faults/ }).click();
    const cells = () => faults.locator('tr', { hasText: 'FAIL_PROVISIONING' }).locator('td').allTextContents();
    await waitFor(cells, (c) => c.slice(4, 8).join(' ') === '0 1 1 1', 10_000, 'the fault to show it fired');
    await shot('09-faults');
    await tab(/^Endpoints/).click();
    await shot('10-light', false);
    await page.getByRole('tab', { name: /^Faults/ }).click();
    // A fault the server refuses says why.
    await page.getByLabel('Kind').selectOption('HTTP_ERROR');
    await page.getByRole('button', { name: 'Add the fault' }).click();
    await page.locator('#fault-error').getByText(/400 INVALID_FAULT/).waitFor();
  });

  test('more than a page: "N of M" and Load more, from the keyboard', async () => {
    await tab(/^Requests/).click();
    const client = owner();
    for (let i = 0; i < 60; i++) assert.equal((await client.request('GET', collectionPath(P2))).status, 200);
    // Shown as they come, however many…
    const { body: all } = await callControl(server.server.url, ADMIN, 'GET', '/_snaplink/requests/count?challenge=false');
    await page.locator('#journal-summary', { hasText: new RegExp(`^${all.count} of ${all.count} requests`) }).waitFor({ timeout: 10_000 });
    // …and asked afresh, a page at a time.
    await filter('Method').selectOption('GET');
    const { body: gets } = await callControl(server.server.url, ADMIN, 'GET', '/_snaplink/requests/count?challenge=false&method=GET');
    assert.ok(gets.count > 50);
    await page.locator('#journal-summary', { hasText: new RegExp(`^50 of ${gets.count} requests`) }).waitFor();
    await page.getByRole('button', { name: 'Load more' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('#journal-summary', { hasText: new RegExp(`^${Math.min(100, gets.count)} of ${gets.count} requests`) }).waitFor();
    assert.equal(await page.locator('#journal-rows tbody tr').count(), Math.min(100, gets.count));
    assert.equal(await page.getByRole('button', { name: 'Load more' }).isVisible(), gets.count > 100);
    await page.getByRole('button', { name: 'Clear filters' }).click();
  });

  test('reset asks first; declined changes nothing, accepted empties endpoints, faults and the journal', async () => {
    const before = (await callControl(server.server.url, ADMIN, 'GET', '/_snaplink/endpoints')).body.totalCount;
    assert.ok(before > 0);
    await page.getByRole('tab', { name: /^Clock/ }).click();
    page.once('dialog', (d) => void d.dismiss());
    await page.getByRole('button', { name: 'Reset…' }).click();
    assert.equal((await callControl(server.server.url, ADMIN, 'GET', '/_snaplink/endpoints')).body.totalCount, before);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Reset…' }).click();
    await tab(/^Endpoints/).click();
    await page.locator('#tree').getByText('No endpoints.').first().waitFor();
    assert.equal((await callControl(server.server.url, ADMIN, 'GET', '/_snaplink/endpoints')).body.totalCount, 0);
    // What the reset took is among the gone.
    assert.ok((await page.locator('#gone tr.gone').count()) >= before);
    await page.getByRole('tab', { name: /^Faults/ }).click();
    await page.locator('#fault-list').getByText('No faults.').waitFor();
    await tab(/^Requests/).click();
    await page.locator('#journal-summary', { hasText: /^0 of 0 requests/ }).waitFor();
  });

  test('a token that stops working sends the page back to the sign-in; no error, no request elsewhere on the way', async () => {
    await page.evaluate("sessionStorage.setItem('snaplink.adminToken', 'revoked')");
    await page.reload();
    await page.getByRole('alert').filter({ hasText: 'refused' }).waitFor();
    assert.deepEqual(problems, [], 'no script error, CSP violation or failed load on the way');
    assert.deepEqual(external, [], 'no request to another origin');
  });
});
