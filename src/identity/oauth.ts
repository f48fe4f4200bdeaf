import * as crypto from 'node:crypto';
import type { Db } from '../store/database.js';
import type { IdentityCache } from './cache.js';
import type { Principal } from './principal.js';
import * as repo from './repository.js';
import { DECOY_HASH, verifySecret } from './secrets.js';

// OAuth 2.0 client credentials for service accounts: secrets are checked against their scrypt
// hash; access tokens are opaque random strings kept only as SHA-256, so the store can tell a
// token it issued (and whether it expired or was revoked) on every node, but never hand one out.

// Hashed on every request: Node's one-shot hash (20.12 and later) costs a third of a Hash object.
export const tokenHash: (token: string) => string =
  typeof crypto.hash === 'function' ? (token) => crypto.hash('sha256', token, 'hex') : (token) => crypto.createHash('sha256').update(token, 'utf8').digest('hex');

export class OAuthTokens {
  constructor(
    private readonly db: Db,
    readonly lifetimeMs: number,
    private readonly identities: IdentityCache,
    private readonly now: () => number = Date.now,
  ) {}

  /** The service account these client credentials belong to, or undefined (same cost either way). */
  async authenticateClient(clientId: string, clientSecret: string): Promise<repo.ServiceAccountRow | undefined> {
    const account = await repo.getServiceAccountRow(this.db, clientId);
    const ok = await verifySecret(clientSecret, account?.secretHash ?? DECOY_HASH);
    return ok ? account : undefined;
  }

  async issue(account: repo.ServiceAccountRow): Promise<{ accessToken: string; expiresIn: number }> {
    const now = this.now();
    const accessToken = crypto.randomBytes(32).toString('base64url');
    await repo.purgeExpiredTokens(this.db, account.id, now - 86_400_000);
    await repo.insertToken(this.db, { hash: tokenHash(accessToken), credentialId: account.id, createdAt: now, expiresAt: now + this.lifetimeMs });
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
