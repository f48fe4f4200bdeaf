// The one rule for what of a request may be written down — in the log, in the request journal,
// in anything shown about a request later. A secret is replaced by REDACTED wherever it is found
// by name: a query parameter, a form field, a JSON field (at any depth), a header. The
// Authorization header keeps its scheme and the identity it claims (a Digest username, a Basic
// user), never what proves it.

export const REDACTED = '[redacted]';

/**
 * Names of secrets, compared lower-cased with `-` and `_` removed: `client_secret`,
 * `clientSecret`, `access_token`, `X-Api-Key`, `privateKey`, `password`, the event stream's
 * `ticket`… A name that ends with one of these is a secret too (`refresh_token`,
 * `x-auth-token`, `db_password`).
 */
const SECRET_ENDINGS = ['secret', 'token', 'password', 'passwd', 'privatekey', 'apikey', 'assertion', 'credential', 'credentials', 'cookie', 'ticket'];
// (set-cookie ends in "cookie" too.)
/** Names that end like a secret's but are not one. */
const NOT_SECRET = new Set(['tokentype']);

const normalised = (name: string) => name.toLowerCase().replace(/[-_]/g, '');

/** Names looked at so far (the same few headers and fields come again and again). */
const known = new Map<string, boolean>();

/** Whether a parameter, field or header of this name holds a secret. */
export function isSecretName(name: string): boolean {
  let secret = known.get(name);
  if (secret === undefined) {
    const n = normalised(name);
    secret = !NOT_SECRET.has(n) && SECRET_ENDINGS.some((e) => n.endsWith(e));
    // Bounded: names a client makes up as it goes are not kept.
    if (known.size < 1000) known.set(name, secret);
  }
  return secret;
}

/**
 * A URL (path and query) with every secret query parameter's value replaced. The path is kept;
 * the query is rewritten only when it holds a secret (what has none comes back as it was).
 */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = redactForm(url.slice(q + 1));
  return query === undefined ? url : `${url.slice(0, q)}?${query}`;
}

/** An `a=1&b=2` text with secret fields' values replaced; undefined when it holds none. */
export function redactForm(text: string): string | undefined {
  let found = false;
  const parts = text.split('&').map((part) => {
    const eq = part.indexOf('=');
    const raw = eq < 0 ? part : part.slice(0, eq);
    let name: string;
    try {
      name = decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      name = raw;
    }
    if (!isSecretName(name)) return part;
    found = true;
    return `${raw}=${REDACTED}`;
  });
  return found ? parts.join('&') : undefined;
}

/** A parsed JSON value with every secret field's value replaced, at any depth (a copy; the input is kept). */
export function redactJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactJson);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isSecretName(k) ? REDACTED : redactJson(v)]));
}

/**
 * A header's value as it may be written down. Authorization (and Proxy-Authorization) keep the
 * scheme and the claimed identity: `Digest username="abc"`, `Basic abc:[redacted]`,
 * `Bearer [redacted]`. Set-Cookie and other secret-named headers are replaced whole.
 */
export function redactHeader(name: string, value: string): string {
  if (!isSecretName(name)) {
    const n = name.length === 13 || name.length === 19 ? name.toLowerCase() : '';
    if (n === 'authorization' || n === 'proxy-authorization') return redactAuthorization(value);
    return value;
  }
  return REDACTED;
}

function redactAuthorization(value: string): string {
  const space = value.indexOf(' ');
  const scheme = space < 0 ? value : value.slice(0, space);
  const rest = space < 0 ? '' : value.slice(space + 1);
  switch (scheme.toLowerCase()) {
    case 'digest': {
      const user = /(?:^|,)\s*username\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)/i.exec(rest)?.[1];
      return user === undefined ? `${scheme} ${REDACTED}` : `${scheme} username=${user}, ${REDACTED}`;
    }
    case 'basic': {
      const decoded = Buffer.from(rest.trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      // What does not decode to user:password is not shown at all.
      return colon > 0 && /^[\x20-\x7e]+$/.test(decoded.slice(0, colon)) ? `${scheme} ${decoded.slice(0, colon)}:${REDACTED}` : `${scheme} ${REDACTED}`;
    }
    default:
      return space < 0 ? REDACTED : `${scheme} ${REDACTED}`;
  }
}

/** The claimed identity in an Authorization header (a Digest username, a Basic user), if any: never verified, never a secret. */
export function claimedIdentity(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const shown = redactAuthorization(value);
  return /^digest username="?([^",]*)"?,/i.exec(shown)?.[1] ?? /^basic ([^:]+):/i.exec(shown)?.[1];
}
