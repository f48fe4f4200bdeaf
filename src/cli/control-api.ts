import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import { type Command, Option } from 'commander';
import { type Context, ContextError, selectContext } from './contexts.js';

// The one way the command line reaches a running snaplink: its control API, at --url with the
// admin token (over HTTPS, trusting --ca, or not checking at all with --insecure). Each setting
// comes from its flag, else its SNAPLINK_* variable, else the context (contexts.ts), else the
// default. Every failure becomes a CliError with the exit code the docs promise.

/** unmet: an --expect that did not hold (snaplink requests). */
export const EXIT = { ok: 0, apiError: 1, usage: 2, unreachable: 3, unmet: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure to print as `snaplink: <message>` before exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';
/** How long one call may take: a clock advance over many endpoints is the slowest. */
const TIMEOUT_MS = 60_000;
/** How to start a server, where one is not running: the command the user has, never a download. */
export const START_HINT = 'start one with `snaplink serve`';

export function addConnectionOptions(c: Command): Command {
  return c
    .addOption(new Option('--url <url>', `base URL of the running snaplink (default: the context's, else ${DEFAULT_URL})`).env('SNAPLINK_URL'))
    .addOption(new Option('--admin-token <token>', 'the control API token').env('SNAPLINK_ADMIN_TOKEN'))
    .addOption(new Option('--ca <file>', 'PEM file of the CA certificates to trust for an https:// URL (beside the usual ones)').env('SNAPLINK_CA'))
    .addOption(new Option('--insecure', 'do not check the server\'s TLS certificate (a test server only)'))
    .addOption(new Option('--context <name>', 'take URL, token and CA from this context (`snaplink context`)').env('SNAPLINK_CONTEXT'));
}

/** What an answer must hold to be snaplink's: the type of each top-level field. */
export type Shape = Record<string, 'string' | 'number' | 'boolean' | 'object' | 'array'>;

export interface ControlApi {
  readonly url: string;
  /** Calls the control API; with `shape`, an answer without those fields is not snaplink's. */
  call<T = unknown>(method: string, path: string, body?: unknown, shape?: Shape): Promise<T>;
}

/** Where a setting came from, for the message when the server refuses it. */
function sourceOf(command: Command, option: string, flag: string, variable: string, context: string | undefined): string {
  const from = command.opts()[option] ? command.getOptionValueSource(option) : undefined;
  if (from === 'cli') return `the ${flag} option`;
  if (from === 'env') return `the ${variable} variable`;
  return `the context ${context}`;
}

interface Settings {
  url: string;
  adminToken?: string;
  ca?: string;
  insecure: boolean;
  context?: string;
}

/** Flag, else variable, else context, else default. */
function settingsOf(command: Command): Settings {
  const opts = command.opts<{ url?: string; adminToken?: string; ca?: string; insecure?: boolean; context?: string }>();
  let chosen: { name: string; context: Context } | undefined;
  try {
    chosen = selectContext(opts.context || undefined);
  } catch (err) {
    if (err instanceof ContextError) throw new CliError(err.message, EXIT.usage);
    throw err;
  }
  const c = chosen?.context ?? {};
  // An empty variable counts as unset.
  return { url: opts.url || c.url || DEFAULT_URL, adminToken: opts.adminToken || c.adminToken, ca: opts.ca || c.ca, insecure: opts.insecure ?? c.insecure ?? false, context: chosen?.name };
}

function checkShape(value: unknown, shape: Shape): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  for (const [field, type] of Object.entries(shape)) {
    const v = (value as Record<string, unknown>)[field];
    const actual = Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v;
    if (actual !== type) return v === undefined ? `no "${field}"` : `"${field}" is not ${type === 'array' || type === 'object' ? 'an' : 'a'} ${type}`;
  }
  return undefined;
}

/** TLS verification failures, as Node names them. */
const CERT_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME_INVALID/;

function unreachable(origin: string, err: Error & { code?: string }, s: Settings): CliError {
  const code = err.code ?? '';
  if (CERT_ERROR.test(code)) {
    return new CliError(
      `cannot verify the TLS certificate of ${origin} (${code}): trust its CA with --ca <file> (or SNAPLINK_CA, or NODE_EXTRA_CA_CERTS), or skip the check with --insecure`,
      EXIT.unreachable,
    );
  }
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER') return new CliError(`cannot reach snaplink at ${origin} (${code}): it does not speak HTTPS there; try http://`, EXIT.unreachable);
  if (code === 'HPE_INVALID_CONSTANT' || code === 'ECONNRESET') {
    return new CliError(`cannot reach snaplink at ${origin} (${code}): ${s.url.startsWith('http:') ? 'if it serves HTTPS, use https://' : 'the connection was dropped'}`, EXIT.unreachable);
  }
  const why = code === 'ETIMEDOUT' ? `no answer within ${TIMEOUT_MS / 1000} s` : code || err.message;
  return new CliError(`cannot reach snaplink at ${origin} (${why}): ${START_HINT}, or point --url, SNAPLINK_URL or a context at it`, EXIT.unreachable);
}

/** One HTTP(S) request; resolves with the status and body text. */
function send(url: URL, method: string, headers: Record<string, string>, body: string | undefined, s: Settings, ca: string | undefined): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const tls = url.protocol === 'https:' ? { rejectUnauthorized: !s.insecure, ...(ca !== undefined && { ca: [...rootCertificates, ca] }) } : {};
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers, ...tls }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

export function controlApi(command: Command): ControlApi {
  const s = settingsOf(command);
  let base: URL;
  try {
    base = new URL(s.url);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new CliError(`--url ${s.url} is not an http:// or https:// URL`, EXIT.usage);
  }
  if (!s.adminToken) {
    throw new CliError(
      'this command needs the control API token: set SNAPLINK_ADMIN_TOKEN, pass --admin-token or keep it in a context (it is the token the server was started with; `snaplink serve` prints one it generated at its first start, and `snaplink admin-token reset` makes a new one)',
      EXIT.usage,
    );
  }
  let ca: string | undefined;
  if (s.ca !== undefined) {
    try {
      ca = readFileSync(s.ca, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read --ca ${s.ca}: ${(err as Error).message}`, EXIT.usage);
    }
  }
  const origin = base.origin;
  return {
    url: origin,
    async call<T>(method: string, path: string, body?: unknown, shape?: Shape): Promise<T> {
      let res: { status: number; text: string };
      try {
        const headers = { authorization: `Bearer ${s.adminToken}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) };
        res = await send(new URL(path, base), method, headers, body === undefined ? undefined : JSON.stringify(body), s, ca);
      } catch (err) {
        throw unreachable(origin, err as Error & { code?: string }, s);
      }
      const notSnaplink = (why: string) =>
        new CliError(`${origin} answered ${res.status}, but not as snaplink's control API does (${why}): is --url a snaplink server?`, EXIT.unreachable);
      if (res.status === 401) {
        const from = sourceOf(command, 'adminToken', '--admin-token', 'SNAPLINK_ADMIN_TOKEN', s.context);
        throw new CliError(
          `${origin} refused the admin token (401): the token from ${from} is not the one the server was started with (its SNAPLINK_ADMIN_TOKEN, or the one it printed at its first start)`,
          EXIT.apiError,
        );
      }
      let parsed: unknown;
      try {
        parsed = res.text === '' ? undefined : JSON.parse(res.text);
      } catch {
        throw notSnaplink(`not JSON: ${res.text.slice(0, 80)}`);
      }
      if (res.status < 200 || res.status > 299) {
        const e = (parsed ?? {}) as { errorCode?: unknown; detail?: unknown };
        if (typeof e.errorCode !== 'string' || typeof e.detail !== 'string') throw notSnaplink(`no errorCode and detail: ${res.text.slice(0, 80)}`);
        throw new CliError(`${res.status} ${e.errorCode}: ${e.detail}`, EXIT.apiError);
      }
      if (shape) {
        const wrong = checkShape(parsed, shape);
        if (wrong) throw notSnaplink(wrong);
      }
      return parsed as T;
    },
  };
}
