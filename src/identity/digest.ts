import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  DIGEST_REALM,
  type DigestAlgorithm,
  digestResponse,
  parseAuthParams,
  quote,
} from '../atlas/digest.js';
import type { ReplayGuard } from './nonce-replay.js';

// Server side of HTTP Digest (RFC 7616, qop=auth). Nonces carry their issue time and an HMAC
// under a secret kept in the store, so any node sharing that store can check them without
// remembering them; only the nonce-counts already used are remembered, to refuse replays.

export interface DigestSettings {
  secret: string;
  /** Challenges offered, in order of preference; responses in any of them are accepted. */
  algorithms: DigestAlgorithm[];
  nonceLifetimeMs: number;
}

export interface DigestHashes {
  MD5: string;
  'SHA-256': string;
}

export type DigestOutcome =
  | { ok: true; username: string }
  | { ok: false; stale: boolean };

const NONCE_BYTES = 8 + 8 + 16;

export class DigestVerifier {
  private readonly key: Buffer;
  /** Nonces whose signature was already checked (a client reuses one for many requests). */
  private readonly checked = new Map<string, number>();

  constructor(
    private readonly settings: DigestSettings,
    private readonly replay: ReplayGuard,
    private readonly now: () => number = Date.now,
  ) {
    this.key = Buffer.from(settings.secret, 'utf8');
  }

  /** One WWW-Authenticate value per offered algorithm, in Atlas's format. */
  challenges(stale = false): string[] {
    const nonce = this.issueNonce();
    return this.settings.algorithms.map(
      (alg) => `Digest realm=${quote(DIGEST_REALM)}, domain="", nonce=${quote(nonce)}, algorithm=${alg}, qop="auth", stale=${stale}`,
    );
  }

  issueNonce(): string {
    const body = Buffer.alloc(16);
    body.writeBigUInt64BE(BigInt(this.now()), 0);
    randomBytes(8).copy(body, 8);
    return Buffer.concat([body, this.mac(body)]).toString('base64url');
  }

  /** Issue time of a nonce this server (or a peer sharing the secret) made; null if forged. */
  private nonceIssuedAt(nonce: string): number | null {
    const known = this.checked.get(nonce);
    if (known !== undefined) return known;
    const issuedAt = this.checkSignature(nonce);
    if (issuedAt !== null) {
      if (this.checked.size >= 10_000) this.checked.clear();
      this.checked.set(nonce, issuedAt);
    }
    return issuedAt;
  }

  private checkSignature(nonce: string): number | null {
    if (nonce.length > 64) return null;
    const raw = Buffer.from(nonce, 'base64url');
    if (raw.length !== NONCE_BYTES || raw.toString('base64url') !== nonce) return null;
    const body = raw.subarray(0, 16);
    if (!timingSafeEqual(raw.subarray(16), this.mac(body))) return null;
    return Number(body.readBigUInt64BE(0));
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, 16);
  }

  /**
   * Checks a `Digest …` credentials value against the request. `lookup` returns the stored
   * HA1 values of a username, or undefined when there is no such key.
   */
  async verify(
    method: string,
    requestTarget: string,
    credentials: string,
    lookup: (username: string) => Promise<DigestHashes | undefined>,
  ): Promise<DigestOutcome> {
    const fail = { ok: false, stale: false } as const;
    const p = parseAuthParams(credentials);
    if (!p) return fail;
    const username = p.get('username');
    const nonce = p.get('nonce');
    const uri = p.get('uri');
    const response = p.get('response');
    const cnonce = p.get('cnonce');
    const nc = p.get('nc');
    const algorithm = (p.get('algorithm') ?? 'MD5').toUpperCase() as DigestAlgorithm;
    if (!username || !nonce || !uri || !response || !cnonce || !nc) return fail;
    if (p.get('realm') !== DIGEST_REALM || p.get('qop') !== 'auth') return fail;
    if (!this.settings.algorithms.includes(algorithm)) return fail;
    if (!/^[0-9a-fA-F]{8}$/.test(nc)) return fail;
    if (!sameTarget(uri, requestTarget)) return fail;
    const issuedAt = this.nonceIssuedAt(nonce);
    if (issuedAt === null) return fail;

    const hashes = await lookup(username);
    // An unknown user costs the same work as a known one.
    const storedHa1 = hashes ? hashes[algorithm] : randomBytes(algorithm === 'MD5' ? 16 : 32).toString('hex');
    const expected = digestResponse({ algorithm, ha1: storedHa1, method, uri, nonce, nc, cnonce, qop: 'auth' });
    // Byte lengths, not string lengths: a non-ASCII response of the right length in
    // characters must be a 401, not a timingSafeEqual error.
    const given = Buffer.from(response.toLowerCase());
    const wanted = Buffer.from(expected);
    const matches = given.length === wanted.length && timingSafeEqual(given, wanted);
    if (!matches || !hashes) return fail;

    const now = this.now();
    const expiresAt = issuedAt + this.settings.nonceLifetimeMs;
    // Correct credentials on an expired nonce: tell the client to retry with a fresh one.
    if (now >= expiresAt || issuedAt > now + 60_000) return { ok: false, stale: true };
    if (!(await this.replay.accept(nonce, parseInt(nc, 16), expiresAt, now))) return fail;
    return { ok: true, username };
  }
}

/** RFC 7616 §3.4.6: the digest-uri must name the request-target (an absolute form is allowed). */
function sameTarget(uri: string, requestTarget: string): boolean {
  if (uri === requestTarget) return true;
  if (!/^https?:\/\//i.test(uri)) return false;
  try {
    const u = new URL(uri);
    return u.pathname + u.search === requestTarget;
  } catch {
    return false;
  }
}
