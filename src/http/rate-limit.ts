import { errors } from '../atlas/errors.js';

// Check 9: a token bucket per project for this endpoint set, as Atlas applies to its
// Admin API. Buckets live in this process's memory.

export interface RateLimitSettings {
  enabled: boolean;
  capacity: number;
  /** Tokens added per period. */
  refill: number;
  periodMs: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export interface RateState {
  limit: number;
  remaining: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly settings: RateLimitSettings,
    private readonly now: () => number = Date.now,
  ) {}

  private bucket(key: string): Bucket {
    const now = this.now();
    const { capacity, refill, periodMs } = this.settings;
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: capacity, at: now };
      this.buckets.set(key, b);
    } else if (now > b.at) {
      b.tokens = Math.min(capacity, b.tokens + ((now - b.at) * refill) / periodMs);
      b.at = now;
    }
    return b;
  }

  /** Takes one token for `key` or throws RATE_LIMITED; returns the state to report. */
  take(key: string, resource: string): RateState {
    const { capacity, refill, periodMs } = this.settings;
    const b = this.bucket(key);
    if (b.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil(((1 - b.tokens) * periodMs) / refill / 1000));
      throw errors.rateLimited(resource, refill, Math.round((periodMs / 60_000) * 100) / 100, retryAfter);
    }
    b.tokens -= 1;
    return { limit: capacity, remaining: Math.floor(b.tokens) };
  }

  /** The state of `key`'s bucket without taking from it (a full bucket for unknown keys). */
  peek(key: string | undefined): RateState {
    const { capacity } = this.settings;
    const b = key === undefined ? undefined : this.buckets.get(key) && this.bucket(key);
    return { limit: capacity, remaining: b ? Math.floor(b.tokens) : capacity };
  }

  /** Forgets every bucket (used by reset). */
  clear(): void {
    this.buckets.clear();
  }
}
