import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// SQLite copies the WAL back into the database file (a checkpoint) on whichever connection
// commits past 1,000 pages — on the server's, that is the event loop: milliseconds of reading,
// writing and two fsyncs during which no request moves, felt in every p99. The server instead
// checkpoints on a thread of its own with its own connection, PASSIVE (never waiting for
// readers or writers, nor making them wait), often enough that the WAL stays small and SQLite
// restarts it from its beginning. The server's connection keeps a far larger automatic
// threshold as a backstop, should this thread ever fall behind or die.

export const BACKSTOP_PAGES = 20_000;

// The thread's whole program. Inline rather than a module file of its own, so it runs the same
// from the build and from the TypeScript sources under a loader (the tests).
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const sqlite = new Database(workerData.file);
// The WAL is synced before it is copied and the database after, as on the server's connection.
sqlite.pragma('synchronous = NORMAL');
// A checkpoint that cannot start now (a CLI command holds a lock) is tried again next time.
sqlite.pragma('busy_timeout = 0');
const checkpoint = sqlite.prepare('pragma wal_checkpoint(PASSIVE)');
// Told once when checkpoints start failing (a full disk fails every one until there is room)
// and once when one succeeds again.
let failing;
const timer = setInterval(() => {
  try {
    checkpoint.get();
    if (failing !== undefined) parentPort.postMessage({ recovered: true });
    failing = undefined;
  } catch (err) {
    if (err.code !== 'SQLITE_BUSY' && failing !== err.message) parentPort.postMessage({ error: err.message });
    if (err.code !== 'SQLITE_BUSY') failing = err.message;
  }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  clearInterval(timer);
  sqlite.close();
  parentPort.close();
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private closed: Promise<void> | undefined;
  private exited = false;
  /** `onError` is told when checkpoints start failing (each new reason once), `onRecovered` when one succeeds again. */
  constructor(file: string, onError: (message: string) => void, onRecovered: () => void = () => {}, intervalMs = 100) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(THREAD, { eval: true, workerData: { file, intervalMs, driver } });
    this.worker.on('message', (m: { error?: string; recovered?: true }) => (m.recovered ? onRecovered() : onError(m.error!)));
    this.worker.on('error', (err) => onError(err.message));
    this.worker.on('exit', () => (this.exited = true));
    // It must never keep the process alive on its own.
    this.worker.unref();
  }

  /** Stops the thread; resolves once its connection is closed. */
  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      if (this.exited) return resolve();
      this.worker.once('exit', () => resolve());
      // Waiting for it is now a reason to stay alive.
      this.worker.ref();
      this.worker.postMessage('close');
    });
    return this.closed;
  }
}
