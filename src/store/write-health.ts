import { isStoreFull } from './errors.js';

// Whether the store takes writes right now. A full disk refuses writes while reads go on being
// served; operators see it in /_snaplink/ready, /_snaplink/status and the metrics, and the
// lifecycle runner waits (with a bounded backoff) instead of retrying on every tick. The store
// reports every refused and every accepted write here. A nearly full disk takes some writes
// (those that fit in pages already there) and refuses others, so a refusal ends only with a
// write accepted a while after the last one refused (SETTLE_MS): it is said once, not at each flip.

export interface Refusal {
  /** When the first refused write of this episode happened (ms since the epoch). */
  since: number;
  /** What the store said. */
  reason: string;
}

/** How long writes must go unrefused before a refusal is over. */
const SETTLE_MS = 1000;

export class WriteHealth {
  private current: Refusal | undefined;
  private lastRefused = 0;
  private readonly listeners: ((refusal: Refusal | undefined) => void)[] = [];

  /** Undefined while writes are taken. */
  get refusal(): Refusal | undefined {
    return this.current;
  }

  /** A write failed; only a full store counts (a duplicate or a lost connection is not a refusal). */
  failed(err: unknown): void {
    if (!isStoreFull(err)) return;
    this.lastRefused = Date.now();
    if (this.current !== undefined) return;
    this.current = { since: Date.now(), reason: err instanceof Error ? err.message : String(err) };
    for (const l of this.listeners) l(this.current);
  }

  /** A write was committed. */
  succeeded(): void {
    if (this.current === undefined || Date.now() - this.lastRefused < SETTLE_MS) return;
    this.current = undefined;
    for (const l of this.listeners) l(undefined);
  }

  /** Told when writes start being refused, and when they are taken again. */
  onChange(listener: (refusal: Refusal | undefined) => void): void {
    this.listeners.push(listener);
  }
}
