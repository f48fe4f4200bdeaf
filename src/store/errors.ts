// What a store error means, whichever store raised it (SQLite's codes, PostgreSQL's SQLSTATEs).

/** Whether a write failed on a unique or primary-key constraint. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** Whether a write failed on a foreign key: the row it points at was deleted meanwhile (by another request, or another node). */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503';
}

/**
 * Whether a write failed because the store has no room: SQLite's disk (or its page limit) full,
 * or no room for the files SQLite opens beside it (its shared-memory index, a directory);
 * PostgreSQL's disk full. Reads still work, and writes do again once there is room.
 */
export function isStoreFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_SHMSIZE' || code === 'ENOSPC' || code === '53100';
}

/** Whether an error means the database cannot be reached right now (worth a 503 and a retry). */
export function isStoreUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'SQLITE_BUSY'].includes(code) ||
    /^(08|57P)/.test(code) || // connection exceptions, operator intervention (shutdown)
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed/i.test(message)
  );
}

/** A start that found no room in the store: to open it, or for what it had to write. */
export class StoreFullAtStartError extends Error {
  constructor(where: string, cause: unknown) {
    super(
      `${where} is full, and this start needs room (${(cause as Error).message}): to open the store (SQLite makes its -wal and -shm files at every start after a clean stop) or for what it must write (a new store's default world, a changed seed file, a schema upgrade). Free some space and start again: nothing stored was lost. (A server killed while the disk was full restarts without room, and serves reads.)`,
      { cause },
    );
  }
}
