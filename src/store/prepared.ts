import { type Compilable, type CompiledQuery, type QueryResult, SelectQueryNode } from 'kysely';
import { directReadsOf } from './direct-reads.js';
import type { Db } from './schema.js';

// Queries built with Kysely once and run many times. Building and compiling a Kysely query
// costs far more than running one of ours on an indexed table, so the hot paths compile theirs
// at first use, with placeholder arguments, and afterwards only swap the values in.

const placeholder = (i: number) => `\u0000snaplink-argument-${i}\u0000`;

/**
 * `build` receives one placeholder per argument; each must end up as a plain value parameter of
 * the query (not as an identifier, a LIMIT that changes the query's shape, and so on).
 * `cached`: a read whose answer the SQLite server may keep until the next write (store/read-cache.ts);
 * for reads asked on every request with few distinct arguments.
 */
export function prepared<A extends unknown[], R>(
  db: Db,
  arity: number,
  build: (...args: any[]) => Compilable<R>,
  { cached = false }: { cached?: boolean } = {},
): (...args: A) => Promise<QueryResult<R>> {
  let compiled: { template: CompiledQuery<R>; slots: ({ arg: number } | { value: unknown })[] } | undefined;
  const direct = directReadsOf(db);
  return (...args: A) => {
    if (!compiled) {
      const marks = Array.from({ length: arity }, (_, i) => placeholder(i));
      const template = build(...marks).compile();
      const argOf = new Map(marks.map((m, i) => [m, i]));
      const slots = template.parameters.map((p) => {
        const i = argOf.get(p as string);
        return i !== undefined ? { arg: i } : { value: p };
      });
      compiled = { template, slots };
    }
    const { template, slots } = compiled;
    const parameters = slots.map((s) => ('arg' in s ? args[s.arg] : s.value));
    if (direct && SelectQueryNode.is(template.query)) {
      try {
        const rows = direct(template.sql, parameters, cached) as R[] | Promise<R[]> | undefined;
        if (Array.isArray(rows)) return Promise.resolve({ rows });
        if (rows) return rows.then((r) => ({ rows: r }));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return db.executeQuery<R>({ ...template, parameters });
  };
}

/** One set of prepared queries per database (the identity functions take the database as an argument). */
export function perDb<T>(make: (db: Db) => T): (db: Db) => T {
  const sets = new WeakMap<Db, T>();
  return (db) => {
    let set = sets.get(db);
    if (!set) {
      set = make(db);
      sets.set(db, set);
    }
    return set;
  };
}
