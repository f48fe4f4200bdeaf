import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

// Service-account secrets at rest: scrypt (memory-hard, salted), never the secret itself.
// Checking one costs the same whatever the presented secret is, and ends in a constant-time
// comparison of two equal-length derived keys — so timing tells nothing about how much of a
// secret was right.

const N = 16_384;
const R = 8;
const P = 1;
const KEYLEN = 32;

function derive(secret: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEYLEN, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** A stored hash nobody's secret matches: checked against when a client id is unknown. */
export const DECOY_HASH = `scrypt$${N}$${R}$${P}$${randomBytes(16).toString('base64url')}$${randomBytes(KEYLEN).toString('base64url')}`;

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await derive(secret, Buffer.from(salt, 'base64url'), Number(n), Number(r), Number(p));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Atlas-shaped service account identifiers and secrets. */
export const newClientId = () => `mdb_sa_id_${randomBytes(12).toString('hex')}`;
export const newClientSecret = () => `mdb_sa_sk_${randomBytes(30).toString('base64url')}`;
export const CLIENT_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;
