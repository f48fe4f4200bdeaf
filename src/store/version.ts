import type { Db } from './schema.js';
import { prepared } from './prepared.js';

// A number in the store that every write to identities (organizations, projects, credentials,
// roles, access lists, token revocations) and to faults increases. Each node keeps what it
// reads from those tables in memory and checks this number before every request (one read
// shared by the requests of one event-loop turn: see refresh()): unchanged, the memory is
// current; changed — on any node, or by a CLI command — it is dropped. So a revoked token is
// refused on the very next request everywhere, without each request re-reading every
// credential.

const KEY = 'store_version';

/**
 * Changes this process made to the version (or committed transactions that may have): a turn's
 * shared read (StoreVersion.refresh) that began before one of them is not reused after it.
 */
let localChanges = 0;
export const noteLocalChange = () => {
  localChanges++;
};

/** Increases the version; call it inside (or right after) the write it announces. */
export async function bumpVersion(db: Db): Promise<void> {
  await db
    .insertInto('counters')
    .values({ key: KEY, value: 1 })
    .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ value: eb('counters.value', '+', 1) })))
    .execute();
  noteLocalChange();
}

/**
 * Proof that the store version was checked for the request at hand: only refresh() makes one.
 * What reads this node's memory under the version on a request's behalf takes it as an argument,
 * so it cannot be called before that check — nor pay for a second one of its own.
 */
export type Fresh = number & { readonly checkedForThisRequest: unique symbol };

export class StoreVersion {
  /** The version last read; -1 before the first read. */
  value = -1;
  /** Store round trips made to read it (shared reads count once). */
  reads = 0;
  private readonly read;
  private readonly listeners: (() => void)[] = [];

  constructor(db: Db) {
    this.read = prepared<[], { value: number }>(db, 0, () => db.selectFrom('counters').select('value').where('key', '=', KEY), { cached: true });
  }

  /**
   * Reads the version; if it moved, everything cached under the old one is dropped.
   *
   * Requests handled in the same turn of the event loop share one read. Every one of them had
   * arrived (its socket was reported readable) before that turn's read began, so the read still
   * sees every change committed before any of them arrived — what "checked on the very next
   * request" promises — at one store round trip per turn instead of one per request.
   */
  refresh(): Promise<Fresh> {
    if (this.thisTurn && this.thisTurn.changes === localChanges) return this.thisTurn.read;
    const turn = { read: this.readNow(), changes: localChanges };
    this.thisTurn = turn;
    setImmediate(() => {
      if (this.thisTurn === turn) this.thisTurn = undefined;
    });
    return turn.read;
  }

  private thisTurn: { read: Promise<Fresh>; changes: number } | undefined;

  private async readNow(): Promise<Fresh> {
    this.reads++;
    const v = Number((await this.read()).rows[0]?.value ?? 0) as Fresh;
    if (v !== this.value) {
      this.value = v;
      for (const drop of this.listeners) drop();
    }
    return v;
  }

  /** Registers what to drop when the version moves. */
  onChange(drop: () => void): void {
    this.listeners.push(drop);
  }
}

/** A bounded map of things read under the current store version. */
export class VersionedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(
    private readonly version: StoreVersion,
    private readonly max = 10_000,
  ) {
    version.onChange(() => this.entries.clear());
  }

  /**
   * The cached value, or `load()`'s. What was loaded is kept only if the version did not move
   * while loading (else it may predate the change that moved it).
   */
  async get(key: K, load: () => Promise<V>, keep: (v: V) => boolean = () => true): Promise<V> {
    if (this.entries.has(key)) return this.entries.get(key)!;
    const at = this.version.value;
    const v = await load();
    if (keep(v) && at !== -1 && at === this.version.value) {
      // Full: the oldest entry goes (clearing everything would make every caller miss at once).
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as K);
      this.entries.set(key, v);
    }
    return v;
  }

  delete(key: K): void {
    this.entries.delete(key);
  }
}
