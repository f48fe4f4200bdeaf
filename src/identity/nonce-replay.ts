// Refuses a digest nonce-count that was already used with the same nonce (RFC 7616 §3.4:
// the server tracks nc to detect replays). Clients that share one nonce between concurrent
// requests may present counts slightly out of order, so a window of recent counts is kept per
// nonce rather than only the highest. Entries leave with their nonce's expiry.

const WINDOW = 1024;
const SWEEP_EVERY_MS = 30_000;

interface Seen {
  max: number;
  counts: Set<number>;
  expiresAt: number;
}

export class NonceReplayGuard {
  private readonly nonces = new Map<string, Seen>();
  private nextSweep = 0;

  /** Records (nonce, nc); false when that pair was seen before or is too old to tell. */
  accept(nonce: string, nc: number, expiresAt: number, now: number): boolean {
    this.sweep(now);
    let seen = this.nonces.get(nonce);
    if (!seen) {
      seen = { max: 0, counts: new Set(), expiresAt };
      this.nonces.set(nonce, seen);
    }
    if (nc <= seen.max - WINDOW || seen.counts.has(nc)) return false;
    seen.counts.add(nc);
    if (nc > seen.max) seen.max = nc;
    if (seen.counts.size > 2 * WINDOW) {
      for (const c of seen.counts) if (c <= seen.max - WINDOW) seen.counts.delete(c);
    }
    return true;
  }

  get size(): number {
    return this.nonces.size;
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const [nonce, seen] of this.nonces) if (seen.expiresAt <= now) this.nonces.delete(nonce);
  }
}
