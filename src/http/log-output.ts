import pino from 'pino';

// Where the server's log lines go: standard output. Written one at a time, each request's line
// was a write of its own and a trip through libuv's thread pool — under load about a tenth of
// the CPU of a GET (docs/performance.md). So the line each answer logs waits until 4,096
// characters of them are queued or for 100 ms, and goes out with the others. Any other line —
// a lifecycle transition, a warning, an error, start and stop — is written at once, after the
// request lines queued before it: order is kept, and what says what a node did is never held.
//
// Nothing queued is dropped when the process exits (a clean stop, process.exit(), an uncaught
// exception): it is written synchronously. A process killed outright (SIGKILL, a power cut) may
// lose its last 100 ms of request lines.

/** The message of the one line each answer logs (http/server.ts's onResponse hook). */
export const REQUEST_LOG_MESSAGE = 'request';
const REQUEST_LINE_END = `"msg":"${REQUEST_LOG_MESSAGE}"}\n`;

export interface LineBuffer {
  write(line: string): void;
  /** Writes what is queued now. */
  flush(): void;
}

/** Request lines queued for `out` until `size` characters of them wait or `ms` pass; other lines pass at once. */
export function lineBuffer(out: { write(text: string): unknown }, { size = 4096, ms = 100 } = {}): LineBuffer {
  let queued = '';
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (queued === '') return;
    const text = queued;
    queued = '';
    out.write(text);
  };
  return {
    flush,
    write(line) {
      queued += line;
      if (queued.length >= size || !line.endsWith(REQUEST_LINE_END)) flush();
      // Unref'd: a process about to end writes the rest on its way out (below).
      else timer ??= setTimeout(flush, ms).unref();
    },
  };
}

// For a person at a terminal, each JSON line is rewritten as it is written out, into one line
// of local time, level, message and the other fields as key=value. It formats what was logged,
// so what the JSON holds (and what it leaves out) is what the terminal shows.

export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const LEVELS: Record<number, [string, string]> = { 10: ['TRACE', '2'], 20: ['DEBUG', '2'], 30: ['INFO ', '32'], 40: ['WARN ', '33'], 50: ['ERROR', '31'], 60: ['FATAL', '31'] };
/** Fields every line has, shown in their own places or not at all. */
const PLACED = new Set(['level', 'time', 'msg', 'pid', 'hostname']);
const pad = (n: number, width = 2) => String(n).padStart(width, '0');
const text = (v: unknown) => (typeof v === 'string' ? (/^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)) : JSON.stringify(v));

/** One JSON log line as a person reads it: `06:02:11.042 INFO  GET /path 201 3.1 ms reqId=…`. */
export function prettyLine(line: string, color = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const t = new Date(typeof o.time === 'number' ? o.time : Date.now());
  const [name, sgr] = LEVELS[o.level as number] ?? [String(o.level).toUpperCase().padEnd(5), '0'];
  const parts = [`${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.${pad(t.getMilliseconds(), 3)}`, color ? `\x1b[${sgr}m${name}\x1b[39m` : name];
  const rest = Object.entries(o).filter(([k]) => !PLACED.has(k));
  const skip = new Set<string>();
  if (o.msg === REQUEST_LOG_MESSAGE) {
    // An answer: what was asked and how it went, first.
    parts.push(`${o.method} ${o.url} ${o.status} ${o.ms} ms`);
    for (const k of ['method', 'url', 'status', 'ms']) skip.add(k);
  } else parts.push(String(o.msg ?? ''));
  let stack = '';
  for (const [k, v] of rest) {
    if (skip.has(k) || v === undefined) continue;
    if (k === 'err' && v && typeof v === 'object') {
      const e = v as { message?: string; stack?: string };
      parts.push(`err=${text(e.message ?? '')}`);
      if (e.stack) stack = `\n${e.stack.replace(/^/gm, '    ')}`;
    } else parts.push(`${k}=${text(v)}`);
  }
  return parts.join(' ') + stack;
}

/** Lines (each ending in a newline) rewritten for a person. */
export function prettyLines(chunk: string, color = false): string {
  return chunk.replace(/[^\n]+/g, (line) => prettyLine(line, color));
}

let format: 'json' | 'pretty' = 'json';

/** How standard output shows log lines, chosen before the first one is written: auto is pretty at a terminal. */
export function setLogFormat(asked: LogFormat, stdoutIsTty = process.stdout.isTTY === true): void {
  format = asked === 'auto' ? (stdoutIsTty ? 'pretty' : 'json') : asked;
}

let output: LineBuffer | undefined;

/** Log lines to standard output: one buffer per process, shared by the servers in it. */
export function logOutput(): LineBuffer {
  if (output === undefined) {
    // pino's own destination: asynchronous, and it writes whatever it holds on exit.
    const stdout = pino.destination({ dest: 1, sync: false });
    // Colour only at a terminal, and never with NO_COLOR set (https://no-color.org).
    const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
    const lines = lineBuffer(format === 'pretty' ? { write: (chunk: string) => stdout.write(prettyLines(chunk, color)) } : stdout);
    process.on('exit', () => {
      lines.flush();
      try {
        stdout.flushSync();
      } catch {
        // Already closed (EPIPE: nobody reads standard output any more).
      }
    });
    output = lines;
  }
  return output;
}
