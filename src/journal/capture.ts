import type { IncomingHttpHeaders } from 'node:http';
import { claimedIdentity, isSecretName, REDACTED, redactForm, redactHeader, redactJson } from '../redaction.js';

// What the request journal keeps of one request: a summary (what lists and filters read) and
// its details — the request's and the answer's headers and bodies. On the request's path only
// references are taken (a Capture); everything that costs — redaction, capping, serialising —
// happens in the journal's batch writer, a moment later (stored()).

/**
 * The operations a journal entry can name: the routes' `operation` (http/routes/), or `unrouted`.
 * Filters are checked against it, so a typo is refused rather than matching nothing.
 */
export const JOURNAL_OPERATIONS = [
  'list', 'create', 'get', 'delete',
  'listGroups', 'createGroup', 'getGroup', 'getGroupByName', 'updateGroup', 'deleteGroup', 'listOrgs', 'getOrg', 'getOrgGroups',
  'oauth', 'telemetry', 'unrouted',
] as const;

/** What the request's path knows of its answer, kept as it is in an entry's summary. */
export interface Answered {
  method: string;
  /** list, create, get, delete, a project or organization operation, oauth, telemetry, or unrouted. */
  operation: string;
  groupId: string | null;
  /** The credential that authenticated it (a public key, a client id). Never a secret. */
  principal: string | null;
  status: number;
  errorCode: string | null;
  errorDetail: string | null;
  durationMs: number;
  requestId: string;
  node: string;
  /** The injected fault that answered or delayed it. */
  faultId: string | null;
}

/** What a request leaves for the journal: references, nothing copied or serialised yet. */
export interface Capture extends Answered {
  /** When it arrived (ms since the epoch). */
  at: number;
  url: string;
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
/** An answer's body the same as an earlier one's of its batch (a poller's): stored once, pointed at. */
export interface SameBody {
  sameAs: number;
}
/** An entry's details as read back: [request headers, request body, response headers, response body]. */
export type Details = [StoredHeaders, StoredBody | null, StoredHeaders, StoredBody | null];

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


/**
 * Redacts and caps what `c` references, into `batch` (which keeps what entries share once):
 * its derived summary fields, and its details as stored.
 */
export function stored(c: Capture, bodyLimit: number, batch: BatchDetails): Derived {
  const authorization = headerValue(c.requestHeaders.authorization);
  const challengeHeader = headerValue(c.responseHeaders['www-authenticate']);
  const tokenEndpoint = TOKEN_PATHS.test(c.url);
  const requestText = text(c.requestBody);
  // A token endpoint's body is all credentials (a client secret, a token to revoke): none of it is kept.
  const requestBody = requestText === null ? null : tokenEndpoint ? { text: REDACTED, bytes: Buffer.byteLength(requestText), redacted: true as const } : body(requestText, contentType(c.requestHeaders['content-type']), bodyLimit);
  const responseText = text(c.responseBody);
  const sent = batch.add(c, requestBody, responseText, (t) =>
    // The Atlas API's answers are snaplink's own, from schemas without a secret field; the
    // token endpoint's carry a token. Only those are read for secrets.
    tokenEndpoint ? body(t, 'application/json', bodyLimit) : kept(t, bodyLimit),
  );
  const challenge = c.status === 401 && authorization === undefined && /^digest\b/i.test(challengeHeader ?? '');
  // Who the Authorization header claims is worked out once per list of request headers (a
  // client sends the same again and again); a token request's form is its own.
  const fromHeaders = (sent.claimed ??= [claimed(authorization, null)])[0];
  const digest = authorization !== undefined && /^digest\b/i.test(authorization);
  return {
    claimed: fromHeaders ?? (tokenEndpoint ? claimed(undefined, requestText) : null),
    challenge,
    endpointId: c.pathId ?? (c.operation === 'create' ? createdId(c, responseText) : null),
    groupId: c.groupId ?? (c.operation === 'createGroup' ? createdId(c, responseText) : null),
    nonce: challenge ? nonceOf(challengeHeader) : digest ? nonceOf(authorization) : null,
  };
}

const nonceOf = (digestHeader: string | undefined) => /\bnonce="([^"]*)"/i.exec(digestHeader ?? '')?.[1] ?? null;


const headerValue = (v: string | string[] | number | undefined): string | undefined => (v === undefined ? undefined : Array.isArray(v) ? v.join(', ') : String(v));
const contentType = (v: unknown) => String(v ?? '').split(';')[0]!.trim().toLowerCase();

function text(b: unknown): string | null {
  if (b === undefined || b === null) return null;
  if (typeof b === 'string') return b;
  if (Buffer.isBuffer(b)) return b.toString('utf8');
  return null;
}

/**
 * A body as kept: secrets by name replaced (a form's fields; a JSON text's, at any depth; in text
 * that is neither, any "secretName": "value"), cut at `limit` bytes. What holds no secret-like
 * field name at all (the usual case) is kept as it came, unparsed.
 */
function body(raw: string, type: string, limit: number): StoredBody {
  if (type === 'application/x-www-form-urlencoded') {
    const r = redactForm(raw);
    return r === undefined ? kept(raw, limit) : kept(r, limit, Buffer.byteLength(raw), true);
  }
  if (!SECRET_KEY.test(raw)) return kept(raw, limit);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const redacted =
    parsed !== undefined
      ? JSON.stringify(redactJson(parsed), null, 2)
      : // Not JSON (malformed, or not meant to be): any "secretName": "value" in it still goes.
        raw.replace(/"([A-Za-z0-9_-]+)"(\s*:\s*)"(?:[^"\\]|\\.)*"/g, (all, name: string, colon: string) => (isSecretName(name) ? `"${name}"${colon}"${REDACTED}"` : all));
  return kept(redacted, limit, Buffer.byteLength(raw), true);
}

/** A JSON field name that may be a secret's (redaction.ts decides): a cheap look before any parsing. */
const SECRET_KEY = /(?:secret|token|passw(?:or)?d|private[-_]?key|api[-_]?key|assertion|credentials?|cookie|ticket)"\s*:/i;

/** `text` cut at `limit` bytes (on a character boundary), with its whole size and what was done to it. */
function kept(text: string, limit: number, bytes = Buffer.byteLength(text), redacted = false): StoredBody {
  const out: StoredBody = { text, bytes };
  if (redacted) out.redacted = true;
  if ((text.length > limit || bytes > limit) && Buffer.byteLength(text) > limit) {
    // The last bytes kept may begin a character that no longer fits.
    out.text = Buffer.from(text).subarray(0, limit).toString('utf8').replace(/\uFFFD$/, '');
    out.truncated = true;
  }
  return out;
}

/** Who a request said it was: a Digest username, a Basic user, a bearer JWT's subject, a token request's client_id. */
function claimed(authorization: string | undefined, tokenForm: string | null): string | null {
  const fromHeader = claimedIdentity(authorization);
  if (fromHeader) return fromHeader;
  if (authorization !== undefined && /^bearer\s+/i.test(authorization)) {
    const sub = bearerSubject(authorization);
    if (sub !== null) return sub;
  }
  if (tokenForm !== null) {
    const id = new URLSearchParams(tokenForm).get('client_id');
    if (id) return id.slice(0, 256);
  }
  return null;
}

/** Bearer tokens' subjects seen so far: a client sends the same token again and again. */
const subjects = new Map<string, string | null>();

/** A JWT-shaped token names its client: unverified, it is only what the request claimed. */
function bearerSubject(authorization: string): string | null {
  let sub = subjects.get(authorization);
  if (sub !== undefined) return sub;
  sub = null;
  const payload = authorization.replace(/^bearer\s+/i, '').split('.')[1];
  if (payload) {
    try {
      const claim = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
      if (typeof claim === 'string' && claim.length <= 256) sub = claim;
    } catch {
      // Not a JWT: nothing claimed.
    }
  }
  // Bounded: a new token a request sends costs one decoding.
  if (subjects.size >= 1000) subjects.clear();
  subjects.set(authorization, sub);
  return sub;
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

/**
 * A batch's details as stored: each distinct list of headers once, each entry pointing at its
 * two, and an answer's body the same as an earlier one's stored once. A client sends the same
 * headers again and again, and an answer's differ from the last one's only by X-Request-Id —
 * which the entry's summary holds, so it is left out — so a batch of polls stores a few lists
 * and a body instead of a copy of each per request. Repeats are found before any redaction.
 */
interface StoredBatch {
  headers: StoredHeaders[];
  entries: [requestHeaders: number, requestBody: StoredBody | null, responseHeaders: number, responseBody: StoredBody | SameBody | null][];
}

/** Where an answer's X-Request-Id was: the entry's request id, put back when read. */
const REQUEST_ID = '\u0000requestId';

type RawHeaders = IncomingHttpHeaders | Capture['responseHeaders'];

/** A distinct list of headers in a batch: the object first met with it, and its place in the batch. */
interface HeaderList {
  raw: RawHeaders;
  requestId: string | undefined;
  index: number;
  /** For request headers: the identity their Authorization claims (a Digest one's is in what is stored of it). */
  claimed?: [string | null];
  /** What is stored of a Digest Authorization header among them. */
  digest?: string;
}

/** The details of one batch of entries, as they are added, and then as stored. */
export class BatchDetails {
  private readonly lists: StoredHeaders[] = [];
  /** Header objects met lately (a few), and their list. */
  private readonly recent: HeaderList[] = [];
  /** Each entry's details as stored (JSON text), in order. */
  private readonly entries: string[] = [];
  /** The last answer body stored whole, and the entry it is in. */
  private lastAnswer: { text: string; index: number } | undefined;
  /** Answer bodies by their length and ends, then compared whole (no hashing of whole pages). */
  private readonly answers = new Map<string, { text: string; index: number }[]>();

  /** Adds an entry; returns its request headers' list, where what they claim is kept once worked out. */
  add(c: Capture, requestBody: StoredBody | null, responseText: string | null, keep: (text: string) => StoredBody): HeaderList {
    const sent = this.list(c.requestHeaders);
    const entry: StoredBatch['entries'][number] = [sent.index, requestBody, this.list(c.responseHeaders, c.requestId).index, this.answer(responseText, keep)];
    this.entries.push(JSON.stringify(entry));
    return sent;
  }

  /** The batch's details as stored. */
  encode(): string {
    return `{"headers":${JSON.stringify(this.lists)},"entries":[${this.entries.join(',')}]}`;
  }

  /** The list `raw` is stored as; an answer's headers give `requestId`, their X-Request-Id, which its entry holds already. */
  private list(raw: RawHeaders, requestId?: string): HeaderList {
    // A Digest client's Authorization differs on every request (its nonce-count and response),
    // what is stored of it (the username) does not: the lists are the same as stored.
    let digest: string | undefined;
    const shownDigest = () => (digest ??= digestShown(raw));
    for (const r of this.recent) if (sameHeaders(r, raw, requestId, shownDigest)) return r;
    const out: StoredHeaders = [];
    for (const name in raw) {
      const value = raw[name];
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) out.push([name, redactHeader(name, v)]);
      else if (name === 'x-request-id' && requestId !== undefined && value === requestId) out.push([name, REQUEST_ID]);
      else out.push([name, redactHeader(name, typeof value === 'string' ? value : String(value))]);
    }
    const list: HeaderList = { raw, requestId, index: this.lists.push(out) - 1 };
    if (shownDigest() !== '') list.digest = shownDigest();
    if (this.recent.length >= 8) this.recent.shift();
    this.recent.push(list);
    return list;
  }

  private answer(text: string | null, keep: (text: string) => StoredBody): StoredBody | SameBody | null {
    if (text === null || text === '') return null;
    // A poller's answer is the one before it.
    if (this.lastAnswer !== undefined && this.lastAnswer.text === text) return { sameAs: this.lastAnswer.index };
    const shape = `${text.length}:${text.slice(0, 48)}:${text.slice(-48)}`;
    const same = this.answers.get(shape);
    const found = same?.find((a) => a.text === text);
    if (found) {
      this.lastAnswer = found;
      return { sameAs: found.index };
    }
    const stored = { text, index: this.entries.length };
    if (same) same.push(stored);
    else this.answers.set(shape, [stored]);
    this.lastAnswer = stored;
    return keep(text);
  }
}

/** What is stored of a Digest Authorization header in `raw` ('' when it has none). */
function digestShown(raw: RawHeaders): string {
  const value = raw.authorization;
  return typeof value === 'string' && /^digest\s/i.test(value) ? redactHeader('authorization', value) : '';
}

/** Whether a list's headers and `b` are the same: an X-Request-Id equal to each one's own request id aside, and a Digest Authorization the same as stored. */
function sameHeaders(list: HeaderList, b: RawHeaders, idB: string | undefined, shownDigest: () => string): boolean {
  const a = list.raw;
  const idA = list.requestId;
  let names = 0;
  for (const name in a) {
    names++;
    const va = a[name];
    const vb = b[name];
    if (va === vb) continue;
    if (name === 'x-request-id' && va === idA && vb === idB) continue;
    if (name === 'authorization' && list.digest !== undefined && list.digest === shownDigest()) continue;
    if (Array.isArray(va) && Array.isArray(vb) && va.length === vb.length && va.every((v, i) => v === vb[i])) continue;
    return false;
  }
  for (const _ in b) names--;
  return names === 0;
}

/** A stored batch's details, each entry's whole again. */
export function decodeDetails(text: string, requestIds: readonly unknown[]): Details[] {
  const b = JSON.parse(text) as StoredBatch;
  const body = (x: StoredBody | SameBody | null): StoredBody | null => (x !== null && 'sameAs' in x ? (b.entries[x.sameAs]?.[3] as StoredBody | null) : x);
  // Request headers too: earlier batches marked a client's own X-Request-Id so (no header value can hold a NUL).
  const headers = (i: number, k: number) => b.headers[i]!.map(([n, v]) => (v === REQUEST_ID ? [n, String(requestIds[k])] : [n, v])) as StoredHeaders;
  return b.entries.map(([rh, rb, sh, sb], k) => [headers(rh, k), rb, headers(sh, k), body(sb)]);
}
