import type SqliteDatabase from 'better-sqlite3';

// Group commit inside SQLite. Every SQLite transaction pays a fixed cost — locks, and a WAL
// frame for every page it touched, however little of the page changed — and concurrent writers
// touch the same pages (the newest leaf of each index). So the writes asked for in one turn of
// the event loop are queued, and run together at the turn's end in one transaction: BEGIN, each
// write, COMMIT, in one synchronous step. A write that fails on its own (a duplicate) is undone
// alone, as SQLite does within any transaction; the others stay.
//
// A write resolves once its transaction is committed — as a statement does on PostgreSQL — and
// no read ever sees a write before that: between BEGIN and COMMIT no other code runs. So a
// batch the disk refuses (SQLite rolls it back, at a statement or at COMMIT) fails its own
// writes and nothing else: no read showed them, no other answer depended on them. An answer
// that follows a write, or shows one, waits for the fsync (store.durable(), store/wal-sync.ts).

interface Queued {
  run: () => unknown;
  /** Whether answers that show this write wait for its fsync (the request journal's do not). */
  synced: boolean;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class WriteBatch {
  private queue: Queued[] = [];
  private scheduled = false;

  private readonly begin;
  private readonly commitStmt;
  private readonly rollback;

  constructor(
    private readonly sqlite: SqliteDatabase.Database,
    /**
     * Told after every batch: whether it was committed (else it was rolled back, and `err` says
     * why), and whether it held a write whose answers wait for the fsync.
     */
    private readonly committed: (ok: boolean, synced: boolean, err?: unknown) => void,
  ) {
    this.begin = sqlite.prepare('begin');
    this.commitStmt = sqlite.prepare('commit');
    this.rollback = sqlite.prepare('rollback');
  }

  /** Queues `run` (one statement) for the end of this turn; resolves with its result once committed. */
  write<R>(run: () => R, synced = true): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ run, synced, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.commit());
      }
    });
  }

  /** Runs what is queued now: before an explicit transaction begins, and at close. */
  flush(): void {
    this.commit();
  }

  /** An explicit transaction ended: what was queued meanwhile runs at the end of this turn. */
  resume(): void {
    if (this.queue.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.commit());
    }
  }

  private commit(): void {
    this.scheduled = false;
    // An explicit transaction is open (it spans awaits and holds the connection): its end resumes.
    if (this.queue.length === 0 || this.sqlite.inTransaction) return;
    const queue = this.queue;
    this.queue = [];
    const ran: { q: Queued; result?: unknown }[] = [];
    let synced = false;
    let failure: { err: unknown } | undefined;
    try {
      this.begin.run();
    } catch (err) {
      // No transaction (the store closed, an I/O error): nothing queued ran, and each writer hears why.
      this.committed(false, false, err);
      for (const q of queue) q.reject(err);
      return;
    }
    for (const q of queue) {
      if (failure) {
        ran.push({ q });
        continue;
      }
      try {
        ran.push({ q, result: q.run() });
        synced ||= q.synced;
      } catch (err) {
        // Undone alone (a constraint), or — a full disk, an I/O error — SQLite rolled the whole
        // batch back: then nothing of it stays, and the rest does not run.
        if (this.sqlite.inTransaction) q.reject(err);
        else {
          failure = { err };
          ran.push({ q });
        }
      }
    }
    if (!failure) {
      try {
        this.commitStmt.run();
      } catch (err) {
        failure = { err };
        if (this.sqlite.inTransaction) {
          try {
            this.rollback.run();
          } catch {
            // Already rolled back by SQLite.
          }
        }
      }
    }
    // Told before the writers hear: an answer that follows one waits for this batch's fsync.
    this.committed(!failure, synced, failure?.err);
    for (const { q, result } of ran) {
      if (failure) q.reject(failure.err);
      else q.resolve(result);
    }
  }
}
