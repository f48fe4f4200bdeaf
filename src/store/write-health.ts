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
    if (this.current === undefined) return;
    const unrefusedFor = Date.now() - this.lastRefused;
    if (unrefusedFor >= SETTLE_MS) return this.end();
    // Too soon to tell: looked at again once the settling time is over, unless a write is refused meanwhile.
    const refusedAt = this.lastRefused;
    clearTimeout(this.settling);
    this.settling = setTimeout(() => {
      if (this.lastRefused === refusedAt) this.end();
    }, SETTLE_MS - unrefusedFor).unref();
  }

  private settling: NodeJS.Timeout | undefined;

  private end(): void {
    clearTimeout(this.settling);
    this.current = undefined;
    for (const l of this.listeners) l(undefined);
  }

  /** Told when writes start being refused, and when they are taken again. */
  onChange(listener: (refusal: Refusal | undefined) => void): void {
    this.listeners.push(listener);
  }
}

/**
 * For what a full store makes someone drop (a journal batch, a history entry): counts it while
 * the refusal lasts — the refusal itself is said once, by whoever listens to `writes` — and
 * reports the count once it ends. Without `writes`, each drop is reported at once.
 */
export function dropCounter(writes: WriteHealth | undefined, report: (dropped: number) => void): (n: number) => void {
  if (!writes) return report;
  let dropped = 0;
  writes.onChange((refusal) => {
    if (refusal || dropped === 0) return;
    report(dropped);
    dropped = 0;
  });
  return (n) => {
    dropped += n;
  };
}
