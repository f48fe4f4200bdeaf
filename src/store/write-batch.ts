import type SqliteDatabase from 'better-sqlite3';

// Group commit inside SQLite. Every SQLite transaction pays a fixed cost — locks, and a WAL
// frame for every page it touched, however little of the page changed — and concurrent creates
// touch the same pages (the newest leaf of each index). So writes that arrive in the same turn
// of the event loop share one transaction: the first opens it, the turn's end commits it. A
// statement that fails (a duplicate) is undone on its own, as SQLite does within any
// transaction; the others stay.
//
// Nothing is acknowledged early: an answer waits (store.durable()) for the commit of the batch
// it may have seen, then for the fsync. A read that saw a batch's writes answers in the same
// turn, before the batch ends — every store read is synchronous on SQLite — so it waits too,
// and if the commit fails, every answer that could show its writes fails with it.
//
// A batch may also end early: on a full disk or an I/O error SQLite may roll back the whole
// transaction from inside one of its statements, after earlier writes of the turn already
// returned. Those writes' answers may then ask durable() when another batch is open, so batches
// are numbered: a caller takes a mark() before it writes or reads, and durable(mark) fails if any
// batch from that mark on was rolled back.
//
// Background writes — the lifecycle runner's, which no answer acknowledges — are deferred
// (defer()): they run at the batch's end, just before its COMMIT, in the same synchronous step.
// No read can see one before it is committed, so when the disk refuses one, nobody saw it, no
// answer fails for it and no read ever shows a change that was then rolled back.

interface Deferred {
  run: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class WriteBatch {
  private open: { number: number; done: Promise<void>; resolve: () => void; reject: (err: unknown) => void; synced: boolean } | undefined;
  /** Background writes waiting for the next batch's end. */
  private deferred: Deferred[] = [];
  /** Set while deferred writes wait for an explicit transaction to end. */
  private retry: NodeJS.Timeout | undefined;
  /** Batches started so far (the open one is number `started`). */
  private started = 0;
  /** The newest batch rolled back (0: none yet), and why. */
  private failed = { number: 0, err: undefined as unknown };

  private readonly begin;
  private readonly commitStmt;
  private readonly rollback;

  constructor(
    private readonly sqlite: SqliteDatabase.Database,
    /**
     * Told after every COMMIT: whether it succeeded (else the batch was rolled back, and `err`
     * says why), and whether the batch held a write that must be synced before an answer shows
     * it. The WAL may have grown.
     */
    private readonly committed: (ok: boolean, synced: boolean, err?: unknown) => void,
  ) {
    this.begin = sqlite.prepare('begin');
    this.commitStmt = sqlite.prepare('commit');
    this.rollback = sqlite.prepare('rollback');
  }

  /** The number of the batch a write made from now on will join (or a later one). */
  mark(): number {
    return this.open !== undefined ? this.open.number : this.started + 1;
  }

  /** Why a batch numbered `mark` or later was rolled back; undefined if none was. */
  failedSince(mark: number): { err: unknown } | undefined {
    return this.failed.number > 0 && this.failed.number >= mark ? { err: this.failed.err } : undefined;
  }

  /** Whether an explicit transaction (Kysely's) is open, rather than a batch or none. */
  get inExplicitTransaction(): boolean {
    return this.open === undefined && this.sqlite.inTransaction;
  }

  /**
   * Runs a write: in this turn's batch, or as part of the explicit transaction under way.
   * `synced`: answers that may show it wait for the batch's commit and fsync. A batch of only
   * unsynced writes (the request journal's) keeps nobody waiting; a later fsync covers it.
   */
  write<R>(run: () => R, synced = true): R {
    if (this.open === undefined && !this.sqlite.inTransaction) this.start();
    if (this.open !== undefined && synced) this.open.synced = true;
    try {
      return run();
    } catch (err) {
      // Some errors (a full disk, an I/O error) make SQLite roll back the whole transaction.
      if (this.open !== undefined && !this.sqlite.inTransaction) this.fail(err);
      throw err;
    }
  }

  /** Before an explicit BEGIN: the batch under way commits first. */
  flush(): void {
    if (this.open === undefined && this.deferred.length > 0 && !this.sqlite.inTransaction) this.start();
    if (this.open !== undefined) this.commit();
  }

  /**
   * A background write: `run` runs at the end of the batch under way (or of one opened for it),
   * right before COMMIT, so no read sees it uncommitted. Resolves with its result once
   * committed; rejects if it failed or its batch was rolled back.
   */
  defer<R>(run: () => R): Promise<R> {
    const result = new Promise<R>((resolve, reject) => this.deferred.push({ run, resolve: resolve as (v: unknown) => void, reject }));
    this.scheduleDeferred();
    return result;
  }

  private scheduleDeferred(): void {
    if (this.open !== undefined || this.retry !== undefined) return;
    // An explicit transaction is open (it spans awaits): the writes wait for its end.
    if (this.sqlite.inTransaction) this.retry = setTimeout(() => ((this.retry = undefined), this.deferred.length > 0 && this.scheduleDeferred()), 1);
    else this.start();
  }

  /** Settles once the batch under way is committed; null when none is, or it holds only unsynced writes. */
  get pending(): Promise<void> | null {
    return this.open?.synced ? this.open.done : null;
  }

  private start(): void {
    this.begin.run();
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Nobody may be waiting (the runner's writes): a failure is reported to those who are.
    done.catch(() => {});
    this.open = { number: ++this.started, done, resolve, reject, synced: false };
    setImmediate(() => this.commit());
  }

  private commit(): void {
    if (this.open === undefined) return;
    const ran = this.runDeferred();
    // Committed writes of the background are seen from now on: answers showing them wait for the fsync.
    const synced = this.open.synced || ran.length > 0;
    let ok = false;
    let failure: unknown;
    try {
      // SQLite rolled the whole batch back inside a deferred write.
      if (!this.sqlite.inTransaction) throw ran.failure;
      this.commitStmt.run();
      ok = true;
      this.end().resolve();
      for (const d of ran) d.resolve(d.result);
    } catch (err) {
      failure = err;
      if (this.sqlite.inTransaction) {
        try {
          this.rollback.run();
        } catch {
          // Already rolled back by SQLite.
        }
      }
      this.fail(err);
      for (const d of ran) d.reject(err);
    } finally {
      this.committed(ok, synced, failure);
    }
  }

  /**
   * Runs the deferred writes inside the open batch. One that fails alone (a constraint) is
   * undone alone and rejected; if SQLite rolls the whole batch back, the rest do not run.
   */
  private runDeferred(): (Deferred & { result?: unknown })[] & { failure?: unknown } {
    const ran: (Deferred & { result?: unknown })[] & { failure?: unknown } = [];
    const queue = this.deferred;
    this.deferred = [];
    for (const d of queue) {
      if (!this.sqlite.inTransaction) {
        ran.push(d);
        continue;
      }
      try {
        ran.push({ ...d, result: d.run() });
      } catch (err) {
        if (this.sqlite.inTransaction) d.reject(err);
        else {
          ran.failure = err;
          ran.push(d);
        }
      }
    }
    return ran;
  }

  /**
   * The batch under way was rolled back: its waiters, and any durable() since its number, fail
   * — unless it held only unsynced writes (the request journal's), which nobody acknowledges.
   */
  private fail(err: unknown): void {
    if (this.open!.synced) this.failed = { number: this.open!.number, err };
    this.end().reject(err);
    // Background writes that had not run yet wait for the next batch.
    if (this.deferred.length > 0) this.scheduleDeferred();
  }

  /** Closes the batch under way; returns how to settle its waiters. */
  private end() {
    const open = this.open!;
    this.open = undefined;
    return open;
  }
}
