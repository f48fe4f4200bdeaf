import pino from 'pino';

// Where the server's log lines go: standard output, through a buffer. Written one line at a
// time, each line was a write of its own and a trip through libuv's thread pool — under load
// about a tenth of the CPU of a GET (docs/performance.md). Lines now wait until 4 KiB of them
// are queued, or for the next flush (every 100 ms), and are written together, in order.
//
// Nothing is dropped: pino writes what is queued synchronously when the process exits (a clean
// stop, process.exit(), an uncaught exception). A process killed outright (SIGKILL, a power
// cut) may lose its last 100 ms of lines, as it may lose whatever its pipe had not delivered.

const BUFFER_BYTES = 4096;
const LOG_FLUSH_MS = 100;

/** Log lines to standard output: one stream per process, shared by the servers in it. */
let output: pino.DestinationStream | undefined;

export function logOutput(): pino.DestinationStream {
  // pino.destination, not a bare SonicBoom: pino registers its flush at exit. A periodic flush
  // that finds a write under way leaves the rest to the next one; on an idle server each is an
  // empty write.
  output ??= pino.destination({ dest: 1, minLength: BUFFER_BYTES, sync: false, periodicFlush: LOG_FLUSH_MS });
  return output;
}
