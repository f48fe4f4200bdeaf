import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

// Named contexts: a server's URL, admin token and CA under a name, so they are not repeated on
// every call (kubectl's contexts, the Atlas CLI's profiles). One JSON file, readable by its owner
// only, since it holds admin tokens: $SNAPLINK_CONFIG, else $XDG_CONFIG_HOME/snaplink/contexts.json,
// else ~/.config/snaplink/contexts.json.

export interface Context {
  url?: string;
  adminToken?: string;
  /** A PEM file of CA certificates to trust for this server. */
  ca?: string;
  insecure?: boolean;
}

export interface ContextFile {
  /** The context used when none is named. */
  current?: string;
  contexts: Record<string, Context>;
}

export class ContextError extends Error {}

export function contextFilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SNAPLINK_CONFIG) return env.SNAPLINK_CONFIG;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'snaplink', 'contexts.json');
}

export function readContexts(file = contextFilePath()): ContextFile {
  if (!existsSync(file)) return { contexts: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ContextError(`cannot read the contexts in ${file}: ${(err as Error).message}`);
  }
  const f = parsed as Partial<ContextFile> | null;
  if (f === null || typeof f !== 'object' || typeof f.contexts !== 'object' || f.contexts === null) throw new ContextError(`${file} is not a snaplink contexts file (no "contexts" object)`);
  return { current: typeof f.current === 'string' ? f.current : undefined, contexts: f.contexts };
}

/** Writes the file whole (a new file renamed over the old), readable by its owner only. */
export function writeContexts(contexts: ContextFile, file = contextFilePath()): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(contexts, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/** The context named (or, when none is, the current one); undefined when there is none. */
export function selectContext(name: string | undefined, file = contextFilePath()): { name: string; context: Context } | undefined {
  const all = readContexts(file);
  const chosen = name ?? all.current;
  if (chosen === undefined) return undefined;
  const context = all.contexts[chosen];
  if (!context) {
    const known = Object.keys(all.contexts);
    throw new ContextError(`no context named ${chosen} in ${file}${known.length ? ` (there are: ${known.join(', ')})` : ''}: make it with \`snaplink context set ${chosen} --url …\``);
  }
  return { name: chosen, context };
}
