import type { Db } from '../store/database.js';
import { type StoreVersion, VersionedCache } from '../store/version.js';
import type { Principal } from './principal.js';
import { type ApiKeyRow, findProjectOrg, findToken, getApiKeyRow, principalForApiKey, principalForServiceAccount } from './repository.js';

// What authenticating and authorising a request reads — a credential with its grants, a
// project's organization — kept per node under the store version (store/version.ts), which the
// request pipeline re-reads first thing. Expiry is checked at every use.

interface CachedToken {
  principal: Principal;
  expiresAt: number;
  revoked: boolean;
}

export class IdentityCache {
  private readonly tokens: VersionedCache<string, CachedToken | undefined>;
  private readonly apiKeys: VersionedCache<string, { key: ApiKeyRow; principal: Principal } | undefined>;
  private readonly projects: VersionedCache<string, string | undefined>;

  constructor(
    private readonly db: Db,
    readonly version: StoreVersion,
  ) {
    this.tokens = new VersionedCache(version);
    this.apiKeys = new VersionedCache(version);
    // Every request names a project: hold all of them for stores of up to a quarter million
    // projects (some 30 MB), so authorising stays one map lookup as the store grows.
    this.projects = new VersionedCache(version, 250_000);
  }

  /** The service account a token (by its hash) speaks for, if it is known, live and unexpired. */
  async tokenPrincipal(hash: string, now: number): Promise<Principal | undefined> {
    const t = await this.tokens.get(
      hash,
      async () => {
        const row = await findToken(this.db, hash);
        return row && { principal: await principalForServiceAccount(this.db, row.credentialId, row.clientId, row.orgId), expiresAt: row.expiresAt, revoked: row.revokedAt !== null };
      },
      // A token minted later does not move the version, so an unknown one is never remembered.
      (v) => v !== undefined,
    );
    return t && !t.revoked && t.expiresAt > now ? t.principal : undefined;
  }

  async apiKey(publicKey: string): Promise<{ key: ApiKeyRow; principal: Principal } | undefined> {
    return this.apiKeys.get(publicKey, async () => {
      const key = await getApiKeyRow(this.db, publicKey);
      return key && { key, principal: await principalForApiKey(this.db, key) };
    });
  }

  async projectOrg(groupId: string): Promise<string | undefined> {
    return this.projects.get(groupId, () => findProjectOrg(this.db, groupId));
  }
}
