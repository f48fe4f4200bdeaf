import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Db, StoreOptions } from '../../src/store/database.js';
import type { Tables } from '../../src/store/schema.js';

// Which store the suites run against: SQLite by default; PostgreSQL when
// SNAPLINK_TEST_DATABASE_URL names a server (test/run.ts runs the whole suite both ways).
// Every test server or command gets a store of its own: a fresh data dir, or a fresh database.

export const TEST_DATABASE_URL = process.env.SNAPLINK_TEST_DATABASE_URL || undefined;
export const STORE_KIND: 'sqlite' | 'postgres' = TEST_DATABASE_URL ? 'postgres' : 'sqlite';

export function tempDir(prefix = 'snaplink-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface Scratch {
  /** A temporary directory (seed files, certificates; the SQLite store lives here too). */
  dir: string;
  /** The store, for in-process servers. */
  options: StoreOptions;
  /** The same store as command-line arguments. */
  args: string[];
  /** A PostgreSQL URL of a database of its own, or undefined on SQLite. */
  databaseUrl: string | undefined;
}

async function withAdmin<T>(work: (c: pg.Client) => Promise<T>, serverUrl = TEST_DATABASE_URL): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new empty PostgreSQL database on the test server; returns its URL. */
export async function createDatabase(): Promise<string> {
  const name = `snaplink_t_${randomBytes(6).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  if (!/^snaplink_t_[0-9a-f]{12}$/.test(name)) throw new Error(`refusing to drop ${name}`);
  await dropDatabaseNamed(name);
}

/**
 * DROP DATABASE … WITH (FORCE) — which a role that is not a superuser cannot do while an
 * autovacuum worker is in that database: PostgreSQL 15 refuses with 42501, the worker belonging
 * to no role it is a member of (seen in a CI run). A plain DROP DATABASE stops such a worker and
 * waits for it, but fails (55006) while a connection is open; so the two are tried in turn.
 * The bench drops its databases with it too, on the server it was given.
 */
export async function dropDatabaseNamed(name: string, serverUrl = TEST_DATABASE_URL): Promise<void> {
  const until = Date.now() + 15_000;
  for (let attempt = 0; ; attempt++) {
    try {
      await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name}${attempt % 2 === 0 ? ' WITH (FORCE)' : ''}`), serverUrl);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code !== '42501' && code !== '55006') || Date.now() > until) throw err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Scratch space for one suite: each `fresh()` is a new directory and store; `cleanup` removes them all. */
export function scratch(): { fresh: () => Promise<Scratch>; cleanup: () => Promise<void> } {
  const made: Scratch[] = [];
  return {
    async fresh() {
      const dir = tempDir();
      const databaseUrl = STORE_KIND === 'postgres' ? await createDatabase() : undefined;
      const s: Scratch = databaseUrl
        ? { dir, databaseUrl, options: { databaseUrl }, args: ['--database', databaseUrl] }
        : { dir, databaseUrl, options: { dataDir: dir }, args: ['--data-dir', dir] };
      made.push(s);
      return s;
    },
    async cleanup() {
      for (const s of made) {
        rmSync(s.dir, { recursive: true, force: true });
        if (s.databaseUrl) await dropDatabase(s.databaseUrl);
      }
    },
  };
}

/** The rows of these tables, each sorted (PostgreSQL returns rows in no particular order): what "nothing changed" is checked against. */
export async function tableSnapshot(db: Db, tables: readonly (keyof Tables & string)[]): Promise<string> {
  const parts = await Promise.all(tables.map((t) => db.selectFrom(t).selectAll().execute()));
  return JSON.stringify(Object.fromEntries(tables.map((t, i) => [t, parts[i]!.map((r) => JSON.stringify(r)).sort()])));
}
