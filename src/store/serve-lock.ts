import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';

// One `snaplink serve` per SQLite store. A server assumes it is the store's only one: at start
// it releases every claim on a transition as left by a killed process, and its caches see only
// other processes' commits, never their claims. A second server on the same --data-dir would
// take the first one's work from under it. So a server holds an exclusive SQLite lock on a file
// beside the store for as long as it runs; the operating system drops the lock when the process
// ends, however it ends (SIGKILL too), so a lock is never left stale. The CLI's store commands
// (seed, backup, export, import, admin-token reset) do not take it: they work beside a running
// server (docs/operations.md#one-server-per-sqlite-store).

const LOCK_FILE = 'serve.lock';

export class StoreInUseError extends Error {}

/** Holds the serve lock of the store in `dataDir` until release(); throws StoreInUseError if another server holds it. */
export function lockForServing(dataDir: string): { release(): void } {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE);
  const lock = new SqliteDatabase(file, { timeout: 0 });
  try {
    // No journal file: the lock writes nothing, and must be taken on a full disk too.
    lock.pragma('journal_mode = OFF');
    lock.pragma('locking_mode = EXCLUSIVE');
    lock.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    lock.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new StoreInUseError(`another snaplink server is serving the store in ${dir} (it holds ${file}); stop it first, or give this one its own --data-dir`);
    }
    throw err;
  }
  return { release: () => lock.close() };
}
