import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

// Filling a disk for the full-disk tests and the soak (bench/full-disk.mjs): no imports beyond
// Node's, so the bench can take it without the suites' harness.

/** Fills the file system holding `dir` to the last byte it gives; returns the filler file. */
export function fillDisk(dir: string): string {
  const filler = join(dir, 'filler');
  // Written until the disk refuses, in ever smaller pieces: a server beside it may take some of
  // the room between a look at what is free and the write (its journal's batch, a WAL frame).
  const fd = openSync(filler, 'w');
  try {
    for (let size = 1 << 20; size >= 1; ) {
      try {
        writeSync(fd, Buffer.alloc(size));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
        size >>= 1;
      }
    }
  } finally {
    closeSync(fd);
  }
  return filler;
}
