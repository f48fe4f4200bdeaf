import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// The built `snaplink` command as a user runs it: a separate process, found through bin/.

export const BIN = fileURLToPath(new URL('../../bin/snaplink.js', import.meta.url));
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/cli/index.js', import.meta.url));

let checkedBuild = false;
/**
 * The command runs dist/, the in-process suites run src/: a file run on its own after an edit
 * would test stale code without a word. Refuses when src/ changed after the last build.
 */
function assertBuilt(): void {
  if (checkedBuild) return;
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  let built = 0;
  try {
    built = statSync(BUILT).mtimeMs;
  } catch {
    // not built at all
  }
  if (newest(SRC) > built) throw new Error('dist/ is older than src/ (or missing), so a spawned snaplink would run stale code: run `npm run build`, or one file with `npm run test:one -- <file>`');
  checkedBuild = true;
}

const exec = promisify(execFile);

/**
 * The contexts file the commands see unless a test names one: none, whatever the person running
 * the tests keeps in ~/.config/snaplink.
 */
export const NO_CONTEXTS = join(tmpdir(), `snaplink-test-no-contexts-${process.pid}.json`);

/** Runs a management command; resolves with its output, whatever its exit code. */
export async function snaplinkCli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  assertBuilt();
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { env: { ...process.env, SNAPLINK_CONFIG: NO_CONTEXTS, ...env }, cwd });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A directory holding a `snaplink` that runs the built command, for the PATH (as after `npm install -g`). */
export function snaplinkOnPath(dir: string): string {
  assertBuilt();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'snaplink'), `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(BIN)} "$@"\n`, { mode: 0o755 });
  return dir;
}

export type CliRun = (args: string[], env?: Record<string, string>) => Promise<{ code: number; stdout: string; stderr: string }>;

/** `snaplink <args>` against a running server, as a user with SNAPLINK_URL and SNAPLINK_ADMIN_TOKEN set runs it. */
export const cliAgainst =
  (url: string, adminToken: string): CliRun =>
  (args, env = {}) =>
    snaplinkCli(args, { SNAPLINK_URL: url, SNAPLINK_ADMIN_TOKEN: adminToken, ...env });

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * `snaplink <args>` on a real pseudo-terminal (util-linux `script`), as someone at a terminal
 * sees it: stdout is a TTY, so tables and colour are the defaults. `input` is typed at it (the
 * terminal echoes it). The terminal has no size: COLUMNS gives it one. Resolves with what the
 * terminal showed (CR LF turned into LF) and the exit code.
 */
export async function snaplinkInTerminal(args: string[], env: Record<string, string> = {}, input = ''): Promise<{ code: number; screen: string }> {
  assertBuilt();
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { env: { ...process.env, TERM: 'xterm', SNAPLINK_CONFIG: NO_CONTEXTS, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  let screen = '';
  child.stdout!.on('data', (d: Buffer) => (screen += d.toString()));
  child.stdin!.end(input);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  return { code, screen: screen.replace(/\r\n/g, '\n') };
}

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Waits for the process to exit; resolves with its exit code or signal. */
  exited: Promise<number | string>;
  /** Sends SIGTERM (unless it has already exited) and waits for the exit; resolves as `exited`. */
  stop(): Promise<number | string>;
}

/** The line `snaplink serve` writes on standard output once it serves (its `url` is where). */
export const READY_LINE = /^\{.*"msg":"snaplink ready"\}$/m;

/**
 * Starts `snaplink serve …` and resolves once it says it is ready, and where (its ready line,
 * written whatever --log-level). `prefix` runs it under another command (strace, say).
 */
export function spawnServer(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000, prefix: string[] = []): Promise<ServerProcess> {
  assertBuilt();
  const command = [...prefix, process.execPath, BIN, 'serve', '--port', '0', ...args];
  const proc = spawn(command[0]!, command.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`snaplink did not say it was ready in time:\n${out}\n${err}`));
    }, timeoutMs);
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = READY_LINE.exec(out);
      if (m) {
        clearTimeout(timer);
        const stop = () => {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
          return exited;
        };
        resolve({ proc, url: JSON.parse(m[0]).url, stdout: () => out, stderr: () => err, exited, stop });
      }
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`snaplink exited (${code}) before listening:\n${out}\n${err}`));
    });
  });
}
