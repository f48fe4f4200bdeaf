import { randomBytes } from 'node:crypto';
import { type DigestAlgorithm, digestResponse, ha1 } from '../../src/atlas/digest.js';
import { collectionPath, KEYS, P1 } from './world.js';

// Hand-built HTTP Digest Authorization headers (RFC 7616), so that a test can break one rule at
// a time: the nonce-count, the URI, the method, the realm, the algorithm, the key.

export interface DigestParts {
  nonce: string;
  nc: number;
  uri?: string;
  method?: string;
  algorithm?: DigestAlgorithm;
  realm?: string;
  publicKey?: string;
  privateKey?: string;
  /** Appended as it is, after the last parameter. */
  extra?: string;
  /** null leaves qop out. */
  qop?: string | null;
}

/** An Authorization header for `GET collectionPath(P1)` as ownerP1, unless told otherwise. */
export function digestAuthorization(o: DigestParts): string {
  const algorithm = o.algorithm ?? 'MD5';
  const uri = o.uri ?? collectionPath(P1);
  const realm = o.realm ?? 'MMS Public API';
  const publicKey = o.publicKey ?? KEYS.ownerP1.publicKey;
  const nc = o.nc.toString(16).padStart(8, '0');
  const cnonce = randomBytes(6).toString('hex');
  const response = digestResponse({
    algorithm,
    ha1: ha1(algorithm, publicKey, o.privateKey ?? KEYS.ownerP1.privateKey, realm),
    method: o.method ?? 'GET',
    uri,
    nonce: o.nonce,
    nc,
    cnonce,
    qop: 'auth',
  });
  const qop = o.qop === null ? '' : `, qop=${o.qop ?? 'auth'}`;
  return `Digest username="${publicKey}", realm="${realm}", nonce="${o.nonce}", uri="${uri}", algorithm=${algorithm}${qop}, nc=${nc}, cnonce="${cnonce}", response="${response}"${o.extra ?? ''}`;
}
