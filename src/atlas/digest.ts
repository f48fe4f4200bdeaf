import { createHash } from 'node:crypto';

// HTTP Digest (RFC 7616) as Atlas speaks it: realm "MMS Public API", qop=auth. The arithmetic
// and the header grammar are shared by the server (identity/) and the bundled client.

export const DIGEST_REALM = 'MMS Public API';
export const DIGEST_ALGORITHMS = ['MD5', 'SHA-256'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

const nodeHash: Record<DigestAlgorithm, string> = { MD5: 'md5', 'SHA-256': 'sha256' };

export function digestHash(algorithm: DigestAlgorithm, data: string): string {
  return createHash(nodeHash[algorithm]).update(data, 'utf8').digest('hex');
}

export function ha1(algorithm: DigestAlgorithm, username: string, password: string, realm = DIGEST_REALM): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

export interface DigestResponseInput {
  algorithm: DigestAlgorithm;
  ha1: string;
  method: string;
  uri: string;
  nonce: string;
  nc: string;
  cnonce: string;
  qop: 'auth';
}

export function digestResponse(i: DigestResponseInput): string {
  const ha2 = digestHash(i.algorithm, `${i.method}:${i.uri}`);
  return digestHash(i.algorithm, `${i.ha1}:${i.nonce}:${i.nc}:${i.cnonce}:${i.qop}:${ha2}`);
}

// One auth-param: token=token or token="quoted-string" (RFC 9110 §11.2), with its separator.
const AUTH_PARAM = /[ \t]*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^,\s"]*))[ \t]*(?:,|$)/y;

/**
 * Parses the parameters of a `Digest …` credentials or challenge value (auth-param list:
 * token=token or token="quoted-string", comma-separated). Names are lower-cased. Returns null
 * when the value is not well-formed.
 */
export function parseAuthParams(input: string): Map<string, string> | null {
  const params = new Map<string, string>();
  let i = 0;
  while (i < input.length) {
    // Empty list elements are allowed: ", ,a=b".
    while (i < input.length && (input[i] === ',' || input[i] === ' ' || input[i] === '\t')) i++;
    if (i >= input.length) break;
    AUTH_PARAM.lastIndex = i;
    const m = AUTH_PARAM.exec(input);
    if (!m) return null;
    const name = m[1]!.toLowerCase();
    if (params.has(name)) return null;
    params.set(name, m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!);
    i = AUTH_PARAM.lastIndex;
  }
  return params;
}

/** Splits `Scheme rest` off an Authorization / WWW-Authenticate value. */
export function splitScheme(value: string): { scheme: string; rest: string } {
  const trimmed = value.trim();
  const space = trimmed.search(/\s/);
  if (space === -1) return { scheme: trimmed.toLowerCase(), rest: '' };
  return { scheme: trimmed.slice(0, space).toLowerCase(), rest: trimmed.slice(space + 1) };
}

export const quote = (v: string) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
