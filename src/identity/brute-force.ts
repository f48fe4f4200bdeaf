// Repeated failed authentications from one address lock that address out for a while; other
// addresses are untouched. A failure is a request that presented credentials that did not
// verify (a Digest response, a bearer token, a client secret) — not the first, credential-less
// request every Digest client makes to get its challenge. Counts live in this process.

export interface LockoutSettings {
  /** Failures within the window that trigger a lockout; 0 disables the guard. */
  limit: number;
  windowMs: number;
  lockoutMs: number;
}

interface Record {
  failures: number[];
  lockedUntil: number;
}

const SWEEP_EVERY_MS = 60_000;

export class AuthFailureGuard {
  private readonly byAddress = new Map<string, Record>();
  private nextSweep = 0;

  constructor(
    readonly settings: LockoutSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds until `ip` may try again, or 0 when it may now. */
  lockedFor(ip: string): number {
    const r = this.byAddress.get(ip);
    const left = r ? r.lockedUntil - this.now() : 0;
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  fail(ip: string): void {
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

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const [ip, r] of this.byAddress) {
      if (r.lockedUntil <= now && r.failures.every((t) => t <= now - this.settings.windowMs)) this.byAddress.delete(ip);
    }
  }
}
