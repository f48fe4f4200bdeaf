import { type Db, transaction } from '../store/database.js';
import { bumpVersion, type Fresh, type StoreVersion, VersionedCache } from '../store/version.js';

// Repeated failed authentications from one address lock that address out for a while; other
// addresses are untouched. A failure is a request that presented credentials that did not
// verify (a Digest response, a bearer token, a client secret) — not the first, credential-less
// request every Digest client makes to get its challenge. One rule on both stores: a lockout
// starts at the `limit`-th failure within the last `windowMs`, and the count starts again.

export interface LockoutSettings {
  /** Failures within the window that trigger a lockout; 0 disables the guard. */
  limit: number;
  windowMs: number;
  lockoutMs: number;
}

export interface AuthFailureGuard {
  readonly settings: LockoutSettings;
  /**
   * Seconds until `ip` may try again, or 0 when it may now. `fresh` is the request's check of the
   * store version (the API's guard, the token endpoint): lockouts are read under it.
   */
  lockedFor(ip: string, fresh: Fresh): Promise<number>;
  /** Counts a failure from `ip`. */
  fail(ip: string): Promise<void>;
  /** Forgets every failure and lifts every lockout (a reset of the control API). */
  clear(): Promise<void>;
}

const secondsLeft = (lockedUntil: number, now: number) => (lockedUntil > now ? Math.ceil((lockedUntil - now) / 1000) : 0);

interface Record {
  failures: number[];
  lockedUntil: number;
}

const SWEEP_EVERY_MS = 60_000;

/** For a store one process serves (SQLite): the counts live in this process. */
export class MemoryAuthFailureGuard implements AuthFailureGuard {
  private readonly byAddress = new Map<string, Record>();
  private nextSweep = 0;

  constructor(
    readonly settings: LockoutSettings,
    private readonly now: () => number = Date.now,
  ) {}

  async lockedFor(ip: string, _fresh: Fresh): Promise<number> {
    return secondsLeft(this.byAddress.get(ip)?.lockedUntil ?? 0, this.now());
  }

  async fail(ip: string): Promise<void> {
    if (this.settings.limit <= 0) return;
    const now = this.now();
    this.sweep(now);
    let r = this.byAddress.get(ip);
    if (!r) {
      r = { failures: [], lockedUntil: 0 };
      this.byAddress.set(ip, r);
    }
    r.failures = r.failures.filter((t) => t > now - this.settings.windowMs);
    r.failures.push(now);
    if (r.failures.length >= this.settings.limit) {
      r.lockedUntil = now + this.settings.lockoutMs;
      r.failures = [];
    }
  }

  async clear(): Promise<void> {
    this.byAddress.clear();
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const [ip, r] of this.byAddress) {
      if (r.lockedUntil <= now && r.failures.every((t) => t <= now - this.settings.windowMs)) this.byAddress.delete(ip);
    }
  }
}

/**
 * For a store several nodes share (PostgreSQL): every failure is a row, every lockout a row, so
 * N nodes behind a load balancer give an attacker the same number of tries as one. Failures are
 * rare, so a write each is cheap; the check every request makes is not a read each: a lockout
 * moves the store version (store/version.ts), which every request already checks, and each node
 * keeps the lockouts it read under that version.
 */
export class StoreAuthFailureGuard implements AuthFailureGuard {
  private readonly lockouts: VersionedCache<string, number>;
  private nextSweep = 0;

  constructor(
    readonly settings: LockoutSettings,
    private readonly db: Db,
    private readonly version: StoreVersion,
    private readonly now: () => number = Date.now,
  ) {
    this.lockouts = new VersionedCache(version);
  }

  async lockedFor(ip: string, _fresh: Fresh): Promise<number> {
    if (this.settings.limit <= 0) return 0;
    // No refresh of its own: the request's (`fresh`) is what the cache is checked against. (A
    // second one here would come a round trip later, in another turn, and read the store again.)
    const lockedUntil = await this.lockouts.get(ip, async () => {
      const row = await this.db.selectFrom('auth_lockouts').select('locked_until').where('address', '=', ip).executeTakeFirst();
      return row ? Number(row.locked_until) : 0;
    });
    return secondsLeft(lockedUntil, this.now());
  }

  async fail(ip: string): Promise<void> {
    if (this.settings.limit <= 0) return;
    const now = this.now();
    this.sweep(now);
    // Each statement commits on its own, so a count sees every failure committed before it,
    // whichever node wrote it: concurrent failures may both start the lockout, never none.
    await this.db.insertInto('auth_failures').values({ address: ip, at: now }).execute();
    const row = await this.db
      .selectFrom('auth_failures')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('address', '=', ip)
      .where('at', '>', now - this.settings.windowMs)
      .executeTakeFirst();
    if (Number(row?.n ?? 0) < this.settings.limit) return;
    const lockedUntil = now + this.settings.lockoutMs;
    await transaction(this.db, async (trx) => {
      await trx
        .insertInto('auth_lockouts')
        .values({ address: ip, locked_until: lockedUntil })
        .onConflict((oc) => oc.column('address').doUpdateSet({ locked_until: lockedUntil }))
        .execute();
      await trx.deleteFrom('auth_failures').where('address', '=', ip).where('at', '<=', now).execute();
      // Every node drops what it remembers of lockouts on its next request.
      await bumpVersion(trx);
    });
  }

  async clear(): Promise<void> {
    await transaction(this.db, async (trx) => {
      await trx.deleteFrom('auth_failures').execute();
      await trx.deleteFrom('auth_lockouts').execute();
      // Every node forgets the lockouts it remembers.
      await bumpVersion(trx);
    });
  }

  /** Housekeeping: no request waits for it (or fails with it); a failed sweep is retried later. */
  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    Promise.all([
      this.db.deleteFrom('auth_failures').where('at', '<=', now - this.settings.windowMs).execute(),
      this.db.deleteFrom('auth_lockouts').where('locked_until', '<=', now).execute(),
    ]).catch(() => {
      this.nextSweep = 0;
    });
  }
}
