import { randomBytes } from 'node:crypto';
import type { Db } from './database.js';

// Process-wide secrets kept in the store, so every node sharing it agrees on them.

/** Stores `value` under `key` unless something is there already; says whether it was stored (race-safe). */
export async function putSettingIfAbsent(db: Db, key: string, value: string): Promise<boolean> {
  const r = await db.insertInto('settings').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function putSetting(db: Db, key: string, value: string): Promise<void> {
  await db.insertInto('settings').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
}

export async function getSetting(db: Db, key: string): Promise<string | undefined> {
  return (await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value;
}

/** The value stored under `key`, creating it with `make()` the first time (race-safe). */
export async function getOrCreateSetting(db: Db, key: string, make: () => string): Promise<string> {
  await putSettingIfAbsent(db, key, make());
  return (await getSetting(db, key))!;
}

export const randomSecret = (bytes = 32) => () => randomBytes(bytes).toString('base64url');
