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

let output: LineBuffer | undefined;

/** Log lines to standard output: one buffer per process, shared by the servers in it. */
export function logOutput(): LineBuffer {
  if (output === undefined) {
    // pino's own destination: asynchronous, and it writes whatever it holds on exit.
    const stdout = pino.destination({ dest: 1, sync: false });
    const lines = lineBuffer(stdout);
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
