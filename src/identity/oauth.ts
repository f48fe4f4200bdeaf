import * as crypto from 'node:crypto';
import type { Db } from '../store/database.js';
import type { IdentityCache } from './cache.js';
import type { Principal } from './principal.js';
import * as repo from './repository.js';
import { DECOY_HASH, verifySecret } from './secrets.js';

// OAuth 2.0 client credentials for service accounts: secrets are checked against their scrypt
// hash. Access tokens are JWT-shaped, as Atlas's are (a client such as the Atlas CLI reads `exp`
// to reuse a saved token rather than ask for a new one per command): header, claims (iss, sub =
// the client id, iat, exp, jti = 32 random bytes, what makes a token unguessable) and an
// HMAC-SHA256 signature under a per-store key. The store keeps only their SHA-256, so it can tell
// a token it issued (and whether it expired or was revoked) on every node, but never hand one
// out; a token is honoured because its hash is known, never because its signature checks.

// Hashed on every request: Node's one-shot hash (20.12 and later) costs a third of a Hash object.
export const tokenHash: (token: string) => string =
  typeof crypto.hash === 'function' ? (token) => crypto.hash('sha256', token, 'hex') : (token) => crypto.createHash('sha256').update(token, 'utf8').digest('hex');

const base64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');
const JWT_HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
/** Who the tokens say issued them. */
export const TOKEN_ISSUER = 'snaplink';

export class OAuthTokens {
  constructor(
    private readonly db: Db,
    readonly lifetimeMs: number,
    private readonly identities: IdentityCache,
    /** The HMAC key tokens are signed with (a store setting, so every node signs alike). */
    private readonly signingKey: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new token for `clientId`: its `exp` is the whole second at or before the stored expiry, so a client reusing it until then is never refused for age. */
  private mint(clientId: string, issuedAt: number, expiresAt: number): string {
    const claims = { iss: TOKEN_ISSUER, sub: clientId, iat: Math.floor(issuedAt / 1000), exp: Math.floor(expiresAt / 1000), jti: crypto.randomBytes(32).toString('base64url') };
    const unsigned = `${JWT_HEADER}.${base64url(JSON.stringify(claims))}`;
    return `${unsigned}.${crypto.createHmac('sha256', this.signingKey).update(unsigned).digest('base64url')}`;
  }

  /** The service account these client credentials belong to, or undefined (same cost either way). */
  async authenticateClient(clientId: string, clientSecret: string): Promise<repo.ServiceAccountRow | undefined> {
    const account = await repo.getServiceAccountRow(this.db, clientId);
    const ok = await verifySecret(clientSecret, account?.secretHash ?? DECOY_HASH);
    return ok ? account : undefined;
  }

  async issue(account: repo.ServiceAccountRow): Promise<{ accessToken: string; expiresIn: number }> {
    const now = this.now();
    const expiresAt = now + this.lifetimeMs;
    const accessToken = this.mint(account.clientId, now, expiresAt);
    await repo.purgeExpiredTokens(this.db, account.id, now - 86_400_000);
    await repo.insertToken(this.db, { hash: tokenHash(accessToken), credentialId: account.id, createdAt: now, expiresAt });
    return { accessToken, expiresIn: Math.round(this.lifetimeMs / 1000) };
  }

  /** RFC 7009: revokes the token if it is this client's; unknown tokens are not an error. */
  async revoke(account: repo.ServiceAccountRow, token: string): Promise<void> {
    await repo.revokeToken(this.db, tokenHash(token), account.id, this.now());
  }

  /** Who a bearer token speaks for; undefined when unknown, expired or revoked. */
  async principal(token: string): Promise<Principal | undefined> {
    if (token.length === 0 || token.length > 512) return undefined;
    return this.identities.tokenPrincipal(tokenHash(token), this.now());
  }
}
