import type { Command } from 'commander';
import { startSnaplink, type Snaplink } from '../../app.js';
import { serveOptions, storeOptions, type StoreOptionValues, toConfig, toStoreOptions, type ServeOptionValues } from '../../config.js';
import { resetAdminToken } from '../../control/admin-token.js';
import type { Bootstrapped } from '../../identity/bootstrap.js';
import { applySeed, readSeedFile, SeedError } from '../../identity/seed.js';
import { openStore, redactedUrl, type Store, StoreMissingError } from '../../store/database.js';
import { isStoreUnavailable } from '../../store/errors.js';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { VERSION } from '../../app.js';
import { setLogFormat } from '../../http/log-output.js';
import { DASHBOARD_PATH } from '../../ui/routes.js';
import { MIGRATION_NAMES } from '../../store/migrations.js';
import { backupSqlite, checkDocument, exportStore, importStore, TransferError } from '../../store/transfer.js';
import { StoreInUseError } from '../../store/serve-lock.js';
import { addOutputOption, contextOf } from '../command.js';
import { CliError, EXIT } from '../control-api.js';
import { fields, show } from '../output.js';

// The commands that open a store themselves: `serve`, and what must work while no server runs
// (seed, admin-token reset, backup, export, import). Only serve, seed and import may create a
// store that is not there; the others say where they looked.

async function withStore<T>(opts: StoreOptionValues, create: boolean, work: (store: Store) => Promise<T>): Promise<T> {
  const options = toStoreOptions(opts);
  let store: Store;
  try {
    store = await openStore({ ...options, create });
  } catch (err) {
    if (err instanceof StoreMissingError) throw new CliError(err.message, EXIT.usage);
    if (isStoreUnavailable(err)) {
      const where = options.databaseUrl === undefined ? options.dataDir : redactedUrl(options.databaseUrl);
      throw new CliError(`cannot reach the store at ${where} (${(err as Error).message})`, EXIT.unreachable);
    }
    throw err;
  }
  try {
    return await work(store);
  } catch (err) {
    if (err instanceof SeedError || err instanceof TransferError) throw new CliError(err.message, EXIT.apiError);
    throw err;
  } finally {
    await store.close();
  }
}

function storeCommand(parent: Command, name: string, description: string): Command {
  const c = addOutputOption(parent.command(name).description(description));
  for (const o of storeOptions()) c.addOption(o);
  return c;
}

function worldBanner(s: Snaplink, b: Bootstrapped): string[] {
  const k = b.apiKey;
  return [
    'snaplink: the store was empty, so a default world was created. The private key is shown only now:',
    `  organization  ${b.orgId}  (Default Organization)`,
    `  project       ${b.projectId}  (Default Project)`,
    `  API key       public ${k.publicKey}  private ${k.privateKey}  (ORG_OWNER)`,
    '  try:',
    `  curl --digest -u '${k.publicKey}:${k.privateKey}' -H 'Accept: application/vnd.atlas.2024-11-13+json' \\`,
    `    ${s.url}/api/atlas/v2/groups/${b.projectId}/backup/AWS/privateEndpoints`,
    '',
  ];
}

function printBanner(s: Snaplink): void {
  const lines = [''];
  if (s.generatedAdminToken) {
    lines.push('snaplink: the control API token was generated; it is shown only now (or set SNAPLINK_ADMIN_TOKEN):', `  admin token   ${s.generatedAdminToken}`, '');
  }
  if (s.bootstrapped) lines.push(...worldBanner(s, s.bootstrapped));
  lines.push(`snaplink: the dashboard is at ${s.url}${DASHBOARD_PATH} (sign in with the admin token)`, '');
  process.stderr.write(lines.join('\n') + '\n');
}

/** The line that says the server is ready: on standard output, JSON where it is piped, whatever --log-level. */
export const READY_MESSAGE = 'snaplink ready';

/** Why `host:port` cannot be listened on, for people; undefined for any other error. */
function listenError(err: unknown, host: string, port: number): CliError | undefined {
  const code = (err as { code?: string }).code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE') return new CliError(`${where} is in use (EADDRINUSE): stop what listens there, or choose another --port (0 picks a free one)`, EXIT.apiError);
  if (code === 'EACCES') return new CliError(`not allowed to listen on ${where} (EACCES): ports below 1024 need privileges; choose another --port`, EXIT.apiError);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new CliError(`cannot listen on ${where} (${code}): --host must be an address of this machine`, EXIT.apiError);
  return undefined;
}

/** Listens on `host:port` and lets go at once (port 0 is always free); rejects as listen() would. */
async function assertCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

export function storeCommands(program: Command): void {
  const serve = program.command('serve').description('run the API server');
  for (const o of serveOptions()) serve.addOption(o);
  serve.action(async (opts: ServeOptionValues) => {
    const config = toConfig(opts);
    setLogFormat(opts.logFormat);
    let s: Snaplink;
    try {
      // A port already taken is found before anything is made: no data dir, no store.
      await assertCanListen(config.host, config.port);
      s = await startSnaplink(config);
    } catch (err) {
      if (err instanceof StoreInUseError) throw new CliError(err.message, EXIT.apiError);
      throw listenError(err, config.host, config.port) ?? err;
    }
    if (s.bootstrapped || s.generatedAdminToken) printBanner(s);
    // For programs that start snaplink (a test fixture on --port 0): where it listens, once it
    // serves. A child logger of its own level, so --log-level does not hide it.
    s.http.log.child({}, { level: 'info' }).info({ url: s.url, dashboardUrl: `${s.url}${DASHBOARD_PATH}`, version: VERSION }, READY_MESSAGE);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      s.http.log.info({ signal }, 'shutting down: finishing in-flight requests');
      s.close().then(
        () => process.exit(0),
        (err) => {
          s.http.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

  storeCommand(program, 'seed', 'apply a seed file to the store, creating it if needed (atomic and idempotent)')
    .argument('<file>', 'seed file (JSON)')
    .action(async (file: string, _opts, command: Command) => {
      const { out, opts } = contextOf(command);
      // Read first: a seed that cannot be read must not leave a new empty store behind.
      let seed;
      try {
        seed = readSeedFile(file);
      } catch (err) {
        throw err instanceof SeedError ? new CliError(err.message, EXIT.apiError) : err;
      }
      const result = await withStore(opts as StoreOptionValues, true, (store) => applySeed(store, seed));
      show(out, result, (r) => `Seed applied: ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged.`);
    });

  storeCommand(program, 'backup', 'copy a running SQLite store into a new file, consistently (PostgreSQL: use pg_dump)')
    .argument('<file>', 'the copy to write (must not exist)')
    .action(async (file: string, _opts, command: Command) => {
      const { out, opts } = contextOf(command);
      const target = resolve(file);
      if (existsSync(target)) throw new CliError(`${target} exists: name a new file`, EXIT.usage);
      if ((opts as StoreOptionValues).database !== undefined) throw new CliError('snaplink backup copies an SQLite store; for PostgreSQL use pg_dump (see docs/operations.md)', EXIT.usage);
      await withStore(opts as StoreOptionValues, false, (store) => backupSqlite(store, target));
      show(out, { backup: target }, (r) => `Backup written: ${r.backup}`);
    });

  storeCommand(program, 'export', 'write the whole store as one JSON document (hashes, never secrets)')
    .argument('[file]', 'where to write it (must not exist); stdout when absent')
    .action(async (file: string | undefined, _opts, command: Command) => {
      const { opts } = contextOf(command);
      if (file !== undefined && existsSync(file)) throw new CliError(`${resolve(file)} exists: name a new file`, EXIT.usage);
      const counts = await withStore(opts as StoreOptionValues, false, (store) => exportStore(store, VERSION, file));
      if (file !== undefined) process.stderr.write(`Exported ${Object.entries(counts).map(([t, n]) => `${n} ${t}`).join(', ')}.\n`);
    });

  storeCommand(program, 'import', 'load an export into a new, empty store (SQLite or PostgreSQL), all or nothing')
    .argument('<file>', 'the export (- for stdin)')
    .action(async (file: string, _opts, command: Command) => {
      const { out, opts } = contextOf(command);
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
      } catch (err) {
        throw new CliError(`cannot read the export ${file}: ${(err as Error).message}`, EXIT.usage);
      }
      // Checked before a store is opened: a document that cannot be imported creates nothing.
      let doc;
      try {
        doc = checkDocument(parsed, MIGRATION_NAMES);
      } catch (err) {
        throw new CliError((err as Error).message, EXIT.apiError);
      }
      const counts = await withStore(opts as StoreOptionValues, true, (store) => importStore(store, doc));
      show(out, { imported: counts }, (r) => `Imported ${Object.entries(r.imported).map(([t, n]) => `${n} ${t}`).join(', ')}.`);
    });

  storeCommand(program.command('admin-token').description('the control API token'), 'reset', 'replace the stored control API token; prints the new one once').action(async (_opts, command: Command) => {
    const { out, opts } = contextOf(command);
    const adminToken = await withStore(opts as StoreOptionValues, false, (store) => resetAdminToken(store.db));
    show(out, { adminToken }, (r) => `${fields([['admin token', r.adminToken]])}\n\nIt is shown only now. A server started with SNAPLINK_ADMIN_TOKEN keeps using that one.`);
  });
}
