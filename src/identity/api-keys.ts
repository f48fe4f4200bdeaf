import { randomInt, randomUUID } from 'node:crypto';
import { ha1 } from '../atlas/digest.js';

// Atlas-shaped API keys: an 8-letter public key and a UUID private key. The private key is
// kept only as the two digest HA1 values a server needs to check a Digest response.

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';

export function newPublicKey(): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += LETTERS[randomInt(LETTERS.length)];
  return s;
}

export const newPrivateKey = (): string => randomUUID();

export function keyHashes(publicKey: string, privateKey: string): { ha1Md5: string; ha1Sha256: string } {
  return { ha1Md5: ha1('MD5', publicKey, privateKey), ha1Sha256: ha1('SHA-256', publicKey, privateKey) };
}

export const PUBLIC_KEY_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
