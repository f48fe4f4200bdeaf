import { sql } from 'kysely';
import type { Db } from '../store/database.js';

// Refuses a Digest nonce-count already used with the same nonce (RFC 7616 §3.4: the server
// tracks nc to detect replays). Counts may arrive slightly out of order — clients share a
// nonce between concurrent requests — so each used (nonce, nc) pair is remembered, not only
// the highest, until the nonce expires. One rule on both stores: a count more than WINDOW
// below the highest one used with its nonce is refused outright, used or not.

export interface ReplayGuard {
  /** Records (nonce, nc); false when that pair was used before. */
  accept(nonce: string, nc: number, expiresAt: number, now: number): Promise<boolean>;
}

const WINDOW = 1024;
const SWEEP_EVERY_MS = 30_000;

interface Seen {
  max: number;
  counts: Set<number>;
  expiresAt: number;
}

/** For a store one process serves (SQLite): the pairs live in memory. */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly nonces = new Map<string, Seen>();
  private nextSweep = 0;

  async accept(nonce: string, nc: number, expiresAt: number, now: number): Promise<boolean> {
    this.sweep(now);
    let seen = this.nonces.get(nonce);
    if (!seen) {
      seen = { max: 0, counts: new Set(), expiresAt };
      this.nonces.set(nonce, seen);
    }
    // Counts far below the highest are refused outright, so memory stays bounded per nonce.
    if (nc <= seen.max - WINDOW || seen.counts.has(nc)) return false;
    seen.counts.add(nc);
    if (nc > seen.max) seen.max = nc;
    if (seen.counts.size > 2 * WINDOW) {
      for (const c of seen.counts) if (c <= seen.max - WINDOW) seen.counts.delete(c);
    }
    return true;
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const [nonce, seen] of this.nonces) if (seen.expiresAt <= now) this.nonces.delete(nonce);
  }
}

/** For a store several nodes share (PostgreSQL): the pairs live in it, under a primary key. */
export class StoreReplayGuard implements ReplayGuard {
  private nextSweep = 0;

  constructor(private readonly db: Db) {}

  async accept(nonce: string, nc: number, expiresAt: number, now: number): Promise<boolean> {
    if (now >= this.nextSweep) {
      this.nextSweep = now + SWEEP_EVERY_MS;
      // Housekeeping: no request waits for it (or fails with it); a failed sweep is retried on
      // the next request.
      this.db
        .deleteFrom('digest_nonce_uses')
        .where('expires_at', '<=', now)
        .execute()
        .catch(() => {
          this.nextSweep = 0;
        });
    }
    // One statement: recorded unless used before (the primary key) or below the window (the
    // NOT EXISTS, an index range on the same key).
    const row = this.db
      .selectNoFrom([sql<string>`${nonce}::text`.as('nonce'), sql<number>`${nc}::bigint`.as('nc'), sql<number>`${expiresAt}::bigint`.as('expires_at')])
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('digest_nonce_uses').select(sql`1`.as('above')).where('nonce', '=', nonce).where('nc', '>=', nc + WINDOW))),
      );
    const r = await this.db
      .insertInto('digest_nonce_uses')
      .columns(['nonce', 'nc', 'expires_at'])
      .expression(row)
      .onConflict((oc) => oc.columns(['nonce', 'nc']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}
