import { randomBytes } from 'node:crypto';
import type { Db } from './database.js';

// Process-wide secrets kept in the store, so every node sharing it agrees on them.

/** The value stored under `key`, creating it with `make()` the first time (race-safe). */
export async function getOrCreateSetting(db: Db, key: string, make: () => string): Promise<string> {
  await db.insertInto('settings').values({ key, value: make() }).onConflict((oc) => oc.column('key').doNothing()).execute();
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
  return row.value;
}

export const randomSecret = (bytes = 32) => () => randomBytes(bytes).toString('base64url');
