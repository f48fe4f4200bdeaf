import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

// The real clients the suites drive, in the languages their users write: each is found where
// test/run.ts (through test/setup/) installed it. Where one is missing, `goMissing` and
// `atlasCli` name the reason, so a suite skips with it (loudly) instead of failing for the
// machine's sake.

export const exec = promisify(execFile);

/** The Python interpreter of the pinned test environment (test/setup/python.sh). */
export function python(): string {
  return process.env.SNAPLINK_TEST_PYTHON ?? 'python3';
}

/** Why the Go toolchain cannot be used, or false when it can. */
export function goMissing(): string | false {
  const r = spawnSync('go', ['version']);
  return r.status === 0 ? false : 'the Go toolchain (`go`) is not on PATH; install Go 1.25+ to run the Atlas Go SDK suite';
}

/**
 * The Atlas CLI binary: SNAPLINK_ATLAS_CLI (one you built or downloaded), else the one
 * test/setup/atlas-cli.sh built; or why there is none.
 */
export function atlasCli(): { path: string } | { missing: string } {
  const yours = process.env.SNAPLINK_ATLAS_CLI;
  if (yours) return existsSync(yours) ? { path: yours } : { missing: `SNAPLINK_ATLAS_CLI names ${yours}, which does not exist` };
  const path = process.env.SNAPLINK_TEST_ATLAS_CLI;
  if (path && existsSync(path)) return { path };
  return {
    missing:
      process.env.SNAPLINK_TEST_ATLAS_CLI_MISSING ??
      'no binary: set SNAPLINK_ATLAS_CLI to an `atlas` binary, or run the suites through `npm test` (test/setup/atlas-cli.sh builds one where the Go module proxy serves it)',
  };
}
