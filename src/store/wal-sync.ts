import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';

// Durable SQLite commits without blocking the event loop. With synchronous=FULL, SQLite fsyncs
// the WAL inside every COMMIT — on the one thread that also serves every other request, so one
// slow disk flush stalls them all. Instead the server's connection runs synchronous=NORMAL
// (a commit only write()s its frames to the WAL) and, before a write is acknowledged, the WAL
// file is fsynced on libuv's thread pool. Concurrent writers share one fsync (group commit).
// The frames a commit wrote are then on disk exactly as FULL would have put them; SQLite
// itself syncs the WAL before each checkpoint copies it into the database (NORMAL does that).

export class WalSync {
  /** Non-read statements run so far, and how many of them the last finished fsync covers. */
  private written = 0;
  private synced = 0;
  private inFlight: Promise<void> | undefined;
  private handle: FileHandle | undefined;
  /** fsyncs done so far (fewer than acknowledged writes when writers shared them). */
  fsyncs = 0;

  constructor(private readonly walFile: string) {}

  /** Called after every statement that may have written (including COMMIT). */
  wrote(): void {
    this.written++;
  }

  /** Whether a write has happened that no finished fsync covers yet. */
  get pending(): boolean {
    return this.synced < this.written;
  }

  /** Resolves once everything written so far is on disk; rejects if the disk refused. */
  async durable(): Promise<void> {
    const target = this.written;
    while (this.synced < target) {
      // An fsync under way may have started before our write: wait for it, then look again.
      if (this.inFlight) {
        await this.inFlight;
        continue;
      }
      const upTo = this.written;
      this.inFlight = this.fsync().then(
        () => {
          this.synced = Math.max(this.synced, upTo);
          this.inFlight = undefined;
        },
        (err: unknown) => {
          this.inFlight = undefined;
          throw err;
        },
      );
      await this.inFlight;
    }
  }

  private async fsync(): Promise<void> {
    if (!this.handle) {
      // The WAL file exists once the first write went into it; its directory entry is made
      // durable once, as SQLite does for a new journal.
      this.handle = await open(this.walFile, 'r');
      const dir = await open(dirname(this.walFile), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    }
    await this.handle.sync();
    this.fsyncs++;
  }

  async close(): Promise<void> {
    await this.durable();
    await this.handle?.close();
    this.handle = undefined;
  }
}
