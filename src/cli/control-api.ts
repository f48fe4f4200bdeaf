import { type Command, Option } from 'commander';

// The one way the command line reaches a running snaplink: its control API, at --url with the
// admin token. Every failure becomes a CliError with the exit code the docs promise.

export const EXIT = { ok: 0, apiError: 1, usage: 2, unreachable: 3 } as const;
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

export function addConnectionOptions(c: Command): Command {
  return c
    .addOption(new Option('--url <url>', 'base URL of the running snaplink').env('SNAPLINK_URL').default(DEFAULT_URL))
    .addOption(new Option('--admin-token <token>', 'the control API token').env('SNAPLINK_ADMIN_TOKEN'));
}

export interface ControlApi {
  readonly url: string;
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

/** Where the admin token came from, for the message when the server refuses it. */
function tokenSource(command: Command): string {
  return command.getOptionValueSource('adminToken') === 'env' ? 'the SNAPLINK_ADMIN_TOKEN variable' : 'the --admin-token option';
}

export function controlApi(command: Command): ControlApi {
  const { url, adminToken } = command.opts<{ url: string; adminToken?: string }>();
  let base: URL;
  try {
    base = new URL(url);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new CliError(`--url ${url} is not an http:// or https:// URL`, EXIT.usage);
  }
  if (!adminToken) {
    throw new CliError(
      'this command needs the control API token: set SNAPLINK_ADMIN_TOKEN or pass --admin-token (it is the token the server was started with; `snaplink serve` prints one it generated at its first start, and `snaplink admin-token reset` makes a new one)',
      EXIT.usage,
    );
  }
  return {
    url: base.origin,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      let res: Response;
      try {
        res = await fetch(new URL(path, base), {
          method,
          headers: { authorization: `Bearer ${adminToken}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const why = (err as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : (cause?.code ?? cause?.message ?? (err as Error).message);
        throw new CliError(`cannot reach snaplink at ${base.origin} (${why}): start one with \`npx snaplink serve\`, or point --url or SNAPLINK_URL at it`, EXIT.unreachable);
      }
      const text = await res.text();
      if (res.status === 401) {
        throw new CliError(
          `${base.origin} refused the admin token (401): the token from ${tokenSource(command)} is not the one the server was started with (its SNAPLINK_ADMIN_TOKEN, or the one it printed at its first start)`,
          EXIT.apiError,
        );
      }
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        throw new CliError(`${base.origin} answered ${res.status} with something that is not JSON: is it snaplink? (${text.slice(0, 120)})`, EXIT.apiError);
      }
      if (!res.ok) {
        const e = (parsed ?? {}) as { errorCode?: string; detail?: string };
        throw new CliError(`${res.status}${e.errorCode ? ` ${e.errorCode}` : ''}: ${e.detail ?? text}`, EXIT.apiError);
      }
      return parsed as T;
    },
  };
}
