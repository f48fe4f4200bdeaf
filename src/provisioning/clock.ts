import type { Db } from '../store/database.js';

// The lifecycle's clock: real time plus an offset kept in the store, which the control API
// advances to fast-forward every pending transition. Only lifecycle due times use it; nonces,
// tokens, leases and rate limits run on real time.

const KEY = 'clock_offset_ms';

export class VirtualClock {
  private offsetMs = 0;

  constructor(
    private readonly db: Db,
    private readonly realNow: () => number = Date.now,
  ) {}

  now(): number {
    return this.realNow() + this.offsetMs;
  }

  get offset(): number {
    return this.offsetMs;
  }

  /** Re-reads the offset, which any node sharing the store may have advanced. */
  async refresh(): Promise<void> {
    const row = await this.db.selectFrom('counters').select('value').where('key', '=', KEY).executeTakeFirst();
    this.offsetMs = row ? Number(row.value) : 0;
  }

  /** Moves the clock forward by `ms` for everyone; returns the new offset. */
  async advance(ms: number): Promise<number> {
    await this.db.insertInto('counters').values({ key: KEY, value: 0 }).onConflict((oc) => oc.column('key').doNothing()).execute();
    const row = await this.db
      .updateTable('counters')
      .set((eb) => ({ value: eb('value', '+', ms) }))
      .where('key', '=', KEY)
      .returning('value')
      .executeTakeFirstOrThrow();
    this.offsetMs = Number(row.value);
    return this.offsetMs;
  }

  async reset(): Promise<void> {
    await this.db.deleteFrom('counters').where('key', '=', KEY).execute();
    this.offsetMs = 0;
  }
}
