import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../store/database.js';
import { getSetting, putSetting, putSettingIfAbsent } from '../store/settings.js';

// The control API's bearer token. Given by SNAPLINK_ADMIN_TOKEN (or --admin-token), or else
// generated at the first start, printed once and kept only as its SHA-256 in the store — so
// every node sharing the store accepts it, and `snaplink admin-token reset` replaces it.

const KEY = 'admin_token_sha256';
const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export const newAdminToken = () => `snaplink_admin_${randomBytes(24).toString('base64url')}`;

/** Stores a new random token's hash; returns the token (to be shown once). */
export async function resetAdminToken(db: Db): Promise<string> {
  const token = newAdminToken();
  await putSetting(db, KEY, sha256(token).toString('hex'));
  return token;
}

export class AdminToken {
  private readonly configured: Buffer | undefined;

  /** With a configured token, that one; otherwise the one in the store (see generateIfAbsent). */
  constructor(
    private readonly db: Db,
    configured: string | undefined,
  ) {
    this.configured = configured === undefined ? undefined : sha256(configured);
  }

  /**
   * Without a configured token, stores a new one when the store has none and returns it, for
   * the one-time print. Insert-if-absent: of several nodes starting together, only the one
   * whose token was stored prints it.
   */
  async generateIfAbsent(): Promise<string | undefined> {
    if (this.configured) return undefined;
    const token = newAdminToken();
    return (await putSettingIfAbsent(this.db, KEY, sha256(token).toString('hex'))) ? token : undefined;
  }

  /** Constant-time check of a presented token (hashes are compared, never the secrets). */
  async verify(presented: string | undefined): Promise<boolean> {
    if (presented === undefined || presented.length === 0 || presented.length > 512) return false;
    let expected = this.configured;
    if (!expected) {
      const stored = await getSetting(this.db, KEY);
      if (stored === undefined) return false;
      expected = Buffer.from(stored, 'hex');
    }
    return timingSafeEqual(sha256(presented), expected);
  }
}
