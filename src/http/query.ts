import { errors } from '../atlas/errors.js';

// Check 5: the query parameters Atlas defines for this resource. Unknown parameters are
// ignored, as on Atlas; a known one that is malformed or repeated is a 400 naming it.

export interface Presentation {
  pretty: boolean;
  envelope: boolean;
}

export interface ListQuery extends Presentation {
  includeCount: boolean;
  itemsPerPage: number;
  /** Any integer from 1, as the official spec allows (a page past the last one is empty). */
  pageNum: bigint;
}

type Query = Record<string, string | string[] | undefined>;

function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) throw errors.invalidQueryParameter(name, 'it may be given only once');
  return v;
}

function bool(query: Query, name: string, fallback: boolean): boolean {
  const v = single(query, name);
  if (v === undefined) return fallback;
  const lower = v.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw errors.invalidQueryParameter(name, 'it must be true or false');
}

function int(query: Query, name: string, fallback: number, min: number, max: number): number {
  const v = single(query, name);
  if (v === undefined) return fallback;
  const n = /^\d{1,10}$/.test(v) ? Number(v) : NaN;
  if (!(n >= min && n <= max)) throw errors.invalidQueryParameter(name, `it must be an integer from ${min} to ${max}`);
  return n;
}

function positiveBigint(query: Query, name: string): bigint {
  const v = single(query, name);
  if (v === undefined) return 1n;
  const n = /^\d+$/.test(v) ? BigInt(v) : 0n;
  if (n < 1n) throw errors.invalidQueryParameter(name, 'it must be an integer from 1');
  return n;
}

export function parsePresentation(query: Query): Presentation {
  return { pretty: bool(query, 'pretty', false), envelope: bool(query, 'envelope', false) };
}

export function parseListQuery(query: Query): ListQuery {
  return {
    ...parsePresentation(query),
    includeCount: bool(query, 'includeCount', true),
    itemsPerPage: int(query, 'itemsPerPage', 100, 1, 500),
    pageNum: positiveBigint(query, 'pageNum'),
  };
}

/** For errors raised before check 5: honour a well-formed pretty=true, ignore anything else. */
export function looselyPretty(query: unknown): boolean {
  const v = (query as Query | undefined)?.pretty;
  return typeof v === 'string' && v.toLowerCase() === 'true';
}
