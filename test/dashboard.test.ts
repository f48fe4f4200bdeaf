import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { CheckedClient, callControl, spawnSeededServer, type SeededServer, waitFor } from './support/harness.js';
import { KEYS, P1, P2, WORLD } from './support/world.js';

// The dashboard at /_snaplink/ui in a real browser: Debian's Chromium, driven by playwright-core,
// against a spawned snaplink with realistic timings (nothing moves unless the clock is advanced).
// Each state is saved as a screenshot in test-results/dashboard/ (not committed).

const CHROMIUM = process.env.SNAPLINK_TEST_CHROMIUM ?? '/usr/bin/chromium';
const missing = existsSync(CHROMIUM) ? false : `Chromium is not at ${CHROMIUM} (test/setup/debian-packages.sh: ${process.env.SNAPLINK_TEST_DEBIAN_MISSING ?? 'not run'})`;
const SHOTS = fileURLToPath(new URL('../test-results/dashboard/', import.meta.url));
const ADMIN = 'dashboard-admin-token';
const ORG_A_NAME = WORLD.organizations![0]!.name;

let server: SeededServer;
let browser: Browser;
let page: Page;
const problems: string[] = [];

const shot = (name: string) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
/** The row of endpoint `id` in the endpoint tree. */
const row = (id: string) => page.locator('#tree tr', { hasText: id });

describe('the dashboard in Chromium', { skip: missing }, () => {
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await spawnSeededServer(['--admin-token', ADMIN, '--timings', 'realistic']);
    const { chromium } = await import('playwright-core');
    // (Page scripts below are passed as strings: they run in the browser, not under Node's types.)
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // A CSP violation, a script error or a failed load would show here.
    // (The browser also reports each refused call; those answers are the tests' own doing.)
    page.on('console', (m) => m.type() === 'error' && !/status of (400|401)\b/.test(m.text()) && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('served by snaplink with a strict Content-Security-Policy; a wrong token is refused', async () => {
    const res = await page.goto(`${server.server.url}/_snaplink/ui`);
    assert.equal(res!.status(), 200);
    assert.match((await res!.allHeaders())['content-security-policy']!, /default-src 'none'; script-src 'self'/);
    // With the keyboard only: the field has focus, type, Enter.
    await page.getByLabel('Admin token').waitFor();
    assert.equal(await page.evaluate('document.activeElement?.id'), 'token');
    await page.keyboard.type('not-the-token');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'The admin token was refused (401)' }).waitFor();
    assert.equal(await page.evaluate("sessionStorage.getItem('snaplink.adminToken')"), null, 'a refused token is not kept');
    await shot('01-refused');
  });

  test('the right token opens organizations → projects → endpoints; it is kept for this tab only, in no cookie', async () => {
    await page.getByLabel('Admin token').fill(ADMIN);
    await page.getByRole('button', { name: 'Open' }).click();
    await page.getByRole('region', { name: `Organization ${ORG_A_NAME}` }).waitFor();
    assert.equal(await page.evaluate("sessionStorage.getItem('snaplink.adminToken')"), ADMIN);
    assert.deepEqual(await page.context().cookies(), []);
    await shot('02-opened');
  });

  test('a create made with a real client appears, and advancing the clock from the page moves it on to ACTIVE', async () => {
    const client = new CheckedClient({ baseUrl: server.server.url, ...KEYS.orgOwnerA });
    const e = await client.createPrivateEndpoint(P1, { regionName: 'US_EAST_1' });
    await row(e.id).filter({ hasText: 'INITIATING' }).waitFor();
    await shot('03-initiating');
    // Realistic: 3 minutes in INITIATING, 2 in PENDING_ACCEPTANCE.
    await page.getByLabel('Advance by (seconds)').fill('200');
    await page.getByRole('button', { name: 'Advance' }).click();
    await row(e.id).filter({ hasText: 'PENDING_ACCEPTANCE' }).waitFor();
    await page.getByLabel('Advance by (seconds)').fill('200');
    await page.getByRole('button', { name: 'Advance' }).click();
    await row(e.id).filter({ hasText: 'ACTIVE' }).waitFor();
    assert.match((await row(e.id).textContent())!, /vpce-[0-9a-f]{17}/);
    assert.equal((await client.getPrivateEndpoint(P1, e.id)).status, 'ACTIVE', 'the page shows what the API answers');
    // Its history, opened from the row.
    await row(e.id).getByRole('button', { name: 'History' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('the PENDING_ACCEPTANCE hold ended; the simulated provider answered available').waitFor();
    await shot('04-active-history');
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  test('a FAIL_PROVISIONING fault added from the page makes the next create go FAILED with its message', async () => {
    await page.getByText('Add a fault').click();
    await page.getByLabel('Kind').selectOption('FAIL_PROVISIONING');
    await page.getByLabel('Project id').first().fill(P2);
    await page.getByLabel('Count').fill('1');
    await page.getByLabel('Message (FAIL_PROVISIONING)').fill('The interface endpoint quota for this VPC is exhausted.');
    await page.getByRole('button', { name: 'Add the fault' }).click();
    const faults = page.locator('#fault-list');
    await faults.getByText(`project ${P2}`).waitFor();
    const client = new CheckedClient({ baseUrl: server.server.url, ...KEYS.orgOwnerA });
    const e = await client.createPrivateEndpoint(P2, { regionName: 'EU_WEST_1' });
    await page.getByLabel('Advance by (seconds)').fill('200');
    await page.getByRole('button', { name: 'Advance' }).click();
    await row(e.id).filter({ hasText: 'FAILED' }).filter({ hasText: 'The interface endpoint quota for this VPC is exhausted.' }).waitFor();
    assert.equal((await client.getPrivateEndpoint(P2, e.id)).errorMessage, 'The interface endpoint quota for this VPC is exhausted.');
    // None left, probability 1, matched once, fired once.
    const cells = () => faults.locator('tr', { hasText: 'FAIL_PROVISIONING' }).locator('td').allTextContents();
    await waitFor(cells, (c) => c.slice(4, 8).join(' ') === '0 1 1 1', 10_000, 'the fault to show it fired');
    await shot('05-failed');
    // A fault the server refuses shows why.
    await page.getByLabel('Kind').selectOption('HTTP_ERROR');
    await page.getByRole('button', { name: 'Add the fault' }).click();
    await page.locator('#fault-error').getByText(/400 INVALID_FAULT/).waitFor();
  });

  test("a duplicate create's 409 is in the journal with its errorCode; a row opens the whole request", async () => {
    const client = new CheckedClient({ baseUrl: server.server.url, ...KEYS.orgOwnerA });
    const dup = await client.request('POST', `/api/atlas/v2/groups/${P1}/backup/AWS/privateEndpoints`, { body: { cloudProvider: 'AWS', regionName: 'US_EAST_1' } });
    assert.equal(dup.status, 409);
    await page.locator('#journal-filter').getByLabel('Status').fill('409');
    const entry = page.locator('#requests tr', { hasText: 'OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS' });
    await entry.waitFor();
    assert.equal(await page.locator('#requests tbody tr').count(), 1, 'the filter leaves the 409 alone');
    await entry.getByRole('button').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('An object storage private endpoint for region US_EAST_1 already exists in this project.').waitFor();
    await dialog.getByText(KEYS.orgOwnerA.publicKey).waitFor();
    await shot('06-journal-409');
    await page.keyboard.press('Escape');
    await page.locator('#journal-filter').getByLabel('Status').fill('');
  });

  test('reset asks first; declined changes nothing, accepted empties endpoints, faults and the journal', async () => {
    const before = (await callControl(server.server.url, ADMIN, 'GET', '/_snaplink/endpoints')).body.totalCount;
    assert.ok(before > 0);
    page.once('dialog', (d) => void d.dismiss());
    await page.getByRole('button', { name: 'Reset…' }).click();
    assert.equal((await callControl(server.server.url, ADMIN, 'GET', '/_snaplink/endpoints')).body.totalCount, before);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Reset…' }).click();
    await page.locator('#tree').getByText('No endpoints.').first().waitFor();
    await page.locator('#fault-list').getByText('No faults.').waitFor();
    assert.equal((await callControl(server.server.url, ADMIN, 'GET', '/_snaplink/endpoints')).body.totalCount, 0);
    await shot('07-reset');
  });

  test("readable at a phone's width: nothing runs off the page sideways", async () => {
    const client = new CheckedClient({ baseUrl: server.server.url, ...KEYS.orgOwnerA });
    await client.createPrivateEndpoint(P1, { regionName: 'AP_SOUTH_1' });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#tree tr', { hasText: 'AP_SOUTH_1' }).waitFor();
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await shot('08-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test('a token that stops working sends the page back to the sign-in; no error on the way', async () => {
    await page.evaluate("sessionStorage.setItem('snaplink.adminToken', 'revoked')");
    await page.reload();
    await page.getByRole('alert').filter({ hasText: 'refused' }).waitFor();
    assert.deepEqual(problems, [], 'no script error, CSP violation or failed load on the way');
  });
});
