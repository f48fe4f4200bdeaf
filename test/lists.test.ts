import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { AWS_REGIONS } from '../src/atlas/regions.js';
import { mintToken, spawnSeededServer } from './support/harness.js';
import { collectionPath, P1, SERVICE_ACCOUNTS } from './support/world.js';

// A list answers from one snapshot of the store: its totalCount, its results and its links
// agree with each other however endpoints come and go meanwhile — on SQLite and on PostgreSQL.
// A client that pages by totalCount (the Atlas SDKs' pagers do) or follows `next` must never
// loop a page too few or too many.

const V = 'application/vnd.atlas.2024-11-13+json';

test('under concurrent creates and deletes, every list answer agrees with itself: totalCount, results and next', { timeout: 120_000 }, async () => {
  // No holds: a deleted endpoint is gone at once, so the count moves all the time.
  const { server, stop } = await spawnSeededServer(['--timings', 'none', '--rate-limit', 'false']);
  try {
    const token = await mintToken(server.url, SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret);
    const headers = { authorization: `Bearer ${token}`, accept: V, 'content-type': V };
    const base = server.url + collectionPath(P1);
    const regions = AWS_REGIONS.slice(0, 6);
    const live: string[] = [];
    let running = true;

    const creator = async () => {
      while (running) {
        const res = await fetch(base, { method: 'POST', headers, body: JSON.stringify({ cloudProvider: 'AWS', regionName: regions[Math.floor(Math.random() * regions.length)] }) });
        const body = (await res.json()) as { id?: string };
        if (res.status === 201) live.push(body.id!);
      }
    };
    const deleter = async () => {
      while (running) {
        const id = live.shift();
        if (id === undefined) await sleep(1);
        else await (await fetch(`${base}/${id}`, { method: 'DELETE', headers })).arrayBuffer();
      }
    };
    let lists = 0;
    const disagreements: string[] = [];
    const lister = async (itemsPerPage: number) => {
      while (running) {
        const res = await fetch(`${base}?itemsPerPage=${itemsPerPage}`, { headers });
        const page = (await res.json()) as { totalCount: number; results: unknown[]; links: { rel: string }[] };
        assert.equal(res.status, 200);
        lists++;
        const next = page.links.some((l) => l.rel === 'next');
        // Page 1: it holds min(itemsPerPage, totalCount) results, and `next` exactly when more remain.
        if (page.results.length !== Math.min(itemsPerPage, page.totalCount) || next !== page.totalCount > itemsPerPage) {
          disagreements.push(`itemsPerPage=${itemsPerPage}: totalCount ${page.totalCount}, ${page.results.length} results, next ${next}`);
        }
      }
    };
    const workers = Promise.all([creator(), creator(), deleter(), deleter(), lister(500), lister(500), lister(2), lister(2)]);
    // A worker that fails (an answer that is not 200) ends the wait at once, as this test's failure.
    await Promise.race([sleep(6000), workers]).finally(() => (running = false));
    await workers;
    // Enough answers that a disagreement had its chances (not a speed: ≈ 2,500 on a quiet machine).
    assert.ok(lists >= 100, `lists were answered (${lists})`);
    assert.deepEqual(disagreements.slice(0, 5), [], `${disagreements.length} of ${lists} list answers disagreed with themselves`);
  } finally {
    await stop();
  }
});
