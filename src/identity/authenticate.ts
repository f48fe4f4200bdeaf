import { splitScheme } from '../atlas/digest.js';
import { ApiError, errors } from '../atlas/errors.js';
import type { Fresh } from '../store/version.js';
import type { AuthFailureGuard } from './brute-force.js';
import type { IdentityCache } from './cache.js';
import type { DigestVerifier } from './digest.js';
import type { OAuthTokens } from './oauth.js';
import type { Principal } from './principal.js';

// Check 2 of the request pipeline: who is calling — an API key over HTTP Digest or a service
// account's bearer token. Any failure is the same 401 with a fresh Digest challenge, so a
// caller learns nothing about which part was wrong; failures count towards the address's
// lockout.

export interface AuthRequest {
  method: string;
  /** The request-target as sent: path and query. */
  url: string;
  authorization: string | undefined;
  ip: string;
  /** The request's check of the store version: what this node remembers is current under it. */
  fresh: Fresh;
}

export function lockedOut(seconds: number): ApiError {
  return errors.tooManyFailedAuthentications(seconds);
}

export class Authenticator {
  constructor(
    private readonly identities: IdentityCache,
    private readonly digest: DigestVerifier,
    private readonly tokens: OAuthTokens,
    readonly guard: AuthFailureGuard,
  ) {}

  async authenticate(req: AuthRequest): Promise<Principal> {
    const header = req.authorization;
    if (header === undefined) throw errors.unauthorized(this.digest.challenges());
    const locked = await this.guard.lockedFor(req.ip, req.fresh);
    if (locked > 0) throw lockedOut(locked);

    const { scheme, rest } = splitScheme(header);
    if (scheme === 'digest') {
      let principal: Principal | undefined;
      const outcome = await this.digest.verify(req.method, req.url, rest, async (username) => {
        const found = await this.identities.apiKey(username);
        principal = found?.principal;
        return found && { MD5: found.key.ha1Md5, 'SHA-256': found.key.ha1Sha256 };
      });
      if (outcome.ok && principal) return principal;
      // An expired nonce with the right credentials is routine, not an attack.
      if (!outcome.ok && outcome.stale) throw errors.unauthorized(this.digest.challenges(true));
    } else if (scheme === 'bearer') {
      const principal = await this.tokens.principal(rest.trim());
      if (principal) return principal;
      await this.guard.fail(req.ip);
      const err = errors.unauthorized(this.digest.challenges());
      err.headers['www-authenticate'] = [...(err.headers['www-authenticate'] as string[]), 'Bearer realm="MMS Public API", error="invalid_token"'];
      throw err;
    }
    await this.guard.fail(req.ip);
    throw errors.unauthorized(this.digest.challenges());
  }
}
