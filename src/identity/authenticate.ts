import { splitScheme } from '../atlas/digest.js';
import { errors } from '../atlas/errors.js';
import type { Db } from '../store/database.js';
import type { DigestVerifier } from './digest.js';
import type { Principal } from './principal.js';
import { type ApiKeyRow, getApiKeyRow, principalForApiKey } from './repository.js';

// Check 2 of the request pipeline: who is calling. Any failure is the same 401 with a fresh
// Digest challenge, so a caller learns nothing about which part was wrong.

export interface AuthRequest {
  method: string;
  /** The request-target as sent: path and query. */
  url: string;
  authorization: string | undefined;
}

export class Authenticator {
  constructor(
    private readonly db: Db,
    private readonly digest: DigestVerifier,
  ) {}

  async authenticate(req: AuthRequest): Promise<Principal> {
    const header = req.authorization;
    if (header !== undefined) {
      const { scheme, rest } = splitScheme(header);
      if (scheme === 'digest') {
        let key: ApiKeyRow | undefined;
        const outcome = await this.digest.verify(req.method, req.url, rest, async (username) => {
          key = await getApiKeyRow(this.db, username);
          return key && { MD5: key.ha1Md5, 'SHA-256': key.ha1Sha256 };
        });
        if (outcome.ok && key) return principalForApiKey(this.db, key);
        throw errors.unauthorized(this.digest.challenges(!outcome.ok && outcome.stale));
      }
    }
    throw errors.unauthorized(this.digest.challenges());
  }
}
