import type { IncomingHttpHeaders } from 'node:http';
import { claimedIdentity, isSecretName, REDACTED, redactForm, redactHeader, redactJson } from '../redaction.js';

// What the request journal keeps of one request: a summary (what lists and filters read) and
// its details — the request's and the answer's headers and bodies. On the request's path only
// references are taken (a Capture); everything that costs — redaction, capping, serialising —
// happens in the journal's batch writer, a moment later (stored()).

/** What a request leaves for the journal: references, nothing copied or serialised yet. */
export interface Capture {
  /** When it arrived (ms since the epoch). */
  at: number;
  method: string;
  url: string;
  operation: string;
  groupId: string | null;
  /** The credential that authenticated it (a public key, a client id). */
  principal: string | null;
  status: number;
  errorCode: string | null;
  errorDetail: string | null;
  durationMs: number;
  requestId: string;
  node: string;
  /** The injected fault that answered or delayed it. */
  faultId: string | null;
  /** The endpoint its path names. */
  pathId: string | null;
  requestHeaders: IncomingHttpHeaders;
  requestBody: unknown;
  responseHeaders: Record<string, string | number | string[] | undefined>;
  responseBody: unknown;
}

/** A body as kept: its text (cut at the cap), its size in bytes, and whether it was cut or had secrets removed. */
export interface StoredBody {
  text: string;
  bytes: number;
  truncated?: true;
  redacted?: true;
}

export type StoredHeaders = [name: string, value: string][];
/** [request headers, request body, response headers, response body]. */
export type StoredDetails = [StoredHeaders, StoredBody | null, StoredHeaders, StoredBody | null];

/** The summary's values beyond the ones the request path knows (JOURNAL_FIELDS from `claimed` on). */
export interface Derived {
  /** The identity an Authorization header (or a token request's form) claimed, verified or not. */
  claimed: string | null;
  /** A Digest challenge: a 401 that asked for credentials a request did not send. */
  challenge: boolean;
  /** The endpoint it is about: its path's, or the one its 201 created. */
  endpointId: string | null;
  /** The project it is about: its path's, or the one its 201 created. */
  groupId: string | null;
  /** The Digest nonce a challenge gave or a request used: what ties a challenge to its retry. */
  nonce: string | null;
}

const TOKEN_PATHS = /^\/api\/oauth\/(token|revoke)\b/;

/** Redacts, caps and serialises what `c` references: its derived summary fields and its details. */
export function stored(c: Capture, bodyLimit: number): { derived: Derived; details: StoredDetails } {
  const requestHeaders = headersOf(c.requestHeaders);
  const responseHeaders = headersOf(c.responseHeaders);
  const authorization = headerValue(c.requestHeaders.authorization);
  const challengeHeader = headerValue(c.responseHeaders['www-authenticate']);
  const tokenEndpoint = TOKEN_PATHS.test(c.url);
  const requestText = text(c.requestBody);
  // A token endpoint's body is all credentials (a client secret, a token to revoke): none of it is kept.
  const requestBody = requestText === null ? null : tokenEndpoint ? { text: REDACTED, bytes: Buffer.byteLength(requestText), redacted: true as const } : body(requestText, contentType(c.requestHeaders['content-type']), bodyLimit);
  const responseText = text(c.responseBody);
  const responseBody = responseText === null || responseText === '' ? null : body(responseText, contentType(c.responseHeaders['content-type']), bodyLimit);
  const challenge = c.status === 401 && authorization === undefined && /^digest\b/i.test(challengeHeader ?? '');
  const nonce = /\bnonce="([^"]*)"/i.exec((challenge ? challengeHeader : /^digest\b/i.test(authorization ?? '') ? authorization : undefined) ?? '')?.[1] ?? null;
  return {
    derived: {
      claimed: claimed(authorization, tokenEndpoint ? requestText : null),
      challenge,
      endpointId: c.pathId ?? (c.operation === 'create' ? createdId(c, responseText) : null),
      groupId: c.groupId ?? (c.operation === 'createGroup' ? createdId(c, responseText) : null),
      nonce,
    },
    details: [requestHeaders, requestBody, responseHeaders, responseBody],
  };
}

function headersOf(headers: IncomingHttpHeaders | Capture['responseHeaders']): StoredHeaders {
  const out: StoredHeaders = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push([name, redactHeader(name, String(v))]);
  }
  return out;
}

const headerValue = (v: string | string[] | number | undefined): string | undefined => (v === undefined ? undefined : Array.isArray(v) ? v.join(', ') : String(v));
const contentType = (v: unknown) => String(v ?? '').split(';')[0]!.trim().toLowerCase();

function text(b: unknown): string | null {
  if (b === undefined || b === null) return null;
  if (typeof b === 'string') return b;
  if (Buffer.isBuffer(b)) return b.toString('utf8');
  return null;
}

/** A body as kept: secrets by name replaced (JSON, forms, or — when it is neither — JSON-looking text), cut at `limit` bytes. */
function body(raw: string, type: string, limit: number): StoredBody {
  const bytes = Buffer.byteLength(raw);
  let kept = raw;
  let redacted = false;
  if (type === 'application/x-www-form-urlencoded') {
    const r = redactForm(raw);
    if (r !== undefined) [kept, redacted] = [r, true];
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    if (parsed !== undefined) {
      const r = redactJson(parsed);
      if (JSON.stringify(r) !== JSON.stringify(parsed)) [kept, redacted] = [JSON.stringify(r, null, 2), true];
    } else {
      // Not JSON (malformed, or not meant to be): any "secretName": "value" in it still goes.
      const r = raw.replace(/"([A-Za-z0-9_-]+)"(\s*:\s*)"(?:[^"\\]|\\.)*"/g, (all, name: string, colon: string) => (isSecretName(name) ? `"${name}"${colon}"${REDACTED}"` : all));
      if (r !== raw) [kept, redacted] = [r, true];
    }
  }
  const out: StoredBody = { text: kept, bytes };
  if (redacted) out.redacted = true;
  if (Buffer.byteLength(kept) > limit) {
    // Cut on a character boundary: the last bytes kept may begin a character that no longer fits.
    out.text = Buffer.from(kept).subarray(0, limit).toString('utf8').replace(/\uFFFD$/, '');
    out.truncated = true;
  }
  return out;
}

/** Who a request said it was: a Digest username, a Basic user, a bearer JWT's subject, a token request's client_id. */
function claimed(authorization: string | undefined, tokenForm: string | null): string | null {
  const fromHeader = claimedIdentity(authorization);
  if (fromHeader) return fromHeader;
  if (authorization !== undefined && /^bearer\s+/i.test(authorization)) {
    // A JWT-shaped token names its client: unverified, it is only what the request claimed.
    const payload = authorization.replace(/^bearer\s+/i, '').split('.')[1];
    if (payload) {
      try {
        const sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
        if (typeof sub === 'string' && sub.length <= 256) return sub;
      } catch {
        // Not a JWT: nothing claimed.
      }
    }
  }
  if (tokenForm !== null) {
    const id = new URLSearchParams(tokenForm).get('client_id');
    if (id) return id.slice(0, 256);
  }
  return null;
}

/** The id a 201 answered with (the endpoint or project a create made). */
function createdId(c: Capture, responseText: string | null): string | null {
  if (c.status !== 201 || responseText === null) return null;
  try {
    // As sent: the entity, or (envelope=true) the entity in `content`.
    const answer = JSON.parse(responseText) as { id?: unknown; content?: { id?: unknown } };
    const id = answer.id ?? answer.content?.id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}
